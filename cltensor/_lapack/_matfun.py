"""Composite torch.linalg functions written with other ops (differentiable through them): vector_norm,
matrix_norm and norm (the orders that need no singular values), cond (norm orders), matrix_power, multi_dot,
vecdot, diagonal, vander, cross, tensorinv, tensorsolve."""
import math

from .. import _composite
from .. import _creation
from .._registry import register
from . import _factor as F


def _dims(x, dim):
    if dim is None:
        return None
    return (dim,) if isinstance(dim, int) else tuple(dim)


@register("vector_norm", namespace="linalg")
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    if not (x._dtype.is_floating_point or x._dtype.is_complex):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {x._dtype._alias}")
    if dtype is not None:
        x = x.to(dtype)
    d = _dims(x, dim)
    if d is None:
        x, d = x.reshape(-1), (0,)
        if keepdim:
            raise NotImplementedError("linalg.vector_norm: keepdim=True with dim=None")
    a = x.abs()
    if ord == math.inf:
        r = a.amax(d, keepdim=keepdim)
    elif ord == -math.inf:
        r = a.amin(d, keepdim=keepdim)
    elif ord == 0:
        r = (a != 0).to(a.dtype).sum(d, keepdim=keepdim)
    elif ord == 1:
        r = a.sum(d, keepdim=keepdim)
    elif ord == 2:
        r = (a * a).sum(d, keepdim=keepdim).sqrt()
    else:
        r = (a ** ord).sum(d, keepdim=keepdim) ** (1.0 / ord)
    return F._outx(r, out)


@register("matrix_norm", namespace="linalg")
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    F.check_matrix(A, "linalg.matrix_norm")
    if dtype is not None:
        A = A.to(dtype)
    d0, d1 = (d % A.dim() for d in dim)
    a = A.abs()
    if ord == "fro":
        r = (a * a).sum((d0, d1), keepdim=keepdim).sqrt()
    elif ord in (1, -1, math.inf, -math.inf):
        sdim, rdim = (d0, d1) if ord in (1, -1) else (d1, d0)
        s = a.sum(sdim, keepdim=True)
        r = s.amax(rdim, keepdim=True) if ord in (1, math.inf) else s.amin(rdim, keepdim=True)
        if not keepdim:
            r = r.squeeze(max(d0, d1)).squeeze(min(d0, d1))
    else:
        raise NotImplementedError(f"linalg.matrix_norm: ord={ord!r} needs singular values, which this build "
                                  "does not compute yet")
    return F._outx(r, out)


@register("norm", namespace="linalg")
def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    if dim is not None and not isinstance(dim, int) and len(dim) == 2 or dim is None and ord is not None \
            and A.dim() == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim if dim is not None else (-2, -1), keepdim,
                           dtype=dtype, out=out)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype, out=out)


@register("cond", namespace="linalg")
def cond(A, p=None, *, out=None):
    if p in (None, 2, -2, "nuc"):
        raise NotImplementedError("linalg.cond: this order needs singular values, which this build does not "
                                  "compute yet")
    return F._outx(matrix_norm(A, p) * matrix_norm(F.inv_ex(A)[0], p), out)


@register("matrix_power", namespace="linalg")
def matrix_power(A, n, *, out=None):
    F.check_square(A, "linalg.matrix_power")
    if n == 0:
        r = _creation.eye(A._shape[-1], dtype=A._dtype, device=A.device).expand(*A._shape).clone()
        return F._outx(r, out)
    if n < 0:
        A, n = F.inv(A), -n
    result, base = None, A
    while n:                     # binary powering: log2(n) squarings
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return F._outx(result.clone() if result is A else result, out)


register("matrix_power", matrix_power, method=True)


@register("multi_dot", namespace="linalg")
def multi_dot(tensors, *, out=None):
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError("multi_dot(): expected at least 2 tensors but got " + str(len(ts)))
    first_vec, last_vec = ts[0].dim() == 1, ts[-1].dim() == 1
    if first_vec:
        ts[0] = ts[0].unsqueeze(0)
    if last_vec:
        ts[-1] = ts[-1].unsqueeze(-1)
    # the cheaper of the two orders for three matrices; left to right otherwise
    if len(ts) == 3:
        (p, q), r, s = ts[0]._shape, ts[1]._shape[1], ts[2]._shape[1]
        r_ = (ts[0] @ ts[1]) @ ts[2] if p * q * r + p * r * s <= q * r * s + p * q * s else ts[0] @ (ts[1] @ ts[2])
    else:
        r_ = ts[0]
        for t in ts[1:]:
            r_ = r_ @ t
    if first_vec:
        r_ = r_.squeeze(0)
    if last_vec:
        r_ = r_.squeeze(-1)
    return F._outx(r_, out)


@register("vecdot", namespace="linalg")
def vecdot(x, y, *, dim=-1, out=None):
    return F._outx((x.conj() * y).sum(dim), out)


@register("diagonal", namespace="linalg")
def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return A.diagonal(offset, dim1, dim2)


@register("vander", namespace="linalg")
def vander(x, *, N=None):
    n = x._shape[-1] if N is None else N
    if x.dim() < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension")
    p = _creation.arange(n, dtype=x._dtype if x._dtype.is_floating_point or x._dtype.is_complex else x._dtype,
                         device=x.device)
    return x.unsqueeze(-1) ** p


@register("cross", namespace="linalg")
def cross(input, other, *, dim=-1, out=None):
    return F._outx(_composite.cross(input, other, dim=dim), out)


@register("tensorinv", namespace="linalg")
def tensorinv(A, ind=2, *, out=None):
    lead, rest = A._shape[:ind], A._shape[ind:]
    m = 1
    for s in lead:
        m *= s
    return F._outx(F.inv(A.reshape(m, -1)).reshape(*rest, *lead), out)


@register("tensorsolve", namespace="linalg")
def tensorsolve(A, B, dims=None, *, out=None):
    if dims is not None:
        nd = A.dim()
        dims = [d % nd for d in dims]
        A = A.permute(*[d for d in range(nd) if d not in dims], *dims)
    n = B.numel()
    x_shape = A._shape[B.dim():]
    return F._outx(F.solve(A.reshape(n, -1), B.reshape(n)).reshape(*x_shape), out)
