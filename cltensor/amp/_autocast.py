"""`cltensor.autocast` (torch.autocast / torch.amp.autocast): mixed precision regions.

Inside an enabled region the operations of PyTorch's autocast lists run in the region's dtype or in float32:

- lower precision (matrix products and convolutions: matmul, mm, bmm, addmm, baddbmm, linear, conv*, ...): their
  floating-point tensor arguments are cast to the region's dtype (float16 or bfloat16);
- float32 (reductions, softmax, norms, losses, exp/log/pow ...): float16 and bfloat16 arguments are cast to
  float32;
- promote (addcmul, addcdiv, atan2, cross, dot, tensordot, bilinear ...): to the widest floating dtype among the
  arguments.

The lists are PyTorch's (its CUDA lists for device_type "cuda", its CPU lists for "cpu"). The casts are ordinary
differentiable conversions, so gradients reach float32 parameters in float32. Regions nest (an inner
`autocast(enabled=False)` turns it off) and work as decorators.

How: while at least one region is open, the public functions of the lists (cltensor.*, Tensor methods and
operators, nn.functional) are replaced by casting wrappers that read the innermost region's state; leaving the
last region restores them, so code outside autocast pays nothing. Consequences: the state is process-wide (PyTorch
keeps it per thread), and operations called internally by another operation (e.g. the projections inside
nn.MultiheadAttention's fused path) are not cast. The default dtype is PyTorch's: float16 for device_type "cuda",
bfloat16 for "cpu".
"""
import functools

from .. import _dtypes as D
from .. import _registry
from .._tensor import Tensor
from ..nn import functional as F

__all__ = ["autocast", "is_autocast_available", "is_autocast_enabled", "get_autocast_dtype",
           "set_autocast_enabled", "set_autocast_dtype", "LOWER", "FP32", "PROMOTE"]

# PyTorch's autocast op lists (torch/amp docs "Autocast Op Reference"), by device type
LOWER = {
    "cuda": {"__matmul__", "__rmatmul__", "addbmm", "addmm", "addmv", "addr", "baddbmm", "bmm", "chain_matmul",
             "multi_dot", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
             "linear", "matmul", "mm", "mv", "prelu", "scaled_dot_product_attention"},
    "cpu": {"conv1d", "conv2d", "conv3d", "bmm", "mm", "vecdot", "baddbmm", "addmm", "addbmm", "linear", "matmul",
            "__matmul__", "__rmatmul__", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "prelu",
            "scaled_dot_product_attention"},
}
FP32 = {
    "cuda": {"__pow__", "__rdiv__", "__rpow__", "__rtruediv__", "acos", "asin", "binary_cross_entropy_with_logits",
             "cosh", "cosine_embedding_loss", "cdist", "cosine_similarity", "cross_entropy", "cumprod", "cumsum",
             "dist", "erfinv", "exp", "expm1", "group_norm", "hinge_embedding_loss", "kl_div", "l1_loss",
             "layer_norm", "log", "log_softmax", "log10", "log1p", "log2", "margin_ranking_loss", "mse_loss",
             "multilabel_margin_loss", "multi_margin_loss", "nll_loss", "norm", "normalize", "pdist",
             "poisson_nll_loss", "pow", "prod", "reciprocal", "rsqrt", "sinh", "smooth_l1_loss", "soft_margin_loss",
             "softmax", "softmin", "softplus", "sum", "renorm", "tan", "triplet_margin_loss"},
    "cpu": {"avg_pool3d", "binary_cross_entropy", "grid_sample", "polar", "prod", "quantile", "nanquantile", "stft",
            "cdist", "trace", "view_as_complex", "cholesky", "cholesky_inverse", "cholesky_solve", "inverse",
            "lu_solve", "pinverse", "max_pool3d", "max_unpool2d", "max_unpool3d", "adaptive_avg_pool3d",
            "mse_loss", "cosine_embedding_loss", "nll_loss", "hinge_embedding_loss", "poisson_nll_loss",
            "smooth_l1_loss", "cross_entropy", "l1_loss", "huber_loss", "margin_ranking_loss", "soft_margin_loss",
            "triplet_margin_loss", "multi_margin_loss", "ctc_loss", "kl_div", "multilabel_margin_loss",
            "binary_cross_entropy_with_logits"},
}
PROMOTE = {
    "cuda": {"addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot", "grid_sample", "index_put", "scatter_add",
             "tensordot"},
    "cpu": {"stack", "cat", "index_copy"},
}
_DEVICE_TYPES = {"cuda": "cuda", "gpu": "cuda", "cpu": "cpu", "opencl": "cuda", "mps": "cuda", "xpu": "cuda"}

_stack = []                # the open regions' states, innermost last: (device kind, enabled, dtype)
_defaults = {"cuda": D.float16, "cpu": D.bfloat16}
_enabled_flags = {"cuda": False, "cpu": False}
_patched = []              # (object, name, original) while any region is open


def is_autocast_available(device_type):
    return device_type in _DEVICE_TYPES


def _kind(device_type):
    if isinstance(device_type, str):
        k = _DEVICE_TYPES.get(device_type.split(":")[0])
        if k is not None:
            return k
    raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")


def is_autocast_enabled(device_type=None):
    """Whether autocast is on (for device_type, default the GPU kind: PyTorch's torch.is_autocast_enabled())."""
    k = _kind(device_type or "cuda")
    for kind, enabled, _ in reversed(_stack):
        if kind == k:
            return enabled
    return _enabled_flags[k]


def set_autocast_enabled(device_type, enabled=None):
    if enabled is None:                    # the one-argument form: torch.set_autocast_enabled(enabled)
        device_type, enabled = "cuda", device_type
    _enabled_flags[_kind(device_type)] = bool(enabled)


def get_autocast_dtype(device_type):
    return _defaults[_kind(device_type)]


def set_autocast_dtype(device_type, dtype):
    _defaults[_kind(device_type)] = _check_dtype(dtype, device_type)


def _check_dtype(dtype, device_type):
    name = getattr(dtype, "name", None) or str(dtype)
    if name.endswith("bfloat16"):     # (torch.bfloat16 too)
        return D.bfloat16
    if dtype not in (D.float16, D.float32):
        raise RuntimeError(f"In {device_type} autocast, but the target dtype is not supported. Disabling autocast.\n"
                           f"{device_type} Autocast only supports dtypes of torch.bfloat16, torch.float16 "
                           "currently.")
    return dtype


def _state():
    return _stack[-1] if _stack else None


def _widest(args, kwargs):
    best = None
    for x in list(args) + list(kwargs.values()):
        for t in (x if isinstance(x, (list, tuple)) else (x,)):
            if isinstance(t, Tensor) and t._dtype.is_floating_point:
                best = t._dtype if best is None else D.promote_types(best, t._dtype)
    return best


def _wrapper(name, fn, kind_of_list):
    @functools.wraps(fn)
    def w(*args, **kwargs):
        st = _stack[-1] if _stack else None
        if st is None or not st[1] or name not in kind_of_list[st[0]]:
            return fn(*args, **kwargs)
        which = "lower" if kind_of_list is LOWER else "fp32" if kind_of_list is FP32 else "promote"
        if which == "lower":
            dt = st[2]
            args = tuple(_cast_lower(a, dt) for a in args)
            kwargs = {k: _cast_lower(v, dt) for k, v in kwargs.items()}
        elif which == "fp32":
            args = tuple(_cast_fp32(a) for a in args)
            kwargs = {k: _cast_fp32(v) for k, v in kwargs.items()}
        else:
            dt = _widest(args, kwargs)
            if dt is not None:
                args = tuple(_cast_lower(a, dt) for a in args)
                kwargs = {k: _cast_lower(v, dt) for k, v in kwargs.items()}
        return fn(*args, **kwargs)
    w.__wrapped__ = fn
    return w


def _cast_lower(x, dt):
    if isinstance(x, Tensor):
        return x.to(dt) if x._dtype.is_floating_point and x._dtype is not dt else x
    if isinstance(x, (list, tuple)) and any(isinstance(v, Tensor) for v in x):
        return type(x)(_cast_lower(v, dt) for v in x)
    return x


def _cast_fp32(x):
    if isinstance(x, Tensor):
        return x.to(D.float32) if x._dtype is D.float16 or x._dtype is D.bfloat16 else x
    if isinstance(x, (list, tuple)) and any(isinstance(v, Tensor) for v in x):
        return type(x)(_cast_fp32(v) for v in x)
    return x


_WRAPPERS = []             # (object, name, wrapper, original), built on first use


def _targets():
    if _WRAPPERS:
        return _WRAPPERS
    top = _registry.published("torch")
    names = {}
    for table in (LOWER, FP32, PROMOTE):
        for n in set().union(*table.values()):
            names.setdefault(n, table)
    for n, table in names.items():
        for obj, d in ((None, top), (Tensor, vars(Tensor)), (F, vars(F))):
            fn = d.get(n)
            if fn is None or not callable(fn) or isinstance(fn, type):
                continue
            _WRAPPERS.append((obj if obj is not None else top, n, _wrapper(n, fn, table), fn))
    return _WRAPPERS


def _install():
    for obj, n, w, _ in _targets():
        if isinstance(obj, dict):
            obj[n] = w
        else:
            setattr(obj, n, w)


def _uninstall():
    for obj, n, _, fn in _targets():
        if isinstance(obj, dict):
            obj[n] = fn
        else:
            setattr(obj, n, fn)


for _n, _f in (("is_autocast_available", is_autocast_available), ("is_autocast_enabled", is_autocast_enabled),
               ("set_autocast_enabled", set_autocast_enabled), ("get_autocast_dtype", get_autocast_dtype),
               ("set_autocast_dtype", set_autocast_dtype)):
    _registry.register(_n, _f, kind="util")


class autocast:
    """autocast(device_type, dtype=None, enabled=True, cache_enabled=None): a mixed-precision region (context
    manager or decorator). device_type "cuda"/"gpu" uses PyTorch's CUDA op lists, "cpu" its CPU lists; dtype
    defaults to get_autocast_dtype(device_type) (float16; bfloat16 for "cpu"). cache_enabled is accepted (casts are
    not cached)."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device = device_type
        self._kind = _kind(device_type)
        self.fast_dtype = _check_dtype(dtype, device_type) if dtype is not None else _defaults[self._kind]
        self._enabled = bool(enabled)
        self._cache_enabled = cache_enabled

    def __enter__(self):
        if not _stack:
            _install()
        _stack.append((self._kind, self._enabled, self.fast_dtype))
        return self

    def __exit__(self, *exc):
        _stack.pop()
        if not _stack:
            _uninstall()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return fn(*args, **kwargs)
        return run
