"""DataLoader benchmark: one epoch over a 60,000 x 784 float32 TensorDataset (+ int64 labels), batch 256,
shuffle=True, num_workers 0 and 2: cltensor.utils.data vs torch.utils.data, interleaved in one process.

    python benchmarks/bench_data.py [--reps N]

An epoch includes creating the iterator (worker start-up for num_workers=2, as without persistent_workers)
and receiving every batch in the main process. Each repetition runs cltensor then torch, so load from other
processes hits both alike; reported: best and median seconds, and torch/cltensor (above 1: cltensor faster).
`rows()` returns [{workers, cltensor_s, torch_s, *_med_s, ratio}].
"""
import os
import statistics
import sys
import time

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import cltensor as ct  # noqa: E402
from cltensor.utils import data as ctdata  # noqa: E402

try:
    import torch  # noqa: E402
    import torch.utils.data as tdata  # noqa: E402
except Exception:  # pragma: no cover
    torch = None

N, D, BATCH = 60000, 784, 256


def _epoch(loader):
    t0 = time.perf_counter()
    n = 0
    for x, y in loader:
        n += len(y)
    dt = time.perf_counter() - t0
    assert n == N, n
    return dt


def rows(reps=3, workers=(0, 2)):
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((N, D), dtype=np.float32)
    ys = rng.integers(0, 10, N).astype(np.int64)
    cds = ctdata.TensorDataset(ct.tensor(xs), ct.tensor(ys))
    tds = tdata.TensorDataset(torch.from_numpy(xs.copy()), torch.from_numpy(ys.copy())) if torch else None
    out = []
    for w in workers:
        loaders = {"cltensor": ctdata.DataLoader(cds, batch_size=BATCH, shuffle=True, num_workers=w)}
        if torch is not None:
            loaders["torch"] = tdata.DataLoader(tds, batch_size=BATCH, shuffle=True, num_workers=w)
        for ld in loaders.values():     # warm-up (kernel builds, page faults)
            _epoch(ld)
        times = {k: [] for k in loaders}
        for _ in range(reps):
            for k, ld in loaders.items():
                times[k].append(_epoch(ld))
        r = {"workers": w}
        for k, v in times.items():
            r[f"{k}_s"], r[f"{k}_med_s"] = min(v), statistics.median(v)
        if torch is not None:
            r["ratio"] = r["torch_s"] / r["cltensor_s"]
        out.append(r)
    return out


def main():
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 3
    print(f"one epoch, {N} x {D} float32 + int64 labels, batch {BATCH}, shuffle=True (best / median of {reps})")
    for r in rows(reps):
        line = f"num_workers={r['workers']}: cltensor {r['cltensor_s']:.3f} s / {r['cltensor_med_s']:.3f} s"
        if "torch_s" in r:
            line += f"   torch {r['torch_s']:.3f} s / {r['torch_med_s']:.3f} s   torch/cltensor {r['ratio']:.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
