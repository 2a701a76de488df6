"""Side-by-side benchmarks: cltensor vs numpy (and torch CPU when importable) in one process.

    python benchmarks/run.py            # full table
    python benchmarks/run.py --quick    # smaller sizes, fewer reps
    python benchmarks/run.py --only elementwise,gemm

Prints one table (op, size, cltensor ms, numpy ms, torch ms, ratios: >1 means cltensor is faster) and writes
benchmarks/results/latest.json and latest.md. Times are the minimum over reps of wall time with the device
queue drained (cltensor.synchronize) so asynchronous launches are fully counted.
Absolute times move by up to 2x between runs on shared machines: compare ratios measured side by side.
"""
import argparse
import datetime
import importlib
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import cltensor as ct  # noqa: E402

try:
    import torch  # noqa: E402
    torch.set_num_threads(os.cpu_count() or 1)
except Exception:
    torch = None


def timeit(fn, reps=10, sync=None, warm=2):
    for _ in range(warm):
        fn()
    if sync:
        sync()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def ct_sync():
    ct.synchronize()


def row(op, size, c, n=None, t=None, **extra):
    r = {"op": op, "size": size, "cltensor_ms": c, "numpy_ms": n, "torch_ms": t}
    r.update(extra)
    return r


# ---------------------------------------------------------------- foundation rows

def core_rows(quick=False):
    rows = []
    reps = 5 if quick else 20
    # creation
    n = 1 << 20 if quick else 1 << 24
    rows.append(row("zeros", f"{n}", timeit(lambda: ct.zeros(n), reps, ct_sync),
                    timeit(lambda: np.zeros(n, np.float32), reps),
                    timeit(lambda: torch.zeros(n), reps) if torch else None))
    rows.append(row("rand", f"{n}", timeit(lambda: ct.rand(n), reps, ct_sync),
                    timeit(lambda: np.random.random(n).astype(np.float32), reps),
                    timeit(lambda: torch.rand(n), reps) if torch else None))
    host = np.random.rand(n).astype(np.float32)
    rows.append(row("tensor(numpy) copy in", f"{n}", timeit(lambda: ct.tensor(host), reps, ct_sync),
                    timeit(lambda: host.copy(), reps), timeit(lambda: torch.tensor(host), reps) if torch else None))
    x = ct.tensor(host)
    rows.append(row("to host (numpy copy)", f"{n}", timeit(lambda: x._to_numpy_copy(), reps),
                    timeit(lambda: host.copy(), reps)))
    # per-op overhead, tiny tensors, no sync per op
    a, b = ct.rand(10), ct.rand(10)
    an, bn = np.random.rand(10).astype(np.float32), np.random.rand(10).astype(np.float32)
    on = np.empty_like(an)
    k = 200

    def ct_loop():
        for _ in range(k):
            a + b

    def ct_loop_out():
        o = ct.empty(10)
        for _ in range(k):
            ct.add(a, b, out=o)

    def np_loop():
        for _ in range(k):
            an + bn

    ta, tb = (torch.rand(10), torch.rand(10)) if torch else (None, None)

    def t_loop():
        for _ in range(k):
            ta + tb
    rows.append(row("per-op overhead a+b (us/op)", "10",
                    timeit(ct_loop, reps, ct_sync) * 1000 / k, timeit(np_loop, reps) * 1000 / k,
                    timeit(t_loop, reps) * 1000 / k if torch else None, unit="us"))
    rows.append(row("per-op overhead add(out=) (us/op)", "10",
                    timeit(ct_loop_out, reps, ct_sync) * 1000 / k,
                    timeit(lambda: [np.add(an, bn, out=on) for _ in range(k)], reps) * 1000 / k,
                    (timeit(lambda: [torch.add(ta, tb, out=ta) for _ in range(k)], reps) * 1000 / k)
                    if torch else None, unit="us"))
    return rows


def elementwise_rows(quick=False):
    rows = []
    reps = 5 if quick else 10
    n = 1 << 20 if quick else 1 << 24
    an = np.random.rand(n).astype(np.float32)
    bn = np.random.rand(n).astype(np.float32)
    on = np.empty_like(an)
    a, b, o = ct.tensor(an), ct.tensor(bn), ct.empty(n)
    ta, tb, to = (torch.from_numpy(an.copy()), torch.from_numpy(bn.copy()), torch.empty(n)) if torch else (None,) * 3
    for name, f_ct, f_np, f_t in [
        ("add out=", lambda: ct.add(a, b, out=o), lambda: np.add(an, bn, out=on),
         lambda: torch.add(ta, tb, out=to)),
        ("add", lambda: a + b, lambda: an + bn, lambda: ta + tb),
        ("mul out=", lambda: ct.mul(a, b, out=o), lambda: np.multiply(an, bn, out=on),
         lambda: torch.mul(ta, tb, out=to)),
        ("exp", lambda: a.exp(), lambda: np.exp(an), lambda: ta.exp()),
        ("tanh", lambda: a.tanh(), lambda: np.tanh(an), lambda: ta.tanh()),
        ("sigmoid", lambda: a.sigmoid(), lambda: 1 / (1 + np.exp(-an)), lambda: ta.sigmoid()),
    ]:
        rows.append(row(name, f"{n} f32", timeit(f_ct, reps, ct_sync), timeit(f_np, reps),
                        timeit(f_t, reps) if torch else None))
    s = int(np.sqrt(n))
    m2 = ct.rand(s, s)
    m2n = m2.numpy().copy()
    mt = torch.from_numpy(m2n) if torch else None
    rows.append(row("add transposed operand", f"{s}x{s} f32", timeit(lambda: m2 + m2.T, reps, ct_sync),
                    timeit(lambda: m2n + m2n.T, reps), timeit(lambda: mt + mt.T, reps) if torch else None))
    rows.append(row("add contiguous (same size)", f"{s}x{s} f32", timeit(lambda: m2 + m2, reps, ct_sync),
                    timeit(lambda: m2n + m2n, reps), timeit(lambda: mt + mt, reps) if torch else None))
    m3 = ct.rand(s, s)              # the fair baseline for a + b.T: two distinct inputs (m2 + m2 reads one)
    m3n = m3.numpy().copy()
    m3t = torch.from_numpy(m3n) if torch else None
    rows.append(row("add contiguous a + b (two inputs)", f"{s}x{s} f32", timeit(lambda: m2 + m3, reps, ct_sync),
                    timeit(lambda: m2n + m3n, reps), timeit(lambda: mt + m3t, reps) if torch else None))
    rows.append(row("add transposed a + b.T (two inputs)", f"{s}x{s} f32", timeit(lambda: m2 + m3.T, reps, ct_sync),
                    timeit(lambda: m2n + m3n.T, reps), timeit(lambda: mt + m3t.T, reps) if torch else None))
    row_v = ct.rand(s)
    rvn = row_v.numpy().copy()
    rows.append(row("add broadcast row", f"{s}x{s} f32", timeit(lambda: m2 + row_v, reps, ct_sync),
                    timeit(lambda: m2n + rvn, reps),
                    timeit(lambda: mt + torch.from_numpy(rvn), reps) if torch else None))
    h1, h2 = a.half(), b.half()
    h1n, h2n = an.astype(np.float16), bn.astype(np.float16)
    th1, th2 = (torch.from_numpy(h1n), torch.from_numpy(h2n)) if torch else (None, None)
    rows.append(row("add float16", f"{n} f16", timeit(lambda: h1 + h2, reps, ct_sync), timeit(lambda: h1n + h2n, reps),
                    timeit(lambda: th1 + th2, reps) if torch else None))
    return rows


SECTIONS = [("core", core_rows), ("elementwise", elementwise_rows)]
for mod, fn in [("bench_reduce", "rows"), ("bench_gemm", "rows"), ("bench_nn", "rows"), ("bench_fusion", "rows")]:
    try:
        m = importlib.import_module(mod)
        SECTIONS.append((mod.replace("bench_", ""), getattr(m, fn)))
    except Exception as e:  # pragma: no cover
        print(f"(skipping {mod}: {e})", file=sys.stderr)


def fmt(v, d=3):
    return "-" if v is None else f"{v:.{d}f}"


def ratio(a, b):
    return "-" if (a is None or b is None or a == 0) else f"{b / a:.2f}x"


def write_png(rows, path, title):
    """A horizontal bar chart of speed ratios (cltensor vs numpy and torch; >1: cltensor faster), log scale."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--png needs matplotlib (pip install matplotlib); no chart written", file=sys.stderr)
        return None
    rows = [r for r in rows if r.get("cltensor_ms")]
    def short(t, n):
        return t if len(t) <= n else t[:n - 3] + "..."
    labels = [f"{r['section']}: {short(r['op'], 36)} ({short(str(r['size']), 16)})" for r in rows]
    vn = [(r["numpy_ms"] / r["cltensor_ms"]) if r.get("numpy_ms") else float("nan") for r in rows]
    vt = [(r["torch_ms"] / r["cltensor_ms"]) if r.get("torch_ms") else float("nan") for r in rows]
    n = len(rows)
    fig, ax = plt.subplots(figsize=(11, 0.28 * n + 1.6))
    y = np.arange(n)
    ax.barh(y - 0.2, vn, height=0.4, label="vs numpy", color="#4c72b0")
    ax.barh(y + 0.2, vt, height=0.4, label="vs torch CPU", color="#dd8452")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("speed ratio (other time / cltensor time; > 1: cltensor faster)")
    import textwrap
    ax.set_title("\n".join(textwrap.wrap(title, 90)), fontsize=8)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(prog="benchmarks/run.py")
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    ap.add_argument("--only", default="", help="comma-separated sections: " + ",".join(n for n, _ in SECTIONS))
    ap.add_argument("--device", default=None, help="cltensor device (cpu, gpu:0, cl:1 ...); default: the default")
    ap.add_argument("--png", default=None, help="also write a bar chart of the ratios to this PNG (matplotlib)")
    args = ap.parse_args(argv)
    if args.device:
        ct.set_default_device(args.device)
    only = set(filter(None, args.only.split(",")))
    rows = []
    for name, fn in SECTIONS:
        if only and name not in only:
            continue
        try:
            rs = fn(quick=args.quick)
        except Exception as e:
            print(f"section {name} failed: {e!r}", file=sys.stderr)
            continue
        for r in rs:
            r["section"] = name
        rows.extend(rs)
    dev = ct.get_default_device()
    info = ct._device.device_info(dev)
    head = (f"cltensor {ct.__version__} on {dev} ({info.name if info else 'host'}), numpy {np.__version__}, "
            f"torch {torch.__version__ if torch else 'n/a'}, {datetime.date.today()}, "
            f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}")
    lines = [head, "", "| section | op | size | cltensor ms | numpy ms | torch ms | vs numpy | vs torch |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['section']} | {r['op']} | {r['size']} | {fmt(r['cltensor_ms'])} | {fmt(r['numpy_ms'])} | "
                     f"{fmt(r['torch_ms'])} | {ratio(r['cltensor_ms'], r['numpy_ms'])} | "
                     f"{ratio(r['cltensor_ms'], r['torch_ms'])} |")
    text = "\n".join(lines)
    print(text)
    out = os.path.join(HERE, "results")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "latest.json"), "w") as f:
        json.dump({"header": head, "rows": rows}, f, indent=1)
    with open(os.path.join(out, "latest.md"), "w") as f:
        f.write(text + "\n")
    if args.png:
        if write_png(rows, args.png, head):
            print(f"chart: {args.png}")
    return rows


if __name__ == "__main__":
    main()
