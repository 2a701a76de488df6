"""Elementwise ops: one table row per op with its dtype rule, kernel expression per dtype category and its
backward rule, plus the generic dispatch (promotion, broadcasting, out=, in-place, autograd recording).

Expressions are C over operands x0, x1, ... already cast to the op's compute dtype. The category key picks
the expression: 'b' bool, 'i' integer, 'f' floating (half computes in float), 'c' complex.
"""
import cmath
import math

from . import _dtypes as D
from . import _dispatch
from ._registry import register
from . import _ew
from . import _kernels
from . import _device as dv
from ._creation import tensor
from ._tensor import Tensor, empty_tensor, empty_like_layout
from .autograd import _tape as AG

_CAT = {0: "b", 1: "i", 2: "f", 3: "c"}


class Op:
    __slots__ = ("name", "rule", "exprs", "backward", "node", "nargs", "special", "saves", "split")

    def __init__(self, name, nargs, rule, exprs, backward=None, node=None, special=None, saves=None, split=None):
        self.name, self.nargs, self.rule, self.exprs, self.backward = name, nargs, rule, exprs, backward
        # the backward rule as one function per input (same parameters, that input's gradient), or None: then
        # only the gradients of inputs that require grad are computed (PyTorch's needs_input_grad)
        self.split = split
        # what the backward rule reads, as AG.saves_mask parses it (see the table's notes)
        self.saves = AG.saves_mask(saves, nargs, backward, name) if backward is not None else None
        self.special = special     # special(args) -> a cheaper C expression for these operands, or None
        self.node = node or ("".join(p.capitalize() for p in name.split("_")) + "Backward0")

    def expr_for(self, cdt):
        cat = _CAT[cdt.category]
        e = self.exprs.get(cat)
        if e is None:
            e = self.exprs.get("*")
        if e is None:
            exc, msg = _ERRS.get((self.name, cat), (NotImplementedError, '"{}_cpu" not implemented for \'{}\''))
            raise exc(msg.format(self.name, cdt._alias))
        return e


# PyTorch's own words where an op refuses a dtype category (default: '"<op>_cpu" not implemented for ...')
_CPLX = "{} is not supported for complex inputs"
_VML = '"{}_vml_cpu" not implemented for \'{}\''
_ERRS = {("floor", "c"): (NotImplementedError, _CPLX), ("ceil", "c"): (NotImplementedError, _CPLX),
         ("trunc", "c"): (NotImplementedError, _CPLX),
         ("erf", "c"): (NotImplementedError, _VML), ("erfc", "c"): (NotImplementedError, _VML),
         ("round", "c"): (NotImplementedError, _VML), ("round", "b"): (NotImplementedError, _VML),
         ("floor", "b"): (NotImplementedError, _VML), ("ceil", "b"): (NotImplementedError, _VML),
         ("trunc", "b"): (NotImplementedError, _VML),
         ("sign", "c"): (NotImplementedError, "Unlike NumPy, torch.sign is not intended to support complex numbers. "
                                              "Please use torch.sgn instead."),
         ("relu", "c"): (NotImplementedError, "clamp is not supported for complex types"),
         ("relu", "b"): (RuntimeError, "Boolean inputs not supported for relu"),
         ("maximum", "c"): (RuntimeError, "maximum not implemented for complex tensors."),
         ("minimum", "c"): (RuntimeError, "minimum not implemented for complex tensors."),
         ("fmax", "c"): (RuntimeError, "fmax not implemented for complex tensors."),
         ("fmin", "c"): (RuntimeError, "fmin not implemented for complex tensors."),
         ("isposinf", "c"): (RuntimeError, "isposinf does not support complex inputs."),
         ("isneginf", "c"): (RuntimeError, "isneginf does not support complex inputs."),
         ("signbit", "c"): (NotImplementedError, "signbit is not implemented for complex tensors."),
         ("positive", "b"): (RuntimeError, "The `+` operator, on a bool tensor is not supported."),
         ("neg", "b"): (RuntimeError, "Negation, the `-` operator, on a bool tensor is not supported. If you are "
                                      "trying to invert a mask, use the `~` or `logical_not()` operator instead.")}


# the kernel names torch's dtype errors give where they differ from the op's name
_KERNEL_NAME = {"bitwise_left_shift": "lshift", "bitwise_right_shift": "rshift"}
for _n, _k in _KERNEL_NAME.items():
    _ERRS[(_n, "b")] = (NotImplementedError, '"' + _k + '_cpu" not implemented for \'{1}\'')

OPS = {}


def op(name, nargs, rule, exprs, backward=None, node=None, special=None, saves=None, *, public=False,
       inplace=True, aliases=(), split=None):
    """One row of the table. public=True also publishes the op (cltensor/_registry.py): the function
    cltensor.<name>(input[, other], *, out=None), the method Tensor.<name> and, unless inplace=False, the
    in-place method Tensor.<name>_; each of `aliases` names the same three forms. public="tensor_other": as True,
    but `other` must be a Tensor (PyTorch's signatures of atan2, maximum, logical_and ...)."""
    if isinstance(exprs, str):
        exprs = {"*": exprs}
    OPS[name] = Op(name, nargs, rule, exprs, backward, node, special, saves, split)
    for e in exprs.values():
        _kernels.name_expression(e, name)
    if public:
        fn = _public_function(name, nargs, public == "tensor_other")
        inp = _inplace_method(name) if inplace else None
        register(name, fn, method=True, inplace=inp)
        for a in aliases:
            register(a, fn, method=True, inplace=inp, alias_of=name)


def _public_function(name, nargs, tensor_other):
    if nargs == 1:
        def f(input, *, out=None):
            return apply(name, input, out=out)
    elif tensor_other:
        def f(input, other, *, out=None):
            if not isinstance(other, Tensor):
                raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
            return apply(name, input, other, out=out)
    else:
        def f(input, other, *, out=None):
            return apply(name, input, other, out=out)
    f.__name__ = f.__qualname__ = name
    return f


def _inplace_method(name):
    """Tensor.<name>_: op `name` written into self (apply_)."""
    def f(self, *args):
        return apply_(name, self, *args)
    f.__name__ = f.__qualname__ = name + "_"
    return f


# ---------------------------------------------------------------- the table
# rule (see _rule): std (promote), same (promote; unary keeps the dtype), float (ints -> default float),
#       pow, square, cmp/pred (-> bool), logical, bitwise, real_same/real_float (complex -> real: abs, angle),
#       first (the first operand's dtype), alpha (add/sub with alpha), lerp
# backward: rule(g, *inputs, out) -> one gradient per input (None where none flows). saves: what the rule reads,
#       as PyTorch's derivatives.yaml states it per formula: one character per kept value, an input's position
#       ("0" the first operand, "1" the second, ...) or "o" for the result; "" keeps nothing. Only those are kept
#       alive (and version-checked) for the backward; the rule gets None in place of the others. Required with a
#       rule, checked against the rule's parameters here and against its code by tests/test_autograd.py.
op("add", 2, "std", {"b": "x0 | x1", "i": "x0 + x1", "f": "x0 + x1", "c": "x0 + x1"},
   lambda g, a, b, o: (g, g), saves="")
op("sub", 2, "std", {"i": "x0 - x1", "f": "x0 - x1", "c": "x0 - x1"},
   lambda g, a, b, o: (g, -g), saves="", split=(lambda g, a, b, o: g, lambda g, a, b, o: -g))
# add/sub with alpha != 1 in one kernel (x2 = alpha, cast to the result dtype; the optimizers' hot path)
op("add_alpha", 3, "alpha", {"b": "x0 | (x1 & x2)", "i": "x0 + x2 * x1", "f": "x0 + x2 * x1",
                             "c": "x0 + c_mul(x2, x1)"}, lambda g, a, b, al, o: (g, g * al), node="AddBackward0",
   saves="2")
op("sub_alpha", 3, "alpha", {"i": "x0 - x2 * x1", "f": "x0 - x2 * x1", "c": "x0 - c_mul(x2, x1)"},
   lambda g, a, b, al, o: (g, -g * al), node="SubBackward0", saves="2")
op("mul", 2, "std", {"b": "x0 & x1", "i": "x0 * x1", "f": "x0 * x1", "c": "c_mul(x0, x1)"},
   lambda g, a, b, o: (g * _conj(b), g * _conj(a)), saves="01", public=True, aliases=('multiply',),
   split=(lambda g, a, b, o: g * _conj(b), lambda g, a, b, o: g * _conj(a)))
op("div", 2, "float", {"f": "x0 / x1", "c": "c_div(x0, x1)"},
   lambda g, a, b, o: (g / _conj(b), -g * _conj(o) / _conj(b)), saves="1o",
   split=(lambda g, a, b, o: g / _conj(b), lambda g, a, b, o: -g * _conj(o) / _conj(b)))
op("div_floor", 2, "std", {"i": "PY_IFLOORDIV(x0, x1)", "f": "py_floordiv(x0, x1)"},
   lambda g, a, b, o: (g * 0, g * 0), node="DivBackward2", saves="")
op("div_trunc", 2, "std", {"i": "PY_ITRUNCDIV(x0, x1)", "f": "trunc(x0 / x1)"},
   lambda g, a, b, o: (g * 0, g * 0), node="DivBackward2", saves="")
op("remainder", 2, "std", {"i": "PY_IMOD(x0, x1)", "f": "py_fmod_floor(x0, x1)"},
   lambda g, a, b, o: (g, -g * apply("div_floor", a, b) if isinstance(b, Tensor) else None), saves="01",
   public=True)
op("fmod", 2, "std", {"i": "PY_IFMOD(x0, x1)", "f": "fmod(x0, x1)"},
   lambda g, a, b, o: (g, -g * apply("div_trunc", a, b) if isinstance(b, Tensor) else None), saves="01", public=True)
# float tensor ** these Python scalars: the forms PyTorch's CPU kernel uses (and PoCL's pow() is ~50x slower)
_POW_SCALAR = {2: "x0 * x0", 3: "x0 * x0 * x0", 0.5: "sqrt(x0)", -0.5: "rsqrt(x0)", -1: "($T)1 / x0",
               -2: "($T)1 / (x0 * x0)", 1: "x0"}


def _pow_special(args):
    a, b = args[0], args[1]
    if type(b) in (int, float) and isinstance(a, Tensor) and a._dtype.category == 2:
        return _POW_SCALAR.get(b)
    return None


op("pow", 2, "pow", {"i": "ipow_(x0, x1)", "f": "pow(x0, x1)", "c": "c_pow(x0, x1)"},
   lambda g, a, b, o: _pow_backward(g, a, b, o), special=_pow_special, saves="01o")
op("atan2", 2, "float", {"f": "atan2(x0, x1)"},
   lambda g, a, b, o: (g * b / (a * a + b * b), -g * a / (a * a + b * b)), saves="01",
   public="tensor_other", aliases=('arctan2',))
op("maximum", 2, "std", {"b": "x0 | x1", "i": "max(x0, x1)", "f": "py_max(x0, x1)"},
   lambda g, a, b, o: _minmax_backward(g, a, b, True), saves="01", public="tensor_other")
op("minimum", 2, "std", {"b": "x0 & x1", "i": "min(x0, x1)", "f": "py_min(x0, x1)"},
   lambda g, a, b, o: _minmax_backward(g, a, b, False), saves="01", public="tensor_other")
# ties keep the first operand as PyTorch's fmax/fmin: fmax(-0.0, 0.0) is -0.0
op("fmax", 2, "std", {"b": "x0 | x1", "i": "max(x0, x1)",
                      "f": "(isnan(x1) ? x0 : (isnan(x0) ? x1 : (x0 < x1 ? x1 : x0)))"},
   lambda g, a, b, o: _fminmax_backward(g, a, b, True), saves="01", public="tensor_other")
op("fmin", 2, "std", {"b": "x0 & x1", "i": "min(x0, x1)",
                      "f": "(isnan(x1) ? x0 : (isnan(x0) ? x1 : (x1 < x0 ? x1 : x0)))"},
   lambda g, a, b, o: _fminmax_backward(g, a, b, False), saves="01", public="tensor_other")
op("hypot", 2, "std", {"f": "hypot(x0, x1)"}, lambda g, a, b, o: (g * a / o, g * b / o),
   saves="01o", public="tensor_other")
op("copysign", 2, "float", {"f": "copysign(x0, x1)"},
   lambda g, a, b, o: (g * where(a == 0, 0.0, o / a) if isinstance(a, Tensor) else None,
                       g * 0 if isinstance(b, Tensor) else None), saves="01o", public=True)
op("xlogy", 2, "float", {"f": "(isnan(x1) ? x1 : (x0 == 0 ? 0 : x0 * log(x1)))"},
   lambda g, a, b, o: (g * _xlogy_dx(a, b), g * a / b), saves="01", public=True)

def _xlogy_dx(a, b):
    """d/dx xlogy(x, y): log(y), but 0 where x == 0 and y <= 0 (PyTorch's rule)."""
    lb = b.log() if isinstance(b, Tensor) else math.log(b) if b > 0 else (-math.inf if b == 0 else math.nan)
    if not isinstance(a, Tensor):
        return lb
    if isinstance(b, Tensor):
        return where((a == 0) & (b <= 0), 0.0, lb)
    return where(a == 0, 0.0, lb) if b <= 0 else lb


for _n, _e, _al in (("eq", "==", ()), ("ne", "!=", ("not_equal",)), ("lt", "<", ("less",)),
                    ("le", "<=", ("less_equal",)), ("gt", ">", ("greater",)), ("ge", ">=", ("greater_equal",))):
    _ex = {"b": f"x0 {_e} x1", "i": f"x0 {_e} x1", "f": f"x0 {_e} x1"}
    if _n == "eq":
        _ex["c"] = "c_eq(x0, x1)"
    if _n == "ne":
        _ex["c"] = "!c_eq(x0, x1)"
    op(_n, 2, "cmp", _ex, public=True, aliases=_al)
op("logical_and", 2, "logical", "x0 && x1", public="tensor_other")
op("logical_or", 2, "logical", "x0 || x1", public="tensor_other")
op("logical_xor", 2, "logical", "(x0 != 0) != (x1 != 0)", public="tensor_other")
op("bitwise_and", 2, "bitwise", {"b": "x0 & x1", "i": "x0 & x1"}, public=True)
op("bitwise_or", 2, "bitwise", {"b": "x0 | x1", "i": "x0 | x1"}, public=True)
op("bitwise_xor", 2, "bitwise", {"b": "x0 ^ x1", "i": "x0 ^ x1"}, public=True)
op("bitwise_left_shift", 2, "bitwise",
   {"i": "((x1) < 0 || (x1) >= (long)(sizeof(x0) * 8)) ? 0 : (x0 << x1)"}, public=True)
op("bitwise_right_shift", 2, "bitwise",
   {"i": "((x1) < 0 || (x1) >= (long)(sizeof(x0) * 8)) ? (x0 < 0 ? (x0 >> (sizeof(x0) * 8 - 1)) : 0) : (x0 >> x1)"}, public=True)

# unary, float-valued
_LN2, _LN10 = math.log(2.0), math.log(10.0)
op("exp", 1, "float", {"f": "exp(x0)", "c": "c_exp(x0)"}, lambda g, a, o: (g * _conj(o),), saves="o", public=True)
op("exp2", 1, "float", {"f": "exp2(x0)", "c": "c_exp2(x0)"}, lambda g, a, o: (g * _conj(o * _LN2),),
   saves="o", public=True)
op("expm1", 1, "float", {"f": "expm1(x0)", "c": "c_expm1(x0)"}, lambda g, a, o: (g * _conj(o + 1),),
   saves="o", public=True)
op("log", 1, "float", {"f": "log(x0)", "c": "c_log(x0)"}, lambda g, a, o: (g / _conj(a),), saves="0", public=True)
op("log2", 1, "float", {"f": "log2(x0)", "c": "c_log2(x0)"}, lambda g, a, o: (g / _conj(a * _LN2),),
   saves="0", public=True)
op("log10", 1, "float", {"f": "log10(x0)", "c": "c_log10(x0)"}, lambda g, a, o: (g / _conj(a * _LN10),),
   saves="0", public=True)
op("log1p", 1, "float", {"f": "log1p(x0)", "c": "c_log1p(x0)"}, lambda g, a, o: (g / _conj(a + 1),),
   saves="0", public=True)
op("sqrt", 1, "float", {"f": "sqrt(x0)", "c": "c_sqrt(x0)"}, lambda g, a, o: (g / (2 * _conj(o)),),
   saves="o", public=True)
op("rsqrt", 1, "float", {"f": "rsqrt(x0)", "c": "c_rsqrt(x0)"}, lambda g, a, o: (-0.5 * g * _conj(o * o * o),),
   saves="o", public=True)
op("sin", 1, "float", {"f": "sin(x0)", "c": "c_sin(x0)"}, lambda g, a, o: (g * _conj(a.cos()),), saves="0", public=True)
op("cos", 1, "float", {"f": "cos(x0)", "c": "c_cos(x0)"}, lambda g, a, o: (-g * _conj(a.sin()),),
   saves="0", public=True)
op("tan", 1, "float", {"f": "tan(x0)", "c": "c_tan(x0)"}, lambda g, a, o: (g * _conj(1 + o * o),),
   saves="o", public=True)
op("asin", 1, "float", {"f": "asin(x0)", "c": "c_asin(x0)"}, lambda g, a, o: (g * _conj((1 - a * a).rsqrt()),),
   saves="0", public=True, aliases=('arcsin',))
op("acos", 1, "float", {"f": "acos(x0)", "c": "c_acos(x0)"}, lambda g, a, o: (-g * _conj((1 - a * a).rsqrt()),),
   saves="0", public=True, aliases=('arccos',))
op("atan", 1, "float", {"f": "atan(x0)", "c": "c_atan(x0)"}, lambda g, a, o: (g / _conj(1 + a * a),),
   saves="0", public=True, aliases=('arctan',))
op("sinh", 1, "float", {"f": "sinh(x0)", "c": "c_sinh(x0)"}, lambda g, a, o: (g * _conj(a.cosh()),),
   saves="0", public=True)
op("cosh", 1, "float", {"f": "cosh(x0)", "c": "c_cosh(x0)"}, lambda g, a, o: (g * _conj(a.sinh()),),
   saves="0", public=True)
op("tanh", 1, "float", {"f": "py_tanh(x0)", "c": "c_tanh(x0)"}, lambda g, a, o: (g * _conj(1 - o * o),),
   saves="o", public=True)
op("asinh", 1, "float", {"f": "asinh(x0)", "c": "c_asinh(x0)"}, lambda g, a, o: (g * _conj((a * a + 1).rsqrt()),),
   saves="0", public=True, aliases=('arcsinh',))
op("acosh", 1, "float", {"f": "acosh(x0)", "c": "c_acosh(x0)"},
   lambda g, a, o: (g * _acosh_grad(a),), saves="0", public=True, aliases=('arccosh',))
op("atanh", 1, "float", {"f": "atanh(x0)", "c": "c_atanh(x0)"}, lambda g, a, o: (g / _conj(1 - a * a),),
   saves="0", public=True, aliases=('arctanh',))
op("sigmoid", 1, "float", {"f": "py_sigmoid(x0)", "c": "c_sigmoid(x0)"}, lambda g, a, o: (g * _conj(o * (1 - o)),),
   saves="o", public=True)
op("erf", 1, "float", {"f": "erf(x0)"}, lambda g, a, o: (g * (2 / math.sqrt(math.pi)) * (-(a * a)).exp(),),
   saves="0", public=True)
op("erfc", 1, "float", {"f": "erfc(x0)"}, lambda g, a, o: (-g * (2 / math.sqrt(math.pi)) * (-(a * a)).exp(),),
   saves="0", public=True)
op("reciprocal", 1, "float", {"f": "1 / x0", "c": "c_div(($T)(1, 0), x0)"},
   lambda g, a, o: (-g * _conj(o * o),), saves="o", public=True)
op("silu", 1, "float", {"f": "x0 * py_sigmoid(x0)"},
   lambda g, a, o: (g * (a.sigmoid() * (1 + a * (1 - a.sigmoid()))),), saves="0")
op("softplus", 1, "float", {"f": "(x0 > 20 ? x0 : log1p(exp(x0)))"}, lambda g, a, o: (g * a.sigmoid(),), saves="0")
op("gelu", 1, "float", {"f": "($T)0.5 * x0 * (1 + erf(x0 * ($T)0.70710678118654752440))"},
   lambda g, a, o: (g * (0.5 * (1 + (a * 0.7071067811865476).erf()) +
                         a * (-(a * a) * 0.5).exp() * 0.3989422804014327),), saves="0")
op("gelu_tanh", 1, "float",
   {"f": "($T)0.5 * x0 * (1 + py_tanh(($T)0.7978845608028654 * (x0 + ($T)0.044715 * x0 * x0 * x0)))"},
   lambda g, a, o: (g * _gelu_tanh_grad(a),), "GeluBackward0", saves="0")
op("angle", 1, "real_float", {"b": "0", "i": "py_angle(($T)x0)", "f": "py_angle(x0)",
                              "c": "c_angle(x0)"}, lambda g, a, o: (_angle_backward(g, a),), saves="0",
   public=True, inplace=False)

# unary, same dtype
op("neg", 1, "same", {"i": "-x0", "f": "-x0", "c": "-x0"}, lambda g, a, o: (-g,),
   saves="", public=True, aliases=('negative',))
op("nan_to_num", 4, "first", {"b": "x0", "i": "x0", "f": "py_nan_to_num(x0, x1, x2, x3)",
                             "c": "($T)(py_nan_to_num(x0.x, x1.x, x2.x, x3.x), py_nan_to_num(x0.y, x1.x, x2.x, x3.x))"},
   lambda g, a, *r: (where(a.isfinite(), g, 0.0),), saves="0")
op("abs", 1, "real_same", {"i": "($T)abs(x0)", "f": "fabs(x0)", "c": "c_abs(x0)"},
   lambda g, a, o: (g * _sgn(a),), saves="0", public=True, aliases=('absolute',))
op("floor", 1, "same", {"i": "x0", "f": "floor(x0)"}, lambda g, a, o: (g * 0,), saves="", public=True)
op("ceil", 1, "same", {"i": "x0", "f": "ceil(x0)"}, lambda g, a, o: (g * 0,), saves="", public=True)
op("round", 1, "same", {"i": "x0", "f": "rint(x0)"}, lambda g, a, o: (g * 0,), saves="")
op("trunc", 1, "same", {"i": "x0", "f": "trunc(x0)"}, lambda g, a, o: (g * 0,), saves="", public=True, aliases=('fix',))
op("frac", 1, "same", {"f": "py_frac(x0)"}, lambda g, a, o: (g,), saves="", public=True)
op("sign", 1, "same", {"b": "x0", "i": "PY_ISIGN(x0)", "f": "py_sign(x0)"}, lambda g, a, o: (g * 0,),
   saves="", public=True)
op("sgn", 1, "same", {"b": "x0", "i": "PY_ISIGN(x0)", "f": "py_sign(x0)", "c": "c_sgn(x0)"},
   lambda g, a, o: (_sgn_backward(g, a, o),), saves="0o", public=True)
op("square", 1, "square", {"i": "x0 * x0", "f": "x0 * x0", "c": "c_mul(x0, x0)"}, lambda g, a, o: (2 * g * _conj(a),),
   node="PowBackward0", saves="0", public=True)
# float relu: NaN stays NaN and -0.0 stays -0.0 (both compare false with < 0), as in PyTorch, without a branch (||),
# so a GEMM epilogue can run it on vectors
op("relu", 1, "same", {"i": "(x0 > 0 ? x0 : 0)", "f": "(x0 < 0 ? 0 : x0)"},
   lambda g, a, o: (where(o <= 0, 0, g),), saves="o", public=True)     # NaN passes the gradient (PyTorch)
op("conj", 1, "same", {"*": "x0", "c": "c_conj(x0)"}, lambda g, a, o: (_conj(g),), saves="")
op("positive", 1, "same", {"i": "x0", "f": "x0", "c": "x0"}, lambda g, a, o: (g,), saves="")
op("logical_not", 1, "logical", "!x0", public=True)
op("bitwise_not", 1, "bitwise", {"b": "!x0", "i": "~x0"}, public=True)
op("isnan", 1, "pred", {"b": "0", "i": "0", "f": "isnan(x0)", "c": "c_isnan(x0)"}, public=True, inplace=False)
op("isinf", 1, "pred", {"b": "0", "i": "0", "f": "isinf(x0)", "c": "c_isinf(x0)"}, public=True, inplace=False)
op("isfinite", 1, "pred", {"b": "1", "i": "1", "f": "isfinite(x0)", "c": "c_isfinite(x0)"}, public=True, inplace=False)
op("isposinf", 1, "pred", {"b": "0", "i": "0", "f": "(isinf(x0) && x0 > 0)"}, public=True, inplace=False)
op("isneginf", 1, "pred", {"b": "0", "i": "0", "f": "(isinf(x0) && x0 < 0)"}, public=True, inplace=False)
op("signbit", 1, "pred", {"b": "0", "i": "(x0 < 0)", "f": "signbit(x0)"}, public=True, inplace=False)
op("copy", 1, "same", "x0", lambda g, a, o: (g,), node="ToCopyBackward0", saves="")
# PyTorch's lerp: weight < 0.5 ? start + weight * (end - start) : end - (end - start) * (1 - weight)
op("lerp", 3, "lerp", {"f": "(fabs(x2) < 0.5f ? x0 + x2 * (x1 - x0) : x1 - (x1 - x0) * (1 - x2))",
                       "c": "(c_abs(x2) < 0.5f ? x0 + c_mul(x2, x1 - x0) : x1 - c_mul(x1 - x0, ($T)(1, 0) - x2))"},
   lambda g, a, b, w, o: (g * _conj(1 - w), g * _conj(w), g * _conj(b - a) if isinstance(w, Tensor) else None),
   saves="012")
# clamp's expression depends on which bounds are given (see clamp()); the row holds its backward rule
op("clamp", 3, "std", {}, lambda g, x, *rest: _clamp_backward(g, x, *rest), node="ClampBackward1", saves="012o")


def _conj(t):
    return t.conj() if isinstance(t, Tensor) and t._dtype.is_complex else t


def _sgn(a):
    return a.sgn() if a._dtype.is_complex else a.sign()


def _minmax_backward(g, a, b, is_max):
    # PyTorch's: ties split the gradient; NaN (unordered) passes it to both; a or b may be a scalar
    split = where(apply("eq", a, b), g / 2, g)
    lose_a, lose_b = (apply("lt", a, b), apply("gt", a, b)) if is_max else (apply("gt", a, b), apply("lt", a, b))
    return (where(lose_a, 0.0, split) if isinstance(a, Tensor) else None,
            where(lose_b, 0.0, split) if isinstance(b, Tensor) else None)


def _fminmax_backward(g, a, b, is_max):
    # fmax/fmin: the gradient goes to the selected operand (a on ties; the non-NaN one)
    pick_a = apply("ge" if is_max else "le", a, b)
    if isinstance(b, Tensor):
        pick_a = pick_a | b.isnan()
    return (where(pick_a, g, 0.0) if isinstance(a, Tensor) else None,
            where(pick_a, 0.0, g) if isinstance(b, Tensor) else None)


def _acosh_grad(a):
    # real: 1 / sqrt(x^2 - 1), defined for x < -1 too (PyTorch's formula); complex: the principal branch's
    # 1 / (sqrt(z - 1) sqrt(z + 1)), as PyTorch computes it
    if a._dtype.is_complex:
        return _conj((a - 1).rsqrt() * (a + 1).rsqrt())
    return (a * a - 1).rsqrt()


def _gelu_tanh_grad(x):
    k_beta, k_kappa = 0.7978845608028654, 0.044715
    t = (k_beta * (x + k_kappa * x * x * x)).tanh()
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k_beta * (1 + 3 * k_kappa * x * x)


def _sgn_backward(g, a, o):
    if not a._dtype.is_complex:
        return g * 0
    ab = a.abs()
    return where(ab == 0, 0.0, (g - (g * o.conj()).real * o) / ab)


def _angle_backward(g, a):
    if not a._dtype.is_complex:
        return g * 0
    return where(a == 0, 0.0, g * a / (a.abs() * a.abs()) * 1j)


def _pow_backward(g, a, b, o):
    # PyTorch's pow_backward_self / pow_backward_exponent; for complex values the derivative is conjugated
    ga = gb = None
    if isinstance(a, Tensor) and a.requires_grad:
        if isinstance(b, Tensor):
            ga = g * _conj(b * where(b == 0, 1.0, a).pow(b - 1))
            ga = where(b == 0, 0.0, ga)
        elif b == 0:
            ga = g * 0
        else:
            ga = g * _conj(a.pow(b - 1) * b)
    if isinstance(b, Tensor) and b.requires_grad:
        if isinstance(a, Tensor):
            # zero where base == 0 and the exponent is real and >= 0
            nonneg = (b.imag == 0) & (b.real >= 0) if b._dtype.is_complex else b >= 0
            gb = where((a == 0) & nonneg, 0.0, g * _conj(o * a.log()))
        elif isinstance(a, complex):
            gb = g * 0 if a == 0 else g * _conj(o * cmath.log(a))
        else:
            # PyTorch's pow_backward_exponent: grad * where(base == 0 & exponent >= 0, 0, result * log(base)),
            # so 0 ** x has the gradient -inf where x < 0 (result inf, log 0 = -inf)
            if a > 0:
                gb = g * _conj(o * math.log(a))
            elif a != 0:
                gb = g * o * float("nan")
            elif b._dtype.is_complex:
                gb = g * 0
            else:
                gb = g * where(b >= 0, 0.0, o * float("-inf"))
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


_CNAME = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short int", "int32": "int",
          "int64": "long int", "float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float",
          "float64": "double",
          "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}   # PyTorch's C++ type names


def _sub_check(args):
    bools = [(a._dtype if isinstance(a, Tensor) else D.scalar_dtype(a)) is D.bool_ for a in args[:2]]
    if all(bools):
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    if any(bools):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")


def _rule(op_, args):
    """-> (compute dtypes per operand, expression result dtype, output dtype)."""
    rule = op_.rule
    n = len(args)
    if rule == "first":                       # everything in the first operand's dtype (nan_to_num)
        rt = args[0]._dtype
        return (rt,) * n, rt, rt
    if rule == "alpha":                       # add/sub with alpha: the dtype of the first two, alpha cast to it
        rt = result_type(args[0], args[1])
        al = args[2]
        if op_.name == "sub_alpha":
            _sub_check(args)
        if rt.category <= 1 and isinstance(al, float):
            raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
        if rt is not D.bool_ and isinstance(al, bool):
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
        if not rt.is_complex and isinstance(al, complex):
            raise RuntimeError("For non-complex input tensors, argument alpha must not be a complex number.")
        return (rt,) * n, rt, rt
    if rule == "lerp":                        # PyTorch's lerp wants one floating dtype for all tensors
        rt = args[0]._dtype
        for a, nm in zip(args[1:], ("end", "weight")):
            if isinstance(a, Tensor) and a._dtype is not rt:
                raise RuntimeError(f"expected dtype {_CNAME[rt.name]} for `{nm}` but got dtype {_CNAME[a._dtype.name]}")
        if rt.category < 2:
            kind = "tensor" if isinstance(args[2], Tensor) else "scalar"
            raise NotImplementedError(f'"lerp_kernel_{kind}" not implemented for \'{rt._alias}\'')
        return (rt,) * n, rt, rt
    rt = result_type(*args)
    if rule == "std" or rule == "same":
        if op_.name == "sub":
            _sub_check(args)
        return (rt,) * n, rt, rt
    if rule == "float":
        if rt.category < 2:
            rt = D.get_default_dtype()
        return (rt,) * n, rt, rt
    if rule == "pow":
        if rt is D.bool_ and isinstance(args[1], Tensor):    # (a bool scalar exponent is fine: x**True is x)
            raise NotImplementedError('"pow" not implemented for \'Bool\'')
        if rt.category < 2:
            return (D.int64,) * n, D.int64, rt
        return (rt,) * n, rt, rt
    if rule == "square":
        if rt is D.bool_:
            rt = D.int64
        return (rt,) * n, rt, rt
    if rule == "cmp" or rule == "pred":
        return (rt,) * n, D.bool_, D.bool_
    if rule == "logical":
        return (D.bool_,) * n, D.bool_, D.bool_
    if rule == "bitwise":
        if rt.category > 1:
            raise NotImplementedError(f'"{_KERNEL_NAME.get(op_.name, op_.name)}_cpu" not implemented for \'{rt._alias}\'')
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
            a = tensor(a, device=dev)
        out.append(a)
    return out


def _check_scalar(a):
    if not isinstance(a, (int, float, complex, bool, Tensor)):
        import numpy as np
        if isinstance(a, np.generic):
            return a.item()
        if hasattr(a, "__array__") and not isinstance(a, (list, tuple)):
            return a              # numpy array (or array-like): becomes a tensor in _fix_operands
        raise TypeError(f"unsupported operand type: {type(a).__name__}")
    return a


_INT_DIV = ("div_floor", "div_trunc", "remainder", "fmod")


def _int_div_check(name, args, cdts):
    """PyTorch (CPU) raises for integer // and % by zero. Scalars are checked here; tensor divisors on host memory
    (the CPU device) are checked after a sync; on other devices the kernels return 0 (as CUDA returns garbage)."""
    b = args[1]
    if not isinstance(b, Tensor):
        if b == 0:
            raise RuntimeError("ZeroDivisionError")
        return
    if b._st.host is not None and b.numel():
        if not b._host_array().all():
            raise RuntimeError("ZeroDivisionError")


def _check_write(out, inputs=()):
    """PyTorch's overlap checks for a tensor about to be written (in-place ops, out=, copy_)."""
    if 0 in out._shape:       # nothing is written: an empty expanded tensor is fine (as in PyTorch)
        return
    if 0 in out._strides:
        for n, st in zip(out._shape, out._strides):
            if st == 0 and n > 1:
                raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to "
                                   "a single memory location. Please clone() the tensor before performing the "
                                   "operation.")
    ost = out._st
    for a in inputs:
        if isinstance(a, Tensor) and a._st is ost and a is not out and \
                (a._offset != out._offset or a._shape != out._shape) and a.is_contiguous() and out.is_contiguous():
            a0, o0 = a._offset, out._offset
            if a0 < o0 + out.numel() and o0 < a0 + a.numel():
                raise RuntimeError("unsupported operation: some elements of the input tensor and the written-to "
                                   "tensor refer to a single memory location. Please clone() the tensor before "
                                   "performing the operation.")


def _int_pow_check(args):
    a, b = args
    if isinstance(a, Tensor) and a._dtype.category <= 1 and isinstance(b, int) and not isinstance(b, bool) and b < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")


_rule_cache = {}   # (op, expr, default dtype, operand dtypes / scalar types) -> (compute dtypes, result dtype, out dtype, C expr)


def apply(name, *args, out=None, expr=None, node=None):
    """Run elementwise op `name` over tensors/scalars, with autograd. Returns the result tensor. `node`
    overrides the row's autograd node name where PyTorch names it by call form (pow)."""
    if _dispatch.mode is not None:          # e.g. cltensor.compile is tracing: record instead of running
        r = _dispatch.mode.ew(name, args, out, expr)
        if r is not None:
            return r
    op_ = OPS[name]
    if op_.special is not None and expr is None:    # e.g. x ** 2 -> x0 * x0 (cheaper than pow())
        expr = op_.special(args)
    # one pass over the operands: the common case is tensors on one device (this path is the per-op overhead
    # of every elementwise call: keep it lean, see docs/performance.md)
    dev = shape = None
    sig = [name, expr, D._default[0]]
    for a in args:
        if not isinstance(a, Tensor):
            ta = type(a)
            if ta is float or ta is int or ta is bool or ta is complex:
                sig.append(ta)
                continue
            dev = None
            break
        ad = a._device
        if dev is None:
            dev = ad
        elif ad is not dev and ad != dev:
            dev = None
            break
        s = a._shape
        sig += (a._dtype, not s)
        if s != shape:
            shape = s if shape is None else _ew.broadcast_shapes(shape, s)
    if dev is not None:
        sig = tuple(sig)
        r = _rule_cache.get(sig)
        if r is None:
            r = _rule_cache[sig] = _rule_row(op_, name, expr, args)
    else:                           # scalars, numpy operands or several devices
        args = [_check_scalar(a) for a in args]
        dev = _device_of(args)
        if dev is None:
            raise TypeError(f"{name}(): expected at least one Tensor argument")
        args = _fix_operands(args, dev)
        sig = [name, expr, D._default[0]]
        for a in args:
            if isinstance(a, Tensor):
                sig += (a._dtype, not a._shape)
            else:
                sig.append(type(a))
        sig = tuple(sig)
        r = _rule_cache.get(sig)
        if r is None:
            r = _rule_cache[sig] = _rule_row(op_, name, expr, args)
        shape = _ew.broadcast_shapes(*[a._shape for a in args if isinstance(a, Tensor)])
    cdts, rdt, odt, ex, check = r
    if check:
        if check == 1:
            _int_div_check(name, args, cdts)
        else:
            _int_pow_check(args)
    if out is None:
        res = empty_tensor(shape, odt, dev)
    else:
        res = _prepare_out(out, shape, odt, dev, name)
        _check_write(res, args)
    _ew.run(ex, res, args, cdts, rdt)
    if out is not None:
        res._st.version += 1
    if op_.backward is not None and AG.needs_grad(*args):
        if out is not None:
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                               "differentiation, but one of the arguments requires grad.")
        # keeps what the rule declares; no cycles; with a split rule, only the gradients that are needed
        fn, saved = AG.bind_rule(op_.backward, op_.saves, args, res, op_.split)
        AG.record(node or op_.node, args, res, fn, saved=saved)
    return res


def _rule_row(op_, name, expr, args):
    """The cached part of a call: (compute dtypes, result dtype, output dtype, C expression, check), check 1 for
    an integer division (divisor checked per call), 2 for pow (negative integer exponent checked per call)."""
    cdts, rdt, odt = _rule(op_, args)
    ex = (expr or op_.expr_for(cdts[0])).replace("$T", cdts[0].ctype_compute)
    check = 1 if name in _INT_DIV and cdts[1].category <= 1 else 2 if name == "pow" else 0
    return cdts, rdt, odt, ex, check


def finish_out(res, out, name):
    """Copy a result into a user `out=` tensor (resizing it like PyTorch)."""
    if out is None:
        return res
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if res.requires_grad and AG.is_grad_enabled():
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    if out._shape != res._shape:
        _resize_(out, res._shape)
    copy_into(out, res.detach())
    return out


def _prepare_out(out, shape, odt, dev, name):
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if out._device is not dev and out._device != dev:
        raise RuntimeError(f"Expected out tensor to have device {dev}, but got {out._device} instead")
    if odt is not out._dtype and not D.can_cast(odt, out._dtype):
        raise RuntimeError(f"result type {odt._alias} can't be cast to the desired output type {out._dtype._alias}")
    if out._shape != shape:
        _resize_(out, shape)
    return out


def _resize_(t, shape):
    n = empty_tensor(shape, t._dtype, t._device)
    t._st, t._shape, t._strides, t._offset = n._st, n._shape, n._strides, n._offset


def apply_(name, self, *others, expr=None):
    """In-place form: self = op(self, *others) written into self's storage."""
    if _dispatch.mode is not None:
        r = _dispatch.mode.inplace(self)
        if r is not None:
            return r
    op_ = OPS[name]
    others = [_check_scalar(a) for a in others]
    args = [self] + others
    if op_.special is not None and expr is None:
        expr = op_.special(args)
    dev = _device_of(args)
    args = _fix_operands(args, dev)
    if dev != self._device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{self._device} and {dev}!")
    cdts, rdt, odt = _rule(op_, args)
    if op_.rule == "real_same" and self._dtype.is_complex:
        raise RuntimeError(f"In-place {name} is not supported for complex tensors.")
    if not D.can_cast(odt, self._dtype):
        raise RuntimeError(f"result type {odt._alias} can't be cast to the desired output type {self._dtype._alias}")
    shape = _ew.broadcast_shapes(*[a._shape for a in args if isinstance(a, Tensor)])
    if shape != self._shape:
        raise RuntimeError(f"output with shape {list(self._shape)} doesn't match the broadcast shape {list(shape)}")
    ex = (expr or op_.expr_for(cdts[0])).replace("$T", cdts[0].ctype_compute)
    if name in _INT_DIV and cdts[1].category <= 1:
        _int_div_check(name, args, cdts)
    elif name == "pow":
        _int_pow_check(args)
    _check_write(self, others)
    grad = op_.backward is not None and AG.needs_grad(*args)
    if grad:   # autograd (cltensor/autograd/_inplace.py): old value if the rule reads it, edge snapshot, views
        prep = AG.inplace_prepare(op_.backward, op_.saves, self, others)
    _ew.run(ex, self, args, cdts, rdt)
    self._st.version += 1
    if grad:
        node = "PowBackward1" if name == "pow" and isinstance(others[0], Tensor) else op_.node   # as PyTorch
        AG.inplace_record(node, op_.backward, op_.saves, prep, self)
    return self


def _snapshot_edge(t):
    """A stand-in tensor carrying t's current autograd edge (so the in-place node links to the old value)."""
    return AG.snapshot_edge(t)


def check_inplace(t):
    AG.check_inplace(t)


# ---------------------------------------------------------------- copies and conversions

def copy_into(dst, src):
    """dst[...] = src (broadcast, cast) without autograd; src may live on another device."""
    if isinstance(src, Tensor) and src._device != dst._device:
        src = to_device_contiguous(src, dst._device)
    sdt = src._dtype if isinstance(src, Tensor) else D.scalar_dtype(src)
    if not isinstance(src, Tensor) and sdt.category <= dst._dtype.category:
        sdt = dst._dtype        # a Python scalar is written at the destination's precision (fill_ on float64)
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
            dv.blocking_copy(r._st.rt.queue, r._st.buf, np.ascontiguousarray(a))
    return r


def to_copy(t, dtype, device):
    if _dispatch.mode is not None and device == t._device:
        r = _dispatch.mode.cast(t, dtype)
        if r is not None:
            return r
    if device != t._device:
        r = to_device_contiguous(t, device)
        if dtype is not t._dtype:
            if r._st.rt is None:    # a host-storage-only "cpu" (no OpenCL CPU device): cast where t lives
                r = to_device_contiguous(to_copy(t.detach(), dtype, t._device), device)
            else:
                r = to_copy(r, dtype, device)
        if AG.needs_grad(t):
            AG.record("ToCopyBackward0", (t,), r, lambda g: (g.to(t._device),))
        return r
    r = empty_like_layout(t, dtype)                 # a dense layout (x.T) keeps its strides, as PyTorch's
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
    if _dispatch.mode is not None:
        r = _dispatch.mode.where(cond, a, b, rt, out)
        if r is not None:
            return r
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
        raise NotImplementedError("clamp is not supported for complex types")
    if rt is D.bool_:
        k = "clamp_cpu" if any(isinstance(v, Tensor) for v in args[1:]) else "clamp_scalar_cpu"
        raise NotImplementedError(f'"{k}" not implemented for \'Bool\'')
    if _inplace and x._dtype is D.bool_:      # (torch's words for this case spell the dtype in lower case)
        raise RuntimeError(f"result type {rt._alias} can't be cast to the desired output type bool")
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
    if len(lo_hi) == 2:   # both bounds (PyTorch's clamp_backward_min_max: if min > max, max wins)
        lo, hi = lo_hi
        grads.append(where(apply("lt", x, lo) & apply("lt", lo, hi), g, 0.0) if isinstance(lo, Tensor) else None)
        grads.append(where(apply("gt", x, hi) | apply("lt", hi, lo), g, 0.0) if isinstance(hi, Tensor) else None)
        return tuple(grads)
    for b in lo_hi:
        grads.append(where(mask, 0.0, g) if isinstance(b, Tensor) else None)
    return tuple(grads)

