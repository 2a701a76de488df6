"""`cltensor.amp.GradScaler` (torch.amp.GradScaler / torch.cuda.amp.GradScaler): dynamic loss scaling.

`scale(loss)` multiplies by the current scale; `unscale_(optimizer)` divides the optimizer's gradients by it in
one kernel per gradient (templates/amp.mako: the multiply and the inf/NaN check together, writing a per-device
`found_inf` flag); `step(optimizer)` unscales if that was not done, reads the flag (one host read per step, as
PyTorch's step does) and skips the optimizer's step when a gradient was not finite; `update()` halves the scale
after a skipped step (backoff_factor) and doubles it after growth_interval clean steps (growth_factor).
"""
from collections import defaultdict
from enum import Enum

import numpy as np

from .. import _dtypes as D
from .. import _kernels as K
from .. import _creation as C
from .._launch import I32, rt_of, idx_np
from .._tensor import Tensor
from ..autograd import no_grad

__all__ = ["GradScaler", "OptState"]


class OptState(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _unscale_check(g, inv_scale, found):
    """g *= inv_scale in place; found[0] = 1 where g had an inf or NaN (one kernel for a contiguous g)."""
    n = g.numel()
    if n == 0:
        return
    if not g.is_contiguous() or g._dtype.is_complex:
        with no_grad():
            bad = (~g.isfinite()).any().to(D.float32).reshape(1)
            found.copy_(found.maximum(bad))
            g.mul_(inv_scale)
        return
    rt = rt_of(g)
    idx = "int" if g._offset + n + 8 <= I32 else "long"
    it = idx_np(idx)
    k = K.get(rt, "amp", "unscale_check", t=g._dtype, idx=idx)
    ft = np.float64 if g._dtype is D.float64 else np.float32
    args = [g._st.buf, it(g._offset), it(n), ft(inv_scale), found._st.buf]
    if k.__dict__.get("typed") is None:
        K.set_arg_types(k, [type(a) if isinstance(a, np.generic) else None for a in args])
    ls = rt.local_size
    K.launch(rt, k, (K.round_up((n + 7) // 8, ls),), (ls,), args)
    g._st.version += 1
    found._st.version += 1
    if g._st.shared:
        rt.queue.finish()


class GradScaler:
    """GradScaler(device="cuda", init_scale=2.**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
    enabled=True), as PyTorch's."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = device
        self._enabled = enabled
        if enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
        self._init_scale = float(init_scale)
        self._scale = None                   # a Python float once used (the scale lives on the host here)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._init_growth_tracker = 0
        self._growth_tracker = None
        self._per_optimizer_states = defaultdict(lambda: {"stage": OptState.READY, "found_inf_per_device": {}})

    # ------------------------------------------------------------ scaling
    def _lazy_init(self):
        if self._scale is None:
            self._scale = self._init_scale
            self._growth_tracker = self._init_growth_tracker

    def scale(self, outputs):
        """outputs * scale: a tensor, or (nested) lists/tuples of tensors."""
        if not self._enabled:
            return outputs
        self._lazy_init()
        if isinstance(outputs, Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if hasattr(outputs, "__iter__"):
            return map(self.scale, outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def _unscale_grads_(self, optimizer, inv_scale, allow_fp16):
        found = {}
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if not allow_fp16 and p.grad._dtype is D.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    dev = p.grad._device
                    f = found.get(dev)
                    if f is None:
                        f = found[dev] = C.zeros(1, dtype=D.float32, device=dev)
                    _unscale_check(p.grad, inv_scale, f)
        return found

    def unscale_(self, optimizer):
        """Divide the optimizer's gradients by the scale (once per step), noting infs/NaNs."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        state["found_inf_per_device"] = self._unscale_grads_(optimizer, 1.0 / self._scale, False)
        state["stage"] = OptState.UNSCALED

    def _found_inf(self, state):
        return sum(float(v.item()) for v in state["found_inf_per_device"].values())

    def step(self, optimizer, *args, **kwargs):
        """Unscale (if not done) and run optimizer.step(*args, **kwargs) unless a gradient was inf/NaN; returns
        what step returned (None when skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if not state["found_inf_per_device"]:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        ret = None
        if not self._found_inf(state):
            ret = optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return ret

    def update(self, new_scale=None):
        """Adjust the scale after this iteration's steps (or set it to new_scale)."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                if new_scale.numel() != 1:
                    raise AssertionError("new_scale should be a single-element tensor")
                new_scale = float(new_scale.item())
            self._scale = float(new_scale)
        else:
            found = sum(self._found_inf(s) for s in self._per_optimizer_states.values())
            if not self._per_optimizer_states:
                raise AssertionError("No inf checks were recorded prior to update.")
            if found:
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale *= self._growth_factor
                    self._growth_tracker = 0
        self._per_optimizer_states = defaultdict(lambda: {"stage": OptState.READY, "found_inf_per_device": {}})

    def _check_scale_growth_tracker(self, name):
        if self._scale is None:
            raise AssertionError(f"Attempted {name} but _scale is None.  This may indicate your script did not use "
                                 "scaler.scale(loss or outputs) earlier in the iteration.")

    # ------------------------------------------------------------ queries and state
    def get_scale(self):
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, v):
        self._growth_factor = float(v)

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, v):
        self._backoff_factor = float(v)

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, v):
        self._growth_interval = int(v)

    def _get_growth_tracker(self):
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        """PyTorch's layout: scale, growth_factor, backoff_factor, growth_interval, _growth_tracker."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        self._scale = self._init_scale
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        self._growth_tracker = self._init_growth_tracker

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_per_optimizer_states"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._per_optimizer_states = defaultdict(lambda: {"stage": OptState.READY, "found_inf_per_device": {}})

