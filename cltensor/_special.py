"""Special functions: the gamma family (lgamma, digamma, polygamma, mvlgamma), erfinv, modified Bessel functions
of the first kind, the normal distribution's CDF, its inverse and logarithm, erfcx, entr, xlog1py, and the
torch.special namespace (its own functions plus the aliases of torch.* ops).

Each function is a row of the elementwise table (cltensor/_ops.py) whose expression calls a device function of
templates/special.mako (sp_digamma(x0) ...); elementwise.mako includes those functions in the kernels whose
expression names one.
"""
import collections
import math

from . import _dtypes as D
from . import _ops
from ._ops import op, apply, apply_, where
from ._registry import register, get as _entry
from ._tensor import Tensor

_SQRT_PI_2 = math.sqrt(math.pi) / 2
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)

# PyTorch's words when these ops refuse complex inputs (the name of the CPU kernel that refuses)
_CPU_NAME = {"lgamma": "lgamma_vml_cpu", "digamma": "digamma", "polygamma": "polygamma", "erfinv": "erfinv_vml_cpu",
             "i0": "i0_vml_cpu", "special_i0e": "i0e_cpu", "special_i1": "i1_cpu", "special_i1e": "i1e_cpu",
             "special_ndtr": "erf_vml_cpu", "special_ndtri": "ndtri_cpu", "special_log_ndtr": "log_ndtr_cpu",
             "special_xlog1py": "xlog1py_cpu", "special_entr": "entr_cpu", "special_erfcx": "erfcx_cpu"}
for _k, _v in _CPU_NAME.items():
    _ops._ERRS[(_k, "c")] = (NotImplementedError, '"' + _v + '" not implemented for \'{1}\'')

# keys of this module's rows in cltensor._ops.OPS (the op-info table gives them their own rows)
KEYS = tuple(_CPU_NAME) + ("igamma", "igammac", "nextafter", "frexp_m", "frexp_e", "frexp_s")


def _f(t):
    return t if isinstance(t, Tensor) else float(t)


# ---------------------------------------------------------------- the rows
op("lgamma", 1, "float", {"f": "lgamma(x0)"}, lambda g, a, o: (g * digamma(a),), saves="0", public=True)
op("digamma", 1, "float", {"f": "sp_digamma(x0)"}, lambda g, a, o: (g * polygamma(1, a),), saves="0",
   public=True)
# polygamma(n, x): n travels as the second operand (a float scalar argument: a new n builds no new kernel)
op("polygamma", 2, "float", {"f": "sp_polygamma((int)x1, x0)"},
   lambda g, a, n, o: (g * polygamma(int(n) + 1, a), None), saves="01")
op("erfinv", 1, "float", {"f": "sp_erfinv(x0)"}, lambda g, a, o: (g * _SQRT_PI_2 * (o * o).exp(),), saves="o",
   public=True)
op("i0", 1, "float", {"f": "sp_i0(x0)"}, lambda g, a, o: (g * special_i1(a),), saves="0", public=True)
op("special_i0e", 1, "float", {"f": "sp_i0e(x0)"},
   lambda g, a, o: (g * (special_i1e(a) - a.sgn() * o),), saves="0o")
op("special_i1", 1, "float", {"f": "sp_i1(x0)"}, lambda g, a, o: (_i1_grad(g, a, o, False),), saves="0o")
op("special_i1e", 1, "float", {"f": "sp_i1e(x0)"}, lambda g, a, o: (_i1_grad(g, a, o, True),), saves="0o")
# ndtr as PyTorch computes it: (1 + erf(x / sqrt(2))) / 2
op("special_ndtr", 1, "float", {"f": "(1 + erf(x0 * ($T)0.70710678118654752440)) * ($T)0.5"},
   lambda g, a, o: (g * (a * a * -0.5).exp() * _INV_SQRT_2PI,), saves="0")
op("special_ndtri", 1, "float", {"f": "sp_ndtri(x0)"},
   lambda g, a, o: (g * _SQRT_2PI * (o * o * 0.5).exp(),), saves="o")
op("special_log_ndtr", 1, "float", {"f": "sp_log_ndtr(x0)"},
   lambda g, a, o: (g * _INV_SQRT_2PI * (-(o + a * a * 0.5)).exp(),), saves="0o")
op("special_erfcx", 1, "float", {"f": "sp_erfcx(x0)"},
   lambda g, a, o: (g * (2 * a * o - 2 / math.sqrt(math.pi)),), saves="0o")
op("special_entr", 1, "float", {"f": "sp_entr(x0)"}, lambda g, a, o: (g * -(1 + a.log()),), saves="0")
op("special_xlog1py", 2, "float", {"f": "sp_xlog1py(x0, x1)"},
   lambda g, a, b, o: (_xlog1py_grad_self(g, a, b) if isinstance(a, Tensor) else None,
                       g * a / (b + 1) if isinstance(b, Tensor) else None), saves="01")


def _i1_grad(g, a, o, scaled):
    # PyTorch's i1_backward / i1e_backward: 0.5 where |x| <= eps (the limit at 0; NaN too), else
    # i0(x) - i1(x) / x, resp. i0e(x) - i1e(x) (sgn(x) + 1 / x), evaluated at a safe x
    eps = D.finfo(a._dtype).eps
    ok = a.abs() > eps
    s = where(ok, a, eps)
    gx = special_i0e(s) - o * (s.sgn() + s.reciprocal()) if scaled else i0(s) - o * s.reciprocal()
    return g * where(ok, gx, 0.5)


def _xlog1py_grad_self(g, a, b):
    # PyTorch: xlog1py(grad, other).masked_fill((self == 0) & (other <= -1), 0)
    r = special_xlog1py(g, b)
    if isinstance(b, Tensor):
        return where((a == 0) & (b <= -1), 0.0, r)
    return where(a == 0, 0.0, r) if b <= -1 else r


# ---------------------------------------------------------------- the functions
def _pub(key, half=True):
    if half:
        return lambda input, *, out=None: apply(key, input, out=out)

    def f(input, *, out=None):
        if isinstance(input, Tensor) and input._dtype is D.float16:     # (PyTorch has no half kernel of these)
            raise NotImplementedError(f"\"{_CPU_NAME[key]}\" not implemented for 'Half'")
        return apply(key, input, out=out)
    return f


lgamma = _entry("lgamma").fn
digamma = _entry("digamma").fn
erfinv = _entry("erfinv").fn
i0 = _entry("i0").fn
special_i0e, special_i1, special_i1e = _pub("special_i0e"), _pub("special_i1"), _pub("special_i1e")
special_ndtr, special_entr = _pub("special_ndtr"), _pub("special_entr")
special_ndtri, special_log_ndtr = _pub("special_ndtri", False), _pub("special_log_ndtr", False)
special_erfcx = _pub("special_erfcx", False)


def _check_n(n):
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")


def polygamma(n, input, *, out=None):
    _check_n(n)
    if not isinstance(input, Tensor):
        raise TypeError(f"polygamma(): argument 'input' (position 2) must be Tensor, not {type(input).__name__}")
    _check_complex(n, input)
    return apply("polygamma", input, float(n), out=out)


def _check_complex(n, input):
    if input._dtype.is_complex:     # PyTorch's kernel of each order names itself
        name = "digamma" if n == 0 else "trigamma" if n == 1 else "polygamma"
        raise NotImplementedError(f"\"{name}\" not implemented for '{input._dtype._alias}'")


def _polygamma_method(self, n):
    return polygamma(n, self)


def _polygamma_(self, n):
    _check_n(n)
    _check_complex(n, self)
    return apply_("polygamma", self, float(n))


def special_xlog1py(input, other, *, out=None):
    return apply("special_xlog1py", input, other, out=out)


def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, int):
        raise TypeError(f"mvlgamma(): argument 'p' (position 2) must be int, not {type(p).__name__}")
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")


def mvlgamma(input, p, *, out=None):
    """log of the multivariate gamma function of dimension p: sum_j lgamma(x - j/2) + p(p-1)/4 log(pi)."""
    _check_p(p)
    if input._dtype is D.bool_:
        raise RuntimeError("The input tensor may not be a boolean tensor.")
    if input._dtype.is_complex:
        raise NotImplementedError(f"\"arange_cpu\" not implemented for '{input._dtype._alias}'")
    x = input if input._dtype.is_floating_point else input.to(D.get_default_dtype())
    r = lgamma(x)
    for j in range(1, p):
        r = r + lgamma(x - 0.5 * j)
    r = r + p * (p - 1) / 4 * math.log(math.pi)
    if out is not None:
        _ops.copy_into(_ops._prepare_out(out, r._shape, r._dtype, r._device, "mvlgamma"), r)
        return out
    return r


def _mvlgamma_(self, p):
    _check_p(p)
    if not self._dtype.is_floating_point and not self._dtype.is_complex and self._dtype is not D.bool_:
        raise RuntimeError(f"mvlgamma: result type {self._dtype._alias} can't be cast to the desired output type "
                           f"{D.get_default_dtype()._alias}")
    r = mvlgamma(self, p)
    return self.copy_(r)


def special_multigammaln(input, p, *, out=None):
    return mvlgamma(input, p, out=out)


# ---------------------------------------------------------------- Bessel, Airy, orthogonal polynomials, zeta
# (no gradients: PyTorch defines none; their results do not require grad)
_NOGRAD1 = (("bessel_j0", "sp_bessel_j0"), ("bessel_j1", "sp_bessel_j1"), ("bessel_y0", "sp_bessel_y0"),
            ("bessel_y1", "sp_bessel_y1"), ("modified_bessel_i0", "sp_mbessel_i0"),
            ("modified_bessel_i1", "sp_mbessel_i1"), ("modified_bessel_k0", "sp_mbessel_k0"),
            ("modified_bessel_k1", "sp_mbessel_k1"), ("scaled_modified_bessel_k0", "sp_mbessel_k0e"),
            ("scaled_modified_bessel_k1", "sp_mbessel_k1e"), ("airy_ai", "sp_airy_ai"),
            ("spherical_bessel_j0", "sp_spherical_j0"))
_NOGRAD2 = (("chebyshev_polynomial_t", "sp_cheb_t"), ("chebyshev_polynomial_u", "sp_cheb_u"),
            ("chebyshev_polynomial_v", "sp_cheb_v"), ("chebyshev_polynomial_w", "sp_cheb_w"),
            ("shifted_chebyshev_polynomial_t", "sp_scheb_t"), ("shifted_chebyshev_polynomial_u", "sp_scheb_u"),
            ("shifted_chebyshev_polynomial_v", "sp_scheb_v"), ("shifted_chebyshev_polynomial_w", "sp_scheb_w"),
            ("hermite_polynomial_h", "sp_hermite_h"), ("hermite_polynomial_he", "sp_hermite_he"),
            ("laguerre_polynomial_l", "sp_laguerre_l"), ("legendre_polynomial_p", "sp_legendre_p"),
            ("zeta", "sp_zeta"))


def _no_half(key, cpu, fn):
    """fn, refusing a float16 result as PyTorch's CPU kernels of these functions do."""
    def f(*args, out=None):
        for a in args:
            if isinstance(a, Tensor) and a._dtype is D.float16 and _ops.result_type(*args) is D.float16:
                raise NotImplementedError(f"\"{cpu}\" not implemented for 'Half'")
        return fn(*args, out=out)
    return f


for _n, _fn in _NOGRAD1:
    _k = "special_" + _n
    op(_k, 1, "float", {"f": _fn + "(x0)"})
    _ops._ERRS[(_k, "c")] = (NotImplementedError, '"' + _n + '_cpu" not implemented for \'{1}\'')
    _f1 = _no_half(_k, _n + "_cpu", lambda input, *, out=None, _k=_k: apply(_k, input, out=out))
    _f1.__name__ = _f1.__qualname__ = _n
    register(_n, _f1, namespace="special")
for _n, _fn in _NOGRAD2:
    _k = "special_" + _n
    op(_k, 2, "float", {"f": _fn + "(x0, x1)"})
    _ops._ERRS[(_k, "c")] = (NotImplementedError, '"' + _n + '_cpu" not implemented for \'{1}\'')
    if _n == "zeta":
        def _f2(input, other, *, out=None):
            return apply("special_zeta", input, other, out=out)
    else:
        def _f2(input, n, *, out=None, _k=_k):
            return apply(_k, input, n, out=out)
    _f2 = _no_half(_k, _n + "_cpu", _f2)
    _f2.__name__ = _f2.__qualname__ = _n
    register(_n, _f2, namespace="special")
KEYS += tuple("special_" + n for n, _ in _NOGRAD1 + _NOGRAD2)


# ---------------------------------------------------------------- incomplete gamma functions
def _igamma_grad(name, sign):
    def rule(g, a, x, o):
        if isinstance(a, Tensor) and a.requires_grad:
            raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
        if not isinstance(x, Tensor):
            return (None, None)
        e = ((a - 1) * x.log() - x - (lgamma(a) if isinstance(a, Tensor) else math.lgamma(a))).exp()
        return (None, g * e if sign > 0 else -(g * e))
    return rule


op("igamma", 2, "std", {"f": "sp_igamma(x0, x1)"}, _igamma_grad("igamma", 1), saves="01", public="tensor_other")
op("igammac", 2, "std", {"f": "sp_igammac(x0, x1)"}, _igamma_grad("igammac", -1), saves="01", public="tensor_other")
register("gammainc", _entry("igamma").fn, namespace="special")
register("gammaincc", _entry("igammac").fn, namespace="special")


# ---------------------------------------------------------------- frexp, ldexp, gcd, lcm, heaviside, nextafter,
# float_power
_LN2 = math.log(2.0)
op("ldexp", 2, "float", {"f": "x0 * pow(($T)2, x1)", "c": "c_mul(x0, c_exp2(x1))"},
   lambda g, a, b, o: (g * _ops._conj((b * _LN2).exp()), g * _ops._conj(a * (b * _LN2).exp() * _LN2)), saves="01",
   public="tensor_other")


def _ldexp_(self, other):
    _tensor_other("ldexp", other)
    if not (self._dtype.is_floating_point or self._dtype.is_complex):     # (PyTorch's words)
        raise RuntimeError(f"ldexp can't be cast to the desired output type {self._dtype._alias}")
    return apply_("ldexp", self, other)


register("ldexp", _entry("ldexp").fn, method=True, inplace=_ldexp_)
op("gcd", 2, "std", {"i": "sp_gcd(x0, x1)"}, public="tensor_other")
op("lcm", 2, "std", {"i": "sp_lcm(x0, x1)"}, public="tensor_other")
op("nextafter", 2, "std", {"f": "nextafter(x0, x1)"})
_NEXTAFTER_HALF = "sp_nextafter_half(x0, x1)"
op("heaviside", 2, "std", {"b": "(x0 == 0 ? x1 : x0)", "i": "(x0 == 0 ? x1 : ($T)(x0 > 0))",
                           "f": "(x0 == 0 ? x1 : ($T)(x0 > 0))"})
_ops._ERRS[("heaviside", "c")] = (RuntimeError, "heaviside is not yet implemented for complex tensors.")
op("frexp_m", 1, "same", {"f": "sp_frexp_m(x0)"}, lambda g, a, o: (g * apply("frexp_s", a),), saves="0",
   node="FrexpBackward0")
op("frexp_e", 1, "same", {"f": "sp_frexp_e(x0)"})
op("frexp_s", 1, "same", {"f": "sp_frexp_s(x0)"})


def _tensor_other(name, other):
    if not isinstance(other, Tensor):
        raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")


def nextafter(input, other, *, out=None):
    _tensor_other("nextafter", other)
    half = _ops.result_type(input, other) is D.float16
    return apply("nextafter", input, other, out=out, expr=_NEXTAFTER_HALF if half else None)


def _nextafter_(self, other):
    _tensor_other("nextafter", other)
    return apply_("nextafter", self, other, expr=_NEXTAFTER_HALF if self._dtype is D.float16 else None)


def _heaviside_check(input, values):
    _tensor_other("heaviside", values)
    if input._dtype.is_complex or values._dtype.is_complex:
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    if input._dtype is not values._dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")


def heaviside(input, values, *, out=None):
    _heaviside_check(input, values)
    return apply("heaviside", input, values, out=out)


def _heaviside_(self, values):
    _heaviside_check(self, values)
    return apply_("heaviside", self, values)


_frexp_t = collections.namedtuple("frexp", ("mantissa", "exponent"))


def frexp(input, *, out=None):
    if not input._dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    if out is not None:
        m, e = out
        apply("frexp_m", input, out=m)
        _ops.copy_into(_ops._prepare_out(e, input._shape, D.int32, input._device, "frexp"),
                       apply("frexp_e", input))
        return _frexp_t(m, e)
    return _frexp_t(apply("frexp_m", input), apply("frexp_e", input).to(D.int32))


def _float_power_dtype(*args):
    cplx = any((a._dtype.is_complex if isinstance(a, Tensor) else isinstance(a, complex)) for a in args)
    dt = D.complex128 if cplx else D.float64
    for a in args:
        if isinstance(a, Tensor):
            rt = a._st.rt
            if rt is not None and not rt.info.fp64:
                raise RuntimeError(f"float_power computes in {dt._alias.lower()}, which device {a._device} does "
                                   "not support (no cl_khr_fp64)")
    return dt


def _as(a, dt):
    if isinstance(a, Tensor):
        return a if a._dtype is dt else a.to(dt)
    return complex(a) if dt.is_complex else float(a)


def float_power(input, exponent, *, out=None):
    dt = _float_power_dtype(input, exponent)
    if out is not None and isinstance(out, Tensor) and out._dtype is not dt:
        raise RuntimeError(f"the output given to float_power has dtype {out._dtype._alias} but the operation's "
                           f"result requires dtype {dt._alias}")
    return apply("pow", _as(input, dt), _as(exponent, dt), out=out)


def _float_power_(self, exponent):
    dt = _float_power_dtype(self, exponent)
    if self._dtype is not dt:
        raise RuntimeError(f"the base given to float_power_ has dtype {self._dtype._alias} but the operation's "
                           f"result requires dtype {dt._alias}")
    return apply_("pow", self, _as(exponent, dt))


register("nextafter", nextafter, method=True, inplace=_nextafter_)
register("heaviside", heaviside, method=True, inplace=_heaviside_)
register("frexp", frexp, method=True)
register("float_power", float_power, method=True, inplace=_float_power_)
# torch.special names of torch.* functions (the same callables)
for _n in ("exp2", "expm1", "log1p", "round", "sinc", "softmax", "log_softmax", "logsumexp", "xlogy", "erf", "erfc"):
    register(_n, _entry(_n).fn, namespace="special")


# ---------------------------------------------------------------- registration
register("polygamma", polygamma, method=_polygamma_method, inplace=_polygamma_)
register("mvlgamma", mvlgamma, method=True, inplace=_mvlgamma_)

_S = "special"
for _n, _fn in (("i0e", special_i0e), ("i1", special_i1), ("i1e", special_i1e), ("ndtr", special_ndtr),
                ("ndtri", special_ndtri), ("log_ndtr", special_log_ndtr), ("erfcx", special_erfcx),
                ("entr", special_entr), ("xlog1py", special_xlog1py), ("polygamma", polygamma),
                ("multigammaln", special_multigammaln)):
    _fn.__name__ = _fn.__qualname__ = _n
    register(_n, _fn, namespace=_S)
# torch.special names of torch.* functions: the same callables (aliases name entries of their own namespace)
for _n, _target in (("gammaln", "lgamma"), ("digamma", "digamma"), ("erfinv", "erfinv"), ("i0", "i0"),
                    ("expit", "sigmoid"), ("logit", "logit")):
    register(_n, _entry(_target).fn, namespace=_S)
register("psi", _entry("digamma").fn, namespace=_S, alias_of="digamma")
