"""Kernel build progress on stderr (cltensor/_progress.py): silent below a second of building unless asked, one
summary line at exit on a non-terminal stream, nothing with CLTENSOR_BUILD_PROGRESS=0."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODE = "import cltensor as ct; (ct.arange(7.0) * 3 + 1).exp().sum().item()"


def _run(mode, tmp_path):
    env = dict(os.environ, CLTENSOR_BUILD_PROGRESS=mode, CLTENSOR_CACHE_DIR=str(tmp_path / "c"),
               POCL_CACHE_DIR=str(tmp_path / "p"), PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stderr


def test_summary_line_and_silence(tmp_path):
    err = _run("1", tmp_path / "a")             # empty caches: kernels are built from source
    lines = [ln for ln in err.splitlines() if "OpenCL kernel" in ln]
    assert len(lines) == 1 and lines[0].startswith("cltensor: built ") and "first run only" in lines[0]
    n = int(lines[0].split()[2])
    assert n >= 2
    assert "OpenCL kernel" not in _run("0", tmp_path / "b")


def test_progress_state_counts_builds(monkeypatch):
    from cltensor import _progress
    monkeypatch.setenv("CLTENSOR_BUILD_PROGRESS", "0")
    before = dict(_progress.state)
    _progress.built(3, 0.01)
    assert _progress.state["count"] == before["count"] + 3
    _progress.state.update(before)
