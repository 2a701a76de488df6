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
    nd = x.dim()
    if d is None:
        r = vector_norm(x.reshape(-1), ord, 0, False)
        return F._outx(r.reshape(*([1] * nd)) if keepdim else r, out)
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
    elif ord in (2, -2, "nuc"):
        from . import _eigen
        perm = [d for d in range(A.dim()) if d not in (d0, d1)] + [d0, d1]
        sv = _eigen.svdvals(A.permute(*perm))
        r = sv.amax(-1) if ord == 2 else sv.amin(-1) if ord == -2 else sv.sum(-1)
        if keepdim:
            r = r.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
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
    if p in (None, 2, -2):
        from . import _eigen
        sv = _eigen.svdvals(A)
        r = sv.amax(-1) / sv.amin(-1) if p != -2 else sv.amin(-1) / sv.amax(-1)
        return F._outx(r, out)
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


def _tol(S, atol, rtol, m, n):
    """max(atol, rtol * largest singular value) per matrix, PyTorch's defaults (rtol = eps * max(m, n) when
    neither is given)."""
    smax = S.amax(-1, keepdim=True) if S._shape[-1] else S.sum(-1, keepdim=True)
    if rtol is None:
        rtol = 0.0 if atol is not None and not _is_t(atol) and atol > 0 else _finfo_eps(S) * max(m, n)
    rt_ = rtol.unsqueeze(-1) if _is_t(rtol) else rtol
    t = smax * rt_
    if atol is not None:
        at = atol.unsqueeze(-1) if _is_t(atol) else atol
        t = t.clamp(min=at) if not _is_t(at) else t.maximum(at)
    return t


def _is_t(x):
    return hasattr(x, "_shape")


def _finfo_eps(S):
    from .. import _dtypes as D
    return 2.220446049250313e-16 if S._dtype is D.float64 else 1.1920928955078125e-07


@register("pinv", namespace="linalg")
def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):
    from . import _eigen
    F.check_dtype(A, "linalg.pinv")
    m, n = A._shape[-2], A._shape[-1]
    if hermitian:
        W, V = _eigen.eigh(A)
        tol = _tol(W.abs(), atol, rtol, m, n)
        keep = W.abs() > tol
        winv = (1 / W.where(keep, 1.0)).where(keep, 0.0)
        return F._outx((V * winv.to(V.dtype).unsqueeze(-2)) @ V.mH, out)
    U, S, Vh = _eigen.svd(A, full_matrices=False)
    tol = _tol(S, atol, rtol, m, n)
    keep = S > tol
    sinv = (1 / S.where(keep, 1.0)).where(keep, 0.0)
    return F._outx((Vh.mH * sinv.to(A.dtype).unsqueeze(-2)) @ U.mH, out)


register("pinverse", lambda input, rcond=1e-15: pinv(input, rtol=rcond), method=True)


@register("matrix_rank", namespace="linalg")
def matrix_rank(A, tol=None, *, atol=None, rtol=None, hermitian=False, out=None):
    from . import _eigen
    from .. import _dtypes as D
    if tol is not None:
        atol, rtol = tol, 0.0
    m, n = A._shape[-2], A._shape[-1]
    S = _eigen.eigvalsh(A).abs() if hermitian else _eigen.svdvals(A)
    t = _tol(S, atol, rtol, m, n)
    return F._outx((S > t).sum(-1).to(D.int64), out)


@register("lstsq", namespace="linalg")
def lstsq(A, B, rcond=None, *, driver=None, out=None):
    """Minimum-norm least squares through the SVD (every driver; PyTorch's CPU default `gelsy` gives the same
    solution for full-rank A). residuals (m > n, every matrix full rank) and rank need a host read, as PyTorch."""
    from . import _eigen
    from .. import _dtypes as D
    if driver not in (None, "gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    F.check_dtype(A, "torch.linalg.lstsq")
    vec = B.dim() == 1
    Bm = B.unsqueeze(-1) if vec else B
    m, n = A._shape[-2], A._shape[-1]
    if Bm._shape[-2] != m:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    U, S, Vh = _eigen.svd(A, full_matrices=False)
    if rcond is None:
        rcond = _finfo_eps(S) * max(m, n)
    tol = _tol(S, None, rcond, m, n)
    keep = S > tol
    sinv = (1 / S.where(keep, 1.0)).where(keep, 0.0)
    X = Vh.mH @ (sinv.to(A.dtype).unsqueeze(-1) * (U.mH @ Bm))
    drv = driver or "gelsy"
    rank = keep.sum(-1).to(D.int64) if drv != "gels" else _creation.empty(0, dtype=D.int64, device=A.device)
    sv = S if drv in ("gelsd", "gelss") else _creation.empty(0, dtype=S.dtype, device=A.device)
    res = _creation.empty(0, dtype=S.dtype, device=A.device)
    if drv != "gelsy" and m > n and (keep.all().item() if keep.numel() else True):     # host read, as PyTorch
        r = A @ X - Bm
        res = (r.abs() ** 2).sum(-2)
        if vec:
            res = res.squeeze(-1)
    return F._named("torch.return_types.linalg_lstsq", (X.squeeze(-1) if vec else X, res, rank, sv))


_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800., 129060195264000.,
           10559470521600., 670442572800., 33522128640., 1323241920., 40840800., 960960., 16380., 182., 1.)


@register("matrix_exp", namespace="linalg")
def matrix_exp(A):
    """Scaling and squaring with the [13/13] Pade approximant (Higham 2005). The number of squarings is the
    batch's largest, read on the host from the 1-norms (a data-dependent choice, as PyTorch's)."""
    F.check_dtype(A, "linalg.matrix_exp")
    F.check_square(A, "linalg.matrix_exp")
    n = A._shape[-1]
    if A.numel() == 0:
        return A.clone()
    nrm = float(matrix_norm(A.detach(), 1).amax().item())
    theta13 = 5.371920351148152
    s = max(0, int(math.ceil(math.log2(nrm / theta13)))) if nrm > theta13 else 0
    X = A / (2 ** s) if s else A
    b = _PADE13
    eye = _creation.eye(n, dtype=A._dtype, device=A.device)
    X2 = X @ X
    X4 = X2 @ X2
    X6 = X4 @ X2
    U = X @ (X6 @ (b[13] * X6 + b[11] * X4 + b[9] * X2) + b[7] * X6 + b[5] * X4 + b[3] * X2 + b[1] * eye)
    V = X6 @ (b[12] * X6 + b[10] * X4 + b[8] * X2) + b[6] * X6 + b[4] * X4 + b[2] * X2 + b[0] * eye
    R = F.solve(V - U, V + U)
    for _ in range(s):
        R = R @ R
    return R


register("matrix_exp", matrix_exp, method=True)
