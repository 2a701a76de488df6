"""Every dtype through the nn functions with their own kernels or dtype rules (convolution, pooling,
normalisation, losses, activations): values, dtypes and shapes as PyTorch where PyTorch accepts the dtype, and
PyTorch's error type and message where it refuses it."""
import numpy as np
import pytest

import cltensor as ct

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64", "complex64"]


def _t(x):
    return x.flip(0)


CASES = {
    "relu": lambda F, x: F.relu(x),
    "relu6": lambda F, x: F.relu6(x),
    "leaky_relu": lambda F, x: F.leaky_relu(x, 0.1),
    "elu": lambda F, x: F.elu(x),
    "selu": lambda F, x: F.selu(x),
    "celu": lambda F, x: F.celu(x, 0.5),
    "hardtanh": lambda F, x: F.hardtanh(x, -1.5, 2.7),
    "hardtanh_pos": lambda F, x: F.hardtanh(x, 0.0, 2.0),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x),
    "hardswish": lambda F, x: F.hardswish(x),
    "mish": lambda F, x: F.mish(x),
    "gelu": lambda F, x: F.gelu(x),
    "gelu_tanh": lambda F, x: F.gelu(x, approximate="tanh"),
    "silu": lambda F, x: F.silu(x),
    "sigmoid": lambda F, x: F.sigmoid(x),
    "tanh": lambda F, x: F.tanh(x),
    "softplus": lambda F, x: F.softplus(x, 2.0),
    "logsigmoid": lambda F, x: F.logsigmoid(x),
    "softsign": lambda F, x: F.softsign(x),
    "tanhshrink": lambda F, x: F.tanhshrink(x),
    "threshold": lambda F, x: F.threshold(x, 0.5, 2.7),
    "softmax": lambda F, x: F.softmax(x, 1),
    "log_softmax": lambda F, x: F.log_softmax(x, 1),
    "glu": lambda F, x: F.glu(x, -1),
    "glu_odd": lambda F, x: F.glu(x, 1),
    "conv2d": lambda F, x: F.conv2d(x, x[:2, :, :2, :2], x[0, :2, 0, 0], padding=1),
    "conv2d_stride": lambda F, x: F.conv2d(x, x[:2, :, :3, :2], stride=(2, 1)),
    "conv2d_dilated": lambda F, x: F.conv2d(x, x[:2, :, :2, :2], dilation=2),
    "conv1d": lambda F, x: F.conv1d(x[0], x[0, :2, :, :2]),
    "max_pool2d": lambda F, x: F.max_pool2d(x, 2),
    "max_pool2d_indices": lambda F, x: F.max_pool2d(x, 3, 1, 1, return_indices=True),
    "max_pool2d_dilated": lambda F, x: F.max_pool2d(x, 2, 1, 0, 2, True, True),
    "max_pool2d_ceil": lambda F, x: F.max_pool2d(x[..., :3], 2, ceil_mode=True, return_indices=True),
    "max_pool2d_strided": lambda F, x: F.max_pool2d(x.transpose(2, 3)[:, ::2], 2, 1, return_indices=True),
    "max_pool1d": lambda F, x: F.max_pool1d(x[0], 2),
    "max_pool1d_indices": lambda F, x: F.max_pool1d(x[0], 3, 1, 1, return_indices=True),
    "avg_pool2d": lambda F, x: F.avg_pool2d(x, 2),
    "avg_pool2d_pad": lambda F, x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
    "avg_pool1d": lambda F, x: F.avg_pool1d(x[0], 2),
    "adaptive_avg_pool2d": lambda F, x: F.adaptive_avg_pool2d(x, 2),
    "adaptive_avg_pool1d": lambda F, x: F.adaptive_avg_pool1d(x[0], 2),
    "adaptive_max_pool2d": lambda F, x: F.adaptive_max_pool2d(x, 2, return_indices=True),
    "batch_norm": lambda F, x: F.batch_norm(x, None, None, training=True),
    "layer_norm": lambda F, x: F.layer_norm(x, (4,)),
    "group_norm": lambda F, x: F.group_norm(x, 3),
    "instance_norm": lambda F, x: F.instance_norm(x),
    "mse_loss": lambda F, x: F.mse_loss(x, _t(x)),
    "l1_loss": lambda F, x: F.l1_loss(x, _t(x)),
    "smooth_l1_loss": lambda F, x: F.smooth_l1_loss(x, _t(x)),
    "huber_loss": lambda F, x: F.huber_loss(x, _t(x)),
    "cross_entropy": lambda F, x: F.cross_entropy(x[:, :, 0, 0], x[:, 0, 0, 0].abs().long() % 3),
    "cross_entropy_2d": lambda F, x: F.cross_entropy(x, x[:, 0].abs().long() % 3),
    "nll_loss": lambda F, x: F.nll_loss(x[:, :, 0, 0], x[:, 0, 0, 0].abs().long() % 3),
    "nll_loss_2d": lambda F, x: F.nll_loss(x, x[:, 0].abs().long() % 3),
    "kl_div": lambda F, x: F.kl_div(x, _t(x), reduction="sum"),
    "poisson_nll_loss": lambda F, x: F.poisson_nll_loss(x, _t(x)),
    "bce": lambda F, x: F.binary_cross_entropy(x.abs().clamp(max=1), _t(x).abs().clamp(max=1)),
    "bce_logits": lambda F, x: F.binary_cross_entropy_with_logits(x, _t(x)),
    "embedding": lambda F, x: F.embedding(x[0, 0].abs().long() % 4, x[0, 0]),
}

# PyTorch accepts these, cltensor does not implement them (yet)
_MISSING = set()
# known deviations from PyTorch (none at present; a case listed here must fail, strict xfail)
_KNOWN = set()


def _data():
    return np.random.default_rng(7).integers(-3, 4, size=(2, 3, 4, 4))


def _run(m, fn, a, dt):
    x = m.tensor(a).to(getattr(m, dt))
    try:
        return fn(m.nn.functional, x), None
    except Exception as e:      # noqa: BLE001 - compared with PyTorch's exception below
        return None, e


def _compare(want, got, dt):
    ws = want if isinstance(want, tuple) else (want,)
    gs = got if isinstance(got, tuple) else (got,)
    assert len(ws) == len(gs)
    for w, g in zip(ws, gs):
        assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1]
        assert tuple(g.shape) == tuple(w.shape)
        wn = w.detach().numpy()
        gn = g.detach().cpu().numpy()
        if wn.dtype.kind in "biu":
            np.testing.assert_array_equal(gn, wn)
        else:
            tol = 2e-3 if dt == "float16" else (1e-5 if dt in ("float32", "complex64") else 1e-10)
            np.testing.assert_allclose(gn.astype(wn.dtype), wn, rtol=tol, atol=tol, equal_nan=True)


def _params():
    for name in sorted(CASES):
        for dt in DTYPES:
            if (name, dt) in _MISSING:
                yield pytest.param(name, dt, marks=pytest.mark.xfail(
                    strict=True, reason="PyTorch supports this dtype here; cltensor does not implement it"))
            elif (name, dt) in _KNOWN:
                yield pytest.param(name, dt, marks=pytest.mark.xfail(strict=True, reason="known deviation"))
            else:
                yield pytest.param(name, dt)


@pytest.mark.parametrize("name,dt", list(_params()))
def test_nn_dtype(name, dt):
    a = _data()
    want, werr = _run(torch, CASES[name], a, dt)
    got, gerr = _run(ct, CASES[name], a, dt)
    if werr is not None:
        assert gerr is not None, f"PyTorch raised {type(werr).__name__}: {werr}; cltensor returned a result"
        assert type(gerr) is type(werr) and str(gerr) == str(werr), (gerr, werr)
        return
    assert gerr is None, f"cltensor raised {type(gerr).__name__}: {gerr}"
    _compare(want, got, dt)


INT_DTYPES = ["uint8", "int8", "int16", "int32", "int64"]


@pytest.mark.parametrize("dt", INT_DTYPES + ["float16", "float32", "float64"])
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=(2, 3), stride=1, dilation=(2, 1), ceil_mode=True),
                                dict(kernel_size=3, stride=(1, 2), padding=(1, 0), ceil_mode=True)])
def test_max_pool2d_every_dtype(dt, kw):
    """Values and indices of max_pool2d (and max_pool1d) against PyTorch: the extremes of each integer type,
    ties (the first maximum wins) and padding (never the maximum), on a non-contiguous input."""
    rng = np.random.default_rng(3)
    info = np.iinfo(dt) if dt in INT_DTYPES else None
    a = rng.integers(0, 3, size=(2, 3, 9, 7))        # small values: many ties
    if info is not None:
        a = a.astype(np.int64) + info.min
        a[0, 0, 0, :3] = info.max
        a[1, 2, 4, 4] = info.min
    else:
        a = a - 1
    for m_out in ("2d", "1d"):
        res = []
        for m in (torch, ct):
            x = m.tensor(a).to(getattr(m, dt)).transpose(2, 3)      # (2, 3, 7, 9), strided
            if m_out == "2d":
                res.append(m.nn.functional.max_pool2d(x, return_indices=True, **kw))
            else:
                k1 = {k: (v[0] if isinstance(v, tuple) else v) for k, v in kw.items()}
                res.append(m.nn.functional.max_pool1d(x[0], return_indices=True, **k1))
        for w, g in zip(*res):
            assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1]
            np.testing.assert_array_equal(g.cpu().numpy(), w.numpy())


@pytest.mark.parametrize("dt", INT_DTYPES)
def test_max_pool_int_errors(dt):
    """Integer max pooling where PyTorch has none: max_pool1d without indices, adaptive max pooling."""
    from _torchref import same_errors
    a = np.arange(2 * 3 * 4 * 4).reshape(2, 3, 4, 4)

    def mk(m):
        return m.tensor(a).to(getattr(m, dt))
    same_errors(torch, ct, [lambda m: m.nn.functional.max_pool1d(mk(m)[0], 2),
                            lambda m: m.nn.functional.adaptive_max_pool2d(mk(m), 2),
                            lambda m: m.nn.MaxPool2d(2)(mk(m).bool())], NotImplementedError)


def test_max_pool2d_int_backward_free():
    """An integer max pool records no graph (integer tensors cannot require gradients)."""
    x = ct.tensor(np.arange(32).reshape(1, 2, 4, 4), dtype=ct.int32)
    y, i = ct.nn.functional.max_pool2d(x, 2, return_indices=True)
    assert y.grad_fn is None and y.dtype == ct.int32 and i.dtype == ct.int64
    assert y.tolist() == [[[[5, 7], [13, 15]], [[21, 23], [29, 31]]]]


def test_conv_shape_errors_name_the_callers_shapes():
    """conv1d reports the 3-D shapes PyTorch names (not those of the 2-D convolution it runs on)."""
    from _torchref import same_errors
    same_errors(torch, ct, [lambda m: m.nn.functional.conv1d(m.ones(3, 4, 5), m.ones(2, 2, 2)),
                            lambda m: m.nn.functional.conv1d(m.ones(4, 5), m.ones(2, 2, 2)),
                            lambda m: m.nn.functional.conv1d(m.ones(3, 4, 5), m.ones(2, 3, 2), groups=2),
                            lambda m: m.nn.functional.conv1d(m.ones(3, 4, 5), m.ones(3, 2, 2), groups=2),
                            lambda m: m.nn.functional.conv2d(m.ones(3, 4, 5, 5), m.ones(3, 2, 2, 2), groups=2)])
