"""Bundles: several kernels built as one program (cltensor/_bundle.py, used by cltensor.warmup)."""
import gc
import os
import subprocess
import sys

import numpy as np
import pyopencl as cl
import pytest

import cltensor as ct
from cltensor import _bundle as B
from cltensor import _device as dv
from cltensor import _kernels as K

PRELUDE = """#define OVL __attribute__((overloadable))
static inline OVL float twice(float a) { return 2 * a; }
static inline OVL double twice(double a) { return 2 * a; }
"""
SRC_A = PRELUDE + """#define MAP(x) (twice(x) + 1)
inline float helper(float x) { return x * 3; }
__kernel void k(__global float* restrict o, __global const float* restrict a)
{
    int i = get_global_id(0);   /* a comment { with a brace */
    o[i] = MAP(a[i]) + helper(a[i]);
}
"""
SRC_B = PRELUDE + """#define MAP(x) (twice(x) - 1)
inline float helper(float x) { return x * 5; }
__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void k(__global float* restrict o,
                                                            __global const float* restrict a)
{
    int i = get_global_id(0);
    if (i >= 0) { o[i] = MAP(a[i]) + helper(a[i]); }
}
"""
SRC_C = PRELUDE + """#define MAP(x) (twice(x) + 1)
inline float helper(float x) { return x * 3; }
__kernel void k(__global float* restrict o, __global const float* restrict a)
{
    int i = get_global_id(0);
    o[i] = MAP(a[i]) * helper(a[i]);
}
"""
# defines no MAP of its own but uses the word as a variable: the first source's macro would expand it
SRC_D = PRELUDE + """__kernel void k(__global float* restrict o, __global const float* restrict a)
{
    int i = get_global_id(0);
    float MAP = a[i];
    o[i] = twice(MAP);
}
"""


def test_chunks_split_top_level_pieces():
    pieces = B._chunks(SRC_B)
    assert pieces[0] == "#define OVL __attribute__((overloadable))"
    assert pieces[3].startswith("#define MAP")
    assert pieces[-1].startswith("__kernel") and pieces[-1].endswith("}")
    assert len(pieces) == 6
    assert [B._defines(p)[0] for p in pieces] == ["OVL", "twice", "twice", "MAP", "helper", "k"]
    assert B._defines(pieces[1])[2] and not B._defines(pieces[4])[2]      # overloadable or not


def test_merge_dedupes_shared_pieces_and_renames_conflicts():
    src, names, left = B.merge_sources([SRC_A, SRC_B, SRC_C, SRC_D])
    assert names == ["k", "k_b1", "k_b2", None] and left == [3]
    assert src.count("#define OVL") == 1 and src.count("twice(float a)") == 1
    assert "MAP_b1" in src and "helper_b1" in src
    # the third source's MAP and helper are the first source's, so they are not repeated
    assert src.count("#define MAP(") == 1 and "MAP_b2" not in src and "helper_b2" not in src


def test_merged_program_runs_each_kernel_as_its_own_source():
    rt = dv.runtime(ct.get_default_device())
    src, names, _ = B.merge_sources([SRC_A, SRC_B, SRC_C])
    prg = cl.Program(rt.ctx, src).build()
    x = np.linspace(-2, 3, 16).astype(np.float32)
    mf = cl.mem_flags
    a = cl.Buffer(rt.ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=x)
    o = cl.Buffer(rt.ctx, mf.READ_WRITE, x.nbytes)
    want = [(2 * x + 1) + 3 * x, (2 * x - 1) + 5 * x, (2 * x + 1) * (3 * x)]
    for name, w in zip(names, want):
        cl.Kernel(prg, name)(rt.queue, (16,), (1,), o, a)
        got = np.empty_like(x)
        cl.enqueue_copy(rt.queue, got, o)
        np.testing.assert_allclose(got, w, rtol=1e-6)


def test_collect_stubs_launches_and_leaves_no_stand_ins():
    rt = dv.runtime(ct.get_default_device())
    before = K.stats["launches"]
    with B.collect() as got:
        k = K.get(rt, "elementwise", "flat", out=ct.float32, ins=(ct.float32,), kinds=("t",),
                  cdts=(ct.float32,), rdt=ct.float32, expr="x0 * 3.5f - 0.25f", idx="int")
        assert isinstance(k, B.Pending) and K.observer is B._noop
        K.set_arg_types(k, [None, np.int32, None, np.int32, np.int32])
        assert K.launch(rt, k, (64,), (64,), [None] * 5) is None
        items = [(key, src) for (_, key), (_, src) in got.items()]
    assert K.observer is not B._noop and B.active is None
    assert len(items) == 1 and "__kernel void k(" in items[0][1]
    assert K.stats["launches"] == before          # stubbed: nothing ran
    del k, got
    gc.collect()
    assert len(B._alive) == 0


def test_build_needs_two_kernels_and_falls_back_on_errors():
    rt = dv.runtime(ct.get_default_device())
    assert B.build(rt, [(("x", "y", ()), SRC_A)]) == []
    bad = SRC_C.replace("helper(a[i]);", "helper(a[i]) +* ;")
    n = K.stats["builds"]
    assert B.build(rt, [(("t", "a", ()), SRC_A), (("t", "bad", ()), bad)], save=False) == []
    assert K.stats["builds"] == n and ("t", "a", ()) not in rt.kernels


def _run(code, env):
    e = dict(os.environ)
    e.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, timeout=600)


WARM = """
import gc, numpy as np, cltensor as ct
from cltensor import _kernels as K, _bundle as B
n = ct.warmup(dtypes=ct.float32, families=("elementwise", "reduce"))
gc.collect()
rt = ct.tensor([1.0])._st.rt
built = K.stats["builds"]
a, b = ct.rand(5, 7), ct.rand(5, 7)
r = ((a + b) * 2.0 - a.exp()).sum(1)
m = (a.T + b.T).amax(0)
# (atol: the sum cancels, and float32 exp may differ from numpy's by an ulp of the terms, ~2.4e-7)
ok = np.allclose(r.cpu().numpy(), ((a.cpu().numpy() + b.cpu().numpy()) * 2 - np.exp(a.cpu().numpy())).sum(1), rtol=1e-5,
                 atol=1e-5) and \\
    np.allclose(m.cpu().numpy(), (a.cpu().numpy().T + b.cpu().numpy().T).max(0))
s = K.stats
print(n, s["bundles"], len(rt.kernels), len(B._alive), s["builds"] - built, ok)
print(s["source_builds"], s["binary_loads"])
"""


def test_warmup_bundles_families_and_later_processes_load_them(tmp_path):
    env = {"CLTENSOR_CACHE_DIR": str(tmp_path / "c")}
    r1 = _run(WARM, env)
    assert r1.returncode == 0, r1.stderr
    (n, bundles, kernels, alive, after, ok), (src1, loads1) = [l.split() for l in r1.stdout.splitlines()]
    n, bundles, kernels, alive, after, src1 = map(int, (n, bundles, kernels, alive, after, src1))
    # one program per family (a kernel first needed by the second pass may still be built alone)
    assert bundles == 2 and n <= 4 and kernels >= 25 and alive == 0 and after == 0 and ok == "True"
    assert src1 == n and int(loads1) == 0
    refs = [f for _, _, fs in os.walk(tmp_path / "c") for f in fs if f.endswith(".ref")]
    assert len(refs) >= kernels - 4
    r2 = _run(WARM, env)                   # a later process: the bundles load from their binaries
    assert r2.returncode == 0, r2.stderr
    (n2, bundles2, kernels2, alive2, after2, ok2), (src2, loads2) = [l.split() for l in r2.stdout.splitlines()]
    assert ok2 == "True" and int(bundles2) == 0 and int(src2) == 0 and int(loads2) == n and int(n2) == n
