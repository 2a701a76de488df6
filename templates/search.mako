## Binary search: searchsorted / bucketize. One work-item per value; PyTorch's comparisons (NaN sorts last:
## `!(mid >= v)` moves right for the lower bound, `!(mid > v)` for the upper bound).
<%namespace name="c" file="common.mako"/>

## seq: B x M rows (row stride sstride, 0 when one sequence serves every value), vals: n values, N per row;
## sorter (sorted positions per row, int64) when `sorted_by` is set. Contiguous operands (the launcher copies).
<%def name="searchsorted(seq, val, out, right, sorted_by, idx)">
${c.preamble((seq, val))}
__kernel void k(__global const ${seq.ct}* restrict s, const ${idx} soff, const ${idx} sstride, const ${idx} M,
                __global const ${val.ct}* restrict v, const ${idx} voff, const ${idx} N,
                __global const long* restrict srt, const ${idx} toff,
                __global ${out.ct}* restrict out, const ${idx} n)
{
    const ${idx} i = get_global_id(0);
    if (i >= n) return;
    const ${idx} row = i / N;
    const ${idx} base = soff + row * sstride;
    const ${seq.cc} x = ${val.load("v", "voff + i")};
    ${idx} lo = 0, hi = M;
    while (lo < hi) {
        const ${idx} mid = lo + ((hi - lo) >> 1);
% if sorted_by:
        const ${seq.cc} m = ${seq.load("s", "base + (" + idx + ")srt[toff + row * sstride + mid]")};
% else:
        const ${seq.cc} m = ${seq.load("s", "base + mid")};
% endif
% if right:
        if (!(m > x)) lo = mid + 1; else hi = mid;
% else:
        if (!(m >= x)) lo = mid + 1; else hi = mid;
% endif
    }
    out[i] = (${out.ct})lo;
}
</%def>
