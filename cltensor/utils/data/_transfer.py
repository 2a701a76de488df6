"""Batch transfer from DataLoader worker processes to the main process.

A worker's result is pickled with every tensor (and every large numpy array) taken out of the pickle: their
values travel through shared memory. Each worker keeps reusable buffers ("slots", one /dev/shm file each) and
builds its batches directly in them (the gather of a TensorDataset batch, the stack of default_collate); the main
process maps a slot once, then copies each result out of it into the device's pooled memory and frees the slot
at once. Reused memory is warm: a fresh shared-memory buffer per batch (torch's way) costs page faults on both
sides, which measured slower than the single copy (docs/data.md)."""
import glob
import io
import itertools
import mmap
import os
import pickle

import numpy as np

from ..._tensor import Tensor
from . import _host

_SHM_DIR = "/dev/shm"
_SHM_MIN_BYTES = 1 << 14          # smaller arrays travel inside the pickle
_counter = itertools.count()

_MAX_SLOTS = 64


class _Slots:
    """A worker's reusable shared-memory buffers ("slots", one /dev/shm file each, mapped by the worker and,
    after the first use, by the main process). ``flags[k]`` is 1 while slot k holds data the main process has
    not copied out yet; the main process sets it back to 0. Reused memory is warm: no page faults per batch."""

    def __init__(self, flags):
        self.flags = flags
        self.slots = []            # [name, capacity, mmap, numpy uint8 view]
        self.pending = {}          # data address -> (slot index, nbytes) of arrays handed out for this batch
        self.used = set()

    def alloc(self, shape, dtype):
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if nbytes < _SHM_MIN_BYTES:
            return None
        best = None
        for k, (_, cap, _, _) in enumerate(self.slots):
            if self.flags[k] == 0 and cap >= nbytes and (best is None or cap < self.slots[best][1]):
                best = k
        if best is None:
            if len(self.slots) >= min(_MAX_SLOTS, len(self.flags)):
                return None
            cap = -(-nbytes // (1 << 16)) * (1 << 16)
            name = os.path.join(_SHM_DIR, f"cltensor-dl-{os.getpid()}-{len(self.slots)}")
            fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
            try:
                os.ftruncate(fd, cap)
                mm = mmap.mmap(fd, cap)
            finally:
                os.close(fd)
            self.slots.append([name, cap, mm, np.frombuffer(mm, np.uint8)])
            best = len(self.slots) - 1
        self.flags[best] = 1
        arr = self.slots[best][3][:nbytes].view(dtype).reshape(shape)
        self.pending[arr.ctypes.data] = (best, nbytes)
        return arr

    def ref(self, arr):
        """The slot reference of an array allocated by alloc, or None."""
        hit = self.pending.get(arr.ctypes.data) if arr.flags.c_contiguous else None
        if hit is None or hit[1] != arr.nbytes:
            return None
        k = hit[0]
        self.used.add(k)
        return ("slot", self.slots[k][0], arr.dtype.str, arr.shape, k)

    def put(self, arr):
        """A slot reference holding a copy of arr (or None when every slot is busy)."""
        dst = self.alloc(arr.shape, arr.dtype)
        if dst is None:
            return None
        np.copyto(dst, arr)
        return self.ref(dst)

    def end_batch(self):
        """Slots handed out for this batch but not referenced by its message are free again."""
        for k, _ in self.pending.values():
            if k not in self.used:
                self.flags[k] = 0
        self.pending.clear()
        self.used.clear()


_slots = None          # the _Slots of this worker process (set by the worker loop)


def worker_empty(shape, dtype):
    """An uninitialised numpy array for a result built in a worker (in reusable shared memory when possible)."""
    if _slots is not None:
        a = _slots.alloc(tuple(shape), dtype)
        if a is not None:
            return a
    return np.empty(shape, dtype)


def _put_array(arr):
    """Where the values of array arr travel: a slot, a one-off /dev/shm file, or bytes inside the pickle."""
    if _slots is not None and arr.nbytes >= _SHM_MIN_BYTES:
        r = _slots.ref(arr) or _slots.put(arr)
        if r is not None:
            return r
    arr = np.ascontiguousarray(arr)
    if arr.nbytes >= _SHM_MIN_BYTES and os.path.isdir(_SHM_DIR):
        name = os.path.join(_SHM_DIR, f"cltensor-dl-{os.getpid()}-x{next(_counter)}")
        fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        try:
            view = memoryview(arr.reshape(-1).view(np.uint8))
            done = 0
            while done < len(view):
                done += os.write(fd, view[done:])
        finally:
            os.close(fd)
        return ("shm", name, arr.dtype.str, arr.shape)
    return ("raw", arr.tobytes(), arr.dtype.str, arr.shape)


class Receiver:
    """Main-process side of the transfer: maps the workers' slots once (then unlinks their names) and copies
    each result out of its slot, releasing the slot at once."""

    def __init__(self, flags):
        self.flags = flags         # worker id -> shared flag array
        self.maps = {}             # slot file name -> numpy uint8 view of its mapping
        self.pids = {}             # worker pid -> worker id
        self._done = []            # (worker id, slot) read by the current unpack

    def release(self, ref):
        """Frees the slot of a result that is dropped unread."""
        if ref[0] == "slot":
            wid = self.pids.get(int(os.path.basename(ref[1]).split("-")[2]))
            if wid is not None:
                self.flags[wid][ref[4]] = 0

    def _slot_view(self, name):
        v = self.maps.get(name)
        if v is None:
            fd = os.open(name, os.O_RDWR)
            try:
                mm = mmap.mmap(fd, os.fstat(fd).st_size)
            finally:
                os.close(fd)
                os.unlink(name)
            v = self.maps[name] = np.frombuffer(mm, np.uint8)
        return v

    def tensor(self, ref, device, worker_id):
        if ref[0] == "slot":
            _, name, dtype, shape, k = ref
            dtype = np.dtype(dtype)
            src = self._slot_view(name)[:int(np.prod(shape, dtype=np.int64)) * dtype.itemsize]
            src = src.view(dtype).reshape(shape)
            self._done.append((worker_id, k))
            return _host.copy_to_tensor(src, device)
        if ref[0] == "shm":            # a one-off page-aligned mapping: the tensor uses it without a copy
            return _host.adopt(_get_array(ref), device)
        return _host.copy_to_tensor(_get_array(ref), device)     # small: into aligned pooled memory

    def array(self, ref, worker_id):
        if ref[0] == "slot":
            _, name, dtype, shape, k = ref
            dtype = np.dtype(dtype)
            src = self._slot_view(name)[:int(np.prod(shape, dtype=np.int64)) * dtype.itemsize]
            self._done.append((worker_id, k))
            return src.view(dtype).reshape(shape).copy()
        return _get_array(ref)

    def unpack(self, data, worker_id):
        """The worker's result; its slots are released once all of it is copied out (a slot may be named twice)."""
        self._done = []
        try:
            return _Unpacker(io.BytesIO(data), self, worker_id).load()
        finally:
            for wid, k in self._done:
                self.flags[wid][k] = 0
            self._done = []

    def close(self):
        self.maps.clear()


def _get_array(ref):
    kind, payload, dtype, shape = ref[:4]
    dtype = np.dtype(dtype)
    if kind == "shm":
        fd = os.open(payload, os.O_RDWR)
        try:
            nbytes = os.fstat(fd).st_size
            mm = mmap.mmap(fd, nbytes) if nbytes else None
        finally:
            os.close(fd)
            os.unlink(payload)
        if mm is None:
            return np.empty(shape, dtype)
        return np.frombuffer(mm, dtype=dtype).reshape(shape)
    return np.frombuffer(bytearray(payload), dtype=dtype).reshape(shape)


def _drop_ref(ref):
    if ref[0] == "shm":
        try:
            os.unlink(ref[1])
        except OSError:
            pass


class _Packer(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Tensor):
            arr = _host.host_array(obj.detach())
            return ("T", _put_array(arr), str(obj._device), obj.requires_grad)
        if type(obj) is np.ndarray and obj.nbytes >= _SHM_MIN_BYTES and obj.dtype.kind in "biufc?":
            return ("A", _put_array(obj))
        return None


class _Unpacker(pickle.Unpickler):
    def __init__(self, f, receiver, worker_id):
        super().__init__(f)
        self.receiver = receiver
        self.worker_id = worker_id

    def persistent_load(self, pid):
        if pid[0] == "T":
            t = self.receiver.tensor(pid[1], pid[2], self.worker_id)
            if pid[3]:
                t.requires_grad_(True)
            return t
        return self.receiver.array(pid[1], self.worker_id)


def pack(obj):
    f = io.BytesIO()
    try:
        _Packer(f, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    finally:
        if _slots is not None:
            _slots.end_batch()
    return f.getvalue()


def discard(data, receiver=None):
    """Releases the shared memory of a packed result that will not be unpacked."""

    class _Drop(pickle.Unpickler):
        def persistent_load(self, pid):
            ref = pid[1]
            if receiver is not None:
                receiver.release(ref)
            _drop_ref(ref)
            return None
    try:
        _Drop(io.BytesIO(data)).load()
    except Exception:
        pass


def cleanup_shm(pid):
    """Removes shared-memory files a (finished) worker process left behind."""
    for name in glob.glob(os.path.join(_SHM_DIR, f"cltensor-dl-{pid}-*")):
        try:
            os.unlink(name)
        except OSError:
            pass
