"""The kernel pipeline's error paths and `python -m cltensor` (device profiles: test_device.py)."""
import os
import subprocess
import sys

import pytest

import cltensor as ct
from cltensor import _kernels as K
from cltensor import _device as dv


def _run(args, env_extra=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable] + args, capture_output=True, text=True, env=env, timeout=300)


def test_build_error_names_kernel_and_carries_log(tmp_path):
    rt = dv.runtime(ct.device("cpu"))
    # an expression that does not compile: the error names the kernel, the template and the source path
    with pytest.raises(K.KernelBuildError) as ei:
        K.get(rt, "elementwise", "flat", out=ct.float32, ins=(ct.float32,), kinds=("t",), cdts=(ct.float32,),
              rdt=ct.float32, expr="x0 +* no_such_fn(x0)", idx="int")
    msg = str(ei.value)
    assert "flat" in msg and "elementwise.mako" in msg and "Build log" in msg
    path = msg.split("Source: ")[1].split("\n")[0]
    assert os.path.exists(path) and "no_such_fn" in open(path).read()


def test_template_params_are_strict():
    # strict_undefined: a missing template parameter is an error, not an empty string
    with pytest.raises((NameError, TypeError)):
        K.render("elementwise", "flat", out=None)
    assert K._tl().template_args["strict_undefined"] is True


def test_kernels_cached_per_params():
    rt = dv.runtime(ct.device("cpu"))
    a = ct.ones(5)
    (a + 1).tolist()
    n = K.stats["builds"]
    for size in (3, 17, 1000, 4097):
        (ct.ones(size) + 1).tolist()
    assert K.stats["builds"] == n  # new sizes build nothing


def test_module_lists_devices():
    r = _run(["-m", "cltensor"])
    assert r.returncode == 0, r.stderr
    assert "cpu" in r.stdout and "fp64=" in r.stdout and "default device: cpu" in r.stdout


def test_debug_env_prints_kernels():
    r = _run(["-c", "import cltensor as ct; (ct.arange(4) * 3).tolist()"], {"CLTENSOR_DEBUG": "1"})
    assert r.returncode == 0, r.stderr
    assert "__kernel void k" in r.stderr and "launch" in r.stderr


def test_device_strings():
    assert ct.device("cuda:0") == ct.device("gpu:0")
    assert str(ct.device("cl:0")) == "cpu"
    assert repr(ct.device("cpu")) == "device(type='cpu')"
    with pytest.raises(RuntimeError):
        ct.device("tpu")
    with pytest.raises(RuntimeError):
        ct.device("cl:99")


def test_host_only_cpu_without_opencl_devices():
    # no OpenCL platform at all: cpu tensors are host storage (numpy interop works), ops name the fix
    code = ("import cltensor as ct, numpy as np\n"
            "assert ct.devices() == [] and str(ct.get_default_device()) == 'cpu'\n"
            "t = ct.tensor([1., 2.])\n"
            "assert t.tolist() == [1.0, 2.0] and repr(t) == 'tensor([1., 2.])'\n"
            "a = np.arange(3.); s = ct.from_numpy(a); a[0] = 9\n"
            "assert s.tolist() == [9.0, 1.0, 2.0] and np.shares_memory(s.numpy(), a)\n"
            "try:\n    t + 1\nexcept RuntimeError as e:\n    print('raised', 'pocl-opencl-icd' in str(e))\n")
    r = _run(["-c", code], {"OCL_ICD_VENDORS": "/nonexistent-cltensor-test"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["raised", "True"]
