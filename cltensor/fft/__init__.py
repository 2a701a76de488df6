"""`cltensor.fft`: PyTorch's torch.fft: discrete Fourier transforms and their helpers.

The functions are declared where they are implemented, with `register(name, namespace="fft")`
(cltensor/_registry.py); this module is the namespace they are published in.
"""
from .._registry import install_namespace

install_namespace("fft", globals())
