"""KL divergences across families. Most pairs are written as KL(p || q) = E_p[-log q(X)] - H(p): the cross entropy
needs only a few expectations under p (E X, E X^2, E log X, E log(1 - X), E exp(t X)), which `_Expect` gives per
family of p, and each family of q states which of them its log density uses. Pairs whose q cannot cover p's
support are +inf, as registered by PyTorch; the Bregman divergence covers two members of one exponential family."""
import math

from ._ns import T, lgamma, digamma, lbeta
from .continuous import Normal, Uniform, Exponential, Laplace, Gamma, Beta
from .continuous_more import Gumbel, Pareto, ContinuousBernoulli, HalfNormal
from .discrete import Bernoulli, Binomial, Poisson
from .multivariate import MultivariateNormal, LowRankMultivariateNormal
from .exp_family import ExponentialFamily, _fold_event
from .kl import register_kl, kl_divergence, _kl_normal_normal
from .transformed import TransformedDistribution

__all__ = []

_EULER = 0.57721566490153286061


def _inf_like(x):
    return T.full_like(x, math.inf)


def _xlogx(x):
    return T.xlogy(x, x)


class _Expect:
    """Expectations under p used by the cross entropies (each computed when asked for)."""

    def __init__(self, p):
        self.p = p

    def m1(self):
        return self.p.mean

    def m2(self):
        return self.p.variance + self.p.mean.pow(2)

    def log(self):
        raise NotImplementedError

    def mgf(self, t):
        raise NotImplementedError


class _BetaE(_Expect):
    def log(self):
        a, b = self.p.concentration1, self.p.concentration0
        return digamma(a) - digamma(a + b)


class _ExponentialE(_Expect):
    def m2(self):
        return 2 * self.p.rate.pow(-2)

    def mgf(self, t):
        return self.p.rate / (self.p.rate - t)


class _GammaE(_Expect):
    def m2(self):
        c, r = self.p.concentration, self.p.rate
        return c * (c + 1) / r.pow(2)

    def log(self):
        return digamma(self.p.concentration) - self.p.rate.log()

    def mgf(self, t):
        return (1 - t / self.p.rate).pow(-self.p.concentration)


class _GumbelE(_Expect):
    def m2(self):
        s = self.p.scale
        return (math.pi ** 2 / 6) * s.pow(2) + self.p.mean.pow(2)


class _LaplaceE(_Expect):
    def m2(self):
        return 2 * self.p.scale.pow(2) + self.p.loc.pow(2)


class _NormalE(_Expect):
    def m2(self):
        return self.p.scale.pow(2) + self.p.loc.pow(2)

    def mgf(self, t):
        return (self.p.loc * t + 0.5 * (self.p.scale * t).pow(2)).exp()

    def abs_dev(self, c):
        """E|X - c|: the mean of a folded normal."""
        s = self.p.scale
        d = self.p.loc - c
        return s * math.sqrt(2 / math.pi) * (-0.5 * (d / s).pow(2)).exp() + d * (d / (s * math.sqrt(2))).erf()


class _ParetoE(_Expect):
    def m1(self):
        a = self.p.alpha
        return a * self.p.scale / (a - 1)

    def m2(self):
        a, s = self.p.alpha, self.p.scale
        return a * s.pow(2) / (a - 2)

    def log(self):
        return self.p.scale.log() + self.p.alpha.reciprocal()


class _UniformE(_Expect):
    def m2(self):
        lo, hi = self.p.low, self.p.high
        return (hi.pow(2) + hi * lo + lo.pow(2)) / 3

    def log(self):
        lo, hi = self.p.low, self.p.high
        return (_xlogx(hi) - _xlogx(lo)) / (hi - lo) - 1

    def log1m(self):
        lo, hi = self.p.low, self.p.high
        return (_xlogx(1 - lo) - _xlogx(1 - hi)) / (hi - lo) - 1

    def mgf(self, t):
        lo, hi = self.p.low, self.p.high
        return ((t * hi).exp() - (t * lo).exp()) / (t * (hi - lo))


# E_p[-log q(X)] for each family of q, from the expectations e of p
def _xent_normal(q, e):
    m1, m2 = e.m1(), e.m2()
    return (0.5 * math.log(2 * math.pi) + q.scale.log()
            + (m2 - 2 * q.loc * m1 + q.loc.pow(2)) / (2 * q.scale.pow(2)))


def _xent_exponential(q, e):
    return q.rate * e.m1() - q.rate.log()


def _xent_gamma(q, e):
    a, b = q.concentration, q.rate
    return lgamma(a) - a * b.log() - (a - 1) * e.log() + b * e.m1()


def _xent_gumbel(q, e):
    # -log q(x) = log s + z + exp(-z), z = (x - loc) / s; E exp(-z) = exp(loc / s) E exp(-X / s)
    s = q.scale
    return s.log() + (e.m1() - q.loc) / s + (q.loc / s).exp() * e.mgf(-1 / s)


def _xent_continuous_bernoulli(q, e):
    return -(q._log_norm() + e.m1() * q.logits + (-q.probs).log1p())


def _xent_beta(q, e):
    a, b = q.concentration1, q.concentration0
    return lbeta(a, b) - (a - 1) * e.log() - (b - 1) * e.log1m()


def _xent_pareto(q, e):
    return (q.alpha + 1) * e.log() - q.alpha.log() - q.alpha * q.scale.log()


def _cross(p, q, expect, xent):
    return xent(q, expect(p)) - p.entropy()


def _pair(tp, tq, expect, xent, infinite_where=None):
    """Registers KL(tp || tq) = E_p[-log q] - H(p), +inf where infinite_where(p, q) holds."""
    def kl(p, q):
        r = _cross(p, q, expect, xent)
        if infinite_where is not None:
            r = T.where(infinite_where(p, q), _inf_like(r), r)
        return r
    kl.__name__ = f"_kl_{tp.__name__.lower()}_{tq.__name__.lower()}"
    register_kl(tp, tq)(kl)
    return kl


def _infinite_pairs(tp, tqs, param):
    def kl(p, q):
        return _inf_like(getattr(p, param))
    kl.__name__ = f"_kl_{tp.__name__.lower()}_infinity"
    for tq in tqs:
        register_kl(tp, tq)(kl)


# p on the whole real line: q with a bounded-below support cannot cover it
_BOUNDED = (Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform)
_infinite_pairs(Normal, _BOUNDED, "loc")
_infinite_pairs(Laplace, _BOUNDED, "loc")
_infinite_pairs(Gumbel, _BOUNDED, "loc")
_infinite_pairs(Exponential, (Beta, ContinuousBernoulli, Pareto, Uniform), "rate")
_infinite_pairs(Gamma, (Beta, ContinuousBernoulli, Pareto, Uniform), "concentration")
_infinite_pairs(Pareto, (Beta, ContinuousBernoulli, Uniform), "scale")
_infinite_pairs(Beta, (Pareto,), "concentration1")
_infinite_pairs(ContinuousBernoulli, (Pareto,), "probs")
_infinite_pairs(Poisson, (Bernoulli, Binomial), "rate")

_pair(Beta, Normal, _BetaE, _xent_normal)
_pair(Beta, Exponential, _BetaE, _xent_exponential)
_pair(Beta, Gamma, _BetaE, _xent_gamma)
_pair(Beta, ContinuousBernoulli, _BetaE, _xent_continuous_bernoulli)
_pair(Beta, Uniform, _BetaE, lambda q, e: (q.high - q.low).log(),
      lambda p, q: (q.low > 0) | (q.high < 1))
_pair(ContinuousBernoulli, Normal, _Expect, _xent_normal)
_pair(ContinuousBernoulli, Exponential, _Expect, _xent_exponential)
_pair(ContinuousBernoulli, Uniform, _Expect, lambda q, e: (q.high - q.low).log(),
      lambda p, q: (q.low >= 0) | (q.high <= 1))
_pair(Exponential, Normal, _ExponentialE, _xent_normal)
_pair(Exponential, Gumbel, _ExponentialE, _xent_gumbel)
_pair(Gamma, Normal, _GammaE, _xent_normal)
_pair(Gamma, Gumbel, _GammaE, _xent_gumbel)
_pair(Gumbel, Normal, _GumbelE, _xent_normal)
_pair(Laplace, Normal, _LaplaceE, _xent_normal)
_pair(Normal, Gumbel, _NormalE, _xent_gumbel)
_pair(Pareto, Exponential, _ParetoE, _xent_exponential, lambda p, q: p.alpha <= 1)
_pair(Pareto, Gamma, _ParetoE, _xent_gamma, lambda p, q: p.alpha <= 1)
_pair(Pareto, Normal, _ParetoE, _xent_normal, lambda p, q: p.alpha <= 2)
_pair(Uniform, Beta, _UniformE, _xent_beta, lambda p, q: (p.high > 1) | (p.low < 0))
_pair(Uniform, ContinuousBernoulli, _UniformE, _xent_continuous_bernoulli,
      lambda p, q: (p.high >= 1) | (p.low <= 0))
_pair(Uniform, Exponential, _UniformE, _xent_exponential, lambda p, q: p.low < 0)
_pair(Uniform, Gamma, _UniformE, _xent_gamma, lambda p, q: p.low < 0)
_pair(Uniform, Gumbel, _UniformE, _xent_gumbel)
_pair(Uniform, Pareto, _UniformE, _xent_pareto, lambda p, q: p.low < q.scale)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    # -log q(x) = log(2 b) + |x - loc| / b
    return (2 * q.scale).log() + _NormalE(p).abs_dev(q.loc) / q.scale - p.entropy()


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    # -log q(k) = rate - k log(rate) + log k!, and log k! = 0 on {0, 1}
    return q.rate - p.probs * q.rate.log() - p.entropy()


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    # E_p exp(-X / s_q) = exp(-loc_p / s_q) Gamma(1 + s_p / s_q)
    r = p.scale / q.scale
    shift = (q.loc - p.loc) / q.scale
    return -r.log() - shift + _EULER * r + (shift + lgamma(1 + r)).exp() - (1 + _EULER)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    ra = q.alpha / p.alpha
    r = q.alpha * (p.scale / q.scale).log() - ra.log() + ra - 1
    return T.where(p.scale < q.scale, _inf_like(r), r)


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_cb_cb(p, q):
    # log p(x) - log q(x) = x (logit_p - logit_q) + log C_p + log(1 - p) - log C_q - log(1 - q)
    return (p.mean * (p.logits - q.logits) + p._log_norm() + (-p.probs).log1p() - q._log_norm()
            - (-q.probs).log1p())


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    # host read: the error below depends on the values
    if bool((p.total_count < q.total_count).any()):
        raise NotImplementedError("KL between Binomials where q.total_count > p.total_count is not implemented")
    n = p.total_count
    r = n * (p.probs * (p.logits - q.logits) + (-p.probs).log1p() - (-q.probs).log1p())
    return T.where(n > q.total_count, _inf_like(r), r)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p, q):
    if p.transforms != q.transforms:
        raise NotImplementedError
    if p.event_shape != q.event_shape:
        raise NotImplementedError
    return kl_divergence(p.base_dist, q.base_dist)


@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily_expfamily(p, q):
    """Bregman divergence of the log-normaliser: A(eta_q) - A(eta_p) - <eta_q - eta_p, grad A(eta_p)>."""
    if type(p) is not type(q):
        raise NotImplementedError("The cross KL-divergence between different exponential families cannot "
                                  "be computed using Bregman divergences")
    eta_p, a_p, grads = p._normaliser_and_gradients()
    eta_q = q._natural_params
    r = q._log_normalizer(*eta_q) - a_p
    for ep, eq, g in zip(eta_p, eta_q, grads):
        r = r - _fold_event((eq - ep) * g, len(q.event_shape))
    return r


def _gaussian_factor(d):
    """S with S S^T = the covariance (batch of d): the Cholesky factor of a MultivariateNormal, [W, diag(sqrt D)]
    of a LowRankMultivariateNormal."""
    if isinstance(d, LowRankMultivariateNormal):
        return T.cat([d._W, T.diag_embed(d._D.sqrt())], -1)
    return d._unbroadcasted_scale_tril


def _gaussian_log_det(d):
    if isinstance(d, LowRankMultivariateNormal):
        return d._log_det()
    return 2 * d._half_log_det()


def _kl_gaussians(p, q, what):
    """0.5 (tr(Sq^-1 Sp) + |Lq^-1 (mu_q - mu_p)|^2 - k + log|Sq| - log|Sp|), with Lq the Cholesky factor of q's
    covariance (formed densely for a low-rank q: k x k)."""
    if p.event_shape != q.event_shape:
        raise ValueError(f"KL-divergence between two {what} Multivariate Normals with" + " " * 26
                         + "different event shapes cannot be computed")
    k = p.event_shape[0]
    Lq = (T.linalg.cholesky(q._W @ q._W.mT + T.diag_embed(q._D)) if isinstance(q, LowRankMultivariateNormal)
          else q._unbroadcasted_scale_tril)
    Sp = _gaussian_factor(p)
    batch = tuple(T.broadcast_shapes(tuple(Lq.shape[:-2]), tuple(Sp.shape[:-2])))
    tr = T.linalg.solve_triangular(Lq.expand(batch + (k, k)), Sp.expand(batch + tuple(Sp.shape[-2:])),
                                   upper=False).pow(2).sum((-2, -1))
    diff = q.loc - p.loc
    batch2 = tuple(T.broadcast_shapes(tuple(Lq.shape[:-2]), tuple(diff.shape[:-1])))
    z = T.linalg.solve_triangular(Lq.expand(batch2 + (k, k)), diff.expand(batch2 + (k,)).unsqueeze(-1), upper=False)
    maha = z.squeeze(-1).pow(2).sum(-1)
    return 0.5 * (tr + maha - k + _gaussian_log_det(q) - _gaussian_log_det(p))


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrank_lowrank(p, q):
    return _kl_gaussians(p, q, "Low Rank")


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_mvn_lowrank(p, q):
    return _kl_gaussians(p, q, "(Low Rank)")


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrank_mvn(p, q):
    return _kl_gaussians(p, q, "(Low Rank)")
