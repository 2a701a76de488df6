"""More continuous families. Pushforwards of simpler ones, kept as TransformedDistribution subclasses so that
`base_dist` / `transforms` are there as in PyTorch (Gumbel, HalfNormal, HalfCauchy, Pareto, Weibull, Kumaraswamy,
InverseGamma, LogisticNormal), with moments and entropies in closed form; and families written from their
densities (FisherSnedecor, GeneralizedPareto, VonMises, ContinuousBernoulli)."""
import math
from numbers import Number

from . import constraints
from . import _random
from ._ns import T, lgamma, digamma, lbeta
from .continuous import Normal, Cauchy, Uniform, Exponential, Gamma, _open_uniform
from .distribution import (Distribution, broadcast_all, lazy_property, probs_to_logits, logits_to_probs,
                           _clamp_probs)
from .exp_family import ExponentialFamily
from .multivariate import Independent
from .transformed import TransformedDistribution
from .transforms import (AbsTransform, AffineTransform, ExpTransform, PowerTransform, StickBreakingTransform,
                         _softplus)

__all__ = ["Gumbel", "HalfNormal", "HalfCauchy", "Pareto", "Weibull", "Kumaraswamy", "InverseGamma",
           "LogisticNormal", "FisherSnedecor", "GeneralizedPareto", "VonMises", "ContinuousBernoulli"]

_EULER = 0.57721566490153286061
_LOG2 = math.log(2.0)


def _numbers(*xs):
    return all(isinstance(x, Number) for x in xs)


def _expand_pushforward(self, cls, batch_shape, _instance, names):
    """expand() of a TransformedDistribution subclass whose parameters `names` live on the instance."""
    new = self._get_checked_instance(cls, _instance)
    for n in names:
        setattr(new, n, self.__dict__[n].expand(tuple(batch_shape)))
    return TransformedDistribution.expand(self, batch_shape, new)


def _fill(like, value):
    return T.full_like(like, value)


class Gumbel(TransformedDistribution):
    """Density exp(-(z + exp(-z))) / scale, z = (x - loc) / scale: loc - scale log(-log U) for U uniform."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        fi = T.finfo(self.loc.dtype)
        base = Uniform(_fill(self.loc, fi.tiny), _fill(self.loc, 1 - fi.eps), validate_args=validate_args)
        # U -> log U -> -log U -> log(-log U) -> loc - scale log(-log U)
        steps = [ExpTransform().inv, AffineTransform(0, -T.ones_like(self.loc)), ExpTransform().inv,
                 AffineTransform(self.loc, -self.scale)]
        super().__init__(base, steps, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_pushforward(self, Gumbel, batch_shape, _instance, ("loc", "scale"))

    def _param_names(self):
        return ["loc", "scale"]

    def rsample(self, sample_shape=()):
        fi = T.finfo(self.loc.dtype)
        u = _open_uniform(self._extended_shape(sample_shape), self.loc).clamp(max=1 - fi.eps)
        return self.loc - self.scale * (-u.log()).log()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -(z + (-z).exp()) - self.scale.log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (-(-(value - self.loc) / self.scale).exp()).exp()

    def icdf(self, value):
        return self.loc - self.scale * (-value.log()).log()

    @property
    def mean(self):
        return self.loc + self.scale * _EULER

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def entropy(self):
        return self.scale.log() + (1 + _EULER)


class _Folded(TransformedDistribution):
    """|X| for X symmetric about 0 with scale `scale` (HalfNormal, HalfCauchy): density 2 p(x) on x >= 0."""
    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    _symmetric = None

    def __init__(self, scale, validate_args=None):
        base = self._symmetric(0.0 if isinstance(scale, Number) else T.zeros_like(scale), scale,
                               validate_args=False)
        super().__init__(base, AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, self._get_checked_instance(type(self), _instance))

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mode(self):
        return T.zeros_like(self.scale)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        lp = self.base_dist.log_prob(value) + _LOG2
        return T.where(value >= 0, lp, T.full_like(lp, -math.inf))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - _LOG2


class HalfNormal(_Folded):
    """|X| for X ~ Normal(0, scale)."""
    _symmetric = Normal

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self):
        return self.scale.pow(2) * (1 - 2 / math.pi)


class HalfCauchy(_Folded):
    """|X| for X ~ Cauchy(0, scale)."""
    _symmetric = Cauchy

    @property
    def mean(self):
        return T.full(tuple(self._extended_shape()), math.inf, dtype=self.scale.dtype, device=self.scale.device)

    @property
    def variance(self):
        return T.full(tuple(self._extended_shape()), math.inf, dtype=self.scale.dtype, device=self.scale.device)


class Pareto(TransformedDistribution):
    """Density alpha scale^alpha / x^(alpha + 1) on x >= scale: scale * exp(E) for E ~ Exponential(alpha)."""
    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}

    def __init__(self, scale, alpha, validate_args=None):
        self.scale, self.alpha = broadcast_all(scale, alpha)
        base = Exponential(self.alpha, validate_args=validate_args)
        super().__init__(base, [ExpTransform(), AffineTransform(0, self.scale)], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_pushforward(self, Pareto, batch_shape, _instance, ("scale", "alpha"))

    def _param_names(self):
        return ["alpha", "scale"]

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.greater_than_eq(self.scale)

    @property
    def mean(self):
        a = self.alpha.clamp(min=1)          # infinite for alpha <= 1
        return a * self.scale / (a - 1)

    @property
    def mode(self):
        return self.scale

    @property
    def variance(self):
        a = self.alpha.clamp(min=2)          # infinite for alpha <= 2
        return self.scale.pow(2) * a / ((a - 1).pow(2) * (a - 2))

    def entropy(self):
        return (self.scale / self.alpha).log() + self.alpha.reciprocal() + 1


class Weibull(TransformedDistribution):
    """Density (k / s) (x / s)^(k-1) exp(-(x / s)^k) on x > 0 (s = scale, k = concentration): s E^(1/k) for
    E ~ Exponential(1)."""
    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive

    def __init__(self, scale, concentration, validate_args=None):
        self.scale, self.concentration = broadcast_all(scale, concentration)
        self.concentration_reciprocal = self.concentration.reciprocal()
        base = Exponential(T.ones_like(self.scale), validate_args=validate_args)
        steps = [PowerTransform(self.concentration_reciprocal), AffineTransform(0, self.scale)]
        super().__init__(base, steps, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = _expand_pushforward(self, Weibull, batch_shape, _instance, ("scale", "concentration"))
        new.concentration_reciprocal = new.concentration.reciprocal()
        new.transforms = [PowerTransform(new.concentration_reciprocal), AffineTransform(0, new.scale)]
        return new

    def _param_names(self):
        return ["scale", "concentration"]

    # closed forms (the same values as through the transforms, in fewer launches)
    def rsample(self, sample_shape=()):
        u = _open_uniform(self._extended_shape(sample_shape), self.scale)
        return self.scale * (-u.log()).pow(self.concentration_reciprocal)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k = self.concentration
        z = value / self.scale
        return (k / self.scale).log() + (k - 1) * z.log() - z.pow(k)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -(-(value / self.scale).pow(self.concentration)).expm1()

    def icdf(self, value):
        return self.scale * (-(-value).log1p()).pow(self.concentration_reciprocal)

    @property
    def mean(self):
        return self.scale * lgamma(1 + self.concentration_reciprocal).exp()

    @property
    def mode(self):
        k = self.concentration
        return self.scale * ((k - 1) / k).pow(self.concentration_reciprocal)

    @property
    def variance(self):
        r = self.concentration_reciprocal
        return self.scale.pow(2) * (lgamma(1 + 2 * r).exp() - lgamma(1 + r).exp().pow(2))

    def entropy(self):
        r = self.concentration_reciprocal
        return _EULER * (1 - r) + (self.scale * r).log() + 1


class Kumaraswamy(TransformedDistribution):
    """Density a b x^(a-1) (1 - x^a)^(b-1) on (0, 1) (a = concentration1, b = concentration0):
    (1 - U^(1/b))^(1/a) for U uniform."""
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base = Uniform(T.zeros_like(self.concentration0), T.ones_like(self.concentration0),
                       validate_args=validate_args)
        steps = [PowerTransform(self.concentration0.reciprocal()), AffineTransform(1.0, -1.0),
                 PowerTransform(self.concentration1.reciprocal())]
        super().__init__(base, steps, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = _expand_pushforward(self, Kumaraswamy, batch_shape, _instance, ("concentration1", "concentration0"))
        new.transforms = [PowerTransform(new.concentration0.reciprocal()), AffineTransform(1.0, -1.0),
                          PowerTransform(new.concentration1.reciprocal())]
        return new

    def _param_names(self):
        return ["concentration1", "concentration0"]

    # closed forms (the same values as through the transforms, in fewer launches)
    def rsample(self, sample_shape=()):
        u = T.rand(tuple(self._extended_shape(sample_shape)), dtype=self.concentration0.dtype,
                   device=self.concentration0.device)
        return (1 - u.pow(self.concentration0.reciprocal())).pow(self.concentration1.reciprocal())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        return (a * b).log() + (a - 1) * value.log() + (b - 1) * (-value.pow(a)).log1p()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        return 1 - (1 - value.pow(a)).pow(b)

    def icdf(self, value):
        a, b = self.concentration1, self.concentration0
        return (1 - (1 - value).pow(b.reciprocal())).pow(a.reciprocal())

    def _raw_moment(self, n):
        # E[X^n] = b B(1 + n / a, b)
        a, b = self.concentration1, self.concentration0
        return (b.log() + lbeta(1 + n / a, b)).exp()

    @property
    def mean(self):
        return self._raw_moment(1)

    @property
    def mode(self):
        # ((a - 1) / (a b - 1))^(1 / a), defined for a >= 1, b >= 1 and (a, b) != (1, 1)
        a, b = self.concentration1, self.concentration0
        m = ((a - 1) / (a * b - 1)).pow(a.reciprocal())
        ok = (a >= 1) & (b >= 1) & ~((a == 1) & (b == 1))
        return T.where(ok, m, T.full_like(m, math.nan))

    @property
    def variance(self):
        return self._raw_moment(2) - self._raw_moment(1).pow(2)

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        harmonic_b = digamma(b + 1) + _EULER
        return (1 - b.reciprocal()) + (1 - a.reciprocal()) * harmonic_b - (a * b).log()


class InverseGamma(TransformedDistribution):
    """1 / X for X ~ Gamma(concentration, rate): density rate^c x^(-c-1) exp(-rate / x) / Gamma(c)."""
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        base = Gamma(concentration, rate, validate_args=validate_args)
        super().__init__(base, PowerTransform(-T.ones_like(base.rate)), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, self._get_checked_instance(InverseGamma, _instance))

    @property
    def concentration(self):
        return self.base_dist.concentration

    @property
    def rate(self):
        return self.base_dist.rate

    # closed forms (the same values as through the transform, in fewer launches)
    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        g = _random.standard_gamma(self.concentration.expand(shape))
        return self.rate / g.clamp(min=T.finfo(g.dtype).tiny)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c, r = self.concentration, self.rate
        return T.xlogy(c, r) - lgamma(c) - (c + 1) * value.log() - r / value

    @property
    def mean(self):
        c = self.concentration
        m = self.rate / (c - 1)
        return T.where(c <= 1, T.full_like(m, math.inf), m)

    @property
    def mode(self):
        return self.rate / (self.concentration + 1)

    @property
    def variance(self):
        c = self.concentration
        v = self.rate.pow(2) / ((c - 1).pow(2) * (c - 2))
        return T.where(c <= 2, T.full_like(v, math.inf), v)

    def entropy(self):
        c = self.concentration
        return c + self.rate.log() + lgamma(c) - (1 + c) * digamma(c)


class LogisticNormal(TransformedDistribution):
    """StickBreakingTransform of a Normal vector: a distribution on the simplex with event size K + 1 for loc and
    scale of size K."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        normal = Normal(loc, scale, validate_args=validate_args)
        if not normal.batch_shape:
            normal = normal.expand((1,))
        super().__init__(Independent(normal, 1), StickBreakingTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, self._get_checked_instance(LogisticNormal, _instance))

    @property
    def loc(self):
        return self.base_dist.base_dist.loc

    @property
    def scale(self):
        return self.base_dist.base_dist.scale


class FisherSnedecor(Distribution):
    """F(df1, df2): the ratio (X1 / df1) / (X2 / df2) of independent chi-square variables."""
    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args=None):
        self.df1, self.df2 = broadcast_all(df1, df2)
        super().__init__(() if _numbers(df1, df2) else self.df1.shape, validate_args=validate_args)

    @property
    def mean(self):
        d2 = self.df2
        return T.where(d2 > 2, d2 / (d2 - 2), T.full_like(d2, math.nan))

    @property
    def mode(self):
        d1, d2 = self.df1, self.df2
        m = (d1 - 2) / d1 * d2 / (d2 + 2)
        return T.where(d1 > 2, m, T.full_like(m, math.nan))

    @property
    def variance(self):
        d1, d2 = self.df1, self.df2
        v = 2 * d2.pow(2) * (d1 + d2 - 2) / (d1 * (d2 - 2).pow(2) * (d2 - 4))
        return T.where(d2 > 4, v, T.full_like(v, math.nan))

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        h1, h2 = 0.5 * self.df1.expand(shape), 0.5 * self.df2.expand(shape)
        x1 = _random.standard_gamma(h1) / h1          # chi2(df1) / df1
        x2 = _random.standard_gamma(h2) / h2
        tiny = T.finfo(x1.dtype).tiny
        return (x1 / x2.clamp(min=tiny)).clamp(min=tiny)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        h1, h2 = 0.5 * self.df1, 0.5 * self.df2
        ratio = self.df1 / self.df2
        return (h1 * ratio.log() + (h1 - 1) * value.log() - (h1 + h2) * (ratio * value).log1p()
                - lbeta(h1, h2))


def _near_zero(x):
    """|x| <= 1e-8 + 1e-5 |0|: where the shape parameter counts as 0 (the exponential limit)."""
    return x.abs() <= 1e-8


class GeneralizedPareto(Distribution):
    """Density (1 + xi z)^(-1/xi - 1) / scale with z = (x - loc) / scale (xi = concentration; the limit xi -> 0
    is exp(-z) / scale). Support [loc, inf) for xi >= 0, [loc, loc - scale / xi] for xi < 0."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        shape = () if _numbers(loc, scale, concentration) else self.loc.shape
        super().__init__(shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, self._get_checked_instance(GeneralizedPareto, _instance))

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        xi = self.concentration
        top = T.where(xi < 0, self.loc - self.scale / xi, T.full_like(xi, math.inf))
        return constraints.interval(self.loc, top)

    def _shape_parts(self):
        zero = _near_zero(self.concentration)
        return zero, T.where(zero, T.ones_like(self.concentration), self.concentration)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        zero, xi = self._shape_parts()
        power = 1 / xi + 1
        general = power * (xi * z).log1p()
        general = T.where(power == 0, T.zeros_like(general), general)    # xi = -1: uniform density
        return -self.scale.log() - T.where(zero, z, general)

    def _log_survival(self, value):
        z = (value - self.loc) / self.scale
        zero, xi = self._shape_parts()
        return T.where(zero, -z, -(xi * z).log1p() / xi)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (-self._log_survival(value).exp()).log1p().exp()

    def icdf(self, value):
        zero, xi = self._shape_parts()
        log_tail = (-value).log1p()
        return T.where(zero, self.loc - self.scale * log_tail,
                       self.loc + self.scale / xi * (-xi * log_tail).expm1())

    def rsample(self, sample_shape=()):
        u = T.rand(tuple(self._extended_shape(sample_shape)), dtype=self.loc.dtype, device=self.loc.device)
        return self.icdf(u)

    @property
    def mean(self):
        xi = self.concentration
        m = self.loc + self.scale / (1 - T.where(xi < 1, xi, T.full_like(xi, 0.5)))
        return T.where(xi < 1, m, T.full_like(m, math.nan))

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        xi = self.concentration
        ok = xi < 0.5
        s = T.where(ok, xi, T.full_like(xi, 0.25))
        v = self.scale.pow(2) / ((1 - s).pow(2) * (1 - 2 * s))
        return T.where(ok, v, T.full_like(v, math.nan))

    def entropy(self):
        return (self.scale.log() + self.concentration + 1).expand(tuple(self._batch_shape))


def _log_i0(k):
    """log I0(k) = log(i0e(k)) + k (scaled Bessel function: no overflow for large k)."""
    return T.special.i0e(k).log() + k


class VonMises(Distribution):
    """Circular distribution on [-pi, pi): density exp(k cos(x - loc)) / (2 pi I0(k)) (k = concentration). Draws
    by Best and Fisher's wrapped-Cauchy rejection sampler."""
    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k = self.concentration
        return k * (value - self.loc).cos() - math.log(2 * math.pi) - _log_i0(k)

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        with T.no_grad():
            k = self.concentration.detach().expand(shape).contiguous()
            tau = 1 + (1 + 4 * k.pow(2)).sqrt()
            rho = (tau - (2 * tau).sqrt()) / (2 * k)
            r = (1 + rho.pow(2)) / (2 * rho)
            r = T.where(k < 1e-5, 1 / k + k, r)       # rho ~ k / 2 loses every digit for tiny k

            def propose(shp, k, r):
                u1, u2, u3 = (_random._uniform(shp, k) for _ in range(3))
                z = (math.pi * u1).cos()
                f = (1 + r * z) / (r + z)
                c = k * (r - f)
                u2 = u2.clamp(min=T.finfo(k.dtype).tiny)
                ok = (c * (2 - c) > u2) | ((c / u2).log() + 1 - c >= 0)
                theta = (u3 - 0.5).sign() * f.clamp(-1, 1).acos()
                return theta, ok

            theta = _random._rejection([k, r], propose)
            return (theta + self.loc + math.pi).remainder(2 * math.pi) - math.pi

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, self._get_checked_instance(VonMises, _instance))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        # circular variance 1 - I1(k) / I0(k)
        k = self.concentration
        return 1 - T.special.i1e(k) / T.special.i0e(k)


class ContinuousBernoulli(ExponentialFamily):
    """Density C(p) p^x (1 - p)^(1 - x) on [0, 1] with normaliser C(p) = 2 atanh(1 - 2p) / (1 - 2p) (2 at
    p = 1/2). Near p = 1/2 (inside `lims`) the closed forms cancel, and Taylor expansions in (p - 1/2) are used."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            scalar = isinstance(probs, Number)
            (p,) = broadcast_all(probs)
            # checked before the clamp below would hide an invalid value
            if validate_args is not None and not bool(self.arg_constraints["probs"].check(p).all()):
                raise ValueError("The parameter probs has invalid values")
            self.probs = _clamp_probs(p)
            self._param = self.probs
        else:
            scalar = isinstance(logits, Number)
            (self.logits,) = broadcast_all(logits)
            self._param = self.logits
        self._lims = lims
        super().__init__(() if scalar else self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(ContinuousBernoulli, _instance)
        shape = tuple(batch_shape)
        for name in ("probs", "logits"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(shape))
        new._param = new.__dict__["probs"] if "probs" in self.__dict__ else new.__dict__["logits"]
        new._lims = self._lims
        Distribution.__init__(new, shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return _clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def param_shape(self):
        return self._param.shape

    def _stable(self):
        """True where p is outside lims (closed forms are accurate there)."""
        p = self.probs
        return (p <= self._lims[0]) | (p > self._lims[1])

    def _safe_probs(self):
        return T.where(self._stable(), self.probs, T.full_like(self.probs, self._lims[0]))

    def _log_norm(self):
        """log C(p)."""
        p = self._safe_probs()
        closed = (p.log() - (-p).log1p()).abs().log() - (1 - 2 * p).abs().log()
        d2 = (self.probs - 0.5).pow(2)
        series = _LOG2 + d2 * (4.0 / 3.0 + d2 * (104.0 / 45.0))
        return T.where(self._stable(), closed, series)

    _cont_bern_log_norm = _log_norm          # PyTorch's name of it

    @property
    def mean(self):
        p = self._safe_probs()
        closed = p / (2 * p - 1) + 1 / ((-p).log1p() - p.log())
        d = self.probs - 0.5
        series = 0.5 + d * (1.0 / 3.0 + d.pow(2) * (16.0 / 45.0))
        return T.where(self._stable(), closed, series)

    @property
    def variance(self):
        p = self._safe_probs()
        closed = p * (p - 1) / (1 - 2 * p).pow(2) + ((-p).log1p() - p.log()).pow(-2)
        d2 = (self.probs - 0.5).pow(2)
        series = 1.0 / 12.0 - d2 * (1.0 / 15.0 - d2 * (128.0 / 945.0))
        return T.where(self._stable(), closed, series)

    @property
    def stddev(self):
        return self.variance.sqrt()

    def rsample(self, sample_shape=()):
        u = T.rand(tuple(self._extended_shape(sample_shape)), dtype=self.probs.dtype, device=self.probs.device)
        return self.icdf(u)

    def sample(self, sample_shape=()):
        with T.no_grad():
            return self.rsample(sample_shape)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        # x log p + (1 - x) log(1 - p) = x * logits - softplus(logits)
        return value * logits - _softplus(logits) + self._log_norm()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        p = self._safe_probs()
        closed = (p.pow(value) * (1 - p).pow(1 - value) + p - 1) / (2 * p - 1)
        inner = T.where(self._stable(), closed, value * T.ones_like(closed))
        return T.where(value <= 0, T.zeros_like(inner), T.where(value >= 1, T.ones_like(inner), inner))

    def icdf(self, value):
        p = self._safe_probs()
        closed = ((value * (2 * p - 1) - p).log1p() - (-p).log1p()) / (p.log() - (-p).log1p())
        return T.where(self._stable(), closed, value * T.ones_like(closed))

    def entropy(self):
        log_q, log_p = (-self.probs).log1p(), self.probs.log()
        return self.mean * (log_q - log_p) - self._log_norm() - log_q

    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, eta):
        # A(eta) = log((exp(eta) - 1) / eta), with its series near eta = 0
        stable = (eta <= self._lims[0] - 0.5) | (eta > self._lims[1] - 0.5)
        e = T.where(stable, eta, T.full_like(eta, self._lims[0] - 0.5))
        closed = e.expm1().abs().log() - e.abs().log()
        series = eta * (0.5 + eta * (1.0 / 24.0 - eta.pow(2) / 2880.0))
        return T.where(stable, closed, series)
