"""LDL^T / LDL^H with Bunch-Kaufman pivoting (LAPACK sytrf / hetrf and sytrs / hetrs, lower) on the device, one
work-item per matrix (factor) or per right-hand side (solve): ldl_factor(_ex), ldl_solve. No autograd (as
PyTorch)."""
import numpy as np

from .. import _creation
from .. import _dtypes as D
from .. import _kernels as K
from .._launch import rt_of, extent, idx_type
from .._registry import register
from . import _factor as F


def _nb(shape):
    n = 1
    for s in shape:
        n *= s
    return n


@register("ldl_factor_ex", namespace="linalg")
def ldl_factor_ex(A, *, hermitian=False, check_errors=False, out=None):
    F.check_dtype(A, "torch.linalg.ldl_factor_ex")
    F.check_square(A, "torch.linalg.ldl_factor_ex")
    n = A._shape[-1]
    bshape = A._shape[:-2]
    LD = F._work(A)
    piv = _creation.zeros(*bshape, n, dtype=D.int32, device=A.device)
    info = _creation.zeros(*bshape, dtype=D.int32, device=A.device)
    B = _nb(bshape)
    if B and n:
        rt = rt_of(A)
        idx, it = idx_type(extent(LD))
        kern = K.get(rt, "linalg", "sytrf", t=A._dtype, idx=idx)
        K.launch(rt, kern, (K.round_up(B, 8),), (8,), [LD._st.buf, piv._st.buf, info._st.buf, np.int32(n),
                                                       np.int32(bool(hermitian)), it(B)])
    LD = LD.tril()
    if check_errors:
        F.raise_info(info, lambda v: f"torch.linalg.ldl_factor_ex: The factorization could not be completed "
                     f"because the input is not invertible (the diagonal element {v} is zero).", A.dim() > 2)
    return F._named("torch.return_types.linalg_ldl_factor_ex", (LD, piv, info))


@register("ldl_factor", namespace="linalg")
def ldl_factor(A, *, hermitian=False, out=None):
    LD, piv, info = ldl_factor_ex(A, hermitian=hermitian)
    F.raise_info(info, lambda v: f"torch.linalg.ldl_factor: The factorization could not be completed because the "
                 f"input is not invertible (the diagonal element {v} is zero).", A.dim() > 2)
    return F._named("torch.return_types.linalg_ldl_factor", (LD, piv))


@register("ldl_solve", namespace="linalg")
def ldl_solve(LD, pivots, B, *, hermitian=False, out=None):
    F.check_dtype(LD, "torch.linalg.ldl_solve")
    F.check_square(LD, "torch.linalg.ldl_solve", "LD")
    n, kr = LD._shape[-1], B._shape[-1]
    if B._shape[-2] != n:
        raise RuntimeError(f"torch.linalg.ldl_solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({n}x{n} and {B._shape[-2]}x{kr})")
    bshape = F._bshape(LD._shape[:-2], B._shape[:-2], pivots._shape[:-1])
    X = F._work(B, (*bshape, n, kr))
    L = F._work(LD, (*bshape, n, n))
    P = F._work(pivots.to(D.int32), (*bshape, n))
    Bn = _nb(bshape)
    if Bn and n and kr:
        rt = rt_of(X)
        idx, it = idx_type(extent(L), extent(X))
        kern = K.get(rt, "linalg", "sytrs", t=LD._dtype, idx=idx)
        K.launch(rt, kern, (K.round_up(kr, 16), Bn), (16, 1),
                 [L._st.buf, it(n * n), P._st.buf, it(n), X._st.buf, it(n * kr),
                  np.int32(n), np.int32(kr), np.int32(bool(hermitian))])
    return F._outx(X, out)
