"""FFT benchmark: cltensor.fft vs numpy.fft (pocketfft) vs torch.fft CPU, interleaved in one process, plus the
relative L2 error against numpy in float64.

    python benchmarks/bench_fft.py            # the sizes of docs/fft.md
    python benchmarks/bench_fft.py --quick
    python benchmarks/bench_fft.py --passes   # plus the multi-launch Stockham passes (the design before the
                                              # whole-row kernels), interleaved in the same run

`rows(quick=False)` returns [{op, size, cltensor_ms, numpy_ms, torch_ms, *_med_ms}] (benchmarks/run.py's form).
Every repetition runs the three libraries in turn (cltensor drained with cltensor.synchronize()); the reported
value is the best repetition. Ratios > 1: cltensor faster. Compare ratios, not absolute times, on a shared machine.
"""
import os
import sys
import time

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import cltensor as ct  # noqa: E402

try:
    import torch  # noqa: E402
    torch.set_num_threads(os.cpu_count() or 1)
except Exception:  # pragma: no cover
    torch = None


_PASSES = False


def _passes(f):
    """f run with the multi-launch Stockham passes in place of the whole-row kernels."""
    from cltensor import _fft

    def g():
        _fft._USE_ROW = False
        try:
            return f()
        finally:
            _fft._USE_ROW = True
    return g


def _bench(fns, reps):
    live = {k: f for k, f in fns.items() if f is not None}
    for k, f in live.items():           # warm-up (kernel builds, tables, first-touch page faults)
        f()
        f()
        if k.startswith("cltensor"):
            ct.synchronize()
    times = {k: [] for k in live}
    for _ in range(reps):
        for k, f in live.items():
            t0 = time.perf_counter()
            f()
            if k.startswith("cltensor"):
                ct.synchronize()
            times[k].append((time.perf_counter() - t0) * 1e3)
    return {k: (min(v), float(np.median(v))) for k, v in times.items()}


def _row(op, size, r):
    out = {"op": op, "size": size}
    for k in ("cltensor", "cltensor_passes", "numpy", "torch"):
        best, med = r.get(k, (None, None))
        out[k + "_ms"] = best
        out[k + "_med_ms"] = med
    return out


def _case(op, shape, dtype, reps):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape)
    if op in ("fft", "ifft"):
        a = a + 1j * rng.standard_normal(shape)
    a = a.astype(dtype)
    x = ct.tensor(a)
    t = torch.from_numpy(a) if torch is not None else None
    f_ct = getattr(ct.fft, op)
    f_np = getattr(np.fft, op)
    fns = {"cltensor": lambda: f_ct(x), "cltensor_passes": _passes(lambda: f_ct(x)) if _PASSES else None,
           "numpy": lambda: f_np(a), "torch": (lambda: getattr(torch.fft, op)(t)) if t is not None else None}
    return _row(op, "x".join(map(str, shape)) + " " + np.dtype(dtype).name, _bench(fns, reps))


def rows(quick=False):
    reps = 5 if quick else 11
    big = 1 << 18 if quick else 1 << 20
    cases = [("fft", (big,), np.complex64), ("fft", (big,), np.complex128),
             ("rfft", (256 if quick else 1024, 1024), np.float32),
             ("fft", (1024,), np.complex64), ("fft", (1000,), np.complex64), ("fft", (997,), np.complex64),
             ("fft", (256, 1024), np.complex64), ("fft", (256, 1000), np.complex64), ("fft", (256, 997), np.complex64),
             ("irfft", (256 if quick else 1024, 513), np.complex64)]
    return [_case(op, shape, dt, reps) for op, shape, dt in cases]


def accuracy(n=1 << 20):
    """Relative L2 error of cltensor.fft.fft against numpy's float64 FFT at length n, per dtype."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    r = np.fft.fft(a)
    out = {}
    for dt in (np.complex64, np.complex128):
        y = ct.fft.fft(ct.tensor(a.astype(dt))).numpy()
        out[np.dtype(dt).name] = float(np.linalg.norm(y - r) / np.linalg.norm(r))
        if torch is not None:
            yt = torch.fft.fft(torch.from_numpy(a.astype(dt))).numpy()
            out[np.dtype(dt).name + " (torch)"] = float(np.linalg.norm(yt - r) / np.linalg.norm(r))
    return out


def main():
    global _PASSES
    quick = "--quick" in sys.argv
    _PASSES = "--passes" in sys.argv
    dev = ct.get_default_device()
    print(f"cltensor on {dev} ({ct._device.runtime(dev).info.name}), numpy {np.__version__}, "
          f"torch {torch.__version__ if torch else 'n/a'}")
    print(f"load average (1 min) at start: {os.getloadavg()[0]:.2f}")
    pcol = " passes ms |" if _PASSES else ""
    print(f"| op | size | cltensor ms |{pcol} numpy ms | torch ms | vs numpy | vs torch |")
    print("|---|---|---|" + ("---|" if _PASSES else "") + "---|---|---|---|")

    def f(v):
        return "-" if v is None else f"{v:.3f}"

    def q(c, o):
        return "-" if c is None or o is None else f"{o / c:.2f}"
    for r in rows(quick):
        c, n_, t = r["cltensor_ms"], r["numpy_ms"], r["torch_ms"]
        pv = f" {f(r['cltensor_passes_ms'])} |" if _PASSES else ""
        print(f"| {r['op']} | {r['size']} | {f(c)} |{pv} {f(n_)} | {f(t)} | {q(c, n_)} | {q(c, t)} |", flush=True)
    print(f"load average (1 min) at end: {os.getloadavg()[0]:.2f}")
    print()
    for k, v in accuracy(1 << 18 if quick else 1 << 20).items():
        print(f"relative L2 error vs numpy float64, {k}: {v:.2e}")


if __name__ == "__main__":
    main()
