## Counter-based random numbers (Philox4x32-10): element i of a call draws from counter (i, offset) under the
## seed key, so the same seed gives the same numbers on every device and launch geometry. Also the transform of
## uniform samples to a truncated normal (nn.init.trunc_normal_).
<%namespace name="c" file="common.mako"/>

<%def name="philox()">
/* scalar words and 64-bit products, unrolled: ~5x faster on PoCL than the uint4/mul_hi form (same numbers) */
inline uint4 philox4x32_10(uint4 ctr, uint2 key) {
    uint c0 = ctr.x, c1 = ctr.y, c2 = ctr.z, c3 = ctr.w, k0 = key.x, k1 = key.y;
    #pragma unroll
    for (int r = 0; r < 10; r++) {
        ulong p0 = (ulong)c0 * 0xD2511F53u, p1 = (ulong)c2 * 0xCD9E8D57u;
        uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0, n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint)p1; c3 = (uint)p0; c0 = n0; c2 = n2;
        k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
    }
    return (uint4)(c0, c1, c2, c3);
}
</%def>

## kind: uniform (low + (high-low)*u), normal (mean + std*z), randint (low + r % span), bernoulli (u < p ? p1 : 0;
## p1 = 1 but for dropout's scaled masks).
## One Philox call (4 x 32 random bits) serves `per` consecutive elements: 4 float32 values, 2 float64 / int64
## values, 2 complex64 values or 1 complex128 value. Element e always takes the same bits (counter e / per),
## so the numbers do not depend on the device or the launch geometry.
<%def name="fill(out, kind, ct)">
<%
    dbl = ct.cc == "double"
    if kind == "randint":
        per = 2
    elif out.complex:
        per = 1 if dbl else 2
    else:
        per = 2 if dbl else 4
%>
${c.preamble((out, ct))}
${philox()}
__kernel void k(__global ${out.ct}* restrict out, const ulong n, const uint s0, const uint s1, const uint o0,
                const uint o1, const ${ct.cc} p0, const ${ct.cc} p1, const long i0, const ulong span)
{
    const ulong g = get_global_id(0);
    const ulong base = g * ${per};
    if (base >= n) return;
    const uint4 r = philox4x32_10((uint4)((uint)g, (uint)(g >> 32), o0, o1), (uint2)(s0, s1));
    ${out.cc} vals[${per}];
% if kind == "randint":
    vals[0] = (${out.cc})(i0 + (long)(((((ulong)r.x) << 32) | r.y) % span));
    vals[1] = (${out.cc})(i0 + (long)(((((ulong)r.z) << 32) | r.w) % span));
% else:
% if dbl:
    const double u[2] = {((((ulong)r.x << 32) | r.y) >> 11) * 0x1.0p-53, ((((ulong)r.z << 32) | r.w) >> 11) * 0x1.0p-53};
% else:
    const float u[4] = {(r.x >> 8) * 0x1.0p-24f, (r.y >> 8) * 0x1.0p-24f, (r.z >> 8) * 0x1.0p-24f, (r.w >> 8) * 0x1.0p-24f};
% endif
% if out.complex:
## complex: independent real and imaginary parts (normal: each with variance std^2 / 2, as PyTorch's randn)
% for j in range(per):
% if kind == "uniform":
    vals[${j}] = (${out.cc})(p0 + (p1 - p0) * u[${2 * j}], p0 + (p1 - p0) * u[${2 * j + 1}]);
% else:
    { ${ct.cc} rad = sqrt(-log(1 - u[${2 * j}])) * p1;
      vals[${j}] = (${out.cc})(p0 + rad * cospi(2 * u[${2 * j + 1}]), rad * sinpi(2 * u[${2 * j + 1}])); }
% endif
% endfor
% else:
% for j in range(per):
% if kind == "uniform":
    vals[${j}] = ${out.cast_from("(p0 + (p1 - p0) * u[%d])" % j, ct)};
% elif kind == "bernoulli":
    vals[${j}] = ${out.cast_from("(u[%d] < p0 ? p1 : (%s)0)" % (j, ct.cc), ct)};
% elif j % 2 == 0:
    { ${ct.cc} rad = sqrt(-2 * log(1 - u[${j}]));
      vals[${j}] = ${out.cast_from("(p0 + p1 * rad * cospi(2 * u[%d]))" % (j + 1), ct)};
      vals[${j + 1}] = ${out.cast_from("(p0 + p1 * rad * sinpi(2 * u[%d]))" % (j + 1), ct)}; }
% endif
% endfor
% endif
% endif
% for j in range(per):
    if (base + ${j} < n) ${out.store("out", "base + %d" % j, "vals[%d]" % j)};
% endfor
}
</%def>

## ---------------------------------------------------------------------------------------------- init
## x holds uniform samples u in (2 cdf(a) - 1, 2 cdf(b) - 1); x = clamp(mean + std * sqrt(2) * erfinv(u), a, b).
## erfinv: Giles' single-precision approximation refined by two Newton steps on erf.
<%def name="trunc_normal(t, acc, idx)">
${c.preamble((t, acc))}
<% R = acc.cc %>
static inline ${R} erfinv_(${R} y) {
    if (fabs(y) >= 1) return copysign((${R})INFINITY, y);
    ${R} w = -log((1 - y) * (1 + y)), p;
    if (w < 5) {
        w -= (${R})2.5;
        p = (${R})2.81022636e-08;
        p = (${R})3.43273939e-07 + p * w; p = (${R})-3.5233877e-06 + p * w; p = (${R})-4.39150654e-06 + p * w;
        p = (${R})0.00021858087 + p * w; p = (${R})-0.00125372503 + p * w; p = (${R})-0.00417768164 + p * w;
        p = (${R})0.246640727 + p * w; p = (${R})1.50140941 + p * w;
    } else {
        w = sqrt(w) - 3;
        p = (${R})-0.000200214257;
        p = (${R})0.000100950558 + p * w; p = (${R})0.00134934322 + p * w; p = (${R})-0.00367342844 + p * w;
        p = (${R})0.00573950773 + p * w; p = (${R})-0.0076224613 + p * w; p = (${R})0.00943887047 + p * w;
        p = (${R})1.00167406 + p * w; p = (${R})2.83297682 + p * w;
    }
    ${R} x = p * y;
    for (int it = 0; it < 2; it++) x -= (erf(x) - y) / ((${R})1.1283791670955126 * exp(-x * x));
    return x;
}
__kernel void k(__global ${t.ct}* restrict x, const ${idx} n, const ${R} mean, const ${R} std_, const ${R} a,
                const ${R} b)
{
    const ${idx} i = get_global_id(0);
    if (i >= n) return;
    const ${R} u = ${acc.cast_from(t.load("x", "i"), t)};
    ${R} v = mean + std_ * (${R})1.4142135623730951 * erfinv_(u);
    v = fmin(fmax(v, a), b);
    ${t.store("x", "i", t.cast_from("v", acc))};
}
</%def>
