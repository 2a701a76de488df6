"""``cltensor.backends.cudnn``: `enabled`, `benchmark`, `deterministic`, `allow_tf32` are recorded module
attributes (no effect: cltensor does not use cuDNN); `is_available()` is False."""
enabled = True
benchmark = False
benchmark_limit = 10
deterministic = False
allow_tf32 = True


def is_available():
    return False


def version():
    return None
