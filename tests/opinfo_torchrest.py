"""Op-info rows of searching, statistics, the *_scatter forms, view copies and the other functions of
cltensor/_search.py, _stats.py, _scatter_views.py and _api_extra.py (read by tests/opinfo.py)."""
import numpy as np

from opinfo import OpInfo, Sample, INTS, FLOATS, COMPLEX, ALL

REAL = ("bool",) + INTS + FLOATS
# ops that only move elements (views, copies, scatters): one dtype per storage width and kind keeps the sweep short
MOVE = ("bool", "int32", "float16", "float64", "complex64")
REAL_NB = INTS + FLOATS
F3264 = ("float32", "float64")
FC = FLOATS + COMPLEX


def _a(rng, dt, shape, lo=-5.0, hi=5.0):
    if dt == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    if dt in INTS:
        lo = max(lo, 0) if dt == "uint8" else lo
        return np.asarray(rng.integers(int(lo), int(hi) + 1, size=shape)).astype(dt)
    a = np.asarray(rng.uniform(lo, hi, size=shape))
    if dt in COMPLEX:
        a = a + 1j * rng.uniform(lo, hi, size=shape)
    return np.asarray(a.astype(dt))


def _distinct(rng, dt, shape):
    """Values without ties (order statistics have a unique answer and a gradient)."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) * 0.37 - n * 0.15).astype(dt)


def _sorted(rng, dt, shape):
    return np.sort(_a(rng, dt, shape), axis=-1)


def _row(name, kind, sample, dtypes, **kw):
    kw.setdefault("method", False)
    kw.setdefault("out", False)
    kw.setdefault("grad", False)
    return OpInfo(name, kind, dtypes=dtypes, sample=sample, **kw)


def _rows():
    R = []
    add = R.append
    # searching
    add(_row("searchsorted", "sort", lambda dt, r: [
        Sample(_sorted(r, dt, (3, 6)), _a(r, dt, (3, 4))),
        Sample(_sorted(r, dt, (6,)), _a(r, dt, (2, 5)), right=True),
        Sample(_sorted(r, dt, (6,)), _a(r, dt, (4,)), side="right", out_int32=True)], REAL_NB, out=True,
        errors={"bool": NotImplementedError}))
    add(_row("bucketize", "sort", lambda dt, r: [
        Sample(_a(r, dt, (3, 4)), _sorted(r, dt, (5,))),
        Sample(_a(r, dt, (6,)), _sorted(r, dt, (5,)), right=True)], REAL_NB, out=True,
        errors={"bool": NotImplementedError}))
    add(_row("isin", "sort", lambda dt, r: [
        Sample(_a(r, dt, (4, 5)), _a(r, dt, (6,))),
        Sample(_a(r, dt, (7,)), _a(r, dt, (2, 3)), invert=True)], REAL_NB, errors={"bool": RuntimeError}))
    # counting
    add(_row("bincount", "reduction", lambda dt, r: [
        Sample(_a(r, dt, (12,), 0, 6)), Sample(_a(r, dt, (12,), 0, 6), minlength=9),
        Sample(_a(r, dt, (8,), 0, 6), _a(r, "float32", (8,))),
        Sample(_a(r, dt, (8,), 0, 6), _a(r, "float64", (8,)))], INTS, method=True))
    add(_row("histc", "reduction", lambda dt, r: [
        Sample(_a(r, dt, (5, 7))), Sample(_a(r, dt, (20,)), bins=6, min=-2, max=3)], ("float32", "float64"),
        method=True, out=True))
    add(_row("histogram", "reduction", lambda dt, r: [
        Sample(_a(r, dt, (5, 7)), 6), Sample(_a(r, dt, (20,)), 4, range=(-2.0, 3.0), density=True),
        Sample(_a(r, dt, (20,)), np.array([-3.0, -1.0, 0.0, 2.5], dt))], ("float32", "float64"), method=True))
    add(_row("histogramdd", "reduction", lambda dt, r: [
        Sample(_a(r, dt, (20, 2)), [3, 4]),
        Sample(_a(r, dt, (20, 2)), [2, 3], range=[-2.0, 2.0, -3.0, 3.0], density=True)], ("float32", "float64")))
    # order statistics
    q = np.array([0.0, 0.25, 0.5, 1.0])
    add(_row("quantile", "reduction", lambda dt, r: [
        Sample(_distinct(r, dt, (4, 6)), 0.3), Sample(_distinct(r, dt, (4, 6)), q.astype(dt), 1, keepdim=True, grad=(0,)),
        Sample(_distinct(r, dt, (4, 6)), 0.5, 0, interpolation="midpoint"),
        Sample(_distinct(r, dt, (4, 6)), q.astype(dt), -1, interpolation="nearest", grad=(0,)),
        Sample(_distinct(r, dt, (4, 6)), 0.7, interpolation="lower"),
        Sample(_distinct(r, dt, (4, 6)), 0.7, interpolation="higher")], F3264, method=True, out=True, grad=True,
        gradcheck=False))
    add(_row("nanquantile", "reduction", lambda dt, r: [
        Sample(np.where(_a(r, "float64", (4, 6)) > 2, np.nan, _distinct(r, dt, (4, 6))).astype(dt), 0.3, 1),
        Sample(np.full((2, 3), np.nan, dt), 0.5, 1),
        Sample(_distinct(r, dt, (4, 6)), q.astype(dt), 0, grad=(0,))], F3264, method=True, out=True, grad=True,
        gradcheck=False))
    add(_row("nanmedian", "reduction", lambda dt, r: [
        Sample(_distinct(r, dt, (4, 7))),
        Sample(np.where(_a(r, "float64", (4, 7)) > 2, np.nan, _distinct(r, dt, (4, 7))).astype(dt), 1),
        Sample(_distinct(r, dt, (4, 7)), 0, keepdim=True)] if dt in FLOATS else [
        Sample(_a(r, dt, (4, 7))), Sample(_a(r, dt, (4, 7)), 1)], REAL_NB, method=True, grad=True, gradcheck=False))
    add(_row("mode", "reduction", lambda dt, r: [
        Sample(_a(r, dt, (4, 9), -2, 2)), Sample(_a(r, dt, (4, 9), -2, 2), 0, True)], REAL, method=True))
    # covariance, distances, integration
    add(_row("cov", "composite", lambda dt, r: [
        Sample(_a(r, dt, (3, 6))), Sample(_a(r, dt, (6,))), Sample(_a(r, dt, (3, 6)), correction=0)],
        REAL_NB + COMPLEX, method=True, grad=True))
    add(_row("corrcoef", "composite", lambda dt, r: [Sample(_a(r, dt, (3, 6)))], FLOATS[1:] + COMPLEX,
             method=True, grad=True))
    add(_row("cdist", "composite", lambda dt, r: [
        Sample(_a(r, dt, (4, 3)), _a(r, dt, (5, 3))), Sample(_a(r, dt, (2, 4, 3)), _a(r, dt, (2, 3, 3)), 1.0),
        Sample(_a(r, dt, (4, 3)), _a(r, dt, (5, 3)), 3.0), Sample(_a(r, dt, (4, 3)), _a(r, dt, (5, 3)), float("inf")),
        Sample(_a(r, dt, (4, 3)), _a(r, dt, (5, 3)), compute_mode="use_mm_for_euclid_dist")], F3264, grad=True))
    add(_row("trapezoid", "composite", lambda dt, r: [
        Sample(_a(r, dt, (3, 5))), Sample(_a(r, dt, (3, 5)), np.cumsum(_a(r, dt, (5,), 0.1, 1))),
        Sample(_a(r, dt, (3, 5)), dx=0.5, dim=0)], FLOATS[1:], grad=True))
    add(_row("cumulative_trapezoid", "composite", lambda dt, r: [
        Sample(_a(r, dt, (3, 5))), Sample(_a(r, dt, (3, 5)), np.cumsum(_a(r, dt, (5,), 0.1, 1)))], FLOATS[1:],
        grad=True))
    add(_row("renorm", "composite", lambda dt, r: [
        Sample(_a(r, dt, (3, 4)), 2, 0, 1.0), Sample(_a(r, dt, (3, 4)), 1, 1, 2.5)], FLOATS[1:], method=True,
        inplace=True, out=True, grad=True))
    # *_scatter forms
    add(_row("diagonal_scatter", "index", lambda dt, r: [
        Sample(_a(r, dt, (4, 5)), _a(r, dt, (4,))), Sample(_a(r, dt, (4, 5)), _a(r, dt, (4,)), 1),
        Sample(_a(r, dt, (2, 3, 3)), _a(r, dt, (2, 3)), 0, 1, 2)], MOVE, method=True, grad=True))
    add(_row("select_scatter", "index", lambda dt, r: [
        Sample(_a(r, dt, (4, 5)), _a(r, dt, (5,)), 0, 2), Sample(_a(r, dt, (4, 5)), _a(r, dt, (4,)), 1, -1)],
        MOVE, method=True, grad=True))
    add(_row("slice_scatter", "index", lambda dt, r: [
        Sample(_a(r, dt, (4, 5)), _a(r, dt, (4, 2)), 1, 1, 5, 2), Sample(_a(r, dt, (4, 5)), _a(r, dt, (2, 5)), 0, 1, 3)],
        MOVE, method=True, grad=True))
    add(_row("as_strided_scatter", "index", lambda dt, r: [
        Sample(_a(r, dt, (4, 5)), _a(r, dt, (2, 2)), (2, 2), (1, 2), 1)], MOVE, method=True))
    # (no gradient comparison: PyTorch 2.13's as_strided_scatter backward is not the derivative for this input;
    # tests/test_torch_rest.py runs gradcheck on it)
    add(_row("diagflat", "shape", lambda dt, r: [Sample(_a(r, dt, (2, 3))), Sample(_a(r, dt, (3,)), -1)], MOVE,
             method=True, grad=True))
    add(_row("block_diag", "shape", lambda dt, r: [
        Sample(_a(r, dt, (2, 3)), _a(r, dt, (3,)), _a(r, dt, ()))], MOVE, grad=True))
    add(_row("cartesian_prod", "shape", lambda dt, r: [
        Sample(_a(r, dt, (3,)), _a(r, dt, (2,))), Sample(_a(r, dt, (2,)), _a(r, dt, (2,)), _a(r, dt, (3,)))], MOVE,
        grad=True))
    add(_row("combinations", "shape", lambda dt, r: [
        Sample(_a(r, dt, (4,))), Sample(_a(r, dt, (4,)), 3), Sample(_a(r, dt, (3,)), 2, True)], MOVE, grad=True))
    add(_row("vander", "shape", lambda dt, r: [
        Sample(_a(r, dt, (4,), -2, 2)), Sample(_a(r, dt, (3,), -2, 2), 4, True)],
        INTS[1:] + FLOATS[1:] + COMPLEX))    # (PyTorch's own vander backward fails on these samples)
    add(_row("unique_consecutive", "sort", lambda dt, r: [
        Sample(_a(r, dt, (12,), -1, 1)), Sample(_a(r, dt, (3, 8), -1, 1), return_inverse=True, return_counts=True),
        Sample(_a(r, dt, (3, 8), 0, 1), return_counts=True, dim=1)], REAL, method=True))
    idx = np.array([0, 2, 0], np.int64)
    add(_row("index_reduce", "index", lambda dt, r: [
        Sample(_a(r, dt, (4, 5), -2, 2), 0, idx, _a(r, dt, (3, 5), -2, 2), "prod", grad=()),
        Sample(_a(r, dt, (4, 5)), 1, idx, _a(r, dt, (4, 3)), "amax", include_self=False, grad=()),
        Sample(_a(r, dt, (4, 5)), 0, idx, _a(r, dt, (3, 5)), "mean", grad=(0, 3))], FLOATS[1:], method=True,
        grad=True, gradcheck=False))
    # small math and queries
    add(_row("adjoint", "shape", lambda dt, r: [Sample(_a(r, dt, (2, 3, 4)))], MOVE, grad=True))
    add(_row("resolve_conj", "shape", lambda dt, r: [Sample(_a(r, dt, (3, 4)))], MOVE, method=True))
    add(_row("resolve_neg", "shape", lambda dt, r: [Sample(_a(r, dt, (3, 4)))], MOVE, method=True))
    add(_row("isreal", "composite", lambda dt, r: [Sample(_a(r, dt, (3, 4)))], ALL, method=True))
    add(_row("addr", "linalg", lambda dt, r: [
        Sample(_a(r, dt, (3, 4)), _a(r, dt, (3,)), _a(r, dt, (4,))),
        Sample(_a(r, dt, (4,)), _a(r, dt, (3,)), _a(r, dt, (4,)), beta=0, alpha=2)], ALL[1:], method=True,
        inplace=True, out=True, grad=True))
    add(_row("dist", "composite", lambda dt, r: [
        Sample(_a(r, dt, (3, 4)), _a(r, dt, (4,))), Sample(_a(r, dt, (3, 4)), _a(r, dt, (3, 4)), 3)], FC,
        method=True, grad=True))
    add(_row("pdist", "composite", lambda dt, r: [
        Sample(_a(r, dt, (4, 3))), Sample(_a(r, dt, (4, 3)), 1.0), Sample(_a(r, dt, (4, 3)), float("inf"))],
        F3264, grad=True))
    add(_row("unravel_index", "index", lambda dt, r: [
        Sample(np.array([0, 5, 11, 7], dt), (3, 4)), Sample(np.array([[3, 1]], dt), (2, 2))], INTS[1:]))
    add(_row("nonzero_static", "index", lambda dt, r: [
        Sample(_a(r, dt, (3, 4), -1, 1), size=4), Sample(_a(r, dt, (3, 4), -1, 1), size=20, fill_value=-2)], MOVE,
        method=True))
    for n, extra in (("split_with_sizes", ([1, 3],)), ("unsafe_split", (2,)), ("unsafe_split_with_sizes", ([2, 2],)),
                     ("unsafe_chunk", (3,))):
        add(_row(n, "shape", lambda dt, r, extra=extra: [Sample(_a(r, dt, (4, 3)), *extra)], MOVE, method=True,
                 grad=True))
    add(_row("fill", "creation", lambda dt, r: [Sample(_a(r, dt, (3, 4)), 1)], MOVE))
    # *_copy forms of views
    copies = {
        "alias_copy": lambda dt, r: [Sample(_a(r, dt, (3, 4)))],
        "detach_copy": lambda dt, r: [Sample(_a(r, dt, (3, 4)), grad=())],
        "diagonal_copy": lambda dt, r: [Sample(_a(r, dt, (3, 4)), 1)],
        "expand_copy": lambda dt, r: [Sample(_a(r, dt, (3, 1)), (3, 4))],
        "narrow_copy": lambda dt, r: [Sample(_a(r, dt, (3, 4)), 1, 1, 2)],
        "permute_copy": lambda dt, r: [Sample(_a(r, dt, (2, 3, 4)), (2, 0, 1))],
        "select_copy": lambda dt, r: [Sample(_a(r, dt, (3, 4)), 1, 2)],
        "slice_copy": lambda dt, r: [Sample(_a(r, dt, (3, 4)), 1, 1, 4, 2)],
        "split_copy": lambda dt, r: [Sample(_a(r, dt, (5, 2)), 2)],
        "split_with_sizes_copy": lambda dt, r: [Sample(_a(r, dt, (5, 2)), [2, 3])],
        "squeeze_copy": lambda dt, r: [Sample(_a(r, dt, (3, 1, 4)))],
        "t_copy": lambda dt, r: [Sample(_a(r, dt, (3, 4)))],
        "transpose_copy": lambda dt, r: [Sample(_a(r, dt, (2, 3, 4)), 0, 2)],
        "unbind_copy": lambda dt, r: [Sample(_a(r, dt, (3, 4)), 1)],
        "unfold_copy": lambda dt, r: [Sample(_a(r, dt, (3, 7)), 1, 3, 2)],
        "unsqueeze_copy": lambda dt, r: [Sample(_a(r, dt, (3, 4)), 1)],
        "view_copy": lambda dt, r: [Sample(_a(r, dt, (3, 4)), (2, 6))],
    }
    for n, f in copies.items():
        add(_row(n, "shape", f, MOVE, grad=n != "detach_copy", method=n == "narrow_copy"))
    add(_row("view_as_real_copy", "shape", lambda dt, r: [Sample(_a(r, dt, (3, 4)))], COMPLEX, grad=True))
    add(_row("view_as_complex_copy", "shape", lambda dt, r: [Sample(_a(r, dt, (3, 2)))], FLOATS[1:]))
    return R


ROWS = _rows()

EXEMPT = {
    # alias of trapezoid (registered with alias_of)
    "trapz",
    # random: the values cannot match PyTorch's; distributions are tested by tests/test_torch_rest.py
    "poisson", "binomial",
    # arguments that are tensors in keyword position (sorter=, weights of cov, spacing tensors) or in-place only
    # forms: tested by tests/test_torch_rest.py
    "gradient", "chain_matmul", "segment_reduce",
    # reads the input's storage layout (as as_strided does): tested by tests/test_torch_rest.py
    "as_strided_copy",
}
