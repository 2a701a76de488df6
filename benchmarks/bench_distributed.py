"""cltensor.distributed: all-reduce bus bandwidth of dist.all_reduce vs raw mpi4py on the same buffers, and the
DistributedDataParallel step time of the digits CNN on 2 ranks vs 1.

    python benchmarks/bench_distributed.py [--np 2] [--max-mib 64] [--runs 3] [--sizes 1048576,4194304]
                                           [--nochk] [--steps 20] [--part all|allreduce|ddp]

Launches itself under mpirun (--runs times for the all-reduce part, then summarises the runs). Bus bandwidth =
2 (N-1)/N x bytes / time (the ring all-reduce's traffic per rank, as nccl-tests report it). Both sides reduce
the same float32 tensor's host memory in place; the wrapper adds argument checks, the header exchange that
catches mismatched calls, the queue synchronisation and the version bump.

Per size: a warm-up, then pairs of calls (raw, wrapper) in alternating order (raw-wrapper, wrapper-raw, ...), a
barrier before each call, as many pairs as fit in about --seconds per size (at least 25). Reported: the median
time of each side, the overhead of the medians, the median of the per-pair ratios (pairs are adjacent in time, so
the machine's drifting load cancels best there: the headline number), the overhead of the best times, and each
rank's core time (a fixed loop of Python, timed every 16 pairs: ~100 us on a core of its own, 150-160 us while a
virtual machine's host lends the core to another guest, which makes the Python around a large reduction 2-3x
slower: docs/distributed.md, "Measured here"). With
--nochk a third pass (after all sizes, so that its non-blocking MPI calls do not disturb the pairs) times the
wrapper on a group with the checks off. On one machine MPI moves data through shared memory, so the numbers
measure memory bandwidth and per-call overhead, not a network.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _launch(np_, args, capture=False):
    cmd = [shutil.which("mpirun"), "--oversubscribe", "-np", str(np_)]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    cmd += [sys.executable, os.path.abspath(__file__), "--worker"] + args
    env = dict(os.environ, PYTHONPATH=ROOT)
    if not capture:
        return subprocess.run(cmd, env=env, check=True)
    p = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True)
    sys.stdout.write("".join(ln for ln in p.stdout.splitlines(True) if not ln.startswith("ROW ")))
    sys.stdout.flush()
    return p.stdout


def _timeit(fn, reps, barrier):
    ts = []
    for _ in range(reps):
        barrier()
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[0], ts[len(ts) // 2]


def _med(xs):
    xs = sorted(xs)
    k = len(xs)
    return xs[k // 2] if k % 2 else 0.5 * (xs[k // 2 - 1] + xs[k // 2])


def _pairs(raw, wrap, reps, barrier, speed=None):
    """Times of raw() and wrap(), `reps` pairs in alternating order, a barrier before each call; every 16 pairs
    (when `speed` is a list) the time of _core_speed() is appended to it."""
    tr, tw = [], []
    for i in range(reps):
        order = ((raw, tr), (wrap, tw)) if i % 2 == 0 else ((wrap, tw), (raw, tr))
        for f, ts in order:
            barrier()
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        if speed is not None and i % 16 == 0:
            speed.append(_core_speed())
    return tr, tw


def _core_speed():
    """Microseconds of a fixed loop of Python that fits the L1 caches: how fast this rank's core runs right now.
    On a virtual machine whose cores are shared with other machines it reads about 100 on a core of its own and
    150-160 while the host gives the core to something else; the wrapper's Python (cache-cold after a large
    reduction) then costs 2-3x, the memory-bound reduction itself ~1.2x (docs/distributed.md, "Measured here")."""
    t0 = time.perf_counter()
    x = 0
    for i in range(3000):
        x += i & 7
    return (time.perf_counter() - t0) * 1e6


def bench_allreduce(max_mib, sizes, seconds, nochk):
    from mpi4py import MPI
    import cltensor as ct
    import cltensor.distributed as dist
    comm = MPI.COMM_WORLD
    r, n = dist.get_rank(), dist.get_world_size()
    if sizes is None:
        sizes, s = [], 1024
        while s <= max_mib << 20:
            sizes.append(s)
            s *= 4
    if r == 0:
        print(f"\nall_reduce float32 SUM on {n} ranks (device {ct.get_default_device()}, load average "
              f"{os.getloadavg()[0]:.2f}): medians of interleaved pairs; bus bandwidth GB/s from the medians; "
              "core: each rank's _core_speed() (~100 us = a core of its own)")
        print(f"{'bytes':>10} {'pairs':>5} {'raw us':>9} {'dist us':>9} {'raw GB/s':>8} {'dist GB/s':>9} "
              f"{'ovh med':>8} {'ovh pair':>8} {'ovh best':>8} {'core us':>9}")
    rows = []
    keep = []
    for size in sizes:
        t = ct.ones(size // 4)
        arr = t.numpy()                   # the tensor's own host memory: the same buffer for both
        keep.append((t, arr))

        def raw():
            comm.Allreduce(MPI.IN_PLACE, arr)

        def wrap():
            dist.all_reduce(t)
        t0 = time.perf_counter()
        _pairs(raw, wrap, 3, comm.Barrier)            # warm-up (MPI's buffers and algorithms for this size)
        per_pair = (time.perf_counter() - t0) / 3
        reps = comm.bcast(max(25, min(1000, int(seconds / max(per_pair, 1e-9)))), root=0)
        speed = []
        tr, tw = _pairs(raw, wrap, reps, comm.Barrier, speed)
        cores = comm.gather(_med(speed), root=0)
        mr, mw = _med(tr), _med(tw)
        paired = _med([b / a for a, b in zip(tr, tw)]) - 1
        best = min(tw) / min(tr) - 1
        bus = 2 * (n - 1) / n * size
        rows.append((size, reps, mr, mw, paired, best))
        if r == 0:
            core = "/".join(f"{c:.0f}" for c in cores)
            print(f"{size:>10} {reps:>5} {mr * 1e6:>9.1f} {mw * 1e6:>9.1f} {bus / mr / 1e9:>8.2f} "
                  f"{bus / mw / 1e9:>9.2f} {100 * (mw / mr - 1):>7.1f}% {100 * paired:>7.1f}% {100 * best:>7.1f}% "
                  f"{core:>9}")
            print(f"ROW {size} {reps} {mr:.9f} {mw:.9f} {paired:.6f} {best:.6f} {max(cores):.3f}")   # (summary)
    if r == 0:
        big = [row for row in rows if row[0] >= 1 << 20]
        if big:
            print(f"overhead at >= 1 MiB (median of pair ratios): max {100 * max(b[4] for b in big):.1f}% "
                  f"(target <= 10%); load average now {os.getloadavg()[0]:.2f}")
    if nochk:
        fast = dist.new_group()              # the same ranks without the per-call header check
        fast.checks = False
        if r == 0:
            print(f"{'bytes':>10} {'nochk us':>9}  (checks off: non-blocking MPI requests, timed after the pairs)")
        for size, (t, arr) in zip(sizes, keep):
            reps = max(10, min(200, int(2e8 // size)))
            best, med = _timeit(lambda: dist.all_reduce(t, group=fast), reps, comm.Barrier)
            if r == 0:
                print(f"{size:>10} {med * 1e6:>9.1f}")


def bench_ddp(steps, batch):
    import numpy as np
    import cltensor as ct
    import cltensor.distributed as dist
    from cltensor import nn
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    from digits_cnn import DigitsCNN
    r, n = dist.get_rank(), dist.get_world_size()
    ct.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(DigitsCNN())
    opt = ct.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    rng = np.random.default_rng(r)
    x = ct.tensor(rng.standard_normal((batch, 1, 8, 8)).astype(np.float32))
    y = ct.tensor(rng.integers(0, 10, batch))

    def step():
        opt.zero_grad()
        lossf(model(x), y).backward()
        opt.step()
        ct.synchronize()
    for _ in range(3):
        step()
    best, med = _timeit(step, steps, dist.barrier)
    if r == 0:
        nparam = sum(p.numel() for p in model.parameters())
        print(f"DDP digits CNN ({nparam} parameters, {nparam * 4 / 1e6:.2f} MB of gradients), batch {batch} per "
              f"rank, {n} rank(s): step {med * 1e3:.2f} ms median, {best * 1e3:.2f} ms best; "
              f"{n * batch / med:.0f} samples/s")


def worker(a):
    import cltensor.distributed as dist
    dist.init_process_group("mpi")
    if a.part in ("all", "allreduce"):
        sizes = [int(x) for x in a.sizes.split(",")] if a.sizes else None
        bench_allreduce(a.max_mib, sizes, a.seconds, a.nochk)
    if a.part in ("all", "ddp"):
        bench_ddp(a.steps, a.batch)
    dist.destroy_process_group()


def _summary(runs):
    """Per size: the overhead (median of pair ratios) of every run, their median, and the load averages."""
    by = {}
    for rows, load in runs:
        for size, reps, mr, mw, paired, best, core in rows:
            by.setdefault(size, []).append((paired, mr, mw, core))
    loads = ", ".join(f"{a:.1f}-{b:.1f}" for _, (a, b) in runs)
    print(f"\nsummary of {len(runs)} runs (load average before-after each run: {loads}); overhead = median of the "
          "per-pair ratios wrapper/raw - 1; core = the slower rank's _core_speed() (~100 us: cores of their own)")
    print(f"{'bytes':>10} {'raw us (runs)':>24} {'dist us (runs)':>24} {'core us (runs)':>24}  overhead per run -> "
          "median")
    for size, v in by.items():
        ov = sorted(p for p, _, _, _ in v)
        print(f"{size:>10} {'/'.join(f'{mr * 1e6:.0f}' for _, mr, _, _ in v):>24} "
              f"{'/'.join(f'{mw * 1e6:.0f}' for _, _, mw, _ in v):>24} "
              f"{'/'.join(f'{c:.0f}' for _, _, _, c in v):>24}  "
              f"{' '.join(f'{100 * p:+.1f}%' for p, _, _, _ in v)} -> {100 * _med(ov):+.1f}%")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--max-mib", type=int, default=64)
    ap.add_argument("--sizes", default="", help="comma-separated byte sizes instead of 1 KiB x4 .. --max-mib")
    ap.add_argument("--runs", type=int, default=3, help="mpirun launches of the all-reduce part")
    ap.add_argument("--seconds", type=float, default=1.0, help="time per size for the pairs (per run)")
    ap.add_argument("--nochk", action="store_true", help="also time the wrapper with the checks off")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--part", default="all", choices=["all", "allreduce", "ddp"])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker(a)
    common = ["--max-mib", str(a.max_mib), "--steps", str(a.steps), "--batch", str(a.batch), "--seconds",
              str(a.seconds)] + (["--sizes", a.sizes] if a.sizes else []) + (["--nochk"] if a.nochk else [])
    if a.part in ("all", "allreduce"):
        runs = []
        for _ in range(a.runs):
            before = os.getloadavg()[0]
            out = _launch(a.np, common + ["--part", "allreduce"], capture=True)
            rows = [tuple(float(x) for x in line.split()[1:]) for line in out.splitlines() if line.startswith("ROW ")]
            runs.append(([(int(r[0]),) + r[1:] for r in rows], (before, os.getloadavg()[0])))
        if a.runs > 1:
            _summary(runs)
    if a.part in ("all", "ddp"):
        _launch(1, common + ["--part", "ddp"])
        _launch(a.np, common + ["--part", "ddp"])
    print(f"\nmachine: {os.cpu_count()} cores; {a.np} ranks share them (oversubscribed when ranks > cores)")


if __name__ == "__main__":
    main()
