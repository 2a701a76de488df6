"""Translations of cltensor operations into ONNX nodes (opset 17+), one function per operation family.

Each converter gets the GraphBuilder, the call's arguments and its (already computed) result, emits nodes and binds
the result tensor(s) to the names of their outputs. Shapes are static: view and reshape ops become a Reshape to
the result's shape. Elementwise operands are cast to the result's dtype (ONNX has no type promotion).
"""
import math

import numpy as np

from .. import _dtypes as D
from .._tensor import Tensor
from ._export import UnsupportedOperatorError, onnx_type

CONVERTERS = {}        # torch function / Tensor method or operator name -> converter
F_CONVERTERS = {}      # nn.functional name -> converter
PROPERTIES = {}        # Tensor property name -> converter


def _reg(table, *names):
    def deco(fn):
        for n in names:
            table[n] = fn
        return fn
    return deco


def _arg(args, kwargs, i, name, default=None):
    if len(args) > i:
        return args[i]
    return kwargs.get(name, default)


def _dim(d, nd):
    return d + nd if d < 0 else d


def _dims(dim, nd):
    if dim is None:
        return list(range(nd))
    if isinstance(dim, int):
        return [_dim(dim, nd)]
    return [_dim(d, nd) for d in dim]


def _in(g, x, dtype):
    """Name of operand x cast to `dtype` (tensors of another dtype get a Cast; scalars become constants)."""
    if isinstance(x, Tensor):
        return g.cast(g.name(x), x.dtype, dtype)
    if isinstance(x, bool) and dtype is not D.bool_:
        x = int(x)
    return g.const(np.asarray(x, dtype=dtype.np))


def const_result(g, args, kwargs, out):
    """Factories (zeros, arange, randn ...): the result is a constant of the graph."""
    for t in _flat(out):
        g.name(t)


def _flat(o):
    if isinstance(o, Tensor):
        return [o]
    if isinstance(o, (list, tuple)):
        return [t for x in o for t in _flat(x)]
    return []


# ---------------------------------------------------------------- elementwise

_BIN = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "true_divide": "Div", "pow": "Pow",
        "maximum": "Max", "minimum": "Min", "fmax": "Max", "fmin": "Min", "bitwise_and": "And",
        "logical_and": "And", "logical_or": "Or", "logical_xor": "Xor", "bitwise_or": "Or", "remainder": "Mod",
        "atan2": None}
_DUNDER = {"__add__": "add", "__radd__": "add", "__iadd__": "add", "__sub__": "sub", "__rsub__": "rsub",
           "__isub__": "sub", "__mul__": "mul", "__rmul__": "mul", "__imul__": "mul", "__truediv__": "div",
           "__rtruediv__": "rdiv", "__itruediv__": "div", "__pow__": "pow", "__rpow__": "rpow", "__and__": "logical_and",
           "__or__": "logical_or", "__xor__": "logical_xor", "__mod__": "remainder"}
_CMP = {"eq": "Equal", "gt": "Greater", "lt": "Less", "ge": "GreaterOrEqual", "le": "LessOrEqual",
        "__eq__": "Equal", "__gt__": "Greater", "__lt__": "Less", "__ge__": "GreaterOrEqual",
        "__le__": "LessOrEqual", "greater": "Greater", "less": "Less", "ne": "NotEqual", "__ne__": "NotEqual"}


def _binary(kind):
    def conv(g, args, kwargs, out):
        a, b = args[0], _arg(args, kwargs, 1, "other")
        if kind in ("rsub", "rdiv", "rpow"):
            a, b = b, a
        op = {"rsub": "Sub", "rdiv": "Div", "rpow": "Pow"}.get(kind) or _BIN[kind]
        dt = out.dtype
        if kind in ("div", "true_divide", "rdiv") and _arg(args, kwargs, 2, "rounding_mode") is not None:
            raise UnsupportedOperatorError("ONNX export: div with rounding_mode is not supported")
        if op == "Mod" and dt.is_floating_point:
            raise UnsupportedOperatorError("ONNX export: floating-point remainder is not supported")
        alpha = kwargs.get("alpha", 1)
        nb = _in(g, b, dt)
        if alpha != 1:
            nb = g.node("Mul", [nb, g.const(np.asarray(alpha, dt.np))])
        if op == "Pow":
            r = g.node("Pow", [_in(g, a, dt), _in(g, b, dt)])
        elif op == "Mod":
            r = g.node("Mod", [_in(g, a, dt), nb], fmod=0)
        else:
            r = g.node(op, [_in(g, a, dt), nb])
        g.bind(out, r)
    return conv


for _k in ("add", "sub", "mul", "div", "true_divide", "pow", "maximum", "minimum", "fmax", "fmin", "logical_and",
           "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "remainder"):
    CONVERTERS[_k] = _binary(_k)
for _d, _k in _DUNDER.items():
    CONVERTERS[_d] = _binary(_k)
CONVERTERS["rsub"] = _binary("rsub")


def _compare(op):
    def conv(g, args, kwargs, out):
        a, b = args[0], _arg(args, kwargs, 1, "other")
        if isinstance(b, Tensor):
            dt = D.promote_types(a.dtype, b.dtype)
        elif isinstance(b, float) and not a.dtype.is_floating_point:
            dt = D.get_default_dtype()
        else:
            dt = a.dtype
        g.bind(out, g.node(op, [_in(g, a, dt), _in(g, b, dt)]))
    return conv


for _n, _op in _CMP.items():
    CONVERTERS[_n] = _compare(_op)

_UNARY = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
          "abs": "Abs", "neg": "Neg", "negative": "Neg", "__neg__": "Neg", "sin": "Sin", "cos": "Cos", "tan": "Tan",
          "asin": "Asin", "acos": "Acos", "atan": "Atan", "sinh": "Sinh", "cosh": "Cosh", "erf": "Erf",
          "reciprocal": "Reciprocal", "floor": "Floor", "ceil": "Ceil", "sign": "Sign", "round": "Round",
          "logical_not": "Not", "bitwise_not": "Not", "__invert__": "Not", "isnan": "IsNaN"}


def _unary(op):
    def conv(g, args, kwargs, out):
        x = args[0]
        src = g.name(x) if op in ("Not", "IsNaN") else _in(g, x, out.dtype)
        g.bind(out, g.node(op, [src]))
    return conv


for _n, _op in _UNARY.items():
    CONVERTERS[_n] = _unary(_op)
    CONVERTERS[_n + "_"] = _unary(_op)
for _n in ("relu", "sigmoid", "tanh"):
    F_CONVERTERS[_n] = _unary(_UNARY[_n])
F_CONVERTERS["relu_"] = _unary("Relu")


@_reg(CONVERTERS, "rsqrt")
def _rsqrt(g, args, kwargs, out):
    g.bind(out, g.node("Reciprocal", [g.node("Sqrt", [_in(g, args[0], out.dtype)])]))


@_reg(CONVERTERS, "square")
def _square(g, args, kwargs, out):
    x = _in(g, args[0], out.dtype)
    g.bind(out, g.node("Mul", [x, x]))


@_reg(CONVERTERS, "clamp", "clip", "clamp_")
def _clamp(g, args, kwargs, out):
    lo, hi = _arg(args, kwargs, 1, "min"), _arg(args, kwargs, 2, "max")
    x = _in(g, args[0], out.dtype)
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        if lo is not None:
            x = g.node("Max", [x, _in(g, lo, out.dtype)])
        if hi is not None:
            x = g.node("Min", [x, _in(g, hi, out.dtype)])
        g.bind(out, x)
        return
    ins = [x, _in(g, lo, out.dtype) if lo is not None else "", _in(g, hi, out.dtype) if hi is not None else ""]
    while ins[-1] == "":
        ins.pop()
    g.bind(out, g.node("Clip", ins))


@_reg(CONVERTERS, "where")
def _where(g, args, kwargs, out):
    c, a, b = args[0], _arg(args, kwargs, 1, "input"), _arg(args, kwargs, 2, "other")
    g.bind(out, g.node("Where", [g.cast(g.name(c), c.dtype, D.bool_), _in(g, a, out.dtype), _in(g, b, out.dtype)]))


@_reg(CONVERTERS, "masked_fill", "masked_fill_")
def _masked_fill(g, args, kwargs, out):
    x, mask, value = args[0], _arg(args, kwargs, 1, "mask"), _arg(args, kwargs, 2, "value")
    g.bind(out, g.node("Where", [g.cast(g.name(mask), mask.dtype, D.bool_), _in(g, value, out.dtype),
                                 _in(g, x, out.dtype)]))


def _cast_to_out(g, args, kwargs, out):
    x = args[0]
    g.bind(out, g.cast(g.name(x), x.dtype, out.dtype) if x.dtype is not out.dtype else
           g.node("Identity", [g.name(x)]))


for _n in ("to", "float", "double", "half", "int", "long", "short", "bool", "byte", "char", "type_as",
           "contiguous", "clone", "detach", "cpu", "cuda", "requires_grad_", "detach_"):
    CONVERTERS[_n] = _cast_to_out


# ---------------------------------------------------------------- activations (nn.functional)

def _act(fn):
    def conv(g, args, kwargs, out):
        g.bind(out, fn(g, _in(g, args[0], out.dtype), out.dtype, args, kwargs))
    return conv


def _gelu(g, x, dt, args, kwargs):
    if _arg(args, kwargs, 1, "approximate", "none") == "tanh":
        c = lambda v: g.const(np.asarray(v, dt.np))      # noqa: E731
        inner = g.node("Mul", [c(math.sqrt(2 / math.pi)),
                               g.node("Add", [x, g.node("Mul", [c(0.044715), g.node("Pow", [x, c(3.0)])])])])
        return g.node("Mul", [g.node("Mul", [c(0.5), x]), g.node("Add", [c(1.0), g.node("Tanh", [inner])])])
    c = lambda v: g.const(np.asarray(v, dt.np))          # noqa: E731
    e = g.node("Erf", [g.node("Div", [x, c(math.sqrt(2.0))])])
    return g.node("Mul", [g.node("Mul", [x, c(0.5)]), g.node("Add", [e, c(1.0)])])


F_CONVERTERS["gelu"] = _act(_gelu)
F_CONVERTERS["silu"] = _act(lambda g, x, dt, a, k: g.node("Mul", [x, g.node("Sigmoid", [x])]))
F_CONVERTERS["mish"] = _act(lambda g, x, dt, a, k: g.node("Mul", [x, g.node("Tanh", [g.node("Softplus", [x])])]))
F_CONVERTERS["softsign"] = _act(lambda g, x, dt, a, k: g.node("Softsign", [x]))
F_CONVERTERS["logsigmoid"] = _act(lambda g, x, dt, a, k: g.node("Neg", [g.node("Softplus", [g.node("Neg", [x])])]))
F_CONVERTERS["leaky_relu"] = _act(lambda g, x, dt, a, k: g.node("LeakyRelu", [x],
                                                                 alpha=float(_arg(a, k, 1, "negative_slope", 0.01))))
F_CONVERTERS["elu"] = _act(lambda g, x, dt, a, k: g.node("Elu", [x], alpha=float(_arg(a, k, 1, "alpha", 1.0))))
F_CONVERTERS["selu"] = _act(lambda g, x, dt, a, k: g.node("Selu", [x]))
F_CONVERTERS["celu"] = _act(lambda g, x, dt, a, k: g.node("Celu", [x], alpha=float(_arg(a, k, 1, "alpha", 1.0))))
F_CONVERTERS["hardsigmoid"] = _act(lambda g, x, dt, a, k: g.node("HardSigmoid", [x], alpha=1 / 6, beta=0.5))
F_CONVERTERS["hardswish"] = _act(lambda g, x, dt, a, k: g.node("HardSwish", [x]))
F_CONVERTERS["relu6"] = _act(lambda g, x, dt, a, k: g.node("Clip", [x, g.const(np.asarray(0, dt.np)),
                                                                    g.const(np.asarray(6, dt.np))]))
F_CONVERTERS["hardtanh"] = _act(lambda g, x, dt, a, k: g.node(
    "Clip", [x, g.const(np.asarray(_arg(a, k, 1, "min_val", -1.0), dt.np)),
             g.const(np.asarray(_arg(a, k, 2, "max_val", 1.0), dt.np))]))


def _softplus(g, x, dt, a, k):
    beta, th = _arg(a, k, 1, "beta", 1.0), _arg(a, k, 2, "threshold", 20.0)
    c = lambda v: g.const(np.asarray(v, dt.np))          # noqa: E731
    bx = g.node("Mul", [x, c(beta)])
    soft = g.node("Div", [g.node("Softplus", [bx]), c(beta)])
    return g.node("Where", [g.node("Greater", [bx, c(th)]), x, soft])


F_CONVERTERS["softplus"] = _act(_softplus)


def _softmax_like(op):
    def conv(g, args, kwargs, out):
        x = args[0]
        dim = _arg(args, kwargs, 1, "dim")
        if dim is None:
            raise UnsupportedOperatorError(f"ONNX export: {op} needs an explicit dim")
        g.bind(out, g.node(op, [_in(g, x, out.dtype)], axis=_dim(dim, x.ndim)))
    return conv


for _t in (CONVERTERS, F_CONVERTERS):
    _t["softmax"] = _softmax_like("Softmax")
    _t["log_softmax"] = _softmax_like("LogSoftmax")


@_reg(F_CONVERTERS, "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout")
def _dropout(g, args, kwargs, out):
    training = _arg(args, kwargs, 2, "training", True)
    if training and _arg(args, kwargs, 1, "p", 0.5) > 0:
        raise UnsupportedOperatorError("ONNX export: dropout in training mode is not supported (export with "
                                       "model.eval())")
    g.bind(out, g.node("Identity", [g.name(args[0])]))


# ---------------------------------------------------------------- matrix products

@_reg(CONVERTERS, "matmul", "mm", "bmm", "__matmul__")
def _matmul(g, args, kwargs, out):
    a, b = args[0], _arg(args, kwargs, 1, "other", kwargs.get("mat2"))
    g.bind(out, g.node("MatMul", [_in(g, a, out.dtype), _in(g, b, out.dtype)]))


@_reg(CONVERTERS, "__rmatmul__")
def _rmatmul(g, args, kwargs, out):
    g.bind(out, g.node("MatMul", [_in(g, args[1], out.dtype), _in(g, args[0], out.dtype)]))


@_reg(F_CONVERTERS, "linear")
def _linear(g, args, kwargs, out):
    x, w, b = args[0], _arg(args, kwargs, 1, "weight"), _arg(args, kwargs, 2, "bias")
    dt = out.dtype
    if x.ndim == 2:
        ins = [_in(g, x, dt), _in(g, w, dt)] + ([_in(g, b, dt)] if b is not None else [])
        g.bind(out, g.node("Gemm", ins, transB=1))
        return
    y = g.node("MatMul", [_in(g, x, dt), g.node("Transpose", [_in(g, w, dt)], perm=[1, 0])])
    g.bind(out, g.node("Add", [y, _in(g, b, dt)]) if b is not None else y)


@_reg(CONVERTERS, "addmm")
def _addmm(g, args, kwargs, out):
    inp, a, b = args[0], args[1], args[2]
    beta, alpha = kwargs.get("beta", 1), kwargs.get("alpha", 1)
    dt = out.dtype
    g.bind(out, g.node("Gemm", [_in(g, a, dt), _in(g, b, dt), _in(g, inp, dt)], alpha=float(alpha),
                       beta=float(beta)))


# ---------------------------------------------------------------- shapes and views

def _reshape_to_out(g, args, kwargs, out):
    g.bind(out, g.node("Reshape", [g.name(args[0]), g.ints(out.shape)]))


for _n in ("view", "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "view_as", "reshape_as", "ravel",
           "squeeze_", "unsqueeze_", "atleast_1d", "atleast_2d", "atleast_3d"):
    CONVERTERS[_n] = _reshape_to_out
F_CONVERTERS["flatten"] = _reshape_to_out


@_reg(CONVERTERS, "permute")
def _permute(g, args, kwargs, out):
    x = args[0]
    dims = args[1:] if len(args) > 1 else kwargs["dims"]
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = dims[0]
    g.bind(out, g.node("Transpose", [g.name(x)], perm=[_dim(d, x.ndim) for d in dims]))


@_reg(CONVERTERS, "transpose", "swapaxes", "swapdims", "transpose_")
def _transpose(g, args, kwargs, out):
    x = args[0]
    d0, d1 = _dim(_arg(args, kwargs, 1, "dim0"), x.ndim), _dim(_arg(args, kwargs, 2, "dim1"), x.ndim)
    perm = list(range(x.ndim))
    perm[d0], perm[d1] = perm[d1], perm[d0]
    g.bind(out, g.node("Transpose", [g.name(x)], perm=perm))


@_reg(CONVERTERS, "t")
def _t(g, args, kwargs, out):
    x = args[0]
    if x.ndim < 2:
        g.bind(out, g.node("Identity", [g.name(x)]))
    else:
        g.bind(out, g.node("Transpose", [g.name(x)], perm=[1, 0]))


@_reg(PROPERTIES, "T")
def _T(g, args, kwargs, out):
    x = args[0]
    g.bind(out, g.node("Transpose", [g.name(x)], perm=list(range(x.ndim))[::-1]))


@_reg(PROPERTIES, "mT")
def _mT(g, args, kwargs, out):
    x = args[0]
    perm = list(range(x.ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    g.bind(out, g.node("Transpose", [g.name(x)], perm=perm))


@_reg(CONVERTERS, "expand", "expand_as", "broadcast_to")
def _expand(g, args, kwargs, out):
    g.bind(out, g.node("Expand", [g.name(args[0]), g.ints(out.shape)]))


@_reg(CONVERTERS, "cat", "concat", "concatenate")
def _cat(g, args, kwargs, out):
    ts = [t for t in _arg(args, kwargs, 0, "tensors") if not (t.ndim == 1 and t.shape[0] == 0)]
    dim = _dim(_arg(args, kwargs, 1, "dim", 0), out.ndim)
    g.bind(out, g.node("Concat", [_in(g, t, out.dtype) for t in ts], axis=dim))


@_reg(CONVERTERS, "stack")
def _stack(g, args, kwargs, out):
    ts = _arg(args, kwargs, 0, "tensors")
    dim = _dim(_arg(args, kwargs, 1, "dim", 0), out.ndim)
    parts = [g.node("Unsqueeze", [_in(g, t, out.dtype), g.ints([dim])]) for t in ts]
    g.bind(out, g.node("Concat", parts, axis=dim))


def _split_out(g, x, outs, dim):
    sizes = [t.shape[dim] for t in outs]
    names = g.node("Split", [g.name(x), g.ints(sizes)], n_out=len(outs), axis=dim)
    for t, n in zip(outs, [names] if len(outs) == 1 else names):
        g.bind(t, n)


@_reg(CONVERTERS, "split", "chunk", "tensor_split", "unbind")
def _split(g, args, kwargs, out):
    x = args[0]
    outs = list(out)
    if not outs:
        return
    dim = kwargs.get("dim", args[2] if len(args) > 2 else 0)
    dim = _dim(dim, x.ndim)
    if outs[0].ndim < x.ndim:                                   # unbind: split then drop the dimension
        parts = g.node("Split", [g.name(x), g.ints([1] * len(outs))], n_out=len(outs), axis=dim)
        for t, n in zip(outs, [parts] if len(outs) == 1 else parts):
            g.bind(t, g.node("Squeeze", [n, g.ints([dim])]))
        return
    _split_out(g, x, outs, dim)


@_reg(CONVERTERS, "__getitem__")
def _getitem(g, args, kwargs, out):
    x, idx = args[0], args[1]
    if not isinstance(idx, tuple):
        idx = (idx,)
    if any(isinstance(i, Tensor) for i in idx):
        tens = [(k, i) for k, i in enumerate(idx) if isinstance(i, Tensor)]
        if len(tens) == 1 and tens[0][1].dtype in (D.int64, D.int32) and \
                all(isinstance(i, slice) and i == slice(None) for k, i in enumerate(idx) if k != tens[0][0]) and \
                Ellipsis not in idx:
            k, i = tens[0]
            g.bind(out, g.node("Gather", [g.name(x), g.name(i)], axis=k))
            return
        raise UnsupportedOperatorError("ONNX export: indexing with tensors is supported only as x[..., idx] "
                                       "with one integer index tensor and full slices elsewhere")
    # basic indexing: expand the Ellipsis, then Slice the sliced dims and Reshape away the integer ones
    n_real = sum(1 for i in idx if i is not None and i is not Ellipsis)
    full = []
    for i in idx:
        if i is Ellipsis:
            full += [slice(None)] * (x.ndim - n_real)
        else:
            full.append(i)
    full += [slice(None)] * (x.ndim - sum(1 for i in full if i is not None))
    starts, ends, axes, steps = [], [], [], []
    d = 0
    for i in full:
        if i is None:
            continue
        n = x.shape[d]
        if isinstance(i, int):
            s = i + n if i < 0 else i
            starts.append(s), ends.append(s + 1), axes.append(d), steps.append(1)
        elif isinstance(i, slice):
            s, e, st = i.indices(n)
            if (s, e, st) != (0, n, 1):
                if st < 0:
                    raise UnsupportedOperatorError("ONNX export: negative slice steps are not supported")
                starts.append(s), ends.append(max(e, s)), axes.append(d), steps.append(st)
        else:
            raise UnsupportedOperatorError(f"ONNX export: index {i!r} is not supported")
        d += 1
    r = g.name(x)
    if axes:
        r = g.node("Slice", [r, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    g.bind(out, g.node("Reshape", [r, g.ints(out.shape)]))


@_reg(CONVERTERS, "narrow")
def _narrow(g, args, kwargs, out):
    x = args[0]
    dim, start, length = _dim(args[1], x.ndim), int(args[2]), int(args[3])
    g.bind(out, g.node("Slice", [g.name(x), g.ints([start]), g.ints([start + length]), g.ints([dim])]))


@_reg(CONVERTERS, "select")
def _select(g, args, kwargs, out):
    x = args[0]
    dim, i = _dim(args[1], x.ndim), int(args[2])
    i = i + x.shape[dim] if i < 0 else i
    s = g.node("Slice", [g.name(x), g.ints([i]), g.ints([i + 1]), g.ints([dim])])
    g.bind(out, g.node("Reshape", [s, g.ints(out.shape)]))


@_reg(CONVERTERS, "repeat")
def _repeat(g, args, kwargs, out):
    x = args[0]
    reps = args[1:] if len(args) > 1 else kwargs["repeats"]
    if len(reps) == 1 and isinstance(reps[0], (list, tuple)):
        reps = reps[0]
    src = g.name(x)
    if len(reps) > x.ndim:
        src = g.node("Reshape", [src, g.ints([1] * (len(reps) - x.ndim) + list(x.shape))])
    g.bind(out, g.node("Tile", [src, g.ints(reps)]))


# ---------------------------------------------------------------- reductions

def _reduction(op, mean=False):
    def conv(g, args, kwargs, out):
        x = args[0]
        dim = _arg(args, kwargs, 1, "dim")
        keep = bool(_arg(args, kwargs, 2, "keepdim", False))
        axes = _dims(dim, x.ndim)
        src = _in(g, x, out.dtype)
        if op == "ReduceSum":
            r = g.node(op, [src, g.ints(axes)], keepdims=int(keep))
        elif g.opset >= 18:
            r = g.node(op, [src, g.ints(axes)], keepdims=int(keep))
        else:
            r = g.node(op, [src], axes=axes, keepdims=int(keep))
        g.bind(out, r)
    return conv


CONVERTERS["sum"] = _reduction("ReduceSum")
CONVERTERS["mean"] = _reduction("ReduceMean")
CONVERTERS["amax"] = _reduction("ReduceMax")
CONVERTERS["amin"] = _reduction("ReduceMin")
CONVERTERS["prod"] = _reduction("ReduceProd")


def _arg_reduce(op):
    def conv(g, args, kwargs, out):
        x = args[0]
        dim = _arg(args, kwargs, 1, "dim")
        keep = bool(_arg(args, kwargs, 2, "keepdim", False))
        src = g.name(x)
        if dim is None:
            src, dim, keep = g.node("Reshape", [src, g.ints([-1])]), 0, False
        g.bind(out, g.node(op, [src], axis=_dim(dim, max(x.ndim, 1)), keepdims=int(keep)))
    return conv


CONVERTERS["argmax"] = _arg_reduce("ArgMax")
CONVERTERS["argmin"] = _arg_reduce("ArgMin")


# ---------------------------------------------------------------- convolution, pooling, normalisation

def _tuple(v, n):
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


def _conv(nd):
    def conv(g, args, kwargs, out):
        x, w = args[0], _arg(args, kwargs, 1, "weight")
        b = _arg(args, kwargs, 2, "bias")
        stride = _tuple(_arg(args, kwargs, 3, "stride", 1), nd)
        padding = _arg(args, kwargs, 4, "padding", 0)
        dil = _tuple(_arg(args, kwargs, 5, "dilation", 1), nd)
        groups = int(_arg(args, kwargs, 6, "groups", 1))
        attrs = dict(strides=stride, dilations=dil, group=groups, kernel_shape=list(w.shape[2:]))
        if padding == "same":
            lo = []
            hi = []
            for k, d in zip(w.shape[2:], dil):
                tot = d * (k - 1)
                lo.append(tot // 2)
                hi.append(tot - tot // 2)
            attrs["pads"] = lo + hi
        elif padding == "valid":
            attrs["pads"] = [0] * (2 * nd)
        else:
            p = _tuple(padding, nd)
            attrs["pads"] = p + p
        dt = out.dtype
        ins = [_in(g, x, dt), _in(g, w, dt)] + ([_in(g, b, dt)] if b is not None else [])
        g.bind(out, g.node("Conv", ins, **attrs))
    return conv


F_CONVERTERS["conv1d"] = _conv(1)
F_CONVERTERS["conv2d"] = _conv(2)
F_CONVERTERS["conv3d"] = _conv(3)


def _pool(nd, op):
    def conv(g, args, kwargs, out):
        x = args[0]
        k = _tuple(_arg(args, kwargs, 1, "kernel_size"), nd)
        stride = _arg(args, kwargs, 2, "stride")
        stride = k if stride is None or stride == [] or stride == () else _tuple(stride, nd)
        p = _tuple(_arg(args, kwargs, 3, "padding", 0), nd)
        attrs = dict(kernel_shape=k, strides=stride, pads=p + p)
        if op == "MaxPool":
            dil = _tuple(_arg(args, kwargs, 4, "dilation", 1), nd)
            ceil = bool(_arg(args, kwargs, 5, "ceil_mode", False))
            if _arg(args, kwargs, 6, "return_indices", False):
                raise UnsupportedOperatorError("ONNX export: max pooling with return_indices is not supported")
            attrs.update(dilations=dil, ceil_mode=int(ceil))
        else:
            attrs.update(ceil_mode=int(bool(_arg(args, kwargs, 4, "ceil_mode", False))),
                         count_include_pad=int(bool(_arg(args, kwargs, 5, "count_include_pad", True))))
            if _arg(args, kwargs, 6, "divisor_override") is not None:
                raise UnsupportedOperatorError("ONNX export: avg pooling with divisor_override is not supported")
        g.bind(out, g.node(op, [g.name(x)], **attrs))
    return conv


for _nd in (1, 2, 3):
    F_CONVERTERS[f"max_pool{_nd}d"] = _pool(_nd, "MaxPool")
    F_CONVERTERS[f"avg_pool{_nd}d"] = _pool(_nd, "AveragePool")


def _adaptive(nd, op):
    def conv(g, args, kwargs, out):
        x = args[0]
        size = _tuple(_arg(args, kwargs, 1, "output_size"), nd)
        ins = list(x.shape[-nd:])
        size = [i if s is None else s for s, i in zip(size, ins)]
        if all(s == 1 for s in size):
            g.bind(out, g.node("Global" + op, [g.name(x)]))
            return
        if any(i % s for i, s in zip(ins, size)):
            raise UnsupportedOperatorError(f"ONNX export: adaptive pooling from {ins} to {size} (not a whole "
                                           "division) is not supported")
        k = [i // s for i, s in zip(ins, size)]
        g.bind(out, g.node(op, [g.name(x)], kernel_shape=k, strides=k))
    return conv


for _nd in (1, 2, 3):
    F_CONVERTERS[f"adaptive_avg_pool{_nd}d"] = _adaptive(_nd, "AveragePool")
    F_CONVERTERS[f"adaptive_max_pool{_nd}d"] = _adaptive(_nd, "MaxPool")


@_reg(F_CONVERTERS, "batch_norm")
def _batch_norm(g, args, kwargs, out):
    x, rm, rv = args[0], _arg(args, kwargs, 1, "running_mean"), _arg(args, kwargs, 2, "running_var")
    w, b = _arg(args, kwargs, 3, "weight"), _arg(args, kwargs, 4, "bias")
    training = _arg(args, kwargs, 5, "training", False)
    eps = float(_arg(args, kwargs, 7, "eps", 1e-5))
    if training or rm is None:
        raise UnsupportedOperatorError("ONNX export: batch_norm is exported in eval mode with running statistics")
    c = x.shape[1]
    dt = out.dtype
    w = _in(g, w, dt) if w is not None else g.const(np.ones(c, dt.np))
    b = _in(g, b, dt) if b is not None else g.const(np.zeros(c, dt.np))
    g.bind(out, g.node("BatchNormalization", [_in(g, x, dt), w, b, _in(g, rm, dt), _in(g, rv, dt)], epsilon=eps))


@_reg(F_CONVERTERS, "layer_norm")
def _layer_norm(g, args, kwargs, out):
    x, shape = args[0], _arg(args, kwargs, 1, "normalized_shape")
    w, b = _arg(args, kwargs, 2, "weight"), _arg(args, kwargs, 3, "bias")
    eps = float(_arg(args, kwargs, 4, "eps", 1e-5))
    n = len(shape) if isinstance(shape, (list, tuple)) else 1
    dt = out.dtype
    w = _in(g, w, dt) if w is not None else g.const(np.ones(x.shape[-n:], dt.np))
    ins = [_in(g, x, dt), w] + ([_in(g, b, dt)] if b is not None else [])
    g.bind(out, g.node("LayerNormalization", ins, axis=-n, epsilon=eps))


@_reg(F_CONVERTERS, "group_norm")
def _group_norm(g, args, kwargs, out):
    x, groups = args[0], int(_arg(args, kwargs, 1, "num_groups"))
    w, b = _arg(args, kwargs, 2, "weight"), _arg(args, kwargs, 3, "bias")
    eps = float(_arg(args, kwargs, 4, "eps", 1e-5))
    dt = out.dtype
    nb, c = x.shape[0], x.shape[1]
    r = g.node("Reshape", [_in(g, x, dt), g.ints([nb, groups, -1])])
    mean = g.node("ReduceMean", [r], axes=[2], keepdims=1) if g.opset < 18 else \
        g.node("ReduceMean", [r, g.ints([2])], keepdims=1)
    d = g.node("Sub", [r, mean])
    var = g.node("ReduceMean", [g.node("Mul", [d, d])], axes=[2], keepdims=1) if g.opset < 18 else \
        g.node("ReduceMean", [g.node("Mul", [d, d]), g.ints([2])], keepdims=1)
    y = g.node("Div", [d, g.node("Sqrt", [g.node("Add", [var, g.const(np.asarray(eps, dt.np))])])])
    y = g.node("Reshape", [y, g.ints(x.shape)])
    bshape = [c] + [1] * (x.ndim - 2)
    if w is not None:
        y = g.node("Mul", [y, g.node("Reshape", [_in(g, w, dt), g.ints(bshape)])])
    if b is not None:
        y = g.node("Add", [y, g.node("Reshape", [_in(g, b, dt), g.ints(bshape)])])
    g.bind(out, y)


@_reg(F_CONVERTERS, "embedding")
def _embedding(g, args, kwargs, out):
    idx, w = args[0], _arg(args, kwargs, 1, "weight")
    if _arg(args, kwargs, 3, "max_norm") is not None:
        raise UnsupportedOperatorError("ONNX export: embedding with max_norm is not supported")
    g.bind(out, g.node("Gather", [_in(g, w, out.dtype), g.name(idx)], axis=0))


@_reg(F_CONVERTERS, "pad")
def _pad(g, args, kwargs, out):
    x, pad = args[0], list(_arg(args, kwargs, 1, "pad"))
    mode = _arg(args, kwargs, 2, "mode", "constant")
    value = _arg(args, kwargs, 3, "value", None) or 0
    nd = x.ndim
    begins, ends = [0] * nd, [0] * nd
    for k in range(len(pad) // 2):
        d = nd - 1 - k
        begins[d], ends[d] = pad[2 * k], pad[2 * k + 1]
    onnx_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}.get(mode)
    if onnx_mode is None:
        raise UnsupportedOperatorError(f"ONNX export: pad mode {mode!r} is not supported")
    ins = [g.name(x), g.ints(begins + ends)]
    if onnx_mode == "constant":
        ins.append(g.const(np.asarray(value, out.dtype.np)))
    g.bind(out, g.node("Pad", ins, mode=onnx_mode))


@_reg(F_CONVERTERS, "scaled_dot_product_attention")
def _sdpa(g, args, kwargs, out):
    q, k, v = args[0], args[1], args[2]
    mask = _arg(args, kwargs, 3, "attn_mask")
    if _arg(args, kwargs, 4, "dropout_p", 0.0):
        raise UnsupportedOperatorError("ONNX export: scaled_dot_product_attention with dropout_p > 0 is not "
                                       "supported")
    causal = _arg(args, kwargs, 5, "is_causal", False)
    scale = _arg(args, kwargs, 6, "scale")
    if q.shape[-3:-2] != k.shape[-3:-2] and q.ndim >= 3 and kwargs.get("enable_gqa"):
        raise UnsupportedOperatorError("ONNX export: scaled_dot_product_attention with enable_gqa is not supported")
    dt = out.dtype
    L, S, E = q.shape[-2], k.shape[-2], q.shape[-1]
    scale = 1.0 / math.sqrt(E) if scale is None else scale
    perm = list(range(k.ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    s = g.node("MatMul", [_in(g, q, dt), g.node("Transpose", [_in(g, k, dt)], perm=perm)])
    s = g.node("Mul", [s, g.const(np.asarray(scale, dt.np))])
    if causal:
        bias = np.where(np.tril(np.ones((L, S), bool)), 0, -np.inf).astype(dt.np)
        s = g.node("Add", [s, g.const(bias)])
    if mask is not None:
        if mask.dtype is D.bool_:
            mname = g.node("Where", [g.name(mask), g.const(np.asarray(0, dt.np)), g.const(np.asarray(-np.inf, dt.np))])
        else:
            mname = _in(g, mask, dt)
        s = g.node("Add", [s, mname])
    p = g.node("Softmax", [s], axis=-1)
    g.bind(out, g.node("MatMul", [p, _in(g, v, dt)]))


@_reg(CONVERTERS, "cumsum")
def _cumsum(g, args, kwargs, out):
    x, dim = args[0], _arg(args, kwargs, 1, "dim")
    g.bind(out, g.node("CumSum", [_in(g, x, out.dtype), g.ints([_dim(dim, x.ndim)])]))


def _trilu(upper):
    def conv(g, args, kwargs, out):
        x = args[0]
        diag = int(_arg(args, kwargs, 1, "diagonal", 0))
        g.bind(out, g.node("Trilu", [g.name(x), g.const(np.asarray(diag, np.int64))], upper=int(upper)))
    return conv


CONVERTERS["tril"] = _trilu(False)
CONVERTERS["triu"] = _trilu(True)


# ---------------------------------------------------------------- modules that run private kernels

MODULE_CONVERTERS = {}     # module class name -> converter(g, module, args, kwargs, out)


def _np_of(t):
    return t.detach().numpy()


@_reg(MODULE_CONVERTERS, "MultiheadAttention")
def _mha(g, m, args, kwargs, out):
    q, k, v = args[0], _arg(args, kwargs, 1, "key"), _arg(args, kwargs, 2, "value")
    kpm = _arg(args, kwargs, 3, "key_padding_mask")
    need_weights = _arg(args, kwargs, 4, "need_weights", True)
    mask = _arg(args, kwargs, 5, "attn_mask")
    average = _arg(args, kwargs, 6, "average_attn_weights", True)
    if q.ndim != 3:
        raise UnsupportedOperatorError("ONNX export: MultiheadAttention on unbatched input is not supported")
    if m.bias_k is not None or m.add_zero_attn:
        raise UnsupportedOperatorError("ONNX export: MultiheadAttention with add_bias_kv or add_zero_attn is not "
                                       "supported")
    dt = q.dtype
    E, H = m.embed_dim, m.num_heads
    hd = E // H
    if m._qkv_same_embed_dim:
        w = _np_of(m.in_proj_weight)
        ws = [w[:E], w[E:2 * E], w[2 * E:]]
    else:
        ws = [_np_of(m.q_proj_weight), _np_of(m.k_proj_weight), _np_of(m.v_proj_weight)]
    bs = [None] * 3 if m.in_proj_bias is None else list(np.split(_np_of(m.in_proj_bias), 3))

    def proj(x, w, b):
        name = _in(g, x, dt)
        if not m.batch_first:                                  # (T, N, E) -> (N, T, E)
            name = g.node("Transpose", [name], perm=[1, 0, 2])
        y = g.node("MatMul", [name, g.const(np.ascontiguousarray(w.T))])
        if b is not None:
            y = g.node("Add", [y, g.const(b)])
        n_, t_ = (x.shape[0], x.shape[1]) if m.batch_first else (x.shape[1], x.shape[0])
        y = g.node("Reshape", [y, g.ints([n_, t_, H, hd])])
        return g.node("Transpose", [y], perm=[0, 2, 1, 3]), n_, t_   # (N, H, T, hd)

    Q, N, L = proj(q, ws[0], bs[0])
    K, _, S = proj(k, ws[1], bs[1])
    V, _, _ = proj(v, ws[2], bs[2])
    s = g.node("MatMul", [Q, g.node("Transpose", [K], perm=[0, 1, 3, 2])])
    s = g.node("Mul", [s, g.const(np.asarray(1.0 / math.sqrt(hd), dt.np))])

    def additive(t):
        if t.dtype is D.bool_:
            return g.node("Where", [g.name(t), g.const(np.asarray(-np.inf, dt.np)), g.const(np.asarray(0, dt.np))])
        return _in(g, t, dt)
    if mask is not None:
        a = additive(mask)
        if mask.ndim == 3:
            a = g.node("Reshape", [a, g.ints([N, H, L, S])])
        s = g.node("Add", [s, a])
    if kpm is not None:
        s = g.node("Add", [s, g.node("Reshape", [additive(kpm), g.ints([N, 1, 1, S])])])
    p = g.node("Softmax", [s], axis=-1)
    o = g.node("MatMul", [p, V])                                   # (N, H, L, hd)
    o = g.node("Reshape", [g.node("Transpose", [o], perm=[0, 2, 1, 3]), g.ints([N, L, E])])
    o = g.node("MatMul", [o, g.const(np.ascontiguousarray(_np_of(m.out_proj.weight).T))])
    if m.out_proj.bias is not None:
        o = g.node("Add", [o, g.const(_np_of(m.out_proj.bias))])
    if not m.batch_first:
        o = g.node("Transpose", [o], perm=[1, 0, 2])
    g.bind(out[0], o)
    if need_weights and isinstance(out[1], Tensor):
        g.bind(out[1], g.node("ReduceMean", [p], axes=[1], keepdims=0) if average and g.opset < 18 else
               g.node("ReduceMean", [p, g.ints([1])], keepdims=0) if average else p)
