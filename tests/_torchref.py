"""Helpers for tests that compare cltensor with PyTorch (the reference, a requirement of the test extra)."""
import pytest


def same_errors(torch, ct, cases, exc=RuntimeError):
    """Each case(m), run with m = torch and m = cltensor, raises `exc` with the same message."""
    for case in cases:
        with pytest.raises(exc) as want:
            case(torch)
        with pytest.raises(exc) as got:
            case(ct)
        assert str(got.value) == str(want.value), (str(got.value), str(want.value))
