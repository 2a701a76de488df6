"""``cltensor.backends.opt_einsum``: `enabled` / `strategy` recorded; einsum's contraction order is cltensor's."""
try:
    import opt_einsum as _oe  # noqa: F401
    _AVAILABLE = True
except ImportError:
    _AVAILABLE = False

enabled = _AVAILABLE
strategy = "auto" if _AVAILABLE else None


def is_available():
    return _AVAILABLE


def get_opt_einsum():
    return _oe if _AVAILABLE else None
