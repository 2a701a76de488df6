"""GradBucket: what a DistributedDataParallel communication hook receives for one bucket of gradients."""

__all__ = ["GradBucket"]


class GradBucket:
    """One bucket of gradients handed to a communication hook (`DistributedDataParallel.register_comm_hook`).

    buffer(): the bucket's gradients as one flat tensor (reduce it and return it, or a tensor of the same size,
    through the hook's Future); gradients(): views of buffer() shaped like the parameters; parameters(): the
    bucket's parameters; index(): the bucket's position (buckets run in index order on every rank); is_last():
    whether this is the last bucket of the iteration; set_buffer(t): replace the buffer's values with t's."""

    def __init__(self, index, buffer, params, offsets, is_last):
        self._index = index
        self._buffer = buffer
        self._params = list(params)
        self._offsets = list(offsets)
        self._last = is_last

    def index(self):
        return self._index

    def buffer(self):
        return self._buffer

    def gradients(self):
        return [self._buffer[o:o + p.numel()].view(p.shape) for p, o in zip(self._params, self._offsets)]

    def parameters(self):
        return list(self._params)

    def is_last(self):
        return self._last

    def set_buffer(self, buffer):
        if buffer.numel() != self._buffer.numel():
            raise RuntimeError(f"GradBucket.set_buffer: expected {self._buffer.numel()} elements, got "
                               f"{buffer.numel()}")
        self._buffer.copy_(buffer.reshape(self._buffer.shape))

    def __repr__(self):
        return f"GradBucket(index={self._index}, numel={self._buffer.numel()}, is_last={self._last})"
