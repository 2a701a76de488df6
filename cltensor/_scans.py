"""Scans along one dim: cumsum, cumprod, cummax / cummin (with indices), logcumsumexp, with their backward rules.

Kernels in templates/scan.mako: one work-item per row, or, for few long rows, chunk totals + carries + chunk scans
(each row split into S chunks so that the device stays busy).
"""
import numpy as np

from . import _dtypes as D
from . import _kernels as K
from . import _ops as O
from ._index import ops as IX
from ._launch import rt_of, extent, idx_type
from ._registry import register
from ._tensor import empty_tensor
from .autograd import _tape as AG
from ._reductions import (_RT, _acc_of, _batch_layout, _compute_dtype, _finish_out, _no_complex, _params,
                          _axis_alias, _row_dim)


def _scan_acc(odt, rt, op):
    if op in ("max", "min"):
        return _compute_dtype(odt)
    acc = _acc_of(odt)
    # like PyTorch's CPU kernels, float32/16 running sums accumulate in double where the device has it
    if acc is D.float32 and rt.info.tuning.scan_acc_double:
        return D.float64
    if acc is D.complex64 and rt.info.tuning.scan_acc_double:
        return D.complex128
    return acc


def _scan(x, d, op, odt, arg=False, rev=False):
    """Inclusive scan of x along dim d (op: sum prod max min lae). Returns (out, indices or None), fresh."""
    shape = x._shape
    out = empty_tensor(shape, odt, x._device)
    oi = empty_tensor(shape, D.int64, x._device) if arg else None
    n = x.numel()
    if n == 0:
        return out, oi
    rt = rt_of(x)
    acc = _scan_acc(odt, rt, op)
    if not shape:
        L, isd, osd, bs, (bis, bos) = 1, 0, 0, [], ([], [])
    else:
        L, isd, osd = shape[d], x._strides[d], out._strides[d]
        bs, (bis, bos) = _batch_layout(shape, d, [x._strides, out._strides])
    B = n // L
    P = _params(rt)
    S, C = 1, L
    if B < P["target"] and L > P["minc"]:
        S = min(-(-P["target"] // B), -(-L // P["minc"]))
        C = -(-L // S)
        S = -(-L // C)
    idx, it = idx_type(extent(x), n, B * S)
    R = len(bs)
    bargs = []
    for sh, a, b in zip(bs, bis, bos):
        bargs += [it(sh), it(a), it(b)]
    ls = rt.local_size
    dummy = out._st.buf
    carry = carryi = dummy
    if S > 1:
        tot = empty_tensor((B * S,), acc, x._device)
        toti = empty_tensor((B * S,), D.int64, x._device) if arg else tot
        kt = K.get(rt, "scan", "totals", src=x._dtype, acc=acc, op=op, arg=arg, R=R, idx=idx)
        K.launch(rt, kt, (K.round_up(B * S, ls),), (ls,),
                 [x._st.buf, it(x._offset), tot._st.buf, toti._st.buf, it(B * S), it(S), it(C), it(L),
                  np.int32(rev), it(isd)]
                 + bargs)
        kc = K.get(rt, "scan", "carries", acc=acc, op=op, arg=arg, idx=idx)
        K.launch(rt, kc, (K.round_up(B, ls),), (ls,), [tot._st.buf, toti._st.buf, it(B), it(S)])
        carry, carryi = tot._st.buf, toti._st.buf
    ks = K.get(rt, "scan", "scan", src=x._dtype, acc=acc, out=odt, op=op, arg=arg, R=R, carry=S > 1, idx=idx)
    K.launch(rt, ks, (K.round_up(B * S, ls),), (ls,),
             [x._st.buf, it(x._offset), out._st.buf, it(0), (oi if arg else out)._st.buf, it(0), carry, carryi,
              it(B * S), it(S), it(C), it(L), np.int32(rev), it(isd), it(osd)] + bargs)
    if x._st.shared:
        rt.queue.finish()
    return out, oi


def _cumsum(x, d, odt, rev):
    r, _ = _scan(x, d, "sum", odt, rev=rev)
    if AG.needs_grad(x):
        AG.record("CumsumBackward0", (x,), r, lambda g: (_cumsum(g, d, g._dtype, not rev),))
    return r


def cumsum(input, dim, *, dtype=None, out=None):
    x = input
    d = _row_dim(x, dim)
    odt = D.as_dtype(dtype) if dtype is not None else (D.int64 if x._dtype.category <= 1 else x._dtype)
    return _finish_out(_cumsum(x, d, odt, False), out, "cumsum")


def cumprod(input, dim, *, dtype=None, out=None):
    x = input
    d = _row_dim(x, dim)
    odt = D.as_dtype(dtype) if dtype is not None else (D.int64 if x._dtype.category <= 1 else x._dtype)
    r, _ = _scan(x, d, "prod", odt)
    if AG.needs_grad(x):
        def bw(g):
            # zero-safe: before the first zero of a row, grad = revcumsum(g * out) / x; at the first zero it is
            # revcumsum(g * cumprod(x with that zero set to 1)); after it, 0.
            z = O.apply("eq", x, 0)
            zc = _cumsum(z, d, D.int64, False)
            before = O.apply("eq", zc, 0)
            at_z = O.apply("logical_and", z, O.apply("eq", zc, 1))
            gr = O.apply("div", _cumsum(O.apply("mul", g, r), d, g._dtype, True), x)
            cpp = cumprod(O.where(at_z, 1.0, x), d)
            gz = _cumsum(O.apply("mul", g, cpp), d, g._dtype, True)
            return (O.where(before, gr, O.where(at_z, gz, 0.0)),)
        AG.record("CumprodBackward0", (x,), r, bw, saved=(x,))
    return _finish_out(r, out, "cumprod")


def _cummaxmin(input, dim, which):
    x = input
    if x.numel():
        _no_complex(x, "cum" + which + "_cpu")
    d = _row_dim(x, dim)
    v, i = _scan(x, d, which, x._dtype, arg=True)
    if AG.needs_grad(x):
        shape = x._shape
        AG.record("CummaxBackward0" if which == "max" else "CumminBackward0", (x,), (v, i),
                  lambda gv, gi: (IX.scatter_add_valid(shape, d, i, gv),))
    return getattr(_RT, "cum" + which)(v, i)


def cummax(input, dim, *, out=None):
    return _pair_out(_cummaxmin(input, dim, "max"), out, "cummax")


def cummin(input, dim, *, out=None):
    return _pair_out(_cummaxmin(input, dim, "min"), out, "cummin")


def _pair_out(r, out, name):
    """(values, indices) written into out=(values, indices) when given (the named tuple of the outs)."""
    if out is None:
        return r
    _finish_out(r[0], out[0], name)
    _finish_out(r[1], out[1], name)
    return type(r)(out[0], out[1])


def _logcumsumexp(x, d, rev):
    r, _ = _scan(x, d, "lae", x._dtype, rev=rev)
    if AG.needs_grad(x) and x._dtype.is_complex:
        def cbw(g):
            # d r_k / d x_j = exp(x_j - r_k) (k >= j in scan order): in log space, conjugated (Wirtinger)
            lg = O.apply("log", O.apply("conj", g))
            return (O.apply("conj", O.apply("exp", O.apply("add", _logcumsumexp(
                O.apply("sub", lg, r), d, not rev), x))),)
        AG.record("LogcumsumexpBackward0", (x,), r, cbw, saved=(x,))
    elif AG.needs_grad(x):
        def bw(g):
            # log-space form (as PyTorch): positive and negative parts of g separately
            pos = O.apply("log", O.clamp(g, min=0))
            neg = O.apply("log", O.clamp(O.apply("neg", g), min=0))
            a = O.apply("exp", O.apply("add", _logcumsumexp(O.apply("sub", pos, r), d, not rev), x))
            b = O.apply("exp", O.apply("add", _logcumsumexp(O.apply("sub", neg, r), d, not rev), x))
            return (O.apply("sub", a, b),)
        AG.record("LogcumsumexpBackward0", (x,), r, bw, saved=(x,))
    return r


def logcumsumexp(input, dim, *, out=None):
    x = input
    if x._dtype.category < 2:
        raise NotImplementedError(f'"logcumsumexp_out_cpu" not implemented for \'{x._dtype._alias}\'')
    return _finish_out(_logcumsumexp(x, _row_dim(x, dim), False), out, "logcumsumexp")




def _cumsum_(self, dim, *, dtype=None):
    return self.copy_(cumsum(self, dim, dtype=dtype))


def _cumprod_(self, dim, *, dtype=None):
    return self.copy_(cumprod(self, dim, dtype=dtype))


register("cumsum", _axis_alias(cumsum), method=True, inplace=_cumsum_)
register("cumprod", _axis_alias(cumprod), method=True, inplace=_cumprod_)
register("cummax", cummax, method=True)
register("cummin", cummin, method=True)
register("logcumsumexp", logcumsumexp, method=True)
