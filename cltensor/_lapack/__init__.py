"""torch.linalg on the device: factorizations (templates/linalg.mako kernels, blocked drivers on the GEMM), the
solvers and matrix functions built on them, and their backward rules. docs/linalg.md lists which algorithm runs
for which function and what it costs."""
from . import _core, _factor, _matfun, _eigen, _qr, _ldl, _ormqr, _lowrank, _lobpcg  # noqa: F401

from .._linalg import matmul as _matmul  # noqa: E402
from .._registry import register  # noqa: E402

register("matmul", _matmul, namespace="linalg")      # torch.linalg.matmul is torch.matmul
