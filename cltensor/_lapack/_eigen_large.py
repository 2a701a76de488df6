"""Real symmetric eigendecomposition of large matrices (eigh / eigvalsh above EIGH_MIN): Householder
tridiagonalisation on the device (templates/linalg.mako `sytrd_wg`: one work-group per matrix, for small n and
batches; `sytrd_col` + `sytrd_upd`: two launches per column over all work-groups, for one large matrix),
implicit QL on the tridiagonal matrix (`steqr`, the rotations applied to rows of Z by several work-groups), and
the back-transformation V = Q Z with the reflectors applied in blocks of NB as compact WY products on the GEMM:
Z <- Z - V_b (T_b (V_b^T Z)), T_b^-1 = striu(V_b^T V_b) + diag(V_b^T V_b) / 2 (a triangular solve, `trsm`).
The SVD of large real matrices (svd / svdvals above SVD_MIN, svd_large) reuses the tridiagonalisation as a
Golub-Kahan bidiagonalisation, with the bidiagonal QR `bdsqr` and the same back-transformation.
docs/linalg.md says why this scheme and what it costs. No autograd here (the caller records it)."""
import numpy as np

from .. import _creation
from .. import _dtypes as D
from .. import _kernels as K
from .. import _ops
from .._launch import rt_of, extent, idx_type
from .._linalg import _gemm_nd
from ..autograd import _tape as AG
from . import _core as C
from . import _qr

EIGH_MIN = 64         # real eigh/eigvalsh of n >= EIGH_MIN take this path (smaller: one-work-group Jacobi) ...
BATCH_MIN = (24, 8)   # ... and batches of at least BATCH_MIN[1] matrices of n >= BATCH_MIN[0] (docs/linalg.md)
NB = 64               # reflectors per compact-WY block of the back-transformation
WG_N = 384            # tridiagonalise in one work-group per matrix (one launch) when n <= WG_N or the batch
WG_B = 4              # has >= WG_B matrices per compute unit; else two launches per column over all work-groups
STEQR_BLOCKS = 64     # blocks of rows of Z per QL work-group (fewer, larger groups measured faster)
BDSQR_BLOCKS = 64     # blocks of rows of X and Y together per bdsqr work-group
MAXIT = 30            # QL iterations per eigenvalue (LAPACK steqr: 30 n in all)


def use(A):
    """Whether eigh/eigvalsh of A take this path: real, non-empty, and large or many (crossovers measured)."""
    if A._dtype not in (D.float32, D.float64):
        return False
    n, B = A._shape[-1], C._nbatch(A._shape[:-2])
    return B > 0 and (n >= EIGH_MIN or (n >= BATCH_MIN[0] and B >= BATCH_MIN[1]))


def _symmetric(A):
    """Contiguous (B, n, n) copy of A's lower triangle mirrored to the upper one."""
    n = A._shape[-1]
    with AG.no_grad():
        Lw = A.reshape(-1, n, n).tril()
        return (Lw + Lw.tril(-1).mT).contiguous()


def tridiagonalize(A, wg_n=None):
    """(Vt, d, e): d, e (B, n) the tridiagonal matrix Q^T A Q, Vt (B, n, n) the reflectors of Q = H_0 ... H_{n-3}
    as rows (row j: v_j, zero up to column j, v_j[j + 1] = 1; tau_j = 2 / |v_j|^2)."""
    n = A._shape[-1]
    Aw = _symmetric(A)
    B = Aw._shape[0]
    dt = Aw._dtype
    dev = A.device
    V = _creation.zeros(B, n, n, dtype=dt, device=dev)
    P = _creation.empty(B, n, dtype=dt, device=dev)
    Wv = _creation.empty(B, n, dtype=dt, device=dev)
    d = _creation.empty(B, n, dtype=dt, device=dev)
    e = _creation.zeros(B, n, dtype=dt, device=dev)
    tau = _creation.empty(B, n, dtype=dt, device=dev)
    rt = rt_of(Aw)
    idx, it = idx_type(extent(Aw))
    L = C._wg(rt)
    if n <= (WG_N if wg_n is None else wg_n) or B >= WG_B * rt.info.compute_units:
        kw = K.get(rt, "linalg", "sytrd_wg", t=dt, idx=idx)
        K.launch(rt, kw, (B * L,), (L,), [Aw._st.buf, V._st.buf, P._st.buf, Wv._st.buf, d._st.buf, e._st.buf,
                                          tau._st.buf, np.int32(n)])
        return V, d, e
    kc = K.get(rt, "linalg", "sytrd_col", t=dt, idx=idx)
    ku = K.get(rt, "linalg", "sytrd_upd", t=dt, idx=idx)
    LU = 16
    ca = [Aw._st.buf, V._st.buf, P._st.buf, Wv._st.buf, d._st.buf, e._st.buf, tau._st.buf, np.int32(n)]
    ua = [Aw._st.buf, V._st.buf, Wv._st.buf, P._st.buf, np.int32(n)]
    for i in range(n - 1):
        K.launch(rt, kc, (B * L,), (L,), ca + [np.int32(i)])
        if i < n - 2:
            K.launch(rt, ku, (K.round_up(n - 1 - i, LU), B), (LU, 1), ua + [np.int32(i)])
    return V, d, e


def steqr(d, e, wantz):
    """Eigenvalues (unsorted) and, with wantz, the eigenvectors Z (B, n, n) (column j: eigenvalue j)."""
    B, n = d._shape
    rt = rt_of(d)
    L = C._wg(rt)
    vw = 8 if d._dtype is D.float64 else 16
    ldz = K.round_up(n, vw)
    G = max(1, min(2 * rt.info.compute_units, ldz // vw // STEQR_BLOCKS)) if wantz else 1
    Zc = _creation.empty(B, ldz // vw, n, vw, dtype=d._dtype, device=d.device) if wantz else d
    work = _creation.empty(B * G * 4 * n, dtype=d._dtype, device=d.device)
    idx, it = idx_type(B * n * ldz)
    kt = K.get(rt, "linalg", "steqr", t=d._dtype, idx=idx)
    w = _creation.empty(B, n, dtype=d._dtype, device=d.device)
    K.launch(rt, kt, (G * L, B), (L, 1), [d._st.buf, e._st.buf, w._st.buf, Zc._st.buf, work._st.buf, np.int32(n),
                                          np.int32(ldz), np.int32(bool(wantz)), np.int32(MAXIT)])
    return w, (Zc.permute(0, 1, 3, 2).reshape(B, ldz, n)[:, :n] if wantz else None)


def apply_q(Vt, Z, k=None, off=1):
    """Z <- Q Z in place (Z (B, n, c)), Q = H_0 ... H_{k-1} (k = n - 2 by default) from the rows of Vt (B, n, n)
    (row j: v_j, zero before column j + off, v_j[j + off] = 1, tau_j = 2 / |v_j|^2), blocked compact WY on the
    GEMM."""
    B, n, nc = Vt._shape[0], Vt._shape[-1], Z._shape[-1]
    V = Vt
    k = n - 2 if k is None else k
    for j0 in reversed(range(0, k, NB)):
        j1 = min(j0 + NB, k)
        kb = j1 - j0
        Vbt = Vt[:, j0:j1, j0 + off:]
        Vb = Vbt.mT
        Zr = Z[:, j0 + off:, :]
        G = _creation.empty(B, kb, kb, dtype=V._dtype, device=V.device)
        _gemm_nd(Vbt, Vb, G)
        U = (G.triu(1) + (0.5 * G.diagonal(dim1=-2, dim2=-1)).diag_embed()).contiguous()
        Y = _creation.empty(B, kb, nc, dtype=V._dtype, device=V.device)
        _gemm_nd(Vbt, Zr, Y)
        C.trsm_(U, kb * kb, Y, kb * nc, True, False)
        _gemm_nd(Vb, Y, Zr, alpha=-1, beta=1)
    return Z


def eigh_large(A, wantv):
    """(W (..., n) ascending, V (..., n, n) or None) of the real symmetric A (lower triangle read)."""
    n = A._shape[-1]
    bshape = A._shape[:-2]
    with AG.no_grad():
        V, d, e = tridiagonalize(A)
        w, Zc = steqr(d, e, wantv)
        W, perm = w.sort(dim=-1)
        if not wantv:
            return W.reshape(*bshape, n), None
        Z = Zc.take_along_dim(perm.unsqueeze(-2).expand(-1, n, n), dim=-1)
        apply_q(V, Z)
        return W.reshape(*bshape, n), Z.reshape(*bshape, n, n)


# ---------------------------------------------------------------- large real SVD

SVD_MIN = 64          # real svd/svdvals with min(m, n) >= SVD_MIN take svd_large (smaller: one-work-group Jacobi) ...
SVD_WG_N = 768        # J (2n x 2n, half zeros) tridiagonalised in one work-group up to this size (measured)
SVD_BATCH_MIN = (32, 8)   # ... and batches of >= SVD_BATCH_MIN[1] matrices with min(m, n) >= SVD_BATCH_MIN[0]


def use_svd(A):
    """Whether svd/svdvals of A take svd_large: real, non-empty, large or many (crossovers measured)."""
    if A._dtype not in (D.float32, D.float64):
        return False
    k, B = min(A._shape[-2], A._shape[-1]), C._nbatch(A._shape[:-2])
    return B > 0 and (k >= SVD_MIN or (k >= SVD_BATCH_MIN[0] and B >= SVD_BATCH_MIN[1]))


def bdsqr(e, n, wantz):
    """Singular values (B, n) (unsorted, >= 0) and, with wantz, X, Y (B, n, n) with B = X diag(S) Y^T of the upper
    bidiagonal matrices B with diagonal e[:, 0::2] and superdiagonal e[:, 1::2] (e (B, 2n): the off-diagonal of
    their Golub-Kahan tridiagonal form)."""
    Bn = e._shape[0]
    rt = rt_of(e)
    L = C._wg(rt)
    vw = 8 if e._dtype is D.float64 else 16
    ldz = K.round_up(n, vw)
    G = max(1, min(2 * rt.info.compute_units, 2 * (ldz // vw) // BDSQR_BLOCKS)) if wantz else 1
    Xc = _creation.empty(Bn, ldz // vw, n, vw, dtype=e._dtype, device=e.device) if wantz else e
    Yc = _creation.empty(Bn, ldz // vw, n, vw, dtype=e._dtype, device=e.device) if wantz else e
    work = _creation.empty(Bn * G * 6 * n, dtype=e._dtype, device=e.device)
    idx, it = idx_type(Bn * n * ldz, extent(e))
    kb = K.get(rt, "linalg", "bdsqr", t=e._dtype, idx=idx)
    S = _creation.empty(Bn, n, dtype=e._dtype, device=e.device)
    K.launch(rt, kb, (G * L, Bn), (L, 1), [e._st.buf, np.int32(e._strides[0]), S._st.buf, Xc._st.buf, Yc._st.buf,
                                           work._st.buf, np.int32(n), np.int32(ldz), np.int32(bool(wantz)),
                                           np.int32(MAXIT)])
    if not wantz:
        return S, None, None
    un = (lambda Zc: Zc.permute(0, 1, 3, 2).reshape(Bn, ldz, n)[:, :n])
    return S, un(Xc), un(Yc)


def svd_large(A, wantv):
    """(U (..., m, n), S (..., n) descending, V (..., n, n) or None) of real A with m >= n, n >= 1.

    A is scaled to max |a_ij| = 1 (S scaled back), A = Q R (blocked Householder QR when m > n), then Golub-Kahan
    bidiagonalisation of R as the tridiagonalisation of its Jordan-Wielandt matrix J = [[0, R^T], [R, 0]] in
    perfect-shuffle order (rows and columns v_0, u_0, v_1, u_1, ...): there every reflector lies in the v or in the
    u coordinates and the zero blocks stay exactly zero, so T has a zero diagonal and its off-diagonal is the
    bidiagonal B of R = X_q B Y_q^T (diagonal e[0::2], superdiagonal e[1::2]), Q's columns alternating between
    Y_q and X_q. B = X_b diag(S) Y_b^T by implicit-shift bidiagonal QR (`bdsqr`); V = Y_q Y_b and U_R = X_q X_b
    by blocked compact-WY back-transformations with the v and the u reflectors; U = Q U_R. Backward
    stable as LAPACK's gesvd: singular values with absolute error O(eps ||A||), orthonormal U and V."""
    m, n = A._shape[-2], A._shape[-1]
    bshape = A._shape[:-2]
    B = C._nbatch(bshape)
    dt, dev = A._dtype, A.device
    with AG.no_grad():
        A3 = A.reshape(B, m, n)
        amax = A3.abs().amax(dim=(-2, -1))          # no under/overflow in the reflectors
        amax = amax + (amax == 0).to(dt)
        A3 = A3 / amax.reshape(B, 1, 1)
        if m > n:
            W, tau = _qr._geqrf_raw(A3)
            R = W[:, :n, :].triu()
        else:
            R = A3
        J = _creation.zeros(B, n, 2, n, 2, dtype=dt, device=dev)
        _ops.copy_into(J[:, :, 1, :, 0], R)          # J[u_i, v_j] = R[i, j]
        _ops.copy_into(J[:, :, 0, :, 1], R.mT)       # J[v_i, u_j] = R[j, i]
        Vt, d, e = tridiagonalize(J.reshape(B, 2 * n, 2 * n), wg_n=SVD_WG_N)
        s, Xb, Yb = bdsqr(e, n, wantv)
        S, perm = s.sort(dim=-1, descending=True)
        S = S * amax.unsqueeze(-1)
        if not wantv:
            return None, S.reshape(*bshape, n), None
        pe = perm.unsqueeze(-2).expand(-1, n, n)
        V = Yb.take_along_dim(pe, dim=-1)
        U = Xb.take_along_dim(pe, dim=-1)
        # reflector 2k + 1 lies in the v coordinates (its 1 at v_(k+1)), reflector 2k in the u ones (1 at u_k):
        # Y_q and X_q are each a product of n - 1 reflectors of length n
        V4 = Vt.reshape(B, n, 2, n, 2)
        apply_q(V4[:, :, 1, :, 0].contiguous(), V, k=n - 1, off=1)
        apply_q(V4[:, :, 0, :, 1].contiguous(), U, k=n - 1, off=0)
        if m > n:
            Q = _qr._orgqr_raw(W, tau, n)
            U = Q @ U
        return U.reshape(*bshape, m, n), S.reshape(*bshape, n), V.reshape(*bshape, n, n)
