"""Distributions over matrices: LKJCholesky (Cholesky factors of LKJ-distributed correlation matrices, drawn by the
onion method) and Wishart (positive definite matrices, drawn by Bartlett's decomposition)."""
import math
import warnings
from numbers import Number

from . import constraints
from . import _random
from ._ns import T, lgamma, digamma
from .continuous import Beta
from .distribution import Distribution, broadcast_all, lazy_property
from .exp_family import ExponentialFamily

__all__ = ["LKJCholesky", "Wishart"]


class LKJCholesky(Distribution):
    """Lower Cholesky factor L of a dim x dim correlation matrix C = L L^T with density proportional to
    det(C)^(concentration - 1). Draws: row i (i >= 1) of L is sqrt(y_i) times a uniform direction in R^i, plus
    the diagonal that completes a unit row, with y_i ~ Beta(i / 2, concentration + (dim - 1 - i) / 2)."""
    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        super().__init__(self.concentration.shape, (dim, dim), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        new.dim = self.dim
        new.concentration = self.concentration.expand(tuple(batch_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _row_betas(self):
        eta = self.concentration
        row = T.arange(self.dim, dtype=eta.dtype, device=eta.device)
        a = (row / 2).clamp(min=0.5)                       # row 0 is never used: any valid parameter
        b = eta.unsqueeze(-1) + (self.dim - 1 - row).clamp(min=0) / 2
        return Beta(a.expand(tuple(b.shape)), b, validate_args=False)

    def sample(self, sample_shape=()):
        if not isinstance(sample_shape, (tuple, list)) and not hasattr(sample_shape, "__len__"):
            sample_shape = (sample_shape,)
        with T.no_grad():
            y = self._row_betas().sample(sample_shape).unsqueeze(-1)            # (..., dim, 1)
            shape = tuple(self._extended_shape(sample_shape))
            g = T.randn(shape, dtype=y.dtype, device=y.device).tril(-1)
            norm = g.norm(dim=-1, keepdim=True)
            first = T.arange(self.dim, device=y.device).reshape(self.dim, 1) == 0
            direction = T.where(first, T.zeros_like(g), g / norm.clamp(min=T.finfo(g.dtype).tiny))
            w = y.sqrt() * direction
            diag = (1 - w.pow(2).sum(-1)).clamp(min=T.finfo(w.dtype).tiny).sqrt()
            return w + T.diag_embed(diag)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        d, eta = self.dim, self.concentration
        i = T.arange(1, d, dtype=value.dtype, device=value.device)
        # density of L: prod_{i>=1} L_ii^(dim - i - 1 + 2 (eta - 1))
        power = 2 * (eta.unsqueeze(-1) - 1) + (d - 1 - i)
        unnorm = (power * value.diagonal(dim1=-2, dim2=-1)[..., 1:].log()).sum(-1)
        # log normaliser: (d-1)/2 log(pi) + log Gamma_{d-1}(b - 1/2) - (d-1) log Gamma(b), b = eta + (d-1)/2
        b = eta + 0.5 * (d - 1)
        log_norm = (0.5 * (d - 1) + 0.25 * (d - 1) * (d - 2)) * math.log(math.pi) - (d - 1) * lgamma(b)
        for j in range(d - 1):
            log_norm = log_norm + lgamma(b - 0.5 - 0.5 * j)
        return unnorm - log_norm


class Wishart(ExponentialFamily):
    """Wishart(df, Sigma) on p x p positive definite matrices: density
    |X|^((df-p-1)/2) exp(-tr(Sigma^-1 X) / 2) / (2^(df p / 2) |Sigma|^(df/2) Gamma_p(df/2)). Sigma given by
    exactly one of covariance_matrix, precision_matrix, scale_tril."""
    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        given = [(n, m) for n, m in (("covariance_matrix", covariance_matrix),
                                     ("precision_matrix", precision_matrix), ("scale_tril", scale_tril))
                 if m is not None]
        if len(given) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                                 "specified.")
        name, mat = given[0]
        if mat.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, Number):
            batch = tuple(mat.shape[:-2])
            self.df = T.tensor(float(df), dtype=mat.dtype, device=mat.device)
        else:
            batch = tuple(T.broadcast_shapes(tuple(mat.shape[:-2]), tuple(df.shape)))
            self.df = df.expand(batch)
        p = mat.shape[-1]
        if bool((self.df <= p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        self.__dict__[name] = mat.expand(batch + (p, p))
        if bool((self.df < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < "
                          "ndim.", stacklevel=2)
        super().__init__(batch, (p, p), validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = mat
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = T.linalg.cholesky(mat)
        else:
            self._unbroadcasted_scale_tril = T.linalg.cholesky(T.linalg.inv(mat))

    @property
    def arg_constraints(self):
        p = self._event_shape[-1] if len(getattr(self, "_event_shape", ())) else next(
            self.__dict__[n].shape[-1] for n in ("covariance_matrix", "precision_matrix", "scale_tril")
            if n in self.__dict__)
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky, "df": constraints.greater_than(p - 1)}

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch = tuple(batch_shape)
        p = self._event_shape[-1]
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        new.df = self.df.expand(batch)
        for n in ("covariance_matrix", "precision_matrix", "scale_tril"):
            if n in self.__dict__:
                new.__dict__[n] = self.__dict__[n].expand(batch + (p, p))
        Distribution.__init__(new, batch, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _L(self, batch=None):
        p = self._event_shape[-1]
        batch = tuple(self._batch_shape) if batch is None else tuple(batch)
        return self._unbroadcasted_scale_tril.expand(batch + (p, p))

    # computed when first asked for (lazy_property: the one given at construction is an instance attribute)
    @lazy_property
    def scale_tril(self):
        return self._L()

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(tuple(self._batch_shape) + tuple(self._event_shape))

    @lazy_property
    def precision_matrix(self):
        return T.cholesky_inverse(self._unbroadcasted_scale_tril).expand(
            tuple(self._batch_shape) + tuple(self._event_shape))

    def _df_matrix(self):
        return self.df.reshape(tuple(self._batch_shape) + (1, 1))

    @property
    def mean(self):
        return self._df_matrix() * self.covariance_matrix

    @property
    def mode(self):
        f = self.df - self._event_shape[-1] - 1
        f = T.where(f <= 0, T.full_like(f, math.nan), f)
        return f.reshape(tuple(self._batch_shape) + (1, 1)) * self.covariance_matrix

    @property
    def variance(self):
        V = self.covariance_matrix
        d = V.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix() * (V.pow(2) + d.unsqueeze(-1) * d.unsqueeze(-2))

    def rsample(self, sample_shape=(), max_try_correction=None):
        """Bartlett: X = (L A)(L A)^T with A lower triangular, A_ii^2 ~ chi2(df - i), A_ij ~ N(0, 1) below."""
        if not isinstance(sample_shape, (tuple, list)) and not hasattr(sample_shape, "__len__"):
            sample_shape = (sample_shape,)
        p = self._event_shape[-1]
        shape = tuple(self._extended_shape(sample_shape))
        L = self._unbroadcasted_scale_tril
        steps = T.arange(p, dtype=L.dtype, device=L.device)
        half_df = (0.5 * (self.df.unsqueeze(-1) - steps)).expand(shape[:-1])
        diag = (2 * _random.standard_gamma(half_df)).sqrt()
        below = T.randn(shape, dtype=L.dtype, device=L.device).tril(-1)
        A = below + T.diag_embed(diag)
        LA = L @ A
        return LA @ LA.mT

    def _trace_precision_times(self, value):
        """tr(Sigma^-1 X) = tr(L^-1 X L^-T) over the broadcast batch."""
        batch = tuple(T.broadcast_shapes(tuple(value.shape[:-2]), tuple(self._batch_shape)))
        p = self._event_shape[-1]
        L = self._L(batch)
        X = value.expand(batch + (p, p))
        M = T.linalg.solve_triangular(L, X, upper=False)
        W = T.linalg.solve_triangular(L, M.mT, upper=False)
        return W.diagonal(dim1=-2, dim2=-1).sum(-1)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        return (0.5 * (nu - p - 1) * T.logdet(value) - 0.5 * self._trace_precision_times(value)
                - 0.5 * nu * p * math.log(2) - nu * self._half_log_det() - T.mvlgamma(0.5 * nu, p))

    def entropy(self):
        nu, p = self.df, self._event_shape[-1]
        psi = sum(digamma(0.5 * nu - 0.5 * i) for i in range(p))       # multivariate digamma at nu / 2
        return ((p + 1) * self._half_log_det() + 0.5 * p * (p + 1) * math.log(2) + T.mvlgamma(0.5 * nu, p)
                - 0.5 * (nu - p - 1) * psi + 0.5 * nu * p)

    @property
    def _natural_params(self):
        p = self._event_shape[-1]
        return (-0.5 * self.precision_matrix, 0.5 * (self.df - p - 1))

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        half_df = y + 0.5 * (p + 1)
        return half_df * (p * math.log(2) - T.linalg.slogdet(-2 * x)[1]) + T.mvlgamma(half_df, p)
