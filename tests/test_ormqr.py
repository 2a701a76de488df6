"""torch.ormqr against torch: products with Q of real geqrf results on every side / transpose (float64, complex128),
Q itself against householder_product, gradients, the empty case, and PyTorch's error messages (the generic sweep of
values, dtypes, out= and gradients is the op-info row in tests/opinfo_ormqr.py)."""
import numpy as np
import pytest
import torch

import cltensor as ct
from _host import host


def _geqrf(a):
    A, tau = torch.geqrf(torch.tensor(a))
    return A, tau, ct.tensor(A.numpy()), ct.tensor(tau.numpy())


@pytest.mark.fp64
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_ormqr_of_geqrf_against_torch(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 6, 4))
    if dtype == "complex128":
        a = a + 1j * rng.standard_normal((2, 6, 4))
    tA, ttau, A, tau = _geqrf(a.astype(dtype))
    for left in (True, False):
        for transpose in (False, True):
            c = rng.standard_normal((2, 6, 3) if left else (2, 3, 6)).astype(dtype)
            got = ct.ormqr(A, tau, ct.tensor(c), left=left, transpose=transpose)
            ref = torch.ormqr(tA, ttau, torch.tensor(c), left=left, transpose=transpose)
            np.testing.assert_allclose(host(got), ref.numpy(), rtol=1e-12, atol=1e-12)
    # Q I is Q: the first columns are householder_product's
    eye = np.broadcast_to(np.eye(6, dtype=dtype), (2, 6, 6)).copy()
    Q = host(A.ormqr(tau, ct.tensor(eye)))
    np.testing.assert_allclose(Q[..., :4], host(ct.linalg.householder_product(A, tau)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Q @ np.conj(np.swapaxes(Q, -1, -2)), eye, atol=1e-12)


@pytest.mark.fp64
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_ormqr_gradients_against_torch(dtype):
    rng = np.random.default_rng(1)

    def rnd(*shape):
        x = rng.standard_normal(shape)
        return (x + 1j * rng.standard_normal(shape) if dtype == "complex128" else x).astype(dtype)

    a, t, g = rnd(5, 3), rnd(3), rnd(2, 5)
    for left, transpose in [(False, True), (True, False)]:
        c = rnd(2, 5) if not left else rnd(5, 2)
        gg = g if not left else g.T.copy()
        ours = [ct.tensor(x).requires_grad_() for x in (a, t, c)]
        ref = [torch.tensor(x).requires_grad_() for x in (a, t, c)]
        (ct.ormqr(*ours, left=left, transpose=transpose) * ct.tensor(gg)).sum().abs().backward()
        (torch.ormqr(*ref, left=left, transpose=transpose) * torch.tensor(gg)).sum().abs().backward()
        for o, r in zip(ours, ref):
            np.testing.assert_allclose(host(o.grad), r.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_ormqr_empty_and_errors():
    out = ct.ormqr(ct.zeros(0, 0), ct.zeros(0), ct.zeros(0, 3))
    assert tuple(out.shape) == (0, 3)
    x = ct.ones(3, 2)
    y = ct.ormqr(ct.zeros(3, 0), ct.zeros(0), x)
    assert tuple(y.shape) == (3, 2) and y is not x and bool((y == x).all())

    def msg(lib, make):
        with pytest.raises((RuntimeError, NotImplementedError)) as e:
            make(lib)
        return type(e.value), str(e.value)

    cases = [
        lambda L: L.ormqr(L.ones(3), L.ones(2), L.ones(3, 2)),
        lambda L: L.ormqr(L.ones(3, 2), L.ones(2), L.ones(3)),
        lambda L: L.ormqr(L.ones(3, 2), L.ones(2), L.ones(4, 2)),
        lambda L: L.ormqr(L.ones(3, 2), L.ones(2), L.ones(2, 4), left=False),
        lambda L: L.ormqr(L.ones(3, 2), L.ones(1), L.ones(3, 2)),
        lambda L: L.ormqr(L.ones(2, 3, 2), L.ones(2), L.ones(2, 3, 2)),
        lambda L: L.ormqr(L.ones(2, 3, 2), L.ones(2, 2), L.ones(3, 2)),
        lambda L: L.ormqr(L.ones(2, 3, 2), L.ones(3, 2), L.ones(2, 3, 2)),
        lambda L: L.ormqr(L.ones(2, 3, 2), L.ones(2, 2), L.ones(4, 3, 2)),
        lambda L: L.ormqr(L.ones(3, 2), L.ones(2, dtype=L.complex64), L.ones(3, 2)),
        lambda L: L.ormqr(L.ones(3, 2), L.ones(2), L.ones(3, 2, dtype=L.complex64)),
        lambda L: L.ormqr(L.ones(3, 2, dtype=L.int32), L.ones(2, dtype=L.int32), L.ones(3, 2, dtype=L.int32)),
    ]
    for make in cases:
        assert msg(ct, make) == msg(torch, make)
