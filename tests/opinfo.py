"""The op-info table: one row per public op, read by tests/test_opinfo.py and by the op lists of other tests.

A row says how to call the op (function, Tensor method, in-place method, out=), which dtypes it supports and
where PyTorch raises instead (with the exception type), the input domain and its edge values (poles, -0.0,
+-inf, NaN, values just past a domain boundary, integer overflow and shift edges), tolerances per dtype, and
whether the op has autograd (then gradients are compared with PyTorch's in float64 on the domain and its edges,
and `gradcheck` runs on the domain's interior).

Elementwise rows are generated from cltensor's own table (`cltensor._ops.OPS`: name, arity, dtype rule and
expressions per dtype category) plus the per-op overrides below; the rows of reductions, scans, sorting,
indexing, shape ops, matrix products, composite functions, creation functions and nn functions are written out.
The reference is PyTorch (the test file skips without it): every row calls the same public name on `torch`.

    rows(kind="unary", dtype="float64")     # the rows of one kind that support a dtype
    row("acosh")                            # one row by name (and variant)
"""
import importlib
import math
import os

import numpy as np

from cltensor import _ops

ALL = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64", "complex64",
       "complex128")
INTS = ("uint8", "int8", "int16", "int32", "int64")
FLOATS = ("float16", "float32", "float64")
COMPLEX = ("complex64", "complex128")
_CATS = {"b": ("bool",), "i": INTS, "f": FLOATS, "c": COMPLEX}

INF, NAN = float("inf"), float("nan")
# the float edges every real-valued op sees (each op adds its own domain boundaries)
FLOAT_EDGES = (0.0, -0.0, INF, -INF, NAN, 1.0, -1.0, 0.5, -0.5, 1e-30, -1e-30)

# (rtol, atol) per dtype: float64 is tight (a float32 constant in a float64 kernel is a ~1e-7 error)
TOL = {"float16": (1e-3, 1e-3), "float32": (1.3e-5, 1e-6), "float64": (1e-12, 1e-13), "complex64": (1.3e-5, 1e-5),
       "complex128": (1e-12, 1e-13)}


class DT:
    """Placeholder for the row's dtype in a sample's arguments: `dtype=DT` becomes ct.<dtype> / torch.<dtype>."""


class Sample:
    """One call: args/kwargs hold numpy arrays (become tensors of the module under test), Python scalars and DT.
    `grad` lists the positions of the arguments that get requires_grad in gradient tests."""
    __slots__ = ("args", "kwargs", "grad")

    def __init__(self, *args, grad=None, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.grad = tuple(i for i, a in enumerate(args) if isinstance(a, np.ndarray)) if grad is None else grad


class OpInfo:
    """One op (or one variant of it: `variant` names a call form such as a scalar base for pow).

    name: the public name, e.g. "acosh" or "nn.functional.gelu" (looked up on cltensor and on torch alike)
    kind: unary, binary, ternary, reduction, scan, sort, index, shape, linalg, composite, creation, nn
    ops_key: the cltensor._ops.OPS row this op runs (elementwise rows), else None
    method / inplace / out: Tensor.<name>(), Tensor.<name>_() and out= forms exist (in PyTorch and cltensor)
    dtypes: the dtypes the op computes in; errors: {dtype: exception type} where PyTorch raises
    domain: (lo, hi) of the random inputs of a real floating dtype; edges: float values placed in each input
    int_edges: integer values placed in integer inputs (clipped to the dtype's range)
    sample: fn(dtype name, rng) -> list of Sample, for written rows (elementwise rows sample by arity)
    grad: the op has autograd; gradcheck: run cltensor.autograd.gradcheck (float64, inside `grad_domain`)
    tol: {dtype: (rtol, atol)} overriding TOL
    xfail: {(test, dtype or None): reason or (reason, False)}: known bugs, xfail in test_opinfo.py (strict
           unless given as a (reason, False) pair)
    """

    def __init__(self, name, kind, *, variant="", ops_key=None, nargs=1, method=True, inplace=False, out=True,
                 dtypes=ALL, errors=None, domain=(-5.0, 5.0), edges=FLOAT_EDGES, int_edges=(0, 1, -1),
                 sample=None, grad=True, gradcheck=True, grad_domain=None, grad_edges=True, tol=None, xfail=None,
                 layouts=True, scalar_first=None):
        self.name, self.kind, self.variant, self.ops_key, self.nargs = name, kind, variant, ops_key, nargs
        self.method, self.inplace, self.out = method, inplace, out
        self.dtypes, self.errors = tuple(dtypes), dict(errors or {})
        self.domain, self.edges, self.int_edges = domain, tuple(edges), tuple(int_edges)
        self.sample = sample
        self.grad, self.gradcheck = grad, gradcheck and grad
        self.grad_domain = grad_domain or domain
        self.grad_edges = grad_edges
        self.tol = dict(TOL, **(tol or {}))
        self.xfail = dict(xfail or {})
        self.layouts = layouts          # elementwise layouts (T, step, broadcast, 0-d, empty) apply
        self.scalar_first = scalar_first    # a Python scalar as first operand (pow(0, x))

    @property
    def id(self):
        return self.name + (f"[{self.variant}]" if self.variant else "")

    @property
    def elementwise(self):
        return self.kind in ("unary", "binary", "ternary")

    @property
    def all_dtypes(self):
        return tuple(d for d in ALL if d in self.dtypes or d in self.errors)

    def __repr__(self):
        return f"OpInfo({self.id!r}, {self.kind!r})"


# ---------------------------------------------------------------- elementwise rows, generated from _ops.OPS

# dtype categories computed per dtype rule (the categories absent from a row's expressions raise)
def _generated_dtypes(o):
    cats = set(o.exprs) if "*" not in o.exprs else {"b", "i", "f", "c"}
    if o.rule in ("float", "real_float"):         # ints compute in the default float dtype
        if "f" in cats:
            cats |= {"b", "i"}
    if o.rule in ("logical",):
        cats = {"b", "i", "f", "c"}
    if o.rule == "square":
        cats.add("b")
    dts = tuple(d for d in ALL if any(d in _CATS[c] for c in cats))
    if _OPS_PUBLIC.get(o.name, "").startswith("nn."):       # nn activations: floating inputs only
        dts = tuple(d for d in dts if d in FLOATS)
    return dts


def _ew_err(key, dtype):
    if key == "sub" and dtype == "bool":
        return RuntimeError
    cat = "b" if dtype == "bool" else "i" if dtype in INTS else "f" if dtype in FLOATS else "c"
    return _ops._ERRS.get((key, cat), (NotImplementedError,))[0]


# ops of _ops.OPS exposed under another public name, or ("") run by a public function with a written row
_OPS_PUBLIC = {"div_floor": "floor_divide", "copy": "", "add_alpha": "", "sub_alpha": "",
               "div_trunc": "", "nan_to_num": "", "clamp": "", "lerp": "",
               "silu": "nn.functional.silu", "softplus": "nn.functional.softplus", "gelu": "nn.functional.gelu",
               "gelu_tanh": ""}
_NN_INTERNAL = "nn_"        # the nn.* rows of OPS are kernels of nn functions (their rows are the nn rows below)

_POS = (0.0, 1e-30, 0.5, 1.0, 2.0, INF, NAN)
# per-op overrides of the generated rows
_EW = {
    "log": dict(domain=(0.05, 9), edges=(0.0, -0.0, -1.0, 1e-30, 1.0, INF, -INF, NAN), grad_domain=(0.1, 9)),
    "log2": dict(domain=(0.05, 9), edges=(0.0, -0.0, -1.0, 1e-30, 1.0, INF, NAN), grad_domain=(0.1, 9)),
    "log10": dict(domain=(0.05, 9), edges=(0.0, -0.0, -1.0, 1e-30, 1.0, INF, NAN), grad_domain=(0.1, 9)),
    "log1p": dict(domain=(-0.9, 9), edges=(-1.0, -1.5, 0.0, -0.0, 1e-30, INF, NAN), grad_domain=(-0.9, 9)),
    "sqrt": dict(domain=(0, 9), edges=(0.0, -0.0, -1.0, 1e-30, INF, NAN), grad_domain=(0.1, 9)),
    "rsqrt": dict(domain=(0.05, 9), edges=(0.0, -0.0, -1.0, 1e-30, INF, NAN), grad_domain=(0.1, 9)),
    "reciprocal": dict(edges=(0.0, -0.0, 1e-30, INF, -INF, NAN), grad_domain=(0.2, 5)),
    "tan": dict(domain=(-1.5, 1.5), edges=(0.0, -0.0, math.pi / 2, -math.pi / 2, INF, NAN)),
    "asin": dict(domain=(-0.99, 0.99), edges=(1.0, -1.0, 1.0000001, -1.0000001, 2.0, 0.0, -0.0, INF, NAN),
                 grad_domain=(-0.9, 0.9)),
    "acos": dict(domain=(-0.99, 0.99), edges=(1.0, -1.0, 1.0000001, -1.0000001, 2.0, 0.0, -0.0, INF, NAN),
                 grad_domain=(-0.9, 0.9)),
    "atanh": dict(domain=(-0.99, 0.99), edges=(1.0, -1.0, 0.9999999, 1.5, -1.5, 0.0, -0.0, INF, NAN),
                  grad_domain=(-0.9, 0.9)),
    # acosh: real for x >= 1; x < -1 has a finite gradient in PyTorch (grad / sqrt(x*x - 1))
    "acosh": dict(domain=(1.0, 9), edges=(1.0, 1.0000001, 0.999999, 0.0, -0.0, -1.0, -2.0, -5.0, INF, -INF, NAN),
                  grad_domain=(1.1, 9)),
    "exp": dict(domain=(-5, 5), edges=FLOAT_EDGES + (88.8, 89.0, 709.8, 710.0, -104.0, -746.0)),
    "exp2": dict(domain=(-5, 5), edges=FLOAT_EDGES + (128.0, 1024.0, -150.0, -1075.0)),
    "expm1": dict(domain=(-2, 2), edges=FLOAT_EDGES + (1e-10, -1e-10, 89.0, 710.0)),
    "sinh": dict(domain=(-4, 4)), "cosh": dict(domain=(-4, 4)),
    "erf": dict(domain=(-3, 3)), "erfc": dict(domain=(-3, 3), edges=FLOAT_EDGES + (10.0, 27.0, -6.0)),
    "sigmoid": dict(domain=(-9, 9), edges=FLOAT_EDGES + (-100.0, 100.0, 800.0)),
    "tanh": dict(domain=(-4, 4), edges=FLOAT_EDGES + (20.0, -20.0)),
    "frac": dict(grad=True, edges=FLOAT_EDGES + (2.5, -2.5, 1e20)),
    "round": dict(edges=FLOAT_EDGES + (2.5, -2.5, 1.5, 0.49999999999999994, 1e20)),
    "floor": dict(edges=FLOAT_EDGES + (2.5, -2.5)), "ceil": dict(edges=FLOAT_EDGES + (2.5, -2.5)),
    "trunc": dict(edges=FLOAT_EDGES + (2.5, -2.5)),
    "sign": dict(gradcheck=False), "sgn": dict(gradcheck=False),
    "abs": dict(gradcheck=False, int_edges=(0, 1, -1, "min", "max")),
    "neg": dict(int_edges=(0, 1, -1, "min", "max")),
    "relu": dict(gradcheck=False),
    "angle": dict(gradcheck=False),
    # binary
    "add": dict(int_edges=(0, 1, -1, "min", "max")), "sub": dict(int_edges=(0, 1, -1, "min", "max")),
    "mul": dict(int_edges=(0, 1, -1, "min", "max", 2)),
    "div": dict(edges=FLOAT_EDGES, grad_domain=(0.5, 5), int_edges=(0, 1, -1, 2)),
    "floor_divide": dict(edges=FLOAT_EDGES + (2.5, -2.5), int_edges=(1, -1, 2, 3, "min"), nonzero_int=True,
                         grad=False),
    "remainder": dict(edges=FLOAT_EDGES + (2.5, -2.5), int_edges=(1, -1, 2, 3, "min"), nonzero_int=True,
                      gradcheck=False),
    "fmod": dict(edges=FLOAT_EDGES + (2.5, -2.5), int_edges=(1, -1, 2, 3, "min"), nonzero_int=True,
                 gradcheck=False),
    "pow": dict(domain=(0.5, 3), edges=(0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, INF, -INF, NAN),
                int_edges=(0, 1, 2, 3, -1), nonneg_int_exponent=True, grad_domain=(0.5, 3)),
    "atan2": dict(grad_domain=(0.5, 5)), "hypot": dict(grad_domain=(0.5, 5)),
    "copysign": dict(gradcheck=False),
    "xlogy": dict(domain=(0.1, 5), grad_domain=(0.5, 5)),
    "maximum": dict(gradcheck=False), "minimum": dict(gradcheck=False),
    "fmax": dict(gradcheck=False), "fmin": dict(gradcheck=False),
    "bitwise_left_shift": dict(int_edges=(0, 1, 2, 7, 8, 15, 16, 31, 32, 63, 64, 65, -1, "min", "max"),
                               shift=True),
    "bitwise_right_shift": dict(int_edges=(0, 1, 2, 7, 8, 15, 16, 31, 32, 63, 64, 65, -1, "min", "max"),
                                shift=True),
}

# ops whose in-place forms Tensor.<name>_ exist (PyTorch has them for nearly every elementwise op)
_NO_INPLACE = {"isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit", "angle", "conj", "positive",
               "maximum", "minimum", "fmax", "fmin"}
_NO_OUT = {"conj", "positive", "relu", "isnan", "isinf", "isfinite"}      # (PyTorch has no out= for these)
_NO_METHOD = set()
_NO_GRAD_RULE = {"floor_divide"}


def _ew_rows():
    out = []
    for key, o in _ops.OPS.items():
        if key.startswith(_NN_INTERNAL):
            continue
        name = _OPS_PUBLIC.get(key, key)
        if not name or o.nargs > 2:
            continue
        kw = dict(_EW.get(name, {}))
        extra = {k: kw.pop(k) for k in ("nonzero_int", "nonneg_int_exponent", "shift") if k in kw}
        dts = _generated_dtypes(o)
        errors = {d: _ew_err(key, d) for d in ALL if d not in dts}
        nn = name.startswith("nn.")
        kw.setdefault("grad", o.backward is not None and name not in _NO_GRAD_RULE)
        r = OpInfo(name, "nn" if nn else ("unary" if o.nargs == 1 else "binary"), ops_key=key, nargs=o.nargs,
                   method=not nn and name not in _NO_METHOD, inplace=not nn and name not in _NO_INPLACE,
                   out=not nn and name not in _NO_OUT, dtypes=dts, errors=errors, **kw)
        for k, v in extra.items():
            setattr(r, k, v)
        out.append(r)
    return out


# ---------------------------------------------------------------- written rows

def _arr(rng, dtype, shape, lo=-5.0, hi=5.0):
    if dtype == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    if dtype in INTS:
        lo = max(lo, 0) if dtype == "uint8" else lo
        return np.asarray(rng.integers(int(lo), int(hi) + 1, size=shape)).astype(dtype)
    a = np.asarray(rng.uniform(lo, hi, size=shape))
    if dtype in COMPLEX:
        a = a + 1j * rng.uniform(lo, hi, size=shape)
    return np.asarray(a.astype(dtype))


def _red_samples(extra=None):
    """Reductions: all dims, one dim (keepdim either way), a negative dim, an empty slice, a 0-d input."""
    def f(dt, rng):
        a = _arr(rng, dt, (5, 7))
        s = [Sample(a), Sample(a, 1), Sample(a, 0, keepdim=True), Sample(a, -1), Sample(_arr(rng, dt, ())),
             Sample(_arr(rng, dt, (3, 0)), 0)]
        return s + (extra(dt, rng) if extra else [])
    return f


def _dim_samples(dt, rng):
    a = _arr(rng, dt, (5, 7))
    return [Sample(a, 1), Sample(a, 0), Sample(a, -1), Sample(_arr(rng, dt, (4, 0)), 0)]


def _one(*fns):
    """Samples from fixed builders fn(dt, rng) -> Sample."""
    return lambda dt, rng: [f(dt, rng) for f in fns]


NUM = ALL[1:]                                     # every dtype but bool
REAL = ("bool",) + INTS + FLOATS                  # every dtype but complex
REAL_NB = INTS + FLOATS
FC = FLOATS + COMPLEX
NOT_BOOL = {"bool": RuntimeError}


def _err(dts, exc=NotImplementedError):
    return {d: exc for d in dts}


def _written():
    R = []
    add = R.append
    # reductions (max/min with a dim return (values, indices); compared as a tuple)
    add(OpInfo("sum", "reduction", dtypes=ALL, sample=_red_samples(), grad=True))
    add(OpInfo("nansum", "reduction", dtypes=REAL, errors=_err(COMPLEX, RuntimeError), sample=_red_samples(),
               grad=True))
    add(OpInfo("prod", "reduction", dtypes=ALL, sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7), -2, 2)),
                                                          lambda dt, r: Sample(_arr(r, dt, (5, 7), -2, 2), 1)),
               grad=True))
    add(OpInfo("mean", "reduction", dtypes=FC, errors=_err(("bool",) + INTS, RuntimeError),
               sample=_red_samples(), grad=True))
    add(OpInfo("amax", "reduction", dtypes=REAL, errors=_err(COMPLEX),
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7))), lambda dt, r: Sample(_arr(r, dt, (5, 7)), 1)),
               gradcheck=False))
    add(OpInfo("amin", "reduction", dtypes=REAL, errors=_err(COMPLEX),
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7))), lambda dt, r: Sample(_arr(r, dt, (5, 7)), 1)),
               gradcheck=False))
    add(OpInfo("argmax", "reduction", dtypes=REAL_NB, errors=_err(("bool",) + COMPLEX, RuntimeError),
               out=False, grad=False,
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7))), lambda dt, r: Sample(_arr(r, dt, (5, 7)), 1))))
    add(OpInfo("argmin", "reduction", dtypes=REAL_NB, errors=_err(("bool",) + COMPLEX, RuntimeError),
               out=False, grad=False,
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7))), lambda dt, r: Sample(_arr(r, dt, (5, 7)), 1))))
    add(OpInfo("max", "reduction", dtypes=REAL, errors=_err(COMPLEX), out=False, gradcheck=False,
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7))), lambda dt, r: Sample(_arr(r, dt, (5, 7)), 1))))
    add(OpInfo("min", "reduction", dtypes=REAL, errors=_err(COMPLEX), out=False, gradcheck=False,
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7))), lambda dt, r: Sample(_arr(r, dt, (5, 7)), 1))))
    add(OpInfo("all", "reduction", dtypes=ALL, grad=False, sample=_red_samples()))
    add(OpInfo("any", "reduction", dtypes=ALL, grad=False, sample=_red_samples()))
    add(OpInfo("count_nonzero", "reduction", dtypes=ALL, out=False, grad=False,
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7), -1, 1)),
                           lambda dt, r: Sample(_arr(r, dt, (5, 7), -1, 1), 1))))
    add(OpInfo("std", "reduction", dtypes=FC, errors=_err(("bool",) + INTS, RuntimeError), sample=_red_samples(),
               grad=True))
    add(OpInfo("var", "reduction", dtypes=FC, errors=_err(("bool",) + INTS, RuntimeError), sample=_red_samples(),
               grad=True))
    add(OpInfo("logsumexp", "reduction", dtypes=ALL,
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7)), 1),
                           lambda dt, r: Sample(np.array([[-INF, -INF], [INF, 1.0], [NAN, 0.0]], dt)
                                                if dt in FLOATS else _arr(r, dt, (3, 2)), 1, grad=())),
               tol={"float16": (2e-3, 2e-3)}))
    # scans
    for n in ("cumsum", "cumprod"):
        add(OpInfo(n, "scan", dtypes=ALL, sample=_dim_samples, inplace=False,
                   tol={"float16": (5e-3, 5e-3)}))
    add(OpInfo("logcumsumexp", "scan", dtypes=FC, errors=_err(("bool",) + INTS), sample=_dim_samples))
    for n in ("cummax", "cummin"):
        add(OpInfo(n, "scan", dtypes=REAL, errors=_err(COMPLEX), sample=_dim_samples, gradcheck=False))
    # sorting and selection
    add(OpInfo("sort", "sort", dtypes=REAL, errors=_err(COMPLEX, RuntimeError), gradcheck=False,
               sample=lambda dt, r: [Sample(_arr(r, dt, (5, 7), -3, 3), dim=1, stable=True),
                                     Sample(_arr(r, dt, (5, 7), -3, 3), dim=0, descending=True, stable=True)]))
    add(OpInfo("argsort", "sort", dtypes=REAL, errors=_err(COMPLEX, RuntimeError), out=False, grad=False,
               sample=lambda dt, r: [Sample(_arr(r, dt, (5, 7), -3, 3), dim=1, stable=True)]))
    add(OpInfo("msort", "sort", dtypes=REAL, errors=_err(COMPLEX, RuntimeError), gradcheck=False,
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7))))))
    add(OpInfo("topk", "sort", dtypes=REAL_NB, errors=_err(("bool",) + COMPLEX, RuntimeError), gradcheck=False,
               sample=lambda dt, r: [Sample(np.arange(35).astype(dt).reshape(5, 7)[:, ::-1].copy()
                                            if dt != "bool" else _arr(r, dt, (5, 7)), 3)]))
    add(OpInfo("kthvalue", "sort", dtypes=REAL_NB, errors=_err(("bool",) + COMPLEX), gradcheck=False,
               sample=lambda dt, r: [Sample(np.arange(35).astype(dt).reshape(5, 7)[:, ::-1].copy(), 2)]))
    # indexing
    idx = np.array([[0, 2, 1], [3, 3, 0]], dtype=np.int64)
    add(OpInfo("gather", "index", dtypes=ALL, sample=lambda dt, r: [Sample(_arr(r, dt, (5, 7)), 1, idx, grad=(0,))]))
    add(OpInfo("index_select", "index", dtypes=ALL,
               sample=lambda dt, r: [Sample(_arr(r, dt, (5, 7)), 1, np.array([4, 0, 4], np.int64), grad=(0,))]))
    add(OpInfo("take", "index", dtypes=ALL,
               sample=lambda dt, r: [Sample(_arr(r, dt, (5, 7)), np.array([0, 34, -1], np.int64), grad=(0,))]))
    add(OpInfo("masked_select", "index", dtypes=ALL,
               sample=lambda dt, r: [Sample(_arr(r, dt, (5, 7)), _arr(r, "bool", (7,)), grad=(0,))]))
    # shape ops
    add(OpInfo("flip", "shape", dtypes=ALL, out=False, sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7)), (0, 1)))))
    add(OpInfo("roll", "shape", dtypes=ALL, out=False, sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7)), 2, 1))))
    add(OpInfo("tril", "shape", dtypes=ALL, sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7)), 1))))
    add(OpInfo("triu", "shape", dtypes=ALL, sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7)), -1))))
    add(OpInfo("cat", "shape", dtypes=ALL, method=False, gradcheck=False,
               sample=lambda dt, r: [Sample([_arr(r, dt, (2, 7)), _arr(r, dt, (3, 7))], 0, grad=())]))
    add(OpInfo("stack", "shape", dtypes=ALL, method=False, gradcheck=False,
               sample=lambda dt, r: [Sample([_arr(r, dt, (5, 7)), _arr(r, dt, (5, 7))], 1, grad=())]))
    add(OpInfo("diag", "shape", dtypes=ALL, sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7)), 1))))
    add(OpInfo("repeat_interleave", "shape", dtypes=ALL, out=False,
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7)), 2, dim=1))))
    # matrix products (PyTorch's CPU matmul has no bool and, for some, no integer kernels)
    mm_dt = INTS + FLOATS + COMPLEX
    add(OpInfo("mm", "linalg", dtypes=mm_dt, errors=_err(("bool",)),
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7), -2, 2), _arr(r, dt, (7, 3), -2, 2))),
               tol={"float16": (2e-3, 2e-3)}))
    add(OpInfo("bmm", "linalg", dtypes=mm_dt, errors=_err(("bool",)),
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (2, 5, 7), -2, 2), _arr(r, dt, (2, 7, 3), -2, 2))),
               tol={"float16": (2e-3, 2e-3)}))
    add(OpInfo("matmul", "linalg", dtypes=mm_dt, errors=_err(("bool",)),
               sample=lambda dt, r: [Sample(_arr(r, dt, (5, 7), -2, 2), _arr(r, dt, (7,), -2, 2)),
                                     Sample(_arr(r, dt, (2, 5, 7), -2, 2), _arr(r, dt, (7, 3), -2, 2))],
               tol={"float16": (2e-3, 2e-3)}))
    add(OpInfo("mv", "linalg", dtypes=mm_dt, errors=_err(("bool",)),
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7), -2, 2), _arr(r, dt, (7,), -2, 2))),
               tol={"float16": (2e-3, 2e-3)}))
    add(OpInfo("dot", "linalg", dtypes=mm_dt, errors=_err(("bool",)),
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (7,), -2, 2), _arr(r, dt, (7,), -2, 2))),
               tol={"float16": (2e-3, 2e-3)}))
    add(OpInfo("outer", "linalg", dtypes=ALL,
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5,), -2, 2), _arr(r, dt, (7,), -2, 2)))))
    # composite functions
    add(OpInfo("logaddexp", "composite", dtypes=FLOATS + COMPLEX, errors=_err(("bool",) + INTS),
               sample=lambda dt, r: [Sample(_arr(r, dt, (5, 7)), _arr(r, dt, (7,))),
                                     Sample(np.array([-INF, INF, -INF, 0.0], dt), np.array([-INF, INF, 1.0, NAN], dt),
                                            grad=())
                                     if dt in FLOATS else Sample(_arr(r, dt, (4,)), _arr(r, dt, (4,)))]))
    add(OpInfo("sinc", "composite", dtypes=FC + ("bool",) + INTS,
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7))),
                           lambda dt, r: Sample(np.array([0.0, -0.0, 1.0, 1e-20], dt) if dt in FC
                                                else _arr(r, dt, (4,)), grad=())),
               inplace=True))
    add(OpInfo("logit", "composite", dtypes=FLOATS + ("bool",) + INTS, errors=_err(COMPLEX, NotImplementedError),
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7), 0.05, 0.95)),
                           lambda dt, r: Sample(np.array([0.0, 1.0, -0.5, 1.5, NAN], dt) if dt in FLOATS
                                                else _arr(r, dt, (4,), 0, 1), grad=())), inplace=True))
    add(OpInfo("deg2rad", "composite", dtypes=REAL, errors=_err(COMPLEX, RuntimeError),
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7)))), inplace=True))
    add(OpInfo("rad2deg", "composite", dtypes=REAL, errors=_err(COMPLEX, RuntimeError),
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7)))), inplace=True))
    add(OpInfo("addcmul", "composite", dtypes=NUM, errors=_err(("bool",)),
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7)), _arr(r, dt, (7,)), _arr(r, dt, (5, 1)),
                                                value=2)), inplace=True))
    add(OpInfo("addcdiv", "composite", dtypes=FC, errors=_err(("bool",) + INTS, RuntimeError),
               sample=_one(lambda dt, r: Sample(_arr(r, dt, (5, 7)), _arr(r, dt, (7,)), _arr(r, dt, (5, 1), 1, 3),
                                                value=2)), inplace=True))
    add(OpInfo("lerp", "composite", dtypes=FC, errors=_err(("bool",) + INTS),
               sample=lambda dt, r: [Sample(_arr(r, dt, (5, 7)), _arr(r, dt, (7,)), 0.3),
                                     Sample(_arr(r, dt, (5, 7)), _arr(r, dt, (7,)), _arr(r, dt, (5, 7), 0, 1))],
               inplace=True))
    add(OpInfo("clamp", "composite", dtypes=REAL_NB, errors=_err(("bool",) + COMPLEX), gradcheck=False, inplace=True,
               sample=lambda dt, r: [Sample(_arr(r, dt, (5, 7)), -2, 3), Sample(_arr(r, dt, (5, 7)), None, 1),
                                     Sample(_arr(r, dt, (5, 7)), _arr(r, dt, (7,), -3, 0), _arr(r, dt, (5, 1), 0, 3))]))
    add(OpInfo("nan_to_num", "composite", dtypes=ALL, inplace=True, gradcheck=False,
               sample=lambda dt, r: [Sample(np.array([NAN, INF, -INF, 1.5, -0.0], dt) if dt in FLOATS
                                            else _arr(r, dt, (5,))),
                                     Sample(np.array([NAN, INF, -INF, 1.5], dt) if dt in FLOATS else _arr(r, dt, (4,)),
                                            nan=2.0, posinf=9.0, neginf=-9.0)]))
    add(OpInfo("where", "composite", dtypes=ALL, method=False, gradcheck=False,
               sample=lambda dt, r: [Sample(_arr(r, "bool", (5, 7)), _arr(r, dt, (5, 7)), _arr(r, dt, (7,)),
                                            grad=(1, 2))]))
    add(OpInfo("isclose", "composite", dtypes=ALL, out=False, grad=False,
               sample=lambda dt, r: [Sample(_arr(r, dt, (5, 7), -1, 1), _arr(r, dt, (7,), -1, 1))]))
    add(OpInfo("rsub", "composite", dtypes=NUM, errors=_err(("bool",), RuntimeError), method=False, out=False,
               sample=lambda dt, r: [Sample(_arr(r, dt, (5, 7)), _arr(r, dt, (7,)))]))
    # creation functions: dtype-checked like every row (PyTorch refuses some dtypes)
    add(OpInfo("linspace", "creation", method=False, out=False, grad=False, dtypes=NUM, errors=_err(("bool",)),
               sample=lambda dt, r: [Sample(5, 10, 3, dtype=DT), Sample(-2, 2, 7, dtype=DT), Sample(0, 1, 1, dtype=DT)]))
    add(OpInfo("logspace", "creation", method=False, out=False, grad=False, dtypes=NUM, errors=_err(("bool",)),
               sample=lambda dt, r: [Sample(0, 2, 3, dtype=DT)]))
    add(OpInfo("arange", "creation", method=False, out=False, grad=False, dtypes=REAL_NB,
               errors=_err(("bool",) + COMPLEX),
               sample=lambda dt, r: [Sample(0, 5, dtype=DT), Sample(1, 10, 3, dtype=DT)]))
    for n in ("zeros", "ones"):
        add(OpInfo(n, "creation", method=False, out=False, grad=False, dtypes=ALL,
                   sample=lambda dt, r: [Sample(3, 2, dtype=DT), Sample(0, dtype=DT)]))
    add(OpInfo("full", "creation", method=False, out=False, grad=False, dtypes=ALL,
               sample=lambda dt, r: [Sample((2, 3), 1, dtype=DT)]))
    add(OpInfo("eye", "creation", method=False, out=False, grad=False, dtypes=ALL,
               sample=lambda dt, r: [Sample(3, dtype=DT), Sample(2, 4, dtype=DT)]))
    # nn functions (nn.functional.*): activations over every dtype torch allows, pooling included
    act = dict(method=False, out=False, inplace=False)
    add(OpInfo("nn.functional.relu6", "nn", dtypes=REAL_NB, errors=dict(_err(COMPLEX), bool=RuntimeError),
               gradcheck=False, **act))
    add(OpInfo("nn.functional.leaky_relu", "nn", dtypes=FLOATS, errors=_err(("bool",) + INTS + COMPLEX),
               gradcheck=False, **act))
    add(OpInfo("nn.functional.elu", "nn", dtypes=FLOATS, errors=_err(("bool",) + INTS + COMPLEX), **act))
    add(OpInfo("nn.functional.hardtanh", "nn", dtypes=INTS[1:] + FLOATS,
               errors=dict(_err(COMPLEX), bool=RuntimeError, uint8=RuntimeError),
               gradcheck=False, **act))
    add(OpInfo("nn.functional.logsigmoid", "nn", dtypes=FLOATS, errors=_err(("bool",) + INTS + COMPLEX),
               edges=FLOAT_EDGES + (-100.0, 100.0), **act))
    add(OpInfo("nn.functional.mish", "nn", dtypes=FLOATS, errors=_err(("bool",) + INTS + COMPLEX), **act))
    add(OpInfo("nn.functional.hardsigmoid", "nn", dtypes=FLOATS, errors=_err(("bool",) + INTS + COMPLEX),
               gradcheck=False, **act))
    add(OpInfo("nn.functional.hardswish", "nn", dtypes=FLOATS, errors=_err(("bool",) + INTS + COMPLEX),
               gradcheck=False, **act))
    add(OpInfo("nn.functional.softmax", "nn", dtypes=FLOATS, errors=_err(("bool",) + INTS + COMPLEX),
               sample=_dim_samples, **act))
    add(OpInfo("nn.functional.log_softmax", "nn", dtypes=FLOATS, errors=_err(("bool",) + INTS + COMPLEX),
               sample=_dim_samples, **act))
    pool = lambda dt, r: [Sample(_arr(r, dt, (2, 3, 7, 6)), 2), Sample(_arr(r, dt, (1, 2, 5, 5)), 3, 2, 1)]
    add(OpInfo("nn.functional.max_pool2d", "nn", dtypes=REAL_NB, errors=_err(("bool",) + COMPLEX),
               sample=pool, gradcheck=False, **act))
    add(OpInfo("nn.functional.avg_pool2d", "nn", dtypes=FLOATS + ("int64",),
               errors=_err(("bool", "uint8", "int8", "int16", "int32") + COMPLEX),
               sample=lambda dt, r: [Sample(_arr(r, dt, (2, 3, 7, 6)), 2)], **act))
    return R


ROWS = _ew_rows() + _written()


def _nn_unary(row):
    # nn activations are elementwise unary rows called through nn.functional
    if row.kind == "nn" and row.sample is None:
        row.nargs = 1
    return row


for _r in ROWS:
    _nn_unary(_r)


# gelu's float64 kernel uses float32 constants (0.5f, 0.7071...f): a ~4e-7 relative error
for _r in ROWS:
    if _r.name == "nn.functional.gelu":
        # PyTorch's CPU gelu gives nan at +inf (its vectorized erf); cltensor gives +inf: not compared
        _r.edges = tuple(e for e in _r.edges if e != INF)
        _r.method = _r.out = _r.inplace = False
    if _r.name == "nn.functional.silu":           # PyTorch's silu takes complex inputs too
        _r.dtypes = FLOATS + COMPLEX
        for _d in COMPLEX:
            del _r.errors[_d]
    if _r.name in ("nn.functional.silu", "nn.functional.softplus"):
        _r.method = _r.out = _r.inplace = False

# pow with a Python scalar base: 0 ** x has gradient -inf where x < 0 (log(0) * 0 ** x)
ROWS.append(OpInfo("pow", "binary", variant="scalar_base", ops_key="pow", nargs=1, method=False, inplace=False,
                   out=False, dtypes=ALL, errors={}, scalar_first=0.0, domain=(-3, 3),
                   edges=(0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, INF, -INF, NAN), gradcheck=False))
ROWS.append(OpInfo("pow", "binary", variant="scalar_base_2", ops_key="pow", nargs=1, method=False, inplace=False,
                   out=False, dtypes=ALL, errors={}, scalar_first=2.0, domain=(-3, 3),
                   edges=(0.0, -0.0, 1.0, -1.0, 10.0, INF, -INF, NAN), gradcheck=True))


# ---------------------------------------------------------------- rows of other op families
# tests/opinfo_<family>.py modules (linalg, fft, special ...) hold the rows of their family: each defines ROWS (a
# list of OpInfo) and may define EXEMPT (names tested elsewhere, with the reason in a comment) and BUGS (a
# function called after the rows are in the table, to declare known deviations with _bug).
_PARTS = []
for _p in sorted(os.listdir(os.path.dirname(os.path.abspath(__file__)))):
    if _p.startswith("opinfo_") and _p.endswith(".py"):
        _m = importlib.import_module(_p[:-3])
        ROWS.extend(_m.ROWS)
        _PARTS.append(_m)


# ---------------------------------------------------------------- queries

def rows(kind=None, dtype=None, *, grad=None, inplace=None, method=None, variants=False):
    """Rows of one kind (a str or a tuple of kinds), supporting `dtype`, with autograd / in-place / method forms
    as asked; variants=False leaves out the variant rows (pow with a scalar base ...)."""
    kinds = (kind,) if isinstance(kind, str) else kind
    out = []
    for r in ROWS:
        if kinds is not None and r.kind not in kinds:
            continue
        if dtype is not None and dtype not in r.dtypes:
            continue
        if grad is not None and r.grad != grad:
            continue
        if inplace is not None and r.inplace != inplace:
            continue
        if method is not None and r.method != method:
            continue
        if r.variant and not variants:
            continue
        out.append(r)
    return out


def names(kind=None, dtype=None, **kw):
    """The public names of rows(...) (the short name for nn.functional rows)."""
    return [r.name for r in rows(kind, dtype, **kw)]


def row(name, variant=""):
    for r in ROWS:
        if r.name == name and r.variant == variant:
            return r
    raise KeyError(name)


# public names of cltensor that have no row (with the reason, per group); the coverage test accepts these and
# fails for any other registered op without a row. An entry "name.method" exempts only the method form.
EXEMPT = {
    # aliases (registered with alias_of; their target has a row)
    "absolute", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "clip", "concat",
    "concatenate", "divide", "fix", "greater", "greater_equal", "less", "less_equal", "multiply", "negative",
    "not_equal", "subtract", "swapdims", "true_divide", "row_stack", "ger",
    # not computations over tensor values (factories, random numbers, state, I/O, dtype queries): registered with
    # another kind
    "BoolTensor", "ByteTensor", "CharTensor", "DoubleTensor", "FloatTensor", "HalfTensor", "IntTensor",
    "LongTensor", "ShortTensor", "as_tensor", "asarray", "tensor", "from_numpy", "empty", "empty_like", "full_like",
    "ones_like", "zeros_like", "tril_indices", "triu_indices", "rand", "rand_like", "randint", "randint_like",
    "randn", "randn_like", "randperm", "normal", "bernoulli", "multinomial", "manual_seed", "seed", "initial_seed",
    "get_rng_state", "set_rng_state", "can_cast", "promote_types", "result_type", "broadcast_shapes",
    "get_default_device", "set_default_device", "get_default_dtype", "set_default_dtype", "get_printoptions",
    "set_printoptions", "is_complex", "is_floating_point", "is_grad_enabled", "is_tensor", "numel", "devices",
    "synchronize", "compile", "warmup", "save", "load",
    # method forms with another argument order than the function's (Tensor.where(condition, other),
    # Tensor.rsub): tested by tests/test_elementwise.py
    "where.method", "rsub.method",
    # views and shape ops: tested by tests/test_views.py and tests/test_shape_ops.py (values only; no dtype sweep yet)
    "as_strided", "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_tensors", "broadcast_to", "chunk",
    "column_stack", "detach", "clone", "diag_embed", "diagonal", "dsplit", "dstack", "flatten", "fliplr", "flipud",
    "hsplit", "hstack", "moveaxis", "movedim", "narrow", "permute", "ravel", "reshape", "rot90", "select", "split",
    "squeeze", "swapaxes", "t", "tensor_split", "tile", "transpose", "unbind", "unflatten", "unsqueeze",
    "view_as_complex", "view_as_real", "real", "imag", "conj_physical", "vsplit", "vstack", "meshgrid",
    # indexing and scatter: tested by tests/test_indexing.py (no dtype sweep yet)
    "argwhere", "nonzero", "index_add", "index_copy", "index_fill", "index_put", "index_put_", "masked_fill",
    "masked_scatter", "put", "scatter", "scatter_add", "scatter_reduce", "take_along_dim", "unique",
    # products and composites without a row yet: tested by tests/test_linalg.py, tests/test_composite.py
    "addbmm", "addmm", "addmv", "baddbmm", "cross", "einsum", "inner", "kron", "tensordot", "trace", "vdot", "diff",
    "polar", "complex", "clamp_max", "clamp_min", "logaddexp2", "equal", "allclose", "norm",
    # reductions without a row yet: tested by tests/test_reduce.py
    "aminmax", "median", "nanmean", "std_mean", "var_mean", "log_softmax", "softmax",
    # nn functions without a row yet: tested by tests/test_nn.py and tests/test_nn_kernels.py
    "nn.functional.adaptive_avg_pool1d", "nn.functional.adaptive_avg_pool2d", "nn.functional.adaptive_max_pool2d",
    "nn.functional.alpha_dropout", "nn.functional.avg_pool1d", "nn.functional.batch_norm", "nn.functional.bilinear",
    "nn.functional.binary_cross_entropy", "nn.functional.binary_cross_entropy_with_logits", "nn.functional.celu",
    "nn.functional.conv1d", "nn.functional.conv2d", "nn.functional.cosine_similarity",
    "nn.functional.cross_entropy", "nn.functional.dropout", "nn.functional.dropout1d", "nn.functional.dropout2d",
    "nn.functional.dropout3d", "nn.functional.embedding", "nn.functional.flatten", "nn.functional.glu",
    "nn.functional.group_norm", "nn.functional.huber_loss", "nn.functional.instance_norm", "nn.functional.kl_div",
    "nn.functional.l1_loss", "nn.functional.layer_norm", "nn.functional.leaky_relu_", "nn.functional.linear",
    "nn.functional.max_pool1d", "nn.functional.max_pool2d_with_indices", "nn.functional.mse_loss",
    "nn.functional.nll_loss", "nn.functional.normalize", "nn.functional.one_hot", "nn.functional.pad",
    "nn.functional.pairwise_distance", "nn.functional.poisson_nll_loss", "nn.functional.relu",
    "nn.functional.relu_", "nn.functional.selu", "nn.functional.sigmoid", "nn.functional.smooth_l1_loss",
    "nn.functional.softmin", "nn.functional.softsign", "nn.functional.tanh", "nn.functional.tanhshrink",
    "nn.functional.threshold", "nn.functional.unfold",
}

for _m in _PARTS:
    EXEMPT.update(getattr(_m, "EXEMPT", ()))


def result_kind(r):
    """'bool' for predicates and comparisons, 'float' for the rows whose float input gives a float result, else
    'other' (bitwise ops, logical ops, written rows)."""
    o = _ops.OPS.get(r.ops_key) if r.ops_key else None
    if o is None:
        return "other"
    if o.rule in ("cmp", "pred", "logical"):
        return "bool"
    if o.rule in ("float", "same", "real_same", "real_float", "square", "std", "pow"):
        return "float"
    return "other"


def rule(r):
    """The dtype rule of an elementwise row's cltensor._ops.OPS entry ('cmp', 'float', 'bitwise' ...), or None."""
    o = _ops.OPS.get(r.ops_key) if r.ops_key else None
    return o.rule if o is not None else None


# ---------------------------------------------------------------- mismatches found by the sweep
# (test, dtype): reason, strict xfail (checked on float32, float64, int64, complex64); (reason, False): expected
# on the other dtypes listed, not checked on each
def _bug(name, test, dtypes, reason, variant=""):
    r = row(name, variant)
    seen = set(dtypes)          # a bug seen on int64 / complex64 is expected on the other ints / complex128
    dtypes = tuple(dtypes) + tuple(d for d in INTS if "int64" in seen and d not in seen and d in r.all_dtypes) + \
        tuple(d for d in ("complex128",) if "complex64" in seen and d not in seen and d in r.all_dtypes)
    for d in dtypes:
        if d not in seen and (test, d) in r.xfail:
            continue
        r.xfail[(test, d)] = reason if d in ("float32", "float64", "int64", "complex64") or test == "grad" \
            else (reason, False)


for _n in ("maximum", "minimum"):
    _bug(_n, "values", ("float16", "float32"),
         f"torch's {_n}(0.0, -0.0) depends on its path (the vectorised loop returns the second operand's zero, the "
         "scalar tail and float16 the first); cltensor always returns the second")


for _m in _PARTS:
    if hasattr(_m, "BUGS"):
        _m.BUGS(_bug)
