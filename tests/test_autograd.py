"""Autograd engine: requires_grad / leaves / grad_fn names, backward and autograd.grad, grad modes, in-place
checks and writes through views, broadcasting, hooks, higher-order gradients, custom Functions, functional API,
memory (graphs freed, no reference cycles). Expected values come from numpy formulas; torch is optional."""
import gc
import threading
import weakref

import numpy as np
import pytest

import cltensor as ct
from cltensor import autograd
from cltensor._device import runtime
from _host import host

F64 = ct.float64


def leaf(a, dtype=F64):
    return ct.tensor(np.asarray(a, dtype=np.float64), dtype=dtype, requires_grad=True)


def npy(t):
    return t.detach()._to_numpy_copy() if isinstance(t, ct.Tensor) else np.asarray(t)


def close(t, expected, tol=1e-10):
    np.testing.assert_allclose(npy(t), expected, rtol=tol, atol=tol)


RNG = np.random.default_rng(0)
A = RNG.standard_normal((2, 3))
B = RNG.standard_normal((3,))


# ---------------------------------------------------------------- requires_grad, leaves, grad_fn
def test_requires_grad_flags():
    x = ct.tensor([1.0, 2.0])
    assert not x.requires_grad and x.is_leaf and x.grad is None and x.grad_fn is None
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad = False
    assert not x.requires_grad
    y = ct.ones(2, requires_grad=True)
    assert y.requires_grad and y.is_leaf and y.grad_fn is None
    z = y * 2
    assert z.requires_grad and not z.is_leaf and z.grad_fn is not None
    assert ct.zeros(2, requires_grad=True, dtype=ct.complex64).requires_grad
    for make in (lambda: ct.tensor([1, 2], requires_grad=True), lambda: ct.ones(2, dtype=ct.int32).requires_grad_(),
                 lambda: setattr(ct.tensor([True]), "requires_grad", True)):
        with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype can require"):
            make()
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        z.requires_grad = False
    z.requires_grad_(True)   # no-op on a non-leaf
    assert (z > 0).requires_grad is False and (z > 0).grad_fn is None


@pytest.mark.fp64
def test_grad_fn_names_and_next_functions():
    x, w = leaf(A), leaf(B)
    names = {
        "AddBackward0": x + w, "SubBackward0": x - w, "MulBackward0": x * w, "DivBackward0": x / w,
        "PowBackward0": x ** 2, "PowBackward1": x ** x, "PowBackward2": 2 ** x, "NegBackward0": -x,
        "ExpBackward0": x.exp(), "TanhBackward0": x.tanh(), "SigmoidBackward0": x.sigmoid(),
        "SinBackward0": x.sin(), "ReluBackward0": x.relu(), "AbsBackward0": x.abs(), "CloneBackward0": x.clone(),
        "ViewBackward0": x.view(6), "TBackward0" if False else "TransposeBackward0": x.t(),
        "SelectBackward0": x[0], "SliceBackward0": x[:, 1:], "ExpandBackward0": w.expand(2, 3),
        "PermuteBackward0": x.permute(1, 0), "UnsqueezeBackward0": x.unsqueeze(0),
        "MaximumBackward0": ct.maximum(x, w), "WhereBackward0": ct.where(x > 0, x, w),
        "ToCopyBackward0": x.float(), "ClampBackward1": x.clamp(0, 1),
    }
    for name, t in names.items():
        assert type(t.grad_fn).__name__ == name, (name, t.grad_fn)
        assert t.grad_fn.name() == name
        assert repr(t.grad_fn).startswith(f"<{name} object at 0x")
    y = x * w
    (n0, i0), (n1, i1) = y.grad_fn.next_functions
    assert type(n0).__name__ == "AccumulateGrad" and n0.variable is x and i0 == 0
    assert n1.variable is w
    assert (x * 2).grad_fn.next_functions[1] == (None, 0)
    z = (x * w).exp()
    assert z.grad_fn.next_functions[0][0] is z.grad_fn.next_functions[0][0]
    assert isinstance(z.grad_fn, autograd.graph.Node)
    assert "grad_fn=<ExpBackward0>" in repr(z)
    assert "requires_grad=True" in repr(x)


# ---------------------------------------------------------------- backward
@pytest.mark.fp64
def test_backward_scalar_matches_numpy():
    x, w = leaf(A), leaf(B)
    y = (x * w).tanh()
    z = (y ** 3 + x.sin() / (w + 1)).sum()
    z.backward()
    t = np.tanh(A * B)
    dy = 3 * t ** 2 * (1 - t ** 2)
    close(x.grad, dy * B + np.cos(A) / (B + 1))
    close(w.grad, (dy * A).sum(0) - (np.sin(A) / (B + 1) ** 2).sum(0))
    assert x.grad.shape == x.shape and w.grad.shape == w.shape and x.grad.dtype == F64
    assert not x.grad.requires_grad and x.grad.grad_fn is None


@pytest.mark.fp64
def test_backward_nonscalar_and_errors():
    x = leaf(A)
    y = x * x
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        y.backward()
    v = ct.tensor(RNG.standard_normal((2, 3)), dtype=F64)
    y.backward(v)
    close(x.grad, 2 * A * npy(v))
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(ct.ones(3, dtype=F64))
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have a grad_fn"):
        ct.ones(2).sum().backward()
    y = (x * 1).sum()
    y.backward(ct.tensor(2.0, dtype=F64))   # a 0-d gradient for a scalar output


@pytest.mark.fp64
def test_grad_accumulates_and_retain_graph():
    x = leaf(A)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    close(x.grad, 4 * A)
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()
    # a graph whose nodes saved nothing can be walked again (as in PyTorch)
    x.grad = None
    s = (x + 1).sum()
    s.backward()
    s.backward()
    close(x.grad, np.full((2, 3), 2.0))
    # the leaf keeps its own .grad tensor (no aliasing of the user's gradient)
    x.grad = None
    v = ct.ones(2, 3, dtype=F64)
    x.backward(v)
    x.grad.add_(1)
    close(v, np.ones((2, 3)))
    w = leaf(B)
    x.grad = None
    (x + w).backward(v)
    x.grad.add_(5)
    close(w.grad, np.full(3, 2.0))
    close(v, np.ones((2, 3)))


@pytest.mark.fp64
def test_leaf_takes_unshared_gradient_without_copy(monkeypatch):
    x, w = leaf(A), leaf(B)
    clones = []
    orig = ct.Tensor.clone
    monkeypatch.setattr(ct.Tensor, "clone", lambda self, *a, **k: clones.append(1) or orig(self, *a, **k))
    (x * w).sum().backward()
    assert clones == []                    # fresh gradients become .grad as they are
    x.grad = w.grad = None
    v = ct.ones(2, 3, dtype=F64)
    (x * 1 + w).backward(v)                # w's gradient is a fresh sum; x's is g * 1 (fresh)
    assert len(clones) == 0
    x.grad = None
    (x + 0).backward(v)                    # AddBackward0 passes the user's v through: copied
    assert len(clones) == 1
    x.grad.add_(1)
    close(v, np.ones((2, 3)))


@pytest.mark.fp64
def test_backward_inputs_argument():
    x, w = leaf(A), leaf(B)
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None
    close(w.grad, A.sum(0))
    h = x * 2
    (h * w).sum().backward(inputs=[h])
    close(h.grad, np.broadcast_to(npy(w), (2, 3)))


@pytest.mark.fp64
def test_autograd_grad():
    x, w = leaf(A), leaf(B)
    y = (x * w).exp()
    gx, = autograd.grad(y.sum(), x, retain_graph=True)
    close(gx, np.exp(A * B) * B)
    assert x.grad is None and w.grad is None
    v = ct.tensor(RNG.standard_normal((2, 3)), dtype=F64)
    gx, gw = autograd.grad(y, (x, w), grad_outputs=v, retain_graph=True)
    close(gw, (np.exp(A * B) * A * npy(v)).sum(0))
    u = leaf([1.0])
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        autograd.grad(y.sum(), [x, u], retain_graph=True)
    gx, gu = autograd.grad(y.sum(), [x, u], allow_unused=True, retain_graph=True)
    assert gu is None
    gx, gu = autograd.grad(y.sum(), [x, u], materialize_grads=True, retain_graph=True)
    close(gu, [0.0])
    with pytest.raises(RuntimeError, match="One of the differentiated Tensors does not require grad"):
        autograd.grad(y.sum(), ct.ones(2))
    # gradient with respect to an intermediate (non-leaf) tensor
    h = x * 3
    g, = autograd.grad((h * h).sum(), h)
    close(g, 2 * 3 * A)


# ---------------------------------------------------------------- grad modes, detach
@pytest.mark.fp64
def test_detach():
    x = leaf(A)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert d.untyped_storage() is y.untyped_storage()
    with ct.no_grad():
        d[0, 0] = 100.0
    assert y[0, 0].item() == 100.0
    z = x * 3
    z.detach_()
    assert not z.requires_grad and z.grad_fn is None
    assert x.data.requires_grad is False


@pytest.mark.fp64
def test_no_grad_enable_grad_set_grad_enabled():
    x = leaf(A)
    with ct.no_grad():
        y = x * 2
        assert not ct.is_grad_enabled()
        with ct.enable_grad():
            z = x * 2
    assert ct.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and z.requires_grad

    @ct.no_grad()
    def f(t):
        return t * 2

    @ct.no_grad
    def g(t):
        return t * 2
    assert not f(x).requires_grad and not g(x).requires_grad and ct.is_grad_enabled()
    ct.set_grad_enabled(False)
    assert not (x * 2).requires_grad
    ct.set_grad_enabled(True)
    with ct.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad

    @ct.set_grad_enabled(False)
    def h(t):
        return t * 2
    assert ct.is_grad_enabled() and not h(x).requires_grad
    with ct.inference_mode():
        assert not (x * 2).requires_grad
    with ct.inference_mode(False):
        assert (x * 2).requires_grad

    @ct.no_grad()
    def gen(t):
        for _ in range(2):
            yield (t * 2).requires_grad
    assert list(gen(x)) == [False, False] and ct.is_grad_enabled()
    # thread-local, like PyTorch
    res = []
    with ct.no_grad():
        th = threading.Thread(target=lambda: res.append(ct.is_grad_enabled()))
        th.start()
        th.join()
    assert res == [True]


@pytest.mark.fp64
def test_detect_anomaly():
    x = leaf([0.0, 1.0])
    with autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan values in its 0th output."):
            (x.sqrt() * 0).sum().backward()
    (x.sqrt() * 0).sum().backward()        # off again: NaN gradients pass silently, as in PyTorch
    assert np.isnan(npy(x.grad)[0])
    assert not autograd.is_anomaly_enabled()


# ---------------------------------------------------------------- in-place
@pytest.mark.fp64
def test_inplace_on_leaf_raises():
    x = leaf(A)
    msg = "a leaf Variable that requires grad is being used in an in-place operation."
    for op in (lambda: x.add_(1), lambda: x.mul_(2), lambda: x.exp_(), lambda: x.fill_(0), lambda: x.zero_(),
               lambda: x.copy_(ct.zeros(2, 3)), lambda: x.__setitem__(0, 1.0), lambda: x.clamp_(0, 1)):
        with pytest.raises(RuntimeError, match=msg):
            op()
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an"):
        x[0].mul_(2)
    with ct.no_grad():
        x.add_(1)
        x[0] = 0.0
    close(x, np.vstack([np.zeros(3), A[1] + 1]))
    assert x.is_leaf and x.requires_grad


@pytest.mark.fp64
def test_saved_tensor_modified_raises():
    x = leaf(A)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation has been modified "
                                           "by an inplace operation: .*is at version 1; expected version 0"):
        y.sum().backward()
    w = leaf(B)
    y = x * w
    with ct.no_grad():
        w.mul_(2)             # an optimizer step between forward and backward
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    # ops whose backward does not read the modified tensor are fine
    x.grad = None
    h = x * 2
    z = h + 1
    h.add_(1)
    z.sum().backward()
    close(x.grad, np.full((2, 3), 2.0))
    assert x._version == 0 and h._version == 1


@pytest.mark.fp64
def test_inplace_values_and_grads():
    x = leaf(A)
    y = x.clone()
    y[0] = 5
    y.sum().backward()
    close(x.grad, [[0, 0, 0], [1, 1, 1]])
    assert type(y.grad_fn).__name__ == "CopySlices"
    x.grad = None
    y = x * 1
    y[:, 1].mul_(2)
    (y * y).sum().backward()
    expected = 2 * A.copy()
    expected[:, 1] *= 4
    close(x.grad, expected)
    x.grad = None
    y = x * 1
    y.mul_(3).exp_()
    assert type(y.grad_fn).__name__ == "ExpBackward0"
    y.sum().backward()
    close(x.grad, 3 * np.exp(3 * A))
    y = x * 1
    y.exp_().mul_(3)      # exp_ saved its result, which mul_ then overwrote (PyTorch raises too)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    x.grad = None
    # writing a tensor that requires grad into a plain buffer makes the buffer part of the graph
    buf = ct.zeros(3, 3, dtype=F64)
    buf[1:].copy_(x * 2)
    assert buf.requires_grad and type(buf.grad_fn).__name__ == "CopySlices"
    x.grad = None
    buf.sum().backward()
    close(x.grad, np.full((2, 3), 2.0))
    x.grad = None
    y = x * 1
    y[1].fill_(3)
    y.t()[0].zero_()
    y.sum().backward()
    close(x.grad, [[0, 1, 1], [0, 0, 0]])


# ---------------------------------------------------------------- broadcasting and dtypes
@pytest.mark.fp64
def test_broadcast_gradients_sum_back():
    a = leaf(RNG.standard_normal((3, 1)))
    b = leaf(RNG.standard_normal((2, 1, 4)))
    c = leaf(2.0)
    (a * b + c).sum().backward()
    close(a.grad, np.full((3, 1), npy(b).sum()))
    close(b.grad, np.broadcast_to(npy(a).sum(), (2, 1, 4)))
    close(c.grad, 24.0)
    assert a.grad.shape == (3, 1) and b.grad.shape == (2, 1, 4) and c.grad.shape == ()


@pytest.mark.fp64
def test_mixed_dtypes_and_complex():
    x = leaf(A, dtype=ct.float32)
    w = leaf(B)
    (x * w).sum().backward()
    assert x.grad.dtype == ct.float32 and w.grad.dtype == F64
    close(x.grad, np.broadcast_to(B, (2, 3)), tol=1e-6)
    z = ct.tensor([1 + 2j, -0.5 + 1j], dtype=ct.complex128, requires_grad=True)
    (z.abs() ** 2).sum().backward()
    close(z.grad, 2 * np.array([1 + 2j, -0.5 + 1j]))
    r = leaf([1.0, 2.0])
    (r * ct.tensor([1j, 2 + 1j], dtype=ct.complex128)).real.sum().backward()
    assert r.grad.dtype == F64
    close(r.grad, [0.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for real scalar outputs"):
        (z * 1)[0].backward()


# ---------------------------------------------------------------- hooks
@pytest.mark.fp64
def test_tensor_hooks():
    x = leaf(A)
    seen = []
    h = x.register_hook(lambda g: seen.append(npy(g)))
    y = x * 2
    hy = y.register_hook(lambda g: g * 10)        # replaces the gradient flowing to y's producer
    y.retain_grad()
    assert y.retains_grad
    (y * y).sum().backward()
    close(y.grad, 40 * A)                         # retain_grad sees the gradient after the tensor's hooks
    close(x.grad, 2 * 10 * 4 * A)
    close(seen[0], 80 * A)
    h.remove()
    hy.remove()
    x.grad = None
    y = x * 2
    (y * y).sum().backward()
    assert len(seen) == 1
    close(x.grad, 8 * A)
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        ct.ones(2).register_hook(lambda g: g)
    # leaf hook replacing the gradient
    x.grad = None
    x.register_hook(lambda g: g * 0 + 1)
    (x * 5).sum().backward()
    close(x.grad, np.ones((2, 3)))


@pytest.mark.fp64
def test_node_hooks():
    x = leaf(A)
    y = x.exp()
    calls = []
    h1 = y.grad_fn.register_prehook(lambda gouts: calls.append(("pre", len(gouts))))
    h2 = y.grad_fn.register_hook(lambda gins, gouts: (gins[0] * 2,))
    y.sum().backward(retain_graph=True)
    close(x.grad, 2 * np.exp(A))
    assert calls == [("pre", 1)]
    h1.remove()
    h2.remove()
    x.grad = None
    y.sum().backward()
    close(x.grad, np.exp(A))
    # hooks on a leaf's AccumulateGrad node
    x.grad = None
    acc = (x * 2).grad_fn.next_functions[0][0]
    seen = []
    acc.register_prehook(lambda gouts: (gouts[0] * 10,))
    acc.register_hook(lambda gins, gouts: seen.append(gins))
    (x * 2).sum().backward()
    close(x.grad, np.full((2, 3), 20.0))
    assert seen == [()]


@pytest.mark.fp64
def test_retain_grad_accumulates():
    x = leaf(A)
    y = x * 2
    y.retain_grad()
    z = (y * 3).sum()
    z.backward(retain_graph=True)
    z.backward()
    close(y.grad, np.full((2, 3), 6.0))
    x.retain_grad()        # no-op on a leaf


# ---------------------------------------------------------------- higher order
@pytest.mark.fp64
def test_second_derivatives():
    x = leaf([0.5, -1.0, 2.0])
    xv = npy(x)
    for f, d1, d2 in ((lambda t: t ** 3, 3 * xv ** 2, 6 * xv),
                      (lambda t: t.sin(), np.cos(xv), -np.sin(xv)),
                      (lambda t: t.tanh(), 1 - np.tanh(xv) ** 2, -2 * np.tanh(xv) * (1 - np.tanh(xv) ** 2)),
                      (lambda t: t.exp() * t, np.exp(xv) * (1 + xv), np.exp(xv) * (2 + xv)),
                      (lambda t: t.sigmoid(), None, None)):
        y = f(x).sum()
        g, = autograd.grad(y, x, create_graph=True)
        assert g.requires_grad
        if d1 is not None:
            close(g, d1)
        g2, = autograd.grad(g.sum(), x)
        if d2 is not None:
            close(g2, d2)
    # third derivative of x**3 through backward(create_graph=True)
    x.grad = None
    (x ** 3).sum().backward(create_graph=True)
    g1 = x.grad
    assert g1.requires_grad
    g2, = autograd.grad(g1.sum(), x, create_graph=True)
    g3, = autograd.grad(g2.sum(), x)
    close(g3, np.full(3, 6.0))


@pytest.mark.fp64
def test_gradient_penalty():
    w = leaf(B)
    x = leaf(A)
    out = (x * w).tanh().sum()
    gx, = autograd.grad(out, x, create_graph=True)
    penalty = (gx * gx).sum()
    penalty.backward()
    t = np.tanh(A * B)
    s = 1 - t ** 2          # d out / dx = w * s;  penalty = sum(w^2 s^2)
    ds = -2 * t * s         # ds/dz
    dw = (2 * B * s ** 2 + B ** 2 * 2 * s * ds * A).sum(0)
    close(w.grad, dw, tol=1e-9)


@pytest.mark.fp64
def test_gradgradcheck_composite():
    x, w = leaf(A), leaf(B)
    assert autograd.gradgradcheck(lambda a, b: (a * b).tanh() * a.exp() / (b * b + 1), (x, w))


@pytest.mark.fp64
def test_matmul_gradients():
    if not hasattr(ct, "matmul"):
        pytest.skip("cltensor.matmul not available yet")
    a, b = leaf(RNG.standard_normal((3, 4))), leaf(RNG.standard_normal((4, 2)))
    y = ct.matmul(a, b)
    assert type(y.grad_fn).__name__ == "MmBackward0"
    y.backward(ct.ones(3, 2, dtype=F64))
    close(a.grad, np.ones((3, 2)) @ npy(b).T)
    close(b.grad, npy(a).T @ np.ones((3, 2)))
    assert autograd.gradcheck(ct.matmul, (a, b))
    assert autograd.gradgradcheck(lambda p, q: (p @ q).tanh(), (a, b))


# ---------------------------------------------------------------- autograd.Function
class MyExp(autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * y


class ScaleShift(autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, shift):
        ctx.scale = scale
        ctx.save_for_backward(x)
        return x * scale + shift, (x > 0).to(ct.int64)

    @staticmethod
    def backward(ctx, g, gi):
        x, = ctx.saved_tensors
        assert ctx.needs_input_grad == (True, False, True)
        return g * ctx.scale, None, g


class Lin(autograd.Function):
    @staticmethod
    def forward(x, w):
        return x * w

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g * w, g * x


@pytest.mark.fp64
def test_custom_function():
    x = leaf(A)
    y = MyExp.apply(x)
    assert type(y.grad_fn).__name__ == "MyExpBackward" and y.requires_grad
    close(y, np.exp(A))
    y.sum().backward()
    close(x.grad, np.exp(A))
    # double backward through the saved output
    x.grad = None
    g, = autograd.grad(MyExp.apply(x).sum(), x, create_graph=True)
    g.sum().backward()
    close(x.grad, np.exp(A))
    assert autograd.gradcheck(MyExp.apply, (leaf(B),))
    # several outputs, non-tensor args, a non-differentiable output
    sh = leaf(B)
    out, mask = ScaleShift.apply(x, 3.0, sh)
    assert mask.dtype == ct.int64 and not mask.requires_grad
    x.grad = None
    out.sum().backward()
    close(x.grad, np.full((2, 3), 3.0))
    close(sh.grad, np.full(3, 2.0))
    w = leaf(B)
    assert autograd.gradcheck(Lin.apply, (leaf(A), w))
    with ct.no_grad():
        assert MyExp.apply(x).grad_fn is None


@pytest.mark.fp64
def test_custom_function_errors_and_version_check():
    class Bad(autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g

    x = leaf(A)
    with pytest.raises(RuntimeError, match="returned an incorrect number of gradients \\(expected 2, got 1\\)"):
        Bad.apply(x, x).sum().backward()

    class Save(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        @autograd.once_differentiable
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 2

    h = x * 1
    y = Save.apply(h)
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


class MulInplace(autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        x.mul_(k)
        ctx.mark_dirty(x)
        ctx.k = k
        return x

    @staticmethod
    def backward(ctx, g):
        return g * ctx.k, None


@pytest.mark.fp64
def test_custom_function_mark_dirty():
    x = leaf([1.0, 2.0])
    y = x * 1
    z = MulInplace.apply(y, 3.0)
    assert z is y and type(y.grad_fn).__name__ == "MulInplaceBackward"
    (z * z).sum().backward()
    close(x.grad, [18.0, 36.0])
    x.grad = None
    v = x * 1
    MulInplace.apply(v[0:1], 2.0)           # in place into a view: the base is rebased (CopySlices)
    v.sum().backward()
    close(x.grad, [2.0, 1.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        MulInplace.apply(x, 2.0)


# ---------------------------------------------------------------- functional
@pytest.mark.fp64
def test_functional():
    from cltensor.autograd import functional as AF
    x = ct.tensor(A[0], dtype=F64)
    J = AF.jacobian(lambda t: t.sin() * t, x)
    close(J, np.diag(np.cos(A[0]) * A[0] + np.sin(A[0])))
    H = AF.hessian(lambda t: (t ** 3).sum(), x)
    close(H, np.diag(6 * A[0]))
    v = ct.tensor(B, dtype=F64)
    out, vj = AF.vjp(lambda t: t.exp(), x, v)
    close(vj, np.exp(A[0]) * B)
    out, jv = AF.jvp(lambda t: t.exp() * 2, x, v)
    close(jv, 2 * np.exp(A[0]) * B)
    out, hv = AF.hvp(lambda t: (t ** 3).sum(), x, v)
    close(hv, 6 * A[0] * B)
    assert not out.requires_grad


# ---------------------------------------------------------------- memory: graphs are freed, no cycles
def _model_step(x, w, b):
    mm = getattr(ct, "matmul", None)
    h = mm(x, w) if mm is not None else x * w
    loss = ((h + b).tanh() ** 2).sum()
    loss.backward()
    with ct.no_grad():
        w.sub_(w.grad * 0.01)
        b.sub_(b.grad * 0.01)
    w.grad = None
    b.grad = None


def test_training_loop_memory_is_flat_without_gc():
    rt = runtime(ct.get_default_device())
    x = ct.randn(8, 4)
    w = ct.randn(4, 4, requires_grad=True) if hasattr(ct, "matmul") else ct.randn(8, 4, requires_grad=True)
    b = ct.zeros(4, requires_grad=True)
    for _ in range(10):
        _model_step(x, w, b)
    gc.collect()
    gc.disable()
    try:
        before = rt.memory_stats()["allocated_bytes"]
        allocs = rt.memory_stats()["num_device_allocs"]
        for _ in range(1000):
            _model_step(x, w, b)
        after = rt.memory_stats()
        found = gc.collect()
    finally:
        gc.enable()
    assert after["allocated_bytes"] == before
    assert after["num_device_allocs"] == allocs       # the pool is reused: no new device buffers
    assert found == 0, f"{found} objects were kept alive by reference cycles"


@pytest.mark.fp64
def test_graph_freed_and_no_cycles():
    x = leaf(A)
    gc.collect()
    gc.disable()
    try:
        y = (x * 2).exp()
        z = y.tanh() * y
        node, mid = weakref.ref(z.grad_fn), weakref.ref(y)
        st = weakref.ref(y.untyped_storage())
        del y
        assert mid() is not None      # kept by the graph (saved by TanhBackward0 / MulBackward0)
        z.sum().backward()
        del z
        assert node() is None and mid() is None and st() is None
        # a forward without backward is freed as soon as the outputs go
        y = x.sigmoid() * x.exp()
        r = weakref.ref(y.grad_fn)
        del y
        assert r() is None
        # and so are the gradients of a create_graph=False autograd.grad
        g, = autograd.grad((x ** 3).sum(), x)
        assert g.grad_fn is None
        assert gc.collect() == 0
    finally:
        gc.enable()


@pytest.mark.fp64
def test_no_cycles_through_other_modules():
    """Ops of every module (reductions, matmul, indexing, nn...) must not make output <-> node cycles."""
    x = ct.tensor(RNG.standard_normal((4, 5)), dtype=F64, requires_grad=True)
    idx = ct.tensor(np.array([0, 2]))
    cands = [lambda: x.sum(), lambda: x.sum(1), lambda: x.mean(), lambda: x.prod(), lambda: x.max(),
             lambda: x.max(1)[0], lambda: x.var(), lambda: x.std(1), lambda: x.norm(), lambda: x.logsumexp(1),
             lambda: x.softmax(1), lambda: x.log_softmax(1), lambda: x.cumsum(1), lambda: x.sort(1)[0],
             lambda: x @ x.t(), lambda: ct.cat([x, x]), lambda: ct.stack([x, x]), lambda: x[idx],
             lambda: x[x > 0], lambda: x.flip(0), lambda: x.tril(), lambda: (x * 1).exp_()]
    gc.collect()
    gc.disable()
    try:
        for f in cands:
            try:
                f()
            except (AttributeError, NotImplementedError, TypeError):
                continue                   # not available (yet)
            gc.collect()
            y = f()
            del y
            assert gc.collect() == 0, f
    finally:
        gc.enable()


# ---------------------------------------------------------------- optional: against torch
@pytest.mark.fp64
def test_against_torch():
    import torch
    a, b = RNG.standard_normal((3, 4)), RNG.uniform(0.5, 2, (4,))
    exprs = [
        lambda L, x, w: ((x * w).sigmoid() * x.cos() - w.log() / (x * x + 1)).sum(),
        lambda L, x, w: (L.maximum(x, w) + L.clamp(x, -0.5, 0.5) * w.sqrt()).sum(),
        lambda L, x, w: (x.abs() ** 1.5 + x.atan2(w) - (x / w).floor()).sum(),
        lambda L, x, w: ((x[1:, ::2] * w[:2]).exp().t().reshape(-1) ** 2).sum(),
        lambda L, x, w: (L.where(x > 0, x, w) * x.relu()).sum(),
    ]
    for e in exprs:
        x, w = leaf(a), leaf(b)
        tx = torch.tensor(a, requires_grad=True)
        tw = torch.tensor(b, requires_grad=True)
        e(ct, x, w).backward()
        e(torch, tx, tw).backward()
        close(x.grad, host(tx.grad), tol=1e-9)
        close(w.grad, host(tw.grad), tol=1e-9)


def test_detach_inplace_on_a_view_raises_and_pow_inplace_node_names():
    import cltensor as ct
    import pytest
    with pytest.raises(RuntimeError, match="Can't detach views in-place"):
        ct.ones(4)[:2].detach_()
    a = ct.ones(3)
    assert a.detach_() is a
    z = ct.ones(3, requires_grad=True) * 1
    z.pow_(ct.tensor(2.0))
    assert type(z.grad_fn).__name__ == "PowBackward1"
    z = ct.ones(3, requires_grad=True) * 1
    z.pow_(2)
    assert type(z.grad_fn).__name__ == "PowBackward0"


# ---------------------------------------------------------------- table rules state what they save
def _rule_combos(op_, dtype):
    """Operand lists for a table rule: all tensors, then each position as a Python scalar."""
    rng = np.random.default_rng(len(op_.name))
    n = op_.nargs

    def t(i):
        v = rng.uniform(0.3, 0.9, 3) + 0.1 * i
        if dtype is ct.complex128:
            v = v + 1j * rng.uniform(0.2, 0.6, 3)
        return ct.tensor(v, dtype=dtype, requires_grad=True)
    combos = [[t(i) for i in range(n)]]
    for k in range(n):
        c = [t(i) for i in range(n)]
        c[k] = 0.25 + 0.125 * k
        combos.append(c)
    return combos


def _rule_result(rule, g, args, out):
    try:
        r = rule(g, *args, out)
    except Exception as e:        # noqa: BLE001 (a rule that needs what it was not given fails here)
        return "error: " + type(e).__name__
    return tuple(None if x is None else npy(x) for x in (r if isinstance(r, (tuple, list)) else (r,)))


def _same(r1, r2):
    if isinstance(r1, str) or isinstance(r2, str) or len(r1) != len(r2):
        return isinstance(r1, str) and r1 == r2
    for a, b in zip(r1, r2):
        if (a is None) != (b is None):
            return False
        if a is not None and not np.allclose(a, b, rtol=0, atol=0, equal_nan=True):
            return False
    return True


@pytest.mark.fp64
def test_table_rules_declare_exactly_what_they_read():
    """Every backward rule of the op table, run with only its declared `saves` (the others None, as bind_rule
    passes them), gives the gradients it gives with every operand; and each declared value is needed by some
    operand combination (no input is kept alive for nothing)."""
    import cltensor.nn.functional  # noqa: F401  (registers the nn rows)
    from cltensor import _ops as O
    checked = 0
    for name, op_ in O.OPS.items():
        if op_.backward is None:
            continue
        mask = op_.saves
        assert mask is not None and len(mask) == op_.nargs + 1, name
        dtypes = [F64] + ([ct.complex128] if "c" in op_.exprs else [])
        results = []
        for dt in dtypes:
            for args in _rule_combos(op_, dt):
                g = ct.tensor(np.linspace(-1.5, 2.0, 3), dtype=dt)
                out = ct.tensor(np.linspace(0.4, 1.7, 3), dtype=dt)
                full = _rule_result(op_.backward, g, args, out)
                if isinstance(full, str):
                    continue
                results.append((args, g, out, full))
                kept = [a if m else None for a, m in zip(args, mask)]
                got = _rule_result(op_.backward, g, kept, out if mask[-1] else None)
                assert _same(got, full), f"{name}: saves declares {mask}, but the rule reads more ({got})"
        assert results and results[0][0][0] is not None, f"{name}: the rule fails with tensor operands"
        for k, m in enumerate(mask):
            if not m:
                continue
            needed = False
            for args, g, out, full in results:
                a2 = [None if i == k else a for i, a in enumerate(args)]
                o2 = None if k == len(args) else out
                if not _same(_rule_result(op_.backward, g, a2, o2), full):
                    needed = True
                    break
            assert needed, f"{name}: saves declares value {k} ({mask}) but the rule never reads it"
        checked += 1
    assert checked >= 80


@pytest.mark.fp64
def test_split_rules_match_the_full_rule():
    """A row's per-input rules (`split`) give exactly the full rule's gradient for their input, and a call with
    an operand that does not require grad computes only the others (one kernel fewer for mul by a mask)."""
    from cltensor import _ops as O
    from cltensor import _kernels as K
    rows = [(name, op_) for name, op_ in O.OPS.items() if op_.split is not None]
    assert {"mul", "sub", "div"} <= {name for name, _ in rows}
    for name, op_ in rows:
        assert len(op_.split) == op_.nargs, name
        for args in _rule_combos(op_, F64):
            g = ct.tensor(np.linspace(-1.5, 2.0, 3), dtype=F64)
            out = ct.tensor(np.linspace(0.4, 1.7, 3), dtype=F64)
            full = _rule_result(op_.backward, g, args, out)
            for i, part in enumerate(op_.split):
                if isinstance(args[i], ct.Tensor):
                    assert _same(_rule_result(part, g, args, out), (full[i],)), (name, i)
    x = ct.tensor(np.linspace(0.5, 1.5, 5), requires_grad=True)
    m = ct.tensor(np.linspace(-1.0, 1.0, 5))
    y, ones = x * m, ct.ones(5, dtype=F64)
    n0 = K.stats["launches"]
    (gx,) = ct.autograd.grad(y, (x,), ones)
    assert K.stats["launches"] - n0 == 1          # g * m only (not g * x for the mask)
    np.testing.assert_array_equal(npy(gx), npy(m))
    z = ct.tensor(2.0, requires_grad=True)
    (gz,) = ct.autograd.grad((m / z).sum(), (z,))
    np.testing.assert_allclose(npy(gz), -npy(m).sum() / 4.0, rtol=1e-12)


def test_saves_declaration_is_checked_at_registration():
    from cltensor import _ops as O
    with pytest.raises(TypeError, match="must declare what it saves"):
        O.op("_t_nosaves", 1, "float", "x0", lambda g, a, o: (g,))
    with pytest.raises(ValueError, match="must name distinct inputs"):
        O.op("_t_badsaves", 1, "float", "x0", lambda g, a, o: (g * a,), saves="1")
    with pytest.raises(ValueError, match="must name distinct inputs"):
        O.op("_t_badsaves", 2, "float", "x0", lambda g, a, b, o: (g * a, g), saves="00")
    with pytest.raises(TypeError, match="takes 3 parameters, expected 4"):
        O.op("_t_arity", 2, "float", "x0", lambda g, a, o: (g,), saves="")
    assert not any(k.startswith("_t_") for k in O.OPS)
    O.op("_t_ok", 2, "float", "x0 * x1", lambda g, a, b, o: (g * b, g * a), saves="01")
    try:
        assert O.OPS["_t_ok"].saves == (True, True, False)
    finally:
        del O.OPS["_t_ok"]


@pytest.mark.fp64
def test_unread_operand_is_not_kept_alive():
    x = leaf(A)
    w = leaf(B)
    y = x.exp()           # saves="o": the input is not referenced by the node
    ref = weakref.ref(x)
    del x
    gc.collect()
    assert ref() is not None      # the graph's AccumulateGrad edge keeps the leaf (as in PyTorch)
    h = (w * 2).detach().requires_grad_()
    z = h + 1             # saves="": nothing kept
    assert z.grad_fn._saved == ()
    assert len(y.grad_fn._saved) == 1 and y.grad_fn._saved[0][0]._st is y._st


# ---------------------------------------------------------------- .grad takes only gradients nobody else holds
@pytest.mark.fp64
def test_leaf_takes_passed_through_engine_gradient_without_copy(monkeypatch):
    clones = []
    orig = ct.Tensor.clone
    monkeypatch.setattr(ct.Tensor, "clone", lambda self, *a, **k: clones.append(1) or orig(self, *a, **k))
    x = leaf(A)
    ((x + 1) * 3).sum().backward()        # AddBackward0 passes MulBackward0's new gradient through to x
    assert clones == []
    close(x.grad, np.full((2, 3), 3.0))
    x.grad = None
    y = (x.clone() - 2) * 3               # CloneBackward0 and SubBackward0 pass it through
    clones.clear()
    y.sum().backward()
    assert clones == []
    x.grad = None
    w = leaf(A)
    ((x + w) * 3).sum().backward()        # one tensor for two leaves: one of them copies
    assert len(clones) >= 1 and x.grad._st is not w.grad._st


@pytest.mark.fp64
def test_gradient_held_by_user_is_never_stolen():
    v = ct.ones(2, 3, dtype=F64)
    # a grad_tensors argument passed through (CloneBackward0 and AddBackward0 return it as is)
    for f in (lambda x: x.clone(), lambda x: x + 0, lambda x: x.view(2, 3)):
        x = leaf(A)
        f(x).backward(v)
        assert x.grad._st is not v._st
        x.grad.add_(1)
        close(v, np.ones((2, 3)))
    # a leaf hook that keeps its gradient
    kept = []
    x = leaf(A)
    x.register_hook(lambda g: kept.append(g))
    (x * 3).sum().backward()
    assert x.grad._st is not kept[0]._st
    x.grad.add_(1)
    close(kept[0], np.full((2, 3), 3.0))
    # a hook on a non-leaf whose gradient flows on unchanged to the leaf
    kept.clear()
    x = leaf(A)
    y = x * 2
    z = y.clone()
    z.register_hook(lambda g: kept.append(g))
    (z * 5).sum().backward()
    assert x.grad._st is not kept[0]._st
    x.grad.zero_()
    close(kept[0], np.full((2, 3), 5.0))
    # a node pre-hook that keeps the gradient
    kept.clear()
    x = leaf(A)
    z = (x * 2).clone()
    z.grad_fn.register_prehook(lambda gs: kept.append(gs[0]))
    (z * 5).sum().backward()
    x.grad.zero_()
    close(kept[0], np.full((2, 3), 5.0))

    # a custom Function whose backward returns a tensor it keeps
    class Keep(autograd.Function):
        store = []

        @staticmethod
        def forward(ctx, t):
            return t * 1

        @staticmethod
        def backward(ctx, g):
            r = g * 2
            Keep.store.append(r)
            return r
    x = leaf(A)
    Keep.apply(x).sum().backward()
    x.grad.add_(100)
    close(Keep.store[0], np.full((2, 3), 2.0))
    # one gradient returned for two leaves (AddBackward0): each leaf gets its own tensor
    x, w = leaf(A), leaf(A)
    ((x + w) * 2).sum().backward()
    assert x.grad._st is not w.grad._st
    x.grad.add_(1)
    close(w.grad, np.full((2, 3), 2.0))
    # autograd.grad's results are not shared with .grad of leaves reached by backward(inputs=...)
    x = leaf(A)
    h = x * 2
    hh = h.clone()
    hh.sum().backward(inputs=[h, x])
    assert h.grad._st is not x.grad._st
    h.grad.add_(1)
    close(x.grad, np.full((2, 3), 2.0))


# ---------------------------------------------------------------- fixed gradients, against torch
@pytest.mark.fp64
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_acosh_backward_below_minus_one(dt):
    torch = pytest.importorskip("torch")
    a = np.array([-300.0, -2.0, -1.5, 1.5, 2.0, 300.0, 0.5])
    x = ct.tensor(a, dtype=getattr(ct, dt), requires_grad=True)
    tx = torch.tensor(a, dtype=getattr(torch, dt), requires_grad=True)
    x.acosh().sum().backward()
    tx.acosh().sum().backward()
    np.testing.assert_allclose(npy(x.grad), tx.grad.numpy(), rtol=1e-6 if dt == "float32" else 1e-13,
                               equal_nan=True)
    assert abs(npy(x.grad)[0] - 0.0033333518520061744) < 1e-8


@pytest.mark.fp64
def test_acosh_backward_complex():
    torch = pytest.importorskip("torch")
    z = np.array([-300 + 1j, -2 - 0.5j, 1.5 + 2j, 0.3 + 0j])
    x = ct.tensor(z, requires_grad=True)
    tx = torch.tensor(z, requires_grad=True)
    x.acosh().real.sum().backward()
    tx.acosh().real.sum().backward()
    np.testing.assert_allclose(npy(x.grad), tx.grad.numpy(), rtol=1e-12)


@pytest.mark.fp64
@pytest.mark.parametrize("base", [0, 0.0, 2, -1.5])
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_pow_scalar_base_backward(base, dt):
    torch = pytest.importorskip("torch")
    e = np.array([-2.0, -0.5, 0.0, 0.5, 2.0, np.nan, -np.inf, np.inf])
    gv = np.array([1.0, -1.0, 2.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    for f in (lambda L, t: base ** t, lambda L, t: L.pow(base, t)):
        x = ct.tensor(e, dtype=getattr(ct, dt), requires_grad=True)
        tx = torch.tensor(e, dtype=getattr(torch, dt), requires_grad=True)
        y, ty = f(ct, x), f(torch, tx)
        np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-6, equal_nan=True)
        y.backward(ct.tensor(gv, dtype=getattr(ct, dt)))
        ty.backward(torch.tensor(gv, dtype=getattr(torch, dt)))
        np.testing.assert_allclose(npy(x.grad), tx.grad.numpy(), rtol=1e-6, equal_nan=True)


@pytest.mark.fp64
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_gelu_matches_torch_in_each_precision(approximate, dt):
    torch = pytest.importorskip("torch")
    a = np.concatenate([np.linspace(-6, 6, 61), [1e-3, -1e-3, 0.1234567891234, 12.5, -12.5]])
    x = ct.tensor(a, dtype=getattr(ct, dt), requires_grad=True)
    tx = torch.tensor(a, dtype=getattr(torch, dt), requires_grad=True)
    y = ct.nn.functional.gelu(x, approximate=approximate)
    ty = torch.nn.functional.gelu(tx, approximate=approximate)
    tol = 1e-14 if dt == "float64" else 1e-6
    np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=tol, atol=tol)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(npy(x.grad), tx.grad.numpy(), rtol=tol, atol=tol)
    # the op table's rows (the elementwise path, also used by the fusion of traced chains)
    from cltensor import _ops as O
    x = ct.tensor(a, dtype=getattr(ct, dt), requires_grad=True)
    z = O.apply("gelu" if approximate == "none" else "gelu_tanh", x)
    np.testing.assert_allclose(npy(z), ty.detach().numpy(), rtol=tol, atol=tol)
    z.sum().backward()
    np.testing.assert_allclose(npy(x.grad), tx.grad.numpy(), rtol=tol, atol=tol)


def test_variable_like_torch():
    torch = pytest.importorskip("torch")
    import warnings
    t = ct.ones(2)
    v = autograd.Variable(t, requires_grad=True)
    tv = torch.autograd.Variable(torch.ones(2), requires_grad=True)
    assert v.requires_grad == tv.requires_grad and v.is_leaf == tv.is_leaf and v.grad_fn is None
    assert v is not t and v.data_ptr() == t.data_ptr()
    assert not t.requires_grad
    (v * 3).sum().backward()
    close(v.grad, [3.0, 3.0])
    assert not autograd.Variable(t).requires_grad
    y = ct.ones(2, requires_grad=True) * 2
    d = autograd.Variable(y)
    assert d.grad_fn is None and not d.requires_grad             # as torch: a detached alias
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        autograd.Variable(t, volatile=True)
    assert any("volatile was removed" in str(x.message) for x in w)
    assert isinstance(t, autograd.Variable)
    assert tuple(autograd.Variable().shape) == tuple(torch.autograd.Variable().shape) == (0,)
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
        autograd.Variable([1.0])
    with pytest.raises(RuntimeError, match="Only Tensors of floating point"):
        autograd.Variable(ct.ones(2, dtype=ct.int64), requires_grad=True)


# ---------------------------------------------------------------- backward()'s implicit gradient (kept between calls)

def _scalar_loss(w):
    return (w * w).sum()


def test_implicit_gradient_kept_between_backward_calls_is_never_aliased():
    from cltensor import _kernels
    from cltensor.autograd import engine
    w = ct.tensor([1.0, 2.0, 3.0], requires_grad=True)
    engine._SEEDS.clear()
    loss = _scalar_loss(w)
    n0 = _kernels.stats["launches"]
    loss.backward()
    first = _kernels.stats["launches"] - n0
    g1 = w.grad
    w.grad = None
    loss = _scalar_loss(w)
    n0 = _kernels.stats["launches"]
    loss.backward()
    assert _kernels.stats["launches"] - n0 == first - 1       # the ones are not filled again
    assert host(w.grad).tolist() == [2.0, 4.0, 6.0]
    g1.zero_()                      # an earlier .grad is its own tensor
    assert host(w.grad).tolist() == [2.0, 4.0, 6.0]
    # a scalar leaf's .grad takes a copy of the ones, so writing into it changes no later backward()
    s = ct.tensor(1.5, requires_grad=True)
    s.backward()
    s.grad.mul_(10)
    s.backward()
    assert host(s.grad).item() == 11.0
    w.grad = None
    _scalar_loss(w).backward()
    assert host(w.grad).tolist() == [2.0, 4.0, 6.0]


def test_implicit_gradient_written_in_a_backward_is_renewed():
    class Twice(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            return g.mul_(2)            # writes into its incoming gradient (the implicit ones)

    for _ in range(3):
        x = ct.tensor(3.0, requires_grad=True)
        Twice.apply(x).backward()
        assert host(x.grad).item() == 2.0


def test_implicit_gradient_seen_by_hooks_or_retained_is_fresh():
    seen = []
    kept = []
    for _ in range(2):
        w = ct.tensor([1.0, 2.0], requires_grad=True)
        loss = _scalar_loss(w)
        loss.register_hook(lambda g: seen.append(g))
        loss.backward()
        loss2 = _scalar_loss(w)
        loss2.retain_grad()
        loss2.backward()
        kept.append(loss2.grad)
    assert seen[0] is not seen[1] and seen[0]._st is not seen[1]._st
    assert kept[0]._st is not kept[1]._st
    kept[0].zero_()
    assert host(kept[1]).item() == 1.0
    # create_graph and autograd.grad make their own ones as before
    w = ct.tensor([1.0, 2.0], requires_grad=True)
    (g,) = autograd.grad(_scalar_loss(w), w, create_graph=True)
    assert host(g).tolist() == [2.0, 4.0]
