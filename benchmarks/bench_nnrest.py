"""Timing of the nn losses added with CTC (kernel), triplet margin, cosine embedding, multi-label margin and
RMSNorm: cltensor (default device) vs numpy vs torch CPU, forward and forward+backward.

    python benchmarks/bench_nnrest.py [--repeat 5]

Each timed call ends with a host read of the result (forward) or a synchronize (forward+backward); the
median of `repeat` calls after a warm-up, the libraries interleaved. Ratios > 1: cltensor faster. numpy has no
autograd: its column is the forward only (CTC: the alpha recursion vectorised over positions, one step per frame).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cltensor as ct  # noqa: E402
import cltensor.nn.functional as F  # noqa: E402

try:
    import torch
    import torch.nn.functional as TF
except ImportError:                     # pragma: no cover
    torch = None


def _med(fn, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def ctc_np(lp, tg, il, tl, blank=0):
    T, N, C = lp.shape
    out = np.zeros(N)
    for n in range(N):
        r = tg[n, :tl[n]]
        L = 2 * len(r) + 1
        ext = np.full(L, blank)
        ext[1::2] = r
        skip = np.zeros(L, bool)
        skip[3::2] = ext[3::2] != ext[1:-2:2]
        a = np.full(L, -np.inf)
        a[:2] = lp[0, n, ext[:2]]
        for t in range(1, il[n]):
            a1 = np.concatenate([[-np.inf], a[:-1]])
            a2 = np.where(skip, np.concatenate([[-np.inf, -np.inf], a[:-2]]), -np.inf)
            a = np.logaddexp(np.logaddexp(a, a1), a2) + lp[t, n, ext]
        out[n] = -np.logaddexp(a[-1], a[-2] if L > 1 else -np.inf)
    return out.mean()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    g = np.random.default_rng(0)
    T, N, C, S = 100, 16, 30, 20
    lp = np.log(g.dirichlet(np.ones(C), (T, N))).astype(np.float32)
    tg = g.integers(1, C, (N, S))
    il = np.full(N, T)
    tl = g.integers(S // 2, S + 1, N)
    a, b, c = (g.standard_normal((512, 128)).astype(np.float32) for _ in range(3))
    y = np.sign(g.standard_normal(512)).astype(np.float32)
    ml = g.standard_normal((64, 32)).astype(np.float32)
    mlt = g.integers(-1, 32, (64, 32))
    x = g.standard_normal((64, 256, 512)).astype(np.float32)
    w = g.standard_normal(512).astype(np.float32)

    cases = {
        "ctc_loss T100 N16 C30": (
            lambda: ctc_np(lp, tg, il, tl),
            lambda m: m[0](m[1](lp, True), m[1](tg), m[1](il), m[1](tl)),
            (F.ctc_loss, TF.ctc_loss)),
        "triplet_margin_loss 512x128": (
            lambda: np.maximum(1 + np.linalg.norm(a - b + 1e-6, axis=1) - np.linalg.norm(a - c + 1e-6, axis=1),
                               0).mean(),
            lambda m: m[0](m[1](a, True), m[1](b), m[1](c)),
            (F.triplet_margin_loss, TF.triplet_margin_loss)),
        "cosine_embedding_loss 512x128": (
            lambda: np.where(y == 1, 1 - (a * b).sum(1) / np.sqrt(((a * a).sum(1) + 1e-12) *
                                                                 ((b * b).sum(1) + 1e-12)), 0).mean(),
            lambda m: m[0](m[1](a, True), m[1](b), m[1](y)),
            (F.cosine_embedding_loss, TF.cosine_embedding_loss)),
        "multilabel_margin_loss 64x32": (
            None,
            lambda m: m[0](m[1](ml, True), m[1](mlt)),
            (F.multilabel_margin_loss, TF.multilabel_margin_loss)),
        "rms_norm 64x256x512": (
            lambda: x / np.sqrt((x * x).mean(-1, keepdims=True) + 1.1920929e-07) * w,
            lambda m: m[0](m[1](x, True), (512,), m[1](w)),
            (F.rms_norm, TF.rms_norm)),
    }

    def ctm(v, grad=False):
        return ct.tensor(v, requires_grad=grad and v.dtype.kind == "f")

    def ttm(v, grad=False):
        return torch.tensor(v, requires_grad=grad and v.dtype.kind == "f")

    print(f"{'case':34s} {'cl fwd ms':>10s} {'np fwd ms':>10s} {'torch fwd':>10s} {'cl/np':>7s} {'cl/torch':>8s}"
          f" {'cl f+b ms':>10s} {'torch f+b':>10s} {'cl/torch':>8s}")
    for name, (npf, call, (cf, tf)) in cases.items():
        def cl_fwd():
            with ct.no_grad():
                float(call((cf, ctm)).sum())

        def t_fwd():
            with torch.no_grad():
                float(call((tf, ttm)).sum())

        def cl_fb():
            r = call((cf, ctm))
            r.sum().backward()

        def t_fb():
            r = call((tf, ttm))
            r.sum().backward()
        tc = _med(cl_fwd, args.repeat)
        tt = _med(t_fwd, args.repeat)
        tn = _med(npf, args.repeat) if npf is not None else float("nan")
        tcb = _med(lambda: (cl_fb(), ct.synchronize()), args.repeat)
        ttb = _med(t_fb, args.repeat)
        print(f"{name:34s} {tc * 1e3:10.2f} {tn * 1e3:10.2f} {tt * 1e3:10.2f} {tn / tc:7.2f} {tt / tc:8.2f}"
              f" {tcb * 1e3:10.2f} {ttb * 1e3:10.2f} {ttb / tcb:8.2f}")


if __name__ == "__main__":
    main()
