"""nn/optim benchmarks: cltensor vs numpy (hand-written reference) vs torch CPU (when installed).

    python benchmarks/bench_nn.py [--quick]

rows(quick=False) -> list of dicts with keys op, size, cltensor_ms, numpy_ms, torch_ms (None where a library
has no counterpart); conv rows also carry cltensor_gflops / torch_gflops. Times are the best of several
repetitions after a warm-up (kernel compiles excluded), synchronised on the device, with the libraries run
round-robin so that a shared machine's load changes hit them alike.
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cltensor as ct  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def _best(fns, reps, inner=1):
    """{name: fn} -> {name: best ms per call}: the libraries run round-robin (one repetition of each in turn, after
    a warm-up call each), so load changes on a shared machine hit them alike. None entries stay None."""
    live = {k: f for k, f in fns.items() if f is not None}
    for f in live.values():
        f()
    ct.synchronize()
    best = {k: float("inf") for k in live}
    for _ in range(reps):
        for k, f in live.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                f()
            if k.startswith("cltensor"):
                ct.synchronize()
            best[k] = min(best[k], (time.perf_counter() - t0) / inner)
    return {k: (best[k] * 1e3 if k in best else None) for k in fns}


def _row(op, size, fns, reps, inner=1):
    r = {"op": op, "size": size}
    t = _best(fns, reps, inner)
    r.update({f"{k}_ms": t.get(k) for k in ("cltensor", "numpy", "torch")})
    return r


# ---------------------------------------------------------------------------------------- SimpleModel step
def _simple_lib(lib, bs):
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(10, 50), lib.nn.ReLU(), lib.nn.Linear(50, 1))
    opt = lib.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    x, y = lib.randn(bs, 10), lib.randn(bs, 1)
    crit = lib.nn.MSELoss()

    def step():
        opt.zero_grad()
        loss = crit(m(x), y)
        loss.backward()
        opt.step()
    return step


def _simple_numpy(bs):
    rng = np.random.default_rng(0)
    w1, b1 = rng.standard_normal((50, 10), np.float32) * 0.3, np.zeros(50, np.float32)
    w2, b2 = rng.standard_normal((1, 50), np.float32) * 0.1, np.zeros(1, np.float32)
    x, y = rng.standard_normal((bs, 10), np.float32), rng.standard_normal((bs, 1), np.float32)
    bufs = [np.zeros_like(a) for a in (w1, b1, w2, b2)]

    def step():
        h = x @ w1.T + b1
        a = np.maximum(h, 0)
        out = a @ w2.T + b2
        d = out - y
        g = 2 * d / d.size
        gw2, gb2 = g.T @ a, g.sum(0)
        ga = g @ w2
        gh = ga * (h > 0)
        gw1, gb1 = gh.T @ x, gh.sum(0)
        for p, gr, b in zip((w1, b1, w2, b2), (gw1, gb1, gw2, gb2), bufs):
            b *= 0.9
            b += gr
            p -= 0.01 * b
    return step


# ---------------------------------------------------------------------------------------- conv2d
def _im2col_np(x, k, pad):
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    s = xp.strides
    cols = np.lib.stride_tricks.as_strided(xp, (N, C, k, k, H, W), (s[0], s[1], s[2], s[3], s[2], s[3]))
    return cols.reshape(N, C * k * k, H * W)


def _conv_numpy(x, w, b, g):
    N, C, H, W = x.shape
    O, _, k, _ = w.shape
    wm = w.reshape(O, -1)

    def step():
        col = _im2col_np(x, k, k // 2)                  # N, CKK, HW
        out = np.matmul(wm, col) + b[None, :, None]     # forward
        gm = g.reshape(N, O, H * W)
        gw = np.einsum("noh,nkh->ok", gm, col, optimize=True)
        gcol = np.matmul(wm.T, gm)                      # N, CKK, HW
        gx = np.zeros((N, C, H + 2 * (k // 2), W + 2 * (k // 2)), np.float32)
        gc = gcol.reshape(N, C, k, k, H, W)
        for i in range(k):
            for j in range(k):
                gx[:, :, i:i + H, j:j + W] += gc[:, :, i, j]
        return out, gw, gm.sum((0, 2)), gx
    return step


def _conv_lib(lib, xn, wn, bn, gn):
    x = lib.tensor(xn, requires_grad=True)
    w = lib.tensor(wn, requires_grad=True)
    b = lib.tensor(bn, requires_grad=True)
    g = lib.tensor(gn)

    def step():
        y = lib.nn.functional.conv2d(x, w, b, padding=1)
        y.backward(g)
    return step


# ---------------------------------------------------------------------------------------- digits CNN epoch
def _digits_model(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 128), nn.ReLU(inplace=True), nn.Dropout(0.25), nn.Linear(128, 10))


def _digits_epoch(lib, n=1437, bs=64):
    rng = np.random.default_rng(0)
    xn = rng.standard_normal((n, 1, 8, 8)).astype(np.float32)
    yn = rng.integers(0, 10, n)
    lib.manual_seed(0)
    model = _digits_model(lib)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    crit = lib.nn.CrossEntropyLoss()
    x, y = lib.tensor(xn), lib.tensor(yn)
    batches = [(x[i:i + bs], y[i:i + bs]) for i in range(0, n, bs)]

    def epoch():
        model.train()
        for xb, yb in batches:
            opt.zero_grad()
            loss = crit(model(xb), yb)
            loss.backward()
            opt.step()
        return loss.item()
    return epoch


def rows(quick=False):
    out = []
    reps = 4 if quick else 12
    has_t = torch is not None

    # SimpleModel training step, batch 32
    out.append(_row("SimpleModel train step (Linear 10-50-1, ReLU, MSE, SGD momentum)", "batch 32",
                    {"cltensor": _simple_lib(ct, 32), "numpy": _simple_numpy(32),
                     "torch": _simple_lib(torch, 32) if has_t else None}, reps, 20 if quick else 50))

    # Conv2d forward + backward
    N, C, H, W, O, k = (8 if quick else 32), 16, 32, 32, 32, 3
    rng = np.random.default_rng(0)
    xn = rng.standard_normal((N, C, H, W)).astype(np.float32)
    wn = rng.standard_normal((O, C, k, k)).astype(np.float32) * 0.1
    bn = rng.standard_normal(O).astype(np.float32)
    gn = rng.standard_normal((N, O, H, W)).astype(np.float32)
    flops = 3 * 2 * N * O * H * W * C * k * k
    r = _row("Conv2d forward+backward (3x3, pad 1, 32 filters, bias)", f"{N}x{C}x{H}x{W}",
             {"cltensor": _conv_lib(ct, xn, wn, bn, gn), "numpy": _conv_numpy(xn, wn, bn, gn),
              "torch": _conv_lib(torch, xn, wn, bn, gn) if has_t else None}, max(3, reps // 2))
    r["cltensor_gflops"] = flops / r["cltensor_ms"] / 1e6
    r["torch_gflops"] = flops / r["torch_ms"] / 1e6 if r["torch_ms"] else None
    out.append(r)

    # Conv2d forward only (inference, no_grad): the direct kernel on CPU devices
    def infer(lib):
        x, w, b = lib.tensor(xn), lib.tensor(wn), lib.tensor(bn)

        def f():
            with lib.no_grad():
                lib.nn.functional.conv2d(x, w, b, padding=1)
        return f
    r = _row("Conv2d forward, inference (no_grad)", f"{N}x{C}x{H}x{W}",
             {"cltensor": infer(ct), "numpy": None, "torch": infer(torch) if has_t else None}, reps)
    r["cltensor_gflops"] = flops / 3 / r["cltensor_ms"] / 1e6
    r["torch_gflops"] = flops / 3 / r["torch_ms"] / 1e6 if r["torch_ms"] else None
    out.append(r)

    # the digits CNN's second convolution: many tiny images (4x4), 32 -> 64 channels
    xs = rng.standard_normal((64, 32, 4, 4)).astype(np.float32)
    ws = rng.standard_normal((64, 32, 3, 3)).astype(np.float32) * 0.1
    bs_ = rng.standard_normal(64).astype(np.float32)
    gs = rng.standard_normal((64, 64, 4, 4)).astype(np.float32)
    r = _row("Conv2d forward+backward, small images (3x3, pad 1, 64 filters, bias)", "64x32x4x4",
             {"cltensor": _conv_lib(ct, xs, ws, bs_, gs), "numpy": _conv_numpy(xs, ws, bs_, gs),
              "torch": _conv_lib(torch, xs, ws, bs_, gs) if has_t else None}, reps)
    fl = 3 * 2 * 64 * 64 * 16 * 32 * 9
    r["cltensor_gflops"] = fl / r["cltensor_ms"] / 1e6
    r["torch_gflops"] = fl / r["torch_ms"] / 1e6 if r["torch_ms"] else None
    out.append(r)

    # digits CNN epoch
    n = 320 if quick else 1437
    out.append(_row("digits CNN training epoch (2x Conv-BN-ReLU-MaxPool, 2x Linear, CE, Adam)",
                    f"{n} images 1x8x8, batch 64",
                    {"cltensor": _digits_epoch(ct, n), "numpy": None,
                     "torch": _digits_epoch(torch, n) if has_t else None}, max(2, reps // 3)))
    return out


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    for r in rows(quick):
        extra = ""
        if "cltensor_gflops" in r:
            extra = f"  [{r['cltensor_gflops']:.1f} GFLOP/s cltensor" + (
                f", {r['torch_gflops']:.1f} torch]" if r.get("torch_gflops") else "]")

        def f(v):
            return "-" if v is None else f"{v:.3f}"
        print(f"{r['op']:75s} {r['size']:28s} cltensor {f(r['cltensor_ms'])} ms  numpy {f(r['numpy_ms'])} ms  "
              f"torch {f(r['torch_ms'])} ms{extra}")
