"""cltensor.distributed: all-reduce bus bandwidth of dist.all_reduce vs raw mpi4py on the same buffers, and the
DistributedDataParallel step time of the digits CNN on 2 ranks vs 1.

    python benchmarks/bench_distributed.py [--np 2] [--max-mib 64] [--steps 20]

Launches itself under mpirun. Bus bandwidth = 2 (N-1)/N x bytes / time (the ring all-reduce's traffic per rank,
as nccl-tests report it). Both sides reduce the same float32 tensor's host memory in place (the wrapper adds the
header exchange, the request polling and the queue synchronisation). On one machine MPI moves data through shared
memory, so the numbers measure memory bandwidth and per-call overhead, not a network.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _launch(np_, args):
    cmd = [shutil.which("mpirun"), "--oversubscribe", "-np", str(np_)]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    cmd += [sys.executable, os.path.abspath(__file__), "--worker"] + args
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run(cmd, env=env, check=True)


def _timeit(fn, reps, barrier):
    ts = []
    for _ in range(reps):
        barrier()
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[0], ts[len(ts) // 2]


def _interleaved(fns, reps, barrier):
    """[(min, median)] of each function, alternating them rep by rep (the machine's load moves all alike)."""
    ts = [[] for _ in fns]
    for _ in range(reps):
        for f, t in zip(fns, ts):
            barrier()
            t0 = time.perf_counter()
            f()
            t.append(time.perf_counter() - t0)
    return [(sorted(t)[0], sorted(t)[len(t) // 2]) for t in ts]


def bench_allreduce(max_mib):
    import numpy as np
    from mpi4py import MPI
    import cltensor as ct
    import cltensor.distributed as dist
    comm = MPI.COMM_WORLD
    r, n = dist.get_rank(), dist.get_world_size()
    fast = dist.new_group()              # the same ranks without the per-call header check
    fast.checks = False
    if r == 0:
        print(f"\nall_reduce float32 SUM on {n} ranks (device {ct.get_default_device()}): bus bandwidth GB/s and "
              "overhead vs raw from the best of the interleaved reps; times in us (median)")
        print(f"{'bytes':>10} {'raw':>7} {'dist':>7} {'nochk':>7} {'raw us':>9} {'dist us':>9} {'nochk us':>9} "
              f"{'ovh':>7} {'ovh nochk':>9}")
    size = 1024
    rows = []
    while size <= max_mib << 20:
        t = ct.ones(size // 4)
        arr = t.numpy()                   # the tensor's own host memory: the same buffer for all three
        reps = max(7, min(200, int(1e8 // size)))
        # raw and the wrapper alternate rep by rep; the unchecked variant (non-blocking MPI underneath, which
        # leaves the next blocking call slower) is timed in its own loop after them
        raw, wrap = _interleaved([lambda: comm.Allreduce(MPI.IN_PLACE, arr), lambda: dist.all_reduce(t)], reps,
                                 comm.Barrier)
        nochk, = _interleaved([lambda: dist.all_reduce(t, group=fast)], reps, comm.Barrier)
        bus = 2 * (n - 1) / n * size
        ov, ov2 = wrap[0] / raw[0] - 1, nochk[0] / raw[0] - 1
        rows.append((size, ov, ov2))
        if r == 0:
            print(f"{size:>10} {bus / raw[0] / 1e9:>7.2f} {bus / wrap[0] / 1e9:>7.2f} {bus / nochk[0] / 1e9:>7.2f} "
                  f"{raw[1] * 1e6:>9.1f} {wrap[1] * 1e6:>9.1f} {nochk[1] * 1e6:>9.1f} {100 * ov:>6.1f}% "
                  f"{100 * ov2:>8.1f}%")
        size *= 4
    if r == 0:
        big = [(a, b) for s, a, b in rows if s >= 1 << 20]
        if big:
            print(f"overhead at >= 1 MiB (best times): with checks max {100 * max(a for a, _ in big):.1f}%, without "
                  f"max {100 * max(b for _, b in big):.1f}% (target <= 10%)")


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
        bench_allreduce(a.max_mib)
    if a.part in ("all", "ddp"):
        bench_ddp(a.steps, a.batch)
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--max-mib", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--part", default="all", choices=["all", "allreduce", "ddp"])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker(a)
    common = ["--max-mib", str(a.max_mib), "--steps", str(a.steps), "--batch", str(a.batch)]
    if a.part in ("all", "allreduce"):
        _launch(a.np, common + ["--part", "allreduce"])
    if a.part in ("all", "ddp"):
        _launch(1, common + ["--part", "ddp"])
        _launch(a.np, common + ["--part", "ddp"])
    print(f"\nmachine: {os.cpu_count()} cores; {a.np} ranks share them (oversubscribed when ranks > cores)")


if __name__ == "__main__":
    main()
