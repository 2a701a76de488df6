"""torch.lobpcg: the k extreme eigenpairs of a symmetric (Hermitian) matrix A, or of the generalized problem
A x = lambda B x with B positive definite, by the locally optimal block preconditioned conjugate gradient method
(Knyazev 2001). Each iteration does a Rayleigh-Ritz step on the span of the current block X, the preconditioned
residuals W = iK (A X - B X diag(E)) and the previous search directions P; the basis is B-orthonormalised through
the eigendecomposition of its Gram matrix, dropping directions whose Gram eigenvalue is below eps times the
largest (near convergence W and P become nearly dependent). Stops when every wanted residual norm is below
tol * (|E_j| ||B||-scaled size of x_j + ||A x_j||), or after niter iterations. The products run on the device;
the convergence test reads k norms per iteration (its iteration count depends on the data). Batched over leading
dims one matrix at a time. Autograd: the eigenvalues are the Rayleigh quotients x^H A x (B: / x^H B x) of the
returned vectors, whose gradient w.r.t. A is exact at convergence; the eigenvectors carry no gradient."""
import math

from .. import _creation as C
from .. import _dtypes as D
from .. import _linalg as L
from .. import _shape
from ..autograd import _tape as AG
from .._registry import register
from .._tensor import Tensor
from . import _eigen

__all__ = ["lobpcg"]


def _eigh_sym(H):
    """eigh of the Hermitian part of H (a product that is Hermitian up to rounding)."""
    return _eigen.eigh((H + H.mH) * 0.5)


def _b_orthonormal(S, B, eps):
    """Columns spanning S's range, B-orthonormal (dependent directions dropped)."""
    BS = S if B is None else L.matmul(B, S)
    lam, V = _eigh_sym(L.matmul(S.mH, BS))
    lv = lam.tolist()
    top = max(abs(x) for x in lv) if lv else 0.0
    keep = [i for i, x in enumerate(lv) if x > eps * top]
    if not keep:
        return S[..., :0]
    idx = C.tensor(keep, device=S.device)
    scale = lam.index_select(0, idx).rsqrt()
    return L.matmul(S, V.index_select(1, idx) * scale)


def _pick(E, n, largest):
    m = E.shape[0]
    order = list(range(m - 1, m - 1 - n, -1)) if largest else list(range(n))
    return order


def _one(A, B, X, iK, k, n, niter, tol, largest, eps):
    X = _b_orthonormal(X, B, eps)
    if X.shape[-1] < n:
        raise RuntimeError("lobpcg: the initial block X is rank deficient")
    E, Z = _eigh_sym(L.matmul(X.mH, L.matmul(A, X)))
    sel = C.tensor(_pick(E, n, largest), device=A.device)
    X, E = L.matmul(X, Z.index_select(1, sel)), E.index_select(0, sel)
    P = None
    for _ in range(niter):
        AX = L.matmul(A, X)
        BX = X if B is None else L.matmul(B, X)
        R = AX - BX * E.to(X.dtype)
        rn = R.abs().pow(2).sum(0).sqrt().tolist()
        scale = (AX.abs().pow(2).sum(0).sqrt() + E.abs() * BX.abs().pow(2).sum(0).sqrt()).tolist()
        if all(r <= tol * max(s, 1e-300) for r, s in zip(rn[:k], scale[:k])):
            break
        W = R if iK is None else L.matmul(iK, R)
        S = _shape.cat([X, W] + ([P] if P is not None else []), dim=1)
        Q = _b_orthonormal(S, B, eps)
        Ea, Za = _eigh_sym(L.matmul(Q.mH, L.matmul(A, Q)))
        sel = C.tensor(_pick(Ea, n, largest), device=A.device)
        Xn = L.matmul(Q, Za.index_select(1, sel))
        P = Xn - L.matmul(X, L.matmul(BX.mH, Xn))        # the new block's part B-orthogonal to span(X)
        X, E = Xn, Ea.index_select(0, sel)
    return E[:k], X[:, :k]


@register("lobpcg")
def lobpcg(A, k=None, B=None, X=None, n=None, iK=None, niter=None, tol=None, largest=None, method=None,
           tracker=None, ortho_iparams=None, ortho_fparams=None, ortho_bparams=None):
    """(E, X): the k largest (largest=True, default) or smallest eigenvalues of A (generalized: of (A, B)) and their
    eigenvectors, batched over leading dims. method ("basic"/"ortho") and the ortho_* parameters are accepted; the
    B-orthonormalisation is always the robust Gram-eigendecomposition form (module doc). tracker(state) is not
    called."""
    if not isinstance(A, Tensor):
        raise TypeError(f"lobpcg(): argument 'A' must be Tensor, not {type(A).__name__}")
    if A.dim() < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"A must be square, got shape {tuple(A.shape)}")
    if not (A.is_floating_point() or A.is_complex()):
        raise RuntimeError(f"lobpcg: expected a floating point or complex A, got {A.dtype}")
    if method not in (None, "basic", "ortho"):
        raise ValueError(f"Unknown method {method!r}: expected 'basic' or 'ortho'")
    m = A.shape[-1]
    if X is None:
        k = 1 if k is None else k
        n = k if n is None else n
    else:
        k = X.shape[-1] if k is None else k
        n = X.shape[-1]
    if m < 3 * n:
        raise ValueError(f"LOBPCG algorithm is not applicable when the number of A rows (={m}) is smaller than 3 x "
                         f"the number of requested eigenpairs (={n})")
    if k > n:
        raise ValueError(f"lobpcg: k (={k}) must not exceed the block size n (={n})")
    largest = True if largest is None else bool(largest)
    niter = 1000 if niter is None else (10 ** 9 if niter < 0 else int(niter))
    real = A.dtype.to_real() if A.is_complex() else A.dtype
    eps = D.finfo(real).eps
    tol = math.sqrt(eps) if tol is None else float(tol)
    batch = tuple(A.shape[:-2])
    with AG.no_grad():
        Ad = A.detach().reshape(-1, m, m)
        Bd = None if B is None else B.detach().broadcast_to(batch + (m, m)).reshape(-1, m, m)
        Kd = None if iK is None else iK.detach().broadcast_to(batch + (m, m)).reshape(-1, m, m)
        Xd = None if X is None else X.detach().broadcast_to(batch + (m, n)).reshape(-1, m, n)
        Es, Vs = [], []
        for b in range(Ad.shape[0]):
            x0 = Xd[b] if Xd is not None else C.randn(m, n, dtype=A.dtype, device=A.device)
            e, v = _one(Ad[b], None if Bd is None else Bd[b], x0, None if Kd is None else Kd[b], k, n, niter, tol,
                        largest, 100 * eps)
            Es.append(e)
            Vs.append(v)
        E = _shape.stack(Es).reshape(batch + (k,))
        V = _shape.stack(Vs).reshape(batch + (m, k))
    if AG.needs_grad(A):
        # the Rayleigh quotients of the (detached) eigenvectors: their A-gradient is x x^H at convergence
        AV = L.matmul(A, V)
        num = (V.conj() * AV).sum(-2) if V.is_complex() else (V * AV).sum(-2)
        E = num.real if num.is_complex() else num
        if B is not None:
            BV = L.matmul(B.detach(), V)
            den = (V.conj() * BV).sum(-2).real if V.is_complex() else (V * BV).sum(-2)
            E = E / den
    return E, V
