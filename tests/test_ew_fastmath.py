"""Accuracy of the kernel-side formulations that replace slow OpenCL built-ins (templates/common.mako):
float32 tanh via exp + an odd polynomial, checked in ulps against float64 numpy over a dense sweep, with its
limits (+-1 for large |x|, NaN, +-inf, -0.0, subnormals)."""
import numpy as np

import cltensor as ct
from _host import host


def ulps(got, x, f):
    want = f(x.astype(np.float64))
    sp = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want) / sp


def sweep():
    pos = np.concatenate([np.linspace(0, 12, 1 << 21, dtype=np.float32),
                          (np.float32(10) ** np.linspace(-38, 1.3, 1 << 18)).astype(np.float32),
                          np.nextafter(np.float32(0.55), np.float32([0, 1])),   # both sides of the switch
                          np.float32([1e-45, 1e-40, 5e-39, 0.549, 0.55, 0.551, 8.9, 9.0, 9.1, 44, 89, 1e30])])
    return np.concatenate([pos, -pos])


def test_tanh_float32_accuracy():
    x = sweep()
    got = host(ct.tensor(x).tanh())
    u = ulps(got, x, np.tanh)
    assert u.max() <= 2.0, (u.max(), x[np.argmax(u)])
    ref = np.tanh(x)                                        # numpy's own float32 tanh, for comparison
    assert np.abs(got.astype(np.float64) - ref).max() <= 4 * np.spacing(np.float32(1))


def test_tanh_limits_and_special_values():
    x = np.float32([0.0, -0.0, np.inf, -np.inf, np.nan, 20, -20, 1e-40, -1e-40, 100, -100, 1e38, -1e38])
    got = host(ct.tensor(x).tanh())
    want = np.tanh(x.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(got, want)
    assert np.signbit(got[1]) and not np.signbit(got[0])
    assert np.isnan(got[4])


def test_tanh_other_dtypes_and_gelu(has_fp64):
    x = np.linspace(-6, 6, 10001)
    if has_fp64:
        np.testing.assert_allclose(host(ct.tensor(x).tanh()), np.tanh(x), rtol=1e-15, atol=1e-16)
    h = x.astype(np.float16)
    np.testing.assert_array_equal(host(ct.tensor(h).tanh()), np.tanh(h.astype(np.float32)).astype(np.float16))
    x32 = x.astype(np.float32)
    g = host(ct.nn.functional.gelu(ct.tensor(x32), approximate="tanh"))
    x64 = x32.astype(np.float64)
    want = 0.5 * x64 * (1 + np.tanh(np.sqrt(2 / np.pi) * (x64 + 0.044715 * x64 ** 3)))
    np.testing.assert_allclose(g, want, rtol=2e-6, atol=1e-6)
