"""The indexing engine: kernel launchers of templates/index.mako and the helpers they share.

Every op is planned (by cltensor/_index/parse.py, subscript.py, ops.py) as an iteration shape S with one stride
list per operand over S (0 where an operand does not move) plus index operands (tensor, strides over S, size and
stride of the dim it indexes). `_imap` gathers (out[S] = base[...]) or writes directly (base[...] = value[S]).

- Writes that may hit the same destination twice (duplicate indices) go through three passes that group the
  writes by destination without sorting (`_grouped`): clear the destination's list head, link every write into
  its list (atomic_xchg on 32-bit ints), then the list's head element writes once: the last write wins (like a
  sequential loop) or the values are reduced (accumulate / scatter_add / index_add / scatter_reduce). The
  reduction order inside a list follows the atomic order, so floating-point sums of duplicates may differ in the
  last bits between runs (as with PyTorch's atomics on GPUs).
- Index values are bounds-checked on the device (negative values wrap for t[...], take/put and index_fill; gather,
  scatter, index_select, index_add and index_copy reject them, as PyTorch does): an out-of-range value is never
  dereferenced and sets a per-runtime error flag (`_err_buf`). Ops read the flag back right away (`_read_err`, one
  sync) unless every index was validated on the host (Python lists / numpy arrays), came from a mask (nonzero) or
  from cltensor's own kernels (sort, argmax...); on error the host recomputes PyTorch's message.
- nonzero (`_nonzero_raw`): per-chunk counts, a one-work-item scan over <= 4096 chunks, one read of the total
  (sync: the output size depends on the data), then each chunk writes its coordinates.
"""
import numpy as np

from .. import _dtypes as D
from .. import _dispatch
from .. import _kernels as K
from .. import _ew
from .. import _device as dv
from .. import _ops
from .. import _creation
from .._launch import I32, rt_of, extent, idx_type
from .._tensor import empty_tensor, make, contiguous_strides, prod
from ..autograd import _tape as AG

CH = 16
MAX_CHUNKS = 4096


# ---------------------------------------------------------------- small helpers

def _idx_of(n, tensors, extra=0):
    """(index type, its numpy type) of a kernel walking n elements over `tensors` (and indices below extra)."""
    return idx_type(n, extra, *[extent(t) for t in tensors])


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
    """Read (and clear) the device's out-of-range flag: True if a kernel since the last read saw a bad index.
    Not read while a graph is being captured (cltensor/_graphs.py): a captured region cannot read device values."""
    if _dispatch.capture is not None:
        return False
    h = np.zeros(1, np.int32)
    dv.blocking_copy(rt.queue, h, _err_buf(rt))
    if h[0]:
        dv.blocking_copy(rt.queue, _err_buf(rt), np.zeros(1, np.int32))
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
    a = D.bf16_bits(np.array(v, np.float64)) if dt is D.bfloat16 else np.array(v).astype(dt.np)
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
        return _ops.to_device_contiguous(idx, t._device)
    return idx


def _clone_raw(t):
    r = empty_tensor(t._shape, t._dtype, t._device)
    _ew.run("x0", r, [t], (t._dtype,), t._dtype)
    return r


def _zeros(shape, dtype, device):
    return _creation.zeros(tuple(shape), dtype=dtype, device=device)


def _host_index(arr, dev):
    """An int64 index tensor uploaded from host values (a fresh array: the copy need not block)."""
    return _creation._upload(np.array(arr, dtype=np.int64), D.int64, dev)


def _flat_view(t):
    return make(t._st, (t.numel(),), (1,), t._offset, t._dtype, t._device)


def _cast(t, dtype):
    r = empty_tensor(t._shape, dtype, t._device)
    _ew.run("x0", r, [t], (t._dtype,), t._dtype)
    return r


# ---------------------------------------------------------------- kernel launchers

def _imap(put, mode, base, base_st, S, idxs, val=None, val_st=None, scalar=None, wrap=True):
    """Gather (put=False): val[S] = base[...]; put: base[...] = val[S] or scalar (mode 'set'), or combined (mode
    'sum', destinations unique; 'atomic': atomic add, see _atomic_ok). idxs: [(index tensor, strides over S, size,
    stride in base)]."""
    n = prod(S)
    if n == 0:
        return
    rt = rt_of(base)
    tens = [base] + ([val] if val is not None else []) + [ix for ix, _, _, _ in idxs]
    idx, it = _idx_of(n, tens)
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
    if nks > I32:
        raise RuntimeError("indexing: more than 2**31 - 1 index positions are not supported")
    rt = rt_of(dst)
    tens = [dst, val] + [ix for ix, _, _, _ in idxs]
    idx, it = _idx_of(n, tens, keyspace)
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
        with AG.no_grad():
            b = _ops.apply("ne", x, 0)
    rt = rt_of(b)
    idx, it = idx_type(n, extent(b))
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
    if _dispatch.capture is not None:     # the result's shape depends on the values: no captured graph can hold it
        _dispatch.capture.host_read()
    dv.blocking_copy(rt.queue, h, offs._st.buf, src_offset=nw * 8)
    total = int(h[0])
    out = empty_tensor((nd, total) if transposed else (total, nd), D.int64, dev)
    if total and nd:
        kern = K.get(rt, "index", "nz_write", rank=nd, idx=idx, tr=bool(transposed))
        K.launch(rt, kern, (K.round_up(nw, ls),), (ls,),
                 [base._st.buf, it(n), it(chunk), it(nw), offs._st.buf, out._st.buf, np.int64(total)] +
                 [it(s) for s in x._shape])
    return out
