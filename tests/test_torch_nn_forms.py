"""torch.conv2d, torch.batch_norm, torch.embedding, torch.kl_div ... (the top-level forms of nn functions, with
PyTorch's native argument orders and int reductions) against torch's own top-level functions."""
import numpy as np
import pytest

import cltensor as ct
from _host import host

torch = pytest.importorskip("torch")


def _r(*shape, seed=0, lo=None):
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return np.abs(a) + lo if lo is not None else a


def _t(mod, a):
    return mod.tensor(a) if isinstance(a, np.ndarray) else a


CASES = {
    "conv1d": lambda: (_r(2, 3, 9), _r(4, 3, 3, seed=1), _r(4, seed=2), 2, 1),
    "conv2d": lambda: (_r(2, 3, 7, 6), _r(4, 3, 3, 3, seed=1), None, 1, 1, 1, 1),
    "conv3d": lambda: (_r(1, 2, 5, 5, 5), _r(3, 2, 3, 3, 3, seed=1)),
    "conv_transpose1d": lambda: (_r(2, 3, 5), _r(3, 4, 3, seed=1), None, 2, 1, 1),
    "conv_transpose2d": lambda: (_r(1, 3, 4, 4), _r(3, 2, 3, 3, seed=1), _r(2, seed=2), 2),
    "conv_transpose3d": lambda: (_r(1, 2, 3, 3, 3), _r(2, 2, 2, 2, 2, seed=1)),
    "max_pool1d": lambda: (_r(2, 3, 9), 3, 2),
    "max_pool2d": lambda: (_r(2, 3, 8, 8), 2),
    "max_pool3d": lambda: (_r(1, 2, 4, 4, 4), 2),
    "avg_pool1d": lambda: (_r(2, 3, 9), 3, 2, 1),
    "adaptive_avg_pool1d": lambda: (_r(2, 3, 9), 4),
    "adaptive_max_pool1d": lambda: (_r(2, 3, 9), 4),
    "max_pool1d_with_indices": lambda: (_r(2, 3, 9), 3),
    "pixel_shuffle": lambda: (_r(1, 8, 3, 3), 2),
    "pixel_unshuffle": lambda: (_r(1, 2, 4, 4), 2),
    "channel_shuffle": lambda: (_r(1, 6, 2, 2), 3),
    "prelu": lambda: (_r(2, 3, 4), np.full(3, 0.25, np.float32)),
    "selu": lambda: (_r(3, 4),),
    "celu": lambda: (_r(3, 4), 0.5),
    "threshold": lambda: (_r(3, 4), 0.1, -2.0),
    "hardshrink": lambda: (_r(3, 4), 0.4),
    "rrelu": lambda: (_r(3, 4),),
    "dropout": lambda: (_r(3, 4), 0.5, False),
    "alpha_dropout": lambda: (_r(3, 4), 0.5, False),
    "bilinear": lambda: (_r(3, 2), _r(3, 4, seed=1), _r(5, 2, 4, seed=2), _r(5, seed=3)),
    "cosine_similarity": lambda: (_r(3, 4), _r(3, 4, seed=1)),
    "pairwise_distance": lambda: (_r(3, 4), _r(3, 4, seed=1)),
    "rms_norm": lambda: (_r(3, 4), [4], _r(4, seed=1)),
    "layer_norm": lambda: (_r(3, 4), [4], _r(4, seed=1), _r(4, seed=2), 1e-5, True),
    "group_norm": lambda: (_r(2, 4, 3), 2, _r(4, seed=1), _r(4, seed=2), 1e-5, True),
    "batch_norm": lambda: (_r(4, 3, 2), _r(3, seed=1), _r(3, seed=2), _r(3, seed=3), _r(3, seed=4, lo=0.5), False,
                           0.1, 1e-5, True),
    "instance_norm": lambda: (_r(2, 3, 5), _r(3, seed=1), _r(3, seed=2), None, None, True, 0.1, 1e-5, True),
    "kl_div": lambda: (_r(3, 4), _r(3, 4, seed=1, lo=0.1), 2),
    "margin_ranking_loss": lambda: (_r(5), _r(5, seed=1), np.sign(_r(5, seed=2)), 0.1, 0),
    "hinge_embedding_loss": lambda: (_r(5), np.sign(_r(5, seed=2)), 1.0, 1),
    "cosine_embedding_loss": lambda: (_r(5, 3), _r(5, 3, seed=1), np.sign(_r(5, seed=2)), 0.0, 2),
    "triplet_margin_loss": lambda: (_r(4, 3), _r(4, 3, seed=1), _r(4, 3, seed=2), 1.0, 2, 1e-6, False, 1),
    "poisson_nll_loss": lambda: (_r(5), _r(5, seed=1, lo=0.0), True, False, 1e-8, 1),
    "binary_cross_entropy_with_logits": lambda: (_r(5), _r(5, seed=1, lo=0.0) % 1, None, None, 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_top_level(name):
    args = CASES[name]()
    ours = getattr(ct, name)(*[_t(ct, a) for a in args])
    ref = getattr(torch, name)(*[_t(torch, a) for a in args])
    ours = ours if isinstance(ours, tuple) else (ours,)
    ref = ref if isinstance(ref, tuple) else (ref,)
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(host(a), b.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_embedding_and_ctc_argument_orders():
    w = _r(10, 3)
    idx = np.array([[1, 2], [9, 0]])
    np.testing.assert_allclose(host(ct.embedding(ct.tensor(w), ct.tensor(idx))),
                               torch.embedding(torch.tensor(w), torch.tensor(idx)).numpy())
    lp = np.log(np.random.default_rng(0).dirichlet(np.ones(5), size=(6, 2)).astype(np.float32))
    tg, il, tl = np.array([[1, 2], [3, 3]]), np.array([6, 5]), np.array([2, 2])
    a = ct.ctc_loss(ct.tensor(lp), ct.tensor(tg), ct.tensor(il), ct.tensor(tl), 0, 1, False)
    b = torch.ctc_loss(torch.tensor(lp), torch.tensor(tg), torch.tensor(il), torch.tensor(tl), 0, 1, False)
    np.testing.assert_allclose(host(a), b.numpy(), rtol=1e-4)


def test_inplace_forms():
    for name, extra in (("selu_", ()), ("celu_", (0.5,)), ("threshold_", (0.1, -2.0)), ("dropout_", (0.5, False)),
                        ("alpha_dropout_", (0.5, False)), ("rrelu_", ())):
        a = _r(3, 4)
        x, tx = ct.tensor(a), torch.tensor(a)
        getattr(ct, name)(x, *extra)
        getattr(torch, name)(tx, *extra)
        np.testing.assert_allclose(host(x), tx.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
