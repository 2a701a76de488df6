"""default_collate / default_convert (as torch.utils.data._utils.collate).

In the main process tensors are stacked where they live (on the host in one pass for CPU-device tensors, with
kernels on other devices). In a DataLoader worker everything is host data: numpy arrays and Python numbers
become host tensors (numpy memory), which reach the device in the main process (see ``_transfer``)."""
import collections
import copy
import re

import numpy as np

from ... import _creation
from ... import _dtypes as D
from ... import _shape
from ..._tensor import Tensor
from . import _host, _transfer

__all__ = ["default_collate", "default_convert", "collate", "default_collate_fn_map",
           "default_collate_err_msg_format"]

np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = ("default_collate: batch must contain tensors, numpy arrays, numbers, "
                                  "dicts or lists; found {}")


def _as_tensor(data, dtype=None):
    """torch.as_tensor for collate: host tensors in a worker, CPU-device tensors in the main process."""
    if _host.in_worker():
        if isinstance(data, np.ndarray):
            d = D.from_numpy_dtype(data.dtype)        # raises torch's error for unsupported numpy dtypes
            if dtype is not None and D.as_dtype(dtype) is not d:
                data = data.astype(D.as_dtype(dtype).np)
            return _host.host_tensor(data)
        t = _creation.tensor(data, dtype=dtype)      # runtime is None in a worker: host storage
        return t
    if isinstance(data, np.ndarray):
        return _creation.as_tensor(data, dtype=dtype)
    return _creation.tensor(data, dtype=dtype)


def default_convert(data):
    """Converts numpy arrays (not of strings/objects) and numpy scalars to tensors, recursively through
    mappings, namedtuples and sequences; everything else is returned unchanged."""
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_"):
        if elem_type.__name__ == "ndarray" and np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data
        return _as_tensor(np.asarray(data) if elem_type.__name__ != "ndarray" else data)
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update({key: default_convert(data[key]) for key in data})
                return clone
            return elem_type({key: default_convert(data[key]) for key in data})
        except TypeError:
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(data):
                    clone[i] = default_convert(d)
                return clone
            return elem_type([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def collate(batch, *, collate_fn_map=None):
    """The general collate function: element types found in `collate_fn_map` (exactly, then by isinstance in
    insertion order) use their function; mappings, namedtuples and sequences recurse."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update({key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                              for key in elem})
                return clone
            return elem_type({key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                              for key in elem})
        except TypeError:
            return {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        elem_size = len(next(it))
        if not all(len(e) == elem_size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, samples in enumerate(transposed):
                    clone[i] = collate(samples, collate_fn_map=collate_fn_map)
                return clone
            return elem_type([collate(samples, collate_fn_map=collate_fn_map) for samples in transposed])
        except TypeError:
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch, *, collate_fn_map=None):
    """Stacks tensors along a new first dimension: on the host for host memory (one pass), else with stack."""
    elem = batch[0]
    s0 = elem._shape
    for i, t in enumerate(batch):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
        if t._shape != s0:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(s0)} at entry 0 and "
                               f"{list(t._shape)} at entry {i}")
    dt, dev = elem._dtype, elem._device
    host = all(t._dtype is dt and t._device == dev and t._st.host is not None and not t.requires_grad
               for t in batch)
    if _host.in_worker():
        for t in batch:
            dt = D.promote_types(dt, t._dtype)
        out = _transfer.worker_empty((len(batch),) + tuple(s0), dt.np)
        np.stack([_host.host_array(t) for t in batch], out=out, casting="unsafe")
        return _host.host_tensor(out, dev)
    if host:
        shape = (len(batch),) + tuple(s0)
        if elem._st.rt is None:
            return _host.host_tensor(np.stack([t._host_array() for t in batch]), dev)
        pair = _host.new_host_out(shape, dt, dev)
        if pair is not None:
            out, dst = pair
            if dst.size:
                np.stack([t._host_array() for t in batch], out=dst)
            return out
    return _shape.stack(batch, 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    if all(isinstance(b, np.ndarray) and b.shape == elem.shape and b.dtype == elem.dtype for b in batch):
        d = D.from_numpy_dtype(elem.dtype)           # torch's error for numpy dtypes without a tensor dtype
        if _host.in_worker():
            out = _transfer.worker_empty((len(batch),) + elem.shape, elem.dtype)
            np.stack(batch, out=out)
            return _host.host_tensor(out)
        shape = (len(batch),) + elem.shape
        pair = _host.new_host_out(shape, d, _creation._dev(None))
        if pair is not None:
            out, dst = pair
            if dst.size:
                np.stack(batch, out=dst)
            return out
        return _creation.tensor(np.stack(batch))
    return collate([_as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    return _as_tensor(np.asarray(batch))


def collate_float_fn(batch, *, collate_fn_map=None):
    # through a float64 array: the values keep double precision (as torch.tensor(batch, dtype=torch.float64))
    return _as_tensor(np.array(batch, dtype=np.float64))


def collate_int_fn(batch, *, collate_fn_map=None):
    return _as_tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map = {Tensor: collate_tensor_fn}
default_collate_fn_map[np.ndarray] = collate_numpy_array_fn
default_collate_fn_map[(np.bool_, np.number, np.object_)] = collate_numpy_scalar_fn
default_collate_fn_map[float] = collate_float_fn
default_collate_fn_map[int] = collate_int_fn
default_collate_fn_map[str] = collate_str_fn
default_collate_fn_map[bytes] = collate_str_fn


def default_collate(batch):
    """Puts each data field into a tensor with an outer batch dimension (as torch's default_collate):
    tensors are stacked, numpy arrays and numbers become tensors (Python float -> float64, int -> int64,
    bool -> bool), str/bytes stay lists, mappings/namedtuples/sequences are collated field by field (a batch
    of tuples gives a list)."""
    return collate(batch, collate_fn_map=default_collate_fn_map)
