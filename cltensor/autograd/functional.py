"""torch.autograd.functional: vjp, jvp, jacobian, hessian, vhp, hvp (reverse mode; jvp by the double-vjp trick)."""
from .._tensor import Tensor
from .. import _creation
from .._shape import stack
from ._tape import enable_grad
from .engine import grad as _grad


def _tuple(x, name):
    is_tuple = isinstance(x, (tuple, list))
    xs = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(xs):
        if not isinstance(t, Tensor):
            raise TypeError(f"The {name} given to the function must be either a Tensor or a tuple of Tensors but "
                            f"the value at index {i} has type {type(t).__name__}.")
    return is_tuple, xs


def _prep(xs, create_graph):
    # fresh leaves (or differentiable aliases with create_graph) so that func's graph starts here
    return tuple(x.view_as(x) if create_graph and x.requires_grad else x.detach().requires_grad_(True) for x in xs)


def _fill(gs, xs):
    return tuple(g if g is not None else _creation.zeros_like(x) for g, x in zip(gs, xs))


def _post(xs, create_graph, is_tuple):
    xs = tuple(x if create_graph else x.detach() for x in xs)
    return xs if is_tuple else xs[0]


def _grads(outs, xs, vs, create_graph, retain_graph=True):
    keep = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    if not keep:
        return (None,) * len(xs)
    return _grad([o for o, _ in keep], xs, [v for _, v in keep], create_graph=create_graph,
                 retain_graph=retain_graph, allow_unused=True)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J)."""
    is_in_tuple, xs = _tuple(inputs, "inputs")
    with enable_grad():
        xs = _prep(xs, create_graph)
        out = func(*xs)
        is_out_tuple, outs = _tuple(out, "outputs of the user-provided function")
        if v is None:
            if len(outs) != 1 or outs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                                   "Tensor with a single element.")
            vs = (None,)
        else:
            vs = _tuple(v, "v")[1]
        vs = tuple(_creation.ones_like(o) if vv is None else vv for o, vv in zip(outs, vs))
        gs = _fill(_grads(outs, xs, vs, create_graph), xs)
    return _post(outs, create_graph, is_out_tuple), _post(gs, create_graph, is_in_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v), computed as the vjp of a vjp (no forward-mode AD here)."""
    is_in_tuple, xs = _tuple(inputs, "inputs")
    with enable_grad():
        xs = _prep(xs, create_graph)
        out = func(*xs)
        is_out_tuple, outs = _tuple(out, "outputs of the user-provided function")
        if v is None:
            if len(xs) != 1 or xs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                                   "single Tensor with a single element.")
            vs = (_creation.ones_like(xs[0]),)
        else:
            vs = _tuple(v, "v")[1]
        us = tuple(_creation.zeros_like(o).requires_grad_(True) for o in outs)
        gs = _grads(outs, xs, us, create_graph=True)
        pairs = [(g, vv) for g, vv in zip(gs, vs) if g is not None and g.requires_grad]
        if pairs:
            r = _grad([g for g, _ in pairs], us, [vv for _, vv in pairs], create_graph=create_graph,
                      allow_unused=True)
        else:
            r = (None,) * len(us)
        r = _fill(r, outs)
    return _post(outs, create_graph, is_out_tuple), _post(r, create_graph, is_out_tuple)


def _stack_rows(rows, shape):
    """rows: list of tensors (one per element of an output), stacked into a tensor of `shape`."""
    return stack(rows).reshape(shape)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """d func(inputs) / d inputs: for each (output, input) pair a tensor of shape output.shape + input.shape."""
    if strategy != "reverse-mode":
        raise NotImplementedError("only strategy='reverse-mode' is supported")
    is_in_tuple, xs = _tuple(inputs, "inputs")
    with enable_grad():
        xs = _prep(xs, create_graph)
        out = func(*xs)
        is_out_tuple, outs = _tuple(out, "outputs of the user-provided function")
        res = []
        for o in outs:
            per_in = [[] for _ in xs]
            flat = o.reshape(-1)
            for k in range(o.numel()):
                if o.requires_grad:
                    gs = _grad(flat[k], xs, retain_graph=True, create_graph=create_graph, allow_unused=True)
                else:
                    gs = (None,) * len(xs)
                for j, (g, x) in enumerate(zip(gs, xs)):
                    per_in[j].append(g if g is not None else _creation.zeros_like(x))
            row = []
            for j, x in enumerate(xs):
                shape = tuple(o.shape) + tuple(x.shape)
                row.append(_stack_rows(per_in[j], shape) if per_in[j] else
                           _creation.zeros(shape, dtype=x.dtype, device=x.device))
            res.append(tuple(row))
    res = [tuple(r if create_graph else r.detach() for r in row) for row in res]
    if is_out_tuple:
        return tuple(row if is_in_tuple else row[0] for row in res)
    return res[0] if is_in_tuple else res[0][0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """Second derivatives of a scalar function."""
    is_in_tuple, xs = _tuple(inputs, "inputs")

    def jac_func(*inp):
        out = func(*inp)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor with a single element")
        return jacobian(lambda *a: func(*a).reshape(()), inp if is_in_tuple else inp[0], create_graph=True)

    return jacobian(jac_func, xs if is_in_tuple else xs[0], create_graph=create_graph)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H)."""
    is_in_tuple, xs = _tuple(inputs, "inputs")
    with enable_grad():
        xs = _prep(xs, create_graph)
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("The function given to hvp should return a single Tensor with a single element")
        g = _fill(_grad(out, xs, create_graph=True, allow_unused=True), xs)
        vs = _tuple(v, "v")[1] if v is not None else None
        if vs is None:
            if len(xs) != 1 or xs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                                   "single Tensor with a single element.")
            vs = (_creation.ones_like(xs[0]),)
        r = _fill(_grads(g, xs, vs, create_graph), xs)
    return _post((out,), create_graph, False), _post(r, create_graph, is_in_tuple)


hvp = vhp   # the Hessian is symmetric
