"""OpenCL devices: enumeration of every platform, `device` objects, one lazy context/queue/pool per device.

Names: "cpu" is the first OpenCL CPU device, "gpu:k" the k-th GPU (alias "cuda:k", as in PyTorch's ROCm
build), "cl:N" the N-th device overall. Devices that are neither (a second CPU, an accelerator) are "cl:N".
"""
import atexit
import os
import threading
import weakref

import numpy as np

try:
    import pyopencl as cl
except Exception:  # pragma: no cover - pyopencl is a dependency, but fail soft for `import cltensor`
    cl = None

from . import _config

_TYPE_ALIASES = {"cuda": "gpu", "gpu": "gpu", "cpu": "cpu", "cl": "cl", "opencl": "cl"}


class device:
    """``cltensor.device("cpu")``, ``device("gpu", 0)``, ``device("cuda:0")``, ``device("cl:1")``."""
    __slots__ = ("type", "index", "_hash")

    def __init__(self, spec, index=None):
        if isinstance(spec, device):
            self.type, self.index, self._hash = spec.type, spec.index, spec._hash
            return
        if isinstance(spec, int) and not isinstance(spec, bool):
            spec, index = "gpu", spec
        if not isinstance(spec, str):
            raise TypeError(f"device() expected a string or int, got {type(spec).__name__}")
        s = spec.strip().lower()
        if ":" in s:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed explicitly: {spec}")
            s, _, idx = s.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{spec}'")
            index = int(idx)
        if s not in _TYPE_ALIASES:
            raise RuntimeError(f"Expected one of cpu, gpu, cuda, cl device type at start of device string: {spec}")
        t = _TYPE_ALIASES[s]
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index}")
        if t == "cl":
            if index is None:
                raise RuntimeError("'cl' needs an index: cl:N is the N-th OpenCL device")
            d = _physical_by_overall_index(index).canonical
            t, index = d.type, d.index
        if t == "cpu" and index not in (None, 0):
            raise RuntimeError(f"cpu device index must be 0 or absent, got {index}")
        self.type = t
        self.index = None if t == "cpu" else index
        self._hash = hash((self.type, self.index))   # devices key the runtime table on every allocation

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if other is self:
            return True
        if isinstance(other, str):
            try:
                other = device(other)
            except Exception:
                return False
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return self._hash

    def __reduce__(self):
        return (device, (str(self),))


class DeviceInfo:
    """Capabilities of one OpenCL device, gathered in one place (every kernel choice reads these)."""

    def __init__(self, cl_device, overall_index, platform):
        d = cl_device
        self.cl_device = d
        self.overall_index = overall_index
        self.name = d.name.strip()
        self.platform = platform.name.strip()
        self.vendor = d.vendor.strip()
        self.driver = d.driver_version
        self.is_cpu = bool(d.type & cl.device_type.CPU)
        self.is_gpu = bool(d.type & cl.device_type.GPU)
        ext = d.extensions.split()
        self.extensions = ext
        self.fp64 = "cl_khr_fp64" in ext or d.double_fp_config != 0
        self.fp16 = "cl_khr_fp16" in ext
        self.max_work_group_size = d.max_work_group_size
        self.max_work_item_sizes = tuple(int(x) for x in d.max_work_item_sizes)
        self.local_mem_size = d.local_mem_size
        self.global_mem_size = d.global_mem_size
        self.max_alloc = d.max_mem_alloc_size
        self.compute_units = d.max_compute_units
        self.unified_memory = bool(d.host_unified_memory) or self.is_cpu
        # preferred vector widths per scalar type (CL_DEVICE_PREFERRED_VECTOR_WIDTH_*; 0 = type unsupported)
        self.vector_widths = {}
        for t in ("char", "short", "int", "long", "float", "double", "half"):
            try:
                self.vector_widths[t] = int(getattr(d, "preferred_vector_width_" + t))
            except Exception:
                self.vector_widths[t] = 0 if t in ("double", "half") else 1
        self.preferred_vector_width_float = self.vector_widths["float"]
        # bytes the memory pool may hold: the device's global memory; on a CPU device buffers are host memory
        # (PoCL reports only a fraction of it as global memory), so the host's physical memory there
        self.mem_limit = self.global_mem_size
        if self.unified_memory and self.is_cpu:
            self.mem_limit = max(self.mem_limit, _host_memory())
        self.canonical = None  # set by enumeration
        self.profile = None
        apply_profile(self, _config.device_profile())
        self.tuning = Tuning(self)

    def as_dict(self):
        return {k: getattr(self, k) for k in (
            "name", "platform", "vendor", "driver", "is_cpu", "is_gpu", "fp64", "fp16", "max_work_group_size",
            "max_work_item_sizes", "local_mem_size", "global_mem_size", "max_alloc", "compute_units",
            "unified_memory", "vector_widths", "profile")}


class Tuning:
    """The device's tuning profile: every CPU-vs-GPU choice of the kernels and launchers, made here once from the
    device's capabilities (measured on PoCL's CPU device and on GPUs: shared/POCL_NOTES.md, docs/performance.md).
    Launchers read `rt.info.tuning.<field>`; none tests the device type itself."""

    def __init__(self, info):
        cpu = info.is_cpu
        self.kind = "cpu" if cpu else ("gpu" if info.is_gpu else "any")   # GEMM tile table key (_gemm._DEFAULTS)
        # tensors may live in host memory that OpenCL uses directly (numpy sharing, no staging copies)
        self.host_buffers = bool(info.unified_memory and cpu)
        # 1-D launches: few wide work-items on CPUs (each loops over a vector of elements), many on GPUs
        self.local_size_1d = 64 if cpu else 256
        # large outputs written with non-temporal stores (bypassing the cache a CPU would pollute)
        self.nontemporal_stores = cpu
        # sin/cos/tan on 8 lanes with our own range reduction (PoCL's builtins are scalar loops on CPUs)
        self.own_trig8 = cpu and info.fp64
        # float32/complex64 running sums (cumsum ...) accumulate in double, as PyTorch's CPU kernels do
        self.scan_acc_double = cpu and info.fp64
        # reductions: one work-item sums a long contiguous chunk with several vector accumulators (CPU), or
        # many work-items with a local-memory tree (GPU)
        self.reduce = (dict(w_in=8, u=8, blk=16, w_out=16, nv_out=16, target=256, minc=8192, small=1 << 15) if cpu
                       else dict(w_in=4, u=1, blk=1, w_out=1, nv_out=1, target=16384, minc=512, small=1 << 12))
        # reductions over an outer dim with a contiguous inner run: one vectorised sweep per row block
        self.reduce_outer_sweep = cpu
        # softmax-style row kernels over a contiguous last dim: 16 lanes per work-item
        self.row_lanes = cpu
        # convolution: direct kernel (CPU) or im2col + GEMM (GPU); CLTENSOR_CONV overrides
        self.conv_direct = cpu
        # GEMM autotuning (CLTENSOR_AUTOTUNE=1) searches the register-tiled variant: CPU devices
        self.autotune_gemm = cpu
        # scaled_dot_product_attention: matmul-softmax-matmul while all heads' score matrices fit in this many
        # bytes (on PoCL's CPU device 2.7x faster than the fused kernel at B4 H8 L=S=1024 D64, 128 MiB of scores),
        # the fused online-softmax kernel (memory of one output, no score matrix) above it
        self.attention_unfused_bytes = 256 << 20
        # ... except calls the register-blocked fused kernels take (no dropout, no float mask needing a gradient,
        # head dim 16..128): on CPUs, causal calls go fused whatever their size (PoCL, B4 H8 L=S=1024 D64
        # fwd+bwd with the one-pass backward: ~2.1x faster than unfused), and non-causal ones too when there are
        # at least 4 heads per compute unit (then their backward runs in one pass: as fast as unfused from L=16 to
        # 1024, without the score matrix; nn/_attention.py has the rule)
        self.attention_fused_causal = cpu
        # work-group size of those kernels: their work-items are independent (a few per group on CPUs, where each
        # is one SIMD thread; unmeasured on GPUs, which get a warp-sized multiple)
        self.attention_rb_local = 4 if cpu else 64
        # the launch gate (Queue below): small kernels are held back and released to the device this many at a
        # time. PoCL's CPU driver wakes every sleeping worker thread for each command that reaches an idle device
        # (two condition-variable broadcasts per kernel): a tiny kernel's enqueue cost ~6.7 us in a loop of
        # them and 12-14 us inside a training step, against ~1.2 us for one queued behind a pending command
        self.launch_batch = 8 if (cpu and "Portable Computing Language" in info.platform) else 0

    def as_dict(self):
        return dict(vars(self))


def _host_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


# Test-only capability profiles: make a capable device look like a harder one, e.g.
# CLTENSOR_DEVICE_PROFILE="nofp64,wg=256,lmem=32" (KiB) or a named profile below. Keys: fp64=0/1, fp16=0/1,
# wg=<max work-group size>, lmem=<local memory KiB>, maxalloc=<largest allocation MiB>, mem=<global memory MiB>.
PROFILES = {
    "nofp64-wg256-lmem32": "fp64=0,fp16=0,wg=256,lmem=32",
    "wg64-lmem16": "wg=64,lmem=16",
    "small-alloc": "maxalloc=64",
}


_PROFILE_KEYS = ("fp64", "fp16", "wg", "lmem", "maxalloc", "mem")


def parse_profile(spec):
    """CLTENSOR_DEVICE_PROFILE text -> {key: int}. A named profile (see PROFILES) or comma-separated items
    `fp64=0|1`, `fp16=0|1`, `wg=<max work-group size>`, `lmem=<local memory KiB>`, `maxalloc=<largest
    allocation MiB>`, `mem=<global memory MiB>`, `nofp64`, `nofp16`. Raises ValueError naming the bad item."""
    spec = PROFILES.get(spec.strip(), spec)
    out = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        if item in ("nofp64", "nofp16"):
            k, v = item[2:], "0"
        elif "=" in item:
            k, v = (x.strip() for x in item.split("=", 1))
        else:
            raise ValueError(f"CLTENSOR_DEVICE_PROFILE: unknown item {item!r} (named profiles: {', '.join(PROFILES)}; "
                             f"keys: {', '.join(_PROFILE_KEYS)})")
        if k not in _PROFILE_KEYS:
            raise ValueError(f"CLTENSOR_DEVICE_PROFILE: unknown key {k!r} (keys: {', '.join(_PROFILE_KEYS)})")
        try:
            n = int(v)
        except ValueError:
            raise ValueError(f"CLTENSOR_DEVICE_PROFILE: {k} needs an integer, got {v!r}") from None
        flag = k in ("fp64", "fp16")
        if (flag and n not in (0, 1)) or (not flag and n < 1):
            raise ValueError(f"CLTENSOR_DEVICE_PROFILE: bad value {k}={v} "
                             f"({'0 or 1' if flag else 'a positive integer'})")
        out[k] = n
    return out


def apply_profile(info, spec):
    """Make `info` look like a harder device: a profile only ever removes capabilities or lowers limits."""
    items = parse_profile(spec)
    if not items:
        return
    for k, v in items.items():
        if k == "fp64":
            info.fp64 = info.fp64 and bool(v)
            if not info.fp64:
                info.vector_widths["double"] = 0
        elif k == "fp16":
            info.fp16 = info.fp16 and bool(v)
            if not info.fp16:
                info.vector_widths["half"] = 0
        elif k == "wg":
            info.max_work_group_size = min(info.max_work_group_size, v)
            if getattr(info, "max_work_item_sizes", None):
                info.max_work_item_sizes = tuple(min(x, v) for x in info.max_work_item_sizes)
        elif k == "lmem":
            info.local_mem_size = min(info.local_mem_size, v * 1024)
        elif k == "maxalloc":
            info.max_alloc = min(info.max_alloc, v << 20)
        elif k == "mem":
            info.global_mem_size = min(info.global_mem_size, v << 20)
            info.mem_limit = info.global_mem_size
            info.max_alloc = min(info.max_alloc, info.global_mem_size)
    info.profile = ",".join(f"{k}={v}" for k, v in items.items())
    if hasattr(info, "tuning"):
        info.tuning = Tuning(info)      # choices that depend on the removed capabilities (fp64)


_ENUM = None


def _enumerate():
    global _ENUM
    if _ENUM is not None:
        return _ENUM
    infos = []
    if cl is not None:
        try:
            platforms = cl.get_platforms()
        except Exception:
            platforms = []
        for p in platforms:
            try:
                devs = p.get_devices()
            except Exception:
                continue
            for d in devs:
                infos.append(DeviceInfo(d, len(infos), p))
    by_name = {}
    ngpu = 0
    for info in infos:
        if info.is_gpu:
            dev = device.__new__(device)
            dev.type, dev.index = "gpu", ngpu
            dev._hash = hash((dev.type, dev.index))
            ngpu += 1
        elif info.is_cpu and device("cpu") not in by_name:
            dev = device.__new__(device)
            dev.type, dev.index = "cpu", None
            dev._hash = hash((dev.type, dev.index))
        else:
            dev = device.__new__(device)
            dev.type, dev.index = "cl", info.overall_index
            dev._hash = hash((dev.type, dev.index))
        info.canonical = dev
        by_name[dev] = info
    _ENUM = (infos, by_name)
    return _ENUM


def _physical_by_overall_index(i):
    infos, _ = _enumerate()
    if i >= len(infos):
        raise RuntimeError(f"cl:{i} does not exist: there are {len(infos)} OpenCL devices")
    return infos[i]


def devices():
    """List every OpenCL device with its capabilities: [(device, info_dict), ...]."""
    infos, _ = _enumerate()
    return [(i.canonical, i.as_dict()) for i in infos]


def device_info(dev):
    _, by_name = _enumerate()
    return by_name.get(_resolve(dev))


def _resolve(dev):
    """Normalise a user device argument to a concrete device (gpu -> gpu:0)."""
    if dev is None:
        return _default_device[0] or _init_default()
    if not isinstance(dev, device):
        dev = device(dev)
    if dev.type == "gpu" and dev.index is None:
        d = device.__new__(device)
        d.type, d.index = "gpu", 0
        d._hash = hash((d.type, d.index))
        return d
    return dev


_default_device = [None]


def _init_default():
    env = _config.device()
    if env:
        d = _resolve(device(env))
    else:
        d = device("cpu")
        _, by_name = _enumerate()
        if d not in by_name:
            gpus = [k for k in by_name if k.type == "gpu"]
            if gpus:
                d = gpus[0]
    _default_device[0] = d
    return d


def set_default_device(dev):
    _default_device[0] = _resolve(device(dev)) if dev is not None else None


def get_default_device():
    return _default_device[0] or _init_default()


# ---------------------------------------------------------------- runtime: context, queue, memory pool

class Queue(cl.CommandQueue if cl is not None else object):
    """An in-order command queue with a launch gate for small kernels (Tuning.launch_batch > 0): while the gate
    is closed, commands wait behind a marker on a user event, so they reach the driver as a chain its worker
    threads pass on by themselves instead of one wake-up of an idle device per command. Launchers pass each
    kernel through _kernels.enqueue/invoke (call() here) with `small` set for kernels of little work; the gate
    closes at a small kernel, and opens after `batch` of them, at the first kernel that is not small, before every wait on
    the queue (finish(), blocking_copy(): pyopencl's waits hold the GIL) and at exit. Nothing else can wait on
    a runtime's queue: no OpenCL event leaves cltensor. batch 0: a plain queue.

    Only the main thread's launches use the gate: the first launch or wait on the queue from any other thread
    opens it and switches it off for good (switch_off; threads launching concurrently computed wrong values with
    the gate on in a stress test, and one thread's closed gate could hold another's wait)."""

    def __init__(self, ctx, batch=0, properties=None):
        if properties is None:
            super().__init__(ctx)
        else:
            super().__init__(ctx, properties=properties)
        self.batch = batch
        self.gate = None          # the closed gate's user event, or None
        self.gated = 0            # small kernels enqueued behind it
        self.run = False          # the last kernel was small
        self.lock = threading.Lock()
        if batch:
            _gated.add(self)

    def call(self, small, fn, *args):
        """fn(*args), the enqueue of one kernel on this queue, through the gate: the second of consecutive small
        kernels (little work, held back at no cost) closes it; the batch's last small kernel and any kernel that
        is not small open it after their enqueue. From a thread other than the main one, the gate is switched
        off first."""
        if threading.get_ident() != MAIN_THREAD:
            self.switch_off()
            return fn(*args)
        if not small:
            self.run = False
            ev = fn(*args)
            if self.gate is not None:
                self.open_gate()
            return ev
        if self.gate is None:
            if not self.run:            # the first small kernel after others goes as it is (a gate costs more)
                self.run = True
                return fn(*args)
            self.close_gate()
        ev = fn(*args)
        n = self.gated + 1
        if n >= self.batch:
            self.open_gate()
        else:
            self.gated = n
        return ev

    def switch_off(self):
        """No more gates on this queue (another thread uses it); the closed one is opened."""
        with self.lock:
            self.batch = 0
        self.open_gate()

    def close_gate(self):
        with self.lock:
            if self.gate is None and self.batch:
                ue = cl.UserEvent(self.context)
                try:
                    cl.enqueue_marker(self, wait_for=[ue])
                except BaseException:
                    ue.set_status(cl.command_execution_status.COMPLETE)
                    raise
                self.gated = 0
                self.gate = ue
        if not self.batch:
            self.open_gate()

    def open_gate(self):
        """Release the commands held behind the gate (nothing when none is closed); never waits."""
        with self.lock:
            g = self.gate
            if g is None:
                return
            self.gate = None
            self.gated = 0
        g.set_status(cl.command_execution_status.COMPLETE)

    def finish(self):
        if self.batch and threading.get_ident() != MAIN_THREAD:
            self.switch_off()
        if self.gate is not None:
            self.open_gate()
        return super().finish()


def blocking_copy(queue, dst, src, **kw):
    """cl.enqueue_copy(..., is_blocking=True) on a runtime's queue, its launch gate opened first. Every transfer
    between host memory and a runtime's queue goes through here: pyopencl also waits for a non-blocking host
    transfer (when its event is dropped), holding the GIL, so one behind a closed gate would never end."""
    if getattr(queue, "gate", None) is not None:
        queue.open_gate()
    return cl.enqueue_copy(queue, dst, src, is_blocking=True, **kw)


_gated = weakref.WeakSet() if cl is not None else set()
MAIN_THREAD = threading.main_thread().ident


@atexit.register
def _open_all_gates():
    for q in list(_gated):
        try:
            q.open_gate()
        except Exception:
            pass


class Runtime:
    """Context, in-order queue and memory pool of one device; created on first use."""

    def __init__(self, dev, info):
        self.device = dev
        self.info = info
        self.ctx = cl.Context([info.cl_device])
        batch = _config.launch_batch()
        self.queue = Queue(self.ctx, info.tuning.launch_batch if batch is None else batch)
        self.kernels = {}
        self.unified = info.tuning.host_buffers
        self.free = {}  # bin bytes -> list of (buffer, host array)
        self.cached_bytes = 0
        self.in_use_bytes = 0
        self.peak_bytes = 0
        self.n_allocs = 0
        # 1-D launch local size: a power of two within the device's (or profile's) work-group limit
        ls = min(info.tuning.local_size_1d, info.max_work_group_size, info.max_work_item_sizes[0])
        self.local_size = 1 << (max(int(ls), 1).bit_length() - 1)

    def finish(self):
        self.queue.finish()

    # -- memory
    @staticmethod
    def _bin(nbytes):
        n = max(int(nbytes), 64)
        if n <= 1 << 20:
            return 1 << (n - 1).bit_length()
        step = 1 << ((n - 1).bit_length() - 4)  # 16 bins per power of two above 1 MiB
        return (n + step - 1) // step * step

    def alloc(self, nbytes):
        if type(nbytes) is int and nbytes <= 1 << 20:
            b = 1 << (nbytes - 1).bit_length() if nbytes > 64 else 64
        else:
            b = self._bin(nbytes)
        lst = self.free.get(b)
        if lst:
            item = lst.pop()
            self.cached_bytes -= b
        else:
            if nbytes > self.info.max_alloc:
                raise RuntimeError(f"out of memory on device {self.device}: tried to allocate {nbytes} bytes, "
                                   f"more than the device's largest allocation ({self.info.max_alloc} bytes)")
            total = self.info.mem_limit
            if self.in_use_bytes + self.cached_bytes + b > total:
                self.empty_cache()       # cached blocks of other sizes go back to the driver first
            if self.in_use_bytes + b > total:
                # drivers that allocate lazily (at first use) would fail later, inside a kernel launch
                raise RuntimeError(f"out of memory on device {self.device}: tried to allocate {nbytes} bytes "
                                   f"({self.in_use_bytes} bytes in use of the device's {total} bytes)")
            try:
                item = self._new(b)
            except (MemoryError, cl.Error):
                self.empty_cache()
                try:
                    item = self._new(b)
                except (MemoryError, cl.Error) as e:
                    raise RuntimeError(f"out of memory on device {self.device}: tried to allocate {nbytes} bytes "
                                       f"({self.in_use_bytes} bytes in use): {e}") from None
            self.n_allocs += 1
        self.in_use_bytes += b
        if self.in_use_bytes > self.peak_bytes:
            self.peak_bytes = self.in_use_bytes
        return b, item

    def _new(self, b):
        if self.unified:
            raw = np.empty(b + 128, np.uint8)
            off = (-raw.ctypes.data) % 128
            host = raw[off:off + b]
            buf = cl.Buffer(self.ctx, cl.mem_flags.READ_WRITE | cl.mem_flags.USE_HOST_PTR, hostbuf=host)
            return buf, host
        return cl.Buffer(self.ctx, cl.mem_flags.READ_WRITE, b), None

    def release(self, b, item):
        self.in_use_bytes -= b
        self.free.setdefault(b, []).append(item)
        self.cached_bytes += b

    def empty_cache(self):
        self.queue.finish()
        self.free.clear()
        self.cached_bytes = 0

    def memory_stats(self):
        return {"allocated_bytes": self.in_use_bytes, "cached_bytes": self.cached_bytes,
                "peak_bytes": self.peak_bytes, "num_device_allocs": self.n_allocs}


_RUNTIMES = {}


def runtime(dev):
    """The Runtime of a concrete device, or None when the device is the host-only 'cpu' fallback."""
    rt = _RUNTIMES.get(dev)
    if rt is not None:
        return rt
    if dev in _RUNTIMES:
        return None
    _, by_name = _enumerate()
    info = by_name.get(dev)
    if info is None:
        if dev.type == "cpu":
            _RUNTIMES[dev] = None  # host storage only
            return None
        avail = ", ".join(str(k) for k in by_name) or "none"
        raise RuntimeError(f"device {dev} is not available (OpenCL devices: {avail})")
    rt = Runtime(dev, info)
    _RUNTIMES[dev] = rt
    return rt


def no_cpu_device_error(dev):
    return RuntimeError(
        f"no OpenCL CPU device: tensors on '{dev}' are host storage only and cannot run kernels. Install PoCL "
        "(Debian/Ubuntu: apt-get install pocl-opencl-icd) or move the tensor to a GPU with .to('gpu').")


class Storage:
    """A device buffer (pooled) and, on the CPU device, the host memory that backs it."""
    __slots__ = ("rt", "nbytes", "buf", "host", "shared", "version", "_bin", "_owner", "__weakref__")

    def __init__(self, rt, nbytes, buf=None, host=None, owner=None):
        self.rt = rt
        self.nbytes = nbytes
        self.version = 0      # bumped by every in-place write (autograd checks saved tensors)
        self.shared = False   # host memory visible to the user through numpy: sync around every op
        self._owner = owner   # keeps a foreign numpy array alive
        self._bin = None      # set before alloc, which may raise (out of memory): __del__ then releases nothing
        if buf is not None or rt is None:
            self.buf, self.host, self._bin = buf, host, None
            if rt is None and host is None:
                self.host = np.empty(max(nbytes, 1), np.uint8)
        else:
            self._bin, (self.buf, self.host) = rt.alloc(nbytes)

    def __del__(self):
        b = getattr(self, "_bin", None)      # unset when the allocation itself failed (out of memory)
        if b is not None:
            try:
                self.rt.release(b, (self.buf, self.host))
            except Exception:
                pass

    def host_view(self):
        """Host memory of this storage after synchronising (unified devices / host fallback only)."""
        if self.rt is not None:
            self.rt.queue.finish()
        return self.host


def synchronize(dev=None):
    for rt in list(_RUNTIMES.values()):
        if rt is not None and (dev is None or rt.device == _resolve(dev)):
            rt.queue.finish()
