## Creation kernels: arange-style affine fills and linspace, computed in `cd` and stored as `out`.
<%namespace name="c" file="common.mako"/>

<%def name="affine(out, cd)">
${c.preamble((out, cd))}
__kernel void k(__global ${out.ct}* restrict out, const long n, const ${cd.cc} start, const ${cd.cc} step)
{
    const long i = get_global_id(0);
    if (i >= n) return;
    const ${cd.cc} v = start + (${cd.cc})i * step;
    ${out.store("out", "i", out.cast_from("v", cd))};
}
</%def>

## PyTorch's linspace: the first half steps up from start, the second half steps down from end.
<%def name="linspace(out, cd)">
${c.preamble((out, cd))}
__kernel void k(__global ${out.ct}* restrict out, const long n, const ${cd.cc} start, const ${cd.cc} end,
                const ${cd.cc} step)
{
    const long i = get_global_id(0);
    if (i >= n) return;
    const long half_n = n / 2;
    const ${cd.cc} v = (i < half_n) ? start + step * (${cd.cc})i : end - step * (${cd.cc})(n - i - 1);
    ${out.store("out", "i", out.cast_from("v", cd))};
}
</%def>
