"""Tensor.register_hook and Tensor.retain_grad."""
import weakref

from ._tape import RemovableHandle


def register_tensor_hook(t, hook):
    """hook(grad) -> None or a replacement grad; runs when the gradient w.r.t. t has been computed."""
    if not t._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    node = t.grad_fn
    if node is None:
        if t._hooks is None:
            t._hooks = []
        lst = t._hooks
    else:
        if node._tensor_hooks is None:
            node._tensor_hooks = {}
        lst = node._tensor_hooks.setdefault(t._out_nr, [])
    lst.append(hook)
    return RemovableHandle(lst, hook)


def retain_grad(t):
    """Make a non-leaf tensor keep its .grad (accumulated over backward calls, like a leaf's)."""
    if not t._requires_grad:
        raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    node = t.grad_fn
    if node is None or t._retains_grad:
        return
    if node._retained is None:
        node._retained = {}
    node._retained[t._out_nr] = weakref.ref(t)     # weak: the node must not keep its output alive
    t._retains_grad = True
