"""Host reads for tests that run on any default device (CLTENSOR_DEVICE): compare values on the host.

`Tensor.numpy()` only works on CPU-device tensors (as in PyTorch, where a CUDA tensor raises TypeError); tests
read results with `host(t)`, a numpy copy made through `.cpu()`, whatever device `t` lives on."""
import numpy as np

import cltensor as ct
from cltensor import _device as dv


def host(t):
    """The values of a cltensor (or torch) tensor as a numpy array on the host, for comparisons: detached and
    copied to the CPU device first. numpy arrays and Python values pass through np.asarray."""
    if hasattr(t, "detach") and hasattr(t, "cpu"):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def has_cl_cpu():
    """Whether "cpu" is an OpenCL CPU device (PoCL) that runs kernels. Where there is none (e.g. under Oclgrind,
    whose simulated device is gpu:0), tensors on "cpu" are host storage only: they hold and move data, and
    kernels on them raise."""
    return ct.device("cpu") in dv._enumerate()[1]
