"""Hermitian eigendecomposition (eigh, eigvalsh) and singular value decomposition (svd, svdvals) by Jacobi
methods on the device (templates/linalg.mako `eigh`: parallel two-sided Jacobi; `svd`: one-sided Jacobi), one
work-group per matrix, with PyTorch's backward formulas (gauge-invariant losses only, as PyTorch). Large real
matrices go to _eigen_large (tridiagonalisation + QL; bidiagonalisation + bidiagonal QR)."""
import numpy as np

from .. import _creation
from .. import _dtypes as D
from .. import _kernels as K
from .._launch import rt_of, extent, idx_type
from .._registry import register
from ..autograd import _tape as AG
from . import _core as C
from . import _factor as F
from . import _eigen_large as EL

MAX_SWEEPS = 40
_REAL = {D.float32: D.float32, D.float64: D.float64, D.complex64: D.float32, D.complex128: D.float64}


def _nb(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _eigh_raw(A, wantv):
    n = A._shape[-1]
    bshape = A._shape[:-2]
    if EL.use(A):
        return EL.eigh_large(A, wantv)
    W = _creation.empty(*bshape, n, dtype=_REAL[A._dtype], device=A.device)
    Aw = F._work(A)
    V = _creation.empty(*bshape, n, n, dtype=A._dtype, device=A.device) if wantv else Aw
    B = _nb(bshape)
    if B and n:
        rt = rt_of(A)
        h = (n + 1) // 2
        rot = _creation.empty(B * h * 4, dtype=_REAL[A._dtype], device=A.device)
        idx, it = idx_type(extent(Aw) + extent(V))
        kern = K.get(rt, "linalg", "eigh", t=A._dtype, idx=idx)
        L = C._wg(rt)
        K.launch(rt, kern, (B * L,), (L,), [Aw._st.buf, V._st.buf, W._st.buf, rot._st.buf, np.int32(n),
                                            np.int32(MAX_SWEEPS), np.int32(bool(wantv))])
    return W, (V if wantv else None)


def _check_herm(A, name):
    F.check_dtype(A, name)
    F.check_square(A, name)


def _eigh_backward(L, V, gL, gV):
    """PyTorch's linalg_eig_backward for Hermitian input: gA = V (diag(gL) + skew(V^H gV) / E) V^H, E_ij = L_j - L_i."""
    n = L._shape[-1]
    if gV is None:
        gA = V * gL.to(V._dtype).unsqueeze(-2) if gL is not None else None
        return gA @ V.mH
    VhgV = V.mH @ gV
    VhgV = 0.5 * (VhgV - VhgV.mH)
    E = L.unsqueeze(-2) - L.unsqueeze(-1)
    eye = _creation.eye(n, dtype=E._dtype, device=E.device)
    E = E + eye
    ret = VhgV / E.to(V._dtype)
    eyec = eye.to(V._dtype)
    ret = ret * (1 - eyec)
    if gL is not None:
        ret = ret + gL.to(V._dtype).unsqueeze(-1) * eyec
    return V @ ret @ V.mH


@register("eigh", namespace="linalg")
def eigh(A, UPLO="L", *, out=None):
    _check_herm(A, "linalg.eigh")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    A_ = A if UPLO == "L" else A.mH
    W, V = _eigh_raw(A_, True)
    if AG.needs_grad(A):
        AG.record("LinalgEighBackward0", (A,), (W, V), lambda gL, gV: (_eigh_backward(W, V, gL, gV),), saved=(W, V))
    return F._out3((W, V), out, "torch.return_types.linalg_eigh")


@register("eigvalsh", namespace="linalg")
def eigvalsh(A, UPLO="L", *, out=None):
    _check_herm(A, "linalg.eigvalsh")
    if not AG.needs_grad(A):
        A_ = A if UPLO == "L" else A.mH
        return F._outx(_eigh_raw(A_, False)[0], out)
    return F._outx(eigh(A, UPLO)[0], out)


def _svd_raw(A, wantv):
    """(U (..., m, k), S (..., k), V (..., n, k)) with k = min(m, n), reduced."""
    m, n = A._shape[-2], A._shape[-1]
    if m < n:
        U, S, V = _svd_raw(A.mH, wantv)
        return V, S, U
    if EL.use_svd(A):
        return EL.svd_large(A, wantv)
    bshape = A._shape[:-2]
    U = F._work(A)
    S = _creation.empty(*bshape, n, dtype=_REAL[A._dtype], device=A.device)
    V = _creation.empty(*bshape, n, n, dtype=A._dtype, device=A.device) if wantv else U
    B = _nb(bshape)
    if B and n and m:
        rt = rt_of(A)
        idx, it = idx_type(extent(U) + extent(V))
        kern = K.get(rt, "linalg", "svd", t=A._dtype, idx=idx)
        L = C._wg(rt)
        K.launch(rt, kern, (B * L,), (L,), [U._st.buf, V._st.buf, S._st.buf, np.int32(m), np.int32(n),
                                            np.int32(MAX_SWEEPS), np.int32(bool(wantv))])
    elif B and not m:
        S = _creation.zeros(*bshape, 0, dtype=_REAL[A._dtype], device=A.device)
    return U, S, (V if wantv else None)


def _complete(U):
    """U's k orthonormal columns completed to m x m (full_matrices): the complete Householder QR of U."""
    m, k = U._shape[-2], U._shape[-1]
    if m == k:
        return U
    from . import _qr
    from .._shape import cat
    Q, _ = _qr.qr(U, mode="complete")
    return cat([U, Q[..., :, k:]], -1)


def _svd_backward(U, S, Vh, gU, gS, gVh, full):
    """PyTorch's svd_backward (reduced U, S, Vh)."""
    m, n = U._shape[-2], Vh._shape[-1]
    if gU is None and gVh is None:
        gS_ = gS.to(U._dtype)
        return U @ (gS_.unsqueeze(-1) * Vh) if m >= n else (U * gS_.unsqueeze(-2)) @ Vh
    V = Vh.mH
    gV = gVh.mH if gVh is not None else None
    Sc = S.to(U._dtype)
    k = S._shape[-1]
    eye = _creation.eye(k, dtype=S._dtype, device=S.device)
    S2 = S * S
    E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + eye
    ret = None
    UhgU = None
    if gU is not None:
        UhgU = U.mH @ gU
        UhgU = UhgU - UhgU.mH
        ret = UhgU * Sc.unsqueeze(-2)
    if gV is not None:
        VhgV = V.mH @ gV
        VhgV = VhgV - VhgV.mH
        t = Sc.unsqueeze(-1) * VhgV
        ret = t if ret is None else ret + t
    ret = ret / E.to(U._dtype)
    if gS is not None:
        ret = ret + gS.to(U._dtype).unsqueeze(-1) * eye.to(U._dtype)
    if U._dtype.is_complex and gU is not None:
        ret = ret + (UhgU.diagonal(dim1=-2, dim2=-1) / (2 * Sc)).unsqueeze(-1) * eye.to(U._dtype)
    if m > n and gU is not None:
        gA = U @ ret
        gUSinv = gU / Sc.unsqueeze(-2)
        gA = gA + gUSinv - U @ (U.mH @ gUSinv)
        return gA @ Vh
    if m < n and gV is not None:
        gA = ret @ Vh
        SinvgVh = gVh / Sc.unsqueeze(-1)
        gA = gA + SinvgVh - (SinvgVh @ V) @ Vh
        return U @ gA
    return U @ (ret @ Vh)


@register("svd", namespace="linalg")
def svd(A, full_matrices=True, *, driver=None, out=None):
    F.check_dtype(A, "linalg.svd")
    F.check_matrix(A, "linalg.svd")
    U, S, V = _svd_raw(A, True)
    Vh = V.mH
    m, n = A._shape[-2], A._shape[-1]
    if full_matrices and m != n:
        with AG.no_grad():
            if m > n:
                U = _complete(U)
            else:
                Vh = _complete(Vh.mH).mH
    Vh = Vh.contiguous()
    if AG.needs_grad(A):
        if full_matrices and m != n:
            raise NotImplementedError("linalg.svd backward with full_matrices=True and a non-square input: use "
                                      "full_matrices=False (PyTorch does not define it either)")
        AG.record("LinalgSvdBackward0", (A,), (U, S, Vh),
                  lambda gU, gS, gVh: (_svd_backward(U, S, Vh, gU, gS, gVh, full_matrices),), saved=(U, S, Vh))
    return F._out3((U, S, Vh), out, "torch.return_types.linalg_svd")


@register("svdvals", namespace="linalg")
def svdvals(A, *, driver=None, out=None):
    F.check_dtype(A, "linalg.svdvals")
    F.check_matrix(A, "linalg.svdvals")
    if AG.needs_grad(A):
        return F._outx(svd(A, full_matrices=False)[1], out)
    return F._outx(_svd_raw(A, False)[1], out)


def _t_svd(A, some=True, compute_uv=True, *, out=None):
    import collections
    T = collections.namedtuple("svd", ("U", "S", "V"))
    if not compute_uv:
        S = svdvals(A)
        m, n = A._shape[-2], A._shape[-1]
        zu = _creation.zeros(*A._shape[:-2], m, m, dtype=A._dtype, device=A.device)
        zv = _creation.zeros(*A._shape[:-2], n, n, dtype=A._dtype, device=A.device)
        return T(zu, S, zv)
    U, S, Vh = svd(A, full_matrices=not some)
    return T(U, S, Vh.mH)


register("svd", _t_svd, method=True)


_CPLX = {D.float32: D.complex64, D.float64: D.complex128, D.complex64: D.complex64, D.complex128: D.complex128}


def _eig_raw(A, wantv):
    n = A._shape[-1]
    bshape = A._shape[:-2]
    cd = _CPLX[A._dtype]
    H = F._work(A.to(cd) if A._dtype is not cd else A)
    W = _creation.empty(*bshape, n, dtype=cd, device=A.device)
    V = _creation.empty(*bshape, n, n, dtype=cd, device=A.device) if wantv else None
    B = _nb(bshape)
    info = _creation.zeros(*bshape, dtype=D.int32, device=A.device)
    if B and n:
        rt = rt_of(A)
        Z = _creation.empty(B * n * n, dtype=cd, device=A.device)
        y = _creation.empty(B * n, dtype=cd, device=A.device)
        idx, it = idx_type(extent(H))
        kern = K.get(rt, "linalg", "geev", t=cd, idx=idx)
        K.launch(rt, kern, (K.round_up(B, 8),), (8,),
                 [H._st.buf, W._st.buf, (V if wantv else Z)._st.buf, Z._st.buf, y._st.buf, info._st.buf,
                  np.int32(n), np.int32(bool(wantv)), it(B)])
    return W, V, info


def _eig_check(info):
    F.raise_info(info, lambda v: "linalg.eig: The algorithm failed to converge because the input matrix is "
                 "ill-conditioned or has too many repeated eigenvalues (error code: 1).", False)


def _eig_backward(A, L, V, gL, gV):
    """PyTorch's linalg_eig_backward (non-Hermitian)."""
    n = L._shape[-1]
    eye = _creation.eye(n, dtype=V._dtype, device=V.device)
    if gV is None:
        gA = (V.mH.inverse() if False else None)
        ret = gL.unsqueeze(-1) * eye
    else:
        VhgV = V.mH @ gV
        dre = VhgV.real.diagonal(dim1=-2, dim2=-1).to(V._dtype)
        ret = VhgV - V.mH @ (V * dre.unsqueeze(-2))
        E = (L.unsqueeze(-2) - L.unsqueeze(-1)).conj() + eye
        ret = ret / E
        if gL is not None:
            ret = ret * (1 - eye) + gL.unsqueeze(-1) * eye
    gA = F.solve(V.mH, ret @ V.mH)
    return gA if A._dtype.is_complex else gA.real


@register("eig", namespace="linalg")
def eig(A, *, out=None):
    F.check_dtype(A, "linalg.eig")
    F.check_square(A, "linalg.eig")
    W, V, info = _eig_raw(A, True)
    _eig_check(info)        # a host read, as PyTorch's check of LAPACK's info
    if AG.needs_grad(A):
        AG.record("LinalgEigBackward0", (A,), (W, V), lambda gL, gV: (_eig_backward(A, W, V, gL, gV),),
                  saved=(W, V))
    return F._out3((W, V), out, "torch.return_types.linalg_eig")


@register("eigvals", namespace="linalg")
def eigvals(A, *, out=None):
    F.check_dtype(A, "linalg.eigvals")
    F.check_square(A, "linalg.eigvals")
    if AG.needs_grad(A):
        return F._outx(eig(A)[0], out)
    W, _, info = _eig_raw(A, False)
    _eig_check(info)
    return F._outx(W, out)
