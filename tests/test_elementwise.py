"""Elementwise ops against numpy: every op of the table on strided views (transposed, stepped, expanded, offset,
0-d, empty) and broadcast shapes, result dtypes (PyTorch's promotion), in-place forms writing through views, out=,
complex numbers and PyTorch's errors. Optional sweeps against torch itself at the end."""
import itertools
import math
import warnings

import numpy as np
import pytest

import cltensor as ct
from _host import host

import opinfo

rng = np.random.default_rng(0)
NAMES = list(opinfo.ALL)          # every dtype, from the op-info table


def npdt(name):
    return np.bool_ if name == "bool" else np.dtype(name)


def sample(name, shape, lo=-10, hi=10, nonzero=False):
    if name == "bool":
        a = rng.random(shape) > 0.5
    elif name.startswith(("int", "uint")):
        a = rng.integers(0 if name == "uint8" else lo, hi, shape)
        if nonzero:
            a[a == 0] = 3
    elif name.startswith("complex"):
        a = rng.uniform(lo, hi, shape) / 3 + 1j * rng.uniform(lo, hi, shape) / 3
    else:
        a = rng.uniform(lo, hi, shape)
        if nonzero:
            a[np.abs(a) < 0.1] = 0.5
    return np.asarray(a).astype(npdt(name))


def tol(name):
    return dict(rtol=2e-3, atol=2e-3) if name == "float16" else dict(rtol=1e-5, atol=1e-6) \
        if name in ("float32", "complex64") else dict(rtol=1e-12, atol=1e-12)


def check(t, want, dtype=None, **kw):
    want = np.asarray(want)
    if dtype is not None:
        assert t.dtype is dtype, (t.dtype, dtype)
    assert tuple(t.shape) == want.shape, (t.shape, want.shape)
    got = host(t)
    if got.dtype.kind in "fc":
        np.testing.assert_allclose(got, want, equal_nan=True, **(kw or tol(t.dtype.name)))
    else:
        np.testing.assert_array_equal(got, want)


# the same layout applied to a numpy base array and to the tensor holding it: (6, 5) base -> view
LAYOUTS = {
    "contig": lambda x: x[:4, :3],
    "T": lambda x: x[:3, :4].T,                          # (4, 3) transposed
    "step": lambda x: x[1::2, ::2][:, :3],
    "offset": lambda x: x[2:, 2:][:4, :3],
    "expand": lambda x: x[:4, :1].expand(4, 3) if hasattr(x, "expand") else np.broadcast_to(x[:4, :1], (4, 3)),
    "zerod": lambda x: x[1, 2],
    "empty": lambda x: x[:0, :3],
}


def pair(name, layout, **kw):
    base = sample(name, (8, 6), **kw)
    v = LAYOUTS[layout]
    return v(base), v(ct.tensor(base))


# ---------------------------------------------------------------- layouts x dtypes
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_add_and_neg_on_every_layout(name, layout):
    a, x = pair(name, layout)
    b, y = pair(name, "contig" if layout not in ("zerod", "empty") else layout)
    if name == "bool":
        check(x + y, a | b, ct.bool)
        check(~x, ~a, ct.bool)
    else:
        with np.errstate(over="ignore"):
            check(x + y, a + b, getattr(ct, name))
            check(-x, -a, getattr(ct, name))
    check(x.clone(), a)
    check(x.contiguous(), a)


@pytest.mark.parametrize("layout", ["T", "step", "expand", "offset"])
def test_broadcast_shapes_with_views(layout):
    a, x = pair("float32", layout)                           # (4, 3) views
    for other in [(3,), (1, 3), (4, 1), (2, 1, 1), (2, 4, 3), ()]:
        b = sample("float32", other)
        check(x * ct.tensor(b), a * b, ct.float32)
        check(ct.tensor(b) - x, b - a, ct.float32)
    with pytest.raises(RuntimeError, match="The size of tensor a \\(3\\) must match the size of tensor b \\(4\\) at "
                                           "non-singleton dimension 1"):
        x + ct.ones(4)


# ---------------------------------------------------------------- unary ops
def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


_erf = np.vectorize(math.erf)
_erfc = np.vectorize(math.erfc)
def _torch_ref(name):
    def ref(a):
        torch = pytest.importorskip("torch")
        return getattr(torch, name)(torch.from_numpy(np.ascontiguousarray(a))).numpy()
    return ref


# op -> (reference, input range): the float-valued unary rows of the op-info table (tests/opinfo.py)
UNARY = {r.name: (_torch_ref(r.name), r.domain) for r in opinfo.rows("unary", "float32")
         if r.name not in ("conj", "positive") and opinfo.result_kind(r) == "float" and "." not in r.name}


@pytest.mark.parametrize("op", list(UNARY))
def test_unary_float32_on_transposed_input(op):
    ref, (lo, hi) = UNARY[op]
    a, x = pair("float32", "T", lo=lo, hi=hi)
    want = ref(a.astype(np.float64)).astype(np.float32)
    check(getattr(ct, op)(x), want, ct.float32, rtol=2e-5, atol=2e-6)
    check(getattr(x, op)(), want, ct.float32, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("op", ["exp", "log1p", "sqrt", "sin", "tanh", "sigmoid", "erf", "round", "frac", "atan"])
def test_unary_float64_and_float16(op, has_fp64):
    ref, (lo, hi) = UNARY[op]
    a = sample("float64", (5, 7), lo=lo, hi=hi)
    if has_fp64:
        check(getattr(ct, op)(ct.tensor(a)), ref(a), ct.float64, rtol=1e-13, atol=1e-14)
    h = a.astype(np.float16)
    check(getattr(ct, op)(ct.tensor(h)[:, ::2]), ref(h[:, ::2].astype(np.float32)).astype(np.float16), ct.float16,
          rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("name", ["bool", "uint8", "int64"])
def test_unary_on_integer_inputs(name):
    a = sample(name, (3, 4), lo=1, hi=9)
    x = ct.tensor(a)
    af = a.astype(np.float64)
    check(x.exp(), np.exp(af).astype(np.float32), ct.float32, rtol=1e-6)            # ints compute in float
    check(x.sqrt(), np.sqrt(af).astype(np.float32), ct.float32)
    check(x.sigmoid(), _sigmoid(af).astype(np.float32), ct.float32)
    with np.errstate(divide="ignore"):
        check(x.reciprocal(), (1 / af).astype(np.float32), ct.float32)
    check(ct.square(x), np.square(a.astype(np.int64)) if name == "bool" else np.square(a),
          ct.int64 if name == "bool" else x.dtype)
    check(x.isnan(), np.zeros(a.shape, bool), ct.bool)
    check(x.isfinite(), np.ones(a.shape, bool), ct.bool)
    check(x.sign(), a if name == "bool" else np.sign(a), x.dtype)
    if name != "bool":
        check(x.abs(), np.abs(a), x.dtype)
        check(x.floor(), a, x.dtype)
        check(x.relu(), np.maximum(a, 0), x.dtype)
        check(-x, -a, x.dtype)


def test_predicates_and_nan_handling():
    a = np.array([1.0, -np.inf, np.inf, np.nan, 0.0, -2.5], np.float32)
    x = ct.tensor(a)
    check(x.isnan(), np.isnan(a), ct.bool)
    check(x.isinf(), np.isinf(a), ct.bool)
    check(x.isfinite(), np.isfinite(a), ct.bool)
    check(x.isposinf(), np.isposinf(a), ct.bool)
    check(x.isneginf(), np.isneginf(a), ct.bool)
    check(x.signbit(), np.signbit(a), ct.bool)
    check(x.sign(), [1, -1, 1, 0, 0, -1], ct.float32)                 # sign(nan) = 0 as PyTorch
    check(x.relu(), [1, 0, np.inf, np.nan, 0, 0])                      # relu keeps nan
    check(ct.maximum(x, ct.zeros(6)), np.maximum(a, 0))                # nan propagates
    check(ct.fmax(x, ct.zeros(6)), np.fmax(a, 0))                      # nan ignored
    check(ct.minimum(x, ct.zeros(6)), np.minimum(a, 0))
    check(ct.fmin(x, ct.zeros(6)), np.fmin(a, 0))
    f = np.finfo(np.float32)
    check(ct.nan_to_num(x), [1, f.min, f.max, 0, 0, -2.5])
    check(x.nan_to_num(nan=1.0, posinf=2.0, neginf=-2.0), [1, -2, 2, 1, 0, -2.5])
    y = x.clone()
    y.nan_to_num_(nan=7.0)
    check(y, [1, f.min, f.max, 7, 0, -2.5])
    h = ct.tensor(a.astype(np.float16))
    check(h.nan_to_num(), np.nan_to_num(a.astype(np.float16)), ct.float16)
    check(ct.nan_to_num(ct.tensor([1, 2])), [1, 2], ct.int64)
    check(ct.nan_to_num(ct.tensor([complex(np.nan, np.inf)])), [complex(0, np.finfo(np.float32).max)])


# ---------------------------------------------------------------- binary ops
BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide, "true_divide": np.true_divide,
    "floor_divide": np.floor_divide, "remainder": np.remainder, "fmod": np.fmod, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum, "fmax": np.fmax, "fmin": np.fmin, "eq": np.equal,
    "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
    "logical_and": np.logical_and, "logical_or": np.logical_or, "logical_xor": np.logical_xor,
    "atan2": np.arctan2, "hypot": np.hypot, "copysign": np.copysign,
}


@pytest.mark.parametrize("op", list(BINARY))
def test_binary_float32_broadcast(op):
    a = sample("float32", (3, 4), lo=0.5 if op == "pow" else -9, hi=4 if op == "pow" else 9)
    b = sample("float32", (4,), lo=-3, hi=3, nonzero=True)
    x = ct.tensor(a).T.contiguous().T                          # a strided (transposed) operand
    want = BINARY[op](a.astype(np.float64), b.astype(np.float64))
    r = getattr(ct, op)(x, ct.tensor(b))
    check(r, want if want.dtype == bool else want.astype(np.float32), rtol=2e-5, atol=2e-5)


INT_BINARY = ["add", "sub", "mul", "floor_divide", "remainder", "fmod", "pow", "maximum", "minimum", "eq", "lt",
              "ge", "logical_and", "logical_xor"]


@pytest.mark.parametrize("name", ["int64", "uint8"])
@pytest.mark.parametrize("op", INT_BINARY)
def test_binary_integers(op, name):
    a = sample(name, (3, 4), lo=-20, hi=20)
    b = sample(name, (3, 1), lo=-5, hi=6, nonzero=True) if op != "pow" else sample(name, (3, 1), lo=0, hi=4)
    with np.errstate(over="ignore"):
        want = BINARY[op](a, b)
    check(getattr(ct, op)(ct.tensor(a), ct.tensor(b)), want, ct.bool if want.dtype == bool else getattr(ct, name))


def test_integer_division_semantics():
    a = ct.tensor([7, -7, 7, -7, 0])
    b = ct.tensor([2, 2, -2, -2, 3])
    check(a // b, [3, -4, -4, 3, 0], ct.int64)
    check(a % b, [1, 1, -1, -1, 0], ct.int64)
    check(ct.fmod(a, b), [1, -1, 1, -1, 0], ct.int64)
    check(ct.div(a, b, rounding_mode="trunc"), [3, -3, -3, 3, 0], ct.int64)
    check(ct.div(a, b, rounding_mode="floor"), [3, -4, -4, 3, 0], ct.int64)
    check(ct.div(a, b), [3.5, -3.5, -3.5, 3.5, 0], ct.float32)
    check(a / 2, [3.5, -3.5, 3.5, -3.5, 0], ct.float32)
    f = ct.tensor([5.5, -5.5])
    check(f % -3, np.remainder([5.5, -5.5], -3))
    check(f // -3, np.floor_divide([5.5, -5.5], -3))
    check(ct.fmod(f, -3), np.fmod([5.5, -5.5], -3))
    check(ct.div(f, 2, rounding_mode="trunc"), [2, -2])
    check(ct.tensor([1.5, -1.5, 0.0]) // 0, [np.inf, -np.inf, np.nan])
    check(ct.tensor([1.5]) % 0, [np.nan])
    with pytest.raises(RuntimeError, match="rounding_mode"):
        ct.div(a, b, rounding_mode="bad")


@pytest.mark.parametrize("fn", [lambda a: a // 0, lambda a: a % 0, lambda a: ct.fmod(a, 0),
                                lambda a: ct.div(a, 0, rounding_mode="trunc"), lambda a: a // ct.tensor([1, 0]),
                                lambda a: 5 % ct.tensor([2, 0]), lambda a: a.remainder_(ct.tensor([0, 1])),
                                lambda a: a.floor_divide_(0), lambda a: ct.tensor([1], dtype=ct.uint8) // False])
def test_integer_division_by_zero_raises(fn):
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        fn(ct.tensor([4, 5]))


def test_bitwise_and_shifts():
    a = sample("int32", (3, 4), lo=0, hi=100)
    b = sample("int32", (4,), lo=0, hi=100)
    x, y = ct.tensor(a), ct.tensor(b)
    check(x & y, a & b, ct.int32)
    check(x | y, a | b, ct.int32)
    check(x ^ y, a ^ b, ct.int32)
    check(~x, ~a, ct.int32)
    check(x & 7, a & 7, ct.int32)
    check(6 | x, 6 | a, ct.int32)
    check(x << 3, a << 3, ct.int32)
    check(x >> 2, a >> 2, ct.int32)
    check(3 << ct.tensor([1, 2]), [6, 12], ct.int64)
    check(64 >> ct.tensor([1, 2]), [32, 16], ct.int64)
    check(ct.tensor([1, 2]) << ct.tensor([70, -1]), [0, 0])
    check(ct.tensor([-8, 2]) >> ct.tensor([70, 1]), [-1, 1])
    check(ct.tensor([1], dtype=ct.int8) << 7, [-128], ct.int8)
    check(~ct.tensor([1, 2], dtype=ct.uint8), [254, 253], ct.uint8)
    t, f = ct.tensor([True, False, True]), ct.tensor([True, True, False])
    check(t & f, [True, False, False], ct.bool)
    check(t | f, [True, True, True], ct.bool)
    check(t ^ True, [False, True, False], ct.bool)
    check(~t, [False, True, False], ct.bool)
    check(ct.logical_not(ct.tensor([0.0, 2.0])), [True, False], ct.bool)
    check(ct.logical_and(ct.tensor([1.0, 0]), ct.tensor([2, 3])), [True, False], ct.bool)
    for fn in (lambda: ct.tensor([1.0]) & 1, lambda: ~ct.tensor([1.0]), lambda: ct.tensor([1, 2]) << 1.5):
        with pytest.raises(NotImplementedError, match="not implemented for 'Float'"):
            fn()


def test_comparisons_and_scalars():
    a = sample("float32", (3, 4))
    x = ct.tensor(a)
    for op, ref in ((x.__lt__, np.less), (x.__le__, np.less_equal), (x.__gt__, np.greater),
                    (x.__ge__, np.greater_equal), (x.__eq__, np.equal), (x.__ne__, np.not_equal)):
        check(op(0.5), ref(a, np.float32(0.5)), ct.bool)
        check(op(ct.tensor(a[0])), ref(a, a[0]), ct.bool)
    check(2 < ct.tensor([1, 2, 3]), [False, False, True], ct.bool)
    check(ct.tensor([1, 2]) == 1.0, [True, False], ct.bool)
    check(ct.eq(ct.tensor([1, 2]), ct.tensor([[1], [2]])), [[True, False], [False, True]], ct.bool)
    check(ct.tensor([1 + 1j, 2]) == ct.tensor([1 + 1j, 2 + 1j]), [True, False], ct.bool)
    assert (ct.tensor([1, 2]) == None) is False and (ct.tensor([1, 2]) != "a") is True   # noqa: E711
    with pytest.raises(NotImplementedError, match="lt_cpu"):
        ct.tensor([1j]) < ct.tensor([1j])


def test_reflected_operators_and_scalars():
    a = sample("float32", (2, 3), lo=0.5, hi=3)
    x = ct.tensor(a)
    for got, want in ((2 - x, 2 - a), (1 / x, 1 / a), (2 ** x, 2 ** a), (x ** 2, a ** 2), (3 + x, 3 + a),
                      (3 * x, 3 * a), (5 // x, 5 // a), (5 % x, 5 % a), (x ** 0.5, np.sqrt(a)), (-x, -a),
                      (abs(-x), a), (+x, a), (x / ct.tensor(2), a / 2), (x.rsub(1), 1 - a)):
        check(got, want.astype(np.float32), ct.float32, rtol=2e-6)
    i = ct.tensor([1, 2, 3])
    check(i ** 2, [1, 4, 9], ct.int64)
    check(2 ** i, [2, 4, 8], ct.int64)
    check(2.5 ** i, 2.5 ** np.array([1, 2, 3]), ct.float32)
    check(i ** 0.5, np.sqrt([1, 2, 3]), ct.float32)
    check(i.pow(ct.tensor([-1, 2, 0])), [1, 4, 1], ct.int64)
    check(ct.tensor([0, 2, 3]).pow(ct.tensor([-1, 2, 0])), [0, 4, 1], ct.int64)
    check(ct.tensor([True, False]) ** 2, [1, 0], ct.int64)
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed."):
        i ** -1
    with pytest.raises(NotImplementedError, match="\"pow\" not implemented for 'Bool'"):
        ct.tensor([True]) ** ct.tensor([True])
    check(ct.tensor([1, 2], dtype=ct.int8) + 1000, [-23, -22], ct.int8)    # wraps around in int8
    check(ct.tensor([100, 2], dtype=ct.int8) * 2, [-56, 4], ct.int8)
    check(ct.tensor([7], dtype=ct.uint8) - 9, [254], ct.uint8)
    check(ct.tensor([2 ** 62]) * 4, [0], ct.int64)


def test_add_sub_alpha():
    a, b = sample("float32", (2, 3)), sample("float32", (3,))
    check(ct.add(ct.tensor(a), ct.tensor(b), alpha=2.5), a + 2.5 * b)
    check(ct.sub(ct.tensor(a), ct.tensor(b), alpha=-2), a + 2 * b)
    check(ct.add(ct.tensor([1, 2]), ct.tensor([1, 2]), alpha=3), [4, 8], ct.int64)
    check(ct.add(ct.tensor([1, 2]), 1, alpha=3), [4, 5], ct.int64)
    check(ct.add(ct.tensor([True]), ct.tensor([False]), alpha=True), [True], ct.bool)
    check(ct.add(ct.tensor([1 + 1j]), ct.tensor([1j]), alpha=2j), [-1 + 1j])
    x = ct.tensor(a.copy())
    x.add_(ct.tensor(b), alpha=-0.5)
    check(x, a - 0.5 * b)
    x.sub_(1, alpha=2)
    check(x, a - 0.5 * b - 2)
    for fn, msg in ((lambda: ct.add(ct.tensor([1, 2]), ct.tensor([1, 2]), alpha=0.5), "must not be a floating point"),
                    (lambda: ct.add(ct.tensor([1, 2]), 1, alpha=True), "Boolean alpha only supported"),
                    (lambda: ct.add(ct.tensor([1.0]), 1, alpha=1j), "must not be a complex number")):
        with pytest.raises(RuntimeError, match=msg):
            fn()


def test_clamp():
    a = sample("float32", (3, 4))
    x = ct.tensor(a)
    check(x.clamp(-1, 2), np.clip(a, -1, 2), ct.float32)
    check(x.clamp(min=0.5), np.maximum(a, 0.5))
    check(ct.clip(x, max=0.5), np.minimum(a, 0.5))
    lo, hi = sample("float32", (4,)), sample("float32", (3, 1)) + 5
    check(ct.clamp(x, ct.tensor(lo), ct.tensor(hi)), np.minimum(np.maximum(a, lo), hi))
    check(ct.clamp(x, min=ct.tensor(lo)), np.maximum(a, lo))
    check(ct.clamp(ct.tensor([1, 2, 3]), 0.5, 2.5), [1, 2, 2.5], ct.float32)       # promotes
    check(ct.clamp(ct.tensor([1, 2, 3]), max=2), [1, 2, 2], ct.int64)
    check(ct.clamp(ct.tensor([1, 5, 3]), 2, 1), [1, 1, 1])                          # max wins when min > max
    check(ct.clamp(ct.tensor([np.nan, 2, 3]), 0, 1), [np.nan, 1, 1])
    y = x.T.clone()
    y.clamp_(0, 1)
    check(y, np.clip(a.T, 0, 1))
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
        x.clamp()
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        ct.tensor([1, 2, 3]).clamp_(0.5, 2.5)
    with pytest.raises((RuntimeError, NotImplementedError)):
        ct.tensor([1j]).clamp(0)


def test_lerp_where_masked_fill():
    a, b = sample("float32", (3, 4)), sample("float32", (4,))
    for w in (0.3, 0.7, sample("float32", (3, 4), lo=0, hi=1)):
        want = a + (w if np.isscalar(w) else w) * (b - a)
        check(ct.lerp(ct.tensor(a), ct.tensor(b), w if np.isscalar(w) else ct.tensor(w)), want, ct.float32)
    x = ct.tensor(a)
    x.lerp_(ct.tensor(b), 0.5)
    check(x, (a + b) / 2)
    with pytest.raises(NotImplementedError):
        ct.lerp(ct.tensor([1, 2]), ct.tensor([3, 5]), 0.3)
    with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double"):
        ct.lerp(ct.tensor([1.0]), ct.tensor([2.0], dtype=ct.float64), 0.5)
    c = a > 0
    check(ct.where(ct.tensor(c), ct.tensor(a), ct.tensor(b)), np.where(c, a, b), ct.float32)
    check(ct.where(ct.tensor(c), ct.tensor(a), 0.0), np.where(c, a, 0), ct.float32)
    check(ct.where(ct.tensor(c), 1, 0), np.where(c, 1, 0), ct.int64)
    check(ct.where(ct.tensor(c), 1.0, 0), np.where(c, 1.0, 0), ct.float32)
    check(ct.where(ct.tensor([True, False]), ct.tensor([1, 2], dtype=ct.int32), 2.5), [1, 2.5], ct.float32)
    check(ct.where(ct.tensor([True, False]), ct.tensor([1, 2]), 5), [1, 5], ct.int64)
    check(ct.where(ct.tensor(c).T, ct.tensor(a).T, ct.tensor(b)[:, None]), np.where(c.T, a.T, b[:, None]))
    check(ct.tensor(a).where(ct.tensor(c), -1.0), np.where(c, a, -1))
    check(ct.tensor([1.0, 2, 3]).masked_fill(ct.tensor([True, False, True]), 0), [0, 2, 0], ct.float32)
    check(ct.tensor([1, 2, 3]).masked_fill(ct.tensor([True, False, True]), 0.5), [0, 2, 0], ct.int64)
    check(ct.tensor([1.0, 2, 3]).masked_fill(ct.tensor([True, False, True]), ct.tensor(9.0)), [9, 2, 9])
    m = ct.tensor(a)
    m.T.masked_fill_(ct.tensor(c).T, -1)
    check(m, np.where(c, -1, a))
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks, but got mask with dtype long"):
        ct.tensor([1.0, 2]).masked_fill(ct.tensor([1, 0]), 0)
    with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
        ct.tensor([1.0, 2]).masked_fill(ct.tensor([True, False]), ct.tensor([1.0]))
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor"):
        ct.where(ct.tensor([1.5]), 1, 0)


# ---------------------------------------------------------------- promotion with values
@pytest.mark.parametrize("p, q", [("int32", "int64"), ("uint8", "int8"), ("int16", "float16"), ("bool", "int8"),
                                  ("float16", "float32"), ("int64", "float64"), ("float32", "complex64"),
                                  ("float64", "complex64"), ("uint8", "bool"), ("int8", "complex128")])
def test_mixed_dtype_values(p, q):
    a, b = sample(p, (2, 3), lo=-4, hi=4), sample(q, (3,), lo=-4, hi=4, nonzero=True)
    want_dt = ct.promote_types(getattr(ct, p), getattr(ct, q))
    with np.errstate(all="ignore"):
        ref = (a.astype(want_dt.np) if p != "bool" or want_dt is not ct.bool else a)
        refb = (b.astype(want_dt.np) if q != "bool" or want_dt is not ct.bool else b)
        check(ct.tensor(a) * ct.tensor(b), ref * refb if want_dt is not ct.bool else a & b, want_dt)
        check(ct.tensor(a) == ct.tensor(b), ref == refb, ct.bool)
    r = ct.tensor(a) / ct.tensor(b)
    assert r.dtype is (want_dt if want_dt.category >= 2 else ct.float32)


# ---------------------------------------------------------------- in-place, out=
INPLACE = [("add_", np.add), ("sub_", np.subtract), ("mul_", np.multiply), ("div_", np.true_divide),
           ("pow_", np.power), ("maximum_", np.maximum), ("atan2_", np.arctan2), ("remainder_", np.remainder),
           ("fmod_", np.fmod), ("copysign_", np.copysign), ("hypot_", np.hypot)]


@pytest.mark.parametrize("meth, ref", INPLACE, ids=[m for m, _ in INPLACE])
def test_binary_inplace_through_a_view(meth, ref):
    base = sample("float32", (4, 6), lo=0.5, hi=3)
    b = sample("float32", (3,), lo=0.5, hi=2)
    t = ct.tensor(base)
    v = t[::2, 1::2]                                        # (2, 3) stepped view
    r = getattr(v, meth)(ct.tensor(b))
    assert r is v
    want = base.copy()
    want[::2, 1::2] = ref(base[::2, 1::2], b)
    check(t, want, rtol=2e-6)


UNARY_INPLACE = [r.name + "_" for r in opinfo.rows("unary", "float32", inplace=True)     # the op-info table
                 if opinfo.result_kind(r) == "float"]


@pytest.mark.parametrize("meth", UNARY_INPLACE)
def test_unary_inplace_writes_into_base(meth):
    base = sample("float32", (3, 4), lo=0.5, hi=3)
    t = ct.tensor(base)
    getattr(t.T, meth)()
    want = host(getattr(ct.tensor(base), meth[:-1])())
    check(t, want)


@pytest.mark.fp64
def test_inplace_operators_and_casts():
    x = ct.tensor([1, 2])
    x += 1
    check(x, [2, 3], ct.int64)
    x *= 2
    check(x, [4, 6], ct.int64)
    x -= ct.tensor([1, 1])
    x //= 2
    check(x, [1, 2], ct.int64)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        x += 1.5
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        x /= 2
    with pytest.raises(RuntimeError, match="result type ComplexFloat can't be cast to the desired output type Float"):
        ct.tensor([1.0]).add_(1 + 2j)
    with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired output type Bool"):
        ct.tensor([True]).add_(1)
    f = ct.tensor([1.0, 2.0])
    f += ct.tensor([1, 2])                                   # int into float: fine
    f /= 2
    check(f, [1.0, 2.0], ct.float32)
    i32 = ct.tensor([1, 2], dtype=ct.int32)
    i32 += ct.tensor([1, 2])                                 # int64 into int32: same category, allowed
    check(i32, [2, 4], ct.int32)
    h = ct.tensor([1.0, 2.0], dtype=ct.float16)
    h *= ct.tensor([1.5, 2.5], dtype=ct.float64)
    check(h, [1.5, 5.0], ct.float16)
    with pytest.raises(RuntimeError, match="output with shape \\[3\\] doesn't match the broadcast shape \\[2, 3\\]"):
        ct.zeros(3).add_(ct.ones(2, 3))
    b = ct.tensor([1, 2, 3])
    b.eq_(ct.tensor([1, 0, 3]))                              # comparison in place: stored as 0/1
    check(b, [1, 0, 1], ct.int64)
    z = ct.tensor([[1.0, 2.0]])
    z.T.zero_()
    check(z, [[0, 0]])
    z.fill_(3.7)
    check(z, [[3.7, 3.7]])
    k = ct.tensor([1, 2])
    k.fill_(3.7)
    check(k, [3, 3], ct.int64)
    k.fill_(ct.tensor(5))
    check(k, [5, 5])
    with pytest.raises(RuntimeError, match="fill_ only supports 0-dimension value tensor"):
        k.fill_(ct.tensor([1]))


@pytest.mark.fp64
def test_copy_():
    x = ct.zeros(2, 3)
    x.copy_(ct.tensor([1, 2, 3]))                            # broadcast + cast
    check(x, [[1, 2, 3], [1, 2, 3]])
    x.T.copy_(ct.tensor(np.arange(6.0).reshape(3, 2)))
    check(x, np.arange(6.0).reshape(3, 2).T)
    y = ct.zeros(2, 3, dtype=ct.int32)
    y.copy_(ct.tensor([1.7, -2.7, 3]))
    check(y, [[1, -2, 3], [1, -2, 3]], ct.int32)
    with pytest.raises(RuntimeError, match="The size of tensor a \\(2\\) must match the size of tensor b \\(3\\)"):
        x.copy_(ct.ones(3, 3))
    with pytest.raises(RuntimeError, match="output with shape \\[2, 3\\] doesn't match the broadcast shape "
                                           "\\[1, 2, 3\\]"):
        x.copy_(ct.ones(1, 2, 3))
    c = ct.zeros(2, dtype=ct.complex64)
    c.copy_(ct.tensor([1.0, 2.0]))
    check(c, [1, 2], ct.complex64)
    r = ct.zeros(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r.copy_(ct.tensor([1 + 1j, 2 - 1j]))                 # complex -> real keeps the real part
    check(r, [1, 2])


@pytest.mark.fp64
def test_out_argument():
    a, b = sample("float32", (2, 3)), sample("float32", (3,))
    o = ct.empty(2, 3)
    r = ct.add(ct.tensor(a), ct.tensor(b), out=o)
    assert r is o
    check(o, a + b)
    d = ct.empty(2, 3, dtype=ct.float64)
    ct.mul(ct.tensor(a), ct.tensor(b), out=d)
    check(d, a.astype(np.float64) * b.astype(np.float32), ct.float64, rtol=1e-6)
    t = ct.zeros(3, 2)
    ct.sub(ct.tensor(a), 1, out=t.T)                          # a strided out
    check(t, (a - 1).T)
    e = ct.empty(0)
    ct.exp(ct.tensor(b), out=e)                               # an empty out is resized
    check(e, np.exp(b))
    m = ct.empty(3, dtype=ct.bool)
    ct.eq(ct.tensor(b), float(b[0]), out=m)
    check(m, b == b[0], ct.bool)
    ct.where(ct.tensor([True, False, True]), ct.tensor(b), 0.0, out=e)
    check(e, np.where([True, False, True], b, 0))
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        ct.add(ct.tensor(a), 1, out=ct.empty(2, 3, dtype=ct.int64))
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        ct.add(ct.tensor(a), 1, out=ct.empty(3).expand(2, 3))


# ---------------------------------------------------------------- complex
@pytest.mark.fp64
def test_complex_arithmetic_and_parts():
    a, b = sample("complex64", (2, 3)), sample("complex64", (3,), nonzero=True)
    x, y = ct.tensor(a), ct.tensor(b)
    check(x + y, a + b, ct.complex64)
    check(x - y, a - b)
    check(x * y, a * b)
    check(x / y, a / b, rtol=1e-5, atol=1e-6)
    check(x * 2.5, a * 2.5, ct.complex64)
    check(x + 1j, a + 1j, ct.complex64)
    check(ct.tensor([1.0, 2.0]) * 1j, [1j, 2j], ct.complex64)
    check(x.abs(), np.abs(a), ct.float32)
    check(x.angle(), np.angle(a), ct.float32)
    check(x.real, a.real, ct.float32)
    check(x.imag, a.imag, ct.float32)
    check(x.conj(), np.conj(a), ct.complex64)
    check(ct.conj(x.T), np.conj(a.T))
    check(x.sgn(), a / np.abs(a))
    check(ct.real(ct.tensor([1.0, 2.0])), [1.0, 2.0])
    check(ct.tensor([1.0, -2.0]).angle(), [0, np.pi], ct.float32)
    check(ct.tensor([1, -2]).angle(), [0, np.pi], ct.float32)
    z = ct.tensor(a)
    z.real.mul_(2)                                            # writes through the real view
    check(z, a.real * 2 + 1j * a.imag)
    z.imag = ct.tensor([5.0, 6.0, 7.0])
    check(z.imag, [[5, 6, 7], [5, 6, 7]])
    with pytest.raises(RuntimeError, match="imag is not implemented for tensors with non-complex dtypes"):
        ct.tensor([1.0]).imag
    c = ct.tensor(sample("complex128", (3,)))
    check(c.abs(), np.abs(host(c)), ct.float64)
    check(c * c.conj(), np.abs(host(c)) ** 2 + 0j, ct.complex128)


COMPLEX_UNARY = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos, "tan": np.tan,
                 "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "asin": np.arcsin, "acos": np.arccos,
                 "atan": np.arctan, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
                 "exp2": np.exp2, "log2": np.log2, "log10": np.log10, "expm1": np.expm1, "log1p": np.log1p,
                 "reciprocal": np.reciprocal, "square": np.square, "rsqrt": lambda z: 1 / np.sqrt(z),
                 "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "neg": np.negative}


@pytest.mark.parametrize("op", list(COMPLEX_UNARY))
@pytest.mark.fp64
def test_complex_unary(op):
    a = sample("complex128", (6,), lo=-6, hi=6)
    check(getattr(ct, op)(ct.tensor(a)), COMPLEX_UNARY[op](a), ct.complex128, rtol=1e-9, atol=1e-12)


def test_complex_pow_and_errors():
    a, b = sample("complex64", (5,)), sample("complex64", (5,))
    check(ct.tensor(a) ** ct.tensor(b), a ** b, rtol=1e-4, atol=1e-5)
    check(ct.tensor(a) ** 2, a ** 2, rtol=1e-5, atol=1e-5)
    check(ct.tensor([0j, 0j]) ** ct.tensor([2 + 0j, 0j]), [0, 1])
    for fn, exc in ((lambda: ct.tensor([1j]).floor(), NotImplementedError), (lambda: ct.tensor([1j]).sign(),
                                                                              NotImplementedError),
                    (lambda: ct.maximum(ct.tensor([1j]), ct.tensor([1j])), RuntimeError),
                    (lambda: ct.tensor([1j]) % 2, NotImplementedError), (lambda: ct.tensor([1j]).erf(),
                                                                          NotImplementedError),
                    (lambda: ct.tensor([1j]).relu(), NotImplementedError)):
        with pytest.raises(exc):
            fn()


# ---------------------------------------------------------------- errors on bool and friends
@pytest.mark.parametrize("fn, exc, match", [
    (lambda b: -b, RuntimeError, "Negation, the `-` operator, on a bool tensor is not supported"),
    (lambda b: +b, RuntimeError, "The `\\+` operator, on a bool tensor is not supported"),
    (lambda b: b - 1, RuntimeError, "Subtraction, the `-` operator, with a bool tensor is not supported"),
    (lambda b: 1 - b, RuntimeError, "Subtraction, the `-` operator, with a bool tensor is not supported"),
    (lambda b: b - b, RuntimeError, "with two bool tensors is not supported"),
    (lambda b: b - True, RuntimeError, "with two bool tensors is not supported"),
    (lambda b: ct.tensor([1, 2]) - b, RuntimeError, "with a bool tensor is not supported"),
    (lambda b: b.abs(), NotImplementedError, "not implemented for 'Bool'"),
    (lambda b: b.floor(), NotImplementedError, "not implemented for 'Bool'"),
    (lambda b: b.relu(), RuntimeError, "Boolean inputs not supported for relu"),
    (lambda b: b // b, NotImplementedError, "not implemented for 'Bool'"),
    (lambda b: ct.frac(ct.tensor([1, 2])), NotImplementedError, "not implemented for 'Long'"),
    (lambda b: ct.hypot(ct.tensor([1]), ct.tensor([1])), NotImplementedError, "not implemented for 'Long'"),
    (lambda b: b + [1, 2], TypeError, None),
    (lambda b: b + None, TypeError, None),
])
def test_errors(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn(ct.tensor([True, False]))


def test_bool_ops_that_work():
    b = ct.tensor([True, False])
    check(b + b, [True, False], ct.bool)
    check(b + ~b, [True, True], ct.bool)
    check(b * b, [True, False], ct.bool)
    check(b + 1, [2, 1], ct.int64)
    check(b.sign(), [True, False], ct.bool)
    check(b.angle(), [0, 0], ct.float32)
    check(ct.maximum(b, ~b), [True, True], ct.bool)
    check(b.sigmoid(), _sigmoid(np.array([1.0, 0.0])).astype(np.float32))


# ---------------------------------------------------------------- properties: broadcasting
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402


@st.composite
def broadcast_pair(draw):
    nd = draw(st.integers(0, 4))
    shape = draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd))
    other = [draw(st.sampled_from([s, 1])) for s in shape][draw(st.integers(0, nd)):]
    transpose = draw(st.booleans())
    step = draw(st.booleans())
    return tuple(shape), tuple(other), transpose, step


@settings(max_examples=50, deadline=None)
@given(broadcast_pair(), st.sampled_from(["float32", "int64"]))
def test_broadcasting_property(p, name):
    shape, other, transpose, step = p
    transpose = transpose and len(shape) >= 2
    src = list(shape)
    if transpose:                                  # build the base so that the transposed view has `shape`
        src[0], src[-1] = src[-1], src[0]
    big = tuple(2 * s for s in src) if step else tuple(src)
    a = sample(name, big)
    x = ct.tensor(a)
    if step:
        sl = tuple(slice(None, None, 2) for _ in shape)
        a, x = a[sl], x[sl]
    if transpose:
        a, x = np.swapaxes(a, 0, -1), x.transpose(0, -1)
    b = sample(name, other)
    check(x + ct.tensor(b), a + b)
    check(ct.tensor(b) * x, b * a)
    check(ct.maximum(x, ct.tensor(b)), np.maximum(a, b))


# ---------------------------------------------------------------- optional: PyTorch itself as the reference
def _tname(d):
    return str(d).split(".")[-1]


SWEEP_UNARY = ("exp exp2 expm1 log log2 log10 log1p sqrt rsqrt sin cos tan asin acos atan sinh cosh tanh asinh "
               "acosh atanh sigmoid erf erfc floor ceil round trunc frac sign sgn reciprocal square relu neg abs "
               "isnan isinf isfinite isposinf isneginf signbit logical_not bitwise_not angle positive").split()
SWEEP_BINARY = ("add sub mul div true_divide floor_divide remainder fmod pow atan2 maximum minimum fmax fmin hypot "
                "copysign xlogy eq ne lt le gt ge logical_and logical_or logical_xor bitwise_and bitwise_or "
                "bitwise_xor bitwise_left_shift bitwise_right_shift").split()


def _outcome(fn):
    try:
        r = fn()
        return ("ok", _tname(r.dtype))
    except Exception as e:                      # noqa: BLE001
        return ("err", type(e).__name__)


def test_torch_result_dtypes_and_errors_all_ops_all_dtypes():
    """Result dtype or exception type of every op for every dtype (pair), on empty tensors (no kernels run)."""
    import torch
    warnings.filterwarnings("ignore", message="ComplexHalf support is experimental")
    bad = []
    for op in SWEEP_UNARY:
        for n in NAMES:
            want = _outcome(lambda: getattr(torch, op)(torch.empty(0, dtype=getattr(torch, n))))
            got = _outcome(lambda: getattr(ct, op)(ct.empty(0, dtype=getattr(ct, n))))
            if want != got and want[1] != "complex32":
                bad.append((op, n, want, got))
    for op in SWEEP_BINARY:
        for p, q in itertools.product(NAMES, NAMES):
            want = _outcome(lambda: getattr(torch, op)(torch.empty(0, dtype=getattr(torch, p)),
                                                       torch.empty(0, dtype=getattr(torch, q))))
            got = _outcome(lambda: getattr(ct, op)(ct.empty(0, dtype=getattr(ct, p)), ct.empty(0, dtype=getattr(ct, q))))
            if want != got and want[1] != "complex32":
                bad.append((op, p, q, want, got))
        for p in NAMES:
            for s in (True, 3, 2.5, 1j):
                want = _outcome(lambda: getattr(torch, op)(torch.empty(0, dtype=getattr(torch, p)), s))
                got = _outcome(lambda: getattr(ct, op)(ct.empty(0, dtype=getattr(ct, p)), s))
                if want != got and want[1] != "complex32" and not (p == "float16" and s == 1j):   # chalf
                    bad.append((op, p, s, want, got))
    assert not bad, bad[:20]


@pytest.mark.parametrize("names", [("int32", "float64")])
def test_torch_values_all_ops(names):
    """Values of every op against torch (mixed dtypes, strided + broadcast operands; one combination to keep the
    number of kernels built small: the numpy tests above cover the dtypes)."""
    import torch
    p, q = names
    a = sample(p, (5, 4), lo=-3, hi=3)
    b = sample(q, (4,), lo=-3, hi=3, nonzero=True)
    ta, tb = torch.from_numpy(a.copy()).T, torch.from_numpy(b.copy())
    xa, xb = ct.tensor(a).T, ct.tensor(b)
    for op in SWEEP_UNARY + SWEEP_BINARY:
        args_t = (ta,) if op in SWEEP_UNARY else (ta.T, tb)
        args_c = (xa,) if op in SWEEP_UNARY else (xa.T, xb)
        try:
            want = getattr(torch, op)(*args_t)
        except Exception:                        # noqa: BLE001  (errors are compared by the sweep above)
            continue
        got = getattr(ct, op)(*args_c)
        assert _tname(want.dtype) == got.dtype.name, op
        w = host(want.resolve_conj().resolve_neg())
        if w.dtype.kind in "fc":
            np.testing.assert_allclose(host(got), w, rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=op)
        else:
            np.testing.assert_array_equal(host(got), w, err_msg=op)


_VEC_FNS = "log log2 log10 log1p expm1 exp2 sin cos tan asin acos atan sinh cosh asinh acosh atanh erf erfc".split()


@pytest.mark.parametrize("dt", ["float32", "float16", pytest.param("float64", marks=pytest.mark.fp64)])
def test_vectorised_unary_builtins_match_the_scalar_path_in_every_lane(dt):
    """Contiguous float unary ops call the vector forms of OpenCL builtins (8 lanes at once). Lanes mix extreme and
    ordinary values: every lane must equal the scalar path (a strided view) and float64 truth. PoCL's vector
    sin/cos/tan broke small lanes next to huge ones (sin(1e-30) = 0.0099): float sin/cos/tan are our own
    (double-precision argument reduction, huge lanes through the scalar builtin)."""
    rng = np.random.default_rng(7)
    pool = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-6, 3e-8, 0.5, -0.5, 0.999, -0.999, 1.0, -1.0, 2.0, 10.0, -10.0,
                     88.7, -103.0, 1e5, 1e10, 1e30, -1e30, np.inf, -np.inf, np.nan, 1.5707964, 0.1, 700.0])
    with np.errstate(over="ignore"):          # float16: 1e5 and beyond become inf, which is wanted
        x = rng.choice(pool, 4099).astype(dt)
    for name in _VEC_FNS:
        got = host(getattr(ct.tensor(x), name)())
        scalar = host(getattr(ct.tensor(np.stack([x, x], 1))[:, 0], name)())
        np.testing.assert_allclose(got.astype(np.float64), scalar.astype(np.float64), rtol=4 * float(np.finfo(dt).eps),
                                   atol=2 * float(np.finfo(dt).smallest_subnormal), equal_nan=True, err_msg=name)
        if name in ("sin", "cos", "tan"):
            small = np.abs(x) < 1e-3
            np.testing.assert_allclose(got[small].astype(np.float64),
                                       getattr(np, name)(x[small].astype(np.float64)), rtol=1e-3, atol=1e-7)


@pytest.mark.fp64
@pytest.mark.parametrize("name", ["sin", "cos", "tan"])
def test_float32_trig_accuracy_over_wide_ranges(name):
    """Contiguous float32 sin/cos/tan (our 8-lane kernels on CPU devices) stay within 3 ulp of float64 truth for
    |x| <= 2^20 (beyond it the scalar builtin reduces), keep -0.0, and give NaN for inf/NaN."""
    rng = np.random.default_rng(3)
    for lo, hi in ((-4, 4), (-1e3, 1e3), (-1.1e6, 1.1e6), (-1e7, 1e7)):
        x = rng.uniform(lo, hi, 20011).astype(np.float32)
        got = host(getattr(ct.tensor(x), name)()).astype(np.float64)
        ref = getattr(np, name)(x.astype(np.float64))
        ulp = np.abs(got - ref) / np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
        # ours: 3 ulp; past 2^20 the builtin's bound from the OpenCL spec (sin/cos 4 ulp, tan 5 ulp)
        bound = 3.0 if hi < 2 ** 21 else 5.0 if name == "tan" else 4.0
        assert ulp.max() <= bound, (lo, hi, ulp.max())
    x = np.array([0.0, -0.0, 1e-30, -1e-30, np.inf, -np.inf, np.nan, 1.5707964, -3.1415927, 2e6, 1e30, 1e-5],
                 np.float32)
    got = host(getattr(ct.tensor(np.tile(x, 3)), name)())[:len(x)]
    with np.errstate(invalid="ignore"):       # numpy warns on sin(inf) = NaN, which is the value wanted
        ref = getattr(np, name)(x.astype(np.float64)).astype(np.float32)
    np.testing.assert_allclose(got, ref, rtol=3e-7, atol=0, equal_nan=True)
    assert np.array_equal(np.signbit(got[:2]), np.signbit(ref[:2]))


def test_large_outputs_non_temporal_stores_any_alignment():
    """Outputs of >= 16 MiB are written with non-temporal stores on CPU devices (contiguous and tiled kernels);
    an output that starts off the vector alignment (a view at offset 3) takes the plain store in every block."""
    from cltensor import _ew
    n = _ew.NT_BYTES // 4 + 37
    rng = np.random.default_rng(5)
    a, b = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    A, B = ct.tensor(a), ct.tensor(b)
    np.testing.assert_array_equal(host(A * B), a * b)
    buf = ct.zeros(n + 3)
    ct.add(A, B, out=buf[3:])
    got = host(buf)
    np.testing.assert_array_equal(got[3:], a + b)
    assert not got[:3].any()
    np.testing.assert_allclose(host(ct.log(A + 1)), np.log(a + 1), rtol=4e-7)   # 3 ulp (OpenCL spec)
    m = 2048
    x, y = a[:m * m].reshape(m, m), b[:m * m].reshape(m, m)
    X, Y = ct.tensor(x), ct.tensor(y)
    np.testing.assert_array_equal(host(X - Y.T), x - y.T)
    wide = ct.zeros(m, m + 5)
    ct.sub(X, Y.T, out=wide[:, 5:])                 # rows 20 bytes off the vector alignment
    np.testing.assert_array_equal(host(wide)[:, 5:], x - y.T)
    assert not host(wide)[:, :5].any()


@pytest.mark.parametrize("fn", ["relu", "nn_relu"])
def test_relu_keeps_nan_and_negative_zero_like_pytorch(fn):
    x = np.array([-0.0, 0.0, np.nan, -1.5, 2.5, -np.inf, np.inf] * 3, np.float32)
    t = ct.tensor(x)
    got = host(t.relu() if fn == "relu" else ct.nn.functional.relu(t))
    want = np.where(x < 0, np.float32(0), x)          # torch.relu: -0.0 -> -0.0, NaN -> NaN
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dt", ["int8", "int64", pytest.param("float64", marks=pytest.mark.fp64)])
def test_large_outputs_non_temporal_stores_other_dtypes(dt):
    """The non-temporal vector store of the contiguous kernel for 1-byte and 8-byte element types."""
    from cltensor import _ew
    n = _ew.NT_BYTES // np.dtype(dt).itemsize + 11
    rng = np.random.default_rng(2)
    a = rng.integers(-50, 50, n).astype(dt)
    b = rng.integers(-50, 50, n).astype(dt)
    A, B = ct.tensor(a), ct.tensor(b)
    np.testing.assert_array_equal(host(A * B - A), a * b - a)
    o = ct.zeros(n + 1, dtype=getattr(ct, dt))
    ct.add(A, B, out=o[1:])
    np.testing.assert_array_equal(host(o), np.concatenate([[0], a + b]).astype(dt))
