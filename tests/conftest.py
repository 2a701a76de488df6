import os
import numpy as np
import pytest

import cltensor as ct


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)
    ct.manual_seed(0)
    yield


def pytest_terminal_summary(terminalreporter):
    from cltensor import _kernels
    s = _kernels.stats
    terminalreporter.write_line(f"cltensor kernels: {s['builds']} programs built in {s['build_seconds']:.1f} s "
                                f"(clBuildProgram only), {s['launches']} launches")
