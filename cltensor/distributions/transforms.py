"""Transforms y = f(x) with log|det J| (what TransformedDistribution needs): elementwise (Exp, Affine, Sigmoid,
Tanh, Power, Softplus, Abs, a distribution's CDF), on vectors and matrices (Softmax, StickBreaking, LowerCholesky,
PositiveDefinite, CorrCholesky, Reshape) and combinators (Compose, Independent, Cat, Stack); `t.inv` is the
inverse transform. A transform built with cache_size=1 remembers its last (x, y) pair, so inverting a value it
produced returns the exact x."""
import math
import numbers

from . import constraints
from ._ns import T

__all__ = ["Transform", "ComposeTransform", "ExpTransform", "AffineTransform", "SigmoidTransform",
           "TanhTransform", "PowerTransform", "identity_transform", "AbsTransform", "CatTransform",
           "CorrCholeskyTransform", "CumulativeDistributionTransform", "IndependentTransform",
           "LowerCholeskyTransform", "PositiveDefiniteTransform", "ReshapeTransform", "SoftmaxTransform",
           "SoftplusTransform", "StackTransform", "StickBreakingTransform"]


def _softplus(x):
    # log(1 + exp(x)) = -log sigmoid(-x): exact for every x, and its gradient is sigmoid(x) at x = 0 too
    return -T.nn.functional.logsigmoid(-x)


def _sum_rightmost(x, n):
    if n <= 0 or not isinstance(x, T.Tensor):
        return x
    return x.reshape(tuple(x.shape[:x.dim() - n]) + (-1,)).sum(-1)


class Transform:
    """y = self(x); self.inv(y) = x; log_abs_det_jacobian(x, y) elementwise over the domain's event_dim."""
    bijective = False
    domain = constraints.real
    codomain = constraints.real

    def __init__(self, cache_size=0):
        if cache_size not in (0, 1):
            raise ValueError("cache_size must be 0 or 1")
        self._cache_size = cache_size
        self._last = None          # (x, y) of the latest call when caching
        self._inv = None

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        raise NotImplementedError(f"{type(self)}.with_cache is not implemented")

    @property
    def event_dim(self):
        if self.domain.event_dim == self.codomain.event_dim:
            return self.domain.event_dim
        raise ValueError("Please use either .domain.event_dim or .codomain.event_dim")

    @property
    def inv(self):
        if self._inv is None:
            self._inv = _InverseTransform(self)
        return self._inv

    @property
    def sign(self):
        raise NotImplementedError

    def __call__(self, x):
        if not self._cache_size:
            return self._call(x)
        if self._last is not None and self._last[0] is x:
            return self._last[1]
        y = self._call(x)
        self._last = (x, y)
        return y

    def _inverse_of(self, y):
        """x with self(x) == y: the remembered x when y is the latest output, else computed."""
        if not self._cache_size:
            return self._inv_call(y)
        if self._last is not None and self._last[1] is y:
            return self._last[0]
        x = self._inv_call(y)
        self._last = (x, y)
        return x

    def _inv_call(self, y):
        raise NotImplementedError

    def log_abs_det_jacobian(self, x, y):
        raise NotImplementedError

    def forward_shape(self, shape):
        return shape

    def inverse_shape(self, shape):
        return shape

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = object.__hash__

    def __repr__(self):
        return self.__class__.__name__ + "()"


class _InverseTransform(Transform):
    def __init__(self, transform):
        super().__init__()
        self._inv = transform

    @property
    def domain(self):
        return self._inv.codomain

    @property
    def codomain(self):
        return self._inv.domain

    @property
    def bijective(self):
        return self._inv.bijective

    @property
    def sign(self):
        return self._inv.sign

    @property
    def inv(self):
        return self._inv

    def __eq__(self, other):
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    __hash__ = object.__hash__

    def __call__(self, x):
        return self._inv._inverse_of(x)

    def with_cache(self, cache_size=1):
        return self._inv.with_cache(cache_size).inv

    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    def __repr__(self):
        return f"_InverseTransform({self._inv!r})"


class ComposeTransform(Transform):
    """parts applied left to right."""

    def __init__(self, parts, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.parts = [p.with_cache(cache_size) for p in parts]

    def with_cache(self, cache_size=1):
        return self if self._cache_size == cache_size else ComposeTransform(self.parts, cache_size=cache_size)

    @property
    def bijective(self):
        return all(p.bijective for p in self.parts)

    def _end_event_dim(self, forward):
        """Event dims the composition needs at its input (forward=False) or gives at its output (True): each
        part may add or remove event dims, and a part needing more than it is given forces more at the input."""
        parts = self.parts if forward else list(reversed(self.parts))
        ed = parts[0].domain.event_dim if forward else parts[0].codomain.event_dim
        for p in parts:
            src, dst = (p.domain, p.codomain) if forward else (p.codomain, p.domain)
            ed = max(ed, src.event_dim) - src.event_dim + dst.event_dim
        return ed

    @property
    def domain(self):
        if not self.parts:
            return constraints.real
        d = self.parts[0].domain
        ed = self._end_event_dim(False)
        return constraints.independent(d, ed - d.event_dim) if ed > d.event_dim else d

    @property
    def codomain(self):
        if not self.parts:
            return constraints.real
        d = self.parts[-1].codomain
        ed = self._end_event_dim(True)
        return constraints.independent(d, ed - d.event_dim) if ed > d.event_dim else d

    @property
    def sign(self):
        s = 1
        for p in self.parts:
            s = s * p.sign
        return s


    def __call__(self, x):
        for p in self.parts:
            x = p(x)
        return x

    def _inv_call(self, y):
        for p in reversed(self.parts):
            y = p.inv(y)
        return y

    def forward_shape(self, shape):
        for p in self.parts:
            shape = p.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):
        for p in reversed(self.parts):
            shape = p.inverse_shape(shape)
        return shape

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return T.zeros_like(x)
        total = 0
        ed = self.domain.event_dim          # event dims of the current intermediate value
        last = len(self.parts) - 1
        for i, p in enumerate(self.parts):
            y_i = y if i == last else p(x)
            total = total + _sum_rightmost(p.log_abs_det_jacobian(x, y_i), ed - p.domain.event_dim)
            ed += p.codomain.event_dim - p.domain.event_dim
            x = y_i
        return total

    def __eq__(self, other):
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    __hash__ = object.__hash__

    def __repr__(self):
        return "ComposeTransform(\n    " + ",\n    ".join(repr(p) for p in self.parts) + "\n)"


identity_transform = ComposeTransform([])


class ExpTransform(Transform):
    """y = exp(x)."""
    codomain = constraints.positive
    bijective = True
    sign = 1

    def __eq__(self, other):
        return isinstance(other, ExpTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        return x.exp()

    def _inv_call(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        return x


class SigmoidTransform(Transform):
    """y = 1 / (1 + exp(-x))."""
    codomain = constraints.unit_interval
    bijective = True
    sign = 1

    def __eq__(self, other):
        return isinstance(other, SigmoidTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        fi = T.finfo(x.dtype)
        return x.sigmoid().clamp(min=fi.tiny, max=1.0 - fi.eps)

    def _inv_call(self, y):
        fi = T.finfo(y.dtype)
        y = y.clamp(min=fi.tiny, max=1.0 - fi.eps)
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x, y):
        return -_softplus(-x) - _softplus(x)


class TanhTransform(Transform):
    """y = tanh(x)."""
    codomain = constraints.interval(-1.0, 1.0)
    bijective = True
    sign = 1

    def __eq__(self, other):
        return isinstance(other, TanhTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        return x.tanh()

    def _inv_call(self, y):
        return 0.5 * ((1 + y).log() - (1 - y).log())

    def log_abs_det_jacobian(self, x, y):
        # log(1 - tanh(x)^2) = 2 (log 2 - x - softplus(-2x))
        return 2.0 * (math.log(2.0) - x - _softplus(-2.0 * x))


class PowerTransform(Transform):
    """y = x ** exponent on positive x."""
    domain = constraints.positive
    codomain = constraints.positive
    bijective = True

    def __init__(self, exponent, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.exponent = exponent

    def with_cache(self, cache_size=1):
        return self if self._cache_size == cache_size else PowerTransform(self.exponent, cache_size=cache_size)

    @property
    def sign(self):
        e = self.exponent
        if isinstance(e, numbers.Real):
            return 1 if e > 0 else -1 if e < 0 else 0
        return e.sign()

    def __eq__(self, other):
        if not isinstance(other, PowerTransform):
            return False
        eq = self.exponent == other.exponent
        return bool(eq.all()) if isinstance(eq, T.Tensor) else bool(eq)

    __hash__ = object.__hash__

    def _call(self, x):
        return x.pow(self.exponent)

    def _inv_call(self, y):
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        e = self.exponent
        return (e * y / x).abs().log()


class AffineTransform(Transform):
    """y = loc + scale * x (event_dim rightmost dimensions form one event)."""
    bijective = True

    def __init__(self, loc, scale, event_dim=0, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.loc, self.scale = loc, scale
        self._event_dim = event_dim

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return AffineTransform(self.loc, self.scale, self._event_dim, cache_size=cache_size)

    @property
    def event_dim(self):
        return self._event_dim

    @property
    def domain(self):
        return constraints.real if self._event_dim == 0 else constraints.independent(constraints.real,
                                                                                     self._event_dim)

    @property
    def codomain(self):
        return self.domain

    @property
    def sign(self):
        if isinstance(self.scale, numbers.Real):
            return 1 if float(self.scale) > 0 else -1 if float(self.scale) < 0 else 0
        return self.scale.sign()

    def _call(self, x):
        return self.loc + self.scale * x

    def _inv_call(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        if isinstance(self.scale, numbers.Real):
            r = T.full_like(x, math.log(abs(self.scale)))
        else:
            r = self.scale.abs().log()
            r = r.expand(tuple(T.broadcast_shapes(tuple(r.shape), tuple(x.shape))))
        return _sum_rightmost(r, self._event_dim)

    def __repr__(self):
        return "AffineTransform()"


def _same_value(a, b):
    """a == b for numbers or tensors (all elements)."""
    if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
        return a == b
    eq = a == b
    return bool(eq.all()) if isinstance(eq, T.Tensor) else bool(eq)


def _affine_eq(self, other):
    return (isinstance(other, AffineTransform) and self._event_dim == other._event_dim
            and _same_value(self.loc, other.loc) and _same_value(self.scale, other.scale))


AffineTransform.__eq__ = _affine_eq
AffineTransform.__hash__ = object.__hash__


class AbsTransform(Transform):
    """y = |x| (not injective: the inverse picks the nonnegative preimage)."""
    domain = constraints.real
    codomain = constraints.positive

    def __eq__(self, other):
        return isinstance(other, AbsTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        return x.abs()

    def _inv_call(self, y):
        return y


class SoftplusTransform(Transform):
    """y = log(1 + exp(x)); x = y + log(1 - exp(-y))."""
    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = 1

    def __eq__(self, other):
        return isinstance(other, SoftplusTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        return _softplus(x)

    def _inv_call(self, y):
        return y + (-(-y).expm1()).log()

    def log_abs_det_jacobian(self, x, y):
        return -_softplus(-x)          # log sigmoid(x)


class SoftmaxTransform(Transform):
    """Real vectors to the simplex by exp and normalisation (not injective: the inverse is log)."""
    domain = constraints.real_vector
    codomain = constraints.simplex

    def __eq__(self, other):
        return isinstance(other, SoftmaxTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        e = (x - x.max(-1, keepdim=True)[0]).exp()
        return e / e.sum(-1, keepdim=True)

    def _inv_call(self, y):
        return y.log()


def _stick_offsets(k, like):
    """log(k), log(k - 1), ..., log(1): the shift that maps x = 0 to the centre of the simplex."""
    return T.arange(k, 0, -1, dtype=like.dtype, device=like.device).log()


class StickBreakingTransform(Transform):
    """R^K to the (K+1)-simplex: the i-th coordinate takes the fraction sigmoid(x_i - log(K - i)) of what is left
    of the stick; the last coordinate takes the rest."""
    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    def __eq__(self, other):
        return isinstance(other, StickBreakingTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        frac = (x - _stick_offsets(x.shape[-1], x)).sigmoid()
        left = (1 - frac).cumprod(-1)                          # stick left after each break
        ones = T.ones(tuple(x.shape[:-1]) + (1,), dtype=x.dtype, device=x.device)
        return T.cat([frac, ones], -1) * T.cat([ones, left], -1)

    def _inv_call(self, y):
        # frac_i = y_i / (1 - sum_{j<i} y_j), so logit(frac_i) = log y_i - log(1 - sum_{j<=i} y_j)
        head = y[..., :-1]
        rest = (1 - head.cumsum(-1)).clamp(min=T.finfo(y.dtype).tiny)
        return head.log() - rest.log() + _stick_offsets(head.shape[-1], y)

    def log_abs_det_jacobian(self, x, y):
        # dy_i/dx_i = y_i (1 - frac_i); log(1 - frac_i) = -softplus(x_i - log(K - i))
        z = x - _stick_offsets(x.shape[-1], x)
        return (y[..., :-1].log() - _softplus(z)).sum(-1)

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return tuple(shape[:-1]) + (shape[-1] - 1,)


class LowerCholeskyTransform(Transform):
    """Square matrices to lower-triangular ones with a positive diagonal: keep the strict lower part, exponentiate
    the diagonal."""
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def __eq__(self, other):
        return isinstance(other, LowerCholeskyTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        return x.tril(-1) + T.diag_embed(x.diagonal(dim1=-2, dim2=-1).exp())

    def _inv_call(self, y):
        return y.tril(-1) + T.diag_embed(y.diagonal(dim1=-2, dim2=-1).log())


class PositiveDefiniteTransform(Transform):
    """Square matrices to positive definite ones: L L^T with L from LowerCholeskyTransform."""
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def __eq__(self, other):
        return isinstance(other, PositiveDefiniteTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        L = LowerCholeskyTransform()(x)
        return L @ L.mT

    def _inv_call(self, y):
        return LowerCholeskyTransform()._inv_call(T.linalg.cholesky(y))


def _tri_side(n_entries):
    """D with D (D - 1) / 2 == n_entries, or None."""
    d = int(round((0.25 + 2 * n_entries) ** 0.5 + 0.5))
    return d if d * (d - 1) // 2 == n_entries else None


def _strict_lower_map(d, device):
    """Flat (d * d) index into [vector of the strict lower triangle (row by row), 0]: where each matrix entry
    comes from (entries on and above the diagonal read the appended zero)."""
    import numpy as np
    m = np.full((d, d), d * (d - 1) // 2, dtype=np.int64)
    rows, cols = np.tril_indices(d, -1)
    m[rows, cols] = np.arange(rows.size)
    return T.tensor(m.reshape(-1), device=device)


def _lower_positions(d, device, offset):
    import numpy as np
    rows, cols = np.tril_indices(d, offset)
    return T.tensor(rows * d + cols, device=device)


class CorrCholeskyTransform(Transform):
    """Unconstrained vectors of length D (D - 1) / 2 to Cholesky factors of D x D correlation matrices: tanh maps
    each entry to a partial correlation r_ij in (-1, 1) (row by row over the strict lower triangle); row i of L is
    L_ij = r_ij sqrt(1 - sum_{k<j} L_ik^2) and L_ii = sqrt(1 - sum_{k<i} L_ik^2), so every row has unit norm."""
    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def _call(self, x):
        d = _tri_side(x.shape[-1])
        if d is None:
            raise ValueError("Input is not a flattened lower-diagonal number")
        r = T.tanh(x)
        padded = T.cat([r, T.zeros(tuple(x.shape[:-1]) + (1,), dtype=x.dtype, device=x.device)], -1)
        R = padded.index_select(-1, _strict_lower_map(d, x.device)).reshape(tuple(x.shape[:-1]) + (d, d))
        # stick left before column j: prod_{k<j} sqrt(1 - r_ik^2)
        keep = (1 - R.pow(2)).sqrt().cumprod(-1)
        ones = T.ones(tuple(R.shape[:-1]) + (1,), dtype=x.dtype, device=x.device)
        left = T.cat([ones, keep[..., :-1]], -1)
        eye = T.eye(d, dtype=x.dtype, device=x.device)
        return (R + eye) * left

    def _inv_call(self, y):
        d = y.shape[-1]
        used = (y.pow(2)).cumsum(-1)
        ones = T.zeros(tuple(y.shape[:-1]) + (1,), dtype=y.dtype, device=y.device)
        left = (1 - T.cat([ones, used[..., :-1]], -1)).sqrt()
        r = (y / left).reshape(tuple(y.shape[:-2]) + (d * d,)).index_select(-1, _lower_positions(d, y.device, -1))
        r = r.clamp(-1 + T.finfo(y.dtype).eps, 1 - T.finfo(y.dtype).eps)
        return T.atanh(r)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        # dL_ij / dr_ij = sqrt(1 - sum_{k<j} L_ik^2) for i > j, and dr / dx = 1 - tanh(x)^2
        d = y.shape[-1]
        used = (1 - y.pow(2).cumsum(-1)).reshape(tuple(y.shape[:-2]) + (d * d,))
        stick = used.index_select(-1, _lower_positions(d, y.device, -2)).log().sum(-1) * 0.5
        tanh_part = (2.0 * (math.log(2.0) - x - _softplus(-2.0 * x))).sum(-1)
        return stick + tanh_part

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        d = _tri_side(shape[-1])
        if d is None:
            raise ValueError("Input is not a flattened lower-diagonal number")
        return tuple(shape[:-1]) + (d, d)

    def inverse_shape(self, shape):
        if len(shape) < 2:
            raise ValueError("Too few dimensions on input")
        if shape[-2] != shape[-1]:
            raise ValueError("Input is not square")
        d = shape[-1]
        return tuple(shape[:-2]) + (d * (d - 1) // 2,)


class ReshapeTransform(Transform):
    """Reshapes the rightmost dimensions in_shape to out_shape (log|det J| = 0)."""
    bijective = True

    def __init__(self, in_shape, out_shape, cache_size=0):
        self.in_shape = T.Size(in_shape)
        self.out_shape = T.Size(out_shape)
        if math.prod(self.in_shape) != math.prod(self.out_shape):
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size=cache_size)

    @property
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @property
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    def _call(self, x):
        lead = tuple(x.shape[:x.dim() - len(self.in_shape)])
        return x.reshape(lead + tuple(self.out_shape))

    def _inv_call(self, y):
        lead = tuple(y.shape[:y.dim() - len(self.out_shape)])
        return y.reshape(lead + tuple(self.in_shape))

    def log_abs_det_jacobian(self, x, y):
        lead = tuple(x.shape[:x.dim() - len(self.in_shape)])
        return T.zeros(lead, dtype=x.dtype, device=x.device)

    def _split(self, shape, inner, what):
        if len(shape) < len(inner):
            raise ValueError("Too few dimensions on input")
        cut = len(shape) - len(inner)
        if tuple(shape[cut:]) != tuple(inner):
            raise ValueError(f"Shape mismatch: expected {tuple(shape[cut:])} but got {tuple(inner)}")
        return tuple(shape[:cut])

    def forward_shape(self, shape):
        return self._split(shape, self.in_shape, "in") + tuple(self.out_shape)

    def inverse_shape(self, shape):
        return self._split(shape, self.out_shape, "out") + tuple(self.in_shape)

    def __repr__(self):
        return "ReshapeTransform()"


class IndependentTransform(Transform):
    """base_transform with reinterpreted_batch_ndims more event dimensions (log|det J| summed over them)."""

    def __init__(self, base_transform, reinterpreted_batch_ndims, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims, cache_size=cache_size)

    @property
    def domain(self):
        return constraints.independent(self.base_transform.domain, self.reinterpreted_batch_ndims)

    @property
    def codomain(self):
        return constraints.independent(self.base_transform.codomain, self.reinterpreted_batch_ndims)

    @property
    def bijective(self):
        return self.base_transform.bijective

    @property
    def sign(self):
        return self.base_transform.sign

    def _call(self, x):
        if x.dim() < self.domain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform(x)

    def _inv_call(self, y):
        if y.dim() < self.codomain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        return _sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y), self.reinterpreted_batch_ndims)

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)

    def __repr__(self):
        return f"IndependentTransform({self.base_transform!r}, {self.reinterpreted_batch_ndims})"


def _check_transforms(tseq):
    if not all(isinstance(t, Transform) for t in tseq):
        raise AssertionError("All elements of tseq must be Transform instances")


class CatTransform(Transform):
    """Applies tseq[i] to the i-th block (lengths[i] wide) of dimension dim and concatenates the results."""

    def __init__(self, tseq, dim=0, lengths=None, cache_size=0):
        _check_transforms(tseq)
        super().__init__(cache_size=cache_size)
        self.transforms = [t.with_cache(cache_size) for t in tseq]
        self.lengths = list(lengths) if lengths is not None else [1] * len(self.transforms)
        if len(self.lengths) != len(self.transforms):
            raise AssertionError(f"lengths ({len(self.lengths)}) must match transforms ({len(self.transforms)})")
        self.dim = dim

    @property
    def event_dim(self):
        return max(t.event_dim for t in self.transforms)

    @property
    def length(self):
        return sum(self.lengths)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _check(self, x):
        if not -x.dim() <= self.dim < x.dim():
            raise AssertionError(f"dim {self.dim} out of range for a {x.dim()}-d input")
        if x.shape[self.dim] != self.length:
            raise AssertionError(f"size {x.shape[self.dim]} of dimension {self.dim} differs from the total "
                                 f"length {self.length}")

    def _blocks(self, x):
        start = 0
        for t, n in zip(self.transforms, self.lengths):
            yield t, x.narrow(self.dim, start, n)
            start += n

    def _call(self, x):
        self._check(x)
        return T.cat([t(b) for t, b in self._blocks(x)], self.dim)

    def _inv_call(self, y):
        self._check(y)
        return T.cat([t.inv(b) for t, b in self._blocks(y)], self.dim)

    def log_abs_det_jacobian(self, x, y):
        self._check(x)
        self._check(y)
        parts, start = [], 0
        for t, n in zip(self.transforms, self.lengths):
            xb, yb = x.narrow(self.dim, start, n), y.narrow(self.dim, start, n)
            ld = t.log_abs_det_jacobian(xb, yb)
            if t.event_dim < self.event_dim:
                ld = _sum_rightmost(ld, self.event_dim - t.event_dim)
            parts.append(ld)
            start += n
        dim = self.dim
        if dim >= 0:
            dim = dim - x.dim()
        dim = dim + self.event_dim
        return T.cat(parts, dim) if dim < 0 else sum(parts)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @property
    def codomain(self):
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)

    def __repr__(self):
        return "CatTransform()"


class StackTransform(Transform):
    """Applies tseq[i] to x.select(dim, i) and stacks the results along dim."""

    def __init__(self, tseq, dim=0, cache_size=0):
        _check_transforms(tseq)
        super().__init__(cache_size=cache_size)
        self.transforms = [t.with_cache(cache_size) for t in tseq]
        self.dim = dim

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def _check(self, x):
        if not -x.dim() <= self.dim < x.dim():
            raise AssertionError(f"dim {self.dim} out of range for a {x.dim()}-d input")
        if x.shape[self.dim] != len(self.transforms):
            raise AssertionError(f"size {x.shape[self.dim]} of dimension {self.dim} differs from the number of "
                                 f"transforms {len(self.transforms)}")

    def _slices(self, x):
        return [x.select(self.dim, i) for i in range(x.shape[self.dim])]

    def _call(self, x):
        self._check(x)
        return T.stack([t(s) for t, s in zip(self.transforms, self._slices(x))], self.dim)

    def _inv_call(self, y):
        self._check(y)
        return T.stack([t.inv(s) for t, s in zip(self.transforms, self._slices(y))], self.dim)

    def log_abs_det_jacobian(self, x, y):
        self._check(x)
        self._check(y)
        parts = [t.log_abs_det_jacobian(a, b) for t, a, b in zip(self.transforms, self._slices(x), self._slices(y))]
        return T.stack(parts, self.dim)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @property
    def codomain(self):
        return constraints.stack([t.codomain for t in self.transforms], self.dim)

    def __repr__(self):
        return "StackTransform()"


class CumulativeDistributionTransform(Transform):
    """y = distribution.cdf(x) (to the unit interval); the inverse is icdf and log|det J| is log_prob(x)."""
    bijective = True
    codomain = constraints.unit_interval
    sign = 1

    def __init__(self, distribution, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @property
    def domain(self):
        return self.distribution.support

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return CumulativeDistributionTransform(self.distribution, cache_size=cache_size)

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inv_call(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)
