"""The public indexing functions: nonzero / argwhere, gather / take_along_dim, scatter (_add / _reduce),
index_select / index_add / index_copy / index_fill, take / put, masked_select / masked_scatter, each with PyTorch's
checks and messages and its backward rule (computed with the same ops, so double backward works).

`gather_valid` / `scatter_add_valid` are the forms for indices made by cltensor's own kernels (sort, topk,
max(dim), cummax...): the same kernels without the read-back of the device's out-of-range flag.
"""
import numpy as np

from .. import _dtypes as D
from .. import _ew
from .. import _ops
from .. import _shape
from .. import _views as V
from .. import _creation
from .._launch import rt_of
from .._registry import register
from .._tensor import Tensor, empty_tensor, make, contiguous_strides, prod, _wrap_dim
from ..autograd import _tape as AG
from . import engine as E
from .parse import Adv, _IDX_DTYPES
from .subscript import index_adv, put_raw


# ---------------------------------------------------------------- nonzero

def nonzero(input, *, out=None, as_tuple=False):
    if not isinstance(input, Tensor):
        raise TypeError(f"nonzero(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if as_tuple:
        x = input if input.dim() else V.reshape(input.detach(), (1,))
        nz = E._nonzero_raw(x, transposed=True)
        return tuple(make(nz._st, (nz._shape[1],), (1,), nz._offset + j * nz._strides[0], D.int64, nz._device)
                     for j in range(nz._shape[0]))
    r = E._nonzero_raw(input)
    if out is not None:
        _ops._resize_(out, r._shape)
        _ops.copy_into(out, r)
        return out
    return r


def argwhere(input):
    return nonzero(input)


# ---------------------------------------------------------------- gather / scatter

def _dims1(t):
    """shape and strides with 0-d treated as 1-d (PyTorch's ensure_nonempty_dim)."""
    return (t._shape or (1,)), (t._strides or (1,))


def _check_dim_match(input, index, what):
    if max(input.dim(), 1) != max(index.dim(), 1):
        raise RuntimeError(f"Index tensor must have the same number of dimensions as {what} tensor")


def _single_index_error(index, d, size, wrap=False):
    """The first out-of-range value of index (negative values are out of range unless wrap)."""
    a = index._to_numpy_copy().reshape(-1).astype(np.int64)
    bad = np.flatnonzero((a < (-size if wrap else 0)) | (a >= size))
    v = int(a[bad[0]]) if bad.size else 0
    return v


def _gs_plan(self_, d, index):
    """Iteration over index's shape; base strides = self's strides except 0 along d."""
    ish, ist = _dims1(self_)
    S = index._shape
    if S == ():
        return S, [], [(index, [], ish[d], ist[d])]
    base_st = [ist[k] if k != d else 0 for k in range(len(S))]
    return S, base_st, [(index, list(index._strides), ish[d], ist[d])]


def _gather_raw(input, d, index, check):
    """input.gather(d, index) (no autograd); check: read the device's out-of-range flag back and raise."""
    S, base_st, idxs = _gs_plan(input, d, index)
    r = empty_tensor(S, input._dtype, input._device)
    E._imap(False, "set", input, base_st, S, idxs, val=r, val_st=list(r._strides), wrap=False)
    if check and r.numel() and E._read_err(rt_of(input)):
        size = _dims1(input)[0][d]
        v = _single_index_error(index, d, size)
        raise RuntimeError(f"index {v} is out of bounds for dimension {d} with size {size}")
    return r


def gather(input, dim, index, *, sparse_grad=False, out=None):
    d = _wrap_dim(dim, input.dim())
    if not isinstance(index, Tensor) or index._dtype not in _IDX_DTYPES:
        raise RuntimeError("gather(): Expected dtype int32/int64 for index")
    index = E._same_device(index, input)
    _check_dim_match(input, index, "input")
    ish, _ = _dims1(input)
    xsh, _ = _dims1(index)
    for k in range(len(ish)):
        if k != d and xsh[k] > ish[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index {list(index._shape)} to be no "
                               f"larger than self {list(input._shape)} apart from dimension {d}")
    r = _gather_raw(input, d, index, True)
    if out is not None:
        _ops._resize_(out, r._shape) if out._shape != r._shape else None
        return _ops.copy_into(out, r)
    if AG.needs_grad(input):
        shape = input._shape
        AG.record("GatherBackward0", (input,), r,
                  lambda g: (scatter_add(E._zeros(shape, g._dtype, g._device), d, index, g),), saved=(index,))
    return r


def take_along_dim(input, indices, dim=None):
    if dim is None:
        return gather(V.reshape(input, (-1,)), 0, V.reshape(indices, (-1,)))
    d = _wrap_dim(dim, input.dim())
    if input.dim() != indices.dim():
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {input.dim()} dimensions for input, and {indices.dim()} dimensions for indices")
    shp = list(_ew.broadcast_shapes(tuple(s for k, s in enumerate(input._shape) if k != d),
                                    tuple(s for k, s in enumerate(indices._shape) if k != d)))
    ishape = shp[:d] + [input._shape[d]] + shp[d:]
    xshape = shp[:d] + [indices._shape[d]] + shp[d:]
    return gather(V.expand(input, ishape), d, V.expand(indices, xshape))


def gather_valid(input, d, index):
    """input.gather(d, index) for an index made by cltensor's own kernels (in range by construction, same shape as
    input but along d): no read-back of the out-of-range flag. Differentiable in input."""
    r = _gather_raw(input.detach(), d, index, False)
    if AG.needs_grad(input):
        shape = input._shape
        AG.record("GatherBackward0", (input,), r, lambda g: (scatter_add_valid(shape, d, index, g),))
    return r


def scatter_add_valid(shape, d, index, src):
    """zeros(shape).scatter_add_(d, index, src) for an index shaped like src and made by cltensor's own kernels
    (the gradient of the values that sort, topk, max(dim), cummax... pick): no read-back of the out-of-range flag.
    Differentiable in src."""
    r = E._zeros(shape, src._dtype, src._device)
    _scatter_raw(r, d, index, src.detach(), "sum", check=False)
    if AG.needs_grad(src):
        AG.record("ScatterAddBackward0", (src,), r, lambda g: (gather_valid(g, d, index),))
    return r


_SCATTER_REDUCE = {"add": "sum", "multiply": "prod"}


def _scatter_checks(self_, d, index, src, name):
    if not isinstance(index, Tensor) or index._dtype not in _IDX_DTYPES:
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")
    _check_dim_match(self_, index, "self")
    if isinstance(src, Tensor):
        if src._dtype is not self_._dtype:
            raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype")
        if max(src.dim(), 1) != max(self_.dim(), 1):
            raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    ssh, _ = _dims1(self_)
    xsh, _ = _dims1(index)
    srsh = _dims1(src)[0] if isinstance(src, Tensor) else None
    for k in range(len(ssh)):
        if (k != d and xsh[k] > ssh[k]) or (srsh is not None and xsh[k] > srsh[k]):
            if srsh is not None:
                raise RuntimeError(f"Expected index {list(index._shape)} to be no larger than self "
                                   f"{list(self_._shape)} apart from dimension {d} and to be no larger size than src "
                                   f"{list(src._shape)}")
            raise RuntimeError(f"Expected index {list(index._shape)} to be no larger than self {list(self_._shape)} "
                               f"apart from dimension {d}")


def _scatter_raw(self_, d, index, src, mode, incl=True, check=True):
    """In place, no autograd. mode: 'set' (src tensor or scalar), 'sum', 'prod', 'mean', 'amax', 'amin'.
    check: read the device's out-of-range flag back and raise."""
    S, base_st, idxs = _gs_plan(self_, d, index)
    if prod(S) == 0:
        return
    scalar = not isinstance(src, Tensor)
    if scalar and mode == "set":
        E._imap(True, "set", self_, base_st, S, idxs, scalar=src, wrap=False)
    elif mode == "sum" and incl and E._atomic_ok(rt_of(self_), self_._dtype):
        if scalar:
            E._imap(True, "atomic", self_, base_st, S, idxs, scalar=src, wrap=False)
        else:
            src = E._same_device(src, self_)
            E._imap(True, "atomic", self_, base_st, S, idxs, val=src,
                    val_st=list(_dims1(src)[1][:len(S)]) if S else [], wrap=False)
    else:
        if scalar:
            src = _creation.full((), src, dtype=self_._dtype, device=self_._device)
            val_st = [0] * len(S)
        else:
            src = E._same_device(src, self_)
            val_st = list(_dims1(src)[1][:len(S)]) if S else []
        ssh, _ = _dims1(self_)
        cs = contiguous_strides(ssh)
        kc = [cs[k] if k != d else 0 for k in range(len(S))]
        E._grouped("last" if mode == "set" else mode, self_, S, base_st, src, val_st, idxs, list(range(len(S))), kc,
                   [cs[d]], prod(ssh), incl, wrap=False)
    self_._st.version += 1
    if check and E._read_err(rt_of(self_)):
        size = _dims1(self_)[0][d]
        v = _single_index_error(index, d, size)
        raise RuntimeError(f"index {v} is out of bounds for dimension {d} with size {size}")


def _pad_to(g, shape):
    """g (index-shaped) placed at the start of a zero tensor of `shape` (src may be larger than index)."""
    if tuple(g._shape) == tuple(shape) or g.dim() == 0:
        return g
    z = E._zeros(shape, g._dtype, g._device)
    sl = tuple(slice(0, s) for s in g._shape)
    return index_put_slices(z, sl, g)


def index_put_slices(z, sl, g):
    """z with z[sl] = g, differentiable in g."""
    with AG.no_grad():
        _ops.copy_into(z[sl], g)
    if AG.needs_grad(g):
        AG.record("CopySlices", (g,), z, lambda gg: (gg[sl],))
    return z


def _scatter_outofplace(input, d, index, src, mode, name, incl=True, node=None):
    r = E._clone_raw(input)
    _scatter_raw(r, d, index, src, mode, incl)
    st = src if isinstance(src, Tensor) else None
    if AG.needs_grad(input, st):
        if mode == "set":
            def bw(g):
                gs = scatter(g, d, index, 0) if input.requires_grad else None
                gv = _pad_to(gather(g, d, index), st._shape) if st is not None and st.requires_grad else None
                return (gs, gv)
            node = node or ("ScatterBackward0" if st is not None else "ScatterBackward1")
        elif mode == "sum":
            def bw(g):
                gv = _pad_to(gather(g, d, index), st._shape) if st is not None and st.requires_grad else None
                return (g, gv)
        elif mode == "mean":
            def bw(g):
                cnt = _scatter_outofplace(_fullish(input, 1.0 if incl else 0.0), d, index,
                                          _fullish(st, 1.0), "sum", name)
                cnt = cnt.masked_fill(cnt == 0, 1.0)
                gn = g / cnt
                gs = gn if incl else gn.masked_fill(_scatter_outofplace(
                    _fullish(input, 0.0), d, index, _fullish(st, 1.0), "sum", name) > 0, 0.0)
                gv = _pad_to(gather(gn, d, index), st._shape) if st.requires_grad else None
                return (gs, gv)
        else:
            def bw(g):
                raise RuntimeError(f"the derivative for '{name}' with reduce='{mode}' is not implemented")
        AG.record(node or ("ScatterAddBackward0" if name == "scatter_add" else "ScatterReduceBackward0"),
                  (input, st), r, bw, saved=(index,))
    return r


def _fullish(t, v):
    return _creation.full(t._shape, v, dtype=t._dtype, device=t._device)


def _inplace_via(self_, outofplace):
    """In-place op with autograd: compute the differentiable result, then copy it into self."""
    _ops.check_inplace(self_)
    r = outofplace()
    return self_.copy_(r)


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    d = _wrap_dim(dim, input.dim())
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    if isinstance(src, np.generic):
        src = src.item()
    _scatter_checks(input, d, index, src, "scatter")
    index = E._same_device(index, input)
    if reduce is not None:
        if reduce not in _SCATTER_REDUCE:
            raise RuntimeError("reduce argument must be either add or multiply.")
        return _scatter_outofplace(input, d, index, src, _SCATTER_REDUCE[reduce], "scatter")
    return _scatter_outofplace(input, d, index, src, "set", "scatter")


def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
    d = _wrap_dim(dim, self.dim())
    if src is None:
        src = value
    if isinstance(src, np.generic):
        src = src.item()
    _scatter_checks(self, d, index, src, "scatter")
    index = E._same_device(index, self)
    mode = "set"
    if reduce is not None:
        if reduce not in _SCATTER_REDUCE:
            raise RuntimeError("reduce argument must be either add or multiply.")
        mode = _SCATTER_REDUCE[reduce]
    if AG.needs_grad(self, src if isinstance(src, Tensor) else None):
        return _inplace_via(self, lambda: _scatter_outofplace(self, d, index, src, mode, "scatter"))
    _scatter_raw(self, d, index, src, mode)
    return self


def scatter_add(input, dim, index, src):
    d = _wrap_dim(dim, input.dim())
    _scatter_checks(input, d, index, src, "scatter_add")
    return _scatter_outofplace(input, d, E._same_device(index, input), src, "sum", "scatter_add")


def scatter_add_(self, dim, index, src):
    d = _wrap_dim(dim, self.dim())
    _scatter_checks(self, d, index, src, "scatter_add")
    index = E._same_device(index, self)
    if AG.needs_grad(self, src):
        return _inplace_via(self, lambda: _scatter_outofplace(self, d, index, src, "sum", "scatter_add"))
    _scatter_raw(self, d, index, src, "sum")
    return self


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    d = _wrap_dim(dim, input.dim())
    if reduce not in _REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    _scatter_checks(input, d, index, src, "scatter_reduce")
    return _scatter_outofplace(input, d, E._same_device(index, input), src, reduce, "scatter_reduce",
                               include_self, node="ScatterReduceBackward0")


def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    d = _wrap_dim(dim, self.dim())
    if reduce not in _REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    _scatter_checks(self, d, index, src, "scatter_reduce")
    index = E._same_device(index, self)
    if AG.needs_grad(self, src):
        return _inplace_via(self, lambda: _scatter_outofplace(self, d, index, src, reduce, "scatter_reduce",
                                                              include_self, node="ScatterReduceBackward0"))
    _scatter_raw(self, d, index, src, reduce, include_self)
    return self


# ---------------------------------------------------------------- index_select / index_add / copy / fill

def _vector_index(index, name, msg_kind):
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index.dim() > 1:
        if msg_kind == "select":
            raise IndexError("index_select(): Index is supposed to be a vector")
        if msg_kind == "add":
            raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: {index.dim()} with type: "
                             f"{index._dtype._alias} and size: {list(index._shape)}")
        raise RuntimeError("Index has to be a vector/scalar")
    if index._dtype not in _IDX_DTYPES:
        raise RuntimeError({"select": "index_select(): Expected dtype int32 or int64 for index",
                            "add": f"index_add_(): Expected dtype int32/int64 for index but got: {index._dtype._alias}",
                            "copy": f"index_copy_(): Expected a long tensor for index, but got {index._dtype._alias}",
                            }.get(msg_kind, f"{name}(): Expected dtype int64 for index."))


def _dim_plan(self_, d, index, S):
    """Iteration over S (= self's shape with dim d resized to len(index)); index moves along d."""
    ssh, sst = _dims1(self_)
    n = ssh[d]
    if len(S) == 0:
        return [], [(index, [], n, sst[d])]
    base_st = [sst[k] if k != d else 0 for k in range(len(S))]
    ist = [0] * len(S)
    ist[d] = index._strides[0] if index.dim() else 0
    return base_st, [(index, ist, n, sst[d])]


def index_select(input, dim, index, *, out=None):
    d = _wrap_dim(dim, input.dim())
    _vector_index(index, "index_select", "select")
    index = E._same_device(index, input)
    ssh, _ = _dims1(input)
    ni = index.numel()
    if input.dim() == 0:
        S = () if ni == 1 else (ni,)
        if ni != 1:
            S = (ni,)
    else:
        S = tuple(ssh[:d]) + (ni,) + tuple(ssh[d + 1:])
    base_st, idxs = _dim_plan(input, d, index, S if S else (1,))
    if not S:
        base_st, idxs = [], [(index, [], ssh[d], _dims1(input)[1][d])]
    r = empty_tensor(S, input._dtype, input._device)
    E._imap(False, "set", input, base_st, S, idxs, val=r, val_st=list(r._strides), wrap=False)
    if r.numel() and E._read_err(rt_of(input)):
        v = _single_index_error(index, d, ssh[d])
        if d == 0 and index._dtype is D.int64:     # PyTorch's messages differ by code path
            raise IndexError("index out of range in self")
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={v} axis_dim={ssh[d]}")
    if out is not None:
        if out._shape != r._shape:
            _ops._resize_(out, r._shape)
        return _ops.copy_into(out, r)
    if AG.needs_grad(input):
        shape, sshape = input._shape, _sel_shape(input, d, ni)
        AG.record("IndexSelectBackward0", (input,), r,
                  lambda g: (index_add(E._zeros(shape, g._dtype, g._device), d, index,
                                       g if g._shape == sshape else g.reshape(sshape)),), saved=(index,))
    return r


def _sel_shape(input, d, ni):
    ssh = _dims1(input)[0]
    return tuple(ssh[:d]) + (ni,) + tuple(ssh[d + 1:])


def _index_dim_checks(self_, d, index, source, name, kind):
    _vector_index(index, name, kind)
    ni = index.numel()
    ssh = _dims1(self_)[0]
    srsh = _dims1(source)[0] if isinstance(source, Tensor) else None
    if isinstance(source, Tensor):
        if source._dtype is not self_._dtype:
            if kind == "add":
                raise RuntimeError(f"index_add_(): self ({self_._dtype._alias}) and source ({source._dtype._alias}) "
                                   "must have the same scalar type")
            raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                               f"{self_._dtype._alias} and (source) {source._dtype._alias}")
        sn = srsh[d] if d < len(srsh) else 1
        if source.dim() == 0:
            sn = 1
        if ni != sn:
            if kind == "add":
                raise RuntimeError(f"index_add_(): Number of indices ({ni}) should be equal to source.size(dim): "
                                   f"({sn}), for dim: {d}")
            raise IndexError(f"index_copy_(): Number of indices ({ni}) should be equal to source.size(dim) ({sn})")
        if source.dim() and (len(srsh) != len(ssh) or any(a != b for k, (a, b) in enumerate(zip(ssh, srsh))
                                                          if k != d)):
            raise RuntimeError("source tensor shape must match self tensor shape, excluding the specified dimension. "
                               f"Got self.shape = {list(self_._shape)} source.shape = {list(source._shape)}")


def _index_dim_raw(self_, d, index, source, mode, err_prefix=""):
    """self[..., index[i], ...] (op)= source[..., i, ...] (mode 'sum' / 'last'), or = scalar source (mode 'fill')."""
    ssh, sst = _dims1(self_)
    ni = index.numel()
    S = tuple(ssh[:d]) + (ni,) + tuple(ssh[d + 1:])
    base_st, idxs = _dim_plan(self_, d, index, S)
    if prod(S) == 0:
        return
    if mode == "fill":
        E._imap(True, "set", self_, base_st, S, idxs, scalar=source)
    elif mode == "sum" and E._atomic_ok(rt_of(self_), self_._dtype):
        source = E._same_device(source, self_)
        val_st = list(_dims1(source)[1]) if source.dim() else [0] * len(S)
        E._imap(True, "atomic", self_, base_st, S, idxs, val=source, val_st=val_st, wrap=False)
    else:
        source = E._same_device(source, self_)
        val_st = list(_dims1(source)[1]) if source.dim() else [0] * len(S)
        if source.dim() == 0 and len(S):
            val_st = [0] * len(S)
        E._grouped(mode, self_, S, base_st, source, val_st, idxs, [d], [0] * len(S), [1], ssh[d], wrap=False)
    self_._st.version += 1
    if E._read_err(rt_of(self_)):
        v = _single_index_error(index, d, ssh[d], wrap=mode == "fill")
        if mode == "sum" and self_.dim() <= 1:
            raise IndexError("index out of range in self")
        exc = IndexError if mode != "sum" else RuntimeError
        raise exc(f"{err_prefix}index {v} is out of bounds for dimension {d} with size {ssh[d]}")


def _mul_alpha(source, alpha):
    if alpha == 1:
        return source
    return _ops.apply("mul", source, alpha)


def index_add(input, dim, index, source, *, alpha=1, out=None):
    d = _wrap_dim(dim, input.dim())
    _index_dim_checks(input, d, index, source, "index_add", "add")
    index = E._same_device(index, input)
    src = _mul_alpha(source, alpha)
    r = E._clone_raw(input)
    with AG.no_grad():
        _index_dim_raw(r, d, index, src.detach() if isinstance(src, Tensor) else src, "sum")
    if AG.needs_grad(input, source):
        def bw(g):
            gs = index_select(g, d, index) if source.requires_grad else None
            if gs is not None:
                gs = _mul_alpha(gs.reshape(source._shape) if gs._shape != source._shape else gs, alpha)
            return (g, gs)
        AG.record("IndexAddBackward0", (input, source), r, bw, saved=(index,))
    if out is not None:
        return _ops.copy_into(out, r)
    return r


def index_add_(self, dim, index, source, *, alpha=1):
    d = _wrap_dim(dim, self.dim())
    _index_dim_checks(self, d, index, source, "index_add", "add")
    index = E._same_device(index, self)
    if AG.needs_grad(self, source):
        return _inplace_via(self, lambda: index_add(self, d, index, source, alpha=alpha))
    _index_dim_raw(self, d, index, _mul_alpha(source, alpha), "sum")
    return self


def index_copy(input, dim, index, source):
    d = _wrap_dim(dim, input.dim())
    _index_dim_checks(input, d, index, source, "index_copy", "copy")
    index = E._same_device(index, input)
    r = E._clone_raw(input)
    _index_dim_raw(r, d, index, source.detach(), "last", "index_copy_(): ")
    if AG.needs_grad(input, source):
        def bw(g):
            gi = index_fill(g, d, index, 0) if input.requires_grad else None
            gs = index_select(g, d, index) if source.requires_grad else None
            if gs is not None and gs._shape != source._shape:
                gs = gs.reshape(source._shape)
            return (gi, gs)
        AG.record("IndexCopyBackward0", (input, source), r, bw, saved=(index,))
    return r


def index_copy_(self, dim, index, source):
    d = _wrap_dim(dim, self.dim())
    _index_dim_checks(self, d, index, source, "index_copy", "copy")
    index = E._same_device(index, self)
    if AG.needs_grad(self, source):
        return _inplace_via(self, lambda: index_copy(self, d, index, source))
    _index_dim_raw(self, d, index, source, "last", "index_copy_(): ")
    return self


def _fill_value(value):
    if isinstance(value, Tensor):
        if value.dim() != 0:
            raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.dim()} dimension(s).")
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def index_fill(input, dim, index, value):
    d = _wrap_dim(dim, input.dim())
    _vector_index(index, "index_fill", "fill")
    index = E._same_device(index, input)
    value = _fill_value(value)
    r = E._clone_raw(input)
    _index_dim_raw(r, d, index, value, "fill")
    if AG.needs_grad(input):
        AG.record("IndexFillBackward0", (input,), r, lambda g: (index_fill(g, d, index, 0),), saved=(index,))
    return r


def index_fill_(self, dim, index, value):
    d = _wrap_dim(dim, self.dim())
    _vector_index(index, "index_fill", "fill")
    index = E._same_device(index, self)
    value = _fill_value(value)
    if AG.needs_grad(self):
        return _inplace_via(self, lambda: index_fill(self, d, index, value))
    _index_dim_raw(self, d, index, value, "fill")
    return self


# ---------------------------------------------------------------- take / put

def _take_index(index, name):
    if not isinstance(index, Tensor) or index._dtype is not D.int64:
        got = index._dtype._alias if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"{name}(): Expected a long tensor for index, but got {got}")


def _flat_error(index, n):
    a = index._to_numpy_copy().reshape(-1)
    bad = np.flatnonzero((a < -n) | (a >= n))
    v = int(a[bad[0]]) if bad.size else 0
    return IndexError(f"out of range: tried to access index {v} on a tensor of {n} elements.")


def take(input, index, *, out=None):
    return _ops.finish_out(_take(input, index), out, "take")


def _take(input, index):
    _take_index(index, "take")
    index = E._same_device(index, input)
    flat = V.reshape(input, (-1,))
    n = flat._shape[0]
    S = index._shape
    r = empty_tensor(S, input._dtype, input._device)
    idxs = [(index, list(index._strides), n, flat._strides[0])]
    E._imap(False, "set", flat, [0] * len(S), S, idxs, val=r, val_st=list(r._strides))
    if r.numel() and E._read_err(rt_of(input)):
        raise _flat_error(index, n)
    if AG.needs_grad(input):
        shape = input._shape
        AG.record("TakeBackward0", (input,), r,
                  lambda g: (put(E._zeros(shape, g._dtype, g._device), index, g, accumulate=True),), saved=(index,))
    return r


def _put_checks(self_, index, source):
    _take_index(index, "put_")
    if not isinstance(source, Tensor):
        raise TypeError("put_(): argument 'source' must be Tensor")
    if source._dtype is not self_._dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got self.dtype = "
                           f"{self_._dtype._alias} and source.dtype = {source._dtype._alias}")
    if source.numel() != index.numel():
        raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                         f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")


def _put_raw(self_, index, source, accumulate):
    """self (contiguous) .flat[index] = source (or +=)."""
    flat = E._flat_view(self_)
    n = flat._shape[0]
    ni = index.numel()
    if ni == 0:
        return
    ix = V.reshape(index.detach(), (-1,))
    src = V.reshape(E._same_device(source, self_).detach(), (-1,))
    idxs = [(ix, [ix._strides[0]], n, 1)]
    if accumulate and E._atomic_ok(rt_of(self_), self_._dtype):
        E._imap(True, "atomic", flat, [0], (ni,), idxs, val=src, val_st=[src._strides[0]])
    else:
        E._grouped("sum" if accumulate else "last", flat, (ni,), [0], src, [src._strides[0]], idxs, [0], [0], [1], n)
    self_._st.version += 1
    if E._read_err(rt_of(self_)):
        raise _flat_error(index, n)


def put(input, index, source, accumulate=False):
    _put_checks(input, index, source)
    index = E._same_device(index, input)
    r = E._clone_raw(input)
    _put_raw(r, index, source, accumulate)
    if AG.needs_grad(input, source):
        def bw(g):
            gi = (g if accumulate else put(g, index, E._zeros(source._shape, g._dtype, g._device))) \
                if input.requires_grad else None
            gs = take(g, index).reshape(source._shape) if source.requires_grad else None
            return (gi, gs)
        AG.record("PutBackward0", (input, source), r, bw, saved=(index,))
    return r


def put_(self, index, source, accumulate=False):
    _put_checks(self, index, source)
    index = E._same_device(index, self)
    if AG.needs_grad(self, source) or not self.is_contiguous():
        if AG.needs_grad(self, source):
            return _inplace_via(self, lambda: put(self, index, source, accumulate))
        r = E._clone_raw(self)
        _put_raw(r, index, source, accumulate)
        _ops.copy_into(self, r)
        return self
    _put_raw(self, index, source, accumulate)
    return self


# ---------------------------------------------------------------- masks

def _bool_mask(mask, name):
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask._dtype is not D.bool_:
        if name == "masked_select":
            raise RuntimeError("masked_select: expected BoolTensor for mask")
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype "
                           f"{mask._dtype._alias}")


def _bview(t, shape):
    """t viewed (no autograd) at the broadcast shape."""
    return make(t._st, tuple(shape), tuple(_ew.broadcast_strides(t, shape)), t._offset, t._dtype, t._device)


def masked_select(input, mask, *, out=None):
    _bool_mask(mask, "masked_select")
    mask = E._same_device(mask, input)
    S = _ew.broadcast_shapes(input._shape, mask._shape)
    if S == ():
        S = (1,)
    nz = E._nonzero_raw(_bview(mask, S), transposed=True)
    base = _bview(input, S)
    cols = [make(nz._st, (nz._shape[1],), (1,), j * nz._strides[0], D.int64, nz._device) for j in range(len(S))]
    adv = Adv(base, list(range(len(S))), cols, ["mask"] * len(S))
    with AG.no_grad():
        r = index_adv(adv)
    if out is not None:
        if out._shape != r._shape:
            _ops._resize_(out, r._shape)
        return _ops.copy_into(out, r)
    if AG.needs_grad(input):
        shp = input._shape

        def bw(g):
            z = E._zeros(S, g._dtype, g._device)
            gz = masked_scatter(z, _bview(mask, S), g)
            return (gz if tuple(S) == tuple(shp) or shp != () else gz.reshape(()),)
        AG.record("MaskedSelectBackward0", (input,), r, bw)
    return r


def _masked_scatter_raw(self_, mask, source):
    mb = _bview(mask, self_._shape) if self_.dim() else V.reshape(mask.detach(), ())
    x = mb if self_.dim() else V.reshape(mb, (1,))
    nz = E._nonzero_raw(x, transposed=True)
    n = nz._shape[1]
    if source.numel() < n:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    if n == 0:
        return
    src = V.reshape(E._same_device(source, self_).detach(), (-1,))
    vals = make(src._st, (n,), src._strides, src._offset, src._dtype, src._device)
    dst = self_ if self_.dim() else make(self_._st, (1,), (1,), self_._offset, self_._dtype, self_._device)
    cols = [make(nz._st, (n,), (1,), j * nz._strides[0], D.int64, nz._device) for j in range(dst.dim())]
    put_raw(Adv(dst, list(range(dst.dim())), cols, ["mask"] * dst.dim()), vals, False)


def _masked_scatter_checks(self_, mask, source):
    _bool_mask(mask, "masked_scatter")
    if not isinstance(source, Tensor):
        raise TypeError("masked_scatter(): argument 'source' must be Tensor")
    if source._dtype is not self_._dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got"
                           f"{self_._dtype._alias} and {source._dtype._alias}")
    if len(mask._shape) > len(self_._shape) or _ew.broadcast_shapes(self_._shape, mask._shape) != self_._shape:
        raise RuntimeError(f"expand({mask.type()}{{{list(mask._shape)}}}, size={list(self_._shape)}): the mask "
                           "must be broadcastable to self")


def masked_scatter(input, mask, source):
    _masked_scatter_checks(input, mask, source)
    mask = E._same_device(mask, input)
    r = E._clone_raw(input)
    _masked_scatter_raw(r, mask, source)
    if AG.needs_grad(input, source):
        def bw(g):
            gi = g.masked_fill(_bview(mask, g._shape), 0.0) if input.requires_grad else None
            gs = None
            if source.requires_grad:
                sel = masked_select(g, _bview(mask, g._shape))
                ns = source.numel()
                if sel.numel() < ns:
                    sel = _shape.cat([sel, E._zeros((ns - sel.numel(),), g._dtype, g._device)])
                gs = sel.reshape(source._shape)
            return (gi, gs)
        AG.record("MaskedScatterBackward0", (input, source), r, bw)
    return r


def masked_scatter_(self, mask, source):
    _masked_scatter_checks(self, mask, source)
    mask = E._same_device(mask, self)
    if AG.needs_grad(self, source):
        return _inplace_via(self, lambda: masked_scatter(self, mask, source))
    _masked_scatter_raw(self, mask, source)
    self._st.version += 1
    return self


# ---------------------------------------------------------------- public names

def _t_nonzero(self, *, as_tuple=False):
    return nonzero(self, as_tuple=as_tuple)


register("nonzero", nonzero, method=_t_nonzero)
register("argwhere", argwhere, method=True)
register("index_select", index_select, method=True)
register("gather", gather, method=True)
register("take_along_dim", take_along_dim, method=True)
register("scatter", scatter, method=True, inplace=scatter_)
register("scatter_add", scatter_add, method=True, inplace=scatter_add_)
register("scatter_reduce", scatter_reduce, method=True, inplace=scatter_reduce_)
register("index_add", index_add, method=True, inplace=index_add_)
register("index_copy", index_copy, method=True, inplace=index_copy_)
register("index_fill", index_fill, method=True, inplace=index_fill_)
register("take", take, method=True)
register("put", put, method=True, inplace=put_)
register("masked_select", masked_select, method=True)
register("masked_scatter", masked_scatter, method=True, inplace=masked_scatter_)
