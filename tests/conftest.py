import os

import numpy as np
import pytest

import cltensor as ct
from cltensor import _device as dv
from _host import has_cl_cpu

# build progress lines would land in the output of the test suite and of the processes it starts
os.environ.setdefault("CLTENSOR_BUILD_PROGRESS", "0")
# no background process storing binaries after each process the suite starts
os.environ.setdefault("CLTENSOR_CACHE_FILL", "0")

_FP64_NAMES = {"float64", "complex128", "double", "cdouble"}


def _default_device_info():
    return dv.device_info(ct.get_default_device())


def device_has_fp64():
    """Whether the default test device runs float64 kernels (False on devices without cl_khr_fp64, or under a
    CLTENSOR_DEVICE_PROFILE with fp64=0)."""
    info = _default_device_info()
    return info is None or info.fp64


def _fp64_skip_reason():
    info = _default_device_info()
    prof = f", profile {info.profile!r}" if info.profile else ""
    return (f"device {ct.get_default_device()} ({info.name}{prof}) has no cl_khr_fp64: float64/complex128 are "
            "unavailable there, as for PyTorch users on devices without fp64 (e.g. MPS)")


def _is_fp64_param(v):
    """A test parameter that selects float64 or complex128: a cltensor dtype, a numpy dtype or scalar type, a
    dtype name, or a tuple/list containing one (e.g. a promotion pair)."""
    if isinstance(v, ct.dtype):
        return v in (ct.float64, ct.complex128)
    if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic)):
        return np.dtype(v) in (np.float64, np.complex128)
    if isinstance(v, str):
        return v in _FP64_NAMES
    if isinstance(v, (tuple, list)):
        return any(_is_fp64_param(x) for x in v)
    if isinstance(v, dict):            # keyword arguments such as {"dtype": ct.float64}
        return any(_is_fp64_param(x) for x in v.values())
    return False


def pytest_configure(config):
    config.addinivalue_line("markers", "fp64: the test needs float64/complex128 kernels on the device; skipped "
                                       "with a reason on devices without cl_khr_fp64")
    config.addinivalue_line("markers", "cl_cpu: the test runs kernels on the CPU device (numpy memory sharing, "
                                       "CPU-only kernel variants); skipped with a reason where \"cpu\" has no "
                                       "OpenCL device")


def pytest_collection_modifyitems(config, items):
    """Where "cpu" has no OpenCL device, skip (with a reason) the tests marked `cl_cpu`. On a device without fp64,
    skip (with a reason) exactly the tests that need it: those marked `fp64` and the parametrizations whose
    parameters select float64/complex128. Everything else runs."""
    if not has_cl_cpu():
        skip_cpu = pytest.mark.skip(reason="no OpenCL CPU device: tensors on 'cpu' are host storage only here "
                                           "(this test runs kernels on the CPU device)")
        for item in items:
            if item.get_closest_marker("cl_cpu") is not None:
                item.add_marker(skip_cpu)
    if device_has_fp64():
        return
    skip = pytest.mark.skip(reason=_fp64_skip_reason())
    for item in items:
        cs = getattr(item, "callspec", None)
        if item.get_closest_marker("fp64") is not None or \
                (cs is not None and any(_is_fp64_param(v) for v in cs.params.values())):
            item.add_marker(skip)


@pytest.fixture
def has_fp64():
    """For a test whose float32/int parts run everywhere and only a final float64 check needs fp64 kernels."""
    return device_has_fp64()


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)
    ct.manual_seed(0)
    yield


def pytest_terminal_summary(terminalreporter):
    from cltensor import _kernels
    s = _kernels.stats
    terminalreporter.write_line(f"cltensor kernels: {s['builds']} programs built in {s['build_seconds']:.1f} s "
                                f"(clBuildProgram only), {s['launches']} launches")
