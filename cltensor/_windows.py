"""Window functions (hann, hamming, blackman, bartlett, kaiser) and the short-time Fourier transform (stft / istft).

The windows are computed on the host in float64 with PyTorch's formulas and uploaded in the requested dtype (one
small transfer, exact to the last bit of the dtype). stft frames the (padded) signal with one gather
(index_select: the frames may overlap, and its backward is an index_add), multiplies by the window and runs
cltensor.fft's rfft / fft along the frame; istft inverts each frame, multiplies by the window and overlap-adds
the frames with one index_add, divided by the summed squared window (docs/fft.md).
"""
import math
import warnings

import numpy as np

from . import _dtypes as D
from . import _fft as F
from ._creation import tensor as _tensor
from ._registry import register
from ._shape import cat
from ._tensor import Tensor
from ._composite import view_as_real


# ---------------------------------------------------------------- windows

def _window(name, window_length, periodic, dtype, device, requires_grad, fn):
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window length, got window_length={window_length}")
    dt = D.get_default_dtype() if dtype is None else D.as_dtype(dtype)
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt._alias if hasattr(dt, '_alias') else dt}")
    if window_length == 0:
        w = np.zeros(0)
    elif window_length == 1:
        w = np.ones(1)
    else:
        N = window_length + 1 if periodic else window_length
        w = fn(np.arange(N, dtype=np.float64), N)[:window_length]
    t = _tensor(w, dtype=dt, device=device)
    if requires_grad:
        t.requires_grad_(True)
    return t


@register("hann_window", kind="factory")
def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False,
                pin_memory=False):
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, N: 0.5 - 0.5 * np.cos(2 * math.pi * n / (N - 1)))


@register("hamming_window", kind="factory")
def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   requires_grad=False, pin_memory=False):
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, N: alpha - beta * np.cos(2 * math.pi * n / (N - 1)))


@register("blackman_window", kind="factory")
def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False,
                    pin_memory=False):
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, N: 0.42 - 0.5 * np.cos(2 * math.pi * n / (N - 1)) + 0.08 * np.cos(4 * math.pi * n / (N - 1)))


@register("bartlett_window", kind="factory")
def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False,
                    pin_memory=False):
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, N: 1 - np.abs(2 * n / (N - 1) - 1))


@register("kaiser_window", kind="factory")
def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None,
                  requires_grad=False, pin_memory=False):
    def k(n, N):
        a = (N - 1) / 2
        return np.i0(beta * np.sqrt(np.clip(1 - ((n - a) / a) ** 2, 0, None))) / np.i0(beta)
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad, k)


# ---------------------------------------------------------------- stft / istft

def _index(idx, device):
    return _tensor(np.ascontiguousarray(idx, dtype=np.int64), dtype=D.int64, device=device)


def _pad_index(L, p, mode):
    """Indices into a length-L signal of its padding by p on each side (None for constant padding)."""
    j = np.arange(-p, L + p)
    if mode == "reflect":
        if p >= L:
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, "
                               f"but got: padding ({p}, {p}) at dimension 1 of input [1, {L}]")
        j = np.abs(j)
        j = np.where(j >= L, 2 * (L - 1) - j, j)
    elif mode == "replicate":
        j = np.clip(j, 0, L - 1)
    elif mode == "circular":
        j = j % L
    elif mode == "constant":
        return None
    else:
        raise NotImplementedError(f"stft: unsupported pad_mode {mode!r}")
    return j


def _window_full(window, win_length, n_fft, x):
    if window is None:
        w = np.ones(win_length)
        w = _tensor(w, dtype=x._dtype if x._dtype.is_floating_point else
                    (D.float64 if x._dtype is D.complex128 else D.float32), device=x._device)
    else:
        w = window
    if win_length < n_fft:
        left = (n_fft - win_length) // 2
        z = w.new_zeros((n_fft,))
        w = cat([z.narrow(0, 0, left), w, z.narrow(0, 0, n_fft - win_length - left)], 0)
    return w


@register("stft", method=True)
def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=None):
    x = input
    if return_complex is None:
        raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will further "
                           "require that return_complex=True in a future PyTorch release.")
    if not return_complex:
        warnings.warn("stft with return_complex=False is deprecated. In a future pytorch release, stft will return "
                      "complex tensors for all inputs, and return_complex=False will raise an error.\n"
                      "Note: you can still call torch.view_as_real on the complex output to recover the old "
                      "return format.", UserWarning, stacklevel=2)
    if x.dim() not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, but got {x.dim()}D tensor")
    if not (x._dtype.is_floating_point or x._dtype.is_complex):
        x = x.to(D.get_default_dtype())
    hop = n_fft // 4 if hop_length is None else hop_length
    wl = n_fft if win_length is None else win_length
    batched = x.dim() == 2
    if not batched:
        x = x.unsqueeze(0)
    if center:
        p = n_fft // 2
        L = x._shape[-1]
        j = _pad_index(L, p, pad_mode)
        if j is None:
            z = x.new_zeros((x._shape[0], p))
            x = cat([z, x, z], 1)
        else:
            x = x.index_select(1, _index(j, x._device))
    L = x._shape[-1]
    if n_fft <= 0 or n_fft > L:
        raise RuntimeError(f"stft: expected 0 < n_fft <= {L}, but got n_fft={n_fft}")
    if hop <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, but got hop_length={hop}")
    if wl <= 0 or wl > n_fft:
        raise RuntimeError(f"stft: expected 0 < win_length <= n_fft, but got win_length={wl}")
    if window is not None and (window.dim() != 1 or window._shape[0] != wl):
        raise RuntimeError(f"stft: expected a 1D window tensor of size equal to win_length={wl}, but got window "
                           f"with size {list(window._shape)}")
    if window is None:
        warnings.warn("A window was not provided. A rectangular window will be applied,which is known to cause "
                      "spectral leakage. Other windows such as torch.hann_window or torch.hamming_window are "
                      "recommended to reduce spectral leakage.To suppress this warning and use a rectangular window, "
                      "explicitly set `window=torch.ones(n_fft, device=<device>)`.", UserWarning, stacklevel=2)
    T = 1 + (L - n_fft) // hop
    idx = (np.arange(T)[:, None] * hop + np.arange(n_fft)[None, :]).reshape(-1)
    frames = x.index_select(1, _index(idx, x._device)).reshape(x._shape[0], T, n_fft)
    w = _window_full(window, wl, n_fft, x)
    if window is not None or wl < n_fft:
        frames = frames * w
    complex_in = x._dtype.is_complex or (window is not None and window._dtype.is_complex)
    if onesided is None:
        onesided = not complex_in
    elif onesided and complex_in:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    norm = "ortho" if normalized else "backward"
    y = F.rfft(frames, dim=-1, norm=norm) if onesided else F.fft(frames, dim=-1, norm=norm)
    y = y.transpose(1, 2)
    if not batched:
        y = y.squeeze(0)
    if not return_complex:
        return view_as_real(y.contiguous())
    return y


@register("istft", method=True)
def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,
          onesided=None, length=None, return_complex=False):
    x = input
    if not x._dtype.is_complex:
        raise RuntimeError("istft requires a complex-valued input tensor")
    if x.dim() not in (2, 3):
        raise RuntimeError(f"istft: expected a tensor with 2 or 3 dimensions of complex, but got {x.dim()}D")
    hop = n_fft // 4 if hop_length is None else hop_length
    wl = n_fft if win_length is None else win_length
    batched = x.dim() == 3
    if not batched:
        x = x.unsqueeze(0)
    B, nfreq, T = x._shape
    if onesided is None:
        onesided = nfreq != n_fft
    if onesided:
        if n_fft // 2 + 1 != nfreq:
            raise RuntimeError("istft: expected the frequency dimension (3rd to the last) of the input tensor to "
                               "match n_fft / 2 + 1 when onesided=True, but got " + str(nfreq))
    elif n_fft != nfreq:
        raise RuntimeError("istft: expected the frequency dimension (3rd to the last) of the input tensor to match "
                           "n_fft when onesided=False, but got " + str(nfreq))
    if return_complex and onesided:
        raise RuntimeError("cannot have onesided output if window or input is complex")
    if not 0 < hop:
        raise RuntimeError(f"istft: expected hop_length > 0, but got hop_length={hop}")
    if not 0 < wl <= n_fft:
        raise RuntimeError(f"istft: expected 0 < win_length <= n_fft, but got win_length={wl}")
    norm = "ortho" if normalized else "backward"
    fr = x.transpose(1, 2)
    frames = F.irfft(fr, n=n_fft, dim=-1, norm=norm) if onesided else F.ifft(fr, n=n_fft, dim=-1, norm=norm)
    if not return_complex and frames._dtype.is_complex:
        frames = frames.real
    rdt = D.float64 if x._dtype is D.complex128 else D.float32
    if window is None:
        warnings.warn("A window was not provided. A rectangular window will be applied.Please provide the same "
                      "window used by stft to make the inversion lossless.To suppress this warning and use a "
                      "rectangular window, explicitly set `window=torch.ones(n_fft, device=<device>)`.",
                      UserWarning, stacklevel=2)
        w = _tensor(np.ones(wl), dtype=rdt, device=x._device)
    else:
        w = window
    w = _window_full(w, wl, n_fft, frames)
    frames = frames * w
    n_out = n_fft + hop * (T - 1)
    idx = _index((np.arange(T)[:, None] * hop + np.arange(n_fft)[None, :]).reshape(-1), x._device)
    y = frames.new_zeros((B, n_out)).index_add(1, idx, frames.reshape(B, T * n_fft))
    env = (w * w).detach() if isinstance(w, Tensor) else w
    env = env.new_zeros((n_out,)).index_add(0, idx, env.unsqueeze(0).expand(T, n_fft).reshape(-1))
    start = n_fft // 2 if center else 0
    end = n_out - (n_fft // 2 if center else 0) if length is None else start + length
    end = min(end, n_out)
    y = y.narrow(1, start, end - start)
    env = env.narrow(0, start, end - start)
    # the NOLA check reads the window envelope on the host: data-dependent, as PyTorch's own check
    if env.numel() and float(env.abs().min().cpu().item()) < 1e-11:
        raise RuntimeError("istft: window overlap add min: " + str(float(env.abs().min().item())))
    y = y / env
    if length is not None and y._shape[1] < length:
        y = cat([y, y.new_zeros((B, length - y._shape[1]))], 1)
    if not batched:
        y = y.squeeze(0)
    return y
