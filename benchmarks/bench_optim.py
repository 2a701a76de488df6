"""Optimizer step benchmark: one step over a 1M-parameter model (a 1024x1024 weight and a 1024 bias, float32) for
each optimizer, cltensor vs numpy (SGD momentum and Adam written in numpy) vs torch CPU, interleaved in one process.

    python benchmarks/bench_optim.py            # 1024x1024 + 1024 parameters
    python benchmarks/bench_optim.py --quick    # 256x256 + 256

`rows(quick=False)` returns [{op, size, cltensor_ms, numpy_ms, torch_ms, *_med_ms}] for benchmarks/run.py.
Every repetition runs the libraries in turn (cltensor drained with cltensor.synchronize()); the reported value is
the best repetition, the *_med_ms keys the medians. Compare ratios, not absolute times, on a shared machine.
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
except Exception:  # pragma: no cover
    torch = None


def _bench(fns, reps):
    live = {k: f for k, f in fns.items() if f is not None}
    for k, f in live.items():
        f()
        f()
        if k == "cltensor":
            ct.synchronize()
    times = {k: [] for k in live}
    for _ in range(reps):
        for k, f in live.items():
            t0 = time.perf_counter()
            f()
            if k == "cltensor":
                ct.synchronize()
            times[k].append((time.perf_counter() - t0) * 1e3)
    return {k: (min(v), float(np.median(v))) for k, v in times.items()}


def _row(op, size, r):
    out = {"op": op, "size": size}
    for k in ("cltensor", "numpy", "torch"):
        best, med = r.get(k, (None, None))
        out[k + "_ms"] = best
        out[k + "_med_ms"] = med
    return out


def _np_sgd(ps, gs, lr=0.01, mom=0.9):
    bufs = [np.zeros_like(p) for p in ps]

    def step():
        for p, g, b in zip(ps, gs, bufs):
            b *= mom
            b += g
            p -= lr * b
    return step


def _np_adam(ps, gs, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    ms = [np.zeros_like(p) for p in ps]
    vs = [np.zeros_like(p) for p in ps]
    t = [0]

    def step():
        t[0] += 1
        bc1, bc2 = 1 - b1 ** t[0], 1 - b2 ** t[0]
        for p, g, m, v in zip(ps, gs, ms, vs):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= (lr / bc1) * m / (np.sqrt(v / bc2) + eps)
    return step


CASES = [("SGD", dict(lr=0.01, momentum=0.9), _np_sgd), ("Adam", dict(lr=1e-3), _np_adam),
         ("AdamW", dict(lr=1e-3), None), ("Adam amsgrad", dict(lr=1e-3, amsgrad=True), None),
         ("RMSprop", dict(lr=1e-3, momentum=0.9, centered=True), None), ("Adagrad", dict(lr=0.01), None),
         ("Adadelta", dict(), None), ("Adamax", dict(), None), ("NAdam", dict(), None), ("RAdam", dict(), None),
         ("Rprop", dict(), None), ("ASGD", dict(), None), ("Adafactor", dict(), None)]


def rows(quick=False):
    reps = 5 if quick else 15
    n = 256 if quick else 1024
    rng = np.random.default_rng(0)
    shapes = [(n, n), (n,)]
    p0 = [rng.standard_normal(s).astype(np.float32) * 0.01 for s in shapes]
    g0 = [rng.standard_normal(s).astype(np.float32) * 0.01 for s in shapes]
    size = f"{sum(p.size for p in p0)} params f32"
    out = []
    for name, kw, npf in CASES:
        cls = name.split()[0]
        cps = [ct.nn.Parameter(ct.tensor(p)) for p in p0]
        for p, g in zip(cps, g0):
            p.grad = ct.tensor(g)
        co = getattr(ct.optim, cls)(cps, **kw)
        fns = {"cltensor": co.step, "numpy": npf([p.copy() for p in p0], g0) if npf else None, "torch": None}
        if torch is not None:
            tps = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in p0]
            for p, g in zip(tps, g0):
                p.grad = torch.from_numpy(g)
            fns["torch"] = getattr(torch.optim, cls)(tps, **kw).step
        out.append(_row(name + " step", size, _bench(fns, reps)))
    return out


def main():
    quick = "--quick" in sys.argv
    rs = rows(quick)
    dev = ct.get_default_device()
    print(f"cltensor on {dev}, numpy {np.__version__}, torch {torch.__version__ if torch else 'n/a'} "
          f"({torch.get_num_threads() if torch else 0} threads)")
    print("| op | size | cltensor ms | numpy ms | torch ms | vs numpy | vs torch |")
    print("|---|---|---|---|---|---|---|")
    for r in rs:
        c, n_, t = r["cltensor_ms"], r["numpy_ms"], r["torch_ms"]
        f = (lambda v: "-" if v is None else f"{v:.3f}")
        q = (lambda x, y: "-" if x is None or y is None else f"{y / x:.2f}x")
        print(f"| {r['op']} | {r['size']} | {f(c)} | {f(n_)} | {f(t)} | {q(c, n_)} | {q(c, t)} |")


if __name__ == "__main__":
    main()
