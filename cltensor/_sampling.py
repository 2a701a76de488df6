"""`multinomial`: indices drawn from rows of (unnormalised) probabilities, built from existing ops.

With replacement: index i is drawn when cdf[i-1] <= u * total < cdf[i] (u uniform in [0, 1)), counted as the
number of cdf entries <= u * total, so a category of probability 0 (a flat step of the cdf) is never drawn.
Without replacement: the `num_samples` largest keys p / E with E ~ Exp(1) (the exponential race, as PyTorch's
CPU kernel does), so categories of probability 0 come last. Input checks need the values: one host sync.
"""
from . import _dtypes as D
from . import _ops as O
from .autograd import _tape as AG
from ._creation import empty, rand, rand_like, arange, _random_fill, _float_dtype
from ._registry import register, register_method
from ._shape import cat, stack
from ._tensor import Tensor, empty_tensor
from ._reductions import _finish_out

_CHUNK = 1 << 24     # compare at most this many (sample, category) pairs at once


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
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
            idx = empty(0, num_samples, dtype=D.int64, device=input._device)
        else:
            if n == 0:
                raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
            pf = p.float() if p._dtype in (D.float16, D.bfloat16) else p
            bad, no_mass = stack([(~pf.isfinite() | (pf < 0)).any(), (pf.sum(-1) <= 0).any()]).tolist()
            if bad:
                raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
            if no_mass:
                raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
            idx = (_with_replacement if replacement else _without)(pf, num_samples, generator)
        if input.dim() == 1:
            idx = idx[0]
        if out is not None and out._dtype is not D.int64:
            raise RuntimeError(f"multinomial(): expected out to have dtype Long, but got {out._dtype._alias}")
        return _finish_out(idx, out, "multinomial")


def _with_replacement(pf, s, generator):
    rows, n = pf._shape
    cdf = pf.cumsum(-1)
    v = rand(rows, s, generator=generator, dtype=pf._dtype, device=pf._device) * cdf[:, -1:]
    # the last category of non-zero probability: where u * total rounds up to the total
    last = ((pf > 0) * arange(n, device=pf._device)).amax(-1, keepdim=True)
    step = max(1, _CHUNK // (rows * n))
    parts = [(cdf.unsqueeze(1) <= v[:, j:j + step].unsqueeze(2)).sum(-1) for j in range(0, s, step)]
    idx = parts[0] if len(parts) == 1 else cat(parts, 1)
    return idx.minimum(last)


def _without(pf, s, generator):
    e = rand(pf._shape, generator=generator, dtype=pf._dtype, device=pf._device).log_().neg_()   # Exp(1)
    return (pf / e).topk(s, -1).indices


def _multinomial_method(self, num_samples, replacement=False, *, generator=None):
    return multinomial(self, num_samples, replacement, generator=generator)


_multinomial_method.__name__ = _multinomial_method.__qualname__ = "multinomial"
register("multinomial", multinomial, method=_multinomial_method)


# ---------------------------------------------------------------- in-place random fills (Tensor methods)

def _inplace_random(t, kind, p0=0.0, p1=1.0, i0=0, span=1, generator=None):
    O.check_inplace(t)
    O._check_write(t)
    return _random_fill(t, kind, p0, p1, i0, span, generator)


def _uniform_(self, a=0.0, b=1.0, *, generator=None, **kw):
    a, b = kw.get("from", a), kw.get("to", b)
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}")
    _float_dtype(self._dtype, "check_uniform_bounds")
    return _inplace_random(self, "uniform", float(a), float(b), generator=generator)


def _normal_(self, mean=0.0, std=1.0, *, generator=None):
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    _float_dtype(self._dtype, "normal_kernel_cpu")
    return _inplace_random(self, "normal", float(mean), float(std), generator=generator)


def _random_(self, a=0, b=None, *, generator=None, **kw):
    a, b = kw.get("from", a), kw.get("to", b)
    if b is None:                      # random_(to) / random_(): [0, to) or the dtype's range
        if a != 0:
            a, b = 0, a
        else:
            b = (1 << min(53 if self._dtype.category >= 2 else self._dtype.itemsize * 8 - (self._dtype.is_signed),
                          63)) if self._dtype is not D.bool_ else 2
    if b <= a:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={a} >= to={b}")
    return _inplace_random(self, "randint", i0=int(a), span=int(b) - int(a), generator=generator)


def _bernoulli_(self, p=0.5, *, generator=None):
    if isinstance(p, Tensor):
        return self.copy_(O.apply("lt", rand_like(p, dtype=D.float64 if p._dtype is D.float64 else D.float32,
                                                     generator=generator), p))
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return _inplace_random(self, "bernoulli", float(p), generator=generator)


def bernoulli(input, p=None, *, generator=None):
    """Draws 0/1 with probability `input` (or the scalar p), in input's dtype."""
    out = empty_tensor(input._shape, input._dtype, input._device)
    return _bernoulli_(out, input if p is None else p, generator=generator)


register("bernoulli", bernoulli, method=True, inplace=_bernoulli_)
for _n, _f in (("uniform_", _uniform_), ("normal_", _normal_), ("random_", _random_)):
    register_method(_n, _f)
