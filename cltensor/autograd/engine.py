"""The backward engine: a topological walk over the recorded nodes, one gradient buffer per node, accumulation
into leaves. micrograd's algorithm, with PyTorch's API (backward, grad, hooks, retain_graph, create_graph).

Gradient ownership: a leaf's .grad takes an incoming gradient without a copy (as PyTorch's AccumulateGrad steals
an unshared gradient) only when the engine owns it: the engine tracks, per buffer slot, whether the tensor there
is one nobody else holds. Owned: the implicit ones of backward(), sums the engine makes (accumulation, reduction
over broadcast dims), new tensors returned by built-in backward rules, and gradients a rule passes through when
the incoming one was owned. Not owned: the caller's grad_tensors, anything a hook saw or returned, gradients
returned by user code (autograd.Function), one tensor returned for several inputs, gradients handed back to the
caller (grad(), backward(inputs=...)). Views, non-contiguous and externally shared memory are always copied."""
import heapq
import itertools
import re
import sys

from .._tensor import Tensor, make, contiguous_strides
from .. import _creation
from ._tape import AccumulateGrad, _edge, _ModeScope, no_grad, is_anomaly_enabled, is_anomaly_check_nan_enabled

_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors after they have "
          "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
          "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or "
          "if you need to access saved tensors after calling backward.")


def _topo(roots):
    """Nodes reachable from roots, every node before the nodes it sends gradients to, in PyTorch's engine order:
    among the nodes whose incoming gradients are complete, a leaf's AccumulateGrad first (so `.grad` of a
    parameter is final as soon as its gradient is: DistributedDataParallel's hooks rely on it), then the node
    created last."""
    seen, deps = set(), {}
    for r in roots:
        if r is None or r in seen:
            continue
        seen.add(r)
        stack = [r]
        while stack:
            node = stack.pop()
            for nxt, _ in node.next_functions:
                if nxt is not None:
                    deps[nxt] = deps.get(nxt, 0) + 1
                    if nxt not in seen:
                        seen.add(nxt)
                        stack.append(nxt)
    heap, tick = [], itertools.count()

    def push(n):        # AccumulateGrad first, in the order they became ready; then the latest-created node
        t = next(tick)
        heapq.heappush(heap, (0, t, t, n) if type(n) is AccumulateGrad else (1, -n._seq, t, n))
    for r in roots:
        if r is not None and r not in deps:
            deps[r] = -1                      # queued
            push(r)
    order = []
    while heap:
        node = heapq.heappop(heap)[3]
        order.append(node)
        for nxt, _ in node.next_functions:
            if nxt is not None:
                deps[nxt] -= 1
                if deps[nxt] == 0:
                    push(nxt)
    return order


def _needed(order, targets):
    """The nodes that must run so that gradients reach `targets` (a set of nodes)."""
    need = set()
    for node in reversed(order):      # sinks first
        if node in targets or any(n in need for n, _ in node.next_functions if n is not None):
            need.add(node)
    return need


def _reduce_to(g, shape, dtype, node, i):
    """Sum a gradient over the dims it was broadcast along so that it has `shape`; cast to `dtype`."""
    gs = g._shape
    if gs != shape:
        nd = len(gs) - len(shape)
        if nd < 0 or any(s != 1 and s != gs[nd + k] for k, s in enumerate(shape)):
            raise RuntimeError(f"Function {type(node).__name__} returned an invalid gradient at index {i} - got "
                               f"{list(gs)} but expected shape compatible with {list(shape)}")
        dims = tuple(range(nd)) + tuple(nd + k for k, s in enumerate(shape) if s == 1 and gs[nd + k] != 1)
        if dims:
            g = g.sum(dim=dims, keepdim=True)
        if g._shape != shape:
            if g._requires_grad or not g.is_contiguous():
                g = g.reshape(shape)
            else:   # the fresh sum, re-shaped in place (not a view: the engine can still hand it to .grad)
                g = make(g._st, shape, contiguous_strides(shape), g._offset, g._dtype, g._device)
    if g._dtype is not dtype:
        if g._dtype.is_complex and not dtype.is_complex:
            g = g.real
        if g._dtype is not dtype:
            g = g.to(dtype)
    return g


def _check_saved(node):
    for t, v in node._saved:
        if t._st.version != v:
            fn = t.grad_fn
            src = f", which is output {t._out_nr} of {re.sub(r'Backward[0-9]*$', '', type(fn).__name__)}," \
                if fn is not None else ""
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace operation: "
                f"[cltensor.{t.type().split('.')[-1]} {list(t._shape)}]{src} is at version {t._st.version}; "
                f"expected version {v} instead. Hint: the backtrace further above can show the operation that "
                "failed to compute its gradient.")


def _check_nan(node, gins):
    for i, g in enumerate(gins):
        if g is not None and bool(g.isnan().any()):
            raise RuntimeError(f"Function '{type(node).__name__}' returned nan values in its {i}th output.")


def _output_hooks(node, buf, shared):
    """Tensor hooks (register_hook) of the node's outputs, then retain_grad, then node pre-hooks. The slots a
    hook saw join `shared` (the hook may keep the tensor, or gave its own)."""
    th = node._tensor_hooks
    if th:
        for nr, hooks in th.items():
            g = buf.get(nr)
            if g is not None:
                for h in list(hooks):
                    r = h(g)
                    if r is not None:
                        g = r
                buf[nr] = g
                shared.add((node, nr))
    if node._retained:
        for nr, ref in node._retained.items():
            t, g = ref(), buf.get(nr)
            if t is not None and g is not None:
                with no_grad():
                    t.grad = g.detach().clone() if t.grad is None else t.grad + g
    if node._pre_hooks:
        gs = tuple(buf.get(i) for i in range(max(node._nout, 1)))
        for h in list(node._pre_hooks):
            r = h(gs)
            if r is not None:
                gs = tuple(r)
        for i, g in enumerate(gs):
            buf[i] = g
            shared.add((node, i))


def _leaf_hooks(var, g):
    if var._hooks:
        for h in list(var._hooks):
            r = h(g)
            if r is not None:
                g = r
    return g


def _run(roots, grads, owned, keep_graph, create_graph, targets=None, accumulate=True):
    """Propagate `grads` (one per root edge; `owned`: whether the engine made each) backwards. targets: edges
    whose incoming gradient is returned ({edge: grad}); with targets, only the nodes leading to them run, and
    leaves accumulate only when `accumulate` (backward(inputs=...))."""
    order = _topo([n for n, _ in roots])
    want = set(targets) if targets is not None else None
    need = _needed(order, {n for n, _ in want}) if want is not None else None
    buffers = {}
    shared = set()     # (node, nr): buffer slots holding a gradient the engine does not own (module doc)
    for (n, nr), g, own in zip(roots, grads, owned):
        if n is not None:
            b = buffers.setdefault(n, {})
            if nr in b:
                b[nr] = b[nr] + g
                shared.discard((n, nr))
            else:
                b[nr] = g
                if not own:
                    shared.add((n, nr))
    captured = {}
    anomaly = is_anomaly_enabled() and is_anomaly_check_nan_enabled()
    with _ModeScope(create_graph):
        for node in order:
            buf = buffers.pop(node, None)
            if buf is None:
                continue
            if need is not None and node not in need:
                continue
            if type(node) is AccumulateGrad:
                g = buf.pop(0, None)
                if g is None:
                    continue
                own = (node, 0) not in shared
                var = node.variable
                if var._hooks:
                    g = _leaf_hooks(var, g)
                    own = False
                if node._pre_hooks:
                    for h in list(node._pre_hooks):
                        r = h((g,))
                        if r is not None:
                            g = r[0]
                    own = False
                if want is not None and (node, 0) in want:
                    captured[(node, 0)] = g
                    if not accumulate:
                        continue
                    own = False
                elif want is not None:
                    continue
                _accumulate(var, g, create_graph, own)
                if node._hooks:
                    for h in list(node._hooks):
                        h((), (g,))
                continue
            if node._tensor_hooks or node._retained or node._pre_hooks:
                _output_hooks(node, buf, shared)
            if want is not None:
                for nr, g in buf.items():
                    if (node, nr) in want:
                        captured[(node, nr)] = g
                        shared.add((node, nr))
                if not any(n in need for n, _ in node.next_functions if n is not None):
                    continue
            fn = node._backward
            if fn is None:
                raise RuntimeError(_FREED)
            _check_saved(node)
            if node._nout:
                gouts = tuple(buf.get(i) for i in range(node._nout))
                gins = fn(*gouts)
            else:
                gouts = (buf.get(0),)
                gins = fn(gouts[0])
            if not isinstance(gins, tuple):
                gins = tuple(gins) if isinstance(gins, list) else (gins,)
            own_all = node._owns_grads
            if node._hooks:
                for h in list(node._hooks):
                    r = h(gins, gouts)
                    if r is not None:
                        gins = tuple(r)
                own_all = False
            if anomaly:
                _check_nan(node, gins)
            # which of the returned gradients the engine owns: a passed-through one as the slot it came from,
            # none that was returned for several inputs
            passed = None      # id -> owned, for the returned gradients whose ownership is not the default
            if own_all:
                if shared:
                    passed = {id(x): (node, k) not in shared for k, x in enumerate(gouts) if x is not None}
                if len(gins) > 1:
                    ids = [id(x) for (n, _), x in zip(node.next_functions, gins) if x is not None and n is not None]
                    if len(set(ids)) != len(ids):
                        if passed is None:
                            passed = {}
                        for x in ids:
                            if ids.count(x) > 1:
                                passed[x] = False
            del buf, gouts
            if not keep_graph and node._saved:
                node._backward = None          # frees the closure: saved tensors and captured inputs
                node._saved = ()
            for i, ((nxt, nr), g) in enumerate(zip(node.next_functions, gins)):
                if nxt is None or g is None:
                    continue
                if need is not None and nxt not in need:
                    continue
                own = own_all and (passed is None or passed.get(id(g), True))
                shape, dtype = node._meta[i]
                if g._shape != shape or g._dtype is not dtype:
                    g = _reduce_to(g, shape, dtype, node, i)
                    own = True      # a new tensor (a sum or a cast) made here
                b = buffers.get(nxt)
                if b is None:
                    buffers[nxt] = {nr: g}
                    if not own:
                        shared.add((nxt, nr))
                elif nr not in b:
                    b[nr] = g
                    if not own:
                        shared.add((nxt, nr))
                else:
                    b[nr] = b[nr] + g
                    shared.discard((nxt, nr))
            gins = g = b = None
    return captured


# ---------------------------------------------------------------- accumulation into .grad

def _accumulate(var, g, create_graph, owned=False):
    """Add g into var.grad. owned: the engine owns g (module doc), so .grad may take it without a copy."""
    if create_graph:
        var.grad = g if var.grad is None else var.grad + g
        return
    if g._requires_grad:
        g = g.detach()
        owned = False
    old = var.grad
    if old is None:
        if owned and g._base is not None:
            g = _unviewed(g)
        if not (owned and g._shape == var._shape and g._base is None and not g._st.shared and g.is_contiguous()):
            with no_grad():
                # PyTorch's layout contract: a contiguous parameter gets a contiguous .grad
                g = g.contiguous() if var.is_contiguous() and not g.is_contiguous() else g.clone()
        var.grad = g
    elif old._requires_grad:
        var.grad = old + g
    else:
        with no_grad():
            old.add_(g)


def _unviewed(g):
    """The base of an owned view g when g covers it in the same layout and nothing but g holds the base or its
    storage (e.g. the transpose back of a fresh transposed product, a linear layer's weight gradient): .grad may
    then take the base without a copy. Otherwise g."""
    b = g._base
    if (b._shape == g._shape and b._strides == g._strides and b._offset == g._offset and b._dtype is g._dtype
            and not b._requires_grad and b._hooks is None
            and sys.getrefcount(b) <= 3 and sys.getrefcount(g._st) <= 3):   # g._base, b, the argument
        return b
    return g


# ---------------------------------------------------------------- public API

def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


_SEEDS = {}     # (device, dtype, shape) -> (ones, its storage version): the implicit gradient of backward()


def _seed(o):
    """A tensor of ones like the one-element output o, kept between backward() calls (no fill launch each time):
    the engine does not own it (a leaf's .grad takes a copy) and a new one is made when anything wrote into it.
    An output whose node has hooks or retains its gradient (user code may keep the tensor) gets a fresh one."""
    n = o.grad_fn
    if n is not None and (n._hooks or n._pre_hooks or n._tensor_hooks or n._retained):
        return _creation.ones_like(o)
    key = (o._device, o._dtype, o._shape)
    s = _SEEDS.get(key)
    if s is not None:
        t = s[0]
        if t._st.version == s[1] and not t._st.shared:
            return t
    t = _creation.ones_like(o)
    _SEEDS[key] = (t, t._st.version)
    return t


def _make_grads(outputs, grad_outputs, reuse=False):
    """The root gradients, and whether each is the engine's own (made here, not the caller's tensor). reuse:
    implicit gradients may be the kept ones of _seed (backward() without create_graph: nothing hands them back)."""
    gs, owned = [], []
    for i, (o, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if o.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not o._dtype.is_floating_point:
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got {o.dtype}")
            if reuse:
                gs.append(_seed(o))
                owned.append(False)
                continue
            g = _creation.ones_like(o)
        elif not isinstance(g, Tensor):
            g = _creation.full_like(o, g)
        else:
            if g._shape != o._shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                                   f"has a shape of {o.shape}.")
            if g._dtype.is_complex != o._dtype.is_complex:
                raise RuntimeError(f"For complex Tensors, both grad_output and output are required to have the same "
                                   f"dtype. Mismatch in dtype: grad_output[{i}] has a dtype of {g.dtype} and "
                                   f"output[{i}] has a dtype of {o.dtype}.")
        owned.append(g is not grad_outputs[i])
        gs.append(g)
    return gs, owned


def _check_outputs(outputs):
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
        if not t._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None, inputs=None):
    """Accumulate d(tensors)/d(leaf) * grad_tensors into the .grad of the leaves (or of `inputs`)."""
    tensors = _as_tuple(tensors)
    if grad_tensors is None:
        grad_tensors = grad_variables
    grad_tensors = (None,) * len(tensors) if grad_tensors is None else _as_tuple(grad_tensors)
    if len(grad_tensors) != len(tensors):
        raise RuntimeError(f"got {len(grad_tensors)} tensors and {len(tensors)} gradients")
    if retain_graph is None:
        retain_graph = create_graph
    _check_outputs(tensors)
    gs, owned = _make_grads(tensors, grad_tensors, reuse=not create_graph)
    roots = [_edge(t) for t in tensors]
    if inputs is None:
        _run(roots, gs, owned, retain_graph, create_graph)
        return
    ins = _as_tuple(inputs)
    if not ins:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    edges = [_edge(t) for t in ins]
    res = _run(roots, gs, owned, retain_graph, create_graph, targets=edges, accumulate=True)
    for t, e in zip(ins, edges):
        if t.grad_fn is not None and e in res:     # a non-leaf named in inputs= gets .grad too
            _accumulate(t, res[e], create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return d(outputs)/d(inputs) * grad_outputs without touching any .grad."""
    if is_grads_batched:
        raise NotImplementedError("is_grads_batched=True is not supported")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else _as_tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(grad_outputs)} grad_outputs and "
                           f"{len(outputs)} outputs")
    if retain_graph is None:
        retain_graph = create_graph
    _check_outputs(outputs)
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    gs, owned = _make_grads(outputs, grad_outputs)
    edges = [_edge(t) for t in inputs]
    res = _run([_edge(t) for t in outputs], gs, owned, retain_graph, create_graph, targets=edges, accumulate=False)
    out = []
    for t, e in zip(inputs, edges):
        g = res.get(e)
        if g is None:
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                                   "Set allow_unused=True if this is the desired behavior.")
            if materialize_grads:
                            g = _creation.zeros_like(t)
        elif not create_graph and g._requires_grad:
            g = g.detach()
        out.append(g)
    return tuple(out)
