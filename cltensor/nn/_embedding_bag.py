"""embedding_bag (sum / mean / max over bags of looked-up rows) and embedding's scale_grad_by_freq, as PyTorch.

A bag is a row of a 2-D input or a slice input[offsets[i]:offsets[i + 1]] of a 1-D one. The looked-up rows
(times per_sample_weights) are gathered into a dense (bags, longest bag, D) block whose missing and padding_idx
entries read a sentinel row (0 for sum/mean, -inf for max), then reduced along the bag: every step is a
differentiable op, so gradients follow (max: to the chosen row). Empty bags give zeros as in PyTorch.
"""
import numpy as np

from .. import _creation as C
from .. import _dtypes as D
from .. import autograd as AG
from .._shape import cat
from .._tensor import Tensor
from . import _embedding

__all__ = ["embedding_bag", "embedding_scaled_grad", "sparse_error"]


def sparse_error():
    return NotImplementedError("embedding: sparse=True asks for a sparse gradient, which cltensor does not "
                               "support (no sparse tensor layouts); use sparse=False for a dense gradient")


def _freq(input, V):
    """1 / (occurrences of each row in input), shape (V, 1), as a float32 numpy array (>= 1 occurrence)."""
    cnt = np.bincount(input._to_numpy_copy().reshape(-1).astype(np.int64), minlength=V)[:V]
    return (1.0 / np.maximum(cnt, 1)).reshape(V, 1)


def embedding_scaled_grad(input, weight, padding_idx, freq_input=None):
    """embedding(input, weight) whose weight gradient is divided by each row's frequency in freq_input."""
    if not AG.needs_grad(weight):
        return _embedding.embedding(input, weight, padding_idx)
    V = weight.shape[0]
    f = C.tensor(_freq(input if freq_input is None else freq_input, V), dtype=weight.dtype, device=weight.device)
    wd = weight.detach()
    with AG.no_grad():
        out = _embedding.embedding(input, wd, padding_idx)

    def bw(g):
        with AG.enable_grad():
            w2 = wd.detach().requires_grad_()
            o = _embedding.embedding(input, w2, padding_idx)
            gw, = AG.grad([o], [w2], [g])
        return (gw * f,)
    AG.record("EmbeddingBackward0", (weight,), out, bw, saved=(weight,))
    return out


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None, renorm=None):
    """renorm: embedding's in-place max_norm renormalisation (weight, input, max_norm, norm_type)."""
    if not isinstance(input, Tensor) or input.dtype not in (D.int64, D.int32):
        name = type(input).__name__ if not isinstance(input, Tensor) else input.type()
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {name} instead (while checking arguments for embedding_bag)")
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.dim()}")
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({_size(per_sample_weights.shape)}) is not None, "
                         f"then it must have the same shape as the input ({_size(input.shape)})")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                                  "GitHub.")
    if scale_grad_by_freq and mode == "max":
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if sparse:
        raise sparse_error()
    V = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= V:
                raise AssertionError("padding_idx must be within the number of embeddings")
        elif padding_idx < 0:
            if padding_idx < -V:
                raise AssertionError("padding_idx must be within the number of embeddings")
            padding_idx = V + padding_idx
    idx = input._to_numpy_copy().astype(np.int64)
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             "fixed length sequences. However, found offsets of type "
                             f"{_ns_type(offsets)}")
        nb, n = idx.shape
        starts = np.arange(nb, dtype=np.int64) * n
        ends = starts + n
        flat = input.reshape(-1)
        psw = None if per_sample_weights is None else per_sample_weights.reshape(-1)
        idx = idx.reshape(-1)
    elif input.dim() == 1:
        if offsets is None or not isinstance(offsets, Tensor) or offsets.dim() != 1:
            raise ValueError(f"offsets has to be a 1D Tensor but got {offsets if offsets is None else offsets.dim()}")
        off = offsets._to_numpy_copy().astype(np.int64)
        N = idx.shape[0]
        if off.size and off[0] != 0:
            raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
                               f"from position 0. However, got {off[0]}\n[ torch.LongTensor{{}} ]")
        if off.size and off[-1] > N:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length {N} but got offsets[-1] of "
                               f"{off[-1]}")
        if include_last_offset:
            starts, ends = off[:-1], off[1:]
        else:
            starts, ends = off, np.append(off[1:], N)
        flat, psw = input, per_sample_weights
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    bad = (idx < 0) | (idx >= V)
    if bad.any():
        k = int(np.argmax(bad))
        raise RuntimeError(f"Index {k} of input takes value {idx[k]} which is not in the valid range [0, {V})")
    if max_norm is not None:
        with AG.no_grad():
            renorm(weight, input, max_norm, norm_type)
    nb = len(starts)
    Dm = weight.shape[1]
    N = idx.shape[0]
    if scale_grad_by_freq:
        rows = embedding_scaled_grad(flat, weight, None)
    else:
        rows = _embedding.embedding(flat, weight, None) if N else C.empty((0, Dm), dtype=weight.dtype,
                                                                      device=weight.device)
    if psw is not None:
        rows = rows * psw.reshape(-1, 1)
    fill = float("-inf") if mode == "max" else 0.0
    rows = cat([rows, C.full((1, Dm), fill, dtype=weight.dtype, device=weight.device)], 0)
    lens = np.maximum(ends - starts, 0)
    width = max(int(lens.max()) if nb else 0, 1)
    dense = np.full((nb, width), N, dtype=np.int64)
    live = np.zeros((nb,), dtype=np.int64)
    for b in range(nb):
        sel = np.arange(starts[b], starts[b] + lens[b])
        if padding_idx is not None:
            sel = sel[idx[sel] != padding_idx]
        dense[b, :sel.size] = sel
        live[b] = sel.size
    g = rows[C.tensor(dense, device=weight.device)]          # (bags, width, D)
    if mode == "sum":
        out = g.sum(1)
    elif mode == "mean":
        out = g.sum(1) / C.tensor(np.maximum(live, 1).reshape(-1, 1), dtype=weight.dtype, device=weight.device)
    else:
        out = g.max(1).values
        if (live == 0).any():
            out = out.masked_fill(C.tensor((live == 0).reshape(-1, 1), device=weight.device), 0.0)
    return out


def _size(s):
    return "torch.Size([" + ", ".join(str(x) for x in s) + "])"


def _ns_type(t):
    return "<class 'torch.Tensor'>" if isinstance(t, Tensor) else str(type(t))
