"""Captured graphs (PyTorch's CUDA graphs on OpenCL): record the kernel launches of a region once, replay them
later with their arguments already bound.

    g = cltensor.cuda.CUDAGraph()            # also cltensor.graphs.Graph
    with cltensor.cuda.graph(g):
        out = step(static_in)                # recorded, not run
    static_in.copy_(x); g.replay()           # runs the recorded kernels; out holds the result

How capture works (docs/graphs.md has the user's view):
- `_kernels.observer` is set to the graph's recorder: every launch (`_kernels.launch`, `enqueue_set`) is
  recorded and not enqueued. Each recorded launch gets its own clone of the kernel with its arguments set once
  (`Kernel.set_args`), so replay is a loop of `enqueue_nd_range_kernel` with no Python dispatch, autograd
  bookkeeping or allocation. Host-to-device uploads made during capture (`tensor(...)` constants) are recorded
  as copies of a host array the graph keeps.
- Memory: while capturing, every runtime's `alloc` / `release` go through the graph's private pool. A block the
  graph has seen (allocated or freed during capture, or an argument of a recorded launch) is pinned to the graph:
  when its tensor dies it returns to the graph's pool, never to the eager pool, so eager code never receives
  memory that a replay writes. `reset()` (or the graph's death) gives the blocks back.
- Host reads (`item`, `tolist`, printing, `bool`, data-dependent shapes such as `nonzero`) raise RuntimeError
  naming the op: a captured region must not depend on values it computes. Index range checks (which read a
  device flag back) are skipped inside a captured region.
- Random numbers: a Philox draw made during capture (`Generator._next`) is matched to the launch that carries
  its (seed, offset) arguments; each replay after the first draws a fresh offset from the generator and sets
  those arguments, so replays draw new numbers, in the same order as eager calls would.
- Host-side state that changes per call (an optimizer's step count and bias corrections, a scheduler's lr):
  `dynamic(fn)` records fn's launches and, on each replay after the first, runs fn again with launches
  redirected to refresh the scalar arguments of its recorded launches (`Optimizer.step` does this).
The capture call itself pays the host-side effects of the first replay (one optimizer step count, one Philox
offset per draw), so capture followed by N replays leaves the same state as N eager calls.
"""
import sys
import os

import numpy as np
import pyopencl as cl

from . import _dispatch
from . import _device as dv
from . import _kernels as K

__all__ = ["Graph", "graph", "make_graphed_callables", "is_current_stream_capturing", "graph_pool_handle"]

_ENQ = cl._cl.enqueue_nd_range_kernel
_PKG_DIR = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- errors naming the op

def _op_name():
    """The public entry point (outermost cltensor frame below user code) of the running call, e.g. Tensor.item."""
    f = sys._getframe(2)
    name = None
    while f is not None:
        fn = f.f_code.co_filename
        if fn.startswith(_PKG_DIR) and not fn.endswith("_graphs.py"):
            name = getattr(f.f_code, "co_qualname", f.f_code.co_name)
        elif name is not None:
            break
        f = f.f_back
    return name or "a host read"


def _refuse(what):
    raise RuntimeError(f"{_op_name()}: {what} is not allowed while capturing a graph (the captured region must "
                       "not depend on values it computes: move the read out of the captured region)")


# ---------------------------------------------------------------- pinning (runtime pool <-> graph pools)

_pins = {}              # runtime -> {buffer int_ptr: Graph}; a runtime with pins has its release() diverted


def _pinned_release(rt):
    pins = _pins[rt]
    base = dv.Runtime.release

    def release(b, item):
        g = pins.get(item[0].int_ptr)
        if g is None:
            return base(rt, b, item)
        rt.in_use_bytes -= b
        g._free.setdefault((rt, b), []).append(item)
    return release


def _pin(g, rt, item):
    p = _pins.get(rt)
    if p is None:
        p = _pins[rt] = {}
        if "release" not in rt.__dict__:      # while capturing, the capture's own release stays installed
            rt.release = _pinned_release(rt)
    p[item[0].int_ptr] = g


def _unpin_all(g):
    for rt, p in list(_pins.items()):
        for ptr in [ptr for ptr, o in p.items() if o is g]:
            del p[ptr]
        if not p:
            del _pins[rt]
            rt.__dict__.pop("release", None)
    for (rt, b), items in g._free.items():
        for item in items:
            rt.in_use_bytes += b
            dv.Runtime.release(rt, b, item)
    g._free = {}


# ---------------------------------------------------------------- recorded launches

_types_cache = {}


def _arg_types(k):
    """numpy types of kernel k's scalar arguments (None for buffers), from its declared types or signature."""
    t = k.__dict__.get("arg_types")
    if t is not None:
        return t
    key = k.__dict__.get("key", id(k))
    t = _types_cache.get(key)
    if t is None:
        t = []
        for i in range(k.num_args):
            name = k.get_arg_info(i, cl.kernel_arg_info.TYPE_NAME).strip()
            t.append(None if name.endswith("*") else K._ARG_NP.get(name))
        _types_cache[key] = t
    return t


def _bind(k, args, types):
    """args with Python scalars converted to the kernel's argument types (for Kernel.set_args)."""
    out = []
    for a, t in zip(args, types):
        if t is not None and not isinstance(a, np.generic):
            a = t(a)
        out.append(a)
    return out


class _Launch:
    __slots__ = ("rt", "kernel", "orig", "gsize", "lsize", "args", "rng")

    def __init__(self, rt, kernel, orig, gsize, lsize, args):
        self.rt, self.kernel, self.orig, self.gsize, self.lsize, self.args = rt, kernel, orig, gsize, lsize, args
        self.rng = None      # (generator, index of the seed-low argument) of a Philox draw


class _Copy:
    __slots__ = ("rt", "buf", "host", "offset")

    def __init__(self, rt, buf, host, offset):
        self.rt, self.buf, self.host, self.offset = rt, buf, host, offset


def _find_rng(args, seed, off):
    vals = [seed & 0xFFFFFFFF, seed >> 32, off & 0xFFFFFFFF, (off >> 32) & 0xFFFFFFFF]
    for i in range(len(args) - 3):
        a = args[i]
        if isinstance(a, (int, np.integer)) and not isinstance(a, bool) and int(a) == vals[0]:
            if all(isinstance(args[i + j], (int, np.integer)) and int(args[i + j]) == vals[j] for j in (1, 2, 3)):
                return i
    return None


# ---------------------------------------------------------------- capture state

class _Capture:
    """What _dispatch.capture holds while a graph records (the hooks generic code calls)."""

    def __init__(self, g):
        self.g = g
        self.in_dynamic = False
        self.pending_rng = []          # (generator, seed, offset) drawn but not yet seen in a launch

    # hooks --------------------------------------------------------------------------------------
    def rng(self, gen, offset):
        self.pending_rng.append((gen, gen._seed, offset, _op_name()))

    def upload(self, rt, buf, arr, offset=0):
        self.g._ops.append(_Copy(rt, buf, np.array(arr, copy=True), offset))
        self.g._note_buf(rt, buf)

    def host_read(self):
        _refuse("reading a tensor's values on the host")

    def dynamic(self, fn, *args, **kwargs):
        """Run fn (recorded); replays after the first run fn again to refresh its launches' scalar arguments."""
        g = self.g
        n0 = len(g._ops)
        self.in_dynamic = True
        try:
            r = fn(*args, **kwargs)
        finally:
            self.in_dynamic = False
        g._dynamic.append((fn, args, kwargs, [op for op in g._ops[n0:] if isinstance(op, _Launch)]))
        return r

    # the launch observer ---------------------------------------------------------------------------
    def launch(self, rt, kernel, gsize, lsize, args):
        if args is None:
            raise RuntimeError(f"{K.label(kernel)}: a launch with preset arguments cannot be captured")
        lim = kernel.__dict__.get("wg_limit")
        if lim is not None and lsize is not None and len(lsize) == 1 and lsize[0] > lim:
            lsize = (lim,)
        args = list(args)
        types = _arg_types(kernel)
        clone = kernel.clone()
        bound = _bind(kernel, args, types)
        clone.set_args(*bound)
        op = _Launch(rt, clone, kernel, tuple(gsize), None if lsize is None else tuple(lsize), bound)
        if self.pending_rng:
            for j, (gen, seed, off, _) in enumerate(self.pending_rng):
                i = _find_rng(args, seed, off)
                if i is not None:
                    op.rng = (gen, i)
                    del self.pending_rng[j]
                    break
        for a in bound:
            if isinstance(a, cl.MemoryObjectHolder):
                self.g._note_buf(rt, a)
        self.g._ops.append(op)
        return None


class _Refresh:
    """_dispatch.capture during a dynamic segment's refresh: its launches set scalar arguments of the recorded
    clones instead of running."""

    in_dynamic = True

    def __init__(self, launches):
        self.launches = launches
        self.i = 0

    def rng(self, gen, offset):
        pass

    def upload(self, rt, buf, arr, offset=0):
        pass

    def host_read(self):
        _refuse("reading a tensor's values on the host")

    def launch(self, rt, kernel, gsize, lsize, args):
        if self.i >= len(self.launches) or self.launches[self.i].orig is not kernel or args is None:
            raise RuntimeError("graph replay: a dynamic part of the captured region (e.g. an optimizer step) "
                               "launched different kernels than at capture; capture the graph again")
        op = self.launches[self.i]
        self.i += 1
        types = _arg_types(kernel)
        for j, (a, old, t) in enumerate(zip(args, op.args, types)):
            if t is not None and not isinstance(old, cl.MemoryObjectHolder):
                v = a if isinstance(a, np.generic) else t(a)
                if v != old:
                    K.set_scalar(op.kernel, j, t, v)
                    op.args[j] = v
        return None


# ---------------------------------------------------------------- the graph

class Graph:
    """A captured sequence of kernel launches (torch.cuda.CUDAGraph): capture with `cltensor.cuda.graph(g)`,
    run with `g.replay()`."""

    def __init__(self, keep_graph=False):
        self._ops = []
        self._dynamic = []
        self._free = {}         # (runtime, bin bytes) -> [pool items]: the graph's private pool
        self._bufs = {}         # int_ptr -> (rt, buffer) of every block the graph uses
        self._captured = False
        self._replays = 0
        self._plan = None

    # capture ---------------------------------------------------------------------------------------
    def _note_buf(self, rt, buf):
        ptr = buf.int_ptr
        if ptr not in self._bufs:
            self._bufs[ptr] = buf
            if rt is not None:
                _pin(self, rt, (buf,))

    def capture_begin(self, pool=None, capture_error_mode="global"):
        if self._captured:
            raise RuntimeError("this graph was already captured: call reset() first")
        if _dispatch.capture is not None:
            raise RuntimeError("a graph is already being captured")
        if _dispatch.mode is not None:
            raise RuntimeError("graph capture inside cltensor.compile tracing is not supported")
        self._cap = cap = _Capture(self)
        self._rts = [rt for rt in dv._RUNTIMES.values() if rt is not None]
        for rt in self._rts:
            rt.finish()                       # eager work before the region runs before it
            rt.alloc = self._make_alloc(rt)
            rt.release = self._make_release(rt)
        self._saved_observer = K.observer
        K.observer = cap.launch
        _patch_host_reads(True)
        _dispatch.capture = cap

    def _make_alloc(self, rt):
        base = dv.Runtime.alloc

        def alloc(nbytes):
            b = dv.Runtime._bin(nbytes)
            lst = self._free.get((rt, b))
            if lst:
                item = lst.pop()
                rt.in_use_bytes += b
            else:
                b, item = base(rt, nbytes)
            self._note_buf(rt, item[0])
            return b, item
        return alloc

    def _make_release(self, rt):
        def release(b, item):
            self._note_buf(rt, item[0])
            rt.in_use_bytes -= b
            self._free.setdefault((rt, b), []).append(item)
        return release

    def capture_end(self):
        cap = self._cap
        _dispatch.capture = None
        K.observer = self._saved_observer
        _patch_host_reads(False)
        for rt in self._rts:
            rt.__dict__.pop("alloc", None)
            if rt in _pins:
                rt.release = _pinned_release(rt)
            else:
                rt.__dict__.pop("release", None)
        self._cap = None
        self._captured = True
        self._replays = 0
        self._build_plan()
        if cap.pending_rng:
            # a draw whose kernel does not carry (seed, offset) arguments: replays would repeat its numbers
            name = cap.pending_rng[0][3]
            self.reset()
            raise RuntimeError(f"{name}: a random op drew from a generator but its kernel does not take the Philox "
                               "offset as an argument, so a captured graph cannot draw fresh numbers on replay")

    def _build_plan(self):
        plan = []
        for op in self._ops:
            if isinstance(op, _Launch):
                plan.append((op.rt.queue, op.kernel, op.gsize, op.lsize))
            else:
                plan.append((op.rt.queue, None, op.buf, op.host))
        self._plan = plan
        self._queues = {q for q, *_ in plan}
        self._rng = [op for op in self._ops if isinstance(op, _Launch) and op.rng is not None]

    # replay ------------------------------------------------------------------------------------------
    def replay(self):
        """Enqueue the captured launches (asynchronously, as eager ops)."""
        if not self._captured:
            raise RuntimeError("replay(): the graph has not been captured")
        if self._replays:
            self._refresh()
        self._replays += 1
        enq = _ENQ
        for q in self._queues:        # eager kernels held back by a launch gate go first (_device.Queue)
            if q.gate is not None:
                q.open_gate()
        for q, k, g, l in self._plan:
            if k is not None:
                enq(q, k, g, l, None, None, False, False)
            else:
                cl.enqueue_copy(q, g, l, is_blocking=False)

    def _refresh(self):
        for op in self._rng:
            gen, i = op.rng
            off = gen._next()
            s = gen._seed
            for j, v in enumerate((s & 0xFFFFFFFF, s >> 32, off & 0xFFFFFFFF, (off >> 32) & 0xFFFFFFFF)):
                K.set_scalar(op.kernel, i + j, np.uint32, v)
                op.args[i + j] = np.uint32(v)
        if self._dynamic:
            prev_obs, prev_cap = K.observer, _dispatch.capture
            try:
                for fn, args, kwargs, launches in self._dynamic:
                    r = _Refresh(launches)
                    K.observer, _dispatch.capture = r.launch, r
                    fn(*args, **kwargs)
                    if r.i != len(launches):
                        raise RuntimeError("graph replay: a dynamic part of the captured region (e.g. an optimizer "
                                           "step) launched fewer kernels than at capture; capture the graph again")
            finally:
                K.observer, _dispatch.capture = prev_obs, prev_cap

    def reset(self):
        """Forget the captured launches and give the graph's memory back to the pool."""
        self._ops, self._dynamic, self._plan, self._rng = [], [], None, []
        self._captured = False
        _unpin_all(self)
        self._bufs = {}

    def __del__(self):
        try:
            if self._bufs or self._free:
                _unpin_all(self)
        except Exception:
            pass

    # PyTorch's other methods -----------------------------------------------------------------------------
    def pool(self):
        return (id(self),)

    def enable_debug_mode(self):
        pass

    def debug_dump(self, path=None):
        lines = [f"{K.label(op.orig)} global={op.gsize} local={op.lsize}" if isinstance(op, _Launch) else
                 f"copy {op.host.nbytes} bytes to device" for op in self._ops]
        if path is not None:
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
        return lines

    @property
    def num_launches(self):
        return sum(1 for op in self._ops if isinstance(op, _Launch))


def graph_pool_handle():
    return (object(),)


def is_current_stream_capturing():
    return isinstance(_dispatch.capture, _Capture)


class graph:
    """Context manager capturing the region into Graph g (torch.cuda.graph). The region's kernels do not run
    during capture: call g.replay()."""

    def __init__(self, cuda_graph, pool=None, stream=None, capture_error_mode="global"):
        self.g = cuda_graph

    def __enter__(self):
        self.g.capture_begin()
        return self.g

    def __exit__(self, *exc):
        if exc[0] is None:
            self.g.capture_end()
            return False
        try:                        # the region raised: end the capture, keep nothing, let its error through
            self.g.capture_end()
        except RuntimeError:
            pass
        self.g.reset()
        return False


# ---------------------------------------------------------------- host reads refused during capture

_saved = {}


def _patch_host_reads(on):
    from . import _tensor
    if on:
        _saved["host_view"] = dv.Storage.host_view
        _saved["to_numpy"] = _tensor.Tensor._to_numpy_copy

        def host_view(self):
            _dispatch.capture.host_read()

        def to_numpy(self):
            _dispatch.capture.host_read()

        dv.Storage.host_view = host_view
        _tensor.Tensor._to_numpy_copy = to_numpy
    else:
        dv.Storage.host_view = _saved["host_view"]
        _tensor.Tensor._to_numpy_copy = _saved["to_numpy"]


# ---------------------------------------------------------------- make_graphed_callables

def make_graphed_callables(callables, sample_args, num_warmup_iters=3, allow_unused_input=False, pool=None):
    """Graphed versions of callables (functions or modules), as torch.cuda.make_graphed_callables: the forward
    and the backward are captured separately; calls copy their tensor arguments into the static inputs, replay
    the forward graph and return outputs that autograd differentiates by replaying the backward graph."""
    from . import autograd as AG
    from ._tensor import Tensor
    single = not isinstance(callables, tuple)
    if single:
        callables, sample_args = (callables,), (sample_args,)
    out = []
    for fn, args in zip(callables, sample_args):
        if not isinstance(args, tuple):
            args = (args,)
        params = [p for p in fn.parameters() if p.requires_grad] if hasattr(fn, "parameters") else []
        for _ in range(num_warmup_iters):
            o = fn(*args)
            outs = o if isinstance(o, tuple) else (o,)
            need = [x for x in list(args) + params if isinstance(x, Tensor) and x.requires_grad]
            if need and any(t.requires_grad for t in outs):
                AG.grad([t for t in outs if t.requires_grad], need,
                        [t.new_ones(t.shape) for t in outs if t.requires_grad], allow_unused=True)
        out.append(_Graphed(fn, args, params))
    return out[0] if single else tuple(out)


class _Graphed:
    def __init__(self, fn, static_in, params):
        from . import autograd as AG
        from ._tensor import Tensor
        self.fn, self.static_in, self.params = fn, static_in, params
        self.fwd = Graph()
        with graph(self.fwd):
            o = fn(*static_in)
        self.tuple_out = isinstance(o, tuple)
        self.static_out = o if self.tuple_out else (o,)
        self.diff_in = [x for x in list(static_in) + params if isinstance(x, Tensor) and x.requires_grad]
        self.grad_outs = [t.new_zeros(t.shape) if t.requires_grad else None for t in self.static_out]
        self.bwd = Graph()
        with graph(self.bwd):
            gi = AG.grad([t for t in self.static_out if t.requires_grad], self.diff_in,
                         [g for g in self.grad_outs if g is not None], allow_unused=True)
        self.static_grads = gi
        g = self

        class _Fn(AG.Function):
            @staticmethod
            def forward(ctx, *inputs):
                for s, x in zip(g.static_in, inputs[:len(g.static_in)]):
                    if isinstance(s, Tensor) and s is not x:
                        s.copy_(x)
                g.fwd.replay()
                return tuple(t.detach() for t in g.static_out)

            @staticmethod
            def backward(ctx, *grads):
                for s, x in zip(g.grad_outs, grads):
                    if s is not None and x is not None:
                        s.copy_(x)
                g.bwd.replay()
                res, it = [], iter(g.static_grads)
                for x in list(g.static_in) + g.params:
                    if isinstance(x, Tensor) and x.requires_grad:
                        r = next(it)
                        res.append(None if r is None else r.detach().clone())
                    else:
                        res.append(None)
                return tuple(res)
        self._Fn = _Fn

    def __call__(self, *args):
        from . import autograd as AG
        if AG.is_grad_enabled():
            r = self._Fn.apply(*(list(args) + self.params))
        else:
            for s, x in zip(self.static_in, args):
                s.copy_(x)
            self.fwd.replay()
            r = tuple(t.detach() for t in self.static_out)
        return r if self.tuple_out else r[0]

    def __getattr__(self, name):
        return getattr(self.__dict__["fn"], name)


# ---------------------------------------------------------------- cltensor.compile(fn, mode="reduce-overhead")

def _guard(a, tensors):
    """The part of a call's signature that a captured graph depends on (tensors are collected in order)."""
    from ._tensor import Tensor
    if isinstance(a, Tensor):
        tensors.append(a)
        return ("T", a._shape, a._strides, a._offset, a._dtype, a._device, a._requires_grad)
    if isinstance(a, (tuple, list)):
        return (type(a), tuple(_guard(x, tensors) for x in a))
    if isinstance(a, dict):
        return (dict, tuple((k, _guard(v, tensors)) for k, v in a.items()))
    hash(a)                     # unhashable arguments: TypeError, the call runs eagerly
    return (type(a), a)


def _rebuild(a, it):
    from ._tensor import Tensor
    if isinstance(a, Tensor):
        return next(it)
    if isinstance(a, (tuple, list)):
        return type(a)(_rebuild(x, it) for x in a)
    if isinstance(a, dict):
        return {k: _rebuild(v, it) for k, v in a.items()}
    return a


def _out_tensors(o, acc):
    from ._tensor import Tensor
    if isinstance(o, Tensor):
        acc.append(o)
    elif isinstance(o, (tuple, list)):
        for x in o:
            _out_tensors(x, acc)
    elif isinstance(o, dict):
        for x in o.values():
            _out_tensors(x, acc)
    return acc


def _copy_out(o):
    from ._tensor import Tensor
    if isinstance(o, Tensor):
        return o.detach().clone()
    if isinstance(o, (tuple, list)):
        return type(o)(_copy_out(x) for x in o)
    if isinstance(o, dict):
        return {k: _copy_out(v) for k, v in o.items()}
    return o


def _copy_into():
    from ._ops import copy_into
    return copy_into


class _Entry:
    __slots__ = ("graph", "static", "out")

    def __init__(self, graph, static, out):
        self.graph, self.static, self.out = graph, static, out


class ReduceOverhead:
    """What `cltensor.compile(fn, mode="reduce-overhead")` returns. Per call signature (grad mode; each tensor
    argument's shape, strides, offset, dtype, device and requires_grad; other arguments by value) the first call
    runs eagerly (warm-up: optimizer state, lazily built kernels), the second captures fn into a Graph with
    static copies of the tensor arguments, and every later call copies its tensors into the static ones and
    replays. Outputs are returned as fresh (detached) tensors. A signature that cannot be captured (a host read,
    outputs that still need autograd, ...) runs eagerly from then on; `stats["reason"]` says why."""

    MAX_GRAPHS = 64

    def __init__(self, fn):
        import functools
        self.__dict__["fn"] = fn
        self.__dict__["entries"] = {}
        self.__dict__["stats"] = {"replays": 0, "captures": 0, "eager": 0, "reason": None}
        functools.update_wrapper(self, fn, updated=())

    def __getattr__(self, name):
        return getattr(self.__dict__["fn"], name)

    def __call__(self, *args, **kwargs):
        if _dispatch.capture is not None or _dispatch.mode is not None:
            return self.fn(*args, **kwargs)
        from .autograd import _tape as AG
        tensors = []
        try:
            sig = (AG.is_grad_enabled(), _guard(args, tensors), _guard(kwargs, tensors))
        except TypeError:
            return self._eager("unhashable arguments", args, kwargs)
        e = self.entries.get(sig)
        if e is None:
            if len(self.entries) >= self.MAX_GRAPHS:
                return self._eager("too many signatures", args, kwargs)
            self.entries[sig] = "warm"
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        if e == "warm":
            return self._capture(sig, tensors, args, kwargs)
        if type(e) is str:
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        copy = _copy_into()
        for s, t in zip(e.static, tensors):
            if s is not t:
                copy(s, t)
        e.graph.replay()
        self.stats["replays"] += 1
        return _copy_out(e.out)

    def _eager(self, reason, args, kwargs):
        self.stats["eager"] += 1
        self.stats["reason"] = reason
        return self.fn(*args, **kwargs)

    def _capture(self, sig, tensors, args, kwargs):
        from .autograd import _tape as AG
        if sig[0] and any(t._requires_grad for t in tensors):
            # gradients must reach the caller's tensors, which a replay cannot record: eager
            self.entries[sig] = "eager"
            return self._eager("tensor arguments require grad", args, kwargs)
        with AG.no_grad():
            static = [t.detach().clone() for t in tensors]
        it = iter(static)
        sargs, skw = _rebuild(args, it), _rebuild(kwargs, it)
        g = Graph()
        try:
            with graph(g):
                out = self.fn(*sargs, **skw)
        except RuntimeError as ex:
            self.entries[sig] = "eager"
            return self._eager(f"capture failed: {ex}", args, kwargs)
        for t in _out_tensors(out, []):
            node = t.grad_fn
            if node is not None and getattr(node, "_backward", None) is not None:
                # an output autograd differentiates later (backward not run inside fn): replays cannot record
                # a new autograd graph, so this signature runs eagerly from now on. This call's capture is
                # complete: run it once and return its outputs with their autograd graph.
                g.replay()
                g.reset()
                self.entries[sig] = "eager"
                self.stats["eager"] += 1
                self.stats["reason"] = ("outputs require grad (run backward inside the compiled function, or use "
                                        "make_graphed_callables)")
                return out
        self.entries[sig] = _Entry(g, static, out)
        self.stats["captures"] += 1
        g.replay()                      # the static inputs are clones of this call's tensors
        self.stats["replays"] += 1
        return _copy_out(out)
