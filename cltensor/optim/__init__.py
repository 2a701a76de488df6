"""cltensor.optim: optimizers with fused device update kernels, and learning-rate schedulers."""
from .optimizer import Optimizer  # noqa
from ._optimizers import SGD, Adam, AdamW, RMSprop, Adagrad  # noqa
from . import lr_scheduler  # noqa
