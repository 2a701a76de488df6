"""Sorting and order statistics along one dim: sort, argsort, msort, topk, kthvalue, median, unique.

Kernels in templates/sort.mako: a stable merge sort per row on the device (insertion-sorted blocks, then
merge-path passes); topk with k <= 64 keeps per-work-item candidate lists instead; unique sorts on the device and
compacts the sorted run on the host. The values these ops pick get their gradient scattered back to the picked
positions (cltensor/_index/ops.py scatter_add_valid).
"""
import math

import numpy as np

from . import _dtypes as D
from . import _kernels as K
from . import _ops as O
from . import _views as V
from ._creation import full, tensor as _tensor
from ._index import ops as IX
from ._launch import rt_of, extent, idx_type
from ._registry import register
from ._tensor import empty_tensor, contiguous_strides, _wrap_dim
from .autograd import _tape as AG
from ._reductions import (_RT, _batch_layout, _check_nonempty, _compute_dtype, _evenly_backward, _finish_out,
                          _index_backward, _no_complex, _out_shape, _params, _reshape_fresh, _row_dim, sum_)


# sort / argsort / topk / kthvalue / median run the device merge sort; unique sorts on the device and
# compacts the sorted run on the host (numpy: boundaries, counts, inverse), then uploads the results.

_T0 = 16     # insertion-sorted block per work-item
_TT = 256    # outputs per work-item in a merge pass


def _rows_out(x, d, k, rank0):
    """Fresh (values, indices) with k entries along d, and the batch layout sort and topk kernels walk:
    (n, rows B, batch sizes, input strides, output strides, input/output stride along d, runtime, key dtype), or
    None when empty.
    A 0-d input gets `rank0` size-1 batch dims."""
    shape = x._shape
    oshape = list(shape)
    if shape:
        oshape[d] = k
    vals = empty_tensor(tuple(oshape), x._dtype, x._device)
    inds = empty_tensor(tuple(oshape), D.int64, x._device)
    n = x.numel()
    if n == 0 or k == 0:
        return vals, inds, None
    if shape:
        bs, (bis, bos) = _batch_layout(shape, d, [x._strides, vals._strides])
        isd, osd = x._strides[d], vals._strides[d]
    else:
        bs, bis, bos, isd, osd = [1] * rank0, [0] * rank0, [0] * rank0, 0, 0
    return vals, inds, (n, n // (shape[d] if shape else 1), bs, bis, bos, isd, osd, rt_of(x), _compute_dtype(x._dtype))


def _sort_rows(x, d, desc, j0=0, k=None):
    """Stable sort of x along d; returns (values, indices) holding sorted columns [j0, j0 + k) (fresh)."""
    if x._dtype.is_complex:
        raise RuntimeError(" Sort does not support complex dtypes on CPU")
    L = x._shape[d] if x._shape else 1
    k = L - j0 if k is None else k
    vals, inds, lay = _rows_out(x, d, k, 0)
    if lay is None:
        return vals, inds
    n, B, bs, bis, bos, isd, osd, rt, key = lay
    R = len(bs)
    idx, it = idx_type(extent(x), n, vals.numel())
    bargs = []
    for sh, a, b in zip(bs, bis, bos):
        bargs += [it(sh), it(a), it(b)]
    ls = rt.local_size
    k1 = empty_tensor((n,), key, x._device)
    i1 = empty_tensor((n,), D.int64, x._device)
    nblk = -(-L // _T0)
    kin = K.get(rt, "sort", "init", src=x._dtype, key=key, desc=bool(desc), t0=_T0, R=R, idx=idx)
    K.launch(rt, kin, (K.round_up(B * nblk, ls),), (ls,),
             [x._st.buf, it(x._offset), k1._st.buf, i1._st.buf, it(B * nblk), it(nblk), it(L), it(isd)] + bargs)
    w = _T0
    if w < L:
        k2 = empty_tensor((n,), key, x._device)
        i2 = empty_tensor((n,), D.int64, x._device)
        while w < L:
            tt = min(_TT, 2 * w)
            nseg = -(-L // tt)
            km = K.get(rt, "sort", "merge", key=key, desc=bool(desc), idx=idx)
            K.launch(rt, km, (K.round_up(B * nseg, ls),), (ls,),
                     [k1._st.buf, i1._st.buf, k2._st.buf, i2._st.buf, it(B * nseg), it(nseg), it(L), it(w), it(tt)])
            k1, i1, k2, i2 = k2, i2, k1, i1
            w *= 2
    ko = K.get(rt, "sort", "out", key=key, dst=x._dtype, R=R, idx=idx)
    nw = B * k
    K.launch(rt, ko, (K.round_up(nw, ls),), (ls,),
             [k1._st.buf, i1._st.buf, vals._st.buf, inds._st.buf, it(nw), it(L), it(k), it(j0), it(osd)] + bargs)
    if x._st.shared:
        rt.queue.finish()
    return vals, inds


def _sort_grad(x, vals, inds, d, node, keepdim=True):
    """Values picked along d by `inds` (sort, topk, kthvalue, median): the gradient scatters back to them."""
    if AG.needs_grad(x):
        shape = x._shape
        AG.record(node, (x,), (vals, inds), lambda gv, gi: (_index_backward(gv, inds, shape, d, keepdim),))


def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    x = input
    if isinstance(dim, bool):   # sort(x, stable=...) positional quirks are not PyTorch's; keep dim an int
        raise TypeError("sort(): argument 'dim' must be int, not bool")
    d = _row_dim(x, dim)
    v, i = _sort_rows(x, d, descending)
    _sort_grad(x, v, i, d, "SortBackward0")
    if out is not None:
        _finish_out(v, out[0], "sort")
        _finish_out(i, out[1], "sort")
        return _RT.sort(out[0], out[1])
    return _RT.sort(v, i)


def argsort(input, dim=-1, descending=False, stable=False):
    x = input
    d = _row_dim(x, dim)
    return _sort_rows(x, d, descending)[1]


def msort(input, *, out=None):
    return _finish_out(sort(input, 0).values, out, "msort")


_TOPK_MAX = 64


def _topk_small(x, d, k, largest):
    """topk for k <= 64 without a full sort (sort.mako `topk`); returns (values, indices), fresh."""
    L = x._shape[d] if x._shape else 1
    vals, inds, lay = _rows_out(x, d, k, 4)
    if lay is None:
        return vals, inds
    n, B, bs, bis, bos, isd, osd, rt, key = lay
    P = _params(rt)
    S, C = 1, L
    minc = max(P["minc"] // 4, 8 * k)
    if B < P["target"] and L > minc:
        S = min(-(-P["target"] // B), -(-L // minc))
        C = -(-L // S)
        S = -(-L // C)
    kmax = 8 if k <= 8 else _TOPK_MAX
    idx, it = idx_type(extent(x), n, B * S * k)
    ls = rt.local_size

    def bargs(ins, outs):
        a = []
        for sh, p, q in zip(bs, ins, outs):
            a += [it(sh), it(p), it(q)]
        return a
    if S == 1:
        kern = K.get(rt, "sort", "topk", src=x._dtype, key=key, dst=x._dtype, desc=bool(largest), kmax=kmax,
                     R=len(bs), stage2=False, final=True, idx=idx)
        K.launch(rt, kern, (K.round_up(B, ls),), (ls,),
                 [x._st.buf, it(x._offset), inds._st.buf, vals._st.buf, inds._st.buf, it(B), it(1), it(C), it(L),
                  np.int32(k), it(isd), it(osd)] + bargs(bis, bos))
    else:
        cv = empty_tensor((B * S * k,), key, x._device)
        ci = empty_tensor((B * S * k,), D.int64, x._device)
        kern = K.get(rt, "sort", "topk", src=x._dtype, key=key, dst=key, desc=bool(largest), kmax=kmax,
                     R=len(bs), stage2=False, final=False, idx=idx)
        K.launch(rt, kern, (K.round_up(B * S, ls),), (ls,),
                 [x._st.buf, it(x._offset), ci._st.buf, cv._st.buf, ci._st.buf, it(B * S), it(S), it(C), it(L),
                  np.int32(k), it(isd), it(osd)] + bargs(bis, bos))
        crow = contiguous_strides(bs)
        kern2 = K.get(rt, "sort", "topk", src=key, key=key, dst=x._dtype, desc=bool(largest), kmax=kmax,
                      R=len(bs), stage2=True, final=True, idx=idx)
        K.launch(rt, kern2, (K.round_up(B, ls),), (ls,),
                 [cv._st.buf, it(0), ci._st.buf, vals._st.buf, inds._st.buf, it(B), it(1), it(S * k), it(S * k),
                  np.int32(k), it(1), it(osd)] + bargs([c * S * k for c in crow], bos))
    if x._st.shared:
        rt.queue.finish()
    return vals, inds


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):
    x = input
    if x._dtype.is_complex:
        raise RuntimeError(" topk does not support complex dtypes on CPU")
    if x._dtype is D.bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    d = _row_dim(x, dim)
    L = x._shape[d] if x._shape else 1
    k = int(k)
    if k < 0 or k > L:
        raise RuntimeError("selected index k out of range")
    if k <= _TOPK_MAX:
        v, i = _topk_small(x, d, k, largest)
    else:
        v, i = _sort_rows(x, d, largest, 0, k)
    _sort_grad(x, v, i, d, "TopkBackward0")
    return _RT.topk(v, i)


def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    x = input
    if x._dtype.is_complex or x._dtype is D.bool_:
        raise NotImplementedError(f'"kthvalue_cpu" not implemented for \'{x._dtype._alias}\'')
    d = _row_dim(x, dim)
    L = x._shape[d] if x._shape else 1
    k = int(k)
    if k < 1 or k > L:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    v, i = _sort_rows(x, d, False, k - 1, 1)
    if not keepdim and x._shape:
        shp = _out_shape(x._shape, (d,), False)
        v, i = _reshape_fresh(v, shp), _reshape_fresh(i, shp)
    _sort_grad(x, v, i, d, "KthvalueBackward0", keepdim)
    return _RT.kthvalue(v, i)


def _median_rows(x, d):
    """Lower median along d (keepdim shapes) with PyTorch's NaN rule: a row holding NaN gives its first NaN."""
    L = x._shape[d] if x._shape else 1
    if not x._dtype.is_floating_point:
        return _sort_rows(x, d, False, (L - 1) // 2, 1)
    sv, si = _sort_rows(x, d, False)
    nn = sum_(O.apply("isnan", x), (d,) if x._shape else None, keepdim=True)
    pos = O.where(O.apply("gt", nn, 0), O.apply("sub", L, nn), (L - 1) // 2)
    return IX.gather_valid(sv, d, pos), IX.gather_valid(si, d, pos)


def median(input, dim=None, keepdim=False, *, out=None):
    x = input
    if dim is None:
        _no_complex(x, "median")
        if x.numel() == 0:
            return full((), math.nan, dtype=x._dtype, device=x._device)
        flat = V.reshape(x.detach(), (-1,))
        v, _ = _median_rows(flat, 0)
        v = _reshape_fresh(v, ())
        if AG.needs_grad(x):
            AG.record("MedianBackward0", (x,), v, lambda g: (_evenly_backward(g, x, v, tuple(range(x.dim()))),),
                      saved=(x,))
        return v
    d = _row_dim(x, dim)
    _check_nonempty(x, (d,) if x._shape else (), "median", True)
    v, i = _median_rows(x.detach(), d)
    if not keepdim and x._shape:
        shp = _out_shape(x._shape, (d,), False)
        v, i = _reshape_fresh(v, shp), _reshape_fresh(i, shp)
    _sort_grad(x, v, i, d, "MedianBackward1", keepdim)
    return _RT.median(v, i)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """Sorted unique values. dim=None: device merge sort of the flattened input, then host compaction of the
    sorted run (numpy: run boundaries, counts, inverse through the sort permutation). dim given: host fallback
    (numpy's lexicographic unique of the slices, the order PyTorch uses)."""
    x = input
    dev = x._device
    if dim is not None:
        d = _wrap_dim(dim, x.dim())
        u, inv, cnt = np.unique(x._to_numpy_copy(), axis=d, return_inverse=True, return_counts=True)
        inv = inv.reshape(-1)
    else:
        n = x.numel()
        sv, si = _sort_rows(V.reshape(x.detach(), (-1,)), 0, False)
        v, perm = sv._to_numpy_copy(), si._to_numpy_copy()
        new = np.ones(n, bool)
        if n:
            np.not_equal(v[1:], v[:-1], out=new[1:])      # NaN != NaN: every NaN is its own value, as in PyTorch
        starts = np.flatnonzero(new)
        u = v[starts]
        cnt = np.diff(np.append(starts, n))
        inv = np.empty(n, np.int64)
        inv[perm] = np.cumsum(new) - 1
        inv = inv.reshape(x._shape)
    res = [_tensor(u, dtype=x._dtype, device=dev)]
    if return_inverse:
        res.append(_tensor(np.asarray(inv, np.int64), dtype=D.int64, device=dev))
    if return_counts:
        res.append(_tensor(np.asarray(cnt, np.int64), dtype=D.int64, device=dev))
    return res[0] if len(res) == 1 else tuple(res)




register("sort", sort, method=True)
register("argsort", argsort, method=True)
register("msort", msort, method=True)
register("topk", topk, method=True)
register("kthvalue", kthvalue, method=True)
register("median", median, method=True)
register("unique", unique, method=True)
