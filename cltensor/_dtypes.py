"""Data types: PyTorch's names and promotion rules, plus the C types the kernels use."""
import numpy as np

# category: 0 bool, 1 integer, 2 floating, 3 complex
_CATS = {"bool": 0, "uint8": 1, "int8": 1, "int16": 1, "int32": 1, "int64": 1,
         "float16": 2, "bfloat16": 2, "float32": 2, "float64": 2, "complex64": 3, "complex128": 3}


class dtype:
    """A tensor element type (``cltensor.float32`` ...). Compare with ``==`` or ``is``."""
    __slots__ = ("name", "np", "itemsize", "category", "ctype", "ctype_compute", "is_floating_point",
                 "is_complex", "is_signed", "_alias", "id")

    def __init__(self, name, ctype, ctype_compute, alias):
        self.name = name
        # numpy has no bfloat16: its host storage is the raw 16 bits as uint16 (see bf16_bits / bf16_values)
        self.np = np.dtype(np.uint16 if name == "bfloat16" else name if name != "bool" else np.bool_)
        self.itemsize = self.np.itemsize
        self.category = _CATS[name]
        self.ctype = ctype                  # storage type in kernels
        self.ctype_compute = ctype_compute  # type arithmetic runs in (half computes in float)
        self.is_floating_point = self.category == 2
        self.is_complex = self.category == 3
        self.is_signed = name not in ("bool", "uint8")
        self._alias = alias                 # the short name PyTorch uses in error messages
        self.id = len(ALL)

    def __repr__(self):
        return "cltensor." + self.name

    __str__ = __repr__

    def __reduce__(self):
        return (_by_name, (self.name,))

    @property
    def is_integer(self):
        return self.category == 1

    def to_real(self):
        return {"complex64": float32, "complex128": float64}.get(self.name, self)

    def to_complex(self):
        return {"float16": complex64, "bfloat16": complex64, "float32": complex64,
                "float64": complex128}.get(self.name, self)

    @property
    def itemsize_bits(self):
        return self.itemsize * 8


ALL = []


def _mk(*args):
    d = dtype(*args)
    ALL.append(d)
    return d


bool_ = _mk("bool", "uchar", "uchar", "Bool")
uint8 = _mk("uint8", "uchar", "uchar", "Byte")
int8 = _mk("int8", "char", "char", "Char")
int16 = _mk("int16", "short", "short", "Short")
int32 = _mk("int32", "int", "int", "Int")
int64 = _mk("int64", "long", "long", "Long")
float16 = _mk("float16", "half", "float", "Half")
float32 = _mk("float32", "float", "float", "Float")
float64 = _mk("float64", "double", "double", "Double")
complex64 = _mk("complex64", "float2", "float2", "ComplexFloat")
complex128 = _mk("complex128", "double2", "double2", "ComplexDouble")
# bfloat16: 16 bits stored (kernels see the struct `bf16` of the shared preamble, read and written only through
# T.load / T.store), computed in float
bfloat16 = _mk("bfloat16", "bf16", "float", "BFloat16")

_BY_NAME = {d.name: d for d in ALL}
_BY_NP = {d.np: d for d in ALL if d is not bfloat16}


def bf16_values(bits):
    """float32 values of an array of bfloat16 bit patterns (uint16)."""
    return (np.asarray(bits, np.uint16).astype(np.uint32) << 16).view(np.float32)


def bf16_bits(x):
    """bfloat16 bit patterns (uint16) of the values x, rounded to nearest even as PyTorch (from float32; NaN ->
    0x7FC0)."""
    a = np.asarray(x)
    if a.dtype.kind == "c":
        a = a.real
    if a.dtype == np.float64:    # PyTorch converts a double to float first, then to bfloat16
        with np.errstate(over="ignore"):
            a = a.astype(np.float32)
    u = np.array(a, np.float32).view(np.uint32).reshape(a.shape)    # (a copy: ascontiguousarray makes 0-d 1-d)
    r = ((u + (np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))) >> np.uint32(16)).astype(np.uint16)
    nan = np.isnan(a.astype(np.float32, copy=False))
    if nan.any():
        r = np.where(nan, np.uint16(0x7FC0), r).astype(np.uint16)
    return r


def _by_name(name):
    return _BY_NAME[name]


def from_numpy_dtype(npdt, strict=True):
    d = _BY_NP.get(np.dtype(npdt))
    if d is None and strict:
        raise TypeError(f"can't convert np.ndarray of type numpy.{np.dtype(npdt).name}. The only supported types "
                        "are: float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint8, and bool.")
    return d


def as_dtype(d):
    """A `dtype=` argument: a cltensor dtype or a Python type (float, int, bool, complex name the 64-bit dtypes and
    bool, as in PyTorch). Strings and numpy dtypes raise TypeError, as PyTorch's argument parser does."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    if d is complex:
        return complex128
    raise TypeError(f"argument 'dtype' must be torch.dtype, not {type(d).__name__}")


_default = [float32]


def get_default_dtype():
    return _default[0]


def set_default_dtype(d):
    d = as_dtype(d)
    if d not in (float16, bfloat16, float32, float64):
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default[0] = d


def _default_complex():
    if _default[0] is bfloat16:       # (no complex counterpart, as in PyTorch)
        raise RuntimeError("invalid default scalar type for complex")
    return complex128 if _default[0] is float64 else complex64


def promote_types(a, b):
    """PyTorch's promote_types for two dtypes."""
    if a is b:
        return a
    ca, cb = a.category, b.category
    if ca < cb or (ca == cb and a.itemsize < b.itemsize):
        a, b, ca, cb = b, a, cb, ca
    # now a is the "bigger" by category, then size
    if cb == 0:
        return a
    if ca == 1:  # both integer
        if a is uint8 or b is uint8:
            other = b if a is uint8 else a
            if other is int8:
                return int16
            return other if other is not uint8 else uint8
        return a
    if ca == 2:
        if cb == 2 and a.itemsize == b.itemsize:   # float16 with bfloat16: neither holds the other
            return float32
        return a  # float beats int; wider float wins
    # a complex
    if cb == 3:
        return a
    if cb == 2 and b is float64:
        return complex128
    return a


def result_type_state(dim_types, zero_types, wrapped_types):
    """Three priority classes like c10's ResultTypeState: tensors with dims, 0-d tensors, Python scalars."""
    def fold(ts):
        r = None
        for t in ts:
            r = t if r is None else promote_types(r, t)
        return r
    return _combine(fold(dim_types), _combine(fold(zero_types), fold(wrapped_types)))


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.is_complex:
        return higher
    if lower.is_complex:
        if higher.is_floating_point:
            return higher.to_complex()
        return lower
    if higher.is_floating_point:
        return higher
    if higher is bool_ or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def scalar_dtype(v):
    """dtype a Python scalar stands for (as a 'wrapped number')."""
    if isinstance(v, (bool, np.bool_)):
        return bool_
    if isinstance(v, (int, np.integer)):
        return int64
    if isinstance(v, (float, np.floating)):
        return _default[0]
    if isinstance(v, (complex, np.complexfloating)):
        return _default_complex()
    raise TypeError(f"unsupported scalar type {type(v).__name__}")


def can_cast(frm, to):
    """PyTorch's can_cast: no category down-cast (float->int, complex->float, non-bool->bool)."""
    return frm.category <= to.category


class finfo:
    def __init__(self, d=None):
        d = as_dtype(d) if d is not None else _default[0]
        if not (d.is_floating_point or d.is_complex):
            raise TypeError("finfo is only for floating point types")
        if d is bfloat16:
            self.dtype, self.bits, self.eps, self.max, self.min = "bfloat16", 16, 0.0078125, 3.3895313892515355e+38, \
                -3.3895313892515355e+38
            self.tiny = self.smallest_normal = 1.1754943508222875e-38
            self.resolution = 0.01
            return
        fi = np.finfo(d.to_real().np)
        self.dtype = d.to_real().name
        self.bits = fi.bits
        self.eps = float(fi.eps)
        self.max = float(fi.max)
        self.min = float(fi.min)
        self.tiny = float(fi.tiny)
        self.smallest_normal = self.tiny
        self.resolution = float(fi.resolution)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, eps={self.eps}, "
                f"smallest_normal={self.tiny}, tiny={self.tiny}, dtype={self.dtype})")


class iinfo:
    def __init__(self, d):
        d = as_dtype(d)
        if d.category != 1 and d is not bool_:
            raise TypeError("iinfo is only for integer types")
        ii = np.iinfo(d.np if d is not bool_ else np.uint8)
        self.bits, self.min, self.max, self.dtype = ii.bits, int(ii.min), int(ii.max), d.name

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
