"""Tensor methods that need the autograd engine or its in-place rules: copy_ / fill_ / zero_ (a write into a
tensor that may be a view of one that requires grad), backward, requires_grad, register_hook, retain_grad."""
from .. import _ops as O
from .._registry import register_method
from .._tensor import Tensor
from ._tape import no_grad, needs_grad, record, set_requires_grad
from ._inplace import rebase_view, record_overwrite
from ._hooks import register_tensor_hook, retain_grad, register_post_accumulate_grad_hook
from .engine import backward as backward_


def copy_(self, src, non_blocking=False):
    if isinstance(src, Tensor) and src._device != self._device:
        src = O.to_device_contiguous(src, self._device)
    O._check_write(self, (src,))
    if needs_grad(self, src) or self.grad_fn is not None:
        return _copy_grad(self, src)
    return O.copy_into(self, src)


def _copy_grad(self, src):
    """copy_ with autograd: self takes src's values; gradient flows to src (and not to self's old value)."""
    O.check_inplace(self)
    with no_grad():
        O.copy_into(self, src)
    if needs_grad(src) if isinstance(src, Tensor) else False:
        sdt = src._dtype
        record("CopyBackwards", (O._snapshot_edge(self), src), self,
                  lambda g: (None, g.to(sdt) if g._dtype is not sdt else g))
    elif self.grad_fn is not None:
        record("CopyBackwards", (O._snapshot_edge(self),), self, lambda g: (None,))
    rebase_view(self)
    return self


def fill_(self, value):
    if isinstance(value, Tensor):
        if value.dim() != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.dim()} "
                               "dimensions.")
        value = value.item()
    O.check_inplace(self)
    return record_overwrite(O.copy_into(self, value), "FillBackward0")


def zero_(self):
    O.check_inplace(self)
    return record_overwrite(O.copy_into(self, 0), "ZeroBackward0")


for _f in (copy_, fill_, zero_):
    register_method(_f.__name__, _f)


def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    backward_(self, gradient, retain_graph, create_graph, inputs=inputs)


def _requires_grad(self):
    return self._requires_grad


def _set_requires_grad(self, v):
    set_requires_grad(self, v)


register_method("backward", backward)
register_method("requires_grad", property(_requires_grad, _set_requires_grad))
register_method("register_hook", register_tensor_hook)     # cltensor/autograd/_hooks.py
register_method("retain_grad", retain_grad)
register_method("register_post_accumulate_grad_hook", register_post_accumulate_grad_hook)
register_method("retains_grad", property(lambda s: s._retains_grad))
