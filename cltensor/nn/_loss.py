"""Fused cross-entropy / NLL losses with class-index targets (templates/loss.mako), with their backward."""
import numpy as np

from .. import _dtypes as D
from .. import _kernels as K
from ..autograd import _tape as AG
from .._launch import rt_of, idx_np
from .._tensor import empty_tensor
from ._common import acc_of, c0, as_shape, launch, zeros, check_err, idx_name

def class_loss(x3, target, weight, reduction, ignore_index, label_smoothing, log_input, out_shape):
    """Cross-entropy (log_input=False, logits) or NLL (log_input=True) with class-index targets.
    x3: (N, C, S) logits / log-probabilities; target: N*S int64 class indices."""
    rt = rt_of(x3)
    dt = x3._dtype
    acc = acc_of(dt)
    N, C, S = x3._shape
    NS = N * S
    xc = c0(x3)
    tc = c0(target)
    w = c0(weight.to(dt)) if weight is not None else None
    loss = empty_tensor((NS,), acc, x3._device)
    wt = empty_tensor((NS,), acc, x3._device)
    lse = empty_tensor((NS,), acc, x3._device)
    err = zeros((2,), D.int64, x3._device)
    smooth = float(label_smoothing) > 0 and not log_input
    idx = idx_name(xc.numel() + C)
    it = idx_np(idx)
    if NS:
        k = K.get(rt, "loss", "ce_fwd", t=dt, acc=acc, idx=idx, has_w=w is not None, smooth=smooth,
                  log_input=bool(log_input))
        launch(rt, k, NS, [xc._st.buf, tc._st.buf, (w if w is not None else xc)._st.buf, loss._st.buf,
                            wt._st.buf, lse._st.buf, err._st.buf, np.int32(C), it(S), it(NS),
                            np.int64(ignore_index), acc.np.type(label_smoothing)])
        check_err(err, "Target {} is out of bounds.")
    with AG.no_grad():
        if reduction == "none":
            out = as_shape(loss.to(dt), out_shape)
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
            gc = c0(g.to(dt))
            dx = empty_tensor((N, C, S), dt, x3._device)
            if NS:
                kb = K.get(rt, "loss", "ce_bwd", t=dt, acc=acc, idx=idx, has_w=w is not None, smooth=smooth,
                           log_input=bool(log_input), mean=mean)
                launch(rt, kb, NS, [xc._st.buf, tc._st.buf, (w if w is not None else xc)._st.buf, lse._st.buf,
                                     gc._st.buf, it(0), it(1 if reduction == "none" else 0),
                                     (tw if tw is not None else loss)._st.buf, dx._st.buf, np.int32(C), it(S),
                                     it(NS), np.int64(ignore_index), acc.np.type(label_smoothing)])
            return (dx,)
        AG.record("NllLossBackward0", (x3,), out, bw, saved=(x3,))
    return out
