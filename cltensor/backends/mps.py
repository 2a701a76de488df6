"""``cltensor.backends.mps``: Apple's Metal backend is not part of cltensor (Apple GPUs run through OpenCL)."""


def is_available():
    return False


def is_built():
    return False
