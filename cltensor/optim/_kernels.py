"""The fused per-parameter update kernels of the optimizers (templates/optim.mako: sgd, adam, rmsprop, adagrad,
adadelta, adamax, nadam_radam, rprop, asgd): one launch updates a parameter and its state tensors in place, 8
elements per work-item; hyper-parameters and step-dependent factors are kernel arguments. Complex parameters
update as their (real, imag) float pairs."""
import weakref

import numpy as np

from .. import _dtypes as D
from .. import _kernels as K
from .. import _ew
from .. import _ops
from .. import _dispatch
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


class _Bound:
    """A parameter's own clone of its update kernel with the parameter, state and size arguments set once: later
    steps set only what changed (usually the gradient's buffer and the step-dependent scalars) and enqueue it
    (as the elementwise launch plans do, docs/performance.md)."""
    __slots__ = ("sig", "kc", "last", "types", "si", "gsize", "lsize", "ref")


_bound = {}      # id(parameter) -> _Bound (dropped with the parameter)


def _forget(key, ref):
    b = _bound.get(key)
    if b is not None and b.ref is ref:
        del _bound[key]


def _fast_update(defname, p, g, states, scalars, flags):
    """The update through p's bound kernel; False where it does not apply (first step, layout or argument
    changes, an observer or dispatch mode installed)."""
    b = _bound.get(id(p))
    if b is None or b.ref() is not p or K.observer is not None or _dispatch.mode is not None:
        return False
    pst, gst = p._st, g._st
    if g._offset or p._offset or pst.shared or gst.shared or g._dtype is not p._dtype or \
            g._shape != p._shape or g._strides != p._strides or gst.rt is not pst.rt:
        return False
    sig = [defname, flags, pst.buf, p._dtype, p._shape, p._strides]
    for s in states:
        if s is not None:
            sig += (s._st.buf, s._offset)
        else:
            sig.append(None)
    if sig != b.sig:
        return False
    kc, last, types, si = b.kc, b.last, b.types, b.si
    K.stats["launches"] += 1
    with K.LOCK:
        if gst.buf is not last[0]:
            kc.set_arg(2, gst.buf)
            last[0] = gst.buf
        i = 1
        for v in scalars:
            if v != last[i] or type(v) is not type(last[i]):
                K.set_scalar(kc, si + i - 1, types[i - 1], v)
                last[i] = v
            i += 1
        K.enqueue(pst.rt.queue, kc, b.gsize, b.lsize, pst.nbytes <= K.SMALL_BYTES)
    pst.version += 1
    for s in states:
        if s is not None:
            s._st.version += 1
    return True


def fused_update(defname, p, g, states, scalars, **flags):
    """Launch templates/optim.mako:<defname> over parameter p (in place) with gradient g and state tensors."""
    if _fast_update(defname, p, g, states, scalars, flags):
        return
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
    gsize, lsize = (K.round_up((n + 7) // 8, ls),), (ls,)
    K.launch(rt, k, gsize, lsize, args)
    if pc is p and gc is g and p._base is None and K.observer is None and _dispatch.mode is None and \
            not (p._st.shared or g._st.shared):
        _bind(k, defname, p, states, scalars, flags, args, gsize, lsize)
    if pc is not p:
        _ops.copy_into(p, pc)
    p._st.version += 1
    for s in states:
        if s is not None:
            s._st.version += 1
    if p._st.shared or g._st.shared:
        rt.queue.finish()


def _bind(k, defname, p, states, scalars, flags, args, gsize, lsize):
    """Give parameter p its own clone of kernel k with this launch's arguments set (see _Bound)."""
    types = k.__dict__.get("arg_types")
    if types is None or k in K._untyped or len(types) != len(args):
        return
    si = len(args) - len(scalars)
    kc = k.clone()
    for i, (a, t) in enumerate(zip(args, types)):
        if t is None:
            kc.set_arg(i, a)
        else:
            K.set_scalar(kc, i, t, a.item() if isinstance(a, np.generic) else a)
    b = _Bound()
    sig = [defname, flags, p._st.buf, p._dtype, p._shape, p._strides]
    for s in states:
        if s is not None:
            sig += (s._st.buf, s._offset)
        else:
            sig.append(None)
    b.sig, b.kc, b.si, b.types, b.gsize, b.lsize = sig, kc, si, types[si:], gsize, lsize
    b.last = [args[2]] + list(scalars)
    key = id(p)
    b.ref = weakref.ref(p, lambda r, key=key: _forget(key, r))
    _bound[key] = b


MULTI_MAX = 8      # parameters per launch of the multi-parameter kernels (templates/optim.mako: *_multi)


def _multi_ok(p, g, states):
    """Whether p's update can share a launch: real dtype, p, g and the states contiguous from offset 0 on one
    device, no host-shared memory, 32-bit indices."""
    if p._dtype.is_complex or p._offset or g._offset or p._st.shared or g._st.shared:
        return False
    if g._dtype is not p._dtype or g._shape != p._shape or g._st.rt is not p._st.rt or p._st.rt is None:
        return False
    if not (p.is_contiguous() and g.is_contiguous()):
        return False
    n = p.numel()
    if n == 0 or n + 8 > I32:
        return False
    for s in states:
        if s is not None and (s._offset or s._dtype is not p._dtype or s._shape != p._shape or
                              not s.is_contiguous() or s._st.rt is not p._st.rt):
            return False
    return True


def fused_update_many(defname, items, scalars, **flags):
    """fused_update for several parameters [(p, g, states)] with the same scalars and flags: those that qualify
    (_multi_ok; distinct storages) are updated MULTI_MAX per launch by templates/optim.mako:<defname>_multi, the
    others one by one."""
    for p, _, _ in items:
        _check_param(p)
    groups, rest, seen = {}, [], set()
    for it in items:
        p, g, states = it
        if len(items) > 1 and id(p._st) not in seen and _multi_ok(p, g, states):
            seen.add(id(p._st))
            groups.setdefault((p._dtype, p._st.rt), []).append(it)
        else:
            rest.append(it)
    for (dt, rt), its in groups.items():
        if len(its) == 1:
            rest.append(its[0])
            continue
        for i in range(0, len(its), MULTI_MAX):
            chunk = its[i:i + MULTI_MAX]
            if len(chunk) == 1:
                rest.append(chunk[0])
            else:
                _launch_multi(defname, rt, dt, chunk, scalars, flags)
    for p, g, states in rest:
        fused_update(defname, p, g, states, scalars, **flags)


def _launch_multi(defname, rt, dt, chunk, scalars, flags):
    M = len(chunk)
    it = np.int32
    ft = _fdt(dt)
    k = K.get(rt, "optim", defname + "_multi", t=dt, idx="int", M=M, **flags)
    args, start = [], 0
    for p, g, states in chunk:
        n = p.numel()
        args += [p._st.buf, g._st.buf]
        args += [(s if s is not None else p)._st.buf for s in states]
        args += [it(n), it(start)]
        start += (n + 7) // 8
    args.append(it(start))
    args += [ft(v) if not isinstance(v, np.int32) else v for v in scalars]
    if k.__dict__.get("typed") is None:
        K.set_arg_types(k, [type(a) if isinstance(a, np.generic) else None for a in args])
    ls = rt.local_size
    K.launch_bound(rt, k, (K.round_up(start, ls),), (ls,), args, start * 8 * dt.itemsize <= K.SMALL_BYTES)
    for p, g, states in chunk:
        p._st.version += 1
        for s in states:
            if s is not None:
                s._st.version += 1
