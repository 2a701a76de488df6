"""DistributedDataParallel communication hooks (torch.distributed.algorithms.ddp_comm_hooks): default_hooks holds
allreduce_hook, fp16_compress_hook and bf16_compress_hook; register one with
`ddp.register_comm_hook(state=process_group_or_None, hook=default_hooks.fp16_compress_hook)`."""
from . import default_hooks  # noqa: F401
