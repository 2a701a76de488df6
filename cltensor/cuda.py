"""`cltensor.cuda`: PyTorch's CUDA namespace answered with OpenCL GPUs, so `device = "cuda" if
torch.cuda.is_available() else "cpu"` picks an OpenCL GPU where there is one."""
from . import _creation
from . import _device as dv


def _gpus():
    return [d for d, _ in dv.devices() if d.type == "gpu"]


def is_available():
    return bool(_gpus())


def device_count():
    return len(_gpus())


def current_device():
    return 0


def get_device_name(device=None):
    gs = _gpus()
    if not gs:
        raise RuntimeError("no OpenCL GPU is available")
    return dv.device_info(gs[device or 0] if isinstance(device, int) or device is None else device).name


def synchronize(device=None):
    dv.synchronize(device)


def manual_seed(seed):
    return _creation.manual_seed(seed)


manual_seed_all = manual_seed


def empty_cache():
    for rt in dv._RUNTIMES.values():
        if rt is not None and rt.device.type == "gpu":
            rt.empty_cache()


def memory_allocated(device=None):
    rt = dv._RUNTIMES.get(dv._resolve(device or "gpu"))
    return rt.in_use_bytes if rt else 0


def _rt(device):
    return dv._RUNTIMES.get(dv._resolve(device if device is not None else "gpu"))


def max_memory_allocated(device=None):
    rt = _rt(device)
    return rt.peak_bytes if rt else 0


def memory_reserved(device=None):
    rt = _rt(device)
    return rt.in_use_bytes + rt.cached_bytes if rt else 0


def reset_peak_memory_stats(device=None):
    rt = _rt(device)
    if rt:
        rt.peak_bytes = rt.in_use_bytes


class _Props:
    def __init__(self, info):
        self.name, self.total_memory = info.name, info.global_mem_size
        self.multi_processor_count = info.compute_units

    def __repr__(self):
        return f"_CudaDeviceProperties(name='{self.name}', total_memory={self.total_memory // (1 << 20)}MB, " \
               f"multi_processor_count={self.multi_processor_count})"


def get_device_properties(device=None):
    gs = _gpus()
    if not gs:
        raise RuntimeError("no OpenCL GPU is available")
    d = gs[device or 0] if isinstance(device, int) or device is None else dv._resolve(device)
    return _Props(dv.device_info(d))
