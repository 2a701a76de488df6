"""gradcheck (float64 finite differences) of every differentiable row of the elementwise table `_ops.OPS`, on
values inside each op's domain, contiguous / transposed / stepped-slice / 0-d / broadcast inputs; complex inputs
for the ops with complex kernels; gradgradcheck (second derivatives); the view ops; in-place writes into views."""
import zlib

import numpy as np
import pytest

import cltensor as ct
from cltensor import _ops as O
from cltensor.autograd import gradcheck, gradgradcheck

import opinfo

F64 = ct.float64


# ---------------------------------------------------------------- domains: value samplers per op
def U(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def PM(lo, hi):           # +-[lo, hi]: away from 0
    return lambda rng, shape: rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def OFFINT(lo=0.2, hi=0.8):   # away from integers (floor, round, ... are locally constant there)
    return lambda rng, shape: rng.integers(-3, 3, shape) + rng.uniform(lo, hi, shape)


def QUOT(rng, shape):     # |a| in (0.2, 2.8) or (3.5, 6): a / b never near an integer for |b| in (3.1, 3.3)
    m = np.where(rng.random(shape) < 0.5, rng.uniform(0.2, 2.8, shape), rng.uniform(3.5, 6.0, shape))
    return m * rng.choice([-1.0, 1.0], shape)


ANY = U(-2, 2)
UNARY = {
    "exp": ANY, "exp2": ANY, "expm1": ANY, "log": U(0.5, 3), "log2": U(0.5, 3), "log10": U(0.5, 3),
    "log1p": U(-0.5, 2), "sqrt": U(0.5, 3), "rsqrt": U(0.5, 3), "sin": ANY, "cos": ANY, "tan": U(-1.2, 1.2),
    "asin": U(-0.9, 0.9), "acos": U(-0.9, 0.9), "atan": ANY, "sinh": ANY, "cosh": ANY, "tanh": ANY,
    "asinh": ANY, "acosh": U(1.2, 3), "atanh": U(-0.9, 0.9), "sigmoid": ANY, "erf": ANY, "erfc": ANY,
    "reciprocal": PM(0.5, 2), "silu": ANY, "softplus": U(-3, 3), "gelu": ANY, "gelu_tanh": ANY, "neg": ANY,
    "abs": PM(0.2, 2), "floor": OFFINT(), "ceil": OFFINT(), "round": OFFINT(0.1, 0.4), "trunc": OFFINT(),
    "frac": OFFINT(), "sign": PM(0.2, 2), "sgn": PM(0.2, 2), "square": ANY, "relu": PM(0.2, 2), "conj": ANY,
    "positive": ANY, "copy": ANY, "angle": PM(0.2, 2),
}
BINARY = {
    "add": (ANY, ANY), "sub": (ANY, ANY), "mul": (ANY, ANY), "div": (ANY, PM(0.5, 2)),
    "div_floor": (QUOT, PM(3.1, 3.3)), "div_trunc": (QUOT, PM(3.1, 3.3)), "remainder": (QUOT, PM(3.1, 3.3)),
    "fmod": (QUOT, PM(3.1, 3.3)), "pow": (U(0.5, 2), ANY), "atan2": (PM(0.3, 2), PM(0.3, 2)),
    "maximum": (ANY, ANY), "minimum": (ANY, ANY), "fmax": (ANY, ANY), "fmin": (ANY, ANY),
    "hypot": (PM(0.3, 2), PM(0.3, 2)), "xlogy": (ANY, U(0.5, 2)), "copysign": (PM(0.2, 2), PM(0.2, 2)),
}
SPECIAL = {"clamp"}                     # tested on its own below


def CONST(sampler):       # an operand tensor that does not require grad (e.g. a loss target)
    return ("const", sampler)


def AWAY3(rng, shape):    # away from the kinks at +-3
    return np.where(rng.random(shape) < 0.5, PM(0.2, 2.8)(rng, shape), PM(3.2, 4)(rng, shape))


# rows with parameters, and those added by cltensor.nn.functional: operand samplers, Python scalars for parameters
NN = {
    "add_alpha": (ANY, ANY, 0.7), "sub_alpha": (ANY, ANY, -1.3), "lerp": (ANY, ANY, U(-1, 2)),
    "nn_relu": (PM(0.2, 2),),
    "nn_leaky_relu": (PM(0.2, 2), 0.01), "nn_elu": (PM(0.2, 2), 1.0),
    "nn_hardtanh": (lambda r, s: np.where(r.random(s) < 0.5, PM(0.2, 0.8)(r, s), PM(1.2, 2)(r, s)), -1.0, 1.0),
    "nn_softplus": (U(-3, 3), 2.0, 20.0), "nn_logsigmoid": (ANY,), "nn_gelu_tanh": (ANY,),
    "nn_hardsigmoid": (AWAY3,), "nn_hardswish": (AWAY3,), "nn_mish": (ANY,),
    "nn_sqdiff": (ANY, ANY), "nn_absdiff": (ANY, ANY), "nn_smooth_l1": (ANY, ANY, 1.0), "nn_huber": (ANY, ANY, 0.7),
    "nn_bce": (U(0.1, 0.9), U(0, 1)), "nn_bce_logits": (ANY, U(0, 1)), "nn_bce_logits_pw": (ANY, U(0, 1), 1.5),
    "nn_kl": (ANY, CONST(U(0.1, 1))), "nn_kl_log": (ANY, CONST(ANY)),
    # fused first-derivative kernels: their own backward gives double backward through relu, gelu, losses
    "nn_relu_grad": (ANY, PM(0.2, 2)), "nn_gelu_tanh_grad": (ANY, ANY), "nn_sqdiff_grad": (ANY, ANY, ANY, 0.5),
    "nn_absdiff_grad": (ANY, ANY, ANY, 0.5), "nn_smooth_l1_grad": (ANY, ANY, ANY, 0.5, 1.0),
    "nn_huber_grad": (ANY, ANY, ANY, 0.5, 0.7),
}
try:
    import cltensor.nn.functional  # noqa: F401  (registers the nn_* rows)
except ImportError:
    pass
# the rows of the op-info table (tests/opinfo.py) with complex kernels and autograd (OPS keys), plus copy
COMPLEX_UNARY = [r.ops_key for r in opinfo.rows("unary", "complex128", grad=True)] + ["copy"]
COMPLEX_BINARY = [r.ops_key for r in opinfo.rows("binary", "complex128", grad=True)]


def _rng(name):
    return np.random.default_rng(zlib.crc32(name.encode()))     # str hash() is salted per process


def _leaf(a):
    return ct.tensor(a, dtype=F64, requires_grad=True)


def _layout(a, kind):
    """A float64 leaf with the values of `a` (2-d) in the given memory layout."""
    if kind == "contig":
        return _leaf(a)
    if kind == "transposed":
        return ct.tensor(np.ascontiguousarray(a.T), dtype=F64).t().requires_grad_()
    if kind == "stepped":
        big = np.zeros((a.shape[0], a.shape[1] * 2))
        big[:, ::2] = a
        return ct.tensor(big, dtype=F64)[:, ::2].requires_grad_()
    raise AssertionError(kind)


def test_every_differentiable_row_has_a_domain():
    rows = {n for n, op in O.OPS.items() if op.backward is not None and n not in ("nan_to_num",)}
    known = set(UNARY) | set(BINARY) | SPECIAL | set(NN)
    for m in opinfo._PARTS:      # rows gradchecked by their family's tests (tests/opinfo_<family>.py GRADCHECKED)
        known |= set(getattr(m, "GRADCHECKED", ()))
    assert rows <= known, rows - known


@pytest.mark.parametrize("name", sorted(NN))
@pytest.mark.fp64
def test_rows_with_parameters(name):
    if name not in O.OPS or O.OPS[name].backward is None:
        pytest.skip(f"{name} is not registered with a backward rule")
    rng = _rng(name)

    def operands(shape):
        out = []
        for spec in NN[name]:
            if isinstance(spec, float):
                out.append(spec)
            elif isinstance(spec, tuple):
                out.append(ct.tensor(spec[1](rng, shape), dtype=F64))
            else:
                out.append(_leaf(spec(rng, shape)))
        return out
    args = operands((2, 3))
    pos = [i for i, a in enumerate(args) if isinstance(a, ct.Tensor) and a.requires_grad]

    def f(*ts):
        full = list(args)
        for i, t in zip(pos, ts):
            full[i] = t
        return O.apply(name, *full)
    assert gradcheck(f, tuple(args[i] for i in pos))
    assert gradgradcheck(f, tuple(args[i] for i in pos))


@pytest.mark.fp64
def test_nn_functional_double_backward():
    F = pytest.importorskip("cltensor.nn.functional")
    rng = np.random.default_rng(8)
    x, y = _leaf(rng.standard_normal((2, 3))), _leaf(rng.standard_normal((2, 3)))
    for f in (lambda a, b: F.mse_loss(a, b), lambda a, b: F.l1_loss(a, b, reduction="sum"),
              lambda a, b: F.smooth_l1_loss(a, b, beta=0.8), lambda a, b: F.huber_loss(a, b, delta=0.6),
              lambda a, b: F.relu(a) * b, lambda a, b: F.gelu(a, approximate="tanh") * b,
              lambda a, b: F.gelu(a) * b):
        assert gradgradcheck(f, (x, y))


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.fp64
def test_unary(name):
    rng = _rng(name)
    s = UNARY[name]
    for kind in ("contig", "transposed", "stepped"):
        x = _layout(s(rng, (2, 3)), kind)
        assert not x.is_contiguous() or kind == "contig"
        assert gradcheck(lambda t: O.apply(name, t), (x,))
    x0 = _leaf(s(rng, ()))
    assert gradcheck(lambda t: O.apply(name, t), (x0,))


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.fp64
def test_binary(name):
    rng = _rng(name)
    sa, sb = BINARY[name]
    f = lambda a, b: O.apply(name, a, b)  # noqa: E731
    a, b = _leaf(sa(rng, (2, 3))), _leaf(sb(rng, (2, 3)))
    assert gradcheck(f, (a, b))
    # broadcasting: (3, 1) with (2,) -> (3, 2); gradients are summed back to each input's shape
    a, b = _leaf(sa(rng, (3, 1))), _leaf(sb(rng, (2,)))
    assert gradcheck(f, (a, b))
    # non-contiguous operands, and a python scalar / 0-d tensor as the other operand
    a, b = _layout(sa(rng, (2, 3)), "transposed"), _layout(sb(rng, (2, 3)), "stepped")
    assert gradcheck(f, (a, b))
    c = float(sb(rng, ()))
    assert gradcheck(lambda t: O.apply(name, t, c), (_leaf(sa(rng, (3,))),))
    c = float(sa(rng, ()))
    assert gradcheck(lambda t: O.apply(name, c, t), (_leaf(sb(rng, (3,))),))
    assert gradcheck(f, (_leaf(sa(rng, (2,))), _leaf(sb(rng, ()))))


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.fp64
def test_unary_second_derivative(name):
    x = _leaf(UNARY[name](_rng(name + "2"), (3,)))
    assert gradgradcheck(lambda t: O.apply(name, t), (x,))


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.fp64
def test_binary_second_derivative(name):
    rng = _rng(name + "2")
    sa, sb = BINARY[name]
    a, b = _leaf(sa(rng, (3,))), _leaf(sb(rng, (1,)))
    assert gradgradcheck(lambda x, y: O.apply(name, x, y), (a, b))


def _cleaf(rng, shape, lo=0.3, hi=2.0):
    m = rng.uniform(lo, hi, shape)
    ph = rng.uniform(-2.5, 2.5, shape)
    return ct.tensor(m * np.exp(1j * ph), dtype=ct.complex128, requires_grad=True)


@pytest.mark.parametrize("name", COMPLEX_UNARY)
@pytest.mark.fp64
def test_complex_unary(name):
    rng = _rng(name + "c")
    assert gradcheck(lambda t: O.apply(name, t), (_cleaf(rng, (2, 2)),))


@pytest.mark.parametrize("name", COMPLEX_BINARY)
@pytest.mark.fp64
def test_complex_binary(name):
    rng = _rng(name + "c")
    assert gradcheck(lambda a, b: O.apply(name, a, b), (_cleaf(rng, (2, 2)), _cleaf(rng, (2,))))
    assert gradgradcheck(lambda a, b: O.apply(name, a, b), (_cleaf(rng, (2,)), _cleaf(rng, (2,))))


@pytest.mark.fp64
def test_pow_forms():
    rng = np.random.default_rng(1)
    x = _leaf(rng.uniform(0.5, 2, (2, 3)))
    for e in (3, 2.5, -1.5, 0, 1):
        assert gradcheck(lambda t: t ** e, (x,))
    assert gradcheck(lambda t: 2.0 ** t, (x,))
    assert gradcheck(lambda t: t ** t, (x,))
    assert gradgradcheck(lambda t: t ** 3, (x,))
    assert gradgradcheck(lambda t: t ** t, (x,))


@pytest.mark.fp64
def test_clamp():
    rng = np.random.default_rng(2)
    x = _leaf(rng.choice([-1.0, 1.0], (3, 4)) * rng.choice([0.2, 0.4, 0.7, 1.5], (3, 4)))
    assert gradcheck(lambda t: t.clamp(-0.5, 0.5), (x,))
    assert gradcheck(lambda t: t.clamp(min=-0.3), (x,))
    assert gradcheck(lambda t: t.clamp(max=0.3), (x,))
    lo, hi = _leaf(np.full((4,), -0.5)), _leaf(np.array([0.5, 0.6, 0.3, 0.9]))
    assert gradcheck(lambda t, a, b: ct.clamp(t, a, b), (x, lo, hi))
    assert gradcheck(lambda t, a: ct.clamp(t, min=a), (x, lo))
    assert gradcheck(lambda t, b: ct.clamp(t, max=b), (x, hi))


@pytest.mark.fp64
def test_where_and_composites():
    rng = np.random.default_rng(3)
    a, b = _leaf(rng.standard_normal((3, 4))), _leaf(rng.standard_normal((4,)))
    cond = ct.tensor(rng.random((3, 4)) < 0.5)
    assert gradcheck(lambda x, y: ct.where(cond, x, y), (a, b))
    assert gradcheck(lambda x, y: ct.where(cond, x, 0.5) * y, (a, b))
    assert gradcheck(lambda x, y: ((x * y).tanh() - y / (x * x + 1)).exp(), (a, b))
    assert gradcheck(lambda x: x.to(ct.float32).to(F64) * 0 + x, (a,))


# ---------------------------------------------------------------- view ops
def _base(shape, seed=4):
    return _leaf(np.random.default_rng(seed).standard_normal(shape))


VIEWS = {
    "view": (lambda t: t.view(4, 3) * 1, (2, 6)),
    "reshape_view": (lambda t: t.reshape(3, 4), (2, 6)),
    "reshape_copy": (lambda t: t.t().reshape(-1), (2, 3)),
    "flatten": (lambda t: t.flatten(), (2, 3, 2)),
    "unflatten": (lambda t: t.unflatten(1, (2, 3)), (2, 6)),
    "squeeze": (lambda t: t.squeeze(), (2, 1, 3)),
    "squeeze_dim": (lambda t: t.squeeze(1), (2, 1, 3)),
    "unsqueeze": (lambda t: t.unsqueeze(1), (2, 3)),
    "permute": (lambda t: t.permute(2, 0, 1), (2, 3, 2)),
    "transpose": (lambda t: t.transpose(0, 2), (2, 3, 2)),
    "t": (lambda t: t.t(), (2, 3)),
    "T": (lambda t: t.T, (2, 3)),
    "mT": (lambda t: t.mT, (2, 2, 3)),
    "movedim": (lambda t: t.movedim(0, -1), (2, 3, 2)),
    "expand": (lambda t: t.expand(2, 3, 4), (3, 1)),
    "expand_as": (lambda t: t.expand_as(ct.zeros(2, 3, dtype=F64)), (3,)),
    "broadcast_to": (lambda t: ct.broadcast_to(t, (2, 3)), (1, 3)),
    "narrow": (lambda t: t.narrow(1, 1, 2), (2, 4)),
    "select": (lambda t: t.select(1, 2), (2, 4)),
    "getitem": (lambda t: t[1:, None, ::2, -1], (3, 4, 2)),
    "unbind": (lambda t: t.unbind(1), (2, 3)),
    "split": (lambda t: t.split(2, dim=1), (2, 5)),
    "split_sizes": (lambda t: t.split([1, 3], dim=0), (4, 2)),
    "chunk": (lambda t: t.chunk(2, 0), (3, 2)),
    "diagonal": (lambda t: t.diagonal(), (3, 3)),
    "diagonal_off": (lambda t: t.diagonal(offset=-1, dim1=1, dim2=0), (3, 4)),
    "as_strided": (lambda t: t.as_strided((2, 2), (1, 2), 1), (6,)),
    "clone": (lambda t: t.clone(), (2, 3)),
    "contiguous": (lambda t: t.t().contiguous(), (2, 3)),
    "view_of_view": (lambda t: t.t()[1:].reshape(-1)[::2], (3, 4)),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
@pytest.mark.fp64
def test_views(name):
    fn, shape = VIEWS[name]
    x = _base(shape)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(lambda t: _square_all(fn(t)), (x,))


def _square_all(out):
    return tuple(o * o for o in out) if isinstance(out, tuple) else out * out


@pytest.mark.fp64
def test_view_of_noncontiguous_input():
    x = ct.tensor(np.random.default_rng(5).standard_normal((4, 3)), dtype=F64).t().requires_grad_()
    assert gradcheck(lambda t: t.reshape(-1)[1::3], (x,))
    assert gradcheck(lambda t: t.unsqueeze(0).expand(2, 3, 4).permute(2, 1, 0), (x,))


@pytest.mark.fp64
def test_real_imag_views():
    x = _cleaf(np.random.default_rng(6), (2, 3))
    assert gradcheck(lambda z: ct.real(z) * 2 + ct.imag(z) ** 2, (x,))
    assert gradcheck(lambda z: z.real.exp(), (x,))


# ---------------------------------------------------------------- in-place writes (through views)
INPLACE = {
    "setitem_scalar": lambda t: _set(t * 1, 0, 5.0),
    "setitem_tensor": lambda t: _set(t * 1, (slice(None), 1), t[:, 0] * 3),
    "mul_view": lambda t: _call(t * 1, lambda y: y[:, 1].mul_(2)),
    "exp_whole": lambda t: (t * 2).exp_(),
    "add_view_of_view": lambda t: _call(t * 1, lambda y: y.t()[1:, 0].add_(t[0, :2] ** 2)),
    "fill_view": lambda t: _call(t * 1, lambda y: y[1].fill_(3)),
    "zero_view": lambda t: _call(t * 1, lambda y: y[:, ::2].zero_()),
    "copy_view": lambda t: _call(t.clone(), lambda y: y[0].copy_(t[1].sin())),
    "mul_self": lambda t: (t * 1).mul_(t * 1),
    "two_writes": lambda t: _call(t * 1, lambda y: (y[0].mul_(y[1]), y[:, 2].sub_(1))),
    "tanh_rows_of_t": lambda t: _call(t.t() * 1, lambda y: y[1:].tanh_()),
    "buffer_from_zeros": lambda t: _call(ct.zeros(3, 3, dtype=F64), lambda y: y[1:, :].copy_(t.sigmoid())),
    "adv_setitem": lambda t: _set(t * 1, (ct.tensor([1]), ct.tensor([0, 2])), t[0, :2] * 3),
    "adv_imul": lambda t: _call(t * 1, lambda y: y.__setitem__((slice(None), ct.tensor([0, 2])),
                                                               y[:, ct.tensor([0, 2])] * 2)),
    "mask_setitem": lambda t: _set(t * 1, t > 0.1, 0.0),
}


def _set(y, idx, v):
    y[idx] = v
    return y


def _call(y, f):
    f(y)
    return y


@pytest.mark.parametrize("name", sorted(INPLACE))
@pytest.mark.fp64
def test_inplace_through_views(name):
    x = _base((2, 3), seed=7)
    assert gradcheck(INPLACE[name], (x,))
    assert gradgradcheck(lambda t: _square_all(INPLACE[name](t)), (x,))
