"""Functional forms of conv3d, the transposed convolutions, fold / unfold and Tensor.unfold (kernels in
cltensor/nn/_conv.py: the rank-3 im2col / col2im around the GEMM). Re-exported by nn.functional."""
import functools

from .. import _dtypes as D
from .. import _creation as C
from .. import _composite
from ..autograd import _tape as AG
from . import _conv


def complex_parts(nd):
    """Decorator: a convolution of complex input and weight as four real ones on the real and imaginary parts,
    (xr * wr - xi * wi) + i (xr * wi + xi * wr), plus the complex bias (as PyTorch computes it, differentiable)."""
    def deco(fn):
        @functools.wraps(fn)
        def conv(input, weight, bias=None, *args, **kwargs):
            if not (getattr(input, "_dtype", None) is not None and input._dtype.is_complex and
                    getattr(weight, "_dtype", None) is input._dtype):
                return fn(input, weight, bias, *args, **kwargs)
            if bias is not None and bias._dtype is not input._dtype:
                raise RuntimeError(f"Input type ({input._dtype._alias}) and bias type ({bias._dtype._alias}) should "
                                   "be the same")
            xr, xi, wr, wi = input.real, input.imag, weight.real, weight.imag
            re = fn(xr, wr, None, *args, **kwargs) - fn(xi, wi, None, *args, **kwargs)
            im = fn(xr, wi, None, *args, **kwargs) + fn(xi, wr, None, *args, **kwargs)
            out = _composite.complex(re, im)
            if bias is not None:
                out = out + bias.reshape((-1,) + (1,) * nd)
            return out
        return conv
    return deco

_NAMES3 = ("depth", "height", "width")


def _tuple(v, n, name):
    if isinstance(v, (list, tuple)):
        v = tuple(int(x) for x in v)
        if len(v) == 1:
            return v * n
        if len(v) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match the "
                               f"convolution dimensions, but got {name}={list(v)}")
        return v
    return (int(v),) * n


def _to5(t, nd):
    """(N, C, *spatial) of rank nd -> (N, C, D, H, W) view with unit leading spatial dims."""
    for _ in range(3 - nd):
        t = t.unsqueeze(2)
    return t


def _from5(t, nd):
    for _ in range(3 - nd):
        t = t.squeeze(2)
    return t


def _pad3(v, nd, fill):
    return (fill,) * (3 - nd) + tuple(v)


def _tn(t):
    return {"float32": "float", "float64": "double", "float16": "c10::Half"}.get(t._dtype.name, t._dtype.name)


def _checks(name, input, weight, bias, nd, transposed, groups):
    from .functional import _same_device
    if not hasattr(input, "_shape"):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got input "
                           f"of size: {list(input._shape)}")
    if weight.dim() != nd + 2:
        raise RuntimeError("weight should have at least three dimensions")
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    x = input.unsqueeze(0) if input.dim() == nd + 1 else input
    if weight._dtype is not x._dtype:
        raise RuntimeError(f"Input type ({_tn(x)}) and weight type ({_tn(weight)}) should be the same")
    if bias is not None and bias._dtype is not x._dtype:
        raise RuntimeError(f"Input type ({_tn(x)}) and bias type ({_tn(bias)}) should be the same")
    if x._dtype is D.bool_ or x._dtype.is_complex:
        raise NotImplementedError(f'"{name}" not implemented for \'{x._dtype._alias}\'')
    _same_device(x, weight, bias)
    Cin = x._shape[1]
    if transposed:
        if Cin != weight._shape[0]:
            raise RuntimeError(f"Given transposed=1, weight of size {list(weight._shape)}, expected input"
                               f"{list(x._shape)} to have {weight._shape[0]} channels, but got {Cin} channels instead")
        if weight._shape[0] % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                               f"but got weight of size [{list(weight._shape)}] instead")
        cout = weight._shape[1] * groups
    else:
        if weight._shape[0] % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                               f"but got weight of size [{list(weight._shape)}] instead")
        if Cin != weight._shape[1] * groups:
            raise RuntimeError(f"Given groups={groups}, weight of size {list(weight._shape)}, expected input"
                               f"{list(x._shape)} to have {weight._shape[1] * groups} channels, but got {Cin} channels "
                               "instead")
        cout = weight._shape[0]
    if bias is not None and bias._shape != (cout,):
        raise RuntimeError(f"Given weight of size {list(weight._shape)}, expected bias to be 1-dimensional with "
                           f"{cout} elements, but got bias of size {list(bias._shape)} instead")
    return x, input.dim() == nd + 1, groups


def convnd(input, weight, bias, stride, padding, dilation, groups, nd, name):
    """conv1d/2d/3d through the rank-3 kernels (conv3d; the other ranks use it for what their own path lacks)."""
    from .functional import pad as _fpad
    x, unbatched, groups = _checks(name, input, weight, bias, nd, False, groups)
    stride = _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    k = weight._shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads, extra = [], []
            for kk, d in zip(k, dilation):
                total = d * (kk - 1)
                pads.append(total // 2)
                extra.append(total - 2 * (total // 2))
            if any(extra):
                pl = []
                for e in reversed(extra):
                    pl += [0, e]
                x = _fpad(x, pl)
            padding = tuple(pads)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        padding = _tuple(padding, nd, "padding")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    sp = x._shape[2:]
    o = []
    for i in range(nd):
        e = sp[i] + 2 * padding[i] - dilation[i] * (k[i] - 1) - 1
        if e < 0:
            padded = " x ".join(str(sp[j] + 2 * padding[j]) for j in range(nd))
            eff = " x ".join(str(dilation[j] * (k[j] - 1) + 1) for j in range(nd))
            raise RuntimeError(f"Calculated padded input size per channel: ({padded}). Kernel size: ({eff}). Kernel "
                               "size can't be greater than actual input size")
        o.append(e // stride[i] + 1)
    out = _conv.conv3(_to5(x, nd), _to5(weight, nd), bias, _pad3(stride, nd, 1), _pad3(padding, nd, 0),
                      _pad3(dilation, nd, 1), groups, _pad3(o, nd, 1))
    out = _from5(out, nd)
    return out.squeeze(0) if unbatched else out


@complex_parts(3)
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return convnd(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


def _transposed_size(isz, k, s, p, op, d):
    return (isz - 1) * s - 2 * p + d * (k - 1) + op + 1


def output_padding_for(input_sizes, output_size, stride, padding, kernel_size, dilation, nd):
    """ConvTransposeNd's output_size= -> output_padding (PyTorch's _output_padding)."""
    given = output_size
    output_size = list(output_size)
    if len(output_size) == nd + 2:
        output_size = output_size[2:]
    elif len(output_size) == nd + 1 and len(input_sizes) == nd + 1:
        output_size = output_size[1:]
    if len(output_size) != nd:
        raise ValueError(f"ConvTranspose{nd}D: for {len(input_sizes)}D input, output_size must have {nd} or "
                         f"{nd + 2} elements (got {len(output_size)})")
    spatial = input_sizes[-nd:]
    res = []
    for i in range(nd):
        mn = _transposed_size(spatial[i], kernel_size[i], stride[i], padding[i], 0, dilation[i])
        mx = mn + stride[i] - 1
        if not (mn <= output_size[i] <= mx):
            lo = [_transposed_size(spatial[j], kernel_size[j], stride[j], padding[j], 0, dilation[j])
                  for j in range(nd)]
            hi = [v + s - 1 for v, s in zip(lo, stride)]
            raise ValueError(f"requested an output size of {given}, but valid sizes range from {lo} to {hi} "
                             f"(for an input of torch.Size({list(spatial)}))")
        res.append(output_size[i] - mn)
    return tuple(res)


def conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation, nd, name):
    if isinstance(padding, str):
        raise TypeError(f"{name}(): argument 'padding' must be tuple of ints, not str")
    x, unbatched, groups = _checks(name, input, weight, bias, nd, True, groups)
    stride = _tuple(stride, nd, "stride")
    padding = _tuple(padding, nd, "padding")
    output_padding = _tuple(output_padding, nd, "output_padding")
    dilation = _tuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        names = _NAMES3[3 - nd:]
        parts = [f"output_padding_{n}: {v}" for n, v in zip(names, output_padding)]
        parts += [f"stride_{n}: {v}" for n, v in zip(names, stride)]
        parts += [f"dilation_{n}: {v}" for n, v in zip(names, dilation)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got " +
                           " ".join(parts))
    k = weight._shape[2:]
    sp = x._shape[2:]
    osz = [_transposed_size(sp[i], k[i], stride[i], padding[i], output_padding[i], dilation[i]) for i in range(nd)]
    if any(v <= 0 for v in osz):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(str(v) for v in sp)}). Calculated output "
                           f"size per channel: ({' x '.join(str(v) for v in osz)}). Output size is too small")
    out = _conv.conv_transpose3(_to5(x, nd), _to5(weight, nd), bias, _pad3(stride, nd, 1), _pad3(padding, nd, 0),
                                _pad3(dilation, nd, 1), groups, _pad3(osz, nd, 1))
    out = _from5(out, nd)
    return out.squeeze(0) if unbatched else out


@complex_parts(1)
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                            "conv_transpose1d")


@complex_parts(2)
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                            "conv_transpose2d")


@complex_parts(3)
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation, 3,
                            "conv_transpose3d")


# ------------------------------------------------------------------ fold / unfold

def _fold_geo(kernel_size, dilation, padding, stride):
    return (_tuple(kernel_size, 2, "kernel_size"), _tuple(dilation, 2, "dilation"), _tuple(padding, 2, "padding"),
            _tuple(stride, 2, "stride"))


def _im2col_t(x, k, d, p, s, o):
    """(N, C, H, W) any strides -> (N, C*kh*kw, L) (no autograd)."""
    N, Cc = x._shape[:2]
    x5 = x.unsqueeze(2)
    geo = ((1, s[0], s[1]), (0, p[0], p[1]), (1, d[0], d[1]), 1)
    L = o[0] * o[1]
    col = C.empty((Cc * k[0] * k[1], N, L), dtype=x._dtype, device=x._device)
    _conv.im2col3(_conv.rt_of(x), x5, 0, Cc, (1,) + tuple(k), (1,) + tuple(o), geo, col)
    return col.permute(1, 0, 2).contiguous()


def _col2im_t(col, N, Cc, osz, k, d, p, s, o):
    """(N, C*kh*kw, L) -> (N, C, H, W) summing overlaps (no autograd)."""
    cc = col.permute(1, 0, 2).contiguous()       # (C*kh*kw, N, L)
    geo = ((1, s[0], s[1]), (0, p[0], p[1]), (1, d[0], d[1]), 1)
    dx = C.empty((N, Cc, 1, osz[0], osz[1]), dtype=col._dtype, device=col._device)
    _conv.col2im3(_conv.rt_of(col), cc, dx, (1,) + tuple(k), (1,) + tuple(o), geo)
    return dx.squeeze(2)


def _blocks(size, k, d, p, s):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: (N, C, H, W) -> (N, C*kh*kw, L)."""
    if input.dim() not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.dim()}D)")
    k, d, p, s = _fold_geo(kernel_size, dilation, padding, stride)
    unb = input.dim() == 3
    x = input.unsqueeze(0) if unb else input
    if not x._dtype.is_floating_point:
        raise NotImplementedError(f"\"im2col_out_cpu\" not implemented for '{x._dtype._alias}'")
    N, Cc, H, W = x._shape
    o = (_blocks(H, k[0], d[0], p[0], s[0]), _blocks(W, k[1], d[1], p[1], s[1]))
    if o[0] < 1 or o[1] < 1:
        raise RuntimeError(f"Given input with spatial size ({H}, {W}), kernel_size=({k[0]}, {k[1]}), dilation=("
                           f"{d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), calculated shape of the array of sliding "
                           f"blocks as ({o[0]}, {o[1]}), but its components must be at least one.")
    with AG.no_grad():
        out = _im2col_t(x.detach(), k, d, p, s, o)
    if AG.needs_grad(x):
        AG.record("Im2ColBackward0", (x,), out, lambda g: (fold(g, (H, W), k, d, p, s),))
    return out.squeeze(0) if unb else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im: (N, C*kh*kw, L) -> (N, C, H, W), summing overlapping values."""
    if input.dim() not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
                                  f"(got {input.dim()}D)")
    osz = _tuple(output_size, 2, "output_size")
    k, d, p, s = _fold_geo(kernel_size, dilation, padding, stride)
    unb = input.dim() == 2
    x = input.unsqueeze(0) if unb else input
    if not x._dtype.is_floating_point:
        raise NotImplementedError(f"\"col2im_out_cpu\" not implemented for '{x._dtype._alias}'")
    N, CK, L = x._shape
    if CK % (k[0] * k[1]):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
                           f"got input.size(1)={CK} and kernel_size=({k[0]}, {k[1]})")
    o = (_blocks(osz[0], k[0], d[0], p[0], s[0]), _blocks(osz[1], k[1], d[1], p[1], s[1]))
    if o[0] * o[1] != L:
        raise RuntimeError(f"Given output_size=({osz[0]}, {osz[1]}), kernel_size=({k[0]}, {k[1]}), dilation=({d[0]}, "
                           f"{d[1]}), padding=({p[0]}, {p[1]}), stride=({s[0]}, {s[1]}), expected size of input's "
                           f"dimension 2 to match the calculated number of sliding blocks {o[0]} * {o[1]} = "
                           f"{o[0] * o[1]}, but got input.size(2)={L}.")
    Cc = CK // (k[0] * k[1])
    with AG.no_grad():
        out = _col2im_t(x.detach(), N, Cc, osz, k, d, p, s, o)
    if AG.needs_grad(x):
        AG.record("Col2ImBackward0", (x,), out, lambda g: (unfold(g, k, d, p, s),))
    return out.squeeze(0) if unb else out
