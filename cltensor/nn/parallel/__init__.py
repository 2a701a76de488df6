"""Data parallelism: DataParallel (one process, several OpenCL devices) and DistributedDataParallel (one
process per replica, gradients all-reduced over cltensor.distributed)."""
from .data_parallel import DataParallel, data_parallel, replicate, scatter, gather, parallel_apply  # noqa
from .distributed import DistributedDataParallel  # noqa

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel", "replicate", "scatter", "gather",
           "parallel_apply"]
