"""Runs the multi-process tests (tests/distributed/) under mpirun and the two-device tests in a subprocess with
PoCL showing two devices, each with a timeout, so that `python -m pytest tests` covers them and a hang fails
instead of blocking. The MPI test modules run on every rank and check against single-process references."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPIRUN = shutil.which("mpirun")
try:
    import mpi4py  # noqa: F401
    HAVE_MPI4PY = True
except ImportError:
    HAVE_MPI4PY = False

@pytest.fixture
def _mpi():
    """Open MPI and mpi4py are requirements of the test set-up (README's test command installs both)."""
    if MPIRUN is None or not HAVE_MPI4PY:
        pytest.fail("needs Open MPI (apt-get install openmpi-bin libopenmpi-dev) and mpi4py (pip install -e "
                    "'.[test]'), as README's test command installs them")


needs_mpi = pytest.mark.usefixtures("_mpi")


def _env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [ROOT, env.get("PYTHONPATH", "")] if p)
    env.update(extra)
    return env


def _run(cmd, timeout, **extra):
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=_env(**extra), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"")[-4000:]
        pytest.fail(f"{' '.join(cmd)} did not finish within {timeout} s (hang?):\n{out}")
    assert p.returncode == 0, f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-6000:]}\n{p.stderr[-3000:]}"
    return p.stdout


def _mpirun(np_, module, timeout, wrapper=()):
    cmd = [MPIRUN, "--oversubscribe", "-np", str(np_)]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    cmd += list(wrapper) + [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", f"tests/distributed/{module}"]
    out = _run(cmd, timeout)
    assert out.count(" passed") >= np_, out[-3000:]       # every rank reported its passes
    return out


@needs_mpi
@pytest.mark.parametrize("np_", [2, 3])
def test_collectives_under_mpirun(np_):
    _mpirun(np_, "mpi_collectives.py", 240)


@needs_mpi
def test_ddp_under_mpirun():
    _mpirun(2, "mpi_ddp.py", 240)


@needs_mpi
def test_device_memory_tensors_under_mpirun():
    _mpirun(2, "mpi_device_memory.py", 240)


def test_two_devices_in_one_process():
    out = _run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/distributed/two_devices.py"],
               240, POCL_DEVICES="pthread pthread")
    assert " passed" in out


@needs_mpi
def test_launcher_sets_torchrun_variables(tmp_path):
    script = tmp_path / "show.py"
    # each rank writes its own file (mpirun may interleave the ranks' stdout mid-line)
    script.write_text("import os, sys\nimport cltensor.distributed as dist\ndist.init_process_group('gloo')\n"
                      "line = ' '.join(map(str, ('R', os.environ['RANK'], os.environ['WORLD_SIZE'], "
                      "os.environ['LOCAL_RANK'], os.environ['MASTER_ADDR'], dist.get_rank(), dist.get_world_size(), "
                      "sys.argv[1:], __name__)))\n"
                      f"open(os.path.join({str(tmp_path)!r}, 'rank%s.txt' % os.environ['RANK']), 'w').write(line)\n")
    out = _run([sys.executable, "-m", "cltensor.distributed.run", "--nproc-per-node", "2", str(script), "--x", "1"],
               120)
    lines = [(tmp_path / f"rank{r}.txt").read_text() for r in range(2)]
    assert lines == [f"R {r} 2 {r} 127.0.0.1 {r} 2 ['--x', '1'] __main__" for r in range(2)], out


@needs_mpi
def test_single_process_api_without_mpi_launch():
    # started without mpirun: a world of one (MPI singleton); explicit sizes that disagree raise
    code = ("import cltensor as ct, cltensor.distributed as dist\n"
            "assert dist.is_available() and not dist.is_initialized()\n"
            "try:\n    dist.get_rank()\nexcept ValueError as e:\n    assert 'not been initialized' in str(e)\n"
            "try:\n    dist.init_process_group('mpi', world_size=2, rank=0)\nexcept ValueError as e:\n"
            "    assert 'world_size=2' in str(e)\n"
            "dist.init_process_group('gloo')\n"
            "assert dist.get_rank() == 0 and dist.get_world_size() == 1 and dist.get_backend() == 'gloo'\n"
            "t = ct.arange(4.)\ndist.all_reduce(t, op=dist.ReduceOp.AVG)\nassert t.tolist() == [0, 1, 2, 3]\n"
            "try:\n    dist.init_process_group()\nexcept ValueError as e:\n    assert 'twice' in str(e)\n"
            "dist.destroy_process_group()\nassert not dist.is_initialized()\nprint('ok')\n")
    assert "ok" in _run([sys.executable, "-c", code], 120)


def test_backend_names_and_reduce_ops():
    import cltensor.distributed as dist
    assert dist.Backend("GLOO") == "gloo" and dist.Backend("nccl") == "nccl" and dist.Backend("mpi") == "mpi"
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.Backend("ucc")
    assert [o.name for o in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.PRODUCT, dist.ReduceOp.MIN,
                             dist.ReduceOp.MAX, dist.ReduceOp.BAND, dist.ReduceOp.BOR, dist.ReduceOp.BXOR)] == \
        ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"]
    assert dist.group.WORLD is None or dist.is_initialized()


@needs_mpi
def test_ddp_digits_example_through_the_launcher(tmp_path):
    import sklearn  # noqa: F401  (the example loads its digits)
    out = _run([sys.executable, "-m", "cltensor.distributed.run", "--nproc-per-node", "2",
                os.path.join(ROOT, "examples", "ddp_digits.py"), "--epochs", "2", "--steps", "5",
                "--out", str(tmp_path / "out")], 240)
    assert "2 ranks; 1438 training images, 719 per rank" in out
    assert "epoch   2" in out and "parameters identical on all ranks: True" in out
    assert (tmp_path / "out" / "ddp_digits.ckpt").exists()
