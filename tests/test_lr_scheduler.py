"""Every learning-rate scheduler against PyTorch's: get_last_lr() (and momentum / betas for the cyclic ones) after
each of many steps, two parameter groups, state_dict round trips in the middle of a schedule, composite schedulers
and argument errors."""
import math
import pickle
import warnings

import pytest
import torch

import cltensor as ct
import cltensor.nn as nn
import cltensor.optim as optim
from _host import host



@pytest.fixture(autouse=True, scope="module")
def _torch_one_thread():
    """torch's reference ops are tiny: one thread avoids its thread pool's wake-up cost on a loaded machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

def _opt(lib, kind="SGD"):
    mod = ct if lib == "ct" else torch
    ps = [nn.Parameter(ct.zeros(2)), nn.Parameter(ct.zeros(1))] if lib == "ct" else \
        [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(1))]
    if kind == "SGD":
        return mod.optim.SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.5}], lr=0.1, momentum=0.9)
    return mod.optim.Adam([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.5}], lr=0.1)


def _lam(e):
    return 0.95 ** e


def _mul(e):
    return 0.9


def _sched(lib, name, o, **kw):
    m = (optim if lib == "ct" else torch.optim).lr_scheduler
    if name == "SequentialLR":
        return m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=4), m.ExponentialLR(o, gamma=0.9),
                                  m.StepLR(o, step_size=3, gamma=0.5)], milestones=[5, 12])
    if name == "ChainedScheduler":
        return m.ChainedScheduler([m.ConstantLR(o, factor=0.5, total_iters=3), m.ExponentialLR(o, gamma=0.95),
                                   m.CosineAnnealingLR(o, T_max=7)])
    return getattr(m, name)(o, **kw)


CASES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ConstantLR", dict(factor=0.25, total_iters=4)),
    ("LinearLR", dict(start_factor=0.2, end_factor=0.9, total_iters=6)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
    ("PolynomialLR", dict(total_iters=8, power=2.0)),
    ("PolynomialLR", dict(total_iters=4)),
    ("LambdaLR", dict(lr_lambda=_lam)),
    ("LambdaLR", dict(lr_lambda=[_lam, lambda e: 1 / (e + 1)])),
    ("MultiplicativeLR", dict(lr_lambda=_mul)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.001)),
    ("CosineAnnealingWarmRestarts", dict(T_0=4)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3)),
    ("CyclicLR", dict(base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=2, step_size_down=5, mode="triangular2")),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4, mode="exp_range", gamma=0.9)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4, cycle_momentum=False,
                      scale_fn=lambda x: 0.5 ** x, scale_mode="iterations")),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=30)),
    ("OneCycleLR", dict(max_lr=[1.0, 2.0], epochs=3, steps_per_epoch=10, anneal_strategy="linear",
                        three_phase=True, pct_start=0.25)),
    ("SequentialLR", {}),
    ("ChainedScheduler", {}),
]
N = 30


def _momenta(o):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in o.param_groups]


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_against_torch(name, kw, kind):
    o, to = _opt("ct", kind), _opt("torch", kind)
    s, ts = _sched("ct", name, o, **kw), _sched("torch", name, to, **kw)
    assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12, abs=1e-15)
    for i in range(N - 1):
        o.step()
        to.step()
        s.step()
        ts.step()
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12, abs=1e-15), (name, i)
        assert [g["lr"] for g in o.param_groups] == pytest.approx([g["lr"] for g in to.param_groups], rel=1e-12)
        assert _momenta(o) == pytest.approx(_momenta(to), rel=1e-12)
        if i == 10:
            # round trip: a fresh optimizer and scheduler resume from the state dicts
            sd, osd = s.state_dict(), o.state_dict()
            assert set(sd) == set(ts.state_dict()), name
            pickle.dumps({k: v for k, v in sd.items() if k not in ("_scale_fn_ref",)})
            o = _opt("ct", kind)
            s = _sched("ct", name, o, **kw)
            o.load_state_dict(osd)
            s.load_state_dict(sd)


def test_plateau_against_torch():
    metrics = [1.0, 0.9, 0.9, 0.95, 0.9, 0.91, 0.92, 0.5, 0.5, 0.5, 0.5, 0.5, 0.49, 0.5, 0.5, 0.5, 0.5]
    for kw in (dict(patience=1, factor=0.5), dict(mode="max", patience=2, cooldown=2, threshold_mode="abs",
                                                  threshold=0.01, min_lr=[0.01, 0.2])):
        o, to = _opt("ct"), _opt("torch")
        s = optim.lr_scheduler.ReduceLROnPlateau(o, **kw)
        ts = torch.optim.lr_scheduler.ReduceLROnPlateau(to, **kw)
        for i, m in enumerate(metrics):
            s.step(m)
            ts.step(m)
            assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
            if i == 8:
                sd = s.state_dict()
                assert sorted(sd) == sorted(ts.state_dict())
                s = optim.lr_scheduler.ReduceLROnPlateau(o, **kw)
                s.load_state_dict(sd)
        assert isinstance(s, optim.lr_scheduler.LRScheduler)


def test_step_with_epoch_closed_forms():
    for name, kw in (("StepLR", dict(step_size=3, gamma=0.5)), ("PolynomialLR", dict(total_iters=8)),
                     ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2)),
                     ("CosineAnnealingWarmRestarts", dict(T_0=3))):
        o, to = _opt("ct"), _opt("torch")
        s, ts = _sched("ct", name, o, **kw), _sched("torch", name, to, **kw)
        for e in (4, 7, 2, 13.5 if name.startswith("Cosine") else 13):
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                s.step(e)
                ours = [str(x.message) for x in w]
                del w[:]
                ts.step(e)
                assert ours == [str(x.message) for x in w]
            assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12), (name, e)


@pytest.mark.parametrize("make,err,msg", [
    (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "Expected positive integer T_0"),
    (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError, "Expected integer T_mult >= 1"),
    (lambda m, o: m.OneCycleLR(o, max_lr=1.0), ValueError, "You must define either total_steps OR"),
    (lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1.5), ValueError,
     "Expected float between 0 and 1 pct_start"),
    (lambda m, o: m.OneCycleLR(o, max_lr=[1.0], total_steps=10), ValueError, "max_lr must have the same length"),
    (lambda m, o: m.CyclicLR(o, 0.1, 1.0, mode="nope"), ValueError, "mode is invalid and scale_fn is None"),
    (lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2)], milestones=[3]), ValueError,
     "Sequential Schedulers expects number of schedulers"),
    (lambda m, o: m.SequentialLR(o, [], milestones=[]), ValueError, "expects at least one scheduler"),
    (lambda m, o: m.ChainedScheduler([m.StepLR(o, 2), m.ReduceLROnPlateau(o)]), ValueError,
     "does not support `ReduceLROnPlateau`"),
])
def test_errors(make, err, msg):
    for lib in ("torch", "ct"):
        o = _opt(lib)
        m = (optim if lib == "ct" else torch.optim).lr_scheduler
        with pytest.raises(err, match=msg.replace("(", r"\(")):
            make(m, o)


def test_onecycle_too_many_steps_and_cyclic_needs_momentum():
    o = _opt("ct")
    s = optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=3)
    for _ in range(3):
        o.step()
        s.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        s.step()
    p = nn.Parameter(ct.zeros(1))
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        optim.lr_scheduler.CyclicLR(optim.Adagrad([p]), 0.01, 0.1)
    assert math.isclose(optim.lr_scheduler.CyclicLR(optim.Adagrad([p]), 0.01, 0.1, cycle_momentum=False)
                        .get_last_lr()[0], 0.01)


@pytest.mark.parametrize("name,kw", [("StepLR", dict(step_size=2, gamma=0.5)), ("CosineAnnealingLR", dict(T_max=4)),
                                     ("OneCycleLR", dict(max_lr=0.5, total_steps=12))])
def test_tensor_lr_filled_in_place(name, kw):
    """A tensor lr stays the same tensor (filled in place) and the optimizer steps with its value."""
    p, tp = nn.Parameter(ct.ones(2)), torch.nn.Parameter(torch.ones(2))
    lr, tlr = ct.tensor(0.1), torch.tensor(0.1)
    o, to = optim.Adam([p], lr=lr), torch.optim.Adam([tp], lr=tlr)
    s = getattr(optim.lr_scheduler, name)(o, **kw)
    ts = getattr(torch.optim.lr_scheduler, name)(to, **kw)
    for _ in range(10):
        p.grad, tp.grad = ct.ones(2), torch.ones(2)
        o.step()
        to.step()
        s.step()
        ts.step()
        assert o.param_groups[0]["lr"] is lr
        assert [float(v) for v in s.get_last_lr()] == pytest.approx([float(v) for v in ts.get_last_lr()], rel=1e-6)
    assert host(p.detach()) == pytest.approx(tp.detach().numpy(), rel=5e-5)   # float32 lr tensors
