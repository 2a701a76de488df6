"""`cltensor.special`: PyTorch's torch.special: special functions.

The functions are declared where they are implemented, with `register(name, namespace="special")`
(cltensor/_registry.py); this module is the namespace they are published in.
"""
from .._registry import install_namespace

install_namespace("special", globals())
