"""Special functions: cltensor vs scipy.special (numpy arrays) vs torch CPU, one elementwise call over n elements.

    python benchmarks/bench_special.py [--device cpu] [--n 1000000] [--dtype float32] [--repeat 5]

Each timed cltensor call includes a host read of one element (drains the queue); the median of `repeat` calls after
a warm-up (which builds the kernel), the libraries interleaved so machine load affects all alike. Ratios > 1:
cltensor faster.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cltensor as ct  # noqa: E402


def _median(fn, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import scipy.special as sc
    try:
        import torch
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    a = rng.uniform(0.1, 20, args.n).astype(args.dtype)
    b = rng.uniform(0.1, 20, args.n).astype(args.dtype)
    u = rng.uniform(-0.99, 0.99, args.n).astype(args.dtype)
    ca, cb, cu = (ct.tensor(x, device=args.device) for x in (a, b, u))
    ta, tb, tu = (torch.tensor(x) for x in (a, b, u)) if torch else (None, None, None)
    S = "special."
    cases = [("lgamma", "lgamma", sc.gammaln, "a"), ("digamma", "digamma", sc.psi, "a"),
             ("erfinv", "erfinv", sc.erfinv, "u"), ("i0", "i0", sc.i0, "a"), (S + "i1e", S + "i1e", sc.i1e, "a"),
             (S + "ndtri", S + "ndtri", sc.ndtri, "p"), (S + "log_ndtr", S + "log_ndtr", sc.log_ndtr, "u"),
             (S + "erfcx", S + "erfcx", sc.erfcx, "a"), (S + "bessel_j0", S + "bessel_j0", sc.j0, "a"),
             (S + "modified_bessel_k1", S + "modified_bessel_k1", sc.k1, "a"),
             (S + "airy_ai", S + "airy_ai", lambda x: sc.airy(x)[0], "u"),
             ("igamma", "igamma", sc.gammainc, "ab"), (S + "zeta", S + "zeta", sc.zeta, "ab")]

    def res(mod, name):
        for p in name.split("."):
            mod = getattr(mod, p)
        return mod

    print(f"n = {args.n}, {args.dtype}, device {ca.device}; times in ms (median of {args.repeat})")
    print(f"{'op':28s} {'cltensor':>9s} {'scipy':>9s} {'torch':>9s} {'vs scipy':>9s} {'vs torch':>9s}")
    for name, tname, sfn, kind in cases:
        if kind == "ab":
            cargs, nargs, targs = (ca + 1, cb), (a + 1, b), (ta + 1, tb) if torch else None
        elif kind == "p":
            cargs, nargs, targs = ((cu + 1) / 2,), ((u + 1) / 2,), ((tu + 1) / 2,) if torch else None
        elif kind == "u":
            cargs, nargs, targs = (cu,), (u,), (tu,) if torch else None
        else:
            cargs, nargs, targs = (ca,), (a,), (ta,) if torch else None
        f = res(ct, name)
        t_c = _median(lambda: f(*cargs)[0].item(), args.repeat)
        t_s = _median(lambda: sfn(*nargs), args.repeat)
        t_t = _median(lambda: res(torch, tname)(*targs), args.repeat) if torch else float("nan")
        print(f"{name:28s} {t_c * 1e3:9.2f} {t_s * 1e3:9.2f} {t_t * 1e3:9.2f} {t_s / t_c:9.2f} {t_t / t_c:9.2f}")


if __name__ == "__main__":
    main()
