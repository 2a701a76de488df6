"""Kernel fusion: `cltensor.compile(fn)`.

Each call of a compiled function runs `fn` on symbolic tensors (`_Sym`: shape, dtype, device; the value comes
later). The elementwise dispatch (`_ops.apply`, `where`, dtype conversion) and `sum`/`mean` record graph nodes
instead of launching kernels, with exactly the eager dtype rules and C expressions of the op table. Values are
computed with as few kernels as the graph allows:

- a connected chain of elementwise ops is ONE kernel of templates/elementwise.mako (its flat or strided variant,
  chosen by the operands' layout as for any eager op): each op is a statement evaluated in its own compute dtype
  and cast to its own result dtype, so results equal the eager ones (integers bitwise; floats up to the
  compiler contracting `a * b + c` into an fma);
- `sum()`/`mean()` over all elements of a chain is one pass of reduce.mako's `fused_all` (the chain is the
  reduction's map; no intermediate tensor) plus the usual small second stage over the partials;
- `mm`/`addmm`/`matmul`/`F.linear` of 2-D operands when no gradient is needed are nodes too: one GEMM kernel
  each (the bias read in place), which also computes the elementwise chain that reads it when that chain's
  other operands are scalars (ReLU, tanh, `* 2 + 1`...): the GEMM's epilogue, applied before its store;
- anything else is a graph break, found without a list of ops: any other op that touches a symbolic tensor's
  memory (indexing, `.item()`, printing, a matmul needing gradients...) or launches any kernel first computes
  every pending value that Python still references (CPython's reference counts tell which), then runs eagerly
  on real memory. So data-dependent control flow, in-place writes and untraced ops keep eager semantics; fusion
  happens between breaks. Only values something still refers to are ever written to memory.

Autograd: each computed chain is one autograd node (`CompiledFunctionBackward`) whose backward applies the op
table's backward rules to the chain symbolically, so the gradient of every input is again one fused kernel
(forward intermediates are recomputed inside it, never stored). Under create_graph the rules run eagerly.

Tracing again on every call costs a few microseconds of Python per op but needs no guards: Python control flow,
closures and changing scalars behave exactly as in eager code (scalars are kernel arguments, so new values
never compile a new kernel). `compiled.stats` counts calls, graph breaks and calls that ran eagerly (a trace
error: the eager run then raises the error itself, or succeeds).
"""
import functools
import re
import time
import weakref

from . import _device as dv
from . import _dtypes as D
from . import _dispatch
from . import _ew
from ._registry import register
from . import _kernels as K
from ._launch import I32, extent
from . import _linalg
from . import _ops as O
from .autograd import _tape as AG
from .autograd.engine import _reduce_to
from . import _reductions as R
from ._tensor import Tensor, _init_from, _new, contiguous_strides, empty_tensor, make, prod


class _Unsupported(Exception):
    pass


_trace = None      # the active _Trace while a compiled function (or a fused backward) is being traced
_prev_mode = None  # the dispatch mode that tracing replaced (restored when it ends)


def _set_trace(tr):
    """Start (a _Trace) or end (None) tracing: the tracer becomes the dispatch mode (cltensor/_dispatch.py) that
    the eager op paths and kernel launches consult. Ending twice is harmless."""
    global _trace, _prev_mode
    if tr is not None and _trace is None:
        _prev_mode = _dispatch.push(MODE)
    elif tr is None and _trace is not None:
        _dispatch.pop(_prev_mode)
        _prev_mode = None
    _trace = tr


class _SymStorage:
    """Storage of a symbolic tensor (and of views of it): the node whose value it holds. Reading its memory
    (`buf`, `host`) is a graph break: pending values are computed first."""
    __slots__ = ("owner", "trace", "rt", "nbytes", "__weakref__")

    def __init__(self, owner, trace, nbytes):
        self.owner, self.trace, self.rt, self.nbytes = owner, trace, trace.rt, nbytes

    def _real(self):
        n = self.owner
        if n.value is None:
            if self.trace is not _trace:
                raise RuntimeError("cltensor.compile: a traced tensor was used outside the call that made it")
            _break(self.trace)
        return n.value._st

    def __getattr__(self, name):      # anything else a Storage has (host_view ...): the computed storage's
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._real(), name)

    buf = property(lambda s: s._real().buf)
    host = property(lambda s: s._real().host)
    shared = property(lambda s: s._real().shared)

    def _get_version(self):
        return self._real().version if self.owner.value is not None else 0

    def _set_version(self, v):
        self._real().version = v

    version = property(_get_version, _set_version)


def _sym_grad_fn(s):
    n = s._node
    if n.kind != "in" and not n.rg:
        return None
    if n.value is None:
        s._st._real()
    return n.value.grad_fn


def _no_inplace_grad(v):
    if v is not None:
        raise _Unsupported("an in-place op on a traced tensor that requires grad")


class _Sym(Tensor):
    """A symbolic tensor: the value of graph node `_node`. Its autograd edge is its value's."""
    __slots__ = ("_node",)
    grad_fn = property(_sym_grad_fn, lambda s, v: _no_inplace_grad(v))

    def __repr__(self):
        if self._node.value is None and self._st.trace is _trace:
            self._st._real()
        return repr(self._node.value)


class _Node:
    __slots__ = ("kind", "args", "shape", "dtype", "expr", "cdts", "rdt", "red", "uses", "value", "st", "rg",
                 "rule", "replay")

    def __init__(self, kind, args, shape, dtype):
        self.kind, self.args, self.shape, self.dtype = kind, args, shape, dtype
        self.expr = self.cdts = self.rdt = self.red = self.st = self.value = self.rule = self.replay = None
        self.uses = 0
        self.rg = False


class _Trace:
    def __init__(self, device):
        self.device = device
        self.rt = dv.runtime(device)
        self.nodes = []
        self.grad = AG.is_grad_enabled()
        self.executing = False
        self.breaks = 0
        self.saved = 0      # launches (or passes over memory) fusion saved: ew nodes inlined, epilogues, bias folds

    def sym(self, node, strides=None, offset=0):
        """A symbolic tensor for `node`: contiguous (as its computed value will be), or the real layout of an
        input, so that views of it compose to views of the real tensor."""
        s = _new(_Sym)
        st = _SymStorage(node, self, prod(node.shape) * node.dtype.itemsize if strides is None
                         else node.value._st.nbytes)
        node.st = weakref.ref(st)
        s._node = node
        _init_from(s, st, node.shape, contiguous_strides(node.shape) if strides is None else strides, offset,
                   node.dtype, self.device)
        s._requires_grad = node.rg
        if node.kind == "in":
            s._out_nr = node.value._out_nr
        self.nodes.append(node)
        return s

    def input(self, t):
        n = _Node("in", [t], t._shape, t._dtype)
        n.value = t
        n.rg = t._requires_grad and self.grad
        s = self.sym(n, t._strides, t._offset)
        if t._requires_grad and t.grad_fn is None:     # a leaf: gradients of ops reading s go to t's .grad
            acc = AG._edge(t)[0]
            s.__dict__["_acc_node"] = lambda: acc
        return s

    def operand(self, a):
        """Graph reference for an op's operand: a node (symbolic tensor or a view of one) or the operand."""
        if isinstance(a, Tensor):
            st = a._st
            if type(st) is _SymStorage and st.trace is self:
                if isinstance(a, _Sym):
                    a._node.uses += 1
                    return a._node
                n = _Node("view", [st.owner], a._shape, a._dtype)    # a view of a symbolic tensor
                st.owner.uses += 1
                n.red = a          # the view tensor itself: its memory is its owner's value, autograd its own
                n.rg = a._requires_grad and self.grad
                n.uses = 1
                self.nodes.append(n)
                return n
            if a._device != self.device:
                raise _Unsupported("operands on another device")
        return a

    def ew(self, expr, args, cdts, rdt, odt, rule=None, replay=None):
        shape = _ew.broadcast_shapes(*[a._shape for a in args if isinstance(a, Tensor)])
        refs = [self.operand(a) for a in args]
        n = _Node("ew", refs, shape, odt)
        n.expr, n.cdts, n.rdt, n.rule, n.replay = expr, tuple(cdts), rdt, rule, replay
        n.rg = self.grad and rule is not None and (odt.is_floating_point or odt.is_complex) and \
            any(r.rg if isinstance(r, _Node) else (isinstance(r, Tensor) and r._requires_grad) for r in refs)
        return self.sym(n)


# ---------------------------------------------------------------- hooks called by the eager dispatch

def is_sym(a):
    """A symbolic tensor (or a view of one) of the trace in progress."""
    return isinstance(a, Tensor) and type(a._st) is _SymStorage and a._st.trace is _trace


def _has_sym(args):
    for a in args:
        if isinstance(a, Tensor) and type(a._st) is _SymStorage and a._st.trace is _trace:
            return True
    return False


def apply_hook(name, args, out, expr):
    """Called by _ops.apply while tracing. Returns a _Sym, or None to let eager code run (no symbolic operand)."""
    if not _has_sym(args) or out is not None:
        return None                     # out=: eager (writing into `out` is a graph break)
    args = [O._check_scalar(a) for a in args]
    for a in args:
        if isinstance(a, Tensor) and not is_sym(a) and a._device != _trace.device:
            return None
        if not isinstance(a, Tensor) and hasattr(a, "__array__"):
            return None
    op_ = O.OPS[name]
    if op_.special is not None and expr is None:
        expr = op_.special(args)
    cdts, rdt, odt = O._rule(op_, args)
    if name in O._INT_DIV and cdts[1].category <= 1:
        if isinstance(args[1], Tensor):
            return None                 # checks the divisor's values: eager (a graph break)
        O._int_div_check(name, args, cdts)
    elif name == "pow":
        O._int_pow_check(args)
    ex = (expr or op_.expr_for(cdts[0])).replace("$T", cdts[0].ctype_compute)
    return _trace.ew(ex, args, cdts, rdt, odt, op_.backward,
                     lambda *a: O.apply(name, *a, expr=expr))


def _where_rule(g, cond, a, b, o):
    return (None, O.where(cond, g, 0.0) if isinstance(a, Tensor) else None,
            O.where(cond, 0.0, g) if isinstance(b, Tensor) else None)


def where_hook(cond, a, b, rt):
    return _trace.ew("x0 ? x1 : x2", [cond, a, b], (D.bool_, rt, rt), rt, rt, _where_rule, O.where)


def cast_hook(t, dtype):
    src = t._dtype
    return _trace.ew("x0", [t], (src,), src, dtype, lambda g, x, o: (g.to(src),),
                     lambda x: O.to_copy(x, dtype, x._device))


def reduce_hook(kind, x, dims, keepdim, odt, acc, n):
    """sum/mean of a symbolic tensor over `dims` (normalised)."""
    ref = _trace.operand(x)
    node = _Node("red", [ref], R._out_shape(x._shape, dims, keepdim), odt)
    node.red = (kind, dims, keepdim, acc, n)
    node.rg = isinstance(ref, _Node) and ref.rg
    return _trace.sym(node)


def inplace_hook(t):
    """_ops.apply_ while tracing: in-place ops on traced values run eagerly on their (computed) memory, except
    where autograd would have to rewrite the traced tensor's history."""
    if is_sym(t) and t._requires_grad:
        _no_inplace_grad(True)


def mm_hook(inp, a, b, beta, alpha):
    """beta * inp + alpha * a @ b of 2-D operands on the trace's device (mm, addmm, matmul, F.linear) when no
    gradient is needed: a node ("mm") computed later by one GEMM, which may then take the elementwise chain that
    consumes it as its epilogue (see _epilogue_of). None: eager (anything else, or a shape error to raise)."""
    tr = _trace
    if tr.executing or a.dim() != 2 or b.dim() != 2 or a._shape[1] != b._shape[0] or not a._shape[1] or \
            a._dtype.is_complex or \
            AG.needs_grad(inp, a, b) or type(alpha) not in (int, float) or type(beta) not in (int, float):
        return None
    shape = (a._shape[0], b._shape[1])
    if beta == 0:
        inp = None
    elif not isinstance(inp, Tensor) or inp.dim() > 2 or inp._dtype is not a._dtype or \
            _ew.broadcast_shapes(inp._shape, shape) != shape:
        return None
    for t in (inp, a, b):
        if t is not None and t._device != tr.device:
            return None
    n = _Node("mm", [tr.operand(t) for t in (inp, a, b)], shape, a._dtype)
    n.red = (beta, alpha)
    return tr.sym(n)


def before_launch():
    """Called by _kernels.launch while tracing: an eager kernel may read or write anything, so every pending
    value still referenced is computed first (a graph break)."""
    if not _trace.executing:
        _break(_trace)


class _TraceMode(_dispatch.Mode):
    """The tracer as the dispatch mode: each hook records a graph node when an operand is symbolic (a value of
    the trace in progress) and returns None (eager execution) otherwise."""

    def ew(self, name, args, out, expr):
        return apply_hook(name, args, out, expr)

    def inplace(self, t):
        inplace_hook(t)

    def where(self, cond, a, b, rt, out):
        if out is None and _has_sym((cond, a, b)):
            return where_hook(cond, a, b, rt)
        return None

    def cast(self, t, dtype):
        return cast_hook(t, dtype) if is_sym(t) else None

    def reduce(self, kind, x, dims, keepdim, odt, acc, n):
        return reduce_hook(kind, x, dims, keepdim, odt, acc, n) if is_sym(x) else None

    def mm(self, inp, a, b, beta, alpha):
        return mm_hook(inp, a, b, beta, alpha)

    def before_launch(self):
        before_launch()


MODE = _TraceMode()


# ---------------------------------------------------------------- compile

SMALL = 1 << 14      # tensors of at most this many elements: a call's cost is host time (see Compiled.__call__)
TRIALS = 2           # timed calls of each mode before choosing one for a signature of small tensors


class Compiled:
    """What `cltensor.compile(fn)` returns: call it like fn (attributes are fn's, e.g. a module's)."""

    def __init__(self, fn):
        self.__dict__["fn"] = fn
        self.__dict__["stats"] = {"calls": 0, "breaks": 0, "eager": 0, "reason": None, "plain": 0}
        # per call signature: "eager" (tracing it fused nothing, or was slower), "trace", or the host times
        # {"trace": [...], "eager": [...]} of trial calls while that is being decided
        self.__dict__["_mode"] = {}
        functools.update_wrapper(self, fn, updated=())

    def __getattr__(self, name):
        return getattr(self.__dict__["fn"], name)

    def __call__(self, *args, **kwargs):
        """Trace the call (first time per signature). A signature whose trace fused nothing runs eagerly from
        then on. With tensors of at most SMALL elements every op is host overhead (launches are asynchronous),
        and tracing a call costs more Python than an eager op: the next calls alternate traced and eager,
        TRIALS each, timed on the host, and the faster mode is kept (a tiny model's compiled forward is
        slower than eager unless fusion saves several launches)."""
        if _trace is not None:          # nested compiled call: part of the outer trace
            return self.fn(*args, **kwargs)
        dev = None
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, Tensor):
                dev = a._device
                break
        if dev is None:
            return self._eager("no tensor arguments", args, kwargs)
        sig, small = _signature(args, kwargs)
        mode = self._mode.get(sig)
        if mode == "eager":
            self.stats["plain"] += 1
            return self.fn(*args, **kwargs)
        if mode is None or mode == "trace":
            ok, r, tr = self._traced(dev, args, kwargs)
            if ok and mode is None and len(self._mode) < 256:
                self._mode[sig] = "eager" if not tr.saved else {"trace": [], "eager": []} if small else "trace"
            return r
        times = mode                    # trial calls: alternate, time on the host
        which = "trace" if len(times["trace"]) <= len(times["eager"]) else "eager"
        t0 = time.perf_counter()
        if which == "trace":
            ok, r, _ = self._traced(dev, args, kwargs)
            if not ok:
                return r
        else:
            self.stats["plain"] += 1
            r = self.fn(*args, **kwargs)
        times[which].append(time.perf_counter() - t0)
        if len(times["eager"]) >= TRIALS:
            self._mode[sig] = "eager" if min(times["eager"]) < min(times["trace"]) else "trace"
        return r

    def _traced(self, dev, args, kwargs):
        """(traced successfully, result, trace); an eager fallback's result when tracing failed."""
        tr = _Trace(dev)
        if tr.rt is None:
            return False, self._eager("host-only device", args, kwargs), tr
        sargs = [tr.input(a) if isinstance(a, Tensor) and a._device == dev else a for a in args]
        skw = {k: (tr.input(v) if isinstance(v, Tensor) and v._device == dev else v) for k, v in kwargs.items()}
        _set_trace(tr)
        failed = None
        try:
            res = self.fn(*sargs, **skw)
            _set_trace(None)
            outs = _collect(tr, res)
            _run_graph(tr, outs + _alive(tr))
        except Exception as e:          # the eager run raises its own (same) error, or succeeds
            failed = e
        finally:
            _set_trace(None)
            # a view node holds its symbolic view tensor, whose storage holds the trace, whose list holds the
            # node: a reference cycle that kept every value of the call (outputs too) until Python's cyclic GC
            # ran, so the memory pool could not reuse their buffers. Nothing reads the list after the call.
            tr.nodes = []
        if failed is not None:
            if tr.breaks:               # eager code already ran: its effects (in-place writes) must not repeat
                if isinstance(failed, _Unsupported):
                    raise RuntimeError(f"cltensor.compile: {getattr(self.fn, '__name__', self.fn)}: {failed} "
                                       "after a graph break (eager code already ran); call it uncompiled") \
                        from None
                raise failed            # as eager code would have raised it, at the same point
            return False, self._eager(f"{type(failed).__name__}: {failed}", args, kwargs), tr
        self.stats["calls"] += 1
        self.stats["breaks"] += tr.breaks
        return True, _realise(res, iter(outs)), tr

    def _eager(self, reason, args, kwargs):
        self.stats["eager"] += 1
        self.stats["reason"] = reason
        if K.DEBUG:
            import sys
            print(f"[cltensor] compile({getattr(self.fn, '__name__', self.fn)}): eager call ({reason})",
                  file=sys.stderr)
        return self.fn(*args, **kwargs)


def _signature(args, kwargs):
    """(What decides whether tracing a call can fuse anything: tensor shapes, dtypes, devices and
    requires_grad, other arguments' types, and the grad mode; whether all its tensors are SMALL)."""
    small = [True]

    def one(a):
        if isinstance(a, Tensor):
            if small[0] and prod(a._shape) > SMALL:
                small[0] = False
            return (a._shape, a._dtype, a._device, a._requires_grad)
        if isinstance(a, (tuple, list)):
            return tuple(one(x) for x in a)
        return type(a)
    sig = (AG.is_grad_enabled(), tuple(one(a) for a in args), tuple((k, one(v)) for k, v in kwargs.items()))
    return sig, small[0]


@register("compile", kind="util")
def compile(model=None, **options):
    """Fuse the elementwise ops (and sum/mean over all elements) of a function or module into few generated
    kernels. `cfn = cltensor.compile(fn)` or `@cltensor.compile`. torch.compile's keyword options (`mode`,
    `fullgraph`, `dynamic`, `backend`...) are accepted and ignored. How it works: cltensor/_fusion.py.
    `mode="reduce-overhead"` captures the calls into graphs instead and replays them (cltensor/_graphs.py,
    docs/graphs.md): one capture per input signature, behind guards, eager where capture is impossible."""
    wrap = Compiled
    if options.get("mode") == "reduce-overhead":
        from ._graphs import ReduceOverhead as wrap
    if model is None:
        return lambda f: wrap(f)
    if not callable(model):
        raise TypeError(f"compile(): expected a callable, got {type(model).__name__}")
    return wrap(model)


def _collect(tr, res, outs=None):
    """Nodes of the symbolic tensors in fn's result, in _realise's order (no closure: no reference cycle, so the
    graph and its intermediate values are freed as soon as the call returns)."""
    if outs is None:
        outs = []
    if isinstance(res, Tensor) and type(res._st) is _SymStorage:
        if res._st.trace is not tr:
            raise RuntimeError("cltensor.compile: returned a traced tensor of another call")
        outs.append(tr.operand(res))
    elif isinstance(res, (tuple, list)):
        for x in res:
            _collect(tr, x, outs)
    elif isinstance(res, dict):
        for x in res.values():
            _collect(tr, x, outs)
    return outs


def _realise(v, outs):
    if isinstance(v, Tensor) and type(v._st) is _SymStorage:
        return next(outs).value
    if isinstance(v, tuple) and hasattr(v, "_fields"):
        return type(v)(*[_realise(x, outs) for x in v])
    if isinstance(v, (tuple, list)):
        return type(v)([_realise(x, outs) for x in v])
    if isinstance(v, dict):
        return {k: _realise(x, outs) for k, x in v.items()}
    return v


def _alive(tr):
    """Pending nodes that Python still references (a symbolic tensor or a view of it is alive)."""
    return [n for n in tr.nodes if n.value is None and n.kind in ("ew", "red", "mm") and n.st() is not None]


def _break(tr):
    pend = _alive(tr)
    if pend:
        tr.breaks += 1
        _run_graph(tr, pend)


# ---------------------------------------------------------------- running a traced graph

def _run_graph(tr, outs):
    """Compute the values of `outs`: each output, each operand of a reduction that cannot take its chain as its
    map or of a GEMM, each owner of a view and each float16 intermediate (eager code rounds it to half) is written
    by one fused kernel; all other elementwise nodes are statements inside those kernels. A GEMM node is one
    GEMM kernel, which writes the chain that consumes it instead when that chain can be its epilogue."""
    tr.saved += _fold_bias_adds(tr)
    reach, stack = set(), list(outs)
    while stack:
        n = stack.pop()
        if id(n) in reach or (n.value is not None and n.kind != "view"):
            continue
        reach.add(id(n))
        stack.extend(a for a in n.args if isinstance(a, _Node))
    need = {id(n) for n in outs}
    fused_red = {}
    for n in tr.nodes:
        if id(n) not in reach:
            continue
        if n.kind == "red":
            src = n.args[0]
            if isinstance(src, _Node) and src.value is None:
                if src.kind == "ew" and src.uses == 1 and len(n.red[1]) == len(src.shape) and \
                        src.dtype is not D.float16 and src.dtype is not D.bfloat16:
                    fused_red[id(n)] = src
                else:
                    need.add(id(src))
        elif n.kind == "view":
            need.add(id(n.args[0]))
        elif n.kind == "ew":
            for a in n.args:
                if isinstance(a, _Node) and a.kind == "ew" and a.dtype in (D.float16, D.bfloat16):
                    need.add(id(a))
        elif n.kind == "mm":
            need.update(id(a) for a in n.args if isinstance(a, _Node))
    epi = {}      # id(chain root) -> the GEMM node it takes as its epilogue's x0
    for n in tr.nodes:
        if n.kind == "ew" and id(n) in need and id(n) in reach and n.value is None:
            m = _epilogue_of(n, need)
            if m is not None:
                epi[id(n)] = m
    fused = {id(m) for m in epi.values()}
    tr.saved += len(epi) + sum(1 for n in tr.nodes if n.kind == "ew" and id(n) in reach and n.value is None and
                               id(n) not in need)
    tr.executing = True
    try:
        for n in tr.nodes:
            if id(n) not in reach or n.value is not None:
                continue
            if n.kind == "ew" and id(n) in need:
                n.value = _materialise(n, epi.get(id(n)))
            elif n.kind == "mm" and id(n) not in fused:
                n.value = _gemm(n)
            elif n.kind == "red":
                n.value = _reduce(n, fused_red.get(id(n)))
            elif n.kind == "view":
                n.value = _real_view(n.red)
    finally:
        tr.executing = False


def _fold_bias_adds(tr):
    """`a @ b + bias` written with `+`: the add node becomes the GEMM itself, with bias as its beta input (read in
    place, broadcast) exactly as addmm(bias, a, b) computes it, so that a chain after it can still be the GEMM's
    epilogue (`(x @ w.T + b).relu()` is one kernel). Only a pending product of no other use, a bias tensor of
    the product's dtype (not float16: eager rounds the product to half before adding) and at most 2-D, alpha 1
    (acc + bias rounds once, as eager's add of the rounded product does) and no gradient needed. The product
    node itself is left as it was (a reference held elsewhere still computes it). Returns how many were folded."""
    folded = 0
    for n in tr.nodes:
        if n.kind != "ew" or n.value is not None or n.expr != "x0 + x1" or n.rg or \
                n.dtype in (D.float16, D.bfloat16) or \
                n.cdts != (n.dtype, n.dtype) or n.rdt is not n.dtype:
            continue
        for j in (0, 1):
            m, bias = n.args[j], n.args[1 - j]
            if not (isinstance(m, _Node) and m.kind == "mm" and m.value is None and m.uses == 1 and
                    m.args[0] is None and m.red[1] == 1 and m.shape == n.shape and m.dtype is n.dtype):
                continue
            bt = bias if isinstance(bias, Tensor) else bias.value if isinstance(bias, _Node) and \
                bias.kind == "in" else bias.red if isinstance(bias, _Node) and bias.kind == "view" else None
            if bt is None or bt._dtype is not n.dtype or bt.dim() > 2:
                continue
            n.kind, n.args, n.red, n.expr = "mm", [bias, m.args[1], m.args[2]], (1, m.red[1]), None
            m.uses -= 1
            for a in m.args[1:]:
                if isinstance(a, _Node):
                    a.uses += 1
            folded += 1
            break
    return folded


def _epilogue_of(root, need):
    """The pending GEMM node that the chain computing `root` may take as its epilogue's x0: the chain's only
    tensor operand, read once, of root's shape and dtype (not float16); all other operands are scalars and every
    node in between is read once (inlined in this chain only). None otherwise."""
    mm, stack = None, [root]
    while stack:
        n = stack.pop()
        for a in n.args:
            if not isinstance(a, _Node):
                if isinstance(a, Tensor):
                    return None
            elif a.value is not None or id(a) in need or a.uses != 1 or a.kind not in ("ew", "mm") or \
                    (a.kind == "mm" and mm is not None):
                return None
            elif a.kind == "ew":
                stack.append(a)
            else:
                mm = a
    if mm is None or mm.shape != root.shape or mm.dtype is not root.dtype or mm.dtype in (D.float16, D.bfloat16):
        return None
    return mm


def _real_view(v):
    """The view tensor v (storage: a traced tensor's) as a view of its owner's computed memory, autograd kept."""
    o = v._st.owner.value
    r = make(o._st, v._shape, v._strides, v._offset, v._dtype, v._device)
    r.grad_fn, r._requires_grad, r._out_nr = v.grad_fn, v._requires_grad, v._out_nr
    return r


_XREF = re.compile(r"(?<![A-Za-z0-9_.])x(\d+)(?![A-Za-z0-9_])")   # operand j of an op's C expression


class _Chain:
    """C statements computing a chain of elementwise nodes over a list of leaf operands (tensors, scalars)."""

    def __init__(self):
        self.leaves, self.cdts, self.stmts, self.dtypes = [], [], [], set()
        self.order, self.refs = [], {}         # nodes in evaluation order; per node: ('n', node) / ('l', j)
        self._leaf_ix, self._var = {}, {}

    def leaf(self, v, cdt):
        """Operand v (a tensor, a GEMM node whose value is the epilogue's x0, or a scalar): index, name, dtype."""
        if isinstance(v, (Tensor, _Node)):
            j = self._leaf_ix.get(id(v))
            if j is None:
                j = self._leaf_ix[id(v)] = len(self.leaves)
                self.leaves.append(v)
                self.cdts.append(v.dtype)
            return j, f"x{j}", v.dtype
        j = len(self.leaves)           # a scalar: one kernel argument per use, in its consumer's compute dtype
        self.leaves.append(v)
        self.cdts.append(cdt)
        return j, f"x{j}", cdt

    def value(self, n):
        """Name of the C variable holding node n (in n.dtype's compute type)."""
        v = self._var.get(id(n))
        if v is not None:
            return v
        ops, refs = [], []
        for a, cdt in zip(n.args, n.cdts):
            if isinstance(a, _Node) and a.value is None and a.kind == "ew":
                ops.append((self.value(a), a.dtype))
                refs.append(("n", a))
            else:
                j, name, dt = self.leaf(a.value if isinstance(a, _Node) and a.value is not None else a, cdt)
                ops.append((name, dt))
                refs.append(("l", j))
        k = len(self._var)
        self.dtypes.update(n.cdts)
        self.dtypes.update((n.rdt, n.dtype))
        names = []
        for j, ((src, sdt), cdt) in enumerate(zip(ops, n.cdts)):
            cast = K.T(cdt).cast_from(src, sdt)
            if cast == src:
                names.append(src)
            else:
                self.stmts.append(f"const {cdt.ctype_compute} a{k}_{j} = {cast};")
                names.append(f"a{k}_{j}")
        body = _XREF.sub(lambda m: names[int(m.group(1))], n.expr)
        self.stmts.append(f"const {n.rdt.ctype_compute} r{k} = ({body});")
        self.stmts.append(f"const {n.dtype.ctype_compute} v{k} = {K.T(n.dtype).cast_from(f'r{k}', n.rdt)};")
        self.order.append(n)
        self.refs[id(n)] = refs
        v = self._var[id(n)] = f"v{k}"
        return v

    def program(self, n):
        final = self.value(n)
        extra = tuple(sorted(self.dtypes, key=lambda d: d.name))
        return (tuple(self.stmts), final, extra)

    def first_tensor(self):
        for v in self.leaves:
            if isinstance(v, Tensor):
                return v
        raise AssertionError("a fused chain without tensor operands")

    def needs_grad(self):
        return AG.is_grad_enabled() and any(isinstance(v, Tensor) and v._requires_grad for v in self.leaves)

    def record(self, out, root_grad):
        """One autograd node for the chain: its backward is the chain's rules, traced and fused again."""
        order, refs = _detached(self.order, self.refs)
        leaves = self.leaves
        AG.record("CompiledFunctionBackward", [v if isinstance(v, Tensor) else None for v in leaves], out,
                  lambda g: _chain_backward(order, refs, leaves, root_grad, g))


def _detached(order, refs):
    """Copies of a chain's nodes for its backward closure: the op of each (expression, dtypes, rules) without
    its value or operands. The nodes themselves would reach the chain's output (the root node's value), whose
    grad_fn holds the closure: a reference cycle that kept every output until Python's cyclic GC ran."""
    m = {}
    for n in order:
        c = m[id(n)] = _Node(n.kind, None, n.shape, n.dtype)
        c.expr, c.cdts, c.rdt, c.rule, c.replay, c.rg = n.expr, n.cdts, n.rdt, n.rule, n.replay, n.rg
    return [m[id(n)] for n in order], {id(m[id(n)]): [(k, m[id(r)] if k == "n" else r) for k, r in refs[id(n)]]
                                       for n in order}


def _materialise(n, mm=None):
    """Node n's value: one fused kernel of its chain, or the GEMM node mm's kernel with n's chain as epilogue."""
    ch = _Chain()
    if mm is not None:
        ch.leaf(mm, None)
        return _gemm(mm, (ch.program(n), tuple(ch.cdts), ch.leaves[1:]))
    prog = ch.program(n)
    out = empty_tensor(n.shape, n.dtype, ch.first_tensor()._device)
    if out.numel():
        _ew.run(prog, out, ch.leaves, tuple(ch.cdts), n.dtype)
    if n.rg and ch.needs_grad():
        ch.record(out, lambda g: g)
    return out


def _gemm(n, epi=None):
    """The value of GEMM node n (epi: see _gemm.gemm), computed as eager addmm computes it."""
    inp, a, b = [v.value if isinstance(v, _Node) else v for v in n.args]
    with AG.no_grad():
        return _linalg._add_product(inp, a, b, n.red[0], n.red[1], "AddmmBackward0", epi=epi)


def _reduce(n, chain_src):
    kind, dims, keepdim, acc, cnt = n.red
    if chain_src is not None:
        r = _fused_all(chain_src, kind, n.dtype, acc, cnt)
        if r is not None:
            return R._reshape_fresh(r, n.shape) if r._shape != n.shape else r
        chain_src.value = _materialise(chain_src)
    x = n.args[0].value if isinstance(n.args[0], _Node) else n.args[0]
    if kind == "mean":
        return R.mean(x, dims, keepdim, dtype=n.dtype)
    return R.sum_(x, dims, keepdim, dtype=n.dtype)


def _fused_all(src, kind, odt, acc, cnt):
    """One pass: the chain `src` summed over all its elements into partials, then the partials' sum. None when
    an operand's layout is not flat (contiguous, or a single broadcast element)."""
    ch = _Chain()
    prog = ch.program(src)
    shape = src.shape
    total = prod(shape)
    if total == 0:
        return None
    kinds = []
    for v in ch.leaves:
        if not isinstance(v, Tensor):
            kinds.append("s")
        elif v._shape == shape and _ew._is_contig(shape, v._strides):
            kinds.append("t")
        elif prod(v._shape) == 1:
            kinds.append("b")
        else:
            return None
    t0 = ch.first_tensor()
    dev, part_rt = t0._device, t0._st.rt
    big = total > I32 or any(isinstance(v, Tensor) and extent(v) > I32 for v in ch.leaves)
    ls = part_rt.local_size
    groups = max(1, min(2048, -(-total // 4096)))
    chunk = -(-total // groups)
    chunk = -(-chunk // 8) * 8
    groups = -(-total // chunk)
    part = empty_tensor((groups,), acc, dev)
    ins = tuple(v._dtype if isinstance(v, Tensor) else c for v, c in zip(ch.leaves, ch.cdts))
    kern = K.get(part_rt, "reduce", "fused_all", acc=acc, ins=ins, kinds=tuple(kinds), cdts=tuple(ch.cdts),
                 rdt=src.dtype, expr=prog, idx="long" if big else "int")
    args, sync = [part._st.buf], part._st.shared
    for v, c in zip(ch.leaves, ch.cdts):
        if isinstance(v, Tensor):
            args += [v._st.buf, v._offset]
            sync = sync or v._st.shared
        else:
            args.append(_ew.scalar_arg(v, c))
    args += [total, chunk]
    K.launch(part_rt, kern, (K.round_up(groups, ls),), (ls,), args)
    if sync:
        part_rt.queue.finish()
    fin, p1 = ("a / p1", float(cnt)) if kind == "mean" else ("a", 0.0)
    with AG.no_grad():
        r, _ = R._reduce(part, (0,), "sum", odt, acc, fin=fin, p1=p1)
    if src.rg and ch.needs_grad():
        if kind == "mean":
            ch.record(r, lambda g: g.expand(shape) / cnt)
        else:
            ch.record(r, lambda g: g.expand(shape))
    return r


# ---------------------------------------------------------------- fused backward

def _chain_backward(order, refs, leaves, root_grad, g):
    """Gradients of a computed chain's tensor leaves given the gradient g of its value: the backward rules of
    its ops applied in reverse, traced so that each leaf's gradient is one fused kernel."""
    if AG.is_grad_enabled() or _trace is not None:    # create_graph (or inside a trace): eager, recorded
        return _chain_grads(order, refs, leaves, root_grad(g), lambda n, args: n.replay(*args))
    tr = _Trace(g._device)
    _set_trace(tr)
    try:
        want = [isinstance(v, Tensor) and v._requires_grad for v in leaves]
        L = [tr.input(v) if isinstance(v, Tensor) else v for v in leaves]
        for s, w in zip(L, want):
            if w:
                s._requires_grad = True      # rules test requires_grad to skip unwanted gradients

        def run(n, args):
            s = tr.ew(n.expr, args, n.cdts, n.rdt, n.dtype, n.rule, n.replay)
            s._requires_grad = n.rg
            return s
        grads = _chain_grads(order, refs, L, root_grad(tr.input(g)), run, want)
        _set_trace(None)
        outs = _collect(tr, grads)
        _run_graph(tr, outs)
        return _realise(grads, iter(outs))
    except Exception:
        if tr.breaks:
            raise
    finally:
        _set_trace(None)
        tr.nodes = []       # no reference cycle through view nodes (see Compiled.__call__)
    return _chain_grads(order, refs, leaves, root_grad(g), lambda n, args: n.replay(*args))


def _chain_grads(order, refs, leaves, groot, run, want=None):
    if want is None:
        want = [isinstance(v, Tensor) and v._requires_grad for v in leaves]
    vals = {}
    for n in order:
        args = [vals[id(r)] if k == "n" else leaves[r] for k, r in refs[id(n)]]
        vals[id(n)] = run(n, args)
    grads = {id(order[-1]): groot}
    out = [None] * len(leaves)
    for n in reversed(order):
        gn = grads.pop(id(n), None)
        if gn is None or n.rule is None:
            continue
        args = [vals[id(r)] if k == "n" else leaves[r] for k, r in refs[id(n)]]
        for (k, r), ga in zip(refs[id(n)], n.rule(gn, *args, vals[id(n)])):
            if ga is None:
                continue
            if k == "n":
                if not r.rg:
                    continue
                ga = _reduce_to(ga, r.shape, r.dtype, None, 0)
                grads[id(r)] = ga if id(r) not in grads else grads[id(r)] + ga
            else:
                leaf = leaves[r]
                if not want[r]:
                    continue
                ga = _reduce_to(ga, leaf._shape, leaf._dtype, None, 0)
                out[r] = ga if out[r] is None else out[r] + ga
    return tuple(out)
