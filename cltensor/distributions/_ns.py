"""Access to the published cltensor namespace (the distributions sit above the package's install step) and the
special functions the densities need (cltensor's lgamma, digamma, erfinv and special.gammainc)."""

from .. import _registry


class _Namespace:
    def __getattr__(self, name):
        return _registry.published("torch")[name]


T = _Namespace()



def _special(name):
    return _registry.published("special")[name]


def lgamma(x):
    return T.lgamma(x)


def digamma(x):
    return T.digamma(x)


def erfinv(y):
    return T.erfinv(y)


def lbeta(a, b):
    return T.lgamma(a) + T.lgamma(b) - T.lgamma(a + b)


def gammainc(a, x):
    """The regularised lower incomplete gamma function P(a, x) (cltensor.special.gammainc)."""
    return _special("gammainc")(a, x)
