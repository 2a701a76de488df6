"""Pooling (templates/pool.mako): max, average and adaptive average pooling over (N, C, H, W), each with
its backward. Functions take validated arguments (nn.functional checks and normalises them)."""
import numpy as np

from .. import _dtypes as D
from .. import _kernels as K
from ..autograd import _tape as AG
from .._launch import rt_of, idx_type, idx_np
from .._tensor import empty_tensor
from ._common import acc_of, c0, launch, sync_if_shared, idx_name

def _pool_x(x, nwork):
    """(index type name, its numpy type, the input's kernel arguments: buffer, offset, strides) of a pooling
    kernel reading x (any strides) for nwork work-items."""
    idx, it = idx_type(x._offset + sum((s - 1) * st for s, st in zip(x._shape, x._strides)) + 1, nwork)
    return idx, it, [x._st.buf, it(x._offset)] + [it(s) for s in x._strides]


def _i32(*vals):
    return [np.int32(v) for v in vals]


def _rows_per_item(nrows, per_row, target=256):
    """Rows per work-item of the row kernels: about `target` elementary steps each (a row of a small image is
    too little work for a work-item on CPU devices), yet at least ~64 work-items when there are that many rows."""
    return max(1, min(target // max(per_row, 1), nrows // 64))


def max_pool2d(x, kernel, stride, padding, dilation, OH, OW, return_indices):
    """x (N, C, H, W) any strides; returns out (and int64 indices into each H*W plane)."""
    rt = rt_of(x)
    N, C, H, W = x._shape
    out = empty_tensor((N, C, OH, OW), x._dtype, x._device)
    ind = empty_tensor((N, C, OH, OW), D.int64, x._device)
    if out.numel():
        nrows = N * C * OH
        rpw = _rows_per_item(nrows, OW * kernel[0] * kernel[1])
        nw = -(-nrows // rpw)
        idx, it, xa = _pool_x(x, out.numel())
        if (tuple(kernel) == (2, 2) and tuple(stride) == (2, 2) and tuple(padding) == (0, 0) and
                tuple(dilation) == (1, 1) and x._strides[3] == 1 and 2 * OH <= H and 2 * OW <= W and
                x._dtype in (D.float32, D.float64)):
            vw = 8 if x._dtype is D.float32 and OW >= 8 else 4 if OW >= 4 else 2
            k = K.get(rt, "pool", "maxpool2x2_fwd", t=x._dtype, idx=idx, vw=vw)
            launch(rt, k, nw, xa[:5] + [out._st.buf, ind._st.buf] + _i32(C, W, OH, OW) +
                   [it(nrows), np.int32(rpw)])
        else:
            k = K.get(rt, "pool", "maxpool_fwd_rows", t=x._dtype, idx=idx, with_ind=True)
            launch(rt, k, nw, xa + [out._st.buf, ind._st.buf] + _i32(C, H, W, *kernel, OH, OW, *stride, *padding,
                                                                       *dilation) + [it(nrows), np.int32(rpw)])
    sync_if_shared(rt, x)
    if AG.needs_grad(x):
        geo = (kernel, stride, padding, dilation)
        AG.record("MaxPool2DWithIndicesBackward0", (x,), out,
                  lambda g: (_max_pool2d_bwd(g, ind, (N, C, H, W), geo),))
    return (out, ind) if return_indices else out


def _pool_bwd(gout, xshape):
    """(rt, contiguous gout, dx, index type name) for a pooling backward kernel."""
    g = c0(gout)
    dx = empty_tensor(xshape, g._dtype, g._device)
    return rt_of(gout), g, dx, idx_name(dx.numel(), g.numel())


def _max_pool2d_bwd(gout, ind, xshape, geo):
    kernel, stride, padding, dilation = geo
    N, C, H, W = xshape
    rt, g, dx, idx = _pool_bwd(gout, xshape)
    nwork = dx.numel()
    if nwork:
        OH, OW = g._shape[2], g._shape[3]
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
        if ((kh, kw, sh, sw, ph, pw, dh, dw) == (2, 2, 2, 2, 0, 0, 1, 1) and 2 * OH <= H and 2 * OW <= W and
                g._dtype in (D.float32, D.float64)):
            nrows = N * C * OH
            rpw = _rows_per_item(nrows, 4 * OW)
            vw = 8 if g._dtype is D.float32 and OW >= 8 else 4 if OW >= 4 else 2
            k = K.get(rt, "pool", "maxpool2x2_bwd", t=g._dtype, idx=idx, vw=vw)
            launch(rt, k, -(-nrows // rpw), [g._st.buf, ind._st.buf, dx._st.buf] + _i32(H, W, OH, OW) +
                   [idx_np(idx)(nrows), np.int32(rpw)])
            return dx
        if dh == 1 and dw == 1 and sh >= kh and sw >= kw:     # windows do not overlap: the row kernel
            k = K.get(rt, "pool", "maxpool_bwd_rows", t=g._dtype, acc=acc_of(g._dtype), idx=idx)
            nrows = N * C * H
            rpw = _rows_per_item(nrows, W)
            launch(rt, k, -(-nrows // rpw), [g._st.buf, ind._st.buf, dx._st.buf] +
                   _i32(H, W, kh, kw, OH, OW, sh, sw, ph, pw) + [idx_np(idx)(nrows), np.int32(rpw)])
            return dx
        k = K.get(rt, "pool", "maxpool_bwd", t=g._dtype, acc=acc_of(g._dtype), idx=idx)
        launch(rt, k, nwork, [g._st.buf, ind._st.buf, dx._st.buf] +
                _i32(H, W, *kernel, OH, OW, *stride, *padding, *dilation) + [idx_np(idx)(nwork)])
    return dx


def avg_pool2d(x, kernel, stride, padding, OH, OW, count_include_pad, divisor):
    rt = rt_of(x)
    N, C, H, W = x._shape
    out = empty_tensor((N, C, OH, OW), x._dtype, x._device)
    nwork = out.numel()
    geo = (kernel, stride, padding, int(bool(count_include_pad)), int(divisor or 0))
    if nwork:
        idx, it, xa = _pool_x(x, nwork)
        k = K.get(rt, "pool", "avgpool_fwd", t=x._dtype, acc=acc_of(x._dtype), idx=idx)
        launch(rt, k, nwork, xa + [out._st.buf] + _i32(C, H, W, *kernel, OH, OW, *stride, *padding, *geo[3:]) +
                [it(nwork)])
    sync_if_shared(rt, x)
    if AG.needs_grad(x):
        AG.record("AvgPool2DBackward0", (x,), out, lambda g: (_avg_pool2d_bwd(g, (N, C, H, W), geo),))
    return out


def _avg_pool2d_bwd(gout, xshape, geo):
    kernel, stride, padding, incl, div = geo
    N, C, H, W = xshape
    rt, g, dx, idx = _pool_bwd(gout, xshape)
    nwork = dx.numel()
    if nwork:
        OH, OW = g._shape[2], g._shape[3]
        k = K.get(rt, "pool", "avgpool_bwd", t=g._dtype, acc=acc_of(g._dtype), idx=idx)
        launch(rt, k, nwork, [g._st.buf, dx._st.buf] + _i32(H, W, *kernel, OH, OW, *stride, *padding, incl, div) +
                [idx_np(idx)(nwork)])
    return dx


def adaptive_avg_pool2d(x, OH, OW):
    rt = rt_of(x)
    N, C, H, W = x._shape
    out = empty_tensor((N, C, OH, OW), x._dtype, x._device)
    nwork = out.numel()
    if nwork:
        idx, it, xa = _pool_x(x, nwork)
        k = K.get(rt, "pool", "adaptive_avg_fwd", t=x._dtype, acc=acc_of(x._dtype), idx=idx)
        launch(rt, k, nwork, xa + [out._st.buf] + _i32(C, H, W, OH, OW) + [it(nwork)])
    sync_if_shared(rt, x)
    if AG.needs_grad(x):
        AG.record("AdaptiveAvgPool2DBackward0", (x,), out, lambda g: (_adaptive_avg_bwd(g, (N, C, H, W)),))
    return out


def _adaptive_avg_bwd(gout, xshape):
    N, C, H, W = xshape
    rt, g, dx, idx = _pool_bwd(gout, xshape)
    nwork = dx.numel()
    if nwork:
        OH, OW = g._shape[2], g._shape[3]
        k = K.get(rt, "pool", "adaptive_avg_bwd", t=g._dtype, acc=acc_of(g._dtype), idx=idx)
        launch(rt, k, nwork, [g._st.buf, dx._st.buf] + _i32(H, W, OH, OW) + [idx_np(idx)(nwork)])
    return dx


# ------------------------------------------------------------------ spatial rank 3 (pool3_fwd / pool3_bwd)
_NODES3 = {"max": "MaxPool3DWithIndicesBackward0", "amax": "AdaptiveMaxPool3DBackward0",
           "avg": "AvgPool3DBackward0", "aavg": "AdaptiveAvgPool3DBackward0"}


def pool3(x, mode, kernel, stride, padding, dilation, o, incl_pad=True, divisor=None, node=None):
    """x (N, C, D, H, W) any strides; mode max | amax | avg | aavg (templates/pool.mako pool3_fwd). Returns out
    (and, for max modes, int64 indices into each D*H*W plane)."""
    from .._index import ops as IX
    rt = rt_of(x)
    N, C, Dd, H, W = x._shape
    oshape = (N, C) + tuple(o)
    out = empty_tensor(oshape, x._dtype, x._device)
    is_max = mode in ("max", "amax")
    ind = empty_tensor(oshape, D.int64, x._device) if is_max else out
    nwork = out.numel()
    if nwork:
        idx, it, xa = _pool_x(x, nwork)
        k = K.get(rt, "pool", "pool3_fwd", t=x._dtype, acc=acc_of(x._dtype), idx=idx, mode=mode)
        launch(rt, k, nwork, xa + [out._st.buf, ind._st.buf] + _i32(C, Dd, H, W, *kernel, *o, *stride, *padding,
                                                                      *dilation, int(bool(incl_pad)),
                                                                      int(divisor or 0)) + [it(nwork)])
    sync_if_shared(rt, x)
    if AG.needs_grad(x):
        xshape = x._shape
        if is_max:
            def bw(g):
                P = o[0] * o[1] * o[2]
                gs = c0(g).view(N, C, P) if g.numel() else g.reshape(N, C, P)
                return (IX.scatter_add_valid((N, C, Dd * H * W), 2, ind.view(N, C, P), gs).view(xshape),)
        else:
            geo = (kernel, stride, padding, int(bool(incl_pad)), int(divisor or 0))

            def bw(g):
                return (_pool3_bwd(g, xshape, mode, geo),)
        AG.record(node or _NODES3[mode], (x,), out, bw)
    return (out, ind) if is_max else out


def _pool3_bwd(gout, xshape, mode, geo):
    kernel, stride, padding, incl, div = geo
    N, C, Dd, H, W = xshape
    rt, g, dx, idx = _pool_bwd(gout, xshape)
    nwork = dx.numel()
    if nwork:
        o = g._shape[2:]
        k = K.get(rt, "pool", "pool3_bwd", t=g._dtype, acc=acc_of(g._dtype), idx=idx, mode=mode)
        launch(rt, k, nwork, [g._st.buf, dx._st.buf] + _i32(Dd, H, W, *kernel, *o, *stride, *padding, incl, div) +
               [idx_np(idx)(nwork)])
    return dx


def fractional_max_pool3(x, u, kernel, o, upos, node):
    """x (N, C, D, H, W) any strides, u (N, C, S) samples (any strides), upos: the sample index of each of the
    three dims. Returns (out, int64 indices into each D*H*W plane)."""
    from .._index import ops as IX
    rt = rt_of(x)
    N, C, Dd, H, W = x._shape
    oshape = (N, C) + tuple(o)
    out = empty_tensor(oshape, x._dtype, x._device)
    ind = empty_tensor(oshape, D.int64, x._device)
    nwork = out.numel()
    if nwork:
        ext = u._offset + sum((s - 1) * st for s, st in zip(u._shape, u._strides)) + 1
        idx, it = idx_type(x._offset + sum((s - 1) * st for s, st in zip(x._shape, x._strides)) + 1, nwork, ext)
        k = K.get(rt, "pool", "fracmax3_fwd", t=x._dtype, idx=idx)
        launch(rt, k, nwork, [x._st.buf, it(x._offset)] + [it(s) for s in x._strides] +
               [u._st.buf, it(u._offset), it(u._strides[0]), it(u._strides[1]), it(u._strides[2])] +
               _i32(*upos) + [out._st.buf, ind._st.buf] + _i32(C, Dd, H, W, *kernel, *o) + [it(nwork)])
    sync_if_shared(rt, x, u)
    if AG.needs_grad(x):
        xshape = x._shape

        def bw(g):
            P = o[0] * o[1] * o[2]
            gs = c0(g).view(N, C, P)
            return (IX.scatter_add_valid((N, C, Dd * H * W), 2, ind.view(N, C, P), gs).view(xshape),)
        AG.record(node, (x,), out, bw)
    return out, ind
