## Pooling kernels (cltensor/nn/_pool.py): max / average / adaptive average pooling, forward and backward
## (backward kernels gather per input element: deterministic, no atomics).
## Launch convention: 1-D global size rounded up to the runtime's fixed local size; every kernel guards its index.
## `t` is the tensor dtype helper, `acc` the accumulation dtype helper, `idx` the index type ("int" or "long").
<%namespace name="c" file="common.mako"/>

## ---------------------------------------------------------------------------------------------- pooling
## x: (N, C, H, W) strided; out/ind: (N, C, OH, OW) contiguous; ind = ih * W + iw of the max (NaN wins; the
## first one among equal maxima). Floating and integer dtypes.
<%def name="maxpool_fwd(t, idx, with_ind)">
${c.preamble((t,))}
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sh, const ${idx} sw, __global ${t.ct}* restrict out, __global long* restrict ind,
                const int C, const int H, const int W, const int KH, const int KW, const int OH, const int OW,
                const int strh, const int strw, const int padh, const int padw, const int dilh, const int dilw,
                const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    const int ow = (int)(r % OW); r /= OW;
    const int oh = (int)(r % OH); r /= OH;
    const int cc = (int)(r % C);
    const ${idx} n = r / C;
    const ${idx} base = xoff + n * sn + cc * sc;
    ${t.cc} best = ${t.zero()};      /* replaced by the window's first element */
    long bi = -1;
    const int h0 = oh * strh - padh, w0 = ow * strw - padw;
    for (int kh = 0; kh < KH; kh++) {
        const int ih = h0 + kh * dilh;
        if (ih < 0 || ih >= H) continue;
        for (int kw = 0; kw < KW; kw++) {
            const int iw = w0 + kw * dilw;
            if (iw < 0 || iw >= W) continue;
            const ${t.cc} v = ${t.load("x", "base + ih * sh + iw * sw")};
            if (bi < 0 || v > best${' || isnan(v)' if t.isfloat else ''}) { best = v; bi = (long)ih * W + iw; }
        }
    }
    ${t.store("out", "g", "best")};
% if with_ind:
    ind[g] = bi;
% endif
}
</%def>

## gout, ind: (N, C, OH, OW) contiguous -> dx: (N, C, H, W) contiguous.
## Row variants: one work-item per output row (forward) or input row (backward), so the index decomposition
## (integer divisions, which PoCL's vectorised work-item loops pay dearly: 10-30 ns per element with per-element
## decomposition) is paid once per row.
<%def name="maxpool_fwd_rows(t, idx, with_ind)">
${c.preamble((t,))}
## rpw consecutive output rows per work-item (plane and row advanced incrementally): a row of a small image is
## too little work for a work-item on CPU devices
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sh, const ${idx} sw, __global ${t.ct}* restrict out, __global long* restrict ind,
                const int C, const int H, const int W, const int KH, const int KW, const int OH, const int OW,
                const int strh, const int strw, const int padh, const int padw, const int dilh, const int dilw,
                const ${idx} nrows, const int rpw)
{
    const ${idx} g0 = (${idx})get_global_id(0) * rpw;
    if (g0 >= nrows) return;
    const ${idx} gend = min(g0 + rpw, nrows);
    const ${idx} pl0 = g0 / OH;
    int oh = (int)(g0 - pl0 * OH);
    ${idx} n = pl0 / C;
    int cc = (int)(pl0 - n * C);
    for (${idx} g = g0; g < gend; g++) {
        const ${idx} base = xoff + n * sn + cc * sc;
        const int h0 = oh * strh - padh;
        const ${idx} ob = g * OW;
        for (int ow = 0; ow < OW; ow++) {
            ${t.cc} best = ${t.zero()};      /* replaced by the window's first element */
            long bi = -1;
            const int w0 = ow * strw - padw;
            /* branch-free (clamped loads, selects): conditional updates in these loops ran 2-3x slower on PoCL */
            for (int kh = 0; kh < KH; kh++) {
                const int ih = h0 + kh * dilh;
                const int okh = (ih >= 0) & (ih < H);
                const int ihc = clamp(ih, 0, H - 1);
                for (int kw = 0; kw < KW; kw++) {
                    const int iw = w0 + kw * dilw;
                    const int iwc = clamp(iw, 0, W - 1);
                    const ${t.cc} v = ${t.load("x", "base + ihc * sh + iwc * sw")};
                    const int take = okh & (iw >= 0) & (iw < W) & ((bi < 0) | (v > best)${' | isnan(v)' if t.isfloat else ''});
                    best = take ? v : best;
                    bi = take ? (long)ih * W + iw : bi;
                }
            }
            ${t.store("out", "ob + ow", "best")};
% if with_ind:
            ind[ob + ow] = bi;
% endif
        }
        if (++oh == OH) { oh = 0; if (++cc == C) { cc = 0; n++; } }
    }
}
</%def>

## 2x2 windows, stride 2, no padding, dilation 1, unit column stride, 2 * OH <= H and 2 * OW <= W (float32 /
## float64): VW outputs per step from two vector loads of 2 * VW inputs per input row (even / odd lanes);
## rpw output rows per work-item. Same selection rule as maxpool_fwd_rows (NaN wins, the last NaN of the window;
## the first of equal maxima).
<%def name="maxpool2x2_fwd(t, idx, vw)">
${c.preamble((t,))}
<%
    T = t.cc
    V = T + str(vw)
    V2 = T + str(2 * vw)
    IV = ("long" if T == "double" else "int") + str(vw)
%>
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sh, __global ${t.ct}* restrict out, __global long* restrict ind,
                const int C, const int W, const int OH, const int OW, const ${idx} nrows, const int rpw)
{
    const ${idx} g0 = (${idx})get_global_id(0) * rpw;
    if (g0 >= nrows) return;
    const ${idx} gend = min(g0 + rpw, nrows);
    const ${idx} pl0 = g0 / OH;
    int oh = (int)(g0 - pl0 * OH);
    ${idx} n = pl0 / C;
    int cc = (int)(pl0 - n * C);
    const int OWV = OW - OW % ${vw};
    for (${idx} g = g0; g < gend; g++) {
        const ${idx} r0 = xoff + n * sn + cc * sc + (${idx})(2 * oh) * sh;
        const ${idx} r1 = r0 + sh;
        const ${idx} ob = g * OW;
        const long hb = (long)(2 * oh) * W;
        int ow = 0;
        for (; ow < OWV; ow += ${vw}) {
            const ${V2} u = vload${2 * vw}(0, x + r0 + 2 * ow);
            const ${V2} v = vload${2 * vw}(0, x + r1 + 2 * ow);
            ${V} best = u.even;
            ${IV} bi = (${IV})0;
            ${V} e = u.odd;
            ${IV} tk = isgreater(e, best) | isnan(e);
            best = select(best, e, tk); bi = select(bi, (${IV})1, tk);
            e = v.even;
            tk = isgreater(e, best) | isnan(e);
            best = select(best, e, tk); bi = select(bi, (${IV})2, tk);
            e = v.odd;
            tk = isgreater(e, best) | isnan(e);
            best = select(best, e, tk); bi = select(bi, (${IV})3, tk);
            vstore${vw}(best, 0, out + ob + ow);
% if T == "double":
            const long${vw} lb = bi;
% else:
            const long${vw} lb = convert_long${vw}(bi);
% endif
            const long${vw} col = (long${vw})(hb + 2 * ow) + 2 * (long${vw})(${", ".join(str(i) for i in range(vw))});
            vstore${vw}(col + (lb >> 1) * (long)W + (lb & 1), 0, ind + ob + ow);
        }
        for (; ow < OW; ow++) {
            ${T} best = x[r0 + 2 * ow];
            long bi = hb + 2 * ow;
            ${T} e = x[r0 + 2 * ow + 1];
            if (e > best || isnan(e)) { best = e; bi = hb + 2 * ow + 1; }
            e = x[r1 + 2 * ow];
            if (e > best || isnan(e)) { best = e; bi = hb + W + 2 * ow; }
            e = x[r1 + 2 * ow + 1];
            if (e > best || isnan(e)) { best = e; bi = hb + W + 2 * ow + 1; }
            out[ob + ow] = best;
            ind[ob + ow] = bi;
        }
        if (++oh == OH) { oh = 0; if (++cc == C) { cc = 0; n++; } }
    }
}
</%def>

## Backward when windows do not overlap (stride >= kernel, dilation 1): each input element lies in at most one
## window, found incrementally along the row (no division per element); one work-item per input row.
<%def name="maxpool_bwd_rows(t, acc, idx)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict gout, __global const long* restrict ind,
                __global ${t.ct}* restrict dx, const int H, const int W, const int KH, const int KW, const int OH,
                const int OW, const int strh, const int strw, const int padh, const int padw, const ${idx} nrows,
                const int rpw)
{
    const ${idx} g0 = (${idx})get_global_id(0) * rpw;
    if (g0 >= nrows) return;
    const ${idx} gend = min(g0 + rpw, nrows);
    ${idx} pl = g0 / H;
    int h = (int)(g0 - pl * H);
    for (${idx} g = g0; g < gend; g++) {
        const int th = h + padh;
        const int oh = th / strh;
        const int kh = th - oh * strh;
        const ${idx} xb = g * W;
        if (kh >= KH || oh >= OH) {
            for (int w = 0; w < W; w++)
                ${t.store("dx", "xb + w", t.cast_from(acc.zero(), acc))};
        } else {
            const ${idx} ob = (pl * OH + oh) * OW;
            const long hb = (long)h * W;
            int ow = padw / strw, kw = padw - (padw / strw) * strw;
            for (int w = 0; w < W; w++) {      /* branch-free: clamped loads and a select (2x faster here) */
                const int oc = min(ow, OW - 1);
                const ${acc.cc} gv = ${acc.cast_from(t.load("gout", "ob + oc"), t)};
                const int hit = (kw < KW) & (ow < OW) & (ind[ob + oc] == hb + w);
                const ${acc.cc} s = hit ? gv : ${acc.zero()};
                ${t.store("dx", "xb + w", t.cast_from("s", acc))};
                kw++;
                const int wrap = kw == strw;
                kw = wrap ? 0 : kw;
                ow += wrap;
            }
        }
        if (++h == H) { h = 0; pl++; }
    }
}
</%def>

## Backward of maxpool2x2_fwd: one work-item per rpw output rows; each writes both input rows of its windows
## (VW windows per step: the index offsets within the window select the lanes, even and odd columns interleave
## into one store), the odd last column, and (last output row of a plane) the rows below the last window.
<%def name="maxpool2x2_bwd(t, idx, vw)">
${c.preamble((t,))}
<%
    T = t.cc
    V = T + str(vw)
    LV = "long" + str(vw)
    mask = ", ".join("%d" % (i // 2 + (vw if i % 2 else 0)) for i in range(2 * vw))
    MT = ("ulong" if T == "double" else "uint") + str(2 * vw)
    CM = "" if T == "double" else "convert_int%d" % vw
%>
__kernel void k(__global const ${t.ct}* restrict gout, __global const long* restrict ind,
                __global ${t.ct}* restrict dx, const int H, const int W, const int OH, const int OW,
                const ${idx} nrows, const int rpw)
{
    const ${idx} g0 = (${idx})get_global_id(0) * rpw;
    if (g0 >= nrows) return;
    const ${idx} gend = min(g0 + rpw, nrows);
    ${idx} pl = g0 / OH;
    int oh = (int)(g0 - pl * OH);
    const int OWV = OW - OW % ${vw};
    const ${LV} lane2 = 2 * (${LV})(${", ".join(str(i) for i in range(vw))});
    for (${idx} g = g0; g < gend; g++) {
        const ${idx} ob = g * OW;
        const ${idx} x0 = (pl * H + 2 * oh) * W;
        const ${idx} x1 = x0 + W;
        const long hb = (long)(2 * oh) * W;
        int ow = 0;
        for (; ow < OWV; ow += ${vw}) {
            const ${V} gv = vload${vw}(0, gout + ob + ow);
            const ${LV} d = vload${vw}(0, ind + ob + ow) - ((${LV})(hb + 2 * ow) + lane2);
            const ${V} z = (${V})0;
            const ${V} a = select(z, gv, ${CM}(d == 0));
            const ${V} b = select(z, gv, ${CM}(d == 1));
            const ${V} c = select(z, gv, ${CM}(d == (long)W));
            const ${V} e = select(z, gv, ${CM}(d == (long)W + 1));
            vstore${2 * vw}(shuffle2(a, b, (${MT})(${mask})), 0, dx + x0 + 2 * ow);
            vstore${2 * vw}(shuffle2(c, e, (${MT})(${mask})), 0, dx + x1 + 2 * ow);
        }
        for (; ow < OW; ow++) {
            const ${T} gv = gout[ob + ow];
            const long d = ind[ob + ow] - (hb + 2 * ow);
            dx[x0 + 2 * ow] = d == 0 ? gv : (${T})0;
            dx[x0 + 2 * ow + 1] = d == 1 ? gv : (${T})0;
            dx[x1 + 2 * ow] = d == W ? gv : (${T})0;
            dx[x1 + 2 * ow + 1] = d == W + 1 ? gv : (${T})0;
        }
        for (int w = 2 * OW; w < W; w++) { dx[x0 + w] = (${T})0; dx[x1 + w] = (${T})0; }
        if (oh == OH - 1) {
            for (${idx} i = x1 + W; i < (pl + 1) * H * W; i++) dx[i] = (${T})0;
        }
        if (++oh == OH) { oh = 0; pl++; }
    }
}
</%def>

<%def name="maxpool_bwd(t, acc, idx)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict gout, __global const long* restrict ind,
                __global ${t.ct}* restrict dx, const int H, const int W, const int KH, const int KW, const int OH,
                const int OW, const int strh, const int strw, const int padh, const int padw, const int dilh,
                const int dilw, const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    const int w = (int)(r % W); r /= W;
    const int h = (int)(r % H);
    const ${idx} p = r / H;
    const long me = (long)h * W + w;
    const ${idx} obase = p * OH * OW;
    ${acc.cc} s = 0;
    for (int kh = 0; kh < KH; kh++) {
        const int th = h + padh - kh * dilh;
        if (th < 0 || th % strh != 0) continue;
        const int oh = th / strh;
        if (oh >= OH) continue;
        for (int kw = 0; kw < KW; kw++) {
            const int tw = w + padw - kw * dilw;
            if (tw < 0 || tw % strw != 0) continue;
            const int ow = tw / strw;
            if (ow >= OW) continue;
            const ${idx} o = obase + (${idx})oh * OW + ow;
            if (ind[o] == me) s += ${acc.cast_from(t.load("gout", "o"), t)};
        }
    }
    ${t.store("dx", "g", t.cast_from("s", acc))};
}
</%def>

## PyTorch's avg_pool2d window: [hs, he) clipped to the padded input gives the pool size (count_include_pad),
## clipped to the input gives the summed range; divisor > 0 overrides.
<%def name="avg_window()">
    int hs = oh * strh - padh, ws = ow * strw - padw;
    int he = min(hs + KH, H + padh), we = min(ws + KW, W + padw);
    const int pool = (he - hs) * (we - ws);
    hs = max(hs, 0); ws = max(ws, 0); he = min(he, H); we = min(we, W);
    const int div = divisor > 0 ? divisor : (incl_pad ? pool : (he - hs) * (we - ws));
</%def>

<%def name="avgpool_fwd(t, acc, idx)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sh, const ${idx} sw, __global ${t.ct}* restrict out,
                const int C, const int H, const int W, const int KH, const int KW, const int OH, const int OW,
                const int strh, const int strw, const int padh, const int padw, const int incl_pad,
                const int divisor, const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    const int ow = (int)(r % OW); r /= OW;
    const int oh = (int)(r % OH); r /= OH;
    const int cc = (int)(r % C);
    const ${idx} n = r / C;
    const ${idx} base = xoff + n * sn + cc * sc;
    ${avg_window()}
    ${acc.cc} s = 0;
    for (int ih = hs; ih < he; ih++)
        for (int iw = ws; iw < we; iw++)
            s += ${acc.cast_from(t.load("x", "base + ih * sh + iw * sw"), t)};
    const ${acc.cc} res = (hs >= he || ws >= we) ? (${acc.cc})0 : s / (${acc.cc})div;
    ${t.store("out", "g", t.cast_from("res", acc))};
}
</%def>

<%def name="avgpool_bwd(t, acc, idx)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict gout, __global ${t.ct}* restrict dx,
                const int H, const int W, const int KH, const int KW, const int OH, const int OW,
                const int strh, const int strw, const int padh, const int padw, const int incl_pad,
                const int divisor, const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    const int w = (int)(r % W); r /= W;
    const int h = (int)(r % H);
    const ${idx} p = r / H;
    const ${idx} obase = p * OH * OW;
    ${acc.cc} s = 0;
    for (int kh = 0; kh < KH; kh++) {
        const int th = h + padh - kh;
        if (th < 0 || th % strh != 0) continue;
        const int oh = th / strh;
        if (oh >= OH) continue;
        for (int kw = 0; kw < KW; kw++) {
            const int tw = w + padw - kw;
            if (tw < 0 || tw % strw != 0) continue;
            const int ow = tw / strw;
            if (ow >= OW) continue;
            ${avg_window()}
            s += ${acc.cast_from(t.load("gout", "obase + (" + idx + ")oh * OW + ow"), t)} / (${acc.cc})div;
        }
    }
    ${t.store("dx", "g", t.cast_from("s", acc))};
}
</%def>

## adaptive average pooling: output o covers [floor(o*H/OH), ceil((o+1)*H/OH)).
<%def name="adaptive_avg_fwd(t, acc, idx)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sh, const ${idx} sw, __global ${t.ct}* restrict out,
                const int C, const int H, const int W, const int OH, const int OW, const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    const int ow = (int)(r % OW); r /= OW;
    const int oh = (int)(r % OH); r /= OH;
    const int cc = (int)(r % C);
    const ${idx} n = r / C;
    const ${idx} base = xoff + n * sn + cc * sc;
    const int hs = (int)(((long)oh * H) / OH), he = (int)((((long)oh + 1) * H + OH - 1) / OH);
    const int ws = (int)(((long)ow * W) / OW), we = (int)((((long)ow + 1) * W + OW - 1) / OW);
    ${acc.cc} s = 0;
    for (int ih = hs; ih < he; ih++)
        for (int iw = ws; iw < we; iw++)
            s += ${acc.cast_from(t.load("x", "base + ih * sh + iw * sw"), t)};
    const ${acc.cc} res = s / (${acc.cc})((he - hs) * (we - ws));
    ${t.store("out", "g", t.cast_from("res", acc))};
}
</%def>

<%def name="adaptive_avg_bwd(t, acc, idx)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict gout, __global ${t.ct}* restrict dx,
                const int H, const int W, const int OH, const int OW, const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    const int w = (int)(r % W); r /= W;
    const int h = (int)(r % H);
    const ${idx} p = r / H;
    const ${idx} obase = p * OH * OW;
    const int oh0 = (int)(((long)h * OH) / H), oh1 = min((int)((((long)h + 1) * OH) / H), OH - 1);
    const int ow0 = (int)(((long)w * OW) / W), ow1 = min((int)((((long)w + 1) * OW) / W), OW - 1);
    ${acc.cc} s = 0;
    for (int oh = oh0; oh <= oh1; oh++) {
        const int hs = (int)(((long)oh * H) / OH), he = (int)((((long)oh + 1) * H + OH - 1) / OH);
        if (h < hs || h >= he) continue;
        for (int ow = ow0; ow <= ow1; ow++) {
            const int ws = (int)(((long)ow * W) / OW), we = (int)((((long)ow + 1) * W + OW - 1) / OW);
            if (w < ws || w >= we) continue;
            s += ${acc.cast_from(t.load("gout", "obase + (" + idx + ")oh * OW + ow"), t)} /
                 (${acc.cc})((he - hs) * (we - ws));
        }
    }
    ${t.store("dx", "g", t.cast_from("s", acc))};
}
</%def>

## ---------------------------------------------------------------------------------------------- rank 3
## Spatial rank 3 forms (max_pool3d, avg_pool3d, adaptive pooling of every rank: 1-d and 2-d problems run them
## with unit leading dims). x: (N, C, D, H, W) strided; out / ind: (N, C, OD, OH, OW) contiguous.
## mode: "max" (dilated windows, padding; ind = flat d*H*W + h*W + w of the max, NaN wins, the first among equal
## maxima), "avg" (PyTorch's avg_pool3d window and divisor), "amax" / "aavg" (adaptive: output o covers
## [floor(o*I/O), ceil((o+1)*I/O)) in each dim).
<%def name="pool3_fwd(t, acc, idx, mode)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sd, const ${idx} sh, const ${idx} sw, __global ${t.ct}* restrict out,
                __global long* restrict ind, const int C, const int D, const int H, const int W,
                const int KD, const int KH, const int KW, const int OD, const int OH, const int OW,
                const int strd, const int strh, const int strw, const int padd, const int padh, const int padw,
                const int dild, const int dilh, const int dilw, const int incl_pad, const int divisor,
                const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    const int ow = (int)(r % OW); r /= OW;
    const int oh = (int)(r % OH); r /= OH;
    const int od = (int)(r % OD); r /= OD;
    const int cc = (int)(r % C);
    const ${idx} n = r / C;
    const ${idx} base = xoff + n * sn + cc * sc;
% if mode in ("amax", "aavg"):
    const int ds = (int)(((long)od * D) / OD), de = (int)((((long)od + 1) * D + OD - 1) / OD);
    const int hs = (int)(((long)oh * H) / OH), he = (int)((((long)oh + 1) * H + OH - 1) / OH);
    const int ws = (int)(((long)ow * W) / OW), we = (int)((((long)ow + 1) * W + OW - 1) / OW);
% endif
% if mode == "max":
    ${t.cc} best = ${t.zero()};
    long bi = -1;
    const int d0 = od * strd - padd, h0 = oh * strh - padh, w0 = ow * strw - padw;
    for (int kd = 0; kd < KD; kd++) {
        const int id = d0 + kd * dild;
        if (id < 0 || id >= D) continue;
        for (int kh = 0; kh < KH; kh++) {
            const int ih = h0 + kh * dilh;
            if (ih < 0 || ih >= H) continue;
            for (int kw = 0; kw < KW; kw++) {
                const int iw = w0 + kw * dilw;
                if (iw < 0 || iw >= W) continue;
                const ${t.cc} v = ${t.load("x", "base + id * sd + ih * sh + iw * sw")};
                if (bi < 0 || v > best${' || isnan(v)' if t.isfloat else ''}) {
                    best = v; bi = ((long)id * H + ih) * W + iw;
                }
            }
        }
    }
    ${t.store("out", "g", "best")};
    ind[g] = bi;
% elif mode == "amax":
    ${t.cc} best = ${t.zero()};
    long bi = -1;
    for (int id = ds; id < de; id++)
        for (int ih = hs; ih < he; ih++)
            for (int iw = ws; iw < we; iw++) {
                const ${t.cc} v = ${t.load("x", "base + id * sd + ih * sh + iw * sw")};
                if (bi < 0 || v > best${' || isnan(v)' if t.isfloat else ''}) {
                    best = v; bi = ((long)id * H + ih) * W + iw;
                }
            }
    ${t.store("out", "g", "best")};
    ind[g] = bi;
% else:
% if mode == "avg":
    ${avg3_window()}
% endif
    ${acc.cc} s = 0;
    for (int id = ds; id < de; id++)
        for (int ih = hs; ih < he; ih++)
            for (int iw = ws; iw < we; iw++)
                s += ${acc.cast_from(t.load("x", "base + id * sd + ih * sh + iw * sw"), t)};
% if mode == "avg":
    const ${acc.cc} res = (ds >= de || hs >= he || ws >= we) ? (${acc.cc})0 : s / (${acc.cc})div;
% else:
    const ${acc.cc} res = s / (${acc.cc})((de - ds) * (he - hs) * (we - ws));
% endif
    ${t.store("out", "g", t.cast_from("res", acc))};
% endif
}
</%def>

<%def name="avg3_window()">
    int ds = od * strd - padd, hs = oh * strh - padh, ws = ow * strw - padw;
    int de = min(ds + KD, D + padd), he = min(hs + KH, H + padh), we = min(ws + KW, W + padw);
    const int pool = (de - ds) * (he - hs) * (we - ws);
    ds = max(ds, 0); hs = max(hs, 0); ws = max(ws, 0); de = min(de, D); he = min(he, H); we = min(we, W);
    const int div = divisor > 0 ? divisor : (incl_pad ? pool : (de - ds) * (he - hs) * (we - ws));
</%def>

## gout (N, C, OD, OH, OW) contiguous -> dx (N, C, D, H, W) contiguous: one work-item per input element
## gathering the windows that cover it. mode: "avg" or "aavg".
<%def name="pool3_bwd(t, acc, idx, mode)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict gout, __global ${t.ct}* restrict dx,
                const int D, const int H, const int W, const int KD, const int KH, const int KW,
                const int OD, const int OH, const int OW, const int strd, const int strh, const int strw,
                const int padd, const int padh, const int padw, const int incl_pad, const int divisor,
                const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    const int w = (int)(r % W); r /= W;
    const int h = (int)(r % H); r /= H;
    const int d = (int)(r % D);
    const ${idx} p = r / D;
    const ${idx} obase = p * OD * OH * OW;
    ${acc.cc} s = 0;
% if mode == "avg":
    for (int kd = 0; kd < KD; kd++) {
        const int td = d + padd - kd;
        if (td < 0 || td % strd != 0) continue;
        const int od = td / strd;
        if (od >= OD) continue;
        for (int kh = 0; kh < KH; kh++) {
            const int th = h + padh - kh;
            if (th < 0 || th % strh != 0) continue;
            const int oh = th / strh;
            if (oh >= OH) continue;
            for (int kw = 0; kw < KW; kw++) {
                const int tw = w + padw - kw;
                if (tw < 0 || tw % strw != 0) continue;
                const int ow = tw / strw;
                if (ow >= OW) continue;
                ${avg3_window()}
                s += ${acc.cast_from(t.load("gout", "obase + ((" + idx + ")od * OH + oh) * OW + ow"), t)} / (${acc.cc})div;
            }
        }
    }
% else:
    /* outputs whose adaptive window [floor(o*I/O), ceil((o+1)*I/O)) holds i: o in [floor(i*O/I) - 1, ceil((i+1)*O/I)] */
    const int od0 = max(0, (int)(((long)d * OD) / D) - 1), od1 = min(OD, (int)((((long)d + 1) * OD + D - 1) / D) + 1);
    const int oh0 = max(0, (int)(((long)h * OH) / H) - 1), oh1 = min(OH, (int)((((long)h + 1) * OH + H - 1) / H) + 1);
    const int ow0 = max(0, (int)(((long)w * OW) / W) - 1), ow1 = min(OW, (int)((((long)w + 1) * OW + W - 1) / W) + 1);
    for (int od = od0; od < od1; od++) {
        const int ds = (int)(((long)od * D) / OD), de = (int)((((long)od + 1) * D + OD - 1) / OD);
        if (d < ds || d >= de) continue;
        for (int oh = oh0; oh < oh1; oh++) {
            const int hs = (int)(((long)oh * H) / OH), he = (int)((((long)oh + 1) * H + OH - 1) / OH);
            if (h < hs || h >= he) continue;
            for (int ow = ow0; ow < ow1; ow++) {
                const int ws = (int)(((long)ow * W) / OW), we = (int)((((long)ow + 1) * W + OW - 1) / OW);
                if (w < ws || w >= we) continue;
                s += ${acc.cast_from(t.load("gout", "obase + ((" + idx + ")od * OH + oh) * OW + ow"), t)} /
                     (${acc.cc})((de - ds) * (he - hs) * (we - ws));
            }
        }
    }
% endif
    ${t.store("dx", "g", t.cast_from("s", acc))};
}
</%def>

## Fractional max pooling (PyTorch's FractionalMaxPool2d/3d.cpp): the window of output o along a dim starts at
## (int)((o + u) * alpha) - (int)(u * alpha), alpha = (I - K) / (O - 1), the last one at I - K, with u the
## plane's sample for that dim. x: (N, C, D, H, W) strided; u: samples with element strides (usn, usc) and the
## sample positions ud / uh / uw of each dim; out / ind: (N, C, OD, OH, OW) contiguous.
<%def name="fracmax3_fwd(t, idx)">
${c.preamble((t,))}
<% S = "double" if t.name == "float64" else "float" %>
int frac_start(const ${S} u, const int I, const int O, const int K, const int o)
{
    if (o == O - 1) return I - K;
    const ${S} alpha = (${S})(I - K) / (${S})(O - 1);
    return (int)(((${S})o + u) * alpha) - (int)(u * alpha);
}

__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sd, const ${idx} sh, const ${idx} sw, __global const ${t.ct}* restrict u,
                const ${idx} uoff, const ${idx} usn, const ${idx} usc, const ${idx} usk, const int ud, const int uh,
                const int uw, __global ${t.ct}* restrict out, __global long* restrict ind, const int C, const int D,
                const int H, const int W, const int KD, const int KH, const int KW, const int OD, const int OH,
                const int OW, const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    const int ow = (int)(r % OW); r /= OW;
    const int oh = (int)(r % OH); r /= OH;
    const int od = (int)(r % OD); r /= OD;
    const int cc = (int)(r % C);
    const ${idx} n = r / C;
    const ${idx} ub = uoff + n * usn + cc * usc;
    const int d0 = frac_start((${S})${t.load("u", "ub + ud * usk")}, D, OD, KD, od);
    const int h0 = frac_start((${S})${t.load("u", "ub + uh * usk")}, H, OH, KH, oh);
    const int w0 = frac_start((${S})${t.load("u", "ub + uw * usk")}, W, OW, KW, ow);
    const ${idx} base = xoff + n * sn + cc * sc;
    ${t.cc} best = ${t.zero()};
    long bi = -1;
    for (int id = d0; id < d0 + KD; id++)
        for (int ih = h0; ih < h0 + KH; ih++)
            for (int iw = w0; iw < w0 + KW; iw++) {
                const ${t.cc} v = ${t.load("x", "base + id * sd + ih * sh + iw * sw")};
                if (bi < 0 || v > best || isnan(v)) { best = v; bi = ((long)id * H + ih) * W + iw; }
            }
    ${t.store("out", "g", "best")};
    ind[g] = bi;
}
</%def>
