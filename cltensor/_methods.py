"""The elementwise functions whose signatures are not a table row's (add/sub with alpha, div's rounding modes,
round's decimals, clamp, where ...), Tensor's operators, copies and fills, `to`, and the autograd attributes.
The plain rows of the op table publish themselves (cltensor/_ops.py, `op(..., public=True)`)."""
import numbers

from . import _dtypes as D
from . import _device as dv
from . import _ops as O
from . import _views as V
from ._index import subscript as I
from ._index import ops as _iops
from ._creation import full
from ._registry import register, register_method
from ._tensor import Tensor
from .autograd import _tape as AG


def add(input, other, *, alpha=1, out=None):
    if not (alpha == 1 and type(alpha) is int):    # any other alpha: one fused kernel (and its dtype checks)
        return O.apply("add_alpha", input, other, alpha, out=out)
    return O.apply("add", input, other, out=out)


def sub(input, other, *, alpha=1, out=None):
    if not (alpha == 1 and type(alpha) is int):
        return O.apply("sub_alpha", input, other, alpha, out=out)
    return O.apply("sub", input, other, out=out)


def rsub(input, other, *, alpha=1):
    return sub(other, input, alpha=alpha)


def div(input, other, *, rounding_mode=None, out=None):
    if rounding_mode is None:
        return O.apply("div", input, other, out=out)
    if rounding_mode == "floor":
        return O.apply("div_floor", input, other, out=out)
    if rounding_mode == "trunc":
        return O.apply("div_trunc", input, other, out=out)
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")


def floor_divide(input, other, *, out=None):
    return O.apply("div_floor", input, other, out=out)


def true_divide(input, other, *, out=None):
    return O.apply("div", input, other, out=out)


def round(input, *, decimals=0, out=None):
    if decimals:    # PyTorch's: rint(x * 10^d) / 10^d, or rint(x / 10^-d) * 10^-d for negative d
        if not input._dtype.is_floating_point:
            raise NotImplementedError(f'"round_cpu" not implemented for \'{input._dtype._alias}\'')
        e = "rint(x0 * x1) / x1" if decimals > 0 else "rint(x0 / x1) * x1"
        return O.apply("round", input, 10.0 ** abs(decimals), out=out, expr=e)
    return O.apply("round", input, out=out)


def clamp(input, min=None, max=None, *, out=None):
    return O.clamp(input, min, max, out=out)


def clamp_min(input, min, *, out=None):
    return O.clamp(input, min, None, out=out)


def clamp_max(input, max, *, out=None):
    return O.clamp(input, None, max, out=out)


def lerp(input, end, weight, *, out=None):
    return O.apply("lerp", input, end, weight, out=out)


def _nan_args(input, nan, posinf, neginf):
    dt = input._dtype
    fi = D.finfo(dt) if dt.category >= 2 else None
    return (input, float(nan), float(fi.max if posinf is None else posinf) if fi else 0.0,
            float(fi.min if neginf is None else neginf) if fi else 0.0)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    return O.apply("nan_to_num", *_nan_args(input, nan, posinf, neginf), out=out)


def positive(input):
    if input._dtype is D.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def where(condition, input=None, other=None, *, out=None):
    if input is None and other is None:
        return _iops.nonzero(condition, as_tuple=True)
    return O.where(condition, input, other, out=out)


def _where_method(self, condition, other):
    return O.where(condition, self, other)


def _mask_value(input, mask, value):
    if not isinstance(mask, Tensor) or mask._dtype is not D.bool_:
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{O._CNAME[mask._dtype.name] if isinstance(mask, Tensor) else type(mask).__name__}")
    if isinstance(value, Tensor):
        if value.dim() != 0:
            raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.dim()} dimension(s).")
        return value if value._dtype is input._dtype else value.to(input._dtype)
    if input._dtype.category < D.scalar_dtype(value).category and input._dtype is not D.bool_:
        value = complex(value).real if isinstance(value, complex) else value
        value = int(value) if input._dtype.category == 1 else value     # the fill is cast to input's dtype
    return value


def masked_fill(input, mask, value):
    v = _mask_value(input, mask, value)
    if isinstance(v, Tensor):
        return O.where(mask, v, input)
    return O.where(mask, full((), v, dtype=input._dtype, device=input._device), input)


def real(input):
    return V.real(input)


def imag(input):
    return V.imag(input)


def conj(input):
    return O.apply("conj", input) if input._dtype.is_complex else input


def result_type(tensor1, tensor2):
    return O.result_type(tensor1, tensor2)


def pow(input, exponent, *, out=None):
    """pow with PyTorch's node names: PowBackward0 (tensor ** scalar), 1 (tensor ** tensor), 2 (scalar ** tensor)."""
    if not isinstance(exponent, Tensor):
        node = "PowBackward0"
    elif isinstance(input, Tensor):
        node = "PowBackward1"
    else:
        node = "PowBackward2"
    return O.apply("pow", input, exponent, out=out, node=node)


# ---------------------------------------------------------------- in-place forms
def add_(self, other, *, alpha=1):
    return O.apply_("add", self, other) if alpha == 1 and type(alpha) is int else \
        O.apply_("add_alpha", self, other, alpha)


def sub_(self, other, *, alpha=1):
    return O.apply_("sub", self, other) if alpha == 1 and type(alpha) is int else \
        O.apply_("sub_alpha", self, other, alpha)


def lerp_(self, end, weight):
    return O.apply_("lerp", self, end, weight)


def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
    return O.apply_("nan_to_num", *_nan_args(self, nan, posinf, neginf))


def round_(self, *, decimals=0):
    if decimals:
        return self.copy_(round(self, decimals=decimals))
    return O.apply_("round", self)


def div_(self, other, *, rounding_mode=None):
    name = {None: "div", "floor": "div_floor", "trunc": "div_trunc"}[rounding_mode]
    return O.apply_(name, self, other)


def floor_divide_(self, other):
    return O.apply_("div_floor", self, other)


def clamp_(self, min=None, max=None):
    return O.clamp(self, min, max, _inplace=True)


def clamp_min_(self, min):
    return O.clamp(self, min, None, _inplace=True)


def clamp_max_(self, max):
    return O.clamp(self, None, max, _inplace=True)


def pow_(self, exponent):
    return O.apply_("pow", self, exponent)


def masked_fill_(self, mask, value):
    O.check_inplace(self)
    r = masked_fill(self, mask, value)
    if r._shape != self._shape:
        raise RuntimeError(f"output with shape {list(self._shape)} doesn't match the broadcast shape "
                           f"{list(r._shape)}")
    return O.copy_into(self, r) if not AG.needs_grad(self, r) else self.copy_(r)


for _f, _m, _i in ((add, True, add_), (sub, True, sub_), (rsub, True, None), (div, True, div_),
                   (floor_divide, True, floor_divide_), (true_divide, True, div_), (round, True, round_),
                   (clamp, True, clamp_), (clamp_min, True, clamp_min_), (clamp_max, True, clamp_max_),
                   (lerp, True, lerp_), (nan_to_num, True, nan_to_num_), (where, _where_method, None),
                   (masked_fill, True, masked_fill_), (conj, True, None), (result_type, False, None),
                   (positive, True, None), (pow, True, pow_)):
    register(_f.__name__, _f, method=_m, inplace=_i)
register("real", real, method=property(V.real, lambda self, v: V.real(self).copy_(v)))
register("imag", imag, method=property(V.imag, lambda self, v: V.imag(self).copy_(v)))
register("clip", clamp, method=True, inplace=clamp_, alias_of="clamp")
register("divide", div, method=True, inplace=div_, alias_of="div")
register("subtract", sub, method=True, inplace=sub_, alias_of="sub")
register("conj_physical", conj, alias_of="conj")


def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None):
    for a in args:
        if isinstance(a, D.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype, device = a._dtype, a._device
        elif isinstance(a, (str, dv.device)):
            device = a
        elif a is None:
            continue
        else:
            try:
                dtype = D.as_dtype(a)
            except TypeError:
                raise TypeError(f"to() received an invalid combination of arguments: {a!r}") from None
    dt = D.as_dtype(dtype) if dtype is not None else self._dtype
    dev = dv._resolve(device) if device is not None else self._device
    if dt is self._dtype and dev == self._device and not copy:
        return self
    return O.to_copy(self, dt, dev)


register_method("to", to)


# ---------------------------------------------------------------- operators
def _cmp_ok(o):
    return isinstance(o, (Tensor, numbers.Number)) or hasattr(o, "__array__")


def _binary_operator(name, op_name, reflected=False):
    if reflected:
        def f(self, other):
            return O.apply(op_name, other, self)
    else:
        def f(self, other):
            return O.apply(op_name, self, other)
    f.__name__ = f.__qualname__ = name
    return f


def _inplace_operator(name, op_name):
    def f(self, other):
        return O.apply_(op_name, self, other)
    f.__name__ = f.__qualname__ = name
    return f


for _op, _row in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "div"), ("floordiv", "div_floor"),
                  ("mod", "remainder"), ("and", "bitwise_and"), ("or", "bitwise_or"), ("xor", "bitwise_xor"),
                  ("lshift", "bitwise_left_shift"), ("rshift", "bitwise_right_shift")):
    register_method(f"__{_op}__", _binary_operator(f"__{_op}__", _row))
    register_method(f"__r{_op}__", _binary_operator(f"__r{_op}__", _row, reflected=True))
    if _op not in ("add", "sub"):
        register_method(f"__i{_op}__", _inplace_operator(f"__i{_op}__", _row))
for _op, _row in (("lt", "lt"), ("le", "le"), ("gt", "gt"), ("ge", "ge")):
    register_method(f"__{_op}__", _binary_operator(f"__{_op}__", _row))
register_method("__ipow__", _inplace_operator("__ipow__", "pow"))


def __pow__(self, other):
    return pow(self, other)


def __rpow__(self, other):
    return pow(other, self)


def __neg__(self):
    return O.apply("neg", self)


def __abs__(self):
    return O.apply("abs", self)


def __invert__(self):
    return O.apply("bitwise_not", self)


def __eq__(self, other):
    return O.apply("eq", self, other) if _cmp_ok(other) else NotImplemented


def __ne__(self, other):
    return O.apply("ne", self, other) if _cmp_ok(other) else NotImplemented


def __iadd__(self, other):
    return add_(self, other)


def __isub__(self, other):
    return sub_(self, other)


for _f in (__pow__, __rpow__, __neg__, __abs__, __invert__, __eq__, __ne__, __iadd__, __isub__):
    register_method(_f.__name__, _f)
register_method("__pos__", positive)
register_method("__getitem__", I.getitem)
register_method("__setitem__", I.setitem)


