"""nn.Parameter: a Tensor subclass that Modules register automatically."""
from .._tensor import Tensor, _init_from
from .. import _creation


class Parameter(Tensor):
    """A Tensor that is a module parameter: assigning it to a Module attribute registers it.

    ``Parameter(data=None, requires_grad=True)`` shares ``data``'s storage and is a leaf."""

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = _creation.empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not {type(data).__name__}")
        t = object.__new__(cls)
        _init_from(t, data._st, data._shape, data._strides, data._offset, data._dtype, data._device)
        t.requires_grad = requires_grad
        return t

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        r = type(self)(self.detach().clone(), self.requires_grad)
        memo[id(self)] = r
        return r

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (Tensor.__reduce_ex__(self, proto), self.requires_grad))

    @property
    def data(self):
        return self.detach()

    @data.setter
    def data(self, other):
        _set_data(self, other)


def _rebuild_parameter(reduced, requires_grad):
    fn, args = reduced
    return Parameter(fn(*args).detach(), requires_grad)


def _set_data(t, other):
    """Swap t's storage/shape/dtype/device for other's, keeping t's identity, requires_grad and grad."""
    rg = t._requires_grad
    g = t.grad
    t._st, t._shape, t._strides, t._offset = other._st, other._shape, other._strides, other._offset
    t._dtype, t._device = other._dtype, other._device
    t._requires_grad = rg and (other._dtype.is_floating_point or other._dtype.is_complex)
    t.grad = g


class Buffer(Tensor):
    """nn.Buffer(data, persistent=True): marks a tensor to be registered as a module buffer on assignment."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = _creation.empty(0)
        t = object.__new__(cls)
        _init_from(t, data._st, data._shape, data._strides, data._offset, data._dtype, data._device)
        t.persistent = persistent
        return t

    def __init__(self, data=None, *, persistent=True):
        pass


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (a lazy module's)."""

    def __repr__(self):
        return "<UninitializedParameter>"

    __str__ = __repr__
