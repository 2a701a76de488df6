## Neural-network kernels: im2col/col2im for convolutions (the products run on the GEMM of gemm.mako), pooling
## forward and backward (backward kernels gather per input element: deterministic, no atomics), batch/layer
## normalisation, fused cross-entropy / NLL losses, embedding, and the fused optimizer steps.
## Launch convention: 1-D global size rounded up to the runtime's fixed local size; every kernel guards its index.
## `t` is the tensor dtype helper (storage type t.ct, compute type t.cc, loads/stores through t.load/t.store),
## `acc` the accumulation dtype helper, `idx` the index type ("int" or "long").
<%namespace name="c" file="common.mako"/>

## ---------------------------------------------------------------------------------------------- convolution
## x: (N, C, H, W) with element strides (sn, sc, sh, sw); col: (C*KH*KW, N*OH*OW) contiguous.
## One work-item per (c, kh, kw, n, oh): a row segment of OW outputs.
<%def name="im2col(t, idx)">
${c.preamble((t,))}
## one work-item per (c, kh, kw, n): all OH rows of that patch plane, so the index decomposition (integer divisions,
## costly in PoCL's vectorised work-item loops) is paid once per OH * OW outputs instead of once per row
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sh, const ${idx} sw, __global ${t.ct}* restrict col,
                const int N, const int H, const int W, const int KH, const int KW, const int OH, const int OW,
                const int strh, const int strw, const int padh, const int padw, const int dilh, const int dilw,
                const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    const int n = (int)(r % N); r /= N;
    const int kw = (int)(r % KW); r /= KW;
    const int kh = (int)(r % KH); r /= KH;
    const ${idx} cc = r;
    /* iw = ow * strw - a is inside [0, W) for ow in [lo, hi) */
    const int a = padw - kw * dilw;
    const int lo = min(OW, a <= 0 ? 0 : (a + strw - 1) / strw);
    const int b = W + a;
    const int hi = max(lo, b <= 0 ? 0 : min(OW, (b + strw - 1) / strw));
    const ${idx} xs = (${idx})strw * sw;
    const ${idx} pb = xoff + n * sn + cc * sc - (${idx})a * sw;
    for (int oh = 0; oh < OH; oh++) {
        const int ih = oh * strh - padh + kh * dilh;
        const ${idx} o = (g * OH + oh) * OW;
        if (ih < 0 || ih >= H) {
            for (int ow = 0; ow < OW; ow++) { ${t.store("col", "o + ow", "(" + t.cc + ")0")}; }
            continue;
        }
        const ${idx} xb = pb + ih * sh;
        for (int ow = 0; ow < lo; ow++) { ${t.store("col", "o + ow", "(" + t.cc + ")0")}; }
        for (int ow = lo; ow < hi; ow++) { ${t.store("col", "o + ow", t.load("x", "xb + ow * xs"))}; }
        for (int ow = hi; ow < OW; ow++) { ${t.store("col", "o + ow", "(" + t.cc + ")0")}; }
    }
}
</%def>

## col: (C*KH*KW, N*OH*OW) contiguous -> dx: (N, C, H, W) contiguous, summing every column entry that
## im2col read from each input pixel. One work-item per (n, c, h, chunk of CW pixels of the row).
<%def name="col2im(t, acc, idx, unit_w, cw)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict col, __global ${t.ct}* restrict dx,
                const int N, const int C, const int H, const int W, const int KH, const int KW, const int OH,
                const int OW, const int strh, const int strw, const int padh, const int padw, const int dilh,
                const int dilw, const int nwc, const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    const int wc = (int)(r % nwc); r /= nwc;
    const int h = (int)(r % H); r /= H;
    const int cc = (int)(r % C);
    const int n = (int)(r / C);
    const int w0 = wc * ${cw}, w1 = min(w0 + ${cw}, W);
    const ${idx} np_ = (${idx})N * OH * OW;
    const ${idx} cbase = (${idx})n * OH * OW;
    ${acc.cc} s[${cw}];
    for (int q = 0; q < ${cw}; q++) s[q] = 0;
    for (int kh = 0; kh < KH; kh++) {
        const int th = h + padh - kh * dilh;
        if (th < 0 || th % strh != 0) continue;
        const int oh = th / strh;
        if (oh >= OH) continue;
        for (int kw = 0; kw < KW; kw++) {
            const ${idx} rb = (((${idx})cc * KH + kh) * KW + kw) * np_ + cbase + (${idx})oh * OW;
% if unit_w:
            const int off = padw - kw * dilw;      /* ow = w + off */
            const int lo = max(w0, -off), hi = min(w1, OW - off);
            for (int w = lo; w < hi; w++) s[w - w0] += ${acc.cast_from(t.load("col", "rb + w + off"), t)};
% else:
            for (int w = w0; w < w1; w++) {
                const int tw = w + padw - kw * dilw;
                if (tw < 0 || tw % strw != 0) continue;
                const int ow = tw / strw;
                if (ow >= OW) continue;
                s[w - w0] += ${acc.cast_from(t.load("col", "rb + ow"), t)};
            }
% endif
        }
    }
    const ${idx} ob = (((${idx})n * C + cc) * H + h) * W;
    for (int w = w0; w < w1; w++) { ${t.store("dx", "ob + w", t.cast_from("s[w - w0]", acc))}; }
}
</%def>

## ---------------------------------------------------------------------------------------------- pooling
## x: (N, C, H, W) strided; out/ind: (N, C, OH, OW) contiguous; ind = ih * W + iw of the max (NaN wins).
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
    ${t.cc} best = -INFINITY;
    long bi = -1;
    const int h0 = oh * strh - padh, w0 = ow * strw - padw;
    for (int kh = 0; kh < KH; kh++) {
        const int ih = h0 + kh * dilh;
        if (ih < 0 || ih >= H) continue;
        for (int kw = 0; kw < KW; kw++) {
            const int iw = w0 + kw * dilw;
            if (iw < 0 || iw >= W) continue;
            const ${t.cc} v = ${t.load("x", "base + ih * sh + iw * sw")};
            if (bi < 0 || v > best || isnan(v)) { best = v; bi = (long)ih * W + iw; }
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
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sh, const ${idx} sw, __global ${t.ct}* restrict out, __global long* restrict ind,
                const int C, const int H, const int W, const int KH, const int KW, const int OH, const int OW,
                const int strh, const int strw, const int padh, const int padw, const int dilh, const int dilw,
                const ${idx} nrows)
{
    const ${idx} g = get_global_id(0);
    if (g >= nrows) return;
    const ${idx} pl = g / OH;
    const int oh = (int)(g - pl * OH);
    const ${idx} n = pl / C;
    const int cc = (int)(pl - n * C);
    const ${idx} base = xoff + n * sn + cc * sc;
    const int h0 = oh * strh - padh;
    const ${idx} ob = g * OW;
    for (int ow = 0; ow < OW; ow++) {
        ${t.cc} best = -INFINITY;
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
                const int take = okh & (iw >= 0) & (iw < W) & ((bi < 0) | (v > best) | isnan(v));
                best = take ? v : best;
                bi = take ? (long)ih * W + iw : bi;
            }
        }
        ${t.store("out", "ob + ow", "best")};
% if with_ind:
        ind[ob + ow] = bi;
% endif
    }
}
</%def>

## Backward when windows do not overlap (stride >= kernel, dilation 1): each input element lies in at most one
## window, found incrementally along the row (no division per element); one work-item per input row.
<%def name="maxpool_bwd_rows(t, acc, idx)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict gout, __global const long* restrict ind,
                __global ${t.ct}* restrict dx, const int H, const int W, const int KH, const int KW, const int OH,
                const int OW, const int strh, const int strw, const int padh, const int padw, const ${idx} nrows)
{
    const ${idx} g = get_global_id(0);
    if (g >= nrows) return;
    const ${idx} pl = g / H;
    const int h = (int)(g - pl * H);
    const int th = h + padh;
    const int oh = th / strh;
    const int kh = th - oh * strh;
    const ${idx} xb = g * W;
    if (kh >= KH || oh >= OH) {
        for (int w = 0; w < W; w++)
            ${t.store("dx", "xb + w", t.cast_from(acc.zero(), acc))};
        return;
    }
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

## ---------------------------------------------------------------------------------------------- batch norm
## x (and g): (N, C, S) contiguous. Work-item (c, p) covers elements j in [p*L, min(p*L+L, M)) of channel c,
## M = N*S, j = n*S + s. mode "stats": part[3*(c*P+p) + 0..2] = count, mean, M2 (two passes over the chunk).
## mode "grad": part[2*(c*P+p) + 0..1] = sum g, sum g*(x-mean)*invstd.
<%def name="_chan_runs(idx, body)">
    {
    /* the range [j0, j1) of the (N, S) plane of channel cc as contiguous runs along S (no per-element branch) */
    ${idx} j = j0, n = j0 / S;
    ${idx} s = j0 - n * S;
    while (j < j1) {
        const ${idx} e = min(S - s, j1 - j);
        const ${idx} a0 = n * cs + cc * S + s;
        for (${idx} q = 0; q < e; q++) {
            const ${idx} a = a0 + q;
            ${body}
        }
        j += e;
        n++;
        s = 0;
    }
    }
</%def>
<%def name="chan_partial(t, acc, idx, mode)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict x, __global const ${t.ct}* restrict gr,
                __global const ${acc.ct}* restrict mean, __global const ${acc.ct}* restrict invstd,
                __global ${acc.ct}* restrict part, const int C, const ${idx} S, const ${idx} M, const ${idx} L,
                const int P)
{
    const int g = get_global_id(0);
    if (g >= C * P) return;
    const int cc = g / P, p = g - cc * P;
    const ${idx} j0 = (${idx})p * L;
    const ${idx} j1 = min(j0 + L, M);
    const ${idx} cs = (${idx})C * S;
% if mode == "stats":
    ${acc.cc} s1 = 0;
    ${_chan_runs(idx, "s1 += " + acc.cast_from(t.load("x", "a"), t) + ";")}
    const ${idx} cnt = j1 > j0 ? j1 - j0 : 0;
    const ${acc.cc} m = cnt > 0 ? s1 / (${acc.cc})cnt : 0;
    ${acc.cc} m2 = 0;
    ${_chan_runs(idx, "const %s d = %s - m; m2 += d * d;" % (acc.cc, acc.cast_from(t.load("x", "a"), t)))}
    part[3 * g] = (${acc.cc})cnt; part[3 * g + 1] = m; part[3 * g + 2] = m2;
% else:
    ${acc.cc} s1 = 0, s2 = 0;
    const ${acc.cc} mu = mean[cc], is = invstd[cc];
    ${_chan_runs(idx, "const %s gv = %s; s1 += gv; s2 += gv * (%s - mu) * is;" % (acc.cc, acc.cast_from(t.load("gr", "a"), t), acc.cast_from(t.load("x", "a"), t)))}
    part[2 * g] = s1; part[2 * g + 1] = s2;
% endif
}
</%def>

## Combine the P partials of each channel (Chan et al.); write mean / invstd and update the running stats
## (rm, rv in the parameter dtype `pt`) with factor `mom` when `upd`.
<%def name="bn_finalize(acc, pt, upd)">
${c.preamble((acc, pt))}
__kernel void k(__global const ${acc.ct}* restrict part, __global ${acc.ct}* restrict mean,
                __global ${acc.ct}* restrict invstd, __global ${pt.ct}* restrict rm, __global ${pt.ct}* restrict rv,
                const int C, const int P, const ${acc.cc} eps, const ${acc.cc} mom)
{
    const int cc = get_global_id(0);
    if (cc >= C) return;
    ${acc.cc} n = 0, mu = 0, m2 = 0;
    for (int p = 0; p < P; p++) {
        const ${acc.cc} nb = part[3 * (cc * P + p)];
        if (nb == 0) continue;
        const ${acc.cc} mb = part[3 * (cc * P + p) + 1], m2b = part[3 * (cc * P + p) + 2];
        const ${acc.cc} nn = n + nb;
        const ${acc.cc} d = mb - mu;
        mu += d * nb / nn;
        m2 += m2b + d * d * n * nb / nn;
        n = nn;
    }
    const ${acc.cc} var = m2 / n;
    mean[cc] = mu;
    invstd[cc] = 1 / sqrt(var + eps);
% if upd:
    const ${acc.cc} om = ${pt.load("rm", "cc")};
    const ${acc.cc} ov = ${pt.load("rv", "cc")};
    const ${acc.cc} nm = (1 - mom) * om + mom * mu;
    const ${acc.cc} nv = (1 - mom) * ov + mom * (m2 / (n - 1));
    ${pt.store("rm", "cc", pt.cast_from("nm", acc))};
    ${pt.store("rv", "cc", pt.cast_from("nv", acc))};
% endif
}
</%def>

## eval mode: mean / invstd from running stats
<%def name="bn_running(acc, pt)">
${c.preamble((acc, pt))}
__kernel void k(__global const ${pt.ct}* restrict rm, __global const ${pt.ct}* restrict rv,
                __global ${acc.ct}* restrict mean, __global ${acc.ct}* restrict invstd, const int C,
                const ${acc.cc} eps)
{
    const int cc = get_global_id(0);
    if (cc >= C) return;
    mean[cc] = ${acc.cast_from(pt.load("rm", "cc"), pt)};
    invstd[cc] = 1 / sqrt(${acc.cast_from(pt.load("rv", "cc"), pt)} + eps);
}
</%def>

## sum the grad partials per channel: sg[c], sgx[c] (acc type), plus optional copies in the parameter dtype
<%def name="bn_gsum(acc, pt, has_w)">
${c.preamble((acc, pt))}
__kernel void k(__global const ${acc.ct}* restrict part, __global ${acc.ct}* restrict sums,
                __global ${pt.ct}* restrict gw, __global ${pt.ct}* restrict gb, const int C, const int P)
{
    const int cc = get_global_id(0);
    if (cc >= C) return;
    ${acc.cc} a = 0, b = 0;
    for (int p = 0; p < P; p++) { a += part[2 * (cc * P + p)]; b += part[2 * (cc * P + p) + 1]; }
    sums[2 * cc] = a; sums[2 * cc + 1] = b;
% if has_w:
    ${pt.store("gb", "cc", pt.cast_from("a", acc))};
    ${pt.store("gw", "cc", pt.cast_from("b", acc))};
% endif
}
</%def>

## Per (n, c) row of S elements, chunks of CH: y = (x - mean[c]) * invstd[c] * w[c] + b[c]
<%def name="bn_apply(t, acc, pt, idx, affine, ch)">
${c.preamble((t, acc, pt))}
__kernel void k(__global const ${t.ct}* restrict x, __global ${t.ct}* restrict y,
                __global const ${acc.ct}* restrict mean, __global const ${acc.ct}* restrict invstd,
                __global const ${pt.ct}* restrict w, __global const ${pt.ct}* restrict b,
                const int C, const ${idx} S, const ${idx} nch, const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    const ${idx} row = g / nch;
    const ${idx} s0 = (g - row * nch) * ${ch};
    const ${idx} s1 = min(s0 + ${ch}, S);
    const int cc = (int)(row % C);
    ${acc.cc} sc = invstd[cc];
    ${acc.cc} sf = -mean[cc] * sc;
% if affine:
    const ${acc.cc} wv = ${acc.cast_from(pt.load("w", "cc"), pt)};
    sc *= wv;
    sf = sf * wv + ${acc.cast_from(pt.load("b", "cc"), pt)};
% endif
    const ${idx} base = row * S;
    for (${idx} s = s0; s < s1; s++) {
        const ${acc.cc} v = ${acc.cast_from(t.load("x", "base + s"), t)} * sc + sf;
        ${t.store("y", "base + s", t.cast_from("v", acc))};
    }
}
</%def>

## dx = w*invstd*(g - sg/M - xhat*sgx/M) (training) or w*invstd*g (eval, train=0)
<%def name="bn_bwd_apply(t, acc, pt, idx, affine, train, ch)">
${c.preamble((t, acc, pt))}
__kernel void k(__global const ${t.ct}* restrict x, __global const ${t.ct}* restrict gr,
                __global ${t.ct}* restrict dx, __global const ${acc.ct}* restrict mean,
                __global const ${acc.ct}* restrict invstd, __global const ${acc.ct}* restrict sums,
                __global const ${pt.ct}* restrict w, const int C, const ${idx} S, const ${idx} nch,
                const ${idx} nwork, const ${acc.cc} invm)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    const ${idx} row = g / nch;
    const ${idx} s0 = (g - row * nch) * ${ch};
    const ${idx} s1 = min(s0 + ${ch}, S);
    const int cc = (int)(row % C);
    const ${acc.cc} is = invstd[cc];
% if affine:
    const ${acc.cc} sc = is * ${acc.cast_from(pt.load("w", "cc"), pt)};
% else:
    const ${acc.cc} sc = is;
% endif
% if train:
    const ${acc.cc} mu = mean[cc];
    const ${acc.cc} mg = sums[2 * cc] * invm, mgx = sums[2 * cc + 1] * invm;
% endif
    const ${idx} base = row * S;
    for (${idx} s = s0; s < s1; s++) {
        const ${acc.cc} gv = ${acc.cast_from(t.load("gr", "base + s"), t)};
% if train:
        const ${acc.cc} xh = (${acc.cast_from(t.load("x", "base + s"), t)} - mu) * is;
        const ${acc.cc} v = sc * (gv - mg - xh * mgx);
% else:
        const ${acc.cc} v = sc * gv;
% endif
        ${t.store("dx", "base + s", t.cast_from("v", acc))};
    }
}
</%def>

## ---------------------------------------------------------------------------------------------- layer norm
## x: (R, D) contiguous; one work-item per row (three passes: mean, variance, output).
<%def name="ln_fwd(t, acc, pt, idx, has_w, has_b)">
${c.preamble((t, acc, pt))}
__kernel void k(__global const ${t.ct}* restrict x, __global ${t.ct}* restrict y,
                __global const ${pt.ct}* restrict w, __global const ${pt.ct}* restrict b,
                __global ${acc.ct}* restrict mean, __global ${acc.ct}* restrict rstd,
                const ${idx} R, const ${idx} D, const ${acc.cc} eps)
{
    const ${idx} r = get_global_id(0);
    if (r >= R) return;
    const ${idx} base = r * D;
    ${acc.cc} s = 0;
    for (${idx} j = 0; j < D; j++) s += ${acc.cast_from(t.load("x", "base + j"), t)};
    const ${acc.cc} mu = s / (${acc.cc})D;
    ${acc.cc} v = 0;
    for (${idx} j = 0; j < D; j++) { const ${acc.cc} d = ${acc.cast_from(t.load("x", "base + j"), t)} - mu; v += d * d; }
    const ${acc.cc} is = 1 / sqrt(v / (${acc.cc})D + eps);
    mean[r] = mu; rstd[r] = is;
    for (${idx} j = 0; j < D; j++) {
        ${acc.cc} o = (${acc.cast_from(t.load("x", "base + j"), t)} - mu) * is;
% if has_w:
        o *= ${acc.cast_from(pt.load("w", "j"), pt)};
% endif
% if has_b:
        o += ${acc.cast_from(pt.load("b", "j"), pt)};
% endif
        ${t.store("y", "base + j", t.cast_from("o", acc))};
    }
}
</%def>

<%def name="ln_bwd_x(t, acc, pt, idx, has_w)">
${c.preamble((t, acc, pt))}
__kernel void k(__global const ${t.ct}* restrict x, __global const ${t.ct}* restrict gr,
                __global ${t.ct}* restrict dx, __global const ${pt.ct}* restrict w,
                __global const ${acc.ct}* restrict mean, __global const ${acc.ct}* restrict rstd,
                const ${idx} R, const ${idx} D)
{
    const ${idx} r = get_global_id(0);
    if (r >= R) return;
    const ${idx} base = r * D;
    const ${acc.cc} mu = mean[r], is = rstd[r];
    ${acc.cc} a = 0, b = 0;
    for (${idx} j = 0; j < D; j++) {
        ${acc.cc} gv = ${acc.cast_from(t.load("gr", "base + j"), t)};
% if has_w:
        gv *= ${acc.cast_from(pt.load("w", "j"), pt)};
% endif
        a += gv;
        b += gv * (${acc.cast_from(t.load("x", "base + j"), t)} - mu) * is;
    }
    a /= (${acc.cc})D; b /= (${acc.cc})D;
    for (${idx} j = 0; j < D; j++) {
        ${acc.cc} gv = ${acc.cast_from(t.load("gr", "base + j"), t)};
% if has_w:
        gv *= ${acc.cast_from(pt.load("w", "j"), pt)};
% endif
        const ${acc.cc} xh = (${acc.cast_from(t.load("x", "base + j"), t)} - mu) * is;
        const ${acc.cc} o = is * (gv - a - xh * b);
        ${t.store("dx", "base + j", t.cast_from("o", acc))};
    }
}
</%def>

## one work-item per column j: gw[j] = sum_r g*xhat, gb[j] = sum_r g
<%def name="ln_bwd_wb(t, acc, pt, idx, has_w, has_b)">
${c.preamble((t, acc, pt))}
__kernel void k(__global const ${t.ct}* restrict x, __global const ${t.ct}* restrict gr,
                __global const ${acc.ct}* restrict mean, __global const ${acc.ct}* restrict rstd,
                __global ${pt.ct}* restrict gw, __global ${pt.ct}* restrict gb, const ${idx} R, const ${idx} D)
{
    const ${idx} j = get_global_id(0);
    if (j >= D) return;
    ${acc.cc} a = 0, b = 0;
    for (${idx} r = 0; r < R; r++) {
        const ${acc.cc} gv = ${acc.cast_from(t.load("gr", "r * D + j"), t)};
        b += gv;
        a += gv * (${acc.cast_from(t.load("x", "r * D + j"), t)} - mean[r]) * rstd[r];
    }
% if has_w:
    ${pt.store("gw", "j", pt.cast_from("a", acc))};
% endif
% if has_b:
    ${pt.store("gb", "j", pt.cast_from("b", acc))};
% endif
}
</%def>

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

## ---------------------------------------------------------------------------------------------- optimizers
## One launch per parameter, 8 elements per work-item; p, g and the state buffers are contiguous, with offsets.
<%def name="opt_head(t, idx)">
    const ${idx} base = (${idx})get_global_id(0) * 8;
    if (base >= n) return;
    const ${idx} e = min(base + 8, n);
    for (${idx} i = base; i < e; i++) {
</%def>

## SGD: g += wd*p; buf = first ? g : mom*buf + (1-damp)*g; g = nesterov ? g + mom*buf : buf; p -= lr*g
<%def name="sgd(t, idx, momentum, nesterov, maximize, wd)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global ${t.ct}* restrict p, const ${idx} po, __global const ${t.ct}* restrict gr, const ${idx} go,
                __global ${t.ct}* restrict buf, const ${idx} bo, const ${idx} n, const ${F} lr, const ${F} wdv,
                const ${F} mom, const ${F} damp, const int first)
{
${opt_head(t, idx)}
        const ${F} pv = ${t.load("p", "po + i")};
        ${F} gv = ${t.load("gr", "go + i")};
% if maximize:
        gv = -gv;
% endif
% if wd:
        gv += wdv * pv;
% endif
% if momentum:
        const ${F} bv = first ? gv : mom * (${F})${t.load("buf", "bo + i")} + (1 - damp) * gv;
        ${t.store("buf", "bo + i", "(" + t.cc + ")bv")};
% if nesterov:
        gv = gv + mom * bv;
% else:
        gv = bv;
% endif
% endif
        const ${F} np_ = pv - lr * gv;
        ${t.store("p", "po + i", "(" + t.cc + ")np_")};
    }
}
</%def>

## Adam / AdamW (decoupled) with optional amsgrad. step_size = lr / bc1, bc2s = sqrt(bc2).
<%def name="adam(t, idx, decoupled, amsgrad, maximize, wd)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global ${t.ct}* restrict p, const ${idx} po, __global const ${t.ct}* restrict gr, const ${idx} go,
                __global ${t.ct}* restrict m1, const ${idx} mo, __global ${t.ct}* restrict m2, const ${idx} vo,
                __global ${t.ct}* restrict vmax, const ${idx} xo, const ${idx} n, const ${F} lr,
                const ${F} beta1, const ${F} beta2, const ${F} eps, const ${F} wdv, const ${F} step_size,
                const ${F} bc2s)
{
${opt_head(t, idx)}
        ${F} pv = ${t.load("p", "po + i")};
        ${F} gv = ${t.load("gr", "go + i")};
% if maximize:
        gv = -gv;
% endif
% if wd and decoupled:
        pv *= 1 - lr * wdv;
% elif wd:
        gv += wdv * pv;
% endif
        const ${F} m0 = ${t.load("m1", "mo + i")};
        const ${F} mv = m0 + (1 - beta1) * (gv - m0);
        const ${F} vv = ${t.load("m2", "vo + i")} * beta2 + gv * gv * (1 - beta2);
        ${t.store("m1", "mo + i", "(" + t.cc + ")mv")};
        ${t.store("m2", "vo + i", "(" + t.cc + ")vv")};
% if amsgrad:
        const ${F} vm = fmax((${F})${t.load("vmax", "xo + i")}, vv);
        ${t.store("vmax", "xo + i", "(" + t.cc + ")vm")};
        const ${F} den = sqrt(vm) / bc2s + eps;
% else:
        const ${F} den = sqrt(vv) / bc2s + eps;
% endif
        pv -= step_size * mv / den;
        ${t.store("p", "po + i", "(" + t.cc + ")pv")};
    }
}
</%def>

## RMSprop (optionally centered, with momentum)
<%def name="rmsprop(t, idx, centered, momentum, maximize, wd)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global ${t.ct}* restrict p, const ${idx} po, __global const ${t.ct}* restrict gr, const ${idx} go,
                __global ${t.ct}* restrict sq, const ${idx} so, __global ${t.ct}* restrict ga, const ${idx} ao,
                __global ${t.ct}* restrict buf, const ${idx} bo, const ${idx} n, const ${F} lr,
                const ${F} alpha, const ${F} eps, const ${F} wdv, const ${F} mom)
{
${opt_head(t, idx)}
        ${F} pv = ${t.load("p", "po + i")};
        ${F} gv = ${t.load("gr", "go + i")};
% if maximize:
        gv = -gv;
% endif
% if wd:
        gv += wdv * pv;
% endif
        const ${F} sv = ${t.load("sq", "so + i")} * alpha + gv * gv * (1 - alpha);
        ${t.store("sq", "so + i", "(" + t.cc + ")sv")};
% if centered:
        const ${F} a0 = ${t.load("ga", "ao + i")};
        const ${F} av = a0 + (1 - alpha) * (gv - a0);
        ${t.store("ga", "ao + i", "(" + t.cc + ")av")};
        const ${F} den = sqrt(sv - av * av) + eps;
% else:
        const ${F} den = sqrt(sv) + eps;
% endif
% if momentum:
        const ${F} bv = ${t.load("buf", "bo + i")} * mom + gv / den;
        ${t.store("buf", "bo + i", "(" + t.cc + ")bv")};
        pv -= lr * bv;
% else:
        pv -= lr * gv / den;
% endif
        ${t.store("p", "po + i", "(" + t.cc + ")pv")};
    }
}
</%def>

## Adagrad: sum += g*g; p -= clr * g / (sqrt(sum) + eps)
<%def name="adagrad(t, idx, maximize, wd)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global ${t.ct}* restrict p, const ${idx} po, __global const ${t.ct}* restrict gr, const ${idx} go,
                __global ${t.ct}* restrict sm, const ${idx} so, const ${idx} n, const ${F} clr, const ${F} eps,
                const ${F} wdv)
{
${opt_head(t, idx)}
        ${F} pv = ${t.load("p", "po + i")};
        ${F} gv = ${t.load("gr", "go + i")};
% if maximize:
        gv = -gv;
% endif
% if wd:
        gv += wdv * pv;
% endif
        const ${F} sv = ${t.load("sm", "so + i")} + gv * gv;
        ${t.store("sm", "so + i", "(" + t.cc + ")sv")};
        pv -= clr * gv / (sqrt(sv) + eps);
        ${t.store("p", "po + i", "(" + t.cc + ")pv")};
    }
}
</%def>

## ---------------------------------------------------------------------------------------------- transpose
## out[b, j, i] = in[b, i, j] for a batch of R x S matrices (in contiguous, out contiguous); one work-item per
## TxT tile.
<%def name="transpose(t, idx, tile)">
${c.preamble((t,))}
__kernel void k(__global const ${t.ct}* restrict src, __global ${t.ct}* restrict dst, const int R, const int S,
                const int tr, const int ts, const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    const int bs = (int)(g % ts);
    ${idx} r = g / ts;
    const int br = (int)(r % tr);
    const ${idx} b = r / tr;
    const int i0 = br * ${tile}, j0 = bs * ${tile};
    const int i1 = min(i0 + ${tile}, R), j1 = min(j0 + ${tile}, S);
    const ${idx} base = b * R * S;
    for (int j = j0; j < j1; j++)
        for (int i = i0; i < i1; i++)
            ${t.store("dst", "base + (" + idx + ")j * R + i", t.load("src", "base + (" + idx + ")i * S + j"))};
}
</%def>

## ---------------------------------------------------------------------------------------------- init
## x holds uniform samples u in (2 cdf(a) - 1, 2 cdf(b) - 1); x = clamp(mean + std * sqrt(2) * erfinv(u), a, b).
## erfinv: Giles' single-precision approximation refined by two Newton steps on erf.
<%def name="trunc_normal(t, acc, idx)">
${c.preamble((t, acc))}
<% R = acc.cc %>
static inline ${R} erfinv_(${R} y) {
    if (fabs(y) >= 1) return copysign((${R})INFINITY, y);
    ${R} w = -log((1 - y) * (1 + y)), p;
    if (w < 5) {
        w -= (${R})2.5;
        p = (${R})2.81022636e-08;
        p = (${R})3.43273939e-07 + p * w; p = (${R})-3.5233877e-06 + p * w; p = (${R})-4.39150654e-06 + p * w;
        p = (${R})0.00021858087 + p * w; p = (${R})-0.00125372503 + p * w; p = (${R})-0.00417768164 + p * w;
        p = (${R})0.246640727 + p * w; p = (${R})1.50140941 + p * w;
    } else {
        w = sqrt(w) - 3;
        p = (${R})-0.000200214257;
        p = (${R})0.000100950558 + p * w; p = (${R})0.00134934322 + p * w; p = (${R})-0.00367342844 + p * w;
        p = (${R})0.00573950773 + p * w; p = (${R})-0.0076224613 + p * w; p = (${R})0.00943887047 + p * w;
        p = (${R})1.00167406 + p * w; p = (${R})2.83297682 + p * w;
    }
    ${R} x = p * y;
    for (int it = 0; it < 2; it++) x -= (erf(x) - y) / ((${R})1.1283791670955126 * exp(-x * x));
    return x;
}
__kernel void k(__global ${t.ct}* restrict x, const ${idx} n, const ${R} mean, const ${R} std_, const ${R} a,
                const ${R} b)
{
    const ${idx} i = get_global_id(0);
    if (i >= n) return;
    const ${R} u = ${acc.cast_from(t.load("x", "i"), t)};
    ${R} v = mean + std_ * (${R})1.4142135623730951 * erfinv_(u);
    v = fmin(fmax(v, a), b);
    ${t.store("x", "i", t.cast_from("v", acc))};
}
</%def>

## ---------------------------------------------------------------------------------------------- direct conv
## out[n, g*Og + o0 + t, oh, ow0 + j] for t < TO output channels and j < VW pixels of one output row, summing
## over (c, kh, kw) of the group: each step loads VW input pixels (one vector load when they are contiguous
## and inside the row) and TO weights (one vector load from wT: (G, Cg*KH*KW, Ogp) in the accumulation type,
## zero padded to Ogp = round_up(Og, TO)). x: (N, C, H, W) any strides; out: (N, O, OH, OW) contiguous.
<%def name="conv_direct(t, acc, idx, vw, to, has_bias, unit, kwc, hoist)">
${c.preamble((t, acc))}
<%
    A = acc.cc
    V = A + str(vw)
    TV = A + (str(to) if to > 1 else "")
    def wload(kw):
        if to == 1:
            return "wk[%s * Ogp]" % kw
        return "vload%d(0, wk + %s * Ogp)" % (to, kw)
    def vload_x(ptr_off):
        if t.half:
            return "vload_half%d(0, x + %s)" % (vw, ptr_off)
        if t.cc == A:
            return "vload%d(0, x + %s)" % (vw, ptr_off)
        return "convert_%s(vload%d(0, x + %s))" % (V, vw, ptr_off)
    KWX = str(kwc) if kwc else "KW"
%>
<%def name="taps(fast)">
% if to == 1:
                a0 = mad((${V})(wv), xv, a0);
% else:
% for q in range(to):
                a${q} = mad((${V})(wv.s${"%x" % q}), xv, a${q});
% endfor
% endif
</%def>
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sh, const ${idx} sw, __global const ${A}* restrict wT, __global const ${t.ct}* restrict bias,
                __global ${t.ct}* restrict out, const int Cg, const int H, const int W, const int KH, const int KW,
                const int OH, const int OW, const int strh, const int strw, const int padh, const int padw,
                const int dilh, const int dilw, const int G, const int Og, const int Ogp, const int nob,
                const int nwb, const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    const int wb = (int)(r % nwb); r /= nwb;
    const int oh = (int)(r % OH); r /= OH;
    const int ob = (int)(r % (G * nob));
    const ${idx} n = r / (G * nob);
    const int gi = ob / nob, o0 = (ob - gi * nob) * ${to};
    const int ow0 = wb * ${vw};
    const int KK = KH * ${KWX};
% for q in range(to):
    ${V} a${q} = (${V})0;
% endfor
    const ${idx} xb = xoff + n * sn + (${idx})gi * Cg * sc;
    __global const ${A}* wg = wT + (${idx})gi * Cg * KK * Ogp + o0;
% if unit and hoist:
    /* every tap of this row segment inside the input row: plain vector loads, no bounds checks */
    const int interior = (ow0 - padw >= 0) && (ow0 + ${vw} - 1 - padw + (${KWX} - 1) * dilw < W);
% endif
    for (int cc = 0; cc < Cg; cc++) {
        for (int kh = 0; kh < KH; kh++) {
            const int ih = oh * strh - padh + kh * dilh;
            if (ih < 0 || ih >= H) continue;
            const ${idx} rowp = xb + cc * sc + ih * sh;
            __global const ${A}* wk = wg + (${idx})((cc * KH + kh) * ${KWX}) * Ogp;
% if unit and hoist:
            if (interior) {
                const ${idx} rp = rowp + ow0 - padw;
% if kwc:
#pragma unroll
% endif
                for (int kw = 0; kw < ${KWX}; kw++) {
                    const ${V} xv = ${vload_x("rp + kw * dilw")};
                    const ${TV} wv = ${wload('kw')};
${taps(True)}
                }
                continue;
            }
% endif
            for (int kw = 0; kw < ${KWX}; kw++) {
                const int iw0 = ow0 * strw - padw + kw * dilw;
                ${V} xv;
% if unit:
                if (iw0 >= 0 && iw0 + ${vw} <= W) {
                    xv = ${vload_x("rowp + iw0")};
                } else
% endif
                {
                    ${A} tmp[${vw}];
                    for (int j = 0; j < ${vw}; j++) {
                        const int iw = iw0 + j * strw;
                        tmp[j] = (iw >= 0 && iw < W) ? ${acc.cast_from(t.load("x", "rowp + iw * sw"), t)} : (${A})0;
                    }
                    xv = vload${vw}(0, tmp);
                }
                const ${TV} wv = ${wload('kw')};
${taps(False)}
            }
        }
    }
    const ${idx} P = (${idx})OH * OW;
    const ${idx} obase = n * G * Og * P + (${idx})oh * OW + ow0;
% for q in range(to):
    if (o0 + ${q} < Og) {
        const int oc = gi * Og + o0 + ${q};
% if has_bias:
        const ${V} bv = (${V})(${acc.cast_from(t.load("bias", "oc"), t)});
        const ${V} res = a${q} + bv;
% else:
        const ${V} res = a${q};
% endif
        const ${idx} op = obase + (${idx})oc * P;
        if (ow0 + ${vw} <= OW) {
% if t.half:
            vstore_half${vw}_rte(res, 0, out + op);
% elif t.cc == A:
            vstore${vw}(res, 0, out + op);
% else:
            vstore${vw}(convert_${t.cc}${vw}(res), 0, out + op);
% endif
        } else {
            ${A} tmp[${vw}];
            vstore${vw}(res, 0, tmp);
            for (int j = 0; j < OW - ow0; j++) { ${t.store("out", "op + j", t.cast_from("tmp[j]", acc))}; }
        }
    }
% endfor
}
</%def>

## out[i] = ind[i] >= 0 ? src[ind[i]] : 0 (cast to out's type); weight re-layouts for the direct convolution
<%def name="gather_pad(t, o, idx)">
${c.preamble((t, o))}
__kernel void k(__global const ${t.ct}* restrict src, const ${idx} soff, __global const int* restrict ind,
                __global ${o.ct}* restrict out, const ${idx} n)
{
    const ${idx} i = get_global_id(0);
    if (i >= n) return;
    const int j = ind[i];
    const ${o.cc} v = j >= 0 ? ${o.cast_from(t.load("src", "soff + j"), t)} : (${o.cc})0;
    ${o.store("out", "i", "v")};
}
</%def>

