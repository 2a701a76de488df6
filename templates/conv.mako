## Convolution kernels (cltensor/nn/_conv.py): im2col/col2im around the GEMM of gemm.mako, the direct
## convolution of CPU devices and its weight re-layout.
## Launch convention: 1-D global size rounded up to the runtime's fixed local size; every kernel guards its index.
## `t` is the tensor dtype helper (storage type t.ct, compute type t.cc, loads/stores through t.load/t.store),
## `acc` the accumulation dtype helper, `idx` the index type ("int" or "long").
<%namespace name="c" file="common.mako"/>

## ---------------------------------------------------------------------------------------------- convolution
## x: (N, C, H, W) with element strides (sn, sc, sh, sw); col: (C*KH*KW, N*OH*OW) contiguous.
## One work-item per (c, kh, kw, n, oh): a row segment of OW outputs.
<%def name="im2col(t, idx)">
${c.preamble((t,))}
## one work-item per (c, kh, kw, chunk of nper images): all OH rows of those patch planes, so the index
## decomposition (integer divisions, costly in PoCL's vectorised work-item loops) is paid once per nper * OH * OW
## outputs instead of once per row (small images: one image's plane is too little work for a work-item)
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sh, const ${idx} sw, __global ${t.ct}* restrict col,
                const int N, const int H, const int W, const int KH, const int KW, const int OH, const int OW,
                const int strh, const int strw, const int padh, const int padw, const int dilh, const int dilw,
                const ${idx} nwork, const int nper)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    const int nch = (N + nper - 1) / nper;
    ${idx} r = g;
    const int ch = (int)(r % nch); r /= nch;
    const int kw = (int)(r % KW); r /= KW;
    const int kh = (int)(r % KH); r /= KH;
    const ${idx} cc = r;
    /* iw = ow * strw - a is inside [0, W) for ow in [lo, hi) */
    const int a = padw - kw * dilw;
    const int lo = min(OW, a <= 0 ? 0 : (a + strw - 1) / strw);
    const int b = W + a;
    const int hi = max(lo, b <= 0 ? 0 : min(OW, (b + strw - 1) / strw));
    const ${idx} xs = (${idx})strw * sw;
    const int n1 = min(N, (ch + 1) * nper);
    for (int n = ch * nper; n < n1; n++) {
        const ${idx} pb = xoff + n * sn + cc * sc - (${idx})a * sw;
        const ${idx} ob = ((((cc * KH + kh) * KW + kw) * N) + n) * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            const int ih = oh * strh - padh + kh * dilh;
            const ${idx} o = ob + (${idx})oh * OW;
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
        if t.bf16:
            return "as_float%d(convert_uint%d(vload%d(0, (__global const ushort*)(x + %s))) << 16)" % (
                vw, vw, vw, ptr_off)
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
% elif t.bf16:
% for j in range(vw):
            out[op + ${j}].b = bf16_rne(res.s${"0123456789abcdef"[j]});
% endfor
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

## Register-tiled direct convolution for unit column stride (x zero padded beforehand, so every tap is in bounds):
## out[n, g*Og + o0 + q, oh, ow] for q < TO output channels and a block of NV * RR output rows x VR columns; the
## pixels sit in NV vectors of RR rows x VR columns each (RR > 1 packs several short rows into one vector, so
## 4- and 8-pixel-wide images still fill the SIMD lanes). Each tap loads NV input vectors and broadcasts TO
## scalar weights from wT (G, Cg*KH*KW, Ogp) into TO * NV fused multiply-adds (the GEMM's register-tile shape).
## The last column block shifts left to end at OW (needs OW >= VR; its lanes of the previous block are not
## stored); rows past OH read the last row (clamped) and are not stored. x: any strides with unit column stride
## (sw = 1); out: (N, O, OH, OW) contiguous. Storage type = accumulation type (float32, float64).
<%def name="conv_tile(t, idx, vr, rr, nv, to, has_bias, kwc)">
${c.preamble((t,))}
<%
    A = t.cc
    L = vr * rr
    V = A + (str(L) if L > 1 else "")
    HEX = "0123456789abcdef"
    KWX = str(kwc) if kwc else "KW"
    def xload(v):
        parts = []
        for j in range(rr):
            off = "p + ro%d_%d" % (v, j)
            parts.append("x[%s]" % off if vr == 1 else "vload%d(0, x + %s)" % (vr, off))
        return parts[0] if rr == 1 else "(%s)(%s)" % (V, ", ".join(parts))
    def lanes(e, j):
        if rr == 1:
            return e
        return "%s.s%s" % (e, "".join(HEX[j * vr + i] for i in range(vr)))
%>
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sh, __global const ${A}* restrict wT, __global const ${t.ct}* restrict bias,
                __global ${t.ct}* restrict out, const int Cg, const int KH, const int KW, const int OH,
                const int OW, const int strh, const int dilh, const int dilw, const int G, const int Og,
                const int Ogp, const int nob, const int nrb, const int nwb, const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    const int wb = (int)(r % nwb); r /= nwb;
    const int rb = (int)(r % nrb); r /= nrb;
    const int ob = (int)(r % (G * nob));
    const ${idx} n = r / (G * nob);
    const int gi = ob / nob, o0 = (ob - gi * nob) * ${to};
    const int ow0 = min(wb * ${vr}, OW - ${vr});
    const int skip = wb * ${vr} - ow0;
    const int oh0 = rb * ${rr * nv};
% for v in range(nv):
% for j in range(rr):
    const ${idx} ro${v}_${j} = (${idx})min(oh0 + ${v * rr + j}, OH - 1) * strh * sh + ow0;
% endfor
% endfor
% for q in range(to):
% for v in range(nv):
    ${V} a${q}_${v} = (${V})0;
% endfor
% endfor
    const ${idx} xb = xoff + n * sn + (${idx})gi * Cg * sc;
    __global const ${A}* wk = wT + (${idx})gi * Cg * KH * ${KWX} * Ogp + o0;
    for (int cc = 0; cc < Cg; cc++) {
        for (int kh = 0; kh < KH; kh++) {
            const ${idx} rp = xb + cc * sc + (${idx})(kh * dilh) * sh;
% if kwc:
#pragma unroll
% endif
            for (int kw = 0; kw < ${KWX}; kw++) {
                const ${idx} p = rp + kw * dilw;
% for v in range(nv):
                const ${V} x${v} = ${xload(v)};
% endfor
% for q in range(to):
                const ${V} w${q} = (${V})(wk[kw * Ogp + ${q}]);
% for v in range(nv):
                a${q}_${v} = mad(w${q}, x${v}, a${q}_${v});
% endfor
% endfor
            }
            wk += ${KWX} * Ogp;
        }
    }
    const ${idx} P = (${idx})OH * OW;
    const ${idx} obase = n * G * Og * P + ow0;
% for q in range(to):
    if (o0 + ${q} < Og) {
        const int oc = gi * Og + o0 + ${q};
% if has_bias:
        const ${V} bv = (${V})(bias[oc]);
% endif
% for v in range(nv):
% for j in range(rr):
        if (oh0 + ${v * rr + j} < OH) {
            const ${idx} op = obase + (${idx})oc * P + (${idx})(oh0 + ${v * rr + j}) * OW;
% if has_bias:
            const ${A}${vr if vr > 1 else ""} res = ${lanes("a%d_%d" % (q, v), j)} + ${lanes("bv", j)};
% else:
            const ${A}${vr if vr > 1 else ""} res = ${lanes("a%d_%d" % (q, v), j)};
% endif
% if vr == 1:
            out[op] = res;
% else:
            if (skip == 0) {
                vstore${vr}(res, 0, out + op);
            } else {
                ${A} tmp[${vr}];
                vstore${vr}(res, 0, tmp);
                for (int i = skip; i < ${vr}; i++) out[op + i] = tmp[i];
            }
% endif
        }
% endfor
% endfor
    }
% endfor
}
</%def>

## Weight gradient of a unit-column-stride convolution (x zero padded beforehand) without a column buffer:
## gw[g*Og + o0 + q, c, kh, kw] for q < TO and every kw, summed over images and output pixels in blocks of RR
## rows x VR columns (conv_tile's pixel blocks: lanes of rows past OH and of the shifted last column block are
## masked out of gout), then across the lanes. One work-item per (group, TO output channels, c, kh); has_db: the
## items of c = 0, kh = 0 also sum gout per channel into gb (the bias gradient).
## x: any strides with sw = 1; gout: (N, G*Og, OH, OW) contiguous; gw: (G*Og, Cg, KH, KW) contiguous.
<%def name="conv_dw(t, idx, vr, rr, to, kwc, has_db)">
${c.preamble((t,))}
<%
    A = t.cc
    L = vr * rr
    V = A + (str(L) if L > 1 else "")
    HEX = "0123456789abcdef"
    KWX = str(kwc) if kwc else "KW"
    NK = kwc if kwc else 0
    def rows(buf, base, roff):
        parts = []
        for j in range(rr):
            off = "%s + %s%d" % (base, roff, j)
            parts.append("%s[%s]" % (buf, off) if vr == 1 else "vload%d(0, %s + %s)" % (vr, buf, off))
        return parts[0] if rr == 1 else "(%s)(%s)" % (V, ", ".join(parts))
    def hsum(v):
        if L == 1:
            return v
        return " + ".join("%s.s%s" % (v, HEX[i]) for i in range(L))
%>
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sh, __global const ${t.ct}* restrict gout, __global ${t.ct}* restrict gw,
                __global ${t.ct}* restrict gb,
                const int N, const int Cg, const int KH, const int KW, const int OH, const int OW,
                const int strh, const int dilh, const int dilw, const int G, const int Og, const int nob,
                const int nrb, const int nwb, const int nwork)
{
    const int g = get_global_id(0);
    if (g >= nwork) return;
    int r = g;
    const int kh = r % KH; r /= KH;
    const int cc = r % Cg; r /= Cg;
    const int gi = r / nob, o0 = (r - gi * nob) * ${to};
% for q in range(to):
% if NK:
% for kw in range(NK):
    ${V} a${q}_${kw} = (${V})0;
% endfor
% else:
    ${V} a${q}[16];
    for (int kw = 0; kw < KW; kw++) a${q}[kw] = (${V})0;
% endif
% endfor
    const ${idx} P = (${idx})OH * OW;
% if has_db:
    /* the bias gradient (sum of gout per channel) rides along in the work-items of c = 0, kh = 0 */
    const int dodb = cc == 0 && kh == 0;
% for q in range(to):
    ${V} s${q} = (${V})0;
% endfor
% endif
% for q in range(to):
    const ${idx} gc${q} = (${idx})(gi * Og + min(o0 + ${q}, Og - 1)) * P;
% endfor
    for (int n = 0; n < N; n++) {
        const ${idx} xb = xoff + n * sn + (${idx})(gi * Cg + cc) * sc + (${idx})(kh * dilh) * sh;
        const ${idx} gb = (${idx})n * G * Og * P;
        for (int rb = 0; rb < nrb; rb++) {
            const int oh0 = rb * ${rr};
% for j in range(rr):
            const int ohc${j} = min(oh0 + ${j}, OH - 1);
            const ${idx} xr${j} = (${idx})(ohc${j} * strh) * sh;
            const ${idx} gr${j} = (${idx})ohc${j} * OW;
% endfor
            for (int wb = 0; wb < nwb; wb++) {
                const int ow0 = min(wb * ${vr}, OW - ${vr});
                const int skip = wb * ${vr} - ow0;
% for q in range(to):
                ${V} g${q} = ${rows("gout", "gb + gc%d + ow0" % q, "gr")};
% endfor
                if (skip > 0 || oh0 + ${rr} > OH) {
% if L > 1:
                    /* 1 for lanes with column >= skip and row < OH, else 0 */
                    ${A} mka[${L}];
                    for (int i = 0; i < ${L}; i++) mka[i] = (i % ${vr} >= skip && oh0 + i / ${vr} < OH) ? 1 : 0;
                    const ${V} mk = vload${L}(0, mka);
% else:
                    const ${V} mk = (${V})(skip == 0 && oh0 < OH);
% endif
% for q in range(to):
                    g${q} *= mk;
% endfor
                }
% if has_db:
                if (dodb) {
% for q in range(to):
                    s${q} += g${q};
% endfor
                }
% endif
                const ${idx} xp = xb + ow0;
% if NK:
% for kw in range(NK):
                {
                    const ${V} xv = ${rows("x", "xp + %d * dilw" % kw, "xr")};
% for q in range(to):
                    a${q}_${kw} = mad(g${q}, xv, a${q}_${kw});
% endfor
                }
% endfor
% else:
                for (int kw = 0; kw < KW; kw++) {
                    const ${V} xv = ${rows("x", "xp + kw * dilw", "xr")};
% for q in range(to):
                    a${q}[kw] = mad(g${q}, xv, a${q}[kw]);
% endfor
                }
% endif
            }
        }
    }
    const ${idx} KK = (${idx})KH * KW;
% for q in range(to):
    if (o0 + ${q} < Og) {
        const ${idx} ob = ((${idx})(gi * Og + o0 + ${q}) * Cg + cc) * KK + (${idx})kh * KW;
% if NK:
% for kw in range(NK):
        gw[ob + ${kw}] = ${hsum("a%d_%d" % (q, kw))};
% endfor
% else:
        for (int kw = 0; kw < KW; kw++) gw[ob + kw] = ${hsum("a%d[kw]" % q)};
% endif
% if has_db:
        if (dodb) gb[gi * Og + o0 + ${q}] = ${hsum("s%d" % q)};
% endif
    }
% endfor
}
</%def>

## Zero padding in one pass: out (P planes, H + 2 ph, W + 2 pw) contiguous <- x (P = N * C planes of H x W, plane
## p = n * C + c at xoff + n * sn + c * sc, any strides); rpw output rows per work-item.
<%def name="pad2d(t, idx)">
${c.preamble((t,))}
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sh, const ${idx} sw, __global ${t.ct}* restrict out, const int C, const int H,
                const int W, const int ph, const int pw, const ${idx} nrows, const int rpw)
{
    const ${idx} r0 = (${idx})get_global_id(0) * rpw;
    if (r0 >= nrows) return;
    const ${idx} r1 = min(r0 + rpw, nrows);
    const int Hp = H + 2 * ph, Wp = W + 2 * pw;
    ${idx} pl = r0 / Hp;
    int hp = (int)(r0 - pl * Hp);
    for (${idx} r = r0; r < r1; r++) {
        const ${idx} n = pl / C;
        const ${idx} xb = xoff + n * sn + (pl - n * C) * sc + (${idx})(hp - ph) * sh;
        const ${idx} ob = r * Wp;
        if (hp < ph || hp >= H + ph) {
            for (int w = 0; w < Wp; w++) out[ob + w] = (${t.ct})0;
        } else {
            for (int w = 0; w < pw; w++) { out[ob + w] = (${t.ct})0; out[ob + pw + W + w] = (${t.ct})0; }
            for (int w = 0; w < W; w++) out[ob + pw + w] = x[xb + w * sw];
        }
        if (++hp == Hp) { hp = 0; pl++; }
    }
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

## ---------------------------------------------------------------------------------------------- rank-3 forms
## The spatial-rank-3 forms of im2col / col2im (1-d and 2-d problems run them with unit leading dims): conv3d,
## the transposed convolutions of every rank, F.fold / F.unfold.
## x: (N, C, D, H, W) with element strides (sn, sc, sd, sh, sw) (the channel range starts at xoff);
## col: (C*KD*KH*KW, N*OD*OH*OW) contiguous. One work-item per (c, kd, kh, kw, n, od): OH rows of OW outputs.
<%def name="im2col3(t, idx)">
${c.preamble((t,))}
__kernel void k(__global const ${t.ct}* restrict x, const ${idx} xoff, const ${idx} sn, const ${idx} sc,
                const ${idx} sd, const ${idx} sh, const ${idx} sw, __global ${t.ct}* restrict col,
                const int N, const int D, const int H, const int W, const int KD, const int KH, const int KW,
                const int OD, const int OH, const int OW, const int strd, const int strh, const int strw,
                const int padd, const int padh, const int padw, const int dild, const int dilh, const int dilw,
                const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    const int od = (int)(r % OD); r /= OD;
    const int n = (int)(r % N); r /= N;
    const int kw = (int)(r % KW); r /= KW;
    const int kh = (int)(r % KH); r /= KH;
    const int kd = (int)(r % KD); r /= KD;
    const ${idx} cc = r;
    /* column block of this (c, kd, kh, kw) row for image n, plane od */
    const ${idx} o0 = ((cc * KD + kd) * KH + kh) * KW + kw;
    const ${idx} rowb = (o0 * N + n) * ((${idx})OD * OH * OW) + (${idx})od * OH * OW;
    const int id = od * strd - padd + kd * dild;
    /* iw = ow * strw - a is inside [0, W) for ow in [lo, hi) */
    const int a = padw - kw * dilw;
    const int lo = min(OW, a <= 0 ? 0 : (a + strw - 1) / strw);
    const int b = W + a;
    const int hi = max(lo, b <= 0 ? 0 : min(OW, (b + strw - 1) / strw));
    const ${idx} xs = (${idx})strw * sw;
    const ${idx} pb = xoff + n * sn + cc * sc + (${idx})id * sd - (${idx})a * sw;
    for (int oh = 0; oh < OH; oh++) {
        const int ih = oh * strh - padh + kh * dilh;
        const ${idx} o = rowb + (${idx})oh * OW;
        if (id < 0 || id >= D || ih < 0 || ih >= H) {
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

## col: (C*KD*KH*KW, N*OD*OH*OW) contiguous -> dx: (N, C, D, H, W) contiguous (beta = 0), summing every column
## entry that im2col3 read from each pixel. One work-item per (n, c, d, h, chunk of CW pixels of the row).
<%def name="col2im3(t, acc, idx, cw)">
${c.preamble((t, acc))}
__kernel void k(__global const ${t.ct}* restrict col, __global ${t.ct}* restrict dx,
                const int N, const int C, const int D, const int H, const int W, const int KD, const int KH,
                const int KW, const int OD, const int OH, const int OW, const int strd, const int strh,
                const int strw, const int padd, const int padh, const int padw, const int dild, const int dilh,
                const int dilw, const int nwc, const ${idx} nwork)
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    const int wc = (int)(r % nwc); r /= nwc;
    const int h = (int)(r % H); r /= H;
    const int d = (int)(r % D); r /= D;
    const int cc = (int)(r % C);
    const int n = (int)(r / C);
    const int w0 = wc * ${cw}, w1 = min(w0 + ${cw}, W);
    const ${idx} P = (${idx})OD * OH * OW;
    const ${idx} np_ = (${idx})N * P;
    const ${idx} cbase = (${idx})n * P;
    ${acc.cc} s[${cw}];
    for (int q = 0; q < ${cw}; q++) s[q] = 0;
    for (int kd = 0; kd < KD; kd++) {
        const int td = d + padd - kd * dild;
        if (td < 0 || td % strd != 0) continue;
        const int od = td / strd;
        if (od >= OD) continue;
        for (int kh = 0; kh < KH; kh++) {
            const int th = h + padh - kh * dilh;
            if (th < 0 || th % strh != 0) continue;
            const int oh = th / strh;
            if (oh >= OH) continue;
            for (int kw = 0; kw < KW; kw++) {
                const ${idx} rb = ((((${idx})cc * KD + kd) * KH + kh) * KW + kw) * np_ + cbase +
                                  ((${idx})od * OH + oh) * OW;
                for (int w = w0; w < w1; w++) {
                    const int tw = w + padw - kw * dilw;
                    if (tw < 0 || tw % strw != 0) continue;
                    const int ow = tw / strw;
                    if (ow >= OW) continue;
                    s[w - w0] += ${acc.cast_from(t.load("col", "rb + ow"), t)};
                }
            }
        }
    }
    const ${idx} ob = ((((${idx})n * C + cc) * D + d) * H + h) * W;
    for (int w = w0; w < w1; w++) { ${t.store("dx", "ob + w", t.cast_from("s[w - w0]", acc))}; }
}
</%def>
