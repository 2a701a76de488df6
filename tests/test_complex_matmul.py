"""Matrix products of complex tensors (four real GEMMs on real/imaginary views) against numpy and torch."""
import numpy as np
import pytest

import cltensor as ct
from _host import host


def _c(g, shape, dt=np.complex64):
    return (g.standard_normal(shape) + 1j * g.standard_normal(shape)).astype(dt)


CASES = {
    "mm": ((7, 33), (33, 5)),
    "bmm broadcast": ((3, 4, 9), (9, 6)),
    "matmul 1-D @ 2-D": ((9,), (9, 4)),
    "matmul 2-D @ 1-D": ((5, 9), (9,)),
    "dot": ((17,), (17,)),
    "batched both": ((2, 1, 3, 8), (4, 8, 2)),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced"])
def test_complex_matmul_matches_numpy(case, layout):
    g = np.random.default_rng(0)
    sa, sb = CASES[case]
    A, B = _c(g, sa), _c(g, sb)
    a, b = ct.tensor(A), ct.tensor(B)
    if layout == "transposed" and A.ndim >= 2:
        a = ct.tensor(np.ascontiguousarray(np.swapaxes(A, -1, -2))).mT
    if layout == "sliced":
        a = ct.tensor(np.stack([A, A], -1))[..., 1]             # every dim strided
    r = a @ b
    assert r.dtype == ct.complex64
    np.testing.assert_allclose(host(r), A @ B, rtol=1e-5, atol=1e-5)


def test_complex_mm_family_and_scalars():
    g = np.random.default_rng(1)
    A, B, C = _c(g, (6, 5)), _c(g, (5, 3)), _c(g, (6, 3))
    a, b, c = ct.tensor(A), ct.tensor(B), ct.tensor(C)
    np.testing.assert_allclose(host(ct.mm(a, b)), A @ B, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(host(ct.mv(a, b[:, 0])), A @ B[:, 0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(host(ct.addmm(c, a, b, beta=0.5, alpha=2.0)), 0.5 * C + 2 * (A @ B),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(host(ct.addmm(c, a, b, beta=1 - 2j, alpha=0.5j)), (1 - 2j) * C + 0.5j * (A @ B),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(host(ct.vdot(a[0], b[:, 0])), np.vdot(A[0], B[:, 0]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(host(ct.nn.functional.linear(a, b.T, c[0])), A @ B + C[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(host(a.conj() @ b), A.conj() @ B, rtol=1e-5, atol=1e-5)
    e = ct.mm(ct.zeros(3, 0, dtype=ct.complex64), ct.zeros(0, 2, dtype=ct.complex64))
    assert e.dtype == ct.complex64 and not e.abs().sum().item()
    with pytest.raises(RuntimeError, match="same dtype"):
        a @ b.real


@pytest.mark.fp64
def test_complex128_matmul():
    g = np.random.default_rng(2)
    A, B = _c(g, (4, 7, 9), np.complex128), _c(g, (9, 3), np.complex128)
    np.testing.assert_allclose(host(ct.tensor(A) @ ct.tensor(B)), A @ B, rtol=1e-12, atol=1e-12)


def test_complex_matmul_gradients_match_torch():
    import torch
    g = np.random.default_rng(3)
    A, B, C = _c(g, (4, 6)), _c(g, (6, 3)), _c(g, (4, 3))
    res = []
    for m in (ct, torch):
        a, b, c = (m.tensor(x, requires_grad=True) for x in (A, B, C))
        y = m.addmm(c, a, b, beta=0.5, alpha=1.5 - 0.5j) @ b.T.conj()
        loss = (y * y.conj()).real.sum() + (a @ b).abs().sum()
        loss.backward()
        res.append([host(t.grad.detach()) for t in (a, b, c)])
    for x, y in zip(*res):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-4)
