"""torch.distributions.utils: the helpers PyTorch's distribution code and user code import from there (parameter
broadcasting, probs <-> logits, lazily computed attributes, and packing a lower triangle into a vector and back)."""
import numpy as np

from ._ns import T
from .distribution import broadcast_all, lazy_property, logits_to_probs, probs_to_logits, _clamp_probs

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs", "probs_to_logits",
           "tril_matrix_to_vec", "vec_to_tril_matrix"]


def clamp_probs(probs):
    """probs clamped to [eps, 1 - eps] of their dtype."""
    return _clamp_probs(probs)


def _tril_count(n, diag):
    return int(sum(max(0, min(n, i + diag + 1)) for i in range(n)))


def vec_to_tril_matrix(vec, diag=0):
    """(..., N) -> (..., D, D): the entries of the lower triangle (below diagonal `diag`), filled row by row."""
    size = vec.shape[-1]
    n = 0
    while _tril_count(n, diag) < size:
        n += 1
    if _tril_count(n, diag) != size:
        raise ValueError(f"The size of last dimension is {size} which cannot be expressed as the lower triangular "
                         f"part of a square D x D matrix.")
    where = np.full(n * n, size, dtype=np.int64)            # index into [vec, 0]: 0 off the triangle
    rows, cols = np.tril_indices(n, diag)
    where[rows * n + cols] = np.arange(rows.size)
    padded = T.cat([vec, T.zeros(tuple(vec.shape[:-1]) + (1,), dtype=vec.dtype, device=vec.device)], -1)
    return padded.index_select(-1, T.tensor(where, device=vec.device)).reshape(tuple(vec.shape[:-1]) + (n, n))


def tril_matrix_to_vec(mat, diag=0):
    """(..., D, D) -> (..., N): the lower triangle (below diagonal `diag`) row by row."""
    n = mat.shape[-1]
    rows, cols = np.tril_indices(n, diag)
    flat = mat.reshape(tuple(mat.shape[:-2]) + (n * n,))
    return flat.index_select(-1, T.tensor(rows * n + cols, device=mat.device))
