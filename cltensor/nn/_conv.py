"""Convolution (templates/conv.mako) with its backward.

Algorithms on CPU devices (float32 / float64, unit column stride after zero padding; measured on PoCL, AVX-512,
2 shared cores, best of interleaved rounds; docs/nn_performance.md has the numbers):
  forward   conv_tile: a register tile of TO output channels x a block of output pixels held in 16-lane vectors
            (one row of 16 columns, or 2 rows of 8, 4 of 4, ... so that 8x8 and 4x4 images fill the lanes too),
            weights broadcast as scalars (the GEMM's tile shape): 32x16x32x32 3x3 -> 32: 2-2.5x faster than the
            previous row-vector kernel, 64x32x4x4 -> 64: ~2x. Other dtypes / strides: conv_direct.
  grad in   stride 1 (padding <= dilation * (k - 1)): conv_tile on gout zero padded by dilation * (k - 1) - padding
            with the flipped kernel (no column buffer); otherwise W^T @ gout (GEMM) + col2im.
  grad W    conv_dw where a pixel vector holds at most two output rows: per (TO output channels, c, kh) work-item
            vector partial sums over all images and pixels of gout x shifted input, the bias gradient with it
            (no column buffer, no transposed gout: 32x32 images ~1.4x faster); 4x4 images (4 rows per vector, 1.4x
            slower there): im2col patches @ gout^T, one GEMM with K = N*OH*OW.
GPUs use im2col + GEMM throughout (the GEMM has a local-memory variant there); CLTENSOR_CONV=direct|im2col
forces one family.

Every function takes validated arguments (nn.functional checks and normalises them) and records one autograd
node whose backward runs device kernels too. Launches use fixed local sizes; sizes travel as kernel arguments,
so new shapes never compile new kernels.
"""

import numpy as np

from .. import _config as cfg
from .. import _dtypes as D
from .. import _kernels as K
from .. import _ew
from .. import _gemm
from .. import _creation
from ..autograd import _tape as AG
from .._launch import rt_of, idx_np
from .._tensor import empty_tensor, make
from ._common import acc_of, c0, as_shape, launch, sync_if_shared, zeros, idx_name

COL2IM_CW = 16
KEEP_COL_BYTES = 128 << 20   # conv keeps its im2col patches for backward up to this size


def transpose_last2(x):
    """A contiguous copy of contiguous x (B, R, S) transposed to (B, S, R): the elementwise engine's copy of the
    transposed view (its tiled layout serves operands whose fast dim is not the output's)."""
    B, R, S = x._shape
    out = empty_tensor((B, S, R), x._dtype, x._device)
    if out.numel():
        _ew.run("x0", out, [make(x._st, (B, S, R), (R * S, 1, S), x._offset, x._dtype, x._device)],
                (x._dtype,), x._dtype)
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


def _weight_index(O, Cg, KH, KW, groups, flip, dev, to=None):
    """int32 gather index (cached) re-laying w (O, Cg, KH, KW) out as (G, Cin*KH*KW, Coutp) for conv_direct:
    forward (flip=False): Cin = Cg, Cout = O/G; input-gradient conv (flip=True): Cin = O/G, Cout = Cg and the
    kernel rotated by 180 degrees. -1 marks the zero padding of Cout up to a multiple of _direct_to(Cout)."""
    key = (O, Cg, KH, KW, groups, flip, dev, to)
    t = _widx.get(key)
    if t is None:
        Og = O // groups
        cin, cout = (Og, Cg) if flip else (Cg, Og)
        to = to or _direct_to(cout)
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


def _direct_weights(w, groups, flip, to=None):
    rt = rt_of(w)
    O, Cg, KH, KW = w._shape
    ind = _weight_index(O, Cg, KH, KW, groups, flip, w._device, to)
    acc = acc_of(w._dtype)
    wT = empty_tensor((ind.numel(),), acc, w._device)
    n = ind.numel()
    idx = idx_name(w._offset + w.numel(), n)
    k = K.get(rt, "conv", "gather_pad", t=w._dtype, o=acc, idx=idx)
    wc = c0(w)
    launch(rt, k, n, [wc._st.buf, idx_np(idx)(0), ind._st.buf, wT._st.buf, idx_np(idx)(n)])
    return wT


def _conv_direct(x, wT, bias, G, Og, Cg, KH, KW, OH, OW, stride, padding, dilation, out):
    """out (N, G*Og, OH, OW) = direct convolution of x (N, G*Cg, H, W) with re-laid weights wT."""
    rt = rt_of(x)
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
    idx = idx_name(ext + vw * max(stride[1], 1) * max(x._strides[3], 1), out.numel() + vw, nwork, wT.numel())
    it = idx_np(idx)
    unit = stride[1] == 1 and x._strides[3] == 1
    k = K.get(rt, "conv", "conv_direct", t=dt, acc=acc_of(dt), idx=idx, vw=vw, to=to,
              has_bias=bias is not None, unit=unit, kwc=KW if KW in (1, 3, 5) else 0,
              hoist=DIRECT_HOIST)
    Ogp = nob * to
    launch(rt, k, nwork, [x._st.buf, it(x._offset)] + [it(v) for v in x._strides] +
            [wT._st.buf, (bias if bias is not None else wT)._st.buf, out._st.buf, np.int32(Cg), np.int32(H),
             np.int32(W), np.int32(KH), np.int32(KW), np.int32(OH), np.int32(OW), np.int32(stride[0]),
             np.int32(stride[1]), np.int32(padding[0]), np.int32(padding[1]), np.int32(dilation[0]),
             np.int32(dilation[1]), np.int32(G), np.int32(Og), np.int32(Ogp), np.int32(nob), np.int32(nwb),
             it(nwork)])
    return out


TILE_LS = 16


def _launch_ls(rt, kern, n, ls, args):
    """launch() with local size ls (a fixed power of two: few heavy work-items spread over more work-groups)."""
    if kern.__dict__.get("typed") is None:
        K.set_arg_types(kern, [type(a) if isinstance(a, np.generic) else None for a in args])
    ls = max(1, min(ls, rt.local_size))
    K.launch(rt, kern, (K.round_up(max(int(n), 1), ls),), (ls,), args)


# tuning overrides for measurements (empty: the defaults): "on": False turns conv_tile / conv_dw off (the previous
# kernels run), "shape": (vr, rr, nv, to) of conv_tile, "ls": its local size, "dw": False (im2col + GEMM weight
# gradient), "dw_to" / "dw_ls": conv_dw's output channels per work-item and local size
TILE = {}


def _tile_shape(dt, OH, OW, Og):
    """conv_tile's block: VR columns x RR rows per vector (VR * RR = the SIMD width in lanes: 16 floats, 8
    doubles), NV vectors, TO output channels."""
    lanes = 8 if dt is D.float64 else 16
    vr = 1
    while vr * 2 <= min(OW, lanes):
        vr *= 2
    rr = lanes // vr
    # 16 channels x one vector of pixels measured best (32x16x32x32 -> 32: 1.8-2.4 ms vs 2.8-4.4 for 8 channels x
    # two vectors); nv = 2 stays available through TILE["shape"]
    nv, to = 1, 16
    while to > 1 and to // 2 >= Og:
        to //= 2
    shp = TILE.get("shape")
    return shp if shp else (vr, rr, nv, to)


def _conv_tile(x, w, bias, G, Og, Cg, KH, KW, OH, OW, strh, dilation, out, flip=False):
    """out (N, G*Og, OH, OW) = convolution of x (N, G*Cg, ..., W) with unit column stride, no padding (every tap
    in bounds), column stride 1, row stride strh; w (O, Cg, KH, KW) contiguous (flip: w is the forward weight
    (G*Cg', Og, KH, KW) of the convolution whose input gradient this is, rotated 180 degrees)."""
    rt = rt_of(x)
    dt = x._dtype
    N = x._shape[0]
    vr, rr, nv, to = _tile_shape(dt, OH, OW, Og)
    wT = _direct_weights(w, G, flip, to)
    nob = -(-Og // to)
    nrb = -(-OH // (rr * nv))
    nwb = -(-OW // vr)
    nwork = N * G * nob * nrb * nwb
    if nwork == 0:
        return out
    ext = x._offset + sum((s_ - 1) * st for s_, st in zip(x._shape, x._strides)) + 1
    idx = idx_name(ext + vr, out.numel() + vr, nwork, wT.numel())
    it = idx_np(idx)
    k = K.get(rt, "conv", "conv_tile", t=dt, idx=idx, vr=vr, rr=rr, nv=nv, to=to, has_bias=bias is not None,
              kwc=KW if KW in (1, 3, 5) else 0)
    _launch_ls(rt, k, nwork, TILE.get("ls", TILE_LS), [x._st.buf, it(x._offset), it(x._strides[0]), it(x._strides[1]), it(x._strides[2]),
                          wT._st.buf, (bias if bias is not None else wT)._st.buf, out._st.buf, np.int32(Cg),
                          np.int32(KH), np.int32(KW), np.int32(OH), np.int32(OW), np.int32(strh),
                          np.int32(dilation[0]), np.int32(dilation[1]), np.int32(G), np.int32(Og),
                          np.int32(nob * to), np.int32(nob), np.int32(nrb), np.int32(nwb), it(nwork)])
    return out


DW_TO = 4   # output channels per work-item of conv_dw (x KW taps: 12 vector accumulators for 3x3)


def _conv_dw(xp, g, gw, G, Og, Cg, KH, KW, OH, OW, strh, dilation, gb=None):
    """gw (G*Og, Cg, KH, KW) = the weight gradient of the convolution of xp (N, G*Cg, ..., W; unit column stride,
    no padding: already applied) giving g (N, G*Og, OH, OW) contiguous, without a column buffer."""
    rt = rt_of(xp)
    dt = xp._dtype
    N = xp._shape[0]
    vr, rr = _tile_shape(dt, OH, OW, Og)[:2]
    to = TILE.get("dw_to", DW_TO)
    nob = -(-Og // to)
    nrb = -(-OH // rr)
    nwb = -(-OW // vr)
    nwork = G * nob * Cg * KH
    ext = xp._offset + sum((s_ - 1) * st for s_, st in zip(xp._shape, xp._strides)) + 1
    idx = idx_name(ext + vr, g.numel() + vr)
    it = idx_np(idx)
    k = K.get(rt, "conv", "conv_dw", t=dt, idx=idx, vr=vr, rr=rr, to=to, kwc=KW if KW in (1, 3, 5) else 0,
              has_db=gb is not None)
    _launch_ls(rt, k, nwork, TILE.get("dw_ls", 4),
               [xp._st.buf, it(xp._offset), it(xp._strides[0]), it(xp._strides[1]), it(xp._strides[2]),
                g._st.buf, gw._st.buf, (gb if gb is not None else gw)._st.buf, np.int32(N), np.int32(Cg), np.int32(KH), np.int32(KW), np.int32(OH),
                np.int32(OW), np.int32(strh), np.int32(dilation[0]), np.int32(dilation[1]), np.int32(G),
                np.int32(Og), np.int32(nob), np.int32(nrb), np.int32(nwb), np.int32(nwork)])
    return gw


def _padded(x, padding):
    """A contiguous zero-padded copy (N, C, H + 2 ph, W + 2 pw) of x (any strides)."""
    N, C, H, W = x._shape
    ph, pw = padding
    if x._dtype not in (D.float32, D.float64):
        xp = zeros((N, C, H + 2 * ph, W + 2 * pw), x._dtype, x._device)
        inner = make(xp._st, (N, C, H, W), xp._strides, xp._offset + ph * xp._strides[2] + pw * xp._strides[3],
                     x._dtype, x._device)
        _ew.run("x0", inner, [x], (x._dtype,), x._dtype)
        return xp
    xp = empty_tensor((N, C, H + 2 * ph, W + 2 * pw), x._dtype, x._device)
    nrows = N * C * (H + 2 * ph)
    if nrows == 0 or W + 2 * pw == 0:
        return xp
    rpw = max(1, min(256 // (W + 2 * pw), nrows // 64))
    ext = x._offset + sum((s_ - 1) * st for s_, st in zip(x._shape, x._strides)) + 1
    idx = idx_name(ext, xp.numel(), nrows)
    it = idx_np(idx)
    k = K.get(rt_of(x), "conv", "pad2d", t=x._dtype, idx=idx)
    launch(rt_of(x), k, -(-nrows // rpw), [x._st.buf, it(x._offset)] + [it(v) for v in x._strides] +
           [xp._st.buf, np.int32(C), np.int32(H), np.int32(W), np.int32(ph), np.int32(pw), it(nrows), np.int32(rpw)])
    return xp


def _conv_out(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _im2col(rt, x, c0, Cg, KH, KW, OH, OW, stride, padding, dilation, col):
    """col (Cg*KH*KW, N*OH*OW) <- patches of x[:, c0:c0+Cg] (x any strides)."""
    N, C, H, W = x._shape
    sn, sc, sh, sw = x._strides
    # images per work-item: ~256 outputs each, yet >= 256 work-items where there are that many
    nper = max(1, min(N, 256 // max(OH * OW, 1), (Cg * KH * KW * N) // 256))
    nwork = Cg * KH * KW * -(-N // nper)
    ext = x._offset + sum((s_ - 1) * st for s_, st in zip(x._shape, x._strides)) + 1
    idx = idx_name(ext, col.numel(), nwork * OH * OW)
    it = idx_np(idx)
    k = K.get(rt, "conv", "im2col", t=x._dtype, idx=idx)
    launch(rt, k, nwork, [x._st.buf, it(x._offset + c0 * sc), it(sn), it(sc), it(sh), it(sw), col._st.buf,
                           np.int32(N), np.int32(H), np.int32(W), np.int32(KH), np.int32(KW), np.int32(OH),
                           np.int32(OW), np.int32(stride[0]), np.int32(stride[1]), np.int32(padding[0]),
                           np.int32(padding[1]), np.int32(dilation[0]), np.int32(dilation[1]), it(nwork),
                           np.int32(nper)])


def _col2im(rt, col, dx, Cg, H, W, KH, KW, OH, OW, stride, padding, dilation):
    N = dx._shape[0]
    nwc = -(-W // COL2IM_CW)
    nwork = N * Cg * H * nwc
    idx = idx_name(col.numel(), dx.numel())
    it = idx_np(idx)
    k = K.get(rt, "conv", "col2im", t=dx._dtype, acc=acc_of(dx._dtype), idx=idx, unit_w=stride[1] == 1,
              cw=COL2IM_CW)
    launch(rt, k, nwork, [col._st.buf, dx._st.buf, np.int32(N), np.int32(Cg), np.int32(H), np.int32(W),
                           np.int32(KH), np.int32(KW), np.int32(OH), np.int32(OW), np.int32(stride[0]),
                           np.int32(stride[1]), np.int32(padding[0]), np.int32(padding[1]), np.int32(dilation[0]),
                           np.int32(dilation[1]), np.int32(nwc), it(nwork)])


CONV_FORWARD = cfg.conv()   # auto | direct | im2col (CLTENSOR_CONV)


def _use_direct(rt, weight_grad):
    """Forward algorithm, chosen by measurement (module docstring): the direct kernel on CPU devices, im2col +
    GEMM elsewhere. CLTENSOR_CONV=direct|im2col forces one."""
    if CONV_FORWARD == "direct":
        return True
    if CONV_FORWARD == "im2col":
        return False
    return rt.info.is_cpu


def conv2d(x, w, b, stride, padding, dilation, groups):
    """x (N, C, H, W), w (O, C/groups, KH, KW), b (O,) or None; symmetric integer padding. Integer dtypes take
    im2col + GEMM (the direct kernel accumulates in floating point)."""
    rt = rt_of(x)
    dt = x._dtype
    N, C, H, W = x._shape
    O, Cg, KH, KW = w._shape
    OH = _conv_out(H, KH, stride[0], padding[0], dilation[0])
    OW = _conv_out(W, KW, stride[1], padding[1], dilation[1])
    Og = O // groups
    CKK = Cg * KH * KW
    P = OH * OW
    w_c = c0(w)
    out = empty_tensor((N, O, OH, OW), dt, x._device)
    col = None
    need_grad = AG.needs_grad(x, w, b)
    xpad = None
    if out.numel() and CKK and dt.is_floating_point and _use_direct(rt, need_grad and w._requires_grad):
        xd, pd = x, padding
        if padding[0] or padding[1]:
            # a zero-padded copy makes every tap an in-bounds vector load (the kernel's edge path gathers
            # lane by lane: with small images every row segment is an edge); the copy is ~2-5% of the conv
            xd = _padded(x, padding)
            pd = (0, 0)
        bc = c0(b) if b is not None else None
        if TILE.get("on", True) and stride[1] == 1 and xd._strides[3] == 1 and dt in (D.float32, D.float64):
            _conv_tile(xd, w_c, bc, groups, Og, Cg, KH, KW, OH, OW, stride[0], dilation, out)
            xpad = xd       # the weight gradient reads the same padded input
        else:
            wT = _direct_weights(w_c, groups, False)
            _conv_direct(xd, wT, bc, groups, Og, Cg, KH, KW, OH, OW, stride, pd, dilation, out)
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
    sync_if_shared(rt, x, w, b)
    if need_grad:
        geo = (stride, padding, dilation, groups)
        # the weight gradient needs the patches again: keep them when they are small enough
        keep = col if (col is not None and groups == 1 and CKK and w._requires_grad and
                       col.numel() * dt.itemsize <= KEEP_COL_BYTES) else None
        # the direct weight gradient where a pixel vector holds at most two output rows (measured: 32x32 images
        # 1.4x faster than im2col + transposed gout + GEMM; 4x4 images, four rows per vector, 1.4x slower)
        if (xpad is not None and w._requires_grad and KW <= 16 and TILE.get("dw", True) and
                _tile_shape(dt, OH, OW, Og)[1] <= 2):
            keep = ("pad", xpad.detach())
        AG.record("ConvolutionBackward0", (x, w, b), out,
                  lambda g: _conv2d_bwd(g, x.detach(), w_c, b, geo, (N, C, H, W, O, Cg, KH, KW, OH, OW),
                                        x._requires_grad, w._requires_grad, keep),
                  saved=(x, w))
    return out


def _conv2d_bwd(gout, x, w, b, geo, dims, need_x=True, need_w=True, col=None):
    stride, padding, dilation, groups = geo
    N, C, H, W, O, Cg, KH, KW, OH, OW = dims
    rt = rt_of(gout)
    dt = gout._dtype
    g = c0(gout)
    CKK = Cg * KH * KW
    gx = gw = gb = None
    if g.numel() == 0 or CKK == 0:
        gx = zeros((N, C, H, W), dt, x._device)
        gw = zeros((O, Cg, KH, KW), dt, x._device)
        gb = zeros((O,), dt, x._device) if b is not None else None
        return gx, gw, gb
    db = b is not None and b._requires_grad
    if need_w and isinstance(col, tuple):
        # direct weight gradient (from the padded input of the direct forward), the bias gradient with it
        Og = O // groups
        gw = empty_tensor((O, Cg, KH, KW), dt, x._device)
        gb = empty_tensor((O,), dt, x._device) if db else None
        _conv_dw(col[1], g, gw, groups, Og, Cg, KH, KW, OH, OW, stride[0], dilation, gb)
        need_w = db = False
    if db:
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
    qh, qw = dilation[0] * (KH - 1) - padding[0], dilation[1] * (KW - 1) - padding[1]
    if (TILE.get("on", True) and _use_direct(rt, True) and tuple(stride) == (1, 1) and qh >= 0 and qw >= 0 and
            dt in (D.float32, D.float64)):
        # stride 1: the input gradient is the convolution of gout, zero padded by dilation * (k - 1) - padding,
        # with the flipped kernel (no column buffer, no col2im)
        gp = _padded(g, (qh, qw)) if qh or qw else g
        gx = empty_tensor((N, C, H, W), dt, g._device)
        return _conv_tile(gp, w, None, groups, Cg, Og, KH, KW, H, W, 1, dilation, gx, flip=True)
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
    gw = empty_tensor((O, Cg, KH, KW), dt, x._device)
    # gw_g^T (CKK x Og) = col_g (CKK x NP) @ goutT_g (NP x Og), written transposed into gw
    gT = transpose_last2(as_shape(g, (N, O, P)))          # (N, P, O)
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


# ------------------------------------------------------------------ spatial rank 3 (conv3d, transposed, fold)
# x (N, C, D, H, W); 1-d and 2-d problems arrive with unit leading spatial dims. geo = (stride, padding,
# dilation, groups) with 3-tuples.

def im2col3(rt, x, c_0, Cg, k, o, geo, col):
    """col (Cg*KD*KH*KW, N*OD*OH*OW) <- patches of x[:, c_0:c_0+Cg] (x any strides)."""
    stride, padding, dilation = geo[:3]
    N, C, D, H, W = x._shape
    nwork = Cg * k[0] * k[1] * k[2] * N * o[0]
    if nwork == 0 or col.numel() == 0:
        return
    ext = x._offset + sum((s_ - 1) * st for s_, st in zip(x._shape, x._strides)) + 1
    idx = idx_name(ext, col.numel(), nwork * o[1] * o[2])
    it = idx_np(idx)
    kern = K.get(rt, "conv", "im2col3", t=x._dtype, idx=idx)
    launch(rt, kern, nwork, [x._st.buf, it(x._offset + c_0 * x._strides[1])] + [it(s) for s in x._strides] +
           [col._st.buf, np.int32(N), np.int32(D), np.int32(H), np.int32(W)] + [np.int32(v) for v in k] +
           [np.int32(v) for v in o] + [np.int32(v) for v in stride] + [np.int32(v) for v in padding] +
           [np.int32(v) for v in dilation] + [it(nwork)])


def col2im3(rt, col, dx, k, o, geo):
    """dx (N, Cg, D, H, W) contiguous <- the sum of col (Cg*KD*KH*KW, N*OD*OH*OW) entries over each pixel."""
    stride, padding, dilation = geo[:3]
    N, Cg, D, H, W = dx._shape
    nwc = -(-W // COL2IM_CW)
    nwork = N * Cg * D * H * nwc
    if nwork == 0:
        return
    idx = idx_name(col.numel(), dx.numel(), nwork)
    it = idx_np(idx)
    kern = K.get(rt, "conv", "col2im3", t=dx._dtype, acc=acc_of(dx._dtype), idx=idx, cw=COL2IM_CW)
    launch(rt, kern, nwork, [col._st.buf, dx._st.buf, np.int32(N), np.int32(Cg), np.int32(D), np.int32(H),
                             np.int32(W)] + [np.int32(v) for v in k] + [np.int32(v) for v in o] +
           [np.int32(v) for v in stride] + [np.int32(v) for v in padding] + [np.int32(v) for v in dilation] +
           [np.int32(nwc), it(nwork)])


COL3_BYTES = 64 << 20   # the rank-3 paths run im2col / col2im over chunks of images with at most this much col


def _chunk(N, CKK, P, dt):
    return max(1, min(N, COL3_BYTES // max(CKK * P * dt.itemsize, 1)))


def _fwd3(rt, x, w, b, geo, o, out=None):
    """out (N, O, *o) = convolution of x (N, G*Cg, D, H, W; any strides) with w (O, Cg, *k) contiguous: im2col +
    GEMM per group over chunks of images; bias b (O,) or None."""
    groups = geo[3]
    dt = x._dtype
    N = x._shape[0]
    O, Cg = w._shape[:2]
    k = w._shape[2:]
    Og = O // groups
    CKK = Cg * k[0] * k[1] * k[2]
    P = o[0] * o[1] * o[2]
    if out is None:
        out = empty_tensor((N, O) + tuple(o), dt, x._device)
    if out.numel() == 0:
        return out
    if b is not None:
        _ew.run("x0", out, [b.view(1, O, 1, 1, 1)], (dt,), dt)
    elif CKK == 0:
        _ew.run("x0", out, [0], (dt,), dt)
    if CKK == 0:
        return out
    nb = _chunk(N, CKK, P, dt)
    col = empty_tensor((CKK, nb * P), dt, x._device)
    for n0 in range(0, N, nb):
        m = min(nb, N - n0)
        xs = x[n0:n0 + m]
        for gi in range(groups):
            im2col3(rt, xs, gi * Cg, Cg, k, o, geo, col if m == nb else as_shape(col, (CKK, m * P)))
            _gemm.gemm(rt, dt, m, Og, P, CKK,
                       (w._st.buf, w._offset + gi * Og * CKK, 0, CKK, 1),
                       (col._st.buf, 0, P, m * P, 1),
                       (out._st.buf, (n0 * O + gi * Og) * P, O * P, P, 1), 1, 1 if b is not None else 0)
    return out


def _bwd_in3(rt, g, w, geo, xshape):
    """dx (xshape) = the transposed convolution of g (N, O, *o) with w (O, Cg, *k): GEMM (W_g^T @ g_g) + col2im,
    over chunks of images."""
    groups = geo[3]
    dt = g._dtype
    g = c0(g)
    N, O = g._shape[:2]
    o = g._shape[2:]
    Cg = w._shape[1]
    k = w._shape[2:]
    Og = O // groups
    CKK = Cg * k[0] * k[1] * k[2]
    P = o[0] * o[1] * o[2]
    dx = empty_tensor(xshape, dt, g._device)
    if dx.numel() == 0:
        return dx
    if CKK == 0 or g.numel() == 0:
        _ew.run("x0", dx, [0], (dt,), dt)
        return dx
    nb = _chunk(N, CKK, P, dt)
    gcol = empty_tensor((CKK, nb * P), dt, g._device)
    direct = groups == 1 and nb == N
    dxg = dx if direct else empty_tensor((nb, Cg) + tuple(xshape[2:]), dt, g._device)
    for n0 in range(0, N, nb):
        m = min(nb, N - n0)
        tgt = dxg if m == nb else as_shape(dxg, (m,) + tuple(dxg._shape[1:]))
        for gi in range(groups):
            _gemm.gemm(rt, dt, m, CKK, P, Og,
                       (w._st.buf, w._offset + gi * Og * CKK, 0, 1, CKK),
                       (g._st.buf, g._offset + (n0 * O + gi * Og) * P, O * P, P, 1),
                       (gcol._st.buf, 0, P, m * P, 1), 1, 0)
            col2im3(rt, gcol if m == nb else as_shape(gcol, (CKK, m * P)), tgt, k, o, geo)
            if not direct:
                _ew.run("x0", dx[n0:n0 + m, gi * Cg:(gi + 1) * Cg], [tgt], (dt,), dt)
    return dx


def _bwd_w3(rt, g, x, geo, wshape):
    """dw (O, Cg, *k) = the weight gradient of the convolution of x (N, G*Cg, D, H, W) giving g (N, O, *o),
    accumulated over chunks of images."""
    groups = geo[3]
    dt = g._dtype
    g = c0(g)
    N, O = g._shape[:2]
    o = g._shape[2:]
    Cg = wshape[1]
    k = wshape[2:]
    Og = O // groups
    CKK = Cg * k[0] * k[1] * k[2]
    P = o[0] * o[1] * o[2]
    gw = empty_tensor(tuple(wshape), dt, g._device)
    if gw.numel() == 0:
        return gw
    if N * P == 0:
        _ew.run("x0", gw, [0], (dt,), dt)
        return gw
    nb = _chunk(N, CKK, P, dt)
    col = empty_tensor((CKK, nb * P), dt, x._device)
    for n0 in range(0, N, nb):
        m = min(nb, N - n0)
        gT = transpose_last2(as_shape(g[n0:n0 + m], (m, O, P)))          # (m, P, O)
        xs = x[n0:n0 + m]
        for gi in range(groups):
            im2col3(rt, xs, gi * Cg, Cg, k, o, geo, col if m == nb else as_shape(col, (CKK, m * P)))
            _gemm.gemm(rt, dt, 1, CKK, Og, m * P,
                       (col._st.buf, 0, 0, m * P, 1),
                       (gT._st.buf, gi * Og, 0, O, 1),
                       (gw._st.buf, gi * Og * CKK, 0, 1, CKK), 1, 0 if n0 == 0 else 1)
    return gw


def conv3(x, w, b, stride, padding, dilation, groups, o, node="ConvolutionBackward0"):
    """Convolution of x (N, C, D, H, W) with w (O, C/groups, KD, KH, KW): out (N, O, *o)."""
    rt = rt_of(x)
    geo = (stride, padding, dilation, groups)
    w_c = c0(w)
    with AG.no_grad():
        out = _fwd3(rt, x, w_c, c0(b) if b is not None else None, geo, o)
    sync_if_shared(rt, x, w, b)
    if AG.needs_grad(x, w, b):
        xd, xshape, wshape = x.detach(), x._shape, w._shape
        need_x, need_w, need_b = x._requires_grad, w._requires_grad, b is not None and b._requires_grad

        def bw(g):
            rg = rt_of(g)
            gx = _bwd_in3(rg, g, w_c, geo, xshape) if need_x else None
            gw = _bwd_w3(rg, g, xd, geo, wshape) if need_w else None
            gb = g.sum((0, 2, 3, 4)) if need_b else None
            return gx, gw, gb
        AG.record(node, (x, w, b), out, bw, saved=(x, w))
    return out


def conv_transpose3(x, w, b, stride, padding, dilation, groups, osize, node="ConvolutionBackward0"):
    """Transposed convolution of x (N, Cin, D, H, W) with w (Cin, Cout/groups, KD, KH, KW): out (N, Cout, *osize)
    (osize includes the output padding): the input gradient of the convolution with w."""
    rt = rt_of(x)
    geo = (stride, padding, dilation, groups)
    w_c = c0(w)
    N = x._shape[0]
    Cout = w._shape[1] * groups
    with AG.no_grad():
        out = _bwd_in3(rt, x, w_c, geo, (N, Cout) + tuple(osize))
        if b is not None and out.numel():
            out = out + b.view(1, Cout, 1, 1, 1)
    sync_if_shared(rt, x, w, b)
    if AG.needs_grad(x, w, b):
        xd, wshape = x.detach(), w._shape
        need_x, need_w, need_b = x._requires_grad, w._requires_grad, b is not None and b._requires_grad
        xo = x._shape[2:]

        def bw(g):
            rg = rt_of(g)
            gx = _fwd3(rg, g, w_c, None, geo, xo) if need_x else None
            # the weight gradient of the convolution of g giving x
            gw = _bwd_w3(rg, xd, g, geo, wshape) if need_w else None
            gb = g.sum((0, 2, 3, 4)) if need_b else None
            return gx, gw, gb
        AG.record(node, (x, w, b), out, bw, saved=(x, w))
    return out
