"""Advanced indexing and the gather/scatter family against numpy.

The oracle `np_index` reproduces PyTorch's placement rule with numpy: ints, slices, None and ... are applied
first (as PyTorch does, so an int never counts as an advanced index), then the index arrays are applied to the
resulting view with numpy's rule (adjacent arrays stay in place, separated ones move to the front), which is
PyTorch's rule once no ints are left.
"""
import numpy as np
import pytest

import cltensor as ct
from cltensor.autograd import gradcheck
from _host import host

DTYPES = [ct.float32, ct.float64, ct.int64, ct.int32, ct.bool, ct.float16, ct.complex64]
LAYOUTS = ["contig", "transposed", "sliced", "expanded"]


def rand_np(shape, dtype, rng):
    npd = dtype.np
    if dtype is ct.bool:
        return rng.random(shape) > 0.5
    if dtype.is_complex:
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(npd)
    if dtype.is_floating_point:
        return rng.standard_normal(shape).astype(npd)
    return rng.integers(-50, 50, shape).astype(npd)


def make(shape, dtype=ct.float32, layout="contig", seed=0):
    """(cltensor tensor with the given layout, numpy array of the same values)."""
    rng = np.random.default_rng(seed)
    shape = tuple(shape)
    if layout == "contig":
        a = rand_np(shape, dtype, rng)
        return ct.tensor(a, dtype=dtype), a
    if layout == "transposed":
        a = rand_np(shape[::-1], dtype, rng)
        t = ct.tensor(a, dtype=dtype).permute(*range(len(shape) - 1, -1, -1))
        return t, a.transpose()
    if layout == "sliced":
        big = tuple(2 * s + 1 for s in shape)
        a = rand_np(big, dtype, rng)
        sl = tuple(slice(1, None, 2) for _ in shape)
        return ct.tensor(a, dtype=dtype)[sl], a[sl]
    if layout == "expanded":
        small = (1,) + tuple(shape[1:])
        a = rand_np(small, dtype, rng)
        return ct.tensor(a, dtype=dtype).expand(*shape), np.broadcast_to(a, shape)
    raise AssertionError(layout)


def to_np_index(index):
    if not isinstance(index, tuple):
        index = (index,)
    return tuple(x._to_numpy_copy() if isinstance(x, ct.Tensor) else
                 (np.asarray(x) if isinstance(x, list) else x) for x in index)


def np_index_parts(a, index):
    """(basic index tuple, index tuple for the resulting view) implementing PyTorch's rule."""
    index = to_np_index(index)
    consumed = sum(1 if not isinstance(x, np.ndarray) or x.dtype != np.bool_ else x.ndim
                   for x in index if x is not None and x is not Ellipsis)
    step1, advs, d = [], [], 0
    for x in index:
        if x is None:
            step1.append(None)
            d += 1
        elif x is Ellipsis:
            step1.append(Ellipsis)
            d += a.ndim - consumed
        elif isinstance(x, (int, np.integer)):
            step1.append(int(x))
        elif isinstance(x, slice):
            step1.append(x)
            d += 1
        else:
            k = x.ndim if x.dtype == np.bool_ else 1
            step1 += [slice(None)] * k
            advs.append((d, x, k))
            d += k
    return tuple(step1), advs


def np_index(a, index):
    step1, advs = np_index_parts(a, index)
    v = a[step1]
    if not advs:
        return v
    return v[_full(v, advs)]


def _full(v, advs):
    starts = {d: (x, k) for d, x, k in advs}
    full, i = [], 0
    while i < v.ndim:
        if i in starts:
            x, k = starts[i]
            full.append(x)
            i += k
        else:
            full.append(slice(None))
            i += 1
    return tuple(full)


def np_setitem(a, index, value):
    a = np.array(a)
    step1, advs = np_index_parts(a, index)
    if not advs:
        a[step1] = value
        return a
    v = a[step1]
    v[_full(v, advs)] = value
    return a


def check(t, a):
    got = t._to_numpy_copy()
    assert got.shape == a.shape, (got.shape, a.shape)
    assert got.dtype == a.dtype, (got.dtype, a.dtype)
    np.testing.assert_array_equal(got, a)


def L(*v):
    return ct.tensor(list(v), dtype=ct.int64)


# ---------------------------------------------------------------- getitem forms

GET_CASES = [
    lambda: [0, 2],
    lambda: (L(1, -1, 0),),
    lambda: (slice(None), L(3, 0, 3)),
    lambda: (L(0, 2), L(1, 3)),
    lambda: (ct.tensor([[0], [2]]), L(1, 3, 0)),           # broadcast to (2, 3)
    lambda: (L(0, 1), slice(None), L(2, 1)),               # separated: dims to the front
    lambda: (L(2, 0), slice(1, None), slice(None)),
    lambda: (Ellipsis, L(1, 0)),
    lambda: (None, L(1, 2), None),
    lambda: (1, L(3, 2)),
    lambda: (slice(None), 0, L(1, 0)),                     # int first, then index: PyTorch keeps it in place
    lambda: (L(1), 0, L(1, 0)),
    lambda: (L(1, 0), None, slice(None), L(0, 1)),
    lambda: (ct.tensor([[0, 1], [2, 0]]),),
    lambda: (ct.tensor(1),),
    lambda: (ct.tensor([], dtype=ct.int64),),
    lambda: (slice(None), ct.tensor([2, 0], dtype=ct.int32)),
    lambda: (slice(None, None, 2), [1, 1, 1]),
    lambda: ([True, False, True],),
    lambda: (slice(None), [False, True, True, False]),
    lambda: (slice(None), slice(None), ct.tensor([True, False, True, True, False])),
    lambda: ([[True, False, True, True], [False, False, True, False], [True, True, True, True]],),
    lambda: (L(2, 0), [True, False, False, True]),
    lambda: (Ellipsis, [True, False, False, True, True]),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", range(len(GET_CASES)))
def test_getitem_forms(case, layout):
    t, a = make((3, 4, 5), ct.float32, layout)
    idx = GET_CASES[case]()
    check(t[idx], np_index(a, idx))


@pytest.mark.parametrize("dtype", DTYPES)
def test_getitem_dtypes(dtype):
    for layout in ("contig", "transposed"):
        t, a = make((4, 3), dtype, layout)
        mask = ct.tensor(a.real > 0 if dtype.is_complex else (a if dtype is ct.bool else a > 0))
        for idx in ((L(3, 0, 3),), (slice(None), L(2, -3)), (mask,)):
            check(t[idx], np_index(a, idx))


def test_strided_index_tensors():
    """Index tensors are read through their strides: transposed, sliced, expanded."""
    t, a = make((5, 4), ct.float32, "transposed")
    base = np.array([[0, 4, 2], [1, 3, 3]])
    it_ = ct.tensor(base.T.copy()).t()                     # transposed (2, 3)
    check(t[it_], a[base])
    sl = ct.tensor(np.arange(12).reshape(3, 4) % 5)[::2, 1::2]
    check(t[sl], a[(np.arange(12).reshape(3, 4) % 5)[::2, 1::2]])
    ex = ct.tensor([1, 3]).expand(3, 2)
    check(t[:, ex], a[:, np.broadcast_to([1, 3], (3, 2))])
    check(t[ex, ct.tensor([[0], [1], [2]])], a[np.broadcast_to([1, 3], (3, 2)), np.array([[0], [1], [2]])])
    m = ct.tensor(np.array([[True, False], [False, True], [True, True], [False, False], [True, False]]))
    mt = ct.tensor(np.array([[True, False, True, False, True], [False, True, True, False, False]])).t()
    check(t[:, :2][mt], a[:, :2][mt._to_numpy_copy()])
    check(t[:, :2][m], a[:, :2][m._to_numpy_copy()])
    g = ct.tensor(base.T.copy(), dtype=ct.int32).t()
    check(ct.gather(t.t()[:2], 1, g), np.take_along_axis(a.T[:2], base, 1))
    z = ct.zeros(2, 5)
    z.scatter_(1, g, ct.ones(2, 3))
    exp = np.zeros((2, 5), np.float32)
    np.put_along_axis(exp, base, 1, 1)
    check(z, exp)


def test_getitem_0d_and_empty():
    t, a = make((), ct.float32)
    check(t[None][[0, 0]], a[None][[0, 0]])
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 0"):
        t[None, [0, 0]]
    check(t[True], a[None])
    check(t[False], a[None][:0])
    t, a = make((0, 3))
    check(t[[]], a[np.array([], np.int64)])
    check(t[:, [2]], a[:, [2]])
    check(t[t > 0], a[a > 0])
    t, a = make((4,))
    check(t[ct.tensor([[], []], dtype=ct.int64)], a[np.zeros((2, 0), np.int64)])
    check(t[t > 100], a[a > 100])


def test_bool_scalar_indices():
    t, a = make((2, 3))
    assert t[True].shape == (1, 2, 3)
    assert t[False].shape == (0, 2, 3)
    assert t[ct.tensor(True)].shape == (1, 2, 3)
    check(t[1, True], a[1][None])
    check(t[ct.tensor(True), [0, 1]], a[None][[0], [0, 1]])


def test_sequence_as_tuple():
    t, a = make((2, 3))
    check(t[[0, slice(None)]], a[0, :])
    check(t[[[0, 1], [1, 0]]], a[[0, 1], [1, 0]])          # PyTorch: a short list of lists is a tuple
    check(t[np.array([[0, 1], [1, 0]])], a[np.array([[0, 1], [1, 0]])])
    check(t[(0, 1), ], a[[0, 1]])
    check(t[[np.int64(1), 0]], a[[1, 0]])


def test_getitem_result_is_copy_and_contiguous():
    t, a = make((3, 4), layout="transposed")
    r = t[[0, 1]]
    assert r.is_contiguous()
    r.fill_(0)
    check(t, a)


# ---------------------------------------------------------------- setitem

SET_CASES = [
    lambda: ([0, 2],),
    lambda: (slice(None), L(3, 0)),
    lambda: (L(0, 2), L(1, 3)),
    lambda: (L(0, 1), slice(None), L(2, 1)),
    lambda: (Ellipsis, L(-1, 0)),
    lambda: (1, L(3, 2)),
    lambda: (slice(None), 0, L(1, 0)),
    lambda: ([True, False, True],),
    lambda: (slice(None), [False, True, True, False]),
    lambda: (ct.tensor([[True, False, True, True], [False, False, True, False], [True, True, True, True]]),),
]


@pytest.mark.parametrize("layout", ["contig", "transposed", "sliced"])
@pytest.mark.parametrize("case", range(len(SET_CASES)))
def test_setitem_forms(case, layout):
    idx = SET_CASES[case]()
    t, a = make((3, 4, 5), ct.float32, layout)
    t[idx] = -7.5
    check(t, np_setitem(a, idx, -7.5))
    t, a = make((3, 4, 5), ct.float32, layout)
    res_shape = np_index(a, idx).shape
    v = np.arange(np.prod(res_shape), dtype=np.float32).reshape(res_shape)
    t[idx] = ct.tensor(v)
    check(t, np_setitem(a, idx, v))
    # broadcast value (last dim only)
    t, a = make((3, 4, 5), ct.float32, layout)
    vb = np.arange(res_shape[-1], dtype=np.float32) if res_shape else np.float32(3)
    t[idx] = ct.tensor(vb)
    check(t, np_setitem(a, idx, vb))


@pytest.mark.parametrize("dtype", DTYPES)
def test_setitem_dtypes(dtype):
    t, a = make((4, 3), dtype, "transposed")
    v, _ = make((2, 3), dtype, seed=3)
    t[[3, 1]] = v
    check(t, np_setitem(a, ([3, 1],), v._to_numpy_copy()))
    mask = ct.tensor(a != a[0, 0])
    t[mask] = True if dtype is ct.bool else 1
    check(t, np_setitem(np_setitem(a, ([3, 1],), v._to_numpy_copy()), (mask._to_numpy_copy(),),
                        True if dtype is ct.bool else 1))


def test_setitem_duplicates_last_wins():
    t = ct.zeros(5)
    t[ct.tensor([0, 0, 0, 3, 3])] = ct.tensor([1., 2., 3., 4., 5.])
    check(t, np.array([3, 0, 0, 5, 0], np.float32))
    t = ct.zeros(3, 4)
    t[[0, 2, 0], :] = ct.arange(12.).view(3, 4)
    check(t, np.array([[8, 9, 10, 11], [0] * 4, [4, 5, 6, 7]], np.float32))
    t = ct.zeros(4, 3, dtype=ct.int64)
    t[:, [1, 1]] = ct.tensor([[1, 2]] * 4)
    check(t[:, 1], np.full(4, 2, np.int64))
    t = ct.zeros(300)
    idx = np.random.default_rng(1).integers(0, 7, 1000)
    t[ct.tensor(idx)] = ct.arange(1000.)
    exp = np.zeros(300, np.float32)
    for i, j in enumerate(idx):
        exp[j] = i
    check(t, exp)


def test_setitem_augmented_and_leading_ones():
    t, a = make((3, 4))
    t[:, [1, 3]] += 1
    a = a.copy()
    a[:, [1, 3]] += 1
    check(t, a)
    t[[0, 1]] = ct.ones(1, 2, 4)             # leading 1-dims of the value are dropped
    a[[0, 1]] = 1
    check(t, a)
    t[[2]] = np.float64(5)
    a[[2]] = 5
    check(t, a)


@pytest.mark.fp64
def test_setitem_errors():
    t = ct.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"shape mismatch: value tensor of shape \[3\] cannot be broadcast to "
                                           r"indexing result of shape \[2\]"):
        t[[0, 1], [0, 1]] = ct.ones(3)
    with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match, got Float "
                                           "for the destination and Double for the source."):
        t[[0]] = ct.ones(3, dtype=ct.float64)
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 1 with size 3"):
        t[[0], [3]] = 1.0
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 2"):
        t[ct.tensor([0, 5])] = ct.ones(2, 3)
    check(t[1], np.zeros(3, np.float32))       # valid writes may have happened (as in PyTorch); no OOB write


# ---------------------------------------------------------------- index errors

def test_index_errors():
    x = ct.arange(12.).view(3, 4)
    cases = [
        (lambda: x[ct.tensor([5])], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
        (lambda: x[[5]], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
        (lambda: x[:, [7]], IndexError, "index 7 is out of bounds for dimension 0 with size 4"),
        (lambda: x[[0], [7]], IndexError, "index 7 is out of bounds for dimension 1 with size 4"),
        (lambda: x[ct.tensor([0]), ct.tensor([-5])], IndexError, "index -5 is out of bounds for dimension 1 with "
                                                                 "size 4"),
        (lambda: x[[0, 1, 2, 3, 4]], IndexError, "index 3 is out of bounds for dimension 0 with size 3"),
        (lambda: x[ct.tensor([0, 1, 2, 4, 3])], IndexError, "index 4 is out of bounds for dimension 0 with size 3"),
        (lambda: x[ct.tensor([1.0])], IndexError, "tensors used as indices must be long, int, byte or bool tensors"),
        (lambda: x[ct.tensor([1], dtype=ct.int16)], IndexError, "tensors used as indices must be long, int"),
        (lambda: x[[1.5]], IndexError, "tensors used as indices must be long, int, byte or bool tensors"),
        (lambda: x[[0, 1], [0, 1, 2]], IndexError, r"shape mismatch: indexing tensors could not be broadcast "
                                                   r"together with shapes \[2\], \[3\]"),
        (lambda: x[ct.tensor([True, False])], IndexError, r"The shape of the mask \[2\] at index 0 does not match "
                                                          r"the shape of the indexed tensor \[3, 4\] at index 0"),
        (lambda: x[:, ct.tensor([True, False])], IndexError, r"The shape of the mask \[2\] at index 0 does not "
                                                             r"match the shape of the indexed tensor \[3, 4\] at "
                                                             r"index 1"),
        (lambda: x[[0], [0], [0]], IndexError, "too many indices for tensor of dimension 2"),
        (lambda: x[None, 0, 7], IndexError, "index 7 is out of bounds for dimension 2 with size 4"),
        (lambda: x[..., ..., [0]], IndexError, "an index can only have a single ellipsis"),
        (lambda: x["a"], TypeError, "tensor indices must be integers"),   # PyTorch: TypeError too
        (lambda: ct.zeros(0)[[0]], IndexError, "index 0 is out of bounds for dimension 0 with size 0"),
    ]
    for fn, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            fn()
    # the device error flag is cleared after an error: the next op works
    check(x[[2, 0]], np.arange(12, dtype=np.float32).reshape(3, 4)[[2, 0]])


# ---------------------------------------------------------------- index_put_

@pytest.mark.fp64
def test_index_put_accumulate():
    rng = np.random.default_rng(2)
    for dtype in (ct.float32, ct.float64, ct.int64, ct.int32, ct.float16, ct.complex64, ct.bool):
        t, a = make((5, 3), dtype, "transposed")
        idx = rng.integers(-5, 5, 40)
        v, vn = make((40, 3), dtype, seed=4)
        t.index_put_((ct.tensor(idx),), v, accumulate=True)
        exp = np.array(a)
        if dtype is ct.bool:
            for i, j in enumerate(idx):
                exp[j] |= vn[i]
        else:
            np.add.at(exp, idx, vn)
        got = t._to_numpy_copy()
        if dtype is ct.float16:
            np.testing.assert_allclose(got.astype(np.float32), exp.astype(np.float32), rtol=1e-2, atol=2e-2)
        elif dtype.is_floating_point or dtype.is_complex:
            np.testing.assert_allclose(got, exp, rtol=1e-5, atol=1e-5)
        else:
            np.testing.assert_array_equal(got, exp)
    # 2 index tensors, broadcast scalar value, out-of-place form
    t = ct.zeros(3, 4)
    r = t.index_put((ct.tensor([0, 0, 2]), ct.tensor([1, 1, 3])), ct.tensor(2.0), accumulate=True)
    exp = np.zeros((3, 4), np.float32)
    exp[0, 1], exp[2, 3] = 4, 2
    check(r, exp)
    check(t, np.zeros((3, 4), np.float32))
    r = ct.index_put(t, (ct.tensor([0, 0]),), ct.tensor([[1., 2, 3, 4]]))
    check(r[0], np.array([1, 2, 3, 4], np.float32))
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        t.index_put_((ct.tensor([5]),), ct.tensor(1.), accumulate=True)
    with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match"):
        t.index_put_((ct.tensor([0]),), ct.tensor(1., dtype=ct.float64))
    t = ct.zeros(3)
    t.index_put_((ct.tensor([True, False, True]),), ct.tensor([1., 2.]), accumulate=True)
    check(t, np.array([1, 0, 2], np.float32))


# ---------------------------------------------------------------- gather / scatter family

@pytest.mark.parametrize("layout", ["contig", "transposed", "sliced"])
def test_gather(layout):
    rng = np.random.default_rng(5)
    t, a = make((3, 4, 5), ct.float32, layout)
    for dim in (0, 1, -1):
        ish = [2, 3, 4]
        ish[dim] = 6
        idx = rng.integers(0, a.shape[dim], ish)
        exp = _np_gather(a, dim, idx)
        check(ct.gather(t, dim, ct.tensor(idx)), exp)
        check(t.gather(dim, ct.tensor(idx, dtype=ct.int32)), exp)
    ti, ai = make((4, 3), ct.int64, layout)
    idx = np.array([[0, 2], [1, 1], [2, 0], [0, 0]])
    check(ti.gather(1, ct.tensor(idx)), np.take_along_axis(ai, idx, 1))
    check(ct.take_along_dim(ti, ct.tensor(idx), 1), np.take_along_axis(ai, idx, 1))
    check(ct.take_along_dim(ti, ct.tensor([[0, 5]])), np.take_along_axis(ai.reshape(-1), np.array([0, 5]), 0))
    check(ct.gather(ct.tensor(5.), 0, ct.tensor(0)), np.array(5, np.float32))


def _np_gather(a, dim, idx):
    dim = dim % a.ndim
    out = np.empty(idx.shape, a.dtype)
    for pos in np.ndindex(*idx.shape):
        src = list(pos)
        src[dim] = idx[pos]
        out[pos] = a[tuple(src)]
    return out


def _np_scatter(a, dim, idx, src, op=None):
    a = np.array(a)
    for pos in np.ndindex(*idx.shape):
        dst = list(pos)
        dst[dim] = idx[pos]
        v = src[pos] if isinstance(src, np.ndarray) else src
        if op is None:
            a[tuple(dst)] = v
        else:
            a[tuple(dst)] = op(a[tuple(dst)], v)
    return a


@pytest.mark.parametrize("layout", ["contig", "transposed", "sliced"])
def test_scatter(layout):
    rng = np.random.default_rng(6)
    t, a = make((4, 5), ct.float32, layout)
    perm = np.stack([rng.permutation(5)[:3] for _ in range(4)])        # unique per row
    src, sn = make((4, 3), ct.float32, "transposed", seed=9)
    check(t.scatter(1, ct.tensor(perm), src), _np_scatter(a, 1, perm, sn))
    check(t.scatter(1, ct.tensor(perm), 2.5), _np_scatter(a, 1, perm, 2.5))
    idx = rng.integers(0, 4, (6, 5))                                   # duplicates along dim 0
    big, bn = make((7, 6), ct.float32, seed=10)                        # src larger than index
    np.testing.assert_allclose(ct.scatter_add(t, 0, ct.tensor(idx), big)._to_numpy_copy(),
                               _np_scatter(a, 0, idx, bn, np.add), rtol=1e-5, atol=1e-5)
    t2 = t.clone()
    t2.scatter_add_(0, ct.tensor(idx, dtype=ct.int32), big)
    np.testing.assert_allclose(t2._to_numpy_copy(), _np_scatter(a, 0, idx, bn, np.add), rtol=1e-5, atol=1e-5)
    t3 = t.clone()
    t3.scatter_(0, ct.tensor(idx), big, reduce="multiply")
    np.testing.assert_allclose(t3._to_numpy_copy(), _np_scatter(a, 0, idx, bn, np.multiply), rtol=1e-5)
    t4 = t.clone()
    t4.scatter_(1, ct.tensor(perm), 1.0, reduce="add")
    check(t4, _np_scatter(a, 1, perm, np.float32(1), np.add))
    # duplicates with scatter: the last write wins (deterministic)
    z = ct.zeros(3).scatter(0, ct.tensor([1, 1, 1]), ct.tensor([1., 2., 3.]))
    check(z, np.array([0, 3, 0], np.float32))


def test_scatter_reduce():
    x = ct.arange(6.).view(2, 3)
    idx = ct.tensor([[0, 0], [1, 1]])
    check(ct.scatter_reduce(x, 1, idx, x, "mean"), np.array([[1 / 3, 1, 2], [3, 11 / 3, 5]], np.float32))
    check(ct.scatter_reduce(x, 1, idx, x, "mean", include_self=False), np.array([[.5, 1, 2], [3, 3.5, 5]],
                                                                                   np.float32))
    check(ct.scatter_reduce(x.long(), 1, idx, -x.long(), "mean"), np.array([[-1, 1, 2], [3, -1, 5]]))
    check(ct.scatter_reduce(x, 1, idx, x, "amax", include_self=False), np.array([[1, 1, 2], [3, 4, 5]], np.float32))
    check(ct.scatter_reduce(x, 1, idx, x, "amin"), np.array([[0, 1, 2], [3, 3, 5]], np.float32))
    check(ct.scatter_reduce(x, 1, idx, x, "prod"), np.array([[0, 1, 2], [3, 48, 5]], np.float32))
    check(ct.scatter_reduce(x, 1, idx, x, "sum", include_self=False), np.array([[1, 1, 2], [3, 7, 5]], np.float32))
    with pytest.raises(RuntimeError, match="reduce argument must be either sum, prod, mean, amax or amin, got foo"):
        ct.scatter_reduce(x, 1, idx, x, "foo")


@pytest.mark.fp64
def test_gather_scatter_errors():
    x = ct.arange(24.).view(2, 3, 4)
    cases = [
        (lambda: ct.gather(x, 1, ct.tensor([[[5]]])), RuntimeError, "index 5 is out of bounds for dimension 1 with "
                                                                    "size 3"),
        (lambda: ct.gather(x, 2, ct.tensor([[[-5]]])), RuntimeError, "index -5 is out of bounds for dimension 2"),
        (lambda: ct.gather(x, 2, ct.tensor([[[-1]]])), RuntimeError, "index -1 is out of bounds for dimension 2"),
        (lambda: x.clone().scatter_(0, ct.tensor([[[-1]]]), 1.0), RuntimeError,
         "index -1 is out of bounds for dimension 0 with size 2"),
        (lambda: x.clone().scatter_add_(0, ct.tensor([[[-1]]]), x), RuntimeError,
         "index -1 is out of bounds for dimension 0 with size 2"),
        (lambda: ct.gather(x, 1, ct.zeros(2, 3, dtype=ct.int64)), RuntimeError,
         "Index tensor must have the same number of dimensions as input tensor"),
        (lambda: ct.gather(x, 1, ct.zeros(3, 3, 3, dtype=ct.int64)), RuntimeError,
         r"Size does not match at dimension 0 expected index \[3, 3, 3\] to be no larger than self \[2, 3, 4\] "
         r"apart from dimension 1"),
        (lambda: ct.gather(x, 1, ct.zeros(2, 3, 4)), RuntimeError, "gather\\(\\): Expected dtype int32/int64"),
        (lambda: x.clone().scatter_(1, ct.tensor([[[5]]]), 1.0), RuntimeError, "index 5 is out of bounds for "
                                                                               "dimension 1 with size 3"),
        (lambda: x.clone().scatter_(1, ct.tensor([[[0]]]), ct.ones(1, 1, 1, dtype=ct.float64)), RuntimeError,
         r"scatter\(\): Expected self.dtype to be equal to src.dtype"),
        (lambda: x.clone().scatter_(1, ct.tensor([[0]]), 1.0), RuntimeError,
         "Index tensor must have the same number of dimensions as self tensor"),
        (lambda: x.clone().scatter_(1, ct.zeros(3, 3, 3, dtype=ct.int64), 1.0), RuntimeError,
         r"Expected index \[3, 3, 3\] to be no larger than self \[2, 3, 4\] apart from dimension 1"),
        (lambda: x.clone().scatter_(1, ct.zeros(1, 5, 1, dtype=ct.int64), ct.ones(1, 4, 1)), RuntimeError,
         r"and to be no larger size than src \[1, 4, 1\]"),
        (lambda: x.clone().scatter_(1, ct.tensor([[[0]]]), x, reduce="foo"), RuntimeError,
         "reduce argument must be either add or multiply."),
        (lambda: x.clone().scatter_add_(1, ct.tensor([[[0.]]]), x), RuntimeError, "Expected dtype int32/int64"),
    ]
    for fn, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            fn()


@pytest.mark.parametrize("layout", ["contig", "transposed", "sliced"])
@pytest.mark.fp64
def test_index_select_add_copy_fill(layout):
    t, a = make((4, 5, 3), ct.float64, layout)
    for dim in (0, 1, 2):
        idx = np.array([2, 0, 1, 2])
        check(ct.index_select(t, dim, ct.tensor(idx)), np.take(a, idx, axis=dim))
        check(t.index_select(dim, ct.tensor(idx, dtype=ct.int32)), np.take(a, idx, axis=dim))
    check(t.index_select(1, ct.tensor(3)), np.take(a, [3], axis=1))
    check(ct.index_select(ct.tensor(5.), 0, ct.tensor([0])), np.array(5, np.float32))
    # index_add with duplicates
    idx = np.array([0, 4, 0, 1, 4, 4])
    src, sn = make((4, 6, 3), ct.float64, "transposed", seed=12)
    exp = np.array(a)
    for i, j in enumerate(idx):
        exp[:, j] += sn[:, i]
    np.testing.assert_allclose(t.index_add(1, ct.tensor(idx), src)._to_numpy_copy(), exp, rtol=1e-12)
    exp2 = np.array(a)
    for i, j in enumerate(idx):
        exp2[:, j] += 2 * sn[:, i]
    t2 = t.clone()
    t2.index_add_(1, ct.tensor(idx), src, alpha=2)
    np.testing.assert_allclose(t2._to_numpy_copy(), exp2, rtol=1e-12)
    # index_copy (unique and duplicate: last wins), index_fill
    idx = np.array([3, 0])
    src, sn = make((4, 2, 3), ct.float64, seed=13)
    exp = np.array(a)
    exp[:, idx] = sn
    check(t.index_copy(1, ct.tensor(idx), src), exp)
    t3 = t.clone()
    t3.index_copy_(1, ct.tensor([1, 1]), src)
    exp = np.array(a)
    exp[:, 1] = sn[:, 1]
    check(t3, exp)
    exp = np.array(a)
    exp[:, :, [2, 0]] = -1
    check(t.index_fill(2, ct.tensor([2, 0, 2]), -1), exp)
    t4 = t.clone()
    t4.index_fill_(2, ct.tensor([2, 0]), ct.tensor(-1.))
    check(t4, exp)


@pytest.mark.fp64
def test_index_dim_errors():
    x = ct.arange(6.).view(2, 3)
    cases = [
        (lambda: ct.index_select(x, 1, ct.tensor([5])), RuntimeError,
         "INDICES element is out of DATA bounds, id=5 axis_dim=3"),
        (lambda: ct.index_select(x, 1, ct.tensor([-1])), RuntimeError,
         "INDICES element is out of DATA bounds, id=-1 axis_dim=3"),
        (lambda: ct.index_select(x, 0, ct.tensor([2])), IndexError, "index out of range in self"),
        (lambda: x.clone().index_add_(0, ct.tensor([-1]), ct.ones(1, 3)), RuntimeError,
         "index -1 is out of bounds for dimension 0 with size 2"),
        (lambda: ct.zeros(3).index_add_(0, ct.tensor([3]), ct.ones(1)), IndexError, "index out of range in self"),
        (lambda: x.clone().index_copy_(1, ct.tensor([-1]), ct.ones(2, 1)), IndexError,
         r"index_copy_\(\): index -1 is out of bounds for dimension 1 with size 3"),
        (lambda: ct.index_select(x, 0, ct.tensor([[0]])), IndexError, "index_select\\(\\): Index is supposed to be "
                                                                       "a vector"),
        (lambda: ct.index_select(x, 0, ct.tensor([0.])), RuntimeError, "Expected dtype int32 or int64 for index"),
        (lambda: x.clone().index_add_(0, ct.tensor([5]), ct.ones(1, 3)), RuntimeError,
         "index 5 is out of bounds for dimension 0 with size 2"),
        (lambda: x.clone().index_add_(0, ct.tensor([0]), ct.ones(1, 3, dtype=ct.float64)), RuntimeError,
         r"index_add_\(\): self \(Float\) and source \(Double\) must have the same scalar type"),
        (lambda: x.clone().index_add_(0, ct.tensor([0]), ct.ones(2, 3)), RuntimeError,
         r"index_add_\(\): Number of indices \(1\) should be equal to source.size\(dim\): \(2\), for dim: 0"),
        (lambda: x.clone().index_add_(0, ct.tensor([0]), ct.ones(1, 2)), RuntimeError,
         "source tensor shape must match self tensor shape, excluding the specified dimension"),
        (lambda: x.clone().index_copy_(1, ct.tensor([5]), ct.ones(2, 1)), IndexError,
         r"index_copy_\(\): index 5 is out of bounds for dimension 1 with size 3"),
        (lambda: x.clone().index_fill_(1, ct.tensor([5]), 1.), IndexError,
         "index 5 is out of bounds for dimension 1 with size 3"),
        (lambda: x.clone().index_fill_(0, ct.tensor([0]), ct.tensor([1., 2.])), RuntimeError,
         "index_fill_ only supports a 0-dimensional value tensor"),
    ]
    for fn, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            fn()


def test_take_put():
    for layout in ("contig", "transposed", "sliced"):
        t, a = make((3, 4), ct.int32, layout)
        idx = np.array([[0, -1], [5, 11]])
        check(ct.take(t, ct.tensor(idx)), np.take(a.reshape(-1), idx))
        src, sn = make((2, 2), ct.int32, seed=3)
        t2 = t.clone()
        t2.put_(ct.tensor(idx), src)
        exp = np.array(a).reshape(-1)
        exp[idx.reshape(-1)] = sn.reshape(-1)
        check(t2, exp.reshape(3, 4))
        t3 = t.clone() if layout == "contig" else t.t().contiguous().t()
        t3.put_(ct.tensor([0, 0, 11]), ct.tensor([1, 2, 3], dtype=ct.int32), accumulate=True)
        exp = np.array(a).reshape(-1)
        exp[0] += 3
        exp[11] += 3
        check(t3, exp.reshape(3, 4))
    with pytest.raises(IndexError, match="out of range: tried to access index 12 on a tensor of 12 elements."):
        ct.take(t, ct.tensor([12]))
    with pytest.raises(IndexError, match="out of range: tried to access index 50 on a tensor of 12 elements."):
        t.clone().put_(ct.tensor([50]), ct.tensor([1], dtype=ct.int32))
    with pytest.raises(RuntimeError, match="take\\(\\): Expected a long tensor for index, but got Float"):
        ct.take(t, ct.tensor([0.]))
    with pytest.raises(IndexError, match="put_\\(\\): Expected source and index to have the same number of "
                                         "elements, but got source.numel\\(\\) = 2, index.numel\\(\\) = 1"):
        t.clone().put_(ct.tensor([0]), ct.tensor([1, 2], dtype=ct.int32))


@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_select_scatter_nonzero(dtype):
    t, a = make((3, 4), dtype, "transposed")
    m, mn = make((3, 4), ct.bool, "sliced", seed=5)
    check(ct.masked_select(t, m), a[mn])
    check(t.masked_select(m[0]), np.broadcast_to(a, (3, 4))[np.broadcast_to(mn[0], (3, 4))])
    src, sn = make((20,), dtype, seed=7)
    exp = np.array(a)
    exp[mn] = sn[:mn.sum()]
    check(t.masked_scatter(m, src), exp)
    t2 = t.clone()
    t2.masked_scatter_(m, src)
    check(t2, exp)
    check(ct.nonzero(t), np.argwhere(a))
    check(ct.argwhere(t), np.argwhere(a))
    for got, e in zip(t.nonzero(as_tuple=True), np.nonzero(a)):
        check(got, e)


def test_nonzero_edge_cases():
    check(ct.nonzero(ct.tensor(5.)), np.zeros((1, 0), np.int64))
    check(ct.nonzero(ct.tensor(0.)), np.zeros((0, 0), np.int64))
    r = ct.nonzero(ct.tensor(5.), as_tuple=True)
    assert len(r) == 1
    check(r[0], np.array([0]))
    check(ct.nonzero(ct.zeros(2, 0)), np.zeros((0, 2), np.int64))
    check(ct.nonzero(ct.tensor([[0, 1.], [float("nan"), 0]])), np.array([[0, 1], [1, 0]]))
    big = np.random.default_rng(3).random(300000) > 0.7           # several chunks
    check(ct.nonzero(ct.tensor(big)), np.argwhere(big))
    x = ct.tensor(big).view(300, 1000)[:, ::3]
    check(ct.nonzero(x), np.argwhere(big.reshape(300, 1000)[:, ::3]))
    check(ct.where(ct.tensor([[0, 1], [1, 1]]))[1], np.nonzero(np.array([[0, 1], [1, 1]]))[1])
    with pytest.raises(RuntimeError, match="masked_select: expected BoolTensor for mask"):
        ct.masked_select(ct.zeros(3), ct.tensor([1, 0, 1]))
    with pytest.raises(RuntimeError, match="Number of elements of source < number of ones in mask"):
        ct.zeros(3).masked_scatter_(ct.tensor([True, True, True]), ct.zeros(2))


def test_uses_no_host_sync_for_host_indices():
    """Indices from Python lists are validated on the host: no read of the device error flag."""
    from cltensor._index import engine as _advindex
    calls = []
    orig = _advindex._read_err
    _advindex._read_err = lambda rt: calls.append(1) or orig(rt)
    try:
        x = ct.arange(12.).view(3, 4)
        x[[0, 2]]
        x[:, [1, 1]] = 0.0
        x[x > 3]
        assert calls == []
        x[ct.tensor([0, 1])]
        assert calls == [1]
    finally:
        _advindex._read_err = orig


# ---------------------------------------------------------------- hypothesis: random index tuples vs numpy

def _hyp():
    return pytest.importorskip("hypothesis")


def test_hypothesis_getitem_setitem():
    hyp = _hyp()
    st = hyp.strategies

    @st.composite
    def case(draw):
        shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
        items, d = [], 0
        n_adv = 0
        while d < len(shape) and len(items) < 4:
            kind = draw(st.sampled_from(["int", "slice", "list", "none", "mask"] if n_adv < 2 else
                                        ["int", "slice", "none"]))
            n = shape[d]
            if kind == "int":
                items.append(draw(st.integers(-n, n - 1)))
                d += 1
            elif kind == "slice":
                items.append(slice(draw(st.integers(-n, n)), draw(st.integers(-n, n)), draw(st.integers(1, 2))))
                d += 1
            elif kind == "list":
                k = draw(st.integers(0, 3))
                items.append(draw(st.lists(st.integers(-n, n - 1), min_size=k, max_size=k)) if k else
                             np.zeros(0, np.int64))
                n_adv += 1
                d += 1
            elif kind == "mask":
                items.append(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))))
                n_adv += 1
                d += 1
            else:
                items.append(None)
        layout = draw(st.sampled_from(["contig", "transposed", "sliced"]))
        return shape, tuple(items), layout

    @hyp.settings(max_examples=50, deadline=None, derandomize=True)
    @hyp.given(case())
    def run(c):
        shape, idx, layout = c
        t, a = make(shape, ct.float32, layout)
        try:
            exp = np_index(a, idx)
        except IndexError:
            return        # e.g. index arrays that do not broadcast
        ct_idx = tuple(ct.tensor(x) if isinstance(x, np.ndarray) else x for x in idx)
        check(t[ct_idx], exp)
        t[ct_idx] = -1.0
        check(t, np_setitem(a, idx, -1.0))

    run()


# ---------------------------------------------------------------- gradients (float64, checked last)

def _g(shape, seed=0):
    return ct.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=ct.float64, requires_grad=True)


@pytest.mark.fp64
def test_grad_getitem_setitem():
    x = _g((3, 4))
    assert gradcheck(lambda x: x[[0, 2, 0]], (x,))
    assert gradcheck(lambda x: x[:, ct.tensor([1, 1, 3])] * 2, (x,))
    assert gradcheck(lambda x: x[x.detach() > 0], (x,))
    assert gradcheck(lambda x: x[ct.tensor([[0], [2]]), ct.tensor([1, 3])], (x,))
    v = _g((2, 4), 1)

    def f(x, v):
        y = x * 1
        y[[2, 0]] = v
        return y
    assert gradcheck(f, (x, v))

    def f2(x, v):
        y = x * 1
        y[:, [3, 1]] = v[:, :2].t()[0]     # value broadcast over the rows
        return y
    assert gradcheck(f2, (x, v))
    assert gradcheck(lambda x, v: x.index_put((ct.tensor([0, 0, 1]),), v[:, :3].reshape(-1)[:3].reshape(3, 1),
                                              accumulate=True), (x, v))
    y = x * 1
    y[[0]] = 0.0
    assert y.grad_fn is not None


@pytest.mark.fp64
def test_grad_gather_scatter_family():
    x = _g((3, 4))
    idx = ct.tensor([[0, 3, 3], [1, 1, 0], [2, 0, 1]])
    src = _g((3, 3), 2)
    assert gradcheck(lambda x: ct.gather(x, 1, idx), (x,))
    assert gradcheck(lambda x, s: ct.scatter(x, 1, ct.tensor([[0, 3, 2], [1, 2, 0], [2, 0, 1]]), s), (x, src))
    assert gradcheck(lambda x: x.scatter(1, idx, 0.5), (x,))
    assert gradcheck(lambda x, s: ct.scatter_add(x, 1, idx, s), (x, src))
    assert gradcheck(lambda x, s: ct.scatter_reduce(x, 1, idx, s, "mean"), (x, src))
    assert gradcheck(lambda x: ct.index_select(x, 1, ct.tensor([3, 0, 3])), (x,))
    s4 = _g((3, 3), 3)
    assert gradcheck(lambda x, s: x.index_add(1, ct.tensor([0, 2, 0]), s, alpha=1.5), (x, s4))
    assert gradcheck(lambda x, s: x.index_copy(1, ct.tensor([3, 0, 1]), s), (x, s4))
    assert gradcheck(lambda x: x.index_fill(0, ct.tensor([1]), 2.0), (x,))
    assert gradcheck(lambda x: ct.take(x, ct.tensor([[0, 11], [11, 5]])), (x,))
    assert gradcheck(lambda x, s: x.put(ct.tensor([0, 11, 5]), s[0], accumulate=True), (x, src))
    m = ct.tensor(np.random.default_rng(4).random((3, 4)) > 0.5)
    assert gradcheck(lambda x: ct.masked_select(x, m), (x,))
    s12 = _g((12,), 5)
    assert gradcheck(lambda x, s: x.masked_scatter(m, s), (x, s12))
    # in-place forms record through copy_
    y = x * 1
    y.index_add_(1, ct.tensor([0, 2, 0]), s4)
    y.sum().backward() if hasattr(y, "sum") else None


@pytest.mark.fp64
def test_double_backward():
    from cltensor.autograd import gradgradcheck
    x = _g((3, 4))
    assert gradgradcheck(lambda x: x[[0, 2, 0]] ** 2, (x,))
    assert gradgradcheck(lambda x: ct.gather(x, 1, ct.tensor([[0, 3], [1, 1], [2, 2]])) ** 2, (x,))
    assert gradgradcheck(lambda x: ct.index_select(x, 1, ct.tensor([0, 3, 3])) ** 2, (x,))


@pytest.mark.fp64
def test_grad_masked_select_broadcast():
    x = _g((4,))
    m = ct.tensor([[True, False, True, True], [False, True, True, False]])
    assert gradcheck(lambda x: ct.masked_select(x, m), (x,))


# ---------------------------------------------------------------- optional: differential test against PyTorch

def test_random_index_expressions_match_torch():
    """Random index tuples (ints, slices, lists, index tensors, 0-d tensors, masks, None, ..., bools): same
    result, same exception type and message as PyTorch, for t[idx] and t[idx] = v."""
    import torch
    import random
    import warnings
    rng = random.Random(0)
    nrng = np.random.default_rng(0)

    def rand_index(shape):
        items, d = [], 0
        while d < len(shape) and len(items) < 5:
            n = shape[d]
            k = rng.choice(["int", "slice", "list", "none", "mask", "tensor", "ell", "bool", "t0"])
            if k == "int":
                items.append(rng.randint(-n, n - 1))
                d += 1
            elif k == "slice":
                items.append(slice(rng.randint(-n, n), rng.randint(-n, n), rng.randint(1, 3)))
                d += 1
            elif k == "list":
                items.append([rng.randint(-n - 1, n) for _ in range(rng.randint(0, 3))])
                d += 1
            elif k == "tensor":
                items.append(np.array([[rng.randint(-n, n - 1) for _ in range(2)]] * rng.randint(1, 2)))
                d += 1
            elif k == "t0":
                items.append(np.array(rng.randint(-n, n - 1)))
                d += 1
            elif k == "mask":
                kk = rng.randint(1, min(2, len(shape) - d))
                items.append(nrng.random(shape[d:d + kk]) > 0.5)
                d += kk
            elif k == "none":
                items.append(None)
            elif k == "bool":
                items.append(rng.choice([True, False]))
            elif not any(x is Ellipsis for x in items):
                items.append(Ellipsis)
                d += rng.randint(0, len(shape) - d)
        return tuple(items)

    def conv(idx, lib):
        return tuple(lib.tensor(x) if isinstance(x, np.ndarray) else x for x in idx)

    def run(fn):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return fn(), None
        except Exception as e:   # noqa: BLE001
            return None, e

    for _ in range(250):
        shape = tuple(rng.randint(1, 4) for _ in range(rng.randint(1, 4)))
        a = nrng.standard_normal(shape).astype(np.float32)
        idx = rand_index(shape)
        exp, texc = run(lambda: host(torch.tensor(a)[conv(idx, torch)]))
        got, cexc = run(lambda: ct.tensor(a)[conv(idx, ct)]._to_numpy_copy())
        if texc is not None or cexc is not None:
            assert type(texc) is type(cexc) and str(texc) == str(cexc), (shape, idx, texc, cexc)
            continue
        assert got.shape == exp.shape and np.array_equal(got, exp), (shape, idx)
        ta, ca = torch.tensor(a), ct.tensor(a)
        val = nrng.standard_normal(exp.shape).astype(np.float32)
        ta[conv(idx, torch)] = torch.tensor(val)
        ca[conv(idx, ct)] = ct.tensor(val)
        np.testing.assert_array_equal(ca._to_numpy_copy(), host(ta))
