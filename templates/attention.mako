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

## ------------------------------------------------------------------ register-blocked kernels (no mask, no dropout)
## The shape that runs fast on CPU devices (PoCL vectorises nothing across work-items here; each work-item is one
## SIMD thread): a work-item owns R rows held in private memory, the other side is read 16 rows at a time from a
## transposed copy (features x rows, rows padded to a multiple of 16 with zeros), so one 16-wide load serves R
## rows and every score block is one F16 per row; the weighted sums read whole 16-wide feature vectors of the
## row-major operands (D: the head dimension, a multiple of 16, the same for q/k/v). Causal blocks past the
## diagonal are never visited. Operands: contiguous (rows, D) per head at an element offset; lse / dlt padded to
## Lp rows per head (lse = +inf on padding rows, so their probabilities are 0).
## `t`: float32 or float64 (F = t.cc). GQA: head bh reads key/value head bh / G.

## y[(bh, d, j)] (tr) or y[(bh, j, d)] = x[b, h, j, d] (zero for j >= N): a strided 4-D operand packed for them;
## one work-item per output row (bh, d) (tr) or (bh, j)
<%def name="pack(t, idx, tr)">
${c.preamble((t,))}
__kernel void k(${t4(t, "x", idx)}, __global ${t.ct}* restrict y, const int H, const int N, const int D,
                const int Np, const long n)
{
    const long g = get_global_id(0);
    if (g >= n) return;
% if tr:
    const int d = (int)(g % D);
    const long bh = g / D;
    const int b = (int)(bh / H), h = (int)(bh % H);
    const __global ${t.ct}* xr = x + xo + b * x0 + h * x1 + d * x3;
    __global ${t.ct}* yr = y + g * Np;
    for (int j = 0; j < N; j++) yr[j] = xr[j * x2];
    for (int j = N; j < Np; j++) yr[j] = 0;
% else:
    const int j = (int)(g % N);
    const long bh = g / N;
    const int b = (int)(bh / H), h = (int)(bh % H);
    const __global ${t.ct}* xr = x + xo + b * x0 + h * x1 + j * x2;
    __global ${t.ct}* yr = y + g * D;
    for (int d = 0; d < D; d++) yr[d] = xr[d * x3];
% endif
}
</%def>

<%def name="rb_common(F)">
<% IT = "long16" if F == "double" else "int16" %>
${vhelpers(F)}
#define LANES ((${IT})(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
% if F == "float":
// exp of 16 lanes x <= 0 (-inf gives 0): 2^n * p(r), r = x - n ln2, a degree-6 polynomial (relative error ~2e-7);
// PoCL's vector exp runs lane by lane on CPUs, which dominated these kernels
// (n = x log2 e rounded to nearest by adding 1.5 * 2^23: PoCL's vector rint takes a dozen instructions here)
inline float16 exp16(float16 x) {
    const int16 dead = x < -87.0f;
    x = select(x, (float16)(-87.0f), dead);
    const float16 t = fma(x, 1.44269504088896341f, 12582912.0f);
    const float16 n = t - 12582912.0f;
    const float16 r = fma(n, -0.693145751953125f, fma(n, -1.428606765330187e-06f, x));
    float16 p = 1.3888889e-3f;
    p = fma(p, r, 8.3333333e-3f);
    p = fma(p, r, 4.1666667e-2f);
    p = fma(p, r, 1.6666667e-1f);
    p = fma(p, r, 0.5f);
    p = fma(p, r, 1.0f);
    p = fma(p, r, 1.0f);
    const float16 y = as_float16(as_int16(p) + ((as_int16(t) - 0x4B400000) << 23));
    return select(y, (float16)0, dead);
}
% else:
inline double16 exp16(double16 x) { return exp(x); }
% endif
</%def>

## forward: one work-item per R query rows of one head; keys in blocks of 16 * NK (NK 16-lane vectors of scores
## per row: each loaded key vector serves R rows, each broadcast query scalar NK key vectors); P @ V accumulated RG
## rows at a time with every 16-feature slice of those rows live (RG * D / 16 accumulators: one loaded V vector
## serves RG rows, one broadcast p serves D / 16 vectors). kt is padded to Sp, a multiple of 16 * NK.
## the register-blocked kernels' mask: the additive term (bool: 0 where true, -inf where false; float: its value,
## in F) of 16 consecutive elements x0.. (clamped to N - 1; the callers mask lanes past N) along a dim of stride st
## from element `base`: one key row (fwd_rb) or one query column (bwd_rb1) of the broadcast (B, Hq, L, S) mask
<%def name="rb_mask(mt, mk, F)">
% if mk != "none":
inline ${F}16 mask16(__global const ${mt.ct}* restrict m, const long base, const long st, const int x0, const int N) {
    ${F} a[16];
    for (int e = 0; e < 16; e++) {
        const ${mt.ct} x = m[base + min(x0 + e, N - 1) * st];
% if mk == "bool":
        a[e] = x ? (${F})0 : (${F})(-INFINITY);
% else:
        a[e] = (${F})x;
% endif
    }
    return vload16(0, a);
}
% endif
</%def>

<%def name="fwd_rb(t, idx, D, causal, R, NK, mt, mk)">
<% F = t.cc; NC = D // 16; RG = max(g for g in range(1, R + 1) if R % g == 0 and g * NC <= max(16, NC)) %>
${c.preamble((t,))}
${rb_common(F)}
${rb_mask(mt, mk, F)}
__kernel void k(__global const ${F}* restrict q, const long qo, __global const ${F}* restrict kt, const long kto,
                __global const ${F}* restrict v, const long vo, __global ${F}* restrict o, const long oo,
                __global ${F}* restrict lse, const int BH, const int G, const int L, const int S, const int Lp,
                const int Sp, const ${F} scale, __global const ${mt.ct}* restrict m, const long mo, const long m0,
                const long m1, const long m2, const long m3, const int Hm)
{
    const long g = get_global_id(0);
    const int nrb = (L + ${R} - 1) / ${R};
    if (g >= (long)BH * nrb) return;
    const int i0 = (int)(g % nrb) * ${R};
    const long bh = g / nrb, bhk = bh / G;
    ${F} qs[${R}][${D}], mx[${R}], l[${R}], ps[${R}][${16 * NK}];
    ${F}16 acc[${R}][${NC}];
    int ir[${R}];
    for (int r = 0; r < ${R}; r++) {
        ir[r] = min(i0 + r, L - 1);
        const __global ${F}* qr = q + qo + (bh * L + ir[r]) * ${D};
        for (int d = 0; d < ${D}; d++) qs[r][d] = qr[d] * scale;
        for (int c = 0; c < ${NC}; c++) acc[r][c] = 0;
        mx[r] = -INFINITY; l[r] = 0;
    }
    const int jend = ${"min(S, ir[%d] + 1)" % (R - 1) if causal else "S"};
    const __global ${F}* kb = kt + kto + bhk * ${D} * Sp;
    const __global ${F}* vb = v + vo + bhk * S * ${D};
    for (int j0 = 0; j0 < jend; j0 += ${16 * NK}) {
        ${F}16 s[${R}][${NK}];
        #pragma unroll
        for (int r = 0; r < ${R}; r++)
            #pragma unroll
            for (int w = 0; w < ${NK}; w++) s[r][w] = 0;
        #pragma unroll 4
        for (int d = 0; d < ${D}; d++) {
            ${F}16 kv[${NK}];
            #pragma unroll
            for (int w = 0; w < ${NK}; w++) kv[w] = vload16(w, kb + d * Sp + j0);
            #pragma unroll
            for (int r = 0; r < ${R}; r++)
                #pragma unroll
                for (int w = 0; w < ${NK}; w++) s[r][w] = fma((${F}16)qs[r][d], kv[w], s[r][w]);
        }
        for (int r = 0; r < ${R}; r++) {
% if mk != "none":
            const long mb = mo + (bh / Hm) * m0 + (bh % Hm) * m1 + ir[r] * m2;
            #pragma unroll
            for (int w = 0; w < ${NK}; w++) s[r][w] += mask16(m, mb, m3, j0 + 16 * w, S);
% endif
            ${F}16 hm = (${F}16)(-INFINITY);
            #pragma unroll
            for (int w = 0; w < ${NK}; w++) {
                s[r][w] = select(s[r][w], (${F}16)(-INFINITY),
                                 (LANES + (j0 + 16 * w) >= S)${" | (LANES + (j0 + 16 * w) > ir[r])" if causal else ""});
                hm = fmax(hm, s[r][w]);
            }
% if mk == "none":
            const ${F} mn = fmax(mx[r], hmax16(hm));     // finite: key 0 is in every row's first block
% else:
            const ${F} mn = fmax(mx[r], hmax16(hm));
            if (mn == -INFINITY) {                       // every key so far masked out for this row
                #pragma unroll
                for (int w = 0; w < ${NK}; w++) vstore16((${F}16)0, w, ps[r]);
                continue;
            }
% endif
            const ${F} corr = exp(mx[r] - mn);
            ${F}16 ls = 0;
            #pragma unroll
            for (int w = 0; w < ${NK}; w++) {
                const ${F}16 p = exp16(s[r][w] - mn);
                ls += p;
                vstore16(p, w, ps[r]);
            }
            l[r] = l[r] * corr + hsum16(ls);
            mx[r] = mn;
            if (corr != 1)
                for (int c = 0; c < ${NC}; c++) acc[r][c] *= corr;
        }
        const int nj = min(${16 * NK}, jend - j0);
        #pragma unroll
        for (int r0 = 0; r0 < ${R}; r0 += ${RG}) {
            ${F}16 a[${RG}][${NC}];
            #pragma unroll
            for (int u = 0; u < ${RG}; u++)
                #pragma unroll
                for (int c = 0; c < ${NC}; c++) a[u][c] = acc[r0 + u][c];
            for (int jj = 0; jj < nj; jj++) {
                const __global ${F}* vr = vb + (j0 + jj) * ${D};
                #pragma unroll
                for (int c = 0; c < ${NC}; c++) {
                    const ${F}16 vv = vload16(c, vr);
                    #pragma unroll
                    for (int u = 0; u < ${RG}; u++) a[u][c] = fma((${F}16)ps[r0 + u][jj], vv, a[u][c]);
                }
            }
            #pragma unroll
            for (int u = 0; u < ${RG}; u++)
                #pragma unroll
                for (int c = 0; c < ${NC}; c++) acc[r0 + u][c] = a[u][c];
        }
    }
    for (int r = 0; r < ${R}; r++) {
        if (i0 + r >= L) break;
        const ${F} inv = l[r] > 0 ? (${F})1 / l[r] : (${F})0;
        __global ${F}* orow = o + oo + (bh * L + i0 + r) * ${D};
        for (int c = 0; c < ${NC}; c++) vstore16(acc[r][c] * inv, c, orow);
        lse[bh * Lp + i0 + r] = l[r] > 0 ? mx[r] + log(l[r]) : -INFINITY;
    }
}
</%def>

## query side: dq = scale * sum_j ds_ij k_j, ds = p * (dO_i . v_j - dlt_i); writes dlt_i = dO_i . O_i
<%def name="bwd_q_rb(t, idx, D, causal, R)">
<% F = t.cc; NC = D // 16 %>
${c.preamble((t,))}
${rb_common(F)}
__kernel void k(__global const ${F}* restrict q, const long qo, __global const ${F}* restrict kt, const long kto,
                __global const ${F}* restrict vt, const long vto, __global const ${F}* restrict kk, const long kko,
                __global const ${F}* restrict o, const long oo, __global const ${F}* restrict go, const long goo,
                __global const ${F}* restrict lse, __global ${F}* restrict dlt, __global ${F}* restrict dq,
                const long dqo, const int BH, const int G, const int L, const int S, const int Lp, const int Sp,
                const ${F} scale)
{
    const long g = get_global_id(0);
    const int nrb = (L + ${R} - 1) / ${R};
    if (g >= (long)BH * nrb) return;
    const int i0 = (int)(g % nrb) * ${R};
    const long bh = g / nrb, bhk = bh / G;
    ${F} qs[${R}][${D}], gs[${R}][${D}], dl[${R}], ls[${R}], ps[${R}][16];
    ${F}16 acc[${R}][${NC}];
    int ir[${R}];
    for (int r = 0; r < ${R}; r++) {
        ir[r] = min(i0 + r, L - 1);
        const long row = bh * L + ir[r];
        const __global ${F}* qr = q + qo + row * ${D};
        const __global ${F}* gr = go + goo + row * ${D};
        const __global ${F}* orow = o + oo + row * ${D};
        ${F}16 dv = 0;
        for (int c = 0; c < ${NC}; c++) {
            dv = fma(vload16(c, gr), vload16(c, orow), dv);
            acc[r][c] = 0;
        }
        dl[r] = hsum16(dv);
        for (int d = 0; d < ${D}; d++) { qs[r][d] = qr[d] * scale; gs[r][d] = gr[d]; }
        ls[r] = lse[bh * Lp + ir[r]];
        if (i0 + r < L) dlt[bh * Lp + ir[r]] = dl[r];
    }
    const int jend = ${"min(S, ir[%d] + 1)" % (R - 1) if causal else "S"};
    const __global ${F}* kb = kt + kto + bhk * ${D} * Sp;
    const __global ${F}* vb = vt + vto + bhk * ${D} * Sp;
    const __global ${F}* kr0 = kk + kko + bhk * S * ${D};
    for (int j0 = 0; j0 < jend; j0 += 16) {
        ${F}16 s[${R}], dp[${R}];
        #pragma unroll
        for (int r = 0; r < ${R}; r++) { s[r] = 0; dp[r] = 0; }
        #pragma unroll 4
        for (int d = 0; d < ${D}; d++) {
            const ${F}16 kv = vload16(0, kb + d * Sp + j0), vv = vload16(0, vb + d * Sp + j0);
            #pragma unroll
            for (int r = 0; r < ${R}; r++) {
                s[r] = fma((${F}16)qs[r][d], kv, s[r]);
                dp[r] = fma((${F}16)gs[r][d], vv, dp[r]);
            }
        }
        for (int r = 0; r < ${R}; r++) {
            const ${F}16 p = select(exp16(s[r] - ls[r]), (${F}16)0,
                                    (LANES + j0 >= S)${" | (LANES + j0 > ir[r])" if causal else ""});
            vstore16(p * (dp[r] - dl[r]), 0, ps[r]);
        }
        #pragma unroll
        for (int c = 0; c < ${NC}; c++) {
            ${F}16 a1[${R}];
            #pragma unroll
            for (int r = 0; r < ${R}; r++) a1[r] = acc[r][c];
            #pragma unroll 4
            for (int jj = 0; jj < 16; jj++) {
                const ${F}16 kv = vload16(c, kr0 + min(j0 + jj, S - 1) * ${D});
                #pragma unroll
                for (int r = 0; r < ${R}; r++) a1[r] = fma((${F}16)ps[r][jj], kv, a1[r]);
            }
            #pragma unroll
            for (int r = 0; r < ${R}; r++) acc[r][c] = a1[r];
        }
    }
    for (int r = 0; r < ${R}; r++) {
        if (i0 + r >= L) break;
        __global ${F}* dr = dq + dqo + (bh * L + i0 + r) * ${D};
        for (int c = 0; c < ${NC}; c++) vstore16(acc[r][c] * scale, c, dr);
    }
}
</%def>

## key side: one work-item per R keys of key/value head bhk, over the query rows of its G query heads:
## dv_j = sum_i p_ij dO_i, dk_j = scale * sum_i ds_ij q_i (query blocks before the diagonal skipped when causal);
## the sums run one 16-feature slice at a time (as in fwd_rb / bwd_q_rb: 2R accumulators live, not 2R * D / 16;
## fewer spills, measured faster)
<%def name="bwd_kv_rb(t, idx, D, causal, R)">
<% F = t.cc; NC = D // 16 %>
${c.preamble((t,))}
${rb_common(F)}
__kernel void k(__global const ${F}* restrict qt, const long qto, __global const ${F}* restrict got,
                const long goto_, __global const ${F}* restrict q, const long qo, __global const ${F}* restrict go,
                const long goo, __global const ${F}* restrict kk, const long kko, __global const ${F}* restrict v,
                const long vo, __global const ${F}* restrict lse, __global const ${F}* restrict dlt,
                __global ${F}* restrict dk, const long dko, __global ${F}* restrict dv, const long dvo,
                const int BHk, const int G, const int L, const int S, const int Lp, const ${F} scale)
{
    const long g = get_global_id(0);
    const int nrb = (S + ${R} - 1) / ${R};
    if (g >= (long)BHk * nrb) return;
    const int j0 = (int)(g % nrb) * ${R};
    const long bhk = g / nrb;
    ${F} ks[${R}][${D}], vs[${R}][${D}], pp[${R}][16], pd[${R}][16];
    ${F}16 ak[${R}][${NC}], av[${R}][${NC}];
    int jr[${R}];
    for (int r = 0; r < ${R}; r++) {
        jr[r] = min(j0 + r, S - 1);
        const __global ${F}* kr = kk + kko + (bhk * S + jr[r]) * ${D};
        const __global ${F}* vr = v + vo + (bhk * S + jr[r]) * ${D};
        for (int d = 0; d < ${D}; d++) { ks[r][d] = kr[d] * scale; vs[r][d] = vr[d]; }
        for (int c = 0; c < ${NC}; c++) { ak[r][c] = 0; av[r][c] = 0; }
    }
    const int istart = ${"min(j0, L) / 16 * 16" if causal else "0"};
    for (long bh = bhk * G; bh < bhk * G + G; bh++) {
        const __global ${F}* qb = qt + qto + bh * ${D} * Lp;
        const __global ${F}* gb = got + goto_ + bh * ${D} * Lp;
        const __global ${F}* qr0 = q + qo + bh * L * ${D};
        const __global ${F}* gr0 = go + goo + bh * L * ${D};
        for (int i0 = istart; i0 < L; i0 += 16) {
            ${F}16 s[${R}], dp[${R}];
            #pragma unroll
            for (int r = 0; r < ${R}; r++) { s[r] = 0; dp[r] = 0; }
            #pragma unroll 4
            for (int d = 0; d < ${D}; d++) {
                const ${F}16 qv = vload16(0, qb + d * Lp + i0), gv = vload16(0, gb + d * Lp + i0);
                #pragma unroll
                for (int r = 0; r < ${R}; r++) {
                    s[r] = fma((${F}16)ks[r][d], qv, s[r]);
                    dp[r] = fma((${F}16)vs[r][d], gv, dp[r]);
                }
            }
            const ${F}16 lv = vload16(0, lse + bh * Lp + i0), dlv = vload16(0, dlt + bh * Lp + i0);
            for (int r = 0; r < ${R}; r++) {
% if causal:
                const ${F}16 p = select(exp16(s[r] - lv), (${F}16)0, LANES + i0 < jr[r]);
% else:
                const ${F}16 p = exp16(s[r] - lv);
% endif
                vstore16(p, 0, pp[r]);
                vstore16(p * (dp[r] - dlv) * scale, 0, pd[r]);
            }
            #pragma unroll
            for (int c = 0; c < ${NC}; c++) {
                ${F}16 a1[${R}], a2[${R}];
                #pragma unroll
                for (int r = 0; r < ${R}; r++) { a1[r] = av[r][c]; a2[r] = ak[r][c]; }
                #pragma unroll 4
                for (int ii = 0; ii < 16; ii++) {
                    const long row = min(i0 + ii, L - 1) * ${D};
                    const ${F}16 gv = vload16(c, gr0 + row), qv = vload16(c, qr0 + row);
                    #pragma unroll
                    for (int r = 0; r < ${R}; r++) {
                        a1[r] = fma((${F}16)pp[r][ii], gv, a1[r]);
                        a2[r] = fma((${F}16)pd[r][ii], qv, a2[r]);
                    }
                }
                #pragma unroll
                for (int r = 0; r < ${R}; r++) { av[r][c] = a1[r]; ak[r][c] = a2[r]; }
            }
        }
    }
    for (int r = 0; r < ${R}; r++) {
        if (j0 + r >= S) break;
        __global ${F}* kd = dk + dko + (bhk * S + j0 + r) * ${D};
        __global ${F}* vd = dv + dvo + (bhk * S + j0 + r) * ${D};
        for (int c = 0; c < ${NC}; c++) { vstore16(ak[r][c], c, kd); vstore16(av[r][c], c, vd); }
    }
}
</%def>

## backward in one pass (CPUs): one work-item per key/value head bhk and chunk ch of NCH owns the gradients of the
## key blocks ch, ch + NCH, ... of that head (interleaved: balanced when causal) and its own copy (dq + ch * dqs) of
## the dq of the G query heads, so dq accumulates in place without atomics (the launcher sums the NCH copies). It
## first writes dlt_i = dO_i . O_i of its query rows (to its own copy, dlt + ch * dls); then for each block of R keys (held in private rows, k scaled) and each
## block of QB query rows (Q and dO read transposed, 16 rows per vector, KG keys at a time; blocks before the
## diagonal skipped when causal): s = k . q, dp = v . dO, p = exp(s - lse_i), ds = p * (dp - dlt_i), and
## dv_j += p_ij dO_i, dk_j += ds_ij q_i (times scale at the end), dq_i += ds_ij (scale k_j): scores computed once
## (the two-pass kernels compute them twice). The sums keep RG rows x every 16-feature slice live.
## dq: zero-initialised, (B * Hq, L, D) contiguous from dqo; dlt: (B * Hq * Lp), zero-initialised; Lp a multiple
## of QB (16 or 32: the same speed on PoCL's CPU device).
<%def name="bwd_rb1(t, idx, D, causal, R, QB, mt, mk)">
<%
F = t.cc; NC = D // 16; NQ = QB // 16
RG = max(g for g in range(1, R + 1) if R % g == 0 and g * NC <= max(16, NC))     # key rows per dv/dk sum
QG = max(g for g in (1, 2, 4, 8, 16) if g * NC <= max(16, NC))                  # query rows per dq sum
KG = max(g for g in range(1, R + 1) if R % g == 0 and 2 * g * NQ <= 16)         # keys per s/dp step
%>
${c.preamble((t,))}
${rb_common(F)}
${rb_mask(mt, mk, F)}
__kernel void k(__global const ${F}* restrict qt, const long qto, __global const ${F}* restrict got,
                const long goto_, __global const ${F}* restrict q, const long qo, __global const ${F}* restrict go,
                const long goo, __global const ${F}* restrict kk, const long kko, __global const ${F}* restrict v,
                const long vo, __global const ${F}* restrict o, const long oo, __global const ${F}* restrict lse,
                __global ${F}* restrict dlt, __global ${F}* restrict dk, const long dko, __global ${F}* restrict dv,
                const long dvo, __global ${F}* restrict dq, const long dqo, const int BHk, const int G, const int L,
                const int S, const int Lp, const ${F} scale, __global const ${mt.ct}* restrict m, const long mo,
                const long m0, const long m1, const long m2, const long m3, const int Hm, const int NCH,
                const long dqs, const long dls)
{
    const long g = get_global_id(0);
    if (g >= (long)BHk * NCH) return;
    const long bhk = g / NCH;
    const int ch = (int)(g % NCH);
    dq += ch * dqs;
    dlt += ch * dls;
    for (long bh = bhk * G; bh < bhk * G + G; bh++)
        for (int i = 0; i < L; i++) {
            const __global ${F}* gr = go + goo + (bh * L + i) * ${D};
            const __global ${F}* orow = o + oo + (bh * L + i) * ${D};
            ${F}16 a = 0;
            for (int c = 0; c < ${NC}; c++) a = fma(vload16(c, gr), vload16(c, orow), a);
            dlt[bh * Lp + i] = hsum16(a);
        }
    ${F} ks[${R}][${D}], vs[${R}][${D}], pp[${R}][${QB}], pd[${R}][${QB}];
    ${F}16 ak[${R}][${NC}], av[${R}][${NC}];
    int jr[${R}];
    for (int j0 = ch * ${R}; j0 < S; j0 += NCH * ${R}) {
        for (int r = 0; r < ${R}; r++) {
            jr[r] = j0 + r < S ? ${"j0 + r" if causal else "0"} : 1 << 30;   // query rows i < jr[r] do not see key r
            const int j = min(j0 + r, S - 1);
            const __global ${F}* kr = kk + kko + (bhk * S + j) * ${D};
            const __global ${F}* vr = v + vo + (bhk * S + j) * ${D};
            for (int d = 0; d < ${D}; d++) { ks[r][d] = kr[d] * scale; vs[r][d] = vr[d]; }
            for (int c = 0; c < ${NC}; c++) { ak[r][c] = 0; av[r][c] = 0; }
        }
        const int istart = ${"min(j0, L) / %d * %d" % (QB, QB) if causal else "0"};
        for (long bh = bhk * G; bh < bhk * G + G; bh++) {
            const __global ${F}* qb = qt + qto + bh * ${D} * Lp;
            const __global ${F}* gb = got + goto_ + bh * ${D} * Lp;
            const __global ${F}* qr0 = q + qo + bh * L * ${D};
            const __global ${F}* gr0 = go + goo + bh * L * ${D};
            __global ${F}* dq0 = dq + dqo + bh * L * ${D};
            for (int i0 = istart; i0 < L; i0 += ${QB}) {
                #pragma unroll
                for (int r0 = 0; r0 < ${R}; r0 += ${KG}) {
                    ${F}16 s[${KG}][${NQ}], dp[${KG}][${NQ}];
                    #pragma unroll
                    for (int u = 0; u < ${KG}; u++)
                        #pragma unroll
                        for (int w = 0; w < ${NQ}; w++) { s[u][w] = 0; dp[u][w] = 0; }
                    #pragma unroll 4
                    for (int d = 0; d < ${D}; d++) {
                        ${F}16 qv[${NQ}], gv[${NQ}];
                        #pragma unroll
                        for (int w = 0; w < ${NQ}; w++) {
                            qv[w] = vload16(w, qb + d * Lp + i0);
                            gv[w] = vload16(w, gb + d * Lp + i0);
                        }
                        #pragma unroll
                        for (int u = 0; u < ${KG}; u++)
                            #pragma unroll
                            for (int w = 0; w < ${NQ}; w++) {
                                s[u][w] = fma((${F}16)ks[r0 + u][d], qv[w], s[u][w]);
                                dp[u][w] = fma((${F}16)vs[r0 + u][d], gv[w], dp[u][w]);
                            }
                    }
                    #pragma unroll
                    for (int w = 0; w < ${NQ}; w++) {
                        const ${F}16 lv = vload16(w, lse + bh * Lp + i0), dlv = vload16(w, dlt + bh * Lp + i0);
                        #pragma unroll
                        for (int u = 0; u < ${KG}; u++) {
% if mk == "none":
                            const ${F}16 p = select(exp16(s[u][w] - lv), (${F}16)0, LANES + (i0 + 16 * w) < jr[r0 + u]);
% else:
                            const ${F}16 sm = s[u][w] + mask16(m, mo + (bh / Hm) * m0 + (bh % Hm) * m1 +
                                                               min(j0 + r0 + u, S - 1) * m3, m2, i0 + 16 * w, L);
                            // rows with every key masked out (lse -inf) get p = 0
                            const ${F}16 p = select(exp16(sm - lv), (${F}16)0,
                                                    (LANES + (i0 + 16 * w) < jr[r0 + u]) | (lv == (${F}16)(-INFINITY)));
% endif
                            vstore16(p, w, pp[r0 + u]);
                            vstore16(p * (dp[u][w] - dlv), w, pd[r0 + u]);
                        }
                    }
                }
                const int ni = min(${QB}, L - i0);
                #pragma unroll
                for (int r0 = 0; r0 < ${R}; r0 += ${RG}) {
                    ${F}16 a1[${RG}][${NC}], a2[${RG}][${NC}];
                    #pragma unroll
                    for (int u = 0; u < ${RG}; u++)
                        #pragma unroll
                        for (int c = 0; c < ${NC}; c++) { a1[u][c] = av[r0 + u][c]; a2[u][c] = ak[r0 + u][c]; }
                    for (int ii = 0; ii < ni; ii++) {
                        const __global ${F}* gr = gr0 + (i0 + ii) * ${D};
                        #pragma unroll
                        for (int c = 0; c < ${NC}; c++) {
                            const ${F}16 gv = vload16(c, gr);
                            #pragma unroll
                            for (int u = 0; u < ${RG}; u++) a1[u][c] = fma((${F}16)pp[r0 + u][ii], gv, a1[u][c]);
                        }
                    }
                    for (int ii = 0; ii < ni; ii++) {
                        const __global ${F}* qr = qr0 + (i0 + ii) * ${D};
                        #pragma unroll
                        for (int c = 0; c < ${NC}; c++) {
                            const ${F}16 qv = vload16(c, qr);
                            #pragma unroll
                            for (int u = 0; u < ${RG}; u++) a2[u][c] = fma((${F}16)pd[r0 + u][ii], qv, a2[u][c]);
                        }
                    }
                    #pragma unroll
                    for (int u = 0; u < ${RG}; u++)
                        #pragma unroll
                        for (int c = 0; c < ${NC}; c++) { av[r0 + u][c] = a1[u][c]; ak[r0 + u][c] = a2[u][c]; }
                }
                for (int ii0 = 0; ii0 < ni; ii0 += ${QG}) {
                    const int nu = min(${QG}, ni - ii0);
                    __global ${F}* dr = dq0 + (i0 + ii0) * ${D};
                    ${F}16 a[${QG}][${NC}];
                    #pragma unroll
                    for (int u = 0; u < ${QG}; u++)
                        #pragma unroll
                        for (int c = 0; c < ${NC}; c++) a[u][c] = u < nu ? vload16(c, dr + u * ${D}) : 0;
                    #pragma unroll
                    for (int r = 0; r < ${R}; r++)
                        #pragma unroll
                        for (int c = 0; c < ${NC}; c++) {
                            const ${F}16 kv = vload16(c, ks[r]);
                            #pragma unroll
                            for (int u = 0; u < ${QG}; u++) a[u][c] = fma((${F}16)pd[r][ii0 + u], kv, a[u][c]);
                        }
                    #pragma unroll
                    for (int u = 0; u < ${QG}; u++)
                        if (u < nu)
                            #pragma unroll
                            for (int c = 0; c < ${NC}; c++) vstore16(a[u][c], c, dr + u * ${D});
                }
            }
        }
        for (int r = 0; r < ${R}; r++) {
            if (j0 + r >= S) break;
            __global ${F}* kd = dk + dko + (bhk * S + j0 + r) * ${D};
            __global ${F}* vd = dv + dvo + (bhk * S + j0 + r) * ${D};
            for (int c = 0; c < ${NC}; c++) { vstore16(ak[r][c] * scale, c, kd); vstore16(av[r][c], c, vd); }
        }
    }
}
</%def>
