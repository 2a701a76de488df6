"""Op-info rows of the special functions (cltensor/_special.py): lgamma, digamma, polygamma, mvlgamma, erfinv, i0 and
torch.special's own functions. Their elementwise rows replace the ones tests/opinfo.py generates from the op table
(which would call the table's keys, e.g. torch.special_i0e, and know nothing of their domains)."""
import numpy as np

import opinfo as _oi
from opinfo import OpInfo, Sample, FLOAT_EDGES, INF, NAN, ALL, _arr
from cltensor import _ops, _special

_KEYS = set(_special.KEYS)
_oi.ROWS[:] = [r for r in _oi.ROWS if r.ops_key not in _KEYS]


def _ew(name, key, nargs=1, *, torch_name=True, tol=None, half=True, **kw):
    o = _ops.OPS[key]
    dts = tuple(d for d in _oi._generated_dtypes(o) if half or d != "float16")
    errors = {d: _oi._ew_err(key, d) for d in ALL if d not in dts}
    forms = dict(method=torch_name, inplace=torch_name, out=True)
    return OpInfo(name, "unary" if nargs == 1 else "binary", ops_key=key, nargs=nargs, dtypes=dts, errors=errors,
                  tol=tol, **forms, **kw)


_POLES = (-1.0, -2.0, -3.0, -2.5, -0.5000001, 1e-8, 2.0, 10.0, 1e17, 1e20)
# erfinv near +-1: the result's condition number sqrt(pi)/2 exp(x^2) amplifies the last-bit differences of the
# erf each library's Newton steps use (PyTorch's CPU erf vs OpenCL's): up to ~7e-6 (float32) and ~2e-11 (float64)
# relative at |y| = 1 - 1e-7 .. 1 - 1e-6; elsewhere within the default tolerances
_ERFINV_TOL = {"float32": (2e-5, 1e-6), "float64": (1e-10, 1e-13)}

ROWS = [
    _ew("lgamma", "lgamma", edges=FLOAT_EDGES + _POLES + (1e30, -1e30), grad_domain=(0.5, 5)),
    _ew("digamma", "digamma", edges=FLOAT_EDGES + _POLES, grad_domain=(0.5, 5)),
    _ew("erfinv", "erfinv", domain=(-0.99, 0.99), grad_domain=(-0.9, 0.9), tol=_ERFINV_TOL,
        edges=(1.0, -1.0, 0.999999, -0.9999, 1.0000001, -2.0, 0.0, -0.0, 1e-30, 0.7, INF, -INF, NAN)),
    _ew("i0", "i0", domain=(-10, 10), edges=FLOAT_EDGES + (8.0, -8.0, 30.0, -100.0, 700.0, 1e4)),
    _ew("special.i0e", "special_i0e", torch_name=False, domain=(-10, 10),
        edges=FLOAT_EDGES + (8.0, -8.0, 30.0, -100.0, 700.0, 1e30)),
    _ew("special.i1", "special_i1", torch_name=False, domain=(-10, 10),
        edges=FLOAT_EDGES + (8.0, -8.0, 30.0, -100.0, 700.0, 1e4)),
    _ew("special.i1e", "special_i1e", torch_name=False, domain=(-10, 10),
        edges=FLOAT_EDGES + (8.0, -8.0, 30.0, -100.0, 700.0, 1e30)),
    _ew("special.ndtr", "special_ndtr", torch_name=False, domain=(-6, 6), edges=FLOAT_EDGES + (-10.0, 10.0, -40.0)),
    _ew("special.ndtri", "special_ndtri", torch_name=False, half=False, domain=(0.001, 0.999), grad_domain=(0.05, 0.95),
        edges=(0.0, -0.0, 1.0, -0.1, 1.1, 1e-30, 1e-10, 0.5, 0.13533528, 0.86466472, 1 - 1e-7, INF, -INF, NAN)),
    _ew("special.log_ndtr", "special_log_ndtr", torch_name=False, half=False, domain=(-10, 5),
        edges=FLOAT_EDGES + (-40.0, -1.0, -1.0000001, 30.0, -1e10)),
    _ew("special.erfcx", "special_erfcx", torch_name=False, half=False, domain=(-5, 30),
        edges=FLOAT_EDGES + (-9.0, -26.0, -27.0, 8.9, 9.1, 24.9, 25.1, 1e10, 1e300)),
    _ew("special.entr", "special_entr", torch_name=False, domain=(0, 5), grad_domain=(0.1, 5)),
    _ew("special.xlog1py", "special_xlog1py", 2, torch_name=False, domain=(-0.9, 5), grad_domain=(0.5, 5),
        edges=FLOAT_EDGES + (-1.0, -2.0)),
]


# Bessel, Airy, modified Bessel (no gradients in PyTorch; no float16 kernels)
_BESSEL_EDGES = FLOAT_EDGES + (5.0, -5.0, 2.0, 8.0, 2.09, -2.09, 8.3203353, 30.0, -30.0, 103.9, 1e5)
ROWS += [_ew("special." + n, "special_" + n, torch_name=False, half=False, grad=False, domain=(-12, 12),
             edges=_BESSEL_EDGES)
         for n, _ in _special._NOGRAD1]
# orthogonal polynomials (x, n): the trigonometric forms inside (-1, 1) (cos(n acos x) ...) amplify the last-bit
# differences of acos/cos between libraries by about n: float32 up to ~2e-6 absolute (|P| <= n + 1 there).
# x = NaN is left out: PyTorch returns an uninitialized value for NaN x and n >= 2 (cltensor: NaN)
_POLY_TOL = {"float32": (1e-4, 2e-5), "float64": (1e-11, 1e-12)}
_POLY_EDGES = (0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, 3.0, 7.0, 9.0, 12.0, INF, -INF)
ROWS += [_ew("special." + n, "special_" + n, 2, torch_name=False, half=False, grad=False, domain=(-1.5, 13),
             edges=_POLY_EDGES, tol=_POLY_TOL)
         for n, _ in _special._NOGRAD2 if n != "zeta"]
ROWS.append(_ew("special.zeta", "special_zeta", 2, torch_name=False, half=False, grad=False, domain=(0.5, 8),
                edges=FLOAT_EDGES + (2.0, 3.0, -2.0, -2.5, 1e-3, 40.0)))


# igamma(a, x) / igammac(a, x): ints are not promoted (PyTorch raises for them); gradients w.r.t. x only (the
# rows' gradient tests differentiate both inputs: PyTorch raises for a, tests/test_special.py checks x)
for _n in ("igamma", "igammac"):
    ROWS.append(_ew(_n, _n, 2, domain=(0.05, 30), grad=False,
                    edges=FLOAT_EDGES + (2.0, 25.0, 24.0, 250.0, 230.0, 0.3, 1.1, 1e-20, 1e10)))


# nextafter: PyTorch defines no derivative (its backward raises); cltensor's result does not require grad
ROWS.append(_ew("nextafter", "nextafter", 2, grad=False, edges=FLOAT_EDGES + (2.0, 65504.0, 6.1035156e-05, 1.0000001)))


def _poly_samples(dt, rng):
    x = _arr(rng, dt, (4, 5), -4, 6)
    if dt in ("float32", "float64", "float16"):
        x.ravel()[:8] = [0.0, -0.0, -1.0, -2.5, 1e10, INF, NAN, 0.5]
    # (the first sample is the one gradcheck differentiates: inside the domain)
    return [Sample(2, _arr(rng, dt, (3,), 0.5, 3)), Sample(0, x), Sample(1, x), Sample(3, x), Sample(1, _arr(rng, dt, ()))]


def _mvl_samples(dt, rng):
    x = _arr(rng, dt, (4, 5), 1, 6)
    return [Sample(x, 1), Sample(x, 3), Sample(_arr(rng, dt, (3,), 2, 4), 4)]


_REAL = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")
_CERR = {"complex64": NotImplementedError, "complex128": NotImplementedError}
_MVL_ERR = dict(_CERR, bool=RuntimeError)
# polygamma(n, x): the method takes (n) (Tensor.polygamma(n)): tested by tests/test_special.py
ROWS += [
    OpInfo("polygamma", "composite", method=False, inplace=False, dtypes=_REAL, errors=_CERR, sample=_poly_samples,
           grad_domain=(0.5, 5)),
    OpInfo("special.polygamma", "composite", method=False, inplace=False, dtypes=_REAL, errors=_CERR,
           sample=_poly_samples, grad_domain=(0.5, 5)),
    OpInfo("mvlgamma", "composite", inplace=True, dtypes=_REAL[1:], errors=_MVL_ERR, sample=_mvl_samples),
    OpInfo("special.multigammaln", "composite", method=False, inplace=False, dtypes=_REAL[1:], errors=_MVL_ERR,
           sample=_mvl_samples),
]

def _fp_samples(dt, rng):
    x = _arr(rng, dt, (4, 5), 1, 3)
    return [Sample(x, 2), Sample(x, _arr(rng, dt, (4, 5), -2, 2)), Sample(x, 0.5), Sample(_arr(rng, dt, (5,), 1, 3), 1j, grad=())]


# float_power computes in float64 (complex128 with a complex operand) whatever the inputs' dtypes
ROWS.append(OpInfo("float_power", "composite", inplace=True, dtypes=ALL, sample=_fp_samples))

EXEMPT = {
    # Tensor.polygamma(n): the argument order differs from the function's; tested by tests/test_special.py
    "polygamma.method",
    # torch.special names whose callable is the torch.* function itself (its row tests it); identity and values
    # checked by tests/test_special.py::test_special_aliases
    "special.gammaln", "special.digamma", "special.erfinv", "special.i0", "special.expit", "special.logit",
    "special.gammainc", "special.gammaincc", "special.exp2", "special.expm1", "special.log1p", "special.round",
    "special.sinc", "special.softmax", "special.log_softmax", "special.logsumexp", "special.xlogy", "special.erf",
    "special.erfc",
    # frexp returns (mantissa, int32 exponent): tests/test_special.py::test_frexp
    "frexp",
}

# differentiable rows of cltensor._ops.OPS from cltensor/_special.py, gradchecked by their op-info rows
# (test_opinfo.py::test_gradcheck: the unary rows, xlog1py, ldexp, polygamma) or by tests/test_special.py (igamma,
# igammac w.r.t. x; frexp's mantissa; multigammaln through lgamma)
GRADCHECKED = {"lgamma", "digamma", "polygamma", "erfinv", "i0", "special_i0e", "special_i1", "special_i1e",
               "special_ndtr", "special_ndtri", "special_log_ndtr", "special_erfcx", "special_entr",
               "special_xlog1py", "igamma", "igammac", "ldexp", "frexp_m"}
