import os
import numpy as np
import pytest

import cltensor as ct


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)
    ct.manual_seed(0)
    yield
