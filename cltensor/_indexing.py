"""t[...] and t[...] = v: basic indexing (ints, slices, None, ...) as views; advanced indexing in _advindex."""
from ._tensor import Tensor
from . import _views as V


def _is_basic(idx):
    return idx is None or idx is Ellipsis or isinstance(idx, (int, slice)) and not isinstance(idx, bool)


def _normalize(index):
    if isinstance(index, list):
        from ._advindex import seq_as_tuple
        if seq_as_tuple(index):   # PyTorch: a short list holding slices/None/sequences/tensors is a tuple
            return tuple(index)
    if not isinstance(index, tuple):
        index = (index,)
    return index


def basic_index(t, index):
    """Apply a tuple of basic indices; returns a view."""
    nd = t.dim()
    n_real = sum(1 for i in index if i is not None and i is not Ellipsis)
    if sum(1 for i in index if i is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_real > nd:
        raise IndexError(f"too many indices for tensor of dimension {nd}")
    out = t
    d = 0
    for pos, i in enumerate(index):
        if i is Ellipsis:
            d += nd - n_real
        elif i is None:
            out = V.unsqueeze(out, d)
            d += 1
        elif isinstance(i, int):
            size = out._shape[d]
            if i < -size or i >= size:   # PyTorch names the position in the index tuple
                raise IndexError(f"index {i} is out of bounds for dimension {pos} with size {size}")
            out = V.select(out, d, i)
        else:
            size = out._shape[d]
            start, stop, step = i.start, i.stop, i.step
            step = 1 if step is None else int(step)
            if step <= 0:
                raise ValueError("step must be greater than zero")
            start = 0 if start is None else int(start)
            stop = size if stop is None else int(stop)
            if start < 0:
                start = max(start + size, 0)
            if stop < 0:
                stop = max(stop + size, 0)
            start, stop = min(start, size), min(stop, size)
            stop = max(stop, start)
            out = V.slice_dim(out, d, start, stop, step)
            d += 1
    return out


def getitem(t, index):
    index = _normalize(index)
    if all(_is_basic(i) for i in index):
        return basic_index(t, index)
    from . import _advindex
    return _advindex.getitem(t, index)


def setitem(t, index, value):
    from . import _ops
    index = _normalize(index)
    if all(_is_basic(i) for i in index):
        target = basic_index(t, index)
        _ops.check_inplace(t)
        if isinstance(value, Tensor) or not isinstance(value, (list, tuple)):
            _inplace_copy(target, value)
        else:
            from ._creation import tensor
            _inplace_copy(target, tensor(value, dtype=t._dtype, device=t._device))
        return
    from . import _advindex
    _advindex.setitem(t, index, value)


def _inplace_copy(target, value):
    from . import _ops
    if isinstance(value, Tensor) and value.requires_grad or target.requires_grad:
        target.copy_(value)
    else:
        _ops.copy_into(target, value)
