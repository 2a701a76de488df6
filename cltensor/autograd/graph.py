"""torch.autograd.graph: the node type of grad_fn objects."""
from ._tape import Node, AccumulateGrad, RemovableHandle  # noqa: F401

__all__ = ["Node", "AccumulateGrad", "RemovableHandle"]
