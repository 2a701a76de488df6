"""`cltensor.amp`: automatic mixed precision, as torch.amp: `autocast` regions (cltensor/amp/_autocast.py) and
`GradScaler` (cltensor/amp/_grad_scaler.py); `custom_fwd` / `custom_bwd` for autograd Functions."""
import functools

from ._autocast import (autocast, is_autocast_available, is_autocast_enabled, get_autocast_dtype,  # noqa: F401
                        set_autocast_enabled, set_autocast_dtype)
from ._grad_scaler import GradScaler, OptState  # noqa: F401
from . import _autocast

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd", "is_autocast_available"]


def custom_fwd(fwd=None, *, device_type="cuda", cast_inputs=None):
    """Decorator for a custom Function's forward: with cast_inputs, floating-point tensor arguments are cast to it
    and the forward runs with autocast off while a region is on; otherwise the forward runs in the region's state
    and `backward` (decorated by custom_bwd) runs in the same state."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def run(*args, **kwargs):
        ctx = args[0] if args else None
        if ctx is not None:
            ctx._fwd_used_autocast = is_autocast_enabled(device_type)
            ctx._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None or not is_autocast_enabled(device_type):
            return fwd(*args, **kwargs)
        cast = functools.partial(_autocast._cast_lower, dt=cast_inputs)
        with autocast(device_type, enabled=False):
            return fwd(*[cast(a) for a in args], **{k: cast(v) for k, v in kwargs.items()})
    return run


def custom_bwd(bwd=None, *, device_type="cuda"):
    """Decorator for a custom Function's backward: runs it in the autocast state its forward ran in."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def run(ctx, *args):
        with autocast(device_type, dtype=getattr(ctx, "_dtype", None), enabled=getattr(ctx, "_fwd_used_autocast",
                                                                                       False)):
            return bwd(ctx, *args)
    return run
