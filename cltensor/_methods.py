"""Functional forms and Tensor methods/operators for the elementwise table, views and indexing."""
from . import _dtypes as D
from . import _ops as O
from . import _views as V
from . import _indexing as I
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


def _binary(name):
    def f(input, other, *, out=None):
        return O.apply(name, input, other, out=out)
    f.__name__ = name
    return f


_UNARY = ("exp exp2 expm1 log log2 log10 log1p sqrt rsqrt sin cos tan asin acos atan sinh cosh tanh asinh acosh "
          "atanh sigmoid erf erfc reciprocal neg abs floor ceil trunc frac sign sgn square relu logical_not "
          "bitwise_not isnan isinf isfinite isposinf isneginf signbit angle positive").split()
_BINARY = ("mul atan2 maximum minimum fmax fmin hypot copysign xlogy eq ne lt le gt ge logical_and logical_or "
           "logical_xor bitwise_and bitwise_or bitwise_xor bitwise_left_shift bitwise_right_shift remainder fmod "
           "pow").split()
for _n in _UNARY:
    _fn(_n, _unary(_n))
for _n in _BINARY:
    _fn(_n, _binary(_n))
_ALIASES = {"negative": "neg", "absolute": "abs", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
            "arctan2": "atan2", "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "multiply": "mul",
            "greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le", "not_equal": "ne",
            "fix": "trunc"}


def add(input, other, *, alpha=1, out=None):
    if alpha != 1:
        return O.apply("add", input, O.apply("mul", other, alpha), out=out)
    return O.apply("add", input, other, out=out)


def sub(input, other, *, alpha=1, out=None):
    if alpha != 1:
        return O.apply("sub", input, O.apply("mul", other, alpha), out=out)
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
    if decimals:
        s = 10.0 ** decimals
        return O.apply("div", O.apply("round", O.apply("mul", input, s)), s, out=out)
    return O.apply("round", input, out=out)


def clamp(input, min=None, max=None, *, out=None):
    return O.clamp(input, min, max, out=out)


def lerp(input, end, weight, *, out=None):
    # PyTorch's formula: weight < 0.5 ? start + w*(end-start) : end - (end-start)*(1-w)
    diff = O.apply("sub", end, input)
    return O.where(O.apply("lt", weight, 0.5) if isinstance(weight, Tensor) else
                   _full_bool(input, abs(weight) < 0.5),
                   O.apply("add", input, O.apply("mul", weight, diff)),
                   O.apply("sub", end, O.apply("mul", diff, O.apply("sub", 1, weight) if isinstance(weight, Tensor)
                                               else 1 - weight)), out=out)


def _full_bool(ref, v):
    from ._creation import full
    return full((), bool(v), dtype=D.bool_, device=ref._device)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    if not input._dtype.is_floating_point:
        return input.clone() if out is None else out.copy_(input)
    fi = D.finfo(input._dtype)
    posinf = fi.max if posinf is None else posinf
    neginf = fi.min if neginf is None else neginf
    O.OPS.setdefault("nan_to_num", O.Op("nan_to_num", 4, "std", {"f": "py_nan_to_num(x0, x1, x2, x3)"},
                                        lambda g, a, *r: (O.where(a.isfinite(), g, 0.0),), "NanToNumBackward0"))
    from ._creation import full
    args = [input] + [full((), v, dtype=input._dtype, device=input._device) for v in (nan, posinf, neginf)]
    return O.apply("nan_to_num", *args, out=out)


def where(condition, input=None, other=None, *, out=None):
    if input is None and other is None:
        from . import _advindex
        return _advindex.nonzero(condition, as_tuple=True)
    return O.where(condition, input, other, out=out)


def masked_fill(input, mask, value):
    return O.where(mask, value, input) if not isinstance(value, Tensor) else O.where(mask, value.to(input._dtype), input)


def real(input):
    return V.real(input)


def imag(input):
    return V.imag(input)


def conj(input):
    return O.apply("conj", input) if input._dtype.is_complex else input


def result_type(tensor1, tensor2):
    return O.result_type(tensor1, tensor2)


for _f in (add, sub, rsub, div, floor_divide, true_divide, round, clamp, lerp, nan_to_num, where, masked_fill, real,
           imag, conj, result_type):
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
        if n not in ("isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit", "angle", "positive"):
            setattr(T, n + "_", _inplace(n))
    for n in ("add", "sub", "div", "floor_divide", "true_divide", "round", "clamp", "clip", "lerp", "nan_to_num",
              "masked_fill", "conj", "divide", "subtract", "rsub"):
        setattr(T, n, _g[n])
    T.where = lambda self, condition, other: O.where(condition, self, other)
    T.real = property(V.real, lambda self, v: V.real(self).copy_(v))
    T.imag = property(V.imag, lambda self, v: V.imag(self).copy_(v))

    def add_(self, other, *, alpha=1):
        return O.apply_("add", self, O.apply("mul", other, alpha) if alpha != 1 else other)

    def sub_(self, other, *, alpha=1):
        return O.apply_("sub", self, O.apply("mul", other, alpha) if alpha != 1 else other)

    def div_(self, other, *, rounding_mode=None):
        name = {None: "div", "floor": "div_floor", "trunc": "div_trunc"}[rounding_mode]
        return O.apply_(name, self, other)

    def clamp_(self, min=None, max=None):
        return O.clamp(self, min, max, _inplace=True)

    def copy_(self, src, non_blocking=False):
        if isinstance(src, Tensor) and src._device != self._device:
            src = O.to_device_contiguous(src, self._device)
        if AG.needs_grad(self, src) or self.grad_fn is not None:
            return O.apply_("copy", self, src, expr="x1") if False else _copy_grad(self, src)
        return O.copy_into(self, src)

    def fill_(self, value):
        if isinstance(value, Tensor):
            if value.dim() != 0:
                raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.dim()} "
                                   "dimensions.")
            value = value.item()
        O.check_inplace(self)
        return O.copy_into(self, value)

    def zero_(self):
        return fill_(self, 0)

    def masked_fill_(self, mask, value):
        O.check_inplace(self)
        r = O.where(mask, value, self)
        return O.copy_into(self, r) if not AG.needs_grad(self) else self.copy_(r)

    for f in (add_, sub_, div_, clamp_, copy_, fill_, zero_, masked_fill_):
        setattr(T, f.__name__, f)
    T.clip_ = clamp_
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
    T.__pos__ = lambda s: s
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
        AG.backward(self, gradient, retain_graph, create_graph, inputs)

    def register_hook(self, hook):
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            lst = self._hooks
        else:
            th = self.grad_fn.metadata.setdefault("tensor_hooks", {})
            lst = th.setdefault(self._out_nr, [])
            lst.append(hook)
        return _Handle(lst, hook)

    def retain_grad(self):
        if self.grad_fn is None:
            return
        if self._retains_grad:
            return
        self._retains_grad = True
        import weakref
        ref = weakref.ref(self)

        def hook(g):
            t = ref()
            if t is not None:
                t.grad = g.detach().clone() if t.grad is None else t.grad + g.detach()
        th = self.grad_fn.metadata.setdefault("tensor_hooks", {})
        th.setdefault(self._out_nr, []).append(hook)

    T.backward = backward
    T.register_hook = register_hook
    T.retain_grad = retain_grad
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
    _propagate_to_base(self)
    return self


def _propagate_to_base(view):
    """An in-place write into a view of a graph tensor: the base's gradient must route through the view."""
    b = view._base
    if b is None or not AG.is_grad_enabled() or view.grad_fn is None:
        return
    if b is view:
        return
    # record on the base: grads to base = grad with the view region replaced by the view's grad path
    vshape, vstrides, voff = view._shape, view._strides, view._offset
    view_node_grad = view

    def fn(x):
        return V.as_strided(x, vshape, vstrides, voff - b._offset + x._offset) if False else \
            _same_view(x, b, vshape, vstrides, voff)
    snap = O._snapshot_edge(b)

    def bw(g):
        from ._creation import zeros
        g_base = g.clone()
        with AG.no_grad():
            O.copy_into(_same_view(g_base, b, vshape, vstrides, voff), 0)
        gv = _same_view(g, b, vshape, vstrides, voff).clone()
        return (g_base, gv)
    AG.record("CopySlices", (snap, view_node_grad), b, bw)


def _same_view(x, base, shape, strides, off):
    """The view of x (contiguous, base-shaped) that (shape, strides, off) is of base."""
    from ._tensor import make
    if base.is_contiguous() and x.is_contiguous():
        return make(x._st, shape, strides, x._offset + off - base._offset, x._dtype, x._device)
    raise NotImplementedError("in-place writes through views of non-contiguous bases are not differentiable yet")


class _Handle:
    def __init__(self, lst, item):
        self.lst, self.item = lst, item

    def remove(self):
        if self.item in self.lst:
            self.lst.remove(self.item)


def _pow(a, b):
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        node = "PowBackward0"
    elif isinstance(a, Tensor):
        node = "PowBackward1"
    else:
        node = "PowBackward2"
    op_ = O.OPS["pow"]
    op_.node = node
    return O.apply("pow", a, b)


def _cmp_ok(o):
    import numbers
    return isinstance(o, (Tensor, numbers.Number)) or hasattr(o, "__array__")


_install()
