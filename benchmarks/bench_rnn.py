"""Recurrent layer timing: a 2-layer LSTM forward+backward, cltensor vs torch CPU side by side.

    python benchmarks/bench_rnn.py [--device cpu] [--mode lstm|gru|rnn] [--input 256] [--hidden 256] [--seq 64]
                                   [--batch 32] [--layers 2] [--repeat 7] [--forward-only]

Both libraries run the same model (torch's weights copied into cltensor's through state_dict) on the same input;
each timed call is forward, a sum over the output and final states, backward, and (cltensor) a host read of one
gradient element so the device queue is drained. Prints the median and best of `repeat` calls after a warm-up
call, interleaving the two libraries so that machine load affects both alike, and the ratio cltensor / torch;
torch runs with its default thread count and with one thread (on a loaded machine its threads contend).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cltensor as ct  # noqa: E402


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None)
    ap.add_argument("--mode", default="lstm", choices=["lstm", "gru", "rnn"])
    ap.add_argument("--input", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--forward-only", action="store_true")
    args = ap.parse_args()
    cls = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}[args.mode]
    cm = getattr(ct.nn, cls)(args.input, args.hidden, num_layers=args.layers)
    if args.device:
        cm = cm.to(args.device)
    x = np.random.default_rng(0).standard_normal((args.seq, args.batch, args.input)).astype(np.float32)
    xc = ct.tensor(x, device=args.device).requires_grad_(not args.forward_only)
    try:
        import torch
        tm = getattr(torch.nn, cls)(args.input, args.hidden, num_layers=args.layers)
        cm.load_state_dict({k: ct.tensor(v.detach().numpy(), device=args.device) for k, v in tm.state_dict().items()})
        xt = torch.from_numpy(x).requires_grad_(not args.forward_only)
    except ImportError:
        torch = tm = None

    def states(h):
        return h if isinstance(h, tuple) else (h,)

    def step_ct():
        if args.forward_only:
            with ct.no_grad():
                out, h = cm(xc)
            out[0, 0, 0].item()
            return
        out, h = cm(xc)
        loss = out.sum()
        for s in states(h):
            loss = loss + s.sum()
        cm.zero_grad()
        xc.grad = None
        loss.backward()
        cm.weight_ih_l0.grad[0, 0].item()

    def step_torch():
        if args.forward_only:
            with torch.no_grad():
                tm(xt)
            return
        out, h = tm(xt)
        loss = out.sum()
        for s in states(h):
            loss = loss + s.sum()
        tm.zero_grad()
        xt.grad = None
        loss.backward()

    what = "forward" if args.forward_only else "forward+backward"
    print(f"{cls}(input={args.input}, hidden={args.hidden}, num_layers={args.layers}), seq {args.seq}, batch "
          f"{args.batch}, float32, {what}; cltensor device: {xc.device}")
    tc = []
    threads = []
    if torch is not None:
        nt = torch.get_num_threads()
        threads = [nt] + ([1] if nt != 1 else [])      # torch's default thread count, and one thread
    tt = {n: [] for n in threads}
    step_ct()                              # warm-up: kernel builds, allocator
    for n in threads:
        torch.set_num_threads(n)
        step_torch()
    for _ in range(args.repeat):           # interleaved
        tc.append(_timed(step_ct))
        for n in threads:
            torch.set_num_threads(n)
            tt[n].append(_timed(step_torch))
    mc = statistics.median(tc)
    print(f"cltensor              median {mc * 1e3:8.1f} ms   best {min(tc) * 1e3:8.1f} ms")
    for n in threads:
        mt = statistics.median(tt[n])
        print(f"torch CPU, {n} thread{'s' if n > 1 else ' '}  median {mt * 1e3:8.1f} ms   best "
              f"{min(tt[n]) * 1e3:8.1f} ms   ratio cltensor / torch: median {mc / mt:.2f}x, "
              f"best {min(tc) / min(tt[n]):.2f}x")


if __name__ == "__main__":
    main()
