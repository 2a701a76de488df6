## Sorting kernels (stable merge sort per row, small-k topk), see cltensor/_sort.py.
## Rows: the sorted dim (length L, input stride isd) x batch dims (rank R, collapsed, input strides bis,
## output strides bos). Keys live in a contiguous [B, L] scratch in the key type (half sorts as float).
##   init:  each work-item loads a block of T0 keys of one row (strided read), insertion-sorts it (stable)
##          and writes keys + original indices to the scratch.
##   merge: one pass merges sorted runs of width w pairwise into the other scratch buffer; each work-item
##          writes T consecutive outputs, finding its start by a binary search along the merge path, so
##          every pass is fully parallel however long the runs are.
##   out:   writes values (cast to the output dtype) and indices to the strided outputs.
## LESS(a, b) is the stable order: ascending puts NaN last, descending puts NaN first (as PyTorch does).
<%namespace name="c" file="common.mako"/>

<%def name="_less(key, desc)">
% if key.isfloat:
% if desc:
#define LESS(a, b) ((a) > (b) || (isnan(a) && !isnan(b)))
% else:
#define LESS(a, b) ((a) < (b) || (isnan(b) && !isnan(a)))
% endif
% else:
% if desc:
#define LESS(a, b) ((a) > (b))
% else:
#define LESS(a, b) ((a) < (b))
% endif
% endif
</%def>

<%def name="_bargs(R, idx)">
% for d in range(R):
                , const ${idx} bsh${d}, const ${idx} bis${d}, const ${idx} bos${d}
% endfor
</%def>

<%def name="_batch(R, idx)">
    ${idx} ib = in_off, ob = 0;
    {
        ${idx} t_ = b;
% for d in range(R - 1, 0, -1):
        { const ${idx} cd = t_ % bsh${d}; t_ /= bsh${d}; ib += cd * bis${d}; ob += cd * bos${d}; }
% endfor
% if R > 0:
        ib += t_ * bis0; ob += t_ * bos0;
% endif
    }
</%def>

<%def name="init(src, key, desc, t0, R, idx)">
${c.preamble((src, key))}
${_less(key, desc)}
__kernel void k(__global const ${src.ct}* restrict in, const ${idx} in_off,
                __global ${key.ct}* restrict keys, __global long* restrict ids,
                const ${idx} NW, const ${idx} NBLK, const ${idx} L, const ${idx} isd ${_bargs(R, idx)})
{
    const ${idx} g = get_global_id(0);
    if (g >= NW) return;
    const ${idx} b = g / NBLK;
    const ${idx} j0 = (g - b * NBLK) * ${t0};
    const int n = (int)min((${idx})${t0}, L - j0);
    ${_batch(R, idx)}
    ${key.cc} kv[${t0}];
    long kx[${t0}];
    for (int i = 0; i < n; i++) {
        const ${key.cc} v = ${key.cast_from(src.load("in", "ib + (j0 + i) * isd"), src)};
        int q = i;
        while (q > 0 && LESS(v, kv[q - 1])) { kv[q] = kv[q - 1]; kx[q] = kx[q - 1]; q--; }
        kv[q] = v;
        kx[q] = (long)(j0 + i);
    }
    const ${idx} o = b * L + j0;
    for (int i = 0; i < n; i++) { keys[o + i] = kv[i]; ids[o + i] = kx[i]; }
}
</%def>

<%def name="merge(key, desc, idx)">
${c.preamble((key,))}
${_less(key, desc)}
__kernel void k(__global const ${key.ct}* restrict ka, __global const long* restrict ia,
                __global ${key.ct}* restrict kb, __global long* restrict ib,
                const ${idx} NW, const ${idx} NSEG, const ${idx} L, const ${idx} w, const ${idx} TT)
{
    const ${idx} g = get_global_id(0);
    if (g >= NW) return;
    const ${idx} b = g / NSEG;
    const ${idx} k0 = (g - b * NSEG) * TT;
    const ${idx} ps = k0 / (2 * w) * (2 * w);            /* start of this pair of runs */
    const ${idx} la = min(w, L - ps);
    const ${idx} lb = max((${idx})0, min(w, L - ps - w));
    const ${idx} row = b * L;
    __global const ${key.ct}* A = ka + row + ps;
    __global const ${key.ct}* B = A + la;
    __global const long* AI = ia + row + ps;
    __global const long* BI = AI + la;
    const ${idx} k = k0 - ps;
    const ${idx} end = min(k + TT, la + lb);
    ${idx} lo = max((${idx})0, k - lb), hi = min(k, la);
    while (lo < hi) {
        const ${idx} mid = (lo + hi) / 2;
        if (LESS(B[k - 1 - mid], A[mid])) hi = mid; else lo = mid + 1;
    }
    ${idx} i = lo, j = k - lo;
    __global ${key.ct}* OK = kb + row + ps;
    __global long* OI = ib + row + ps;
    for (${idx} o = k; o < end; o++) {
        if (i < la && (j >= lb || !LESS(B[j], A[i]))) { OK[o] = A[i]; OI[o] = AI[i]; i++; }
        else { OK[o] = B[j]; OI[o] = BI[j]; j++; }
    }
}
</%def>

## values/indices of the sorted scratch, columns [J0, J0 + K) of each row, to strided outputs
<%def name="out(key, dst, R, idx)">
${c.preamble((key, dst))}
__kernel void k(__global const ${key.ct}* restrict keys, __global const long* restrict ids,
                __global ${dst.ct}* restrict vo, __global long* restrict io,
                const ${idx} NW, const ${idx} L, const ${idx} K, const ${idx} J0, const ${idx} osd ${_bargs(R, idx)})
{
    const ${idx} g = get_global_id(0);
    if (g >= NW) return;
    const ${idx} b = g / K;
    const ${idx} j = g - b * K;
    const ${idx} in_off = 0;
    ${_batch(R, idx)}
    const ${key.cc} v = keys[b * L + J0 + j];
    ${dst.store("vo", "ob + j * osd", dst.cast_from("v", key))};
    io[ob + j * osd] = ids[b * L + J0 + j];
}
</%def>

## topk for small k (k <= kmax <= 64): each work-item keeps the k best of its chunk of a row in a private
## insertion-sorted buffer (stable: a later equal element never displaces an earlier one). With S > 1 chunks
## per row the first launch writes [B, S, k] candidates (index -1 = none) and a second launch (stage2) picks
## the k best of each row's candidates, in chunk order, so ties still resolve to the smaller index.
<%def name="topk(src, key, dst, desc, kmax, R, stage2, final, idx)">
${c.preamble((src, key, dst))}
${_less(key, desc)}
__kernel void k(__global const ${src.ct}* restrict in, const ${idx} in_off, __global const long* restrict inidx,
                __global ${dst.ct}* restrict vo, __global long* restrict io,
                const ${idx} NW, const ${idx} S, const ${idx} C, const ${idx} L, const int kk,
                const ${idx} isd, const ${idx} osd ${_bargs(R, idx)})
{
    const ${idx} g = get_global_id(0);
    if (g >= NW) return;
    const ${idx} b = g / S;
    const ${idx} cix = g - b * S;
    ${_batch(R, idx)}
    const ${idx} t0 = cix * C;
    const ${idx} t1 = min(t0 + C, L);
    ${key.cc} kv[${kmax}];
    long kx[${kmax}];
    int cnt = 0;
    for (${idx} t = t0; t < t1; t++) {
% if stage2:
        const long id = inidx[ib + t];
        if (id < 0) continue;
% else:
        const long id = (long)t;
% endif
        const ${key.cc} v = ${key.cast_from(src.load("in", "ib + t * isd"), src)};
        if (cnt == kk && !LESS(v, kv[kk - 1])) continue;
        int q = (cnt < kk) ? cnt++ : kk - 1;
        while (q > 0 && LESS(v, kv[q - 1])) { kv[q] = kv[q - 1]; kx[q] = kx[q - 1]; q--; }
        kv[q] = v;
        kx[q] = id;
    }
% if final:
    for (int q = 0; q < cnt; q++) {
        ${dst.store("vo", "ob + q * osd", dst.cast_from("kv[q]", key))};
        io[ob + q * osd] = kx[q];
    }
% else:
    for (int q = 0; q < kk; q++) {
        vo[g * kk + q] = q < cnt ? kv[q] : (${key.cc})0;
        io[g * kk + q] = q < cnt ? kx[q] : -1;
    }
% endif
}
</%def>
