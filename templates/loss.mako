## Loss kernels (cltensor/nn/_loss.py): fused cross-entropy / NLL with class-index targets, forward and backward.
## Launch convention: 1-D global size rounded up to the runtime's fixed local size; every kernel guards its index.
## `t` is the tensor dtype helper, `acc` the accumulation dtype helper, `idx` the index type ("int" or "long").
<%namespace name="c" file="common.mako"/>

## ---------------------------------------------------------------------------------------------- losses
## x: (N, C, S) contiguous logits (ce) or log-probabilities (nll); target: N*S int64; sample i = n*S + s,
## class c at n*C*S + c*S + s. Out-of-range targets (other than ignore_index) are recorded in err[0..1] and
## never read. loss[i] and wt[i] (the weight of the sample's target class, 0 when ignored) in acc type.
<%def name="ce_fwd(t, acc, idx, has_w, smooth, log_input)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict x, __global const long* restrict target,
                __global const ${t.ct}* restrict w, __global ${acc.ct}* restrict loss,
                __global ${acc.ct}* restrict wt, __global ${acc.ct}* restrict lse_out,
                __global long* restrict err, const int C, const ${idx} S, const ${idx} NS, const long ignore,
                const ${acc.cc} eps)
{
    const ${idx} i = get_global_id(0);
    if (i >= NS) return;
    const ${idx} n = i / S, s = i - (i / S) * S;
    const ${idx} base = n * C * S + s;
    const long tg = target[i];
% if log_input:
    const ${acc.cc} lse = 0;
% else:
    ${acc.cc} m = -INFINITY;
    for (int cc = 0; cc < C; cc++) m = fmax(m, ${acc.cast_from(t.load("x", "base + (" + idx + ")cc * S"), t)});
    ${acc.cc} se = 0;
    for (int cc = 0; cc < C; cc++) se += exp(${acc.cast_from(t.load("x", "base + (" + idx + ")cc * S"), t)} - m);
    const ${acc.cc} lse = isinf(m) ? m : m + log(se);
    lse_out[i] = lse;
% endif
    if (tg == ignore) { loss[i] = 0; wt[i] = 0; return; }
    if (tg < 0 || tg >= C) { err[0] = 1; err[1] = tg; loss[i] = 0; wt[i] = 0; return; }
% if has_w:
    const ${acc.cc} wv = ${acc.cast_from(t.load("w", "tg"), t)};
% else:
    const ${acc.cc} wv = 1;
% endif
    ${acc.cc} l = -wv * (${acc.cast_from(t.load("x", "base + tg * S"), t)} - lse);
% if smooth:
    ${acc.cc} sm = 0;
    for (int cc = 0; cc < C; cc++) {
% if has_w:
        const ${acc.cc} wc = ${acc.cast_from(t.load("w", "cc"), t)};
% else:
        const ${acc.cc} wc = 1;
% endif
        sm -= wc * (${acc.cast_from(t.load("x", "base + (" + idx + ")cc * S"), t)} - lse);
    }
    l = (1 - eps) * l + eps / (${acc.cc})C * sm;
% endif
    loss[i] = l;
    wt[i] = wv;
}
</%def>

## gradient rows: dx[i, c] = gi * (sm_c * ((1-eps) w_t + eps/C * W) - (1-eps) w_t [c==t] - eps/C w_c) (ce), or
## -gi * w_t [c==t] (nll). gi = g[i * gstride] (divided by tw[0] when mean).
<%def name="ce_bwd(t, acc, idx, has_w, smooth, log_input, mean)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict x, __global const long* restrict target,
                __global const ${t.ct}* restrict w, __global const ${acc.ct}* restrict lse_in,
                __global const ${t.ct}* restrict gout, const ${idx} goff, const ${idx} gstride,
                __global const ${acc.ct}* restrict tw, __global ${t.ct}* restrict dx,
                const int C, const ${idx} S, const ${idx} NS, const long ignore, const ${acc.cc} eps)
{
    const ${idx} i = get_global_id(0);
    if (i >= NS) return;
    const ${idx} n = i / S, s = i - (i / S) * S;
    const ${idx} base = n * C * S + s;
    const long tg = target[i];
    if (tg == ignore || tg < 0 || tg >= C) {
        for (int cc = 0; cc < C; cc++) { ${t.store("dx", "base + (" + idx + ")cc * S", "(" + t.cc + ")0")}; }
        return;
    }
    ${acc.cc} gi = ${acc.cast_from(t.load("gout", "goff + i * gstride"), t)};
% if mean:
    gi /= tw[0];
% endif
% if has_w:
    const ${acc.cc} wv = ${acc.cast_from(t.load("w", "tg"), t)};
% else:
    const ${acc.cc} wv = 1;
% endif
% if log_input:
    for (int cc = 0; cc < C; cc++) {
        const ${acc.cc} o = cc == tg ? -gi * wv : (${acc.cc})0;
        ${t.store("dx", "base + (" + idx + ")cc * S", t.cast_from("o", acc))};
    }
% else:
    const ${acc.cc} lse = lse_in[i];
% if smooth:
    ${acc.cc} W = 0;
% if has_w:
    for (int cc = 0; cc < C; cc++) W += ${acc.cast_from(t.load("w", "cc"), t)};
% else:
    W = (${acc.cc})C;
% endif
    const ${acc.cc} a = (1 - eps) * wv + eps / (${acc.cc})C * W;
% else:
    const ${acc.cc} a = wv;
% endif
    for (int cc = 0; cc < C; cc++) {
        const ${idx} q = base + (${idx})cc * S;
        const ${acc.cc} smx = exp(${acc.cast_from(t.load("x", "q"), t)} - lse);
% if smooth:
% if has_w:
        const ${acc.cc} wc = ${acc.cast_from(t.load("w", "cc"), t)};
% else:
        const ${acc.cc} wc = 1;
% endif
        ${acc.cc} o = smx * a - eps / (${acc.cc})C * wc;
        if (cc == tg) o -= (1 - eps) * wv;
% else:
        ${acc.cc} o = smx * a;
        if (cc == tg) o -= wv;
% endif
        o *= gi;
        ${t.store("dx", "q", t.cast_from("o", acc))};
    }
% endif
}
</%def>
