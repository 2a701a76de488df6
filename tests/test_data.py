"""cltensor.utils.data against torch.utils.data: datasets, samplers, collation, DataLoader (single- and
multi-process: real worker processes, exceptions, killed workers, timeouts, early shutdown, persistent workers,
iterable-dataset sharding)."""
import collections
import os
import random
import signal
import time
import warnings

import numpy as np
import pytest

import cltensor as ct
import cltensor.utils.data as cd
from cltensor.utils.data import _worker

torch = pytest.importorskip("torch")
import torch.utils.data as td  # noqa: E402

from _torchref import same_errors  # noqa: E402


def _np(x):
    if isinstance(x, (ct.Tensor, torch.Tensor)):
        return x.detach().numpy() if isinstance(x, torch.Tensor) else x.cpu().numpy()
    return x


def _same(got, want):
    """Same structure, container types, tensor dtypes and values (cltensor vs torch)."""
    if isinstance(want, torch.Tensor):
        assert isinstance(got, ct.Tensor), type(got)
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_array_equal(_np(got), _np(want))
        return
    assert type(got) is type(want), (type(got), type(want))
    if isinstance(want, dict):
        assert list(got) == list(want)
        for k in want:
            _same(got[k], want[k])
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for a, b in zip(got, want):
            _same(a, b)
    else:
        assert got == want


# ---------------------------------------------------------------- samplers

@pytest.mark.parametrize("n", [0, 1, 7, 64])
@pytest.mark.parametrize("bs", [1, 3, 8])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sequential_batch_sampler_equal_torch(n, bs, drop_last):
    got = cd.BatchSampler(cd.SequentialSampler(range(n)), bs, drop_last)
    want = td.BatchSampler(td.SequentialSampler(range(n)), bs, drop_last)
    assert list(got) == list(want)
    assert len(got) == len(want)
    assert list(cd.SequentialSampler(range(n))) == list(td.SequentialSampler(range(n)))


def test_sampler_errors_equal_torch():
    same_errors(td, cd, [lambda m: m.BatchSampler(range(3), 0, False),
                         lambda m: m.BatchSampler(range(3), 2, 1),
                         lambda m: m.RandomSampler(range(3), num_samples=0),
                         lambda m: m.WeightedRandomSampler([1.0, 2.0], 0),
                         lambda m: m.WeightedRandomSampler([1.0, 2.0], 2, replacement=1),
                         lambda m: m.WeightedRandomSampler([[1.0, 2.0]], 2)], ValueError)
    same_errors(td, cd, [lambda m: m.RandomSampler(range(3), replacement=1)], TypeError)


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (9, 3, False), (2, 5, False),
                                                  (7, 2, True), (1, 4, False)])
def test_distributed_sampler_equal_torch(n, replicas, drop_last):
    for rank in range(replicas):
        got = cd.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        want = td.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(got) == list(want) and len(got) == len(want)


def test_distributed_sampler_shuffle_and_errors():
    n, r = 23, 4
    shares = [list(cd.DistributedSampler(range(n), r, k, seed=5)) for k in range(r)]
    flat = [i for s in shares for i in s]
    assert all(len(s) == 6 for s in shares) and sorted(set(flat)) == list(range(n)) and len(flat) == 24
    again = [list(cd.DistributedSampler(range(n), r, k, seed=5)) for k in range(r)]
    assert again == shares
    s = cd.DistributedSampler(range(n), r, 0, seed=5)
    s.set_epoch(1)
    assert list(s) != shares[0]
    same_errors(td, cd, [lambda m: m.DistributedSampler(range(5)),
                         lambda m: m.DistributedSampler(range(5), num_replicas=2),
                         lambda m: m.DistributedSampler(range(5), 2, 2),
                         lambda m: m.DistributedSampler(range(5), 2, -1)], ValueError)


def test_random_sampler_properties():
    n = 50
    assert sorted(cd.RandomSampler(range(n))) == list(range(n))
    a = list(cd.RandomSampler(range(n), generator=ct.Generator().manual_seed(3)))
    b = list(cd.RandomSampler(range(n), generator=ct.Generator().manual_seed(3)))
    c = list(cd.RandomSampler(range(n), generator=ct.Generator().manual_seed(4)))
    assert a == b and a != c and sorted(a) == list(range(n))
    long = list(cd.RandomSampler(range(n), num_samples=120))
    assert len(long) == 120 and sorted(long[:50]) == sorted(long[50:100]) == list(range(n))
    assert len(set(long[100:])) == 20
    rep = list(cd.RandomSampler(range(5), replacement=True, num_samples=1000))
    assert len(rep) == 1000 and set(rep) == set(range(5))
    counts = np.bincount(rep, minlength=5)
    assert counts.min() > 140                   # ~200 each
    assert len(cd.RandomSampler(range(n), num_samples=7)) == 7
    sub = list(cd.SubsetRandomSampler([10, 20, 30, 40]))
    assert sorted(sub) == [10, 20, 30, 40]


def test_weighted_random_sampler():
    w = [0.0, 1.0, 3.0, 0.0]
    s = cd.WeightedRandomSampler(w, 4000, generator=ct.Generator().manual_seed(0))
    got = list(s)
    counts = np.bincount(got, minlength=4)
    assert counts[0] == counts[3] == 0 and 0.2 < counts[1] / 4000 < 0.3
    norep = list(cd.WeightedRandomSampler([1, 1, 1, 1, 1], 5, replacement=False))
    assert sorted(norep) == [0, 1, 2, 3, 4]
    assert str(s.weights.dtype) in ("cltensor.float64", "cltensor.float32")


# ---------------------------------------------------------------- datasets

def test_datasets():
    x, y = ct.arange(12).reshape(6, 2), ct.arange(6)
    ds = cd.TensorDataset(x, y)
    assert len(ds) == 6 and ds[2][0].tolist() == [4, 5] and ds[-1][1].item() == 5
    same_errors(td, cd, [lambda m: m.TensorDataset(*([torch.zeros(3), torch.zeros(4)] if m is td
                                                      else [ct.zeros(3), ct.zeros(4)]))], AssertionError)
    parts = [[0, 1, 2], [3], [4, 5]]
    got, want = cd.ConcatDataset(parts), td.ConcatDataset(parts)
    assert [got[i] for i in range(-6, 6)] == [want[i] for i in range(-6, 6)]
    assert got.cumulative_sizes == want.cumulative_sizes and len(got) == len(want)
    same_errors(td, cd, [lambda m: m.ConcatDataset(parts)[-7]], ValueError)
    same_errors(td, cd, [lambda m: m.ConcatDataset([])], AssertionError)
    sub = cd.Subset(list("abcdef"), [5, 0, 3])
    assert [sub[i] for i in range(3)] == ["f", "a", "d"] and sub.__getitems__([2, 0]) == ["d", "f"]
    st, stt = cd.StackDataset([1, 2], ["a", "b"]), td.StackDataset([1, 2], ["a", "b"])
    assert st[1] == stt[1] and st.__getitems__([1, 0]) == stt.__getitems__([1, 0])
    sk, skt = cd.StackDataset(p=[1, 2], q=[3, 4]), td.StackDataset(p=[1, 2], q=[3, 4])
    assert sk[0] == skt[0] and sk.__getitems__([0, 1]) == skt.__getitems__([0, 1])
    same_errors(td, cd, [lambda m: m.StackDataset([1], [1, 2]), lambda m: m.StackDataset(),
                         lambda m: m.StackDataset([1], p=[1])], ValueError)

    class It(cd.IterableDataset):
        def __init__(self, a):
            self.a = a

        def __iter__(self):
            return iter(self.a)

        def __len__(self):
            return len(self.a)
    ch = cd.ChainDataset([It([1, 2]), It([3])])
    assert list(ch) == [1, 2, 3] and len(ch) == 3
    assert list(It([1]) + It([2])) == [1, 2]
    assert isinstance(cd.Subset([1], [0]) + cd.Subset([2], [0]), cd.ConcatDataset)


def test_generic_subclassing_like_torch():
    class DS(cd.Dataset[tuple]):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return i

    class S(cd.Sampler[int]):
        def __iter__(self):
            return iter([2, 0])

        def __len__(self):
            return 2
    assert [b.tolist() for b in cd.DataLoader(DS(), sampler=S())] == [[2], [0]]


def test_random_split():
    for lengths in ([3, 7], [0.3, 0.7], [0.25, 0.25, 0.5], [0.33, 0.33, 0.34], [10, 0]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = cd.random_split(range(10), lengths, generator=ct.Generator().manual_seed(1))
            want = td.random_split(range(10), lengths, generator=torch.Generator().manual_seed(1))
        assert [len(s) for s in got] == [len(s) for s in want]
        flat = [i for s in got for i in s]
        assert sorted(flat) == list(range(10))
    a = cd.random_split(range(10), [5, 5], generator=ct.Generator().manual_seed(1))
    b = cd.random_split(range(10), [5, 5], generator=ct.Generator().manual_seed(1))
    assert list(a[0]) == list(b[0])
    same_errors(td, cd, [lambda m: m.random_split(range(10), [3, 3]),
                         lambda m: m.random_split(range(10), [1.5, -0.5])], ValueError)
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        cd.random_split(range(2), [1.0, 0.0])


# ---------------------------------------------------------------- collation

Point = collections.namedtuple("Point", ["x", "y"])


def _collate_cases(m):
    tens = (lambda a: torch.tensor(a)) if m is td else (lambda a: ct.tensor(a))
    return [
        [0, 1, 2], [1.5, 2.5], [True, False], ["a", "b"], [b"a", b"b"],
        [np.arange(3, dtype=np.float32), np.ones(3, np.float32)],
        [np.arange(4, dtype=np.int16).reshape(2, 2)] * 2,
        [np.array([1, 2], np.uint8), np.array([3, 4], np.uint8)],
        [np.float64(1.5), np.float64(2.0)], [np.int32(3), np.int32(4)], [np.bool_(True), np.bool_(False)],
        [{"a": 1, "b": 2.0}, {"a": 3, "b": 4.0}],
        [Point(1, 2.0), Point(3, 4.0)], [(1, "x"), (2, "y")], [[1, 2], [3, 4]],
        [{"t": tens([1.0, 2.0]), "n": [np.zeros(2), 3]}, {"t": tens([3.0, 4.0]), "n": [np.ones(2), 5]}],
        [tens([[1, 2]]), tens([[3, 4]])], [tens(1.5), tens(2.5)], [tens([True]), tens([False])],
    ]


def test_default_collate_equals_torch():
    for got_in, want_in in zip(_collate_cases(cd), _collate_cases(td)):
        _same(cd.default_collate(got_in), td.default_collate(want_in))


def test_default_convert_equals_torch():
    cases = lambda: [np.arange(3), np.float32(2), [np.zeros(2), "s"], {"a": np.ones(2)}, Point(np.int64(1), 2),
                     (np.zeros(1),), 3, "x", np.array(["a", "b"])]
    for a, b in zip(cases(), cases()):
        g, w = cd.default_convert(a), td.default_convert(b)
        if isinstance(w, np.ndarray):
            assert isinstance(g, np.ndarray) and (g == w).all()
        else:
            _same(g, w)


def test_default_collate_errors_equal_torch():
    same_errors(td, cd, [lambda m: m.default_collate([object(), object()]),
                         lambda m: m.default_collate([np.array(["a"]), np.array(["b"])]),
                         lambda m: m.default_collate([None, None])], TypeError)
    same_errors(td, cd, [lambda m: m.default_collate([[1, 2], [3]])], RuntimeError)
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        cd.default_collate([ct.zeros(2), ct.zeros(3)])


# ---------------------------------------------------------------- DataLoader: arguments, length, batches

def test_dataloader_argument_errors_equal_torch():
    ds = list(range(10))

    class It(td.IterableDataset if True else object):
        def __iter__(self):
            return iter(range(3))

    class CIt(cd.IterableDataset):
        def __iter__(self):
            return iter(range(3))
    it = lambda m: It() if m is td else CIt()
    same_errors(td, cd, [
        lambda m: m.DataLoader(ds, num_workers=-1),
        lambda m: m.DataLoader(ds, timeout=-1),
        lambda m: m.DataLoader(ds, prefetch_factor=2),
        lambda m: m.DataLoader(ds, num_workers=1, prefetch_factor=-1),
        lambda m: m.DataLoader(ds, persistent_workers=True),
        lambda m: m.DataLoader(ds, batch_sampler=[[0]], batch_size=2),
        lambda m: m.DataLoader(ds, batch_sampler=[[0]], shuffle=True),
        lambda m: m.DataLoader(ds, batch_sampler=[[0]], drop_last=True),
        lambda m: m.DataLoader(ds, sampler=[0, 1], shuffle=True),
        lambda m: m.DataLoader(ds, batch_size=None, drop_last=True),
        lambda m: m.DataLoader(it(m), shuffle=True),
        lambda m: m.DataLoader(ds, multiprocessing_context="fork"),
        lambda m: m.DataLoader(ds, num_workers=1, multiprocessing_context="nope"),
    ], ValueError)
    same_errors(td, cd, [lambda m: m.DataLoader(ds, num_workers=1, multiprocessing_context=3)], TypeError)
    for m in (td, cd):
        dl = m.DataLoader(ds)
        with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is"):
            dl.batch_size = 3


def test_dataloader_len_and_batches_equal_torch():
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10)
    cds = cd.TensorDataset(ct.tensor(x), ct.tensor(y))
    tds = td.TensorDataset(torch.tensor(x), torch.tensor(y))
    for kw in (dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None), dict(batch_size=10),
               dict(batch_sampler=[[3, 1], [0, 9, 9]])):
        got, want = cd.DataLoader(cds, **kw), td.DataLoader(tds, **kw)
        assert len(got) == len(want)
        gl, wl = list(got), list(want)
        assert len(gl) == len(wl)
        for g, w in zip(gl, wl):
            _same(g, w)
    # strided (transposed) tensors are gathered without copies of the dataset
    xt = np.arange(24, dtype=np.float32).reshape(4, 6)
    got = list(cd.DataLoader(cd.TensorDataset(ct.tensor(xt).T), batch_size=4, shuffle=False))
    want = list(td.DataLoader(td.TensorDataset(torch.tensor(xt).T), batch_size=4, shuffle=False))
    for g, w in zip(got, want):
        _same(g, w)
    dicts = [{"a": i, "b": [float(i), np.float32(i)]} for i in range(5)]
    for g, w in zip(cd.DataLoader(dicts, batch_size=2), td.DataLoader(dicts, batch_size=2)):
        _same(g, w)
    # a shuffled epoch is a permutation; the same generator seed gives the same order
    order = lambda seed: [int(v) for b in cd.DataLoader(cds, batch_size=4, shuffle=True,
                                                         generator=ct.Generator().manual_seed(seed)) for v in b[1]]
    assert sorted(order(0)) == list(range(10)) and order(0) == order(0)
    with pytest.raises(IndexError, match="index 10 is out of bounds for dimension 0 with size 10"):
        list(cd.DataLoader(cds, batch_sampler=[[10]]))


def test_iterable_dataset_len_warning_like_torch():
    def run(m):
        class It(m.IterableDataset):
            def __iter__(self):
                return iter(range(14))

            def __len__(self):
                return 5
        ds = It()
        dl = m.DataLoader(ds, batch_size=2)
        n = (len(dl), len(m.DataLoader(It(), batch_size=2, drop_last=True)))
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            out = [b.tolist() for b in dl]
        return n, out, [str(w.message).replace(repr(ds), "DS") for w in rec]
    got, want = run(cd), run(td)
    assert got == want
    assert got[0] == (3, 2) and len(got[2]) == 2 and "but 6 samples have been fetched" in got[2][0]


# ---------------------------------------------------------------- worker processes

class _Info(cd.Dataset):
    """Each sample records which worker made it and that worker's seeds."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        w = cd.get_worker_info()
        return {"i": i, "wid": w.id, "nw": w.num_workers, "seed": w.seed, "pid": os.getpid(),
                "np": float(np.random.rand()), "py": random.random(), "init": _INIT.get("wid", -1),
                "same": w.dataset is not self}


_INIT = {}


def _init_fn(wid):
    _INIT["wid"] = wid


def test_workers_info_init_fn_and_seeding():
    assert cd.get_worker_info() is None
    dl = cd.DataLoader(_Info(), batch_size=2, num_workers=2, worker_init_fn=_init_fn, timeout=60,
                       generator=ct.Generator().manual_seed(7))
    batches = list(dl)
    assert [int(v) for b in batches for v in b["i"]] == list(range(8))
    wids = [int(b["wid"][0]) for b in batches]
    assert wids == [0, 1, 0, 1]                        # round robin, in order
    assert all(int(b["init"][0]) == int(b["wid"][0]) for b in batches)
    assert {int(b["pid"][0]) for b in batches} != {os.getpid()} and len({int(b["pid"][0]) for b in batches}) == 2
    seeds = {int(b["wid"][0]): int(b["seed"][0]) for b in batches}
    assert seeds[1] == seeds[0] + 1                    # base_seed + worker id
    assert not any(bool(v) for b in batches for v in b["same"])
    # numpy is seeded as torch seeds it: np.random.seed(_generate_state(base_seed, worker id))
    base = seeds[0]
    np.random.seed(torch.utils.data._utils.worker._generate_state(base, 1))
    assert float(batches[1]["np"][0]) == np.random.rand()
    random.seed(base + 1)
    assert float(batches[1]["py"][0]) == random.random()
    for b in range(200):
        assert _worker._generate_state(b * 7919 + (b << 40), b % 5) == \
            torch.utils.data._utils.worker._generate_state(b * 7919 + (b << 40), b % 5)


def test_workers_tensor_dataset_equals_single_process():
    x = ct.randn(100, 7)
    y = ct.arange(100)
    ds = cd.TensorDataset(x, y)
    ref = list(cd.DataLoader(ds, batch_size=16))
    got = list(cd.DataLoader(ds, batch_size=16, num_workers=2, timeout=60))
    assert len(got) == len(ref) == 7
    for g, r in zip(got, ref):
        assert isinstance(g, list) and g[0].dtype == ct.float32 and g[1].dtype == ct.int64
        np.testing.assert_array_equal(g[0].cpu().numpy(), r[0].cpu().numpy())
        np.testing.assert_array_equal(g[1].cpu().numpy(), r[1].cpu().numpy())
        assert (g[0] * 2).sum().item() == pytest.approx((r[0] * 2).sum().item(), rel=1e-5)   # runs on the device
    sub = cd.Subset(ds, list(range(99, -1, -3)))
    got = list(cd.DataLoader(sub, batch_size=8, num_workers=2, timeout=60))
    assert [int(v) for b in got for v in b[1]] == list(range(99, -1, -3))


class _NpDataset(cd.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return {"img": np.full((64, 64), i, np.float32), "label": i, "name": f"s{i}", "raw": np.arange(3) + i,
                "t": ct.tensor([i, i]), "w": 0.5}


def test_workers_collate_numpy_samples_like_torch():
    ds = _NpDataset()
    got = list(cd.DataLoader(ds, batch_size=4, num_workers=2, timeout=60))

    class T(td.Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            s = ds[i]
            s["t"] = torch.tensor([i, i])
            return s
    want = list(td.DataLoader(T(), batch_size=4))
    for g, w in zip(got, want):
        _same(g, w)
    # a collate_fn returning numpy arrays keeps them numpy arrays
    raw = list(cd.DataLoader(ds, batch_size=3, num_workers=2, timeout=60,
                             collate_fn=lambda b: np.stack([s["img"] for s in b])))
    assert isinstance(raw[0], np.ndarray) and raw[1].shape == (3, 64, 64) and raw[1][0, 0, 0] == 3


def _twice(batch):
    t = ct.tensor(np.stack([s["img"] for s in batch]))
    return t, t, [np.full(5000, len(batch), np.float32) for _ in range(70)]   # more arrays than shared slots


def test_workers_repeated_and_many_large_results():
    got = list(cd.DataLoader(_NpDataset(), batch_size=2, num_workers=2, collate_fn=_twice, timeout=60))
    for k, (a, b, many) in enumerate(got):
        np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())
        assert a.cpu().numpy()[:, 0, 0].tolist() == [2 * k, 2 * k + 1]
        assert len(many) == 70 and all(m.shape == (5000,) and (m == 2).all() for m in many)


class _Failing(cd.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise ValueError("bad sample 5")
        return i


def test_worker_exception_is_reraised_with_traceback():
    dl = cd.DataLoader(_Failing(), batch_size=2, num_workers=2, timeout=60)
    it = iter(dl)
    assert next(it).tolist() == [0, 1] and next(it).tolist() == [2, 3]
    with pytest.raises(ValueError) as e:
        next(it)
    msg = str(e.value)
    assert msg.startswith("Caught ValueError in DataLoader worker process 0.\nOriginal Traceback")
    assert "bad sample 5" in msg and "in __getitem__" in msg
    del it

    class K(cd.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return {}["missing"]
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process"):
        list(cd.DataLoader(K(), num_workers=1, timeout=60))


def test_device_ops_in_worker_raise_clear_error():
    class Dev(cd.Dataset):
        def __init__(self):
            self.x = ct.randn(4, 3)

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return self.x[i] * 2
    with pytest.raises(RuntimeError, match="DataLoader worker processes do not run OpenCL kernels"):
        list(cd.DataLoader(Dev(), num_workers=1, timeout=60))


class _Killer(cd.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 3 and cd.get_worker_info().id == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return i


def test_killed_worker_raises_not_hangs():
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly: worker 1 "
                                           r"\(pid \d+\): exit code -9 \(killed by signal SIGKILL\)"):
        list(cd.DataLoader(_Killer(), batch_size=2, num_workers=2))
    assert time.monotonic() - t0 < 30


class _Slow(cd.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            time.sleep(30)
        return i


def test_timeout_message_equals_torch():
    dl = cd.DataLoader(_Slow(), batch_size=2, num_workers=1, timeout=1)
    it = iter(dl)
    assert next(it).tolist() == [0, 1]
    t0 = time.monotonic()
    with pytest.raises(RuntimeError) as e:
        next(it)
    assert str(e.value) == "DataLoader timed out after 1 seconds"
    assert time.monotonic() - t0 < 10
    it._shutdown_workers()                 # the worker is asleep in __getitem__: terminated after a grace period
    assert time.monotonic() - t0 < 10 and not any(w.is_alive() for w in it._workers)


def test_early_shutdown_stops_workers():
    ds = cd.TensorDataset(ct.randn(400, 16))
    it = iter(cd.DataLoader(ds, batch_size=4, num_workers=2, timeout=60))
    next(it)
    workers = list(it._workers)
    pids = [w.pid for w in workers]
    del it
    t0 = time.monotonic()
    while any(w.is_alive() for w in workers) and time.monotonic() - t0 < 10:
        time.sleep(0.05)
    assert not any(w.is_alive() for w in workers)
    assert not [n for n in os.listdir("/dev/shm") if any(n.startswith(f"cltensor-dl-{p}-") for p in pids)]


def test_persistent_workers_across_epochs():
    dl = cd.DataLoader(_Info(), batch_size=2, num_workers=2, persistent_workers=True, timeout=60)
    e1 = list(dl)
    pids1 = {int(b["pid"][0]) for b in e1}
    it = iter(dl)
    next(it)                                           # leave the second epoch early
    e3 = list(dl)
    assert {int(b["pid"][0]) for b in e3} == pids1
    assert [int(v) for b in e3 for v in b["i"]] == list(range(8))
    dl._iterator._shutdown_workers()


class _Shards(cd.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        w = cd.get_worker_info()
        if w is None:
            return iter(range(self.n))
        return iter(range(w.id, self.n, w.num_workers))


def test_iterable_dataset_sharding():
    got = [int(v) for b in cd.DataLoader(_Shards(13), batch_size=3, num_workers=2, timeout=60) for v in b]
    assert sorted(got) == list(range(13))
    assert [int(v) for b in cd.DataLoader(_Shards(13), batch_size=3) for v in b] == list(range(13))
    dl = cd.DataLoader(_Shards(13), batch_size=3, num_workers=2, drop_last=True, timeout=60)
    assert all(len(b) == 3 for b in dl)
    plain = list(cd.DataLoader(_Shards(5), batch_size=None, num_workers=2, timeout=60))
    assert sorted(int(v) for v in plain) == list(range(5))


def test_in_order_false_yields_everything():
    got = [int(v) for b in cd.DataLoader(list(range(20)), batch_size=3, num_workers=2, in_order=False, timeout=60)
           for v in b]
    assert sorted(got) == list(range(20))


def _bad_init(wid):
    raise OSError(f"init failed in {wid}")


def test_worker_init_fn_error_pin_memory_prefetch():
    with pytest.raises(OSError, match=r"Caught OSError in DataLoader worker process 0\.\nOriginal Traceback"):
        list(cd.DataLoader(list(range(4)), num_workers=1, worker_init_fn=_bad_init, timeout=60))
    got = [b.tolist() for b in cd.DataLoader(list(range(7)), batch_size=2, num_workers=2, prefetch_factor=1,
                                             pin_memory=True, timeout=60)]
    assert got == [[0, 1], [2, 3], [4, 5], [6]]
    dl = cd.DataLoader(list(range(7)), batch_size=2, pin_memory=True)
    assert [b.tolist() for b in dl] == got


def test_spawn_context():
    ds = cd.TensorDataset(ct.arange(10))
    got = list(cd.DataLoader(ds, batch_size=5, num_workers=1, multiprocessing_context="spawn", timeout=120))
    assert [b[0].tolist() for b in got] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
