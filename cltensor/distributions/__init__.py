"""cltensor.distributions: PyTorch's torch.distributions (parameterised probability distributions, sampling from
the library's Philox stream, reparameterised gradients, KL divergences). docs/distributions.md."""
from . import constraints  # noqa: F401
from .distribution import Distribution  # noqa: F401
from .continuous import (Normal, LogNormal, Uniform, Exponential, Laplace, Cauchy, Gamma, Chi2, Beta,  # noqa: F401
                         Dirichlet, StudentT)
from .discrete import (Bernoulli, Categorical, OneHotCategorical, Geometric, Poisson, Binomial,  # noqa: F401
                       Multinomial)
from .kl import kl_divergence, register_kl  # noqa: F401
from .multivariate import MultivariateNormal, LowRankMultivariateNormal, Independent, MixtureSameFamily  # noqa: F401,E501
from . import transforms  # noqa: F401
from .transforms import (Transform, ComposeTransform, ExpTransform, AffineTransform, SigmoidTransform,  # noqa: F401
                         TanhTransform, PowerTransform)
from .transformed import (TransformedDistribution, LogitRelaxedBernoulli, RelaxedBernoulli,  # noqa: F401
                          ExpRelaxedCategorical, RelaxedOneHotCategorical)
from .transforms import (AbsTransform, CatTransform, CorrCholeskyTransform,  # noqa: F401
                         CumulativeDistributionTransform, IndependentTransform, LowerCholeskyTransform,
                         PositiveDefiniteTransform, ReshapeTransform, SoftmaxTransform, SoftplusTransform,
                         StackTransform, StickBreakingTransform, identity_transform)
from .exp_family import ExponentialFamily  # noqa: F401
from .continuous_more import (Gumbel, HalfNormal, HalfCauchy, Pareto, Weibull, Kumaraswamy,  # noqa: F401
                              InverseGamma, LogisticNormal, FisherSnedecor, GeneralizedPareto, VonMises,
                              ContinuousBernoulli)
from .discrete_more import NegativeBinomial, OneHotCategoricalStraightThrough  # noqa: F401
from .matrix import LKJCholesky, Wishart  # noqa: F401
from .constraint_registry import biject_to, transform_to  # noqa: F401
from . import kl_more  # noqa: F401  (registers the KL pairs across families)
from . import utils  # noqa: F401

__all__ = ["constraints", "transforms", "Distribution", "Normal", "LogNormal", "Uniform", "Exponential", "Laplace",
           "Cauchy", "Gamma", "Chi2", "Beta", "Dirichlet", "StudentT", "Bernoulli", "Categorical",
           "OneHotCategorical", "Geometric", "Poisson", "Binomial", "Multinomial", "kl_divergence", "register_kl",
           "MultivariateNormal", "LowRankMultivariateNormal", "Independent", "MixtureSameFamily", "Transform", "ComposeTransform",
           "ExpTransform", "AffineTransform", "SigmoidTransform", "TanhTransform", "PowerTransform",
           "TransformedDistribution", "LogitRelaxedBernoulli", "RelaxedBernoulli", "ExpRelaxedCategorical",
           "RelaxedOneHotCategorical", "AbsTransform", "CatTransform", "CorrCholeskyTransform",
           "CumulativeDistributionTransform", "IndependentTransform", "LowerCholeskyTransform",
           "PositiveDefiniteTransform", "ReshapeTransform", "SoftmaxTransform", "SoftplusTransform", "StackTransform",
           "StickBreakingTransform", "identity_transform", "ExponentialFamily", "Gumbel", "HalfNormal",
           "HalfCauchy", "Pareto", "Weibull", "Kumaraswamy", "InverseGamma", "LogisticNormal", "FisherSnedecor",
           "GeneralizedPareto", "VonMises", "ContinuousBernoulli", "NegativeBinomial",
           "OneHotCategoricalStraightThrough", "LKJCholesky", "Wishart", "biject_to", "transform_to"]
