"""Tape-based autograd: grad mode, graph nodes named like PyTorch's (AddBackward0, ...), the backward engine.

Ops record a node with `record(name, inputs, out, backward)` where `backward(grad_out)` returns one gradient
per input (or None), computed with cltensor ops, so gradients run as device kernels and can themselves be
differentiated (create_graph=True). Gradients are summed back over broadcast dims to each input's shape.
"""
import threading

from .._tensor import Tensor

_state = threading.local()


def is_grad_enabled():
    return getattr(_state, "enabled", True)


def _set_enabled(v):
    _state.enabled = bool(v)


class _GradMode:
    def __init__(self, mode):
        self.mode = mode

    def __enter__(self):
        self.prev = is_grad_enabled()
        _set_enabled(self.mode)
        return self

    def __exit__(self, *exc):
        _set_enabled(self.prev)
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with self.__class__(*self._args()):
                return fn(*a, **k)
        return wrapper

    def _args(self):
        return ()

    def clone(self):
        return self.__class__(*self._args())


class no_grad(_GradMode):
    def __init__(self):
        super().__init__(False)


class enable_grad(_GradMode):
    def __init__(self):
        super().__init__(True)


class set_grad_enabled(_GradMode):
    def __init__(self, mode):
        super().__init__(mode)
        self.prev = is_grad_enabled()
        _set_enabled(mode)   # also works as a plain function call, as in PyTorch

    def __enter__(self):
        return self

    def _args(self):
        return (self.mode,)


class inference_mode(_GradMode):
    def __init__(self, mode=True):
        super().__init__(not mode)
        self._m = mode

    def _args(self):
        return (self._m,)


# ---------------------------------------------------------------- graph nodes

class Node:
    """A backward node. `next_functions` is a tuple of (node, 0) pairs like PyTorch's."""
    __slots__ = ("next_functions", "_backward", "_inputs_meta", "_saved_versions", "_freed", "_hooks", "_nout",
                 "_pre_hooks", "__weakref__", "metadata")

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def register_hook(self, fn):
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)

    def register_prehook(self, fn):
        if self._pre_hooks is None:
            self._pre_hooks = []
        self._pre_hooks.append(fn)


class AccumulateGrad(Node):
    __slots__ = ("variable",)


_node_classes = {}


def _node_class(name):
    c = _node_classes.get(name)
    if c is None:
        c = type(name, (Node,), {"__slots__": ()})
        _node_classes[name] = c
    return c


def grad_fn_name(t):
    return type(t.grad_fn).__name__ if t.grad_fn is not None else None


def set_requires_grad(t, v):
    v = bool(v)
    if v and not (t._dtype.is_floating_point or t._dtype.is_complex):
        raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
    if not v and t.grad_fn is not None:
        raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                           "computed variable in a subgraph that doesn't require differentiation use "
                           "var_no_grad = var.detach().")
    t._requires_grad = v


def _edge(t):
    if t.grad_fn is not None:
        return (t.grad_fn, t._out_nr)
    if t._requires_grad:
        acc = t.__dict__.get("_acc_node")
        if acc is None:
            acc = AccumulateGrad()
            acc.next_functions = ()
            acc._hooks = acc._pre_hooks = None
            acc._nout = 0
            acc._freed = False
            acc.variable = t
            acc.metadata = {}
            t.__dict__["_acc_node"] = acc
        return (acc, 0)
    return (None, 0)


def needs_grad(*ts):
    if not getattr(_state, "enabled", True):
        return False
    for t in ts:
        if isinstance(t, Tensor) and t._requires_grad:
            return True
    return False


def record(name, inputs, out, backward, saved=()):
    """Attach a node to `out` (a Tensor or a tuple of Tensors). `inputs`: the tensors (or non-tensors, which get
    no edge) the op read. `saved`: tensors whose version must not change before backward."""
    node = _node_class(name)()
    node.next_functions = tuple(_edge(t) if isinstance(t, Tensor) else (None, 0) for t in inputs)
    node._backward = backward
    node._inputs_meta = tuple((t._shape, t._dtype, t._device) if isinstance(t, Tensor) else None for t in inputs)
    node._saved_versions = tuple((t, t._st.version) for t in saved)
    node._freed = False
    node._hooks = node._pre_hooks = None
    node.metadata = {}
    outs = out if isinstance(out, tuple) else (out,)
    node._nout = len(outs) if isinstance(out, tuple) else 0
    for i, o in enumerate(outs):
        if o is None:
            continue
        if o._dtype.is_floating_point or o._dtype.is_complex:
            o.grad_fn = node
            o._requires_grad = True
            o._out_nr = i
    return out


from .engine import backward, grad  # noqa: E402
from .gradcheck import gradcheck, gradgradcheck  # noqa: E402
from .function import Function  # noqa: E402
