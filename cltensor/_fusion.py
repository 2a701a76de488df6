"""Kernel fusion: `cltensor.compile(fn)`.

Each call of a compiled function runs `fn` once on symbolic tensors (`_Sym`: shape and dtype, no storage). The
elementwise dispatch (`_ops.apply`, `where`, dtype conversion) and `sum`/`mean` record graph nodes instead of
launching kernels, using exactly the eager dtype rules and C expressions of the op table. The graph is then run
with as few kernels as it allows:

- a connected chain of elementwise ops becomes ONE kernel of templates/elementwise.mako (the flat or strided
  variant, chosen by the operands' layout as for any eager op): each op's expression is a statement, evaluated in
  its own compute dtype and cast to its own result dtype, so results equal the eager ones (integers bitwise;
  floats up to the compiler's freedom to contract `a * b + c`);
- `sum()`/`mean()` over all elements of such a chain is one pass of reduce.mako's `fused_all` (the chain is the
  map of the reduction, no intermediate tensor), plus the usual small second stage over the partials;
- anything else (reductions over some dims, float16 intermediates that eager code rounds to half) is a
  boundary: the values feeding it are materialised by a fused kernel and the eager op runs on them.

Tracing again on every call costs a few microseconds per op in Python but needs no guards: Python control flow,
closures and changing scalars behave exactly as in eager code (scalars travel as kernel arguments, so new values
never compile a new kernel). A function the tracer cannot follow (an op that needs real data, such as `.item()`,
`bool(t)`, indexing, matmul, in-place writes or random numbers) runs eagerly instead: `compiled.stats` counts
fused and eager calls and keeps the last reason. Gradients: when autograd needs to record (grad mode on and an
input or captured tensor requires grad) the call runs eagerly too, so backward is exactly the eager one.
"""
import functools

from . import _dtypes as D
from . import _ew
from . import _kernels as K
from . import _ops as O
from . import autograd as AG
from ._tensor import Tensor, _new, contiguous_strides, empty_tensor, make, prod


class _Unsupported(Exception):
    pass


class _Sym(Tensor):
    """A symbolic tensor: the value of graph node `_node` (shape, dtype and device only)."""
    __slots__ = ("_node",)

    def __repr__(self):
        return f"<symbolic tensor {list(self._shape)} {self._dtype._alias} traced by cltensor.compile>"

    def __bool__(self):
        raise _Unsupported("bool() of a traced tensor needs its value")


class _SymStorage:
    """The storage of a symbolic tensor: no buffer, only the node whose value it will hold. View functions run
    unchanged on symbolic tensors (they only compute shapes and strides over it); a view is recorded as a node
    when an op reads it. Kernels never get it (`buf` is None: pyopencl refuses it, the call runs eagerly)."""
    __slots__ = ("owner", "rt", "nbytes", "buf", "host", "shared", "version", "__weakref__")

    def __init__(self, owner, rt, nbytes):
        self.owner, self.rt, self.nbytes = owner, rt, nbytes
        self.buf = self.host = None
        self.shared = False
        self.version = 0


class _Node:
    __slots__ = ("kind", "args", "shape", "dtype", "expr", "cdts", "rdt", "red", "uses", "value", "st")

    def __init__(self, kind, args, shape, dtype):
        self.kind, self.args, self.shape, self.dtype = kind, args, shape, dtype
        self.expr = self.cdts = self.rdt = self.red = self.st = None
        self.uses = 0
        self.value = None


class _Trace:
    def __init__(self, device):
        from . import _device as dv
        self.device = device
        self.rt = dv.runtime(device)
        self.nodes = []
        self.needs_grad = False

    def sym(self, node, strides=None, offset=0):
        """A symbolic tensor for `node`: contiguous (as its computed value will be), or the real layout of an
        input, so that views of it compose to views of the real tensor."""
        s = _new(_Sym)
        s._st = node.st = _SymStorage(node, self.rt, prod(node.shape) * node.dtype.itemsize if strides is None
                                      else node.value._st.nbytes)
        s._shape = node.shape
        s._strides = contiguous_strides(node.shape) if strides is None else strides
        s._offset = offset
        s._dtype = node.dtype
        s._device = self.device
        s._requires_grad = False
        s.grad = None
        s.grad_fn = None
        s._retains_grad = False
        s._hooks = None
        s._base = None
        s._out_nr = 0
        s._node = node
        self.nodes.append(node)
        return s

    def operand(self, a):
        if isinstance(a, _Sym):
            a._node.uses += 1
            return a._node
        if isinstance(a, Tensor) and type(a._st) is _SymStorage:     # a view of a symbolic tensor
            n = _Node("view", [a._st.owner], a._shape, a._dtype)
            a._st.owner.uses += 1
            n.red = (a._strides, a._offset)
            n.uses = 1
            self.nodes.append(n)
            return n
        if isinstance(a, Tensor):
            if a._device != self.device:
                raise _Unsupported("operands on another device")
            if a._requires_grad and AG.is_grad_enabled():
                self.needs_grad = True
            return a
        return a

    def ew(self, expr, args, cdts, rdt, odt):
        shape = _ew.broadcast_shapes(*[a._shape for a in args if isinstance(a, Tensor)])
        n = _Node("ew", [self.operand(a) for a in args], shape, odt)
        n.expr, n.cdts, n.rdt = expr, tuple(cdts), rdt
        return self.sym(n)


_trace = None      # the active _Trace while a compiled function is being traced


# ---------------------------------------------------------------- hooks called by the eager dispatch

def is_sym(a):
    """A symbolic tensor or a view of one."""
    return isinstance(a, Tensor) and type(a._st) is _SymStorage


def _has_sym(args):
    for a in args:
        if isinstance(a, Tensor) and type(a._st) is _SymStorage:
            return True
    return False


def apply_hook(name, args, out, expr):
    """Called by _ops.apply while tracing. Returns a _Sym, or None to let eager code run (no symbolic operand)."""
    if not _has_sym(args):
        return None
    if out is not None:
        raise _Unsupported(f"{name}(out=...)")
    args = [O._check_scalar(a) for a in args]
    for a in args:
        if isinstance(a, Tensor) and not isinstance(a, _Sym) and a._device != _trace.device and a._shape == ():
            raise _Unsupported("0-d tensor on another device")
        if not isinstance(a, Tensor) and hasattr(a, "__array__"):
            raise _Unsupported("array operand")
    op_ = O.OPS[name]
    if op_.special is not None and expr is None:
        expr = op_.special(args)
    cdts, rdt, odt = O._rule(op_, args)
    if name in O._INT_DIV and cdts[1].category <= 1:
        if isinstance(args[1], Tensor):
            raise _Unsupported(f"integer {name} by a tensor (checks the divisor's values)")
        O._int_div_check(name, args, cdts)
    elif name == "pow":
        O._int_pow_check(args)
    ex = (expr or op_.expr_for(cdts[0])).replace("$T", cdts[0].ctype_compute)
    return _trace.ew(ex, args, cdts, rdt, odt)


def where_hook(cond, a, b, rt):
    return _trace.ew("x0 ? x1 : x2", [cond, a, b], (D.bool_, rt, rt), rt, rt)


def cast_hook(t, dtype):
    return _trace.ew("x0", [t], (t._dtype,), t._dtype, dtype)


def reduce_hook(kind, x, dims, keepdim, odt, acc, n):
    """sum/mean of a symbolic tensor over `dims` (normalised)."""
    from . import _reduce as R
    node = _Node("red", [_trace.operand(x)], R._out_shape(x._shape, dims, keepdim), odt)
    node.red = (kind, dims, keepdim, acc, n)
    return _trace.sym(node)


def inplace_hook(name):
    raise _Unsupported(f"in-place {name}_ while tracing")


# ---------------------------------------------------------------- compile

class Compiled:
    """What `cltensor.compile(fn)` returns: call it like fn."""

    def __init__(self, fn):
        self.fn = fn
        self.stats = {"fused": 0, "eager": 0, "reason": None}
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        global _trace
        if _trace is not None:          # nested compiled call: part of the outer trace
            return self.fn(*args, **kwargs)
        dev = None
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, Tensor):
                dev = a._device
                if a._requires_grad and AG.is_grad_enabled():
                    return self._eager("an input requires grad", args, kwargs)
        if dev is None:
            return self._eager("no tensor arguments", args, kwargs)
        tr = _Trace(dev)
        sargs = [_input(tr, a) for a in args]
        skw = {k: _input(tr, v) for k, v in kwargs.items()}
        _trace = tr
        K.tracing = True
        failed = None
        try:
            res = self.fn(*sargs, **skw)
        except _Unsupported as e:
            failed = str(e)
        except Exception as e:          # the eager run raises its own (same) error, or succeeds
            failed = f"{type(e).__name__}: {e}"
        finally:
            _trace = None
            K.tracing = False
        if failed is not None:
            return self._eager(failed, args, kwargs)
        if tr.needs_grad:
            return self._eager("a captured tensor requires grad", args, kwargs)
        try:
            outs = _collect(tr, res)
            _check_device(tr)
        except _Unsupported as e:
            return self._eager(str(e), args, kwargs)
        _run_graph(tr, outs)
        self.stats["fused"] += 1
        return _realise(res, iter(outs))

    def _eager(self, reason, args, kwargs):
        self.stats["eager"] += 1
        self.stats["reason"] = reason
        if K.DEBUG:
            import sys
            print(f"[cltensor] compile({getattr(self.fn, '__name__', self.fn)}): eager call ({reason})",
                  file=sys.stderr)
        return self.fn(*args, **kwargs)


def compile(fn=None, **options):
    """Fuse the elementwise ops (and sum/mean over all elements) of `fn` into few generated kernels.

    Usable as `cfn = cltensor.compile(fn)` or as a decorator (`@cltensor.compile`). Keyword options of
    torch.compile (`mode`, `fullgraph`, `dynamic`, `backend`) are accepted and ignored. See cltensor/_fusion.py."""
    if fn is None:
        return lambda f: Compiled(f)
    return Compiled(fn)


def _input(tr, a):
    if isinstance(a, Tensor):
        if a._device != tr.device:
            raise _Unsupported("inputs on several devices")
        n = _Node("in", [a], a._shape, a._dtype)
        n.value = a
        return tr.sym(n, a._strides, a._offset)
    return a


def _collect(tr, res):
    outs = []

    def walk(v):
        if isinstance(v, _Sym):
            outs.append(v._node)
        elif isinstance(v, Tensor) and type(v._st) is _SymStorage:
            outs.append(tr.operand(v))
        elif isinstance(v, (tuple, list)):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
    walk(res)
    return outs


def _realise(v, outs):
    """fn's result with each symbolic tensor (or view of one) replaced by its value, in _collect's order."""
    if isinstance(v, Tensor) and type(v._st) is _SymStorage:
        return next(outs).value
    if isinstance(v, tuple) and hasattr(v, "_fields"):
        return type(v)(*[_realise(x, outs) for x in v])
    if isinstance(v, (tuple, list)):
        return type(v)([_realise(x, outs) for x in v])
    if isinstance(v, dict):
        return {k: _realise(x, outs) for k, x in v.items()}
    return v


def _check_device(tr):
    from . import _device as dv
    if dv.runtime(tr.device) is None:
        raise _Unsupported("host-only device")
    if not dv.runtime(tr.device).info.fp64:
        for n in tr.nodes:
            if n.dtype in (D.float64, D.complex128):
                raise _Unsupported("float64 on a device without fp64")


# ---------------------------------------------------------------- running a traced graph

def _run_graph(tr, outs):
    """Decide which nodes get a tensor (outputs, operands of reductions that cannot take the chain as their
    map, float16 intermediates) and compute those, each with one fused kernel."""
    need = set()
    for n in outs:
        need.add(id(n))
    fused_red = {}
    for n in tr.nodes:
        if n.kind == "red":
            src = n.args[0]
            if isinstance(src, _Node) and src.kind == "ew" and src.uses == 1 and \
                    len(n.red[1]) == len(src.shape) and src.dtype is not D.float16:
                fused_red[id(n)] = src
            elif isinstance(src, _Node):
                need.add(id(src))
        elif n.kind == "view":
            need.add(id(n.args[0]))
        elif n.kind == "ew":
            for a in n.args:
                if isinstance(a, _Node) and a.kind == "ew" and a.dtype is D.float16:
                    need.add(id(a))     # eager code rounds a float16 intermediate to half: so do we
    for n in tr.nodes:
        if n.kind == "ew" and id(n) in need:
            n.value = _materialise(n)
        elif n.kind == "red" and (id(n) in need or n.uses):
            n.value = _reduce(n, fused_red.get(id(n)))
        elif n.kind == "view":
            src = n.args[0].value
            n.value = make(src._st, n.shape, n.red[0], n.red[1], n.dtype, src._device)


def _leaf_value(a):
    if isinstance(a, _Node):
        if a.value is None:
            raise AssertionError("graph node used before it was computed")
        return a.value
    return a


class _Chain:
    """C statements computing a chain of elementwise nodes over a list of leaf operands."""

    def __init__(self):
        self.leaves, self.cdts, self.stmts, self.dtypes = [], [], [], set()
        self._leaf_ix, self._var = {}, {}

    def leaf(self, v, cdt):
        if isinstance(v, Tensor):
            k = id(v)
            j = self._leaf_ix.get(k)
            if j is None:
                j = self._leaf_ix[k] = len(self.leaves)
                self.leaves.append(v)
                self.cdts.append(v._dtype)
            return f"x{j}", v._dtype
        j = len(self.leaves)           # a scalar: one kernel argument per use, in its consumer's compute dtype
        self.leaves.append(v)
        self.cdts.append(cdt)
        return f"x{j}", cdt

    def value(self, n):
        """Name of the C variable holding node n (in n.dtype's compute type)."""
        v = self._var.get(id(n))
        if v is not None:
            return v
        ops = []
        for a, cdt in zip(n.args, n.cdts):
            if isinstance(a, _Node):
                if a.value is not None:
                    ops.append(self.leaf(a.value, None))
                else:
                    ops.append((self.value(a), a.dtype))
            else:
                ops.append(self.leaf(a, cdt))
        k = len(self._var)
        self.dtypes.update(n.cdts)
        self.dtypes.update((n.rdt, n.dtype))
        for j, ((src, sdt), cdt) in enumerate(zip(ops, n.cdts)):
            self.stmts.append(f"const {cdt.ctype_compute} a{k}_{j} = {K.T(cdt).cast_from(src, sdt)};")
        inner = " ".join(f"const {cdt.ctype_compute} x{j} = a{k}_{j};" for j, cdt in enumerate(n.cdts))
        self.stmts.append(f"{n.rdt.ctype_compute} r{k}; {{ {inner} r{k} = ({n.expr}); }}")
        self.stmts.append(f"const {n.dtype.ctype_compute} v{k} = {K.T(n.dtype).cast_from(f'r{k}', n.rdt)};")
        v = self._var[id(n)] = f"v{k}"
        return v

    def program(self, n):
        final = self.value(n)
        extra = tuple(sorted(self.dtypes, key=lambda d: d.name))
        return (tuple(self.stmts), final, extra)


def _materialise(n):
    ch = _Chain()
    prog = ch.program(n)
    out = empty_tensor(n.shape, n.dtype, _device_of(ch.leaves, n))
    if out.numel():
        _ew.run(prog, out, ch.leaves, tuple(ch.cdts), n.dtype)
    return out


def _device_of(leaves, n):
    for v in leaves:
        if isinstance(v, Tensor):
            return v._device
    raise AssertionError("a fused chain without tensor operands")


def _reduce(n, chain_src):
    from . import _reduce as R
    kind, dims, keepdim, acc, cnt = n.red
    odt = n.dtype
    if chain_src is not None:
        r = _fused_all(chain_src, kind, odt, acc, cnt)
        if r is not None:
            return R._reshape_fresh(r, n.shape)
        chain_src.value = _materialise(chain_src)
    x = _leaf_value(n.args[0])
    fin, p1 = ("a / p1", float(cnt)) if kind == "mean" else ("a", 0.0)
    r, _ = R._reduce(x, dims, "sum", odt, acc, fin=fin, p1=p1)
    return R._reshape_fresh(r, n.shape)


def _fused_all(src, kind, odt, acc, cnt):
    """One pass: sum of the chain `src` over all its elements into partials, then the partials' sum. None when
    an operand's layout is not flat (contiguous, or a single broadcast element)."""
    from . import _reduce as R
    ch = _Chain()
    prog = ch.program(src)
    shape = src.shape
    total = prod(shape)
    if total == 0:
        return None
    cs = contiguous_strides(shape)
    kinds = []
    for v in ch.leaves:
        if not isinstance(v, Tensor):
            kinds.append("s")
        elif v._shape == shape and (v._strides == cs or _ew._is_contig(shape, v._strides)):
            kinds.append("t")
        elif prod(v._shape) == 1:
            kinds.append("b")
        else:
            return None
    dev = _device_of(ch.leaves, src)
    rt = empty_tensor((), acc, dev)._st.rt
    big = total > _ew._I32 or any(isinstance(v, Tensor) and _ew._extent(v) > _ew._I32 for v in ch.leaves)
    idx = "long" if big else "int"
    ls = rt.local_size
    groups = max(1, min(2048, -(-total // 4096)))
    chunk = -(-total // groups)
    chunk = -(-chunk // 8) * 8
    groups = -(-total // chunk)
    part = empty_tensor((groups,), acc, dev)
    ins = tuple(v._dtype if isinstance(v, Tensor) else c for v, c in zip(ch.leaves, ch.cdts))
    kern = K.get(rt, "reduce", "fused_all", acc=acc, ins=ins, kinds=tuple(kinds), cdts=tuple(ch.cdts),
                 rdt=src.dtype, expr=prog, idx=idx)
    args, sync = [part._st.buf], part._st.shared
    for v, c in zip(ch.leaves, ch.cdts):
        if isinstance(v, Tensor):
            args += [v._st.buf, v._offset]
            sync = sync or v._st.shared
        else:
            args.append(_ew.scalar_arg(v, c))
    args += [total, chunk]
    K.launch(rt, kern, (K.round_up(groups, ls),), (ls,), args)
    if sync:
        rt.queue.finish()
    fin, p1 = ("a / p1", float(cnt)) if kind == "mean" else ("a", 0.0)
    r, _ = R._reduce(part, (0,), "sum", odt, acc, fin=fin, p1=p1)
    return r
