"""numpy interop on the CPU device: from_numpy / as_tensor / numpy() share memory both ways (kernels see host
writes, numpy sees kernel writes), tensor()/Tensor()/clone()/other-dtype as_tensor copy; item/tolist/float/...
and the element access protocol. Memory sharing is a property of the CPU device: those tests name device="cpu"
(from_numpy tensors are CPU tensors); the others run on the default device."""
import gc

import numpy as np
import pytest

import cltensor as ct
from _host import host


@pytest.mark.cl_cpu
def test_from_numpy_shares_both_ways():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = ct.from_numpy(a)
    assert t.dtype is ct.float32 and t.shape == (2, 3) and t.stride() == (3, 1)
    a[0, 0] = 100                                  # host write, seen by the next kernel
    np.testing.assert_array_equal((t + 1).numpy(), a + 1)
    t.add_(1)                                      # kernel write, seen through numpy
    np.testing.assert_array_equal(a, [[101, 2, 3], [4, 5, 6]])
    t.T.mul_(2)                                    # through a view of the tensor
    np.testing.assert_array_equal(a, [[202, 4, 6], [8, 10, 12]])
    t[1, 2] = -1.0
    assert a[1, 2] == -1.0
    t.zero_()
    assert not a.any()


@pytest.mark.cl_cpu
@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16,
                                   np.float32, np.float64, np.complex64, np.complex128])
def test_from_numpy_dtypes(dtype):
    a = (np.arange(5) % 2).astype(dtype)
    t = ct.from_numpy(a)
    assert t.dtype.np == np.dtype(dtype)
    np.testing.assert_array_equal(t.numpy(), a)
    t.fill_(1)
    np.testing.assert_array_equal(a, np.ones(5, dtype))


@pytest.mark.cl_cpu
@pytest.mark.fp64
def test_from_numpy_strided_offset_and_special_arrays():
    base = np.arange(24, dtype=np.int64).reshape(4, 6)
    v = base[1:, ::2]                               # offset + steps
    t = ct.from_numpy(v)
    assert t.shape == (3, 3) and t.stride() == (6, 2)
    np.testing.assert_array_equal(t.numpy(), v)
    t.mul_(-1)
    assert base[1, 0] == -6 and base[1, 1] == 7
    e = ct.from_numpy(np.zeros((0, 3)))
    assert e.shape == (0, 3) and e.dtype is ct.float64
    s = ct.from_numpy(np.array(3.5))
    assert s.shape == () and s.item() == 3.5
    with pytest.warns(UserWarning, match="not writable"):
        b = ct.from_numpy(np.broadcast_to(np.arange(3.0), (2, 3)))  # stride-0 arrays are fine to read
    assert b.stride() == (0, 1) and (b * 2).tolist() == [[0, 2, 4], [0, 2, 4]]
    with pytest.raises(ValueError, match="negative"):
        ct.from_numpy(np.arange(3)[::-1])
    with pytest.raises(TypeError):
        ct.from_numpy([1, 2])
    with pytest.raises(TypeError):
        ct.from_numpy(np.array([1, 2], dtype=np.uint32))
    ro = np.arange(3.0)
    ro.flags.writeable = False
    with pytest.warns(UserWarning, match="not writable"):
        ct.from_numpy(ro)


@pytest.mark.cl_cpu
def test_from_numpy_keeps_array_alive():
    t = ct.from_numpy(np.arange(6.0))
    gc.collect()
    junk = [np.full(6, 9.0) for _ in range(10)]     # would reuse freed memory
    assert len(junk) == 10
    assert t.tolist() == [0, 1, 2, 3, 4, 5]
    n = t.numpy()
    del t
    gc.collect()
    np.testing.assert_array_equal(n, np.arange(6.0))


@pytest.mark.fp64
@pytest.mark.cl_cpu
def test_as_tensor_shares_or_copies():
    a = np.arange(4.0)
    t = ct.as_tensor(a, device="cpu")                # same dtype, CPU: shares
    a[0] = 7
    assert t[0].item() == 7
    t[1] = 8
    assert a[1] == 8
    c = ct.as_tensor(a, dtype=ct.float32, device="cpu")  # other dtype: copies
    a[2] = 9
    assert c[2].item() == 2
    d = ct.as_tensor(a, device="cpu")
    d[3] = 10
    assert a[3] == 10


@pytest.mark.parametrize("make", [lambda a: ct.tensor(a), lambda a: ct.Tensor(a),
                                  pytest.param(lambda a: ct.from_numpy(a).clone(), marks=pytest.mark.cl_cpu),
                                  pytest.param(lambda a: ct.from_numpy(a).to(ct.float64),
                                               marks=[pytest.mark.fp64, pytest.mark.cl_cpu]),
                                  pytest.param(lambda a: ct.as_tensor(a, ct.float64), marks=pytest.mark.fp64)])
def test_copying_constructors(make):
    a = np.arange(3, dtype=np.float32)
    t = make(a)
    a[0] = 50
    t.add_(1)
    assert t[0].item() == 1 and a[1] == 1


@pytest.mark.cl_cpu
def test_numpy_shares_with_tensor():
    x = ct.zeros(3, device="cpu")
    n = x.numpy()
    assert n.dtype == np.float32 and n.shape == (3,)
    n[0] = 4                                          # host write, seen by the next kernel
    assert (x * 1).tolist() == [4, 0, 0]
    x.add_(1)                                         # kernel write, seen through the array
    np.testing.assert_array_equal(n, [5, 1, 1])
    m = ct.zeros(2, 3, device="cpu")
    v = m[:, 1:].numpy()                              # a view's array is a strided numpy view
    assert v.strides == (12, 4)
    v[:] = 5
    assert m.tolist() == [[0, 5, 5], [0, 5, 5]]
    assert ct.tensor([[1, 2], [3, 4]], device="cpu").T.numpy().tolist() == [[1, 3], [2, 4]]
    assert ct.tensor(3, device="cpu").numpy() == 3 and ct.tensor(3, device="cpu").numpy().shape == ()
    assert ct.ones(0, 2, device="cpu").numpy().shape == (0, 2)
    with pytest.raises(RuntimeError, match="requires grad"):
        ct.ones(2, requires_grad=True, device="cpu").numpy()
    assert ct.ones(2, requires_grad=True, device="cpu").detach().numpy().tolist() == [1, 1]
    assert ct.ones(2, requires_grad=True).numpy(force=True).tolist() == [1, 1]


@pytest.mark.cl_cpu
def test_array_protocol_and_cpu():
    t = ct.tensor([1.5, 2.5], device="cpu")
    a = np.asarray(t)
    assert a.dtype == np.float32 and a.tolist() == [1.5, 2.5]
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    c = np.array(t)                                  # np.array copies, np.asarray shares (as with PyTorch)
    c[0] = 9
    assert t[0].item() == 1.5
    a[1] = 7
    assert t[1].item() == 7
    assert np.add(t, 1).tolist() == [2.5, 8.0]
    assert t.cpu() is t
    assert (t + np.array([1.0, 2.0], dtype=np.float32)).tolist() == [2.5, 9.0]   # an array operand
    r = np.array([1.0, 2.0], dtype=np.float32) + t                                 # ndarray first: still a Tensor
    assert isinstance(r, ct.Tensor) and r.tolist() == [2.5, 9.0]


def test_scalars_lists_and_iteration():
    t = ct.tensor([[1, 2], [3, 4]])
    assert t.tolist() == [[1, 2], [3, 4]] and ct.tensor(2.5).tolist() == 2.5
    assert isinstance(ct.tensor([1.0]).tolist()[0], float) and isinstance(t.tolist()[0][0], int)
    assert ct.tensor(2.5).item() == 2.5 and ct.tensor([[7]]).item() == 7 and ct.tensor(True).item() is True
    assert ct.tensor(1 + 2j).item() == 1 + 2j
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
        ct.tensor([1, 2]).item()
    with pytest.raises(RuntimeError):
        ct.tensor([]).item()
    assert float(ct.tensor([2.5])) == 2.5 and int(ct.tensor([[2]])) == 2 and int(ct.tensor(2.9)) == 2
    assert bool(ct.tensor([0.0])) is False and bool(ct.tensor(3)) is True
    assert complex(ct.tensor(1 + 1j)) == 1 + 1j
    with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
        bool(ct.tensor([1, 2]))
    with pytest.raises(RuntimeError):
        bool(ct.tensor([]))
    rows = list(t)
    assert len(rows) == 2 and all(isinstance(r, ct.Tensor) for r in rows) and rows[1].tolist() == [3, 4]
    items = list(ct.tensor([5, 6]))
    assert items[0].shape == () and items[0].item() == 5                     # 0-d tensors
    with pytest.raises(TypeError):
        list(ct.tensor(5))
    assert [1, 2, 3][ct.tensor(1)] == 2                                       # __index__
    assert "{:.2f}".format(ct.tensor(3.14159)) == "3.14"


def test_setitem_writes_into_storage():
    x = ct.zeros(3, 4)
    x[1] = 5
    x[:, 0] = ct.tensor([1.0, 2.0, 3.0])
    x[2, 3] = 7
    x[0, 1:3] = ct.tensor([8, 9])                                             # int source cast to float
    want = np.zeros((3, 4), np.float32)
    want[1] = 5
    want[:, 0] = [1, 2, 3]
    want[2, 3] = 7
    want[0, 1:3] = [8, 9]
    np.testing.assert_array_equal(host(x), want)
    i = ct.zeros(3, dtype=ct.int64)
    i[0] = 2.7
    assert i.tolist() == [2, 0, 0]
    x[:, ::2] = [[1, 2], [3, 4], [5, 6]]                                      # nested lists
    assert x[:, ::2].tolist() == [[1, 2], [3, 4], [5, 6]]
