"""Tensor core: attributes (shape, size, stride, ndim, numel, dtype, device, contiguity, element_size), Size,
__repr__'s suffix rules (dtype, device, requires_grad, grad_fn) and the compile-once property of kernels."""
import numpy as np
import pytest

import cltensor as ct
from cltensor import _kernels as K


def test_attributes():
    x = ct.zeros(3, 2, 4)
    assert x.shape == (3, 2, 4) and isinstance(x.shape, ct.Size) and x.size() == (3, 2, 4)
    assert x.size(0) == 3 and x.size(-1) == 4 and x.shape[1] == 2
    assert x.ndim == 3 and x.dim() == 3 and x.ndimension() == 3 and len(x) == 3
    assert x.numel() == 24 and x.nelement() == 24 and ct.numel(x) == 24
    assert x.dtype is ct.float32 and x.device == ct.get_default_device()
    assert x.stride() == (8, 4, 1) and x.stride(0) == 8 and x.stride(-1) == 1
    assert x.is_contiguous() and x.element_size() == 4 and x.itemsize == 4 and x.nbytes == 96
    assert ct.zeros(2, dtype=ct.complex64).element_size() == 8 and ct.zeros(2, dtype=ct.bool).element_size() == 1
    assert ct.zeros(2, dtype=ct.float16).element_size() == 2
    assert x.is_floating_point() and not x.is_complex() and ct.is_tensor(x) and not ct.is_tensor(np.zeros(1))
    assert ct.is_floating_point(x) and ct.is_complex(ct.zeros(1, dtype=ct.complex64))
    assert x.storage_offset() == 0 and x[1].storage_offset() == 8
    with pytest.raises(IndexError, match="Dimension out of range \\(expected to be in range of \\[-3, 2\\], but "
                                         "got 3\\)"):
        x.size(3)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(ct.tensor(1.0))
    s = ct.tensor(2.0)
    assert s.shape == () and s.dim() == 0 and s.numel() == 1 and s.stride() == ()


def test_contiguity_and_T():
    x = ct.zeros(3, 2)
    assert not x.T.is_contiguous() and x.T.stride() == (1, 2) and x.T.shape == (2, 3)
    assert x.T.contiguous().stride() == (3, 1) and x.T.contiguous().is_contiguous()
    assert x[:, :1].is_contiguous() is False and x[:1].is_contiguous() and not x[:, 0:1].T.is_contiguous()
    assert x[:1].T.is_contiguous() and ct.zeros(3, 1).T.is_contiguous()   # size-1 dims don't matter
    assert ct.zeros(1, 5)[:, ::2].is_contiguous() is False
    assert ct.zeros(3, 1).expand(3, 4).is_contiguous() is False
    assert ct.tensor(1.0).T.shape == ()


def test_size_object():
    s = ct.zeros(2, 3).shape
    assert repr(s) == "cltensor.Size([2, 3])" and str(s) == "cltensor.Size([2, 3])"
    assert s == (2, 3) and s.numel() == 6 and isinstance(s[:1], ct.Size) and s[-1] == 3
    assert isinstance(s + (4,), ct.Size) and tuple(s + (4,)) == (2, 3, 4)
    assert ct.zeros(s).shape == s


@pytest.mark.parametrize("make, text", [
    (lambda: ct.tensor([1.0, 2.0]), "tensor([1., 2.])"),
    (lambda: ct.tensor([1, 2]), "tensor([1, 2])"),
    (lambda: ct.tensor([1, 2], dtype=ct.int32), "tensor([1, 2], dtype=cltensor.int32)"),
    (lambda: ct.tensor([True]), "tensor([True])"),
    (lambda: ct.tensor([1 + 2j]), "tensor([1.+2.j])"),
    (lambda: ct.tensor([1 + 2j], dtype=ct.complex128), "tensor([1.+2.j], dtype=cltensor.complex128)"),
    (lambda: ct.tensor([1.5], dtype=ct.float16), "tensor([1.5000], dtype=cltensor.float16)"),
    (lambda: ct.zeros(0), "tensor([])"),
    (lambda: ct.zeros(0, 3), "tensor([], size=(0, 3))"),
    (lambda: ct.zeros(0, dtype=ct.int64), "tensor([], dtype=cltensor.int64)"),
    (lambda: ct.tensor(3.5, requires_grad=True), "tensor(3.5000, requires_grad=True)"),
    (lambda: ct.tensor([1.0, 2.0], requires_grad=True) * 2, "tensor([2., 4.], grad_fn=<MulBackward0>)"),
    (lambda: ct.tensor([1.0, 2.0], requires_grad=True).detach(), "tensor([1., 2.])"),
    (lambda: ct.tensor([[1, 2], [3, 4]], dtype=ct.uint8).T, "tensor([[1, 3],\n        [2, 4]], dtype=cltensor.uint8)"),
])
def test_repr_suffixes(make, text):
    assert repr(make()) == text and str(make()) == text


def test_repr_follows_default_dtype():
    try:
        ct.set_default_dtype(ct.float64)
        assert repr(ct.tensor([1.0, 2.0])) == "tensor([1., 2.])"
        assert repr(ct.tensor([1.0], dtype=ct.float32)) == "tensor([1.], dtype=cltensor.float32)"
        assert repr(ct.tensor([1j])) == "tensor([0.+1.j])"
        assert repr(ct.tensor([1j], dtype=ct.complex64)) == "tensor([0.+1.j], dtype=cltensor.complex64)"
    finally:
        ct.set_default_dtype(ct.float32)


def test_repr_device_suffix_on_non_default_device():
    d0 = ct.get_default_device()
    t = ct.ones(2)
    assert "device=" not in repr(t)
    other = ct.device("gpu", 0) if d0.type == "cpu" else ct.device("cpu")
    try:                                   # a tensor on a device other than the default shows device='...'
        ct.set_default_device(other)
        assert repr(t) == f"tensor([1., 1.], device='{d0}')"
    finally:
        ct.set_default_device(d0)


def test_no_recompile_for_new_sizes():
    """Kernels are built per (op, dtypes, layout), never per size."""
    def work(n):
        a, b = ct.ones(n), ct.ones(n, dtype=ct.int32)
        (a + b).tolist(), (a.view(-1, 1).expand(n, 3) * a[:3]).tolist(), (a * 2).exp().tolist()
        ct.tensor(np.ones((n, 4), np.float32)).T.sqrt().tolist()
        ct.zeros(n).tolist(), ct.full((n,), 2.0).tolist(), ct.arange(n).tolist(), ct.rand(n).tolist()
        ct.linspace(0, 1, n).tolist(), ct.randn(n).tolist()
    for n in (10, 37):
        work(n)
    builds = K.stats["builds"]
    for n in (3, 7, 8, 9, 1000, 1001, 4097, 100_003):
        work(n)
    assert K.stats["builds"] == builds


def test_ops_are_asynchronous(monkeypatch):
    """Elementwise ops enqueue without waiting (the sync happens when the host reads)."""
    import pyopencl as cl
    calls = []
    orig = cl.CommandQueue.finish
    monkeypatch.setattr(cl.CommandQueue, "finish", lambda q: (calls.append(1), orig(q))[1])
    x = ct.ones(100)
    for _ in range(5):
        x = (x * 2 + 1).exp().clamp(max=3.0)
    x.add_(1)
    x.view(10, 10).T.sub_(ct.ones(1), alpha=2)
    assert not calls
    assert x[0].item() == 2.0
    assert calls
