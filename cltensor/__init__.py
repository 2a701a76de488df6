"""cltensor: PyTorch-style tensors, autograd, nn and optim on any OpenCL device.

    import cltensor as torch
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * 2).sum(); y.backward()

The public functions and Tensor methods are declared by the modules that implement them (cltensor/_registry.py);
importing those modules registers them and `_registry.install` publishes them here and on Tensor.
"""
__version__ = "0.1.0"

import os as _os

# PoCL (the OpenCL CPU driver) compiles a kernel's machine code at its first launch, and by default again for
# every new local size, non-zero global offset and global size past 2^16 ("work-group specialization"), and once
# more when a program's binary is requested (its generic, any-local-size code). With specialization off it
# compiles each kernel once, the generic code, which cltensor's binary cache then stores at no extra cost; the
# kernels measured as fast (docs/performance.md "First runs"). Set before PoCL starts, unless the user chose.
_os.environ.setdefault("POCL_WORK_GROUP_SPECIALIZATION", "0")
del _os

from ._dtypes import (dtype, bool_ as bool, uint8, int8, int16, int32, int64, float16, float32, float64,  # noqa
                      complex64, complex128, bfloat16, get_default_dtype, set_default_dtype, promote_types, can_cast,
                      finfo, iinfo)
from ._device import device, devices, set_default_device, get_default_device, synchronize  # noqa
from ._tensor import Tensor, Size  # noqa
from . import autograd  # noqa
from .autograd import no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode  # noqa
from ._creation import Generator, default_generator  # noqa

# the modules that register public names (cltensor/_registry.py)
from . import _registry  # noqa: E402
from . import _creation, _ops, _views, _methods, _shape, _linalg, _composite, _sampling, _printing  # noqa: E402,F401
from . import _reductions, _scans, _sort, _softmax, _index  # noqa: E402,F401
from . import _fft, _windows  # noqa: E402,F401
from . import _search, _stats, _scatter_views, _api_extra  # noqa: E402,F401
from . import _special  # noqa: E402,F401
from . import _fusion, _warmup, _serialization  # noqa: E402,F401
from . import _lapack  # noqa: E402,F401
from . import _unfold  # noqa: E402,F401

# PyTorch's dtype aliases
half = float16
float = float32  # noqa: A001
double = float64
short = int16
int = int32  # noqa: A001
long = int64
cfloat = complex64
cdouble = complex128
chalf = None
contiguous_format, preserve_format, channels_last = "contiguous_format", "preserve_format", "channels_last"

_registry.install({"torch": globals()}, Tensor)

from . import cuda, nn, optim, profiler, utils  # noqa: E402,F401
from . import serialization  # noqa: E402,F401
from . import backends, accelerator, graphs  # noqa: E402,F401
from . import distributed  # noqa: E402,F401
from . import futures  # noqa: E402,F401
from . import linalg, fft, special  # noqa: E402,F401
from . import amp  # noqa: E402,F401
from .amp import autocast  # noqa: E402,F401

# Imported on first use (`cltensor.distributions`, `import cltensor.onnx`, ...): they register no public names,
# and importing them with the package cost ~10 ms of every program's start.
_LAZY = ("distributions", "func", "onnx")


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'cltensor' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
