"""Utilities (as ``torch.utils``): ``cltensor.utils.data`` holds datasets, samplers and the DataLoader;
``cltensor.utils.dlpack`` DLPack exchange; ``cltensor.utils.safetensors`` safetensors files (imported on use)."""
from . import data, dlpack  # noqa: F401
