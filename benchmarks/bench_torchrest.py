"""Searching and counting: searchsorted, bucketize, bincount, histc, isin, quantile; cltensor vs numpy vs torch CPU.

    python benchmarks/bench_torchrest.py [--n 1000000] [--m 10000] [--repeat 5]

Each cltensor call ends with a host read of one element (drains the queue). Medians of `repeat` calls after a
warm-up, the libraries interleaved; ratios > 1 mean cltensor is faster.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cltensor as ct  # noqa: E402

try:
    import torch
except ImportError:      # torch is optional here
    torch = None


def _t(fn, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--m", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(a.n).astype(np.float32)
    s = np.sort(rng.standard_normal(a.m).astype(np.float32))
    ints = rng.integers(0, 1000, a.n)
    q = np.array([0.1, 0.5, 0.9], np.float32)
    cx, cs, ci, cq = ct.tensor(x), ct.tensor(s), ct.tensor(ints), ct.tensor(q)
    tx, ts, ti, tq = (torch.tensor(v) for v in (x, s, ints, q)) if torch else (None,) * 4
    cases = [
        ("searchsorted", lambda: ct.searchsorted(cs, cx)[0].item(), lambda: np.searchsorted(s, x),
         lambda: torch.searchsorted(ts, tx)),
        ("bucketize right", lambda: ct.bucketize(cx, cs, right=True)[0].item(),
         lambda: np.searchsorted(s, x, "right"), lambda: torch.bucketize(tx, ts, right=True)),
        ("bincount", lambda: ct.bincount(ci)[0].item(), lambda: np.bincount(ints), lambda: torch.bincount(ti)),
        ("histc 100 bins", lambda: ct.histc(cx, 100, -3, 3)[0].item(),
         lambda: np.histogram(x, 100, (-3, 3)), lambda: torch.histc(tx, 100, -3, 3)),
        ("isin", lambda: ct.isin(ci, ci[:a.m])[0].item(), lambda: np.isin(ints, ints[:a.m]),
         lambda: torch.isin(ti, ti[:a.m])),
        ("quantile", lambda: ct.quantile(cx, cq)[0].item(), lambda: np.quantile(x, q),
         lambda: torch.quantile(tx, tq)),
    ]
    dev = ct.devices()[0] if hasattr(ct, "devices") else "?"
    print(f"n={a.n} m={a.m} device: {dev}")
    print(f"{'op':18s} {'cltensor ms':>12s} {'numpy ms':>10s} {'torch ms':>10s} {'vs numpy':>9s} {'vs torch':>9s}")
    for name, fc, fn, ft in cases:
        tc, tn = _t(fc, a.repeat), _t(fn, a.repeat)
        tt = _t(ft, a.repeat) if torch else float("nan")
        print(f"{name:18s} {tc * 1e3:12.2f} {tn * 1e3:10.2f} {tt * 1e3:10.2f} {tn / tc:9.2f} {tt / tc:9.2f}")


if __name__ == "__main__":
    main()
