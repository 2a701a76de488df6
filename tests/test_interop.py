"""PyTorch interop: checkpoints both ways with real torch (every dtype, shared storages and views, 0-d and empty
tensors, Parameters, module and optimizer state_dicts, nested containers, map_location, mmap, the weights-only
unpickler, the legacy format), safetensors both ways, DLPack zero-copy with numpy and torch, and the
compatibility surfaces (backends, accelerator, matmul precision, determinism, pin_memory, Module.compile, cuda
memory statistics)."""
import io
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch

import cltensor as ct
import cltensor.nn as nn
import cltensor.optim as optim

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool", "complex64",
          "complex128"]


def values(name, shape=(2, 3, 4)):
    a = np.arange(int(np.prod(shape))).reshape(shape) * 3 - 20
    if name == "bool":
        return a % 2 == 0
    if name.startswith("complex"):
        return (a + 1j * (a[::-1] if a.ndim else a)).astype(name)
    if name == "uint8":
        return (a % 200).astype(np.uint8)
    return a.astype(name)


def to_torch(obj):
    buf = io.BytesIO()
    ct.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def from_torch(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return ct.load(buf, **kw)


def host(t):
    return t.detach().cpu().numpy()


# ---------------------------------------------------------------- checkpoints: cltensor -> torch

@pytest.mark.parametrize("name", DTYPES)
def test_save_every_dtype_loads_in_torch(name):
    a = values(name)
    base = ct.tensor(a)
    obj = {"t": base, "view": base.transpose(0, 2)[1:, ::2], "zero_d": ct.tensor(a.reshape(-1)[5]),
           "empty": ct.tensor(a[:0])}
    r = to_torch(obj)
    assert str(r["t"].dtype) == f"torch.{name}"
    np.testing.assert_array_equal(r["t"].numpy(), a)
    v = r["view"]
    np.testing.assert_array_equal(v.numpy(), a.transpose(2, 1, 0)[1:, ::2])
    assert v.stride() == obj["view"].stride() and v.storage_offset() == obj["view"].storage_offset()
    assert v.untyped_storage().data_ptr() == r["t"].untyped_storage().data_ptr()   # shared, as saved
    assert r["zero_d"].shape == () and r["zero_d"].item() == a.reshape(-1)[5]
    assert r["empty"].shape == (0, 3, 4)


def test_save_containers_parameters_and_plain_values_load_in_torch():
    sd = OrderedDict([("w", ct.ones(2, 2)), ("b", ct.zeros(2))])
    sd._metadata = {"": {"version": 1}}
    obj = {"sd": sd, "p": nn.Parameter(ct.arange(3.0)), "frozen": nn.Parameter(ct.ones(1), requires_grad=False),
           "rg": ct.ones(2, requires_grad=True), "nested": [1, (2.5, "s", None), {"k": [ct.tensor([7])]}],
           "dtype": ct.float16, "device": ct.device("cpu"), "size": ct.Size([2, 3]), "bytes": b"\x00\xff",
           "set": {1, 2}, "cplx": 1 - 2j, 3: "int key"}
    r = to_torch(obj)
    assert isinstance(r["sd"], OrderedDict) and list(r["sd"]) == ["w", "b"] and r["sd"]._metadata == sd._metadata
    assert type(r["p"]) is torch.nn.Parameter and r["p"].requires_grad and r["p"].tolist() == [0.0, 1.0, 2.0]
    assert type(r["frozen"]) is torch.nn.Parameter and not r["frozen"].requires_grad
    assert r["rg"].requires_grad and r["rg"].is_leaf
    assert r["nested"][:2] == [1, (2.5, "s", None)] and r["nested"][2]["k"][0].tolist() == [7]
    assert r["dtype"] is torch.float16 and r["device"] == torch.device("cpu") and r["size"] == torch.Size([2, 3])
    assert r["bytes"] == b"\x00\xff" and r["set"] == {1, 2} and r["cplx"] == 1 - 2j and r[3] == "int key"


def test_archive_layout(tmp_path):
    import zipfile
    p = tmp_path / "x.pt"
    base = ct.ones(3)
    ct.save({"a": base, "b": base[1:]}, p)
    with zipfile.ZipFile(p) as zf:
        names = zf.namelist()
        assert names[0] == "archive/data.pkl"
        for n in ("archive/byteorder", "archive/version", "archive/.format_version", "archive/.storage_alignment",
                  "archive/.data/serialization_id", "archive/data/0"):
            assert n in names
        assert "archive/data/1" not in names          # one storage for the tensor and its view
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        info = zf.getinfo("archive/data/0")
    raw = p.read_bytes()
    hdr = raw[info.header_offset:info.header_offset + 30]
    start = info.header_offset + 30 + int.from_bytes(hdr[26:28], "little") + int.from_bytes(hdr[28:30], "little")
    assert start % 64 == 0 and np.frombuffer(raw[start:start + 12], "<f4").tolist() == [1.0, 1.0, 1.0]
    assert torch.load(p, mmap=True)["b"].tolist() == [1.0, 1.0]


def test_mixed_dtype_views_of_one_storage_are_refused():
    a = ct.zeros(4, dtype=ct.int32)
    with pytest.raises(RuntimeError, match="view the same data as different types"):
        ct.save([a, a.view(ct.float32)], io.BytesIO())


# ---------------------------------------------------------------- checkpoints: torch -> cltensor

@pytest.mark.parametrize("name", DTYPES)
def test_load_every_dtype_from_torch(name):
    a = values(name)
    base = torch.from_numpy(a.copy())
    obj = {"t": base, "view": base.permute(2, 0, 1)[1:, :, 1::2], "zero_d": torch.tensor(a.reshape(-1)[3]),
           "empty": base[:, :0]}
    r = from_torch(obj)
    assert r["t"].dtype.name == name
    np.testing.assert_array_equal(host(r["t"]), a)
    v = r["view"]
    np.testing.assert_array_equal(host(v), a.transpose(2, 0, 1)[1:, :, 1::2])
    assert v.stride() == obj["view"].stride() and v.storage_offset() == obj["view"].storage_offset()
    assert v.untyped_storage() is r["t"].untyped_storage()
    assert r["zero_d"].shape == () and r["zero_d"].item() == a.reshape(-1)[3]
    assert r["empty"].shape == (2, 0, 4)


def test_load_bfloat16_as_bfloat16():
    t = torch.tensor([1.5, -2.25, 3.0e38, 1e-30], dtype=torch.bfloat16)
    r = from_torch({"t": t, "v": t[1:], "dt": torch.bfloat16})
    assert r["t"].dtype == ct.bfloat16 and r["dt"] is ct.bfloat16
    np.testing.assert_array_equal(host(r["t"].float()), t.float().numpy())
    assert r["v"].untyped_storage() is r["t"].untyped_storage() and r["v"].storage_offset() == 1


def test_load_unsupported_dtype_is_a_clear_error():
    for dt in (torch.uint16, torch.uint32, torch.float8_e4m3fn):
        with pytest.raises(RuntimeError, match="has no cltensor dtype|not supported"):
            from_torch(torch.ones(2, dtype=dt))


def test_load_parameters_grad_flags_and_containers():
    obj = {"p": torch.nn.Parameter(torch.ones(2)), "f": torch.nn.Parameter(torch.ones(1), requires_grad=False),
           "rg": torch.ones(2, requires_grad=True), "n": [1, (2, {"x": torch.arange(3)})], "dt": torch.int16,
           "dev": torch.device("cpu"), "sz": torch.Size([4]), "od": OrderedDict(a=1), "b": b"ab", "s": {3},
           "c": 2 + 1j}
    r = from_torch(obj)
    assert type(r["p"]) is nn.Parameter and r["p"].requires_grad
    assert type(r["f"]) is nn.Parameter and not r["f"].requires_grad
    assert r["rg"].requires_grad and r["rg"].is_leaf
    assert r["n"][0] == 1 and r["n"][1][1]["x"].tolist() == [0, 1, 2]
    assert r["dt"] is ct.int16 and r["dev"] == ct.device("cpu") and r["sz"] == ct.Size([4])
    assert type(r["sz"]) is ct.Size and type(r["od"]) is OrderedDict
    assert r["b"] == b"ab" and r["s"] == {3} and r["c"] == 2 + 1j


def test_legacy_format_from_torch():
    base = torch.arange(12.0).reshape(3, 4)
    buf = io.BytesIO()
    torch.save({"a": base, "v": base.t()[1:], "i": torch.arange(3)}, buf, _use_new_zipfile_serialization=False)
    buf.seek(0)
    r = ct.load(buf)
    np.testing.assert_array_equal(host(r["v"]), base.t()[1:].numpy())
    assert r["v"].untyped_storage() is r["a"].untyped_storage() and r["i"].dtype == ct.int64


def test_map_location_forms(tmp_path):
    base = torch.arange(4.0)
    obj = {"a": base, "b": base[1:]}
    for ml in (None, "cpu", ct.device("cpu"), torch.device("cpu"), {"cpu": "cpu"}):
        ml = str(ml) if isinstance(ml, torch.device) else ml
        r = from_torch(obj, map_location=ml)
        assert r["b"].device == ct.device("cpu") and r["b"].tolist() == [1.0, 2.0, 3.0]
    seen = []

    def fn(storage, location):
        seen.append(location)
        return storage * 10

    r = from_torch(obj, map_location=fn)
    assert seen == ["cpu"] and r["b"].tolist() == [10.0, 20.0, 30.0]
    assert r["b"].untyped_storage() is r["a"].untyped_storage()
    r = from_torch(obj, map_location=lambda s, loc: None)       # None: the default location
    assert r["a"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_cuda_location_maps_to_gpu_or_fails_clearly(monkeypatch):
    buf = io.BytesIO()
    monkeypatch.setattr(ct.serialization, "_location", lambda device: "cuda:0")   # as a CUDA checkpoint
    ct.save(ct.ones(2), buf)
    monkeypatch.undo()
    raw = buf.getvalue()
    assert torch.load(io.BytesIO(raw), map_location="cpu").tolist() == [1.0, 1.0]
    if ct.cuda.is_available():
        assert ct.load(io.BytesIO(raw)).device == ct.device("gpu:0")
    else:
        with pytest.raises(RuntimeError, match="map_location='cpu'"):
            ct.load(io.BytesIO(raw))
    assert ct.load(io.BytesIO(raw), map_location="cpu").tolist() == [1.0, 1.0]
    assert ct.load(io.BytesIO(raw), map_location={"cuda:0": "cpu"}).device == ct.device("cpu")


def test_gpu_tensors_save_with_cuda_locations():
    if not ct.cuda.is_available():
        pytest.skip("needs an OpenCL GPU (run under oclgrind)")
    g = ct.arange(6, dtype=ct.float32, device="gpu").reshape(2, 3)
    buf = io.BytesIO()
    ct.save({"g": g, "v": g[:, 1:]}, buf)
    buf.seek(0)
    r = torch.load(buf, map_location="cpu", weights_only=True)
    assert r["v"].tolist() == [[1.0, 2.0], [4.0, 5.0]] and r["v"].storage_offset() == 1
    buf.seek(0)
    back = ct.load(buf)
    assert back["g"].device == ct.device("gpu:0") and back["v"].untyped_storage() is back["g"].untyped_storage()
    assert host(back["v"]).tolist() == [[1.0, 2.0], [4.0, 5.0]]


def test_mmap_shares_the_file_pages(tmp_path):
    p = tmp_path / "m.pt"
    base = torch.arange(10.0)
    torch.save({"a": base, "v": base[2::3], "i": torch.arange(5)}, p)
    r = ct.load(p, mmap=True)
    assert r["v"].tolist() == [2.0, 5.0, 8.0] and r["i"].tolist() == [0, 1, 2, 3, 4]
    assert isinstance(r["a"].untyped_storage()._owner, np.memmap)
    r["a"].add_(1)                               # copy-on-write: the file is unchanged
    assert torch.load(p)["a"].tolist() == base.tolist()
    with pytest.raises(ValueError, match="file path"):
        ct.load(io.BytesIO(p.read_bytes()), mmap=True)


def test_weights_only_refuses_code_with_torchs_message():
    class Evil:
        def __reduce__(self):
            return (print, ("executed",))
    buf = io.BytesIO()
    torch.save({"x": Evil()}, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError) as e:
        ct.load(buf)
    assert "Weights only load failed" in str(e.value)
    assert "Unsupported global: GLOBAL builtins.print was not an allowed global by default" in str(e.value)
    assert "add_safe_globals([builtins.print])" in str(e.value)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        ct.load(buf, weights_only=None)
    buf.seek(0)
    assert ct.serialization.get_unsafe_globals_in_checkpoint(buf) == ["builtins.print"]
    clean = io.BytesIO()
    torch.save({"m": torch.nn.Linear(2, 2).state_dict(), "b": b"x", "s": {1}}, clean)
    clean.seek(0)
    assert ct.serialization.get_unsafe_globals_in_checkpoint(clean) == []


def test_module_state_dict_both_ways():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.ReLU(),
                             torch.nn.Flatten(), torch.nn.Linear(8, 3))
    tm.train()
    tm(torch.randn(4, 1, 4, 4))          # moves the running statistics
    cm = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    sd = from_torch(tm.state_dict())
    assert isinstance(sd, OrderedDict) and list(sd) == list(tm.state_dict())
    assert sd["1.num_batches_tracked"].dtype == ct.int64
    cm.load_state_dict(sd)
    tm.eval()
    cm.eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(host(cm(ct.tensor(x))), tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    # and back: a cltensor state_dict loads into the torch model
    for p in cm.parameters():
        p.data = p.data * 2
    tm.load_state_dict(to_torch(cm.state_dict()))
    np.testing.assert_allclose(tm(torch.from_numpy(x)).detach().numpy(), host(cm(ct.tensor(x))), rtol=1e-5,
                               atol=1e-6)


def test_optimizer_state_dict_both_ways():
    torch.manual_seed(0)
    w0 = np.random.default_rng(1).standard_normal((3, 2)).astype(np.float32)
    tw = torch.nn.Parameter(torch.from_numpy(w0.copy()))
    to = torch.optim.Adam([tw], lr=0.1)
    cw = nn.Parameter(ct.tensor(w0))
    co = optim.Adam([cw], lr=0.1)
    for _ in range(2):
        to.zero_grad()
        (tw ** 2).sum().backward()
        to.step()
    co.load_state_dict(from_torch(to.state_dict()))
    cw.data = ct.tensor(tw.detach().numpy())
    for _ in range(2):
        to.zero_grad()
        (tw ** 2).sum().backward()
        to.step()
        co.zero_grad()
        (cw ** 2).sum().backward()
        co.step()
    np.testing.assert_allclose(host(cw), tw.detach().numpy(), rtol=1e-5, atol=1e-6)
    # cltensor's optimizer state loads into torch's
    to2 = torch.optim.Adam([torch.nn.Parameter(torch.from_numpy(host(cw).copy()))], lr=0.1)
    to2.load_state_dict(to_torch(co.state_dict()))
    assert to2.state_dict()["param_groups"][0]["lr"] == 0.1
    np.testing.assert_allclose(to2.state_dict()["state"][0]["exp_avg"].numpy(),
                               to.state_dict()["state"][0]["exp_avg"].numpy(), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- safetensors

def test_safetensors_from_torch(tmp_path):
    stt = pytest.importorskip("safetensors.torch")
    from cltensor.utils import safetensors as cst
    p = tmp_path / "t.safetensors"
    src = {n: torch.from_numpy(values(n, (2, 3)).copy()) for n in DTYPES if n != "complex128"}   # no C128
    src["zero_d"] = torch.tensor(2.5)
    src["empty"] = torch.zeros(0, 2)
    stt.save_file(src, str(p), metadata={"format": "pt"})
    r = cst.load_file(p)
    assert list(r) == list(stt.load_file(str(p)))
    for k, v in src.items():
        assert r[k].shape == tuple(v.shape) and r[k].dtype.name == str(v.dtype)[6:], k
        np.testing.assert_array_equal(host(r[k]), v.numpy())
    with cst.safe_open(p, framework="pt") as f:
        assert set(f.keys()) == set(src) and f.metadata() == {"format": "pt"}
        assert f.get_tensor("int16").tolist() == src["int16"].tolist()
        sl = f.get_slice("float32")
        assert sl.get_shape() == [2, 3] and sl.get_dtype() == "F32"
        np.testing.assert_array_equal(host(sl[1:, ::2]), src["float32"][1:, ::2].numpy())
    with cst.safe_open(p, framework="numpy") as f:
        assert isinstance(f.get_tensor("float64"), np.ndarray)
    r2 = cst.load(p.read_bytes())
    np.testing.assert_array_equal(host(r2["complex64"]), src["complex64"].numpy())


def test_safetensors_bfloat16_and_to_torch(tmp_path):
    stt = pytest.importorskip("safetensors.torch")
    from cltensor.utils import safetensors as cst
    p = tmp_path / "b.safetensors"
    bf = torch.tensor([[1.5, -2.0], [3.0e38, 0.25]], dtype=torch.bfloat16)
    stt.save_file({"bf": bf}, str(p))
    r = cst.load_file(p)
    np.testing.assert_array_equal(host(r["bf"].float()), bf.float().numpy())
    assert cst.load(p.read_bytes())["bf"].dtype == ct.bfloat16
    # cltensor -> safetensors.torch (views are written as their values)
    base = ct.arange(12, dtype=ct.float32).reshape(3, 4)
    q = tmp_path / "c.safetensors"
    cst.save_file({"v": base.t()[1:], "i": ct.tensor([1, 2], dtype=ct.int8), "z": ct.tensor(True)}, q,
                  metadata={"k": "v"})
    t = stt.load_file(str(q))
    np.testing.assert_array_equal(t["v"].numpy(), host(base.t()[1:]))
    assert t["i"].dtype == torch.int8 and t["z"].shape == () and t["z"].item() is True
    assert stt.load(cst.save({"x": ct.ones(2)}))["x"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="expected cltensor.Tensor"):
        cst.save({"x": np.ones(2)})


def test_safetensors_missing_package_message(monkeypatch):
    import builtins
    from cltensor.utils import safetensors as cst
    real = builtins.__import__

    def fake(name, *a, **k):
        if name.startswith("safetensors"):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match="pip install safetensors"):
        cst.save({"x": ct.ones(1)})


# ---------------------------------------------------------------- DLPack

def test_dlpack_to_numpy_and_torch_shares_memory():
    base = ct.arange(12, dtype=ct.float32, device="cpu").reshape(3, 4)
    t = base.t()[1:]
    assert t.__dlpack_device__() == (1, 0)
    a = np.from_dlpack(t)
    np.testing.assert_array_equal(a, host(t))
    assert a.strides == (4, 16)
    a[0, 0] = 100.0
    assert t[0, 0].item() == 100.0
    tt = torch.from_dlpack(t)
    assert tt.stride() == (1, 4) and tt.tolist() == t.tolist()
    tt[0, 1] = -5.0
    assert base[1, 1].item() == -5.0
    base.mul_(2)                                     # a write through cltensor is seen by both consumers
    assert a[0, 1] == -10.0 and tt[0, 1].item() == -10.0
    capsule = ct.utils.dlpack.to_dlpack(base)
    assert torch.utils.dlpack.from_dlpack(capsule).data_ptr() == tt.data_ptr() - 4     # tt starts one element in


def test_dlpack_from_numpy_and_torch_shares_memory():
    x = torch.arange(10.0)[2::2]
    c = ct.from_dlpack(x)
    assert c.stride() == (2,) and c.tolist() == [2.0, 4.0, 6.0, 8.0]
    c.add_(1)
    assert x.tolist() == [3.0, 5.0, 7.0, 9.0]
    x[0] = 0.0
    assert c[0].item() == 0.0
    n = np.arange(6).reshape(2, 3)[:, 1:]
    c = ct.utils.dlpack.from_dlpack(n)
    n[0, 0] = 77
    assert c.tolist() == [[77, 2], [4, 5]]
    c2 = ct.from_dlpack(torch.utils.dlpack.to_dlpack(torch.ones(2, 2)))     # a bare (legacy) capsule
    assert c2.tolist() == [[1.0, 1.0], [1.0, 1.0]]


@pytest.mark.parametrize("name", DTYPES)
def test_dlpack_dtypes_both_ways(name):
    a = values(name, (3, 2))
    t = ct.tensor(a, device="cpu")
    tt = torch.from_dlpack(t)
    assert str(tt.dtype) == f"torch.{name}"
    np.testing.assert_array_equal(tt.numpy(), a)
    assert np.from_dlpack(t).dtype == a.dtype
    back = ct.from_dlpack(torch.from_numpy(a.copy()))
    assert back.dtype.name == name
    np.testing.assert_array_equal(host(back), a)


def test_dlpack_edge_cases_and_errors():
    import gc
    assert np.from_dlpack(ct.zeros(0, 2, device="cpu")).shape == (0, 2)
    assert np.from_dlpack(ct.tensor(2.5, device="cpu")).shape == ()
    assert ct.from_dlpack(torch.zeros(3, 0)).shape == (3, 0)
    with pytest.raises(RuntimeError, match="require gradient"):
        ct.ones(2, requires_grad=True).__dlpack__()
    t = ct.ones(2, device="cpu")
    with pytest.raises(BufferError):
        t.__dlpack__(dl_device=(4, 0))
    copied = torch.from_dlpack(t.__dlpack__(max_version=(1, 0), copy=True))
    copied[0] = 5.0
    assert t.tolist() == [1.0, 1.0]
    # versioned capsules only when the consumer allows them
    assert "dltensor_versioned" in repr(t.__dlpack__(max_version=(1, 0)))
    assert '"dltensor"' in repr(t.__dlpack__())
    # unconsumed capsules and consumed ones release the exporter's reference
    gc.collect()
    live = len(ct.utils.dlpack._LIVE)
    cap = t.__dlpack__()
    del cap
    a = np.from_dlpack(t)
    del a
    gc.collect()
    assert len(ct.utils.dlpack._LIVE) == live
    # a read-only producer: shared, with the read-only warning of from_numpy
    r = np.arange(3.0)
    r.flags.writeable = False
    with pytest.warns(UserWarning, match="read-only"):
        c = ct.from_dlpack(r)
    assert c.tolist() == [0.0, 1.0, 2.0]


def test_dlpack_device_tensors_export_only_a_host_copy():
    if not ct.cuda.is_available():
        pytest.skip("needs an OpenCL GPU (run under oclgrind)")
    g = ct.arange(4, dtype=ct.float32, device="gpu")[1:]
    assert g.__dlpack_device__() == (4, 0)                     # kDLOpenCL
    with pytest.raises(BufferError, match="not in host memory"):
        g.__dlpack__()
    with pytest.raises(BufferError):
        g.__dlpack__(dl_device=(1, 0), copy=False)
    a = np.from_dlpack(g, device="cpu", copy=True)
    assert a.tolist() == [1.0, 2.0, 3.0]
    assert torch.from_dlpack(g.__dlpack__(max_version=(1, 0), dl_device=(1, 0))).tolist() == [1.0, 2.0, 3.0]
    assert not hasattr(g, "__array_interface__")
    assert np.asarray(g).tolist() == [1.0, 2.0, 3.0]           # through __array__ (a copy)


def test_array_interface_on_cpu_tensors():
    t = ct.arange(6, dtype=ct.int32, device="cpu").reshape(2, 3)[:, 1:]
    ai = t.__array_interface__
    assert ai["shape"] == (2, 2) and ai["strides"] == (12, 4) and ai["typestr"] == "<i4"
    a = np.asarray(t)
    a[1, 1] = 50
    assert t[1, 1].item() == 50
    assert not hasattr(ct.ones(1, requires_grad=True), "__array_interface__")


def test_pin_memory_is_a_documented_noop():
    t = ct.ones(3)
    assert t.pin_memory() is t and not t.is_pinned()


# ---------------------------------------------------------------- compatibility surfaces

def test_backends_flags():
    b = ct.backends
    saved = ct.get_float32_matmul_precision()
    try:
        assert not b.cudnn.is_available() and not b.mps.is_available() and not b.mps.is_built()
        b.cudnn.benchmark = True
        b.cudnn.deterministic = True
        b.cudnn.allow_tf32 = False
        assert b.cudnn.benchmark and b.cudnn.enabled
        b.cuda.matmul.allow_tf32 = True
        assert ct.get_float32_matmul_precision() == "high"
        ct.set_float32_matmul_precision("highest")
        assert b.cuda.matmul.allow_tf32 is False
        ct.set_float32_matmul_precision("medium")
        assert ct.get_float32_matmul_precision() == "medium" and b.cuda.matmul.allow_tf32
        with pytest.warns(UserWarning, match="is not one of"):
            ct.set_float32_matmul_precision("fast")
        assert ct.get_float32_matmul_precision() == "medium"
        b.cuda.matmul.allow_fp16_reduced_precision_reduction = False
        assert b.cuda.matmul.allow_fp16_reduced_precision_reduction is False
        with pytest.raises(AttributeError, match="Unknown attribute"):
            b.cuda.matmul.allow_everything = True
        assert b.opt_einsum.is_available() in (True, False) and b.opt_einsum.enabled == b.opt_einsum.is_available()
        x = ct.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))
        assert (x @ x.t()).tolist() == [[5.0, 14.0], [14.0, 50.0]]    # no effect on results
    finally:
        ct.set_float32_matmul_precision(saved)
        b.cudnn.benchmark, b.cudnn.deterministic, b.cudnn.allow_tf32 = False, False, True
        b.cuda.matmul.allow_fp16_reduced_precision_reduction = True


def test_deterministic_algorithms():
    assert not ct.are_deterministic_algorithms_enabled()
    try:
        ct.use_deterministic_algorithms(True, warn_only=True)
        assert ct.are_deterministic_algorithms_enabled() and ct.is_deterministic_algorithms_warn_only_enabled()
        with pytest.raises(TypeError):
            ct.use_deterministic_algorithms("yes")
    finally:
        ct.use_deterministic_algorithms(False)
    assert not ct.is_deterministic_algorithms_warn_only_enabled()


def test_accelerator_matches_cuda_namespace():
    acc = ct.accelerator
    assert acc.is_available() == ct.cuda.is_available()
    assert acc.device_count() == ct.cuda.device_count()
    if acc.is_available():
        assert acc.current_accelerator() == ct.device("gpu")
        assert acc.current_device_index() == 0
        acc.set_device_index(0)
        acc.synchronize()
        with pytest.raises(RuntimeError):
            acc.set_device_index(acc.device_count())
    else:
        assert acc.current_accelerator() is None
        for f in (acc.current_device_index, acc.synchronize, lambda: acc.set_device_index(0)):
            with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available"):
                f()


def test_cuda_memory_statistics():
    cu = ct.cuda
    if not cu.is_available():
        assert cu.memory_allocated() == cu.max_memory_allocated() == cu.memory_reserved() == 0
        assert cu.max_memory_reserved() == 0 and cu.memory_stats() == {}
        cu.reset_peak_memory_stats()
        cu.empty_cache()
        with pytest.raises(RuntimeError):
            cu.mem_get_info()
        return
    cu.empty_cache()
    cu.reset_peak_memory_stats()
    before = cu.memory_allocated()
    x = ct.ones(1 << 16, device="gpu")
    assert cu.memory_allocated() >= before + (1 << 18)
    st = cu.memory_stats()
    assert st["allocated_bytes.all.current"] == cu.memory_allocated()
    assert st["reserved_bytes.all.peak"] >= st["reserved_bytes.all.current"] >= st["allocated_bytes.all.current"]
    free, total = cu.mem_get_info()
    assert 0 <= free <= total
    peak = cu.max_memory_allocated()
    del x
    assert cu.memory_allocated() == before and cu.max_memory_allocated() == peak
    assert cu.memory_reserved() >= before + (1 << 18)
    cu.empty_cache()
    assert cu.memory_reserved() == before and cu.max_memory_reserved() >= before + (1 << 18)
    cu.reset_peak_memory_stats()
    assert cu.max_memory_allocated() == before and cu.max_memory_reserved() == before


def test_module_compile_runs_the_compiled_forward():
    ct.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = ct.randn(5, 3)
    ref = host(m(x))
    assert m.compile() is None
    assert type(m.forward).__name__ == "Compiled"
    np.testing.assert_allclose(host(m(x)), ref, rtol=1e-6)
    assert list(m.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    m(x).sum().backward()
    assert m[0].weight.grad is not None
