"""Op-info row of torch.ormqr (cltensor/_lapack/_ormqr.py): any input / tau define Householder reflectors, so random
matrices are valid samples; the samples cover both sides, the conjugate transpose, wide and tall inputs, fewer
reflectors than columns, and a batch."""
import numpy as np

from opinfo import OpInfo, Sample, ALL

_OK = ("float32", "float64", "complex64", "complex128")


def _a(rng, dt, shape):
    if dt == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    if dt not in _OK and dt != "float16":
        return np.asarray(rng.integers(-3, 4, size=shape)).astype(dt)
    a = rng.uniform(-1.0, 1.0, size=shape)
    if dt.startswith("complex"):
        a = a + 1j * rng.uniform(-1.0, 1.0, size=shape)
    return np.asarray(a.astype(dt))


def _samples(dt, r):
    return [
        Sample(_a(r, dt, (5, 3)), _a(r, dt, (3,)), _a(r, dt, (5, 2))),
        Sample(_a(r, dt, (5, 3)), _a(r, dt, (3,)), _a(r, dt, (5, 4)), True, True),
        Sample(_a(r, dt, (4, 4)), _a(r, dt, (4,)), _a(r, dt, (3, 4)), left=False),
        Sample(_a(r, dt, (3, 5)), _a(r, dt, (3,)), _a(r, dt, (2, 3)), left=False, transpose=True),
        Sample(_a(r, dt, (2, 4, 3)), _a(r, dt, (2, 3)), _a(r, dt, (2, 4, 2)), transpose=True),
    ]


ROWS = [OpInfo("ormqr", "linalg", dtypes=_OK, sample=_samples, method=True, out=True,
               errors={d: NotImplementedError for d in ALL if d not in _OK}, layouts=False)]
