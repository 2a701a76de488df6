"""cltensor.optim: optimizers against hand-computed numpy steps (and torch when installed), param_groups,
zero_grad, closures, state_dict round trips, and the learning-rate schedulers."""
import math

import numpy as np
import pytest

import cltensor as ct
import cltensor.nn as nn
import cltensor.optim as optim
from _host import host


def A(t):
    return t.detach()._to_numpy_copy()


rng = np.random.default_rng(7)


def run_steps(opt_cls, kw, grads, p0, dtype=ct.float32):
    p = nn.Parameter(ct.tensor(p0, dtype=dtype))
    o = opt_cls([p], **kw)
    for g in grads:
        p.grad = ct.tensor(g, dtype=dtype)
        o.step()
    return A(p), o


# ------------------------------------------------------------------ numpy references (PyTorch's algorithms)

def sgd_np(p, grads, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    p = p.astype(np.float64).copy()
    buf = None
    for g in grads:
        g = -g if maximize else g.astype(np.float64)
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p -= lr * g
    return p


def adam_np(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
            decoupled=False):
    p = p.astype(np.float64).copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    vmax = np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g.astype(np.float64)
        if weight_decay and decoupled:
            p *= 1 - lr * weight_decay
        elif weight_decay:
            g = g + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        bc1, bc2 = 1 - betas[0] ** t, 1 - betas[1] ** t
        if amsgrad:
            vmax = np.maximum(vmax, v)
            den = np.sqrt(vmax) / math.sqrt(bc2) + eps
        else:
            den = np.sqrt(v) / math.sqrt(bc2) + eps
        p -= lr / bc1 * m / den
    return p


def rmsprop_np(p, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False):
    p = p.astype(np.float64).copy()
    sq = np.zeros_like(p)
    ga = np.zeros_like(p)
    buf = np.zeros_like(p)
    for g in grads:
        g = g.astype(np.float64)
        if weight_decay:
            g = g + weight_decay * p
        sq = alpha * sq + (1 - alpha) * g * g
        if centered:
            ga = alpha * ga + (1 - alpha) * g
            avg = np.sqrt(sq - ga * ga) + eps
        else:
            avg = np.sqrt(sq) + eps
        if momentum:
            buf = momentum * buf + g / avg
            p -= lr * buf
        else:
            p -= lr * g / avg
    return p


P0 = rng.standard_normal((4, 3)).astype(np.float32)
GRADS = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(5)]


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True),
                                dict(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.01),
                                dict(lr=0.1, maximize=True, weight_decay=0.1)])
def test_sgd(kw):
    got, _ = run_steps(optim.SGD, kw, GRADS, P0)
    np.testing.assert_allclose(got, sgd_np(P0, GRADS, **kw), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw", [dict(lr=0.01), dict(lr=0.02, betas=(0.8, 0.9), eps=1e-6),
                                dict(lr=0.01, weight_decay=0.1, amsgrad=True), dict(lr=0.01, maximize=True)])
def test_adam(kw):
    got, o = run_steps(optim.Adam, kw, GRADS, P0)
    np.testing.assert_allclose(got, adam_np(P0, GRADS, **kw), rtol=1e-5, atol=1e-6)
    st = o.state[o.param_groups[0]["params"][0]]
    assert st["step"] == 5 and set(st) >= {"exp_avg", "exp_avg_sq"}


@pytest.mark.parametrize("kw", [dict(lr=0.01), dict(lr=0.01, weight_decay=0.3, amsgrad=True)])
def test_adamw(kw):
    got, _ = run_steps(optim.AdamW, kw, GRADS, P0)
    ref = adam_np(P0, GRADS, decoupled=True, **{"weight_decay": 1e-2, **kw})
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw", [dict(lr=0.01), dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1),
                                dict(lr=0.005, alpha=0.9, eps=1e-6)])
def test_rmsprop(kw):
    got, _ = run_steps(optim.RMSprop, kw, GRADS, P0)
    np.testing.assert_allclose(got, rmsprop_np(P0, GRADS, **kw), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cls,kw,ref", [
    (optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01), lambda p, gs: sgd_np(p, gs, 0.1, 0.9, 0, 0.01)),
    (optim.SGD, dict(lr=0.1, nesterov=True, momentum=0.5, maximize=True),
     lambda p, gs: sgd_np(p, gs, 0.1, 0.5, nesterov=True, maximize=True)),
    (optim.AdamW, dict(lr=0.01, amsgrad=True), lambda p, gs: adam_np(p, gs, 0.01, weight_decay=1e-2, amsgrad=True,
                                                                      decoupled=True)),
    (optim.Adam, dict(lr=0.01, weight_decay=0.1), lambda p, gs: adam_np(p, gs, 0.01, weight_decay=0.1))])
def test_many_parameters_per_launch(cls, kw, ref):
    """SGD and Adam update up to 8 parameters per launch (same results as one by one): 11 parameters of mixed
    sizes, one without a gradient in one step (its own Adam step count), one non-contiguous (updated alone)."""
    from cltensor import _kernels as K
    shapes = [(4, 3), (3,), (7,), (2, 2), (1,), (5, 5), (3, 3), (9,), (2,), (6,), (3, 4)]
    p0 = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(3)]
    ps = [nn.Parameter(ct.tensor(x)) for x in p0[:-1]]
    base = ct.tensor(np.ascontiguousarray(p0[-1].T))
    ps.append(base.t())                       # a transposed view: not contiguous
    ps[-1].requires_grad_(True)
    o = cls(ps, **kw)
    for step, gs in enumerate(grads):
        for i, (p, g) in enumerate(zip(ps, gs)):
            p.grad = None if (step == 1 and i == 2) else ct.tensor(g)
        n0 = K.stats["launches"]
        o.step()
        if step == 2:
            # 10 contiguous parameters in 2 launches, the view alone (copied in, updated, copied back); with
            # Adam, parameter 2 (one step behind) in a launch of its own
            assert K.stats["launches"] - n0 == (5 if cls is optim.SGD else 6)
    for i, p in enumerate(ps):
        gs = [g[i] for k, g in enumerate(grads) if not (k == 1 and i == 2)]
        np.testing.assert_allclose(A(p), ref(p0[i], gs), rtol=1e-5, atol=1e-6, err_msg=str(i))


@pytest.mark.fp64
def test_float64_and_float16_params():
    got, _ = run_steps(optim.Adam, dict(lr=0.01), GRADS, P0.astype(np.float64), ct.float64)
    np.testing.assert_allclose(got, adam_np(P0, GRADS, lr=0.01), rtol=1e-10, atol=1e-12)
    got16, _ = run_steps(optim.SGD, dict(lr=0.1, momentum=0.9), GRADS, P0, ct.float16)
    np.testing.assert_allclose(got16, sgd_np(P0, GRADS, 0.1, 0.9), rtol=1e-2, atol=1e-2)


def test_step_on_noncontiguous_param_and_skips_none_grads():
    base = ct.tensor(rng.standard_normal((3, 4)).astype(np.float32))
    p = base.t()                     # a transposed leaf view
    p.requires_grad_(True)
    q = nn.Parameter(ct.ones(2))
    o = optim.SGD([p, q], lr=0.5)
    g = rng.standard_normal((4, 3)).astype(np.float32)
    p.grad = ct.tensor(g)
    before = A(p)
    o.step()
    np.testing.assert_allclose(A(p), before - 0.5 * g, rtol=1e-6)
    np.testing.assert_allclose(A(q), [1, 1])       # no grad: untouched


def test_param_groups_lr_changes_zero_grad_closure():
    w = nn.Parameter(ct.ones(2))
    b = nn.Parameter(ct.ones(1))
    o = optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.0)
    assert o.param_groups[0]["lr"] == 0.1 and o.param_groups[1]["lr"] == 0.5
    assert o.param_groups[1]["momentum"] == 0.0
    w.grad = ct.ones(2)
    b.grad = ct.ones(1)
    o.step()
    np.testing.assert_allclose(A(w), [0.9, 0.9])
    np.testing.assert_allclose(A(b), [0.5])
    o.param_groups[0]["lr"] = 1.0           # changes take effect at the next step
    o.step()
    np.testing.assert_allclose(A(w), [-0.1, -0.1], atol=1e-7)
    o.zero_grad()
    assert w.grad is None and b.grad is None
    w.grad = ct.ones(2)
    o.zero_grad(set_to_none=False)
    np.testing.assert_allclose(A(w.grad), [0, 0])
    c = nn.Parameter(ct.zeros(3))
    o.add_param_group({"params": c, "lr": 0.3})
    assert len(o.param_groups) == 3 and o.param_groups[2]["momentum"] == 0.0
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        o.add_param_group({"params": [w]})
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Adam([w], lr=-1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([w * 2], lr=0.1)
    # closure re-evaluates the loss with grad enabled
    x = nn.Parameter(ct.tensor([3.0]))
    ox = optim.SGD([x], lr=0.25)

    def closure():
        ox.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss
    with ct.no_grad():
        loss = ox.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(A(x), [1.5])


def test_optimizer_state_dict_roundtrip():
    def make():
        ct.manual_seed(3)
        return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    x = ct.randn(8, 3)
    m1 = make()
    o1 = optim.Adam(m1.parameters(), lr=0.01, amsgrad=True)
    for _ in range(3):
        o1.zero_grad()
        m1(x).pow(2).mean().backward()
        o1.step()
    sd = o1.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sd["param_groups"][0]["params"] == [0, 1, 2, 3]
    assert sorted(sd["state"]) == [0, 1, 2, 3] and sd["state"][0]["step"] == 3
    m2 = make()
    m2.load_state_dict(m1.state_dict())
    o2 = optim.Adam(m2.parameters(), lr=0.5)
    o2.load_state_dict(sd)
    assert o2.param_groups[0]["lr"] == 0.01
    for o, m in ((o1, m1), (o2, m2)):
        o.zero_grad()
        m(x).pow(2).mean().backward()
        o.step()
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(A(p1), A(p2), rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        o2.load_state_dict({"state": {}, "param_groups": []})


def test_training_with_each_optimizer():
    for cls, kw in ((optim.SGD, dict(lr=0.05, momentum=0.9)), (optim.Adam, dict(lr=0.05)),
                    (optim.AdamW, dict(lr=0.05)), (optim.RMSprop, dict(lr=0.05)), (optim.Adagrad, dict(lr=0.5))):
        ct.manual_seed(0)
        m = nn.Linear(4, 1)
        x = ct.randn(32, 4)
        y = x @ ct.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.3
        o = cls(m.parameters(), **kw)
        first = None
        for _ in range(40):
            o.zero_grad()
            loss = nn.functional.mse_loss(m(x), y)
            loss.backward()
            o.step()
            first = first if first is not None else loss.item()
        assert loss.item() < 0.25 * first, cls.__name__


def test_against_torch():
    import torch
    cases = [(optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
             (optim.Adam, torch.optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
             (optim.AdamW, torch.optim.AdamW, dict(lr=0.01, maximize=True)),
             (optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
             (optim.Adagrad, torch.optim.Adagrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1))]
    for cls, tcls, kw in cases:
        p = nn.Parameter(ct.tensor(P0))
        pt = torch.nn.Parameter(torch.tensor(P0))
        o, ot = cls([p], **kw), tcls([pt], **kw)
        for g in GRADS:
            p.grad, pt.grad = ct.tensor(g), torch.tensor(g)
            o.step()
            ot.step()
        np.testing.assert_allclose(A(p), host(pt.detach()), rtol=1e-5, atol=1e-6, err_msg=cls.__name__)


# ------------------------------------------------------------------ schedulers

def _lrs(sched_fn, n, lr=1.0):
    p = nn.Parameter(ct.zeros(1))
    o = optim.SGD([p], lr=lr)
    s = sched_fn(o)
    out = [o.param_groups[0]["lr"]]
    for _ in range(n):
        o.step()
        s.step()
        out.append(o.param_groups[0]["lr"])
    assert s.get_last_lr() == [out[-1]]
    return out


def test_schedulers():
    lr = optim.lr_scheduler
    np.testing.assert_allclose(_lrs(lambda o: lr.StepLR(o, step_size=2, gamma=0.5), 5),
                               [1, 1, 0.5, 0.5, 0.25, 0.25])
    np.testing.assert_allclose(_lrs(lambda o: lr.MultiStepLR(o, milestones=[1, 3], gamma=0.1), 4),
                               [1, 0.1, 0.1, 0.01, 0.01])
    np.testing.assert_allclose(_lrs(lambda o: lr.ExponentialLR(o, gamma=0.9), 3), [1, 0.9, 0.81, 0.729])
    np.testing.assert_allclose(_lrs(lambda o: lr.LambdaLR(o, lambda e: 1 / (e + 1)), 3), [1, 1 / 2, 1 / 3, 1 / 4])
    T = 4
    got = _lrs(lambda o: lr.CosineAnnealingLR(o, T_max=T, eta_min=0.1), 8)
    ref = [0.1 + 0.9 * (1 + math.cos(math.pi * e / T)) / 2 for e in range(9)]
    np.testing.assert_allclose(got, ref, atol=1e-12)
    np.testing.assert_allclose(_lrs(lambda o: lr.LinearLR(o, start_factor=0.5, total_iters=2), 3),
                               [0.5, 0.75, 1.0, 1.0])


def test_schedulers_against_torch():
    import torch
    for make in (lambda m, o: m.lr_scheduler.CosineAnnealingLR(o, T_max=3, eta_min=0.01),
                 lambda m, o: m.lr_scheduler.StepLR(o, 3, 0.3),
                 lambda m, o: m.lr_scheduler.MultiStepLR(o, [2, 5], 0.5)):
        p, pt = nn.Parameter(ct.zeros(1)), torch.nn.Parameter(torch.zeros(1))
        o, ot = optim.SGD([p], lr=0.2), torch.optim.SGD([pt], lr=0.2)
        s, st = make(optim, o), make(torch.optim, ot)
        for _ in range(8):
            o.step()
            ot.step()
            s.step()
            st.step()
            assert o.param_groups[0]["lr"] == pytest.approx(ot.param_groups[0]["lr"], rel=1e-12, abs=1e-15)


def test_scheduler_state_dict_and_plateau():
    p = nn.Parameter(ct.zeros(1))
    o = optim.SGD([p], lr=1.0)
    s = optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5)
    o.step()
    s.step()
    sd = s.state_dict()
    assert sd["last_epoch"] == 1 and "optimizer" not in sd
    o2 = optim.SGD([nn.Parameter(ct.zeros(1))], lr=1.0)
    s2 = optim.lr_scheduler.StepLR(o2, step_size=1, gamma=0.5)
    s2.load_state_dict(sd)
    assert s2.last_epoch == 1
    r = optim.lr_scheduler.ReduceLROnPlateau(o, patience=1, factor=0.1)
    for v in (1.0, 1.0, 1.0):
        r.step(v)
    assert o.param_groups[0]["lr"] == pytest.approx(0.05)


@pytest.mark.parametrize("cls,kw,msg", [
    ("Adam", dict(lr=-1), "Invalid learning rate: -1"),
    ("Adam", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    ("AdamW", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    ("RMSprop", dict(alpha=-0.5), "Invalid alpha value: -0.5"),
    ("RMSprop", dict(momentum=-0.5, alpha=-1), "Invalid momentum value: -0.5"),
    ("Adagrad", dict(initial_accumulator_value=-1), "Invalid initial_accumulator_value value: -1"),
    ("Adagrad", dict(lr_decay=float("nan")), "Invalid lr_decay value: nan"),
])
def test_optimizer_argument_errors(cls, kw, msg):
    import cltensor as ct
    p = ct.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=msg.replace("(", r"\(")):
        getattr(ct.optim, cls)([p], **kw)
