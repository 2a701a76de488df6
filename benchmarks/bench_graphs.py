"""Captured graphs: training steps eager vs captured (cltensor.cuda.graph + replay, and
cltensor.compile(mode="reduce-overhead")) vs torch CPU, side by side.

    python benchmarks/bench_graphs.py [--quick] [--torch-threads N] [--stages] [--isolate K]

Each row times one training step (zero_grad, forward, loss, backward, optimizer step) on a fixed batch: torch
eager, cltensor eager, cltensor captured (the batch copied into the static inputs, then replay), cltensor
compile(mode="reduce-overhead"). Best of several round-robin repetitions, synchronised; ratios > 1 mean
cltensor is faster than torch. On a loaded 2-core machine torch's default thread pool can be 10-100x slower
than one thread (its workers spin against PoCL's and other processes'): `--torch-threads 1` pins torch to one
thread; the thread count is printed with the results.

--isolate K runs each library in its own process instead (K rounds, torch and cltensor alternating, best of
the rounds): in one process torch's thread pool (which spins after each parallel region) and PoCL's worker
threads take cores from each other, which no user's program does; both numbers are worth quoting.

--stages prints, instead, the eager step of each workload split into its stages (zero_grad, forward, loss,
backward, optimizer step, the final synchronize) and the kernel launches of each, in the calling thread's CPU
time and in wall time (best of several rounds): where the host time of an eager step goes (docs/performance.md).
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cltensor as ct  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def _simple(lib):
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(10, 50), lib.nn.ReLU(), lib.nn.Linear(50, 1))
    opt = lib.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    crit = lib.nn.MSELoss()
    rng = np.random.default_rng(0)
    x, y = lib.tensor(rng.standard_normal((32, 10)).astype(np.float32)), \
        lib.tensor(rng.standard_normal((32, 1)).astype(np.float32))
    return m, opt, lambda out, yy: crit(out, yy), x, y


def _digits(lib):
    nn = lib.nn
    lib.manual_seed(0)
    m = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 128), nn.ReLU(inplace=True), nn.Dropout(0.25), nn.Linear(128, 10))
    opt = lib.optim.Adam(m.parameters(), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((64, 1, 8, 8)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, 64))
    return m, opt, lambda out, yy: crit(out, yy), x, y


def _gpt(lib, layers=2, d=64, seq=32, batch=8, vocab=96):
    nn = lib.nn

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.pos = nn.Parameter(lib.randn(seq, d) * 0.02)
            self.blocks = nn.ModuleList([nn.TransformerEncoderLayer(d, 4, 4 * d, dropout=0.1, batch_first=True,
                                                                    norm_first=True) for _ in range(layers)])
            self.ln = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)
            self.register_buffer("mask", lib.triu(lib.full((seq, seq), float("-inf")), 1))

        def forward(self, idx):
            h = self.emb(idx) + self.pos
            for b in self.blocks:
                h = b(h, src_mask=self.mask)
            return self.head(self.ln(h))

    lib.manual_seed(0)
    m = GPT()
    opt = lib.optim.AdamW(m.parameters(), lr=3e-4)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.integers(0, vocab, (batch, seq)))
    y = lib.tensor(rng.integers(0, vocab, (batch, seq)))
    return m, opt, lambda out, yy: nn.functional.cross_entropy(out.reshape(-1, vocab), yy.reshape(-1)), x, y


def _stepper(lib, make):
    m, opt, loss_fn, x, y = make(lib)

    def step(xb, yb):
        opt.zero_grad()
        loss = loss_fn(m(xb), yb)
        loss.backward()
        opt.step()
        return loss
    return step, x, y


def _variants(make, which="all"):
    out = {}
    if torch is not None and which in ("all", "torch"):
        ts, tx, ty = _stepper(torch, make)
        out["torch"] = lambda: ts(tx, ty)
    if which == "torch":
        out["_launches"] = None
        return out
    es, ex, ey = _stepper(ct, make)
    out["eager"] = lambda: es(ex, ey)
    gs, gx, gy = _stepper(ct, make)
    for _ in range(3):                       # warm-up: optimizer state, kernels built
        gs(gx, gy)
    sx, sy = gx.clone(), gy.clone()
    g = ct.cuda.CUDAGraph()
    with ct.cuda.graph(g):
        gs(sx, sy)

    def captured():
        sx.copy_(gx)
        sy.copy_(gy)
        g.replay()
    out["captured"] = captured
    cs, cx, cy = _stepper(ct, make)
    cstep = ct.compile(cs, mode="reduce-overhead")
    out["reduce-overhead"] = lambda: cstep(cx, cy)
    out["_launches"] = g.num_launches
    return out


def _best(fns, reps, inner):
    for f in fns.values():
        f()
        f()
    ct.synchronize()
    best = {k: float("inf") for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                f()
            if k != "torch":
                ct.synchronize()
            best[k] = min(best[k], (time.perf_counter() - t0) / inner)
    return {k: v * 1e6 for k, v in best.items()}


def rows(quick=False, which="all"):
    reps = 5 if quick else 15
    out = []
    for name, make, inner in (("SimpleModel train step (Linear 10-50-1, SGD momentum)", _simple, 20),
                              ("digits CNN train step (b64, Adam)", _digits, 3),
                              ("GPT train step (2 layers, d=64, seq 32, batch 8, AdamW)", _gpt, 2)):
        fns = _variants(make, which)
        n = fns.pop("_launches")
        t = _best(fns, reps, inner)
        t["op"], t["launches"] = name, n
        out.append(t)
    return out


_STAGES = ("zero_grad", "forward", "loss", "backward", "step", "sync")


def stages(make, n, rounds=9):
    """Per-stage time of the eager step (us): {clock: [zero_grad, forward, loss, backward, step, sync]} and the
    launches per stage."""
    from cltensor import _kernels as K
    m, opt, loss_fn, x, y = make(ct)
    out, launches = {}, [0] * 6
    for clk in (time.thread_time, time.perf_counter):
        best = None
        for r in range(rounds + 1):
            acc = [0.0] * 6
            for _ in range(n):
                ts, ls = [clk()], [K.stats["launches"]]
                opt.zero_grad()
                ts.append(clk())
                ls.append(K.stats["launches"])
                o = m(x)
                ts.append(clk())
                ls.append(K.stats["launches"])
                loss = loss_fn(o, y)
                ts.append(clk())
                ls.append(K.stats["launches"])
                loss.backward()
                ts.append(clk())
                ls.append(K.stats["launches"])
                opt.step()
                ts.append(clk())
                ls.append(K.stats["launches"])
                ct.synchronize()
                ts.append(clk())
                ls.append(K.stats["launches"])
                for i in range(6):
                    acc[i] += ts[i + 1] - ts[i]
                    launches[i] = ls[i + 1] - ls[i]
            if r and (best is None or sum(acc) < sum(best)):      # round 0 warms up
                best = acc
        out[clk.__name__] = [v / n * 1e6 for v in best]
    return out, launches


def main_stages(quick):
    for name, make, n in (("SimpleModel", _simple, 50), ("digits CNN", _digits, 3), ("GPT", _gpt, 2)):
        r, launches = stages(make, n, 4 if quick else 9)
        print(f"{name}: us per step, best of rounds; launches per stage {dict(zip(_STAGES, launches))}")
        for clk, v in r.items():
            print(f"  {clk:13s} " + "  ".join(f"{k} {x:7.1f}" for k, x in zip(_STAGES, v)) + f"  total {sum(v):8.1f}")


def _isolated(argv, rounds):
    """Each library in its own process (torch's thread pool and PoCL's worker threads never share the cores, as
    in a user's program), the processes alternating; per workload and variant the best of the rounds."""
    import json
    import subprocess
    base = [sys.executable, os.path.abspath(__file__)] + [a for a in argv if a in ("--quick",)]
    if "--torch-threads" in argv:
        base += ["--torch-threads", argv[argv.index("--torch-threads") + 1]]
    best = {}
    loads = [os.getloadavg()[0]]
    for r in range(rounds):
        for which in (("torch", "cltensor") if r % 2 == 0 else ("cltensor", "torch")):
            p = subprocess.run(base + ["--only", which], check=True, stdout=subprocess.PIPE, text=True)
            for ln in p.stdout.splitlines():
                if ln.startswith("RESULT "):
                    for row in json.loads(ln[7:]):
                        b = best.setdefault(row["op"], {"op": row["op"]})
                        for k, v in row.items():
                            if k == "launches":
                                if v is not None:
                                    b[k] = v
                            elif k != "op":
                                b[k] = min(b.get(k, float("inf")), v)
            loads.append(os.getloadavg()[0])
    print(f"isolated processes, {rounds} rounds alternating torch / cltensor (load average "
          f"{min(loads):.1f}-{max(loads):.1f})")
    return list(best.values())


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if "--torch-threads" in argv and torch is not None:
        torch.set_num_threads(int(argv[argv.index("--torch-threads") + 1]))
    if "--stages" in argv:
        return main_stages("--quick" in argv)
    if "--only" in argv:            # one side of --isolate: results as JSON for the parent process
        import json
        print("RESULT " + json.dumps(rows("--quick" in argv, argv[argv.index("--only") + 1])))
        return
    if "--isolate" in argv:
        rs = _isolated(argv, int(argv[argv.index("--isolate") + 1]))
    else:
        rs = rows("--quick" in argv)
    dev = ct.get_default_device()
    print(f"device {dev} ({ct._device.device_info(dev).name}); torch threads "
          f"{torch.get_num_threads() if torch is not None else '-'}; times in us per step, best of round-robin reps")
    print(f"{'workload':58s} {'torch':>9s} {'eager':>9s} {'captured':>9s} {'reduce-oh':>9s}  "
          f"{'eager/t':>7s} {'capt/t':>7s} {'r-o/t':>7s}  launches")
    for r in rs:
        tt = r.get("torch")

        def rat(k):
            return f"{tt / r[k]:7.2f}" if tt else "    n/a"
        print(f"{r['op']:58s} {tt or float('nan'):9.1f} {r['eager']:9.1f} {r['captured']:9.1f} "
              f"{r['reduce-overhead']:9.1f}  {rat('eager')} {rat('captured')} {rat('reduce-overhead')}  "
              f"{r['launches']}")


if __name__ == "__main__":
    main()
