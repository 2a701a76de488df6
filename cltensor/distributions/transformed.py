"""TransformedDistribution (a base distribution pushed through transforms: change of variables for log_prob) and
the relaxed (Concrete / Gumbel-softmax) families built on it."""
import math

from . import constraints
from ._ns import T
from .distribution import Distribution, broadcast_all, lazy_property, probs_to_logits, logits_to_probs
from .transforms import Transform, ComposeTransform, ExpTransform, SigmoidTransform, _sum_rightmost, _softplus

__all__ = ["TransformedDistribution", "LogitRelaxedBernoulli", "RelaxedBernoulli", "ExpRelaxedCategorical",
           "RelaxedOneHotCategorical"]


class TransformedDistribution(Distribution):
    """Y = t_n(... t_1(X)) for X ~ base_distribution; log p(y) = log p(x) - sum log|det J_i|."""
    arg_constraints = {}

    def __init__(self, base_distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            self.transforms = [transforms]
        elif isinstance(transforms, list):
            if not all(isinstance(t, Transform) for t in transforms):
                raise ValueError("transforms must be a Transform or a list of Transforms")
            self.transforms = transforms
        else:
            raise ValueError(f"transforms must be a Transform or list, but was {transforms}")
        chain = ComposeTransform(self.transforms)
        base_shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        base_event = len(base_distribution.event_shape)
        need = chain.domain.event_dim
        if len(base_shape) < need:
            raise ValueError(f"base_distribution needs to have shape with size at least {need}, but got "
                             f"{T.Size(base_shape)}.")
        out_shape = tuple(chain.forward_shape(base_shape))
        # a shape-changing transform may need a larger base (broadcast): expand it to what maps onto out_shape
        wanted = tuple(chain.inverse_shape(out_shape))
        if wanted != base_shape:
            base_distribution = base_distribution.expand(wanted[:len(wanted) - base_event])
        if need > base_event:       # the transforms act on more event dims than the base has
            from .multivariate import Independent
            base_distribution = Independent(base_distribution, need - base_event)
        self.base_dist = base_distribution
        event_dim = chain.codomain.event_dim + max(base_event - need, 0)
        cut = len(out_shape) - event_dim
        super().__init__(out_shape[:cut], out_shape[cut:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(TransformedDistribution, _instance)
        batch_shape = tuple(batch_shape)
        shape = batch_shape + tuple(self.event_shape)
        for t in reversed(self.transforms):
            shape = tuple(t.inverse_shape(shape))
        new.base_dist = self.base_dist.expand(shape[:len(shape) - len(self.base_dist.event_shape)])
        new.transforms = self.transforms
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _param_names(self):
        return []

    @constraints.dependent_property(is_discrete=False)
    def support(self):
        if not self.transforms:
            return self.base_dist.support
        s = self.transforms[-1].codomain
        extra = len(self.event_shape) - s.event_dim
        return constraints.independent(s, extra) if extra > 0 else s

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    def sample(self, sample_shape=()):
        with T.no_grad():
            x = self.base_dist.sample(sample_shape)
            for t in self.transforms:
                x = t(x)
            return x

    def rsample(self, sample_shape=()):
        x = self.base_dist.rsample(sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        event_dim = len(self.event_shape)         # event dims of y at the current step, walking backwards
        lp = 0.0
        y = value
        for t in reversed(self.transforms):
            x = t.inv(y)
            event_dim += t.domain.event_dim - t.codomain.event_dim
            lp = lp - _sum_rightmost(t.log_abs_det_jacobian(x, y), event_dim - t.domain.event_dim)
            y = x
        return lp + _sum_rightmost(self.base_dist.log_prob(y), event_dim - len(self.base_dist.event_shape))

    def _monotone_sign(self):
        sign = 1
        for t in self.transforms:
            sign = sign * t.sign
        if isinstance(sign, int) and sign == 1:
            return 1
        return sign

    def cdf(self, value):
        for t in reversed(self.transforms):
            value = t.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value)
        v = self.base_dist.cdf(value)
        sign = self._monotone_sign()
        return v if isinstance(sign, int) and sign == 1 else sign * (v - 0.5) + 0.5

    def icdf(self, value):
        sign = self._monotone_sign()
        if not (isinstance(sign, int) and sign == 1):
            value = sign * (value - 0.5) + 0.5
        x = self.base_dist.icdf(value)
        for t in self.transforms:
            x = t(x)
        return x


class LogitRelaxedBernoulli(Distribution):
    """Logit of a RelaxedBernoulli draw: (logits + logistic noise) / temperature."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        self.temperature = temperature
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            shape = self.probs.shape
        else:
            (self.logits,) = broadcast_all(logits)
            shape = self.logits.shape
        from numbers import Number
        super().__init__(() if isinstance(probs if probs is not None else logits, Number) else shape,
                         validate_args=validate_args)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        lg = self.logits
        fi = T.finfo(lg.dtype)
        u = T.rand(shape, dtype=lg.dtype, device=lg.device).clamp(min=fi.tiny, max=1 - fi.eps)
        return (lg + u.log() - (-u).log1p()) / self.temperature

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        diff = logits - value * self.temperature
        return math.log(self.temperature) + diff - 2 * _softplus(diff) if not isinstance(
            self.temperature, T.Tensor) else self.temperature.log() + diff - 2 * _softplus(diff)


class RelaxedBernoulli(TransformedDistribution):
    """Concrete relaxation of Bernoulli on (0, 1): sigmoid of a LogitRelaxedBernoulli draw."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = LogitRelaxedBernoulli(temperature, probs, logits)
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, self._get_checked_instance(RelaxedBernoulli, _instance))

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs


class ExpRelaxedCategorical(Distribution):
    """Log of a RelaxedOneHotCategorical draw (log-softmax of (logits + Gumbel noise) / temperature)."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        from .discrete import Categorical
        self._categorical = Categorical(probs, logits)
        self.temperature = temperature
        p = self._categorical._param
        super().__init__(p.shape[:-1], p.shape[-1:], validate_args=validate_args)

    def _param_names(self):
        return []

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def probs(self):
        return self._categorical.probs

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        lg = self.logits
        fi = T.finfo(lg.dtype)
        u = T.rand(shape, dtype=lg.dtype, device=lg.device).clamp(min=fi.tiny, max=1 - fi.eps)
        scores = (lg - (-u.log()).log()) / self.temperature
        return scores - scores.logsumexp(dim=-1, keepdim=True)

    def log_prob(self, value):
        k = self._categorical._num_events
        if self._validate_args:
            self._validate_sample(value)
        t = self.temperature
        log_t = t.log() if isinstance(t, T.Tensor) else math.log(t)
        log_scale = math.lgamma(k) + (k - 1) * log_t
        score = self.logits - value * t
        return (score - score.logsumexp(dim=-1, keepdim=True)).sum(-1) + log_scale


class RelaxedOneHotCategorical(TransformedDistribution):
    """Concrete / Gumbel-softmax relaxation of OneHotCategorical on the simplex."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, self._get_checked_instance(RelaxedOneHotCategorical, _instance))

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs
