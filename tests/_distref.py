"""Shared helpers of the torch.distributions tests: parameters as cltensor / torch float64 tensors, building the
same distribution in both libraries, comparing results, and reading a ValueError's message."""
import numpy as np
import pytest
import torch

import cltensor as ct
from _host import host

D = ct.distributions
TD = torch.distributions


def c(x, dtype=ct.float64):
    return ct.tensor(np.asarray(x, dtype=np.float64), dtype=dtype)


def r(x):
    return torch.tensor(np.asarray(x, dtype=np.float64))


def close(got, ref, tol=1e-9):
    g = host(got) if isinstance(got, ct.Tensor) else np.asarray(got)
    ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else np.asarray(ref)
    assert tuple(g.shape) == tuple(ref.shape), (g.shape, ref.shape)
    np.testing.assert_allclose(g, ref, rtol=tol, atol=tol, equal_nan=True)


def build(name, params, lib, **kw):
    mod, conv = (D, c) if lib == "ct" else (TD, r)
    args = {k: (conv(v) if isinstance(v, list) else v) for k, v in params.items()}
    return getattr(mod, name)(**args, **kw)


def _message(fn, exc=ValueError):
    with pytest.raises(exc) as e:
        fn()
    return str(e.value)
