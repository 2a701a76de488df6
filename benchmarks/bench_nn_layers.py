"""Convolution / pooling / resampling benchmarks: cltensor vs numpy vs torch CPU side by side.

    python benchmarks/bench_nn_layers.py [--quick]

Rows: ConvTranspose2d 32x64x16x16 -> 32x32x32x32 (k4 s2 p1) forward+backward; bilinear interpolate x2 of
32x64x64x64 (forward); MaxPool3d k2 and Conv3d 16->16 k3 p1 on 8x16x32x32x32 (forward). numpy has a reference
only for the bilinear resize (two separable gathers). Times are the best of several round-robin repetitions after a
warm-up (kernel compiles excluded), synchronised on the device; ratio = torch_ms / cltensor_ms (>1: cltensor
faster).
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


def _best(fns, reps):
    live = {k: f for k, f in fns.items() if f is not None}
    for k, f in live.items():
        f()
    ct.synchronize()
    best = {k: float("inf") for k in live}
    for _ in range(reps):
        for k, f in live.items():
            t0 = time.perf_counter()
            f()
            if k == "cltensor":
                ct.synchronize()
            best[k] = min(best[k], time.perf_counter() - t0)
    return {k: (best[k] * 1e3 if k in best else None) for k in fns}


def _np_bilinear_x2(x):
    """align_corners=False bilinear x2 along the last two dims (PyTorch's index arithmetic)."""
    def axis(n):
        o = np.arange(2 * n)
        src = np.maximum((o + 0.5) / 2 - 0.5, 0)
        i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
        i1 = np.minimum(i0 + 1, n - 1)
        lam = (src - i0).astype(x.dtype)
        return i0, i1, lam
    h0, h1, lh = axis(x.shape[-2])
    w0, w1, lw = axis(x.shape[-1])
    y = x[..., h0, :] * (1 - lh)[:, None] + x[..., h1, :] * lh[:, None]
    return y[..., w0] * (1 - lw) + y[..., w1] * lw


def rows(quick=False):
    reps = 3 if quick else 7
    out = []
    rng = np.random.default_rng(0)

    # ConvTranspose2d forward + backward
    x = rng.standard_normal((32, 64, 16, 16)).astype(np.float32)
    ct.manual_seed(0)
    mc = ct.nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
    xc = ct.tensor(x, requires_grad=True)
    fns = {"cltensor": lambda: mc(xc).sum().backward(), "numpy": None}
    if torch is not None:
        mt = torch.nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
        xt = torch.tensor(x, requires_grad=True)
        fns["torch"] = lambda: mt(xt).sum().backward()
    else:
        fns["torch"] = None
    out.append(dict(op="ConvTranspose2d k4 s2 p1 fwd+bwd", size="32x64x16x16 -> 32x32x32x32", **{
        f"{k}_ms": v for k, v in _best(fns, reps).items()}))

    # bilinear x2
    x = rng.standard_normal((32, 64, 64, 64)).astype(np.float32)
    xc = ct.tensor(x)
    fns = {"cltensor": lambda: ct.nn.functional.interpolate(xc, scale_factor=2, mode="bilinear"),
           "numpy": (lambda: _np_bilinear_x2(x)) if not quick else None}
    fns["torch"] = ((lambda xt: lambda: torch.nn.functional.interpolate(xt, scale_factor=2, mode="bilinear"))(
        torch.tensor(x)) if torch is not None else None)
    out.append(dict(op="interpolate bilinear x2", size="32x64x64x64", **{
        f"{k}_ms": v for k, v in _best(fns, reps).items()}))

    # MaxPool3d, Conv3d
    x = rng.standard_normal((8, 16, 32, 32, 32)).astype(np.float32)
    xc = ct.tensor(x)
    fns = {"cltensor": lambda: ct.nn.functional.max_pool3d(xc, 2), "numpy": None,
           "torch": ((lambda xt: lambda: torch.nn.functional.max_pool3d(xt, 2))(torch.tensor(x))
                     if torch is not None else None)}
    out.append(dict(op="MaxPool3d k2", size="8x16x32x32x32", **{f"{k}_ms": v for k, v in _best(fns, reps).items()}))
    w = rng.standard_normal((16, 16, 3, 3, 3)).astype(np.float32) * 0.1
    wc = ct.tensor(w)
    fns = {"cltensor": lambda: ct.nn.functional.conv3d(xc, wc, padding=1), "numpy": None,
           "torch": ((lambda xt, wt: lambda: torch.nn.functional.conv3d(xt, wt, padding=1))(
               torch.tensor(x), torch.tensor(w)) if torch is not None else None)}
    out.append(dict(op="Conv3d 16->16 k3 p1", size="8x16x32x32x32", **{
        f"{k}_ms": v for k, v in _best(fns, max(2, reps // 2)).items()}))
    return out


def main():
    quick = "--quick" in sys.argv
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
    print(f"{'op':36s} {'size':28s} {'cltensor ms':>12s} {'numpy ms':>10s} {'torch ms':>10s} {'vs torch':>9s}")
    for r in rows(quick):
        f = (lambda v: f"{v:10.2f}" if v is not None else f"{'-':>10s}")
        ratio = (r["torch_ms"] / r["cltensor_ms"]) if r["torch_ms"] else None
        print(f"{r['op']:36s} {r['size']:28s} {r['cltensor_ms']:12.2f} {f(r['numpy_ms'])} {f(r['torch_ms'])} "
              f"{(f'{ratio:8.2f}x' if ratio else '-'):>9s}")


if __name__ == "__main__":
    main()
