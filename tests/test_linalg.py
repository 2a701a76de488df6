"""matmul family against numpy: PyTorch's 1-D/2-D/batched/broadcast rules, strided operands, dtypes, errors,
gradients."""
import numpy as np
import pytest

import cltensor as ct
from _host import host

RNG = np.random.default_rng(1)


def rnd(*shape, dtype=np.float32):
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(-5, 6, size=shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def close(t, ref, tol=1e-4):
    got = host(t) if t.device.type == "cpu" else host(t.cpu())
    assert got.shape == ref.shape, (got.shape, ref.shape)
    if np.dtype(ref.dtype).kind in "iu":
        np.testing.assert_array_equal(got, ref)
    else:
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


SHAPES = [
    ((3,), (3,)),            # dot
    ((4, 3), (3,)),          # mv
    ((3,), (3, 5)),          # vector @ matrix
    ((4, 3), (3, 5)),        # mm
    ((2, 4, 3), (2, 3, 5)),  # bmm
    ((2, 4, 3), (3, 5)),     # batched @ shared matrix (folded into one GEMM)
    ((4, 3), (2, 3, 5)),     # matrix @ batched
    ((2, 1, 4, 3), (3, 3, 5)),  # broadcast batch dims
    ((2, 4, 3), (3,)),       # batched @ vector
    ((3,), (2, 3, 5)),       # vector @ batched
    ((1, 7), (7, 1)),
    ((0, 3), (3, 4)),        # empty rows
    ((4, 0), (0, 5)),        # empty contraction: zeros
]


@pytest.mark.parametrize("sa,sb", SHAPES)
def test_matmul_shapes(sa, sb):
    a, b = rnd(*sa), rnd(*sb)
    close(ct.tensor(a) @ ct.tensor(b), a @ b)
    close(ct.matmul(ct.tensor(a), ct.tensor(b)), np.matmul(a, b))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.float16])
def test_mm_dtypes(dtype):
    a, b = rnd(7, 129, dtype=dtype), rnd(129, 9, dtype=dtype)
    r = ct.tensor(a) @ ct.tensor(b)
    assert r.dtype == ct.tensor(a).dtype
    if dtype == np.float16:
        ref = (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float16)
        np.testing.assert_allclose(host(r).astype(np.float32), ref.astype(np.float32), rtol=2e-2, atol=0.1)
    else:
        close(r, a @ b, tol=1e-3)


def test_strided_operands_no_copy_needed():
    a, b = rnd(9, 6), rnd(10, 9)
    A, B = ct.tensor(a), ct.tensor(b)
    close(A.T @ B.T, a.T @ b.T)                      # both transposed
    close(A[::2, 1:] @ B[1:6, ::2].T, a[::2, 1:] @ b[1:6, ::2].T)   # stepped slices
    x, y = rnd(3, 4, 5), rnd(5, 2)
    close(ct.tensor(x).transpose(0, 1) @ ct.tensor(y), x.transpose(1, 0, 2) @ y)   # non-collapsible batch
    close(ct.tensor(x).mT @ ct.tensor(x), x.transpose(0, 2, 1) @ x)


def test_expanded_batch():
    a, b = rnd(4, 3), rnd(3, 5)
    A = ct.tensor(a).expand(6, 4, 3)
    close(A @ ct.tensor(b), np.broadcast_to(a, (6, 4, 3)) @ b)
    close(ct.bmm(A, ct.tensor(b).expand(6, 3, 5)), np.broadcast_to(a, (6, 4, 3)) @ b)


def test_odd_sizes():
    for n in (1, 7, 129):
        a, b = rnd(n, n + 1), rnd(n + 1, n + 2)
        close(ct.tensor(a) @ ct.tensor(b), a @ b, tol=1e-3)


def test_addmm_baddbmm_addmv_outer_einsum():
    m, a, b = rnd(4, 5), rnd(4, 3), rnd(3, 5)
    close(ct.addmm(ct.tensor(m), ct.tensor(a), ct.tensor(b), beta=0.5, alpha=2.0), 0.5 * m + 2 * (a @ b))
    close(ct.addmm(ct.tensor(m[0]), ct.tensor(a), ct.tensor(b)), m[0] + a @ b)
    ba, bb, bm = rnd(2, 4, 3), rnd(2, 3, 5), rnd(2, 4, 5)
    close(ct.baddbmm(ct.tensor(bm), ct.tensor(ba), ct.tensor(bb), beta=2, alpha=0.5), 2 * bm + 0.5 * (ba @ bb))
    v = rnd(3)
    close(ct.addmv(ct.tensor(m[:, 0]), ct.tensor(a), ct.tensor(v)), m[:, 0] + a @ v)
    close(ct.outer(ct.tensor(v), ct.tensor(m[0])), np.outer(v, m[0]))
    close(ct.einsum("ij,jk->ik", ct.tensor(a), ct.tensor(b)), a @ b)
    close(ct.einsum("bij,bjk->bik", ct.tensor(ba), ct.tensor(bb)), ba @ bb)
    close(ct.einsum("i,i->", ct.tensor(v), ct.tensor(v)), np.array(v @ v))
    close(ct.einsum("ij->ji", ct.tensor(a)), a.T)


@pytest.mark.fp64
def test_errors():
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        ct.mm(ct.ones(2, 3), ct.ones(2, 3))
    with pytest.raises(RuntimeError, match="same dtype"):
        ct.ones(2, 3) @ ct.ones(3, 2, dtype=ct.float64)
    with pytest.raises(RuntimeError, match="at least 1D"):
        ct.matmul(ct.tensor(1.0), ct.ones(2))
    with pytest.raises(RuntimeError):
        ct.dot(ct.ones(3), ct.ones(4))
    with pytest.raises(RuntimeError):
        ct.bmm(ct.ones(2, 2, 3), ct.ones(3, 3, 2))


@pytest.mark.fp64
def test_matmul_backward():
    a, b = rnd(4, 3).astype(np.float64), rnd(3, 5).astype(np.float64)
    A = ct.tensor(a, requires_grad=True)
    B = ct.tensor(b, requires_grad=True)
    out = A @ B
    assert type(out.grad_fn).__name__ == "MmBackward0"
    g = rnd(4, 5).astype(np.float64)
    out.backward(ct.tensor(g))
    close(A.grad, g @ b.T, 1e-10)
    close(B.grad, a.T @ g, 1e-10)


@pytest.mark.fp64
def test_matmul_gradcheck_batched_broadcast():
    a = ct.tensor(rnd(2, 1, 3, 4).astype(np.float64), requires_grad=True)
    b = ct.tensor(rnd(3, 4, 2).astype(np.float64), requires_grad=True)
    assert ct.autograd.gradcheck(lambda x, y: x @ y, (a, b))
    v = ct.tensor(rnd(4).astype(np.float64), requires_grad=True)
    assert ct.autograd.gradcheck(lambda x, y: x @ y, (a, v))
    m = ct.tensor(rnd(3, 2).astype(np.float64), requires_grad=True)
    assert ct.autograd.gradcheck(lambda i, x, y: ct.addmm(i, x, y, beta=0.5, alpha=2.0),
                                 (m, ct.tensor(rnd(3, 4).astype(np.float64), requires_grad=True),
                                  ct.tensor(rnd(4, 2).astype(np.float64), requires_grad=True)))
