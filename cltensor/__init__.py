"""cltensor: PyTorch-style tensors, autograd, nn and optim on any OpenCL device.

    import cltensor as torch
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * 2).sum(); y.backward()
"""
__version__ = "0.1.0"

from ._dtypes import (dtype, bool_ as bool, uint8, int8, int16, int32, int64, float16, float32, float64,  # noqa
                      complex64, complex128, get_default_dtype, set_default_dtype, promote_types, can_cast,
                      finfo, iinfo)
from ._device import device, devices, set_default_device, get_default_device, synchronize  # noqa
from ._tensor import Tensor, Size  # noqa
from . import autograd  # noqa
from .autograd import no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode  # noqa
from ._creation import (tensor, as_tensor, asarray, from_numpy, empty, zeros, ones, full, empty_like,  # noqa
                        zeros_like, ones_like, full_like, eye, arange, linspace, logspace, rand, randn, randint,
                        normal, rand_like, randn_like, randint_like, randperm, manual_seed, seed, initial_seed,
                        Generator, default_generator, get_rng_state, set_rng_state)
from ._printing import set_printoptions, get_printoptions  # noqa
from . import _methods as _m  # noqa
from . import _ops  # noqa

globals().update(_m._g)
from . import _registry, _reductions, _scans, _sort, _softmax, _index, _shape, _linalg  # noqa: E402,F401
_registry.install({"torch": globals()}, Tensor)
for _mod in (_shape, _linalg):
    _mod._install()          # adds Tensor methods
    globals().update(_mod.EXPORTS)
del _mod
from . import _composite  # noqa: E402
globals().update(_composite.EXPORTS)
for _name, _fn in _composite.METHODS.items():
    if not hasattr(_composite.Tensor, _name):
        setattr(_composite.Tensor, _name, _fn)
del _name, _fn

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
FloatTensor = DoubleTensor = LongTensor = None  # set below


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(t):
    return t.dtype.is_floating_point


def is_complex(t):
    return t.dtype.is_complex


def numel(t):
    return t.numel()


def _typed_tensor(dt):
    def make(*args, device=None):
        return Tensor(*args, dtype=dt, device=device)
    return make


FloatTensor = _typed_tensor(float32)
DoubleTensor = _typed_tensor(float64)
HalfTensor = _typed_tensor(float16)
LongTensor = _typed_tensor(int64)
IntTensor = _typed_tensor(int32)
ShortTensor = _typed_tensor(int16)
CharTensor = _typed_tensor(int8)
ByteTensor = _typed_tensor(uint8)
BoolTensor = _typed_tensor(bool)

from . import cuda  # noqa: E402,F401
from ._serialization import save, load  # noqa: E402
from . import nn, optim, profiler  # noqa: E402
from ._creation import bernoulli  # noqa: E402,F401  (foundation engineer: Tensor.bernoulli / uniform_ / normal_)
contiguous_format, preserve_format, channels_last = "contiguous_format", "preserve_format", "channels_last"
from ._fusion import compile  # noqa: E402,F401
from ._warmup import warmup  # noqa: E402,F401
from ._sampling import multinomial  # noqa: E402,F401
Tensor.multinomial = lambda self, num_samples, replacement=False, *, generator=None: multinomial(
    self, num_samples, replacement, generator=generator)
from . import utils  # noqa: E402,F401
