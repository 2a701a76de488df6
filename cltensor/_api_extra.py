"""The rest of PyTorch's tensor API, built from other ops: the function forms of in-place ops (torch.sin_ ...),
in-place forms of composite ops (addmm_, deg2rad_ ...), the *_copy forms of views, small predicates and queries
(is_conj, is_signed, isreal ...), adjoint, addr, dist, pdist, unravel_index, nonzero_static, split variants,
Tensor.unfold, sum_to_size, resize_, and process settings PyTorch exposes as functions (threads, warn_always,
deterministic debug mode). Autograd comes from the ops they are made of."""
import math
import warnings

from . import _dtypes as D
from . import _ops as O
from . import _composite
from . import _views as V
from ._creation import tensor as _tensor, full, empty
from ._registry import register, register_method
from ._tensor import Tensor


def _pt(dt):
    return {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long",
            "float16": "Half", "float32": "Float", "float64": "Double", "complex64": "ComplexFloat",
            "complex128": "ComplexDouble"}[dt.name]


# ---------------------------------------------------------------- function forms of in-place methods

_FN_INPLACE = ("abs acos acosh arccos arccosh arcsin arcsinh arctan arctanh asin asinh atan atanh ceil clamp "
               "clamp_max clamp_min clip cos cosh deg2rad erf erfc exp exp2 expm1 fix floor frac log log10 log1p "
               "log2 logit nan_to_num neg negative rad2deg reciprocal relu round rsqrt sigmoid sin sinc sinh sqrt "
               "square tan tanh trunc xlogy zero fill detach resize_as as_strided conj_physical addmv gcd lcm i0 "
               "ldexp").split()


def _fn_inplace(name):
    def f(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"torch.{name}(input, ...): input.{name}(...) (in place)."
    return f


# ---------------------------------------------------------------- in-place forms of composite ops

def _assign(self, r, name):
    """self <- r in place, with PyTorch's rule that the result dtype must cast to self's."""
    if not D.can_cast(r._dtype, self._dtype):
        raise RuntimeError(f"result type {_pt(r._dtype)} can't be cast to the desired output type "
                           f"{_pt(self._dtype)}")
    if tuple(r._shape) != tuple(self._shape):
        raise RuntimeError(f"output with shape {list(self._shape)} doesn't match the broadcast shape "
                           f"{list(r._shape)}")
    return self.copy_(r)


def _method_inplace(name):
    def f(self, *args, **kwargs):
        if name == "addr" and self.dim() != 2:
            raise RuntimeError(f"2D tensor expected, got {self.dim()}D tensor for input")
        return _assign(self, getattr(self, name)(*args, **kwargs), name + "_")
    f.__name__ = f.__qualname__ = name + "_"
    return f


_COMPOSITE_INPLACE = ("addbmm", "addmm", "addmv", "baddbmm", "deg2rad", "rad2deg", "logit", "sinc", "addr")


def _swap_(self, dim0, dim1):
    return self.transpose_(dim0, dim1)


def _as_strided_(self, size, stride, storage_offset=None):
    """self becomes the view as_strided(size, stride, storage_offset) of its own storage."""
    v = V.as_strided(self.detach(), size, stride, storage_offset)
    self._shape, self._strides, self._offset = v._shape, v._strides, v._offset
    return self


def _conj_physical_(self):
    if self._dtype.is_complex:
        self.copy_(self.conj())
    return self


# ---------------------------------------------------------------- *_copy forms of views

def _copy_of(view):
    def f(input, *args, **kwargs):
        if view == "view":          # a copy: any layout works (PyTorch's view_copy on a strided input too)
            r = input.reshape(*args, **kwargs)
        elif view == "view_as_complex":
            r = _composite.view_as_complex(input.contiguous())
        elif view == "view_as_real":
            r = _composite.view_as_real(input)
        else:
            r = getattr(input, view)(*args, **kwargs)
        if isinstance(r, (tuple, list)):
            return tuple(V.clone(t, "contiguous_format") for t in r)
        return V.clone(r, "contiguous_format")
    f.__name__ = f.__qualname__ = view + "_copy"
    f.__doc__ = f"A fresh contiguous copy of input.{view}(...)."
    return f


_COPIES = ("alias as_strided detach diagonal expand narrow permute select slice split split_with_sizes squeeze t "
           "transpose unbind unfold unsqueeze view_as_complex view_as_real view").split()


def _alias(self):
    return V.as_strided(self, self._shape, self._strides, self._offset)


def _slice(self, dim=0, start=None, end=None, step=1):
    idx = [slice(None)] * self.dim()
    idx[dim] = slice(start, end, step)
    return self[tuple(idx)]


register_method("alias", _alias)
register_method("slice", _slice)


# ---------------------------------------------------------------- predicates and queries

@register("is_conj", method=True, kind="util")
def is_conj(input):
    """False: cltensor's conj() of a complex tensor is materialised (no lazy conjugate bit)."""
    return False


@register("is_neg", method=True, kind="util")
def is_neg(input):
    """False: cltensor has no lazy negation bit."""
    return False


@register("resolve_conj", method=True)
def resolve_conj(input):
    """input itself (there is no lazy conjugate bit to resolve)."""
    return input


@register("resolve_neg", method=True)
def resolve_neg(input):
    """input itself (there is no lazy negation bit to resolve)."""
    return input


@register("is_nonzero", method=True, kind="util")
def is_nonzero(input):
    """Whether a one-element tensor is non-zero (a host read)."""
    n = input.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


@register("is_same_size", method=True, kind="util")
def is_same_size(input, other):
    return tuple(input._shape) == tuple(other._shape)


@register("is_signed", method=True, kind="util")
def is_signed(input):
    return input._dtype.is_signed


@register("is_inference", method=True, kind="util")
def is_inference(input):
    """False: inference_mode in cltensor makes ordinary tensors (no inference-tensor flag)."""
    return False


@register("get_device", method=True, kind="util")
def get_device(input):
    """-1 for tensors on the CPU device, else the device index (as PyTorch's CUDA tensors)."""
    d = input._device
    return -1 if d.type == "cpu" else (d.index or 0)


@register("isreal", method=True)
def isreal(input):
    """True where an element has no imaginary part (every element of a real tensor)."""
    if input._dtype.is_complex:
        return input.imag == 0
    return full(tuple(input._shape), True, dtype=D.bool_, device=input._device)


@register("typename", kind="util")
def typename(obj):
    """PyTorch's type name of a tensor ('torch.FloatTensor' ...) or the qualified name of another object."""
    if isinstance(obj, Tensor):
        return {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "float16": "torch.HalfTensor",
                "int64": "torch.LongTensor", "int32": "torch.IntTensor", "int16": "torch.ShortTensor",
                "int8": "torch.CharTensor", "uint8": "torch.ByteTensor", "bool": "torch.BoolTensor",
                "complex64": "torch.ComplexFloatTensor", "complex128": "torch.ComplexDoubleTensor"}[obj._dtype.name]
    module = getattr(obj, "__module__", "") or ""
    qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{module}.{qualname}" if module not in ("", "builtins") else qualname


@register("is_storage", kind="util")
def is_storage(obj):
    """False: cltensor has no storage objects in its public API."""
    return False


# ---------------------------------------------------------------- small math

@register("adjoint", kind="op")
def adjoint(input):
    """The conjugate transpose of the last two dims (a view for real tensors)."""
    return input.adjoint()


@register("addr", method=True)
def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * outer(vec1, vec2) (input ignored, NaN included, when beta == 0)."""
    if vec1.dim() != 1 or vec2.dim() != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec1, but got {vec1.dim()}-D" if vec1.dim() != 1 else
                           f"addr: Expected 1-D argument vec2, but got {vec2.dim()}-D")
    outer = vec1.unsqueeze(1) * vec2.unsqueeze(0)
    if outer._dtype is D.bool_ and input._dtype is D.bool_:
        r = outer.clone() if not beta else (input | outer) if alpha else input.expand(*outer._shape).clone()
    else:
        o = outer * alpha if alpha != 1 else outer
        if beta == 0:       # input ignored (NaN too), but still in the graph (a zero gradient, as PyTorch)
            r = O.where(full(tuple(o._shape), True, dtype=D.bool_, device=o._device), o, input)
        else:
            r = (input * beta if beta != 1 else input) + o
    if out is not None:
        from ._reductions import _finish_out
        return _finish_out(r, out, "addr")
    return r


@register("dist", method=True)
def dist(input, other, p=2):
    """The p-norm of input - other."""
    d = input - other
    if not (d._dtype.is_floating_point or d._dtype.is_complex):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_pt(d._dtype)}")
    return d.norm(p)


@register("pdist")
def pdist(input, p=2):
    """Distances between each pair of rows i < j of a 2-D input, in row-major order of the pairs."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input._shape[0]
    if n < 2:
        return empty(0, dtype=input._dtype, device=input._device)
    ii, jj = [], []
    for i in range(n):
        for j in range(i + 1, n):
            ii.append(i)
            jj.append(j)
    a = input.index_select(0, _tensor(ii, dtype=D.int64, device=input._device))
    b = input.index_select(0, _tensor(jj, dtype=D.int64, device=input._device))
    d = (a - b).abs()
    if p == 0:
        return (d != 0).to(d._dtype).sum(-1)
    if p == math.inf:
        return d.amax(-1)
    if p == 1:
        return d.sum(-1)
    s = d.pow(p).sum(-1)
    # zero distances get a zero gradient (as PyTorch's pdist backward)
    z = (s == 0).detach()
    return (s + z.to(s._dtype)).pow(1.0 / p) * z.logical_not().to(s._dtype)


@register("unravel_index", kind="op")
def unravel_index(indices, shape):
    """Coordinates of flat indices in a tensor of `shape`: a tuple of tensors, one per dim."""
    if isinstance(shape, int):
        shape = (shape,)
    shape = tuple(shape)
    if not isinstance(indices, Tensor):
        indices = _tensor(indices)
    if indices._dtype.is_floating_point or indices._dtype.is_complex or indices._dtype is D.bool_:
        raise TypeError("expected 'indices' to be integer dtype, but got " + str(indices._dtype).replace(
            "cltensor", "torch"))
    if any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(shape))
    idx = indices.to(D.int64)
    out = []
    rem = idx
    for s in reversed(shape):
        out.append(rem.remainder(s) if s else rem * 0)
        rem = rem.div(s, rounding_mode="floor") if s else rem
    return tuple(reversed(out))


@register("nonzero_static", method=True)
def nonzero_static(input, *, size, fill_value=-1):
    """nonzero(input) truncated or padded (with fill_value) to `size` rows."""
    nz = input.nonzero()
    k = nz._shape[0]
    if k >= size:
        return nz[:size]
    from ._shape import cat
    pad = full((size - k, input.dim()), fill_value, dtype=D.int64, device=input._device)
    return cat([nz, pad], 0)


@register("split_with_sizes", method=True)
def split_with_sizes(input, split_sizes, dim=0):
    """input split into pieces of the given sizes along dim (views)."""
    split_sizes = list(split_sizes)
    n = input._shape[dim]
    if sum(split_sizes) != n:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                           f"dimension {dim}), but got split_sizes={split_sizes}")
    return input.split(split_sizes, dim)


@register("unsafe_split", method=True)
def unsafe_split(input, split_size, dim=0):
    return input.split(split_size, dim)


@register("unsafe_split_with_sizes", method=True)
def unsafe_split_with_sizes(input, split_sizes, dim=0):
    return split_with_sizes(input, split_sizes, dim)


@register("unsafe_chunk", method=True)
def unsafe_chunk(input, chunks, dim=0):
    return input.chunk(chunks, dim)


@register("fill", kind="op")
def fill(input, value):
    """A new tensor shaped like input, every element `value` (out-of-place fill_)."""
    if isinstance(value, Tensor):
        if value.dim() != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.dim()} dimensions.")
        return value.to(input._dtype).expand(*input._shape).clone()
    return full(tuple(input._shape), value, dtype=input._dtype, device=input._device)


@register("empty_permuted", kind="factory")
def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None, requires_grad=False,
                   pin_memory=False):
    """An uninitialised tensor of `size` whose memory holds the dims in the order physical_layout."""
    size, perm = tuple(size), tuple(physical_layout)
    if sorted(perm) != list(range(len(size))):
        raise RuntimeError("Number of dimensions in size does not match the length of the physical_layout; "
                           "or physical_layout is not a permutation")
    phys = empty(*[size[p] for p in perm], dtype=dtype, device=device)
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    r = phys.permute(*inv) if size else phys
    if requires_grad:
        r.requires_grad_(True)
    return r


# ---------------------------------------------------------------- Tensor-only helpers

def _sum_to_size(self, *size):
    """self summed over its broadcast dims down to `size` (which must broadcast to self's shape)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    size = tuple(size)
    lead = self.dim() - len(size)
    if lead < 0:
        raise RuntimeError(f"size {{{', '.join(map(str, size))}}} is not expandable to size "
                           f"{{{', '.join(map(str, self._shape))}}}.")
    dims = list(range(lead))
    for i, s in enumerate(size):
        if s == 1 and self._shape[lead + i] != 1:
            dims.append(lead + i)
        elif s != self._shape[lead + i]:
            raise RuntimeError(f"size {{{', '.join(map(str, size))}}} is not expandable to size "
                               f"{{{', '.join(map(str, self._shape))}}}.")
    r = self.sum(dims, keepdim=True) if dims else self
    return r.reshape(size) if lead else r


def _new(self, *args, device=None):
    """Legacy constructor: self.new(sizes...) uninitialised, self.new(data) from data, in self's dtype."""
    if not args or all(isinstance(a, int) for a in args):
        return empty(*args, dtype=self._dtype, device=device or self._device)
    if len(args) == 1 and isinstance(args[0], tuple) and all(isinstance(a, int) for a in args[0]):
        return empty(*args[0], dtype=self._dtype, device=device or self._device)
    return _tensor(args[0], dtype=self._dtype, device=device or self._device)


def _type_as(self, other):
    return self.to(other._dtype)


def _new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False):
    from ._creation import empty_strided
    return empty_strided(size, stride, dtype=dtype or self._dtype, device=device or self._device,
                         requires_grad=requires_grad)


def _resize_(self, *sizes, memory_format=None):
    """self with the given shape; its elements are kept (in row-major order) up to the old number of elements, the
    rest are uninitialised (PyTorch's resize_ on a contiguous tensor)."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    old = self.reshape(-1).clone() if self.numel() else None
    O._resize_(self, sizes)
    k = min(self.numel(), old.numel()) if old is not None else 0
    if k:
        self.reshape(-1)[:k].copy_(old[:k])
    return self


def _resize_as_(self, other, memory_format=None):
    return _resize_(self, tuple(other._shape))


def _resize(self, *sizes):
    warnings.warn("non-inplace resize is deprecated")
    return _resize_(self.clone(), *sizes)


def _resize_as(self, other):
    warnings.warn("non-inplace resize_as is deprecated")
    return _resize_(self.clone(), tuple(other._shape))


# ---------------------------------------------------------------- process settings PyTorch exposes as functions

_settings = {"num_threads": None, "num_interop_threads": None, "warn_always": False, "det_debug": 0}


def get_num_threads():
    """The CPU threads PyTorch would use; cltensor's kernels run on the OpenCL device, so this is a record."""
    import os
    v = _settings["num_threads"]
    return v if v is not None else (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else
                                    os.cpu_count() or 1)


def set_num_threads(int):
    if int <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    _settings["num_threads"] = int


def get_num_interop_threads():
    v = _settings["num_interop_threads"]
    return v if v is not None else get_num_threads()


def set_num_interop_threads(int):
    if int <= 0:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    _settings["num_interop_threads"] = int


def init_num_threads():
    """Nothing to initialise (PyTorch's OpenMP set-up); kept for programs that call it."""


def set_warn_always(b):
    _settings["warn_always"] = bool(b)


def is_warn_always_enabled():
    return _settings["warn_always"]


def set_deterministic_debug_mode(debug_mode):
    """Recorded ('default'/0, 'warn'/1, 'error'/2): cltensor's kernels are deterministic but for the order of
    atomic floating-point sums in scatter_add / index_add (cltensor/_index)."""
    modes = {"default": 0, "warn": 1, "error": 2}
    if isinstance(debug_mode, str):
        if debug_mode not in modes:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, `error`, but "
                               f"got {debug_mode}")
        debug_mode = modes[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    _settings["det_debug"] = debug_mode


def get_deterministic_debug_mode():
    return _settings["det_debug"]


def set_flush_denormal(mode):
    """False: flushing denormals is the OpenCL device's setting, not the host's (PyTorch returns False where
    unsupported)."""
    return False


# ---------------------------------------------------------------- registration

for _n in _FN_INPLACE:
    register(_n + "_", _fn_inplace(_n + "_"), kind="inplace")
for _n in _COMPOSITE_INPLACE:
    register_method(_n + "_", _method_inplace(_n))
for _n, _f in (("swapaxes_", _swap_), ("swapdims_", _swap_), ("as_strided_", _as_strided_),
               ("conj_physical_", _conj_physical_), ("sum_to_size", _sum_to_size),
               ("type_as", _type_as), ("new", _new), ("new_empty_strided", _new_empty_strided), ("resize_", _resize_),
               ("resize_as_", _resize_as_), ("resize", _resize), ("resize_as", _resize_as)):
    register_method(_n, _f)
for _n in _COPIES:
    register(_n + "_copy", _copy_of(_n), kind="op")
register_method("narrow_copy", _copy_of("narrow"))
register_method("conj_physical", lambda self: self.conj() if self._dtype.is_complex else self.clone())
for _f in (get_num_threads, set_num_threads, get_num_interop_threads, set_num_interop_threads, init_num_threads,
           set_warn_always, is_warn_always_enabled, set_deterministic_debug_mode, get_deterministic_debug_mode,
           set_flush_denormal):
    register(_f.__name__, _f, kind="util")
