"""Recurrent layers, cells and nn.utils.rnn against PyTorch: weights copied both ways through state_dict, then
outputs, final states and the gradients of inputs, initial states and every parameter compared."""
import numpy as np
import pytest

import cltensor as ct
from cltensor.nn.utils import rnn as crnn

from _torchref import same_errors

torch = pytest.importorskip("torch")
trnn = torch.nn.utils.rnn

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")

# float64 (tight tolerances) where the device has fp64, else float32: every test runs on every device
_info = ct._device.device_info(ct.get_default_device())
DT = torch.float64 if _info is None or _info.fp64 else torch.float32


def _np(t):
    return t.detach().cpu().numpy()


def _c(t, grad=False):
    """A cltensor copy of a torch tensor (a leaf that requires grad if asked)."""
    r = ct.tensor(t.detach().numpy().copy())
    return r.requires_grad_(True) if grad else r


def _t(c, grad=False):
    r = torch.from_numpy(_np(c).copy())
    return r.requires_grad_(True) if grad else r


def _close(got, want, dtype=None):
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == torch.float64 else dict(rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(_np(got), want.detach().numpy(), **tol)


def _pair(name, *args, dtype=DT, from_ct=False, **kw):
    """(torch module, cltensor module) with equal weights: torch's state_dict loaded into cltensor's, or (from_ct)
    cltensor's loaded into torch's."""
    torch.manual_seed(0)
    tm = getattr(torch.nn, name)(*args, **kw).to(dtype)
    cm = getattr(ct.nn, name)(*args, **kw).to(ct.float64 if dtype == torch.float64 else ct.float32)
    assert list(cm.state_dict().keys()) == list(tm.state_dict().keys())
    for (kc, vc), (kt, vt) in zip(cm.state_dict().items(), tm.state_dict().items()):
        assert tuple(vc.shape) == tuple(vt.shape), kc
    if from_ct:
        tm.load_state_dict({k: _t(v) for k, v in cm.state_dict().items()})
    else:
        cm.load_state_dict({k: _c(v) for k, v in tm.state_dict().items()})
    return tm, cm


def _states(h):
    return list(h) if isinstance(h, tuple) else [h]


def _loss(out, h, weights):
    """A loss reading the output and each final state with different weights (so each gradient path counts)."""
    data = out.data if isinstance(out, (trnn.PackedSequence, crnn.PackedSequence)) else out
    loss = (data * weights[0]).sum()
    for i, s in enumerate(_states(h)):
        loss = loss + (s * weights[i + 1]).sum()
    return loss


def _check_module(tm, cm, xt, xc, ht=None, hc=None, dtype=DT):
    """Run both, compare outputs/final states, backprop the same loss and compare every gradient."""
    ot, st = tm(xt, ht) if ht is not None else tm(xt)
    oc, sc = cm(xc, hc) if hc is not None else cm(xc)
    packed = isinstance(ot, trnn.PackedSequence)
    assert isinstance(oc, crnn.PackedSequence) == packed
    if packed:
        _close(oc.data, ot.data, dtype)
        assert oc.batch_sizes.tolist() == ot.batch_sizes.tolist()
    else:
        assert tuple(oc.shape) == tuple(ot.shape)
        _close(oc, ot, dtype)
    assert len(_states(sc)) == len(_states(st))
    for a, b in zip(_states(sc), _states(st)):
        assert tuple(a.shape) == tuple(b.shape)
        _close(a, b, dtype)
    g = torch.Generator().manual_seed(1)
    wt = [torch.randn(tuple((ot.data if packed else ot).shape), generator=g, dtype=dtype)]
    wt += [torch.randn(tuple(s.shape), generator=g, dtype=dtype) for s in _states(st)]
    _loss(ot, st, wt).backward()
    _loss(oc, sc, [_c(w) for w in wt]).backward()
    leaves = [] if packed else [(xc, xt)]      # (packed data is not a leaf: callers check their sequences)
    if ht is not None:
        leaves += list(zip(_states(hc), _states(ht)))
    for c, t in leaves:
        _close(c.grad, t.grad, dtype)
    for (nc, pc), (nt, pt) in zip(cm.named_parameters(), tm.named_parameters()):
        assert nc == nt
        _close(pc.grad, pt.grad, dtype)


def _input(T, B, I, batch_first=False, dtype=DT, seed=2):
    g = torch.Generator().manual_seed(seed)
    xt = torch.randn((B, T, I) if batch_first else (T, B, I), generator=g, dtype=dtype).requires_grad_(True)
    return xt, _c(xt, True)


def _hidden(name, L, B, H, P=0, dtype=DT, unbatched=False):
    g = torch.Generator().manual_seed(3)
    shape = lambda h: (L, h) if unbatched else (L, B, h)   # noqa: E731
    ts = [torch.randn(shape(P or H), generator=g, dtype=dtype).requires_grad_(True)]
    if name == "LSTM":
        ts.append(torch.randn(shape(H), generator=g, dtype=dtype).requires_grad_(True))
    cs = [_c(t, True) for t in ts]
    return (tuple(ts), tuple(cs)) if name == "LSTM" else (ts[0], cs[0])


CONFIGS = [
    ("RNN", {}), ("RNN", dict(nonlinearity="relu", num_layers=2)), ("LSTM", {}), ("GRU", {}),
    ("LSTM", dict(num_layers=2, bidirectional=True)), ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("RNN", dict(bidirectional=True, bias=False)), ("LSTM", dict(bias=False, batch_first=True)),
    ("LSTM", dict(proj_size=3)), ("LSTM", dict(proj_size=3, num_layers=2, bidirectional=True, batch_first=True)),
    ("GRU", dict(bias=False, num_layers=2)),
]


@pytest.mark.parametrize("name,kw", CONFIGS, ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}"
                                                  for n, kw in CONFIGS])
def test_modules(name, kw):
    tm, cm = _pair(name, 4, 5, **kw)
    bf = kw.get("batch_first", False)
    xt, xc = _input(6, 3, 4, bf)
    _check_module(tm, cm, xt, xc)
    # with initial states
    tm.zero_grad()
    cm.zero_grad()
    L = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    ht, hc = _hidden(name, L, 3, 5, kw.get("proj_size", 0))
    xt, xc = _input(6, 3, 4, bf, seed=4)
    _check_module(tm, cm, xt, xc, ht, hc)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_modules_float32_from_cltensor(name):
    # cltensor's own initialisation, loaded into torch
    tm, cm = _pair(name, 6, 7, num_layers=2, bidirectional=True, dtype=torch.float32, from_ct=True)
    for p in cm.parameters():
        v = _np(p)
        assert np.abs(v).max() <= 1 / np.sqrt(7) and v.std() > 0.1
    xt, xc = _input(5, 4, 6, dtype=torch.float32)
    _check_module(tm, cm, xt, xc, dtype=torch.float32)


@pytest.mark.parametrize("name,kw", [("LSTM", dict(num_layers=2)), ("GRU", dict(bidirectional=True)),
                                     ("LSTM", dict(proj_size=2, batch_first=True)), ("RNN", {})])
def test_unbatched(name, kw):
    tm, cm = _pair(name, 4, 5, **kw)
    g = torch.Generator().manual_seed(5)
    xt = torch.randn(6, 4, generator=g, dtype=DT, requires_grad=True)
    xc = _c(xt, True)
    _check_module(tm, cm, xt, xc)
    L = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    ht, hc = _hidden(name, L, 1, 5, kw.get("proj_size", 0), unbatched=True)
    tm.zero_grad()
    cm.zero_grad()
    xt, xc = _input(6, 1, 4)
    xt = xt.detach()[:, 0].requires_grad_(True)
    xc = _c(xt, True)
    _check_module(tm, cm, xt, xc, ht, hc)


@pytest.mark.parametrize("name,kw,enforce", [
    ("LSTM", dict(num_layers=2, bidirectional=True), True), ("GRU", dict(bidirectional=True), False),
    ("RNN", dict(num_layers=2), False), ("LSTM", dict(proj_size=2, bidirectional=True), False),
    ("GRU", dict(num_layers=2, batch_first=True), True)])
def test_packed(name, kw, enforce):
    lengths = [6, 4, 4, 1] if enforce else [3, 6, 1, 4]
    bf = kw.get("batch_first", False)
    tm, cm = _pair(name, 4, 5, **kw)
    xt, xc = _input(6, 4, 4, bf)
    pt = trnn.pack_padded_sequence(xt, lengths, batch_first=bf, enforce_sorted=enforce)
    pc = crnn.pack_padded_sequence(xc, ct.tensor(lengths), batch_first=bf, enforce_sorted=enforce)
    _close(pc.data, pt.data, DT)
    assert pc.batch_sizes.tolist() == pt.batch_sizes.tolist()
    assert pc.batch_sizes.dtype == ct.int64 and pc.batch_sizes.device.type == "cpu"
    for a, b in [(pc.sorted_indices, pt.sorted_indices), (pc.unsorted_indices, pt.unsorted_indices)]:
        assert (a is None) == (b is None) and (a is None or a.tolist() == b.tolist())
    L = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    ht, hc = _hidden(name, L, 4, 5, kw.get("proj_size", 0))
    # outputs and final states at each sequence's real length; gradients through the packing
    ot, st = tm(pt, ht)
    oc, sc = cm(pc, hc)
    _close(oc.data, ot.data, DT)
    for a, b in zip(_states(sc), _states(st)):
        _close(a, b, DT)
    padt, lt = trnn.pad_packed_sequence(ot, batch_first=bf, padding_value=-1.0, total_length=7)
    padc, lc = crnn.pad_packed_sequence(oc, batch_first=bf, padding_value=-1.0, total_length=7)
    _close(padc, padt, DT)
    assert lc.tolist() == lt.tolist() and lc.dtype == ct.int64
    g = torch.Generator().manual_seed(6)
    wt = [torch.randn(tuple(padt.shape), generator=g, dtype=DT)]
    wt += [torch.randn(tuple(s.shape), generator=g, dtype=DT) for s in _states(st)]
    _loss(padt, st, wt).backward()
    _loss(padc, sc, [_c(w) for w in wt]).backward()
    _close(xc.grad, xt.grad, DT)
    for c, t in zip(_states(hc), _states(ht)):
        _close(c.grad, t.grad, DT)
    for (nc, pc_), (nt, pt_) in zip(cm.named_parameters(), tm.named_parameters()):
        _close(pc_.grad, pt_.grad, DT)


def test_packed_without_initial_state_and_pack_sequence():
    tm, cm = _pair("LSTM", 3, 4, bidirectional=True)
    g = torch.Generator().manual_seed(7)
    seqs_t = [torch.randn(n, 3, generator=g, dtype=DT, requires_grad=True) for n in (2, 5, 3)]
    seqs_c = [_c(s, True) for s in seqs_t]
    pt = trnn.pack_sequence(seqs_t, enforce_sorted=False)
    pc = crnn.pack_sequence(seqs_c, enforce_sorted=False)
    _check_module(tm, cm, pt, pc)
    for a, b in zip(seqs_c, seqs_t):
        _close(a.grad, b.grad, DT)
    back_t = trnn.unpack_sequence(tm(pt)[0])
    back_c = crnn.unpack_sequence(cm(pc)[0])
    assert len(back_c) == 3
    for a, b in zip(back_c, back_t):
        _close(a, b, DT)


@pytest.mark.parametrize("name,kw", [("RNNCell", {}), ("RNNCell", dict(nonlinearity="relu", bias=False)),
                                     ("LSTMCell", {}), ("GRUCell", {}), ("GRUCell", dict(bias=False))])
def test_cells(name, kw):
    tm, cm = _pair(name, 4, 5, **kw)
    assert repr(cm) == repr(tm)
    for batched in (True, False):
        tm.zero_grad()
        cm.zero_grad()
        g = torch.Generator().manual_seed(8)
        xt = torch.randn((3, 4) if batched else (4,), generator=g, dtype=DT, requires_grad=True)
        hts = [torch.randn((3, 5) if batched else (5,), generator=g, dtype=DT, requires_grad=True)
               for _ in range(2 if name == "LSTMCell" else 1)]
        xc, hcs = _c(xt, True), [_c(h, True) for h in hts]
        for with_h in (False, True):
            ht = (tuple(hts) if name == "LSTMCell" else hts[0]) if with_h else None
            hc = (tuple(hcs) if name == "LSTMCell" else hcs[0]) if with_h else None
            rt = tm(xt, ht)
            rc = cm(xc, hc)
            for a, b in zip(_states(rc), _states(rt)):
                assert tuple(a.shape) == tuple(b.shape)
                _close(a, b, DT)
            g2 = torch.Generator().manual_seed(9)
            w = [torch.randn(tuple(s.shape), generator=g2, dtype=DT) for s in _states(rt)]
            sum((s * wi).sum() for s, wi in zip(_states(rt), w)).backward()
            sum((s * _c(wi)).sum() for s, wi in zip(_states(rc), w)).backward()
        for c, t in [(xc, xt)] + list(zip(hcs, hts)):
            _close(c.grad, t.grad, DT)
        for (nc, pc), (nt, pt) in zip(cm.named_parameters(), tm.named_parameters()):
            _close(pc.grad, pt.grad, DT)


def test_dropout_train_and_eval():
    tm, cm = _pair("LSTM", 4, 6, num_layers=3, dropout=0.5)
    xt, xc = _input(5, 3, 4)
    tm.eval()
    cm.eval()
    _check_module(tm, cm, xt, xc)          # eval: no dropout, equal to torch
    cm.train()
    ct.manual_seed(0)
    o1, _ = cm(xc)
    o2, _ = cm(xc)
    oe = cm.eval()(xc)[0]
    assert not np.allclose(_np(o1), _np(oe)) and not np.allclose(_np(o1), _np(o2))
    # dropout between layers only: a 1-layer module (torch warns) is unaffected in training
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        one = ct.nn.GRU(4, 6, dropout=0.5).to(ct.float64 if DT == torch.float64 else ct.float32)
    one.train()
    np.testing.assert_allclose(_np(one(xc)[0]), _np(one.eval()(xc)[0]))


def test_repr_state_dict_and_flatten():
    cases = [("LSTM", (10, 20), dict(num_layers=2, batch_first=True)), ("RNN", (3, 4), dict(nonlinearity="relu")),
             ("GRU", (3, 4), dict(bias=False, dropout=0.25, num_layers=2, bidirectional=True)),
             ("LSTM", (3, 4), dict(proj_size=2, bidirectional=True)), ("RNN", (3, 4), {}),
             ("RNNCell", (3, 4), dict(nonlinearity="relu")), ("LSTMCell", (3, 4), dict(bias=False)),
             ("GRUCell", (3, 4), {})]
    for name, args, kw in cases:
        tm = getattr(torch.nn, name)(*args, **kw)
        cm = getattr(ct.nn, name)(*args, **kw)
        assert repr(cm) == repr(tm)
        assert list(cm.state_dict().keys()) == list(tm.state_dict().keys())
        assert [n for n, _ in cm.named_parameters()] == [n for n, _ in tm.named_parameters()]
        if hasattr(tm, "flatten_parameters"):
            assert cm.flatten_parameters() is None
            assert cm._flat_weights_names == tm._flat_weights_names
            assert [[tuple(w.shape) for w in ws] for ws in cm.all_weights] == \
                [[tuple(w.shape) for w in ws] for ws in tm.all_weights]
    assert repr(ct.nn.Sequential(ct.nn.LSTM(10, 20, num_layers=2, batch_first=True))) == \
        repr(torch.nn.Sequential(torch.nn.LSTM(10, 20, num_layers=2, batch_first=True)))


def test_pad_sequence_and_unpad():
    g = torch.Generator().manual_seed(10)
    seqs = [torch.randn(n, 2, generator=g, dtype=DT, requires_grad=True) for n in (3, 1, 4)]
    cseqs = [_c(s, True) for s in seqs]
    for bf in (False, True):
        for side in ("right", "left"):
            pt = trnn.pad_sequence(seqs, batch_first=bf, padding_value=2.5, padding_side=side)
            pc = crnn.pad_sequence(cseqs, batch_first=bf, padding_value=2.5, padding_side=side)
            _close(pc, pt, DT)
    w = torch.randn(tuple(pt.shape), generator=g, dtype=DT)
    (pt * w).sum().backward()
    (pc * _c(w)).sum().backward()
    for a, b in zip(cseqs, seqs):
        _close(a.grad, b.grad, DT)
    # 1-D sequences, unpad_sequence both layouts
    ones = [torch.arange(n, dtype=torch.float32) for n in (2, 3)]
    _close(crnn.pad_sequence([_c(o) for o in ones]), trnn.pad_sequence(ones), DT)
    padded = trnn.pad_sequence(ones)
    back = crnn.unpad_sequence(_c(padded), ct.tensor([2, 3]))
    assert [b.tolist() for b in back] == [o.tolist() for o in ones]
    back = crnn.unpad_sequence(_c(padded.t().contiguous()), [2, 3], batch_first=True)
    assert [b.tolist() for b in back] == [o.tolist() for o in ones]


def test_packed_sequence_type():
    x = ct.arange(12, dtype=ct.float32).reshape(4, 3, 1)
    p = crnn.pack_padded_sequence(x, [4, 2, 1])
    assert isinstance(p, tuple) and p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    data, bs, si, ui = p
    assert _np(data).reshape(-1).tolist() == [0, 1, 2, 3, 4, 6, 9]
    assert bs.tolist() == [3, 2, 1, 1] and si is None and ui is None
    q = crnn.PackedSequence(p.data, p.batch_sizes, ct.tensor([2, 0, 1]))
    assert q.unsorted_indices.tolist() == [1, 2, 0]
    if DT == torch.float64:
        assert p.double().data.dtype == ct.float64 and p.to(ct.float64).batch_sizes is p.batch_sizes
    assert p.to(ct.float32) is p and not p.is_cuda
    r = crnn.PackedSequence((p.data, p.batch_sizes))
    assert r.batch_sizes is p.batch_sizes and r.sorted_indices is None
    padded, lengths = crnn.pad_packed_sequence(p, batch_first=True)
    assert lengths.tolist() == [4, 2, 1] and tuple(padded.shape) == (3, 4, 1)


def test_errors_match_torch():
    def mk(m, name, *a, **kw):
        return getattr(m.nn, name)(*a, **kw)

    def rnd(m, *shape):
        return m.randn(*shape)
    cases = [
        lambda m: mk(m, "RNN", 10, 20)(rnd(m, 5, 3, 12)),
        lambda m: mk(m, "LSTM", 10, 20, batch_first=True)(rnd(m, 5, 3, 12)),
        lambda m: mk(m, "RNN", 10, 20, num_layers=2)(rnd(m, 5, 3, 10), rnd(m, 1, 3, 20)),
        lambda m: mk(m, "GRU", 10, 20)(rnd(m, 5, 3, 10), rnd(m, 1, 4, 20)),
        lambda m: mk(m, "LSTM", 10, 20)(rnd(m, 5, 3, 10), (rnd(m, 1, 4, 20), rnd(m, 1, 3, 20))),
        lambda m: mk(m, "LSTM", 10, 20)(rnd(m, 5, 3, 10), (rnd(m, 1, 3, 20), rnd(m, 1, 3, 21))),
        lambda m: mk(m, "LSTM", 10, 20, proj_size=5)(rnd(m, 5, 3, 10), (rnd(m, 1, 3, 20), rnd(m, 1, 3, 20))),
        lambda m: mk(m, "LSTM", 10, 20)(rnd(m, 5, 10), (rnd(m, 1, 3, 20), rnd(m, 1, 3, 20))),
        lambda m: mk(m, "LSTM", 10, 20)(rnd(m, 5, 3, 10), (rnd(m, 3, 20), rnd(m, 3, 20))),
        lambda m: mk(m, "GRU", 10, 20)(rnd(m, 5, 10), rnd(m, 1, 3, 20)),
        lambda m: mk(m, "RNN", 10, 20)(rnd(m, 5, 3, 10), rnd(m, 3, 20)),
        lambda m: mk(m, "GRU", 10, 20)(rnd(m, 5, 10), rnd(m, 2, 20)),
        lambda m: mk(m, "RNN", 10, 20)(m.nn.utils.rnn.pack_padded_sequence(rnd(m, 5, 3, 12), [5, 3, 2])),
        lambda m: mk(m, "RNN", 10, 20)(m.nn.utils.rnn.pack_padded_sequence(rnd(m, 5, 3, 10), [5, 3, 2]),
                                       rnd(m, 1, 2, 20)),
        lambda m: m.nn.utils.rnn.pack_padded_sequence(rnd(m, 5, 3, 2), [3, 5, 2]),
        lambda m: m.nn.utils.rnn.pack_sequence([rnd(m, 2), rnd(m, 3)]),
        lambda m: m.nn.utils.rnn.pack_padded_sequence(rnd(m, 5, 3, 2), [5, 3, 0]),
        lambda m: m.nn.utils.rnn.pack_padded_sequence(rnd(m, 5, 3, 2), [5, 3]),
        lambda m: m.nn.utils.rnn.pad_sequence(3),
        lambda m: m.nn.utils.rnn.pad_sequence([rnd(m, 3)], padding_side="mid"),
        lambda m: mk(m, "LSTMCell", 10, 20)(rnd(m, 3, 12)),
        lambda m: mk(m, "LSTMCell", 10, 20)(rnd(m, 3, 10), (rnd(m, 2, 20), rnd(m, 3, 20))),
        lambda m: mk(m, "LSTMCell", 10, 20)(rnd(m, 3, 10), (rnd(m, 3, 21), rnd(m, 3, 20))),
        lambda m: mk(m, "LSTMCell", 10, 20)(rnd(m, 3, 10), (rnd(m, 3, 20), rnd(m, 3, 21))),
        lambda m: mk(m, "LSTMCell", 10, 20)(rnd(m, 3, 10), (rnd(m, 3, 20),)),
        lambda m: mk(m, "GRUCell", 10, 20)(rnd(m, 3, 10), rnd(m, 3, 21)),
        lambda m: mk(m, "RNNCell", 10, 20)(rnd(m, 3, 10), rnd(m, 20)),
        lambda m: mk(m, "RNNCell", 10, 20)(rnd(m, 10), rnd(m, 3, 20)),
        lambda m: mk(m, "RNNCell", 10, 20, nonlinearity="foo")(rnd(m, 3, 10)),
    ]
    same_errors(torch, ct, cases, RuntimeError)
    value_cases = [
        lambda m: mk(m, "RNN", 10, 20, nonlinearity="foo"),
        lambda m: mk(m, "GRU", 10, 20, dropout=1.5),
        lambda m: mk(m, "LSTM", 10, 20, dropout=-0.1),
        lambda m: mk(m, "LSTM", 10, 20, dropout=True),
        lambda m: mk(m, "GRU", 10, 20, num_layers=0),
        lambda m: mk(m, "LSTM", 0, 20),
        lambda m: mk(m, "LSTM", 10, 0),
        lambda m: mk(m, "GRU", 10, 20, proj_size=2),
        lambda m: mk(m, "RNN", 10, 20, proj_size=2),
        lambda m: mk(m, "LSTM", 10, 20, proj_size=20),
        lambda m: mk(m, "LSTM", 10, 20, proj_size=-1),
        lambda m: mk(m, "GRU", 10, 20)(rnd(m, 1, 5, 3, 10)),
        lambda m: mk(m, "RNN", 10, 20)(rnd(m, 10)[0]),
        lambda m: mk(m, "LSTM", 10, 20)(rnd(m, 1, 5, 3, 10)),
        lambda m: mk(m, "RNNCell", 10, 20)(rnd(m, 2, 3, 10)),
        lambda m: mk(m, "GRUCell", 10, 20)(rnd(m, 3, 10), rnd(m, 1, 3, 20)),
        lambda m: mk(m, "LSTMCell", 10, 20)(rnd(m, 3, 10), (rnd(m, 1, 3, 20), rnd(m, 3, 20))),
        lambda m: m.nn.utils.rnn.pad_packed_sequence(
            m.nn.utils.rnn.pack_padded_sequence(rnd(m, 5, 3, 2), [5, 3, 2]), total_length=3),
    ]
    same_errors(torch, ct, value_cases, ValueError)
    type_cases = [lambda m: mk(m, "LSTM", 10.0, 20), lambda m: mk(m, "LSTM", 10, 20, bias=1),
                  lambda m: mk(m, "GRU", 10, 20, batch_first=None), lambda m: mk(m, "RNN", 10, "20")]
    same_errors(torch, ct, type_cases, TypeError)
    # dtype mismatch: the same message with the library's dtype names
    with pytest.raises(ValueError) as want:
        torch.nn.LSTM(10, 20)(torch.zeros(5, 3, 10, dtype=torch.int64))
    with pytest.raises(ValueError) as got:
        ct.nn.LSTM(10, 20)(ct.tensor(np.zeros((5, 3, 10), dtype=np.int64)))
    assert str(got.value) == str(want.value).replace("torch.", "cltensor.")


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_partial_losses_and_strided_states(name):
    """Gradients when only the output or only the final states are used, and initial states that are
    non-contiguous views."""
    tm, cm = _pair(name, 4, 5, num_layers=2, bidirectional=True, batch_first=True)
    xt, xc = _input(5, 3, 4, True)
    g = torch.Generator().manual_seed(11)
    base = [torch.randn(3, 4, 5, generator=g, dtype=DT) for _ in range(2 if name == "LSTM" else 1)]
    ht = [b.detach().requires_grad_(True) for b in base]
    hc = [_c(b, True) for b in base]
    # (4, 3, 5) views with strides of a (3, 4, 5) tensor
    hvt = tuple(h.transpose(0, 1) for h in ht)
    hvc = tuple(h.transpose(0, 1) for h in hc)
    if name != "LSTM":
        hvt, hvc = hvt[0], hvc[0]
    ot, st = tm(xt, hvt)
    oc, sc = cm(xc, hvc)
    _close(oc, ot)
    (ot * 2).sum().backward()
    (oc * 2).sum().backward()
    _close(xc.grad, xt.grad)
    for c, t in zip(hc, ht):
        _close(c.grad, t.grad)
    for (_, pc), (_, pt) in zip(cm.named_parameters(), tm.named_parameters()):
        _close(pc.grad, pt.grad)
    tm.zero_grad()
    cm.zero_grad()
    ot, st = tm(xt)
    oc, sc = cm(xc)
    _states(st)[-1].sum().backward()
    _states(sc)[-1].sum().backward()
    for (_, pc), (_, pt) in zip(cm.named_parameters(), tm.named_parameters()):
        _close(pc.grad, pt.grad)


def test_no_grad_inference_and_module_to():
    tm, cm = _pair("LSTM", 4, 5, num_layers=2)
    xt, xc = _input(4, 2, 4)
    with ct.no_grad():
        oc, (hc, cc) = cm(xc)
    assert not oc.requires_grad and oc.grad_fn is None
    _close(oc, tm(xt)[0])
    cm2 = ct.nn.LSTM(4, 5, num_layers=2).to(ct.float32)
    cm2.load_state_dict(cm.state_dict())
    assert all(p.dtype == ct.float32 for p in cm2.parameters())
    oc2, _ = cm2(xc.detach().float())
    np.testing.assert_allclose(_np(oc2), tm(xt)[0].detach().numpy(), rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("name,kw,packed", [("LSTM", dict(bidirectional=True, proj_size=2), True),
                                            ("GRU", dict(num_layers=2), False), ("RNN", {}, True),
                                            ("LSTMCell", {}, False)])
def test_double_backward(name, kw, packed):
    """create_graph=True: gradients that are differentiable themselves (a gradient penalty), as in torch."""
    tm, cm = _pair(name, 3, 4, **kw)
    g = torch.Generator().manual_seed(12)
    xt = torch.randn((3, 3) if name == "LSTMCell" else (5, 3, 3), generator=g, dtype=DT, requires_grad=True)
    xc = _c(xt, True)

    def run(m, x, P):
        inp = P.pack_padded_sequence(x, [5, 3, 2]) if packed else x
        if name == "LSTMCell":
            o, hs = m(inp)[0], m(inp)
        else:
            o, hs = m(inp)
            o = o.data if packed else o
        return (o ** 2).sum() + sum((s ** 3).sum() for s in _states(hs))
    gt, = torch.autograd.grad(run(tm, xt, trnn), xt, create_graph=True)
    (gt ** 2).sum().backward()
    gc, = ct.autograd.grad(run(cm, xc, crnn), xc, create_graph=True)
    (gc ** 2).sum().backward()
    _close(gc, gt)
    _close(xc.grad, xt.grad)
    for (_, pc), (_, pt) in zip(cm.named_parameters(), tm.named_parameters()):
        _close(pc.grad, pt.grad)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_launches_per_step(name):
    """One GEMM and one gate kernel per time step each way (plus a fixed number per layer): the fused path."""
    from cltensor import _kernels
    m = getattr(ct.nn, name)(8, 16)
    x = ct.randn(20, 4, 8).requires_grad_(True)
    counts = []
    for T in (10, 20):
        xs = x[:T]
        m(xs)                              # kernels built
        m.zero_grad()                      # no gradient accumulation in the count
        x.grad = None
        n0 = _kernels.stats["launches"]
        o, h = m(xs)
        n1 = _kernels.stats["launches"]
        (o.sum() + _states(h)[0].sum()).backward()
        n2 = _kernels.stats["launches"]
        counts.append((n1 - n0, n2 - n1))
    (f10, b10), (f20, b20) = counts
    assert f20 - f10 == 2 * 10, counts      # forward: GEMM + gate kernel per step
    assert b20 - b10 == 2 * 10, counts      # backward: gate kernel (RNN: elementwise) + GEMM per step
