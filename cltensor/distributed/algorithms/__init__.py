"""cltensor.distributed.algorithms: Join (uneven inputs) and DistributedDataParallel communication hooks."""
from .join import Join, Joinable, JoinHook  # noqa: F401
from . import ddp_comm_hooks  # noqa: F401

__all__ = ["Join", "Joinable", "JoinHook"]
