## Embedding kernels (cltensor/nn/_embedding.py): row gather forward, deterministic per-column backward.
## Launch convention: 1-D global size rounded up to the runtime's fixed local size; every kernel guards its index.
## `t` is the tensor dtype helper, `acc` the accumulation dtype helper, `idx` the index type ("int" or "long").
<%namespace name="c" file="common.mako"/>

## ---------------------------------------------------------------------------------------------- embedding
## out[i, :] = weight[ind[i], :] (weight rows of D elements, row stride wrs, column stride wcs)
<%def name="emb_fwd(t, idx)">
${c.preamble((t,))}
__kernel void k(__global const ${t.ct}* restrict wt, const ${idx} woff, const ${idx} wrs, const ${idx} wcs,
                __global const long* restrict ind, __global ${t.ct}* restrict out, __global long* restrict err,
                const long V, const ${idx} D, const ${idx} n)
{
    const ${idx} i = get_global_id(0);
    if (i >= n) return;
    const long r = ind[i];
    if (r < 0 || r >= V) {
        err[0] = 1; err[1] = r;
        for (${idx} j = 0; j < D; j++) { ${t.store("out", "i * D + j", "(" + t.cc + ")0")}; }
        return;
    }
    const ${idx} b = woff + (${idx})r * wrs;
    for (${idx} j = 0; j < D; j++) { ${t.store("out", "i * D + j", t.load("wt", "b + j * wcs"))}; }
}
</%def>

## one work-item per column j walks the indices in order (deterministic, no atomics): gw[ind[i], j] += g[i, j]
<%def name="emb_bwd(t, acc, idx)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict g, __global const long* restrict ind, __global ${t.ct}* restrict gw,
                const long V, const ${idx} D, const ${idx} n, const long pad)
{
    const ${idx} j = get_global_id(0);
    if (j >= D) return;
    for (${idx} i = 0; i < n; i++) {
        const long r = ind[i];
        if (r < 0 || r >= V || r == pad) continue;
        const ${idx} q = (${idx})r * D + j;
        const ${acc.cc} v = ${acc.cast_from(t.load("gw", "q"), t)} + ${acc.cast_from(t.load("g", "i * D + j"), t)};
        ${t.store("gw", "q", t.cast_from("v", acc))};
    }
}
</%def>
