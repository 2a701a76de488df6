"""Samplers (as torch.utils.data.sampler): orders of indices for the DataLoader."""
import itertools
from typing import Generic, TypeVar

from ... import _creation
from ... import _dtypes as D
from ... import _device as dv
from ..._tensor import Tensor
from ..._sampling import multinomial

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler", "SubsetRandomSampler",
           "WeightedRandomSampler"]


def _random_seed(generator=None):
    """A non-negative random int64 drawn from `generator` (the default generator when None), as torch's
    ``torch.empty((), dtype=torch.int64).random_(generator=g).item()``."""
    g = generator if generator is not None else _creation.default_generator
    rt = dv.runtime(_creation._dev(None))
    if rt is None or rt.info.fp64:
        a, b = _creation.rand(2, dtype=D.float64, generator=g).tolist()
        return ((int(a * (1 << 32)) << 31) ^ int(b * (1 << 52))) & ((1 << 63) - 1)
    a, b, c = _creation.rand(3, dtype=D.float32, generator=g).tolist()
    return ((int(a * (1 << 24)) << 40) | (int(b * (1 << 24)) << 16) | int(c * (1 << 16))) & ((1 << 63) - 1)


T_co = TypeVar("T_co", covariant=True)


class Sampler(Generic[T_co]):
    """Base class of samplers: ``__iter__`` yields indices (or lists of indices for batch samplers)."""

    def __init__(self, data_source=None):
        if data_source is not None:
            import warnings
            warnings.warn("`data_source` argument is not used and will be removed in 2.2.0."
                          "You may still have custom implementation that utilizes it.", stacklevel=2)

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """Samples 0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random permutation (``replacement=False``; ``num_samples`` above the length repeats whole permutations)
    or independent draws with replacement."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self):
        if self._num_samples is None:
            return len(self.data_source)
        return self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        if self.generator is None:
            generator = _creation.Generator()
            generator.manual_seed(_random_seed())
        else:
            generator = self.generator
        # chained lists: indices are handed out at C speed (a BatchSampler slices them with islice)
        if self.replacement:
            return itertools.chain.from_iterable(self._draws(n, generator))
        return itertools.chain.from_iterable(self._perms(n, generator))

    def _draws(self, n, generator):
        for _ in range(self.num_samples // 32):
            yield _creation.randint(high=n, size=(32,), dtype=D.int64, generator=generator).tolist()
        yield _creation.randint(high=n, size=(self.num_samples % 32,), dtype=D.int64, generator=generator).tolist()

    def _perms(self, n, generator):
        for _ in range(self.num_samples // n):
            yield _creation.randperm(n, generator=generator).tolist()
        if self.num_samples % n:
            yield _creation.randperm(n, generator=generator).tolist()[:self.num_samples % n]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in random order (without replacement)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        for i in _creation.randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """Indices 0..len(weights)-1 drawn with probabilities proportional to `weights`."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        rt = dv.runtime(_creation._dev(None))
        wdt = D.float64 if rt is None or rt.info.fp64 else D.float32
        weights_tensor = _creation.as_tensor(weights.detach() if isinstance(weights, Tensor) else weights,
                                             dtype=wdt)
        if weights_tensor.dim() != 1:
            raise ValueError("weights should be a 1d sequence but given "
                             f"weights have shape {tuple(weights_tensor.shape)}")
        self.weights = weights_tensor
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        rand_tensor = multinomial(self.weights, self.num_samples, self.replacement, generator=self.generator)
        yield from iter(rand_tensor.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of `batch_size` (the last one shorter unless drop_last)."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        it = iter(self.sampler)
        if self.drop_last:
            for batch in zip(*([it] * self.batch_size)):
                yield [*batch]
        else:
            batch = [*itertools.islice(it, self.batch_size)]
            while batch:
                yield batch
                batch = [*itertools.islice(it, self.batch_size)]

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
