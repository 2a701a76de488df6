"""KL divergence KL(p || q) between distributions: a registry of closed forms keyed by the two types, looked up
by the most specific registered pair along both classes' method resolution orders."""
import math

from ._ns import T, lgamma, digamma, lbeta
from .continuous import Normal, LogNormal, Uniform, Exponential, Laplace, Cauchy, Gamma, Beta, Dirichlet
from .discrete import Bernoulli, Categorical, OneHotCategorical, Geometric, Poisson

__all__ = ["kl_divergence", "register_kl"]

_KL = {}
_CACHE = {}


def register_kl(type_p, type_q):
    """Decorator registering fn(p, q) as KL(p || q) for p of type_p and q of type_q."""
    if not (isinstance(type_p, type) and isinstance(type_q, type)):
        raise TypeError(f"Expected type_p and type_q to be types, got {type_p} and {type_q}")

    def decorator(fn):
        _KL[type_p, type_q] = fn
        _CACHE.clear()
        return fn
    return decorator


def _dispatch(type_p, type_q):
    best, best_rank = None, None
    mro_p, mro_q = type_p.__mro__, type_q.__mro__
    for (sp, sq), fn in _KL.items():
        if sp in mro_p and sq in mro_q:
            rank = (mro_p.index(sp), mro_q.index(sq))
            if best_rank is None or sum(rank) < sum(best_rank) or (sum(rank) == sum(best_rank) and rank < best_rank):
                best, best_rank = fn, rank
    return best


def kl_divergence(p, q):
    """KL(p || q), batched over the distributions' batch_shape."""
    key = (type(p), type(q))
    if key not in _CACHE:
        _CACHE[key] = _dispatch(*key)
    fn = _CACHE[key]
    if fn is None:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type {p.__class__.__name__} and q type "
                                  f"{q.__class__.__name__}")
    return fn(p, q)


def _softplus(x):
    return -T.nn.functional.logsigmoid(-x)


@register_kl(Normal, Normal)
@register_kl(LogNormal, LogNormal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    lp, lq = p.logits, q.logits
    return p.probs * (_softplus(-lq) - _softplus(-lp)) + (1 - p.probs) * (_softplus(lq) - _softplus(lp))


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    t = T.where(q.probs == 0, T.full_like(t, math.inf), t)
    t = T.where(p.probs == 0, T.zeros_like(t), t)
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    ratio = q.rate / p.rate
    return ratio - 1 - ratio.log()


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    ap, bp, aq, bq = p.concentration, p.rate, q.concentration, q.rate
    return ((ap - aq) * digamma(ap) - lgamma(ap) + lgamma(aq) + aq * (bp.log() - bq.log())
            + ap * (bq - bp) / bp)


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    ap, bp, aq, bq = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    return (lbeta(aq, bq) - lbeta(ap, bp) + (ap - aq) * digamma(ap) + (bp - bq) * digamma(bp)
            + (aq - ap + bq - bp) * digamma(ap + bp))


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    ap, aq = p.concentration, q.concentration
    sp = ap.sum(-1)
    return (lgamma(sp) - lgamma(aq.sum(-1)) + (lgamma(aq) - lgamma(ap)).sum(-1)
            + ((ap - aq) * (digamma(ap) - digamma(sp).unsqueeze(-1))).sum(-1))


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    r = ((q.high - q.low) / (p.high - p.low)).log()
    outside = (q.low > p.low) | (q.high < p.high)
    return T.where(outside, T.full_like(r, math.inf), r)


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    ratio = p.scale / q.scale
    d = (p.loc - q.loc).abs()
    return -ratio.log() + d / q.scale + ratio * (-d / p.scale).exp() - 1


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    return (((p.scale + q.scale).pow(2) + (p.loc - q.loc).pow(2)) / (4 * p.scale * q.scale)).log()


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    return T.xlogy(p.rate, p.rate) - T.xlogy(p.rate, q.rate) - (p.rate - q.rate)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    return -p.entropy() - (-q.probs).log1p() / p.probs - q.logits


def _kl_gamma_terms(ap, bp, aq, bq):
    return ((ap - aq) * digamma(ap) - lgamma(ap) + lgamma(aq) + aq * (bp.log() - bq.log()) + ap * (bq - bp) / bp)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    # Exponential(rate) is Gamma(1, rate)
    return _kl_gamma_terms(T.ones_like(p.rate), p.rate, q.concentration, q.rate)


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return _kl_gamma_terms(p.concentration, p.rate, T.ones_like(q.rate), q.rate)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    # -H(p) + E_p[-log q]; E_p[(x - mu)^2] = ((high - mu)^3 - (low - mu)^3) / (3 (high - low))
    width = p.high - p.low
    m2 = ((p.high - q.loc).pow(3) - (p.low - q.loc).pow(3)) / (3 * width)
    return -width.log() + q.scale.log() + 0.5 * math.log(2 * math.pi) + m2 / (2 * q.scale.pow(2))
