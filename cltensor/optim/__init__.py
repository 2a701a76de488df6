"""cltensor.optim: optimizers with fused device update kernels, LBFGS, learning-rate schedulers, swa_utils."""
from .optimizer import Optimizer  # noqa
from ._optimizers import SGD, Adam, AdamW, RMSprop, Adagrad  # noqa
from ._optimizers_rest import Adadelta, Adafactor, Adamax, NAdam, RAdam, Rprop, ASGD, SparseAdam, Muon  # noqa
from ._lbfgs import LBFGS  # noqa
from . import lr_scheduler, swa_utils  # noqa
