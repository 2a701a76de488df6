"""`cltensor.warmup()`: build the common kernels of a device ahead of time.

Kernels are built on first use (clBuildProgram, plus PoCL's own compile at first launch). warmup runs each
common op family once on tiny tensors, so the very same kernels real code uses (same templates, dtypes and
layout variants) are built and launched now, and the first real op runs at full speed. With a warm PoCL disk
cache this is fast (a few ms per kernel); with an empty cache it takes the compile time once, up front.
"""
import time

from . import _config as cfg
from . import _dtypes as D
from . import _kernels as K
from . import _device as dv
from . import _bundle
from ._registry import register

FAMILIES = ("elementwise", "reduce", "matmul", "nn", "autograd")


def warmup(dtypes=(D.float32,), device=None, families=FAMILIES, save_binaries=True, verbose=False, bundle=True):
    """Build the common kernels for `dtypes` on `device` (default: the default device).

    families: any of "elementwise" (arithmetic, unary math, comparisons, where, casts, broadcast and strided
    layouts), "reduce" (full and per-dim sum/mean/amax/argmax, softmax), "matmul", "nn" (linear, relu,
    losses) and "autograd" (the backward kernels of a small training step, nn.Linear initialisation, SGD with
    momentum and Adam). Returns the number of kernel
    programs built (0 when all were built already in this process).

    save_binaries: store each program's binary in cltensor's kernel cache (cltensor._kernels.cache_dir()), so
    that later processes load these kernels in ~1 ms each instead of building them (~40 ms each with a warm
    PoCL cache). Storing costs 0.15-0.35 s per program the first time (PoCL generates the binary).

    bundle: build the kernels of each family and dtype as one program (see cltensor/_bundle.py): with empty
    caches a float32 warmup took 44 s instead of 66 s (21 s instead of 42 s without storing binaries), and
    a later process loads the whole family's binary on first use of any of its kernels. bundle=False builds each kernel as its own program."""
    import cltensor as ct
    dev = dv._resolve(device) if device is not None else dv.get_default_device()
    if isinstance(dtypes, D.dtype):
        dtypes = (dtypes,)
    bad = set(families) - set(FAMILIES)
    if bad:
        raise ValueError(f"warmup: unknown families {sorted(bad)}; choose from {FAMILIES}")
    before = K.stats["builds"]
    t0 = time.perf_counter()
    prev, K.save_binaries = K.save_binaries, bool(save_binaries) or K.save_binaries
    try:
        for dt in dtypes:
            dt = D.as_dtype(dt)
            t1 = time.perf_counter()
            for fam in families:
                if bundle and not K.DEBUG and not cfg.autotune():
                    _collect_and_build(ct, _FAMILY[fam], dt, dev, bool(save_binaries))
                _FAMILY[fam](ct, dt, dev)
            ct.synchronize(dev)
            if verbose:
                print(f"warmup {dev} {dt}: {time.perf_counter() - t1:.2f} s")
    finally:
        K.save_binaries = prev
    n = K.stats["builds"] - before
    if verbose:
        print(f"warmup: {n} programs in {time.perf_counter() - t0:.2f} s")
    return n


def _collect_and_build(ct, fn, dt, dev, save):
    """Build the kernels family function fn needs for dt (those not built yet) as one program."""
    rt = dv.runtime(dev)
    if rt is None:
        return
    with _bundle.collect() as got:
        try:
            fn(ct, dt, dev)
        except Exception:     # launches did nothing: an op that looks at values may fail; keep what was collected
            pass
    _drop_plans()             # plans made meanwhile hold stand-ins, not kernels
    items = [(key, src) for (r, key), (_, src) in got.items() if r is rt]
    got.clear()
    _bundle.build(rt, items, save)


def _drop_plans():
    """Forget the cached launch plans and kernel handles of the op modules (they refill on the next call)."""
    from . import _ew, _reductions, _gemm
    for d in (_ew._kcache, _ew._plans, _reductions._rplans, _gemm._prepared, _gemm._plans, _gemm._last_plan):
        d.clear()


def _tensors(ct, dt, dev):
    if dt.is_floating_point or dt.is_complex:
        a = ct.rand(4, 8, device=dev).to(dt)
        b = ct.rand(4, 8, device=dev).to(dt) + 0.5
    elif dt is D.bool_:
        a = ct.arange(32, device=dev).reshape(4, 8) % 2 == 0
        b = ct.arange(32, device=dev).reshape(4, 8) % 3 == 0
    else:
        a = (ct.arange(32, device=dev).reshape(4, 8) % 7).to(dt)
        b = (ct.arange(32, device=dev).reshape(4, 8) % 5 + 1).to(dt)
    return a, b


def _elementwise(ct, dt, dev):
    a, b = _tensors(ct, dt, dev)
    f, num = dt.is_floating_point, dt.category in (1, 2)
    one = 1.0 if f else (True if dt is D.bool_ else 1)
    a + b, a * b, a + one, a * one, a == b, a < b, ct.where(a < b, a, b)
    a + b[0], a + b.T.contiguous().T, a.T + b.T          # broadcast row and strided layouts
    a.to(D.float32), b.to(D.int64), ct.zeros_like(a), ct.ones_like(a), ct.full_like(a, one), a.clone()
    if num:
        a - b, a - one, one - a, a / b, a / one, a.neg(), a.abs(), a.maximum(b), a.clamp(0, 2), a ** 2
    if f:
        a.exp(), a.log(), a.sqrt(), a.rsqrt(), a.tanh(), a.sigmoid(), a.relu(), a.sin(), a.cos(), a.pow(b)
        a.reciprocal(), one / a


def _reduce(ct, dt, dev):
    a, _ = _tensors(ct, dt, dev)
    a.sum(), a.sum(0), a.sum(1), a.amax(), a.amax(1), a.argmax(), a.argmax(1), a.any(), a.all()
    if dt.category in (1, 2):
        a.max(1), a.min(), a.cumsum(1)
    if dt.is_floating_point:
        a.mean(), a.mean(1), a.std(1), a.var(), a.softmax(-1), a.log_softmax(-1), a.logsumexp(1)


def _matmul(ct, dt, dev):
    if not (dt.is_floating_point or dt.is_complex):
        return
    a, b = _tensors(ct, dt, dev)
    a @ b.T, a.T @ a, ct.bmm(a.reshape(2, 2, 8), b.reshape(2, 8, 2)), a[0] @ b[0]
    # GEMM variants depend on the shape class: a small MLP's forward and backward products as well
    x, w1, w2 = ct.rand(32, 10, device=dev).to(dt), ct.rand(50, 10, device=dev).to(dt), ct.rand(1, 50, device=dev).to(dt)
    h = x @ w1.T
    h @ w2.T, (h @ w2.T) @ w2, ((h @ w2.T).T @ h), h.T @ x, ct.addmm(ct.zeros(50, device=dev, dtype=dt), x, w1.T)


def _nn(ct, dt, dev):
    if not dt.is_floating_point:
        return
    F = ct.nn.functional
    a, b = _tensors(ct, dt, dev)
    w = ct.rand(3, 8, device=dev).to(dt)
    y = F.linear(a, w, ct.zeros(3, device=dev, dtype=dt))
    F.relu(y), F.mse_loss(y, y * 0.5), F.cross_entropy(y, ct.tensor([0, 1, 2, 0], device=dev)), F.gelu(y)


def _autograd(ct, dt, dev):
    if not dt.is_floating_point:
        return
    F = ct.nn.functional
    a, _ = _tensors(ct, dt, dev)
    w = ct.rand(3, 8, device=dev).to(dt).requires_grad_()
    bias = ct.zeros(3, device=dev, dtype=dt).requires_grad_()
    y = F.relu(F.linear(a, w, bias))
    loss = F.mse_loss(y, ct.zeros_like(y)) + (y.sigmoid() * y.tanh()).mean()
    loss.backward()
    with ct.no_grad():
        w.sub_(0.1 * w.grad)
        w.add_(w.grad, alpha=-0.1)
        bias.mul_(0.9).add_(bias.grad)
    # a small MLP's training step as written with nn and optim (initialisation, SGD with momentum, Adam)
    m = ct.nn.Sequential(ct.nn.Linear(10, 50), ct.nn.ReLU(), ct.nn.Linear(50, 1)).to(device=dev, dtype=dt)
    x, t = ct.rand(32, 10, device=dev).to(dt), ct.rand(32, 1, device=dev).to(dt)
    for opt in (ct.optim.SGD(m.parameters(), lr=0.01, momentum=0.9), ct.optim.Adam(m.parameters(), lr=1e-3)):
        opt.zero_grad()
        F.mse_loss(m(x), t).backward()
        opt.step()


_FAMILY = {"elementwise": _elementwise, "reduce": _reduce, "matmul": _matmul, "nn": _nn, "autograd": _autograd}


register("warmup", warmup, kind="util")
