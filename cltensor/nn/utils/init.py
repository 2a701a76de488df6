"""skip_init: build a module without running its parameter initialisation's meaning (values are arbitrary)."""
import inspect

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """PyTorch builds the module on the meta device and materialises it empty; cltensor has no meta device, so the
    module is built directly (its values are unspecified either way)."""
    from ..modules.module import Module
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", "cpu")
    return module_cls(*args, **kwargs, device=final_device)
