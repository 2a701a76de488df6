"""Differential fuzzing against numpy (hypothesis): elementwise, reductions, indexing and matmul over random shapes
(0- and 1-size dims included), strided views (permutations, step slices, offsets, expanded dims), dtypes and
broadcasting. Where numpy and PyTorch differ the expectation follows PyTorch (dtype promotion below is PyTorch's
rule, derived without importing torch).

CI runs a bounded, deterministic number of examples. The long run sets the total number of examples spread over the
tests of this file:

    CLTENSOR_FUZZ_EXAMPLES=12000 python -m pytest -q tests/test_fuzz.py

(see docs/fuzzing.md).
"""
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import cltensor as ct

import opinfo
from cltensor import _device as dv
from _host import host

# ---------------------------------------------------------------- settings

_TOTAL = int(os.environ.get("CLTENSOR_FUZZ_EXAMPLES", "0") or 0)
_N_TESTS = 8


def fuzz(ci_examples):
    n = max(ci_examples, _TOTAL // _N_TESTS) if _TOTAL else ci_examples
    return settings(max_examples=n, deadline=None, derandomize=True, database=None, print_blob=True,
                    suppress_health_check=list(HealthCheck))


# ---------------------------------------------------------------- dtypes and PyTorch's promotion rule

BOOL = ["bool"]
UINTS = ["uint8"]
SINTS = ["int8", "int16", "int32", "int64"]
INTS = UINTS + SINTS
# a device without fp64 (real, or CLTENSOR_DEVICE_PROFILE=nofp64...) has no float64/complex128 tensors, as for
# PyTorch users of such devices: those dtypes leave the draw
_rt = dv.runtime(dv.get_default_device())
_FP64 = _rt is None or _rt.info.fp64
FLOATS = ["float16", "float32"] + (["float64"] if _FP64 else [])
COMPLEX = ["complex64"] + (["complex128"] if _FP64 else [])
ALL = BOOL + INTS + FLOATS + COMPLEX
REAL = BOOL + INTS + FLOATS


def cat(name):
    return 0 if name == "bool" else 1 if name in INTS else 2 if name in ("float16", "float32", "float64") else 3


def to_complex(name):
    return {"float16": "complex32", "float32": "complex64", "float64": "complex128"}[name]


def promote_types(a, b):
    """PyTorch's promoteTypes for the dtypes above."""
    if a == b:
        return a
    ca, cb = cat(a), cat(b)
    if ca != cb:
        hi, lo = (a, b) if ca > cb else (b, a)
        if cat(hi) == 3 and cat(lo) == 2:
            return hi if np.dtype(hi).itemsize >= 2 * np.dtype(lo).itemsize else to_complex(lo)
        return hi
    if ca == 1:
        return np.promote_types(a, b).name       # uint8 + int8 -> int16 as in PyTorch
    return a if np.dtype(a).itemsize >= np.dtype(b).itemsize else b


def _combine(higher, lower):
    """PyTorch's combine_categories (None = undefined)."""
    if higher is not None and cat(higher) == 3:
        return higher
    if lower is not None and cat(lower) == 3:
        return to_complex(higher) if higher is not None and cat(higher) == 2 else lower
    if higher is not None and cat(higher) == 2:
        return higher
    if higher == "bool" or (lower is not None and cat(lower) == 2):
        if higher is None:
            return lower
        if lower is None:
            return higher
        return promote_types(higher, lower)
    return higher if higher is not None else lower


def result_type(operands):
    """torch.result_type over operands: ("dim", dtype) / ("zero", dtype) tensors and Python scalars."""
    dim = zero = wrapped = None
    fold = lambda acc, d: d if acc is None else promote_types(acc, d)  # noqa: E731
    for o in operands:
        if isinstance(o, tuple):
            if o[0] == "dim":
                dim = fold(dim, o[1])
            else:
                zero = fold(zero, o[1])
        else:
            d = "bool" if isinstance(o, bool) else "int64" if isinstance(o, int) else \
                "float32" if isinstance(o, float) else "complex64"
            wrapped = fold(wrapped, d)
    return _combine(dim, _combine(zero, wrapped))


def test_rule_table_matches_cltensor_result_type():
    """The torch-free rule table above agrees with ct.result_type on every dtype pair and scalar kind."""
    for a in ALL:
        ta = ct.ones(2, dtype=getattr(ct, a))
        za = ct.ones((), dtype=getattr(ct, a))
        for b in ALL:
            tb = ct.ones(2, dtype=getattr(ct, b))
            zb = ct.ones((), dtype=getattr(ct, b))
            for x, y, ops in ((ta, tb, [("dim", a), ("dim", b)]), (ta, zb, [("dim", a), ("zero", b)]),
                              (za, zb, [("zero", a), ("zero", b)])):
                want = result_type(ops)
                if want == "complex32":
                    continue
                assert ct.result_type(x, y) == getattr(ct, want), (a, b, ops)
        for s in (True, 2, 2.5, 1j):
            want = result_type([("dim", a), s])
            if want != "complex32":
                assert ct.result_type(ta, s) == getattr(ct, want), (a, s)


# ---------------------------------------------------------------- values, shapes and strided views

def _values(data, shape, dtype, special=True, lo=-4, hi=4, nonzero=False):
    """A numpy array of `shape` and `dtype`: small integers, random floats with optional NaN/inf/-0."""
    n = int(np.prod(shape)) if shape else 1
    seed = data.draw(st.integers(0, 2 ** 32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        a = rng.integers(0, 2, n).astype(bool)
    elif dtype in INTS:
        lo_ = max(lo, 0) if dtype == "uint8" else lo
        a = rng.integers(lo_, hi + 1, n)
        if nonzero:
            a[a == 0] = 1
        a = a.astype(dtype)
    else:
        real = np.round(rng.standard_normal(n) * 3, 2 if dtype == "float16" else 6)
        if cat(dtype) == 3:
            a = real + 1j * np.round(rng.standard_normal(n) * 3, 6)
        else:
            a = real
            if special and n and data.draw(st.booleans(), label="specials"):
                k = max(1, n // 4)
                pos = rng.integers(0, n, k)
                a[pos] = rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5]), k)
        if nonzero:
            a[a == 0] = 1
        a = a.astype(dtype)
    return a.reshape(shape)


def shapes(min_dims=0, max_dims=4, max_side=5):
    return st.lists(st.integers(0, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


@st.composite
def strided(draw, shape, dtype, expand=True, **kw):
    """(numpy array, cltensor tensor) with equal values of `shape`; the tensor is a view with random layout:
    dims permuted in memory, step slices with offsets, and (optionally) size-1 dims expanded."""
    nd = len(shape)
    perm = draw(st.permutations(range(nd)), label="perm")
    kinds = [draw(st.sampled_from(["c", "s", "e"] if expand and n != 1 else ["c", "s"]), label="kind")
             for n in shape]
    starts = [draw(st.integers(0, 2), label="start") for _ in shape]
    steps = [draw(st.integers(1, 3), label="step") for _ in shape]
    base_shape = []
    for n, k, s0, sp in zip(shape, kinds, starts, steps):
        if k == "e":
            base_shape.append(1)
        elif k == "s":
            base_shape.append(s0 + max(n - 1, 0) * sp + 1)
        else:
            base_shape.append(n)
    mem_shape = tuple(base_shape[p] for p in perm)
    base_np = _values(draw(st.data()), mem_shape, dtype, **kw)
    base_t = ct.tensor(base_np)
    inv = list(np.argsort(perm))
    a, t = base_np.transpose(inv), base_t.permute(*inv) if nd else base_t
    sl = tuple(slice(s0, s0 + n * sp, sp) if k == "s" else slice(None)
               for n, k, s0, sp in zip(shape, kinds, starts, steps))
    a, t = a[sl], t[sl]
    if any(k == "e" for k in kinds):
        a, t = np.broadcast_to(a, shape), t.expand(*shape)
    assert tuple(t.shape) == tuple(shape) and a.shape == tuple(shape)
    return a, t


@st.composite
def broadcast_pair(draw, max_dims=4):
    """Two shapes that broadcast together (size-1 and missing leading dims)."""
    out = draw(shapes(0, max_dims))
    res = []
    for _ in range(2):
        nd = draw(st.integers(0, len(out)))
        sh = tuple(1 if draw(st.booleans()) else n for n in out[len(out) - nd:])
        res.append(sh)
    return res


# ---------------------------------------------------------------- comparison with per-dtype tolerances

RTOL = {"float16": 2e-3, "float32": 2e-5, "float64": 1e-10, "complex64": 2e-5, "complex128": 1e-10}
ATOL = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-12, "complex64": 1e-6, "complex128": 1e-12}


def check(got, want, want_dtype, rtol=None, atol=None, scale=None):
    """got: cltensor result; want: numpy array of values (already cast to want_dtype or not)."""
    assert isinstance(got, ct.Tensor)
    assert got.dtype == getattr(ct, want_dtype), (got.dtype, want_dtype)
    want = np.asarray(want)
    g = host(got)
    assert g.shape == want.shape, (g.shape, want.shape)
    if cat(want_dtype) >= 2:
        with np.errstate(all="ignore"):
            w = want.astype(want_dtype)
        r = RTOL[want_dtype] if rtol is None else rtol
        a = ATOL[want_dtype] if atol is None else atol
        if scale is not None:
            a = a + r * np.asarray(scale, dtype=np.float64)
        for part in ((lambda x: x.real, lambda x: x.imag) if cat(want_dtype) == 3 else (lambda x: x,)):
            gp, wp = part(g).astype(np.float64), part(w).astype(np.float64)
            nan_ok = np.isnan(gp) == np.isnan(wp)
            inf_ok = np.where(np.isinf(wp) | np.isinf(gp), gp == wp, True)
            # a result whose exact value overflows the dtype (for complex: either part) may come out as inf or, for
            # complex products whose partial results overflow, nan (C99 complex multiplication without Annex G)
            fmax = np.finfo(np.dtype(want_dtype).char.lower() if cat(want_dtype) == 3 else want_dtype).max
            with np.errstate(all="ignore"):
                exact = want.astype(np.complex128 if cat(want_dtype) == 3 else np.float64)
                big = np.maximum(np.abs(exact.real), np.abs(exact.imag)) > fmax * 0.99
                close = np.abs(gp - wp) <= a + r * np.abs(wp)
            ok = nan_ok & inf_ok & (close | np.isnan(wp) | np.isinf(wp))
            same_sign = (np.sign(gp) == np.sign(part(exact).real)) | np.isnan(gp) | (cat(want_dtype) == 3)
            ok |= big & same_sign & (~np.isfinite(gp) | (np.abs(gp) >= fmax * 0.98))
            if not ok.all():
                bad = np.argwhere(~ok)[:5]
                raise AssertionError(f"mismatch at {bad.tolist()}: got {gp[tuple(bad.T)]} want {wp[tuple(bad.T)]}")
    else:
        assert (g == want.astype(want_dtype)).all(), f"got\n{g}\nwant\n{want.astype(want_dtype)}"


# ---------------------------------------------------------------- elementwise binary

def _wide(name):
    return "complex128" if cat(name) == 3 else "float64"


def _np_binary(op, x, y, res):
    """numpy reference of PyTorch's op on values x, y (numpy arrays or scalars), result dtype res."""
    calc = promote_types(res, "float64") if op in ("div", "atan2") else res
    if op in ("eq", "ne", "lt", "le", "gt", "ge"):
        calc = None
    with np.errstate(all="ignore"):
        if op in ("add", "sub", "mul", "div", "atan2", "pow") and cat(res) >= 2:
            wx, wy = np.asarray(x).astype(_wide(res)), np.asarray(y).astype(_wide(res))
        elif calc is not None and op not in ("logical_and", "logical_or", "logical_xor"):
            wx, wy = np.asarray(x).astype(calc), np.asarray(y).astype(calc)
        else:
            wx, wy = np.asarray(x), np.asarray(y)
        f = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
             "floor_divide": np.floor_divide, "remainder": np.remainder, "pow": np.power,
             "maximum": np.maximum, "minimum": np.minimum, "atan2": np.arctan2,
             "logical_and": np.logical_and, "logical_or": np.logical_or, "logical_xor": np.logical_xor,
             "bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor}.get(op)
        if f is not None:
            return f(wx, wy)
    return None


COMPARE = [r.name for r in opinfo.rows("binary") if opinfo.rule(r) == "cmp"]     # eq ne lt le gt ge
BINARY = ["add", "sub", "mul", "div", "floor_divide", "remainder", "pow", "maximum", "minimum", "atan2",
          "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor"] + COMPARE


def _binary_dtypes(op):
    if op in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        return BOOL + INTS
    if op in ("floor_divide", "remainder", "maximum", "minimum", "atan2", "lt", "le", "gt", "ge"):
        return REAL
    if op == "pow":
        return INTS + FLOATS
    return ALL


def _compare_ref(op, x, y, common):
    with np.errstate(all="ignore"):
        wx, wy = np.asarray(x).astype(common), np.asarray(y).astype(common)
    return {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
            "ge": np.greater_equal}[op](wx, wy)


@st.composite
def binary_case(draw):
    op = draw(st.sampled_from(BINARY), label="op")
    dts = _binary_dtypes(op)
    da = draw(st.sampled_from(dts), label="dtype a")
    scalar = draw(st.sampled_from([None, None, "int", "float", "bool", "complex"]), label="scalar")
    if op in ("maximum", "minimum", "atan2", "logical_and", "logical_or", "logical_xor"):
        scalar = None           # PyTorch takes tensors only here (TypeError for a Python number)
    if scalar == "complex" and (op not in ("add", "sub", "mul", "div", "eq", "ne") or da == "float16"):
        scalar = None
    if scalar == "bool" and op in ("pow",):
        scalar = None
    if scalar == "float" and op.startswith("bitwise"):
        scalar = None
    db = draw(st.sampled_from(dts), label="dtype b") if scalar is None else None
    if op == "sub" and (da == "bool" or db == "bool" or scalar == "bool"):
        assume(False)
    sa, sb = draw(broadcast_pair())
    zero_dim_b = db is not None and draw(st.booleans()) and draw(st.booleans())
    if zero_dim_b:
        sb = ()
    int_div = op in ("floor_divide", "remainder")
    a_np, a_t = draw(strided(sa, da))
    if scalar is None:
        kw = {}
        if int_div or op == "pow":
            kw = {"nonzero": int_div, "lo": 0 if op == "pow" else -4, "hi": 3 if op == "pow" else 4}
        b_np, b_t = draw(strided(sb, db, **kw))
    else:
        if scalar == "int":
            v = draw(st.integers(0 if op == "pow" else -3, 3))
            if int_div and v == 0:
                v = 2
        elif scalar == "float":
            v = draw(st.sampled_from([-2.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.5]))
        elif scalar == "bool":
            v = draw(st.booleans())
            if int_div:
                v = True
        else:
            v = complex(draw(st.sampled_from([-1.5, 0.0, 2.0])), draw(st.sampled_from([-1.0, 0.5, 1.0])))
        b_np, b_t = v, v
    return op, a_np, a_t, b_np, b_t, da, db, zero_dim_b


@fuzz(300)
@given(binary_case())
def test_fuzz_binary(case):
    op, a_np, a_t, b_np, b_t, da, db, zero_b = case
    ops = [("dim" if a_np.ndim else "zero", da), ("zero" if zero_b or (db and not np.ndim(b_np)) else "dim", db)
           if db else b_np]
    common = result_type(ops)
    assume(common != "complex32")
    int_div = op in ("floor_divide", "remainder")
    if int_div and cat(common) <= 1:
        # integer division by zero raises in PyTorch: a bool/uint divisor cast may still hold 0
        assume(np.all(np.asarray(b_np).astype(common) != 0))
    if op == "pow" and cat(common) <= 1:
        assume(np.all(np.asarray(b_np).astype(common).astype(np.int64) >= 0))
    if op in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        assume(cat(common) <= 1)
    fn = getattr(ct, op)
    if int_div and common == "bool":
        with pytest.raises(RuntimeError, match="not implemented for 'Bool'"):   # as PyTorch
            fn(a_t, b_t)
        return
    got = fn(a_t, b_t)
    if op in COMPARE:
        check(got, _compare_ref(op, a_np, b_np, common), "bool")
        return
    if op.startswith("logical"):
        check(got, _np_binary(op, a_np, b_np, common), "bool")
        return
    res = common
    if op in ("div", "atan2") and cat(common) <= 1:
        res = "float32"
    want = _np_binary(op, a_np, b_np, res)
    kw = {}
    if op in ("floor_divide", "remainder") and cat(res) == 2:
        # x - floor(x / y) * y loses the low bits of huge quotients; compare with a scale of |x|
        kw = {"scale": np.broadcast_to(np.abs(np.asarray(a_np, dtype=np.float64)), want.shape)}
    if op == "pow" and cat(res) >= 2:
        kw = {"rtol": RTOL[res] * 8}
    check(got, want, res, **kw)
    # the in-place form writes through the (possibly strided) first operand when the result fits it
    if op in ("add", "mul", "maximum") and res == da and tuple(np.broadcast_shapes(a_np.shape, np.shape(b_np))) \
            == a_np.shape and 0 not in a_t.stride():
        base = a_t.clone()
        getattr(base, op + "_" if op != "maximum" else "copy_")(b_t if op != "maximum" else ct.maximum(base, b_t))
        check(base, want, res, **kw)


# ---------------------------------------------------------------- elementwise unary

FLOAT_UNARY = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos, "tanh": np.tanh,
               "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "reciprocal": np.reciprocal,
               "rsqrt": lambda x: 1 / np.sqrt(x), "expm1": np.expm1, "log1p": np.log1p, "atan": np.arctan,
               "erf": None}
KEEP_UNARY = {"neg": np.negative, "abs": np.abs, "floor": np.floor, "ceil": np.ceil, "round": np.round,
              "trunc": np.trunc, "sign": lambda x: np.where(np.isnan(x), 0, np.sign(x)),   # PyTorch: sign(nan) = 0
              "square": np.square}
BOOL_UNARY = {"isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite, "logical_not": np.logical_not}
UNARY = sorted(FLOAT_UNARY) + sorted(KEEP_UNARY) + sorted(BOOL_UNARY) + ["bitwise_not"]


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _unary_dtypes(op):
    if op == "bitwise_not":
        return BOOL + INTS
    if op in ("erf", "atan", "floor", "ceil", "round", "trunc", "sign"):
        return REAL if op in ("erf", "atan", "sign") else INTS + FLOATS
    if op in ("neg", "abs"):
        return INTS + FLOATS + COMPLEX
    if op in ("square",):
        return INTS + FLOATS + COMPLEX
    if op in ("expm1", "log1p"):
        return REAL + COMPLEX if op == "expm1" else REAL
    return ALL


@st.composite
def unary_case(draw):
    op = draw(st.sampled_from(UNARY), label="op")
    dt = draw(st.sampled_from(_unary_dtypes(op)), label="dtype")
    shape = draw(shapes(0, 4))
    a_np, a_t = draw(strided(shape, dt))
    return op, dt, a_np, a_t


@fuzz(250)
@given(unary_case())
def test_fuzz_unary(case):
    op, dt, a_np, a_t = case
    got = getattr(ct, op)(a_t)
    with np.errstate(all="ignore"):
        if op in BOOL_UNARY:
            check(got, BOOL_UNARY[op](a_np), "bool")
        elif op == "bitwise_not":
            check(got, np.logical_not(a_np) if dt == "bool" else np.invert(a_np), dt)
        elif op in KEEP_UNARY:
            res = dt
            if op == "abs" and cat(dt) == 3:
                res = {"complex64": "float32", "complex128": "float64"}[dt]
            ref = a_np if (op, dt) == ("sign", "bool") else \
                KEEP_UNARY[op](a_np.astype(_wide(dt)) if cat(dt) >= 2 else a_np)
            check(got, ref, res)
        else:
            res = dt if cat(dt) >= 2 else "float32"
            x = a_np.astype(_wide(res))
            ref = _erf(x) if op == "erf" else FLOAT_UNARY[op](x)
            rtol = RTOL[res] * (4 if cat(res) == 3 else 2)
            check(got, ref, res, rtol=rtol)


# ---------------------------------------------------------------- where / clamp (ternary)

@st.composite
def where_case(draw):
    s1, s2 = draw(broadcast_pair(3))
    s3 = draw(st.sampled_from([s1, s2, ()]))
    da, db = draw(st.sampled_from(REAL)), draw(st.sampled_from(REAL))
    c_np, c_t = draw(strided(s3, "bool"))
    a_np, a_t = draw(strided(s1, da))
    b_np, b_t = draw(strided(s2, db))
    return c_np, c_t, a_np, a_t, b_np, b_t, da, db


@fuzz(120)
@given(where_case())
def test_fuzz_where_clamp(case):
    c_np, c_t, a_np, a_t, b_np, b_t, da, db = case
    res = result_type([("dim" if a_np.ndim else "zero", da), ("dim" if b_np.ndim else "zero", db)])
    got = ct.where(c_t, a_t, b_t)
    check(got, np.where(c_np, a_np.astype(res), b_np.astype(res)), res)
    if da != "bool" and cat(da) == cat(res) and res == da and db != "bool":
        lo = b_t
        got = ct.clamp(a_t, min=lo)
        with np.errstate(all="ignore"):
            w = np.where(np.isnan(a_np.astype(res)) | np.isnan(b_np.astype(res)), np.nan,
                         np.maximum(a_np.astype(res), b_np.astype(res)))
        if np.broadcast_shapes(a_np.shape, b_np.shape) == a_np.shape:
            check(got, np.broadcast_to(w, a_np.shape) if cat(res) >= 2 else np.maximum(a_np, b_np.astype(res)), res)


# ---------------------------------------------------------------- reductions

RED = ["sum", "mean", "amax", "amin", "argmax", "argmin", "prod", "std", "var", "nansum", "logsumexp", "all",
       "any"]


def _red_dtypes(op):
    if op in ("mean", "std", "var", "logsumexp"):
        return FLOATS + (COMPLEX if op in ("mean", "std", "var") else [])
    if op in ("amax", "amin"):
        return REAL
    if op in ("argmax", "argmin"):
        return INTS + FLOATS
    if op == "nansum":
        return INTS + FLOATS
    return ALL


@st.composite
def reduce_case(draw):
    op = draw(st.sampled_from(RED), label="op")
    dt = draw(st.sampled_from(_red_dtypes(op)), label="dtype")
    shape = draw(shapes(0, 4))
    nd = len(shape)
    if op in ("argmax", "argmin", "all", "any", "prod"):
        dim = draw(st.one_of(st.none(), st.integers(-nd, nd - 1) if nd else st.none()))
    else:
        dim = draw(st.one_of(st.none(), st.lists(st.integers(0, nd - 1), unique=True, min_size=1,
                                                 max_size=nd).map(tuple) if nd else st.none(),
                             st.integers(-nd, nd - 1) if nd else st.none()))
    keepdim = draw(st.booleans())
    a_np, a_t = draw(strided(shape, dt, special=op not in ("argmax", "argmin") or draw(st.booleans()),
                             lo=-2 if op == "prod" else -4, hi=2 if op == "prod" else 4))
    return op, dt, a_np, a_t, dim, keepdim


def _axis(dim, nd):
    if dim is None:
        return tuple(range(nd))
    if isinstance(dim, int):
        return (dim % nd,) if nd else ()
    return tuple(d % nd for d in dim)


@pytest.mark.filterwarnings("ignore")
@fuzz(300)
@given(reduce_case())
def test_fuzz_reduce(case):
    op, dt, a_np, a_t, dim, keepdim = case
    nd = a_np.ndim
    axis = _axis(dim, nd)
    n_red = int(np.prod([a_np.shape[d] for d in axis])) if axis else 1
    fn = getattr(ct, op)
    if op in ("argmax", "argmin"):
        args = (a_t,) if dim is None else (a_t, dim)
        kw = {} if dim is None else {"keepdim": keepdim}
    else:
        args = (a_t,) if dim is None and op not in ("logsumexp",) else (a_t, dim) if op == "prod" else (a_t, dim if dim is not None else
                                                                           tuple(range(nd)))
        kw = {} if dim is None and op != "logsumexp" else {"keepdim": keepdim}
    if op in ("amax", "amin", "argmax", "argmin") and n_red == 0 and a_np.size == 0:
        with pytest.raises((IndexError, RuntimeError)):
            fn(*args, **kw)
        return
    got = fn(*args, **kw)
    keep = keepdim and not (dim is None and op not in ("logsumexp",))
    with np.errstate(all="ignore"):
        if op in ("argmax", "argmin"):
            x = a_np.astype(np.float64)
            f = np.argmax if op == "argmax" else np.argmin
            if dim is None:
                want = f(x.reshape(-1)) if x.size else None
                want = np.int64(want)
                keep = False
            else:
                want = f(x, axis=dim % nd if nd else None)
                if keepdim and nd:
                    want = np.expand_dims(want, dim % nd)
            if dim is not None and not nd:
                want = np.int64(0)
            check(got, np.asarray(want, dtype=np.int64), "int64")
            return
        if op in ("all", "any"):
            want = getattr(np, op)(a_np.astype(bool), axis=axis if dim is not None else None,
                                   keepdims=keep)
            check(got, want, "uint8" if dt == "uint8" else "bool")
            return
        res = dt
        if op in ("sum", "prod", "nansum") and cat(dt) <= 1:
            res = "int64"
        if op in ("std", "var") and cat(dt) == 3:
            res = {"complex64": "float32", "complex128": "float64"}[dt]
        x = a_np.astype(_wide(dt)) if cat(dt) >= 2 else a_np.astype(np.int64)
        kd = dict(axis=axis, keepdims=keep)
        scale = None
        if op == "sum":
            want = np.sum(x, **kd)
            scale = np.sum(np.abs(x), **kd) if cat(dt) >= 2 else None
        elif op == "nansum":
            want = np.nansum(x, **kd)
            scale = np.nansum(np.abs(x), **kd) if cat(dt) >= 2 else None
        elif op == "mean":
            want = np.mean(x, **kd)
            scale = np.mean(np.abs(x), **kd)
        elif op == "prod":
            want = np.prod(x, **kd)
            scale = np.prod(np.abs(x), **kd) if cat(dt) >= 2 else None
        elif op in ("amax", "amin"):
            want = (np.max if op == "amax" else np.min)(a_np, **kd)
        elif op in ("std", "var"):
            want = (np.std if op == "std" else np.var)(x, ddof=1, **kd)
            if n_red <= 1:
                want = np.full_like(np.asarray(want, dtype=np.float64), np.nan)
            # the mean's rounding leaves deviations of a few ulps of max|x| (also in PyTorch): std of equal
            # values is ~eps * max|x|, not 0
            eps = np.finfo(np.dtype(res)).eps
            mx = np.max(np.abs(x), **kd, initial=0) if x.size else 0
            atol_sv = 16 * eps * (mx ** 2 if op == "var" else mx)
        else:  # logsumexp
            m = np.max(x, **{**kd, "keepdims": True}, initial=-np.inf)
            m = np.where(np.isfinite(m), m, 0)
            want = np.log(np.sum(np.exp(x - m), **kd)) + (m if keep else np.squeeze(m, axis))
            scale = np.max(np.abs(x), **kd, initial=0) if x.size else None
        rt = RTOL.get(res)
        if rt is not None and n_red > 1:
            rt = rt * 4
            if res == "float16":
                rt = 1e-2
        if op in ("std", "var"):
            check(got, want, res, rtol=rt, atol=ATOL[res] + atol_sv)
        else:
            check(got, want, res, rtol=rt, scale=scale)


# ---------------------------------------------------------------- indexing: getitem / setitem

@st.composite
def basic_index(draw, shape):
    """A basic index tuple (ints, slices with steps, None, Ellipsis) valid for `shape`."""
    nd = len(shape)
    per_dim = []                     # one item per dim (a None may precede it)
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "slice", "full"]))
        if kind == "int" and n > 0:
            it = draw(st.integers(-n, n - 1))
        elif kind == "full":
            it = slice(None)
        else:
            start = draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
            stop = draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
            step = draw(st.one_of(st.none(), st.integers(1, 3)))
            it = slice(start, stop, step)
        per_dim.append([None, it] if draw(st.integers(0, 4)) == 0 else [it])
    head = draw(st.integers(0, nd))
    if draw(st.booleans()):          # items for the first `head` dims, Ellipsis, items for the last `tail` dims
        tail = draw(st.integers(0, nd - head))
        parts = per_dim[:head] + [[Ellipsis]] + (per_dim[nd - tail:] if tail else [])
    else:
        parts = per_dim[:head]
    if draw(st.integers(0, 4)) == 0:
        parts.append([None])
    return tuple(x for p in parts for x in p)


@st.composite
def adv_index(draw, shape):
    """An index tuple with one or two integer tensors (negative values included) or a bool mask, mixed with
    slices; returns (numpy index, cltensor index)."""
    nd = len(shape)
    assume(nd > 0)
    kind = draw(st.sampled_from(["int", "int", "mask"]))
    np_idx, t_idx = [], []
    if kind == "mask":
        d0 = draw(st.integers(0, nd - 1))
        k = draw(st.integers(1, nd - d0))
        for d in range(d0):
            np_idx.append(slice(None))
            t_idx.append(slice(None))
        m = _values(draw(st.data()), shape[d0:d0 + k], "bool")
        np_idx.append(m)
        t_idx.append(ct.tensor(m))
        return tuple(np_idx), tuple(t_idx)
    positions = sorted(draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=min(2, nd), unique=True)))
    ishape = draw(shapes(0, 2, 3))
    for d in range(positions[-1] + 1):
        if d in positions:
            n = shape[d]
            if n == 0:
                ish = ishape if 0 in ishape else ishape + (0,)
                iv = np.zeros(ish, np.int64)
            else:
                sub = ishape if draw(st.booleans()) else tuple(1 if draw(st.booleans()) else s for s in ishape)
                iv = np.random.default_rng(draw(st.integers(0, 999))).integers(-n, n, sub)
                ishape = np.broadcast_shapes(ishape, sub) if d == positions[0] else ishape
            np_idx.append(iv)
            t_idx.append(ct.tensor(iv))
        else:
            sl = draw(st.sampled_from([slice(None), slice(1, None), slice(None, None, 2)]))
            np_idx.append(sl)
            t_idx.append(sl)
    # the index tensors must broadcast together
    try:
        np.broadcast_shapes(*[i.shape for i in np_idx if isinstance(i, np.ndarray)])
    except ValueError:
        assume(False)
    return tuple(np_idx), tuple(t_idx)


@st.composite
def getitem_case(draw):
    dt = draw(st.sampled_from(ALL))
    shape = draw(shapes(0, 4))
    a_np, a_t = draw(strided(shape, dt))
    if draw(st.booleans()):
        idx = draw(basic_index(shape))
        return a_np, a_t, idx, idx, dt
    ni, ti = draw(adv_index(shape))
    return a_np, a_t, ni, ti, dt


def np_index(a, idx):
    """a[idx] as PyTorch indexes: a 0-d integer index tensor acts like a Python int (basic indexing, applied
    first), where numpy would count it as an advanced index. (idx: ints, slices and arrays; no None/Ellipsis
    when it holds arrays.) Returns a view/copy like numpy does."""
    if not any(isinstance(i, np.ndarray) for i in idx):
        return a, idx
    first = tuple(int(i) if isinstance(i, np.ndarray) and i.ndim == 0 and i.dtype != bool else slice(None)
                  for i in idx) + (Ellipsis,)          # Ellipsis: a 0-d view rather than a scalar
    rest = tuple(i for i in idx if not (isinstance(i, np.ndarray) and i.ndim == 0 and i.dtype != bool))
    return a[first], rest


@fuzz(250)
@given(getitem_case())
def test_fuzz_getitem(case):
    a_np, a_t, ni, ti, dt = case
    a1, i1 = np_index(a_np, ni)
    want = a1[i1]
    got = a_t[ti]
    check(got, want, dt)


@st.composite
def setitem_case(draw):
    dt = draw(st.sampled_from(REAL + ["complex64"]))
    shape = draw(shapes(1, 4))
    a_np, a_t = draw(strided(shape, dt, expand=False))
    a_np = a_np.copy()          # writable; the tensor stays a strided view of its own base
    base_t = a_t
    if draw(st.booleans()):
        idx = draw(basic_index(shape))
        ni = ti = idx
    else:
        ni, ti = draw(adv_index(shape))
        # duplicate targets make the written value unspecified (PyTorch and numpy): keep them unique
        a1, i1 = np_index(np.arange(a_np.size).reshape(a_np.shape), ni)
        target = a1[i1]
        assume(len(np.unique(target)) == target.size)
    a1, i1 = np_index(a_np, ni)
    tshape = a1[i1].shape
    vkind = draw(st.sampled_from(["scalar", "tensor", "bcast"]))
    if vkind == "scalar":
        v = draw(st.sampled_from([0, 1, -2])) if dt != "bool" else draw(st.booleans())
        if dt == "uint8":
            v = abs(v)
        return a_np, base_t, ni, ti, v, v, dt
    vshape = tshape if vkind == "tensor" else tuple(1 if draw(st.booleans()) else s for s in tshape)
    if vkind == "bcast" and vshape:
        vshape = vshape[draw(st.integers(0, len(vshape))):]
    vd = draw(st.sampled_from([dt, "float32" if cat(dt) >= 2 else "int64"]))
    v_np, v_t = draw(strided(vshape, vd))
    return a_np, base_t, ni, ti, v_np.astype(dt), v_t, dt


@fuzz(250)
@given(setitem_case())
def test_fuzz_setitem(case):
    a_np, a_t, ni, ti, v_np, v_t, dt = case
    a1, i1 = np_index(a_np, ni)     # a1 is a view of a_np (basic indexing), so the write lands in a_np
    advanced = any(isinstance(i, np.ndarray) for i in i1)
    arrays = [i for i in ni if isinstance(i, np.ndarray)]
    single_mask = len(arrays) == 1 and arrays[0].dtype == bool
    if advanced and isinstance(v_t, ct.Tensor) and v_t.dtype != getattr(ct, dt) and \
            not (single_mask and v_t.numel() == 1):
        # PyTorch's index_put_ wants equal dtypes (no implicit cast, unlike numpy and basic indexing), except
        # for one value through one boolean mask, which PyTorch (CPU) runs as masked_fill_(mask, value.item())
        with pytest.raises(RuntimeError, match="dtypes match"):
            a_t[ti] = v_t
        return
    a1[i1] = v_np
    a_t[ti] = v_t
    check(a_t, a_np, dt)


# ---------------------------------------------------------------- gather / scatter / index_select

@st.composite
def gather_case(draw):
    dt = draw(st.sampled_from(REAL))
    shape = draw(shapes(1, 3, 4))
    nd = len(shape)
    dim = draw(st.integers(-nd, nd - 1))
    d = dim % nd
    a_np, a_t = draw(strided(shape, dt, expand=False))
    ishape = tuple(draw(st.integers(0, 4)) if k == d else draw(st.integers(0, n)) for k, n in enumerate(shape))
    if shape[d] == 0:
        ishape = tuple(0 if k == d else s for k, s in enumerate(ishape))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    idx = rng.integers(0, max(shape[d], 1), ishape).astype(np.int64)
    i_np, i_t = draw(strided(ishape, "int64", expand=False))
    i_t.copy_(ct.tensor(idx))    # keep the strided layout, set the values
    return dt, a_np, a_t, dim, idx, i_t


@fuzz(200)
@given(gather_case(), st.sampled_from(["gather", "scatter", "scatter_add", "index_select", "take_along_dim"]))
def test_fuzz_gather_scatter(case, op):
    dt, a_np, a_t, dim, idx, i_t = case
    nd = a_np.ndim
    d = dim % nd
    sub = tuple(slice(None) if k == d else slice(0, s) for k, s in enumerate(idx.shape))
    if op in ("gather", "take_along_dim"):
        want = np.take_along_axis(a_np[sub], idx, d)
        got = ct.gather(a_t, dim, i_t) if op == "gather" else ct.take_along_dim(a_t, i_t, dim) \
            if idx.shape == tuple(n if k == d else a_np.shape[k] for k, n in enumerate(idx.shape)) else None
        if got is not None:
            check(got, want, dt)
        return
    if op == "index_select":
        flat = idx.reshape(-1)
        want = np.take(a_np, flat, axis=d)
        check(ct.index_select(a_t, dim, ct.tensor(flat)), want, dt)
        return
    # scatter: src of idx's shape; for plain scatter make targets unique along dim (else unspecified)
    rng = np.random.default_rng(int(idx.sum()) + idx.size)
    src = _values_plain(rng, idx.shape, dt)
    out = a_np.copy()
    uniq = idx.copy()
    if op == "scatter":
        n = a_np.shape[d]
        if idx.shape[d] > n:
            return
        for pos in np.ndindex(*[s for k, s in enumerate(idx.shape) if k != d]):
            perm = rng.permutation(n)[:idx.shape[d]] if n else np.zeros(0, np.int64)
            full = list(pos)
            full.insert(d, slice(None))
            uniq[tuple(full)] = perm
    for pos in np.ndindex(*idx.shape):
        tgt = list(pos)
        tgt[d] = uniq[pos]
        if op == "scatter":
            out[tuple(tgt)] = src[pos]
        else:
            out[tuple(tgt)] = out[tuple(tgt)] + src[pos] if dt != "bool" else out[tuple(tgt)] | src[pos]
    fn = ct.scatter if op == "scatter" else ct.scatter_add
    got = fn(a_t, dim, ct.tensor(uniq), ct.tensor(src))
    check(got, out, dt, rtol=RTOL.get(dt, 0) * 4 if dt in FLOATS else None)


def _values_plain(rng, shape, dt):
    if dt == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dt in INTS:
        return rng.integers(0, 5, shape).astype(dt)
    return np.round(rng.standard_normal(shape), 3).astype(dt)


# ---------------------------------------------------------------- matmul

@st.composite
def matmul_case(draw):
    dt = draw(st.sampled_from(["float32", "float32", "float16", "int64", "int32"] + FLOATS[2:]))
    kind = draw(st.sampled_from(["1x1", "1x2", "2x1", "2x2", "2x2", "bxb", "1xb", "bx1", "bx2"]))
    n, k, m = draw(st.integers(0, 9)), draw(st.integers(0, 9)), draw(st.integers(0, 9))
    batch = draw(broadcast_pair(2))
    if draw(st.booleans()):
        n, k, m = draw(st.integers(1, 70)), draw(st.integers(1, 70)), draw(st.integers(1, 70))
    sa = {"1": (k,), "2": (n, k), "b": batch[0] + (n, k)}[kind[0]]
    sb = {"1": (k,), "2": (k, m), "b": batch[1] + (k, m)}[kind[2]]
    a_np, a_t = draw(strided(sa, dt, special=False, lo=-3, hi=3))
    b_np, b_t = draw(strided(sb, dt, special=False, lo=-3, hi=3))
    return dt, a_np, a_t, b_np, b_t


@fuzz(200)
@given(matmul_case())
def test_fuzz_matmul(case):
    dt, a_np, a_t, b_np, b_t = case
    got = ct.matmul(a_t, b_t)
    if dt in INTS:
        want = np.matmul(a_np.astype(np.int64), b_np.astype(np.int64))
        check(got, want, dt)
        return
    x, y = a_np.astype(np.float64), b_np.astype(np.float64)
    want = np.matmul(x, y)
    scale = np.matmul(np.abs(x), np.abs(y))
    check(got, want, dt, rtol=RTOL[dt] * (5 if dt == "float16" else 4), scale=scale)


# ---------------------------------------------------------------- regressions found by the long run

def test_regression_write_into_empty_expanded_view():
    """copy_ into an empty tensor with an expanded (stride 0) dim writes nothing and must not raise."""
    x = ct.zeros(0, 1, 2).expand(0, 3, 2)
    x.copy_(ct.ones(0, 3, 2))
    assert tuple(x.shape) == (0, 3, 2)
    with pytest.raises(RuntimeError, match="single memory location"):
        ct.zeros(1, 2).expand(3, 2).copy_(ct.ones(3, 2))


def test_regression_masked_put_of_one_value_casts():
    """x[mask] = one-element tensor of another dtype is masked_fill_ in PyTorch: cast, no dtype error."""
    x = ct.zeros(2, 2, 2)
    x[ct.ones(2, 2, dtype=ct.bool)] = ct.tensor(3)
    assert x.sum().item() == 24.0
    x[:, ct.tensor([True, False])] = ct.tensor([1])
    assert x[:, 0].sum().item() == 4.0 and x[:, 1].sum().item() == 12.0
    b = ct.zeros(0, 0, 0, 0, dtype=ct.bool)
    b[ct.zeros(0, 0, 0, dtype=ct.bool)] = ct.tensor(3)
    with pytest.raises(RuntimeError, match="dtypes match"):
        x[ct.tensor([0, 1])] = ct.tensor(3)              # integer indices keep PyTorch's dtype check
    with pytest.raises(RuntimeError, match="dtypes match"):
        x[ct.ones(2, dtype=ct.bool)] = ct.tensor([3, 4])  # more than one value too


def test_regression_complex_sqrt_near_the_axes():
    """sqrt of a complex64 near the real axis: the small part is |y| / (2 * large part), not the difference of two
    nearly equal numbers (which lost ~3 digits)."""
    z = np.array([-0.0222 + 1e-4j, 0.0222 - 1e-4j, -3e3 + 1e-3j, 5.0 + 1e-5j, -0.0, 3 + 4j, -3 - 4j],
                 dtype=np.complex64)
    want = np.sqrt(z.astype(np.complex128))
    got = host(ct.sqrt(ct.tensor(z)))
    np.testing.assert_allclose(got.real, want.real, rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(got.imag, want.imag, rtol=1e-6, atol=1e-30)
