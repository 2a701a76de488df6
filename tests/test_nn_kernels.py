"""nn kernels on CPU devices. max_pool2d's row kernels (templates/pool.mako maxpool_fwd_rows / maxpool_bwd_rows): forward on any input strides,
backward through the non-overlapping-window kernel (stride >= kernel, dilation 1) with padding, ceil_mode,
stride > kernel, odd sizes, NaN and float16 / float64, against a numpy reference of PyTorch's semantics.
The direct convolution on a zero-padded copy of the input with 4/8/16 output columns per work-item: paddings,
strides, dilation, groups, strided inputs, 'same', float16/32/64 against a numpy convolution."""
import numpy as np
import pytest

import cltensor as ct
import cltensor.nn.functional as F
from _host import host

rng = np.random.default_rng(3)


def ref_pool(x, k, s, p, ceil):
    N, C, H, W = x.shape

    def osz(n, kk, ss, pp):
        o = (n + 2 * pp - kk + (ss - 1 if ceil else 0)) // ss + 1
        if ceil and (o - 1) * ss >= n + pp:
            o -= 1
        return o
    OH, OW = osz(H, k[0], s[0], p[0]), osz(W, k[1], s[1], p[1])
    out = np.full((N, C, OH, OW), -np.inf, x.dtype)
    ind = np.full((N, C, OH, OW), -1, np.int64)
    gx = np.zeros(x.shape, np.float64)
    for i in range(OH):
        for j in range(OW):
            for a in range(k[0]):
                for b in range(k[1]):
                    h, w = i * s[0] - p[0] + a, j * s[1] - p[1] + b
                    if 0 <= h < H and 0 <= w < W:
                        v = x[:, :, h, w]
                        take = (ind[:, :, i, j] < 0) | (v > out[:, :, i, j]) | np.isnan(v)
                        out[:, :, i, j] = np.where(take, v, out[:, :, i, j])
                        ind[:, :, i, j] = np.where(take, h * W + w, ind[:, :, i, j])
    return out, ind


@pytest.mark.parametrize("H,W,k,s,p,ceil", [
    (8, 8, (2, 2), (2, 2), (0, 0), False),
    (9, 7, (2, 2), (2, 2), (1, 1), False),
    (9, 7, (2, 2), (2, 2), (0, 0), True),
    (11, 10, (2, 3), (3, 4), (1, 1), True),       # stride > kernel: gaps between windows
    (5, 13, (3, 1), (3, 2), (1, 0), False),
    (1, 1, (1, 1), (1, 1), (0, 0), False),
])
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_max_pool_rows_forward_backward(H, W, k, s, p, ceil, dt):
    xn = rng.standard_normal((2, 3, H, W)).astype(dt)
    xn[0, 1, 0, 0] = np.nan
    x = ct.tensor(xn, requires_grad=True)
    y, ind = F.max_pool2d(x, k, s, p, ceil_mode=ceil, return_indices=True)
    want, wind = ref_pool(xn, k, s, p, ceil)
    np.testing.assert_array_equal(host(y.detach()), want)
    np.testing.assert_array_equal(host(ind), wind)
    g = rng.standard_normal(want.shape).astype(dt)
    y.backward(ct.tensor(g))
    gx = np.zeros((2, 3, H * W))
    for a in range(2):
        for c in range(3):
            np.add.at(gx[a, c], wind[a, c].reshape(-1), g[a, c].reshape(-1))
    np.testing.assert_allclose(host(x.grad), gx.reshape(xn.shape), rtol=1e-6)


def test_max_pool_rows_strided_input_and_half():
    base = rng.standard_normal((3, 4, 10, 12)).astype(np.float32)
    xv = ct.tensor(base).permute(1, 0, 3, 2)[:, :, ::2, 1:]            # (4, 3, 6, 9), non-contiguous
    nv = base.transpose(1, 0, 3, 2)[:, :, ::2, 1:]
    y = F.max_pool2d(xv, 2, ceil_mode=True)
    np.testing.assert_array_equal(host(y), ref_pool(nv, (2, 2), (2, 2), (0, 0), True)[0])
    h = rng.standard_normal((2, 2, 6, 6)).astype(np.float16)
    th = ct.tensor(h, requires_grad=True)
    yh = F.max_pool2d(th, 2)
    np.testing.assert_array_equal(host(yh.detach()), ref_pool(h, (2, 2), (2, 2), (0, 0), False)[0])
    yh.sum().backward()
    assert th.grad.dtype == ct.float16
    np.testing.assert_array_equal(host(th.grad).reshape(2, 2, 3, 2, 3, 2).sum((3, 5)), np.ones((2, 2, 3, 3)))


def ref_conv(x, w, b, stride, padding, dilation, groups):
    N, C, H, W = x.shape
    O, Cg, KH, KW = w.shape
    ph, pw = padding
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    xp[:, :, ph:ph + H, pw:pw + W] = x
    OH = (H + 2 * ph - dilation[0] * (KH - 1) - 1) // stride[0] + 1
    OW = (W + 2 * pw - dilation[1] * (KW - 1) - 1) // stride[1] + 1
    out = np.zeros((N, O, OH, OW))
    Og = O // groups
    for o in range(O):
        g = o // Og
        for kh in range(KH):
            for kw in range(KW):
                hs, ws = kh * dilation[0], kw * dilation[1]
                patch = xp[:, g * Cg:(g + 1) * Cg, hs:hs + stride[0] * OH:stride[0], ws:ws + stride[1] * OW:stride[1]]
                out[:, o] += np.einsum("nchw,c->nhw", patch, w[o, :, kh, kw])
    if b is not None:
        out += b[None, :, None, None]
    return out


@pytest.mark.parametrize("H,W,pad,stride,dil,groups", [
    (8, 8, (1, 1), (1, 1), (1, 1), 1), (4, 4, (1, 1), (1, 1), (1, 1), 1), (3, 1, (1, 1), (1, 1), (1, 1), 1),
    (6, 13, (2, 0), (1, 1), (1, 1), 1), (9, 19, (1, 2), (2, 2), (1, 1), 2), (7, 33, (2, 2), (1, 1), (2, 1), 1),
])
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_conv_direct_padded_widths(H, W, pad, stride, dil, groups, dt):
    # the direct kernel on a zero-padded copy, with 4/8/16 output columns per work-item
    xn = rng.standard_normal((2, 4, H, W)).astype(dt)
    wn = rng.standard_normal((6, 4 // groups, 3, 3)).astype(dt)
    bn = rng.standard_normal(6).astype(dt)
    got = F.conv2d(ct.tensor(xn), ct.tensor(wn), ct.tensor(bn), stride=stride, padding=pad, dilation=dil,
                   groups=groups)
    want = ref_conv(xn, wn, bn, stride, pad, dil, groups)
    np.testing.assert_allclose(host(got), want, rtol=1e-4 if dt == "float32" else 1e-10,
                               atol=1e-4 if dt == "float32" else 1e-10)


def test_conv_direct_padded_strided_input_and_same():
    base = rng.standard_normal((3, 2, 12, 10)).astype(np.float32)
    xv = ct.tensor(base).permute(1, 0, 3, 2)[:, :, 1:, ::2]        # (2, 3, 9, 6), non-contiguous
    nv = base.transpose(1, 0, 3, 2)[:, :, 1:, ::2]
    wn = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    got = F.conv2d(xv, ct.tensor(wn), padding="same")
    np.testing.assert_allclose(host(got), ref_conv(nv, wn, None, (1, 1), (1, 1), (1, 1), 1), rtol=1e-4, atol=1e-4)
    h = rng.standard_normal((1, 3, 5, 7)).astype(np.float16)
    got = F.conv2d(ct.tensor(h), ct.tensor(wn.astype(np.float16)), padding=1)
    want = ref_conv(h.astype(np.float64), wn.astype(np.float16).astype(np.float64), None, (1, 1), (1, 1), (1, 1), 1)
    np.testing.assert_allclose(host(got).astype(np.float64), want, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("shape", [(64, 32, 8, 8), (3, 5, 1000), (7, 3), (2, 4, 37, 3), (2, 2, 1)])
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_batch_norm_partials(shape, dt):
    # per-channel partial sums over runs of the (N, S) plane, many partials per channel, then combined
    xn = (rng.standard_normal(shape) * 3 + 1.5).astype(dt)
    gn = rng.standard_normal(shape).astype(dt)
    C = shape[1]
    bn = (ct.nn.BatchNorm2d if len(shape) == 4 else ct.nn.BatchNorm1d)(C).to(getattr(ct, dt))
    x = ct.tensor(xn, requires_grad=True)
    y = bn(x)
    y.backward(ct.tensor(gn))
    ax = (0,) + tuple(range(2, len(shape)))
    bshape = (1, C) + (1,) * (len(shape) - 2)
    x64 = xn.astype(np.float64)
    mu = x64.mean(ax)
    var = x64.var(ax)
    xh = (x64 - mu.reshape(bshape)) / np.sqrt(var.reshape(bshape) + 1e-5)
    tol = dict(rtol=2e-4, atol=2e-4) if dt == "float32" else dict(rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(host(y.detach()), xh, **tol)
    m = x64.size // C
    np.testing.assert_allclose(host(bn.running_mean), 0.1 * mu, **tol)
    np.testing.assert_allclose(host(bn.running_var), 0.9 + 0.1 * var * m / max(m - 1, 1), **tol)
    g64 = gn.astype(np.float64)
    gsum = g64.sum(ax).reshape(bshape)
    gxh = (g64 * xh).sum(ax).reshape(bshape)
    dx = (g64 - gsum / m - xh * gxh / m) / np.sqrt(var.reshape(bshape) + 1e-5)
    np.testing.assert_allclose(host(x.grad), dx, **tol)
    np.testing.assert_allclose(host(bn.weight.grad), gxh.reshape(-1), **tol)
    np.testing.assert_allclose(host(bn.bias.grad), gsum.reshape(-1), **tol)
