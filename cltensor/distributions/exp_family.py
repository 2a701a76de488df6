"""ExponentialFamily: densities of the form p(x) = h(x) exp(<eta, t(x)> - A(eta)). A family that states its natural
parameters eta (`_natural_params`) and log-normaliser A (`_log_normalizer`) gets its entropy and the KL divergence
within the family from A and its gradient (a Bregman divergence), the gradient taken by the autograd engine."""
from ._ns import T
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


def _fold_event(x, n):
    """Sum of the n rightmost dimensions of x (a tensor), or x unchanged for n == 0."""
    if n <= 0:
        return x
    return x.reshape(tuple(x.shape[:x.dim() - n]) + (-1,)).sum(-1)


class ExponentialFamily(Distribution):
    """Base of the exponential families. Subclasses define `_natural_params` (a tuple of tensors),
    `_log_normalizer(*natural_params)` and `_mean_carrier_measure` (E[log h(X)])."""

    @property
    def _natural_params(self):
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError

    def _normaliser_and_gradients(self):
        """A(eta) at detached copies of eta, and dA/deta (kept differentiable: create_graph)."""
        eta = [p.detach().requires_grad_() for p in self._natural_params]
        with T.enable_grad():
            a = self._log_normalizer(*eta)
            grads = T.autograd.grad(a.sum(), eta, create_graph=True)
        return eta, a, grads

    def entropy(self):
        """H = A(eta) - <eta, grad A(eta)> - E[log h(X)]."""
        eta, a, grads = self._normaliser_and_gradients()
        h = a - self._mean_carrier_measure
        for e, g in zip(eta, grads):
            h = h - _fold_event(e * g, len(self.event_shape))
        return h
