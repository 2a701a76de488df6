"""Devices: names and parsing, the CPU device, movement with .to()/.cpu(), the memory pool, the cuda namespace;
GPU-only checks run when an OpenCL GPU is present."""
import copy
import gc
import os
import pickle
import subprocess
import sys
import types

import numpy as np
import pytest

import cltensor as ct
from cltensor import _device as dv
from _host import host

HAS_GPU = ct.cuda.is_available()
gpu_only = pytest.mark.skipif(not HAS_GPU, reason="no OpenCL GPU")


def test_device_parsing_and_equality():
    assert ct.device("cpu") == "cpu" and str(ct.device("cpu")) == "cpu"
    assert repr(ct.device("cpu")) == "device(type='cpu')"
    assert ct.device("cuda:1") == ct.device("gpu", 1) and str(ct.device("cuda:1")) == "gpu:1"
    assert repr(ct.device("gpu:0")) == "device(type='gpu', index=0)"
    assert ct.device("cpu:0") == ct.device("cpu") and ct.device(ct.device("cpu")) == "cpu"
    assert hash(ct.device("cpu")) == hash(ct.device("cpu"))
    assert pickle.loads(pickle.dumps(ct.device("gpu:2"))) == ct.device("gpu:2")
    assert ct.device("cpu") != "gpu" and ct.device("cpu") != "not a device"
    for bad in ("tpu", "cuda:x", "cpu:1"):
        with pytest.raises(RuntimeError):
            ct.device(bad)
    with pytest.raises(RuntimeError):
        ct.device("gpu:1", 2)
    with pytest.raises(TypeError):
        ct.device(1.5)


def test_devices_listing_and_default():
    devs = ct.devices()
    assert devs and all(isinstance(d, ct.device) for d, _ in devs)
    info = dict(devs)[ct.device("cpu")] if any(d == "cpu" for d, _ in devs) else devs[0][1]
    for key in ("name", "platform", "fp64", "fp16", "max_work_group_size", "global_mem_size", "compute_units"):
        assert key in info
    d0 = ct.get_default_device()
    assert isinstance(d0, ct.device) and ct.zeros(1).device == d0
    assert ct.cuda.is_available() == any(d.type == "gpu" for d, _ in devs)
    assert ct.cuda.device_count() == sum(d.type == "gpu" for d, _ in devs)


def test_set_default_device_roundtrip():
    d0 = ct.get_default_device()
    try:
        ct.set_default_device("cpu")
        assert ct.empty(2).device == "cpu" and ct.get_default_device() == "cpu"
    finally:
        ct.set_default_device(d0)
    assert ct.get_default_device() == d0


@pytest.mark.cl_cpu
def test_cpu_tensor_device_attributes_and_moves():
    t = ct.arange(6.0, device="cpu").view(2, 3)
    assert t.device == ct.device("cpu") and t.is_cpu and not t.is_cuda
    assert t.to("cpu") is t and t.cpu() is t and t.to(ct.device("cpu")) is t
    c = t.to("cpu", copy=True)
    assert c is not t and c.tolist() == t.tolist()
    c[0, 0] = 100.0
    assert t[0, 0].item() == 0.0
    d = t.to(device="cpu", dtype=ct.int32)
    assert d.dtype is ct.int32 and d.device == "cpu"
    assert ct.tensor([1, 2], device="cpu").device == "cpu"
    assert ct.zeros(2, device=ct.device("cpu")).device == "cpu"


@pytest.mark.skipif(HAS_GPU, reason="a GPU is present")
def test_unavailable_gpu_raises():
    with pytest.raises(RuntimeError, match="not available"):
        ct.ones(2, device="cuda")
    with pytest.raises(RuntimeError):
        ct.ones(2).to("gpu")
    with pytest.raises(RuntimeError):
        ct.cuda.get_device_name()
    assert ct.cuda.memory_allocated() == 0


def test_cuda_namespace_calls():
    ct.cuda.synchronize()
    ct.cuda.manual_seed(3)
    ct.cuda.manual_seed_all(3)
    ct.cuda.empty_cache()
    assert ct.cuda.current_device() == 0
    dev = "cuda" if ct.cuda.is_available() else "cpu"   # the tutorial idiom
    assert ct.ones(1, device=dev).device.type in ("gpu", "cpu")


def test_synchronize_and_memory_pool_reuse():
    rt = dv.runtime(ct.get_default_device())
    ct.synchronize()
    ct.synchronize(ct.get_default_device())
    stats0 = rt.memory_stats()
    assert set(stats0) >= {"allocated_bytes", "cached_bytes", "peak_bytes", "num_device_allocs"}
    x = ct.empty(1000)
    buf = x._st.buf
    del x
    gc.collect()
    y = ct.empty(1000)                  # same size bin: the pooled buffer comes back
    assert y._st.buf is buf
    z = ct.ones(1000) + 1               # warm the pool for this pattern
    del z
    n_allocs = rt.memory_stats()["num_device_allocs"]
    for _ in range(20):
        z = ct.ones(1000) + 1
        del z
    assert rt.memory_stats()["num_device_allocs"] == n_allocs


@pytest.mark.cl_cpu
def test_numpy_view_keeps_pooled_memory_alive():
    a = ct.arange(5.0, device="cpu").numpy()   # the tensor dies here; its memory must not return to the pool
    gc.collect()
    b = [ct.full((5,), 7.0, device="cpu") for _ in range(4)]
    ct.synchronize()
    np.testing.assert_array_equal(a, np.arange(5.0))
    assert b[0].tolist() == [7.0] * 5


# ---------------------------------------------------------------- GPU (run where an OpenCL GPU exists)

@gpu_only
def test_gpu_roundtrip_and_ops():
    a = np.random.randn(33, 17).astype(np.float32)
    g = ct.tensor(a, device="cuda")
    assert g.device.type == "gpu" and g.is_cuda
    np.testing.assert_array_equal(host(g), a)
    np.testing.assert_allclose(host((g.T * 2 + 1).exp()), np.exp(a.T * 2 + 1), rtol=1e-5)
    assert g.to("cpu").device == "cpu" and g.tolist() == a.tolist()
    assert g[3, 4].item() == a[3, 4]
    with pytest.raises(RuntimeError, match="same device"):
        g + ct.tensor(a, device="cpu")
    assert (g + ct.tensor(2.0)).device.type == "gpu"          # a 0-d CPU tensor acts as a scalar
    # the repr names the device where it is not the default one
    assert ("device='gpu:0'" in repr(ct.ones(2, device="gpu"))) == (ct.get_default_device() != "gpu:0")
    assert ct.cuda.memory_allocated() > 0


@gpu_only
def test_numpy_of_a_device_tensor_raises_as_torch():
    """numpy() of a non-CPU tensor raises PyTorch's TypeError (torch's message for its meta device, the one
    non-CPU device a CPU build has, names the device the same way); .cpu().numpy() is the way to the host."""
    import torch
    with pytest.raises(TypeError) as want:
        torch.ones(2, device="meta").numpy()
    g = ct.ones(2, device="gpu")
    with pytest.raises(TypeError) as got:
        g.numpy()
    assert str(got.value) == str(want.value).replace("meta", "gpu:0")
    with pytest.raises(TypeError, match="can't convert gpu:0 device type tensor to numpy"):
        ct.ones(2, device="gpu", requires_grad=True).numpy()
    assert g.cpu().numpy().tolist() == [1, 1] and host(g).tolist() == [1, 1]


# ---------------------------------------------------------------- capability profiles (CLTENSOR_DEVICE_PROFILE)

def _fake_info(**kw):
    f = types.SimpleNamespace(fp64=True, fp16=True, max_work_group_size=4096, max_work_item_sizes=(4096,) * 3,
                              local_mem_size=1 << 20,
                              max_alloc=1 << 30, profile=None,
                              vector_widths={"char": 16, "short": 16, "int": 16, "long": 8, "float": 16,
                                             "double": 8, "half": 16})
    f.__dict__.update(kw)
    return f


def test_profile_parsing():
    assert dv.parse_profile("") == {}
    assert dv.parse_profile("nofp64-wg256-lmem32") == {"fp64": 0, "fp16": 0, "wg": 256, "lmem": 32}
    assert dv.parse_profile("wg64-lmem16") == {"wg": 64, "lmem": 16}
    assert dv.parse_profile("small-alloc") == {"maxalloc": 64}
    assert dv.parse_profile(" nofp64 , nofp16,wg = 32,,maxalloc=2") == {"fp64": 0, "fp16": 0, "wg": 32, "maxalloc": 2}
    for bad, msg in [("bogus=1", "unknown key 'bogus'"), ("nofp32", "unknown item 'nofp32'"),
                     ("wg=abc", "wg needs an integer"), ("wg=0", "bad value wg=0"), ("lmem=-4", "bad value lmem=-4"),
                     ("fp64=2", "bad value fp64=2"), ("wg256", "unknown item")]:
        with pytest.raises(ValueError, match=msg):
            dv.parse_profile(bad)


def test_apply_profile_only_restricts():
    f = _fake_info()
    dv.apply_profile(f, "nofp64-wg256-lmem32")
    assert (f.fp64, f.fp16, f.max_work_group_size, f.local_mem_size, f.max_alloc) == (False, False, 256, 32 << 10,
                                                                                      1 << 30)
    assert f.vector_widths["double"] == 0 and f.vector_widths["half"] == 0 and f.vector_widths["float"] == 16
    assert f.profile == "fp64=0,fp16=0,wg=256,lmem=32"
    g = _fake_info(fp64=False, max_work_group_size=128, local_mem_size=8 << 10)
    dv.apply_profile(g, "fp64=1,wg=1024,lmem=64,maxalloc=8")      # never adds what the device lacks
    assert (g.fp64, g.max_work_group_size, g.local_mem_size, g.max_alloc) == (False, 128, 8 << 10, 8 << 20)
    h = _fake_info()
    dv.apply_profile(h, "")
    assert h.profile is None and h.max_work_group_size == 4096


def test_local_sizes_fit_the_work_group_limit():
    from cltensor import _gemm
    for wg in (1, 16, 48, 64, 100, 256):
        info = _fake_info(max_work_group_size=wg, local_mem_size=16 << 10, is_cpu=False)
        dv.apply_profile(info, f"wg={wg}")
        assert info.max_work_item_sizes == (wg,) * 3
        p = _gemm._fit_local(info, dict(tsm=64, tsn=64, tk=16, wm=4, wn=4))
        assert (p["tsn"] // p["wn"]) * (p["tsm"] // p["wm"]) <= wg
        assert (p["tsm"] + p["tsn"]) * p["tk"] * 8 <= info.local_mem_size
        l0, l1 = _gemm._fit_reg_lsize(info, (8, 16))
        assert l0 * l1 <= wg and l0 >= 1 and l1 >= 1
    narrow = _fake_info(max_work_group_size=256, max_work_item_sizes=(256, 4, 1), local_mem_size=32 << 10)
    p = _gemm._fit_local(narrow, dict(tsm=64, tsn=64, tk=16, wm=4, wn=4))
    assert p["tsm"] // p["wm"] <= 4 and p["tsn"] // p["wn"] <= 256
    assert _gemm._fit_reg_lsize(narrow, (8, 16)) == (8, 4)


def test_kernel_work_group_limit_shrinks_1d_launches():
    """A kernel whose own CL_KERNEL_WORK_GROUP_SIZE is below the runtime's local size launches with a smaller
    power-of-two local size (the kernel reports get_local_size(0) here)."""
    from cltensor import _ew
    rt = dv.runtime(ct.get_default_device())
    x = ct.zeros(1000)
    out = ct.empty(1000)
    expr = "(float)get_local_size(0) + x0"
    _ew.run(expr, out, [x], (ct.float32,), ct.float32)
    assert set(out.tolist()) == {float(rt.local_size)}
    kern = [v for k, v in _ew._kcache.items() if expr in k]
    assert len(kern) == 1
    from cltensor import _kernels as K
    try:
        K.set_wg_limit(kern[0], 4)
        _ew.run(expr, out, [x], (ct.float32,), ct.float32)
        assert set(out.tolist()) == {4.0}
    finally:
        K.set_wg_limit(kern[0], None)
    _ew.run(expr, out, [x], (ct.float32,), ct.float32)
    assert set(out.tolist()) == {float(rt.local_size)}


def test_non_float64_kernel_using_double_is_caught_without_fp64():
    from cltensor import _kernels as K
    assert K._uses_fp64("double2 z;") and K._uses_fp64("#pragma OPENCL EXTENSION cl_khr_fp64 : enable")
    assert not K._uses_fp64("/* double */ float doubled; // double\n")
    real = dv.runtime(ct.get_default_device())
    info = copy.copy(real.info)
    info.vector_widths = dict(info.vector_widths)
    dv.apply_profile(info, "nofp64")
    rt = copy.copy(real)
    rt.info, rt.kernels = info, {}
    kw = dict(out=ct.float32, ins=(ct.float32,), kinds=("t",), cdts=(ct.float32,), rdt=ct.float32, idx="int")
    with pytest.raises(K.KernelBuildError, match="uses double although none of its dtypes is float64"):
        K.get(rt, "elementwise", "flat", expr="(float)((double)x0 * 3)", **kw)
    K.get(rt, "elementwise", "flat", expr="x0 * 3", **kw)                  # float32 builds
    with pytest.raises(RuntimeError, match=r"does not support float64 \(no cl_khr_fp64\)"):
        K.get(rt, "elementwise", "flat", **dict(kw, out=ct.float64, ins=(ct.float64,), cdts=(ct.float64,),
                                                 rdt=ct.float64), expr="x0")


_PROFILE_SCRIPT = r"""
import numpy as np, pyopencl as cl
import cltensor as ct
from cltensor import _kernels as K, _gemm
local_sizes = []
_launch = K.launch
def launch(rt, kernel, g, l, args, *rest):
    local_sizes.append(l)
    return _launch(rt, kernel, g, l, args, *rest)
K.launch = launch
_enq = cl.enqueue_nd_range_kernel
def enq(queue, k, g, l, *a, **kw):
    local_sizes.append(l)
    return _enq(queue, k, g, l, *a, **kw)
cl.enqueue_nd_range_kernel = enq
dev = ct.get_default_device()
info = dict(ct.devices())[dev]
print("info", info["fp64"], info["max_work_group_size"], info["local_mem_size"], info["max_alloc"],
      info["vector_widths"]["double"], info["profile"])
for make in (lambda: ct.ones(3, dtype=ct.float64), lambda: ct.tensor([1.0, 2.0]).double(),
             lambda: ct.arange(4.0).to(ct.complex128), lambda: ct.arange(4.0).sum(dtype=ct.float64)):
    try:
        make()
        print("no error")
    except RuntimeError as e:
        print("fp64 error", "does not support float64 (no cl_khr_fp64)" in str(e))
rng = np.random.default_rng(0)
a = rng.standard_normal((67, 45)).astype(np.float32)
b = rng.standard_normal((45, 39)).astype(np.float32)
ta, tb = ct.tensor(a), ct.tensor(b)
checks = {
    "matmul": ((ta @ tb).cpu().numpy(), a @ b),
    "ew": ((ta.T * 2 + 1).exp().cpu().numpy(), np.exp(a.T * 2 + 1)),
    "sum": (ta.sum(1).cpu().numpy(), a.sum(1)),
    "softmax": (ta.softmax(-1).cpu().numpy(), np.exp(a) / np.exp(a).sum(-1, keepdims=True)),
    "cumsum": (ta.cumsum(0).cpu().numpy(), a.cumsum(0)),
    "sort": (ta.sort(1).values.cpu().numpy(), np.sort(a, 1)),
    "gather": (ta[ct.tensor([3, 0, 66])].cpu().numpy(), a[[3, 0, 66]]),
}
for name, (got, want) in checks.items():
    print(name, np.allclose(got, want, rtol=1e-4, atol=1e-4))
keep = ct.ones(1000)
try:
    ct.empty(1 << 19)
    print("no error")
except RuntimeError as e:
    print("oom", str(e).startswith(f"out of memory on device {dev}: tried to allocate 2097152 bytes"))
print("after oom", (keep + 1).sum().item())
lim = info["max_work_group_size"]
sizes = [int(np.prod(l)) for l in local_sizes if l is not None]
print("launches", len(sizes) > 10, "max local", max(sizes) <= lim, "no None", None not in local_sizes)
"""


@pytest.mark.parametrize("variant", ["local", "reg"])
def test_profile_in_subprocess(variant):
    """A harder device: no fp64, work-groups of 32, 16 KiB local memory, 1 MiB allocations. float64 raises the
    clear error, float32 ops are right, every launch respects the work-group limit, and an allocation above the
    limit raises PyTorch's out-of-memory message while earlier tensors stay usable."""
    env = dict(os.environ, CLTENSOR_DEVICE_PROFILE="fp64=0,wg=32,lmem=16,maxalloc=1",
               CLTENSOR_GEMM_VARIANT=variant, CLTENSOR_DEVICE=str(ct.get_default_device()))
    r = subprocess.run([sys.executable, "-c", _PROFILE_SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and "Exception ignored" not in r.stderr, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    assert lines[0] == "info False 32 16384 1048576 0 fp64=0,wg=32,lmem=16,maxalloc=1"
    assert lines[1:5] == ["fp64 error True"] * 4
    assert lines[5:12] == [f"{n} True" for n in ("matmul", "ew", "sum", "softmax", "cumsum", "sort", "gather")]
    assert lines[12:] == ["oom True", "after oom 2000.0", "launches True max local True no None True"]


def test_bad_profile_is_a_clear_error():
    env = dict(os.environ, CLTENSOR_DEVICE_PROFILE="wg=64,vram=3")
    r = subprocess.run([sys.executable, "-c", "import cltensor as ct; ct.ones(1)"], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode != 0 and "CLTENSOR_DEVICE_PROFILE: unknown key 'vram'" in r.stderr
