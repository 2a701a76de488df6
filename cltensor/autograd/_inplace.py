"""Autograd for in-place writes: checks, the node of an in-place op, and rebasing a view's base (CopySlices).

After `v.op_(...)` on a view v of a tensor b that is part of a graph, v.grad_fn is the in-place node and b gets
a CopySlices node: b's gradient splits into the part outside v's region (to b's previous value) and v's region
(to v's new node, which leads back to b's previous value through v's view node). This covers every in-place op
on views (copy_, fill_, setitem, mul_, ...), e.g. `y = x.clone(); y[0] = 5` or `y = x * 1; y[:, 1].mul_(2)`.
"""
from .._tensor import Tensor, make, contiguous_strides, empty_tensor
from .. import _ops, _creation
from .._views import clone, as_strided
from . import _tape
from ._tape import is_grad_enabled, record, snapshot_edge, saved_output, no_grad, check_inplace  # noqa: F401


def inplace_prepare(rule, mask, self, others):
    """Before the write of `self = rule-op(self, *others)` (mask: the rule's saves_mask): check, snapshot self's
    edge, keep self's old value when the rule reads it, and copy operands that share self's memory (x.mul_(x),
    y[0].mul_(y[1]))."""
    check_inplace(self)
    # clones record CloneBackward0 from the current edges, so double backward sees the old values too
    old = clone(self) if mask[0] else None
    others = [clone(a) if isinstance(a, Tensor) and a._st is self._st else a for a in others]
    return (snapshot_edge(self), old, others)


def inplace_record(name, rule, mask, prep, self):
    """After the write: record the in-place node on self, and route self's base through it when self is a view.
    Operands the rule does not read (mask) are passed to it as None, as by bind_rule."""
    snap, old, others = prep
    o = saved_output(self) if mask[-1] else None
    kept = [a if m else None for a, m in zip(others, mask[1:])]
    saved = tuple(a for a in kept if isinstance(a, Tensor))
    if o is not None:
        saved += (o,)
    record(name, [snap] + list(others), self, lambda g: rule(g, old, *kept, o), saved=saved)
    rebase_view(self)
    return self


def record_overwrite(t, name):
    """After t's values were overwritten by constants (fill_, zero_, ...): no gradient reaches t's old value."""
    if t._requires_grad and is_grad_enabled():
        record(name, (snapshot_edge(t),), t, lambda g: (None,))
        rebase_view(t)
    return t


def _base_layout_clone(g, shape, strides):
    """A copy of g (base-shaped) laid out with the base's strides, so that the view's geometry applies to it."""
    if tuple(strides) == contiguous_strides(shape) or 0 in shape:
        t = empty_tensor(shape, g._dtype, g._device)
    else:
        span = 1 + sum((s - 1) * st for s, st in zip(shape, strides))
        raw = empty_tensor((span,), g._dtype, g._device)
        t = make(raw._st, shape, strides, 0, g._dtype, g._device)
    _ops.copy_into(t, g)
    return t


def rebase_view(view):
    """view was just written in place and carries the write's node: give its base a CopySlices node."""
    b = view._base
    if b is None or b is view or view.grad_fn is None or not is_grad_enabled():
        return
    ratio = b._dtype.itemsize // view._dtype.itemsize   # 2 for real/imag views of complex bases
    shape, strides, rel, vdt = view._shape, view._strides, view._offset - b._offset * ratio, view._dtype
    bshape, bstrides = b._shape, b._strides          # geometry only: the closure keeps no tensor alive

    def bw(g):
        if g._requires_grad and ratio == 1 and tuple(bstrides) == contiguous_strides(bshape):
            return _copy_slices_differentiable(g, shape, strides, rel)     # create_graph=True
        with no_grad():
            t = _base_layout_clone(g, bshape, bstrides)
            region = make(t._st, shape, strides, t._offset * ratio + rel, vdt, t._device)
            gv = region.clone()
            _ops.copy_into(region, 0)
        return (t, gv)
    record("CopySlices", (snapshot_edge(b), view), b, bw)


def _copy_slices_differentiable(g, shape, strides, rel):
    """CopySlices' backward with differentiable ops (for double backward): g * mask, and the view's region of g
    taken with as_strided on a contiguous, offset-0 copy of g (the base's layout)."""
    gc = g if g.is_contiguous() and g._offset == 0 else g.clone()
    with no_grad():
        mask = _creation.ones(g._shape, dtype=g._dtype, device=g._device)
        _ops.copy_into(make(mask._st, shape, strides, rel, mask._dtype, mask._device), 0)
    return (gc * mask, as_strided(gc, shape, strides, rel))


# the table ops' in-place path (_ops.apply_) reaches these through the tape (see _tape.inplace_prepare)
_tape.inplace_prepare = inplace_prepare
_tape.inplace_record = inplace_record
