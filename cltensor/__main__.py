"""`python -m cltensor`: list OpenCL platforms/devices and their capabilities.
`python -m cltensor doctor [DEVICE]`: a short correctness self-test of each op family against numpy on each
device (or one), printing pass/fail per family, so a driver bug can be told from a cltensor bug.
`python -m cltensor bench [--device D] [--quick] [--only SECTIONS] [--png chart.png]`: the benchmark table of
benchmarks/run.py on one device, optionally as a bar chart of the speed ratios.
`python -m cltensor warmup [DEVICE] [--dtypes float32,int64]`: build and cache the common kernels.
"""
import argparse
import sys
import time
import traceback

import numpy as np


def _list():
    import cltensor as ct
    import pyopencl as cl
    print(f"cltensor {ct.__version__}, pyopencl {cl.VERSION_TEXT}, numpy {np.__version__}")
    devs = ct.devices()
    if not devs:
        print("no OpenCL devices found. On Debian/Ubuntu: apt-get install pocl-opencl-icd (CPU) or your GPU "
              "vendor's OpenCL ICD.")
    default = ct.get_default_device()
    for d, info in devs:
        mark = "*" if d == default else " "
        print(f"{mark} {str(d):8s} {info['name']}  [{info['platform']}; {info['vendor']}; driver {info['driver']}]")
        print(f"      fp64={info['fp64']} fp16={info['fp16']} max_work_group={info['max_work_group_size']} "
              f"local_mem={info['local_mem_size'] // 1024} KiB global_mem={info['global_mem_size'] >> 20} MiB "
              f"max_alloc={info['max_alloc'] >> 20} MiB compute_units={info['compute_units']} "
              f"unified_memory={info['unified_memory']}")
        vw = info["vector_widths"]
        print("      preferred vector widths: " + " ".join(f"{k}={v}" for k, v in vw.items()))
        if info["profile"]:
            print(f"      CLTENSOR_DEVICE_PROFILE applied: {info['profile']} (capabilities above are the profile's)")
    print(f"default device: {default}")


def _checks(ct, dev):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((37, 29)).astype(np.float32)
    b = rng.standard_normal((29, 41)).astype(np.float32)
    A = ct.tensor(a, device=dev)
    B = ct.tensor(b, device=dev)

    def host(t):
        return t.cpu().numpy()

    def elementwise():
        np.testing.assert_allclose(host(A * 2 + A.exp()), a * 2 + np.exp(a), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(host(A + A[0]), a + a[0], rtol=1e-6)          # broadcast row
        np.testing.assert_allclose(host(A.T[::2] - A[:, ::2].T), a.T[::2] - a[:, ::2].T, rtol=1e-6)
        h = ct.tensor(a, device=dev).half()
        np.testing.assert_allclose(host((h + h).float()), (a.astype(np.float16) * 2).astype(np.float32), rtol=1e-3)

    def reductions():
        np.testing.assert_allclose(host(A.sum(0)), a.sum(0), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(host(A.T.amax(1)), a.T.max(1), rtol=0)
        np.testing.assert_allclose(float(A.mean()), a.mean(), rtol=1e-5)

    def matmul():
        np.testing.assert_allclose(host(A @ B), a @ b, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(host(B.T @ A.T), (a @ b).T, rtol=1e-4, atol=1e-4)

    def indexing():
        idx = np.array([3, 0, 36, 5])
        np.testing.assert_array_equal(host(A[ct.tensor(idx, device=dev)]), a[idx])
        np.testing.assert_array_equal(host(A[A > 0]), a[a > 0])

    def random():
        ct.manual_seed(1)
        x = host(ct.rand(10000, device=dev))
        assert 0.45 < x.mean() < 0.55 and x.min() >= 0 and x.max() < 1

    def autograd():
        x = ct.tensor(a, device=dev, requires_grad=True)
        (x * x).sum().backward()
        np.testing.assert_allclose(host(x.grad), 2 * a, rtol=1e-6)

    return [("elementwise", elementwise), ("reductions", reductions), ("matmul", matmul),
            ("indexing", indexing), ("random", random), ("autograd", autograd)]


def _doctor(which):
    import cltensor as ct
    devs = [d for d, _ in ct.devices()] if which is None else [ct.device(which)]
    bad = 0
    for dev in devs:
        info = ct._device.device_info(dev)
        print(f"== {dev}: {info.name if info else '?'}")
        for name, fn in _checks(ct, dev):
            t0 = time.perf_counter()
            try:
                fn()
                status = "pass"
            except Exception as e:
                status = f"FAIL: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
                bad += 1
                if "-v" in sys.argv:
                    traceback.print_exc()
            print(f"  {name:12s} {status}  ({(time.perf_counter() - t0) * 1e3:.0f} ms)")
    return 1 if bad else 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m cltensor",
                                 description="list devices (default), doctor: self-test, bench: benchmark table, "
                                             "warmup: pre-build and cache the common kernels")
    ap.add_argument("command", nargs="?", default="list", choices=["list", "doctor", "bench", "warmup"])
    ap.add_argument("device", nargs="?", default=None, help="a device (cpu, gpu:0, cl:1 ...)")
    ap.add_argument("--device", dest="device_opt", default=None, help="same as the positional device")
    ap.add_argument("-v", action="store_true", help="print tracebacks of failures")
    ap.add_argument("--quick", action="store_true", help="bench: smaller sizes, fewer repetitions")
    ap.add_argument("--only", default="", help="bench: comma-separated sections (core,elementwise,reduce,gemm,nn)")
    ap.add_argument("--png", default=None, help="bench: also write a bar chart of the ratios to this PNG")
    ap.add_argument("--dtypes", default="float32", help="warmup: comma-separated dtypes (float32,int64,...)")
    args = ap.parse_args(argv)
    device = args.device_opt or args.device
    if args.command == "list":
        _list()
        return 0
    if args.command == "doctor":
        return _doctor(device)
    if args.command == "warmup":
        import cltensor as ct
        dts = [getattr(ct, n.strip()) for n in args.dtypes.split(",") if n.strip()]
        t0 = time.perf_counter()
        n = ct.warmup(dtypes=dts, device=device)
        print(f"warmup: {n} programs built and cached in {time.perf_counter() - t0:.1f} s "
              f"(cache: {ct._kernels.cache_dir()})")
        return 0
    import os
    import runpy
    bench = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "run.py")
    if not os.path.exists(bench):
        print("benchmarks/run.py is not part of an installed package: run it from a source checkout")
        return 1
    mod = runpy.run_path(bench, run_name="cltensor_bench")
    bargv = (["--device", device] if device else []) + (["--quick"] if args.quick else []) + \
        (["--only", args.only] if args.only else []) + (["--png", args.png] if args.png else [])
    mod["main"](bargv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
