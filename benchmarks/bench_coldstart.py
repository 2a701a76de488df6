"""Cold start and warmup with empty caches: programs built and seconds, kernels bundled or built one by one.

    python benchmarks/bench_coldstart.py [--dtypes float32] [--families elementwise,reduce,...]

Each measurement is a fresh process with fresh, empty PoCL and cltensor cache directories (POCL_CACHE_DIR,
CLTENSOR_CACHE_DIR), so nothing built by an earlier run helps. Rows:
  warmup (bundle=...)          ct.warmup() with empty caches, binaries stored (the default)
  later process                the same warmup in a second process: everything loads from cltensor's cache
  quickstart-like first steps  import + a Linear/ReLU/MSE training step after warmup in a later process
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

CODE = r"""
import json, sys, time
t0 = time.perf_counter()
import cltensor as ct
from cltensor import _kernels as K
t1 = time.perf_counter()
n = ct.warmup(dtypes=[getattr(ct, d) for d in sys.argv[1].split(",")], families=sys.argv[2].split(","),
              bundle=sys.argv[3] == "1")
t2 = time.perf_counter()
x, y = ct.rand(32, 10), ct.rand(32, 1)
m = ct.nn.Sequential(ct.nn.Linear(10, 50), ct.nn.ReLU(), ct.nn.Linear(50, 1))
opt = ct.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
loss = ct.nn.functional.mse_loss(m(x), y)
opt.zero_grad(); loss.backward(); opt.step(); loss.item()
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "warmup": t2 - t1, "step": t3 - t2, "programs": n,
                  "bundles": K.stats["bundles"], "loads": K.stats["binary_loads"]}))
"""


def run(dtypes, families, bundle, cache):
    env = dict(os.environ, POCL_CACHE_DIR=os.path.join(cache, "pocl"), CLTENSOR_CACHE_DIR=os.path.join(cache, "ct"))
    r = subprocess.run([sys.executable, "-c", CODE, dtypes, families, "1" if bundle else "0"], env=env,
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dtypes", default="float32")
    ap.add_argument("--families", default="elementwise,reduce,matmul,nn,autograd")
    args = ap.parse_args()
    print(f"| warmup {args.dtypes} [{args.families}] | programs | warmup s | first training step s |")
    print("|---|---|---|---|")
    for bundle in (True, False):
        with tempfile.TemporaryDirectory() as cache:
            cold = run(args.dtypes, args.families, bundle, cache)
            warm = run(args.dtypes, args.families, bundle, cache)
        tag = "bundled (default)" if bundle else "bundle=False"
        print(f"| {tag}, empty caches | {cold['programs']} | {cold['warmup']:.1f} | {cold['step']:.3f} |")
        print(f"| {tag}, later process | {warm['loads']} loaded | {warm['warmup']:.2f} | {warm['step']:.3f} |")


if __name__ == "__main__":
    main()
