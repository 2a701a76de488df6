"""Functions built from views and copies: the *_scatter forms (a copy of input with a view of it replaced by src),
fill_diagonal_, diagflat, block_diag, cartesian_prod, combinations, vander, chain_matmul, unique_consecutive,
index_reduce, segment_reduce. Autograd comes from the ops they are made of (copies into views record CopySlices)."""
import itertools
import warnings

from . import _dtypes as D
from ._creation import tensor as _tensor, zeros, full, arange, ones
from ._ops import result_type
from ._registry import register, register_method
from ._tensor import Tensor
from .autograd import _tape as AG


def _pt(dt):
    return {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long",
            "float16": "Half", "float32": "Float", "float64": "Double", "complex64": "ComplexFloat",
            "complex128": "ComplexDouble"}[dt.name]


def _scatter_into(input, src, view_of, name):
    out = input.clone()
    v = view_of(out)
    if tuple(v._shape) != tuple(src._shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src._shape)}, slice size = {list(v._shape)}")
    v.copy_(src)
    return out


# ---------------------------------------------------------------- *_scatter

@register("diagonal_scatter", method=True)
def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """A copy of input with input.diagonal(offset, dim1, dim2) replaced by src."""
    return _scatter_into(input, src, lambda o: o.diagonal(offset, dim1, dim2), "diagonal_scatter")


@register("select_scatter", method=True)
def select_scatter(input, src, dim, index):
    """A copy of input with input.select(dim, index) replaced by src."""
    return _scatter_into(input, src, lambda o: o.select(dim, index), "select_scatter")


@register("slice_scatter", method=True)
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """A copy of input with the slice start:end:step of dim replaced by src."""
    if step <= 0:
        raise RuntimeError("slice step must be positive")

    def view(o):
        idx = [slice(None)] * o.dim()
        idx[dim] = slice(start, end, step)
        return o[tuple(idx)]
    return _scatter_into(input, src, view, "slice_scatter")


@register("as_strided_scatter", method=True)
def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """A copy of input (contiguous) with the elements of its as_strided(size, stride, storage_offset) view
    replaced by src (a scatter into the flat copy: gradients go to src and to input's other elements)."""
    size, stride = tuple(size), tuple(stride)
    if tuple(src._shape) != size:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src._shape)}, slice size = {list(size)}")
    off = 0 if storage_offset is None else storage_offset
    n = input.numel()
    if size and all(size) and off + sum((s - 1) * st for s, st in zip(size, stride)) >= n:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {off} "
                           f"requiring a storage size out of bounds of the storage")
    pos = full((), off, dtype=D.int64, device=input._device)
    for i, (s, st) in enumerate(zip(size, stride)):
        shp = [1] * len(size)
        shp[i] = s
        pos = pos + (arange(s, device=input._device) * st).reshape(shp)
    flat = input.contiguous().reshape(-1)
    if src.numel() == 0:
        return flat.clone().reshape(tuple(input._shape))
    return flat.scatter(0, pos.expand(*size).reshape(-1), src.reshape(-1)).reshape(tuple(input._shape))


def fill_diagonal_(self, fill_value, wrap=False):
    """Fill the main diagonal (all dims of equal length, or a 2-D matrix) in place; wrap continues the diagonal
    of a tall matrix below its first N + 1 rows (as numpy.fill_diagonal)."""
    nd = self.dim()
    if nd < 2:
        raise RuntimeError("dimensions must larger than 1")
    if nd > 2 and len(set(self._shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    n = min(self._shape)
    st = sum(self._stride_tuple()) if hasattr(self, "_stride_tuple") else sum(self.stride())
    if wrap and nd == 2 and self._shape[0] > self._shape[1] + 1:
        rows, cols = self._shape
        # rows r = k * (cols + 1) + i (i < cols) hold the diagonal again
        k = 0
        while k * (cols + 1) < rows:
            blk = self.narrow(0, k * (cols + 1), min(cols, rows - k * (cols + 1)))
            blk.diagonal().fill_(fill_value)
            k += 1
        return self
    v = self.as_strided((n,), (st,), self.storage_offset())
    v.fill_(fill_value)
    return self


register_method("fill_diagonal_", fill_diagonal_)


@register("diagflat", method=True)
def diagflat(input, offset=0):
    """A 2-D tensor with the flattened input on its offset-th diagonal."""
    return input.flatten().diag(offset)


@register("block_diag")
def block_diag(*tensors):
    """A block-diagonal matrix of the given 0-, 1- or 2-D tensors."""
    ts = []
    for i, t in enumerate(tensors):
        if t.dim() > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.dim()} dimensions")
        ts.append(t.reshape(1, 1) if t.dim() == 0 else t.reshape(1, -1) if t.dim() == 1 else t)
    if not ts:
        return zeros(1, 0)
    dt = ts[0]._dtype
    for t in ts[1:]:
        dt = D.promote_types(dt, t._dtype)
    R = sum(t._shape[0] for t in ts)
    C = sum(t._shape[1] for t in ts)
    out = zeros(R, C, dtype=dt, device=ts[0]._device)
    r = c = 0
    for t in ts:
        h, w = t._shape
        if h and w:
            out[r:r + h, c:c + w] = t
        r += h
        c += w
    return out


@register("cartesian_prod")
def cartesian_prod(*tensors):
    """The Cartesian product of 1-D tensors: (N, len(tensors)), or the tensor itself for one input."""
    for t in tensors:
        if t.dim() != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t._shape)}")
    if len(tensors) == 1:
        return tensors[0]
    from ._shape import stack
    from ._composite import broadcast_tensors
    n = len(tensors)
    grids = [t.reshape(*([1] * i + [-1] + [1] * (n - i - 1))) for i, t in enumerate(tensors)]
    grids = broadcast_tensors(*grids)
    return stack([g.reshape(-1) for g in grids], 1)


@register("combinations")
def combinations(input, r=2, with_replacement=False):
    """r-length combinations of the elements of a 1-D tensor (as itertools.combinations[_with_replacement])."""
    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input._shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return zeros(0, dtype=input._dtype, device=input._device)
    n = input._shape[0]
    f = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    combos = list(f(range(n), r))       # positions only: the values stay on the device
    if not combos:
        return zeros(0, r, dtype=input._dtype, device=input._device) if r > 1 else \
            zeros(0, dtype=input._dtype, device=input._device)
    idx = _tensor(combos, dtype=D.int64, device=input._device)
    out = input.index_select(0, idx.reshape(-1)).reshape(len(combos), r)
    return out


@register("vander")
def vander(x, N=None, increasing=False):
    """Vandermonde matrix of a 1-D tensor: columns x^(N-1) ... x^0 (x^0 ... x^(N-1) with increasing)."""
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x._shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    dt = D.promote_types(x._dtype, D.int64)
    if n == 0:
        return zeros(x._shape[0], 0, dtype=dt, device=x._device)
    from ._shape import cat
    xs = x.to(dt)
    res = ones(x._shape[0], 1, dtype=dt, device=x._device)
    if n > 1:
        res = cat([res, xs.unsqueeze(1).expand(x._shape[0], n - 1)], 1).cumprod(1)
    return res if increasing else res.flip(1)


@register("chain_matmul")
def chain_matmul(*matrices, out=None):
    """The product of 2-D matrices, left to right (deprecated in PyTorch in favour of linalg.multi_dot)."""
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
                  "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than "
                  "multiple parameters.")
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for i, m in enumerate(matrices):
        if m.dim() != 2:
            raise RuntimeError(f"Tensor dimension is {m.dim()}, expected 2 instead.")
    r = matrices[0]
    if len(matrices) == 1:
        r = r.clone()
    for m in matrices[1:]:
        r = r.mm(m)
    if out is not None:
        from ._reductions import _finish_out
        return _finish_out(r, out, "chain_matmul")
    return r


@register("unique_consecutive", method=True)
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """The input with consecutive repeats collapsed (of whole slices along dim); the output size depends on the
    data, so the boundaries are read on the host (as PyTorch)."""
    x = input
    with AG.no_grad():
        if dim is None:
            flat = x.reshape(-1)
            n = flat.numel()
            if n == 0:
                vals = flat.clone()
                inv = zeros(tuple(x._shape), dtype=D.int64, device=x._device)
                cnt = zeros(0, dtype=D.int64, device=x._device)
            else:
                from ._shape import cat
                new = cat([full((1,), True, dtype=D.bool_, device=x._device), flat[1:] != flat[:-1]])
                starts = new.nonzero().reshape(-1)
                vals = flat.index_select(0, starts)
                inv = (new.to(D.int64).cumsum(0) - 1).reshape(tuple(x._shape))
                ends = cat([starts[1:], full((1,), n, dtype=D.int64, device=x._device)])
                cnt = ends - starts
        else:
            nd = x.dim()
            d = dim + nd if dim < 0 else dim
            L = x._shape[d]
            xd = x.movedim(d, 0).reshape(L, -1)
            from ._shape import cat
            if L == 0:
                starts = zeros(0, dtype=D.int64, device=x._device)
                new = zeros(0, dtype=D.bool_, device=x._device)
            else:
                diff = (xd[1:] != xd[:-1]).any(1) if xd._shape[1] else zeros(L - 1, dtype=D.bool_,
                                                                              device=x._device)
                new = cat([full((1,), True, dtype=D.bool_, device=x._device), diff])
                starts = new.nonzero().reshape(-1)
            vals = x.index_select(d, starts)
            inv = new.to(D.int64).cumsum(0) - 1
            ends = cat([starts[1:], full((1,), L, dtype=D.int64, device=x._device)]) if L else starts
            cnt = ends - starts
    res = [vals]
    if return_inverse:
        res.append(inv)
    if return_counts:
        res.append(cnt)
    return res[0] if len(res) == 1 else tuple(res)


# ---------------------------------------------------------------- reductions into index positions

def _index_expand(index, dim, source):
    nd = source.dim()
    d = dim + nd if dim < 0 else dim
    shp = [1] * nd
    if nd:
        shp[d] = -1
    return index.reshape(shp).expand(*source._shape) if nd else index.reshape(()), d


_IR = ("prod", "mean", "amax", "amin")


def index_reduce(input, dim, index, source, reduce, *, include_self=True, out=None):
    """input with source's slices along dim reduced (prod, mean, amax, amin) into the positions `index`."""
    if reduce not in _IR:
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got "
                           f"{reduce}.")
    if index.dim() > 1:
        raise IndexError("index_reduce_(): Index is supposed to be a vector")
    if index._dtype not in (D.int64, D.int32):
        raise IndexError("index_reduce_(): Expected a long or int tensor for index, but got "
                         f"{_pt(index._dtype)}")
    if input._dtype is not source._dtype:
        raise RuntimeError("index_reduce_(): self and source expected to have the same dtype, but got (self) "
                           f"{_pt(input._dtype)} and (source) {_pt(source._dtype)}")
    idx, d = _index_expand(index.to(D.int64), dim, source)
    r = input.scatter_reduce(d, idx, source, reduce, include_self=include_self)
    if out is not None:
        from ._reductions import _finish_out
        return _finish_out(r, out, "index_reduce")
    return r


def _index_reduce_(self, dim, index, source, reduce, *, include_self=True):
    r = index_reduce(self, dim, index, source, reduce, include_self=include_self)
    return self.copy_(r)


register("index_reduce", index_reduce, method=True, inplace=_index_reduce_)


_SEG_INIT = {"sum": 0.0, "prod": 1.0, "max": float("-inf"), "min": float("inf"), "mean": float("nan")}


@register("segment_reduce")
def segment_reduce(data, reduce, *, lengths=None, indices=None, offsets=None, axis=0, unsafe=False, initial=None):
    """Reduce (sum, mean, max, min, prod) consecutive segments of data along axis, given their lengths or
    offsets; an empty segment gives `initial` (or the reduction's identity, NaN for mean)."""
    if reduce not in _SEG_INIT:
        raise RuntimeError(f"reduce argument must be either sum, prod, max, min or mean, got {reduce}")
    if indices is not None:
        raise RuntimeError("segment_reduce(): indices based reduction is not supported yet.")
    nd = data.dim()
    ax = axis + nd if axis < 0 else axis
    if lengths is None and offsets is None:
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined")
    if lengths is None:
        lengths = offsets[..., 1:] - offsets[..., :-1]
    if lengths.dim() != 1 or ax != 0:
        raise NotImplementedError("segment_reduce(): only 1-D lengths along axis 0 are supported")
    S = lengths._shape[0]
    # the segment of each row: repeat_interleave reads the lengths on the host (the output layout depends on them)
    seg = arange(S, device=data._device).repeat_interleave(lengths.to(D.int64))
    if not unsafe and seg.numel() != data._shape[0]:
        raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to sum to data.size(lengths.dim()-1) when !unsafe.")
    init = _SEG_INIT[reduce] if initial is None else initial
    base = full((S,) + tuple(data._shape[1:]), init, dtype=data._dtype, device=data._device)
    idx, _ = _index_expand(seg, 0, data)
    op = {"sum": "sum", "mean": "mean", "max": "amax", "min": "amin", "prod": "prod"}[reduce]
    if reduce == "mean":
        # PyTorch: (initial + sum) / length, and `initial` for an empty segment
        r = base.scatter_reduce(0, idx, data, "sum", include_self=initial is not None)
        cnt = lengths.to(data._dtype).reshape((S,) + (1,) * (nd - 1))
        r = r / cnt
        if initial is not None:
            r = r.where(cnt > 0, initial)
        return r
    return base.scatter_reduce(0, idx, data, op, include_self=initial is not None)
