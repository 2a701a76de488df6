"""Smaller parts of torch's API: randomized low-rank SVD/PCA, anomaly/inference-mode switches, to_dlpack, the
torch.* in-place forms of gcd/lcm/i0/ldexp, Tensor.prelu/hardshrink and post-accumulate-grad hooks."""
import numpy as np
import pytest

import cltensor as ct

torch = pytest.importorskip("torch")


def _lowrank(rng, m, n, r, dt=np.float64):
    return (rng.standard_normal((m, r)) @ np.diag(np.geomspace(10, 1, r)) @ rng.standard_normal((r, n))).astype(dt)


@pytest.mark.parametrize("m,n", [(40, 25), (25, 40)])
@pytest.mark.parametrize("dt,tol", [(np.float32, 2e-4), pytest.param(np.float64, 1e-10, marks=pytest.mark.fp64)])
def test_svd_lowrank_recovers_a_low_rank_matrix(m, n, dt, tol):
    rng = np.random.default_rng(0)
    a = _lowrank(rng, m, n, 4, dt)
    U, S, V = ct.svd_lowrank(ct.tensor(a), q=5, niter=2)
    assert tuple(U.shape) == (m, 5) and tuple(S.shape) == (5,) and tuple(V.shape) == (n, 5)
    rec = U.numpy() @ np.diag(S.numpy()) @ V.numpy().T
    assert np.abs(rec - a).max() <= tol * np.abs(a).max()
    np.testing.assert_allclose(S.numpy()[:4], np.linalg.svd(a.astype(np.float64), compute_uv=False)[:4],
                               rtol=50 * tol)
    np.testing.assert_allclose(U.numpy().T @ U.numpy(), np.eye(5), atol=50 * tol)


def test_svd_lowrank_batched_complex_and_M():
    rng = np.random.default_rng(1)
    a = np.stack([_lowrank(rng, 12, 9, 3) + 1j * _lowrank(rng, 12, 9, 3) for _ in range(2)]).astype(np.complex64)
    mean = a.mean(axis=-2, keepdims=True)
    U, S, V = ct.svd_lowrank(ct.tensor(a), q=7, M=ct.tensor(mean))
    rec = U.numpy() @ (S.numpy()[..., None] * np.conj(np.swapaxes(V.numpy(), -1, -2)))
    np.testing.assert_allclose(rec, a - mean, atol=2e-4 * np.abs(a).max())


@pytest.mark.fp64
def test_pca_lowrank_matches_torch_principal_components():
    rng = np.random.default_rng(2)
    for center in (True, False):
        a = _lowrank(rng, 60, 8, 3) + (5.0 if center else 0.0)       # rank 3 once centred (or as it is)
        U, S, V = ct.pca_lowrank(ct.tensor(a), q=3, center=center)
        tU, tS, tV = torch.pca_lowrank(torch.tensor(a), q=3, center=center)
        np.testing.assert_allclose(S.numpy(), tS.numpy(), rtol=1e-6)
        # the same directions up to sign
        np.testing.assert_allclose(np.abs(V.numpy().T @ tV.numpy()), np.eye(3), atol=1e-6)


def test_lowrank_argument_errors():
    for mod in (torch, ct):
        with pytest.raises(ValueError, match=r"q\(=5\) must be non-negative integer and not greater than "
                                             r"min\(m, n\)=3"):
            mod.pca_lowrank(mod.ones(4, 3), q=5)
        with pytest.raises(ValueError, match=r"niter\(=-1\) must be non-negative integer"):
            mod.pca_lowrank(mod.ones(4, 3), q=2, niter=-1)
        U, S, V = mod.svd_lowrank(mod.ones(4, 3), q=5)          # q above min(m, n): min(m, n) components
        assert tuple(U.shape) == (4, 3) and tuple(S.shape) == (3,) and tuple(V.shape) == (3, 3)
    with pytest.raises(TypeError):
        ct.pca_lowrank([1, 2])


def test_anomaly_and_inference_switches():
    assert ct.is_anomaly_enabled() is False and ct.is_anomaly_check_nan_enabled() is True
    ct.set_anomaly_enabled(True, check_nan=False)
    try:
        assert ct.is_anomaly_enabled() is True and ct.is_anomaly_check_nan_enabled() is False
    finally:
        ct.set_anomaly_enabled(False)
    assert ct.is_anomaly_enabled() is False
    assert ct.is_inference_mode_enabled() is False
    with ct.inference_mode():
        assert ct.is_inference_mode_enabled() is True


def test_to_dlpack_round_trips_through_numpy_and_torch():
    t = ct.arange(6.0).reshape(2, 3)[:, 1:]
    cap = ct.to_dlpack(t)
    back = ct.from_dlpack(cap)
    np.testing.assert_array_equal(back.numpy(), t.numpy())
    np.testing.assert_array_equal(torch.from_dlpack(ct.to_dlpack(t)).numpy(), t.numpy())


def test_function_forms_of_in_place_ops():
    for name, a, b in (("gcd_", [12, 18, 7], [8, 27, 0]), ("lcm_", [4, 6, 0], [6, 4, 3])):
        x, tx = ct.tensor(a), torch.tensor(a)
        assert getattr(ct, name)(x, ct.tensor(b)) is x
        getattr(torch, name)(tx, torch.tensor(b))
        assert x.tolist() == tx.tolist()
    x, tx = ct.tensor([0.0, 1.5, -2.0]), torch.tensor([0.0, 1.5, -2.0])
    ct.i0_(x), torch.i0_(tx)
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-6)
    x, tx = ct.tensor([1.0, 3.0]), torch.tensor([1.0, 3.0])
    ct.ldexp_(x, ct.tensor([2, -1])), torch.ldexp_(tx, torch.tensor([2, -1]))
    assert x.tolist() == tx.tolist()


def test_tensor_prelu_and_hardshrink_methods():
    v = [-2.0, -0.3, 0.0, 0.4, 3.0]
    assert ct.tensor(v).hardshrink(0.5).tolist() == torch.tensor(v).hardshrink(0.5).tolist()
    assert ct.tensor(v).prelu(ct.tensor([0.25])).tolist() == torch.tensor(v).prelu(torch.tensor([0.25])).tolist()


def test_post_accumulate_grad_hook():
    seen = {}
    for mod in (torch, ct):
        w = mod.ones(2, requires_grad=True)
        got = seen.setdefault(mod.__name__, [])
        h = w.register_post_accumulate_grad_hook(lambda p: got.append(p.grad.tolist()))
        (w * 3).sum().backward()
        (w * 2).sum().backward()
        h.remove()
        (w * 2).sum().backward()
        with pytest.raises(RuntimeError, match="non-leaf"):
            (w * 2).register_post_accumulate_grad_hook(print)
    assert seen["cltensor"] == seen["torch"] == [[3.0, 3.0], [5.0, 5.0]]


@pytest.mark.fp64
@pytest.mark.parametrize("largest", [True, False])
def test_lobpcg_extreme_eigenpairs_like_torch(largest):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((30, 30))
    a = a @ a.T
    E, X = ct.lobpcg(ct.tensor(a), k=2, largest=largest)
    tE, _ = torch.lobpcg(torch.tensor(a), k=2, largest=largest)
    np.testing.assert_allclose(E.numpy(), tE.numpy(), rtol=1e-6)
    x = X.numpy()
    np.testing.assert_allclose(a @ x, x * E.numpy(), atol=1e-5 * np.abs(a).max())


@pytest.mark.fp64
def test_lobpcg_generalized_batched_and_gradient():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((24, 24))
    a = a @ a.T
    b = rng.standard_normal((24, 24))
    b = b @ b.T + 24 * np.eye(24)
    E, _ = ct.lobpcg(ct.tensor(a), k=2, B=ct.tensor(b))
    w = np.linalg.eigvals(np.linalg.solve(b, a)).real
    np.testing.assert_allclose(E.numpy(), np.sort(w)[::-1][:2], rtol=1e-6)
    Eb, Xb = ct.lobpcg(ct.tensor(np.stack([a, 3 * a])), k=1)
    assert tuple(Eb.shape) == (2, 1) and tuple(Xb.shape) == (2, 24, 1)
    np.testing.assert_allclose(Eb.numpy()[:, 0], [np.linalg.eigvalsh(a)[-1], 3 * np.linalg.eigvalsh(a)[-1]],
                               rtol=1e-6)
    At = ct.tensor(a, requires_grad=True)
    E1, _ = ct.lobpcg(At, k=1)
    E1.sum().backward()
    v = np.linalg.eigh(a)[1][:, -1]
    np.testing.assert_allclose(At.grad.numpy(), np.outer(v, v), atol=1e-6)


def test_lobpcg_errors_like_torch():
    for mod in (torch, ct):
        with pytest.raises(ValueError, match=r"smaller than 3 x the number of requested eigenpairs \(=2\)"):
            mod.lobpcg(mod.eye(5), k=2)
