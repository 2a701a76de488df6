"""The autograd tape: grad mode, graph nodes (named like PyTorch's: AddBackward0, ...), recording, saved tensors.

This is the bottom layer of autograd: it imports only `_tensor`, `_dtypes`, `_device` and the standard library, so
every op module can record (`from .autograd import _tape as AG`). The backward engine, gradcheck, the functional
API, Function and the in-place logic sit above the ops (the rest of the `cltensor.autograd` package).

How an op takes part (see `_ops.apply` for the elementwise table):

    if AG.needs_grad(x, w):
        AG.record("MulBackward0", (x, w), out, lambda g: (g * w, g * x), saved=(x, w))

`record` attaches a node to `out` (`out.grad_fn`), with one edge per input (`next_functions`). The backward
closure returns one gradient per input (or None), computed with cltensor ops, so gradients run as device kernels
and can themselves be differentiated (create_graph=True). Gradients are summed back over broadcast dims to each
input's shape and cast to its dtype by the engine. `saved` lists the tensors the closure reads: their storage
version is checked before the closure runs (in-place modification after the forward raises, as in PyTorch).

Table rules `rule(g, *args, out)` (the elementwise op table) declare what they read (`saves`, see `saves_mask`);
`bind_rule` keeps exactly that, so an input the rule does not read is not kept alive.

Reference cycles: a closure that holds the op's own output would make out -> node -> closure -> out a cycle
(freed only by the cyclic gc). `record` therefore gives the node a copy of such a closure whose cell holds a
`saved_output(out)` alias instead: same memory, version-checked like `saved`, and with `grad_fn` = the node held
weakly, so double backward through saved outputs works. Ops may also do this explicitly (`o = AG.saved_output(out)`
passed in `saved`); `bind_rule` does it for table rules.
"""
import functools
import itertools
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
    flows, like PyTorch's. Subclasses are created per op name (`MulBackward0`, ...) with no extra state.
    `_owns_grads`: the gradients the backward returns are its own new tensors (or the incoming gradients passed
    through), held by nothing else, so the engine may hand them to a leaf's .grad without a copy; False for
    nodes whose backward is user code (autograd.Function), which may keep what it returns."""
    _owns_grads = True
    __slots__ = ("next_functions", "_backward", "_meta", "_saved", "_nout", "_freed", "_hooks", "_pre_hooks",
                 "_tensor_hooks", "_retained", "_metadata", "_seq", "__weakref__")

    def name(self):
        return type(self).__name__

    def _sequence_nr(self):
        """The order of creation (PyTorch's sequence number): the engine runs later-created nodes first."""
        return self._seq

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


_SEQ = itertools.count()


def _init_node(node, next_functions, backward, meta, saved, nout):
    node._seq = next(_SEQ)
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


def _node_class(name, owns_grads=True):
    key = name if owns_grads else (name, False)
    c = _node_classes.get(key)
    if c is None:
        c = type(name, (Node,), {"__slots__": (), "__module__": "cltensor.autograd", "_owns_grads": owns_grads})
        _node_classes[key] = c
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


def saves_mask(saves, nargs, rule, name):
    """Parse a table row's `saves` declaration into the mask `bind_rule` uses: a tuple of nargs + 1 bools (each
    input, then the output). Notation: one character per kept value, the digit of an input's position ("0" the
    first operand, "1" the second, ...) or "o" for the op's result; "" keeps nothing (add: "", mul: "01",
    div: "1o", exp: "o"). Also checks that the rule takes (g, *inputs, out), so that a row and its rule agree."""
    if not isinstance(saves, str):
        raise TypeError(f"op '{name}': a backward rule must declare what it saves (saves=\"01o\"-style string), "
                        f"got {saves!r}")
    keys = [str(i) for i in range(nargs)] + ["o"]
    bad = [c for c in saves if c not in keys]
    if bad or len(set(saves)) != len(saves):
        raise ValueError(f"op '{name}': saves={saves!r} must name distinct inputs 0..{nargs - 1} or 'o'")
    code = getattr(rule, "__code__", None)
    if code is None:
        raise TypeError(f"op '{name}': the backward rule must be a Python function")
    if not code.co_flags & inspect.CO_VARARGS and code.co_argcount != nargs + 2:
        raise TypeError(f"op '{name}': the backward rule takes {code.co_argcount} parameters, expected "
                        f"{nargs + 2} (g, {nargs} inputs, out)")
    return tuple(k in saves for k in keys)


def bind_rule(rule, mask, args, out, split=None):
    """For a table rule `rule(g, *args, out) -> grads` and its `saves_mask`: (closure, saved). Keeps only the
    declared arguments (the others are passed as None), and the output, when declared, as a saved_output alias.
    split: the rule as one function per input (or None); when some input does not require grad (a scalar, a
    mask, a constant), the closure computes only the gradients of those that do."""
    keep = [a if m else None for a, m in zip(args, mask)]
    o = saved_output(out) if mask[-1] else None
    saved = tuple(a for a in keep if isinstance(a, Tensor))
    if o is not None:
        saved += (o,)
    if split is not None:
        parts = tuple(p if isinstance(a, Tensor) and a._requires_grad else None for p, a in zip(split, args))
        if None in parts:
            return (lambda g: tuple(None if p is None else p(g, *keep, o) for p in parts)), saved
    n = len(args)
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
        tv = type(v)
        if id(v) not in ids and tv is not tuple and tv is not list:    # most cells: nothing to swap
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


def record(name, inputs, out, backward, saved=(), owns_grads=True):
    """Attach a node to `out` (a Tensor or a tuple of Tensors; None entries allowed). `inputs`: the tensors (or
    non-tensors, which get no edge) the op read. `saved`: tensors the backward closure reads (version-checked;
    saved_output aliases among them are bound to this node). owns_grads=False: the backward is user code whose
    results may be held elsewhere (see Node)."""
    node = _new(_node_class(name, owns_grads))
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


def check_inplace(t):
    """Raise like PyTorch for an in-place write into a leaf that requires grad (or a view of one)."""
    if not is_grad_enabled():
        return
    if t.grad_fn is None and t._requires_grad:
        b = t._base
        if b is not None and b.grad_fn is None and b._requires_grad:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    b = t._base
    if b is not None and b.grad_fn is None and b._requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")


# The in-place autograd of table ops (inplace_prepare, inplace_record: cltensor/autograd/_inplace.py) copies and
# rewrites tensors with ops, so it sits above the op modules; the ops reach it through these two names, which
# that module sets when `cltensor.autograd` is imported (always, by `import cltensor`).
def inplace_prepare(rule, mask, self, others):
    raise RuntimeError("cltensor.autograd is not initialised (import cltensor)")


inplace_record = inplace_prepare
