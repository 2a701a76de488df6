"""nn.utils against torch: gradient clipping (every norm type, non-finite errors), parameter/vector conversion,
weight_norm and spectral_norm (hook and parametrization forms: values, gradients, state_dict keys, removal),
parametrize (registration, right_inverse, caching, removal, errors), functional_call, BatchNorm fusion."""
import math
import warnings

import numpy as np
import pytest

import cltensor as ct
import cltensor.nn as nn
from cltensor.nn.utils import parametrize as P
from _host import host

torch = pytest.importorskip("torch")

rng = np.random.default_rng(11)


def rn(*shape):
    return rng.standard_normal(shape)


def twin(make_t, make_c):
    """A torch module and a cltensor module with the same state (float64)."""
    tm = make_t().double()
    cm = make_c().double()
    cm.load_state_dict({k: ct.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, cm


def close(c, t, tol=1e-9):
    np.testing.assert_allclose(host(c), t.detach().numpy(), rtol=tol, atol=tol)


def _with_grads(shapes):
    ps_t, ps_c = [], []
    for s in shapes:
        a, g = rn(*s), rn(*s) * 3
        pt = torch.tensor(a, requires_grad=True)
        pt.grad = torch.tensor(g)
        pc = ct.tensor(a, requires_grad=True)
        pc.grad = ct.tensor(g)
        ps_t.append(pt)
        ps_c.append(pc)
    return ps_t, ps_c


@pytest.mark.fp64
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, 0.5])
def test_clip_grad_norm(norm_type):
    for max_norm in (0.5, 1e6):
        ps_t, ps_c = _with_grads([(3, 2), (4,), ()])
        rt = torch.nn.utils.clip_grad_norm_(ps_t, max_norm, norm_type)
        rc = nn.utils.clip_grad_norm_(ps_c, max_norm, norm_type, foreach=True)
        close(rc, rt)
        for a, b in zip(ps_c, ps_t):
            close(a.grad, b.grad)
    ps_t, ps_c = _with_grads([(3, 2), (4,)])
    close(nn.utils.get_total_norm([p.grad for p in ps_c], norm_type),
          torch.nn.utils.get_total_norm([p.grad for p in ps_t], norm_type))
    tot_t = torch.tensor(7.0, dtype=torch.float64)
    torch.nn.utils.clip_grads_with_norm_(ps_t, 2.0, tot_t)
    nn.utils.clip_grads_with_norm_(ps_c, 2.0, ct.tensor(7.0, dtype=ct.float64))
    for a, b in zip(ps_c, ps_t):
        close(a.grad, b.grad)


@pytest.mark.fp64
def test_clip_grad_misc():
    ps_t, ps_c = _with_grads([(3, 2), (4,)])
    torch.nn.utils.clip_grad_value_(ps_t, 0.7)
    nn.utils.clip_grad_value_(ps_c, 0.7)
    for a, b in zip(ps_c, ps_t):
        close(a.grad, b.grad)
    p = ct.tensor([1.0, 2.0], requires_grad=True)
    p.grad = ct.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from `parameters` is "
                                           "non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert float(nn.utils.clip_grad_norm_([ct.zeros(2, requires_grad=True)], 1.0)) == 0.0
    with pytest.warns(FutureWarning):
        nn.utils.clip_grad_norm(ps_c, 1.0)
    # parameters <-> vector
    v = nn.utils.parameters_to_vector(ps_c)
    close(v, torch.nn.utils.parameters_to_vector(ps_t))
    nn.utils.vector_to_parameters(v * 2, ps_c)
    torch.nn.utils.vector_to_parameters(torch.nn.utils.parameters_to_vector(ps_t) * 2, ps_t)
    for a, b in zip(ps_c, ps_t):
        close(a, b)
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
        nn.utils.vector_to_parameters([1.0], ps_c)


@pytest.mark.fp64
def test_weight_norm_hook_and_parametrization():
    x = rn(4, 3)
    for dim in (0, 1, None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tm, cm = twin(lambda: torch.nn.Linear(3, 2), lambda: nn.Linear(3, 2))
            tm = torch.nn.utils.weight_norm(tm, dim=dim)
            cm = nn.utils.weight_norm(cm, dim=dim)
        assert list(cm.state_dict()) == list(tm.state_dict())
        close(cm.weight_g, tm.weight_g)
        yt, yc = tm(torch.tensor(x)), cm(ct.tensor(x))
        close(yc, yt)
        yt.sum().backward(), yc.sum().backward()
        close(cm.weight_g.grad, tm.weight_g.grad)
        close(cm.weight_v.grad, tm.weight_v.grad)
        nn.utils.remove_weight_norm(cm), torch.nn.utils.remove_weight_norm(tm)
        assert list(cm.state_dict()) == list(tm.state_dict())
        close(cm.weight, tm.weight)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found in"):
        nn.utils.remove_weight_norm(nn.Linear(2, 2))
    # the parametrization form
    tm, cm = twin(lambda: torch.nn.Linear(3, 2), lambda: nn.Linear(3, 2))
    tm = torch.nn.utils.parametrizations.weight_norm(tm)
    cm = nn.utils.parametrizations.weight_norm(cm)
    assert list(cm.state_dict()) == list(tm.state_dict())
    assert repr(cm) == repr(tm).replace("torch.", "")
    yt, yc = tm(torch.tensor(x)), cm(ct.tensor(x))
    close(yc, yt)
    yt.sum().backward(), yc.sum().backward()
    for (k, a), (_, b) in zip(cm.named_parameters(), tm.named_parameters()):
        close(a.grad, b.grad)
    # old checkpoints (weight_g / weight_v) load into the parametrized module
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = nn.utils.weight_norm(nn.Linear(3, 2).double())
    cm.load_state_dict(old.state_dict())
    close(cm.weight, torch.tensor(host(old.weight)))


@pytest.mark.fp64
def test_spectral_norm_both_forms():
    x = rn(4, 3)
    tm, cm = twin(lambda: torch.nn.utils.spectral_norm(torch.nn.Linear(3, 5), n_power_iterations=2),
                  lambda: nn.utils.spectral_norm(nn.Linear(3, 5), n_power_iterations=2))
    assert list(cm.state_dict()) == list(tm.state_dict())
    for train in (True, True, False):
        tm.train(train), cm.train(train)
        yt, yc = tm(torch.tensor(x)), cm(ct.tensor(x))
        close(yc, yt)
        close(cm.weight_u, tm.weight_u)
    yt.sum().backward(), yc.sum().backward()
    close(cm.weight_orig.grad, tm.weight_orig.grad)
    nn.utils.remove_spectral_norm(cm), torch.nn.utils.remove_spectral_norm(tm)
    assert list(cm.state_dict()) == list(tm.state_dict())
    close(cm.weight, tm.weight)
    # the parametrization form: the buffers _u/_v are copied, then the same power iterations
    tm = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(3, 5).double())
    cm = nn.utils.parametrizations.spectral_norm(nn.Linear(3, 5).double())
    assert list(cm.state_dict()) == list(tm.state_dict())
    cm.load_state_dict({k: ct.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    for train in (True, False):
        tm.train(train), cm.train(train)
        yt, yc = tm(torch.tensor(x)), cm(ct.tensor(x))
        close(yc, yt)
    yt.sum().backward(), yc.sum().backward()
    close(cm.parametrizations.weight.original.grad, tm.parametrizations.weight.original.grad)


class _Sym(torch.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)

    def right_inverse(self, A):
        return A.triu()


class _CSym(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)

    def right_inverse(self, A):
        return A.triu()


class _Scale(nn.Module):
    def forward(self, X):
        return X * 2


@pytest.mark.fp64
def test_parametrize():
    tm, cm = twin(lambda: torch.nn.Linear(3, 3), lambda: nn.Linear(3, 3))
    torch.nn.utils.parametrize.register_parametrization(tm, "weight", _Sym())
    P.register_parametrization(cm, "weight", _CSym())
    assert type(cm).__name__ == "ParametrizedLinear" and P.type_before_parametrizations(cm) is nn.Linear
    assert P.is_parametrized(cm) and P.is_parametrized(cm, "weight") and not P.is_parametrized(cm, "bias")
    assert list(cm.state_dict()) == list(tm.state_dict()) == ["bias", "parametrizations.weight.original"]
    assert repr(cm).replace("_CSym", "_Sym") == repr(tm)
    close(cm.parametrizations.weight.original, tm.parametrizations.weight.original)
    close(cm.weight, tm.weight)
    x = rn(2, 3)
    yt, yc = tm(torch.tensor(x)), cm(ct.tensor(x))
    close(yc, yt)
    yt.sum().backward(), yc.sum().backward()
    close(cm.parametrizations.weight.original.grad, tm.parametrizations.weight.original.grad)
    # assignment goes through right_inverse
    a = rn(3, 3)
    a = a + a.T
    cm.weight = ct.tensor(a)
    close(cm.weight, torch.tensor(a))
    # cached: one evaluation per tensor
    calls = []
    P.register_parametrization(cm, "bias", type("_Count", (nn.Module,), {
        "forward": lambda self, b: (calls.append(1), b)[1]})())
    calls.clear()                                   # (registration evaluates it once to check the shape)
    with P.cached():
        cm.bias, cm.bias
    assert len(calls) == 1
    cm.bias
    assert len(calls) == 2
    P.register_parametrization(cm, "weight", _Scale(), unsafe=True)
    close(cm.weight, torch.tensor(a) * 2)
    P.remove_parametrizations(cm, "weight")
    close(cm.weight, torch.tensor(a) * 2)
    assert isinstance(cm.weight, nn.Parameter)
    P.remove_parametrizations(cm, "bias", leave_parametrized=False)
    assert type(cm) is nn.Linear and not hasattr(cm, "parametrizations")
    assert list(cm.state_dict()) == ["weight", "bias"]
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element with "
                                         "name 'zz'"):
        P.register_parametrization(cm, "zz", _Scale())
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        P.remove_parametrizations(cm, "weight")

    class _Bad(nn.Module):
        def forward(self, X):
            return X[:1]
    with pytest.raises(ValueError, match="Registering a parametrization may not change the shape of the tensor"):
        P.register_parametrization(cm, "weight", _Bad())


@pytest.mark.fp64
def test_functional_call():
    tm, cm = twin(lambda: torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2)),
                  lambda: nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)))
    w = rn(2, 3)
    x = rn(4, 3)
    pt = {"0.weight": torch.tensor(w, requires_grad=True), "1.running_mean": torch.ones(2, dtype=torch.float64)}
    pc = {"0.weight": ct.tensor(w, requires_grad=True), "1.running_mean": ct.ones(2, dtype=ct.float64)}
    tm.eval(), cm.eval()
    yt = torch.func.functional_call(tm, pt, (torch.tensor(x),))
    yc = ct.func.functional_call(cm, pc, (ct.tensor(x),))
    close(yc, yt)
    yt.sum().backward(), yc.sum().backward()
    close(pc["0.weight"].grad, pt["0.weight"].grad)
    assert cm[0].weight.grad is None
    close(cm[0].weight, tm[0].weight)                                   # restored
    close(cm[1].running_mean, tm[1].running_mean)
    with pytest.warns(FutureWarning, match="stateless.functional_call` is deprecated"):
        y2 = nn.utils.stateless.functional_call(cm, ({"0.weight": pc["0.weight"]}, {"0.bias": ct.zeros(2)}),
                                                ct.tensor(x))
    assert y2.shape == (4, 2)
    with pytest.raises(RuntimeError, match="Missing key"):
        ct.func.functional_call(cm, {"0.weight": pc["0.weight"]}, (ct.tensor(x),), strict=True)


@pytest.mark.fp64
def test_fusion_and_skip_init():
    tl, cl = twin(lambda: torch.nn.Linear(3, 4), lambda: nn.Linear(3, 4))
    tb, cb = twin(lambda: torch.nn.BatchNorm1d(4), lambda: nn.BatchNorm1d(4))
    with torch.no_grad(), ct.no_grad():
        for k in ("running_mean", "running_var", "weight", "bias"):
            v = np.abs(rn(4)) + 0.5
            getattr(tb, k).copy_(torch.tensor(v))
            getattr(cb, k).copy_(ct.tensor(v))
    for m in (tl, cl, tb, cb):
        m.eval()
    ft, fc = torch.nn.utils.fuse_linear_bn_eval(tl, tb), nn.utils.fuse_linear_bn_eval(cl, cb)
    close(fc.weight, ft.weight), close(fc.bias, ft.bias)
    assert isinstance(fc.weight, nn.Parameter)
    tc, cc = twin(lambda: torch.nn.Conv2d(2, 4, 3), lambda: nn.Conv2d(2, 4, 3))
    tc.eval(), cc.eval()
    ft, fc = torch.nn.utils.fuse_conv_bn_eval(tc, tb), nn.utils.fuse_conv_bn_eval(cc, cb)
    close(fc.weight, ft.weight), close(fc.bias, ft.bias)
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        nn.utils.fuse_conv_bn_eval(cc.train(), cb)
    m = nn.utils.skip_init(nn.Linear, 3, 5)
    assert m.weight.shape == (5, 3)


@pytest.mark.fp64
@pytest.mark.parametrize("shape,omap,triv", [((4, 4), None, True), ((3, 5), None, True), ((5, 3), "householder", True),
                                             ((4, 4), "householder", True), ((3, 5), "matrix_exp", True),
                                             ((4, 4), "cayley", True), ((5, 3), "cayley", True),
                                             ((4, 4), "householder", False), ((3, 5), "householder", False)])
def test_orthogonal(shape, omap, triv):
    tm, cm = twin(lambda: torch.nn.Linear(shape[1], shape[0]), lambda: nn.Linear(shape[1], shape[0]))
    torch.nn.utils.parametrizations.orthogonal(tm, orthogonal_map=omap, use_trivialization=triv)
    nn.utils.parametrizations.orthogonal(cm, orthogonal_map=omap, use_trivialization=triv)
    assert list(cm.state_dict()) == list(tm.state_dict())
    w = host(cm.weight)
    small = min(shape)
    np.testing.assert_allclose(w @ w.T if shape[0] <= shape[1] else w.T @ w, np.eye(small), atol=1e-12)
    if shape[0] == shape[1] or not triv:             # the QR of the weight: deterministic
        close(cm.weight, tm.weight)
    with torch.no_grad():                            # a non-trivial point of the map
        tm.parametrizations.weight.original.add_(torch.tensor(rn(*shape)) * 0.7)
    cm.load_state_dict({k: ct.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    close(cm.weight, tm.weight)
    g = rn(*shape)
    (tm.weight * torch.tensor(g)).sum().backward()
    (cm.weight * ct.tensor(g)).sum().backward()
    close(cm.parametrizations.weight.original.grad, tm.parametrizations.weight.original.grad)
    m = nn.utils.parametrizations.orthogonal(nn.Linear(2, 2), orthogonal_map="cayley", use_trivialization=False)
    with pytest.raises(NotImplementedError, match="Cayley parametrizations when use_trivialization=False"):
        m.weight = ct.eye(2)
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices"):
        nn.utils.parametrizations.orthogonal(nn.Linear(2, 2), "bias")
