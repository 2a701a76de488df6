"""Soak test: train a small CNN for a given time and check that device memory stays constant.

    python examples/soak.py [--minutes 10] [--device cpu] [--every 30] [--warmup 20]

The model is examples/digits_cnn.py's DigitsCNN (Conv2d/BatchNorm2d/ReLU/MaxPool2d, Linear/Dropout) trained with
Adam on synthetic 8x8 "digits" (ten noisy prototypes, no download), with an evaluation pass (no_grad, argmax,
accuracy) every epoch and a ragged last batch, so forward, backward, optimizer, eval and pool reuse all run in the
loop. Every --every seconds it prints the pool's numbers (bytes in use, bytes cached, peak, device allocations) and
the process's resident memory. After --warmup seconds it records the pool's numbers at the end of an epoch; from
then on every epoch must end with exactly the same bytes in use and no new device allocations. Exits 1 otherwise.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cltensor as torch  # noqa: E402
import cltensor.nn.functional as F  # noqa: E402
import cltensor.optim as optim  # noqa: E402
from cltensor import _device as dv  # noqa: E402
from digits_cnn import DigitsCNN  # noqa: E402


def synthetic_digits(n, seed):
    rng = np.random.default_rng(seed)
    protos = np.random.default_rng(1234).uniform(-1, 1, (10, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, n)
    x = protos[y] + rng.normal(0, 0.6, (n, 8, 8)).astype(np.float32)
    return x[:, None].astype(np.float32), y.astype(np.int64)


def rss_mib():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except OSError:
        return float("nan")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--device", default=None)
    ap.add_argument("--every", type=float, default=30.0, help="seconds between memory reports")
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds before memory must be constant (default: 10%% of the run, at most 60 s)")
    ap.add_argument("--min-epochs", type=int, default=3, help="run at least this many epochs")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--train-size", type=int, default=1000)   # 1000 = 15 full batches + a ragged one of 40
    args = ap.parse_args(argv)
    total = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else min(60.0, 0.1 * total)

    dev = torch.device(args.device) if args.device else torch.get_default_device()
    rt = dv.runtime(dv._resolve(dev))
    torch.manual_seed(0)
    xtr, ytr = synthetic_digits(args.train_size, 0)
    xte, yte = synthetic_digits(300, 1)
    xtr, ytr = torch.tensor(xtr, device=dev), torch.tensor(ytr, device=dev)
    xte, yte = torch.tensor(xte, device=dev), torch.tensor(yte, device=dev)
    model = DigitsCNN().to(dev)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    print(f"soak: {args.minutes:g} min on {dev} ({rt.info.name if rt else 'host'}), warm-up {warmup:g} s, "
          f"report every {args.every:g} s", flush=True)

    t0 = time.perf_counter()
    last_report = -1e9
    baseline = None
    steps = epochs = 0
    failures = []
    gen = np.random.default_rng(0)
    while True:
        model.train()
        perm = torch.tensor(gen.permutation(args.train_size), device=dev)
        for i in range(0, args.train_size, args.batch_size):
            idx = perm[i:i + args.batch_size]
            xb, yb = xtr[idx], ytr[idx]
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
        model.eval()
        with torch.no_grad():
            acc = (model(xte).argmax(1) == yte).float().mean().item()
        lossv = loss.item()
        del perm, idx, xb, yb, loss
        epochs += 1
        el = time.perf_counter() - t0
        s = rt.memory_stats() if rt else {"allocated_bytes": 0, "cached_bytes": 0, "peak_bytes": 0,
                                           "num_device_allocs": 0}
        if baseline is None and el >= warmup:
            baseline = dict(s)
            print(f"  baseline after {el:.0f} s (epoch {epochs}): in use {s['allocated_bytes']} B, cached "
                  f"{s['cached_bytes']} B, device allocations {s['num_device_allocs']}", flush=True)
        elif baseline is not None:
            if s["allocated_bytes"] != baseline["allocated_bytes"]:
                failures.append(f"epoch {epochs}: {s['allocated_bytes']} B in use, {baseline['allocated_bytes']} "
                                "B after warm-up")
            if s["num_device_allocs"] != baseline["num_device_allocs"]:
                failures.append(f"epoch {epochs}: {s['num_device_allocs']} device allocations, "
                                f"{baseline['num_device_allocs']} after warm-up")
        done = el >= total and epochs >= args.min_epochs and baseline is not None
        if el - last_report >= args.every or done:
            last_report = el
            print(f"  {el:7.1f} s  epoch {epochs:4d}  step {steps:6d}  loss {lossv:.4f}  acc {acc:.3f}  "
                  f"in use {s['allocated_bytes'] / 2**20:.3f} MiB  cached {s['cached_bytes'] / 2**20:.3f} MiB  "
                  f"peak {s['peak_bytes'] / 2**20:.3f} MiB  device allocs {s['num_device_allocs']}  "
                  f"rss {rss_mib():.0f} MiB", flush=True)
        if done:
            break
    if failures:
        print("FAIL: device memory changed after warm-up:\n  " + "\n  ".join(failures[:10]), flush=True)
        return 1
    print(f"OK: {epochs} epochs, {steps} steps in {time.perf_counter() - t0:.0f} s; device memory constant after "
          f"warm-up ({baseline['allocated_bytes']} B in use, {baseline['num_device_allocs']} device allocations)",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
