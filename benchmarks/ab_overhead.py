"""Per-op host overhead of two cltensor source trees, side by side: `python benchmarks/ab_overhead.py OTHER_TREE`.

Runs the same small-op workloads in fresh processes of this tree and of OTHER_TREE (e.g. a `git worktree` of an
older commit), alternating A, B, A, B ... so both see the same machine load, and prints the minimum per op of
each (the calling thread's CPU time, which other processes disturb much less than wall time) and their ratio.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORKER = r'''
import json, sys, time
import cltensor as ct
a, b = ct.rand(10), ct.rand(10)
o = ct.empty(10)
x = ct.rand(32, 10)
w1, w2 = ct.rand(50, 10, requires_grad=True), ct.rand(1, 50, requires_grad=True)
m = ct.rand(64, 64)
cases = {
    "a + b (10 elements)": lambda: a + b,
    "add(a, b, out=o)": lambda: ct.add(a, b, out=o),
    "a * 2 + 1": lambda: a * 2 + 1,
    "relu": lambda: a.relu(),
    "sum()": lambda: a.sum(),
    "matmul 64x64": lambda: m @ m,
    "MLP 10-50-1 fwd+bwd (b32)": lambda: ((x @ w1.T).relu() @ w2.T).sum().backward(),
}
per = {}
for name, f in cases.items():
    k = 20 if "MLP" in name else 200
    for _ in range(k):
        f()
    ct.synchronize()
    best = float("inf")
    for _ in range(15):
        t0 = time.thread_time()
        for _ in range(k):
            f()
        best = min(best, (time.thread_time() - t0) / k)
        ct.synchronize()
    per[name] = best * 1e6
print(json.dumps(per))
'''


def run(tree):
    env = dict(os.environ, PYTHONPATH=tree)
    r = subprocess.run([sys.executable, "-c", WORKER], cwd=tree, env=env, capture_output=True, text=True,
                       timeout=600, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("other", help="the other source tree (B)")
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    a_best, b_best = {}, {}
    for _ in range(args.rounds):
        for tree, best in ((HERE, a_best), (os.path.abspath(args.other), b_best)):
            for k, v in run(tree).items():
                best[k] = min(best.get(k, float("inf")), v)
    print(f"{'workload':32s} {'this tree us/op':>16s} {'other us/op':>12s} {'this/other':>10s}")
    for k in a_best:
        print(f"{k:32s} {a_best[k]:16.2f} {b_best[k]:12.2f} {a_best[k] / b_best[k]:10.2f}")


if __name__ == "__main__":
    main()
