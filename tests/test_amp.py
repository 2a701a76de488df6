"""cltensor.autocast and cltensor.amp.GradScaler against torch.autocast("cpu", float16) and
torch.amp.GradScaler("cpu"): the dtypes each op runs in, values and gradients of a small model, the loss-scale
sequence with inf/NaN steps skipped, state_dicts and errors."""
import numpy as np
import pytest

import cltensor as ct
from cltensor import nn
import cltensor.nn.functional as F
from _host import host

torch = pytest.importorskip("torch")


def _pair(shape, seed, dtype="float32"):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return ct.tensor(a), torch.tensor(a)


CASES = [
    ("matmul", lambda m, a, b, w: m.matmul(a, b)),
    ("mm", lambda m, a, b, w: m.mm(a, b)),
    ("@", lambda m, a, b, w: a @ b),
    ("method matmul", lambda m, a, b, w: a.matmul(b)),
    ("linear", lambda m, a, b, w: m.nn.functional.linear(a, w)),
    ("bmm", lambda m, a, b, w: m.bmm(a.unsqueeze(0), b.unsqueeze(0))),
    ("addmm", lambda m, a, b, w: m.addmm(a, a, b)),
    ("softmax f16 in", lambda m, a, b, w: m.softmax(a.half(), 1)),
    ("sum f16 in", lambda m, a, b, w: m.sum(a.half())),
    ("mse f16 in", lambda m, a, b, w: m.nn.functional.mse_loss(a.half(), b.half())),
    ("layer_norm f16 in", lambda m, a, b, w: m.nn.functional.layer_norm(a.half(), (4,))),
    ("exp stays", lambda m, a, b, w: m.exp(a)),
    ("relu stays f16", lambda m, a, b, w: m.relu(a.half())),
]


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_op_dtypes_match_torch_cpu_autocast(name, fn):
    (ca, ta), (cb, tb), (cw, tw) = _pair((4, 4), 0), _pair((4, 4), 1), _pair((3, 4), 2)
    with ct.autocast("cpu", dtype=ct.float16):
        r = fn(ct, ca, cb, cw)
    with torch.autocast("cpu", dtype=torch.float16):
        t = fn(torch, ta, tb, tw)
    assert str(r.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], name
    np.testing.assert_allclose(host(r.float()), t.float().numpy(), rtol=2e-3, atol=2e-3)


def test_conv_and_gpu_lists():
    x, w = ct.randn(2, 3, 8, 8), ct.randn(4, 3, 3, 3)
    with ct.autocast("cuda"):                           # the GPU lists: float16 by default
        assert F.conv2d(x, w).dtype is ct.float16
        assert ct.exp(x.half()).dtype is ct.float32     # exp is in the CUDA float32 list
        assert ct.addcmul(x.half(), x, x).dtype is ct.float32        # promote
        with ct.autocast("cuda", enabled=False):
            assert F.conv2d(x, w).dtype is ct.float32
            assert not ct.is_autocast_enabled()
        assert ct.is_autocast_enabled()
    assert not ct.is_autocast_enabled()
    assert ct.get_autocast_dtype("cuda") is ct.float16
    with ct.cuda.amp.autocast():
        assert ct.mm(x[0, 0], x[0, 0]).dtype is ct.float16


def test_functions_restored_outside_regions():
    before = (ct.matmul, ct.Tensor.__matmul__, F.linear, F.softmax, ct.sum)
    with ct.autocast("cuda"):
        assert ct.matmul is not before[0]
    assert (ct.matmul, ct.Tensor.__matmul__, F.linear, F.softmax, ct.sum) == before

    @ct.autocast("cuda")
    def f(a):
        return a @ a
    assert f(ct.ones(2, 2)).dtype is ct.float16
    assert ct.matmul is before[0]


def test_training_step_gradients_match_torch():
    ct.manual_seed(0)
    cm = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    tm = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    tm.load_state_dict({k: torch.tensor(host(v)) for k, v in cm.state_dict().items()})
    (cx, tx), (cy, ty) = _pair((5, 8), 3), _pair((5, 4), 4)
    with ct.autocast("cpu", dtype=ct.float16):
        closs = F.mse_loss(cm(cx), cy)
    with torch.autocast("cpu", dtype=torch.float16):
        tloss = torch.nn.functional.mse_loss(tm(tx), ty)
    assert closs.dtype is ct.float32 and tloss.dtype is torch.float32
    closs.backward()
    tloss.backward()
    for (n, p), q in zip(cm.named_parameters(), tm.parameters()):
        assert p.grad.dtype is ct.float32, n
        np.testing.assert_allclose(host(p.grad), q.grad.numpy(), rtol=2e-2, atol=2e-3)


def test_bfloat16_region_runs_in_bfloat16():
    x, w = ct.ones(2, 3), ct.ones(4, 3)
    with ct.autocast("cpu", dtype=torch.bfloat16) as ac:
        assert ac.fast_dtype is ct.bfloat16
        y = F.linear(x, w)
        assert y.dtype is ct.bfloat16 and y.tolist() == [[3.0] * 4] * 2
        assert F.mse_loss(y, y).dtype is ct.float32                  # (a float32 op of the CPU lists)
    with ct.autocast("cpu") as ac:                       # PyTorch's CPU default
        assert ac.fast_dtype is ct.bfloat16
    with pytest.raises(RuntimeError, match="unsupported autocast device_type"):
        ct.autocast("tpu")


def _run_scaler(mod, opt_cls, grads, params, **kw):
    p = mod.tensor(params.copy(), requires_grad=True)
    opt = opt_cls([p], lr=0.1)
    s = (ct.amp.GradScaler if mod is ct else torch.amp.GradScaler)("cpu", **kw)
    scales, values = [], []
    for g in grads:
        loss = s.scale((p * mod.tensor(g)).sum())
        opt.zero_grad()
        loss.backward()
        s.step(opt)
        s.update()
        scales.append(s.get_scale())
        values.append(np.array(host(p.detach()) if mod is ct else p.detach().numpy(), copy=True))
    return scales, values, s.state_dict()


def test_grad_scaler_matches_torch():
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal(6).astype(np.float32) for _ in range(12)]
    grads[3][2] = np.inf
    grads[7][0] = np.nan
    params = rng.standard_normal(6).astype(np.float32)
    kw = dict(init_scale=1024.0, growth_interval=3)
    cs, cv, csd = _run_scaler(ct, ct.optim.SGD, grads, params, **kw)
    ts, tv, tsd = _run_scaler(torch, torch.optim.SGD, grads, params, **kw)
    assert cs == ts
    for a, b in zip(cv, tv):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert csd == tsd


def test_unscale_layouts_dtypes_and_errors():
    from conftest import device_has_fp64
    s = ct.amp.GradScaler(init_scale=4.0)
    p = ct.zeros(4, 6, requires_grad=True)
    q = ct.zeros(5, dtype=ct.float64 if device_has_fp64() else ct.float32, requires_grad=True)
    opt = ct.optim.SGD([p, q], lr=1.0)
    s.scale(ct.tensor(1.0))
    p.grad = (ct.arange(48.0).reshape(6, 8)[:, ::2].T * 4)        # non-contiguous
    q.grad = ct.full((5,), 8.0, dtype=q.dtype)
    s.unscale_(opt)
    np.testing.assert_array_equal(host(p.grad), np.arange(48.0).reshape(6, 8)[:, ::2].T)
    np.testing.assert_array_equal(host(q.grad), np.full(5, 2.0))
    with pytest.raises(RuntimeError, match="already been called"):
        s.unscale_(opt)
    s.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        s.step(opt)
    s.update()
    h = ct.zeros(3, dtype=ct.float16, requires_grad=True)
    h.grad = ct.ones(3, dtype=ct.float16)
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
        s.unscale_(ct.optim.SGD([h], lr=1.0))
    with pytest.raises(AssertionError, match="growth factor"):
        ct.amp.GradScaler(growth_factor=0.5)
    s2 = ct.amp.GradScaler()
    s2.load_state_dict(s.state_dict())
    assert s2.state_dict() == s.state_dict()
    off = ct.amp.GradScaler(enabled=False)
    assert off.scale(ct.tensor(3.0)).item() == 3.0 and off.state_dict() == {} and off.get_scale() == 1.0


def test_gradscaler_finds_inf_in_one_kernel_per_gradient():
    from cltensor import _kernels as K
    s = ct.amp.GradScaler(init_scale=2.0)
    ps = [ct.zeros(1000, requires_grad=True) for _ in range(3)]
    opt = ct.optim.SGD(ps, lr=1.0)
    s.scale(ct.tensor(1.0))
    for i, p in enumerate(ps):
        p.grad = ct.ones(1000)
    ps[1].grad[999] = float("inf")
    before = K.stats["launches"]
    s.unscale_(opt)
    assert K.stats["launches"] - before == 3 + 1      # one per gradient, plus zeroing the found-inf flag
    s.step(opt)
    s.update()
    assert s.get_scale() == 1.0
    np.testing.assert_array_equal(host(ps[0].detach()), np.zeros(1000))             # the step was skipped
