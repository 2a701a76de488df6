"""cltensor.nn: PyTorch-style modules, layers, losses, functional forms and initialisers."""
from .parameter import Parameter, Buffer, UninitializedParameter  # noqa
from .modules import *  # noqa
from .modules import Module  # noqa
from . import functional, init  # noqa
from . import utils  # noqa
from .parallel import DataParallel  # noqa
from . import _toplevel  # noqa: E402,F401  (torch.* forms of nn functions)
