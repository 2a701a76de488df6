"""Special functions (cltensor/_special.py) beyond the op-info rows (tests/opinfo_special.py): the Tensor.polygamma(n)
method and in-place form, argument errors, the torch.special aliases, and dense accuracy sweeps against PyTorch's
CPU results over each function's domain (poles, asymptotic regions, the switch points of the approximations)."""
import math

import numpy as np
import pytest

import cltensor as ct
from _host import host

torch = pytest.importorskip("torch")


def _has_fp64():
    from conftest import device_has_fp64
    return device_has_fp64()


def _pair(a):
    return ct.tensor(a), torch.tensor(a)


def _ulps(got, want, dt, scale=None):
    """Distance in units of the last place of want, or of `scale` where that is larger (NaN == NaN, equal
    infinities 0; a one-sided NaN/inf: inf)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    fin = np.isfinite(got) & np.isfinite(want)
    ref = np.abs(want) if scale is None else np.maximum(np.abs(want), scale)
    with np.errstate(invalid="ignore", over="ignore"):
        sp = np.spacing(np.nan_to_num(ref).astype(dt)).astype(np.float64)
    with np.errstate(invalid="ignore"):
        d = np.where(same, 0.0, np.where(fin, np.abs(got - want) / sp, np.inf))
    return d


# (name, cltensor fn, torch fn, grid, max ulps float64, max ulps float32[, scale(x)]): grids cover the domain
# densely and place the approximation switch points (digamma at 10, i0/i1 at 8, ndtri at exp(-2) and exp(-32),
# erfcx at -6.1, 9 and 25) and the poles. `scale`: where a result comes from a difference of larger terms (both
# libraries cancel the same way, from last-bit differences of tan or erf), ulps are counted at the terms' size:
# digamma's reflection digamma(1 - x) - pi / tan(pi x) for x < 0; ndtr = (1 + erf(x / sqrt(2))) / 2 as PyTorch
# computes it (its lower tail is absolute-accurate only, in both libraries)
_G = np.concatenate([np.linspace(-30, 30, 6001), np.geomspace(1e-30, 1e30, 601), -np.geomspace(1e-30, 1e30, 601),
                     np.arange(-12, 13, 0.5), [0.0, -0.0, np.inf, -np.inf, np.nan]])
_P = np.concatenate([np.linspace(0, 1, 2001), np.geomspace(1e-300, 0.5, 601), 1 - np.geomspace(1e-16, 0.5, 301),
                     [math.exp(-2), math.exp(-32), -0.5, 1.5, np.nan]])
_U = np.concatenate([np.linspace(-1, 1, 2001), 1 - np.geomspace(1e-16, 0.5, 301), [1.01, -2, np.nan]])
S = "special."
CASES = [
    ("lgamma", "lgamma", _G, 4, 4),
    ("digamma", "digamma", _G, 8, 4, lambda x: np.where(x < 0, np.log1p(np.abs(x)) + 4, 0)),
    ("i0", "i0", _G[np.abs(_G) < 700], 4, 4),
    (S + "i0e", S + "i0e", _G, 4, 4),
    (S + "i1", S + "i1", _G[np.abs(_G) < 700], 4, 4),
    (S + "i1e", S + "i1e", _G, 4, 4),
    (S + "ndtr", S + "ndtr", _G, 4, 4, lambda x: 1.0),
    (S + "log_ndtr", S + "log_ndtr", _G, 8, 8),
    (S + "erfcx", S + "erfcx", _G, 8, 8),
    (S + "ndtri", S + "ndtri", _P, 4, 8),
    (S + "entr", S + "entr", _G, 2, 2),
    # erfinv near +-1: see tests/opinfo_special.py (the two libraries' erf differ in the last bit; the condition
    # number there is up to ~1e7): away from |y| > 0.999 a few ulp
    ("erfinv", "erfinv", _U[np.abs(_U) < 0.999], 16, 8),
]


def _resolve(mod, name):
    for p in name.split("."):
        mod = getattr(mod, p)
    return mod


@pytest.mark.parametrize("dt", ["float32", pytest.param("float64", marks=pytest.mark.fp64)])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_accuracy_sweep(case, dt):
    if case[0] == "digamma" and dt == "float32" and not _has_fp64():
        pytest.skip("float32 digamma reflects x < 0 in double where the device has fp64 (as PyTorch's CPU kernel); "
                    "this device has no cl_khr_fp64")
    name, tname, grid, u64, u32 = case[:5]
    a = np.asarray(grid, dt)
    c, t = _pair(a)
    got = host(_resolve(ct, name)(c))
    want = _resolve(torch, tname)(t).numpy()
    d = _ulps(got, want, np.dtype(dt), case[5](a.astype(np.float64)) if len(case) > 5 else None)
    lim = u64 if dt == "float64" else u32
    bad = d > lim
    assert not bad.any(), (f"{name} {dt}: {int(bad.sum())} values beyond {lim} ulp, e.g. x={a[bad][:5]} got "
                           f"{got[bad][:5]} want {want[bad][:5]} (ulp {d[bad][:5]})")


# float32 polygamma/zeta (and digamma's reflection for x < 0) sum in double where the device has fp64, as
# PyTorch's CPU kernels do; the float-only fallback of devices without fp64 is less accurate (docs/portability.md)
@pytest.mark.fp64
@pytest.mark.parametrize("n", [1, 2, 3, 6])
def test_polygamma_sweep(n):
    a = np.concatenate([np.linspace(-8, 30, 1521), np.geomspace(1e-6, 1e6, 121)]).astype(np.float32)
    c, t = _pair(a)
    got, want = host(ct.polygamma(n, c)), torch.polygamma(n, t).numpy()
    d = _ulps(got, want, np.float32)
    # near the poles (negative x) the values are huge and ill-conditioned in x: compared relatively there
    with np.errstate(invalid="ignore"):
        rel = np.abs(got.astype(np.float64) - want) / np.maximum(np.abs(want), 1e-30)
    ok = (d <= 16) | (rel < 1e-5)
    assert ok.all(), (a[~ok][:5], got[~ok][:5], want[~ok][:5])


@pytest.mark.fp64
def test_polygamma_forms():
    a = np.array([[0.3, 1.5, 4.0], [-1.5, 10.0, 0.0]])
    c, t = _pair(a)
    np.testing.assert_allclose(host(c.polygamma(2)), t.polygamma(2).numpy(), rtol=1e-12)
    x = c.clone()
    assert x.polygamma_(1) is x
    np.testing.assert_allclose(host(x), t.clone().polygamma_(1).numpy(), rtol=1e-12)
    o = ct.empty(0, dtype=ct.float64)
    assert ct.special.polygamma(3, c, out=o) is o
    np.testing.assert_allclose(host(o), torch.special.polygamma(3, t).numpy(), rtol=1e-12)
    # integer input: the default float dtype; a new n reuses the kernel (n is an argument)
    assert ct.polygamma(1, ct.tensor([1, 2])).dtype == ct.float32
    with pytest.raises(RuntimeError, match="does not support negative n"):
        ct.polygamma(-1, c)
    with pytest.raises(TypeError):
        ct.polygamma(1.0, c)
    with pytest.raises(NotImplementedError, match='"trigamma" not implemented'):
        ct.polygamma(1, ct.tensor([1 + 1j]))


@pytest.mark.fp64
def test_polygamma_grad():
    x = ct.tensor([0.7, 2.5, 6.0], dtype=ct.float64, requires_grad=True)
    assert ct.autograd.gradcheck(lambda v: ct.polygamma(2, v), [x])
    assert ct.autograd.gradcheck(lambda v: ct.special.multigammaln(v, 3), [x + 2])
    y = ct.polygamma(1, x)
    assert type(y.grad_fn).__name__ == "PolygammaBackward0"


def test_special_aliases():
    a = np.array([0.2, 0.5, 0.9, 3.0], np.float32)
    c, t = _pair(a)
    for n in ("gammaln", "psi", "digamma", "erfinv", "i0", "expit", "logit"):
        np.testing.assert_allclose(host(getattr(ct.special, n)(c)), getattr(torch.special, n)(t).numpy(),
                                   rtol=2e-6, atol=1e-7, err_msg=n)
    assert ct.special.gammaln is ct.lgamma and ct.special.expit is ct.sigmoid


def test_mvlgamma_errors():
    c = ct.tensor([2.0, 3.0])
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        ct.mvlgamma(c, 0)
    with pytest.raises(TypeError):
        ct.mvlgamma(c, 2.0)
    with pytest.raises(RuntimeError, match="boolean"):
        ct.special.multigammaln(ct.tensor([True]), 2)


def test_half_refusals():
    h = ct.tensor([0.5], dtype=ct.float16)
    for n in ("ndtri", "log_ndtr", "erfcx"):
        with pytest.raises(NotImplementedError, match="not implemented for 'Half'"):
            getattr(ct.special, n)(h)


# Bessel and Airy functions, zeta, the incomplete gamma functions: values compared in ulps of the result, or of the
# size of the terms where the result comes from a difference (J/Y near their zeros: trigonometric combinations;
# igamma: exp of a large logarithm, whose last-bit differences of lgamma/log grow by |log P|)
_B = np.concatenate([np.linspace(-30, 30, 3001), np.geomspace(1e-8, 1e3, 301), -np.geomspace(1e-8, 1e3, 301),
                     [0.0, -0.0, np.inf, -np.inf, np.nan, 2.09, -2.09, 8.3203353, 103.9, 5.0, 2.0, 8.0]])
_BESSEL = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
           "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
           "airy_ai", "spherical_bessel_j0"]


@pytest.mark.parametrize("dt", ["float32", pytest.param("float64", marks=pytest.mark.fp64)])
def test_bessel_sweep(dt):
    a = _B.astype(dt)
    c, t = _pair(a)
    bad = []
    for n in _BESSEL:
        got, want = host(getattr(ct.special, n)(c)), getattr(torch.special, n)(t).numpy()
        # J, Y, Ai oscillate: their asymptotic forms combine cos and sin of x - phase (scale 1 / sqrt(x))
        osc = n.startswith("bessel") or n in ("airy_ai", "spherical_bessel_j0")
        scale = 1 / np.sqrt(np.maximum(np.abs(a.astype(np.float64)), 1)) if osc else None
        d = _ulps(got, want, np.dtype(dt), scale)
        if (d > 8).any():
            i = np.argmax(d)
            bad.append(f"{n}: {int((d > 8).sum())} beyond 8 ulp, worst x={a[i]} got {got[i]} want {want[i]}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("dt", ["float32", pytest.param("float64", marks=pytest.mark.fp64)])
def test_igamma_sweep(dt):
    rng = np.random.default_rng(1)
    a = np.concatenate([rng.uniform(0, 5, 400), rng.uniform(5, 300, 400), np.geomspace(1e-5, 1e5, 200),
                        [0, 0, 1, np.inf, np.inf, np.nan, 2, 25, 250, 1e-300]])
    x = np.concatenate([rng.uniform(0, 6, 400), a[400:800] * rng.uniform(0.7, 1.3, 400),
                        np.geomspace(1e-5, 1e5, 200)[::-1], [0, 1, 0, 1, np.inf, 1, np.nan, 24, 251, 0.3]])
    A, X = a.astype(dt), x.astype(dt)
    for name in ("igamma", "igammac"):
        got = host(getattr(ct, name)(ct.tensor(A), ct.tensor(X)))
        want = getattr(torch, name)(torch.tensor(A), torch.tensor(X)).numpy()
        d = _ulps(got, want, np.dtype(dt))
        with np.errstate(divide="ignore"):
            lim = 16 * (1 + np.abs(np.log(np.abs(want.astype(np.float64)))))
        # P = 1 - Q (and Q = 1 - P) where the other is computed: absolute error of a few ulp of 1 above 0.1
        near1 = (np.abs(want) > 0.1) & (_ulps(got, want, np.dtype(dt), 1.0) <= 16)
        bad = (d > np.nan_to_num(lim, posinf=16)) & ~near1
        assert not bad.any(), (name, A[bad][:4], X[bad][:4], got[bad][:4], want[bad][:4])
    np.testing.assert_array_equal(host(ct.special.gammaincc(ct.tensor(A), ct.tensor(X))),
                                  host(ct.igammac(ct.tensor(A), ct.tensor(X))))


@pytest.mark.fp64
def test_igamma_grad():
    a = ct.tensor([2.0, 3.0, 30.0], dtype=ct.float64)
    x = ct.tensor([1.5, 4.0, 28.0], dtype=ct.float64, requires_grad=True)
    assert ct.autograd.gradcheck(lambda v: ct.igamma(a, v), [x])
    assert ct.autograd.gradcheck(lambda v: ct.igammac(a, v), [x])
    ag = a.clone().requires_grad_(True)
    r = ct.igamma(ag, x)
    with pytest.raises(NotImplementedError, match="the derivative for 'igamma: input' is not implemented."):
        r.sum().backward()
    with pytest.raises(NotImplementedError, match='"igamma_cpu" not implemented for \'Long\''):
        ct.igamma(ct.tensor([1, 2]), ct.tensor([1, 2]))


@pytest.mark.fp64
def test_polynomial_sweep():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-1.2, 1.2, 1500), [1, -1, 0, 0.5, 2, -3] * 20]).astype(np.float64)
    n = rng.integers(-2, 30, x.size).astype(np.float64)
    bad = []
    for name in ("chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
                 "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
                 "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "hermite_polynomial_h",
                 "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p"):
        got = host(getattr(ct.special, name)(ct.tensor(x), ct.tensor(n)))
        want = getattr(torch.special, name)(torch.tensor(x), torch.tensor(n)).numpy()
        # the trigonometric forms (|x| < 1, large n) carry acos/cos differences times n: counted at the scale n + 1
        d = _ulps(got, want, np.float64, n + 1)
        if (d > 64).any():
            bad.append(f"{name}: {int((d > 64).sum())} values beyond 64 ulp of n + 1")
    assert not bad, bad
    # a Python number as degree, integer inputs in the default dtype
    assert ct.special.legendre_polynomial_p(ct.tensor([1, 2]), 3).dtype == ct.float32
    np.testing.assert_allclose(host(ct.special.hermite_polynomial_h(ct.tensor([0.5, 1.5]), 4)),
                               torch.special.hermite_polynomial_h(torch.tensor([0.5, 1.5]), 4).numpy(), rtol=1e-6)


@pytest.mark.parametrize("dt", ["float16", "float32", pytest.param("float64", marks=pytest.mark.fp64)])
def test_frexp(dt):
    a = np.array([[1.5, -2.0, 0.0, -0.0], [np.inf, np.nan, 1e-40, 3.0], [65504.0, -1e-5, 0.1, 7.0]]).astype(dt)
    for layout in ("contig", "T"):
        c = ct.tensor(a) if layout == "contig" else ct.tensor(np.ascontiguousarray(a.T)).T
        m, e = ct.frexp(c)
        tm, te = torch.frexp(torch.tensor(a))
        assert m.dtype == getattr(ct, dt) and e.dtype == ct.int32
        np.testing.assert_array_equal(host(m), tm.numpy())
        np.testing.assert_array_equal(host(e), te.numpy())
    m, e = ct.tensor(a).frexp()
    np.testing.assert_array_equal(host(e), te.numpy())
    om, oe = ct.empty(0, dtype=getattr(ct, dt)), ct.empty(0, dtype=ct.int32)
    r = ct.frexp(ct.tensor(a), out=(om, oe))
    assert r[0] is om and r[1] is oe
    np.testing.assert_array_equal(host(oe), te.numpy())
    with pytest.raises(RuntimeError, match="only supports floating-point dtypes"):
        ct.frexp(ct.tensor([1, 2]))


@pytest.mark.fp64
def test_frexp_ldexp_float_power_grad():
    x = ct.tensor([1.5, -3.0, 0.3], dtype=ct.float64, requires_grad=True)
    m, _ = ct.frexp(x)
    m.sum().backward()
    np.testing.assert_array_equal(host(x.grad), [0.5, 0.25, 2.0])
    e = ct.tensor([1.0, -2.0, 3.0], dtype=ct.float64, requires_grad=True)
    assert ct.autograd.gradcheck(lambda a, b: ct.ldexp(a, b), [x, e])
    assert ct.autograd.gradcheck(lambda a: ct.float_power(a.abs(), 2.5), [x])


@pytest.mark.fp64
def test_float_power_and_nextafter_half():
    f = np.array([1.5, -2.0, 0.0, 3.0], np.float32)
    for call in (lambda m, t: m.float_power(t, 2), lambda m, t: m.float_power(2, t),
                 lambda m, t: m.float_power(t.abs(), t), lambda m, t: m.float_power(t, 0.5j)):
        got, want = call(ct, ct.tensor(f)), call(torch, torch.tensor(f))
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        np.testing.assert_allclose(host(got), want.numpy(), rtol=1e-15)
    with pytest.raises(RuntimeError, match="float_power_ has dtype Float"):
        ct.tensor(f).float_power_(2)
    # float16 steps by one half-precision ulp (towards 0 from a power of two: half of it)
    hv = np.array([1.0, 65504, 6.1035156e-05, 0, -0.0, 1.5, 2.0, -2.0, 5.96e-8, 1024], np.float16)
    hw = np.array([2.0, np.inf, 0, 1, -1, -3, 0, -3, 1, 0], np.float16)
    np.testing.assert_array_equal(host(ct.nextafter(ct.tensor(hv), ct.tensor(hw))),
                                  torch.nextafter(torch.tensor(hv), torch.tensor(hw)).numpy())
    x = ct.tensor(hv)
    assert x.nextafter_(ct.tensor(hw)) is x
    np.testing.assert_array_equal(host(x), torch.nextafter(torch.tensor(hv), torch.tensor(hw)).numpy())


def test_compiled_chains_with_special_functions():
    """cltensor.compile fuses special functions into elementwise chains, GEMM epilogues and fused sums: each
    kernel template includes the device functions its chain calls."""
    rng = np.random.default_rng(3)
    a = rng.uniform(0.5, 2, (8, 8)).astype(np.float32)
    b = rng.uniform(0, 1, (8, 8)).astype(np.float32)
    x, w = ct.tensor(a), ct.tensor(b)
    cases = [(lambda p, q: (p @ q).digamma() + 1, (x, w)), (lambda p: p.digamma().sum(), (x,)),
             (lambda p: ct.special.i0e(p * 2).lgamma(), (x,)), (lambda p: ct.igamma(p, p * 2).sum(), (x,))]
    for fn, args in cases:
        np.testing.assert_allclose(host(ct.compile(fn)(*args)), host(fn(*args)), rtol=1e-5, atol=1e-6)
