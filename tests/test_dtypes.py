"""Dtypes: names, aliases, default dtype, PyTorch's promotion (promote_types / result_type with 0-d tensors and
Python scalars), conversions between dtypes (float -> int truncates toward zero, half stored as half)."""
import itertools
import warnings

import numpy as np
import pytest

import cltensor as ct
from _host import host

import opinfo

NAMES = list(opinfo.ALL)          # every dtype, from the op-info table
DT = {n: getattr(ct, n) for n in NAMES}


def test_dtype_objects_and_aliases():
    assert ct.float is ct.float32 and ct.double is ct.float64 and ct.half is ct.float16
    assert ct.short is ct.int16 and ct.int is ct.int32 and ct.long is ct.int64
    assert ct.cfloat is ct.complex64 and ct.cdouble is ct.complex128
    assert repr(ct.float32) == "cltensor.float32" and str(ct.bool) == "cltensor.bool"
    for n, d in DT.items():
        assert d.itemsize == np.dtype(n if n != "bool" else np.bool_).itemsize
    assert ct.float32.is_floating_point and not ct.int32.is_floating_point
    assert ct.complex64.is_complex and not ct.float64.is_complex
    assert ct.int8.is_signed and not ct.uint8.is_signed and not ct.bool.is_signed
    assert ct.float16 == ct.float16 and ct.float16 != ct.float32
    import pickle
    assert pickle.loads(pickle.dumps(ct.int16)) is ct.int16


@pytest.mark.fp64
def test_default_dtype_roundtrip():
    assert ct.get_default_dtype() is ct.float32
    try:
        ct.set_default_dtype(ct.float64)
        assert ct.tensor([1.5]).dtype is ct.float64
        assert ct.tensor([1 + 1j]).dtype is ct.complex128      # default complex follows
        assert ct.zeros(2).dtype is ct.float64 and ct.arange(0.0, 1.0, 0.5).dtype is ct.float64
        assert (ct.tensor([1, 2]) / 2).dtype is ct.float64
        assert ct.tensor([1, 2]).dtype is ct.int64
    finally:
        ct.set_default_dtype(ct.float32)
    assert ct.tensor([1.5]).dtype is ct.float32
    with pytest.raises(TypeError):
        ct.set_default_dtype(ct.int64)


# PyTorch's promote_types table, built independently from its rules (c10/core/ScalarType.cpp)
def _expected_promote(a, b):
    order = NAMES
    if a == b:
        return a
    if a == "bool":
        return b
    if b == "bool":
        return a
    cat = lambda n: 3 if n.startswith("complex") else 2 if n.startswith("float") else 1   # noqa: E731
    ca, cb = cat(a), cat(b)
    if ca != cb:
        hi, lo = (a, b) if ca > cb else (b, a)
        if hi == "complex64" and lo == "float64":
            return "complex128"
        return hi
    if ca == 1 and {a, b} == {"uint8", "int8"}:
        return "int16"
    if ca == 1 and "uint8" in (a, b):
        return a if b == "uint8" else b
    return a if order.index(a) > order.index(b) else b


@pytest.mark.parametrize("a", NAMES)
def test_promote_types_table(a):
    for b in NAMES:
        assert ct.promote_types(DT[a], DT[b]).name == _expected_promote(a, b), (a, b)
        # and the result dtype of an actual op (empty tensors: no kernel runs)
        r = ct.empty(0, dtype=DT[a]) * ct.empty(0, dtype=DT[b])
        assert r.dtype.name == _expected_promote(a, b), (a, b)


@pytest.mark.fp64
def test_result_type_examples():
    f16 = ct.ones(2, dtype=ct.float16)
    assert (f16 * 3.0).dtype is ct.float16                    # a Python float keeps the tensor's float type
    assert (f16 * 3).dtype is ct.float16
    assert (ct.ones(2, dtype=ct.int32) + ct.ones(2, dtype=ct.int64)).dtype is ct.int64
    assert (ct.ones(2, dtype=ct.uint8) + ct.ones(2, dtype=ct.int8)).dtype is ct.int16
    assert (ct.tensor([1, 2]) / ct.tensor([2, 2])).dtype is ct.float32
    assert (ct.ones(2, dtype=ct.int8) + 1000).dtype is ct.int8   # scalars only raise the category
    assert (ct.ones(2, dtype=ct.int8) + 1.5).dtype is ct.float32
    assert (ct.ones(2, dtype=ct.int8) + 1j).dtype is ct.complex64
    assert (ct.ones(2, dtype=ct.float64) + 1j).dtype is ct.complex128
    assert (ct.ones(2, dtype=ct.bool) + True).dtype is ct.bool
    assert (ct.ones(2, dtype=ct.bool) + 2).dtype is ct.int64
    # 0-d tensors act like scalars of their category
    assert (ct.ones(2, dtype=ct.int8) + ct.tensor(3)).dtype is ct.int8
    assert (ct.ones(2) + ct.tensor(3.5, dtype=ct.float64)).dtype is ct.float32
    assert (ct.ones(2, dtype=ct.int32) + ct.tensor(3.5, dtype=ct.float64)).dtype is ct.float64
    assert (ct.tensor(1, dtype=ct.int8) + ct.tensor(1, dtype=ct.int16)).dtype is ct.int16   # both 0-d: normal
    assert (ct.tensor(1, dtype=ct.int8) + 5).dtype is ct.int8
    assert ct.result_type(ct.ones(2, dtype=ct.int32), 2.5) is ct.float32
    assert ct.result_type(2, 2.5) is ct.float32
    assert ct.result_type(ct.tensor([1]), ct.tensor([1.0])) is ct.float32


def test_can_cast_finfo_iinfo():
    assert not ct.can_cast(ct.float32, ct.int32) and ct.can_cast(ct.int32, ct.float32)
    assert not ct.can_cast(ct.int64, ct.bool) and ct.can_cast(ct.bool, ct.uint8)
    assert not ct.can_cast(ct.complex64, ct.float64) and ct.can_cast(ct.float64, ct.complex64)
    assert ct.finfo(ct.float32).eps == np.finfo(np.float32).eps
    assert ct.finfo(ct.float16).max == 65504.0 and ct.finfo().bits == 32
    assert ct.iinfo(ct.int8).min == -128 and ct.iinfo(ct.uint8).max == 255 and ct.iinfo(ct.int64).bits == 64
    with pytest.raises(TypeError):
        ct.finfo(ct.int32)
    with pytest.raises(TypeError):
        ct.iinfo(ct.float32)


SRC = np.array([-2.7, -1.5, -0.5, 0.0, 0.49, 1.5, 2.5, 100.9])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.fp64
def test_to_dtype_matches_numpy(name):
    t = ct.tensor(SRC, dtype=ct.float64)
    r = t.to(DT[name])
    assert r.dtype is DT[name] and (r is not t) == (name != "float64")
    want = SRC.astype(np.bool_ if name == "bool" else name) if name != "uint8" else \
        np.trunc(SRC).astype(np.int64).astype(np.uint8)
    np.testing.assert_array_equal(host(r), want)


@pytest.mark.fp64
def test_float_to_int_truncates_toward_zero_and_methods():
    t = ct.tensor([-3.7, -0.5, 0.5, 3.7])
    assert t.int().tolist() == [-3, 0, 0, 3] and t.int().dtype is ct.int32
    assert t.long().dtype is ct.int64 and t.short().dtype is ct.int16 and t.char().dtype is ct.int8
    assert t.byte().dtype is ct.uint8 and t.half().dtype is ct.float16 and t.double().dtype is ct.float64
    assert t.bool().tolist() == [True, True, True, True] and t.float() is t   # same dtype: no copy
    assert t.to(ct.float32) is t and t.to(ct.float32, copy=True) is not t
    assert t.to("cpu", ct.float64).dtype is ct.float64
    assert t.to(ct.ones(1, dtype=ct.int16)).dtype is ct.int16
    assert t.to(dtype=float).dtype is ct.float64 and t.to(int).dtype is ct.int64   # Python types as dtypes
    assert ct.tensor([256 + 7, 3]).byte().tolist() == [7, 3]
    assert ct.tensor([1 + 2j]).float().tolist() == [1.0]               # complex -> real drops the imaginary part
    assert ct.tensor([1.5]).to(ct.complex64).tolist() == [1.5 + 0j]
    assert ct.tensor([float("nan"), 0.0]).bool().tolist() == [True, False]
    assert t.type() == "cltensor.FloatTensor" and t.type(ct.float64).dtype is ct.float64


def test_half_is_stored_as_half_and_computed_in_float():
    a = np.array([1.0, 2049.0, 65504.0, 1e-4, -0.333], dtype=np.float16)
    t = ct.tensor(a)
    assert t.dtype is ct.float16 and t.element_size() == 2
    np.testing.assert_array_equal(host(t), a)                       # bit-exact storage round trip
    with np.errstate(over="ignore"):      # 65504 * 2 overflows to inf in both
        np.testing.assert_array_equal(host(t * 2), (a.astype(np.float32) * 2).astype(np.float16))
        np.testing.assert_array_equal(host(t + t), a + a)
    np.testing.assert_array_equal(host(ct.tensor([0.1, 1 / 3], dtype=ct.float16)),
                                  np.array([0.1, 1 / 3], dtype=np.float16))
    assert (t * 2).dtype is ct.float16 and (t.exp()).dtype is ct.float16
    np.testing.assert_allclose(host(t[:2].sqrt()), np.sqrt(a[:2]), rtol=1e-3)


@pytest.mark.fp64
def test_torch_promotion_all_pairs():
    import torch
    scalars = [True, 3, 2.5, 1 + 2j]
    for a, b in itertools.product(NAMES, NAMES):
        want = str(torch.promote_types(getattr(torch, a), getattr(torch, b))).split(".")[1]
        assert ct.promote_types(DT[a], DT[b]).name == want
        ta, tb = torch.ones(2, dtype=getattr(torch, a)), torch.ones((), dtype=getattr(torch, b))
        want0 = str(torch.result_type(ta, tb)).split(".")[1]
        if want0 == "complex32":        # PyTorch's chalf has no cltensor counterpart
            continue
        assert ct.result_type(ct.ones(2, dtype=DT[a]), ct.ones((), dtype=DT[b])).name == want0, (a, b)
    for a in NAMES:
        for s in scalars:
            want = str(torch.result_type(torch.ones(2, dtype=getattr(torch, a)), s)).split(".")[1]
            if want != "complex32":
                assert ct.result_type(ct.ones(2, dtype=DT[a]), s).name == want, (a, s)


WIDE = np.array([-2.5, -1.2, 300.7, -300.2, 70000.5, -129.9, 255.9, 65535.9])


@pytest.mark.parametrize("src", ["float32", "float16", "complex64"])
@pytest.mark.parametrize("name", ["uint8", "int8", "int16"])
def test_float_to_narrow_int_out_of_range_wraps_like_pytorch(src, name):
    """Out-of-range float -> narrow integer is undefined in C (PoCL's AVX2 target saturated -2.5 -> uint8 to 0);
    PyTorch's CPU result goes through int64 (uint8) or int32 (int8, int16) and keeps the low bits."""
    vals = WIDE[:4] if src == "float16" else WIDE          # float16 holds at most 65504
    t = ct.tensor(vals.astype(src))
    r = t.to(DT[name])
    via = np.int64 if name == "uint8" else np.int32
    want = np.trunc(vals.astype(src).real.astype(np.float64)).astype(via).astype(name)
    np.testing.assert_array_equal(host(r), want)
    import torch
    with warnings.catch_warnings():       # torch warns that complex -> real drops the imaginary part (intended)
        warnings.simplefilter("ignore")
        ref = host(torch.from_numpy(vals.astype(src)).to(getattr(torch, name)))
    np.testing.assert_array_equal(host(r), ref)


@pytest.mark.fp64
def test_python_types_name_dtypes_as_in_pytorch():
    assert ct.zeros(2, dtype=float).dtype is ct.float64 and ct.zeros(2, dtype=int).dtype is ct.int64
    assert ct.zeros(2, dtype=bool).dtype is ct.bool and ct.zeros(2, dtype=complex).dtype is ct.complex128
    assert ct.ones(3).sum(dtype=float).dtype is ct.float64
