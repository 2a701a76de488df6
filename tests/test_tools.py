"""The kernel pipeline's error paths and `python -m cltensor` (device profiles: test_device.py)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import cltensor as ct
from cltensor import _kernels as K
from cltensor import _device as dv
from _host import host


def _run(args, env_extra=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable] + args, capture_output=True, text=True, env=env, timeout=300)


def test_build_error_names_kernel_and_carries_log(tmp_path):
    rt = dv.runtime(ct.get_default_device())
    # an expression that does not compile: the error names the kernel, the template and the source path
    with pytest.raises(K.KernelBuildError) as ei:
        K.get(rt, "elementwise", "flat", out=ct.float32, ins=(ct.float32,), kinds=("t",), cdts=(ct.float32,),
              rdt=ct.float32, expr="x0 +* no_such_fn(x0)", idx="int")
    msg = str(ei.value)
    assert "flat" in msg and "elementwise.mako" in msg and "Build log" in msg
    path = msg.split("Source: ")[1].split("\n")[0]
    assert os.path.exists(path) and "no_such_fn" in open(path).read()


def test_template_params_are_strict():
    # strict_undefined: a missing template parameter is an error, not an empty string
    with pytest.raises((NameError, TypeError)):
        K.render("elementwise", "flat", out=None)
    assert K._tl().template_args["strict_undefined"] is True


def test_kernels_cached_per_params():
    rt = dv.runtime(ct.get_default_device())
    a = ct.ones(5)
    (a + 1).tolist()
    n = K.stats["builds"]
    for size in (3, 17, 1000, 4097):
        (ct.ones(size) + 1).tolist()
    assert K.stats["builds"] == n  # new sizes build nothing


def test_module_lists_devices():
    r = _run(["-m", "cltensor"])
    assert r.returncode == 0, r.stderr
    dev = str(ct.get_default_device())
    assert dev in r.stdout and "fp64=" in r.stdout and f"default device: {dev}" in r.stdout


def test_debug_env_prints_kernels():
    r = _run(["-c", "import cltensor as ct; (ct.arange(4) * 3).tolist()"], {"CLTENSOR_DEBUG": "1"})
    assert r.returncode == 0, r.stderr
    assert "__kernel void k" in r.stderr and "launch" in r.stderr


def test_device_strings():
    assert ct.device("cuda:0") == ct.device("gpu:0")
    assert str(ct.device("cl:0")) == str(ct.devices()[0][0])         # the first device's name (cpu with PoCL)
    assert repr(ct.device("cpu")) == "device(type='cpu')"
    with pytest.raises(RuntimeError):
        ct.device("tpu")
    with pytest.raises(RuntimeError):
        ct.device("cl:99")


def test_host_only_cpu_without_opencl_devices():
    # no OpenCL platform at all: cpu tensors are host storage (numpy interop works), ops name the fix
    code = ("import cltensor as ct, numpy as np\n"
            "assert ct.devices() == [] and str(ct.get_default_device()) == 'cpu'\n"
            "t = ct.tensor([1., 2.])\n"
            "assert t.tolist() == [1.0, 2.0] and repr(t) == 'tensor([1., 2.])'\n"
            "a = np.arange(3.); s = ct.from_numpy(a); a[0] = 9\n"
            "assert s.tolist() == [9.0, 1.0, 2.0] and np.shares_memory(s.numpy(), a)\n"
            "try:\n    t + 1\nexcept RuntimeError as e:\n    print('raised', 'pocl-opencl-icd' in str(e))\n")
    env = {"OCL_ICD_VENDORS": "/nonexistent-cltensor-test", "CLTENSOR_DEVICE": ""}
    if "oclgrind" in os.environ.get("LD_PRELOAD", ""):         # under `oclgrind`: without its OpenCL runtime too
        env["LD_PRELOAD"] = ""
    r = _run(["-c", code], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["raised", "True"]


# ---------------------------------------------------------------- profiler

def test_profiler_counts_kernels_and_times_them(tmp_path):
    import json
    a, b = ct.rand(1000), ct.rand(1000)
    x, w = ct.rand(64, 64), ct.rand(64, 64)
    (a + b).tolist()
    (x @ w).tolist()
    rt = dv.runtime(ct.get_default_device())
    normal_queue = rt.queue
    with ct.profiler.profile() as p:
        r = [a + b for _ in range(3)]
        s = [a.sum(), (a * 2.0).sum()]
        m = [x @ w, x @ w]            # the second goes through gemm's set-arguments fast path
    assert rt.queue is normal_queue    # the profiling queue is put back
    assert not (rt.queue.properties & ct.profiler.cl.command_queue_properties.PROFILING_ENABLE)
    np_a, np_b = host(a), host(b)
    np.testing.assert_allclose(host(r[2]), np_a + np_b, rtol=1e-6)
    np.testing.assert_allclose(float(s[1]), (np_a * 2).sum(), rtol=1e-4)
    np.testing.assert_allclose(host(m[1]), host(x) @ host(w), rtol=1e-4, atol=1e-4)
    st = {k.name: k for k in p.key_averages()}
    assert st["elementwise.flat[add,float32]"].calls == 3
    assert st["elementwise.flat[mul,float32]"].calls == 1
    assert sum(k.calls for n, k in st.items() if n.startswith("gemm.")) == 2
    assert sum(k.calls for n, k in st.items() if n.startswith("reduce.")) >= 2
    assert p.launches == sum(k.calls for k in st.values()) >= 8
    for k in st.values():
        assert k.device_total_ms > 0 and k.device_mean_us > 0 and k.enqueue_mean_us > 0
    assert p.device_time_ms == pytest.approx(sum(k.device_total_ms for k in st.values()))
    table = p.table()
    assert "elementwise.flat[add,float32]" in table and "device total ms" in table and "launches" in table
    assert table.splitlines()[2].startswith(p.key_averages()[0].name)     # sorted by device total
    assert p.table(sort_by="calls").splitlines()[2].startswith("elementwise.flat[add,float32]")
    with pytest.raises(ValueError):
        p.table(sort_by="nope")
    path = p.export_chrome_trace(str(tmp_path / "trace.json"))
    ev = json.load(open(path))["traceEvents"]
    kern = [e for e in ev if e["cat"] == "kernel"]
    assert len(kern) == p.launches and len(ev) == 2 * p.launches
    assert all(e["ph"] == "X" and e["dur"] > 0 for e in kern)
    ts = [e["ts"] for e in kern]
    assert ts == sorted(ts)           # one in-order queue: kernels run in launch order


def test_profiler_rules():
    p = ct.profiler.profile()
    with pytest.raises(RuntimeError):
        p.table()                      # results only after the block
    with p:
        with pytest.raises(RuntimeError):
            with ct.profiler.profile():
                pass
    assert p.launches == 0 and "0 launches" in p.table()
    o = ct.ones(4)
    before = K.stats["launches"]
    r = o + 1                          # the observer is gone: normal launches again
    assert K.stats["launches"] == before + 1 and K.observer is None and r.tolist() == [2.0] * 4


# ---------------------------------------------------------------- warmup and the binary cache

def test_warmup_builds_then_ops_build_nothing():
    n = ct.warmup(dtypes=(ct.float32, ct.int64), families=("elementwise", "reduce"), save_binaries=False)
    assert n >= 0
    assert ct.warmup(dtypes=ct.float32, families=("elementwise", "reduce"), save_binaries=False) == 0
    before = K.stats["builds"]
    a, b = ct.rand(5, 7), ct.rand(5, 7)
    r = ((a + b) * 2.0 - a.exp()).sum(1)
    i = ct.arange(35).reshape(5, 7)
    r2 = (i + i).amax()
    assert K.stats["builds"] == before        # all built by warmup already
    np.testing.assert_allclose(host(r), ((host(a) + host(b)) * 2 - np.exp(host(a))).sum(1), rtol=1e-5, atol=1e-5)
    assert r2.item() == 68
    with pytest.raises(ValueError):
        ct.warmup(families=("nope",))


def test_binary_cache_across_processes(tmp_path):
    code = ("import cltensor as ct\n"
            "from cltensor import _kernels as K\n"
            "print(((ct.arange(6, dtype=ct.float32) * 3 + 1).exp().sum() > 0).item(), "
            "(ct.arange(4) * 7).tolist())\n"
            "s = K.stats\n"
            "print(s['source_builds'], s['binary_loads'], s['binaries_saved'])\n")
    env = {"CLTENSOR_CACHE_DIR": str(tmp_path / "c"), "CLTENSOR_CACHE_BINARIES": "1"}
    r1 = _run(["-c", code], env)
    assert r1.returncode == 0, r1.stderr
    out1, counts1 = r1.stdout.splitlines()
    src1, loads1, saved1 = map(int, counts1.split())
    assert out1 == "True [0, 7, 14, 21]" and src1 >= 3 and loads1 == 0 and saved1 == src1
    r2 = _run(["-c", code], env)                       # everything comes from binaries: no source build
    assert r2.returncode == 0, r2.stderr
    out2, counts2 = r2.stdout.splitlines()
    assert out2 == out1 and list(map(int, counts2.split())) == [0, src1, 0]
    for root, _, files in os.walk(tmp_path / "c"):       # damaged entries fall back to the source
        for f in files:
            if f.endswith(".bin"):
                open(os.path.join(root, f), "wb").write(b"garbage")
    r3 = _run(["-c", code], {**env, "CLTENSOR_CACHE_BINARIES": "0"})
    assert r3.returncode == 0, r3.stderr
    assert r3.stdout.splitlines()[0] == out1 and list(map(int, r3.stdout.splitlines()[1].split())) == [src1, 0, 0]


def test_binary_cache_auto_mode_stores_on_second_build(tmp_path):
    code = ("import cltensor as ct\nfrom cltensor import _kernels as K\n(ct.ones(3) + 1).tolist()\n"
            "print(K.stats['source_builds'], K.stats['binary_loads'], K.stats['binaries_saved'])\n")
    env = {"CLTENSOR_CACHE_DIR": str(tmp_path / "c")}
    counts = []
    for _ in range(3):
        r = _run(["-c", code], env)
        assert r.returncode == 0, r.stderr
        counts.append(list(map(int, r.stdout.split())))
    n = counts[0][0]
    assert n >= 2 and counts[0] == [n, 0, 0]              # first process: marks the sources as seen
    assert counts[1][0] == n and counts[1][2] >= 1        # second: stores binaries (within its time budget)
    assert counts[2][1] == counts[1][2]                   # third: loads them


def test_bench_command_writes_table_and_chart(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "chart.png"
    dev = str(ct.get_default_device())
    r = _run(["-m", "cltensor", "bench", "--device", dev, "--quick", "--only", "core", "--png", str(png)])
    assert r.returncode == 0, r.stderr
    assert "| core | per-op overhead a+b (us/op) | 10 |" in r.stdout and f"on {dev} (" in r.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_launch_without_kernel_arg_info_infers_types(monkeypatch):
    # a driver without -cl-kernel-arg-info: the kernel is launched untyped once, typed from its numpy scalars
    import pyopencl as cl
    rt = dv.runtime(ct.get_default_device())
    src = "__kernel void k(__global float *o, int off, float v) { o[off + get_global_id(0)] = v; }"
    k = cl.Kernel(cl.Program(rt.ctx, src).build(), "k")

    def no_info(*a):
        raise cl.Error("no argument info")
    monkeypatch.setattr(cl.Kernel, "get_arg_info", no_info)
    K._declare_arg_types(k)
    assert k in K._untyped
    o = ct.zeros(8)
    K.launch(rt, k, (4,), (4,), [o._st.buf, np.int32(2), np.float32(1.5)])
    assert k not in K._untyped and k.typed
    K.launch(rt, k, (2,), (2,), [o._st.buf, 6, 2.5])          # typed now: Python numbers work
    assert o.tolist() == [0, 0, 1.5, 1.5, 1.5, 1.5, 2.5, 2.5]
