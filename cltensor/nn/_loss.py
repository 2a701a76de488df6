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
    """Connectionist temporal classification: the forward (alpha) recursion in log space over the extended label
    sequence (blanks between and around the labels), vectorised over the batch and the extended positions, one
    step per time frame; the gradient is that of the recursion (log-sum-exp of finite values: unreachable states
    hold a large negative number instead of -inf, so no NaN enters the backward). The lengths are read on the host
    (they set the shapes of the recursion), as PyTorch's CPU kernel does."""
    from .._creation import tensor as _tensor, full as _full
    from .._shape import stack, cat
    from .. import _ops as O
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
    skip = np.zeros((N, L), bool)
    for n in range(N):
        r = rows[n]
        ext[n, 1:2 * len(r):2] = r
        for s in range(3, 2 * len(r), 2):
            skip[n, s] = ext[n, s] != ext[n, s - 2]
    dev = lp._device
    neg = -1e30 if lp._dtype is not D.float16 else -6e4
    idx = _tensor(ext, dtype=D.int64, device=dev)
    lpe = lp.gather(2, idx.unsqueeze(0).expand(T, N, L)) if T else None          # (T, N, L)
    if T == 0:
        ll = _full((N,), neg, dtype=lp._dtype, device=dev)
    else:
        init = np.zeros((N, L), bool)
        init[:, 0] = True
        for n in range(N):
            if tl[n] > 0:
                init[n, 1] = True
        negt = _full((), neg, dtype=lp._dtype, device=dev)
        alpha = O.where(_tensor(init, device=dev), lpe[0], negt)
        skip_t = _tensor(skip, device=dev)
        pad1 = _full((N, 1), neg, dtype=lp._dtype, device=dev)
        pad2 = _full((N, 2), neg, dtype=lp._dtype, device=dev)
        live = [_tensor(np.array([[t < il[n]] for n in range(N)]), device=dev) for t in range(T)]
        for t in range(1, max(il) if il else 1):
            a1 = cat([pad1, alpha[:, :L - 1]], 1)
            a2 = O.where(skip_t, cat([pad2, alpha[:, :L - 2]], 1), negt) if L > 2 else None
            terms = [alpha, a1] + ([a2] if a2 is not None else [])
            new = stack(terms).logsumexp(0) + lpe[t]
            alpha = O.where(live[t], new, alpha)
        last = np.array([2 * tl[n] for n in range(N)], np.int64)
        prev = np.array([max(2 * tl[n] - 1, 0) for n in range(N)], np.int64)
        a_last = alpha.gather(1, _tensor(last, device=dev).reshape(N, 1)).reshape(N)
        a_prev = alpha.gather(1, _tensor(prev, device=dev).reshape(N, 1)).reshape(N)
        has = _tensor(np.array([tl[n] > 0 for n in range(N)]), device=dev)
        a_prev = O.where(has, a_prev, negt)
        ll = stack([a_last, a_prev]).logsumexp(0)
        ll = O.where(_tensor(np.array([il[n] > 0 for n in range(N)]), device=dev), ll, negt)
    loss = -ll
    if T and AG.needs_grad(lp):
        # PyTorch's gradient is that of the loss through a log_softmax (exp(lp) - posterior): add exp(lp) over the
        # live frames as a term of value zero
        e = lp.exp()
        live_tn = _tensor(np.array([[t < il[n] for n in range(N)] for t in range(T)]), device=dev).unsqueeze(-1)
        loss = loss + O.where(live_tn, e - e.detach(), 0.0).sum((0, 2))
    inf = float("inf")
    loss = O.where(loss > abs(neg) / 10, 0.0 if zero_infinity else inf, loss)
    if reduction == "none":
        return loss if batched else loss.reshape(())
    if reduction == "sum":
        return loss.sum()
    tlt = _tensor(np.maximum(np.array(tl, np.float64), 1), dtype=lp._dtype, device=dev)
    return (loss / tlt).mean()
