"""Tensor ``repr`` in PyTorch's exact format, computed from a numpy array.

Pure Python + numpy: this module imports nothing else from cltensor.

It follows the algorithm of PyTorch's ``torch/_tensor_str.py``:

* a ``_Formatter`` per tensor (two for complex tensors: one for the real parts,
  one for the imaginary parts) that decides, from the finite non-zero values it
  will show, whether floats print as integers (``1.``), in fixed point
  (``1.5000``) or in scientific notation (``1.0000e-05``), and how wide each
  column is;
* 1-D rows are wrapped at ``linewidth`` and nested dims are separated by
  ``dim - 1`` newlines;
* tensors with more than ``threshold`` elements are summarized with ``...``,
  keeping ``edgeitems`` items at each end of every dim;
* suffixes (``device=``, ``size=``, ``dtype=``, ``grad_fn=``/``requires_grad=``)
  are appended after ``, `` or on a new line when the line would get too long.

Everything PyTorch prints as ``torch.<x>`` is printed as ``cltensor.<x>``.
"""
import contextlib
import math

import numpy as np

from . import _dtypes as D
from . import _device as dv
from ._registry import register, register_method
from .autograd._tape import grad_fn_name

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "tensor_repr",
           "tensor_str", "format_scalar"]


class _PrinterOptions:
    """The current print options (PyTorch's ``PRINT_OPTS``)."""

    def __init__(self):
        self.precision = 4
        self.threshold = 1000
        self.edgeitems = 3
        self.linewidth = 80
        self.sci_mode = None

    def as_dict(self):
        return {"precision": self.precision, "threshold": self.threshold,
                "edgeitems": self.edgeitems, "linewidth": self.linewidth,
                "sci_mode": self.sci_mode}


PRINT_OPTS = _PrinterOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set options for printing (same semantics as ``torch.set_printoptions``).

    Args:
        precision: digits after the decimal point for floats (default 4).
        threshold: number of elements above which the repr is summarized (default 1000).
        edgeitems: items shown at the start and end of each dim when summarizing (default 3).
        linewidth: characters per line used for wrapping (default 80).
        profile: ``'default'``, ``'short'`` or ``'full'``; applied first, then the other
            arguments override it.
        sci_mode: True/False forces scientific notation on/off; None (the default) lets the
            formatter choose.  As in PyTorch, every call sets ``sci_mode`` (to None when not
            given).
    """
    if profile is not None:
        if profile == "default":
            PRINT_OPTS.precision = 4
            PRINT_OPTS.threshold = 1000
            PRINT_OPTS.edgeitems = 3
            PRINT_OPTS.linewidth = 80
        elif profile == "short":
            PRINT_OPTS.precision = 2
            PRINT_OPTS.threshold = 1000
            PRINT_OPTS.edgeitems = 2
            PRINT_OPTS.linewidth = 80
        elif profile == "full":
            PRINT_OPTS.precision = 4
            PRINT_OPTS.threshold = math.inf
            PRINT_OPTS.edgeitems = 3
            PRINT_OPTS.linewidth = 80
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    """The current print options as a dict that can be passed back to ``set_printoptions``."""
    return PRINT_OPTS.as_dict()


@contextlib.contextmanager
def printoptions(**kwargs):
    """Context manager that temporarily changes the print options."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


# --------------------------------------------------------------------------- formatter

class _Formatter:
    """Decides the notation and the column width for one real-valued tensor.

    ``values`` is a numpy array holding the elements that will be displayed (the
    summarized data when the tensor is summarized).
    """

    def __init__(self, values):
        flat = np.asarray(values).reshape(-1)
        self.floating_dtype = flat.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1

        if not self.floating_dtype:
            if flat.size:
                if flat.dtype.kind == "b":
                    width = 5 if not flat.all() else 4      # "False" / "True"
                else:
                    width = max(len(str(flat.min().item())), len(str(flat.max().item())))
                self.max_width = max(self.max_width, width)
            return

        with np.errstate(all="ignore"):
            nonzero_finite = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero_finite.size == 0:
            # no valid number: int_mode, no sci_mode, width 1
            return

        # min / max of the absolute values, in double like PyTorch
        absolute = np.abs(nonzero_finite).astype(np.float64)
        abs_min = float(absolute.min())
        abs_max = float(absolute.max())

        self.int_mode = bool(np.all(nonzero_finite == np.ceil(nonzero_finite)))

        if PRINT_OPTS.sci_mode is None:
            with np.errstate(all="ignore"):
                ratio = float(np.float64(abs_max) / np.float64(abs_min))
            self.sci_mode = ratio > 1000.0 or abs_max > 1.0e8 or abs_min < 1.0e-4
        else:
            self.sci_mode = PRINT_OPTS.sci_mode

        # The length of a formatted number only depends on its sign and on how far its
        # magnitude is from 1, monotonically on each side, so the widest string is found
        # among the smallest/largest magnitudes of each sign.
        candidates = []
        for part in (nonzero_finite[nonzero_finite > 0], nonzero_finite[nonzero_finite < 0]):
            if part.size:
                candidates.append(float(part.min()))
                candidates.append(float(part.max()))
        prec = PRINT_OPTS.precision
        for value in candidates:
            if self.sci_mode:
                width = len(f"{value:.{prec}e}")
            elif self.int_mode:
                width = len(f"{value:.0f}") + 1   # room for the trailing "."
            else:
                width = len(f"{value:.{prec}f}")
            self.max_width = max(self.max_width, width)

    def width(self):
        return self.max_width

    def format(self, value):
        if self.floating_dtype:
            prec = PRINT_OPTS.precision
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{prec}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{prec}f}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _complex_str(value, formatter1, formatter2):
    real_str = formatter1.format(value.real)
    imag_str = (formatter2.format(value.imag) + "j").lstrip()
    # negative numbers, +0.0 and -0.0 carry their own sign
    if imag_str[0] == "+" or imag_str[0] == "-":
        return real_str + imag_str
    return real_str + "+" + imag_str


def _element_str(value, formatter1, formatter2):
    if formatter2 is not None:
        return _complex_str(complex(value), formatter1, formatter2)
    return formatter1.format(value)


# --------------------------------------------------------------------------- layout

def _vector_str(arr, indent, summarize, formatter1, formatter2=None):
    # element length includes the ", " between elements
    element_length = formatter1.width() + 2
    if formatter2 is not None:
        element_length += formatter2.width() + 1   # imaginary part and its "j"

    opts = PRINT_OPTS
    elements_per_line = max(1, math.floor((opts.linewidth - indent) / element_length))
    edge = opts.edgeitems

    def fmt(values):
        return [_element_str(v, formatter1, formatter2) for v in values]

    if summarize and not edge:
        data = ["..."]
    elif summarize and arr.shape[0] > 2 * edge:
        data = fmt(arr[:edge].tolist()) + [" ..."] + fmt(arr[-edge:].tolist())
    else:
        data = fmt(arr.tolist())

    lines = [", ".join(data[i:i + elements_per_line])
             for i in range(0, len(data), elements_per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(arr, indent, summarize, formatter1, formatter2=None):
    dim = arr.ndim
    if dim == 0:
        return _element_str(arr.item(), formatter1, formatter2)
    if dim == 1:
        return _vector_str(arr, indent, summarize, formatter1, formatter2)

    edge = PRINT_OPTS.edgeitems
    size = arr.shape[0]
    if summarize and size > 2 * edge:
        slices = ([_tensor_str_with_formatter(arr[i], indent + 1, summarize, formatter1, formatter2)
                   for i in range(edge)]
                  + ["..."]
                  + [_tensor_str_with_formatter(arr[i], indent + 1, summarize, formatter1, formatter2)
                     for i in range(size - edge, size)])
    else:
        slices = [_tensor_str_with_formatter(arr[i], indent + 1, summarize, formatter1, formatter2)
                  for i in range(size)]
    return "[" + ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices) + "]"


def _summarized_data(arr):
    """The elements that a summarized print shows (as ``get_summarized_data``)."""
    dim = arr.ndim
    edge = PRINT_OPTS.edgeitems
    if dim == 0:
        return arr
    if dim == 1:
        if arr.shape[0] > 2 * edge:
            # note: with edge == 0 this is arr[:0] + arr[-0:], i.e. everything, as in PyTorch
            return np.concatenate((arr[:edge], arr[-edge:]))
        return arr
    if not edge:
        return arr[(slice(0, 0),) * dim]
    size = arr.shape[0]
    if size > 2 * edge:
        rows = [arr[i] for i in range(edge)] + [arr[i] for i in range(size - edge, size)]
    else:
        rows = [arr[i] for i in range(size)]
    return np.stack([_summarized_data(r) for r in rows])


def _as_numpy(arr):
    arr = np.asarray(arr)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"cannot print an array of dtype {arr.dtype}")
    return arr


def tensor_str(arr, indent=7):
    """The bracketed contents of a tensor's repr (what follows ``tensor(``).

    ``indent`` is the column at which the contents start (7 for ``tensor(``).
    """
    arr = _as_numpy(arr)
    if arr.size == 0:
        return "[]"
    summarize = arr.size > PRINT_OPTS.threshold
    if arr.dtype.kind == "c":
        real, imag = arr.real, arr.imag
        real_formatter = _Formatter(_summarized_data(real) if summarize else real)
        imag_formatter = _Formatter(_summarized_data(imag) if summarize else imag)
        return _tensor_str_with_formatter(arr, indent, summarize, real_formatter, imag_formatter)
    formatter = _Formatter(_summarized_data(arr) if summarize else arr)
    return _tensor_str_with_formatter(arr, indent, summarize, formatter)


_EXTRA = len("cltensor.") - len("torch.")


def _layout_len(suffix):
    # Line breaks are decided with PyTorch's spelling ("torch.float64") so that the
    # output is PyTorch's with "torch." replaced by "cltensor.", line breaks included.
    return len(suffix) - _EXTRA * suffix.count("cltensor.")


def _add_suffixes(text, suffixes, indent, force_newline=False):
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        suffix_len = _layout_len(suffix)
        if force_newline or last_line_len + suffix_len + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + suffix_len
            force_newline = False
        else:
            parts.append(", " + suffix)
            last_line_len += suffix_len + 2
    parts.append(")")
    return "".join(parts)


_ALWAYS_SHOWN_WHEN_EMPTY = ("int64", "bool")


def tensor_repr(arr, dtype_name, show_dtype, device_str=None, requires_grad=False,
                grad_fn=None, *, empty_show_dtype=None, prefix="tensor("):
    """PyTorch's ``repr(tensor)`` for the values in ``arr``, with ``cltensor.`` for ``torch.``.

    Args:
        arr: numpy array with the tensor's values and shape (0-d and size-0 dims allowed).
            Its numpy dtype decides the notation (bool / integer / floating / complex);
            a bfloat16 tensor can be passed as float32 values with ``dtype_name='bfloat16'``.
        dtype_name: the tensor's dtype name, e.g. ``"float32"``; printed as
            ``dtype=cltensor.<dtype_name>``.
        show_dtype: ``not has_default_dtype`` in PyTorch's terms, i.e. True unless the dtype
            is the default float dtype, its complex counterpart (complex64 for a float32
            default, complex128 for a float64 default), int64 or bool.  It decides the
            ``dtype=`` suffix of non-empty tensors.
            Empty tensors follow PyTorch's other rule, "show the dtype unless it *is* the
            default float dtype": their dtype is printed when ``show_dtype`` is True or the
            dtype is int64, bool or complex (those are never the default float dtype), so
            ``tensor([], dtype=cltensor.int64)`` comes out as in PyTorch without extra
            arguments.  ``empty_show_dtype`` (True/False) overrides that derived rule.
        device_str: when not None, ``device='<device_str>'`` is appended (first suffix), as
            PyTorch does for tensors not on the default device.
        requires_grad: appends ``requires_grad=True`` (unless ``grad_fn`` is given).
        grad_fn: the grad_fn's class name, e.g. ``"AddBackward0"``; appends
            ``grad_fn=<AddBackward0>``.
        prefix: ``"tensor("`` normally; the suffix indentation follows its length.

    Whether a suffix goes on a new line is decided with its PyTorch spelling
    (``dtype=torch.float64``), so the result is exactly PyTorch's repr with ``torch.``
    replaced by ``cltensor.``, line breaks included (a line may thus run up to 3
    characters past ``linewidth`` where PyTorch's stops just short of it).

    Suffix order is PyTorch's: device, size (empty tensors whose dim != 1, or any tensor
    when ``edgeitems`` is 0), dtype, then grad_fn or requires_grad.
    """
    arr = _as_numpy(arr)
    indent = len(prefix)
    suffixes = []
    if device_str is not None:
        suffixes.append("device='" + str(device_str) + "'")

    dtype_suffix = "dtype=cltensor." + str(dtype_name)
    if arr.size == 0:
        # explicitly print the shape if it is not (0,), as NumPy does
        if arr.ndim != 1:
            suffixes.append("size=" + str(tuple(int(s) for s in arr.shape)))
        if empty_show_dtype is None:
            empty_show_dtype = (show_dtype or dtype_name in _ALWAYS_SHOWN_WHEN_EMPTY
                                or str(dtype_name).startswith("complex"))
        if empty_show_dtype:
            suffixes.append(dtype_suffix)
        contents = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(int(s) for s in arr.shape)))
        if show_dtype:
            suffixes.append(dtype_suffix)
        contents = tensor_str(arr, indent)

    if grad_fn is not None:
        name = str(grad_fn)
        if not (name.startswith("<") and name.endswith(">")):
            name = "<" + name + ">"
        suffixes.append("grad_fn=" + name)
    elif requires_grad:
        suffixes.append("requires_grad=True")

    return _add_suffixes(prefix + contents, suffixes, indent)


def format_scalar(value, dtype_name=None):
    """The contents of a 0-d tensor's repr, e.g. ``"3."`` for ``tensor(3.)``.

    ``value`` is a Python or numpy scalar; ``dtype_name`` (e.g. ``"float16"``) gives
    its numpy type when ``value`` is a plain Python number.
    """
    if dtype_name is not None and dtype_name != "bfloat16":
        arr = np.asarray(value, dtype=np.bool_ if dtype_name == "bool" else np.dtype(dtype_name))
    else:
        arr = np.asarray(value)
    return tensor_str(arr.reshape(()))


def _tensor_repr_method(self, *, tensor_contents=None):
    dt = self._dtype
    show_dtype = not (dt is D.get_default_dtype() or dt is D.int64 or dt is D.bool_ or
                      dt is D._default_complex())
    dev = None if self._device == dv.get_default_device() else str(self._device)
    gfn = grad_fn_name(self)
    return tensor_repr(self._to_numpy_copy(), dt.name, show_dtype, dev,
                       requires_grad=self.requires_grad and gfn is None, grad_fn=gfn)


_tensor_repr_method.__name__ = _tensor_repr_method.__qualname__ = "__repr__"
register_method("__repr__", _tensor_repr_method)
register_method("__str__", _tensor_repr_method)
register("set_printoptions", set_printoptions, kind="util")
register("get_printoptions", get_printoptions, kind="util")
