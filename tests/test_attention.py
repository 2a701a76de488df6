"""Attention, transformers and embeddings against PyTorch: fused scaled_dot_product_attention (values and
gradients for every mask kind, causal, scale, GQA, odd sizes, strided inputs, dtypes, dropout), MultiheadAttention
and the Transformer layers with state_dicts copied between the libraries, Embedding and EmbeddingBag."""
import os
import subprocess
import sys

import numpy as np
import pytest

import cltensor as ct
import cltensor.nn.functional as CF
from cltensor.nn import _attention


@pytest.fixture(autouse=True)
def _fused_kernels(monkeypatch):
    """These tests are about the fused kernels: run them whatever the size (auto would take the unfused path for
    the small sizes used here); test_auto_paths_agree covers the choice."""
    monkeypatch.setattr(_attention, "FORCE", "fused")

import torch  # noqa: E402
from conftest import device_has_fp64  # noqa: E402

TF = torch.nn.functional
# float64 where the device has it (tight tolerances); float32 with float32 tolerances elsewhere
FP64 = device_has_fp64()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def c(x, grad=False):
    t = ct.tensor(x.detach().numpy())
    return t.requires_grad_() if grad else t


def n(t):
    return t.detach().cpu().numpy()


def close(got, want, tol=1e-9):
    if not FP64:
        tol = max(tol, 2e-4)
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else want
    np.testing.assert_allclose(n(got).astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol)


def sdpa_both(q, k, v, mask=None, tol=1e-9, grads=True, mask_grad=True, **kw):
    """Run torch and cltensor SDPA on the same float64 data; compare output and the q, k, v (and float mask, unless
    not mask_grad) gradients."""
    tq, tk, tv = [x.detach().clone().requires_grad_() for x in (q, k, v)]
    tm = None
    if mask is not None:
        tm = mask.detach().clone()
        if mask.dtype.is_floating_point and mask_grad:
            tm.requires_grad_()
    o = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm, **kw)
    cq, ck, cv = c(q, True), c(k, True), c(v, True)
    cm = None if mask is None else c(mask, mask.dtype.is_floating_point and mask_grad)
    co = CF.scaled_dot_product_attention(cq, ck, cv, attn_mask=cm, **kw)
    assert tuple(co.shape) == tuple(o.shape)
    close(co, o, tol)
    if grads:
        g = torch.randn_like(o)
        o.backward(g)
        co.backward(c(g))
        for a, b in ((cq, tq), (ck, tk), (cv, tv)) + (((cm, tm),) if tm is not None and tm.requires_grad else ()):
            close(a.grad, b.grad, tol)
    return co


def rn(*s, dtype=torch.float64):
    if dtype is torch.float64 and not FP64:
        dtype = torch.float32
    return torch.randn(*s, dtype=dtype)


# ------------------------------------------------------------------------------------------------------ SDPA

@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_plain_and_causal(causal):
    torch.manual_seed(0)
    sdpa_both(rn(2, 3, 5, 8), rn(2, 3, 7, 8), rn(2, 3, 7, 6), is_causal=causal)
    sdpa_both(rn(2, 3, 9, 8), rn(2, 3, 4, 8), rn(2, 3, 4, 8), is_causal=causal)     # L > S


def test_sdpa_masks():
    torch.manual_seed(1)
    q, k, v = rn(2, 3, 5, 8), rn(2, 3, 7, 8), rn(2, 3, 7, 6)
    sdpa_both(q, k, v, torch.rand(5, 7) > 0.4)                      # bool, broadcast over batch and heads
    m = torch.rand(2, 1, 5, 7) > 0.5
    m[0, 0, 1] = False                                               # a row with every key masked out -> 0
    sdpa_both(q, k, v, m)
    sdpa_both(q, k, v, rn(3, 5, 7))                                  # float, added; its gradient too
    sdpa_both(q, k, v, rn(2, 3, 5, 7), scale=0.37)
    fm = rn(5, 7)
    fm[2, :3] = float("-inf")
    sdpa_both(q, k, v, fm)


def test_sdpa_gqa_scale_odd_sizes():
    torch.manual_seed(2)
    sdpa_both(rn(2, 6, 5, 12), rn(2, 2, 7, 12), rn(2, 2, 7, 20), enable_gqa=True, scale=0.3)
    sdpa_both(rn(2, 6, 5, 12), rn(2, 3, 7, 12), rn(2, 3, 7, 12), enable_gqa=True, is_causal=True)
    sdpa_both(rn(1, 1, 1, 24), rn(1, 1, 13, 24), rn(1, 1, 13, 24))          # L = 1, D not a power of two
    sdpa_both(rn(3, 4, 33, 100), rn(3, 4, 17, 100), rn(3, 4, 17, 5), is_causal=True)
    sdpa_both(rn(5, 9), rn(6, 9), rn(6, 3))                                  # 2-D
    sdpa_both(rn(2, 2, 3, 4, 8), rn(2, 1, 4, 8), rn(1, 4, 6))                # broadcast batch dims
    sdpa_both(rn(2, 2, 3, 300), rn(2, 2, 4, 300), rn(2, 2, 4, 300))          # wider than the kernels: unfused path
    # contiguous features, multiples of 8 (the 8-wide vector kernels), with GQA, causal and a mask at once
    sdpa_both(rn(2, 4, 20, 32), rn(2, 2, 24, 32), rn(2, 2, 24, 16), enable_gqa=True, is_causal=True)
    sdpa_both(rn(2, 4, 20, 32), rn(2, 2, 24, 32), rn(2, 2, 24, 16), rn(2, 1, 20, 24), enable_gqa=True)
    sdpa_both(rn(1, 2, 19, 16), rn(1, 2, 19, 16), rn(1, 2, 19, 16), torch.rand(2, 19, 19) > 0.3)


@pytest.mark.parametrize("one_pass", [False, True])
def test_sdpa_register_blocked(monkeypatch, one_pass):
    """The register-blocked kernels (no mask, no dropout, head dims 16..128 in steps of 16): rows not a multiple of
    the 16-row blocks or of the rows per work-item, causal with L > S and L < S, GQA, permuted and expanded
    operands, float32; the backward in two passes (bwd_q_rb, bwd_kv_rb) and in one (bwd_rb1, with several key
    chunks per head and with one), whatever the device would pick for these head counts."""
    monkeypatch.setattr(_attention, "_one_pass", lambda rt, heads: one_pass)
    calls = []
    orig = _attention._sdpa_rb
    monkeypatch.setattr(_attention, "_sdpa_rb", lambda *a, **kw: calls.append(1) or orig(*a, **kw))
    torch.manual_seed(9)
    for causal in (False, True):
        sdpa_both(rn(2, 3, 37, 16), rn(2, 3, 21, 16), rn(2, 3, 21, 16), is_causal=causal)
    sdpa_both(rn(1, 4, 20, 32), rn(1, 2, 35, 32), rn(1, 2, 35, 32), enable_gqa=True, is_causal=True, scale=0.4)
    sdpa_both(rn(1, 2, 9, 64), rn(1, 2, 4, 64), rn(1, 2, 4, 64), is_causal=True)
    sdpa_both(rn(1, 1, 17, 128), rn(1, 1, 18, 128), rn(1, 1, 18, 128), is_causal=True)
    sdpa_both(rn(2, 5, 3, 48).permute(0, 2, 1, 3), rn(2, 3, 48, 5).transpose(-2, -1), rn(1, 5, 48).expand(2, 3, 5, 48))
    sdpa_both(rn(1, 2, 19, 32, dtype=torch.float32), rn(1, 2, 19, 32, dtype=torch.float32),
              rn(1, 2, 19, 32, dtype=torch.float32), is_causal=True, tol=2e-5)
    if one_pass:        # above: several key chunks per head (few heads); here one work-item per head
        monkeypatch.setattr(_attention, "_chunks", lambda rt, heads, blocks: 1)
        sdpa_both(rn(2, 3, 21, 16), rn(2, 3, 30, 16), rn(2, 3, 30, 16), is_causal=True)
        sdpa_both(rn(2, 4, 21, 32), rn(2, 2, 30, 32), rn(2, 2, 30, 32), enable_gqa=True)
    assert len(calls) == (9 if one_pass else 7)


@pytest.mark.parametrize("one_pass", [False, True])
def test_sdpa_register_blocked_masks(monkeypatch, one_pass):
    """Masks on the register-blocked kernels (with the one-pass backward only): bool and float (no gradient) masks
    broadcast over batch and heads, -inf entries, rows with every key masked out (0 as torch), with causal, GQA and
    S != L; float masks that need a gradient, and every mask where the backward would take two passes, stay on the
    general kernels."""
    monkeypatch.setattr(_attention, "_one_pass", lambda rt, heads: one_pass)
    calls = []
    orig = _attention._sdpa_rb
    monkeypatch.setattr(_attention, "_sdpa_rb", lambda *a, **kw: calls.append(1) or orig(*a, **kw))
    torch.manual_seed(11)
    q, k, v = rn(2, 2, 19, 32), rn(2, 2, 37, 32), rn(2, 2, 37, 32)
    mb = torch.rand(19, 37) > 0.4
    mb[3] = False                                                    # a row with every key masked out
    sdpa_both(q, k, v, mb)
    sdpa_both(q, k, v, mb, is_causal=True)
    fm = rn(2, 1, 19, 37)
    fm[torch.rand(2, 1, 19, 37) > 0.7] = float("-inf")
    fm[1, 0, 5] = float("-inf")
    sdpa_both(q, k, v, fm, mask_grad=False, scale=0.3)
    sdpa_both(rn(1, 4, 9, 16), rn(1, 2, 9, 16), rn(1, 2, 9, 16), torch.rand(4, 1, 9) > 0.5, enable_gqa=True)
    assert len(calls) == (4 if one_pass else 0)
    sdpa_both(q, k, v, fm)                                           # the float mask's gradient: general kernels
    assert len(calls) == (4 if one_pass else 0)


def test_sdpa_strided_inputs():
    torch.manual_seed(3)
    base = rn(2, 7, 3, 16)               # (B, L, H, D) permuted to (B, H, L, D): no unit-stride rows
    q = base.permute(0, 2, 1, 3)
    k = rn(2, 3, 16, 9).transpose(-2, -1)
    v = rn(2, 3, 9, 32)[..., ::2]
    sdpa_both(q, k, v)
    sdpa_both(q, k, v, is_causal=True)
    # views built on the cltensor side as well (not only copies of torch's layouts)
    cb = c(base, True)
    cq = cb.permute(0, 2, 1, 3)
    co = CF.scaled_dot_product_attention(cq, cq, cq)
    tb = base.clone().requires_grad_()
    to = TF.scaled_dot_product_attention(*(tb.permute(0, 2, 1, 3),) * 3)
    close(co, to)
    g = torch.randn_like(to)
    to.backward(g)
    co.backward(c(g))
    close(cb.grad, tb.grad)


@pytest.mark.parametrize("dtype,tol", [("float32", 2e-5), ("float16", 3e-3), ("float64", 1e-12)])
def test_sdpa_dtypes(dtype, tol):
    torch.manual_seed(4)
    td = getattr(torch, dtype)
    q, k, v = rn(2, 2, 6, 16).to(td), rn(2, 2, 5, 16).to(td), rn(2, 2, 5, 16).to(td)
    m = rn(6, 5).to(td)
    want = TF.scaled_dot_product_attention(q.double(), k.double(), v.double(), attn_mask=m.double())
    cq, ck, cv = c(q, True), c(k, True), c(v, True)
    co = CF.scaled_dot_product_attention(cq, ck, cv, attn_mask=c(m))
    assert co.dtype == getattr(ct, dtype)
    np.testing.assert_allclose(n(co).astype(np.float64), want.numpy(), rtol=tol, atol=tol)
    tq, tk, tv = [x.double().requires_grad_() for x in (q, k, v)]
    TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=m.double()).sum().backward()
    co.sum().backward()
    for a, b in ((cq, tq), (ck, tk), (cv, tv)):
        assert a.grad.dtype == getattr(ct, dtype)
        np.testing.assert_allclose(n(a.grad).astype(np.float64), b.grad.numpy(), rtol=10 * tol, atol=10 * tol)


@pytest.mark.fp64      # float64 against torch (the float32 paths are covered above)
def test_sdpa_dropout():
    torch.manual_seed(5)
    q, k, v = rn(2, 2, 9, 8), rn(2, 2, 11, 8), rn(2, 2, 11, 4)
    cq, ck, cv = c(q), c(k), c(v)
    # p = 0 is no dropout, exactly
    assert np.array_equal(n(CF.scaled_dot_product_attention(cq, ck, cv, dropout_p=0.0)),
                          n(CF.scaled_dot_product_attention(cq, ck, cv)))
    # reproducible with manual_seed; a different seed gives a different mask
    ct.manual_seed(7)
    a = n(CF.scaled_dot_product_attention(cq, ck, cv, dropout_p=0.3))
    ct.manual_seed(7)
    b = n(CF.scaled_dot_product_attention(cq, ck, cv, dropout_p=0.3))
    ct.manual_seed(8)
    d = n(CF.scaled_dot_product_attention(cq, ck, cv, dropout_p=0.3))
    assert np.array_equal(a, b) and not np.array_equal(a, d)
    # equal to the unfused attention with the same keep mask, gradients included (8-wide kernels too)
    wide = (rn(2, 2, 9, 16), rn(2, 2, 11, 16), rn(2, 2, 11, 8))
    for causal, q, k, v in ((False, q, k, v), (True, q, k, v), (True,) + wide):
        ct.manual_seed(11)
        gq, gk, gv = c(q, True), c(k, True), c(v, True)
        out = CF.scaled_dot_product_attention(gq, gk, gv, dropout_p=0.4, is_causal=causal)
        ct.manual_seed(11)
        keep = _attention.dropout_keep_mask((2, 2, 9, 11), 0.4, _attention._ctr(), ct.float64, gq.device)
        rq, rk, rv = c(q, True), c(k, True), c(v, True)
        ref = _attention.attention_unfused(rq, rk, rv, None, 0.4, causal, None, keep)
        close(out, n(ref))
        g = ct.tensor(np.random.RandomState(0).randn(2, 2, 9, v.shape[-1]))
        out.backward(g)
        ref.backward(g)
        for x, y in ((gq, rq), (gk, rk), (gv, rv)):
            close(x.grad, n(y.grad))
    # statistics of the keep mask: keep rate 1 - p, and E[output] matches no dropout
    ct.manual_seed(0)
    keep = n(_attention.dropout_keep_mask((4, 8, 64, 64), 0.25, _attention._ctr(), ct.float32, cq.device))
    assert abs(keep.mean() - 0.75) < 0.01
    ones = ct.ones(1, 1, 4, 6, dtype=ct.float64)
    vals = ct.ones(1, 1, 6, 1, dtype=ct.float64)
    keys = ct.ones(1, 1, 6, 6, dtype=ct.float64)
    outs = np.stack([n(CF.scaled_dot_product_attention(ones, keys, vals, dropout_p=0.5)) for _ in range(200)])
    assert abs(outs.mean() - 1.0) < 0.05          # inverted dropout keeps the expectation


@pytest.mark.fp64      # float64 against torch (the float32 paths are covered above)
def test_sdpa_errors():
    from _torchref import same_errors
    q = lambda m, *s, dt="float32": m.zeros(*s, dtype=getattr(m, dt))   # noqa: E731
    cases = [
        lambda m: m.nn.functional.scaled_dot_product_attention(q(m, 1, 1, 3, 4, dt="float64"), q(m, 1, 1, 3, 4),
                                                               q(m, 1, 1, 3, 4)),
        lambda m: m.nn.functional.scaled_dot_product_attention(q(m, 1, 1, 3, 4), q(m, 1, 1, 3, 4), q(m, 1, 1, 3, 4),
                                                               attn_mask=q(m, 3, 3, dt="int64")),
        lambda m: m.nn.functional.scaled_dot_product_attention(q(m, 1, 1, 3, 4), q(m, 1, 1, 3, 4), q(m, 1, 1, 3, 4),
                                                               attn_mask=q(m, 3, 3, dt="float64")),
        lambda m: m.nn.functional.scaled_dot_product_attention(q(m, 1, 4, 3, 4), q(m, 1, 3, 3, 4), q(m, 1, 3, 3, 4),
                                                               enable_gqa=True),
        lambda m: m.nn.functional.scaled_dot_product_attention(q(m, 1, 4, 3, 4), q(m, 1, 2, 3, 4), q(m, 1, 2, 3, 4)),
        lambda m: m.nn.functional.scaled_dot_product_attention(q(m, 1, 1, 3, 4), q(m, 1, 1, 3, 4), q(m, 1, 1, 3, 4),
                                                               attn_mask=q(m, 2, 3)),
        lambda m: m.nn.functional.scaled_dot_product_attention(q(m, 1, 1, 3, 4), q(m, 1, 1, 3, 4), q(m, 1, 1, 3, 4),
                                                               attn_mask=q(m, 3, 3).requires_grad_(), is_causal=True),
    ]
    same_errors(torch, ct, cases)


# ------------------------------------------------------------------------------------------------------ MHA

def copy_state(tm, cm):
    cm.load_state_dict({k: ct.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


@pytest.mark.parametrize("kw", [{}, {"add_bias_kv": True, "add_zero_attn": True}, {"kdim": 5, "vdim": 3, "bias": False},
                                {"batch_first": True}])
@pytest.mark.fp64      # float64 against torch (the float32 paths are covered above)
def test_multihead_attention(kw):
    torch.manual_seed(6)
    tm = torch.nn.MultiheadAttention(8, 2, **kw).double()
    cm = ct.nn.MultiheadAttention(8, 2, dtype=ct.float64, **kw)
    assert list(tm.state_dict()) == list(cm.state_dict())
    assert repr(tm) == repr(cm)
    assert [tuple(p.shape) for p in tm.parameters()] == [tuple(p.shape) for p in cm.parameters()]
    copy_state(tm, cm)
    q, k, v = rn(4, 3, 8), rn(6, 3, kw.get("kdim", 8)), rn(6, 3, kw.get("vdim", 8))
    if kw.get("batch_first"):
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
    kpm = torch.rand(3, 6) > 0.7
    kpm[:, 0] = False
    am = torch.rand(4, 6) > 0.8
    am[:, 0] = False
    for nw in (True, False):
        for avg in (True, False):
            tq = q.clone().requires_grad_()
            cq = c(q, True)
            to, tw = tm(tq, k, v, key_padding_mask=kpm, attn_mask=am, need_weights=nw, average_attn_weights=avg)
            co, cw = cm(cq, c(k), c(v), key_padding_mask=c(kpm), attn_mask=c(am), need_weights=nw,
                        average_attn_weights=avg)
            close(co, to)
            assert (tw is None) == (cw is None)
            if tw is not None:
                close(cw, tw)
            to.sum().backward()
            co.sum().backward()
            close(cq.grad, tq.grad)
    for (name, tp), cp in zip(tm.named_parameters(), cm.parameters()):
        close(cp.grad, tp.grad)
    # unbatched input, float mask, is_causal hint
    m = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    q2 = q[:, 0] if not kw.get("batch_first") else q[0]
    s2 = rn(4, kw.get("kdim", 8)), rn(4, kw.get("vdim", 8))
    to, _ = tm(q2, *s2, attn_mask=m, need_weights=False, is_causal=True)
    co, _ = cm(c(q2), c(s2[0]), c(s2[1]), attn_mask=c(m), need_weights=False, is_causal=True)
    close(co, to)
    # state_dicts move back to torch
    t2 = torch.nn.MultiheadAttention(8, 2, **kw).double()
    t2.load_state_dict({k: torch.from_numpy(n(v)) for k, v in cm.state_dict().items()})
    close(cm.in_proj_bias if cm.in_proj_bias is not None else cm.out_proj.weight,
          t2.in_proj_bias if t2.in_proj_bias is not None else t2.out_proj.weight)


def test_multihead_attention_init_and_errors():
    ct.manual_seed(0)
    m = ct.nn.MultiheadAttention(16, 4, add_bias_kv=True)
    assert n(m.in_proj_bias).tolist() == [0.0] * 48 and n(m.out_proj.bias).tolist() == [0.0] * 16
    bound = (6.0 / (16 + 48)) ** 0.5                     # xavier_uniform_ on (3E, E)
    assert np.abs(n(m.in_proj_weight)).max() <= bound and np.abs(n(m.in_proj_weight)).max() > 0.8 * bound
    assert type(m.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    for args in [(0, 2), (8, 0)]:
        with pytest.raises(ValueError) as want:
            torch.nn.MultiheadAttention(*args)
        with pytest.raises(ValueError) as got:
            ct.nn.MultiheadAttention(*args)
        assert str(got.value) == str(want.value)
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        ct.nn.MultiheadAttention(10, 3)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        ct.nn.MultiheadAttention(8, 2)(ct.zeros(3, 8), ct.zeros(3, 8), ct.zeros(3, 8), is_causal=True)


# ------------------------------------------------------------------------------------------------------ transformer

@pytest.mark.fp64      # float64 against torch (the float32 paths are covered above)
@pytest.mark.parametrize("norm_first,act", [(False, "relu"), (True, "gelu")])
def test_transformer_encoder(norm_first, act):
    torch.manual_seed(7)
    tol = 1e-9 if act == "relu" else 1e-6        # cltensor's float64 gelu (erf) agrees with torch's to ~1e-7
    tl = torch.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, activation=act, norm_first=norm_first,
                                          batch_first=True, dtype=torch.float64)
    cl = ct.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, activation=act, norm_first=norm_first,
                                       batch_first=True, dtype=ct.float64)
    te = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(16, dtype=torch.float64),
                                     enable_nested_tensor=False)
    ce = ct.nn.TransformerEncoder(cl, 2, norm=ct.nn.LayerNorm(16, dtype=ct.float64), enable_nested_tensor=False)
    assert repr(te) == repr(ce)
    assert list(te.state_dict()) == list(ce.state_dict())
    copy_state(te, ce)
    x = rn(3, 5, 16)
    kpm = torch.zeros(3, 5, dtype=torch.bool)
    kpm[1, 3:] = True
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
    for kw in ({"mask": mask, "is_causal": True}, {"src_key_padding_mask": kpm}, {}):
        tx, cx = x.clone().requires_grad_(), c(x, True)
        to = te(tx, **kw)
        co = ce(cx, **{k: c(v) if isinstance(v, torch.Tensor) else v for k, v in kw.items()})
        close(co, to, tol)
        g = torch.randn_like(to)
        to.backward(g)
        co.backward(c(g))
        close(cx.grad, tx.grad, tol)
    for (name, tp), cp in zip(te.named_parameters(), ce.parameters()):
        close(cp.grad, tp.grad, tol)


@pytest.mark.fp64      # float64 against torch (the float32 paths are covered above)
def test_transformer_decoder_and_full():
    torch.manual_seed(8)
    tt = torch.nn.Transformer(16, 2, 2, 2, 32, dropout=0.0, dtype=torch.float64)
    cT = ct.nn.Transformer(16, 2, 2, 2, 32, dropout=0.0, dtype=ct.float64)
    assert repr(tt) == repr(cT)
    assert list(tt.state_dict()) == list(cT.state_dict())
    copy_state(tt, cT)
    s, t = rn(5, 2, 16), rn(4, 2, 16)
    m = tt.generate_square_subsequent_mask(4, dtype=torch.float64)
    cm_ = ct.nn.Transformer.generate_square_subsequent_mask(4, dtype=ct.float64)
    close(cm_, m)
    ts, cs = s.clone().requires_grad_(), c(s, True)
    to = tt(ts, t, tgt_mask=m, tgt_is_causal=True)
    co = cT(cs, c(t), tgt_mask=c(m), tgt_is_causal=True)
    close(co, to, 1e-9)
    to.sum().backward()
    co.sum().backward()
    close(cs.grad, ts.grad, 1e-8)
    # decoder layer alone, norm_first, callable activation (shown in the repr as a module)
    td = torch.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, activation=torch.nn.GELU(), norm_first=True,
                                          bias=False, dtype=torch.float64)
    cd = ct.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, activation=ct.nn.GELU(), norm_first=True, bias=False,
                                       dtype=ct.float64)
    assert repr(td) == repr(cd) and list(td.state_dict()) == list(cd.state_dict())
    copy_state(td, cd)
    x, mem = rn(3, 2, 8), rn(6, 2, 8)
    close(cd(c(x), c(mem)), td(x, mem), 1e-6)      # gelu: see test_transformer_encoder
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        cT(ct.zeros(5, 2, 16, dtype=ct.float64), ct.zeros(4, 3, 16, dtype=ct.float64))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        ct.nn.TransformerEncoderLayer(8, 2, activation="tanh")


# ------------------------------------------------------------------------------------------------------ embeddings

def test_embedding_options():
    torch.manual_seed(9)
    w = rn(10, 4)
    idx = torch.tensor([[1, 2, 2], [0, 9, 2]])
    for kw in ({"padding_idx": 2}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
               {"scale_grad_by_freq": True, "padding_idx": 0}):
        tw, cw = w.clone().requires_grad_(), c(w, True)
        to = TF.embedding(idx, tw, **kw)
        co = CF.embedding(c(idx), cw, **kw)
        close(co, to)
        g = torch.randn_like(to)
        to.backward(g)
        co.backward(c(g))
        close(cw.grad, tw.grad)
    # max_norm renormalises the looked-up rows of the weight in place
    for nt in (2.0, 1.0):
        tw, cw = (w * 3).clone(), c(w * 3)
        to = TF.embedding(idx, tw, max_norm=1.5, norm_type=nt)
        co = CF.embedding(c(idx), cw, max_norm=1.5, norm_type=nt)
        close(co, to, 1e-7)
        close(cw, tw, 1e-7)
    te = torch.nn.Embedding(5, 3, padding_idx=1, max_norm=2.0, norm_type=1.0, scale_grad_by_freq=True, sparse=True)
    assert repr(ct.nn.Embedding(5, 3, padding_idx=1, max_norm=2.0, norm_type=1.0, scale_grad_by_freq=True,
                                sparse=True)) == repr(te)
    with pytest.raises(NotImplementedError, match="sparse"):
        ct.nn.Embedding(5, 3, sparse=True)(ct.tensor([1]))
    pre = ct.nn.Embedding.from_pretrained(c(w), padding_idx=3)
    assert not pre.weight.requires_grad and pre.padding_idx == 3
    close(pre(ct.tensor([3, 4])), w[[3, 4]])


@pytest.mark.fp64      # float64 against torch (the float32 paths are covered above)
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag(mode):
    torch.manual_seed(10)
    w = rn(10, 5)
    inp = torch.tensor([1, 2, 4, 5, 4, 3, 2, 9, 0, 0])
    cases = [dict(offsets=torch.tensor([0, 3, 3, 7])),                         # an empty bag
             dict(offsets=torch.tensor([0, 2, 6, 10]), include_last_offset=True),
             dict(offsets=torch.tensor([0, 4, 8]), padding_idx=4)]
    if mode == "sum":
        cases.append(dict(offsets=torch.tensor([0, 4, 8]), per_sample_weights=rn(10)))
    for kw in cases:
        tw, cw = w.clone().requires_grad_(), c(w, True)
        to = TF.embedding_bag(inp, tw, mode=mode, **kw)
        co = CF.embedding_bag(c(inp), cw, mode=mode, **{k: c(v) if isinstance(v, torch.Tensor) else v
                                                        for k, v in kw.items()})
        close(co, to)
        g = torch.randn_like(to)
        to.backward(g)
        co.backward(c(g))
        close(cw.grad, tw.grad)
    # scale_grad_by_freq: each row's gradient divided by its count in the input (PyTorch's CPU embedding_bag
    # miscounts here, so the reference is embedding's own scale_grad_by_freq)
    if mode != "max":
        cw = c(w, True)
        CF.embedding_bag(c(inp), cw, c(torch.tensor([0, 5])), mode=mode, scale_grad_by_freq=True).sum().backward()
        tw = w.clone().requires_grad_()
        TF.embedding(inp, tw, scale_grad_by_freq=True).sum().backward()
        want = tw.grad.numpy()
        if mode == "mean":
            want = want / 5
        close(cw.grad, want)
    # 2-D input (fixed-length bags), module with max_norm, repr
    i2 = torch.tensor([[1, 2, 3], [4, 4, 0]])
    tb = torch.nn.EmbeddingBag(10, 5, mode=mode, max_norm=1.0, padding_idx=0).double()
    cb = ct.nn.EmbeddingBag(10, 5, mode=mode, max_norm=1.0, padding_idx=0, dtype=ct.float64)
    assert repr(tb) == repr(cb)
    copy_state(tb, cb)
    close(cb(c(i2)), tb(i2), 1e-7)
    close(cb.weight, tb.weight, 1e-7)


def test_embedding_bag_errors():
    w = torch.randn(5, 3)
    cases = [((torch.tensor([[1, 2]]), w), {"offsets": torch.tensor([0])}, ValueError),
             ((torch.tensor([1, 2]), w), {}, ValueError),
             ((torch.tensor([1, 2]), w, torch.tensor([0])), {"mode": "mean", "per_sample_weights": torch.ones(2)},
              NotImplementedError),
             ((torch.tensor([1, 2]), w, torch.tensor([0])), {"mode": "foo"}, ValueError),
             ((torch.tensor([1, 2]), w, torch.tensor([1])), {}, RuntimeError),
             ((torch.tensor([1, 2]), w, torch.tensor([0, 3])), {}, RuntimeError),
             ((torch.tensor([1, 2]), w, torch.tensor([0])), {"mode": "sum", "per_sample_weights": torch.ones(3)},
              ValueError),
             ((torch.tensor([1, 7]), w, torch.tensor([0])), {}, RuntimeError),
             ((torch.tensor([1, 2]), w, torch.tensor([0])), {"mode": "max", "scale_grad_by_freq": True}, ValueError)]
    for args, kw, exc in cases:
        with pytest.raises(exc) as want:
            TF.embedding_bag(*args, **kw)
        with pytest.raises(exc) as got:
            CF.embedding_bag(*[c(a) for a in args], **{k: c(v) if isinstance(v, torch.Tensor) else v
                                                       for k, v in kw.items()})
        assert str(got.value) == str(want.value)


# ------------------------------------------------------------------------------------------------------ example

def test_char_gpt_example(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "char_gpt.py"), "--steps", "3",
                        "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "step 3/3" in r.stdout and "generated:" in r.stdout


@pytest.mark.parametrize("force", ["auto", "unfused"])
def test_auto_paths_agree(monkeypatch, force):
    """The unfused path (chosen automatically for small score matrices) gives the fused kernels' values and
    gradients, masks and causal included."""
    rng = np.random.default_rng(5)
    q, k, v = (ct.tensor(rng.standard_normal((2, 3, 7, 16)).astype(np.float32), requires_grad=True)
               for _ in range(3))
    mask = ct.tensor(rng.standard_normal((7, 7)).astype(np.float32))
    outs = []
    for mode in ("fused", force):
        monkeypatch.setattr(_attention, "FORCE", mode)
        for t in (q, k, v):
            t.grad = None
        o1 = CF.scaled_dot_product_attention(q, k, v, is_causal=True)
        o2 = CF.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        (o1.sum() + (o2 * o2).sum()).backward()
        outs.append([t.detach().cpu().numpy() for t in (o1, o2, q.grad, k.grad, v.grad)])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
