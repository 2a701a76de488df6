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


def _host_ints(v):
    if hasattr(v, "_to_numpy_copy"):
        return [int(x) for x in np.asarray(v._to_numpy_copy()).reshape(-1)]
    return [int(x) for x in v]


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity):
    """Connectionist temporal classification: the alpha recursion in log space over the extended label sequence
    (templates/loss.mako ctc_alpha, one work-group per batch element), and PyTorch's gradient from the beta
    recursion (ctc_grad). The targets and lengths are read on the host (they set the extended label sequences and
    the label chains the gradient sums over), as PyTorch's CPU kernel does."""
    from .._creation import tensor as _tensor
    if not log_probs._dtype.is_floating_point:
        raise RuntimeError(f"\"ctc_loss_cpu\" not implemented for '{log_probs._dtype._alias}'")
    batched = log_probs.dim() == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    if lp.dim() != 3:
        raise RuntimeError(f"ctc_loss: expected log_probs to be 2-D or 3-D, got {log_probs.dim()}-D")
    T, N, Cc = lp._shape
    il = _host_ints(input_lengths)
    tl = _host_ints(target_lengths)
    if len(il) != N:
        raise RuntimeError(f"input_lengths must be of size batch_size")
    if len(tl) != N:
        raise RuntimeError(f"target_lengths must be of size batch_size")
    tg = np.asarray(targets._to_numpy_copy()).astype(np.int64)
    if not batched:
        tg = tg.reshape(1, -1) if tg.ndim <= 1 else tg
    if tg.ndim == 1:                      # concatenated targets
        offs = np.concatenate([[0], np.cumsum(tl)])
        rows = [tg[offs[n]:offs[n + 1]] for n in range(N)]
    else:
        rows = [tg[n, :tl[n]] for n in range(N)]
    for n in range(N):
        if il[n] > T:
            raise RuntimeError(f"Expected input_lengths to have value at most {T}, but got value {il[n]} (while "
                               f"checking arguments for ctc_loss_cpu)")
        if tg.ndim != 1 and tl[n] > tg.shape[1]:
            raise RuntimeError(f"Expected tensor to have size at least {tl[n]} at dimension 1, but got size "
                               f"{tg.shape[1]} for argument #2 'targets' (while checking arguments for ctc_loss_cpu)")
    S = max(tl) if tl else 0
    L = 2 * S + 1
    ext = np.full((N, L), blank, np.int64)
    nxt = np.full((N, L), -1, np.int32)
    first = np.zeros((N, L), np.int32)
    for n in range(N):
        r = rows[n]
        ext[n, 1:2 * len(r):2] = r
        last = {}
        for s_ in range(2 * len(r) + 1):
            lab = int(ext[n, s_])
            if lab in last:
                nxt[n, last[lab]] = s_
            else:
                first[n, s_] = 1
            last[lab] = s_
    dev = lp._device
    dt = lp._dtype
    acc = acc_of(dt)
    rt = rt_of(lp)
    lpc = c0(lp)
    up = lambda a, d: _tensor(a, dtype=d, device=dev)        # noqa: E731
    ext_t, il_t, tl_t = up(ext, D.int64), up(np.array(il, np.int32), D.int32), up(np.array(tl, np.int32), D.int32)
    alpha = empty_tensor((max(T, 1), N, L), acc, dev)
    nll = empty_tensor((N,), acc, dev)
    loss = empty_tensor((N,), acc, dev)
    ls = rt.local_size
    if N:
        k = K.get(rt, "loss", "ctc_alpha", t=dt, acc=acc)
        if k.__dict__.get("typed") is None:
            K.set_arg_types(k, [None] * 7 + [np.int32] * 5)
        K.launch(rt, k, (N * ls,), (ls,), [lpc._st.buf, ext_t._st.buf, il_t._st.buf, tl_t._st.buf, alpha._st.buf,
                                           nll._st.buf, loss._st.buf, np.int32(T), np.int32(N), np.int32(Cc),
                                           np.int32(L), np.int32(bool(zero_infinity))])
    out = loss.to(dt)
    if AG.needs_grad(lp):
        nxt_t, first_t = up(nxt, D.int32), up(first, D.int32)

        def bw(g):
            gc = c0(g.to(dt))
            grad = empty_tensor((T, N, Cc), dt, dev)
            if N and T:
                beta = empty_tensor((T, N, L), acc, dev)
                kb = K.get(rt, "loss", "ctc_grad", t=dt, acc=acc)
                if kb.__dict__.get("typed") is None:
                    K.set_arg_types(kb, [None] * 11 + [np.int32] * 5)
                K.launch(rt, kb, (N * ls,), (ls,), [lpc._st.buf, ext_t._st.buf, nxt_t._st.buf, first_t._st.buf,
                                                    il_t._st.buf, tl_t._st.buf, alpha._st.buf, beta._st.buf,
                                                    nll._st.buf, gc._st.buf, grad._st.buf, np.int32(T),
                                                    np.int32(N), np.int32(Cc), np.int32(L),
                                                    np.int32(bool(zero_infinity))])
            return (grad,)
        AG.record("CtcLossBackward0", (lp,), out, bw, saved=(lp,))
    if reduction == "none":
        return out if batched else out.reshape(())
    if reduction == "sum":
        return out.sum()
    tlt = _tensor(np.maximum(np.array(tl, np.float64), 1), dtype=dt, device=dev)
    return (out / tlt).mean()
