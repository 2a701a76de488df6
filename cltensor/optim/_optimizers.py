"""SGD, Adam, AdamW, RMSprop, Adagrad: each step is one fused device kernel per parameter (templates/optim.mako)
that reads the gradient once and updates the parameter and its state buffers in place."""
import math

import numpy as np

from .. import _creation as C
from .._tensor import Tensor
from .optimizer import Optimizer, required
from ._kernels import fused_update, fused_update_many, zeros_state


def _val(v):
    return float(v.item()) if isinstance(v, Tensor) else float(v)


def _check_nonneg(lr, **values):
    """PyTorch's argument checks (`not 0.0 <= v`, so NaN is refused too): lr first, then each named value."""
    if not 0.0 <= _val(lr):
        raise ValueError(f"Invalid learning rate: {lr}")
    for name, v in values.items():
        if not 0.0 <= _val(v):
            raise ValueError(f"Invalid {'epsilon' if name == 'eps' else name} value: {v}")


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False,
                 foreach=None, differentiable=False, fused=None):
        if lr is not required and _val(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)

    def _group_values(self, group):
        return _val(group["lr"]), group["momentum"], group["dampening"], group["weight_decay"]

    @staticmethod
    def _momentum(p, st, mom):
        """(momentum buffer or None, 1 if it was just created else 0): the step's state, created on first use."""
        buf = st.get("momentum_buffer") if mom != 0 else None
        if mom != 0 and buf is None:
            buf = st["momentum_buffer"] = zeros_state(p)
            return buf, 1
        return buf, 0

    @staticmethod
    def _kernel_args(group, values, first):
        lr, mom, damp, wd = values
        return [lr, wd, mom, damp, np.int32(first)], dict(momentum=mom != 0, nesterov=bool(group["nesterov"]),
                                                         maximize=bool(group["maximize"]), wd=wd != 0)

    def _update(self, group, values, p, st):
        buf, first = self._momentum(p, st, values[1])
        scalars, flags = self._kernel_args(group, values, first)
        fused_update("sgd", p, p.grad, [buf], scalars, **flags)

    def _update_many(self, group, values, items):
        batches = {}       # first step of the momentum buffers (0/1) -> [(p, g, states)]
        for p, st in items:
            buf, first = self._momentum(p, st, values[1])
            batches.setdefault(first, []).append((p, p.grad, [buf]))
        for first, batch in batches.items():
            scalars, flags = self._kernel_args(group, values, first)
            fused_update_many("sgd", batch, scalars, **flags)


class Adam(Optimizer):
    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        _check_nonneg(lr, eps=eps)
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        _check_nonneg(lr, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay or self._decoupled)
        super().__init__(params, defaults)

    def _group_values(self, group):
        b1, b2 = (_val(b) for b in group["betas"])
        return (_val(group["lr"]), b1, b2, group["eps"], group["weight_decay"], group["amsgrad"],
                group.get("decoupled_weight_decay", self._decoupled))

    @staticmethod
    def _advance(p, st, ams):
        """Count the step (creating the state on first use); returns (step, the kernel's state tensors)."""
        if len(st) == 0:
            st["step"] = 0.0
            st["exp_avg"] = zeros_state(p)
            st["exp_avg_sq"] = zeros_state(p)
            if ams:
                st["max_exp_avg_sq"] = zeros_state(p)
        st["step"] = step = _val(st["step"]) + 1
        return step, [st["exp_avg"], st["exp_avg_sq"], st.get("max_exp_avg_sq")]

    @staticmethod
    def _kernel_args(group, values, step):
        lr, b1, b2, eps, wd, ams, dec = values
        bc1 = 1 - b1 ** step
        bc2 = 1 - b2 ** step
        return [lr, b1, b2, eps, wd, lr / bc1, math.sqrt(bc2)], dict(decoupled=bool(dec), amsgrad=bool(ams),
                                                                     maximize=bool(group["maximize"]), wd=wd != 0)

    def _update(self, group, values, p, st):
        step, states = self._advance(p, st, values[5])
        scalars, flags = self._kernel_args(group, values, step)
        fused_update("adam", p, p.grad, states, scalars, **flags)

    def _update_many(self, group, values, items):
        batches = {}       # step count -> [(p, g, states)] (parameters added later count their own steps)
        for p, st in items:
            step, states = self._advance(p, st, values[5])
            batches.setdefault(step, []).append((p, p.grad, states))
        for step, batch in batches.items():
            scalars, flags = self._kernel_args(group, values, step)
            fused_update_many("adam", batch, scalars, **flags)


class AdamW(Adam):
    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_nonneg(lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _group_values(self, group):
        return (_val(group["lr"]), group["alpha"], group["eps"], group["weight_decay"], group["momentum"],
                group["centered"])

    def _update(self, group, values, p, st):
        lr, alpha, eps, wd, mom, cen = values
        if len(st) == 0:
            st["step"] = 0.0
            st["square_avg"] = zeros_state(p)
            if mom > 0:
                st["momentum_buffer"] = zeros_state(p)
            if cen:
                st["grad_avg"] = zeros_state(p)
        st["step"] = _val(st["step"]) + 1
        fused_update("rmsprop", p, p.grad, [st["square_avg"], st.get("grad_avg"), st.get("momentum_buffer")],
                     [lr, alpha, eps, wd, mom], centered=bool(cen), momentum=mom > 0,
                     maximize=bool(group["maximize"]), wd=wd != 0)


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_nonneg(lr, lr_decay=lr_decay, weight_decay=weight_decay,
                      initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state[p]
                st["step"] = 0.0
                v = float(group["initial_accumulator_value"])
                st["sum"] = C.full(p._shape, complex(v, v) if p._dtype.is_complex else v, dtype=p._dtype,
                                   device=p._device)

    def _group_values(self, group):
        return _val(group["lr"]), group["lr_decay"], group["eps"], group["weight_decay"]

    def _update(self, group, values, p, st):
        lr, lr_decay, eps, wd = values
        st["step"] = step = _val(st["step"]) + 1
        clr = lr / (1 + (step - 1) * lr_decay)
        fused_update("adagrad", p, p.grad, [st["sum"]], [clr, eps, wd], maximize=bool(group["maximize"]),
                     wd=wd != 0)
