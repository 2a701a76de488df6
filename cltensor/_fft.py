"""torch.fft: discrete Fourier transforms on the device, with their backward rules (docs/fft.md).

One primitive runs every transform: `_c2c(x, dim, n, inverse, scale)`, a complex FFT of length n along one dim
(x real or complex, zero-padded up to n when shorter). On CPU devices it runs as

- the whole-row kernel (templates/fft.mako `vrow`) when n is 7-smooth and fits the work-group's local memory
  (n <= 4096): one launch for the whole batch; each work-item transforms V rows side by side in the lanes of
  OpenCL vectors (V = the device's preferred vector width: 16 floats / 8 doubles with AVX-512), every radix stage
  (8, 4, 2, 3, 5, 7) in local memory, the input read once (vector reads of adjacent rows, or V x V block
  transposes of contiguous rows) and the result written once, scaled;
- Bluestein's chirp-z algorithm inside the same kernel for other lengths whose padded length M (7-smooth, >= 2n
  - 1) fits: chirp, FFT of length M, product with the chirp's spectrum, inverse FFT, chirp, in one launch;
- a four-step FFT for longer powers of two (n = n1 n2, both whole rows): two launches, the twiddles w^(k1 j2)
  read from a table of n values in the first one's store;

and otherwise (GPUs, longer lengths, batches of long transforms) as before: mixed-radix Stockham autosort passes
(`stockham`, one launch per pass; the first reads the input with its own strides, the last writes the scaled
result) for 7-smooth n, Bluestein's algorithm with `cmul` passes around them for the others.

Kernels are generated per (dtype, direction, layout mode) and never per length: lengths, stages (the whole-row
kernel's radix counts are one packed argument), batch sizes and strides are arguments, so a new length never
compiles a new kernel. Twiddle tables, Bluestein's chirps and the four-step table are computed in float64 on the
host and uploaded once per (device, length, dtype) into a small cache.

Real transforms of even length n with a contiguous dim run a complex FFT of length n / 2 on the real rows read as
complex pairs, with the pass that forms the half spectrum (rfft) or its inverse (irfft) fused into the
whole-row kernel (or one pass after / before the Stockham passes, `r2c_post` / `c2r_pre`); other real transforms
use the complex FFT of the real input (rfft) or of the Hermitian extension (irfft). hfft / ihfft are irfft / rfft
of the conjugate with the normalisation swapped; the n-dimensional forms combine them with c2c over the other
dims, as PyTorch's. Backward rules: c2c -> c2c in the other direction with the same scale; rfft -> inverse c2c of
the zero-padded gradient, real part; irfft -> rfft of the gradient with the doubled bins (PyTorch's formulas).
"""
import math
from collections import OrderedDict

import numpy as np
import pyopencl as cl

from . import _dtypes as D
from . import _kernels as K
from ._creation import tensor as _tensor, arange as _arange
from ._launch import rt_of, extent, idx_type
from ._registry import register
from ._shape import cat
from ._composite import view_as_real
from ._tensor import Tensor, empty_tensor, _wrap_dim
from .autograd import _tape as AG


# ---------------------------------------------------------------- plans and tables

# the largest radix of the multi-launch passes: radix 16 and 32 passes were measured (docs/fft.md) and were not
# consistently faster than radix 8 on the PoCL CPU device (fewer passes, more registers per work-item)
_BIG = [8]


def _factor(n, big=8):
    """Radices of the Stockham passes of length n (largest first), or None when n has a prime factor > 7."""
    out = []
    for r in (32, 16, 8):
        if r <= big:
            while n % r == 0:
                out.append(r)
                n //= r
    for r in (4, 2, 3, 5, 7):
        while n % r == 0:
            out.append(r)
            n //= r
    return out if n == 1 else None


_TABLES = OrderedDict()      # (device, kind, n, sign, dtype) -> device Tensor, least recently used first
_TABLES_MAX = 64             # tables kept, and their bytes in all (the oldest are dropped beyond either)
_TABLES_MAX_BYTES = 256 << 20


def _table(dev, kind, n, sign, cdt):
    key = (dev, kind, n, sign, cdt)
    t = _TABLES.get(key)
    if t is not None:
        _TABLES.move_to_end(key)
        return t
    if kind == "tw":         # exp(sign 2 pi i j / n), j < n
        j = np.arange(n, dtype=np.float64)
        a = np.exp(1j * (sign * 2 * np.pi / n) * j)
    elif kind == "chirp":    # exp(sign i pi j^2 / n), j^2 taken mod 2n exactly
        j = np.arange(n, dtype=np.int64)
        a = np.exp(1j * (sign * np.pi / n) * ((j * j) % (2 * n)).astype(np.float64))
    elif kind[0] == "ft":    # the four-step twiddles w_n^(k1 j2) at k1 n2 + j2 (k1 < n / n2, j2 < n2)
        n2 = kind[1]
        k1 = np.arange(n // n2, dtype=np.int64)[:, None]
        j2 = np.arange(n2, dtype=np.int64)[None, :]
        a = np.exp(1j * (sign * 2 * np.pi / n) * ((k1 * j2) % n).astype(np.float64)).ravel()
    else:                    # "bf": FFT_M of the conjugate chirp, circularly extended, divided by M
        M = kind[1]
        j = np.arange(n, dtype=np.int64)
        w = np.exp(-1j * (sign * np.pi / n) * ((j * j) % (2 * n)).astype(np.float64))
        b = np.zeros(M, np.complex128)
        b[:n] = w
        b[M - n + 1:] = w[1:][::-1]
        a = np.fft.fft(b) / M
    t = _tensor(a, dtype=cdt, device=dev)
    _TABLES[key] = t
    while len(_TABLES) > 1 and (len(_TABLES) > _TABLES_MAX or
                                sum(v._st.nbytes for v in _TABLES.values()) > _TABLES_MAX_BYTES):
        _TABLES.popitem(last=False)
    return t


_BLUESTEIN_M = {}


def _bluestein_m(n):
    """The length M >= 2n - 1 of Bluestein's convolution: the 7-smooth length with the least M x passes (e.g.
    2048 for 997: 4 passes; 8232 = 8 * 3 * 7^3 rather than 16384 for 4099)."""
    M = _BLUESTEIN_M.get(n)
    if M is None:
        lo, hi = 2 * n - 1, 1 << (2 * n - 2).bit_length()
        best = (hi * len(_factor(hi)), hi)
        p7 = 1
        while p7 <= hi:
            p5 = p7
            while p5 <= hi:
                p3 = p5
                while p3 <= hi:
                    m = p3
                    while m < lo:
                        m *= 2
                    if m <= hi:
                        best = min(best, (m * len(_factor(m)), m))
                    p3 *= 3
                p5 *= 5
            p7 *= 7
        M = _BLUESTEIN_M[n] = best[1]
    return M


def _complex_of(dt):
    return D.complex128 if dt in (D.float64, D.complex128) else D.complex64


# ---------------------------------------------------------------- launchers

def _stockham(rt, src, cdt, inp, ioff, isb, ise, nin, out, ooff, osb, ose, B, n, sign, scale, it, idx, dev):
    """All passes of a length-n Stockham FFT of B rows (n has only the factors 2, 3, 5, 7). inp / out: buffers
    (input of dtype src, output complex), with (offset, batch stride, element stride); the input rows hold nin
    elements (zero padding above)."""
    facs = _factor(n, _BIG[0])
    tw = _table(dev, "tw", n, sign, cdt)
    rdt = np.float64 if cdt is D.complex128 else np.float32
    p = len(facs)
    keep = empty_tensor((B, n), cdt, dev) if p > 1 else None     # (held until the passes are enqueued)
    scratch = keep._st.buf if p > 1 else None
    Ls = 1
    cur, cur_dt, coff, cb, ce = inp, src, ioff, isb, ise
    for j, R in enumerate(facs):
        last = j == p - 1
        dst, doff, db, de = (out, ooff, osb, ose) if (p - 1 - j) % 2 == 0 else (scratch, 0, n, 1)
        m = n // R
        NW = B * m
        kern = K.get(rt, "fft", "stockham", R=R, src=cur_dt, dt=cdt, sign=sign, idx=idx,
                     pad=(j == 0 and nin < n))
        args = [cur, it(coff), it(cb), it(ce), dst, it(doff), it(db), it(de), tw._st.buf, it(NW), it(m), it(Ls),
                it(n // (Ls * R)), it(nin if j == 0 else n), rdt(scale if last else 1.0)]
        K.launch(rt, kern, (K.round_up(m, rt.local_size), B), (rt.local_size, 1), args)
        cur, cur_dt, coff, cb, ce = dst, cdt, doff, db, de
        Ls *= R


def _cmul(rt, src, cdt, inp, ioff, isb, ise, nin, out, ooff, osb, ose, w, B, nout, scale, it, idx):
    kern = K.get(rt, "fft", "cmul", src=src, dt=cdt, idx=idx)
    rdt = np.float64 if cdt is D.complex128 else np.float32
    NW = B * nout
    args = [inp, it(ioff), it(isb), it(ise), out, it(ooff), it(osb), it(ose), w._st.buf, it(NW), it(nout),
            it(nin), rdt(scale)]
    K.launch(rt, kern, (K.round_up(nout, rt.local_size), B), (rt.local_size, 1), args)


def _batch_stride(shape, strides):
    """One stride that walks the batch dims (shape, strides) in row-major order, or None."""
    st = None
    expect = None
    for s, t in reversed(list(zip(shape, strides))):
        if s == 1:
            continue
        if st is None:
            st, expect = t, t * s
        elif t != expect:
            return None
        else:
            expect = t * s
    return 0 if st is None else st


# ---------------------------------------------------------------- whole-row kernels (one launch per transform)

_ROW_MAX = 4096          # the longest row one work-group transforms in local memory (further bounded by the
                         # device's local memory); longer powers of two run as two launches (four-step)
_ROW_ON_GPU = False      # whole-row kernels on GPUs too (tests set it, and _ROW_V, to run them on Oclgrind's GPU)
_ROW_V = None            # rows per work-item (vector lanes) instead of the device's preferred float vector width


def _row_geom(rt, n, cdt):
    """(plan, nstages, V) of the whole-row kernel of length n on rt's device, or None (not 7-smooth, too long for
    the device's local memory, or not a CPU device). V: rows per work-item, the SIMD lanes of the device's
    preferred vector width (4 local arrays of n + 1 vectors must fit 3/4 of the local memory)."""
    info = rt.info
    if n < 2 or n > _ROW_MAX or not (info.is_cpu or _ROW_ON_GPU):
        return None
    facs = _factor(n, 8)     # radix 8 at most (radix-16 stages measured no faster)
    if facs is None:
        return None
    es = 8 if cdt is D.complex128 else 4
    w = (info.vector_widths.get("double" if cdt is D.complex128 else "float", 1) or 1) if info.is_cpu else 1
    V = _ROW_V or min(16, 1 << (max(1, w).bit_length() - 1))
    while V > 1 and 4 * (n + 1) * V * es > info.local_mem_size * 3 // 4:
        V //= 2
    if 4 * (n + 1) * V * es > info.local_mem_size * 3 // 4:
        return None
    plan = 0
    for j, R in enumerate((8, 4, 2, 3, 5, 7)):
        plan |= facs.count(R) << (4 * j)
    return plan, len(facs), V


def _row_launch(rt, geom, src, cdt, inp, ioff, isb, ise, nin, out, ooff, osb, ose, B, n, sign, scale, it, idx,
                tw, pre="ld", post="st", ft=None, ftld=0, ft2=None):
    """B whole-row transforms of length n in one launch (templates/fft.mako `vrow`)."""
    plan, nst, V = geom
    while V > 1 and V >= 2 * B:
        V //= 2     # small batches: no lanes of duplicated rows (one row: the scalar kernel)
    if V > 8 and ((ise == 1 and isb != 1) or (ose == 1 and osb != 1)):     # "rows" below
        V = 8       # the 16 x 16 block transposes spill registers: 8 rows per work-item measured 1.2-1.4x faster
    lmode = "lanes" if isb == 1 and V > 1 else "rows" if ise == 1 and V > 1 else "any"
    smode = "lanes" if osb == 1 and V > 1 else "rows" if ose == 1 and V > 1 else "any"
    kern = K.get(rt, "fft", "vrow", V=V, src=src, dt=cdt, sign=sign, pre=pre, post=post, lmode=lmode,
                 smode=smode, idx=idx)
    rdt = np.float64 if cdt is D.complex128 else np.float32
    ft = tw if ft is None else ft
    ft2 = tw if ft2 is None else ft2
    loc = cl.LocalMemory(2 * (n + 1) * V * (8 if cdt is D.complex128 else 4))
    args = [inp, it(ioff), it(isb), it(ise), out, it(ooff), it(osb), it(ose), tw._st.buf, it(B), np.int32(n),
            it(nin), rdt(scale), np.uint32(plan), ft._st.buf, it(ftld), ft2._st.buf, loc, loc]
    K.launch(rt, kern, (-(-B // V),), (1,), args)


_FOUR_STEP_MAX_B = 16    # four-step transforms run one by one (two launches each); larger batches use the passes


def _four_step_split(n):
    L = n.bit_length() - 1
    n1 = 1 << (L // 2)
    return n1, n // n1


def _four_step_geom(rt, n, cdt):
    """Whether a power of two n splits into two whole-row lengths n1 x n2 (n1 <= n2 <= 2 n1)."""
    n1, n2 = _four_step_split(n)
    return _row_geom(rt, n1, cdt) is not None and _row_geom(rt, n2, cdt) is not None


def _four_step(rt, src, cdt, inp, ioff, ise, out, ooff, ose, n, sign, scale, it, idx, dev):
    """One FFT of a power of two n = n1 n2 too long for one work-group, as two launches of the whole-row kernel:
    n2 FFTs of length n1 over the columns x[j1 n2 + j2] (V adjacent columns per work-item: vector reads) times the
    twiddles w_n^(k1 j2) (a table of n values, fused into the store), written to t[k1 n2 + j2]; then n1 FFTs of
    length n2 over the rows of t, written to out[k1 + n1 k2]."""
    n1, n2 = _four_step_split(n)
    g1, g2 = _row_geom(rt, n1, cdt), _row_geom(rt, n2, cdt)
    tw1, tw2 = _table(dev, "tw", n1, sign, cdt), _table(dev, "tw", n2, sign, cdt)
    ft = _table(dev, ("ft", n2), n, sign, cdt)
    tmp = empty_tensor((n,), cdt, dev)
    _row_launch(rt, g1, src, cdt, inp, ioff, ise, n2 * ise, n1, tmp._st.buf, 0, 1, n2, n2, n1, sign, 1.0, it, idx,
                tw1, post="tw4", ft=ft, ftld=n2)
    _row_launch(rt, g2, cdt, cdt, tmp._st.buf, 0, n2, 1, n2, out, ooff, ose, n1 * ose, n1, n2, sign, scale, it,
                idx, tw2)


_USE_ROW = True          # False: the multi-launch Stockham passes for every length (before / after comparisons)


def _rows(rt, src, cdt, inp, ioff, isb, ise, nin, out, ooff, osb, ose, B, n, sign, scale, it, idx, dev):
    """The length-n FFT of B rows (buffers with offset, batch stride and element stride; input rows of nin
    elements, zero-padded above): a copy for n = 1, Stockham passes for 7-smooth n, Bluestein otherwise."""
    if n == 1:      # a copy (times the scale) of the first element
        one = _table(dev, "tw", 1, 1, cdt)
        _cmul(rt, src, cdt, inp, ioff, isb, ise, nin, out, ooff, osb, ose, one, B, 1, scale, it, idx)
    elif _USE_ROW and _row_geom(rt, n, cdt) is not None:
        _row_launch(rt, _row_geom(rt, n, cdt), src, cdt, inp, ioff, isb, ise, nin, out, ooff, osb, ose, B, n, sign,
                    scale, it, idx, _table(dev, "tw", n, sign, cdt))
    elif _USE_ROW and B <= _FOUR_STEP_MAX_B and n & (n - 1) == 0 and nin == n and _four_step_geom(rt, n, cdt):
        for b in range(B):
            _four_step(rt, src, cdt, inp, ioff + b * isb, ise, out, ooff + b * osb, ose, n, sign, scale, it, idx,
                       dev)
    elif _factor(n) is not None:
        _stockham(rt, src, cdt, inp, ioff, isb, ise, nin, out, ooff, osb, ose, B, n, sign, scale, it, idx, dev)
    else:           # Bluestein
        M = _bluestein_m(n)
        chirp = _table(dev, "chirp", n, sign, cdt)
        bf = _table(dev, ("bf", M), n, sign, cdt)
        geom = _row_geom(rt, M, cdt) if _USE_ROW else None
        if geom is not None:    # all of it in one launch of the whole-row kernel
            _row_launch(rt, geom, src, cdt, inp, ioff, isb, ise, min(nin, n), out, ooff, osb, ose, B, M, -1, scale, it,
                        idx, _table(dev, "tw", M, -1, cdt), pre="blu", post="blu", ft=chirp, ftld=n, ft2=bf)
            return
        ta, tb = empty_tensor((B, M), cdt, dev), empty_tensor((B, M), cdt, dev)
        a, b = ta._st.buf, tb._st.buf
        _cmul(rt, src, cdt, inp, ioff, isb, ise, nin, a, 0, M, 1, chirp, B, M, 1.0, it, idx)
        _stockham(rt, cdt, cdt, a, 0, M, 1, M, b, 0, M, 1, B, M, -1, 1.0, it, idx, dev)
        _cmul(rt, cdt, cdt, b, 0, M, 1, M, a, 0, M, 1, bf, B, M, 1.0, it, idx)
        _stockham(rt, cdt, cdt, a, 0, M, 1, M, b, 0, M, 1, B, M, 1, 1.0, it, idx, dev)
        _cmul(rt, cdt, cdt, b, 0, M, 1, n, out, ooff, osb, ose, chirp, B, n, scale, it, idx)


def _bluestein_len(n):
    return n if _factor(n) is not None or n == 1 else _bluestein_m(n)


def _prep(x, d):
    """x with dim d moved last, its batch shape, batch count and one batch stride (a copy when the batch dims
    cannot be walked with one stride)."""
    xv = x.movedim(d, -1)
    bshape = xv._shape[:-1]
    B = 1
    for s in bshape:
        B *= s
    bst = _batch_stride(bshape, xv._strides[:-1])
    if bst is None:
        xv = xv.contiguous()
        bst = _batch_stride(bshape, xv._strides[:-1])
    return xv, bshape, B, bst


def _c2c_raw(x, d, n, inverse, scale):
    """The FFT (no autograd): x (real or complex, any strides) along dim d, length n (x zero-padded or trimmed
    along d), result complex with d innermost in memory, as PyTorch's."""
    cdt = _complex_of(x._dtype)
    dev = x._device
    xv, bshape, B, bst = _prep(x, d)
    out = empty_tensor(bshape + (n,), cdt, dev)
    if B == 0 or n == 0:
        return out.movedim(-1, d)
    rt = rt_of(x)
    # 2x: the whole-row kernel indexes real / imaginary parts
    idx, it = idx_type(2 * extent(x), 2 * B * (_bluestein_len(n) + 1))
    _rows(rt, x._dtype, cdt, xv._st.buf, xv._offset, bst, xv._strides[-1], min(xv._shape[-1], n), out._st.buf, 0,
          n, 1, B, n, 1 if inverse else -1, scale, it, idx, dev)
    if x._st.shared:
        rt.queue.finish()
    return out.movedim(-1, d)


def _r2c_raw(x, d, n, scale):
    """rfft (no autograd) of real x along d (length <= n, zero-padded), bins 0..n // 2. Even n with the dim
    contiguous: a complex FFT of length n / 2 of the signal read as complex pairs, then one pass (r2c_post)."""
    cdt = _complex_of(x._dtype)
    dev = x._device
    xv, bshape, B, bst = _prep(x, d)
    h = n // 2
    fast = (n % 2 == 0 and xv._shape[-1] == n and xv._strides[-1] == 1 and xv._offset % 2 == 0
            and (bst % 2 == 0 or B == 1))
    if not fast or B == 0:
        return _c2c_raw(x, d, n, False, scale).narrow(d, 0, h + 1)
    out = empty_tensor(bshape + (h + 1,), cdt, dev)
    rt = rt_of(x)
    idx, it = idx_type(2 * extent(x), 2 * B * (_bluestein_len(h) + 1))
    tw = _table(dev, "tw", n, -1, cdt)
    geom = _row_geom(rt, h, cdt) if _USE_ROW else None
    if geom is not None:    # one launch: the FFT of length h and the post-processing of the whole-row kernel
        _row_launch(rt, geom, cdt, cdt, xv._st.buf, xv._offset // 2, bst // 2, 1, h, out._st.buf, 0, h + 1, 1, B, h,
                    -1, scale, it, idx, tw, post="r2c")
        if x._st.shared:
            rt.queue.finish()
        return out.movedim(-1, d)
    z = empty_tensor((B, h), cdt, dev)
    _rows(rt, cdt, cdt, xv._st.buf, xv._offset // 2, bst // 2, 1, h, z._st.buf, 0, h, 1, B, h, -1, 1.0, it, idx,
          dev)
    kern = K.get(rt, "fft", "r2c_post", dt=cdt, idx=idx)
    rdt = np.float64 if cdt is D.complex128 else np.float32
    K.launch(rt, kern, (K.round_up(h + 1, rt.local_size), B), (rt.local_size, 1),
             [z._st.buf, out._st.buf, it(0), it(h + 1), it(1), tw._st.buf, it(h), rdt(scale)])
    if x._st.shared:
        rt.queue.finish()
    return out.movedim(-1, d)


def _c2r_raw(x, d, n, scale):
    """irfft (no autograd) of the half spectrum x (complex) along d to an even n: one pass (c2r_pre) builds the
    length-n / 2 spectrum of the output read as complex pairs, then an inverse complex FFT of length n / 2."""
    cdt = x._dtype
    dev = x._device
    xv, bshape, B, bst = _prep(x, d)
    h = n // 2
    zt = empty_tensor(bshape + (h,), cdt, dev)
    if B:
        rt = rt_of(x)
        idx, it = idx_type(2 * extent(x), 2 * B * (_bluestein_len(h) + 1))
        tw = _table(dev, "tw", n, 1, cdt)
        geom = _row_geom(rt, h, cdt) if _USE_ROW else None
        if geom is not None:    # one launch: the pre-processing and the inverse FFT of length h
            _row_launch(rt, geom, cdt, cdt, xv._st.buf, xv._offset, bst, xv._strides[-1], min(xv._shape[-1], h + 1),
                        zt._st.buf, 0, h, 1, B, h, 1, scale, it, idx, tw, pre="c2r")
            if x._st.shared:
                rt.queue.finish()
            return view_as_real(zt).reshape(bshape + (n,)).movedim(-1, d)
        pre = empty_tensor((B, h), cdt, dev)
        kern = K.get(rt, "fft", "c2r_pre", dt=cdt, idx=idx)
        K.launch(rt, kern, (K.round_up(h, rt.local_size), B), (rt.local_size, 1),
                 [xv._st.buf, it(xv._offset), it(bst), it(xv._strides[-1]), pre._st.buf, tw._st.buf, it(h),
                  it(min(xv._shape[-1], h + 1))])
        _rows(rt, cdt, cdt, pre._st.buf, 0, h, 1, h, zt._st.buf, 0, h, 1, B, h, 1, scale, it, idx, dev)
        if x._st.shared:
            rt.queue.finish()
    return view_as_real(zt).reshape(bshape + (n,)).movedim(-1, d)


def _c2c(x, d, n, inverse, scale):
    """Differentiable FFT along dim d (see _c2c_raw); backward: the FFT in the other direction with the same scale,
    trimmed to x's length along d, real part for a real x."""
    out = _c2c_raw(x, d, n, inverse, scale)
    if AG.needs_grad(x):
        nx = x._shape[d]
        real = not x._dtype.is_complex

        def bw(g):
            gi = _c2c(g, d, n, not inverse, scale)
            if nx < n:
                gi = gi.narrow(d, 0, nx)
            if real:
                gi = gi.real
            return (gi,)
        AG.record("FftC2CBackward0" if x._dtype.is_complex else "FftR2CBackward0", (x,), out, bw)
    return out


# ---------------------------------------------------------------- argument handling as PyTorch's

def _norm_scale(norm, n, forward):
    """The factor a transform of length n applies, `forward` in the sense of PyTorch's normalisation modes."""
    if norm is None or norm == "backward":
        return 1.0 if forward else 1.0 / n
    if norm == "ortho":
        return 1.0 / math.sqrt(n)
    if norm == "forward":
        return 1.0 / n if forward else 1.0
    raise RuntimeError(f'Invalid normalization mode: "{norm}"')


def _check_norm(norm):
    if norm not in (None, "backward", "ortho", "forward"):
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')


def _float_input(x, name, real_only=False, complex_ok=True):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    dt = x._dtype
    if dt.is_complex:
        if real_only:
            raise RuntimeError(f"{name} expects a real input tensor, but got {dt._alias}")
        return x
    if dt in (D.float32, D.float64):
        return x
    if dt is D.float16 or dt is D.bfloat16:
        raise RuntimeError(f"Unsupported dtype {dt._alias}")
    return x.to(D.get_default_dtype())


def _check_n(n):
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")


def _resize(x, d, n):
    """x trimmed along d to n (zero padding is done by the kernels)."""
    if x._shape[d] > n:
        return x.narrow(d, 0, n)
    return x


def _pad_to(x, d, n):
    """x trimmed or zero-padded along d to n (a differentiable copy when padding)."""
    s = x._shape[d]
    if s > n:
        return x.narrow(d, 0, n)
    if s < n:
        z = x.new_zeros(x._shape[:d] + (n - s,) + x._shape[d + 1:])
        return cat([x, z], d)
    return x


def _dims_sizes(x, s, dim, name):
    """PyTorch's (dims, sizes) of an n-dimensional transform: s and dim optional."""
    nd = x.dim()
    if dim is not None:
        if isinstance(dim, int):
            dim = (dim,)
        dims = [_wrap_dim(d, nd) for d in dim]
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
        if s is not None:
            if isinstance(s, int):
                s = (s,)
            if len(s) != len(dims):
                raise RuntimeError("When given, dim and shape arguments must have the same length")
    elif s is not None:
        if isinstance(s, int):
            s = (s,)
        if len(s) > nd:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has {nd} dimensions.")
        dims = list(range(nd - len(s), nd))
    else:
        dims = list(range(nd))
    if s is None:
        sizes = [x._shape[d] for d in dims]
    else:
        sizes = [x._shape[d] if v == -1 else v for d, v in zip(dims, s)]
    for v in sizes:
        _check_n(v)
    return dims, sizes


# ---------------------------------------------------------------- complex transforms

def _fft1(x, n, dim, norm, inverse, name):
    _check_norm(norm)
    x = _float_input(x, name)
    if x.dim() == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    d = _wrap_dim(dim, x.dim())
    n = x._shape[d] if n is None else n
    _check_n(n)
    return _c2c(_resize(x, d, n), d, n, inverse, _norm_scale(norm, n, not inverse))


def _fftn(x, s, dim, norm, inverse, name):
    _check_norm(norm)
    x = _float_input(x, name)
    dims, sizes = _dims_sizes(x, s, dim, name)
    if not dims:
        return x.to(_complex_of(x._dtype)) if not x._dtype.is_complex else x.clone()
    for d, n in zip(dims, sizes):
        x = _c2c(_resize(x, d, n), d, n, inverse, _norm_scale(norm, n, not inverse))
    return x


@register("fft", namespace="fft")
def fft(input, n=None, dim=-1, norm=None, *, out=None):
    return _out(_fft1(input, n, dim, norm, False, "fft"), out)


@register("ifft", namespace="fft")
def ifft(input, n=None, dim=-1, norm=None, *, out=None):
    return _out(_fft1(input, n, dim, norm, True, "ifft"), out)


@register("fft2", namespace="fft")
def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _out(_fftn(input, s, dim, norm, False, "fft2"), out)


@register("ifft2", namespace="fft")
def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _out(_fftn(input, s, dim, norm, True, "ifft2"), out)


@register("fftn", namespace="fft")
def fftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(_fftn(input, s, dim, norm, False, "fftn"), out)


@register("ifftn", namespace="fft")
def ifftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(_fftn(input, s, dim, norm, True, "ifftn"), out)


def _out(res, out):
    if out is None:
        return res
    if out._dtype is not res._dtype:
        raise RuntimeError(f"Expected out tensor to have dtype {res._dtype}, but got {out._dtype} instead")
    if tuple(out._shape) != tuple(res._shape):
        out.resize_(res._shape)
    out.copy_(res)
    return out


# ---------------------------------------------------------------- real and Hermitian transforms

def _r2c(x, d, n, scale):
    """Differentiable rfft of real x (length <= n along d). Backward: the inverse complex FFT (same scale) of the
    gradient zero-padded to n bins, real part."""
    x = _resize(x, d, n)
    out = _r2c_raw(x, d, n, scale)
    if AG.needs_grad(x):
        nx = x._shape[d]

        def bw(g):
            gi = _c2c(g, d, n, True, scale).real
            return (gi.narrow(d, 0, nx) if nx < n else gi,)
        AG.record("FftR2CBackward0", (x,), out, bw)
    return out


def _c2r(x, d, n, scale):
    """Real inverse transform of the half spectrum x along d to n points (PyTorch's irfft)."""
    h = n // 2 + 1
    if n % 2 == 0:
        x = _resize(x, d, h)
        out = _c2r_raw(x, d, n, scale)
        if AG.needs_grad(x):
            nx = x._shape[d]
            wts = np.full(h, 2.0)
            wts[0] = 1.0
            wts[n - h + 1:] = 1.0       # the bins that appear once in the Hermitian extension
            shape = [1] * x.dim()
            shape[d] = h
            wt = _tensor(wts.reshape(shape), dtype=out._dtype, device=x._device)

            def bw(g):
                gi = _r2c(g, d, n, scale) * wt
                return (gi.narrow(d, 0, nx) if nx < h else gi,)
            AG.record("FftC2RBackward0", (x,), out, bw)
        return out
    xr = _pad_to(x, d, h)
    if n - h > 0:
        tail = xr.narrow(d, 1, n - h).flip(d).conj()
        full = cat([xr, tail], d)
    else:
        full = xr
    return _c2c(full, d, n, True, scale).real


def _rfft1(x, n, dim, norm, name, hermitian=False):
    _check_norm(norm)
    x = _float_input(x, name, real_only=True)
    if x.dim() == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    d = _wrap_dim(dim, x.dim())
    n = x._shape[d] if n is None else n
    _check_n(n)
    y = _r2c(x, d, n, _norm_scale(norm, n, not hermitian))
    return y.conj() if hermitian else y


def _irfft1(x, n, dim, norm, name, hermitian=False):
    _check_norm(norm)
    x = _float_input(x, name)
    if x.dim() == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    d = _wrap_dim(dim, x.dim())
    n = 2 * (x._shape[d] - 1) if n is None else n
    _check_n(n)
    if not x._dtype.is_complex:
        x = x.to(_complex_of(x._dtype))
    if hermitian:
        x = x.conj()
    return _c2r(x, d, n, _norm_scale(norm, n, hermitian))


@register("rfft", namespace="fft")
def rfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _out(_rfft1(input, n, dim, norm, "rfft"), out)


@register("irfft", namespace="fft")
def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _out(_irfft1(input, n, dim, norm, "irfft"), out)


@register("hfft", namespace="fft")
def hfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _out(_irfft1(input, n, dim, norm, "hfft", hermitian=True), out)


@register("ihfft", namespace="fft")
def ihfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _out(_rfft1(input, n, dim, norm, "ihfft", hermitian=True), out)


def _rfftn(x, s, dim, norm, name):
    _check_norm(norm)
    x = _float_input(x, name, real_only=True)
    dims, sizes = _dims_sizes(x, s, dim, name)
    if not dims:
        raise RuntimeError(f"{name} must transform at least one axis")
    y = _r2c(x, dims[-1], sizes[-1], _norm_scale(norm, sizes[-1], True))
    for d, n in zip(dims[:-1], sizes[:-1]):
        y = _c2c(_resize(y, d, n), d, n, False, _norm_scale(norm, n, True))
    return y


def _irfftn(x, s, dim, norm, name, hermitian=False):
    _check_norm(norm)
    x = _float_input(x, name)
    if not x._dtype.is_complex:
        x = x.to(_complex_of(x._dtype))
    dims, sizes = _dims_sizes(x, s, dim, name)
    if not dims:
        raise RuntimeError(f"{name} must transform at least one axis")
    if s is None or list(s)[-1] == -1:
        sizes[-1] = 2 * (x._shape[dims[-1]] - 1)
        _check_n(sizes[-1])
    for d, n in zip(dims[:-1], sizes[:-1]):
        x = _c2c(_resize(x, d, n), d, n, not hermitian, _norm_scale(norm, n, hermitian))
    if hermitian:
        x = x.conj()
    return _c2r(x, dims[-1], sizes[-1], _norm_scale(norm, sizes[-1], hermitian))


def _ihfftn(x, s, dim, norm, name):
    _check_norm(norm)
    x = _float_input(x, name, real_only=True)
    dims, sizes = _dims_sizes(x, s, dim, name)
    if not dims:
        raise RuntimeError(f"{name} must transform at least one axis")
    y = _r2c(x, dims[-1], sizes[-1], _norm_scale(norm, sizes[-1], False)).conj()
    for d, n in zip(dims[:-1], sizes[:-1]):
        y = _c2c(_resize(y, d, n), d, n, True, _norm_scale(norm, n, False))
    return y


@register("rfft2", namespace="fft")
def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _out(_rfftn(input, s, dim, norm, "rfft2"), out)


@register("irfft2", namespace="fft")
def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _out(_irfftn(input, s, dim, norm, "irfft2"), out)


@register("rfftn", namespace="fft")
def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(_rfftn(input, s, dim, norm, "rfftn"), out)


@register("irfftn", namespace="fft")
def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(_irfftn(input, s, dim, norm, "irfftn"), out)


@register("hfft2", namespace="fft")
def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _out(_irfftn(input, s, dim, norm, "hfft2", hermitian=True), out)


@register("ihfft2", namespace="fft")
def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _out(_ihfftn(input, s, dim, norm, "ihfft2"), out)


@register("hfftn", namespace="fft")
def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(_irfftn(input, s, dim, norm, "hfftn", hermitian=True), out)


@register("ihfftn", namespace="fft")
def ihfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(_ihfftn(input, s, dim, norm, "ihfftn"), out)


# ---------------------------------------------------------------- helpers

@register("fftfreq", namespace="fft", kind="factory")
def fftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False, out=None):
    dt = dtype or D.get_default_dtype()
    k = _arange(n, dtype=D.int64, device=device)
    k = (k - n * (k >= (n + 1) // 2).to(D.int64)).to(dt) * (1.0 / (n * d))
    if requires_grad:
        k.requires_grad_(True)
    return _out(k, out)


@register("rfftfreq", namespace="fft", kind="factory")
def rfftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False, out=None):
    dt = dtype or D.get_default_dtype()
    k = _arange(n // 2 + 1, dtype=dt, device=device) * (1.0 / (n * d))
    if requires_grad:
        k.requires_grad_(True)
    return _out(k, out)


def _shift(x, dim, inverse):
    if dim is None:
        dim = tuple(range(x.dim()))
    elif isinstance(dim, int):
        dim = (dim,)
    if not dim:
        return x.clone()
    shifts = [((x._shape[_wrap_dim(d, x.dim())] + 1) // 2 if inverse else x._shape[_wrap_dim(d, x.dim())] // 2)
              for d in dim]
    return x.roll(shifts, tuple(dim))


@register("fftshift", namespace="fft")
def fftshift(input, dim=None):
    return _shift(input, dim, False)


@register("ifftshift", namespace="fft")
def ifftshift(input, dim=None):
    return _shift(input, dim, True)
