"""Functional forms and Tensor methods/operators for the elementwise table, views and indexing."""
from . import _dtypes as D
from . import _ops as O
from . import _views as V
from ._index import subscript as I
from ._tensor import Tensor
from . import autograd as AG

_g = {}   # the public functions built here (exported by __init__)


def _fn(name, fn):
    _g[name] = fn
    return fn


# ---------------------------------------------------------------- elementwise functions
def _unary(name):
    def f(input, *, out=None):
        return O.apply(name, input, out=out)
    f.__name__ = name
    return f


_TENSOR_OTHER = {"atan2", "maximum", "minimum", "fmax", "fmin", "hypot", "logical_and", "logical_or", "logical_xor"}


def _binary(name):
    if name in _TENSOR_OTHER:           # PyTorch's signatures for these take a Tensor `other`, never a number
        def f(input, other, *, out=None):
            if not isinstance(other, Tensor):
                raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
            return O.apply(name, input, other, out=out)
    else:
        def f(input, other, *, out=None):
            return O.apply(name, input, other, out=out)
    f.__name__ = name
    return f


_UNARY = ("exp exp2 expm1 log log2 log10 log1p sqrt rsqrt sin cos tan asin acos atan sinh cosh tanh asinh acosh "
          "atanh sigmoid erf erfc reciprocal neg abs floor ceil trunc frac sign sgn square relu logical_not "
          "bitwise_not isnan isinf isfinite isposinf isneginf signbit angle").split()
_BINARY = ("mul atan2 maximum minimum fmax fmin hypot copysign xlogy eq ne lt le gt ge logical_and logical_or "
           "logical_xor bitwise_and bitwise_or bitwise_xor bitwise_left_shift bitwise_right_shift remainder fmod "
           "pow").split()
for _n in _UNARY:
    _fn(_n, _unary(_n))
for _n in _BINARY:
    _fn(_n, _binary(_n))
_g["pow"] = lambda input, exponent, *, out=None: _pow(input, exponent, out=out)
_ALIASES = {"negative": "neg", "absolute": "abs", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
            "arctan2": "atan2", "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "multiply": "mul",
            "greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le", "not_equal": "ne",
            "fix": "trunc"}


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
        from ._index.ops import nonzero
        return nonzero(condition, as_tuple=True)
    return O.where(condition, input, other, out=out)


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
    from ._creation import full
    return O.where(mask, full((), v, dtype=input._dtype, device=input._device), input)


def real(input):
    return V.real(input)


def imag(input):
    return V.imag(input)


def conj(input):
    return O.apply("conj", input) if input._dtype.is_complex else input


def result_type(tensor1, tensor2):
    return O.result_type(tensor1, tensor2)


for _f in (add, sub, rsub, div, floor_divide, true_divide, round, clamp, clamp_min, clamp_max, lerp, nan_to_num,
           where, masked_fill, real, imag, conj, result_type, positive):
    _fn(_f.__name__, _f)
_fn("clip", clamp)
_fn("divide", div)
_fn("subtract", sub)
_fn("conj_physical", conj)
for _a, _n in _ALIASES.items():
    _g[_a] = _g[_n]

# ---------------------------------------------------------------- view functions
for _n in ("reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "permute", "transpose", "movedim", "narrow",
           "unbind", "split", "chunk", "diagonal", "as_strided", "clone", "detach", "select", "broadcast_to"):
    _g[_n] = getattr(V, _n)
_g["swapaxes"] = _g["swapdims"] = V.transpose
_g["moveaxis"] = V.movedim
_g["t"] = V.t_


# ---------------------------------------------------------------- Tensor methods
def _inplace(name):
    def f(self, *args, **kw):
        return O.apply_(name, self, *args)
    f.__name__ = name + "_"
    return f


def _install():
    T = Tensor
    for n in _UNARY + _BINARY + list(_ALIASES):
        fn = _g[n]
        setattr(T, n, fn)
    for n in _UNARY + _BINARY:
        if n not in ("isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit", "angle"):
            setattr(T, n + "_", _inplace(n))
    for a, n in _ALIASES.items():
        if hasattr(T, n + "_"):
            setattr(T, a + "_", getattr(T, n + "_"))
    for n in ("add", "sub", "div", "floor_divide", "true_divide", "round", "clamp", "clip", "lerp", "nan_to_num",
              "masked_fill", "conj", "divide", "subtract", "rsub", "positive", "clamp_min", "clamp_max"):
        setattr(T, n, _g[n])
    T.where = lambda self, condition, other: O.where(condition, self, other)
    T.real = property(V.real, lambda self, v: V.real(self).copy_(v))
    T.imag = property(V.imag, lambda self, v: V.imag(self).copy_(v))

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

    def clamp_(self, min=None, max=None):
        return O.clamp(self, min, max, _inplace=True)

    def copy_(self, src, non_blocking=False):
        if isinstance(src, Tensor) and src._device != self._device:
            src = O.to_device_contiguous(src, self._device)
        O._check_write(self, (src,))
        if AG.needs_grad(self, src) or self.grad_fn is not None:
            return _copy_grad(self, src)
        return O.copy_into(self, src)

    def fill_(self, value):
        if isinstance(value, Tensor):
            if value.dim() != 0:
                raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.dim()} "
                                   "dimensions.")
            value = value.item()
        O.check_inplace(self)
        return AG.record_overwrite(O.copy_into(self, value), "FillBackward0")

    def zero_(self):
        O.check_inplace(self)
        return AG.record_overwrite(O.copy_into(self, 0), "ZeroBackward0")

    def masked_fill_(self, mask, value):
        O.check_inplace(self)
        r = masked_fill(self, mask, value)
        if r._shape != self._shape:
            raise RuntimeError(f"output with shape {list(self._shape)} doesn't match the broadcast shape "
                               f"{list(r._shape)}")
        return O.copy_into(self, r) if not AG.needs_grad(self, r) else self.copy_(r)

    for f in (add_, sub_, div_, clamp_, copy_, fill_, zero_, masked_fill_, lerp_, nan_to_num_, round_):
        setattr(T, f.__name__, f)
    T.clip_ = clamp_
    T.clamp_min_ = lambda s, min: O.clamp(s, min, None, _inplace=True)
    T.clamp_max_ = lambda s, max: O.clamp(s, None, max, _inplace=True)
    T.divide_, T.subtract_, T.multiply_ = div_, sub_, T.mul_
    T.mul_ = _inplace("mul")
    T.true_divide_ = div_
    T.floor_divide_ = _inplace("div_floor")

    # operators
    T.__add__ = lambda s, o: O.apply("add", s, o)
    T.__radd__ = lambda s, o: O.apply("add", o, s)
    T.__sub__ = lambda s, o: O.apply("sub", s, o)
    T.__rsub__ = lambda s, o: O.apply("sub", o, s)
    T.__mul__ = lambda s, o: O.apply("mul", s, o)
    T.__rmul__ = lambda s, o: O.apply("mul", o, s)
    T.__truediv__ = lambda s, o: O.apply("div", s, o)
    T.__rtruediv__ = lambda s, o: O.apply("div", o, s)
    T.__floordiv__ = lambda s, o: O.apply("div_floor", s, o)
    T.__rfloordiv__ = lambda s, o: O.apply("div_floor", o, s)
    T.__mod__ = lambda s, o: O.apply("remainder", s, o)
    T.__rmod__ = lambda s, o: O.apply("remainder", o, s)
    T.__pow__ = lambda s, o: _pow(s, o)
    T.__rpow__ = lambda s, o: _pow(o, s)
    T.__neg__ = lambda s: O.apply("neg", s)
    T.__pos__ = positive
    T.__abs__ = lambda s: O.apply("abs", s)
    T.__invert__ = lambda s: O.apply("bitwise_not", s)
    T.__and__ = lambda s, o: O.apply("bitwise_and", s, o)
    T.__rand__ = lambda s, o: O.apply("bitwise_and", o, s)
    T.__or__ = lambda s, o: O.apply("bitwise_or", s, o)
    T.__ror__ = lambda s, o: O.apply("bitwise_or", o, s)
    T.__xor__ = lambda s, o: O.apply("bitwise_xor", s, o)
    T.__rxor__ = lambda s, o: O.apply("bitwise_xor", o, s)
    T.__lshift__ = lambda s, o: O.apply("bitwise_left_shift", s, o)
    T.__rshift__ = lambda s, o: O.apply("bitwise_right_shift", s, o)
    T.__rlshift__ = lambda s, o: O.apply("bitwise_left_shift", o, s)
    T.__rrshift__ = lambda s, o: O.apply("bitwise_right_shift", o, s)
    T.__eq__ = lambda s, o: O.apply("eq", s, o) if _cmp_ok(o) else NotImplemented
    T.__ne__ = lambda s, o: O.apply("ne", s, o) if _cmp_ok(o) else NotImplemented
    T.__lt__ = lambda s, o: O.apply("lt", s, o)
    T.__le__ = lambda s, o: O.apply("le", s, o)
    T.__gt__ = lambda s, o: O.apply("gt", s, o)
    T.__ge__ = lambda s, o: O.apply("ge", s, o)
    T.__hash__ = lambda s: id(s)
    T.__iadd__ = lambda s, o: add_(s, o)
    T.__isub__ = lambda s, o: sub_(s, o)
    T.__imul__ = lambda s, o: O.apply_("mul", s, o)
    T.__itruediv__ = lambda s, o: O.apply_("div", s, o)
    T.__ifloordiv__ = lambda s, o: O.apply_("div_floor", s, o)
    T.__imod__ = lambda s, o: O.apply_("remainder", s, o)
    T.__ipow__ = lambda s, o: O.apply_("pow", s, o)
    T.__iand__ = lambda s, o: O.apply_("bitwise_and", s, o)
    T.__ior__ = lambda s, o: O.apply_("bitwise_or", s, o)
    T.__ixor__ = lambda s, o: O.apply_("bitwise_xor", s, o)
    T.__ilshift__ = lambda s, o: O.apply_("bitwise_left_shift", s, o)
    T.__irshift__ = lambda s, o: O.apply_("bitwise_right_shift", s, o)
    T.__getitem__ = I.getitem
    T.__setitem__ = I.setitem

    # views
    T.view = V.view
    T.view_as = lambda s, o: V.view(s, o._shape)
    T.reshape = V.reshape
    T.reshape_as = lambda s, o: V.reshape(s, o._shape)
    T.contiguous = V.contiguous
    T.clone = V.clone
    T.detach = V.detach
    T.detach_ = V.detach_
    T.flatten = V.flatten
    T.unflatten = V.unflatten
    T.squeeze = V.squeeze
    T.unsqueeze = V.unsqueeze
    T.permute = V.permute
    T.transpose = V.transpose
    T.swapaxes = T.swapdims = V.transpose
    T.t = V.t_
    T.T = property(V.T)
    T.mT = property(V.mT)
    T.H = property(lambda s: conj(V.T(s)))
    T.mH = property(lambda s: conj(V.mT(s)))
    T.adjoint = lambda s: conj(V.mT(s))
    T.movedim = T.moveaxis = V.movedim
    T.expand = V.expand
    T.expand_as = V.expand_as
    T.broadcast_to = V.broadcast_to
    T.narrow = V.narrow
    T.select = V.select
    T.unbind = V.unbind
    T.split = V.split
    T.chunk = V.chunk
    T.diagonal = V.diagonal
    T.as_strided = V.as_strided

    def squeeze_(self, dim=None):
        v = V.squeeze(self, dim)
        self._shape, self._strides = v._shape, v._strides
        return self

    def unsqueeze_(self, dim):
        v = V.unsqueeze(self, dim)
        self._shape, self._strides = v._shape, v._strides
        return self

    def t_inplace(self):
        v = V.t_(self)
        self._shape, self._strides = v._shape, v._strides
        return self
    T.squeeze_ = squeeze_
    T.unsqueeze_ = unsqueeze_
    T.t_ = t_inplace
    T.transpose_ = lambda s, a, b: (setattr(s, "_shape", V.transpose(s, a, b)._shape),
                                    setattr(s, "_strides", V.transpose(s.detach(), a, b)._strides)) and s or s

    # autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        AG.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    T.backward = backward
    T.register_hook = AG.register_tensor_hook     # cltensor/autograd/_hooks.py
    T.retain_grad = AG.retain_grad
    T.retains_grad = property(lambda s: s._retains_grad)


def _copy_grad(self, src):
    """copy_ with autograd: self takes src's values; gradient flows to src (and not to self's old value)."""
    O.check_inplace(self)
    with AG.no_grad():
        O.copy_into(self, src)
    if AG.needs_grad(src) if isinstance(src, Tensor) else False:
        sdt = src._dtype
        AG.record("CopyBackwards", (O._snapshot_edge(self), src), self,
                  lambda g: (None, g.to(sdt) if g._dtype is not sdt else g))
    elif self.grad_fn is not None:
        AG.record("CopyBackwards", (O._snapshot_edge(self),), self, lambda g: (None,))
    AG.rebase_view(self)
    return self


def _pow(a, b, *, out=None):
    """pow with PyTorch's node names: PowBackward0 (tensor ** scalar), 1 (tensor ** tensor), 2 (scalar ** tensor)."""
    if not isinstance(b, Tensor):
        node = "PowBackward0"
    elif isinstance(a, Tensor):
        node = "PowBackward1"
    else:
        node = "PowBackward2"
    return O.apply("pow", a, b, out=out, node=node)


def _cmp_ok(o):
    import numbers
    return isinstance(o, (Tensor, numbers.Number)) or hasattr(o, "__array__")


_install()
