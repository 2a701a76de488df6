"""A process that built programs from source leaves their binaries to a detached process at exit
(cltensor/_cachefill.py): the next process loads every program from the binary cache and builds none."""
import glob
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODE = ("import json, cltensor as ct; from cltensor import _kernels as K; "
        "x = ct.arange(10.0); print((x * 2 + 1).sum().item(), (x.exp() - x).max().item()); "
        "print(json.dumps(K.stats))")


def _run(tmp_path, fill):
    env = dict(os.environ, CLTENSOR_CACHE_FILL=fill, CLTENSOR_CACHE_DIR=str(tmp_path / "c"),
               POCL_CACHE_DIR=str(tmp_path / "p"), PYTHONPATH=ROOT, CLTENSOR_BUILD_PROGRESS="0")
    r = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    return lines[0], json.loads(lines[1])


def test_next_run_loads_binaries(tmp_path):
    out1, s1 = _run(tmp_path, "1")
    assert s1["source_builds"] >= 2 and s1["binaries_saved"] == 0
    deadline = time.time() + 240
    while len(glob.glob(str(tmp_path / "c" / "*" / "*.bin"))) < s1["source_builds"] and time.time() < deadline:
        time.sleep(0.5)
    time.sleep(0.5)
    out2, s2 = _run(tmp_path, "1")
    assert out2 == out1
    assert s2["source_builds"] == 0 and s2["binary_loads"] == s1["source_builds"]
    assert not glob.glob(str(tmp_path / "c" / "*" / "*.seen"))


def test_fill_off(tmp_path):
    _, s1 = _run(tmp_path, "0")
    time.sleep(2)
    _, s2 = _run(tmp_path, "0")
    assert s2["source_builds"] == s1["source_builds"] and s2["binary_loads"] == 0
