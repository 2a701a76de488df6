"""Parsing of index expressions: t[index] with ints, slices, None, ..., bools, index tensors, lists and masks.

`normalize` / `is_basic` / `basic_index` serve the basic case (a view, no kernel). `parse` splits a tuple holding
advanced entries into basic indexing (applied as views) and index tensors (an `Adv`), and `plan` turns an `Adv`
into the iteration the engine walks: iteration shape S, the base's strides over S, and one (tensor, strides over
S, size, stride) entry per index tensor.
"""
import numpy as np

from .. import _dtypes as D
from .. import _ew
from .. import _views as V
from .. import _creation
from .._tensor import Tensor, make, prod
from . import engine as E

INDEX_TYPE_ERR = "tensors used as indices must be long, int, byte or bool tensors"
_IDX_DTYPES = (D.int64, D.int32)


# ---------------------------------------------------------------- basic indexing (views)

def is_basic(idx):
    return idx is None or idx is Ellipsis or isinstance(idx, (int, slice)) and not isinstance(idx, bool)


def normalize(index):
    if isinstance(index, list):
        if seq_as_tuple(index):   # PyTorch: a short list holding slices/None/sequences/tensors is a tuple
            return tuple(index)
    if not isinstance(index, tuple):
        index = (index,)
    return index


def basic_index(t, index):
    """Apply a tuple of basic indices; returns a view."""
    nd = t.dim()
    n_real = sum(1 for i in index if i is not None and i is not Ellipsis)
    if sum(1 for i in index if i is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_real > nd:
        raise IndexError(f"too many indices for tensor of dimension {nd}")
    out = t
    d = 0
    for pos, i in enumerate(index):
        if i is Ellipsis:
            d += nd - n_real
        elif i is None:
            out = V.unsqueeze(out, d)
            d += 1
        elif isinstance(i, int):
            size = out._shape[d]
            if i < -size or i >= size:   # PyTorch names the position in the index tuple
                raise IndexError(f"index {i} is out of bounds for dimension {pos} with size {size}")
            out = V.select(out, d, i)
        else:
            size = out._shape[d]
            start, stop, step = i.start, i.stop, i.step
            step = 1 if step is None else int(step)
            if step <= 0:
                raise ValueError("step must be greater than zero")
            start = 0 if start is None else int(start)
            stop = size if stop is None else int(stop)
            if start < 0:
                start = max(start + size, 0)
            if stop < 0:
                stop = max(stop + size, 0)
            start, stop = min(start, size), min(stop, size)
            stop = max(stop, start)
            out = V.slice_dim(out, d, start, stop, step)
            d += 1
    return out


# ---------------------------------------------------------------- advanced indexing: t[index] as an Adv

_SLICE, _INT, _NONE, _ELL, _IDX, _MASK, _BOOL = range(7)


def seq_as_tuple(index):
    """PyTorch's (numpy's old) rule: a short list holding sequences, tensors, slices, None or ... is a tuple."""
    if not isinstance(index, list) or len(index) >= 32:
        return False
    return any(isinstance(x, (Tensor, list, tuple, slice, np.ndarray)) or x is None or x is Ellipsis for x in index)


def _classify(x, dev):
    """-> (kind, value, host numpy values or None)."""
    if x is None:
        return _NONE, None, None
    if x is Ellipsis:
        return _ELL, None, None
    if isinstance(x, slice):
        return _SLICE, x, None
    if isinstance(x, (bool, np.bool_)):
        return _BOOL, bool(x), None
    if isinstance(x, Tensor):
        dt = x._dtype
        if dt is D.bool_ or dt is D.uint8:
            return _MASK, E._same_device(x, _Dev(dev)), None
        if dt in _IDX_DTYPES:
            if x.dim() == 0:     # PyTorch: a 0-d integer tensor selects like an int
                return _INT, int(x.item()), None
            return _IDX, E._same_device(x, _Dev(dev)), None
        raise IndexError(INDEX_TYPE_ERR)
    if isinstance(x, (int, np.integer)):
        return _INT, int(x), None
    if isinstance(x, (list, tuple, np.ndarray)):
        if not isinstance(x, np.ndarray) and _has_tensor(x):
            return _classify(_creation.tensor(x, device=dev), dev)
        arr = np.asarray(x)
        if arr.dtype == np.bool_:
            return _MASK, None, arr
        if arr.ndim == 0 and arr.dtype.kind in "iu":
            return _INT, int(arr), None
        if arr.dtype.kind in "iu" or arr.size == 0:
            arr = arr.astype(np.int64)
            return _IDX, None, arr
        raise IndexError(INDEX_TYPE_ERR)
    if hasattr(x, "__index__"):
        return _INT, x.__index__(), None
    if isinstance(x, (str, bytes)):
        raise TypeError(f"tensor indices must be integers, slices, None, Ellipsis, bool or integer tensors, "
                        f"not {type(x).__name__}")
    raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
                     f"indices (got {type(x).__name__})")


class _Dev:
    __slots__ = ("_device",)

    def __init__(self, d):
        self._device = d


def _has_tensor(x):
    return any(isinstance(v, Tensor) or (isinstance(v, (list, tuple)) and _has_tensor(v)) for v in x)


def _slice(v, d, s):
    size = v._shape[d]
    start, stop, step = s.indices(size) if s.step is None or s.step > 0 else (0, 0, s.step)
    if s.step is not None and int(s.step) <= 0:
        raise ValueError("step must be greater than zero")
    stop = max(stop, start)
    return V.slice_dim(v, d, start, stop, step)


class Adv:
    """A parsed advanced index on view `v`: index tensor `tensors[k]` indexes dim `dims[k]` of v.
    known[k]: 'mask' (came from nonzero: valid and unique), a numpy array (validated on the host) or None."""
    __slots__ = ("v", "dims", "tensors", "known")

    def __init__(self, v, dims, tensors, known):
        self.v, self.dims, self.tensors, self.known = v, dims, tensors, known

    def with_base(self, base):
        return Adv(base, self.dims, self.tensors, self.known)


def parse(t, index):
    """Split index (a tuple) into basic indexing (applied as views) and advanced index tensors."""
    dev = t._device
    items = [_classify(x, dev) for x in index]
    nd = t.dim()
    consumed = 0
    n_ell = 0
    for kind, val, host in items:
        if kind in (_INT, _SLICE, _IDX):
            consumed += 1
        elif kind == _MASK:
            consumed += val.dim() if val is not None else host.ndim
        elif kind == _ELL:
            n_ell += 1
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > nd:
        raise IndexError(f"too many indices for tensor of dimension {nd}")
    v = t
    d = 0
    entries = []     # (view dim, kind, value, host): advanced entries, resolved once v is final
    for pos, (kind, val, host) in enumerate(items):
        if kind == _NONE:
            v = V.unsqueeze(v, d)
            d += 1
        elif kind == _ELL:
            d += nd - consumed
        elif kind == _INT:
            size = v._shape[d]
            if val < -size or val >= size:      # PyTorch names the position in the index tuple
                raise IndexError(f"index {val} is out of bounds for dimension {pos} with size {size}")
            v = V.select(v, d, val)
        elif kind == _SLICE:
            v = _slice(v, d, val)
            d += 1
        elif kind == _IDX:
            entries.append((d, _IDX, val, host))
            d += 1
        elif kind == _BOOL or (kind == _MASK and (host.ndim if val is None else val.dim()) == 0):
            b = val if kind == _BOOL else bool(host if val is None else val.item())
            v = V.unsqueeze(v, d)
            entries.append((d, _BOOL, b, None))
            d += 1
        else:
            entries.append((d, _MASK, val, host))
            d += host.ndim if val is None else val.dim()
    dims, tensors, known = [], [], []
    bad_host = False
    for d, kind, val, host in entries:
        if kind == _IDX:
            dims.append(d)
            known.append(host)
            if val is None:
                size = v._shape[d]
                if host.size and (host.min() < -size or host.max() >= size):
                    bad_host = True
                    host = np.zeros(host.shape, np.int64)
                tensors.append(E._host_index(host, dev))
            else:
                tensors.append(val)
        elif kind == _BOOL:
            dims.append(d)
            tensors.append(E._host_index([0] if val else [], dev))
            known.append("mask")
        else:   # mask of k dims: checked against the final view, as PyTorch does
            mshape = tuple(host.shape) if val is None else val._shape
            k = len(mshape)
            for j in range(k):
                if mshape[j] != v._shape[d + j]:
                    raise IndexError(f"The shape of the mask {list(mshape)} at index {j} does not match the shape "
                                     f"of the indexed tensor {list(v._shape)} at index {d + j}")
            if val is None:
                nz = np.nonzero(host)
                cols = [E._host_index(nz[j], dev) for j in range(k)]
            else:
                nzt = E._nonzero_raw(val, transposed=True)
                cols = [make(nzt._st, (nzt._shape[1],), (1,), j * nzt._strides[0], D.int64, dev) for j in range(k)]
            for j in range(k):
                dims.append(d + j)
                tensors.append(cols[j])
                known.append("mask")
    adv = Adv(v, dims, tensors, known)
    if bad_host:    # a host-side index out of range: PyTorch's message, unless the result is empty (no check)
        S, _, _, _, B = plan(adv)
        if prod(S):
            _raise_bad(adv, B)
    return adv


# ---------------------------------------------------------------- planning

def plan(adv):
    """-> (S, base strides over S, [(tensor, strides over S, size, stride)], positions of the index dims in S, B)."""
    v, dims, tensors = adv.v, adv.dims, adv.tensors
    shapes = [t._shape if t is not None else k.shape for t, k in zip(tensors, adv.known)]
    try:
        B = _ew.broadcast_shapes(*shapes)
    except RuntimeError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with shapes " +
                         ", ".join(str(list(s)) for s in shapes)) from None
    B = tuple(B)
    K_ = len(dims)
    vs, vst = v._shape, v._strides
    adjacent = dims == list(range(dims[0], dims[0] + K_))
    rest = [d for d in range(len(vs)) if d not in dims]
    if adjacent:
        pre = [d for d in rest if d < dims[0]]
        post = [d for d in rest if d > dims[0]]
    else:
        pre, post = [], rest
    S = tuple(vs[d] for d in pre) + B + tuple(vs[d] for d in post)
    base_st = [vst[d] for d in pre] + [0] * len(B) + [vst[d] for d in post]
    b0 = len(pre)
    bpos = list(range(b0, b0 + len(B)))
    idxs = []
    for d, t in zip(dims, tensors):
        st = [0] * len(S)
        if t is not None:
            st[b0:b0 + len(B)] = _ew.broadcast_strides(t, B)
        idxs.append((t, st, vs[d], vst[d]))
    return S, base_st, idxs, bpos, B


def _first_bad(arrays, sizes, B):
    """First (in row-major order over B, then by index number) out-of-range value: (k, value, size) or None."""
    bad = np.zeros(B, bool)
    per = []
    for a, n in zip(arrays, sizes):
        if a is None:
            per.append(None)
            continue
        a = np.broadcast_to(np.asarray(a, dtype=np.int64), B)
        b = (a < -n) | (a >= n)
        per.append((a, b))
        bad |= b
    if not bad.any():
        return None
    p = int(np.flatnonzero(bad.reshape(-1))[0])
    for k, ab in enumerate(per):
        if ab is not None and ab[1].reshape(-1)[p]:
            return k, int(ab[0].reshape(-1)[p]), sizes[k]


def _raise_bad(adv, B):
    arrays = [None if isinstance(kn, str) else (kn if kn is not None else t._to_numpy_copy())
              for t, kn in zip(adv.tensors, adv.known)]
    sizes = [adv.v._shape[d] for d in adv.dims]
    r = _first_bad(arrays, sizes, B)
    if r is None:
        raise IndexError("index out of bounds")
    k, val, size = r
    raise IndexError(f"index {val} is out of bounds for dimension {k} with size {size}")


def _needs_check(adv):
    return any(kn is None for kn in adv.known)
