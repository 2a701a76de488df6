"""Tensor.register_hook and Tensor.retain_grad."""
import weakref

from ._tape import RemovableHandle, _edge


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


def register_post_accumulate_grad_hook(t, hook):
    """hook(t) runs after the gradient of leaf t has been accumulated into t.grad (during backward)."""
    if not t._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if t.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    acc = _edge(t)[0]
    # the tensor keeps its AccumulateGrad node (and so the hook) alive: the node only refers to it weakly
    nodes = t.__dict__.setdefault("_post_acc_nodes", [])
    if acc not in nodes:
        nodes.append(acc)
    ref = weakref.ref(t)

    def run(grad_inputs, grad_outputs):
        leaf = ref()
        if leaf is not None:
            hook(leaf)
    return acc.register_hook(run)


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
