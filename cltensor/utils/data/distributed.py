"""DistributedSampler (as torch.utils.data.distributed): each replica's share of a dataset."""
import math

from ... import _creation
from ... import distributed as _dist
from .sampler import Sampler

__all__ = ["DistributedSampler"]


def _no_process_group():
    return ValueError("Default process group has not been initialized, please make sure to call "
                      "init_process_group.")


class DistributedSampler(Sampler):
    """Restricts sampling to the `rank`-th of `num_replicas` interleaved shares. Without drop_last, indices are
    repeated (from the start of the order) so every replica gets the same number; with drop_last, the tail is
    dropped. num_replicas and rank default to the size of and this process's rank in the default process
    group (cltensor.distributed.init_process_group)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None:
            if not _dist.is_initialized():
                raise _no_process_group()
            num_replicas = _dist.get_world_size()
        if rank is None:
            if not _dist.is_initialized():
                raise _no_process_group()
            rank = _dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        if self.drop_last and len(self.dataset) % self.num_replicas != 0:
            self.num_samples = math.ceil((len(self.dataset) - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(len(self.dataset) / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self):
        if self.shuffle:
            g = _creation.Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = _creation.randperm(len(self.dataset), generator=g).tolist()
        else:
            indices = list(range(len(self.dataset)))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[:self.total_size]
        if len(indices) != self.total_size:
            raise AssertionError(f"Number of indices ({len(indices)}) does not match total_size ({self.total_size})")
        indices = indices[self.rank:self.total_size:self.num_replicas]
        if len(indices) != self.num_samples:
            raise AssertionError(f"Number of subsampled indices ({len(indices)}) does not match num_samples "
                                 f"({self.num_samples})")
        return iter(indices)

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Sets the epoch: with shuffle, each epoch (with the same seed) gives its own order on every replica."""
        self.epoch = epoch
