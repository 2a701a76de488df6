"""biject_to and transform_to: from a constraint to a transform whose codomain is that constraint (used to optimise
constrained parameters in unconstrained space). `biject_to(c)` is a bijection (its log|det J| exists);
`transform_to(c)` only needs to reach c, which allows cheaper, non-injective maps (softmax for the simplex) and
covers the matrix constraints (lower_cholesky, positive_definite) that biject_to leaves out.
Lookup is by the constraint's type; `register(constraint, factory)` adds or replaces an entry."""
import numbers

from . import constraints
from . import transforms

__all__ = ["ConstraintRegistry", "biject_to", "transform_to"]


class ConstraintRegistry:
    """Map from a Constraint subclass to a factory(constraint) -> Transform."""

    def __init__(self):
        self._registry = {}
        super().__init__()

    def register(self, constraint, factory=None):
        if factory is None:                      # used as a decorator
            return lambda f: self.register(constraint, f)
        if isinstance(constraint, constraints.Constraint):
            constraint = type(constraint)
        if not (isinstance(constraint, type) and issubclass(constraint, constraints.Constraint)):
            raise TypeError(f"Expected constraint to be either a Constraint subclass or instance, but got "
                            f"{constraint}")
        self._registry[constraint] = factory
        return factory

    def __call__(self, constraint):
        factory = self._registry.get(type(constraint))
        if factory is None:
            raise NotImplementedError(f"Cannot transform {type(constraint).__name__} constraints")
        return factory(constraint)


biject_to = ConstraintRegistry()
transform_to = ConstraintRegistry()


def _both(constraint):
    def deco(fn):
        biject_to.register(constraint, fn)
        transform_to.register(constraint, fn)
        return fn
    return deco


@_both(constraints.real)
def _to_real(c):
    return transforms.identity_transform


@biject_to.register(constraints.independent)
def _biject_independent(c):
    return transforms.IndependentTransform(biject_to(c.base_constraint), c.reinterpreted_batch_ndims)


@transform_to.register(constraints.independent)
def _transform_independent(c):
    return transforms.IndependentTransform(transform_to(c.base_constraint), c.reinterpreted_batch_ndims)


@_both(constraints.positive)
@_both(constraints.nonnegative)
def _to_positive(c):
    return transforms.ExpTransform()


@_both(constraints.greater_than)
@_both(constraints.greater_than_eq)
def _to_above(c):
    return transforms.ComposeTransform([transforms.ExpTransform(), transforms.AffineTransform(c.lower_bound, 1)])


@_both(constraints.less_than)
def _to_below(c):
    return transforms.ComposeTransform([transforms.ExpTransform(), transforms.AffineTransform(c.upper_bound, -1)])


@_both(constraints.interval)
@_both(constraints.half_open_interval)
def _to_interval(c):
    lo, hi = c.lower_bound, c.upper_bound
    if isinstance(lo, numbers.Number) and isinstance(hi, numbers.Number) and lo == 0 and hi == 1:
        return transforms.SigmoidTransform()
    return transforms.ComposeTransform([transforms.SigmoidTransform(), transforms.AffineTransform(lo, hi - lo)])


@biject_to.register(constraints.simplex)
def _biject_simplex(c):
    return transforms.StickBreakingTransform()


@transform_to.register(constraints.simplex)
def _transform_simplex(c):
    return transforms.SoftmaxTransform()


@transform_to.register(constraints.lower_cholesky)
def _to_lower_cholesky(c):
    return transforms.LowerCholeskyTransform()


@transform_to.register(constraints.positive_definite)
@transform_to.register(constraints.positive_semidefinite)
def _to_positive_definite(c):
    return transforms.PositiveDefiniteTransform()


@_both(constraints.corr_cholesky)
def _to_corr_cholesky(c):
    return transforms.CorrCholeskyTransform()


@biject_to.register(constraints.cat)
def _biject_cat(c):
    return transforms.CatTransform([biject_to(x) for x in c.cseq], c.dim, c.lengths)


@transform_to.register(constraints.cat)
def _transform_cat(c):
    return transforms.CatTransform([transform_to(x) for x in c.cseq], c.dim, c.lengths)


@biject_to.register(constraints.stack)
def _biject_stack(c):
    return transforms.StackTransform([biject_to(x) for x in c.cseq], c.dim)


@transform_to.register(constraints.stack)
def _transform_stack(c):
    return transforms.StackTransform([transform_to(x) for x in c.cseq], c.dim)
