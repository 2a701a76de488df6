"""cltensor.autograd: PyTorch's autograd API over a tape.

Two layers. `_tape` (grad mode, nodes, `record`, saved tensors, edges) is imported by every op module to record
its backward. The rest sits above the ops and imports them: `engine` (backward, grad), `gradcheck`,
`functional`, `function` (autograd.Function), `graph`, `_hooks` (tensor hooks, retain_grad) and `_inplace`
(in-place writes, views rebased through CopySlices).
"""
import warnings

from .._tensor import Tensor
from .. import _creation
from ._tape import (  # noqa: F401
    no_grad, enable_grad, set_grad_enabled, inference_mode, detect_anomaly, set_detect_anomaly,
    is_grad_enabled, is_inference_mode_enabled, is_anomaly_enabled, is_anomaly_check_nan_enabled,
    Node, AccumulateGrad, RemovableHandle, grad_fn_name, set_requires_grad, snapshot_edge, needs_grad,
    saved_output, saves_mask, bind_rule, record, check_inplace, _edge, _ModeScope, _state)
from .engine import backward, grad  # noqa: F401
from ._inplace import inplace_prepare, inplace_record, rebase_view, record_overwrite  # noqa: F401
from ._hooks import register_tensor_hook, retain_grad  # noqa: F401
from .gradcheck import gradcheck, gradgradcheck, GradcheckError  # noqa: F401
from .function import Function, FunctionCtx, once_differentiable  # noqa: F401
from . import functional  # noqa: F401
from . import graph  # noqa: F401
from . import _methods  # noqa: F401  (Tensor.backward, copy_, fill_, register_hook ...)


class _VariableMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """The pre-0.4 wrapper, kept for old code as PyTorch keeps it: `Variable(t, requires_grad=False)` returns a
    new leaf sharing t's memory (detached from t's graph), requiring grad when asked; `volatile` has no effect
    (use no_grad) and warns. Every tensor is an instance of Variable."""

    def __new__(cls, data=None, requires_grad=False, volatile=False):
        if data is None:
            data = _creation.empty(0)
        elif not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                          UserWarning, stacklevel=2)
        return data.detach().requires_grad_(bool(requires_grad))


__all__ = ["Function", "FunctionCtx", "GradcheckError", "Node", "AccumulateGrad", "RemovableHandle", "Variable",
           "backward", "grad", "gradcheck", "gradgradcheck", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode", "is_grad_enabled", "is_inference_mode_enabled", "once_differentiable", "functional",
           "graph", "register_tensor_hook", "retain_grad", "inplace_prepare", "inplace_record", "rebase_view",
           "record_overwrite", "check_inplace", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]


def set_anomaly_enabled(enabled, check_nan=True):
    """torch.set_anomaly_enabled: switch anomaly detection on or off (what set_detect_anomaly sets)."""
    set_detect_anomaly(enabled, check_nan)


from .._registry import register as _register  # noqa: E402
for _f in (is_anomaly_enabled, is_anomaly_check_nan_enabled, is_inference_mode_enabled, set_anomaly_enabled):
    _register(_f.__name__, _f, kind="util")
