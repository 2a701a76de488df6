## Kernels of the copying shape ops (cltensor/_shape.py); most of those are strided copies through the
## elementwise engine, only what needs coordinates lives here.
<%namespace name="c" file="common.mako"/>

## tril / triu: out[..., r, c] = keep(r, c) ? x[..., r, c] : 0 with keep = (c - r <= k) for tril, (c - r >= k)
## for triu. Each work-item handles a chunk of `ch` columns of one row; the batch dims (collapsed, rank `rank`)
## are decomposed once per chunk. out and x may be the same storage (tril_): each element is read and written
## by the same work-item only.
<%def name="tri(dt, lower, rank, idx, ch)">
${c.preamble((dt,))}
__kernel void k(__global ${dt.ct}* out, const ${idx} o_off, __global const ${dt.ct}* x, const ${idx} x_off,
                const long diag, const ${idx} nwork, const ${idx} nch, const ${idx} rows, const ${idx} cols,
                const ${idx} o_sr, const ${idx} o_sc, const ${idx} x_sr, const ${idx} x_sc
% for d in range(rank):
                , const ${idx} sh${d}, const ${idx} o_s${d}, const ${idx} x_s${d}
% endfor
                )
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} b = g / nch;
    const ${idx} c0 = (g - b * nch) * ${ch};
    const ${idx} e = min(c0 + ${ch}, cols);
    const ${idx} rr = b % rows;
    b /= rows;
    ${idx} po = o_off + rr * o_sr + c0 * o_sc;
    ${idx} px = x_off + rr * x_sr + c0 * x_sc;
% for d in range(rank - 1, -1, -1):
    {
% if d > 0:
        const ${idx} cd = b % sh${d};
        b /= sh${d};
% else:
        const ${idx} cd = b;
% endif
        po += cd * o_s${d};
        px += cd * x_s${d};
    }
% endfor
    for (${idx} cc = c0; cc < e; cc++) {
        const long dlt = (long)cc - (long)rr;
% if lower:
        ${dt.cc} v = ${dt.zero()};
        if (dlt <= diag) v = ${dt.load("x", "px")};
% else:
        ${dt.cc} v = ${dt.zero()};
        if (dlt >= diag) v = ${dt.load("x", "px")};
% endif
        ${dt.store("out", "po", "v")};
        po += o_sc;
        px += x_sc;
    }
}
</%def>
