"""torch.fft on the device: every transform against PyTorch (and numpy) over norms, lengths (1, 2, primes, 997,
1000, composites), dims, strided and batched inputs, float32/float64/complex; gradients against PyTorch's and by
gradcheck; PyTorch's errors; accuracy at a large power of two."""
import warnings

import numpy as np
import pytest

import cltensor as ct
from _host import host
from conftest import device_has_fp64

torch = pytest.importorskip("torch")

NORMS = (None, "backward", "ortho", "forward")
# the widest dtypes of the test device (tests that run once per device rather than once per dtype)
F64 = "float64" if device_has_fp64() else "float32"
C128 = "complex128" if device_has_fp64() else "complex64"
RNG = np.random.default_rng(1234)


def _data(shape, dtype):
    a = RNG.standard_normal(shape)
    if dtype.startswith("complex"):
        a = a + 1j * RNG.standard_normal(shape)
    return a.astype({"float32": np.float32, "float64": np.float64, "complex64": np.complex64,
                     "complex128": np.complex128}[dtype])


def _ref(name, a, *args, **kw):
    return getattr(torch.fft, name)(torch.tensor(a), *args, **kw).resolve_conj().numpy()


def _ours(name, a, *args, **kw):
    return host(getattr(ct.fft, name)(ct.tensor(a), *args, **kw))


def _close(y, r, dtype):
    assert y.shape == r.shape
    assert y.dtype == r.dtype, (y.dtype, r.dtype)
    tol = 2e-5 if dtype in ("float32", "complex64") else 1e-12
    scale = max(np.abs(r).max(), 1.0)
    np.testing.assert_allclose(y, r, rtol=0, atol=tol * scale)


# ---------------------------------------------------------------- complex transforms, 1-d

@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 12, 16, 30, 49, 64, 97, 128, 997, 1000])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_fft_lengths(n, dtype):
    a = _data((3, n), dtype)
    for name in ("fft", "ifft"):
        _close(_ours(name, a), _ref(name, a), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128"])
@pytest.mark.parametrize("norm", NORMS)
def test_fft_norms_dtypes(dtype, norm):
    a = _data((4, 10), dtype)
    for name in ("fft", "ifft"):
        for n, dim in ((None, -1), (6, 1), (16, 1), (11, 0), (3, 0)):
            _close(_ours(name, a, n, dim, norm), _ref(name, a, n, dim, norm), dtype)


def test_fft_int_input_promotes():
    a = np.arange(12).reshape(3, 4)
    _close(_ours("fft", a), _ref("fft", a), "complex64")
    _close(_ours("rfft", a), _ref("rfft", a), "complex64")


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_fft_strided_and_batched(dtype):
    a = _data((6, 5, 8), dtype)
    t, r = ct.tensor(a), torch.tensor(a)
    views = [lambda x: x.transpose(0, 2), lambda x: x[:, ::2, 1:], lambda x: x.permute(2, 0, 1)[:, 1:, ::2],
             lambda x: x[1]]
    for v in views:
        for dim in range(v(r).dim()):
            y = host(ct.fft.fft(v(t), dim=dim, norm="ortho"))
            _close(y, torch.fft.fft(v(r), dim=dim, norm="ortho").numpy(), dtype)
            y = host(ct.fft.fft(v(t), n=7, dim=dim))      # Bluestein on a strided input
            _close(y, torch.fft.fft(v(r), n=7, dim=dim).numpy(), dtype)
    # the transformed dim is innermost in memory, as in PyTorch
    assert ct.fft.fft(t, dim=0).stride() == torch.fft.fft(r, dim=0).stride()


def test_fft_empty_batch():
    a = np.zeros((0, 4), np.complex64)
    assert tuple(ct.fft.fft(ct.tensor(a)).shape) == (0, 4)
    assert tuple(ct.fft.rfft(ct.tensor(a.real.copy())).shape) == (0, 3)


# ---------------------------------------------------------------- n-d, real and Hermitian transforms

_CASES = [((), {}), ((None, (0, 2)), {}), (((3, 7),), {}), (((4, 2, 5), (2, 0, 1)), {}), (((-1, 6),), {})]


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", ["fft2", "ifft2", "fftn", "ifftn", "rfft2", "rfftn", "ihfft2", "ihfftn",
                                  "irfft2", "irfftn", "hfft2", "hfftn"])
def test_nd(name, norm):
    real_in = name.startswith(("rfft", "ihfft"))
    a = _data((4, 6, 5), F64 if real_in else C128)
    for args, kw in _CASES:
        if name.endswith("2") and len(args) > 1 and args[1] is not None and len(args[1]) != 2:
            continue
        if name.endswith("2") and args and args[0] is not None and len(args[0]) == 3:
            continue
        _close(_ours(name, a, *args, norm=norm, **kw), _ref(name, a, *args, norm=norm, **kw), C128)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_real_hermitian_1d(norm, dtype):
    a = _data((3, 9), dtype)
    c = _data((3, 9), "complex64" if dtype == "float32" else "complex128")
    for n, dim in ((None, -1), (8, 1), (13, 1), (5, 0), (1, 1), (2, 0)):
        _close(_ours("rfft", a, n, dim, norm), _ref("rfft", a, n, dim, norm), dtype)
        _close(_ours("ihfft", a, n, dim, norm), _ref("ihfft", a, n, dim, norm), dtype)
        _close(_ours("irfft", c, n, dim, norm), _ref("irfft", c, n, dim, norm), dtype)
        _close(_ours("hfft", c, n, dim, norm), _ref("hfft", c, n, dim, norm), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_real_lengths_and_layouts(dtype):
    # even lengths on contiguous rows take the half-length complex FFT (7-smooth and Bluestein halves); odd
    # offsets, strided rows and odd lengths the full complex FFT
    for n in (2, 4, 6, 194, 998, 1000):
        a = _data((2, n + 1), dtype)
        c = _data((2, n // 2 + 1), "complex64" if dtype == "float32" else "complex128")
        for v in (a[:, :n], a[:, 1:]):
            _close(_ours("rfft", np.ascontiguousarray(v)), _ref("rfft", v), dtype)
        t, r = ct.tensor(a), torch.tensor(a)
        _close(host(ct.fft.rfft(t[:, 1:])), torch.fft.rfft(r[:, 1:]).numpy(), dtype)
        _close(host(ct.fft.rfft(t.t(), dim=0)), torch.fft.rfft(r.t(), dim=0).numpy(), dtype)
        _close(_ours("irfft", c), _ref("irfft", c), dtype)
        _close(_ours("irfft", c, n + 1), _ref("irfft", c, n + 1), dtype)
        _close(host(ct.fft.irfft(ct.tensor(c).t(), dim=0)), torch.fft.irfft(torch.tensor(c).t(), dim=0).numpy(),
               dtype)


def test_real_input_is_real_only():
    c = ct.tensor(_data((4,), "complex64"))
    with pytest.raises(RuntimeError, match="rfft expects a real input tensor"):
        ct.fft.rfft(c)
    with pytest.raises(RuntimeError, match="ihfft expects a real input tensor"):
        ct.fft.ihfft(c)


# ---------------------------------------------------------------- the whole-row kernel's layouts

def _row_cases(dtype):
    """(name, array, view, kwargs) covering the whole-row kernel's input / output modes: rows adjacent in memory
    (vector reads), contiguous rows (block transposes, with an element tail), any strides; batches that are not a
    multiple of the vector width; zero padding and trimming; rfft / irfft with the fused pre / post passes and
    Bluestein in one launch."""
    real = "float32" if dtype == "complex64" else "float64"
    cases = []
    for B, n in ((1, 8), (3, 12), (17, 64), (5, 1000), (18, 1024)):
        a = _data((B, n + 3), dtype)
        cases.append(("fft", a, lambda x, n=n: x[:, :n], {}))                         # contiguous rows, offset 0
        cases.append(("ifft", a, lambda x, n=n: x[:, 3:], {"norm": "ortho"}))         # row offset
        cases.append(("fft", a, lambda x, n=n: x[:, :n].t(), {"dim": 0}))             # adjacent rows (lanes)
        cases.append(("fft", a, lambda x: x[:, ::2], {"n": 40}))                      # any strides, padding
        cases.append(("fft", a, lambda x: x, {"n": 24}))                             # trimming
        r = _data((B, 2 * n + 1), real)
        cases.append(("rfft", r, lambda x, n=n: x[:, :2 * n], {}))                    # length-n complex + post
        cases.append(("irfft", _data((B, n + 1), dtype), lambda x: x, {"norm": "forward"}))
        cases.append(("irfft", _data((B, n + 4), dtype), lambda x: x[:, ::2], {"n": 2 * n}))  # strided, short
    a = _data((19, 97), dtype)
    cases.append(("fft", a, lambda x: x, {}))                                        # Bluestein, one launch
    cases.append(("ifft", a, lambda x: x.t(), {"dim": 0, "n": 50}))
    return cases


@pytest.mark.parametrize("dtype", ["complex64", pytest.param("complex128", marks=pytest.mark.fp64)])
def test_row_kernel_layouts(dtype):
    for name, a, view, kw in _row_cases(dtype):
        y = host(getattr(ct.fft, name)(view(ct.tensor(a)), **kw))
        r = getattr(torch.fft, name)(view(torch.tensor(a)), **kw).numpy()
        _close(y, r, dtype)


def test_row_kernel_vector_widths(monkeypatch):
    # the whole-row kernel with other vector widths (1: scalar code; 4: the block transposes of 4 x 4) and on
    # any device (it runs on CPU devices by default): the same results
    from cltensor import _fft
    monkeypatch.setattr(_fft, "_ROW_ON_GPU", True)
    cases = _row_cases("complex64")
    big = _data((1 << 13,), "complex64")          # four-step: two launches
    for V in (1, 4):
        monkeypatch.setattr(_fft, "_ROW_V", V)
        for name, a, view, kw in cases[::3] + cases[-2:] + [("fft", big, lambda x: x, {})]:
            y = host(getattr(ct.fft, name)(view(ct.tensor(a)), **kw))
            r = getattr(torch.fft, name)(view(torch.tensor(a)), **kw).numpy()
            _close(y, r, "complex64")


@pytest.mark.parametrize("dtype", ["complex64", pytest.param("complex128", marks=pytest.mark.fp64)])
def test_four_step(dtype):
    # powers of two longer than one work-group's row: two launches with the twiddles fused (batch of 2, strided)
    n = 1 << 13
    a = _data((2, 2 * n), dtype)
    t, r = ct.tensor(a), torch.tensor(a)
    _close(host(ct.fft.fft(t[:, ::2])), torch.fft.fft(r[:, ::2]).numpy(), dtype)
    _close(host(ct.fft.ifft(t[:, n:], norm="forward")), torch.fft.ifft(r[:, n:], norm="forward").numpy(), dtype)
    x = _data((2 * n,), "float32" if dtype == "complex64" else "float64")
    _close(_ours("rfft", x), _ref("rfft", x), dtype)


# ---------------------------------------------------------------- helpers

def test_fftfreq_and_shift():
    for n, d in ((1, 1.0), (5, 1.0), (6, 0.5), (7, 2.0)):
        np.testing.assert_allclose(host(ct.fft.fftfreq(n, d)), torch.fft.fftfreq(n, d).numpy(), rtol=1e-6)
        np.testing.assert_allclose(host(ct.fft.rfftfreq(n, d)), torch.fft.rfftfreq(n, d).numpy(), rtol=1e-6)
    assert ct.fft.fftfreq(4, dtype=getattr(ct, F64)).dtype == getattr(ct, F64)
    a = _data((4, 5, 3), F64)
    for dim in (None, 0, (1, 2), -1):
        np.testing.assert_array_equal(_ours("fftshift", a, dim), _ref("fftshift", a, dim))
        np.testing.assert_array_equal(_ours("ifftshift", a, dim), _ref("ifftshift", a, dim))


def test_out():
    a = _data((3, 8), "complex64")
    o = ct.empty((3, 8), dtype=ct.complex64)
    r = ct.fft.fft(ct.tensor(a), out=o)
    assert r is o
    _close(host(o), _ref("fft", a), "complex64")


# ---------------------------------------------------------------- errors as PyTorch

def test_errors():
    x = ct.tensor(_data((4,), "float32"))
    xt = torch.tensor(host(x))
    cases = [lambda m, t: m.fft.fft(t, norm="bad"), lambda m, t: m.fft.fft(t, n=0),
             lambda m, t: m.fft.fft(t, dim=3), lambda m, t: m.fft.irfft(t, n=0),
             lambda m, t: m.fft.fftn(t, s=(2, 2)), lambda m, t: m.fft.fft2(t),
             lambda m, t: m.fft.fftn(t, s=(2, 2), dim=(0, 0)), lambda m, t: m.fft.rfft(t, n=-1),
             lambda m, t: m.fft.fft(t.half()), lambda m, t: m.fft.fft(t[0]), lambda m, t: m.fft.rfft(t[0], dim=0),
             lambda m, t: m.fft.rfftn(t[0]), lambda m, t: m.fft.fft(t[:0])]
    for f in cases:
        with pytest.raises(Exception) as e_t:
            f(torch, xt)
        with pytest.raises(type(e_t.value)) as e_c:
            f(ct, x)
        assert str(e_t.value) == str(e_c.value), (e_t.value, e_c.value)


# ---------------------------------------------------------------- gradients

_GRAD = [("fft", "c", (None, 1)), ("fft", "r", (7, 0)), ("fft", "c", (11, 1)), ("ifft", "c", (3, -1)),
         ("rfft", "r", (None, 1)), ("rfft", "r", (6, 0)), ("irfft", "c", (None, 1)), ("irfft", "c", (7, 0)),
         ("irfft", "c", (4, 1)), ("hfft", "c", (None, 1)), ("ihfft", "r", (None, 1)), ("fft2", "c", ()),
         ("rfft2", "r", ()), ("irfft2", "c", ()), ("hfftn", "c", ()), ("ihfftn", "r", ())]


@pytest.mark.fp64
@pytest.mark.parametrize("norm", NORMS[1:])
@pytest.mark.parametrize("name,kind,args", _GRAD)
def test_grad_vs_torch(name, kind, args, norm):
    a = _data((3, 5), "complex128" if kind == "c" else "float64")
    xt, xc = torch.tensor(a, requires_grad=True), ct.tensor(a, requires_grad=True)
    yt = getattr(torch.fft, name)(xt, *args, norm=norm)
    yc = getattr(ct.fft, name)(xc, *args, norm=norm)
    w = _data(tuple(yt.shape), "complex128" if yt.is_complex() else "float64")
    lt, lc = (yt * torch.tensor(w)), (yc * ct.tensor(w))
    (lt.real if yt.is_complex() else lt).sum().backward()
    (lc.real if yc.is_complex() else lc).sum().backward()
    np.testing.assert_allclose(host(xc.grad), xt.grad.resolve_conj().numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.fp64
@pytest.mark.parametrize("name,kind,args", _GRAD[:6] + _GRAD[6:9:2])
def test_gradcheck(name, kind, args):
    a = _data((2, 5), "complex128" if kind == "c" else "float64")
    assert ct.autograd.gradcheck(lambda t: getattr(ct.fft, name)(t, *args, norm="ortho"),
                                 (ct.tensor(a, requires_grad=True),))


# ---------------------------------------------------------------- accuracy

@pytest.mark.parametrize("dtype", ["complex64", pytest.param("complex128", marks=pytest.mark.fp64)])
@pytest.mark.parametrize("n", [1 << 16, 3 * 5 * 7 * 64, 4099])
def test_accuracy_large(dtype, n):
    a = _data((n,), "complex128")
    r = np.fft.fft(a)
    y = host(ct.fft.fft(ct.tensor(a.astype(dtype))))
    err = np.linalg.norm(y - r) / np.linalg.norm(r)
    assert err <= (1e-6 if dtype == "complex64" else 1e-14), err


# ---------------------------------------------------------------- windows, stft, istft

@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
                                  "kaiser_window"])
def test_windows(name):
    for n in (0, 1, 2, 5, 16):
        for periodic in (True, False):
            for dt in ("float32", "float64"):
                w = getattr(ct, name)(n, periodic, dtype=getattr(ct, dt))
                r = getattr(torch, name)(n, periodic, dtype=getattr(torch, dt))
                assert w.dtype == getattr(ct, dt)
                np.testing.assert_allclose(host(w), r.numpy(), rtol=1e-6, atol=1e-7)
    assert ct.hamming_window(7, False, 0.5, 0.5).shape == (7,)
    np.testing.assert_allclose(host(ct.hamming_window(7, False, 0.6, 0.3)),
                               torch.hamming_window(7, False, 0.6, 0.3).numpy(), rtol=1e-6)
    np.testing.assert_allclose(host(ct.kaiser_window(9, True, 5.0)), torch.kaiser_window(9, True, 5.0).numpy(),
                               rtol=1e-6)
    with pytest.raises(RuntimeError):
        getattr(ct, name)(4, dtype=ct.int64)


_STFT = [dict(n_fft=16, window="hann"), dict(n_fft=16, hop_length=5, win_length=10, window="hann"),
         dict(n_fft=15, center=False, normalized=True, window="blackman"),
         dict(n_fft=16, pad_mode="constant", window="hann"), dict(n_fft=8, onesided=False, window="hamming"),
         dict(n_fft=12, hop_length=12, window=None)]


@pytest.mark.parametrize("kw", _STFT)
def test_stft_istft(kw):
    kw = dict(kw)
    w = kw.pop("window")
    wl = kw.get("win_length", kw["n_fft"])
    wc = getattr(ct, w + "_window")(wl, dtype=getattr(ct, F64)) if w else None
    wt = getattr(torch, w + "_window")(wl, dtype=getattr(torch, F64)) if w else None
    x = _data((2, 100), F64)
    ikw = {k: v for k, v in kw.items() if k != "pad_mode"}
    for xx in (x, x[0]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = host(ct.stft(ct.tensor(xx), window=wc, return_complex=True, **kw))
            r = torch.stft(torch.tensor(xx), window=wt, return_complex=True, **kw)
            _close(a, r.numpy(), C128)
            for length in (None, 90, 120):
                try:
                    ri = torch.istft(r, window=wt, length=length, **ikw).numpy()
                except RuntimeError:        # window envelope zero somewhere (NOLA)
                    with pytest.raises(RuntimeError, match="window overlap add min"):
                        ct.istft(ct.tensor(r.numpy()), window=wc, length=length, **ikw)
                    continue
                ai = host(ct.istft(ct.tensor(r.numpy()), window=wc, length=length, **ikw))
                _close(ai, ri, F64)


@pytest.mark.fp64
def test_stft_istft_grad():
    x = _data((60,), "float64")
    w = ct.hann_window(16, dtype=ct.float64)
    xt, xc = torch.tensor(x, requires_grad=True), ct.tensor(x, requires_grad=True)
    yt = torch.stft(xt, 16, 4, window=torch.hann_window(16, dtype=torch.float64), return_complex=True)
    yc = ct.stft(xc, 16, 4, window=w, return_complex=True)
    g = _data(tuple(yt.shape), "complex128")
    (yt * torch.tensor(g)).real.sum().backward()
    (yc * ct.tensor(g)).real.sum().backward()
    np.testing.assert_allclose(host(xc.grad), xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    s = _data(tuple(yt.shape), "complex128")
    st, sc = torch.tensor(s, requires_grad=True), ct.tensor(s, requires_grad=True)
    torch.istft(st, 16, 4, window=torch.hann_window(16, dtype=torch.float64)).pow(2).sum().backward()
    ct.istft(sc, 16, 4, window=w).pow(2).sum().backward()
    np.testing.assert_allclose(host(sc.grad), st.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_stft_errors():
    x = ct.tensor(_data((50,), "float32"))
    with pytest.raises(RuntimeError, match="return_complex"):
        ct.stft(x, 8)
    with pytest.raises(RuntimeError):
        ct.stft(x, 80, center=False, return_complex=True)
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        assert ct.stft(x, 8, window=ct.hann_window(8), return_complex=False).shape == \
            torch.stft(torch.tensor(host(x)), 8, window=torch.hann_window(8), return_complex=False).shape
