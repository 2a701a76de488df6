"""Elementwise ops: one table row per op with its dtype rule, kernel expression per dtype category and its
backward rule, plus the generic dispatch (promotion, broadcasting, out=, in-place, autograd recording).

Expressions are C over operands x0, x1, ... already cast to the op's compute dtype. The category key picks
the expression: 'b' bool, 'i' integer, 'f' floating (half computes in float), 'c' complex.
"""
import math

from . import _dtypes as D
from . import _ew
from . import _device as dv
from ._tensor import Tensor, empty_tensor, make
from . import autograd as AG

_CAT = {0: "b", 1: "i", 2: "f", 3: "c"}


class Op:
    __slots__ = ("name", "rule", "exprs", "backward", "node", "nargs")

    def __init__(self, name, nargs, rule, exprs, backward=None, node=None):
        self.name, self.nargs, self.rule, self.exprs, self.backward = name, nargs, rule, exprs, backward
        self.node = node or ("".join(p.capitalize() for p in name.split("_")) + "Backward0")

    def expr_for(self, cdt):
        e = self.exprs.get(_CAT[cdt.category])
        if e is None:
            e = self.exprs.get("*")
        if e is None:
            raise RuntimeError(f'"{self.name}" not implemented for \'{cdt._alias}\'')
        return e


OPS = {}


def op(name, nargs, rule, exprs, backward=None, node=None):
    if isinstance(exprs, str):
        exprs = {"*": exprs}
    OPS[name] = Op(name, nargs, rule, exprs, backward, node)


F = {"b", "i", "f"}
# ---------------------------------------------------------------- the table
# rule: std (promote), float (ints -> default float), cmp (-> bool), logical, bitwise, same (input dtype),
#       tofloat_real (complex -> real, e.g. abs)
op("add", 2, "std", {"b": "x0 | x1", "i": "x0 + x1", "f": "x0 + x1", "c": "x0 + x1"},
   lambda g, a, b, o: (g, g))
op("sub", 2, "std", {"i": "x0 - x1", "f": "x0 - x1", "c": "x0 - x1"},
   lambda g, a, b, o: (g, -g))
op("mul", 2, "std", {"b": "x0 & x1", "i": "x0 * x1", "f": "x0 * x1", "c": "c_mul(x0, x1)"},
   lambda g, a, b, o: (g * _conj(b), g * _conj(a)))
op("div", 2, "float", {"f": "x0 / x1", "c": "c_div(x0, x1)"},
   lambda g, a, b, o: (g / _conj(b), -g * _conj(o) / _conj(b)))
op("div_floor", 2, "std", {"i": "PY_IFLOORDIV(x0, x1)", "f": "py_floordiv(x0, x1)"},
   lambda g, a, b, o: (None, None), node="DivBackward1")
op("div_trunc", 2, "std", {"i": "PY_ITRUNCDIV(x0, x1)", "f": "trunc(x0 / x1)"},
   lambda g, a, b, o: (None, None), node="DivBackward1")
op("remainder", 2, "std", {"i": "PY_IMOD(x0, x1)", "f": "py_fmod_floor(x0, x1)"},
   lambda g, a, b, o: (g, -g * a.div(b, rounding_mode="floor") if isinstance(b, Tensor) else None))
op("fmod", 2, "std", {"i": "PY_IFMOD(x0, x1)", "f": "fmod(x0, x1)"},
   lambda g, a, b, o: (g, -g * a.div(b, rounding_mode="trunc") if isinstance(b, Tensor) else None))
op("pow", 2, "pow", {"i": "ipow_(x0, x1)", "f": "pow(x0, x1)", "c": "c_pow(x0, x1)"},
   lambda g, a, b, o: _pow_backward(g, a, b, o))
op("atan2", 2, "float", {"f": "atan2(x0, x1)"},
   lambda g, a, b, o: (g * b / (a * a + b * b), -g * a / (a * a + b * b)))
op("maximum", 2, "std", {"b": "x0 | x1", "i": "max(x0, x1)", "f": "py_max(x0, x1)"},
   lambda g, a, b, o: _minmax_backward(g, a, b, True))
op("minimum", 2, "std", {"b": "x0 & x1", "i": "min(x0, x1)", "f": "py_min(x0, x1)"},
   lambda g, a, b, o: _minmax_backward(g, a, b, False))
op("fmax", 2, "std", {"b": "x0 | x1", "i": "max(x0, x1)", "f": "fmax(x0, x1)"})
op("fmin", 2, "std", {"b": "x0 & x1", "i": "min(x0, x1)", "f": "fmin(x0, x1)"})
op("hypot", 2, "float", {"f": "hypot(x0, x1)"}, lambda g, a, b, o: (g * a / o, g * b / o))
op("copysign", 2, "float", {"f": "copysign(x0, x1)"})
op("xlogy", 2, "float", {"f": "(isnan(x1) ? x1 : (x0 == 0 ? 0 : x0 * log(x1)))"},
   lambda g, a, b, o: (g * b.log() if isinstance(b, Tensor) else None, g * a / b))

for _n, _e in (("eq", "=="), ("ne", "!="), ("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">=")):
    _ex = {"b": f"x0 {_e} x1", "i": f"x0 {_e} x1", "f": f"x0 {_e} x1"}
    if _n == "eq":
        _ex["c"] = "c_eq(x0, x1)"
    if _n == "ne":
        _ex["c"] = "!c_eq(x0, x1)"
    op(_n, 2, "cmp", _ex)
op("logical_and", 2, "logical", "x0 && x1")
op("logical_or", 2, "logical", "x0 || x1")
op("logical_xor", 2, "logical", "(x0 != 0) != (x1 != 0)")
op("bitwise_and", 2, "bitwise", {"b": "x0 & x1", "i": "x0 & x1"})
op("bitwise_or", 2, "bitwise", {"b": "x0 | x1", "i": "x0 | x1"})
op("bitwise_xor", 2, "bitwise", {"b": "x0 ^ x1", "i": "x0 ^ x1"})
op("bitwise_left_shift", 2, "bitwise",
   {"i": "((x1) < 0 || (x1) >= (long)(sizeof(x0) * 8)) ? 0 : (x0 << x1)"})
op("bitwise_right_shift", 2, "bitwise",
   {"i": "((x1) < 0 || (x1) >= (long)(sizeof(x0) * 8)) ? (x0 >> (sizeof(x0) * 8 - 1)) : (x0 >> x1)"})

# unary, float-valued
_LN2, _LN10 = math.log(2.0), math.log(10.0)
op("exp", 1, "float", {"f": "exp(x0)", "c": "c_exp(x0)"}, lambda g, a, o: (g * _conj(o),))
op("exp2", 1, "float", {"f": "exp2(x0)"}, lambda g, a, o: (g * o * _LN2,))
op("expm1", 1, "float", {"f": "expm1(x0)"}, lambda g, a, o: (g * (o + 1),))
op("log", 1, "float", {"f": "log(x0)", "c": "c_log(x0)"}, lambda g, a, o: (g / _conj(a),))
op("log2", 1, "float", {"f": "log2(x0)"}, lambda g, a, o: (g / (a * _LN2),))
op("log10", 1, "float", {"f": "log10(x0)"}, lambda g, a, o: (g / (a * _LN10),))
op("log1p", 1, "float", {"f": "log1p(x0)"}, lambda g, a, o: (g / (a + 1),))
op("sqrt", 1, "float", {"f": "sqrt(x0)", "c": "c_sqrt(x0)"}, lambda g, a, o: (g / (2 * _conj(o)),))
op("rsqrt", 1, "float", {"f": "rsqrt(x0)"}, lambda g, a, o: (-0.5 * g * o * o * o,))
op("sin", 1, "float", {"f": "sin(x0)"}, lambda g, a, o: (g * a.cos(),))
op("cos", 1, "float", {"f": "cos(x0)"}, lambda g, a, o: (-g * a.sin(),))
op("tan", 1, "float", {"f": "tan(x0)"}, lambda g, a, o: (g * (1 + o * o),))
op("asin", 1, "float", {"f": "asin(x0)"}, lambda g, a, o: (g * (1 - a * a).rsqrt(),))
op("acos", 1, "float", {"f": "acos(x0)"}, lambda g, a, o: (-g * (1 - a * a).rsqrt(),))
op("atan", 1, "float", {"f": "atan(x0)"}, lambda g, a, o: (g / (1 + a * a),))
op("sinh", 1, "float", {"f": "sinh(x0)"}, lambda g, a, o: (g * a.cosh(),))
op("cosh", 1, "float", {"f": "cosh(x0)"}, lambda g, a, o: (g * a.sinh(),))
op("tanh", 1, "float", {"f": "tanh(x0)"}, lambda g, a, o: (g * (1 - o * o),))
op("asinh", 1, "float", {"f": "asinh(x0)"}, lambda g, a, o: (g * (a * a + 1).rsqrt(),))
op("acosh", 1, "float", {"f": "acosh(x0)"}, lambda g, a, o: (g * (a * a - 1).rsqrt(),))
op("atanh", 1, "float", {"f": "atanh(x0)"}, lambda g, a, o: (g / (1 - a * a),))
op("sigmoid", 1, "float", {"f": "py_sigmoid(x0)"}, lambda g, a, o: (g * o * (1 - o),))
op("erf", 1, "float", {"f": "erf(x0)"}, lambda g, a, o: (g * (2 / math.sqrt(math.pi)) * (-(a * a)).exp(),))
op("erfc", 1, "float", {"f": "erfc(x0)"}, lambda g, a, o: (-g * (2 / math.sqrt(math.pi)) * (-(a * a)).exp(),))
op("reciprocal", 1, "float", {"f": "1 / x0", "c": "c_div(($T)(1, 0), x0)"},
   lambda g, a, o: (-g * _conj(o * o),))
op("silu", 1, "float", {"f": "x0 * py_sigmoid(x0)"},
   lambda g, a, o: (g * (a.sigmoid() * (1 + a * (1 - a.sigmoid()))),))
op("softplus", 1, "float", {"f": "(x0 > 20 ? x0 : log1p(exp(x0)))"}, lambda g, a, o: (g * a.sigmoid(),))
op("gelu", 1, "float", {"f": "0.5f * x0 * (1 + erf(x0 * 0.70710678118654752440f))"},
   lambda g, a, o: (g * (0.5 * (1 + (a * 0.7071067811865476).erf()) +
                         a * (-(a * a) * 0.5).exp() * 0.3989422804014327),))
op("gelu_tanh", 1, "float",
   {"f": "0.5f * x0 * (1 + tanh(0.7978845608028654f * (x0 + 0.044715f * x0 * x0 * x0)))"}, None, "GeluBackward0")
op("angle", 1, "real_float", {"b": "0", "i": "(x0 < 0 ? M_PI_F : 0)", "f": "(isnan(x0) ? x0 : (x0 < 0 ? M_PI : 0))",
                              "c": "c_angle(x0)"}, lambda g, a, o: (None,))

# unary, same dtype
op("neg", 1, "same", {"i": "-x0", "f": "-x0", "c": "-x0"}, lambda g, a, o: (-g,))
op("abs", 1, "real_same", {"b": "x0", "i": "($T)abs(x0)", "f": "fabs(x0)", "c": "c_abs(x0)"},
   lambda g, a, o: (g * _sgn(a),))
op("floor", 1, "same", {"b": "x0", "i": "x0", "f": "floor(x0)"}, lambda g, a, o: (g * 0,))
op("ceil", 1, "same", {"b": "x0", "i": "x0", "f": "ceil(x0)"}, lambda g, a, o: (g * 0,))
op("round", 1, "same", {"b": "x0", "i": "x0", "f": "rint(x0)"}, lambda g, a, o: (g * 0,))
op("trunc", 1, "same", {"b": "x0", "i": "x0", "f": "trunc(x0)"}, lambda g, a, o: (g * 0,))
op("frac", 1, "same", {"f": "py_frac(x0)"}, lambda g, a, o: (g,))
op("sign", 1, "same", {"b": "x0", "i": "PY_ISIGN(x0)", "f": "py_sign(x0)"}, lambda g, a, o: (g * 0,))
op("sgn", 1, "same", {"b": "x0", "i": "PY_ISIGN(x0)", "f": "py_sign(x0)", "c": "c_sgn(x0)"}, lambda g, a, o: (None,))
op("square", 1, "square", {"i": "x0 * x0", "f": "x0 * x0", "c": "c_mul(x0, x0)"}, lambda g, a, o: (2 * g * _conj(a),),
   node="PowBackward0")
op("relu", 1, "same", {"i": "(x0 > 0 ? x0 : 0)", "f": "((x0 > 0 || isnan(x0)) ? x0 : 0)"},
   lambda g, a, o: (where(o > 0, g, 0),))
op("conj", 1, "same", {"*": "x0", "c": "c_conj(x0)"}, lambda g, a, o: (_conj(g),))
op("positive", 1, "same", "x0", lambda g, a, o: (g,))
op("logical_not", 1, "logical", "!x0")
op("bitwise_not", 1, "bitwise", {"b": "!x0", "i": "~x0"})
op("isnan", 1, "pred", {"b": "0", "i": "0", "f": "isnan(x0)", "c": "c_isnan(x0)"})
op("isinf", 1, "pred", {"b": "0", "i": "0", "f": "isinf(x0)", "c": "c_isinf(x0)"})
op("isfinite", 1, "pred", {"b": "1", "i": "1", "f": "isfinite(x0)", "c": "c_isfinite(x0)"})
op("isposinf", 1, "pred", {"b": "0", "i": "0", "f": "(isinf(x0) && x0 > 0)"})
op("isneginf", 1, "pred", {"b": "0", "i": "0", "f": "(isinf(x0) && x0 < 0)"})
op("signbit", 1, "pred", {"b": "0", "i": "(x0 < 0)", "f": "signbit(x0)"})
op("copy", 1, "same", "x0", lambda g, a, o: (g,), node="ToCopyBackward0")
# clamp's expression depends on which bounds are given (see clamp()); the row holds its backward rule
op("clamp", 3, "std", {}, lambda g, x, *rest: _clamp_backward(g, x, *rest), node="ClampBackward1")


def _conj(t):
    return t.conj() if isinstance(t, Tensor) and t._dtype.is_complex else t


def _sgn(a):
    return a.sgn() if a._dtype.is_complex else a.sign()


def _minmax_backward(g, a, b, is_max):
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if not (ta and tb):
        return (g, None)
    half = g / 2
    win_a = a > b if is_max else a < b
    win_b = b > a if is_max else b < a
    eq = a == b
    return (where(win_a, g, where(eq, half, 0)), where(win_b, g, where(eq, half, 0)))


def _pow_backward(g, a, b, o):
    ga = gb = None
    if isinstance(a, Tensor) and a.requires_grad:
        if isinstance(b, Tensor):
            ga = g * b * where(b == 0, 1.0, a).pow(b - 1)
            ga = where(b == 0, 0.0, ga)
        elif b == 0:
            ga = g * 0
        else:
            ga = g * b * a.pow(b - 1)
    if isinstance(b, Tensor) and b.requires_grad:
        if isinstance(a, Tensor):
            gb = where((a == 0) & (b >= 0), 0.0, g * o * a.log())
        else:
            gb = g * o * math.log(a) if a > 0 else (g * o * math.log(a) if a != 0 else g * 0)
    return (ga, gb)


# ---------------------------------------------------------------- dtype rules

def _classes(args):
    dim, zero, wrapped = [], [], []
    for a in args:
        if isinstance(a, Tensor):
            (dim if a._shape else zero).append(a._dtype)
        elif a is not None:
            wrapped.append(D.scalar_dtype(a))
    return dim, zero, wrapped


def result_type(*args):
    """PyTorch's torch.result_type over tensors and Python scalars."""
    return D.result_type_state(*_classes(args))


def _rule(op_, args):
    """-> (compute dtypes per operand, expression result dtype, output dtype)."""
    rule = op_.rule
    rt = result_type(*args)
    n = len(args)
    if rule == "std" or rule == "same":
        if rule == "same" and rt is D.bool_ and op_.name == "neg":
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                               "to invert a mask, use the `~` or `logical_not()` operator instead.")
        if op_.name == "sub" and rt is D.bool_:
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
                               "or `logical_xor()` operator instead.")
        return (rt,) * n, rt, rt
    if rule == "float":
        if rt.category < 2:
            rt = D.get_default_dtype()
        return (rt,) * n, rt, rt
    if rule == "pow":
        if rt.category < 2:
            return (D.int64,) * n, D.int64, rt
        return (rt,) * n, rt, rt
    if rule == "square":
        if rt is D.bool_:
            rt = D.int64
        return (rt,) * n, rt, rt
    if rule == "cmp":
        return (rt,) * n, D.bool_, D.bool_
    if rule == "pred":
        return (rt,) * n, D.bool_, D.bool_
    if rule == "logical":
        return (D.bool_,) * n, D.bool_, D.bool_
    if rule == "bitwise":
        if rt.category > 1:
            raise RuntimeError(f'"{op_.name}_cpu" not implemented for \'{rt._alias}\'')
        return (rt,) * n, rt, rt
    if rule == "real_same":
        return (rt,) * n, rt.to_real(), rt.to_real()
    if rule == "real_float":
        out = rt.to_real() if rt.is_complex else (rt if rt.category == 2 else D.get_default_dtype())
        return (rt if rt.is_complex else out,) * n, out, out
    raise AssertionError(rule)


# ---------------------------------------------------------------- dispatch

def _device_of(args):
    dev = None
    for a in args:
        if isinstance(a, Tensor):
            if dev is None:
                dev = a._device
            elif a._device != dev:
                if a._shape == () and a._device.type == "cpu":
                    continue
                if dev.type == "cpu" and not _first_dim_on(args, dev):
                    dev = a._device
                    continue
                raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                                   f"{dev} and {a._device}!")
    return dev


def _first_dim_on(args, dev):
    return any(isinstance(a, Tensor) and a._shape != () and a._device == dev for a in args)


def _fix_operands(args, dev):
    """0-d CPU tensors used with tensors on another device become scalars (as PyTorch allows)."""
    out = []
    for a in args:
        if isinstance(a, Tensor) and a._device != dev:
            a = a.item()
        elif not isinstance(a, Tensor) and hasattr(a, "__array__") and not isinstance(a, (int, float, complex, bool)):
            from ._creation import tensor
            a = tensor(a, device=dev)
        out.append(a)
    return out


def _check_scalar(a):
    if not isinstance(a, (int, float, complex, bool, Tensor)):
        import numpy as np
        if isinstance(a, np.generic):
            return a.item()
        raise TypeError(f"unsupported operand type: {type(a).__name__}")
    return a


def apply(name, *args, out=None, expr=None):
    """Run elementwise op `name` over tensors/scalars, with autograd. Returns the result tensor."""
    op_ = OPS[name]
    args = [_check_scalar(a) for a in args]
    dev = _device_of(args)
    if dev is None:
        raise TypeError(f"{name}(): expected at least one Tensor argument")
    args = _fix_operands(args, dev)
    cdts, rdt, odt = _rule(op_, args)
    ex = (expr or op_.expr_for(cdts[0])).replace("$T", cdts[0].ctype_compute)
    shape = _ew.broadcast_shapes(*[a._shape for a in args if isinstance(a, Tensor)])
    if out is None:
        res = empty_tensor(shape, odt, dev)
    else:
        res = _prepare_out(out, shape, odt, dev, name)
    _ew.run(ex, res, args, cdts, rdt)
    if out is not None:
        res._st.version += 1
    if op_.backward is not None and AG.needs_grad(*args):
        if out is not None:
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                               "differentiation, but one of the arguments requires grad.")
        bw = op_.backward
        saved = tuple(a for a in args if isinstance(a, Tensor))
        AG.record(op_.node, args, res, _bind(bw, args, res), saved=saved)
    return res


def _bind(bw, args, res):
    if len(args) == 1:
        a, = args
        return lambda g: bw(g, a, res)
    if len(args) == 2:
        a, b = args
        return lambda g: bw(g, a, b, res)
    return lambda g: bw(g, *args, res)


def _prepare_out(out, shape, odt, dev, name):
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if out._device != dev:
        raise RuntimeError(f"Expected out tensor to have device {dev}, but got {out._device} instead")
    if not D.can_cast(odt, out._dtype):
        raise RuntimeError(f"result type {odt._alias} can't be cast to the desired output type {out._dtype._alias}")
    if out._shape != shape:
        _resize_(out, shape)
    return out


def _resize_(t, shape):
    n = empty_tensor(shape, t._dtype, t._device)
    t._st, t._shape, t._strides, t._offset = n._st, n._shape, n._strides, n._offset


def apply_(name, self, *others, expr=None):
    """In-place form: self = op(self, *others) written into self's storage."""
    op_ = OPS[name]
    others = [_check_scalar(a) for a in others]
    args = [self] + others
    dev = _device_of(args)
    args = _fix_operands(args, dev)
    if dev != self._device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{self._device} and {dev}!")
    cdts, rdt, odt = _rule(op_, args)
    if not D.can_cast(odt, self._dtype):
        raise RuntimeError(f"result type {odt._alias} can't be cast to the desired output type {self._dtype._alias}")
    shape = _ew.broadcast_shapes(*[a._shape for a in args if isinstance(a, Tensor)])
    if shape != self._shape:
        raise RuntimeError(f"output with shape {list(self._shape)} doesn't match the broadcast shape {list(shape)}")
    grad = op_.backward is not None and AG.needs_grad(*args)
    if grad:
        check_inplace(self)
    if grad:
        # the node reads the old value of self: keep a copy when the backward rule needs it
        old = self.detach().clone() if name not in ("add", "sub", "copy", "neg", "positive") else self.detach()
        old_edge_src = _snapshot_edge(self)
    ex = (expr or op_.expr_for(cdts[0])).replace("$T", cdts[0].ctype_compute)
    _ew.run(ex, self, args, cdts, rdt)
    self._st.version += 1
    if grad:
        bw = op_.backward
        targs = [old_edge_src] + others
        res_view = self.detach()
        AG.record(op_.node, targs, self, _bind_inplace(bw, old, others, res_view),
                  saved=tuple(a for a in others if isinstance(a, Tensor)))
    return self


def _snapshot_edge(t):
    """A stand-in tensor carrying t's current autograd edge (so the in-place node links to the old value)."""
    s = make(t._st, t._shape, t._strides, t._offset, t._dtype, t._device)
    s.grad_fn, s._requires_grad, s._out_nr = t.grad_fn, t._requires_grad, t._out_nr
    if t.grad_fn is None and t._requires_grad:
        s.__dict__["_acc_node"] = t.__dict__.get("_acc_node")
    return s


def _bind_inplace(bw, old, others, res):
    return lambda g: bw(g, old, *others, res)


def check_inplace(t):
    if AG.is_grad_enabled() and t.grad_fn is None and t._requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    b = t._base
    if AG.is_grad_enabled() and b is not None and b.grad_fn is None and b._requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")


# ---------------------------------------------------------------- copies and conversions

def copy_into(dst, src):
    """dst[...] = src (broadcast, cast) without autograd; src may live on another device."""
    if isinstance(src, Tensor) and src._device != dst._device:
        src = to_device_contiguous(src, dst._device)
    op_ = OPS["copy"]
    sdt = src._dtype if isinstance(src, Tensor) else D.scalar_dtype(src)
    if isinstance(src, Tensor):
        _ew.broadcast_shapes(dst._shape, src._shape)
        if len(src._shape) > len(dst._shape) or _ew.broadcast_shapes(dst._shape, src._shape) != dst._shape:
            raise RuntimeError(f"output with shape {list(dst._shape)} doesn't match the broadcast shape "
                               f"{list(_ew.broadcast_shapes(dst._shape, src._shape))}")
    _ew.run("x0", dst, [src], (sdt,), sdt)
    dst._st.version += 1
    return dst


def to_device_contiguous(t, dev):
    """Copy t to another device through the host; result contiguous, same dtype."""
    import numpy as np
    a = t._to_numpy_copy()
    r = empty_tensor(t._shape, t._dtype, dev)
    if a.size:
        if r._st.rt is None:
            r._st.host[:a.nbytes] = a.reshape(-1).view(np.uint8)
        else:
            dv.cl.enqueue_copy(r._st.rt.queue, r._st.buf, np.ascontiguousarray(a), is_blocking=True)
    return r


def to_copy(t, dtype, device):
    if device != t._device:
        r = to_device_contiguous(t, device)
        if dtype is not t._dtype:
            r = to_copy(r, dtype, device)
        if AG.needs_grad(t):
            AG.record("ToCopyBackward0", (t,), r, lambda g: (g.to(t._device),))
        return r
    r = empty_tensor(t._shape, dtype, device)
    _ew.run("x0", r, [t], (t._dtype,), t._dtype)
    if AG.needs_grad(t):
        AG.record("ToCopyBackward0", (t,), r, lambda g: (g.to(t._dtype),))
    return r


def where(cond, a, b, out=None):
    """where(cond, a, b): elementwise select; a/b may be scalars."""
    if not isinstance(cond, Tensor):
        raise TypeError("where(): argument 'condition' must be Tensor")
    if cond._dtype is not D.bool_ and cond._dtype is not D.uint8:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{cond._dtype._alias}")
    a, b = _check_scalar(a), _check_scalar(b)
    args = [cond, a, b]
    dev = _device_of(args)
    args = _fix_operands(args, dev)
    cond, a, b = args
    rt = result_type(a, b) if isinstance(a, Tensor) or isinstance(b, Tensor) else \
        D.result_type_state([], [], [D.scalar_dtype(a), D.scalar_dtype(b)])
    if not isinstance(a, Tensor) and not isinstance(b, Tensor) and rt.is_floating_point:
        rt = D.get_default_dtype()
    shape = _ew.broadcast_shapes(*[x._shape for x in args if isinstance(x, Tensor)])
    res = empty_tensor(shape, rt, dev) if out is None else _prepare_out(out, shape, rt, dev, "where")
    _ew.run("x0 ? x1 : x2", res, args, (D.bool_, rt, rt), rt)
    if AG.needs_grad(a, b):
        def bw(g):
            return (None, where(cond, g, 0.0) if isinstance(a, Tensor) else None,
                    where(cond, 0.0, g) if isinstance(b, Tensor) else None)
        AG.record("WhereBackward0", (cond, a, b), res, bw, saved=(cond,))
    return res


def clamp(x, min=None, max=None, out=None, _inplace=False):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    args = [x] + [v for v in (min, max) if v is not None]
    rt = result_type(*args)
    cat = _CAT[rt.category]
    if cat == "c":
        raise RuntimeError("clamp is not supported for complex types")
    mx, mn = ("py_max", "py_min") if cat == "f" else ("max", "min")
    if min is not None and max is not None:
        e = f"{mn}({mx}(x0, x1), x2)"
    elif min is not None:
        e = f"{mx}(x0, x1)"
    else:
        e = f"{mn}(x0, x1)"
    if _inplace:
        return apply_("clamp", x, *args[1:], expr=e)
    return apply("clamp", *args, out=out, expr=e)


def _clamp_backward(g, x, *rest):
    o = rest[-1]
    lo_hi = rest[:-1]
    # gradient flows where the input was inside the bounds (as PyTorch: x >= min and x <= max)
    mask = None
    # we don't know which of lo/hi was given from positions alone: recompute with o == x
    mask = (o == x)
    grads = [where(mask, g, 0.0)]
    for b in lo_hi:
        grads.append(where(mask, 0.0, g) if isinstance(b, Tensor) else None)
    return tuple(grads)
