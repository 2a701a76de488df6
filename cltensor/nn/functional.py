"""cltensor.nn.functional: PyTorch's functional forms of the layers and losses.

Elementwise activations and pointwise losses are rows of the elementwise op table (registered here with their
backward rules, one kernel per forward); convolution, pooling, normalisation, cross-entropy/NLL and embedding
run their own kernels (nn/_conv.py, _pool.py, _norm.py, _loss.py, _embedding.py with the templates of the same
names).
"""
import math
import warnings

from .. import _dtypes as D
from .. import _ops as O
from .. import _ew
from .. import _linalg
from .. import _softmax
from .. import _creation as C
from ..autograd import _tape as AG
from .._tensor import Tensor, prod, empty_tensor
from . import _conv, _pool, _norm, _loss, _embedding, _convfn
from ._common import as_shape

# ================================================================================================ op rows
# Pointwise ops with scalar parameters travel the elementwise engine; `$T` is the compute C type.


def _op(name, nargs, exprs, backward, node, rule="float", saves=None):
    if name not in O.OPS:
        O.op(name, nargs, rule, exprs if isinstance(exprs, dict) else {"f": exprs}, backward, node, saves=saves)


def _w(cond, a, b):
    return O.where(cond, a, b)


_op("nn_leaky_relu", 2, "(x0 > 0 ? x0 : x0 * x1)",
    lambda g, a, s, o: (_w(a > 0, g, g * s), None), "LeakyReluBackward0", saves="01")
_op("nn_elu", 2, "(x0 > 0 ? x0 : x1 * expm1(x0))",
    lambda g, a, al, o: (_w(a > 0, g, g * (o + al)), None), "EluBackward0", saves="01o")
_op("nn_hardtanh", 3, "(x0 < x1 ? x1 : (x0 > x2 ? x2 : x0))",     # (NaN and -0.0 pass through, as torch)
    lambda g, a, lo, hi, o: (_w((a > lo) & (a < hi), g, 0.0), None, None), "HardtanhBackward0", saves="012")
_op("nn_softplus", 3, "(x0 * x1 > x2 ? x0 : log1p(exp(x0 * x1)) / x1)",
    lambda g, a, beta, th, o: (_w(a * beta > th, g, g * (a * beta).sigmoid()), None, None), "SoftplusBackward0",
    saves="012")
_op("nn_logsigmoid", 1, "(fmin(x0, ($T)0) - log1p(exp(-fabs(x0))))",
    lambda g, a, o: (g * (-a).sigmoid(),), "LogSigmoidBackward0", saves="0")
_op("nn_gelu_tanh_grad", 2,
    "(x0 * (($T)0.5 * (1 + py_tanh(($T)0.7978845608028654 * (x1 + ($T)0.044715 * x1 * x1 * x1))) + ($T)0.5 * x1 * "
    "(1 - py_tanh(($T)0.7978845608028654 * (x1 + ($T)0.044715 * x1 * x1 * x1)) * py_tanh(($T)0.7978845608028654 * "
    "(x1 + ($T)0.044715 * x1 * x1 * x1))) * ($T)0.7978845608028654 * (1 + ($T)0.134145 * x1 * x1)))",
    lambda g, gg, x, o: (O.apply("nn_gelu_tanh_grad", g, x), g * gg * _gelu_tanh_grad2(x)),  # (autograd)
    "GeluBackwardBackward0", saves="01")
_op("nn_gelu_tanh", 1,
    "(($T)0.5 * x0 * (1 + py_tanh(($T)0.7978845608028654 * (x0 + ($T)0.044715 * x0 * x0 * x0))))",
    lambda g, a, o: (O.apply("nn_gelu_tanh_grad", g, a),), "GeluBackward0", saves="0")
# torch's hardsigmoid gradient multiplies by 1/6 rounded to float32 (in every dtype); hardswish's gradient is
# g at x >= 3 and NaN at NaN (torch's vectorised kernel, the one tensors of more than a few elements take)
_SIXTH = 0.1666666716337204     # float32(1) / float32(6)
_op("nn_hardsigmoid", 1, "((x0 + 3 < 0 ? ($T)0 : (x0 + 3 > 6 ? ($T)6 : x0 + 3)) / 6)",
    lambda g, a, o: (_w((a > -3.0) & (a < 3.0), g * _SIXTH, 0.0),), "HardsigmoidBackward0", saves="0")
_op("nn_hardswish", 1, "(x0 * fmin(fmax(x0 + 3, ($T)0), ($T)6) / 6)",
    lambda g, a, o: (_w(a < -3.0, 0.0, _w(a >= 3.0, g, g * (a / 3.0 + 0.5))),), "HardswishBackward0", saves="0")
_op("nn_mish", 1, "(x0 * py_tanh(x0 > 20 ? x0 : log1p(exp(x0))))",
    lambda g, a, o: (g * _mish_grad(a),), "MishBackward0", saves="0")
_op("nn_relu_grad", 2, {"f": "(x1 <= 0 ? ($T)0 : x0)"},
    lambda g, gg, r, o: (O.apply("nn_relu_grad", g, r), None), "ThresholdBackwardBackward0", saves="1")  # (autograd)
_op("nn_relu", 1, {"i": "(x0 > 0 ? x0 : 0)", "f": "(x0 < 0 ? 0 : x0)"},       # branch-free: see _ops.py relu
    lambda g, a, o: (O.apply("nn_relu_grad", g, o),), "ReluBackward0", rule="same", saves="o")
# pointwise losses: l = f(x0 - x1[, x2]) and a fused gradient kernel g * s * f'(x1 - x2[, x3]) (scale s in x3/x4)
_op("nn_sqdiff", 2, "((x0 - x1) * (x0 - x1))", None, "MseLossBackward0")
_op("nn_sqdiff_grad", 4, "(x3 * x0 * (x1 - x2))",
    lambda g, gg, a, b, s, o: (g * s * (a - b), g * s * gg, -(g * s * gg), None),  # (autograd: double backward)
    "MseLossBackwardBackward0", saves="0123")
_op("nn_absdiff", 2, "fabs(x0 - x1)", None, "L1LossBackward0")
_op("nn_absdiff_grad", 4, "(x3 * x0 * py_sign(x1 - x2))",
    lambda g, gg, a, b, s, o: (g * s * (a - b).sign(), g * 0, g * 0, None), "L1LossBackwardBackward0",
    saves="123")  # (autograd)
_op("nn_smooth_l1", 3, "(fabs(x0 - x1) < x2 ? ($T)0.5 * (x0 - x1) * (x0 - x1) / x2 : fabs(x0 - x1) - ($T)0.5 * x2)",
    None, "SmoothL1LossBackward0")
_op("nn_smooth_l1_grad", 5, "(x3 * x0 * (fabs(x1 - x2) < x4 ? (x1 - x2) / x4 : py_sign(x1 - x2)))",
    lambda g, gg, a, b, s, be, o: _loss_grad2(g, gg, a, b, s, _w((a - b).abs() < be, (a - b) / be, (a - b).sign()),
                                               _w((a - b).abs() < be, g * s * gg / be, 0.0)),  # (autograd)
    "SmoothL1LossBackwardBackward0", saves="01234")
_op("nn_huber", 3, "(fabs(x0 - x1) <= x2 ? ($T)0.5 * (x0 - x1) * (x0 - x1) : x2 * (fabs(x0 - x1) - ($T)0.5 * x2))",
    None, "HuberLossBackward0")
_op("nn_huber_grad", 5, "(x3 * x0 * (fabs(x1 - x2) <= x4 ? (x1 - x2) : x4 * py_sign(x1 - x2)))",
    lambda g, gg, a, b, s, d, o: _loss_grad2(g, gg, a, b, s, _w((a - b).abs() <= d, a - b, (a - b).sign() * d),
                                              _w((a - b).abs() <= d, g * s * gg, 0.0)),  # (autograd)
    "HuberLossBackwardBackward0", saves="01234")
_op("nn_bce", 2, "(-(x1 * fmax(log(x0), ($T)-100) + (1 - x1) * fmax(log(1 - x0), ($T)-100)))",
    lambda g, x, y, o: (g * (x - y) / ((1 - x) * x).clamp(min=1e-12),
                        g * ((1 - x).log().clamp(min=-100) - x.log().clamp(min=-100))
                        if isinstance(y, Tensor) and y.requires_grad else None), "BinaryCrossEntropyBackward0",
    saves="01")
_op("nn_bce_logits", 2, "((1 - x1) * x0 + log1p(exp(-fabs(x0))) + fmax(-x0, ($T)0))",
    lambda g, x, y, o: (g * (x.sigmoid() - y),
                        -g * x if isinstance(y, Tensor) and y.requires_grad else None),
    "BinaryCrossEntropyWithLogitsBackward0", saves="01")
_op("nn_bce_logits_pw", 3,
    "((1 - x1) * x0 + (1 + (x2 - 1) * x1) * (log1p(exp(-fabs(x0))) + fmax(-x0, ($T)0)))",
    lambda g, x, y, pw, o: (g * ((pw * y + 1 - y) * x.sigmoid() - pw * y),
                            g * ((pw - 1) * _nls(x) - x) if isinstance(y, Tensor) and y.requires_grad else None,
                            None), "BinaryCrossEntropyWithLogitsBackward0", saves="012")
_op("nn_kl", 2, "((x1 == 0 ? ($T)0 : x1 * log(x1)) - x1 * x0)",     # xlogy(t, t) - t * x, as PyTorch
    lambda g, x, y, o: (-g * y, None), "KlDivBackward0", saves="1")
_op("nn_kl_log", 2, "(exp(x1) * (x1 - x0))",
    lambda g, x, y, o: (-g * y.exp(), None), "KlDivBackward0", saves="1")


def _loss_grad2(g, gg, a, b, s, dfd, ga):   # (autograd) backward of the fused loss-gradient rows
    return (g * s * dfd, ga, -ga, None, None)


def _gelu_tanh_grad2(x):   # (autograd) d/dx of the tanh-gelu derivative
    k, c = 0.7978845608028654, 0.044715
    t = (k * (x + c * x * x * x)).tanh()
    du = k * (1 + 3 * c * x * x)
    return (1 - t * t) * (du - x * t * du * du + 3 * k * c * x * x)


def _nls(x):   # -logsigmoid(x) = softplus(-x)
    return O.apply("nn_logsigmoid", x).neg()


def _mish_grad(a):
    sp = O.apply("nn_softplus", a, 1.0, 20.0)
    tsp = sp.tanh()
    return tsp + a * a.sigmoid() * (1 - tsp * tsp)


def _pair(ga, a, b):
    return (ga, -ga if isinstance(b, Tensor) and b.requires_grad else None)


# ================================================================================================ helpers

def _pair_arg(v, n=2, name="argument"):
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            return tuple(int(v[0]) for _ in range(n))
        if len(v) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match the "
                               "convolution dimensions, but got " f"{name}={list(v)}")
        return tuple(int(x) for x in v)
    return (int(v),) * n


def _check_tensor(x, name, fn):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position 1) must be Tensor, not {type(x).__name__}")


def _reduction_enum(size_average, reduce, reduction):
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    if reduce:
        return "sum"
    return "none"


def _apply_reduction(l, reduction):
    if reduction == "none":
        return l
    if reduction == "mean":
        return l.mean()
    if reduction == "sum":
        return l.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_reduction(reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _size_str(s):
    return f"cltensor.Size([{', '.join(str(v) for v in s)}])"


def _same_dtype(x, w, what="weight"):
    if w is not None and w._dtype is not x._dtype:
        raise RuntimeError(f"expected scalar type {x._dtype._alias} but found {w._dtype._alias}")


def _dtype_check(x, kernel, ints=False, int64=False):
    """PyTorch's refusal of x's dtype by the kernel named `kernel`: floating dtypes pass, integer ones (not bool)
    when ints, int64 alone when int64."""
    dt = x._dtype
    if dt.is_floating_point or (ints and dt.category == 1) or (int64 and dt is D.int64):
        return
    raise NotImplementedError(f"\"{kernel}\" not implemented for '{dt._alias}'")


def _same_device(*ts):
    dev = None
    for t in ts:
        if t is None:
            continue
        if dev is None:
            dev = t._device
        elif t._device != dev:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                               f"{dev} and {t._device}!")


# ================================================================================================ activations

def _clamp_check(input, fn):
    """PyTorch's refusals of relu / hardtanh (clamps) for bool and complex tensors."""
    if input._dtype is D.bool_:
        raise RuntimeError(f"Boolean inputs not supported for {fn}" if fn == "relu" else
                           f"Bool inputs not supported for {fn}")
    if input._dtype.is_complex:
        raise NotImplementedError("clamp is not supported for complex types")


def relu(input, inplace=False):
    if input._dtype.category != 1 and not input._dtype.is_floating_point:
        _clamp_check(input, "relu")
    if inplace:
        return relu_(input)
    return O.apply("nn_relu", input)


def relu_(input):
    """In place; the backward reads the output only (no copy of the old value is kept)."""
    _clamp_check(input, "relu")
    grad = AG.needs_grad(input)
    if grad:
        O.check_inplace(input)
        edge = O._snapshot_edge(input)
    dt = input._dtype
    _ew.run(O.OPS["nn_relu"].expr_for(dt), input, [input], (dt,), dt)
    input._st.version += 1
    if grad:
        res = input.detach()
        AG.record("ReluBackward0", (edge,), input, lambda g: (O.apply("nn_relu_grad", g, res),), saved=(res,))
    return input


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    _dtype_check(input, "leaky_relu_cpu")
    if inplace:
        return O.apply_("nn_leaky_relu", input, float(negative_slope))
    return O.apply("nn_leaky_relu", input, float(negative_slope))


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, True)


def elu(input, alpha=1.0, inplace=False):
    _dtype_check(input, "elu_cpu")
    if inplace:
        return O.apply_("nn_elu", input, float(alpha))
    return O.apply("nn_elu", input, float(alpha))


def selu(input, inplace=False):
    _dtype_check(input, "elu_cpu")
    scale, alpha = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
    return elu(input, alpha, inplace).mul_(scale) if inplace else elu(input, alpha) * scale


def celu(input, alpha=1.0, inplace=False):
    _dtype_check(input, "elu_cpu")
    return elu(input / alpha, 1.0) * alpha if not inplace else input.copy_(elu(input / alpha, 1.0) * alpha)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    dt = input._dtype
    _clamp_check(input, "hardtanh")
    if dt.category == 1:            # integers stay integers, clamped to the limits truncated as PyTorch does
        if dt is D.uint8 and (min_val < 0 or max_val < 0):
            raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")
        return input.clamp_(int(min_val), int(max_val)) if inplace else input.clamp(int(min_val), int(max_val))
    if inplace:
        return O.apply_("nn_hardtanh", input, float(min_val), float(max_val))
    return O.apply("nn_hardtanh", input, float(min_val), float(max_val))


def hardsigmoid(input, inplace=False):
    _dtype_check(input, "hardsigmoid_cpu")
    return O.apply_("nn_hardsigmoid", input) if inplace else O.apply("nn_hardsigmoid", input)


def hardswish(input, inplace=False):
    _dtype_check(input, "hardswish_cpu")
    return O.apply_("nn_hardswish", input) if inplace else O.apply("nn_hardswish", input)


def mish(input, inplace=False):
    _dtype_check(input, "mish_cpu")
    return O.apply_("nn_mish", input) if inplace else O.apply("nn_mish", input)


def gelu(input, approximate="none"):
    _dtype_check(input, "GeluKernelImpl")
    if approximate == "none":
        return O.apply("gelu", input)
    if approximate == "tanh":
        return O.apply("nn_gelu_tanh", input)
    raise RuntimeError("approximate argument must be either none or tanh.")


def silu(input, inplace=False):
    if input._dtype.category < 2:
        _dtype_check(input, "silu_cpu")
    if input._dtype.is_complex:     # (composed: x * sigmoid(x))
        return input.mul_(input.sigmoid()) if inplace else input * input.sigmoid()
    return O.apply_("silu", input) if inplace else O.apply("silu", input)


def sigmoid(input):
    return O.apply("sigmoid", input)


def tanh(input):
    return O.apply("tanh", input)


def softplus(input, beta=1.0, threshold=20.0):
    _dtype_check(input, "softplus_cpu")
    return O.apply("nn_softplus", input, float(beta), float(threshold))


def logsigmoid(input):
    _dtype_check(input, "log_sigmoid_cpu")
    return O.apply("nn_logsigmoid", input)


def softsign(input):
    return input / (input.abs() + 1)


def tanhshrink(input):
    return input - input.tanh()


def threshold(input, threshold, value, inplace=False):
    _dtype_check(input, "threshold_cpu", ints=True)
    if input._dtype.category == 1:
        value = int(value)          # integers stay integers (PyTorch truncates the replacement value)
    r = O.where(input > threshold, input, value)
    return input.copy_(r) if inplace else r


def _softmax_dim(ndim):
    warnings.warn("Implicit dimension choice for softmax has been deprecated. Change the call to include dim=X "
                  "as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim(input.dim())
    if dtype is not None:
        input = input.to(dtype)
    return _softmax.softmax(input, dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim(input.dim())
    if dtype is not None:
        input = input.to(dtype)
    return _softmax.log_softmax(input, dim)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return softmax(-input, dim, dtype=dtype)


def glu(input, dim=-1):
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    if -input.dim() <= dim < input.dim() and input._shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.dim()} is size "
                           f"{input._shape[dim]}")
    _dtype_check(input, "glu_cpu")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def elu_(input, alpha=1.0):
    return elu(input, alpha, True)


def selu_(input):
    return selu(input, True)


def celu_(input, alpha=1.0):
    return celu(input, alpha, True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, True)


def threshold_(input, threshold, value):
    return globals()["threshold"](input, threshold, value, True)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU: in training a slope drawn uniformly from [lower, upper] per negative element,
    otherwise the fixed slope (lower + upper) / 2."""
    _dtype_check(input, "rrelu_with_noise_out_cpu" if training else "leaky_relu_cpu")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    slope = C._random_fill(empty_tensor(tuple(input._shape), input._dtype, input._device), "uniform",
                           float(lower), float(upper))
    r = input * O.where(input >= 0, 1.0, slope)
    return input.copy_(r) if inplace else r


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, True)


def prelu(input, weight):
    _dtype_check(input, "prelu_cpu")
    w = weight
    if weight.numel() != 1 and input.dim() >= 2:
        Cc = input._shape[1]
        if weight.numel() != Cc:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{weight.numel()} and channel size = {Cc}.")
        w = weight.reshape((Cc,) + (1,) * (input.dim() - 2))
    elif weight.numel() == 1:
        w = weight.reshape(())
    return O.where(input > 0, input, w * input)


def hardshrink(input, lambd=0.5):
    _dtype_check(input, "hardshrink_cpu")
    return O.where((input >= -lambd) & (input <= lambd), 0.0, input)


def softshrink(input, lambd=0.5):
    _dtype_check(input, "softshrink_check")
    if lambd < 0:
        raise RuntimeError(f"lambda must be in range [0, {D.finfo(input._dtype).max:g}] for input dtype "
                           f"{input._dtype._alias}, but found {lambd:g}")
    # (x * 0 in the middle band keeps NaN as NaN, as PyTorch)
    return O.where(input > lambd, input - lambd, O.where(input < -lambd, input + lambd, input * 0.0))


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    if not logits._dtype.is_floating_point:
        raise RuntimeError("Exponential distribution is a continuous probability distribution. dtype must be a "
                           f"floating point but you specified {logits._dtype._alias}")
    u = C._random_fill(empty_tensor(tuple(logits._shape), logits._dtype, logits._device), "uniform")
    gumbels = -(-(1.0 - u).log()).log()             # -log(Exp(1)) samples
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = C.zeros(tuple(logits._shape), dtype=logits._dtype, device=logits._device).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    if out is None:
        return input / denom
    return out.copy_(input / denom)


# ================================================================================================ linear / dropout

def linear(input, weight, bias=None):
    """y = input @ weight^T + bias: one GEMM forward; backward two GEMMs and a column sum. The graph has
    PyTorch's nodes: AddmmBackward0 (bias, input, TBackward0(weight)) or MmBackward0 (input, TBackward0(weight)),
    with the input's view to 2-D and the output's view back for other ranks."""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError("linear(): argument 'input' and 'weight' must be Tensors")
    if weight.dim() != 2 or input.dim() == 0 or (bias is not None and bias.dim() > 1):
        out = _linalg.matmul(input, weight.t())
        return out + bias if bias is not None else out
    in_f = input._shape[-1]
    lead = tuple(input._shape[:-1])
    need = AG.needs_grad(input, weight, bias)
    with AG.no_grad():
        x2 = input.reshape(-1, in_f) if input.dim() != 2 else input
        wt = weight.t()
        _linalg._check_pair(x2, wt, "linear")
        beta = 0 if bias is None else 1
        # while cltensor.compile traces (no gradient): a graph node, maybe fused with the activation after it
        y2 = None if need else _linalg._traced(bias, x2, wt, beta, 1)
        if y2 is None:
            y2 = _linalg._add_product(bias, x2, wt, beta, 1, "AddmmBackward0")
    out = as_shape(y2, lead + (weight._shape[0],)) if input.dim() != 2 else y2
    if need:
        need_x, need_w = input.requires_grad, weight.requires_grad
        need_b = bias is not None and bias.requires_grad
        if need_w:
            AG.record("TBackward0", (weight,), wt, lambda g: (g.t(),))
        if need_x and input.dim() != 2:
            AG.record("UnsqueezeBackward0" if input.dim() == 1 and bias is None else "ViewBackward0", (input,), x2,
                      lambda g: (g.reshape(input._shape),))

        def bw(g):
            gx = _linalg.mm(g, weight) if need_x else None
            gw = _linalg.mm(g.t(), x2).t() if need_w else None     # weight's TBackward0 turns it back (contiguous)
            gb = g.sum(0) if need_b else None
            if gb is not None and bias.dim() == 0:
                gb = gb.sum()
            return (gb, gx, gw) if bias is not None else (gx, gw)
        AG.record("AddmmBackward0" if bias is not None else "MmBackward0",
                  (bias, x2, wt) if bias is not None else (x2, wt), y2, bw, saved=(input, weight))
        if out is not y2:
            name = "ViewBackward0" if bias is not None else ("SqueezeBackward4" if input.dim() == 1 else
                                                             "UnsafeViewBackward0")
            AG.record(name, (y2,), out, lambda g: (g.reshape(y2._shape),))
    return out


def bilinear(input1, input2, weight, bias=None):
    y = _linalg.einsum("...i,oij,...j->...o", input1, weight, input2)
    return y + bias if bias is not None else y


def _dropout_check(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _bernoulli_mask(shape, keep, x, scale=1.0):
    """scale where a draw keeps (probability keep), else 0: dropout's mask with its 1 / keep in one launch."""
    m = empty_tensor(tuple(shape), x._dtype, x._device)
    if x._dtype.is_complex:       # (the fill's bernoulli draws real values only)
        C._random_fill(m, "bernoulli", float(keep))
        if scale != 1.0:
            with AG.no_grad():
                m.mul_(scale)
        return m
    return C._random_fill(m, "bernoulli", float(keep), float(scale))


def dropout(input, p=0.5, training=True, inplace=False):
    _dropout_check(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input.mul_(0.0) if inplace else input * 0.0
    mask = _bernoulli_mask(input._shape, 1.0 - p, input, 1.0 / (1.0 - p))
    return input.mul_(mask) if inplace else input * mask


def _feature_dropout(input, p, training, inplace, nfeat_dims):
    _dropout_check(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input.mul_(0.0) if inplace else input * 0.0
    batched = input.dim() == nfeat_dims + 2
    shape = list(input._shape[:2 if batched else 1]) + [1] * nfeat_dims
    mask = _bernoulli_mask(shape, 1.0 - p, input, 1.0 / (1.0 - p))
    return input.mul_(mask) if inplace else input * mask


def dropout1d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 1)


def dropout2d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 2)


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 3)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    _dropout_check(p)
    if not training or p == 0.0:
        return input
    alpha = -1.7580993408473766
    keep = 1 - p
    a = (keep + alpha * alpha * keep * p) ** -0.5
    b = -a * alpha * p
    mask = _bernoulli_mask(input._shape, keep, input)
    return (input * mask + alpha * (1 - mask)) * a + b


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """alpha dropout of whole channels: one mask value per (sample, channel)."""
    _dropout_check(p)
    if not training or p == 0.0:
        return input
    if input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    alpha = -1.7580993408473766
    keep = 1 - p
    a = (keep + alpha * alpha * keep * p) ** -0.5
    b = -a * alpha * p
    mask = _bernoulli_mask(tuple(input._shape[:2]) + (1,) * (input.dim() - 2), keep, input)
    r = (input * mask + alpha * (1 - mask)) * a + b
    return input.copy_(r) if inplace else r


# ================================================================================================ convolution

def _conv_padding(padding, k, stride, dilation, nd):
    """-> (symmetric padding tuple, extra (left, right) pad per dim or None)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * nd, None
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            sym, extra = [], []
            need = False
            for kk, d in zip(k, dilation):
                total = d * (kk - 1)
                left = total // 2
                sym.append(left)
                extra.append(total - 2 * left)
                need = need or total % 2 == 1
            return tuple(sym), (tuple(extra) if need else None)
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    return _pair_arg(padding, nd, "padding"), None


@_convfn.complex_parts(2)
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    _check_tensor(input, "input", "conv2d")
    if input.dim() not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: "
                           f"{list(input._shape)}")
    if weight.dim() != 4:
        raise RuntimeError("weight should have at least three dimensions")
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    stride = _pair_arg(stride, 2, "stride")
    dilation = _pair_arg(dilation, 2, "dilation")
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    k = weight._shape[2:]
    pads, extra = _conv_padding(padding, k, stride, dilation, 2)
    if any(p < 0 for p in pads):
        raise RuntimeError("negative padding is not supported")
    O_, Cg = weight._shape[0], weight._shape[1]
    N, Cin, H, W = x._shape
    if Cin != Cg * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight._shape)}, expected input"
                           f"{list(x._shape)} to have {Cg * groups} channels, but got {Cin} channels instead")
    if O_ % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size [{list(weight._shape)}] instead")
    if bias is not None:
        if bias._dtype is not x._dtype:
            raise RuntimeError(f"Input type ({_ctn(x)}) and bias type ({_ctn(bias)}) should be the same")
        if bias._shape != (O_,):
            raise RuntimeError(f"Given weight of size {list(weight._shape)}, expected bias to be 1-dimensional with "
                               f"{O_} elements, but got bias of size {list(bias._shape)} instead")
    if weight._dtype is not x._dtype:
        raise RuntimeError(f"expected scalar type {x._dtype._alias} but found {weight._dtype._alias}")
    if x._dtype.category <= 1 and x._dtype is not D.int64 and tuple(dilation) != (1, 1):
        raise NotImplementedError(f'"slow_conv_dilated<>" not implemented for \'{x._dtype._alias}\'')
    if x._dtype is D.bool_ or x._dtype.is_complex:
        raise NotImplementedError(f'"slow_conv2d_cpu" not implemented for \'{x._dtype._alias}\'')
    _same_device(x, weight, bias)
    if extra is not None:
        x = pad(x, (0, extra[1], 0, extra[0]))
        H, W = x._shape[2], x._shape[3]
    eh = (H + 2 * pads[0] - dilation[0] * (k[0] - 1) - 1)
    ew = (W + 2 * pads[1] - dilation[1] * (k[1] - 1) - 1)
    if eh < 0 or ew < 0:
        raise RuntimeError(f"Calculated padded input size per channel: ({H + 2 * pads[0]} x {W + 2 * pads[1]}). "
                           f"Kernel size: ({dilation[0] * (k[0] - 1) + 1} x {dilation[1] * (k[1] - 1) + 1}). Kernel "
                           "size can't be greater than actual input size")
    out = _conv.conv2d(x, weight, bias, stride, pads, dilation, groups)
    return out.squeeze(0) if unbatched else out


def _ctn(t):
    return {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16"}.get(t._dtype.name, t._dtype.name)


@_convfn.complex_parts(1)
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: "
                           f"{list(input._shape)}")
    if weight.dim() != 3:
        raise RuntimeError("weight should have three dimensions for conv1d")
    ishape = list(input._shape) if input.dim() == 3 else [1] + list(input._shape)
    if weight._shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size [{list(weight._shape)}] instead")
    if ishape[1] != weight._shape[1] * groups:      # PyTorch's message names the 3-D shapes
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight._shape)}, expected input{ishape} to "
                           f"have {weight._shape[1] * groups} channels, but got {ishape[1]} channels instead")
    s = _pair_arg(stride, 1, "stride")[0]
    d = _pair_arg(dilation, 1, "dilation")[0]
    if isinstance(padding, str):
        p = padding
    else:
        p = (0, _pair_arg(padding, 1, "padding")[0])
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(2), bias, (1, s), p, (1, d), groups)
    return out.squeeze(-2)


# ================================================================================================ pooling

def _pool_out(size, k, p, s, d, ceil_mode):
    num = size + 2 * p - d * (k - 1) - 1 + ((s - 1) if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_prep(input, name, kernel_size, stride, padding, dilation):
    if input.dim() not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    k = _pair_arg(kernel_size, 2, "kernel_size")
    s = k if (stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0)) else \
        _pair_arg(stride, 2, "stride")
    p = _pair_arg(padding, 2, "padding")
    d = _pair_arg(dilation, 2, "dilation")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {k[0]} kW: {k[1]}")
    if any(v <= 0 for v in s):
        raise RuntimeError(f"stride should be greater than zero, but got dH: {s[0]} dW: {s[1]}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {d[0]} dilationW: {d[1]}")
    return x, unbatched, k, s, p, d


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    x, unbatched, k, s, p, d = _pool_prep(input, "max_pool2d", kernel_size, stride, padding, dilation)
    for i in range(2):
        if p[i] > (d[i] * (k[i] - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p[i]}, "
                               f"kernel_size={k[i]} and dilation={d[i]}")
    _dtype_check(x, "max_pool2d", ints=True)
    N, Cc, H, W = x._shape
    OH, OW = _pool_out(H, k[0], p[0], s[0], d[0], ceil_mode), _pool_out(W, k[1], p[1], s[1], d[1], ceil_mode)
    if OH <= 0 or OW <= 0:
        raise RuntimeError(f"Given input size: ({Cc}x{H}x{W}). Calculated output size: ({Cc}x{OH}x{OW}). Output "
                           "size is too small")
    r = _pool.max_pool2d(x, k, s, p, d, OH, OW, return_indices)
    if return_indices:
        o, i = r
        return (o.squeeze(0), i.squeeze(0)) if unbatched else (o, i)
    return r.squeeze(0) if unbatched else r


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    if input.dim() not in (2, 3):
        raise RuntimeError("max_pool1d() Expected 2D or 3D input tensor")
    if not return_indices:
        _dtype_check(input, "max_pool1d_impl")
    k = _pair_arg(kernel_size, 1)[0]
    s = k if stride is None else _pair_arg(stride, 1)[0]
    r = max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _pair_arg(padding, 1)[0]), (1, _pair_arg(dilation, 1)[0]),
                   ceil_mode, return_indices)
    if return_indices:
        return r[0].squeeze(-2), r[1].squeeze(-2)
    return r.squeeze(-2)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    x, unbatched, k, s, p, _ = _pool_prep(input, "avg_pool2d", kernel_size, stride, padding, 1)
    for i in range(2):
        if p[i] > k[i] // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p[i]}, "
                               f"kernel_size={k[i]} and dilation=1")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    _dtype_check(x, "avg_pool2d", int64=True)
    N, Cc, H, W = x._shape
    OH, OW = _pool_out(H, k[0], p[0], s[0], 1, ceil_mode), _pool_out(W, k[1], p[1], s[1], 1, ceil_mode)
    if OH <= 0 or OW <= 0:
        raise RuntimeError(f"Given input size: ({Cc}x{H}x{W}). Calculated output size: ({Cc}x{OH}x{OW}). Output "
                           "size is too small")
    r = _pool.avg_pool2d(x, k, s, p, OH, OW, count_include_pad, divisor_override)
    return r.squeeze(0) if unbatched else r


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    k = _pair_arg(kernel_size, 1)[0]
    s = k if stride is None else _pair_arg(stride, 1)[0]
    r = avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _pair_arg(padding, 1)[0]), ceil_mode, count_include_pad)
    return r.squeeze(-2)


def adaptive_avg_pool2d(input, output_size):
    if input.dim() not in (3, 4):
        raise RuntimeError("adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got " f"{list(input._shape)}")
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    if isinstance(output_size, (list, tuple)):
        os_ = tuple(output_size)
        if len(os_) == 1:
            os_ = os_ * 2
    else:
        os_ = (output_size, output_size)
    OH = x._shape[2] if os_[0] is None else int(os_[0])
    OW = x._shape[3] if os_[1] is None else int(os_[1])
    if OH < 0 or OW < 0:
        raise RuntimeError("adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0")
    if x._shape[2] == 0 or x._shape[3] == 0:
        raise RuntimeError("adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions")
    _dtype_check(x, "adaptive_avg_pool2d")
    r = _pool.adaptive_avg_pool2d(x, OH, OW)
    return r.squeeze(0) if unbatched else r


def adaptive_avg_pool1d(input, output_size):
    o = output_size[0] if isinstance(output_size, (list, tuple)) else output_size
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, o)).squeeze(-2)


# ================================================================================================ normalisation

def _verify_batch_size(size):
    n = size[0]
    for s in size[2:]:
        n *= s
    if n == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {_size_str(size)}")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-05):
    if input.dim() < 2:
        raise ValueError(f"expected 2D or 3D input (got {input.dim()}D input)")
    if training:
        _verify_batch_size(input._shape)
    elif running_mean is None or running_var is None:
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    Cc = input._shape[1]
    for nm, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and t.numel() != Cc:
            raise RuntimeError(f"{nm} should contain {Cc} elements not {t.numel()}")
    _same_device(input, weight, bias, running_mean, running_var)
    _dtype_check(input, "batch_norm")
    return _norm.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    ns = tuple(int(s) for s in normalized_shape)
    nd = len(ns)
    if nd == 0 or input.dim() < nd or tuple(input._shape[-nd:]) != ns:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(str(s) for s in ns)}], but got input of size{list(input._shape)}")
    for nm, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t._shape) != ns:
            raise RuntimeError(f"Expected {nm} to be of same shape as normalized_shape, but got {nm} of shape "
                               f"{list(t._shape)} and normalized_shape = {list(ns)}")
    _same_device(input, weight, bias)
    _dtype_check(input, "LayerNormKernelImpl")
    return _norm.layer_norm(input, ns, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05):
    N, Cc = input._shape[0], input._shape[1]
    if Cc % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input._shape)} and num_groups={num_groups}")
    _dtype_check(input, "GroupNormKernelImpl")
    rest = prod(input._shape[1:]) // num_groups
    y = _norm.layer_norm(input.reshape(N, num_groups, rest), (rest,), None, None, eps).reshape(input._shape)
    shape = (1, Cc) + (1,) * (input.dim() - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-05):
    """Batch norm of the (1, N*C, *) view: statistics per sample and channel; running statistics (when given and
    use_input_stats) are updated with the mean over the batch of the per-sample statistics, as PyTorch does."""
    if input.dim() < 2:
        raise ValueError(f"expected 2D or more input (got {input.dim()}D input)")
    if use_input_stats:
        _verify_spatial_size(input._shape)
    elif running_mean is None or running_var is None:
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    N, Cc = input._shape[0], input._shape[1]
    _dtype_check(input, "batch_norm")
    rest = prod(input._shape[2:])
    if use_input_stats and running_mean is None and running_var is None:
        y = _norm.layer_norm(input.reshape(N, Cc, rest), (rest,), None, None, eps).reshape(input._shape)
    else:
        rm = running_mean.repeat(N) if running_mean is not None else None
        rv = running_var.repeat(N) if running_var is not None else None
        w = weight.repeat(N) if weight is not None else None
        b = bias.repeat(N) if bias is not None else None
        y = batch_norm(input.reshape((1, N * Cc) + tuple(input._shape[2:])), rm, rv, w, b, use_input_stats,
                       momentum, eps).reshape(input._shape)
        if use_input_stats:
            with AG.no_grad():
                if running_mean is not None:
                    running_mean.copy_(rm.reshape(N, Cc).mean(0))
                if running_var is not None:
                    running_var.copy_(rv.reshape(N, Cc).mean(0))
        return y
    shape = (1, Cc) + (1,) * (input.dim() - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def _verify_spatial_size(size):
    n = 1
    for s in size[2:]:
        n *= s
    if n == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {_size_str(size)}")


def rms_norm(input, normalized_shape, weight=None, eps=None):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    ns = tuple(int(s) for s in normalized_shape)
    nd = len(ns)
    if input.dim() < nd or tuple(input._shape[input.dim() - nd:]) != ns:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*{', '.join(str(s) for s in ns)}], but got input of size{list(input._shape)}")
    if weight is not None and tuple(weight._shape) != ns:
        raise RuntimeError(f"Expected weight to be of same shape as normalized_shape, but got weight of shape "
                           f"{list(weight._shape)} and normalized_shape = {list(ns)}")
    _dtype_check(input, "rms_norm")
    if eps is None:
        eps = D.finfo(input._dtype).eps
    dims = tuple(range(input.dim() - nd, input.dim()))
    y = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt() if dims else \
        input * (input * input + eps).rsqrt()
    return y * weight if weight is not None else y


def _channel_window_sum(sq, lo, hi):
    """sum over channels c-lo .. c+hi (zero outside) of sq (N, C, *), by shifted slices of the padded tensor."""
    Cc = sq._shape[1]
    z = C.zeros((sq._shape[0], lo) + tuple(sq._shape[2:]), dtype=sq._dtype, device=sq._device)
    zh = C.zeros((sq._shape[0], hi) + tuple(sq._shape[2:]), dtype=sq._dtype, device=sq._device)
    from .._shape import cat
    padded = cat([z, sq, zh], 1)
    acc = None
    for i in range(lo + hi + 1):
        piece = padded.narrow(1, i, Cc)
        acc = piece if acc is None else acc + piece
    return acc


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    dim = input.dim()
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {dim} dimensions)")
    if input.numel() == 0:
        return input
    div = _channel_window_sum(input * input, size // 2, (size - 1) // 2) / size
    div = (div * alpha + k) ** beta
    return input / div


def _cross_map_lrn2d(input, size, alpha=1e-4, beta=0.75, k=1):
    """The legacy cross-map LRN: the window sum is PyTorch's running sum, which keeps channel 0 in every window
    (its first subtraction happens one channel late); reproduced by a (C, C) 0/1 matrix applied over channels."""
    import numpy as np
    if input.dim() != 4:
        raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
    N, Cc = input._shape[0], input._shape[1]
    pre = int((size - 1) / 2 + 1)
    m = np.zeros((Cc, Cc))
    for c in range(Cc):
        m[c, 0] = 1.0
        m[c, max(1, c - pre + 1):min(c + pre - 1, Cc - 1) + 1] = 1.0
    sq = (input * input).reshape(N, Cc, -1)
    wsum = _linalg.matmul(C.tensor(m, dtype=input._dtype, device=input._device), sq).reshape(input._shape)
    scale = wsum * (alpha / size) + k
    return input * scale ** (-beta)


# ================================================================================================ embedding / one_hot

def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    if not isinstance(input, Tensor):
        raise TypeError(f"embedding(): argument 'indices' must be Tensor, not {type(input).__name__}")
    if input._dtype not in (D.int64, D.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got cltensor.{input.type().split('.')[-1]} instead (while "
                           "checking arguments for embedding)")
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    V = weight._shape[0]
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= V:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            if padding_idx < -V:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = V + padding_idx
    if max_norm is not None:
        with AG.no_grad():
            _embedding_renorm_(weight, input, max_norm, norm_type)
    if sparse:
        raise _embedding_bag.sparse_error()
    if input._device != weight._device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{weight._device} and {input._device}!")
    if scale_grad_by_freq:
        return _embedding_bag.embedding_scaled_grad(input, weight, padding_idx)
    return _embedding.embedding(input, weight, padding_idx)


def _embedding_renorm_(weight, input, max_norm, norm_type):
    import numpy as np
    rows = np.unique(input._to_numpy_copy().reshape(-1))
    if rows.size == 0:
        return
    ridx = C.tensor(rows, dtype=D.int64, device=weight._device)
    sel = weight[ridx]
    norms = sel.norm(norm_type, 1, keepdim=True)
    scale = O.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    weight[ridx] = sel * scale


def one_hot(tensor, num_classes=-1):
    if tensor._dtype is not D.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    a = tensor._to_numpy_copy()
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    if a.size:
        if a.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if a.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    classes = C.arange(num_classes, device=tensor._device)
    return O.apply("eq", tensor.unsqueeze(-1), classes).to(D.int64)


# ================================================================================================ padding

def pad(input, pad, mode="constant", value=None):
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {input.dim()}")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode != "constant":
        if value is not None and value != 0:
            raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
        npad, nd = len(pad) // 2, input.dim()
        if not ((npad == 1 and nd in (2, 3)) or (npad == 2 and nd in (3, 4)) or (npad == 3 and nd in (4, 5))):
            raise NotImplementedError(
                f"Padding size {len(pad)} is not supported for {nd}D input tensor.\nSupported combinations for "
                "non-constant padding:\n  - 2D or 3D input: padding size = 2 (pads last dimension)\n  - 3D or 4D "
                "input: padding size = 4 (pads last 2 dimensions)\n  - 4D or 5D input: padding size = 6 (pads last 3 "
                "dimensions)")
        if any(input._shape[d] == 0 for d in range(1 if nd == npad + 2 else 0, nd)):
            raise RuntimeError(f"Expected {npad + 1}D or {npad + 2}D (batch mode) tensor with possibly 0 batch size "
                               f"and other non-zero dimensions for input, but got: {list(input._shape)}")
        return _pad_other(input, pad, mode)
    value = 0.0 if value is None else value
    nd = input.dim()
    npairs = len(pad) // 2
    shape = list(input._shape)
    src = [slice(None)] * nd
    dst = [slice(None)] * nd
    for i in range(npairs):
        d = nd - 1 - i
        lo, hi = int(pad[2 * i]), int(pad[2 * i + 1])
        size = shape[d]
        new = size + lo + hi
        if new < 0:
            raise RuntimeError(f"The input size {size}, plus negative padding {lo} and {hi} resulted in a negative "
                               f"output size, which is invalid. Check dimension {d} of your input.")
        s0, s1 = max(-lo, 0), size - max(-hi, 0)
        src[d] = slice(s0, max(s1, s0))
        dst[d] = slice(max(lo, 0), max(lo, 0) + max(s1 - s0, 0))
        shape[d] = new
    out = C.full(tuple(shape), value, dtype=input._dtype, device=input._device)
    src, dst = tuple(src), tuple(dst)
    with AG.no_grad():
        piece = input.detach()[src]
        if piece.numel():
            O.copy_into(out[dst], piece)
    if AG.needs_grad(input):
        ishape = input._shape

        def bw(g):
            gi = C.zeros(ishape, dtype=g._dtype, device=g._device)
            gp = g[dst]
            if gp.numel():
                O.copy_into(gi[src], gp)
            return (gi,)
        AG.record("ConstantPadNdBackward0", (input,), out, bw)
    return out


def _pad_other(input, pad, mode):
    """reflect / replicate / circular padding through index gathers on each padded dim."""
    import numpy as np
    out = input
    nd = input.dim()
    for i in range(len(pad) // 2):
        d = nd - 1 - i
        lo, hi = int(pad[2 * i]), int(pad[2 * i + 1])
        n = out._shape[d]
        pos = np.arange(-lo, n + hi)
        if mode == "reflect":
            if lo >= n or hi >= n:
                raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, "
                                   f"but got: padding ({lo}, {hi}) at dimension {d} of input {list(input._shape)}")
            period = 2 * (n - 1) if n > 1 else 1
            pos = np.abs(pos) % period
            pos = np.where(pos >= n, period - pos, pos)
        elif mode == "replicate":
            pos = np.clip(pos, 0, n - 1)
        elif mode == "circular":
            if lo > n or hi > n:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            # negative pads crop first; the wrap-around then repeats the cropped content (PyTorch's order)
            seq = np.arange(max(-lo, 0), n - max(-hi, 0))
            pos = seq[np.arange(-max(lo, 0), len(seq) + max(hi, 0)) % max(len(seq), 1)]
        else:
            raise NotImplementedError(f"Padding mode \"{mode}\" doesn't take in value argument")
        out = out.index_select(d, C.tensor(pos, dtype=D.int64, device=input._device))
    return out


# ================================================================================================ losses

def _size_warn(input, target):
    if target._shape != input._shape:
        warnings.warn(f"Using a target size ({_size_str(target._shape)}) that is different to the input size "
                      f"({_size_str(input._shape)}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)


def _pointwise_loss(op, grad_op, node, input, target, reduction, extra=(), weight=None):
    """l = op(input, target, *extra), reduced; one node whose backward is one fused kernel per input."""
    _check_reduction(reduction)
    with AG.no_grad():
        l = O.apply(op, input, target, *extra)
        if weight is not None:
            l = l * weight
        out = _apply_reduction(l, reduction)
    if AG.needs_grad(input, target):
        n = max(l.numel(), 1)
        scale = 1.0 / n if reduction == "mean" else 1.0
        if op == "nn_sqdiff":
            scale *= 2.0

        def bw(g):
            gg = g if weight is None else g * weight
            gi = O.apply(grad_op, gg, input, target, scale, *extra)
            gt = -gi if isinstance(target, Tensor) and target.requires_grad else None
            return gi, gt
        AG.record(node, (input, target), out, bw, saved=tuple(t for t in (input, target) if isinstance(t, Tensor)))
    return out


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = _reduction_enum(size_average, reduce, reduction)
    _size_warn(input, target)
    _dtype_check(input, "mse_cpu")
    return _pointwise_loss("nn_sqdiff", "nn_sqdiff_grad", "MseLossBackward0", input, target, reduction,
                           weight=weight)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = _reduction_enum(size_average, reduce, reduction)
    _size_warn(input, target)
    if input._dtype is D.bool_ and target._dtype is D.bool_:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    if input._dtype.category < 2 and reduction == "mean":
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                           f"complex dtype. Got: {input._dtype._alias}")
    if input._dtype.is_complex or target._dtype.is_complex:     # (real-valued: |input - target|, composed)
        d = (input - target).abs()
        return d if reduction == "none" else (d.sum() if reduction == "sum" else d.mean())
    return _pointwise_loss("nn_absdiff", "nn_absdiff_grad", "L1LossBackward0", input, target, reduction,
                           weight=weight)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    reduction = _reduction_enum(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _size_warn(input, target)
    _dtype_check(input, "smooth_l1_cpu")
    if beta == 0.0:
        return l1_loss(input, target, reduction=reduction)
    return _pointwise_loss("nn_smooth_l1", "nn_smooth_l1_grad", "SmoothL1LossBackward0", input, target, reduction,
                           (float(beta),))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _size_warn(input, target)
    _dtype_check(input, "huber_cpu")
    return _pointwise_loss("nn_huber", "nn_huber_grad", "HuberLossBackward0", input, target, reduction,
                           (float(delta),), weight=weight)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction_enum(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target._shape != input._shape:
        raise ValueError(f"Using a target size ({_size_str(target._shape)}) that is different to the input size "
                         f"({_size_str(input._shape)}) is deprecated. Please ensure they have the same size.")
    _dtype_check(input, "binary_cross_entropy")
    l = O.apply("nn_bce", input, target)
    if weight is not None:
        l = l * weight
    return _apply_reduction(l, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    reduction = _reduction_enum(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target._shape != input._shape:
        raise ValueError(f"Target size ({_size_str(target._shape)}) must be the same as input size "
                         f"({_size_str(input._shape)})")
    _dtype_check(input, "log_sigmoid_cpu")
    if pos_weight is not None:
        l = O.apply("nn_bce_logits_pw", input, target, pos_weight)
    else:
        l = O.apply("nn_bce_logits", input, target)
    if weight is not None:
        l = l * weight
    return _apply_reduction(l, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if size_average is not None or reduce is not None:
        reduction = _reduction_enum(size_average, reduce, reduction)
    if input._dtype.category < 2:
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if input._dtype.is_complex:
        raise RuntimeError("kl_div: Complex inputs not supported.")
    l = O.apply("nn_kl_log" if log_target else "nn_kl", input, target)
    if reduction == "batchmean":
        return l.sum() / input._shape[0] if input.dim() else l.sum()
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.")
    return _apply_reduction(l, reduction)


def _class_target_prep(input, target, fn):
    """-> (x3 (N, C, S), flat target, out shape for reduction='none')."""
    if target._dtype is D.uint8:
        target = target.to(D.int64)
    if target._dtype is not D.int64:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {target._dtype._alias}")
    if input.dim() == 0:
        raise ValueError("Expected input to have at least 1 dimension")
    if input.dim() == 1:
        if target.dim() != 0:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        Cc = input._shape[0]
        return input.reshape(1, Cc, 1), target.reshape(1), ()
    N, Cc = input._shape[0], input._shape[1]
    if target.dim() == 0 or target._shape[0] != N:
        if input.dim() == 2 and target.dim() == 2:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        raise ValueError(f"Expected input batch_size ({N}) to match target batch_size "
                         f"({target._shape[0] if target.dim() else 0}).")
    if input.dim() == 2 and target.dim() != 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if tuple(target._shape[1:]) != tuple(input._shape[2:]):
        raise RuntimeError(f"Expected target size {list((N,) + tuple(input._shape[2:]))}, got "
                           f"{list(target._shape)}")
    S = prod(input._shape[2:])
    return input.reshape(N, Cc, S), target.reshape(-1), tuple(target._shape)


def _check_weight(weight, Cc, input):
    if weight is not None:
        if weight.dim() != 1 or weight.numel() != Cc:
            raise RuntimeError(f"weight tensor should be defined either for all {Cc} classes or no classes but got "
                               f"weight tensor of shape: {list(weight._shape)}")
        _same_device(input, weight)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    reduction = _reduction_enum(size_average, reduce, reduction)
    _check_reduction(reduction)
    _same_device(input, target)
    x3, t, oshape = _class_target_prep(input, target, "nll_loss")
    _dtype_check(input, "nll_loss_out_frame" if input.dim() <= 2 else "nll_loss2d_forward_out_frame")
    _check_weight(weight, x3._shape[1], input)
    return _loss.class_loss(x3, t, weight, reduction, int(ignore_index), 0.0, True, oshape)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    reduction = _reduction_enum(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    _same_device(input, target)
    if target._dtype.is_floating_point:
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    _dtype_check(input, "log_softmax_lastdim_kernel_impl" if input.dim() <= 2 else "log_softmax_kernel_impl")
    x3, t, oshape = _class_target_prep(input, target, "cross_entropy")
    _check_weight(weight, x3._shape[1], input)
    return _loss.class_loss(x3, t, weight, reduction, int(ignore_index), float(label_smoothing), False, oshape)


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing):
    if target._shape != input._shape:
        raise RuntimeError(f"Expected target size {list(input._shape)}, got {list(target._shape)}")
    cdim = 1 if input.dim() >= 2 else 0
    Cc = input._shape[cdim]
    _check_weight(weight, Cc, input)
    logp = log_softmax(input, cdim)
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / Cc
    prod_ = logp * target
    if weight is not None:
        shape = [1] * input.dim()
        shape[cdim] = Cc
        prod_ = prod_ * weight.reshape(shape)
    l = -prod_.sum(cdim)
    if reduction == "none":
        return l
    if reduction == "sum":
        return l.sum()
    n = input._shape[0] if input.dim() >= 2 else 1
    return l.sum() / n


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-08, reduce=None,
                     reduction="mean"):
    reduction = _reduction_enum(size_average, reduce, reduction)
    if log_input:
        l = input.exp() - target * input
    else:
        l = input - target * (input + eps).log()
    if full:
        st = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        l = l + O.where(target > 1, st, 0.0)
    return _apply_reduction(l, reduction)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Each input divided by its norm (clamped below at eps, the clamp outside the graph as PyTorch does), then
    the sum of the products over dim."""
    for t in (x1, x2):
        if not (t._dtype.is_floating_point or t._dtype.is_complex):
            raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is "
                               f"{D.promote_types(x1._dtype, x2._dtype)._alias}")
    if x1._shape != x2._shape:
        from .._composite import broadcast_tensors
        x1, x2 = broadcast_tensors(x1, x2)
    n1 = x1.norm(2, dim, keepdim=True)
    n2 = x2.norm(2, dim, keepdim=True)
    n1 = n1 + (n1.clamp_min(eps) - n1).detach()
    n2 = n2 + (n2.clamp_min(eps) - n2).detach()
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    out_dim = max(x1.dim(), x2.dim())
    if out_dim == 0:
        return (x1 - x2 + eps).abs()
    return (x1 - x2 + eps).norm(p, out_dim - 1, keepdim=keepdim)


def pdist(input, p=2):
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if not input._dtype.is_floating_point:
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    import numpy as np
    n = input._shape[0]
    i, j = np.triu_indices(n, 1)
    if i.size == 0:
        return C.zeros((0,), dtype=input._dtype, device=input._device)
    ii = C.tensor(i.astype(np.int64), dtype=D.int64, device=input._device)
    jj = C.tensor(j.astype(np.int64), dtype=D.int64, device=input._device)
    return (input.index_select(0, ii) - input.index_select(0, jj)).norm(p, 1)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction_enum(size_average, reduce, reduction)
    _check_reduction(reduction)
    td = target.dim()
    if td > 1:
        raise RuntimeError(f"0D or 1D target tensor expected, multi-target not supported")
    if td == 1:
        if input1.dim() != 2 or input2.dim() != 2:
            raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with sizes "
                               f"{list(input1._shape)} and {list(input2._shape)}.")
    elif input1.dim() != 1 or input2.dim() != 1:
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with sizes "
                           f"{list(input1._shape)} and {list(input2._shape)}.")
    d = td
    prod_sum = (input1 * input2).sum(d)
    mag1 = (input1 * input1).sum(d) + 1e-12
    mag2 = (input2 * input2).sum(d) + 1e-12
    cos = prod_sum / (mag1 * mag2).sqrt()
    zeros = C.zeros((), dtype=cos._dtype, device=cos._device)
    pos = 1 - cos
    neg = (cos - margin).clamp_min(0)
    out = O.where(target == 1, pos, zeros) + O.where(target == -1, neg, zeros)
    return _apply_reduction(out, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction_enum(size_average, reduce, reduction)
    _check_reduction(reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {_size_str(input1._shape)}, input2: {_size_str(input2._shape)}, "
                           f"target: {_size_str(target._shape)} ")
    out = (-target * (input1 - input2) + margin).clamp_min(0)
    return _apply_reduction(out, reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction_enum(size_average, reduce, reduction)
    _check_reduction(reduction)
    if input._dtype.category < 2 and reduction == "mean":
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                           f"complex dtype. Got: {input._dtype._alias}")
    zeros = C.zeros((), dtype=input._dtype, device=input._device)
    margin_clamp = (margin - input).clamp_min(0)
    out = O.where(target != 1, margin_clamp, zeros) + O.where(target != -1, input, zeros)
    return _apply_reduction(out, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction_enum(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not input._dtype.is_floating_point:
        raise RuntimeError(f"result type Float can't be cast to the desired output type {input._dtype._alias}")
    out = -O.apply("nn_logsigmoid", input * target)
    return _apply_reduction(out, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction_enum(size_average, reduce, reduction)
    _check_reduction(reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    cdim = input.dim() - 1
    loss = loss.sum(cdim) / input._shape[cdim]
    return _apply_reduction(loss, reduction)


def _multi_margin_prep(input, target, fn):
    nd = input.dim()
    if nd > 2 or (nd == 2 and input._shape[1] == 0) or (nd == 1 and input._shape[0] == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input._shape)}")
    x = input.reshape(1, -1) if nd <= 1 else input
    N, Cc = x._shape
    if target._dtype is not D.int64:
        raise RuntimeError(f"expected scalar type Long but found {target._dtype._alias}")
    return x, N, Cc


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    reduction = _reduction_enum(size_average, reduce, reduction)
    _check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x, N, Cc = _multi_margin_prep(input, target, "multi_margin_loss")
    t = target.reshape(-1)
    if t.numel() != N or target.dim() > 1:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size [{N}], but got {list(target._shape)}. "
                           f"Input has shape {list(input._shape)}.")
    if weight is not None and (weight.dim() > 1 or weight.numel() != Cc):
        raise RuntimeError(f"inconsistent weight size, expected {Cc} but got {list(weight._shape)}")
    _dtype_check(input, "multi_margin_loss_cpu_kernel")
    xy = x.gather(1, t.reshape(N, 1))
    z = (margin - xy + x).clamp_min(0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.index_select(0, t).reshape(N, 1)
    classes = C.arange(Cc, device=x._device)
    z = O.where(classes.reshape(1, Cc) == t.reshape(N, 1), 0.0, z)
    loss = z.sum(1) / Cc
    if reduction == "none":
        return loss.reshape(target._shape) if input.dim() == 2 else loss.reshape(())
    return _apply_reduction(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """sum over target classes j (the entries of target up to the first -1) and non-target classes i of
    max(0, 1 - (x[j] - x[i])) / C, per sample."""
    reduction = _reduction_enum(size_average, reduce, reduction)
    _check_reduction(reduction)
    nd = input.dim()
    if nd > 2 or (nd == 2 and input._shape[1] == 0) or (nd == 1 and input._shape[0] == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input._shape)}")
    if tuple(target._shape) != tuple(input._shape if nd else (1,)) and not (nd == 0 and target.numel() == 1):
        raise RuntimeError(f"inconsistent target size: {list(target._shape)} for input of size: "
                           f"{list(input._shape)}")
    _dtype_check(input, "multilabel_margin_loss_forward_out_frame")
    x = input.reshape(1, -1) if nd <= 1 else input
    N, Cc = x._shape
    t = target.reshape(N, Cc)
    valid = (t != -1).to(D.int64).cumprod(1) > 0                       # entries before the first -1
    classes = C.arange(Cc, device=x._device)
    hit = (t.unsqueeze(-1) == classes.reshape(1, 1, Cc)) & valid.unsqueeze(-1)      # (N, k, c)
    count = hit.to(x._dtype).sum(1)                     # (N, C): a class listed twice counts twice, as in PyTorch
    is_t = hit.to(x._dtype).amax(1)
    z = (1 - (x.unsqueeze(-1) - x.unsqueeze(-2))).clamp_min(0)                       # (N, j, i)
    z = z * count.unsqueeze(-1) * (1 - is_t).unsqueeze(-2)
    loss = z.sum((1, 2)) / Cc
    if reduction == "none":
        return loss if nd == 2 else loss.reshape(())
    return _apply_reduction(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    reduction = _reduction_enum(size_average, reduce, reduction)
    _check_reduction(reduction)
    a, pd, nd = anchor.dim(), positive.dim(), negative.dim()
    if not (a == pd == nd):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {a}D, positive {pd}D, and negative {nd}D inputs")
    if margin <= 0:
        raise ValueError(f"TripletMarginLoss: expected margin to be greater than 0, got {margin} instead")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = O.apply("minimum", d_neg, pairwise_distance(positive, negative, p, eps))
    out = (margin + d_pos - d_neg).clamp_min(0)
    return _apply_reduction(out, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                      swap=False, reduction="mean"):
    _check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, got {margin} "
                         "instead")
    a, pd, nd = anchor.dim(), positive.dim(), negative.dim()
    if not (a == pd == nd):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {a}D, positive {pd}D, and negative {nd}D inputs")
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = O.apply("minimum", d_neg, dist(positive, negative))
    out = (margin + d_pos - d_neg).clamp_min(0)
    return _apply_reduction(out, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = C.full(tuple(input._shape), float(var), dtype=input._dtype, device=input._device)
    if var._shape != input._shape:
        if tuple(input._shape[:-1]) == tuple(var._shape):
            var = var.unsqueeze(-1)
        elif tuple(input._shape[:-1]) == tuple(var._shape[:-1]) and var._shape[-1] == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if bool((var < 0).any()):       # data-dependent check, as PyTorch's
        raise ValueError("var has negative entry/entries")
    var = var.clone()
    with AG.no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _apply_reduction(loss, reduction)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    _check_reduction(reduction)
    return _loss.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity)


def flatten(input, start_dim=0, end_dim=-1):
    return input.flatten(start_dim, end_dim)


# ================================================================================================ attention

def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    return _attention.scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal, scale,
                                                   enable_gqa)


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    return _embedding_bag.embedding_bag(input, weight, offsets, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                                        per_sample_weights, include_last_offset, padding_idx, _embedding_renorm_)


def multi_head_attention_forward(*args, **kwargs):
    return _attention.multi_head_attention_forward(*args, **kwargs)


from . import _attention, _embedding_bag  # noqa: E402  (they use this module's functions at call time only)

# convolution, pooling, resampling and padding forms of their own modules
from ._convfn import conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, fold, unfold  # noqa: E402,F401
from ._poolfn import (max_pool3d, max_pool3d_with_indices, avg_pool3d, adaptive_avg_pool3d,  # noqa: E402,F401
                      adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d, adaptive_max_pool1d_with_indices,
                      adaptive_max_pool2d_with_indices, adaptive_max_pool3d_with_indices, max_unpool1d, max_unpool2d,
                      max_unpool3d, lp_pool1d, lp_pool2d, lp_pool3d)
from ._resample import (interpolate, upsample, upsample_nearest, upsample_bilinear, pixel_shuffle,  # noqa: E402,F401
                        pixel_unshuffle, channel_shuffle)
from ._grid import affine_grid, grid_sample  # noqa: E402,F401
from ._poolfn import (fractional_max_pool2d, fractional_max_pool3d,  # noqa: E402,F401
                      fractional_max_pool2d_with_indices, fractional_max_pool3d_with_indices)
