"""Device implementations of the nn ops that need their own kernels (templates/nn.mako), each with its backward:
convolution, pooling, batch/layer norm, cross-entropy/NLL, embedding.

Convolution algorithms (measured on PoCL, 2 loaded cores, 32x16x32x32 input, 3x3, 32 filters; best of 20
interleaved rounds, the machine's load moves absolute times by 2x, so compare within a row):
  forward   direct kernel vectorised over 16 output pixels x 16 output channels: 4.2-11.5 ms; the same with 8
            channels: 8-24 ms, 4 channels: 14-21 ms; im2col + GEMM: 9-17 ms -> direct on CPU devices. Training
            (forward + backward) totals: direct 20-24 ms vs im2col (patches kept for the weight gradient) 23-25 ms.
  grad in   GEMM (W^T @ gout) + col2im 5.7-8.2 ms; direct convolution with the flipped kernel 6.2-9.5 ms: about
            even -> GEMM + col2im, which handles every stride.
  grad W    im2col patches (kept from an im2col forward when small) @ gout^T: one GEMM with K = N*OH*OW.
GPUs use im2col + GEMM throughout (the GEMM has a local-memory variant there).

Every function takes validated arguments (nn.functional checks and normalises them) and records one autograd
node whose backward runs device kernels too. Launches use the runtime's fixed local size; sizes travel as
kernel arguments, so new shapes never compile new kernels.
"""
import os

import numpy as np

from .. import _dtypes as D
from .. import _kernels as K
from .. import _ew
from .. import _gemm
from ..autograd import _tape as AG
from .._tensor import empty_tensor, prod, make, contiguous_strides

_I32 = (1 << 31) - 1
COL2IM_CW = 16
KEEP_COL_BYTES = 128 << 20   # conv keeps its im2col patches for backward up to this size
CH = 32   # elements per work-item along rows in the row-chunk kernels


def _rt(t):
    rt = t._st.rt
    if rt is None:
        from .._device import no_cpu_device_error
        raise no_cpu_device_error(t._device)
    return rt


def _idx(*extents):
    return "int" if max(extents) <= _I32 else "long"


def _ity(idx):
    return np.int32 if idx == "int" else np.int64


def acc_of(dt):
    return D.float64 if dt is D.float64 else D.float32


def _c0(t):
    """t itself when contiguous from offset 0, else a contiguous copy (no autograd)."""
    if t._offset == 0 and t.is_contiguous():
        return t
    r = empty_tensor(t._shape, t._dtype, t._device)
    _ew.run("x0", r, [t], (t._dtype,), t._dtype)
    return r


def _as(t, shape):
    """A no-autograd contiguous view of contiguous t with another shape."""
    shape = tuple(shape)
    return make(t._st, shape, contiguous_strides(shape), t._offset, t._dtype, t._device)


_typed = set()


def typed(kern, args):
    """Declare the kernel's scalar argument types once (pyopencl's untyped call path costs ~10x more per launch)."""
    if id(kern) not in _typed:
        kern.set_scalar_arg_dtypes([type(a) if isinstance(a, np.generic) else None for a in args])
        _typed.add(id(kern))


def _launch(rt, kern, n, args):
    typed(kern, args)
    ls = rt.local_size
    K.launch(rt, kern, (K.round_up(max(int(n), 1), ls),), (ls,), args)


def _sync_if_shared(rt, *ts):
    for t in ts:
        if t is not None and t._st.shared:
            rt.queue.finish()
            return


def _zeros(shape, dt, dev):
    from .. import _creation
    return _creation.zeros(shape, dtype=dt, device=dev)


def _check_err(err, fmt):
    """Read the error flag written by a kernel (one sync) and raise IndexError when set."""
    e = err._to_numpy_copy()
    if e[0]:
        raise IndexError(fmt.format(int(e[1])))


# ================================================================================================ convolution

def transpose_last2(x):
    """A contiguous copy of x (..., R, S) transposed to (..., S, R); x must be contiguous."""
    rt = _rt(x)
    R, S = x._shape[-2], x._shape[-1]
    B = x.numel() // max(R * S, 1) if R * S else 0
    out = empty_tensor(tuple(x._shape[:-2]) + (S, R), x._dtype, x._device)
    if out.numel():
        T_ = 16
        tr, ts = -(-R // T_), -(-S // T_)
        nwork = B * tr * ts
        idx = _idx(x.numel(), nwork)
        k = K.get(rt, "nn", "transpose", t=x._dtype, idx=idx, tile=T_)
        _launch(rt, k, nwork, [x._st.buf, out._st.buf, np.int32(R), np.int32(S), np.int32(tr), np.int32(ts),
                               _ity(idx)(nwork)])
    return out


# ------------------------------------------------------------------ direct convolution (CPU devices)
DIRECT_HOIST = True
_widx = {}


def _direct_to(cout):
    """Output channels per work-item of conv_direct: 16 measured best (8: 1.3-2x slower); fewer for thin groups."""
    to = 1
    while to < min(cout, 16):
        to *= 2
    return to


def _weight_index(O, Cg, KH, KW, groups, flip, dev):
    """int32 gather index (cached) re-laying w (O, Cg, KH, KW) out as (G, Cin*KH*KW, Coutp) for conv_direct:
    forward (flip=False): Cin = Cg, Cout = O/G; input-gradient conv (flip=True): Cin = O/G, Cout = Cg and the
    kernel rotated by 180 degrees. -1 marks the zero padding of Cout up to a multiple of _direct_to(Cout)."""
    key = (O, Cg, KH, KW, groups, flip, dev)
    t = _widx.get(key)
    if t is None:
        from .. import _creation
        Og = O // groups
        cin, cout = (Og, Cg) if flip else (Cg, Og)
        to = _direct_to(cout)
        coutp = -(-cout // to) * to
        ind = np.full((groups, cin, KH, KW, coutp), -1, np.int64)
        g, a, kh, kw, b = np.meshgrid(np.arange(groups), np.arange(cin), np.arange(KH), np.arange(KW),
                                      np.arange(cout), indexing="ij")
        if flip:    # a = o (within group), b = c
            src = (((g * Og + a) * Cg + b) * KH + (KH - 1 - kh)) * KW + (KW - 1 - kw)
        else:       # a = c, b = o (within group)
            src = (((g * Og + b) * Cg + a) * KH + kh) * KW + kw
        ind[..., :cout] = src
        t = _creation.tensor(ind.reshape(-1).astype(np.int32), device=dev)
        _widx[key] = t
    return t


def _direct_weights(w, groups, flip):
    rt = _rt(w)
    O, Cg, KH, KW = w._shape
    ind = _weight_index(O, Cg, KH, KW, groups, flip, w._device)
    acc = acc_of(w._dtype)
    wT = empty_tensor((ind.numel(),), acc, w._device)
    n = ind.numel()
    idx = _idx(w._offset + w.numel(), n)
    k = K.get(rt, "nn", "gather_pad", t=w._dtype, o=acc, idx=idx)
    wc = _c0(w)
    _launch(rt, k, n, [wc._st.buf, _ity(idx)(0), ind._st.buf, wT._st.buf, _ity(idx)(n)])
    return wT


def _conv_direct(x, wT, bias, G, Og, Cg, KH, KW, OH, OW, stride, padding, dilation, out):
    """out (N, G*Og, OH, OW) = direct convolution of x (N, G*Cg, H, W) with re-laid weights wT."""
    rt = _rt(x)
    dt = x._dtype
    N, C, H, W = x._shape
    # output columns per work-item: the next power of two >= OW (4..16; 8 at most for float64), so that
    # narrow images do not leave most vector lanes idle (OW = 4 with 16 lanes ran 3-4x slower); a few variants
    vw = 4
    while vw < min(OW, 8 if dt is D.float64 else 16):
        vw *= 2
    to = _direct_to(Og)
    nob = -(-Og // to)
    nwb = -(-OW // vw)
    nwork = N * G * nob * OH * nwb
    if nwork == 0:
        return out
    ext = x._offset + sum((s_ - 1) * st for s_, st in zip(x._shape, x._strides)) + 1
    idx = _idx(ext + vw * max(stride[1], 1) * max(x._strides[3], 1), out.numel() + vw, nwork, wT.numel())
    it = _ity(idx)
    unit = stride[1] == 1 and x._strides[3] == 1
    k = K.get(rt, "nn", "conv_direct", t=dt, acc=acc_of(dt), idx=idx, vw=vw, to=to,
              has_bias=bias is not None, unit=unit, kwc=KW if KW in (1, 3, 5) else 0,
              hoist=DIRECT_HOIST)
    Ogp = nob * to
    _launch(rt, k, nwork, [x._st.buf, it(x._offset)] + [it(v) for v in x._strides] +
            [wT._st.buf, (bias if bias is not None else wT)._st.buf, out._st.buf, np.int32(Cg), np.int32(H),
             np.int32(W), np.int32(KH), np.int32(KW), np.int32(OH), np.int32(OW), np.int32(stride[0]),
             np.int32(stride[1]), np.int32(padding[0]), np.int32(padding[1]), np.int32(dilation[0]),
             np.int32(dilation[1]), np.int32(G), np.int32(Og), np.int32(Ogp), np.int32(nob), np.int32(nwb),
             it(nwork)])
    return out


def _padded(x, padding):
    """A contiguous zero-padded copy (N, C, H + 2 ph, W + 2 pw) of x (any strides)."""
    N, C, H, W = x._shape
    ph, pw = padding
    xp = _zeros((N, C, H + 2 * ph, W + 2 * pw), x._dtype, x._device)
    inner = make(xp._st, (N, C, H, W), xp._strides, xp._offset + ph * xp._strides[2] + pw * xp._strides[3],
                 x._dtype, x._device)
    _ew.run("x0", inner, [x], (x._dtype,), x._dtype)
    return xp


def _conv_out(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _im2col(rt, x, c0, Cg, KH, KW, OH, OW, stride, padding, dilation, col):
    """col (Cg*KH*KW, N*OH*OW) <- patches of x[:, c0:c0+Cg] (x any strides)."""
    N, C, H, W = x._shape
    sn, sc, sh, sw = x._strides
    nwork = Cg * KH * KW * N
    ext = x._offset + sum((s_ - 1) * st for s_, st in zip(x._shape, x._strides)) + 1
    idx = _idx(ext, col.numel(), nwork * OH * OW)
    it = _ity(idx)
    k = K.get(rt, "nn", "im2col", t=x._dtype, idx=idx)
    _launch(rt, k, nwork, [x._st.buf, it(x._offset + c0 * sc), it(sn), it(sc), it(sh), it(sw), col._st.buf,
                           np.int32(N), np.int32(H), np.int32(W), np.int32(KH), np.int32(KW), np.int32(OH),
                           np.int32(OW), np.int32(stride[0]), np.int32(stride[1]), np.int32(padding[0]),
                           np.int32(padding[1]), np.int32(dilation[0]), np.int32(dilation[1]), it(nwork)])


def _col2im(rt, col, dx, Cg, H, W, KH, KW, OH, OW, stride, padding, dilation):
    N = dx._shape[0]
    nwc = -(-W // COL2IM_CW)
    nwork = N * Cg * H * nwc
    idx = _idx(col.numel(), dx.numel())
    it = _ity(idx)
    k = K.get(rt, "nn", "col2im", t=dx._dtype, acc=acc_of(dx._dtype), idx=idx, unit_w=stride[1] == 1,
              cw=COL2IM_CW)
    _launch(rt, k, nwork, [col._st.buf, dx._st.buf, np.int32(N), np.int32(Cg), np.int32(H), np.int32(W),
                           np.int32(KH), np.int32(KW), np.int32(OH), np.int32(OW), np.int32(stride[0]),
                           np.int32(stride[1]), np.int32(padding[0]), np.int32(padding[1]), np.int32(dilation[0]),
                           np.int32(dilation[1]), np.int32(nwc), it(nwork)])


CONV_FORWARD = os.environ.get("CLTENSOR_CONV", "auto")   # auto | direct | im2col


def _use_direct(rt, weight_grad):
    """Forward algorithm, chosen by measurement (module docstring): the direct kernel on CPU devices, im2col +
    GEMM elsewhere. CLTENSOR_CONV=direct|im2col forces one."""
    if CONV_FORWARD == "direct":
        return True
    if CONV_FORWARD == "im2col":
        return False
    return rt.info.is_cpu


def conv2d(x, w, b, stride, padding, dilation, groups):
    """x (N, C, H, W), w (O, C/groups, KH, KW), b (O,) or None; symmetric integer padding."""
    rt = _rt(x)
    dt = x._dtype
    N, C, H, W = x._shape
    O, Cg, KH, KW = w._shape
    OH = _conv_out(H, KH, stride[0], padding[0], dilation[0])
    OW = _conv_out(W, KW, stride[1], padding[1], dilation[1])
    Og = O // groups
    CKK = Cg * KH * KW
    P = OH * OW
    w_c = _c0(w)
    out = empty_tensor((N, O, OH, OW), dt, x._device)
    col = None
    need_grad = AG.needs_grad(x, w, b)
    if out.numel() and CKK and _use_direct(rt, need_grad and w._requires_grad):
        wT = _direct_weights(w_c, groups, False)
        xd, pd = x, padding
        if padding[0] or padding[1]:
            # a zero-padded copy makes every tap an in-bounds vector load (the kernel's edge path gathers
            # lane by lane: with small images every row segment is an edge); the copy is ~2-5% of the conv
            xd = _padded(x, padding)
            pd = (0, 0)
        _conv_direct(xd, wT, b, groups, Og, Cg, KH, KW, OH, OW, stride, pd, dilation, out)
    elif out.numel():
        if b is not None:
            _ew.run("x0", out, [b.view(1, O, 1, 1) if b._shape == (O,) else b], (dt,), dt)
        if CKK == 0:
            if b is None:
                _ew.run("x0", out, [0], (dt,), dt)
        else:
            col = empty_tensor((CKK, N * P), dt, x._device)
            for g in range(groups):
                _im2col(rt, x, g * Cg, Cg, KH, KW, OH, OW, stride, padding, dilation, col)
                _gemm.gemm(rt, dt, N, Og, P, CKK,
                           (w_c._st.buf, g * Og * CKK, 0, CKK, 1),
                           (col._st.buf, 0, P, N * P, 1),
                           (out._st.buf, g * Og * P, O * P, P, 1), 1, 1 if b is not None else 0)
    _sync_if_shared(rt, x, w, b)
    if need_grad:
        geo = (stride, padding, dilation, groups)
        # the weight gradient needs the patches again: keep them when they are small enough
        keep = col if (col is not None and groups == 1 and CKK and w._requires_grad and
                       col.numel() * dt.itemsize <= KEEP_COL_BYTES) else None
        AG.record("ConvolutionBackward0", (x, w, b), out,
                  lambda g: _conv2d_bwd(g, x.detach(), w_c, b, geo, (N, C, H, W, O, Cg, KH, KW, OH, OW),
                                        x._requires_grad, w._requires_grad, keep),
                  saved=(x, w))
    return out


def _conv2d_bwd(gout, x, w, b, geo, dims, need_x=True, need_w=True, col=None):
    stride, padding, dilation, groups = geo
    N, C, H, W, O, Cg, KH, KW, OH, OW = dims
    rt = _rt(gout)
    dt = gout._dtype
    g = _c0(gout)
    CKK = Cg * KH * KW
    gx = gw = gb = None
    if g.numel() == 0 or CKK == 0:
        gx = _zeros((N, C, H, W), dt, x._device)
        gw = _zeros((O, Cg, KH, KW), dt, x._device)
        gb = _zeros((O,), dt, x._device) if b is not None else None
        return gx, gw, gb
    if b is not None and b._requires_grad:
        gb = g.sum((0, 2, 3))
    if need_x:
        gx = _conv_bwd_input(rt, g, w, dims, geo)
    if need_w:
        gw = _conv_bwd_weight(rt, g, x, dims, geo, col)
    return gx, gw, gb


def _conv_bwd_input(rt, g, w, dims, geo):
    stride, padding, dilation, groups = geo
    N, C, H, W, O, Cg, KH, KW, OH, OW = dims
    dt = g._dtype
    Og = O // groups
    CKK = Cg * KH * KW
    P = OH * OW
    # gcol = W_g^T @ gout_g per image, then col2im
    gx = empty_tensor((N, C, H, W), dt, g._device)
    gcol = empty_tensor((CKK, N * P), dt, g._device)
    gxg = gx if groups == 1 else empty_tensor((N, Cg, H, W), dt, g._device)
    for gi in range(groups):
        _gemm.gemm(rt, dt, N, CKK, P, Og,
                   (w._st.buf, gi * Og * CKK, 0, 1, CKK),
                   (g._st.buf, gi * Og * P, O * P, P, 1),
                   (gcol._st.buf, 0, P, N * P, 1), 1, 0)
        _col2im(rt, gcol, gxg, Cg, H, W, KH, KW, OH, OW, stride, padding, dilation)
        if groups > 1:
            _ew.run("x0", gx[:, gi * Cg:(gi + 1) * Cg], [gxg], (dt,), dt)
    return gx


def _conv_bwd_weight(rt, g, x, dims, geo, col=None):
    stride, padding, dilation, groups = geo
    N, C, H, W, O, Cg, KH, KW, OH, OW = dims
    dt = g._dtype
    Og = O // groups
    CKK = Cg * KH * KW
    P = OH * OW
    # gw_g^T (CKK x Og) = col_g (CKK x NP) @ goutT_g (NP x Og), written transposed into gw
    gT = transpose_last2(_as(g, (N, O, P)))          # (N, P, O)
    gw = empty_tensor((O, Cg, KH, KW), dt, x._device)
    have = col is not None
    if not have:
        col = empty_tensor((CKK, N * P), dt, x._device)
    for gi in range(groups):
        if not have:
            _im2col(rt, x, gi * Cg, Cg, KH, KW, OH, OW, stride, padding, dilation, col)
        _gemm.gemm(rt, dt, 1, CKK, Og, N * P,
                   (col._st.buf, 0, 0, N * P, 1),
                   (gT._st.buf, gi * Og, 0, O, 1),
                   (gw._st.buf, gi * Og * CKK, 0, 1, CKK), 1, 0)
    return gw


# ================================================================================================ pooling

def _pool_x(x, nwork):
    """(index type name, its numpy type, the input's kernel arguments: buffer, offset, strides) of a pooling
    kernel reading x (any strides) for nwork work-items."""
    big = _idx(x._offset + sum((s - 1) * st for s, st in zip(x._shape, x._strides)) + 1) != "int"
    idx = "long" if big or nwork > _I32 else "int"
    it = _ity(idx)
    return idx, it, [x._st.buf, it(x._offset)] + [it(s) for s in x._strides]


def _i32(*vals):
    return [np.int32(v) for v in vals]


def max_pool2d(x, kernel, stride, padding, dilation, OH, OW, return_indices):
    """x (N, C, H, W) any strides; returns out (and int64 indices into each H*W plane)."""
    rt = _rt(x)
    N, C, H, W = x._shape
    out = empty_tensor((N, C, OH, OW), x._dtype, x._device)
    ind = empty_tensor((N, C, OH, OW), D.int64, x._device)
    if out.numel():
        nrows = N * C * OH
        idx, it, xa = _pool_x(x, out.numel())
        k = K.get(rt, "nn", "maxpool_fwd_rows", t=x._dtype, idx=idx, with_ind=True)
        _launch(rt, k, nrows, xa + [out._st.buf, ind._st.buf] + _i32(C, H, W, *kernel, OH, OW, *stride, *padding,
                                                                      *dilation) + [it(nrows)])
    _sync_if_shared(rt, x)
    if AG.needs_grad(x):
        geo = (kernel, stride, padding, dilation)
        AG.record("MaxPool2DWithIndicesBackward0", (x,), out,
                  lambda g: (_max_pool2d_bwd(g, ind, (N, C, H, W), geo),))
    return (out, ind) if return_indices else out


def _pool_bwd(gout, xshape):
    """(rt, contiguous gout, dx, index type name) for a pooling backward kernel."""
    g = _c0(gout)
    dx = empty_tensor(xshape, g._dtype, g._device)
    return _rt(gout), g, dx, _idx(dx.numel(), g.numel())


def _max_pool2d_bwd(gout, ind, xshape, geo):
    kernel, stride, padding, dilation = geo
    N, C, H, W = xshape
    rt, g, dx, idx = _pool_bwd(gout, xshape)
    nwork = dx.numel()
    if nwork:
        OH, OW = g._shape[2], g._shape[3]
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
        if dh == 1 and dw == 1 and sh >= kh and sw >= kw:     # windows do not overlap: the row kernel
            k = K.get(rt, "nn", "maxpool_bwd_rows", t=g._dtype, acc=acc_of(g._dtype), idx=idx)
            nrows = N * C * H
            _launch(rt, k, nrows, [g._st.buf, ind._st.buf, dx._st.buf] +
                    _i32(H, W, kh, kw, OH, OW, sh, sw, ph, pw) + [_ity(idx)(nrows)])
            return dx
        k = K.get(rt, "nn", "maxpool_bwd", t=g._dtype, acc=acc_of(g._dtype), idx=idx)
        _launch(rt, k, nwork, [g._st.buf, ind._st.buf, dx._st.buf] +
                _i32(H, W, *kernel, OH, OW, *stride, *padding, *dilation) + [_ity(idx)(nwork)])
    return dx


def avg_pool2d(x, kernel, stride, padding, OH, OW, count_include_pad, divisor):
    rt = _rt(x)
    N, C, H, W = x._shape
    out = empty_tensor((N, C, OH, OW), x._dtype, x._device)
    nwork = out.numel()
    geo = (kernel, stride, padding, int(bool(count_include_pad)), int(divisor or 0))
    if nwork:
        idx, it, xa = _pool_x(x, nwork)
        k = K.get(rt, "nn", "avgpool_fwd", t=x._dtype, acc=acc_of(x._dtype), idx=idx)
        _launch(rt, k, nwork, xa + [out._st.buf] + _i32(C, H, W, *kernel, OH, OW, *stride, *padding, *geo[3:]) +
                [it(nwork)])
    _sync_if_shared(rt, x)
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
        k = K.get(rt, "nn", "avgpool_bwd", t=g._dtype, acc=acc_of(g._dtype), idx=idx)
        _launch(rt, k, nwork, [g._st.buf, dx._st.buf] + _i32(H, W, *kernel, OH, OW, *stride, *padding, incl, div) +
                [_ity(idx)(nwork)])
    return dx


def adaptive_avg_pool2d(x, OH, OW):
    rt = _rt(x)
    N, C, H, W = x._shape
    out = empty_tensor((N, C, OH, OW), x._dtype, x._device)
    nwork = out.numel()
    if nwork:
        idx, it, xa = _pool_x(x, nwork)
        k = K.get(rt, "nn", "adaptive_avg_fwd", t=x._dtype, acc=acc_of(x._dtype), idx=idx)
        _launch(rt, k, nwork, xa + [out._st.buf] + _i32(C, H, W, OH, OW) + [it(nwork)])
    _sync_if_shared(rt, x)
    if AG.needs_grad(x):
        AG.record("AdaptiveAvgPool2DBackward0", (x,), out, lambda g: (_adaptive_avg_bwd(g, (N, C, H, W)),))
    return out


def _adaptive_avg_bwd(gout, xshape):
    N, C, H, W = xshape
    rt, g, dx, idx = _pool_bwd(gout, xshape)
    nwork = dx.numel()
    if nwork:
        OH, OW = g._shape[2], g._shape[3]
        k = K.get(rt, "nn", "adaptive_avg_bwd", t=g._dtype, acc=acc_of(g._dtype), idx=idx)
        _launch(rt, k, nwork, [g._st.buf, dx._st.buf] + _i32(H, W, OH, OW) + [_ity(idx)(nwork)])
    return dx


# ================================================================================================ batch norm

def _chan_partials(rt, x3, mode, mean=None, invstd=None, g3=None):
    """Per-channel partial reductions over (N, S) of contiguous (N, C, S) tensors; returns (part, P)."""
    N, C, S = x3._shape
    M = N * S
    # partials per channel: runs of >= 256 elements, and enough work-items (up to 16K) for several work-groups
    # (C * P = 64 made one work-group: PoCL ran it on one thread, serially over 2048 elements per item)
    P = max(1, min(256, -(-M // 256), max(1, 16384 // max(C, 1))))
    P = min(P, max(M, 1))
    L = -(-M // P) if M else 1
    acc = acc_of(x3._dtype)
    nf = 3 if mode == "stats" else 2
    part = empty_tensor((C * P * nf,), acc, x3._device)
    idx = _idx(x3.numel() + C * S, M + L)
    it = _ity(idx)
    k = K.get(rt, "nn", "chan_partial", t=x3._dtype, acc=acc, idx=idx, mode=mode)
    dummy = part._st.buf
    _launch(rt, k, C * P, [x3._st.buf, g3._st.buf if g3 is not None else x3._st.buf,
                           mean._st.buf if mean is not None else dummy, invstd._st.buf if invstd is not None else dummy,
                           part._st.buf, np.int32(C), it(S), it(M), it(L), np.int32(P)])
    return part, P


def batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """x (N, C, *) ; returns y with an autograd node. Running stats are updated in place when training."""
    rt = _rt(x)
    dt = x._dtype
    N, C = x._shape[0], x._shape[1]
    S = prod(x._shape[2:])
    x3 = _as(_c0(x), (N, C, S))
    acc = acc_of(dt)
    pt = weight._dtype if weight is not None else (running_mean._dtype if running_mean is not None else dt)
    mean = empty_tensor((C,), acc, x._device)
    invstd = empty_tensor((C,), acc, x._device)
    if training:
        part, P = _chan_partials(rt, x3, "stats")
        upd = running_mean is not None and running_var is not None
        rm = running_mean if upd else mean
        rv = running_var if upd else mean
        rpt = rm._dtype if upd else acc
        k = K.get(rt, "nn", "bn_finalize", acc=acc, pt=rpt, upd=bool(upd))
        _launch(rt, k, C, [part._st.buf, mean._st.buf, invstd._st.buf, rm._st.buf, rv._st.buf, np.int32(C),
                           np.int32(P), acc.np.type(eps), acc.np.type(momentum if momentum is not None else 0.0)])
        if upd:
            running_mean._st.version += 1
            running_var._st.version += 1
    else:
        k = K.get(rt, "nn", "bn_running", acc=acc, pt=running_mean._dtype)
        _launch(rt, k, C, [running_mean._st.buf, running_var._st.buf, mean._st.buf, invstd._st.buf, np.int32(C),
                           acc.np.type(eps)])
    affine = weight is not None
    w_ = weight if weight is not None else mean
    b_ = bias if bias is not None else None
    if affine and b_ is None:
        from .. import _creation
        b_ = _creation.zeros((C,), dtype=pt, device=x._device)
    y = empty_tensor(x._shape, dt, x._device)
    nch = -(-S // CH) if S else 0
    nwork = N * C * nch
    if nwork:
        idx = _idx(x3.numel() + CH, nwork)
        k = K.get(rt, "nn", "bn_apply", t=dt, acc=acc, pt=pt, idx=idx, affine=affine, ch=CH)
        it = _ity(idx)
        _launch(rt, k, nwork, [x3._st.buf, y._st.buf, mean._st.buf, invstd._st.buf, _c0(w_)._st.buf,
                               (_c0(b_) if b_ is not None else mean)._st.buf, np.int32(C), it(S), it(nch), it(nwork)])
    _sync_if_shared(rt, x)
    if AG.needs_grad(x, weight, bias):
        AG.record("NativeBatchNormBackward0", (x, weight, bias), y,
                  lambda g: _batch_norm_bwd(g, x3, weight, bias, mean, invstd, training, x._shape), saved=(x,))
    return y


def _batch_norm_bwd(gout, x3, weight, bias, mean, invstd, training, xshape):
    rt = _rt(gout)
    dt = x3._dtype
    N, C, S = x3._shape
    acc = acc_of(dt)
    g3 = _as(_c0(gout), (N, C, S))
    part, P = _chan_partials(rt, x3, "grad", mean, invstd, g3)
    affine = weight is not None
    pt = weight._dtype if affine else dt
    sums = empty_tensor((2 * C,), acc, x3._device)
    gw = empty_tensor((C,), pt, x3._device) if affine else None
    gb = empty_tensor((C,), pt, x3._device) if affine else None
    k = K.get(rt, "nn", "bn_gsum", acc=acc, pt=pt, has_w=affine)
    _launch(rt, k, C, [part._st.buf, sums._st.buf, (gw if affine else sums)._st.buf,
                       (gb if affine else sums)._st.buf, np.int32(C), np.int32(P)])
    dx = empty_tensor(xshape, dt, x3._device)
    nch = -(-S // CH) if S else 0
    nwork = N * C * nch
    if nwork:
        idx = _idx(x3.numel() + CH, nwork)
        it = _ity(idx)
        k = K.get(rt, "nn", "bn_bwd_apply", t=dt, acc=acc, pt=pt, idx=idx, affine=affine, train=bool(training), ch=CH)
        _launch(rt, k, nwork, [x3._st.buf, g3._st.buf, dx._st.buf, mean._st.buf, invstd._st.buf, sums._st.buf,
                               (_c0(weight) if affine else sums)._st.buf, np.int32(C), it(S), it(nch), it(nwork),
                               acc.np.type(1.0 / max(N * S, 1))])
    return dx, gw, (gb if bias is not None else None)


# ================================================================================================ layer norm

def layer_norm(x, nshape, weight, bias, eps):
    rt = _rt(x)
    dt = x._dtype
    Dn = prod(nshape)
    R = x.numel() // Dn if Dn else 0
    xc = _c0(x)
    acc = acc_of(dt)
    pt = weight._dtype if weight is not None else (bias._dtype if bias is not None else dt)
    y = empty_tensor(x._shape, dt, x._device)
    mean = empty_tensor((R,), acc, x._device)
    rstd = empty_tensor((R,), acc, x._device)
    if R and Dn:
        idx = _idx(x.numel())
        it = _ity(idx)
        k = K.get(rt, "nn", "ln_fwd", t=dt, acc=acc, pt=pt, idx=idx, has_w=weight is not None,
                  has_b=bias is not None)
        wb = _c0(weight)._st.buf if weight is not None else mean._st.buf
        bb = _c0(bias)._st.buf if bias is not None else mean._st.buf
        _launch(rt, k, R, [xc._st.buf, y._st.buf, wb, bb, mean._st.buf, rstd._st.buf, it(R), it(Dn),
                           acc.np.type(eps)])
    _sync_if_shared(rt, x)
    if AG.needs_grad(x, weight, bias):
        AG.record("NativeLayerNormBackward0", (x, weight, bias), y,
                  lambda g: _layer_norm_bwd(g, xc, weight, bias, mean, rstd, R, Dn), saved=(x,))
    return y


def _layer_norm_bwd(gout, xc, weight, bias, mean, rstd, R, Dn):
    rt = _rt(gout)
    dt = xc._dtype
    acc = acc_of(dt)
    g = _c0(gout)
    pt = weight._dtype if weight is not None else (bias._dtype if bias is not None else dt)
    dx = empty_tensor(xc._shape, dt, xc._device)
    gw = empty_tensor(weight._shape, pt, xc._device) if weight is not None else None
    gb = empty_tensor(bias._shape, pt, xc._device) if bias is not None else None
    if R and Dn:
        idx = _idx(xc.numel())
        it = _ity(idx)
        wb = _c0(weight)._st.buf if weight is not None else mean._st.buf
        k = K.get(rt, "nn", "ln_bwd_x", t=dt, acc=acc, pt=pt, idx=idx, has_w=weight is not None)
        _launch(rt, k, R, [xc._st.buf, g._st.buf, dx._st.buf, wb, mean._st.buf, rstd._st.buf, it(R), it(Dn)])
        if weight is not None or bias is not None:
            k = K.get(rt, "nn", "ln_bwd_wb", t=dt, acc=acc, pt=pt, idx=idx, has_w=weight is not None,
                      has_b=bias is not None)
            _launch(rt, k, Dn, [xc._st.buf, g._st.buf, mean._st.buf, rstd._st.buf,
                                (gw if gw is not None else mean)._st.buf, (gb if gb is not None else mean)._st.buf,
                                it(R), it(Dn)])
    else:
        if gw is not None:
            _ew.run("x0", gw, [0], (pt,), pt)
        if gb is not None:
            _ew.run("x0", gb, [0], (pt,), pt)
    return dx, gw, gb


# ================================================================================================ losses

def class_loss(x3, target, weight, reduction, ignore_index, label_smoothing, log_input, out_shape):
    """Cross-entropy (log_input=False, logits) or NLL (log_input=True) with class-index targets.
    x3: (N, C, S) logits / log-probabilities; target: N*S int64 class indices."""
    rt = _rt(x3)
    dt = x3._dtype
    acc = acc_of(dt)
    N, C, S = x3._shape
    NS = N * S
    xc = _c0(x3)
    tc = _c0(target)
    w = _c0(weight.to(dt)) if weight is not None else None
    loss = empty_tensor((NS,), acc, x3._device)
    wt = empty_tensor((NS,), acc, x3._device)
    lse = empty_tensor((NS,), acc, x3._device)
    err = _zeros((2,), D.int64, x3._device)
    smooth = float(label_smoothing) > 0 and not log_input
    idx = _idx(xc.numel() + C)
    it = _ity(idx)
    if NS:
        k = K.get(rt, "nn", "ce_fwd", t=dt, acc=acc, idx=idx, has_w=w is not None, smooth=smooth,
                  log_input=bool(log_input))
        _launch(rt, k, NS, [xc._st.buf, tc._st.buf, (w if w is not None else xc)._st.buf, loss._st.buf,
                            wt._st.buf, lse._st.buf, err._st.buf, np.int32(C), it(S), it(NS),
                            np.int64(ignore_index), acc.np.type(label_smoothing)])
        _check_err(err, "Target {} is out of bounds.")
    with AG.no_grad():
        if reduction == "none":
            out = _as(loss.to(dt), out_shape)
            tw = None
        elif reduction == "sum":
            out = loss.sum().to(dt)
            tw = None
        else:
            tw = wt.sum()
            out = (loss.sum() / tw).to(dt)
    if AG.needs_grad(x3):
        mean = reduction == "mean"

        def bw(g):
            gc = _c0(g.to(dt))
            dx = empty_tensor((N, C, S), dt, x3._device)
            if NS:
                kb = K.get(rt, "nn", "ce_bwd", t=dt, acc=acc, idx=idx, has_w=w is not None, smooth=smooth,
                           log_input=bool(log_input), mean=mean)
                _launch(rt, kb, NS, [xc._st.buf, tc._st.buf, (w if w is not None else xc)._st.buf, lse._st.buf,
                                     gc._st.buf, it(0), it(1 if reduction == "none" else 0),
                                     (tw if tw is not None else loss)._st.buf, dx._st.buf, np.int32(C), it(S),
                                     it(NS), np.int64(ignore_index), acc.np.type(label_smoothing)])
            return (dx,)
        AG.record("NllLossBackward0", (x3,), out, bw, saved=(x3,))
    return out


# ================================================================================================ embedding

def embedding(ind, weight, padding_idx):
    rt = _rt(weight)
    dt = weight._dtype
    V, Dm = weight._shape
    ic = _c0(ind if ind._dtype is D.int64 else ind.to(D.int64))
    n = ic.numel()
    out = empty_tensor(tuple(ind._shape) + (Dm,), dt, weight._device)
    if n and Dm:
        err = _zeros((2,), D.int64, weight._device)
        ext = weight._offset + (V - 1) * weight._strides[0] + (Dm - 1) * weight._strides[1] + 1
        idx = _idx(ext, n * Dm)
        it = _ity(idx)
        k = K.get(rt, "nn", "emb_fwd", t=dt, idx=idx)
        _launch(rt, k, n, [weight._st.buf, it(weight._offset), it(weight._strides[0]), it(weight._strides[1]),
                           ic._st.buf, out._st.buf, err._st.buf, np.int64(V), it(Dm), it(n)])
        _check_err(err, "index out of range in self")
    _sync_if_shared(rt, weight, ind)
    if AG.needs_grad(weight):
        pad = -1 if padding_idx is None else int(padding_idx)

        def bw(g):
            gc = _c0(g)
            gw = _zeros((V, Dm), dt, weight._device)
            if n and Dm:
                idx2 = _idx(V * Dm, n * Dm)
                kb = K.get(rt, "nn", "emb_bwd", t=dt, acc=acc_of(dt), idx=idx2)
                _launch(rt, kb, Dm, [gc._st.buf, ic._st.buf, gw._st.buf, np.int64(V), _ity(idx2)(Dm),
                                     _ity(idx2)(n), np.int64(pad)])
            return (None, gw)
        AG.record("EmbeddingBackward0", (ind, weight), out, bw)
    return out
