"""Run each example for a few steps in a subprocess (on the default device, e.g. cpu, or CLTENSOR_DEVICE's)."""
import os
import subprocess
import sys

import pytest

import cltensor as ct

DEV = str(ct.get_default_device())
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(ROOT, "examples")


def run(args, cwd, timeout=240):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    p = subprocess.run([sys.executable] + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p.stdout


def test_quickstart(tmp_path):
    out = run([os.path.join(EX, "quickstart.py"), "--device", DEV, "--steps", "20"], tmp_path)
    for part in ("# 1. Creating tensors", "# 4. numpy interop", "# 6. Autograd", "w.grad", "done"):
        assert part in out
    losses = [float(line.split()[3]) for line in out.splitlines() if line.startswith("step ")]
    assert len(losses) >= 2 and losses[-1] < losses[0]


def test_regression(tmp_path):
    out = run([os.path.join(EX, "regression.py"), "--device", DEV, "--steps", "150"], tmp_path)
    assert "Linear(in_features=10, out_features=50, bias=True)" in out
    last = [line for line in out.splitlines() if line.startswith("test loss")][-1]
    first, final = float(last.split()[2]), float(last.split()[4])
    assert final < first


def test_digits_cnn(tmp_path):
    pytest.importorskip("sklearn")
    outdir = tmp_path / "out"
    out = run([os.path.join(EX, "digits_cnn.py"), "--device", DEV, "--epochs", "2", "--steps", "6",
               "--out", str(outdir)], tmp_path)
    assert "epoch   1" in out and "epoch   2" in out and "final test accuracy" in out
    assert (outdir / "digits_cnn.ckpt").exists()
    assert "reloaded model test accuracy" in out
    try:
        import matplotlib  # noqa: F401
        assert (outdir / "digits_cnn_curves.png").exists()
    except ImportError:
        assert "skipping the loss/accuracy plot" in out
    acc = float(out.split("final test accuracy")[1].split("%")[0])
    assert acc > 50.0     # 12 short steps already learn most digits


def test_soak_short(tmp_path):
    """examples/soak.py for a few seconds: device memory must be constant from the second epoch on (at least 3 epochs)."""
    out = run([os.path.join(EX, "soak.py"), "--device", DEV, "--minutes", "0.1", "--warmup", "0", "--every",
               "2"], tmp_path)
    assert "OK:" in out and "baseline after" in out, out
    epochs = int(out.split("OK: ")[1].split()[0])
    assert epochs >= 2, out


def test_char_lstm(tmp_path):
    """examples/char_lstm.py for 3 steps with a tiny model: streams of 2 blocks, so step 2 carries the hidden state
    from step 1 and step 3 starts a new pass; the loss is finite and 20 sampled characters follow the prime."""
    out = run([os.path.join(EX, "char_lstm.py"), "--device", DEV, "--steps", "3", "--text", "zen", "--batch", "4",
               "--block", "100", "--embed", "8", "--hidden", "16", "--generate", "20", "--out",
               str(tmp_path / "out")], tmp_path, timeout=180)
    assert "(2 blocks a pass)" in out and "parameters:" in out, out
    losses = [float(line.split()[3]) for line in out.splitlines() if line.startswith("step ")]
    assert len(losses) == 3 and all(0.0 < v < 10.0 for v in losses), out
    final = float(out.split("final loss ")[1].split()[0])
    assert abs(final - losses[-1]) < 1e-3, out      # mean of the last 10% of 3 steps: the last step
    text = out.split("generated (temperature 0.8):\n")[1]
    assert text.startswith("The Zen ") and len(text) == 8 + 20 + 1, out   # prime, 20 characters, print's newline
