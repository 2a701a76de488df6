"""The calls of searching, statistics, scatter-form, sampling and small API functions that the op-info table
cannot express (tensor keyword arguments, in-place-only forms, random numbers, settings), against PyTorch."""
import math
import warnings

import numpy as np
import pytest

import cltensor as ct
from _host import host

torch = pytest.importorskip("torch")


def _c(a, **kw):
    return ct.tensor(np.asarray(a), **kw)


def _eq(got, want, rtol=1e-6, atol=1e-6):
    if isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _eq(g, w, rtol, atol)
        return
    w = want.detach().numpy()
    g = host(got)
    assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
    np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, equal_nan=True)


# ---------------------------------------------------------------- searching

@pytest.mark.fp64     # (float64 cases inside)
def test_searchsorted_sorter_nan_and_errors():
    rng = np.random.default_rng(0)
    seq = rng.uniform(-3, 3, (3, 7)).astype(np.float32)
    seq[1, 2] = np.nan
    sorter = np.argsort(seq, axis=-1, kind="stable")
    vals = np.array([[-1.0, 0.0, np.nan, 5.0]] * 3, np.float32)
    for right in (False, True):
        _eq(ct.searchsorted(_c(seq), _c(vals), sorter=_c(sorter), right=right),
            torch.searchsorted(torch.tensor(seq), torch.tensor(vals), sorter=torch.tensor(sorter), right=right))
    s = np.sort(seq, axis=-1)
    _eq(ct.searchsorted(_c(s), _c(vals)), torch.searchsorted(torch.tensor(s), torch.tensor(vals)))
    # a scalar value, a strided (transposed) sequence, an empty value tensor
    _eq(ct.searchsorted(_c(s[0]), 0.5), torch.searchsorted(torch.tensor(s[0]), 0.5))
    st = np.sort(rng.uniform(-1, 1, (5, 3)), axis=0)
    _eq(ct.searchsorted(_c(st).T, _c(vals[:, :2]).double()),
        torch.searchsorted(torch.tensor(st).T, torch.tensor(vals[:, :2]).double()))
    _eq(ct.searchsorted(_c(s[0]), ct.empty(0)), torch.searchsorted(torch.tensor(s[0]), torch.empty(0)))
    for kw in ({"side": "middle"}, {"side": "left", "right": True}):
        with pytest.raises(RuntimeError) as want:
            torch.searchsorted(torch.tensor(s), torch.tensor(vals), **kw)
        with pytest.raises(RuntimeError) as got:
            ct.searchsorted(_c(s), _c(vals), **kw)
        assert str(got.value) == str(want.value)
    with pytest.raises(RuntimeError, match="boundaries tensor should be 1 dimension"):
        ct.searchsorted(_c(s), _c(vals[0]))


@pytest.mark.fp64     # (float64 cases inside)
def test_bucketize_isin_mixed_dtypes():
    b = np.array([1, 3, 5, 7])
    x = np.array([[0.5, 3.0, 7.0, 9.0]])
    _eq(ct.bucketize(_c(x), _c(b)), torch.bucketize(torch.tensor(x), torch.tensor(b)))
    _eq(ct.bucketize(3, _c(b), right=True), torch.bucketize(3, torch.tensor(b), right=True))
    _eq(ct.isin(_c([1, 2, 3, 4]), _c([2.0, 4.5])), torch.isin(torch.tensor([1, 2, 3, 4]), torch.tensor([2.0, 4.5])))
    _eq(ct.isin(_c([1, 2, 3]), 2), torch.isin(torch.tensor([1, 2, 3]), 2))
    _eq(ct.isin(_c([1.0, np.nan]), _c([np.nan])), torch.isin(torch.tensor([1.0, np.nan]), torch.tensor([np.nan])))
    _eq(ct.isin(_c([1, 2]), ct.tensor([], dtype=ct.int64)), torch.isin(torch.tensor([1, 2]), torch.tensor([])
                                                                      .long()))


# ---------------------------------------------------------------- statistics

@pytest.mark.fp64     # (float64 cases inside)
def test_bincount_histc_edges():
    _eq(ct.bincount(ct.tensor([], dtype=ct.int64), minlength=3), torch.bincount(torch.tensor([]).long(), minlength=3))
    with pytest.raises(RuntimeError, match="non-negative"):
        ct.bincount(_c([1, -1]))
    x = np.array([0.0, 1.0, 1.0, 3.0, np.nan, np.inf, -2.0], np.float32)
    _eq(ct.histc(_c(x), bins=3, min=0, max=3), torch.histc(torch.tensor(x), bins=3, min=0, max=3))
    _eq(ct.histc(_c(np.float32([2.0, 2.0])), bins=4), torch.histc(torch.tensor([2.0, 2.0]), bins=4))
    w = np.array([1.0, 2.0, 0.5, 1.0], np.float32)
    _eq(ct.histogram(_c(x[:4]), 3, weight=_c(w)), torch.histogram(torch.tensor(x[:4]), 3, weight=torch.tensor(w)))
    _eq(ct.histogramdd(_c(np.array([[0.0, 1.0], [1.0, 2.0], [0.5, 0.5]], np.float32)),
                       bins=[_c([0.0, 0.5, 1.0]), _c([0.0, 1.0, 2.0])]),
        torch.histogramdd(torch.tensor([[0.0, 1.0], [1.0, 2.0], [0.5, 0.5]]),
                          bins=[torch.tensor([0.0, 0.5, 1.0]), torch.tensor([0.0, 1.0, 2.0])]))


@pytest.mark.fp64
def test_quantile_errors_and_grad():
    x = np.random.default_rng(1).permutation(12).reshape(3, 4).astype(np.float64)
    for f, kw in ((lambda m, t: m.quantile(t, 1.5), "q must be in the range"),
                  (lambda m, t: m.quantile(t.int(), 0.5), "float or double"),
                  (lambda m, t: m.quantile(t, 0.5, interpolation="cubic"), "interpolation must be one of")):
        with pytest.raises(RuntimeError) as want:
            f(torch, torch.tensor(x))
        with pytest.raises(RuntimeError) as got:
            f(ct, _c(x))
        assert str(got.value) == str(want.value)
    a = _c(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    q = [0.1, 0.5, 0.9]
    ct.quantile(a, _c(q), 1).sum().backward()
    torch.quantile(b, torch.tensor(q, dtype=torch.float64), 1).sum().backward()
    _eq(a.grad, b.grad)


@pytest.mark.fp64
def test_cov_weights_corrcoef_grad():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 6))
    fw = rng.integers(0, 4, 6)
    aw = rng.uniform(0.1, 1, 6)
    _eq(ct.cov(_c(x), fweights=_c(fw), aweights=_c(aw)),
        torch.cov(torch.tensor(x), fweights=torch.tensor(fw), aweights=torch.tensor(aw)), 1e-10, 1e-12)
    with pytest.raises(RuntimeError, match="fweights cannot be negative"):
        ct.cov(_c(x), fweights=_c(-fw - 1))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ct.cov(_c(x[:, :1]))
    assert any("degrees of freedom" in str(m.message) for m in w)
    assert ct.autograd.gradcheck(lambda t: ct.corrcoef(t), (_c(x, requires_grad=True),))


@pytest.mark.fp64
def test_cdist_zero_distance_grad_and_gradient_spacing():
    x = np.array([[0.0, 1.0], [2.0, 2.0]])
    a = _c(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    ct.cdist(a, a.detach()).sum().backward()
    torch.cdist(b, b.detach()).sum().backward()
    _eq(a.grad, b.grad)
    y = np.random.default_rng(3).normal(size=(4, 5))
    c0 = np.cumsum(np.random.default_rng(4).uniform(0.5, 1.0, 4))
    c1 = np.cumsum(np.random.default_rng(5).uniform(0.5, 1.0, 5))
    for eo in (1, 2):
        _eq(ct.gradient(_c(y), spacing=(_c(c0), _c(c1)), edge_order=eo),
            torch.gradient(torch.tensor(y), spacing=(torch.tensor(c0), torch.tensor(c1)), edge_order=eo), 1e-10,
            1e-12)
    _eq(ct.gradient(_c(y), dim=1), torch.gradient(torch.tensor(y), dim=1))
    _eq(ct.gradient(_c([1, 4, 9, 16])), torch.gradient(torch.tensor([1, 4, 9, 16])))


def test_segment_reduce_chain_matmul_fill_diagonal():
    d = np.arange(12.0, dtype=np.float32).reshape(6, 2)
    L = np.array([2, 0, 4])
    for red in ("sum", "mean", "max", "min", "prod"):
        for init in (None, 2.0):
            _eq(ct.segment_reduce(_c(d), red, lengths=_c(L), initial=init),
                torch.segment_reduce(torch.tensor(d), red, lengths=torch.tensor(L), initial=init))
    _eq(ct.segment_reduce(_c(d), "sum", offsets=_c([0, 2, 2, 6])),
        torch.segment_reduce(torch.tensor(d), "sum", offsets=torch.tensor([0, 2, 2, 6])))
    m = [np.random.default_rng(i).normal(size=s).astype(np.float32) for i, s in enumerate([(2, 3), (3, 4), (4, 2)])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _eq(ct.chain_matmul(*[_c(a) for a in m]), torch.chain_matmul(*[torch.tensor(a) for a in m]), 1e-5, 1e-5)
    for shape, wrap in (((7, 3), True), ((7, 3), False), ((3, 5), False), ((3, 3, 3), False)):
        a = torch.zeros(shape)
        b = ct.zeros(*shape)
        assert b.fill_diagonal_(2.0, wrap=wrap) is b
        a.fill_diagonal_(2.0, wrap=wrap)
        _eq(b, a)
    t = ct.zeros(4, 6)[:, ::2]          # strided
    t.fill_diagonal_(1.0)
    _eq(t, torch.zeros(4, 6)[:, ::2].fill_diagonal_(1.0))


def test_inplace_forms_and_index_reduce_():
    x = np.linspace(-0.9, 0.9, 12, dtype=np.float32).reshape(3, 4)
    for n in ("sin_", "exp_", "acos_", "sigmoid_", "trunc_", "zero_"):
        a, b = torch.tensor(x), _c(x)
        assert getattr(ct, n)(b) is b
        getattr(torch, n)(a)
        _eq(b, a)
    a, b = torch.tensor(x), _c(x)
    ct.clamp_(b, -0.5, 0.5)
    torch.clamp_(a, -0.5, 0.5)
    _eq(b, a)
    with pytest.raises(RuntimeError, match="can't be cast"):
        ct.tensor([1, 2]).sinc_()
    a, b = torch.tensor(x), _c(x)
    a.renorm_(2, 0, 0.5)
    b.renorm_(2, 0, 0.5)
    _eq(b, a)
    src = np.ones((2, 4), np.float32) * 3
    idx = np.array([0, 2])
    a, b = torch.tensor(x), _c(x)
    a.index_reduce_(0, torch.tensor(idx), torch.tensor(src), "prod")
    b.index_reduce_(0, _c(idx), _c(src), "prod")
    _eq(b, a)


# ---------------------------------------------------------------- creation and sampling

def test_factories():
    t = ct.empty_strided((2, 3), (1, 2))
    assert t.shape == (2, 3) and t.stride() == (1, 2)
    assert ct.empty_strided((2, 0), (1, 1)).numel() == 0
    buf = bytearray(np.arange(6, dtype=np.int16).tobytes())
    f = ct.frombuffer(buf, dtype=ct.int16, count=4, offset=2)
    assert host(f).tolist() == [1, 2, 3, 4]
    with pytest.raises(ValueError):
        ct.frombuffer(bytearray(3), dtype=ct.int16)
    s = ct.scalar_tensor(3)
    assert s.dtype == ct.float32 and s.shape == () and s.item() == 3.0
    assert ct.scalar_tensor(2, dtype=ct.int64).dtype == ct.int64


def test_samplers_distributions_and_seed():
    n = 20000
    x = ct.empty(n)
    ct.manual_seed(5)
    a = host(x.exponential_(2.0)).copy()
    ct.manual_seed(5)
    assert (host(ct.empty(n).exponential_(2.0)) == a).all()        # seeded
    assert abs(a.mean() - 0.5) < 0.03 and a.min() >= 0
    c = host(x.cauchy_(1.0, 2.0))
    assert abs(np.median(c) - 1.0) < 0.1 and np.isfinite(c).all()
    ln = host(x.log_normal_(0.5, 0.25))
    assert abs(np.log(ln).mean() - 0.5) < 0.02 and abs(np.log(ln).std() - 0.25) < 0.02
    g = host(ct.empty(n, dtype=ct.int64).geometric_(0.25))
    assert g.min() >= 1 and abs(g.mean() - 4.0) < 0.15
    for f, kw in ((ct.Tensor.exponential_, {"lambd": -1.0}), (ct.Tensor.geometric_, {"p": 1.5})):
        with pytest.raises(RuntimeError):
            f(ct.empty(3), **kw)
    lam = ct.tensor([0.0, 0.5, 4.0, 30.0]).repeat(3000).reshape(3000, 4)
    p = host(ct.poisson(lam))
    assert (p == np.round(p)).all() and (p[:, 0] == 0).all()
    np.testing.assert_allclose(p.mean(0)[1:], [0.5, 4.0, 30.0], rtol=0.05)
    np.testing.assert_allclose(p.var(0)[1:], [0.5, 4.0, 30.0], rtol=0.12)
    cnt = ct.tensor([10.0, 100.0, 100.0]).repeat(3000).reshape(3000, 3)
    prob = ct.tensor([0.3, 0.05, 0.8]).expand(3000, 3)
    b = host(ct.binomial(cnt, prob))
    assert (b >= 0).all() and (b <= host(cnt)).all()
    np.testing.assert_allclose(b.mean(0), [3.0, 5.0, 80.0], rtol=0.05)
    np.testing.assert_allclose(b.var(0), [2.1, 4.75, 16.0], rtol=0.15)


# ---------------------------------------------------------------- queries and settings

@pytest.mark.fp64     # (float64 cases inside)
def test_queries_and_settings():
    x = ct.randn(2, 3)
    assert ct.is_signed(x) and not ct.is_signed(x.to(ct.uint8)) and not ct.is_conj(x) and not ct.is_neg(x)
    assert ct.is_same_size(x, ct.zeros(2, 3)) and not ct.is_same_size(x, ct.zeros(3))
    assert ct.is_nonzero(ct.tensor([1.5])) and not ct.is_nonzero(ct.tensor(0))
    with pytest.raises(RuntimeError, match="more than one value"):
        ct.is_nonzero(x)
    assert ct.typename(x) == "torch.FloatTensor" and ct.typename(ct.zeros(1, dtype=ct.int64)) == "torch.LongTensor"
    assert x.get_device() == -1 and not ct.is_storage(x)
    assert x.type_as(ct.zeros(1, dtype=ct.float64)).dtype == ct.float64
    n = ct.get_num_threads()
    ct.set_num_threads(3)
    assert ct.get_num_threads() == 3
    ct.set_num_threads(n)
    ct.set_deterministic_debug_mode("warn")
    assert ct.get_deterministic_debug_mode() == 1
    ct.set_deterministic_debug_mode(0)
    ct.set_warn_always(True)
    assert ct.is_warn_always_enabled()
    ct.set_warn_always(False)
    r = ct.arange(6.0)
    r.resize_(2, 2)
    assert host(r).tolist() == [[0.0, 1.0], [2.0, 3.0]]
    x4 = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    _eq(ct.as_strided_copy(_c(x4), (2, 2), (1, 2), 1), torch.as_strided_copy(torch.tensor(x4), (2, 2), (1, 2), 1))
    v = ct.arange(10.0)
    assert v.as_strided_((2, 2), (3, 1), 1) is v and host(v).tolist() == [[1.0, 2.0], [4.0, 5.0]]


def test_coverage_names_registered_as_inplace_functions_share_the_method():
    for n in ("sin_", "exp_", "abs_", "fill_", "zero_"):
        assert callable(getattr(ct, n)) and hasattr(ct.Tensor, n)


def test_einsum_ellipsis_and_sublists():
    rng = np.random.default_rng(6)
    A = rng.normal(size=(2, 3, 4)).astype(np.float32)
    B = rng.normal(size=(2, 4, 5)).astype(np.float32)
    for f in (lambda m, t: m.einsum("...ij,...jk->...ik", t(A), t(B)),
              lambda m, t: m.einsum("i...->...", t(A)),
              lambda m, t: m.einsum("i...", t(A)),
              lambda m, t: m.einsum("...ij,jk->...ik", t(A), t(B[0])),       # broadcast over a missing dim
              lambda m, t: m.einsum("...ij,...jk->...ik", t(A), t(B[:1])),   # and over a size-1 dim
              lambda m, t: m.einsum(t(A), [0, 1, 2], t(B), [0, 2, 3]),
              lambda m, t: m.einsum(t(A), [Ellipsis, 1, 2], t(B), [Ellipsis, 2, 3], [Ellipsis, 1, 3])):
        _eq(f(ct, ct.tensor), f(torch, torch.tensor), 1e-5, 1e-5)
    a = ct.tensor(A, requires_grad=True)
    b = torch.tensor(A, requires_grad=True)
    ct.einsum("...ij,...jk->...ik", a, ct.tensor(B)).sum().backward()
    torch.einsum("...ij,...jk->...ik", b, torch.tensor(B)).sum().backward()
    _eq(a.grad, b.grad, 1e-5, 1e-5)


@pytest.mark.fp64
def test_scatter_forms_and_unfold_gradcheck():
    rng = np.random.default_rng(7)
    x = _c(rng.normal(size=(4, 5)), requires_grad=True)
    s = _c(rng.normal(size=(2, 2)), requires_grad=True)
    gc = ct.autograd.gradcheck
    assert gc(lambda a, b: ct.as_strided_scatter(a, b, (2, 2), (1, 2), 1), (x, s))
    assert gc(lambda a, b: ct.slice_scatter(a[:2], b, 1, 1, 5, 2), (x, s))
    assert gc(lambda a: a.unfold(1, 3, 2), (x,))          # overlapping windows: shared elements add up
    assert gc(lambda a: ct.cdist(a, a[:2] + 0.5, p=3.0), (x,))
