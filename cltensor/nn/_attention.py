"""Scaled dot-product attention: the fused kernels of templates/attention.mako, their launchers and backward.

`scaled_dot_product_attention` checks and broadcasts its operands as PyTorch does, views them as 4-D
(batch, heads, rows, features; any strides: the kernels take offsets and strides) and runs one autograd node:
the forward kernel (one work-item per query row, an online softmax over blocks of keys, the output and each row's
log-sum-exp) and, for the backward, a query-side kernel (dq, rowsum(dO * O), the float mask's gradient when it
needs one) and a key-side kernel (dk, dv; with GQA a key/value head sums over its group of query heads). The
L x S score matrix is never stored (except as the float mask's gradient, which has that shape).
Dropout draws a Philox keep bit per score element from (seed, offset) of cltensor's default generator, so the
backward recomputes the same mask and manual_seed makes it reproducible.
`multi_head_attention_forward` is PyTorch's functional multi-head attention (projections, bias_k/v, zero attention,
masks); without attention weights its heads run through the fused kernels.
Without a mask or dropout, in float32/float64 with equal q/k/v head dims that are multiples of 16 up to 128, the
fused path runs the register-blocked kernels instead (`_sdpa_rb`; each work-item owns several rows in private
memory and reads the other side 16 rows per vector from a transposed, zero-padded copy; causal blocks past the
diagonal are never visited; 5-8x faster than the general kernels on PoCL's CPU device): fwd_rb (4 query rows x 64
keys per step), then a backward in one pass on CPU devices, bwd_rb1 (one work-item per key/value head and chunk
of its keys: scores computed once, dq accumulated in place in a copy per chunk, no atomics; bool masks and float
masks without gradient read there too), else in two (bwd_q_rb over query rows, bwd_kv_rb over keys; scores
computed in both; no mask).
Calls whose score matrices (all heads) fit in the device's budget (`Tuning.attention_unfused_bytes`), and
features wider than 256, take `attention_unfused` (matmul, softmax, matmul on differentiable ops), except calls on
the register-blocked kernels on devices where `Tuning.attention_fused_causal` says so: causal ones (about 2.2x
less CPU time than unfused on PoCL's CPU device) and, with at least 4 key/value heads per compute unit, the others
without a float mask (the same speed as unfused or better, no score matrix in memory).
CLTENSOR_SDPA=fused|unfused forces one path.
"""
import math

import numpy as np

from .. import _config as cfg
from .. import _creation as C
from .. import _dtypes as D
from .. import _kernels as K
from .. import autograd as AG
from .._launch import rt_of, extent, idx_type
from .._linalg import matmul, bmm, baddbmm
from .._shape import cat
from .._tensor import Tensor
from . import functional as F

__all__ = ["scaled_dot_product_attention", "attention_unfused", "dropout_keep_mask", "multi_head_attention_forward"]

_DCS = (16, 32, 64, 128, 256)
_typed = set()
_R = 4            # query (key) rows per work-item: each loaded key (query) vector serves _R rows


def _dc(E, Ev):
    for d in _DCS:
        if d >= max(E, Ev):
            return d
    return None


def _rb(n):
    """work-items over n rows, _R rows each"""
    return (n + _R - 1) // _R


def _unit_features(t, E, Ev):
    """t with a unit feature stride when the 8-wide kernels apply (a copy of O(rows * features) elements, small
    next to the attention's O(L * S * features) work), else t."""
    if E % 8 == 0 and Ev % 8 == 0 and t._strides[3] != 1 and t._shape[3] > 1:
        return t.contiguous()
    return t


def _4d(t):
    """t as (B, H, R, F): leading dims merged (a view where the layout allows, else a copy), missing ones added."""
    n = t.dim()
    if n == 4:
        return t
    if n < 4:
        return t.reshape((1,) * (4 - n) + tuple(t.shape))
    return t.reshape((-1,) + tuple(t.shape[-3:]))


def _bshape(a, b, an="a", bn="b"):
    """Broadcast two batch shapes (PyTorch's message on a mismatch)."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    out = []
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton "
                               f"dimension {k}")
        out.append(max(x, y) if x and y else 0)
    return tuple(out)


def _unbroadcast(g, shape):
    """Sum g (broadcast from `shape`) back to `shape`."""
    shape = tuple(shape)
    if tuple(g.shape) == shape:
        return g
    lead = g.dim() - len(shape)
    if lead:
        g = g.sum(tuple(range(lead)))
    dims = tuple(k for k, (s, x) in enumerate(zip(shape, g.shape)) if s == 1 and x != 1)
    if dims:
        g = g.sum(dims, keepdim=True)
    return g.reshape(shape)


def _dtype_name(d):
    return {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
            "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool"}.get(d.name, d.name)


def _check(query, key, value, attn_mask, dropout_p, is_causal):
    for n, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{n}' (position "
                            f"{('query', 'key', 'value').index(n) + 1}) must be Tensor, not {type(t).__name__}")
    if not (query._dtype is key._dtype is value._dtype):
        raise RuntimeError("Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{_dtype_name(query._dtype)} key.dtype: {_dtype_name(key._dtype)} and value.dtype: "
                           f"{_dtype_name(value._dtype)} instead.")
    if not (query._device == key._device == value._device):
        raise RuntimeError("Expected query, key, and value to have the same device type, but got query.device: "
                           f"{query._device} key.device: {key._device} and value.device: {value._device} instead.")
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError("Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                           f"{query.dim()} key.dim: {key.dim()} and value.dim: {value.dim()} instead.")
    if attn_mask is not None:
        md = attn_mask._dtype
        if not (md is D.bool_ or md is query._dtype):
            raise RuntimeError("Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                               f"attn_mask.dtype: {_dtype_name(md)} and  query.dtype: {_dtype_name(query._dtype)} "
                               "instead.")
    if is_causal and attn_mask is not None and AG.needs_grad(attn_mask):
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if not query._dtype.is_floating_point:
        raise RuntimeError(f"expected scalar type Float but found {query._dtype._alias}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"Expected query and key to have the same size in the last dimension (features), but got "
                           f"{query.shape[-1]} and {key.shape[-1]}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"Expected key and value to have the same sequence length, but got {key.shape[-2]} and "
                           f"{value.shape[-2]}")
    if not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")


def _prepare(query, key, value, attn_mask, enable_gqa):
    """(q, k, v, mask) as 4-D views broadcast to common batch dims, and the output's leading shape."""
    qb, kb, vb = tuple(query.shape[:-2]), tuple(key.shape[:-2]), tuple(value.shape[:-2])
    if enable_gqa and query.dim() >= 3 and key.dim() >= 3 and value.dim() >= 3:
        Hq, Hk, Hv = qb[-1], kb[-1], vb[-1]
        if Hk != Hv or Hk == 0 or Hq % Hk:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in ")
        bb = _bshape(_bshape(qb[:-1], kb[:-1]), vb[:-1])
        lead = bb + (Hq,)
        kvlead = bb + (Hk,)
    else:
        lead = _bshape(_bshape(qb, kb), vb)
        kvlead = lead
    L, S = query.shape[-2], key.shape[-2]
    q = query.expand(lead + tuple(query.shape[-2:]))
    k = key.expand(kvlead + tuple(key.shape[-2:]))
    v = value.expand(kvlead + tuple(value.shape[-2:]))
    m = None
    if attn_mask is not None:
        ms = _bshape(lead + (L, S), tuple(attn_mask.shape))
        if ms != lead + (L, S):
            _bshape(tuple(attn_mask.shape), lead + (L, S))     # PyTorch's message when the mask is the larger
        m = attn_mask.expand(lead + (L, S))
        m = _4d(m)
    return _4d(q), _4d(k), _4d(v), m, lead


def _launch(name, dt, mt, mk, causal, drop, args4, sizes, extra, n, **params):
    rt = rt_of(args4[0])
    tail = params.pop("tail")
    exts = [extent(t) for t in args4] + [extent(a[0]) for a in tail if isinstance(a, tuple)]
    idx, inp = idx_type(*exts)
    B, Hq, Hk, L, S, E, Ev = sizes
    DC = _dc(E, Ev)
    args = []
    for t in args4[:5]:
        args += [t._st.buf] + [inp(x) for x in [t._offset] + list(t._strides)]
    scale, (s0, s1, r0, r1), p = extra
    args += [np.int32(x) for x in sizes]
    fnp = np.float64 if dt is D.float64 else np.float32
    args += [fnp(scale), np.uint32(s0), np.uint32(s1), np.uint32(r0), np.uint32(r1), fnp(p)]
    for a in tail:
        if isinstance(a, Tensor):
            args.append(a._st.buf)
        elif isinstance(a, tuple):     # a 4-D tensor with its offset and strides
            args += [a[0]._st.buf] + [inp(x) for x in [a[0]._offset] + list(a[0]._strides)]
        else:
            args.append(a)
    V = 8 if E % 8 == 0 and Ev % 8 == 0 and all(
        t._strides[3] == 1 or t._shape[3] == 1 for t in args4[:4] + [a[0] for a in tail if isinstance(a, tuple)]) else 1
    k = K.get(rt, "attention", name, t=dt, mt=mt, mk=mk, idx=idx, DC=DC, causal=causal, drop=drop, V=V, R=_R,
              **params)
    if id(k) not in _typed:
        k.set_scalar_arg_dtypes([type(a) if isinstance(a, np.generic) else None for a in args])
        _typed.add(id(k))
    if n:
        ls = rt.local_size
        K.launch(rt, k, (K.round_up(n, ls),), (ls,), args)


def _ctr():
    """(seed low, seed high, offset low, offset high) of a fresh Philox stream of the default generator."""
    g = C.default_generator
    off = g._next()
    s = g._seed
    return (s & 0xFFFFFFFF, s >> 32, off & 0xFFFFFFFF, (off >> 32) & 0xFFFFFFFF)


def dropout_keep_mask(shape, dropout_p, ctr, dtype, device):
    """The 0/1 keep mask the fused kernels draw for Philox stream `ctr` (a (B, H, L, S) shape)."""
    out = C.empty(tuple(shape), dtype=dtype, device=device)
    n = out.numel()
    rt = rt_of(out)
    k = K.get(rt, "attention", "keep_mask", t=dtype)
    s0, s1, r0, r1 = ctr
    if n:
        K.launch(rt, k, (K.round_up(n, rt.local_size),), (rt.local_size,),
                 [out._st.buf, np.uint64(n), np.uint32(s0), np.uint32(s1), np.uint32(r0), np.uint32(r1),
                  np.float32(dropout_p)])
    return out


def attention_unfused(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, keep=None):
    """Attention on differentiable ops (matmul, softmax, matmul): 4-D operands with equal head counts."""
    L, S = q.shape[-2], k.shape[-2]
    sc = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = matmul(q, k.transpose(-2, -1)) * sc
    if is_causal:
        cm = C.ones((L, S), dtype=D.bool_, device=q.device).tril()
        s = s.masked_fill(cm.logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask._dtype is D.bool_:
            s = s.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            s = s + attn_mask
    p = s.softmax(-1)
    p = p.masked_fill(p.isnan(), 0.0) if attn_mask is not None else p
    if keep is not None:
        p = p * keep * (1.0 / (1.0 - dropout_p))
    return matmul(p, v)


def _rb_ok(dt, m, drop, E, Ev, L, S, mask=None, rt=None, heads=0):
    """Whether the register-blocked kernels (fwd_rb, then bwd_rb1 or bwd_q_rb + bwd_kv_rb) take this call:
    float32/float64, no dropout, equal head dims that are a multiple of 16 (up to 128), non-empty sequences; no mask,
    or a bool mask or a float one without gradient where the backward runs in one pass (bwd_rb1 reads masks, the
    two-pass kernels do not)."""
    if m is not None and ((mask._dtype is not D.bool_ and mask._requires_grad) or not _one_pass(rt, heads)):
        return False
    return ((dt is D.float32 or dt is D.float64) and not drop and E == Ev and E % 16 == 0
            and 16 <= E <= 128 and L > 0 and S > 0)


# fwd_rb's blocks: 4 query rows x 64 keys (4 vectors of 16 per row), 16 score accumulators (PoCL's CPU device,
# B4 H8 L=S=1024 D64 causal, process CPU time: 63 ms against 70 for 8 x 32, 71 for 2 x 128, 78 for 16 x 16)
_FWD_R, _FWD_KV = 4, 4


def _rows_rb(E, side):
    """rows per work-item of the register-blocked kernels (measured on PoCL's CPU device at E = 64: 8 query rows
    and 8 key rows ran faster than 4 and 2)"""
    return max(1, min(8, 512 // E))




def _one_pass(rt, heads):
    """Whether the backward runs bwd_rb1 (one work-item per key/value head and key chunk, scores computed once)
    rather than the two passes bwd_q_rb / bwd_kv_rb (scores computed twice, many work-items per head): on CPU
    devices whose profile takes the register-blocked causal kernels (PoCL, B4 H8 L=S=1024 D64 causal: backward
    CPU time 140 ms against 205; with 1 to 4 heads, key chunks, about the same as two passes)."""
    return ONE_PASS and rt.info.tuning.attention_fused_causal


def _chunks(rt, heads, blocks):
    """key chunks per key/value head of bwd_rb1: enough work-items (CHUNK_ITEMS per compute unit) to keep the
    device's threads busy to the end of the kernel when other work shares the machine; each chunk adds one
    zero-initialised dq copy and its share of the final sum."""
    want = CHUNK_ITEMS * rt.info.compute_units
    return max(1, min(blocks, 64, -(-want // heads)))


def _args(k, args):
    if id(k) not in _typed:
        k.set_scalar_arg_dtypes([type(a) if isinstance(a, np.generic) else None for a in args])
        _typed.add(id(k))


def _pack(t, H, N, Dm, Np, tr, idx, inp):
    """t (B, H, N, Dm), any strides, as (B * H, Dm, Np) (tr, zero padded) or (B * H, N, Dm), contiguous: a new
    buffer and offset 0, or t's own buffer and offset when it is already row-major."""
    if not tr and t.is_contiguous():
        return t._st.buf, t._offset, t
    B = t._shape[0]
    y = C.empty((B * H, Dm, Np) if tr else (B * H, N, Dm), dtype=t._dtype, device=t.device)
    n = B * H * (Dm if tr else N)
    rt = rt_of(t)
    k = K.get(rt, "attention", "pack", t=t._dtype, idx=idx, tr=tr)
    args = [t._st.buf] + [inp(x) for x in [t._offset] + list(t._strides)] + [y._st.buf, np.int32(H), np.int32(N),
                                                                           np.int32(Dm), np.int32(Np), np.int64(n)]
    _args(k, args)
    if n:
        K.launch(rt, k, (K.round_up(n, rt.local_size),), (rt.local_size,), args)
    return y._st.buf, y._offset, y


def _sdpa_rb(query, key, value, q, k, v, lead, causal, sc, enable_gqa, m=None):
    """scaled_dot_product_attention on the register-blocked kernels (see _rb_ok), with its autograd node; m: the
    mask as a (B, Hq, L, S) view (broadcast by zero strides) or None."""
    B, Hq, L, E = q.shape
    Hk, S = k.shape[1], k.shape[2]
    G = Hq // Hk
    dt = q._dtype
    rt = rt_of(q)
    ls = rt.info.tuning.attention_rb_local
    kb_ = 16 * _FWD_KV
    Lp, Sp = (L + 15) // 16 * 16, (S + kb_ - 1) // kb_ * kb_
    idx, inp = idx_type(*[extent(t) for t in (q, k, v)])
    fnp = np.float64 if dt is D.float64 else np.float32
    i64 = np.int64
    with AG.no_grad():
        qd, kd, vd = q.detach(), k.detach(), v.detach()
        qb = _pack(qd, Hq, L, E, L, False, idx, inp)
        kt = _pack(kd, Hk, S, E, Sp, True, idx, inp)
        vb = _pack(vd, Hk, S, E, S, False, idx, inp)
        out = C.empty((B, Hq, L, E), dtype=dt, device=q.device)
        lse = C.full((B * Hq * Lp,), float("inf"), dtype=dt, device=q.device)
        one = _one_pass(rt, B * Hk)
        if m is None:
            mt, mk, margs = dt, "none", [qb[0]] + [i64(0)] * 5 + [np.int32(Hq)]
        else:
            md = m.detach()
            mt, mk = md._dtype, "bool" if md._dtype is D.bool_ else "float"
            margs = [md._st.buf] + [i64(x) for x in [md._offset] + list(md._strides)] + [np.int32(Hq)]
        kf = K.get(rt, "attention", "fwd_rb", t=dt, idx=idx, D=E, causal=causal, R=_FWD_R, NK=_FWD_KV, mt=mt, mk=mk)
        args = [qb[0], i64(qb[1]), kt[0], i64(kt[1]), vb[0], i64(vb[1]), out._st.buf, i64(out._offset), lse._st.buf,
                np.int32(B * Hq), np.int32(G), np.int32(L), np.int32(S), np.int32(Lp), np.int32(Sp), fnp(sc)] + margs
        _args(kf, args)
        n = B * Hq * ((L + _FWD_R - 1) // _FWD_R)
        if n:
            K.launch(rt, kf, (K.round_up(n, ls),), (ls,), args)
    for t in (query, key, value, m):
        if t is not None and t._st.shared:
            rt.queue.finish()
            break
    res = out.reshape(lead + (L, E))
    ins = (query, key, value)
    if AG.needs_grad(*ins):
        def bw(g):
            g4 = _4d(g.expand(lead + (L, E)))
            with AG.no_grad():
                gidx, ginp = idx_type(extent(g4))
                gb = _pack(g4, Hq, L, E, L, False, gidx, ginp)
                gt = _pack(g4, Hq, L, E, Lp, True, gidx, ginp)
                qt = _pack(qd, Hq, L, E, Lp, True, idx, inp)
                kb = _pack(kd, Hk, S, E, S, False, idx, inp)
                if one:
                    R1 = _rows_rb(E, "kv")
                    nch = _chunks(rt, B * Hk, (S + R1 - 1) // R1)
                    dqp = C.zeros((nch, B, Hq, L, E), dtype=dt, device=q.device)
                    dk = C.empty((B, Hk, S, E), dtype=dt, device=q.device)
                    dv = C.empty((B, Hk, S, E), dtype=dt, device=q.device)
                    dlt = C.zeros((nch * B * Hq * Lp,), dtype=dt, device=q.device)
                    k1 = K.get(rt, "attention", "bwd_rb1", t=dt, idx=idx, D=E, causal=causal, R=R1, QB=16, mt=mt,
                               mk=mk)
                    args = [qt[0], i64(qt[1]), gt[0], i64(gt[1]), qb[0], i64(qb[1]), gb[0], i64(gb[1]), kb[0],
                            i64(kb[1]), vb[0], i64(vb[1]), out._st.buf, i64(out._offset), lse._st.buf, dlt._st.buf,
                            dk._st.buf, i64(dk._offset), dv._st.buf, i64(dv._offset), dqp._st.buf, i64(dqp._offset),
                            np.int32(B * Hk), np.int32(G), np.int32(L), np.int32(S), np.int32(Lp), fnp(sc)] + margs + [
                            np.int32(nch), i64(B * Hq * L * E), i64(B * Hq * Lp)]
                    _args(k1, args)
                    K.launch(rt, k1, (B * Hk * nch,), (1,), args)
                    return _grads(dqp[0] if nch == 1 else dqp.sum(0), dk, dv)
                vt = _pack(vd, Hk, S, E, Sp, True, idx, inp)
                dq = C.empty((B, Hq, L, E), dtype=dt, device=q.device)
                dk = C.empty((B, Hk, S, E), dtype=dt, device=q.device)
                dv = C.empty((B, Hk, S, E), dtype=dt, device=q.device)
                dlt = C.zeros((B * Hq * Lp,), dtype=dt, device=q.device)
                R = _rows_rb(E, "q")
                n = B * Hq * ((L + R - 1) // R)
                kq = K.get(rt, "attention", "bwd_q_rb", t=dt, idx=idx, D=E, causal=causal, R=R)
                args = [qb[0], i64(qb[1]), kt[0], i64(kt[1]), vt[0], i64(vt[1]), kb[0], i64(kb[1]), out._st.buf,
                        i64(out._offset), gb[0], i64(gb[1]), lse._st.buf, dlt._st.buf, dq._st.buf, i64(dq._offset),
                        np.int32(B * Hq), np.int32(G), np.int32(L), np.int32(S), np.int32(Lp), np.int32(Sp), fnp(sc)]
                _args(kq, args)
                if n:
                    K.launch(rt, kq, (K.round_up(n, ls),), (ls,), args)
                R2 = _rows_rb(E, "kv")
                kk = K.get(rt, "attention", "bwd_kv_rb", t=dt, idx=idx, D=E, causal=causal, R=R2)
                args = [qt[0], i64(qt[1]), gt[0], i64(gt[1]), qb[0], i64(qb[1]), gb[0], i64(gb[1]), kb[0], i64(kb[1]),
                        vb[0], i64(vb[1]), lse._st.buf, dlt._st.buf, dk._st.buf, i64(dk._offset), dv._st.buf,
                        i64(dv._offset), np.int32(B * Hk), np.int32(G), np.int32(L), np.int32(S), np.int32(Lp), fnp(sc)]
                _args(kk, args)
                n2 = B * Hk * ((S + R2 - 1) // R2)
                if n2:
                    K.launch(rt, kk, (K.round_up(n2, ls),), (ls,), args)
                return _grads(dq, dk, dv)

        def _grads(dq, dk, dv):
            gq = _unbroadcast(dq.reshape(lead + (L, E)), query.shape) if query._requires_grad else None
            kvlead = tuple(lead[:-1]) + (Hk,) if len(lead) and enable_gqa else lead
            gk = _unbroadcast(dk.reshape(kvlead + (S, E)), key.shape) if key._requires_grad else None
            gv = _unbroadcast(dv.reshape(kvlead + (S, E)), value.shape) if value._requires_grad else None
            return gq, gk, gv
        AG.record("ScaledDotProductFlashAttentionBackward0", ins, res, bw, saved=ins if m is None else ins + (m,))
    return res


FORCE = cfg.sdpa()       # "auto" | "fused" | "unfused" (CLTENSOR_SDPA)
RB = True                # the register-blocked fused kernels where they apply (_rb_ok)
ONE_PASS = True          # their one-pass backward where it applies (_one_pass)
CHUNK_ITEMS = 16         # bwd_rb1's work-items per compute unit (_chunks)


def _unfused(q, B, Hq, L, S, E, Ev, rb, causal, Hk, m):
    """Whether this call runs matmul-softmax-matmul: features wider than the fused kernels' private rows, or (auto)
    scores of all heads within the device's budget (its tuning profile), where that path measured faster, unless
    the call takes the register-blocked kernels on a device whose profile prefers them: causal calls, and calls
    without causality whose backward runs in one pass with at least 4 key/value heads per compute unit, except with
    a float mask (PoCL's CPU device, B4 H8 D64
    forward+backward: without a mask 1.0x-1.1x unfused at L=S=128..1024, forward alone 1.1x; with a bool mask 1.14x,
    with a float mask 0.9x at 1024; no score matrix in memory)."""
    if _dc(E, Ev) is None or FORCE == "unfused":
        return True
    if FORCE == "fused":
        return False
    rt = rt_of(q)
    tn = rt.info.tuning
    if rb and tn.attention_fused_causal and (causal or (_one_pass(rt, B * Hk) and B * Hk >= 4 * rt.info.compute_units
                                                         and (m is None or m._dtype is D.bool_))):
        return False
    return B * Hq * L * S * 4 <= tn.attention_unfused_bytes


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    dropout_p = float(dropout_p)
    _check(query, key, value, attn_mask, dropout_p, is_causal)
    q, k, v, m, lead = _prepare(query, key, value, attn_mask, enable_gqa)
    B, Hq, L, E = q.shape
    Hk, S, Ev = k.shape[1], k.shape[2], v.shape[3]
    sc = 1.0 / math.sqrt(E) if scale is None else float(scale)
    dt = q._dtype
    drop = dropout_p > 0.0
    ctr = _ctr() if drop else (0, 0, 0, 0)
    rb = RB and _rb_ok(dt, m, drop, E, Ev, L, S, attn_mask, rt_of(q), B * Hk)
    if _unfused(q, B, Hq, L, S, E, Ev, rb, bool(is_causal), Hk, m):     # scores fit the budget, or too wide
        kk, vv = k, v
        if Hk != Hq:
            kk = k.repeat_interleave(Hq // Hk, 1)
            vv = v.repeat_interleave(Hq // Hk, 1)
        keep = dropout_keep_mask((B, Hq, L, S), dropout_p, ctr, dt, q.device) if drop else None
        o = attention_unfused(q, kk, vv, m, dropout_p, is_causal, sc, keep)
        return o.reshape(lead + (L, Ev))
    if rb:
        return _sdpa_rb(query, key, value, q, k, v, lead, bool(is_causal), sc, enable_gqa, m)
    mk = "none" if m is None else ("bool" if m._dtype is D.bool_ else "float")
    mt = dt if m is None else m._dtype
    mm = m if m is not None else q
    sizes = (B, Hq, Hk, L, S, E, Ev)
    acc = D.float64 if dt is D.float64 else D.float32
    out = C.empty((B, Hq, L, Ev), dtype=dt, device=q.device)
    lse = C.empty((B * Hq * L,), dtype=acc, device=q.device)
    extra = (sc, ctr, dropout_p)
    qd, kd, vd = [_unit_features(t.detach(), E, Ev) for t in (q, k, v)]
    md = mm.detach()
    _launch("fwd", dt, mt, mk, bool(is_causal), drop, [qd, kd, vd, out, md], sizes, extra, B * Hq * _rb(L),
            tail=[lse])
    for t in (query, key, value, attn_mask):
        if t is not None and t._st.shared:
            rt_of(t).queue.finish()
            break
    res = out.reshape(lead + (L, Ev))
    ins = (query, key, value, attn_mask)
    if AG.needs_grad(*[t for t in ins if t is not None]):
        want_m = attn_mask is not None and attn_mask._requires_grad and mk == "float"

        def bw(g):
            g4 = _unit_features(_4d(g.expand(lead + (L, Ev))), E, Ev)     # e.g. sum()'s expanded gradient
            with AG.no_grad():
                dq = C.empty((B, Hq, L, E), dtype=dt, device=q.device)
                dk = C.empty((B, Hk, S, E), dtype=dt, device=q.device)
                dv = C.empty((B, Hk, S, Ev), dtype=dt, device=q.device)
                dlt = C.empty((B * Hq * L,), dtype=acc, device=q.device)
                dm = C.empty((B, Hq, L, S), dtype=acc, device=q.device) if want_m else lse
                _launch("bwd_q", dt, mt, mk, bool(is_causal), drop, [qd, kd, vd, out, md], sizes, extra,
                        B * Hq * _rb(L), tail=[lse, (g4,), dlt, (dq,), dm], dmask=want_m)
                _launch("bwd_kv", dt, mt, mk, bool(is_causal), drop, [qd, kd, vd, out, md], sizes, extra,
                        B * Hk * _rb(S), tail=[lse, (g4,), dlt, (dk,), (dv,)])
                gq = _unbroadcast(dq.reshape(lead + (L, E)), query.shape) if query._requires_grad else None
                kvlead = tuple(lead[:-1]) + (Hk,) if len(lead) and enable_gqa else lead
                gk = _unbroadcast(dk.reshape(kvlead + (S, E)), key.shape) if key._requires_grad else None
                gv = _unbroadcast(dv.reshape(kvlead + (S, Ev)), value.shape) if value._requires_grad else None
                gm = None
                if want_m:
                    gm = _unbroadcast(dm.to(dt).reshape(lead + (L, S)), attn_mask.shape)
            return gq, gk, gv, gm
        AG.record("ScaledDotProductFlashAttentionBackward0", ins, res, bw,
                  saved=tuple(t for t in ins if t is not None))
    return res


# ================================================================================================ multi-head

def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    """A bool mask (True = not allowed) as a float mask of target_type (-inf where True); float masks as they are."""
    if mask is None:
        return None
    md = mask.dtype
    if md is not D.bool_ and not md.is_floating_point:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if md is D.bool_:
        return C.zeros(tuple(mask.shape), dtype=target_type, device=mask.device).masked_fill(mask, float("-inf"))
    return mask


def _none_or_dtype(t):
    return None if t is None else t.dtype


def _pad_last(t):
    """t with one zero column appended on its last dim (F.pad(t, (0, 1)))."""
    z = C.zeros(tuple(t.shape[:-1]) + (1,), dtype=t.dtype, device=t.device)
    return cat([t, z], -1)


def _in_projection_packed(q, k, v, w, b=None):
    E = q.shape[-1]
    if k is v:
        if q is k:
            proj = F.linear(q, w, b)
            return proj[..., :E], proj[..., E:2 * E], proj[..., 2 * E:]
        w_q, w_kv = w[:E], w[E:]
        b_q, b_kv = (None, None) if b is None else (b[:E], b[E:])
        q_ = F.linear(q, w_q, b_q)
        kv = F.linear(k, w_kv, b_kv)
        return q_, kv[..., :E], kv[..., E:]
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return F.linear(q, w_q, b_q), F.linear(k, w_k, b_k), F.linear(v, w_v, b_v)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    is_batched = query.dim() == 3
    if query.dim() not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D "
                             "query tensor")
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask),
                                       "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                                 f"{tuple(value.shape[:2])}")
        b_q = b_k = b_v = None
        if in_proj_bias is not None:
            b_q, b_k, b_v = in_proj_bias.chunk(3)
        q, k, v = F.linear(query, q_proj_weight, b_q), F.linear(key, k_proj_weight, b_k), \
            F.linear(value, v_proj_weight, b_v)
    else:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
    if bias_k is not None and bias_v is not None:
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        if attn_mask is not None:
            attn_mask = _pad_last(attn_mask)
        if key_padding_mask is not None:
            key_padding_mask = _pad_last(key_padding_mask)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    if add_zero_attn:
        z = C.zeros((bsz * num_heads, 1, head_dim), dtype=q.dtype, device=q.device)
        k = cat([k, z], 1)
        v = cat([v, z], 1)
        if attn_mask is not None:
            attn_mask = _pad_last(attn_mask)
        if key_padding_mask is not None:
            key_padding_mask = _pad_last(key_padding_mask)
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1) \
            .reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if need_weights:
        q_scaled = q * math.sqrt(1.0 / float(head_dim))
        if attn_mask is not None:
            w = baddbmm(attn_mask, q_scaled, k.transpose(-2, -1))
        else:
            w = bmm(q_scaled, k.transpose(-2, -1))
        w = F.softmax(w, dim=-1)
        if dropout_p > 0.0:
            w = F.dropout(w, p=dropout_p)
        out = bmm(w, v)
        out = out.transpose(0, 1).contiguous().reshape(tgt_len * bsz, embed_dim)
        out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        w = w.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            w = w.mean(1)
        if not is_batched:
            out, w = out.squeeze(1), w.squeeze(0)
        return out, w
    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).contiguous().reshape(bsz * tgt_len, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if not is_batched:
        out = out.squeeze(1)
    return out, None
