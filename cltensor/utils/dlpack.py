"""DLPack exchange (as ``torch.utils.dlpack``): `to_dlpack(tensor)` / `from_dlpack(obj)`, `Tensor.__dlpack__`,
`Tensor.__dlpack_device__`, and `Tensor.__array_interface__` for CPU-device tensors.

Tensors on the CPU device live in host memory and are exchanged without a copy, both ways: `np.from_dlpack(t)`,
`torch.from_dlpack(t)`, `cltensor.from_dlpack(np_array_or_torch_tensor)` share memory with `t` (offset and strides
kept; a write on one side is seen on the other). Tensors on an OpenCL GPU report (kDLOpenCL, index) and can be
exported only as a host copy: `t.__dlpack__(copy=True)` or `dl_device=(kDLCPU, 0)`; otherwise BufferError.
Capsules are DLPack 1.x versioned ("dltensor_versioned") when the consumer passes `max_version >= (1, 0)`, the
legacy "dltensor" otherwise. An imported read-only tensor (DLPack 1.x READ_ONLY flag) warns as
`cltensor.from_numpy` does for a read-only array: cltensor tensors are always writable.
The capsule structs follow include/dlpack/dlpack.h (dmlc/dlpack) and are built with ctypes; the exporter keeps
the tensor's storage alive until the consumer calls the deleter.
"""
import ctypes
import warnings

import numpy as np

from .. import _creation
from .. import _dtypes as D
from .._registry import register, register_method
from .._tensor import Tensor

__all__ = ["to_dlpack", "from_dlpack", "DLDeviceType"]


class DLDeviceType:
    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLROCM = 10
    kDLCUDAManaged = 13
    kDLOneAPI = 14


_FLAG_READ_ONLY = 1
_FLAG_IS_COPIED = 2
_VERSION = (1, 0)


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class _Device(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _Device), ("ndim", ctypes.c_int32), ("dtype", _DataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class _Managed(ctypes.Structure):
    pass


_DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_Managed._fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", _DELETER)]


class _ManagedVersioned(ctypes.Structure):
    _fields_ = [("version", _Version), ("manager_ctx", ctypes.c_void_p), ("deleter", _DELETER),
                ("flags", ctypes.c_uint64), ("dl_tensor", _DLTensor)]


_api = ctypes.pythonapi
_api.PyCapsule_New.restype = ctypes.py_object
_api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_api.PyCapsule_IsValid.restype = ctypes.c_int
_api.PyCapsule_IsValid.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_SetName.restype = ctypes.c_int
_api.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]

_CAPSULE_DESTRUCTOR = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_IsValid = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)(("PyCapsule_IsValid", _api))
_GetPointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p)(("PyCapsule_GetPointer", _api))

_LIVE = {}     # address of a managed struct -> (struct, shape/strides arrays, the exported array) until deleted

_NAME = b"dltensor"
_NAME_V = b"dltensor_versioned"
_USED = {_NAME: b"used_dltensor", _NAME_V: b"used_dltensor_versioned"}   # PyCapsule_SetName keeps the pointer


def _delete(addr):
    _LIVE.pop(addr, None)


_deleter = _DELETER(_delete)


def _capsule_destructor(cap):
    # an unconsumed capsule still owns its tensor: run the deleter (a consumed one was renamed "used_...")
    for name in (_NAME, _NAME_V):
        if _IsValid(cap, name):
            _delete(_GetPointer(cap, name))
            return


_destructor = _CAPSULE_DESTRUCTOR(_capsule_destructor)

_CODES = {"b": 1 << 8, "i": 0, "u": 1, "f": 2, "c": 5}   # numpy kind -> DLDataTypeCode (bool: kDLBool=6)


def _dl_dtype(npdt):
    if npdt.kind == "b":
        return _DataType(6, 8, 1)
    return _DataType(_CODES[npdt.kind], npdt.itemsize * 8, 1)


def _device_tuple(t):
    if t._device.type == "cpu":
        return (DLDeviceType.kDLCPU, 0)
    return (DLDeviceType.kDLOpenCL, t._device.index or 0)


def _dlpack_device(self):
    """(device type, index) as DLPack's DLDeviceType: (kDLCPU, 0) for the CPU device (host memory),
    (kDLOpenCL, index) for an OpenCL GPU."""
    return _device_tuple(self)


def _export_array(t, dl_device, copy):
    """The host ndarray to export and whether it is a copy."""
    own = _device_tuple(t)
    want = tuple(dl_device) if dl_device is not None else own
    if want != own and want != (DLDeviceType.kDLCPU, 0):
        raise BufferError(f"cltensor: can't export a {t._device} tensor to DLPack device {want}")
    host = want == (DLDeviceType.kDLCPU, 0)
    if copy is True or (host and own != want):
        if copy is False:
            raise BufferError(f"cltensor: exporting a {t._device} tensor to host memory needs a copy (copy=False "
                              "was given)")
        return t.detach()._bits_copy(), True
    if own != (DLDeviceType.kDLCPU, 0):
        raise BufferError(f"cltensor: a {t._device} tensor is not in host memory; DLPack export needs "
                          "copy=True or dl_device=(kDLCPU, 0) (a host copy), or move it with .cpu() first")
    arr = t._host_array()
    t._st.shared = True      # the consumer may write: synchronise around every op, as numpy() does
    return arr, False


def _dlpack(self, stream=None, *, max_version=None, dl_device=None, copy=None):
    """A DLPack capsule of this tensor (see cltensor/utils/dlpack.py)."""
    if self.requires_grad:
        raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
    if self._dtype.name not in _SUPPORTED:
        raise BufferError(f"cltensor: dtype {self._dtype} has no DLPack type")
    arr, copied = _export_array(self, dl_device, copy)
    versioned = max_version is not None and tuple(max_version)[0] >= 1
    nd = arr.ndim
    shape = (ctypes.c_int64 * max(nd, 1))(*arr.shape)
    it = arr.itemsize
    strides = (ctypes.c_int64 * max(nd, 1))(*(s // it for s in arr.strides))
    m = _ManagedVersioned() if versioned else _Managed()
    dt = m.dl_tensor
    dt.data = arr.ctypes.data if arr.size else None
    dt.device = _Device(DLDeviceType.kDLCPU, 0)
    dt.ndim = nd
    dt.dtype = _DataType(4, 16, 1) if self._dtype is D.bfloat16 else _dl_dtype(arr.dtype)    # kDLBfloat
    dt.shape = ctypes.cast(shape, ctypes.POINTER(ctypes.c_int64))
    dt.strides = ctypes.cast(strides, ctypes.POINTER(ctypes.c_int64))
    dt.byte_offset = 0
    m.manager_ctx = None
    m.deleter = _deleter
    if versioned:
        m.version = _Version(*_VERSION)
        m.flags = _FLAG_IS_COPIED if copied else 0
    addr = ctypes.addressof(m)
    _LIVE[addr] = (m, shape, strides, arr)
    return _api.PyCapsule_New(addr, _NAME_V if versioned else _NAME, ctypes.cast(_destructor, ctypes.c_void_p))


_SUPPORTED = {"bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64", "complex64",
              "complex128", "bfloat16"}
_NP_OF = {(0, 8): np.int8, (0, 16): np.int16, (0, 32): np.int32, (0, 64): np.int64, (1, 8): np.uint8,
          (2, 16): np.float16, (2, 32): np.float32, (2, 64): np.float64, (5, 64): np.complex64,
          (5, 128): np.complex128, (6, 8): np.bool_, (4, 16): np.uint16}    # kDLBfloat: bfloat16 bits


class _Imported:
    """Owns an imported DLPack tensor: calls the producer's deleter when the last view of its memory goes."""
    __slots__ = ("__array_interface__", "addr", "deleter")

    def __init__(self, iface, addr, deleter):
        self.__array_interface__ = iface
        self.addr, self.deleter = addr, deleter

    def __del__(self):
        if self.deleter:
            self.deleter(self.addr)


def _from_capsule(cap):
    if _api.PyCapsule_IsValid(cap, _NAME_V):
        name, versioned = _NAME_V, True
    elif _api.PyCapsule_IsValid(cap, _NAME):
        name, versioned = _NAME, False
    else:
        raise ValueError("from_dlpack: expected a DLPack capsule named 'dltensor' or 'dltensor_versioned' (a "
                         "capsule can be consumed only once)")
    addr = _api.PyCapsule_GetPointer(cap, name)
    m = (_ManagedVersioned if versioned else _Managed).from_address(addr)
    readonly = False
    if versioned:
        if m.version.major > 1:
            raise BufferError(f"from_dlpack: DLPack version {m.version.major}.{m.version.minor} is not supported")
        readonly = bool(m.flags & _FLAG_READ_ONLY)
    dt = m.dl_tensor
    if dt.device.device_type not in (DLDeviceType.kDLCPU, DLDeviceType.kDLCUDAHost):
        raise BufferError(f"from_dlpack: only host-memory (kDLCPU) tensors can be imported, got device type "
                          f"{dt.device.device_type}")
    code, bits, lanes = dt.dtype.code, dt.dtype.bits, dt.dtype.lanes
    npdt = _NP_OF.get((code, bits))
    if npdt is None or lanes != 1:
        raise BufferError(f"from_dlpack: DLPack dtype (code={code}, bits={bits}, lanes={lanes}) has no cltensor "
                          "dtype")
    npdt = np.dtype(npdt)
    nd = dt.ndim
    shape = tuple(dt.shape[i] for i in range(nd))
    if dt.strides:
        strides = tuple(dt.strides[i] * npdt.itemsize for i in range(nd))
    else:
        strides = None
    deleter = m.deleter
    _api.PyCapsule_SetName(cap, _USED[name])
    data = (dt.data or 0) + dt.byte_offset
    iface = {"version": 3, "typestr": npdt.str, "shape": shape, "strides": strides,
             "data": (data if data else 0, readonly)}
    owner = _Imported(iface, addr, deleter if deleter else None)
    if 0 in shape or not data:
        return np.empty(shape, npdt)
    return np.asarray(owner)


def from_dlpack(ext_tensor):
    """A cltensor Tensor on the CPU device sharing memory with `ext_tensor` (any object with __dlpack__, e.g. a
    numpy array or a torch CPU tensor) or with a DLPack capsule."""
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    if hasattr(ext_tensor, "__dlpack__"):
        dev = ext_tensor.__dlpack_device__() if hasattr(ext_tensor, "__dlpack_device__") else None
        if dev is not None and dev[0] not in (DLDeviceType.kDLCPU, DLDeviceType.kDLCUDAHost):
            raise BufferError(f"from_dlpack: only host-memory (kDLCPU) tensors can be imported, got device {dev}")
        try:
            cap = ext_tensor.__dlpack__(max_version=_VERSION)
        except TypeError:
            cap = ext_tensor.__dlpack__()
        except BufferError:
            if isinstance(ext_tensor, np.ndarray) and not ext_tensor.flags.writeable:
                cap = ext_tensor.__dlpack__(max_version=_VERSION, copy=False)
            else:
                raise
    else:
        cap = ext_tensor
    arr = _from_capsule(cap)
    if arr.dtype == np.uint16:      # kDLBfloat (DLPack's unsigned 16 bits has no cltensor dtype)
        if arr.size == 0:
            return _creation.empty(arr.shape, dtype=D.bfloat16)
        return _creation._share(arr, _creation.dv.device("cpu"), D.bfloat16)
    if arr.size == 0:
        return _creation.tensor(arr)
    if not arr.flags.writeable:
        warnings.warn("The given DLPack tensor is read-only, and cltensor does not support read-only tensors. "
                      "Writing to the tensor through cltensor is undefined behaviour.", UserWarning, stacklevel=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _creation.from_numpy(arr)
    return _creation.from_numpy(arr)


def to_dlpack(tensor):
    """A legacy ("dltensor") DLPack capsule of a CPU-device tensor, as torch.utils.dlpack.to_dlpack."""
    return _dlpack(tensor)


def _array_interface(self):
    if self._device.type != "cpu" or self.requires_grad:
        raise AttributeError("__array_interface__ is defined only for CPU-device tensors that do not require grad")
    if self._dtype is D.bfloat16:
        raise AttributeError("__array_interface__: numpy has no bfloat16")
    try:
        arr = self._host_array()
    except TypeError:       # no host memory behind this storage
        raise AttributeError("__array_interface__ needs host memory") from None
    self._st.shared = True
    return arr.__array_interface__


def _pin_memory(self, device=None):
    """Host memory is already what the CPU device and unified-memory GPUs use: returns the tensor (documented
    no-op, as PyTorch's on a CPU-only build would copy into page-locked memory)."""
    return self


def _is_pinned(self, device=None):
    """False: cltensor allocates no page-locked memory (pin_memory() is a no-op)."""
    return False


register_method("__dlpack__", _dlpack)
register_method("__dlpack_device__", _dlpack_device)
register_method("__array_interface__", property(_array_interface))
register_method("pin_memory", _pin_memory)
register_method("is_pinned", _is_pinned)
register("from_dlpack", from_dlpack, kind="util")
register("to_dlpack", to_dlpack, kind="util")
