"""Launchers of templates/linalg.mako and the blocked drivers on top of them (no autograd here).

Small matrices: one work-group per matrix (LU with partial pivoting, Cholesky) or one work-item per right-hand
side (triangular solves), working in place on a fresh copy. Matrices larger than NB: blocked right-looking
algorithms whose panels run on the small kernels and whose trailing updates run on the GEMM (cltensor/_linalg.py
`_gemm_nd`, views of the working matrix, no copies).
"""
import numpy as np
import pyopencl as cl

from .. import _creation
from .. import _ops
from .. import _kernels as K
from .._launch import rt_of, extent, idx_type
from .._linalg import _gemm_nd
from .._dtypes import int32, float32, float64

NB = 64            # block size of the blocked drivers (and the largest matrix the unblocked kernels take alone)


def _wg(rt):
    """Work-group size of the one-matrix-per-work-group kernels (fixed per device: no recompiles)."""
    return 16 if rt.info.tuning.local_size_1d <= 64 else 64


def _use_local(rt, nelem, itemsize):
    """Whether the one-work-group kernels keep the matrix in local memory: when it fits in half the device's
    local memory, on devices whose local memory is on chip (GPUs; on CPU devices it is ordinary memory and the
    copy in and out only costs)."""
    return (not rt.info.is_cpu or _LOCAL_ON_CPU) and nelem * itemsize <= rt.info.local_mem_size // 2


_LOCAL_ON_CPU = False

TRSM_GEMM_MIN = 128  # the blocked LU solves its U12 blocks with GEMM by L11^-1 from this many columns on
ITEM_MAX = 64      # largest n of the one-work-item-per-matrix kernels (chol_item, inv_item)
_ITEM_ON_GPU = False
_ITEM_L = 16       # work-items per work-group of those kernels
CHOL_VEC_MAX = 32  # cholesky_item of n <= CHOL_VEC_MAX in batches of >= CHOL_VEC_B: `chol_vec`, 16 (float) / 8
CHOL_VEC_B = 16    # (double) matrices per work-item as vectors across the matrices (docs/linalg.md)
CHOL_VEC_L = 1     # work-items per work-group of chol_vec


def item_path(rt, dtype, n):
    """Whether real n x n matrices run one matrix per work-item (no barriers): on CPU devices, where a work-group
    per matrix pays one barrier per column; complex matrices keep the work-group kernels."""
    return (dtype is float32 or dtype is float64) and n <= ITEM_MAX and (rt.info.is_cpu or _ITEM_ON_GPU)


def _item_launch(rt, name, a, args, B):
    idx, it = idx_type(extent(a))
    kern = K.get(rt, "linalg", name, t=a._dtype, idx=idx)
    K.launch(rt, kern, (K.round_up(B, _ITEM_L),), (_ITEM_L,), args(it) + [it(B)])


def cholesky_item(A):
    """(L, info) of real (..., n, n) A read through its strides (n <= ITEM_MAX, item_path): L fresh, contiguous,
    zero above the diagonal."""
    n = A._shape[-1]
    bshape = A._shape[:-2]
    B = _nbatch(bshape)
    vec = 0 < n <= CHOL_VEC_MAX and B >= CHOL_VEC_B
    # chol_vec writes every info entry: no fill launch before it
    info = (_creation.empty if vec else _creation.zeros)(*bshape, dtype=int32, device=A.device)
    L = _creation.empty(*A._shape, dtype=A._dtype, device=A.device)
    if B == 0 or n == 0:
        return L, info
    T, tbs = batch_view(A, bshape)
    rt = rt_of(A)
    idx, it = idx_type(extent(T), extent(L))
    args = [T._st.buf, it(T._offset), it(tbs), it(T._strides[-2]), it(T._strides[-1]), L._st.buf, it(L._offset),
            np.int32(n), info._st.buf, it(B)]
    if vec:
        w = 8 if A._dtype is float64 else 16
        kern = K.get(rt, "linalg", "chol_vec", t=A._dtype, idx=idx, nmax=CHOL_VEC_MAX)
        K.launch(rt, kern, (K.round_up(-(-B // w), CHOL_VEC_L),), (CHOL_VEC_L,), args)
        return L, info
    kern = K.get(rt, "linalg", "chol_item", t=A._dtype, idx=idx)
    K.launch(rt, kern, (K.round_up(B, _ITEM_L),), (_ITEM_L,), args)
    return L, info


def inv_(a):
    """X = a^-1 of a fresh contiguous real (..., n, n) a (destroyed; n <= ITEM_MAX, item_path): (X, info (...))."""
    n = a._shape[-1]
    bshape = a._shape[:-2]
    info = _creation.zeros(*bshape, dtype=int32, device=a.device)
    x = _creation.empty(*a._shape, dtype=a._dtype, device=a.device)
    B = _nbatch(bshape)
    if B == 0 or n == 0:
        return x, info
    _item_launch(rt_of(a), "inv_item", a, lambda it: [a._st.buf, x._st.buf, np.int32(n), info._st.buf], B)
    return x, info


def _geom(cols, B):
    """(global, local) of the column x batch kernels: 16 columns per work-group when there are many right-hand
    sides, else 16 matrices per work-group (one column each)."""
    if cols >= 16:
        return (K.round_up(cols, 16), B), (16, 1)
    return (cols, K.round_up(B, 16)), (1, 16)


def batch_stride(shape, strides):
    """One stride that walks all batch dims in order (size-1 dims ignored), or None when there is none."""
    dims = [(n, s) for n, s in zip(shape, strides) if n != 1]
    for (n0, s0), (n1, s1) in zip(dims, dims[1:]):
        if s0 != s1 * n1:
            return None
    return dims[-1][1] if dims else 0


def batch_view(t, bshape):
    """t (..., r, c) broadcast to batch shape bshape as (tensor, batch stride); copies only when t's batch dims
    cannot be walked with one stride."""
    nb = len(bshape)
    tb = t._shape[:-2]
    strides = [0] * (nb - len(tb)) + [0 if n == 1 and bn != 1 else s
                                      for n, s, bn in zip(tb, t._strides[:-2], bshape[nb - len(tb):])]
    bs = batch_stride(bshape, strides)
    if bs is None:
        t = t.expand(*bshape, *t._shape[-2:]).contiguous()
        bs = t._shape[-1] * t._shape[-2]
    return t, bs


def _nbatch(bshape):
    n = 1
    for s in bshape:
        n *= s
    return n


def lu_(a):
    """LU with partial pivoting of a (fresh contiguous (..., m, n)) in place: (pivots int32 (..., k), info (...))."""
    m, n = a._shape[-2], a._shape[-1]
    bshape = a._shape[:-2]
    k = min(m, n)
    piv = _creation.zeros(*bshape, k, dtype=int32, device=a.device)
    info = _creation.zeros(*bshape, dtype=int32, device=a.device)
    B = _nbatch(bshape)
    if B == 0 or k == 0:
        return piv, info
    rt = rt_of(a)
    idx, it = idx_type(extent(a), extent(piv))
    L = _wg(rt)
    rs, cs, bs = n, 1, m * n
    isz = a._dtype.itemsize

    def panel(r0, c0, M, N):
        lm = _use_local(rt, M * N, isz)
        klu = K.get(rt, "linalg", "lu", t=a._dtype, idx=idx, lm=lm)
        K.launch(rt, klu, (B * L,), (L,),
                 [a._st.buf, it(a._offset + r0 * rs + c0 * cs), it(bs), it(rs), it(cs), np.int32(M), np.int32(N),
                  piv._st.buf, it(piv._offset + c0), it(k), np.int32(r0), info._st.buf] +
                 ([cl.LocalMemory(M * N * isz)] if lm else []))
    if k <= NB:
        if max(m, n) <= ITEM_MAX and item_path(rt, a._dtype, 0):
            _item_launch(rt, "lu_item", a, lambda it: [a._st.buf, it(a._offset), np.int32(m), np.int32(n),
                                                       piv._st.buf, info._st.buf], B)
        else:
            panel(0, 0, m, n)
        return piv, info
    a3 = a.reshape(B, m, n)
    ksw = K.get(rt, "linalg", "laswp", t=a._dtype, idx=idx)

    def swap(j0, j1, c0, c1):
        """interchanges of rows j0 <= j < j1 on the columns [c0, c1) outside [j0, j1)"""
        off = a._offset + c0 * cs
        if not _laswp_rows(rt, a, off, bs, rs, m, c1 - c0, piv, 0, k, j0, j1, j0 - c0, j1 - c0, False, B):
            K.launch(rt, ksw, *_geom(c1 - c0, B),
                     [a._st.buf, it(off), it(bs), it(rs), it(cs), np.int32(m), np.int32(c1 - c0), piv._st.buf, it(0),
                      it(k), np.int32(j0), np.int32(j1), np.int32(j0 - c0), np.int32(j1 - c0), np.int32(0), it(B)])

    def factor(c0, c1, nb):
        """rows [c0, m) x columns [c0, c1) (row interchanges applied inside these columns only) in panels of
        nb <= NB columns on the `lu` kernel. (A two-level form, panels of 128-512 factored this way and trailing
        GEMMs of that depth, measured no faster at 2048 x 2048 and loses accuracy through the inverse of L11.)"""
        for j in range(c0, min(c1, k), nb):
            kb = min(nb, min(c1, k) - j)
            panel(j, j, m - j, kb)
            swap(j, j + kb, c0, c1)
            if j + kb < c1:
                L11, U12 = a3[:, j:j + kb, j:j + kb], a3[:, j:j + kb, j + kb:c1]
                if c1 - j - kb >= TRSM_GEMM_MIN:
                    # U12 = L11^-1 A12 as a GEMM with the inverse of the unit lower L11 (its entries are bounded by
                    # 1 through the partial pivoting): the column-wise trsm is far slower on wide panels
                    Li = _creation.eye(kb, dtype=a._dtype, device=a.device).expand(B, kb, kb).contiguous()
                    trsm_(L11, 0 if B == 1 else bs, Li, kb * kb, upper=False, unit=True)
                    tmp = _creation.empty(B, kb, c1 - j - kb, dtype=a._dtype, device=a.device)
                    _gemm_nd(Li, U12, tmp)
                    _ops.copy_into(U12, tmp)
                else:
                    trsm_(L11, 0 if B == 1 else bs, U12, bs, upper=False, unit=True)
                if j + kb < m:
                    _gemm_nd(a3[:, j + kb:, j:j + kb], U12, a3[:, j + kb:, j + kb:c1], alpha=-1, beta=1)
    factor(0, n, NB)
    return piv, info


def cholesky_(a):
    """Cholesky (lower) of a (fresh contiguous (..., n, n)) in place; the strict upper triangle is left as junk
    (the caller takes tril). Returns info (...)."""
    n = a._shape[-1]
    bshape = a._shape[:-2]
    info = _creation.zeros(*bshape, dtype=int32, device=a.device)
    B = _nbatch(bshape)
    if B == 0 or n == 0:
        return info
    rt = rt_of(a)
    idx, it = idx_type(extent(a))
    L = _wg(rt)
    bs = n * n
    isz = a._dtype.itemsize
    if n <= NB and item_path(rt, a._dtype, n):
        _item_launch(rt, "chol_item", a, lambda it: [a._st.buf, it(a._offset), it(bs), it(n), it(1), a._st.buf,
                                                     it(a._offset), np.int32(n), info._st.buf], B)
        return info

    def diag(j, kb):
        lm = _use_local(rt, kb * kb, isz)
        kch = K.get(rt, "linalg", "chol", t=a._dtype, idx=idx, lm=lm)
        K.launch(rt, kch, (B * L,), (L,), [a._st.buf, it(a._offset + j * n + j), it(bs), it(n), it(1),
                                           np.int32(kb), np.int32(j), info._st.buf] +
                 ([cl.LocalMemory(kb * kb * isz)] if lm else []))
    if n <= NB:
        diag(0, n)
        return info
    a3 = a.reshape(B, n, n)
    for j in range(0, n, NB):
        kb = min(NB, n - j)
        diag(j, kb)
        if j + kb < n:
            l21 = a3[:, j + kb:, j:j + kb]
            # X L11^H = A21  <=>  conj(L11) X^T = A21^T: the transposed view of A21 as right-hand sides
            trsm_(a3[:, j:j + kb, j:j + kb], bs, l21.transpose(-1, -2), bs, upper=False, unit=False,
                  conj=a._dtype.is_complex)
            _gemm_nd(l21, l21.mH, a3[:, j + kb:, j + kb:], alpha=-1, beta=1)
    return info


def trsm_(T, tbs, X, xbs, upper, unit, conj=False):
    """X <- op(T)^-1 X in place (left side). T: (B or 1, n, n) view with batch stride tbs (0: shared); X:
    (B, n, k) view with batch stride xbs. op(T) = T, or conj(T) with conj. Blocked (GEMM updates) above NB."""
    n, kr = X._shape[-2], X._shape[-1]
    B = X._shape[0]
    if B == 0 or n == 0 or kr == 0:
        return X
    rt = rt_of(X)
    if n > NB:
        if conj:
            T, conj = T.conj(), False
            tbs = 0 if tbs == 0 else n * n
        Tb = T if tbs or T._shape[0] == B else T.expand(B, n, n)
        steps = range(0, n, NB) if not upper else range((n - 1) // NB * NB, -1, -NB)
        for j in steps:
            kb = min(NB, n - j)
            trsm_(Tb[:, j:j + kb, j:j + kb], tbs, X[:, j:j + kb], xbs, upper, unit)
            if not upper and j + kb < n:
                _gemm_nd(Tb[:, j + kb:, j:j + kb], X[:, j:j + kb], X[:, j + kb:], alpha=-1, beta=1)
            elif upper and j > 0:
                _gemm_nd(Tb[:, :j, j:j + kb], X[:, j:j + kb], X[:, :j], alpha=-1, beta=1)
        return X
    idx, it = idx_type(extent(T), extent(X))
    kt = K.get(rt, "linalg", "trsm", t=X._dtype, idx=idx)
    K.launch(rt, kt, *_geom(kr, B),
             [T._st.buf, it(T._offset), it(tbs), it(T._strides[-2]), it(T._strides[-1]),
              X._st.buf, it(X._offset), it(xbs), it(X._strides[-2]), it(X._strides[-1]),
              np.int32(n), np.int32(kr), np.int32(bool(upper)), np.int32(bool(unit)), np.int32(bool(conj)), it(B)])
    return X


def _laswp_rows(rt, X, off, xbs, rs, m, c, piv, poff, pbs, j0, j1, skip0, skip1, rev, B):
    """The laswp_rows kernel when it applies (CPU device, rows of X contiguous, 4-byte-multiple elements): row
    interchanges j0 <= j < j1 on every column outside [skip0, skip1) of B (m x c) matrices. False when not."""
    isz = X._dtype.itemsize
    if not (rt.info.is_cpu or _ROWS_ON_GPU) or isz % 4 or (X._strides[-1] != 1 and c > 1):
        return False
    w = isz // 4
    W = c * w
    idx, it = idx_type(extent(X) * w, extent(piv))
    k = K.get(rt, "linalg", "laswp_rows", idx=idx)
    K.launch(rt, k, (K.round_up(-(-W // 64), 4), B), (4, 1),
             [X._st.buf, it(off * w), it(xbs * w), it(rs * w), np.int32(m), np.int32(W), piv._st.buf, it(poff),
              it(pbs), np.int32(j0), np.int32(j1), np.int32(skip0 * w), np.int32(skip1 * w), np.int32(bool(rev)),
              it(B)])
    return True


_ROWS_ON_GPU = False


def laswp_(X, xbs, piv, pbs, rev=False):
    """Row interchanges of the pivots piv ((B or 1) x k view, batch stride pbs) applied to X ((B, m, c) view,
    batch stride xbs) in place; rev: in reverse order (applies P^T's inverse, i.e. P)."""
    B, m, c = X._shape
    kk = piv._shape[-1]
    if B == 0 or m == 0 or c == 0 or kk == 0:
        return X
    rt = rt_of(X)
    if _laswp_rows(rt, X, X._offset, xbs, X._strides[-2], m, c, piv, piv._offset, pbs, 0, min(kk, m), 0, 0, rev, B):
        return X
    idx, it = idx_type(extent(X), extent(piv))
    ksw = K.get(rt, "linalg", "laswp", t=X._dtype, idx=idx)
    K.launch(rt, ksw, *_geom(c, B),
             [X._st.buf, it(X._offset), it(xbs), it(X._strides[-2]), it(X._strides[-1]), np.int32(m), np.int32(c),
              piv._st.buf, it(piv._offset), it(pbs), np.int32(0), np.int32(min(kk, m)), np.int32(0), np.int32(0),
              np.int32(bool(rev)), it(B)])
    return X


def perm_matrix(piv, m, dtype):
    """P (..., m, m) of dtype with A = P L U for LAPACK pivots piv (..., k) (contiguous int32)."""
    bshape = piv._shape[:-1]
    P = _creation.zeros(*bshape, m, m, dtype=dtype, device=piv.device)
    B = _nbatch(bshape)
    if B == 0 or m == 0:
        return P
    rt = rt_of(P)
    scratch = _creation.empty(B * m, dtype=int32, device=piv.device)
    idx, it = idx_type(extent(P), extent(piv))
    kp = K.get(rt, "linalg", "perm", t=dtype, idx=idx)
    K.launch(rt, kp, (K.round_up(B, 16),), (16,),
             [P._st.buf, it(m * m), piv._st.buf, it(piv._shape[-1]), scratch._st.buf, np.int32(m),
              np.int32(piv._shape[-1]), it(B)])
    return P
