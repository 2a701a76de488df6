"""cltensor.compile: fused elementwise chains (and sum/mean of a chain) against the same code run eagerly."""
import numpy as np
import pytest

import cltensor as ct
from cltensor import _kernels as K


def launches(fn, *args):
    ct.synchronize()
    n0 = K.stats["launches"]
    r = fn(*args)
    return r, K.stats["launches"] - n0


def same(a, b, exact):
    a, b = a.numpy(), b.numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    if exact:
        np.testing.assert_array_equal(a, b)
    else:      # a fused a * b + c may be contracted to fma: ulp-level differences only
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6, equal_nan=True)


def chain(a, b, c):
    return ((a * b + c).exp() * 2.0 - a).sigmoid() * c


def layouts():
    g = np.random.default_rng(0)
    base = ct.tensor(g.standard_normal((9, 130)).astype(np.float32))
    yield "contiguous", base, base + 1, base * 0.5
    yield "transposed", base.T, (base + 1).T, base.T.contiguous()
    yield "broadcast", base, ct.tensor(g.standard_normal(130).astype(np.float32)), \
        ct.tensor(g.standard_normal((9, 1)).astype(np.float32))
    yield "step-slices", base[:8:2, 1::3], base[1::2, :129:3], base[:8:2, 2::3]
    yield "offset", base[3:, 7:], base[:-3, :-7], 0.25
    yield "expanded", ct.tensor([0.5]).expand(9, 130), base, base.T.T


@pytest.mark.parametrize("name,a,b,c", list(layouts()), ids=[x[0] for x in layouts()])
def test_chain_matches_eager_on_every_layout(name, a, b, c):
    f = ct.compile(chain)
    r, n = launches(f, a, b, c)
    same(r, chain(a, b, c), exact=False)
    assert n == 1, "a chain of elementwise ops must be one kernel"
    assert f.stats == {"fused": 1, "eager": 0, "reason": None}


@pytest.mark.parametrize("dt", [ct.int8, ct.uint8, ct.int32, ct.int64])
def test_integer_chain_is_bitwise_equal(dt):
    g = np.random.default_rng(1)
    a = ct.tensor(g.integers(-50, 50, (7, 33)), dtype=dt)
    b = ct.tensor(g.integers(1, 9, (33,)), dtype=dt)

    def f(a, b):
        return ((a * b - 3) // 2 + (a % 7)) ^ (b << 1) | (a > b).to(dt)
    r, n = launches(ct.compile(f), a, b)
    same(r, f(a, b), exact=True)
    assert n == 1


def test_promotion_and_mixed_dtypes_like_eager():
    a = ct.arange(-6, 6, dtype=ct.int32).reshape(3, 4)
    b = ct.linspace(-1, 1, 4, dtype=ct.float64)

    def f(a, b):
        x = a / 4             # int / int-scalar -> default float
        y = x * b + a         # float32 * float64 tensor -> float64
        return (y > 0) & (a != 0), y.float(), (a * 3).to(ct.int16)
    for r, e in zip(ct.compile(f)(a, b), f(a, b)):
        same(r, e, exact=r.dtype != ct.float32)


def test_float16_intermediates_are_rounded_like_eager():
    a = ct.linspace(-3, 3, 1001, dtype=ct.float16)

    def f(a):
        return (a * 1.001 + 0.1).exp() - a    # each float16 intermediate is rounded to half in eager code
    same(ct.compile(f)(a), f(a), exact=True)


def test_complex_chain():
    a = ct.tensor(np.arange(12).reshape(3, 4) * (1 + 0.5j), dtype=ct.complex64)

    def f(a):
        return (a * a.conj() - 2j).abs() + a.real
    same(ct.compile(f)(a), f(a), exact=False)


def test_where_clamp_cast_and_unary_ops_fuse():
    x = ct.linspace(-4, 4, 257)

    def f(x):
        y = ct.where(x > 0, x, 0.1 * x).clamp(-0.2, 3.0)
        return (y.tanh() + x.abs().sqrt() * y.relu()).to(ct.float64) - (x ** 2)
    r, n = launches(ct.compile(f), x)
    same(r, f(x), exact=False)
    assert n == 1


def test_mean_and_sum_of_a_chain_in_one_pass():
    g = np.random.default_rng(2)
    a = ct.tensor(g.random(100003).astype(np.float32))
    b = ct.tensor(g.random(100003).astype(np.float32))

    def mse(a, b):
        return ((a - b) ** 2).mean()
    r, n = launches(ct.compile(mse), a, b)
    ref = ((a.numpy().astype(np.float64) - b.numpy()) ** 2).mean()
    assert abs(r.item() - ref) <= 1e-6 * ref
    assert r.shape == () and r.dtype == ct.float32
    assert n == 2          # the fused map + reduction, then the partials' sum
    s = ct.compile(lambda a: (a > 0.5).sum())(a)
    assert s.dtype == ct.int64 and s.item() == int((a.numpy() > 0.5).sum())


def test_reductions_over_dims_and_non_flat_layouts_fall_back_to_two_steps():
    x = ct.randn(6, 7, 5)

    def f(x):
        return (x * 2 + 1).sum(1), (x.exp() - 1).mean((0, 2), keepdim=True), (x.transpose(0, 2) * 3).mean()
    rs = ct.compile(f)(x)
    for r, e in zip(rs, f(x)):
        same(r, e, exact=False)


def test_reduction_results_feed_later_chains():
    x = ct.rand(33, 17)

    def f(x):
        e = (x - 0.5).exp()
        return e / e.sum(1, keepdim=True) + (x * x).mean()
    same(ct.compile(f)(x), f(x), exact=False)


def test_structures_scalars_and_no_recompile_on_new_values():
    x = ct.rand(50)
    scale = [2.0]

    def f(x):
        return {"y": x * scale[0] + 1, "pair": (x - 1, 5)}
    cf = ct.compile(f)
    r = cf(x)
    np.testing.assert_allclose(r["y"].numpy(), x.numpy() * 2 + 1, rtol=1e-6)
    assert r["pair"][1] == 5
    builds = K.stats["builds"]
    scale[0] = -3.5            # a changed closure value is a new kernel argument, not a stale constant
    r = cf(x)
    np.testing.assert_allclose(r["y"].numpy(), x.numpy() * -3.5 + 1, rtol=1e-6)
    cf(ct.rand(1000))          # a new size builds nothing either
    assert K.stats["builds"] == builds


def test_input_returned_as_is_and_decorator_form():
    @ct.compile
    def f(x, y):
        return x, x + y
    x = ct.ones(3)
    r = f(x, 1)
    assert r[0] is x and r[1].tolist() == [2.0, 2.0, 2.0]
    assert ct.compile(mode="max-autotune")(lambda x: x * 2)(x).tolist() == [2.0, 2.0, 2.0]


def test_untraceable_functions_run_eagerly_with_the_reason():
    x = ct.tensor([1.0, -2.0, 3.0])

    def f(x):
        if (x.sum() > 0).item():       # needs a value: the whole call runs eagerly
            return x * 2
        return x
    cf = ct.compile(f)
    assert cf(x).tolist() == [2.0, -4.0, 6.0]
    assert cf.stats["eager"] == 1 and cf.stats["fused"] == 0 and cf.stats["reason"]

    def g(x):
        y = x + 1
        y.mul_(2)                     # in-place on a traced value
        return y
    cg = ct.compile(g)
    assert cg(x).tolist() == [4.0, -2.0, 8.0] and "in-place" in cg.stats["reason"]


def test_errors_are_the_eager_ones():
    with pytest.raises(RuntimeError, match="must match the size"):
        ct.compile(lambda a, b: a + b)(ct.ones(3), ct.ones(4))
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        ct.compile(lambda a: a // 0)(ct.arange(4))
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        ct.compile(lambda a: a ** -1)(ct.arange(1, 4))
    # integer division by a tensor checks the divisor's values: eager, with the same error
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        ct.compile(lambda a, b: a % b)(ct.arange(4), ct.tensor([1, 0, 1, 1]))


def test_gradients_are_right():
    x = ct.linspace(-2, 2, 9, requires_grad=True)
    w = ct.tensor(0.7, requires_grad=True)

    def f(x):
        return ((x * w).tanh() ** 2).mean()
    cf = ct.compile(f)
    cf(x).backward()
    gx, gw = x.grad.numpy().copy(), w.grad.item()
    x.grad = w.grad = None
    f(x).backward()
    np.testing.assert_allclose(gx, x.grad.numpy(), rtol=1e-6)
    assert abs(gw - w.grad.item()) < 1e-6
    with ct.no_grad():          # nothing to record: fused
        cf(x)
    assert cf.stats["fused"] == 1


def test_pow_special_exponents_match_torch_forms():
    x = ct.tensor([-2.0, -0.0, 0.0, 0.25, 3.0, float("inf"), float("nan")])
    xn = x.numpy()
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal((x ** 2).numpy(), xn * xn)
        np.testing.assert_array_equal((x ** 3).numpy(), xn * xn * xn)
        np.testing.assert_array_equal((x ** 0.5).numpy(), np.sqrt(xn))
        np.testing.assert_array_equal((x ** -1).numpy(), 1 / xn)
        np.testing.assert_allclose((x ** -0.5).numpy(), 1 / np.sqrt(xn), rtol=1e-6)
        np.testing.assert_array_equal((x ** 1).numpy(), xn)
    assert (ct.arange(5) ** 2).tolist() == [0, 1, 4, 9, 16]
