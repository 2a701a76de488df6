"""The backward engine: a topological walk over the recorded nodes, one gradient buffer per node, accumulation
into leaves. micrograd's algorithm, with PyTorch's API (backward, grad, hooks, retain_graph, create_graph)."""
import re
import sys

from .._tensor import Tensor, make, contiguous_strides
from . import AccumulateGrad, _edge, _ModeScope, no_grad, is_anomaly_enabled, is_anomaly_check_nan_enabled

_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors after they have "
          "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
          "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or "
          "if you need to access saved tensors after calling backward.")


def _topo(roots):
    """Nodes reachable from roots, every node before the nodes it sends gradients to (reverse DFS post-order)."""
    order, seen = [], set()
    for r in roots:
        if r is None or r in seen:
            continue
        seen.add(r)
        stack = [(r, iter(r.next_functions))]
        while stack:
            node, it = stack[-1]
            for nxt, _ in it:
                if nxt is not None and nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, iter(nxt.next_functions)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
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


def _output_hooks(node, buf):
    """Tensor hooks (register_hook) of the node's outputs, then retain_grad, then node pre-hooks."""
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


def _leaf_hooks(var, g):
    if var._hooks:
        for h in list(var._hooks):
            r = h(g)
            if r is not None:
                g = r
    return g


def _run(roots, grads, keep_graph, create_graph, targets=None, accumulate=True):
    """Propagate `grads` (one per root edge) backwards. targets: edges whose incoming gradient is returned
    ({edge: grad}); with targets, only the nodes leading to them run, and leaves accumulate only when
    `accumulate` (backward(inputs=...))."""
    order = _topo([n for n, _ in roots])
    want = set(targets) if targets is not None else None
    need = _needed(order, {n for n, _ in want}) if want is not None else None
    buffers = {}
    for (n, nr), g in zip(roots, grads):
        if n is not None:
            b = buffers.setdefault(n, {})
            b[nr] = g if nr not in b else b[nr] + g
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
                g = _leaf_hooks(node.variable, g)
                if node._pre_hooks:
                    for h in list(node._pre_hooks):
                        r = h((g,))
                        if r is not None:
                            g = r[0]
                if want is not None and (node, 0) in want:
                    captured[(node, 0)] = g
                    if not accumulate:
                        continue
                elif want is not None:
                    continue
                _accumulate(node.variable, g, create_graph)   # keep this call depth: see _owned
                if node._hooks:
                    for h in list(node._hooks):
                        h((), (g,))
                continue
            if node._tensor_hooks or node._retained or node._pre_hooks:
                _output_hooks(node, buf)
            if want is not None:
                for nr, g in buf.items():
                    if (node, nr) in want:
                        captured[(node, nr)] = g
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
            if node._hooks:
                for h in list(node._hooks):
                    r = h(gins, gouts)
                    if r is not None:
                        gins = tuple(r)
            if anomaly:
                _check_nan(node, gins)
            del buf, gouts
            if not keep_graph and node._saved:
                node._backward = None          # frees the closure: saved tensors and captured inputs
                node._saved = ()
            for i, ((nxt, nr), g) in enumerate(zip(node.next_functions, gins)):
                if nxt is None or g is None:
                    continue
                if need is not None and nxt not in need:
                    continue
                shape, dtype = node._meta[i]
                if g._shape != shape or g._dtype is not dtype:
                    g = _reduce_to(g, shape, dtype, node, i)
                b = buffers.get(nxt)
                if b is None:
                    buffers[nxt] = {nr: g}
                else:
                    b[nr] = g if nr not in b else b[nr] + g
            gins = g = b = None     # drop references: a leaf may then take its gradient without a copy
    return captured


# ---------------------------------------------------------------- accumulation into .grad

def _owned(g, _r=[None]):
    """True when nothing but the engine holds g or its memory (then .grad can take g without a copy, as
    PyTorch's AccumulateGrad steals an unshared gradient). Reference counts are compared with those of a tensor
    held by one local variable and passed down the same number of calls as _run -> _accumulate -> _owned; any
    other holder (the user's gradient, another node's buffer, a hook, a view) makes the count larger."""
    base = _r[0]
    if base is None:
        base = _r[0] = _calibrate()
    return (g._base is None and not g._st.shared and g.is_contiguous() and
            sys.getrefcount(g) <= base[0] and sys.getrefcount(g._st) <= base[1])


def _refs(g):
    return sys.getrefcount(g), sys.getrefcount(g._st)


def _probe(g):
    return _refs(g)


def _calibrate():
    # a tensor held only by one local, seen through the same call depth as _owned's callers use
    from .._tensor import make
    from .._device import Storage
    t = make(Storage(None, 8), (1,), (1,), 0, None, None)
    return _probe(t)      # same call depth as _run -> _accumulate -> _owned


def _accumulate(var, g, create_graph):
    if create_graph:
        var.grad = g if var.grad is None else var.grad + g
        return
    if g._requires_grad:
        g = g.detach()
    old = var.grad
    if old is None:
        if g._shape != var._shape or not _owned(g):
            with no_grad():
                g = g.clone()
        var.grad = g
    elif old._requires_grad:
        var.grad = old + g
    else:
        with no_grad():
            old.add_(g)


# ---------------------------------------------------------------- public API

def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _make_grads(outputs, grad_outputs):
    from .. import _creation
    gs = []
    for i, (o, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if o.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not o._dtype.is_floating_point:
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got {o.dtype}")
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
        gs.append(g)
    return gs


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
    gs = _make_grads(tensors, grad_tensors)
    roots = [_edge(t) for t in tensors]
    if inputs is None:
        _run(roots, gs, retain_graph, create_graph)
        return
    ins = _as_tuple(inputs)
    if not ins:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    edges = [_edge(t) for t in ins]
    res = _run(roots, gs, retain_graph, create_graph, targets=edges, accumulate=True)
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
    gs = _make_grads(outputs, grad_outputs)
    edges = [_edge(t) for t in inputs]
    res = _run([_edge(t) for t in outputs], gs, retain_graph, create_graph, targets=edges, accumulate=False)
    out = []
    for t, e in zip(inputs, edges):
        g = res.get(e)
        if g is None:
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                                   "Set allow_unused=True if this is the desired behavior.")
            if materialize_grads:
                from .. import _creation
                g = _creation.zeros_like(t)
        elif not create_graph and g._requires_grad:
            g = g.detach()
        out.append(g)
    return tuple(out)
