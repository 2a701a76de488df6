"""cltensor.compile: fused elementwise chains (and sum/mean of a chain) against the same code run eagerly."""
import numpy as np
import pytest

import cltensor as ct
import cltensor.nn.functional as F
from cltensor import _gemm
from cltensor import _kernels as K
from _host import host


def launches(fn, *args):
    ct.synchronize()
    n0 = K.stats["launches"]
    r = fn(*args)
    return r, K.stats["launches"] - n0


def same(a, b, exact):
    a, b = host(a), host(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    if exact:
        np.testing.assert_array_equal(a, b)
    else:      # a fused a * b + c may be contracted to fma: ulp-level differences only
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6, equal_nan=True)


def chain(a, b, c):
    return ((a * b + c).exp() * 2.0 - a).sigmoid() * c


def layouts():
    g = np.random.default_rng(0)
    base = ct.tensor(g.standard_normal((9, 130)).astype(np.float32))
    yield "contiguous", base, base + 1, base * 0.5
    yield "transposed", base.T, (base + 1).T, base.T.contiguous()
    yield "broadcast", base, ct.tensor(g.standard_normal(130).astype(np.float32)), \
        ct.tensor(g.standard_normal((9, 1)).astype(np.float32))
    yield "step-slices", base[:8:2, 1::3], base[1::2, :129:3], base[:8:2, 2::3]
    yield "offset", base[3:, 7:], base[:-3, :-7], 0.25
    yield "expanded", ct.tensor([0.5]).expand(9, 130), base, base.T.T


@pytest.mark.parametrize("name,a,b,c", list(layouts()), ids=[x[0] for x in layouts()])
def test_chain_matches_eager_on_every_layout(name, a, b, c):
    f = ct.compile(chain)
    r, n = launches(f, a, b, c)
    same(r, chain(a, b, c), exact=False)
    assert n == 1, "a chain of elementwise ops must be one kernel"
    assert f.stats == {"calls": 1, "breaks": 0, "eager": 0, "reason": None, "plain": 0}


@pytest.mark.parametrize("dt", [ct.int8, ct.uint8, ct.int32, ct.int64])
def test_integer_chain_is_bitwise_equal(dt):
    g = np.random.default_rng(1)
    a = ct.tensor(g.integers(-50, 50, (7, 33)), dtype=dt)
    b = ct.tensor(g.integers(1, 9, (33,)), dtype=dt)

    def f(a, b):
        return ((a * b - 3) // 2 + (a % 7)) ^ (b << 1) | (a > b).to(dt)
    r, n = launches(ct.compile(f), a, b)
    same(r, f(a, b), exact=True)
    assert n == 1


@pytest.mark.fp64
def test_promotion_and_mixed_dtypes_like_eager():
    a = ct.arange(-6, 6, dtype=ct.int32).reshape(3, 4)
    b = ct.linspace(-1, 1, 4, dtype=ct.float64)

    def f(a, b):
        x = a / 4             # int / int-scalar -> default float
        y = x * b + a         # float32 * float64 tensor -> float64
        return (y > 0) & (a != 0), y.float(), (a * 3).to(ct.int16)
    for r, e in zip(ct.compile(f)(a, b), f(a, b)):
        same(r, e, exact=r.dtype != ct.float32)


def test_float16_intermediates_are_rounded_like_eager():
    a = ct.linspace(-3, 3, 1001, dtype=ct.float16)

    def f(a):
        return (a * 1.001 + 0.1).exp() - a    # each float16 intermediate is rounded to half in eager code
    same(ct.compile(f)(a), f(a), exact=True)


def test_complex_chain():
    a = ct.tensor(np.arange(12).reshape(3, 4) * (1 + 0.5j), dtype=ct.complex64)

    def f(a):
        return (a * a.conj() - 2j).abs() + a.real
    same(ct.compile(f)(a), f(a), exact=False)


def test_where_clamp_cast_and_unary_ops_fuse():
    x = ct.linspace(-4, 4, 257)

    def f(x):
        y = ct.where(x > 0, x, 0.1 * x).clamp(-0.2, 3.0)
        return ((y.tanh() + x.abs().sqrt() * y.relu()) - (x ** 2)).to(ct.float16), (x > 1).float() * y
    (r, r2), n = launches(ct.compile(f), x)
    e, e2 = f(x)
    same(r, e, exact=False)
    same(r2, e2, exact=False)
    assert n == 2          # one kernel per output


def test_mean_and_sum_of_a_chain_in_one_pass():
    g = np.random.default_rng(2)
    a = ct.tensor(g.random(100003).astype(np.float32))
    b = ct.tensor(g.random(100003).astype(np.float32))

    def mse(a, b):
        return ((a - b) ** 2).mean()
    r, n = launches(ct.compile(mse), a, b)
    ref = ((host(a).astype(np.float64) - host(b)) ** 2).mean()
    assert abs(r.item() - ref) <= 1e-6 * ref
    assert r.shape == () and r.dtype == ct.float32
    assert n == 2          # the fused map + reduction, then the partials' sum
    s = ct.compile(lambda a: (a > 0.5).sum())(a)
    assert s.dtype == ct.int64 and s.item() == int((host(a) > 0.5).sum())


def test_reductions_over_dims_and_non_flat_layouts_fall_back_to_two_steps():
    x = ct.randn(6, 7, 5)

    def f(x):
        return (x * 2 + 1).sum(1), (x.exp() - 1).mean((0, 2), keepdim=True), (x.transpose(0, 2) * 3).mean()
    rs = ct.compile(f)(x)
    for r, e in zip(rs, f(x)):
        same(r, e, exact=False)


def test_reduction_results_feed_later_chains():
    x = ct.rand(33, 17)

    def f(x):
        e = (x - 0.5).exp()
        return e / e.sum(1, keepdim=True) + (x * x).mean()
    same(ct.compile(f)(x), f(x), exact=False)


def test_structures_scalars_and_no_recompile_on_new_values():
    x = ct.rand(50)
    scale = [2.0]

    def f(x):
        return {"y": x * scale[0] + 1, "pair": (x - 1, 5)}
    cf = ct.compile(f)
    r = cf(x)
    np.testing.assert_allclose(host(r["y"]), host(x) * 2 + 1, rtol=1e-6)
    assert r["pair"][1] == 5
    builds = K.stats["builds"]
    scale[0] = -3.5            # a changed closure value is a new kernel argument, not a stale constant
    r = cf(x)
    np.testing.assert_allclose(host(r["y"]), host(x) * -3.5 + 1, rtol=1e-6)
    cf(ct.rand(1000))          # a new size builds nothing either
    assert K.stats["builds"] == builds


def test_input_returned_as_is_and_decorator_form():
    @ct.compile
    def f(x, y):
        return x, x + y
    x = ct.ones(3)
    r = f(x, 1)
    assert r[0] is x and r[1].tolist() == [2.0, 2.0, 2.0]
    assert ct.compile(mode="max-autotune")(lambda x: x * 2)(x).tolist() == [2.0, 2.0, 2.0]


def test_graph_breaks_keep_eager_semantics():
    x = ct.tensor([1.0, -2.0, 3.0])

    def f(x):
        if (x.sum() > 0).item():       # needs a value: a graph break, then tracing goes on
            return (x * 2).exp()
        return x
    cf = ct.compile(f)
    np.testing.assert_allclose(host(cf(x)), np.exp(host(x) * 2), rtol=1e-6)
    assert cf.stats["calls"] == 1 and cf.stats["breaks"] == 1 and cf.stats["eager"] == 0

    def g(x):
        y = x + 1
        z = y * 3                     # reads y before the write below
        y.mul_(2)                     # in-place on a traced value: computed first, then written
        return y, z, y - 1
    for r, e in zip(ct.compile(g)(x), g(x)):
        assert r.tolist() == e.tolist()

    c = ct.zeros(3)

    def h(x):
        z = x * c                     # pending read of c ...
        c.add_(1)                     # ... before this write: the launch is a graph break
        return z + 1, (x @ c).relu()  # matmul (untraced) runs on computed memory
    c2 = ct.zeros(3)
    r = ct.compile(h)(x)
    assert r[0].tolist() == [1.0, 1.0, 1.0] and r[1].item() == 2.0 and c.tolist() == [1.0, 1.0, 1.0]
    del c2


def test_user_errors_after_a_graph_break_keep_their_type():
    def f(x):
        if x.sum().item() > 0:
            raise ValueError("positive")
        return x
    with pytest.raises(ValueError, match="positive"):
        ct.compile(f)(ct.ones(2))

    def g(x):
        y = x * 2
        y.sum().item()                # a graph break: eager code has run
        y.add_(1)                     # refused (autograd of a traced value) -> clear error, no double effects
        return y
    with pytest.raises(RuntimeError, match="in-place op on a traced tensor that requires grad"):
        ct.compile(g)(ct.ones(2, requires_grad=True))


def test_untraceable_call_runs_eagerly_with_the_reason():
    def f(x):
        return ct.tensor(x.tolist()) * 2 if isinstance(x, list) else x.no_such_method()
    cf = ct.compile(f)
    with pytest.raises(AttributeError):
        cf(ct.ones(2))
    assert cf.stats["eager"] == 1 and "no_such_method" in cf.stats["reason"]


def test_errors_are_the_eager_ones():
    with pytest.raises(RuntimeError, match="must match the size"):
        ct.compile(lambda a, b: a + b)(ct.ones(3), ct.ones(4))
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        ct.compile(lambda a: a // 0)(ct.arange(4))
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        ct.compile(lambda a: a ** -1)(ct.arange(1, 4))
    # integer division by a tensor checks the divisor's values: eager, with the same error
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        ct.compile(lambda a, b: a % b)(ct.arange(4), ct.tensor([1, 0, 1, 1]))


def grads_of(fn, *ts):
    for t in ts:
        t.grad = None
    fn(*ts).backward()
    return [host(t.grad).copy() for t in ts]


def test_gradients_are_right_and_fused():
    x = ct.linspace(-2, 2, 9, requires_grad=True)
    w = ct.tensor(0.7, requires_grad=True)

    def f(x):
        return ((x * w).tanh() ** 2).mean()
    cf = ct.compile(f)
    r = cf(x)
    assert type(r.grad_fn).__name__ == "CompiledFunctionBackward"
    ct.synchronize()
    n0 = K.stats["launches"]
    r.backward()
    fused_launches = K.stats["launches"] - n0
    gx, gw = host(x.grad).copy(), w.grad.item()
    x.grad = w.grad = None
    n0 = K.stats["launches"]
    f(x).backward()
    assert fused_launches < K.stats["launches"] - n0
    np.testing.assert_allclose(gx, host(x.grad), rtol=1e-6, atol=1e-7)
    assert abs(gw - w.grad.item()) < 1e-6
    assert cf.stats["eager"] == 0


@pytest.mark.parametrize("case", ["broadcast", "views", "where-clamp", "two-outputs", "sum-dims",
                                  pytest.param("double", marks=pytest.mark.fp64)])
def test_gradients_match_eager(case):
    g = np.random.default_rng(3)
    a = ct.tensor(g.standard_normal((5, 6)).astype(np.float32), requires_grad=True)
    b = ct.tensor(g.standard_normal(6).astype(np.float32), requires_grad=True)
    fns = {
        "broadcast": lambda a, b: ((a - b) * (a + 1).sigmoid() / (b * b + 1)).sum(),
        "views": lambda a, b: ((a.T * 2).exp().T * b - a[1:, ::2].sum()).mean(),
        "where-clamp": lambda a, b: ct.where(a > 0, a * b, b.expand(5, 6) * 0.5).clamp(-1, 1).abs().sum(),
        "two-outputs": lambda a, b: sum(t.sum() for t in ((a * b).tanh(), (a * b).relu() ** 3)),
        "sum-dims": lambda a, b: ((a * b + 1).sum(0) * b).logsumexp(0),
        "double": lambda a, b: (a * b).double().sin().sum(),
    }
    f = fns[case]
    cf = ct.compile(f)
    for x, y in zip(grads_of(cf, a, b), grads_of(f, a, b)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    assert cf.stats["eager"] == 0, cf.stats["reason"]


def test_double_backward_through_a_compiled_function():
    x = ct.tensor([0.3, -1.2, 2.0], requires_grad=True)
    f = ct.compile(lambda x: (x * x * x).sum())
    (gx,) = ct.autograd.grad(f(x), x, create_graph=True)
    np.testing.assert_allclose(host(gx.detach()), 3 * host(x.detach()) ** 2, rtol=1e-6)
    gx.sum().backward()
    np.testing.assert_allclose(host(x.grad), 6 * host(x.detach()), rtol=1e-6)


def test_compiled_module_trains():
    ct.manual_seed(0)
    model = ct.nn.Sequential(ct.nn.Linear(4, 8), ct.nn.Tanh(), ct.nn.Linear(8, 1))
    cm = ct.compile(model)
    assert cm.training and len(list(cm.parameters())) == 4      # a module's attributes stay reachable
    x, y = ct.randn(16, 4), ct.randn(16, 1)
    loss_fn = ct.compile(lambda p, t: ((p - t) ** 2).mean())
    ref = [p.detach().clone() for p in model.parameters()]
    loss = loss_fn(cm(x), y)
    loss.backward()
    grads = [host(p.grad).copy() for p in model.parameters()]
    for p, r in zip(model.parameters(), ref):
        p.grad = None
        assert np.array_equal(host(p.detach()), host(r))
    ((model(x) - y) ** 2).mean().backward()
    for gc, p in zip(grads, model.parameters()):
        np.testing.assert_allclose(gc, host(p.grad), rtol=1e-5, atol=1e-6)


def test_inplace_on_traced_tensor_that_requires_grad_is_refused_before_running():
    x = ct.ones(3, requires_grad=True)

    def f(x):
        y = x * 2
        y.add_(1)
        return y
    cf = ct.compile(f)
    r = cf(x)                         # nothing ran before the refusal: the whole call runs eagerly
    assert r.tolist() == [3.0, 3.0, 3.0] and cf.stats["eager"] == 1 and "in-place" in cf.stats["reason"]
    r.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_pow_special_exponents_match_torch_forms():
    x = ct.tensor([-2.0, -0.0, 0.0, 0.25, 3.0, float("inf"), float("nan")])
    xn = host(x)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(host(x ** 2), xn * xn)
        np.testing.assert_array_equal(host(x ** 3), xn * xn * xn)
        np.testing.assert_array_equal(host(x ** 0.5), np.sqrt(xn))
        np.testing.assert_array_equal(host(x ** -1), 1 / xn)
        np.testing.assert_allclose(host(x ** -0.5), 1 / np.sqrt(xn), rtol=1e-6)
        np.testing.assert_array_equal(host(x ** 1), xn)
    assert (ct.arange(5) ** 2).tolist() == [0, 1, 4, 9, 16]


# ---------------------------------------------------------------- random chains: compiled == eager

_UN = ["neg", "abs", "exp", "tanh", "sigmoid", "relu", "sqrt", "square", "floor", "sin", "log1p", "bitwise_not",
       "logical_not", "float", "int", "half"]
_BIN = ["add", "sub", "mul", "div", "maximum", "minimum", "eq", "lt", "where", "pow2", "scalar_add", "rsub",
        "bitwise_and", "remainder_s", "clamp"]


def _apply_step(step, vals, k):
    kind, i, j = step
    a, b = vals[i % len(vals)], vals[j % len(vals)]
    f = a.dtype.is_floating_point
    if kind == "neg":
        return -a if a.dtype != ct.bool else ~a
    if kind in ("exp", "tanh", "sigmoid", "sqrt", "sin", "log1p"):
        return getattr(a.float() if not f else a, kind)()
    if kind == "relu":
        return a.relu() if a.dtype != ct.bool else a
    if kind == "bitwise_not":
        return ~a if not f else a.abs()
    if kind == "logical_not":
        return a.logical_not()
    if kind in ("abs", "square", "floor"):
        return getattr(a, kind)() if (f or kind != "floor") and a.dtype != ct.bool else a
    if kind == "float":
        return a.float()
    if kind == "int":
        return (a * 3).to(ct.int32) if a.dtype != ct.bool else a.int()
    if kind == "half":
        return a.half() if f else a
    if kind == "where":
        return ct.where(a > 0 if a.dtype != ct.bool else a, b, 0.5)
    if kind == "pow2":
        return a ** 2 if a.dtype != ct.bool else a
    if kind == "scalar_add":
        return a + (k % 5 - 2) * 0.75
    if kind == "rsub":
        return 3 - a if a.dtype != ct.bool else a
    if kind == "bitwise_and":
        return a & b if not (f or b.dtype.is_floating_point) else a * b
    if kind == "remainder_s":
        return a % 3 if a.dtype != ct.bool else a
    if kind == "clamp":
        return a.clamp(-1, 2) if a.dtype != ct.bool else a
    if kind == "div":
        return a / (b.abs() + 1) if b.dtype != ct.bool else a / 2
    if kind in ("sub",) and (a.dtype == ct.bool or b.dtype == ct.bool):
        return a.int() - b.int()
    return getattr(ct, kind)(a, b)


def _program(steps, nout):
    def f(x, y, z):
        vals = [x, y, z]
        for k, s in enumerate(steps):
            vals.append(_apply_step(s, vals, k))
        return tuple(vals[-nout:])
    return f


@pytest.mark.parametrize("seed", range(24))
def test_random_chains_match_eager(seed):
    g = np.random.default_rng(100 + seed)
    dts = [np.float32, np.float32, np.int32, np.int64, np.float16, np.bool_, np.uint8]
    shape = (int(g.integers(1, 6)), int(g.integers(1, 40)))
    def make():
        dt = dts[int(g.integers(0, len(dts)))]
        v = g.standard_normal(shape) * 3
        t = ct.tensor(v.astype(dt) if dt is not np.bool_ else v > 0)
        r = int(g.integers(0, 4))
        if r == 1:
            t = ct.tensor(np.ascontiguousarray((v.T if dt is not np.bool_ else (v > 0).T)).astype(dt)).T
        elif r == 2:
            t = t[:, :1].expand(shape) if shape[1] > 1 else t
        elif r == 3:
            t = ct.tensor(np.concatenate([v, v], 1).astype(dt) if dt is not np.bool_ else np.concatenate([v, v], 1) > 0)[:, ::2]
        return t
    x, y, z = make(), make(), make()
    ops = _UN + _BIN
    steps = [(ops[int(g.integers(0, len(ops)))], int(g.integers(0, 10)), int(g.integers(0, 10)))
             for _ in range(int(g.integers(2, 9)))]
    f = _program(steps, int(g.integers(1, 3)))
    with np.errstate(all="ignore"):
        try:
            want = f(x, y, z)
        except (RuntimeError, NotImplementedError, TypeError) as e:
            with pytest.raises(type(e)):
                ct.compile(f)(x, y, z)
            return
        cf = ct.compile(f)
        got = cf(x, y, z)
        assert cf.stats["eager"] == 0, cf.stats["reason"]
        for r, e in zip(got, want):
            assert r.dtype == e.dtype and r.shape == e.shape, steps
            rn, en = host(r), host(e)
            if r.dtype.is_floating_point:
                np.testing.assert_allclose(rn.astype(np.float64), en.astype(np.float64), rtol=2e-3 if r.dtype ==
                                           ct.float16 else 1e-5, atol=1e-5, equal_nan=True, err_msg=str(steps))
            else:
                np.testing.assert_array_equal(rn, en, err_msg=str(steps))


# ---------------------------------------------------------------- GEMM epilogues: mm / addmm / linear + a chain

@pytest.fixture(params=["reg", "local"])
def variant(request, monkeypatch):
    """Both GEMM kernels (the CPU register tiles and the GPU __local tiles), whatever the environment chose."""
    monkeypatch.setenv("CLTENSOR_GEMM_VARIANT", request.param)
    _gemm._configs.clear()
    _gemm._plans.clear()
    yield request.param
    _gemm._configs.clear()
    _gemm._plans.clear()


_EPI = {
    "linear+relu": lambda x, w, b: F.linear(x, w, b).relu(),
    "linear+tanh": lambda x, w, b: F.linear(x, w, b).tanh(),
    "addmm+leaky_relu": lambda x, w, b: F.leaky_relu(ct.addmm(b, x, w.T, beta=0.5, alpha=2.0), 0.1),
    "addmm+clamp": lambda x, w, b: ct.addmm(b, x, w.T).clamp(-0.5, 0.5),
    "mm*2+1 sigmoid": lambda x, w, b: ((x @ w.T) * 2 + 1).sigmoid(),
    "mm(W^T contiguous)+relu6": lambda x, w, b: F.relu6(ct.mm(x, w.T.contiguous()) * 3),
    "linear no bias+hardtanh": lambda x, w, b: F.hardtanh(F.linear(x, w), -0.3, 0.2),
}


def _mats(M, K, N, dt=np.float32, layout="contiguous", seed=0):
    g = np.random.default_rng(seed)
    xn = g.standard_normal((M, K)).astype(dt)
    if layout == "transposed":         # x read with row stride 1 (the register kernel swaps the roles of A, B)
        x = ct.tensor(np.ascontiguousarray(xn.T)).T
    elif layout == "offset-slice":
        x = ct.tensor(np.concatenate([xn, xn], 1))[:, 1:K + 1]
    else:
        x = ct.tensor(xn)
    return x, ct.tensor(g.standard_normal((N, K)).astype(dt)), ct.tensor(g.standard_normal(N).astype(dt))


@pytest.mark.parametrize("case", list(_EPI))
@pytest.mark.parametrize("M,K,N", [(1, 7, 33), (7, 33, 1), (33, 129, 7), (129, 1, 129)])
def test_gemm_epilogue_matches_eager(variant, case, M, K, N):
    f = _EPI[case]
    x, w, b = _mats(M, K, N)
    cf = ct.compile(f)
    r, n = launches(cf, x, w, b)
    np.testing.assert_allclose(host(r), host(f(x, w, b)), rtol=1e-5, atol=1e-5)
    _, n_gemm = launches(lambda: ct.mm(x, w.T.contiguous() if "contiguous" in case else w.T))
    assert n == n_gemm, "the chain after the GEMM must run inside the GEMM kernel"
    assert cf.stats == {"calls": 1, "breaks": 0, "eager": 0, "reason": None, "plain": 0}


@pytest.mark.parametrize("layout", ["transposed", "offset-slice"])
def test_gemm_epilogue_on_strided_operands(variant, layout):
    for M, K, N in [(1, 9, 20), (33, 7, 129), (70, 45, 33)]:
        x, w, b = _mats(M, K, N, layout=layout)
        for f in (_EPI["linear+relu"], _EPI["addmm+leaky_relu"],
                  lambda x, w, b: F.leaky_relu(ct.addmm(b * 2, x * 3, w.T), 0.3)):   # traced operands: computed first
            np.testing.assert_allclose(host(ct.compile(f)(x, w, b)), host(f(x, w, b)), rtol=1e-5, atol=1e-5)


def test_linear_relu_is_one_kernel(variant):
    x, w, b = _mats(64, 48, 40)
    r, n = launches(ct.compile(_EPI["linear+relu"]), x, w, b)
    _, n_mm = launches(lambda: x @ w.T)      # the GEMM alone (reg: with its copy of W^T into column panels)
    assert n == n_mm and (variant == "reg" or n == 1)
    wt = w.T.contiguous()                    # a weight stored K x N needs no panel copy: one kernel, both variants
    r2, n2 = launches(ct.compile(lambda x, wt, b: ct.addmm(b, x, wt).relu()), x, wt, b)
    assert n2 == 1
    np.testing.assert_allclose(host(r2), host(r), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(host(r), np.maximum(host(x) @ host(w).T + host(b), 0), rtol=1e-5, atol=1e-5)


_BIAS_ADD = {
    "(x @ w.T + b).relu()": lambda x, w, b, c: (x @ w.T + b).relu(),
    "(b + x @ w.T).tanh()": lambda x, w, b, c: (b + x @ w.T).tanh(),
    "x @ w.T + b[None]": lambda x, w, b, c: x @ w.T + b[None],
    "(x @ w.T + c) * 2": lambda x, w, b, c: (x @ w.T + c) * 2,
    "mm(x, w.T) + b, relu6": lambda x, w, b, c: F.relu6(ct.mm(x, w.T) + b),
}


@pytest.mark.parametrize("case", list(_BIAS_ADD))
@pytest.mark.parametrize("M,K,N", [(1, 7, 33), (33, 129, 7)])
def test_bias_added_with_plus_is_read_by_the_gemm(variant, case, M, K, N):
    f = _BIAS_ADD[case]
    x, w, b = _mats(M, K, N)
    c = ct.tensor(np.random.default_rng(1).standard_normal((M, N)).astype(np.float32))
    r, n = launches(ct.compile(f), x, w, b, c)
    want = f(x, w, b, c)
    np.testing.assert_allclose(host(r), host(want), rtol=1e-5, atol=1e-5)
    _, n_gemm = launches(lambda: x @ w.T)
    assert n == n_gemm, "bias add and chain run inside the GEMM kernel"


def test_bias_add_that_cannot_fold_gives_eager_results(variant):
    x, w, b = _mats(9, 20, 17)
    g = np.random.default_rng(2)
    fns = {
        "float16": (lambda x, w, b: (x @ w.T + b).relu(), [t.half() for t in (x, w, b)]),
        "bias of another dtype": (lambda x, w, b: x @ w.T + b, [x, w, b.half()]),
        "3-D bias": (lambda x, w, b: x @ w.T + b.reshape(1, 1, 17), [x, w, b]),
        "alpha": (lambda x, w, b: ct.addmm(b, x, w.T, beta=0, alpha=3.0) + b, [x, w, b]),
        "product kept": (lambda x, w, b: (lambda p: (p + b, p * 1))(x @ w.T), [x, w, b]),
        "integer": (lambda x, w, b: x @ w.T + b, [ct.tensor(g.integers(-9, 9, t.shape)) for t in (x, w, b)]),
    }
    for name, (f, args) in fns.items():
        cf = ct.compile(f)
        got, want = cf(*args), f(*args)
        got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
        for u, v in zip(got, want):
            assert u.dtype == v.dtype and u.shape == v.shape, name
            if u.dtype.is_floating_point:
                tol = 2e-3 if u.dtype == ct.float16 else 1e-5
                np.testing.assert_allclose(host(u.float()), host(v.float()), rtol=tol, atol=tol, err_msg=name)
            else:
                np.testing.assert_array_equal(host(u), host(v), err_msg=name)
        assert cf.stats["eager"] == 0, (name, cf.stats["reason"])
    wg, bg = w.clone().requires_grad_(), b.clone().requires_grad_()     # gradients needed: eager add
    r = ct.compile(lambda x, w, b: (x @ w.T + b).relu())(x, wg, bg)
    r.sum().backward()
    np.testing.assert_allclose(host(bg.grad), (host(x) @ host(w).T + host(b) > 0).sum(0), rtol=1e-6)


@pytest.mark.parametrize("dt", [ct.int32, ct.int64, ct.int8, ct.float64])
def test_gemm_epilogue_dtypes(variant, dt):
    g = np.random.default_rng(5)
    for M, K, N in [(1, 7, 33), (33, 129, 7)]:
        x, w, b = (ct.tensor(g.integers(-9, 9, s), dtype=dt) for s in ((M, K), (K, N), (N,)))
        if dt is ct.float64:
            x, w, b = (t + ct.tensor(g.standard_normal(t.shape), dtype=dt) for t in (x, w, b))

        def f(x, w, b):
            return (ct.addmm(b, x, w) * 3 - 1).clamp(min=-5)
        cf = ct.compile(f)
        r, n = launches(cf, x, w, b)
        e = f(x, w, b)
        assert r.dtype == e.dtype == dt and n == 1
        if dt is ct.float64:
            np.testing.assert_allclose(host(r), host(e), rtol=1e-12, atol=1e-12)
        else:
            np.testing.assert_array_equal(host(r), host(e))   # int8 wraps the same way


def test_epilogue_scalars_are_kernel_arguments():
    x, w, b = _mats(9, 20, 17)
    cf = ct.compile(lambda x, w, b, s: F.leaky_relu(F.linear(x, w, b), s))
    want = {s: host(F.leaky_relu(F.linear(x, w, b), s)) for s in (0.1, 0.2, 0.3)}
    cf(x, w, b, 0.1)
    builds = K.stats["builds"]
    for s in (0.2, 0.3):
        np.testing.assert_allclose(host(cf(x, w, b, s)), want[s], rtol=1e-5, atol=1e-6)
    assert K.stats["builds"] == builds, "a new scalar value must not build a new kernel"


def test_compiled_mlp_inference_fuses_each_linear_relu(variant):
    ct.manual_seed(0)
    model = ct.nn.Sequential(ct.nn.Linear(20, 33), ct.nn.ReLU(), ct.nn.Linear(33, 7), ct.nn.ReLU(),
                             ct.nn.Linear(7, 3))
    cm = ct.compile(model)
    x = ct.randn(5, 20)
    with ct.no_grad():
        want, n_eager = launches(model, x)
        got, n = launches(cm, x)
    np.testing.assert_allclose(host(got), host(want), rtol=1e-5, atol=1e-6)
    assert n == n_eager - 2 and cm.stats["breaks"] == 0, "one kernel per Linear+ReLU pair"
    got = cm(x)                              # with gradients needed: eager Linear layers, same values
    assert got.requires_grad and cm.stats["eager"] == 0
    np.testing.assert_allclose(host(got.detach()), host(want), rtol=1e-5, atol=1e-6)


def test_chains_that_cannot_be_epilogues_give_eager_results(variant):
    x, w, b = _mats(7, 33, 9)
    c = ct.randn(7, 9)
    z = ct.randn(3, 1, 9)
    fns = {
        "tensor operand": lambda x: (x @ w.T + c).relu(),
        "broadcast to another shape": lambda x: ((x @ w.T) * z).tanh(),
        "used twice": lambda x: ((x @ w.T).relu(), (x @ w.T) * 2, (lambda y: (y.relu(), y - 1))(x @ w.T)),
        "dtype change": lambda x: (F.linear(x, w, b) > 0, (x @ w.T).to(ct.float16) * 2),
        "view in between": lambda x: (F.linear(x, w, b).T * 2).relu(),
        "reduction": lambda x: ((x @ w.T).relu().sum(), (x @ w.T).sum(1).relu()),
        "alive at a break": lambda x: (lambda y: (y.relu() * float(y.sum().item() > -1e9)))(x @ w.T),
        "mm of mm": lambda x: ((x @ w.T).relu() @ w).relu(),
        "3-D input": lambda x: F.linear(x.reshape(1, 7, 33), w, b).relu(),
    }
    for name, f in fns.items():
        cf = ct.compile(f)
        got, want = cf(x), f(x)
        got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
        for r, e in zip(got, want):
            r, e = (r if isinstance(r, tuple) else (r,)), (e if isinstance(e, tuple) else (e,))
            for u, v in zip(r, e):
                assert u.dtype == v.dtype and u.shape == v.shape, name
                np.testing.assert_allclose(host(u).astype(np.float64), host(v).astype(np.float64), rtol=1e-3
                                           if u.dtype == ct.float16 else 1e-5, atol=1e-5, err_msg=name)
        assert cf.stats["eager"] == 0, (name, cf.stats["reason"])


def test_gemm_with_gradients_needed_stays_eager_and_exact():
    x, w, b = _mats(6, 10, 4)
    w.requires_grad_()
    b.requires_grad_()
    def f(x, w, b):
        return F.linear(x * 2, w, b).relu()
    cf = ct.compile(f)
    r = cf(x, w, b)                          # the Linear runs eagerly: a graph break (x * 2 is computed first)
    assert cf.stats["breaks"] == 1 and cf.stats["eager"] == 0
    r.sum().backward()
    gw, gb = host(w.grad).copy(), host(b.grad).copy()
    w.grad = b.grad = None
    f(x, w, b).sum().backward()
    np.testing.assert_allclose(gw, host(w.grad), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gb, host(b.grad), rtol=1e-5, atol=1e-6)
    with ct.no_grad():                       # the same call without gradients: fused
        r2, n = launches(cf, x, w, b)
    _, n_mm = launches(lambda: x @ w.detach().T)
    assert n == n_mm + 1 and not r2.requires_grad       # x * 2, then the GEMM with the ReLU
    np.testing.assert_allclose(host(r2), host(r.detach()), rtol=1e-5, atol=1e-6)


def test_compiled_calls_free_their_values_without_the_cyclic_gc():
    """Values of a compiled call (outputs, intermediates, the fused backward's) are freed by reference counting:
    a cycle through view nodes or the backward closure kept them until Python's cyclic GC ran, so the memory
    pool could not reuse their buffers (a compiled F.linear ran 2.3x slower than eager on fresh pages)."""
    import gc
    ct.manual_seed(0)
    x, t = ct.randn(64, 32), ct.randn(64, 1)
    m = ct.nn.Sequential(ct.nn.Linear(32, 20), ct.nn.ReLU(), ct.nn.Linear(20, 1))
    cm, loss_fn = ct.compile(m), ct.compile(lambda p, t: ((p - t) ** 2).mean())
    lin = ct.compile(lambda x, w, b: (x.T * 2).T @ w.T + b)
    opt = ct.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    rt = x._st.rt

    def step():
        loss = loss_fn(cm(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with ct.no_grad():
            lin(x, m[0].weight, m[0].bias)
    gc.collect()
    gc.disable()
    try:
        step()
        step()
        ct.synchronize()
        before = rt.memory_stats()["allocated_bytes"]
        for _ in range(10):
            step()
        ct.synchronize()
        assert rt.memory_stats()["allocated_bytes"] == before
    finally:
        gc.enable()


def test_calls_whose_trace_fused_nothing_run_eagerly_next_time():
    a, b = ct.randn(5, 7), ct.randn(5, 7)
    single = ct.compile(lambda a, b: a + b)                 # one op: tracing cannot save a launch
    for _ in range(3):
        np.testing.assert_allclose(host(single(a, b)), host(a + b))
    assert single.stats["calls"] == 1 and single.stats["plain"] == 2
    single(ct.randn(3), ct.randn(3))                        # another signature is traced again (once)
    single(a.half(), b.half())
    assert single.stats["calls"] == 3
    big = ct.randn(200, 100)                                # more than SMALL elements: a chain that fuses
    fusing = ct.compile(chain)                              # stays compiled
    for _ in range(3):
        same(fusing(big, big, big), chain(big, big, big), exact=False)
    assert fusing.stats["calls"] == 3 and fusing.stats["plain"] == 0
    ct.manual_seed(0)                                       # Linear layers needing gradients are graph breaks:
    m = ct.nn.Sequential(ct.nn.Linear(10, 50), ct.nn.ReLU(), ct.nn.Linear(50, 1))    # the ReLU alone fuses nothing
    cm = ct.compile(m)
    x = ct.randn(32, 10)
    for _ in range(3):
        cm(x).sum().backward()
    g = host(m[0].weight.grad).copy()
    m.zero_grad()
    for _ in range(3):
        m(x).sum().backward()
    np.testing.assert_allclose(g, host(m[0].weight.grad), rtol=1e-5, atol=1e-6)
    assert cm.stats["calls"] == 1 and cm.stats["plain"] == 2


def test_small_calls_keep_the_faster_mode_after_timed_trials(monkeypatch):
    from cltensor import _fusion
    a, b, c = ct.randn(5, 7), ct.randn(5, 7), ct.randn(5, 7)
    want = chain(a, b, c)
    for slow, mode in (("trace", "eager"), ("eager", "trace")):
        f = ct.compile(chain)
        real = f.fn
        clock = [0.0]

        def fn(*args):                  # the slow mode advances a fake clock further
            clock[0] += 5.0 if (slow == "trace") == _fusion.is_sym(args[0]) else 1.0
            return real(*args)
        f.__dict__["fn"] = fn
        monkeypatch.setattr(_fusion.time, "perf_counter", lambda: clock[0])
        for _ in range(1 + 2 * _fusion.TRIALS):      # one traced call, then TRIALS of each mode, alternating
            same(f(a, b, c), want, exact=False)
        assert f.stats["calls"] == 1 + _fusion.TRIALS and f.stats["plain"] == _fusion.TRIALS
        calls, plain = f.stats["calls"], f.stats["plain"]
        for _ in range(4):
            same(f(a, b, c), want, exact=False)
        assert (f.stats["calls"] - calls, f.stats["plain"] - plain) == ((4, 0) if mode == "trace" else (0, 4))
        monkeypatch.undo()
