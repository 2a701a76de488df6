"""Finite-difference gradient checks (central differences, float64), like torch.autograd.gradcheck."""
import numpy as np

from .._tensor import Tensor


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _numerical_jacobian(fn, inputs, i, eps):
    from .. import _creation
    from . import no_grad
    x = inputs[i]
    base = x.detach()._to_numpy_copy().astype(np.float64)
    cols = []
    with no_grad():
        for j in range(base.size):
            vals = []
            for sgn in (1, -1):
                pert = base.copy().reshape(-1)
                pert[j] += sgn * eps
                xs = list(inputs)
                xs[i] = _creation.tensor(pert.reshape(base.shape), dtype=x.dtype, device=x.device)
                outs = _as_tuple(fn(*xs))
                vals.append(np.concatenate([o._to_numpy_copy().astype(np.float64).reshape(-1) for o in outs]))
            cols.append((vals[0] - vals[1]) / (2 * eps))
    return np.stack(cols, axis=0) if cols else np.zeros((0, 0))  # rows: input elements, cols: output elements


def _analytical_jacobian(fn, inputs, i):
    from .. import _creation
    from .engine import grad
    outs = _as_tuple(fn(*inputs))
    n_out = sum(o.numel() for o in outs)
    jac = np.zeros((inputs[i].numel(), n_out))
    col = 0
    for o in outs:
        for k in range(o.numel()):
            go = np.zeros(o.numel())
            go[k] = 1
            g = grad(o, inputs[i], _creation.tensor(go.reshape(o.shape), dtype=o.dtype, device=o.device),
                     retain_graph=True, allow_unused=True)[0]
            if g is not None:
                jac[:, col] = g._to_numpy_copy().reshape(-1)
            col += 1
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **_ignored):
    """Compare analytical gradients with central finite differences for every input that requires grad."""
    inputs = _as_tuple(inputs)
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        num = _numerical_jacobian(func, inputs, i, eps)
        ana = _analytical_jacobian(func, inputs, i)
        if num.shape != ana.shape or not np.allclose(ana, num, atol=atol, rtol=rtol):
            if raise_exception:
                raise GradcheckError(f"Jacobian mismatch for output 0 with respect to input {i},\n"
                                     f"numerical:{num}\nanalytical:{ana}\n")
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
                  **_ignored):
    """Check second derivatives: gradcheck of the function x -> d(sum(func(x) * v))/dx with create_graph."""
    from .engine import grad
    from .. import _creation
    inputs = _as_tuple(inputs)
    outs = _as_tuple(func(*inputs))
    rng = np.random.default_rng(0)
    vs = grad_outputs or tuple(_creation.tensor(rng.standard_normal(o.shape), dtype=o.dtype, device=o.device)
                               for o in outs)
    diff = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]

    def first(*xs):
        os_ = _as_tuple(func(*xs))
        d = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        gs = grad(os_, d, vs, create_graph=True, allow_unused=True)
        return tuple(g if g is not None else _creation.zeros_like(x) for g, x in zip(gs, d))

    return gradcheck(first, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception) if diff else True
