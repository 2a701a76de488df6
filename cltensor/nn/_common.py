"""What the nn kernel launchers (_conv, _pool, _norm, _loss, _embedding) share: the accumulation dtype, contiguous
no-autograd copies and views, the 1-D launch with declared scalar argument types, and the error flag check."""
import numpy as np

from .. import _dtypes as D
from .. import _dispatch
from .. import _kernels as K
from .. import _ew
from .. import _creation
from .._launch import idx_type
from .._tensor import empty_tensor, make, contiguous_strides


def acc_of(dt):
    """The accumulation dtype of a kernel over dt: float64 for float64, else float32."""
    return D.float64 if dt is D.float64 else D.float32


def idx_name(*extents):
    """The template index type ("int" / "long") for indices up to max(extents)."""
    return idx_type(*extents)[0]


def c0(t):
    """t itself when contiguous from offset 0, else a contiguous copy (no autograd)."""
    if t._offset == 0 and t.is_contiguous():
        return t
    r = empty_tensor(t._shape, t._dtype, t._device)
    _ew.run("x0", r, [t], (t._dtype,), t._dtype)
    return r


def as_shape(t, shape):
    """A no-autograd contiguous view of contiguous t with another shape."""
    shape = tuple(shape)
    return make(t._st, shape, contiguous_strides(shape), t._offset, t._dtype, t._device)


def launch(rt, kern, n, args):
    """Launch kern over n work-items (rounded up to the runtime's local size). The scalar argument types are
    declared on the first launch (pyopencl's untyped call path costs ~10x more per launch)."""
    if kern.__dict__.get("typed") is None:
        K.set_arg_types(kern, [type(a) if isinstance(a, np.generic) else None for a in args])
    ls = rt.local_size
    K.launch_bound(rt, kern, (K.round_up(max(int(n), 1), ls),), (ls,), args)


def sync_if_shared(rt, *ts):
    """Finish the queue when one of ts shares its memory with the host (numpy-backed storage)."""
    for t in ts:
        if t is not None and t._st.shared:
            rt.queue.finish()
            return


def zeros(shape, dt, dev):
    return _creation.zeros(shape, dtype=dt, device=dev)


def check_err(err, fmt):
    """Read the error flag written by a kernel (one sync) and raise IndexError when set. Not read while a graph
    is being captured (cltensor/_graphs.py): a captured region cannot read device values on the host."""
    if _dispatch.capture is not None:
        return
    e = err._to_numpy_copy()
    if e[0]:
        raise IndexError(fmt.format(int(e[1])))
