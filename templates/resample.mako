## Resampling kernel (cltensor/nn/_resample.py): interpolate in every mode as a separable weighted gather.
## Each spatial dim has a table in CSR form: output o reads inputs ci[rp[o] .. rp[o+1]) with weights tw[...]
## (nearest: one tap; linear: two; cubic: four; area and antialiased filters: a window). The backward runs the same
## kernel with the transposed tables. Launch convention: 1-D global size rounded up to the runtime's fixed local
## size; every kernel guards its index.
<%namespace name="c" file="common.mako"/>

## x: (N, C, D, H, W) strided; out: (N, C, OD, OH, OW) contiguous. One work-item per output row (n, c, od, oh).
<%def name="resample3(t, acc, idx)">
${c.preamble((t, acc))}
<% A = acc.cc %>
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sd, const ${idx} sh, const ${idx} sw, __global ${t.ct}* restrict out,
                __global const int* restrict ti, __global const ${A}* restrict tw,
                const int rpd, const int cid, const int wod, const int rph, const int cih, const int woh,
                const int rpw, const int ciw, const int wow, const int C, const int OD, const int OH, const int OW,
                const ${idx} nrows)
{
    const ${idx} g = get_global_id(0);
    if (g >= nrows) return;
    ${idx} r = g;
    const int oh = (int)(r % OH); r /= OH;
    const int od = (int)(r % OD); r /= OD;
    const int cc = (int)(r % C);
    const ${idx} n = r / C;
    const ${idx} base = xoff + n * sn + cc * sc;
    const int dlo = ti[rpd + od], dhi = ti[rpd + od + 1];
    const int hlo = ti[rph + oh], hhi = ti[rph + oh + 1];
    const ${idx} ob = g * OW;
    for (int ow = 0; ow < OW; ow++) {
        const int wlo = ti[rpw + ow], whi = ti[rpw + ow + 1];
        ${A} s = 0;
        for (int a = dlo; a < dhi; a++) {
            const ${A} wd = tw[wod + a];
            const ${idx} pd = base + (${idx})ti[cid + a] * sd;
            for (int b = hlo; b < hhi; b++) {
                const ${idx} rowp = pd + (${idx})ti[cih + b] * sh;
                ${A} inner = 0;
                for (int q = wlo; q < whi; q++)
                    inner += tw[wow + q] * ${acc.cast_from(t.load("x", "rowp + (" + idx + ")ti[ciw + q] * sw"), t)};
                s += wd * tw[woh + b] * inner;
            }
        }
        ${t.store("out", "ob + ow", t.cast_from("s", acc))};
    }
}
</%def>

## A fixed number of taps per output in each dim (nearest 1, linear 2, cubic 4): dense tables ci / tw of O * T
## entries per dim; one work-item per output row (n, c, od, oh), the D / H taps hoisted out of the loop over the
## row's OW outputs.
<%def name="resample3_rows(t, acc, idx, td, th, tw_)">
${c.preamble((t, acc))}
<% A = acc.cc %>
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sd, const ${idx} sh, const ${idx} sw, __global ${t.ct}* restrict out,
                __global const int* restrict ti, __global const ${A}* restrict tw,
                const int cid, const int wod, const int cih, const int woh, const int ciw, const int wow,
                const int C, const int OD, const int OH, const int OW, const ${idx} nrows)
{
    const ${idx} g = get_global_id(0);
    if (g >= nrows) return;
    ${idx} r = g;
    const int oh = (int)(r % OH); r /= OH;
    const int od = (int)(r % OD); r /= OD;
    const int cc = (int)(r % C);
    const ${idx} n = r / C;
    const ${idx} base = xoff + n * sn + cc * sc;
% for a in range(td):
% for b in range(th):
    const ${idx} p${a}_${b} = base + (${idx})ti[cid + od * ${td} + ${a}] * sd + (${idx})ti[cih + oh * ${th} + ${b}] * sh;
    const ${A} w${a}_${b} = tw[wod + od * ${td} + ${a}] * tw[woh + oh * ${th} + ${b}];
% endfor
% endfor
    __global const int* restrict cw = ti + ciw;
    __global const ${A}* restrict ww = tw + wow;
    __global ${t.ct}* restrict o = out + g * OW;
    for (int ow = 0; ow < OW; ow++) {
% for q in range(tw_):
        const ${idx} xw${q} = (${idx})cw[ow * ${tw_} + ${q}] * sw;
        const ${A} v${q} = ww[ow * ${tw_} + ${q}];
% endfor
        ${A} s = 0;
% for a in range(td):
% for b in range(th):
        s += w${a}_${b} * (${" + ".join("v%d * %s" % (q, acc.cast_from(t.load("x", "p%d_%d + xw%d" % (a, b, q)), t)) for q in range(tw_))});
% endfor
% endfor
        ${t.store("o", "ow", t.cast_from("s", acc))};
    }
}
</%def>
