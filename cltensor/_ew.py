"""Elementwise engine: broadcasting, dimension collapsing, layout choice and launch of templates/elementwise.mako.

`run(expr, out, operands, cdts, rdt)` writes expr(x0, x1, ...) into `out` (any strided tensor). Operands are
tensors already broadcast to out's shape (stride 0 where broadcast) or Python/numpy scalars, which travel as
kernel arguments so that a new scalar value never compiles a new kernel.
"""
import re

import numpy as np

from . import _device as dv
from . import _dispatch
from . import _dtypes as D
from . import _kernels as K
from ._launch import I32, extent
from ._tensor import Tensor

CH = 16           # elements of the innermost dim per work-item in the strided kernel
SUPER = 16        # the tiled kernel walks super-tiles of up to SUPER x SUPER tiles (see elementwise.mako)
CH_UNIT = 256     # ... and per work-item when the output's innermost stride is 1 (unit/zero operand strides)
MIN_RANK = 4      # strided kernels are built for rank max(rank, MIN_RANK) (size-1 dims pad the rest)
_VEXPR = re.compile(r"[\sxs0-9+*/().-]+")    # operands, scalars, + - * / and parentheses only

_scalar_np = {D.bool_: np.uint8, D.uint8: np.uint8, D.int8: np.int8, D.int16: np.int16, D.int32: np.int32,
              D.int64: np.int64, D.float16: np.float32, D.bfloat16: np.float32, D.float32: np.float32,
              D.float64: np.float64,
              D.complex64: np.complex64, D.complex128: np.complex128}


_bcache = {}      # (shape, shape) -> broadcast shape: pairs repeat (bias adds, loss terms, their gradients)


def broadcast_shapes(*shapes):
    if len(shapes) == 2:
        a, b = shapes
        if a == b:
            return tuple(a)
        if type(a) is tuple and type(b) is tuple:
            r = _bcache.get((a, b))
            if r is None:
                r = _broadcast(shapes)
                if len(_bcache) < 4096:
                    _bcache[a, b] = r
            return r
    elif len(shapes) == 1:
        return tuple(shapes[0])
    return _broadcast(shapes)


def _broadcast(shapes):
    nd = max((len(s) for s in shapes), default=0)
    out = [1] * nd
    for s in shapes:
        off = nd - len(s)
        for i, v in enumerate(s):
            o = out[off + i]
            if v != o:
                if o == 1:
                    out[off + i] = v
                elif v != 1:
                    raise RuntimeError(f"The size of tensor a ({o}) must match the size of tensor b ({v}) at "
                                       f"non-singleton dimension {i + off - nd + nd}")
    return tuple(out)


def broadcast_strides(t, shape):
    """Strides of t viewed at the broadcast `shape` (0 where broadcast)."""
    nd = len(shape)
    off = nd - len(t._shape)
    st = [0] * nd
    for i, (s, v) in enumerate(zip(t._shape, t._strides)):
        st[off + i] = v if s != 1 else 0
    return st


def collapse(shape, stride_lists):
    """Drop size-1 dims and merge dims that are contiguous with their inner neighbour in every operand."""
    dims = [i for i, s in enumerate(shape) if s != 1]
    if not dims:
        return [], [[] for _ in stride_lists]
    cs = [shape[dims[0]]]
    cst = [[sl[dims[0]]] for sl in stride_lists]
    for i in dims[1:]:
        s = shape[i]
        if all(c[-1] == sl[i] * s for c, sl in zip(cst, stride_lists)):
            cs[-1] *= s
            for c, sl in zip(cst, stride_lists):
                c[-1] = sl[i]
        else:
            cs.append(s)
            for c, sl in zip(cst, stride_lists):
                c.append(sl[i])
    return cs, cst


_F32_MAX = float(np.finfo(np.float32).max)


def scalar_arg(v, cdt):
    """v as the kernel argument of compute dtype cdt (kernels are typed, so in-range Python numbers go as they are;
    the rest through numpy, which wraps integers and rounds floats to inf as a cast does)."""
    tv = type(v)
    if tv is float:
        if cdt is D.float64 or (cdt is D.float32 and -_F32_MAX <= v <= _F32_MAX):
            return v
    elif tv is int:
        if (cdt is D.int64 and -0x8000000000000000 <= v <= 0x7FFFFFFFFFFFFFFF) or \
                (cdt is D.int32 and -0x80000000 <= v <= 0x7FFFFFFF):
            return v
        if cdt is D.float32 or cdt is D.float64:
            return float(v) if cdt is D.float64 or -16777216 <= v <= 16777216 else np.float32(v)
    npt = _scalar_np[cdt]
    if cdt.category == 1 and cdt is not D.int64:
        return np.asarray(int(v), dtype=np.int64).astype(npt)
    if cdt is D.bool_:
        return npt(bool(v))
    if cdt.is_complex:
        return npt(complex(v))
    return npt(v)


_kcache = {}      # (device runtime, layout key) -> kernel: a cheaper lookup than K.get's sorted-params key
_plans = {}       # (expr, dtypes, shapes, strides) -> _Plan: the per-call work left is filling in buffers/offsets
NT_BYTES = 16 << 20   # outputs of at least this many bytes are written with non-temporal stores on CPU devices
_BIG = 1 << 31    # storages at least this many bytes take the uncached path (it may need 64-bit indices)


def _is_contig(shape, strides):
    acc = 1
    for n, st in zip(reversed(shape), reversed(strides)):
        if n != 1 and st != acc:
            return False
        acc *= n
    return True


class _Plan:
    """A launch ready to go: kernel (with typed scalar arguments), geometry, and the size/stride arguments.
    `kc`: the plan's own clone of the kernel with the size/stride arguments set once (None until the plan's
    second call, False where the plan cannot have one); `last`: the buffers/offsets/scalars set on it now;
    `types`: their numpy types (None for buffers)."""
    __slots__ = ("kern", "gsize", "lsize", "tail", "scal", "kc", "last", "types", "uses")


def run(expr, out, operands, cdts, rdt):
    """Enqueue out = expr(operands) on out's device. Returns out."""
    st = out._st
    rt = st.rt
    nb = st.nbytes
    key = [expr, rdt, out._dtype, out._shape, out._strides, rt]
    for op, cdt in zip(operands, cdts):
        if isinstance(op, Tensor):
            key += (op._dtype, op._shape, op._strides, cdt)
            nb |= op._st.nbytes
        else:
            key.append(cdt)
    key = tuple(key)
    plan = _plans.get(key) if nb < _BIG else None
    if plan is None:
        if rt is None:
            raise dv.no_cpu_device_error(out._device)
        plan = _plan(expr, out, operands, tuple(cdts), rdt)
        if plan is None:          # empty output: nothing to do
            return out
        if nb < _BIG:
            _plans[key] = plan
    sync = st.shared
    args = [st.buf, out._offset]
    for op, sc in zip(operands, plan.scal):
        if sc is None:
            ost = op._st
            args += (ost.buf, op._offset)
            sync = sync or ost.shared
        else:
            args.append(scalar_arg(op, sc))
    with K.LOCK:        # the plan's clone and its record of set arguments are shared by all threads
        kc = plan.kc
        if kc and K.observer is None and _dispatch.mode is None:
            # the plan's own kernel: its size/stride arguments stay set, only changed buffers/offsets/scalars are
            # set again (usually the output buffer alone), then one enqueue (docs/performance.md)
            K.stats["launches"] += 1
            K.set_changed(kc, plan.types, plan.last, args)
            K.enqueue(rt.queue, kc, plan.gsize, plan.lsize, nb <= K.SMALL_BYTES)
        else:
            if kc is None and nb < _BIG and K.observer is None:      # (an observer: stand-ins, profiling)
                _bind_plan(plan, args)
            args += plan.tail
            K.launch(rt, plan.kern, plan.gsize, plan.lsize, args, nb <= K.SMALL_BYTES)
    if sync:
        rt.queue.finish()
    return out


def _bind_plan(plan, head):
    """Give a plan used a second time its own kernel clone with the size/stride arguments set."""
    u = plan.uses = (plan.uses or 0) + 1
    if u < 2:
        return
    k = plan.kern
    types = k.__dict__.get("arg_types")
    if types is None or k in K._untyped or len(types) != len(head) + len(plan.tail):
        plan.kc = False
        return
    kc = k.clone()
    n = len(head)
    for j, v in enumerate(plan.tail):
        K.set_scalar(kc, n + j, types[n + j], v)
    plan.types = types[:n]
    plan.last = [K.UNSET] * n
    plan.kc = kc


def _tile_size(out, ins):
    """Tile edge of the tiled kernel: one 64-byte cache line of the widest dtype involved."""
    w = max([out.itemsize] + [d.itemsize for d in ins])
    return 16 if w <= 4 else 8


def _tile_layout(cshape, cst):
    """Choose the tiled layout for collapsed dims (rank >= 2; cst[0] is the output's strides).

    The output's fastest dim goes last. If some operand's fastest dim is another one (a transposed or permuted
    operand), that dim goes second to last and the kernel walks TB x TB tiles of the two: returns the permuted
    (shape, strides, kinds) with kinds[j] 'T' for operands read into a private tile along dim -2 and 't' for
    operands read in the output's order. Returns kinds None when no operand needs it."""
    rank = len(cshape)
    os_ = cst[0]
    fo = min(range(rank), key=lambda d: (abs(os_[d]) if os_[d] else 1 << 62, -d))
    second = None
    for c in cst[1:]:
        last = abs(c[fo])
        if last == 0:
            continue
        fj = min((d for d in range(rank) if c[d] != 0), key=lambda d: (abs(c[d]), -d))
        if fj != fo and abs(c[fj]) < last:
            second = fj
            break
    if second is None:
        return cshape, cst, None
    order = [d for d in range(rank) if d != fo and d != second] + [second, fo]
    cshape = [cshape[d] for d in order]
    cst = [[c[d] for d in order] for c in cst]
    kinds = [None]
    for c in cst[1:]:
        kinds.append("T" if c[-1] != 0 and c[-2] != 0 and abs(c[-2]) < abs(c[-1]) else "t")
    return cshape, cst, kinds


# One-argument OpenCL builtins whose vector forms PoCL runs 7-27x faster than a loop of scalar calls (its
# vectoriser does this by itself only for exp): the flat kernel calls them on float8/double8 (see `vfn`).
# Not sin/cos/tan: PoCL 3.1's vector forms give wrong results in every lane once one lane is huge (|x| ~1e5+:
# sin(1e-30) = 0.0099), a quirk tests/test_elementwise.py guards; float sin/cos/tan use our own 8-lane functions
# on CPU devices instead (_TRIG).
_VFN = re.compile(r"([a-z0-9]+)\(x0\)")
_TRIG = frozenset(("sin", "cos", "tan"))
_VEC_BUILTINS = frozenset("log log2 log10 log1p expm1 exp2 asin acos atan sinh cosh asinh acosh atanh erf erfc "
                          "cbrt".split())


def _vexpr(expr, odt, ins, cdts, rdt):
    """Whether the expression may run on whole vectors: plain arithmetic (a fused chain is a tuple: no) on one
    non-half, non-bool, non-complex dtype."""
    return bool(isinstance(expr, str) and _VEXPR.fullmatch(expr) and odt not in (D.float16, D.bfloat16, D.bool_)
                and not odt.is_complex and all(d is odt for d in ins + cdts + (rdt,)))


def _plan(expr, out, operands, cdts, rdt):
    shape = out._shape
    n = 1
    for s in shape:
        n *= s
    if n == 0:
        return None
    rt = out._st.rt
    tens = [op for op in operands if isinstance(op, Tensor)]
    big = n > I32 or extent(out) > I32
    for t in tens:
        big = big or extent(t) > I32
    idx, itype = ("long", np.int64) if big else ("int", np.int32)
    cs = out._strides
    flat = True
    tiled = ounit = False
    if all(t._shape == shape and t._strides == cs for t in tens) and _is_contig(shape, cs):
        kinds = tuple("t" if isinstance(op, Tensor) else "s" for op in operands)   # fast path: all contiguous
    else:
        cshape, cst = collapse(shape, [list(cs)] + [broadcast_strides(t, shape) for t in tens])
        rank = len(cshape)
        if rank == 0:                  # one element: the contiguous kernel reads index 0 of every operand
            kinds = tuple("t" if isinstance(op, Tensor) else "s" for op in operands)
        elif rank == 1 and cst[0][0] == 1 and all(c[0] in (0, 1) for c in cst[1:]):
            kl, ti = [], 0
            for op in operands:
                if isinstance(op, Tensor):
                    ti += 1
                    kl.append("b" if cst[ti][0] == 0 else "t")
                else:
                    kl.append("s")
            kinds = tuple(kl)
        else:
            flat = False
            kinds = tuple("t" if isinstance(op, Tensor) else "s" for op in operands)
            if rank >= 2:
                cshape, cst, tk = _tile_layout(cshape, cst)
                if tk is not None:
                    tiled = True
                    kl, ti = [], 0
                    for op in operands:
                        if isinstance(op, Tensor):
                            ti += 1
                            kl.append(tk[ti])
                        else:
                            kl.append("s")
                    kinds = tuple(kl)
            # unit output stride and every operand's innermost stride 0 or 1 (others keep the general kernel:
            # fewer variants to build)
            ounit = cst[0][-1] == 1 and not tiled and all(c[-1] in (0, 1) for c in cst[1:])
            if ounit:                  # unit/zero innermost strides as compile-time constants (vectorises)
                kl, ti = [], 0
                for op in operands:
                    if isinstance(op, Tensor):
                        ti += 1
                        st = cst[ti][-1]
                        kl.append("u" if st == 1 else "z" if st == 0 else "t")
                    else:
                        kl.append("s")
                kinds = tuple(kl)
            if rank < MIN_RANK:        # one strided kernel serves ranks 1..MIN_RANK: fewer builds, same speed
                pad = MIN_RANK - rank
                cshape = [1] * pad + cshape
                cst = [[0] * pad + c for c in cst]
                rank = MIN_RANK
    ins = tuple(op._dtype if isinstance(op, Tensor) else cdt for op, cdt in zip(operands, cdts))
    types = [None, itype]
    for op, cdt in zip(operands, cdts):
        types += [None, itype] if isinstance(op, Tensor) else [_scalar_np[cdt]]
    ls = rt.local_size
    plan = _Plan()
    plan.kc = plan.uses = None
    nt = rt.info.tuning.nontemporal_stores and n * out.itemsize >= NT_BYTES    # (vector paths only)
    if flat:
        key = (rt, expr, out._dtype, ins, kinds, cdts, rdt, idx, nt)
        kern = _kcache.get(key)
        if kern is None:
            odt = out._dtype
            m = _VFN.fullmatch(expr) if isinstance(expr, str) and kinds == ("t",) else None
            fn = m.group(1) if m and ins[0] is odt and cdts[0] is odt and rdt is odt else None
            if fn in _VEC_BUILTINS and odt in (D.float16, D.float32, D.float64):
                vec = {"vfn": fn}
            elif fn in _TRIG and odt in (D.float16, D.float32) and rt.info.tuning.own_trig8:
                vec = {"vfn": "ct_%s8" % fn}   # our own 8-lane sin/cos/tan (templates/elementwise.mako)
            elif _vexpr(expr, odt, ins, cdts, rdt):
                vec = {"vexpr": True}
            else:
                vec = {}
            if vec and nt:
                vec["nt"] = True
            kern = _kcache[key] = K.get(rt, "elementwise", "flat", out=odt, ins=ins, kinds=kinds, cdts=cdts,
                                        rdt=rdt, expr=expr, idx=idx, **vec)
        plan.tail = (n,)
        plan.gsize = (K.round_up((n + 7) // 8, ls),)
    elif tiled:
        tb = _tile_size(out._dtype, ins)
        vec = not (out._dtype.is_complex or any(d.is_complex for d in ins)) and \
            not (out._dtype is D.bfloat16 or D.bfloat16 in ins)   # bfloat16: the scalar path (T.load / T.store)
        # the vector path may evaluate the expression on whole vectors: plain arithmetic, one non-half dtype
        vexpr = vec and _vexpr(expr, out._dtype, ins, cdts, rdt)
        nt = {"nt": True} if vexpr and nt else {}
        key = (rt, expr, out._dtype, ins, kinds, cdts, rdt, idx, rank, tb, vexpr, bool(nt))
        kern = _kcache.get(key)
        if kern is None:
            kern = _kcache[key] = K.get(rt, "elementwise", "tiled", out=out._dtype, ins=ins, kinds=kinds,
                                        cdts=cdts, rdt=rdt, expr=expr, idx=idx, rank=rank, tb=tb, vec=vec,
                                        vexpr=vexpr, **nt)
        ntr = (cshape[-2] + tb - 1) // tb
        ntc = (cshape[-1] + tb - 1) // tb
        s_r, s_c = min(SUPER, ntr), min(SUPER, ntc)
        nsr, nsc = (ntr + s_r - 1) // s_r, (ntc + s_c - 1) // s_c
        nwork = (n // (cshape[-1] * cshape[-2])) * nsr * nsc * s_r * s_c
        tail = [nwork, ntr, ntc, nsr, nsc, s_r, s_c]
        for d in range(rank):
            tail.append(cshape[d])
            for c in cst:
                tail.append(c[d])
        plan.tail = tuple(tail)
        plan.gsize = (K.round_up(nwork, ls),)
    else:
        key = (rt, expr, out._dtype, ins, kinds, cdts, rdt, idx, rank, ounit)
        kern = _kcache.get(key)
        if kern is None:
            kern = _kcache[key] = K.get(rt, "elementwise", "strided", out=out._dtype, ins=ins, kinds=kinds,
                                        cdts=cdts, rdt=rdt, expr=expr, idx=idx, rank=rank, ch=CH_UNIT if ounit else CH, ounit=ounit)
        inner = cshape[-1]
        ch = CH_UNIT if ounit else CH
        nch = (inner + ch - 1) // ch
        nwork = (n // inner) * nch
        tail = [nwork, nch]
        for d in range(rank):
            tail.append(cshape[d])
            for c in cst:
                tail.append(c[d])
        plan.tail = tuple(tail)
        plan.gsize = (K.round_up(nwork, ls),)
    types += [itype] * len(plan.tail)
    K.set_arg_types(kern, types)
    plan.kern = kern
    plan.lsize = (ls,)
    plan.scal = tuple(None if isinstance(op, Tensor) else cdt for op, cdt in zip(operands, cdts))
    return plan
