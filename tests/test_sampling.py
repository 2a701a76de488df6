"""multinomial: distribution, zero-probability categories, without-replacement semantics, errors like PyTorch."""
import numpy as np
import pytest

import cltensor as ct
from _torchref import same_errors
from _host import host


def test_with_replacement_frequencies_and_zero_categories():
    ct.manual_seed(1)
    p = ct.tensor([[0.1, 0.0, 0.2, 0.3, 0.4, 0.0], [0.0, 0.0, 5.0, 0.0, 0.0, 5.0]])   # rows need not sum to 1
    s = ct.multinomial(p, 40000, replacement=True)
    assert s.dtype == ct.int64 and tuple(s.shape) == (2, 40000)
    f0 = np.bincount(host(s[0]), minlength=6) / 40000
    f1 = np.bincount(host(s[1]), minlength=6) / 40000
    np.testing.assert_allclose(f0, [0.1, 0, 0.2, 0.3, 0.4, 0], atol=0.01)
    np.testing.assert_allclose(f1, [0, 0, 0.5, 0, 0, 0.5], atol=0.01)
    assert f0[1] == f0[5] == 0 and f1[[0, 1, 3, 4]].sum() == 0       # probability 0: never drawn


def test_with_replacement_chunks_and_half_and_one_category(monkeypatch):
    from cltensor import _sampling
    monkeypatch.setattr(_sampling, "_CHUNK", 7)                         # several compare chunks
    ct.manual_seed(2)
    p = ct.tensor([1.0, 3.0, 0.0, 4.0], dtype=ct.float16)
    s = host(p.multinomial(3001, True))
    assert s.shape == (3001,) and set(np.unique(s)) <= {0, 1, 3}
    np.testing.assert_allclose(np.bincount(s, minlength=4) / 3001, [1 / 8, 3 / 8, 0, 4 / 8], atol=0.04)
    assert ct.multinomial(ct.tensor([0.0, 2.0, 0.0]), 50, True).tolist() == [1] * 50


def test_without_replacement_distinct_and_first_draw_distribution():
    ct.manual_seed(3)
    p = ct.tensor([0.5, 0.25, 0.125, 0.125, 0.0])
    for s in (1, 3, 5):
        r = ct.multinomial(p, s)
        assert tuple(r.shape) == (s,) and len(set(r.tolist())) == s
    r = ct.multinomial(p, 5).tolist()
    assert r[-1] == 4                                                   # probability 0 comes last
    rows = ct.multinomial(p.expand(20000, 5).contiguous(), 2)           # each row drawn on its own
    first = np.bincount(host(rows[:, 0]), minlength=5) / 20000
    np.testing.assert_allclose(first, [0.5, 0.25, 0.125, 0.125, 0], atol=0.015)
    assert (rows[:, 0] != rows[:, 1]).all().item()


def test_seeded_and_generator():
    p = ct.rand(4, 9)
    ct.manual_seed(7)
    a = ct.multinomial(p, 6), ct.multinomial(p, 20, True)
    ct.manual_seed(7)
    b = ct.multinomial(p, 6), ct.multinomial(p, 20, True)
    assert all((x == y).all().item() for x, y in zip(a, b))
    g = ct.Generator().manual_seed(11)
    c = ct.multinomial(p, 6, generator=g)
    g.manual_seed(11)
    assert (ct.multinomial(p, 6, generator=g) == c).all().item()
    out = ct.empty(3, dtype=ct.int64)
    r = ct.multinomial(ct.ones(5), 3, out=out)
    assert r is out and len(set(out.tolist())) == 3


def test_errors_like_torch():
    import torch
    cases = [
        lambda m: m.multinomial(m.ones(2, 2, 2), 1),
        lambda m: m.multinomial(m.ones(3), 0),
        lambda m: m.multinomial(m.ones(3), 4),
        lambda m: m.multinomial(m.tensor([1.0, -1.0, 2.0]), 1),
        lambda m: m.multinomial(m.tensor([0.0, 0.0, 0.0]), 1, True),
        lambda m: m.multinomial(m.tensor([1, 2, 3]), 1),
        lambda m: m.multinomial(m.tensor([1.0, float("nan"), 0.0]), 1),
        lambda m: m.multinomial(m.tensor([1.0, float("inf"), 0.0]), 1, True),
        lambda m: m.multinomial(m.tensor(1.0), 1),
        lambda m: m.multinomial(m.ones(0, 3), 5),
    ]
    same_errors(torch, ct, cases)
    with pytest.raises(TypeError, match="must be int, not float"):
        ct.multinomial(ct.ones(3), 2.0)
    assert tuple(ct.multinomial(ct.ones(0, 3), 2).shape) == (0, 2)
    r = ct.multinomial(ct.ones(3, requires_grad=True), 2)
    assert not r.requires_grad and r.dtype == ct.int64
