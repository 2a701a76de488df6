"""`cltensor.linalg`: PyTorch's torch.linalg: matrix functions, factorizations and solvers.

The functions are declared where they are implemented, with `register(name, namespace="linalg")`
(cltensor/_registry.py); this module is the namespace they are published in.
"""
from .._registry import install_namespace

install_namespace("linalg", globals())
