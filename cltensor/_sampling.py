"""`multinomial`: indices drawn from rows of (unnormalised) probabilities, built from existing ops.

With replacement: index i is drawn when cdf[i-1] <= u * total < cdf[i] (u uniform in [0, 1)), counted as the
number of cdf entries <= u * total, so a category of probability 0 (a flat step of the cdf) is never drawn.
Without replacement: the `num_samples` largest keys p / E with E ~ Exp(1) (the exponential race, as PyTorch's
CPU kernel does), so categories of probability 0 come last. Input checks need the values: one host sync.
"""
from . import _dtypes as D
from .autograd import _tape as AG
from ._tensor import Tensor
from ._reduce import _finish_out

_CHUNK = 1 << 24     # compare at most this many (sample, category) pairs at once


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    import cltensor as ct
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if type(num_samples) is not int:
        raise TypeError(f"multinomial(): argument 'num_samples' (position 2) must be int, not "
                        f"{type(num_samples).__name__}")
    if not input._dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {input._dtype._alias}")
    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    n = input._shape[-1]
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > n:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    p = input if input.dim() == 2 else input.unsqueeze(0)
    rows = p._shape[0]
    with AG.no_grad():
        if rows == 0:
            idx = ct.empty(0, num_samples, dtype=D.int64, device=input._device)
        else:
            if n == 0:
                raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
            pf = p.float() if p._dtype is D.float16 else p
            bad, empty = ct.stack([(~ct.isfinite(pf) | (pf < 0)).any(), (pf.sum(-1) <= 0).any()]).tolist()
            if bad:
                raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
            if empty:
                raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
            idx = (_with_replacement if replacement else _without)(ct, pf, num_samples, generator)
        if input.dim() == 1:
            idx = idx[0]
        if out is not None and out._dtype is not D.int64:
            raise RuntimeError(f"multinomial(): expected out to have dtype Long, but got {out._dtype._alias}")
        return _finish_out(idx, out, "multinomial")


def _with_replacement(ct, pf, s, generator):
    rows, n = pf._shape
    cdf = pf.cumsum(-1)
    v = ct.rand(rows, s, generator=generator, dtype=pf._dtype, device=pf._device) * cdf[:, -1:]
    # the last category of non-zero probability: where u * total rounds up to the total
    last = ((pf > 0) * ct.arange(n, device=pf._device)).amax(-1, keepdim=True)
    step = max(1, _CHUNK // (rows * n))
    parts = [(cdf.unsqueeze(1) <= v[:, j:j + step].unsqueeze(2)).sum(-1) for j in range(0, s, step)]
    idx = parts[0] if len(parts) == 1 else ct.cat(parts, 1)
    return ct.minimum(idx, last)


def _without(ct, pf, s, generator):
    e = ct.rand(pf._shape, generator=generator, dtype=pf._dtype, device=pf._device).log_().neg_()   # Exp(1)
    return (pf / e).topk(s, -1).indices
