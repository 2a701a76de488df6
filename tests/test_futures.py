"""cltensor.futures (torch.futures): completion, chaining, exceptions, collect_all / wait_all."""
import pytest

import cltensor as ct
from cltensor.futures import Future, collect_all, wait_all


def test_set_result_then_and_callbacks():
    f = Future()
    assert not f.done()
    calls = []
    f.add_done_callback(lambda x: calls.append(x.value()))
    g = f.then(lambda x: x.value() + 1).then(lambda x: x.value() * 10)
    f.set_result(4)
    assert f.done() and f.wait() == 4 and f.value() == 4 and calls == [4]
    assert g.done() and g.wait() == 50
    assert f.then(lambda x: "later").wait() == "later"          # then() on a completed future runs at once
    with pytest.raises(RuntimeError, match="only be marked completed once"):
        f.set_result(5)


def test_exceptions_propagate_through_then():
    f = Future()
    g = f.then(lambda x: x.value() + 1)
    f.set_exception(ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        f.wait()
    with pytest.raises(ValueError, match="boom"):
        g.wait()
    h = Future()
    k = h.then(lambda x: 1 / 0)
    h.set_result(1)
    with pytest.raises(ZeroDivisionError):
        k.wait()
    with pytest.raises(TypeError):
        Future().set_exception("not an exception")


def test_wait_on_an_unset_future_raises_instead_of_hanging():
    with pytest.raises(RuntimeError, match="never set"):
        Future().wait()


def test_collect_all_and_wait_all():
    fs = [Future() for _ in range(3)]
    both = collect_all(fs)
    assert not both.done()
    for i, f in enumerate(fs):
        f.set_result(i * i)
    assert both.done() and both.wait() is not None and [f.value() for f in both.wait()] == [0, 1, 4]
    assert wait_all(fs) == [0, 1, 4]
    assert collect_all([]).wait() == []


def test_futures_carry_tensors():
    f = Future()
    f.set_result(ct.ones(3))
    assert f.then(lambda x: x.value() * 2).wait().tolist() == [2.0, 2.0, 2.0]
