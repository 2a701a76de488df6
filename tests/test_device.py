"""Devices: names and parsing, the CPU device, movement with .to()/.cpu(), the memory pool, the cuda namespace;
GPU-only checks run when an OpenCL GPU is present."""
import gc
import pickle

import numpy as np
import pytest

import cltensor as ct
from cltensor import _device as dv

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
        assert ct.ones(2).device == "cpu" and ct.get_default_device() == "cpu"
    finally:
        ct.set_default_device(d0)
    assert ct.get_default_device() == d0


def test_cpu_tensor_device_attributes_and_moves():
    t = ct.arange(6.0).view(2, 3)
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
    rt = dv.runtime(ct.device("cpu"))
    ct.synchronize()
    ct.synchronize("cpu")
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


def test_numpy_view_keeps_pooled_memory_alive():
    a = ct.arange(5.0).numpy()           # the tensor dies here; its memory must not return to the pool
    gc.collect()
    b = [ct.full((5,), 7.0) for _ in range(4)]
    ct.synchronize()
    np.testing.assert_array_equal(a, np.arange(5.0))
    assert b[0].tolist() == [7.0] * 5


# ---------------------------------------------------------------- GPU (run where an OpenCL GPU exists)

@gpu_only
def test_gpu_roundtrip_and_ops():
    a = np.random.randn(33, 17).astype(np.float32)
    g = ct.tensor(a, device="cuda")
    assert g.device.type == "gpu" and g.is_cuda
    np.testing.assert_array_equal(g.cpu().numpy(), a)
    np.testing.assert_allclose((g.T * 2 + 1).exp().cpu().numpy(), np.exp(a.T * 2 + 1), rtol=1e-5)
    assert g.to("cpu").device == "cpu" and g.tolist() == a.tolist()
    assert g[3, 4].item() == a[3, 4]
    with pytest.raises(TypeError):
        g.numpy()
    with pytest.raises(RuntimeError, match="same device"):
        g + ct.tensor(a)
    assert (g + ct.tensor(2.0)).device.type == "gpu"          # a 0-d CPU tensor acts as a scalar
    assert "device='gpu:0'" in repr(ct.ones(2, device="gpu"))
    assert ct.cuda.memory_allocated() > 0
