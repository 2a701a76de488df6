"""Special functions (cltensor/_special.py) beyond the op-info rows (tests/opinfo_special.py): the Tensor.polygamma(n)
method and in-place form, argument errors, the torch.special aliases, and dense accuracy sweeps against PyTorch's
CPU results over each function's domain (poles, asymptotic regions, the switch points of the approximations)."""
import math

import numpy as np
import pytest

import cltensor as ct
from _host import host

torch = pytest.importorskip("torch")


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
