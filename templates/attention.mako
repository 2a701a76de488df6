## Fused scaled dot-product attention (cltensor/nn/_attention.py): forward and backward with an online softmax,
## never materialising the L x S score matrix (FlashAttention-style). The forward keeps each query row's
## log-sum-exp; the backward recomputes the scores row by row from it.
## Every operand is 4-D (batch, head, row, feature) with its element offset and four strides as kernel arguments
## (any layout: permuted, expanded, sliced); the mask is broadcast to (B, Hq, L, S) by zero strides.
## Sizes are kernel arguments; the template parameters are the dtypes, the mask kind (none / bool / float),
## causal, dropout, the index type and DC, the capacity of the private feature rows (a power of two >= E, Ev).
## `t`: the q/k/v/out dtype (storage t.ct; arithmetic in F: float, or double for float64); `mt`: the mask dtype.
## GQA: query head h reads key/value head h / (Hq / Hk).
<%namespace name="c" file="common.mako"/>
<%namespace name="rnd" file="random.mako"/>
<%!
def ldv(t, V, F, ptr, off):
    """V features from ptr[off] (unit feature stride when V > 1) as F / F##V"""
    if V == 1:
        return "(%s)%s" % (F, t.load(ptr, off))
    if t.half:
        return "vload_half%d(0, %s + %s)" % (V, ptr, off)
    if t.bf16:
        return t.vload_bf16(ptr, off, V)
    return "vload%d(0, %s + %s)" % (V, ptr, off)


def stv(t, V, ptr, off, val):
    if V == 1:
        return t.store(ptr, off, "(%s)(%s)" % (t.cc, val))
    if t.half:
        return "vstore_half%d_rte(%s, 0, %s + %s)" % (V, val, ptr, off)
    if t.bf16:
        return t.vstore_bf16(ptr, off, val, V)
    return "vstore%d(%s, 0, %s + %s)" % (V, val, ptr, off)


def hsum(V, x):
    if V == 1:
        return x
    return "(" + " + ".join("(%s).s%x" % (x, k) for k in range(V)) + ")"
%>

<%def name="t4(t, name, idx, const=True)">
__global ${"const " if const else ""}${t.ct}* restrict ${name}, const ${idx} ${name}o, const ${idx} ${name}0, const ${idx} ${name}1, const ${idx} ${name}2, const ${idx} ${name}3</%def>

<%def name="args(t, mt, idx)">
${t4(t, "q", idx)}, ${t4(t, "kk", idx)}, ${t4(t, "v", idx)}, ${t4(t, "o", idx, False)},
                __global const ${mt.ct}* restrict m, const ${idx} mo, const ${idx} m0, const ${idx} m1,
                const ${idx} m2, const ${idx} m3,
                const int B, const int Hq, const int Hk, const int L, const int S, const int E, const int Ev,
                const ${"double" if t.cc == "double" else "float"} scale_, const uint s0, const uint s1, const uint r0,
                const uint r1, const ${"double" if t.cc == "double" else "float"} pdrop</%def>

## score adjustment by the mask at (b, h, i, j): s is the scaled score (in F)
<%def name="apply_mask(mt, mk, F, i='i', j='j', s='s')">
% if mk == "bool":
        if (!m[mo + b * m0 + h * m1 + ${i} * m2 + ${j} * m3]) ${s} = -INFINITY;
% elif mk == "float":
        ${s} += (${F})${mt.load("m", "mo + b * m0 + h * m1 + %s * m2 + %s * m3" % (i, j))};
% endif
</%def>

## horizontal max / sum of 16 lanes (the exp of a block of scores runs 16-wide)
<%def name="vhelpers(F)">
inline ${F} hmax16(${F}16 v) { ${F}8 a = fmax(v.lo, v.hi); ${F}4 b = fmax(a.lo, a.hi); ${F}2 c = fmax(b.lo, b.hi); return fmax(c.x, c.y); }
inline ${F} hsum16(${F}16 v) { ${F}8 a = v.lo + v.hi; ${F}4 b = a.lo + a.hi; ${F}2 c = b.lo + b.hi; return c.x + c.y; }
</%def>

## dropout keep test of element (b, h, i, j): Philox word e % 4 of counter e / 4, e the element's linear index
<%def name="keep_fn()">
inline int keep_(ulong e, uint s0, uint s1, uint r0, uint r1, float p) {
    const ulong c = e >> 2;
    const uint4 r = philox4x32_10((uint4)((uint)c, (uint)(c >> 32), r0, r1), (uint2)(s0, s1));
    const uint w = (e & 3) == 0 ? r.x : ((e & 3) == 1 ? r.y : ((e & 3) == 2 ? r.z : r.w));
    return (w >> 8) * 0x1.0p-24f >= p;
}
</%def>

## V: features per vector operation (1, or 8 when E and Ev are multiples of 8 and every feature stride is 1);
## E / V and Ev / V vectors per row. VT: F or F##V.
<%def name="vt(F, V)">${F if V == 1 else F + str(V)}</%def>

## forward: one work-item per R consecutive query rows of one (batch, head) (each key/value vector loaded once
## serves R rows); keys in blocks of BJ: one rescale of the accumulators per block. Rows past L repeat row L - 1
## (computed, not stored). o: the output (B, Hq, L, Ev); lse: log-sum-exp per row (B * Hq * L, contiguous, in F).
<%def name="fwd(t, mt, mk, idx, DC, causal, drop, V, R)">
<% F = "double" if t.cc == "double" else "float"; BJ = 16; VT = F if V == 1 else F + str(V) %>
${c.preamble((t, mt))}
${rnd.philox()}
${keep_fn()}
${vhelpers(F)}
__kernel void k(${args(t, mt, idx)}, __global ${F}* restrict lse)
{
    const long g = get_global_id(0);
    const int nrb = (L + ${R} - 1) / ${R};
    if (g >= (long)B * Hq * nrb) return;
    const int i0 = (int)(g % nrb) * ${R};
    const int bh = (int)(g / nrb);
    const int h = bh % Hq, b = bh / Hq, hk = h / (Hq / Hk);
    const ${F} scale = scale_;
    const ${F} rs = pdrop < 1 ? (${F})1 / ((${F})1 - (${F})pdrop) : (${F})0;
    const int EV = E / ${V}, EvV = Ev / ${V};
    ${VT} qv[${R}][${DC // V}], acc[${R}][${DC // V}];
    ${F} sc[${R}][${BJ}], mx[${R}], l[${R}];
    int ir[${R}];
    for (int r = 0; r < ${R}; r++) {
        ir[r] = min(i0 + r, L - 1);
        const ${idx} qb = qo + b * q0 + h * q1 + ir[r] * q2;
        for (int d = 0; d < EV; d++) { qv[r][d] = ${ldv(t, V, F, "q", "qb + d * %d * q3" % V)} * scale; acc[r][d] = 0; }
        for (int d = 0; d < EvV; d++) acc[r][d] = 0;
        mx[r] = -INFINITY; l[r] = 0;
    }
    const int jend = ${"min(S, ir[%d] + 1)" % (R - 1) if causal else "S"};
    const ${idx} kb = kko + b * kk0 + hk * kk1, vb = vo + b * v0 + hk * v1;
    for (int j0 = 0; j0 < jend; j0 += ${BJ}) {
        const int n = min(${BJ}, jend - j0);
        for (int jj = 0; jj < n; jj++) {
            const int j = j0 + jj;
            const ${idx} kr = kb + j * kk2;
            ${VT} sv[${R}];
            for (int r = 0; r < ${R}; r++) sv[r] = 0;
            for (int d = 0; d < EV; d++) {
                const ${VT} kd = ${ldv(t, V, F, "kk", "kr + d * %d * kk3" % V)};
                for (int r = 0; r < ${R}; r++) sv[r] += qv[r][d] * kd;
            }
            for (int r = 0; r < ${R}; r++) {
                ${F} s = ${hsum(V, "sv[r]")};
% if causal:
                if (j > ir[r]) s = -INFINITY;
% endif
${apply_mask(mt, mk, F, "ir[r]")}
                sc[r][jj] = s;
            }
        }
        int live = 0;
        for (int r = 0; r < ${R}; r++) {
            for (int jj = n; jj < ${BJ}; jj++) sc[r][jj] = -INFINITY;
            const ${F}16 sv = vload16(0, sc[r]);
            const ${F} mn = fmax(mx[r], hmax16(sv));
            if (mn == -INFINITY) {                 // every key so far masked out for this row
                vstore16((${F}16)0, 0, sc[r]);
                continue;
            }
            live = 1;
            const ${F} corr = exp(mx[r] - mn);
            if (corr != 1) {
                l[r] *= corr;
                for (int d = 0; d < EvV; d++) acc[r][d] *= corr;
            }
            mx[r] = mn;
            const ${F}16 pv = exp(sv - mn);
            l[r] += hsum16(pv);
            vstore16(pv, 0, sc[r]);
% if drop:
            for (int jj = 0; jj < n; jj++)
                sc[r][jj] = keep_(((ulong)bh * L + ir[r]) * S + j0 + jj, s0, s1, r0, r1, (float)pdrop) ? sc[r][jj] * rs : 0;
% endif
        }
        if (!live) continue;
        for (int jj = 0; jj < n; jj++) {
            const ${idx} vr = vb + (j0 + jj) * v2;
            for (int d = 0; d < EvV; d++) {
                const ${VT} vd = ${ldv(t, V, F, "v", "vr + d * %d * v3" % V)};
                for (int r = 0; r < ${R}; r++) acc[r][d] += sc[r][jj] * vd;
            }
        }
    }
    for (int r = 0; r < ${R}; r++) {
        if (i0 + r >= L) break;
        const ${F} inv = l[r] > 0 ? (${F})1 / l[r] : (${F})0;   // a row with every key masked out gives 0 (as torch)
        const ${idx} ob = oo + b * o0 + h * o1 + ir[r] * o2;
        for (int d = 0; d < EvV; d++) ${stv(t, V, "o", "ob + d * %d * o3" % V, "acc[r][d] * inv")};
        lse[(long)bh * L + ir[r]] = l[r] > 0 ? mx[r] + log(l[r]) : -INFINITY;
    }
}
</%def>

## backward, query side: one work-item per R query rows. dlt = rowsum(dO * O) (stored for the key side);
## dq = scale * sum_j ds_ij k_j with ds = p * (dp - dlt), dp = dO . v_j (times the dropout mask / (1 - p)).
## With dmask, ds is also written densely to dm (B, Hq, L, S): the gradient of a float mask.
<%def name="bwd_q(t, mt, mk, idx, DC, causal, drop, dmask, V, R)">
<% F = "double" if t.cc == "double" else "float"; VT = F if V == 1 else F + str(V) %>
${c.preamble((t, mt))}
${rnd.philox()}
${keep_fn()}
${vhelpers(F)}
__kernel void k(${args(t, mt, idx)}, __global const ${F}* restrict lse,
                ${t4(t, "go", idx)}, __global ${F}* restrict dlt, ${t4(t, "dq", idx, False)}, __global ${F}* restrict dm)
{
    const long g = get_global_id(0);
    const int nrb = (L + ${R} - 1) / ${R};
    if (g >= (long)B * Hq * nrb) return;
    const int i0 = (int)(g % nrb) * ${R};
    const int bh = (int)(g / nrb);
    const int h = bh % Hq, b = bh / Hq, hk = h / (Hq / Hk);
    const ${F} scale = scale_;
    const ${F} rs = pdrop < 1 ? (${F})1 / ((${F})1 - (${F})pdrop) : (${F})0;
    const int EV = E / ${V}, EvV = Ev / ${V};
    ${VT} qv[${R}][${DC // V}], gv[${R}][${DC // V}], dqv[${R}][${DC // V}];
    ${F} D[${R}], ls[${R}];
    int ir[${R}];
    for (int r = 0; r < ${R}; r++) {
        ir[r] = min(i0 + r, L - 1);
        const ${idx} qb = qo + b * q0 + h * q1 + ir[r] * q2;
        for (int d = 0; d < EV; d++) { qv[r][d] = ${ldv(t, V, F, "q", "qb + d * %d * q3" % V)} * scale; dqv[r][d] = 0; }
        const ${idx} gb = goo + b * go0 + h * go1 + ir[r] * go2, ob = oo + b * o0 + h * o1 + ir[r] * o2;
        ${VT} Dv = 0;
        for (int d = 0; d < EvV; d++) {
            gv[r][d] = ${ldv(t, V, F, "go", "gb + d * %d * go3" % V)};
            Dv += gv[r][d] * ${ldv(t, V, F, "o", "ob + d * %d * o3" % V)};
        }
        D[r] = ${hsum(V, "Dv")};
        ls[r] = lse[(long)bh * L + ir[r]];
        if (i0 + r < L) dlt[(long)bh * L + ir[r]] = D[r];
    }
    const int jend = ${"min(S, ir[%d] + 1)" % (R - 1) if causal else "S"};
    const ${idx} kb = kko + b * kk0 + hk * kk1, vb = vo + b * v0 + hk * v1;
    ${F} ssc[${R}][16], dpc[${R}][16];
    for (int j0 = 0; j0 < jend; j0 += 16) {
        const int n = min(16, jend - j0);
        for (int jj = 0; jj < n; jj++) {
            const int j = j0 + jj;
            const ${idx} kr = kb + j * kk2, vr = vb + j * v2;
            ${VT} sv[${R}], dpv[${R}];
            for (int r = 0; r < ${R}; r++) { sv[r] = 0; dpv[r] = 0; }
            for (int d = 0; d < EV; d++) {
                const ${VT} kd = ${ldv(t, V, F, "kk", "kr + d * %d * kk3" % V)};
                for (int r = 0; r < ${R}; r++) sv[r] += qv[r][d] * kd;
            }
            for (int d = 0; d < EvV; d++) {
                const ${VT} vd = ${ldv(t, V, F, "v", "vr + d * %d * v3" % V)};
                for (int r = 0; r < ${R}; r++) dpv[r] += gv[r][d] * vd;
            }
            for (int r = 0; r < ${R}; r++) {
                ${F} s = ${hsum(V, "sv[r]")};
% if causal:
                if (j > ir[r]) s = -INFINITY;
% endif
${apply_mask(mt, mk, F, "ir[r]")}
                if (ls[r] == -INFINITY) s = -INFINITY;
                ssc[r][jj] = s;
                ${F} dp = ${hsum(V, "dpv[r]")};
% if drop:
                dp = keep_(((ulong)bh * L + ir[r]) * S + j, s0, s1, r0, r1, (float)pdrop) ? dp * rs : 0;
% endif
                dpc[r][jj] = dp;
            }
        }
        int any = 0;
        for (int r = 0; r < ${R}; r++) {
            for (int jj = n; jj < 16; jj++) { ssc[r][jj] = -INFINITY; dpc[r][jj] = 0; }
            const ${F} lr = ls[r] == -INFINITY ? (${F})0 : ls[r];
            const ${F}16 ds = exp(vload16(0, ssc[r]) - lr) * (vload16(0, dpc[r]) - D[r]);
            vstore16(ds, 0, ssc[r]);
            any |= hmax16(fabs(ds)) != 0;
% if dmask:
            if (i0 + r < L)
                for (int jj = 0; jj < n; jj++) dm[((ulong)bh * L + ir[r]) * S + j0 + jj] = ssc[r][jj];
% endif
        }
        if (!any) continue;
        for (int jj = 0; jj < n; jj++) {
            const ${idx} kr = kb + (j0 + jj) * kk2;
            for (int d = 0; d < EV; d++) {
                const ${VT} kd = ${ldv(t, V, F, "kk", "kr + d * %d * kk3" % V)};
                for (int r = 0; r < ${R}; r++) dqv[r][d] += ssc[r][jj] * kd;
            }
        }
    }
    for (int r = 0; r < ${R}; r++) {
        if (i0 + r >= L) break;
% if dmask:
        for (int j = jend; j < S; j++) dm[((ulong)bh * L + ir[r]) * S + j] = 0;
% endif
        const ${idx} db = dqo + b * dq0 + h * dq1 + ir[r] * dq2;
        for (int d = 0; d < EV; d++) ${stv(t, V, "dq", "db + d * %d * dq3" % V, "dqv[r][d] * scale")};
    }
}
</%def>

## backward, key side: one work-item per R consecutive key/value rows of head hk (B, Hk, S); it walks the query
## rows of every query head of its group (each q / dO vector loaded once serves R keys):
## dv = sum p~ dO_i (p~: p with dropout), dk = sum ds q_i * scale.
<%def name="bwd_kv(t, mt, mk, idx, DC, causal, drop, V, R)">
<% F = "double" if t.cc == "double" else "float"; VT = F if V == 1 else F + str(V) %>
${c.preamble((t, mt))}
${rnd.philox()}
${keep_fn()}
${vhelpers(F)}
__kernel void k(${args(t, mt, idx)}, __global const ${F}* restrict lse,
                ${t4(t, "go", idx)}, __global const ${F}* restrict dlt, ${t4(t, "dk", idx, False)}, ${t4(t, "dv", idx, False)})
{
    const long g = get_global_id(0);
    const int nrb = (S + ${R} - 1) / ${R};
    if (g >= (long)B * Hk * nrb) return;
    const int j0 = (int)(g % nrb) * ${R};
    const int bhk = (int)(g / nrb);
    const int hk = bhk % Hk, b = bhk / Hk, G = Hq / Hk;
    const int EV = E / ${V}, EvV = Ev / ${V};
    const ${F} scale = scale_;
    const ${F} rs = pdrop < 1 ? (${F})1 / ((${F})1 - (${F})pdrop) : (${F})0;
    ${VT} kv[${R}][${DC // V}], vv[${R}][${DC // V}], dkv[${R}][${DC // V}], dvv[${R}][${DC // V}];
    int jr[${R}];
    for (int r = 0; r < ${R}; r++) {
        jr[r] = min(j0 + r, S - 1);
        const ${idx} kr = kko + b * kk0 + hk * kk1 + jr[r] * kk2, vr = vo + b * v0 + hk * v1 + jr[r] * v2;
        for (int d = 0; d < EV; d++) { kv[r][d] = ${ldv(t, V, F, "kk", "kr + d * %d * kk3" % V)}; dkv[r][d] = 0; }
        for (int d = 0; d < EvV; d++) { vv[r][d] = ${ldv(t, V, F, "v", "vr + d * %d * v3" % V)}; dvv[r][d] = 0; }
    }
    ${F} ssc[${R}][16], dpc[${R}][16], zc[${R}][16], lsb[16], dlb[16];
    for (int h = hk * G; h < hk * G + G; h++) {
        const long bh = (long)b * Hq + h;
        for (int ib = ${"min(j0, L)" if causal else "0"}; ib < L; ib += 16) {
            const int n = min(16, L - ib);
            for (int ii = 0; ii < n; ii++) {
                const int i = ib + ii;
                const long row = bh * L + i;
                const ${F} ls = lse[row];
                lsb[ii] = ls == -INFINITY ? (${F})0 : ls;
                dlb[ii] = dlt[row];
                const ${idx} qb = qo + b * q0 + h * q1 + i * q2, gb = goo + b * go0 + h * go1 + i * go2;
                ${VT} sv[${R}], dpv[${R}];
                for (int r = 0; r < ${R}; r++) { sv[r] = 0; dpv[r] = 0; }
                for (int d = 0; d < EV; d++) {
                    const ${VT} qd = ${ldv(t, V, F, "q", "qb + d * %d * q3" % V)};
                    for (int r = 0; r < ${R}; r++) sv[r] += qd * kv[r][d];
                }
                for (int d = 0; d < EvV; d++) {
                    const ${VT} gd = ${ldv(t, V, F, "go", "gb + d * %d * go3" % V)};
                    for (int r = 0; r < ${R}; r++) dpv[r] += gd * vv[r][d];
                }
                for (int r = 0; r < ${R}; r++) {
                    const int j = jr[r];
                    ${F} s = ${hsum(V, "sv[r]")} * scale;
% if causal:
                    if (j > i) s = -INFINITY;
% endif
${apply_mask(mt, mk, F)}
                    if (ls == -INFINITY) s = -INFINITY;
                    ssc[r][ii] = s;
                    dpc[r][ii] = ${hsum(V, "dpv[r]")};
% if drop:
                    zc[r][ii] = keep_((ulong)row * (ulong)S + j, s0, s1, r0, r1, (float)pdrop) ? rs : 0;
% else:
                    zc[r][ii] = 1;
% endif
                }
            }
            for (int ii = n; ii < 16; ii++) { lsb[ii] = 0; dlb[ii] = 0; }
            const ${F}16 lv = vload16(0, lsb), dv16 = vload16(0, dlb);
            for (int r = 0; r < ${R}; r++) {
                for (int ii = n; ii < 16; ii++) { ssc[r][ii] = -INFINITY; dpc[r][ii] = 0; zc[r][ii] = 0; }
                const ${F}16 p = exp(vload16(0, ssc[r]) - lv), z = vload16(0, zc[r]);
                vstore16(p * z, 0, ssc[r]);
                vstore16(p * (vload16(0, dpc[r]) * z - dv16) * scale, 0, dpc[r]);
            }
            for (int ii = 0; ii < n; ii++) {
                const int i = ib + ii;
                const ${idx} qb = qo + b * q0 + h * q1 + i * q2, gb = goo + b * go0 + h * go1 + i * go2;
                for (int d = 0; d < EvV; d++) {
                    const ${VT} gd = ${ldv(t, V, F, "go", "gb + d * %d * go3" % V)};
                    for (int r = 0; r < ${R}; r++) dvv[r][d] += ssc[r][ii] * gd;
                }
                for (int d = 0; d < EV; d++) {
                    const ${VT} qd = ${ldv(t, V, F, "q", "qb + d * %d * q3" % V)};
                    for (int r = 0; r < ${R}; r++) dkv[r][d] += dpc[r][ii] * qd;
                }
            }
        }
    }
    for (int r = 0; r < ${R}; r++) {
        if (j0 + r >= S) break;
        const ${idx} kd = dko + b * dk0 + hk * dk1 + jr[r] * dk2, vd = dvo + b * dv0 + hk * dv1 + jr[r] * dv2;
        for (int d = 0; d < EV; d++) ${stv(t, V, "dk", "kd + d * %d * dk3" % V, "dkv[r][d]")};
        for (int d = 0; d < EvV; d++) ${stv(t, V, "dv", "vd + d * %d * dv3" % V, "dvv[r][d]")};
    }
}
</%def>

## the dropout keep mask of a (B, Hq, L, S) attention as 0 / 1 (for tests and the unfused path)
<%def name="keep_mask(t)">
${c.preamble((t,))}
${rnd.philox()}
${keep_fn()}
__kernel void k(__global ${t.ct}* restrict out, const ulong n, const uint s0, const uint s1, const uint r0,
                const uint r1, const float pdrop)
{
    const ulong g = get_global_id(0);
    if (g >= n) return;
    ${t.store("out", "g", "(" + t.cc + ")(keep_(g, s0, s1, r0, r1, pdrop) ? 1 : 0)")};
}
</%def>
