"""PyTorch functions built from other ops (no kernels of their own): comparisons of whole tensors, broadcasting
helpers, addcmul/addcdiv, small math, splits, triangle indices, complex views, kron, diff, cross.
Autograd comes from the ops they are made of (views record their own backward)."""
import math

from . import _dtypes as D
from . import _ew
from . import _views
from .autograd import _tape as AG
from . import _ops
from ._creation import tensor
from ._reductions import _finish_out
from ._registry import register
from ._shape import cat, stack
from ._tensor import Tensor, Size


def _tensor_arg(name, x, pos=1, arg="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be Tensor, not {type(x).__name__}")


# ---------------------------------------------------------------- whole-tensor comparisons

def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol * |other| elementwise (equal values, infinities included, are close)."""
    _tensor_arg("isclose", input)
    if not isinstance(other, Tensor):
        other = tensor(other, dtype=input._dtype, device=input._device)
    if input._dtype is not other._dtype:
        raise RuntimeError(f"{input._dtype._alias} did not match {other._dtype._alias}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    with AG.no_grad():
        close = input == other
        if input._dtype is D.bool_:
            return close
        a, b = input, other
        if not (a._dtype.is_floating_point or a._dtype.is_complex):
            wide = D.float64 if a._st.rt is None or a._st.rt.info.fp64 else D.float32
            a, b = a.to(wide), b.to(wide)
        if equal_nan:
            close = close | (a.isnan() & b.isnan())
        err = (a - b).abs()
        close = close | (err.isfinite() & (err <= atol + (b * rtol).abs()))
    return close


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element of input is close to other's (isclose); a Python bool (a host sync)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all().item())


def equal(input, other):
    """True if both have the same shape and elements (NaN is not equal to itself); a Python bool."""
    _tensor_arg("equal", input)
    _tensor_arg("equal", other, 2, "other")
    if input._shape != other._shape:
        return False
    with AG.no_grad():
        return bool((input == other).all().item())


# ---------------------------------------------------------------- broadcasting helpers

def broadcast_shapes(*shapes):
    norm = []
    for s in shapes:
        if isinstance(s, int):
            s = (s,)
        norm.append(tuple(int(x) for x in s))
    return Size(_ew.broadcast_shapes(*norm) if norm else ())


def broadcast_tensors(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = tuple(broadcast_shapes(*[t._shape for t in tensors]))
    return tuple(t.expand(shape) for t in tensors)


# ---------------------------------------------------------------- addcmul / addcdiv

def addcmul(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 * tensor2 (PyTorch's type promotion over the three)."""
    if all(isinstance(t, Tensor) and t._dtype is D.bool_ for t in (input, tensor1, tensor2)):
        raise NotImplementedError("\"addcmul_cpu_out\" not implemented for 'Bool'")
    r = input + value * (tensor1 * tensor2) if value != 1 else input + tensor1 * tensor2
    return _to_out(r, out, "addcmul")


def addcdiv(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 / tensor2; integer tensor1 and tensor2 are refused as in PyTorch."""
    _check_addcdiv(tensor1, tensor2)
    r = input + value * (tensor1 / tensor2) if value != 1 else input + tensor1 / tensor2
    return _to_out(r, out, "addcdiv")


def _check_addcdiv(tensor1, tensor2):
    if isinstance(tensor1, Tensor) and isinstance(tensor2, Tensor) and \
            tensor1._dtype.category <= 1 and tensor2._dtype.category <= 1:
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform a "
            "true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as (input + "
            "value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as (input + value * "
            "tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")


def _to_out(r, out, name):
    if out is None:
        return r
    return _finish_out(r, out, name)


def _addcmul_(self, tensor1, tensor2, *, value=1):
    if all(isinstance(t, Tensor) and t._dtype is D.bool_ for t in (self, tensor1, tensor2)):
        raise NotImplementedError("\"addcmul_cpu_out\" not implemented for 'Bool'")
    return self.add_(tensor1 * tensor2, alpha=value)


def _addcdiv_(self, tensor1, tensor2, *, value=1):
    _check_addcdiv(tensor1, tensor2)
    return self.add_(tensor1 / tensor2, alpha=value)


# ---------------------------------------------------------------- small math

def ravel(input):
    return input.reshape(-1)


def trace(input):
    if input.dim() != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.dim()}")
    return input.diagonal().sum()


def logaddexp(input, other, *, out=None):
    """log(exp(input) + exp(other)) without overflow: max + log1p(exp(-|input - other|))."""
    return _finish_out(_logaddexp("logaddexp", input, other, False), out, "logaddexp")


def logaddexp2(input, other, *, out=None):
    """log2(2**input + 2**other), as logaddexp."""
    return _finish_out(_logaddexp("logaddexp2", input, other, True), out, "logaddexp2")


def _logaddexp(name, input, other, base2):
    _float_only(name, input, other)
    if not base2 and any(isinstance(t, Tensor) and t._dtype.is_complex for t in (input, other)):
        # complex: the operand with the larger real part is the shift (torch's choice): mx + log1p(exp(mn - mx))
        swap = other.real < input.real
        mn, mx = _ops.where(swap, other, input), _ops.where(swap, input, other)
        return mx + (mn - mx).exp().log1p()
    if base2 and any(isinstance(t, Tensor) and t._dtype.is_complex for t in (input, other)):
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for "
                                  f"'{next(t for t in (input, other) if isinstance(t, Tensor) and t._dtype.is_complex)._dtype._alias}'")
    d = (input - other).abs()
    t = (-d).exp2().log1p() / math.log(2) if base2 else (-d).exp().log1p()
    # equal infinities give inf - inf = NaN in d: the result is that infinity
    return _ops.where(d.isnan() & (input == other), input, input.maximum(other) + t)


def _float_only(name, *ts):
    for t in ts:
        if isinstance(t, Tensor) and not (t._dtype.is_floating_point or t._dtype.is_complex):
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{t._dtype._alias}'")


def _floating(input):
    """input, or input in the default float dtype when it is integer or bool (PyTorch's unary float ops)."""
    return input if input._dtype.is_floating_point or input._dtype.is_complex else \
        input.to(D.get_default_dtype())


def logit(input, eps=None, *, out=None):
    return _finish_out(_logit(input, eps), out, "logit")


def _logit(input, eps):
    if input._dtype.is_complex:
        raise NotImplementedError(f"\"logit_cpu\" not implemented for '{input._dtype._alias}'")
    x = _floating(input)
    if eps is not None:
        x = x.clamp(eps, 1 - eps)
    return (x / (1 - x)).log()


def deg2rad(input, *, out=None):
    return _finish_out(_deg2rad(input), out, "deg2rad")


def _deg2rad(input):
    if input._dtype.is_complex:
        raise RuntimeError("deg2rad is not supported for complex tensors.")
    x = _floating(input)
    return x * (math.pi / 180)


def rad2deg(input, *, out=None):
    return _finish_out(_rad2deg(input), out, "rad2deg")


def _rad2deg(input):
    if input._dtype.is_complex:
        raise RuntimeError("rad2deg is not supported for complex tensors.")
    x = _floating(input)
    return x * (180 / math.pi)


def sinc(input, *, out=None):
    """sin(pi x) / (pi x), 1 at 0."""
    return _finish_out(_sinc(input), out, "sinc")


def _sinc(input):
    x = _floating(input)
    zero = x == 0
    px = (x * math.pi).masked_fill(zero, 1)        # (no 0 / 0 in the value or the gradient at 0)
    return (px.sin() / px).masked_fill(zero, 1)


# ---------------------------------------------------------------- splits

def tensor_split(input, indices_or_sections, dim=0):
    """Views of input split into n nearly equal parts (the first size % n one longer) or at indices."""
    d = _views._wrap_dim(dim, input.dim())
    size = input._shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        if ios.dim() > 1 or ios._dtype.category != 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional tensor, but got a tensor with {ios.dim()} dims")
        ios = ios.item() if ios.dim() == 0 else ios.tolist()
    if isinstance(ios, int):
        if ios <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {ios}")
        q, r = divmod(size, ios)
        bounds, start = [], 0
        for i in range(ios):
            start += q + (1 if i < r else 0)
            bounds.append(start)
        bounds = bounds[:-1]
    else:
        bounds = [int(i) for i in ios]
    out, prev = [], 0
    for b in bounds + [size]:
        b = max(min(b if b >= 0 else b + size, size), 0)
        lo = min(prev, b)
        out.append(input.narrow(d, lo, max(b - lo, 0)))
        prev = max(prev, b)
    return tuple(out)


def _split_dir(name, input, ios, dim, need):
    if input.dim() < need:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {need} dimension, but got a tensor with "
                           f"{input.dim()} dimensions!")
    if isinstance(ios, int) and (input._shape[dim] % ios if ios else True):
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                           f"{input._shape[dim]} is not divisible by the split_size {ios}!")
    return tensor_split(input, ios, dim)


def hsplit(input, indices_or_sections):
    return _split_dir("hsplit", input, indices_or_sections, 1 if input.dim() > 1 else 0, 1)


def vsplit(input, indices_or_sections):
    return _split_dir("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input, indices_or_sections):
    return _split_dir("dsplit", input, indices_or_sections, 2, 3)


# ---------------------------------------------------------------- triangle indices

def _tri_indices(row, col, offset, lower, dtype, device):
    import numpy as np
    r, c = np.tril_indices(row, offset, col) if lower else np.triu_indices(row, offset, col)
    dtype = D.int64 if dtype is None else D.as_dtype(dtype)
    return tensor(np.stack([r, c]).astype(np.int64).reshape(2, -1), dtype=dtype, device=device)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    return _tri_indices(row, col, offset, True, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    return _tri_indices(row, col, offset, False, dtype, device)


# ---------------------------------------------------------------- complex views and constructors

def view_as_real(input):
    """A complex tensor's memory as float pairs: shape (..., 2), a view (writes go through)."""
    if not input._dtype.is_complex:
        raise RuntimeError("view_as_real is only supported for complex tensors")
    shape = input._shape + (2,)
    strides = tuple(2 * s for s in input._strides) + (1,)
    return _views._view(input, shape, strides, 2 * input._offset, "ViewAsRealBackward0", view_as_real,
                        dtype=input._dtype.to_real())


def view_as_complex(input):
    """float32/float64 pairs (last dim 2, stride 1) as complex numbers: a view."""
    if input._dtype not in (D.float32, D.float64):
        raise RuntimeError(f"view_as_complex is only supported for float and double tensors, but got a tensor of "
                           f"scalar type: {input._dtype._alias}")
    if not input._shape or input._shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if input._strides[-1] != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s in input._strides[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if input._offset % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    cdt = D.complex64 if input._dtype is D.float32 else D.complex128
    return _views._view(input, input._shape[:-1], tuple(s // 2 for s in input._strides[:-1]), input._offset // 2,
                        "ViewAsComplexBackward0", view_as_complex, dtype=cdt)


def complex(real, imag, *, out=None):
    """real + i * imag from two float tensors of one dtype (broadcast)."""
    if real._dtype is not imag._dtype:
        raise RuntimeError(f"Expected object of scalar type {real._dtype._alias} but got scalar type "
                           f"{imag._dtype._alias} for second argument")
    if real._dtype not in (D.float16, D.float32, D.float64):
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                           f"{real._dtype._alias} and {imag._dtype._alias}")
    r, i = broadcast_tensors(real.float() if real._dtype is D.float16 else real,
                             imag.float() if imag._dtype is D.float16 else imag)
    both = stack([r, i], -1)
    if not both.is_contiguous():
        both = both.contiguous()
    return _to_out(view_as_complex(both), out, "complex")


def polar(abs, angle, *, out=None):
    return complex(abs * angle.cos(), abs * angle.sin(), out=out)


# ---------------------------------------------------------------- kron, diff, cross

def kron(input, other):
    """Kronecker product: every element of input times a block of other."""
    nd = max(input.dim(), other.dim())
    a = input.reshape((1,) * (nd - input.dim()) + tuple(input._shape))
    b = other.reshape((1,) * (nd - other.dim()) + tuple(other._shape))
    ai = [x for d in range(nd) for x in (a._shape[d], 1)]
    bi = [x for d in range(nd) for x in (1, b._shape[d])]
    r = a.reshape(ai) * b.reshape(bi)
    return r.reshape([a._shape[d] * b._shape[d] for d in range(nd)])


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """n-th forward difference along dim (prepend/append joined first)."""
    if input.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = _views._wrap_dim(dim, input.dim())
    parts = [p for p in (prepend, input, append) if p is not None]
    parts = [p if isinstance(p, Tensor) else tensor(p, dtype=input._dtype, device=input._device).expand(
        input._shape[:d] + (1,) + input._shape[d + 1:]) for p in parts]
    x = cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        m = x._shape[d]
        if m == 0:
            break
        hi, lo = x.narrow(d, 1, m - 1), x.narrow(d, 0, m - 1)
        x = (hi != lo) if x._dtype is D.bool_ else hi - lo
    return x


def cross(input, other, dim=None):
    """Cross product of 3-vectors along dim (default: the first dim of size 3, as PyTorch's torch.cross)."""
    shape = tuple(broadcast_shapes(input._shape, other._shape))
    if dim is None:
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    d = _views._wrap_dim(dim, len(shape))
    if shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.expand(shape)._shape[d]}"
                           f" and {other.expand(shape)._shape[d]}")
    a, b = input.expand(shape), other.expand(shape)
    a0, a1, a2 = a.unbind(d)
    b0, b1, b2 = b.unbind(d)
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


# ---------------------------------------------------------------- registration
for _f in (isclose, allclose, equal, addcmul, addcdiv, ravel, trace, logaddexp, logaddexp2, logit, deg2rad, rad2deg,
           sinc, tensor_split, hsplit, vsplit, dsplit, kron, diff, cross):
    register(_f.__name__, _f, method=True, inplace={"addcmul": _addcmul_, "addcdiv": _addcdiv_}.get(_f.__name__))
for _f in (broadcast_shapes, broadcast_tensors, tril_indices, triu_indices, view_as_real, view_as_complex, complex,
           polar):
    register(_f.__name__, _f)
