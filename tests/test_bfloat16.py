"""bfloat16: 16-bit storage computed in float, against torch's bfloat16 (values, rounding, promotion, host reads,
printing, elementwise, reductions, matmul, nn, autograd, checkpoints, DLPack) and the errors where a path has no
bfloat16 support."""
import io
import pickle

import numpy as np
import pytest

import cltensor as ct
import cltensor.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def bits(t):
    """The stored 16 bits of a cltensor or torch bfloat16 tensor, as uint16."""
    if isinstance(t, torch.Tensor):
        return t.detach().view(torch.int16).numpy().view(np.uint16)
    return t.detach().cpu()._bits_copy()


def vals(t):
    return t.detach().float().cpu().numpy()


def pair(shape, seed=0, scale=1.0):
    a = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)
    return ct.tensor(a, dtype=ct.bfloat16), torch.tensor(a, dtype=torch.bfloat16)


def same(c, t, ulps=0):
    """Equal dtype name, shape, and values within `ulps` bfloat16 units in the last place (NaNs together)."""
    assert c.dtype.name == str(t.dtype).split(".")[1]
    assert tuple(c.shape) == tuple(t.shape)
    if c.dtype.is_complex:
        np.testing.assert_array_equal(c.detach().cpu().numpy(), t.detach().numpy())
        return
    a, b = vals(c), t.detach().float().numpy()
    if ulps == 0 and c.dtype is ct.bfloat16:      # bit-exact, but any NaN for NaN (torch's own NaN bits vary)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(bits(c)[~np.isnan(b)], bits(t)[~np.isnan(b)])
        return
    with np.errstate(invalid="ignore"):
        tol = ulps * 2.0 ** -7 * np.maximum(np.abs(b), 2.0 ** -126)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(b) & (a != b)
    assert np.all(np.abs(a[ok] - b[ok]) <= tol[ok]), (a, b)


EDGE = [0.0, -0.0, 1.0, -2.5, 3.14159265, 1.00390625, 1.01171875, 1e-40, -1e-45, 3.4e38, 3.3961e38, 65504.0,
        float("inf"), -float("inf"), float("nan"), 1e30, -7.1e-5]


# ---------------------------------------------------------------- dtype, creation, casts, host reads

def test_dtype_properties_and_promotion():
    d = ct.bfloat16
    assert d.is_floating_point and not d.is_complex and d.itemsize == 2 and d.is_signed
    assert ct.empty(3, dtype=d).element_size() == 2
    for other in ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64", "complex64",
                  "complex128"):
        want = torch.promote_types(torch.bfloat16, getattr(torch, other))
        assert ct.promote_types(d, getattr(ct, other if other != "bool" else "bool")).name == str(want)[6:], other
    x = ct.ones(2, dtype=d)
    assert (x + ct.ones(2, dtype=ct.float16)).dtype is ct.float32
    assert (x + ct.ones(2, dtype=ct.int64)).dtype is d
    assert (x + 1.5).dtype is d and (ct.ones(2, dtype=ct.int32) + ct.tensor(1.0, dtype=d)).dtype is d
    fi, tfi = ct.finfo(d), torch.finfo(torch.bfloat16)
    assert (fi.bits, fi.eps, fi.max, fi.min, fi.tiny, fi.resolution, fi.dtype) == \
        (tfi.bits, tfi.eps, tfi.max, tfi.min, tfi.tiny, tfi.resolution, "bfloat16")
    assert x.type() == "cltensor.BFloat16Tensor" and x.is_floating_point()


def test_tensor_rounds_as_torch():
    c, t = ct.tensor(EDGE, dtype=ct.bfloat16), torch.tensor(EDGE, dtype=torch.bfloat16)
    np.testing.assert_array_equal(bits(c)[~np.isnan(vals(t))], bits(t)[~np.isnan(vals(t))])
    assert np.isnan(vals(c)[np.isnan(vals(t))]).all()
    a = np.array(EDGE[:-3], np.float32)
    same(ct.tensor(a, dtype=ct.bfloat16), torch.tensor(a, dtype=torch.bfloat16))
    same(ct.tensor(2.5, dtype=ct.bfloat16), torch.tensor(2.5, dtype=torch.bfloat16))        # 0-d kept
    same(ct.tensor([[1, 2], [3, 4]], dtype=ct.bfloat16), torch.tensor([[1, 2], [3, 4]], dtype=torch.bfloat16))
    same(ct.full((2, 3), 1.1, dtype=ct.bfloat16), torch.full((2, 3), 1.1, dtype=torch.bfloat16))
    same(ct.arange(0, 3, 0.5, dtype=ct.bfloat16), torch.arange(0, 3, 0.5, dtype=torch.bfloat16))
    same(ct.zeros(0, 2, dtype=ct.bfloat16), torch.zeros(0, 2, dtype=torch.bfloat16))


@pytest.mark.parametrize("other", ["float32", "float16", "int64", "int8", "uint8", "bool", "complex64"])
def test_casts_both_ways(other):
    src = [0.0, -0.0, 1.0, -2.5, 3.14159, 1.00390625, 1e-40, 300.7, -129.5, 65504.0, 1e5, float("inf"),
           float("nan")]
    if other in ("int64", "int8", "uint8"):
        src = [0.0, 1.0, -2.5, 3.7, 100.2, 7.0, 255.0]
    c32, t32 = ct.tensor(src), torch.tensor(src)
    cb, tb = c32.to(ct.bfloat16), t32.to(torch.bfloat16)
    same(cb, tb)
    same(cb.to(getattr(ct, other)), tb.to(getattr(torch, other)), ulps=0)
    if other not in ("complex64",):
        co, to = c32.to(getattr(ct, other)), t32.to(getattr(torch, other))
        same(co.to(ct.bfloat16), to.to(torch.bfloat16))


def test_host_reads_and_printing():
    c, t = ct.tensor(EDGE, dtype=ct.bfloat16), torch.tensor(EDGE, dtype=torch.bfloat16)
    assert str(c.tolist()) == str(t.tolist())
    assert ct.tensor(3.3, dtype=ct.bfloat16).item() == torch.tensor(3.3, dtype=torch.bfloat16).item()
    assert float(c[4]) == 3.140625
    for ct_, tt in [(c, t), (c[:4], t[:4]), (c[:6].reshape(2, 3), t[:6].reshape(2, 3)),
                    (ct.tensor(2.5, dtype=ct.bfloat16), torch.tensor(2.5, dtype=torch.bfloat16)),
                    (ct.empty(0, dtype=ct.bfloat16), torch.empty(0, dtype=torch.bfloat16)),
                    (ct.tensor([1.0, 2.0], dtype=ct.bfloat16), torch.tensor([1.0, 2.0], dtype=torch.bfloat16))]:
        assert repr(ct_) == repr(tt).replace("torch.", "cltensor.")
    with pytest.raises(TypeError, match="Got unsupported ScalarType BFloat16"):
        c.cpu().numpy()
    with pytest.raises(TypeError, match="Got unsupported ScalarType BFloat16"):
        np.asarray(c.cpu())
    same(c.float(), t.float())
    same(pickle.loads(pickle.dumps(c)), t)
    assert c.cpu().view(ct.int16).tolist() == t.view(torch.int16).tolist()


# ---------------------------------------------------------------- elementwise and reductions

def test_elementwise():
    (a, ta), (b, tb) = pair((5, 7), 1), pair((7,), 2)
    same(a + b, ta + tb)                       # broadcast
    same(a * 3.3 - b, ta * 3.3 - tb)           # scalars
    same(a.t() / (b[:, None] + 4), ta.t() / (tb[:, None] + 4))     # strided
    same(a[:, ::2] * a[:, 1::2][:, :3].sum(1, keepdim=True), ta[:, ::2] * ta[:, 1::2][:, :3].sum(1, keepdim=True))
    same(-a.abs(), -ta.abs())
    same(a.clamp(-0.5, 0.7), ta.clamp(-0.5, 0.7))
    same(ct.where(a > 0, a, b), torch.where(ta > 0, ta, tb))
    same(a + ct.ones(7, dtype=ct.float16), ta + torch.ones(7, dtype=torch.float16))   # -> float32
    for name in ("exp", "tanh", "sigmoid", "sin", "log1p", "rsqrt"):
        same(getattr(a.abs(), name)(), getattr(ta.abs(), name)(), ulps=1)
    same(F.gelu(a), TF.gelu(ta), ulps=1)
    same(a > b, ta > tb)
    c, tc = a.clone(), ta.clone()
    c.mul_(2).add_(b)
    tc.mul_(2).add_(tb)
    same(c, tc)
    c[1:3, 2] = 7.77
    tc[1:3, 2] = 7.77
    c[ct.tensor([0, 4])] = -1.1
    tc[torch.tensor([0, 4])] = -1.1
    same(c, tc)
    same(c.masked_fill(c > 1, 0.3), tc.masked_fill(tc > 1, 0.3))
    same(ct.cat([a, c]), torch.cat([ta, tc]))


def test_reductions_accumulate_in_float():
    a, ta = pair((6, 37), 3, scale=4.0)
    same(a.sum(), ta.sum(), ulps=1)
    same(a.sum(1), ta.sum(1), ulps=1)
    same(a.t().sum(1), ta.t().sum(1), ulps=1)
    same(a.mean(0), ta.mean(0), ulps=1)
    same(a.amax(1), ta.amax(1))
    same(a.min(0).values, ta.min(0).values)
    same(a.argmax(1), ta.argmax(1))
    same(a.var(1), ta.var(1), ulps=1)
    same(a.sum(1, dtype=ct.float32), ta.sum(1, dtype=torch.float32), ulps=0.02)
    same(a.cumsum(1), ta.cumsum(1), ulps=2)
    same(a.sort(1).values, ta.sort(1).values)
    big = ct.ones(4096, dtype=ct.bfloat16)       # a bfloat16 accumulator would stop at 256
    assert big.sum().item() == 4096.0


# ---------------------------------------------------------------- matmul, nn, autograd

@pytest.mark.parametrize("mkn", [(5, 7, 3), (33, 64, 17)])
def test_matmul(mkn):
    m, k, n = mkn
    (a, ta), (b, tb) = pair((m, k), 4), pair((k, n), 5)
    same(a @ b, ta @ tb, ulps=1)
    same(a.t().contiguous().t() @ b, ta @ tb, ulps=1)
    same(ct.addmm(a[:, :n], a[:, :k], b), torch.addmm(ta[:, :n], ta[:, :k], tb), ulps=1)
    same(a[0] @ b, ta[0] @ tb, ulps=1)


def test_nn():
    (x, tx), (w, tw), (bb, tbb) = pair((2, 5, 8), 6), pair((4, 8), 7), pair((4,), 8)
    same(F.linear(x, w, bb), TF.linear(tx, tw, tbb), ulps=1)
    same(x.bmm(x.transpose(1, 2)), tx.bmm(tx.transpose(1, 2)), ulps=1)
    same(F.softmax(x, -1), TF.softmax(tx, -1), ulps=1)
    same(F.log_softmax(x, 1), TF.log_softmax(tx, 1), ulps=1)
    same(F.layer_norm(x, (8,)), TF.layer_norm(tx, (8,)), ulps=1)
    same(F.cross_entropy(x[0], ct.tensor([1, 0, 7, 3, 2])), TF.cross_entropy(tx[0], torch.tensor([1, 0, 7, 3, 2])),
         ulps=1)
    same(F.mse_loss(x, x * 0.5), TF.mse_loss(tx, tx * 0.5), ulps=1)
    (im, tim), (cw, tcw) = pair((1, 2, 9, 7), 9), pair((3, 2, 3, 3), 10)
    same(F.conv2d(im, cw, padding=1), TF.conv2d(tim, tcw, padding=1), ulps=1)
    same(F.max_pool2d(im, 2), TF.max_pool2d(tim, 2))
    (r, tr) = pair((3, 1000), 13)              # long rows: the vector path of the softmax kernels
    same(F.softmax(r, -1), TF.softmax(tr, -1), ulps=1)
    same(F.log_softmax(r, -1), TF.log_softmax(tr, -1), ulps=1)
    lin = ct.nn.Linear(8, 3).bfloat16()
    assert lin.weight.dtype is ct.bfloat16 and lin(x).dtype is ct.bfloat16


def test_autograd():
    (x, tx), (w, tw) = pair((3, 4), 11), pair((4, 2), 12)
    x.requires_grad_()
    w.requires_grad_()
    tx.requires_grad_()
    tw.requires_grad_()
    ((x @ w) * 2 + x.sum()).sum().backward()
    ((tx @ tw) * 2 + tx.sum()).sum().backward()
    assert x.grad.dtype is ct.bfloat16
    same(x.grad, tx.grad, ulps=1)
    same(w.grad, tw.grad, ulps=1)


def test_fused_attention(monkeypatch):
    from cltensor.nn import _attention
    monkeypatch.setattr(_attention, "FORCE", "fused")
    q, tq = pair((1, 2, 24, 16), 14)
    q.requires_grad_()
    tq.requires_grad_()
    o = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    to = TF.scaled_dot_product_attention(tq, tq, tq, is_causal=True)
    np.testing.assert_allclose(vals(o), vals(to), atol=2 ** -6)
    o.sum().backward()
    to.sum().backward()
    assert q.grad.dtype is ct.bfloat16
    np.testing.assert_allclose(vals(q.grad), vals(tq.grad), atol=2 ** -5)


# ---------------------------------------------------------------- checkpoints, DLPack, autocast

def test_checkpoints_round_trip_with_torch(tmp_path):
    t = torch.randn(3, 5).bfloat16()
    t[0, 0], t[0, 1] = float("inf"), -0.0
    torch.save({"w": t, "v": t[1:, ::2]}, tmp_path / "a.pt")
    o = ct.load(tmp_path / "a.pt")
    assert o["w"].dtype is ct.bfloat16
    same(o["w"], t)
    same(o["v"], t[1:, ::2])
    ct.save(o, tmp_path / "b.pt")
    r = torch.load(tmp_path / "b.pt")
    assert torch.equal(r["w"].view(torch.int16), t.view(torch.int16)) and torch.equal(r["v"], t[1:, ::2])
    buf = io.BytesIO()
    ct.save(ct.nn.Linear(3, 2).bfloat16().state_dict(), buf)
    buf.seek(0)
    assert torch.load(buf)["weight"].dtype is torch.bfloat16


def test_safetensors_round_trip_with_torch(tmp_path):
    sst = pytest.importorskip("safetensors.torch")
    from cltensor.utils import safetensors as cst
    t = torch.randn(4, 3).bfloat16()
    sst.save_file({"w": t, "i": torch.arange(3)}, str(tmp_path / "a.st"))
    o = cst.load_file(str(tmp_path / "a.st"))
    same(o["w"], t)
    cst.save_file(o, str(tmp_path / "b.st"), metadata={"k": "v"})
    r = sst.load_file(str(tmp_path / "b.st"))
    assert torch.equal(r["w"].view(torch.int16), t.view(torch.int16)) and torch.equal(r["i"], torch.arange(3))
    same(cst.load(cst.save({"w": o["w"]}))["w"], t)
    with cst.safe_open(str(tmp_path / "a.st"), "pt") as f:
        same(f.get_slice("w")[1:3], t[1:3])


def test_dlpack():
    t = torch.randn(3, 4).bfloat16()
    c = ct.from_dlpack(t)
    same(c, t)
    c[0, 0] = 5.0                      # memory shared
    assert t[0, 0].item() == 5.0
    back = torch.from_dlpack(ct.tensor([1.5, -2.0], dtype=ct.bfloat16).cpu())
    assert back.dtype is torch.bfloat16 and back.tolist() == [1.5, -2.0]


# ---------------------------------------------------------------- what bfloat16 does not run

def test_unsupported_paths_raise():
    with pytest.raises(RuntimeError, match="Unsupported dtype BFloat16"):
        ct.fft.fft(ct.ones(4, dtype=ct.bfloat16))
    with pytest.raises(RuntimeError, match="Expected both inputs to be Half, Float or Double tensors but got "
                                           "BFloat16"):
        ct.complex(ct.ones(2, dtype=ct.bfloat16), ct.ones(2, dtype=ct.bfloat16))


def test_reading_bfloat16_storage_as_a_number_fails_to_build():
    """A template path that would read the struct storage without converting (here: the float vector path of
    elementwise kernels) does not build, and says which dtype it lacks."""
    from cltensor import _kernels as K
    from cltensor._launch import rt_of
    bf = ct.bfloat16
    with pytest.raises(RuntimeError, match="\"elementwise.flat\" not implemented for 'BFloat16'"):
        K.get(rt_of(ct.ones(1)), "elementwise", "flat", out=bf, ins=(bf,), kinds=("t",), cdts=(bf,), rdt=bf,
              expr="x0 * 2", idx="int", vexpr=True)


def test_bfloat16_as_the_default_dtype():
    """set_default_dtype(bfloat16) is accepted as in PyTorch: float factories, Python floats and new modules take
    it; a complex default has no counterpart (PyTorch's error)."""
    before = ct.get_default_dtype()
    try:
        for mod in (torch, ct):
            mod.set_default_dtype(mod.bfloat16)
        for mk in (lambda m: m.tensor([1.5]), lambda m: m.ones(2), lambda m: m.arange(0.0, 3),
                   lambda m: m.tensor([1, 2]) / 2, lambda m: m.nn.Linear(2, 3).weight):
            assert str(mk(ct).dtype).split(".")[-1] == str(mk(torch).dtype).split(".")[-1] == "bfloat16"
        assert (ct.ones(3) * 2.5).tolist() == [2.5] * 3
        with pytest.raises(RuntimeError, match="invalid default scalar type for complex"):
            ct.tensor([1j])
    finally:
        torch.set_default_dtype(torch.float32)
        ct.set_default_dtype(before)
