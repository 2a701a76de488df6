"""Creation: tensor() inference and errors, Tensor(), as_tensor, zeros/ones/empty/full/eye/arange/linspace/logspace,
*_like and new_* with overrides, and Philox random numbers (reproducible, statistically sane)."""
import math

import numpy as np
import pytest

import cltensor as ct
from _host import has_cl_cpu, host


def check(t, want, dtype=None):
    want = np.asarray(want)
    assert t.dtype is (dtype or t.dtype)
    assert tuple(t.shape) == want.shape
    np.testing.assert_array_equal(host(t), want)


# ---------------------------------------------------------------- tensor(): dtype inference as PyTorch
@pytest.mark.parametrize("data, dtype", [
    (3, ct.int64), (3.5, ct.float32), (True, ct.bool), (1 + 2j, ct.complex64),
    ([1, 2], ct.int64), ([1, 2.5], ct.float32), ([1, True], ct.int64), ([True, 2.5], ct.float32),
    ([1, 2 + 1j], ct.complex64), ([[1, 2], [3, 4]], ct.int64), (((1, 2), (3, 4)), ct.int64),
    ([[1], (2,)], ct.int64), (range(3), ct.int64), ([range(2), range(2)], ct.int64),
    ([], ct.float32), ([[], []], ct.float32),
    (np.array([1, 2], dtype=np.int32), ct.int32), (np.array([1, 2], dtype=np.float16), ct.float16),
    (np.array(5), ct.int64), (np.float64(1.5), ct.float64), (np.int32(3), ct.int32), (np.bool_(True), ct.bool),
    ([np.float32(1.5), 2], ct.float32), ([np.float64(1.5), 2], ct.float64), ([np.int32(1), 2], ct.int64),
    ([np.float16(1), 2.5], ct.float32),
    ([np.array([1, 2], dtype=np.int32), np.array([3, 4], dtype=np.int32)], ct.int32),
    ([np.array([1, 2]), np.array([3.5, 4])], ct.float64), ([np.array([1, 2], dtype=np.int32), [3, 4]], ct.int64),
    ([ct.tensor(1), ct.tensor(2)], ct.int64), ([ct.tensor(1.5), 2], ct.float32),
    ([ct.tensor(1, dtype=ct.int8), 300], ct.int64),
    ([ct.tensor([1., 2]), ct.tensor([3., 4])], ct.float32),
])
def test_tensor_inference(data, dtype):
    t = ct.tensor(data)
    assert t.dtype is dtype
    conv = [host(x) if isinstance(x, ct.Tensor) else x for x in data] if isinstance(data, list) else data
    want = np.array([list(r) if isinstance(r, range) else r for r in conv] if isinstance(conv, list) else
                    list(conv) if isinstance(conv, range) else conv)
    assert tuple(t.shape) == want.shape
    np.testing.assert_array_equal(host(t), want.astype(t.dtype.np))


@pytest.mark.fp64
def test_tensor_values_dtype_argument_and_copies():
    check(ct.tensor([1.5, 2.7, -2.7], dtype=ct.int64), [1, 2, -2], ct.int64)
    check(ct.tensor([1, 2], dtype=ct.float16), np.array([1, 2], np.float16), ct.float16)
    check(ct.tensor([1, 0, 2], dtype=ct.bool), [True, False, True], ct.bool)
    check(ct.tensor([1, 2], dtype=float), [1.0, 2.0], ct.float64)            # Python float means float64
    check(ct.tensor([1, 2], dtype=complex), [1, 2], ct.complex128)
    check(ct.tensor(np.array([300, 2]), dtype=ct.uint8), [44, 2], ct.uint8)   # arrays cast like numpy
    check(ct.tensor([2 ** 62]), [2 ** 62], ct.int64)
    check(ct.tensor([[1.0, 2.0]]).T, [[1.0], [2.0]])
    a = np.arange(4.0)
    t = ct.tensor(a)
    a[0] = 100                                                               # tensor() copies
    assert t[0].item() == 0.0
    s = ct.tensor(t)
    s[1] = 7
    assert t[1].item() == 1.0
    assert ct.tensor(t, dtype=ct.float64).dtype is ct.float64
    r = ct.tensor([1.0, 2.0], requires_grad=True)
    assert r.requires_grad and r.is_leaf and r.grad_fn is None
    assert ct.tensor(np.array([1, 2])[::-1]).tolist() == [2, 1]              # negative strides are copied


@pytest.mark.parametrize("data, exc, match", [
    ([[1, 2], [3]], ValueError, "expected sequence of length 2 at dim 1 \\(got 1\\)"),
    ([[1, 2], [3, 4, 5]], ValueError, "expected sequence of length 2 at dim 1 \\(got 3\\)"),
    ([[1, 2], 3], TypeError, None),
    ([1, [2, 3]], TypeError, None),
    ("abc", TypeError, "invalid data type 'str'"),
    ([1, "a"], TypeError, "invalid data type 'str'"),
    ([1, None], RuntimeError, "Could not infer dtype of NoneType"),
    ([2 ** 63], ValueError, "Overflow"),
    ([-2 ** 63 - 1], ValueError, "Overflow"),
])
def test_tensor_errors(data, exc, match):
    with pytest.raises(exc, match=match):
        ct.tensor(data)


def test_tensor_dtype_errors():
    for data, d in (([-1.5], ct.uint8), ([300], ct.uint8), ([255.9], ct.uint8), ([1e10], ct.int32),
                    ([float("nan")], ct.int32)):
        with pytest.raises(RuntimeError, match="without overflow"):
            ct.tensor(data, dtype=d)
    with pytest.raises(TypeError, match="must be real number, not complex"):
        ct.tensor([1 + 1j], dtype=ct.float32)
    with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point and complex dtype"):
        ct.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError):
        ct.tensor(np.array([1, 2], dtype=np.uint16))
    assert ct.tensor([1e300], dtype=ct.float32).tolist() == [math.inf]


def test_Tensor_constructor():
    check(ct.Tensor([1, 2]), [1.0, 2.0], ct.float32)
    check(ct.Tensor((2, 3)), [2.0, 3.0], ct.float32)                # a tuple is data, as in PyTorch
    assert ct.Tensor(2, 3).shape == (2, 3) and ct.Tensor(2, 3).dtype is ct.float32
    assert ct.Tensor().shape == (0,)
    check(ct.Tensor(np.array([1, 2])), [1.0, 2.0], ct.float32)
    assert ct.FloatTensor([1, 2]).dtype is ct.float32 and ct.LongTensor([1, 2]).dtype is ct.int64
    assert ct.DoubleTensor(3).shape == (3,) and ct.BoolTensor([1, 0]).tolist() == [True, False]


@pytest.mark.fp64
def test_as_tensor():
    check(ct.as_tensor([1, 2]), [1, 2], ct.int64)
    check(ct.as_tensor([1, 2], dtype=ct.float32), [1.0, 2.0], ct.float32)
    check(ct.as_tensor(3.5), 3.5, ct.float32)
    t = ct.tensor([1.0, 2.0])
    assert ct.as_tensor(t) is t and ct.asarray(t) is t
    assert ct.as_tensor(t, dtype=ct.float64).dtype is ct.float64
    a = np.arange(3.0)
    b = ct.as_tensor(a, dtype=ct.float32)                           # another dtype: a copy
    a[0] = 9
    assert b[0].item() == 0.0


# ---------------------------------------------------------------- filled tensors
@pytest.mark.fp64
def test_zeros_ones_empty_full():
    check(ct.zeros(2, 3), np.zeros((2, 3), np.float32), ct.float32)
    check(ct.zeros((2, 3)), np.zeros((2, 3)), ct.float32)
    check(ct.zeros([2, 3], dtype=ct.int32), np.zeros((2, 3)), ct.int32)
    check(ct.zeros(()), 0.0)
    assert ct.zeros(0, 3).shape == (0, 3) and ct.zeros(ct.Size([4])).shape == (4,)
    check(ct.ones(2, dtype=ct.bool), [True, True], ct.bool)
    check(ct.ones(2, dtype=ct.complex64), [1 + 0j, 1 + 0j], ct.complex64)
    check(ct.ones(3, dtype=ct.float16), np.ones(3, np.float16), ct.float16)
    assert ct.empty(2, 3).shape == (2, 3) and ct.empty(4, dtype=ct.int8).dtype is ct.int8
    check(ct.full((2, 2), 3), np.full((2, 2), 3), ct.int64)
    check(ct.full((2, 2), 3.5), np.full((2, 2), 3.5), ct.float32)
    check(ct.full((2,), True), [True, True], ct.bool)
    check(ct.full((2,), 1 + 1j), [1 + 1j, 1 + 1j], ct.complex64)
    check(ct.full((2,), 3, dtype=ct.float16), [3.0, 3.0], ct.float16)
    check(ct.full([], 3), 3, ct.int64)
    check(ct.full((2,), 2 ** 40), [2 ** 40] * 2, ct.int64)
    check(ct.full((2,), 1.0 / 3, dtype=ct.float64), [1.0 / 3] * 2, ct.float64)   # the value at full precision
    check(ct.full((2,), ct.tensor(2.5)), [2.5, 2.5])
    assert ct.zeros(2, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="negative dimension"):
        ct.empty(2, -1)
    with pytest.raises(RuntimeError, match="negative dimension"):
        ct.ones(-1)
    with pytest.raises(TypeError, match="must be tuple of ints"):
        ct.zeros(2.5)


def test_eye():
    check(ct.eye(3), np.eye(3, dtype=np.float32), ct.float32)
    check(ct.eye(2, 3), np.eye(2, 3))
    check(ct.eye(3, 2, dtype=ct.int64), np.eye(3, 2, dtype=np.int64), ct.int64)
    check(ct.eye(3, dtype=ct.bool), np.eye(3, dtype=bool), ct.bool)
    assert ct.eye(0).shape == (0, 0)
    with pytest.raises(RuntimeError, match="n must be greater or equal to 0, got -1"):
        ct.eye(-1)


@pytest.mark.parametrize("args, kw, want", [
    ((5,), {}, np.arange(5)), ((1, 4), {}, np.arange(1, 4)), ((0, 1, 0.25), {}, np.arange(0, 1, 0.25)),
    ((0.0, 5), {}, np.arange(0.0, 5.0)), ((5,), {"dtype": ct.float32}, np.arange(5.0)),
    ((10, 0, -3), {}, np.arange(10, 0, -3)), ((-1.5, 3), {}, np.arange(-1.5, 3)),
    ((0.5, 5, 1.5), {"dtype": ct.int64}, np.array([0, 1, 2, 3, 4])),     # PyTorch casts start/step first
    ((0, 5, 2), {"dtype": ct.float16}, np.arange(0, 5, 2)), ((2 ** 40, 2 ** 40 + 3), {}, np.arange(2 ** 40, 2 ** 40 + 3)),
    ((0, 1, 0.1), {"dtype": ct.float64}, np.arange(0, 1, 0.1)), ((3, 3), {}, np.arange(3, 3)),
])
def test_arange(args, kw, want):
    t = ct.arange(*args, **kw)
    if "dtype" not in kw:
        assert t.dtype is (ct.float32 if any(isinstance(a, float) for a in args) else ct.int64)
    np.testing.assert_allclose(host(t).astype(np.float64), want, rtol=1e-6, atol=1e-6)


def test_arange_errors_and_tensor_args():
    check(ct.arange(ct.tensor(4)), np.arange(4))
    assert ct.arange(0, 1, 0.1).shape == (10,)
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        ct.arange(0, 10, 0)
    with pytest.raises(RuntimeError, match="upper bound and lower bound inconsistent with step sign"):
        ct.arange(0, -10)
    with pytest.raises(ValueError, match="step must be nonzero"):
        ct.arange(0, 5, 0.5, dtype=ct.int64)


@pytest.mark.fp64
def test_linspace_logspace():
    for a, b, n in ((0, 1, 5), (-3, 7, 6), (0, 10, 4), (5, -5, 11), (0, 1, 1), (0, 1, 0), (1, 2, 100)):
        np.testing.assert_allclose(host(ct.linspace(a, b, n)), np.linspace(a, b, n, dtype=np.float32),
                                   rtol=1e-6, atol=1e-6)
    t = ct.linspace(0, 1, 7, dtype=ct.float64)
    assert t.dtype is ct.float64 and t[-1].item() == 1.0 and t[0].item() == 0.0
    check(ct.linspace(-3, 7, 6, dtype=ct.int64), [-3, -1, 1, 3, 5, 7], ct.int64)
    np.testing.assert_allclose(host(ct.logspace(0, 2, 3)), [1, 10, 100], rtol=1e-6)
    np.testing.assert_allclose(host(ct.logspace(0, 3, 4, base=2)), [1, 2, 4, 8], rtol=1e-6)
    with pytest.raises(RuntimeError):
        ct.linspace(0, 1, -1)


@pytest.mark.fp64
def test_like_functions():
    x = ct.ones(2, 3, dtype=ct.int32)
    check(ct.zeros_like(x), np.zeros((2, 3)), ct.int32)
    check(ct.ones_like(x, dtype=ct.float64), np.ones((2, 3)), ct.float64)
    check(ct.full_like(x, 2.7), np.full((2, 3), 2), ct.int32)            # the fill is cast to x's dtype
    check(ct.full_like(ct.ones(2), 2.7, dtype=ct.float16), np.full(2, 2.7, np.float16), ct.float16)
    e = ct.empty_like(ct.ones(2, 3, dtype=ct.int8))
    assert e.shape == (2, 3) and e.dtype is ct.int8
    assert ct.empty_like(x, device="cpu").device == "cpu"
    if has_cl_cpu():                                                     # a fill kernel runs on "cpu"
        assert ct.zeros_like(x, device="cpu").device == "cpu"
    assert ct.rand_like(ct.ones(2, 3, dtype=ct.float64)).dtype is ct.float64
    assert ct.randn_like(ct.ones(4)).shape == (4,)
    assert ct.randint_like(ct.ones(2, 3), 10).dtype is ct.float32
    r = ct.randint_like(ct.ones(200, dtype=ct.int64), 3, 10)
    assert r.dtype is ct.int64 and 3 <= r.min().item() and r.max().item() < 10
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        ct.randn_like(ct.ones(2, dtype=ct.int64))
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        ct.rand_like(ct.ones(2, dtype=ct.int64))
    assert ct.zeros_like(ct.ones(2), requires_grad=True).requires_grad


@pytest.mark.fp64
def test_new_methods():
    d = ct.ones(2, dtype=ct.float64)
    check(d.new_ones(3), np.ones(3), ct.float64)
    i = ct.ones(2, dtype=ct.int32)
    check(i.new_zeros((2, 3)), np.zeros((2, 3)), ct.int32)
    check(i.new_zeros(2, 3), np.zeros((2, 3)), ct.int32)
    check(i.new_full((2,), 7.5), [7, 7], ct.int32)
    assert i.new_empty(3).shape == (3,) and i.new_empty(3).dtype is ct.int32
    check(i.new_tensor([1.5, 2]), [1, 2], ct.int32)
    check(d.new_tensor([1, 2]), [1.0, 2.0], ct.float64)
    check(ct.ones(2).new_ones(2, dtype=ct.int8), [1, 1], ct.int8)
    assert ct.ones(2).new_zeros(2, requires_grad=True).requires_grad
    assert ct.ones(2).new_empty(1, device="cpu").device == "cpu"
    if has_cl_cpu():                                                     # a fill kernel runs on "cpu"
        assert ct.ones(2).new_ones(1, device="cpu").device == "cpu"


# ---------------------------------------------------------------- random numbers
@pytest.mark.fp64
def test_random_shapes_dtypes_and_errors():
    assert ct.rand(2, 3).shape == (2, 3) and ct.rand((2, 3)).dtype is ct.float32
    assert ct.randn(3, dtype=ct.float64).dtype is ct.float64 and ct.randn(()).shape == ()
    assert ct.randint(10, (3,)).dtype is ct.int64 and ct.randint(3, 10, (3,)).shape == (3,)
    assert ct.randint(10, (3,), dtype=ct.float32).dtype is ct.float32
    assert ct.normal(0.0, 1.0, (2, 3)).shape == (2, 3)
    assert ct.normal(ct.zeros(3), 1.0).shape == (3,) and ct.normal(ct.zeros(3), ct.ones(2, 1)).shape == (2, 3)
    assert ct.rand(0).shape == (0,) and ct.randn(2, 0).shape == (2, 0)
    assert ct.rand(3, dtype=ct.float16).dtype is ct.float16
    with pytest.raises(NotImplementedError):
        ct.rand(2, dtype=ct.int64)
    with pytest.raises(RuntimeError, match="from=3 >= to=3"):
        ct.randint(3, 3, (3,))
    with pytest.raises(RuntimeError, match="found std -1"):
        ct.normal(0.0, -1.0, (2,))


N = 200_000


@pytest.mark.fp64
def test_uniform_and_normal_statistics():
    u = host(ct.rand(N)).astype(np.float64)
    assert 0 <= u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.std() - 1 / math.sqrt(12)) < 0.005
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01                     # neighbours independent
    assert np.histogram(u, 10, (0, 1))[0].min() > N / 10 * 0.95
    z = host(ct.randn(N, dtype=ct.float64))
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert abs((np.abs(z) < 1).mean() - 0.6827) < 0.005                       # the shape of a normal
    m = host(ct.normal(3.0, 2.0, (N,)))
    assert abs(m.mean() - 3) < 0.02 and abs(m.std() - 2) < 0.02
    c = host(ct.randn(N, dtype=ct.complex64))
    assert abs(c.real.var() - 0.5) < 0.01 and abs(c.imag.var() - 0.5) < 0.01  # PyTorch's complex randn
    cu = host(ct.rand(1000, dtype=ct.complex128))
    assert 0 <= cu.real.min() and cu.imag.max() < 1 and cu.imag.std() > 0.2


def test_randint_distribution():
    r = host(ct.randint(-3, 7, (N,)))
    assert r.min() == -3 and r.max() == 6
    counts = np.bincount(r + 3)
    assert counts.min() > N / 10 * 0.95
    big = host(ct.randint(0, 2 ** 40, (1000,)))
    assert big.max() > 2 ** 39                                               # 64 random bits, not 32


def test_seeds_reproduce():
    ct.manual_seed(123)
    a, b = ct.rand(1000), ct.randn(5, 5)
    ct.manual_seed(123)
    np.testing.assert_array_equal(host(ct.rand(1000)), host(a))
    np.testing.assert_array_equal(host(ct.randn(5, 5)), host(b))
    assert not np.array_equal(host(ct.rand(1000)), host(a))             # the stream advances
    ct.manual_seed(124)
    assert not np.array_equal(host(ct.rand(1000)), host(a))
    assert ct.initial_seed() == 124
    state = ct.get_rng_state()
    x = ct.randn(10)
    ct.set_rng_state(state)
    np.testing.assert_array_equal(host(ct.randn(10)), host(x))
    g1, g2 = ct.Generator().manual_seed(7), ct.Generator().manual_seed(7)
    np.testing.assert_array_equal(host(ct.rand(50, generator=g1)), host(ct.rand(50, generator=g2)))
    ct.manual_seed(5)
    p = ct.randperm(20)
    assert sorted(p.tolist()) == list(range(20)) and p.dtype is ct.int64
    ct.manual_seed(5)
    assert ct.randperm(20).tolist() == p.tolist()


def test_inplace_random_methods():
    x = ct.empty(300, 40).T                                                 # a non-contiguous target
    x.uniform_(2, 3)
    v = host(x)
    assert v.min() >= 2 and v.max() < 3 and v.std() > 0.2
    x.normal_(5, 0.5)
    assert abs(host(x).mean() - 5) < 0.05
    y = ct.empty(5000, dtype=ct.int64).random_(10)
    assert y.min().item() == 0 and y.max().item() == 9
    b = ct.empty(5000).bernoulli_(0.25)
    assert set(np.unique(host(b))) <= {0.0, 1.0} and abs(host(b).mean() - 0.25) < 0.03
    p = ct.bernoulli(ct.full((5000,), 0.75))
    assert abs(host(p).mean() - 0.75) < 0.03
    with pytest.raises(RuntimeError):
        ct.ones(2, requires_grad=True).uniform_()


@pytest.mark.fp64
def test_python_floats_keep_double_precision():
    """Python floats are doubles: a float64/complex128 request keeps every digit; float32 rounds once (as torch)."""
    import torch
    for v in ([0.4562031939447857], [[0.1, 1e40]], [1 + 0.4562031939447857j], [1, 2.5], [[1e-50, -0.0]]):
        for dt in (None, "float64", "float32", "float16", "complex128", "complex64"):
            try:
                want = torch.tensor(v, dtype=getattr(torch, dt) if dt else None)
            except TypeError:
                continue
            got = ct.tensor(v, dtype=getattr(ct, dt) if dt else None)
            assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
            assert got.tolist() == want.tolist(), (v, dt)


def test_linspace_integer_and_bool_conversions_as_torch():
    """Integer dtypes take start/end through PyTorch's checked conversion (uint8: -2 is 254, -0.5 overflows);
    bool raises only when the kernel would run (steps > 1). Same values, or the same error type and message."""
    import torch
    cases = [(a, b, n, dt) for dt in ("uint8", "int8", "int16", "int32", "int64")
             for a, b, n in ((-2, 2, 7), (300, -300, 5), (-2.7, 3.9, 4), (-255, 255, 4), (2.5, 1e20, 3),
                             (-0.5, 0, 3), (127.9, 0, 3))]
    cases += [(0, 1, n, "bool") for n in (0, 1, 2)]

    def outcome(m, a, b, n, dt):
        try:
            return m.linspace(a, b, n, dtype=getattr(m, dt)).tolist()
        except (RuntimeError, NotImplementedError) as e:
            return type(e).__name__, str(e)
    for c in cases:
        assert outcome(ct, *c) == outcome(torch, *c), c
