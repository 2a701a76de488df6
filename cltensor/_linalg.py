"""Matrix products: matmul/@ (PyTorch's 1-D, 2-D, batched and broadcast rules), mm bmm mv dot outer addmm
baddbmm addmv einsum tensordot, on top of the strided GEMM kernel in _gemm.py (operands are read in place with
their strides; transposed and sliced operands are not copied)."""
from . import _dtypes as D
from . import _dispatch
from . import _ew
from . import _gemm
from . import _device as dv
from . import _ops
from . import _views
from ._registry import register, register_method
from ._tensor import Tensor, empty_tensor, prod
from .autograd import _tape as AG

def _check_pair(a, b, name):
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"{name}(): argument 'input' and 'other' must be Tensors")
    if a._device != b._device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{a._device} and {b._device}!")
    if a._dtype is not b._dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a._dtype._alias} != "
                           f"{b._dtype._alias}")
    if a._dtype is D.bool_:
        raise NotImplementedError(f'"{_BOOL_KERNEL.get(name) or _matmul_kernel(a, b)}" not implemented for '
                                  f'\'{a._dtype._alias}\'')


# the kernel torch's refusal of bool names, per function (matmul: per its path, see _matmul_kernel)
_BOOL_KERNEL = {"mm": "addmm_impl_cpu_", "addmm": "addmm_impl_cpu_", "bmm": "bmm", "baddbmm": "baddbmm",
                "mv": "addmv_impl_cpu", "dot": "dot"}


def _matmul_kernel(a, b):
    da, db = a.dim(), b.dim()
    if da == 1 and db == 1:
        return "dot"
    if db == 1:
        return "addmv_impl_cpu"
    if db == 2:
        return "addmm_impl_cpu_"
    return "bmm"


def _gemm_nd(a, b, c, alpha=1, beta=0, cin=None, epi=None):
    """c[..., n, p] = epi(alpha * a[..., n, m] @ b[..., m, p] + beta * cin), all >= 2-D with batch dims broadcast to
    c's; cin (c itself when None) is broadcast to c's shape and read in place; epi: see _gemm.gemm."""
    rt = c._st.rt
    if rt is None:
        raise dv.no_cpu_device_error(c._device)
    if c._dtype.is_complex:
        return _complex_gemm(a, b, c, alpha, beta, cin)
    n, m = a._shape[-2], a._shape[-1]
    p = b._shape[-1]
    bshape = c._shape[:-2]
    if c.numel() == 0:
        return c
    nb = len(bshape)
    sa = _ew.broadcast_strides(_batch_view(a), bshape) if nb else []
    sb = _ew.broadcast_strides(_batch_view(b), bshape) if nb else []
    sc = list(c._strides[:-2])
    d, sd = c, sc                     # the beta term's operand: c, or cin at c's shape (stride 0 where broadcast)
    if cin is not None:
        d, sd = cin, _ew.broadcast_strides(cin, c._shape)
        ds, sd = sd[-2:], sd[:-2]
    # fold a's batch into rows when b is shared across the batch and a's rows continue across batches
    if nb and all(s == 0 for s in sb) and _rows_fold(n, a._strides[-2], bshape, sa) and \
            _rows_fold(n, c._strides[-2], bshape, sc) and (cin is None or _rows_fold(n, ds[0], bshape, sd)):
        rows = prod(bshape) * n
        _gemm.gemm(rt, c._dtype, 1, rows, p, m,
                   (a._st.buf, a._offset, 0, a._strides[-2], a._strides[-1]),
                   (b._st.buf, b._offset, 0, b._strides[-2], b._strides[-1]),
                   (c._st.buf, c._offset, 0, c._strides[-2], c._strides[-1]), alpha, beta,
                   cin=None if cin is None else (d._st.buf, d._offset, 0, ds[0], ds[1]), epi=epi)
        return c
    cshape, (ca, cb, cc, cd) = _ew.collapse(list(bshape), [sa, sb, sc, sd])   # size-1 dims dropped, runs merged
    if not cshape:
        cshape, ca, cb, cc, cd = [1], [0], [0], [0], [0]
    outer = cshape[:-1]
    import itertools
    for idx in itertools.product(*[range(s) for s in outer]):
        oa = a._offset + sum(i * s for i, s in zip(idx, ca))
        ob = b._offset + sum(i * s for i, s in zip(idx, cb))
        oc = c._offset + sum(i * s for i, s in zip(idx, cc))
        od = d._offset + sum(i * s for i, s in zip(idx, cd))
        _gemm.gemm(rt, c._dtype, cshape[-1], n, p, m,
                   (a._st.buf, oa, ca[-1], a._strides[-2], a._strides[-1]),
                   (b._st.buf, ob, cb[-1], b._strides[-2], b._strides[-1]),
                   (c._st.buf, oc, cc[-1], c._strides[-2], c._strides[-1]), alpha, beta,
                   cin=None if cin is None else (d._st.buf, od, cd[-1], ds[0], ds[1]), epi=epi)
    if c._st.shared or a._st.shared or b._st.shared or d._st.shared:
        rt.queue.finish()
    return c


def _complex_gemm(a, b, c, alpha, beta, cin):
    """_gemm_nd for complex dtypes: four real GEMMs on the real/imaginary views of a and b (strided views, no
    copies): re = ar @ br - ai @ bi, im = ar @ bi + ai @ br, each accumulated in a real GEMM's beta term."""
    rd = c._dtype.to_real()
    ar, ai, br, bi = _views.real(a), _views.imag(a), _views.real(b), _views.imag(b)
    with AG.no_grad():
        re, im = empty_tensor(c._shape, rd, c._device), empty_tensor(c._shape, rd, c._device)
        _gemm_nd(ar, br, re)
        _gemm_nd(ai, bi, re, -1, 1)
        _gemm_nd(ar, bi, im)
        _gemm_nd(ai, br, im, 1, 1)
        if alpha == 1 and beta == 0:
            _ops.copy_into(_views.real(c), re)
            _ops.copy_into(_views.imag(c), im)
            return c
        p = empty_tensor(c._shape, c._dtype, c._device)
        _ops.copy_into(_views.real(p), re)
        _ops.copy_into(_views.imag(p), im)
        r = p * alpha if beta == 0 else p * alpha + (c if cin is None else cin) * beta
        _ops.copy_into(c, r)
    return c


class _BV:
    """Shape/strides of the batch part of a tensor (for broadcast_strides)."""
    __slots__ = ("_shape", "_strides")


def _batch_view(t):
    v = _BV()
    v._shape, v._strides = t._shape[:-2], t._strides[:-2]
    return v


def _rows_fold(n, rs, bshape, bstrides):
    """True when batch dims (bstrides) and n rows of stride rs form one evenly strided run of rows."""
    expect = rs * n
    for s, st in zip(reversed(bshape), reversed(bstrides)):
        if s != 1 and st != expect:
            return False
        expect *= s
    return True


def _mm_core(a, b, name):
    """a: (..., n, m), b: (..., m, p), both >= 2-D. Records autograd."""
    if a._shape[-1] != b._shape[-2]:
        if a.dim() == 2 and b.dim() == 2:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a._shape[0]}x{a._shape[1]} and "
                               f"{b._shape[0]}x{b._shape[1]})")
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{list(b._shape[:-2])}, {a._shape[-1]}] but got: {list(b._shape)}.")
    bshape = _ew.broadcast_shapes(a._shape[:-2], b._shape[:-2])
    out = empty_tensor(bshape + (a._shape[-2], b._shape[-1]), a._dtype, a._device)
    if a._shape[-1] == 0:
        _ew.run("x0", out, [0], (a._dtype,), a._dtype)
    else:
        _gemm_nd(a, b, out)
    if AG.needs_grad(a, b):
        AG.record(name, (a, b), out, lambda g: (_mm_core_nograd(g, _mH(b)) if a.requires_grad else None,
                                                 _mm_core_nograd(_mH(a), g) if b.requires_grad else None),
                  saved=(a, b))
    return out


def _mH(t):
    """The conjugate transpose of the last two dims (the transpose for real dtypes): matmul's gradients."""
    return t.mT.conj() if t._dtype.is_complex else t.mT


def _mm_core_nograd(a, b):
    return _mm_core(a, b, "MmBackward0")


@register("matmul", method=True)
def matmul(input, other, *, out=None):
    a, b = input, other
    _check_pair(a, b, "matmul")
    da, db = a.dim(), b.dim()
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D")
    if da == 1 and db == 1:
        r = dot(a, b)
    elif da == 2 and db == 2:
        r = _traced(None, a, b, 0, 1, out)
        if r is not None:
            return r
        r = _mm_core(a, b, "MmBackward0")
    elif da == 2 and db == 1:
        r = mv(a, b)
    elif da == 1:
        r = _mm_core(a.unsqueeze(0), b, "MmBackward0" if db == 2 else "BmmBackward0").squeeze(-2)
    elif db == 1:
        r = _mm_core(a, b.unsqueeze(-1), "BmmBackward0").squeeze(-1)
    else:
        r = _mm_core(a, b, "BmmBackward0")
    return _out(r, out)


def _out(r, out):
    if out is None:
        return r
    if out._shape != r._shape:
        _ops._resize_(out, r._shape)
    return _ops.copy_into(out, r)


@register("mm", method=True)
def mm(input, mat2, *, out=None):
    _check_pair(input, mat2, "mm")
    if input.dim() != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.dim() != 2:
        raise RuntimeError("mat2 must be a matrix")
    r = _traced(None, input, mat2, 0, 1, out)
    return r if r is not None else _out(_mm_core(input, mat2, "MmBackward0"), out)


@register("bmm", method=True)
def bmm(input, mat2, *, out=None):
    _check_pair(input, mat2, "bmm")
    if input.dim() != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2.dim() != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if input._shape[0] != mat2._shape[0]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{input._shape[0]}, "
                           f"{input._shape[2]}] but got: [{mat2._shape[0]}, {mat2._shape[1]}].")
    return _out(_mm_core(input, mat2, "BmmBackward0"), out)


@register("mv", method=True)
def mv(input, vec, *, out=None):
    _check_pair(input, vec, "mv")
    if input.dim() != 2 or vec.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.dim()}, {vec.dim()}, {vec.dim()}")
    if input._shape[1] != vec._shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input._shape[0]}), mat ({input._shape[0]}x{input._shape[1]}),"
                           f" vec ({vec._shape[0]})")
    return _out(_mm_core(input, vec.unsqueeze(-1), "MvBackward0").squeeze(-1), out)


@register("dot", method=True)
def dot(input, other, *, out=None):
    _check_pair(input, other, "dot")
    if input.dim() != 1 or other.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.dim()}D and {other.dim()}D tensors")
    if input._shape[0] != other._shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input._shape[0]}] and src "
                           f"[{other._shape[0]}] to have the same number of elements, but got {input._shape[0]} and "
                           f"{other._shape[0]} elements respectively")
    r = _mm_core(input.unsqueeze(0), other.unsqueeze(-1), "DotBackward0")
    return _out(r.reshape(()), out)


@register("vdot", method=True)
def vdot(input, other):
    return dot(input.conj() if input.is_complex() else input, other)


@register("inner", method=True)
def inner(input, other):
    if input.dim() == 0 or other.dim() == 0:
        return input * other
    if input._dtype is D.bool_ and other._dtype is D.bool_:
        _check_pair(input, other, "dot" if input.dim() == other.dim() == 1 else "mm")
    return tensordot(input, other, dims=([-1], [-1]))


@register("outer", method=True)
def outer(input, vec2, *, out=None):
    if input.dim() != 1 or vec2.dim() != 1:
        raise RuntimeError("outer: expected 1-D tensors")
    return _out(input.unsqueeze(1) * vec2.unsqueeze(0), out)


register("ger", outer, method=True, alias_of="outer")


@register("addmm", method=True)
def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    _check_pair(mat1, mat2, "addmm")
    if mat1.dim() != 2 or mat2.dim() != 2:
        raise RuntimeError("mat1 and mat2 must be matrices")
    r = _traced(input, mat1, mat2, beta, alpha, out)
    return r if r is not None else _out(_add_product(input, mat1, mat2, beta, alpha, "AddmmBackward0"), out)


@register("baddbmm", method=True)
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    _check_pair(batch1, batch2, "baddbmm")
    if batch1.dim() != 3 or batch2.dim() != 3:
        raise RuntimeError("batch1 and batch2 must be 3D tensors")
    return _out(_add_product(input, batch1, batch2, beta, alpha, "BaddbmmBackward0"), out)


@register("addbmm", method=True)
def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    _check_pair(batch1, batch2, "addmm")
    if batch1.dim() != 3 or batch2.dim() != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor" if batch1.dim() != 3 else "batch2 must be a 3D tensor")
    prod = bmm(batch1, batch2) * alpha if alpha != 1 else bmm(batch1, batch2)
    r = input * beta + prod.sum(0) if beta != 0 else prod.sum(0)
    return _out(r, out)


@register("addmv", method=True)
def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    _check_pair(mat, vec, "mv")
    if mat.dim() != 2 or vec.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.dim()}, {mat.dim()}, {vec.dim()}")
    return _out(_add_product(input, mat, vec.unsqueeze(-1), beta, alpha, "AddmvBackward0", squeeze=True), out)


def _traced(inp, a, b, beta, alpha, out=None):
    """While cltensor.compile traces: the 2-D product beta * inp + alpha * a @ b as a graph node, computed later
    (its elementwise consumer may become the GEMM's epilogue); None: compute it now (eagerly)."""
    if _dispatch.mode is not None and out is None:
        return _dispatch.mode.mm(inp, a, b, beta, alpha)
    return None


def _add_product(input, a, b, beta, alpha, name, squeeze=False, epi=None):
    if a._shape[-1] != b._shape[-2]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a._shape[-2]}x{a._shape[-1]} and "
                           f"{b._shape[-2]}x{b._shape[-1]})")
    bshape = _ew.broadcast_shapes(a._shape[:-2], b._shape[:-2])
    shape = bshape + (a._shape[-2], b._shape[-1])
    inp = input.unsqueeze(-1) if squeeze and isinstance(input, Tensor) and input.dim() >= 1 else input
    out = empty_tensor(shape, a._dtype, a._device)
    cin = None
    if beta == 0:
        if not a._shape[-1]:          # K == 0: nothing to multiply (a GEMM with beta 0 never reads C)
            _ew.run("x0", out, [0], (a._dtype,), a._dtype)
    else:
        src = inp if isinstance(inp, Tensor) else inp
        if isinstance(src, Tensor) and _ew.broadcast_shapes(src._shape, shape) != shape:
            raise RuntimeError(f"The expanded size of the input ({list(src._shape)}) must match the product shape "
                               f"{list(shape)}")
        if isinstance(src, Tensor) and src._dtype is out._dtype and src._device == out._device and a._shape[-1]:
            cin = src                 # the GEMM reads it in place (broadcast) for its beta term: no copy
        else:
            _ops.copy_into(out, src)
    if a._shape[-1]:
        _gemm_nd(a, b, out, alpha, beta, cin, epi)
    elif beta != 1 and beta != 0:
        _ew.run("x0 * x1", out, [out, beta], (a._dtype, a._dtype), a._dtype)
    if AG.needs_grad(inp, a, b):
        def bw(g):
            cb = beta.conjugate() if type(beta) is complex else beta
            gi = (g * cb if cb != 1 else g) if isinstance(inp, Tensor) and inp.requires_grad else None
            ca = alpha.conjugate() if type(alpha) is complex else alpha
            ga = _mm_core(g, _mH(b), "MmBackward0") * ca if a.requires_grad else None
            gb = _mm_core(_mH(a), g, "MmBackward0") * ca if b.requires_grad else None
            return gi, ga, gb
        AG.record(name, (inp, a, b), out, bw, saved=(a, b))
    return out.squeeze(-1) if squeeze else out


@register("tensordot")
def tensordot(a, b, dims=2):
    if isinstance(dims, int):
        da = list(range(a.dim() - dims, a.dim()))
        db = list(range(dims))
    else:
        da, db = [list(d) if isinstance(d, (list, tuple)) else [d] for d in dims]
    da = [d % a.dim() for d in da]
    db = [d % b.dim() for d in db]
    for x, y in zip(da, db):
        if a._shape[x] != b._shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a._shape[x]} in dim {x} "
                               f"and second has size {b._shape[y]} in dim {y}")
    fa = [d for d in range(a.dim()) if d not in da]
    fb = [d for d in range(b.dim()) if d not in db]
    k = prod(a._shape[d] for d in da)
    A = a.permute(fa + da).reshape(prod(a._shape[d] for d in fa), k)
    B = b.permute(db + fb).reshape(k, prod(b._shape[d] for d in fb))
    return mm(A, B).reshape([a._shape[d] for d in fa] + [b._shape[d] for d in fb])


@register("einsum")
def einsum(equation, *operands):
    """einsum for one or more operands (pairwise contraction, left to right) with explicit or implicit output."""
    if not isinstance(equation, str):          # sublist form: einsum(op0, [0, 1], op1, [1, 2], [0, 2])
        equation, operands = _einsum_sublists((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    eq = equation.replace(" ", "")
    if "..." in eq:
        eq, operands = _einsum_ellipsis(eq, operands)
    if "->" in eq:
        lhs, rhs = eq.split("->")
    else:
        lhs = eq
        counts = {}
        for c in lhs.replace(",", ""):
            counts[c] = counts.get(c, 0) + 1
        rhs = "".join(sorted(c for c, n in counts.items() if n == 1))
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation"
                           if len(operands) > len(terms) else
                           "einsum(): fewer operands were provided than specified in the equation")
    for t, op in zip(terms, operands):
        if len(t) != op.dim():
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(t)}) does not match the "
                               f"number of dimensions ({op.dim()}) for operand 0 and no ellipsis was given")
    cur, cur_t = _einsum_single(operands[0], terms[0], _keep_for(terms, 0, rhs))
    for i in range(1, len(operands)):
        keep = _keep_for(terms, i, rhs, extra=cur_t)
        nxt, nxt_t = _einsum_single(operands[i], terms[i], keep)
        later = set("".join(terms[i + 1:])) | set(rhs)
        cur, cur_t = _einsum_pair(cur, cur_t, nxt, nxt_t, later)
    # final: sum leftovers and permute to rhs
    extra = [c for c in cur_t if c not in rhs]
    if extra:
        cur = cur.sum(dim=tuple(cur_t.index(c) for c in extra))
        cur_t = "".join(c for c in cur_t if c not in extra)
    return cur.permute([cur_t.index(c) for c in rhs]) if cur_t != rhs else cur


def _sub_letter(k):
    if not isinstance(k, int) or not 0 <= k < 52:
        raise RuntimeError(f"einsum(): subscript in subscript list is not within the valid range [0, 52)")
    return chr(ord("A") + k) if k < 26 else chr(ord("a") + k - 26)


def _einsum_sublists(args):
    """(equation, operands) of the sublist form: operands alternate with lists of ints (or Ellipsis)."""
    ops, terms = [], []
    args = list(args)
    out = args.pop() if len(args) % 2 == 1 else None
    for i in range(0, len(args), 2):
        ops.append(args[i])
        terms.append("".join("..." if k is Ellipsis else _sub_letter(k) for k in args[i + 1]))
    eq = ",".join(terms)
    if out is not None:
        eq += "->" + "".join("..." if k is Ellipsis else _sub_letter(k) for k in out)
    return eq, tuple(ops)


def _einsum_ellipsis(eq, operands):
    """Replace '...' by letters of their own: each operand's ellipsis dims take the last of the broadcast
    ellipsis letters (right-aligned, size-1 dims expanded); an implicit output starts with the ellipsis dims."""
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation"
                           if len(operands) > len(terms) else
                           "einsum(): fewer operands were provided than specified in the equation")
    ranks = []
    for t, op in zip(terms, operands):
        n = op.dim() - (len(t) - 3) if "..." in t else 0
        if n < 0:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(t) - 3}) is more than "
                               f"the number of dimensions ({op.dim()}) for operand {len(ranks)}")
        ranks.append(n)
    E = max(ranks)
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in eq][:E]
    if len(free) < E:
        raise RuntimeError("einsum(): too many subscripts for the ellipsis dimensions")
    bshape = _ew.broadcast_shapes(*[tuple(op._shape[t.index("..."):t.index("...") + n]) if "..." in t else ()
                                    for t, op, n in zip(terms, operands, ranks)])
    new_terms, new_ops = [], []
    for t, op, n in zip(terms, operands, ranks):
        if "..." in t:
            i = t.index("...")
            letters = "".join(free[E - n:])
            shape = list(op._shape)
            for j in range(n):
                if shape[i + j] == 1 and bshape[E - n + j] != 1:
                    shape[i + j] = bshape[E - n + j]
            if tuple(shape) != tuple(op._shape):
                op = op.expand(*shape)
            t = t[:i] + letters + t[i + 3:]
        new_terms.append(t)
        new_ops.append(op)
    ell = "".join(free)
    if arrow:
        rhs = rhs.replace("...", ell)
    else:
        counts = {}
        for c in "".join(new_terms):
            counts[c] = counts.get(c, 0) + 1
        rhs = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    return ",".join(new_terms) + "->" + rhs, tuple(new_ops)


def _keep_for(terms, i, rhs, extra=""):
    others = set("".join(t for j, t in enumerate(terms) if j != i)) | set(rhs) | set(extra)
    return others


def _einsum_single(t, sub, keep):
    """Take diagonals of repeated letters and sum letters used nowhere else."""
    while len(set(sub)) != len(sub):
        for c in sub:
            if sub.count(c) > 1:
                i = sub.index(c)
                j = sub.index(c, i + 1)
                t = t.diagonal(0, i, j)
                sub = "".join(ch for k, ch in enumerate(sub) if k not in (i, j)) + c
                break
    drop = [i for i, c in enumerate(sub) if c not in keep]
    if drop:
        t = t.sum(dim=tuple(drop))
        sub = "".join(c for i, c in enumerate(sub) if i not in drop)
    return t, sub


def _einsum_pair(a, sa, b, sb, later):
    batch = [c for c in sa if c in sb and c in later]
    contract = [c for c in sa if c in sb and c not in later]
    left = [c for c in sa if c not in sb]
    right = [c for c in sb if c not in sa]
    A = a.permute([sa.index(c) for c in batch + left + contract])
    B = b.permute([sb.index(c) for c in batch + contract + right])
    bs = [A._shape[i] for i in range(len(batch))]
    ls = [A._shape[len(batch) + i] for i in range(len(left))]
    ks = [A._shape[len(batch) + len(left) + i] for i in range(len(contract))]
    rs = [B._shape[len(batch) + len(contract) + i] for i in range(len(right))]
    A = A.reshape(bs + [prod(ls), prod(ks)])
    B = B.reshape([B._shape[i] for i in range(len(batch))] + [prod(ks), prod(rs)])
    r = matmul(A, B) if (A.dim() > 2 or B.dim() > 2) else mm(A, B)
    r = r.reshape(_ew.broadcast_shapes(tuple(bs), tuple(B._shape[:len(batch)])) + tuple(ls) + tuple(rs))
    return r, "".join(batch + left + right)


def __rmatmul__(self, other):
    return matmul(other, self)


def __imatmul__(self, other):
    return self.copy_(matmul(self, other))


register_method("__matmul__", matmul)
register_method("__rmatmul__", __rmatmul__)
register_method("__imatmul__", __imatmul__)
