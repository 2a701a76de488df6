"""eigh / eigvalsh of large (and many) real symmetric matrices: the tridiagonalisation + QL + blocked
back-transformation path (cltensor/_lapack/_eigen_large.py), against numpy (LAPACK) and torch. Small sizes reach
that path by lowering its size threshold (the `large` fixture), so edge cases stay cheap."""
import numpy as np
import pytest
import torch

import cltensor as ct
from cltensor._lapack import _eigen_large as EL
from _host import host

EPS = {"float32": 1.2e-7, "float64": 2.3e-16}
DTYPES = ["float32", "float64"]


@pytest.fixture
def large(monkeypatch):
    """Every real eigh/eigvalsh takes the large-matrix path."""
    monkeypatch.setattr(EL, "EIGH_MIN", 2)


def _check(h, W, V, dtype, k=30):
    """Eigenvalues vs LAPACK, ||A V - V diag(W)|| / ||A|| and ||V^T V - I|| against k n eps."""
    n = h.shape[-1]
    tol = k * n * EPS[dtype]
    hn = max(np.abs(h).max(), np.finfo(np.float64).tiny)
    ref = np.linalg.eigvalsh(h.astype(np.float64))
    assert W.dtype == h.dtype and V.dtype == h.dtype
    assert np.all(np.diff(W, axis=-1) >= 0)
    h, W, V = (x.astype(np.float64) for x in (h, W, V))
    np.testing.assert_allclose(W / hn, ref / hn, rtol=0, atol=tol)
    r = np.linalg.norm(h @ V - V * W[..., None, :], axis=(-2, -1)) / (np.linalg.norm(h, axis=(-2, -1)) + 1e-300)
    assert r.max() <= tol
    o = np.abs(np.swapaxes(V, -1, -2) @ V - np.eye(n)).max()
    assert o <= tol


def _sym(shape, dtype, seed):
    a = np.random.default_rng(seed).standard_normal(shape)
    return (a + np.swapaxes(a, -1, -2)).astype(dtype)


def _spectrum(w, seed):
    """Q diag(w) Q^T with a random orthogonal Q (float64)."""
    n = len(w)
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return (q * w) @ q.T


@pytest.mark.parametrize("dtype", DTYPES)
def test_eigh_large_random(dtype):
    n = EL.EIGH_MIN + 4           # just above the threshold: the public dispatch takes the large path
    h = _sym((n, n), dtype, 1)
    W, V = ct.linalg.eigh(ct.tensor(h))
    _check(h, host(W), host(V), dtype)
    np.testing.assert_allclose(host(ct.linalg.eigvalsh(ct.tensor(h))), host(W), rtol=0, atol=1e-5 * np.abs(h).max())
    # UPLO: only the named triangle is read
    Wu, Vu = ct.linalg.eigh(ct.tensor(np.triu(h) + 7 * np.tril(h, -1)), UPLO="U")
    _check(h, host(Wu), host(Vu), dtype)
    Wl = host(ct.linalg.eigvalsh(ct.tensor(np.tril(h) - 5 * np.triu(h, 1))))
    np.testing.assert_allclose(Wl, host(W), rtol=0, atol=30 * n * EPS[dtype] * np.abs(h).max())


@pytest.mark.parametrize("dtype", DTYPES)
def test_eigh_large_batched_strided(dtype):
    b, n = EL.BATCH_MIN[1], EL.BATCH_MIN[0]          # many matrices: the batched large path
    h = _sym((b, n, n), dtype, 2)
    hs = np.swapaxes(h.reshape(2, b // 2, n, n), 0, 1)          # (b/2, 2, n, n) strided view
    t = ct.tensor(h.reshape(2, b // 2, n, n)).transpose(0, 1)
    W, V = ct.linalg.eigh(t)
    assert tuple(W.shape) == (b // 2, 2, n) and tuple(V.shape) == (b // 2, 2, n, n)
    _check(np.ascontiguousarray(hs), host(W), host(V), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_eigh_large_spectra(large, dtype):
    n = 24
    cases = {
        "zero": np.zeros((n, n)),
        "identity": np.eye(n),
        "diagonal repeated": np.diag(np.repeat([3.0, -1.0, 2.0], n // 3)),
        "tridiagonal": np.diag(np.arange(n, dtype=float)) + np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1),
        "rank one": np.outer(np.arange(1.0, n + 1), np.arange(1.0, n + 1)),
        "graded": _spectrum(np.logspace(-6, 0, n) * np.where(np.arange(n) % 2, 1, -1), 3),
        "clustered": _spectrum(np.r_[np.ones(n // 2), 1 + 1e-6 * np.arange(n // 4), -np.ones(n - n // 2 - n // 4)], 4),
        "huge": 1e30 * _sym((n, n), "float64", 5),
        "tiny": 1e-30 * _sym((n, n), "float64", 6),
    }
    for name, h in cases.items():
        h = h.astype(dtype)
        W, V = ct.linalg.eigh(ct.tensor(h))
        try:
            _check(h, host(W), host(V), dtype)
        except AssertionError as err:
            raise AssertionError(name) from err


def test_eigh_large_nonfinite(large):
    h = _sym((2, 6, 6), "float32", 10)
    h[0, 3, 1] = np.nan
    h[1, 5, 5] = np.inf
    W, V = ct.linalg.eigh(ct.tensor(h))
    assert np.isnan(host(W)).all()


@pytest.mark.fp64
def test_eigh_large_small_sizes(large):
    for n in (2, 3, 4, 5):
        h = _sym((3, n, n), "float64", n)
        W, V = ct.linalg.eigh(ct.tensor(h))
        _check(h, host(W), host(V), "float64")
    h = np.array([[2.0]])
    W, V = ct.linalg.eigh(ct.tensor(h))          # n = 1 keeps the Jacobi kernel
    assert host(W).tolist() == [2.0] and abs(host(V)).tolist() == [[1.0]]


@pytest.mark.fp64
def test_eigh_large_gradient():
    n = EL.EIGH_MIN
    h = _sym((n, n), "float64", 7)
    rng = np.random.default_rng(8)
    c, m = rng.standard_normal(n), rng.standard_normal((n, n))
    a = ct.tensor(h, requires_grad=True)
    W, V = ct.linalg.eigh(a)
    ((W * ct.tensor(c)).sum() + (V * V * ct.tensor(m)).sum()).backward()
    ta = torch.tensor(h, requires_grad=True)
    tw, tv = torch.linalg.eigh(ta)
    ((tw * torch.tensor(c)).sum() + (tv * tv * torch.tensor(m)).sum()).backward()
    np.testing.assert_allclose(host(a.grad), ta.grad.numpy(), rtol=1e-7, atol=1e-7)
    a.grad = None
    ct.linalg.eigvalsh(a).pow(2).sum().backward()
    tv, tw = tv.detach().numpy(), tw.detach().numpy()
    np.testing.assert_allclose(host(a.grad), (2 * tv * tw) @ tv.T, rtol=0, atol=1e-9)


@pytest.mark.fp64
def test_eigh_large_gradcheck(large):
    h = _sym((2, 4, 4), "float64", 9)

    def f(a):
        w, v = ct.linalg.eigh(a + a.mT)
        return w, v * v                   # gauge-invariant (real eigenvectors up to sign)

    assert ct.autograd.gradcheck(f, (ct.tensor(h, requires_grad=True),), eps=1e-6, atol=1e-5, rtol=1e-4)
