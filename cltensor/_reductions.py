"""Reductions (sum, mean, prod, min/max and their arg forms, std/var, norm, logsumexp, all/any...) with their
backward rules next to each forward, the reduction engine, and torch.return_types.

Reduction engine (`_reduce`, kernels in templates/reduce.mako): the input's dims split into kept and reduced
sets; each set is collapsed on its own (size-1 dims dropped, mergeable neighbours merged) and padded to rank 4,
so any strided input is read in place (no copy) and one kernel serves every rank up to 4. Layouts:
  * 'inner' when the reduced dims hold the smallest stride (e.g. sum(dim=-1) of a row-major matrix, or a full
    reduction), and for every small input: one output per work-item, reading contiguous runs with 8-wide vector
    loads into 8 vector accumulators (two-level block sums for float accuracy; vectorised argmax/argmin too);
  * 'sweep' (CPU) when a contiguous kept dim is the fastest one (e.g. sum(dim=0)): a work-item streams whole
    row segments of a chunk of the reduced dims, 8 rows per read-modify-write of its partial tile, then an
    'outer' pass combines the chunks;
  * 'outer' otherwise (arg-reductions, GPUs): each work-item owns w consecutive outputs (lanes) and walks the
    reduced dims (w = 1 on GPUs: coalesced; vector loads across lanes on CPUs).
When there are fewer outputs than the device needs to be busy, the reduced space is split into S chunks per
output; partial accumulators go to a [M, S] buffer that a second small launch reduces (tree style: float32 sums
of 16M elements stay within ~1e-7 of float64 truth). Each reduction is MAP(x, aux) -> combine -> FIN(a, aux):
mean is sum + FIN a/n; var/std and logsumexp read a per-output aux value (mean, max) from a first pass.

The helpers shared with the other row-wise op families (dims, output shapes, dtypes of accumulators, `out=`,
the batch layout of a dim) live here too: cltensor/_scans.py, _sort.py and _softmax.py import them.
"""
import collections
import functools
import math
import types
import warnings

import numpy as np

from . import _dtypes as D
from . import _dispatch
from . import _kernels as K
from . import _ew
from . import _ops as O
from . import _views as V
from ._index import ops as IX
from ._launch import I32, rt_of, extent, idx_type
from ._registry import register
from ._tensor import Tensor, empty_tensor, make, prod as _prod, _wrap_dim, contiguous_strides
from .autograd import _tape as AG

# ---------------------------------------------------------------- return types (torch.return_types.*)
return_types = types.ModuleType("cltensor.return_types")


def _rtype(name, fields=("values", "indices")):
    base = collections.namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"cltensor.return_types.{name}(\n{body})"
    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__str__": __repr__,
                               "__module__": "cltensor.return_types"})
    setattr(return_types, name, cls)
    return cls


for _n in ("max", "min", "sort", "topk", "kthvalue", "median", "cummax", "cummin"):
    _rtype(_n)
_rtype("aminmax", ("min", "max"))
_RT = return_types


# ---------------------------------------------------------------- small helpers

def _acc_of(d):
    """Accumulator dtype of a dtype (half and bfloat16 accumulate in float, ints/bool sums in int64)."""
    if d is D.float16 or d is D.bfloat16:
        return D.float32
    if d.category <= 1:
        return D.int64
    return d


def _dims(dim, ndim, name=None):
    """Normalised, sorted tuple of dims; None / () / [] mean all dims."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (tuple, list)):
        if len(dim) == 0:
            return tuple(range(ndim))
        ds = [_wrap_dim(d, ndim) for d in dim]
        seen = set()
        for d in ds:
            if d in seen:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
            seen.add(d)
        return tuple(sorted(d for d in ds if ndim))
    d = _wrap_dim(dim, ndim)
    return (d,) if ndim else ()


def _out_shape(shape, dims, keepdim):
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def _reshape_fresh(t, shape):
    """Re-view a fresh contiguous tensor as `shape` (same numel), no autograd."""
    return make(t._st, tuple(shape), contiguous_strides(shape), t._offset, t._dtype, t._device)


def _preal(acc):
    return np.float64 if acc.ctype_compute in ("double", "double2") else np.float32


_finish_out = O.finish_out


def _pad_rank(shape, strides):
    """Pad collapsed dims at the front (size 1, stride 0) to rank 4, so that one kernel serves every rank up to
    4 (far fewer compiles); index math over a size-1 dim is a no-op."""
    n = len(shape)
    if n >= 4:
        return list(shape), list(strides)
    return [1] * (4 - n) + list(shape), [0] * (4 - n) + list(strides)


def _params(rt):
    """Launch geometry of the device (its tuning profile, cltensor/_device.py Tuning.reduce)."""
    return rt.info.tuning.reduce


def _batch_layout(shape, d, stride_lists):
    """Collapse every dim but d over the given stride lists -> (shape, [strides per list]), rank-bucketed."""
    bshape = [s for i, s in enumerate(shape) if i != d]
    bl = [[st[i] for i in range(len(shape)) if i != d] for st in stride_lists]
    cs, cst = _ew.collapse(bshape, bl)
    n = len(cs)
    b = max(n, 4)
    return [1] * (b - n) + cs, [[0] * (b - n) + c for c in cst]



def _row_dim(x, dim):
    """dim wrapped for x (0 for a 0-d x): the dim a scan, sort or softmax runs along."""
    d = _wrap_dim(dim, x.dim())
    return d if x.dim() else 0



# ---------------------------------------------------------------- the reduction engine

_rplans = {}      # reduction call signature -> _RPlan (everything but buffers, offsets and p0/p1)
_RPLAN_MAX = 4096


class _RPlan:
    __slots__ = ("kern", "gsize", "kern2", "gsize2", "lsize", "tail", "tail2", "it", "pt", "S", "M", "kshape",
                 "part")


def _reduce(x, dims, op, out_dtype, acc, cdt=None, mapx="x", fin="a", aux=None, p0=0.0, p1=0.0, vec_ok=True,
            sweep_ok=True):
    """Reduce x over `dims` (normalised tuple). Returns (values, indices or None) shaped like the kept dims
    (contiguous, fresh). op: sum prod max min argmax argmin. Elements are cast to `cdt` (default acc), mapped by
    MAP(x, aux), combined in `acc` and finished by FIN(a, aux) into out_dtype. aux: tensor (acc dtype, contiguous,
    one value per output) or None.

    The launch geometry and kernels of a call signature (dtypes, shape, strides, dims, op...) are planned once
    and cached: a repeated reduction costs about what an elementwise op costs on the host."""
    cdt = cdt or acc
    if type(dims) is not tuple:
        dims = tuple(dims)
    st = x._st
    key = (st.rt, x._dtype, x._shape, x._strides, dims, op, out_dtype, acc, cdt, mapx, fin, aux is not None,
           vec_ok, sweep_ok, st.nbytes // x._dtype.itemsize <= I32)
    plan = _rplans.get(key)
    if plan is None:
        plan = _reduce_plan(x, dims, op, out_dtype, acc, cdt, mapx, fin, aux, vec_ok, sweep_ok)
        if plan is None:           # an empty result
            kshape = tuple(n for d, n in enumerate(x._shape) if d not in dims)
            return (empty_tensor(kshape, out_dtype, x._device),
                    empty_tensor(kshape, D.int64, x._device) if op in ("argmax", "argmin") else None)
        if type(plan) is tuple:    # the CPU sweep layout (planned per call)
            return _sweep(x, *plan, op, out_dtype, acc, cdt, mapx, fin, aux, p0, p1)
        if len(_rplans) >= _RPLAN_MAX:
            _rplans.clear()
        _rplans[key] = plan
    arg = op in ("argmax", "argmin")
    dev = x._device
    res = empty_tensor(plan.kshape, out_dtype, dev)
    ires = empty_tensor(plan.kshape, D.int64, dev) if arg else None
    it, pt = plan.it, plan.pt
    auxbuf = aux._st.buf if aux is not None else res._st.buf
    if plan.S > 1:
        part = empty_tensor((plan.part,), acc, dev)
        ipart = empty_tensor((plan.part,), D.int64, dev) if arg else None
        o_t, i_t = part, ipart
    else:
        o_t, i_t = res, ires
    args = [st.buf, it(x._offset), o_t._st.buf, it(o_t._offset)]
    if arg:
        args += [i_t._st.buf, it(i_t._offset)]
    args += [auxbuf, pt(p0), pt(p1)]
    args += plan.tail
    rt = st.rt
    small = st.nbytes <= K.SMALL_BYTES
    K.launch_bound(rt, plan.kern, plan.gsize, plan.lsize, args, small)
    if plan.S > 1:
        args2 = [part._st.buf, it(0)]
        if arg:
            args2.append(ipart._st.buf)
        args2 += [res._st.buf, it(res._offset)]
        if arg:
            args2 += [ires._st.buf, it(ires._offset)]
        args2 += [auxbuf, pt(p0), pt(p1)]
        args2 += plan.tail2
        K.launch_bound(rt, plan.kern2, plan.gsize2, plan.lsize, args2, small)
    if st.shared:
        rt.queue.finish()
    return res, ires


def _reduce_plan(x, dims, op, out_dtype, acc, cdt, mapx, fin, aux, vec_ok, sweep_ok):
    """The launch plan of a reduction (see _reduce); None for an empty result; for the CPU sweep layout the
    arguments of _sweep (a tuple)."""
    arg = op in ("argmax", "argmin")
    if acc.is_complex or cdt.is_complex or x._dtype.is_complex:
        vec_ok = False
    shape, strides = x._shape, x._strides
    nd = len(shape)
    kept = [d for d in range(nd) if d not in dims]
    kshape = tuple(shape[d] for d in kept)
    M = _prod(kshape)
    if M == 0:
        return None
    rt = rt_of(x)
    red = [d for d in dims]
    if not arg:   # any order sums the same: walk the reduced dims from the largest stride to the smallest
        red.sort(key=lambda d: -strides[d])
    rshape = [shape[d] for d in red]
    RN = _prod(rshape)
    ks, (kst,) = _ew.collapse(list(kshape), [[strides[d] for d in kept]])
    rs, (rst,) = _ew.collapse(rshape, [[strides[d] for d in red]])
    if not rs:
        rs, rst = [1], [0]
    if not ks:
        ks, kst = [1], [0]
    ks, kst = _pad_rank(ks, kst)
    rs, rst = _pad_rank(rs, rst)
    kr, rr = len(ks), len(rs)
    P = _params(rt)
    min_k = min([s for s in kst if s] or [1 << 62])
    min_r = min([s for s in rst if s] or [1 << 62])
    # small inputs are launch-bound: one general kernel (inner, strided loads) serves every layout, which keeps
    # the number of distinct kernels to compile low
    layout = "inner" if M == 1 or min_r < min_k or x.numel() <= P["small"] else "outer"
    vw = 1
    vec = bool(vec_ok and cdt is acc and not arg)
    if (layout == "outer" and sweep_ok and rt.info.tuning.reduce_outer_sweep and vec and kst[-1] == 1 and ks[-1] >= 16):
        return (rt, P, ks, kst, rs, rst, kshape, M, RN)
    if layout == "outer":
        last = ks[-1]
        w = P["w_out"]
        if vec and w > 1:
            vw = w
            w = vw * (P["nv_out"] if last >= vw * P["nv_out"] else 1)
        nkg = (last + w - 1) // w
        ng = (M // last) * nkg
    else:
        varg = (arg and vec_ok and cdt is acc and acc.itemsize in (4, 8) and acc.category in (1, 2)
                and (acc.itemsize == 8 or max(extent(x), RN) <= I32))
        w = P["w_in"] if (vec or varg) else 1
        nkg = 1
        ng = M
    S, C = 1, max(RN, 1)
    if ng < P["target"] and RN > P["minc"]:
        S = min(-(-P["target"] // ng), -(-RN // P["minc"]))
        C = -(-RN // S)
        if layout == "inner":
            q = w * P["u"]
            C = -(-C // q) * q
        S = -(-RN // C)
    idx, it = idx_type(extent(x), M * S, RN, M * nkg * S)
    plan = _RPlan()
    plan.it, plan.pt, plan.S, plan.M, plan.kshape, plan.part = it, _preal(acc), S, M, kshape, M * S
    tail = [it(ng * S), it(S), it(C), it(RN), it(nkg)]
    for s, st in zip(ks, kst):
        tail += [it(s), it(st)]
    for s, st in zip(rs, rst):
        tail += [it(s), it(st)]
    plan.tail = tail
    common = dict(src=x._dtype, cdt=cdt, acc=acc, out=(acc if S > 1 else out_dtype), op=op, mapx=mapx, fin=fin,
                  kr=kr, rr=rr, aux=aux is not None, partial=S > 1, idx=idx)
    if layout == "inner":
        plan.kern = K.get(rt, "reduce", "inner", w=w, u=P["u"] if w > 1 else 1,
                          blk=P["blk"] if (vec and op == "sum" and acc.is_floating_point) else 1, stage2=False,
                          **common)
    else:
        plan.kern = K.get(rt, "reduce", "outer", w=w, vw=vw, **common)
    ls = rt.local_size
    plan.lsize = (ls,)
    plan.gsize = (K.round_up(ng * S, ls),)
    plan.kern2 = plan.gsize2 = plan.tail2 = None
    if S > 1:
        v2 = not acc.is_complex and not arg
        plan.kern2 = K.get(rt, "reduce", "inner", src=acc, cdt=acc, acc=acc, out=out_dtype, op=op, mapx="x",
                           fin=fin, kr=1, rr=1, w=P["w_in"] if v2 else 1, u=1, blk=1, aux=aux is not None,
                           partial=False, stage2=True, idx=idx)
        plan.tail2 = [it(M), it(1), it(S), it(S), it(1), it(M), it(S), it(S), it(1)]
        plan.gsize2 = (K.round_up(M, ls),)
    return plan


def _sweep(x, rt, P, ks, kst, rs, rst, kshape, M, RN, op, out_dtype, acc, cdt, mapx, fin, aux, p0, p1):
    """CPU layout for reductions over outer dims (see reduce.mako `sweep`): chunk partials + an outer pass."""
    last = ks[-1]
    tw = 16384 // acc.itemsize
    nkg = -(-last // tw)
    ng = (M // last) * nkg
    S = 1
    target = max(1, P["target"] // 4)    # each work-item streams a wide tile: fewer, longer chunks suffice
    if ng < target:
        S = max(1, min(-(-target // ng), (RN * min(last, tw)) // P["minc"]))
    C = -(-max(RN, 1) // S)
    S = max(1, -(-RN // C))
    idx, it = idx_type(extent(x), M * S, RN)
    part = empty_tensor((S, M), acc, x._device)
    kern = K.get(rt, "reduce", "sweep", src=x._dtype, cdt=cdt, acc=acc, op=op, mapx=mapx, kr=len(ks), rr=len(rs),
                 tw=tw, vw=16, rb=P.get("rb", 8), aux=aux is not None, idx=idx)
    args = [x._st.buf, it(x._offset), part._st.buf, it(M), (aux if aux is not None else part)._st.buf,
            it(ng * S), it(S), it(C), it(RN), it(nkg)]
    for s, st in zip(ks, kst):
        args += [it(s), it(st)]
    for s, st in zip(rs, rst):
        args += [it(s), it(st)]
    ls = rt.local_size
    K.launch_bound(rt, kern, (K.round_up(ng * S, ls),), (ls,), args)
    if S == 1 and fin == "a" and out_dtype is acc:
        res = part
    else:
        res, _ = _reduce(part, (0,), op, out_dtype, acc, mapx="x", fin=fin, aux=aux, p0=p0, p1=p1, sweep_ok=False)
    if x._st.shared:
        rt.queue.finish()
    return _reshape_fresh(res, kshape), None


# ================================================================ reductions
# Each public op: argument handling + dtype rule, the forward through `_reduce`, then its backward rule.

def _keep_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _kd(t, shape, dims):
    """A reduced tensor (dims dropped or kept) re-viewed with the reduced dims kept as size 1 (differentiable)."""
    ks = _keep_shape(shape, dims)
    return t if t._shape == ks else V.reshape(t, ks)


def _expand_grad(g, shape, dims):
    return V.expand(_kd(g, shape, dims), shape)


def _compute_dtype(d):
    return D.float32 if d is D.float16 or d is D.bfloat16 else d


def _finish(x, dims, keepdim, r):
    return _reshape_fresh(r, _out_shape(x._shape, dims, keepdim))


def _numel_reduced(x, dims):
    return _prod([x._shape[d] for d in dims])


def _no_complex(x, name):
    if x._dtype.is_complex:
        raise NotImplementedError(f'"{name}" not implemented for \'{x._dtype._alias}\'')


def _check_nonempty(x, dims, name, dim_given, exc=RuntimeError, tail=True):
    if x.numel() == 0:
        if not dim_given:
            msg = f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
            if tail:
                msg += " Specify the reduction dim with the 'dim' argument."
            raise exc(msg)
        for d in dims:
            if x._shape[d] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def _given(dim):
    return dim is not None and not (isinstance(dim, (tuple, list)) and len(dim) == 0)


def sum_(input, dim=None, keepdim=False, *, dtype=None, out=None):
    x = input
    dims = _dims(dim, x.dim())
    odt = D.as_dtype(dtype) if dtype is not None else (D.int64 if x._dtype.category <= 1 else x._dtype)
    m = _dispatch.mode
    if m is not None and out is None:
        r = m.reduce("sum", x, dims, keepdim, odt, _acc_of(odt), 0)
        if r is not None:
            return r
    r, _ = _reduce(x, dims, "sum", odt, _acc_of(odt))
    r = _finish(x, dims, keepdim, r)
    if AG.needs_grad(x):
        shape = x._shape
        AG.record("SumBackward1" if _given(dim) else "SumBackward0", (x,), r,
                  lambda g: (_expand_grad(g, shape, dims),))
    return _finish_out(r, out, "sum")


def nansum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    x = input
    if x._dtype.is_complex:
        raise RuntimeError("nansum on CPU does not support complex inputs")
    if not x._dtype.is_floating_point:
        return sum_(x, dim, keepdim, dtype=dtype, out=out)
    dims = _dims(dim, x.dim())
    odt = D.as_dtype(dtype) if dtype is not None else x._dtype
    acc = _acc_of(odt)
    r, _ = _reduce(x, dims, "sum", odt, acc, mapx="(isnan(x) ? (%s)0 : x)" % acc.ctype_compute, vec_ok=False)
    r = _finish(x, dims, keepdim, r)
    if AG.needs_grad(x):
        shape = x._shape
        AG.record("NansumBackward0", (x,), r,
                  lambda g: (O.where(O.apply("isnan", x), 0.0, _expand_grad(g, shape, dims)),), saved=(x,))
    return _finish_out(r, out, "nansum")


def _mean_dtype(x, dtype, name="mean"):
    odt = D.as_dtype(dtype) if dtype is not None else x._dtype
    if odt.category < 2:
        raise RuntimeError(f"{name}(): could not infer output dtype. Input dtype must be either a floating point or "
                           f"complex dtype. Got: {odt._alias}")
    return odt


def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    x = input
    odt = _mean_dtype(x, dtype)
    dims = _dims(dim, x.dim())
    n = _numel_reduced(x, dims)
    m = _dispatch.mode
    if m is not None and out is None:
        r = m.reduce("mean", x, dims, keepdim, odt, _acc_of(odt), n)
        if r is not None:
            return r
    r, _ = _reduce(x, dims, "sum", odt, _acc_of(odt), fin="a / p1", p1=float(n))
    r = _finish(x, dims, keepdim, r)
    if AG.needs_grad(x):
        shape = x._shape
        AG.record("MeanBackward1" if _given(dim) else "MeanBackward0", (x,), r,
                  lambda g: (O.apply("div", _expand_grad(g, shape, dims), n),))
    return _finish_out(r, out, "mean")


def nanmean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    x = input
    _mean_dtype(x, dtype, "nanmean")
    notnan = O.apply("logical_not", O.apply("isnan", x))
    return _finish_out(O.apply("div", nansum(x, dim, keepdim, dtype=dtype), sum_(notnan, dim, keepdim)),
                       out, "nanmean")


def _prod_dims(x, dims, odt):
    r, _ = _reduce(x, dims, "prod", odt, _acc_of(odt))
    return r


def prod(input, dim=None, keepdim=False, *, dtype=None, out=None):
    x = input
    if isinstance(dim, (tuple, list)):
        raise TypeError("prod(): argument 'dim' must be int, not " + type(dim).__name__)
    dims = _dims(dim, x.dim())
    odt = D.as_dtype(dtype) if dtype is not None else (D.int64 if x._dtype.category <= 1 else x._dtype)
    r = _finish(x, dims, keepdim, _prod_dims(x, dims, odt))
    if AG.needs_grad(x):
        shape = x._shape

        def bw(g):
            gk, rk = _kd(g, shape, dims), _kd(r, shape, dims)
            z = O.apply("eq", x, 0)
            nz = sum_(z, dims, keepdim=True)
            with AG.no_grad():
                pnz = _reshape_fresh(_prod_dims(O.where(z, 1, x.detach()), dims, x._dtype), _keep_shape(shape, dims))
            one = O.apply("logical_and", O.apply("eq", nz, 1), z)
            xs = x
            if x._dtype.is_complex:          # PyTorch's convention for complex inputs: grad * conj(d out / d x)
                rk, pnz, xs = rk.conj(), pnz.conj(), x.conj()
            return (O.where(O.apply("eq", nz, 0), O.apply("div", O.apply("mul", gk, rk), xs),
                            O.where(one, O.apply("mul", gk, pnz), 0.0)),)
        AG.record("ProdBackward1" if dim is not None else "ProdBackward0", (x,), r, bw, saved=(x,))
    return _finish_out(r, out, "prod")


def _minmax_acc(x):
    return _compute_dtype(x._dtype)


def _evenly_backward(g, x, r, dims):
    """Gradient of amax/amin/max()/min(): split evenly among the elements equal to the result."""
    shape = x._shape
    gk, rk = _kd(g, shape, dims), _kd(r, shape, dims)
    mask = O.apply("eq", x, rk)
    if x._dtype.is_floating_point:
        mask = O.apply("logical_or", mask, O.apply("logical_and", O.apply("isnan", x), O.apply("isnan", rk)))
    cnt = sum_(mask, dims, keepdim=True)
    return O.where(mask, O.apply("div", gk, cnt), 0.0)


def _amax_like(x, dim, keepdim, op, name, node, given=None, kernel=None):
    dims = _dims(dim, x.dim())
    _no_complex(x, kernel or name)
    _check_nonempty(x, dims, name, _given(dim) if given is None else given)
    r, _ = _reduce(x, dims, op, x._dtype, _minmax_acc(x))
    r = _finish(x, dims, keepdim, r)
    if AG.needs_grad(x):
        AG.record(node, (x,), r, lambda g: (_evenly_backward(g, x, r, dims),), saved=(x,))
    return r


def amax(input, dim=(), keepdim=False, *, out=None):
    return _finish_out(_amax_like(input, dim, keepdim, "max", "amax", "AmaxBackward0", kernel="max_values_cpu"),
                       out, "amax")


def amin(input, dim=(), keepdim=False, *, out=None):
    return _finish_out(_amax_like(input, dim, keepdim, "min", "amin", "AminBackward0", kernel="min_values_cpu"),
                       out, "amin")


def _arg_reduce(x, d, op, name):
    """(values, indices) of arg-reduction op along the normalised dims tuple d."""
    _no_complex(x, name)
    return _reduce(x, d, op, x._dtype, _minmax_acc(x))


def _index_backward(g, idx, shape, dim, keepdim):
    """zeros(shape) with g scattered to `idx` along dim (the gradient of value-selecting reductions)."""
    if not shape:
        return g.reshape(())
    if not keepdim:
        g = V.unsqueeze(g, dim)
        idx = V.unsqueeze(idx, dim)
    return IX.scatter_add_valid(shape, dim, idx, g)


def _max_min(input, dim, keepdim, other, out, which):
    name = which
    if isinstance(dim, Tensor) and other is None:
        dim, other = None, dim
    if other is not None:
        return O.apply("maximum" if which == "max" else "minimum", input, other, out=out)
    x = input
    op = "argmax" if which == "max" else "argmin"
    if dim is None:
        r = _amax_like(x, None, False, which, name, "MaxBackward1" if which == "max" else "MinBackward1",
                       given=False, kernel=which + "_all")
        return _finish_out(r, out, name)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{name}() received an invalid combination of arguments - got (dim={type(dim).__name__})")
    if x._dtype.is_complex:
        raise RuntimeError(f"{name}(): does not support complex input")
    d = _wrap_dim(dim, x.dim())
    dims = (d,) if x.dim() else ()
    _check_nonempty(x, dims, name, True)
    v, i = _arg_reduce(x, dims, op, name)
    v, i = _finish(x, dims, keepdim, v), _finish(x, dims, keepdim, i)
    if AG.needs_grad(x):
        shape = x._shape
        AG.record("MaxBackward0" if which == "max" else "MinBackward0", (x,), (v, i),
                  lambda gv, gi: (_index_backward(gv, i, shape, d, keepdim),))
    res = getattr(_RT, name)(v, i)
    if out is not None:
        _finish_out(v, out[0], name)
        _finish_out(i, out[1], name)
        return getattr(_RT, name)(out[0], out[1])
    return res


def max_(input, dim=None, keepdim=False, *, out=None, other=None):
    return _max_min(input, dim, keepdim, other, out, "max")


def min_(input, dim=None, keepdim=False, *, out=None, other=None):
    return _max_min(input, dim, keepdim, other, out, "min")


def _argmax_like(input, dim, keepdim, op, name):
    x = input
    if x._dtype.is_complex:
        raise RuntimeError(f"{name}(): does not support complex input")
    if x._dtype is D.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if x.numel() == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        dims = tuple(range(x.dim()))
        _no_complex(x, name)
        # the flat index in row-major order: reduce a contiguous copy only when the input is not contiguous
        _, i = _reduce(x, dims, op, x._dtype, _minmax_acc(x))
        return _reshape_fresh(i, (1,) * x.dim() if keepdim else ())
    d = _wrap_dim(dim, x.dim())
    dims = (d,) if x.dim() else ()
    _check_nonempty(x, dims, name, True)
    _, i = _arg_reduce(x, dims, op, name)
    return _finish(x, dims, keepdim, i)


def argmax(input, dim=None, keepdim=False, *, out=None):
    return _finish_out(_argmax_like(input, dim, keepdim, "argmax", "argmax"), out, "argmax")


def argmin(input, dim=None, keepdim=False, *, out=None):
    return _finish_out(_argmax_like(input, dim, keepdim, "argmin", "argmin"), out, "argmin")


def aminmax(input, *, dim=None, keepdim=False, out=None):
    x = input
    dims = _dims(dim, x.dim())
    _no_complex(x, "aminmax")
    if x.numel() == 0:
        if dim is None:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                               "identity.")
        _check_nonempty(x, dims, "aminmax", True)
    lo = _amax_like(x, dim if dim is not None else (), keepdim, "min", "aminmax", "AminmaxBackward0", given=True)
    hi = _amax_like(x, dim if dim is not None else (), keepdim, "max", "aminmax", "AminmaxBackward0", given=True)
    return _RT.aminmax(lo, hi)


def _var_args(dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):          # std(x, False): the legacy `unbiased` positional
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    elif unbiased is not None:
        raise RuntimeError("std/var: cannot specify both 'unbiased' and 'correction'")
    return dim, keepdim, correction


def _var_core(x, dim, keepdim, correction, std, name):
    if x._dtype.category < 2:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if x._dtype.is_complex:
        re, im = V.real(x), V.imag(x)
        v = O.apply("add", _var_core(re, dim, keepdim, correction, False, name),
                    _var_core(im, dim, keepdim, correction, False, name))
        return O.apply("sqrt", v) if std else v
    dims = _dims(dim, x.dim())
    n = _numel_reduced(x, dims)
    acc = _acc_of(x._dtype)
    mean_, _ = _reduce(x, dims, "sum", acc, acc, fin="a / p1", p1=float(n))
    dof = max(n - correction, 0)
    if dof <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the reduction "
                      "factor (input numel divided by output numel).", UserWarning, stacklevel=4)
    fin = "sqrt(a / p1)" if std else "a / p1"
    r, _ = _reduce(x, dims, "sum", x._dtype, acc, mapx="(x - aux) * (x - aux)", fin=fin, aux=mean_, p1=float(dof))
    r = _finish(x, dims, keepdim, r)
    if AG.needs_grad(x):
        shape = x._shape
        mk = _reshape_fresh(mean_, _keep_shape(shape, dims))

        def bw(g):
            gk = _kd(g, shape, dims)
            diff = O.apply("sub", x, mk.to(x._dtype))
            if std:
                return (O.apply("div", O.apply("mul", gk, diff), O.apply("mul", _kd(r, shape, dims), dof)),)
            return (O.apply("mul", gk, O.apply("mul", diff, 2.0 / dof if dof else math.inf)),)
        AG.record("StdBackward0" if std else "VarBackward0", (x,), r, bw, saved=(x,))
    return r


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    dim, keepdim, correction = _var_args(dim, unbiased, keepdim, correction)
    return _finish_out(_var_core(input, dim, keepdim, correction, False, "var"), out, "var")


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    dim, keepdim, correction = _var_args(dim, unbiased, keepdim, correction)
    return _finish_out(_var_core(input, dim, keepdim, correction, True, "std"), out, "std")


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, keepdim, correction = _var_args(dim, unbiased, keepdim, correction)
    return (_var_core(input, dim, keepdim, correction, False, "var_mean"), mean(input, dim, keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, keepdim, correction = _var_args(dim, unbiased, keepdim, correction)
    return (_var_core(input, dim, keepdim, correction, True, "std_mean"), mean(input, dim, keepdim))


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    x = input
    if dtype is not None:
        x = x.to(dtype)
    if x._dtype.category < 2:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{x._dtype._alias}")
    if p == "fro" or p is None:
        p = 2.0
    if isinstance(p, str):
        raise RuntimeError(f"norm(): p='{p}' is not supported by cltensor (only vector norms)")
    p = float(p)
    dims = _dims(dim, x.dim())
    odt = x._dtype.to_real()
    acc = _acc_of(odt)
    cx = x._dtype.is_complex
    A = acc.ctype_compute
    absx = "hypot(x.x, x.y)" if cx else "fabs(x)"
    vec = not cx
    if p == 2.0:
        kw = dict(op="sum", mapx="(x.x * x.x + x.y * x.y)" if cx else "x * x", fin="sqrt(a)")
    elif p == 1.0:
        kw = dict(op="sum", mapx=absx, fin="a")
    elif p == math.inf:
        kw = dict(op="max", mapx=absx, fin="a")
    elif p == -math.inf:
        kw = dict(op="min", mapx=absx, fin="a")
    elif p == 0.0:
        kw = dict(op="sum", mapx="(%s)(%s != 0)" % (A, absx), fin="a")
        vec = False
    else:
        kw = dict(op="sum", mapx="pow(%s, (%s)p0)" % (absx, A), fin="pow(a, (%s)1 / (%s)p0)" % (A, A))
        vec = False
    if x.numel() == 0 and p < 0:
        _check_nonempty(x, dims, "linalg.vector_norm", dim is not None)
    r, _ = _reduce(x, dims, kw["op"], odt, acc, cdt=_acc_of(x._dtype) if cx else acc, mapx=kw["mapx"],
                   fin=kw["fin"], p0=p, vec_ok=vec)
    r = _finish(x, dims, keepdim, r)
    if AG.needs_grad(x):
        shape = x._shape

        def bw(g):
            gk, rk = _kd(g, shape, dims), _kd(r, shape, dims)
            sg = x.sgn() if cx else O.apply("sign", x)
            if p == 0.0:
                return (O.apply("mul", x, 0.0),)
            if p == 1.0:
                return (O.apply("mul", gk, sg),)
            if p == 2.0:
                return (O.where(O.apply("eq", rk, 0), 0.0, O.apply("mul", gk, O.apply("div", x, rk))),)
            ax = O.apply("abs", x)
            if math.isinf(p):
                return (O.apply("mul", _evenly_backward(g, ax, r, dims), sg),)
            t = O.apply("mul", O.apply("mul", sg, O.apply("pow", ax, p - 1)),
                        O.apply("div", gk, O.apply("pow", rk, p - 1)))
            return (O.where(O.apply("eq", rk, 0), 0.0, t),)
        AG.record("LinalgVectorNormBackward0", (x,), r, bw, saved=(x,))
    return _finish_out(r, out, "norm")


def logsumexp(input, dim, keepdim=False, *, out=None):
    x = input
    if x._dtype.category < 2:
        x = x.to(D.get_default_dtype())
    dims = _dims(dim, x.dim())
    if x._dtype.is_complex:       # shifted by the largest real part (as torch), composed of differentiable ops
        m = amax(x.real, dims, keepdim=True)
        m = O.where(O.apply("eq", m.abs(), math.inf), 0.0, m)
        r = (x - m).exp().sum(dims, keepdim=keepdim).log() + (m if keepdim else m.squeeze(dims))
        return _finish_out(r, out, "logsumexp")
    acc = _acc_of(x._dtype)
    m, _ = _reduce(x, dims, "max", acc, acc)
    m = O.where(O.apply("isinf", m), 0.0, m)
    r, _ = _reduce(x, dims, "sum", x._dtype, acc, mapx="exp(x - aux)", fin="log(a) + aux", aux=m)
    r = _finish(x, dims, keepdim, r)
    if AG.needs_grad(x):
        shape = x._shape
        AG.record("LogsumexpBackward0", (x,), r,
                  lambda g: (O.apply("mul", _kd(g, shape, dims),
                                     O.apply("exp", O.apply("sub", x, _kd(r, shape, dims)))),), saved=(x,))
    return _finish_out(r, out, "logsumexp")


def _nonzero_map(x):
    return "(uchar)(x.x != 0 || x.y != 0)" if x._dtype.is_complex else "(uchar)(x != 0)"


def _all_any(input, dim, keepdim, op, out, name):
    x = input
    dims = _dims(dim, x.dim())
    odt = D.uint8 if x._dtype is D.uint8 else D.bool_
    r, _ = _reduce(x, dims, op, odt, D.bool_, cdt=_compute_dtype(x._dtype), mapx=_nonzero_map(x),
                   fin="(uchar)(a != 0)", vec_ok=False)
    return _finish_out(_finish(x, dims, keepdim, r), out, name)


def all_(input, dim=None, keepdim=False, *, out=None):
    return _all_any(input, dim, keepdim, "min", out, "all")


def any_(input, dim=None, keepdim=False, *, out=None):
    return _all_any(input, dim, keepdim, "max", out, "any")


def count_nonzero(input, dim=None):
    x = input
    dims = _dims(dim, x.dim())
    m = _nonzero_map(x).replace("(uchar)", "(long)")
    r, _ = _reduce(x, dims, "sum", D.int64, D.int64, cdt=_compute_dtype(x._dtype), mapx=m, vec_ok=False)
    return _finish(x, dims, False, r)




# ================================================================ public names

def _axis_alias(fn):
    """PyTorch accepts numpy's `axis=` for `dim=` in reductions."""

    @functools.wraps(fn)
    def wrapper(*args, axis=None, **kw):
        if axis is not None:
            if "dim" in kw:
                raise TypeError(f"{fn.__name__}() got both 'dim' and its alias 'axis'")
            kw["dim"] = axis
        return fn(*args, **kw)
    return wrapper


def _t_max(self, dim=None, keepdim=False, *, out=None):
    return max_(self, dim, keepdim, out=out)


def _t_min(self, dim=None, keepdim=False, *, out=None):
    return min_(self, dim, keepdim, out=out)


for _n, _f in (("sum", sum_), ("nansum", nansum), ("mean", mean), ("nanmean", nanmean), ("prod", prod),
               ("amax", amax), ("amin", amin), ("argmax", argmax), ("argmin", argmin), ("std", std), ("var", var),
               ("std_mean", std_mean), ("var_mean", var_mean), ("logsumexp", logsumexp), ("all", all_),
               ("any", any_), ("count_nonzero", count_nonzero), ("norm", norm)):
    register(_n, _axis_alias(_f), method=True)
register("max", _axis_alias(max_), method=_axis_alias(_t_max))
register("min", _axis_alias(min_), method=_axis_alias(_t_min))
register("aminmax", aminmax, method=True)
register("return_types", return_types, kind="util")
del _n, _f
