"""Creation: tensor(), numpy sharing, zeros/ones/full/arange/linspace/eye, random numbers (Philox), *_like."""
import ctypes
import math
import numbers

import numpy as np

from . import _dtypes as D
from . import _dispatch
from . import _device as dv
from . import _ew
from . import _kernels as K
from ._registry import register, register_method
from ._tensor import Tensor, empty_tensor, make, _init_from


def _dev(device):
    return dv._resolve(device)


def _sizes(args, name="empty"):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    elif len(args) == 1 and isinstance(args[0], Tensor):
        if args[0]._dtype.category != 1 or args[0].dim() > 1:
            raise TypeError(f"{name}(): argument 'size' (position 1) must be tuple of ints, not Tensor")
        args = tuple(args[0].tolist()) if args[0].dim() else (int(args[0].item()),)
    out = []
    for i, s in enumerate(args):
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            if isinstance(s, Tensor) and s.numel() == 1 and s._dtype.category == 1:
                s = int(s.item())
            else:
                raise TypeError(f"{name}(): argument 'size' must be tuple of ints, but found element of type "
                                f"{type(s).__name__} at pos {i}")
        s = int(s)
        if not -(1 << 63) <= s < 1 << 63:
            raise TypeError(f"{name}(): argument 'size' failed to unpack the object at pos {i} with error "
                            f"\"Overflow when unpacking long long\" (size {s} does not fit int64)")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(args)}")
        out.append(s)
    n = 1
    for s in out:
        n *= s
    if n >= 1 << 63:
        raise RuntimeError(f"numel of the requested size {out} overflows int64")
    return tuple(out)


def _post(t, requires_grad):
    if requires_grad:
        t.requires_grad_(True)
    return t


# ---------------------------------------------------------------- from host data

def _upload(arr, dtype, dev):
    """A new contiguous tensor on dev holding arr's values (arr: numpy array already of dtype)."""
    arr = np.require(arr, dtype=dtype.np, requirements="C")  # keeps 0-d (ascontiguousarray makes 1-d)
    t = empty_tensor(arr.shape, dtype, dev)
    if arr.size:
        st = t._st
        if st.rt is None:
            st.host[:arr.nbytes] = arr.reshape(-1).view(np.uint8)
        elif _dispatch.capture is not None:     # recorded by the graph being captured (replays copy again)
            _dispatch.capture.upload(st.rt, st.buf, arr)
        else:
            # (blocking either way: pyopencl waits for a host transfer's event when the event is dropped)
            dv.blocking_copy(st.rt.queue, st.buf, arr)
    return t


_PY_SCALARS = (bool, int, float, complex)
_PYSET = frozenset(_PY_SCALARS)     # exact types: numpy's float64/complex128 subclass float/complex but keep dtype
_SEQ = (list, tuple, range)


def _leaf_dtype(x):
    """dtype PyTorch infers for a non-Python-number leaf of tensor() data (a tensor, array or numpy scalar)."""
    if isinstance(x, Tensor):
        return x._dtype
    if isinstance(x, (np.ndarray, np.generic)):
        return D.from_numpy_dtype(x.dtype)
    if isinstance(x, str):
        raise TypeError(f"new(): invalid data type '{type(x).__name__}'")
    raise RuntimeError(f"Could not infer dtype of {type(x).__name__}")


def _py_dtype(t):
    return D.bool_ if t is bool else D.int64 if t is int else D.get_default_dtype() if t is float else \
        D._default_complex()


def _walk(x, dim, shape, out):
    """Check x (a sequence at depth `dim`) against `shape` as PyTorch does; collect leaf dtypes into `out`.
    Returns x with tensors replaced by numpy arrays (for np.array)."""
    n = len(x)
    if dim >= len(shape) or n != shape[dim]:
        if dim >= len(shape):
            raise TypeError(f"'{type(x).__name__}' object cannot be interpreted as an integer")
        raise ValueError(f"expected sequence of length {shape[dim]} at dim {dim} (got {n})")
    if dim == len(shape) - 1:
        types = set(map(type, x))
        if types <= _PYSET:        # the common case: a flat list of Python numbers
            out.update(types)
            return x
    res = []
    for v in x:
        if isinstance(v, _SEQ):
            res.append(_walk(v, dim + 1, shape, out))
        elif type(v) in _PYSET:
            if dim + 1 != len(shape):
                raise TypeError("not a sequence")
            out.add(type(v))
            res.append(v)
        else:
            d = _leaf_dtype(v)
            vs = tuple(v.shape) if hasattr(v, "shape") else ()
            if tuple(shape[dim + 1:]) != vs:
                raise ValueError(f"expected sequence of length {shape[dim + 1] if dim + 1 < len(shape) else 0} at "
                                 f"dim {dim + 1} (got {vs[0] if vs else 0})")
            out.add(d)
            res.append(v._to_numpy_copy() if isinstance(v, Tensor) else v)
    return res


_WIDE = {2: np.float64, 3: np.complex128}


def _infer_np(data):
    """(numpy array of nested data, dtype PyTorch infers, whether it came from Python numbers only)."""
    if type(data) in _PYSET:
        return np.array(data), _py_dtype(type(data)), True
    if not isinstance(data, _SEQ):
        d = _leaf_dtype(data)
        return (data._to_numpy_copy() if isinstance(data, Tensor) else np.asarray(data)), d, False
    shape, x = [], data
    while True:                              # sizes from the first element along each dim (PyTorch's way)
        if isinstance(x, _SEQ):
            shape.append(len(x))
            if not len(x):
                break
            x = x[0]
        elif isinstance(x, (Tensor, np.ndarray)):
            shape.extend(x.shape)
            break
        elif isinstance(x, str):     # PyTorch's shape inference reads a string as one more sequence
            raise ValueError(f"too many dimensions '{type(x).__name__}'")
        else:
            break
    kinds = set()
    src = _walk(data, 0, shape, kinds)
    d = None
    for k in kinds:
        k = _py_dtype(k) if isinstance(k, type) else k
        d = k if d is None else D.promote_types(d, k)
    if d is None:
        d = D.get_default_dtype()
    py_only = all(isinstance(k, type) for k in kinds)
    try:
        with np.errstate(over="ignore"):
            # Python floats are doubles: build at full width, cast once to the final dtype (a float64 request
            # keeps every digit; float32 rounds once from the double, as PyTorch)
            arr = np.array(src, dtype=_WIDE.get(d.category, d.np)) if py_only else np.array(src)
    except OverflowError:
        raise ValueError("Overflow when unpacking long long") from None
    return arr.reshape(shape), d, py_only


def _check_fits(arr, d):
    """PyTorch refuses Python numbers that do not fit an explicitly requested integer dtype."""
    if d.category != 1 or arr.size == 0:
        return
    ii = np.iinfo(d.np)
    if arr.dtype.kind == "c":
        arr = arr.real
    with np.errstate(invalid="ignore"):
        lo, hi = arr.min(), arr.max()
    if not (ii.min <= lo and hi <= ii.max):         # NaN fails too
        raise RuntimeError(f"value cannot be converted to type {d.name} without overflow")


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    dev = _dev(device)
    if isinstance(data, Tensor):
        t = data.detach().to(dtype=dtype or data._dtype, device=dev, copy=True)
        if t._st is data._st:
            t = t.clone()
        return _post(t, requires_grad)
    if isinstance(data, np.ndarray):
        arr, d, py = data, D.from_numpy_dtype(data.dtype), False
    else:
        arr, d, py = _infer_np(data)
    if dtype is not None:
        want = D.as_dtype(dtype)
        if py:
            if d.is_complex and not want.is_complex:
                raise TypeError("must be real number, not complex")
            _check_fits(arr, want)
        d = want
    if d is D.bfloat16:
        arr = D.bf16_bits(arr)
    elif arr.dtype != d.np:
        with np.errstate(over="ignore", invalid="ignore"):
            arr = arr.astype(d.np)
    t = _upload(arr, d, dev)
    return _post(t, requires_grad)


def _rebuild(arr, device, requires_grad):
    return tensor(arr, device=device, requires_grad=requires_grad)


def from_numpy(a):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    return _share(a, dv.device("cpu"))


def _share(a, dev, d=None):
    """A tensor sharing memory with numpy array `a` on a unified-memory device (d: the dtype, when not a's own:
    bfloat16 for its bits as uint16)."""
    d = d or D.from_numpy_dtype(a.dtype)
    if any(s < 0 for s in a.strides):
        raise ValueError("At least one stride in the given numpy array is negative, and tensors with negative "
                         "strides are not currently supported. (You can probably work around this by making a "
                         "copy of your array  with array.copy().) ")
    it = a.itemsize
    if any(s % it for s in a.strides):
        raise ValueError("given numpy array strides not a multiple of the element byte size. Copy the numpy "
                         "array to reallocate the memory.")
    if not a.flags.writeable:
        import warnings
        warnings.warn("The given NumPy array is not writable, and cltensor does not support non-writable tensors. "
                      "Writing to the tensor through cltensor is undefined behaviour.", UserWarning, stacklevel=3)
    span = (sum((n - 1) * s for n, s in zip(a.shape, a.strides)) + it) if a.size else it
    rt = dv.runtime(dev)
    if a.size == 0:
        t = empty_tensor(a.shape, d, dev)
        return t
    raw = (ctypes.c_char * span).from_address(a.ctypes.data)
    host = np.frombuffer(raw, dtype=np.uint8)
    if rt is None:
        st = dv.Storage(None, span, host=host, owner=a)
    else:
        buf = dv.cl.Buffer(rt.ctx, dv.cl.mem_flags.READ_WRITE | dv.cl.mem_flags.USE_HOST_PTR, hostbuf=raw)
        st = dv.Storage(rt, span, buf=buf, host=host, owner=a)
    st.shared = True
    return make(st, tuple(a.shape), tuple(s // it for s in a.strides), 0, d, dev)


def as_tensor(data, dtype=None, device=None):
    dev = _dev(device)
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=dev) if (dtype or device) else data
    if isinstance(data, np.ndarray):
        d = D.from_numpy_dtype(data.dtype, strict=False)
        want = D.as_dtype(dtype) if dtype is not None else d
        rt = dv.runtime(dev) if dev.type == "cpu" else None
        if d is not None and want is d and dev.type == "cpu" and (rt is None or rt.unified) and \
                all(s >= 0 for s in data.strides):
            return _share(data, dev)
    return tensor(data, dtype=dtype, device=dev)


asarray = as_tensor


# ---------------------------------------------------------------- filled tensors

def _fill_tensor(shape, value, dtype, dev):
    t = empty_tensor(shape, dtype, dev)
    if t.numel():
        _ew.run("x0", t, [value], (dtype,), dtype)
    return t


def empty(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None, pin_memory=False,
          memory_format=None):
    d = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    return _post(empty_tensor(_sizes(size), d, _dev(device)), requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    d = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    return _post(_fill_tensor(_sizes(size, "zeros"), 0, d, _dev(device)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    d = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    return _post(_fill_tensor(_sizes(size, "ones"), 1, d, _dev(device)), requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    d = D.as_dtype(dtype) if dtype is not None else D.scalar_dtype(fill_value)
    return _post(_fill_tensor(_sizes((size,) if isinstance(size, int) else size, "full"), fill_value, d,
                              _dev(device)), requires_grad)


def _like(t, dtype, device):
    return (D.as_dtype(dtype) if dtype is not None else t._dtype), (_dev(device) if device is not None else t._device)


def empty_like(t, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    d, dev = _like(t, dtype, device)
    return _post(empty_tensor(t._shape, d, dev), requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    d, dev = _like(t, dtype, device)
    return _post(_fill_tensor(t._shape, 0, d, dev), requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    d, dev = _like(t, dtype, device)
    return _post(_fill_tensor(t._shape, 1, d, dev), requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    d, dev = _like(t, dtype, device)
    return _post(_fill_tensor(t._shape, fill_value, d, dev), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False, out=None):
    for v, nm in ((n, "n"), (m, "m")):
        if isinstance(v, int) and v < 0:
            raise RuntimeError(f"{nm} must be greater or equal to 0, got {v}")
    m = n if m is None else m
    n, m = _sizes((n, m), "eye")
    d = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    t = _fill_tensor((n, m), 0, d, _dev(device))
    k = min(n, m)
    if k:
        diag = make(t._st, (k,), (m + 1,), 0, d, t._device)
        _ew.run("x0", diag, [1], (d,), d)
    return _post(t, requires_grad)


def _num(v, name):
    if isinstance(v, Tensor):
        v = v.item()
    if not isinstance(v, numbers.Number) or isinstance(v, complex):
        raise TypeError(f"{name}(): argument must be a real number, not {type(v).__name__}")
    return v


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    if end is None:
        start, end = 0, start
    start, end, step = _num(start, "arange"), _num(end, "arange"), _num(step, "arange")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if any(isinstance(v, float) and not math.isfinite(v) for v in (start, end, step)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        d = D.get_default_dtype() if is_float else D.int64
    else:
        d = D.as_dtype(dtype)
    _no_bool(d, "arange")
    if d.is_complex:
        raise NotImplementedError(f'"arange_cpu" not implemented for \'{d._alias}\'')
    if d.category <= 1:                            # integer dtypes: PyTorch casts the arguments first
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("step must be nonzero")
    n = max(int(math.ceil((end - start) / step)), 0)
    t = empty_tensor((n,), d, _dev(device))
    if n:
        cd = D.float64 if (d.category >= 2 or isinstance(start, float) or isinstance(step, float)) and \
            _fp64_ok(t) else (D.float32 if d.category >= 2 or isinstance(step, float) else D.int64)
        _affine_fill(t, start, step, cd)
    return _post(t, requires_grad)


def _to_int_dtype(v, d):
    """A Python number converted as PyTorch's checked conversion does: an int into an unsigned type may be in
    -max..max (negatives wrap), anything else must lie in the type's range."""
    ii = np.iinfo(d.np)
    lo = -int(ii.max) if ii.min == 0 and isinstance(v, int) else int(ii.min)
    if not (lo <= v <= int(ii.max)):
        name = "int" if d.np == np.int32 else np.dtype(d.np).name + "_t"
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")
    return int(np.array(math.trunc(v), dtype=np.int64).astype(d.np))


def _no_bool(d, name):
    """arange/linspace/logspace have no bool kernel in PyTorch."""
    if d is D.bool_:
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'Bool\'')


def _fp64_ok(t):
    rt = t._st.rt
    return rt is None or rt.info.fp64


def _affine_fill(t, start, step, cd):
    """t[i] = start + i * step (contiguous 1-D t), computed on the device."""
    rt = t._st.rt
    if rt is None:
        raise dv.no_cpu_device_error(t._device)
    k = K.get(rt, "creation", "affine", out=t._dtype, cd=cd)
    n = t.numel()
    npt = {D.float64: np.float64, D.float32: np.float32, D.int64: np.int64}[cd]
    K.launch(rt, k, (K.round_up(n, rt.local_size),), (rt.local_size,),
             [t._st.buf, np.int64(n), npt(start), npt(step)])


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    start, end = _num(start, "linspace"), _num(end, "linspace")
    if isinstance(steps, Tensor) and steps.numel() == 1 and steps._dtype.category == 1:
        steps = int(steps.item())
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"linspace(): argument 'steps' must be int, not {type(steps).__name__}")
    steps = int(steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if steps > 1:                     # PyTorch fills 0 or 1 points without its kernel (bool included)
        _no_bool(d, "linspace")
    if d.category == 1 and not isinstance(start, complex) and not isinstance(end, complex):
        # integer dtypes: PyTorch converts start and end to the dtype first (uint8: -2 is 254), then steps
        start, end = (_to_int_dtype(v, d) for v in (start, end))
    t = empty_tensor((steps,), d, _dev(device))
    if steps:
        rt = t._st.rt
        if rt is None:
            raise dv.no_cpu_device_error(t._device)
        cd = D.float64 if rt.info.fp64 else D.float32
        k = K.get(rt, "creation", "linspace", out=d, cd=cd)
        npt = np.float64 if cd is D.float64 else np.float32
        step = (end - start) / (steps - 1) if steps > 1 else 0.0
        if steps == 1:
            end = start                                # one point: start (the kernel's upper half uses end)
        K.launch(rt, k, (K.round_up(steps, rt.local_size),), (rt.local_size,),
                 [t._st.buf, np.int64(steps), npt(start), npt(end), npt(step)])
    return _post(t, requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False):
    if dtype is not None and steps > 1:
        _no_bool(D.as_dtype(dtype), "logspace")
    t = linspace(start, end, steps, dtype=D.float64 if dtype is None or D.as_dtype(dtype) is D.float64
                 else D.float32, device=device)
    r = base ** t
    return _post(r.to(D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()), requires_grad)


# ---------------------------------------------------------------- random numbers

class Generator:
    """A Philox counter-based generator: (seed, offset). The same seed gives the same numbers on any device."""

    def __init__(self, device="cpu"):
        self.device = dv.device(device)
        self._seed = 67280421310721
        self._offset = 0

    def manual_seed(self, seed):
        seed = int(seed)
        if seed < -(1 << 63) or seed >= (1 << 64):
            raise RuntimeError(f"Overflow when unpacking long: {seed}")
        self._seed = seed & ((1 << 64) - 1)
        self._offset = 0
        return self

    def seed(self):
        import random
        s = random.SystemRandom().getrandbits(63)
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return tensor(np.array([self._seed, self._offset], dtype=np.uint64).view(np.uint8))

    def set_state(self, state):
        a = state._to_numpy_copy().view(np.uint64)
        self._seed, self._offset = int(a[0]), int(a[1])
        return self

    def _next(self):
        o = self._offset
        self._offset += 1
        if _dispatch.capture is not None:     # a captured graph draws a fresh offset on each replay
            _dispatch.capture.rng(self, o)
        return o


default_generator = Generator()
default_generator.seed()      # as PyTorch: each process starts from a seed of the OS's randomness


def manual_seed(seed):
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def _random_fill(t, kind, p0=0.0, p1=1.0, i0=0, span=1, generator=None):
    n = t.numel()
    if n == 0:
        return t
    rt = t._st.rt
    if rt is None:
        raise dv.no_cpu_device_error(t._device)
    g = generator or default_generator
    ct = D.float64 if t._dtype in (D.float64, D.complex128) else D.float32
    if kind == "randint":
        ct = D.float32
    k = K.get(rt, "random", "fill", out=t._dtype, kind=kind, ct=ct)
    off = g._next()
    npt = np.float64 if ct is D.float64 else np.float32
    s = g._seed
    contiguous = t.is_contiguous() and t._offset == 0
    target = t if contiguous else empty_tensor(t._shape, t._dtype, t._device)
    # elements per Philox call, as in templates/random.mako
    per = 2 if kind == "randint" else ((1 if ct is D.float64 else 2) if t._dtype.is_complex else
                                       (2 if ct is D.float64 else 4))
    K.launch_bound(rt, k, (K.round_up((n + per - 1) // per, rt.local_size),), (rt.local_size,),
                   [target._st.buf, np.uint64(n), np.uint32(s & 0xFFFFFFFF), np.uint32(s >> 32),
                    np.uint32(off & 0xFFFFFFFF), np.uint32(off >> 32), npt(p0), npt(p1), np.int64(i0),
                    np.uint64(span)])
    if not contiguous:
        _ew.run("x0", t, [target], (t._dtype,), t._dtype)
    t._st.version += 1
    if t._st.shared:
        rt.queue.finish()
    return t


def _float_dtype(dtype, name):
    d = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if not (d.is_floating_point or d.is_complex):
        raise NotImplementedError(f"\"{name}\" not implemented for '{d._alias}'")
    return d


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    d = _float_dtype(dtype, "check_uniform_bounds")
    t = empty_tensor(_sizes(size, "rand"), d, _dev(device))
    return _post(_random_fill(t, "uniform", generator=generator), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    d = _float_dtype(dtype, "normal_kernel_cpu")
    t = empty_tensor(_sizes(size, "randn"), d, _dev(device))
    return _post(_random_fill(t, "normal", 0.0, 1.0, generator=generator), requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    if size is None and isinstance(high, (tuple, list)):     # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument: 'size'")
    low, high = int(low), int(high)
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    d = D.as_dtype(dtype) if dtype is not None else D.int64
    t = empty_tensor(_sizes((size,) if isinstance(size, int) else size, "randint"), d, _dev(device))
    return _post(_random_fill(t, "randint", i0=low, span=high - low, generator=generator), requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False, out=None):
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        z = randn(*(_shape_bcast(mean, std)), dtype=ref._dtype, device=ref._device, generator=generator)
        return z * std + mean           # Tensor's operators: the elementwise table
    if size is None:
        raise TypeError("normal() missing required argument 'size' when mean and std are numbers")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    d = _float_dtype(dtype, "normal_kernel_cpu")
    t = empty_tensor(_sizes((size,) if isinstance(size, int) else size, "normal"), d, _dev(device))
    return _post(_random_fill(t, "normal", float(mean), float(std), generator=generator), requires_grad)


def _shape_bcast(a, b):
    return _ew.broadcast_shapes(*[x._shape for x in (a, b) if isinstance(x, Tensor)])


def rand_like(t, dtype=None, device=None, requires_grad=False, memory_format=None, generator=None):
    d, dev = _like(t, dtype, device)
    return rand(*t._shape, dtype=d, device=dev, requires_grad=requires_grad, generator=generator)


def randn_like(t, dtype=None, device=None, requires_grad=False, memory_format=None, generator=None):
    d, dev = _like(t, dtype, device)
    return randn(*t._shape, dtype=d, device=dev, requires_grad=requires_grad, generator=generator)


def randint_like(t, low=0, high=None, dtype=None, device=None, requires_grad=False, memory_format=None):
    d, dev = _like(t, dtype, device)
    return randint(low, high, t._shape, dtype=d, device=dev, requires_grad=requires_grad)


def randperm(n, generator=None, dtype=None, device=None, requires_grad=False):
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    keys = rand(n, generator=generator, dtype=D.float64 if dv.runtime(_dev(device)) is None or
                dv.runtime(_dev(device)).info.fp64 else D.float32, device=device)
    perm = np.argsort(keys._to_numpy_copy(), kind="stable")
    return tensor(perm, dtype=dtype or D.int64, device=device)


# ---------------------------------------------------------------- Tensor.new_* (dtype and device of self by default)

def _new_kw(self, dtype, device):
    return dict(dtype=self._dtype if dtype is None else dtype, device=self._device if device is None else device)


def _new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return tensor(data, requires_grad=requires_grad, **_new_kw(self, dtype, device))


def _new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    return empty(*size, requires_grad=requires_grad, **_new_kw(self, dtype, device))


def _new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, requires_grad=requires_grad, **_new_kw(self, dtype, device))


def _new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    return ones(*size, requires_grad=requires_grad, **_new_kw(self, dtype, device))


def _new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    return full(size, fill_value, requires_grad=requires_grad, **_new_kw(self, dtype, device))


def _tensor_init(self, *args, dtype=None, device=None):
    """Tensor(data) / Tensor(*sizes) / Tensor(): a tensor of the default dtype (or dtype)."""
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if not args:
        args = (0,)                  # Tensor() is an empty 1-D tensor
    if len(args) == 1 and not isinstance(args[0], int):
        src = args[0]
        t = src if isinstance(src, Tensor) else tensor(src, dtype=dt, device=device)
    else:
        if len(args) == 1 and isinstance(args[0], (tuple, list)):
            args = tuple(args[0])
        t = empty(*args, dtype=dt, device=device)
    _init_from(self, t._st, t._shape, t._strides, t._offset, t._dtype, t._device)


def _rebuild_bf16(bits, device, requires_grad):
    t = _upload(np.asarray(bits, np.uint16), D.bfloat16, _dev(device))
    return _post(t, requires_grad)


def _tensor_reduce_ex(self, proto):
    if self._dtype is D.bfloat16:
        return (_rebuild_bf16, (self._bits_copy(), str(self._device), self.requires_grad))
    return (_rebuild, (self._to_numpy_copy(), str(self._device), self.requires_grad))


def _typed_tensor(dt, name):
    def make_typed(*args, device=None):
        return Tensor(*args, dtype=dt, device=device)
    make_typed.__name__ = make_typed.__qualname__ = name
    return make_typed


# ---------------------------------------------------------------- strided / buffer / scalar factories

def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """An uninitialised tensor with the given sizes and strides (storage for the furthest element)."""
    size, stride = tuple(int(v) for v in size), tuple(int(v) for v in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape")
    if any(v < 0 for v in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(size)}: {list(size)}")
    d = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    n = 0 if 0 in size else 1 + sum((s - 1) * st for s, st in zip(size, stride))
    base = empty_tensor((n,), d, _dev(device))
    return _post(base.as_strided(size, stride, 0), requires_grad)


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-D tensor over a Python buffer (bytes, bytearray, memoryview, array ...): shares a writable buffer's
    memory on devices that map host memory (as from_numpy), else holds a copy."""
    d = D.as_dtype(dtype)
    nbytes = memoryview(buffer).nbytes
    if offset < 0 or offset >= nbytes:
        raise ValueError(f"both buffer length ({nbytes}) and offset ({offset}) must be greater than 0 and less "
                         "than buffer length" if nbytes > 0 else
                         "both buffer length (0) and count (%d) must not be 0" % count)
    if count == 0 or (count < 0 and (nbytes - offset) % d.itemsize):
        raise ValueError(f"buffer length ({nbytes - offset} bytes) after offset ({offset} bytes) must be a "
                         f"multiple of element size ({d.itemsize})")
    arr = np.frombuffer(buffer, dtype=d.np, count=count, offset=offset)
    t = from_numpy(arr) if arr.flags.writeable else tensor(arr, dtype=d)
    return _post(t, requires_grad)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory=False, requires_grad=False):
    """A 0-d tensor holding s (the default dtype unless given, as PyTorch)."""
    if isinstance(s, Tensor):
        s = s.item()
    d = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    return _post(_fill_tensor((), s, d, _dev(device)), requires_grad)


# ---------------------------------------------------------------- samplers (in place, and poisson / binomial)

def _transform_(self, name, fn, generator, dtypes="float"):
    """self <- fn(uniform samples in (0, 1)) in place (an inverse-CDF sampler)."""
    if not (self._dtype.is_floating_point or (dtypes == "any" and self._dtype is not D.bool_)):
        raise RuntimeError(f"{name} not implemented for '{self._dtype}'")
    wide = D.float64 if self._dtype is D.float64 else D.float32
    u = empty_tensor(self._shape, wide, self._device)
    _random_fill(u, "uniform", 0.0, 1.0, generator=generator)
    # keep u away from 0 (log(u) and tan(pi (u - 1/2)) stay finite)
    u = u.clamp_min(float(np.finfo(wide.np).tiny))
    return self.copy_(fn(u))


def _exponential_(self, lambd=1.0, *, generator=None):
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _transform_(self, "exponential_", lambda u: u.log().neg() / lambd, generator)


def _cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    return _transform_(self, "cauchy_", lambda u: ((u - 0.5) * math.pi).tan() * sigma + median, generator)


def _log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    if not self._dtype.is_floating_point:
        raise RuntimeError(f"log_normal_ not implemented for '{self._dtype}'")
    z = empty_tensor(self._shape, D.float64 if self._dtype is D.float64 else D.float32, self._device)
    _random_fill(z, "normal", float(mean), float(std), generator=generator)
    return self.copy_(z.exp())


def _geometric_(self, p, *, generator=None):
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    # the number of Bernoulli(p) trials up to the first success: ceil(log(u) / log(1 - p))
    return _transform_(self, "geometric_", lambda u: (u.log() / math.log1p(-p)).ceil(), generator, "any")


def _sample_launch(name, ins, generator):
    x0 = ins[0]
    if not x0._dtype.is_floating_point:
        raise RuntimeError(f"\"{name}\" not implemented for '{x0._dtype}'")
    out = empty_tensor(x0._shape, x0._dtype, x0._device)
    n = out.numel()
    if n == 0:
        return out
    rt = x0._st.rt
    if rt is None:
        raise dv.no_cpu_device_error(x0._device)
    cs = [t.detach().contiguous() for t in ins]
    R = D.float64 if x0._dtype is D.float64 else D.float32
    k = K.get(rt, "sample", name, dt=x0._dtype, R="double" if R is D.float64 else "float")
    g = generator or default_generator
    off, s = g._next(), g._seed
    K.launch(rt, k, (K.round_up(n, rt.local_size),), (rt.local_size,),
             [t._st.buf for t in cs] + [out._st.buf, np.int64(n), np.uint32(s & 0xFFFFFFFF), np.uint32(s >> 32),
                                        np.uint32(off & 0xFFFFFFFF), np.uint32(off >> 32)])
    return out


def poisson(input, generator=None):
    """Poisson samples with the rates in input (same dtype); not differentiable."""
    return _sample_launch("poisson", [input], generator)


def binomial(count, prob, generator=None):
    """Binomial samples of `count` trials with success probability `prob` (broadcast; float dtypes)."""
    if count._dtype is not prob._dtype:
        raise RuntimeError(f"expected scalar type {count._dtype} but found {prob._dtype}")
    shape = _shape_bcast(count, prob)
    return _sample_launch("binomial", [count.expand(*shape), prob.expand(*shape)], generator)


# ---------------------------------------------------------------- registration
for _f in (tensor, as_tensor, from_numpy, empty, zeros, ones, full, empty_like, zeros_like, ones_like, full_like,
           eye, arange, linspace, logspace, rand, randn, randint, normal, rand_like, randn_like, randint_like,
           randperm):
    register(_f.__name__, _f, kind="factory")
register("asarray", as_tensor, kind="factory", alias_of="as_tensor")
for _f in (manual_seed, seed, initial_seed, get_rng_state, set_rng_state):
    register(_f.__name__, _f, kind="util")
for _n, _dt in (("FloatTensor", D.float32), ("DoubleTensor", D.float64), ("HalfTensor", D.float16),
                ("BFloat16Tensor", D.bfloat16),
                ("LongTensor", D.int64), ("IntTensor", D.int32), ("ShortTensor", D.int16), ("CharTensor", D.int8),
                ("ByteTensor", D.uint8), ("BoolTensor", D.bool_)):
    register(_n, _typed_tensor(_dt, _n), kind="factory")
for _f in (empty_strided, frombuffer, scalar_tensor):
    register(_f.__name__, _f, kind="factory")
for _f in (poisson, binomial):
    register(_f.__name__, _f, kind="random")
for _n, _f in (("exponential_", _exponential_), ("cauchy_", _cauchy_), ("log_normal_", _log_normal_),
               ("geometric_", _geometric_)):
    register_method(_n, _f)
for _n, _f in (("__init__", _tensor_init), ("__reduce_ex__", _tensor_reduce_ex), ("new_tensor", _new_tensor),
               ("new_empty", _new_empty), ("new_zeros", _new_zeros), ("new_ones", _new_ones),
               ("new_full", _new_full)):
    register_method(_n, _f)


