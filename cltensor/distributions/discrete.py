"""Discrete families written from their mass functions: Bernoulli, Categorical, OneHotCategorical, Geometric,
Poisson, Binomial, Multinomial. Parameterised by probs or logits (exactly one); the other is computed on first
use."""
import math

from . import constraints
from . import _random
from ._ns import T, lgamma
from .distribution import Distribution, broadcast_all, lazy_property, probs_to_logits, logits_to_probs
from .exp_family import ExponentialFamily

__all__ = ["Bernoulli", "Categorical", "OneHotCategorical", "Geometric", "Poisson", "Binomial", "Multinomial"]


def _one_of(probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


def _bce_logits(logits, target):
    # -(t log sigmoid(l) + (1 - t) log sigmoid(-l)), stable for large |l|
    return -T.nn.functional.logsigmoid(-logits) - logits * target


def _is_number(x):
    from numbers import Number
    return isinstance(x, Number)


class _Binary(Distribution):
    """Shared parameter handling of the families with one success probability per element."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        param = probs if probs is not None else logits
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        batch_shape = () if _is_number(param) else (self.probs if probs is not None else self.logits).shape
        super().__init__(batch_shape, validate_args=validate_args)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        return self._batch_shape


class Bernoulli(_Binary, ExponentialFamily):
    """1 with probability probs, 0 otherwise."""
    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (T.logit(self.probs),)

    def _log_normalizer(self, e):
        return e.exp().log1p()
    support = constraints.boolean
    has_enumerate_support = True

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        m = (self.probs >= 0.5).to(self.probs.dtype)
        return T.where(self.probs == 0.5, T.full_like(m, math.nan), m)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        with T.no_grad():
            return T.bernoulli(self.probs.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_bce_logits(logits, value)

    def entropy(self):
        return _bce_logits(self.logits, self.probs)

    def enumerate_support(self, expand=True):
        values = T.arange(2, dtype=self.probs.dtype if "probs" in self.__dict__ else self.logits.dtype)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values


class Geometric(_Binary):
    """Number of failures before the first success, success probability probs."""
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        super().__init__(probs, logits, validate_args=validate_args)
        if self._validate_args and probs is not None and not bool((self.probs > 0).all()):
            raise ValueError(f"Expected parameter probs (Tensor of shape {tuple(self.probs.shape)}) of "
                             f"distribution {self!r} to satisfy the constraint Interval(lower_bound=0.0, "
                             f"upper_bound=1.0), but found invalid values:\n{self.probs}")

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return T.zeros_like(self.probs)

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        with T.no_grad():
            p = self.probs.expand(shape)
            u = T.rand(shape, dtype=p.dtype, device=p.device).clamp(min=T.finfo(p.dtype).tiny)
            return (u.log() / (-p).log1p()).floor()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # value * log(1 - p) is 0 at value 0 even where p == 1
        fail = T.where((probs == 1) & (value == 0), T.zeros_like(probs), value * (-probs).log1p())
        return fail + self.probs.log()

    def entropy(self):
        return _bce_logits(self.logits, self.probs) / self.probs


class Categorical(Distribution):
    """One of K categories (the last dimension of probs / logits)."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        batch_shape = self._param.shape[:-1] if self._param.dim() > 1 else ()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, self._get_checked_instance(Categorical, _instance))
        new._num_events = self._num_events
        new._param = new.__dict__["probs"] if "probs" in new.__dict__ else new.__dict__["logits"]
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self):
        return T.full(tuple(self._extended_shape()), math.nan, dtype=self.probs.dtype, device=self.probs.device)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return T.full(tuple(self._extended_shape()), math.nan, dtype=self.probs.dtype, device=self.probs.device)

    def sample(self, sample_shape=()):
        if not isinstance(sample_shape, (tuple, list)) and not hasattr(sample_shape, "__len__"):
            sample_shape = (sample_shape,)
        n = math.prod(tuple(sample_shape))
        with T.no_grad():
            p2 = self.probs.reshape(-1, self._num_events)
            s = T.multinomial(p2, n, True).T
        return s.reshape(tuple(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = T.broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1].contiguous()).squeeze(-1)

    def entropy(self):
        logits = self.logits.clamp(min=T.finfo(self.logits.dtype).min)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        values = T.arange(self._num_events, dtype=T.int64, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values


class OneHotCategorical(Distribution):
    """A Categorical draw as a one-hot vector of length K."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        p = self._categorical._param
        super().__init__(p.shape[:-1], p.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(OneHotCategorical, _instance)
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _param_names(self):
        return []        # as PyTorch's repr: "OneHotCategorical()"

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self):
        return self._categorical.probs

    @property
    def mode(self):
        p = self._categorical.probs
        return T.nn.functional.one_hot(p.argmax(-1), p.shape[-1]).to(p.dtype)

    @property
    def variance(self):
        p = self._categorical.probs
        return p * (1 - p)

    def sample(self, sample_shape=()):
        idx = self._categorical.sample(sample_shape)
        return T.nn.functional.one_hot(idx, self._categorical._num_events).to(self.probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        n = self.event_shape[0]
        values = T.eye(n, dtype=self._categorical._param.dtype, device=self._categorical._param.device)
        values = values.reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        return values.expand((n,) + tuple(self.batch_shape) + (n,)) if expand else values


class Poisson(ExponentialFamily):
    """P(k) = rate^k exp(-rate) / k!."""

    @property
    def _natural_params(self):
        return (self.rate.log(),)

    def _log_normalizer(self, e):
        return e.exp()
    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        batch_shape = () if _is_number(rate) else self.rate.shape
        super().__init__(batch_shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        with T.no_grad():
            return _random.poisson(self.rate.expand(shape).contiguous())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return T.xlogy(value, rate) - rate - lgamma(value + 1)


class Binomial(Distribution):
    """Number of successes in total_count trials of success probability probs."""
    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.type_as(self.probs)
            param = self.probs
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.type_as(self.logits)
            param = self.logits
        super().__init__(param.shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        with T.no_grad():
            return _random.binomial(self.total_count.expand(shape).contiguous(),
                                    self.probs.expand(shape).contiguous())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        n, k = self.total_count, value
        # k log p + (n - k) log(1 - p) = k * logits - n * softplus(logits)
        log_comb = lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)
        lg = self.logits
        softplus = -T.nn.functional.logsigmoid(-lg)
        return log_comb + k * lg - n * softplus

    def _common_count(self, what):
        """The one total_count of every element, as an int (host read: the support's length depends on it)."""
        n = self.total_count
        if not n.numel():
            return 0
        top, low = float(n.max()), float(n.min())
        if low != top:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return int(top)

    def enumerate_support(self, expand=True):
        top = self._common_count("enumerate_support")
        dt = self.probs.dtype if "probs" in self.__dict__ else self.logits.dtype
        values = T.arange(1 + top, dtype=dt, device=self.total_count.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values

    def entropy(self):
        """-sum_k P(k) log P(k), the support enumerated (every element must share total_count)."""
        self._common_count("entropy")
        lp = self.log_prob(self.enumerate_support(False))
        return -(lp.exp() * lp).sum(0)


class Multinomial(Distribution):
    """Counts of K categories over total_count Categorical draws (event_shape (K,))."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        p = self._categorical._param
        super().__init__(p.shape[:-1], p.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Multinomial, _instance)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _param_names(self):
        return []        # as PyTorch's repr: "Multinomial()"

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        if not isinstance(sample_shape, (tuple, list)) and not hasattr(sample_shape, "__len__"):
            sample_shape = (sample_shape,)
        idx = self._categorical.sample((self.total_count,) + tuple(sample_shape))
        k = self._categorical._num_events
        return T.nn.functional.one_hot(idx, k).to(self.probs.dtype).sum(0)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits = self.logits
        # x * logits is 0 where x == 0 even for logits == -inf
        terms = T.where(value == 0, T.zeros_like(value * 1.0), value * logits)
        return lgamma(value.sum(-1) + 1) - lgamma(value + 1).sum(-1) + terms.sum(-1)

    def entropy(self):
        """H = -log n! + n H(Categorical) + sum_i E[log X_i!], X_i ~ Binomial(n, p_i) the count of category i."""
        n = self.total_count
        probs = self.probs
        ks = T.arange(1, n + 1, dtype=probs.dtype, device=probs.device).reshape((-1,) + (1,) * probs.dim())
        marginal = Binomial(n, probs, validate_args=False).log_prob(ks).exp()
        expected_log_fact = (marginal * lgamma(ks + 1)).sum(0).sum(-1)
        return n * self._categorical.entropy() - math.lgamma(n + 1) + expected_log_fact
