"""`cltensor.cuda`: PyTorch's CUDA namespace answered with OpenCL GPUs, so `device = "cuda" if
torch.cuda.is_available() else "cpu"` picks an OpenCL GPU where there is one."""
from . import _creation
from . import _device as dv
from ._graphs import (Graph as CUDAGraph, graph, make_graphed_callables, is_current_stream_capturing,  # noqa: F401
                      graph_pool_handle)


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


# ---------------------------------------------------------------- memory statistics of the device's pool
# "allocated" is memory held by live tensors (pool blocks in use, rounded to the pool's bins), "reserved" adds
# the cached free blocks the pool keeps for reuse (what empty_cache() returns to the driver). The peak of
# "reserved" is sampled whenever a statistic is read (the pool records only the peak of "allocated").

_peak_reserved = {}


def _rt(device):
    if device is None and not _gpus():
        return None
    if isinstance(device, int) and not isinstance(device, bool):
        device = dv.device("gpu", device)
    try:
        return dv._RUNTIMES.get(dv._resolve(device if device is not None else "gpu"))
    except RuntimeError:
        return None


def _reserved(rt):
    cur = rt.in_use_bytes + rt.cached_bytes
    pk = max(_peak_reserved.get(rt.device, 0), cur, rt.peak_bytes)
    _peak_reserved[rt.device] = pk
    return cur, pk


def empty_cache():
    """Return the pool's cached free blocks to the driver (every GPU)."""
    for rt in dv._RUNTIMES.values():
        if rt is not None and rt.device.type == "gpu":
            _reserved(rt)
            rt.empty_cache()


def memory_allocated(device=None):
    rt = _rt(device)
    return rt.in_use_bytes if rt else 0


def max_memory_allocated(device=None):
    rt = _rt(device)
    return rt.peak_bytes if rt else 0


def memory_reserved(device=None):
    rt = _rt(device)
    return _reserved(rt)[0] if rt else 0


def max_memory_reserved(device=None):
    rt = _rt(device)
    return _reserved(rt)[1] if rt else 0


memory_cached = memory_reserved
max_memory_cached = max_memory_reserved


def reset_peak_memory_stats(device=None):
    rt = _rt(device)
    if rt:
        rt.peak_bytes = rt.in_use_bytes
        _peak_reserved[rt.device] = rt.in_use_bytes + rt.cached_bytes


reset_max_memory_allocated = reset_peak_memory_stats
reset_max_memory_cached = reset_peak_memory_stats


def memory_stats(device=None):
    """torch.cuda.memory_stats()'s keys that scripts read ("allocated_bytes.all.current" / ".peak",
    "reserved_bytes.all.current" / ".peak", "active_bytes.all.*", "num_alloc_retries", "num_ooms",
    "num_device_alloc" ...), from the pool. Empty (as torch's) when there is no GPU or it was never used."""
    rt = _rt(device)
    if rt is None:
        return {}
    res, res_pk = _reserved(rt)
    out = {}
    for key, cur, pk in (("allocated_bytes", rt.in_use_bytes, rt.peak_bytes),
                         ("active_bytes", rt.in_use_bytes, rt.peak_bytes),
                         ("reserved_bytes", res, res_pk),
                         ("inactive_split_bytes", 0, 0)):
        for pool in ("all", "small_pool", "large_pool"):
            big = pool == "all" or pool == "large_pool"
            out[f"{key}.{pool}.current"] = cur if big else 0
            out[f"{key}.{pool}.peak"] = pk if big else 0
    out.update({"num_alloc_retries": 0, "num_ooms": 0, "num_device_alloc": rt.n_allocs, "num_device_free": 0,
                "num_sync_all_streams": 0})
    return dict(sorted(out.items()))


def mem_get_info(device=None):
    """(free, total) bytes of the GPU: total is the memory cltensor may use on it (the device's global memory or
    a profile's limit), free is total minus what the pool holds."""
    gs = _gpus()
    if not gs:
        raise RuntimeError("no OpenCL GPU is available")
    d = gs[device or 0] if isinstance(device, int) or device is None else dv._resolve(device)
    total = dv.device_info(d).mem_limit
    rt = dv._RUNTIMES.get(d)
    used = rt.in_use_bytes + rt.cached_bytes if rt else 0
    return max(total - used, 0), total


def memory_summary(device=None, abbreviated=False):
    st = memory_stats(device)
    lines = [f"{k}: {v}" for k, v in st.items() if k.split(".")[1:2] in (["all"], [])]
    return "\n".join(lines)


def set_device(device):
    """Accepted; cltensor's "gpu" is gpu:0 unless a device says otherwise (use cltensor.set_default_device)."""
    if isinstance(device, int) and device >= max(device_count(), 1):
        raise RuntimeError(f"Invalid device index {device}")


def is_initialized():
    return any(rt is not None and rt.device.type == "gpu" for rt in dv._RUNTIMES.values())


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


class amp:
    """torch.cuda.amp: the deprecated spellings of cltensor.amp (autocast(enabled, dtype, cache_enabled) for GPUs,
    GradScaler(init_scale, ...) for GPUs)."""

    @staticmethod
    def autocast(enabled=True, dtype=None, cache_enabled=True):
        from .amp import autocast as _ac
        from . import _dtypes as D
        return _ac("cuda", dtype=dtype if dtype is not None else D.float16, enabled=enabled,
                   cache_enabled=cache_enabled)

    @staticmethod
    def GradScaler(init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                   enabled=True):
        from .amp import GradScaler as _gs
        return _gs("cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled)

    @staticmethod
    def custom_fwd(fwd=None, *, cast_inputs=None):
        from .amp import custom_fwd as _cf
        return _cf(fwd, device_type="cuda", cast_inputs=cast_inputs)

    @staticmethod
    def custom_bwd(bwd=None):
        from .amp import custom_bwd as _cb
        return _cb(bwd, device_type="cuda")

