"""The register GEMM's special paths against numpy: the matrix-vector kernel (one output column) and whole tiles
stored straight from the accumulators (helpers and references from test_gemm_kernel.py)."""
import numpy as np
import pytest

from test_gemm_kernel import (D, G, RT, Guarded, _EPI, _epi_ref, buf, check, layout, rand, read, reference, run,
                              view)

# every path below belongs to the register-tiled variant (the CPU shape); forcing it keeps them under test on any
# device (Oclgrind's simulated GPU included)
REG = {"variant": "reg"}


def _gemv_kernels():
    return {k for k in G._prepared if k[0] == id(RT) and k[1] == "gemv"}


def _kernel_of(M, N, K, a, b, c):
    """The template def the register variant picks for operands (offset, batch stride, row stride, col stride)."""
    plan = G._make_plan(RT, D.float32, 1, M, N, K, a, b, c, 1, 0, None, "reg", None)
    return next(k[1] for k, v in G._prepared.items() if v is plan.kernel)


@pytest.mark.parametrize("dt", [D.float32, D.float64, D.float16, D.int32, D.int8])
def test_matrix_vector(dt):
    """N == 1 with A rows and B contiguous along K: vector bodies, K tails, row tails, batches, alpha/beta."""
    for batch, M, K in [(1, 1, 1), (2, 5, 3), (1, 37, 100), (3, 9, 47)]:
        run(dt, batch, M, 1, K, **REG)
        run(dt, batch, M, 1, K, alpha=2, beta=3 if dt.is_integer else 0.5, offs=(3, 1, 2), pad=(5, 0, 2), **REG)
    # B (the vector) shared by the batch, B given transposed (its column stride is never used)
    run(dt, 3, 33, 1, 40, bcast=(False, True), bT=True, **REG)
    assert _gemv_kernels()


def test_matrix_vector_row_times_transposed_matrix():
    """x (1 x K) @ W.T (nn.Linear on one sample): A and B swap roles, W's rows become the dot products."""
    run(D.float32, 2, 1, 70, 50, bT=True, **REG)
    assert _kernel_of(1, 70, 50, (0, 0, 50, 1), (0, 0, 1, 50), (0, 0, 70, 1)) == "gemv"
    assert _kernel_of(70, 1, 50, (0, 0, 50, 1), (0, 0, 1, 1), (0, 0, 1, 1)) == "gemv"
    assert _kernel_of(70, 1, 50, (0, 0, 1, 70), (0, 0, 1, 1), (0, 0, 1, 1)) == "reg"      # A column-major


def test_matrix_vector_other_layouts_fall_back():
    """A column-major or a strided vector: the register kernel (or the swap) computes them, still exact."""
    run(D.float32, 2, 37, 1, 45, aT=True, **REG)
    hb = np.arange(90, dtype=np.float32)        # every other element: B's row stride 2
    ha = rand(D.float32, 37 * 45)
    hc = np.full(37, np.nan, np.float32)
    bc = buf(hc)
    G.gemm(RT, D.float32, 1, 37, 1, 45, (buf(ha), 0, 0, 45, 1), (buf(hb), 0, 0, 2, 1), (bc, 0, 0, 1, 1), **REG)
    check(D.float32, read(bc, hc), ha.reshape(37, 45) @ hb[::2], 45)


def test_matrix_vector_sizes_build_nothing_new():
    run(D.float32, 1, 5, 1, 3, **REG)
    n = len(_gemv_kernels())
    for M, K in [(6, 4), (300, 257), (1, 1000)]:
        run(D.float32, 2, M, 1, K, beta=1.0, **REG)
    assert len(_gemv_kernels()) == n


@pytest.mark.parametrize("form", ["", " || 0"])
@pytest.mark.parametrize("dt", [D.float32, D.int32])
def test_matrix_vector_cin_and_epilogue(dt, form):
    prog = ((_EPI[0].format(T=dt.ctype_compute, OR=form),),) + _EPI[1:]
    s = 3 if dt.is_integer else 0.25
    for batch, M, K in [(1, 1, 1), (2, 7, 35), (1, 66, 17)]:
        la, lb, lc = layout(batch, M, K), layout(batch, K, 1), layout(batch, M, 1, False, 2)
        ha, hb, hc, hd = rand(dt, la[0]), rand(dt, lb[0]), rand(dt, lc[0]), rand(dt, 5 + batch)
        if dt.is_integer:
            ha, hb = ha % 16, hb % 16
        bc = buf(hc)
        a, b, c = (buf(ha),) + la[1:], (buf(hb),) + lb[1:], (bc,) + lc[1:]
        d = (buf(hd), 5, 1, 0, 1)        # one bias value per batch, broadcast down the column
        alpha, beta = (2, 1) if dt.is_integer else (1.5, 0.5)
        G.gemm(RT, dt, batch, M, 1, K, a, b, c, alpha, beta, cin=d, epi=(prog, (dt, dt), (s,)), **REG)
        out = read(bc, hc)
        C = np.lib.stride_tricks.as_strided(hd[5:], (batch, M, 1), (hd.itemsize, 0, hd.itemsize))
        ref = reference(dt, view(ha, a, batch, M, K), view(hb, b, batch, K, 1), C, alpha, beta)
        check(dt, view(out, c, batch, M, 1), _epi_ref(ref, s), K)
        mask = np.ones(hc.shape, bool)
        view(mask, c, batch, M, 1)[...] = False
        np.testing.assert_array_equal(out[mask].view(np.uint8), hc[mask].view(np.uint8))


@pytest.mark.parametrize("dt", [D.float32, D.float16, D.int16])
def test_whole_tiles(dt):
    """Sizes that are whole register tiles (stored straight from the accumulators) next to ones with row and column
    tails, with the beta term from C and from a separate Cin."""
    for batch, M, N, K in [(3, 32, 32, 32), (2, 16, 64, 5), (1, 40, 96, 9), (2, 17, 33, 8)]:
        run(dt, batch, M, N, K, **REG)
        run(dt, batch, M, N, K, alpha=2, beta=1, pad=(0, 0, 3), **REG)


@pytest.mark.skipif(not RT.info.is_cpu, reason="guard pages need host-aliased buffers")
def test_matrix_vector_no_reads_past_buffers():
    for (M, K) in [(37, 67), (1, 33), (8, 64)]:
        la, lb, lc = layout(1, M, K), layout(1, K, 1), layout(1, M, 1)
        ha, hb, hc = rand(D.float32, la[0] - 1), rand(D.float32, lb[0] - 1), rand(D.float32, lc[0] - 1)
        ga, gb, gc = Guarded(ha), Guarded(hb), Guarded(hc)
        a, b, c = (ga.buf,) + la[1:], (gb.buf,) + lb[1:], (gc.buf,) + lc[1:]
        G.gemm(RT, D.float32, 1, M, 1, K, a, b, c, beta=1.0, **REG)
        RT.queue.finish()
        ref = reference(D.float32, view(ha, a, 1, M, K), view(hb, b, 1, K, 1), view(hc, c, 1, M, 1), 1, 1.0)
        check(D.float32, view(gc.arr, c, 1, M, 1), ref, K)


@pytest.mark.parametrize("dt", ["bfloat16", "float16"])
def test_matrix_vector_16_bit_through_tensors(dt):
    """torch.mv and x @ W.T with one row in 16-bit storage (float32 accumulation): within one rounding of torch."""
    ct = pytest.importorskip("cltensor")
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    tdt = getattr(torch, dt)
    ta = torch.from_numpy(rng.standard_normal((37, 100)).astype(np.float32)).to(tdt)
    tv = torch.from_numpy(rng.standard_normal(100).astype(np.float32)).to(tdt)
    a, v = (ct.tensor(t.float().numpy()).to(getattr(ct, dt)) for t in (ta, tv))
    from _host import host
    for ours, ref in [(ct.mv(a, v), torch.mv(ta, tv)), (v[None] @ a.t(), tv[None] @ ta.t())]:
        np.testing.assert_allclose(host(ours.float()), ref.float().numpy(), rtol=2 ** -7, atol=1e-2)


@pytest.mark.parametrize("dt", [D.float32, D.int32, D.float64])
def test_transposed_B_panels(dt):
    """B given transposed (x @ W.T) is copied into panels; 4-byte elements go through 16 x 16 register transposes
    (whole blocks) next to the element loop (panel and K tails): offsets, padding, batches, a shared B."""
    for batch, M, N, K, bc in [(2, 40, 70, 50, False), (3, 9, 96, 33, True), (1, 17, 32, 16, False)]:
        run(dt, batch, M, N, K, bT=True, offs=(1, 3, 0), pad=(0, 5, 0), bcast=(False, bc), beta=1, **REG)
