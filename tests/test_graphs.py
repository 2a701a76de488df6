"""Captured graphs (cltensor.cuda.CUDAGraph / cltensor.graphs, compile(mode="reduce-overhead")): replays equal
eager runs bitwise (same kernels, same order) for MLP, CNN and attention training steps with SGD, Adam and
dropout; random ops draw fresh numbers per replay; host reads are refused naming the op; the graph's memory is
never handed to eager code; compile's guards fall back to a new capture or to eager."""
import copy

import numpy as np
import pytest

import cltensor as ct
import cltensor.nn as nn
import cltensor.nn.functional as F
from _host import host


def _models_pair(make):
    ct.manual_seed(0)
    a = make()
    b = copy.deepcopy(a)
    return a, b


def _train(model, opt, data, step_fn, n_warm, capture):
    """Losses and final parameters of len(data) steps: n_warm eager steps, then eager or captured+replayed."""
    x_s = data[0][0].clone()
    y_s = data[0][1].clone()
    losses = []

    def step(x, y):
        opt.zero_grad()
        loss = step_fn(model, x, y)
        loss.backward()
        opt.step()
        return loss

    ct.manual_seed(123)
    for x, y in data[:n_warm]:
        losses.append(host(step(x, y)))
    rest = data[n_warm:]
    if not capture:
        for x, y in rest:
            losses.append(host(step(x, y)))
    else:
        g = ct.cuda.CUDAGraph()
        with ct.cuda.graph(g):
            out = step(x_s, y_s)
        for x, y in rest:
            x_s.copy_(x)
            y_s.copy_(y)
            g.replay()
            losses.append(host(out).copy())
    return np.array(losses), [host(p) for p in model.parameters()]


def _check_equal(make, opt_make, step_fn, data, n_warm=2):
    a, b = _models_pair(make)
    la, pa = _train(a, opt_make(a), data, step_fn, n_warm, capture=False)
    lb, pb = _train(b, opt_make(b), data, step_fn, n_warm, capture=True)
    np.testing.assert_array_equal(la, lb)
    for x, y in zip(pa, pb):
        np.testing.assert_array_equal(x, y)
    return la


def _mse(model, x, y):
    return F.mse_loss(model(x), y)


def _xent(model, x, y):
    return F.cross_entropy(model(x), y)


def _data(shape_x, shape_y, n, classes=None):
    ct.manual_seed(5)
    out = []
    for _ in range(n):
        x = ct.randn(*shape_x)
        y = ct.randint(0, classes, shape_y) if classes else ct.randn(*shape_y)
        out.append((x, y))
    return out


def test_mlp_sgd_momentum_replay_equals_eager():
    losses = _check_equal(lambda: nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 1)),
                          lambda m: ct.optim.SGD(m.parameters(), lr=0.05, momentum=0.9),
                          _mse, _data((32, 10), (32, 1), 6))
    assert len(set(losses.tolist())) > 1       # the replays really trained


def test_mlp_adam_dropout_replay_equals_eager():
    # Adam's step count and bias corrections change per step (refreshed per replay); dropout draws new masks
    _check_equal(lambda: nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Dropout(0.3), nn.Linear(16, 4)),
                 lambda m: ct.optim.Adam(m.parameters(), lr=0.01),
                 _xent, _data((16, 8), (16,), 6, classes=4))


def test_cnn_adamw_replay_equals_eager():
    def make():
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(4 * 4 * 4, 10))
    _check_equal(make, lambda m: ct.optim.AdamW(m.parameters(), lr=0.01), _xent,
                 _data((4, 1, 8, 8), (4,), 5, classes=10))


class _TinyGPT(nn.Module):
    def __init__(self, vocab=11, d=16, seq=6):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(ct.randn(seq, d) * 0.1)
        self.att = nn.MultiheadAttention(d, 2, dropout=0.1, batch_first=True)
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)
        self.register_buffer("mask", ct.triu(ct.ones(seq, seq, dtype=ct.bool), 1))

    def forward(self, idx):
        h = self.emb(idx) + self.pos
        a, _ = self.att(h, h, h, attn_mask=self.mask, need_weights=False)
        return self.head(self.ln(h + a))


def test_attention_adam_dropout_replay_equals_eager():
    def step_fn(model, x, y):
        return F.cross_entropy(model(x).reshape(-1, 11), y.reshape(-1))
    data = _data((1,), (1,), 1)
    ct.manual_seed(6)
    data = [(ct.randint(0, 11, (3, 6)), ct.randint(0, 11, (3, 6))) for _ in range(5)]
    _check_equal(_TinyGPT, lambda m: ct.optim.Adam(m.parameters(), lr=0.01), step_fn, data)


def test_random_ops_draw_fresh_numbers_per_replay():
    ct.manual_seed(3)
    eager = [host(ct.rand(5) + ct.randn(5)) for _ in range(3)]
    ct.manual_seed(3)
    g = ct.graphs.Graph()
    with ct.graphs.graph(g):
        out = ct.rand(5) + ct.randn(5)
    got = []
    for _ in range(3):
        g.replay()
        got.append(host(out).copy())
    for e, r in zip(eager, got):
        np.testing.assert_array_equal(e, r)
    assert not np.array_equal(got[0], got[1])


def test_host_reads_refused_naming_the_op():
    x = ct.randn(4)
    for fn, name in ((lambda: x.sum().item(), "Tensor.item"), (lambda: x.tolist(), "Tensor.tolist"),
                     (lambda: bool(x.sum() > 0), "Tensor.__bool__"), (lambda: ct.nonzero(x > 0), "nonzero"),
                     (lambda: repr(x * 2), "repr")):
        g = ct.cuda.CUDAGraph()
        with pytest.raises(RuntimeError, match="while capturing a graph") as ei:
            with ct.cuda.graph(g):
                fn()
        assert name in str(ei.value)
        assert not ct.cuda.is_current_stream_capturing()
    np.testing.assert_array_equal(host(x + 0), host(x))     # eager works again after a failed capture


def test_graph_memory_is_not_reused_by_eager_code():
    a = ct.randn(64)
    g = ct.cuda.CUDAGraph()
    with ct.cuda.graph(g):
        t = a * 2           # an intermediate freed inside the region: its block stays the graph's
        out = t + 1
        del t
    ref = host(a) * 2 + 1
    others = [ct.full((64,), 7.0) for _ in range(8)]     # eager allocations of the same size
    g.replay()
    np.testing.assert_allclose(host(out), ref, rtol=1e-6)
    for o in others:
        np.testing.assert_array_equal(host(o), np.full(64, 7.0, np.float32))
    a.copy_(ct.ones(64))
    g.replay()
    np.testing.assert_array_equal(host(out), np.full(64, 3.0, np.float32))
    g.reset()
    with pytest.raises(RuntimeError, match="not been captured"):
        g.replay()


def test_constants_uploaded_inside_the_region_are_replayed():
    x = ct.arange(4.0)
    g = ct.cuda.CUDAGraph()
    with ct.cuda.graph(g):
        out = x * ct.tensor([1.0, 2.0, 3.0, 4.0]) + ct.tensor(0.5)
    g.replay()
    np.testing.assert_array_equal(host(out), np.array([0.5, 2.5, 6.5, 12.5], np.float32))


def test_compile_reduce_overhead_guards():
    def f(x):
        return (x * 3 - 1).abs().sum(0)

    cf = ct.compile(f, mode="reduce-overhead")
    x = ct.randn(5, 4)
    for _ in range(3):
        np.testing.assert_array_equal(host(cf(x)), host(f(x)))
    assert cf.stats["captures"] == 1 and cf.stats["replays"] == 2
    x2 = ct.randn(5, 4)
    np.testing.assert_array_equal(host(cf(x2)), host(f(x2)))        # new values, same signature: replay
    assert cf.stats["replays"] == 3
    # shape, dtype and strides changes are new signatures (eager first, then captured and replayed)
    for y in (ct.randn(2, 4), ct.randint(-5, 5, (5, 4), dtype=ct.int32), ct.randn(4, 5).t()):
        for _ in range(3):
            r = cf(y)
            assert r.dtype == f(y).dtype
            np.testing.assert_array_equal(host(r), host(f(y)))
    assert cf.stats["captures"] == 4 and cf.stats["replays"] == 9
    # requires_grad change: gradients must reach the argument, so this signature stays eager
    xr = ct.randn(5, 4, requires_grad=True)
    for _ in range(3):
        xr.grad = None
        r = cf(xr)
        r.sum().backward()
        np.testing.assert_allclose(host(xr.grad), np.sign(host(xr) * 3 - 1) * 3, rtol=1e-6)
    assert "require grad" in cf.stats["reason"] and cf.stats["captures"] == 4


def test_compile_reduce_overhead_module_forward_with_autograd():
    ct.manual_seed(1)
    lin = nn.Linear(4, 3)
    cm = ct.compile(lin, mode="reduce-overhead")
    x = ct.randn(2, 4)
    for _ in range(3):          # outputs need autograd (backward outside): captured once, then eager
        lin.zero_grad()
        out = cm(x)
        out.square().sum().backward()
        ref = x @ lin.weight.detach().t() + lin.bias.detach()
        np.testing.assert_allclose(host(out), host(ref), rtol=1e-6)
        np.testing.assert_allclose(host(lin.bias.grad), host(2 * ref.sum(0)), rtol=1e-5)
    assert "outputs require grad" in cm.stats["reason"]
    assert cm.stats["captures"] == 0


def test_compile_reduce_overhead_falls_back_on_host_reads():
    def f(x):
        return x * float(x.sum())
    cf = ct.compile(f, mode="reduce-overhead")
    x = ct.randn(4)
    for _ in range(3):
        np.testing.assert_allclose(host(cf(x)), host(f(x)), rtol=1e-6)
    assert "Tensor.__float__" in cf.stats["reason"] and cf.stats["captures"] == 0


def test_make_graphed_callables_forward_backward():
    ct.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))
    ref = copy.deepcopy(m)
    x = ct.randn(4, 6, requires_grad=True)
    gm = ct.cuda.make_graphed_callables(m, (x,), num_warmup_iters=1)
    for p in m.parameters():
        p.grad = None
    for _ in range(2):
        xi = ct.randn(4, 6, requires_grad=True)
        xr = xi.detach().clone().requires_grad_(True)
        out = gm(xi)
        outr = ref(xr)
        np.testing.assert_allclose(host(out), host(outr), rtol=1e-6, atol=1e-7)
        (out * out).sum().backward()
        (outr * outr).sum().backward()
        np.testing.assert_allclose(host(xi.grad), host(xr.grad), rtol=1e-5, atol=1e-7)
    for p, q in zip(m.parameters(), ref.parameters()):
        np.testing.assert_allclose(host(p.grad), host(q.grad), rtol=1e-5, atol=1e-6)
