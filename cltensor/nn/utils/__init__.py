"""nn.utils: gradient clipping and parameter/vector conversion."""
import math

from ... import _creation as C
from ...autograd import _tape as AG
from ..._shape import cat, stack
from ..._tensor import Tensor


def _params(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients so that their joint norm is at most max_norm; returns the total norm (a tensor)."""
    grads = [p.grad for p in _params(parameters) if p.grad is not None]
    if not grads:
        return C.tensor(0.0)
    norm_type = float(norm_type)
    with AG.no_grad():
        if norm_type == math.inf:
            norms = [g.abs().max() for g in grads]
            total = norms[0] if len(norms) == 1 else stack(norms).max()
        else:
            norms = [g.norm(norm_type) for g in grads]
            total = norms[0] if len(norms) == 1 else stack(norms).norm(norm_type)
        if error_if_nonfinite and not bool(total.isfinite()):
            raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                               "so it cannot be clipped. To disable this error and scale the gradients by the "
                               "non-finite norm anyway, set `error_if_nonfinite=False`")
        coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef)
    return total


clip_grad_norm = clip_grad_norm_


def clip_grad_value_(parameters, clip_value, foreach=None):
    with AG.no_grad():
        for p in _params(parameters):
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters):
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    off = 0
    with AG.no_grad():
        for p in parameters:
            n = p.numel()
            p.copy_(vec[off:off + n].view_as(p))
            off += n
from . import rnn  # noqa: E402,F401
