"""View ops share storage (writing through a view changes its base) and match numpy's values; reshape copies only
when it must; errors follow PyTorch."""
import numpy as np
import pytest

import cltensor as ct
from _torchref import same_errors
from _host import host


def arr(*shape, dtype=np.float32):
    return np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)


def same_storage(a, b):
    return a._st is b._st


def check(t, want):
    np.testing.assert_array_equal(host(t), np.asarray(want))
    assert tuple(t.shape) == np.asarray(want).shape


def test_view_and_reshape():
    a = arr(2, 3)
    x = ct.tensor(a)
    for shape in [(3, 2), (6,), (-1,), (1, 6), (6, 1), (2, 1, 3), (-1, 2), (1, 1, 6)]:
        v = x.view(*shape)
        assert same_storage(v, x)
        check(v, a.reshape(shape))
        check(x.reshape(shape), a.reshape(shape))
    assert x.view(6, 1).stride() == (1, 1)
    check(x.view([3, 2]), a.reshape(3, 2))
    check(x.reshape((3, 2)), a.reshape(3, 2))
    check(ct.zeros(1, 1).view([]), np.zeros(()))
    check(ct.tensor(5.0).view(1, 1), [[5.0]])
    assert ct.zeros(0, 3).view(3, 0, 2).shape == (3, 0, 2)
    assert x.view_as(ct.empty(3, 2)).shape == (3, 2) and x.reshape_as(ct.empty(6)).shape == (6,)


def test_view_needs_compatible_strides():
    x = ct.tensor(arr(4, 3))
    assert x[::2].view(2, 1, 3).stride() == (6, 3, 1)              # strides as PyTorch's computeStride
    assert x.T.view(3, 4, 1).stride() == (1, 3, 3) and x.T.view(3, 1, 4).stride() == (1, 12, 3)
    check(x.T.view(3, 4, 1).squeeze(-1), arr(4, 3).T)
    p = ct.tensor(arr(2, 3, 4)).permute(2, 0, 1)
    assert p.view(4, 6).stride() == (1, 4)                          # merged dims that stay adjacent
    check(p.view(4, 6), arr(2, 3, 4).transpose(2, 0, 1).reshape(4, 6))
    for bad in (lambda: x.T.view(12), lambda: x[:, :2].view(8), lambda: x[::2].view(6),
                lambda: ct.zeros(4, 3, 2).transpose(0, 1).view(3, 8)):
        with pytest.raises(RuntimeError, match="view size is not compatible with input tensor's size and stride"):
            bad()


def test_reshape_copies_only_when_needed():
    a = arr(3, 4)
    x = ct.tensor(a)
    r = x.T.reshape(12)                              # needs a copy
    check(r, a.T.reshape(12))
    assert not same_storage(r, x)
    r[0] = 100
    assert x[0, 0].item() == 0
    v = x.reshape(4, 3)                              # a view
    v[0, 0] = 100
    assert x[0, 0].item() == 100
    z = ct.zeros(4, 3, 2).transpose(1, 2).reshape(4, 6)
    assert z.is_contiguous()


@pytest.mark.parametrize("shape, exc, match", [
    ((5,), RuntimeError, "shape '\\[5\\]' is invalid for input of size 6"),
    ((-1, 4), RuntimeError, "invalid for input of size 6"),
    ((-1, -1), RuntimeError, "only one dimension can be inferred"),
    ((2, -2), RuntimeError, "invalid shape dimension -2"),
    ((2.0, 3), TypeError, None),
])
def test_reshape_errors(shape, exc, match):
    with pytest.raises(exc, match=match):
        ct.zeros(2, 3).reshape(*shape)
    with pytest.raises(exc, match=match):
        ct.zeros(2, 3).view(*shape)


def test_reshape_zero_elements_ambiguous():
    with pytest.raises(RuntimeError, match="cannot reshape tensor of 0 elements into shape \\[-1, 0\\]"):
        ct.zeros(0, 3).reshape(-1, 0)
    assert ct.zeros(0, 3).reshape(-1, 3).shape == (0, 3)


def test_flatten_unflatten():
    a = arr(2, 3, 4)
    x = ct.tensor(a)
    check(x.flatten(), a.reshape(-1))
    check(x.flatten(1), a.reshape(2, 12))
    check(x.flatten(0, 1), a.reshape(6, 4))
    check(ct.flatten(x, -2, -1), a.reshape(2, 12))
    assert x.flatten(1, 1) is x
    check(ct.tensor(5.0).flatten(), [5.0])
    assert same_storage(x.flatten(), x)
    check(x.permute(2, 1, 0).flatten(), a.T.reshape(-1))   # a copy where needed
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        x.flatten(2, 1)
    y = ct.zeros(2, 12)
    assert y.unflatten(1, (3, 4)).shape == (2, 3, 4) and y.unflatten(1, (-1, 4)).shape == (2, 3, 4)
    assert y.unflatten(-1, (2, 2, 3)).shape == (2, 2, 2, 3)
    with pytest.raises(RuntimeError, match="unflatten: Provided sizes \\[5, 4\\] don't multiply up to the size of "
                                           "dim 1 \\(12\\)"):
        y.unflatten(1, (5, 4))


def test_squeeze_unsqueeze():
    x = ct.zeros(2, 1, 3, 1)
    assert x.squeeze().shape == (2, 3) and x.squeeze(1).shape == (2, 3, 1) and x.squeeze(0).shape == (2, 1, 3, 1)
    assert x.squeeze((1, 3)).shape == (2, 3) and x.squeeze(-1).shape == (2, 1, 3)
    assert same_storage(x.squeeze(), x)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.squeeze(4)
    y = ct.zeros(2, 3)
    assert y.unsqueeze(0).shape == (1, 2, 3) and y.unsqueeze(-1).shape == (2, 3, 1)
    assert y.unsqueeze(1).stride() == (3, 3, 1) and y.unsqueeze(2).stride() == (3, 1, 1)
    assert y[:, ::2].unsqueeze(2).stride() == (3, 2, 1) and y[:, ::2].unsqueeze(1).stride() == (3, 4, 2)
    assert ct.tensor(1.0).unsqueeze(0).stride() == (1,)
    with pytest.raises(IndexError):
        y.unsqueeze(3)
    z = ct.zeros(3)
    z.unsqueeze_(0)
    assert z.shape == (1, 3)
    z.squeeze_()
    assert z.shape == (3,)


def test_transpose_permute_T_mT_movedim():
    a = arr(2, 3, 4)
    x = ct.tensor(a)
    t = x.transpose(0, 2)
    assert t.shape == (4, 3, 2) and t.stride() == (1, 4, 12) and same_storage(t, x)
    check(t, a.transpose(2, 1, 0))
    check(x.swapaxes(0, 1), a.swapaxes(0, 1))
    check(ct.swapdims(x, -1, 0), np.swapaxes(a, -1, 0))
    check(x.permute(2, 0, 1), a.transpose(2, 0, 1))
    check(x.permute((1, 2, 0)), a.transpose(1, 2, 0))
    assert x.permute(2, 0, 1).stride() == (1, 12, 4)
    check(x.mT, np.swapaxes(a, -1, -2))
    m = ct.tensor(arr(2, 3))
    check(m.T, arr(2, 3).T)
    check(m.t(), arr(2, 3).T)
    check(x.movedim(0, -1), np.moveaxis(a, 0, -1))
    check(x.movedim((0, 1), (2, 0)), np.moveaxis(a, (0, 1), (2, 0)))
    check(ct.moveaxis(x, 1, 0), np.moveaxis(a, 1, 0))
    with pytest.raises(RuntimeError, match="number of dimensions in the tensor input does not match"):
        x.permute(2, 0)
    with pytest.raises(RuntimeError, match="duplicate dims"):
        x.permute(2, 0, 0)
    with pytest.raises(RuntimeError, match="only supported on matrices"):
        ct.zeros(2).mT
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
        x.t()
    m2 = ct.zeros(2, 3)
    m2.t_()
    assert m2.shape == (3, 2)


def test_expand_broadcast_to():
    a = arr(3, 1)
    x = ct.tensor(a)
    e = x.expand(2, 3, 4)
    assert e.stride() == (0, 1, 0) and same_storage(e, x)
    check(e, np.broadcast_to(a, (2, 3, 4)))
    check(x.expand(-1, 4), np.broadcast_to(a, (3, 4)))
    check(x.expand_as(ct.zeros(3, 5)), np.broadcast_to(a, (3, 5)))
    check(ct.broadcast_to(x, (2, 3, 2)), np.broadcast_to(a, (2, 3, 2)))
    check(x.broadcast_to((3, 3)), np.broadcast_to(a, (3, 3)))
    check(ct.tensor(7.0).expand(2, 2), np.full((2, 2), 7.0))
    with pytest.raises(RuntimeError, match="The expanded size of the tensor \\(4\\) must match the existing size "
                                           "\\(3\\) at non-singleton dimension 0"):
        x.expand(4, 4)
    with pytest.raises(RuntimeError, match="the number of sizes provided \\(1\\) must be greater or equal"):
        x.expand(4)


def test_narrow_unbind_split_chunk():
    a = np.arange(10)
    x = ct.tensor(a)
    check(x.narrow(0, 2, 3), a[2:5])
    check(x.narrow(0, -3, 2), a[-3:-1])
    assert same_storage(x.narrow(0, 2, 3), x)
    with pytest.raises(RuntimeError, match="exceeds dimension size"):
        x.narrow(0, 8, 3)
    m = ct.tensor(arr(3, 4))
    us = m.unbind(1)
    assert len(us) == 4 and all(same_storage(u, m) for u in us)
    check(us[2], arr(3, 4)[:, 2])
    check(ct.unbind(m)[1], arr(3, 4)[1])
    for got, want in zip(x.split(3), np.split(a, [3, 6, 9])):
        check(got, want)
    assert [p.shape[0] for p in x.split([2, 8])] == [2, 8]
    assert all(same_storage(p, x) for p in x.split(3))
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum exactly to 10"):
        x.split([2, 7])
    assert [p.shape[0] for p in x.chunk(3)] == [4, 4, 2]
    assert [p.shape[0] for p in x.chunk(4)] == [3, 3, 3, 1]
    assert [p.shape[0] for p in ct.arange(5).chunk(10)] == [1, 1, 1, 1, 1]
    check(m.chunk(2, 1)[1], arr(3, 4)[:, 2:])
    check(m.split(3, dim=1)[1], arr(3, 4)[:, 3:])
    with pytest.raises(RuntimeError, match="chunk expects `chunks` to be greater than 0"):
        x.chunk(0)


def test_diagonal():
    a = arr(3, 4)
    x = ct.tensor(a)
    for off in (0, 1, -1, 3, 5, -4):
        check(x.diagonal(off), np.diagonal(a, off))
    b = arr(2, 3, 4)
    check(ct.tensor(b).diagonal(0, 1, 2), np.diagonal(b, 0, 1, 2))
    check(ct.tensor(b).diagonal(1, -1, 0), np.diagonal(b, 1, -1, 0))
    assert same_storage(x.diagonal(), x)
    with pytest.raises(RuntimeError, match="diagonal dimensions cannot be identical"):
        x.diagonal(0, 1, 1)


def test_contiguous_and_clone():
    a = arr(3, 4)
    x = ct.tensor(a)
    assert x.contiguous() is x
    c = x.T.contiguous()
    assert c.is_contiguous() and c.stride() == (3, 1) and not same_storage(c, x)
    check(c, a.T)
    k = x.T.clone()                                  # PyTorch's preserve_format: a dense layout keeps its strides
    assert k.stride() == (1, 4) and not same_storage(k, x)
    check(k, a.T)
    assert x[:, ::2].clone().is_contiguous()          # not dense: contiguous
    assert x.T.clone(memory_format=ct.contiguous_format).is_contiguous()
    assert ct.zeros(2, 3, 4).permute(2, 0, 1).clone().stride() == (1, 12, 4)
    k[0, 0] = 50
    assert x[0, 0].item() == 0


WRITES = [
    ("view", lambda x: x.view(4, 3), lambda a: a.reshape(4, 3)),
    ("reshape", lambda x: x.reshape(12), lambda a: a.reshape(12)),
    ("T", lambda x: x.T, lambda a: a.T),
    ("split", lambda x: x.split(2, 1)[1], lambda a: a[:, 2:]),
    ("diagonal", lambda x: x.diagonal(), lambda a: np.einsum("ii->i", a[:, :3])),
    ("unbind", lambda x: x.unbind(0)[1], lambda a: a[1]),
    ("narrow", lambda x: x.narrow(1, 1, 2), lambda a: a[:, 1:3]),
    ("chunk", lambda x: x.chunk(3)[2], lambda a: a[2]),
    ("squeeze", lambda x: x[1:2].squeeze(0), lambda a: a[1]),
    ("unsqueeze", lambda x: x.unsqueeze(0), lambda a: a[None]),
    ("flatten", lambda x: x.flatten(), lambda a: a.reshape(-1)),
    ("movedim", lambda x: x.movedim(0, 1), lambda a: np.moveaxis(a, 0, 1)),
    ("step", lambda x: x[::2, 1::2], lambda a: a[::2, 1::2]),
]


@pytest.mark.parametrize("name, view, npview", WRITES, ids=[w[0] for w in WRITES])
def test_writes_through_views_change_the_base(name, view, npview):
    a = arr(3, 4, dtype=np.int64)
    x = ct.tensor(a)
    v = view(x)
    v.mul_(10)                     # in-place kernel
    v += 1                         # operator
    npview(a)[...] = npview(a) * 10 + 1
    check(x, a)


def test_inplace_write_errors_on_overlap():
    x = ct.arange(12).view(3, 4)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor refers to a single "
                                           "memory location"):
        x.expand(2, 3, 4).add_(1)
    with pytest.raises(RuntimeError, match="some elements of the input tensor and the written-to tensor refer"):
        x.add_(x[0])
    with pytest.raises(RuntimeError, match="some elements of the input tensor and the written-to tensor refer"):
        x.view(-1)[1:].copy_(x.view(-1)[:-1])
    x.add_(x.T.T)                                          # the same memory exactly: fine
    assert x[1, 1].item() == 10
    x.expand(2, 3, 4).fill_(0)                             # fill_ writes one value: allowed as in PyTorch
    assert x.sum().item() == 0


# ---------------------------------------------------------------- view(dtype) with another element size

_VD = [ct.uint8, ct.int16, ct.int32, ct.int64, ct.float16, ct.float32, ct.complex64]


@pytest.mark.parametrize("src", [ct.int32, ct.float32, ct.int16, ct.complex64, ct.uint8])
@pytest.mark.parametrize("dst", _VD)
def test_view_dtype_other_element_size_matches_numpy(src, dst):
    g = np.random.default_rng(3)
    raw = g.integers(0, 256, size=(3, 5, 16 * 8), dtype=np.uint8)
    base_np = raw.view(src.np)                     # 16 * 8 bytes per row: every ratio divides it
    base = ct.tensor(base_np)
    for sl in [(slice(None),), (slice(None), slice(1, 4)), (slice(None, None, 2), slice(None)), (0,),
               (slice(None), slice(None, None, 2))]:
        t, n = base[sl], base_np[sl]
        r = t.view(dst)
        want = n.view(dst.np)
        assert r.dtype == dst and tuple(r.shape) == want.shape
        assert r.data_ptr() == t.data_ptr()
        np.testing.assert_array_equal(host(r).view(np.uint8), want.view(np.uint8))
    t = base[:, 1:3]            # writing through the view changes the base
    v = t.view(ct.uint8)
    v[0, 0, 0] = 7
    v[2, 1, -1] = 9
    want = base_np.copy()
    w8 = want[:, 1:3].view(np.uint8)
    w8[0, 0, 0], w8[2, 1, -1] = 7, 9
    np.testing.assert_array_equal(host(base), want)


def test_view_dtype_other_element_size_errors_like_torch():
    import torch
    cases = [lambda m: m.ones(3).view(m.int64), lambda m: m.ones(4, 2).t().view(m.int64),
             lambda m: m.ones(4, 3)[:, :2].view(m.int64), lambda m: m.ones(5)[1:].view(m.int64),
             lambda m: m.tensor(1.).view(m.int64), lambda m: m.tensor(1.).view(m.int16),
             lambda m: m.ones(4, 4)[:, ::2].view(m.int16)]
    same_errors(torch, ct, cases)
    for f in (lambda m: m.ones(3, 2).view(m.int64), lambda m: m.zeros(0, 4).view(m.int64),
              lambda m: m.ones(2, 6)[:, 2:6].view(m.complex64), lambda m: m.ones(4, requires_grad=True).view(m.int16)):
        a, b = f(torch), f(ct)
        assert tuple(a.shape) == tuple(b.shape) and a.stride() == b.stride() and \
            a.storage_offset() == b.storage_offset() and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(host(a.detach()), host(b))


@pytest.mark.fp64
def test_view_dtype_as_float64():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(host(ct.tensor(x).view(ct.float64)), x.view(np.float64))
    np.testing.assert_array_equal(host(ct.tensor(x).view(ct.complex128)), x.view(np.complex128))
    np.testing.assert_array_equal(host(ct.tensor(x)[1:].view(ct.float64)), x[1:].view(np.float64))


_AS_STRIDED = [
    ((lambda x: x[:10]), (3, 4), (2, 1), None),                 # overlapping windows: elements read twice
    ((lambda x: x), (4, 4), (1, 1), 3),
    ((lambda x: x[2:]), (2, 3), (3, 1), None),
    ((lambda x: x.view(4, 6).t()), (3, 2), (1, 6), 5),          # a transposed base
    ((lambda x: x.view(4, 6)[:, 1:5]), (2, 2, 2), (6, 1, 2), None),
    ((lambda x: x), (0, 3), (1, 1), None),
]


@pytest.mark.parametrize("case", range(len(_AS_STRIDED)))
def test_as_strided_backward_sums_overlaps_like_torch(case):
    torch = pytest.importorskip("torch")
    base, size, stride, off = _AS_STRIDED[case]
    a = np.arange(24, dtype=np.float32)
    w = np.random.default_rng(case).standard_normal(size).astype(np.float32)
    x, tx = ct.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (base(x).as_strided(size, stride, off) * ct.tensor(w)).sum().backward()
    (base(tx).as_strided(size, stride, off) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-6)
