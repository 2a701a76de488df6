"""GEMM benchmark: cltensor's OpenCL GEMM (cltensor._gemm) against numpy (np.matmul) and torch CPU, interleaved.

    python benchmarks/bench_gemm.py            # table for this process's OpenBLAS settings
    python benchmarks/bench_gemm.py --both     # then again with the other OpenBLAS setting (unset <-> Haswell)
    python benchmarks/bench_gemm.py --quick

`rows(quick=False)` returns [{op, size, cltensor_ms, numpy_ms, torch_ms, ...}] (best of the repetitions; the
*_med_ms keys hold medians) for a main harness. Each library runs in turn inside every repetition, so load from
other processes hits all three alike: compare ratios, not absolute numbers, on a shared machine. Before each
timed block the benchmark pauses briefly so that the previous library's spinning worker threads go idle.
"""
import importlib
import os
import subprocess
import sys
import time
import types

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


def _core():
    try:
        import cltensor  # noqa: F401
    except Exception:   # the package __init__ may be mid-edit: load the submodules alone
        for k in [k for k in sys.modules if k == "cltensor" or k.startswith("cltensor.")]:
            del sys.modules[k]
        pkg = types.ModuleType("cltensor")
        pkg.__path__ = [os.path.join(_ROOT, "cltensor")]
        sys.modules["cltensor"] = pkg
    return tuple(importlib.import_module("cltensor." + m) for m in ("_device", "_dtypes", "_gemm"))


try:
    import torch
except Exception:  # pragma: no cover
    torch = None

# (op label, dtype name, batch, n): C[batch] = A[batch] @ B[batch], all n x n
CASES = [
    ("matmul", "float32", 1, 256),
    ("matmul", "float32", 1, 1024),
    ("matmul", "float32", 1, 2048),
    ("matmul", "float64", 1, 1024),
    ("bmm", "float32", 64, 32),
]


_PAUSE = 0.1     # seconds of idle before each timed block
_BLOCK = 0.05    # seconds per timed block (many calls, one sync at the end)


def _timeit(fn, inner):
    t0 = time.perf_counter()
    fn(inner)
    return (time.perf_counter() - t0) / inner


def _case(rt, D, G, op, dname, batch, n, reps):
    import pyopencl as cl
    dt = getattr(D, dname)
    rng = np.random.default_rng(0)
    shape = (batch, n, n) if op == "bmm" else (n, n)
    a = rng.standard_normal(shape).astype(dt.np)
    b = rng.standard_normal(shape).astype(dt.np)
    c = np.empty_like(a)
    mf = cl.mem_flags
    ba = cl.Buffer(rt.ctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=a)
    bb = cl.Buffer(rt.ctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=b)
    bc = cl.Buffer(rt.ctx, mf.READ_WRITE, c.nbytes)
    opa, opb, opc = (ba, 0, n * n, n, 1), (bb, 0, n * n, n, 1), (bc, 0, n * n, n, 1)

    def run_cl(k):
        for _ in range(k):
            G.gemm(rt, dt, batch, n, n, n, opa, opb, opc)
        rt.queue.finish()

    def run_np(k):
        for _ in range(k):
            np.matmul(a, b, out=c)

    fns = {"cltensor": run_cl, "numpy": run_np}
    if torch is not None:
        ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(np.empty_like(a))

        def run_torch(k):
            for _ in range(k):
                torch.matmul(ta, tb, out=tc)
        fns["torch"] = run_torch

    # warm up (compiles the kernels), then pick repetitions per timing so each takes >= ~50 ms
    inner = {}
    for name, fn in fns.items():
        fn(1)
        t = min(_timeit(fn, 1) for _ in range(3))
        inner[name] = max(1, min(1000, int(_BLOCK / max(t, 1e-7))))
    run_cl(1)
    out = np.empty_like(c)
    cl.enqueue_copy(rt.queue, out, bc)
    rt.queue.finish()
    ref = np.matmul(a.astype(np.float64), b.astype(np.float64))
    err = float(np.abs(out - ref).max() / np.abs(ref).max())
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            # let the previous library's worker threads stop spinning (OpenBLAS and OpenMP busy-wait after a
            # call and would steal the cores from the next one), warm up, then time a block of calls
            time.sleep(_PAUSE)
            fn(max(1, inner[name] // 5))
            times[name].append(_timeit(fn, inner[name]))
    flop = 2.0 * batch * n ** 3
    row = {"op": f"{op} {dname}", "size": f"{batch}x{n}x{n}" if op == "bmm" else str(n), "gflop": flop / 1e9,
           "max_rel_err": err}
    for name in ("cltensor", "numpy", "torch"):
        ts = times.get(name)
        row[f"{name}_ms"] = min(ts) * 1e3 if ts else None
        row[f"{name}_med_ms"] = float(np.median(ts)) * 1e3 if ts else None
    return row


def rows(quick=False):
    """Benchmark rows: op, size, cltensor_ms, numpy_ms, torch_ms (best; None without torch), *_med_ms."""
    _device, D, G = _core()
    rt = _device.runtime(_device.device("cpu"))
    if rt is None:
        return []
    out = []
    for op, dname, batch, n in CASES:
        reps = (3 if n >= 2048 else 5) if quick else (5 if n >= 2048 else 9)
        out.append(_case(rt, D, G, op, dname, batch, n, reps))
    return out


def print_table(rs, title=""):
    if title:
        print(title)
    head = (f"{'op':<16}{'size':>10} | {'cltensor':>8} {'numpy':>8} {'torch':>8}   GFLOP/s best (median) "
            f"| {'vs numpy':>8} {'vs torch':>8}")
    print(head)
    print("-" * len(head))
    for r in rs:
        g = r["gflop"]
        cells = []
        for k in ("cltensor", "numpy", "torch"):
            b, m = r[f"{k}_ms"], r[f"{k}_med_ms"]
            cells.append("-" if b is None else f"{g * 1e3 / b:.0f} ({g * 1e3 / m:.0f})")
        vs_np = r["numpy_ms"] / r["cltensor_ms"]
        vs_t = (r["torch_ms"] / r["cltensor_ms"]) if r["torch_ms"] else None
        print(f"{r['op']:<16}{r['size']:>10} | " + " ".join(f"{x:>10}" for x in cells) +
              f" | {vs_np:7.2f}x {('%7.2fx' % vs_t) if vs_t else '-':>8}")
    print("(vs numpy / vs torch: their best time / cltensor's best time; > 1 means cltensor is faster)")


def main(argv):
    quick = "--quick" in argv
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    _device, D, G = _core()
    rt = _device.runtime(_device.device("cpu"))
    print(f"device: {rt.info.name} ({rt.info.platform} {rt.info.driver}), {rt.info.compute_units} compute units; "
          f"torch {'%s, %d threads' % (torch.__version__, torch.get_num_threads()) if torch else 'not installed'}; "
          f"numpy {np.__version__}")
    print_table(rows(quick), title=f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']} "
                                   f"OPENBLAS_L2_SIZE={env['OPENBLAS_L2_SIZE']}")
    if "--both" in argv:
        # the complementary OpenBLAS setting: unset when this process has it, Haswell (AVX2) when it has not
        e = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        if not env["OPENBLAS_CORETYPE"]:
            e["OPENBLAS_CORETYPE"] = "Haswell"
        print()
        sys.stdout.flush()
        subprocess.run([sys.executable, os.path.abspath(__file__)] + [x for x in argv if x != "--both"], env=e)

if __name__ == "__main__":
    main(sys.argv[1:])
