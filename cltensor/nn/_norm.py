"""Batch and layer normalisation (templates/norm.mako), each with its backward. Functions take validated
arguments (nn.functional checks and normalises them)."""
import numpy as np

from .. import _dtypes as D
from .. import _kernels as K
from .. import _ew
from .. import _creation
from ..autograd import _tape as AG
from .._launch import rt_of, idx_np
from .._tensor import empty_tensor, prod
from ._common import acc_of, c0, as_shape, launch, sync_if_shared, idx_name

CH = 32   # elements per work-item along rows in the row-chunk kernels

CHAN1_MAX = 1 << 15    # batch norm: one work-item per channel (no partials, one launch) up to N*S elements


def _chan1(rt, x3, ptypes):
    """The vector width of bn_chan1 for contiguous (N, C, S) x3, or 0 where it does not apply (dtype, S % 4,
    large planes, parameters of another dtype)."""
    N, C, S = x3._shape
    dt = x3._dtype
    if dt not in (D.float32, D.float64) or not 0 < N * S <= CHAN1_MAX or any(p is not dt for p in ptypes):
        return 0
    return next((v for v in ((16, 8, 4) if dt is D.float32 else (8, 4)) if S % v == 0), 0)


def _launch_chan1(rt, x3, mode, flag, vw, args):
    N, C, S = x3._shape
    idx = idx_name(x3.numel() + C * S)
    k = K.get(rt, "norm", "bn_chan1", t=x3._dtype, idx=idx, vw=vw, mode=mode, flag=bool(flag))
    if k.__dict__.get("typed") is None:
        K.set_arg_types(k, [None] * 7 + [np.int32, idx_np(idx), np.int32, x3._dtype.np.type, x3._dtype.np.type])
    ls = min(4, rt.local_size)       # few heavy work-items: spread them over several work-groups
    K.launch(rt, k, (K.round_up(C, ls),), (ls,), args[:8] + [idx_np(idx)(S)] + args[8:])


def _chan_partials(rt, x3, mode, mean=None, invstd=None, g3=None):
    """Per-channel partial reductions over (N, S) of contiguous (N, C, S) tensors; returns (part, P)."""
    N, C, S = x3._shape
    M = N * S
    dt = x3._dtype
    vw = next((v for v in ((16, 8, 4) if dt is D.float32 else (8, 4)) if S % v == 0), 0) if dt in (
        D.float32, D.float64) else 0
    if vw and M:
        # whole planes per work-item with vector loads: up to 512 elements each, yet >= 256 work-items where the
        # batch allows (the work-groups of 64 are PoCL's unit of parallelism)
        nb = max(1, min(N, 512 // S, (N * C) // 256))
        P = -(-N // nb)
        nf = 3 if mode == "stats" else 2
        part = empty_tensor((C * P * nf,), dt, x3._device)
        idx = idx_name(x3.numel() + C * S)
        k = K.get(rt, "norm", "chan_partial_v", t=dt, idx=idx, mode=mode, vw=vw)
        dummy = part._st.buf
        launch(rt, k, C * P, [x3._st.buf, g3._st.buf if g3 is not None else x3._st.buf,
                               mean._st.buf if mean is not None else dummy,
                               invstd._st.buf if invstd is not None else dummy,
                               part._st.buf, np.int32(C), idx_np(idx)(S), np.int32(N), np.int32(nb), np.int32(P)])
        return part, P
    # partials per channel: runs of >= 256 elements, and enough work-items (up to 16K) for several work-groups
    # (C * P = 64 made one work-group: PoCL ran it on one thread, serially over 2048 elements per item)
    P = max(1, min(256, -(-M // 256), max(1, 16384 // max(C, 1))))
    P = min(P, max(M, 1))
    L = -(-M // P) if M else 1
    acc = acc_of(x3._dtype)
    nf = 3 if mode == "stats" else 2
    part = empty_tensor((C * P * nf,), acc, x3._device)
    idx = idx_name(x3.numel() + C * S, M + L)
    it = idx_np(idx)
    k = K.get(rt, "norm", "chan_partial", t=x3._dtype, acc=acc, idx=idx, mode=mode)
    dummy = part._st.buf
    launch(rt, k, C * P, [x3._st.buf, g3._st.buf if g3 is not None else x3._st.buf,
                           mean._st.buf if mean is not None else dummy, invstd._st.buf if invstd is not None else dummy,
                           part._st.buf, np.int32(C), it(S), it(M), it(L), np.int32(P)])
    return part, P


def batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """x (N, C, *) ; returns y with an autograd node. Running stats are updated in place when training."""
    rt = rt_of(x)
    dt = x._dtype
    N, C = x._shape[0], x._shape[1]
    S = prod(x._shape[2:])
    x3 = as_shape(c0(x), (N, C, S))
    acc = acc_of(dt)
    pt = weight._dtype if weight is not None else (running_mean._dtype if running_mean is not None else dt)
    mean = empty_tensor((C,), acc, x._device)
    invstd = empty_tensor((C,), acc, x._device)
    upd = running_mean is not None and running_var is not None
    vw = _chan1(rt, x3, (running_mean._dtype, running_var._dtype) if upd else ()) if training else 0
    if vw:
        rm, rv = (running_mean, running_var) if upd else (mean, mean)
        a = acc.np.type
        _launch_chan1(rt, x3, "stats", upd, vw, [x3._st.buf, x3._st.buf, mean._st.buf, invstd._st.buf, rm._st.buf,
                                                  rv._st.buf, mean._st.buf, np.int32(C), np.int32(N), a(eps),
                                                  a(momentum if momentum is not None else 0.0)])
        if upd:
            running_mean._st.version += 1
            running_var._st.version += 1
    elif training:
        part, P = _chan_partials(rt, x3, "stats")
        upd = running_mean is not None and running_var is not None
        rm = running_mean if upd else mean
        rv = running_var if upd else mean
        rpt = rm._dtype if upd else acc
        k = K.get(rt, "norm", "bn_finalize", acc=acc, pt=rpt, upd=bool(upd))
        launch(rt, k, C, [part._st.buf, mean._st.buf, invstd._st.buf, rm._st.buf, rv._st.buf, np.int32(C),
                           np.int32(P), acc.np.type(eps), acc.np.type(momentum if momentum is not None else 0.0)])
        if upd:
            running_mean._st.version += 1
            running_var._st.version += 1
    else:
        k = K.get(rt, "norm", "bn_running", acc=acc, pt=running_mean._dtype)
        launch(rt, k, C, [running_mean._st.buf, running_var._st.buf, mean._st.buf, invstd._st.buf, np.int32(C),
                           acc.np.type(eps)])
    affine = weight is not None
    w_ = weight if weight is not None else mean
    b_ = bias if bias is not None else None
    if affine and b_ is None:
        b_ = _creation.zeros((C,), dtype=pt, device=x._device)
    y = empty_tensor(x._shape, dt, x._device)
    nch = -(-S // CH) if S else 0
    nwork = N * C * nch
    if nwork:
        idx = idx_name(x3.numel() + CH, nwork)
        k = K.get(rt, "norm", "bn_apply", t=dt, acc=acc, pt=pt, idx=idx, affine=affine, ch=CH)
        it = idx_np(idx)
        launch(rt, k, nwork, [x3._st.buf, y._st.buf, mean._st.buf, invstd._st.buf, c0(w_)._st.buf,
                               (c0(b_) if b_ is not None else mean)._st.buf, np.int32(C), it(S), it(nch), it(nwork)])
    sync_if_shared(rt, x)
    if AG.needs_grad(x, weight, bias):
        AG.record("NativeBatchNormBackward0", (x, weight, bias), y,
                  lambda g: _batch_norm_bwd(g, x3, weight, bias, mean, invstd, training, x._shape), saved=(x,))
    return y


def _batch_norm_bwd(gout, x3, weight, bias, mean, invstd, training, xshape):
    rt = rt_of(gout)
    dt = x3._dtype
    N, C, S = x3._shape
    acc = acc_of(dt)
    g3 = as_shape(c0(gout), (N, C, S))
    affine = weight is not None
    pt = weight._dtype if affine else dt
    sums = empty_tensor((2 * C,), acc, x3._device)
    gw = empty_tensor((C,), pt, x3._device) if affine else None
    gb = empty_tensor((C,), pt, x3._device) if affine else None
    vw = _chan1(rt, x3, (pt,))
    if vw:
        a = acc.np.type
        _launch_chan1(rt, x3, "grad", affine, vw, [x3._st.buf, g3._st.buf, mean._st.buf, invstd._st.buf, sums._st.buf,
                                                   (gw if affine else sums)._st.buf, (gb if affine else sums)._st.buf,
                                                   np.int32(C), np.int32(N), a(0), a(0)])
    else:
        part, P = _chan_partials(rt, x3, "grad", mean, invstd, g3)
        k = K.get(rt, "norm", "bn_gsum", acc=acc, pt=pt, has_w=affine)
        launch(rt, k, C, [part._st.buf, sums._st.buf, (gw if affine else sums)._st.buf,
                           (gb if affine else sums)._st.buf, np.int32(C), np.int32(P)])
    dx = empty_tensor(xshape, dt, x3._device)
    nch = -(-S // CH) if S else 0
    nwork = N * C * nch
    if nwork:
        idx = idx_name(x3.numel() + CH, nwork)
        it = idx_np(idx)
        k = K.get(rt, "norm", "bn_bwd_apply", t=dt, acc=acc, pt=pt, idx=idx, affine=affine, train=bool(training), ch=CH)
        launch(rt, k, nwork, [x3._st.buf, g3._st.buf, dx._st.buf, mean._st.buf, invstd._st.buf, sums._st.buf,
                               (c0(weight) if affine else sums)._st.buf, np.int32(C), it(S), it(nch), it(nwork),
                               acc.np.type(1.0 / max(N * S, 1))])
    return dx, gw, (gb if bias is not None else None)


# ================================================================================================ layer norm

def layer_norm(x, nshape, weight, bias, eps):
    rt = rt_of(x)
    dt = x._dtype
    Dn = prod(nshape)
    R = x.numel() // Dn if Dn else 0
    xc = c0(x)
    acc = acc_of(dt)
    pt = weight._dtype if weight is not None else (bias._dtype if bias is not None else dt)
    y = empty_tensor(x._shape, dt, x._device)
    mean = empty_tensor((R,), acc, x._device)
    rstd = empty_tensor((R,), acc, x._device)
    if R and Dn:
        idx = idx_name(x.numel())
        it = idx_np(idx)
        k = K.get(rt, "norm", "ln_fwd", t=dt, acc=acc, pt=pt, idx=idx, has_w=weight is not None,
                  has_b=bias is not None)
        wb = c0(weight)._st.buf if weight is not None else mean._st.buf
        bb = c0(bias)._st.buf if bias is not None else mean._st.buf
        launch(rt, k, R, [xc._st.buf, y._st.buf, wb, bb, mean._st.buf, rstd._st.buf, it(R), it(Dn),
                           acc.np.type(eps)])
    sync_if_shared(rt, x)
    if AG.needs_grad(x, weight, bias):
        AG.record("NativeLayerNormBackward0", (x, weight, bias), y,
                  lambda g: _layer_norm_bwd(g, xc, weight, bias, mean, rstd, R, Dn), saved=(x,))
    return y


def _layer_norm_bwd(gout, xc, weight, bias, mean, rstd, R, Dn):
    rt = rt_of(gout)
    dt = xc._dtype
    acc = acc_of(dt)
    g = c0(gout)
    pt = weight._dtype if weight is not None else (bias._dtype if bias is not None else dt)
    dx = empty_tensor(xc._shape, dt, xc._device)
    gw = empty_tensor(weight._shape, pt, xc._device) if weight is not None else None
    gb = empty_tensor(bias._shape, pt, xc._device) if bias is not None else None
    if R and Dn:
        idx = idx_name(xc.numel())
        it = idx_np(idx)
        wb = c0(weight)._st.buf if weight is not None else mean._st.buf
        k = K.get(rt, "norm", "ln_bwd_x", t=dt, acc=acc, pt=pt, idx=idx, has_w=weight is not None)
        launch(rt, k, R, [xc._st.buf, g._st.buf, dx._st.buf, wb, mean._st.buf, rstd._st.buf, it(R), it(Dn)])
        if weight is not None or bias is not None:
            k = K.get(rt, "norm", "ln_bwd_wb", t=dt, acc=acc, pt=pt, idx=idx, has_w=weight is not None,
                      has_b=bias is not None)
            launch(rt, k, Dn, [xc._st.buf, g._st.buf, mean._st.buf, rstd._st.buf,
                                (gw if gw is not None else mean)._st.buf, (gb if gb is not None else mean)._st.buf,
                                it(R), it(Dn)])
    else:
        if gw is not None:
            _ew.run("x0", gw, [0], (pt,), pt)
        if gb is not None:
            _ew.run("x0", gb, [0], (pt,), pt)
    return dx, gw, gb
