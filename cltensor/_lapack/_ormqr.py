"""torch.ormqr: other multiplied by the Q of a geqrf result (Q = H_0 H_1 ... H_{k-1}, H_i = I - tau_i v_i v_i^H,
v_i the i-th column of input below the diagonal with an implicit 1 on it), without forming Q: each reflector is
applied as a rank-1 update of other (C - tau v (v^H C) from the left, C - (C v) tau v^H from the right), so the
cost is O(k m n) and the result is differentiable in input, tau and other through the matrix products."""
from .. import _creation
from .. import _dtypes as D
from .._registry import register
from . import _factor as F


def _check(A, tau, C, left):
    if A.dim() < 2:
        raise RuntimeError("torch.ormqr: input must have at least 2 dimensions.")
    if C.dim() < 2:
        raise RuntimeError("torch.ormqr: other must have at least 2 dimensions.")
    side = -2 if left else -1
    if C._shape[side] != A._shape[-2]:
        raise RuntimeError(f"torch.ormqr: other.shape[{side}] must be equal to input.shape[-2]")
    if tau._shape[-1] != min(C._shape[side], A._shape[-1]):
        raise RuntimeError(f"torch.ormqr: tau.shape[-1] must be equal to min(other.shape[{side}], "
                           f"input.shape[-1])")
    if A.dim() - tau.dim() != 1:
        raise RuntimeError(f"torch.ormqr: Expected tau to have one dimension less than input, but got tau.ndim "
                           f"equal to {tau.dim()} and input.ndim is equal to {A.dim()}")
    if A.dim() != C.dim():
        raise RuntimeError(f"torch.ormqr: Expected other to have the same number of dimensions as input, but got "
                           f"other.ndim equal to {C.dim()} and input.ndim is equal to {A.dim()}")
    if A.dim() > 2:
        batch = list(A._shape[:-2])
        if list(tau._shape[:-1]) != batch:
            raise RuntimeError(f"torch.ormqr: Expected batch dimensions of tau to be equal to input.shape[:-2], but "
                               f"got {list(tau._shape[:-1])}")
        if list(C._shape[:-2]) != batch:
            raise RuntimeError(f"torch.ormqr: Expected batch dimensions of other to be equal to input.shape[:-2], "
                               f"but got {list(C._shape[:-2])}")
    if tau._dtype is not A._dtype:
        raise RuntimeError(f"torch.ormqr: Expected input and tau to have the same dtype, but input has dtype"
                           f"{A._dtype._alias} and tau has dtype {tau._dtype._alias}")
    if C._dtype is not A._dtype:
        raise RuntimeError(f"torch.ormqr: Expected input and other to have the same dtype, but input has dtype"
                           f"{A._dtype._alias} and other has dtype {C._dtype._alias}")
    if A._dtype not in (D.float32, D.float64, D.complex64, D.complex128):
        raise NotImplementedError(f"\"ormqr_cpu\" not implemented for '{A._dtype._alias}'")


@register("ormqr", method=True)
def ormqr(input, tau, other, left=True, transpose=False, *, out=None):
    _check(input, tau, other, left)
    m, k = input._shape[-2], tau._shape[-1]
    cplx = input._dtype in (D.complex64, D.complex128)
    # reflectors as columns: strictly lower part of input's first k columns, unit diagonal
    V = input[..., :, :k].tril(-1) + _creation.eye(m, k, dtype=input._dtype, device=input.device)
    t = tau.unsqueeze(-1).unsqueeze(-1)                    # (..., k, 1, 1): tau_i as a scalar per matrix
    if transpose and cplx:
        t = t.conj()                                       # H_i^H = I - conj(tau_i) v_i v_i^H
    # Q C applies H_{k-1} first; Q^H C applies H_0^H first; C Q applies H_0 first; C Q^H applies H_{k-1}^H first
    order = range(k - 1, -1, -1) if left != transpose else range(k)
    C = other
    for i in order:
        v = V[..., :, i:i + 1]                             # (..., m, 1)
        vh = v.mH if cplx else v.mT
        ti = t[..., i, :, :]
        if left:
            C = C - (v * ti) @ (vh @ C)
        else:
            C = C - (C @ v) @ (ti * vh)
    if C is other:                                         # no reflector: Q = I, still a new tensor
        C = other.clone()
    return F._outx(C, out)
