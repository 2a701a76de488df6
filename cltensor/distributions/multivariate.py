"""Multivariate families and wrappers: MultivariateNormal (scale_tril / covariance / precision, Cholesky from
cltensor.linalg), Independent, MixtureSameFamily, and their KL divergences."""
import math

from . import constraints
from ._ns import T
from .distribution import Distribution, lazy_property
from .discrete import Categorical
from .kl import register_kl, kl_divergence

__all__ = ["MultivariateNormal", "LowRankMultivariateNormal", "Independent", "MixtureSameFamily"]


def _sum_rightmost(x, n):
    return x.reshape(tuple(x.shape[:x.dim() - n]) + (-1,)).sum(-1) if n > 0 else x


class MultivariateNormal(Distribution):
    """N(loc, Sigma) with Sigma = L L^T given by exactly one of covariance_matrix, precision_matrix, scale_tril."""
    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        mat = scale_tril if scale_tril is not None else (
            covariance_matrix if covariance_matrix is not None else precision_matrix)
        name = ("scale_tril" if scale_tril is not None else
                "covariance_matrix" if covariance_matrix is not None else "precision_matrix")
        if mat.dim() < 2:
            raise ValueError(f"{name} matrix must be at least two-dimensional, with optional leading batch "
                             f"dimensions")
        batch_shape = T.broadcast_shapes(tuple(mat.shape[:-2]), tuple(loc.shape[:-1]))
        k = loc.shape[-1]
        setattr(self, name, mat.expand(tuple(batch_shape) + (k, k)))
        self.loc = loc.expand(tuple(batch_shape) + (k,))
        super().__init__(batch_shape, (k,), validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = T.linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = T.linalg.cholesky(T.linalg.inv(precision_matrix))

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        k = self.event_shape[0]
        new.loc = self.loc.expand(tuple(batch_shape) + (k,))
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "precision_matrix", "scale_tril"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(tuple(batch_shape) + (k, k)))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _L(self, batch):
        k = self.event_shape[0]
        return self._unbroadcasted_scale_tril.expand(tuple(batch) + (k, k))

    # computed when first asked for (lazy_property: the one given at construction is an instance attribute)
    @lazy_property
    def scale_tril(self):
        return self._L(self._batch_shape)

    @lazy_property
    def covariance_matrix(self):
        L = self._L(self._batch_shape)
        return L @ L.mT

    @lazy_property
    def precision_matrix(self):
        return T.cholesky_inverse(self._unbroadcasted_scale_tril).expand(
            tuple(self._batch_shape) + tuple(self.event_shape) * 2)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(tuple(self._extended_shape()))

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        eps = T.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (self._L(shape[:-1]) @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def _maha(self, diff):
        """|L^-1 diff|^2 over the broadcast batch of L and diff."""
        L = self._L(tuple(diff.shape[:-1]))
        z = T.linalg.solve_triangular(L, diff.unsqueeze(-1), upper=False)
        return z.squeeze(-1).pow(2).sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        k = self.event_shape[0]
        return -0.5 * (k * math.log(2 * math.pi) + self._maha(diff)) - self._half_log_det()

    def entropy(self):
        k = self.event_shape[0]
        h = 0.5 * k * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h.expand(tuple(self._batch_shape)) if self._batch_shape else h


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    if p.event_shape != q.event_shape:
        # PyTorch's message keeps the indentation of its source line after "with"
        raise ValueError("KL-divergence between two Multivariate Normals with" + " " * 26
                         + "different event shapes cannot be computed")
    k = p.event_shape[0]
    batch = T.broadcast_shapes(tuple(p.batch_shape), tuple(q.batch_shape))
    Lp, Lq = p._L(batch), q._L(batch)
    tr = T.linalg.solve_triangular(Lq, Lp, upper=False).pow(2).sum((-2, -1))
    maha = q._maha((p.loc - q.loc).expand(tuple(batch) + (k,)))
    return q._half_log_det() - p._half_log_det() + 0.5 * (tr + maha - k)


class Independent(Distribution):
    """Reinterprets the rightmost reinterpreted_batch_ndims batch dimensions of base_dist as event dimensions."""
    arg_constraints = {}

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        n = len(base_distribution.batch_shape)
        if reinterpreted_batch_ndims > n:
            raise ValueError(f"Expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape), actual "
                             f"{reinterpreted_batch_ndims} vs {n}")
        shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        event_dim = reinterpreted_batch_ndims + len(base_distribution.event_shape)
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        super().__init__(shape[:len(shape) - event_dim], shape[len(shape) - event_dim:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Independent, _instance)
        batch_shape = tuple(batch_shape)
        new.base_dist = self.base_dist.expand(batch_shape + tuple(self.event_shape[:self.reinterpreted_batch_ndims]))
        new.reinterpreted_batch_ndims = self.reinterpreted_batch_ndims
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self):
        return False if self.reinterpreted_batch_ndims > 0 else self.base_dist.has_enumerate_support

    @constraints.dependent_property
    def support(self):
        s = self.base_dist.support
        return constraints.independent(s, self.reinterpreted_batch_ndims) if self.reinterpreted_batch_ndims else s

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def mode(self):
        return self.base_dist.mode

    @property
    def variance(self):
        return self.base_dist.variance

    def sample(self, sample_shape=()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):
        return _sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self):
        return _sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self):
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


class MixtureSameFamily(Distribution):
    """Mixture of the components of one batched distribution (the rightmost batch dimension) with Categorical
    weights."""
    arg_constraints = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(" The Mixture distribution needs to be an  instance of torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution need to be an instance of torch.distributions.Distribution")
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        mb = tuple(mixture_distribution.batch_shape)
        cb = tuple(component_distribution.batch_shape)
        if len(cb) < 1:
            raise ValueError("`component_distribution` must have at least one batch dimension")
        for s1, s2 in zip(reversed(mb), reversed(cb[:-1])):
            if s1 != 1 and s2 != 1 and s1 != s2:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mixture_distribution.batch_shape}) is not "
                                 f"compatible with `component_distribution.batch_shape`({cb})")
        km = mixture_distribution.logits.shape[-1]
        kc = cb[-1]
        if km != kc:
            raise ValueError(f"`mixture_distribution component` ({km}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({kc})")
        self._num_component = km
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(cb[:-1], component_distribution.event_shape, validate_args=validate_args)

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    @constraints.dependent_property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    def _pad(self, x):
        return x.reshape(tuple(x.shape) + (1,) * self._event_ndims)

    @property
    def mean(self):
        p = self._pad(self._mixture_distribution.probs)
        return (p * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        p = self._pad(self._mixture_distribution.probs)
        d = -1 - self._event_ndims
        m = self._component_distribution.mean
        mean = (p * m).sum(d)
        within = (p * self._component_distribution.variance).sum(d)
        between = (p * (m - mean.unsqueeze(d)).pow(2)).sum(d)
        return within + between

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        x = value.unsqueeze(-1 - self._event_ndims)
        lp = self._component_distribution.log_prob(x)
        lw = T.log_softmax(self._mixture_distribution.logits, -1)
        return (lp + lw).logsumexp(-1)

    def cdf(self, value):
        x = value.unsqueeze(-1 - self._event_ndims)
        return (self._component_distribution.cdf(x) * self._mixture_distribution.probs).sum(-1)

    def sample(self, sample_shape=()):
        if not isinstance(sample_shape, (tuple, list)) and not hasattr(sample_shape, "__len__"):
            sample_shape = (sample_shape,)
        with T.no_grad():
            idx = self._mixture_distribution.sample(sample_shape)           # sample + batch
            comp = self._component_distribution.sample(sample_shape)        # sample + batch + (K,) + event
            es = tuple(self.event_shape)
            idx = idx.reshape(tuple(idx.shape) + (1,) * (1 + len(es)))
            idx = idx.expand(tuple(comp.shape[:comp.dim() - 1 - len(es)]) + (1,) + es)
            return comp.gather(comp.dim() - 1 - len(es), idx).squeeze(comp.dim() - 1 - len(es))

    def __repr__(self):
        return (f"MixtureSameFamily(\n  {self._mixture_distribution!r},\n  {self._component_distribution!r})")


class LowRankMultivariateNormal(Distribution):
    """N(loc, W W^T + diag(D)) with W = cov_factor (k x r) and D = cov_diag: log_prob and entropy through the
    r x r capacitance matrix I + W^T D^-1 W (Woodbury identity, matrix determinant lemma)."""
    arg_constraints = {"loc": constraints.real_vector,
                       "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        k = loc.shape[-1]
        if cov_factor.dim() < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional leading batch dimensions")
        if tuple(cov_factor.shape[-2:-1]) != (k,):
            raise ValueError(f"cov_factor must be a batch of matrices with shape {k} x m")
        if tuple(cov_diag.shape[-1:]) != (k,):
            raise ValueError(f"cov_diag must be a batch of vectors with shape {(k,)}")
        batch = T.broadcast_shapes(tuple(loc.shape[:-1]), tuple(cov_factor.shape[:-2]), tuple(cov_diag.shape[:-1]))
        self.loc = loc.expand(tuple(batch) + (k,))
        self.cov_factor = cov_factor.expand(tuple(batch) + tuple(cov_factor.shape[-2:]))
        self.cov_diag = cov_diag.expand(tuple(batch) + (k,))
        super().__init__(batch, (k,), validate_args=validate_args)
        self._W, self._D = cov_factor, cov_diag
        Wt_Dinv = cov_factor.mT / cov_diag.unsqueeze(-2)
        r = cov_factor.shape[-1]
        eye = T.eye(r, dtype=cov_factor.dtype, device=cov_factor.device)
        self._capacitance_tril = T.linalg.cholesky(eye + Wt_Dinv @ cov_factor)

    def _param_names(self):
        return ["loc", "cov_factor", "cov_diag"]

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LowRankMultivariateNormal, _instance)
        b = tuple(batch_shape)
        new.loc = self.loc.expand(b + tuple(self.loc.shape[-1:]))
        new.cov_factor = self.cov_factor.expand(b + tuple(self.cov_factor.shape[-2:]))
        new.cov_diag = self.cov_diag.expand(b + tuple(self.cov_diag.shape[-1:]))
        new._W, new._D, new._capacitance_tril = self._W, self._D, self._capacitance_tril
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return (self._W.pow(2).sum(-1) + self._D).expand(tuple(self._extended_shape()))

    @property
    def covariance_matrix(self):
        cov = self._W @ self._W.mT + T.diag_embed(self._D)
        return cov.expand(tuple(self._batch_shape) + tuple(self._event_shape) * 2)

    @property
    def scale_tril(self):
        return T.linalg.cholesky(self.covariance_matrix)

    @property
    def precision_matrix(self):
        return T.linalg.inv(self.covariance_matrix)

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        r = self._W.shape[-1]
        eps_w = T.randn(shape[:-1] + (r,), dtype=self.loc.dtype, device=self.loc.device)
        eps_d = T.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (self._W @ eps_w.unsqueeze(-1)).squeeze(-1) + self._D.sqrt() * eps_d

    def _log_det(self):
        return 2 * self._capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1) + self._D.log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        k = self.event_shape[0]
        r = self._W.shape[-1]
        batch = tuple(diff.shape[:-1])
        Wt_Dinv_x = (self._W.mT @ (diff / self._D).unsqueeze(-1))
        C = self._capacitance_tril.expand(batch + (r, r))
        z = T.linalg.solve_triangular(C, Wt_Dinv_x.expand(batch + (r, 1)), upper=False).squeeze(-1)
        maha = (diff.pow(2) / self._D).sum(-1) - z.pow(2).sum(-1)
        return -0.5 * (k * math.log(2 * math.pi) + maha + self._log_det())

    def entropy(self):
        k = self.event_shape[0]
        h = 0.5 * (k * (1.0 + math.log(2 * math.pi)) + self._log_det())
        return h.expand(tuple(self._batch_shape)) if self._batch_shape else h
