"""First runs: whole-process wall time of small programs with empty caches, right after, and warm; torch alongside.

    python benchmarks/bench_coldstart.py [--reps 2] [--only quickstart,digits,gpt] [--before]
    python benchmarks/bench_coldstart.py --warmup [--dtypes float32] [--families elementwise,reduce,...]

Workloads (each a fresh `python` process, timed from the parent, interpreter start to exit):
  quickstart   examples/quickstart.py
  digits       examples/digits_autoencoder.py --epochs 1 --steps 5 (conv/transposed-conv autoencoder, 5 steps)
  gpt          the model of examples/char_gpt.py (2 layers, d=64, 4 heads, block 64, batch 32): build it, one AdamW
               training step
Rows per workload: `cold` with a fresh, empty cache home (XDG_CACHE_HOME: cltensor's ~/.cache/cltensor and PoCL's
~/.cache/pocl/kcache both live there unless CLTENSOR_CACHE_DIR / POCL_CACHE_DIR say otherwise; both are unset
for the run); `second` right after it (the first run's at-exit work may still be running); `warm` once the cache
directory has stopped changing. `torch`: the same script on PyTorch CPU (a second run: its files are in the page
cache). `--before [TREE]` adds the previous behaviour, interleaved with the current one in each repetition: another
source tree (a checkout of an earlier commit), or this tree with the full builtin header (CLTENSOR_SLIM_HEADER=0).
Medians over --reps (wall time, and the CPU time
of the process and its threads, which a loaded machine disturbs much less), and the load average before and after.

--warmup: the earlier table, `cltensor.warmup()` with empty caches and in a later process, bundled or one by one.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GPT = r"""
import sys, time
t0 = time.perf_counter()
import numpy as np
lib = sys.argv[1]
if lib == "torch":
    import torch
else:
    import cltensor as torch
nn = torch.nn
F = torch.nn.functional


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = [t.reshape(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v)]
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp(self.ln2(x))


class CharGPT(nn.Module):
    def __init__(self, vocab, block, d=64, heads=4, layers=2):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(block, d)
        self.blocks = nn.Sequential(*[Block(d, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        return self.head(self.ln(self.blocks(x)))


torch.manual_seed(0)
V, T, B = 65, 64, 32
model = CharGPT(V, T)
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
rng = np.random.default_rng(0)
t1 = time.perf_counter()
x = torch.tensor(rng.integers(0, V, (B, T)))
y = torch.tensor(rng.integers(0, V, (B, T)))
loss = F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
opt.zero_grad()
loss.backward()
opt.step()
print("loss", round(loss.item(), 4), "step_s", round(time.perf_counter() - t1, 3), file=sys.stderr)
"""

QUICKSTART_TORCH = ("import sys, runpy, torch; sys.modules['cltensor'] = torch; sys.argv = ['quickstart.py']; "
                    "runpy.run_path('examples/quickstart.py', run_name='__main__')")


def _cmd(work, lib, tmp):
    if work == "quickstart":
        return [sys.executable, "examples/quickstart.py"] if lib == "cltensor" else \
            [sys.executable, "-c", QUICKSTART_TORCH]
    if work == "digits":
        return [sys.executable, "examples/digits_autoencoder.py", "--epochs", "1", "--steps", "5", "--backend", lib,
                "--out", os.path.join(tmp, "out")]
    return [sys.executable, "-c", GPT, lib]


def _env(home, before, root=ROOT):
    env = dict(os.environ, XDG_CACHE_HOME=home, PYTHONPATH=root, CLTENSOR_BUILD_PROGRESS="0")
    for k in ("CLTENSOR_CACHE_DIR", "POCL_CACHE_DIR", "CLTENSOR_CACHE_BINARIES", "CLTENSOR_CACHE_FILL",
              "PYTHONDONTWRITEBYTECODE", "POCL_WORK_GROUP_SPECIALIZATION", "CLTENSOR_SLIM_HEADER"):
        env.pop(k, None)
    if before and root == ROOT:     # --before without a tree: this tree with the full builtin header
        env["CLTENSOR_SLIM_HEADER"] = "0"
    return env


def _timed(cmd, env):
    """(wall seconds, CPU seconds of the process and its threads: user + system)."""
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=env["PYTHONPATH"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    dt = time.perf_counter() - t
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{r.stderr[-2000:]}")
    return dt, (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)


def _busy(home):
    """Whether a process started for cache home (a detached cache fill) is still running."""
    tag = f"XDG_CACHE_HOME={home}".encode()
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if tag in f.read().split(b"\0"):
                        return True
            except OSError:
                pass
    return False


def _settled(path, quiet_s=2.0, limit_s=300.0):
    """Wait until no process of cache home path runs and nothing under it changed for quiet_s."""
    def state():
        n = 0
        for d, _, files in os.walk(path):
            for f in files:
                try:
                    n += os.stat(os.path.join(d, f)).st_mtime_ns
                except OSError:
                    pass
        return n
    t0, last, since = time.time(), state(), time.time()
    while time.time() - t0 < limit_s:
        time.sleep(0.5)
        s = state()
        if s != last or (os.path.isdir("/proc") and _busy(path)):
            last, since = s, time.time()
        elif time.time() - since >= quiet_s:
            return


def first_runs(args):
    works = args.only.split(",")
    modes = ["now"] + (["before"] if args.before is not None else [])
    before_root = args.before or ROOT
    res = {}
    load0 = os.getloadavg()
    for rep in range(args.reps):
        for work in works:
            for mode in modes:
                with tempfile.TemporaryDirectory() as home:
                    env = _env(home, mode == "before", before_root if mode == "before" else ROOT)
                    cold = _timed(_cmd(work, "cltensor", home), env)
                    second = _timed(_cmd(work, "cltensor", home), env)
                    _settled(home)
                    warm = _timed(_cmd(work, "cltensor", home), env)
                for k, v in (("cold", cold), ("second", second), ("warm", warm)):
                    res.setdefault((work, mode, k), []).append(v[0])
                    res.setdefault((work, mode, k + " cpu"), []).append(v[1])
            with tempfile.TemporaryDirectory() as home:
                env = _env(home, False)
                _timed(_cmd(work, "torch", home), env)
                w, c = _timed(_cmd(work, "torch", home), env)
                res.setdefault((work, "torch", "run"), []).append(w)
                res.setdefault((work, "torch", "run cpu"), []).append(c)
            print(f"rep {rep + 1}: " + json.dumps({"/".join(k): round(v[-1], 2) for k, v in res.items()
                                                   if k[0] == work}), flush=True)
    load1 = os.getloadavg()
    med = {k: statistics.median(v) for k, v in res.items()}
    rng = {k: (min(v), max(v)) for k, v in res.items()}
    print(f"\nload average before {load0[0]:.1f}, after {load1[0]:.1f}; medians of {args.reps} (min-max), seconds;"
          f" wall time, then the CPU time of the process (user + system, all its threads: less disturbed by load)")
    head = "| | " + " | ".join(f"{m} cold | {m} second | {m} warm" for m in modes) + " | torch |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for work in works:
        for suffix in ("", " cpu"):
            cells = []
            for mode in modes:
                for k in ("cold", "second", "warm"):
                    a, b = rng[(work, mode, k + suffix)]
                    cells.append(f"{med[(work, mode, k + suffix)]:.2f} ({a:.2f}-{b:.2f})")
            a, b = rng[(work, "torch", "run" + suffix)]
            cells.append(f"{med[(work, 'torch', 'run' + suffix)]:.2f} ({a:.2f}-{b:.2f})")
            print(f"| {work}{' (CPU s)' if suffix else ''} | " + " | ".join(cells) + " |")


WARMUP = r"""
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


def _warmup_run(dtypes, families, bundle, cache):
    env = dict(os.environ, POCL_CACHE_DIR=os.path.join(cache, "pocl"), CLTENSOR_CACHE_DIR=os.path.join(cache, "ct"),
               PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-c", WARMUP, dtypes, families, "1" if bundle else "0"], env=env,
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def warmup_table(args):
    print(f"| warmup {args.dtypes} [{args.families}] | programs | warmup s | first training step s |")
    print("|---|---|---|---|")
    for bundle in (True, False):
        with tempfile.TemporaryDirectory() as cache:
            cold = _warmup_run(args.dtypes, args.families, bundle, cache)
            warm = _warmup_run(args.dtypes, args.families, bundle, cache)
        tag = "bundled (default)" if bundle else "bundle=False"
        print(f"| {tag}, empty caches | {cold['programs']} | {cold['warmup']:.1f} | {cold['step']:.3f} |")
        print(f"| {tag}, later process | {warm['loads']} loaded | {warm['warmup']:.2f} | {warm['step']:.3f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--only", default="quickstart,digits,gpt")
    ap.add_argument("--before", nargs="?", const="", default=None, metavar="TREE",
                    help="also the previous behaviour, interleaved: another source tree (e.g. a checkout of the "
                         "previous commit), or without TREE this tree with CLTENSOR_SLIM_HEADER=0")
    ap.add_argument("--warmup", action="store_true", help="the warmup table instead")
    ap.add_argument("--dtypes", default="float32")
    ap.add_argument("--families", default="elementwise,reduce,matmul,nn,autograd")
    args = ap.parse_args()
    if args.warmup:
        warmup_table(args)
    else:
        first_runs(args)


if __name__ == "__main__":
    main()
