"""gradcheck / gradgradcheck: analytical gradients (the engine) against central finite differences, like
torch.autograd.gradcheck. Complex inputs/outputs are split into real and imaginary parts (PyTorch's convention:
for a real loss L, z.grad = dL/d(re z) + i dL/d(im z)). The host (numpy) only builds and compares Jacobians;
every function evaluation and every backward runs on the device."""
import warnings

import numpy as np

from .._tensor import Tensor
from .. import _ops, _creation
from .._index.parse import basic_index
from ._tape import no_grad, enable_grad
from .engine import grad


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x):
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _diff_outputs(outs):
    return [o for o in outs if isinstance(o, Tensor) and (o._dtype.is_floating_point or o._dtype.is_complex)]


def _out_vector(outs):
    parts = []
    for o in _diff_outputs(outs):
        a = o.detach()._to_numpy_copy()
        if o._dtype.is_complex:
            parts += [a.real.reshape(-1), a.imag.reshape(-1)]
        else:
            parts.append(a.reshape(-1).astype(np.float64))
    return np.concatenate(parts) if parts else np.zeros(0)


def _write(x, idx, value):
    """x[idx] = value in place, keeping x's layout (no autograd)."""
    _ops.copy_into(basic_index(x.detach(), idx), value)


def _numerical_jacobian(fn, inputs, i, eps):
    """rows: real components of input i (re/im per element when complex); cols: real output components."""
    x = inputs[i]
    base = x.detach()._to_numpy_copy()
    cx = x._dtype.is_complex
    rows = []
    with no_grad():
        for idx in np.ndindex(*base.shape):
            v0 = base[idx].item()
            for d in ((1.0, 1j) if cx else (1.0,)):
                _write(x, idx, v0 + d * eps)
                hi = _out_vector(_as_tuple(fn(*inputs)))
                _write(x, idx, v0 - d * eps)
                lo = _out_vector(_as_tuple(fn(*inputs)))
                _write(x, idx, v0)
                rows.append((hi - lo) / (2 * eps))
    n_out = len(rows[0]) if rows else len(_out_vector(_as_tuple(fn(*inputs))))
    return np.stack(rows, axis=0) if rows else np.zeros((0, n_out))


def _analytical_jacobians(fn, inputs, diff_idx):
    """One Jacobian per input in diff_idx, built from one backward per real output component."""
    outs = _diff_outputs(_as_tuple(fn(*inputs)))
    xs = [inputs[i] for i in diff_idx]
    n_rows = [x.numel() * (2 if x._dtype.is_complex else 1) for x in xs]
    cols = []
    for o in outs:
        units = (1.0, 1j) if o._dtype.is_complex else (1.0,)
        for u in units:
            for k in range(o.numel()):
                if not o._requires_grad:
                    cols.append([np.zeros(n) for n in n_rows])
                    continue
                go = np.zeros(o.numel(), dtype=o._dtype.np)
                go[k] = u
                gs = grad(o, xs, _creation.tensor(go.reshape(o._shape), dtype=o._dtype, device=o._device),
                          retain_graph=True, allow_unused=True)
                col = []
                for x, g, n in zip(xs, gs, n_rows):
                    if g is None:
                        col.append(np.zeros(n))
                        continue
                    if g._shape != x._shape:
                        raise GradcheckError(f"Gradient has shape {list(g._shape)} but the input has shape "
                                             f"{list(x._shape)}")
                    if g._dtype is not x._dtype:
                        raise GradcheckError(f"Gradient has dtype mismatch: got {g.dtype}, expected {x.dtype}")
                    a = g._to_numpy_copy().reshape(-1)
                    col.append(np.stack([a.real, a.imag], 1).reshape(-1) if x._dtype.is_complex else
                               a.astype(np.float64))
                cols.append(col)
    jacs = []
    for j, n in enumerate(n_rows):
        jacs.append(np.stack([c[j] for c in cols], axis=1) if cols else np.zeros((n, 0)))
    return jacs


def _check_inputs(inputs):
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x._requires_grad:
            if x._dtype.name not in ("float64", "complex128"):
                warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point or "
                              "complex. This check will likely fail if all the inputs are not of double precision "
                              "floating point or complex.")
            if any(st == 0 and s > 1 for s, st in zip(x._shape, x._strides)):
                raise RuntimeError(f"The {i}th input has a dimension with stride 0. gradcheck only supports inputs "
                                   "that are non-overlapping to be able to compute the numerical gradients "
                                   "correctly. You should call .contiguous on the input before passing it to "
                                   "gradcheck.")


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True,
              fast_mode=False, masked=None):
    """True when the engine's gradients of `func` at `inputs` match central finite differences for every input
    that requires grad; otherwise raises GradcheckError (or returns False with raise_exception=False)."""
    inputs = _as_tuple(inputs)
    _check_inputs(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x._requires_grad]
    if not diff_idx:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of the them "
                         "have requires_grad=True.")
    anas = _analytical_jacobians(func, inputs, diff_idx)
    for i, ana in zip(diff_idx, anas):
        num = _numerical_jacobian(func, inputs, i, eps)
        if num.shape != ana.shape or not np.all(np.abs(ana - num) <= atol + rtol * np.abs(num)):
            if raise_exception:
                raise GradcheckError(f"Jacobian mismatch for output 0 with respect to input {i},\n"
                                     f"numerical:{num}\nanalytical:{ana}\n")
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False, masked=False):
    """gradcheck of the first derivatives: x, v -> d(func(x))/dx^T v, built with create_graph=True."""
    inputs = _as_tuple(inputs)
    n_in = len(inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        outs = _diff_outputs(_as_tuple(func(*inputs)))
        vs = []
        for o in outs:
            a = rng.standard_normal(o._shape)
            if o._dtype.is_complex:
                a = a + 1j * rng.standard_normal(o._shape)
            vs.append(_creation.tensor(a, dtype=o._dtype, device=o._device, requires_grad=True))
        grad_outputs = tuple(vs)
    else:
        grad_outputs = _as_tuple(grad_outputs)

    def first(*args):
        with enable_grad():     # also when called by the numerical Jacobian (which runs under no_grad)
            return _first(*args)

    def _first(*args):
        xs, gos = args[:n_in], args[n_in:]
        outs = _diff_outputs(_as_tuple(func(*xs)))
        d = [x for x in xs if isinstance(x, Tensor) and x._requires_grad]
        keep = [(o, g) for o, g in zip(outs, gos) if o._requires_grad]
        if not keep:
            return tuple(_creation.zeros_like(x) for x in d)
        gs = grad([o for o, _ in keep], d, [g for _, g in keep], create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
