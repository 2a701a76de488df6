"""softmax and log_softmax along one dim, with their backward rules.

One fused kernel per launch (templates/softmax.mako: max, sum of exp and the write per row, the row still in
cache); for a few very long rows, two split reductions (cltensor/_reductions.py) and one elementwise pass instead.
"""
import warnings

from . import _ew
from . import _kernels as K
from . import _ops as O
from ._launch import rt_of, extent, idx_type
from ._registry import register
from ._tensor import empty_tensor
from .autograd import _tape as AG
from ._reductions import _acc_of, _batch_layout, _keep_shape, _reduce, _reshape_fresh, _row_dim, sum_


def _softmax_dim(x, dim, name):
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                      "dim=X as an argument.", UserWarning, stacklevel=3)
        dim = 0 if x.dim() in (0, 1, 3) else 1
    return _row_dim(x, dim)


def _softmax_fwd(input, dim, dtype, log, name):
    x = input if dtype is None else input.to(dtype)
    d = _softmax_dim(x, dim, name)
    if x._dtype.category < 2 or x._dtype.is_complex:
        if x.numel() == 0:          # (as torch: an empty input is returned before the dtype is looked at)
            return empty_tensor(x._shape, x._dtype, x._device)
        # torch names the kernel of its path: the last dim (or a 0-d input) or any other dim
        kind = "_lastdim" if x.dim() == 0 or d == x.dim() - 1 else ""
        raise NotImplementedError(f'"{name}{kind}_kernel_impl" not implemented for \'{x._dtype._alias}\'')
    dims = (d,) if x.dim() else ()
    acc = _acc_of(x._dtype)
    out = empty_tensor(x._shape, x._dtype, x._device)
    n = x.numel()
    if n:
        rt = rt_of(x)
        L = x._shape[d] if x._shape else 1
        B = n // L
        if B >= 64 or L <= 16384:
            _softmax_fused(x, out, d, log, acc, rt)
        else:   # few long rows: split each row over many work-items (reductions) + one elementwise pass
            m, _ = _reduce(x, dims, "max", acc, acc)
            s, _ = _reduce(x, dims, "sum", acc, acc, mapx="exp(x - aux)", aux=m)
            ks = _keep_shape(x._shape, dims)
            m, s = _reshape_fresh(m, ks), _reshape_fresh(s, ks)
            _ew.run("x0 - x1 - log(x2)" if log else "exp(x0 - x1) / x2", out, [x, m, s], (acc, acc, acc), acc)
    if AG.needs_grad(x):
        if log:
            AG.record("LogSoftmaxBackward0", (x,), out,
                      lambda g: (O.apply("sub", g, O.apply("mul", O.apply("exp", out), sum_(g, dims, True))),))
        else:
            AG.record("SoftmaxBackward0", (x,), out,
                      lambda g: (O.apply("mul", out, O.apply("sub", g, sum_(O.apply("mul", g, out), dims, True))),))
    return out


def _softmax_fused(x, out, d, log, acc, rt):
    """One launch of softmax.mako `softmax` (see there for the 'rows' and 'lanes' modes)."""
    shape = x._shape
    n = x.numel()
    if shape:
        L, isd, osd = shape[d], x._strides[d], out._strides[d]
        bs, (bis, bos) = _batch_layout(shape, d, [x._strides, out._strides])
    else:
        L, isd, osd, bs, bis, bos = 1, 1, 1, [1, 1, 1, 1], [0] * 4, [0] * 4
    B = n // L
    mode = "rows"
    nlg = 1
    nw = B
    if isd != 1 and bis[-1] == 1 and bos[-1] == 1 and bs[-1] >= 16 and rt.info.tuning.row_lanes:
        mode = "lanes"
        nlg = -(-bs[-1] // 16)
        nw = (B // bs[-1]) * nlg
    idx, it = idx_type(extent(x), n)
    args = [x._st.buf, it(x._offset), out._st.buf, it(nw), it(L), it(isd), it(osd), it(nlg)]
    for sh, a, b in zip(bs, bis, bos):
        args += [it(sh), it(a), it(b)]
    kern = K.get(rt, "softmax", "softmax", src=x._dtype, acc=acc, log=bool(log), mode=mode, R=len(bs), idx=idx)
    K.launch_bound(rt, kern, (K.round_up(nw, rt.local_size),), (rt.local_size,), args)
    if x._st.shared:
        rt.queue.finish()


def softmax(input, dim=None, dtype=None, _stacklevel=3):
    return _softmax_fwd(input, dim, dtype, False, "softmax")


def log_softmax(input, dim=None, dtype=None, _stacklevel=3):
    return _softmax_fwd(input, dim, dtype, True, "log_softmax")


def _t_softmax(self, dim, dtype=None):
    return softmax(self, dim, dtype)


def _t_log_softmax(self, dim, dtype=None):
    return log_softmax(self, dim, dtype)


register("softmax", softmax, method=_t_softmax)
register("log_softmax", log_softmax, method=_t_log_softmax)
