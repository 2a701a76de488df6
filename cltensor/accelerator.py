"""``cltensor.accelerator`` (as ``torch.accelerator``): the current accelerator is the first OpenCL GPU
(device type "gpu"), or none."""
from . import _device as dv
from . import cuda

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index", "set_device_index",
           "synchronize"]

_index = [0]


def is_available():
    return cuda.is_available()


def current_accelerator(check_available=False):
    """cltensor.device("gpu") when there is an OpenCL GPU, else None."""
    return dv.device("gpu") if cuda.is_available() else None


def device_count():
    return cuda.device_count()


def _check():
    if not cuda.is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")


def current_device_index():
    _check()
    return _index[0]


current_device_idx = current_device_index


def set_device_index(device):
    _check()
    i = device if isinstance(device, int) else (dv.device(device).index or 0)
    if not 0 <= i < device_count():
        raise RuntimeError(f"Invalid device index {i}")
    _index[0] = i


set_device_idx = set_device_index


def synchronize(device=None):
    """Wait for the queued work of the accelerator (or of `device`)."""
    _check()
    dv.synchronize(device if device is not None else dv.device("gpu", _index[0]))
