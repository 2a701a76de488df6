"""max_pool2d's row kernels (templates/nn.mako maxpool_fwd_rows / maxpool_bwd_rows): forward on any input strides,
backward through the non-overlapping-window kernel (stride >= kernel, dilation 1) with padding, ceil_mode,
stride > kernel, odd sizes, NaN and float16 / float64, against a numpy reference of PyTorch's semantics."""
import numpy as np
import pytest

import cltensor as ct
import cltensor.nn.functional as F

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
    np.testing.assert_array_equal(y.detach().numpy(), want)
    np.testing.assert_array_equal(ind.numpy(), wind)
    g = rng.standard_normal(want.shape).astype(dt)
    y.backward(ct.tensor(g))
    gx = np.zeros((2, 3, H * W))
    for a in range(2):
        for c in range(3):
            np.add.at(gx[a, c], wind[a, c].reshape(-1), g[a, c].reshape(-1))
    np.testing.assert_allclose(x.grad.numpy(), gx.reshape(xn.shape), rtol=1e-6)


def test_max_pool_rows_strided_input_and_half():
    base = rng.standard_normal((3, 4, 10, 12)).astype(np.float32)
    xv = ct.tensor(base).permute(1, 0, 3, 2)[:, :, ::2, 1:]            # (4, 3, 6, 9), non-contiguous
    nv = base.transpose(1, 0, 3, 2)[:, :, ::2, 1:]
    y = F.max_pool2d(xv, 2, ceil_mode=True)
    np.testing.assert_array_equal(y.numpy(), ref_pool(nv, (2, 2), (2, 2), (0, 0), True)[0])
    h = rng.standard_normal((2, 2, 6, 6)).astype(np.float16)
    th = ct.tensor(h, requires_grad=True)
    yh = F.max_pool2d(th, 2)
    np.testing.assert_array_equal(yh.detach().numpy(), ref_pool(h, (2, 2), (2, 2), (0, 0), False)[0])
    yh.sum().backward()
    assert th.grad.dtype == ct.float16
    np.testing.assert_array_equal(th.grad.numpy().reshape(2, 2, 3, 2, 3, 2).sum((3, 5)), np.ones((2, 2, 3, 3)))
