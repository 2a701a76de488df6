"""cltensor.func (torch.func): functional_call."""
from .nn.utils.stateless import _functional_call as functional_call  # noqa: F401

__all__ = ["functional_call"]
