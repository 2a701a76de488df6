"""NegativeBinomial (a Gamma-Poisson mixture) and OneHotCategoricalStraightThrough (one-hot draws whose gradient is
that of the probabilities)."""
from . import constraints
from . import _random
from ._ns import T, lgamma
from .discrete import OneHotCategorical
from .distribution import Distribution, broadcast_all, lazy_property, probs_to_logits, logits_to_probs
from .transforms import _softplus

__all__ = ["NegativeBinomial", "OneHotCategoricalStraightThrough"]


class NegativeBinomial(Distribution):
    """Number of successes before total_count failures, each trial a success with probability probs:
    P(k) = Gamma(k + r) / (k! Gamma(r)) p^k (1 - p)^r (r = total_count, any nonnegative real)."""
    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0), "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.type_as(self.probs)
            param = self.probs
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.type_as(self.logits)
            param = self.logits
        self._param = param
        super().__init__(param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(NegativeBinomial, _instance)
        shape = tuple(batch_shape)
        new.total_count = self.total_count.expand(shape)
        for name in ("probs", "logits"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(shape))
        new._param = new.__dict__["probs"] if "probs" in self.__dict__ else new.__dict__["logits"]
        Distribution.__init__(new, shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self):
        return self.total_count * self.logits.exp()          # r p / (1 - p)

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):
        return self.mean / (-self.logits).sigmoid()          # r p / (1 - p)^2

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        with T.no_grad():
            # Poisson(lambda) with lambda ~ Gamma(r, (1 - p) / p)
            lam = _random._standard_gamma_raw(self.total_count.expand(shape)) * self.logits.exp().expand(shape)
            return _random.poisson(lam.contiguous())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        r, lg = self.total_count, self.logits
        # r log(1 - p) + k log p = -r softplus(logits) - k softplus(-logits)
        weights = -r * _softplus(lg) - value * _softplus(-lg)
        comb = lgamma(r + value) - lgamma(1 + value) - lgamma(r)
        comb = T.where(r + value == 0, T.zeros_like(comb), comb)        # P(0) = 1 when r = 0
        return weights + comb


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """OneHotCategorical whose rsample returns the one-hot draw in the forward pass and passes the gradient to
    the probabilities (the straight-through estimator)."""
    has_rsample = True

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, self._get_checked_instance(OneHotCategoricalStraightThrough, _instance))

    def rsample(self, sample_shape=()):
        draw = self.sample(sample_shape)
        p = self._categorical.probs
        return draw + (p - p.detach())
