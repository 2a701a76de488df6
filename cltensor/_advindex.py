"""Advanced indexing and the gather/scatter family.

`t[...]` / `t[...] = v` with index tensors, lists and bool masks (mixed with ints, slices, None, ...), and
index_select, gather, scatter(_add/_reduce), index_add/copy/fill/put, masked_select/scatter, take/put, nonzero,
each with PyTorch's checks and messages and its backward rule (computed with the same ops, so double backward
works).

How it runs (templates/index.mako):
- Every op is planned as an iteration shape S with one stride list per operand over S (0 where an operand does
  not move) plus index operands (tensor, strides over S, size and stride of the dim it indexes). `imap` gathers
  (out[S] = base[...]) or writes directly (base[...] = value[S]).
- Writes that may hit the same destination twice (duplicate indices) go through three passes that group the
  writes by destination without sorting: clear the destination's list head, link every write into its list
  (atomic_xchg on 32-bit ints), then the list's head element writes once: the last write wins (like a sequential
  loop) or the values are reduced (accumulate / scatter_add / index_add / scatter_reduce). The reduction order
  inside a list follows the atomic order, so floating-point sums of duplicates may differ in the last bits
  between runs (as with PyTorch's atomics on GPUs).
- Index values are bounds-checked on the device (negative values wrap for t[...], take/put and index_fill; gather,
  scatter, index_select, index_add and index_copy reject them, as PyTorch does): an out-of-range value is never
  dereferenced and sets a per-runtime error flag. Ops read the flag back right away (one sync) unless every
  index was validated on the host (Python lists / numpy arrays) or came from a mask (nonzero); on error the host
  recomputes PyTorch's message (first bad index in iteration order).
- nonzero: per-chunk counts, a one-work-item scan over <= 4096 chunks, one read of the total (sync: the output
  size depends on the data), then each chunk writes its coordinates.
"""
import numpy as np

from . import _dtypes as D
from . import _kernels as K
from . import _ew
from . import _views as V
from . import _device as dv
from ._tensor import Tensor, empty_tensor, make, contiguous_strides, prod, _wrap_dim
from .autograd import _tape as AG

_I32 = (1 << 31) - 1
CH = 16
MAX_CHUNKS = 4096
INDEX_TYPE_ERR = "tensors used as indices must be long, int, byte or bool tensors"
_IDX_DTYPES = (D.int64, D.int32)


# ---------------------------------------------------------------- small helpers

def _extent(t):
    return t._st.nbytes // t._dtype.itemsize


def _rt(t):
    rt = t._st.rt
    if rt is None:
        raise dv.no_cpu_device_error(t._device)
    return rt


def _it(idx):
    return np.int32 if idx == "int" else np.int64


def _idx_type(n, tensors, extra=0):
    m = max([n, extra] + [_extent(t) for t in tensors])
    return "int" if m <= _I32 else "long"


def _sync_if_shared(rt, tensors):
    if any(t._st.shared for t in tensors):
        rt.queue.finish()


def _err_buf(rt):
    b = getattr(rt, "_cltensor_index_err", None)
    if b is None:
        b = dv.cl.Buffer(rt.ctx, dv.cl.mem_flags.READ_WRITE | dv.cl.mem_flags.COPY_HOST_PTR,
                         hostbuf=np.zeros(4, np.int32))
        rt._cltensor_index_err = b
    return b


def _read_err(rt):
    """Read (and clear) the device's out-of-range flag: True if a kernel since the last read saw a bad index."""
    h = np.zeros(1, np.int32)
    dv.cl.enqueue_copy(rt.queue, h, _err_buf(rt), is_blocking=True)
    if h[0]:
        dv.cl.enqueue_copy(rt.queue, _err_buf(rt), np.zeros(1, np.int32), is_blocking=True)
        return True
    return False


_BITS = {1: D.uint8, 2: D.int16, 4: D.int32, 8: D.int64, 16: D.complex128}


def _bits(dt):
    """The integer (or double2) type used to move elements of dt bit-exactly."""
    return _BITS[dt.itemsize]


def _scalar_bits(v, dt):
    """Python scalar v converted to dt (PyTorch's casts: truncation, wrap-around, nonzero -> True) as raw bits."""
    if dt is D.bool_:
        v = bool(v)
    elif not dt.is_complex and isinstance(v, complex):
        v = v.real
    a = np.array(v).astype(dt.np)
    return a.reshape(1).view(_bits(dt).np)[0]


def _atomic_ok(rt, dtype):
    """Accumulation with atomics: float32/int32 with the core 32-bit atomics, float64/int64 where the device has
    cl_khr_int64_base_atomics. Other dtypes (and devices) use the grouped (linked-list) reduction."""
    if dtype in (D.float32, D.int32):
        return True
    return dtype in (D.float64, D.int64) and "cl_khr_int64_base_atomics" in rt.info.extensions


def _pad_rank(cshape, cst):
    """Pad a collapsed shape with leading size-1 dims to 2, 4 or 8 dims, so that kernels are built per rank
    bucket rather than per exact rank (a size-1 dim costs nothing at run time)."""
    r = len(cshape)
    target = 2 if r <= 2 else (4 if r <= 4 else (8 if r <= 8 else r))
    pad = target - r
    return [1] * pad + list(cshape), [[0] * pad + list(c) for c in cst]


def _geometry(shape, stride_lists):
    cshape, cst = _ew.collapse(list(shape), [list(s) for s in stride_lists])
    n = prod(shape)
    inner = cshape[-1] if cshape else 1
    cshape, cst = _pad_rank(cshape, cst)
    nch = (inner + CH - 1) // CH
    return cshape, cst, len(cshape), (n // inner) * nch, nch


def _walk_args(it, cshape, cst):
    args = []
    for d in range(len(cshape)):
        args.append(it(cshape[d]))
        for lst in cst:
            args.append(it(lst[d]))
    return args


def _same_device(idx, t):
    if idx._device != t._device:
        from . import _ops
        return _ops.to_device_contiguous(idx, t._device)
    return idx


def _clone_raw(t):
    r = empty_tensor(t._shape, t._dtype, t._device)
    _ew.run("x0", r, [t], (t._dtype,), t._dtype)
    return r


def _zeros(shape, dtype, device):
    from ._creation import zeros
    return zeros(tuple(shape), dtype=dtype, device=device)


def _host_index(arr, dev):
    """An int64 index tensor uploaded from host values (a fresh array: the copy need not block)."""
    from ._creation import _upload
    return _upload(np.array(arr, dtype=np.int64), D.int64, dev, True)


def _flat_view(t):
    return make(t._st, (t.numel(),), (1,), t._offset, t._dtype, t._device)


# ---------------------------------------------------------------- kernel launchers

def _imap(put, mode, base, base_st, S, idxs, val=None, val_st=None, scalar=None, wrap=True):
    """Gather (put=False): val[S] = base[...]; put: base[...] = val[S] or scalar (mode 'set'), or combined (mode
    'sum', destinations unique; 'atomic': atomic add, see _atomic_ok). idxs: [(index tensor, strides over S, size,
    stride in base)]."""
    n = prod(S)
    if n == 0:
        return
    rt = _rt(base)
    tens = [base] + ([val] if val is not None else []) + [ix for ix, _, _, _ in idxs]
    idx = _idx_type(n, tens)
    it = _it(idx)
    lists = ([val_st] if val is not None else []) + [base_st] + [st for _, st, _, _ in idxs]
    cshape, cst, rank, nwork, nch = _geometry(S, lists)
    bdt = base._dtype
    vdt = val._dtype if val is not None else bdt
    if mode == "set" and vdt is bdt:    # a pure move: one kernel per element size, not per dtype
        bdt = vdt = _bits(bdt)
        sarg = None if val is not None else _scalar_bits(scalar, base._dtype)
    else:
        sarg = None if val is not None else _ew.scalar_arg(scalar, bdt)
    first = 1 if val is not None else 0     # stride lists: [value,] base, indices
    hoist = tuple(cst[first + 1 + k][-1] == 0 for k in range(len(idxs)))
    kern = K.get(rt, "index", "imap", put=put, mode=mode, base=bdt, val=vdt,
                 vkind="t" if val is not None else "s", ixs=tuple(ix._dtype for ix, _, _, _ in idxs), hoist=hoist,
                 rank=rank, idx=idx, ch=CH)
    args = [base._st.buf, it(base._offset)]
    if val is not None:
        args += [val._st.buf, it(val._offset)]
    else:
        args.append(sarg)
    for ix, _, size, mult in idxs:
        args += [ix._st.buf, it(ix._offset), np.int64(size), it(mult)]
    args += [_err_buf(rt), np.int32(wrap), it(nwork), it(nch)] + _walk_args(it, cshape, cst)
    ls = rt.local_size
    K.launch(rt, kern, (K.round_up(nwork, ls),), (ls,), args)
    _sync_if_shared(rt, tens)


def _grouped(mode, dst, S, base_st, val, val_st, idxs, ks_pos, kc, kk, keyspace, incl=True, wrap=True):
    """Writes into dst that may collide, grouped by destination (see the module docstring).
    S: iteration shape; ks_pos: positions of S's keyed dims (the rest, M, are walked by every list element);
    key = sum over keyed dims c_d * kc[d] + sum_k wrap(idx_k) * kk[k] in [0, keyspace)."""
    n = prod(S)
    if n == 0:
        return
    KS = [S[p] for p in ks_pos]
    nks = prod(KS)
    if nks > _I32:
        raise RuntimeError("indexing: more than 2**31 - 1 index positions are not supported")
    rt = _rt(dst)
    tens = [dst, val] + [ix for ix, _, _, _ in idxs]
    idx = _idx_type(n, tens, keyspace)
    it = _it(idx)
    itd = D.int32 if idx == "int" else D.int64
    dev = dst._device
    head = empty_tensor((max(keyspace, 1),), D.int32, dev)
    nxt = empty_tensor((max(nks, 1),), D.int32, dev)
    keys = empty_tensor((max(nks, 1),), D.int64, dev)
    dks = empty_tensor((max(nks, 1),), itd, dev)
    vks = empty_tensor((max(nks, 1),), itd, dev)
    # passes 1-2 over KS
    sub = lambda st: [st[p] for p in ks_pos]  # noqa: E731
    lists = [sub(st) for _, st, _, _ in idxs] + [sub(kc), sub(base_st), sub(val_st)]
    cshape, cst = _pad_rank(*_ew.collapse(KS, lists))
    ixs = tuple(ix._dtype for ix, _, _, _ in idxs)
    ls = rt.local_size
    common = []
    for ix, _, size, mult in idxs:
        common += [ix._st.buf, it(ix._offset), np.int64(size), it(mult)]
    common += [np.int64(k) for k in kk]
    common += [head._st.buf, nxt._st.buf, keys._st.buf, dks._st.buf, vks._st.buf, _err_buf(rt), np.int32(wrap),
               it(nks)]
    common += _walk_args(it, cshape, cst)
    for clear in (True, False):
        kern = K.get(rt, "index", "glink", clear=clear, ixs=ixs, rank=len(cshape), idx=idx)
        K.launch(rt, kern, (K.round_up(nks, ls),), (ls,), common)
    # pass 3 over S
    kcont = contiguous_strides(KS)
    ki = [0] * len(S)
    for j, p in enumerate(ks_pos):
        ki[p] = kcont[j]
    dm = [0 if p in ks_pos else s for p, s in enumerate(base_st)]
    vm = [0 if p in ks_pos else s for p, s in enumerate(val_st)]
    cshape, cst, rank, nwork, nch = _geometry(S, [ki, dm, vm])
    bdt, vdt = dst._dtype, val._dtype
    if mode == "last" and bdt is vdt:
        bdt = vdt = _bits(bdt)
    kern = K.get(rt, "index", "gapply", mode=mode, incl=incl, base=bdt, val=vdt, rank=rank, idx=idx, ch=CH)
    args = [dst._st.buf, it(dst._offset), val._st.buf, it(val._offset), it(0), head._st.buf, nxt._st.buf,
            keys._st.buf, dks._st.buf, vks._st.buf, it(nwork), it(nch)] + _walk_args(it, cshape, cst)
    K.launch(rt, kern, (K.round_up(nwork, ls),), (ls,), args)
    _sync_if_shared(rt, tens)


# ---------------------------------------------------------------- nonzero

def _nonzero_raw(x, transposed=False):
    """int64 coordinates of the nonzero elements of x: (n, ndim), or (ndim, n) when transposed."""
    dev = x._device
    nd = x.dim()
    n = x.numel()
    if n == 0:
        return empty_tensor((nd, 0) if transposed else (0, nd), D.int64, dev)
    if x._dtype in (D.bool_, D.uint8, D.int8) and x.is_contiguous():
        b = x
    else:
        from . import _ops
        with AG.no_grad():
            b = _ops.apply("ne", x, 0)
    rt = _rt(b)
    idx = "int" if max(n, _extent(b)) <= _I32 else "long"
    it = _it(idx)
    chunk = max(256, -(-n // MAX_CHUNKS))
    nw = -(-n // chunk)
    counts = empty_tensor((nw,), D.int32, dev)
    offs = empty_tensor((nw + 1,), D.int64, dev)
    ls = rt.local_size
    base = b if b._offset == 0 else _clone_raw(b)
    K.launch(rt, K.get(rt, "index", "nz_count", idx=idx), (K.round_up(nw, ls),), (ls,),
             [base._st.buf, it(n), it(chunk), it(nw), counts._st.buf])
    K.launch(rt, K.get(rt, "index", "nz_scan"), (1,), (1,), [counts._st.buf, np.int64(nw), offs._st.buf])
    h = np.zeros(1, np.int64)
    dv.cl.enqueue_copy(rt.queue, h, offs._st.buf, src_offset=nw * 8, is_blocking=True)
    total = int(h[0])
    out = empty_tensor((nd, total) if transposed else (total, nd), D.int64, dev)
    if total and nd:
        kern = K.get(rt, "index", "nz_write", rank=nd, idx=idx, tr=bool(transposed))
        K.launch(rt, kern, (K.round_up(nw, ls),), (ls,),
                 [base._st.buf, it(n), it(chunk), it(nw), offs._st.buf, out._st.buf, np.int64(total)] +
                 [it(s) for s in x._shape])
    return out


def nonzero(input, *, out=None, as_tuple=False):
    if not isinstance(input, Tensor):
        raise TypeError(f"nonzero(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if as_tuple:
        x = input if input.dim() else V.reshape(input.detach(), (1,))
        nz = _nonzero_raw(x, transposed=True)
        return tuple(make(nz._st, (nz._shape[1],), (1,), nz._offset + j * nz._strides[0], D.int64, nz._device)
                     for j in range(nz._shape[0]))
    r = _nonzero_raw(input)
    if out is not None:
        from . import _ops
        _ops._resize_(out, r._shape)
        _ops.copy_into(out, r)
        return out
    return r


def argwhere(input):
    return nonzero(input)


# ---------------------------------------------------------------- parsing t[index]

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
            return _MASK, _same_device(x, _Dev(dev)), None
        if dt in _IDX_DTYPES:
            if x.dim() == 0:     # PyTorch: a 0-d integer tensor selects like an int
                return _INT, int(x.item()), None
            return _IDX, _same_device(x, _Dev(dev)), None
        raise IndexError(INDEX_TYPE_ERR)
    if isinstance(x, (int, np.integer)):
        return _INT, int(x), None
    if isinstance(x, (list, tuple, np.ndarray)):
        if not isinstance(x, np.ndarray) and _has_tensor(x):
            from ._creation import tensor
            return _classify(tensor(x, device=dev), dev)
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
                tensors.append(_host_index(host, dev))
            else:
                tensors.append(val)
        elif kind == _BOOL:
            dims.append(d)
            tensors.append(_host_index([0] if val else [], dev))
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
                cols = [_host_index(nz[j], dev) for j in range(k)]
            else:
                nzt = _nonzero_raw(val, transposed=True)
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


# ---------------------------------------------------------------- t[index], index_put

def index(adv):
    """The advanced-indexing result (a new tensor) with its backward rule."""
    v = adv.v
    S, base_st, idxs, bpos, B = plan(adv)
    out = empty_tensor(S, v._dtype, v._device)
    _imap(False, "set", v, base_st, S, idxs, val=out, val_st=list(out._strides))
    if prod(S) and _needs_check(adv) and _read_err(_rt(v)):
        _raise_bad(adv, B)
    if AG.needs_grad(v):
        meta, shape = adv.with_base(None), v._shape    # the backward keeps the indices, not the input
        AG.record("IndexBackward0", (v,), out,
                  lambda g: (index_put_adv(meta.with_base(_zeros(shape, g._dtype, g._device)), g, True),),
                  saved=tuple(adv.tensors))
    return out


def _prep_value(v, value, S, dtype_check=True):
    """Value for a put: a Python scalar, or a tensor on v's device, same dtype, leading 1-dims beyond S dropped."""
    if isinstance(value, Tensor):
        value = _same_device(value, v)
        if dtype_check and value._dtype is not v._dtype:
            raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                               f"{v._dtype._alias} for the destination and {value._dtype._alias} for the source.")
        if len(value._shape) > len(S):
            extra = len(value._shape) - len(S)
            if any(s != 1 for s in value._shape[:extra]):
                raise RuntimeError(f"shape mismatch: value tensor of shape {list(value._shape)} cannot be broadcast "
                                   f"to indexing result of shape {list(S)}")
            value = V.reshape(value, value._shape[extra:])
        try:
            ok = _ew.broadcast_shapes(S, value._shape) == tuple(S)
        except RuntimeError:
            ok = False
        if not ok:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(value._shape)} cannot be broadcast to "
                               f"indexing result of shape {list(S)}")
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float, complex)):
        return value
    raise TypeError(f"can't assign a {type(value).__name__} to a cltensor.{v.type().split('.')[-1]}")


def put_raw(adv, value, accumulate, dtype_check=False):
    """In place: adv.v[adv] = value (or += when accumulate), no autograd."""
    dst = adv.v
    S, base_st, idxs, bpos, B = plan(adv)
    value = _prep_value(dst, value, S, dtype_check)
    if isinstance(value, Tensor):
        if value._dtype is not dst._dtype:
            value = _cast(value, dst._dtype)
        val_st = _ew.broadcast_strides(value, S)
    unique = all(isinstance(k, str) for k in adv.known)
    nB = prod(B)
    scalar = not isinstance(value, Tensor)
    varies = not scalar and any(val_st[p] for p in bpos)
    if unique or nB <= 1 or (not accumulate and not varies):
        if scalar:
            _imap(True, "sum" if accumulate else "set", dst, base_st, S, idxs, scalar=value)
        else:
            _imap(True, "sum" if accumulate else "set", dst, base_st, S, idxs, val=value, val_st=val_st)
    elif accumulate and _atomic_ok(_rt(dst), dst._dtype):
        if scalar:
            _imap(True, "atomic", dst, base_st, S, idxs, scalar=value)
        else:
            _imap(True, "atomic", dst, base_st, S, idxs, val=value, val_st=val_st)
    else:
        if scalar:
            from ._creation import full
            value = full((), value, dtype=dst._dtype, device=dst._device)
            val_st = [0] * len(S)
        sizes = [size for _, _, size, _ in idxs]
        _grouped("sum" if accumulate else "last", dst, S, base_st, value, val_st, idxs, bpos, [0] * len(S),
                 contiguous_strides(sizes), prod(sizes))
    dst._st.version += 1
    if prod(S) and _needs_check(adv) and _read_err(_rt(dst)):
        _raise_bad(adv, B)


def _cast(t, dtype):
    r = empty_tensor(t._shape, dtype, t._device)
    _ew.run("x0", r, [t], (t._dtype,), t._dtype)
    return r


def index_put_adv(adv, value, accumulate=False):
    """Out of place: a copy of adv.v with value put at adv (differentiable in adv.v and value)."""
    v = adv.v
    S = plan(adv)[0]
    value = _prep_value(v, value, S)
    r = _clone_raw(v)
    put_raw(adv.with_base(r), value, accumulate)
    if AG.needs_grad(v, value):
        vt = value if isinstance(value, Tensor) else None
        meta = adv.with_base(None)
        vreq = vt is not None and vt.requires_grad

        def bw(g):
            gs = g if accumulate else index_put_adv(meta.with_base(g), 0, False)
            gv = index(meta.with_base(g)) if vreq else None
            return (gs, gv)
        AG.record("IndexPutBackward0", (v, vt), r, bw, saved=tuple(adv.tensors))
    return r


def getitem(t, index_tuple):
    adv = parse(t, index_tuple)
    if not adv.dims:
        return adv.v
    return index(adv)


def setitem(t, index_tuple, value):
    from . import _ops
    adv = parse(t, index_tuple)
    if isinstance(value, (list, tuple)) or isinstance(value, np.ndarray):
        from ._creation import tensor
        value = tensor(value, dtype=t._dtype, device=t._device)
    if not adv.dims:
        from ._indexing import _inplace_copy
        _ops.check_inplace(t)
        _inplace_copy(adv.v, value)
        return
    if isinstance(value, Tensor) and value._dtype is not t._dtype and value.numel() == 1 and \
            _single_mask(index_tuple):
        # PyTorch (CPU) turns a put of one value through a single boolean mask into masked_fill_(mask,
        # value.item()): the value is cast, not checked against the destination's dtype
        value = value.item()
    v = adv.v
    if AG.needs_grad(v, value if isinstance(value, Tensor) else None):
        _ops.check_inplace(v)
        r = index_put_adv(adv, value, False)
        v.copy_(r)
        return
    put_raw(adv, value, False, dtype_check=True)


def _single_mask(index_tuple):
    """Whether the only tensor-like index in index_tuple is one boolean (or uint8) mask."""
    items = index_tuple if isinstance(index_tuple, tuple) else (index_tuple,)
    arrays = [i for i in items if isinstance(i, (Tensor, np.ndarray, list))]
    if len(arrays) != 1:
        return False
    m = arrays[0]
    if isinstance(m, Tensor):
        return m._dtype is D.bool_ or m._dtype is D.uint8
    return np.asarray(m).dtype in (np.bool_, np.uint8)


def _index_tuple(indices):
    if isinstance(indices, Tensor):
        indices = (indices,)
    return tuple(slice(None) if i is None else i for i in indices)


def index_put(input, indices, values, accumulate=False):
    if not isinstance(indices, (tuple, list)):
        raise TypeError("index_put(): argument 'indices' must be tuple of Tensors")
    adv = parse(input, _index_tuple(indices))
    if not adv.dims:
        return V.clone(input)
    return index_put_adv(adv, values, accumulate)


def index_put_(self, indices, values, accumulate=False):
    if not isinstance(indices, (tuple, list)):
        raise TypeError("index_put_(): argument 'indices' must be tuple of Tensors")
    adv = parse(self, _index_tuple(indices))
    if not adv.dims:
        return self
    if AG.needs_grad(adv.v, values if isinstance(values, Tensor) else None):
        from . import _ops
        _ops.check_inplace(self)
        r = index_put_adv(adv, values, accumulate)
        adv.v.copy_(r)
        return self
    S = plan(adv)[0]
    _prep_value(adv.v, values, S)   # dtype / shape checks
    put_raw(adv, values, accumulate)
    return self


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


def gather(input, dim, index, *, sparse_grad=False, out=None):
    d = _wrap_dim(dim, input.dim())
    if not isinstance(index, Tensor) or index._dtype not in _IDX_DTYPES:
        raise RuntimeError("gather(): Expected dtype int32/int64 for index")
    index = _same_device(index, input)
    _check_dim_match(input, index, "input")
    ish, _ = _dims1(input)
    xsh, _ = _dims1(index)
    for k in range(len(ish)):
        if k != d and xsh[k] > ish[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index {list(index._shape)} to be no "
                               f"larger than self {list(input._shape)} apart from dimension {d}")
    S, base_st, idxs = _gs_plan(input, d, index)
    r = empty_tensor(S, input._dtype, input._device)
    _imap(False, "set", input, base_st, S, idxs, val=r, val_st=list(r._strides), wrap=False)
    if r.numel() and _read_err(_rt(input)):
        v = _single_index_error(index, d, ish[d])
        raise RuntimeError(f"index {v} is out of bounds for dimension {d} with size {ish[d]}")
    if out is not None:
        from . import _ops
        _ops._resize_(out, r._shape) if out._shape != r._shape else None
        return _ops.copy_into(out, r)
    if AG.needs_grad(input):
        shape = input._shape
        AG.record("GatherBackward0", (input,), r,
                  lambda g: (scatter_add(_zeros(shape, g._dtype, g._device), d, index, g),), saved=(index,))
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


def _scatter_raw(self_, d, index, src, mode, incl=True):
    """In place, no autograd. mode: 'set' (src tensor or scalar), 'sum', 'prod', 'mean', 'amax', 'amin'."""
    S, base_st, idxs = _gs_plan(self_, d, index)
    if prod(S) == 0:
        return
    scalar = not isinstance(src, Tensor)
    if scalar and mode == "set":
        _imap(True, "set", self_, base_st, S, idxs, scalar=src, wrap=False)
    elif mode == "sum" and incl and _atomic_ok(_rt(self_), self_._dtype):
        if scalar:
            _imap(True, "atomic", self_, base_st, S, idxs, scalar=src, wrap=False)
        else:
            src = _same_device(src, self_)
            _imap(True, "atomic", self_, base_st, S, idxs, val=src,
                  val_st=list(_dims1(src)[1][:len(S)]) if S else [], wrap=False)
    else:
        if scalar:
            from ._creation import full
            src = full((), src, dtype=self_._dtype, device=self_._device)
            val_st = [0] * len(S)
        else:
            src = _same_device(src, self_)
            val_st = list(_dims1(src)[1][:len(S)]) if S else []
        ssh, _ = _dims1(self_)
        cs = contiguous_strides(ssh)
        kc = [cs[k] if k != d else 0 for k in range(len(S))]
        _grouped("last" if mode == "set" else mode, self_, S, base_st, src, val_st, idxs, list(range(len(S))), kc,
                 [cs[d]], prod(ssh), incl, wrap=False)
    self_._st.version += 1
    if _read_err(_rt(self_)):
        size = _dims1(self_)[0][d]
        v = _single_index_error(index, d, size)
        raise RuntimeError(f"index {v} is out of bounds for dimension {d} with size {size}")


def _pad_to(g, shape):
    """g (index-shaped) placed at the start of a zero tensor of `shape` (src may be larger than index)."""
    if tuple(g._shape) == tuple(shape) or g.dim() == 0:
        return g
    z = _zeros(shape, g._dtype, g._device)
    sl = tuple(slice(0, s) for s in g._shape)
    return index_put_slices(z, sl, g)


def index_put_slices(z, sl, g):
    """z with z[sl] = g, differentiable in g."""
    from . import _ops
    with AG.no_grad():
        _ops.copy_into(z[sl], g)
    if AG.needs_grad(g):
        AG.record("CopySlices", (g,), z, lambda gg: (gg[sl],))
    return z


def _scatter_outofplace(input, d, index, src, mode, name, incl=True, node=None):
    r = _clone_raw(input)
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
    from ._creation import full
    return full(t._shape, v, dtype=t._dtype, device=t._device)


def _inplace_via(self_, outofplace):
    """In-place op with autograd: compute the differentiable result, then copy it into self."""
    from . import _ops
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
    index = _same_device(index, input)
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
    index = _same_device(index, self)
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
    return _scatter_outofplace(input, d, _same_device(index, input), src, "sum", "scatter_add")


def scatter_add_(self, dim, index, src):
    d = _wrap_dim(dim, self.dim())
    _scatter_checks(self, d, index, src, "scatter_add")
    index = _same_device(index, self)
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
    return _scatter_outofplace(input, d, _same_device(index, input), src, reduce, "scatter_reduce",
                               include_self, node="ScatterReduceBackward0")


def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    d = _wrap_dim(dim, self.dim())
    if reduce not in _REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    _scatter_checks(self, d, index, src, "scatter_reduce")
    index = _same_device(index, self)
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
    index = _same_device(index, input)
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
    _imap(False, "set", input, base_st, S, idxs, val=r, val_st=list(r._strides), wrap=False)
    if r.numel() and _read_err(_rt(input)):
        v = _single_index_error(index, d, ssh[d])
        if d == 0 and index._dtype is D.int64:     # PyTorch's messages differ by code path
            raise IndexError("index out of range in self")
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={v} axis_dim={ssh[d]}")
    if out is not None:
        from . import _ops
        if out._shape != r._shape:
            _ops._resize_(out, r._shape)
        return _ops.copy_into(out, r)
    if AG.needs_grad(input):
        shape, sshape = input._shape, _sel_shape(input, d, ni)
        AG.record("IndexSelectBackward0", (input,), r,
                  lambda g: (index_add(_zeros(shape, g._dtype, g._device), d, index,
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
        _imap(True, "set", self_, base_st, S, idxs, scalar=source)
    elif mode == "sum" and _atomic_ok(_rt(self_), self_._dtype):
        source = _same_device(source, self_)
        val_st = list(_dims1(source)[1]) if source.dim() else [0] * len(S)
        _imap(True, "atomic", self_, base_st, S, idxs, val=source, val_st=val_st, wrap=False)
    else:
        source = _same_device(source, self_)
        val_st = list(_dims1(source)[1]) if source.dim() else [0] * len(S)
        if source.dim() == 0 and len(S):
            val_st = [0] * len(S)
        _grouped(mode, self_, S, base_st, source, val_st, idxs, [d], [0] * len(S), [1], ssh[d], wrap=False)
    self_._st.version += 1
    if _read_err(_rt(self_)):
        v = _single_index_error(index, d, ssh[d], wrap=mode == "fill")
        if mode == "sum" and self_.dim() <= 1:
            raise IndexError("index out of range in self")
        exc = IndexError if mode != "sum" else RuntimeError
        raise exc(f"{err_prefix}index {v} is out of bounds for dimension {d} with size {ssh[d]}")


def _mul_alpha(source, alpha):
    if alpha == 1:
        return source
    from . import _ops
    return _ops.apply("mul", source, alpha)


def index_add(input, dim, index, source, *, alpha=1, out=None):
    d = _wrap_dim(dim, input.dim())
    _index_dim_checks(input, d, index, source, "index_add", "add")
    index = _same_device(index, input)
    src = _mul_alpha(source, alpha)
    r = _clone_raw(input)
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
        from . import _ops
        return _ops.copy_into(out, r)
    return r


def index_add_(self, dim, index, source, *, alpha=1):
    d = _wrap_dim(dim, self.dim())
    _index_dim_checks(self, d, index, source, "index_add", "add")
    index = _same_device(index, self)
    if AG.needs_grad(self, source):
        return _inplace_via(self, lambda: index_add(self, d, index, source, alpha=alpha))
    _index_dim_raw(self, d, index, _mul_alpha(source, alpha), "sum")
    return self


def index_copy(input, dim, index, source):
    d = _wrap_dim(dim, input.dim())
    _index_dim_checks(input, d, index, source, "index_copy", "copy")
    index = _same_device(index, input)
    r = _clone_raw(input)
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
    index = _same_device(index, self)
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
    index = _same_device(index, input)
    value = _fill_value(value)
    r = _clone_raw(input)
    _index_dim_raw(r, d, index, value, "fill")
    if AG.needs_grad(input):
        AG.record("IndexFillBackward0", (input,), r, lambda g: (index_fill(g, d, index, 0),), saved=(index,))
    return r


def index_fill_(self, dim, index, value):
    d = _wrap_dim(dim, self.dim())
    _vector_index(index, "index_fill", "fill")
    index = _same_device(index, self)
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


def take(input, index):
    _take_index(index, "take")
    index = _same_device(index, input)
    flat = V.reshape(input, (-1,))
    n = flat._shape[0]
    S = index._shape
    r = empty_tensor(S, input._dtype, input._device)
    idxs = [(index, list(index._strides), n, flat._strides[0])]
    _imap(False, "set", flat, [0] * len(S), S, idxs, val=r, val_st=list(r._strides))
    if r.numel() and _read_err(_rt(input)):
        raise _flat_error(index, n)
    if AG.needs_grad(input):
        shape = input._shape
        AG.record("TakeBackward0", (input,), r,
                  lambda g: (put(_zeros(shape, g._dtype, g._device), index, g, accumulate=True),), saved=(index,))
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
    flat = _flat_view(self_)
    n = flat._shape[0]
    ni = index.numel()
    if ni == 0:
        return
    ix = V.reshape(index.detach(), (-1,))
    src = V.reshape(_same_device(source, self_).detach(), (-1,))
    idxs = [(ix, [ix._strides[0]], n, 1)]
    if accumulate and _atomic_ok(_rt(self_), self_._dtype):
        _imap(True, "atomic", flat, [0], (ni,), idxs, val=src, val_st=[src._strides[0]])
    else:
        _grouped("sum" if accumulate else "last", flat, (ni,), [0], src, [src._strides[0]], idxs, [0], [0], [1], n)
    self_._st.version += 1
    if _read_err(_rt(self_)):
        raise _flat_error(index, n)


def put(input, index, source, accumulate=False):
    _put_checks(input, index, source)
    index = _same_device(index, input)
    r = _clone_raw(input)
    _put_raw(r, index, source, accumulate)
    if AG.needs_grad(input, source):
        def bw(g):
            gi = (g if accumulate else put(g, index, _zeros(source._shape, g._dtype, g._device))) \
                if input.requires_grad else None
            gs = take(g, index).reshape(source._shape) if source.requires_grad else None
            return (gi, gs)
        AG.record("PutBackward0", (input, source), r, bw, saved=(index,))
    return r


def put_(self, index, source, accumulate=False):
    _put_checks(self, index, source)
    index = _same_device(index, self)
    if AG.needs_grad(self, source) or not self.is_contiguous():
        if AG.needs_grad(self, source):
            return _inplace_via(self, lambda: put(self, index, source, accumulate))
        r = _clone_raw(self)
        _put_raw(r, index, source, accumulate)
        from . import _ops
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
    mask = _same_device(mask, input)
    S = _ew.broadcast_shapes(input._shape, mask._shape)
    if S == ():
        S = (1,)
    nz = _nonzero_raw(_bview(mask, S), transposed=True)
    base = _bview(input, S)
    cols = [make(nz._st, (nz._shape[1],), (1,), j * nz._strides[0], D.int64, nz._device) for j in range(len(S))]
    adv = Adv(base, list(range(len(S))), cols, ["mask"] * len(S))
    with AG.no_grad():
        r = index(adv)
    if out is not None:
        from . import _ops
        if out._shape != r._shape:
            _ops._resize_(out, r._shape)
        return _ops.copy_into(out, r)
    if AG.needs_grad(input):
        shp = input._shape

        def bw(g):
            z = _zeros(S, g._dtype, g._device)
            gz = masked_scatter(z, _bview(mask, S), g)
            return (gz if tuple(S) == tuple(shp) or shp != () else gz.reshape(()),)
        AG.record("MaskedSelectBackward0", (input,), r, bw)
    return r


def _masked_scatter_raw(self_, mask, source):
    mb = _bview(mask, self_._shape) if self_.dim() else V.reshape(mask.detach(), ())
    x = mb if self_.dim() else V.reshape(mb, (1,))
    nz = _nonzero_raw(x, transposed=True)
    n = nz._shape[1]
    if source.numel() < n:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    if n == 0:
        return
    src = V.reshape(_same_device(source, self_).detach(), (-1,))
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
    mask = _same_device(mask, input)
    r = _clone_raw(input)
    _masked_scatter_raw(r, mask, source)
    if AG.needs_grad(input, source):
        def bw(g):
            gi = g.masked_fill(_bview(mask, g._shape), 0.0) if input.requires_grad else None
            gs = None
            if source.requires_grad:
                sel = masked_select(g, _bview(mask, g._shape))
                ns = source.numel()
                if sel.numel() < ns:
                    from ._shape import cat
                    sel = cat([sel, _zeros((ns - sel.numel(),), g._dtype, g._device)])
                gs = sel.reshape(source._shape)
            return (gi, gs)
        AG.record("MaskedScatterBackward0", (input, source), r, bw)
    return r


def masked_scatter_(self, mask, source):
    _masked_scatter_checks(self, mask, source)
    mask = _same_device(mask, self)
    if AG.needs_grad(self, source):
        return _inplace_via(self, lambda: masked_scatter(self, mask, source))
    _masked_scatter_raw(self, mask, source)
    self._st.version += 1
    return self


# ---------------------------------------------------------------- registration

EXPORTS = {
    "index_select": index_select, "gather": gather, "take_along_dim": take_along_dim, "scatter": scatter,
    "scatter_add": scatter_add, "scatter_reduce": scatter_reduce, "masked_select": masked_select, "take": take,
    "nonzero": nonzero, "argwhere": argwhere, "masked_scatter": masked_scatter, "index_add": index_add,
    "index_copy": index_copy, "index_fill": index_fill, "index_put": index_put, "index_put_": index_put_,
    "put": put,
}


def _install():
    T = Tensor
    for name, fn in EXPORTS.items():
        setattr(T, name, fn)
    for fn in (scatter_, scatter_add_, scatter_reduce_, index_add_, index_copy_, index_fill_, put_,
               masked_scatter_):
        setattr(T, fn.__name__, fn)
    T.nonzero = lambda self, *, as_tuple=False: nonzero(self, as_tuple=as_tuple)
