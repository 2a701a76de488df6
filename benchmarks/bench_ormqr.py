"""torch.ormqr timing: Q C of a geqrf result (m x m Q from k = m reflectors, C m x nrhs), cltensor vs torch CPU vs
LAPACK's dormqr through scipy (the numpy stack has no ormqr), each library given the same geqrf result.

    python benchmarks/bench_ormqr.py [--repeat 5]

Median of `repeat` calls after a warm-up, libraries interleaved; the cltensor call reads one element on the host
(drains the queue). Ratios > 1: cltensor faster.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cltensor as ct  # noqa: E402
import torch  # noqa: E402
from scipy.linalg import lapack  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    print(f"seconds per call (median of {a.repeat}), float32; ratios > 1: cltensor faster")
    print(f"{'m x nrhs':>12s} {'cltensor':>10s} {'torch':>10s} {'dormqr':>10s} {'torch/ct':>9s} {'lapack/ct':>9s}")
    for m, nrhs in [(64, 16), (128, 64), (256, 64)]:
        rng = np.random.default_rng(0)
        A = rng.standard_normal((m, m)).astype(np.float32)
        C = rng.standard_normal((m, nrhs)).astype(np.float32)
        tA, ttau = torch.geqrf(torch.tensor(A))
        cA, ctau, cC = ct.tensor(tA.numpy()), ct.tensor(ttau.numpy()), ct.tensor(C)
        fA, ftau = np.asfortranarray(tA.numpy()), ttau.numpy()
        lwork = max(1, nrhs) * 64
        fns = {"ct": lambda: float(ct.ormqr(cA, ctau, cC)[0, 0]),
               "torch": lambda: float(torch.ormqr(tA, ttau, torch.tensor(C))[0, 0]),
               "lapack": lambda: float(lapack.sormqr("L", "N", fA, ftau, np.asfortranarray(C), lwork)[0][0, 0])}
        ts = {k: [] for k in fns}
        for f in fns.values():
            f()
        for _ in range(a.repeat):
            for k, f in fns.items():
                t0 = time.perf_counter()
                f()
                ts[k].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in ts.items()}
        print(f"{f'{m} x {nrhs}':>12s} {med['ct']:10.4f} {med['torch']:10.4f} {med['lapack']:10.4f} "
              f"{med['torch'] / med['ct']:9.2f} {med['lapack'] / med['ct']:9.2f}")


if __name__ == "__main__":
    main()
