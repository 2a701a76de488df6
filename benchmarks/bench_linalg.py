"""torch.linalg benchmark: cltensor vs numpy (LAPACK) vs torch CPU, interleaved in one process.

    python benchmarks/bench_linalg.py            # batched 1024 x (32x32) solve/inv/cholesky, 2048^2 LU/Cholesky,
                                                 # svd 512^2 and 1024x256, eigh, qr
    python benchmarks/bench_linalg.py --quick    # smaller sizes
    python benchmarks/bench_linalg.py --eig      # only eigh/eigvalsh/svd, 128..1024, float32 and float64
    python benchmarks/bench_linalg.py --eig --ops svd    # only the svd rows of those
    python benchmarks/bench_linalg.py --ops inv,cholesky,lu_factor,qr    # only these ops of the default rows
    python benchmarks/bench_linalg.py --ops "cholesky:1024x(32x32)"     # only this row (op:size)

Each repetition runs the three libraries in turn (cltensor drained with cltensor.synchronize()); the best
repetition is reported (12 repetitions for the batched small-matrix rows, 4 for the others). Ratios > 1:
cltensor faster. numpy's OpenBLAS kernel set depends on OPENBLAS_CORETYPE
(see the machine notes): say which one ran.
"""
import os
import sys
import time

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import cltensor as ct  # noqa: E402

try:
    import torch  # noqa: E402
except Exception:  # pragma: no cover
    torch = None
try:
    import scipy.linalg as sla  # noqa: E402
except Exception:  # pragma: no cover
    sla = None


def _bench(fns, reps):
    live = {k: f for k, f in fns.items() if f is not None}
    for k, f in live.items():
        f()
        if k == "cltensor":
            ct.synchronize()
    times = {k: [] for k in live}
    for _ in range(reps):
        for k, f in live.items():
            t0 = time.perf_counter()
            f()
            if k == "cltensor":
                ct.synchronize()
            times[k].append((time.perf_counter() - t0) * 1e3)
    return {k: min(v) for k, v in times.items()}


def _spd(b, n, rng):
    a = rng.standard_normal((b, n, n)).astype(np.float32)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n, dtype=np.float32)


def rows(quick=False):
    rng = np.random.default_rng(0)
    out = []
    B, n = (256, 32) if quick else (1024, 32)
    N = 512 if quick else 2048
    reps = 3 if quick else 4
    a = rng.standard_normal((B, n, n)).astype(np.float32) + n ** 0.5 * np.eye(n, dtype=np.float32)
    b = rng.standard_normal((B, n, 1)).astype(np.float32)
    s = _spd(B, n, rng)
    A, Bc, S = ct.tensor(a), ct.tensor(b), ct.tensor(s)
    ta, tb, ts = (torch.from_numpy(x) for x in (a, b, s)) if torch else (None,) * 3
    big = rng.standard_normal((N, N)).astype(np.float32)
    bigs = big @ big.T / N + np.eye(N, dtype=np.float32)
    G, GS = ct.tensor(big), ct.tensor(bigs)
    tg, tgs = (torch.from_numpy(big), torch.from_numpy(bigs)) if torch else (None, None)
    cases = [
        ("solve", f"{B}x({n}x{n})", lambda: ct.linalg.solve(A, Bc), lambda: np.linalg.solve(a, b),
         torch and (lambda: torch.linalg.solve(ta, tb))),
        ("inv", f"{B}x({n}x{n})", lambda: ct.linalg.inv(A), lambda: np.linalg.inv(a),
         torch and (lambda: torch.linalg.inv(ta))),
        ("cholesky", f"{B}x({n}x{n})", lambda: ct.linalg.cholesky(S), lambda: np.linalg.cholesky(s),
         torch and (lambda: torch.linalg.cholesky(ts))),
        ("det", f"{B}x({n}x{n})", lambda: ct.linalg.det(A), lambda: np.linalg.det(a),
         torch and (lambda: torch.linalg.det(ta))),
        ("lu_factor", f"{N}x{N}", lambda: ct.linalg.lu_factor_ex(G),
         (lambda: sla.lu_factor(big, check_finite=False)) if sla else None,
         torch and (lambda: torch.linalg.lu_factor_ex(tg))),
        ("cholesky", f"{N}x{N}", lambda: ct.linalg.cholesky_ex(GS), lambda: np.linalg.cholesky(bigs),
         torch and (lambda: torch.linalg.cholesky_ex(tgs))),
    ]
    M = 128 if quick else 512
    sq = rng.standard_normal((M, M)).astype(np.float32)
    sh = sq + sq.T
    Q, H = ct.tensor(sq), ct.tensor(sh)
    w2 = rng.standard_normal((2 * M, M // 2)).astype(np.float32)
    W2, tw2 = ct.tensor(w2), (torch.from_numpy(w2) if torch else None)
    tq, th = (torch.from_numpy(sq), torch.from_numpy(sh)) if torch else (None, None)
    cases += [
        ("svd", f"{M}x{M}", lambda: ct.linalg.svd(Q, full_matrices=False), lambda: np.linalg.svd(sq),
         torch and (lambda: torch.linalg.svd(tq, full_matrices=False))),
        ("svd", f"{2 * M}x{M // 2}", lambda: ct.linalg.svd(W2, full_matrices=False),
         lambda: np.linalg.svd(w2, full_matrices=False), torch and (lambda: torch.linalg.svd(tw2, full_matrices=False))),
        ("svdvals", f"{M}x{M}", lambda: ct.linalg.svdvals(Q), lambda: np.linalg.svd(sq, compute_uv=False),
         torch and (lambda: torch.linalg.svdvals(tq))),
        ("eigh", f"{M}x{M}", lambda: ct.linalg.eigh(H), lambda: np.linalg.eigh(sh),
         torch and (lambda: torch.linalg.eigh(th))),
        ("eigh", f"64x(48x48)", lambda: ct.linalg.eigh(H[:48, :48].expand(64, 48, 48)),
         lambda: np.linalg.eigh(np.broadcast_to(sh[:48, :48], (64, 48, 48))),
         torch and (lambda: torch.linalg.eigh(th[:48, :48].expand(64, 48, 48)))),
        ("qr", f"{M}x{M}", lambda: ct.linalg.qr(Q), lambda: np.linalg.qr(sq), torch and (lambda: torch.linalg.qr(tq))),
        ("eigh", f"{B}x(8x8)", lambda: ct.linalg.eigh(S[:, :8, :8]), lambda: np.linalg.eigh(s[:, :8, :8]),
         torch and (lambda: torch.linalg.eigh(ts[:, :8, :8]))),
        ("svd", f"{B}x(8x8)", lambda: ct.linalg.svd(A[:, :8, :8]), lambda: np.linalg.svd(a[:, :8, :8]),
         torch and (lambda: torch.linalg.svd(ta[:, :8, :8]))),
    ]
    only = _only()
    for op, size, fc, fn, ft in cases:
        if only and op not in only and f"{op}:{size}" not in only:
            continue
        small = size.startswith(f"{B}x(")      # batched small matrices: a few ms each, so more repetitions
        r = _bench({"cltensor": fc, "numpy": fn, "torch": ft}, 3 * reps if small else reps)
        out.append({"op": op, "size": size, **{k + "_ms": v for k, v in r.items()}})
    return out


def _only():
    if "--ops" not in sys.argv:
        return None
    return set(sys.argv[sys.argv.index("--ops") + 1].split(","))


def eig_rows(sizes=(128, 256, 512, 1024), svd_sizes=(128, 256, 512), reps=5):
    """eigh / eigvalsh (and svd) of one n x n matrix."""
    rng = np.random.default_rng(1)
    out = []
    for dt in (np.float32, np.float64):
        for n in sizes:
            x = rng.standard_normal((n, n)).astype(dt)
            h = x + x.T
            H = ct.tensor(h)
            th = torch.from_numpy(h) if torch else None
            cases = [("eigh", lambda: ct.linalg.eigh(H), lambda: np.linalg.eigh(h), torch and (lambda: torch.linalg.eigh(th))),
                     ("eigvalsh", lambda: ct.linalg.eigvalsh(H), lambda: np.linalg.eigvalsh(h),
                      torch and (lambda: torch.linalg.eigvalsh(th)))]
            if n in svd_sizes:
                X, tx = ct.tensor(x), (torch.from_numpy(x) if torch else None)
                cases.append(("svd", lambda: ct.linalg.svd(X, full_matrices=False),
                              lambda: np.linalg.svd(x, full_matrices=False),
                              torch and (lambda: torch.linalg.svd(tx, full_matrices=False))))
            only = _only()
            for op, fc, fn, ft in cases:
                if only and op not in only:
                    continue
                r = _bench({"cltensor": fc, "numpy": fn, "torch": ft}, reps)
                out.append({"op": op, "size": f"{n}x{n} {np.dtype(dt).name}", **{k + "_ms": v for k, v in r.items()}})
    return out


def main():
    quick = "--quick" in sys.argv
    print(f"device: {ct.tensor([1.0]).device} ({ct.tensor([1.0])._st.rt.info.name}), "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(f"{'op':<10} {'size':<20} {'cltensor ms':>12} {'numpy ms':>10} {'torch ms':>10} {'vs numpy':>9} {'vs torch':>9}")
    os.system("uptime")
    for r in (eig_rows() if "--eig" in sys.argv else rows(quick)):
        c, n, t = r["cltensor_ms"], r.get("numpy_ms"), r.get("torch_ms")
        print(f"{r['op']:<10} {r['size']:<20} {c:12.2f} {n or 0:10.2f} {t or 0:10.2f} "
              f"{(n / c) if n else 0:9.2f} {(t / c) if t else 0:9.2f}")


if __name__ == "__main__":
    main()
