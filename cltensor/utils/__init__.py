"""Utilities (as ``torch.utils``): ``cltensor.utils.data`` holds datasets, samplers and the DataLoader."""
from . import data  # noqa: F401
