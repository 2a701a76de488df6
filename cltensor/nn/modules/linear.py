"""Linear, Bilinear, Identity, LazyLinear (and the lazy-module machinery: LazyModuleMixin, UninitializedBuffer)."""
import math

from ... import _creation as C
from ..._tensor import Tensor, _init_from
from ...autograd import _tape as AG
from ..parameter import Parameter, UninitializedParameter
from .. import functional as F
from .. import init
from .module import Module


class Identity(Module):
    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x @ W^T + b, W: (out_features, in_features), initialised like PyTorch (kaiming_uniform_(a=sqrt(5)),
    bias ~ U(-1/sqrt(in), 1/sqrt(in)))."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(C.empty((out_features, in_features), device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(C.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = Parameter(C.empty((out_features, in1_features, in2_features), device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(C.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.size(1))
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


# ================================================================================================ lazy modules

class UninitializedBuffer(Tensor):
    """A buffer whose shape is not known yet (a lazy module's); materialised at the module's first call."""

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        data = C.empty(0, device=device, dtype=dtype)
        t = object.__new__(cls)
        _init_from(t, data._st, data._shape, data._strides, data._offset, data._dtype, data._device)
        t.persistent = persistent
        return t

    def __init__(self, *a, **k):
        pass

    def __repr__(self):
        return "<UninitializedBuffer>"

    __str__ = __repr__


def _uninit_param(device=None, dtype=None):
    return UninitializedParameter(C.empty(0, device=device, dtype=dtype))


def _is_uninit(t):
    return isinstance(t, (UninitializedParameter, UninitializedBuffer))


class LazyModuleMixin:
    """Modules whose parameter shapes are inferred from their first input: the parameters are
    UninitializedParameter until then; the first call materialises them (initialize_parameters) and the module
    becomes cls_to_become. Loading a state_dict materialises them from the loaded shapes."""
    cls_to_become = None

    def _lazy_setup(self):
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters, with_kwargs=True)

    def has_uninitialized_params(self):
        for t in list(self._parameters.values()) + list(self._buffers.values()):
            if _is_uninit(t):
                return True
        return False

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError(f"initialize_parameters is not implemented for {self.__class__.__name__}")

    def _infer_parameters(self, module, args, kwargs=None):
        self.initialize_parameters(*args, **(kwargs or {}))
        if self.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        self._initialize_hook.remove()
        del self._initialize_hook
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become

    def _materialize(self, name, shape, param):
        old = self._parameters[name] if param else self._buffers[name]
        new = C.empty(tuple(shape), device=old.device, dtype=old.dtype)
        if param:
            self._parameters[name] = Parameter(new, requires_grad=old.requires_grad)
        else:
            self._buffers[name] = new

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        for name, p in list(self._parameters.items()) + list(self._buffers.items()):
            key = prefix + name
            if _is_uninit(p) and key in state_dict and not _is_uninit(state_dict[key]):
                self._materialize(name, state_dict[key].shape, name in self._parameters)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
        if not self.has_uninitialized_params() and hasattr(self, "_initialize_hook"):
            self._lazy_loaded()

    def _lazy_loaded(self):
        self._infer_from_loaded()
        self._initialize_hook.remove()
        del self._initialize_hook
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become

    def _infer_from_loaded(self):
        pass


class LazyLinear(LazyModuleMixin, Linear):
    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        Module.__init__(self)
        self.in_features = 0
        self.out_features = out_features
        self.weight = _uninit_param(device, dtype)
        if bias:
            self.bias = _uninit_param(device, dtype)
        else:
            self.register_parameter("bias", None)
        self._lazy_setup()

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):
        if self.has_uninitialized_params():
            with AG.no_grad():
                self.in_features = input.shape[-1]
                self._materialize("weight", (self.out_features, self.in_features), True)
                if self.bias is not None:
                    self._materialize("bias", (self.out_features,), True)
                self.reset_parameters()

    def _infer_from_loaded(self):
        self.in_features = self.weight.shape[1]
