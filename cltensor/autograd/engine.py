"""The backward engine: topological walk over recorded nodes, gradient buffers, accumulation into leaves."""
from .._tensor import Tensor
from . import AccumulateGrad, _edge, no_grad, enable_grad, _GradMode, is_grad_enabled


def _reduce_to(g, shape, dtype):
    """Sum a gradient over the dims it was broadcast along so it has `shape`."""
    if g._shape != tuple(shape):
        nd = len(g._shape) - len(shape)
        dims = tuple(range(nd)) + tuple(nd + i for i, s in enumerate(shape) if s == 1 and g._shape[nd + i] != 1)
        if dims:
            g = g.sum(dim=dims, keepdim=True)
        if nd:
            g = g.reshape(shape)
        elif g._shape != tuple(shape):
            g = g.reshape(shape)
    if g._dtype is not dtype and not dtype.is_complex and g._dtype.is_complex:
        g = g.real
    if g._dtype is not dtype:
        g = g.to(dtype)
    return g


def _check_saved(node):
    for t, v in node._saved_versions:
        if t._st.version != v:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace operation: "
                f"[cltensor.{t.type().split('.')[-1]} {list(t._shape)}] is at version {t._st.version}; expected "
                f"version {v} instead. Hint: the backtrace further above can show the operation that failed to "
                "compute its gradient.")


def _run(roots, grads, retain_graph, create_graph, inputs=None, accumulate=True):
    """roots: list of (node, out_nr); grads: matching gradient tensors. If `inputs` is given (list of edges),
    returns their gradients instead of accumulating into leaves."""
    # dependency counts over the reachable graph
    deps = {}
    stack = [n for n, _ in roots if n is not None]
    seen = set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        for nxt, _ in n.next_functions:
            if nxt is not None:
                deps[id(nxt)] = deps.get(id(nxt), 0) + 1
                stack.append(nxt)
    buffers = {}
    nodes = {}
    for (n, nr), g in zip(roots, grads):
        if n is None:
            continue
        buf = buffers.setdefault(id(n), {})
        buf[nr] = g if nr not in buf else buf[nr] + g
        nodes[id(n)] = n
    capture = {}
    want = {(id(n), nr): i for i, (n, nr) in enumerate(inputs)} if inputs is not None else None
    ready = [n for n in nodes.values() if deps.get(id(n), 0) == 0]
    with _GradMode(create_graph):
        while ready:
            node = ready.pop()
            buf = buffers.pop(id(node), {})
            # tensor hooks registered on outputs of this node
            th = node.metadata.get("tensor_hooks") if node.metadata else None
            if th:
                for nr, hooks in th.items():
                    if nr in buf:
                        for h in hooks:
                            r = h(buf[nr])
                            if r is not None:
                                buf[nr] = r
            if want is not None:
                for nr, g in buf.items():
                    if (id(node), nr) in want:
                        capture[want[(id(node), nr)]] = g
            if isinstance(node, AccumulateGrad):
                if accumulate and want is None:
                    _accumulate(node.variable, buf.get(0), create_graph)
                continue
            if node._freed:
                raise RuntimeError(
                    "Trying to backward through the graph a second time (or directly access saved tensors after "
                    "they have already been freed). Saved intermediate values of the graph are freed when you call "
                    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
                    "graph a second time or if you need to access saved tensors after calling backward.")
            _check_saved(node)
            if node._nout:
                gs = tuple(buf.get(i) for i in range(node._nout))
                if all(g is None for g in gs):
                    in_grads = (None,) * len(node.next_functions)
                else:
                    in_grads = node._backward(*gs)
            else:
                g = buf.get(0)
                in_grads = node._backward(g) if g is not None else (None,) * len(node.next_functions)
            if node._hooks:
                for h in node._hooks:
                    r = h(in_grads, tuple(buf.get(i) for i in range(max(node._nout, 1))))
                    if r is not None:
                        in_grads = tuple(r)
            if not retain_graph:
                node._freed = True
                node._backward = None
                node._saved_versions = ()
            for (nxt, nr), g, meta in zip(node.next_functions, in_grads, node._inputs_meta):
                if nxt is None:
                    continue
                if g is not None:
                    g = _reduce_to(g, meta[0], meta[1])
                    if not create_graph:
                        g = g.detach()
                    b = buffers.setdefault(id(nxt), {})
                    b[nr] = g if nr not in b else b[nr] + g
                    nodes[id(nxt)] = nxt
                d = deps[id(nxt)] - 1
                deps[id(nxt)] = d
                if d == 0 and id(nxt) in buffers:
                    ready.append(nxt)
                elif d == 0:
                    # nothing flowed into it: still release its dependants
                    _release(nxt, deps, buffers, ready, retain_graph)
    return capture


def _release(node, deps, buffers, ready, retain_graph):
    stack = [node]
    while stack:
        n = stack.pop()
        for nxt, _ in n.next_functions:
            if nxt is None:
                continue
            d = deps[id(nxt)] - 1
            deps[id(nxt)] = d
            if d == 0:
                if id(nxt) in buffers:
                    ready.append(nxt)
                else:
                    stack.append(nxt)


def _accumulate(var, g, create_graph):
    if g is None:
        return
    if var._hooks:
        for h in var._hooks:
            r = h(g)
            if r is not None:
                g = r
    if var.grad is None:
        var.grad = g if create_graph else (g.detach().clone() if g._base is not None or True else g)
    else:
        if create_graph:
            var.grad = var.grad + g
        else:
            with no_grad():
                var.grad.add_(g)


def _make_grads(outputs, grad_outputs):
    from .. import _creation
    gs = []
    for o, g in zip(outputs, grad_outputs):
        if g is None:
            if o.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not (o._dtype.is_floating_point):
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got {o._dtype}")
            g = _creation.ones_like(o)
        elif not isinstance(g, Tensor):
            g = _creation.full_like(o, g)
        elif g._shape != o._shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {g.shape} and output[0] has a "
                               f"shape of {o.shape}.")
        gs.append(g)
    return gs


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    if isinstance(tensors, Tensor):
        tensors = (tensors,)
    tensors = tuple(tensors)
    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    elif isinstance(grad_tensors, Tensor):
        grad_tensors = (grad_tensors,)
    if retain_graph is None:
        retain_graph = create_graph
    for t in tensors:
        if not t._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    gs = _make_grads(tensors, grad_tensors)
    roots = [_edge(t) for t in tensors]
    if inputs is not None:
        ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        res = _run(roots, gs, retain_graph, create_graph, inputs=[_edge(t) for t in ins])
        for i, t in enumerate(ins):
            if i in res:
                _accumulate(t, res[i], create_graph) if t.grad_fn is None else setattr(t, "grad", res[i])
        return
    _run(roots, gs, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    if isinstance(outputs, Tensor):
        outputs = (outputs,)
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    if retain_graph is None:
        retain_graph = create_graph
    for t in outputs:
        if not t._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    gs = _make_grads(outputs, grad_outputs)
    edges = [_edge(t) for t in inputs]
    res = _run([_edge(t) for t in outputs], gs, retain_graph, create_graph, inputs=edges)
    out = []
    for i, t in enumerate(inputs):
        g = res.get(i)
        if g is None:
            if materialize_grads:
                from .. import _creation
                g = _creation.zeros_like(t)
            elif not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                                   "Set allow_unused=True if this is the desired behavior.")
        out.append(g)
    return tuple(out)
