"""The Tensor: storage + shape + strides (elements) + offset + dtype + device, and host interop."""
import numpy as np

from . import _dtypes as D
from . import _device as dv
from ._registry import register


_cstrides = {}


def contiguous_strides(shape):
    if type(shape) is not tuple:
        shape = tuple(shape)
    st = _cstrides.get(shape)
    if st is None:
        acc, out = 1, []
        for s in reversed(shape):
            out.append(acc)
            acc *= max(s, 1)
        st = tuple(reversed(out))
        if len(_cstrides) < 4096:
            _cstrides[shape] = st
    return st


def prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


class Tensor:
    """A strided view of device storage. Construct with cltensor.tensor(...) or Tensor(data) / Tensor(*sizes).
    The constructor, the operators and most methods are registered by the modules that implement them
    (cltensor/_registry.py)."""
    __slots__ = ("_st", "_shape", "_strides", "_offset", "_dtype", "_device", "_requires_grad", "grad",
                 "grad_fn", "_retains_grad", "_hooks", "_base", "_out_nr",
                 "__weakref__", "__dict__")

    __array_priority__ = 1000      # ndarray op Tensor defers to the Tensor's reflected operator (as PyTorch)

    # ------------------------------------------------------------------ basic attributes
    @property
    def shape(self):
        return Size(self._shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._shape)
        return self._shape[_wrap_dim(dim, len(self._shape))]

    @property
    def ndim(self):
        return len(self._shape)

    def dim(self):
        return len(self._shape)

    ndimension = dim

    def __len__(self):
        if not self._shape:
            raise TypeError("len() of a 0-d tensor")
        return self._shape[0]

    def numel(self):
        return prod(self._shape)

    nelement = numel

    @property
    def dtype(self):
        return self._dtype

    @property
    def device(self):
        return self._device

    @property
    def is_cuda(self):
        return self._device.type == "gpu"

    @property
    def is_cpu(self):
        return self._device.type == "cpu"

    def stride(self, dim=None):
        if dim is None:
            return tuple(self._strides)
        return self._strides[_wrap_dim(dim, len(self._shape))]

    def storage_offset(self):
        return self._offset

    def element_size(self):
        return self._dtype.itemsize

    @property
    def itemsize(self):
        return self._dtype.itemsize

    @property
    def nbytes(self):
        return self.numel() * self._dtype.itemsize

    def is_floating_point(self):
        return self._dtype.is_floating_point

    def is_complex(self):
        return self._dtype.is_complex

    def is_contiguous(self, memory_format=None):
        expected = 1
        for s, st in zip(reversed(self._shape), reversed(self._strides)):
            if s != 1 and st != expected:
                return False
            expected *= s
        return True

    def data_ptr(self):
        return id(self._st) * 1024 + self._offset * self._dtype.itemsize

    def untyped_storage(self):
        return self._st

    @property
    def _version(self):
        return self._st_version()

    def _st_version(self):
        return getattr(self._st, "version", 0)

    # ------------------------------------------------------------------ host interop
    def _host_array(self):
        """numpy view of this tensor's memory (CPU device / unified memory; synchronises first). The array keeps
        the storage alive (so the memory pool cannot hand it to another tensor while numpy still looks at it)."""
        st = self._st
        host = st.host_view()
        if host is None:
            raise TypeError(f"can't convert {self._device} tensor to numpy. Use Tensor.cpu() to copy the tensor to "
                            "host memory first.")
        it = self._dtype.itemsize
        if self.numel() == 0:
            return np.empty(self._shape, self._dtype.np)
        iface = dict(host.__array_interface__)
        iface["data"] = (iface["data"][0] + self._offset * it, False)
        iface["typestr"], iface["descr"] = self._dtype.np.str, [("", self._dtype.np.str)]
        iface["shape"], iface["strides"] = self._shape, tuple(s * it for s in self._strides)
        return np.asarray(_HostRef(iface, st))

    def numpy(self, *, force=False):
        if self._device.type != "cpu":
            if force:
                return self.cpu().numpy()
            raise TypeError(f"can't convert {self._device} device type tensor to numpy. Use Tensor.cpu() to copy "
                            "the tensor to host memory first.")
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self._dtype is D.bfloat16:
            raise TypeError("Got unsupported ScalarType BFloat16")
        arr = self._host_array()
        self._st.shared = True
        return arr

    def _to_numpy_copy(self):
        """A fresh host copy of the values (any device); bfloat16 as float32 values (exact)."""
        a = self._bits_copy()
        return D.bf16_values(a) if self._dtype is D.bfloat16 else a

    def _bits_copy(self):
        """A fresh host copy of the stored elements (any device): bfloat16 as its bits (uint16)."""
        if self._st.host is not None:
            return np.array(self._host_array())
        t = self.contiguous()
        out = np.empty(t._shape, t._dtype.np)
        if out.size:
            rt = t._st.rt
            dv.blocking_copy(rt.queue, out, t._st.buf, src_offset=t._offset * t._dtype.itemsize)
        return out

    def __array__(self, dtype=None, copy=None):
        """np.asarray(t) shares memory on the CPU device (as PyTorch's); np.array(t) (copy=True) copies."""
        if self._dtype is D.bfloat16:
            raise TypeError("Got unsupported ScalarType BFloat16")
        a = self._to_numpy_copy() if copy or self._device.type != "cpu" else self.detach().numpy()
        return a.astype(dtype, copy=False) if dtype is not None else a

    def tolist(self):
        a = self._to_numpy_copy()
        return a.tolist()

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        return self._to_numpy_copy().reshape(()).item()

    def _scalar_for_python(self):
        if self.numel() != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __float__(self):
        return float(self._scalar_for_python())

    def __int__(self):
        return int(self._scalar_for_python())

    def __index__(self):
        if self._dtype.category != 1 or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self):
        return complex(self._scalar_for_python())

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(f"Boolean value of Tensor with {'more than one value' if self.numel() else 'no values'}"
                               " is ambiguous")
        return bool(self.item())

    def __iter__(self):
        if not self._shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._shape[0]))

    def __hash__(self):
        return id(self)

    def __format__(self, spec):
        if self.dim() == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    # ------------------------------------------------------------------ device / dtype movement
    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to(dv._resolve(dv.device("gpu", device) if isinstance(device, int) else device or "gpu"))

    def type(self, dtype=None):
        if dtype is None:
            return "cltensor." + {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                                  "bfloat16": "BFloat16Tensor",
                                  "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
                                  "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor",
                                  "complex64": "ComplexFloatTensor",
                                  "complex128": "ComplexDoubleTensor"}[self._dtype.name]
        return self.to(dtype)

    def float(self):
        return self.to(D.float32)

    def double(self):
        return self.to(D.float64)

    def half(self):
        return self.to(D.float16)

    def bfloat16(self):
        return self.to(D.bfloat16)

    def int(self):
        return self.to(D.int32)

    def long(self):
        return self.to(D.int64)

    def short(self):
        return self.to(D.int16)

    def char(self):
        return self.to(D.int8)

    def byte(self):
        return self.to(D.uint8)

    def bool(self):
        return self.to(D.bool_)

    def cfloat(self):
        return self.to(D.complex64)

    def cdouble(self):
        return self.to(D.complex128)

    # ------------------------------------------------------------------ autograd attributes
    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def data(self):
        return self.detach()

    @data.setter
    def data(self, other):
        _init_from(self, other._st, other._shape, other._strides, other._offset, other._dtype, other._device)


class _HostRef:
    """numpy's view of host storage memory; holding the Storage keeps the memory valid while numpy uses it."""
    __slots__ = ("__array_interface__", "st")

    def __init__(self, iface, st):
        self.__array_interface__ = iface
        self.st = st


class Size(tuple):
    """torch.Size: a tuple subclass that prints as cltensor.Size([...])."""

    def __repr__(self):
        return f"cltensor.Size([{', '.join(str(s) for s in self)}])"

    __str__ = __repr__

    def numel(self):
        return prod(self)

    def __getitem__(self, k):
        r = tuple.__getitem__(self, k)
        return Size(r) if isinstance(k, slice) else r

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))


def _wrap_dim(dim, ndim):
    if not isinstance(dim, int) or isinstance(dim, bool):
        try:
            dim = dim.__index__()
        except Exception:
            raise TypeError(f"dim must be an int, got {type(dim).__name__}") from None
    n = max(ndim, 1)
    if dim < -n or dim >= n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


def _init_from(t, st, shape, strides, offset, dtype, device):
    t._st = st
    t._shape = shape
    t._strides = strides
    t._offset = offset
    t._dtype = dtype
    t._device = device
    t._requires_grad = False
    t.grad = None
    t.grad_fn = None
    t._retains_grad = False
    t._hooks = None
    t._base = None
    t._out_nr = 0
    return t


_new = object.__new__


def make(st, shape, strides, offset, dtype, device):
    """Fast internal constructor."""
    t = _new(Tensor)
    t._st = st
    t._shape = shape
    t._strides = strides
    t._offset = offset
    t._dtype = dtype
    t._device = device
    t._requires_grad = False
    t.grad = None
    t.grad_fn = None
    t._retains_grad = False
    t._hooks = None
    t._base = None
    t._out_nr = 0
    return t


def dense_strides(t):
    """t's strides if t is dense and non-overlapping (a permuted contiguous layout), else contiguous strides:
    the layout PyTorch's preserve_format gives clone() and *_like."""
    shape, strides = t._shape, t._strides
    if len(shape) > 1:
        order = sorted(range(len(shape)), key=lambda d: (-strides[d], -shape[d]))
        acc, ok = 1, True
        for d in reversed(order):
            if shape[d] != 1 and strides[d] != acc:
                ok = False
                break
            acc *= shape[d]
        if ok and acc:
            return tuple(strides)
    return contiguous_strides(shape)


def empty_like_layout(t, dtype=None, device=None):
    """A new uninitialised tensor shaped like t with t's layout when t is dense (preserve_format)."""
    n = prod(t._shape)
    dtype = dtype or t._dtype
    device = device or t._device
    st = dv.Storage(dv.runtime(device), n * dtype.itemsize)
    return make(st, t._shape, dense_strides(t), 0, dtype, device)


def empty_tensor(shape, dtype, device):
    """A new contiguous tensor (uninitialised) on a concrete device."""
    if type(shape) is not tuple:
        shape = tuple(shape)
    n = dtype.itemsize
    for s in shape:
        n *= s
    rt = _runtimes.get(device)
    if rt is None:
        rt = dv.runtime(device)
    strides = _cstrides.get(shape)
    if strides is None:
        strides = contiguous_strides(shape)
    t = _new(Tensor)
    t._st = dv.Storage(rt, n)
    t._shape = shape
    t._strides = strides
    t._offset = 0
    t._dtype = dtype
    t._device = device
    t._requires_grad = False
    t.grad = None
    t.grad_fn = None
    t._retains_grad = False
    t._hooks = None
    t._base = None
    t._out_nr = 0
    return t


_runtimes = dv._RUNTIMES



def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(t):
    return t.dtype.is_floating_point


def is_complex(t):
    return t.dtype.is_complex


def numel(t):
    return t.numel()


for _f in (is_tensor, is_floating_point, is_complex, numel):
    register(_f.__name__, _f, kind="util")
