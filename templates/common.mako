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
/* Python/PyTorch semantics for ${R} */
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
static inline OVL ${R} py_sign(${R} a) { return isnan(a) ? a : (${R})((a > 0) - (a < 0)); }
static inline OVL ${R} py_sigmoid(${R} a) { return (${R})1 / ((${R})1 + exp(-a)); }
static inline OVL ${R} py_max(${R} a, ${R} b) { return (isnan(a) || isnan(b)) ? (a + b) : fmax(a, b); }
static inline OVL ${R} py_min(${R} a, ${R} b) { return (isnan(a) || isnan(b)) ? (a + b) : fmin(a, b); }
static inline OVL ${R} py_frac(${R} a) { return a - trunc(a); }
static inline OVL ${R} py_powi(${R} a, ${R} b) { return pow(a, b); }
static inline OVL ${R} py_nan_to_num(${R} a, ${R} n, ${R} p, ${R} m) { return isnan(a) ? n : (isinf(a) ? (a > 0 ? p : m) : a); }
</%def>

<%def name="complex_helpers(R)">
<% C = R + "2" %>
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
    ${R} m = hypot(a.x, a.y);
    ${R} re = sqrt((m + a.x) * (${R})0.5), im = sqrt((m - a.x) * (${R})0.5);
    return (${C})(re, a.y < 0 || (a.y == 0 && signbit(a.y)) ? -im : im);
}
static inline OVL ${C} c_sgn(${C} a) { ${R} m = hypot(a.x, a.y); return m == 0 ? (${C})(0, 0) : a / m; }
static inline OVL ${C} c_pow(${C} a, ${C} b) {
    if (a.x == 0 && a.y == 0) { return (b.x == 0 && b.y == 0) ? (${C})(1, 0) : (${C})(0, 0); }
    return c_exp(c_mul(b, c_log(a)));
}
static inline OVL int c_eq(${C} a, ${C} b) { return a.x == b.x && a.y == b.y; }
static inline OVL int c_isnan(${C} a) { return isnan(a.x) || isnan(a.y); }
static inline OVL int c_isinf(${C} a) { return isinf(a.x) || isinf(a.y); }
static inline OVL int c_isfinite(${C} a) { return isfinite(a.x) && isfinite(a.y); }
</%def>

<%def name="int_helpers()">
/* integer floor division / remainder with Python semantics; division by zero yields 0 (never traps) */
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
