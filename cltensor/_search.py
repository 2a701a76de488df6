"""Searching sorted sequences: searchsorted, bucketize (one binary-search kernel, templates/search.mako) and isin
(built on sort + searchsorted). No autograd: the results are integer positions or booleans, as in PyTorch."""
from . import _dtypes as D
from . import _kernels as K
from ._creation import tensor as _tensor
from ._launch import rt_of, idx_type
from ._ops import result_type
from ._reductions import _finish_out
from ._registry import register
from ._tensor import Tensor, empty_tensor
from .autograd import _tape as AG


def _check_side(side, right):
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        return side == "right"
    return bool(right)


def _search(seq, vals, right, sorter, out_int32, name="searchsorted"):
    scalar = not isinstance(vals, Tensor)
    if scalar:
        vals = _tensor(vals, device=seq._device)
    dt = result_type(seq, vals)
    if dt is D.bool_:
        raise NotImplementedError("\"searchsorted_out_cpu\" not implemented for 'Bool'")
    if dt.is_complex:
        raise NotImplementedError(f"\"searchsorted_out_cpu\" not implemented for '{dt._name_pt}'"
                                  if hasattr(dt, "_name_pt") else
                                  "\"searchsorted_out_cpu\" not implemented for complex dtypes")
    if seq.dim() == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive dimension, but got 0 "
                           "dimension")
    if seq.dim() > 1 and (vals.dim() != seq.dim() or tuple(seq._shape[:-1]) != tuple(vals._shape[:-1])):
        raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                           "dimensions of boundaries tensor and input value tensor must match, but we got "
                           f"boundaries tensor {list(seq._shape)} and input value tensor {list(vals._shape)}")
    if sorter is not None:
        if sorter._dtype is not D.int64:
            raise RuntimeError("torch.searchsorted(): sorter must be a tensor of long dtype but got dtype "
                               f"{sorter._dtype}")
        if tuple(sorter._shape) != tuple(seq._shape):
            raise RuntimeError("torch.searchsorted(): boundary and sorter must have the same size, but got "
                               f"boundary tensor {list(seq._shape)}and got sorter tensor {list(sorter._shape)}")
    odt = D.int32 if out_int32 else D.int64
    out = empty_tensor(tuple(vals._shape), odt, vals._device)
    n = vals.numel()
    M = seq._shape[-1]
    if n == 0:
        return out
    with AG.no_grad():
        s = seq.detach().to(dt).contiguous()
        v = vals.detach().to(dt).contiguous()
        srt = sorter.detach().contiguous() if sorter is not None else None
    rt = rt_of(s)
    idx, it = idx_type(s.numel(), n, srt.numel() if srt is not None else 0)
    N = vals._shape[-1] if vals.dim() > 0 else 1
    sstride = M if seq.dim() > 1 else 0
    k = K.get(rt, "search", "searchsorted", seq=dt, val=dt, out=odt, right=bool(right),
              sorted_by=srt is not None, idx=idx)
    ls = rt.local_size
    tbuf = srt._st.buf if srt is not None else s._st.buf
    K.launch(rt, k, (K.round_up(n, ls),), (ls,),
             [s._st.buf, it(s._offset), it(sstride), it(M), v._st.buf, it(v._offset), it(N),
              tbuf, it(srt._offset if srt is not None else 0), out._st.buf, it(n)])
    return out


@register("searchsorted")
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, out=None, sorter=None):
    """Indices where `input` would be inserted in the last dim of `sorted_sequence` to keep it sorted."""
    r = _search(sorted_sequence, input, _check_side(side, right), sorter, out_int32)
    return _finish_out(r, out, "searchsorted")


@register("bucketize")
def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """Index of the bucket of each element of input among 1-D `boundaries`."""
    if not isinstance(boundaries, Tensor) or boundaries.dim() != 1:
        raise RuntimeError("boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.dim() if isinstance(boundaries, Tensor) else 0})")
    r = _search(boundaries, input, bool(right), None, out_int32, "bucketize")
    return _finish_out(r, out, "bucketize")


@register("isin")
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element of `elements` is in `test_elements` (sort + binary search, O((n + m) log m))."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin() received an invalid combination of arguments")
    dev = (elements if isinstance(elements, Tensor) else test_elements)._device
    e = elements if isinstance(elements, Tensor) else _tensor(elements, device=dev)
    t = test_elements if isinstance(test_elements, Tensor) else _tensor(test_elements, device=dev)
    dt = result_type(elements, test_elements)
    if dt is D.bool_:
        raise RuntimeError("Unsupported input type encountered for isin(): Bool")
    if dt.is_complex:
        raise NotImplementedError("\"isin_default_cpu\" not implemented for complex dtypes")
    with AG.no_grad():
        e = e.to(dt)
        if t.numel() == 0:
            r = e != e if e._dtype is not D.bool_ else e & ~e
            r = empty_tensor(tuple(e._shape), D.bool_, e._device).fill_(False)
            return r.logical_not() if invert else r
        ts = t.to(dt).reshape(-1).sort()[0]
        pos = _search(ts, e, False, None, False)
        hit = ts.take(pos.clamp(max=ts.numel() - 1)) == e
        return hit.logical_not() if invert else hit
