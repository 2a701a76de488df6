"""Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD, SparseAdam: PyTorch's algorithms (single-tensor forms), each step
one fused device kernel per parameter (templates/optim.mako); step-dependent factors are computed on the host from
host-side state scalars and passed as kernel arguments, so nothing recompiles and nothing syncs per step."""
import math

import numpy as np

from .. import _creation as C
from .optimizer import Optimizer
from ._kernels import fused_update, zeros_state
from ._optimizers import _val


def _f32(v):
    """PyTorch keeps these per-parameter scalars in float32 tensors: round like it does."""
    return float(np.float32(v))


def _check_lr(lr):
    if not 0.0 <= _val(lr):
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_betas(betas):
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


def _check_lr_tensor(lr):
    from .._tensor import Tensor
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")


class Adadelta(Optimizer):
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        _check_lr_tensor(lr)
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _group_values(self, group):
        return _val(group["lr"]), group["rho"], group["eps"], group["weight_decay"]

    def _update(self, group, values, p, st):
        lr, rho, eps, wd = values
        if len(st) == 0:
            st["step"] = 0.0
            st["square_avg"] = zeros_state(p)
            st["acc_delta"] = zeros_state(p)
        st["step"] = _val(st["step"]) + 1
        fused_update("adadelta", p, p.grad, [st["square_avg"], st["acc_delta"]], [lr, rho, eps, wd],
                     maximize=bool(group["maximize"]), wd=wd != 0)


class Adamax(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _check_lr_tensor(lr)
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _group_values(self, group):
        b1, b2 = (_val(b) for b in group["betas"])
        return _val(group["lr"]), b1, b2, group["eps"], group["weight_decay"]

    def _update(self, group, values, p, st):
        lr, b1, b2, eps, wd = values
        if len(st) == 0:
            st["step"] = 0.0
            st["exp_avg"] = zeros_state(p)
            st["exp_inf"] = zeros_state(p)
        st["step"] = step = _val(st["step"]) + 1
        clr = lr / (1 - b1 ** step)
        fused_update("adamax", p, p.grad, [st["exp_avg"], st["exp_inf"]], [clr, b1, b2, eps, wd],
                     maximize=bool(group["maximize"]), wd=wd != 0)


class NAdam(Optimizer):
    _scalar_state = ("step", "mu_product")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check_lr_tensor(lr)
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("decoupled_weight_decay", False)

    def _group_values(self, group):
        b1, b2 = (_val(b) for b in group["betas"])
        return (_val(group["lr"]), b1, b2, group["eps"], group["weight_decay"], group["momentum_decay"],
                bool(group["decoupled_weight_decay"]))

    def _update(self, group, values, p, st):
        lr, b1, b2, eps, wd, md, dec = values
        if len(st) == 0:
            st["step"] = 0.0
            st["mu_product"] = 1.0
            st["exp_avg"] = zeros_state(p)
            st["exp_avg_sq"] = zeros_state(p)
        st["step"] = step = _val(st["step"]) + 1
        bc2 = 1 - b2 ** step
        mu = b1 * (1.0 - 0.5 * (0.96 ** (step * md)))
        mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * md)))
        st["mu_product"] = mp = _f32(np.float32(_val(st["mu_product"])) * np.float32(mu))
        cg = lr * (1.0 - mu) / (1.0 - mp)
        cm = lr * mu_next / (1.0 - mp * mu_next)
        fused_update("nadam_radam", p, p.grad, [st["exp_avg"], st["exp_avg_sq"]],
                     [lr, b1, b2, eps, wd, 1 / bc2, cg, cm],
                     nadam=True, rect=False, decoupled=dec, maximize=bool(group["maximize"]), wd=wd != 0)


class RAdam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False):
        _check_lr_tensor(lr)
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("decoupled_weight_decay", False)

    def _group_values(self, group):
        b1, b2 = (_val(b) for b in group["betas"])
        return _val(group["lr"]), b1, b2, group["eps"], group["weight_decay"], bool(group["decoupled_weight_decay"])

    def _update(self, group, values, p, st):
        lr, b1, b2, eps, wd, dec = values
        if len(st) == 0:
            st["step"] = 0.0
            st["exp_avg"] = zeros_state(p)
            st["exp_avg_sq"] = zeros_state(p)
        st["step"] = step = _val(st["step"]) + 1
        bc1 = 1 - b1 ** step
        bc2 = 1 - b2 ** step
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * step * (b2 ** step) / bc2
        rect = rho_t > 5.0
        r = 0.0
        if rect:
            r = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            r *= bc2 ** 0.5
        fused_update("nadam_radam", p, p.grad, [st["exp_avg"], st["exp_avg_sq"]],
                     [lr, b1, b2, eps, wd, lr / bc1, r, 0.0],
                     nadam=False, rect=rect, decoupled=dec, maximize=bool(group["maximize"]), wd=wd != 0)


class Rprop(Optimizer):
    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        _check_lr_tensor(lr)
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _group_values(self, group):
        em, ep = group["etas"]
        smin, smax = group["step_sizes"]
        return _val(group["lr"]), em, ep, smin, smax

    def _update(self, group, values, p, st):
        lr, em, ep, smin, smax = values
        if len(st) == 0:
            st["step"] = 0.0
            st["prev"] = zeros_state(p)
            st["step_size"] = C.full(p._shape, complex(lr, lr) if p._dtype.is_complex else lr, dtype=p._dtype,
                                     device=p._device)
        st["step"] = _val(st["step"]) + 1
        fused_update("rprop", p, p.grad, [st["prev"], st["step_size"]], [em, ep, smin, smax],
                     maximize=bool(group["maximize"]))


class ASGD(Optimizer):
    _scalar_state = ("step", "eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        _check_lr_tensor(lr)
        _check_lr(lr)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _group_values(self, group):
        return _val(group["lr"]), group["lambd"], group["alpha"], group["t0"], group["weight_decay"]

    def _update(self, group, values, p, st):
        lr, lambd, alpha, t0, wd = values
        if len(st) == 0:
            st["step"] = 0.0
            st["eta"] = _f32(lr)
            st["mu"] = 1.0
            st["ax"] = zeros_state(p)
        st["step"] = step = _val(st["step"]) + 1
        eta, mu = _val(st["eta"]), _val(st["mu"])
        fused_update("asgd", p, p.grad, [st["ax"]], [eta, lambd, mu, wd], maximize=bool(group["maximize"]),
                     wd=wd != 0)
        st["eta"] = _f32(lr / ((1 + lambd * lr * step) ** alpha))
        st["mu"] = _f32(1 / max(1, step - t0))


class SparseAdam(Optimizer):
    """PyTorch's SparseAdam takes sparse gradients only; cltensor tensors are strided (dense), so a step raises
    PyTorch's error for dense gradients."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        _check_lr_tensor(lr)
        if not 0.0 < _val(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, maximize=maximize)
        super().__init__(params, defaults)
        sparse_params = []
        complex_params = []
        for index, group in enumerate(self.param_groups):
            for d_index, d_param in enumerate(group["params"]):
                if getattr(d_param, "is_sparse", False):
                    sparse_params.append([index, d_index])
                if d_param.is_complex():
                    complex_params.append([index, d_index])
        if sparse_params:
            raise ValueError(f"Sparse params at indices {sparse_params}: SparseAdam requires dense parameter tensors")
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not support complex "
                             "parameters")

    def _update(self, group, values, p, st):
        if not getattr(p.grad, "is_sparse", False):
            raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")
        raise NotImplementedError("sparse gradients are not supported by cltensor")


class Adafactor(Optimizer):
    """PyTorch's Adafactor (factored second moments for matrices). Composed from device ops (row/column reductions,
    an outer product, rsqrt); the parameter RMS and the update RMS are host reads, as in PyTorch's step."""

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        _check_lr_tensor(lr)
        if not 0.0 <= _val(lr):
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _group_values(self, group):
        return _val(group["lr"]), group["beta2_decay"], group["eps"], group["d"], group["weight_decay"]

    def _update(self, group, values, p, st):
        from .. import _dtypes as D
        lr, beta2_decay, (eps1, eps2), d, wd = values
        if p.is_complex():
            raise RuntimeError("Adafactor does not support complex parameters")
        grad = p.grad if not group["maximize"] else -p.grad
        if len(st) == 0:
            st["step"] = 0.0
            if grad.dim() > 1:
                st["row_var"] = C.zeros(tuple(grad.shape[:-1]) + (1,), dtype=p.dtype, device=p.device)
                st["col_var"] = C.zeros(tuple(grad.shape[:-2]) + (1, grad.shape[-1]), dtype=p.dtype,
                                        device=p.device)
            else:
                st["variance"] = zeros_state(p)
        if eps1 is None:
            eps1 = D.finfo(p.dtype).eps
        st["step"] = step = _val(st["step"]) + 1
        one_minus_beta2_t = step ** beta2_decay
        rho_t = min(lr, 1 / (step ** 0.5))
        alpha = max(eps2, p.norm(2).item() / (p.numel() ** 0.5)) * rho_t
        if wd != 0:
            p.mul_(1 - lr * wd)
        if grad.dim() > 1:
            row_var, col_var = st["row_var"], st["col_var"]
            row_var.lerp_(grad.norm(dim=-1, keepdim=True).square_().div_(grad.size(-1)), one_minus_beta2_t)
            col_var.lerp_(grad.norm(dim=-2, keepdim=True).square_().div_(grad.size(-2)), one_minus_beta2_t)
            var_estimate = row_var @ col_var
            var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
        else:
            st["variance"].lerp_(grad * grad, one_minus_beta2_t)
            var_estimate = st["variance"].clone()
        update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_()
        update.mul_(grad)
        denom = max(1.0, update.norm(2).item() / ((update.numel() ** 0.5) * d))
        p.add_(update, alpha=-alpha / denom)


_MUON_EPS = 1e-07
_MUON_NS = (3.4445, -4.775, 2.0315)


def _zeropower_via_newtonschulz(grad, ns_coefficients, ns_steps, eps):
    """Newton-Schulz orthogonalization as PyTorch's Muon, but in the gradient's dtype: cltensor has no bfloat16,
    which PyTorch iterates in (so results agree to bfloat16 precision, not to float32 precision)."""
    from .. import _linalg
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(grad.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    ortho_grad = grad.clone()
    if grad.size(0) > grad.size(1):
        ortho_grad = ortho_grad.T
    ortho_grad.div_(ortho_grad.norm().clamp(min=eps))
    for _ in range(ns_steps):
        gram_matrix = ortho_grad @ ortho_grad.T
        gram_update = _linalg.addmm(gram_matrix, gram_matrix, gram_matrix, beta=b, alpha=c)
        ortho_grad = _linalg.addmm(ortho_grad, gram_update, ortho_grad, beta=a)
    if grad.size(0) > grad.size(1):
        ortho_grad = ortho_grad.T
    return ortho_grad


def _adjust_lr(lr, adjust_lr_fn, param_shape):
    A, B = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        adjusted_ratio = math.sqrt(max(1, A / B))
    elif adjust_lr_fn == "match_rms_adamw":
        adjusted_ratio = 0.2 * math.sqrt(max(A, B))
    else:
        adjusted_ratio = 1.0
    return lr * adjusted_ratio


class Muon(Optimizer):
    """PyTorch's Muon for 2-d parameters: momentum (Nesterov by default), Newton-Schulz orthogonalized update
    (matrix products on the device), decoupled weight decay."""

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True, ns_coefficients=_MUON_NS,
                 eps=_MUON_EPS, ns_steps=5, adjust_lr_fn=None):
        _check_lr_tensor(lr)
        if not 0.0 <= _val(lr):
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"{p.size()}")

    def _group_values(self, group):
        return _val(group["lr"]), group["weight_decay"], group["momentum"]

    def _update(self, group, values, p, st):
        lr, wd, momentum = values
        if p.is_complex():
            raise RuntimeError("Muon does not support complex parameters")
        grad = p.grad
        if grad.ndim != 2:
            raise ValueError("Param gradient must be a 2D matrix")
        if "momentum_buffer" not in st:
            st["momentum_buffer"] = zeros_state(p)
        buf = st["momentum_buffer"]
        buf.lerp_(grad, 1 - momentum)
        update = grad.lerp(buf, momentum) if group["nesterov"] else buf
        update = _zeropower_via_newtonschulz(update, group["ns_coefficients"], group["ns_steps"], group["eps"])
        adjusted_lr = _adjust_lr(lr, group["adjust_lr_fn"], p.shape)
        p.mul_(1 - lr * wd)
        p.add_(update, alpha=-adjusted_lr)
