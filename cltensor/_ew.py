"""Elementwise engine: broadcasting, dimension collapsing, layout choice and launch of templates/elementwise.mako.

`run(expr, out, operands, cdts, rdt)` writes expr(x0, x1, ...) into `out` (any strided tensor). Operands are
tensors already broadcast to out's shape (stride 0 where broadcast) or Python/numpy scalars, which travel as
kernel arguments so that a new scalar value never compiles a new kernel.
"""
import numpy as np

from . import _dtypes as D
from . import _kernels as K
from ._tensor import Tensor

CH = 16           # elements of the innermost dim per work-item in the strided kernel
_I32 = (1 << 31) - 1

_scalar_np = {D.bool_: np.uint8, D.uint8: np.uint8, D.int8: np.int8, D.int16: np.int16, D.int32: np.int32,
              D.int64: np.int64, D.float16: np.float32, D.float32: np.float32, D.float64: np.float64,
              D.complex64: np.complex64, D.complex128: np.complex128}


def broadcast_shapes(*shapes):
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


def _extent(t):
    return t._st.nbytes // t._dtype.itemsize


def scalar_arg(v, cdt):
    npt = _scalar_np[cdt]
    if cdt.category == 1 and cdt is not D.int64:
        return np.asarray(int(v), dtype=np.int64).astype(npt)
    if cdt is D.bool_:
        return npt(bool(v))
    if cdt.is_complex:
        return npt(complex(v))
    return npt(v)


def run(expr, out, operands, cdts, rdt):
    """Enqueue out = expr(operands) on out's device. Returns out."""
    n = out.numel()
    if n == 0:
        return out
    rt = out._st.rt
    if rt is None:
        from ._device import no_cpu_device_error
        raise no_cpu_device_error(out._device)
    shape = out._shape
    tens = [op for op in operands if isinstance(op, Tensor)]
    strides = [list(out._strides)] + [broadcast_strides(t, shape) for t in tens]
    cshape, cst = collapse(shape, strides)
    idx = "int" if max([n, _extent(out)] + [_extent(t) for t in tens]) <= _I32 else "long"
    itype = np.int32 if idx == "int" else np.int64
    ls = rt.local_size
    rank = len(cshape)
    flat = rank == 0 or (rank == 1 and cst[0][0] == 1 and all(c[0] in (0, 1) for c in cst[1:]))
    ins, kinds, args = [], [], [out._st.buf, itype(out._offset)]
    ti = 0
    sync = out._st.shared
    for op, cdt in zip(operands, cdts):
        if isinstance(op, Tensor):
            ti += 1
            ins.append(op._dtype)
            if flat:
                kinds.append("b" if rank == 0 or cst[ti][0] == 0 else "t")
            else:
                kinds.append("t")
            args.append(op._st.buf)
            args.append(itype(op._offset))
            sync = sync or op._st.shared
        else:
            ins.append(cdt)
            kinds.append("s")
            args.append(scalar_arg(op, cdt))
    params = dict(out=out._dtype, ins=tuple(ins), kinds=tuple(kinds), cdts=tuple(cdts), rdt=rdt, expr=expr, idx=idx)
    if flat:
        if rank == 0:
            kinds = ["b" if k == "t" else k for k in kinds]
        kern = K.get(rt, "elementwise", "flat", **params)
        args.append(itype(n))
        gsize = K.round_up((n + 7) // 8, ls)
    else:
        params["rank"] = rank
        params["ch"] = CH
        kern = K.get(rt, "elementwise", "strided", **params)
        inner = cshape[-1]
        nch = (inner + CH - 1) // CH
        nwork = (n // inner) * nch
        args.append(itype(nwork))
        args.append(itype(nch))
        for d in range(rank):
            args.append(itype(cshape[d]))
            args.append(itype(cst[0][d]))
            for j in range(1, len(cst)):
                args.append(itype(cst[j][d]))
        gsize = K.round_up(nwork, ls)
    K.launch(rt, kern, (gsize,), (ls,), args)
    if sync:
        rt.queue.finish()
    return out
