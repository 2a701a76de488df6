"""torch.nn losses, distances, normalisations and activations (the rest of nn.functional and their modules)
against torch: values and gradients in float64 (every reduction / weight / margin variant), module reprs and
state_dict keys, errors with their messages."""
import numpy as np
import pytest

import cltensor as ct
import cltensor.nn as nn
import cltensor.nn.functional as F
from _host import host

torch = pytest.importorskip("torch")
TF = torch.nn.functional

rng = np.random.default_rng(7)


def pair(a, requires_grad=True, dtype=np.float64):
    """(torch tensor, cltensor tensor) holding the same values."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        a = a.astype(dtype)
        rg = requires_grad
    else:
        rg = False
    return torch.tensor(a, requires_grad=rg), ct.tensor(a, requires_grad=rg)


def rn(*shape):
    return rng.standard_normal(shape)


def check(fn_t, fn_c, args, tol=1e-7, grad=True):
    """Call both with the paired args (pairs are (torch, cltensor) tuples, anything else passes to both); compare
    values and the gradients of every float input."""
    ta = [a[0] if isinstance(a, tuple) else a for a in args]
    ca = [a[1] if isinstance(a, tuple) else a for a in args]
    rt = fn_t(*ta)
    rc = fn_c(*ca)
    np.testing.assert_allclose(host(rc), rt.detach().numpy(), rtol=tol, atol=tol)
    if grad and rt.requires_grad:
        gw = rng.standard_normal(tuple(rt.shape))
        (rt * torch.tensor(gw)).sum().backward()
        (rc * ct.tensor(gw)).sum().backward()
        for t, c in zip(ta, ca):
            if isinstance(t, torch.Tensor) and t.requires_grad:
                np.testing.assert_allclose(host(c.grad), t.grad.numpy(), rtol=tol * 10, atol=tol * 10)
    return rc


RED = ["none", "mean", "sum"]

# ================================================================================================ losses


@pytest.mark.fp64
@pytest.mark.parametrize("reduction", RED)
def test_margin_losses(reduction):
    x1, x2 = pair(rn(5, 4)), pair(rn(5, 4))
    y = pair(np.array([1.0, -1.0, 1.0, -1.0, -1.0]), False)
    for margin in (0.0, 0.3):
        check(lambda a, b, t: TF.cosine_embedding_loss(a, b, t, margin, reduction=reduction),
              lambda a, b, t: F.cosine_embedding_loss(a, b, t, margin, reduction=reduction), [x1, x2, y])
    a, b = pair(rn(6)), pair(rn(6))
    yy = pair(np.sign(rn(6)), False)
    check(lambda a, b, t: TF.margin_ranking_loss(a, b, t, 0.2, reduction=reduction),
          lambda a, b, t: F.margin_ranking_loss(a, b, t, 0.2, reduction=reduction), [a, b, yy])
    h = pair(rn(3, 4))
    ht = pair(np.sign(rn(3, 4)), False)
    check(lambda a, t: TF.hinge_embedding_loss(a, t, 0.7, reduction=reduction),
          lambda a, t: F.hinge_embedding_loss(a, t, 0.7, reduction=reduction), [h, ht])
    check(lambda a, t: TF.soft_margin_loss(a, t, reduction=reduction),
          lambda a, t: F.soft_margin_loss(a, t, reduction=reduction), [h, ht])


@pytest.mark.fp64
@pytest.mark.parametrize("reduction", RED)
def test_multi_margin_losses(reduction):
    x = pair(rn(4, 5))
    t = pair(np.array([0, 4, 2, 2]))
    w = pair(np.abs(rn(5)), False)
    for p in (1, 2):
        for weight in (None, w):
            check(lambda a, tt, *ww: TF.multi_margin_loss(a, tt, p, 0.8, ww[0] if ww else None, reduction=reduction),
                  lambda a, tt, *ww: F.multi_margin_loss(a, tt, p, 0.8, ww[0] if ww else None, reduction=reduction),
                  [x, t] + ([weight] if weight is not None else []))
    x1 = pair(rn(5))
    check(lambda a, tt: TF.multi_margin_loss(a, tt, reduction=reduction),
          lambda a, tt: F.multi_margin_loss(a, tt, reduction=reduction), [x1, pair(np.array([3]))])
    mt = pair(np.array([[3, 0, -1, 1, 2], [1, 2, 3, 4, 0], [-1, 1, 2, 0, 0], [4, 4, -1, 0, 1]]))
    check(lambda a, tt: TF.multilabel_margin_loss(a, tt, reduction=reduction),
          lambda a, tt: F.multilabel_margin_loss(a, tt, reduction=reduction), [x, mt])
    check(lambda a, tt: TF.multilabel_margin_loss(a, tt, reduction=reduction),
          lambda a, tt: F.multilabel_margin_loss(a, tt, reduction=reduction), [x1, pair(np.array([2, 0, -1, 1, 1]))])
    st = pair((rn(4, 5) > 0).astype(np.float64), False)
    for weight in (None, w):
        check(lambda a, tt, *ww: TF.multilabel_soft_margin_loss(a, tt, ww[0] if ww else None, reduction=reduction),
              lambda a, tt, *ww: F.multilabel_soft_margin_loss(a, tt, ww[0] if ww else None, reduction=reduction),
              [x, st] + ([weight] if weight is not None else []))


@pytest.mark.fp64
@pytest.mark.parametrize("reduction", RED)
def test_triplet_and_gaussian(reduction):
    a, p, n = pair(rn(4, 3)), pair(rn(4, 3)), pair(rn(4, 3))
    for swap in (False, True):
        for pn in (1.0, 2.0, 3.0):
            check(lambda *z: TF.triplet_margin_loss(*z, margin=0.9, p=pn, swap=swap, reduction=reduction),
                  lambda *z: F.triplet_margin_loss(*z, margin=0.9, p=pn, swap=swap, reduction=reduction), [a, p, n])
        check(lambda *z: TF.triplet_margin_with_distance_loss(
                  *z, distance_function=lambda u, v: 1 - TF.cosine_similarity(u, v), swap=swap, reduction=reduction),
              lambda *z: F.triplet_margin_with_distance_loss(
                  *z, distance_function=lambda u, v: 1 - F.cosine_similarity(u, v), swap=swap, reduction=reduction),
              [a, p, n])
        check(lambda *z: TF.triplet_margin_with_distance_loss(*z, swap=swap, reduction=reduction),
              lambda *z: F.triplet_margin_with_distance_loss(*z, swap=swap, reduction=reduction), [a, p, n])
    var = np.abs(rn(4, 3)) + 0.1
    var[0, 0] = 1e-9                                                   # clamped at eps, gradient passes through
    for full in (False, True):
        check(lambda x, t, v: TF.gaussian_nll_loss(x, t, v, full=full, reduction=reduction),
              lambda x, t, v: F.gaussian_nll_loss(x, t, v, full=full, reduction=reduction), [a, p, pair(var)])
        check(lambda x, t, v: TF.gaussian_nll_loss(x, t, v, full=full, reduction=reduction),
              lambda x, t, v: F.gaussian_nll_loss(x, t, v, full=full, reduction=reduction),
              [a, p, pair(np.abs(rn(4)) + 0.1)])


@pytest.mark.fp64
@pytest.mark.parametrize("reduction", RED)
def test_ctc_loss(reduction):
    T_, N, Cc, S = 7, 3, 5, 3
    lp = torch.randn(T_, N, Cc, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).log_softmax(2)
    x = pair(lp.numpy())
    tg = np.array([[1, 2, 2], [3, 1, 0], [4, 0, 0]])
    il, tl = np.array([7, 5, 4]), np.array([3, 2, 1])
    for blank in (0,):
        check(lambda a, t, i, l: TF.ctc_loss(a, t, i, l, blank, reduction),
              lambda a, t, i, l: F.ctc_loss(a, t, i, l, blank, reduction),
              [x, pair(tg), pair(il), pair(tl)])
    # concatenated targets, lengths as lists, a zero-length target, an impossible alignment (zero_infinity)
    cat_t = np.array([1, 2, 1, 1, 1, 3])
    for zi in (False, True):
        check(lambda a, t: TF.ctc_loss(a, t, [7, 2, 3], [2, 4, 0], 0, reduction, zi),
              lambda a, t: F.ctc_loss(a, t, [7, 2, 3], [2, 4, 0], 0, reduction, zi),
              [x, pair(cat_t)], grad=zi)
    # unbatched, blank not 0
    x2 = pair(lp[:, 0].numpy())
    check(lambda a, t: TF.ctc_loss(a, t, [6], [2], 4, reduction), lambda a, t: F.ctc_loss(a, t, [6], [2], 4, reduction),
          [x2, pair(np.array([1, 1]))])
    m = nn.CTCLoss(blank=0, reduction=reduction, zero_infinity=True)
    assert repr(m) == "CTCLoss()"


@pytest.mark.fp64
def test_distances():
    a, b = pair(rn(4, 5)), pair(rn(4, 5))
    for dim in (0, 1, -1):
        check(lambda u, v: TF.cosine_similarity(u, v, dim), lambda u, v: F.cosine_similarity(u, v, dim), [a, b])
    z = pair(np.zeros((2, 5)))
    check(lambda u, v: TF.cosine_similarity(u, v), lambda u, v: F.cosine_similarity(u, v), [z, pair(rn(2, 5))])
    check(lambda u, v: TF.cosine_similarity(u, v), lambda u, v: F.cosine_similarity(u, v), [pair(rn(3, 1, 4)),
                                                                                        pair(rn(1, 2, 4))])
    for p in (1.0, 2.0, 3.0, float("inf")):
        for keep in (False, True):
            check(lambda u, v: TF.pairwise_distance(u, v, p, 1e-6, keep),
                  lambda u, v: F.pairwise_distance(u, v, p, 1e-6, keep), [a, b])
    check(lambda u, v: TF.pairwise_distance(u, v), lambda u, v: F.pairwise_distance(u, v), [pair(rn(5)), pair(rn(5))])
    for p in (1.0, 2.0, 0.5, float("inf")):
        check(lambda u: TF.pdist(u, p), lambda u: F.pdist(u, p), [a])
    assert F.pdist(ct.zeros(1, 3)).shape == (0,)
    m = nn.PairwiseDistance(p=3.0, keepdim=True)
    assert repr(m) == repr(torch.nn.PairwiseDistance(p=3.0, keepdim=True))
    check(torch.nn.PairwiseDistance(3.0, keepdim=True), m, [a, b])
    check(torch.nn.CosineSimilarity(0), nn.CosineSimilarity(0), [a, b])


def test_loss_modules_repr_and_errors():
    for name, kw in [("CosineEmbeddingLoss", dict(margin=0.5)), ("MarginRankingLoss", {}),
                     ("HingeEmbeddingLoss", {}), ("MultiLabelMarginLoss", {}), ("SoftMarginLoss", {}),
                     ("MultiLabelSoftMarginLoss", {}), ("MultiMarginLoss", dict(p=2)),
                     ("TripletMarginLoss", dict(swap=True)), ("TripletMarginWithDistanceLoss", {}),
                     ("GaussianNLLLoss", dict(full=True)), ("CTCLoss", dict(blank=1))]:
        m, tm = getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw)
        assert repr(m) == repr(tm)
        assert list(m.state_dict()) == list(tm.state_dict())
    w = np.abs(rn(3))
    m, tm = nn.MultiMarginLoss(weight=ct.tensor(w)), torch.nn.MultiMarginLoss(weight=torch.tensor(w))
    assert list(m.state_dict()) == list(tm.state_dict())
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        nn.TripletMarginLoss(margin=0)
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(ct.zeros(3), ct.zeros(3), -ct.ones(3))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(ct.zeros(3, 2), ct.zeros(3, 2), ct.ones(2))
    with pytest.raises(RuntimeError, match="All input tensors should have same dimension"):
        F.margin_ranking_loss(ct.zeros(3), ct.zeros(3), ct.zeros(3, 1))
    with pytest.raises(RuntimeError, match="pdist only supports 2D tensors, got: 1D"):
        F.pdist(ct.zeros(3))
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        F.soft_margin_loss(ct.zeros(3), ct.zeros(3), reduction="avg")


@pytest.mark.fp64
def test_float32_losses_quick():
    x1, x2 = pair(rn(5, 4), dtype=np.float32), pair(rn(5, 4), dtype=np.float32)
    y = pair(np.sign(rn(5)).astype(np.float32), False)
    r = check(lambda a, b, t: TF.cosine_embedding_loss(a, b, t), lambda a, b, t: F.cosine_embedding_loss(a, b, t),
              [x1, x2, y], tol=1e-5)
    assert r.dtype == ct.float32


# ================================================================================================ norms


@pytest.mark.fp64
def test_rms_norm_lrn():
    x = pair(rn(2, 3, 4))
    w = pair(rn(4))
    for ns, wt in (((4,), w), ((3, 4), pair(rn(3, 4))), ((4,), None)):
        check(lambda a, *ww: TF.rms_norm(a, ns, ww[0] if ww else None),
              lambda a, *ww: F.rms_norm(a, ns, ww[0] if ww else None), [x] + ([wt] if wt else []))
    check(lambda a: TF.rms_norm(a, (4,), eps=1e-2), lambda a: F.rms_norm(a, (4,), eps=1e-2), [x])
    m, tm = nn.RMSNorm([3, 4], dtype=ct.float64), torch.nn.RMSNorm([3, 4], dtype=torch.float64)
    assert repr(m) == repr(tm) and list(m.state_dict()) == list(tm.state_dict())
    check(tm, m, [x])
    x4 = pair(rn(2, 5, 3, 2))
    for size in (1, 2, 3, 4):
        check(lambda a: TF.local_response_norm(a, size, 1e-2, 0.6, 1.5),
              lambda a: F.local_response_norm(a, size, 1e-2, 0.6, 1.5), [x4])
        check(lambda a: TF.local_response_norm(a, size), lambda a: F.local_response_norm(a, size), [x])
        tm, m = torch.nn.CrossMapLRN2d(size, 1e-2, 0.6, 2), nn.CrossMapLRN2d(size, 1e-2, 0.6, 2)
        assert repr(m) == repr(tm)
        check(tm, m, [x4], grad=False)          # (PyTorch's own backward fails for even sizes)
    assert repr(nn.LocalResponseNorm(3)) == repr(torch.nn.LocalResponseNorm(3))
    with pytest.raises(ValueError, match="Expected 3D or higher dimensionality input"):
        F.local_response_norm(ct.zeros(2, 3), 2)


@pytest.mark.fp64
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_instance_norm(nd):
    shape = (3, 4) + (3,) * nd
    x = pair(rn(*shape))
    for affine in (False, True):
        for track in (False, True):
            tm = getattr(torch.nn, f"InstanceNorm{nd}d")(4, affine=affine, track_running_stats=track,
                                                         dtype=torch.float64)
            m = getattr(nn, f"InstanceNorm{nd}d")(4, affine=affine, track_running_stats=track, dtype=ct.float64)
            assert repr(m) == repr(tm)
            assert list(m.state_dict()) == list(tm.state_dict())
            if affine:
                with torch.no_grad():
                    tm.weight.copy_(torch.tensor(rn(4)))
                    tm.bias.copy_(torch.tensor(rn(4)))
                m.load_state_dict({k: ct.tensor(v.numpy()) for k, v in tm.state_dict().items()})
            check(tm, m, [x])
            for k, v in tm.state_dict().items():
                np.testing.assert_allclose(host(m.state_dict()[k]), v.numpy(), rtol=1e-7, atol=1e-7)
            tm.eval(), m.eval()
            check(tm, m, [x])
            check(tm, m, [pair(rn(*shape[1:]))])        # unbatched
    with pytest.raises(ValueError, match=f"expected {nd + 1}D or {nd + 2}D input"):
        getattr(nn, f"InstanceNorm{nd}d")(4)(ct.zeros((2,) * (nd + 3)))


@pytest.mark.fp64
def test_sync_batch_norm():
    tm = torch.nn.SyncBatchNorm(3, dtype=torch.float64)
    m = nn.SyncBatchNorm(3, dtype=ct.float64)
    assert repr(m) == repr(tm) and list(m.state_dict()) == list(tm.state_dict())
    x = pair(rn(4, 3, 2))
    check(tm, m, [x])
    np.testing.assert_allclose(host(m.running_var), tm.running_var.detach().numpy(), rtol=1e-7)
    seq = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm2d(3), nn.ReLU()))
    assert isinstance(seq[0], nn.SyncBatchNorm)


# ================================================================================================ activations


@pytest.mark.fp64
def test_activations():
    x = pair(rn(2, 3, 4))
    for lam in (0.0, 0.5, 1.5):
        check(lambda a: TF.hardshrink(a, lam), lambda a: F.hardshrink(a, lam), [x])
        check(lambda a: TF.softshrink(a, lam), lambda a: F.softshrink(a, lam), [x])
        assert repr(nn.Hardshrink(lam)) == repr(torch.nn.Hardshrink(lam))
        assert repr(nn.Softshrink(lam)) == repr(torch.nn.Softshrink(lam))
    edge = pair(np.array([np.nan, np.inf, -np.inf, 0.5, -0.5, 0.7, -0.7, 0.0]))
    for lam in (0.5, 0.0):
        check(lambda a: TF.hardshrink(a, lam), lambda a: F.hardshrink(a, lam), [edge], grad=False)
        check(lambda a: TF.softshrink(a, lam), lambda a: F.softshrink(a, lam), [edge], grad=False)
    for w in (rn(1), rn(3)):
        check(TF.prelu, F.prelu, [x, pair(w)])
    tm, m = torch.nn.PReLU(3, dtype=torch.float64), nn.PReLU(3, dtype=ct.float64)
    assert repr(m) == repr(tm) and list(m.state_dict()) == list(tm.state_dict())
    np.testing.assert_allclose(host(m.weight), tm.weight.detach().numpy())
    check(lambda a: TF.rrelu(a, 0.1, 0.3, False), lambda a: F.rrelu(a, 0.1, 0.3, False), [x])
    r = F.rrelu(ct.tensor(rn(2000)), 0.1, 0.3, True)
    xs = host(r)
    assert repr(nn.RReLU(0.1, 0.3)) == repr(torch.nn.RReLU(0.1, 0.3))
    check(torch.nn.Softmax2d(), nn.Softmax2d(), [x])
    check(torch.nn.Softmax2d(), nn.Softmax2d(), [pair(rn(2, 2, 3, 4))])
    assert repr(nn.Softmax2d()) == "Softmax2d()"
    for p in (1.0, 2.0, 3.0):
        for dim in (0, 1, -1):
            check(lambda a: TF.normalize(a, p, dim), lambda a: F.normalize(a, p, dim), [x])


def test_rrelu_training_slopes():
    a = rng.standard_normal(4000)
    r = host(F.rrelu(ct.tensor(a, dtype=ct.float32), 0.1, 0.3, True))
    neg = a < 0
    slopes = r[neg] / a[neg].astype(np.float32)
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.3 + 1e-6 and slopes.std() > 0.03
    np.testing.assert_allclose(r[~neg], a[~neg].astype(np.float32))


def test_inplace_forms():
    for name, args in [("elu_", ()), ("selu_", ()), ("celu_", (0.7,)), ("hardtanh_", (-0.5, 0.4)),
                       ("threshold_", (0.1, 9.0)), ("leaky_relu_", (0.2,)), ("relu_", ()),
                       ("rrelu_", (0.1, 0.3, False))]:
        a = rn(3, 4).astype(np.float32)
        t, c = torch.tensor(a), ct.tensor(a)
        rt, rc = getattr(TF, name)(t, *args), getattr(F, name)(c, *args)
        assert rc is c
        np.testing.assert_allclose(host(c), t.numpy(), rtol=1e-6, atol=1e-6)


def test_gumbel_softmax():
    ct.manual_seed(0)
    logits = ct.tensor(rn(3, 5), dtype=ct.float32, requires_grad=True)
    y = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(host(y).sum(-1), np.ones(3), rtol=1e-5)
    yh = F.gumbel_softmax(logits, hard=True)
    h = host(yh)
    assert set(np.unique(h)) <= {0.0, 1.0} and (h.sum(-1) == 1).all()
    yh.sum().backward()
    assert logits.grad is not None and logits.grad.shape == (3, 5)


@pytest.mark.fp64
@pytest.mark.parametrize("reduction", RED)
def test_class_loss_variants(reduction):
    x = pair(rn(5, 4))
    x3 = pair(rn(3, 4, 2))
    t3 = pair(np.array([[0, 3], [1, 1], [2, 0]]))
    w = pair(np.abs(rn(4)) + 0.1, False)
    probs = pair(np.abs(rn(5, 4)), False)
    for weight in (None, w):
        ww = [weight] if weight is not None else []
        for ls in (0.0, 0.25):
            for ii in (-100, 1):
                check(lambda a, tt, *w_: TF.cross_entropy(a, tt, w_[0] if w_ else None, ignore_index=ii,
                                                          reduction=reduction, label_smoothing=ls),
                      lambda a, tt, *w_: F.cross_entropy(a, tt, w_[0] if w_ else None, ignore_index=ii,
                                                         reduction=reduction, label_smoothing=ls),
                      [x, pair(np.array([0, 3, ii, 2, 1]))] + ww)
            check(lambda a, tt, *w_: TF.cross_entropy(a, tt, w_[0] if w_ else None, reduction=reduction,
                                                      label_smoothing=ls),
                  lambda a, tt, *w_: F.cross_entropy(a, tt, w_[0] if w_ else None, reduction=reduction,
                                                     label_smoothing=ls), [x3, t3] + ww)
            check(lambda a, tt, *w_: TF.cross_entropy(a, tt, w_[0] if w_ else None, reduction=reduction,
                                                      label_smoothing=ls),
                  lambda a, tt, *w_: F.cross_entropy(a, tt, w_[0] if w_ else None, reduction=reduction,
                                                     label_smoothing=ls), [x, probs] + ww)
        check(lambda a, tt, *w_: TF.nll_loss(a, tt, w_[0] if w_ else None, ignore_index=3, reduction=reduction),
              lambda a, tt, *w_: F.nll_loss(a, tt, w_[0] if w_ else None, ignore_index=3, reduction=reduction),
              [x, pair(np.array([0, 3, 1, 2, 1]))] + ww)
    tm, m = torch.nn.NLLLoss(ignore_index=2), nn.NLLLoss(ignore_index=2)
    check(tm, m, [x3, t3])
    with pytest.warns(UserWarning, match="NLLLoss2d has been deprecated"):
        m2 = nn.NLLLoss2d()
    check(torch.nn.NLLLoss(), m2, [x3, t3])


@pytest.mark.fp64
def test_adaptive_log_softmax():
    tm = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=True, dtype=torch.float64)
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=True, dtype=ct.float64)
    assert repr(m) == repr(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    m.load_state_dict({k: ct.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = pair(rn(6, 8))
    t = pair(np.array([0, 7, 4, 9, 2, 5]))
    ro, rl = tm(*[a[0] for a in (x, t)])
    co, cl = m(x[1], t[1])
    np.testing.assert_allclose(host(co), ro.detach().numpy(), rtol=1e-7)
    np.testing.assert_allclose(host(cl), rl.detach().numpy(), rtol=1e-7)
    rl.backward(), cl.backward()
    np.testing.assert_allclose(host(x[1].grad), x[0].grad.numpy(), rtol=1e-6, atol=1e-9)
    for (k, p), (_, q) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(host(p.grad), q.grad.numpy(), rtol=1e-6, atol=1e-9, err_msg=k)
    np.testing.assert_allclose(host(m.log_prob(x[1])), tm.log_prob(x[0]).detach().numpy(), rtol=1e-7)
    np.testing.assert_array_equal(host(m.predict(x[1])), tm.predict(x[0]).numpy())
    co, cl = m(x[1][0], t[1][1])          # unbatched
    assert co.shape == ()
    with pytest.raises(ValueError, match="cutoffs should be a sequence of unique"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [6, 3])
    with pytest.raises(RuntimeError, match=r"Target values should be in \[0, 9\]"):
        m(x[1], ct.tensor([0, 1, 2, 3, 4, 10]))


# ================================================================================================ Module API


def _copy_params(m, tm):
    m.load_state_dict({k: ct.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def test_backward_hooks_match_torch():
    logs = {}
    for lib in (torch, ct):
        log = logs[lib.__name__] = []

        class M(lib.nn.Module):
            def __init__(s):
                super().__init__()
                s.l = lib.nn.Linear(3, 2)

            def forward(s, x, y):
                return s.l(x) * y, x.sum()
        m = M()
        with (torch.no_grad() if lib is torch else ct.no_grad()):
            m.l.weight.copy_(lib.tensor(np.arange(6.).reshape(2, 3) / 5, dtype=lib.float32))
            m.l.bias.fill_(0.1)

        def rd(gs):
            return [None if g is None else np.round(g.detach().numpy(), 4).tolist() for g in gs]

        def hook(mod, gi, go):
            log.append(("full", rd(gi), rd(go)))
            return tuple(None if g is None else g * 2 for g in gi)
        m.register_full_backward_hook(hook)
        m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", rd(go))))
        h = m.register_full_backward_pre_hook(lambda mod, go: log.append("removed"))
        h.remove()
        x = lib.tensor(np.arange(6.).reshape(2, 3), requires_grad=True, dtype=lib.float32)
        y = lib.tensor([1., 2.], requires_grad=True)
        a, b = m(x, y.reshape(2, 1))
        (a.sum() + b * 3).backward()
        log.append(("grads", rd([x.grad, y.grad])))
    assert logs["torch"] == logs["cltensor"]


@pytest.mark.fp64
def test_backward_hook_mixed_dtypes():
    res = {}
    for lib in (torch, ct):
        class M(lib.nn.Module):
            def forward(self, x, y):
                return x * 2, y.sum() * 3
        m, log = M(), []
        m.register_full_backward_hook(lambda mod, gi, go: log.append(
            [(str(g.dtype).split(".")[-1], g.detach().numpy().tolist()) for g in gi + go]))
        x = lib.tensor([1.0, 2.0], dtype=lib.float32, requires_grad=True)
        y = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        a, b = m(x, y)
        (a.sum() + b).backward()
        res[lib.__name__] = (log, str(x.grad.dtype).split(".")[-1], y.grad.numpy().tolist())
    assert res["torch"] == res["cltensor"]


def test_state_dict_hooks_and_submodules():
    for lib in (torch, ct):
        seen = []
        m = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Linear(2, 1)))
        m.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: seen.append(("pre", prefix, keep_vars)))
        m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: seen.append(("post", sorted(sd))))
        m[1].register_load_state_dict_pre_hook(
            lambda mod, sd, prefix, *rest: seen.append(("loadpre", type(mod).__name__, prefix)))
        m.register_load_state_dict_post_hook(lambda mod, keys: seen.append(("loadpost", list(keys.missing_keys))))
        sd = m.state_dict()
        m.load_state_dict(sd)
        m.set_submodule("1.1", lib.nn.Linear(2, 3))
        assert m.get_submodule("1.1").out_features == 3
        with pytest.raises(AttributeError, match="has no attribute `zz`"):
            m.set_submodule("1.zz", lib.nn.ReLU(), strict=True)
        with pytest.raises(ValueError, match="Cannot set the submodule without a target name"):
            m.set_submodule("", lib.nn.ReLU())
        e = m.to_empty(device="cpu")
        assert e is m and m[0].weight.shape == (2, 2)
        seen.append(("apply", len([mm for mm in m.modules()])))
        if lib is torch:
            ref = seen
    assert seen == ref


def test_lazy_modules():
    tm, m = torch.nn.LazyLinear(3), nn.LazyLinear(3)
    assert repr(m) == repr(tm) and list(m.state_dict()) == list(tm.state_dict())
    assert isinstance(m.weight, nn.UninitializedParameter) and repr(m.weight) == "<UninitializedParameter>"
    assert m.has_uninitialized_params()
    y = m(ct.ones(2, 4))
    assert type(m) is nn.Linear and m.weight.shape == (3, 4) and y.shape == (2, 3)
    assert repr(m) == "Linear(in_features=4, out_features=3, bias=True)"
    m2 = nn.LazyLinear(3, bias=False)
    m2.load_state_dict({"weight": ct.ones(3, 5)})
    assert type(m2) is nn.Linear and m2.in_features == 5
    np.testing.assert_allclose(host(m2(ct.ones(1, 5))), [[5.0, 5.0, 5.0]])
    for nd, shape in ((1, (4, 3, 2)), (2, (4, 3, 2, 2)), (3, (2, 3, 2, 2, 2))):
        tb, b = getattr(torch.nn, f"LazyBatchNorm{nd}d")(), getattr(nn, f"LazyBatchNorm{nd}d")()
        assert repr(b) == repr(tb) and list(b.state_dict()) == list(tb.state_dict())
        assert repr(b.running_mean) == "<UninitializedBuffer>"
        x = rn(*shape).astype(np.float32)
        np.testing.assert_allclose(host(b(ct.tensor(x))), tb(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
        assert repr(b) == repr(tb) and type(b).__name__ == f"BatchNorm{nd}d"
        np.testing.assert_allclose(host(b.running_var), tb.running_var.numpy(), rtol=1e-5)
        ti, i = getattr(torch.nn, f"LazyInstanceNorm{nd}d")(), getattr(nn, f"LazyInstanceNorm{nd}d")()
        assert repr(i) == repr(ti)
        np.testing.assert_allclose(host(i(ct.tensor(x))), ti(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                                   atol=1e-5)
        assert repr(i) == repr(ti)


def test_parameter_dict_and_container_extras():
    pd = nn.ParameterDict({"a": ct.ones(2)})
    assert pd.get("b") is None and pd.get("a").shape == (2,)
    pd.setdefault("b", ct.zeros(3))
    assert list(pd.keys()) == ["a", "b"]
    c = pd.copy()
    assert list(c.keys()) == ["a", "b"] and c["a"] is pd["a"]
    k, v = pd.popitem()
    assert k == "b" and list(pd.keys()) == ["a"]
    assert list((pd | c).keys()) == ["a", "b"]
    assert list(pd.fromkeys(["x", "y"], ct.ones(1)).keys()) == ["x", "y"]
    pd.clear()
    assert len(pd) == 0
    with pytest.warns(UserWarning, match="nn.Container is deprecated"):
        cm = nn.Container(lin=nn.Linear(2, 2))
    assert list(dict(cm.named_children())) == ["lin"]
    assert repr(nn.FeatureAlphaDropout(0.2)) == repr(torch.nn.FeatureAlphaDropout(0.2))
    ct.manual_seed(3)
    x = ct.ones(4, 5, 3)
    y = host(nn.FeatureAlphaDropout(0.5).train()(x))
    assert (y == y[:, :, :1]).all() and len(np.unique(y.round(4))) == 2
    assert nn.FeatureAlphaDropout(0.5).eval()(x) is x


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ctc_loss_random(dtype):
    """Longer sequences with repeated labels, every reduction; float32 within float32 tolerances."""
    T_, N, Cc = 30, 4, 6
    g = np.random.default_rng(5)
    lp = torch.tensor(g.standard_normal((T_, N, Cc))).log_softmax(2).to(getattr(torch, dtype))
    tl = np.array([8, 3, 0, 12])
    tg = g.integers(1, 3, (N, 12))                                  # few classes: many repeats
    il = np.array([30, 17, 9, 26])
    tol = 1e-4 if dtype == "float32" else 1e-9
    for red in RED:
        a = lp.clone().requires_grad_()
        c = ct.tensor(lp.numpy(), requires_grad=True)
        rt = TF.ctc_loss(a, torch.tensor(tg), torch.tensor(il), torch.tensor(tl), reduction=red, zero_infinity=True)
        rc = F.ctc_loss(c, ct.tensor(tg), ct.tensor(il), ct.tensor(tl), reduction=red, zero_infinity=True)
        np.testing.assert_allclose(host(rc), rt.detach().numpy(), rtol=tol, atol=tol)
        rt.sum().backward(), rc.sum().backward()
        np.testing.assert_allclose(host(c.grad), a.grad.numpy(), rtol=tol, atol=tol)


def _outcome(lib, fm, name, *args, **kw):
    try:
        r = getattr(fm, name)(*[lib.tensor(a) if isinstance(a, np.ndarray) else a for a in args], **kw)
        return "ok", str(r.dtype).split(".")[-1], tuple(r.shape)
    except Exception as e:                            # noqa: BLE001  (the error type and message are compared)
        return type(e).__name__, str(e)


@pytest.mark.fp64     # (float64 cases inside)
def test_errors_and_dtypes_match_torch():
    """dtype refusals, shape checks and their messages, and result dtypes/shapes, as torch's."""
    f = np.ones((3, 4), np.float32)
    i = np.ones((3, 4), np.int64)
    i1 = np.ones(3, np.int64)
    cases = [
        ("hardshrink", i), ("softshrink", i), ("softshrink", f, -1.0), ("prelu", i, np.ones(1, np.int64)), ("rrelu", i),
        ("prelu", f, np.ones(2, np.float32)),
        ("cosine_similarity", i, i), ("pairwise_distance", i, i), ("pdist", i),
        ("soft_margin_loss", i, i), ("multilabel_soft_margin_loss", i, i), ("hinge_embedding_loss", i, i),
        ("margin_ranking_loss", i1, i1, i1), ("cosine_embedding_loss", f, f, np.ones(2, np.float32)),
        ("cosine_embedding_loss", f, f, np.ones((3, 1), np.float32)),
        ("multi_margin_loss", f, np.ones(2, np.int64)), ("multi_margin_loss", f, np.ones(3, np.float32)),
        ("multilabel_margin_loss", f, np.ones((3, 3), np.int64)), ("multilabel_margin_loss", i, i),
        ("triplet_margin_loss", f, f, np.ones(4, np.float32)), ("gaussian_nll_loss", f, f, np.ones((2,), np.float32)),
        ("rms_norm", f, (3,)), ("rms_norm", i, (4,)), ("local_response_norm", i[None], 2), ("normalize", i),
        ("gumbel_softmax", i), ("multi_margin_loss", np.ones(0, np.float32), np.ones(0, np.int64)),
        ("triplet_margin_loss", f, f, f), ("hardshrink", f.astype(np.float64)), ("multilabel_soft_margin_loss", f, f),
    ]
    for c in cases:
        assert _outcome(ct, F, *c) == _outcome(torch, TF, *c), c[0]
