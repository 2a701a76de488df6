"""Collectives on every dtype against a single-process numpy reference. Runs on every rank of an MPI job:
    mpirun -np 2 python -m pytest -q tests/distributed/mpi_collectives.py   (tests/test_distributed.py does this)
Every rank builds every rank's input (seeded by rank), so each can compute the expected result itself."""
from datetime import timedelta

import numpy as np
import pytest

import cltensor as ct
import cltensor.distributed as dist
from cltensor.distributed import ReduceOp

if not dist.is_initialized():
    dist.init_process_group("gloo", timeout=timedelta(seconds=60))
R, N = dist.get_rank(), dist.get_world_size()

DTYPES = [ct.bool, ct.uint8, ct.int8, ct.int16, ct.int32, ct.int64, ct.float16, ct.float32, ct.float64,
          ct.complex64, ct.complex128]


def data(rank, dtype, shape=(3, 5), salt=0):
    rng = np.random.default_rng(1000 * rank + salt)
    npd = dtype.np
    if dtype is ct.bool:
        return rng.random(shape) < 0.5
    if npd.kind in "iu":
        return rng.integers(1, 5, shape).astype(npd) * (1 if npd.kind == "u" or rank % 2 else -1)
    if npd.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(npd)
    return rng.standard_normal(shape).astype(npd)


def ops_for(dtype):
    if dtype.is_complex:
        return [ReduceOp.SUM, ReduceOp.AVG]
    if dtype is ct.bool:
        return [ReduceOp.SUM, ReduceOp.PRODUCT, ReduceOp.MIN, ReduceOp.MAX, ReduceOp.BAND, ReduceOp.BOR,
                ReduceOp.BXOR]
    ops = [ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PRODUCT, ReduceOp.MIN, ReduceOp.MAX]
    if not dtype.is_floating_point:
        ops += [ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR]
    return ops


def expected(arrs, op, dtype):
    if dtype is ct.bool:
        f = {"SUM": np.logical_or, "MAX": np.logical_or, "BOR": np.logical_or, "PRODUCT": np.logical_and,
             "MIN": np.logical_and, "BAND": np.logical_and, "BXOR": np.logical_xor}[op.name]
    else:
        f = {"SUM": np.add, "AVG": np.add, "PRODUCT": np.multiply, "MIN": np.minimum, "MAX": np.maximum,
             "BAND": np.bitwise_and, "BOR": np.bitwise_or, "BXOR": np.bitwise_xor}[op.name]
    out = arrs[0].copy()
    for a in arrs[1:]:
        out = f(out, a).astype(arrs[0].dtype)
    if op is ReduceOp.AVG:
        if out.dtype.kind in "iu":
            out = (np.sign(out) * (np.abs(out) // N)).astype(out.dtype)
        else:
            out = (out / N).astype(out.dtype)
    return out


def close(t, ref, dtype):
    got = t.numpy() if t.device.type == "cpu" else t.cpu().numpy()
    assert got.dtype == ref.dtype
    if dtype is ct.float16:
        np.testing.assert_allclose(got.astype(np.float32), ref.astype(np.float32), rtol=2e-2, atol=2e-2)
    elif dtype.is_floating_point or dtype.is_complex:
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("dtype", DTYPES)
def test_all_reduce_every_dtype_and_op(dtype):
    for op in ops_for(dtype):
        t = ct.tensor(data(R, dtype))
        assert dist.all_reduce(t, op=op) is None
        close(t, expected([data(r, dtype) for r in range(N)], op, dtype), dtype)


def test_all_reduce_non_contiguous_writes_only_the_view():
    base = ct.zeros(4, 6) - 1
    view = base[:, ::2].t()              # strided and transposed
    view.copy_(ct.tensor(data(R, ct.float32, (3, 4))))
    dist.all_reduce(view)
    ref = sum(data(r, ct.float32, (3, 4)) for r in range(N))
    np.testing.assert_allclose(view.numpy(), ref, rtol=1e-5)
    np.testing.assert_array_equal(base.numpy()[:, 1::2], -1)


def test_all_reduce_unsupported_ops_raise():
    with pytest.raises(ValueError, match="complex"):
        dist.all_reduce(ct.zeros(2, dtype=ct.complex64), op=ReduceOp.MAX)
    with pytest.raises(RuntimeError, match="non-integral"):
        dist.all_reduce(ct.zeros(2), op=ReduceOp.BAND)


@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast_reduce_every_dtype(dtype):
    src = N - 1
    t = ct.tensor(data(R, dtype))
    dist.broadcast(t, src=src)
    close(t, data(src, dtype), dtype)
    t = ct.tensor(data(R, dtype))
    dist.reduce(t, dst=0, op=ReduceOp.SUM)
    ref = expected([data(r, dtype) for r in range(N)], ReduceOp.SUM, dtype) if R == 0 else data(R, dtype)
    close(t, ref, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gathers_and_scatters_every_dtype(dtype):
    x = ct.tensor(data(R, dtype))
    outs = [ct.zeros(3, 5, dtype=dtype) for _ in range(N)]
    dist.all_gather(outs, x)
    for r in range(N):
        close(outs[r], data(r, dtype), dtype)
    cat = ct.zeros(3 * N, 5, dtype=dtype)
    dist.all_gather_into_tensor(cat, x)
    close(cat, np.concatenate([data(r, dtype) for r in range(N)]), dtype)
    stk = ct.zeros(N, 3, 5, dtype=dtype)
    dist.all_gather_into_tensor(stk, x)
    close(stk, np.stack([data(r, dtype) for r in range(N)]), dtype)
    gl = [ct.zeros(3, 5, dtype=dtype) for _ in range(N)] if R == 1 % N else None
    dist.gather(x, gl, dst=1 % N)
    if R == 1 % N:
        for r in range(N):
            close(gl[r], data(r, dtype), dtype)
    out = ct.zeros(3, 5, dtype=dtype)
    dist.scatter(out, [ct.tensor(data(100 + r, dtype)) for r in range(N)] if R == 0 else None, src=0)
    close(out, data(100 + R, dtype), dtype)


@pytest.mark.parametrize("dtype", [ct.bool, ct.int32, ct.float16, ct.float32, ct.complex64])
def test_reduce_scatter_every_kind(dtype):
    op = ReduceOp.MAX if dtype is ct.bool else ReduceOp.SUM
    ins = [[ct.tensor(data(r, dtype, (2, 3), salt=j)) for j in range(N)] for r in range(N)]
    out = ct.zeros(2, 3, dtype=dtype)
    dist.reduce_scatter(out, ins[R], op=op)
    close(out, expected([ins[r][R].numpy() for r in range(N)], op, dtype), dtype)
    flat = ct.cat(ins[R])
    out2 = ct.zeros(2, 3, dtype=dtype)
    dist.reduce_scatter_tensor(out2, flat, op=op)
    close(out2, out.numpy(), dtype)


@pytest.mark.parametrize("dtype", [ct.bool, ct.int64, ct.float16, ct.float64, ct.complex128])
def test_all_to_all_uneven_sizes(dtype):
    # rank r sends (r + j + 1) rows of 2 to rank j
    ins = [ct.tensor(data(R, dtype, (R + j + 1, 2), salt=j)) for j in range(N)]
    outs = [ct.zeros(r + R + 1, 2, dtype=dtype) for r in range(N)]
    dist.all_to_all(outs, ins)
    for r in range(N):
        close(outs[r], data(r, dtype, (r + R + 1, 2), salt=R), dtype)
    in_splits = [R + j + 1 for j in range(N)]
    out_splits = [r + R + 1 for r in range(N)]
    single_in = ct.cat(ins)
    single_out = ct.zeros(sum(out_splits), 2, dtype=dtype)
    dist.all_to_all_single(single_out, single_in, out_splits, in_splits)
    close(single_out, np.concatenate([data(r, dtype, (r + R + 1, 2), salt=R) for r in range(N)]), dtype)
    eq_in = ct.tensor(data(R, dtype, (N * 2, 3)))
    eq_out = ct.zeros(N * 2, 3, dtype=dtype)
    dist.all_to_all_single(eq_out, eq_in)
    close(eq_out, np.concatenate([data(r, dtype, (N * 2, 3))[2 * R:2 * R + 2] for r in range(N)]), dtype)


@pytest.mark.parametrize("dtype", [ct.bool, ct.int16, ct.float16, ct.float32, ct.complex64])
def test_send_recv_ring(dtype):
    nxt, prv = (R + 1) % N, (R - 1) % N
    w = dist.isend(ct.tensor(data(R, dtype)), dst=nxt, tag=3)
    got = ct.zeros(3, 5, dtype=dtype)
    rw = dist.irecv(got, src=prv, tag=3)
    rw.wait()
    w.wait()
    assert w.is_completed() and rw.is_completed()
    close(got, data(prv, dtype), dtype)
    if R == 0:
        for r in range(1, N):
            buf = ct.zeros(4, dtype=dtype)
            src = dist.recv(buf)           # any source
            close(buf, data(src, dtype, (4,)), dtype)
    else:
        dist.send(ct.tensor(data(R, dtype, (4,))), dst=0)


def test_async_work_handles():
    t = ct.ones(1000) * (R + 1)
    w = dist.all_reduce(t, async_op=True)
    assert w.wait() is True and w.is_completed()
    assert t[0].item() == N * (N + 1) / 2
    b = ct.zeros(7) + R
    w = dist.broadcast(b, src=0, async_op=True)
    while not w.is_completed():
        pass
    assert b.sum().item() == 0
    assert dist.barrier(async_op=True).wait()


def test_object_collectives():
    objs = [None] * N
    dist.all_gather_object(objs, {"rank": R, "x": [R] * R})
    assert objs == [{"rank": r, "x": [r] * r} for r in range(N)]
    lst = [R, "a"] if R == 0 else [None, None]
    dist.broadcast_object_list(lst, src=0)
    assert lst == [0, "a"]
    gl = [None] * N if R == 0 else None
    dist.gather_object(("g", R), gl, dst=0)
    if R == 0:
        assert gl == [("g", r) for r in range(N)]
    out = [None]
    dist.scatter_object_list(out, [{"to": r} for r in range(N)] if R == 0 else None, src=0)
    assert out == [{"to": R}]


def test_groups_and_ranks():
    assert dist.is_initialized() and dist.get_backend() == "gloo"
    assert dist.group.WORLD is not None and dist.get_world_size(dist.group.WORLD) == N
    ranks = [0, N - 1] if N > 2 else [1]
    g = dist.new_group(ranks)
    if R in ranks:
        assert dist.get_rank(g) == ranks.index(R) and dist.get_world_size(g) == len(ranks)
        t = ct.tensor([float(R)])
        dist.all_reduce(t, group=g)
        assert t.item() == sum(ranks)
        b = ct.tensor([float(R)])
        dist.broadcast(b, src=ranks[-1], group=g)         # src is a global rank, as in torch
        assert b.item() == ranks[-1]
    else:
        assert g is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(g) == -1
        assert dist.all_reduce(ct.ones(1), group=g) is None
    dist.destroy_process_group(g) if g is not dist.GroupMember.NON_GROUP_MEMBER else None


def test_distributed_sampler_takes_rank_from_group():
    from cltensor.utils.data.distributed import DistributedSampler
    s = DistributedSampler(list(range(11)), shuffle=False)
    assert s.rank == R and s.num_replicas == N
    order = list(range(11)) + list(range(11))[:(-11) % N]
    assert list(s) == order[R::N] and len(s) == -(-11 // N)


def test_mismatched_shapes_and_dtypes_raise_on_every_rank():
    with pytest.raises(dist.DistBackendError, match="mismatched"):
        dist.all_reduce(ct.zeros(3 + R))
    with pytest.raises(dist.DistBackendError, match="mismatched dtype"):
        dist.broadcast(ct.zeros(3, dtype=ct.float32 if R == 0 else ct.int32), src=0)
    with pytest.raises(dist.DistBackendError, match="different collectives"):
        if R == 0:
            dist.all_reduce(ct.zeros(2))
        else:
            dist.broadcast(ct.zeros(2), src=0)
    with pytest.raises(dist.DistBackendError, match="split sizes"):
        ins = ct.zeros(N + (1 if R == 0 else 0))
        dist.all_to_all_single(ct.zeros(N), ins, [1] * N, [1] * (N - 1) + [1 + (1 if R == 0 else 0)])
    # a receive into a tensor of the wrong size raises on the receiver; the sender completes
    if R == 0:
        dist.send(ct.zeros(5), dst=1)
    elif R == 1:
        with pytest.raises(dist.DistBackendError, match="sent 5 elements"):
            dist.recv(ct.zeros(4), src=0)
    # the world group still works afterwards
    t = ct.ones(2)
    dist.all_reduce(t)
    assert t.tolist() == [N, N]


def test_large_all_reduce_and_broadcast_use_the_blocking_path():
    from cltensor.distributed._collectives import BLOCKING_BYTES
    n = BLOCKING_BYTES // 4 + 3
    for op in (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MAX):
        t = ct.tensor(data(R, ct.float32, (n,)))
        dist.all_reduce(t, op=op)
        close(t, expected([data(r, ct.float32, (n,)) for r in range(N)], op, ct.float32), ct.float32)
    base = ct.zeros(2, n)
    view = base[:, ::2]                                  # strided: through a contiguous copy
    view.copy_(ct.tensor(data(R, ct.float32, (2, (n + 1) // 2))))
    dist.all_reduce(view)
    close(view, sum(data(r, ct.float32, (2, (n + 1) // 2)) for r in range(N)), ct.float32)
    b = ct.tensor(data(R, ct.int64, (n,)))
    dist.broadcast(b, src=N - 1)
    close(b, data(N - 1, ct.int64, (n,)), ct.int64)


def test_mismatched_large_tensors_raise_instead_of_hanging():
    # the blocking path (>= BLOCKING_BYTES): the header is checked before any data moves, so mismatched counts
    # raise on every rank instead of hanging in MPI or overrunning the smaller rank's buffer
    from cltensor.distributed._collectives import BLOCKING_BYTES
    big = BLOCKING_BYTES // 4
    with pytest.raises(dist.DistBackendError, match="mismatched number of elements"):
        dist.all_reduce(ct.zeros(big + R))
    with pytest.raises(dist.DistBackendError, match="mismatched number of elements"):
        dist.all_reduce(ct.zeros(big if R == 0 else 4))        # one rank blocking, the others not
    with pytest.raises(dist.DistBackendError, match="mismatched shape"):
        dist.all_reduce(ct.zeros(big) if R == 0 else ct.zeros(2, big // 2))
    with pytest.raises(dist.DistBackendError, match="mismatched op"):
        dist.all_reduce(ct.zeros(big), op=ReduceOp.SUM if R == 0 else ReduceOp.MAX)
    with pytest.raises(dist.DistBackendError, match="mismatched dtype"):
        dist.all_reduce(ct.zeros(big, dtype=ct.float32 if R == 0 else ct.int32))
    with pytest.raises(dist.DistBackendError, match="different collectives"):
        if R == 0:
            dist.all_reduce(ct.zeros(big))
        else:
            dist.broadcast(ct.zeros(big), src=0)
    t = ct.ones(big)
    dist.all_reduce(t)
    assert (t.numpy() == N).all()


def test_large_all_reduce_waits_for_pending_kernels_and_writes_only_the_view():
    from cltensor.distributed._collectives import BLOCKING_BYTES
    n = BLOCKING_BYTES // 4 + 5
    x = [data(r, ct.float32, (n,)) for r in range(N)]
    # kernels enqueued just before (still running): the reduction reads their results
    t = ct.tensor(x[R])
    ct.synchronize()
    for _ in range(40):
        t = (t * 0.5).sin() + t
    v = t._version
    dist.all_reduce(t)
    ref = []
    for a in x:
        for _ in range(40):
            a = np.sin(a * np.float32(0.5)) + a
        ref.append(a)
    close(t, sum(ref), ct.float32)
    assert t._version > v
    # a contiguous view at an offset: only its elements change
    base = ct.full((n + 7,), -1.0)
    view = base[3:3 + n]
    view.copy_(ct.tensor(x[R]))
    dist.all_reduce(view, op=ReduceOp.AVG)
    close(view, expected(x, ReduceOp.AVG, ct.float32), ct.float32)
    np.testing.assert_array_equal(base.numpy()[:3], -1)
    np.testing.assert_array_equal(base.numpy()[3 + n:], -1)
    # dtypes MPI reduces in another form: complex as pairs of reals, bool as bytes, integer AVG
    for dtype, op in ((ct.complex64, ReduceOp.AVG), (ct.bool, ReduceOp.BXOR), (ct.int64, ReduceOp.AVG),
                      (ct.int16, ReduceOp.MIN)):
        m = BLOCKING_BYTES // dtype.itemsize + 3
        t = ct.tensor(data(R, dtype, (m,)))
        dist.all_reduce(t, op=op)
        close(t, expected([data(r, dtype, (m,)) for r in range(N)], op, dtype), dtype)


@pytest.mark.parametrize("numel", [4, 1 << 15])
def test_timeout_raises_instead_of_hanging(numel):
    g = dist.new_group(list(range(N)), timeout=timedelta(seconds=1))
    t = ct.ones(numel)
    if R == 0:
        with pytest.raises(dist.DistBackendError, match="timed out"):
            dist.all_reduce(t, group=g)           # the other ranks are not there yet
    dist.barrier()
    if R != 0:
        # rank 0 gave up in the header: these ranks match its header and then wait in vain for the data (small
        # tensors) or for the confirmation round before MPI's blocking collective (large ones)
        with pytest.raises(dist.DistBackendError, match="timed out"):
            dist.all_reduce(t, group=g)
    dist.barrier()


@pytest.mark.parametrize("op", [ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MAX, ReduceOp.PRODUCT])
def test_all_reduce_and_reduce_of_bfloat16(op):
    """bfloat16 reduces on the host through float32, rounded to bfloat16 after each rank's step (rank order)."""
    vals = [np.asarray(data(r, ct.float32, (4, 3)), np.float32) for r in range(N)]
    t = ct.tensor(vals[R]).to(ct.bfloat16)
    dist.all_reduce(t, op=op)
    f = {"SUM": np.add, "AVG": np.add, "MAX": np.maximum, "PRODUCT": np.multiply}[op.name]
    rnd = lambda a: ct.tensor(a).to(ct.bfloat16).float().numpy()        # noqa: E731
    want = rnd(vals[0])
    for v in vals[1:]:
        want = rnd(f(want, rnd(v)))
    if op is ReduceOp.AVG:
        want = rnd(want / N)
    np.testing.assert_array_equal(t.float().numpy(), want)
    r = ct.tensor(vals[R]).to(ct.bfloat16)
    dist.reduce(r, dst=0, op=op)
    if R == 0:
        np.testing.assert_array_equal(r.float().numpy(), want)


def test_work_futures():
    t = ct.ones(5) * (R + 1)
    fut = dist.all_reduce(t, async_op=True).get_future()
    doubled = fut.then(lambda f: f.value()[0] * 2)
    assert doubled.wait().tolist() == [N * (N + 1)] * 5
    assert fut.done() and fut.value()[0] is t


def test_repeated_large_all_reduce_with_plans_and_p2p_headers():
    """From the second call of a (shape, dtype, op, group) all_reduce runs a cached plan bound to the storage and
    offset of its latest call; other storages, offsets, strides, device memory and mismatches stay correct."""
    import gc
    from cltensor.distributed._collectives import BLOCKING_BYTES, _FAST
    n = BLOCKING_BYTES // 4 + 9
    x = [data(r, ct.float32, (2, n)) for r in range(N)]
    for op in (ReduceOp.SUM, ReduceOp.AVG):
        for rep in range(3):                      # the first call records the plan, the others run it
            t = ct.tensor(x[R])
            v = t._version
            dist.all_reduce(t, op=op)
            close(t, expected(x, op, ct.float32), ct.float32)
            assert t._version > v
        assert any(k[0] == (2, n) and k[2] is op for k in _FAST)
    plan = next(p for k, p in _FAST.items() if k[0] == (2, n) and k[2] is ReduceOp.SUM)
    # the same storage twice in a row, then another storage, then an offset into a larger one
    t = ct.tensor(x[R])
    dist.all_reduce(t)
    dist.all_reduce(t)
    close(t, expected(x, ReduceOp.SUM, ct.float32) * N, ct.float32)
    base = ct.full((3 * n + 5,), -1.0)
    view = base[5:5 + 2 * n].view(2, n)
    view.copy_(ct.tensor(x[R]))
    dist.all_reduce(view)
    close(view, expected(x, ReduceOp.SUM, ct.float32), ct.float32)
    assert (base.numpy()[:5] == -1).all() and (base.numpy()[5 + 2 * n:] == -1).all()
    # a transposed tensor of the same shape (other strides): after the header, the general path
    tt = ct.tensor(np.ascontiguousarray(x[R].T)).T
    dist.all_reduce(tt)
    close(tt, expected(x, ReduceOp.SUM, ct.float32), ct.float32)
    # the bound storage dies: the plan lets go of its memory and binds the next call's storage
    del t, view, base
    gc.collect()
    assert plan.mem is None and plan.storage() is None
    t = ct.tensor(x[R])
    dist.all_reduce(t)
    close(t, expected(x, ReduceOp.SUM, ct.float32), ct.float32)
    # mismatches after a plan exists raise on every rank and leave the group usable
    with pytest.raises(dist.DistBackendError, match="mismatched op"):
        dist.all_reduce(t, op=ReduceOp.SUM if R == 0 else ReduceOp.AVG)
    with pytest.raises(dist.DistBackendError, match="mismatched shape"):
        dist.all_reduce(t if R == 0 else t.reshape(n, 2))
    with pytest.raises(dist.DistBackendError, match="different collectives"):
        if R == 0:
            dist.all_reduce(t)
        else:
            dist.broadcast(t, src=0)
    # a sub-group has its own plans and header requests
    g = dist.new_group(list(range(N)))
    for _ in range(2):
        u = ct.tensor(x[R])
        dist.all_reduce(u, group=g)
        close(u, expected(x, ReduceOp.SUM, ct.float32), ct.float32)
    dist.destroy_process_group(g)
    assert not any(k[3] is g for k in _FAST)


@pytest.mark.parametrize("kind", ["shared memory", "point to point", "all-reduce"])
def test_header_exchanges_of_every_kind(kind, monkeypatch):
    """Groups exchange headers in shared memory (one machine), point to point (up to HEADER_P2P_MAX ranks) or
    with one all-reduce: the same results, errors and timeouts from each."""
    from cltensor.distributed import _core
    from cltensor.distributed._collectives import BLOCKING_BYTES
    if kind != "shared memory":
        monkeypatch.setattr(_core, "HEADER_SHM_MAX", 0)
    if kind == "all-reduce":
        monkeypatch.setattr(_core, "HEADER_P2P_MAX", 0)
    g = dist.new_group(list(range(N)), timeout=timedelta(seconds=1))
    assert (g._hdr_map is not None, g._hdr_reqs is not None) == (kind == "shared memory", kind == "point to point")
    big = BLOCKING_BYTES // 4 + 1
    for n in (5, big):
        for _ in range(3):
            t = ct.tensor(data(R, ct.float32, (n,)))
            dist.all_reduce(t, group=g)
            close(t, expected([data(r, ct.float32, (n,)) for r in range(N)], ReduceOp.SUM, ct.float32), ct.float32)
            b = ct.tensor(data(R, ct.int32, (n,)))
            dist.broadcast(b, src=N - 1, group=g)
            close(b, data(N - 1, ct.int32, (n,)), ct.int32)
    with pytest.raises(dist.DistBackendError, match="mismatched number of elements"):
        dist.all_reduce(ct.zeros(big + R), group=g)
    with pytest.raises(dist.DistBackendError, match="different collectives"):
        if R == 0:
            dist.all_reduce(ct.zeros(4), group=g)
        else:
            dist.broadcast(ct.zeros(4), src=0, group=g)
    # rank 0 gives up (the others are not there); the others then match its header and time out after it
    if R == 0:
        with pytest.raises(dist.DistBackendError, match="timed out"):
            dist.all_reduce(ct.ones(big), group=g)
    dist.barrier()
    if R != 0:
        with pytest.raises(dist.DistBackendError, match="timed out"):
            dist.all_reduce(ct.ones(big), group=g)
    elif kind != "all-reduce":
        with pytest.raises(dist.DistBackendError, match="cannot be used again"):
            dist.all_reduce(ct.ones(4), group=g)
    dist.barrier()
    dist.destroy_process_group(g)
