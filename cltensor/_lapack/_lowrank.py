"""torch.svd_lowrank and torch.pca_lowrank: a randomized truncated SVD (Halko, Martinsson and Tropp 2011): an
orthonormal basis Q of A's dominant column space from A times a Gaussian test matrix, refined by `niter` subspace
iterations (each re-orthonormalised by QR), then the SVD of the small matrix Q^H (A - M). Everything runs on our
GEMM, QR and SVD; the test matrix comes from cltensor's random stream (so the results are a valid truncated SVD,
not PyTorch's bit pattern). Batched over leading dims; differentiable through the ops it is made of."""
from .. import _creation as C
from .. import _linalg as L
from .._registry import register
from .._tensor import Tensor
from . import _eigen, _qr as QR

__all__ = ["svd_lowrank", "pca_lowrank"]


def _range_basis(A, q, niter, M, generator=None):
    """Orthonormal (..., m, q) basis approximating the range of A - M."""
    n = A.shape[-1]
    R = C.randn(*A.shape[:-2], n, q, dtype=A.dtype, device=A.device, generator=generator)
    X = L.matmul(A, R)
    if M is not None:
        X = X - L.matmul(M, R)
    Q = _qr(X)
    for _ in range(niter):
        X = L.matmul(A.mH, Q)
        if M is not None:
            X = X - L.matmul(M.mH, Q)
        Q = _qr(X)
        X = L.matmul(A, Q)
        if M is not None:
            X = X - L.matmul(M, Q)
        Q = _qr(X)
    return Q


def _qr(x):
    return QR.qr(x)[0]


def _check(A, name):
    if not isinstance(A, Tensor):
        raise TypeError(f"{name}(): argument 'A' must be Tensor, not {type(A).__name__}")
    if A.dim() < 2:
        raise RuntimeError(f"{name}: expected a matrix or a batch of matrices, got a {A.dim()}-D tensor")
    if not (A.is_floating_point() or A.is_complex()):
        raise RuntimeError(f"{name}: expected a floating point or complex tensor, got {A.dtype}")


def _check_pca(A, q, niter):
    m, n = A.shape[-2:]
    if not (isinstance(q, int) and 0 <= q <= min(m, n)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if not (isinstance(niter, int) and niter >= 0):
        raise ValueError(f"niter(={niter}) must be non-negative integer")


def _svd_lowrank(A, q, niter, M):
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)
    if m < n:                  # work on the tall A^H: U and V swap
        V, S, U = _svd_lowrank(A.mH, q, niter, None if M is None else M.mH)
        return U, S, V
    Q = _range_basis(A, q, niter, M)
    B = L.matmul(Q.mH, A if M is None else A - M)
    U, S, Vh = _eigen.svd(B, full_matrices=False)
    return L.matmul(Q, U), S, Vh.mH


@register("svd_lowrank")
def svd_lowrank(A, q=6, niter=2, M=None):
    """(U, S, V) with A - M ~ U diag(S) V^H: the q largest singular triplets, approximately (exact when A - M has
    rank <= q); niter subspace iterations sharpen them when the spectrum decays slowly."""
    q = 6 if q is None else q
    _check(A, "svd_lowrank")            # (as PyTorch, q may exceed min(m, n): the factors then have min(m, n))
    return _svd_lowrank(A, q, max(int(niter), 0), M)


@register("pca_lowrank")
def pca_lowrank(A, q=None, center=True, niter=2):
    """(U, S, V) of the (column-centred when center) data matrix A, q = min(6, m, n) components by default: the
    principal directions are V's columns, S**2 / (m - 1) their variances."""
    _check(A, "pca_lowrank")
    m, n = A.shape[-2:]
    q = min(6, m, n) if q is None else q
    _check_pca(A, q, niter)
    M = A.mean(dim=-2, keepdim=True) if center else None
    return _svd_lowrank(A, q, niter, M)
