"""Reduction / scan / sort / softmax benchmark: cltensor vs numpy vs torch CPU, interleaved in one process.

    python benchmarks/bench_reduce.py            # full sizes (sum of 16M float32, 4096x4096 matrices...)
    python benchmarks/bench_reduce.py --quick

`rows(quick=False)` returns [{op, size, cltensor_ms, numpy_ms, torch_ms, *_med_ms}] for benchmarks/run.py.
Every repetition runs the three libraries in turn (cltensor drained with cltensor.synchronize()), so load from
other processes hits them alike; the reported value is the best repetition, the *_med_ms keys the medians.
Compare ratios, not absolute times, on a shared machine.
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
    """fns: {name: callable or None}; returns {name: (best_ms, median_ms)}, interleaving the callables."""
    live = {k: f for k, f in fns.items() if f is not None}
    for k, f in live.items():           # warm-up (kernel builds, first-touch page faults)
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


def rows(quick=False):
    reps = 5 if quick else 15
    n = 1 << 20 if quick else 1 << 24
    s = 1024 if quick else 4096
    rng = np.random.default_rng(0)
    a = rng.random(n, dtype=np.float32)
    m = rng.random((s, s), dtype=np.float32)
    ca, cm = ct.tensor(a), ct.tensor(m)
    ta, tm = (torch.from_numpy(a), torch.from_numpy(m)) if torch else (None, None)
    T = torch is not None
    out = []

    def add(op, size, c, npf, tf):
        out.append(_row(op, size, _bench({"cltensor": c, "numpy": npf, "torch": tf if T else None}, reps)))

    add("sum", f"{n} f32", lambda: ca.sum(), lambda: a.sum(), lambda: ta.sum())
    add("mean", f"{n} f32", lambda: ca.mean(), lambda: a.mean(), lambda: ta.mean())
    add("amax", f"{n} f32", lambda: ca.amax(), lambda: a.max(), lambda: ta.amax())
    add("argmax", f"{n} f32", lambda: ca.argmax(), lambda: a.argmax(), lambda: ta.argmax())
    add("sum(dim=1) contiguous dim", f"{s}x{s} f32", lambda: cm.sum(1), lambda: m.sum(1), lambda: tm.sum(1))
    add("sum(dim=0) strided dim", f"{s}x{s} f32", lambda: cm.sum(0), lambda: m.sum(0), lambda: tm.sum(0))
    add("amax(dim=0) strided dim", f"{s}x{s} f32", lambda: cm.amax(0), lambda: m.max(0), lambda: tm.amax(0))
    add("sum(dim=1) of transpose", f"{s}x{s} f32", lambda: cm.T.sum(1), lambda: m.T.sum(1), lambda: tm.T.sum(1))
    add("std(dim=1)", f"{s}x{s} f32", lambda: cm.std(1), lambda: m.std(1, ddof=1), lambda: tm.std(1))
    add("max(dim=1) values+indices", f"{s}x{s} f32", lambda: cm.max(1), lambda: (m.max(1), m.argmax(1)),
        lambda: tm.max(1))
    add("logsumexp(dim=1)", f"{s}x{s} f32", lambda: cm.logsumexp(1),
        lambda: np.log(np.exp(m - m.max(1, keepdims=True)).sum(1)) + m.max(1), lambda: tm.logsumexp(1))
    add("softmax(dim=-1)", f"{s}x{s} f32", lambda: cm.softmax(-1),
        lambda: (lambda e: e / e.sum(1, keepdims=True))(np.exp(m - m.max(1, keepdims=True))),
        lambda: tm.softmax(-1))
    add("cumsum", f"{n} f32", lambda: ca.cumsum(0), lambda: np.cumsum(a), lambda: ta.cumsum(0))
    add("cumsum(dim=1)", f"{s}x{s} f32", lambda: cm.cumsum(1), lambda: np.cumsum(m, 1), lambda: tm.cumsum(1))
    ns = 1 << 16 if quick else 1 << 20
    b = rng.random(ns, dtype=np.float32)
    cb, tb = ct.tensor(b), (torch.from_numpy(b) if T else None)
    add("sort", f"{ns} f32", lambda: cb.sort(), lambda: (np.sort(b, kind="stable"), np.argsort(b, kind="stable")),
        lambda: tb.sort(stable=True))
    rs = 256 if quick else 1024
    r = rng.random((rs, 1000), dtype=np.float32)
    cr, tr = ct.tensor(r), (torch.from_numpy(r) if T else None)
    add("sort rows", f"{rs}x1000 f32", lambda: cr.sort(1), lambda: np.argsort(r, 1, kind="stable"),
        lambda: tr.sort(dim=1, stable=True))
    add("topk(10) rows", f"{rs}x1000 f32", lambda: cr.topk(10), lambda: np.argpartition(-r, 10, 1)[:, :10],
        lambda: tr.topk(10))
    return out


def main():
    quick = "--quick" in sys.argv
    rs = rows(quick)
    dev = ct.get_default_device()
    print(f"cltensor on {dev}, numpy {np.__version__}, torch {torch.__version__ if torch else 'n/a'}")
    print("| op | size | cltensor ms | numpy ms | torch ms | vs numpy | vs torch |")
    print("|---|---|---|---|---|---|---|")
    for r in rs:
        c, n_, t = r["cltensor_ms"], r["numpy_ms"], r["torch_ms"]
        f = (lambda v: "-" if v is None else f"{v:.3f}")
        q = (lambda x, y: "-" if x is None or y is None else f"{y / x:.2f}x")
        print(f"| {r['op']} | {r['size']} | {f(c)} | {f(n_)} | {f(t)} | {q(c, n_)} | {q(c, t)} |")


if __name__ == "__main__":
    main()
