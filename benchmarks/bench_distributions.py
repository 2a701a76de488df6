"""Distributions timing: log_prob + rsample + backward of common families, cltensor vs torch CPU, and the same
density computed with numpy/scipy (no gradient, no draws for the scipy column: log_prob only).

    python benchmarks/bench_distributions.py [--n 1000000] [--repeat 5]

Each timed call builds the distribution, draws n reparameterised samples, sums log_prob of the draws, backprops
to the parameters and reads one gradient element on the host (drains the queue); median of `repeat` calls after a
warm-up, libraries interleaved. Ratios > 1: cltensor faster. Validation is off in all libraries.
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
from scipy import stats  # noqa: E402


def _median(fn, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def _case(lib, name, params, n):
    mod = ct if lib == "ct" else torch
    D = mod.distributions

    def run():
        ps = [mod.tensor(p, requires_grad=True) for p in params]
        d = getattr(D, name)(*ps, validate_args=False)
        x = d.rsample((n,))
        d.log_prob(x.detach()).sum().backward()
        return float(ps[0].grad[0] if ps[0].grad.dim() else ps[0].grad)
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    cases = [("Normal", [[0.3], [1.5]], lambda x: stats.norm.logpdf(x, 0.3, 1.5)),
             ("Laplace", [[0.3], [1.5]], lambda x: stats.laplace.logpdf(x, 0.3, 1.5)),
             ("Gamma", [[2.5], [1.5]], lambda x: stats.gamma.logpdf(x, 2.5, scale=1 / 1.5)),
             ("Beta", [[2.5], [1.5]], lambda x: stats.beta.logpdf(x, 2.5, 1.5)),
             ("Gumbel", [[0.3], [1.5]], lambda x: stats.gumbel_r.logpdf(x, 0.3, 1.5)),
             ("HalfNormal", [[1.5]], lambda x: stats.halfnorm.logpdf(x, scale=1.5)),
             ("Weibull", [[1.5], [2.5]], lambda x: stats.weibull_min.logpdf(x, 2.5, scale=1.5)),
             ("Kumaraswamy", [[2.5], [1.5]], None),
             ("ContinuousBernoulli", [[0.3]], None),
             ("InverseGamma", [[2.5], [1.5]], lambda x: stats.invgamma.logpdf(x, 2.5, scale=1.5))]
    print(f"n = {a.n}; seconds per call (median of {a.repeat})")
    print(f"{'family':19s} {'cltensor':>10s} {'torch':>10s} {'scipy lp':>10s} {'torch/ct':>9s} {'scipy/ct':>9s}")
    for name, params, ref in cases:
        tc = _median(_case("ct", name, params, a.n), a.repeat)
        tt = _median(_case("torch", name, params, a.n), a.repeat)
        x = np.random.default_rng(0).random(a.n) * 0.98 + 0.01
        if ref is None:         # no scipy distribution of this family
            print(f"{name:19s} {tc:10.4f} {tt:10.4f} {'-':>10s} {tt / tc:9.2f} {'-':>9s}")
            continue
        ts = _median(lambda: ref(x).sum(), a.repeat)
        print(f"{name:19s} {tc:10.4f} {tt:10.4f} {ts:10.4f} {tt / tc:9.2f} {ts / tc:9.2f}")


if __name__ == "__main__":
    main()
