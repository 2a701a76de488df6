"""GEMM benchmark: cltensor's OpenCL GEMM (cltensor._gemm) against numpy (np.matmul) and torch CPU, interleaved.

    python benchmarks/bench_gemm.py            # table for this process's OpenBLAS settings
    python benchmarks/bench_gemm.py --both     # then again with the other OpenBLAS setting (unset <-> Haswell)
    python benchmarks/bench_gemm.py --quick
    python benchmarks/bench_gemm.py --no-peak  # skip the FMA peak measurement (% of peak column)
    python benchmarks/bench_gemm.py --ab       # also this GEMM with its CPU fast paths off ("before"), same process

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

# (op label, dtype name, batch, M, K, N, layout): C[batch] (M x N) = A[batch] (M x K) @ B[batch] (K x N).
# layout "nn": contiguous operands; "nt": B stored transposed (N x K, as nn.Linear's weight: x @ W.T);
# "conv": the im2col GEMM of a 3x3 convolution (cltensor/nn/_conv.py): one weight matrix shared by the batch,
# the columns of all images side by side (B's rows are batch * N apart); numpy and torch compute the same product
# as one GEMM, W @ col (M x K @ K x batch*N), the way their convolutions do.
CASES = [
    ("matmul", "float32", 1, 256, 256, 256, "nn"),
    ("matmul", "float32", 1, 1024, 1024, 1024, "nn"),
    ("matmul", "float32", 1, 2048, 2048, 2048, "nn"),
    ("matmul", "float64", 1, 1024, 1024, 1024, "nn"),
    ("bmm", "float32", 64, 32, 32, 32, "nn"),
    ("matmul", "float32", 1, 64, 64, 64, "nn"),
    ("matmul", "float32", 1, 128, 512, 128, "nn"),
    ("linear x@W.T", "float32", 1, 128, 512, 256, "nt"),
    ("conv im2col", "float32", 32, 32, 144, 1024, "conv"),
    ("mv", "float32", 1, 1024, 1024, 1, "nn"),
    ("vm", "float32", 1, 1, 1024, 1024, "nn"),
]
QUICK = {0, 1, 4, 5, 8}


_PAUSE = 0.1     # seconds of idle before each timed block
_BLOCK = 0.05    # seconds per timed block (many calls, one sync at the end)


def _timeit(fn, inner):
    t0 = time.perf_counter()
    fn(inner)
    return (time.perf_counter() - t0) / inner


def _size(batch, M, K, N, layout):
    if M == K == N:
        return f"{batch}x{M}x{M}" if batch > 1 else str(M)
    return (f"{batch}x" if batch > 1 else "") + f"{M}x{K}x{N}"


# --ab: also time this tree's GEMM with its CPU fast paths switched off (the matrix-vector kernel, whole-tile stores
# from the accumulators, the transposing pack of B given transposed), interleaved in the same process
_BEFORE = dict(gemv=False, direct=False, tpack=False)


def _case(rt, D, G, op, dname, batch, M, K, N, layout, reps, ab=False):
    import pyopencl as cl
    dt = getattr(D, dname)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((batch, M, K)).astype(dt.np)
    b = rng.standard_normal((batch, K, N)).astype(dt.np)
    c = np.empty((batch, M, N), dt.np)
    if layout == "nt":        # B = W.T with W (N x K) contiguous
        bh = np.ascontiguousarray(b.transpose(0, 2, 1))
        opb = (K * N, 1, K)
        b = bh.transpose(0, 2, 1)
    elif layout == "conv":    # A shared; col (K x batch*N): image p's columns at p * N
        a = a[:1]
        bh = np.ascontiguousarray(b.transpose(1, 0, 2)).reshape(K, batch * N)
        opb = (N, batch * N, 1)
    else:
        bh = b
        opb = (K * N, N, 1)
    mf = cl.mem_flags
    ba = cl.Buffer(rt.ctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=a)
    bb = cl.Buffer(rt.ctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=bh)
    bc = cl.Buffer(rt.ctx, mf.READ_WRITE, c.nbytes)
    opa = (ba, 0, 0 if layout == "conv" else M * K, K, 1)
    opb = (bb, 0) + opb
    opc = (bc, 0, M * N, N, 1)

    def run_cl(k):
        for _ in range(k):
            G.gemm(rt, dt, batch, M, N, K, opa, opb, opc)
        rt.queue.finish()

    # numpy / torch: the same product in their natural form
    if layout == "conv":
        na, nb = a[0], bh
        nc = np.empty((M, batch * N), dt.np)
    elif batch == 1:
        na, nb, nc = a[0], b[0], c[0]
        if N == 1:
            nb, nc = nb[:, 0], nc[:, 0]
    else:
        na, nb, nc = a, b, c

    def run_np(k):
        for _ in range(k):
            np.matmul(na, nb, out=nc)

    fns = {"cltensor": run_cl, "numpy": run_np}
    if ab:
        pb = dict(G._config(rt, dt, G._acc_dtype(dt, None)), **_BEFORE)

        def run_before(k):
            for _ in range(k):
                G.gemm(rt, dt, batch, M, N, K, opa, opb, opc, params=pb)
            rt.queue.finish()
        fns["before"] = run_before
    if torch is not None:
        ta, tb, tc = torch.from_numpy(na), torch.from_numpy(nb), torch.from_numpy(np.empty_like(nc))

        def run_torch(k):
            for _ in range(k):
                torch.matmul(ta, tb, out=tc)
        fns["torch"] = run_torch

    # warm up (compiles the kernels), then pick repetitions per timing so each takes >= ~50 ms
    inner = {}
    for name, fn in fns.items():
        fn(1)
        t = min(_timeit(fn, 1) for _ in range(3))
        inner[name] = max(1, min(2000, int(_BLOCK / max(t, 1e-7))))
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
    flop = 2.0 * batch * M * N * K
    row = {"op": f"{op} {dname}", "size": _size(batch, M, K, N, layout), "gflop": flop / 1e9, "max_rel_err": err}
    for name in ("cltensor", "numpy", "torch") + (("before",) if ab else ()):
        ts = times.get(name)
        row[f"{name}_ms"] = min(ts) * 1e3 if ts else None
        row[f"{name}_med_ms"] = float(np.median(ts)) * 1e3 if ts else None
    return row


_PEAK_SRC = """
__kernel void k(__global float* out, const int iters, const float a, const float b)
{
    const int g = get_global_id(0);
%s
    for (int i = 0; i < iters; i++) {
%s
    }
    out[g] = dot((%s).lo.lo, (float4)1);
}
"""


def fma_peak(rt, chains=12, reps=5):
    """The device's float32 FMA rate in GFLOP/s: `chains` independent float16 FMA chains per work-item (enough to
    cover the FMA latency), long enough (~25 ms) that launch costs vanish; run with one work-group and with one per
    compute unit. Returns (one work-group's rate, all compute units' rate, peak), peak = the larger of the second and
    compute units x the first (on a loaded machine the all-units run may not get every core)."""
    import pyopencl as cl
    src = _PEAK_SRC % ("\n".join(f"    float16 x{j} = (float16)(g + {j});" for j in range(chains)),
                       "\n".join(f"        x{j} = fma(x{j}, (float16)a, (float16)b);" for j in range(chains)),
                       " + ".join(f"x{j}" for j in range(chains)))
    k = cl.Program(rt.ctx, src).build().k
    n = rt.info.compute_units
    out = cl.Buffer(rt.ctx, cl.mem_flags.READ_WRITE, 4 * n)
    k(rt.queue, (n,), (1,), out, np.int32(0), np.float32(0.999), np.float32(1e-3))
    rt.queue.finish()
    iters = 2_000_000
    rates = []
    for wgs in (1, n):
        best = None
        for _ in range(reps):
            time.sleep(_PAUSE)
            t0 = time.perf_counter()
            k(rt.queue, (wgs,), (1,), out, np.int32(iters), np.float32(0.999), np.float32(1e-3))
            rt.queue.finish()
            t = time.perf_counter() - t0
            best = t if best is None else min(best, t)
        rates.append(wgs * iters * chains * 16 * 2 / best / 1e9)
    return rates[0], rates[1], max(rates[1], n * rates[0])


def rows(quick=False, ab=False):
    """Benchmark rows: op, size, cltensor_ms, numpy_ms, torch_ms (best; None without torch), *_med_ms."""
    _device, D, G = _core()
    rt = _device.runtime(_device.device("cpu"))
    if rt is None:
        return []
    out = []
    for i, (op, dname, batch, M, K, N, layout) in enumerate(CASES):
        if quick and i not in QUICK:
            continue
        big = M * K * N * batch >= 2048 ** 3
        reps = (3 if big else 5) if quick else (5 if big else 9)
        out.append(_case(rt, D, G, op, dname, batch, M, K, N, layout, reps, ab))
    return out


def print_table(rs, title="", peak=None):
    if title:
        print(title)
    head = (f"{'op':<22}{'size':>14} | {'cltensor':>10} {'numpy':>10} {'torch':>10} | {'vs numpy':>8} {'vs torch':>8}"
            + (" | % of peak" if peak else ""))
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
        before = ""
        if r.get("before_ms"):
            before = (f" | before {g * 1e3 / r['before_ms']:.0f} ({g * 1e3 / r['before_med_ms']:.0f}), "
                      f"{r['torch_ms'] / r['before_ms']:.2f}x torch" if r["torch_ms"] else "")
        print(f"{r['op']:<22}{r['size']:>14} | " + " ".join(f"{x:>10}" for x in cells) +
              f" | {vs_np:7.2f}x {('%7.2fx' % vs_t) if vs_t else '-':>8}" +
              (f" | {100 * g * 1e3 / r['cltensor_ms'] / peak:6.0f}%" if peak else "") + before)
    print("(GFLOP/s: best (median) of the repetitions; vs numpy / vs torch: their best time / cltensor's best time, "
          "> 1 means cltensor is faster" + ("; % of peak: cltensor's best against the FMA peak above)" if peak else ")"))


def main(argv):
    quick = "--quick" in argv
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    _device, D, G = _core()
    rt = _device.runtime(_device.device("cpu"))
    print(f"device: {rt.info.name} ({rt.info.platform} {rt.info.driver}), {rt.info.compute_units} compute units; "
          f"torch {'%s, %d threads' % (torch.__version__, torch.get_num_threads()) if torch else 'not installed'}; "
          f"numpy {np.__version__}")
    peak = None
    if "--no-peak" not in argv:
        one, alln, peak = fma_peak(rt)
        print(f"float32 FMA rate (independent float16 FMA chains): one work-group {one:.0f} GFLOP/s, "
              f"{rt.info.compute_units} work-groups {alln:.0f} GFLOP/s; peak taken as {peak:.0f} GFLOP/s")
    print_table(rows(quick, "--ab" in argv), title=f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']} "
                                   f"OPENBLAS_L2_SIZE={env['OPENBLAS_L2_SIZE']}", peak=peak)
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
