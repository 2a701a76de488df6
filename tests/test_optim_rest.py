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
    "ASGD": _grid(lr=[0.01, 0.5], lambd=[1e-4, 0.1], alpha=[0.75], t0=[1e6, 5], weight_decay=[0, 0.1],
                  maximize=[False, True]),
}
PARAMS = [(name, kw) for name, grid in CASES.items() for kw in grid]


def _ids(case):
    name, kw = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kw.items() if k != "lr" or len(CASES[name]) == 1)


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
