"""Every optimizer against PyTorch's, step by step: the same parameters (two tensors, one of them a strided view
of a bigger leaf is not allowed by torch, so plain leaves) and the same fixed random gradient sequence for 20 steps,
for every combination of its options; parameters and every state entry compared after each step. Also state_dict
layouts and cross-library loading (torch -> cltensor and back), LBFGS on Rosenbrock, SparseAdam's error."""
import itertools

import numpy as np
import pytest
import torch

import cltensor as ct
import cltensor.nn as nn
import cltensor.optim as optim
from _host import host

STEPS = 20
_rng = np.random.default_rng(11)
P0 = [_rng.standard_normal((5, 3)), _rng.standard_normal((7,))]
GRADS = [[_rng.standard_normal(p.shape) for p in P0] for _ in range(STEPS)]
# Rprop needs exact zeros and sign flips in the gradient product: plant some
for s, gs in enumerate(GRADS):
    gs[1][s % 7] = 0.0



@pytest.fixture(autouse=True, scope="module")
def _torch_one_thread():
    """torch's reference ops are tiny: one thread avoids its thread pool's wake-up cost on a loaded machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

def _grid(**opts):
    keys = list(opts)
    return [dict(zip(keys, vals)) for vals in itertools.product(*(opts[k] for k in keys))]


CASES = {
    "SGD": _grid(lr=[0.05], momentum=[0, 0.9], dampening=[0, 0.2], weight_decay=[0, 0.1], nesterov=[False, True],
                 maximize=[False, True]),
    "Adam": _grid(lr=[0.01], weight_decay=[0, 0.1], amsgrad=[False, True], maximize=[False, True],
                  decoupled_weight_decay=[False, True]),
    "AdamW": _grid(lr=[0.01], betas=[(0.8, 0.9)], weight_decay=[0, 0.1], amsgrad=[False, True],
                   maximize=[False, True]),
    "RMSprop": _grid(lr=[0.01], momentum=[0, 0.5], centered=[False, True], weight_decay=[0, 0.1],
                     maximize=[False, True]),
    "Adagrad": _grid(lr=[0.1], lr_decay=[0, 0.01], weight_decay=[0, 0.1], initial_accumulator_value=[0, 0.2],
                     maximize=[False, True]),
    "Adadelta": _grid(lr=[1.0, 0.5], rho=[0.9], weight_decay=[0, 0.1], maximize=[False, True]),
    "Adamax": _grid(lr=[0.01], betas=[(0.9, 0.999), (0.5, 0.9)], weight_decay=[0, 0.1], maximize=[False, True]),
    "NAdam": _grid(lr=[0.01], weight_decay=[0, 0.1], momentum_decay=[4e-3, 0.1], decoupled_weight_decay=[False, True],
                   maximize=[False, True]),
    "RAdam": _grid(lr=[0.01], betas=[(0.9, 0.999), (0.9, 0.5)], weight_decay=[0, 0.1],
                   decoupled_weight_decay=[False, True], maximize=[False, True]),
    "Rprop": _grid(lr=[0.01], etas=[(0.5, 1.2), (0.3, 1.5)], step_sizes=[(1e-6, 50), (1e-3, 0.02)],
                   maximize=[False, True]),
    "Adafactor": _grid(lr=[0.01, 0.5], eps=[(None, 1e-3), (1e-3, 0.1)], d=[1.0, 1.5],
                       weight_decay=[0, 0.1], maximize=[False, True]),
    "ASGD": _grid(lr=[0.01, 0.5], lambd=[1e-4, 0.1], alpha=[0.75], t0=[1e6, 5], weight_decay=[0, 0.1],
                  maximize=[False, True]),
}
PARAMS = [(name, kw) for name, grid in CASES.items() for kw in grid]


def _ids(case):
    name, kw = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kw.items())


def _compare_state(st, tst, name, step):
    assert set(st) == set(tst), (name, set(st), set(tst))
    for k, tv in tst.items():
        v = st[k]
        tv = tv.detach().numpy() if isinstance(tv, torch.Tensor) else np.asarray(tv)
        v = host(v) if isinstance(v, ct.Tensor) else np.asarray(v)
        np.testing.assert_allclose(v, tv, rtol=2e-5, atol=2e-6, err_msg=f"{name} state {k} step {step}")


@pytest.mark.parametrize("case", PARAMS, ids=[_ids(c) for c in PARAMS])
def test_step_by_step_against_torch(case):
    name, kw = case
    ps = [nn.Parameter(ct.tensor(p, dtype=ct.float32)) for p in P0]
    tps = [torch.nn.Parameter(torch.tensor(p, dtype=torch.float32)) for p in P0]
    try:
        to = getattr(torch.optim, name)(tps, **kw)
    except ValueError as e:          # an invalid combination: the same error
        with pytest.raises(ValueError, match=str(e)):
            getattr(optim, name)(ps, **kw)
        return
    o = getattr(optim, name)(ps, **kw)
    for step, gs in enumerate(GRADS):
        for p, tp, g in zip(ps, tps, gs):
            p.grad, tp.grad = ct.tensor(g, dtype=ct.float32), torch.tensor(g, dtype=torch.float32)
        o.step()
        to.step()
        for i, (p, tp) in enumerate(zip(ps, tps)):
            np.testing.assert_allclose(host(p.detach()), tp.detach().numpy(), rtol=2e-5, atol=2e-6,
                                       err_msg=f"{name} param {i} step {step}")
            if step in (0, STEPS - 1):
                _compare_state(o.state[p], to.state[tp], name, step)


# ------------------------------------------------------------------ float64 parameters, one option set each
F64 = [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
       ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)), ("AdamW", dict(lr=0.01)),
       ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)), ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
       ("Adadelta", dict(weight_decay=0.1)), ("Adamax", dict(lr=0.01, weight_decay=0.1)),
       ("NAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1)), ("RAdam", dict(lr=0.01)),
       ("Rprop", dict(lr=0.01, maximize=True)), ("ASGD", dict(lr=0.5, lambd=0.1, t0=5)),
       ("Adafactor", dict(lr=0.5, beta2_decay=-0.5, weight_decay=0.1))]


@pytest.mark.fp64
@pytest.mark.parametrize("name,kw", F64, ids=[c[0] for c in F64])
def test_float64_against_torch(name, kw):
    ps = [nn.Parameter(ct.tensor(p, dtype=ct.float64)) for p in P0]
    tps = [torch.nn.Parameter(torch.tensor(p, dtype=torch.float64)) for p in P0]
    o, to = getattr(optim, name)(ps, **kw), getattr(torch.optim, name)(tps, **kw)
    for gs in GRADS:
        for p, tp, g in zip(ps, tps, gs):
            p.grad, tp.grad = ct.tensor(g, dtype=ct.float64), torch.tensor(g, dtype=torch.float64)
        o.step()
        to.step()
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(host(p.detach()), tp.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("name,kw", F64, ids=[c[0] for c in F64])
def test_float16_against_torch(name, kw):
    """float16 parameters and state (the kernels compute in float): torch's float16 steps to half precision."""
    ps = [nn.Parameter(ct.tensor(p, dtype=ct.float16)) for p in P0]
    tps = [torch.nn.Parameter(torch.tensor(p, dtype=torch.float16)) for p in P0]
    o, to = getattr(optim, name)(ps, **kw), getattr(torch.optim, name)(tps, **kw)
    for gs in GRADS[:10]:
        for p, tp, g in zip(ps, tps, gs):
            p.grad, tp.grad = ct.tensor(g, dtype=ct.float16), torch.tensor(g, dtype=torch.float16)
        o.step()
        to.step()
    for p, tp in zip(ps, tps):
        assert p.dtype == ct.float16
        got, ref = host(p.detach()).astype(np.float32), tp.detach().float().numpy()
        # torch's half-precision eps (1e-8 -> 0) turns a zero gradient into 0/0 = nan; the kernels compute in float
        assert np.isfinite(got).all()
        ok = np.isfinite(ref)
        np.testing.assert_allclose(got[ok], ref[ok], rtol=0, atol=1e-2, err_msg=name)


# ------------------------------------------------------------------ state_dict layout and cross-library loading
def _to_torch(v):
    if isinstance(v, ct.Tensor):
        return torch.from_numpy(host(v).copy())
    if isinstance(v, dict):
        return {k: _to_torch(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_to_torch(x) for x in v]
    return v


def _to_ct(v):
    if isinstance(v, torch.Tensor):
        return ct.tensor(v.detach().numpy())
    if isinstance(v, dict):
        return {k: _to_ct(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_to_ct(x) for x in v]
    return v


SD_CASES = F64 + [("SGD", dict(lr=0.1)), ("NAdam", dict(lr=0.01)), ("ASGD", dict(lr=0.01)),
                  ("Adam", dict(lr=0.01, maximize=True))]


def _run(o, ps, lib, steps):
    for gs in steps:
        for p, g in zip(ps, gs):
            p.grad = ct.tensor(g, dtype=ct.float32) if lib == "ct" else torch.tensor(g, dtype=torch.float32)
        o.step()


@pytest.mark.parametrize("name,kw", SD_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(SD_CASES)])
def test_state_dict_layout_and_cross_loading(name, kw):
    def make(lib):
        if lib == "ct":
            ps = [nn.Parameter(ct.tensor(p, dtype=ct.float32)) for p in P0]
            return ps, getattr(optim, name)([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.02}], **kw)
        ps = [torch.nn.Parameter(torch.tensor(p, dtype=torch.float32)) for p in P0]
        return ps, getattr(torch.optim, name)([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.02}], **kw)
    ps, o = make("ct")
    tps, to = make("torch")
    _run(o, ps, "ct", GRADS[:3])
    _run(to, tps, "torch", GRADS[:3])
    sd, tsd = o.state_dict(), to.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    assert sorted(sd["state"]) == sorted(tsd["state"]) == ([] if kw.get("momentum", 1) == 0 or name == "SGD" and
                                                           "momentum" not in kw else [0, 1])
    for i in tsd["state"]:
        assert list(sd["state"][i]) == list(tsd["state"][i])
        for k, tv in tsd["state"][i].items():
            v = sd["state"][i][k]
            assert isinstance(v, ct.Tensor) and tuple(v.shape) == tuple(tv.shape), (k, v)
            assert str(v.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], (k, v.dtype, tv.dtype)
            np.testing.assert_allclose(host(v), tv.numpy(), rtol=2e-5, atol=2e-6, err_msg=k)
    # torch's state dict into a fresh cltensor optimizer, ours into a fresh torch one; both continue like the
    # originals
    ps2, o2 = make("ct")
    tps2, to2 = make("torch")
    for p, tp in zip(ps2, tps):
        with ct.no_grad():
            p.copy_(ct.tensor(tp.detach().numpy()))
    with torch.no_grad():
        for p, tp in zip(ps, tps2):
            tp.copy_(torch.from_numpy(host(p.detach()).copy()))
    o2.load_state_dict(_to_ct(tsd))
    to2.load_state_dict(_to_torch(sd))
    for gs in GRADS[3:8]:
        for lib, opt, params in (("ct", o2, ps2), ("torch", to2, tps2), ("ct", o, ps), ("torch", to, tps)):
            _run(opt, params, lib, [gs])
    for a, b, ta, tb in zip(ps, ps2, tps, tps2):
        np.testing.assert_allclose(host(b.detach()), ta.detach().numpy(), rtol=2e-5, atol=2e-6)
        np.testing.assert_allclose(tb.detach().numpy(), host(a.detach()), rtol=2e-5, atol=2e-6)


# ------------------------------------------------------------------ argument errors, SparseAdam
@pytest.mark.parametrize("name,kw", [
    ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(eps=-1.0)), ("Adadelta", dict(lr=-0.1)),
    ("Adamax", dict(betas=(1.0, 0.9))), ("Adamax", dict(betas=(0.9, -0.1))), ("Adamax", dict(weight_decay=-1)),
    ("NAdam", dict(momentum_decay=-1)), ("NAdam", dict(eps=-1)), ("RAdam", dict(weight_decay=-1)),
    ("Rprop", dict(etas=(1.5, 1.2))), ("Rprop", dict(lr=-1)), ("ASGD", dict(weight_decay=-1)),
    ("SparseAdam", dict(lr=0.0)), ("SparseAdam", dict(eps=0.0)), ("LBFGS", dict(lr=-1)),
    ("Adafactor", dict(beta2_decay=0.5)), ("Adafactor", dict(eps=(-1, 1e-3))), ("Adafactor", dict(d=0.5)),
])
def test_argument_errors_like_torch(name, kw):
    with pytest.raises(ValueError) as te:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw)
    with pytest.raises(ValueError, match=str(te.value).replace("(", r"\(").replace(")", r"\)")):
        getattr(optim, name)([ct.zeros(2, requires_grad=True)], **kw)


def test_sparse_adam_refuses_dense_gradients():
    tp = torch.nn.Parameter(torch.ones(3))
    to = torch.optim.SparseAdam([tp])
    tp.grad = torch.ones(3)
    with pytest.raises(RuntimeError) as te:
        to.step()
    p = nn.Parameter(ct.ones(3))
    o = optim.SparseAdam([p])
    p.grad = ct.ones(3)
    with pytest.raises(RuntimeError, match=str(te.value)):
        o.step()
    assert o.defaults == to.defaults


# ------------------------------------------------------------------ LBFGS
def _rosen(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def _lbfgs_traj(lib, dt, steps, **kw):
    m = ct if lib == "ct" else torch
    x = m.tensor(np.array([-1.5, 2.0, -0.5, 1.2, 0.3]), dtype=getattr(m, dt), requires_grad=True)
    o = m.optim.LBFGS([x], **kw)

    def closure():
        o.zero_grad()
        loss = _rosen(x)
        loss.backward()
        return loss
    out, losses = [], []
    for _ in range(steps):
        losses.append(o.step(closure).item())
        out.append(host(x.detach()).copy() if lib == "ct" else x.detach().numpy().copy())
    return np.array(out), losses, o.state[x]


@pytest.mark.fp64
@pytest.mark.parametrize("kw", [dict(lr=0.1, max_iter=5, history_size=4),
                                dict(lr=1, max_iter=5, history_size=4, line_search_fn="strong_wolfe"),
                                dict(lr=1, max_iter=20, history_size=100, line_search_fn="strong_wolfe")])
def test_lbfgs_rosenbrock_step_by_step(kw):
    ours, lo, st = _lbfgs_traj("ct", "float64", 20, **kw)
    ref, lr_, tst = _lbfgs_traj("torch", "float64", 20, **kw)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(lo, lr_, rtol=1e-9, atol=1e-12)
    assert st["func_evals"] == tst["func_evals"] and st["n_iter"] == tst["n_iter"]
    assert len(st["old_dirs"]) == len(tst["old_dirs"])
    assert lo[-1] < 2e-3 * lo[0]     # 5-d Rosenbrock: from 2261 to its local minimum near (-1, 1, 1, 1, 1)


@pytest.mark.parametrize("ls", [None, "strong_wolfe"])
def test_lbfgs_float32_first_steps(ls):
    kw = dict(lr=1 if ls else 0.1, max_iter=5, history_size=4, line_search_fn=ls)
    ours, _, _ = _lbfgs_traj("ct", "float32", 3, **kw)
    ref, _, _ = _lbfgs_traj("torch", "float32", 3, **kw)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)


def test_lbfgs_errors_and_state_dict():
    a, b = nn.Parameter(ct.ones(2)), nn.Parameter(ct.ones(2))
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        optim.LBFGS([{"params": [a]}, {"params": [b]}])
    o = optim.LBFGS([a, b], line_search_fn="wolfe")

    def closure():
        o.zero_grad()
        loss = (a * a).sum() + (b * 3).sum()
        loss.backward()
        return loss
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        o.step(closure)
    o = optim.LBFGS([a, b], max_iter=3)
    o.step(closure)
    sd = o.state_dict()
    ta, tb = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    to = torch.optim.LBFGS([ta, tb], max_iter=3)

    def tclosure():
        to.zero_grad()
        loss = (ta * ta).sum() + (tb * 3).sum()
        loss.backward()
        return loss
    to.step(tclosure)
    tsd = to.state_dict()
    assert sd["param_groups"] == tsd["param_groups"] and set(sd["state"]) == set(tsd["state"]) == {0}
    assert list(sd["state"][0]) == list(tsd["state"][0])
    assert sd["state"][0]["n_iter"] == tsd["state"][0]["n_iter"]
    np.testing.assert_allclose(host(b.detach()), tb.detach().numpy(), rtol=1e-6)


# ------------------------------------------------------------------ swa_utils
def _pair_models():
    ct.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    tm.load_state_dict({k: torch.from_numpy(host(v).copy()) for k, v in m.state_dict().items()})
    return m, tm


def _perturb(m, tm, seed):
    r = np.random.default_rng(seed)
    with ct.no_grad(), torch.no_grad():
        for p, tp in zip(m.parameters(), tm.parameters()):
            d = r.standard_normal(tuple(p.shape)).astype(np.float32)
            p.add_(ct.tensor(d))
            tp.add_(torch.tensor(d))
        x = r.standard_normal((6, 3)).astype(np.float32)
    m.train()
    tm.train()
    m(ct.tensor(x))
    tm(torch.tensor(x))


@pytest.mark.parametrize("mode", ["swa", "ema_multi", "ema_fn", "swa_fn", "ema_buffers"])
def test_averaged_model_against_torch(mode):
    S, TS = optim.swa_utils, torch.optim.swa_utils
    m, tm = _pair_models()
    kw = {"swa": lambda s: {}, "ema_multi": lambda s: dict(multi_avg_fn=s.get_ema_multi_avg_fn(0.9)),
          "ema_fn": lambda s: dict(avg_fn=s.get_ema_avg_fn(0.8)), "swa_fn": lambda s: dict(avg_fn=s.get_swa_avg_fn()),
          "ema_buffers": lambda s: dict(multi_avg_fn=s.get_ema_multi_avg_fn(0.7), use_buffers=True)}[mode]
    a, ta = S.AveragedModel(m, **kw(S)), TS.AveragedModel(tm, **kw(TS))
    for i in range(4):
        _perturb(m, tm, i)
        a.update_parameters(m)
        ta.update_parameters(tm)
    sd, tsd = a.state_dict(), ta.state_dict()
    assert list(sd) == list(tsd)
    for k in tsd:
        np.testing.assert_allclose(host(sd[k]), tsd[k].numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    x = np.random.default_rng(9).standard_normal((5, 3)).astype(np.float32)
    a.eval()
    ta.eval()
    np.testing.assert_allclose(host(a(ct.tensor(x)).detach()), ta(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-5)


def test_update_bn_and_swalr_against_torch():
    m, tm = _pair_models()
    r = np.random.default_rng(3)
    xs = [r.standard_normal((4, 3)).astype(np.float32) for _ in range(3)]
    m.eval()
    tm.eval()
    optim.swa_utils.update_bn([(ct.tensor(x), 0) for x in xs], m)
    torch.optim.swa_utils.update_bn([(torch.tensor(x), 0) for x in xs], tm)
    assert not m.training and m[1].momentum == 0.1
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(host(m.state_dict()[k]), v.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    for kw in (dict(swa_lr=0.05, anneal_epochs=5), dict(swa_lr=[0.05, 0.01], anneal_epochs=3, anneal_strategy="linear"),
               dict(swa_lr=0.02, anneal_epochs=0)):
        p, tp = nn.Parameter(ct.zeros(1)), torch.nn.Parameter(torch.zeros(1))
        o = optim.SGD([{"params": [p]}, {"params": [nn.Parameter(ct.zeros(1))], "lr": 0.3}], lr=0.5)
        to = torch.optim.SGD([{"params": [tp]}, {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.3}], lr=0.5)
        s, ts = optim.swa_utils.SWALR(o, **kw), torch.optim.swa_utils.SWALR(to, **kw)
        for i in range(8):
            assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12), (kw, i)
            o.step()
            to.step()
            s.step()
            ts.step()
        s2 = optim.swa_utils.SWALR(optim.SGD([nn.Parameter(ct.zeros(1))] * 1, lr=0.5), swa_lr=0.05)
        s2.load_state_dict(s.state_dict())
        assert s2.anneal_func is s2._cosine_anneal or kw.get("anneal_strategy") == "linear"
    with pytest.raises(ValueError, match="anneal_strategy must be one of"):
        optim.swa_utils.SWALR(o, 0.1, anneal_strategy="x")
    with pytest.raises(ValueError, match="Invalid decay value"):
        optim.swa_utils.get_ema_multi_avg_fn(1.5)


def test_time_series_lbfgs_example():
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, os.path.join(root, "examples", "time_series_lbfgs.py"), "--steps", "2",
                        "--no-torch"], env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    last = [line for line in p.stdout.splitlines() if line.startswith("cltensor held-out mse")][-1]
    assert float(last.split()[3]) < 0.02        # two LBFGS steps already get close to the 0.015 target


# ------------------------------------------------------------------ Muon
@pytest.mark.parametrize("kw", [dict(lr=0.02), dict(lr=0.02, nesterov=False, weight_decay=0),
                                dict(lr=0.02, weight_decay=0, adjust_lr_fn="match_rms_adamw"),
                                dict(lr=0.02, nesterov=False, adjust_lr_fn="original", momentum=0.5)])
def test_muon_against_torch(kw, monkeypatch):
    shapes = [(5, 3), (3, 6)]
    r = np.random.default_rng(5)
    p0 = [r.standard_normal(s) for s in shapes]
    grads = [[r.standard_normal(s) for s in shapes] for _ in range(STEPS)]
    ps = [nn.Parameter(ct.tensor(p, dtype=ct.float32)) for p in p0]
    tps = [torch.nn.Parameter(torch.tensor(p, dtype=torch.float32)) for p in p0]
    bps = [torch.nn.Parameter(torch.tensor(p, dtype=torch.float32)) for p in p0]
    o, bo = optim.Muon(ps, **kw), torch.optim.Muon(bps, **kw)   # bo: torch as is (bfloat16 iteration)
    for step, gs in enumerate(grads):
        for p, g in zip(ps, gs):
            p.grad = ct.tensor(g, dtype=ct.float32)
        for p, g in zip(bps, gs):
            p.grad = torch.tensor(g, dtype=torch.float32)
        o.step()
        bo.step()
    with monkeypatch.context() as m:
        # torch's Muon with its Newton-Schulz iteration in float32 instead of bfloat16, as cltensor runs it
        m.setattr(torch.Tensor, "bfloat16", lambda t: t.to(torch.float32, copy=True))
        to = torch.optim.Muon(tps, **kw)
        for gs in grads:
            for p, g in zip(tps, gs):
                p.grad = torch.tensor(g, dtype=torch.float32)
            to.step()
    for p, tp, bp in zip(ps, tps, bps):
        np.testing.assert_allclose(host(p.detach()), tp.detach().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(host(p.detach()), bp.detach().numpy(), rtol=0, atol=0.05)
    assert o.state_dict()["param_groups"] == to.state_dict()["param_groups"]
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        optim.Muon([nn.Parameter(ct.zeros(3))])


# ------------------------------------------------------------------ hooks
def test_step_and_state_dict_hooks_like_torch():
    from cltensor.optim.optimizer import register_optimizer_step_pre_hook
    logs = {}
    for lib in ("ct", "torch"):
        m = ct if lib == "ct" else torch
        p = m.zeros(2, requires_grad=True)
        o = m.optim.Adam([p], lr=0.1)
        log = logs[lib] = []
        h1 = o.register_step_pre_hook(lambda opt, a, k: log.append(("pre", len(a), sorted(k))))
        o.register_step_post_hook(lambda opt, a, k: log.append(("post", type(opt).__name__)))
        o.register_state_dict_pre_hook(lambda opt: log.append("sd_pre"))
        o.register_state_dict_post_hook(lambda opt, sd: dict(sd, extra=1))
        o.register_load_state_dict_pre_hook(lambda opt, sd: {k: v for k, v in sd.items() if k != "extra"})
        o.register_load_state_dict_post_hook(lambda opt: log.append("loaded"))
        p.grad = m.ones(2)
        o.step()
        h1.remove()
        o.step()
        sd = o.state_dict()
        log.append(sorted(sd))
        o.load_state_dict(sd)
        if lib == "ct":
            with pytest.raises(RuntimeError, match="must return None or a tuple"):
                h = register_optimizer_step_pre_hook(lambda opt, a, k: 5)
                try:
                    o.step()
                finally:
                    h.remove()
    assert logs["ct"] == logs["torch"]


@pytest.mark.parametrize("name,kw", F64[:-1] + [("Adagrad", dict(lr=0.1, initial_accumulator_value=0.3))],
                         ids=[c[0] for c in F64[:-1]] + ["Adagrad-init"])
def test_complex64_against_torch(name, kw):
    """Complex parameters update as their (real, imag) pairs, as in PyTorch (Adafactor refuses them there too)."""
    r = np.random.default_rng(2)
    p0 = [(r.standard_normal(s) + 1j * r.standard_normal(s)).astype(np.complex64) for s in [(4, 3), (5,)]]
    ps = [nn.Parameter(ct.tensor(p)) for p in p0]
    tps = [torch.nn.Parameter(torch.tensor(p)) for p in p0]
    o, to = getattr(optim, name)(ps, **kw), getattr(torch.optim, name)(tps, **kw)
    for _ in range(STEPS):
        gs = [(r.standard_normal(p.shape) + 1j * r.standard_normal(p.shape)).astype(np.complex64) for p in p0]
        for p, tp, g in zip(ps, tps, gs):
            p.grad, tp.grad = ct.tensor(g), torch.tensor(g)
        o.step()
        to.step()
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(host(p.detach()), tp.detach().numpy(), rtol=2e-5, atol=2e-6, err_msg=name)


@pytest.mark.fp64
def test_lbfgs_complex_and_refusals():
    r = np.random.default_rng(4)
    a0 = (r.standard_normal(3) + 1j * r.standard_normal(3))
    res = []
    for m in (ct, torch):
        z = m.tensor(a0, dtype=m.complex128, requires_grad=True)
        o = m.optim.LBFGS([z], lr=1, max_iter=6, line_search_fn="strong_wolfe")

        def closure():
            o.zero_grad()
            loss = ((z - 1j).abs() ** 2).sum() + (z.real ** 4).sum()
            loss.backward()
            return loss
        for _ in range(3):
            o.step(closure)
        res.append(host(z.detach()).copy() if m is ct else z.detach().numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=1e-9, atol=1e-10)
    for name in ("Adafactor", "Muon"):
        z = nn.Parameter(ct.ones(2, 2, dtype=ct.complex64))
        z.grad = ct.ones(2, 2, dtype=ct.complex64)
        with pytest.raises(RuntimeError, match=f"{name} does not support complex parameters"):
            getattr(optim, name)([z]).step()
