"""A process that built programs from source stores their binaries when it exits: itself where the driver
compiles each kernel once into generic code (PoCL with POCL_WORK_GROUP_SPECIALIZATION=0, cltensor's default: the
binary then costs nothing), else through a detached process (cltensor/_cachefill.py). Either way the next process
loads every program from the binary cache and builds none; CLTENSOR_CACHE_FILL=0 turns both off."""
import glob
import json
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODE = ("import json, cltensor as ct; from cltensor import _kernels as K; "
        "x = ct.arange(10.0); print((x * 2 + 1).sum().item(), (x.exp() - x).max().item()); "
        "print(json.dumps(K.stats))")


def _run(tmp_path, fill, specialize=None):
    env = dict(os.environ, CLTENSOR_CACHE_FILL=fill, CLTENSOR_CACHE_DIR=str(tmp_path / "c"),
               POCL_CACHE_DIR=str(tmp_path / "p"), PYTHONPATH=ROOT, CLTENSOR_BUILD_PROGRESS="0")
    env.pop("CLTENSOR_CACHE_BINARIES", None)
    env.pop("POCL_WORK_GROUP_SPECIALIZATION", None)
    if specialize is not None:
        env["POCL_WORK_GROUP_SPECIALIZATION"] = specialize
    r = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    return lines[0], json.loads(lines[1])


def _bins(tmp_path):
    return glob.glob(str(tmp_path / "c" / "*" / "*.bin"))


def _generic(tmp_path):
    """Whether the default device compiles generic code by default (PoCL's CPU driver)."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("POCL_WORK_GROUP_SPECIALIZATION", None)
    code = ("import cltensor as ct; from cltensor import _kernels as K, _device as D; "
            "print(K.generic_code(D.runtime(D.get_default_device())))")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip() == "True"


def test_first_run_stores_its_binaries_at_exit(tmp_path):
    if not _generic(tmp_path):
        pytest.skip("the default device specialises kernels per launch: stored by the detached process instead")
    out1, s1 = _run(tmp_path, "1")
    assert s1["source_builds"] >= 2 and s1["binaries_saved"] == 0      # (stats printed before exit)
    assert len(_bins(tmp_path)) == s1["source_builds"]                  # stored by the process itself, at exit
    out2, s2 = _run(tmp_path, "1")
    assert out2 == out1
    assert s2["source_builds"] == 0 and s2["binary_loads"] == s1["source_builds"]


def test_next_run_loads_binaries(tmp_path):
    out1, s1 = _run(tmp_path, "1", specialize="1")
    assert s1["source_builds"] >= 2 and s1["binaries_saved"] == 0
    deadline = time.time() + 240
    while len(_bins(tmp_path)) < s1["source_builds"] and time.time() < deadline:
        time.sleep(0.5)
    time.sleep(0.5)
    out2, s2 = _run(tmp_path, "1", specialize="1")
    assert out2 == out1
    assert s2["source_builds"] == 0 and s2["binary_loads"] == s1["source_builds"]
    assert not glob.glob(str(tmp_path / "c" / "*" / "*.seen"))


def test_fill_off(tmp_path):
    _, s1 = _run(tmp_path, "0")
    time.sleep(2)
    _, s2 = _run(tmp_path, "0")
    assert s2["source_builds"] == s1["source_builds"] and s2["binary_loads"] == 0
