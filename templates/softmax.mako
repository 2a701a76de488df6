## Fused softmax / log_softmax kernel, see cltensor/_softmax.py.
## out = softmax / log_softmax of `in` along one dim (length L, strides isd / osd), three passes over each
## row (max, sum of exp, write) with the row still in cache. Batch dims: rank R (bsh, bis, bos).
##   mode 'rows':  one work-item per row; 16-wide vector loads/stores when the row is contiguous (isd == osd == 1)
##   mode 'lanes': a work-item owns 16 rows that are consecutive along the innermost batch dim and walks the
##                 softmax dim once per pass, with 16-wide vectors across the rows when that dim is contiguous.
<%namespace name="c" file="common.mako"/>
## the combine / vector-load helpers of the reduction kernels
<%namespace name="red" file="reduce.mako"/>

<%def name="softmax(src, acc, log, mode, R, idx)">
<%
    comb, loadv, lanes = red.attr.comb, red.attr.loadv, red.attr.lanes
    A = acc.cc
    V = A + "16"
    def ld(off):
        return acc.cast_from(src.load("in", off), src)
    def st(off, val):
        return src.store("out", off, src.cast_from(val, acc))
    def ldv(off):
        return loadv(src, acc, 16, "in", off)
    def stv(off, val):
        if src.half:
            return "vstore_half16_rte(%s, 0, out + %s)" % (val, off)
        if src.bf16:
            return src.vstore_bf16("out", off, val, 16)
        v = val if src.cc == A else "convert_%s16(%s)" % (src.ct, val)
        return "vstore16(%s, 0, out + %s)" % (v, off)
    def res(x, m, s):
        return ("(%s - %s - log(%s))" % (x, m, s)) if log else ("exp(%s - %s) / %s" % (x, m, s))
%>
${c.preamble((src, acc))}
__kernel void k(__global const ${src.ct}* restrict in, const ${idx} in_off, __global ${src.ct}* restrict out,
                const ${idx} NW, const ${idx} L, const ${idx} isd, const ${idx} osd, const ${idx} NLG
% for d in range(R):
                , const ${idx} bsh${d}, const ${idx} bis${d}, const ${idx} bos${d}
% endfor
                )
{
    const ${idx} g = get_global_id(0);
    if (g >= NW) return;
% if mode == "rows":
    ${idx} ib = in_off, ob = 0;
    {
        ${idx} t_ = g;
% for d in range(R - 1, 0, -1):
        { const ${idx} cd = t_ % bsh${d}; t_ /= bsh${d}; ib += cd * bis${d}; ob += cd * bos${d}; }
% endfor
        ib += t_ * bis0; ob += t_ * bos0;
    }
    ${A} m = -INFINITY, s = 0;
    if (isd == 1 && osd == 1) {
        ${V} v0 = (${V})(-INFINITY), v1 = v0;
        ${idx} i = 0;
        for (; i + 32 <= L; i += 32) {
            ${comb("max", "v0", ldv("ib + i"), acc, 16)}
            ${comb("max", "v1", ldv("ib + i + 16"), acc, 16)}
        }
        ${comb("max", "v0", "v1", acc, 16)}
% for l in lanes("v0", 16):
        ${comb("max", "m", l, acc, 1)}
% endfor
        for (; i < L; i++) { ${comb("max", "m", ld("ib + i"), acc, 1)} }
        ${V} s0 = (${V})(0), s1 = s0;
        for (i = 0; i + 32 <= L; i += 32) {
            s0 += exp(${ldv("ib + i")} - m);
            s1 += exp(${ldv("ib + i + 16")} - m);
        }
        s0 += s1;
% for l in lanes("s0", 16):
        s += ${l};
% endfor
        for (; i < L; i++) s += exp(${ld("ib + i")} - m);
% if not log:
        const ${A} inv = (${A})1 / s;
% endif
        for (i = 0; i + 16 <= L; i += 16) {
% if log:
            ${stv("ob + i", "%s - m - log(s)" % ldv("ib + i"))};
% else:
            ${stv("ob + i", "exp(%s - m) * inv" % ldv("ib + i"))};
% endif
        }
        for (; i < L; i++) { ${st("ob + i", res(ld("ib + i"), "m", "s"))}; }
    } else {
        for (${idx} i = 0; i < L; i++) { ${comb("max", "m", ld("ib + i * isd"), acc, 1)} }
        for (${idx} i = 0; i < L; i++) s += exp(${ld("ib + i * isd")} - m);
        for (${idx} i = 0; i < L; i++) { ${st("ob + i * osd", res(ld("ib + i * isd"), "m", "s"))}; }
    }
% else:
    const ${idx} bo = g / NLG;
    const ${idx} l0 = (g - bo * NLG) * 16;
    const int nl = (int)min((${idx})16, bsh${R - 1} - l0);
    ${idx} ib = in_off + l0 * bis${R - 1}, ob = l0 * bos${R - 1};
    {
        ${idx} t_ = bo;
% for d in range(R - 2, 0, -1):
        { const ${idx} cd = t_ % bsh${d}; t_ /= bsh${d}; ib += cd * bis${d}; ob += cd * bos${d}; }
% endfor
% if R > 1:
        ib += t_ * bis0; ob += t_ * bos0;
% endif
    }
    if (nl == 16 && bis${R - 1} == 1 && bos${R - 1} == 1) {
        ${V} m = (${V})(-INFINITY), s = (${V})(0);
        for (${idx} i = 0; i < L; i++) { ${comb("max", "m", ldv("ib + i * isd"), acc, 16)} }
        for (${idx} i = 0; i < L; i++) s += exp(${ldv("ib + i * isd")} - m);
% if log:
        const ${V} ls = log(s);
        for (${idx} i = 0; i < L; i++) { ${stv("ob + i * osd", "%s - m - ls" % ldv("ib + i * isd"))}; }
% else:
        const ${V} inv = (${V})(1) / s;
        for (${idx} i = 0; i < L; i++) { ${stv("ob + i * osd", "exp(%s - m) * inv" % ldv("ib + i * isd"))}; }
% endif
    } else {
        for (int q = 0; q < nl; q++) {
            const ${idx} iq = ib + q * bis${R - 1}, oq = ob + q * bos${R - 1};
            ${A} m = -INFINITY, s = 0;
            for (${idx} i = 0; i < L; i++) { ${comb("max", "m", ld("iq + i * isd"), acc, 1)} }
            for (${idx} i = 0; i < L; i++) s += exp(${ld("iq + i * isd")} - m);
            for (${idx} i = 0; i < L; i++) { ${st("oq + i * osd", res(ld("iq + i * isd"), "m", "s"))}; }
        }
    }
% endif
}
</%def>
