"""Host buffers of tensors for MPI: a numpy view of the storage where the device shares host memory (the PoCL CPU
device, the host-only fallback), a staging copy otherwise; and the MPI datatype of each dtype."""
import numpy as np

from .. import _device as dv
from .. import _creation
from ..autograd import no_grad
from .._tensor import Tensor


def is_host(t):
    """True when the tensor's storage is host memory that numpy can view (no copy needed)."""
    st = t._st
    return st.host is not None


class HostBuf:
    """A flat numpy array holding a tensor's values for MPI. `arr` is a view of the tensor's own memory when the
    storage is host memory and the tensor is contiguous (no copy: the device queue is synchronised first);
    otherwise a staging copy, written back into the tensor by `commit()`."""
    __slots__ = ("t", "arr", "direct")

    def __init__(self, t, read=True):
        self.t = t
        n = t.numel()
        st = t._st
        if st.host is not None and t.is_contiguous():
            # a view of the storage's own host memory, after the device queue ran what was enqueued
            if st.rt is not None:
                st.rt.queue.finish()
            it = t._dtype.itemsize
            self.arr = st.host[t._offset * it:(t._offset + n) * it].view(t._dtype.np)
            self.direct = True
        else:
            self.direct = False
            if read:
                self.arr = np.ascontiguousarray(t._bits_copy()).reshape(n)
            else:
                self.arr = np.empty(n, t._dtype.np)

    @classmethod
    def direct_view(cls, t, arr):
        """The HostBuf of a contiguous host-memory tensor whose view `arr` the caller took (queue finished)."""
        b = cls.__new__(cls)
        b.t, b.arr, b.direct = t, arr, True
        return b

    def commit(self):
        """Make the tensor hold `arr` (after a receive) and bump its version as an in-place write does."""
        t = self.t
        st = t._st
        st.version += 1
        if self.direct:
            return
        write_array(t, self.arr)


def write_array(t, arr):
    """Write the flat array `arr` into tensor t (any device, any layout)."""
    if t.numel() == 0:
        return
    st = t._st
    if st.host is not None:
        t._host_array()[...] = arr.reshape(t._shape)
        return
    if t.is_contiguous():
        dv.blocking_copy(st.rt.queue, st.buf, np.ascontiguousarray(arr), dst_offset=t._offset * t._dtype.itemsize)
        return
    with no_grad():
        src = _creation.from_numpy(np.ascontiguousarray(arr).reshape(t._shape)).to(t._device)
        t.copy_(src)


def read_chunk(t, start, out):
    """Copy elements [start, start + len(out)) of contiguous device tensor t into the host array out."""
    st = t._st
    dv.blocking_copy(st.rt.queue, out, st.buf, src_offset=(t._offset + start) * t._dtype.itemsize)


def write_chunk(t, start, arr):
    st = t._st
    dv.blocking_copy(st.rt.queue, st.buf, arr, dst_offset=(t._offset + start) * t._dtype.itemsize)


def check_tensor(t, name="tensor"):
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type torch.Tensor\n"
                        f"             but got {type(t)} instead.")
