"""Out of device memory: a clear RuntimeError naming the device and the request, raised only after the memory pool
has handed its cache back and retried; earlier tensors and the process stay usable."""
import gc
import os
import subprocess
import sys
import textwrap

import pytest

import cltensor as ct
from cltensor import _device as dv

DEV = ct.get_default_device()             # cpu, or CLTENSOR_DEVICE's

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_larger_than_any_allocation():
    keep = ct.arange(10.0)
    with pytest.raises(RuntimeError, match=rf"out of memory on device {DEV}: tried to allocate 4398046511104 bytes"):
        ct.empty(2 ** 40)
    with pytest.raises(RuntimeError, match=rf"out of memory on device {DEV}: tried to allocate 8796093022208 bytes"):
        ct.zeros(2 ** 40, dtype=ct.float64)
    assert keep.sum().item() == 45.0
    assert ct.ones(3).add(1).tolist() == [2.0, 2.0, 2.0]


def test_series_of_allocations_beyond_global_memory():
    """Allocations that each fit but together exceed the device's memory (global memory; host memory on a CPU
    device) fail at the first one that does not fit (empty() touches no pages, so this costs no real memory)."""
    rt = dv.runtime(DEV)
    step = rt.info.max_alloc
    gc.collect()                 # garbage of earlier tests must not be freed in the middle of the count
    before = rt.in_use_bytes
    held = []
    with pytest.raises(RuntimeError, match=rf"out of memory on device {DEV}: tried to allocate {step} bytes"):
        for _ in range(rt.info.mem_limit // step + 2):
            held.append(ct.empty(step, dtype=ct.uint8))
    assert held and rt.in_use_bytes + step > rt.info.mem_limit
    del held
    gc.collect()
    rt.empty_cache()
    assert rt.in_use_bytes <= before and rt.cached_bytes == 0
    assert ct.full((4,), 2.0).mul(3).tolist() == [6.0] * 4


_SCRIPT = textwrap.dedent("""
    import cltensor as ct
    from cltensor import _device as dv
    dev = ct.get_default_device()
    rt = dv.runtime(dev)
    assert rt.info.global_mem_size == 256 << 20, rt.info.global_mem_size
    MiB = 1 << 20
    a = ct.ones(16 * MiB)                       # 64 MiB, kept throughout
    hold = [ct.empty(16 * MiB) for _ in range(2)]  # 192 MiB in use
    try:
        ct.empty(32 * MiB)                      # 128 MiB more: does not fit
        raise SystemExit("no error")
    except RuntimeError as e:
        msg = str(e)
        assert msg.startswith(f"out of memory on device {dev}: tried to allocate 134217728 bytes"), msg
    try:
        a + a + a                               # an op's output that does not fit, beside the inputs
    except RuntimeError:
        pass
    try:
        hold[0].copy_(a); b = ct.cat([a, a, a])  # 192 MiB output with 192 MiB in use
        raise SystemExit("no error")
    except RuntimeError as e:
        assert f"out of memory on device {dev}: tried to allocate 201326592 bytes" in str(e), str(e)
    del hold                                    # 128 MiB now cached in the pool (64 MiB bins)
    assert rt.cached_bytes == 128 * MiB, rt.memory_stats()
    c = ct.empty(30 * MiB)                      # 120 MiB, another bin: needs the cache handed back first
    assert rt.cached_bytes == 0, rt.memory_stats()
    c.fill_(2.0)
    assert a.sum().item() == 16 * MiB           # the earlier tensor is intact
    assert c[-1].item() == 2.0
    del c
    for i in range(3):                          # repeated failures leave the pool consistent
        big = []
        try:
            while True:
                big.append(ct.full((8 * MiB,), float(i)))
        except RuntimeError as e:
            assert f"out of memory on device {dev}" in str(e)
        assert len(big) == 6, len(big)          # 64 + 6 * 32 MiB = 256 MiB
        last = big[-1]
        del big
        assert last.sum().item() == 8 * MiB * i
        del last
    print("OK", rt.memory_stats())
""")


@pytest.mark.skipif(dv.device_info(DEV).global_mem_size < 256 << 20,
                    reason=f"the default device {DEV} has less than the 256 MiB of global memory this test limits to")
def test_oom_retry_after_freeing_cache_and_recovery():
    env = dict(os.environ, CLTENSOR_DEVICE_PROFILE="mem=256", PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr
