"""LU, Cholesky and triangular solves and what is built on them: det, slogdet, logdet, inv, solve, solve_triangular,
cholesky, cholesky_solve, cholesky_inverse, lu_factor, lu, lu_solve, lu_unpack (torch.linalg and the torch.*
forms), with PyTorch's backward formulas.

The non-_ex forms read the `info` tensor on the host to raise LinAlgError: a synchronisation PyTorch's own
checks also make (the _ex forms never synchronise)."""
from .. import _creation
from .. import _ops
from .. import _dtypes as D
from .._registry import register
from ..autograd import _tape as AG
from . import _core as C


class LinAlgError(RuntimeError):
    """Raised for singular or not positive-definite input (torch.linalg.LinAlgError)."""


register("LinAlgError", LinAlgError, namespace="linalg", kind="util")

_FLOATS = (D.float32, D.float64, D.complex64, D.complex128)


def check_dtype(A, name):
    if A._dtype not in _FLOATS:
        if A._dtype is D.float16 or A._dtype is getattr(D, "bfloat16", None):
            raise RuntimeError(f"{name}: Low precision dtypes not supported. Got {A._dtype._alias}")
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got {A._dtype._alias}")


def check_square(A, name, what="A"):
    if A.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor {what} must have at least 2 dimensions.")
    if A._shape[-1] != A._shape[-2]:
        raise RuntimeError(f"{name}: {what} must be batches of square matrices, but they are "
                           f"{A._shape[-2]} by {A._shape[-1]} matrices")


def check_matrix(A, name, what="A"):
    if A.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor {what} must have at least 2 dimensions.")


def raise_info(info, msg, batched):
    """Raise LinAlgError(msg(value)) for the first non-zero info (a host read, as PyTorch's checks)."""
    vals = info.reshape(-1).tolist()
    for i, v in enumerate(vals):
        if v > 0:
            pre = f"(Batch element {i}): " if batched else ""
            head, _, tail = msg(v).partition(": ")
            raise LinAlgError(f"{head}: {pre}{tail}")


def _work(A, shape=None):
    """A fresh contiguous copy of A (broadcast to shape), outside autograd: the kernels work in place on it."""
    with AG.no_grad():
        if shape is not None and tuple(A._shape) != tuple(shape):
            A = A.expand(*shape)
        return A.clone(memory_format="contiguous_format") if A.is_contiguous() else A.contiguous()


def _flat3(t):
    """(B, r, c) view of a contiguous (..., r, c) tensor."""
    return t.reshape(-1, t._shape[-2], t._shape[-1]) if t.dim() != 3 else t


# ---------------------------------------------------------------- raw (no autograd) building blocks

def _lu_raw(A):
    LU = _work(A)
    piv, info = C.lu_(LU)
    return LU, piv, info


def _lu_solve_raw(LU, piv, B, adjoint=False):
    """X = A^-1 B (adjoint: A^-H B) for A = P L U; B (..., n, k) broadcast with LU's batch; returns fresh X."""
    n = LU._shape[-1]
    bshape = _bshape(LU._shape[:-2], B._shape[:-2])
    X = _work(B, (*bshape, n, B._shape[-1]))
    X3 = _flat3(X)
    xbs = n * B._shape[-1]
    with AG.no_grad():
        T, tbs = C.batch_view(LU, bshape)
        T3 = T.reshape(-1, n, n) if T.dim() != 3 else T
        if T3._shape[0] == 1 and X3._shape[0] > 1:
            tbs = 0
        p, pbs = C.batch_view(piv.unsqueeze(-1), bshape)
        p3 = p.reshape(-1, p._shape[-2], 1)[..., 0] if p.dim() != 3 else p[..., 0]
        if p3._shape[0] == 1 and X3._shape[0] > 1:
            pbs = 0
        conj = LU._dtype.is_complex
        if not adjoint:
            C.laswp_(X3, xbs, p3, pbs)
            C.trsm_(T3, tbs, X3, xbs, upper=False, unit=True)
            C.trsm_(T3, tbs, X3, xbs, upper=True, unit=False)
        else:     # A^H = U^H L^H P^T
            Tt = T3.transpose(-1, -2)
            C.trsm_(Tt, tbs, X3, xbs, upper=False, unit=False, conj=conj)
            C.trsm_(Tt, tbs, X3, xbs, upper=True, unit=True, conj=conj)
            C.laswp_(X3, xbs, p3, pbs, rev=True)
    return X


def _bshape(*shapes):
    out = []
    for dims in zip(*[(1,) * (max(map(len, shapes)) - len(s)) + tuple(s) for s in shapes]):
        big = [d for d in dims if d != 1]
        if any(d != big[0] for d in big):
            raise RuntimeError(f"The size of tensor a ({dims[0]}) must match the size of tensor b ({dims[1]}) "
                               "at non-singleton dimension")
        out.append(big[0] if big else 1)
    return tuple(out)


def _eye_like(A):
    n = A._shape[-1]
    return _creation.eye(n, dtype=A._dtype, device=A.device)


# ---------------------------------------------------------------- LU

def _lu_factor_backward(A, LU, piv, g):
    """PyTorch's LU backward for square A = P L U (packed gradient g of LU):
    gA = P L^-H (tril(L^H gL, -1) + triu(gU U^H)) U^-H."""
    m, n = LU._shape[-2], LU._shape[-1]
    if m != n:
        raise NotImplementedError("lu_factor backward is implemented for square matrices only")
    L = LU.tril(-1) + _eye_like(LU)
    U = LU.triu()
    gL, gU = g.tril(-1), g.triu()
    phi = (L.mH @ gL).tril(-1) + (gU @ U.mH).triu()
    X = solve_triangular(L.mH, phi, upper=True, unitriangular=True)
    X = solve_triangular(U.mH, X, upper=False, left=False)
    P = C.perm_matrix(piv.clone(), m, LU._dtype)
    return P @ X


@register("lu_factor_ex", namespace="linalg")
def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    check_dtype(A, "linalg.lu_factor_ex")
    check_matrix(A, "torch.linalg.lu_factor_ex")
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    LU, piv, info = _lu_raw(A)
    if check_errors:
        raise_info(info, lambda v: f"torch.linalg.lu_factor_ex: U[{v},{v}] is zero and using it on lu_solve would "
                   "result in a division by zero.", A.dim() > 2)
    if AG.needs_grad(A):
        AG.record("LinalgLuFactorExBackward0", (A,), (LU, None, None),
                  lambda g, *_: (_lu_factor_backward(A, LU, piv, g),), saved=(LU,))
    return _out3((LU, piv, info), out, "torch.return_types.linalg_lu_factor_ex")


def _out3(res, out, tname):
    if out is not None:
        res = tuple(_outx(r, o) for r, o in zip(res, out))
    return _named(tname, res)


_TYPES = {}


def _named(tname, res):
    import collections
    fields = {"linalg_lu_factor_ex": ("LU", "pivots", "info"), "linalg_lu_factor": ("LU", "pivots"),
              "linalg_lu": ("P", "L", "U"), "lu_unpack": ("P", "L", "U"), "linalg_slogdet": ("sign", "logabsdet"),
              "slogdet": ("sign", "logabsdet"), "linalg_inv_ex": ("inverse", "info"),
              "linalg_solve_ex": ("result", "info"), "linalg_cholesky_ex": ("L", "info"),
              "linalg_eigh": ("eigenvalues", "eigenvectors"), "linalg_svd": ("U", "S", "Vh"), "linalg_qr": ("Q", "R"),
              "linalg_eig": ("eigenvalues", "eigenvectors"), "linalg_lstsq": ("solution", "residuals", "rank",
                                                                             "singular_values"),
              "linalg_ldl_factor_ex": ("LD", "pivots", "info"), "linalg_ldl_factor": ("LD", "pivots"),
              "linalg_inv_ex_": ("inverse", "info")}
    short = tname.rsplit(".", 1)[-1]
    T = _TYPES.get(short)
    if T is None:
        T = _TYPES[short] = collections.namedtuple(short, fields[short])
    return T(*res)


@register("lu_factor", namespace="linalg")
def lu_factor(A, *, pivot=True, out=None):
    check_dtype(A, "linalg.lu_factor")
    LU, piv, info = lu_factor_ex(A, pivot=pivot)
    raise_info(info, lambda v: f"torch.linalg.lu_factor: U[{v},{v}] is zero and using it on lu_solve would result in "
               "a division by zero. If you still want to perform the factorization, consider calling "
               "linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)", False)
    return _out3((LU, piv), out, "torch.return_types.linalg_lu_factor")


@register("lu_unpack", method=False)
def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    m, n = LU_data._shape[-2], LU_data._shape[-1]
    k = min(m, n)
    P = L = U = _creation.empty(0, dtype=LU_data._dtype, device=LU_data.device)
    if unpack_data:
        L = LU_data[..., :, :k].tril(-1) + _creation.eye(m, k, dtype=LU_data._dtype, device=LU_data.device)
        U = LU_data[..., :k, :].triu()
    if unpack_pivots:
        piv = LU_pivots.to(D.int32).contiguous().clone()
        P = C.perm_matrix(piv, m, LU_data._dtype)
    return _out3((P, L, U), out, "torch.return_types.lu_unpack")


@register("lu", namespace="linalg")
def linalg_lu(A, *, pivot=True, out=None):
    check_dtype(A, "linalg.lu")
    LU, piv, _ = lu_factor_ex(A, pivot=pivot)
    return _out3(tuple(lu_unpack(LU, piv)), out, "torch.return_types.linalg_lu")


def _t_lu(A, pivot=True, get_infos=False, out=None):
    LU, piv, info = lu_factor_ex(A, pivot=pivot)
    if get_infos:
        return LU, piv, info
    return LU, piv


register("lu", _t_lu, method=True)


@register("lu_solve", namespace="linalg")
def linalg_lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    check_dtype(LU, "linalg.lu_solve")
    check_square(LU, "linalg.lu_solve", "LU")
    if not left:    # X A = B  <=>  A^H X^H = B^H
        X = linalg_lu_solve(LU, pivots, B.mH, left=True, adjoint=not adjoint)
        return _outx(X.mH, out)
    if B._shape[-2] != LU._shape[-1]:
        raise RuntimeError(f"linalg.lu_solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({LU._shape[-2]}x{LU._shape[-1]} and {B._shape[-2]}x{B._shape[-1]})")
    X = _lu_solve_raw(LU, pivots.to(D.int32) if pivots._dtype is not D.int32 else pivots, B, adjoint)
    if AG.needs_grad(LU, B):
        glu = AG.needs_grad(LU)

        def bw(g):
            gB = _sum_to(linalg_lu_solve(LU, pivots, g, adjoint=not adjoint), B._shape)
            return (_lu_solve_grad_lu(LU, pivots, B, X, g, adjoint) if glu else None), None, gB
        AG.record("LinalgLuSolveBackward0", (LU, None, B), X, bw, saved=(LU, X))
    return _outx(X, out)


def _lu_solve_grad_lu(LU, pivots, B, X, g, adjoint):
    """Gradient of X = A^-1 B (adjoint: A^-H B), A = P L U, with respect to the packed LU:
    A^-1 B:  G = U^-H gX, gU = -triu(G X^H), gL = -tril(L^-H G (U X)^H, -1);
    A^-H B:  W = P^T X, H = L^-1 P^T gX, Z = L^H W, gL = -tril(W H^H, -1), gU = -triu(Z (U^-1 H)^H)."""
    L = LU.tril(-1) + _eye_like(LU)
    U = LU.triu()
    if not adjoint:
        G = solve_triangular(U.mH, g, upper=False)
        gU = -(G @ X.mH).triu()
        gL = -(solve_triangular(L.mH, G, upper=True, unitriangular=True) @ (U @ X).mH).tril(-1)
    else:
        P = C.perm_matrix(pivots.to(D.int32).contiguous().clone(), LU._shape[-1], LU._dtype)
        W = P.mT @ X
        H = solve_triangular(L, P.mT @ g, upper=False, unitriangular=True)
        Z = L.mH @ W
        gL = -(W @ H.mH).tril(-1)
        gU = -(Z @ solve_triangular(U, H, upper=True).mH).triu()
    return _sum_to(gL + gU, LU._shape)


def _outx(X, out):
    if out is None:
        return X
    if tuple(out._shape) != tuple(X._shape):
        _ops._resize_(out, X._shape)
    return _ops.copy_into(out, X)


def _t_lu_solve(b, LU_data, LU_pivots, *, out=None):
    return linalg_lu_solve(LU_data, LU_pivots, b, out=out)


register("lu_solve", _t_lu_solve, method=True)


# ---------------------------------------------------------------- solve, inv

def _solve_raw(A, B):
    LU, piv, info = _lu_raw(A)
    return _lu_solve_raw(LU, piv, B), LU, piv, info


def _vector_case(A, B):
    return B.dim() == 1 or (B.dim() == A.dim() - 1 and tuple(B._shape) == tuple(A._shape[:-1]))


@register("solve_ex", namespace="linalg")
def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    name = "linalg.solve"
    check_dtype(A, name)
    check_square(A, name)
    if B._dtype is not A._dtype:
        raise RuntimeError(f"{name}: Expected A and B to have the same dtype, but found A of type "
                           f"{A._dtype._alias} and B of type {B._dtype._alias} instead")
    vec = _vector_case(A, B)
    Bm = B.unsqueeze(-1) if vec else B
    if not left:
        if vec:
            Bm = B.unsqueeze(-2)
        Am = A.mT
        X, info = solve_ex(Am, Bm.mT, check_errors=check_errors)
        X = X.mT
        return _named("torch.return_types.linalg_solve_ex", (_outx(X.squeeze(-2) if vec else X, out), info))
    n = A._shape[-1]
    if Bm._shape[-2] != n:
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation AX = B "
                           f"({A._shape[-2]}x{n} and {Bm._shape[-2]}x{Bm._shape[-1]})")
    X, LU, piv, info = _solve_raw(A, Bm)
    if check_errors:
        raise_info(info, lambda v: "torch.linalg.solve_ex: The solver failed because the input matrix is singular.",
                   A.dim() > 2)
    if AG.needs_grad(A, B):
        ga = AG.needs_grad(A)

        def bw(g):
            gB = linalg_lu_solve(LU, piv, g, adjoint=True)
            gA = -(gB @ X.mH) if ga else None
            gA = _sum_to(gA, A._shape) if gA is not None else None
            gB = _sum_to(gB, Bm._shape)
            return gA, (gB.squeeze(-1) if vec else gB)
        AG.record("LinalgSolveExBackward0", (A, B), X, bw, saved=(LU, X))
    Xo = X.squeeze(-1) if vec else X
    return _named("torch.return_types.linalg_solve_ex", (_outx(Xo, out), info))


def _sum_to(g, shape):
    """Sum g over the broadcast batch dims to shape."""
    if g is None or tuple(g._shape) == tuple(shape):
        return g
    lead = g.dim() - len(shape)
    if lead:
        g = g.sum(tuple(range(lead)))
    dims = tuple(i for i, (a, b) in enumerate(zip(g._shape, shape)) if b == 1 and a != 1)
    return g.sum(dims, keepdim=True) if dims else g


@register("solve", namespace="linalg")
def solve(A, B, *, left=True, out=None):
    X, info = solve_ex(A, B, left=left)
    raise_info(info, lambda v: "torch.linalg.solve: The solver failed because the input matrix is singular.", False)
    return _outx(X, out)


@register("inv_ex", namespace="linalg")
def inv_ex(A, *, check_errors=False, out=None):
    name = "linalg.inv"
    check_dtype(A, name)
    check_square(A, name)
    if C.item_path(C.rt_of(A), A._dtype, A._shape[-1]):    # real, small: Gauss-Jordan, one matrix per work-item
        Ainv, info = C.inv_(_work(A))
    else:
        LU, piv, info = _lu_raw(A)
        Ainv = _lu_solve_raw(LU, piv, _eye_like(A))
    if check_errors:
        raise_info(info, _inv_msg, A.dim() > 2)
    if AG.needs_grad(A):
        AG.record("LinalgInvExBackward0", (A,), (Ainv, None),
                  lambda g, *_: (-(Ainv.mH @ g @ Ainv.mH),), saved=(Ainv,))
    return _named("torch.return_types.linalg_inv_ex", (_outx(Ainv, out), info))


def _inv_msg(v):
    return (f"linalg.inv: The diagonal element {v} is zero, the inversion could not be completed because the input "
            "matrix is singular.")


@register("inv", namespace="linalg")
def inv(A, *, out=None):
    Ainv, info = inv_ex(A)
    raise_info(info, _inv_msg, A.dim() > 2)
    return _outx(Ainv, out)


register("inverse", inv, method=True)


# ---------------------------------------------------------------- det, slogdet

def _perm_sign(piv, dtype):
    k = piv._shape[-1]
    ar = _creation.arange(1, k + 1, dtype=D.int32, device=piv.device)
    swaps = (piv != ar).sum(-1)
    return (1 - 2 * (swaps % 2)).to(dtype)


def _inv_h(A):
    """A^-H (for the determinant gradients; inf/nan for singular A)."""
    return inv_ex(A)[0].mH


@register("det", namespace="linalg")
def det(A, *, out=None):
    check_dtype(A, "linalg.det")
    check_square(A, "linalg.det")
    with AG.no_grad():
        LU, piv, _ = lu_factor_ex(A)
        d = LU.diagonal(dim1=-2, dim2=-1).prod(-1) * _perm_sign(piv, A._dtype)
    if AG.needs_grad(A):      # gA = g conj(det) A^-H
        AG.record("LinalgDetBackward0", (A,), d,
                  lambda g: ((g * d.conj()).unsqueeze(-1).unsqueeze(-1) * _inv_h(A),), saved=(A, d))
    return _outx(d, out)


register("det", det, method=True)


@register("slogdet", namespace="linalg")
def slogdet(A, *, out=None):
    check_dtype(A, "linalg.slogdet")
    check_square(A, "linalg.slogdet")
    with AG.no_grad():
        LU, piv, _ = lu_factor_ex(A)
        dg = LU.diagonal(dim1=-2, dim2=-1)
        sign = dg.sgn().prod(-1) * _perm_sign(piv, A._dtype)
        logabs = dg.abs().log().sum(-1)
    if AG.needs_grad(A):      # gA = (g_abs - i Im(conj(g_sign) sign)) A^-H (PyTorch's slogdet backward)
        def bw(gs, gl):
            g = gl if gl is not None else _creation.zeros_like(logabs)
            if A._dtype.is_complex:
                g = g.to(A._dtype)
                if gs is not None:
                    g = g - 1j * (gs.conj() * sign).imag
            return (g.unsqueeze(-1).unsqueeze(-1) * _inv_h(A),)
        AG.record("LinalgSlogdetBackward0", (A,), (sign, logabs), bw, saved=(A, sign, logabs))
    return _out3((sign, logabs), out, "torch.return_types.linalg_slogdet")


def _t_slogdet(A):
    s, l = slogdet(A)
    return _named("torch.return_types.slogdet", (s, l))


register("slogdet", _t_slogdet, method=True)


def _logdet(A):
    check_dtype(A, "logdet")
    s, l = slogdet(A)
    if A._dtype.is_complex:
        return s.log() + l
    return l.where(s >= 0, float("nan"))     # log of a negative determinant is nan, of 0 is -inf


register("logdet", _logdet, method=True)


# ---------------------------------------------------------------- triangular solves

@register("solve_triangular", namespace="linalg")
def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    name = "linalg.solve_triangular"
    check_dtype(A, name)
    check_square(A, name)
    if B.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor B must have at least 2 dimensions.")
    if B._dtype is not A._dtype:
        raise RuntimeError(f"{name}: Expected A and B to have the same dtype, but found A of type "
                           f"{A._dtype._alias} and B of type {B._dtype._alias} instead")
    n = A._shape[-1]
    if left and B._shape[-2] != n or not left and B._shape[-1] != n:
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({A._shape[-2]}x{n} and "
                           f"{B._shape[-2]}x{B._shape[-1]})")
    X = _trsolve_raw(A, B, upper, left, unitriangular)
    if AG.needs_grad(A, B):
        ga = AG.needs_grad(A)

        def bw(g):
            gB = solve_triangular(A.mH, g, upper=not upper, left=left, unitriangular=unitriangular)
            gA = None
            if ga:
                gA = -(gB @ X.mH) if left else -(X.mH @ gB)
                gA = gA.triu(1 if unitriangular else 0) if upper else gA.tril(-1 if unitriangular else 0)
                gA = _sum_to(gA, A._shape)
            return gA, _sum_to(gB, B._shape)
        AG.record("LinalgSolveTriangularBackward0", (A, B), X, bw, saved=(A, X))
    return _outx(X, out)


def _trsolve_raw(A, B, upper, left, unit):
    if not left:   # X A = B  <=>  A^T X^T = B^T
        return _trsolve_raw(A.mT, B.mT, not upper, True, unit).mT
    n = A._shape[-1]
    bshape = _bshape(A._shape[:-2], B._shape[:-2])
    X = _work(B, (*bshape, n, B._shape[-1]))
    with AG.no_grad():
        T, tbs = C.batch_view(A, bshape)
        T3 = T.reshape(-1, n, n) if T.dim() != 3 else T
        X3 = _flat3(X)
        if T3._shape[0] == 1:
            tbs = 0
        C.trsm_(T3, tbs, X3, n * B._shape[-1], upper=upper, unit=unit)
    return X


def _t_triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    import collections
    M = A.mT if transpose else A
    X = solve_triangular(M, b, upper=upper != bool(transpose), unitriangular=unitriangular)
    T = collections.namedtuple("triangular_solve", ("solution", "cloned_coefficient"))
    return T(X, A.clone())


register("triangular_solve", _t_triangular_solve, method=True)


# ---------------------------------------------------------------- Cholesky

def _chol_msg(name):
    return lambda v: (f"{name}: The factorization could not be completed because the input is not "
                      f"positive-definite (the leading minor of order {v} is not positive-definite).")


def _cholesky_backward(L, gL, upper):
    if upper:
        L, gL = L.mH, gL.mH
    P = (L.mH @ gL).tril()
    P = P - 0.5 * _diag_embed_of(P)
    X = solve_triangular(L.mH, P, upper=True)                # L^-H P
    X = solve_triangular(L, X, upper=False, left=False)     # ... L^-1
    return 0.5 * (X + X.mH)


def _diag_embed_of(P):
    return P * _eye_like(P)


@register("cholesky_ex", namespace="linalg")
def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    name = "linalg.cholesky"
    check_dtype(A, name)
    check_square(A, name)
    with AG.no_grad():
        if C.item_path(C.rt_of(A), A._dtype, A._shape[-1]):     # real, small: no copy, no tril
            L, info = C.cholesky_item(A)
        else:
            W = _work(A)
            info = C.cholesky_(W)
            L = W.tril()
        if upper:
            L = L.mH.contiguous()
    if check_errors:
        raise_info(info, _chol_msg("linalg.cholesky_ex"), A.dim() > 2)
    if AG.needs_grad(A):
        AG.record("LinalgCholeskyExBackward0", (A,), (L, None),
                  lambda g, *_: (_cholesky_backward(L, g, upper),), saved=(L,))
    return _named("torch.return_types.linalg_cholesky_ex", (_outx(L, out), info))


@register("cholesky", namespace="linalg")
def cholesky(A, *, upper=False, out=None):
    L, info = cholesky_ex(A, upper=upper)
    raise_info(info, _chol_msg("linalg.cholesky"), A.dim() > 2)
    return _outx(L, out)


def _t_cholesky(A, upper=False, *, out=None):
    L, info = cholesky_ex(A, upper=upper)
    raise_info(info, _chol_msg("cholesky"), A.dim() > 2)
    return _outx(L, out)


register("cholesky", _t_cholesky, method=True)


@register("cholesky_solve", method=True)
def cholesky_solve(B, L, upper=False, *, out=None):
    check_dtype(L, "cholesky_solve")
    if B.dim() < 2 or L.dim() < 2:
        raise RuntimeError("cholesky_solve: The input tensor must have at least 2 dimensions.")
    n = L._shape[-1]
    bshape = _bshape(L._shape[:-2], B._shape[:-2])
    X = _work(B, (*bshape, n, B._shape[-1]))
    with AG.no_grad():
        T, tbs = C.batch_view(L, bshape)
        T3 = T.reshape(-1, n, n) if T.dim() != 3 else T
        if T3._shape[0] == 1:
            tbs = 0
        X3 = _flat3(X)
        xbs = n * B._shape[-1]
        cx = L._dtype.is_complex
        if not upper:     # A = L L^H
            C.trsm_(T3, tbs, X3, xbs, upper=False, unit=False)
            C.trsm_(T3.transpose(-1, -2), tbs, X3, xbs, upper=True, unit=False, conj=cx)
        else:             # A = U^H U
            C.trsm_(T3.transpose(-1, -2), tbs, X3, xbs, upper=False, unit=False, conj=cx)
            C.trsm_(T3, tbs, X3, xbs, upper=True, unit=False)
    if AG.needs_grad(B, L):
        gl = AG.needs_grad(L)

        def bw(g):
            gB = cholesky_solve(g, L, upper)
            gL = None
            if gl:
                ct = gB @ X.mH
                ct = ct + ct.mH
                gL = -(L @ ct) if upper else -(ct @ L)
                gL = _sum_to(gL, L._shape)
            return _sum_to(gB, B._shape), gL
        AG.record("CholeskySolveBackward0", (B, L), X, bw, saved=(L, X))
    return _outx(X, out)


@register("cholesky_inverse", method=True)
def cholesky_inverse(L, upper=False, *, out=None):
    check_dtype(L, "cholesky_inverse")
    check_square(L, "cholesky_inverse")
    # PyTorch's check of LAPACK potri's info: the first zero diagonal element (a host read)
    with AG.no_grad():
        z = (L.diagonal(dim1=-2, dim2=-1) == 0).to(D.int32)
        first = (z * _creation.arange(1, L._shape[-1] + 1, dtype=D.int32, device=L.device)).where(
            z != 0, L._shape[-1] + 1).amin(-1) if L._shape[-1] else z.sum(-1)
        info = first.where(first <= L._shape[-1], 0)
    raise_info(info, lambda v: f"cholesky_inverse: The diagonal element {v} is zero, the inversion could not be "
               "completed because the input matrix is singular.", L.dim() > 2)
    with AG.no_grad():
        Ainv = cholesky_solve(_eye_like(L).expand(*L._shape), L, upper)
    if AG.needs_grad(L):
        def bw(g):
            ct = Ainv @ (g + g.mH) @ Ainv
            return (-(L @ ct) if upper else -(ct @ L)),
        AG.record("CholeskyInverseBackward0", (L,), Ainv, bw, saved=(L, Ainv))
    return _outx(Ainv, out)
