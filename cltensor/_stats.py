"""Statistics built from other ops: bincount, histc, histogram, histogramdd, quantile / nanquantile, nanmedian,
mode, cov, corrcoef, cdist, trapezoid / cumulative_trapezoid, gradient, renorm.

Counting ops (bincount, histc, histogram*) compute each element's bin with elementwise ops and add into the bins
with one atomic scatter_add launch (cltensor/_index). bincount and histc with min == max read the data's extent on
the host first, as PyTorch does (their output size or range depends on the values). Autograd comes from the ops
these are made of (sort, gather, lerp, mm ...), where PyTorch differentiates them."""
import math
import warnings

from . import _dtypes as D
from ._creation import tensor as _tensor, zeros, full, linspace, arange
from ._reductions import _finish_out, _rtype, return_types as _RT
from ._registry import register
from ._search import _search
from ._tensor import Tensor
from .autograd import _tape as AG

for _n in ("nanmedian", "mode"):
    _rtype(_n)
_rtype("histogram", ("hist", "bin_edges"))
_rtype("histogramdd", ("hist", "bin_edges"))


def _pt(dt):
    """PyTorch's scalar type name of a dtype (error messages): 'Float', 'Long' ..."""
    return {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long",
            "float16": "Half", "float32": "Float", "float64": "Double", "complex64": "ComplexFloat",
            "complex128": "ComplexDouble"}[dt.name]


# ---------------------------------------------------------------- counting

@register("bincount", method=True)
def bincount(input, weights=None, minlength=0):
    """Occurrences of each value of a 1-D non-negative integer tensor (summed weights with `weights`)."""
    if input._dtype.is_floating_point or input._dtype.is_complex:
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{_pt(input._dtype)}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if input.dim() != 1 or (input._dtype is D.bool_ and False):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is not None and (weights.dim() != 1 or weights._shape[0] != input._shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    odt = D.int64 if weights is None else (weights._dtype if weights._dtype in (D.float32, D.float64)
                                           else D.float64)
    if input.numel() == 0:
        return zeros(minlength, dtype=odt, device=input._device)
    # the output size depends on the values: one host read of (min, max) (PyTorch reads them too)
    with AG.no_grad():
        x = input.to(D.int64)
        lo, hi = (int(v) for v in x.aminmax())
    if lo < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    out = zeros(max(hi + 1, minlength), dtype=odt, device=input._device)
    with AG.no_grad():
        src = weights.to(odt) if weights is not None else full((x.numel(),), 1, dtype=D.int64, device=x._device)
        return out.scatter_add_(0, x, src)


def _check_float(x, name):
    if not x._dtype.is_floating_point:
        raise NotImplementedError(f"\"{name}\" not implemented for '{_pt(x._dtype)}'")


def _count(pos, valid, nbins, dtype, weight=None):
    """Bins of the valid positions: zeros(nbins).scatter_add_(0, pos, weight or 1), invalid ones adding 0."""
    with AG.no_grad():
        pos = pos.where(valid, 0).reshape(-1)
        w = valid.to(dtype) if weight is None else (weight.to(dtype) * valid)
        return zeros(nbins, dtype=dtype, device=pos._device).scatter_add_(0, pos, w.reshape(-1))


@register("histc", method=True)
def histc(input, bins=100, min=0, max=0, *, out=None):
    """Histogram of `bins` equal bins over [min, max] (the data's extent when min == max); values outside and
    NaN are ignored."""
    _check_float(input, "histogram_cpu")
    if bins <= 0:
        raise RuntimeError(f"torch.histc(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError(f"torch.histc(): max must be larger than min")
    if lo == hi and input.numel():
        with AG.no_grad():      # the range depends on the data: one host read (as PyTorch)
            lo, hi = (float(v) for v in input.detach().aminmax())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc(): range of [{lo}, {hi}] is not finite")
    with AG.no_grad():
        x = input.detach()
        # PyTorch's linear interpolation: (x - min) * bins / (max - min), computed in the input's dtype
        pos = ((x - lo) * bins / (hi - lo)).to(D.int64)
        pos = pos.where(x != hi, bins - 1).clamp(0, bins - 1)
        valid = (x >= lo) & (x <= hi)
        r = _count(pos, valid, bins, x._dtype)
    return _finish_out(r, out, "histc")


def _edges_of(x, bins, rng, dim_i=0):
    """Bin edges of one dimension: a tensor as given, or `bins` equal bins over `rng` / the data's extent."""
    if isinstance(bins, Tensor):
        if bins.dim() != 1:
            raise RuntimeError("torch.histogram(): bins tensor should have one dimension, but got "
                               f"{bins.dim()} dimensions")
        return bins.to(x._dtype)
    if bins <= 0:
        raise RuntimeError(f"torch.histogramdd(): bins must be > 0, but got {bins} for dimension {dim_i}")
    if rng is None:
        if x.numel():
            with AG.no_grad():      # the range depends on the data: one host read (as PyTorch)
                lo, hi = (float(v) for v in x.aminmax())
        else:
            lo, hi = 0.0, 0.0
    else:
        lo, hi = float(rng[0]), float(rng[1])
        if lo > hi:
            raise RuntimeError(f"torch.histogramdd(): min should not exceed max, but got min {lo} max {hi} for "
                               f"dimension {dim_i}")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histogramdd(): dimension {dim_i}'s range [{lo}, {hi}] is not finite")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return linspace(lo, hi, bins + 1, dtype=x._dtype, device=x._device)


def _bin_pos(x, edges):
    """Bin of each value among sorted edges (right edge of the last bin included) and whether it falls in one."""
    nb = edges.numel() - 1
    pos = _search(edges, x, True, None, False) - 1
    last = edges[-1]
    pos = pos.where(x != last, nb - 1).clamp(0, max(nb - 1, 0))
    valid = (x >= edges[0]) & (x <= last)
    return pos, valid


@register("histogram", method=True)
def histogram(input, bins=100, *, range=None, weight=None, density=False, out=None):
    """(hist, bin_edges): histogram of input over `bins` (a count of equal bins, or the edges)."""
    _check_float(input, "histogram_cpu")
    if weight is not None and tuple(weight._shape) != tuple(input._shape):
        raise RuntimeError("torch.histogram(): if weight tensor is provided it should have the same shape as the "
                           f"input tensor excluding its innermost dimension, but got input with shape "
                           f"{list(input._shape)} and weight with shape {list(weight._shape)}")
    with AG.no_grad():
        x = input.detach().reshape(-1)
        edges = _edges_of(x, bins, range)
        nb = edges.numel() - 1
        pos, valid = _bin_pos(x, edges)
        h = _count(pos, valid, nb, x._dtype, None if weight is None else weight.detach().reshape(-1))
        if density:
            h = h / (h.sum() * edges.diff())
    r = _RT.histogram(h, edges)
    if out is not None:
        _finish_out(h, out[0], "histogram")
        _finish_out(edges, out[1], "histogram")
        return _RT.histogram(out[0], out[1])
    return r


@register("histogramdd")
def histogramdd(input, bins=10, *, range=None, weight=None, density=False):
    """(hist, bin_edges): a D-dimensional histogram of the points in input's last dim."""
    _check_float(input, "histogramdd_cpu")
    if input.dim() < 1:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 1 dimension, but got 0")
    N = input._shape[-1]
    if isinstance(bins, int):
        bins = [bins] * N
    if len(bins) != N:
        raise RuntimeError(f"torch.histogramdd(): expected {N} bin tensors or counts, but got {len(bins)}")
    if range is not None and len(range) != 2 * N:
        raise RuntimeError(f"torch.histogramdd(): for a {N}-dimensional histogram range should have {2 * N} "
                           f"elements, but got {len(range)}")
    with AG.no_grad():
        x = input.detach().reshape(-1, N)
        edges, lin, valid, sizes = [], None, None, []
        for i in builtins_range(N):
            e = _edges_of(x[:, i], bins[i], None if range is None else range[2 * i:2 * i + 2], i)
            edges.append(e)
            sizes.append(e.numel() - 1)
        for i in builtins_range(N):
            p, v = _bin_pos(x[:, i], edges[i])
            lin = p if lin is None else lin * sizes[i] + p
            valid = v if valid is None else valid & v
        total = 1
        for s in sizes:
            total *= s
        if x._shape[0] == 0 or N == 0:
            h = zeros(total, dtype=x._dtype, device=x._device)
        else:
            h = _count(lin, valid, total, x._dtype, None if weight is None else weight.detach().reshape(-1))
        h = h.reshape(tuple(sizes))
        if density:
            h = h / h.sum()
            for i, e in enumerate(edges):
                shp = [1] * N
                shp[i] = sizes[i]
                h = h / e.diff().reshape(shp)
    return _RT.histogramdd(h, tuple(edges))


builtins_range = range


# ---------------------------------------------------------------- order statistics

_INTERP = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, name):
    x = input
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    if x.numel() == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if x._dtype not in (D.float32, D.float64):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if interpolation not in _INTERP:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest, "
                           f"but got {interpolation}")
    if isinstance(q, Tensor):
        if q.dim() > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if q._dtype is not x._dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        with AG.no_grad():      # PyTorch checks the range of q on the host too
            if q.numel() and not bool(((q >= 0) & (q <= 1)).all()):
                raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
        qv, qdim = q.detach().reshape(-1), q.dim()
    else:
        if not (0 <= q <= 1):
            raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}")
        qv, qdim = _tensor([float(q)], dtype=x._dtype, device=x._device), 0
    if dim is None:
        xs = x.reshape(-1)
        rshape = (1,) * x.dim() if keepdim else ()
    else:
        d = dim + x.dim() if dim < 0 else dim
        if not 0 <= d < max(x.dim(), 1):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-max(x.dim(), 1)}, "
                             f"{max(x.dim(), 1) - 1}], but got {dim})")
        xs = x.movedim(d, -1) if x.dim() else x.reshape(1)
        rshape = tuple(s if i != d else 1 for i, s in enumerate(x._shape)) if keepdim else \
            tuple(s for i, s in enumerate(x._shape) if i != d)
    L = xs._shape[-1]
    sv = xs.sort(-1)[0]
    sv = sv.reshape(rshape + (L,)) if rshape else sv.reshape(L)
    with AG.no_grad():
        isn = sv.detach().isnan()
        if ignore_nan:
            k = isn.logical_not().sum(-1, keepdim=True)
            ranks = qv * (k - 1).to(x._dtype)
            ranks = ranks.masked_fill(ranks < 0, 0)
        else:
            ranks = (qv * (L - 1)).expand(*(rshape + (qv.numel(),))) if rshape else qv * (L - 1)
            ranks = ranks.masked_fill(isn.any(-1, keepdim=True), L - 1)
        if interpolation == "lower":
            ranks = ranks.floor()
        elif interpolation == "higher":
            ranks = ranks.ceil()
        elif interpolation == "nearest":
            ranks = ranks.round()
        below = ranks.to(D.int64)
        above = ranks.ceil().to(D.int64)
        w = full(tuple(ranks._shape), 0.5, dtype=x._dtype, device=x._device) if interpolation == "midpoint" \
            else ranks - below
    vb = sv.gather(-1, below)
    if interpolation in ("linear", "midpoint"):
        vb = vb.lerp(sv.gather(-1, above), w)
    if qdim == 0:
        return vb.squeeze(-1)
    return vb.movedim(-1, 0)


@register("quantile", method=True)
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """The q-th quantiles of input (over all elements, or along dim); NaN where a row holds NaN."""
    return _finish_out(_quantile(input, q, dim, keepdim, interpolation, False, "quantile"), out, "quantile")


@register("nanquantile", method=True)
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """quantile ignoring NaN values (NaN only where a row holds nothing else)."""
    return _finish_out(_quantile(input, q, dim, keepdim, interpolation, True, "nanquantile"), out, "nanquantile")


@register("nanmedian", method=True)
def nanmedian(input, dim=None, keepdim=False, *, out=None):
    """Lower median of the non-NaN values (NaN where there are none); with dim, (values, indices)."""
    x = input
    if x._dtype.is_complex:
        raise RuntimeError("nanmedian() is not implemented for complex tensors")   # as torch: no ordering
    if not x._dtype.is_floating_point:
        return x.median() if dim is None else _RT.nanmedian(*x.median(dim, keepdim, out=out))
    if dim is None:
        if x.numel() == 0:
            return full((), math.nan, dtype=x._dtype, device=x._device)
        sv = x.reshape(-1).sort()[0]
        with AG.no_grad():
            pos = _nanmedian_pos(sv.detach())
        return sv.gather(-1, pos).reshape(())
    return _sorted_pick(x, dim, keepdim, out, "nanmedian", _nanmedian_pos)


def _nanmedian_pos(s):
    """Position of the lower median of the non-NaN values in sorted s (NaNs sort last), along the last dim."""
    k = s.isnan().logical_not().sum(-1, keepdim=True)
    return (k - 1).clamp(min=0) // 2


@register("mode", method=True)
def mode(input, dim=-1, keepdim=False, *, out=None):
    """(values, indices): the most frequent value along dim (the smallest among equally frequent ones) and the
    index of its last occurrence."""
    x = input
    if x._dtype.is_complex:
        raise RuntimeError("mode(): complex tensors are not supported")
    return _sorted_pick(x, dim, keepdim, out, "mode", _mode_pos)


def _mode_pos(s):
    """Position, in sorted s, of the end of the first longest run of equal values (along the last dim): its
    length is reached first there, so ties go to the smallest value."""
    L = s._shape[-1]
    j = arange(L, device=s._device).expand(*s._shape)
    if L > 1:
        new = s[..., 1:] != s[..., :-1]
        first = full(s._shape[:-1] + (1,), True, dtype=D.bool_, device=s._device)
        start = j.where(_cat_last(first, new), 0)
        start = start.cummax(-1)[0]
        run = j - start
    else:
        run = j * 0
    return run.argmax(-1, keepdim=True)


def _sorted_pick(x, dim, keepdim, out, name, pick):
    """(values, indices) along dim of the element that pick(sorted values) chooses after a stable sort: the
    shared part of nanmedian(dim) and mode (dim checks, sort, gather, keepdim, out=)."""
    nd = max(x.dim(), 1)
    d = dim + nd if dim < 0 else dim
    if not 0 <= d < nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})")
    if x.dim() and x._shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    xs = x.movedim(d, -1) if x.dim() else x.reshape(1)
    sv, si = xs.sort(-1, stable=True)
    with AG.no_grad():
        pos = pick(sv.detach())
    v, i = sv.gather(-1, pos), si.gather(-1, pos)
    if keepdim and x.dim():
        v, i = v.movedim(-1, d), i.movedim(-1, d)
    else:
        v, i = v.squeeze(-1), i.squeeze(-1)
    rt = getattr(_RT, name)
    if out is not None:
        _finish_out(v, out[0], name)
        _finish_out(i, out[1], name)
        return rt(out[0], out[1])
    return rt(v, i)


def _cat_last(a, b):
    from ._shape import cat
    return cat([a, b], -1)


# ---------------------------------------------------------------- covariance, distances

@register("cov", method=True)
def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance matrix of the variables in input's rows (observations in columns), as PyTorch."""
    x = input
    if x.dim() > 2:
        raise RuntimeError("cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{x.dim()} dimensions")
    if x._dtype is D.bool_:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    xin = x.reshape(1, -1) if x.dim() < 2 else x
    nobs = xin._shape[1]
    w = None
    if fweights is not None:
        if fweights.dim() > 1:
            raise RuntimeError("cov(): expected fweights to have one or fewer dimensions but got fweights with "
                               f"{fweights.dim()} dimensions")
        if fweights._dtype.is_floating_point or fweights._dtype.is_complex:
            raise RuntimeError("cov(): expected fweights to have integral dtype but got fweights with "
                               f"{_pt(fweights._dtype)} dtype")
        if fweights.numel() != nobs:
            raise RuntimeError(f"cov(): expected fweights to have the same numel as there are observations in the "
                               f"input but got {fweights.numel()} != {nobs}")
        if nobs and bool((fweights < 0).any()):
            raise RuntimeError("cov(): fweights cannot be negative")
        w = fweights
    if aweights is not None:
        if aweights.dim() > 1:
            raise RuntimeError("cov(): expected aweights to have one or fewer dimensions but got aweights with "
                               f"{aweights.dim()} dimensions")
        if not aweights._dtype.is_floating_point:
            raise RuntimeError("cov(): expected aweights to have floating point dtype but got aweights with "
                               f"{_pt(aweights._dtype)} dtype")
        if aweights.numel() != nobs:
            raise RuntimeError(f"cov(): expected aweights to have the same numel as there are observations in the "
                               f"input but got {aweights.numel()} != {nobs}")
        if nobs and bool((aweights < 0).any()):
            raise RuntimeError("cov(): aweights cannot be negative")
        w = aweights if w is None else w * aweights
    if w is not None:
        w_sum = w.sum()
        if not bool(w_sum != 0):
            raise RuntimeError("cov(): weights sum to zero, can't be normalized")
        avg = (xin * w).sum(1) / w_sum
    else:
        w_sum = _tensor(nobs, dtype=D.int64, device=x._device)
        avg = xin.sum(1) / w_sum
    if w is not None and correction != 0:
        if aweights is not None:
            norm = w_sum - correction * (w * aweights).sum() / w_sum
        else:
            norm = w_sum - correction
    else:
        norm = w_sum - correction
    if bool(norm <= 0):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.")
        norm = norm * 0
    xc = xin - avg.unsqueeze(1)
    c = xc.mm((xc * w if w is not None else xc).t().conj())
    return c.true_divide(norm).squeeze()


@register("corrcoef", method=True)
def corrcoef(input):
    """Pearson correlation coefficients of the variables in input's rows."""
    c = cov(input)
    if c.dim() == 0:
        return c / c
    d = c.diagonal()
    sd = (d.real if d._dtype.is_complex else d).sqrt()
    c = c / sd.reshape(-1, 1)
    c = c / sd.reshape(1, -1)
    if c._dtype.is_complex:
        from ._composite import complex as _complex
        return _complex(c.real.clip(-1, 1), c.imag.clip(-1, 1))
    return c.clip(-1, 1)


@register("cdist")
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """p-norm distances between each row of x1 (.., P, M) and each row of x2 (.., R, M)."""
    if x1.dim() < 2 or x2.dim() < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.dim()}D")
    if x1._shape[-1] != x2._shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1._shape[-1]} X2: "
                           f"{x2._shape[-1]}")
    if not x1._dtype.is_floating_point or not x2._dtype.is_floating_point:
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {_pt(x1._dtype)}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    modes = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")
    if compute_mode not in modes:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    P, R = x1._shape[-2], x2._shape[-2]
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or
                         (compute_mode == modes[0] and (P > 25 or R > 25)))
    if use_mm:
        # |a|^2 - 2 a.b + |b|^2 (PyTorch's _euclidean_dist), clamped at 0 before the square root
        a2 = (x1 * x1).sum(-1, keepdim=True)
        b2 = (x2 * x2).sum(-1, keepdim=True)
        d2 = a2 - 2 * x1.matmul(x2.transpose(-1, -2)) + b2.transpose(-1, -2)
        return d2.clamp_min(0).sqrt()
    diff = (x1.unsqueeze(-2) - x2.unsqueeze(-3)).abs()
    if p == 0:
        return (diff != 0).to(diff._dtype).sum(-1)
    if p == math.inf:
        return diff.amax(-1) if diff._shape[-1] else diff.sum(-1)
    if p == 1:
        return diff.sum(-1)
    if p == 2:
        s = (diff * diff).sum(-1)
        return _sqrt0(s)
    return _root0(diff.pow(p).sum(-1), p)


def _sqrt0(s):
    """sqrt with a zero gradient at 0 (PyTorch's cdist backward gives 0 for coincident points)."""
    r = s.sqrt()
    if AG.needs_grad(s):
        with AG.no_grad():
            z = s == 0
        r = (s + z.to(s._dtype)).sqrt() * z.logical_not().to(s._dtype)
    return r


def _root0(s, p):
    r = s.pow(1.0 / p)
    if AG.needs_grad(s):
        with AG.no_grad():
            z = s == 0
        r = (s + z.to(s._dtype)).pow(1.0 / p) * z.logical_not().to(s._dtype)
    return r


# ---------------------------------------------------------------- integration and differences

def _trap_dx(name, y, dim, dx):
    d = dim + y.dim() if dim < 0 else dim
    n = y._shape[d]
    if n == 0:
        return y.sum(d) * 0
    left, right = y.narrow(d, 0, n - 1), y.narrow(d, 1, n - 1)
    return left, right, d


@register("trapezoid")
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """Integral of y along dim by the trapezoidal rule (samples at x, or spacing dx)."""
    if isinstance(x, (int, float)) and dx is None:
        x, dx = None, x
    if y.dim() == 0:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got -1)")
    d = dim + y.dim() if dim < 0 else dim
    n = y._shape[d]
    if n == 0:
        return y.sum(d) * 0
    left, right = y.narrow(d, 0, n - 1), y.narrow(d, 1, n - 1)
    if x is None:
        return ((left + right) * ((1 if dx is None else dx) / 2)).sum(d)
    if x.dim() == 1:
        if x._shape[0] != n:
            raise RuntimeError(f"trapezoid: There must be one `x` value for each sample point")
        dxs = x.diff()
        shp = [1] * y.dim()
        shp[d] = n - 1
        dxs = dxs.reshape(shp)
    else:
        xd = dim + x.dim() if dim < 0 else dim
        dxs = x.diff(dim=xd)
    return (dxs * (left + right)).sum(d) / 2


register("trapz", trapezoid, alias_of="trapezoid")


@register("cumulative_trapezoid")
def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """Running trapezoidal integral of y along dim (one fewer element than y there)."""
    if isinstance(x, (int, float)) and dx is None:
        x, dx = None, x
    d = dim + y.dim() if dim < 0 else dim
    n = y._shape[d]
    if n == 0:
        return y.narrow(d, 0, 0) * 1.0
    left, right = y.narrow(d, 0, n - 1), y.narrow(d, 1, n - 1)
    if x is None:
        return ((left + right) * ((1 if dx is None else dx) / 2)).cumsum(d)
    if x.dim() == 1:
        dxs = x.diff()
        shp = [1] * y.dim()
        shp[d] = n - 1
        dxs = dxs.reshape(shp)
    else:
        dxs = x.diff(dim=dim + x.dim() if dim < 0 else dim)
    return (dxs * (left + right) / 2).cumsum(d)


@register("gradient")
def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Estimated derivative of input along each dim (or the given dims) by central differences, one-sided at
    the edges (first or second order); `spacing` a scalar, one scalar per dim, or one coordinate tensor per dim."""
    x = input
    if dim is None:
        dims = list(builtins_range(x.dim()))
    elif isinstance(dim, int):
        dims = [dim + x.dim() if dim < 0 else dim]
    else:
        dims = [d + x.dim() if d < 0 else d for d in dim]
    if edge_order not in (1, 2):
        raise RuntimeError(f"torch.gradient only supports edge_order=1 and edge_order=2.")
    if isinstance(spacing, (list, tuple)):
        sp = list(spacing)
        if len(sp) != len(dims):
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and "
                               f"dim arguments to have the same length, but got a spacing argument of length "
                               f"{len(sp)} and a dim argument of length {len(dims)}.")
    else:
        sp = [spacing] * len(dims)
    if x._dtype is D.bool_ or not (x._dtype.is_floating_point or x._dtype.is_complex):
        x = x.to(D.get_default_dtype())
    outs = []
    for d, h in zip(dims, sp):
        n = x._shape[d]
        if n < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
        sl = lambda a, b: x.narrow(d, a, b - a)     # noqa: E731
        if isinstance(h, Tensor):
            if h.dim() == 0:
                h = float(h)
        if isinstance(h, Tensor):
            shp = [1] * x.dim()
            shp[d] = n - 2
            c = h.to(x._dtype)
            ax = c.diff()
            a_, b_ = ax[:-1].reshape(shp), ax[1:].reshape(shp)
            interior = (a_ * a_ * sl(2, n) - b_ * b_ * sl(0, n - 2) + (b_ * b_ - a_ * a_) * sl(1, n - 1)) / \
                (a_ * b_ * (a_ + b_))
            h0, hn = float(ax[0]), float(ax[-1])
            if edge_order == 1:
                first = (sl(1, 2) - sl(0, 1)) / h0
                last = (sl(n - 1, n) - sl(n - 2, n - 1)) / hn
            else:
                h1, hn1 = float(ax[1]), float(ax[-2])
                a, b, cc = -(2 * h0 + h1) / (h0 * (h0 + h1)), (h0 + h1) / (h0 * h1), -h0 / (h1 * (h0 + h1))
                first = a * sl(0, 1) + b * sl(1, 2) + cc * sl(2, 3)
                a, b, cc = hn / (hn1 * (hn1 + hn)), -(hn + hn1) / (hn1 * hn), (2 * hn + hn1) / (hn * (hn1 + hn))
                last = a * sl(n - 3, n - 2) + b * sl(n - 2, n - 1) + cc * sl(n - 1, n)
        else:
            h = float(h)
            interior = (sl(2, n) - sl(0, n - 2)) / (2 * h)
            if edge_order == 1:
                first = (sl(1, 2) - sl(0, 1)) / h
                last = (sl(n - 1, n) - sl(n - 2, n - 1)) / h
            else:
                first = (-1.5 * sl(0, 1) + 2 * sl(1, 2) - 0.5 * sl(2, 3)) / h
                last = (0.5 * sl(n - 3, n - 2) - 2 * sl(n - 2, n - 1) + 1.5 * sl(n - 1, n)) / h
        from ._shape import cat
        outs.append(cat([first, interior, last], d))
    return tuple(outs)


def renorm(input, p, dim, maxnorm, *, out=None):
    """Each slice along dim whose p-norm exceeds maxnorm is scaled to norm maxnorm (PyTorch: maxnorm / (norm +
    1e-7))."""
    x = input
    if x._dtype.is_complex:
        raise RuntimeError("renorm: input needs to be floating point (complex is not supported)")
    if not x._dtype.is_floating_point:
        raise RuntimeError(f"renorm: input needs to be a floating point dtype, got {_pt(x._dtype)}")
    if p < 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    nd = x.dim()
    d = dim + nd if dim < 0 else dim
    if not 0 <= d < max(nd, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})")
    if nd <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {nd} dimensions")
    others = tuple(i for i in builtins_range(nd) if i != d)
    if True:
        xd = x
        if p == math.inf:
            nrm = xd.abs().amax(others, keepdim=True)
        elif p == 0:
            nrm = (xd != 0).to(x._dtype).sum(others, keepdim=True)
        else:
            nrm = xd.abs().pow(p).sum(others, keepdim=True).pow(1.0 / p)
        f = (maxnorm / (nrm + 1e-7)).where(nrm > maxnorm, 1.0).to(x._dtype)
    r = x * f
    return _finish_out(r, out, "renorm")


def _renorm_(self, p, dim, maxnorm):
    r = renorm(self.detach(), p, dim, maxnorm)
    return self.copy_(r)


register("renorm", renorm, method=True, inplace=_renorm_)
