"""cltensor.save / cltensor.load: round trips of tensors (every dtype, views, 0-d, empty), nested containers,
module and optimizer state, file paths and file objects, map_location, the weights-only unpickler and the
earlier cltensor format. PyTorch interop of the format: tests/test_interop.py."""
import io
import json
import math
import pickle
import zipfile
from collections import OrderedDict, Counter

import numpy as np
import pytest

import cltensor as ct
import cltensor.nn as nn
import cltensor.optim as optim
from _host import has_cl_cpu, host
from cltensor import _serialization


def roundtrip(obj, **kw):
    buf = io.BytesIO()
    ct.save(obj, buf)
    buf.seek(0)
    return ct.load(buf, **kw)


DTYPES = [ct.float32, ct.float64, ct.float16, ct.int64, ct.int32, ct.int16, ct.int8, ct.uint8, ct.bool,
          ct.complex64, ct.complex128]


@pytest.mark.parametrize("dt", DTYPES, ids=str)
def test_tensor_dtypes(dt):
    a = (np.arange(24).reshape(2, 3, 4) * 3 - 20)
    if dt is ct.bool:
        a = a % 2 == 0
    t = ct.tensor(a, dtype=dt)
    if dt.is_complex:
        t = t * ct.tensor(1 + 2j, dtype=dt)
    r = roundtrip(t)
    assert isinstance(r, ct.Tensor) and r.dtype == dt and r.shape == t.shape
    np.testing.assert_array_equal(host(r), host(t))


def test_views_scalars_empty_and_requires_grad():
    base = ct.arange(20, dtype=ct.float32).reshape(4, 5)
    obj = {"t": base.t()[1:, ::2], "zero_d": ct.tensor(3.5), "empty": ct.zeros(0, 3),
           "rg": ct.ones(2, requires_grad=True), "same": base, "again": base}
    r = roundtrip(obj)
    np.testing.assert_array_equal(host(r["t"]), host(base.t()[1:, ::2]))
    assert r["zero_d"].shape == () and r["zero_d"].item() == 3.5
    assert r["empty"].shape == (0, 3)
    assert r["rg"].requires_grad and r["rg"].is_leaf
    assert r["same"] is r["again"]          # the same tensor object is stored once


def test_plain_values_and_containers():
    obj = {"int": 3, "big": 2 ** 70, "float": 1.5, "nan": float("nan"), "inf": -math.inf, "str": "héllo",
           "none": None, "bool": True, "list": [1, [2, 3]], "tuple": (1, (2.0, "x")), "bytes": b"\x00\x01",
           "cplx": 1 - 2j, 5: "int key", (1, 2): "tuple key", "set": {1, 2}, "dtype": ct.float16,
           "device": ct.device("cpu"), "size": ct.Size([2, 3]), "od": OrderedDict([("b", 1), ("a", 2)]),
           "counter": Counter([1, 1, 2])}
    r = roundtrip(obj)
    for k in ("int", "big", "float", "str", "none", "bool", "list", "tuple", "bytes", "cplx", 5, (1, 2), "set",
              "size"):
        assert r[k] == obj[k] and type(r[k]) is type(obj[k]), k
    assert math.isnan(r["nan"]) and r["inf"] == -math.inf
    assert r["dtype"] is ct.float16 and r["device"] == ct.device("cpu")
    # numpy values need weights_only=False (as in PyTorch)
    npobj = {"np": np.arange(6, dtype=np.int16).reshape(2, 3), "npscalar": np.float32(2.5)}
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        roundtrip(npobj)
    rn = roundtrip(npobj, weights_only=False)
    np.testing.assert_array_equal(rn["np"], npobj["np"])
    assert rn["np"].dtype == np.int16 and rn["npscalar"] == 2.5
    assert isinstance(r["od"], OrderedDict) and list(r["od"]) == ["b", "a"]
    assert isinstance(r["counter"], Counter) and r["counter"][1] == 2
    assert list(r.keys()) == list(obj.keys())


def test_arbitrary_objects_need_weights_only_false():
    buf = io.BytesIO()
    ct.save({"x": _Foo(3)}, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError, match="Unsupported global: GLOBAL test_serialization._Foo was not an "
                                                      "allowed global by default"):
        ct.load(buf)
    buf.seek(0)
    assert ct.load(buf, weights_only=False)["x"].v == 3
    buf.seek(0)
    with ct.serialization.safe_globals([_Foo]):
        assert _Foo in ct.serialization.get_safe_globals()
        assert ct.load(buf)["x"].v == 3
    assert _Foo not in ct.serialization.get_safe_globals()
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        ct.load(buf)
    ct.serialization.add_safe_globals([_Foo])
    try:
        buf.seek(0)
        assert ct.load(buf)["x"].v == 3
    finally:
        ct.serialization.clear_safe_globals()


class _Foo:
    def __init__(self, v):
        self.v = v


def test_reads_the_earlier_cltensor_format(tmp_path):
    path = tmp_path / "ck.pt"
    _serialization.save_cltensor_format({"w": ct.tensor([1.0, 2.0]), "n": 1}, path)
    with zipfile.ZipFile(path) as zf:
        header = json.loads(zf.read("cltensor.json"))
    assert header["format"] == "cltensor" and header["version"] == 1
    assert ct.load(str(path))["n"] == 1
    assert ct.load(path, weights_only=True)["w"].tolist() == [1.0, 2.0]
    # anything else that is neither a ZIP archive nor a PyTorch legacy file is rejected
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(RuntimeError, match="not a checkpoint"):
        ct.load(bad)


def test_module_and_optimizer_checkpoint(tmp_path):
    ct.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    o = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    x = ct.randn(4, 1, 4, 4)
    for _ in range(2):
        o.zero_grad()
        m(x).sum().backward()
        o.step()
    path = tmp_path / "model.ckpt"
    ct.save({"model": m.state_dict(), "opt": o.state_dict(), "epoch": 2}, path)
    ck = ct.load(path, map_location="cpu")
    assert isinstance(ck["model"], OrderedDict) and list(ck["model"]) == list(m.state_dict())
    assert ck["model"]["1.num_batches_tracked"].dtype == ct.int64
    assert ck["model"]._metadata[""]["version"] == 1
    ct.manual_seed(5)
    m2 = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    m2.load_state_dict(ck["model"])
    o2 = optim.SGD(m2.parameters(), lr=0.5, momentum=0.9)
    o2.load_state_dict(ck["opt"])
    m.eval()
    m2.eval()
    np.testing.assert_allclose(m(x).tolist(), m2(x).tolist(), rtol=1e-6)
    m.train()
    m2.train()
    for mm, oo in ((m, o), (m2, o2)):
        oo.zero_grad()
        mm(x).sum().backward()
        oo.step()
    for p1, p2 in zip(m.parameters(), m2.parameters()):
        np.testing.assert_allclose(p1.tolist(), p2.tolist(), rtol=1e-5, atol=1e-6)
    # a saved Parameter comes back as a Parameter
    r = roundtrip({"p": m.state_dict(keep_vars=True)["4.weight"]})
    assert isinstance(r["p"], nn.Parameter) and r["p"].requires_grad


def test_map_location_variants():
    t = ct.arange(3)
    for ml in ("cpu", ct.device("cpu"), {str(t.device): "cpu"}):
        r = roundtrip(t, map_location=ml)
        assert r.device == ct.device("cpu") and r.tolist() == [0, 1, 2]
    if has_cl_cpu():                     # the callable gets the tensor on the CPU and runs a kernel there
        r = roundtrip(t, map_location=lambda tensor, loc: tensor * 2)
        assert r.device == ct.device("cpu") and r.tolist() == [0, 2, 4]
    assert roundtrip(t, map_location=lambda tensor, loc: tensor.to(t.device)).device == t.device
