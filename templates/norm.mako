## Normalisation kernels (cltensor/nn/_norm.py): batch norm (per-channel partial reductions, finalisation,
## apply and backward) and layer norm.
## Launch convention: 1-D global size rounded up to the runtime's fixed local size; every kernel guards its index.
## `t` is the tensor dtype helper, `acc` the accumulation dtype helper, `pt` the parameter dtype helper, `idx` the
## index type ("int" or "long").
<%namespace name="c" file="common.mako"/>

## ---------------------------------------------------------------------------------------------- batch norm
## x (and g): (N, C, S) contiguous. Work-item (c, p) covers elements j in [p*L, min(p*L+L, M)) of channel c,
## M = N*S, j = n*S + s. mode "stats": part[3*(c*P+p) + 0..2] = count, mean, M2 (two passes over the chunk).
## mode "grad": part[2*(c*P+p) + 0..1] = sum g, sum g*(x-mean)*invstd.
<%def name="_chan_runs(idx, body)">
    {
    /* the range [j0, j1) of the (N, S) plane of channel cc as contiguous runs along S (no per-element branch) */
    ${idx} j = j0, n = j0 / S;
    ${idx} s = j0 - n * S;
    while (j < j1) {
        const ${idx} e = min(S - s, j1 - j);
        const ${idx} a0 = n * cs + cc * S + s;
        for (${idx} q = 0; q < e; q++) {
            const ${idx} a = a0 + q;
            ${body}
        }
        j += e;
        n++;
        s = 0;
    }
    }
</%def>
<%def name="chan_partial(t, acc, idx, mode)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict x, __global const ${t.ct}* restrict gr,
                __global const ${acc.ct}* restrict mean, __global const ${acc.ct}* restrict invstd,
                __global ${acc.ct}* restrict part, const int C, const ${idx} S, const ${idx} M, const ${idx} L,
                const int P)
{
    const int g = get_global_id(0);
    if (g >= C * P) return;
    const int cc = g / P, p = g - cc * P;
    const ${idx} j0 = (${idx})p * L;
    const ${idx} j1 = min(j0 + L, M);
    const ${idx} cs = (${idx})C * S;
% if mode == "stats":
    ${acc.cc} s1 = 0;
    ${_chan_runs(idx, "s1 += " + acc.cast_from(t.load("x", "a"), t) + ";")}
    const ${idx} cnt = j1 > j0 ? j1 - j0 : 0;
    const ${acc.cc} m = cnt > 0 ? s1 / (${acc.cc})cnt : 0;
    ${acc.cc} m2 = 0;
    ${_chan_runs(idx, "const %s d = %s - m; m2 += d * d;" % (acc.cc, acc.cast_from(t.load("x", "a"), t)))}
    part[3 * g] = (${acc.cc})cnt; part[3 * g + 1] = m; part[3 * g + 2] = m2;
% else:
    ${acc.cc} s1 = 0, s2 = 0;
    const ${acc.cc} mu = mean[cc], is = invstd[cc];
    ${_chan_runs(idx, "const %s gv = %s; s1 += gv; s2 += gv * (%s - mu) * is;" % (acc.cc, acc.cast_from(t.load("gr", "a"), t), acc.cast_from(t.load("x", "a"), t)))}
    part[2 * g] = s1; part[2 * g + 1] = s2;
% endif
}
</%def>

## chan_partial for S % VW == 0 (float32 / float64): work-item (c, p) covers whole planes n in [p*NB, p*NB+NB)
## of channel c, VW elements per vector load (runs of S elements along S, vector accumulators). Same partials.
<%def name="chan_partial_v(t, idx, mode, vw)">
${c.preamble((t,))}
<%
    A = t.cc
    V = A + str(vw)
    def hsum(v):
        return " + ".join("%s.s%s" % (v, "0123456789abcdef"[i]) for i in range(vw))
%>
__kernel void k(__global const ${t.ct}* restrict x, __global const ${t.ct}* restrict gr,
                __global const ${A}* restrict mean, __global const ${A}* restrict invstd,
                __global ${A}* restrict part, const int C, const ${idx} S, const int N, const int NB, const int P)
{
    const int g = get_global_id(0);
    if (g >= C * P) return;
    const int cc = g / P, p = g - cc * P;
    const int n0 = p * NB, n1 = min(n0 + NB, N);
    const ${idx} cs = (${idx})C * S;
% if mode == "stats":
    ${V} v1 = (${V})0;
    for (int n = n0; n < n1; n++) {
        const ${idx} a0 = n * cs + cc * S;
        for (${idx} q = 0; q < S; q += ${vw}) v1 += vload${vw}(0, x + a0 + q);
    }
    const ${idx} cnt = n1 > n0 ? (${idx})(n1 - n0) * S : 0;
    const ${A} m = cnt > 0 ? (${hsum("v1")}) / (${A})cnt : 0;
    ${V} v2 = (${V})0;
    for (int n = n0; n < n1; n++) {
        const ${idx} a0 = n * cs + cc * S;
        for (${idx} q = 0; q < S; q += ${vw}) { const ${V} d = vload${vw}(0, x + a0 + q) - m; v2 = mad(d, d, v2); }
    }
    part[3 * g] = (${A})cnt; part[3 * g + 1] = m; part[3 * g + 2] = ${hsum("v2")};
% else:
    const ${A} mu = mean[cc], is = invstd[cc];
    ${V} v1 = (${V})0, v2 = (${V})0;
    for (int n = n0; n < n1; n++) {
        const ${idx} a0 = n * cs + cc * S;
        for (${idx} q = 0; q < S; q += ${vw}) {
            const ${V} gv = vload${vw}(0, gr + a0 + q);
            v1 += gv;
            v2 = mad(gv, vload${vw}(0, x + a0 + q) - mu, v2);
        }
    }
    part[2 * g] = ${hsum("v1")}; part[2 * g + 1] = (${hsum("v2")}) * is;
% endif
}
</%def>

## One work-item per channel over all of its (N, S) plane (S % VW == 0, float32 / float64, parameters of the same
## type; small batches): the statistics and bn_finalize's outputs in one launch (mean, invstd, running stats when
## upd: same formulas), or the gradient sums and bn_gsum's outputs (sums, gw, gb when has_w).
<%def name="bn_chan1(t, idx, vw, mode, flag)">
${c.preamble((t,))}
<%
    A = t.cc
    V = A + str(vw)
    def hsum(v):
        return " + ".join("%s.s%s" % (v, "0123456789abcdef"[i]) for i in range(vw))
%>
__kernel void k(__global const ${A}* restrict x, __global const ${A}* restrict gr, __global ${A}* restrict mean,
                __global ${A}* restrict invstd, __global ${A}* restrict o1, __global ${A}* restrict o2,
                __global ${A}* restrict o3, const int C, const ${idx} S, const int N, const ${A} eps,
                const ${A} mom)
{
    const int cc = get_global_id(0);
    if (cc >= C) return;
    const ${idx} cs = (${idx})C * S;
% if mode == "stats":
    ${V} v1 = (${V})0;
    for (int n = 0; n < N; n++) {
        const ${idx} a0 = n * cs + cc * S;
        for (${idx} q = 0; q < S; q += ${vw}) v1 += vload${vw}(0, x + a0 + q);
    }
    const ${A} cnt = (${A})((${idx})N * S);
    const ${A} mu = (${hsum("v1")}) / cnt;
    ${V} v2 = (${V})0;
    for (int n = 0; n < N; n++) {
        const ${idx} a0 = n * cs + cc * S;
        for (${idx} q = 0; q < S; q += ${vw}) { const ${V} d = vload${vw}(0, x + a0 + q) - mu; v2 = mad(d, d, v2); }
    }
    const ${A} m2 = ${hsum("v2")};
    mean[cc] = mu;
    invstd[cc] = 1 / sqrt(m2 / cnt + eps);
% if flag:
    o1[cc] = (1 - mom) * o1[cc] + mom * mu;
    o2[cc] = (1 - mom) * o2[cc] + mom * (m2 / (cnt - 1));
% endif
% else:
    const ${A} mu = mean[cc], is = invstd[cc];
    ${V} v1 = (${V})0, v2 = (${V})0;
    for (int n = 0; n < N; n++) {
        const ${idx} a0 = n * cs + cc * S;
        for (${idx} q = 0; q < S; q += ${vw}) {
            const ${V} gv = vload${vw}(0, gr + a0 + q);
            v1 += gv;
            v2 = mad(gv, vload${vw}(0, x + a0 + q) - mu, v2);
        }
    }
    const ${A} a = ${hsum("v1")}, b = (${hsum("v2")}) * is;
    o1[2 * cc] = a; o1[2 * cc + 1] = b;
% if flag:
    o3[cc] = a; o2[cc] = b;
% endif
% endif
}
</%def>

## Combine the P partials of each channel (Chan et al.); write mean / invstd and update the running stats
## (rm, rv in the parameter dtype `pt`) with factor `mom` when `upd`.
<%def name="bn_finalize(acc, pt, upd)">
${c.preamble((acc, pt))}
__kernel void k(__global const ${acc.ct}* restrict part, __global ${acc.ct}* restrict mean,
                __global ${acc.ct}* restrict invstd, __global ${pt.ct}* restrict rm, __global ${pt.ct}* restrict rv,
                const int C, const int P, const ${acc.cc} eps, const ${acc.cc} mom)
{
    const int cc = get_global_id(0);
    if (cc >= C) return;
    ${acc.cc} n = 0, mu = 0, m2 = 0;
    for (int p = 0; p < P; p++) {
        const ${acc.cc} nb = part[3 * (cc * P + p)];
        if (nb == 0) continue;
        const ${acc.cc} mb = part[3 * (cc * P + p) + 1], m2b = part[3 * (cc * P + p) + 2];
        const ${acc.cc} nn = n + nb;
        const ${acc.cc} d = mb - mu;
        mu += d * nb / nn;
        m2 += m2b + d * d * n * nb / nn;
        n = nn;
    }
    const ${acc.cc} var = m2 / n;
    mean[cc] = mu;
    invstd[cc] = 1 / sqrt(var + eps);
% if upd:
    const ${acc.cc} om = ${pt.load("rm", "cc")};
    const ${acc.cc} ov = ${pt.load("rv", "cc")};
    const ${acc.cc} nm = (1 - mom) * om + mom * mu;
    const ${acc.cc} nv = (1 - mom) * ov + mom * (m2 / (n - 1));
    ${pt.store("rm", "cc", pt.cast_from("nm", acc))};
    ${pt.store("rv", "cc", pt.cast_from("nv", acc))};
% endif
}
</%def>

## eval mode: mean / invstd from running stats
<%def name="bn_running(acc, pt)">
${c.preamble((acc, pt))}
__kernel void k(__global const ${pt.ct}* restrict rm, __global const ${pt.ct}* restrict rv,
                __global ${acc.ct}* restrict mean, __global ${acc.ct}* restrict invstd, const int C,
                const ${acc.cc} eps)
{
    const int cc = get_global_id(0);
    if (cc >= C) return;
    mean[cc] = ${acc.cast_from(pt.load("rm", "cc"), pt)};
    invstd[cc] = 1 / sqrt(${acc.cast_from(pt.load("rv", "cc"), pt)} + eps);
}
</%def>

## sum the grad partials per channel: sg[c], sgx[c] (acc type), plus optional copies in the parameter dtype
<%def name="bn_gsum(acc, pt, has_w)">
${c.preamble((acc, pt))}
__kernel void k(__global const ${acc.ct}* restrict part, __global ${acc.ct}* restrict sums,
                __global ${pt.ct}* restrict gw, __global ${pt.ct}* restrict gb, const int C, const int P)
{
    const int cc = get_global_id(0);
    if (cc >= C) return;
    ${acc.cc} a = 0, b = 0;
    for (int p = 0; p < P; p++) { a += part[2 * (cc * P + p)]; b += part[2 * (cc * P + p) + 1]; }
    sums[2 * cc] = a; sums[2 * cc + 1] = b;
% if has_w:
    ${pt.store("gb", "cc", pt.cast_from("a", acc))};
    ${pt.store("gw", "cc", pt.cast_from("b", acc))};
% endif
}
</%def>

## Per (n, c) row of S elements, chunks of CH: y = (x - mean[c]) * invstd[c] * w[c] + b[c]
<%def name="bn_apply(t, acc, pt, idx, affine, ch)">
${c.preamble((t, acc, pt))}
__kernel void k(__global const ${t.ct}* restrict x, __global ${t.ct}* restrict y,
                __global const ${acc.ct}* restrict mean, __global const ${acc.ct}* restrict invstd,
                __global const ${pt.ct}* restrict w, __global const ${pt.ct}* restrict b,
                const int C, const ${idx} S, const ${idx} nch, const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    const ${idx} row = g / nch;
    const ${idx} s0 = (g - row * nch) * ${ch};
    const ${idx} s1 = min(s0 + ${ch}, S);
    const int cc = (int)(row % C);
    ${acc.cc} sc = invstd[cc];
    ${acc.cc} sf = -mean[cc] * sc;
% if affine:
    const ${acc.cc} wv = ${acc.cast_from(pt.load("w", "cc"), pt)};
    sc *= wv;
    sf = sf * wv + ${acc.cast_from(pt.load("b", "cc"), pt)};
% endif
    const ${idx} base = row * S;
    for (${idx} s = s0; s < s1; s++) {
        const ${acc.cc} v = ${acc.cast_from(t.load("x", "base + s"), t)} * sc + sf;
        ${t.store("y", "base + s", t.cast_from("v", acc))};
    }
}
</%def>

## dx = w*invstd*(g - sg/M - xhat*sgx/M) (training) or w*invstd*g (eval, train=0)
<%def name="bn_bwd_apply(t, acc, pt, idx, affine, train, ch)">
${c.preamble((t, acc, pt))}
__kernel void k(__global const ${t.ct}* restrict x, __global const ${t.ct}* restrict gr,
                __global ${t.ct}* restrict dx, __global const ${acc.ct}* restrict mean,
                __global const ${acc.ct}* restrict invstd, __global const ${acc.ct}* restrict sums,
                __global const ${pt.ct}* restrict w, const int C, const ${idx} S, const ${idx} nch,
                const ${idx} nwork, const ${acc.cc} invm)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    const ${idx} row = g / nch;
    const ${idx} s0 = (g - row * nch) * ${ch};
    const ${idx} s1 = min(s0 + ${ch}, S);
    const int cc = (int)(row % C);
    const ${acc.cc} is = invstd[cc];
% if affine:
    const ${acc.cc} sc = is * ${acc.cast_from(pt.load("w", "cc"), pt)};
% else:
    const ${acc.cc} sc = is;
% endif
% if train:
    const ${acc.cc} mu = mean[cc];
    const ${acc.cc} mg = sums[2 * cc] * invm, mgx = sums[2 * cc + 1] * invm;
% endif
    const ${idx} base = row * S;
    for (${idx} s = s0; s < s1; s++) {
        const ${acc.cc} gv = ${acc.cast_from(t.load("gr", "base + s"), t)};
% if train:
        const ${acc.cc} xh = (${acc.cast_from(t.load("x", "base + s"), t)} - mu) * is;
        const ${acc.cc} v = sc * (gv - mg - xh * mgx);
% else:
        const ${acc.cc} v = sc * gv;
% endif
        ${t.store("dx", "base + s", t.cast_from("v", acc))};
    }
}
</%def>

## ---------------------------------------------------------------------------------------------- layer norm
## x: (R, D) contiguous; one work-item per row (three passes: mean, variance, output).
<%def name="ln_fwd(t, acc, pt, idx, has_w, has_b)">
${c.preamble((t, acc, pt))}
__kernel void k(__global const ${t.ct}* restrict x, __global ${t.ct}* restrict y,
                __global const ${pt.ct}* restrict w, __global const ${pt.ct}* restrict b,
                __global ${acc.ct}* restrict mean, __global ${acc.ct}* restrict rstd,
                const ${idx} R, const ${idx} D, const ${acc.cc} eps)
{
    const ${idx} r = get_global_id(0);
    if (r >= R) return;
    const ${idx} base = r * D;
    ${acc.cc} s = 0;
    for (${idx} j = 0; j < D; j++) s += ${acc.cast_from(t.load("x", "base + j"), t)};
    const ${acc.cc} mu = s / (${acc.cc})D;
    ${acc.cc} v = 0;
    for (${idx} j = 0; j < D; j++) { const ${acc.cc} d = ${acc.cast_from(t.load("x", "base + j"), t)} - mu; v += d * d; }
    const ${acc.cc} is = 1 / sqrt(v / (${acc.cc})D + eps);
    mean[r] = mu; rstd[r] = is;
    for (${idx} j = 0; j < D; j++) {
        ${acc.cc} o = (${acc.cast_from(t.load("x", "base + j"), t)} - mu) * is;
% if has_w:
        o *= ${acc.cast_from(pt.load("w", "j"), pt)};
% endif
% if has_b:
        o += ${acc.cast_from(pt.load("b", "j"), pt)};
% endif
        ${t.store("y", "base + j", t.cast_from("o", acc))};
    }
}
</%def>

<%def name="ln_bwd_x(t, acc, pt, idx, has_w)">
${c.preamble((t, acc, pt))}
__kernel void k(__global const ${t.ct}* restrict x, __global const ${t.ct}* restrict gr,
                __global ${t.ct}* restrict dx, __global const ${pt.ct}* restrict w,
                __global const ${acc.ct}* restrict mean, __global const ${acc.ct}* restrict rstd,
                const ${idx} R, const ${idx} D)
{
    const ${idx} r = get_global_id(0);
    if (r >= R) return;
    const ${idx} base = r * D;
    const ${acc.cc} mu = mean[r], is = rstd[r];
    ${acc.cc} a = 0, b = 0;
    for (${idx} j = 0; j < D; j++) {
        ${acc.cc} gv = ${acc.cast_from(t.load("gr", "base + j"), t)};
% if has_w:
        gv *= ${acc.cast_from(pt.load("w", "j"), pt)};
% endif
        a += gv;
        b += gv * (${acc.cast_from(t.load("x", "base + j"), t)} - mu) * is;
    }
    a /= (${acc.cc})D; b /= (${acc.cc})D;
    for (${idx} j = 0; j < D; j++) {
        ${acc.cc} gv = ${acc.cast_from(t.load("gr", "base + j"), t)};
% if has_w:
        gv *= ${acc.cast_from(pt.load("w", "j"), pt)};
% endif
        const ${acc.cc} xh = (${acc.cast_from(t.load("x", "base + j"), t)} - mu) * is;
        const ${acc.cc} o = is * (gv - a - xh * b);
        ${t.store("dx", "base + j", t.cast_from("o", acc))};
    }
}
</%def>

## one work-item per column j: gw[j] = sum_r g*xhat, gb[j] = sum_r g
<%def name="ln_bwd_wb(t, acc, pt, idx, has_w, has_b)">
${c.preamble((t, acc, pt))}
__kernel void k(__global const ${t.ct}* restrict x, __global const ${t.ct}* restrict gr,
                __global const ${acc.ct}* restrict mean, __global const ${acc.ct}* restrict rstd,
                __global ${pt.ct}* restrict gw, __global ${pt.ct}* restrict gb, const ${idx} R, const ${idx} D)
{
    const ${idx} j = get_global_id(0);
    if (j >= D) return;
    ${acc.cc} a = 0, b = 0;
    for (${idx} r = 0; r < R; r++) {
        const ${acc.cc} gv = ${acc.cast_from(t.load("gr", "r * D + j"), t)};
        b += gv;
        a += gv * (${acc.cast_from(t.load("x", "r * D + j"), t)} - mean[r]) * rstd[r];
    }
% if has_w:
    ${pt.store("gw", "j", pt.cast_from("a", acc))};
% endif
% if has_b:
    ${pt.store("gb", "j", pt.cast_from("b", acc))};
% endif
}
</%def>
