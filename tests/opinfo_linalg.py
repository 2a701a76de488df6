"""Op-info rows of torch.linalg (cltensor/_lapack). The factorizations and solvers are tested in
tests/test_linalg_ops.py instead of by generated samples: their inputs must be well-conditioned (or positive-
definite, or triangular) matrices, and their results are checked by residuals (LAPACK and the device may pick
different, equally valid factors), with gradients through gradcheck on built inputs and PyTorch's error messages."""

ROWS = []

# tested in tests/test_linalg_ops.py (residuals against numpy, values against torch, gradcheck, errors)
EXEMPT = {
    # torch.linalg.matmul is torch.matmul itself (the "matmul" row tests it)
    "linalg.matmul",
    "linalg.lu_factor_ex", "linalg.lu_factor", "lu_unpack", "linalg.lu", "lu", "linalg.lu_solve", "lu_solve",
    "linalg.solve_ex", "linalg.solve", "linalg.inv_ex", "linalg.inv", "inverse", "linalg.det", "det",
    "linalg.slogdet", "slogdet", "logdet", "linalg.solve_triangular", "triangular_solve", "linalg.cholesky_ex",
    "linalg.cholesky", "cholesky", "cholesky_solve", "cholesky_inverse",
    "linalg.vector_norm", "linalg.matrix_norm", "linalg.norm", "linalg.cond", "linalg.matrix_power", "matrix_power",
    "linalg.multi_dot", "linalg.vecdot", "linalg.diagonal", "linalg.vander", "linalg.cross", "linalg.tensorinv",
    "linalg.tensorsolve", "linalg.eigh", "linalg.eigvalsh", "linalg.svd", "linalg.svdvals", "svd", "linalg.qr", "qr",
    "linalg.householder_product", "orgqr", "geqrf", "linalg.eig", "linalg.eigvals", "linalg.pinv", "pinverse",
    "linalg.matrix_rank", "linalg.lstsq", "linalg.matrix_exp", "matrix_exp", "linalg.ldl_factor",
    "linalg.ldl_factor_ex", "linalg.ldl_solve",
}
