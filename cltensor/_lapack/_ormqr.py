"""torch.ormqr: other multiplied by the Q of a geqrf result (Q = H_0 H_1 ... H_{k-1}, H_i = I - tau_i v_i v_i^H,
v_i the i-th column of input below the diagonal with an implicit 1 on it), without forming Q: in the compact WY
form Q = I - V T V^H, with T the upper triangular k x k matrix whose inverse is diag(1/tau) + striu(V^H V) (LAPACK's
larft recurrence is the substitution that solves it). T = (I + diag(tau) striu(V^H V))^-1 diag(tau) is one
unit-triangular solve (valid for tau_i = 0 too), and Q C = C - V (T (V^H C)) is three matrix products: a fixed
number of launches for any k, O(k m n + k^2 m) flops, differentiable in input, tau and other through those ops."""
from .. import _creation
from .. import _dtypes as D
from .._registry import register
from .._shape import diag_embed as _diag_embed
from . import _factor as F
from ._factor import solve_triangular as _linalg_solve_triangular


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
    if k == 0:                                             # no reflector: Q = I, still a new tensor
        return F._outx(other.clone(), out)
    # reflectors as columns: strictly lower part of input's first k columns, unit diagonal
    V = input[..., :, :k].tril(-1) + _creation.eye(m, k, dtype=input._dtype, device=input.device)
    Vh = V.mH
    eye_k = _creation.eye(k, dtype=input._dtype, device=input.device)
    S = (Vh @ V).triu(1)
    unit = tau.unsqueeze(-1) * S + eye_k                   # I + diag(tau) striu(V^H V), unit upper triangular
    Tm = _linalg_solve_triangular(unit, _diag_embed(tau), upper=True, unitriangular=True)
    if transpose:
        Tm = Tm.mH                                         # Q^H = I - V T^H V^H
    if left:
        C = other - V @ (Tm @ (Vh @ other))
    else:
        C = other - ((other @ V) @ Tm) @ Vh
    return F._outx(C, out)
