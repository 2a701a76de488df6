"""Host (numpy) views of tensors, and the OpenCL-free mode of DataLoader worker processes.

Workers never use OpenCL: a process forked after the parent created an OpenCL context cannot use that context
(the driver's threads are not copied by fork), and a fresh context per worker costs start-up time and device
memory. In a worker, every device reports "no runtime", so tensors created there are host storage (numpy
memory); tensors inherited from the parent are read through their host memory, which the parent synchronised
before starting the workers. The batch reaches the device in the main process (see ``_transfer``).
"""
import numpy as np

from ... import _device as dv
from ..._creation import _share, _upload
from ... import _dtypes as D
from ..._tensor import empty_tensor, make, contiguous_strides

_state = {"worker": False}


def in_worker():
    return _state["worker"]


class _NoOpenCL:
    """Stands in for the parent's OpenCL queue and context inside a worker process: synchronising is a no-op
    (the parent finished its queues before starting workers), anything else is an error instead of a hang."""

    def finish(self):
        pass

    def flush(self):
        pass

    def __getattr__(self, name):
        raise RuntimeError("DataLoader worker processes do not run OpenCL kernels: a Dataset used with "
                           "num_workers > 0 must produce host data (numpy arrays, Python numbers or tensors whose "
                           "values are only indexed and collated); run device operations in the main process "
                           "on the batch")

    def __bool__(self):
        return True


def enter_worker_mode():
    """Called first in a worker process: no OpenCL from here on (see module docstring)."""
    _state["worker"] = True
    if dv._ENUM is None:                       # spawn/forkserver child: do not even load the OpenCL platforms
        dv._ENUM = ([], {})
    poison = _NoOpenCL()
    for rt in list(dv._RUNTIMES.values()):
        if rt is not None:
            rt.queue = poison
            rt.ctx = poison
    for k in list(dv._RUNTIMES):
        dv._RUNTIMES[k] = None
    for k in dv._ENUM[1]:
        dv._RUNTIMES[k] = None
    dv._RUNTIMES[dv.device("cpu")] = None


def synchronize_all():
    """Finish every device queue (before starting workers by fork: their host memory is then current)."""
    for rt in list(dv._RUNTIMES.values()):
        if rt is not None:
            rt.queue.finish()


def host_array(t):
    """numpy view of tensor t's values (CPU device / host storage); a copy for device memory (main process)."""
    if t._st.host is None:
        if in_worker():
            raise RuntimeError(f"a tensor on {t._device} cannot be read in a DataLoader worker process; keep "
                               "the dataset's tensors on the CPU device or use num_workers=0")
        return t._to_numpy_copy()
    return t._host_array()


def host_tensor(arr, device=None):
    """A tensor wrapping numpy array arr (host storage in a worker; shared memory on the CPU device)."""
    if any(s < 0 for s in arr.strides) or any(s % arr.itemsize for s in arr.strides):
        arr = np.ascontiguousarray(arr)
    return _share(arr, dv.device("cpu") if device is None else device)



def adopt(arr, device):
    """A tensor on `device` holding the values of the fresh, writable, C-contiguous numpy array `arr`.

    On the CPU device (unified memory) the tensor uses arr's memory directly: no copy. arr must not be used
    elsewhere afterwards (the storage is not marked as shared with numpy, so kernels run on it without extra
    synchronisation)."""
    d = D.from_numpy_dtype(arr.dtype)
    dev = dv._resolve(device) if device is not None else dv.device("cpu")
    shape = tuple(arr.shape)
    rt = dv.runtime(dev)
    if arr.size and dev.type == "cpu" and (rt is None or rt.unified) and arr.flags.c_contiguous and \
            arr.flags.writeable:
        host = arr.reshape(-1).view(np.uint8)
        if rt is None:
            st = dv.Storage(None, arr.nbytes, host=host, owner=arr)
        else:
            buf = dv.cl.Buffer(rt.ctx, dv.cl.mem_flags.READ_WRITE | dv.cl.mem_flags.USE_HOST_PTR, hostbuf=host)
            st = dv.Storage(rt, arr.nbytes, buf=buf, host=host, owner=arr)
        return make(st, shape, contiguous_strides(shape), 0, d, dev)
    return _upload(arr, d, dev)


def copy_to_tensor(src, device):
    """A new tensor on `device` with a copy of numpy array src (one host copy into pooled memory on the CPU
    device)."""
    d = D.from_numpy_dtype(src.dtype)
    dev = dv._resolve(device) if device is not None else dv.device("cpu")
    if dev.type == "cpu":
        pair = new_host_out(src.shape, d, dev)
        if pair is not None:
            t, dst = pair
            if dst.size:
                np.copyto(dst, src)
            return t
    return _upload(src, d, dev)


def out_array(t):
    """numpy view of a fresh contiguous tensor's memory, for filling on the host (host storage only)."""
    n = t.numel() * t._dtype.itemsize
    return t._st.host[:n].view(t._dtype.np).reshape(t._shape)


def new_host_out(shape, dtype, device):
    """(tensor, numpy view) of a fresh contiguous tensor to fill on the host, or None where the device has no
    host memory. Synchronises the device first: the pooled memory may have been used by queued kernels."""
    rt = dv.runtime(device)
    if rt is not None and not rt.unified:
        return None
    t = empty_tensor(tuple(shape), dtype, device)
    if rt is not None:
        rt.queue.finish()
    return t, out_array(t)

