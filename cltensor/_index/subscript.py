"""t[index] and t[index] = value (Tensor.__getitem__ / __setitem__), index_put / index_put_.

Basic indices give views (cltensor/_index/parse.py basic_index); an index holding tensors, lists or masks is
parsed into an `Adv` and run by the engine: `index_adv` gathers, `put_raw` writes (last write wins, or
accumulates), each with its backward rule computed with the same ops (so double backward works).
"""
import numpy as np

from .. import _dtypes as D
from .. import _ew
from .. import _ops
from .. import _views as V
from .. import _creation
from .._launch import rt_of
from .._registry import register
from .._tensor import Tensor, empty_tensor, contiguous_strides, prod
from ..autograd import _tape as AG
from . import engine as E
from .parse import basic_index, is_basic, normalize, parse, plan, _needs_check, _raise_bad


def getitem(t, index):
    index = normalize(index)
    if all(is_basic(i) for i in index):
        return basic_index(t, index)
    adv = parse(t, index)
    if not adv.dims:
        return adv.v
    return index_adv(adv)


def setitem(t, index, value):
    index = normalize(index)
    if all(is_basic(i) for i in index):
        target = basic_index(t, index)
        _ops.check_inplace(t)
        if isinstance(value, Tensor) or not isinstance(value, (list, tuple)):
            _inplace_copy(target, value)
        else:
            _inplace_copy(target, _creation.tensor(value, dtype=t._dtype, device=t._device))
        return
    _setitem_adv(t, index, value)


def _inplace_copy(target, value):
    if isinstance(value, Tensor) and value.requires_grad or target.requires_grad:
        target.copy_(value)
    else:
        _ops.copy_into(target, value)


# ---------------------------------------------------------------- t[index], index_put

def index_adv(adv):
    """The advanced-indexing result (a new tensor) with its backward rule."""
    v = adv.v
    S, base_st, idxs, bpos, B = plan(adv)
    out = empty_tensor(S, v._dtype, v._device)
    E._imap(False, "set", v, base_st, S, idxs, val=out, val_st=list(out._strides))
    if prod(S) and _needs_check(adv) and E._read_err(rt_of(v)):
        _raise_bad(adv, B)
    if AG.needs_grad(v):
        meta, shape = adv.with_base(None), v._shape    # the backward keeps the indices, not the input
        AG.record("IndexBackward0", (v,), out,
                  lambda g: (index_put_adv(meta.with_base(E._zeros(shape, g._dtype, g._device)), g, True),),
                  saved=tuple(adv.tensors))
    return out


def _prep_value(v, value, S, dtype_check=True):
    """Value for a put: a Python scalar, or a tensor on v's device, same dtype, leading 1-dims beyond S dropped."""
    if isinstance(value, Tensor):
        value = E._same_device(value, v)
        if dtype_check and value._dtype is not v._dtype:
            raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                               f"{v._dtype._alias} for the destination and {value._dtype._alias} for the source.")
        if len(value._shape) > len(S):
            extra = len(value._shape) - len(S)
            if any(s != 1 for s in value._shape[:extra]):
                raise RuntimeError(f"shape mismatch: value tensor of shape {list(value._shape)} cannot be broadcast "
                                   f"to indexing result of shape {list(S)}")
            value = V.reshape(value, value._shape[extra:])
        try:
            ok = _ew.broadcast_shapes(S, value._shape) == tuple(S)
        except RuntimeError:
            ok = False
        if not ok:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(value._shape)} cannot be broadcast to "
                               f"indexing result of shape {list(S)}")
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float, complex)):
        return value
    raise TypeError(f"can't assign a {type(value).__name__} to a cltensor.{v.type().split('.')[-1]}")


def put_raw(adv, value, accumulate, dtype_check=False):
    """In place: adv.v[adv] = value (or += when accumulate), no autograd."""
    dst = adv.v
    S, base_st, idxs, bpos, B = plan(adv)
    value = _prep_value(dst, value, S, dtype_check)
    if isinstance(value, Tensor):
        if value._dtype is not dst._dtype:
            value = E._cast(value, dst._dtype)
        val_st = _ew.broadcast_strides(value, S)
    unique = all(isinstance(k, str) for k in adv.known)
    nB = prod(B)
    scalar = not isinstance(value, Tensor)
    varies = not scalar and any(val_st[p] for p in bpos)
    if unique or nB <= 1 or (not accumulate and not varies):
        if scalar:
            E._imap(True, "sum" if accumulate else "set", dst, base_st, S, idxs, scalar=value)
        else:
            E._imap(True, "sum" if accumulate else "set", dst, base_st, S, idxs, val=value, val_st=val_st)
    elif accumulate and E._atomic_ok(rt_of(dst), dst._dtype):
        if scalar:
            E._imap(True, "atomic", dst, base_st, S, idxs, scalar=value)
        else:
            E._imap(True, "atomic", dst, base_st, S, idxs, val=value, val_st=val_st)
    else:
        if scalar:
            value = _creation.full((), value, dtype=dst._dtype, device=dst._device)
            val_st = [0] * len(S)
        sizes = [size for _, _, size, _ in idxs]
        E._grouped("sum" if accumulate else "last", dst, S, base_st, value, val_st, idxs, bpos, [0] * len(S),
                   contiguous_strides(sizes), prod(sizes))
    dst._st.version += 1
    if prod(S) and _needs_check(adv) and E._read_err(rt_of(dst)):
        _raise_bad(adv, B)


def index_put_adv(adv, value, accumulate=False):
    """Out of place: a copy of adv.v with value put at adv (differentiable in adv.v and value)."""
    v = adv.v
    S = plan(adv)[0]
    value = _prep_value(v, value, S)
    r = E._clone_raw(v)
    put_raw(adv.with_base(r), value, accumulate)
    if AG.needs_grad(v, value):
        vt = value if isinstance(value, Tensor) else None
        meta = adv.with_base(None)
        vreq = vt is not None and vt.requires_grad

        def bw(g):
            gs = g if accumulate else index_put_adv(meta.with_base(g), 0, False)
            gv = index_adv(meta.with_base(g)) if vreq else None
            return (gs, gv)
        AG.record("IndexPutBackward0", (v, vt), r, bw, saved=tuple(adv.tensors))
    return r


def _setitem_adv(t, index_tuple, value):
    adv = parse(t, index_tuple)
    if isinstance(value, (list, tuple)) or isinstance(value, np.ndarray):
        value = _creation.tensor(value, dtype=t._dtype, device=t._device)
    if not adv.dims:
        _ops.check_inplace(t)
        _inplace_copy(adv.v, value)
        return
    if isinstance(value, Tensor) and value._dtype is not t._dtype and value.numel() == 1 and \
            _single_mask(index_tuple):
        # PyTorch (CPU) turns a put of one value through a single boolean mask into masked_fill_(mask,
        # value.item()): the value is cast, not checked against the destination's dtype
        value = value.item()
    v = adv.v
    if AG.needs_grad(v, value if isinstance(value, Tensor) else None):
        _ops.check_inplace(v)
        r = index_put_adv(adv, value, False)
        v.copy_(r)
        return
    put_raw(adv, value, False, dtype_check=True)


def _single_mask(index_tuple):
    """Whether the only tensor-like index in index_tuple is one boolean (or uint8) mask."""
    items = index_tuple if isinstance(index_tuple, tuple) else (index_tuple,)
    arrays = [i for i in items if isinstance(i, (Tensor, np.ndarray, list))]
    if len(arrays) != 1:
        return False
    m = arrays[0]
    if isinstance(m, Tensor):
        return m._dtype is D.bool_ or m._dtype is D.uint8
    return np.asarray(m).dtype in (np.bool_, np.uint8)


def _index_tuple(indices):
    if isinstance(indices, Tensor):
        indices = (indices,)
    return tuple(slice(None) if i is None else i for i in indices)


def index_put(input, indices, values, accumulate=False):
    if not isinstance(indices, (tuple, list)):
        raise TypeError("index_put(): argument 'indices' must be tuple of Tensors")
    adv = parse(input, _index_tuple(indices))
    if not adv.dims:
        return V.clone(input)
    return index_put_adv(adv, values, accumulate)


def index_put_(self, indices, values, accumulate=False):
    if not isinstance(indices, (tuple, list)):
        raise TypeError("index_put_(): argument 'indices' must be tuple of Tensors")
    adv = parse(self, _index_tuple(indices))
    if not adv.dims:
        return self
    if AG.needs_grad(adv.v, values if isinstance(values, Tensor) else None):
        _ops.check_inplace(self)
        r = index_put_adv(adv, values, accumulate)
        adv.v.copy_(r)
        return self
    S = plan(adv)[0]
    _prep_value(adv.v, values, S)   # dtype / shape checks
    put_raw(adv, values, accumulate)
    return self


register("index_put", index_put, method=True, inplace=index_put_)
register("index_put_", index_put_)
