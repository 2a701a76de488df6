"""DistributedDataParallel against one process training on the concatenated batches. Runs on every rank:
    mpirun -np 2 python -m pytest -q tests/distributed/mpi_ddp.py   (tests/test_distributed.py does this)"""
from datetime import timedelta

import numpy as np
import pytest

import cltensor as ct
import cltensor.distributed as dist
from cltensor import nn
from cltensor.nn.parallel import DistributedDataParallel as DDP

if not dist.is_initialized():
    dist.init_process_group("mpi", timeout=timedelta(seconds=60))
R, N = dist.get_rank(), dist.get_world_size()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.fc1 = nn.Linear(3 * 4 * 4, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        x = ct.relu(self.conv(x)).flatten(1)
        return self.fc2(ct.tanh(self.fc1(x)))


def make(seed):
    ct.manual_seed(seed)
    return Net()


def batch(step, rank, n=4):
    rng = np.random.default_rng(100 * step + rank)
    return (ct.tensor(rng.standard_normal((n, 1, 6, 6)).astype(np.float32)),
            ct.tensor(rng.integers(0, 4, n)))


def params(m):
    return [p.detach().numpy().copy() for p in m.parameters()]


@pytest.mark.parametrize("as_view,static,to_none", [(False, False, True), (True, False, True), (True, True, False),
                                                    (False, True, False)])
def test_ddp_training_matches_one_process_on_concatenated_batches(as_view, static, to_none):
    ref = make(0)
    model = make(0 if R == 0 else 7 + R)    # a different init on the other ranks: DDP broadcasts rank 0's parameters
    ddp = DDP(model, bucket_cap_mb=0.002, gradient_as_bucket_view=as_view, static_graph=static)  # several buckets
    assert len(ddp.bucket_indices) > 1
    assert ddp.bucket_indices[0][0] == len(list(model.parameters())) - 1     # reverse registration order
    for a, b in zip(params(model), params(ref)):
        np.testing.assert_array_equal(a, b)
    opt = ct.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
    ropt = ct.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
    lossf = nn.CrossEntropyLoss()
    for step in range(20):
        x, y = batch(step, R)
        opt.zero_grad(set_to_none=to_none)
        lossf(ddp(x), y).backward()
        if as_view:       # every gradient is a view of its bucket's flat tensor
            for b in ddp._buckets:
                for p in b.params:
                    assert p.grad._st is b.flat._st
        opt.step()
        xs, ys = zip(*[batch(step, r) for r in range(N)])
        ropt.zero_grad()
        lossf(ref(ct.cat(xs)), ct.cat(ys)).backward()
        ropt.step()
    for a, b in zip(params(model), params(ref)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    sd = ddp.state_dict()
    assert all(k.startswith("module.") for k in sd) and set(ddp.module.state_dict()) == {k[7:] for k in sd}


def test_no_sync_accumulates_locally_then_averages():
    ref = make(1)
    ddp = DDP(make(1))
    lossf = nn.CrossEntropyLoss()
    with ddp.no_sync():
        for s in range(2):
            x, y = batch(50 + s, R)
            lossf(ddp(x), y).backward()
    local = [p.grad.numpy().copy() for p in ddp.module.parameters()]
    x, y = batch(52, R)
    lossf(ddp(x), y).backward()
    for s in range(3):
        for r in range(N):
            x, y = batch(50 + s, r)
            (lossf(ref(x), y) / N).backward()
    for p, q, lo in zip(ddp.module.parameters(), ref.parameters(), local):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)
    # inside no_sync the gradients were this rank's own (they differ between ranks)
    other = [None] * N
    dist.all_gather_object(other, [float(lo.sum()) for lo in local])
    assert other[0] != other[-1]


def test_uneven_batch_sizes_average_per_rank_means():
    ref = make(2)
    ddp = DDP(make(2))
    lossf = nn.CrossEntropyLoss()
    x, y = batch(60, R, n=2 + 3 * R)
    lossf(ddp(x), y).backward()
    for r in range(N):
        x, y = batch(60, r, n=2 + 3 * r)
        (lossf(ref(x), y) / N).backward()
    for p, q in zip(ddp.module.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(3, 2)

    def forward(self, x, use_b):
        return self.a(x) + (self.b(x) if use_b else 0)


def test_find_unused_parameters():
    ct.manual_seed(3)
    m = Branchy()
    ddp = DDP(m, find_unused_parameters=True)
    x = ct.ones(4, 3) * (R + 1)
    ddp(x, use_b=(R == 0)).sum().backward()
    # b is used on rank 0 only: its gradient is rank 0's divided by N everywhere
    np.testing.assert_allclose(m.b.weight.grad.numpy(), np.full((2, 3), 4.0 / N), rtol=1e-6)
    np.testing.assert_allclose(m.a.weight.grad.numpy(), np.full((2, 3), 4.0 * (N + 1) / 2), rtol=1e-6)
    ct.manual_seed(3)
    m2 = Branchy()
    ddp2 = DDP(m2)
    ddp2(x, use_b=False).sum().backward()
    with pytest.raises(RuntimeError, match="find_unused_parameters=True"):
        ddp2(x, use_b=True)


@pytest.mark.parametrize("as_view", [False, True])
def test_static_graph_finds_unused_parameters_once(as_view):
    ct.manual_seed(3)
    m = Branchy()
    ddp = DDP(m, static_graph=True, gradient_as_bucket_view=as_view)
    x = ct.ones(4, 3) * (R + 1)
    for it in range(3):                 # the same graph each iteration: b unused everywhere
        for p in m.parameters():
            p.grad = None
        ddp(x, use_b=False).sum().backward()
        assert m.b.weight.grad is None
        np.testing.assert_allclose(m.a.weight.grad.numpy(), np.full((2, 3), 4.0 * (N + 1) / 2), rtol=1e-6)
    assert ddp._static_unused == {2, 3}


def test_buffers_broadcast_from_rank0_each_forward():
    m = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    ddp = DDP(m)
    with ct.no_grad():
        ddp(ct.randn(4, 3) + R)            # running stats now differ between ranks
    vals = [None] * N
    dist.all_gather_object(vals, m[1].running_mean.tolist())
    assert vals[0] != vals[-1]
    rank0 = vals[0]
    ddp.eval()                             # eval: the forward does not update the stats, only broadcasts them
    with ct.no_grad():
        ddp(ct.zeros(2, 3))
    np.testing.assert_allclose(m[1].running_mean.numpy(), rank0, rtol=1e-6)


def test_buckets_start_during_backward_in_order():
    ddp = DDP(make(4), bucket_cap_mb=0.002)
    seen = []
    orig = ddp._launch_ready

    def spy():
        before = ddp._next
        orig()
        if ddp._next > before:       # buckets started by this hook call; count those still waiting for grads
            seen.append((before, ddp._next, sum(b.pending > 0 for b in ddp._buckets)))
    ddp._launch_ready = spy
    x, y = batch(70, R)
    nn.CrossEntropyLoss()(ddp(x), y).backward()
    nb = len(ddp._buckets)
    assert nb > 2
    assert seen[0][0] == 0 and seen[0][2] > 0          # the first bucket started while others were still filling
    assert [s[0] for s in seen] == sorted(s[0] for s in seen) and seen[-1][1] == nb


# ---------------------------------------------------------------- communication hooks

from cltensor.distributed.algorithms.ddp_comm_hooks import default_hooks  # noqa: E402


def _train(ddp, steps, seed0=70):
    opt = ct.optim.SGD(ddp.parameters(), lr=0.1)
    lossf = nn.CrossEntropyLoss()
    for s in range(steps):
        x, y = batch(seed0 + s, R)
        opt.zero_grad()
        lossf(ddp(x), y).backward()
        opt.step()
    return params(ddp.module)


@pytest.mark.parametrize("hook,tol", [(default_hooks.allreduce_hook, 1e-6), (default_hooks.fp16_compress_hook, 2e-3),
                                      (default_hooks.bf16_compress_hook, 2e-2)])
def test_stock_comm_hooks_match_the_default_reduction(hook, tol):
    want = _train(DDP(make(3), bucket_cap_mb=0.002), 3)
    ddp = DDP(make(3), bucket_cap_mb=0.002)
    ddp.register_comm_hook(None, hook)
    got = _train(ddp, 3)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("as_view", [False, True])
def test_custom_comm_hook_sees_buckets_in_order_and_sets_the_gradients(as_view):
    seen = []

    def local_times_rankcount(state, bucket):      # no communication: each rank keeps its own gradient * state
        seen.append((bucket.index(), bucket.is_last(), [tuple(p.shape) for p in bucket.parameters()]))
        assert [tuple(g.shape) for g in bucket.gradients()] == seen[-1][2]
        f = ct.futures.Future()
        f.set_result(bucket.buffer() * state)
        return f

    ref = make(4)
    ddp = DDP(make(4), bucket_cap_mb=0.002, gradient_as_bucket_view=as_view)
    ddp.register_comm_hook(3.0, local_times_rankcount)
    lossf = nn.CrossEntropyLoss()
    x, y = batch(80, R)
    lossf(ddp(x), y).backward()
    lossf(ref(x), y).backward()
    nb = len(ddp.bucket_indices)
    assert [s[0] for s in seen] == list(range(nb)) and [s[1] for s in seen] == [False] * (nb - 1) + [True]
    for p, q in zip(ddp.module.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), 3 * q.grad.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="can only be called once"):
        ddp.register_comm_hook(None, local_times_rankcount)
    with pytest.raises(TypeError, match="callable"):
        DDP(make(4)).register_comm_hook(None, 5)


# ---------------------------------------------------------------- join (uneven inputs)

@pytest.mark.parametrize("divide_initial", [True, False])
def test_join_trains_on_uneven_inputs_like_one_process(divide_initial):
    """Rank r has 2 + r batches; inside join() a rank that ran out shadows the others' reductions with zero
    gradients. Each step's gradient is the sum over the ranks still running / (N or their count), as one process
    computes it; every rank ends with the last joiner's model."""
    ref = make(5)
    ddp = DDP(make(5), bucket_cap_mb=0.002)
    opt = ct.optim.SGD(ddp.parameters(), lr=0.1)
    lossf = nn.CrossEntropyLoss()
    with ddp.join(divide_by_initial_world_size=divide_initial):
        for s in range(2 + R):
            x, y = batch(90 + s, R)
            opt.zero_grad()
            lossf(ddp(x), y).backward()
            opt.step()
    ropt = ct.optim.SGD(ref.parameters(), lr=0.1)
    for s in range(2 + N - 1):
        active = [r for r in range(N) if s < 2 + r]
        ropt.zero_grad()
        for r in active:
            x, y = batch(90 + s, r)
            (lossf(ref(x), y) / (N if divide_initial else len(active))).backward()
        ropt.step()
    for a, b in zip(params(ddp.module), params(ref)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_join_throw_on_early_termination_raises_on_every_rank():
    ddp = DDP(make(6))
    lossf = nn.CrossEntropyLoss()
    with pytest.raises(RuntimeError, match="exhausted inputs"):
        with ddp.join(throw_on_early_termination=True):
            for s in range(1 + min(R, 1)):          # rank 0 has one batch, the others two
                x, y = batch(95 + s, R)
                lossf(ddp(x), y).backward()
    dist.barrier()                                  # every rank left the context: the group still works
