"""Conv1d/2d/3d, ConvTranspose1d/2d/3d and their Lazy forms."""
import math

from ... import _creation as C
from ..parameter import Parameter
from .. import functional as F
from .. import init
from .module import Module


def _ntuple(v, n):
    if isinstance(v, (list, tuple)):
        return tuple(v) if len(v) == n else tuple(v) * n if len(v) == 1 else tuple(v)
    return (v,) * n


class _ConvNd(Module):
    def __init__(self, nd, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 padding_mode, device, dtype, transposed=False, output_padding=0):
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        valid = {"same", "valid"}
        if isinstance(padding, str):
            if padding not in valid:
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {valid}")
            if padding == "same" and any(s != 1 for s in _ntuple(stride, nd)):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"padding_mode must be one of ['zeros', 'reflect', 'replicate', 'circular'], but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ntuple(kernel_size, nd)
        self.stride = _ntuple(stride, nd)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, nd)
        self.dilation = _ntuple(dilation, nd)
        self.transposed = transposed
        self.output_padding = _ntuple(output_padding, nd)
        self.groups = groups
        self.padding_mode = padding_mode
        wshape = ((in_channels, out_channels // groups) if transposed else (out_channels, in_channels // groups))
        self.weight = Parameter(C.empty(wshape + self.kernel_size, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(C.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.kernel_size):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)

    def _padded(self, input):
        if self.padding_mode == "zeros":
            return input, self.padding
        nd = len(self.kernel_size)
        if isinstance(self.padding, str):
            pads = []
            for k, d in zip(reversed(self.kernel_size), reversed(self.dilation)):
                if self.padding == "valid":
                    pads += [0, 0]
                else:
                    total = d * (k - 1)
                    pads += [total // 2, total - total // 2]
        else:
            pads = [p for p in reversed(self.padding) for _ in range(2)]
        return F.pad(input, pads, mode=self.padding_mode), (0,) * nd


class Conv2d(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(2, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        x, pad = self._padded(input)
        return F.conv2d(x, weight, bias, self.stride, pad, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(1, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        x, pad = self._padded(input)
        return F.conv1d(x, weight, bias, self.stride, pad, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class Conv3d(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(3, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        x, pad = self._padded(input)
        return F.conv3d(x, weight, bias, self.stride, pad, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class _ConvTransposeNd(_ConvNd):
    _nd = 0

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {self.__class__.__name__}')
        super().__init__(self._nd, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype, transposed=True, output_padding=output_padding)

    def _output_padding(self, input, output_size, stride, padding, kernel_size, num_spatial_dims, dilation=None):
        if output_size is None:
            return _ntuple(self.output_padding, num_spatial_dims)
        from .._convfn import output_padding_for
        return output_padding_for(tuple(input.shape), output_size, stride, padding, kernel_size,
                                  dilation if dilation is not None else (1,) * num_spatial_dims, num_spatial_dims)

    def forward(self, input, output_size=None):
        nd = self._nd
        if input.dim() not in (nd + 1, nd + 2):
            raise ValueError(f"ConvTranspose{nd}D: for {input.dim()}D input, output_size must have {nd} or "
                             f"{nd + 2} elements") if output_size is not None else RuntimeError(
                f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to conv_transpose{nd}d, but got input "
                f"of size: {list(input.shape)}")
        op = self._output_padding(input, output_size, self.stride, self.padding, self.kernel_size, nd,
                                  self.dilation)
        fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]
        return fn(input, self.weight, self.bias, self.stride, self.padding, op, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    _nd = 1


class ConvTranspose2d(_ConvTransposeNd):
    _nd = 2


class ConvTranspose3d(_ConvTransposeNd):
    _nd = 3


# ------------------------------------------------------------------ lazy forms: in_channels from the first input

class _LazyConvMixin:
    cls_to_become = None
    _nd = 0

    def _lazy_init(self, out_channels, kernel_size, bias, device, dtype, transposed):
        self._lazy_dev, self._lazy_dtype = device, dtype
        self.in_channels = 0
        object.__setattr__(self, "_lazy", True)

    def reset_parameters(self):
        if not getattr(self, "_lazy", False) and self.in_channels != 0:
            super().reset_parameters()

    def has_uninitialized_params(self):
        return getattr(self, "_lazy", False)

    def initialize_parameters(self, input, *args, **kwargs):
        if not getattr(self, "_lazy", False):
            return
        nd = self._nd
        if input.dim() not in (nd + 1, nd + 2):
            raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                               f"{self.__class__.__name__}, but got input of size: {tuple(input.shape)}")
        self.in_channels = input.shape[1] if input.dim() == nd + 2 else input.shape[0]
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        wshape = ((self.in_channels, self.out_channels // self.groups) if self.transposed else
                  (self.out_channels, self.in_channels // self.groups))
        dev = self._lazy_dev if self._lazy_dev is not None else input.device
        self.weight = Parameter(C.empty(wshape + self.kernel_size, device=dev, dtype=self._lazy_dtype))
        if self.bias is not None:
            self.bias = Parameter(C.empty(self.out_channels, device=dev, dtype=self._lazy_dtype))
        self._lazy = False
        self.reset_parameters()
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become

    def __call__(self, *args, **kwargs):
        if getattr(self, "_lazy", False):
            self.initialize_parameters(*args, **kwargs)
            if not isinstance(self, _LazyConvMixin):
                return self(*args, **kwargs)      # now the plain module class
        return super().__call__(*args, **kwargs)


def _lazy_conv(name, base, nd):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        object.__setattr__(self, "_lazy", True)
        base.__init__(self, groups, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                      padding_mode, device, dtype)
        self._lazy_init(out_channels, kernel_size, bias, device, dtype, False)
        self.weight = Parameter(C.empty(0, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(C.empty(0, device=device, dtype=dtype))
    return type(name, (_LazyConvMixin, base), {"__init__": __init__, "cls_to_become": base, "_nd": nd})


def _lazy_convt(name, base, nd):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                 dilation=1, padding_mode="zeros", device=None, dtype=None):
        object.__setattr__(self, "_lazy", True)
        base.__init__(self, groups, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
                      dilation, padding_mode, device, dtype)
        self._lazy_init(out_channels, kernel_size, bias, device, dtype, True)
        self.weight = Parameter(C.empty(0, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(C.empty(0, device=device, dtype=dtype))
    return type(name, (_LazyConvMixin, base), {"__init__": __init__, "cls_to_become": base, "_nd": nd})


LazyConv1d = _lazy_conv("LazyConv1d", Conv1d, 1)
LazyConv2d = _lazy_conv("LazyConv2d", Conv2d, 2)
LazyConv3d = _lazy_conv("LazyConv3d", Conv3d, 3)
LazyConvTranspose1d = _lazy_convt("LazyConvTranspose1d", ConvTranspose1d, 1)
LazyConvTranspose2d = _lazy_convt("LazyConvTranspose2d", ConvTranspose2d, 2)
LazyConvTranspose3d = _lazy_convt("LazyConvTranspose3d", ConvTranspose3d, 3)
