## Samplers with a data-dependent number of draws: Poisson and binomial, PyTorch's algorithms (Knuth's product
## of uniforms for rates below 10, Hormann's PTRS above; binomial by geometric inversion when count * min(p, 1-p)
## < 10, else Hormann's BTRS). Element i draws its j-th uniform from Philox counter (i, j, offset) under the seed
## key (templates/random.mako), so results do not depend on the device or the launch geometry.
<%namespace name="c" file="common.mako"/>
<%namespace name="r" file="random.mako"/>

<%def name="uniform_fn(R)">
${r.philox()}
/* a uniform in (0, 1): 32 (float) or 53 (double) random bits, never 0 */
inline ${R} unif(ulong i, uint *j, uint2 key, uint2 off) {
    uint4 b = philox4x32_10((uint4)((uint)i, (uint)(i >> 32) ^ (*j << 8), off.x, off.y), key);
    *j += 1;
% if R == "double":
    ulong v = (((ulong)b.x << 21) ^ (ulong)b.y) & ((1UL << 53) - 1);
    return ((double)v + 0.5) * (1.0 / 9007199254740992.0);
% else:
    return ((float)(b.x >> 8) + 0.5f) * (1.0f / 16777216.0f);
% endif
}
</%def>

<%def name="poisson(dt, R)">
${c.preamble((dt,))}
${uniform_fn(R)}
__kernel void k(__global const ${dt.ct}* restrict lam_in, __global ${dt.ct}* restrict out, const long n,
                const uint s0, const uint s1, const uint o0, const uint o1)
{
    const long i = get_global_id(0);
    if (i >= n) return;
    const uint2 key = (uint2)(s0, s1), off = (uint2)(o0, o1);
    uint j = 0;
    const ${R} lam = (${R})(${dt.load("lam_in", "i")});
    ${R} res;
    if (lam >= 10) {
        const ${R} slam = sqrt(lam), loglam = log(lam), b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
        const ${R} invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
        for (;;) {
            const ${R} U = unif(i, &j, key, off) - 0.5, V = unif(i, &j, key, off);
            const ${R} us = 0.5 - fabs(U);
            const ${R} kk = floor((2 * a / us + b) * U + lam + 0.43);
            if (us >= 0.07 && V <= vr) { res = kk; break; }
            if (kk < 0 || (us < 0.013 && V > us)) continue;
            if (log(V) + log(invalpha) - log(a / (us * us) + b) <= -lam + kk * loglam - lgamma(kk + 1)) {
                res = kk; break;
            }
        }
    } else if (lam == 0) {
        res = 0;
    } else if (!(lam > 0)) {
        res = NAN;
    } else {
        const ${R} enlam = exp(-lam);
        ${R} x = 0, prod = 1;
        for (;;) {
            prod *= unif(i, &j, key, off);
            if (prod > enlam) x += 1; else break;
        }
        res = x;
    }
    ${dt.store("out", "i", "(" + dt.cc + ")res")};
}
</%def>

<%def name="binomial(dt, R)">
${c.preamble((dt,))}
${uniform_fn(R)}
inline ${R} stirling_tail(${R} k) {
    const ${R} t[10] = {0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
                        0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
                        0.00925546218271273, 0.00833056343336287};
    if (k <= 9) return t[(int)k];
    const ${R} kp1sq = (k + 1) * (k + 1);
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1);
}
inline ${R} btrs(${R} count, ${R} prob, ulong i, uint *j, uint2 key, uint2 off) {
    const ${R} stddev = sqrt(count * prob * (1 - prob)), b = 1.15 + 2.53 * stddev;
    const ${R} a = -0.0873 + 0.0248 * b + 0.01 * prob, c = count * prob + 0.5, v_r = 0.92 - 4.2 / b;
    const ${R} r = prob / (1 - prob), alpha = (2.83 + 5.1 / b) * stddev, m = floor((count + 1) * prob);
    for (;;) {
        const ${R} U = unif(i, j, key, off) - 0.5;
        ${R} V = unif(i, j, key, off);
        const ${R} us = 0.5 - fabs(U), k = floor((2 * a / us + b) * U + c);
        if (k < 0 || k > count) continue;
        if (us >= 0.07 && V <= v_r) return k;
        V = log(V * alpha / (a / (us * us) + b));
        const ${R} ub = (m + 0.5) * log((m + 1) / (r * (count - m + 1))) +
            (count + 1) * log((count - m + 1) / (count - k + 1)) + (k + 0.5) * log(r * (count - k + 1) / (k + 1)) +
            stirling_tail(m) + stirling_tail(count - m) - stirling_tail(k) - stirling_tail(count - k);
        if (V <= ub) return k;
    }
}
inline ${R} inversion(${R} count, ${R} prob, ulong i, uint *j, uint2 key, uint2 off) {
    ${R} geom_sum = 0, num = 0;
    const ${R} lq = log1p(-prob);
    for (;;) {
        geom_sum += ceil(log(unif(i, j, key, off)) / lq);
        if (geom_sum > count) break;
        num += 1;
    }
    return num;
}
__kernel void k(__global const ${dt.ct}* restrict cnt_in, __global const ${dt.ct}* restrict p_in,
                __global ${dt.ct}* restrict out, const long n, const uint s0, const uint s1, const uint o0,
                const uint o1)
{
    const long i = get_global_id(0);
    if (i >= n) return;
    const uint2 key = (uint2)(s0, s1), off = (uint2)(o0, o1);
    uint j = 0;
    const ${R} count = (${R})(${dt.load("cnt_in", "i")}), prob = (${R})(${dt.load("p_in", "i")});
    ${R} res;
    if (isnan(prob) || isnan(count)) res = NAN;
    else if (count <= 0 || prob <= 0) res = 0;
    else if (prob >= 1) res = count;
    else if (prob <= 0.5) res = count * prob >= 10 ? btrs(count, prob, i, &j, key, off)
                                                   : inversion(count, prob, i, &j, key, off);
    else {
        const ${R} q = 1 - prob;
        res = count - (count * q >= 10 ? btrs(count, q, i, &j, key, off) : inversion(count, q, i, &j, key, off));
    }
    ${dt.store("out", "i", "(" + dt.cc + ")res")};
}
</%def>
