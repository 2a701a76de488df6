"""Tests for cltensor._printing: PyTorch's tensor repr reproduced from numpy arrays."""
import importlib.util
import math
import os
import sys

import numpy as np
import pytest


def _load_printing():
    try:
        from cltensor import _printing
        return _printing
    except Exception:  # the package may be incomplete while it is being written
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "cltensor", "_printing.py")
        spec = importlib.util.spec_from_file_location("_cltensor_printing_standalone", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module


P = _load_printing()

_DEFAULT_DTYPES = {"float32", "complex64", "int64", "bool"}


def _name(a):
    return "bool" if a.dtype == np.bool_ else a.dtype.name


def rep(a, dtype=None, **kw):
    """repr with PyTorch's default-dtype rule for a float32 default dtype."""
    a = np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)
    name = _name(a)
    return P.tensor_repr(a, name, name not in _DEFAULT_DTYPES, **kw)


@pytest.fixture
def restore_options():
    old = P.get_printoptions()
    yield
    P.set_printoptions(**old)


# --------------------------------------------------------------------------- hand-written cases
# (expected strings are real torch 2.13 output with "torch." replaced by "cltensor.")

CASES = [
    (np.array([1., 2.], np.float32), "tensor([1., 2.])"),
    (np.array([1., 2.5], np.float32), "tensor([1.0000, 2.5000])"),
    (np.array([1e-5, 1e5], np.float32), "tensor([1.0000e-05, 1.0000e+05])"),
    (np.array([[1, 2], [3, 4]]), "tensor([[1, 2],\n        [3, 4]])"),
    (np.array([1, 2], np.int16), "tensor([1, 2], dtype=cltensor.int16)"),
    (np.array([True, False]), "tensor([ True, False])"),
    (np.array(3., np.float32), "tensor(3.)"),
    (np.array(3), "tensor(3)"),
    (np.array(2.5), "tensor(2.5000, dtype=cltensor.float64)"),
    (np.zeros((0, 3), np.float32), "tensor([], size=(0, 3))"),
    (np.zeros(0, np.int64), "tensor([], dtype=cltensor.int64)"),
    (np.zeros(0, np.float32), "tensor([])"),
    (np.zeros((2, 0), np.bool_), "tensor([], size=(2, 0), dtype=cltensor.bool)"),
    (np.zeros(0, np.complex64), "tensor([], dtype=cltensor.complex64)"),
    (np.arange(2000, dtype=np.float32),
     "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
     "        1.9990e+03])"),
    (np.arange(3000).reshape(30, 100),
     "tensor([[   0,    1,    2,  ...,   97,   98,   99],\n"
     "        [ 100,  101,  102,  ...,  197,  198,  199],\n"
     "        [ 200,  201,  202,  ...,  297,  298,  299],\n"
     "        ...,\n"
     "        [2700, 2701, 2702,  ..., 2797, 2798, 2799],\n"
     "        [2800, 2801, 2802,  ..., 2897, 2898, 2899],\n"
     "        [2900, 2901, 2902,  ..., 2997, 2998, 2999]])"),
    (np.arange(24, dtype=np.float32).reshape(2, 3, 4),
     "tensor([[[ 0.,  1.,  2.,  3.],\n"
     "         [ 4.,  5.,  6.,  7.],\n"
     "         [ 8.,  9., 10., 11.]],\n"
     "\n"
     "        [[12., 13., 14., 15.],\n"
     "         [16., 17., 18., 19.],\n"
     "         [20., 21., 22., 23.]]])"),
    (np.arange(1, 25, dtype=np.uint8).reshape(2, 3, 2, 2),
     "tensor([[[[ 1,  2],\n          [ 3,  4]],\n\n         [[ 5,  6],\n          [ 7,  8]],\n\n"
     "         [[ 9, 10],\n          [11, 12]]],\n\n\n        [[[13, 14],\n          [15, 16]],\n\n"
     "         [[17, 18],\n          [19, 20]],\n\n         [[21, 22],\n          [23, 24]]]],"
     " dtype=cltensor.uint8)"),
    (np.array([1 + 2j, -1.5 - 0.5j, 3j], np.complex64),
     "tensor([ 1.0000+2.0000j, -1.5000-0.5000j,  0.0000+3.0000j])"),
    (np.array(1 - 1j, np.complex64), "tensor(1.-1.j)"),
    (np.array([[1 + 1j, 2.5 - 3j], [complex(-0.0, 0.0), 4j]], np.complex128),
     "tensor([[1.0000+1.j, 2.5000-3.j],\n        [-0.0000+0.j, 0.0000+4.j]], dtype=cltensor.complex128)"),
    (np.array([1e-10 + 1j, 1e10 - 0j], np.complex64), "tensor([1.0000e-10+1.j, 1.0000e+10+0.j])"),
    (np.array([np.nan, np.inf, -np.inf, 1.5], np.float32), "tensor([   nan,    inf,   -inf, 1.5000])"),
    (np.array([np.nan, 0., -0.], np.float32), "tensor([nan, 0., -0.])"),
    (np.array([np.inf, 2., -3.], np.float32), "tensor([inf,  2., -3.])"),
    (np.array([-0.0, 1e-3, 123.456], np.float32), "tensor([-0.0000e+00, 1.0000e-03, 1.2346e+02])"),
    (np.array([1e10, 1.], np.float32), "tensor([1.0000e+10, 1.0000e+00])"),
    (np.array([0.1, 65504, -2.], np.float16),
     "tensor([ 9.9976e-02,  6.5504e+04, -2.0000e+00], dtype=cltensor.float16)"),
    (np.arange(30, dtype=np.float32) / np.float32(7),
     "tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n"
     "        1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,\n"
     "        2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143,\n"
     "        3.8571, 4.0000, 4.1429])"),
]


@pytest.mark.parametrize("arr,expected", CASES)
def test_known_reprs(arr, expected):
    assert rep(arr) == expected


def test_requires_grad_and_grad_fn_suffixes():
    a = np.array([1., 2.], np.float32)
    assert rep(a, requires_grad=True) == "tensor([1., 2.], requires_grad=True)"
    assert rep(a * 2, grad_fn="MulBackward0") == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert rep(a * 2, requires_grad=True, grad_fn="<MulBackward0>") == \
        "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert rep(np.array([2., 3.]), grad_fn="AddBackward0") == \
        "tensor([2., 3.], dtype=cltensor.float64, grad_fn=<AddBackward0>)"


def test_suffixes_wrap_to_new_line():
    a = np.arange(7.) / 3
    assert rep(a, requires_grad=True) == (
        "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000],\n"
        "       dtype=cltensor.float64, requires_grad=True)")
    a = np.arange(9.) / 3
    assert rep(a, grad_fn="MulBackward0") == (
        "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667],\n"
        "       dtype=cltensor.float64, grad_fn=<MulBackward0>)")


def test_device_suffix():
    a = np.array([1., 2.], np.float32)
    assert rep(a, device_str="opencl:0") == "tensor([1., 2.], device='opencl:0')"
    assert rep(np.array([1, 2], np.int32), device_str="opencl:0", requires_grad=False) == \
        "tensor([1, 2], device='opencl:0', dtype=cltensor.int32)"
    assert rep(np.zeros((0, 2), np.int64), device_str="opencl:0") == \
        "tensor([], device='opencl:0', size=(0, 2), dtype=cltensor.int64)"
    assert rep(a, device_str="opencl:0", requires_grad=True) == \
        "tensor([1., 2.], device='opencl:0', requires_grad=True)"


def test_empty_dtype_rule():
    # empty float32 with a float32 default: no dtype; with a float64 default the caller
    # passes show_dtype=True for float32 and False for float64
    z32 = np.zeros(0, np.float32)
    z64 = np.zeros(0, np.float64)
    assert P.tensor_repr(z32, "float32", False) == "tensor([])"
    assert P.tensor_repr(z32, "float32", True) == "tensor([], dtype=cltensor.float32)"
    assert P.tensor_repr(z64, "float64", False) == "tensor([])"
    assert P.tensor_repr(z64, "float64", True) == "tensor([], dtype=cltensor.float64)"
    assert P.tensor_repr(np.zeros(0, np.bool_), "bool", False) == "tensor([], dtype=cltensor.bool)"
    assert P.tensor_repr(np.zeros(0, np.int64), "int64", False, empty_show_dtype=False) == "tensor([])"


def test_printoptions(restore_options):
    P.set_printoptions(precision=2)
    assert rep(np.array([1.12345, 2.], np.float32)) == "tensor([1.12, 2.00])"
    P.set_printoptions(threshold=5)
    assert rep(np.arange(10)) == "tensor([0, 1, 2,  ..., 7, 8, 9])"
    P.set_printoptions(sci_mode=True)
    assert rep(np.array([1.5, 2.], np.float32)) == "tensor([1.50e+00, 2.00e+00])"
    P.set_printoptions(sci_mode=False)
    assert rep(np.array([1e-8, 2e6], np.float32)) == "tensor([      0.00, 2000000.00])"
    P.set_printoptions(profile="short")
    assert rep(np.arange(2000, dtype=np.float32).reshape(40, 50) / np.float32(3)) == (
        "tensor([[0.00e+00, 3.33e-01,  ..., 1.60e+01, 1.63e+01],\n"
        "        [1.67e+01, 1.70e+01,  ..., 3.27e+01, 3.30e+01],\n"
        "        ...,\n"
        "        [6.33e+02, 6.34e+02,  ..., 6.49e+02, 6.50e+02],\n"
        "        [6.50e+02, 6.50e+02,  ..., 6.66e+02, 6.66e+02]])")
    P.set_printoptions(profile="default", linewidth=40)
    assert rep(np.arange(20, dtype=np.float32) / np.float32(3)) == (
        "tensor([0.0000, 0.3333, 0.6667, 1.0000,\n"
        "        1.3333, 1.6667, 2.0000, 2.3333,\n"
        "        2.6667, 3.0000, 3.3333, 3.6667,\n"
        "        4.0000, 4.3333, 4.6667, 5.0000,\n"
        "        5.3333, 5.6667, 6.0000, 6.3333])")
    P.set_printoptions(profile="default", edgeitems=0, threshold=4)
    assert rep(np.arange(10, dtype=np.float32).reshape(2, 5)) == "tensor([...], size=(2, 5))"
    P.set_printoptions(profile="default")
    assert rep(np.array([1.12345], np.float32)) == "tensor([1.1235])"
    assert P.get_printoptions() == {"precision": 4, "threshold": 1000, "edgeitems": 3,
                                    "linewidth": 80, "sci_mode": None}
    P.set_printoptions(profile="full")
    assert P.get_printoptions()["threshold"] == math.inf
    assert rep(np.arange(1001)).count("...") == 0


def test_printoptions_context_manager(restore_options):
    with P.printoptions(precision=1):
        assert rep(np.array([1.25, 2.], np.float32)) == "tensor([1.2, 2.0])"
    assert P.get_printoptions()["precision"] == 4


def test_format_scalar():
    assert P.format_scalar(3.0, "float32") == "3."
    assert P.format_scalar(2.5, "float64") == "2.5000"
    assert P.format_scalar(7, "int32") == "7"
    assert P.format_scalar(True, "bool") == "True"
    assert P.format_scalar(1 - 1j, "complex64") == "1.-1.j"


# --------------------------------------------------------------------------- comparison with torch

_ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64",
               "float16", "float32", "float64", "complex64", "complex128"]


def _random_shape(rng):
    kind = rng.integers(0, 10)
    if kind == 0:
        return ()
    if kind == 1:   # empty
        return [(0,), (0, 3), (2, 0, 4), (3, 0)][rng.integers(0, 4)]
    if kind == 2:   # big, summarized
        return [(2000,), (40, 50), (11, 12, 13), (3, 4, 5, 30), (1001,)][rng.integers(0, 5)]
    ndim = int(rng.integers(1, 5))
    return tuple(int(rng.integers(1, 7 if ndim > 2 else 14)) for _ in range(ndim))


def _random_floats(rng, n, np_dtype):
    kind = rng.integers(0, 9)
    if kind == 0:
        v = rng.standard_normal(n)
    elif kind == 1:   # integer-valued
        v = rng.integers(-1000, 1000, n).astype(np.float64) * 10.0 ** rng.integers(0, 4)
    elif kind == 2:   # huge range
        v = np.exp(rng.uniform(-40, 40, n)) * rng.choice([-1, 1], n)
    elif kind == 3:   # scaled
        v = rng.standard_normal(n) * 10.0 ** rng.uniform(-9, 9)
    elif kind == 4:   # special values mixed in
        v = rng.standard_normal(n) * 10.0 ** rng.integers(-3, 4)
        specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0])
        idx = rng.integers(0, max(n, 1), n // 3 + (n > 0))
        v[idx] = specials[rng.integers(0, 5, idx.size)]
    elif kind == 5:   # only zeros / specials
        v = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0])[rng.integers(0, 5, n)]
    elif kind == 6:   # rounding boundaries
        v = np.array([9.99995, 0.99995, 99999.5, 1e-4, 9.9999e-5, 1e8, 1.00001e8, 0.5, -0.00005,
                      999.95, 1000.0, 1e-300, 5e-324, 1e300])[rng.integers(0, 14, n)]
    elif kind == 7:   # small integers and halves
        v = rng.integers(-20, 20, n) / 2.0
    else:
        v = rng.uniform(-1, 1, n)
    with np.errstate(all="ignore"):
        return v.astype(np_dtype)


def _random_array(rng, dtype, shape):
    n = int(np.prod(shape, dtype=np.int64))
    if dtype == "bool":
        flat = rng.integers(0, 2, n).astype(np.bool_)
    elif dtype in ("uint8", "int8", "int16", "int32", "int64"):
        info = np.iinfo(dtype)
        kind = rng.integers(0, 3)
        if kind == 0:
            flat = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
        elif kind == 1:
            flat = rng.integers(max(info.min, -50), min(info.max, 50), n).astype(dtype)
        else:
            flat = np.array([info.min, info.max, 0, 1], dtype=dtype)[rng.integers(0, 4, n)]
    elif dtype.startswith("complex"):
        part = "float32" if dtype == "complex64" else "float64"
        flat = np.empty(n, dtype)
        flat.real = _random_floats(rng, n, part)
        flat.imag = _random_floats(rng, n, part)
    else:
        flat = _random_floats(rng, n, dtype)
    return flat.reshape(shape)


_OPTION_SETS = [
    {},
    {"precision": 2},
    {"threshold": 20, "edgeitems": 2},
    {"linewidth": 40},
    {"linewidth": 120, "precision": 6},
    {"sci_mode": True},
    {"sci_mode": False},
    {"profile": "short"},
    {"edgeitems": 0, "threshold": 10},
    {"edgeitems": 1, "threshold": 5, "precision": 1},
]


def test_matches_torch(restore_options):
    import torch
    rng = np.random.default_rng(1234)
    old_torch = {k: getattr(torch._tensor_str.PRINT_OPTS, k)
                 for k in ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")}
    old_default = torch.get_default_dtype()
    failures = []
    checked = 0
    try:
        for case in range(500):
            options = _OPTION_SETS[case % len(_OPTION_SETS)] if case >= 200 else {}
            torch.set_printoptions(profile="default")
            P.set_printoptions(profile="default")
            torch.set_printoptions(**options)
            P.set_printoptions(**options)
            default64 = case % 17 == 5
            torch.set_default_dtype(torch.float64 if default64 else torch.float32)
            defaults = ({"float64", "complex128", "int64", "bool"} if default64
                        else _DEFAULT_DTYPES)

            dtype = _ALL_DTYPES[int(rng.integers(0, len(_ALL_DTYPES)))]
            arr = _random_array(rng, dtype, _random_shape(rng))
            if rng.integers(0, 4) == 0 and arr.ndim >= 2:
                arr = arr.swapaxes(0, -1)      # non-contiguous input
            t = torch.from_numpy(arr)
            grad = None
            requires_grad = False
            if t.dtype.is_floating_point or t.dtype.is_complex:
                mode = rng.integers(0, 6)
                if mode == 0:
                    t = t.clone().requires_grad_()
                    requires_grad = True
                elif mode == 1:
                    t = t.clone().requires_grad_().clone()   # CloneBackward0, same values
                    grad = type(t.grad_fn).__name__
            expected = repr(t).replace("torch.", "cltensor.")
            got = P.tensor_repr(arr, dtype, dtype not in defaults,
                                requires_grad=requires_grad, grad_fn=grad)
            checked += 1
            if got != expected:
                failures.append((case, options, dtype, arr.shape, expected, got))
    finally:
        torch.set_default_dtype(old_default)
        torch.set_printoptions(**old_torch)
    assert checked == 500
    assert not failures, "\n\n".join(
        f"case {c} options={o} dtype={d} shape={s}\nexpected:\n{e}\ngot:\n{g}"
        for c, o, d, s, e, g in failures[:5]) + f"\n({len(failures)} failures)"
