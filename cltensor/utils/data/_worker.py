"""DataLoader worker processes (as torch.utils.data._utils.worker): the worker loop, per-worker seeding,
get_worker_info(), exceptions carried to the main process, and the transfer of batches.

Transfer: a worker's result is pickled with every tensor (and every large numpy array) taken out of the pickle
and written to a file in /dev/shm (shared memory); the main process maps that file, unlinks it, and the tensor
is built on the mapped memory (on the CPU device without a copy: the OpenCL buffer uses the mapping as its host
pointer)."""
import os
import pickle
import random
import sys
import traceback
from dataclasses import dataclass

import numpy as np

from ... import _creation
from . import _host, _transfer
from ._fetch import _DatasetKind

MP_STATUS_CHECK_INTERVAL = 5.0


@dataclass(frozen=True)
class WorkerInfo:
    """Information about the current DataLoader worker process: id, num_workers, seed, dataset (this
    process's copy)."""
    id: int
    num_workers: int
    seed: int
    dataset: object
    rng: object = None
    worker_method: str = "multiprocessing"


_worker_info = None


def get_worker_info():
    """The WorkerInfo of the current DataLoader worker process; None in the main process."""
    return _worker_info


class _IterableDatasetStopIteration:
    def __init__(self, worker_id):
        self.worker_id = worker_id


class _ResumeIteration:
    def __init__(self, seed=None):
        self.seed = seed


class KeyErrorMessage(str):
    """str whose repr is itself, so a KeyError shows its multi-line message readably."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception with its traceback text, to re-raise in another process."""

    def __init__(self, exc_info=None, where="in background"):
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        if _host.in_worker() and "no OpenCL CPU device" in self.exc_msg:
            self.exc_msg += ("\n(DataLoader worker processes do not run OpenCL kernels: tensors there are host data. "
                             "Produce numpy arrays, numbers or indexed tensors in the Dataset and run device "
                             "operations on the batch in the main process.)\n")
        self.where = where

    def __reduce__(self):
        t = self.exc_type
        try:
            pickle.dumps(t)
        except Exception:                 # a class that cannot be imported by name in the main process
            t = RuntimeError
        return (_rebuild_wrapper, (t, self.exc_msg, self.where))

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exception


def _rebuild_wrapper(exc_type, exc_msg, where):
    w = ExceptionWrapper.__new__(ExceptionWrapper)
    w.exc_type, w.exc_msg, w.where = exc_type, exc_msg, where
    return w


def _generate_state(base_seed, worker_id):
    """The 4-word numpy seed of a worker (torch's _generate_state: SeedSequence-style hashing of the worker id
    and the two halves of the base seed), so np.random in worker k of a given base seed matches torch's."""
    mask = 0xFFFFFFFF
    xshift = 16
    entropy = [worker_id, base_seed & mask, base_seed >> 32, 0]
    hc = [0x43B0D7E5]

    def hash32(v):
        v = (v ^ hc[0]) & mask
        hc[0] = (hc[0] * 0x931E8875) & mask
        v = (v * hc[0]) & mask
        return (v ^ (v >> xshift)) & mask

    def mix(x, y):
        r = ((0xCA01F9DD * x) - (0x4973F715 * y)) & mask
        return (r ^ (r >> xshift)) & mask

    pool = [hash32(e) for e in entropy]
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hash32(pool[i_src]))
    hb = 0x8B51F9DD
    state = []
    for v in pool:
        v = (v ^ hb) & mask
        hb = (hb * 0x58F38DED) & mask
        v = (v * hb) & mask
        state.append((v ^ (v >> xshift)) & mask)
    return state


# ---------------------------------------------------------------- the loop of a worker process

def _worker_loop(dataset_kind, dataset, index_queue, data_queue, done_event, auto_collation, collate_fn,
                 drop_last, base_seed, init_fn, worker_id, num_workers, persistent_workers, payload, slot_flags):
    global _worker_info
    try:
        _host.enter_worker_mode()
        if os.path.isdir(_transfer._SHM_DIR):
            _transfer._slots = _transfer._Slots(slot_flags)
        if payload is not None:                     # spawn/forkserver: unpickled only now, in worker mode
            dataset, collate_fn, init_fn = pickle.loads(payload)
        seed = base_seed + worker_id
        random.seed(seed)
        _creation.manual_seed(seed)
        np.random.seed(_generate_state(base_seed, worker_id))
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)

        init_exception = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = _DatasetKind.create_fetcher(dataset_kind, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_exception = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")

        iteration_end = False
        parent = os.getppid()
        while True:
            if os.getppid() != parent:              # the main process is gone
                break
            if not index_queue._reader.poll(MP_STATUS_CHECK_INTERVAL):
                continue
            try:
                r = index_queue.get()
            except EOFError:                        # the main process closed the queue
                break
            if isinstance(r, _ResumeIteration):
                data_queue.put((r, None))
                iteration_end = False
                fetcher = _DatasetKind.create_fetcher(dataset_kind, dataset, auto_collation, collate_fn,
                                                      drop_last)
                continue
            if r is None:
                break
            if done_event.is_set() or iteration_end:
                continue
            idx, index = r
            if init_exception is not None:
                data = init_exception
                init_exception = None
            else:
                try:
                    data = fetcher.fetch(index)
                except Exception as e:
                    if isinstance(e, StopIteration) and dataset_kind == _DatasetKind.Iterable:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
            if not isinstance(data, (_IterableDatasetStopIteration, ExceptionWrapper)):
                try:
                    data = _transfer.pack(data)
                except Exception:
                    data = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
            data_queue.put((idx, data))
            del data, idx, index, r
    except KeyboardInterrupt:
        pass
    if done_event.is_set():
        data_queue.cancel_join_thread()
        data_queue.close()
