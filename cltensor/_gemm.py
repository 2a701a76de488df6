"""Batched strided GEMM on OpenCL buffers (kernels in templates/gemm.mako).

    gemm(rt, dtype, batch, M, N, K, a, b, c, alpha=1, beta=0, acc_dtype=None, cin=None, epi=None)

computes C[p] = epi(alpha * A[p] @ B[p] + beta * Cin[p]) for p in range(batch), enqueued on rt.queue without
waiting (Cin: C itself unless given, e.g. a bias broadcast with stride 0; epi: none, or an elementwise chain of
cltensor.compile run on each value before its store). Operands are (cl.Buffer, offset, batch_stride,
row_stride, col_stride) in elements of `dtype`.

Kernel choice (see templates/gemm.mako):
  * "reg"   - register-tiled, no local memory: the fast shape on CPU devices (PoCL). Each work-item owns
              TM x TN blocks of C (TN = VW * NV columns held in VW-wide vectors) and reads rows of B with
              vload, so B needs column stride 1. Otherwise A and B swap roles (C^T = B^T A^T) when A has row
              stride 1, else B is copied into zero-padded column panels by a small pack kernel (measured here:
              pack + vload 192 GFLOP/s vs 15 for gathering B^T in place at n=1024). A contiguous B whose
              panels span many pages (K * row stride >= pack_span) is packed as well (n=2048: 140 -> 205).
              A is read in place with any strides (one scalar broadcast per row and k). B given transposed (row
              stride 1, 4-byte elements) is packed through 16 x 16 register transposes.
  * "gemv"  - the register variant's kernel for one output column (N == 1 after the swap, A with column stride
              1, B with row stride 1: matrix-vector products, and x @ W.T for one row x): dot products with vector
              loads of both A rows and B (measured here, 1024 x 1024 @ 1024: 5 -> 30 GFLOP/s).
  * "local" - GPU-style __local tiling; the default on GPUs. Reads any strides in place.
Parameters come from a small per-vendor table (`_DEFAULTS`), clamped to the device limits, and can be
overridden with the `variant=` / `params=` keywords (tests force the GPU variant on the CPU this way; params
"gemv", "direct" and "tpack" = False switch off the matrix-vector kernel, the direct whole-tile stores and the
transposing pack, for comparisons) or the environment variable CLTENSOR_GEMM_VARIANT=reg|local. With CLTENSOR_AUTOTUNE=1 the first GEMM of each
accumulator size on a CPU device times a few register-tile configurations and persists the winner in
<user cache dir>/cltensor/gemm_tune.json, keyed by platform, device name and driver version.

Launch geometry never depends on the matrix sizes beyond the global size: local sizes are fixed per kernel
variant and tile counts are kernel arguments (PoCL compiles a kernel again for every new local size).
Index arithmetic is 32-bit when every index a kernel forms fits, 64-bit otherwise (a template parameter).
Everything but the buffers is planned once per call signature and cached (`_plans`).
"""
import json
import os
import time

import numpy as np
import pyopencl as cl

from . import _config as cfg
from . import _dtypes as D
from . import _dispatch
from . import _ew
from . import _kernels
from ._launch import I32


# ------------------------------------------------------------------------------------------ defaults table
# Matched in order: the first entry whose device kind matches and whose vendor substring occurs in the
# device vendor/name (lower case) wins. "tn_bytes" is the width of the register tile in bytes of the
# accumulator type (128 bytes = 32 floats = two float16 vectors, or 16 doubles); "vbytes" the vector width.
_DEFAULTS = [
    # CPU devices (PoCL, Intel/AMD CPU runtimes): register tiles, no __local, tiny work-groups.
    ("cpu", "", dict(variant="reg", tm=8, tn_bytes=128, vbytes=64, ku=1, lsize=(1, 1), nfirst=False,
                     bmode_strided="pack", pack_span=6 << 20, pack_min_m=64)),
    # GPUs: __local tiles. 64x64 C tile per 256-item work-group, 4x4 outputs per work-item.
    ("gpu", "nvidia", dict(variant="local", tsm=64, tsn=64, tk=16, wm=4, wn=4)),
    ("gpu", "advanced micro", dict(variant="local", tsm=64, tsn=64, tk=16, wm=4, wn=4)),
    ("gpu", "amd", dict(variant="local", tsm=64, tsn=64, tk=16, wm=4, wn=4)),
    ("gpu", "intel", dict(variant="local", tsm=32, tsn=32, tk=16, wm=4, wn=4)),
    ("gpu", "apple", dict(variant="local", tsm=32, tsn=32, tk=16, wm=4, wn=4)),
    ("gpu", "", dict(variant="local", tsm=32, tsn=32, tk=8, wm=4, wn=4)),
    # anything else (accelerators, custom devices): the portable GPU shape, small.
    ("any", "", dict(variant="local", tsm=32, tsn=32, tk=8, wm=4, wn=4)),
]
_REG_DEFAULT = dict(_DEFAULTS[0][2])
_LOCAL_DEFAULT = dict(tsm=32, tsn=32, tk=8, wm=4, wn=4)


# CPU register tiles by the device's preferred float vector width (CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT: the
# SIMD width its compiler targets): rows x two vectors of accumulators must fit the register file with room for
# the B vectors and the broadcast A value. AVX-512 (16 floats, 32 registers): 8 x 2 float16 (16 accumulators);
# AVX2 (8 floats, 16 registers): 6 x 2 float8 (12) - the 8 x 2 float16 tile spills there (measured on a Haswell
# PoCL device, n=1024: 32 GFLOP/s vs 53-57 with 6 x 2 float8). Narrower SIMD (SSE, NEON): 6 x 2 float4.
# The narrower tiles read B rows of one cache line per k: B is packed into panels once its rows span 1 MiB (n=1024
# on AVX2: 49 -> 66-69 GFLOP/s; at n=256 packing cost more than it saved).
_CPU_TILES = {16: dict(tm=8, tn_bytes=128, vbytes=64),
              8: dict(tm=6, tn_bytes=64, vbytes=32, pack_span=1 << 20),
              4: dict(tm=6, tn_bytes=32, vbytes=16, pack_span=1 << 20)}


def _device_defaults(info):
    kind = info.tuning.kind
    who = (info.vendor + " " + info.name).lower()
    for k, sub, params in _DEFAULTS:
        if (k == kind or k == "any") and sub in who:
            p = dict(params)
            if p["variant"] == "reg":
                p.update(_cpu_tile(info))
            return p
    return dict(_DEFAULTS[-1][2])


def _cpu_tile(info):
    w = getattr(info, "preferred_vector_width_float", 16) or 16
    return dict(_CPU_TILES[min(_CPU_TILES, key=lambda k: (abs(k - w), -k))])


def _fit_local(info, p):
    """Shrink a local-memory tile config until it fits the device's work-group size and local memory."""
    p = dict(p)
    for _ in range(8):
        lx, ly = p["tsn"] // p["wn"], p["tsm"] // p["wm"]
        lmem = (p["tsm"] + p["tsn"]) * p["tk"] * 8
        mis = info.max_work_item_sizes
        fits_wg = lx * ly <= info.max_work_group_size and lx <= mis[0] and ly <= mis[1]
        if fits_wg and lmem <= info.local_mem_size:
            break
        if not fits_wg and p["tsm"] >= 2 * p["wm"]:
            p["tsm"] //= 2
            p["tsn"] //= 2
        elif p["tk"] > 1:
            p["tk"] //= 2
        else:
            p["tsm"] //= 2
            p["tsn"] //= 2
    return p


def _fit_reg_lsize(info, lsize):
    l0, l1 = lsize
    l0, l1 = min(l0, info.max_work_item_sizes[0]), min(l1, info.max_work_item_sizes[1])
    while l0 * l1 > info.max_work_group_size and (l0 > 1 or l1 > 1):
        if l1 >= l0:
            l1 //= 2
        else:
            l0 //= 2
    return (max(l0, 1), max(l1, 1))


# ------------------------------------------------------------------------------------------ dtype helpers

def _acc_dtype(dtype, acc_dtype):
    if dtype.is_integer:
        return D.int64 if dtype is D.int64 else D.int32
    if dtype is D.bool_ or dtype.is_complex:
        raise TypeError(f"gemm: unsupported dtype {dtype}")
    if acc_dtype is None:
        return D.float32 if dtype is D.float16 or dtype is D.bfloat16 else dtype
    if not acc_dtype.is_floating_point or acc_dtype is D.float16 or acc_dtype is D.bfloat16:
        raise TypeError(f"gemm: accumulation dtype must be float32 or float64 for {dtype}, got {acc_dtype}")
    if acc_dtype.itemsize < (4 if dtype is D.float16 or dtype is D.bfloat16 else dtype.itemsize):
        raise TypeError(f"gemm: accumulation dtype {acc_dtype} is narrower than {dtype}")
    return acc_dtype


def _scalar(acc, v):
    if acc.is_integer:
        bits = acc.itemsize * 8
        v = int(v) & ((1 << bits) - 1)
        return np.uint64(v) if bits == 64 else np.uint32(v)
    return acc.np.type(v)


_RAW = {1: "uchar", 2: "ushort", 4: "uint", 8: "ulong"}


# ------------------------------------------------------------------------------------------ autotune

def _cache_path():
    try:
        import platformdirs
        d = platformdirs.user_cache_dir("cltensor")
    except Exception:
        d = os.path.join(os.path.expanduser("~"), ".cache", "cltensor")
    return os.path.join(d, "gemm_tune.json")


_tuned = {}   # (device key, acc itemsize) -> reg params dict


def _device_key(info):
    return f"{info.platform} | {info.name} | {info.driver}"


def _load_tuned(info, accsize):
    key = (_device_key(info), accsize)
    if key in _tuned:
        return _tuned[key]
    res = None
    try:
        with open(_cache_path()) as f:
            res = json.load(f).get(f"{key[0]} | acc{accsize}")
    except Exception:
        res = None
    if res is not None:
        res["lsize"] = tuple(res["lsize"])
    _tuned[key] = res
    return res


def _save_tuned(info, accsize, params):
    path = _cache_path()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            with open(path) as f:
                data = json.load(f)
        except Exception:
            data = {}
        data[f"{_device_key(info)} | acc{accsize}"] = {k: (list(v) if isinstance(v, tuple) else v)
                                                      for k, v in params.items()}
        tmp = path + f".{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        pass
    _tuned[(_device_key(info), accsize)] = params


def _tune_candidates(base):
    """Register-tile configurations around the device's default tile (base: tm, tn_bytes, vbytes)."""
    tm, tb, vb = base["tm"], base["tn_bytes"], base["vbytes"]
    return [dict(tm=tm, tn_bytes=tb, ku=1, lsize=(1, 1), nfirst=False),
            dict(tm=tm, tn_bytes=tb, ku=4, lsize=(1, 1), nfirst=False),
            dict(tm=tm, tn_bytes=tb, ku=1, lsize=(4, 1), nfirst=False, rpw_max=1),
            dict(tm=tm, tn_bytes=tb, ku=1, lsize=(1, 1), nfirst=True),
            dict(tm=max(2, tm - 2), tn_bytes=tb, ku=1, lsize=(1, 1), nfirst=False),
            dict(tm=tm + 2, tn_bytes=tb, ku=1, lsize=(1, 1), nfirst=False),
            dict(tm=max(2, tm // 2), tn_bytes=2 * tb, ku=1, lsize=(1, 1), nfirst=False),
            dict(tm=2 * tm, tn_bytes=max(vb, tb // 2), ku=1, lsize=(1, 1), nfirst=False),
            dict(tm=tm, tn_bytes=tb, vbytes=2 * vb, ku=1, lsize=(1, 1), nfirst=False),
            dict(tm=tm, tn_bytes=tb, ku=1, lsize=(1, 1), nfirst=False, wi_per_cu=8)]


def autotune(rt, dtype=D.float32, n=768, reps=3, verbose=False):
    """Time the register-tile candidates on an n x n x n GEMM of `dtype`; persist and return the winner."""
    acc = _acc_dtype(dtype, None)
    it = dtype.itemsize
    mf = cl.mem_flags
    rng = np.random.default_rng(0)
    host = (rng.standard_normal((n, n)) if dtype.is_floating_point else rng.integers(-3, 4, (n, n))).astype(dtype.np)
    ba = cl.Buffer(rt.ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=host)
    bb = cl.Buffer(rt.ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=host)
    bc = cl.Buffer(rt.ctx, mf.READ_WRITE, n * n * it)
    best, best_t = None, None
    base = _device_defaults(rt.info)
    if base.get("variant") != "reg":
        base = dict(_REG_DEFAULT)
    for cand in _tune_candidates(base):
        p = dict(base)
        p.update(cand)
        p["variant"] = "reg"
        op = ((ba, 0, 0, n, 1), (bb, 0, 0, n, 1), (bc, 0, 0, n, 1))
        try:
            gemm(rt, dtype, 1, n, n, n, *op, params=p)  # compile + warm up
            rt.queue.finish()
            ts = []
            for _ in range(reps):
                t0 = time.perf_counter()
                gemm(rt, dtype, 1, n, n, n, *op, params=p)
                rt.queue.finish()
                ts.append(time.perf_counter() - t0)
        except Exception as e:  # a candidate that does not build on this device is skipped
            if verbose:
                print("autotune: skip", cand, e)
            continue
        t = min(ts)
        if verbose:
            print(f"autotune {dtype}: {cand}: {2 * n ** 3 / t / 1e9:.1f} GFLOP/s")
        if best_t is None or t < best_t:
            best, best_t = p, t
    if best is not None:
        _save_tuned(rt.info, acc.itemsize, best)
        _configs.clear()
        _plans.clear()
    return best


# ------------------------------------------------------------------------------------------ configuration

_configs = {}


def _config(rt, dtype, acc, variant=None, params=None):
    if params is None:
        key = (id(rt), dtype, acc, variant, cfg.gemm_variant(), cfg.autotune())
        p = _configs.get(key)
        if p is None:
            p = _configs[key] = _make_config(rt, dtype, acc, variant, None)
        return p
    return _make_config(rt, dtype, acc, variant, params)


def _make_config(rt, dtype, acc, variant, params):
    info = rt.info
    p = _device_defaults(info)
    v = variant or (params or {}).get("variant") or cfg.gemm_variant() or p["variant"]
    if v == "reg":
        if p.get("variant") != "reg":
            p = dict(_REG_DEFAULT)
        if params is None and cfg.autotune() and info.tuning.autotune_gemm:
            tuned = _load_tuned(info, acc.itemsize)
            if tuned is None:
                _tuned[(_device_key(info), acc.itemsize)] = {}   # no recursion while tuning
                tuned = autotune(rt, dtype)
            if tuned:
                p.update(tuned)
        p["lsize"] = _fit_reg_lsize(info, tuple(p["lsize"]))
    elif v == "local":
        if p.get("variant") != "local":
            p = dict(_LOCAL_DEFAULT)
    else:
        raise ValueError(f"gemm: unknown variant {v!r} (expected 'reg' or 'local')")
    if params:
        p.update(params)
    p["variant"] = v
    if v == "local":
        p = _fit_local(info, p)
    return p


def _pick_tn(p, acc, n):
    """Register tile width (vector width vw, vectors per row nv) for a B with n columns: the largest power of
    two tile up to the configured width that fits in n (the last tile is shifted left, never past n)."""
    vmax = max(1, p.get("vbytes", 64) // acc.itemsize)
    tn = max(1, p["tn_bytes"] // acc.itemsize)
    while tn > 1 and tn > n:
        tn //= 2
    vw = min(vmax, tn)
    while tn % vw:
        vw //= 2
    return vw, tn // vw


def _pick_tm(p, m):
    """Rows per tile: the configured count, or the next power of two >= m for short matrices."""
    tm = p["tm"]
    if m < tm:
        t = 1
        while t < m:
            t *= 2
        tm = min(t, tm)
    return tm


def _extent(off, batch, bs, rows, rs, cols, cs):
    """Largest element index touched (+1) by a batch x rows x cols operand."""
    if batch == 0 or rows == 0 or cols == 0:
        return 0
    return off + (batch - 1) * bs + (rows - 1) * rs + (cols - 1) * cs + 1


def _bound(name, op, batch, rows, cols, itemsize):
    """(bytes the operand's buffer must hold, a conservative bound on the element indices kernels form)."""
    off, bs, rs, cs = op
    if min(off, bs, rs, cs) < 0:
        raise ValueError(f"gemm: operand {name} has a negative offset or stride {op}")
    need = _extent(off, batch, bs, rows, rs, cols, cs) * itemsize
    # strides may also be added once past the last row/column before the loop exits
    return need, off + batch * bs + (rows + 1) * rs + (cols + 1) * cs + 64


_prepared = {}


def _kernel(rt, defname, arg_dtypes, **params):
    key = (id(rt), defname, tuple(sorted(params.items())))
    k = _prepared.get(key)
    if k is None:
        k = _kernels.get(rt, "gemm", defname, **params)
        k.set_scalar_arg_dtypes(arg_dtypes)
        try:
            k.typed = True      # tells _kernels.launch that the scalar argument types are set already
        except AttributeError:
            pass
        _prepared[key] = k
    return k


def _typed(args, arg_dtypes):
    """The kernel arguments as numpy scalars of the kernel's C types (buffers stay None placeholders)."""
    return [a if t is None else t(a) for a, t in zip(args, arg_dtypes)]


def _gemm_args(idx, acc, d, epi):
    """Scalar argument types of a GEMM kernel (None: a buffer): the common ones, then Cin's, then the epilogue's."""
    i = np.int64 if idx == "long" else np.int32
    a = np.uint64 if (acc.is_integer and acc.itemsize == 8) else \
        np.uint32 if acc.is_integer else acc.np.type
    return [None, i, i, i, i, None, i, i, i, i, None, i, i, i, i,
            np.int32, np.int32, np.int32, np.int32, np.int32, np.int32, np.int32, a, a, np.int32] + \
        ([None, i, i, i, i] if d is not None else []) + [_scalar_np(c) for c in (epi[1][1:] if epi else ())]


def _extras(d, epi):
    """Template parameters of a separate C input and of an epilogue (none when unused: the plain kernels)."""
    ex = {"cin": True} if d is not None else {}
    if epi is not None:
        ex.update(epi=epi[0], ecdts=tuple(epi[1]))
    return ex


def _tail(d, epi):
    """Cin's arguments (its buffer a placeholder) and placeholders for the epilogue's scalars."""
    return ((None,) + d if d is not None else ()) + (0,) * (len(epi[1]) - 1 if epi else 0)


def _scalar_np(cdt):
    return _ew._scalar_np[cdt]


def _round_up(n, m):
    return (n + m - 1) // m * m


# ------------------------------------------------------------------------------------------ plans
# Everything but the buffers is decided once per (device, dtype, sizes, strides, alpha, beta, ...) and cached,
# so a repeated GEMM costs a dict lookup, three buffer-size checks and the enqueue.

class _Plan:
    __slots__ = ("kernel", "gsize", "lsize", "args", "order", "pack", "need", "scal", "small")

    def __init__(self, kernel, gsize, lsize, args, order, need, pack=None, epi=None):
        self.kernel, self.gsize, self.lsize, self.args = kernel, gsize, lsize, list(args)
        self.order = order   # which of (a, b, c) buffers go to the kernel's A, B, C (-1: the packed B)
        self.need = need     # bytes each of the a, b, c (and cin) buffers must hold
        self.pack = pack     # None or (kernel, gsize, lsize, args, temp bytes, source index)
        # the epilogue's scalar arguments (set on every call): their first index and compute dtypes
        self.scal = (len(self.args) - len(epi[1]) + 1, epi[1][1:]) if epi else None
        self.small = False   # little work: the launch gate may hold it back (_device.Queue; set by gemm())


_plans = {}
_PLAN_CACHE_MAX = 2048
_SMALL_MACS = 1 << 17     # products of at most this many multiply-adds are small kernels (_kernels.SMALL_BYTES)
_last_plan = {}   # kernel -> the plan whose scalar arguments were set on it last (kernels are stateful)


def gemm(rt, dtype, batch, M, N, K, a, b, c, alpha=1, beta=0, acc_dtype=None, variant=None, params=None,
         cin=None, epi=None):
    """C[p] = epi(alpha * A[p] @ B[p] + beta * Cin[p]) for p in range(batch), enqueued asynchronously (no sync).

    a, b, c: (cl.Buffer, offset, batch_stride, row_stride, col_stride) with everything in ELEMENTS of dtype
    (strides may be 0 for broadcast batch, any non-negative values; A is M x K, B is K x N, C is M x N).
    dtype: one cltensor dtype for A, B and C (float16 stored as half and computed in float, float32, float64,
    int8/16/32/64, uint8); integer GEMM accumulates in the integer type with wrap-around like PyTorch.
    acc_dtype: accumulation type for floating dtypes (float32 for float16 by default; float64 allowed).
    beta == 0 never reads C (NaN in C does not propagate). C must not overlap A or B.
    variant / params: force a kernel variant ("reg", "local") or tile parameters (tests, autotuning).
    cin: an operand like c read for the beta term instead of C (must not overlap C); None: C.
    epi: (program, cdts, scalars): the epilogue, a fused chain of cltensor/_fusion.py (_Chain.program()) applied
    to each output value (its x0, in dtype) before the store, with scalar operands x1... of compute dtypes
    cdts[1:] passed as kernel arguments (new values build nothing new); it must give a value of dtype. Not for
    float16 (eager code would round x0 to half first).
    """
    key = plan = None
    d = tuple(cin[1:]) if cin is not None and beta != 0 else None
    ep = tuple(epi[:2]) if epi is not None else None
    if ep is not None and (dtype is D.float16 or dtype is D.bfloat16 or ep[1][0] is not dtype):
        raise ValueError(f"gemm: an epilogue's x0 must have the GEMM's dtype {dtype} (not float16)")
    try:
        # forced tile parameters (tests, autotuning, comparisons) are part of the key
        key = (id(rt), dtype, batch, M, N, K, a[1:], b[1:], c[1:], alpha, beta, acc_dtype, variant, d, ep,
               None if params is None else tuple(sorted(params.items())))
        plan = _plans.get(key)
    except TypeError:      # an unhashable argument (list strides, array scalars, list params): plan every time
        key = None
    if plan is None:
        plan = _make_plan(rt, dtype, int(batch), int(M), int(N), int(K), tuple(a[1:]), tuple(b[1:]),
                          tuple(c[1:]), alpha, beta, acc_dtype, variant, params, d, ep)
        if plan is not None:
            plan.small = batch * M * N * max(K, 1) <= _SMALL_MACS
        if key is not None:
            if len(_plans) >= _PLAN_CACHE_MAX:
                _plans.clear()
            _plans[key] = plan
    if plan is not None:
        _run(rt, plan, (a[0], b[0], c[0]) + ((cin[0],) if d is not None else ()), epi[2] if epi else ())


def _run(rt, plan, bufs, scal=()):
    for name, buf, need in zip(("A", "B", "C", "Cin"), bufs, plan.need):
        if need > buf.size:
            raise ValueError(f"gemm: operand {name} reaches byte {need}, past the end of its buffer "
                             f"({buf.size} bytes)")
    with _kernels.LOCK:     # the plan's argument lists and the arguments left set on its kernel are shared
        tmp = None
        if plan.pack is not None:
            pk, pg, pl, pargs, nbytes, src = plan.pack
            tmp = rt.alloc(nbytes)
            pargs[0], pargs[5] = bufs[src], tmp[1][0]
            _kernels.launch(rt, pk, pg, pl, pargs, plan.small)
            pargs[0] = pargs[5] = None
        o, args, k = plan.order, plan.args, plan.kernel
        ba, bb, bc = bufs[o[0]], (tmp[1][0] if o[1] < 0 else bufs[o[1]]), bufs[o[2]]
        if _dispatch.mode is not None:      # cltensor.compile: a graph break (the fast path below skips launch())
            _dispatch.mode.before_launch()
        sv = ()
        if plan.scal is not None:
            sv = [_ew._scalar_np[c](_ew.scalar_arg(v, c)) for v, c in zip(scal, plan.scal[1])]
        if _last_plan.get(k) is plan and _kernels.observer is None:
            # the same call shape as this kernel's last launch: its scalar arguments are still set, so only the
            # buffers (and an epilogue's scalars) change (a repeated GEMM costs ~2 us of host time instead of ~4)
            k.set_arg(0, ba)
            k.set_arg(5, bb)
            k.set_arg(10, bc)
            if len(bufs) > 3:
                k.set_arg(25, bufs[3])
            for j, v in enumerate(sv):
                k.set_arg(plan.scal[0] + j, v)
            _kernels.enqueue_set(rt, k, plan.gsize, plan.lsize, plan.small)
        else:
            args[0], args[5], args[10] = ba, bb, bc
            if len(bufs) > 3:
                args[25] = bufs[3]
            if sv:
                args[plan.scal[0]:] = sv
            _kernels.launch(rt, k, plan.gsize, plan.lsize, args, plan.small)
            args[0] = args[5] = args[10] = None      # do not keep the caller's buffers alive
            if len(bufs) > 3:
                args[25] = None
            _last_plan[k] = plan
        if tmp is not None:
            rt.release(*tmp)   # in-order queue: a later user of this buffer runs after this GEMM


def _make_plan(rt, dtype, batch, M, N, K, a, b, c, alpha, beta, acc_dtype, variant, params, d=None, epi=None):
    """Choose the kernel, tiles and launch geometry; a, b, c (and d, Cin's, or None) are (offset, batch stride,
    row stride, col stride); epi: None or (program, cdts)."""
    if min(batch, M, N, K) < 0:
        raise ValueError(f"gemm: negative size batch={batch} M={M} N={N} K={K}")
    if max(M, N, K) > I32 - 1024:
        raise ValueError(f"gemm: a matrix dimension of 2^31 or more is not supported (M={M} N={N} K={K})")
    if batch == 0 or M == 0 or N == 0:
        return None
    acc = _acc_dtype(dtype, acc_dtype)
    it = dtype.itemsize
    need_c, bound = _bound("C", c, batch, M, N, it)
    need_a = need_b = 0
    if K:
        need_a, ba_ = _bound("A", a, batch, M, K, it)
        need_b, bb_ = _bound("B", b, batch, K, N, it)
        bound = max(bound, ba_, bb_)
    need = (need_a, need_b, need_c)
    if d is not None:
        need_d, bd_ = _bound("Cin", d, batch, M, N, it)
        need, bound = need + (need_d,), max(bound, bd_)
    bound = max(bound, M + N + K + 1024)
    ex = _extras(d, epi)
    p = _config(rt, dtype, acc, variant, params)
    order = (0, 1, 2)
    if K == 0:
        # beta * C (zeros when beta == 0): C's buffer stands in for A and B, nothing is read from them
        a = b = (0, 0, 0, 1)
        order = (2, 2, 2)
    beta_zero = 1 if beta == 0 else 0
    al, be = _scalar(acc, alpha), _scalar(acc, beta)

    if p["variant"] == "local":
        idx = p.get("idx") or ("int" if bound <= I32 else "long")
        tsm, tsn, wm, wn = p["tsm"], p["tsn"], p["wm"], p["wn"]
        lx, ly = tsn // wn, tsm // wm
        mt, nt = (M + tsm - 1) // tsm, (N + tsn - 1) // tsn
        types = _gemm_args(idx, acc, d, epi)
        k = _kernel(rt, "local", types, t=dtype, acc=acc, idx=idx, tsm=tsm, tsn=tsn, tk=p["tk"], wm=wm, wn=wn, **ex)
        return _Plan(k, (nt * lx, mt * ly, batch), (lx, ly, 1),
                     _typed((None,) + a + (None,) + b + (None,) + c + (M, N, K, N, mt, nt, 1, al, be, beta_zero) +
                            _tail(d, epi), types), order, need, epi=epi)

    # ---- register-tiled variant: B needs unit column stride for vload
    if K > 0 and b[3] != 1:
        if N == 1:
            b = (b[0], b[1], b[2], 1)          # a single column: its column stride is never used
        elif a[2] == 1 or M == 1:
            # A column-major (or a single row): C^T = B^T @ A^T, and A^T has unit column stride
            a, b = (b[0], b[1], b[3], b[2]), (a[0], a[1], a[3], 1 if M == 1 else a[2])
            c = (c[0], c[1], c[3], c[2])
            d = d and (d[0], d[1], d[3], d[2])
            M, N = N, M
            order = (1, 0, 2)
    if N == 1 and K > 0 and a[3] == 1 and b[2] == 1 and p.get("gemv", True):
        # one output column, A rows and B contiguous along K: dot products with vector loads of both
        idx = p.get("idx") or ("int" if bound <= I32 else "long")
        rows, vw = p.get("gemv_rows", 4), max(1, p.get("vbytes", 64) // acc.itemsize)
        ku = p.get("gemv_ku", 2)
        mt = (M + rows - 1) // rows
        types = _gemm_args(idx, acc, d, epi)
        k = _kernel(rt, "gemv", types, t=dtype, acc=acc, idx=idx, rows=rows, vw=vw, ku=ku, **ex)
        return _Plan(k, (mt, 1, batch), (1, 1, 1),
                     _typed((None,) + a + (None,) + b + (None,) + c + (M, N, K, N, mt, 1, 1, al, be, beta_zero) +
                            _tail(d, epi), types), order, need, None, epi)
    vw, nv = _pick_tn(p, acc, N)
    tn = vw * nv
    pack = None
    bmode, NB = "vec", N
    if K > 0:
        if b[3] != 1:
            bmode = "gather" if p.get("bmode_strided", "pack") == "gather" else "panel"
        else:
            # a contiguous B whose column panel spans many pages (large K x row stride) thrashes the TLB and
            # cache sets: copy it to panels when the copy (K x N) is small next to the product (M x K x N)
            force = p.get("bpack", "auto")
            span = K * b[2] * it
            if force == "always" or (force == "auto" and span >= p.get("pack_span", 1 << 60)
                                     and M >= p.get("pack_min_m", 64)):
                bmode = "panel"
    if bmode == "panel":
        if tn > N:       # panels are zero padded: a wider tile than N is fine there
            vw, nv = _pick_tn(p, acc, 1 << 30)
            tn = vw * nv
        npan = (N + tn - 1) // tn
        pack = _pack_plan(rt, dtype, batch, K, N, b, tn, order[1], p.get("tpack", True))
        b = (0, 0 if b[1] == 0 else npan * K * tn, tn, K * tn)
        order = (order[0], -1, order[2])
        NB = npan * tn
        bound = max(bound, batch * npan * K * tn + K * tn + 1024)
    idx = p.get("idx") or ("int" if bound <= I32 else "long")
    tm = _pick_tm(p, M)
    ku = p["ku"] if K >= p["ku"] else 1
    a_unit = bool(a[3] == 1 or K <= 1)
    mt, nt = (M + tm - 1) // tm, (N + tn - 1) // tn
    # row tiles per work-item: enough work-items to balance the compute units, few enough to amortise
    # the per-work-item cost of the runtime
    rpw = p.get("rpw") or max(1, min(p.get("rpw_max", 8),
                                     (mt * nt * batch) // (rt.info.compute_units * p.get("wi_per_cu", 32))))
    mg = (mt + rpw - 1) // rpw
    l0, l1 = p["lsize"]
    nfirst = bool(p["nfirst"])
    d0, d1 = (nt, mg) if nfirst else (mg, nt)
    types = _gemm_args(idx, acc, d, epi)
    k = _kernel(rt, "reg", types, t=dtype, acc=acc, idx=idx, tm=tm, vw=vw, nv=nv, ku=ku,
                a_unit=a_unit, bmode=bmode, nfirst=nfirst, **ex, **({} if p.get("direct", True) else {"direct": False}))
    return _Plan(k, (_round_up(d0, l0), _round_up(d1, l1), batch), (l0, l1, 1),
                 _typed((None,) + a + (None,) + b + (None,) + c + (M, N, K, NB, mt, nt, rpw, al, be, beta_zero) +
                        _tail(d, epi), types), order, need, pack, epi)


_PACK_BK, _PACK_L = 16, (1, 8)


def _pack_plan(rt, dtype, batch, K, N, b, tn, src, tpack=True):
    """Launch plan of the copy of B (K x N per batch, any strides; once when its batch stride is 0) into
    zero-padded column panels of width tn: element (k, j) of batch p lands at
    ((p * npan + j // tn) * K + k) * tn + j % tn of a temporary buffer."""
    nb = 1 if b[1] == 0 else batch
    it = dtype.itemsize
    npan = (N + tn - 1) // tn
    ext = b[0] + nb * b[1] + (K + 1) * b[2] + (N + 1) * b[3] + nb * npan * K * tn + 1024
    idx = "int" if ext <= I32 else "long"
    kt = (K + _PACK_BK - 1) // _PACK_BK
    i = np.int64 if idx == "long" else np.int32
    types = [None, i, i, i, i, None, np.int32, np.int32, np.int32, np.int32]
    trans = bool(tpack and b[2] == 1 and it == 4 and _PACK_BK == 16 and tn % 16 == 0)
    k = _kernel(rt, "pack", types, ut=_RAW[it], idx=idx, bk=_PACK_BK, tn=tn, **({"trans": True} if trans else {}))
    l0, l1 = _PACK_L
    return (k, (_round_up(npan, l0), _round_up(kt, l1), nb), (l0, l1, 1),
            _typed([None, b[0], b[1], b[2], b[3], None, K, N, kt, npan], types), max(nb * npan * K * tn * it, 1), src)
