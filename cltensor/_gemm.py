"""Batched strided GEMM on OpenCL buffers (kernels in templates/gemm.mako).

    gemm(rt, dtype, batch, M, N, K, a, b, c, alpha=1, beta=0, acc_dtype=None)

computes C[p] = alpha * A[p] @ B[p] + beta * C[p] for p in range(batch), enqueued on rt.queue without waiting.
Operands are (cl.Buffer, offset, batch_stride, row_stride, col_stride) in elements of `dtype`.

Kernel choice (see templates/gemm.mako):
  * "reg"   - register-tiled, no local memory: the fast shape on CPU devices (PoCL). Each work-item owns a
              TM x TN block of C (TN = VW * NV columns held in VW-wide vectors), reads B rows with vload
              (B must have column stride 1: otherwise A and B swap roles, C^T = B^T A^T, when A has row
              stride 1, else B is packed into a contiguous temporary or gathered, whichever measured faster).
  * "local" - GPU-style __local tiling; default on GPUs. Reads any strides in place.
Parameters come from a small per-vendor table (`_DEFAULTS`), clamped to the device limits, and can be
overridden with the `variant=` / `params=` keywords (tests force the GPU variant on the CPU this way) or the
environment variable CLTENSOR_GEMM_VARIANT=reg|local. With CLTENSOR_AUTOTUNE=1 the first GEMM of each dtype
class on a device times a few register-tile configurations and persists the winner in
<user cache dir>/cltensor/gemm_tune.json, keyed by device name and driver version.

Launch geometry never depends on the matrix sizes beyond the global size: local sizes are fixed per kernel
variant and tile counts are kernel arguments (PoCL compiles a kernel again for every new local size).
"""
import json
import os
import time

import numpy as np
import pyopencl as cl

from . import _dtypes as D
from . import _kernels

_INT32_LIMIT = 2 ** 31 - 1

# ------------------------------------------------------------------------------------------ defaults table
# Matched in order: the first entry whose device kind matches and whose vendor substring occurs in the
# device vendor/name (lower case) wins. "tn_bytes" is the width of the register tile in bytes of the
# accumulator type (128 bytes = 32 floats = two float16 vectors, or 16 doubles); "vbytes" the vector width.
_DEFAULTS = [
    # CPU devices (PoCL, Intel/AMD CPU runtimes): register tiles, no __local, tiny work-groups.
    ("cpu", "", dict(variant="reg", tm=8, tn_bytes=128, vbytes=64, ku=4, lsize=(4, 1), nfirst=False,
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


def _device_defaults(info):
    kind = "cpu" if info.is_cpu else ("gpu" if info.is_gpu else "any")
    who = (info.vendor + " " + info.name).lower()
    for k, sub, params in _DEFAULTS:
        if (k == kind or k == "any") and sub in who:
            return dict(params)
    return dict(_DEFAULTS[-1][2])


def _fit_local(info, p):
    """Shrink a local-memory tile config until it fits the device's work-group size and local memory."""
    p = dict(p)
    for _ in range(8):
        lx, ly = p["tsn"] // p["wn"], p["tsm"] // p["wm"]
        lmem = (p["tsm"] + p["tsn"]) * p["tk"] * 8
        if lx * ly <= info.max_work_group_size and lmem <= info.local_mem_size:
            break
        if lx * ly > info.max_work_group_size and p["tsm"] >= 2 * p["wm"]:
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
        return D.float32 if dtype is D.float16 else dtype
    if not acc_dtype.is_floating_point or acc_dtype is D.float16:
        raise TypeError(f"gemm: accumulation dtype must be float32 or float64 for {dtype}, got {acc_dtype}")
    if acc_dtype.itemsize < (4 if dtype is D.float16 else dtype.itemsize):
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


_TUNE_CANDIDATES = [
    dict(tm=8, tn_bytes=128, ku=4, lsize=(1, 4), nfirst=False),
    dict(tm=8, tn_bytes=128, ku=1, lsize=(1, 4), nfirst=False),
    dict(tm=8, tn_bytes=128, ku=4, lsize=(4, 1), nfirst=True),
    dict(tm=8, tn_bytes=128, ku=4, lsize=(1, 16), nfirst=False),
    dict(tm=6, tn_bytes=128, ku=4, lsize=(1, 4), nfirst=False),
    dict(tm=4, tn_bytes=128, ku=4, lsize=(1, 4), nfirst=False),
    dict(tm=8, tn_bytes=64, ku=4, lsize=(1, 4), nfirst=False),
    dict(tm=4, tn_bytes=256, ku=2, lsize=(1, 4), nfirst=False),
]


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
    for cand in _TUNE_CANDIDATES:
        p = dict(_REG_DEFAULT)
        p.update(base if base.get("variant") == "reg" else {})
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
    return best


# ------------------------------------------------------------------------------------------ configuration

def _config(rt, dtype, acc, variant=None, params=None):
    info = rt.info
    p = _device_defaults(info)
    v = variant or os.environ.get("CLTENSOR_GEMM_VARIANT") or (params or {}).get("variant") or p["variant"]
    if v == "reg":
        if p.get("variant") != "reg":
            p = dict(_REG_DEFAULT)
        if params is None and os.environ.get("CLTENSOR_AUTOTUNE") == "1" and info.is_cpu:
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


def _check(name, op, batch, rows, cols, itemsize):
    buf, off, bs, rs, cs = op
    if min(off, bs, rs, cs) < 0:
        raise ValueError(f"gemm: operand {name} has a negative offset or stride {op[1:]}")
    ext = _extent(off, batch, bs, rows, rs, cols, cs)
    if ext * itemsize > buf.size:
        raise ValueError(f"gemm: operand {name} ({batch} x {rows} x {cols}, offset {off}, strides {(bs, rs, cs)}) "
                         f"reaches element {ext - 1}, past the end of its buffer ({buf.size // itemsize} elements)")
    # a conservative bound on the indices the kernels form (strides are also added once past the end)
    return off + batch * bs + (rows + 1) * rs + (cols + 1) * cs + 64


_prepared = {}


def _kernel(rt, defname, arg_dtypes, **params):
    key = (id(rt), defname, tuple(sorted(params.items())))
    k = _prepared.get(key)
    if k is None:
        k = _kernels.get(rt, "gemm", defname, **params)
        k.set_scalar_arg_dtypes(arg_dtypes)
        _prepared[key] = k
    return k


def _gemm_args(idx, acc):
    i = np.int64 if idx == "long" else np.int32
    a = np.uint64 if (acc.is_integer and acc.itemsize == 8) else \
        np.uint32 if acc.is_integer else acc.np.type
    return [None, i, i, i, i, None, i, i, i, i, None, i, i, i, i,
            np.int32, np.int32, np.int32, np.int32, np.int32, np.int32, a, a, np.int32]


def _round_up(n, m):
    return (n + m - 1) // m * m


# ------------------------------------------------------------------------------------------ public entry

def gemm(rt, dtype, batch, M, N, K, a, b, c, alpha=1, beta=0, acc_dtype=None, variant=None, params=None):
    """C[p] = alpha * A[p] @ B[p] + beta * C[p] for p in range(batch), enqueued asynchronously (no sync).

    a, b, c: (cl.Buffer, offset, batch_stride, row_stride, col_stride) with everything in ELEMENTS of dtype
    (strides may be 0 for broadcast batch, any non-negative values; A is M x K, B is K x N, C is M x N).
    dtype: one cltensor dtype for A, B and C (float16 stored as half and computed in float, float32, float64,
    int8/16/32/64, uint8); integer GEMM accumulates in the integer type with wrap-around like PyTorch.
    acc_dtype: accumulation type for floating dtypes (float32 for float16 by default; float64 allowed).
    beta == 0 never reads C (NaN in C does not propagate). C must not overlap A or B.
    variant / params: force a kernel variant ("reg", "local") or tile parameters (tests, autotuning).
    """
    batch, M, N, K = int(batch), int(M), int(N), int(K)
    if min(batch, M, N, K) < 0:
        raise ValueError(f"gemm: negative size batch={batch} M={M} N={N} K={K}")
    if batch == 0 or M == 0 or N == 0:
        return
    acc = _acc_dtype(dtype, acc_dtype)
    it = dtype.itemsize
    bound = max(_check("C", c, batch, M, N, it),
                _check("A", a, batch, M, K, it) if K else 0,
                _check("B", b, batch, K, N, it) if K else 0,
                M + N + K + 64)
    p = _config(rt, dtype, acc, variant, params)
    if K == 0:
        # beta * C (zeros when beta == 0): any valid pointer will do for A and B, nothing is read from them
        a = (c[0], 0, 0, 0, 0)
        b = (c[0], 0, 0, 0, 0)
    beta_zero = 1 if (beta == 0 and not isinstance(beta, complex)) else 0
    al, be = _scalar(acc, alpha), _scalar(acc, beta)

    if p["variant"] == "local":
        idx = "int" if bound <= _INT32_LIMIT else "long"
        tsm, tsn, wm, wn = p["tsm"], p["tsn"], p["wm"], p["wn"]
        lx, ly = tsn // wn, tsm // wm
        mt, nt = (M + tsm - 1) // tsm, (N + tsn - 1) // tsn
        k = _kernel(rt, "local", _gemm_args(idx, acc), t=dtype, acc=acc, idx=idx,
                    tsm=tsm, tsn=tsn, tk=p["tk"], wm=wm, wn=wn)
        _kernels.launch(rt, k, (nt * lx, mt * ly, batch), (lx, ly, 1),
                        (a[0], a[1], a[2], a[3], a[4], b[0], b[1], b[2], b[3], b[4], c[0], c[1], c[2], c[3], c[4],
                         M, N, K, N, mt, nt, al, be, beta_zero))
        return

    # ---- register-tiled variant: B needs unit column stride for vload
    if K > 0 and b[4] != 1:
        if N == 1:
            b = (b[0], b[1], b[2], b[3], 1)      # a single column: its column stride is never used
        elif a[3] == 1 or M == 1:
            # A column-major (or a single row): C^T = B^T @ A^T, and A^T has unit column stride
            a, b = (b[0], b[1], b[2], b[4], b[3]), (a[0], a[1], a[2], a[4], 1 if M == 1 else a[3])
            c = (c[0], c[1], c[2], c[4], c[3])
            M, N = N, M
    vw, nv = _pick_tn(p, acc, N)
    tn = vw * nv
    tmp = None
    bmode, NB = "vec", N
    if K > 0:
        if b[4] != 1:
            bmode = "gather" if p.get("bmode_strided", "pack") == "gather" else "panel"
        else:
            # a contiguous B whose column panel spans many pages (large K x row stride) thrashes the TLB and
            # cache sets: copy it to panels when the copy (K x N) is small next to the product (M x K x N)
            force = p.get("bpack", "auto")
            span = K * b[3] * dtype.itemsize
            if force == "always" or (force == "auto" and span >= p.get("pack_span", 1 << 60)
                                     and M >= p.get("pack_min_m", 64)):
                bmode = "panel"
    if bmode == "panel":
        if tn > N:       # panels are zero padded: a wider tile than N is fine there
            vw, nv = _pick_tn(p, acc, 1 << 30)
            tn = vw * nv
        npan = (N + tn - 1) // tn
        tmp = _pack(rt, dtype, batch, K, N, b, tn)
        b = (tmp[1][0], 0, 0 if b[2] == 0 else npan * K * tn, tn, K * tn)
        NB = npan * tn
        bound = max(bound, batch * npan * K * tn + K * tn + 64)
    idx = "int" if bound <= _INT32_LIMIT else "long"
    tm = _pick_tm(p, M)
    ku = p["ku"] if K >= p["ku"] else 1
    a_unit = bool(a[4] == 1 or K == 1)
    mt, nt = (M + tm - 1) // tm, (N + vw * nv - 1) // (vw * nv)
    l0, l1 = p["lsize"]
    nfirst = bool(p["nfirst"])
    d0, d1 = (nt, mt) if nfirst else (mt, nt)
    k = _kernel(rt, "reg", _gemm_args(idx, acc), t=dtype, acc=acc, idx=idx, tm=tm, vw=vw, nv=nv, ku=ku,
                a_unit=a_unit, bmode=bmode, nfirst=nfirst)
    _kernels.launch(rt, k, (_round_up(d0, l0), _round_up(d1, l1), batch), (l0, l1, 1),
                    (a[0], a[1], a[2], a[3], a[4], b[0], b[1], b[2], b[3], b[4], c[0], c[1], c[2], c[3], c[4],
                     M, N, K, NB, mt, nt, al, be, beta_zero))
    if tmp is not None:
        rt.release(*tmp)   # in-order queue: a later user of this buffer runs after this GEMM


_PACK_BK, _PACK_L = 16, (1, 8)


def _pack(rt, dtype, batch, K, N, b, tn):
    """Copy B (K x N per batch, any strides; once when its batch stride is 0) into zero-padded column
    panels of width tn: element (k, j) of batch p lands at ((p * npan + j // tn) * K + k) * tn + j % tn."""
    nb = 1 if b[2] == 0 else batch
    it = dtype.itemsize
    npan = (N + tn - 1) // tn
    tmp = rt.alloc(max(nb * npan * K * tn * it, 1))
    ext = b[1] + nb * b[2] + (K + 1) * b[3] + (N + 1) * b[4] + nb * npan * K * tn + 64
    idx = "int" if ext <= _INT32_LIMIT else "long"
    kt = (K + _PACK_BK - 1) // _PACK_BK
    i = np.int64 if idx == "long" else np.int32
    k = _kernel(rt, "pack", [None, i, i, i, i, None, np.int32, np.int32, np.int32, np.int32],
                ut=_RAW[it], idx=idx, bk=_PACK_BK, tn=tn)
    l0, l1 = _PACK_L
    _kernels.launch(rt, k, (_round_up(npan, l0), _round_up(kt, l1), nb), (l0, l1, 1),
                    (b[0], b[1], b[2], b[3], b[4], tmp[1][0], K, N, kt, npan))
    return tmp
