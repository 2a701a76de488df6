"""Functional forms of 3-d pooling, adaptive max pooling of every rank, adaptive average 3-d, max unpooling,
LP pooling and fractional max pooling (kernels: templates/pool.mako pool3_fwd / pool3_bwd through
cltensor/nn/_pool.py). Re-exported by nn.functional."""
from .. import _dtypes as D
from .. import _creation as C
from . import _pool


def _t(v, n, name="kernel_size"):
    if isinstance(v, (list, tuple)):
        v = tuple(v)
        if len(v) == 1:
            return v * n
        if len(v) != n:
            raise RuntimeError(f"{name} must either be a single int, or a tuple of {n} ints")
        return v
    return (v,) * n


def _to5(t, nd):
    for _ in range(3 - nd):
        t = t.unsqueeze(2)
    return t


def _from5(t, nd):
    for _ in range(3 - nd):
        t = t.squeeze(2)
    return t


def _p3(v, nd, fill):
    return (fill,) * (3 - nd) + tuple(v)


def _dtype_check(x, kernel, ints=False, int64=False, half=True):
    dt = x._dtype
    if (dt.is_floating_point and (half or dt is not D.float16)) or (ints and dt.category == 1) or \
            (int64 and dt is D.int64):
        return
    raise NotImplementedError(f"\"{kernel}\" not implemented for '{dt._alias}'")


def _batch(input, nd, name):
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}: Expected {nd + 1}D or {nd + 2}D tensor, but got {list(input._shape)}")
    unb = input.dim() == nd + 1
    return (input.unsqueeze(0) if unb else input), unb


def _out_size(size, k, p, s, d, ceil_mode):
    num = size + 2 * p - d * (k - 1) - 1 + ((s - 1) if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


# ------------------------------------------------------------------ max / avg 3d

def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    if input.dim() not in (4, 5):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    x, unb = _batch(input, 3, "max_pool3d")
    k = _t(kernel_size, 3)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else _t(stride, 3, "stride")
    p = _t(padding, 3, "padding")
    d = _t(dilation, 3, "dilation")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"kernel size should be greater than zero, but got kT: {k[0]} kH: {k[1]} kW: {k[2]}")
    if any(v <= 0 for v in s):
        raise RuntimeError(f"stride should be greater than zero, but got dT: {s[0]} dH: {s[1]} dW: {s[2]}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"dilation should be greater than zero, got dilationT: {d[0]} dilationH: {d[1]} "
                           f"dilationW: {d[2]}")
    for i in range(3):
        if p[i] > k[i] // 2:
            raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got kT: {k[0]} kW: "
                               f"{k[2]} kH: {k[1]} padT: {p[0]} padW: {p[2]} padH: {p[1]}")
    _dtype_check(x, "max_pool3d", ints=True)
    sp = x._shape[2:]
    o = tuple(_out_size(sp[i], k[i], p[i], s[i], d[i], ceil_mode) for i in range(3))
    if any(v <= 0 for v in o):
        raise RuntimeError(f"Given input size: ({x._shape[1]}x{sp[0]}x{sp[1]}x{sp[2]}). Calculated output size: "
                           f"({x._shape[1]}x{o[0]}x{o[1]}x{o[2]}). Output size is too small")
    out, ind = _pool.pool3(x, "max", k, s, p, d, o)
    if unb:
        out, ind = out.squeeze(0), ind.squeeze(0)
    return (out, ind) if return_indices else out


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    if input.dim() not in (4, 5):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    x, unb = _batch(input, 3, "avg_pool3d")
    k = _t(kernel_size, 3)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else _t(stride, 3, "stride")
    p = _t(padding, 3, "padding")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"kernel size should be greater than zero, but got kT: {k[0]} kH: {k[1]} kW: {k[2]}")
    if any(v <= 0 for v in s):
        raise RuntimeError(f"stride should be greater than zero, but got dT: {s[0]} dH: {s[1]} dW: {s[2]}")
    for i in range(3):
        if p[i] > k[i] // 2:
            raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got kT: {k[0]} kW: "
                               f"{k[2]} kH: {k[1]} padT: {p[0]} padW: {p[2]} padH: {p[1]}")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    _dtype_check(x, "avg_pool3d_out_frame", int64=True, half=False)
    sp = x._shape[2:]
    o = tuple(_out_size(sp[i], k[i], p[i], s[i], 1, ceil_mode) for i in range(3))
    if any(v <= 0 for v in o):
        raise RuntimeError(f"Given input size: ({x._shape[1]}x{sp[0]}x{sp[1]}x{sp[2]}). Calculated output size: "
                           f"({x._shape[1]}x{o[0]}x{o[1]}x{o[2]}). Output size is too small")
    out = _pool.pool3(x, "avg", k, s, p, (1, 1, 1), o, count_include_pad, divisor_override)
    return out.squeeze(0) if unb else out


# ------------------------------------------------------------------ adaptive

def _adaptive_size(output_size, sp, nd, name):
    if isinstance(output_size, (list, tuple)):
        os_ = tuple(output_size)
        if len(os_) == 1:
            os_ = os_ * nd
        if len(os_) != nd:
            raise RuntimeError(f"{name}: internal error: output_size.size() must be {nd}")
    else:
        os_ = (output_size,) * nd
    o = tuple(sp[i] if os_[i] is None else int(os_[i]) for i in range(nd))
    if any(v < 0 for v in o):
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0")
    return o


def _adaptive(input, output_size, nd, mode, name, kname):
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got {list(input._shape)}")
    x, unb = _batch(input, nd, name)
    if any(v == 0 for v in x._shape[2:]):
        raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but input has "
                           f"sizes {list(input._shape)} with dimension {input.dim() - 1} being empty")
    o = _adaptive_size(output_size, x._shape[2:], nd, name)
    _dtype_check(x, kname)
    node = {"amax": f"AdaptiveMaxPool{max(nd, 2)}DBackward0", "aavg": f"AdaptiveAvgPool{max(nd, 2)}DBackward0"}[mode]
    r = _pool.pool3(_to5(x, nd), mode, (1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1), _p3(o, nd, 1), node=node)
    if mode == "amax":
        out, ind = r
        out, ind = _from5(out, nd), _from5(ind, nd)
        if unb:
            out, ind = out.squeeze(0), ind.squeeze(0)
        return out, ind
    r = _from5(r, nd)
    return r.squeeze(0) if unb else r


def adaptive_avg_pool3d(input, output_size):
    return _adaptive(input, output_size, 3, "aavg", "adaptive_avg_pool3d", "adaptive_avg_pool3d_cpu")


def adaptive_max_pool1d(input, output_size, return_indices=False):
    if input.dim() not in (2, 3):
        raise RuntimeError(f"adaptive_max_pool1d() argument 'input' (position 1) must be 2D or 3D, got "
                           f"{input.dim()}D")
    o, i = _adaptive(input, output_size, 1, "amax", "adaptive_max_pool1d", "adaptive_max_pool2d")
    return (o, i) if return_indices else o


def adaptive_max_pool2d(input, output_size, return_indices=False):
    o, i = _adaptive(input, output_size, 2, "amax", "adaptive_max_pool2d", "adaptive_max_pool2d")
    return (o, i) if return_indices else o


def adaptive_max_pool3d(input, output_size, return_indices=False):
    o, i = _adaptive(input, output_size, 3, "amax", "adaptive_max_pool3d", "adaptive_max_pool3d_cpu")
    return (o, i) if return_indices else o


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool3d(input, output_size, True)


# ------------------------------------------------------------------ max unpooling

def _unpool_output_size(input, kernel_size, stride, padding, output_size, nd):
    sp = input._shape[-nd:]
    default = [(sp[i] - 1) * stride[i] + kernel_size[i] - 2 * padding[i] for i in range(nd)]
    if output_size is None:
        return tuple(default)
    output_size = list(output_size)
    if len(output_size) == nd + 2:
        output_size = output_size[2:]
    elif len(output_size) == nd + 1:
        output_size = output_size[1:]
    if len(output_size) != nd:
        raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} elements, but it has a "
                         f"length of '{len(output_size)}'")
    for i in range(nd):
        mn = default[i] - stride[i]
        mx = default[i] + stride[i]
        if not (mn < output_size[i] < mx):
            raise ValueError(f'invalid output_size "{output_size}" (dim {i} must be between {mn} and {mx})')
    return tuple(output_size)


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, nd):
    k = _t(kernel_size, nd)
    s = k if stride is None else _t(stride, nd, "stride")
    p = _t(padding, nd, "padding")
    osz = _unpool_output_size(input, k, s, p, output_size, nd)
    if indices._dtype is not D.int64:
        raise RuntimeError(f"elements in indices should be type int64 but got: {indices._dtype._alias}")
    if tuple(indices._shape) != tuple(input._shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input._shape)}) but got indices tensor with shape: {list(indices._shape)}")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"Input to max_unpooling{nd}d should be a {nd + 1}d or {nd + 2}d Tensor, but got a tensor "
                           f"with {input.dim()} dimensions.")
    if not input._dtype.is_floating_point:
        raise NotImplementedError(f"\"max_unpooling{nd}d_forward_out\" not implemented for '{input._dtype._alias}'")
    unb = input.dim() == nd + 1
    x = input.unsqueeze(0) if unb else input
    ind = indices.unsqueeze(0) if unb else indices
    N, Cc = x._shape[:2]
    P = 1
    for v in osz:
        P *= v
    L = x.numel() // max(N * Cc, 1)
    flat = C.zeros((N, Cc, P), dtype=x._dtype, device=x._device)
    out = flat.scatter(2, ind.reshape(N, Cc, L), x.reshape(N, Cc, L)).reshape((N, Cc) + tuple(osz))
    return out.squeeze(0) if unb else out


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)


# ------------------------------------------------------------------ LP pooling (PyTorch's composition)

def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, nd):
    from . import functional as F
    k = _t(kernel_size, nd)
    kprod = 1
    for v in k:
        kprod *= v
    xp = input.pow(norm_type)
    if nd == 1:
        out = F.avg_pool1d(xp, k[0], stride, 0, ceil_mode)
    elif nd == 2:
        out = F.avg_pool2d(xp, k, stride, 0, ceil_mode)
    else:
        out = avg_pool3d(xp, k, stride, 0, ceil_mode)
    return (out.sign() * F.relu(out.abs())).mul(kprod).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)


# ------------------------------------------------------------------ fractional max pooling

def _fractional(input, kernel_size, output_size, output_ratio, _random_samples, nd):
    name = f"fractional_max_pool{nd}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    k = _t(kernel_size, nd)
    if output_size is None:
        ratio = _t(output_ratio, nd, "output_ratio")
        output_size = [int(input.shape[-nd + i] * ratio[i]) for i in range(nd)]
    o = _t(output_size, nd, "output_size")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input._shape)}")
    _dtype_check(input, name)
    x, unb = _batch(input, nd, name)
    if _random_samples is None:
        _random_samples = C.rand(x.shape[0], x.shape[1], nd, dtype=x._dtype, device=x._device)
    u = _random_samples
    if u.dim() != 3 or tuple(u.shape) != (x.shape[0], x.shape[1], nd):
        raise RuntimeError(f"Expect _random_samples to be of shape ({x.shape[0]}, {x.shape[1]}, {nd}), but got "
                           f"{list(u.shape)}")
    sp = x._shape[2:]
    dims = ("time", "height", "width")[3 - nd:]
    for i in range(nd):
        if o[i] + k[i] - 1 > sp[i]:
            raise RuntimeError(f"{name}_out(): pool {dims[i]} {k[i]} too large relative to input {dims[i]} {sp[i]}")
    # the sample order: (w, h) for 2-d, (t, h, w) for 3-d
    upos = (0, 1, 0) if nd == 2 else (0, 1, 2)      # (d, h, w) positions; 2-d: d unused (one window)
    out, ind = _pool.fractional_max_pool3(_to5(x, nd), u, _p3(k, nd, 1), _p3(o, nd, 1), upos,
                                          f"FractionalMaxPool{nd}DBackward0")
    out, ind = _from5(out, nd), _from5(ind, nd)
    if unb:
        out, ind = out.squeeze(0), ind.squeeze(0)
    return out, ind


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    out, ind = _fractional(input, kernel_size, output_size, output_ratio, _random_samples, 2)
    return (out, ind) if return_indices else out


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    out, ind = _fractional(input, kernel_size, output_size, output_ratio, _random_samples, 3)
    return (out, ind) if return_indices else out


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _fractional(input, kernel_size, output_size, output_ratio, _random_samples, 2)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _fractional(input, kernel_size, output_size, output_ratio, _random_samples, 3)
