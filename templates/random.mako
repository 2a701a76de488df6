## Counter-based random numbers (Philox4x32-10): element i of a call draws from counter (i, offset) under the
## seed key, so the same seed gives the same numbers on every device and launch geometry.
<%namespace name="c" file="common.mako"/>

<%def name="philox()">
inline uint4 philox4x32_10(uint4 ctr, uint2 key) {
    for (int r = 0; r < 10; r++) {
        uint lo0 = ctr.x * 0xD2511F53u, hi0 = mul_hi(ctr.x, 0xD2511F53u);
        uint lo1 = ctr.z * 0xCD9E8D57u, hi1 = mul_hi(ctr.z, 0xCD9E8D57u);
        ctr = (uint4)(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
        key += (uint2)(0x9E3779B9u, 0xBB67AE85u);
    }
    return ctr;
}
</%def>

## kind: uniform (low + (high-low)*u), normal (mean + std*z), randint (low + r % span), bernoulli (u < p)
<%def name="fill(out, kind, ct)">
${c.preamble((out, ct))}
${philox()}
__kernel void k(__global ${out.ct}* restrict out, const ulong n, const uint s0, const uint s1, const uint o0,
                const uint o1, const ${ct.cc} p0, const ${ct.cc} p1, const long i0, const ulong span)
{
    const ulong i = get_global_id(0);
    if (i >= n) return;
    uint4 r = philox4x32_10((uint4)((uint)i, (uint)(i >> 32), o0, o1), (uint2)(s0, s1));
% if kind == "randint":
    ulong v = (((ulong)r.x << 32) | r.y) % span;
    ${out.cc} res = (${out.cc})(i0 + (long)v);
% else:
% if ct.cc == "double":
    double u1 = ((((ulong)r.x << 32) | r.y) >> 11) * 0x1.0p-53;
    double u2 = ((((ulong)r.z << 32) | r.w) >> 11) * 0x1.0p-53;
% else:
    float u1 = (r.x >> 8) * 0x1.0p-24f;
    float u2 = (r.y >> 8) * 0x1.0p-24f;
% endif
% if out.complex:
## complex: independent real and imaginary parts (normal: each with variance std^2 / 2, as PyTorch's randn)
% if kind == "uniform":
    ${out.cc} res = (${out.cc})(p0 + (p1 - p0) * u1, p0 + (p1 - p0) * u2);
% else:
    ${ct.cc} rad = sqrt(-(${ct.cc})1 * log(1 - u1)) * p1;
    ${out.cc} res = (${out.cc})(p0 + rad * cospi(2 * u2), rad * sinpi(2 * u2));
% endif
% else:
% if kind == "uniform":
    ${ct.cc} v = p0 + (p1 - p0) * u1;
% elif kind == "bernoulli":
    ${ct.cc} v = u1 < p0 ? 1 : 0;
% else:
    ${ct.cc} rad = sqrt(-2 * log(1 - u1));
    ${ct.cc} v = p0 + p1 * rad * cospi(2 * u2);
% endif
    ${out.cc} res = ${out.cast_from("v", ct)};
% endif
% endif
    ${out.store("out", "i", "res")};
}
</%def>
