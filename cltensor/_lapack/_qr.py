"""Householder QR on the device (templates/linalg.mako `geqrf`, `orgqr`: one work-group per matrix): qr (reduced,
complete, r), householder_product (torch.orgqr), geqrf, with PyTorch's QR backward."""
import numpy as np

from .. import _creation
from .. import _kernels as K
from .._launch import rt_of, extent, idx_type
from .._registry import register
from ..autograd import _tape as AG
from . import _core as C
from . import _factor as F


def _nb(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _geqrf_raw(A):
    m, n = A._shape[-2], A._shape[-1]
    bshape = A._shape[:-2]
    W = F._work(A)
    k = min(m, n)
    tau = _creation.zeros(*bshape, k, dtype=A._dtype, device=A.device)
    B = _nb(bshape)
    if B and k:
        rt = rt_of(A)
        idx, it = idx_type(extent(W))
        kern = K.get(rt, "linalg", "geqrf", t=A._dtype, idx=idx)
        L = C._wg(rt)
        K.launch(rt, kern, (B * L,), (L,), [W._st.buf, tau._st.buf, np.int32(m), np.int32(n)])
    return W, tau


def _orgqr_raw(V, tau, nq):
    """Q (..., m, nq) from the reflectors of V (..., m, *) and tau (..., k)."""
    m = V._shape[-2]
    k = tau._shape[-1]
    bshape = F._bshape(V._shape[:-2], tau._shape[:-1])
    Q = _creation.empty(*bshape, m, nq, dtype=V._dtype, device=V.device)
    B = _nb(bshape)
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
