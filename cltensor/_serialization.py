"""cltensor's own checkpoint format (version 1), written by cltensor.save before it wrote PyTorch's format.

`cltensor.load` (cltensor/serialization.py) still reads these files: `load_cltensor_format` below is called for
a ZIP archive holding ``cltensor.json``; `save_cltensor_format` writes one.

Format (version 1)
------------------
A ZIP archive (entries stored uncompressed) holding:

* ``cltensor.json`` - UTF-8 JSON: ``{"format": "cltensor", "version": 1, "object": <value>}`` where ``<value>`` is
  the saved object encoded as:

  ==========================  ===========================================================================
  Python value                JSON encoding
  ==========================  ===========================================================================
  None, bool, int, str        the JSON value itself
  float                       a JSON number; NaN/inf as ``{"$float": "nan" | "inf" | "-inf"}``
  complex                     ``{"$complex": [re, im]}``
  list                        a JSON array
  tuple / cltensor.Size       ``{"$tuple": [...]}`` / ``{"$size": [...]}``
  dict, OrderedDict, Counter  ``{"$dict": [[key, value], ...], "kind": "dict" | "OrderedDict" | "Counter"}``
                              (keys may be any encodable value; insertion order is kept; an OrderedDict's
                              ``_metadata`` attribute, as state_dict() adds, is stored under ``"metadata"``)
  set / frozenset             ``{"$set": [...], "frozen": bool}``
  bytes                       ``{"$bytes": "<base64>"}``
  cltensor.dtype / device     ``{"$dtype": "float32"}`` / ``{"$device": "cpu"}``
  Tensor / nn.Parameter       ``{"$tensor": "tensors/<n>", "dtype": "float32", "shape": [...], "device": "cpu",
                              "requires_grad": bool, "parameter": bool}``
  numpy array / scalar        ``{"$ndarray": "tensors/<n>", "dtype": "<numpy dtype str>", "shape": [...]}`` /
                              the equivalent Python scalar
  ==========================  ===========================================================================

* ``tensors/<n>`` - the raw bytes of tensor n: its elements in C (row-major) order, little-endian, with the
  dtype's natural width (bool as one byte 0/1, float16 as IEEE half, complex as (re, im) pairs).

Anything else (arbitrary classes, functions) is refused at save time with a TypeError, so loading only ever
builds the plain values above: ``weights_only`` is accepted for PyTorch compatibility and always holds.
The same Tensor object saved twice is stored once; distinct views of one storage are stored separately.
"""
import base64
import io
import json
import math
import os
import zipfile
from collections import OrderedDict, Counter

import numpy as np

from . import _dtypes as D
from . import _device as dv
from . import _creation
from ._tensor import Tensor, Size

FORMAT = "cltensor"
VERSION = 1
_HEADER = "cltensor.json"


class _Writer:
    def __init__(self, zf):
        self.zf = zf
        self.n = 0
        self.seen = {}

    def blob(self, arr):
        name = f"tensors/{self.n}"
        self.n += 1
        a = np.ascontiguousarray(arr)
        if a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and not _little()):
            a = a.astype(a.dtype.newbyteorder("<"))
        self.zf.writestr(name, a.tobytes(order="C"))
        return name

    def enc(self, v):
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            return v
        if isinstance(v, float):
            if math.isnan(v):
                return {"$float": "nan"}
            if math.isinf(v):
                return {"$float": "inf" if v > 0 else "-inf"}
            return v
        if isinstance(v, complex):
            return {"$complex": [self.enc(v.real), self.enc(v.imag)]}
        if isinstance(v, Tensor):
            key = id(v)
            if key in self.seen:
                return self.seen[key]
            from .nn.parameter import Parameter
            arr = v.detach()._to_numpy_copy()
            r = {"$tensor": self.blob(arr), "dtype": v._dtype.name, "shape": list(v._shape),
                 "device": str(v._device), "requires_grad": bool(v.requires_grad),
                 "parameter": isinstance(v, Parameter)}
            self.seen[key] = r
            return r
        if isinstance(v, np.ndarray):
            if v.dtype.kind not in "biufc":
                raise TypeError(f"cltensor.save: numpy arrays of dtype {v.dtype} are not supported")
            return {"$ndarray": self.blob(v), "dtype": v.dtype.newbyteorder("<").str if v.dtype.itemsize > 1 else
                    v.dtype.str, "shape": list(v.shape)}
        if isinstance(v, np.generic):
            return self.enc(v.item())
        if isinstance(v, D.dtype):
            return {"$dtype": v.name}
        if isinstance(v, dv.device):
            return {"$device": str(v)}
        if isinstance(v, Size):
            return {"$size": [int(s) for s in v]}
        if isinstance(v, tuple) and not hasattr(v, "_fields"):
            return {"$tuple": [self.enc(x) for x in v]}
        if isinstance(v, list):
            return [self.enc(x) for x in v]
        if isinstance(v, (bytes, bytearray)):
            return {"$bytes": base64.b64encode(bytes(v)).decode("ascii")}
        if isinstance(v, (set, frozenset)):
            return {"$set": [self.enc(x) for x in v], "frozen": isinstance(v, frozenset)}
        if type(v) in (dict, OrderedDict, Counter) or (isinstance(v, dict) and type(v).__name__ == "defaultdict"):
            kind = "OrderedDict" if isinstance(v, OrderedDict) else "Counter" if isinstance(v, Counter) else "dict"
            r = {"$dict": [[self.enc(k), self.enc(x)] for k, x in v.items()], "kind": kind}
            md = getattr(v, "_metadata", None)
            if md is not None:
                r["metadata"] = self.enc(md)
            return r
        if isinstance(v, tuple):   # namedtuple
            return {"$tuple": [self.enc(x) for x in v]}
        raise TypeError(f"cltensor.save: cannot save an object of type {type(v).__module__}.{type(v).__qualname__} "
                        "(supported: tensors, numbers, strings, bytes, None, lists, tuples, dicts, sets, numpy "
                        "arrays, dtypes and devices)")


def _little():
    import sys
    return sys.byteorder == "little"


def save_cltensor_format(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True):
    """Save obj (tensors, state dicts, nested containers of them and of plain values) to a path or a binary
    file object, in the format described in this module's docstring."""
    opened = None
    if isinstance(f, (str, os.PathLike)):
        opened = open(f, "wb")
        target = opened
    else:
        target = f
    try:
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            w = _Writer(zf)
            body = w.enc(obj)
            header = {"format": FORMAT, "version": VERSION, "object": body}
            zf.writestr(_HEADER, json.dumps(header, allow_nan=False))
    finally:
        if opened is not None:
            opened.close()


class _Reader:
    def __init__(self, zf, map_location):
        self.zf = zf
        self.map_location = map_location
        self.cache = {}

    def target_device(self, saved):
        ml = self.map_location
        if ml is None:
            dev = dv.device(saved)
            try:
                dv.runtime(dv._resolve(dev))
            except RuntimeError:
                raise RuntimeError(f"Attempting to deserialize object on device '{saved}', which is not available "
                                   "here. If you are running on a CPU-only machine, please use cltensor.load with "
                                   "map_location='cpu' to map your storages to the CPU.") from None
            return dev
        if isinstance(ml, dict):
            return dv.device(ml.get(saved, saved))
        if isinstance(ml, (str, dv.device)):
            return dv.device(ml)
        return None  # callable: applied after construction

    def tensor(self, d):
        key = d["$tensor"]
        if key in self.cache:
            return self.cache[key]
        dt = D._by_name(d["dtype"])
        shape = tuple(d["shape"])
        raw = self.zf.read(key)
        npdt = np.dtype(dt.np).newbyteorder("<") if dt.itemsize > 1 else np.dtype(dt.np)
        n = int(np.prod(shape)) if shape else 1
        if len(raw) != n * dt.itemsize:
            raise RuntimeError(f"cltensor.load: entry {key} holds {len(raw)} bytes, expected {n * dt.itemsize}")
        arr = np.frombuffer(raw, dtype=npdt).astype(dt.np).reshape(shape)
        dev = self.target_device(d["device"])
        t = _creation.tensor(arr, dtype=dt, device=dev if dev is not None else "cpu")
        if dev is None and callable(self.map_location):
            r = self.map_location(t, d["device"])
            if isinstance(r, Tensor):
                t = r
        if d.get("parameter"):
            from .nn.parameter import Parameter
            t = Parameter(t, requires_grad=bool(d.get("requires_grad", True)))
        elif d.get("requires_grad") and (t._dtype.is_floating_point or t._dtype.is_complex):
            t.requires_grad_(True)
        self.cache[key] = t
        return t

    def dec(self, v):
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, list):
            return [self.dec(x) for x in v]
        if not isinstance(v, dict):
            raise RuntimeError(f"cltensor.load: malformed value {v!r}")
        if "$tensor" in v:
            return self.tensor(v)
        if "$dict" in v:
            kind = v.get("kind", "dict")
            cls = {"dict": dict, "OrderedDict": OrderedDict, "Counter": Counter}.get(kind)
            if cls is None:
                raise RuntimeError(f"cltensor.load: unknown dict kind {kind!r}")
            r = cls()
            for k, x in v["$dict"]:
                r[_hashable(self.dec(k))] = self.dec(x)
            if "metadata" in v:
                try:
                    r._metadata = self.dec(v["metadata"])
                except AttributeError:
                    pass
            return r
        if "$tuple" in v:
            return tuple(self.dec(x) for x in v["$tuple"])
        if "$size" in v:
            return Size(int(x) for x in v["$size"])
        if "$float" in v:
            return float(v["$float"])
        if "$complex" in v:
            re_, im_ = v["$complex"]
            return complex(self.dec(re_), self.dec(im_))
        if "$bytes" in v:
            return base64.b64decode(v["$bytes"])
        if "$set" in v:
            items = [_hashable(self.dec(x)) for x in v["$set"]]
            return frozenset(items) if v.get("frozen") else set(items)
        if "$dtype" in v:
            return D._by_name(v["$dtype"])
        if "$device" in v:
            return dv.device(v["$device"])
        if "$ndarray" in v:
            npdt = np.dtype(v["dtype"])
            if npdt.kind not in "biufc":
                raise RuntimeError(f"cltensor.load: unsupported array dtype {npdt}")
            return np.frombuffer(self.zf.read(v["$ndarray"]), dtype=npdt).astype(npdt.newbyteorder("=")).reshape(
                v["shape"]).copy()
        raise RuntimeError(f"cltensor.load: unknown entry {sorted(v)}")


def _hashable(k):
    if isinstance(k, list):
        return tuple(_hashable(x) for x in k)
    return k


def load_cltensor_format(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **pickle_load_args):
    """Load an object saved by cltensor.save. map_location: None (the saved devices), a device or string, a dict
    {saved device: device}, or a callable(tensor, saved_device_str) returning the tensor to use."""
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            data = fh.read()
        src = io.BytesIO(data)
    else:
        src = f
    try:
        zf = zipfile.ZipFile(src, "r")
    except zipfile.BadZipFile:
        raise RuntimeError("cltensor.load: not a cltensor checkpoint (expected a ZIP archive with cltensor.json; "
                           "PyTorch pickle files cannot be loaded)") from None
    with zf:
        try:
            header = json.loads(zf.read(_HEADER).decode("utf-8"))
        except KeyError:
            raise RuntimeError("cltensor.load: not a cltensor checkpoint (no cltensor.json entry)") from None
        if header.get("format") != FORMAT:
            raise RuntimeError("cltensor.load: not a cltensor checkpoint")
        if header.get("version", 0) > VERSION:
            raise RuntimeError(f"cltensor.load: checkpoint format version {header.get('version')} is newer than this "
                               f"cltensor supports ({VERSION})")
        return _Reader(zf, map_location).dec(header["object"])

