"""safetensors files for cltensor tensors, as ``safetensors.torch``: `save_file`, `load_file`, `save`, `load`,
`safe_open`. Built on the ``safetensors`` package's numpy API (optional dependency:
``pip install safetensors`` or ``pip install cltensor[interop]``).

Tensors are written as C-contiguous copies of their values (views and shared storages become independent
entries). BF16 entries load as bfloat16 tensors (bit-exact; as float32 values with framework="numpy", which has
no bfloat16); other dtypes cltensor has not (F8_*, U16/U32/U64) raise a TypeError.
"""
import json
import struct

import numpy as np

from .. import _creation
from .. import _dtypes as D
from .._tensor import Tensor

__all__ = ["save_file", "load_file", "save", "load", "safe_open"]


def _lib():
    try:
        import safetensors
        import safetensors.numpy as snp
    except ImportError:
        raise ImportError("cltensor.utils.safetensors needs the safetensors package: pip install safetensors "
                          "(or pip install cltensor[interop])") from None
    return safetensors, snp


def _to_numpy(tensors):
    if not isinstance(tensors, dict):
        raise ValueError(f"Expected a dict of [str, cltensor.Tensor] but received {type(tensors)}")
    out = {}
    for k, v in tensors.items():
        if not isinstance(k, str):
            raise ValueError(f"Key `{k}` is invalid, expected str but received {type(k)}")
        if not isinstance(v, Tensor):
            raise ValueError(f"Key `{k}` is invalid, expected cltensor.Tensor but received {type(v)}")
        out[k] = np.array(v.detach()._bits_copy(), order="C")    # (bfloat16: its bits as uint16)
    return out


def _to_tensor(arr, device):
    if arr.dtype == np.uint16:      # BF16 bits (U16 entries raise before this: cltensor has no uint16)
        return _creation._upload(np.array(arr, order="C"), D.bfloat16, _creation._dev(device))
    return _creation.tensor(np.array(arr, order="C"), device=device)


def _bf16_bytes(arrs, metadata):
    """The safetensors bytes of numpy arrays where uint16 arrays are BF16 bits (safetensors' numpy API has no
    bfloat16): the format's header (JSON, space-padded to 8 bytes) and the data, entries ordered by name."""
    codes = {v: k for k, v in _NP.items()}
    header, chunks, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for k in sorted(arrs):
        a = arrs[k]
        code = "BF16" if a.dtype == np.uint16 else codes[a.dtype.newbyteorder("<").str if a.dtype.itemsize > 1
                                                          else a.dtype.str]
        b = np.ascontiguousarray(a, a.dtype.newbyteorder("<")).tobytes()
        header[k] = {"dtype": code, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(chunks)


def save(tensors, metadata=None):
    """The safetensors bytes of a dict {name: Tensor}."""
    _, snp = _lib()
    arrs = _to_numpy(tensors)
    if any(v._dtype is D.bfloat16 for v in tensors.values()):
        return _bf16_bytes(arrs, metadata)
    return snp.save(arrs, metadata=metadata)


def save_file(tensors, filename, metadata=None):
    """Write a dict {name: Tensor} (metadata: a dict str -> str) to a safetensors file."""
    _, snp = _lib()
    arrs = _to_numpy(tensors)
    if any(v._dtype is D.bfloat16 for v in tensors.values()):
        with open(filename, "wb") as f:
            f.write(_bf16_bytes(arrs, metadata))
        return
    snp.save_file(arrs, filename, metadata=metadata)


def load(data, device="cpu"):
    """A dict {name: Tensor} from safetensors bytes."""
    _, snp = _lib()
    header, base = _header_bytes(data)
    names = [k for k in header if k != "__metadata__"]
    if not any(header[k]["dtype"] in _SPECIAL for k in names):
        arrs = snp.load(bytes(data))
        return {k: _to_tensor(arrs[k], device) for k in names}
    out = {}
    for k in names:
        info = header[k]
        if info["dtype"] in _SPECIAL:
            a, b = info["data_offsets"]
            out[k] = _to_tensor(_special(info, np.frombuffer(data, np.uint8, b - a, base + a)), device)
        else:
            out[k] = _to_tensor(_plain_slice(info, data, base), device)
    return out


def load_file(filename, device="cpu"):
    """A dict {name: Tensor} from a safetensors file, on `device`."""
    with safe_open(filename, framework="cltensor", device=device) as f:
        return {k: f.get_tensor(k) for k in f.offset_keys()}


# ---------------------------------------------------------------- dtypes numpy cannot represent
_SPECIAL = {"BF16"}
_NP = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1",
       "BOOL": "?", "C64": "<c8", "C128": "<c16"}


def _special(info, raw):
    """BF16 entry: its bits as uint16."""
    return raw.view("<u2").astype(np.uint16).reshape(info["shape"])


def _plain_slice(info, data, base):
    a, b = info["data_offsets"]
    if info["dtype"] not in _NP:
        raise TypeError(f"safetensors: dtype {info['dtype']} has no cltensor equivalent")
    return np.frombuffer(data, np.dtype(_NP[info["dtype"]]), (b - a) // np.dtype(_NP[info["dtype"]]).itemsize,
                         base + a).reshape(info["shape"])


def _header_bytes(data):
    n, = struct.unpack("<Q", bytes(data[:8]))
    return json.loads(bytes(data[8:8 + n])), 8 + n


def _header_file(filename):
    with open(filename, "rb") as fh:
        n, = struct.unpack("<Q", fh.read(8))
        return json.loads(fh.read(n)), 8 + n


class _Slice:
    """A lazily read tensor of a safe_open file: `get_shape()`, `get_dtype()`, and indexing (`sl[0:2, :]`)."""

    def __init__(self, owner, name):
        self._owner, self._name = owner, name
        self._np = owner._f.get_slice(name) if owner._header[name]["dtype"] not in _SPECIAL else None

    def get_shape(self):
        return list(self._owner._header[self._name]["shape"])

    def get_dtype(self):
        return self._owner._header[self._name]["dtype"]

    def __getitem__(self, idx):
        if self._np is not None:
            arr = self._np[idx]
        else:
            arr = self._owner._raw(self._name)[idx]
        return self._owner._wrap(arr)


class safe_open:
    """`with safe_open(filename, framework="pt", device="cpu") as f: f.get_tensor(name)` reads one tensor at a time.
    framework: "pt" / "cltensor" (Tensors) or "numpy" / "np" (numpy arrays)."""

    def __init__(self, filename, framework="pt", device="cpu"):
        safetensors, _ = _lib()
        if framework not in ("pt", "torch", "cltensor", "numpy", "np"):
            raise ValueError(f"framework {framework!r} is not supported (pt, cltensor, numpy)")
        self._numpy = framework in ("numpy", "np")
        self._device = device
        self._filename = filename
        self._f = safetensors.safe_open(filename, framework="numpy")
        self._header, self._base = _header_file(filename)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        f, self._f = self._f, None
        if hasattr(f, "__exit__"):
            f.__exit__(*exc)
        return False

    def keys(self):
        return list(self._f.keys())

    def offset_keys(self):
        return sorted(self.keys(), key=lambda k: self._header[k]["data_offsets"][0])

    def metadata(self):
        return self._f.metadata()

    def _wrap(self, arr):
        if self._numpy:
            return D.bf16_values(arr) if arr.dtype == np.uint16 else np.array(arr)
        return _to_tensor(arr, self._device)

    def _raw(self, name):
        info = self._header[name]
        a, b = info["data_offsets"]
        mm = np.memmap(self._filename, np.uint8, mode="r", offset=self._base + a, shape=(b - a,))
        return _special(info, mm)

    def get_tensor(self, name):
        if self._header.get(name, {}).get("dtype") in _SPECIAL:
            return self._wrap(self._raw(name))
        return self._wrap(self._f.get_tensor(name))

    def get_slice(self, name):
        if name not in self._header or name == "__metadata__":
            raise KeyError(name)
        return _Slice(self, name)
