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


# ---------------------------------------------------------------- svd / svdvals of large real matrices

@pytest.fixture
def large_svd(monkeypatch):
    """Every real svd/svdvals takes the large-matrix path (QR, Golub-Kahan bidiagonalisation, bidiagonal QR)."""
    monkeypatch.setattr(EL, "SVD_MIN", 1)


def _svd_check(a, U, S, Vh, dtype, k=30):
    """Singular values vs LAPACK (absolute, eps ||A||), descending, orthonormal U and V, A = U S Vh."""
    m, n = a.shape[-2:]
    r = min(m, n)
    tol = k * max(m, n) * EPS[dtype]
    a, U, S, Vh = (x.astype(np.float64) for x in (a, U, S, Vh))
    an = max(np.abs(a).max(), np.finfo(np.float64).tiny)
    assert np.all(np.diff(S, axis=-1) <= 0) and np.all(S >= 0)
    np.testing.assert_allclose(S / an, np.linalg.svd(a, compute_uv=False) / an, rtol=0, atol=tol)
    assert np.abs(np.swapaxes(U, -1, -2) @ U - np.eye(U.shape[-1])).max() <= tol
    assert np.abs(Vh @ np.swapaxes(Vh, -1, -2) - np.eye(Vh.shape[-2])).max() <= tol
    assert np.abs((U[..., :, :r] * S[..., None, :]) @ Vh[..., :r, :] - a).max() / an <= tol


def _with_spectrum(m, n, s, seed):
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((m, len(s))))
    v, _ = np.linalg.qr(rng.standard_normal((n, len(s))))
    return (u * s) @ v.T


@pytest.mark.parametrize("dtype", DTYPES)
def test_svd_large_shapes(large_svd, dtype):
    """Tall (batched), wide, square and strided inputs, reduced and full U/V, svdvals, torch.svd."""
    rng = np.random.default_rng(20)
    for shape in ((2, 9, 6), (6, 9), (7, 7), (1, 1)):
        a = rng.standard_normal(shape).astype(dtype)
        for full in (False, True):
            U, S, Vh = (host(x) for x in ct.linalg.svd(ct.tensor(a), full_matrices=full))
            rU, rS, rVh = torch.linalg.svd(torch.from_numpy(a), full_matrices=full)
            assert U.shape == tuple(rU.shape) and S.shape == tuple(rS.shape) and Vh.shape == tuple(rVh.shape)
            assert U.dtype == a.dtype and S.dtype == a.dtype
            _svd_check(a, U, S, Vh, dtype)
        np.testing.assert_allclose(host(ct.linalg.svdvals(ct.tensor(a))), S, rtol=0, atol=30 * 9 * EPS[dtype] * S.max())
    a = rng.standard_normal((3, 8, 10)).astype(dtype)
    t = ct.tensor(a).transpose(-1, -2)[::2]            # strided: transposed, every other matrix (2, 10, 8)
    U, S, Vh = (host(x) for x in ct.linalg.svd(t, full_matrices=False))
    _svd_check(np.swapaxes(a, -1, -2)[::2], U, S, Vh, dtype)
    u, s, v = ct.svd(t)
    np.testing.assert_allclose(host(s), S, rtol=0, atol=1e-5)
    _svd_check(np.swapaxes(a, -1, -2)[::2], host(u), host(s), np.swapaxes(host(v), -1, -2), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_svd_large_spectra(large_svd, dtype):
    """Rank-deficient (a zero first column too), ill-conditioned, clustered, zero and scaled inputs: U and V stay
    orthonormal (LAPACK returns an orthonormal basis for zero singular values too)."""
    m, n = 12, 8
    lo = 1e-12 if dtype == "float64" else 1e-6
    cases = {"rank 3": np.r_[np.ones(3), np.zeros(n - 3)], "graded": np.logspace(0, np.log10(lo), n),
             "clustered": np.r_[np.ones(4), 1e-3 * np.ones(4)], "rank 1 tiny": np.r_[1e-30, np.zeros(n - 1)]}
    for i, (name, s) in enumerate(cases.items()):
        a = _with_spectrum(m, n, s, 30 + i).astype(dtype)
        for x in (a, a.T.copy()):
            try:
                U, S, Vh = (host(y) for y in ct.linalg.svd(ct.tensor(x), full_matrices=False))
                _svd_check(x, U, S, Vh, dtype)
            except AssertionError as err:
                raise AssertionError(name) from err
    a = _with_spectrum(m, n, np.r_[np.ones(5), np.zeros(n - 5)], 40).astype(dtype)
    a[:, 0] = 0                                      # the bidiagonalisation starts on a zero column
    a[:, 4] = a[:, 3]
    U, S, Vh = (host(y) for y in ct.linalg.svd(ct.tensor(a), full_matrices=False))
    _svd_check(a, U, S, Vh, dtype)
    b = (np.diag([3.0, 1.0, 0.0, 2.0, 0.0, 1e-3, 5.0, 0.0]) + np.diag([1.0, 0.0, 4.0, 1.0, 1.0, 0.0, 2.0], 1))
    b = b.astype(dtype)                             # bidiagonal with zero diagonal and off-diagonal entries
    for x in (b, b[::-1, ::-1].copy()):
        U, S, Vh = (host(y) for y in ct.linalg.svd(ct.tensor(x), full_matrices=False))
        _svd_check(x, U, S, Vh, dtype)
    x = np.ones((2, 6, 5), dtype)
    x[1, 2, 3] = np.nan
    S = host(ct.linalg.svdvals(ct.tensor(x)))
    assert np.isfinite(S[0]).all() and np.isnan(S[1]).all()
    U, S, Vh = (host(y) for y in ct.linalg.svd(ct.zeros(2, 5, 4, dtype=getattr(ct, dtype))))
    assert not S.any()
    _svd_check(np.zeros((2, 5, 4), dtype), U, S, Vh, dtype)


def test_svd_large_default_size():
    """A matrix above SVD_MIN takes the path without the fixture, so do batches above SVD_BATCH_MIN."""
    assert not EL.use_svd(ct.zeros(EL.SVD_MIN - 1, 200)) and EL.use_svd(ct.zeros(EL.SVD_MIN, EL.SVD_MIN))
    assert not EL.use_svd(ct.zeros(EL.SVD_MIN, EL.SVD_MIN, dtype=ct.complex64))
    k, nb = EL.SVD_BATCH_MIN
    assert EL.use_svd(ct.zeros(nb, k, k)) and not EL.use_svd(ct.zeros(nb - 1, k, k))
    assert not EL.use_svd(ct.zeros(nb, k - 1, 90))
    a = np.random.default_rng(21).standard_normal((EL.SVD_MIN + 7, EL.SVD_MIN)).astype("float32")
    U, S, Vh = (host(y) for y in ct.linalg.svd(ct.tensor(a), full_matrices=False))
    _svd_check(a, U, S, Vh, "float32")


@pytest.mark.fp64
def test_svd_large_gradcheck(large_svd):
    a = np.random.default_rng(22).standard_normal((2, 5, 4))

    def f(x):
        U, S, Vh = ct.linalg.svd(x, full_matrices=False)
        return S, U * U, (U * S.unsqueeze(-2)) @ Vh       # gauge-invariant (real vectors up to sign)

    assert ct.autograd.gradcheck(f, (ct.tensor(a, requires_grad=True),), eps=1e-6, atol=1e-5, rtol=1e-4)
    assert ct.autograd.gradcheck(lambda x: ct.linalg.svdvals(x.mT), (ct.tensor(a, requires_grad=True),), eps=1e-6,
                                 atol=1e-5, rtol=1e-4)
