"""Tensor.unfold(dimension, size, step): the sliding-window view, with its backward (each window element adds
its gradient back into a strided slice of the input)."""
from . import _creation as C
from . import _ops as O
from .autograd import _tape as AG
from ._registry import register
from ._tensor import make


def tensor_unfold(self, dimension, size, step):
    """A view of every `size`-long slice of `dimension` taken `step` apart, as a new last dimension."""
    nd = self.dim()
    d = dimension + max(nd, 1) if dimension < 0 else dimension
    if not 0 <= d < max(nd, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(nd, 1)}, {max(nd, 1) - 1}], "
                         f"but got {dimension})")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    n = self._shape[d] if nd else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if nd == 0:
        shape, strides = (size,), (1,)
    else:
        shape = list(self._shape)
        strides = list(self._strides)
        shape[d] = (n - size) // step + 1
        shape.append(size)
        strides.append(strides[d])
        strides[d] *= step
    v = make(self._st, tuple(shape), tuple(strides), self._offset, self._dtype, self._device)
    v._base = self._base if self._base is not None else self
    if AG.needs_grad(self):
        ishape = self._shape

        def bw(g):
            if nd == 0:
                return (g.sum().reshape(()),)
            gi = C.zeros(ishape, dtype=g._dtype, device=g._device)
            m = shape[d]
            with AG.no_grad():
                for j in range(size):      # window element j of every window: a strided slice of the input
                    sl = [slice(None)] * nd
                    sl[d] = slice(j, j + step * (m - 1) + 1, step)
                    tgt = gi[tuple(sl)]
                    O.copy_into(tgt, tgt + g.select(-1, j))
            return (gi,)
        AG.record("UnfoldBackward0", (self,), v, bw)
    return v


register("unfold", tensor_unfold, method=True, function=False)
