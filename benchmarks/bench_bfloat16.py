"""bfloat16 timing: elementwise, reductions and matmul in bfloat16 (cltensor, torch CPU) next to float32 (cltensor,
numpy: numpy has no bfloat16).

    python benchmarks/bench_bfloat16.py [--device cpu] [--n 4000000] [--mm 512] [--repeat 5]

Each cell is the median of `repeat` calls after a warm-up; cltensor calls end with a host read of one element
(drains the queue). Ratios are time(other) / time(cltensor bfloat16): > 1 means cltensor's bfloat16 is faster.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cltensor as ct  # noqa: E402


def _med(fn, repeat):
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
    ap.add_argument("--n", type=int, default=4_000_000)
    ap.add_argument("--mm", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import torch
    rng = np.random.default_rng(0)
    a = rng.standard_normal(args.n).astype(np.float32)
    b = rng.standard_normal(args.n).astype(np.float32)
    m = rng.standard_normal((args.mm, args.mm)).astype(np.float32)
    cb = [ct.tensor(x, device=args.device).bfloat16() for x in (a, b, m)]
    cf = [ct.tensor(x, device=args.device) for x in (a, b, m)]
    tb = [torch.from_numpy(x).bfloat16() for x in (a, b, m)]
    nf = [a, b, m]
    cases = {
        "add": (lambda x: (x[0] + x[1]).reshape(-1)[0].item(), lambda x: x[0] + x[1]),
        "exp": (lambda x: x[0].exp().reshape(-1)[0].item(), lambda x: np.exp(x[0]) if isinstance(x[0], np.ndarray)
                else x[0].exp()),
        "sum": (lambda x: x[0].sum().item(), lambda x: x[0].sum()),
        "matmul": (lambda x: (x[2] @ x[2])[0, 0].item(), lambda x: x[2] @ x[2]),
    }
    print(f"{'op':8s} {'cl bf16':>10s} {'cl f32':>10s} {'torch bf16':>11s} {'numpy f32':>10s}   "
          f"{'x cl f32':>8s} {'x torch':>8s} {'x numpy':>8s}")
    for name, (cfn, hfn) in cases.items():
        t_cb = _med(lambda: cfn(cb), args.repeat)
        t_cf = _med(lambda: cfn(cf), args.repeat)
        t_tb = _med(lambda: hfn(tb), args.repeat)
        t_nf = _med(lambda: hfn(nf), args.repeat)
        print(f"{name:8s} {t_cb * 1e3:9.2f}ms {t_cf * 1e3:9.2f}ms {t_tb * 1e3:10.2f}ms {t_nf * 1e3:9.2f}ms   "
              f"{t_cf / t_cb:8.2f} {t_tb / t_cb:8.2f} {t_nf / t_cb:8.2f}")


if __name__ == "__main__":
    main()
