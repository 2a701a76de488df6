"""Shape ops that copy: cat/stack (+ h/v/d/column_stack), flip, roll, repeat/tile, tril/triu, diag/diag_embed,
meshgrid, repeat_interleave, rot90, each with PyTorch's checks and its backward rule.

Most are strided copies through the elementwise engine into views of the output (cat: one copy per input into
its slice; repeat: one copy into the output seen as (r0, s0, r1, s1, ...) from the input with stride 0 along
the r dims; flip: one copy from a view with negated strides, built only for the kernel; roll: one copy per
block). tril/triu have their own kernel (templates/shape.mako) since they need coordinates.
"""
import warnings

import numpy as np

from . import _dtypes as D
from . import _ew
from . import _kernels as K
from . import _views as V
from . import _device as dv
from . import _ops
from ._creation import tensor, zeros
from ._launch import extent, idx_type
from ._registry import register, register_method
from ._tensor import Tensor, empty_tensor, make, contiguous_strides, prod, _wrap_dim
from .autograd import _tape as AG



def _copy(dst, src):
    """dst[...] = src (strided, cast to dst's dtype), no autograd."""
    if dst.numel():
        _ew.run("x0", dst, [src], (src._dtype,), src._dtype)


def _raw(t, shape, strides, offset):
    return make(t._st, tuple(shape), tuple(strides), offset, t._dtype, t._device)


def _zeros(shape, dtype, device):
    return zeros(tuple(shape), dtype=dtype, device=device)


def _tensor_list(tensors, name):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    return tensors


def _common(ts):
    dt = ts[0]._dtype
    dev = ts[0]._device
    for t in ts[1:]:
        dt = D.promote_types(dt, t._dtype)
        if t._device != dev:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                               f"{dev} and {t._device}!")
    return dt, dev


def _prepare_out(out, shape, dtype, dev, name):
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if out._device != dev:
        raise RuntimeError(f"Expected out tensor to have device {dev}, but got {out._device} instead")
    if not D.can_cast(dtype, out._dtype):
        raise RuntimeError(f"result type {dtype._alias} can't be cast to the desired output type {out._dtype._alias}")
    if out._shape != tuple(shape):
        _ops._resize_(out, tuple(shape))
    if AG.needs_grad(out):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    return out


# ---------------------------------------------------------------- cat / stack

def _legacy_empty(t):
    return t.dim() == 1 and t._shape[0] == 0


def cat(tensors, dim=0, *, out=None):
    ts = _tensor_list(tensors, "cat")
    if not ts:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(ts):
        if t.dim() == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    dt, dev = _common(ts)
    keep = [(i, t) for i, t in enumerate(ts) if not _legacy_empty(t)]
    if not keep:
        shape = (0,)
        d = _wrap_dim(dim, 1)
    else:
        ref = keep[0][1]
        d = _wrap_dim(dim, ref.dim())
        for i, t in keep:
            if t.dim() != ref.dim():
                raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.dim()} and {t.dim()}")
            for k in range(ref.dim()):
                if k != d and t._shape[k] != ref._shape[k]:
                    raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                                       f"{ref._shape[k]} but got size {t._shape[k]} for tensor number {i} in the list.")
        shape = list(ref._shape)
        shape[d] = sum(t._shape[d] for _, t in keep)
        shape = tuple(shape)
    r = empty_tensor(shape, dt, dev) if out is None else _prepare_out(out, shape, dt, dev, "cat")
    offsets = {}
    off = 0
    for i, t in keep:
        sz = t._shape[d]
        offsets[i] = off
        if sz:
            _copy(_raw(r, t._shape, r._strides, r._offset + off * r._strides[d]), t)
        off += sz
    if out is not None:
        r._st.version += 1
        return r
    if AG.needs_grad(*ts):
        def bw(g):
            res = []
            for i, t in enumerate(ts):
                if not t.requires_grad:
                    res.append(None)
                elif i not in offsets:
                    res.append(_zeros(t._shape, g._dtype, g._device))
                else:
                    res.append(V.narrow(g, d, offsets[i], t._shape[d]))
            return tuple(res)
        AG.record("CatBackward0", tuple(ts), r, bw)
    return r


def stack(tensors, dim=0, *, out=None):
    ts = _tensor_list(tensors, "stack")
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    s0 = ts[0]._shape
    for i, t in enumerate(ts):
        if t._shape != s0:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(s0)} at entry 0 and "
                               f"{list(t._shape)} at entry {i}")
    d = _wrap_dim(dim, len(s0) + 1)
    dt, dev = _common(ts)
    shape = s0[:d] + (len(ts),) + s0[d:]
    r = empty_tensor(shape, dt, dev) if out is None else _prepare_out(out, shape, dt, dev, "stack")
    st = r._strides[:d] + r._strides[d + 1:]
    for i, t in enumerate(ts):
        _copy(_raw(r, s0, st, r._offset + i * r._strides[d]), t)
    if out is not None:
        r._st.version += 1
        return r
    if AG.needs_grad(*ts):
        AG.record("StackBackward0", tuple(ts), r,
                  lambda g: tuple(V.select(g, d, i) if t.requires_grad else None for i, t in enumerate(ts)))
    return r


def _atleast(t, n):
    if t.dim() >= n:
        return t
    if n == 1:
        return V.reshape(t, (1,))
    if n == 2:
        return V.reshape(t, (1, 1)) if t.dim() == 0 else V.unsqueeze(t, 0)
    if t.dim() == 0:
        return V.reshape(t, (1, 1, 1))
    if t.dim() == 1:
        return V.reshape(t, (1, t._shape[0], 1))
    return V.unsqueeze(t, 2)


def atleast_1d(*tensors):
    return _atleast_many(tensors, 1)


def atleast_2d(*tensors):
    return _atleast_many(tensors, 2)


def atleast_3d(*tensors):
    return _atleast_many(tensors, 3)


def _atleast_many(tensors, n):
    if len(tensors) == 1 and isinstance(tensors[0], Tensor):
        return _atleast(tensors[0], n)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    return tuple(_atleast(t, n) for t in tensors)


def hstack(tensors, *, out=None):
    ts = [_atleast(t, 1) for t in _tensor_list(tensors, "hstack")]
    if ts and ts[0].dim() == 1:
        return cat(ts, 0, out=out)
    return cat(ts, 1, out=out)


def vstack(tensors, *, out=None):
    return cat([_atleast(t, 2) for t in _tensor_list(tensors, "vstack")], 0, out=out)


def dstack(tensors, *, out=None):
    return cat([_atleast(t, 3) for t in _tensor_list(tensors, "dstack")], 2, out=out)


def column_stack(tensors, *, out=None):
    ts = [V.reshape(t, (t.numel(), 1)) if t.dim() <= 1 else t for t in _tensor_list(tensors, "column_stack")]
    return cat(ts, 1, out=out)


# ---------------------------------------------------------------- flip / roll / rot90

def _dims_arg(dims, name="dims"):
    if isinstance(dims, (int, np.integer)):
        return (int(dims),)
    return tuple(dims)


def _flip_raw(t, ds):
    r = empty_tensor(t._shape, t._dtype, t._device)
    if r.numel():
        st = list(t._strides)
        off = t._offset
        for d in ds:
            off += (t._shape[d] - 1) * st[d]
            st[d] = -st[d]
        _copy(r, _raw(t, t._shape, st, off))
    return r


def flip(input, dims):
    nd = input.dim()
    ds = [_wrap_dim(d, nd) for d in _dims_arg(dims)]
    seen = set()
    for d in ds:
        if d in seen:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        seen.add(d)
    r = _flip_raw(input, ds)
    if AG.needs_grad(input):
        AG.record("FlipBackward0", (input,), r, lambda g: (flip(g, ds),))
    return r


def fliplr(input):
    if input.dim() < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input):
    if input.dim() < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))


def _roll_raw(t, shifts, ds):
    """shifts per dim (dict dim -> shift), one copy per block."""
    r = empty_tensor(t._shape, t._dtype, t._device)
    if not r.numel():
        return r
    parts = []
    for d in range(t.dim()):
        n = t._shape[d]
        s = shifts.get(d, 0) % n if n else 0
        if s == 0:
            parts.append([(0, 0, n)])
        else:
            parts.append([(0, s, n - s), (n - s, 0, s)])   # (src start, dst start, length)
    import itertools
    for combo in itertools.product(*parts):
        shape = tuple(p[2] for p in combo)
        if not prod(shape):
            continue
        so = t._offset + sum(p[0] * st for p, st in zip(combo, t._strides))
        do = r._offset + sum(p[1] * st for p, st in zip(combo, r._strides))
        _copy(_raw(r, shape, r._strides, do), _raw(t, shape, t._strides, so))
    return r


def roll(input, shifts, dims=None):
    sh = _dims_arg(shifts)
    if dims is None or (not isinstance(dims, int) and len(dims) == 0):
        if len(sh) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, dims:0")
        flat = V.reshape(input.detach(), (-1,))
        r = _roll_raw(flat, {0: sh[0]}, [0])
        r = _raw(r, input._shape, contiguous_strides(input._shape), 0)
        if AG.needs_grad(input):
            AG.record("RollBackward0", (input,), r, lambda g: (roll(g, -sh[0]),))
        return r
    ds = _dims_arg(dims)
    if len(sh) != len(ds):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, dims:{len(ds)}")
    nd = input.dim()
    wd = [_wrap_dim(d, nd) for d in ds]
    acc = {}
    for s, d in zip(sh, wd):
        acc[d] = acc.get(d, 0) + int(s)
    r = _roll_raw(input, acc, wd)
    if AG.needs_grad(input):
        AG.record("RollBackward0", (input,), r, lambda g: (roll(g, tuple(-int(s) for s in sh), tuple(wd)),))
    return r


def rot90(input, k=1, dims=(0, 1)):
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    nd = input.dim()
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    d0, d1 = _wrap_dim(dims[0], nd), _wrap_dim(dims[1], nd)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k %= 4
    if k == 1:
        return V.transpose(flip(input, (d1,)), d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return V.transpose(flip(input, (d0,)), d0, d1)
    return V.clone(input)


# ---------------------------------------------------------------- repeat / tile / repeat_interleave

def repeat(input, *sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)):
        sizes = tuple(sizes[0])
    elif len(sizes) == 1 and isinstance(sizes[0], Tensor):
        sizes = tuple(sizes[0].tolist())
    sizes = tuple(int(s) for s in sizes)
    nd = input.dim()
    if len(sizes) < nd:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                           "tensor")
    pad = len(sizes) - nd
    ishape = (1,) * pad + input._shape
    istr = (0,) * pad + input._strides
    oshape = tuple(s * r for s, r in zip(ishape, sizes))
    for s in oshape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(oshape)}")
    r = empty_tensor(oshape, input._dtype, input._device)
    ostr = r._strides
    vshape, vo, vi = [], [], []
    for rep, s, os_, is_ in zip(sizes, ishape, ostr, istr):
        vshape += [rep, s]
        vo += [s * os_, os_]
        vi += [0, is_]
    if r.numel():
        _copy(_raw(r, vshape, vo, r._offset), _raw(input, vshape, vi, input._offset))
    if AG.needs_grad(input):
        def bw(g):
            gg = V.reshape(g, tuple(vshape)).sum(dim=tuple(range(0, 2 * len(sizes), 2)))
            return (V.reshape(gg, input._shape),)
        AG.record("RepeatBackward0", (input,), r, bw)
    return r


def tile(input, *dims):
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = tuple(dims[0])
    dims = tuple(int(x) for x in dims)
    nd = input.dim()
    if len(dims) < nd:
        dims = (1,) * (nd - len(dims)) + dims
    return repeat(input, dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    if repeats is None:
        reps = input
        if reps.dim() > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        rl = np.asarray(reps._to_numpy_copy(), dtype=np.int64).reshape(-1)
        if (rl < 0).any():
            raise RuntimeError("repeats can not be negative")
        return tensor(np.repeat(np.arange(rl.size, dtype=np.int64), rl), device=input._device)
    if dim is None:
        input = V.reshape(input, (-1,))
        d = 0
    else:
        d = _wrap_dim(dim, input.dim())
    if isinstance(repeats, Tensor):
        if repeats.dim() > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if repeats.numel() == 1 and (repeats.dim() == 0 or input.dim() == 0 or input._shape[d] != 1):
            repeats = int(repeats.item())
    if isinstance(repeats, (int, np.integer)):
        rep = int(repeats)
        if rep < 0:
            raise RuntimeError("repeats can not be negative")
        if input.dim() == 0:
            input = V.reshape(input, (1,))
        return _repeat_interleave_int(input, rep, d)
    rl = np.asarray(repeats._to_numpy_copy(), dtype=np.int64).reshape(-1)
    n = input._shape[d] if input.dim() else 1
    if rl.size != n:
        raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = {rl.size} "
                           f"and input.size({d}) = {n}")
    if (rl < 0).any():
        raise RuntimeError("repeats can not be negative")
    from ._index.ops import index_select
    idx = tensor(np.repeat(np.arange(n, dtype=np.int64), rl), device=input._device)
    return index_select(input, d, idx)


def _repeat_interleave_int(input, rep, d):
    """One strided copy. The output is seen as (..., rep, n, ...) (rep before n) so that the innermost dim the
    kernel walks stays long even when d is the last dim."""
    shape, istr = input._shape, input._strides
    n = shape[d]
    oshape = shape[:d] + (n * rep,) + shape[d + 1:]
    r = empty_tensor(oshape, input._dtype, input._device)
    ostr = r._strides
    vshape = shape[:d] + (rep, n) + shape[d + 1:]
    _copy(_raw(r, vshape, ostr[:d] + (ostr[d], rep * ostr[d]) + ostr[d + 1:], r._offset),
          _raw(input, vshape, istr[:d] + (0, istr[d]) + istr[d + 1:], input._offset))
    if AG.needs_grad(input):
        def bw(g):
            return (V.reshape(g, shape[:d] + (n, rep) + shape[d + 1:]).sum(dim=d + 1),)
        AG.record("RepeatInterleaveBackward0", (input,), r, bw)
    return r


# ---------------------------------------------------------------- tril / triu

def _tri_raw(out, x, k, lower):
    n = out.numel()
    if n == 0:
        return
    rt = out._st.rt
    if rt is None:
        raise dv.no_cpu_device_error(out._device)
    rows, cols = out._shape[-2:]
    bshape, (bo, bx) = _ew.collapse(list(out._shape[:-2]), [list(out._strides[:-2]), list(x._strides[:-2])])
    idx, it = idx_type(n, extent(out), extent(x))
    ch = 16
    nch = (cols + ch - 1) // ch
    nwork = (n // cols) * nch
    from ._index.engine import _bits      # a pure move: one kernel per element size
    kern = K.get(rt, "shape", "tri", dt=_bits(out._dtype), lower=bool(lower), rank=len(bshape), idx=idx, ch=ch)
    args = [out._st.buf, it(out._offset), x._st.buf, it(x._offset), np.int64(k), it(nwork), it(nch), it(rows),
            it(cols), it(out._strides[-2]), it(out._strides[-1]), it(x._strides[-2]), it(x._strides[-1])]
    for d in range(len(bshape)):
        args += [it(bshape[d]), it(bo[d]), it(bx[d])]
    ls = rt.local_size
    K.launch(rt, kern, (K.round_up(nwork, ls),), (ls,), args)
    if out._st.shared or x._st.shared:
        rt.queue.finish()


def _tri(input, diagonal, lower, out=None):
    name = "tril" if lower else "triu"
    if input.dim() < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    k = int(diagonal)
    if out is not None:
        _prepare_out(out, input._shape, input._dtype, input._device, name)
        _tri_raw(out, input, k, lower)
        out._st.version += 1
        return out
    r = empty_tensor(input._shape, input._dtype, input._device)
    _tri_raw(r, input, k, lower)
    if AG.needs_grad(input):
        AG.record("TrilBackward0" if lower else "TriuBackward0", (input,), r, lambda g: (_tri(g, k, lower),))
    return r


def tril(input, diagonal=0, *, out=None):
    return _tri(input, diagonal, True, out)


def triu(input, diagonal=0, *, out=None):
    return _tri(input, diagonal, False, out)


def _tri_(self, diagonal, lower):
    if self.dim() < 2:
        raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least 2 dimensions")
    if AG.needs_grad(self):
        _ops.check_inplace(self)
        return self.copy_(_tri(self, diagonal, lower))
    _tri_raw(self, self, int(diagonal), lower)
    self._st.version += 1
    return self


def tril_(self, diagonal=0):
    return _tri_(self, diagonal, True)


def triu_(self, diagonal=0):
    return _tri_(self, diagonal, False)


# ---------------------------------------------------------------- diag / diag_embed

def _diag_scatter(g, shape, offset, d1, d2, node):
    """zeros(shape) with its (offset, d1, d2) diagonal = g; differentiable in g."""
    z = _zeros(shape, g._dtype, g._device)
    with AG.no_grad():
        _copy(V.diagonal(z, offset, d1, d2), g)
    if AG.needs_grad(g):
        AG.record(node, (g,), z, lambda gg: (V.diagonal(gg, offset, d1, d2),))
    return z


def diag(input, diagonal=0, *, out=None):
    if not isinstance(input, Tensor):
        raise TypeError(f"diag(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    k = int(diagonal)
    if input.dim() == 1:
        n = input._shape[0] + abs(k)
        r = _diag_scatter(input, (n, n), k, 0, 1, "DiagEmbedBackward0")
    elif input.dim() == 2:
        dg = V.diagonal(input.detach(), k, 0, 1)
        r = empty_tensor(dg._shape, input._dtype, input._device)
        _copy(r, dg)
        if AG.needs_grad(input):
            shp = input._shape
            AG.record("DiagonalBackward0", (input,), r,
                      lambda g: (_diag_scatter(g, shp, k, 0, 1, "DiagonalBackwardBackward0"),))
    else:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.dim()}D")
    if out is not None:
        if out._shape != r._shape:
            _ops._resize_(out, r._shape)
        return _ops.copy_into(out, r)
    return r


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    nd = input.dim() + 1
    d1, d2 = _wrap_dim(dim1, nd), _wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    last = input._shape[-1] if input.dim() else 1
    n = last + abs(int(offset))
    shape = list(input._shape[:-1])
    lo, hi = min(d1, d2), max(d1, d2)
    shape.insert(lo, n)
    shape.insert(hi, n)
    src = input if input.dim() else V.reshape(input, (1,))
    return _diag_scatter(src, tuple(shape), int(offset), d1, d2, "DiagEmbedBackward0")


# ---------------------------------------------------------------- meshgrid

def meshgrid(*tensors, indexing=None):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    ts = list(tensors)
    if not ts:
        raise RuntimeError("torch.meshgrid: Expected at least one tensor")
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in ts:
        if not isinstance(t, Tensor):
            raise TypeError(f"meshgrid(): expected Tensor, got {type(t).__name__}")
        if t.dim() > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}")
        if t._dtype is not ts[0]._dtype:
            raise RuntimeError("torch.meshgrid: Expected all tensors in the tensor list to have the same dtype")
        if t._device != ts[0]._device:
            raise RuntimeError("torch.meshgrid: Expected all tensors in the tensor list to have the same device")
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = [t.numel() for t in ts]
    outs = []
    for i, t in enumerate(ts):
        vs = [1] * len(ts)
        vs[i] = -1
        outs.append(V.expand(V.reshape(t, tuple(vs)), shape))
    if swap:
        outs[0], outs[1] = outs[1], outs[0]
    return tuple(outs)


# ---------------------------------------------------------------- registration
def _flip_method(self, *dims):
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = tuple(dims[0])
    return flip(self, dims)


_flip_method.__name__ = _flip_method.__qualname__ = "flip"
register("flip", flip, method=_flip_method)
for _f in (fliplr, flipud, roll, rot90, tile, repeat_interleave, diag, diag_embed):
    register(_f.__name__, _f, method=True)
register("tril", tril, method=True, inplace=tril_)
register("triu", triu, method=True, inplace=triu_)
for _f in (stack, hstack, vstack, dstack, column_stack, meshgrid, atleast_1d, atleast_2d, atleast_3d):
    register(_f.__name__, _f)
register("cat", cat)
register("concat", cat, alias_of="cat")
register("concatenate", cat, alias_of="cat")
register("row_stack", vstack, alias_of="vstack")
register_method("repeat", repeat)
