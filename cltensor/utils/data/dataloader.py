"""DataLoader (as torch.utils.data.DataLoader): single-process and multi-process loading.

Worker processes start by fork where the platform has it (the dataset is inherited, not pickled: starting two
workers over a 188 MB TensorDataset takes milliseconds instead of seconds), and never use OpenCL (see
``_host``); ``multiprocessing_context='spawn'`` or ``'forkserver'`` work too (the dataset, collate_fn and
worker_init_fn must then be picklable). Results come back through shared memory (see ``_worker``)."""
import atexit
import itertools
import os
import pickle
import queue
import signal
import time
import warnings
import weakref

from . import _host, _transfer, _worker
from ._fetch import _DatasetKind
from ._collate import default_collate, default_convert
from ..._tensor import Tensor
from .dataset import IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, _random_seed

__all__ = ["DataLoader", "get_worker_info", "default_collate", "default_convert"]

get_worker_info = _worker.get_worker_info


def _mp():
    """The multiprocessing package, imported on first use (it adds ~20 ms to `import cltensor` otherwise)."""
    import multiprocessing
    import multiprocessing.connection
    return multiprocessing


_SHUTDOWN_GRACE = 1.0     # seconds a worker gets to exit by itself at shutdown before it is terminated
_live_iterators = weakref.WeakSet()


@atexit.register
def _shutdown_live_iterators():
    """At interpreter exit (before multiprocessing terminates daemonic processes): stop the workers of iterators
    still alive (persistent workers, abandoned iterators) and remove their shared memory."""
    for it in list(_live_iterators):
        try:
            it._shutdown_workers()
        except Exception:
            pass


class _InfiniteConstantSampler(Sampler):
    """Yields None forever: the index "sampler" of an iterable-style dataset."""

    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Combines a dataset and a sampler and iterates over batches (see torch.utils.data.DataLoader).

    ``pin_memory`` is accepted and does nothing: batches are built in (or adopted by) memory the CPU device uses
    directly, and a copy to a GPU is issued by ``.to(device)`` as usual."""

    _DataLoader__initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        elif num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order

        if isinstance(dataset, IterableDataset):
            self._dataset_kind = _DatasetKind.Iterable
            if shuffle not in {False, None}:
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            elif batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                                 f"but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
            self._dataset_kind = _DatasetKind.Map

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")

        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None:
            if drop_last:
                raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                                 "drop_last")

        if sampler is None:
            if self._dataset_kind == _DatasetKind.Iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)

        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator

        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers

        self._DataLoader__initialized = True
        self._IterableDataset_len_called = None
        self._iterator = None
        self.check_worker_number_rationality()

    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        self.check_worker_number_rationality()
        return _MultiProcessingDataLoaderIter(self)

    @property
    def multiprocessing_context(self):
        return self._DataLoader__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, multiprocessing_context):
        if multiprocessing_context is not None:
            if self.num_workers > 0:
                if isinstance(multiprocessing_context, str):
                    valid = _mp().get_all_start_methods()
                    if multiprocessing_context not in valid:
                        raise ValueError("multiprocessing_context option should specify a valid start method in "
                                         f"{valid!r}, but got multiprocessing_context={multiprocessing_context!r}")
                    multiprocessing_context = _mp().get_context(multiprocessing_context)
                if not isinstance(multiprocessing_context, _mp().context.BaseContext):
                    raise TypeError("multiprocessing_context option should be a valid context object or a string "
                                    f"specifying the start method, but got "
                                    f"multiprocessing_context={multiprocessing_context}")
            else:
                raise ValueError("multiprocessing_context can only be used with multi-process loading "
                                 f"(num_workers > 0), but got num_workers={self.num_workers}")
        self._DataLoader__multiprocessing_context = multiprocessing_context

    def __setattr__(self, attr, val):
        if self._DataLoader__initialized and attr in ("batch_size", "batch_sampler", "sampler", "drop_last",
                                                       "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after {self.__class__.__name__} is initialized")
        super().__setattr__(attr, val)

    def __iter__(self):
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None:
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        if self._dataset_kind == _DatasetKind.Iterable:
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                if self.drop_last:
                    length = length // self.batch_size
                else:
                    length = -(-length // self.batch_size)
            return length
        return len(self._index_sampler)

    def check_worker_number_rationality(self):
        if not self.num_workers:
            return
        try:
            suggest = len(os.sched_getaffinity(0))
        except Exception:
            suggest = os.cpu_count()
        cpuset_checked = hasattr(os, "sched_getaffinity")
        if suggest is None or self.num_workers > suggest:
            if suggest is not None:
                hint = (f"Our suggested max number of worker in current system is {suggest}"
                        f"{'' if cpuset_checked else ' (`cpuset` is not taken into account)'}, which is smaller "
                        "than what this DataLoader is going to create.")
            else:
                hint = "DataLoader is not able to compute a suggested max number of worker in current system."
            warnings.warn(f"This DataLoader will create {self.num_workers} worker processes in total. {hint} "
                          "Please be aware that excessive worker creation might get DataLoader running slow or even "
                          "freeze, lower the worker number to avoid potential slowness/freeze if necessary.",
                          stacklevel=2)


class _BaseDataLoaderIter:
    def __init__(self, loader):
        self._dataset = loader.dataset
        self._dataset_kind = loader._dataset_kind
        self._IterableDataset_len_called = loader._IterableDataset_len_called
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        self._prefetch_factor = loader.prefetch_factor
        self._pin_memory = loader.pin_memory
        self._timeout = loader.timeout
        self._collate_fn = loader.collate_fn
        self._sampler_iter = iter(self._index_sampler)
        self._base_seed = _random_seed(loader.generator)
        self._persistent_workers = loader.persistent_workers
        self._num_yielded = 0

    def __iter__(self):
        return self

    def _reset(self, loader, first_iter=False):
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._IterableDataset_len_called = loader._IterableDataset_len_called

    def _next_index(self):
        return next(self._sampler_iter)

    def _next_data(self):
        raise NotImplementedError

    def __next__(self):
        if self._sampler_iter is None:
            self._reset()
        data = self._next_data()
        self._num_yielded += 1
        if self._dataset_kind == _DatasetKind.Iterable and self._IterableDataset_len_called is not None and \
                self._num_yielded > self._IterableDataset_len_called:
            warn_msg = (f"Length of IterableDataset {self._dataset} was reported to be "
                        f"{self._IterableDataset_len_called}(when accessing len(dataloader)), but "
                        f"{self._num_yielded} samples have been fetched. ")
            if self._num_workers > 0:
                warn_msg += ("For multiprocessing data-loading, this could be caused by not properly configuring "
                             "the IterableDataset replica at each worker. Please see "
                             "https://pytorch.org/docs/stable/data.html#torch.utils.data.IterableDataset for "
                             "examples.")
            warnings.warn(warn_msg, stacklevel=2)
        return data

    def __len__(self):
        return len(self._index_sampler)

    def __getstate__(self):
        raise NotImplementedError("{} cannot be pickled", self.__class__.__name__)


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._dataset_fetcher = _DatasetKind.create_fetcher(self._dataset_kind, self._dataset,
                                                            self._auto_collation, self._collate_fn, self._drop_last)

    def _next_data(self):
        index = self._next_index()
        return self._dataset_fetcher.fetch(index)


def _host_readable(dataset):
    """The dataset the workers get: a TensorDataset (or a Subset of one) whose tensors live in device memory is
    given to them with CPU-device copies of its tensors (workers read host memory only); others as they are."""
    if type(dataset) is TensorDataset and any(isinstance(t, Tensor) and t._st.host is None
                                              for t in dataset.tensors):
        return TensorDataset(*[t.cpu() if isinstance(t, Tensor) else t for t in dataset.tensors])
    if type(dataset) is Subset and type(dataset.dataset) is TensorDataset:
        inner = _host_readable(dataset.dataset)
        if inner is not dataset.dataset:
            return Subset(inner, dataset.indices)
    return dataset


def _exit_description(code):
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"exit code {code} (killed by signal {signal.Signals(-code).name})"
        except ValueError:
            return f"exit code {code}"
    return f"exit code {code}"


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """Iterates with worker processes: each worker gets indices through its own queue and returns packed
    batches through one result queue; the main process keeps at most prefetch_factor * num_workers tasks
    outstanding and hands out results in order (unless in_order=False)."""

    def __init__(self, loader):
        super().__init__(loader)
        self._in_order = loader.in_order
        self._shutdown = True                  # nothing to shut down until the workers exist
        self._owner_pid = os.getpid()          # a forked copy of this object (in a worker) must not act on it
        self._workers = []
        self._index_queues = []
        self._workers_status = []
        self._task_info = {}
        ctx = loader.multiprocessing_context
        if ctx is None:
            methods = _mp().get_all_start_methods()
            ctx = _mp().get_context("fork" if "fork" in methods else "spawn")
        self._worker_init_fn = loader.worker_init_fn
        fork = ctx.get_start_method() == "fork"
        worker_dataset = _host_readable(self._dataset)
        if fork:
            _host.synchronize_all()          # workers read the parent's tensors through host memory
            payload, dataset, collate_fn, init_fn = None, worker_dataset, self._collate_fn, self._worker_init_fn
        else:
            payload = pickle.dumps((worker_dataset, self._collate_fn, self._worker_init_fn),
                                   protocol=pickle.HIGHEST_PROTOCOL)
            dataset = collate_fn = init_fn = None

        self._slot_flags = [ctx.RawArray("b", _transfer._MAX_SLOTS) for _ in range(self._num_workers)]
        self._receiver = _transfer.Receiver(self._slot_flags)
        self._worker_result_queue = ctx.Queue()
        self._workers_done_event = ctx.Event()
        self._shutdown = False
        for i in range(self._num_workers):
            # a SimpleQueue writes in the calling thread: no feeder thread in the main process that would take
            # the GIL whenever the main thread releases it (measured: ~1 ms per batch lost to the GIL hand-over)
            index_queue = ctx.SimpleQueue()
            w = ctx.Process(target=_worker._worker_loop,
                            args=(self._dataset_kind, dataset, index_queue, self._worker_result_queue,
                                  self._workers_done_event, self._auto_collation, collate_fn, self._drop_last,
                                  self._base_seed, init_fn, i, self._num_workers, self._persistent_workers,
                                  payload, self._slot_flags[i]))
            w.daemon = True
            w.start()
            self._receiver.pids[w.pid] = i
            self._index_queues.append(index_queue)
            self._workers.append(w)
            self._workers_status.append(True)
        self._data_queue = self._worker_result_queue
        _live_iterators.add(self)
        self._reset(loader, first_iter=True)

    def _reset(self, loader, first_iter=False):
        super()._reset(loader, first_iter)
        for info in self._task_info.values():      # results of an epoch left early
            if len(info) == 2 and isinstance(info[1], bytes):
                self._discard(info[1])
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_info = {}
        self._tasks_outstanding = 0
        self._workers_status = [True for _ in range(self._num_workers)]
        self._workers_num_tasks = [0 for _ in range(self._num_workers)]
        self._worker_queue_idx_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            for idx in range(self._num_workers):
                self._index_queues[idx].put(_worker._ResumeIteration())
            resume_iteration_cnt = self._num_workers
            while resume_iteration_cnt > 0:
                return_idx, return_data = self._get_data()
                if isinstance(return_idx, _worker._ResumeIteration):
                    resume_iteration_cnt -= 1
                elif isinstance(return_data, bytes):
                    self._discard(return_data)
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _check_workers(self):
        failed = [(i, w) for i, w in enumerate(self._workers) if self._workers_status[i] and not w.is_alive()]
        if failed:
            for i, _ in failed:
                self._mark_worker_as_unavailable(i)
            pids = ", ".join(str(w.pid) for _, w in failed)
            detail = "; ".join(f"worker {i} (pid {w.pid}): {_exit_description(w.exitcode)}" for i, w in failed)
            self._shutdown_workers()
            raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly: {detail}")

    def _try_get_data(self, timeout=_worker.MP_STATUS_CHECK_INTERVAL):
        """(True, item) or (False, None) after `timeout` seconds; a dead worker raises RuntimeError at once."""
        reader = self._data_queue._reader
        deadline = time.monotonic() + timeout
        while True:
            try:
                return True, self._data_queue.get(block=False)
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._check_workers()
                return False, None
            sentinels = [w.sentinel for i, w in enumerate(self._workers) if self._workers_status[i]]
            ready = _mp().connection.wait([reader] + sentinels, timeout=remaining)
            if reader in ready:
                try:
                    return True, self._data_queue.get(timeout=min(remaining, 1.0) if remaining > 0 else 0.01)
                except queue.Empty:
                    continue
            if ready:
                # a worker exited: anything it sent before dying is read first
                try:
                    return True, self._data_queue.get(timeout=0.1)
                except queue.Empty:
                    self._check_workers()

    def _get_data(self):
        if self._timeout > 0:
            success, data = self._try_get_data(self._timeout)
            if success:
                return data
            raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
        while True:
            success, data = self._try_get_data()
            if success:
                return data

    def _next_data(self):
        while True:
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx, None)
                if info:
                    worker_id = info[0]
                    if len(info) == 2 or self._workers_status[worker_id]:
                        break
                    del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration

            if len(self._task_info[self._rcvd_idx]) == 2:
                worker_id, data = self._task_info.pop(self._rcvd_idx)
                self._rcvd_idx += 1
                return self._process_data(data, worker_id)

            idx, data = self._get_data()
            self._tasks_outstanding -= 1
            if self._dataset_kind == _DatasetKind.Iterable:
                if isinstance(data, _worker._IterableDatasetStopIteration):
                    if self._persistent_workers:
                        self._workers_status[data.worker_id] = False
                    else:
                        self._mark_worker_as_unavailable(data.worker_id)
                    self._try_put_index()
                    continue

            if idx != self._rcvd_idx:
                if not self._in_order:
                    worker_id = self._task_info.pop(idx)[0]
                    return self._process_data(data, worker_id)
                self._task_info[idx] += (data,)
            else:
                worker_id = self._task_info.pop(idx)[0]
                self._rcvd_idx += 1
                return self._process_data(data, worker_id)

    def _try_put_index(self):
        max_tasks = self._prefetch_factor * self._num_workers
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_queue_idx = next(self._worker_queue_idx_cycle)
            if self._workers_status[worker_queue_idx]:
                if self._in_order:
                    break
                elif self._workers_num_tasks[worker_queue_idx] < max_tasks // sum(self._workers_status):
                    break
        else:
            return
        self._index_queues[worker_queue_idx].put((self._send_idx, index))
        self._task_info[self._send_idx] = (worker_queue_idx,)
        self._workers_num_tasks[worker_queue_idx] += 1
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _process_data(self, data, worker_idx):
        self._workers_num_tasks[worker_idx] -= 1
        self._try_put_index()
        if isinstance(data, _worker.ExceptionWrapper):
            data.reraise()
        return self._receiver.unpack(data, worker_idx)

    def _mark_worker_as_unavailable(self, worker_id, shutdown=False):
        try:
            self._index_queues[worker_id].put(None)
        except Exception:
            pass
        self._workers_status[worker_id] = False

    def _shutdown_workers(self):
        if self._shutdown or os.getpid() != self._owner_pid:
            return
        self._shutdown = True
        try:
            self._workers_done_event.set()
            for worker_id in range(len(self._workers)):
                if self._persistent_workers or self._workers_status[worker_id]:
                    self._mark_worker_as_unavailable(worker_id, shutdown=True)
            # a worker inside a long __getitem__ cannot see the request: it is terminated after a grace period
            deadline = time.monotonic() + _SHUTDOWN_GRACE
            while any(w.is_alive() for w in self._workers) and time.monotonic() < deadline:
                self._drain()                     # a worker blocked on a full pipe finishes its put
                _mp().connection.wait([w.sentinel for w in self._workers if w.is_alive()], 0.05)
            for q in self._index_queues:
                q.close()
        finally:
            for w in self._workers:
                if w.is_alive():
                    w.terminate()
                    w.join(timeout=_worker.MP_STATUS_CHECK_INTERVAL)
            self._drain()
            for info in self._task_info.values():
                if len(info) == 2 and isinstance(info[1], bytes):
                    self._discard(info[1])
            self._task_info = {}
            for w in self._workers:
                _transfer.cleanup_shm(w.pid)
            self._receiver.close()
            self._worker_result_queue.cancel_join_thread()
            self._worker_result_queue.close()

    def _drain(self):
        while True:
            try:
                _, data = self._worker_result_queue.get(block=False)
            except (queue.Empty, OSError, ValueError, EOFError):
                return
            if isinstance(data, bytes):
                self._discard(data)

    def _discard(self, data):
        _transfer.discard(data, self._receiver)

    def __del__(self):
        try:
            self._shutdown_workers()
        except Exception:
            pass
