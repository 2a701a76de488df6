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
    return "vload%d(0, %s + %s)" % (V, ptr, off)


def stv(t, V, ptr, off, val):
    if V == 1:
        return t.store(ptr, off, "(%s)(%s)" % (t.cc, val))
    if t.half:
        return "vstore_half%d_rte(%s, 0, %s + %s)" % (V, val, ptr, off)
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
<%def name="apply_mask(mt, mk, F)">
% if mk == "bool":
        if (!m[mo + b * m0 + h * m1 + i * m2 + j * m3]) s = -INFINITY;
% elif mk == "float":
        s += (${F})${mt.load("m", "mo + b * m0 + h * m1 + i * m2 + j * m3")};
% endif
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

<%def name="head(t, F, DC)">
    const long g = get_global_id(0);
    if (g >= (long)B * Hq * L) return;
    const int i = (int)(g % L);
    const int bh = (int)(g / L);
    const int h = bh % Hq, b = bh / Hq, hk = h / (Hq / Hk);
    const ${F} scale = scale_;
    const ${F} rs = pdrop < 1 ? (${F})1 / ((${F})1 - (${F})pdrop) : (${F})0;
    const ulong eb = (ulong)g * (ulong)S;
</%def>

## V: features per vector operation (1, or 8 when E and Ev are multiples of 8 and every feature stride is 1);
## E / V and Ev / V vectors per row. VT: F or F##V.
<%def name="vt(F, V)">${F if V == 1 else F + str(V)}</%def>

## forward: one work-item per query row; keys in blocks of BJ: one rescale of the accumulator per block.
## o: the output (B, Hq, L, Ev); lse: log-sum-exp per row (B * Hq * L, contiguous, in F).
<%def name="fwd(t, mt, mk, idx, DC, causal, drop, V)">
<% F = "double" if t.cc == "double" else "float"; BJ = 16; VT = F if V == 1 else F + str(V) %>
${c.preamble((t, mt))}
${rnd.philox()}
${keep_fn()}
__kernel void k(${args(t, mt, idx)}, __global ${F}* restrict lse)
{
${head(t, F, DC)}
    ${VT} qv[${DC // V}], acc[${DC // V}];
    ${F} sc[${BJ}];
    const int EV = E / ${V}, EvV = Ev / ${V};
    const ${idx} qb = qo + b * q0 + h * q1 + i * q2;
    for (int d = 0; d < EV; d++) qv[d] = ${ldv(t, V, F, "q", "qb + d * %d * q3" % V)} * scale;
    for (int d = 0; d < EvV; d++) acc[d] = 0;
    ${F} mx = -INFINITY, l = 0;
    const int jend = ${"min(S, i + 1)" if causal else "S"};
    const ${idx} kb = kko + b * kk0 + hk * kk1, vb = vo + b * v0 + hk * v1;
    for (int j0 = 0; j0 < jend; j0 += ${BJ}) {
        const int n = min(${BJ}, jend - j0);
        ${F} bm = -INFINITY;
        for (int jj = 0; jj < n; jj++) {
            const int j = j0 + jj;
            const ${idx} kr = kb + j * kk2;
            ${VT} sv = 0;
            for (int d = 0; d < EV; d++) sv += qv[d] * ${ldv(t, V, F, "kk", "kr + d * %d * kk3" % V)};
            ${F} s = ${hsum(V, "sv")};
${apply_mask(mt, mk, F)}
            sc[jj] = s;
            bm = fmax(bm, s);
        }
        const ${F} mn = fmax(mx, bm);
        if (mn == -INFINITY) continue;          // every key so far masked out
        const ${F} corr = exp(mx - mn);
        if (corr != 1) {
            l *= corr;
            for (int d = 0; d < EvV; d++) acc[d] *= corr;
        }
        mx = mn;
        for (int jj = 0; jj < n; jj++) {
            ${F} p = exp(sc[jj] - mn);
            l += p;
% if drop:
            p = keep_(eb + j0 + jj, s0, s1, r0, r1, (float)pdrop) ? p * rs : 0;
% endif
            if (p != 0) {
                const ${idx} vr = vb + (j0 + jj) * v2;
                for (int d = 0; d < EvV; d++) acc[d] += p * ${ldv(t, V, F, "v", "vr + d * %d * v3" % V)};
            }
        }
    }
    const ${F} inv = l > 0 ? (${F})1 / l : (${F})0;   // a row with every key masked out gives 0 (as torch)
    const ${idx} ob = oo + b * o0 + h * o1 + i * o2;
    for (int d = 0; d < EvV; d++) ${stv(t, V, "o", "ob + d * %d * o3" % V, "acc[d] * inv")};
    lse[g] = l > 0 ? mx + log(l) : -INFINITY;
}
</%def>

## backward, query side: one work-item per query row. dlt = rowsum(dO * O) (stored for the key side);
## dq = scale * sum_j ds_ij k_j with ds = p * (dp - dlt), dp = dO . v_j (times the dropout mask / (1 - p)).
## With dmask, ds is also written densely to dm (B, Hq, L, S): the gradient of a float mask.
<%def name="bwd_q(t, mt, mk, idx, DC, causal, drop, dmask, V)">
<% F = "double" if t.cc == "double" else "float"; VT = F if V == 1 else F + str(V) %>
${c.preamble((t, mt))}
${rnd.philox()}
${keep_fn()}
__kernel void k(${args(t, mt, idx)}, __global const ${F}* restrict lse,
                ${t4(t, "go", idx)}, __global ${F}* restrict dlt, ${t4(t, "dq", idx, False)}, __global ${F}* restrict dm)
{
${head(t, F, DC)}
    ${VT} qv[${DC // V}], gv[${DC // V}], dqv[${DC // V}];
    const int EV = E / ${V}, EvV = Ev / ${V};
    const ${idx} qb = qo + b * q0 + h * q1 + i * q2;
    for (int d = 0; d < EV; d++) { qv[d] = ${ldv(t, V, F, "q", "qb + d * %d * q3" % V)} * scale; dqv[d] = 0; }
    const ${idx} gb = goo + b * go0 + h * go1 + i * go2, ob = oo + b * o0 + h * o1 + i * o2;
    ${VT} Dv = 0;
    for (int d = 0; d < EvV; d++) {
        gv[d] = ${ldv(t, V, F, "go", "gb + d * %d * go3" % V)};
        Dv += gv[d] * ${ldv(t, V, F, "o", "ob + d * %d * o3" % V)};
    }
    const ${F} D = ${hsum(V, "Dv")};
    dlt[g] = D;
    const ${F} ls = lse[g];
    const int jend = ${"min(S, i + 1)" if causal else "S"};
    const ${idx} kb = kko + b * kk0 + hk * kk1, vb = vo + b * v0 + hk * v1;
    for (int j = 0; j < jend; j++) {
        const ${idx} kr = kb + j * kk2, vr = vb + j * v2;
        ${VT} sv = 0;
        for (int d = 0; d < EV; d++) sv += qv[d] * ${ldv(t, V, F, "kk", "kr + d * %d * kk3" % V)};
        ${F} s = ${hsum(V, "sv")};
${apply_mask(mt, mk, F)}
        const ${F} p = (ls == -INFINITY || s == -INFINITY) ? (${F})0 : exp(s - ls);
        ${F} ds = 0;
        if (p != 0) {
            ${VT} dpv = 0;
            for (int d = 0; d < EvV; d++) dpv += gv[d] * ${ldv(t, V, F, "v", "vr + d * %d * v3" % V)};
            ${F} dp = ${hsum(V, "dpv")};
% if drop:
            dp = keep_(eb + j, s0, s1, r0, r1, (float)pdrop) ? dp * rs : 0;
% endif
            ds = p * (dp - D);
            for (int d = 0; d < EV; d++) dqv[d] += ds * ${ldv(t, V, F, "kk", "kr + d * %d * kk3" % V)};
        }
% if dmask:
        dm[eb + j] = ds;
% endif
    }
% if dmask:
    for (int j = jend; j < S; j++) dm[eb + j] = 0;
% endif
    const ${idx} db = dqo + b * dq0 + h * dq1 + i * dq2;
    for (int d = 0; d < EV; d++) ${stv(t, V, "dq", "db + d * %d * dq3" % V, "dqv[d] * scale")};
}
</%def>

## backward, key side: one work-item per key/value row j of head hk (B, Hk, S); it walks the query rows of every
## query head of its group: dv = sum p~ dO_i (p~: p with dropout), dk = sum ds q_i * scale.
<%def name="bwd_kv(t, mt, mk, idx, DC, causal, drop, V)">
<% F = "double" if t.cc == "double" else "float"; VT = F if V == 1 else F + str(V) %>
${c.preamble((t, mt))}
${rnd.philox()}
${keep_fn()}
__kernel void k(${args(t, mt, idx)}, __global const ${F}* restrict lse,
                ${t4(t, "go", idx)}, __global const ${F}* restrict dlt, ${t4(t, "dk", idx, False)}, ${t4(t, "dv", idx, False)})
{
    const long g = get_global_id(0);
    if (g >= (long)B * Hk * S) return;
    const int j = (int)(g % S);
    const int bhk = (int)(g / S);
    const int hk = bhk % Hk, b = bhk / Hk, G = Hq / Hk;
    const int EV = E / ${V}, EvV = Ev / ${V};
    const ${F} scale = scale_;
    const ${F} rs = pdrop < 1 ? (${F})1 / ((${F})1 - (${F})pdrop) : (${F})0;
    ${VT} kv[${DC // V}], vv[${DC // V}], dkv[${DC // V}], dvv[${DC // V}];
    const ${idx} kr = kko + b * kk0 + hk * kk1 + j * kk2, vr = vo + b * v0 + hk * v1 + j * v2;
    for (int d = 0; d < EV; d++) { kv[d] = ${ldv(t, V, F, "kk", "kr + d * %d * kk3" % V)}; dkv[d] = 0; }
    for (int d = 0; d < EvV; d++) { vv[d] = ${ldv(t, V, F, "v", "vr + d * %d * v3" % V)}; dvv[d] = 0; }
    for (int h = hk * G; h < hk * G + G; h++) {
        const long bh = (long)b * Hq + h;
        for (int i = ${"min(j, L)" if causal else "0"}; i < L; i++) {
            const long r = bh * L + i;
            const ${F} ls = lse[r];
            if (ls == -INFINITY) continue;
            const ${idx} qb = qo + b * q0 + h * q1 + i * q2, gb = goo + b * go0 + h * go1 + i * go2;
            ${VT} sv = 0;
            for (int d = 0; d < EV; d++) sv += ${ldv(t, V, F, "q", "qb + d * %d * q3" % V)} * kv[d];
            ${F} s = ${hsum(V, "sv")} * scale;
${apply_mask(mt, mk, F)}
            if (s == -INFINITY) continue;
            const ${F} p = exp(s - ls);
% if drop:
            const ${F} z = keep_((ulong)r * (ulong)S + j, s0, s1, r0, r1, (float)pdrop) ? rs : 0;
% else:
            const ${F} z = 1;
% endif
            ${VT} dpv = 0;
            const ${F} pz = p * z;
            for (int d = 0; d < EvV; d++) {
                const ${VT} gd = ${ldv(t, V, F, "go", "gb + d * %d * go3" % V)};
                dpv += gd * vv[d];
                dvv[d] += pz * gd;
            }
            const ${F} ds = p * (${hsum(V, "dpv")} * z - dlt[r]) * scale;
            for (int d = 0; d < EV; d++) dkv[d] += ds * ${ldv(t, V, F, "q", "qb + d * %d * q3" % V)};
        }
    }
    const ${idx} kd = dko + b * dk0 + hk * dk1 + j * dk2, vd = dvo + b * dv0 + hk * dv1 + j * dv2;
    for (int d = 0; d < EV; d++) ${stv(t, V, "dk", "kd + d * %d * dk3" % V, "dkv[d]")};
    for (int d = 0; d < EvV; d++) ${stv(t, V, "dv", "vd + d * %d * dv3" % V, "dvv[d]")};
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
