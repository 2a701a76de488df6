"""Functions built from other ops (cltensor/_composite.py) against PyTorch: values, dtypes, errors, gradients."""
import warnings

import numpy as np
import pytest

import cltensor as ct
from _torchref import same_errors
from _host import host

import torch


def _both(x):
    return ct.tensor(x), torch.tensor(x)


def _same(r, t, rtol=1e-5, atol=1e-6):
    if isinstance(t, (tuple, list)):
        assert len(r) == len(t)
        for a, b in zip(r, t):
            _same(a, b, rtol, atol)
        return
    if isinstance(t, (bool, int, float)):
        assert r == t
        return
    assert str(r.dtype).split(".")[-1] == str(t.dtype).split(".")[-1] and tuple(r.shape) == tuple(t.shape)
    np.testing.assert_allclose(host(r), host(t), rtol=rtol, atol=atol)


G = np.random.default_rng(0)
F32 = G.standard_normal((4, 5)).astype(np.float32)
F32b = (F32 + G.standard_normal((4, 5)).astype(np.float32) * 1e-6).astype(np.float32)
F32b[0, 0] = np.nan
F32c = F32.copy()
F32c[0, 0], F32c[1, 1], F32c[2, 2] = np.nan, np.inf, -np.inf
I64 = G.integers(-5, 5, (4, 5))

CASES = {
    "isclose": lambda m, a, b: m.isclose(a, b),
    "isclose equal_nan": lambda m, a, b: m.isclose(a, a, equal_nan=True),
    "isclose rtol atol": lambda m, a, b: m.isclose(a, b * 1.01, rtol=0.02, atol=0),
    "allclose": lambda m, a, b: m.allclose(a, b),
    "allclose self": lambda m, a, b: m.allclose(a[1:], a[1:]),
    "equal": lambda m, a, b: m.equal(a, a),
    "equal nan": lambda m, a, b: m.equal(a, b),
    "addcmul": lambda m, a, b: m.addcmul(a, a.T.contiguous().T, b, value=0.5),
    "addcdiv": lambda m, a, b: m.addcdiv(a, a, b.abs() + 1, value=-2),
    "ravel": lambda m, a, b: a.T.ravel(),
    "trace": lambda m, a, b: m.trace(a),
    "logaddexp": lambda m, a, b: m.logaddexp(a, b),
    "logaddexp2": lambda m, a, b: m.logaddexp2(a * 30, b),
    "logit": lambda m, a, b: m.logit(a.sigmoid()),
    "logit eps": lambda m, a, b: m.logit(a, eps=0.2),
    "deg2rad": lambda m, a, b: m.deg2rad(a),
    "rad2deg": lambda m, a, b: m.rad2deg(a),
    "sinc": lambda m, a, b: m.sinc(m.cat([a.ravel(), m.zeros(1)])),
    "tensor_split n": lambda m, a, b: m.tensor_split(a, 3, dim=1),
    "tensor_split idx": lambda m, a, b: m.tensor_split(a, [1, 3, 3, -1, 9], dim=1),
    "hsplit": lambda m, a, b: m.hsplit(a[:, :4], 2),
    "vsplit": lambda m, a, b: m.vsplit(a, [1, 2]),
    "kron": lambda m, a, b: m.kron(a[:2, :3], b[1:, 2:]),
    "diff": lambda m, a, b: m.diff(a, dim=0),
    "diff n2 prepend": lambda m, a, b: m.diff(a, n=2, dim=1, prepend=b[:, :1], append=b),
    "cross": lambda m, a, b: m.cross(a[:, :3], b[:, 1:4], dim=1),
    "cross default dim": lambda m, a, b: m.cross(a[:3, :2], b[:3, :2]),
    "broadcast_tensors": lambda m, a, b: m.broadcast_tensors(a[:, :1], b[0]),
    "complex": lambda m, a, b: m.complex(a, b),
    "polar": lambda m, a, b: m.polar(a.abs(), b),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("data", ["normal", "nan-inf"])
def test_matches_torch(case, data):
    a, b = (F32, F32b) if data == "normal" else (F32c, F32b)
    ca, ta = _both(a)
    cb, tb = _both(b)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")            # torch.cross without dim warns that it is deprecated
        want = CASES[case](torch, ta, tb)
    got = CASES[case](ct, ca, cb)
    _same(got, want, rtol=1e-4, atol=1e-5)


def test_integer_and_bool_inputs():
    ci, ti = _both(I64)
    _same(ct.isclose(ci, ci + 1, atol=1), torch.isclose(ti, ti + 1, atol=1))
    _same(ct.trace(ci), torch.trace(ti))
    _same(ct.deg2rad(ci), torch.deg2rad(ti))
    _same(ct.logit(ci.abs() / 10), torch.logit(ti.abs() / 10))
    _same(ct.diff(ci > 0), torch.diff(ti > 0))
    _same(ct.kron(ci[:2, :2], ci[2:, :3]), torch.kron(ti[:2, :2], ti[2:, :3]))
    _same(ct.addcmul(ci, ci, ci, value=3), torch.addcmul(ti, ti, ti, value=3))
    _same(ct.sinc(ci), torch.sinc(ti))
    assert ct.equal(ci, ci.float()) == torch.equal(ti, ti.float()) and ct.equal(ci, ci[:2]) is False
    _same(ct.tril_indices(4, 3, -1), torch.tril_indices(4, 3, -1))
    _same(ct.triu_indices(3, 5, 2), torch.triu_indices(3, 5, 2))
    _same(ct.tril_indices(0, 3), torch.tril_indices(0, 3))
    assert ct.broadcast_shapes((5, 1), 3, (2, 1, 1)) == torch.broadcast_shapes((5, 1), 3, (2, 1, 1))


def test_complex_views_share_memory_and_carry_gradients():
    z = ct.tensor(np.array([1 + 2j, 3 - 1j, -0.5j], dtype=np.complex64))
    r = ct.view_as_real(z)
    assert tuple(r.shape) == (3, 2) and r.dtype == ct.float32
    r[1, 0] = 7
    assert z[1].item() == 7 - 1j                          # a view: writes go through
    back = ct.view_as_complex(r)
    np.testing.assert_array_equal(host(back), host(z))
    for m in (ct, torch):
        x = m.tensor(F32[:2, :2].tolist(), requires_grad=True)
        y = m.tensor(F32b[2:, 1:3].tolist(), requires_grad=True)
        c = m.complex(x, y)
        ((m.view_as_real(c * c) ** 2).sum() + m.cross(m.cat([x, y], 1)[:, :3], m.cat([y, x], 1)[:, 1:], dim=1).sum()
         + m.addcdiv(x, y, x.abs() + 1).sum()).backward()
        if m is ct:
            gx, gy = host(x.grad), host(y.grad)
    np.testing.assert_allclose(gx, host(x.grad), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gy, host(y.grad), rtol=1e-4, atol=1e-5)


def test_in_place_addcmul_addcdiv():
    a, ta = _both(F32)
    b, tb = _both(F32b[1:, :].repeat(2, 0)[:4])
    a.addcmul_(a, b, value=2).addcdiv_(b, a.abs() + 1, value=0.5)
    ta.addcmul_(ta, tb, value=2).addcdiv_(tb, ta.abs() + 1, value=0.5)
    _same(a, ta, rtol=1e-4, atol=1e-4)


def test_errors_like_torch():
    fi, ti = ct.tensor(F32), torch.tensor(F32)
    ii, tii = ct.tensor(I64), torch.tensor(I64)
    cases = [
        (lambda m, f, i: m.isclose(f, i)),
        (lambda m, f, i: m.isclose(f, f, rtol=-1)),
        (lambda m, f, i: m.addcdiv(f, i, i)),
        (lambda m, f, i: m.trace(f[0])),
        (lambda m, f, i: m.hsplit(f, 2)),
        (lambda m, f, i: m.vsplit(f[0], 2)),
        (lambda m, f, i: m.view_as_real(f)),
        (lambda m, f, i: m.view_as_complex(f)),
        (lambda m, f, i: m.view_as_complex(f[:, :2].T)),
        (lambda m, f, i: m.complex(f, f.half())),
        (lambda m, f, i: m.diff(f[0, 0])),
        (lambda m, f, i: m.tensor_split(f, 0)),
    ]
    args = {torch: (ti, tii), ct: (fi, ii)}
    same_errors(torch, ct, [lambda m, c=c: c(m, *args[m]) for c in cases])
    with pytest.raises(NotImplementedError, match="logaddexp"):
        ct.logaddexp(ii, ii)


def test_matches_numpy():
    a, b = ct.tensor(F32c), ct.tensor(F32b)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(host(ct.isclose(a, b)), np.isclose(F32c, F32b))
        np.testing.assert_array_equal(host(ct.isclose(a, a, equal_nan=True)), np.isclose(F32c, F32c, equal_nan=True))
        assert ct.allclose(b[1:], b[1:]) and not ct.allclose(a, b) and ct.allclose(a, a, equal_nan=True)
        assert ct.equal(b[1:], b[1:]) and not ct.equal(b, b) and not ct.equal(a, a[:2])
        np.testing.assert_allclose(host(ct.logaddexp(a, b)), np.logaddexp(F32c, F32b), rtol=1e-5)
        np.testing.assert_allclose(host(ct.logaddexp2(a, b)), np.logaddexp2(F32c, F32b), rtol=1e-5)
        np.testing.assert_allclose(host(ct.sinc(b)), np.sinc(F32b), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(host(ct.deg2rad(a)), np.deg2rad(F32c), rtol=1e-6)
    np.testing.assert_allclose(host(ct.kron(b[:2, :3], b[2:, 1:])), np.kron(F32b[:2, :3], F32b[2:, 1:]), rtol=1e-6)
    np.testing.assert_allclose(host(ct.diff(b, n=2, dim=0)), np.diff(F32b, n=2, axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(ct.cross(b[:, :3], b[:, 2:], dim=1)), np.cross(F32b[:, :3], F32b[:, 2:]),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ct.trace(b[1:, 1:]).item(), np.trace(F32b[1:, 1:]), rtol=1e-5)
    for n in (1, 3, 7):
        for x, y in zip(ct.tensor_split(b, n, dim=1), np.array_split(F32b, n, axis=1)):
            np.testing.assert_array_equal(host(x), y)
    np.testing.assert_array_equal(host(ct.tril_indices(5, 4, -1)), np.stack(np.tril_indices(5, -1, 4)))
    np.testing.assert_array_equal(host(ct.ravel(b.T)), F32b.T.ravel())
    z = ct.complex(a, b)
    np.testing.assert_array_equal(host(z), F32c + 1j * F32b)
    np.testing.assert_array_equal(host(ct.view_as_real(z)), np.stack([F32c, F32b], -1))
