"""cltensor.save / cltensor.load in PyTorch's checkpoint format (as ``torch.serialization``).

``save`` writes the ZIP archive ``torch.save`` writes (``archive/data.pkl``, ``archive/data/<key>`` holding each
storage's bytes, 64-byte aligned and stored uncompressed, ``archive/byteorder``, ``archive/version``,
``archive/.format_version``, ``archive/.storage_alignment``, ``archive/.data/serialization_id``), with the pickle
(protocol 2) naming PyTorch's rebuild functions: ``torch.load(f, weights_only=True)`` reads it. Tensors that share
a storage share it in the file (views keep their offset and strides); a Parameter is saved as a Parameter.

``load`` reads such archives (written by torch or by cltensor), PyTorch's legacy (non-ZIP) pickle files, and
cltensor's own earlier format (a ZIP archive with ``cltensor.json``, cltensor/_serialization.py). With
``weights_only=True`` (the default, as PyTorch 2.6+) the unpickler builds only tensors, storages, dtypes, devices,
sizes, Parameters, plain containers and numbers; any other global is refused with PyTorch's message unless
allowed through `add_safe_globals` / `safe_globals`. ``weights_only=False`` runs the full unpickler (it can run
arbitrary code: only for trusted files).

bfloat16 storages load as bfloat16 tensors (bit-exact). Dtypes cltensor has no equivalent of (uint16/32/64, float8,
complex32, quantized) raise a RuntimeError.
"""
import _compat_pickle
import io
import os
import pickle
import struct
import sys
import uuid
import zipfile
from collections import OrderedDict, Counter

import numpy as np

from . import _dtypes as D
from . import _device as dv
from . import _creation
from . import _serialization
from ._registry import register
from ._tensor import Tensor, Size, make

__all__ = ["save", "load", "add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals",
           "get_unsafe_globals_in_checkpoint", "DEFAULT_PROTOCOL"]

DEFAULT_PROTOCOL = 2
_ALIGN = 64

# torch storage class name <-> cltensor dtype name
_STORAGE_DTYPE = {"FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
                  "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
                  "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
                  "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128",
                  "UntypedStorage": "uint8"}
_DTYPE_STORAGE = {v: k for k, v in _STORAGE_DTYPE.items() if k != "UntypedStorage"}
_TORCH_DTYPES = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
                 "complex64", "complex128", "float", "double", "half", "long", "int", "short", "cfloat", "cdouble",
                 "complex32", "chalf", "uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2",
                 "float8_e4m3fnuz", "float8_e5m2fnuz", "qint8", "quint8", "qint32", "quint4x2", "quint2x4",
                 "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2", "float8_e8m0fnu", "float4_e2m1fn_x2"}
_UNSAFE_MESSAGE = ("In PyTorch 2.6, we changed the default value of the `weights_only` argument in `torch.load` from "
                   "`False` to `True`. Re-running `torch.load` with `weights_only` set to `False` will likely "
                   "succeed, but it can result in arbitrary code execution. Do it only if you got the file from a "
                   "trusted source.")


# ---------------------------------------------------------------- safe globals

_SAFE_GLOBALS = {}     # "module.qualname" -> object


def _full_name(obj):
    return f"{getattr(obj, '__module__', None)}.{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"


def add_safe_globals(safe_globals):
    """Allow these classes/functions in `load(..., weights_only=True)`. Items are objects or (object, "module.name")
    pairs (the name the file uses)."""
    for g in safe_globals:
        if isinstance(g, tuple):
            obj, name = g
            _SAFE_GLOBALS[name] = obj
        else:
            _SAFE_GLOBALS[_full_name(g)] = g


def get_safe_globals():
    """The user-allowed globals (added by add_safe_globals)."""
    return [obj if name == _full_name(obj) else (obj, name) for name, obj in _SAFE_GLOBALS.items()]


def clear_safe_globals():
    _SAFE_GLOBALS.clear()


def get_unsafe_globals_in_checkpoint(f):
    """The globals ("module.name") a checkpoint's pickle uses that `load(weights_only=True)` would refuse. Reads
    the pickle's opcodes only; nothing is unpickled."""
    import pickletools
    opened = open(f, "rb") if isinstance(f, (str, os.PathLike)) else None
    fh = opened if opened is not None else f
    try:
        if _is_zip(fh):
            with zipfile.ZipFile(fh) as zf:
                pkl = [n for n in zf.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
                if not pkl:
                    raise RuntimeError("not a PyTorch ZIP checkpoint (no <name>/data.pkl)")
                data = zf.read(pkl[0])
        else:
            raise ValueError("get_unsafe_globals_in_checkpoint needs a ZIP checkpoint")
    finally:
        if opened is not None:
            opened.close()
    out, strings = set(), []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("GLOBAL", "INST"):
            module, name = arg.split(" ", 1)
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            module, name = strings[-2], strings[-1]
        else:
            if isinstance(arg, str):
                strings.append(arg)
            continue
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        if _find_torch(module, name) is None and f"{module}.{name}" not in _SAFE_GLOBALS:
            out.add(f"{module}.{name}")
    return sorted(out)


class safe_globals:
    """Context manager: `with cltensor.serialization.safe_globals([MyClass]): cltensor.load(f)`."""

    def __init__(self, safe_globals):
        self.safe_globals = safe_globals

    def __enter__(self):
        self._saved = dict(_SAFE_GLOBALS)
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc):
        _SAFE_GLOBALS.clear()
        _SAFE_GLOBALS.update(self._saved)
        return False


# ---------------------------------------------------------------- save

class _Global:
    """A name written as a pickle GLOBAL (torch's functions and classes, which cltensor does not import)."""
    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):    # pickle's save_reduce requires a callable; never called
        raise TypeError(f"{self.module}.{self.name} is a name written into a checkpoint")


_REBUILD_TENSOR = _Global("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _Global("torch._utils", "_rebuild_parameter")
_ORDERED_DICT = _Global("collections", "OrderedDict")
_TORCH_DEVICE = _Global("torch", "device")
_TORCH_SIZE = _Global("torch", "Size")


class _StorageRef:
    __slots__ = ("st",)

    def __init__(self, st):
        self.st = st


def _location(device):
    return "cpu" if device.type == "cpu" else f"cuda:{device.index or 0}"


def _storage_bytes(st):
    n = st.nbytes
    if n == 0:
        return b""
    host = st.host_view()
    if host is not None:
        return host[:n].tobytes()
    out = np.empty(n, np.uint8)
    dv.blocking_copy(st.rt.queue, out, st.buf)
    return out.tobytes()


class _TorchPickler(pickle._Pickler):
    def __init__(self, file, protocol):
        super().__init__(file, protocol=protocol)
        self.storages = OrderedDict()     # id(storage) -> (key, storage, dtype, device)

    def save(self, obj, save_persistent_id=True):
        if type(obj) is _Global:
            x = self.memo.get(id(obj))
            if x is not None:
                self.write(self.get(x[0]))
                return
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
            self.memoize(obj)
            return
        super().save(obj, save_persistent_id)

    def persistent_id(self, obj):
        if type(obj) is not _StorageRef:
            return None
        st, dtype, device = obj.st
        rec = self.storages.get(id(st))
        if rec is None:
            rec = (str(len(self.storages)), st, dtype, device)
            self.storages[id(st)] = rec
        elif rec[2] is not dtype:
            raise RuntimeError("Cannot save multiple tensors or storages that view the same data as different types")
        if dtype.name not in _DTYPE_STORAGE:
            raise RuntimeError(f"cltensor.save: dtype {dtype} has no PyTorch storage type")
        return ("storage", _Global("torch", _DTYPE_STORAGE[dtype.name]), rec[0], _location(device),
                st.nbytes // dtype.itemsize)

    def reducer_override(self, obj):
        """Tensors and Parameters as torch._utils' rebuild calls, devices and sizes as torch's classes."""
        if isinstance(obj, Tensor):
            from .nn.parameter import Parameter
            if isinstance(obj, Parameter):
                plain = make(obj._st, obj._shape, obj._strides, obj._offset, obj._dtype, obj._device)
                return (_REBUILD_PARAMETER, (plain, bool(obj.requires_grad), OrderedDict()))
            if getattr(obj._st, "trace", None) is not None:
                raise RuntimeError("cltensor.save: cannot save a tensor traced by cltensor.compile")
            return (_REBUILD_TENSOR, (_StorageRef((obj._st, obj._dtype, obj._device)), int(obj._offset),
                                      tuple(int(s) for s in obj._shape), tuple(int(s) for s in obj._strides),
                                      bool(obj.requires_grad), OrderedDict()))
        if isinstance(obj, dv.device):
            return (_TORCH_DEVICE, (_location(obj) if obj.type != "cpu" else "cpu",))
        if isinstance(obj, Size):
            return (_TORCH_SIZE, (tuple(obj),))
        return NotImplemented



_DTYPE_GLOBALS = {}


class _Writer(_TorchPickler):
    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, D.dtype):     # PyTorch pickles a dtype as the bare global torch.<name>
            g = _DTYPE_GLOBALS.get(obj.name)
            if g is None:
                g = _DTYPE_GLOBALS[obj.name] = _Global("torch", obj.name)
            obj = g
        return super().save(obj, save_persistent_id)


def _write_entry(zf, name, data):
    """A stored (uncompressed) entry whose data starts at a multiple of 64 bytes (as PyTorch's writer aligns)."""
    zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    zi.compress_type = zipfile.ZIP_STORED
    zi.external_attr = 0o600 << 16
    start = zf.fp.tell() + 30 + len(name.encode("utf-8"))
    pad = (-(start + 4)) % _ALIGN
    zi.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad   # "FB" padding record
    zf.writestr(zi, data)


def save(obj, f, pickle_module=None, pickle_protocol=DEFAULT_PROTOCOL, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Save obj (tensors, state dicts, optimizer states, nested containers, any picklable object) to a path or a
    binary file object in PyTorch's ZIP checkpoint format: `torch.load` reads it."""
    if not _use_new_zipfile_serialization:
        raise NotImplementedError("cltensor.save writes only the ZIP checkpoint format")
    buf = io.BytesIO()
    p = _Writer(buf, pickle_protocol)
    p.dump(obj)
    opened = open(f, "wb") if isinstance(f, (str, os.PathLike)) else None
    target = opened if opened is not None else f
    try:
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            pre = "archive/"
            _write_entry(zf, pre + "data.pkl", buf.getvalue())
            _write_entry(zf, pre + ".format_version", b"1")
            _write_entry(zf, pre + ".storage_alignment", str(_ALIGN).encode())
            if not _disable_byteorder_record:
                _write_entry(zf, pre + "byteorder", sys.byteorder.encode())
            for key, st, dtype, device in p.storages.values():
                _write_entry(zf, pre + f"data/{key}", _storage_bytes(st))
            _write_entry(zf, pre + "version", b"3\n")
            _write_entry(zf, pre + ".data/serialization_id", uuid.uuid4().hex.encode()[:20].ljust(20, b"0"))
    finally:
        if opened is not None:
            opened.close()


# ---------------------------------------------------------------- load

class _StorageType:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


class _LoadedStorage:
    """A storage read from the archive: a 1-D tensor of its elements on the target device."""
    __slots__ = ("tensor", "dtype")

    def __init__(self, tensor, dtype):
        self.tensor, self.dtype = tensor, dtype


_LAYOUT = object()


def _get_layout(name):
    return _LAYOUT


def _rebuild_tensor(storage, storage_offset, size, stride):
    if isinstance(storage, _LoadedStorage):
        base = storage.tensor
        size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
        return make(base._st, size, stride, base._offset + int(storage_offset), base._dtype, base._device)
    raise pickle.UnpicklingError(f"expected a storage, got {type(storage).__name__}")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    t = _rebuild_tensor(storage, storage_offset, size, stride)
    if requires_grad and (t._dtype.is_floating_point or t._dtype.is_complex):
        t.requires_grad_(True)
    return t


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype=None,
                       metadata=None):
    """An untyped (byte) storage viewed as `dtype`: offsets and strides count elements of `dtype`."""
    if isinstance(dtype, D.dtype) and isinstance(storage, _LoadedStorage) and storage.dtype is not dtype:
        b = storage.tensor
        storage = _LoadedStorage(make(b._st, (b._st.nbytes // dtype.itemsize,), (1,), 0, dtype, b._device), dtype)
    return _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata)


def _rebuild_parameter(data, requires_grad, backward_hooks=None):
    from .nn.parameter import Parameter
    return Parameter(data, requires_grad=bool(requires_grad))


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    p = _rebuild_parameter(data, requires_grad, backward_hooks)
    if isinstance(state, dict):
        for k, v in state.items():
            setattr(p, k, v)
    return p


def _rebuild_from_type_v2(func, new_type, args, state):
    r = func(*args)
    if new_type is not Tensor and isinstance(new_type, type) and issubclass(new_type, Tensor) and \
            type(r) is not new_type:
        r = new_type(r)
    if isinstance(state, dict):
        for k, v in state.items():
            setattr(r, k, v)
    return r


def _torch_device(spec, index=None):
    return dv.device(spec, index)


def _encode(s, enc="latin1"):
    return s.encode(enc)


def _torch_size(t=()):
    return Size(t)


def _parameter_cls():
    from .nn.parameter import Parameter
    return Parameter


_TORCH_GLOBALS = {
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch.serialization", "_get_layout"): _get_layout,
    ("torch", "device"): _torch_device,
    ("torch", "Size"): _torch_size,
    ("torch", "Tensor"): Tensor,
    ("torch.storage", "UntypedStorage"): _StorageType("UntypedStorage"),
    ("collections", "OrderedDict"): OrderedDict,
    ("collections", "Counter"): Counter,
    ("_codecs", "encode"): _encode,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "set"): set,
    ("builtins", "complex"): complex,
    ("__builtin__", "set"): set,
}


def _wo_error(full):
    return pickle.UnpicklingError(
        "Weights only load failed. This file can still be loaded, to do so you have two options, do those steps "
        f"only if you trust the source of the checkpoint. \n\t(1) {_UNSAFE_MESSAGE}\n\t(2) Alternatively, to load "
        "with `weights_only=True` please check the recommended steps in the following error message.\n\t"
        f"WeightsUnpickler error: Unsupported global: GLOBAL {full} was not an allowed global by default. Please "
        f"use `cltensor.serialization.add_safe_globals([{full}])` or the "
        f"`cltensor.serialization.safe_globals([{full}])` context manager to allowlist this global if you trust "
        "this class/function.")


_DTYPE_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32",
                  "short": "int16", "cfloat": "complex64", "cdouble": "complex128"}


def _dtype_global(name):
    try:
        return D._by_name(_DTYPE_ALIASES.get(name, name))
    except KeyError:
        raise RuntimeError(f"cltensor.load: torch.{name} has no cltensor dtype") from None


def _find_torch(module, name):
    f = _TORCH_GLOBALS.get((module, name))
    if f is not None:
        return f
    if module == "torch.nn.parameter" and name == "Parameter":
        return _parameter_cls()
    if module == "torch" and name in _STORAGE_DTYPE:
        return _StorageType(name)
    if module == "torch" and name.endswith("Storage"):
        return _StorageType(name)       # unsupported: refused when a storage of it is read
    if module == "torch" and name in _TORCH_DTYPES:
        return _dtype_global(name)
    return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, loader, weights_only):
        super().__init__(file, encoding=loader.encoding)
        self.loader = loader
        self.weights_only = weights_only

    def find_class(self, module, name):
        if (module, name) in _compat_pickle.NAME_MAPPING:      # protocol 2 writes Python 2 names
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        f = _find_torch(module, name)
        if f is not None:
            return f
        full = f"{module}.{name}"
        if full in _SAFE_GLOBALS:
            return _SAFE_GLOBALS[full]
        if self.weights_only:
            raise _wo_error(full)
        return super().find_class(module, name)

    def persistent_load(self, pid):
        return self.loader.storage(pid)


class _Loader:
    def __init__(self, map_location, encoding="utf-8"):
        self.map_location = map_location
        self.encoding = encoding
        self.cache = {}

    def target(self, location):
        ml = self.map_location
        if isinstance(ml, dict):
            ml = ml.get(location, location)
        if ml is None or callable(ml) and not isinstance(ml, (str, dv.device)):
            ml = location
        try:
            dev = dv._resolve(dv.device(ml))
            dv.runtime(dev)
        except RuntimeError:
            raise RuntimeError(f"Attempting to deserialize object on device '{location}', which is not available "
                               "here. If you are running on a CPU-only machine, please use cltensor.load with "
                               "map_location='cpu' to map your storages to the CPU.") from None
        return dev

    def read(self, key, nbytes):  # raw bytes (numpy uint8) of one stored storage
        raise NotImplementedError

    def storage(self, pid):
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise pickle.UnpicklingError(f"cltensor.load: unknown persistent id {pid!r}")
        _, stype, key, location, numel = pid[:5]
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        if isinstance(stype, D.dtype):
            dname = stype.name
        else:
            dname = _STORAGE_DTYPE.get(getattr(stype, "name", None))
        if dname is None:
            raise RuntimeError(f"cltensor.load: storages of type torch.{getattr(stype, 'name', stype)} are not "
                               "supported (cltensor has no such dtype)")
        raw = self.read(key, pid)
        dt = D._by_name(dname)      # (bfloat16: its bits as uint16)
        npdt = np.dtype(dt.np).newbyteorder("<" if self.little else ">") if dt.itemsize > 1 else dt.np
        arr = raw.view(npdt)
        if arr.dtype != dt.np:
            arr = arr.astype(dt.np)
        loc = location if isinstance(location, str) else str(location)
        ml = self.map_location
        if callable(ml) and not isinstance(ml, (str, dv.device, dict)):
            base = self.make(arr, dv.device("cpu"))
            r = ml(base, loc)
            if isinstance(r, _LoadedStorage):
                r = r.tensor
            if not isinstance(r, Tensor):
                base = self.make(arr, self.target(loc)) if loc != "cpu" else base
            else:
                base = r.contiguous() if r._offset or not r.is_contiguous() else r
        else:
            base = self.make(arr, self.target(loc))
        s = _LoadedStorage(base, base._dtype)
        self.cache[key] = s
        return s

    def make(self, arr, dev):
        if arr.dtype == np.uint16:      # bfloat16 bits (cltensor has no uint16 dtype)
            return _creation._upload(np.ascontiguousarray(arr), D.bfloat16, dev)
        if self.mmap and dev.type == "cpu" and arr.base is not None and isinstance(self.backing, np.memmap):
            return _creation.from_numpy(arr) if arr.size else _creation.tensor(arr.copy(), device=dev)
        return _creation.tensor(np.ascontiguousarray(arr), device=dev)


class _ZipLoader(_Loader):
    def __init__(self, zf, prefix, map_location, mmap_file=None):
        super().__init__(map_location)
        self.zf, self.prefix = zf, prefix
        self.mmap = mmap_file is not None
        self.backing = None
        if self.mmap:
            self.backing = np.memmap(mmap_file, dtype=np.uint8, mode="c")
        bo = prefix + "byteorder"
        self.little = (zf.read(bo).decode().strip() if bo in zf.NameToInfo else "little") == "little"

    def read(self, key, pid):
        name = f"{self.prefix}data/{key}"
        try:
            zi = self.zf.getinfo(name)
        except KeyError:
            raise RuntimeError(f"cltensor.load: the archive has no entry {name}") from None
        if self.mmap and zi.compress_type == zipfile.ZIP_STORED:
            hdr = bytes(self.backing[zi.header_offset:zi.header_offset + 30])
            nlen, xlen = struct.unpack("<HH", hdr[26:30])
            start = zi.header_offset + 30 + nlen + xlen
            return self.backing[start:start + zi.file_size]
        return np.frombuffer(self.zf.read(zi), np.uint8)     # read-only: make() copies it into a storage


_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


def _load_legacy(f, map_location, weights_only):
    """PyTorch's pre-1.6 format: pickled magic number, protocol, sys info, the object, the storage keys, then
    each storage as <int64 numel><raw bytes>. The object is unpickled twice: once to learn its storages, once
    (after reading them) to build it."""
    def unp(fh, loader):
        return _Unpickler(fh, loader, weights_only)

    dummy = _Loader(map_location, encoding="latin1")
    if unp(f, dummy).load() != _LEGACY_MAGIC:
        raise RuntimeError("cltensor.load: not a checkpoint (invalid magic number; corrupt file?)")
    unp(f, dummy).load()          # protocol version
    info = unp(f, dummy).load()   # sys info
    little = info.get("little_endian", True) if isinstance(info, dict) else True
    # first pass: collect the storages' descriptions; tensors are rebuilt after the storages are read
    ldr = _DeferredLoader(map_location, little)
    obj_bytes_start = f.tell()
    _Unpickler(f, ldr, weights_only).load()
    keys = unp(f, dummy).load()
    for key in keys:
        numel, = struct.unpack("<q" if little else ">q", f.read(8))
        pid = ldr.pids[key]
        dname = _STORAGE_DTYPE.get(getattr(pid[1], "name", None), "uint8")
        itemsize = D._by_name(dname).itemsize
        ldr.raw[key] = np.frombuffer(f.read(numel * itemsize), np.uint8).copy()
    f.seek(obj_bytes_start)
    ldr.collecting = False
    return _Unpickler(f, ldr, weights_only).load()


class _DeferredLoader(_Loader):
    def __init__(self, map_location, little):
        super().__init__(map_location, encoding="latin1")
        self.little, self.mmap, self.backing = little, False, None
        self.pids, self.raw, self.collecting = {}, {}, True

    def storage(self, pid):
        if self.collecting:
            self.pids[pid[2]] = pid
            return _LoadedStorage(_creation.tensor(np.zeros(0, np.float32)), None)
        return super().storage(pid)

    def read(self, key, pid):
        return self.raw[key]


def _is_zip(f):
    pos = f.tell()
    head = f.read(4)
    f.seek(pos)
    return head == b"PK\x03\x04"


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **pickle_load_args):
    """Load an object saved by cltensor.save or torch.save (ZIP format or the legacy format) or by cltensor's
    earlier format. map_location: None (the saved devices; "cuda:N" is cltensor's gpu:N), a device or string, a
    dict {saved location: device}, or a callable(storage, location) returning a tensor (or None for the default).
    mmap=True maps the file's storages instead of reading them (CPU tensors share the mapped pages,
    copy-on-write). weights_only=True (default) refuses globals other than tensors, containers and the
    `add_safe_globals` list."""
    if weights_only is None:
        weights_only = True
    path = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", None)
    opened = open(f, "rb") if isinstance(f, (str, os.PathLike)) else None
    fh = opened if opened is not None else f
    try:
        if not _is_zip(fh):
            if mmap:
                raise RuntimeError("mmap can only be used with files saved with `torch.save(_use_new_zipfile_"
                                   "serialization=True)`, please torch.save your checkpoint with this option in "
                                   "order to use mmap.")
            try:
                return _load_legacy(fh, map_location, weights_only)
            except (pickle.UnpicklingError, EOFError, ValueError) as e:
                if isinstance(e, pickle.UnpicklingError) and "Weights only load failed" in str(e):
                    raise
                raise RuntimeError(f"cltensor.load: not a checkpoint (neither a ZIP archive nor a PyTorch legacy "
                                   f"file): {e}") from None
        with zipfile.ZipFile(fh, "r") as zf:
            names = zf.namelist()
            if "cltensor.json" in names:
                fh.seek(0)
                return _serialization.load_cltensor_format(fh, map_location=map_location)
            pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
            if not pkl:
                raise RuntimeError("cltensor.load: not a checkpoint (the archive has no <name>/data.pkl)")
            prefix = pkl[0][:-len("data.pkl")]
            if mmap and path is None:
                raise ValueError("f must be a file path in order to use the mmap argument")
            ldr = _ZipLoader(zf, prefix, map_location, path if mmap else None)
            return _Unpickler(io.BytesIO(zf.read(pkl[0])), ldr, weights_only).load()
    finally:
        if opened is not None:
            opened.close()


register("save", save, kind="util")
register("load", load, kind="util")
