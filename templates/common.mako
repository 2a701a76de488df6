## Shared kernel preamble: extension pragmas and small helpers, emitted only for the dtypes a kernel uses.
## `dts` is a tuple of template dtype helpers (cltensor._kernels.T).
<%def name="preamble(dts)">
<%
    names = set(t.name for t in dts)
    f64 = bool(names & {"float64", "complex128"})
%>
% if f64:
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
% endif
#define OVL __attribute__((overloadable))
/* bfloat16 storage: a struct, so that only T.load / T.store (which convert) can read or write it as a number */
typedef struct { ushort b; } bf16;
static inline ushort bf16_rne(float f) {     /* round to nearest even; NaN stays a (quiet) NaN */
    const uint u = as_uint(f);
    return isnan(f) ? (ushort)((u >> 16) | 0x40) : (ushort)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}
${real_helpers("float")}
% if f64:
${real_helpers("double")}
% endif
% if "complex64" in names or "complex128" in names:
${complex_helpers("float")}
% endif
% if "complex128" in names:
${complex_helpers("double")}
% endif
${int_helpers()}
</%def>

<%def name="real_helpers(R)">
<% F = "_F" if R == "float" else "" %>
/* Python/PyTorch semantics for ${R} */
static inline OVL ${R} py_angle(${R} a) { return isnan(a) ? a : (a < 0 ? M_PI${F} : (${R})0); }
static inline OVL ${R} py_fmod_floor(${R} a, ${R} b) {
    ${R} m = fmod(a, b);
    if (m != 0 && ((b < 0) != (m < 0))) m += b;
    return m;
}
static inline OVL ${R} py_floordiv(${R} a, ${R} b) {
    if (b == 0) return a / b;
    ${R} m = fmod(a, b);
    ${R} d = (a - m) / b;
    if (m != 0 && ((b < 0) != (m < 0))) d -= 1;
    if (d != 0) { ${R} f = floor(d); if (d - f > (${R})0.5) f += 1; return f; }
    return copysign((${R})0, a / b);
}
static inline OVL ${R} py_round(${R} a) { return rint(a); }
static inline OVL ${R} py_sign(${R} a) { return (${R})((a > 0) - (a < 0)); }  /* sign(nan) = 0 as PyTorch */
static inline OVL ${R} py_sigmoid(${R} a) { return (${R})1 / ((${R})1 + exp(-a)); }
% if R == "float":
/* tanh from exp (PoCL's tanhf ran at ~0.4x the speed of this): an odd minimax polynomial below 0.55
   (x + x^3 P(x^2), 0.8 ulp there) and 1 - 2 / (exp(2|x|) + 1) above it (-> 1 as exp overflows), sign restored
   with copysign (keeps -0.0, NaN propagates). Max error 1.5 ulp against float64 over a dense sweep
   (tests/test_ew_tiled.py::test_tanh_float32_accuracy). Branch-free so that the vectoriser keeps it. */
static inline OVL float py_tanh(float v) {
    const float a = fabs(v), x2 = v * v;
    const float p = a + a * x2 * (-0.33333316445350647f + x2 * (0.13332565128803253f + x2 * (-0.05385029688477516f
                    + x2 * (0.021064143627882004f + x2 * -0.006264375522732735f))));
    const float q = 1.0f - 2.0f / (exp(2.0f * a) + 1.0f);
    return copysign(a < 0.55f ? p : q, v);
}
% else:
static inline OVL ${R} py_tanh(${R} a) { return tanh(a); }
% endif
static inline OVL ${R} py_max(${R} a, ${R} b) { return (isnan(a) || isnan(b)) ? (a + b) : fmax(a, b); }
static inline OVL ${R} py_min(${R} a, ${R} b) { return (isnan(a) || isnan(b)) ? (a + b) : fmin(a, b); }
static inline OVL ${R} py_frac(${R} a) { return a - trunc(a); }
static inline OVL ${R} py_powi(${R} a, ${R} b) { return pow(a, b); }
static inline OVL ${R} py_nan_to_num(${R} a, ${R} n, ${R} p, ${R} m) { return isnan(a) ? n : (isinf(a) ? (a > 0 ? p : m) : a); }
</%def>

<%def name="complex_helpers(R)">
<% C = R + "2"; F = "_F" if R == "float" else "" %>
static inline OVL ${C} c_mul(${C} a, ${C} b) { return (${C})(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
static inline OVL ${C} c_div(${C} a, ${C} b) {
    /* Smith's algorithm, as numpy/PyTorch do, to avoid needless overflow */
    ${R} ar = fabs(b.x), ai = fabs(b.y);
    if (ar >= ai) {
        if (ar == 0 && ai == 0) return (${C})(a.x / ar, a.y / ai);
        ${R} r = b.y / b.x, d = b.x + b.y * r;
        return (${C})((a.x + a.y * r) / d, (a.y - a.x * r) / d);
    }
    ${R} r = b.x / b.y, d = b.y + b.x * r;
    return (${C})((a.x * r + a.y) / d, (a.y * r - a.x) / d);
}
static inline OVL ${R} c_abs(${C} a) { return hypot(a.x, a.y); }
static inline OVL ${R} c_angle(${C} a) { return atan2(a.y, a.x); }
static inline OVL ${C} c_conj(${C} a) { return (${C})(a.x, -a.y); }
static inline OVL ${C} c_exp(${C} a) { ${R} e = exp(a.x); return (${C})(e * cos(a.y), e * sin(a.y)); }
static inline OVL ${C} c_log(${C} a) { return (${C})(log(hypot(a.x, a.y)), atan2(a.y, a.x)); }
static inline OVL ${C} c_sqrt(${C} a) {
    // the larger part from sqrt((|z| + |x|) / 2), the smaller as |y| / (2 * larger): no cancellation near the axes
    if (isinf(a.y)) return (${C})(INFINITY, a.y);
    ${R} t = sqrt((hypot(a.x, a.y) + fabs(a.x)) * (${R})0.5);
    ${R} s = t == 0 ? (${R})0 : fabs(a.y) / (t + t);
    ${R} re = a.x >= 0 ? t : s, im = a.x >= 0 ? s : t;
    if (isnan(a.x)) re = im = a.x;
    return (${C})(re, a.y < 0 || (a.y == 0 && signbit(a.y)) ? -im : im);
}
static inline OVL ${C} c_sgn(${C} a) { ${R} m = hypot(a.x, a.y); return m == 0 ? (${C})(0, 0) : a / m; }
static inline OVL ${C} c_pow(${C} a, ${C} b) {
    if (a.x == 0 && a.y == 0) {
        if (b.x == 0 && b.y == 0) return (${C})(1, 0);
        return b.x > 0 ? (${C})(0, 0) : (b.x < 0 ? (${C})(INFINITY, NAN) : (${C})(NAN, NAN));
    }
    return c_exp(c_mul(b, c_log(a)));
}
/* the rest of PyTorch's complex unary functions (std::complex formulas; symmetric forms avoid cancellation) */
static inline OVL ${C} c_mulr(${C} a, ${R} r) { return (${C})(a.x * r, a.y * r); }
static inline OVL ${C} c_muli(${C} a) { return (${C})(-a.y, a.x); }              /* i * a */
static inline OVL ${C} c_recip(${C} a) { return c_div((${C})(1, 0), a); }
static inline OVL ${C} c_sin(${C} a) { return (${C})(sin(a.x) * cosh(a.y), cos(a.x) * sinh(a.y)); }
static inline OVL ${C} c_cos(${C} a) { return (${C})(cos(a.x) * cosh(a.y), -sin(a.x) * sinh(a.y)); }
static inline OVL ${C} c_sinh(${C} a) { return (${C})(sinh(a.x) * cos(a.y), cosh(a.x) * sin(a.y)); }
static inline OVL ${C} c_cosh(${C} a) { return (${C})(cosh(a.x) * cos(a.y), sinh(a.x) * sin(a.y)); }
static inline OVL ${C} c_tanh(${C} a) {
    if (fabs(a.x) > 20) return (${C})(copysign((${R})1, a.x), 4 * sin(a.y) * cos(a.y) * exp(-2 * fabs(a.x)));
    ${R} d = cosh(2 * a.x) + cos(2 * a.y);
    return (${C})(sinh(2 * a.x) / d, sin(2 * a.y) / d);
}
static inline OVL ${C} c_tan(${C} a) { ${C} t = c_tanh((${C})(-a.y, a.x)); return (${C})(t.y, -t.x); }
static inline OVL ${C} c_expm1(${C} a) {
    ${R} s = sin(a.y * (${R})0.5);
    return (${C})(expm1(a.x) * cos(a.y) - 2 * s * s, exp(a.x) * sin(a.y));
}
static inline OVL ${C} c_log1p(${C} a) {
    return (${C})((${R})0.5 * log1p(a.x * (2 + a.x) + a.y * a.y), atan2(a.y, 1 + a.x));
}
static inline OVL ${C} c_asinh(${C} a) {
    int neg = a.x < 0;
    ${C} z = neg ? -a : a;
    ${C} r = c_log(z + c_sqrt(c_mul(z, z) + (${C})(1, 0)));
    return neg ? -r : r;
}
static inline OVL ${C} c_asin(${C} a) { ${C} r = c_asinh(c_muli(a)); return (${C})(r.y, -r.x); }
static inline OVL ${C} c_acos(${C} a) { ${C} r = c_asin(a); return (${C})(M_PI_2${F} - r.x, -r.y); }
static inline OVL ${C} c_acosh(${C} a) {
    ${C} r = c_log(a + c_mul(c_sqrt(a + (${C})(1, 0)), c_sqrt(a - (${C})(1, 0))));
    return r;
}
static inline OVL ${C} c_atanh(${C} a) { return c_mulr(c_log1p(a) - c_log1p(-a), (${R})0.5); }
static inline OVL ${C} c_atan(${C} a) { ${C} r = c_atanh(c_muli(a)); return (${C})(r.y, -r.x); }
static inline OVL ${C} c_sigmoid(${C} a) { return c_recip((${C})(1, 0) + c_exp(-a)); }
static inline OVL ${C} c_exp2(${C} a) { return c_exp(c_mulr(a, M_LN2${F})); }
static inline OVL ${C} c_log2(${C} a) { return c_mulr(c_log(a), M_LOG2E${F}); }
static inline OVL ${C} c_log10(${C} a) { return c_mulr(c_log(a), M_LOG10E${F}); }
static inline OVL ${C} c_rsqrt(${C} a) { return c_recip(c_sqrt(a)); }
static inline OVL int c_eq(${C} a, ${C} b) { return a.x == b.x && a.y == b.y; }
static inline OVL int c_isnan(${C} a) { return isnan(a.x) || isnan(a.y); }
static inline OVL int c_isinf(${C} a) { return isinf(a.x) || isinf(a.y); }
static inline OVL int c_isfinite(${C} a) { return isfinite(a.x) && isfinite(a.y); }
</%def>

<%def name="int_helpers()">
/* integer floor division / remainder with Python semantics; division by zero yields 0 (never traps;
   cltensor/_ops.py raises PyTorch's ZeroDivisionError on the host where it can see the divisor).
   (b) == -1 is always false for unsigned types: that is fine, keep clang quiet about it. */
#pragma clang diagnostic ignored "-Wtautological-constant-out-of-range-compare"
#define PY_IFLOORDIV(a, b) ((b) == 0 ? 0 : ((b) == -1 ? -(a) : ((a) / (b) - ((((a) % (b)) != 0) && (((a) < 0) != ((b) < 0))))))
#define PY_IMOD(a, b) ((b) == 0 ? 0 : ((b) == -1 ? 0 : (((a) % (b)) + (((((a) % (b)) != 0) && ((((a) % (b)) < 0) != ((b) < 0))) ? (b) : 0))))
#define PY_ITRUNCDIV(a, b) ((b) == 0 ? 0 : ((b) == -1 ? -(a) : (a) / (b)))
#define PY_IFMOD(a, b) ((b) == 0 || (b) == -1 ? 0 : (a) % (b))
#define PY_ISIGN(a) (((a) > 0) - ((a) < 0))
static inline long ipow_(long b, long e) {
    if (e < 0) return (b == 1) ? 1 : ((b == -1) ? ((e & 1) ? -1 : 1) : 0);
    long r = 1;
    while (e) { if (e & 1) r *= b; b *= b; e >>= 1; }
    return r;
}
</%def>
