"""The one place cltensor reads its environment variables (README.md lists them).

Values are read when asked for (not cached at import), so a program or a test may change os.environ before the
choice it governs is made. Each variable has one accessor here; no other module reads os.environ for CLTENSOR_*.
"""
import os

__all__ = ["device", "device_profile", "debug", "gemm_variant", "autotune", "cache_dir", "cache_binaries", "conv",
           "dist_checks", "sdpa", "build_progress", "cache_fill", "launch_batch",
           "VARIABLES"]

# name -> (default, meaning): the documented variables
VARIABLES = {
    "CLTENSOR_DEVICE": (None, "default device (cpu, gpu:0, cl:1 ...)"),
    "CLTENSOR_DEVICE_PROFILE": ("", "make the device look like a harder one (no fp64, small work-groups ...)"),
    "CLTENSOR_DEBUG": ("", "print each generated kernel source and each launch"),
    "CLTENSOR_GEMM_VARIANT": (None, "force the register-tiled ('reg') or local-memory ('local') GEMM"),
    "CLTENSOR_AUTOTUNE": ("", "'1': time a few GEMM tile configurations once per device"),
    "CLTENSOR_CACHE_DIR": (None, "where built kernel binaries are cached ('0' turns the cache off)"),
    "CLTENSOR_CACHE_BINARIES": ("auto", "when to store a program's binary: auto | 1 | 0"),
    "CLTENSOR_CONV": ("auto", "force the convolution algorithm: auto | direct | im2col"),
    "CLTENSOR_SDPA": ("auto", "scaled_dot_product_attention: auto | fused | unfused"),
    "CLTENSOR_DIST_CHECKS": ("1", "'0': collectives skip the shape/dtype header exchange between ranks"),
    "CLTENSOR_CACHE_FILL": ("1", "'0': no background process stores the binaries of a run's new programs at exit"),
    "CLTENSOR_BUILD_PROGRESS": ("auto", "kernel build progress on stderr: auto (after 1 s of building) | 1 | 0"),
    "CLTENSOR_LAUNCH_BATCH": ("auto", "small kernels released to the device together: auto | 0 (off) | N"),
}


def _get(name):
    return os.environ.get(name, VARIABLES[name][0])


def device():
    return _get("CLTENSOR_DEVICE")


def device_profile():
    return _get("CLTENSOR_DEVICE_PROFILE")


def debug():
    return bool(_get("CLTENSOR_DEBUG"))


def gemm_variant():
    return _get("CLTENSOR_GEMM_VARIANT")


def autotune():
    return _get("CLTENSOR_AUTOTUNE") == "1"


def cache_dir():
    """The binary cache directory, or None when CLTENSOR_CACHE_DIR=0 turns the cache off."""
    d = _get("CLTENSOR_CACHE_DIR")
    if d is not None:
        return None if d in ("", "0") else d
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "cltensor")


def cache_binaries():
    return _get("CLTENSOR_CACHE_BINARIES")


def conv():
    return _get("CLTENSOR_CONV")


def sdpa():
    return _get("CLTENSOR_SDPA")


def dist_checks():
    return _get("CLTENSOR_DIST_CHECKS") != "0"


def build_progress():
    return _get("CLTENSOR_BUILD_PROGRESS")


def cache_fill():
    return _get("CLTENSOR_CACHE_FILL") != "0"


def launch_batch():
    """None: the device's default (Tuning.launch_batch); else small kernels per launch gate (0: no gate)."""
    v = _get("CLTENSOR_LAUNCH_BATCH")
    if v in (None, "", "auto"):
        return None
    try:
        return max(int(v), 0)
    except ValueError:
        raise ValueError(f"CLTENSOR_LAUNCH_BATCH must be 'auto' or a non-negative integer, not {v!r}") from None
