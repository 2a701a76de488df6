"""Join: training with uneven numbers of inputs per rank (torch.distributed.algorithms.join).

Every iteration, each rank that still has inputs tells the others so (`Join.notify_join_context`, called by the
first Joinable, e.g. DistributedDataParallel's forward): one all-reduce of the count of ranks that have not
joined. A rank that runs out of inputs leaves the `with Join(...)` block and, in `__exit__`, keeps answering that
all-reduce with 0 and runs each Joinable's JoinHook.main_hook() (which shadows the collectives one iteration of
the others makes: DistributedDataParallel all-reduces zero gradients) until the count is 0, i.e. every rank has
joined. Then post_hook(is_last_joiner) runs on every rank (DistributedDataParallel copies the model from the last
rank to join). throw_on_early_termination=True makes every rank raise as soon as one has joined."""
import abc

import numpy as np

from .. import _core as C

__all__ = ["Join", "Joinable", "JoinHook"]


class JoinHook:
    """What a Joinable does while its rank has joined: main_hook() once per iteration the other ranks still run,
    post_hook(is_last_joiner) once every rank has joined."""

    def main_hook(self):
        pass

    def post_hook(self, is_last_joiner):
        pass


class _JoinConfig:
    __slots__ = ("enable", "throw_on_early_termination", "is_first_joinable")

    def __init__(self, enable=False, throw_on_early_termination=False, is_first_joinable=False):
        self.enable = enable
        self.throw_on_early_termination = throw_on_early_termination
        self.is_first_joinable = is_first_joinable


class Joinable(abc.ABC):
    """A class whose collectives can be shadowed by a joined rank: it returns a JoinHook from join_hook(), names
    its join_device and join_process_group, and calls Join.notify_join_context(self) once per iteration before
    its own collectives."""

    def __init__(self):
        super().__init__()
        self._join_config = _JoinConfig()

    @abc.abstractmethod
    def join_hook(self, **kwargs):
        ...

    @property
    @abc.abstractmethod
    def join_device(self):
        ...

    @property
    @abc.abstractmethod
    def join_process_group(self):
        ...


_EARLY = "Detected at least one rank that exhausted inputs. Throwing across all ranks."


def _count(group, mine, what):
    """Sum of `mine` (0 or 1) over the group: the number of ranks that have not joined."""
    MPI = C._mpi()
    g = C._group(group)
    buf = np.array([mine], np.int64)
    C.wait_requests([g.comm.Iallreduce(MPI.IN_PLACE, [buf, MPI.INT64_T], MPI.SUM)], g, what)
    return int(buf[0])


class Join:
    """Join(joinables, enable=True, throw_on_early_termination=False, **kwargs): a context manager for
    iterations over uneven inputs (module doc). kwargs go to each joinable's join_hook (e.g.
    divide_by_initial_world_size for DistributedDataParallel)."""

    def __init__(self, joinables, enable=True, throw_on_early_termination=False, **kwargs):
        joinables = list(joinables)
        if not joinables:
            raise ValueError("The join context manager requires at least one joinable")
        for j in joinables:
            if not isinstance(j, Joinable):
                raise TypeError(f"Join: {type(j).__name__} is not a Joinable")
        self._joinables = joinables
        self._hooks = [j.join_hook(**kwargs) for j in joinables]
        self._enable = enable
        self._throw = throw_on_early_termination
        groups = {id(C._group(j.join_process_group)) for j in joinables}
        if len(groups) > 1:
            raise ValueError("Using join context manager with multiple process groups")
        self._group = joinables[0].join_process_group
        self._set_configs(enable)

    def _set_configs(self, enable):
        for i, j in enumerate(self._joinables):
            j._join_config = _JoinConfig(enable, self._throw, i == 0)

    def __enter__(self):
        return self

    def __exit__(self, etype, value, tb):
        if not self._enable or etype is not None:
            self._set_configs(False)
            return None          # (an exception in the block is not joining: let it through)
        try:
            last = True
            while True:
                active = _count(self._group, 0, "Join: counting ranks that have not joined")
                if active == 0:
                    break
                if self._throw:
                    raise RuntimeError(_EARLY)
                for h in self._hooks:
                    h.main_hook()
                last = False
            for h in self._hooks:
                h.post_hook(last)
        finally:
            self._set_configs(False)
        return None

    @staticmethod
    def notify_join_context(joinable):
        """Called by a Joinable once per iteration, before its collectives, on a rank that still has inputs: tells
        the joined ranks that this one has not joined. Returns the number of ranks that have not joined, or None
        when no join context is active (or this is not the first joinable). Raises on every rank when
        throw_on_early_termination and some rank has joined."""
        cfg = joinable._join_config
        if not cfg.enable or not cfg.is_first_joinable:
            return None
        n = _count(joinable.join_process_group, 1, "Join: counting ranks that have not joined")
        if cfg.throw_on_early_termination and n < C._group(joinable.join_process_group).size():
            raise RuntimeError(_EARLY)
        return n
