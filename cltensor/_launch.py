"""Helpers every kernel launcher shares: the device runtime of a tensor, the element extent of its storage, and the
index type of a kernel (32-bit where every index fits, else 64-bit) with its numpy argument type."""
import numpy as np

from . import _device as dv

I32 = (1 << 31) - 1          # the largest index a kernel built with idx="int" may compute


def rt_of(t):
    """The device runtime (context, queue, pool) that holds t's storage; a clear error for host-only storage."""
    rt = t._st.rt
    if rt is None:
        raise dv.no_cpu_device_error(t._device)
    return rt


def extent(t):
    """Elements of t's dtype in its whole storage: the bound every index into that storage stays below."""
    return t._st.nbytes // t._dtype.itemsize


def idx_type(*extents):
    """(template idx parameter, numpy type of index arguments) for indices up to max(extents)."""
    if max(extents, default=0) <= I32:
        return "int", np.int32
    return "long", np.int64


def idx_np(idx):
    """numpy type of the kernel arguments of index type `idx` ("int" / "long")."""
    return np.int32 if idx == "int" else np.int64
