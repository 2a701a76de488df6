"""Collectives and point-to-point operations on cltensor tensors over MPI (torch.distributed's API).

Buffers: on devices that share host memory (PoCL's CPU device, the host-only fallback) MPI reads and writes the
tensor's storage through a numpy view taken after the device queue is synchronised (no copy) when the tensor
is contiguous; non-contiguous tensors go through one contiguous copy; device-memory tensors are staged through
host memory (all_reduce and broadcast in chunks of CHUNK_BYTES). Reductions MPI has no type for (float16) are
done by gathering and reducing with numpy in rank order."""
import pickle
import weakref
from functools import partial

import numpy as np

from .. import _dtypes as D
from .._tensor import Tensor, contiguous_strides
from . import _core as C
from ._buffers import HostBuf, check_tensor, write_array, is_host, read_chunk, write_chunk
from ._core import ReduceOp, Work, DistBackendError, _group, exchange_header, check_same, kind_code, commit, _SAME
from ._core import _RedOp, _State, ProcessGroup, post_header, header_result

__all__ = ["all_reduce", "broadcast", "reduce", "all_gather", "all_gather_into_tensor", "reduce_scatter",
           "reduce_scatter_tensor", "gather", "scatter", "all_to_all", "all_to_all_single", "send", "recv",
           "isend", "irecv", "barrier", "monitored_barrier", "broadcast_object_list", "all_gather_object",
           "gather_object", "scatter_object_list", "batch_isend_irecv", "P2POp"]

CHUNK_BYTES = 4 << 20
# Synchronous all_reduce/broadcast of at least this many bytes use MPI's blocking collective once every rank is
# known to have entered the call with matching arguments: Open MPI's blocking algorithms were 2-5x faster than its
# non-blocking ones (libnbc) from 1 MiB up on shared memory. The header exchange (polled until the timeout) shows
# that; when it completed close to a rank's deadline, a non-blocking barrier (`commit`) confirms that no rank gave
# up before a blocking call follows, so ranks arriving late time out there instead of blocking. Smaller or
# asynchronous calls poll non-blocking requests.
BLOCKING_BYTES = 64 << 10

_DCODE = {d: i + 1 for i, d in enumerate(D.ALL)}


def _dcode(t):
    return _DCODE[t._dtype]


_MPITYPES = None


def _types():
    global _MPITYPES
    if _MPITYPES is None:
        MPI = C._mpi()
        _MPITYPES = {np.dtype(np.int8): MPI.INT8_T, np.dtype(np.uint8): MPI.UINT8_T, np.dtype(np.int16): MPI.INT16_T,
                     np.dtype(np.int32): MPI.INT32_T, np.dtype(np.int64): MPI.INT64_T,
                     np.dtype(np.uint16): MPI.UINT16_T, np.dtype(np.float32): MPI.FLOAT,
                     np.dtype(np.float64): MPI.DOUBLE}
    return _MPITYPES


def mpi_view(arr):
    """(array, MPI datatype) MPI can move: complex as pairs of reals, bool as bytes, float16 as uint16."""
    k = arr.dtype
    if k.kind == "c":
        arr = arr.view(np.float32 if k.itemsize == 8 else np.float64)
    elif k == np.bool_:
        arr = arr.view(np.uint8)
    elif k == np.float16:
        arr = arr.view(np.uint16)
    return arr, _types()[arr.dtype]


_VIEWS = {}


def _spec(arr):
    """[array, MPI datatype] for the buffer of `arr` (see mpi_view)."""
    v = _VIEWS.get(arr.dtype)
    if v is None:
        a, t = mpi_view(arr)
        v = _VIEWS[arr.dtype] = (a.dtype, t)
    if v[0] != arr.dtype:
        arr = arr.view(v[0])
    return [arr, v[1]]


def _mult(dtype):
    return 2 if dtype.is_complex else 1


_NP_OPS = {"SUM": np.add, "AVG": np.add, "PRODUCT": np.multiply, "MIN": np.minimum, "MAX": np.maximum,
           "BAND": np.bitwise_and, "BOR": np.bitwise_or, "BXOR": np.bitwise_xor}


_PLANS = {}


def _plan(dtype, op, what):
    """('mpi', MPI.Op) or ('numpy', ufunc) for reducing `dtype` with `op`; raises for unsupported pairs."""
    if not isinstance(op, C._RedOp):
        raise TypeError(f"{what}: op must be a ReduceOp, got {op!r}")
    p = _PLANS.get((dtype, op, what))
    if p is None:
        p = _PLANS[(dtype, op, what)] = _make_plan(dtype, op, what)
    return p


def _make_plan(dtype, op, what):
    MPI = C._mpi()
    name = op.name
    if dtype.is_complex and name not in ("SUM", "AVG"):
        raise ValueError(f"{what} does not support {op} on complex tensors")
    if dtype is D.bool_:
        if name == "AVG":
            raise ValueError(f"{what}: ReduceOp.AVG is not supported for bool tensors")
        m = {"SUM": MPI.MAX, "MAX": MPI.MAX, "BOR": MPI.MAX, "PRODUCT": MPI.MIN, "MIN": MPI.MIN, "BAND": MPI.MIN,
             "BXOR": MPI.BXOR}[name]
        return "mpi", m
    if name in ("BAND", "BOR", "BXOR") and (dtype.is_floating_point or dtype.is_complex):
        raise RuntimeError(f"{what}: Cannot use {op} with non-integral dtype {dtype}")
    if dtype is D.bfloat16:      # (its host form is the bits: reduced on the host through float32)
        return "numpy", _Bf16(_NP_OPS[name])
    if dtype is D.float16:
        return "numpy", _NP_OPS[name]
    m = {"SUM": MPI.SUM, "AVG": MPI.SUM, "PRODUCT": MPI.PROD, "MIN": MPI.MIN, "MAX": MPI.MAX, "BAND": MPI.BAND,
         "BOR": MPI.BOR, "BXOR": MPI.BXOR}[name]
    return "mpi", m


def _avg(arr, n):
    if arr.dtype.kind in "fc":
        arr /= n
    else:
        q = np.abs(arr) // n
        arr[...] = np.where(arr < 0, -q, q)


class _Bf16:
    """A numpy reduction over bfloat16 bits: values widened to float32, each step rounded back to bfloat16."""
    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn


def _np_result(stacked, mop, op, n):
    """The reduction of the rows of `stacked` (rank order) in the host form of its dtype; AVG divides by n."""
    if isinstance(mop, _Bf16):
        vals = D.bf16_values(stacked)
        out = vals[0].copy()
        for r in range(1, vals.shape[0]):
            mop.fn(out, vals[r], out=out)
            out = D.bf16_values(D.bf16_bits(out))
        if op is ReduceOp.AVG:
            out = out / n
        return D.bf16_bits(out)
    r = _np_reduce(stacked, mop)
    if op is ReduceOp.AVG:
        r = (r.astype(np.float32) / n).astype(r.dtype)
    return r


def _np_reduce(stacked, fn):
    """Reduce the rows of `stacked` in rank order (float16 through float32, rounded after each step)."""
    out = stacked[0].copy()
    for r in range(1, stacked.shape[0]):
        fn(out, stacked[r], out=out)
    return out


def _finish(g, work, async_op):
    if async_op:
        return work
    work.wait()
    return None


def _hdr(g, what, t, *extra):
    return exchange_header(g, what, (kind_code(what), _dcode(t), t.numel(), C.shape_digest(t._shape)) + extra)


_NAMES = ("dtype", "number of elements", "shape")


# ---------------------------------------------------------------- reductions

def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce `tensor` over the group; every rank gets the result in `tensor` (in place)."""
    if not async_op and type(tensor) is Tensor and type(op) is _RedOp:
        # The common large synchronous call once the general path took MPI's blocking collective for the same
        # (shape, dtype, op, group): see _FastPlan. The header (its digest depends on those alone) goes out
        # first; a tensor the plan does not fit (other strides, device memory) continues on the general path.
        g = _State.world if group is None else group
        f = _FAST.get((tensor._shape, tensor._dtype, op, g)) if type(g) is ProcessGroup else None
        if f is not None and g.checks and _State.world is not None:
            req = post_header(g, f.digest)
            st = tensor._st
            if tensor._strides == f.strides and (f.storage() is st and f.offset == tensor._offset or
                                                 f.bind(st, tensor._offset, g)):
                rt = st.rt
                if rt is not None:
                    rt.queue.finish()            # a kernel still writing the tensor completes before MPI reads it
                hdr = header_result(g, "all_reduce", req, f.fields)
                if hdr is not _SAME:
                    check_same(g, "all_reduce", hdr, (1, 2, 3, 4), _NAMES + ("op",))
                if not g.header_settled:
                    commit(g, "all_reduce")
                f.run()                          # MPI's blocking all-reduce on the storage's own bytes
                if f.avg:
                    _avg(f.mem.view(f.np), g._size)
                st.version += 1                  # as an in-place write
                return None
            return _all_reduce_posted(tensor, op, g, False, "mpi", f.mop, req)
    check_tensor(tensor)
    g = _group(group)
    if g is None:
        return None
    mode, mop = _plan(tensor._dtype, op, "all_reduce")
    if not g.checks:
        return _finish(g, allreduce_tensor(tensor, op, g, mode, mop), async_op)
    # The header travels while this rank takes the tensor's memory. The data moves only once every rank's header
    # matched: MPI's collectives need the same count on every rank (mismatched counts give a truncation error on
    # one rank and a wrong result, a hang or an abort on another; docs/distributed.md), so the data reduction
    # cannot start before the header is checked.
    return _all_reduce_posted(tensor, op, g, async_op, mode, mop, C.post_header(g, _ar_digest(tensor, op)))


def _all_reduce_posted(tensor, op, g, async_op, mode, mop, req):
    """all_reduce once its header `req` was posted (checks on)."""
    dt = tensor._dtype
    st = tensor._st
    n = tensor.numel()
    nbytes = n * dt.itemsize
    blocking = not async_op and mode == "mpi" and g._size > 1 and nbytes >= BLOCKING_BYTES
    mem = spec = buf = None
    if st.host is not None and _contiguous(tensor):
        if st.rt is not None:
            st.rt.queue.finish()         # a kernel still writing the tensor completes before MPI reads it
        o = tensor._offset * dt.itemsize
        mem = st.host[o:o + nbytes]      # the storage's own bytes
        if blocking:
            mt, k = _wire(dt)
            spec = [mem, n * k, mt]
    elif st.host is not None:
        buf = HostBuf(tensor)
    hdr = C.header_result(g, "all_reduce", req, lambda: _ar_fields(tensor, op))
    if hdr is not _SAME:
        check_same(g, "all_reduce", hdr, (1, 2, 3, 4), _NAMES + ("op",))
    if spec is not None:
        _fast_plan(tensor, op, g, mode, mop)
    if blocking:
        if not g.header_settled:
            commit(g, "all_reduce")
        if spec is not None:
            g.comm.Allreduce(C._MPI.IN_PLACE, spec, mop)
            if op is ReduceOp.AVG:
                _avg(mem.view(dt.np), g._size)
            st.version += 1              # as an in-place write
            return None
        if buf is None and tensor.is_contiguous() and nbytes > CHUNK_BYTES:
            _allreduce_chunked(tensor, op, g, mop, blocking=True)
            return None
        if buf is None:
            buf = HostBuf(tensor)
        g.comm.Allreduce(C._MPI.IN_PLACE, _spec(buf.arr), mop)
        if op is ReduceOp.AVG:
            _avg(buf.arr, g._size)
        buf.commit()
        return None
    if mem is not None:
        buf = HostBuf.direct_view(tensor, mem.view(dt.np))
    return _finish(g, allreduce_tensor(tensor, op, g, mode, mop, buf), async_op)


class _FastPlan:
    """A synchronous all_reduce of one (shape, dtype, op, group) on a row-major host-memory tensor, recorded by
    the general path once it took MPI's blocking collective for it: the header's digest and fields, the strides,
    and, bound to the storage and offset of the latest call, MPI's call on those bytes (a partial of
    Comm.Allreduce with the buffer, count, datatype and op). A call with the same storage and offset then runs a
    few dozen bytecodes around the header exchange and MPI's collective. That matters here: on 2 cores shared
    with other virtual machines a rank's core runs slowly for seconds at a time, and then every microsecond of
    Python after a large reduction (caches evicted) costs 2-3 (docs/distributed.md, "Measured here").

    The binding holds a weak reference to the storage; when the storage dies, the callback drops the buffer,
    so a plan never keeps memory alive or reads memory that was given back."""
    __slots__ = ("digest", "fields", "strides", "itemsize", "nbytes", "count", "mtype", "mop", "avg", "np",
                 "storage", "offset", "mem", "run", "__weakref__")

    def __init__(self, t, op, mop):
        dt = t._dtype
        mt, k = _wire(dt)
        self.fields = _ar_fields(t, op)
        self.digest = _ar_digest(t, op)
        self.strides = contiguous_strides(t._shape)
        self.itemsize = dt.itemsize
        self.nbytes = t.numel() * dt.itemsize
        self.count = t.numel() * k
        self.mtype, self.mop = mt, mop
        self.avg = op is ReduceOp.AVG
        self.np = dt.np
        self._unbind()

    def _unbind(self, ref=None):
        self.storage, self.offset, self.mem, self.run = _no_storage, -1, None, None

    def bind(self, st, offset, g):
        """Bind MPI's call to the bytes of storage `st` from element `offset`; False (unbound) when `st` is not
        host memory (the general path handles it)."""
        self._unbind()
        if st.host is None:
            return False
        o = offset * self.itemsize
        self.mem = st.host[o:o + self.nbytes]
        self.run = partial(g.comm.Allreduce, C._MPI.IN_PLACE, [self.mem, self.count, self.mtype], self.mop)
        self.storage, self.offset = weakref.ref(st, _Unbind(self)), offset
        return True


def _no_storage():
    return None


class _Unbind:
    """Weak-reference callback: drop a plan's binding when its storage dies (refers to the plan weakly)."""
    __slots__ = ("plan",)

    def __init__(self, plan):
        self.plan = weakref.ref(plan)

    def __call__(self, ref):
        p = self.plan()
        if p is not None and p.storage is ref:
            p._unbind()


_FAST = C._FAST_PLANS


def _fast_plan(t, op, g, mode, mop):
    """Record the _FastPlan of this call (the general path just took the blocking collective for it)."""
    key = (t._shape, t._dtype, op, g)
    if key in _FAST or mode != "mpi" or not g.checks or g._size < 2 or \
            t.numel() * t._dtype.itemsize < BLOCKING_BYTES or t._strides != contiguous_strides(t._shape):
        return
    if len(_FAST) > 256:
        _FAST.clear()
    _FAST[key] = _FastPlan(t, op, mop)


def _contiguous(t):
    """t.is_contiguous(); the common case (row-major strides) through the cache of contiguous_strides."""
    return t._strides == contiguous_strides(t._shape) or t.is_contiguous()


_WIRE = {}


def _wire(dtype):
    """(MPI datatype, values per element) of a dtype MPI reduces (see mpi_view)."""
    w = _WIRE.get(dtype)
    if w is None:
        a, mt = mpi_view(np.empty(1, dtype.np))
        w = _WIRE[dtype] = (mt, a.size)
    return w


def _ar_fields(t, op):
    return (kind_code("all_reduce"), _dcode(t), t.numel(), C.shape_digest(t._shape), op.value)


_AR_DIGESTS = {}


def _ar_digest(t, op):
    """The header digest of all_reduce(t, op), cached per shape, dtype and op."""
    key = (t._shape, t._dtype, op.value)
    x = _AR_DIGESTS.get(key)
    if x is None:
        if len(_AR_DIGESTS) > 4096:
            _AR_DIGESTS.clear()
        x = _AR_DIGESTS[key] = C.header_digest(_ar_fields(t, op))
    return x


def _use_blocking(g, t, async_op):
    return not async_op and g.checks and g.size() > 1 and t.numel() * t._dtype.itemsize >= BLOCKING_BYTES


def allreduce_tensor(tensor, op, g, mode=None, mop=None, buf=None):
    """The all-reduce itself (no header): returns a Work. Used by all_reduce and by DistributedDataParallel.
    `buf`: the tensor's HostBuf when the caller already took it."""
    MPI = C._mpi()
    if mode is None:
        mode, mop = _plan(tensor._dtype, op, "all_reduce")
    n = g.size()
    if buf is None and not is_host(tensor) and tensor.is_contiguous() and mode == "mpi" and \
            tensor.numel() * tensor._dtype.itemsize > CHUNK_BYTES:
        _allreduce_chunked(tensor, op, g, mop)
        return C._DoneWork([tensor])
    if buf is None:
        buf = HostBuf(tensor)
    arr = buf.arr
    if mode == "mpi":
        req = g.comm.Iallreduce(MPI.IN_PLACE, _spec(arr), mop)

        def fin():
            if op is ReduceOp.AVG:
                _avg(arr, n)
            buf.commit()
    else:
        stacked = np.empty((n, arr.size), arr.dtype)
        req = g.comm.Iallgather(_spec(arr), _spec(stacked))

        def fin():
            r = _np_result(stacked, mop, op, n)
            arr[...] = r
            buf.commit()
    return Work(g, [req], "all_reduce", fin, [tensor])


def _allreduce_chunked(t, op, g, mop, blocking=False):
    MPI = C._mpi()
    step = max(CHUNK_BYTES // t._dtype.itemsize, 1)
    host = np.empty(min(step, t.numel()), t._dtype.np)
    for s in range(0, t.numel(), step):
        h = host[:min(step, t.numel() - s)]
        read_chunk(t, s, h)
        if blocking:
            g.comm.Allreduce(MPI.IN_PLACE, _spec(h), mop)
        else:
            C.wait_requests([g.comm.Iallreduce(MPI.IN_PLACE, _spec(h), mop)], g, "all_reduce")
        if op is ReduceOp.AVG:
            _avg(h, g.size())
        write_chunk(t, s, h)
    t._st.version += 1


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Reduce `tensor` over the group into `tensor` on rank `dst`; other ranks' tensors are left unchanged."""
    check_tensor(tensor)
    g = _group(group)
    if g is None:
        return None
    MPI = C._mpi()
    root = group_dst if group_dst is not None else C.group_rank_of(g, 0 if dst is None else dst, "dst")
    mode, mop = _plan(tensor._dtype, op, "reduce")
    hdr = _hdr(g, "reduce", tensor, op.value, root)
    check_same(g, "reduce", hdr, (1, 2, 3, 4, 5), _NAMES + ("op", "dst"))
    me, n = g.rank(), g.size()
    buf = HostBuf(tensor)
    arr = buf.arr
    if mode == "mpi":
        if me == root:
            req = g.comm.Ireduce(MPI.IN_PLACE, _spec(arr), mop, root=root)
        else:
            scratch = np.empty_like(arr)
            req = g.comm.Ireduce(_spec(arr), _spec(scratch), mop, root=root)

        def fin():
            if me == root:
                if op is ReduceOp.AVG:
                    _avg(arr, n)
                buf.commit()
    else:
        stacked = np.empty((n, arr.size), arr.dtype) if me == root else None
        req = g.comm.Igather(_spec(arr), _spec(stacked) if me == root else None, root=root)

        def fin():
            if me == root:
                r = _np_result(stacked, mop, op, n)
                arr[...] = r
                buf.commit()
    return _finish(g, Work(g, [req], "reduce", fin, [tensor]), async_op)


def _check_list(lst, n, what, name):
    if not isinstance(lst, (list, tuple)):
        raise TypeError(f"{what}: {name} must be a list of tensors")
    if len(lst) != n:
        raise ValueError(f"{what}: {name} must have {n} tensors (the group size), got {len(lst)}")
    for t in lst:
        check_tensor(t, name)


def _check_like(lst, ref, what, name):
    for t in lst:
        if t._dtype is not ref._dtype:
            raise TypeError(f"{what}: {name} tensors must have the dtype {ref.dtype}, got {t.dtype}")
        if t.numel() != ref.numel():
            raise ValueError(f"{what}: {name} tensors must have {ref.numel()} elements like the input, got "
                             f"{t.numel()}")


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce input_list[i] over the group into `output` of rank i."""
    check_tensor(output, "output")
    g = _group(group)
    if g is None:
        return None
    n = g.size()
    _check_list(input_list, n, "reduce_scatter", "input_list")
    _check_like(input_list, output, "reduce_scatter", "input_list")
    flat = np.concatenate([HostBuf(t).arr for t in input_list]) if output.numel() else \
        np.empty(0, output._dtype.np)
    return _reduce_scatter(g, output, flat, op, "reduce_scatter", async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """`input` holds group-size chunks (concatenated or stacked along dim 0); rank i gets the reduction of
    chunk i in `output`."""
    check_tensor(output, "output")
    check_tensor(input, "input")
    g = _group(group)
    if g is None:
        return None
    if input._dtype is not output._dtype:
        raise TypeError(f"reduce_scatter_tensor: input and output must have the same dtype, got {input.dtype} and "
                        f"{output.dtype}")
    if input.numel() != output.numel() * g.size():
        raise ValueError(f"reduce_scatter_tensor: input tensor must be the same size as output size times world "
                         f"size ({input.numel()} != {output.numel()} * {g.size()})")
    return _reduce_scatter(g, output, HostBuf(input).arr, op, "reduce_scatter_tensor", async_op)


def _reduce_scatter(g, output, flat, op, what, async_op):
    mode, mop = _plan(output._dtype, op, what)
    hdr = _hdr(g, what, output, op.value)
    check_same(g, what, hdr, (1, 2, 4), ("dtype", "number of elements", "op"))
    n, m = g.size(), output.numel()
    out = HostBuf(output, read=False)
    if mode == "mpi":
        req = g.comm.Ireduce_scatter_block(_spec(flat), _spec(out.arr), mop)

        def fin():
            if op is ReduceOp.AVG:
                _avg(out.arr, n)
            out.commit()
    else:
        stacked = np.empty((n, m), flat.dtype)
        req = g.comm.Ialltoall(_spec(flat), _spec(stacked))

        def fin():
            r = _np_result(stacked, mop, op, n)
            out.arr[...] = r
            out.commit()
    return _finish(g, Work(g, [req], what, fin, [output]), async_op)


# ---------------------------------------------------------------- data movement

def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy `tensor` of rank `src` into `tensor` on every rank."""
    check_tensor(tensor)
    g = _group(group)
    if g is None:
        return None
    root = group_src if group_src is not None else C.group_rank_of(g, 0 if src is None else src, "src")
    hdr = _hdr(g, "broadcast", tensor, root)
    check_same(g, "broadcast", hdr, (1, 2, 3, 4), _NAMES + ("src",))
    me = g.rank()
    blocking = _use_blocking(g, tensor, async_op)
    if blocking:
        commit(g, "broadcast")
    if not is_host(tensor) and tensor.is_contiguous() and tensor.numel() * tensor._dtype.itemsize > CHUNK_BYTES:
        step = CHUNK_BYTES // tensor._dtype.itemsize
        host = np.empty(step, tensor._dtype.np)
        for s in range(0, tensor.numel(), step):
            h = host[:min(step, tensor.numel() - s)]
            if me == root:
                read_chunk(tensor, s, h)
            if blocking:
                g.comm.Bcast(_spec(h), root=root)
            else:
                C.wait_requests([g.comm.Ibcast(_spec(h), root=root)], g, "broadcast")
            if me != root:
                write_chunk(tensor, s, h)
        if me != root:
            tensor._st.version += 1
        return _finish(g, C._DoneWork([tensor]), async_op)
    buf = HostBuf(tensor, read=(me == root))
    if blocking:
        g.comm.Bcast(_spec(buf.arr), root=root)
        if me != root:
            buf.commit()
        return None
    req = g.comm.Ibcast(_spec(buf.arr), root=root)
    return _finish(g, Work(g, [req], "broadcast", (buf.commit if me != root else None), [tensor]), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[i] gets `tensor` of rank i."""
    check_tensor(tensor)
    g = _group(group)
    if g is None:
        return None
    n = g.size()
    _check_list(tensor_list, n, "all_gather", "tensor_list")
    _check_like(tensor_list, tensor, "all_gather", "tensor_list")
    hdr = _hdr(g, "all_gather", tensor)
    check_same(g, "all_gather", hdr, (1, 2), _NAMES[:2])
    arr = HostBuf(tensor).arr
    stacked = np.empty((n, arr.size), arr.dtype)
    req = g.comm.Iallgather(_spec(arr), _spec(stacked))

    def fin():
        for i, t in enumerate(tensor_list):
            write_array(t, stacked[i])
            t._st.version += 1
    return _finish(g, Work(g, [req], "all_gather", fin, [tensor_list]), async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """`output_tensor` (group size x the input, concatenated or stacked along dim 0) gets every rank's input."""
    check_tensor(output_tensor, "output_tensor")
    check_tensor(input_tensor, "input_tensor")
    g = _group(group)
    if g is None:
        return None
    n = g.size()
    if output_tensor._dtype is not input_tensor._dtype:
        raise TypeError(f"all_gather_into_tensor: output and input must have the same dtype, got "
                        f"{output_tensor.dtype} and {input_tensor.dtype}")
    if output_tensor.numel() != input_tensor.numel() * n:
        raise ValueError(f"all_gather_into_tensor: output tensor size must be equal to world_size times input "
                         f"tensor size ({output_tensor.numel()} != {n} * {input_tensor.numel()})")
    hdr = _hdr(g, "all_gather_into_tensor", input_tensor)
    check_same(g, "all_gather_into_tensor", hdr, (1, 2), _NAMES[:2])
    src = HostBuf(input_tensor).arr
    out = HostBuf(output_tensor, read=False)
    req = g.comm.Iallgather(_spec(src), _spec(out.arr))
    return _finish(g, Work(g, [req], "all_gather_into_tensor", out.commit, [output_tensor]), async_op)


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """gather_list[i] on rank `dst` gets `tensor` of rank i."""
    check_tensor(tensor)
    g = _group(group)
    if g is None:
        return None
    root = group_dst if group_dst is not None else C.group_rank_of(g, 0 if dst is None else dst, "dst")
    me, n = g.rank(), g.size()
    if me == root:
        if gather_list is None:
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
        _check_list(gather_list, n, "gather", "gather_list")
        _check_like(gather_list, tensor, "gather", "gather_list")
    elif gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    hdr = _hdr(g, "gather", tensor, root)
    check_same(g, "gather", hdr, (1, 2, 4), ("dtype", "number of elements", "dst"))
    arr = HostBuf(tensor).arr
    stacked = np.empty((n, arr.size), arr.dtype) if me == root else None
    req = g.comm.Igather(_spec(arr), _spec(stacked) if me == root else None, root=root)

    def fin():
        if me == root:
            for i, t in enumerate(gather_list):
                write_array(t, stacked[i])
                t._st.version += 1
    return _finish(g, Work(g, [req], "gather", fin, [gather_list]), async_op)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """`tensor` of rank i gets scatter_list[i] of rank `src`."""
    check_tensor(tensor)
    g = _group(group)
    if g is None:
        return None
    root = group_src if group_src is not None else C.group_rank_of(g, 0 if src is None else src, "src")
    me, n = g.rank(), g.size()
    if me == root:
        if scatter_list is None:
            raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
        _check_list(scatter_list, n, "scatter", "scatter_list")
        _check_like(scatter_list, tensor, "scatter", "scatter_list")
    elif scatter_list:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    hdr = _hdr(g, "scatter", tensor, root)
    check_same(g, "scatter", hdr, (1, 2, 4), ("dtype", "number of elements", "src"))
    out = HostBuf(tensor, read=False)
    flat = np.concatenate([HostBuf(t).arr for t in scatter_list]) if me == root else None
    req = g.comm.Iscatter(_spec(flat) if me == root else None, _spec(out.arr), root=root)
    return _finish(g, Work(g, [req], "scatter", out.commit, [tensor]), async_op)


def _alltoallv(g, what, send_counts, recv_counts, dtype, send_flat, outs_write, result, async_op):
    """Check that every rank's send counts match its peers' receive counts (error on every rank otherwise),
    then exchange with one Ialltoallv."""
    MPI = C._mpi()
    n = g.size()
    sc = np.asarray(send_counts, np.int64)
    got = np.empty(n, np.int64)
    C.wait_requests([g.comm.Ialltoall([sc, MPI.INT64_T], [got, MPI.INT64_T])], g, what)
    bad = np.array([0 if np.array_equal(got, np.asarray(recv_counts, np.int64)) else 1], np.int64)
    anybad = np.empty(1, np.int64)
    C.wait_requests([g.comm.Iallreduce([bad, MPI.INT64_T], [anybad, MPI.INT64_T], MPI.MAX)], g, what)
    if anybad[0]:
        raise DistBackendError(f"{what}: split sizes do not match between ranks (rank {g.rank()} expects "
                               f"{list(recv_counts)} elements from the ranks, they send {got.tolist()})")
    k = _mult(dtype)
    recv = np.empty(int(sum(recv_counts)), dtype.np)
    sdisp = np.concatenate([[0], np.cumsum(sc)[:-1]]).astype(np.int64)
    rdisp = np.concatenate([[0], np.cumsum(recv_counts)[:-1]]).astype(np.int64)
    sa, st = mpi_view(send_flat)
    ra, rt = mpi_view(recv)
    req = g.comm.Ialltoallv([sa, (sc * k).tolist(), (sdisp * k).tolist(), st],
                            [ra, (np.asarray(recv_counts) * k).tolist(), (rdisp * k).tolist(), rt])

    def fin():
        outs_write(recv, rdisp)
    return _finish(g, Work(g, [req], what, fin, result), async_op)


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """output_tensor_list[i] of rank j gets input_tensor_list[j] of rank i (sizes may differ per pair)."""
    g = _group(group)
    if g is None:
        return None
    n = g.size()
    _check_list(output_tensor_list, n, "all_to_all", "output_tensor_list")
    _check_list(input_tensor_list, n, "all_to_all", "input_tensor_list")
    dt = input_tensor_list[0]._dtype
    for t in list(output_tensor_list) + list(input_tensor_list):
        if t._dtype is not dt:
            raise TypeError("all_to_all: all tensors must have the same dtype")
    hdr = exchange_header(g, "all_to_all", [kind_code("all_to_all"), _DCODE[dt]])
    check_same(g, "all_to_all", hdr, (1,), ("dtype",))
    send = np.concatenate([HostBuf(t).arr for t in input_tensor_list]) if n else np.empty(0, dt.np)

    def write(recv, rdisp):
        for i, t in enumerate(output_tensor_list):
            write_array(t, recv[rdisp[i]:rdisp[i] + t.numel()])
            t._st.version += 1
    return _alltoallv(g, "all_to_all", [t.numel() for t in input_tensor_list],
                      [t.numel() for t in output_tensor_list], dt, send, write, [output_tensor_list], async_op)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None,
                      async_op=False):
    """Split `input` along dim 0 (equally, or by input_split_sizes), send chunk i to rank i, and concatenate
    the received chunks into `output` (split by output_split_sizes)."""
    check_tensor(output, "output")
    check_tensor(input, "input")
    g = _group(group)
    if g is None:
        return None
    n = g.size()
    if input._dtype is not output._dtype:
        raise TypeError("all_to_all_single: input and output must have the same dtype")

    def splits(t, sizes, name):
        rows = t._shape[0] if t.dim() else 1
        row = t.numel() // rows if rows else 0
        if sizes is None or len(sizes) == 0:
            if rows % n:
                raise ValueError(f"all_to_all_single: {name} dim 0 ({rows}) is not divisible by the group size {n}")
            sizes = [rows // n] * n
        sizes = [int(s) for s in sizes]
        if len(sizes) != n or sum(sizes) != rows:
            raise ValueError(f"all_to_all_single: {name}_split_sizes {sizes} must have {n} entries summing to "
                             f"{rows}")
        if t.dim() > 1:
            row = 1
            for s in t._shape[1:]:
                row *= s
        return [s * row for s in sizes]
    sc = splits(input, input_split_sizes, "input")
    rc = splits(output, output_split_sizes, "output")
    hdr = exchange_header(g, "all_to_all_single", [kind_code("all_to_all_single"), _dcode(input)])
    check_same(g, "all_to_all_single", hdr, (1,), ("dtype",))
    out = HostBuf(output, read=False)

    def write(recv, rdisp):
        out.arr[...] = recv
        out.commit()
    return _alltoallv(g, "all_to_all_single", sc, rc, input._dtype, HostBuf(input).arr, write, [output], async_op)


def barrier(group=None, async_op=False, device_ids=None):
    g = _group(group)
    if g is None:
        return None
    req = g.comm.Ibarrier()
    return _finish(g, Work(g, [req], "barrier"), async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    g = _group(group)
    if g is None:
        return None
    dl = None
    if timeout is not None:
        dl = C.time.monotonic() + timeout.total_seconds()
    C.wait_requests([g.comm.Ibarrier()], g, "monitored_barrier", dl)


# ---------------------------------------------------------------- point to point

def _tags(tag):
    return 2 * int(tag), 2 * int(tag) + 1


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send `tensor` to rank `dst` (a small header with its dtype and size goes first); returns a Work."""
    check_tensor(tensor)
    g = _group(group)
    if g is None:
        return None
    MPI = C._mpi()
    peer = group_dst if group_dst is not None else C.group_rank_of(g, dst, "dst")
    dtag, htag = _tags(tag)
    h = np.array([kind_code("send"), _dcode(tensor), tensor.numel(), C.shape_digest(tensor._shape)], np.int64)
    arr = HostBuf(tensor).arr
    r1 = g.comm.Isend([h, MPI.INT64_T], dest=peer, tag=htag)
    r2 = g.comm.Isend(_spec(arr), dest=peer, tag=dtag)
    w = Work(g, [r1, r2], "send")
    w._keep = (h, arr)
    return w


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    w = isend(tensor, dst, group, tag, group_dst)
    if w is not None:
        w.wait()


class _RecvWork(Work):
    """Receives the header first, then the data into the tensor; a header that does not match the tensor
    (dtype or element count) makes wait() raise after the data was drained into a scratch buffer."""

    def __init__(self, g, tensor, peer, tag):
        MPI = C._mpi()
        self._tensor, self._tag = tensor, tag
        self._h = np.empty(4, np.int64)
        self._status = MPI.Status()
        src = MPI.ANY_SOURCE if peer is None else peer
        req = g.comm.Irecv([self._h, MPI.INT64_T], source=src, tag=_tags(tag)[1])
        super().__init__(g, [req], "recv", None, [tensor])
        self._stage = 0
        self._error = None
        self.source = None

    def _advance(self, block):
        MPI = C._mpi()
        g = self._g
        if self._stage == 0:
            if block:
                C.wait_requests(self._reqs, g, "recv", self._deadline, statuses=[self._status])
            elif not MPI.Request.Testall(self._reqs, [self._status]):
                return False
            self.source = self._status.Get_source()
            t = self._tensor
            kind, dcode, numel = int(self._h[0]), int(self._h[1]), int(self._h[2])
            if kind != kind_code("send") or dcode != _dcode(t) or numel != t.numel():
                dt = D.ALL[dcode - 1] if 0 < dcode <= len(D.ALL) else D.uint8
                self._error = DistBackendError(
                    f"recv: rank {g.ranks[self.source]} sent {numel} elements of {dt}, the receiving tensor has "
                    f"{t.numel()} elements of {t.dtype}")
                self._buf = None
                scratch = np.empty(numel, dt.np)
                self._reqs = [g.comm.Irecv(_spec(scratch), source=self.source, tag=_tags(self._tag)[0])]
                self._scratch = scratch
            else:
                self._buf = HostBuf(t, read=False)
                self._reqs = [g.comm.Irecv(_spec(self._buf.arr), source=self.source, tag=_tags(self._tag)[0])]
            self._stage = 1
        if block:
            C.wait_requests(self._reqs, g, "recv", self._deadline)
        elif not MPI.Request.Testall(self._reqs):
            return False
        self._stage = 2
        self._done = True
        self._reqs = []
        if self._error is not None:
            raise self._error
        self._buf.commit()
        return True

    def is_completed(self):
        return self._done or self._advance(False)

    def wait(self, timeout=None):
        if not self._done:
            self._advance(True)
        return True


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into `tensor` from rank `src` (any rank when None); returns a Work (its `source` attribute is
    the sender's group rank once completed)."""
    check_tensor(tensor)
    g = _group(group)
    if g is None:
        return None
    peer = group_src if group_src is not None else (None if src is None else C.group_rank_of(g, src, "src"))
    return _RecvWork(g, tensor, peer, tag)


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into `tensor`; returns the sender's rank."""
    w = irecv(tensor, src, group, tag, group_src)
    if w is None:
        return -1
    w.wait()
    return w._g.ranks[w.source]


class P2POp:
    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        if op not in (isend, irecv, send, recv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed.isend`` or "
                             "``torch.distributed.irecv``.")
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag
        self.group_peer = group_peer


def batch_isend_irecv(p2p_op_list):
    works = []
    for p in p2p_op_list:
        f = isend if p.op in (isend, send) else irecv
        works.append(f(p.tensor, p.peer, p.group, p.tag))
    return works


# ---------------------------------------------------------------- picklable objects

def _bytes(obj):
    return np.frombuffer(pickle.dumps(obj), np.uint8)


def _loads(a):
    return pickle.loads(a.tobytes())


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """object_list (same length on every rank) takes rank `src`'s objects."""
    g = _group(group)
    if g is None:
        return
    MPI = C._mpi()
    root = group_src if group_src is not None else C.group_rank_of(g, 0 if src is None else src, "src")
    hdr = exchange_header(g, "broadcast_object_list", [kind_code("broadcast_object_list"), len(object_list), root])
    check_same(g, "broadcast_object_list", hdr, (1, 2), ("list length", "src"))
    me = g.rank()
    data = _bytes(list(object_list)) if me == root else None
    size = np.array([data.size if data is not None else 0], np.int64)
    C.wait_requests([g.comm.Ibcast([size, MPI.INT64_T], root=root)], g, "broadcast_object_list")
    if me != root:
        data = np.empty(int(size[0]), np.uint8)
    C.wait_requests([g.comm.Ibcast([data, MPI.UINT8_T], root=root)], g, "broadcast_object_list")
    if me != root:
        objs = _loads(data)
        for i, o in enumerate(objs):
            object_list[i] = o


def _gather_bytes(g, what, obj, root):
    """Every rank's pickled object gathered to `root` (all ranks when root is None): list of arrays or None."""
    MPI = C._mpi()
    n = g.size()
    data = _bytes(obj)
    size = np.array([data.size], np.int64)
    sizes = np.empty(n, np.int64)
    if root is None:
        C.wait_requests([g.comm.Iallgather([size, MPI.INT64_T], [sizes, MPI.INT64_T])], g, what)
    else:
        C.wait_requests([g.comm.Igather([size, MPI.INT64_T], [sizes, MPI.INT64_T] if g.rank() == root else None,
                                        root=root)], g, what)
    if root is not None and g.rank() != root:
        C.wait_requests([g.comm.Igatherv([data, MPI.UINT8_T], None, root=root)], g, what)
        return None
    out = np.empty(int(sizes.sum()), np.uint8)
    disp = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    spec = [out, sizes.tolist(), disp.tolist(), MPI.UINT8_T]
    if root is None:
        C.wait_requests([g.comm.Iallgatherv([data, MPI.UINT8_T], spec)], g, what)
    else:
        C.wait_requests([g.comm.Igatherv([data, MPI.UINT8_T], spec, root=root)], g, what)
    return [out[disp[i]:disp[i] + sizes[i]] for i in range(n)]


def all_gather_object(object_list, obj, group=None):
    """object_list[i] gets rank i's `obj`."""
    g = _group(group)
    if g is None:
        return
    if len(object_list) != g.size():
        raise ValueError(f"all_gather_object: object_list must have {g.size()} entries, got {len(object_list)}")
    exchange_header(g, "all_gather_object", [kind_code("all_gather_object")])
    parts = _gather_bytes(g, "all_gather_object", obj, None)
    for i, p in enumerate(parts):
        object_list[i] = _loads(p)


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    """object_gather_list[i] on rank `dst` gets rank i's `obj`."""
    g = _group(group)
    if g is None:
        return
    root = group_dst if group_dst is not None else C.group_rank_of(g, 0 if dst is None else dst, "dst")
    if g.rank() == root and (object_gather_list is None or len(object_gather_list) != g.size()):
        raise ValueError(f"gather_object: object_gather_list must have {g.size()} entries on the destination rank")
    hdr = exchange_header(g, "gather_object", [kind_code("gather_object"), root])
    check_same(g, "gather_object", hdr, (1,), ("dst",))
    parts = _gather_bytes(g, "gather_object", obj, root)
    if parts is not None:
        for i, p in enumerate(parts):
            object_gather_list[i] = _loads(p)


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None, group=None,
                        group_src=None):
    """scatter_object_output_list[0] of rank i gets scatter_object_input_list[i] of rank `src`."""
    g = _group(group)
    if g is None:
        return
    MPI = C._mpi()
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at least 1.")
    root = group_src if group_src is not None else C.group_rank_of(g, 0 if src is None else src, "src")
    me, n = g.rank(), g.size()
    if me == root and (scatter_object_input_list is None or len(scatter_object_input_list) != n):
        raise ValueError(f"scatter_object_list: scatter_object_input_list must have {n} entries on the source rank")
    hdr = exchange_header(g, "scatter_object_list", [kind_code("scatter_object_list"), root])
    check_same(g, "scatter_object_list", hdr, (1,), ("src",))
    size = np.empty(1, np.int64)
    if me == root:
        parts = [_bytes(o) for o in scatter_object_input_list]
        sizes = np.array([p.size for p in parts], np.int64)
        flat = np.concatenate(parts)
        disp = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    C.wait_requests([g.comm.Iscatter([sizes, MPI.INT64_T] if me == root else None, [size, MPI.INT64_T], root=root)],
                    g, "scatter_object_list")
    data = np.empty(int(size[0]), np.uint8)
    send = [flat, sizes.tolist(), disp.tolist(), MPI.UINT8_T] if me == root else None
    C.wait_requests([g.comm.Iscatterv(send, [data, MPI.UINT8_T], root=root)], g, "scatter_object_list")
    scatter_object_output_list[0] = _loads(data)
