"""``cltensor.backends`` (as ``torch.backends``): the switches training scripts set. They are accepted and
recorded; cltensor's OpenCL kernels have no TF32 / reduced-precision modes and no autotuner, so they change no
result (see docs/interop.md). `set_float32_matmul_precision` / `get_float32_matmul_precision` and
`use_deterministic_algorithms` / `are_deterministic_algorithms_enabled` live here too (published as cltensor.*):
cltensor's kernels are deterministic (no atomics in reductions), so determinism always holds."""
import warnings

from .._registry import register

_state = {"precision": "highest", "deterministic": False, "warn_only": False}


def set_float32_matmul_precision(precision):
    """'highest', 'high' or 'medium' (recorded; float32 matmuls always run in float32 on OpenCL)."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _state["precision"] = precision


def get_float32_matmul_precision():
    return _state["precision"]


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Recorded (cltensor's kernels are deterministic whatever the mode)."""
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms expects a bool, but got {type(mode).__name__}")
    _state["deterministic"], _state["warn_only"] = mode, bool(warn_only) and mode


def are_deterministic_algorithms_enabled():
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled():
    return _state["warn_only"]


for _f in (set_float32_matmul_precision, get_float32_matmul_precision, use_deterministic_algorithms,
           are_deterministic_algorithms_enabled, is_deterministic_algorithms_warn_only_enabled):
    register(_f.__name__, _f, kind="util")

from . import cuda, cudnn, mps, opt_einsum, cpu  # noqa: E402,F401
