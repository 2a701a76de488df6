"""``cltensor.backends.cuda``: `matmul.allow_tf32` (tied to get/set_float32_matmul_precision, as torch),
`matmul.allow_fp16_reduced_precision_reduction`, `matmul.allow_bf16_reduced_precision_reduction`, and the SDP
kernel switches: recorded, no effect on results."""
from . import _state
from ._flags import Flags


class _Matmul(Flags):
    def __getattr__(self, k):
        if k == "allow_tf32":
            return _state["precision"] != "highest"
        return Flags.__getattr__(self, k)

    def __setattr__(self, k, v):
        if k == "allow_tf32":
            _state["precision"] = "high" if v else "highest"
            return
        Flags.__setattr__(self, k, v)


matmul = _Matmul("cltensor.backends.cuda.matmul", allow_fp16_reduced_precision_reduction=True,
                 allow_bf16_reduced_precision_reduction=True, allow_fp16_accumulation=False)
_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def is_built():
    """False: cltensor has no CUDA build (its GPUs are OpenCL devices: cltensor.cuda)."""
    return False


def enable_flash_sdp(enabled):
    _sdp["flash"] = bool(enabled)


def flash_sdp_enabled():
    return _sdp["flash"]


def enable_mem_efficient_sdp(enabled):
    _sdp["mem_efficient"] = bool(enabled)


def mem_efficient_sdp_enabled():
    return _sdp["mem_efficient"]


def enable_math_sdp(enabled):
    _sdp["math"] = bool(enabled)


def math_sdp_enabled():
    return _sdp["math"]


def preferred_linalg_library(backend=None):
    return "default"
