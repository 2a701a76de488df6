"""Kernel-level tests of cltensor._gemm.gemm against numpy (buffers and strides by hand, no tensor layer)."""
import ctypes
import importlib
import mmap
import os
import sys
import types

import numpy as np
import pytest

cl = pytest.importorskip("pyopencl")


def _import_core():
    """Import the core submodules even while cltensor/__init__.py is missing or broken (others edit it)."""
    try:
        import cltensor  # noqa: F401
    except Exception:
        for k in [k for k in sys.modules if k == "cltensor" or k.startswith("cltensor.")]:
            del sys.modules[k]
        pkg = types.ModuleType("cltensor")
        pkg.__path__ = [os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cltensor")]
        sys.modules["cltensor"] = pkg
    return tuple(importlib.import_module("cltensor." + m) for m in ("_device", "_dtypes", "_gemm"))


_device, D, G = _import_core()

RT = _device.runtime(_device.get_default_device())    # the default device (cpu, or CLTENSOR_DEVICE's)

MF = cl.mem_flags
RNG = np.random.default_rng(1234)


# ---------------------------------------------------------------------------------------------- helpers

def rand(dt, n):
    if dt.is_floating_point:
        return RNG.standard_normal(n).astype(dt.np)
    if dt is D.uint8:
        return RNG.integers(0, 256, n).astype(np.uint8)
    info = np.iinfo(dt.np)
    lo, hi = (max(info.min, -1000), min(info.max, 1000)) if dt.itemsize > 1 else (info.min, info.max)
    return RNG.integers(lo, hi, n, endpoint=True).astype(dt.np)


def buf(host):
    return cl.Buffer(RT.ctx, MF.READ_WRITE | MF.COPY_HOST_PTR, hostbuf=host if host.size else np.zeros(1, host.dtype))


def read(b, host):
    RT.queue.finish()
    out = np.empty_like(host)
    if out.size:
        cl.enqueue_copy(RT.queue, out, b)
    return out


def view(host, op, batch, rows, cols):
    """numpy view of operand (offset, batch stride, row stride, col stride) over a flat host array."""
    _, off, bs, rs, cs = op
    it = host.itemsize
    return np.lib.stride_tricks.as_strided(host[off:], (batch, rows, cols), (bs * it, rs * it, cs * it))


def layout(batch, rows, cols, trans=False, off=0, bcast=False, pad=0):
    """(size, offset, batch stride, row stride, col stride) of a batch of rows x cols matrices."""
    ld = (rows if trans else cols) + pad
    mat = (cols if trans else rows) * ld
    bs = 0 if bcast else mat + 3
    rs, cs = (1, ld) if trans else (ld, 1)
    size = off + (0 if bcast else (batch - 1) * bs) + mat + 1
    return size, off, bs, rs, cs


def reference(dt, A, B, C, alpha, beta):
    """alpha * A @ B + beta * C the way PyTorch computes it for dt (float16: float32 math, rounded)."""
    if dt.is_integer:
        bits = dt.itemsize * 8
        prod = np.matmul(A.astype(np.int64), B.astype(np.int64), dtype=np.int64) if A.shape[-1] else \
            np.zeros(A.shape[:-1] + B.shape[-1:], np.int64)
        r = (int(alpha) * prod).astype(np.int64)
        if beta != 0:
            r = r + int(beta) * C.astype(np.int64)
        if bits < 64:
            r = r & ((1 << bits) - 1)
        return r.astype(dt.np)
    w = np.float64 if dt is D.float64 else np.float32
    r = alpha * np.matmul(A.astype(w), B.astype(w))
    if beta != 0:
        r = r + beta * C.astype(w)
    return r.astype(dt.np)


def check(dt, out, ref, K):
    if dt.is_integer:
        np.testing.assert_array_equal(out, ref)
        return
    # summation-order differences grow like sqrt(K) (values are ~N(0, K)); float16 may differ by one
    # final rounding (1 ulp = 2^-10 relative) where the float32 sums straddle a rounding boundary
    o, r = out.astype(np.float64), ref.astype(np.float64)
    rtol, atol = {D.float16: (2e-3, 1e-3), D.float32: (1e-5, 4e-6), D.float64: (1e-13, 1e-14)}[dt]
    np.testing.assert_allclose(o, r, rtol=rtol, atol=atol * np.sqrt(max(K, 1)))


def run(dt, batch, M, N, K, alpha=1, beta=0, aT=False, bT=False, cT=False, offs=(0, 0, 0), bcast=(False, False),
        pad=(0, 0, 0), **kw):
    la = layout(batch, M, K, aT, offs[0], bcast[0], pad[0])
    lb = layout(batch, K, N, bT, offs[1], bcast[1], pad[1])
    lc = layout(batch, M, N, cT, offs[2], False, pad[2])
    ha, hb, hc = rand(dt, la[0]), rand(dt, lb[0]), rand(dt, lc[0])
    if dt.is_floating_point and beta == 0:
        hc[:] = np.nan   # beta == 0 must not read C
    ba, bb, bc = buf(ha), buf(hb), buf(hc)
    a, b, c = (ba,) + la[1:], (bb,) + lb[1:], (bc,) + lc[1:]
    G.gemm(RT, dt, batch, M, N, K, a, b, c, alpha=alpha, beta=beta, **kw)
    out = read(bc, hc)
    A, B, C = view(ha, a, batch, M, K), view(hb, b, batch, K, N), view(hc, c, batch, M, N)
    ref = reference(dt, A, B, C, alpha, beta)
    check(dt, view(out, c, batch, M, N), ref, K)
    # everything of C's buffer outside the batch of matrices is untouched
    mask = np.ones(hc.shape, bool)
    view(mask, c, batch, M, N)[...] = False
    np.testing.assert_array_equal(out[mask].view(np.uint8), hc[mask].view(np.uint8))


# ---------------------------------------------------------------------------------------------- tests

SIZES = [(1, 1, 1), (7, 7, 7), (1, 129, 7), (129, 1, 7), (7, 129, 129), (129, 129, 129), (129, 7, 1000), (300, 257, 310)]


@pytest.mark.parametrize("M,N,K", SIZES)
def test_float32_sizes(M, N, K):
    run(D.float32, 1, M, N, K)


@pytest.mark.parametrize("dt", [D.float64, D.float16, D.int32, D.int64, D.int8, D.uint8, D.int16])
@pytest.mark.parametrize("M,N,K", [(129, 70, 33), (7, 40, 300)])
def test_dtypes(dt, M, N, K):
    run(dt, 2, M, N, K, alpha=3 if dt.is_integer else 1.5, beta=-2 if dt is not D.uint8 else 5)


@pytest.mark.fp64
def test_float64_accumulation():
    # float32 data, float64 accumulators: the result is the float64 product rounded once
    a = RNG.standard_normal((9, 4000)).astype(np.float32)
    b = RNG.standard_normal((4000, 40)).astype(np.float32)
    c = np.zeros((9, 40), np.float32)
    bc = buf(c)
    G.gemm(RT, D.float32, 1, 9, 40, 4000, (buf(a), 0, 0, 4000, 1), (buf(b), 0, 0, 40, 1), (bc, 0, 0, 40, 1),
           acc_dtype=D.float64)
    ref = (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float32)
    np.testing.assert_allclose(read(bc, c), ref, rtol=1e-6, atol=1e-5)


def test_int8_wraps_like_torch():
    a = np.full((9, 63), 100, np.int8)
    b = np.full((63, 40), 3, np.int8)
    c = np.zeros((9, 40), np.int8)
    bc = buf(c)
    G.gemm(RT, D.int8, 1, 9, 40, 63, (buf(a), 0, 0, 63, 1), (buf(b), 0, 0, 40, 1), (bc, 0, 0, 40, 1))
    assert (read(bc, c) == -44).all()    # 100 * 3 * 63 = 18900 = 212 (mod 256) = -44 as int8


@pytest.mark.parametrize("aT,bT,cT", [(True, False, False), (False, True, False), (True, True, True),
                                      (False, False, True)])
@pytest.mark.parametrize("M,N,K", [(129, 67, 45), (1, 40, 9)])
def test_transposed(aT, bT, cT, M, N, K):
    run(D.float32, 1, M, N, K, aT=aT, bT=bT, cT=cT, alpha=0.5, beta=2.0)


def test_transposed_other_dtypes():
    run(D.float16, 2, 33, 47, 65, bT=True, beta=1)


def test_strided_padded_offsets():
    run(D.float32, 3, 37, 45, 51, offs=(5, 7, 11), pad=(3, 5, 2), alpha=-1.0, beta=0.25)


@pytest.mark.parametrize("bcast", [(True, False), (False, True), (True, True)])
def test_batch_broadcast(bcast):
    run(D.float32, 5, 33, 40, 17, bcast=bcast, beta=1.0)
    run(D.float32, 4, 9, 300, 20, bcast=bcast, bT=True)


def test_batched_small():
    run(D.float32, 64, 32, 32, 32)


def test_k_zero():
    for beta in (0, 0.5):
        run(D.float32, 2, 9, 33, 0, beta=beta)
    run(D.int32, 1, 9, 33, 0, beta=3)
    run(D.float32, 1, 9, 33, 0, variant="local")


def test_repeated_calls_swap_buffers():
    # the cached plan and the kernel's already-set scalar arguments are reused; only buffers change
    hs = [(rand(D.float32, 33 * 20), rand(D.float32, 20 * 40)) for _ in range(3)]
    outs = []
    for _ in range(2):
        res = []
        for ha, hb in hs:         # back to back: the fast path sets only the buffers
            c = np.zeros(33 * 40, np.float32)
            bc = buf(c)
            G.gemm(RT, D.float32, 1, 33, 40, 20, (buf(ha), 0, 0, 20, 1), (buf(hb), 0, 0, 40, 1), (bc, 0, 0, 40, 1))
            res.append((bc, c, ha, hb))
        outs += [(read(bc, c), ha, hb) for bc, c, ha, hb in res]
        run(D.float32, 1, 33, 41, 20)            # another plan with the same kernel in between
    for out, ha, hb in outs:
        check(D.float32, out.reshape(33, 40), ha.reshape(33, 20) @ hb.reshape(20, 40), 20)


def test_empty():
    hc = np.full(4, 7.0, np.float32)
    bc = buf(hc)
    G.gemm(RT, D.float32, 0, 3, 3, 3, (bc, 0, 0, 3, 1), (bc, 0, 0, 3, 1), (bc, 0, 0, 3, 1))
    G.gemm(RT, D.float32, 1, 0, 3, 3, (bc, 0, 0, 3, 1), (bc, 0, 0, 3, 1), (bc, 0, 0, 3, 1))
    assert (read(bc, hc) == 7).all()


def test_large_B_is_packed():
    # a contiguous B spanning more than pack_span bytes goes through the panel copy: still exact
    run(D.float32, 1, 70, 300, 37, pad=(0, 2000 * 16 - 300, 0), params={"pack_span": 1 << 20})


def test_long_index_and_gather():
    run(D.float32, 2, 33, 40, 50, beta=1.0, params={"idx": "long"})
    run(D.float32, 2, 33, 40, 50, bT=True, params={"bmode_strided": "gather"})


@pytest.mark.parametrize("dt", [D.float32, D.int8])
def test_gpu_variant_on_cpu(dt):
    for (M, N, K) in [(1, 1, 1), (129, 70, 33), (7, 129, 45)]:
        run(dt, 2, M, N, K, alpha=2, beta=1, variant="local")
    run(dt, 3, 40, 33, 65, aT=True, bT=True, cT=True, offs=(3, 4, 5), bcast=(False, True), variant="local")


def test_local_variant_small_tiles():
    # a device with a small work-group limit: tiles shrink, results stay exact
    run(D.float32, 1, 50, 45, 70, variant="local", params={"tsm": 16, "tsn": 16, "tk": 4, "wm": 2, "wn": 2})


# an epilogue by hand, in the form cltensor.compile's fused chains take (statements, final value, dtypes): x0 is the
# GEMM's value in the storage dtype, x1 a scalar kernel argument. "|| 0" (a branch) makes the kernel evaluate it in
# a loop over each tile row instead of as straight-line code per lane (templates/gemm.mako: straight)
_EPI = ("const {T} v0 = (x0 > x1{OR}) ? x0 : x1 + (x1 - x0) / 2;", "v0", ())


def _epi_ref(r, s):
    w = r.astype(np.int64 if r.dtype.kind in "iu" else np.float64)   # C promotes char/short arithmetic to int
    return np.where(w > s, w, s + ((s - w) // 2 if r.dtype.kind in "iu" else (s - w) / 2)).astype(r.dtype)


@pytest.mark.parametrize("variant,form", [(None, ""), (None, " || 0"), ("local", "")])
@pytest.mark.parametrize("dt", [D.float32, D.float64, D.int32, D.int8, D.int64])
def test_cin_and_epilogue(variant, form, dt):
    """Cin (a bias row broadcast by stride 0) read for the beta term and a scalar epilogue before the store: edge
    tiles, strided and transposed C, batches, integer wrap-around."""
    prog = ((_EPI[0].format(T=dt.ctype_compute, OR=form),),) + _EPI[1:]
    s = 3 if dt.is_integer else 0.25
    for batch, M, N, K, cT, pad in [(1, 1, 1, 1, False, 0), (2, 7, 33, 5, False, 3), (1, 129, 70, 33, True, 0),
                                    (3, 33, 129, 7, False, 0), (1, 1, 40, 9, False, 0)]:
        la, lb, lc = layout(batch, M, K), layout(batch, K, N, True), layout(batch, M, N, cT, 2, pad=pad)
        ha, hb, hc, hd = rand(dt, la[0]), rand(dt, lb[0]), rand(dt, lc[0]), rand(dt, 5 + batch * N)
        if dt.is_integer:
            ha, hb = ha % 16, hb % 16    # small products: the integer reference stays in range
        bc = buf(hc)
        a, b, c = (buf(ha),) + la[1:], (buf(hb),) + lb[1:], (bc,) + lc[1:]
        d = (buf(hd), 5, N, 0, 1)        # batch p reads bias row hd[5 + p * N ...]: batch stride N, row stride 0
        alpha, beta = (2, 1) if dt.is_integer else (1.5, 0.5)
        G.gemm(RT, dt, batch, M, N, K, a, b, c, alpha, beta, cin=d, epi=(prog, (dt, dt), (s,)), variant=variant)
        out = read(bc, hc)
        C = np.lib.stride_tricks.as_strided(hd[5:], (batch, M, N), (N * hd.itemsize, 0, hd.itemsize))
        ref = reference(dt, view(ha, a, batch, M, K), view(hb, b, batch, K, N), C, alpha, beta)
        check(dt, view(out, c, batch, M, N), _epi_ref(ref, s), K)
        mask = np.ones(hc.shape, bool)
        view(mask, c, batch, M, N)[...] = False
        np.testing.assert_array_equal(out[mask].view(np.uint8), hc[mask].view(np.uint8))


def test_bad_operands():
    hc = np.zeros(16, np.float32)
    bc = buf(hc)
    with pytest.raises(ValueError):
        G.gemm(RT, D.float32, 1, 4, 4, 4, (bc, 0, 0, 4, 1), (bc, 0, 0, 4, 1), (bc, 1, 0, 4, 1))  # past the end
    with pytest.raises(ValueError):
        G.gemm(RT, D.float32, 1, 2, 2, 2, (bc, 0, 0, -1, 1), (bc, 0, 0, 2, 1), (bc, 0, 0, 2, 1))


# ---------------------------------------------------------------------------------------------- guard pages

_libc = ctypes.CDLL(None, use_errno=True)
_PAGE = mmap.PAGESIZE


class Guarded:
    """numpy array of n elements ending exactly at a PROT_NONE page: reading past it crashes (PoCL's
    USE_HOST_PTR buffers alias host memory on this CPU device)."""

    def __init__(self, host):
        nbytes = max(host.nbytes, 1)
        npages = (nbytes + _PAGE - 1) // _PAGE + 1
        self.mm = mmap.mmap(-1, npages * _PAGE)
        base = ctypes.addressof(ctypes.c_char.from_buffer(self.mm))
        guard = base + (npages - 1) * _PAGE
        _libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        assert _libc.mprotect(ctypes.c_void_p(guard), _PAGE, 0) == 0
        start = (npages - 1) * _PAGE - host.nbytes
        self.arr = np.frombuffer(self.mm, host.dtype, host.size, start)
        self.arr[:] = host
        self.buf = cl.Buffer(RT.ctx, MF.READ_WRITE | MF.USE_HOST_PTR, hostbuf=self.arr)


@pytest.mark.skipif(not RT.info.is_cpu, reason="guard pages need host-aliased buffers")
@pytest.mark.parametrize("variant", [None, "local"])
def test_no_reads_past_buffers(variant):
    for (M, N, K, aT, bT) in [(129, 37, 67, False, False), (33, 70, 19, True, True), (9, 40, 5, False, True)]:
        la, lb, lc = layout(1, M, K, aT), layout(1, K, N, bT), layout(1, M, N)
        # trim each buffer to the last element it owns
        ha = rand(D.float32, la[0] - 1)
        hb = rand(D.float32, lb[0] - 1)
        hc = rand(D.float32, lc[0] - 1)
        ga, gb, gc = Guarded(ha), Guarded(hb), Guarded(hc)
        a, b, c = (ga.buf,) + la[1:], (gb.buf,) + lb[1:], (gc.buf,) + lc[1:]
        G.gemm(RT, D.float32, 1, M, N, K, a, b, c, beta=1.0, variant=variant)
        RT.queue.finish()
        ref = reference(D.float32, view(ha, a, 1, M, K), view(hb, b, 1, K, N), view(hc, c, 1, M, N), 1, 1.0)
        check(D.float32, view(gc.arr, c, 1, M, N), ref, K)


def test_autotune_persists(tmp_path, monkeypatch):
    monkeypatch.setattr(G, "_cache_path", lambda: str(tmp_path / "gemm_tune.json"))
    monkeypatch.setattr(G, "_tune_candidates", lambda base: [dict(tm=8, tn_bytes=128, ku=1, lsize=(4, 1),
                                                                   nfirst=False)])
    monkeypatch.setattr(G, "_tuned", {})
    best = G.autotune(RT, D.float32, n=64, reps=1)
    assert best["tm"] == 8
    assert (tmp_path / "gemm_tune.json").exists()
    G._tuned.clear()
    assert G._load_tuned(RT.info, 4)["lsize"] == (4, 1)
    monkeypatch.setenv("CLTENSOR_AUTOTUNE", "1")
    run(D.float32, 1, 20, 40, 30)


@pytest.mark.parametrize("width,tile", [(16, (8, 128, 64)), (8, (6, 64, 32)), (4, (6, 32, 16)), (2, (6, 32, 16)),
                                        (32, (8, 128, 64))])
def test_cpu_tile_follows_vector_width(width, tile):
    """The CPU register tile is chosen from the device's preferred float vector width (AVX2 vs AVX-512)."""
    class Info:
        is_cpu, is_gpu, vendor, name = True, False, "x", "y"
        preferred_vector_width_float = width

    class Tuning:
        kind = "cpu"
    Info.tuning = Tuning
    p = G._device_defaults(Info())
    assert (p["tm"], p["tn_bytes"], p["vbytes"]) == tile
    assert p["variant"] == "reg"
    # the register tile (rows x vectors) leaves room in a 16- (AVX2) or 32-register (AVX-512) file
    assert p["tm"] * p["tn_bytes"] // p["vbytes"] <= (16 if width >= 16 else 12)
