"""View and shape ops: share storage (no copies unless PyTorch copies), with their backward rules."""
import numpy as np

from . import _dtypes as D
from . import _ew
from . import _ops
from ._creation import zeros
from ._registry import register, register_method
from ._tensor import Tensor, make, empty_tensor, empty_like_layout, contiguous_strides, prod, _wrap_dim
from .autograd import _tape as AG


def _view(t, shape, strides, offset, name, fn, dtype=None, inv=None):
    """Make a view of t; `fn(x)` re-applies the same view to any tensor shaped like t (used by backward).
    `inv(g)`: for views that keep every element once (view, transpose, permute, (un)squeeze), the gradient for
    t as the inverse view of g, as PyTorch's backward formulas (no zero-filled buffer and copy)."""
    v = make(t._st, tuple(shape), tuple(strides), offset, dtype or t._dtype, t._device)
    v._base = t._base if t._base is not None else t
    if AG.needs_grad(t):
        AG.record(name, (t,), v, (lambda g: (inv(g),)) if inv is not None else (lambda g: (_unview(g, t, fn),)))
    return v


def _unview(g, t, fn):
    z = zeros(t._shape, dtype=t._dtype, device=g._device)   # t's dtype: real/imag views of complex t
    target = fn(z)
    if AG.is_grad_enabled() and g.requires_grad:
        # differentiable scatter for double backward
        return _scatter_view(z, fn, g)
    _ops.copy_into(target, g)
    return z


def _scatter_view(z, fn, g):
    with AG.no_grad():
        _ops.copy_into(fn(z), g)
    AG.record("AsStridedScatterBackward0", (g,), z, lambda gg: (fn(gg.contiguous()),))
    return z


# ---------------------------------------------------------------- shape helpers

def _infer_shape(shape, numel):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if not isinstance(s, int) or isinstance(s, bool):
            raise TypeError(f"shape must be a sequence of ints, got {type(s).__name__}")
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
    if neg:
        rest = prod(s for s in shape if s != -1)
        if rest == 0 and numel == 0:
            raise RuntimeError(f"cannot reshape tensor of 0 elements into shape [{', '.join(map(str, shape))}] "
                               "because the unspecified dimension size -1 can be any value and is ambiguous")
        if rest == 0 or numel % rest:
            raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input of size {numel}")
        shape[neg[0]] = numel // rest
    if prod(shape) != numel:
        raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input of size {numel}")
    return tuple(shape)


def _shape_args(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _view_strides(t, shape):
    """Strides for viewing t as `shape` without a copy, or None (PyTorch's computeStride)."""
    old_shape, old_strides = t._shape, t._strides
    numel = prod(old_shape)
    if numel == 0 or not old_shape:      # empty, or 0-d (one element): any shape views it
        return contiguous_strides(shape)
    new_strides = [0] * len(shape)
    view_d = len(shape) - 1
    chunk_base_stride = old_strides[-1] if old_strides else 1
    tensor_numel = 1
    view_numel = 1
    for tensor_d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[tensor_d]
        if tensor_d == 0 or (old_shape[tensor_d - 1] != 1 and
                             old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride):
            while view_d >= 0 and (view_numel < tensor_numel or shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base_stride
                view_numel *= shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if tensor_d > 0:
                chunk_base_stride = old_strides[tensor_d - 1]
                tensor_numel = 1
                view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_strides)


_layouts = {}        # (shape, strides, requested shape) -> (new shape, view strides or None)


def _view_layout(t, shape):
    """(shape, strides) of t viewed as the requested `shape` (the arguments of view/reshape; -1 inferred); strides
    None where no view exists. Cached for plain int arguments (models reshape the same shapes every step)."""
    key = None
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    if all(type(s) is int for s in shape):
        key = (t._shape, t._strides, tuple(shape))
        r = _layouts.get(key)
        if r is not None:
            return r
    new = _infer_shape(shape, t.numel())
    r = (new, _view_strides(t, new))
    if key is not None:
        if len(_layouts) >= 4096:
            _layouts.clear()
        _layouts[key] = r
    return r


def view(t, *shape):
    if len(shape) == 1 and isinstance(shape[0], D.dtype):
        return view_dtype(t, shape[0])
    shape, st = _view_layout(t, shape)
    if st is None:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one dimension "
                           "spans across two contiguous subspaces). Use .reshape(...) instead.")
    return _view(t, shape, st, t._offset, "ViewBackward0", lambda x: view(x, shape), inv=_reshape_to(t._shape))


def _reshape_to(shape):
    return lambda g: reshape(g, shape)


def view_dtype(t, dtype):
    """The same memory read as `dtype` (no autograd, as in PyTorch). With another element size the last dim
    scales by the size ratio; PyTorch's conditions (and messages): a last dim of stride 1, and when elements
    grow, a last size, storage offset and other strides divisible by the ratio."""
    old, new = t._dtype.itemsize, dtype.itemsize
    if new == old:
        return make(t._st, t._shape, t._strides, t._offset, dtype, t._device)
    what = f"to view {t._dtype._alias} as {dtype._alias} (different element sizes)"
    if not t._shape:
        raise RuntimeError(f"self.dim() cannot be 0 {what}")
    if t._strides[-1] != 1:
        raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {t._strides[-1]}")
    if new < old:
        r = old // new
        shape = t._shape[:-1] + (t._shape[-1] * r,)
        strides = tuple(s * r for s in t._strides[:-1]) + (1,)
        return make(t._st, shape, strides, t._offset * r, dtype, t._device)
    r = new // old
    if t._shape[-1] % r:
        raise RuntimeError(f"self.size(-1) must be divisible by {r} {what}, but got {t._shape[-1]}")
    if t._offset % r:
        raise RuntimeError(f"self.storage_offset() must be divisible by {r} {what}, but got {t._offset}")
    for d, s in enumerate(t._strides[:-1]):
        if s % r:
            raise RuntimeError(f"self.stride({d}) must be divisible by {r} {what}, but got {s}")
    shape = t._shape[:-1] + (t._shape[-1] // r,)
    strides = tuple(s // r for s in t._strides[:-1]) + (1,)
    return make(t._st, shape, strides, t._offset // r, dtype, t._device)


def reshape(t, *shape):
    shape, st = _view_layout(t, shape)
    if st is not None:
        return _view(t, shape, st, t._offset, "ViewBackward0", lambda x: view(x, shape), inv=_reshape_to(t._shape))
    c = contiguous(t)
    return _view(c, shape, contiguous_strides(shape), c._offset, "UnsafeViewBackward0", lambda x: view(x, shape),
                 inv=_reshape_to(c._shape))


def contiguous(t, memory_format=None):
    if t.is_contiguous():
        return t
    return clone(t, _CONTIGUOUS)


_CONTIGUOUS = "contiguous_format"


def clone(t, memory_format=None):
    """A copy; like PyTorch's preserve_format, a dense permuted layout (x.T) keeps its strides."""
    if memory_format is None or memory_format == "preserve_format":
        r = empty_like_layout(t)
    else:
        r = empty_tensor(t._shape, t._dtype, t._device)
    _ew.run("x0", r, [t], (t._dtype,), t._dtype)
    if AG.needs_grad(t):
        AG.record("CloneBackward0", (t,), r, lambda g: (g,))
    return r


def detach(t):
    v = make(t._st, t._shape, t._strides, t._offset, t._dtype, t._device)
    v._base = t._base
    return v


def detach_(t):
    if t._base is not None:
        raise RuntimeError("Can't detach views in-place. Use detach() instead. If you are using "
                           "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as True, "
                           "gradients are views of DDP buckets, and hence detach_() cannot be called on these "
                           "gradients. To fix this error, please refer to the Optimizer.zero_grad() function in "
                           "torch/optim/optimizer.py as the solution.")
    t.grad_fn = None
    t._requires_grad = False
    return t


def flatten(t, start_dim=0, end_dim=-1):
    if t.dim() == 0:
        return reshape(t, (1,))
    s = _wrap_dim(start_dim, t.dim())
    e = _wrap_dim(end_dim, t.dim())
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return t
    shape = t._shape[:s] + (prod(t._shape[s:e + 1]),) + t._shape[e + 1:]
    return reshape(t, shape)


def unflatten(t, dim, sizes):
    d = _wrap_dim(dim, t.dim())
    if -1 not in sizes and prod(sizes) != t._shape[d]:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {d} "
                           f"({t._shape[d]}) in the input tensor")
    sizes = _infer_shape(tuple(sizes), t._shape[d])
    return view(t, t._shape[:d] + sizes + t._shape[d + 1:]) if _view_strides(t, t._shape[:d] + sizes + t._shape[d + 1:]) \
        is not None else reshape(t, t._shape[:d] + sizes + t._shape[d + 1:])


def squeeze(t, dim=None):
    if dim is None:
        dims = [i for i, s in enumerate(t._shape) if s == 1]
    else:
        ds = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = [d for d in (_wrap_dim(x, t.dim()) for x in ds) if t.dim() and t._shape[d] == 1]
    shape = [s for i, s in enumerate(t._shape) if i not in dims]
    st = [s for i, s in enumerate(t._strides) if i not in dims]
    return _view(t, shape, st, t._offset, "SqueezeBackward0", lambda x: squeeze(x, dims) if dims else x,
                 inv=_reshape_to(t._shape))


def unsqueeze(t, dim):
    d = _wrap_dim(dim, t.dim() + 1)
    shape = list(t._shape)
    st = list(t._strides)
    new_st = shape[d] * st[d] if d < t.dim() else 1
    shape.insert(d, 1)
    st.insert(d, new_st)
    return _view(t, shape, st, t._offset, "UnsqueezeBackward0", lambda x: unsqueeze(x, d),
                 inv=lambda g: squeeze(g, d))


def permute(t, *dims):
    dims = _shape_args(dims)
    nd = t.dim()
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
                           f"of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal to "
                           f"len(dims) = {len(dims)}")
    ds = [_wrap_dim(d, nd) for d in dims]
    if len(set(ds)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    shape = [t._shape[d] for d in ds]
    st = [t._strides[d] for d in ds]
    back = [0] * nd
    for i, d in enumerate(ds):
        back[d] = i
    return _view(t, shape, st, t._offset, "PermuteBackward0", lambda x: permute(x, ds),
                 inv=lambda g: permute(g, back))


def transpose(t, dim0, dim1):
    nd = t.dim()
    if nd == 0:
        return _view(t, (), (), t._offset, "TransposeBackward0", lambda x: x)
    a, b = _wrap_dim(dim0, nd), _wrap_dim(dim1, nd)
    shape, st = list(t._shape), list(t._strides)
    shape[a], shape[b] = shape[b], shape[a]
    st[a], st[b] = st[b], st[a]
    return _view(t, shape, st, t._offset, "TransposeBackward0", lambda x: transpose(x, a, b),
                 inv=lambda g: transpose(g, a, b))


def _t01(x):
    return transpose(x, 0, 1)


def t_(t):
    nd = len(t._shape)
    if nd == 2:     # transpose(t, 0, 1) without the general dim handling (linear layers call this per step)
        (n0, n1), (s0, s1) = t._shape, t._strides
        return _view(t, (n1, n0), (s1, s0), t._offset, "TransposeBackward0", _t01, inv=_t01)
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    return t


def T(t):
    if t.dim() not in (0, 2):
        import warnings
        warnings.warn("The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated.",
                      UserWarning, stacklevel=3)
    return permute(t, list(range(t.dim() - 1, -1, -1)))


def mT(t):
    if t.dim() < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.")
    return transpose(t, -2, -1)


def movedim(t, source, destination):
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    nd = t.dim()
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should contain the "
                           f"same number of dims as destination ({dst} dims)")
    src = [_wrap_dim(s, nd) for s in src]
    dst = [_wrap_dim(s, nd) for s in dst]
    order = [None] * nd
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(nd) if i not in src)
    order = [o if o is not None else next(rest) for o in order]
    return permute(t, order)


def expand(t, *sizes):
    sizes = _shape_args(sizes)
    sizes = tuple(int(s) if isinstance(s, Tensor) and s._dtype.category == 1 and s.numel() == 1 else s
                  for s in sizes)
    for i, s in enumerate(sizes):
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"expand(): argument 'size' must be tuple of ints, but found element of type "
                            f"{type(s).__name__} at pos {i}")
        if not -(1 << 63) <= s < 1 << 63:
            raise TypeError(f"expand(): argument 'size' failed to unpack the object at pos {i} with error "
                            f"\"Overflow when unpacking long long\"")
    nd = len(sizes)
    if nd < t.dim():
        raise RuntimeError(f"expand(cltensor.{t.type().split('.')[-1]}{{{list(t._shape)}}}, size={list(sizes)}): the "
                           f"number of sizes provided ({nd}) must be greater or equal to the number of dimensions in the "
                           "tensor")
    off = nd - t.dim()
    shape, st = [], []
    for i, s in enumerate(sizes):
        if i < off:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                                   "non-existing dimension 0")
            shape.append(s)
            st.append(0)
            continue
        cur, cst = t._shape[i - off], t._strides[i - off]
        if s == -1:
            s = cur
        if cur == s:
            shape.append(s)
            st.append(cst)
        elif cur == 1:
            shape.append(s)
            st.append(0)
        else:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                               f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                               f"{list(t._shape)}")
    v = make(t._st, tuple(shape), tuple(st), t._offset, t._dtype, t._device)
    v._base = t._base if t._base is not None else t
    if AG.needs_grad(t):
        AG.record("ExpandBackward0", (t,), v, lambda g: (g,))   # the engine sums g back to t's shape
    return v


def expand_as(t, other):
    return expand(t, other._shape)


def broadcast_to(t, shape):
    return expand(t, tuple(shape))


def narrow(t, dim, start, length):
    d = _wrap_dim(dim, t.dim())
    size = t._shape[d]
    if isinstance(start, Tensor):
        start = int(start.item())
    if start < 0:
        start += size
    if start < 0 or start > size or length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return slice_dim(t, d, start, start + length, 1)


def slice_dim(t, d, start, stop, step):
    n = max(0, (stop - start + step - 1) // step)
    shape = list(t._shape)
    st = list(t._strides)
    shape[d] = n
    off = t._offset + (start * t._strides[d] if n else 0)
    st[d] = t._strides[d] * step
    return _view(t, shape, st, off, "SliceBackward0", lambda x: slice_dim(x, d, start, stop, step))


def select(t, dim, index):
    d = _wrap_dim(dim, t.dim())
    size = t._shape[d]
    if index < -size or index >= size:
        raise IndexError(f"index {index} is out of bounds for dimension {d} with size {size}")
    if index < 0:
        index += size
    shape = t._shape[:d] + t._shape[d + 1:]
    st = t._strides[:d] + t._strides[d + 1:]
    return _view(t, shape, st, t._offset + index * t._strides[d], "SelectBackward0", lambda x: select(x, d, index))


def unbind(t, dim=0):
    d = _wrap_dim(dim, t.dim())
    return tuple(select(t, d, i) for i in range(t._shape[d]))


def split(t, split_size_or_sections, dim=0):
    d = _wrap_dim(dim, t.dim())
    size = t._shape[d]
    if isinstance(split_size_or_sections, int):
        s = split_size_or_sections
        if s <= 0 and size:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {size}")
        sizes = [min(s, size - i) for i in range(0, size, s)] if size else [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's size at "
                               f"dimension {d}), but got split_sizes={sizes}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(t, d, start, s))
        start += s
    return tuple(out)


def chunk(t, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = _wrap_dim(dim, t.dim())
    size = t._shape[d]
    s = (size + chunks - 1) // chunks if size else 1
    return split(t, max(s, 1), d) if size else (t,) * 1


def diagonal(t, offset=0, dim1=0, dim2=1):
    nd = t.dim()
    a, b = _wrap_dim(dim1, nd), _wrap_dim(dim2, nd)
    if a == b:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    if offset >= 0:
        n = max(0, min(t._shape[a], t._shape[b] - offset))
        off = t._offset + (offset * t._strides[b] if n else 0)
    else:
        n = max(0, min(t._shape[a] + offset, t._shape[b]))
        off = t._offset + (-offset * t._strides[a] if n else 0)
    shape = [s for i, s in enumerate(t._shape) if i not in (a, b)] + [n]
    st = [s for i, s in enumerate(t._strides) if i not in (a, b)] + [t._strides[a] + t._strides[b]]
    return _view(t, shape, st, off, "DiagonalBackward0", lambda x: diagonal(x, offset, a, b))


def as_strided(t, size, stride, storage_offset=None):
    off = t._offset if storage_offset is None else storage_offset
    size, stride = tuple(size), tuple(stride)
    if t.numel() and size and prod(size):
        last = off + sum((s - 1) * st for s, st in zip(size, stride))
        if last >= t._st.nbytes // t._dtype.itemsize or off < 0:
            raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {off} "
                               f"requiring a storage size out of bounds of the storage")
    v = make(t._st, size, stride, off, t._dtype, t._device)
    v._base = t._base if t._base is not None else t
    if AG.needs_grad(t):
        AG.record("AsStridedBackward0", (t,), v, lambda g: (_as_strided_backward(g, t, size, stride, off),))
    return v


def _positions(shape, strides, offset):
    """Storage positions (int64, numpy) of the elements of a (shape, strides, offset) geometry, in index order."""
    pos = np.full((), offset, np.int64)
    for k, (n, st) in enumerate(zip(shape, strides)):
        pos = pos[..., None] + np.arange(n, dtype=np.int64) * st
    return pos.reshape(-1)


def _as_strided_backward(g, t, size, stride, off):
    """PyTorch's as_strided backward: the view's gradient summed into the storage positions it reads (elements the
    view reads twice get both contributions), then read back in t's own geometry."""
    from ._index import ops as IX
    from ._creation import from_numpy
    vpos = _positions(size, stride, off)
    tpos = _positions(t._shape, t._strides, t._offset)
    if vpos.size == 0 or tpos.size == 0:
        return zeros(t._shape, dtype=t._dtype, device=g._device)
    lo = int(min(vpos.min(), tpos.min()))
    span = int(max(vpos.max(), tpos.max())) - lo + 1
    acc = zeros(span, dtype=g._dtype, device=g._device)
    acc = IX.index_add(acc, 0, from_numpy(vpos - lo).to(g._device), g.reshape(-1))
    return IX.index_select(acc, 0, from_numpy(tpos - lo).to(g._device)).reshape(t._shape)


def real(t):
    if not t._dtype.is_complex:
        return t
    rd = t._dtype.to_real()
    return _view(t, t._shape, tuple(2 * s for s in t._strides), 2 * t._offset, "RealBackward0", real, dtype=rd)


def imag(t):
    if not t._dtype.is_complex:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    rd = t._dtype.to_real()
    return _view(t, t._shape, tuple(2 * s for s in t._strides), 2 * t._offset + 1, "ImagBackward0", imag, dtype=rd)


# ---------------------------------------------------------------- registration
for _f in (reshape, flatten, unflatten, squeeze, unsqueeze, permute, narrow, unbind, split, chunk, diagonal,
           as_strided, clone, detach, select, broadcast_to, movedim):
    register(_f.__name__, _f, method=True)
register("transpose", transpose, method=True)
register("swapaxes", transpose, method=True, alias_of="transpose")
register("swapdims", transpose, method=True, alias_of="transpose")
register("moveaxis", movedim, method=True, alias_of="movedim")
register("t", t_, method=True)
for _f in (view, contiguous, detach_, expand, expand_as):
    register_method(_f.__name__, _f)


def view_as(t, other):
    return view(t, other._shape)


def reshape_as(t, other):
    return reshape(t, other._shape)


def _conj(t):
    return _ops.apply("conj", t) if t._dtype.is_complex else t


def adjoint(t):
    return _conj(mT(t))


def _set_view(self, v):
    """The in-place view methods: self takes v's shape and strides (its storage stays)."""
    self._shape, self._strides = v._shape, v._strides
    return self


def squeeze_(self, dim=None):
    return _set_view(self, squeeze(self, dim))


def unsqueeze_(self, dim):
    return _set_view(self, unsqueeze(self, dim))


def t_inplace(self):
    return _set_view(self, t_(self))


def transpose_(self, dim0, dim1):
    return _set_view(self, transpose(self.detach(), dim0, dim1))


def _H(t):
    return _conj(T(t))


for _n, _f in (("view_as", view_as), ("reshape_as", reshape_as), ("adjoint", adjoint), ("squeeze_", squeeze_),
               ("unsqueeze_", unsqueeze_), ("t_", t_inplace), ("transpose_", transpose_), ("T", property(T)),
               ("mT", property(mT)), ("H", property(_H)), ("mH", property(adjoint))):
    register_method(_n, _f)
