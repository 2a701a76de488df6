"""Reductions, scans, sorting and softmax against numpy (values, dtypes, layouts, errors) + gradchecks."""
import math

import numpy as np
import pytest

import cltensor as ct
from cltensor.autograd import gradcheck, gradgradcheck
from _host import host

NAN = float("nan")


def T(a, **kw):
    return ct.tensor(np.asarray(a), **kw)


def close(r, e, rtol=1e-5, atol=1e-6, dtype=None):
    r = host(r) if isinstance(r, ct.Tensor) else np.asarray(r)
    e = np.asarray(e)
    assert r.shape == e.shape, (r.shape, e.shape)
    if dtype is not None:
        assert r.dtype == np.dtype(dtype), (r.dtype, dtype)
    if e.dtype == bool or np.issubdtype(e.dtype, np.integer):
        np.testing.assert_array_equal(r, e)
    else:
        np.testing.assert_allclose(r.astype(np.complex128 if np.iscomplexobj(r) else np.float64), e,
                                   rtol=rtol, atol=atol, equal_nan=True)


def layouts(a):
    """(name, tensor view, the same view in numpy) over several memory layouts of a 3-d array."""
    t = ct.tensor(a)
    yield "contiguous", t, a
    yield "transposed", t.permute(2, 0, 1), a.transpose(2, 0, 1)
    yield "stepped", t[::2, :, 1::2], a[::2, :, 1::2]
    e = a[:, :1, :]
    yield "expanded", ct.tensor(e).expand(a.shape[0], 4, a.shape[2]), np.broadcast_to(e, (a.shape[0], 4, a.shape[2]))


def np_dims(dim, nd):
    if dim is None:
        return None
    return tuple(d % nd for d in dim) if isinstance(dim, tuple) else dim % nd


DIMS = [None, 0, -1, (0, 2)]


# ------------------------------------------------------------------------------------------ sum over dtypes

@pytest.mark.parametrize("dt", ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64",
                                "complex64"])
def test_sum_dtypes(dt, has_fp64):
    rng = np.random.default_rng(1)
    if dt == "bool":
        a = rng.random((3, 5, 7)) > 0.5
    elif dt.startswith("float"):
        a = rng.standard_normal((3, 5, 7)).astype(dt)
    elif dt.startswith("complex"):
        a = (rng.standard_normal((3, 5, 7)) + 1j * rng.standard_normal((3, 5, 7))).astype(dt)
    else:
        a = rng.integers(0, 100, (3, 5, 7)).astype(dt)
    t = ct.tensor(a)
    odt = np.int64 if dt in ("bool", "uint8", "int8", "int32", "int64") else a.dtype
    tol = dict(rtol=2e-3, atol=2e-3) if dt == "float16" else {}
    for dim in DIMS:
        for kd in (False, True):
            e = a.astype(np.float64 if dt == "float16" else odt).sum(axis=np_dims(dim, 3), keepdims=kd)
            close(t.sum(dim=dim, keepdim=kd), e.astype(odt), dtype=odt, **tol)
    if dt != "complex64" and has_fp64:
        close(ct.sum(t, dim=1, dtype=ct.float64), a.astype(np.float64).sum(1), dtype=np.float64)


def test_sum_accuracy_16m_float32():
    a = np.random.default_rng(0).random(16 * 1024 * 1024, dtype=np.float32)
    t = ct.tensor(a)
    truth = a.astype(np.float64).sum()
    assert abs(t.sum().item() - truth) / truth < 1e-6
    assert abs(t.mean().item() - truth / a.size) / (truth / a.size) < 1e-6


@pytest.mark.fp64
def test_split_and_layout_paths():
    rng = np.random.default_rng(2)
    # few outputs, long rows: inner layout with chunk partials + second stage
    a = rng.standard_normal((3, 50001)).astype(np.float32)
    t = ct.tensor(a)
    close(t.sum(1), a.astype(np.float64).sum(1), rtol=1e-5, atol=1e-3)
    close(t.amax(1), a.max(1))
    close(t.argmax(1), a.argmax(1))
    close(t.T.sum(0), a.astype(np.float64).sum(1), rtol=1e-5, atol=1e-3)
    # outer dims reduced: sweep (wide contiguous kept dim), lanes (narrow kept dim), arg lanes
    b = rng.standard_normal((3001, 37)).astype(np.float32)
    tb = ct.tensor(b)
    close(tb.sum(0), b.astype(np.float64).sum(0), rtol=1e-5, atol=1e-3)
    close(tb.mean(0), b.mean(0), rtol=1e-5, atol=1e-5)
    close(tb.amin(0), b.min(0))
    close(tb.argmin(0), b.argmin(0))
    close(tb.std(0), b.std(0, ddof=1), rtol=1e-4)
    c = rng.standard_normal((20001, 3)).astype(np.float32)
    close(ct.tensor(c).sum(0), c.astype(np.float64).sum(0), rtol=1e-5, atol=1e-3)
    close(ct.tensor(c).max(0).indices, c.argmax(0))
    # float16 accumulates in float
    h = rng.random(30000).astype(np.float16)
    close(ct.tensor(h).sum(), h.astype(np.float64).sum().astype(np.float16), rtol=1e-3, dtype=np.float16)
    h3 = rng.standard_normal((6, 33, 31)).astype(np.float16)   # vector min/max over half loads (a PoCL crash once)
    close(ct.tensor(h3).amin((1, 2)), h3.min((1, 2)), dtype=np.float16)
    close(ct.tensor(h3).amax((1, 2)), h3.max((1, 2)), dtype=np.float16)
    close(ct.tensor(h3).argmin(2), h3.argmin(2))
    # a 4-d reduction over non-adjacent dims of a permuted tensor
    d = rng.standard_normal((4, 5, 6, 7))
    td = ct.tensor(d).permute(3, 1, 0, 2)
    close(td.sum((0, 2)), d.transpose(3, 1, 0, 2).sum((0, 2)))
    close(td.var((1, 3), keepdim=True), d.transpose(3, 1, 0, 2).var((1, 3), ddof=1, keepdims=True))


# ------------------------------------------------------------------------------------------ layouts x ops

def _np_ref(op, a, dim, kd):
    ax = np_dims(dim, a.ndim)
    a64 = a.astype(np.float64)
    if op == "sum":
        return a64.sum(axis=ax, keepdims=kd)
    if op == "mean":
        return a64.mean(axis=ax, keepdims=kd)
    if op == "prod":
        return a64.prod(axis=ax, keepdims=kd)
    if op == "amax":
        return a.max(axis=ax, keepdims=kd)
    if op == "amin":
        return a.min(axis=ax, keepdims=kd)
    if op == "std":
        return a64.std(axis=ax, ddof=1, keepdims=kd)
    if op == "var":
        return a64.var(axis=ax, ddof=0, keepdims=kd)
    if op == "norm":
        return np.sqrt((a64 * a64).sum(axis=ax, keepdims=kd))
    if op == "logsumexp":
        m = a64.max(axis=ax, keepdims=True)
        r = np.log(np.exp(a64 - m).sum(axis=ax, keepdims=True)) + m
        return r if kd else np.squeeze(r, axis=ax if ax is not None else tuple(range(a.ndim)))
    raise AssertionError(op)


def _ct_op(op, t, dim, kd):
    if op == "amax" or op == "amin":
        return getattr(t, op)(() if dim is None else dim, keepdim=kd)
    if op == "prod":
        return t.prod(dim, keepdim=kd) if dim is not None else t.prod()
    if op == "var":
        return t.var(dim, keepdim=kd, correction=0)
    if op == "norm":
        return t.norm(dim=dim, keepdim=kd)
    if op == "logsumexp":
        return t.logsumexp(dim if dim is not None else tuple(range(t.dim())), keepdim=kd)
    return getattr(t, op)(dim=dim, keepdim=kd)


@pytest.mark.parametrize("op", ["sum", "mean", "prod", "amax", "amin", "std", "var", "norm", "logsumexp"])
def test_float_ops_layouts(op):
    a = np.random.default_rng(3).uniform(0.5, 1.5, (5, 6, 7)).astype(np.float32)
    for name, t, na in layouts(a):
        for dim in DIMS:
            if op == "prod" and isinstance(dim, tuple):
                continue
            for kd in (False, True):
                if op == "prod" and dim is None and kd:
                    continue
                r = _ct_op(op, t, dim, kd)
                assert r.dtype == ct.float32
                close(r, _np_ref(op, na, dim, kd), rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize("dt", ["float64", "int32", "uint8", "bool"])
def test_minmax_arg_dtypes_layouts(dt):
    rng = np.random.default_rng(4)
    a = rng.integers(0, 5, (5, 6, 7)).astype(dt) if dt != "float64" else rng.standard_normal((5, 6, 7))
    for name, t, na in layouts(a):
        for dim in (0, -1, 1):
            for kd in (False, True):
                v, i = t.max(dim, keepdim=kd)
                close(v, np.max(na, axis=dim, keepdims=kd), dtype=a.dtype)
                close(i, np.expand_dims(np.argmax(na, axis=dim), dim) if kd else np.argmax(na, axis=dim),
                      dtype=np.int64)
                v, i = ct.min(t, dim=dim, keepdim=kd)
                close(v, np.min(na, axis=dim, keepdims=kd))
                close(i, np.argmin(na, axis=dim) if not kd else np.expand_dims(np.argmin(na, axis=dim), dim))
        if dt == "bool":                        # PyTorch: "argmax(): does not support bool input"
            with pytest.raises(RuntimeError, match="does not support bool input"):
                t.argmax()
        else:
            close(t.argmax(), np.argmax(na))    # flat index in row-major order of the view
            close(t.argmin(), np.argmin(na))
        close(t.max(), na.max())
        close(t.amin((0, 2)), na.min(axis=(0, 2)))


def test_zero_dim_and_empty():
    s = ct.tensor(3.5)
    for op in ("sum", "mean", "amax", "amin", "prod", "logsumexp"):
        close(_ct_op(op, s, 0, False), np.float32(3.5))
    v, i = s.max(0)
    assert v.shape == () and i.item() == 0
    assert s.argmax().item() == 0 and s.sum(-1).shape == ()
    close(s.cumsum(0), np.float32(3.5))
    close(ct.sort(s).values, np.float32(3.5))
    close(s.softmax(0), np.float32(1.0))
    with pytest.raises(IndexError):
        s.sum(1)
    e = ct.empty(0)
    assert e.sum().item() == 0 and e.prod().item() == 1 and math.isnan(e.mean().item())
    e2 = ct.empty(0, 3)
    close(e2.sum(0), np.zeros(3, np.float32))
    close(e2.sum(1), np.zeros(0, np.float32))
    close(ct.empty(0, 3, dtype=ct.int32).sum(0), np.zeros(3, np.int64), dtype=np.int64)
    close(e2.amax(1), np.zeros(0, np.float32))
    assert e2.max(1).indices.shape == (0,) and e2.max(1).indices.dtype == ct.int64
    assert e2.all().item() is True and e2.any().item() is False
    assert ct.count_nonzero(e2).item() == 0
    with pytest.raises(RuntimeError, match=r"max\(\): Expected reduction dim to be specified for input.numel\(\) "
                                           r"== 0. Specify the reduction dim with the 'dim' argument."):
        e.max()
    with pytest.raises(RuntimeError, match="amax"):
        e.amax()
    with pytest.raises(IndexError, match=r"max\(\): Expected reduction dim 0 to have non-zero size."):
        e2.max(0)
    with pytest.raises(IndexError, match="amax"):
        e2.amax(0)
    with pytest.raises(IndexError, match="argmax"):
        e2.argmax()
    with pytest.raises(RuntimeError):
        e.min()
    assert e.cumsum(0).shape == (0,) and ct.sort(e).values.shape == (0,)
    assert math.isnan(e.median().item())


@pytest.mark.fp64
def test_int_bool_dtype_rules():
    i = T([[1, 2], [3, 4]]).to(ct.int32)
    assert i.sum().dtype == ct.int64 and i.prod().dtype == ct.int64 and i.max().dtype == ct.int32
    assert T([True, False, True]).sum().item() == 2
    assert T([True, False]).max().dtype == ct.bool
    assert i.cumsum(0).dtype == ct.int64 and T([True, True]).cumsum(0).tolist() == [1, 2]
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype. Input dtype must be either a "
                                           "floating point or complex dtype. Got: Int"):
        i.mean()
    assert T([1, 2, 3, 4]).to(ct.int64).mean(dtype=ct.float32).item() == 2.5
    with pytest.raises(RuntimeError, match="Long"):
        T([1, 2]).mean()
    assert i.sum(dtype=ct.float32).dtype == ct.float32
    with pytest.raises(RuntimeError, match="std and var only support floating point and complex dtypes"):
        i.std()
    u = T([1, 0, 3]).to(ct.uint8)
    assert u.all().dtype == ct.uint8 and u.all().item() == 0 and u.any().item() == 1
    assert T([1.0, 2.0]).all().dtype == ct.bool
    close(ct.count_nonzero(T([[0, 1, 2], [0, 0, 3]]), dim=1), np.array([2, 1]))
    close(ct.count_nonzero(T([[0, 1, 2], [0, 0, 3]])), np.array(3))
    big = T([2 ** 40, 2 ** 40, 3]).to(ct.int64)
    assert big.sum().item() == 2 ** 41 + 3
    with np.errstate(over="ignore"):
        assert big.prod().item() == np.prod(np.array([2 ** 40, 2 ** 40, 3], np.int64))
    c = T(np.array([1 + 1j, 2 - 1j], np.complex64))
    close(c.mean(), np.complex64(1.5 + 0j))
    close(c.prod(), np.complex64((1 + 1j) * (2 - 1j)))
    close(c.norm(), np.float32(np.sqrt(1 + 1 + 4 + 1)), dtype=np.float32)
    close(c.var(), np.float32(np.var(np.array([1 + 1j, 2 - 1j]), ddof=1)))
    with pytest.raises(NotImplementedError):
        c.max()


@pytest.mark.fp64
def test_dim_errors_and_forms():
    x = T(np.arange(6.0).reshape(2, 3))
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        x.sum((0, 0))
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.sum(2)
    assert x.sum(dim=[]).item() == 15 and x.sum(dim=()).item() == 15 and x.amax(dim=()).item() == 5
    close(x.sum(dim=[-1, 0]), np.array(15.0))
    close(ct.max(x, 1, True).values, np.array([[2.0], [5.0]]))
    close(ct.max(x, T(2.0)), np.maximum(np.arange(6.0).reshape(2, 3), 2.0))
    close(x.max(T(np.ones((2, 3)) * 3)), np.maximum(np.arange(6.0).reshape(2, 3), 3.0))
    close(ct.min(x, T(2.0)), np.minimum(np.arange(6.0).reshape(2, 3), 2.0))
    close(ct.argmax(x, dim=1, keepdim=True), np.array([[2], [2]]))
    close(x.std(0, unbiased=False), np.arange(6.0).reshape(2, 3).std(0))
    close(x.std(0, True, True), np.arange(6.0).reshape(2, 3).std(0, ddof=1, keepdims=True))
    close(x.var(False), np.arange(6.0).var())
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        close(ct.std(x, 0, correction=2), np.full(3, np.inf, np.float32))
    r = ct.aminmax(x, dim=0)
    close(r.min, np.array([0.0, 1, 2]))
    close(r.max, np.array([3.0, 4, 5]))
    assert ct.aminmax(x).max.item() == 5
    out = ct.empty(1)
    ct.sum(x, 0, out=out)
    close(out, np.array([3.0, 5, 7], np.float32))
    close(ct.norm(x, p=1, dim=1), np.abs(np.arange(6.0).reshape(2, 3)).sum(1))
    close(ct.norm(x, float("inf"), dim=0), np.array([3.0, 4, 5]))
    close(ct.norm(x, 0), np.array(5.0))
    close(ct.norm(x, 3, dim=1), (np.arange(6.0).reshape(2, 3) ** 3).sum(1) ** (1 / 3))
    close(ct.norm(x, "fro", dim=(0, 1)), np.array(np.sqrt(55.0)))
    close(ct.nansum(T([1.0, NAN, 2.0])), np.array(3.0, np.float32))
    close(ct.nanmean(T([1.0, NAN, 2.0])), np.array(1.5, np.float32))
    v = ct.var_mean(x, 1)
    close(v[0], np.array([1.0, 1.0]))
    close(v[1], np.array([1.0, 4.0]))


# ------------------------------------------------------------------------------------------ NaN and ties

@pytest.mark.fp64
def test_nan_and_ties():
    a = T([1.0, NAN, 3.0, NAN])
    assert math.isnan(a.max().item()) and math.isnan(a.amin().item()) and math.isnan(a.amax(0).item())
    v, i = a.max(0)
    assert math.isnan(v.item()) and i.item() == 1
    assert a.argmin().item() == 1 and a.argmax().item() == 1
    m = T([[2.0, 5.0, 5.0, 1.0], [7.0, 7.0, 7.0, 0.0]])
    close(m.argmax(1), np.array([1, 0]))
    close(m.max(1).indices, np.array([1, 0]))
    close(m.argmin(1), np.array([3, 3]))
    close(m.T.argmax(0), np.array([1, 0]))
    iv = T([[3, 9, 9], [4, 4, 1]])
    close(iv.argmax(1), np.array([1, 0]))
    close(T([[1.0, NAN], [2.0, 3.0]]).amax(1), np.array([NAN, 3.0], np.float32))
    close(T([[1.0, NAN], [2.0, 3.0]]).amin(0), np.array([1.0, NAN], np.float32))
    assert math.isnan(T([1.0, NAN]).sum().item())
    inf = T([-math.inf, -math.inf])
    assert inf.logsumexp(0).item() == -math.inf and inf.amax().item() == -math.inf
    assert T([math.inf, 1.0]).logsumexp(0).item() == math.inf


@pytest.mark.fp64
def test_amax_backward_splits_ties():
    x = T([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    x.amax().backward()
    close(x.grad, np.array([0, 0.5, 0.5, 0], np.float32))
    x.grad = None
    x.max().backward()
    close(x.grad, np.array([0, 0.5, 0.5, 0], np.float32))
    x.grad = None
    x.max(0).values.backward()
    close(x.grad, np.array([0, 1.0, 0, 0], np.float32))


# ------------------------------------------------------------------------------------------ gradients

def _g(shape, seed=0, lo=-1.0, hi=1.0):
    a = np.random.default_rng(seed).uniform(lo, hi, shape)
    return ct.tensor(a, dtype=ct.float64, requires_grad=True)


@pytest.mark.fp64
def test_grad_node_names():
    x = _g((2, 3))
    names = {
        "SumBackward0": x.sum(), "SumBackward1": x.sum(0), "MeanBackward0": x.mean(), "MeanBackward1": x.mean(1),
        "ProdBackward0": x.prod(), "ProdBackward1": x.prod(0), "AmaxBackward0": x.amax(0),
        "AminBackward0": x.amin(), "MaxBackward1": x.max(), "MaxBackward0": x.max(0).values,
        "MinBackward0": x.min(1).values, "StdBackward0": x.std(), "VarBackward0": x.var(0),
        "LinalgVectorNormBackward0": x.norm(), "LogsumexpBackward0": x.logsumexp(1),
        "CumsumBackward0": x.cumsum(0), "CumprodBackward0": x.cumprod(1), "SoftmaxBackward0": x.softmax(1),
        "LogSoftmaxBackward0": x.log_softmax(0), "SortBackward0": x.sort(1).values,
        "TopkBackward0": x.topk(2).values, "KthvalueBackward0": x.kthvalue(1).values,
        "MedianBackward0": x.median(), "MedianBackward1": x.median(0).values, "CummaxBackward0": x.cummax(0).values,
        "LogcumsumexpBackward0": x.logcumsumexp(1),
    }
    for n, t in names.items():
        assert type(t.grad_fn).__name__ == n, (n, type(t.grad_fn).__name__)
    assert x.max(0).indices.grad_fn is None and x.argmax().grad_fn is None


GRADS = {
    "sum": lambda x: x.sum((0, 2)),
    "sum_keep": lambda x: x.sum(1, keepdim=True),
    "mean": lambda x: x.mean(-1),
    "prod": lambda x: x.prod(1),
    "amax": lambda x: x.amax((0, 1)),
    "max_dim": lambda x: x.max(2).values,
    "min_all": lambda x: x.min(),
    "std": lambda x: x.std(1),
    "var": lambda x: x.var((0, 2), correction=0, keepdim=True),
    "norm2": lambda x: x.norm(dim=1),
    "norm1": lambda x: x.norm(p=1),
    "norm3": lambda x: ct.norm(x, 3, dim=0),
    "norminf": lambda x: ct.norm(x, float("inf"), dim=2),
    "logsumexp": lambda x: x.logsumexp(1),
    "cumsum": lambda x: x.cumsum(1),
    "cumprod": lambda x: x.cumprod(2),
    "softmax": lambda x: x.softmax(1),
    "log_softmax": lambda x: ct.log_softmax(x, -1),
    "sort": lambda x: x.sort(1, descending=True).values,
    "topk": lambda x: x.topk(2, dim=2).values,
    "kthvalue": lambda x: x.kthvalue(2, 0).values,
    "median": lambda x: x.median(1).values,
    "cummax": lambda x: x.cummax(2).values,
    "logcumsumexp": lambda x: x.logcumsumexp(0),
}


@pytest.mark.parametrize("name", list(GRADS))
@pytest.mark.fp64
def test_gradcheck(name):
    x = _g((2, 3, 4), seed=5)
    assert gradcheck(GRADS[name], (x,))


@pytest.mark.fp64
def test_grad_special_cases():
    # prod with one and with two zeros in a slice
    x = ct.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.5, 2.0, -1.0]], dtype=ct.float64, requires_grad=True)
    assert gradcheck(lambda t: t.prod(1), (x,))
    assert gradcheck(lambda t: t.prod(), (x,))
    assert gradcheck(lambda t: t.cumprod(1), (x,))
    # broadcasting backward goes through Tensor.sum(dim=tuple, keepdim=True)
    a = _g((3, 1), 1)
    b = _g((1, 4), 2)
    (a * b).sum().backward()
    close(a.grad, host(b.detach()).sum(1, keepdims=True).repeat(3, 0))
    close(b.grad, host(a.detach()).sum(0, keepdims=True).repeat(4, 1))
    # double backward through sum/softmax
    y = _g((2, 3), 3)
    g1, = ct.autograd.grad(y.softmax(1)[:, 0].sum(), y, create_graph=True)
    g1.sum().backward()
    assert y.grad is not None and y.grad.shape == (2, 3)


# the values that max(dim) / sort / topk / kthvalue / median / cummax pick get their gradient scattered back to
# the picked positions (cltensor/_index/ops.py scatter_add_valid); its own gradient gathers (gather_valid)
PICKS = {
    "max_dim": lambda x: x.max(1).values,
    "min_dim_keep": lambda x: x.min(0, keepdim=True).values,
    "sort": lambda x: x.sort(2, descending=True).values,
    "topk": lambda x: x.topk(2, dim=0).values,
    "kthvalue_keep": lambda x: x.kthvalue(2, 1, keepdim=True).values,
    "median": lambda x: x.median(2).values,
    "cummax": lambda x: x.cummax(1).values,
    "cummin_0d": lambda x: x[0, 0, 0].cummin(0).values,
}


@pytest.mark.parametrize("name", list(PICKS))
@pytest.mark.fp64
def test_value_picks_double_backward(name):
    x = _g((3, 4, 5), seed=7)
    xt = x.transpose(0, 2)      # a strided input
    f = PICKS[name]
    assert gradgradcheck(f, (x,))
    assert gradgradcheck(f, (xt,))


@pytest.mark.parametrize("dt", ["float32", "float64", "float16"])
def test_value_picks_grad_vs_torch(dt):
    """Repeated values (cummax picks one position many times, max/sort break ties), strided inputs."""
    torch = pytest.importorskip("torch")
    a = np.array([[[1, 3, 2, 3, 0], [2, 2, 2, 1, 5]], [[0, 0, 4, 4, 1], [3, 1, 3, 1, 3]]], dtype=dt)
    rng = np.random.default_rng(3)
    for name, f in [("cummax", lambda t: t.cummax(0).values), ("cummin", lambda t: t.cummin(2).values),
                    ("max", lambda t: t.max(0).values), ("sort", lambda t: t.sort(dim=0, stable=True).values),
                    ("median", lambda t: t.median(1, keepdim=True).values)]:
        x = ct.tensor(a, requires_grad=True)
        xr = torch.tensor(a, requires_grad=True)
        y, yr = f(x.permute(2, 1, 0)), f(xr.permute(2, 1, 0))
        gy = rng.uniform(-1, 1, tuple(yr.shape)).astype(dt)
        y.backward(ct.tensor(gy))
        yr.backward(torch.tensor(gy))
        close(y.detach(), yr.detach().numpy(), dtype=dt)
        close(x.grad, xr.grad.numpy(), rtol=1e-3, atol=1e-3, dtype=dt)


def test_value_picks_backward_reads_no_error_flag():
    """Indices made by cltensor's own kernels need no bounds check read back from the device (no host sync)."""
    from cltensor._index import engine
    calls = []
    orig = engine._read_err
    engine._read_err = lambda rt: calls.append(1) or orig(rt)
    try:
        x = ct.tensor(np.random.default_rng(1).uniform(-1, 1, (4, 6)).astype(np.float32), requires_grad=True)
        (x.max(1).values.sum() + x.sort(0).values[1].sum() + x.cummax(1).values.sum() + x.median(1).values.sum()
         + x.topk(2).values.sum()).backward()
        assert calls == []
        x.gather(1, ct.tensor([[0], [1], [2], [3]]))
        assert calls == [1]
    finally:
        engine._read_err = orig


# ------------------------------------------------------------------------------------------ scans

@pytest.mark.parametrize("dt", ["float32", "int32", "bool", "float64"])
def test_cumsum_cumprod(dt, has_fp64):
    rng = np.random.default_rng(6)
    a = (rng.random((4, 5, 6)) > 0.5) if dt == "bool" else rng.uniform(0.5, 1.5, (4, 5, 6)).astype(dt) \
        if dt.startswith("float") else rng.integers(-3, 4, (4, 5, 6)).astype(dt)
    odt = a.dtype if dt.startswith("float") else np.int64
    for name, t, na in layouts(a):
        for dim in (0, 1, -1):
            close(t.cumsum(dim), np.cumsum(na, axis=dim, dtype=odt), dtype=odt, rtol=1e-5)
            close(ct.cumprod(t, dim), np.cumprod(na, axis=dim, dtype=odt), dtype=odt, rtol=1e-5)
    if has_fp64:
        close(ct.cumsum(ct.tensor(a), 1, dtype=ct.float64), np.cumsum(a, 1, dtype=np.float64), dtype=np.float64)


@pytest.mark.fp64
def test_long_scans_chunked():
    rng = np.random.default_rng(7)
    a = rng.random(100003).astype(np.float32)
    close(ct.tensor(a).cumsum(0), np.cumsum(a.astype(np.float64)), rtol=1e-5)
    b = rng.integers(-5, 6, (2, 70001))
    tb = ct.tensor(b)
    close(tb.cumsum(1), np.cumsum(b, 1))
    close(tb.cummax(1).values, np.maximum.accumulate(b, 1))
    close(tb.cummin(1).values, np.minimum.accumulate(b, 1))
    l = rng.standard_normal(50001)
    close(ct.tensor(l).logcumsumexp(0), np.logaddexp.accumulate(l), rtol=1e-10)


@pytest.mark.fp64
def test_cummax_cummin_semantics():
    r = T([3, 1, 3, 1]).cummax(0)
    assert r.values.tolist() == [3, 3, 3, 3] and r.indices.tolist() == [0, 0, 2, 2]
    r = T([3, 1, 3, 1]).cummin(0)
    assert r.values.tolist() == [3, 1, 1, 1] and r.indices.tolist() == [0, 1, 1, 3]
    r = T([3.0, NAN, 3.0, 5.0]).cummax(0)
    assert r.indices.tolist() == [0, 1, 1, 1] and math.isnan(r.values[3].item())
    a = np.random.default_rng(8).standard_normal((5, 7))
    close(ct.tensor(a).T.cummax(0).values, np.maximum.accumulate(a.T, 0))
    close(ct.tensor(a).logcumsumexp(1), np.logaddexp.accumulate(a, 1))


# ------------------------------------------------------------------------------------------ sorting

@pytest.mark.parametrize("n", [1, 5, 16, 17, 100, 1000, 5000])
def test_sort_lengths_stable(n):
    rng = np.random.default_rng(n)
    a = rng.integers(0, max(2, n // 4), n).astype(np.float32)
    t = ct.tensor(a)
    v, i = t.sort()
    close(v, np.sort(a))
    close(i, np.argsort(a, kind="stable"))
    v, i = t.sort(descending=True)
    close(i, np.argsort(-a, kind="stable"))
    close(v, a[np.argsort(-a, kind="stable")])


@pytest.mark.parametrize("dt", ["float64", "int32", "uint8", "bool", "float16", "int8"])
def test_sort_dtypes_layouts(dt):
    rng = np.random.default_rng(9)
    a = (rng.random((5, 6, 7)) > 0.5) if dt == "bool" else rng.integers(-8, 9, (5, 6, 7)).astype(dt) \
        if dt in ("int32", "int8") else rng.integers(0, 9, (5, 6, 7)).astype(dt)
    for name, t, na in layouts(a):
        for dim in (0, -1):
            v, i = ct.sort(t, dim, stable=True)
            close(v, np.sort(na, axis=dim, kind="stable"), dtype=a.dtype)
            close(i, np.argsort(na, axis=dim, kind="stable"))
            close(ct.argsort(t, dim=dim, descending=True),
                  np.argsort(-na.astype(np.int64), axis=dim, kind="stable"))


@pytest.mark.fp64
def test_sort_nan_and_friends():
    a = T([1.0, NAN, 3.0, 2.0, NAN, -1.0])
    v, i = a.sort()
    assert i.tolist() == [5, 0, 3, 2, 1, 4]
    v, i = a.sort(descending=True)
    assert i.tolist() == [1, 4, 2, 3, 0, 5]
    r = a.topk(2)
    assert r.indices.tolist() == [1, 4]
    r = a.topk(2, largest=False)
    assert r.values.tolist() == [-1.0, 1.0] and r.indices.tolist() == [5, 0]
    assert math.isnan(a.median().item())
    m = a.median(0)
    assert math.isnan(m.values.item()) and m.indices.item() == 1
    assert math.isnan(a.kthvalue(6).values.item())
    x = np.random.default_rng(10).standard_normal((6, 9))
    t = ct.tensor(x)
    k = t.kthvalue(4, dim=1)
    close(k.values, np.sort(x, 1)[:, 3])
    close(k.indices, np.argsort(x, 1, kind="stable")[:, 3])
    close(t.kthvalue(2, 0, keepdim=True).values, np.sort(x, 0)[1:2])
    close(t.median(1).values, np.sort(x, 1)[:, 4])
    close(t.T.median(0).values, np.sort(x, 1)[:, 4])
    close(t.median(), np.sort(x.reshape(-1))[(x.size - 1) // 2])
    close(T([4, 1, 3, 2]).median(), np.array(2))
    close(t.topk(3, dim=0).values, -np.sort(-x, 0)[:3])
    close(t.topk(3, dim=1, largest=False).indices, np.argsort(x, 1, kind="stable")[:, :3])
    close(ct.msort(t), np.sort(x, 0))
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        t.topk(10)
    with pytest.raises(RuntimeError, match="kthvalue\\(\\): selected number k out of range for dimension 1"):
        t.kthvalue(0)
    assert ct.empty(0, 3).topk(0).values.shape == (0, 0)


def test_topk_paths():
    rng = np.random.default_rng(13)
    a = rng.integers(0, 50, (2, 30001)).astype(np.float32)      # long rows: chunk candidates + second pass
    a[1, 7] = NAN
    t = ct.tensor(a)
    key = np.where(np.isnan(a), -np.inf, -a)
    for k in (1, 5, 64, 70):                                      # 70 > 64 takes the full-sort path
        r = t.topk(k)
        close(r.indices, np.argsort(key, 1, kind="stable")[:, :k])
        close(r.values, np.take_along_axis(a, np.argsort(key, 1, kind="stable")[:, :k], 1))
    r = t.T.topk(3, dim=0, largest=False)
    close(r.indices, np.argsort(np.where(np.isnan(a), np.inf, a), 1, kind="stable")[:, :3].T)
    close(ct.tensor(a.astype(np.float16)).topk(4, dim=1).values, np.sort(a, 1)[:, ::-1][:, :4].astype(np.float16))
    assert t.sum(axis=1).shape == (2,) and t.max(axis=0).values.shape == (30001,)


@pytest.mark.fp64
def test_unique():
    u, inv, cnt = ct.unique(T([3, 1, 2, 3, 1]), return_inverse=True, return_counts=True)
    assert u.tolist() == [1, 2, 3] and inv.tolist() == [2, 0, 1, 2, 0] and cnt.tolist() == [2, 1, 2]
    a = np.random.default_rng(11).integers(0, 10, (7, 9))
    u, inv = ct.tensor(a).T.unique(return_inverse=True)
    eu, einv = np.unique(a.T, return_inverse=True)
    close(u, eu)
    close(inv, einv.reshape(a.T.shape))
    assert ct.unique(T([NAN, NAN, 1.0])).numel() == 3
    r = ct.unique(T([[1, 2], [1, 2], [3, 4]]), dim=0, return_counts=True)
    assert r[0].tolist() == [[1, 2], [3, 4]] and r[1].tolist() == [2, 1]
    assert ct.unique(ct.empty(0)).shape == (0,)


# ------------------------------------------------------------------------------------------ softmax

def _np_softmax(a, dim):
    e = np.exp(a - a.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


@pytest.mark.fp64
def test_softmax_log_softmax():
    a = np.random.default_rng(12).standard_normal((4, 5, 6)).astype(np.float32) * 3
    for name, t, na in layouts(a):
        for dim in (0, 1, -1):
            close(t.softmax(dim), _np_softmax(na, dim), rtol=1e-5, atol=1e-6)
            close(ct.log_softmax(t, dim), np.log(_np_softmax(na.astype(np.float64), dim)), rtol=1e-5, atol=1e-5)
    big = T([[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -1000.0]])
    close(big.softmax(1), _np_softmax(np.array([[1000.0, 1001, 999], [-1000, -1000, -1000]]), 1), rtol=1e-6)
    assert np.isfinite(host(big.log_softmax(1))).all()
    h = ct.tensor(a.astype(np.float16))
    r = h.softmax(-1)
    assert r.dtype == ct.float16
    close(r, _np_softmax(a.astype(np.float16).astype(np.float64), -1), rtol=2e-3, atol=2e-3)
    r = ct.softmax(T([[1, 2], [3, 4]]), 0, dtype=ct.float64)
    assert r.dtype == ct.float64
    close(r, _np_softmax(np.array([[1.0, 2], [3, 4]]), 0))
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        T([1, 2]).softmax(0)


# ------------------------------------------------------------------------------------------ return types

@pytest.mark.fp64
def test_return_types():
    x = T([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    r = x.max(1)
    assert type(r).__name__ == "max" and isinstance(r, tuple)
    v, i = r
    assert r[0] is r.values and r[1] is r.indices and i.tolist() == [1, 0]
    s = repr(r)
    assert s.startswith("cltensor.return_types.max(\nvalues=tensor(") and "\nindices=tensor([1, 0]))" in s
    assert type(x.sort()).__name__ == "sort" and type(x.topk(1)).__name__ == "topk"
    assert type(ct.aminmax(x)).__name__ == "aminmax" and ct.aminmax(x).min.item() == 0
    assert ct.return_types.max is type(r)


# ------------------------------------------------------------------------------------------ optional torch checks

def test_against_torch_messages():
    import torch
    for fn in (lambda m: m.empty(0).max(), lambda m: m.empty(0, 3).amax(0), lambda m: m.empty(0, 3).argmax(),
               lambda m: m.tensor([1, 2]).mean(), lambda m: m.ones(2, 3).sum((1, 1))):
        with pytest.raises(Exception) as te:
            fn(torch)
        with pytest.raises(Exception) as ce:
            fn(ct)
        assert type(te.value) is type(ce.value) and str(te.value).split("\n")[0] == str(ce.value).split("\n")[0]


@pytest.mark.fp64
@pytest.mark.parametrize("dim,zeros", [(None, 0), (1, 0), (1, 1), (None, 1), (1, 2)])
def test_complex_prod_gradient_like_torch(dim, zeros):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(zeros)
    a = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    a[0, :zeros] = 0                                  # no zero, one zero, two zeros in a row
    x, tx = ct.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = (x.prod(), tx.prod()) if dim is None else (x.prod(dim), tx.prod(dim))
    (y.real.sum() + 2 * y.imag.sum()).backward()
    (ty.real.sum() + 2 * ty.imag.sum()).backward()
    np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
