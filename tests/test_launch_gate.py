"""The launch gate of a runtime's queue (_device.Queue): small kernels held behind a user event and released
together, every wait on the queue releasing them first, the same results with the gate on and off."""
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import cltensor as ct
from cltensor import _device as dv
from cltensor import _kernels as K
from _host import host, has_cl_cpu

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def gated():
    """The default device's queue with a gate of 4 small kernels (whatever the device's own setting)."""
    rt = dv.runtime(ct.get_default_device())
    if rt is None:
        pytest.skip("the default device runs no kernels (host storage only)")
    q = rt.queue
    q.finish()
    old = q.batch
    q.batch = 4
    q.run = False
    try:
        yield q
    finally:
        q.finish()
        q.batch = old


def _small_ops(a, n):
    for _ in range(n):
        a = a + 1
    return a


def test_small_kernels_wait_behind_the_gate_until_the_batch_is_full(gated):
    a = ct.zeros(8)
    gated.finish()
    gated.run = False
    b = _small_ops(a, 2)              # the first small kernel goes as it is, the second closes the gate
    assert gated.gate is not None and gated.gated == 1
    b = _small_ops(b, 3)              # the fourth kernel behind the gate opens it
    assert gated.gate is None
    assert host(b).tolist() == [5.0] * 8


def test_a_kernel_that_is_not_small_opens_the_gate(gated):
    a = ct.zeros(8)
    big = ct.zeros(K.SMALL_BYTES // 4 + 1)
    gated.finish()
    a = _small_ops(a, 2)
    assert gated.gate is not None
    big = big + 1
    assert gated.gate is None and not gated.run
    assert host(a).tolist() == [2.0] * 8 and float(host(big).min()) == 1.0


@pytest.mark.parametrize("wait", ["synchronize", "tolist", "item", "numpy", "print", "tensor", "save", "index",
                                  "cpu"])
def test_every_wait_releases_the_held_kernels(gated, wait):
    a = _small_ops(ct.zeros(4), 3)
    assert gated.gate is not None
    if wait == "synchronize":
        ct.synchronize()
        assert gated.gate is None
        assert host(a).tolist() == [3.0] * 4
    elif wait == "tolist":
        assert a.tolist() == [3.0] * 4
    elif wait == "item":
        assert a.sum().item() == 12.0
    elif wait == "numpy":                # (only a CPU-device tensor converts to numpy directly, as in PyTorch)
        assert (a if a.device.type == "cpu" else a.cpu()).numpy().tolist() == [3.0] * 4
    elif wait == "print":
        assert "3." in repr(a)
    elif wait == "tensor":            # a host-to-device copy behind held kernels
        t = ct.tensor(np.arange(4, dtype=np.float32), device=a.device)
        assert host(t + a).tolist() == [3.0, 4.0, 5.0, 6.0]
    elif wait == "save":
        buf = io.BytesIO()
        ct.save(a, buf)
        buf.seek(0)
        assert host(ct.load(buf)).tolist() == [3.0] * 4
    elif wait == "index":             # indexing checks its indices on the host
        with pytest.raises(IndexError):
            a[ct.tensor([0, 9], device=a.device)]
        assert host(a[ct.tensor([1, 2], device=a.device)]).tolist() == [3.0, 3.0]
    else:
        assert host(a.cpu()).tolist() == [3.0] * 4
    assert gated.gate is None


def test_training_steps_equal_with_and_without_the_gate(gated):
    def train(batch):
        gated.batch = batch
        ct.manual_seed(0)
        m = ct.nn.Sequential(ct.nn.Linear(10, 50), ct.nn.ReLU(), ct.nn.Linear(50, 1))
        opt = ct.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
        rng = np.random.default_rng(0)
        x = ct.tensor(rng.standard_normal((32, 10)).astype(np.float32))
        y = ct.tensor(rng.standard_normal((32, 1)).astype(np.float32))
        for _ in range(5):
            opt.zero_grad()
            ct.nn.functional.mse_loss(m(x), y).backward()
            opt.step()
        return [host(p) for p in m.parameters()]
    for p, q in zip(train(0), train(4)):
        assert np.array_equal(p, q)


_SCRIPT = r"""
import io, numpy as np, cltensor as ct
from cltensor import _device as dv
q = dv.runtime(ct.get_default_device()).queue
q.batch = 8
x = ct.zeros(16)
for i in range(200):                 # small kernels, then every way of waiting, each behind a closed gate
    x = x + 1
    if i % 7 == 3:
        x.tolist()
    elif i % 7 == 5:
        ct.tensor(np.ones(16, np.float32), device=x.device)
    elif i % 11 == 0:
        ct.save(x, io.BytesIO())
assert x.sum().item() == 3200.0
y = x * 2                             # held at exit: the process must still end
print("done")
"""


# The two subprocess stress tests run on the OpenCL CPU device (the gate's default home): Oclgrind's simulator
# asserts when threads launch concurrently, and runs 200 launches with host round trips too slowly.
needs_cl_cpu = pytest.mark.skipif(not has_cl_cpu(), reason="no OpenCL CPU device")


@needs_cl_cpu
def test_no_wait_hangs_behind_a_gate():
    env = dict(os.environ, PYTHONPATH=ROOT, CLTENSOR_DEVICE="cpu")
    p = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip().endswith("done")


def test_launch_batch_variable():
    code = ("import cltensor as ct; from cltensor import _device as dv; "
            "print(dv.runtime(ct.get_default_device()).queue.batch)")
    env = dict(os.environ, PYTHONPATH=ROOT, CLTENSOR_LAUNCH_BATCH="0")
    p = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "0", p.stderr[-2000:]
    env["CLTENSOR_LAUNCH_BATCH"] = "many"
    p = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "CLTENSOR_LAUNCH_BATCH" in p.stderr


_THREADS = r"""
import sys, threading, numpy as np, cltensor as ct
from cltensor import _device as dv
sys.setswitchinterval(1e-6)
q = dv.runtime(ct.get_default_device()).queue
q.batch = 8
errs = []
def work(k):
    a = ct.full((500,), float(k)); b = ct.full((500,), 1.0)
    for i in range(600):
        c = a + b
        if i % 50 == 0 and not (c.cpu().numpy() == k + 1).all():
            errs.append((k, i))
x = ct.zeros(4)
for _ in range(20):                  # the main thread first, through the gate
    x = x + 1
ts = [threading.Thread(target=work, args=(k,)) for k in range(1, 4)]
[t.start() for t in ts]
work(0)
[t.join() for t in ts]
print(len(errs), q.batch, x.tolist())
"""


@needs_cl_cpu
def test_threads_launching_concurrently_switch_the_gate_off():
    """Kernels, their pre-bound clones and the arguments set on them are shared by all threads: launches hold a
    lock from setting arguments to the enqueue, and the first launch from a second thread switches the gate
    off. Before, threads adding concurrently read wrong sums."""
    env = dict(os.environ, PYTHONPATH=ROOT, CLTENSOR_DEVICE="cpu")
    p = subprocess.run([sys.executable, "-c", _THREADS], env=env, cwd=ROOT, capture_output=True, text=True,
                       timeout=240)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.split("\n")[0] == "0 0 [20.0, 20.0, 20.0, 20.0]"
