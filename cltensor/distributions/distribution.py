"""The Distribution base: shapes, argument and value validation with PyTorch's messages, and the helpers the
families share (broadcasting of parameters, probs <-> logits, lazily computed parameters)."""
import numbers

from . import constraints
from ._ns import T

__all__ = ["Distribution"]


def _size_str(shape):
    return f"torch.Size({list(shape)})"


class lazy_property:
    """Computed on first access and then stored on the instance (probs from logits and back)."""

    def __init__(self, fn):
        self.wrapped = fn
        self.__doc__ = fn.__doc__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        with T.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def broadcast_all(*values):
    """Tensors and Python numbers broadcast to one shape; numbers take the dtype of the first tensor (the default
    dtype when there is none)."""
    if not all(isinstance(v, (T.Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number, torch.Tensor or objects "
                         "implementing __torch_function__.")
    if not all(isinstance(v, T.Tensor) for v in values):
        like = next((v for v in values if isinstance(v, T.Tensor)), None)
        opts = ({"dtype": like.dtype, "device": like.device} if like is not None
                else {"dtype": T.get_default_dtype()})
        values = [v if isinstance(v, T.Tensor) else T.tensor(float(v), **opts) for v in values]
    return T.broadcast_tensors(*values)


def _clamp_probs(probs):
    eps = T.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    p = _clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


def logits_to_probs(logits, is_binary=False):
    return logits.sigmoid() if is_binary else T.softmax(logits, -1)


class Distribution:
    """Base of every distribution: batch_shape and event_shape, sample / rsample over a sample_shape, and the
    validation of parameters (at construction) and values (in log_prob, cdf ...) against their constraints."""
    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__
    arg_constraints = {}
    support = None

    @staticmethod
    def set_default_validate_args(value):
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = T.Size(batch_shape)
        self._event_shape = T.Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            try:
                arg_constraints = self.arg_constraints
            except NotImplementedError:
                arg_constraints = {}
            for param, constraint in arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue
                unset = param not in self.__dict__
                if unset and isinstance(getattr(type(self), param, None), lazy_property):
                    continue
                value = getattr(self, param)
                valid = constraint.check(value)
                if not bool(valid.all()):
                    raise ValueError(
                        f"Expected parameter {param} (Tensor of shape {tuple(value.shape)}) of distribution "
                        f"{self!r} to satisfy the constraint {constraint!r}, but found invalid values:\n{value}")

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def expand(self, batch_shape, _instance=None):
        """A view of this distribution with a larger batch_shape (parameters expanded, no copy)."""
        batch_shape = T.Size(batch_shape)
        new = self._get_checked_instance(type(self), _instance)
        for name in self._param_names():
            setattr(new, name, self.__dict__[name].expand(tuple(batch_shape) + tuple(self.__dict__[name].shape[
                len(self.batch_shape):])))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _param_names(self):
        names = [k for k in self.arg_constraints if k in self.__dict__]
        return names

    def _get_checked_instance(self, cls, _instance=None):
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom "
                                      f"__init__ method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    @property
    def mean(self):
        raise NotImplementedError

    @property
    def mode(self):
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError

    @property
    def stddev(self):
        return self.variance.sqrt()

    def sample(self, sample_shape=()):
        with T.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError

    def sample_n(self, n):
        return self.sample(T.Size((n,)))

    def log_prob(self, value):
        raise NotImplementedError

    def cdf(self, value):
        raise NotImplementedError

    def icdf(self, value):
        raise NotImplementedError

    def enumerate_support(self, expand=True):
        raise NotImplementedError

    def entropy(self):
        raise NotImplementedError

    def perplexity(self):
        return self.entropy().exp()

    def _extended_shape(self, sample_shape=()):
        if not isinstance(sample_shape, (tuple, list)) and not hasattr(sample_shape, "__len__"):
            sample_shape = (sample_shape,)
        return T.Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def _validate_sample(self, value):
        if not isinstance(value, T.Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_dim_start = len(value.shape) - len(self._event_shape)
        if tuple(value.shape[event_dim_start:]) != tuple(self._event_shape):
            raise ValueError(f"The right-most size of value must match event_shape: {_size_str(value.shape)} vs "
                             f"{_size_str(self._event_shape)}.")
        actual = tuple(value.shape)
        expected = tuple(self._batch_shape) + tuple(self._event_shape)
        for i, j in zip(reversed(actual), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {_size_str(actual)} "
                                 f"vs {_size_str(expected)}.")
        try:
            support = self.support
        except NotImplementedError:
            return
        valid = support.check(value)
        if not bool(valid.all()):
            shown = f"{value.item()}" if value.dim() == 0 else f"{value}"
            raise ValueError(f"Expected value argument (Tensor of shape {tuple(value.shape)}) to be within the "
                             f"support ({support!r}) of the distribution {self!r}, but found invalid values:\n"
                             f"{shown}")

    def __repr__(self):
        args = []
        for p in self._param_names():
            v = self.__dict__[p]
            # as PyTorch's f-string of the tensor: a 0-d tensor prints its number, a 1-element one itself
            args.append(f"{p}: {(v.item() if v.dim() == 0 else v) if v.numel() == 1 else _size_str(v.shape)}")
        return self.__class__.__name__ + "(" + ", ".join(args) + ")"
