"""cltensor.onnx.export: exported files pass onnx's checker and run in onnxruntime (CPU) with the outputs cltensor
computes; parameters are initializers named by their state_dict keys; operations without a translation, and
computations the exporter cannot see, raise errors naming them."""
import io

import numpy as np
import pytest

import cltensor as ct
from cltensor import nn
import cltensor.nn.functional as F
from _host import host

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _export(model, *xs, **kw):
    f = io.BytesIO()
    ct.onnx.export(model, tuple(xs), f, **kw)
    return f.getvalue()


def _check(model, *xs, rtol=1e-5, atol=1e-5, **kw):
    data = _export(model, *xs, **kw)
    onnx.checker.check_model(onnx.load_from_string(data))
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = sess.run(None, {i.name: host(x) for i, x in zip(sess.get_inputs(), xs)})
    ref = model(*xs)
    ref = [r for r in (ref if isinstance(ref, (tuple, list)) else (ref,)) if r is not None]
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        r = host(r.detach())
        assert g.shape == r.shape and g.dtype == r.dtype
        np.testing.assert_allclose(g, r, rtol=rtol, atol=atol)
    return onnx.load_from_string(data)


def test_mlp_initializers_named_like_state_dict():
    ct.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3), nn.Softmax(dim=-1)).eval()
    proto = _check(m, ct.randn(5, 4), input_names=["x"], output_names=["probs"])
    assert {i.name for i in proto.graph.initializer} == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert [i.name for i in proto.graph.input] == ["x"] and [o.name for o in proto.graph.output] == ["probs"]
    assert proto.opset_import[0].version == 17


class _CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 8, 3, stride=2, padding="valid", bias=False)
        self.c3 = nn.Conv2d(8, 8, 3, padding="same", groups=2, dilation=2)
        self.gn = nn.GroupNorm(2, 8)
        self.fc = nn.Linear(8, 10)
        self.dp = nn.Dropout(0.3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.c1(x))), 2)
        x = F.avg_pool2d(F.gelu(self.c2(F.pad(x, (1, 1, 1, 1), mode="reflect"))), 2, stride=1, padding=1,
                         count_include_pad=False)
        x = F.silu(self.gn(self.c3(x)))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return F.log_softmax(self.fc(self.dp(x)), dim=1)


def test_cnn_conv_norm_pool_dropout():
    ct.manual_seed(1)
    m = _CNN()
    m(ct.randn(4, 1, 12, 12))              # moves the BatchNorm running statistics off their initial values
    m.eval()
    _check(m, ct.randn(3, 1, 12, 12))


@pytest.mark.parametrize("batch_first", [True, False])
def test_transformer_encoder_layer(batch_first):
    ct.manual_seed(2)
    layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=batch_first, activation="gelu").eval()
    x = ct.randn(2, 5, 16) if batch_first else ct.randn(5, 2, 16)
    _check(layer, x, atol=2e-5)


class _Attn(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 16)
        self.mha = nn.MultiheadAttention(16, 2, batch_first=True)
        self.ln = nn.LayerNorm(16)

    def forward(self, idx, pad):
        x = self.emb(idx)
        L = idx.shape[1]
        causal = ct.ones(L, L, dtype=ct.bool).triu(1)
        y, w = self.mha(x, x, x, key_padding_mask=pad, attn_mask=causal, average_attn_weights=True)
        h = self.ln(x + y)
        return h[:, -1, :], w


def test_attention_masks_and_weights():
    ct.manual_seed(3)
    m = _Attn().eval()
    idx = ct.tensor([[1, 2, 3, 4], [5, 6, 7, 8]])
    pad = ct.tensor([[False, False, False, False], [False, False, False, True]])
    _check(m, idx, pad)


def test_sdpa_causal_and_bool_mask():
    def f(q, k, v, mask):
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        b = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.3)
        return a + b
    ct.manual_seed(4)
    q, k, v = ct.randn(2, 3, 5, 8), ct.randn(2, 3, 5, 8), ct.randn(2, 3, 5, 8)
    mask = ct.rand(5, 5) > 0.3
    mask[:, 0] = True
    _check(f, q, k, v, mask)


def test_shape_ops_indexing_and_elementwise():
    def f(x, i):
        a = x.view(2, 3, 4).permute(2, 0, 1).contiguous()
        b = a.transpose(0, 2).reshape(-1, 4).unsqueeze(0).expand(2, 6, 4)
        c = ct.cat([b, b * 2], dim=1)[:, 1:10:2, ...]
        p, q = c.chunk(2, dim=-1)
        d = ct.stack([p.sum(-1), q.mean(-1), p.amax(-1)], dim=0)
        e = ct.where(d > 0.5, d, -d).clamp(-1.0, 2.0) ** 2 + 1
        g = x.T @ x + x.t().mm(x)
        h = (i + 1) * 2
        sel = x[:, 2] - x.select(1, 3) + x.narrow(1, 0, 1).squeeze(1)
        return e.argmax(-1), g.abs().sqrt().exp().log().tanh().sigmoid(), h.float() / 3, sel.cumsum(0), \
            ct.masked_fill(x, x < 0, 0.0).softmax(0), x[i[:2]]
    ct.manual_seed(5)
    _check(f, ct.randn(6, 4), ct.tensor([3, 0, 2]))


def test_activations():
    def f(x):                   # (the list is built at call time: functions are looked up while exporting)
        fs = [F.relu6, F.hardtanh, F.leaky_relu, F.elu, F.selu, F.celu, F.softplus, F.mish, F.hardswish,
              F.hardsigmoid, F.logsigmoid, F.softsign, lambda x: F.gelu(x, approximate="tanh"),
              lambda x: F.softplus(x, beta=2.0, threshold=1.0), lambda x: F.leaky_relu(x, 0.2)]
        return tuple(fn(x) for fn in fs)
    x = ct.linspace(-8, 8, 41).reshape(1, 41)
    _check(f, x)


def test_file_path_and_opset(tmp_path):
    m = nn.Linear(3, 2).eval()
    p = tmp_path / "m.onnx"
    ct.onnx.export(m, ct.randn(1, 3), str(p), opset_version=18)
    proto = onnx.load(str(p))
    assert proto.opset_import[0].version == 18
    with pytest.raises(ValueError, match="opset"):
        ct.onnx.export(m, ct.randn(1, 3), io.BytesIO(), opset_version=11)


def test_errors_name_the_operation():
    with pytest.raises(ct.onnx.UnsupportedOperatorError, match="'cltensor.sort'"):
        _export(lambda x: ct.sort(x)[0], ct.randn(4))
    with pytest.raises(ct.onnx.UnsupportedOperatorError, match="Tensor.cumprod"):
        _export(lambda x: x.cumprod(0), ct.randn(4))
    m = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    with pytest.raises(ct.onnx.UnsupportedOperatorError, match="dropout in training mode"):
        _export(m, ct.randn(2, 3), training=ct.onnx.TrainingMode.TRAINING)
    with pytest.raises(ct.onnx.OnnxExporterError, match="dynamic_axes"):
        _export(nn.Linear(3, 3), ct.randn(2, 3), dynamic_axes={"x": {0: "batch"}})
    from cltensor import _ops

    def private(x):
        return _ops.apply("exp", x) + 1         # a private route: its kernel is not a recorded operation
    with pytest.raises(ct.onnx.OnnxExporterError, match="outside any recorded operation"):
        _export(private, ct.randn(3))
    # the export leaves nothing patched behind, and the model's training flag as it was
    m.train()
    _export(nn.Sequential(nn.Linear(3, 3)).train(), ct.randn(2, 3))
    assert not ct.onnx.is_in_onnx_export() and "wrapped" not in repr(ct.add) and ct.add.__module__ != __name__
    assert getattr(ct.Tensor.__add__, "__wrapped__", None) is None
