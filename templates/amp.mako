## Mixed precision (cltensor/amp/_grad_scaler.py): GradScaler's unscale step.
<%namespace name="c" file="common.mako"/>

## Multiply a contiguous gradient by inv_scale in place and raise found[0] to 1 where a value is inf or NaN (the
## check reads the value before scaling, as PyTorch's _amp_foreach_non_finite_check_and_unscale_). 8 elements per
## work-item; every writer of `found` stores the same 1, so the race is benign.
<%def name="unscale_check(t, idx)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global ${t.ct}* restrict g, const ${idx} off, const ${idx} n, const ${F} inv_scale,
                __global float* restrict found)
{
    const ${idx} base = (${idx})get_global_id(0) * 8;
    if (base >= n) return;
    const ${idx} e = min(base + 8, n);
    int bad = 0;
    for (${idx} i = base; i < e; i++) {
        const ${F} v = ${t.load("g", "off + i")};
        bad |= !isfinite(v);
        ${t.store("g", "off + i", "(" + t.cc + ")(v * inv_scale)")};
    }
    if (bad)
        found[0] = 1.0f;
}
</%def>
