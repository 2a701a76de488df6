"""Every row of tests/opinfo.py against PyTorch: values for every dtype the row lists (and the dtypes where PyTorch
raises: the same exception type and message) on contiguous, transposed, strided, broadcast, 0-d and empty inputs
with the row's edge values, result dtypes, the method, in-place and out= forms, gradients in float64 on the
domain and its edges, gradcheck on the domain's interior; and the coverage of the table over cltensor's ops."""
import inspect
import os
import zlib

import numpy as np
import pytest

import cltensor as ct
from cltensor import _ops, _registry, _warmup
from cltensor import _device as dv
from cltensor import _kernels as K

import opinfo as OI
from opinfo import DT, INTS, FLOATS, COMPLEX

torch = pytest.importorskip("torch")

LAYOUTS = ("contig", "T", "step", "broadcast", "zerod", "empty")


# ---------------------------------------------------------------- helpers

def _resolve(mod, name):
    for part in name.split("."):
        mod = getattr(mod, part)
    return mod


def _rng(*key):
    """The same samples in every run (str hash() is salted per process; crc32 is not)."""
    return np.random.default_rng(zlib.crc32("/".join(map(str, key)).encode()))


def _to(mod, a, layout="contig", requires_grad=False):
    """A numpy array as a tensor of `mod` (cltensor or torch) in the given layout, same values."""
    if isinstance(a, list):
        return [_to(mod, x, layout) for x in a]
    if not isinstance(a, np.ndarray):
        return a
    if layout == "T" and a.ndim >= 2:
        t = mod.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2))).transpose(-1, -2)
    elif layout == "step" and a.ndim >= 1:
        big = np.zeros((a.shape[0] * 2,) + a.shape[1:], a.dtype)
        big[::2] = a
        t = mod.tensor(big)[::2]
    elif layout == "expand" and a.ndim >= 1 and a.shape and a.shape[0] > 1:
        t = mod.tensor(a[:1].copy()).expand(*a.shape)
    else:
        t = mod.tensor(a)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _host(x):
    """A result (tensor, tuple of tensors, Python value) as numpy arrays / plain values."""
    if isinstance(x, (tuple, list)):
        return [_host(v) for v in x]
    if isinstance(x, ct.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().resolve_conj().numpy(force=True)
    return x


def _dtname(x):
    if isinstance(x, (tuple, list)):
        return [_dtname(v) for v in x]
    if isinstance(x, (ct.Tensor, torch.Tensor)):
        return str(x.dtype).split(".")[-1]
    return type(x).__name__


def _close(got, want, rtol, atol, what):
    """numpy arrays: same shape, values within tolerance (NaN == NaN, infinities equal, -0.0 vs 0.0 checked)."""
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{what}: {len(want)} results expected"
        for i, (g, w) in enumerate(zip(got, want)):
            _close(g, w, rtol, atol, f"{what}[{i}]")
        return
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != torch's {want.shape}"
    if want.dtype.kind in "biu" or want.dtype == bool:
        bad = got != want
    else:
        g, w = got.astype(np.complex128), want.astype(np.complex128)
        bad = np.zeros(w.shape, bool)
        for part in (np.real, np.imag):
            gp, wp = part(g), part(w)
            with np.errstate(invalid="ignore", over="ignore"):
                ok = (gp == wp) | (np.isnan(gp) & np.isnan(wp)) | \
                     (np.isfinite(wp) & np.isfinite(gp) & (np.abs(gp - wp) <= atol + rtol * np.abs(wp)))
            ok &= ~((wp == 0) & (gp == 0) & (np.signbit(gp) != np.signbit(wp)) & (want.dtype.kind == "f"))
            bad |= ~ok
    if bad.any():
        i = np.argwhere(bad)[:4]
        idx = [tuple(j) for j in i]
        raise AssertionError(f"{what}: {int(bad.sum())}/{bad.size} differ, e.g. at {idx}: got "
                             f"{[got[j] for j in idx]} want {[want[j] for j in idx]}")


def _run(fn):
    try:
        return fn(), None
    except Exception as e:          # noqa: BLE001 (compared with the other library's exception)
        return None, e


def _compare_call(call_t, call_c, row, dt, what, fails, *, inputs=None, form=None):
    """Run the same call on torch and cltensor: both raise the same (type, message) or give the same result.
    form="out": a TypeError from torch means PyTorch has no out= for this call (nothing to compare), one from
    cltensor that it lacks out= (test_out_forms_exist reports that)."""
    want, we = _run(call_t)
    got, ge = _run(call_c)
    if form == "out" and (isinstance(we, TypeError) or (isinstance(ge, TypeError) and "'out'" in str(ge))):
        return None, None
    if we is not None:
        if ge is None:
            fails.append(f"{what}: torch raises {type(we).__name__}({we}); cltensor returns {_dtname(got)} "
                         f"{_host(got)!r:.200}")
        elif type(ge) is not type(we) or str(ge) != str(we):
            fails.append(f"{what}: torch raises {type(we).__name__}({we}); cltensor raises {type(ge).__name__}({ge})")
        return None, None
    if ge is not None:
        fails.append(f"{what}: cltensor raises {type(ge).__name__}({ge}); torch gives {_dtname(want)}")
        return None, None
    if _dtname(got) != _dtname(want):
        fails.append(f"{what}: dtype {_dtname(got)} != torch's {_dtname(want)}")
        return got, want
    rd = _dtname(want)          # tolerance of the result dtype (an int input may give a float result)
    rtol, atol = row.tol.get(rd if isinstance(rd, str) else dt, row.tol.get(dt, (0, 0)))
    try:
        _close(_host(got), _host(want), rtol, atol, what)
    except AssertionError as e:
        msg = str(e)
        if inputs is not None:
            msg += f" (inputs {inputs!r:.300})"
        fails.append(msg)
    return got, want


# ---------------------------------------------------------------- samples of elementwise rows

def _int_edge(v, dt):
    if v == "min":
        return np.iinfo(dt).min
    if v == "max":
        return np.iinfo(dt).max
    return np.array(v).astype(dt)


def _ew_array(row, dt, shape, rng, arg=0, edges=True):
    lo, hi = row.domain
    n = int(np.prod(shape))
    if dt == "bool":
        a = rng.random(n) < 0.5
    elif dt in INTS:
        if getattr(row, "shift", False) and arg == 1:
            lo, hi = 0, 8
        elif row.name == "pow" and arg == 1:
            lo, hi = 0, 3
        else:
            lo, hi = max(-9, int(np.floor(lo))), min(9, int(np.ceil(hi)))
        if dt == "uint8":
            lo, hi = max(lo, 0), max(hi, 1)
        a = rng.integers(lo, hi + 1, size=n).astype(dt)
        if edges:
            e = [_int_edge(v, dt) for v in row.int_edges]
            e = e if arg == 0 else e[::-1]
            k = min(n, len(e))
            with np.errstate(over="ignore"):
                a[:k] = np.array(e[:k]).astype(dt)
        if getattr(row, "nonzero_int", False) and arg == 1:
            a[a == 0] = 1
    else:
        a = rng.uniform(lo, hi, size=n)
        if dt in COMPLEX:
            a = a + 1j * rng.uniform(lo, hi, size=n)
        elif edges:
            e = list(row.edges) if arg == 0 else list(row.edges)[::-1]
            k = min(n, len(e))
            a[:k] = e[:k]
        with np.errstate(over="ignore"):
            a = a.astype(dt)
    return a.reshape(shape)


def _ew_samples(row, dt, layout):
    """(list of numpy operands, ct layout per operand) for one elementwise layout."""
    rng = _rng(row.id, dt, layout)
    n = 1 if row.scalar_first is not None else row.nargs
    if layout == "broadcast":
        shapes = [(5, 7)] if n == 1 else [(5, 1), (7,)]
        lays = ["expand"] if n == 1 else ["contig", "contig"]
    elif layout == "zerod":
        shapes, lays = [()] * n, ["contig"] * n
    elif layout == "empty":
        shapes, lays = [(0, 7)] * n, ["contig"] * n
    elif layout == "grid":          # every pair of edge values
        e = list(row.edges) if dt in FLOATS else [False, True] if dt == "bool" else \
            [_int_edge(v, dt) for v in row.int_edges]
        with np.errstate(over="ignore", invalid="ignore"):
            a = np.array(e).astype(dt)
        return [a[:, None], a[None, :]], ["contig", "contig"]
    else:
        shapes, lays = [(5, 7)] * n, [layout] * n
    arrs = [_ew_array(row, dt, s, rng, i) for i, s in enumerate(shapes)]
    if lays == ["expand"]:              # rows equal to the first (ct expands that row: a stride-0 operand)
        arrs = [np.repeat(arrs[0][:1], 5, axis=0)]
    return arrs, lays


def _ew_call(row, mod, args, **kw):
    f = _resolve(mod, row.name)
    if row.scalar_first is not None:
        return f(row.scalar_first, *args, **kw)
    return f(*args, **kw)


def _layouts(row, dt):
    base = list(LAYOUTS)
    if row.nargs == 2 and row.scalar_first is None and dt not in COMPLEX:   # (complex inputs: finite values)
        base.append("grid")
    return base


# ---------------------------------------------------------------- parametrization

def _params(test, dtypes_of):
    out = []
    for dt, r in ((d, r) for d in OI.ALL for r in OI.ROWS):     # grouped by dtype (see _prebuild)
        if dt in dtypes_of(r):
            marks = []
            reason = r.xfail.get((test, dt)) or r.xfail.get((test, None))
            if reason:      # a (reason, False) pair: seen on some dtypes, not checked on each (strict=False)
                reason, strict = (reason, True) if isinstance(reason, str) else reason
                marks.append(pytest.mark.xfail(strict=strict, reason=reason))
            out.append(pytest.param(r, dt, id=f"{r.id}-{dt}", marks=marks))
    return out


def _sample_list(row, dt):
    samples = row.sample(dt, _rng(row.id, dt))
    return samples


def _args(mod, s, layout="contig", grad=False):
    return [_to(mod, a, layout, requires_grad=grad and i in s.grad) for i, a in enumerate(s.args)], None


def _kw(mod, s, dt):
    return {k: (getattr(mod, dt) if v is DT else v) for k, v in s.kwargs.items()}


# ---------------------------------------------------------------- values, dtypes and errors

_prebuilt = set()


def _prebuild(dt):
    """Build the kernels the tests of one dtype need as one program per family (cltensor/_bundle.py): the test
    bodies run once with launches stubbed out to collect the kernel sources, which build together and are
    stored in cltensor's kernel cache, so a later run loads them instead of building hundreds of programs."""
    if dt in _prebuilt or K.DEBUG or not hasattr(_warmup, "_collect_and_build"):
        return
    _prebuilt.add(dt)
    # the collect pass runs every row once (~100 s a dtype): only worth it while the kernel cache lacks most of
    # these kernels, i.e. once per device, profile and dtype on a machine (a marker file in the cache says so).
    # Binaries are cached per template (cltensor/_kernels.py _template_tag), so after a template changes only
    # its kernels are missing: the tests build those one by one, far cheaper than a new collect pass
    cache = K.cache_dir()
    dev = ct.get_default_device()
    info = dv.device_info(dev)
    tag = f"{info.name}-{info.profile}-{dt}".replace("/", "_").replace(" ", "_")
    marker = os.path.join(cache, "opinfo-prebuilt", tag) if cache else None
    if marker and os.path.exists(marker):
        return

    def body(ct_, d, dev):
        for r in OI.ROWS:
            for f in (_values_elementwise if r.sample is None else _values_written,
                      _grad_body if dt == "float64" and r.grad else None):
                if f is not None and dt in r.all_dtypes:
                    try:
                        with np.errstate(all="ignore"):
                            f(r, dt, [])
                    except Exception:     # noqa: BLE001 (values are garbage while collecting)
                        pass
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _warmup._collect_and_build(ct, body, getattr(ct, dt), dev, True)
    if marker:
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        open(marker, "w").close()


@pytest.mark.parametrize("row, dt", _params("values", lambda r: r.all_dtypes))
def test_values(row, dt):
    _prebuild(dt)
    fails = []
    if row.sample is None:
        _values_elementwise(row, dt, fails)
    else:
        _values_written(row, dt, fails)
    assert not fails, "\n".join(fails[:12])


def _values_elementwise(row, dt, fails):
    for layout in (_layouts(row, dt) if row.layouts else ["contig"]):
        arrs, lays = _ew_samples(row, dt, layout)
        what = f"{row.id} {dt} {layout}"
        tt = [_to(torch, a) for a in arrs]
        cc = [_to(ct, a, lay) for a, lay in zip(arrs, lays)]
        want, got = _compare_call(lambda: _ew_call(row, torch, tt), lambda: _ew_call(row, ct, cc), row, dt, what,
                                  fails, inputs=[a.ravel()[:12] for a in arrs])
        if layout != "T":
            continue
        # the other call forms, on transposed inputs
        if row.method:
            _compare_call(lambda: getattr(tt[0], row.name)(*tt[1:]), lambda: getattr(cc[0], row.name)(*cc[1:]),
                          row, dt, what + " method", fails)
        if row.inplace:
            def ip(mod, xs):
                x = xs[0].clone()
                r = getattr(x, row.name + "_")(*xs[1:])
                assert r is x
                return x
            _compare_call(lambda: ip(torch, tt), lambda: ip(ct, cc), row, dt, what + " in-place", fails)
        if row.out and want is not None:
            def with_out(mod, xs, like):
                o = mod.empty(0, dtype=getattr(mod, _dtname(like)))
                r = _ew_call(row, mod, xs, out=o)
                assert r is o
                return o
            _compare_call(lambda: with_out(torch, tt, want), lambda: with_out(ct, cc, want), row, dt,
                          what + " out=", fails, form="out")


def _values_written(row, dt, fails):
    f_t, f_c = _resolve(torch, row.name), _resolve(ct, row.name)
    for i, s in enumerate(_sample_list(row, dt)):
        layouts = ["contig", "T", "step"] if row.kind != "creation" else ["contig"]
        for layout in layouts:
            what = f"{row.id} {dt} sample {i} {layout}"
            ta, _ = _args(torch, s)
            ca, _ = _args(ct, s, layout)
            kt, kc = _kw(torch, s, dt), _kw(ct, s, dt)
            want, got = _compare_call(lambda: f_t(*ta, **kt), lambda: f_c(*ca, **kc), row, dt, what, fails)
            if layout != "contig":
                continue
            if row.method and isinstance(s.args[0], np.ndarray):
                _compare_call(lambda: getattr(ta[0], row.name.split(".")[-1])(*ta[1:], **kt),
                              lambda: getattr(ca[0], row.name.split(".")[-1])(*ca[1:], **kc), row, dt,
                              what + " method", fails)
            if row.inplace and hasattr(ct.Tensor, row.name + "_"):     # (else test_tensor_forms_exist fails)
                def ip(xs, kw):
                    x = xs[0].clone()
                    r = getattr(x, row.name + "_")(*xs[1:], **kw)
                    assert r is x
                    return x
                _compare_call(lambda: ip(ta, kt), lambda: ip(ca, kc), row, dt, what + " in-place", fails)
            if row.out and want is not None and not isinstance(want, tuple):
                def with_out(mod, f, xs, kw):
                    o = mod.empty(0, dtype=getattr(mod, _dtname(want)))
                    r = f(*xs, **kw, out=o)
                    assert r is o
                    return o
                _compare_call(lambda: with_out(torch, f_t, ta, kt), lambda: with_out(ct, f_c, ca, kc), row, dt,
                              what + " out=", fails, form="out")


def test_declared_dtypes_match_torch():
    """The table is honest: PyTorch raises exactly for the dtypes a row lists as errors, with that type."""
    bad = []
    for row in OI.ROWS:
        for dt in row.all_dtypes:
            if row.sample is None:
                arrs, _ = _ew_samples(row, dt, "contig")
                _, e = _run(lambda: _ew_call(row, torch, [_to(torch, a) for a in arrs]))
            else:
                e = None
                for s in _sample_list(row, dt):
                    ta, _ = _args(torch, s)
                    _, e = _run(lambda: _resolve(torch, row.name)(*ta, **_kw(torch, s, dt)))
                    if e is not None:
                        break
            if dt in row.errors:
                if not isinstance(e, row.errors[dt]):
                    bad.append(f"{row.id} {dt}: the row expects {row.errors[dt].__name__}, torch gives {e!r}")
            elif e is not None:
                bad.append(f"{row.id} {dt}: torch raises {e!r}; the row lists it as supported")
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------- gradients (float64)

def _grad_rows(test):
    return lambda r: ("float64",) if r.grad and "float64" in r.dtypes else ()


def _first(x):
    return x[0] if isinstance(x, (tuple, list)) else x


@pytest.mark.parametrize("row, dt", _params("grad", _grad_rows("grad")))
def test_grad_vs_torch(row, dt):
    """Gradients of the float64 op against PyTorch's, on the domain and its edges (poles, -0.0, +-inf, NaN)."""
    _prebuild(dt)
    fails = []
    _grad_body(row, dt, fails)
    assert not fails, "\n".join(fails)


def _grad_body(row, dt, fails):
    if row.sample is None:
        cases = []
        for layout in ("contig", "grid") if row.nargs == 2 and row.scalar_first is None else ("contig",):
            arrs, _ = _ew_samples(row, dt, layout)
            cases.append((f"{layout}", arrs, tuple(range(len(arrs))), {}, lambda mod: _resolve(mod, row.name)
                          if row.scalar_first is None else (lambda *a: _resolve(mod, row.name)(row.scalar_first, *a))))
    else:
        cases = [(f"sample {i}", list(s.args), s.grad, s.kwargs, lambda mod: _resolve(mod, row.name))
                 for i, s in enumerate(_sample_list(row, dt)) if s.grad]
    for what, arrs, gpos, kw, fn in cases:
        res = {}
        for mod in (torch, ct):
            xs = [_to(mod, a, requires_grad=(i in gpos and isinstance(a, np.ndarray)))
                  for i, a in enumerate(arrs)]
            y = _first(fn(mod)(*xs, **kw))
            if not y.requires_grad:
                res[mod.__name__] = None
                continue
            g = _rng(row.id, what, "g").uniform(0.5, 1.5, size=tuple(y.shape))
            y.backward(mod.tensor(g))
            res[mod.__name__] = [_host(xs[i].grad) if xs[i].grad is not None else None for i in gpos]
        want, got = res["torch"], res["cltensor"]
        if (want is None) != (got is None):
            fails.append(f"{row.id} {what}: requires_grad of the result differs (torch {want is not None})")
            continue
        for i, (g, w) in enumerate(zip(got or [], want or [])):
            if (g is None) != (w is None):
                fails.append(f"{row.id} {what}: grad of input {i} missing on one side")
                continue
            if w is None:
                continue
            try:
                _close(g, w, 1e-10, 1e-12, f"{row.id} {what} grad {i}")
            except AssertionError as e:
                fails.append(f"{e} (input {arrs[gpos[i]].ravel()[:12]!r})")


@pytest.mark.parametrize("row, dt", _params("gradcheck", lambda r: ("float64",) if r.gradcheck and
                                                                   "float64" in r.dtypes else ()))
def test_gradcheck(row, dt):
    """cltensor.autograd.gradcheck (central differences) on the domain's interior, float64."""
    rng = _rng(row.id, "gradcheck")
    lo, hi = row.grad_domain
    if row.sample is None:
        n = 1 if row.scalar_first is not None else row.nargs
        xs = [ct.tensor(rng.uniform(lo, hi, size=(2, 3)), requires_grad=True) for _ in range(n)]
        f = _resolve(ct, row.name)
        fn = (lambda *a: f(row.scalar_first, *a)) if row.scalar_first is not None else f
        kw = {}
    else:
        s = _sample_list(row, dt)[0]
        xs = [_to(ct, a, requires_grad=i in s.grad) for i, a in enumerate(s.args)]
        f = _resolve(ct, row.name)
        kw = s.kwargs
        fn = f
    assert ct.autograd.gradcheck(lambda *a: _first(fn(*a, **kw)), xs)


# ---------------------------------------------------------------- coverage of the table

def _row_names():
    return {r.name for r in OI.ROWS}


def test_every_registered_op_has_a_row():
    rows = {r.name: r for r in OI.ROWS if not r.variant}
    missing, no_method = [], []
    for e in _registry.entries():
        if e.kind != "op" or e.alias_of is not None:
            continue
        q = e.qualname
        if q in OI.EXEMPT:
            continue
        r = rows.get(q)
        if r is None:
            missing.append(q)
        elif e.method and not r.method and (q + ".method") not in OI.EXEMPT:
            no_method.append(q)
    assert not missing, f"registered ops without a row in tests/opinfo.py (add one, or exempt with a reason): {missing}"
    assert not no_method, f"registered ops whose method form no row tests: {no_method}"


def test_every_public_elementwise_op_has_a_row():
    names = _row_names()
    missing = [n for n in _ops.OPS if inspect.isfunction(getattr(ct, n, None)) and n not in names
               and n not in OI.EXEMPT]
    assert not missing, f"public ops of cltensor._ops.OPS without a row in tests/opinfo.py: {missing}"


def test_rows_name_existing_ops():
    bad = []
    for r in OI.ROWS:
        for mod in (ct, torch):
            try:
                f = _resolve(mod, r.name)
            except AttributeError:
                bad.append(f"{r.id}: no {mod.__name__}.{r.name}")
                continue
            if not callable(f):
                bad.append(f"{r.id}: {mod.__name__}.{r.name} is not callable")
        if r.ops_key is not None and r.ops_key not in _ops.OPS:
            bad.append(f"{r.id}: no cltensor._ops.OPS[{r.ops_key!r}]")
        for attr in _forms(r):
            if not hasattr(torch.Tensor, attr):
                bad.append(f"{r.id}: the row names torch.Tensor.{attr}, which does not exist")
    for n in OI.EXEMPT:
        base = n[:-len(".method")] if n.endswith(".method") else n
        try:
            _resolve(ct, base)
        except AttributeError:
            if not hasattr(ct.Tensor, base):         # a method-only entry (e.g. Tensor.unfold)
                bad.append(f"exemption {n!r} names no cltensor op")
    assert not bad, "\n".join(bad)


def _forms(r):
    base = r.name.split(".")[-1]
    return ([base] if r.method else []) + ([base + "_"] if r.inplace else [])


_MISSING_FORMS = set()


@pytest.mark.parametrize("attr", [pytest.param(a, marks=[pytest.mark.xfail(
    strict=True, reason=f"bug: cltensor has no Tensor.{a} (PyTorch has)")] if a in _MISSING_FORMS else [])
    for a in sorted({a for r in OI.ROWS for a in _forms(r)})])
def test_tensor_forms_exist(attr):
    """The method and in-place forms the table lists (as PyTorch has them) exist on cltensor.Tensor."""
    assert hasattr(ct.Tensor, attr)


_MISSING_OUT = set()


@pytest.mark.parametrize("name", [pytest.param(r.name, marks=[pytest.mark.xfail(
    strict=True, reason=f"bug: cltensor.{r.name} has no out= (PyTorch has)")] if r.name in _MISSING_OUT else [])
    for r in OI.ROWS if r.out and not r.variant])
def test_out_forms_exist(name):
    """The functions whose row says out= (as PyTorch has it) accept out= in cltensor."""
    f = _resolve(ct, name)
    try:
        params = inspect.signature(f).parameters
    except (TypeError, ValueError):
        return
    assert "out" in params or any(p.kind is p.VAR_KEYWORD for p in params.values()), f"{name}: no out="


def test_queries():
    u = OI.rows(kind="unary", dtype="float64")
    assert u and all(r.kind == "unary" and "float64" in r.dtypes for r in u)
    assert "acosh" in OI.names("unary", "float32") and "acosh" not in OI.names("binary")
    assert OI.row("pow", "scalar_base").scalar_first == 0.0
    with pytest.raises(KeyError):
        OI.row("no_such_op")
