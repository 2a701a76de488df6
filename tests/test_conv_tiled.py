"""The register-tiled convolution kernels (templates/conv.mako conv_tile / conv_dw / pad2d, forced on any device):
forward, stride-1 input gradient (the flipped-kernel convolution of the padded gout) and the direct weight and
bias gradients, over pixel blocks of 1/2/4/8/16 columns x several rows, shifted last column blocks, clamped last
rows, row strides, dilation, groups, strided inputs, float32 / float64; im2col with several images per work-item.
The vectorised 2x2 max pooling forward / backward (NaN, ties, odd sizes, strided input) and batch norm's
vectorised per-channel partials. All against torch."""
import numpy as np
import pytest
import torch

import cltensor as ct
import cltensor.nn.functional as F
from cltensor.nn import _conv
from _host import host

rng = np.random.default_rng(7)


@pytest.fixture
def direct(monkeypatch):
    monkeypatch.setattr(_conv, "CONV_FORWARD", "direct")


def _conv_both(xn, wn, bn, xslice=None, **kw):
    res = []
    for lib in (ct, torch):
        x = lib.tensor(xn, requires_grad=True)
        w = lib.tensor(wn, requires_grad=True)
        b = lib.tensor(bn, requires_grad=True) if bn is not None else None
        xv = x if xslice is None else xslice(x)
        y = lib.nn.functional.conv2d(xv, w, b, **kw)
        gy = lib.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape)).astype(xn.dtype))
        y.backward(gy)
        res.append([host(y), host(x.grad), host(w.grad)] + ([host(b.grad)] if b is not None else []))
    return res


def _close(a, b, dt):
    tol = 2e-4 if dt == np.float32 else 1e-10
    for u, v in zip(a, b):
        assert u.shape == v.shape
        np.testing.assert_allclose(u, v, rtol=tol, atol=tol)


@pytest.mark.parametrize("N,C,H,W,O,k,stride,pad,dil,groups", [
    (2, 3, 5, 19, 17, 3, 1, 1, 1, 1),        # 16-wide blocks, shifted last block, channels past a block of 16
    (3, 4, 8, 8, 6, 3, 1, 1, 1, 2),          # 8 x 2 pixel blocks, groups
    (2, 5, 4, 4, 9, 3, 1, 1, 1, 1),          # 4 x 4 blocks (weight gradient through im2col + GEMM)
    (2, 2, 3, 2, 3, (3, 1), 1, (1, 0), 1, 1),  # 2-wide blocks, clamped rows
    (2, 2, 7, 1, 4, 3, 1, 1, 1, 1),          # 1-wide blocks
    (1, 3, 9, 11, 5, (2, 3), (2, 1), (1, 2), (2, 1), 1),  # row stride, dilation, asymmetric kernel
    (2, 2, 6, 10, 4, 5, 1, 1, 1, 1),         # padding < dilation * (k - 1) / 2 ...
    (2, 2, 6, 10, 4, 3, 1, 3, 1, 1),         # ... and padding > dilation * (k - 1): input gradient via col2im
    (1, 2, 5, 12, 3, (2, 7), 1, (1, 3), 1, 1),  # a kernel width without a compile-time tap count
])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_conv_tiled_forward_backward(direct, N, C, H, W, O, k, stride, pad, dil, groups, dt):
    kk = k if isinstance(k, tuple) else (k, k)
    xn = rng.standard_normal((N, C, H, W)).astype(dt)
    wn = rng.standard_normal((O, C // groups) + kk).astype(dt)
    bn = rng.standard_normal(O).astype(dt)
    a, b = _conv_both(xn, wn, bn, stride=stride, padding=pad, dilation=dil, groups=groups)
    _close(a, b, dt)


def test_conv_tiled_strided_input_no_bias_no_padding(direct):
    xn = rng.standard_normal((3, 4, 10, 12)).astype(np.float32)
    wn = rng.standard_normal((5, 2, 3, 3)).astype(np.float32)
    # a channel-sliced, row-strided view: the padding-free path reads it in place (unit column stride)
    a, b = _conv_both(xn, wn, None, xslice=lambda x: x[:, 1:3, ::2], padding=0)
    _close(a, b, np.float32)
    a, b = _conv_both(xn, wn, None, xslice=lambda x: x[:, 1:3, :, ::2], padding=1)
    _close(a, b, np.float32)


def test_conv_tiled_weight_only_and_input_only_grads(direct):
    xn = rng.standard_normal((2, 3, 6, 20)).astype(np.float32)
    wn = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    for xg, wg in ((False, True), (True, False)):
        outs = []
        for lib in (ct, torch):
            x = lib.tensor(xn, requires_grad=xg)
            w = lib.tensor(wn, requires_grad=wg)
            b = lib.tensor(np.ones(4, np.float32), requires_grad=True)
            y = lib.nn.functional.conv2d(x, w, b, padding=1)
            y.sum().backward()
            outs.append([host(t.grad) for t in (x, w, b) if t.grad is not None])
        _close(outs[0], outs[1], np.float32)


@pytest.mark.fp64
def test_conv_tiled_gradcheck(direct):
    x = ct.tensor(rng.standard_normal((1, 2, 3, 5)), dtype=ct.float64, requires_grad=True)
    w = ct.tensor(rng.standard_normal((3, 2, 2, 3)), dtype=ct.float64, requires_grad=True)
    b = ct.tensor(rng.standard_normal(3), dtype=ct.float64, requires_grad=True)
    assert ct.autograd.gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1), (x, w, b))


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (2, 2, 5, 7), (1, 2, 4, 34), (2, 1, 2, 2), (1, 2, 9, 17)])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_maxpool2x2_vectorised(shape, dt):
    xn = rng.standard_normal(shape).astype(dt)
    xn[0, 0, 0, 1] = np.nan
    xn[0, 0, 1, 0] = np.nan            # two NaNs in one window: the last one wins
    xn[-1, -1, :2, 2:4] = 0.5          # ties: the first one wins
    res = []
    for lib in (ct, torch):
        x = lib.tensor(xn, requires_grad=True)
        y, i = lib.nn.functional.max_pool2d(x, 2, return_indices=True)
        y.backward(lib.tensor(np.arange(y.numel()).reshape(tuple(y.shape)).astype(dt)))
        res.append((host(y), host(i), host(x.grad)))
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)


def test_maxpool2x2_strided_input():
    xn = rng.standard_normal((2, 6, 9, 3)).astype(np.float32)
    got = F.max_pool2d(ct.tensor(xn).permute(0, 3, 1, 2)[:, :, 1:], 2)
    want = torch.nn.functional.max_pool2d(torch.tensor(xn).permute(0, 3, 1, 2)[:, :, 1:], 2)
    np.testing.assert_array_equal(host(got), want.numpy())


@pytest.mark.parametrize("shape", [(4, 3, 4, 4), (3, 2, 8), (2, 3, 4, 6), (2, 2, 2, 2, 2), (2, 2, 16, 1100)])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_batch_norm_vector_partials(shape, dt):
    # one work-item per channel (bn_chan1) up to 2^15 elements per channel, vector partials beyond
    xn = (rng.standard_normal(shape) * 3 + 1.5).astype(dt)
    gn = rng.standard_normal(shape).astype(dt)
    res = []
    for lib in (ct, torch):
        m = {3: lib.nn.BatchNorm1d, 4: lib.nn.BatchNorm2d, 5: lib.nn.BatchNorm3d}[len(shape)](shape[1])
        m = m.double() if dt == np.float64 else m
        x = lib.tensor(xn, requires_grad=True)
        y = m(x)
        y.backward(lib.tensor(gn))
        res.append([host(t) for t in (y, x.grad, m.weight.grad, m.bias.grad, m.running_mean, m.running_var)])
    tol = 1e-4 if dt == np.float32 else 1e-10
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("kw", [dict(momentum=None), dict(affine=False), dict(track_running_stats=False)])
def test_batch_norm_one_launch_options(kw):
    xn = rng.standard_normal((3, 4, 2, 4)).astype(np.float32)
    res = []
    for lib in (ct, torch):
        m = lib.nn.BatchNorm2d(4, **kw)
        x = lib.tensor(xn, requires_grad=True)
        for _ in range(2):
            y = m(x)
        y.backward(lib.tensor(np.sin(np.arange(y.numel())).reshape(tuple(y.shape)).astype(np.float32)))
        res.append([host(y), host(x.grad)] + [host(t) for t in (m.running_mean, m.running_var) if t is not None])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
