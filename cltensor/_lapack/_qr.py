"""Householder QR on the device (templates/linalg.mako `geqrf`, `orgqr`: one work-group per matrix): qr (reduced,
complete, r), householder_product (torch.orgqr), geqrf, with PyTorch's QR backward."""
import numpy as np

from .. import _creation
from .. import _dtypes as D
from .. import _ops
from .. import _kernels as K
from .._launch import rt_of, extent, idx_type
from .._linalg import _gemm_nd
from .._registry import register
from ..autograd import _tape as AG
from . import _core as C
from . import _factor as F


def _nb(shape):
    n = 1
    for s in shape:
        n *= s
    return n


QR_NB = 32          # reflectors per block of the blocked QR and Q formation
QR_MIN = (96, 48, 4)  # real matrices take the blocked path from min(m, n) >= 96, or >= 48 in batches of >= 4
                      # (measured crossovers; complex matrices keep the one-work-group kernels)


def _blocked(dtype, k, B):
    return dtype in (D.float32, D.float64) and (k >= QR_MIN[0] or (k >= QR_MIN[1] and B >= QR_MIN[2]))


def _geqr2(W, tau, B, m, n):
    """The one-work-group-per-matrix kernel on contiguous (B, m, n) W, tau (B, min(m, n))."""
    rt = rt_of(W)
    idx, it = idx_type(extent(W))
    kern = K.get(rt, "linalg", "geqrf", t=W._dtype, idx=idx)
    L = C._wg(rt)
    K.launch(rt, kern, (B * L,), (L,), [W._st.buf, tau._st.buf, np.int32(m), np.int32(n)])


def _larft(V, tau):
    """T (B, kb, kb) upper triangular with H_0 ... H_{kb-1} = I - V T V^H (V (B, r, kb) unit lower, tau (B, kb))."""
    B, kb = tau._shape
    G = (V.mH @ V).contiguous()
    T = _creation.zeros(B, kb, kb, dtype=V._dtype, device=V.device)
    rt = rt_of(V)
    tau = tau.contiguous()
    idx, it = idx_type(extent(G), extent(tau))
    kern = K.get(rt, "linalg", "larft", t=V._dtype, idx=idx)
    K.launch(rt, kern, (K.round_up(B, 4),), (4,), [G._st.buf, tau._st.buf, it(tau._offset), T._st.buf,
                                                   np.int32(kb), it(B)])
    return T


def _panel_v(P, r, kb):
    """Explicit unit lower V (B, r, kb) of the reflectors stored below the diagonal of P."""
    return P.tril(-1) + _creation.eye(r, kb, dtype=P._dtype, device=P.device)


def _geqrf_blocked(W3, tau3, m, n):
    """Blocked Householder QR (LAPACK geqrf) in place: panels of QR_NB columns on the one-work-group kernel (a
    contiguous copy of the panel), the trailing columns updated with the compact WY form,
    A2 <- (I - V T V^H)^H A2 = A2 - V (T^H (V^H A2)), on the GEMM."""
    B = W3._shape[0]
    k = min(m, n)
    for j in range(0, k, QR_NB):
        kb = min(QR_NB, k - j)
        P = W3[:, j:, j:j + kb].contiguous()
        tp = _creation.zeros(B, kb, dtype=W3._dtype, device=W3.device)
        _geqr2(P, tp, B, m - j, kb)
        _ops.copy_into(W3[:, j:, j:j + kb], P)
        _ops.copy_into(tau3[:, j:j + kb], tp)
        if j + kb < n:
            V = _panel_v(P, m - j, kb)
            T = _larft(V, tp)
            Cm = W3[:, j:, j + kb:]
            Y = T.mH @ (V.mH @ Cm)
            _gemm_nd(V, Y, Cm, alpha=-1, beta=1)


def _geqrf_raw(A):
    m, n = A._shape[-2], A._shape[-1]
    bshape = A._shape[:-2]
    W = F._work(A)
    k = min(m, n)
    tau = _creation.zeros(*bshape, k, dtype=A._dtype, device=A.device)
    B = _nb(bshape)
    if B and k:
        if _blocked(A._dtype, k, B):
            with AG.no_grad():
                _geqrf_blocked(W.reshape(B, m, n), tau.reshape(B, k), m, n)
        else:
            _geqr2(W, tau, B, m, n)
    return W, tau


def _orgqr_blocked(V, tau, nq, bshape):
    """Q (bshape, m, nq) = H_0 ... H_{k-1} I[:, :nq], blocks of QR_NB reflectors from the last:
    Q[j:, j:] <- (I - V T V^H) Q[j:, j:] on the GEMM."""
    m = V._shape[-2]
    k = tau._shape[-1]
    B = _nb(bshape)
    V3 = V.expand(*bshape, *V._shape[-2:]).reshape(B, m, V._shape[-1])
    t3 = tau.expand(*bshape, k).reshape(B, k)
    Q = _creation.eye(m, nq, dtype=V._dtype, device=V.device).expand(B, m, nq).contiguous()
    for j in range((k - 1) // QR_NB * QR_NB, -1, -QR_NB):
        kb = min(QR_NB, k - j)
        Vb = _panel_v(V3[:, j:, j:j + kb], m - j, kb)
        T = _larft(Vb, t3[:, j:j + kb])
        Qs = Q[:, j:, j:]
        _gemm_nd(Vb, T @ (Vb.mH @ Qs), Qs, alpha=-1, beta=1)
    return Q.reshape(*bshape, m, nq)


def _orgqr_raw(V, tau, nq):
    """Q (..., m, nq) from the reflectors of V (..., m, *) and tau (..., k)."""
    m = V._shape[-2]
    k = tau._shape[-1]
    bshape = F._bshape(V._shape[:-2], tau._shape[:-1])
    B = _nb(bshape)
    if B and m and nq and k and _blocked(V._dtype, min(k, nq), B):
        with AG.no_grad():
            return _orgqr_blocked(V, tau, nq, bshape)
    Q = _creation.empty(*bshape, m, nq, dtype=V._dtype, device=V.device)
    if B and m and nq:
        rt = rt_of(V)
        Vb, vbs = C.batch_view(V, bshape)
        tb, tbs = C.batch_view(tau.unsqueeze(-1), bshape)
        if _nb(Vb._shape[:-2]) == 1:
            vbs = 0
        if _nb(tb._shape[:-2]) == 1:
            tbs = 0
        idx, it = idx_type(extent(Vb), extent(Q), extent(tb))
        kern = K.get(rt, "linalg", "orgqr", t=V._dtype, idx=idx)
        L = C._wg(rt)
        K.launch(rt, kern, (B * L,), (L,),
                 [Vb._st.buf, it(Vb._offset), it(vbs), it(Vb._strides[-2]), it(Vb._strides[-1]), tb._st.buf,
                  it(tb._offset), it(tbs), Q._st.buf, np.int32(m), np.int32(nq), np.int32(k)])
    elif B and m and not nq:
        pass
    return Q


@register("householder_product", namespace="linalg")
def householder_product(A, tau, *, out=None):
    F.check_dtype(A, "linalg.householder_product")
    if A.dim() < 2:
        raise RuntimeError("torch.linalg.householder_product: input must have at least 2 dimensions.")
    m, n = A._shape[-2], A._shape[-1]
    if m < n:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-2] must be greater than or equal to "
                           "input.shape[-1]")
    if tau._shape[-1] > n:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-1] must be greater than or equal to "
                           "tau.shape[-1]")
    with AG.no_grad():
        Q = _orgqr_raw(A, tau, n)
    return F._outx(Q, out)


register("orgqr", householder_product, method=True)


def _geqrf(A):
    import collections
    W, tau = _geqrf_raw(A)
    return collections.namedtuple("geqrf", ("a", "tau"))(W, tau)


register("geqrf", _geqrf, method=True)


def _qr_backward(Q, R, gQ, gR, m, n):
    """PyTorch's linalg_qr_backward (m >= n, or square): gA = (gQ + Q syminvadj(triu(gR R^H - Q^H gQ))) R^-H."""
    if m < n:
        raise NotImplementedError("qr backward for wide matrices (m < n)")
    gA = gR @ R.mH if gR is not None else None
    if gQ is not None:
        t = Q.mH @ gQ
        gA = -t if gA is None else gA - t
    X = gA.triu()
    X = X + X.mH
    eye = _creation.eye(X._shape[-1], dtype=X._dtype, device=X.device)
    X = X - 0.5 * X * eye           # halve the (real) diagonal
    gA = Q @ X
    if gQ is not None:
        gA = gA + gQ
    return F.solve_triangular(R.mH, gA, upper=False, left=False)


@register("qr", namespace="linalg")
def qr(A, mode="reduced", *, out=None):
    F.check_dtype(A, "linalg.qr")
    F.check_matrix(A, "linalg.qr")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    m, n = A._shape[-2], A._shape[-1]
    k = min(m, n)
    W, tau = _geqrf_raw(A)
    with AG.no_grad():
        if mode == "r":
            Q = _creation.empty(0, dtype=A._dtype, device=A.device)
        else:
            Q = _orgqr_raw(W, tau, m if mode == "complete" else k)
        R = (W if mode == "complete" or m <= n else W[..., :k, :]).triu()
    if AG.needs_grad(A):
        if mode == "r":
            def bw(gQ, gR):
                raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                                   "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                                   "through linalg.qr.")
        else:
            if mode == "complete" and m > n:
                def bw(gQ, gR):
                    raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                                       "nrows > ncols.")
            else:
                def bw(gQ, gR):
                    return (_qr_backward(Q, R, gQ, gR, m, n),)
        AG.record("LinalgQrBackward0", (A,), (Q, R), bw, saved=(Q, R))
    return F._out3((Q, R), out, "torch.return_types.linalg_qr")


def _t_qr(A, some=True, *, out=None):
    return qr(A, "reduced" if some else "complete")


register("qr", _t_qr, method=True)
