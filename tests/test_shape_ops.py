"""Copying shape ops (cat/stack family, flip, roll, repeat/tile, tril/triu, diag, meshgrid, repeat_interleave,
rot90) against numpy, on contiguous, transposed, sliced and expanded inputs, with PyTorch's errors and
numerically checked gradients."""
import numpy as np
import pytest

import cltensor as ct
from cltensor.autograd import gradcheck

DTYPES = [ct.float32, ct.float64, ct.int64, ct.int32, ct.bool, ct.float16, ct.complex64]
LAYOUTS = ["contig", "transposed", "sliced", "expanded"]


def rand_np(shape, dtype, rng):
    if dtype is ct.bool:
        return rng.random(shape) > 0.5
    if dtype.is_complex:
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype.np)
    if dtype.is_floating_point:
        return rng.standard_normal(shape).astype(dtype.np)
    return rng.integers(-50, 50, shape).astype(dtype.np)


def make(shape, dtype=ct.float32, layout="contig", seed=0):
    rng = np.random.default_rng(seed)
    shape = tuple(shape)
    if layout == "contig" or len(shape) == 0:
        a = rand_np(shape, dtype, rng)
        return ct.tensor(a, dtype=dtype), a
    if layout == "transposed":
        a = rand_np(shape[::-1], dtype, rng)
        return ct.tensor(a, dtype=dtype).permute(*range(len(shape) - 1, -1, -1)), a.transpose()
    if layout == "sliced":
        a = rand_np(tuple(2 * s + 1 for s in shape), dtype, rng)
        sl = tuple(slice(1, None, 2) for _ in shape)
        return ct.tensor(a, dtype=dtype)[sl], a[sl]
    small = (1,) + tuple(shape[1:])
    a = rand_np(small, dtype, rng)
    return ct.tensor(a, dtype=dtype).expand(*shape), np.broadcast_to(a, shape)


def check(t, a):
    got = t._to_numpy_copy()
    assert got.shape == a.shape, (got.shape, a.shape)
    assert got.dtype == a.dtype, (got.dtype, a.dtype)
    np.testing.assert_array_equal(got, a)


# ---------------------------------------------------------------- cat / stack

@pytest.mark.parametrize("layout", LAYOUTS)
def test_cat_stack_layouts(layout):
    x, a = make((3, 4, 2), ct.float32, layout)
    y, b = make((3, 4, 2), ct.float32, "transposed", seed=1)
    for dim in (0, 1, 2, -1):
        check(ct.cat([x, y, x], dim), np.concatenate([a, b, a], dim))
        check(ct.stack([x, y], dim), np.stack([a, b], dim))
    check(ct.stack([x, y], 3), np.stack([a, b], 3))
    check(ct.concat((x, y[:1]), 0), np.concatenate([a, b[:1]], 0))
    check(ct.concatenate([x[:, :0], y], 1), np.concatenate([a[:, :0], b], 1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cat_stack_dtypes(dtype):
    x, a = make((2, 3), dtype, "transposed")
    y, b = make((1, 3), dtype, "sliced", seed=2)
    check(ct.cat([x, y]), np.concatenate([a, b]))
    check(ct.stack([x, x], 1), np.stack([a, a], 1))
    check(ct.hstack([x, x]), np.hstack([a, a]))
    check(ct.vstack([x, y]), np.vstack([a, b]))


@pytest.mark.fp64
def test_cat_promotion_and_legacy_empty():
    f = ct.ones(2, 3)
    assert ct.cat([f, ct.zeros(1, 3, dtype=ct.float64)]).dtype is ct.float64
    assert ct.cat([ct.zeros(2, 3, dtype=ct.int32), ct.zeros(1, 3, dtype=ct.uint8)]).dtype is ct.int32
    assert ct.cat([ct.zeros(2, 3, dtype=ct.uint8), ct.zeros(1, 3, dtype=ct.int8)]).dtype is ct.int16
    assert ct.cat([ct.zeros(2, 3, dtype=ct.bool), ct.ones(1, 3, dtype=ct.int64)]).dtype is ct.int64
    r = ct.cat([ct.tensor([[1, 2, 3]], dtype=ct.int32), ct.tensor([[0.5, 1.5, 2.5]], dtype=ct.float64)])
    check(r, np.array([[1, 2, 3], [0.5, 1.5, 2.5]]))
    check(ct.cat([f, ct.zeros(0)], 1), np.ones((2, 3), np.float32))          # (0,) tensors are skipped
    assert ct.cat([f, ct.zeros(0, dtype=ct.float64)]).dtype is ct.float64     # ... but still promote
    assert ct.cat([ct.zeros(0), ct.zeros(0)]).shape == (0,)
    assert ct.cat([ct.zeros(2, 0), ct.zeros(3, 0)]).shape == (5, 0)
    out = ct.empty(0)
    ct.cat([f, f], out=out)
    check(out, np.ones((4, 3), np.float32))
    s = ct.stack([ct.tensor(1.), ct.tensor(2.)])
    check(s, np.array([1, 2], np.float32))


def test_stacks():
    for shapes in [[(3,), (3,)], [(2, 3), (2, 3)], [(), ()], [(2, 3, 2), (2, 3, 2)]]:
        ts = [make(s, seed=i) for i, s in enumerate(shapes)]
        x = [t for t, _ in ts]
        a = [n for _, n in ts]
        check(ct.hstack(x), np.hstack(a))
        check(ct.vstack(x), np.vstack(a))
        check(ct.row_stack(x), np.vstack(a))
        check(ct.dstack(x), np.dstack(a))
        check(ct.column_stack(x), np.column_stack(a))
    check(ct.column_stack([ct.ones(2), ct.zeros(2, 3)]), np.column_stack([np.ones(2), np.zeros((2, 3))])
          .astype(np.float32))
    assert ct.atleast_3d(ct.ones(4)).shape == (1, 4, 1)
    assert ct.atleast_2d(ct.tensor(1.)).shape == (1, 1)


def test_cat_stack_errors():
    cases = [
        (lambda: ct.cat([]), ValueError, r"torch.cat\(\): expected a non-empty list of Tensors"),
        (lambda: ct.cat([ct.zeros(2, 3), ct.zeros(3, 3)], 1), RuntimeError,
         "Sizes of tensors must match except in dimension 1. Expected size 2 but got size 3 for tensor number 1 in "
         "the list."),
        (lambda: ct.cat([ct.zeros(2, 3), ct.zeros(3)], 1), RuntimeError,
         "Tensors must have same number of dimensions: got 2 and 1"),
        (lambda: ct.cat([ct.zeros(2, 3), ct.tensor(1.)]), RuntimeError,
         r"zero-dimensional tensor \(at position 1\) cannot be concatenated"),
        (lambda: ct.cat([ct.zeros(2, 3), ct.zeros(2, 3)], 2), IndexError, "Dimension out of range"),
        (lambda: ct.cat(ct.zeros(2, 3)), TypeError, "must be tuple of Tensors, not Tensor"),
        (lambda: ct.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
        (lambda: ct.stack([ct.zeros(2, 3), ct.zeros(3, 3)]), RuntimeError,
         r"stack expects each tensor to be equal size, but got \[2, 3\] at entry 0 and \[3, 3\] at entry 1"),
        (lambda: ct.stack([ct.zeros(2, 3), ct.zeros(2, 3)], 3), IndexError, "Dimension out of range"),
    ]
    for fn, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            fn()


# ---------------------------------------------------------------- flip / roll / rot90

@pytest.mark.parametrize("layout", LAYOUTS)
def test_flip_roll_rot90_layouts(layout):
    x, a = make((3, 4, 5), ct.float32, layout)
    for dims in [(0,), (1,), (2,), (0, 2), (0, 1, 2), (-1, 0), ()]:
        check(ct.flip(x, dims), np.flip(a, dims) if dims else a)
    check(x.flip(1, 2), np.flip(a, (1, 2)))
    check(ct.fliplr(x), np.fliplr(a))
    check(ct.flipud(x), np.flipud(a))
    for shifts, dims in [(1, 0), (-2, 1), (7, 2), ((1, 2), (0, 2)), ((1, -1, 3), (0, 1, 2)), ((2, 3), (1, 1)),
                         (4, None), (-13, None)]:
        check(ct.roll(x, shifts, dims), np.roll(a, shifts, dims))
    for k in range(-1, 5):
        for dims in [(0, 1), (1, 2), (2, 0)]:
            check(ct.rot90(x, k, dims), np.rot90(a, k, dims))


@pytest.mark.parametrize("dtype", DTYPES)
def test_flip_roll_dtypes(dtype):
    x, a = make((4, 3), dtype, "sliced")
    check(x.flip(0), np.flip(a, 0))
    check(x.roll(1, 1), np.roll(a, 1, 1))
    check(x.rot90(), np.rot90(a))


def test_flip_roll_edge_cases():
    x, a = make((0, 3))
    check(x.flip(0), a)
    check(x.roll(2, 0), a)
    check(x.roll(2), a)
    s, b = make(())
    check(s.flip(()), b)
    check(s.roll(3), b)
    errs = [
        (lambda: ct.flip(ct.zeros(2, 3), (0, 0)), "dim 0 appears multiple times in the list of dims"),
        (lambda: ct.flip(ct.zeros(2, 3), (0, -2)), "dim 0 appears multiple times in the list of dims"),
        (lambda: ct.fliplr(ct.zeros(3)), r"Input must be >= 2-d."),
        (lambda: ct.flipud(ct.tensor(3.)), r"Input must be >= 1-d."),
        (lambda: ct.roll(ct.zeros(2, 3), (1, 2), (0,)), "shifts and dimensions must align. shifts: 2, dims:1"),
        (lambda: ct.rot90(ct.zeros(2, 3), 1, [0, 0]), "expected rotation dims to be different, but got dim0 = 0 and "
                                                      "dim1 = 0"),
        (lambda: ct.rot90(ct.zeros(3)), "expected total dims >= 2, but got total dims = 1"),
    ]
    for fn, msg in errs:
        with pytest.raises(RuntimeError, match=msg):
            fn()


# ---------------------------------------------------------------- repeat / tile / repeat_interleave

@pytest.mark.parametrize("layout", LAYOUTS)
def test_repeat_tile(layout):
    x, a = make((2, 3), ct.float32, layout)
    for reps in [(1, 1), (2, 3), (3, 1, 2), (2, 0), (1, 2, 2, 1)]:
        check(x.repeat(*reps), np.tile(a, reps))
        check(x.repeat(reps), np.tile(a, reps))
    for reps in [(2,), (2, 2), (), (1, 3, 1)]:
        check(ct.tile(x, reps), np.tile(a, reps))
        check(x.tile(*reps) if reps else x.tile(reps), np.tile(a, reps))
    s, b = make(())
    check(s.repeat(3, 2), np.tile(b, (3, 2)))
    with pytest.raises(RuntimeError, match="Number of dimensions of repeat dims can not be smaller than number of "
                                           "dimensions of tensor"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match="Trying to create tensor with negative dimension -3"):
        x.repeat(2, -1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_repeat_dtypes(dtype):
    x, a = make((2, 3), dtype, "transposed")
    check(x.repeat(2, 1, 2), np.tile(a, (2, 1, 2)))
    check(x.repeat_interleave(2, 1), np.repeat(a, 2, 1))


def test_repeat_interleave():
    x, a = make((3, 4), ct.float32, "transposed")
    check(x.repeat_interleave(2), np.repeat(a, 2))
    check(ct.repeat_interleave(x, 3, dim=0), np.repeat(a, 3, 0))
    check(ct.repeat_interleave(x, ct.tensor([1, 0, 2]), dim=0), np.repeat(a, [1, 0, 2], 0))
    check(ct.repeat_interleave(x, ct.tensor([2]), dim=1), np.repeat(a, 2, 1))
    check(ct.repeat_interleave(x, ct.tensor(2)), np.repeat(a, 2))
    check(ct.repeat_interleave(ct.tensor([1, 2])), np.array([0, 1, 1]))
    check(ct.repeat_interleave(ct.tensor(5.), 2), np.array([5, 5], np.float32))
    with pytest.raises(RuntimeError, match="repeats can not be negative"):
        ct.repeat_interleave(ct.tensor([1, -2]))
    with pytest.raises(RuntimeError, match=r"repeats must have the same size as input along dim, but got "
                                           r"repeats.size\(0\) = 2 and input.size\(1\) = 4"):
        ct.repeat_interleave(x, ct.tensor([1, 2]), dim=1)


# ---------------------------------------------------------------- tril / triu / diag / meshgrid

@pytest.mark.parametrize("layout", LAYOUTS)
def test_tril_triu(layout):
    for shape in [(4, 5), (2, 3, 4), (5, 3), (2, 2, 3, 3), (0, 3), (3, 0)]:
        x, a = make(shape, ct.float32, layout)
        for k in (-2, -1, 0, 1, 3, 9, -9):
            check(ct.tril(x, k), np.tril(a, k))
            check(x.triu(k), np.triu(a, k))
            check(x.triu(diagonal=k), np.triu(a, k))
    x, a = make((3, 4), ct.float32, "transposed")
    y = x.clone()
    y.tril_(1)
    check(y, np.tril(a, 1))
    z = x.contiguous().t().contiguous().t()
    z.triu_(-1)
    check(z, np.triu(a, -1))
    out = ct.empty(0)
    ct.triu(x, 1, out=out)
    check(out, np.triu(a, 1))
    with pytest.raises(RuntimeError, match="tril: input tensor must have at least 2 dimensions"):
        ct.tril(ct.zeros(3))


@pytest.mark.parametrize("dtype", DTYPES)
def test_tri_diag_dtypes(dtype):
    x, a = make((3, 4), dtype, "sliced")
    check(x.tril(-1), np.tril(a, -1))
    check(x.triu(1), np.triu(a, 1))
    check(ct.diag(x, 1), np.diag(a, 1))
    check(ct.diag(x[0]), np.diag(a[0]))


@pytest.mark.fp64
def test_diag_diag_embed():
    for layout in ("contig", "transposed", "sliced"):
        x, a = make((3, 5), ct.float64, layout)
        for k in (-4, -1, 0, 2, 5, 7):
            check(ct.diag(x, k), np.diag(a, k))
            check(x[1].diag(k), np.diag(a[1], k))
    v, b = make((2, 3), ct.float32, "transposed")
    e = ct.diag_embed(v)
    exp = np.zeros((2, 3, 3), np.float32)
    for i in range(2):
        exp[i] = np.diag(b[i])
    check(e, exp)
    e = ct.diag_embed(v, 1, 0, 2)
    exp = np.zeros((4, 2, 4), np.float32)
    for i in range(2):
        exp[:, i, :] = np.diag(b[i], 1)
    check(e, exp)
    check(ct.diag_embed(ct.tensor([1., 2.]), -1), np.diag(np.array([1., 2.], np.float32), -1))
    with pytest.raises(TypeError, match=r"diag\(\): argument 'input' \(position 1\) must be Tensor, not list"):
        ct.diag([1, 2])
    with pytest.raises(RuntimeError, match=r"diag\(\): Supports 1D or 2D tensors. Got 3D"):
        ct.diag(ct.zeros(2, 2, 2))
    with pytest.raises(RuntimeError, match="diagonal dimensions cannot be identical"):
        ct.diag_embed(ct.zeros(2, 3), 0, 1, 1)


def test_meshgrid():
    x, a = make((3,), ct.float32)
    y, b = make((4,), ct.float32, "sliced", seed=1)
    z, c = make((2,), ct.float32, seed=2)
    for indexing in ("ij", "xy"):
        got = ct.meshgrid(x, y, z, indexing=indexing)
        exp = np.meshgrid(a, b, c, indexing=indexing)
        for g, e in zip(got, exp):
            check(g, e)
        got = ct.meshgrid([x, y], indexing=indexing)
        for g, e in zip(got, np.meshgrid(a, b, indexing=indexing)):
            check(g, e)
    with pytest.warns(UserWarning):
        ct.meshgrid(x, y)
    g = ct.meshgrid(ct.tensor(1.), y, indexing="ij")
    assert g[0].shape == (1, 4)
    with pytest.raises(RuntimeError, match="torch.meshgrid: Expected 0D or 1D tensor in the tensor list"):
        ct.meshgrid(ct.zeros(2, 2), indexing="ij")


# ---------------------------------------------------------------- gradients (float64)

def _g(shape, seed=0):
    return ct.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=ct.float64, requires_grad=True)


@pytest.mark.fp64
def test_grads_cat_stack_flip_roll_tri_diag():
    x, y = _g((2, 3)), _g((1, 3), 1)
    assert gradcheck(lambda x, y: ct.cat([x, y, x]), (x, y))
    assert gradcheck(lambda x, y: ct.cat([x, ct.zeros(0, dtype=ct.float64), y], 0), (x, y))
    assert gradcheck(lambda x: ct.stack([x, x * 2], 1), (x,))
    assert gradcheck(lambda x: ct.hstack([x, x]), (x,))
    assert gradcheck(lambda x: x.flip(0, 1), (x,))
    assert gradcheck(lambda x: x.roll((1, 2), (0, 1)), (x,))
    assert gradcheck(lambda x: x.roll(4), (x,))
    assert gradcheck(lambda x: ct.rot90(x, 1), (x,))
    z = _g((3, 4), 2)
    assert gradcheck(lambda z: z.tril(1), (z,))
    assert gradcheck(lambda z: z.triu(-1), (z,))
    assert gradcheck(lambda z: ct.diag(z, 1), (z,))
    assert gradcheck(lambda z: ct.diag(z[0], -1), (z,))
    assert gradcheck(lambda z: ct.diag_embed(z[:2], 1), (z,))
    assert gradcheck(lambda z: ct.repeat_interleave(z, ct.tensor([2, 0, 1]), dim=0), (z,))
    names = {ct.cat([x, y]).grad_fn.name(), ct.stack([x, x]).grad_fn.name(), x.flip(0).grad_fn.name(),
             x.roll(1, 0).grad_fn.name(), z.tril().grad_fn.name()}
    assert names == {"CatBackward0", "StackBackward0", "FlipBackward0", "RollBackward0", "TrilBackward0"}


@pytest.mark.fp64
def test_double_backward():
    from cltensor.autograd import gradgradcheck
    x = _g((3, 4))
    assert gradgradcheck(lambda x: ct.cat([x, x * 2]) ** 2, (x,))
    assert gradgradcheck(lambda x: x.flip(0).roll(1, 1).tril() ** 2, (x,))
    assert gradgradcheck(lambda x: ct.diag(x) ** 2, (x,))


@pytest.mark.fp64
def test_grads_repeat_tile():
    if not hasattr(ct.Tensor, "sum"):
        pytest.skip("Tensor.sum not available yet")
    x = _g((2, 3))
    assert gradcheck(lambda x: x.repeat(2, 1, 3), (x,))
    assert gradcheck(lambda x: x.tile(2), (x,))
    assert gradcheck(lambda x: x.repeat_interleave(2, 1), (x,))
    assert x.repeat(2, 1).grad_fn.name() == "RepeatBackward0"
