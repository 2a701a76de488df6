"""Fusion benchmark (cltensor.compile): eager vs compiled cltensor, numpy and torch CPU (eager) side by side.

    python benchmarks/bench_fusion.py            # 16M-element float32 chains, SimpleModel step, Linear+ReLU
    python benchmarks/bench_fusion.py --quick

`rows(quick=False)` returns rows for benchmarks/run.py. The "cltensor" column of a "(compiled)" row is the
compiled function; its "speedup" field is eager time / compiled time measured in the same interleaved loop.
"""
import os
import sys

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import cltensor as ct  # noqa: E402
from bench_nn import _best  # noqa: E402  (interleaved best-of timing, cltensor drained per repetition)

try:
    import torch  # noqa: E402
except Exception:  # pragma: no cover
    torch = None


def _pair(op, size, eager, compiled, np_fn, t_fn, reps, inner=1):
    t = _best({"cltensor": eager, "cltensor_compiled": compiled, "numpy": np_fn, "torch": t_fn}, reps, inner)
    base = {"size": size, "numpy_ms": t.get("numpy"), "torch_ms": t.get("torch")}
    return [dict(base, op=f"{op} (eager)", cltensor_ms=t["cltensor"]),
            dict(base, op=f"{op} (compiled: {t['cltensor'] / t['cltensor_compiled']:.2f}x eager)",
                 cltensor_ms=t["cltensor_compiled"], speedup=t["cltensor"] / t["cltensor_compiled"])]


def _cheap(m, a, b, c):          # 6 ops: mul add mul sub abs minimum
    return m.minimum(m.abs((a * b + c) * 0.5 - a), c)


def _transc(m, a, b, c):         # 6 ops: mul add exp mul sub sigmoid
    return m.sigmoid(m.exp(a * b + c) * 2.0 - a)


def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _simple(lib, compiled):
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(10, 50), lib.nn.ReLU(), lib.nn.Linear(50, 1))
    opt = lib.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    x, y = lib.randn(32, 10), lib.randn(32, 1)
    fwd = ct.compile(m) if compiled else m
    loss_fn = ct.compile(lambda p, t: ((p - t) ** 2).mean()) if compiled else lib.nn.MSELoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(fwd(x), y)
        loss.backward()
        opt.step()
    return step


def _linear_relu(lib, x, w, b):
    with lib.no_grad():
        return lib.nn.functional.linear(x, w, b).relu()


def rows(quick=False):
    reps = 4 if quick else 10
    n = 1 << 20 if quick else 1 << 24
    g = np.random.default_rng(0)
    an, bn, cn = (g.random(n, dtype=np.float32) for _ in range(3))
    a, b, c = ct.tensor(an), ct.tensor(bn), ct.tensor(cn)
    ta, tb, tc = (torch.from_numpy(v) for v in (an, bn, cn)) if torch is not None else (None,) * 3
    out = []
    cheap = ct.compile(lambda a, b, c: _cheap(ct, a, b, c))
    out += _pair("6-op chain mul add mul sub abs minimum", f"{n} f32", lambda: _cheap(ct, a, b, c),
                 lambda: cheap(a, b, c), lambda: np.minimum(np.abs((an * bn + cn) * 0.5 - an), cn),
                 (lambda: _cheap(torch, ta, tb, tc)) if torch is not None else None, reps)
    tr = ct.compile(lambda a, b, c: _transc(ct, a, b, c))
    out += _pair("6-op chain mul add exp mul sub sigmoid", f"{n} f32", lambda: _transc(ct, a, b, c),
                 lambda: tr(a, b, c), lambda: _np_sigmoid(np.exp(an * bn + cn) * 2.0 - an),
                 (lambda: _transc(torch, ta, tb, tc)) if torch is not None else None, reps)
    mse = ct.compile(lambda a, b: ((a - b) ** 2).mean())
    out += _pair("((a - b) ** 2).mean()", f"{n} f32", lambda: ((a - b) ** 2).mean(), lambda: mse(a, b),
                 lambda: ((an - bn) ** 2).mean(),
                 (lambda: ((ta - tb) ** 2).mean()) if torch is not None else None, reps)
    ar = ct.tensor(an, requires_grad=True)

    def bw(f):
        def run():
            ar.grad = None
            f(ar, b, c).sum().backward()
        return run
    cg = ct.compile(lambda a, b, c: _transc(ct, a, b, c))
    tar = ta.clone().requires_grad_() if torch is not None else None

    def t_bw():
        tar.grad = None
        _transc(torch, tar, tb, tc).sum().backward()
    out += _pair("6-op transcendental chain forward+backward", f"{n} f32", bw(lambda x, y, z: _transc(ct, x, y, z)),
                 bw(cg), None, t_bw if torch is not None else None, max(2, reps // 2))
    out += _pair("SimpleModel train step (compile(model), compiled MSE)", "batch 32", _simple(ct, False),
                 _simple(ct, True), None, _simple(torch, False) if torch is not None else None, reps,
                 20 if quick else 50)
    lr = ct.compile(lambda x, w, b: _linear_relu(ct, x, w, b))
    # the GEMM-bound shape of a hidden layer, and a short K with a wide output, where the ReLU pass weighs more
    for (m, k, nf), inner in (((256, 512, 512), 5), ((4096, 64, 1024), 2)):
        xn, wn, bn_ = (g.standard_normal(s, dtype=np.float32) for s in ((m, k), (nf, k), (nf,)))
        x, w, bias = ct.tensor(xn), ct.tensor(wn), ct.tensor(bn_)
        tx, tw, tbias = (torch.from_numpy(v) for v in (xn, wn, bn_)) if torch is not None else (None,) * 3
        out += _pair("Linear+ReLU inference (compiled epilogue)", f"x {m}x{k} @ W {k}x{nf} + b",
                     lambda: _linear_relu(ct, x, w, bias), lambda: lr(x, w, bias),
                     lambda: np.maximum(xn @ wn.T + bn_, 0),
                     (lambda: _linear_relu(torch, tx, tw, tbias)) if torch is not None else None, reps, inner)
    return out


if __name__ == "__main__":
    for r in rows("--quick" in sys.argv):
        cells = [f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()]
        print("  ".join(cells))
