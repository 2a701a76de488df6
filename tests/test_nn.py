"""cltensor.nn: Module mechanics, layers and losses against numpy references (forward and backward), gradcheck in
float64, torch cross-checks with copied weights (when torch is installed), and a short training run."""
import copy
import math
from collections import OrderedDict

import numpy as np
import pytest

import cltensor as ct
import cltensor.nn as nn
import cltensor.nn.functional as F
from cltensor.autograd import gradcheck
from _host import host


def T(a, dtype=None, requires_grad=False):
    return ct.tensor(np.asarray(a), dtype=dtype, requires_grad=requires_grad)


def A(t):
    return t.detach()._to_numpy_copy()


def close(a, b, tol=1e-5):
    a = A(a) if isinstance(a, ct.Tensor) else np.asarray(a)
    np.testing.assert_allclose(a, np.asarray(b), rtol=tol, atol=tol)


rng = np.random.default_rng(1234)


def rnd(*shape, dtype=np.float32, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


# ================================================================================================ numpy references

def conv2d_np(x, w, b, stride, pad, dil, groups):
    N, C, H, W = x.shape
    O, Cg, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    OH = (H + 2 * pad[0] - dil[0] * (KH - 1) - 1) // stride[0] + 1
    OW = (W + 2 * pad[1] - dil[1] * (KW - 1) - 1) // stride[1] + 1
    out = np.zeros((N, O, OH, OW), np.float64)
    Og = O // groups
    for g in range(groups):
        xs = xp[:, g * Cg:(g + 1) * Cg]
        ws = w[g * Og:(g + 1) * Og]
        for i in range(KH):
            for j in range(KW):
                patch = xs[:, :, i * dil[0]: i * dil[0] + stride[0] * (OH - 1) + 1: stride[0],
                           j * dil[1]: j * dil[1] + stride[1] * (OW - 1) + 1: stride[1]]
                out[:, g * Og:(g + 1) * Og] += np.einsum("nchw,oc->nohw", patch, ws[:, :, i, j])
    if b is not None:
        out += b[None, :, None, None]
    return out


def conv2d_np_grads(x, w, g, stride, pad, dil, groups):
    """gradients of sum(conv(x, w) * g) by autodiff of the numpy reference's structure."""
    N, C, H, W = x.shape
    O, Cg, KH, KW = w.shape
    OH, OW = g.shape[2:]
    gxp = np.zeros((N, C, H + 2 * pad[0], W + 2 * pad[1]))
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    gw = np.zeros(w.shape)
    Og = O // groups
    for gi in range(groups):
        for i in range(KH):
            for j in range(KW):
                sl = (slice(None), slice(gi * Cg, (gi + 1) * Cg),
                      slice(i * dil[0], i * dil[0] + stride[0] * (OH - 1) + 1, stride[0]),
                      slice(j * dil[1], j * dil[1] + stride[1] * (OW - 1) + 1, stride[1]))
                gg = g[:, gi * Og:(gi + 1) * Og]
                gxp[sl] += np.einsum("nohw,oc->nchw", gg, w[gi * Og:(gi + 1) * Og, :, i, j])
                gw[gi * Og:(gi + 1) * Og, :, i, j] += np.einsum("nohw,nchw->oc", gg, xp[sl])
    gx = gxp[:, :, pad[0]:pad[0] + H, pad[1]:pad[1] + W]
    return gx, gw, g.sum((0, 2, 3))


def pool_windows(x, k, s, p, d, ceil_mode, fill):
    N, C, H, W = x.shape

    def osz(n, kk, pp, ss, dd):
        o = (n + 2 * pp - dd * (kk - 1) - 1 + ((ss - 1) if ceil_mode else 0)) // ss + 1
        if ceil_mode and (o - 1) * ss >= n + pp:
            o -= 1
        return o
    OH, OW = osz(H, k[0], p[0], s[0], d[0]), osz(W, k[1], p[1], s[1], d[1])
    big = np.full((N, C, H + 2 * p[0] + k[0] * d[0] + s[0] * OH, W + 2 * p[1] + k[1] * d[1] + s[1] * OW), fill)
    big[:, :, p[0]:p[0] + H, p[1]:p[1] + W] = x
    wins = np.empty((N, C, OH, OW, k[0] * k[1]))
    for i in range(k[0]):
        for j in range(k[1]):
            wins[..., i * k[1] + j] = big[:, :, i * d[0]: i * d[0] + s[0] * OH: s[0], j * d[1]: j * d[1] + s[1] * OW: s[1]]
    return wins


def log_softmax_np(x, axis):
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


# ================================================================================================ Module mechanics

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.bn = nn.BatchNorm1d(3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 2, bias=False)
        self.register_buffer("steps", ct.zeros(()))
        self.register_buffer("scratch", ct.zeros(2), persistent=False)
        self.scale = nn.Parameter(ct.ones(1))
        self.not_registered = ct.zeros(1)

    def forward(self, x):
        return self.fc2(self.act(self.bn(self.fc1(x)))) * self.scale


def test_registration_and_traversal():
    m = Net()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight"]
    assert [n for n, _ in m.named_buffers()] == ["steps", "scratch", "bn.running_mean", "bn.running_var",
                                                 "bn.num_batches_tracked"]
    assert [n for n, _ in m.named_children()] == ["fc1", "bn", "act", "fc2"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "bn", "act", "fc2"]
    assert len(list(m.parameters())) == 6 and len(list(m.modules())) == 5
    assert isinstance(m.fc1.weight, nn.Parameter) and isinstance(m.fc1.weight, ct.Tensor)
    assert not isinstance(m.not_registered, nn.Parameter)
    assert m.fc2.bias is None
    # reassignment moves between registries; deleting works
    m.act = nn.Tanh()
    assert isinstance(m._modules["act"], nn.Tanh)
    del m.scale
    assert "scale" not in dict(m.named_parameters())
    with pytest.raises(TypeError):
        m.fc1.weight = ct.zeros(3, 4)         # a plain tensor cannot replace a parameter
    with pytest.raises(AttributeError):
        m.does_not_exist
    m.add_module("extra", nn.Identity())
    assert m.get_submodule("extra") is m.extra
    m.register_parameter("p2", nn.Parameter(ct.zeros(2)))
    assert m.get_parameter("p2") is m.p2


def test_state_dict_keys_and_roundtrip():
    m = Net()
    sd = m.state_dict()
    assert list(sd.keys()) == ["scale", "steps", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias",
                               "bn.running_mean", "bn.running_var", "bn.num_batches_tracked", "fc2.weight"]
    assert not sd["fc1.weight"].requires_grad and not isinstance(sd["fc1.weight"], nn.Parameter)
    m2 = Net()
    r = m2.load_state_dict(sd)
    assert r.missing_keys == [] and r.unexpected_keys == [] and repr(r) == "<All keys matched successfully>"
    for k, v in m2.state_dict().items():
        close(v, A(sd[k]))
    # strict errors
    bad = OrderedDict(sd)
    del bad["fc1.bias"]
    bad["foo.bar"] = ct.zeros(1)
    with pytest.raises(RuntimeError) as e:
        m2.load_state_dict(bad)
    msg = str(e.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:")
    assert 'Missing key(s) in state_dict: "fc1.bias".' in msg and 'Unexpected key(s) in state_dict: "foo.bar".' in msg
    r = m2.load_state_dict(bad, strict=False)
    assert r.missing_keys == ["fc1.bias"] and r.unexpected_keys == ["foo.bar"]
    assert type(r).__name__ == "_IncompatibleKeys" and r._fields == ("missing_keys", "unexpected_keys")
    wrong = OrderedDict(sd)
    wrong["fc1.weight"] = ct.zeros(5, 4)
    with pytest.raises(RuntimeError, match="size mismatch for fc1.weight"):
        m2.load_state_dict(wrong)
    # load keeps parameter identity (copies in place)
    w = m2.fc1.weight
    m2.load_state_dict(sd)
    assert m2.fc1.weight is w


def test_train_eval_zero_grad_requires_grad_apply():
    m = Net()
    assert m.training and m.bn.training
    m.eval()
    assert not m.training and not m.bn.training and not m.fc1.training
    m.train()
    assert m.bn.training
    out = m(ct.randn(5, 4)).sum()
    out.backward()
    assert m.fc1.weight.grad is not None
    m.zero_grad()
    assert m.fc1.weight.grad is None
    m(ct.randn(5, 4)).sum().backward()
    m.zero_grad(set_to_none=False)
    close(m.fc1.weight.grad, np.zeros((3, 4)))
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "BatchNorm1d", "ReLU", "Linear", "Net"]


@pytest.mark.fp64
def test_to_dtype_keeps_identity():
    m = Net()
    w = m.fc1.weight
    m.double()
    assert m.fc1.weight is w and w.dtype == ct.float64 and isinstance(w, nn.Parameter) and w.requires_grad
    assert m.bn.running_mean.dtype == ct.float64 and m.bn.num_batches_tracked.dtype == ct.int64
    m.to(ct.float32)
    assert w.dtype == ct.float32
    m.to("cpu").cpu().to(ct.get_default_device()).float()      # moves keep the Parameters (there and back)
    assert m.fc1.weight is w and w.device == ct.get_default_device()
    out = m(ct.randn(3, 4))
    assert out.dtype == ct.float32
    m.half()
    assert w.dtype == ct.float16
    with pytest.raises(TypeError):
        m.to(ct.int32)


def test_hooks():
    m = nn.Linear(3, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, inp: calls.append("pre") or (inp[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, inp, out: calls.append("post") or out + 1)
    out = m(ct.randn(4, 3))
    assert calls == ["pre", "post"]
    close(out, np.broadcast_to(A(m.bias) + 1, (4, 2)))
    h1.remove()
    h2.remove()
    calls.clear()
    m(ct.randn(4, 3))
    assert calls == []


def test_repr():
    assert repr(nn.Linear(10, 1)) == "Linear(in_features=10, out_features=1, bias=True)"
    s = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                      nn.Sequential(nn.Flatten(), nn.Linear(128, 10, bias=False)), nn.Dropout(0.5))
    assert repr(s) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)\n"
        "  (2): ReLU(inplace=True)\n"
        "  (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  (4): Sequential(\n"
        "    (0): Flatten(start_dim=1, end_dim=-1)\n"
        "    (1): Linear(in_features=128, out_features=10, bias=False)\n"
        "  )\n"
        "  (5): Dropout(p=0.5, inplace=False)\n"
        ")")
    ml = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU()])
    assert repr(ml) == ("ModuleList(\n  (0-1): 2 x Linear(in_features=2, out_features=2, bias=True)\n"
                        "  (2): ReLU()\n)")
    assert repr(nn.GELU(approximate="tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.LayerNorm(10)) == "LayerNorm((10,), eps=1e-05, elementwise_affine=True, bias=True)"
    assert repr(nn.Embedding(10, 3, padding_idx=0)) == "Embedding(10, 3, padding_idx=0)"
    assert repr(nn.Conv2d(4, 4, 3, groups=2, padding="same", bias=False, dilation=2)) == \
        "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=same, dilation=(2, 2), groups=2, bias=False)"
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    p = nn.Parameter(ct.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"

    class My(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(1, 1)

        def extra_repr(self):
            return "hello"
    assert repr(My()) == "My(\n  hello\n  (body): Linear(in_features=1, out_features=1, bias=True)\n)"


def test_containers():
    l1, l2, l3 = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(l1, l2, l3)
    assert len(s) == 3 and s[0] is l1 and s[-1] is l3 and list(s) == [l1, l2, l3]
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[0] is l2
    s.append(nn.Sigmoid())
    assert len(s) == 4 and isinstance(s[3], nn.Sigmoid)
    del s[3]
    assert len(s) == 3
    od = nn.Sequential(OrderedDict([("fc", l1), ("act", l2)]))
    assert od.fc is l1 and [n for n, _ in od.named_children()] == ["fc", "act"]
    assert list(od.state_dict().keys()) == ["fc.weight", "fc.bias"]
    x = ct.randn(5, 2)
    close(s(x), A(l3(l2(l1(x)))))
    with pytest.raises(IndexError):
        s[5]
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.Linear(2, 1))
    assert len(ml) == 4 and len(list(ml.parameters())) == 8
    md = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    assert list(md.keys()) == ["a", "b"] and "a" in md and len(list(md.parameters())) == 2
    pl = nn.ParameterList([nn.Parameter(ct.zeros(2)), ct.ones(3)])
    assert len(pl) == 2 and all(isinstance(p, nn.Parameter) for p in pl)
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pd = nn.ParameterDict({"w": ct.zeros(2)})
    assert isinstance(pd["w"], nn.Parameter) and list(dict(pd.named_parameters())) == ["w"]


def test_parameter_and_buffer_semantics():
    p = nn.Parameter(ct.randn(3))
    assert p.requires_grad and p.is_leaf and isinstance(p, ct.Tensor)
    q = nn.Parameter(ct.randn(3), requires_grad=False)
    assert not q.requires_grad
    y = (p * 2).sum()
    assert not isinstance(p * 2, nn.Parameter)
    y.backward()
    close(p.grad, [2, 2, 2])
    with pytest.raises(RuntimeError):
        nn.Parameter(ct.tensor([1, 2]))
    c = copy.deepcopy(p)
    assert isinstance(c, nn.Parameter) and c is not p
    close(c, A(p))
    m = Net()
    m2 = copy.deepcopy(m)
    close(m2.fc1.weight, A(m.fc1.weight))
    assert m2.fc1.weight is not m.fc1.weight


# ================================================================================================ layers vs numpy

CONV_CASES = [
    dict(N=2, C=3, H=7, W=6, O=4, k=(3, 3), stride=(1, 1), pad=(1, 1), dil=(1, 1), groups=1),
    dict(N=2, C=4, H=9, W=8, O=6, k=(3, 2), stride=(2, 1), pad=(1, 0), dil=(1, 2), groups=2),
    dict(N=1, C=2, H=5, W=5, O=3, k=(1, 1), stride=(1, 1), pad=(0, 0), dil=(1, 1), groups=1),
    dict(N=3, C=4, H=6, W=7, O=4, k=(3, 3), stride=(2, 3), pad=(1, 1), dil=(2, 1), groups=4),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_forward_backward_numpy(case):
    c = case
    xn = rnd(c["N"], c["C"], c["H"], c["W"])
    wn = rnd(c["O"], c["C"] // c["groups"], *c["k"], scale=0.5)
    bn = rnd(c["O"])
    x, w, b = T(xn, requires_grad=True), T(wn, requires_grad=True), T(bn, requires_grad=True)
    y = F.conv2d(x, w, b, c["stride"], c["pad"], c["dil"], c["groups"])
    ref = conv2d_np(xn.astype(np.float64), wn, bn, c["stride"], c["pad"], c["dil"], c["groups"])
    close(y, ref, 1e-4)
    g = rnd(*ref.shape)
    y.backward(T(g))
    gx, gw, gb = conv2d_np_grads(xn.astype(np.float64), wn.astype(np.float64), g, c["stride"], c["pad"], c["dil"],
                                 c["groups"])
    close(x.grad, gx, 1e-4)
    close(w.grad, gw, 1e-4)
    close(b.grad, gb, 1e-4)


def test_conv2d_layouts_and_padding_modes():
    xn = rnd(2, 6, 5, 3)
    wn = rnd(4, 3, 3, 3, scale=0.5)
    # non-contiguous input: a channel-stepped slice of a transposed tensor
    base = T(np.ascontiguousarray(xn.transpose(0, 1, 3, 2)))
    xs = base.transpose(2, 3)[:, ::2]
    close(F.conv2d(xs, T(wn), padding=1), conv2d_np(xn[:, ::2], wn, None, (1, 1), (1, 1), (1, 1), 1), 1e-4)
    # 'same' with an even kernel pads asymmetrically (extra on the right/bottom), 'valid' = 0
    w2 = rnd(2, 6, 2, 4)
    y = F.conv2d(T(xn), T(w2), padding="same")
    assert y.shape == (2, 2, 5, 3)
    ref = conv2d_np(np.pad(xn, ((0, 0), (0, 0), (0, 1), (1, 2))), w2, None, (1, 1), (0, 0), (1, 1), 1)
    close(y, ref, 1e-4)
    w3 = rnd(2, 6, 2, 2)
    close(F.conv2d(T(xn), T(w3), padding="valid"), conv2d_np(xn, w3, None, (1, 1), (0, 0), (1, 1), 1), 1e-4)
    # unbatched input
    w4 = rnd(4, 6, 3, 3)
    close(F.conv2d(T(xn[0]), T(w4), padding=1), conv2d_np(xn[:1], w4, None, (1, 1), (1, 1), (1, 1), 1)[0], 1e-4)
    # module with padding_mode
    m = nn.Conv2d(6, 2, 3, padding=1, padding_mode="circular")
    xc = np.concatenate([xn[:, :, -1:], xn, xn[:, :, :1]], 2)
    xc = np.concatenate([xc[..., -1:], xc, xc[..., :1]], 3)
    close(m(T(xn)), conv2d_np(xc, A(m.weight), A(m.bias), (1, 1), (0, 0), (1, 1), 1), 1e-4)
    # conv1d through the same kernels
    x1 = rnd(2, 3, 10)
    w1 = rnd(4, 3, 3)
    y1 = F.conv1d(T(x1), T(w1), stride=2, padding=1)
    close(y1, conv2d_np(x1[:, :, None], w1[:, :, None], None, (1, 2), (0, 1), (1, 1), 1)[:, :, 0], 1e-4)


@pytest.mark.fp64
def test_conv2d_errors():
    x = ct.randn(2, 3, 8, 8)
    with pytest.raises(RuntimeError, match="expected input\\[2, 3, 8, 8\\] to have 2 channels"):
        F.conv2d(x, ct.randn(4, 2, 3, 3))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input size"):
        F.conv2d(ct.randn(2, 3, 2, 2), ct.randn(4, 3, 3, 3))
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided convolutions"):
        F.conv2d(x, ct.randn(4, 3, 3, 3), padding="same", stride=2)
    with pytest.raises(RuntimeError, match="Expected 3D \\(unbatched\\) or 4D \\(batched\\) input to conv2d"):
        F.conv2d(ct.randn(3, 8), ct.randn(4, 3, 3, 3))
    with pytest.raises(RuntimeError, match="expected scalar type Double but found Float"):
        F.conv2d(x.double(), ct.randn(4, 3, 3, 3))


@pytest.mark.fp64
def test_conv2d_gradcheck_float64():
    x = ct.randn(1, 2, 4, 5, dtype=ct.float64, requires_grad=True)
    w = ct.randn(2, 1, 2, 3, dtype=ct.float64, requires_grad=True)
    b = ct.randn(2, dtype=ct.float64, requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1, dilation=(2, 1), groups=2),
                     (x, w, b))


@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2),
                                dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2),
                                     ceil_mode=True)])
def test_max_pool2d(kw):
    xn = rnd(2, 3, 9, 7)
    x = T(xn, requires_grad=True)
    y, ind = F.max_pool2d(x, return_indices=True, **kw)
    k = kw["kernel_size"] if isinstance(kw["kernel_size"], tuple) else (kw["kernel_size"],) * 2
    s = kw.get("stride", k)
    s = s if isinstance(s, tuple) else (s, s)
    p = kw.get("padding", 0)
    p = p if isinstance(p, tuple) else (p, p)
    d = kw.get("dilation", 1)
    d = d if isinstance(d, tuple) else (d, d)
    wins = pool_windows(xn, k, s, p, d, kw.get("ceil_mode", False), -np.inf)
    close(y, wins.max(-1))
    assert ind.dtype == ct.int64
    # the index points at the max inside each plane
    flat = xn.reshape(2, 3, -1)
    close(np.take_along_axis(flat, A(ind).reshape(2, 3, -1), 2).reshape(A(y).shape), A(y))
    g = rnd(*A(y).shape)
    y.backward(T(g))
    gx = np.zeros_like(flat)
    ii = A(ind).reshape(2, 3, -1)
    for a in range(2):
        for b_ in range(3):
            np.add.at(gx[a, b_], ii[a, b_], g[a, b_].reshape(-1))
    close(x.grad, gx.reshape(xn.shape))
    m = nn.MaxPool2d(**kw)
    close(m(T(xn)), A(y))


def test_max_pool_nan_and_errors():
    x = ct.tensor([[[[1.0, float("nan")], [3.0, 2.0]]]])
    assert math.isnan(F.max_pool2d(x, 2).item())
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size"):
        F.max_pool2d(ct.randn(1, 1, 8, 8), 3, padding=2)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.max_pool2d(ct.randn(2, 3, 1, 1), 2)


@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
                                dict(kernel_size=2, divisor_override=3)])
def test_avg_pool2d(kw, has_fp64):
    xn = rnd(2, 2, 7, 8)
    x = T(xn, requires_grad=True)
    y = F.avg_pool2d(x, **kw)
    k, s, p = (kw["kernel_size"],) * 2, (kw.get("stride", kw["kernel_size"]),) * 2, (kw.get("padding", 0),) * 2
    wins = pool_windows(xn, k, s, p, (1, 1), kw.get("ceil_mode", False), np.nan)
    # PyTorch's divisor: window clipped to the padded input (count_include_pad) or to the input
    H, W = xn.shape[2:]
    OH, OW = wins.shape[2:4]
    ref = np.zeros((2, 2, OH, OW))
    for i in range(OH):
        for j in range(OW):
            hs, ws = i * s[0] - p[0], j * s[1] - p[1]
            he, we = min(hs + k[0], H + p[0]), min(ws + k[1], W + p[1])
            pool = (he - hs) * (we - ws)
            hs2, ws2, he2, we2 = max(hs, 0), max(ws, 0), min(he, H), min(we, W)
            div = kw.get("divisor_override") or (pool if kw.get("count_include_pad", True) else
                                                 (he2 - hs2) * (we2 - ws2))
            ref[:, :, i, j] = xn[:, :, hs2:he2, ws2:we2].sum((2, 3)) / div
    close(y, ref)
    if has_fp64:
        xd = ct.tensor(xn[:1, :1, :5, :5].astype(np.float64), requires_grad=True)
        assert gradcheck(lambda t: F.avg_pool2d(t, **kw), (xd,))


@pytest.mark.parametrize("osz", [(1, 1), (3, 2), (5, 7), 4])
def test_adaptive_avg_pool2d(osz, has_fp64):
    xn = rnd(2, 3, 5, 6)
    y = F.adaptive_avg_pool2d(T(xn), osz)
    oh, ow = (osz, osz) if isinstance(osz, int) else osz
    ref = np.zeros((2, 3, oh, ow))
    for i in range(oh):
        for j in range(ow):
            hs, he = (i * 5) // oh, -(-((i + 1) * 5) // oh)
            ws, we = (j * 6) // ow, -(-((j + 1) * 6) // ow)
            ref[:, :, i, j] = xn[:, :, hs:he, ws:we].mean((2, 3))
    close(y, ref)
    if has_fp64:
        xd = ct.tensor(xn[:1, :2].astype(np.float64), requires_grad=True)
        assert gradcheck(lambda t: F.adaptive_avg_pool2d(t, osz), (xd,))
    assert nn.AdaptiveAvgPool2d(osz)(T(xn)).shape == (2, 3, oh, ow)


@pytest.mark.parametrize("shape", [(6, 3, 4, 5), (8, 5), (4, 3, 7)])
def test_batch_norm_train_eval(shape):
    C = shape[1]
    xn = rnd(*shape) * 2 + 1
    m = nn.BatchNorm2d(C) if len(shape) == 4 else nn.BatchNorm1d(C)
    with ct.no_grad():
        m.weight.copy_(T(rnd(C)))
        m.bias.copy_(T(rnd(C)))
    axes = (0,) + tuple(range(2, len(shape)))
    bshape = [1, C] + [1] * (len(shape) - 2)
    x = T(xn, requires_grad=True)
    y = m(x)
    mu, var = xn.mean(axes), xn.var(axes)
    xhat = (xn - mu.reshape(bshape)) / np.sqrt(var.reshape(bshape) + 1e-5)
    w, b = A(m.weight), A(m.bias)
    close(y, xhat * w.reshape(bshape) + b.reshape(bshape), 1e-4)
    M = xn.size // C
    close(m.running_mean, 0.1 * mu, 1e-5)
    close(m.running_var, 0.9 + 0.1 * var * M / (M - 1), 1e-5)
    assert m.num_batches_tracked.item() == 1
    g = rnd(*shape)
    y.backward(T(g))
    gb = g.sum(axes)
    gw = (g * xhat).sum(axes)
    gx = w.reshape(bshape) / np.sqrt(var.reshape(bshape) + 1e-5) * (
        g - gb.reshape(bshape) / M - xhat * gw.reshape(bshape) / M)
    close(x.grad, gx, 1e-4)
    close(m.weight.grad, gw, 1e-4)
    close(m.bias.grad, gb, 1e-4)
    # eval uses the running statistics
    m.eval()
    rm, rv = A(m.running_mean), A(m.running_var)
    close(m(T(xn)), (xn - rm.reshape(bshape)) / np.sqrt(rv.reshape(bshape) + 1e-5) * w.reshape(bshape) +
          b.reshape(bshape), 1e-4)


@pytest.mark.fp64
def test_batch_norm_variants():
    xn = rnd(5, 3, 4)
    m = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert m.running_mean is None and len(list(m.parameters())) == 0
    m.eval()   # no running stats: batch statistics even in eval
    close(m(T(xn)), (xn - xn.mean((0, 2), keepdims=True)) / np.sqrt(xn.var((0, 2), keepdims=True) + 1e-5), 1e-4)
    m2 = nn.BatchNorm1d(3, momentum=None)
    for _ in range(3):
        m2(T(xn))
    close(m2.running_mean, xn.mean((0, 2)), 1e-5)    # cumulative average of identical batches
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(ct.randn(1, 3))
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(ct.randn(2, 3))
    xd = ct.tensor(rnd(4, 2, 3).astype(np.float64), requires_grad=True)
    wd = ct.tensor(rnd(2).astype(np.float64), requires_grad=True)
    bd = ct.tensor(rnd(2).astype(np.float64), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, True), (xd, wd, bd))


@pytest.mark.fp64
def test_layer_norm_and_group_norm():
    xn = rnd(4, 3, 6)
    m = nn.LayerNorm((3, 6))
    with ct.no_grad():
        m.weight.copy_(T(rnd(3, 6)))
        m.bias.copy_(T(rnd(3, 6)))
    x = T(xn, requires_grad=True)
    y = m(x)
    mu = xn.mean((1, 2), keepdims=True)
    var = xn.var((1, 2), keepdims=True)
    close(y, (xn - mu) / np.sqrt(var + 1e-5) * A(m.weight) + A(m.bias), 1e-4)
    xd = ct.tensor(xn.astype(np.float64), requires_grad=True)
    wd = ct.tensor(rnd(6).astype(np.float64), requires_grad=True)
    bd = ct.tensor(rnd(6).astype(np.float64), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (6,), w, b), (xd, wd, bd))
    with pytest.raises(RuntimeError, match="Given normalized_shape=\\[4\\], expected input with shape \\[\\*, 4\\]"):
        F.layer_norm(ct.randn(3, 5), (4,))
    gn = nn.GroupNorm(2, 4)
    xg = rnd(3, 4, 5)
    r = xg.reshape(3, 2, 10)
    ref = ((r - r.mean(2, keepdims=True)) / np.sqrt(r.var(2, keepdims=True) + 1e-5)).reshape(3, 4, 5)
    close(gn(T(xg)), ref, 1e-4)


def test_dropout():
    x = ct.ones(200, 50)
    m = nn.Dropout(0.3)
    y = A(m(x))
    kept = y != 0
    assert 0.6 < kept.mean() < 0.8
    close(y[kept], np.full(kept.sum(), 1 / 0.7))
    m.eval()
    assert m(x) is x
    xr = ct.ones(10, 10, requires_grad=True)
    yr = F.dropout(xr, 0.5)
    yr.sum().backward()
    close(xr.grad, A(yr))            # gradient = mask / (1 - p)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        nn.Dropout(1.5)
    close(F.dropout(x, 1.0), np.zeros((200, 50)))
    y2 = A(F.dropout2d(ct.ones(4, 30, 3, 3), 0.5))
    assert np.all((y2 == y2[:, :, :1, :1]))      # whole channels are dropped


def test_embedding():
    m = nn.Embedding(6, 3, padding_idx=1)
    close(m.weight[1], np.zeros(3))
    w = A(m.weight)
    idx = np.array([[1, 2, 1], [0, 5, 2]])
    y = m(T(idx))
    close(y, w[idx])
    g = rnd(2, 3, 3)
    y.backward(T(g))
    gw = np.zeros((6, 3), np.float32)
    np.add.at(gw, idx.reshape(-1), g.reshape(-1, 3))
    gw[1] = 0
    close(m.weight.grad, gw)
    close(m(T(idx.astype(np.int32))), w[idx])
    with pytest.raises(IndexError, match="index out of range in self"):
        m(T([7]))
    with pytest.raises(IndexError):
        m(T([-1]))
    e = nn.Embedding.from_pretrained(T(np.eye(3, dtype=np.float32)))
    assert not e.weight.requires_grad
    close(e(T([2, 0])), np.eye(3)[[2, 0]])


ACTS = [
    ("relu", lambda x: F.relu(x), lambda a: np.maximum(a, 0)),
    ("relu6", lambda x: F.relu6(x), lambda a: np.clip(a, 0, 6)),
    ("leaky", lambda x: F.leaky_relu(x, 0.2), lambda a: np.where(a > 0, a, 0.2 * a)),
    ("elu", lambda x: F.elu(x, 1.5), lambda a: np.where(a > 0, a, 1.5 * np.expm1(a))),
    ("gelu", lambda x: F.gelu(x), lambda a: 0.5 * a * (1 + np.vectorize(math.erf)(a / math.sqrt(2)))),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"),
     lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))),
    ("sigmoid", lambda x: F.sigmoid(x), lambda a: 1 / (1 + np.exp(-a))),
    ("tanh", lambda x: F.tanh(x), np.tanh),
    ("silu", lambda x: F.silu(x), lambda a: a / (1 + np.exp(-a))),
    ("softplus", lambda x: F.softplus(x, 2.0, 3.0), lambda a: np.where(2 * a > 3, a, np.log1p(np.exp(2 * a)) / 2)),
    ("logsigmoid", lambda x: F.logsigmoid(x), lambda a: -np.log1p(np.exp(-a))),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7)),
    ("hardswish", lambda x: F.hardswish(x), lambda a: a * np.clip(a + 3, 0, 6) / 6),
    ("mish", lambda x: F.mish(x), lambda a: a * np.tanh(np.log1p(np.exp(a)))),
    ("softmax", lambda x: F.softmax(x, dim=1), lambda a: np.exp(log_softmax_np(a, 1))),
    ("log_softmax", lambda x: F.log_softmax(x, dim=-1), lambda a: log_softmax_np(a, -1)),
]


@pytest.mark.parametrize("name,fn,ref", ACTS, ids=[a[0] for a in ACTS])
def test_activations(name, fn, ref, has_fp64):
    xn = rnd(4, 5) * 2
    close(fn(T(xn)), ref(xn.astype(np.float64)), 1e-5)
    # transposed (non-contiguous) input
    close(fn(T(xn).t()), ref(xn.T.astype(np.float64)), 1e-5)
    if has_fp64:
        xd = ct.tensor(xn.astype(np.float64) + 0.01, requires_grad=True)   # keep away from kinks
        assert gradcheck(fn, (xd,))


def test_activation_modules_and_inplace():
    x = ct.tensor([-1.0, 0.5, 2.0])
    assert nn.ReLU(inplace=True)(x) is x
    close(x, [0, 0.5, 2])
    for m, ref in [(nn.LeakyReLU(0.1), [-0.1, 0.5, 2]), (nn.Sigmoid(), 1 / (1 + np.exp([1.0, -0.5, -2]))),
                   (nn.Tanh(), np.tanh([-1.0, 0.5, 2])), (nn.SiLU(), np.array([-1.0, 0.5, 2]) /
                                                           (1 + np.exp([1.0, -0.5, -2]))),
                   (nn.GELU(), None), (nn.Identity(), [-1, 0.5, 2]), (nn.Softmax(dim=0), None),
                   (nn.LogSoftmax(dim=0), None)]:
        y = m(ct.tensor([-1.0, 0.5, 2.0]))
        if ref is not None:
            close(y, ref, 1e-6)
    f = nn.Flatten()(ct.zeros(2, 3, 4, 5))
    assert f.shape == (2, 60)
    assert nn.Unflatten(1, (3, 20))(f).shape == (2, 3, 20)


# ================================================================================================ losses vs numpy

def ce_np(x, t, w=None, ignore=-100, eps=0.0, reduction="mean"):
    C = x.shape[1]
    lp = log_softmax_np(x.astype(np.float64), 1)
    xm = np.moveaxis(lp, 1, -1).reshape(-1, C)
    tt = t.reshape(-1)
    w = np.ones(C) if w is None else w.astype(np.float64)
    valid = tt != ignore
    ts = np.where(valid, tt, 0)
    nll = -w[ts] * xm[np.arange(len(tt)), ts] * valid
    smooth = -(xm * w).sum(1) * valid
    loss = (1 - eps) * nll + eps / C * smooth
    if reduction == "none":
        return loss.reshape(t.shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (w[ts] * valid).sum()


@pytest.mark.parametrize("kw", [dict(), dict(label_smoothing=0.1), dict(weight=True), dict(reduction="sum"),
                                dict(weight=True, label_smoothing=0.2, ignore_index=1),
                                dict(reduction="none", weight=True, ignore_index=0)])
@pytest.mark.fp64
def test_cross_entropy_class_indices(kw):
    xn = rnd(6, 4)
    tn = np.array([0, 1, 3, 2, 1, 0])
    wn = rng.random(4).astype(np.float32) + 0.5
    kw2 = dict(kw)
    if kw.get("weight"):
        kw2["weight"] = T(wn)
    x = ct.tensor(xn.astype(np.float64), requires_grad=True)
    if "weight" in kw2:
        kw2["weight"] = kw2["weight"].double()
    y = F.cross_entropy(x, T(tn), **kw2)
    ref = ce_np(xn, tn, wn if kw.get("weight") else None, kw.get("ignore_index", -100),
                kw.get("label_smoothing", 0.0), kw.get("reduction", "mean"))
    close(y, ref, 1e-6)
    assert gradcheck(lambda t: F.cross_entropy(t, T(tn), **kw2), (x,))
    m = nn.CrossEntropyLoss(**{k: (T(wn) if k == "weight" else v) for k, v in kw.items()})
    close(m(T(xn), T(tn)), ref, 1e-5)


def test_cross_entropy_spatial_probs_and_errors():
    xn = rnd(2, 4, 3, 2)
    tn = rng.integers(0, 4, (2, 3, 2))
    close(F.cross_entropy(T(xn), T(tn), label_smoothing=0.1), ce_np(xn, tn, eps=0.1), 1e-5)
    close(F.cross_entropy(T(xn), T(tn), reduction="none"), ce_np(xn, tn, reduction="none"), 1e-5)
    # unbatched
    close(F.cross_entropy(T(xn[0, :, 0, 0]), T(np.array(2))), ce_np(xn[:1, :, 0, 0], np.array([2])), 1e-5)
    # probability targets
    p = rng.random((5, 4)).astype(np.float32)
    p /= p.sum(1, keepdims=True)
    xp = rnd(5, 4)
    lp = log_softmax_np(xp.astype(np.float64), 1)
    close(F.cross_entropy(T(xp), T(p)), -(lp * p).sum(1).mean(), 1e-5)
    ps = p * 0.8 + 0.2 / 4
    close(F.cross_entropy(T(xp), T(p), label_smoothing=0.2, reduction="sum"), -(lp * ps).sum(), 1e-5)
    # all targets ignored: 0/0 like PyTorch
    assert math.isnan(F.cross_entropy(T(xn[:, :, 0, 0]), T([-100, -100])).item())
    with pytest.raises(IndexError, match="Target 7 is out of bounds."):
        F.cross_entropy(ct.randn(3, 5), T([1, 2, 7]))
    with pytest.raises(IndexError, match="Target -3 is out of bounds."):
        F.nll_loss(ct.randn(3, 5), T([1, -3, 2]))
    with pytest.raises(ValueError, match="Expected input batch_size \\(3\\) to match target batch_size \\(2\\)"):
        F.cross_entropy(ct.randn(3, 5), T([1, 2]))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Int"):
        F.cross_entropy(ct.randn(3, 5), T([1, 2, 3]).int())


@pytest.mark.fp64
def test_nll_loss():
    xn = log_softmax_np(rnd(5, 3), 1).astype(np.float32)
    tn = np.array([2, 0, 1, 1, 0])
    wn = np.array([0.2, 1.0, 3.0], np.float32)
    ref = -(wn[tn] * xn[np.arange(5), tn]).sum() / wn[tn].sum()
    close(F.nll_loss(T(xn), T(tn), weight=T(wn)), ref, 1e-5)
    close(nn.NLLLoss(reduction="none")(T(xn), T(tn)), -xn[np.arange(5), tn], 1e-6)
    x = ct.tensor(xn.astype(np.float64), requires_grad=True)
    assert gradcheck(lambda t: F.nll_loss(t, T(tn), ignore_index=1), (x,))


@pytest.mark.fp64
def test_pointwise_losses():
    a, b = rnd(4, 5), rnd(4, 5)
    close(F.mse_loss(T(a), T(b)), ((a - b) ** 2).mean(), 1e-6)
    close(nn.MSELoss(reduction="sum")(T(a), T(b)), ((a - b) ** 2).sum(), 1e-4)
    close(nn.L1Loss()(T(a), T(b)), np.abs(a - b).mean(), 1e-6)
    close(F.l1_loss(T(a), T(b), reduction="none"), np.abs(a - b), 1e-6)
    d = a - b
    close(F.smooth_l1_loss(T(a), T(b), beta=0.5), np.where(np.abs(d) < 0.5, 0.5 * d * d / 0.5,
                                                           np.abs(d) - 0.25).mean(), 1e-6)
    close(F.huber_loss(T(a), T(b), delta=0.7), np.where(np.abs(d) <= 0.7, 0.5 * d * d,
                                                       0.7 * (np.abs(d) - 0.35)).mean(), 1e-6)
    p = 1 / (1 + np.exp(-a))
    y = (rng.random((4, 5)) > 0.5).astype(np.float32)
    w = rng.random((4, 5)).astype(np.float32)
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    close(F.binary_cross_entropy(T(p), T(y)), bce.mean(), 1e-5)
    close(nn.BCELoss(weight=T(w), reduction="sum")(T(p), T(y)), (bce * w).sum(), 1e-4)
    close(F.binary_cross_entropy_with_logits(T(a), T(y)), bce.mean(), 1e-5)
    pw = rng.random(5).astype(np.float32) + 0.5
    ref = -(pw * y * np.log(p) + (1 - y) * np.log(1 - p))
    close(nn.BCEWithLogitsLoss(pos_weight=T(pw))(T(a), T(y)), ref.mean(), 1e-5)
    # BCE clamps log at -100 (no inf)
    assert F.binary_cross_entropy(T([0.0, 1.0]), T([1.0, 0.0])).item() == pytest.approx(100.0)
    tq = rng.random((4, 5)).astype(np.float32) + 0.1
    tq /= tq.sum(1, keepdims=True)
    lq = log_softmax_np(a, 1)
    close(F.kl_div(T(lq), T(tq), reduction="batchmean"), (tq * (np.log(tq) - lq)).sum() / 4, 1e-5)
    with pytest.raises(ValueError):
        F.binary_cross_entropy(T(p), T(y[:2]))
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        F.mse_loss(T(a), T(b), reduction="avg")
    xs = [ct.tensor(a.astype(np.float64), requires_grad=True), ct.tensor(b.astype(np.float64), requires_grad=True)]
    for fn in (F.mse_loss, F.l1_loss, lambda u, v: F.smooth_l1_loss(u, v, beta=0.5),
               lambda u, v: F.huber_loss(u, v, delta=0.5)):
        assert gradcheck(fn, xs)
    pd = ct.tensor(np.clip(p, 0.05, 0.95).astype(np.float64), requires_grad=True)
    yd = ct.tensor(y.astype(np.float64))
    assert gradcheck(lambda u: F.binary_cross_entropy(u, yd), (pd,))
    assert gradcheck(lambda u: F.binary_cross_entropy_with_logits(u, yd, pos_weight=T(pw).double()),
                     (xs[0],))


@pytest.mark.fp64
def test_functional_misc():
    x = rnd(2, 3)
    y = F.pad(T(x), (1, 2))
    close(y, np.pad(x, ((0, 0), (1, 2))))
    close(F.pad(T(x), (1, 0, 0, 1), value=5.0), np.pad(x, ((0, 1), (1, 0)), constant_values=5))
    close(F.pad(T(x), (-1, 1)), np.pad(x, ((0, 0), (0, 1)))[:, 1:])
    xd = ct.tensor(x.astype(np.float64), requires_grad=True)
    assert gradcheck(lambda t: F.pad(t, (2, -1, 1, 1)), (xd,))
    oh = F.one_hot(T([0, 2, 1]), 4)
    assert oh.dtype == ct.int64
    close(oh, np.eye(4)[[0, 2, 1]])
    assert F.one_hot(T([[1], [3]])).shape == (2, 1, 4)
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes."):
        F.one_hot(T([1, 5]), 3)
    w = rnd(4, 3)
    b = rnd(4)
    close(F.linear(T(x), T(w), T(b)), x @ w.T + b, 1e-5)
    x3 = rnd(5, 2, 3)
    close(F.linear(T(x3), T(w)), x3 @ w.T, 1e-5)
    with pytest.raises(RuntimeError):
        F.linear(T(rnd(3, 4)), T(rnd(5, 3)))


def test_linear_module_and_init():
    ct.manual_seed(0)
    m = nn.Linear(200, 300)
    w = A(m.weight)
    bound = 1 / math.sqrt(200)          # kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert np.abs(A(m.bias)).max() <= bound
    x = rnd(7, 200)
    close(m(T(x)), x @ w.T + A(m.bias), 1e-4)
    c = nn.Conv2d(8, 4, 3)
    fan_in = 8 * 9
    assert np.abs(A(c.weight)).max() <= 1 / math.sqrt(fan_in) + 1e-7


@pytest.mark.fp64
def test_module_on_float64():
    m = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(12, 2)).double()
    x = ct.randn(2, 2, 4, 4, dtype=ct.float64)
    out = m(x)
    assert out.dtype == ct.float64
    F.cross_entropy(out, T([0, 1])).backward()
    assert all(p.grad is not None and p.grad.dtype == ct.float64 for p in m.parameters())


def test_training_loss_falls():
    ct.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 3 * 3, 3))
    opt = ct.optim.Adam(model.parameters(), lr=0.02)
    xn = rnd(24, 1, 6, 6)
    yn = (xn.reshape(24, -1).mean(1) > 0).astype(np.int64) + (xn[:, 0, 0, 0] > 1)
    x, y = T(xn), T(yn)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# ================================================================================================ against torch

torch_cases = [
    ("Conv2d", lambda nn_: nn_.Conv2d(4, 6, 3, stride=2, padding=1, dilation=1, groups=2), (3, 4, 9, 7)),
    ("Conv2d_same", lambda nn_: nn_.Conv2d(3, 5, (2, 3), padding="same", bias=False), (2, 3, 6, 5)),
    ("MaxPool2d", lambda nn_: nn_.MaxPool2d(3, 2, 1, ceil_mode=True), (2, 3, 8, 9)),
    ("AvgPool2d", lambda nn_: nn_.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 8, 9)),
    ("AdaptiveAvgPool2d", lambda nn_: nn_.AdaptiveAvgPool2d((3, 4)), (2, 3, 7, 9)),
    ("BatchNorm2d", lambda nn_: nn_.BatchNorm2d(3), (4, 3, 5, 5)),
    ("BatchNorm1d", lambda nn_: nn_.BatchNorm1d(6), (7, 6)),
    ("LayerNorm", lambda nn_: nn_.LayerNorm(6), (4, 5, 6)),
    ("GroupNorm", lambda nn_: nn_.GroupNorm(2, 4), (3, 4, 5)),
    ("Linear", lambda nn_: nn_.Linear(6, 4), (5, 6)),
    ("GELU_tanh", lambda nn_: nn_.GELU(approximate="tanh"), (4, 5)),
    ("LeakyReLU", lambda nn_: nn_.LeakyReLU(0.3), (4, 5)),
    ("Hardswish", lambda nn_: nn_.Hardswish(), (4, 5)),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name,make,shape", torch_cases, ids=[c[0] for c in torch_cases])
def test_against_torch(name, make, shape):
    import torch
    tm = make(torch.nn)
    with torch.no_grad():
        for p in tm.parameters():
            p.normal_()
    m = make(nn)
    m.load_state_dict({k: ct.tensor(host(v.detach())) for k, v in tm.state_dict().items()})
    xn = rnd(*shape)
    xt = torch.tensor(xn, requires_grad=True)
    x = T(xn, requires_grad=True)
    yt = tm(xt)
    y = m(x)
    close(y, host(yt.detach()), 2e-4)
    g = rnd(*yt.shape)
    yt.backward(torch.tensor(g))
    y.backward(T(g))
    close(x.grad, host(xt.grad), 2e-4)
    for (n1, p1), (n2, p2) in zip(m.named_parameters(), tm.named_parameters()):
        assert n1 == n2
        close(p1.grad, host(p2.grad), 5e-4)
    for (n1, b1), (n2, b2) in zip(m.named_buffers(), tm.named_buffers()):
        close(b1, host(b2), 1e-5)


def test_cross_entropy_against_torch():
    import torch
    xn = rnd(4, 5, 3)
    tn = rng.integers(0, 5, (4, 3))
    tn[0, 0] = 2
    wn = rng.random(5).astype(np.float32)
    for kw in (dict(), dict(label_smoothing=0.3, ignore_index=2), dict(reduction="none")):
        xt = torch.tensor(xn, requires_grad=True)
        x = T(xn, requires_grad=True)
        yt = torch.nn.functional.cross_entropy(xt, torch.tensor(tn), weight=torch.tensor(wn), **kw)
        y = F.cross_entropy(x, T(tn), weight=T(wn), **kw)
        close(y, host(yt.detach()), 1e-5)
        yt.sum().backward()
        y.sum().backward()
        close(x.grad, host(xt.grad), 1e-5)


# ================================================================================================ init and dtypes

def test_init_functions():
    from cltensor.nn import init
    ct.manual_seed(1)
    t = ct.empty(300, 400)
    init.uniform_(t, -2, 3)
    a = A(t)
    assert a.min() >= -2 and a.max() <= 3 and abs(a.mean() - 0.5) < 0.05
    init.normal_(t, 1.0, 2.0)
    a = A(t)
    assert abs(a.mean() - 1) < 0.03 and abs(a.std() - 2) < 0.03
    init.constant_(t, 0.25)
    assert np.all(A(t) == 0.25)
    init.zeros_(t)
    assert not A(t).any()
    init.ones_(t)
    assert np.all(A(t) == 1)
    e = init.eye_(ct.empty(3, 4))
    close(e, np.eye(3, 4))
    fan_in, fan_out = 400, 300
    init.xavier_uniform_(t, gain=2.0)
    bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(A(t)).max() <= bound and np.abs(A(t)).max() > 0.98 * bound
    init.xavier_normal_(t)
    assert abs(A(t).std() - math.sqrt(2 / (fan_in + fan_out))) < 0.002
    init.kaiming_uniform_(t, nonlinearity="relu")
    assert np.abs(A(t)).max() <= math.sqrt(6 / fan_in) + 1e-6
    init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")
    assert abs(A(t).std() - math.sqrt(2 / fan_out)) < 0.003
    init.trunc_normal_(t, mean=1.0, std=2.0, a=-1.0, b=4.0)
    a = A(t)
    assert a.min() >= -1.0 and a.max() <= 4.0 and abs(a.mean() - 1.2904) < 0.02 and abs(a.std() - 1.2895) < 0.02
    q = init.orthogonal_(ct.empty(5, 3))
    close(A(q).T @ A(q), np.eye(3), 1e-5)
    assert init.calculate_gain("relu") == math.sqrt(2) and init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError):
        init.calculate_gain("nope")
    # in-place on a view keeps the base's other elements
    base = ct.zeros(4, 4)
    init.ones_(base[1:3, ::2])
    assert A(base).sum() == 4


def test_float16_model_and_int_relu():
    ct.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(4), nn.Linear(4, 3))
    x = ct.randn(5, 1, 8, 8)
    ref = A(m(x))
    m.half()
    y = m(x.half())
    assert y.dtype == ct.float16
    close(y.float(), ref, 2e-2)   # float16 end to end through two normalisations
    F.cross_entropy(y, T([0, 1, 2, 0, 1])).backward()
    assert m[0].weight.grad.dtype == ct.float16
    r = F.relu(T([-1, 2]))
    assert r.dtype == ct.int64 and r.tolist() == [0, 2]


@pytest.mark.parametrize("mode", ["direct", "im2col"])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_forward_algorithms(mode, case, monkeypatch, has_fp64):
    from cltensor.nn import _conv
    monkeypatch.setattr(_conv, "CONV_FORWARD", mode)
    c = case
    xn = rnd(c["N"], c["C"], c["H"], c["W"])
    wn = rnd(c["O"], c["C"] // c["groups"], *c["k"], scale=0.5)
    bn = rnd(c["O"])
    ref = conv2d_np(xn.astype(np.float64), wn, bn, c["stride"], c["pad"], c["dil"], c["groups"])
    with ct.no_grad():
        close(F.conv2d(T(xn), T(wn), T(bn), c["stride"], c["pad"], c["dil"], c["groups"]), ref, 1e-4)
    # a sliced, non-contiguous input and float64
    xs = T(np.ascontiguousarray(xn.transpose(0, 1, 3, 2))).transpose(2, 3)
    close(F.conv2d(xs, T(wn), None, c["stride"], c["pad"], c["dil"], c["groups"]),
          ref - bn[None, :, None, None], 1e-4)
    if has_fp64:
        y64 = F.conv2d(T(xn.astype(np.float64)), T(wn.astype(np.float64)), T(bn.astype(np.float64)), c["stride"],
                       c["pad"], c["dil"], c["groups"])
        close(y64, ref, 1e-10)
    w = T(wn, requires_grad=True)
    F.conv2d(T(xn), w, None, c["stride"], c["pad"], c["dil"], c["groups"]).sum().backward()
    gw = conv2d_np_grads(xn.astype(np.float64), wn.astype(np.float64), np.ones(ref.shape), c["stride"], c["pad"],
                         c["dil"], c["groups"])[1]
    close(w.grad, gw, 1e-3)


def test_nn_utils_clip_and_vectors():
    m = nn.Linear(3, 2)
    m(ct.randn(4, 3)).sum().mul(10).backward()
    g = np.concatenate([A(p.grad).ravel() for p in m.parameters()])
    total = nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    assert total.item() == pytest.approx(np.linalg.norm(g), rel=1e-5)
    g2 = np.concatenate([A(p.grad).ravel() for p in m.parameters()])
    assert np.linalg.norm(g2) == pytest.approx(1.0, rel=1e-4)
    nn.utils.clip_grad_value_(m.parameters(), 0.1)
    assert max(np.abs(A(p.grad)).max() for p in m.parameters()) <= 0.1 + 1e-7
    v = nn.utils.parameters_to_vector(m.parameters())
    assert v.shape == (8,)
    nn.utils.vector_to_parameters(v * 0, m.parameters())
    assert A(m.weight).sum() == 0


def _graph_names(fn):
    """The autograd graph below fn, depth first in next_functions order: node class names (None for no edge)."""
    if fn is None:
        return None
    return (type(fn).__name__, [_graph_names(nf) for nf, _ in fn.next_functions])


@pytest.mark.parametrize("shape", [(5, 3), (2, 5, 3), (3,), (2, 2, 5, 3)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("input_grad", [False, True])
def test_linear_graph_as_torch(shape, bias, input_grad):
    """F.linear's graph has PyTorch's nodes in PyTorch's order (AddmmBackward0: bias, input, TBackward0(weight);
    MmBackward0 without bias; the view nodes of other input ranks), and the same gradients."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    xn, wn, bn = (rng.standard_normal(s).astype(np.float32) for s in (shape, (4, 3), 4))
    graphs, grads = [], []
    for m in (torch, ct):
        x = m.tensor(xn, requires_grad=input_grad)
        w = m.tensor(wn, requires_grad=True)
        b = m.tensor(bn, requires_grad=True) if bias else None
        y = m.nn.functional.linear(x, w, b)
        (y * y).sum().backward()
        graphs.append(_graph_names(y.grad_fn))
        grads.append([t.grad.numpy() for t in (x, w, b) if t is not None and t.requires_grad])
    assert graphs[1] == graphs[0]
    for g, want in zip(grads[1], grads[0]):
        np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-4)
    # a Linear module's graph too
    lin = nn.Linear(3, 4)
    y = lin(ct.tensor(np.ones((2, 3), np.float32))).sum()
    assert [type(f).__name__ for f, _ in y.grad_fn.next_functions[0][0].next_functions] == \
        ["AccumulateGrad", "NoneType", "TBackward0"]
    assert type(y.grad_fn.next_functions[0][0].next_functions[2][0].next_functions[0][0]).__name__ == "AccumulateGrad"
