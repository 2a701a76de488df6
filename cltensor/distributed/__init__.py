"""cltensor.distributed: torch.distributed's process groups and collectives over MPI (mpi4py).

Launch with `mpirun -np N python script.py` or `python -m cltensor.distributed.run --nproc-per-node N script.py`,
then `init_process_group()` (backend "mpi"; "gloo" and "nccl" name the same MPI backend). See docs/distributed.md.
"""
from ._core import (Backend, ReduceOp, ProcessGroup, GroupMember, group, Work, DistError, DistBackendError,  # noqa
                    is_available, is_mpi_available, is_initialized, init_process_group, destroy_process_group,
                    get_rank, get_world_size, get_backend, new_group, get_global_rank, get_group_rank,
                    get_process_group_ranks, default_pg_timeout)
from ._collectives import (all_reduce, broadcast, reduce, all_gather, all_gather_into_tensor, reduce_scatter,  # noqa
                           reduce_scatter_tensor, gather, scatter, all_to_all, all_to_all_single, send, recv,
                           isend, irecv, barrier, monitored_barrier, broadcast_object_list, all_gather_object,
                           gather_object, scatter_object_list, batch_isend_irecv, P2POp)
from ._bucket import GradBucket  # noqa: F401
from . import algorithms  # noqa: F401

is_gloo_available = is_mpi_available
is_nccl_available = is_mpi_available


def is_torchelastic_launched():
    import os
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None
