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

## ---------------------------------------------------------------------------------------------- CTC
## One work-group per batch element n; its work-items stride over the extended label positions s (blank at even
## s, label (s-1)/2 at odd s; ext: (N, L) int64, padded with blanks) and step through time with a barrier per
## frame. lp: (T, N, C) contiguous log-probabilities; alpha / beta: (T, N, L) in the accumulation type (-inf for
## unreachable states); il / tl: int32 lengths (il[n] <= T, 2*tl[n]+1 <= L checked on the host).
<%def name="ctc_alpha(t, acc)">
${c.preamble((t, acc))}
inline ${acc.cc} lse3(${acc.cc} a, ${acc.cc} b, ${acc.cc} d) {
    const ${acc.cc} m = fmax(a, fmax(b, d));
    return m == -INFINITY ? m : m + log(exp(a - m) + exp(b - m) + exp(d - m));
}
__kernel void k(__global const ${t.ct}* restrict lp, __global const long* restrict ext,
                __global const int* restrict il, __global const int* restrict tl, __global ${acc.ct}* restrict alpha,
                __global ${acc.ct}* restrict nll, __global ${acc.ct}* restrict loss, const int T, const int N,
                const int C, const int L, const int zero_inf)
{
    const int n = get_group_id(0), lid = get_local_id(0), ls = get_local_size(0);
    const int In = il[n], Ln = 2 * tl[n] + 1;
    __global const long* e = ext + (long)n * L;
    const long sT = (long)N * L;
    __global ${acc.ct}* a = alpha + (long)n * L;
    for (int s = lid; s < L; s += ls) {
        ${acc.cc} v = -INFINITY;
        if (In > 0 && s < Ln && s < 2) v = ${acc.cast_from(t.load("lp", "(long)n * C + e[s]"), t)};
        a[s] = v;
    }
    for (int ti = 1; ti < T; ti++) {
        barrier(CLK_GLOBAL_MEM_FENCE);
        __global const ${acc.ct}* p = a + (long)(ti - 1) * sT;
        for (int s = lid; s < L; s += ls) {
            ${acc.cc} v = -INFINITY;
            if (ti < In && s < Ln) {
                const ${acc.cc} x1 = s > 0 ? p[s - 1] : -INFINITY;
                const ${acc.cc} x2 = (s > 1 && (s & 1) && e[s] != e[s - 2]) ? p[s - 2] : -INFINITY;
                v = lse3(p[s], x1, x2);
                if (v != -INFINITY) v += ${acc.cast_from(t.load("lp", "((long)ti * N + n) * C + e[s]"), t)};
            }
            a[(long)ti * sT + s] = v;
        }
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    if (lid == 0) {
        ${acc.cc} r;
        if (In == 0) {
            r = Ln == 1 ? 0 : INFINITY;
        } else {
            __global const ${acc.ct}* q = a + (long)(In - 1) * sT;
            const ${acc.cc} l1 = q[Ln - 1], l2 = Ln > 1 ? q[Ln - 2] : -INFINITY;
            const ${acc.cc} m = fmax(l1, l2);
            r = m == -INFINITY ? INFINITY : -(m + log(exp(l1 - m) + exp(l2 - m)));
        }
        nll[n] = r;
        loss[n] = (zero_inf && isinf(r)) ? 0 : r;
    }
}
</%def>

## PyTorch's gradient: grad[t, n, c] = (exp(lp) - exp(lcab + nll - lp)) * g[n] for t < il[n] (0 after), lcab the
## log-sum over the positions s labelled c of alpha + beta. nxt[n, s]: the next position with the label of s (-1
## at the end; blanks chain through the even positions); first[n, s]: s starts its label's chain.
<%def name="ctc_grad(t, acc)">
${c.preamble((t, acc))}
inline ${acc.cc} lse3(${acc.cc} a, ${acc.cc} b, ${acc.cc} d) {
    const ${acc.cc} m = fmax(a, fmax(b, d));
    return m == -INFINITY ? m : m + log(exp(a - m) + exp(b - m) + exp(d - m));
}
__kernel void k(__global const ${t.ct}* restrict lp, __global const long* restrict ext,
                __global const int* restrict nxt, __global const int* restrict first,
                __global const int* restrict il, __global const int* restrict tl,
                __global const ${acc.ct}* restrict alpha, __global ${acc.ct}* restrict beta,
                __global const ${acc.ct}* restrict nll, __global const ${t.ct}* restrict gout,
                __global ${t.ct}* restrict grad, const int T, const int N, const int C, const int L,
                const int zero_inf)
{
    const int n = get_group_id(0), lid = get_local_id(0), ls = get_local_size(0);
    const int In = il[n], Ln = 2 * tl[n] + 1;
    __global const long* e = ext + (long)n * L;
    __global const int* nx = nxt + (long)n * L;
    __global const int* fs = first + (long)n * L;
    const long sT = (long)N * L;
    __global ${acc.ct}* b = beta + (long)n * L;
    __global const ${acc.ct}* a = alpha + (long)n * L;
    const ${acc.cc} nl = nll[n];
    const ${acc.cc} g = ${acc.cast_from(t.load("gout", "n"), t)};
    const int dead = zero_inf && isinf(nl);
    if (In > 0) {
        for (int s = lid; s < L; s += ls) {
            ${acc.cc} v = -INFINITY;
            if (s < Ln && s >= Ln - 2)
                v = ${acc.cast_from(t.load("lp", "((long)(In - 1) * N + n) * C + e[s]"), t)};
            b[(long)(In - 1) * sT + s] = v;
        }
    }
    for (int ti = In - 2; ti >= 0; ti--) {
        barrier(CLK_GLOBAL_MEM_FENCE);
        __global const ${acc.ct}* p = b + (long)(ti + 1) * sT;
        for (int s = lid; s < L; s += ls) {
            ${acc.cc} v = -INFINITY;
            if (s < Ln) {
                const ${acc.cc} x1 = s + 1 < Ln ? p[s + 1] : -INFINITY;
                const ${acc.cc} x2 = (s + 2 < Ln && (s & 1) && e[s + 2] != e[s]) ? p[s + 2] : -INFINITY;
                v = lse3(p[s], x1, x2);
                if (v != -INFINITY) v += ${acc.cast_from(t.load("lp", "((long)ti * N + n) * C + e[s]"), t)};
            }
            b[(long)ti * sT + s] = v;
        }
    }
    for (int ti = 0; ti < T; ti++) {
        for (int cc = lid; cc < C; cc += ls) {
            const long o = ((long)ti * N + n) * C + cc;
            ${acc.cc} v = 0;
            if (ti < In && !dead) v = exp(${acc.cast_from(t.load("lp", "o"), t)}) * g;
            ${t.store("grad", "o", t.cast_from("v", acc))};
        }
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    if (dead) return;
    for (int ti = 0; ti < In; ti++) {
        for (int s = lid; s < Ln; s += ls) {
            if (!fs[s]) continue;
            ${acc.cc} m = -INFINITY;
            for (int q = s; q >= 0 && q < Ln; q = nx[q]) m = fmax(m, a[(long)ti * sT + q] + b[(long)ti * sT + q]);
            ${acc.cc} sum = 0;
            if (m != -INFINITY)
                for (int q = s; q >= 0 && q < Ln; q = nx[q]) sum += exp(a[(long)ti * sT + q] + b[(long)ti * sT + q] - m);
            const ${acc.cc} lcab = m == -INFINITY ? m : m + log(sum);
            const long o = ((long)ti * N + n) * C + e[s];
            const ${acc.cc} lpv = ${acc.cast_from(t.load("lp", "o"), t)};
            const ${acc.cc} v = (exp(lpv) - exp(lcab + nl - lpv)) * g;
            ${t.store("grad", "o", t.cast_from("v", acc))};
        }
    }
}
</%def>
