"""F.interpolate in every mode (nearest, nearest-exact, linear, bilinear, bicubic, trilinear, area; align_corners,
scale_factor, recompute_scale_factor, antialias), pixel_shuffle / pixel_unshuffle, channel_shuffle.

Interpolation is separable in every mode: each spatial dim gets a table of (input index, weight) taps per output
index, computed on the host with PyTorch's index arithmetic (ATen/native/UpSample.h and UpSampleKernel.cpp) and
cached per geometry; one kernel (templates/resample.mako) gathers the taps of all dims, and the backward runs it
with the transposed tables (no atomics)."""
import math

import numpy as np

from .. import _dtypes as D
from .. import _kernels as K
from .. import _creation as C
from ..autograd import _tape as AG
from .._launch import rt_of, idx_type
from .._tensor import empty_tensor
from ._common import acc_of, c0, launch, sync_if_shared

_TABLES = {}


# ------------------------------------------------------------------ tap tables (PyTorch's index arithmetic)

def _scale(insz, outsz, align_corners, scale, f32):
    """area_pixel_compute_scale (in float32 for float32 data, like ATen's opmath for float)."""
    ft = np.float32 if f32 else np.float64
    if align_corners:
        return ft(insz - 1) / ft(outsz - 1) if outsz > 1 else ft(0)
    if scale is not None and scale > 0:
        return ft(1.0 / scale)
    return ft(insz) / ft(outsz)


def _taps(mode, insz, outsz, align_corners, scale, antialias, f32):
    """per output index: (list of input indices, list of weights)."""
    ft = np.float32 if f32 else np.float64
    res = []
    if mode in ("nearest", "nearest-exact"):
        # nearest_idx: the scale is float32 in ATen for every dtype
        sc = np.float32(1.0 / scale) if (scale is not None and scale > 0) else np.float32(insz) / np.float32(outsz)
        for o in range(outsz):
            if mode == "nearest":
                if outsz == insz:
                    i = o
                elif outsz == 2 * insz:
                    i = o >> 1
                else:
                    i = min(int(math.floor(np.float32(o) * sc)), insz - 1)
            else:
                i = min(int(math.floor(np.float32(np.float32(o) + np.float32(0.5)) * sc)), insz - 1)
            res.append(([i], [1.0]))
        return res
    if mode == "area":
        for o in range(outsz):
            s = (o * insz) // outsz
            e = -((-(o + 1) * insz) // outsz)
            res.append((list(range(s, e)), [1.0 / (e - s)] * (e - s)))
        return res
    sc = _scale(insz, outsz, align_corners, scale, f32)
    if antialias:
        interp = 2 if mode == "linear" else 4
        support = ft(interp * 0.5) * sc if sc >= 1.0 else ft(interp * 0.5)
        invscale = ft(1.0) / sc if sc >= 1.0 else ft(1.0)

        def filt(x):
            x = abs(x)
            if mode == "linear":
                return 1.0 - x if x < 1.0 else 0.0
            a = -0.5
            if x < 1.0:
                return ((a + 2) * x - (a + 3)) * x * x + 1
            if x < 2.0:
                return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
            return 0.0
        for o in range(outsz):
            center = sc * ft(o + 0.5)
            xmin = max(int(center - support + ft(0.5)), 0)
            xsize = min(int(center + support + ft(0.5)), insz) - xmin
            w = [ft(filt(ft((j + xmin - center + ft(0.5)) * invscale))) for j in range(xsize)]
            tot = ft(sum(w))
            if tot != 0:
                w = [ft(v / tot) for v in w]
            res.append((list(range(xmin, xmin + xsize)), [float(v) for v in w]))
        return res
    if mode == "linear":
        for o in range(outsz):
            if outsz == insz:
                res.append(([o], [1.0]))
                continue
            src = sc * ft(o) if align_corners else max(sc * ft(o + 0.5) - ft(0.5), ft(0))
            i0 = min(int(math.floor(src)), insz - 1)
            l1 = min(max(src - ft(i0), ft(0)), ft(1))
            i1 = i0 + (1 if i0 < insz - 1 else 0)
            res.append(([i0, i1], [float(ft(1) - l1), float(l1)]))
        return res
    # cubic (A = -0.75), taps clamped to the input
    A = ft(-0.75)

    def c1(x):
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def c2(x):
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A
    for o in range(outsz):
        src = sc * ft(o) if align_corners else sc * ft(o + 0.5) - ft(0.5)
        i = int(math.floor(src))
        t = ft(src - ft(math.floor(src)))
        w = [c2(t + ft(1)), c1(t), c1(ft(1) - t), c2(ft(2) - t)]
        idx = [min(max(i - 1 + j, 0), insz - 1) for j in range(4)]
        res.append((idx, [float(v) for v in w]))
    return res


def _csr(rows):
    rp = [0]
    ci, w = [], []
    for idx, ws in rows:
        ci += idx
        w += ws
        rp.append(len(ci))
    return rp, ci, w


def _transpose(rows, insz):
    cols = [([], []) for _ in range(insz)]
    for o, (idx, ws) in enumerate(rows):
        for i, wv in zip(idx, ws):
            cols[i][0].append(o)
            cols[i][1].append(wv)
    return cols


def _tables(key, dims, dev, acc):
    """device tables (int32 ti, acc tw, 9 offsets) for dims: [(mode, in, out, align, scale, aa)] x 3, forward and
    backward."""
    t = _TABLES.get(key)
    if t is not None:
        return t
    f32 = acc is not D.float64
    out = []
    for transposed in (False, True):
        ti, tw, offs = [], [], []
        for mode, insz, outsz, al, sc, aa in dims:
            rows = _taps(mode, insz, outsz, al, sc, aa, f32) if (insz, outsz) != (1, 1) or mode == "area" else \
                [([0], [1.0])]
            if transposed:
                rows = _transpose(rows, insz)
            rp, ci, w = _csr(rows)
            offs += [len(ti), len(ti) + len(rp), len(tw)]
            ti += rp + ci
            tw += w
        ti_t = C.tensor(np.asarray(ti, np.int32), device=dev)
        tw_t = C.tensor(np.asarray(tw, np.float64 if acc is D.float64 else np.float32), device=dev)
        out.append((ti_t, tw_t, offs, None))
    # forward tables with a fixed tap count per dim (nearest, linear, cubic): dense (O x T) for resample3_rows
    # (measured 2x torch on bilinear x2 of 32x64x64x64; one work-item per output element was 7x slower: index
    # decomposition and table gathers per element)
    fixed = []
    ti, tw, offs = [], [], []
    for mode, insz, outsz, al, sc, aa in dims:
        rows = _taps(mode, insz, outsz, al, sc, aa, f32) if (insz, outsz) != (1, 1) or mode == "area" else \
            [([0], [1.0])]
        n = {len(r[0]) for r in rows}
        if len(n) != 1:
            fixed = None
            break
        fixed.append(n.pop())
        offs += [len(ti), len(tw)]
        for idx_, ws in rows:
            ti += idx_
            tw += ws
    if fixed is not None and max(fixed) <= 4:
        out[0] = out[0][:3] + ((C.tensor(np.asarray(ti, np.int32), device=dev),
                                C.tensor(np.asarray(tw, np.float64 if acc is D.float64 else np.float32), device=dev),
                                offs, tuple(fixed)),)
    if len(_TABLES) > 256:
        _TABLES.clear()
    _TABLES[key] = out
    return out


def _run(x, out, tab):
    """out (N, C, OD, OH, OW) contiguous <- the taps of x (N, C, D, H, W; any strides)."""
    ti, tw, offs, fixed = tab
    N, Cc, OD, OH, OW = out._shape
    nrows = N * Cc * OD * OH
    if out.numel() == 0:
        return out
    rt = rt_of(x)
    idx, it = idx_type(x._offset + sum((s - 1) * st for s, st in zip(x._shape, x._strides)) + 1, out.numel())
    if fixed is not None:
        fti, ftw, foffs, taps = fixed
        n = nrows
        k = K.get(rt, "resample", "resample3_rows", t=x._dtype, acc=acc_of(x._dtype), idx=idx, td=taps[0],
                  th=taps[1], tw_=taps[2])
        launch(rt, k, n, [x._st.buf, it(x._offset)] + [it(s) for s in x._strides] +
               [out._st.buf, fti._st.buf, ftw._st.buf] + [np.int32(v) for v in foffs] +
               [np.int32(Cc), np.int32(OD), np.int32(OH), np.int32(OW), it(n)])
        return out
    k = K.get(rt, "resample", "resample3", t=x._dtype, acc=acc_of(x._dtype), idx=idx)
    launch(rt, k, nrows, [x._st.buf, it(x._offset)] + [it(s) for s in x._strides] +
           [out._st.buf, ti._st.buf, tw._st.buf] + [np.int32(v) for v in offs] +
           [np.int32(Cc), np.int32(OD), np.int32(OH), np.int32(OW), it(nrows)])
    return out


def resample(x, mode, osize, align_corners, scales, antialias, nd):
    """x (N, C, *spatial) of rank nd -> (N, C, *osize) (mode: nearest | nearest-exact | linear | cubic | area)."""
    x5 = x
    for _ in range(3 - nd):
        x5 = x5.unsqueeze(2)
    isz = x5._shape[2:]
    osz = (1,) * (3 - nd) + tuple(osize)
    sc = (None,) * (3 - nd) + tuple(scales if scales is not None else (None,) * nd)
    acc = acc_of(x._dtype)
    dims = [(mode, isz[i], osz[i], bool(align_corners), sc[i], bool(antialias)) for i in range(3)]
    key = (tuple(dims), acc.name, x._device)
    fwd, bwd = _tables(key, dims, x._device, acc)
    N, Cc = x5._shape[:2]
    out5 = empty_tensor((N, Cc) + osz, x._dtype, x._device)
    _run(x5, out5, fwd)
    sync_if_shared(rt_of(x), x)
    out = out5
    for _ in range(3 - nd):
        out = out.squeeze(2)
    out = out.detach()
    if AG.needs_grad(x):
        xshape = x._shape

        def bw(g):
            g5 = c0(g).reshape((N, Cc) + osz)
            dx = empty_tensor((N, Cc) + tuple(isz), g._dtype, g._device)
            _run(g5, dx, bwd)
            return (dx.reshape(xshape),)
        name = {"nearest": "UpsampleNearest%dDBackward0", "nearest-exact": "UpsampleNearestExact%dDBackward0",
                "cubic": "UpsampleBicubic%dDBackward0", "area": "AdaptiveAvgPool%dDBackward0"}.get(mode)
        if name is None:
            name = ("UpsampleLinear1DBackward0", "UpsampleBilinear2DBackward0", "UpsampleTrilinear3DBackward0")[nd - 1]
            if antialias:
                name = "UpsampleBilinear2DAaBackward0"
        else:
            name = name % nd
            if antialias:
                name = "UpsampleBicubic2DAaBackward0"
        AG.record(name, (x,), out, bw)
    return out


# ------------------------------------------------------------------ F.interpolate

def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                             "bicubic | trilinear")
    else:
        if align_corners is None:
            align_corners = False
    dim = input.dim() - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    elif size is not None:
        scale_factors = None
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got input with spatial "
                    f"dimensions of {list(input.shape[2:])} and output size of {size}. Please provide input tensor in "
                    "(N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.")
            if not all(_is_int(v) for v in size):
                raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                                f"Tuple[int, int, int], but got size with types {[type(v) for v in size]}")
            output_size = list(size)
        else:
            output_size = [size for _ in range(dim)]
    elif scale_factor is not None:
        output_size = None
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, but got input with "
                    f"spatial dimensions of {list(input.shape[2:])} and scale_factor of shape {scale_factor}. Please "
                    "provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) "
                    "format.")
            scale_factors = list(scale_factor)
        else:
            scale_factors = [scale_factor for _ in range(dim)]
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor is not None and recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and output_size is None:
        recompute_scale_factor = True
    if recompute_scale_factor is not None and recompute_scale_factor:
        output_size = [int(math.floor(float(input.shape[i + 2]) * scale_factors[i])) for i in range(dim)]
        scale_factors = None
    if antialias and not (mode in ("bilinear", "bicubic") and input.dim() == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-D "
                         "tensor as input")
    want = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
    if mode in want and input.dim() != want[mode]:
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs {want[mode]}D input")
    if mode not in ("nearest", "nearest-exact", "area", "linear", "bilinear", "bicubic", "trilinear") or \
            input.dim() not in (3, 4, 5):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for "
                                  "the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
                                  f"nearest-exact (got {mode})")
    if mode == "area":
        from . import functional as F
        return (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)[dim - 1](input, output_size)
    if output_size is None:
        output_size = [int(math.floor(float(input.shape[i + 2]) * scale_factors[i])) for i in range(dim)]
    output_size = [int(v) for v in output_size]
    for i in range(dim):
        if input.shape[i + 2] <= 0 or output_size[i] <= 0:
            names = ["D: ", "H: ", "W: "][3 - dim:]
            ins = ", ".join(names[j] + str(input.shape[j + 2]) for j in range(dim))
            outs = ", ".join(names[j] + str(output_size[j]) for j in range(dim))
            raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({ins}) output "
                               f"({outs})")
    dt = input._dtype
    kern = {"nearest": "nearest", "nearest-exact": "nearest-exact", "linear": "linear", "bilinear": "linear",
            "trilinear": "linear", "bicubic": "cubic"}[mode]
    if not (dt.is_floating_point or (dt is D.uint8 and (kern.startswith("nearest") or antialias or
                                                       mode == "bilinear"))):
        names = {"nearest": "compute_indices_weights_nearest", "nearest-exact": "compute_indices_weights_nearest",
                 "linear": "compute_indices_weights_linear", "cubic": "compute_indices_weights_cubic"}
        raise NotImplementedError(f"\"{names[kern]}\" not implemented for '{dt._alias}'")
    return resample(input, kern, output_size, align_corners, scale_factors, antialias, dim)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ------------------------------------------------------------------ pixel / channel shuffles (views + one copy)

def pixel_shuffle(input, upscale_factor):
    r = int(upscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *b, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    oc = c // (r * r)
    nb = len(b)
    x = input.reshape(*b, oc, r, r, h, w)
    perm = list(range(nb)) + [nb, nb + 3, nb + 1, nb + 4, nb + 2]
    return x.permute(*perm).reshape(*b, oc, h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    r = int(downscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *b, c, h, w = input.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, but input.size(-2)={h}"
                           f" is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, but input.size(-1)={w} "
                           f"is not divisible by {r}")
    nb = len(b)
    x = input.reshape(*b, c, h // r, r, w // r, r)
    perm = list(range(nb)) + [nb, nb + 2, nb + 4, nb + 1, nb + 3]
    return x.permute(*perm).reshape(*b, c * r * r, h // r, w // r)


def channel_shuffle(input, groups):
    g = int(groups)
    if input.dim() < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if g <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{g}")
    n, c = input.shape[0], input.shape[1]
    if c % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {g} groups.")
    rest = list(input.shape[2:])
    return input.reshape(n, g, c // g, *rest).transpose(1, 2).reshape(n, c, *rest)
