"""The tiled elementwise layout (templates/elementwise.mako `tiled`): operands whose fastest dim is not the
output's (transposes, permutes, transposed outputs) are walked in TB x TB tiles, with a vector path for full
tiles with unit strides and a scalar path for edge tiles and other strides. Checked against numpy on odd and
tile-straddling sizes, stepped/negative-step/offset views, broadcasts, every dtype family, and that the tiled
kernel is the one used and new sizes build nothing."""
import numpy as np
import pytest

import cltensor as ct
from cltensor import _ew
from cltensor import _kernels as K
from _host import host

rng = np.random.default_rng(7)

SIZES = [(1, 1), (1, 7), (7, 1), (7, 7), (16, 16), (17, 33), (129, 7), (129, 129), (40, 48)]


def sample(dt, shape):
    if dt == "bool":
        return rng.random(shape) > 0.5
    if dt.startswith(("int", "uint")):
        return rng.integers(-50 if not dt.startswith("u") else 0, 50, shape).astype(dt)
    if dt.startswith("complex"):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    return rng.standard_normal(shape).astype(dt)


def used_tiled():
    rt = ct.rand(1)._st.rt
    return any(k[0] == "elementwise" and k[1] == "tiled" for k in rt.kernels)


@pytest.mark.parametrize("shape", SIZES)
@pytest.mark.parametrize("dt", ["float32", "float64", "int32", "int64", "int8", "int16", "uint8", "float16",
                                "complex64", "complex128"])
def test_add_transposed_operand(shape, dt):
    a = sample(dt, shape)
    b = sample(dt, shape[::-1])
    ta, tb = ct.tensor(a), ct.tensor(b)
    want = a + b.T
    got = host(ta + tb.T)
    if dt == "float16":
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)
    else:
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(host(tb.T - ta), b.T - a)


def test_tiled_kernel_is_used_and_sizes_build_nothing():
    a, b = ct.rand(64, 48), ct.rand(48, 64)
    host(a + b.T)
    assert used_tiled()
    n = K.stats["builds"]
    for s in [(5, 9), (33, 17), (100, 3), (257, 31)]:
        x, y = ct.rand(*s), ct.rand(s[1], s[0])
        np.testing.assert_array_equal(host(x + y.T), host(x) + host(y).T)
    assert K.stats["builds"] == n


def test_layout_choice():
    # output (4096, 1) contiguous, second operand transposed: tile over (rows, cols), operand kind 'T'
    shape, cst, kinds = _ew._tile_layout([64, 32], [[32, 1], [32, 1], [1, 64]])
    assert kinds == [None, "t", "T"] and shape == [64, 32]
    # no operand needs it: broadcast and same-order operands stay on the strided kernel
    assert _ew._tile_layout([64, 32], [[32, 1], [0, 1], [1, 0]])[2] is None
    # transposed output with contiguous inputs: the output's fast dim goes last
    shape, cst, kinds = _ew._tile_layout([64, 32], [[1, 64], [32, 1], [32, 1]])
    assert shape == [32, 64] and cst[0] == [64, 1] and kinds == [None, "T", "T"]


@pytest.mark.parametrize("shape", [(7, 7), (33, 129), (129, 20)])
def test_transposed_output(shape):
    a, b = sample("float32", shape), sample("float32", shape)
    o = ct.empty(shape[::-1])
    ct.add(ct.tensor(a), ct.tensor(b), out=o.T)
    np.testing.assert_array_equal(host(o), (a + b).T)
    o2 = ct.zeros(shape[::-1])
    o2.T.copy_(ct.tensor(a))
    np.testing.assert_array_equal(host(o2), a.T)


@pytest.mark.parametrize("shape", [(20, 37), (64, 64), (3, 129)])
def test_stepped_negative_offset_views(shape):
    a = sample("float32", (2 * shape[1] + 3, 2 * shape[0] + 5))
    b = sample("float32", shape)
    ta, tb = ct.tensor(a), ct.tensor(b)
    views = [
        (lambda x: x[::2, ::2][:shape[1], :shape[0]].T),            # stepped then transposed
        (lambda x: x[3:, 5:][:shape[1], :shape[0]].T),               # offset
        (lambda x: x.flip(0)[:shape[1], :shape[0]].T),               # negative step along the tile's rows
        (lambda x: x.flip(1)[:shape[1], :shape[0]].T),               # negative step along the columns
    ]
    na = [a[::2, ::2][:shape[1], :shape[0]].T, a[3:, 5:][:shape[1], :shape[0]].T,
          a[::-1][:shape[1], :shape[0]].T, a[:, ::-1][:shape[1], :shape[0]].T]
    for v, nv in zip(views, na):
        np.testing.assert_array_equal(host(v(ta) * tb), nv * b)
        np.testing.assert_array_equal(host(tb - v(ta)), b - nv)


@pytest.mark.parametrize("shape", [(7, 9), (48, 33), (129, 16)])
def test_broadcast_with_transposed(shape):
    a = sample("float32", shape[::-1])
    row, col = sample("float32", (shape[1],)), sample("float32", (shape[0], 1))
    ta = ct.tensor(a)
    np.testing.assert_allclose(host(ta.T + ct.tensor(row) * ct.tensor(col)), a.T + row * col, rtol=1e-6)
    np.testing.assert_array_equal(host(ta.T + 2.5), a.T + np.float32(2.5))
    np.testing.assert_array_equal(host(ct.where(ct.tensor(col) > 0, ta.T, ct.tensor(row))),
                                  np.where(col > 0, a.T, row))


@pytest.mark.parametrize("dt", ["float32", pytest.param("float64", marks=pytest.mark.fp64)])
@pytest.mark.parametrize("perm", [(2, 0, 1), (1, 2, 0), (0, 2, 1), (2, 1, 0)])
def test_permuted_3d(perm, dt):
    shape = (5, 18, 33)
    a = sample(dt, shape)
    b = sample(dt, tuple(np.array(shape)[list(perm)]))
    ta, tb = ct.tensor(a), ct.tensor(b)
    got = host(ta.permute(*perm) + tb)
    np.testing.assert_array_equal(got, a.transpose(perm) + b)
    got = host(tb.exp() * ta.permute(*perm))
    np.testing.assert_allclose(got, np.exp(b) * a.transpose(perm), rtol=1e-12 if dt == "float64" else 2e-6)


def test_batched_transposes_and_unary_ops():
    a = sample("float32", (6, 21, 35))
    ta = ct.tensor(a)
    np.testing.assert_allclose(host(ta.mT.exp()), np.exp(a.transpose(0, 2, 1)), rtol=1e-6)
    o = ct.empty(6, 21, 35)
    ct.neg(ta.mT.contiguous(), out=o.mT)
    np.testing.assert_array_equal(host(o), -a)
    b = sample("float32", (6, 35, 21))
    np.testing.assert_allclose(host(ct.maximum(ta, ct.tensor(b).mT)), np.maximum(a, b.transpose(0, 2, 1)))


def test_half_and_mixed_dtypes():
    a = sample("float16", (37, 50))
    b = sample("float32", (50, 37))
    got = (ct.tensor(a) + ct.tensor(b).T)
    assert got.dtype is ct.float32
    np.testing.assert_allclose(host(got), a.astype(np.float32) + b.T, rtol=1e-6)
    h = ct.tensor(a)
    np.testing.assert_array_equal(host(h.T * 2), (a.T * np.float16(2)))
    o = ct.empty(50, 37, dtype=ct.float16)
    ct.add(h.T, h.T, out=o)
    np.testing.assert_array_equal(host(o), a.T + a.T)
    i = sample("int32", (40, 33))
    f = sample("float32", (33, 40))
    got = ct.tensor(i).T * ct.tensor(f)
    np.testing.assert_allclose(host(got), i.T * f, rtol=1e-6)


def test_bool_and_inplace_through_view():
    a = sample("bool", (33, 20))
    b = sample("bool", (20, 33))
    np.testing.assert_array_equal(host(ct.tensor(a) & ct.tensor(b).T), a & b.T)
    base = sample("float32", (40, 30))
    tb = ct.tensor(base.copy())
    add = sample("float32", (30, 40))
    tb.T.add_(ct.tensor(add))
    np.testing.assert_array_equal(host(tb), base + add.T)


@pytest.mark.parametrize("cols", [1, 7, 255, 256, 257, 600])
def test_unit_stride_rows_with_broadcasts(cols):
    # strided kernel with a unit-stride output: unit ('u'), broadcast-per-row ('z') and stepped ('t') operands,
    # full chunks and the partial tail of each row
    a = sample("float32", (5, cols))
    row = sample("float32", (cols,))
    col = sample("float32", (5, 1))
    st = sample("float32", (5, 2 * cols))
    ta, tr, tc, ts = ct.tensor(a), ct.tensor(row), ct.tensor(col), ct.tensor(st)
    np.testing.assert_allclose(host(ta + tr * tc - ts[:, ::2]), a + row * col - st[:, ::2], rtol=1e-6)
    np.testing.assert_array_equal(host(ta[:, None, :] + tr), a[:, None, :] + row)
    h = ct.tensor(a.astype(np.float16))
    np.testing.assert_array_equal(host(h + tc.half()), a.astype(np.float16) + col.astype(np.float16))
