"""Kernel pipeline: render Mako templates, build programs per device, cache kernels in-process.

`get(rt, template, defname, **params)` renders `<%def name=defname>` of `templates/<template>.mako` with the
params (which must be hashable) and returns a ready `cl.Kernel` named `k`. Built kernels are cached by
(template, defname, params) per device runtime; pyopencl/PoCL keep their own disk caches for later processes.

Set CLTENSOR_DEBUG=1 to print each generated kernel source and each launch.
"""
import os
import re
import sys
import hashlib
import tempfile

import numpy as np
from mako.lookup import TemplateLookup
import pyopencl as cl

from . import _dtypes as D


def _template_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(here, "templates"), os.path.join(os.path.dirname(here), "templates")):
        if os.path.isdir(cand):
            return cand
    raise RuntimeError("cltensor: kernel templates not found (package installed incorrectly?)")


_lookup = None
DEBUG = bool(os.environ.get("CLTENSOR_DEBUG"))
stats = {"builds": 0, "build_seconds": 0.0, "launches": 0}


def _tl():
    global _lookup
    if _lookup is None:
        _lookup = TemplateLookup(directories=[_template_dir()], strict_undefined=True)
    return _lookup


class KernelBuildError(RuntimeError):
    pass


# ---------------------------------------------------------------- dtype helpers used inside templates

class T:
    """Template-side view of a dtype: C types, loads/stores with casts, literals."""

    def __init__(self, d):
        self.d = d
        self.ct = d.ctype            # storage type
        self.cc = d.ctype_compute    # compute type
        self.half = d is D.float16
        self.complex = d.is_complex
        self.isbool = d is D.bool_
        self.isfloat = d.is_floating_point
        self.isint = d.category == 1
        self.name = d.name

    def load(self, ptr, idx):
        if self.half:
            return f"vload_half({idx}, {ptr})"
        return f"{ptr}[{idx}]"

    def store(self, ptr, idx, val):
        if self.half:
            return f"vstore_half_rte({val}, {idx}, {ptr})"
        return f"{ptr}[{idx}] = {val}"

    def cast_from(self, expr, src):
        """C expression converting `expr` (in src's compute type) to this dtype's compute type."""
        if isinstance(src, T):
            src = src.d
        if src is self.d or (src.ctype_compute == self.cc and not self.isbool):
            return expr
        if self.isbool:
            if src.is_complex:
                return f"(uchar)(({expr}).x != 0 || ({expr}).y != 0)"
            return f"(uchar)(({expr}) != 0)"
        if self.complex:
            if src.is_complex:
                return f"convert_{self.cc}({expr})"
            r = "float" if self.cc == "float2" else "double"
            return f"(({self.cc})(({r})({expr}), ({r})0))"
        if src.is_complex:
            return f"(({self.cc})(({expr}).x))"
        return f"(({self.cc})({expr}))"

    def zero(self):
        return f"(({self.cc})0)"


# ---------------------------------------------------------------- build + cache

_src_dir = None


def _save_source(name, src):
    global _src_dir
    if _src_dir is None:
        _src_dir = tempfile.mkdtemp(prefix="cltensor-src-")
    h = hashlib.sha1(src.encode()).hexdigest()[:12]
    path = os.path.join(_src_dir, f"{name}-{h}.cl")
    with open(path, "w") as f:
        f.write(src)
    return path


def render(template, defname, **params):
    tpl = _tl().get_template(template + ".mako")
    return tpl.get_def(defname).render(**params)


def get(rt, template, defname, **params):
    key = (template, defname, tuple(sorted(params.items())))
    k = rt.kernels.get(key)
    if k is None:
        k = _build(rt, template, defname, params, key)
    return k


def _build(rt, template, defname, params, key):
    import time
    needs64 = any(isinstance(v, D.dtype) and v in (D.float64, D.complex128) for v in params.values()) or \
        any(isinstance(v, tuple) and any(x in (D.float64, D.complex128) for x in v if isinstance(x, D.dtype))
            for v in params.values())
    if needs64 and not rt.info.fp64:
        raise RuntimeError(f"device {rt.device} ({rt.info.name}) does not support float64 (no cl_khr_fp64): "
                           "use float32 on this device")
    tparams = {k: (T(v) if isinstance(v, D.dtype) else
                   tuple(T(x) if isinstance(x, D.dtype) else x for x in v) if isinstance(v, tuple) else v)
               for k, v in params.items()}
    src = render(template, defname, **tparams)
    if not needs64 and not rt.info.fp64 and _uses_fp64(src):
        path = _save_source(defname, src)
        raise KernelBuildError(f"cltensor bug: kernel '{defname}' from templates/{template}.mako ({params}) uses "
                               f"double although none of its dtypes is float64, so it cannot build on {rt.device} "
                               f"({rt.info.name}, no cl_khr_fp64). Source: {path}")
    if DEBUG:
        print(f"[cltensor] build {template}:{defname} {params}\n{src}", file=sys.stderr)
    t0 = time.perf_counter()
    try:
        prg = cl.Program(rt.ctx, src).build(options=["-cl-kernel-arg-info"])
    except cl.Error as e:
        path = _save_source(defname, src)
        raise KernelBuildError(f"cltensor: building kernel '{defname}' from templates/{template}.mako "
                               f"({params}) failed on {rt.device} ({rt.info.name}). Source: {path}\n"
                               f"Build log:\n{e}") from None
    stats["builds"] += 1
    stats["build_seconds"] += time.perf_counter() - t0
    k = cl.Kernel(prg, "k")
    _declare_arg_types(k)
    _note_wg_limit(rt, k)
    rt.kernels[key] = k
    return k


_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_FP64_WORD = re.compile(r"\bdouble\d*\b|cl_khr_fp64")


def _uses_fp64(src):
    """Whether generated OpenCL C source uses double (types or the extension pragma), comments aside. Kernels for
    non-float64 dtypes must not: devices without cl_khr_fp64 (many Intel and Apple GPUs) refuse them, and on the
    others a stray double turns float32 arithmetic into slow (often emulated) float64."""
    return _FP64_WORD.search(_COMMENT.sub("", src)) is not None


def _note_wg_limit(rt, k):
    """A kernel's own work-group limit (CL_KERNEL_WORK_GROUP_SIZE: register pressure on GPUs) can be below the
    device's; record it when it is, so launch() shrinks a 1-D local size to fit instead of failing."""
    try:
        lim = k.get_work_group_info(cl.kernel_work_group_info.WORK_GROUP_SIZE, rt.info.cl_device)
    except Exception:
        return
    if lim < rt.local_size:
        k.wg_limit = max(1, 1 << (int(lim).bit_length() - 1))   # a power of two: still divides the global size


_ARG_NP = {"char": np.int8, "uchar": np.uint8, "short": np.int16, "ushort": np.uint16, "int": np.int32,
           "uint": np.uint32, "long": np.int64, "ulong": np.uint64, "float": np.float32, "double": np.float64,
           "float2": np.complex64, "double2": np.complex128}


def _declare_arg_types(k):
    """Type the kernel's scalar arguments from its own signature (built with -cl-kernel-arg-info), so callers
    may pass Python numbers and pyopencl packs them fast. Drivers without argument info fall back to inferring
    the types from the first launch's numpy scalars (see launch)."""
    try:
        types = []
        for i in range(k.num_args):
            name = k.get_arg_info(i, cl.kernel_arg_info.TYPE_NAME).strip()
            if name.endswith("*"):
                types.append(None)
            else:
                types.append(_ARG_NP[name])
    except Exception:
        return
    k.set_scalar_arg_dtypes(types)
    k.typed = True


def set_arg_types(kernel, types):
    """Declare a kernel's scalar argument types (None for buffers) once: pyopencl then packs Python ints and
    floats directly, several times faster than untyped numpy scalars."""
    if kernel.__dict__.get("typed") is None:
        kernel.set_scalar_arg_dtypes(types)
        kernel.typed = True


def launch(rt, kernel, gsize, lsize, args):
    if DEBUG:
        print(f"[cltensor] launch {kernel.function_name} global={gsize} local={lsize}", file=sys.stderr)
    stats["launches"] += 1
    if kernel.__dict__.get("typed") is None:   # not declared by the caller: infer from this call's numpy scalars
        kernel.set_scalar_arg_dtypes([None if a is None or isinstance(a, (cl.MemoryObjectHolder, cl.LocalMemory))
                                      else np.asarray(a).dtype for a in args])
        kernel.typed = True
    lim = kernel.__dict__.get("wg_limit")
    if lim is not None and lsize is not None and len(lsize) == 1 and lsize[0] > lim:
        lsize = (lim,)       # 1-D launches round the global size up to a power-of-two local size: lim divides it
    kernel(rt.queue, gsize, lsize, *args)


def round_up(n, m):
    return (n + m - 1) // m * m
