"""Collectives on tensors in device memory (staged through host memory; all_reduce/broadcast in chunks). The
default device's runtime is switched to plain device buffers (as on a discrete GPU: no host view of the memory)
for this module's tensors. Runs on every rank:
    mpirun -np 2 python -m pytest -q tests/distributed/mpi_device_memory.py"""
from datetime import timedelta

import numpy as np
import pytest

import cltensor as ct
import cltensor.distributed as dist
from cltensor.distributed import _collectives

if not dist.is_initialized():
    dist.init_process_group("mpi", timeout=timedelta(seconds=60))
R, N = dist.get_rank(), dist.get_world_size()
DEV = ct.get_default_device()
_rt = ct._device.runtime(DEV)
if _rt is None:
    pytest.exit("needs an OpenCL device", returncode=3)
_rt.empty_cache()
_rt.unified = False           # new allocations: device buffers without host memory behind them


def host(t):
    return t._to_numpy_copy()


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(_collectives, "CHUNK_BYTES", 4096)     # several chunks with small tensors
    monkeypatch.setattr(_collectives, "BLOCKING_BYTES", 1 << 40)


def test_blocking_path_in_chunks(monkeypatch):
    monkeypatch.setattr(_collectives, "BLOCKING_BYTES", 1024)
    t = ct.arange(3000., device=DEV) * (R + 1)
    dist.all_reduce(t)
    np.testing.assert_allclose(host(t), np.arange(3000.) * N * (N + 1) / 2)
    x = ct.arange(3000, device=DEV) if R == 0 else ct.zeros(3000, dtype=ct.int64, device=DEV)
    dist.broadcast(x, src=0)
    np.testing.assert_array_equal(host(x), np.arange(3000))


def test_tensors_live_in_device_memory():
    assert ct.zeros(4, device=DEV)._st.host is None


def test_all_reduce_in_chunks_and_strided():
    t = ct.arange(3000., device=DEV) * (R + 1)
    dist.all_reduce(t)
    np.testing.assert_allclose(host(t), np.arange(3000.) * N * (N + 1) / 2)
    t = ct.arange(3000., device=DEV) * (R + 1)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    np.testing.assert_allclose(host(t), np.arange(3000.) * (N + 1) / 2, rtol=1e-6)
    b = ct.zeros(5, 8, device=DEV)
    v = b[:, ::2]
    v.copy_(ct.ones(5, 4, device=DEV) * (R + 1))
    dist.all_reduce(v, op=dist.ReduceOp.MAX)
    got = b
    assert (got[:, ::2] == N).all() and (got[:, 1::2] == 0).all()


def test_broadcast_gather_and_float16():
    x = ct.arange(2000, device=DEV) if R == 0 else ct.zeros(2000, dtype=ct.int64, device=DEV)
    dist.broadcast(x, src=0)
    np.testing.assert_array_equal(host(x), np.arange(2000))
    h = ct.tensor([1.5, 2.0], dtype=ct.float16, device=DEV)
    dist.all_reduce(h)
    assert h.tolist() == [1.5 * N, 2.0 * N]
    outs = [ct.zeros(3, device=DEV) for _ in range(N)]
    dist.all_gather(outs, ct.ones(3, device=DEV) * R)
    assert [o.tolist() for o in outs] == [[float(i)] * 3 for i in range(N)]
    got = ct.zeros(3, device=DEV)
    if R == 0:
        dist.send(ct.ones(3, device=DEV) * 7, dst=N - 1)
    if R == N - 1:
        dist.recv(got, src=0)
        assert got.tolist() == [7.0] * 3
