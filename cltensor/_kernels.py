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
import threading

import numpy as np
import pyopencl as cl

from . import _config as cfg
from . import _dtypes as D
from . import _dispatch
from . import _progress
from . import _clheader


def _template_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(here, "templates"), os.path.join(os.path.dirname(here), "templates")):
        if os.path.isdir(cand):
            return cand
    raise RuntimeError("cltensor: kernel templates not found (package installed incorrectly?)")


_lookup = None
DEBUG = cfg.debug()
stats = {"builds": 0, "build_seconds": 0.0, "launches": 0, "binary_loads": 0, "source_builds": 0, "binaries_saved": 0,
         "bundles": 0, "slim_fallbacks": 0}


def _tl():
    global _lookup
    if _lookup is None:
        from mako.lookup import TemplateLookup     # imported on the first source build only
        d = cache_dir()
        # compiled templates are kept as Python modules next to the binaries: parsing a template costs ~60 ms
        # (one folder per version of the template sources: Mako itself only compares modification times)
        kw = {"module_directory": os.path.join(d, "mako", _sources_tag()[:16])} if d is not None else {}
        _lookup = TemplateLookup(directories=[_template_dir()], strict_undefined=True, **kw)
    return _lookup


class KernelBuildError(RuntimeError):
    pass


# ---------------------------------------------------------------- dtype helpers used inside templates

_NARROW_VIA = {"uchar": "long", "char": "int", "short": "int"}


class T:
    """Template-side view of a dtype: C types, loads/stores with casts, literals."""

    def __init__(self, d):
        self.d = d
        self.ct = d.ctype            # storage type
        self.cc = d.ctype_compute    # compute type
        self.half = d is D.float16
        self.bf16 = d is D.bfloat16   # storage is the struct bf16 (preamble): no path can read it as a number
        self.complex = d.is_complex
        self.isbool = d is D.bool_
        self.isfloat = d.is_floating_point
        self.isint = d.category == 1
        self.name = d.name

    def load(self, ptr, idx):
        if self.half:
            return f"vload_half({idx}, {ptr})"
        if self.bf16:
            return f"as_float((uint)(({ptr})[{idx}]).b << 16)"
        return f"{ptr}[{idx}]"

    def store(self, ptr, idx, val):
        if self.half:
            return f"vstore_half_rte({val}, {idx}, {ptr})"
        if self.bf16:
            return f"({ptr})[{idx}].b = bf16_rne({val})"
        return f"{ptr}[{idx}] = {val}"

    def vload_bf16(self, ptr, off, n):
        """bfloat16: n contiguous elements at ptr[off] as a float vector (any address space)."""
        return "((float%d)(%s))" % (n, ", ".join(self.load(ptr, "(%s) + %d" % (off, q)) for q in range(n)))

    def vstore_bf16(self, ptr, off, val, n):
        """bfloat16: statement storing the float n-vector val to ptr[off..off+n), rounded."""
        return "do { const float%d v_ = %s; %s } while (0)" % (n, val, " ".join(
            "%s;" % self.store(ptr, "(%s) + %d" % (off, q), "v_.s%s" % "0123456789abcdef"[q]) for q in range(n)))

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
            expr = f"({expr}).x"
        if src.category >= 2 and self.cc in _NARROW_VIA:
            # float -> narrow integer is undefined out of range in C (AVX2 and AVX-512 PoCL targets differ):
            # go through a wide integer as PyTorch's CPU kernels do (uint8 via int64, int8/int16 via int32)
            return f"(({self.cc})({_NARROW_VIA[self.cc]})({expr}))"
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
        if _bundle.active is not None:      # cltensor.warmup is collecting a bundle (see _bundle.py)
            return _bundle.pend(rt, template, defname, params, key)
        k = _build(rt, template, defname, params, key)
    return k


def _needs64(rt, params):
    """Whether the kernel's dtypes need float64 (RuntimeError when rt's device has none)."""
    needs64 = any(isinstance(v, D.dtype) and v in (D.float64, D.complex128) for v in params.values()) or \
        any(isinstance(v, tuple) and any(x in (D.float64, D.complex128) for x in v if isinstance(x, D.dtype))
            for v in params.values())
    if needs64 and not rt.info.fp64:
        raise RuntimeError(f"device {rt.device} ({rt.info.name}) does not support float64 (no cl_khr_fp64): "
                           "use float32 on this device")
    return needs64


def _has_bf16(params):
    return any(v is D.bfloat16 or (isinstance(v, tuple) and any(x is D.bfloat16 for x in v))
               for v in params.values())


def _source(rt, template, defname, params):
    """The OpenCL C source of a kernel, after checking that rt's device can build it."""
    needs64 = _needs64(rt, params)
    tparams = {k: (T(v) if isinstance(v, D.dtype) else
                   tuple(T(x) if isinstance(x, D.dtype) else x for x in v) if isinstance(v, tuple) else v)
               for k, v in params.items()}
    src = render(template, defname, **tparams)
    if not rt.info.fp64:
        # code a template guards with `#ifdef cl_khr_fp64` is left out, also where the driver has fp64 but the
        # device profile says otherwise (docs/portability.md)
        src = src.replace("#ifdef cl_khr_fp64", _NO_FP64)
    if not needs64 and not rt.info.fp64 and _uses_fp64(src):
        path = _save_source(defname, src)
        raise KernelBuildError(f"cltensor bug: kernel '{defname}' from templates/{template}.mako ({params}) "
                               f"uses double although none of its dtypes is float64, so it cannot build on "
                               f"{rt.device} ({rt.info.name}, no cl_khr_fp64). Source: {path}")
    return src


def _build(rt, template, defname, params, key):
    import time
    _needs64(rt, params)
    t0 = time.perf_counter()
    path = None if DEBUG else _binary_path(rt, key)
    prg = _load_binary(rt, path) if path is not None else None
    if prg is None and path is not None:       # part of a bundle stored by cltensor.warmup?
        k = _bundle.load_ref(rt, path, key)
        if k is not None:
            return k
    if prg is None:            # render and build from source
        src = _source(rt, template, defname, params)
        if DEBUG:
            print(f"[cltensor] build {template}:{defname} {params}\n{src}", file=sys.stderr)
        try:
            prg, src, opts = build_program(rt, src)
        except cl.Error as e:
            path = _save_source(defname, src)
            if _has_bf16(params):
                # a template path without bfloat16 support reads its struct storage as a number: refuse
                raise KernelBuildError(f'"{template}.{defname}" not implemented for \'BFloat16\' (source: {path})') \
                    from None
            raise KernelBuildError(f"cltensor: building kernel '{defname}' from templates/{template}.mako "
                                   f"({params}) failed on {rt.device} ({rt.info.name}). Source: {path}\n"
                                   f"Build log:\n{e}") from None
        stats["source_builds"] += 1
        if path is not None and not _maybe_save(prg, path, rt):
            _to_fill(rt, path, src, opts)
        _progress.built(1, time.perf_counter() - t0)
    stats["builds"] += 1
    stats["build_seconds"] += time.perf_counter() - t0
    return _register(rt, key, cl.Kernel(prg, "k"))


def _register(rt, key, k):
    """Make built kernel k the one get() returns for key on rt."""
    k.key = key
    _declare_arg_types(k)
    _note_wg_limit(rt, k)
    rt.kernels[key] = k
    return k


# -w: compiler warnings are not the user's business (PoCL's clang printed "N warnings generated." on stderr for
# double8 helper calls on AVX2 targets); CLTENSOR_DEBUG=1 shows them
_OPTIONS = ["-cl-kernel-arg-info"] + ([] if DEBUG else ["-w"])
_SLIM_OPTIONS = _OPTIONS + [_clheader.OPTION]


def _slim_index(rt):
    """The builtin-declaration index for rt's device when its programs build with the slim header (PoCL), else
    None (see _clheader)."""
    idx = rt.__dict__.get("_slim")
    if idx is None:
        idx = False
        try:
            dv = rt.info.cl_device
            if _clheader.enabled() and dv.platform.name == "Portable Computing Language":
                path = _clheader.find(dv.platform.version)
                if path is not None:
                    idx = _clheader.load(path, cache_dir()) or False
        except Exception:
            idx = False
        rt._slim = idx
    return idx or None


def build_program(rt, src):
    """Build OpenCL C source `src` on rt's context: returns (program, source built, options). On PoCL the source is
    built behind the slim builtin header (_clheader); a program that builds only with the full header is built
    with it (after a few such programs the slim header is dropped for the process). A bad source raises the
    full build's error."""
    idx = _slim_index(rt)
    if idx is not None and "##" not in src:       # (token pasting could form builtin names the scan cannot see)
        slim = idx.header(src) + src
        try:
            return cl.Program(rt.ctx, slim).build(options=_SLIM_OPTIONS), slim, _SLIM_OPTIONS
        except cl.Error:
            prg = cl.Program(rt.ctx, src).build(options=_OPTIONS)
            if _clheader.strict():
                path = _save_source("slim", slim)
                raise KernelBuildError(f"cltensor: a program builds with the full builtin header but not with the "
                                       f"slim one ({_clheader.ENV_SWITCH}=strict). Source: {path}") from None
            stats["slim_fallbacks"] += 1
            rt._slim_misses = rt.__dict__.get("_slim_misses", 0) + 1
            if rt._slim_misses >= 3:
                rt._slim = False
            if DEBUG:
                print(f"[cltensor] built with the full builtin header:\n{src}", file=sys.stderr)
            return prg, src, _OPTIONS
    return cl.Program(rt.ctx, src).build(options=_OPTIONS), src, _OPTIONS


def cache_dir():
    """Where built program binaries are kept across processes: CLTENSOR_CACHE_DIR, else
    $XDG_CACHE_HOME/cltensor or ~/.cache/cltensor; CLTENSOR_CACHE_DIR=0 (or empty) turns the cache off."""
    return cfg.cache_dir()


# When to store a program's binary in the cache (CLTENSOR_CACHE_BINARIES): "1" after every source build, "0"
# never, default "auto": a program built from source the second time (in a later process) is stored, within
# a budget of SAVE_BUDGET_S seconds per process. Asking PoCL for a binary makes it generate code again the
# first time (0.15-0.35 s per program here, holding the GIL), so storing is spread over processes instead of
# landing on one; cltensor.warmup() stores everything it builds.
_mode = cfg.cache_binaries()
save_binaries = _mode not in ("", "0", "auto")
SAVE_BUDGET_S = [0.0 if _mode in ("", "0") else 0.5]


_sources_hash = []


def _sources_tag():
    """A hash of everything a kernel's source is generated from: the templates and this module (T)."""
    if not _sources_hash:
        h = hashlib.sha256()
        d = _template_dir()
        for name in sorted(os.listdir(d)):
            if name.endswith(".mako"):
                with open(os.path.join(d, name), "rb") as f:
                    h.update(name.encode() + b"\0" + f.read())
        with open(os.path.abspath(__file__), "rb") as f:
            h.update(f.read())
        _sources_hash.append(h.hexdigest())
    return _sources_hash[0]


_template_hashes = {}
_NAMESPACE_FILE = re.compile(rb'<%(?:namespace|include|inherit)[^>]*?file="([^"]+)"')


def _template_tag(template):
    """A hash of the sources one template's kernels are generated from: the template, the templates it pulls in
    (its <%namespace/include/inherit file=...>, transitively) and this module. Binaries of the other templates
    stay valid when one template changes."""
    t = _template_hashes.get(template)
    if t is None:
        h = hashlib.sha256()
        d = _template_dir()
        todo, seen = [template + ".mako"], set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            h.update(name.encode() + b"\0" + data)
            todo.extend(m.decode() for m in _NAMESPACE_FILE.findall(data))
        with open(os.path.abspath(__file__), "rb") as f:
            h.update(f.read())
        t = _template_hashes[template] = h.hexdigest()
    return t


def _binary_path(rt, key):
    """The binary cache file of kernel `key` (template, def, params) on rt's device, or None (cache off).
    Keyed by what determines the program: device, driver, pyopencl, build options, the sources of its template
    (_template_tag) and params, so a hit skips rendering the template too (and importing Mako at all)."""
    d = cache_dir()
    if d is None:
        return None
    tag = rt.__dict__.get("_bin_tag")
    if tag is None:
        dv = rt.info.cl_device
        tag = rt._bin_tag = "\0".join([dv.platform.name, dv.platform.version, dv.name, dv.version,
                                       dv.driver_version, cl.VERSION_TEXT, " ".join(_OPTIONS),
                                       "fp64" if rt.info.fp64 else "no-fp64"])   # (a profile may turn fp64 off)
    h = hashlib.sha256(f"{tag}\0{_template_tag(key[0])}\0{key!r}".encode()).hexdigest()
    return os.path.join(d, h[:2], h[2:] + ".bin")


def _load_binary(rt, path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    try:
        prg = cl.Program(rt.ctx, [rt.info.cl_device], [data]).build(options=_OPTIONS)
    except cl.Error:
        return None           # rejected (other driver build, damaged file): build from source instead
    stats["binary_loads"] += 1
    return prg


def generic_code(rt):
    """Whether rt's driver compiles each kernel once, into code for any launch geometry, so that a program's
    binary costs nothing extra once its kernels ran (PoCL's CPU driver with POCL_WORK_GROUP_SPECIALIZATION=0,
    which cltensor sets by default: see cltensor/__init__.py). Specialising drivers compile again per launch
    geometry, and generate the generic code a second time for the binary (0.15-0.8 s per program)."""
    g = rt.__dict__.get("_generic_code")
    if g is None:
        try:
            dv = rt.info.cl_device
            spec = os.environ.get("POCL_WORK_GROUP_SPECIALIZATION", "1").strip().lower()
            g = (dv.platform.name == "Portable Computing Language" and bool(dv.type & cl.device_type.CPU)
                 and spec in ("0", "false", "no", "off"))
        except Exception:
            g = False
        rt._generic_code = g
    return g


def _maybe_save(prg, path, rt=None):
    """Store the binary now (or at exit) where the mode says so; True when stored or queued for exit."""
    if save_binaries:
        return _save_binary(prg, path)
    if _mode == "auto" and rt is not None and generic_code(rt) and _save_at_exit(prg, path):
        return True
    if SAVE_BUDGET_S[0] <= 0:
        return False
    seen = path[:-4] + ".seen"
    try:
        if os.path.exists(seen):
            import time
            t0 = time.perf_counter()
            ok = _save_binary(prg, path)
            if ok:
                os.unlink(seen)
            SAVE_BUDGET_S[0] -= time.perf_counter() - t0
            return ok
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(seen, "wb").close()
    except OSError:
        pass
    return False


# Programs to store when the process ends (CLTENSOR_CACHE_BINARIES=auto on a driver with generic code): by then
# their kernels have run, so the driver has generated their code and handing out the binary costs ~1 ms.
_at_exit = []


def _save_at_exit(prg, path):
    if not cfg.cache_fill():
        return False
    if not _at_exit:
        import atexit
        atexit.register(_store_at_exit)
    _at_exit.append((prg, path))
    return True


def _store_at_exit():
    while _at_exit:
        prg, path = _at_exit.pop()
        if not os.path.exists(path) and _save_binary(prg, path):
            try:
                os.unlink(path[:-4] + ".seen")      # (a marker of the "store on the second build" rule)
            except OSError:
                pass


# Programs built from source whose binaries were not stored: when the process ends (CLTENSOR_CACHE_BINARIES=auto),
# a detached low-priority process (cltensor/_cachefill.py, pyopencl only) builds them again - quickly, PoCL's own
# cache is warm by then - and stores their binaries, so the next run loads every program instead of building it,
# and the first run does not wait for PoCL to generate code a second time. CLTENSOR_CACHE_FILL=0 turns it off
# (the test suite does).
_fill = []


def _to_fill(rt, path, src, options):
    if _mode != "auto" or not cfg.cache_fill():
        return
    if not _fill:
        import atexit
        atexit.register(_spawn_fill)
    dv = rt.info.cl_device
    _fill.append((dv.platform.name, dv.name, path, src, options))


def _spawn_fill():
    if not _fill or not cfg.cache_fill():
        return
    import pickle
    import subprocess
    try:
        fd, job = tempfile.mkstemp(prefix="cltensor-fill-", suffix=".pkl")
        with os.fdopen(fd, "wb") as f:
            pickle.dump({"programs": _fill}, f)
        subprocess.Popen([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_cachefill.py"),
                          job], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True)
    except OSError:
        pass


def _save_binary(prg, path):
    try:
        data = prg.binaries[0]
        if data:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)        # atomic: concurrent processes never read a partial file
            stats["binaries_saved"] += 1
            return True
    except (OSError, cl.Error):
        pass
    return False
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_FP64_WORD = re.compile(r"\bdouble\d*\b|cl_khr_fp64")


_NO_FP64 = "#if 0 /* no cl_khr_fp64 */"
_OFF = re.compile(re.escape(_NO_FP64) + r".*?(?=#else|#endif)", re.S)


def _uses_fp64(src):
    """Whether generated OpenCL C source uses double (types or the extension pragma), comments and code left out
    for devices without fp64 aside. Kernels for non-float64 dtypes must not: devices without cl_khr_fp64 (many
    Intel and Apple GPUs) refuse them, and on the others a stray double turns float32 arithmetic into slow (often
    emulated) float64."""
    return _FP64_WORD.search(_COMMENT.sub("", _OFF.sub("", src))) is not None


def _note_wg_limit(rt, k):
    """A kernel's own work-group limit (CL_KERNEL_WORK_GROUP_SIZE: register pressure on GPUs) can be below the
    device's; record it when it is, so launch() shrinks a 1-D local size to fit instead of failing."""
    try:
        lim = k.get_work_group_info(cl.kernel_work_group_info.WORK_GROUP_SIZE, rt.info.cl_device)
    except Exception:
        return
    if lim < rt.local_size:
        set_wg_limit(k, max(1, 1 << (int(lim).bit_length() - 1)))   # a power of two: divides the global size


def set_wg_limit(k, lim):
    """Launch k with 1-D local sizes of at most lim (None: no limit); such launches take the slow path."""
    if lim is None:
        k.__dict__.pop("wg_limit", None)
        if k.__dict__.get("typed") is not None:
            _untyped.discard(k)
    else:
        k.wg_limit = lim
        _untyped.add(k)


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
        _untyped.add(k)
        return
    _set_types(k, types)


# Kernels launch() sends through _launch_slow: scalar argument types not declared yet (a driver without
# argument info: inferred from the first call's numpy scalars) or a work-group limit below the device's (the
# local size shrinks). Normally empty, so launch's check costs one truth test.
_untyped = set()


def _set_types(k, types):
    k.set_scalar_arg_dtypes(types)
    k.typed = True
    k.arg_types = types          # kept for captured graphs (cltensor/_graphs.py: clones get no declared types)
    if k.__dict__.get("wg_limit") is None:
        _untyped.discard(k)


def set_arg_types(kernel, types):
    """Declare a kernel's scalar argument types (None for buffers) once: pyopencl then packs Python ints and
    floats directly, several times faster than untyped numpy scalars."""
    if kernel.__dict__.get("typed") is None:
        _set_types(kernel, types)


_PACK = {np.dtype(t).type: np.dtype(t).char.encode() for t in
         (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64, np.float32, np.float64)}


def set_scalar(kernel, i, t, v):
    """Set scalar argument i of kernel to v as numpy type t. pyopencl's Kernel.set_arg takes ~7 us for a scalar
    here; the packed form its generated invokers use takes ~0.1 us."""
    c = _PACK.get(t)
    if c is None:
        kernel.set_arg(i, t(v))
    else:
        kernel._set_arg_buf_pack_multi((i, c, v if type(v) is not bool else int(v)))


# Held from setting a kernel's arguments to its enqueue by every launcher: kernels, their pre-bound clones and the
# arguments left set on them are shared by all threads (pyopencl's invoker, too, sets and then enqueues).
LOCK = threading.RLock()

# Kernels whose operands hold at most this many bytes are "small" for the launch gate (_device.Queue): a few
# microseconds of work, which can wait behind it while the host enqueues the next ones.
SMALL_BYTES = 1 << 16

# The launch observer: None normally; the profiler (cltensor/profiler.py) or CLTENSOR_DEBUG install one that
# sees (rt, kernel, gsize, lsize, args) and does the enqueue itself.
observer = None


def launch(rt, kernel, gsize, lsize, args, small=False):
    """Enqueue kernel on rt's queue (asynchronously). Returns the event. small: a kernel of little work, which
    the launch gate may hold back (_device.Queue)."""
    if _dispatch.mode is not None:      # cltensor.compile: an eager kernel during a trace is a graph break
        _dispatch.mode.before_launch()
    stats["launches"] += 1
    with LOCK:
        if observer is not None:
            return observer(rt, kernel, gsize, lsize, args)
        if _untyped and kernel in _untyped:
            return _launch_slow(rt.queue, kernel, gsize, lsize, args)
        return invoke(rt.queue, kernel, gsize, lsize, args, small)


def enqueue(q, kernel, gsize, lsize, small=False):
    """clEnqueueNDRangeKernel of a kernel whose arguments are set, through q's launch gate (_device.Queue.call);
    small: a kernel of little work, which the gate may hold back."""
    if q.batch:
        return q.call(small, _ENQ, q, kernel, gsize, lsize, None, None, False, False)
    return _ENQ(q, kernel, gsize, lsize, None, None, False, False)


def invoke(q, kernel, gsize, lsize, args, small=False):
    """pyopencl's invoker (sets every argument, then enqueues) through q's launch gate (see enqueue)."""
    if q.batch:
        return q.call(small, kernel, q, gsize, lsize, *args)
    return kernel(q, gsize, lsize, *args)


def launch_bound(rt, kernel, gsize, lsize, args, small=False):
    """launch() for callers that pass every argument on every launch (and set none on the kernel themselves):
    from its second launch with this geometry the kernel gets its own clone, and later launches set only the
    arguments that changed (buffers compared by identity, scalars by value), then enqueue it directly instead
    of pyopencl's invoker packing and setting every argument (docs/performance.md). The original kernel's
    arguments are left as they were, so callers that keep arguments set on it (enqueue_set) must use launch()."""
    if _dispatch.mode is not None or observer is not None or (_untyped and kernel in _untyped):
        return launch(rt, kernel, gsize, lsize, args, small)
    stats["launches"] += 1
    key = (kernel, gsize, lsize)
    with LOCK:
        b = _bound.get(key)
        if b is None:
            n = _bind_uses.get(key, 0) + 1
            if len(_bind_uses) >= _BOUND_MAX:
                _bind_uses.clear()
            _bind_uses[key] = n
            if n < 2 or not _bind(key, kernel, args):
                return invoke(rt.queue, kernel, gsize, lsize, args, small)
            b = _bound[key]
        kc, types, last = b
        if len(args) != len(last):
            return invoke(rt.queue, kernel, gsize, lsize, args, small)
        set_changed(kc, types, last, args)
        return enqueue(rt.queue, kc, gsize, lsize, small)


def set_changed(kc, types, last, args):
    """Set on kernel clone kc the arguments that differ from those set before (`last`, updated): buffers compared
    by identity, scalars by value; types[i] is None for a buffer, else the scalar's numpy type."""
    i = 0
    for v in args:
        if v is not last[i]:
            t = types[i]
            if t is None:
                kc.set_arg(i, v)
            elif v != last[i]:
                set_scalar(kc, i, t, v)
            last[i] = v
        i += 1


# Pre-bound launches (launch_bound)
_bound = {}         # (kernel, gsize, lsize) -> [clone, numpy types (None: buffer), last arguments]
_bind_uses = {}
_BOUND_MAX = 4096
_ENQ = cl._cl.enqueue_nd_range_kernel


def _bind(key, kernel, args):
    types = kernel.__dict__.get("arg_types")
    if types is None or len(types) != len(args):
        return False
    types = [None if t is None else np.dtype(t).type for t in types]
    if any(t is not None and t not in _PACK for t in types):
        return False            # a type the packed form does not cover: pyopencl's invoker keeps it
    if any(a is not None and not isinstance(a, cl.MemoryObjectHolder) for a, t in zip(args, types) if t is None):
        return False           # local memory or other special arguments: not bound
    if len(_bound) >= _BOUND_MAX:
        _bound.clear()
        _bind_uses.clear()
    _bound[key] = [kernel.clone(), types, [UNSET] * len(args)]
    return True


UNSET = object()        # (no argument set yet on a clone: see set_changed)


def enqueue_set(rt, kernel, gsize, lsize, small=False):
    """Enqueue kernel with the arguments already set on it (callers that keep a kernel's scalar arguments set
    between launches and change only buffers with set_arg, holding LOCK from the first set_arg to this call)."""
    stats["launches"] += 1
    if observer is not None:
        return observer(rt, kernel, gsize, lsize, None)
    return enqueue(rt.queue, kernel, gsize, lsize, small)


def _launch_slow(queue, kernel, gsize, lsize, args):
    if args is None:
        return enqueue(queue, kernel, gsize, lsize)
    if kernel.__dict__.get("typed") is None:   # not declared by the caller: infer from this call's numpy scalars
        _set_types(kernel, [None if a is None or isinstance(a, (cl.MemoryObjectHolder, cl.LocalMemory))
                            else np.asarray(a).dtype for a in args])
    lim = kernel.__dict__.get("wg_limit")
    if lim is not None and lsize is not None and len(lsize) == 1 and lsize[0] > lim:
        lsize = (lim,)       # 1-D launches round the global size up to a power-of-two local size: lim divides it
    return invoke(queue, kernel, gsize, lsize, args)


def _debug_observer(rt, kernel, gsize, lsize, args):
    print(f"[cltensor] launch {label(kernel)} global={gsize} local={lsize}", file=sys.stderr)
    return _launch_slow(rt.queue, kernel, gsize, lsize, args)


if DEBUG:
    observer = _debug_observer


def label(kernel):
    """A readable name for a built kernel: template.def[op-or-expr, dtypes], e.g. elementwise.flat[add,float32]."""
    lab = kernel.__dict__.get("label")
    if lab is not None:
        return lab
    key = kernel.__dict__.get("key")
    if key is None:
        return kernel.function_name
    template, defname, params = key
    parts = []
    p = dict(params)
    ex = p.get("expr")
    if isinstance(ex, str):
        parts.append(_op_name(ex))
    elif isinstance(ex, tuple):         # a chain fused by cltensor.compile
        nops = sum(1 for st in ex[0] if st.split("=")[0].split()[-1].startswith("r"))
        parts.append(f"fused{nops}")
    for name in ("op", "kind", "mode", "variant", "reduce_op", "rop"):
        v = p.get(name)
        if isinstance(v, str) and v not in parts:
            parts.append(v)
    seen = []
    for _, v in params:
        for x in (v if isinstance(v, tuple) else (v,)):
            if isinstance(x, D.dtype) and x.name not in seen:
                seen.append(x.name)
    parts += seen[:3]
    lab = f"{template}.{defname}" + (f"[{','.join(parts)}]" if parts else "")
    kernel.label = lab
    return lab


def _op_name(expr):
    """The elementwise op whose table expression is `expr` (else the expression itself, shortened): profiler
    labels. The op table (cltensor/_ops.py) names its expressions with name_expression() as its rows load."""
    n = _op_names.get(expr)
    if n is None:
        n = expr if len(expr) <= 24 else expr[:21] + "..."
    return n


_op_names = {"x0": "copy"}     # C expression of an elementwise op -> the op's name


def name_expression(expr, name):
    """Label kernels running C expression `expr` (with $T for each C type it is rendered with) as op `name`."""
    _op_names.setdefault(expr, name)
    if "$T" in expr:
        for t in ("float", "double", "float2", "double2", "int", "long", "char", "uchar", "short"):
            _op_names.setdefault(expr.replace("$T", t), name)


def round_up(n, m):
    return (n + m - 1) // m * m


from . import _bundle   # noqa: E402  (it uses this module's helpers)
