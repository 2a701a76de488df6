"""Attention timing: causal scaled_dot_product_attention forward+backward, fused vs unfused vs torch CPU.

    python benchmarks/bench_attention.py [--device cpu] [--batch 4] [--heads 8] [--seq 1024] [--dim 64]
                                         [--repeat 3] [--no-causal]

fused: cltensor's F.scaled_dot_product_attention forced onto its fused kernels (templates/attention.mako: online
softmax, no L x S matrix; here the register-blocked kernels, with the one-pass backward where there are at least
4 heads per compute unit; auto takes this path for these calls on CPU devices);
fused general: the masked/dropout-capable fused kernels on the same call (for comparison);
unfused: cltensor's matmul -> masked softmax -> matmul on differentiable ops (the L x S scores materialised);
torch: torch.nn.functional.scaled_dot_product_attention on the CPU (its default threads).
Each timed call is forward, a sum, backward and a host read of one gradient element (drains the queue); the median,
best and worst of `repeat` calls after a warm-up, the libraries interleaved so machine load affects all alike, and
the median process CPU time of each (on a loaded machine a steadier measure of the work than wall time). Then the
peak device memory of one fused forward (the pool's peak above what was allocated before; in all and per head)
against the bytes of one L x S float32 score matrix per head (what the unfused forward keeps for its backward, at
least).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cltensor as ct  # noqa: E402
from cltensor.nn import _attention  # noqa: E402


def _timed(fn):
    """(wall seconds, process CPU seconds: every thread of this process, OpenCL's and torch's included)"""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-causal", action="store_true")
    args = ap.parse_args()
    causal = not args.no_causal
    B, H, L, D = args.batch, args.heads, args.seq, args.dim
    rng = np.random.default_rng(0)
    arrs = [rng.standard_normal((B, H, L, D)).astype(np.float32) for _ in range(3)]
    cq, ck, cv = [ct.tensor(a, device=args.device).requires_grad_() for a in arrs]

    def run_fused():
        _attention.FORCE = "fused"
        for t in (cq, ck, cv):
            t.grad = None
        ct.nn.functional.scaled_dot_product_attention(cq, ck, cv, is_causal=causal).sum().backward()
        cq.grad[0, 0, 0, 0].item()
        _attention.FORCE = "auto"

    def run_unfused():
        for t in (cq, ck, cv):
            t.grad = None
        _attention.attention_unfused(cq, ck, cv, is_causal=causal).sum().backward()
        cq.grad[0, 0, 0, 0].item()

    def run_general():
        _attention.RB = False
        run_fused()
        _attention.RB = True

    runs = [("cltensor fused", run_fused), ("cltensor fused general", run_general), ("cltensor unfused", run_unfused)]
    try:
        import torch
        tq, tk, tv = [torch.from_numpy(a).requires_grad_() for a in arrs]

        def run_torch():
            for t in (tq, tk, tv):
                t.grad = None
            torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal).sum().backward()
        runs.append(("torch CPU (%d threads)" % torch.get_num_threads(), run_torch))
    except ImportError:
        print("torch is not installed: no torch column")
    for _, fn in runs:          # warm-up (kernel builds)
        fn()
    times = {name: [] for name, _ in runs}
    cpu = {name: [] for name, _ in runs}
    for _ in range(args.repeat):
        for name, fn in runs:
            w, c = _timed(fn)
            times[name].append(w)
            cpu[name].append(c)
    print(f"causal={causal} B={B} H={H} L=S={L} D={D} float32, forward+backward, device {cq.device}, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    fused = statistics.median(times["cltensor fused"])
    fused_cpu = statistics.median(cpu["cltensor fused"])
    for name, _ in runs:
        med, best, worst = statistics.median(times[name]), min(times[name]), max(times[name])
        mc = statistics.median(cpu[name])
        print(f"  {name:28s} median {med * 1000:8.1f} ms  best {best * 1000:8.1f} ms  worst {worst * 1000:8.1f} ms  "
              f"fused speed-up x{med / fused:.2f}  | CPU time {mc * 1000:8.1f} ms x{mc / fused_cpu:.2f}")
    print("  (CPU time: the process's, all threads, median; less sensitive to other load than wall time, but it counts "
          "any busy-waiting threads)")
    # peak device memory of one fused forward
    dev = cq.device
    with ct.no_grad():
        ct.cuda.synchronize()
        base = ct.cuda.memory_allocated(dev)
        ct.cuda.reset_peak_memory_stats(dev)
        _attention.FORCE = "fused"
        o = ct.nn.functional.scaled_dot_product_attention(cq, ck, cv, is_causal=causal)
        _attention.FORCE = "auto"
        o[0, 0, 0, 0].item()
        peak = ct.cuda.max_memory_allocated(dev) - base
    score = L * L * 4
    print(f"  fused forward peak memory above inputs: {peak / 2**20:.2f} MiB, "
          f"{peak / (B * H) / 2**20:.2f} MiB per head "
          f"(output {o.numel() * 4 / 2**20:.2f} MiB, per-row log-sum-exp, the register-blocked kernels' transposed "
          f"K); one L x S float32 score matrix per head: {score / 2**20:.2f} MiB, "
          f"for all {B * H} heads: {B * H * score / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
