"""The fused per-parameter update kernels of the optimizers (templates/optim.mako: sgd, adam, rmsprop, adagrad,
adadelta, adamax, nadam_radam, rprop, asgd): one launch updates a parameter and its state tensors in place, 8
elements per work-item; hyper-parameters and step-dependent factors are kernel arguments. Complex parameters
update as their (real, imag) float pairs."""
import numpy as np

from .. import _dtypes as D
from .. import _kernels as K
from .. import _ew
from .. import _ops
from .. import _creation as C
from .._launch import I32, rt_of, idx_np
from .._tensor import empty_tensor


def _contig(t):
    if t._offset == 0 and t.is_contiguous():
        return t
    r = empty_tensor(t._shape, t._dtype, t._device)
    _ew.run("x0", r, [t], (t._dtype,), t._dtype)
    return r


def zeros_state(p):
    return C.zeros(p._shape, dtype=p._dtype, device=p._device)


def _fdt(dt):
    return np.float64 if dt is D.float64 else np.float32


def _check_param(p):
    if not (p._dtype.is_floating_point or p._dtype.is_complex):
        raise RuntimeError(f"optimizers support floating point and complex parameters only, got {p._dtype}")


def fused_update(defname, p, g, states, scalars, **flags):
    """Launch templates/optim.mako:<defname> over parameter p (in place) with gradient g and state tensors."""
    _check_param(p)
    if p._dtype.is_complex:
        # like PyTorch, a complex parameter, its gradient and state update as their (real, imag) float pairs
        from .._composite import view_as_real
        g = g if g._dtype is p._dtype else g.to(p._dtype)
        fused_update(defname, view_as_real(p), view_as_real(g),
                     [view_as_real(s) if s is not None else None for s in states], scalars, **flags)
        return
    n = p.numel()
    if n == 0:
        return
    rt = rt_of(p)
    if g._device != p._device:
        g = g.to(p._device)
    if g._dtype is not p._dtype:
        g = g.to(p._dtype)
    pc = _contig(p)
    gc = _contig(g)
    idx = "int" if n + 8 <= I32 else "long"
    it = idx_np(idx)
    ft = _fdt(p._dtype)
    k = K.get(rt, "optim", defname, t=p._dtype, idx=idx, **flags)
    args = [pc._st.buf, it(0), gc._st.buf, it(0)]
    for s in states:
        s = s if s is not None else pc
        args += [s._st.buf, it(s._offset)]
    args.append(it(n))
    args += [ft(v) if not isinstance(v, (np.int32,)) else v for v in scalars]
    if k.__dict__.get("typed") is None:
        K.set_arg_types(k, [type(a) if isinstance(a, np.generic) else None for a in args])
    ls = rt.local_size
    K.launch(rt, k, (K.round_up((n + 7) // 8, ls),), (ls,), args)
    if pc is not p:
        _ops.copy_into(p, pc)
    p._st.version += 1
    for s in states:
        if s is not None:
            s._st.version += 1
    if p._st.shared or g._st.shared:
        rt.queue.finish()
