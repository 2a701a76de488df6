"""Tape-based autograd: grad mode, graph nodes named like PyTorch's (AddBackward0, ...), the backward engine.

How an op takes part (see `_ops.apply` for the elementwise table):

    if AG.needs_grad(x, w):
        AG.record("MulBackward0", (x, w), out, lambda g: (g * w, g * x), saved=(x, w))

`record` attaches a node to `out` (`out.grad_fn`), with one edge per input (`next_functions`). The backward
closure returns one gradient per input (or None), computed with cltensor ops, so gradients run as device kernels
and can themselves be differentiated (create_graph=True). Gradients are summed back over broadcast dims to each
input's shape and cast to its dtype by the engine. `saved` lists the tensors the closure reads: their storage
version is checked before the closure runs (in-place modification after the forward raises, as in PyTorch).

Reference cycles: a closure that holds the op's own output would make out -> node -> closure -> out a cycle
(freed only by the cyclic gc). `record` therefore gives the node a copy of such a closure whose cell holds a
`saved_output(out)` alias instead: same memory, version-checked like `saved`, and with `grad_fn` = the node held
weakly, so double backward through saved outputs works. Ops may also do this explicitly (`o = AG.saved_output(out)`
passed in `saved`); `bind_rule` does it for table-style rules `rule(g, *args, out)`.
"""
import dis
import functools
import inspect
import threading
import types
import weakref

from .._tensor import Tensor, make

_state = threading.local()


# ---------------------------------------------------------------- grad mode

def is_grad_enabled():
    return getattr(_state, "enabled", True)


def _set_enabled(v):
    _state.enabled = bool(v)


def is_inference_mode_enabled():
    return getattr(_state, "inference", False)


class _GradMode:
    """Base of the grad-mode context managers; instances also work as function decorators."""
    _mode = True

    def __new__(cls, *args, **kw):
        # `@no_grad` (without parentheses) decorates directly, like PyTorch 2.x
        if len(args) == 1 and not kw and callable(args[0]) and not isinstance(args[0], bool) and \
                cls in (no_grad, enable_grad, inference_mode):
            return cls()(args[0])
        return super().__new__(cls)

    def __enter__(self):
        self.prev = is_grad_enabled()
        _set_enabled(self._mode)
        return None

    def __exit__(self, *exc):
        _set_enabled(self.prev)
        return False

    def _fresh(self):
        return self.__class__()

    def clone(self):
        return self._fresh()

    def __call__(self, fn):
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen_wrapper(*a, **k):
                gen = fn(*a, **k)
                with self._fresh():
                    resp = gen.send(None)
                while True:
                    try:
                        req = yield resp
                    except GeneratorExit:
                        with self._fresh():
                            gen.close()
                        raise
                    except BaseException as e:
                        with self._fresh():
                            resp = gen.throw(e)
                    else:
                        try:
                            with self._fresh():
                                resp = gen.send(req)
                        except StopIteration as e:
                            return e.value
            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with self._fresh():
                return fn(*a, **k)
        return wrapper


class no_grad(_GradMode):
    """Context manager / decorator that disables gradient recording."""
    _mode = False

    def __init__(self, orig_func=None):
        pass


class enable_grad(_GradMode):
    """Context manager / decorator that enables gradient recording."""
    _mode = True

    def __init__(self, orig_func=None):
        pass


class set_grad_enabled(_GradMode):
    """set_grad_enabled(mode): sets the mode at once (works as a plain call), restores it on exit."""

    def __init__(self, mode):
        self.prev = is_grad_enabled()
        self._mode = bool(mode)
        _set_enabled(self._mode)

    def __enter__(self):
        return None

    def __call__(self, fn):
        _set_enabled(self.prev)   # as a decorator, the construction must not change the mode
        return super().__call__(fn)

    def _fresh(self):
        return _ModeScope(self._mode)

    def clone(self):
        return self.__class__(self._mode)


class _ModeScope(_GradMode):
    def __init__(self, mode):
        self._mode = mode


class inference_mode(_GradMode):
    """Like no_grad (tensors created inside do not record a graph)."""

    def __init__(self, mode=True):
        self._imode = bool(mode)
        self._mode = not mode

    def __enter__(self):
        self.prev_inf = is_inference_mode_enabled()
        _state.inference = self._imode
        return super().__enter__()

    def __exit__(self, *exc):
        _state.inference = self.prev_inf
        return super().__exit__(*exc)

    def _fresh(self):
        return self.__class__(self._imode)


class detect_anomaly:
    """Context manager / decorator: while on, a backward node that returns NaN raises (synchronises per node)."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self.prev = (getattr(_state, "anomaly", False), getattr(_state, "anomaly_nan", True))
        _state.anomaly, _state.anomaly_nan = True, self.check_nan

    def __exit__(self, *exc):
        _state.anomaly, _state.anomaly_nan = self.prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            with self.__class__(self.check_nan):
                return fn(*a, **k)
        return wrapper


class set_detect_anomaly:
    """set_detect_anomaly(mode, check_nan=True): sets the mode at once; as a context manager restores it."""

    def __init__(self, mode, check_nan=True):
        self.prev = (getattr(_state, "anomaly", False), getattr(_state, "anomaly_nan", True))
        _state.anomaly, _state.anomaly_nan = bool(mode), check_nan

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        _state.anomaly, _state.anomaly_nan = self.prev
        return False


def is_anomaly_enabled():
    return getattr(_state, "anomaly", False)


def is_anomaly_check_nan_enabled():
    return getattr(_state, "anomaly_nan", True)


# ---------------------------------------------------------------- graph nodes

class RemovableHandle:
    """Returned by register_hook: `.remove()` unregisters the hook (also a context manager)."""
    __slots__ = ("_lst", "_item")

    def __init__(self, lst, item):
        self._lst, self._item = lst, item

    def remove(self):
        lst = self._lst
        if lst is not None:
            for i, h in enumerate(lst):
                if h is self._item:
                    del lst[i]
                    break
        self._lst = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class Node:
    """A backward node. `next_functions`: one (node, output_nr) pair per input, (None, 0) where no gradient
    flows, like PyTorch's. Subclasses are created per op name (`MulBackward0`, ...) with no extra state."""
    __slots__ = ("next_functions", "_backward", "_meta", "_saved", "_nout", "_freed", "_hooks", "_pre_hooks",
                 "_tensor_hooks", "_retained", "_metadata", "__weakref__")

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    @property
    def metadata(self):
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) -> None or replacement grad_inputs; runs after the node."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return RemovableHandle(self._hooks, fn)

    def register_prehook(self, fn):
        """fn(grad_outputs) -> None or replacement grad_outputs; runs before the node."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        self._pre_hooks.append(fn)
        return RemovableHandle(self._pre_hooks, fn)

    def __call__(self, *grads):
        return self._backward(*grads)


def _init_node(node, next_functions, backward, meta, saved, nout):
    node.next_functions = next_functions
    node._backward = backward
    node._meta = meta
    node._saved = saved
    node._nout = nout
    node._freed = False
    node._hooks = node._pre_hooks = node._tensor_hooks = node._retained = node._metadata = None
    return node


class AccumulateGrad(Node):
    """The sink of a leaf tensor that requires grad: adds the incoming gradient to `variable.grad`."""
    __slots__ = ("variable",)


_node_classes = {}


def _node_class(name):
    c = _node_classes.get(name)
    if c is None:
        c = type(name, (Node,), {"__slots__": (), "__module__": "cltensor.autograd"})
        _node_classes[name] = c
    return c


def grad_fn_name(t):
    return type(t.grad_fn).__name__ if t.grad_fn is not None else None


def set_requires_grad(t, v):
    v = bool(v)
    if v and not (t._dtype.is_floating_point or t._dtype.is_complex):
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    if not v and t.grad_fn is not None:
        raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                           "computed variable in a subgraph that doesn't require differentiation use "
                           "var_no_grad = var.detach().")
    t._requires_grad = v


def _edge(t):
    """The (node, output_nr) a gradient for tensor t goes to. Leaves get their AccumulateGrad node, which
    the tensor holds weakly (the graph holds it strongly), so no leaf <-> node cycle exists."""
    fn = t.grad_fn
    if fn is not None:
        return (fn, t._out_nr)
    if not t._requires_grad:
        return (None, 0)
    d = t.__dict__
    ref = d.get("_acc_node")
    acc = ref() if ref is not None else None
    if acc is None:
        acc = _init_node(AccumulateGrad(), (), None, (), (), 0)
        acc.variable = t
        d["_acc_node"] = weakref.ref(acc)
    return (acc, 0)


def snapshot_edge(t):
    """A stand-in tensor (same memory) carrying t's current autograd edge: the input of an in-place node, which
    must link to the value t had before the write (t itself gets the new node)."""
    s = make(t._st, t._shape, t._strides, t._offset, t._dtype, t._device)
    s.grad_fn, s._requires_grad, s._out_nr = t.grad_fn, t._requires_grad, t._out_nr
    if t.grad_fn is None and t._requires_grad:
        acc = _edge(t)[0]
        s.__dict__["_acc_node"] = lambda: acc   # strong: s lives only as long as the node using it
    return s


def needs_grad(*ts):
    for t in ts:     # operands first: the grad mode (a thread-local lookup) matters only when one requires grad
        if isinstance(t, Tensor) and t._requires_grad:
            return getattr(_state, "enabled", True)
    return False


# ---------------------------------------------------------------- saved outputs (no reference cycles)

class _SavedOutput(Tensor):
    """An alias of an op's output kept by the op's backward closure. Its grad_fn is the node, held weakly
    (out -> node -> closure -> alias -/-> node), so double backward through saved outputs still works."""
    __slots__ = ("_gref",)

    @property
    def grad_fn(self):
        r = self._gref
        return r() if r is not None else None

    @grad_fn.setter
    def grad_fn(self, node):
        self._gref = weakref.ref(node) if node is not None else None


_new = object.__new__


def saved_output(t, nr=0):
    """The alias to keep in a backward closure instead of output t (see module doc); bound to the node when
    passed in `record(..., saved=...)`."""
    s = _new(_SavedOutput)
    s._st, s._shape, s._strides, s._offset, s._dtype, s._device = \
        t._st, t._shape, t._strides, t._offset, t._dtype, t._device
    s._requires_grad = False
    s.grad = None
    s._gref = None
    s._retains_grad = False
    s._hooks = None
    s._base = t._base
    s._out_nr = nr
    return s


_USES = {}


def _arg_uses(fn):
    """Which positional parameters after the first (the gradient) a rule's code reads: a tuple of bools, or None
    when unknown (varargs, non-functions). Lets the engine keep (and version-check) only what the rule needs."""
    code = getattr(fn, "__code__", None)
    if code is None or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        return None
    r = _USES.get(code)
    if r is None:
        names = set(code.co_cellvars)
        for ins in dis.get_instructions(code):
            v = ins.argval
            if isinstance(v, str):
                names.add(v)
            elif isinstance(v, tuple):
                names.update(x for x in v if isinstance(x, str))
        r = tuple(n in names for n in code.co_varnames[1:code.co_argcount])
        _USES[code] = r
    return r


def bind_rule(rule, args, out):
    """For a table rule `rule(g, *args, out) -> grads`: (closure, saved). Keeps only the arguments the rule reads
    (an unused input is not kept alive), and the output as a saved_output alias."""
    uses = _arg_uses(rule)
    n = len(args)
    if uses is None or len(uses) != n + 1:
        keep = [a for a in args]
        o = saved_output(out)
    else:
        keep = [a if u else None for a, u in zip(args, uses)]
        o = saved_output(out) if uses[n] else None
    saved = tuple(a for a in keep if isinstance(a, Tensor))
    if o is not None:
        saved += (o,)
    if n == 1:
        a, = keep
        return (lambda g: rule(g, a, o)), saved
    if n == 2:
        a, b = keep
        return (lambda g: rule(g, a, b, o)), saved
    return (lambda g: rule(g, *keep, o)), saved


_FunctionType = types.FunctionType


def _swap(v, ids, aliases, outs):
    k = ids.get(id(v))
    if k is not None:
        a = aliases.get(k)
        if a is None:
            a = aliases[k] = saved_output(outs[k], k)
        return a
    if type(v) in (tuple, list) and any(id(x) in ids for x in v):
        return type(v)(_swap(x, ids, aliases, outs) for x in v)
    return v


def _decycle(fn, outs):
    """If the backward closure holds one of the op's outputs (directly or in a tuple/list cell), return a copy
    of the function whose cells hold saved_output aliases instead (so output -> node -> closure -> output is no
    cycle), and those aliases (saved: version-checked, bound to the node). The caller's own cells are untouched."""
    ids = {id(o): i for i, o in enumerate(outs)
           if o is not None and (o._dtype.is_floating_point or o._dtype.is_complex)}
    if not ids:
        return fn, ()
    aliases = {}
    cells = fn.__closure__
    new = None
    for j, c in enumerate(cells):
        try:
            v = c.cell_contents
        except ValueError:       # an empty cell
            continue
        r = _swap(v, ids, aliases, outs)
        if r is not v:
            if new is None:
                new = list(cells)
            new[j] = types.CellType(r)
    if new is None:
        return fn, ()
    g = _FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, tuple(new))
    g.__kwdefaults__ = fn.__kwdefaults__
    return g, tuple(aliases.values())


def record(name, inputs, out, backward, saved=()):
    """Attach a node to `out` (a Tensor or a tuple of Tensors; None entries allowed). `inputs`: the tensors (or
    non-tensors, which get no edge) the op read. `saved`: tensors the backward closure reads (version-checked;
    saved_output aliases among them are bound to this node)."""
    node = _new(_node_class(name))
    edges, meta = [], []
    for t in inputs:
        if isinstance(t, Tensor):
            edges.append(_edge(t))
            meta.append((t._shape, t._dtype))
        else:
            edges.append((None, 0))
            meta.append(None)
    multi = isinstance(out, tuple)
    outs = out if multi else (out,)
    saved = tuple(saved)
    if backward.__class__ is _FunctionType and backward.__closure__:
        backward, extra = _decycle(backward, outs)
        saved += extra
    _init_node(node, tuple(edges), backward, tuple(meta), tuple((t, t._st.version) for t in saved),
               len(out) if multi else 0)
    for t in saved:
        if type(t) is _SavedOutput and t._gref is None:     # a fresh alias of this op's output
            t._gref = weakref.ref(node)
            t._requires_grad = True
    for i, o in enumerate(outs):
        if o is not None and (o._dtype.is_floating_point or o._dtype.is_complex):
            o.grad_fn = node
            o._requires_grad = True
            o._out_nr = i
    return out


from .engine import backward, grad  # noqa: E402
from ._inplace import inplace_prepare, inplace_record, rebase_view, record_overwrite, check_inplace  # noqa: E402
from ._hooks import register_tensor_hook, retain_grad  # noqa: E402
from .gradcheck import gradcheck, gradgradcheck, GradcheckError  # noqa: E402
from .function import Function, FunctionCtx, once_differentiable  # noqa: E402
from . import functional  # noqa: E402,F401
from . import graph  # noqa: E402,F401

Variable = Tensor

__all__ = ["Function", "FunctionCtx", "GradcheckError", "Node", "AccumulateGrad", "RemovableHandle", "Variable",
           "backward", "grad", "gradcheck", "gradgradcheck", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode", "is_grad_enabled", "is_inference_mode_enabled", "once_differentiable", "functional",
           "graph", "register_tensor_hook", "retain_grad", "inplace_prepare", "inplace_record", "rebase_view",
           "record_overwrite", "check_inplace", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]
