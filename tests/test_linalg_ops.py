"""torch.linalg (cltensor/_lapack) against torch and numpy: values (residual-based for factorizations), batched /
strided / broadcast / empty inputs, the four dtypes, gradients (gradcheck in float64), LinAlgError messages."""
import numpy as np
import pytest
import torch

import cltensor as ct
from _host import host

DTYPES = ["float32", "float64", "complex64", "complex128"]
EPS = {"float32": 1.2e-7, "complex64": 1.2e-7, "float64": 2.3e-16, "complex128": 2.3e-16}


def rnd(shape, dtype, seed=0, cond=None):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if "complex" in dtype:
        a = a + 1j * rng.standard_normal(shape)
    if cond is not None:        # ill-conditioned: singular values 1 .. 1/cond
        u, _, vh = np.linalg.svd(a)
        s = np.logspace(0, -np.log10(cond), shape[-1])
        a = (u * s[..., None, :]) @ vh
    return a.astype({"float32": np.float32, "float64": np.float64, "complex64": np.complex64,
                     "complex128": np.complex128}[dtype])


def spd(shape, dtype, seed=0):
    a = rnd(shape, dtype, seed)
    n = shape[-1]
    return a @ np.conj(np.swapaxes(a, -1, -2)) + n * np.eye(n, dtype=a.dtype)


def C(a):
    return ct.tensor(a)


def T(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def resid(A, X, B):
    """max over the batch of ||A X - B|| / (||A|| ||X||) in float64."""
    A, X, B = (np.asarray(v, dtype=np.complex128) for v in (A, X, B))
    r = np.linalg.norm(A @ X - B, axis=(-2, -1)) / (np.linalg.norm(A, axis=(-2, -1)) *
                                                    np.linalg.norm(X, axis=(-2, -1)) + 1e-300)
    return float(np.max(r)) if r.size else 0.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 5), (3, 4, 4), (2, 1, 7, 7), (0, 3, 3), (2, 0, 0), (80, 80)])
def test_lu_factor_residual_and_pivots(dtype, shape):
    a = rnd(shape, dtype, 1)
    LU, piv, info = ct.linalg.lu_factor_ex(C(a))
    rLU, rpiv, rinfo = torch.linalg.lu_factor_ex(T(a))
    assert LU.shape == tuple(shape) and piv.dtype == ct.int32 and tuple(piv.shape) == tuple(rpiv.shape)
    np.testing.assert_array_equal(host(info), rinfo.resolve_conj().numpy())
    P, L, U = ct.lu_unpack(LU, piv)
    n = shape[-1]
    assert resid(host(P) @ host(L), host(U), a) <= 20 * n * EPS[dtype] + 1e-30
    if shape[-1] <= 7:     # small: LAPACK picks the same pivots
        np.testing.assert_array_equal(host(piv), rpiv.resolve_conj().numpy())


@pytest.mark.parametrize("dtype", ["float64", "complex64"])
def test_lu_rectangular_and_linalg_lu(dtype):
    for shape in [(2, 5, 3), (3, 6)]:
        a = rnd(shape, dtype, 2)
        P, L, U = ct.linalg.lu(C(a))
        rP, rL, rU = torch.linalg.lu(T(a))
        for x, r in zip((P, L, U), (rP, rL, rU)):
            np.testing.assert_allclose(host(x), r.resolve_conj().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_solve_inv_det(dtype):
    a = rnd((3, 6, 6), dtype, 3)
    b = rnd((3, 6, 2), dtype, 4)
    tol = 20 * 6 * EPS[dtype]
    X = ct.linalg.solve(C(a), C(b))
    assert resid(a, host(X), b) <= tol
    Xi = ct.linalg.inv(C(a))
    assert resid(a, host(Xi), np.broadcast_to(np.eye(6), a.shape)) <= tol
    np.testing.assert_allclose(host(ct.linalg.det(C(a))), torch.linalg.det(T(a)).resolve_conj().numpy(), rtol=50 * tol)
    s, l = ct.linalg.slogdet(C(a))
    rs, rl = torch.linalg.slogdet(T(a))
    np.testing.assert_allclose(host(s), rs.resolve_conj().numpy(), rtol=50 * tol, atol=50 * tol)
    np.testing.assert_allclose(host(l), rl.resolve_conj().numpy(), rtol=50 * tol, atol=50 * tol)
    # vector right-hand side, broadcast batch, left=False, strided (transposed) A
    v = rnd((6,), dtype, 5)
    np.testing.assert_allclose(host(ct.linalg.solve(C(a), C(v))), torch.linalg.solve(T(a), T(v)).resolve_conj().numpy(),
                               rtol=1e3 * tol, atol=1e3 * tol)
    bl = rnd((2, 6), dtype, 6)
    np.testing.assert_allclose(host(ct.linalg.solve(C(a), C(bl), left=False)),
                               torch.linalg.solve(T(a), T(bl), left=False).resolve_conj().numpy(), rtol=1e3 * tol, atol=1e3 * tol)
    at = C(a).mT
    np.testing.assert_allclose(host(ct.linalg.solve(at, C(b[0]))),
                               torch.linalg.solve(T(a).mT, T(b[0])).resolve_conj().numpy(), rtol=1e3 * tol, atol=1e3 * tol)
    np.testing.assert_allclose(host(ct.inverse(C(a))), torch.inverse(T(a)).resolve_conj().numpy(), rtol=1e3 * tol, atol=1e3 * tol)
    np.testing.assert_allclose(host(C(a).det()), torch.det(T(a)).resolve_conj().numpy(), rtol=50 * tol)


@pytest.mark.fp64     # (float64 cases inside)
def test_ill_conditioned_backward_stable():
    for dtype in ("float64", "float32"):
        a = rnd((4, 12, 12), dtype, 7, cond=1e6 if dtype == "float32" else 1e12)
        b = rnd((4, 12, 3), dtype, 8)
        X = ct.linalg.solve(C(a), C(b))
        assert resid(a, host(X), b) <= 20 * 12 * EPS[dtype]
        L = ct.linalg.cholesky(C(a @ np.swapaxes(a, -1, -2) + np.eye(12, dtype=a.dtype) * 1e-3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 9, 100])
def test_cholesky_family(dtype, n):
    a = spd((2, n, n), dtype, 9)
    tol = 20 * n * EPS[dtype]
    L = ct.linalg.cholesky(C(a))
    Lh = host(L)
    assert np.all(np.triu(Lh, 1) == 0)
    assert resid(Lh, np.conj(np.swapaxes(Lh, -1, -2)), a) <= tol
    U = ct.linalg.cholesky(C(a), upper=True)
    np.testing.assert_allclose(host(U), np.conj(np.swapaxes(Lh, -1, -2)), rtol=1e-5, atol=1e-5)
    b = rnd((2, n, 3), dtype, 10)
    X = ct.cholesky_solve(C(b), L)
    assert resid(a, host(X), b) <= 50 * tol
    X = ct.cholesky_solve(C(b), U, upper=True)
    assert resid(a, host(X), b) <= 50 * tol
    Ai = ct.cholesky_inverse(L)
    assert resid(a, host(Ai), np.broadcast_to(np.eye(n), a.shape)) <= 50 * tol
    Lx, info = ct.linalg.cholesky_ex(C(a))
    assert host(info).tolist() == [0, 0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_solve_triangular(dtype):
    a = rnd((2, 70, 70), dtype, 11)
    a = a + (8 * np.eye(70)).astype(a.dtype)
    b = rnd((2, 70, 4), dtype, 12)
    for upper in (False, True):
        for left in (True, False):
            for unit in (False, True):
                bb = b if left else np.swapaxes(b, -1, -2)
                X = ct.linalg.solve_triangular(C(a), C(bb), upper=upper, left=left, unitriangular=unit)
                R = torch.linalg.solve_triangular(T(a), T(bb), upper=upper, left=left, unitriangular=unit)
                np.testing.assert_allclose(host(X), R.resolve_conj().numpy(), rtol=1e-3, atol=1e-3)
    # broadcast A over B's batch, strided B
    X = ct.linalg.solve_triangular(C(a[0]), C(b).mT.mT, upper=True)
    np.testing.assert_allclose(host(X), torch.linalg.solve_triangular(T(a[0]), T(b), upper=True).resolve_conj().numpy(),
                               rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("dtype", ["float32", "complex128"])
def test_lu_solve(dtype):
    a = rnd((2, 5, 5), dtype, 13)
    b = rnd((2, 5, 3), dtype, 14)
    LU, piv = ct.linalg.lu_factor(C(a))
    rLU, rpiv = torch.linalg.lu_factor(T(a))
    for adj in (False, True):
        for left in (True, False):
            bb = b if left else np.swapaxes(b, -1, -2)
            X = ct.linalg.lu_solve(LU, piv, C(bb), adjoint=adj, left=left)
            R = torch.linalg.lu_solve(rLU, rpiv, T(bb), adjoint=adj, left=left)
            np.testing.assert_allclose(host(X), R.resolve_conj().numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(host(ct.lu_solve(C(b), LU, piv)), torch.lu_solve(T(b), rLU, rpiv).resolve_conj().numpy(),
                               rtol=1e-3, atol=1e-4)


@pytest.mark.fp64     # (float64 cases inside)
def test_errors_and_info():
    sing = np.array([[1.0, 2.0], [2.0, 4.0]])
    batch = np.stack([np.eye(2), sing])
    notpd = np.array([[1.0, 2.0], [2.0, 1.0]])
    cases = [
        (lambda m: m.linalg.inv(m.tensor(sing)), ),
        (lambda m: m.linalg.inv(m.tensor(batch)), ),
        (lambda m: m.linalg.solve(m.tensor(sing), m.ones(2, dtype=m.float64)), ),
        (lambda m: m.linalg.cholesky(m.tensor(notpd)), ),
        (lambda m: m.linalg.cholesky(m.tensor(np.stack([np.eye(2), notpd]))), ),
        (lambda m: m.linalg.inv(m.ones(2, 3)), ),
        (lambda m: m.linalg.det(m.ones(3)), ),
        (lambda m: m.linalg.det(m.ones(2, 2, dtype=m.int64)), ),
        (lambda m: m.linalg.lu_factor(m.tensor(sing)), ),
        (lambda m: m.linalg.solve(m.eye(2), m.ones(3)), ),
        (lambda m: m.cholesky_inverse(m.zeros(2, 2)), ),
        (lambda m: m.linalg.inv(m.ones(2, 2, dtype=m.float16)), ),
    ]
    for (f,) in cases:
        with pytest.raises(Exception) as r:
            f(torch)
        with pytest.raises(Exception) as c:
            f(ct)
        assert str(c.value) == str(r.value)
        assert isinstance(c.value, RuntimeError)
        if isinstance(r.value, torch.linalg.LinAlgError):
            assert isinstance(c.value, ct.linalg.LinAlgError)
    _, info = ct.linalg.inv_ex(ct.tensor(batch))
    assert host(info).tolist() == [0, 2]
    _, info = ct.linalg.cholesky_ex(ct.tensor(np.stack([np.eye(2), notpd])))
    assert host(info).tolist() == [0, 2]
    _, _, info = ct.linalg.lu_factor_ex(ct.tensor(batch))
    assert host(info).tolist() == [0, 2]
    assert issubclass(ct.linalg.LinAlgError, RuntimeError)
    assert host(ct.linalg.det(ct.tensor(sing))) == 0
    assert np.isnan(host(ct.logdet(ct.tensor(-np.eye(3)))))


def _gc(f, *xs):
    ins = [ct.tensor(x, requires_grad=True) for x in xs]
    assert ct.autograd.gradcheck(f, ins, eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.fp64
def test_gradients_real():
    a = rnd((2, 4, 4), "float64", 20) + 4 * np.eye(4)
    b = rnd((2, 4, 2), "float64", 21)
    _gc(lambda A: ct.linalg.det(A), a)
    _gc(lambda A: ct.linalg.slogdet(A)[1], a)
    _gc(lambda A: ct.linalg.inv(A), a)
    _gc(lambda A, B: ct.linalg.solve(A, B), a, b)
    _gc(lambda A, B: ct.linalg.solve(A, B, left=False), a, np.swapaxes(b, -1, -2).copy())
    _gc(lambda A: ct.linalg.lu_factor(A)[0], a)
    _gc(lambda A: ct.linalg.lu(A)[1:], a)
    _gc(lambda A, B: ct.linalg.solve_triangular(A, B, upper=True), a, b)
    _gc(lambda A, B: ct.linalg.solve_triangular(A, B, upper=False, left=False, unitriangular=True),
        a, np.swapaxes(b, -1, -2).copy())
    _gc(lambda A: ct.linalg.cholesky(A @ A.mT + ct.eye(4, dtype=ct.float64)), a)
    _gc(lambda A: ct.linalg.cholesky(A @ A.mT + ct.eye(4, dtype=ct.float64), upper=True), a)
    L = np.linalg.cholesky(spd((2, 4, 4), "float64", 22))
    _gc(lambda B, L: ct.cholesky_solve(B, L.tril()), b, L)
    _gc(lambda L: ct.cholesky_inverse(L.tril()), L)
    LU, piv = torch.linalg.lu_factor(T(a))
    _gc(lambda B: ct.linalg.lu_solve(ct.tensor(LU.resolve_conj().numpy()), ct.tensor(piv.resolve_conj().numpy()), B), b)


@pytest.mark.fp64
def test_gradients_complex():
    a = rnd((3, 3), "complex128", 23) + 3 * np.eye(3)
    b = rnd((3, 2), "complex128", 24)
    _gc(lambda A: ct.linalg.inv(A), a)
    _gc(lambda A, B: ct.linalg.solve(A, B), a, b)
    _gc(lambda A: ct.linalg.det(A), a)
    _gc(lambda A: ct.linalg.cholesky(A @ A.mH + ct.eye(3, dtype=ct.complex128)), a)
    _gc(lambda A: ct.linalg.slogdet(A)[1], a)
    _gc(lambda A: ct.linalg.slogdet(A)[0], a)


@pytest.mark.fp64     # (float64 cases inside)
def test_composites():
    import math
    rng = np.random.default_rng(30)
    a, x = rng.standard_normal((2, 4, 4)), rng.standard_normal((3, 5))
    A, TA, X, TX = C(a), T(a), C(x), T(x)

    def cmp(c, t):
        np.testing.assert_allclose(host(c), t.resolve_conj().numpy(), rtol=1e-10, atol=1e-10)
    for o in (2, 1, math.inf, -math.inf, 0, 3, -1.5):
        cmp(ct.linalg.vector_norm(X, o, dim=1), torch.linalg.vector_norm(TX, o, dim=1))
    cmp(ct.linalg.vector_norm(X), torch.linalg.vector_norm(TX))
    cmp(ct.linalg.vector_norm(X, 3, keepdim=True), torch.linalg.vector_norm(TX, 3, keepdim=True))
    for o in ("fro", 1, -1, math.inf, -math.inf):
        cmp(ct.linalg.matrix_norm(A, o), torch.linalg.matrix_norm(TA, o))
        cmp(ct.linalg.matrix_norm(A, o, keepdim=True), torch.linalg.matrix_norm(TA, o, keepdim=True))
    cmp(ct.linalg.norm(A), torch.linalg.norm(TA))
    cmp(ct.linalg.norm(A[0], 1), torch.linalg.norm(TA[0], 1))
    cmp(ct.linalg.cond(A, 1), torch.linalg.cond(TA, 1))
    for n in (0, 1, 3, -2, 5):
        cmp(ct.linalg.matrix_power(A, n), torch.linalg.matrix_power(TA, n))
    cmp(C(a).matrix_power(2), TA.matrix_power(2))
    b, c, v = rng.standard_normal((4, 3)), rng.standard_normal((3,)), rng.standard_normal(4)
    cmp(ct.linalg.multi_dot([C(v), A[0], C(b), C(c)]), torch.linalg.multi_dot([T(v), TA[0], T(b), T(c)]))
    cmp(ct.linalg.multi_dot([A[0], C(b), C(b.T)]), torch.linalg.multi_dot([TA[0], T(b), T(b.T.copy())]))
    z = rnd((3, 4), "complex128", 31)
    cmp(ct.linalg.vecdot(C(z), C(z[::-1].copy())), torch.linalg.vecdot(T(z), T(z[::-1].copy())))
    cmp(ct.linalg.vander(X[0]), torch.linalg.vander(TX[0]))
    cmp(ct.linalg.diagonal(A, offset=1), torch.linalg.diagonal(TA, offset=1))
    y = rng.standard_normal((4, 3))
    cmp(ct.linalg.cross(C(y), C(y[::-1].copy())), torch.linalg.cross(T(y), T(y[::-1].copy())))
    t4, bb = rng.standard_normal((4, 6, 8, 3)), rng.standard_normal((4, 6))
    cmp(ct.linalg.tensorinv(C(t4)), torch.linalg.tensorinv(T(t4)))
    cmp(ct.linalg.tensorsolve(C(t4), C(bb)), torch.linalg.tensorsolve(T(t4), T(bb)))


def _herm(a):
    return a + np.conj(np.swapaxes(a, -1, -2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (3, 6, 6), (33, 33), (0, 4, 4)])
def test_eigh(dtype, shape):
    h = _herm(rnd(shape, dtype, 40))
    n = shape[-1]
    W, V = ct.linalg.eigh(C(h))
    W, V = host(W), host(V)
    assert W.dtype == np.float32 if dtype in ("float32", "complex64") else np.float64
    if W.size:
        np.testing.assert_allclose(W, np.linalg.eigvalsh(h), rtol=0, atol=20 * n * EPS[dtype] * np.abs(h).max())
        assert resid(h, V, V * W[..., None, :]) <= 20 * n * EPS[dtype]
        np.testing.assert_allclose(np.conj(np.swapaxes(V, -1, -2)) @ V, np.broadcast_to(np.eye(n), V.shape),
                                   atol=20 * n * EPS[dtype])
    hm = max(1, np.abs(h).max()) if h.size else 1
    np.testing.assert_allclose(host(ct.linalg.eigvalsh(C(h))), W, rtol=0, atol=1e-5 * hm)
    # UPLO="U" reads the upper triangle
    Wu = host(ct.linalg.eigvalsh(C(np.triu(h)), UPLO="U"))
    np.testing.assert_allclose(Wu, W, rtol=0, atol=1e-4 * hm)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 4), (2, 7, 3), (3, 8), (40, 40)])
def test_svd_and_qr(dtype, shape):
    a = rnd(shape, dtype, 41)
    m, n = shape[-2:]
    k = min(m, n)
    tol = 30 * max(m, n) * EPS[dtype]
    U, S, Vh = (host(x) for x in ct.linalg.svd(C(a), full_matrices=False))
    np.testing.assert_allclose(S, np.linalg.svd(a, compute_uv=False), rtol=0, atol=tol * np.abs(S).max())
    assert resid(U * S[..., None, :], Vh, a) <= tol
    U, S, Vh = (host(x) for x in ct.linalg.svd(C(a)))
    assert U.shape[-1] == m and Vh.shape[-2] == n
    np.testing.assert_allclose(np.conj(np.swapaxes(U, -1, -2)) @ U, np.broadcast_to(np.eye(m), U.shape), atol=tol)
    np.testing.assert_allclose(host(ct.linalg.svdvals(C(a))), S, rtol=0, atol=tol * S.max())
    for some in (True, False):      # torch.svd: V, not Vh; zero U and V without compute_uv
        u, s_, v = ct.svd(C(a), some=some)
        ru, rs, rv = torch.svd(T(a), some=some)
        assert tuple(u.shape) == tuple(ru.shape) and tuple(v.shape) == tuple(rv.shape)
        assert resid(host(u)[..., :, :k] * host(s_)[..., None, :], np.conj(np.swapaxes(host(v)[..., :, :k], -1, -2)),
                     a) <= tol
    u, s_, v = ct.svd(C(a), compute_uv=False)
    ru, _, rv = torch.svd(T(a), compute_uv=False)
    assert tuple(u.shape) == tuple(ru.shape) and tuple(v.shape) == tuple(rv.shape) and not host(u).any()
    for mode in ("reduced", "complete", "r"):
        Q, R = ct.linalg.qr(C(a), mode=mode)
        rQ, rR = torch.linalg.qr(T(a), mode=mode)
        assert tuple(Q.shape) == tuple(rQ.shape) and tuple(R.shape) == tuple(rR.shape)
        np.testing.assert_allclose(host(R), rR.resolve_conj().numpy(), rtol=0, atol=tol * np.abs(a).max() * 5)
        if mode != "r":
            np.testing.assert_allclose(host(Q), rQ.resolve_conj().numpy(), rtol=0, atol=tol * 5)
    A_, tau = ct.geqrf(C(a))
    rA, rtau = torch.geqrf(T(a))
    np.testing.assert_allclose(host(tau), rtau.resolve_conj().numpy(), rtol=0, atol=tol * 5)
    if m >= n:
        np.testing.assert_allclose(host(ct.linalg.householder_product(A_, tau)),
                                   torch.linalg.householder_product(rA, rtau).resolve_conj().numpy(), rtol=0,
                                   atol=tol * 5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_eig(dtype):
    a = rnd((3, 7, 7), dtype, 42)
    W, V = ct.linalg.eig(C(a))
    W, V = host(W), host(V)
    assert W.dtype.kind == "c" and V.dtype.kind == "c"
    assert resid(a, V, V * W[..., None, :]) <= 50 * 7 * EPS[dtype]
    np.testing.assert_allclose(np.linalg.norm(V, axis=-2), 1, atol=1e-5)
    ref = np.linalg.eigvals(a)
    for w, rw in zip(W, ref):          # the same multiset (order may differ from LAPACK's)
        d = np.abs(w[:, None] - rw[None, :])
        assert d.min(1).max() <= 1e-4 * np.abs(rw).max()
    np.testing.assert_allclose(np.sort_complex(host(ct.linalg.eigvals(C(a))).ravel()), np.sort_complex(W.ravel()),
                               atol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ldl(dtype):
    for herm in (False, True):
        a = rnd((2, 9, 9), dtype, 43)
        s = a + (np.conj(np.swapaxes(a, -1, -2)) if herm else np.swapaxes(a, -1, -2))
        s[..., 0, 0] = 0                     # forces a 2 x 2 pivot
        LD, piv, info = ct.linalg.ldl_factor_ex(C(s), hermitian=herm)
        rLD, rpiv, rinfo = torch.linalg.ldl_factor_ex(T(s), hermitian=herm)
        np.testing.assert_array_equal(host(piv), rpiv.numpy())
        np.testing.assert_allclose(host(LD), rLD.resolve_conj().numpy(), rtol=1e-3, atol=1e-3)
        b = rnd((2, 9, 3), dtype, 44)
        X = ct.linalg.ldl_solve(LD, piv, C(b), hermitian=herm)
        assert resid(s, host(X), b) <= 200 * 9 * EPS[dtype]


@pytest.mark.fp64
def test_spectral_composites():
    import math
    rng = np.random.default_rng(45)
    a, w = rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 5, 3))
    A, W, TA, TW = C(a), C(w), T(a), T(w)

    def cmp(c, t, tol=1e-10):
        for x, y in zip(c if isinstance(c, tuple) else (c,), t if isinstance(t, tuple) else (t,)):
            np.testing.assert_allclose(host(x), y.resolve_conj().numpy(), rtol=tol, atol=tol)
    for o in (2, -2, "nuc"):
        cmp(ct.linalg.matrix_norm(W, o), torch.linalg.matrix_norm(TW, o))
    for p in (None, 2, -2, "nuc", "fro", 1, math.inf):
        cmp(ct.linalg.cond(A, p), torch.linalg.cond(TA, p), 1e-8)
    cmp(ct.linalg.pinv(W), torch.linalg.pinv(TW))
    cmp(ct.pinverse(W.mT), torch.pinverse(TW.mT))
    h = a + a.swapaxes(-1, -2)
    cmp(ct.linalg.pinv(C(h), hermitian=True), torch.linalg.pinv(T(h), hermitian=True), 1e-8)
    sing = np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])
    cmp(ct.linalg.matrix_rank(C(sing)), torch.linalg.matrix_rank(T(sing)))
    cmp(ct.linalg.matrix_rank(C(h), hermitian=True), torch.linalg.matrix_rank(T(h), hermitian=True))
    b = rng.standard_normal((2, 5, 2))
    for d in (None, "gels", "gelsd", "gelss", "gelsy"):
        cmp(tuple(ct.linalg.lstsq(W, C(b), driver=d)), tuple(torch.linalg.lstsq(TW, T(b), driver=d)), 1e-9)
    cmp(ct.linalg.matrix_exp(A), torch.linalg.matrix_exp(TA))
    cmp(ct.linalg.matrix_exp(A * 10), torch.linalg.matrix_exp(TA * 10), 1e-8)
    c = rnd((3, 3), "complex128", 46)
    cmp(C(c).matrix_exp(), T(c).matrix_exp())


@pytest.mark.fp64
def test_spectral_gradients():
    a = rnd((2, 4, 4), "float64", 47)
    w = rnd((2, 5, 3), "float64", 48)
    c = rnd((3, 3), "complex128", 49)
    _gc(lambda A: ct.linalg.eigh(A + A.mT)[0], a)
    _gc(lambda A: (lambda L, V: (L, V * V))(*ct.linalg.eigh(A + A.mT)), a)
    _gc(lambda A: (lambda L, V: (L, (V * V.conj()).real))(*ct.linalg.eigh(A + A.mH)), c)
    _gc(lambda A: ct.linalg.svdvals(A), w)
    _gc(lambda A: (lambda U, S, Vh: (U @ Vh, S))(*ct.linalg.svd(A, full_matrices=False)), w)
    _gc(lambda A: (lambda U, S, Vh: (U @ Vh, S))(*ct.linalg.svd(A.mT, full_matrices=False)), w)
    _gc(lambda A: (lambda U, S, Vh: ((U @ Vh).abs(), S))(*ct.linalg.svd(A, full_matrices=False)), c)
    _gc(lambda A: ct.linalg.qr(A), w)
    _gc(lambda A: ct.linalg.qr(A), c)
    _gc(lambda A: ct.linalg.eigvals(A).real, a[0])
    _gc(lambda A: (lambda L, V: (L, V.abs()))(*ct.linalg.eig(A)), c)
    _gc(lambda A: ct.linalg.pinv(A), w)
    _gc(lambda A: ct.linalg.matrix_exp(A), a[0] / 3)


def test_local_memory_variants(monkeypatch):
    """The local-memory forms of the LU and Cholesky kernels (used on GPUs) give the same factors."""
    from cltensor._lapack import _core
    a = rnd((3, 12, 12), "float32", 50)
    s = spd((3, 12, 12), "float32", 51)
    ref = [host(x) for x in ct.linalg.lu_factor_ex(C(a))] + [host(ct.linalg.cholesky(C(s)))]
    monkeypatch.setattr(_core, "_LOCAL_ON_CPU", True)
    got = [host(x) for x in ct.linalg.lu_factor_ex(C(a))] + [host(ct.linalg.cholesky(C(s)))]
    for g, r in zip(got, ref):
        np.testing.assert_array_equal(g, r)


def test_out_forms():
    a = rnd((2, 4, 4), "float32", 52)
    o = ct.empty(0)
    r = ct.linalg.inv(C(a), out=o)
    assert r is o
    np.testing.assert_allclose(host(o), torch.linalg.inv(T(a)).numpy(), rtol=1e-4, atol=1e-4)
    o1, o2 = ct.empty(0), ct.empty(0, dtype=ct.int32)
    r = ct.linalg.lu_factor(C(a), out=(o1, o2))
    assert r.LU is o1 and r.pivots is o2 and tuple(o2.shape) == (2, 4)
    W, V = ct.empty(0), ct.empty(0)
    ct.linalg.eigh(C(a + np.swapaxes(a, -1, -2)), out=(W, V))
    np.testing.assert_allclose(host(W), np.linalg.eigvalsh(a + np.swapaxes(a, -1, -2)), rtol=1e-4, atol=1e-4)


@pytest.mark.fp64
def test_lu_solve_gradient_complex():
    a = rnd((3, 3), "complex128", 53) + 3 * np.eye(3)
    b = rnd((3, 2), "complex128", 54)
    LU, piv = torch.linalg.lu_factor(T(a))
    P = ct.tensor(piv.numpy())
    for adj in (False, True):
        _gc(lambda LU_, B: ct.linalg.lu_solve(LU_, P, B, adjoint=adj), LU.resolve_conj().numpy(), b)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_item_per_matrix_kernels(monkeypatch, dtype):
    """Real inv/cholesky/LU up to ITEM_MAX run one matrix per work-item (Gauss-Jordan, row-wise Cholesky and
    LU): sizes around the 8-wide vector loops and the threshold, strided and batched inputs, info of singular and
    non-positive-definite matrices inside a batch, and agreement with the work-group kernels."""
    from cltensor._lapack import _core
    monkeypatch.setattr(_core, "_ITEM_ON_GPU", True)     # the same kernels on other devices (checkers)
    tol = 2e-4 if dtype == "float32" else 1e-10
    for n in (1, 7, 9, 17, 64, 65):
        a = rnd((5, n, n), dtype, 60 + n) + n ** 0.5 * np.eye(n, dtype=dtype)
        s = spd((5, n, n), dtype, 70 + n)
        at = C(a).transpose(-1, -2)[::2]          # strided: transposed, every other matrix
        st = C(s)[::2]
        np.testing.assert_allclose(host(ct.linalg.inv(at)), torch.linalg.inv(T(a).mT[::2]).numpy(),
                                   rtol=tol, atol=tol)
        np.testing.assert_allclose(host(ct.linalg.cholesky(st)), torch.linalg.cholesky(T(s)[::2]).numpy(),
                                   rtol=tol, atol=tol)
        r = rnd((3, n, n + 3), dtype, 90 + n)        # LU of wide and tall matrices: pivots as torch
        for x in (r, r.swapaxes(-1, -2)):
            LU, piv, _ = ct.linalg.lu_factor_ex(C(x))
            rLU, rpiv, _ = torch.linalg.lu_factor_ex(T(x))
            np.testing.assert_array_equal(host(piv), rpiv.numpy())
            np.testing.assert_allclose(host(LU), rLU.numpy(), rtol=tol, atol=tol)
        got = (host(ct.linalg.inv(C(a))), host(ct.linalg.cholesky(C(s))), host(ct.linalg.lu_factor(C(a)).LU))
        monkeypatch.setattr(_core, "ITEM_MAX", 0)
        ref = (host(ct.linalg.inv(C(a))), host(ct.linalg.cholesky(C(s))), host(ct.linalg.lu_factor(C(a)).LU))
        monkeypatch.setattr(_core, "ITEM_MAX", 64)
        for g, r in zip(got, ref):
            np.testing.assert_allclose(g, r, rtol=tol, atol=tol)
    a = rnd((3, 12, 12), dtype, 80)
    a[1, :, 9] = 0                                  # singular: LU's first zero pivot is column 9
    _, info = ct.linalg.inv_ex(C(a))
    assert host(info).tolist() == torch.linalg.inv_ex(T(a)).info.tolist() == [0, 10, 0]
    _, _, info = ct.linalg.lu_factor_ex(C(a))
    assert host(info).tolist() == torch.linalg.lu_factor_ex(T(a)).info.tolist() == [0, 10, 0]
    s = spd((1, 12, 12), dtype, 82)                 # broadcast batch (stride 0), upper
    got = ct.linalg.cholesky(C(s).expand(3, 12, 12), upper=True)
    np.testing.assert_allclose(host(got), torch.linalg.cholesky(T(s).expand(3, 12, 12), upper=True).numpy(),
                               rtol=tol, atol=tol)
    s = spd((3, 12, 12), dtype, 81)
    s[2, 10, 10] = -100                             # leading minor of order 11 not positive-definite
    _, info = ct.linalg.cholesky_ex(C(s))
    assert host(info).tolist() == torch.linalg.cholesky_ex(T(s)).info.tolist() == [0, 0, 11]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cholesky_vectorised_batches(monkeypatch, dtype):
    """Batches of real n <= 32 run several matrices per work-item (chol_vec): a batch that is no multiple of the
    vector width, strided and broadcast inputs, failing matrices (info, and A's rows from the failing one on, as the
    one-matrix-per-work-item kernel leaves them) among good ones."""
    from cltensor._lapack import _core
    monkeypatch.setattr(_core, "_ITEM_ON_GPU", True)
    tol = 2e-4 if dtype == "float32" else 1e-10
    for n in (1, 7, 32):
        s = spd((2 * 21, n, n), dtype, 100 + n)
        s[5, n - 1, n - 1] = -1                    # leading minor of order n not positive-definite
        s[8, 0, 0] = np.nan
        s[33] = 0
        for x in (C(s), C(s).transpose(-1, -2)[::2]):
            ref = torch.linalg.cholesky_ex(T(s).mT[::2] if x.shape[0] == 21 else T(s))
            L, info = ct.linalg.cholesky_ex(x)
            assert host(info).tolist() == ref.info.tolist()
            ok = ref.info.numpy() == 0
            np.testing.assert_allclose(host(L)[ok], ref.L.numpy()[ok], rtol=tol, atol=tol)
            monkeypatch.setattr(_core, "CHOL_VEC_B", 10 ** 9)
            L1, info1 = ct.linalg.cholesky_ex(x)
            monkeypatch.setattr(_core, "CHOL_VEC_B", 16)
            np.testing.assert_array_equal(host(info1), host(info))
            np.testing.assert_allclose(host(L1), host(L), rtol=tol, atol=tol, equal_nan=True)
        b = ct.linalg.cholesky(C(s[:1]).expand(20, n, n))
        np.testing.assert_allclose(host(b), np.broadcast_to(torch.linalg.cholesky(T(s[0])).numpy(), (20, n, n)),
                                   rtol=tol, atol=tol)
    with pytest.raises(ct.linalg.LinAlgError, match=r"\(Batch element 5\): The factorization"):
        ct.linalg.cholesky(C((spd((20, 4, 4), dtype, 3) * np.where(np.arange(20) == 5, -1, 1)[:, None, None])
                             .astype(dtype)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_blocked_lu_row_interchanges(monkeypatch, dtype):
    """Blocked LU above 64 columns: U12 by GEMM with L11^-1 from 128 trailing columns on, row interchanges of
    contiguous rows as 32-bit word vectors (laswp_rows; also behind lu_solve), against the column-wise kernels
    and torch. Tall, wide and batched matrices."""
    from cltensor._lapack import _core
    monkeypatch.setattr(_core, "_ROWS_ON_GPU", True)
    tol = 1e-3 if dtype in ("float32", "complex64") else 1e-9
    for shape in [(200, 200), (2, 130, 197), (210, 70)]:
        a = rnd(shape, dtype, 90 + shape[-1])
        LU, piv, info = ct.linalg.lu_factor_ex(C(a))
        rLU, rpiv, _ = torch.linalg.lu_factor_ex(T(a))
        np.testing.assert_array_equal(host(piv), rpiv.numpy())
        np.testing.assert_allclose(host(LU), rLU.numpy(), rtol=tol, atol=tol)
        monkeypatch.setattr(_core, "_laswp_rows", lambda *args: False)
        got = [host(x) for x in ct.linalg.lu_factor_ex(C(a))]
        monkeypatch.undo()
        monkeypatch.setattr(_core, "_ROWS_ON_GPU", True)
        np.testing.assert_array_equal(got[1], host(piv))
        np.testing.assert_allclose(got[0], host(LU), rtol=tol, atol=tol)
    a = rnd((3, 9, 9), dtype, 95)
    b = rnd((3, 9, 2), dtype, 96)
    LU, piv = ct.linalg.lu_factor(C(a))
    for adj in (False, True):
        x = ct.linalg.lu_solve(LU, piv, C(b), adjoint=adj)
        ref = torch.linalg.lu_solve(*torch.linalg.lu_factor(T(a)), T(b), adjoint=adj)
        np.testing.assert_allclose(host(x), ref.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_blocked_qr(dtype):
    """Real QR with min(m, n) >= 96 (or >= 48 in batches of 4): panels of 32 reflectors and compact WY updates,
    Q formed blockwise; tall, wide, complete, batched and strided inputs, geqrf and householder_product."""
    tol = 2e-4 if dtype == "float32" else 1e-10
    for shape, mode in [((97, 97), "reduced"), ((130, 100), "complete"), ((100, 130), "reduced"),
                        ((4, 50, 49), "reduced"), ((4, 50, 49), "complete")]:
        a = rnd(shape, dtype, 100 + shape[-1])
        Q, R = ct.linalg.qr(C(a), mode=mode)
        rQ, rR = torch.linalg.qr(T(a), mode=mode)
        np.testing.assert_allclose(host(Q), rQ.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(host(R), rR.numpy(), rtol=tol, atol=tol * 10)
    a = rnd((2, 110, 100), dtype, 110)
    at = C(a).transpose(-1, -2)                     # strided (100 x 110 rows)
    np.testing.assert_allclose(host(ct.linalg.qr(at).R), torch.linalg.qr(T(a).mT).R.numpy(), rtol=tol,
                               atol=tol * 10)
    g, tau = ct.geqrf(C(a))
    rg, rtau = torch.geqrf(T(a))
    np.testing.assert_allclose(host(tau), rtau.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(host(g), rg.numpy(), rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(host(ct.linalg.householder_product(g, tau[..., :97])),
                               torch.linalg.householder_product(rg, rtau[..., :97]).numpy(), rtol=tol, atol=tol)
