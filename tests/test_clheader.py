"""The slim builtin header (cltensor/_clheader.py): on PoCL, programs are built with `-D_OPENCL_H_` behind only the
declarations of the builtins they use, taken from the opencl-c.h PoCL compiles against."""
import json
import os
import subprocess
import sys

import numpy as np
import pyopencl as cl
import pytest

import cltensor as ct
from cltensor import _clheader as H
from cltensor import _device
from cltensor import _kernels as K

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SYNTH = r"""//===--- a header in opencl-c.h's style --- \
   this comment line continues (spliced before comments are removed)
#ifndef _GUARD_H_
#define _GUARD_H_
#include "base.h"
#define __ovld __attribute__((overloadable))
float __ovld sin(float);
float4 __ovld sin(float4);
#if defined(cl_khr_fp64)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
double __ovld sin(double);
#ifdef __opencl_c_generic_address_space
double __ovld fract(double, double *);
#else
double __ovld fract(double, __global double *);
#endif
#endif // defined(cl_khr_fp64) || \
   still the comment
void __ovld vstore2(float2 data, size_t offset,
                    __global float *p);
int __attribute__((overloadable)) __attribute__((const)) get_width(int);
#undef __ovld
#endif //_GUARD_H_
"""


def test_parse_indexes_declarations_under_their_conditions():
    idx = H.parse(SYNTH)
    assert sorted(idx.by_name) == ["fract", "get_width", "sin", "vstore2"]
    out = idx.header("kernel void k(global float *a) { a[0] = sin(a[1]); }")
    lines = out.splitlines()
    # the include guard and the include are gone; macros and pragmas are kept; only sin's overloads, in order
    assert "_GUARD_H_" not in out and "#include" not in out
    assert lines[0] == "#define __ovld __attribute__((overloadable))"
    assert [ln for ln in lines if "sin(" in ln] == ["float __ovld sin(float);", "float4 __ovld sin(float4);",
                                                    "double __ovld sin(double);"]
    i = lines.index("double __ovld sin(double);")
    assert lines[i - 2:i] == ["#if defined(cl_khr_fp64)", "#pragma OPENCL EXTENSION cl_khr_fp64 : enable"]
    assert lines[-1] == "#undef __ovld" and lines[-2] == "#endif"
    assert "fract" not in out and "vstore2" not in out


def test_parse_else_branches_and_multiline_declarations():
    idx = H.parse(SYNTH)
    out = idx.header("x = fract(y, &z); vstore2(v, 0, p); get_width(3);")
    assert "void __ovld vstore2(float2 data, size_t offset, __global float *p);" in out
    assert "int __attribute__((overloadable)) __attribute__((const)) get_width(int);" in out
    # the #else declaration is emitted after its #if and #else lines, each branch closed
    want = ["#if defined(cl_khr_fp64)", "#pragma OPENCL EXTENSION cl_khr_fp64 : enable",
            "#ifdef __opencl_c_generic_address_space", "double __ovld fract(double, double *);", "#endif",
            "#ifdef __opencl_c_generic_address_space", "#else", "double __ovld fract(double, __global double *);",
            "#endif", "#endif"]
    lines = out.splitlines()
    i = lines.index(want[0])
    assert lines[i:i + len(want)] == want
    # comments mentioning a name do not select it
    assert "sin(" not in idx.header("/* sin(x) */ // sin(y)\n k();").replace("#define", "")


@pytest.mark.parametrize("bad", ["float f(float) { return 0; }", "#if A\nfloat f(float);\n",
                                 "float f(float", "#endif\n", "#error no\n", "typedef int (*fp)(int);"])
def test_parse_refuses_what_it_cannot_represent(bad):
    with pytest.raises(ValueError):
        H.parse(bad)


def _rt():
    return _device.runtime(_device.get_default_device())


def _pocl_slim():
    rt = _rt()
    if K._slim_index(rt) is None:
        pytest.skip("the default device does not build with the slim header (not PoCL, or no opencl-c.h found)")
    return rt


def test_real_header_parses():
    rt = _pocl_slim()
    idx = K._slim_index(rt)
    for name in ("get_global_id", "exp", "vload16", "vstore_half", "convert_float4", "atomic_add", "barrier"):
        assert name in idx.by_name, name


SRC = r"""
__kernel void k(__global float *out, __global const float *x, const int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    float4 v = vload4(0, x);
    out[i] = exp(x[i]) + sqrt(fabs(x[i])) + convert_float(i) + dot(v, v) + atan2(x[i], 2.0f);
}
"""


def _run(prg, n=37):
    rt = _rt()
    x = np.linspace(-3, 3, n).astype(np.float32)
    mf = cl.mem_flags
    xb = cl.Buffer(rt.ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=x)
    ob = cl.Buffer(rt.ctx, mf.WRITE_ONLY, x.nbytes)
    q = cl.CommandQueue(rt.ctx)
    cl.Kernel(prg, "k")(q, (n,), None, ob, xb, np.int32(n))
    out = np.empty_like(x)
    cl.enqueue_copy(q, out, ob)
    q.finish()
    return out


def test_slim_build_equals_full_build():
    rt = _pocl_slim()
    prg, src, opts = K.build_program(rt, SRC)
    assert H.OPTION in opts and src.endswith(SRC) and len(src) < 100_000
    full = cl.Program(rt.ctx, SRC).build(options=K._OPTIONS)
    np.testing.assert_array_equal(_run(prg), _run(full))


def test_program_needing_the_full_header_falls_back(monkeypatch):
    rt = _pocl_slim()
    monkeypatch.setenv(H.ENV_SWITCH, "1")
    # an index that lacks exp's declarations: the slim build fails, the full one builds
    idx = K._slim_index(rt)
    monkeypatch.setattr(rt, "_slim", H.Index([e for e in idx.entries if e[2] != "exp"]), raising=False)
    monkeypatch.setattr(rt, "_slim_misses", -10, raising=False)      # (this test must not switch it off)
    before = K.stats["slim_fallbacks"]
    prg, built, opts = K.build_program(rt, SRC)
    assert opts == K._OPTIONS and built == SRC and K.stats["slim_fallbacks"] == before + 1
    full = cl.Program(rt.ctx, SRC).build(options=K._OPTIONS)
    np.testing.assert_array_equal(_run(prg), _run(full))
    monkeypatch.setenv(H.ENV_SWITCH, "strict")
    with pytest.raises(K.KernelBuildError, match="slim"):
        K.build_program(rt, SRC)


def test_bad_source_raises_the_full_build_error():
    rt = _pocl_slim()
    with pytest.raises(cl.Error, match="undeclared|use of undeclared|error"):
        K.build_program(rt, SRC.replace("exp(x[i])", "no_such_function(x[i]) + y"))


def test_switch_off(monkeypatch):
    monkeypatch.setenv(H.ENV_SWITCH, "0")
    assert not H.enabled()
    monkeypatch.setenv(H.ENV_SWITCH, "strict")
    assert H.enabled() and H.strict()


def test_index_cached_on_disk(tmp_path):
    p = tmp_path / "opencl-c.h"
    p.write_text(SYNTH)
    H._indexes.clear()
    idx = H.load(str(p), str(tmp_path / "cache"))
    assert idx is not None and "sin" in idx.by_name
    assert list((tmp_path / "cache" / "clheader").glob("*.pkl"))
    H._indexes.clear()
    again = H.load(str(p), str(tmp_path / "cache"))
    assert again.entries == idx.entries
    bad = tmp_path / "bad.h"
    bad.write_text("float f(float) { return 0; }\n")
    assert H.load(str(bad), None) is None
    H._indexes.clear()


def test_kernels_of_ops_build_slim(tmp_path):
    """The normal path (template -> build) uses the slim header on PoCL: a fresh process with empty caches builds
    the kernels of a few op families without falling back (strict mode would raise)."""
    _pocl_slim()
    code = ("import json, numpy as np, cltensor as ct; from cltensor import _kernels as K\n"
            "x = ct.linspace(-2, 2, 11)\n"
            "y = (x.sinh() * 3 + x.atan()).cumsum(0).softmax(0)\n"
            "z = (ct.arange(12.0).reshape(3, 4) @ ct.ones(4, 2)).sum().item()\n"
            "print(json.dumps([y.tolist(), z, K.stats['source_builds'], K.stats['slim_fallbacks']]))")
    env = dict(os.environ, CLTENSOR_CACHE_DIR=str(tmp_path / "c"), POCL_CACHE_DIR=str(tmp_path / "p"),
               PYTHONPATH=ROOT, CLTENSOR_BUILD_PROGRESS="0", CLTENSOR_CACHE_FILL="0", CLTENSOR_SLIM_HEADER="strict")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    y, z, builds, fallbacks = json.loads(r.stdout.splitlines()[-1])
    v = np.linspace(-2, 2, 11)
    want = np.cumsum(np.sinh(v) * 3 + np.arctan(v))
    want = np.exp(want - want.max()) / np.exp(want - want.max()).sum()
    np.testing.assert_allclose(y, want, rtol=2e-5, atol=1e-7)
    assert z == 132.0 and builds >= 4 and fallbacks == 0
