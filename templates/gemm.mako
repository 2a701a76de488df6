## Batched strided GEMM: C[p] = alpha * A[p] @ B[p] + beta * C[p]. Driven by cltensor/_gemm.py.
##
## The GEMM kernels take the same arguments (all offsets and strides in elements, `idx` is int or long):
##   A, a_off, a_bs, a_rs, a_cs,  B, b_off, b_bs, b_rs, b_cs,  C, c_off, c_bs, c_rs, c_cs,
##   M, N, K, NB, mt, nt, rpw, alpha, beta, beta_zero
## mt / nt are the numbers of row / column tiles and rpw the row tiles per work-item (sizes are arguments, the
## local size is fixed per kernel: PoCL compiles again for every new local size; surplus work-items return at
## once). NB is the number of columns B really has (>= N, padded panels; only the register kernel reads it).
## beta_zero != 0 means C is not read (as in PyTorch, beta == 0 ignores NaN/inf in C).
## Optional, after those (`cin`): Ci, ci_off, ci_bs, ci_rs, ci_cs - the beta term reads Ci (e.g. a bias broadcast
## with stride 0) instead of C. Optional (`epi`): an epilogue, a fused elementwise chain of cltensor/_fusion.py
## (statements, final value, dtypes) applied to each output before its store: x0 is alpha * acc + beta * C as
## the storage dtype t, x1... are kernel arguments s1... of compute dtypes ecdts[1:]; its value is stored as t.
##
## Variants (one <%def> each):
##   reg    - CPU shape: each work-item computes TM x (VW*NV) blocks of C in VW-wide vector accumulators,
##            loads rows of B with vloadVW (from B in place, from packed panels, or gathered for strided B),
##            broadcasts one A scalar per fma; no __local, no barriers. Row tails clamp the A row (rows past M
##            are computed and not stored); column tails shift the last tile left to end at column NB-1 and
##            store only the columns no other tile owns, so B is never read past its last column. Whole tiles
##            with unit column stride in C store the accumulators directly, the others through a private tile.
##   local  - GPU shape: TSM x TSN tile of C per work-group, TK-deep slices of A and B staged in __local,
##            each work-item accumulates WM x WN outputs. Any strides, any sizes (guarded loads, zero fill).
##   gemv   - CPU shape for one output column (matrix-vector): dot products of A rows with B, vector loads of both.
##   pack   - copies B (any strides) into zero-padded column panels for the register kernel (bit copy).
##
## Integer GEMM accumulates in unsigned int/long (wrap-around is well defined there) and truncates at the
## store, which gives the same result modulo 2^bits as accumulating in the storage type (PyTorch).
<%namespace name="c" file="common.mako"/>
<%namespace name="sp" file="special.mako"/>
<%namespace name="ew" file="elementwise.mako"/>

<%!
import re

def vt(ct, n):
    return ct if n == 1 else "%s%d" % (ct, n)

def acc_ct(acc):
    """C type the accumulators use: unsigned for integers (defined wrap-around)."""
    if acc.isint:
        return "ulong" if acc.ct == "long" else "uint"
    return acc.cc

def conv(e, src, dst, n):
    """convert an n-vector expression e of C type src to C type dst (integer: modulo 2^bits)."""
    if src == dst:
        return e
    ints = ("char", "short", "int", "long", "uchar", "ushort", "uint", "ulong")
    if dst in ints and src in ints:
        if dst.startswith("u"):
            if src == dst[1:]:
                return "as_%s(%s)" % (vt(dst, n), e)
            if src.startswith("u"):
                return "convert_%s(%s)" % (vt(dst, n), e)
            # signed narrow -> unsigned wide: sign-extend first
            return "as_%s(convert_%s(%s))" % (vt(dst, n), vt(dst[1:], n), e)
        # dst signed
        if src == "u" + dst:
            return "as_%s(%s)" % (vt(dst, n), e)
        return "as_%s(convert_%s(%s))" % (vt(dst, n), vt("u" + dst, n), e)
    return "convert_%s(%s)" % (vt(dst, n), e)

def vload(t, acc, n, ptr):
    """n contiguous elements of storage dtype t at pointer ptr, as an n-vector of the accumulator type."""
    a = acc_ct(acc)
    if t.half:
        e = "vload_half(0, %s)" % ptr if n == 1 else "vload_half%d(0, %s)" % (n, ptr)
        return conv(e, "float", a, n)
    if t.bf16:
        e = ("as_float((uint)(%s)->b << 16)" % ptr if n == 1 else
             "as_float%d(convert_uint%d(vload%d(0, (__global const ushort*)(%s))) << 16)" % (n, n, n, ptr))
        return conv(e, "float", a, n)
    e = "(*(%s))" % ptr if n == 1 else "vload%d(0, %s)" % (n, ptr)
    return conv(e, t.ct, a, n)

def sload(t, acc, ptr, idx):
    """one element ptr[idx] as the accumulator type."""
    a = acc_ct(acc)
    if t.half:
        return conv("vload_half(%s, %s)" % (idx, ptr), "float", a, 1)
    if t.bf16:
        return conv(t.load(ptr, idx), "float", a, 1)
    return conv("%s[%s]" % (ptr, idx), t.ct, a, 1)

def vstore(t, acc, n, val, ptr):
    """store an n-vector of the accumulator type to n contiguous elements at ptr (as a statement)."""
    a = acc_ct(acc)
    if t.half:
        v = conv(val, a, "float", n)
        return ("vstore_half_rte(%s, 0, %s)" % (v, ptr)) if n == 1 else ("vstore_half%d_rte(%s, 0, %s)" % (n, v, ptr))
    if t.bf16:
        v = conv(val, a, "float", n)
        if n == 1:
            return "(%s)->b = bf16_rne(%s)" % (ptr, v)
        return "do { const float%d v_ = %s; %s } while (0)" % (n, v, " ".join(
            "(%s)[%d].b = bf16_rne(v_.s%s);" % (ptr, q, "0123456789abcdef"[q]) for q in range(n)))
    v = conv(val, a, t.ct, n)
    return ("*(%s) = %s" % (ptr, v)) if n == 1 else ("vstore%d(%s, 0, %s)" % (n, v, ptr))

def sstore(t, acc, ptr, idx, val):
    a = acc_ct(acc)
    if t.half:
        return "vstore_half_rte(%s, %s, %s)" % (conv(val, a, "float", 1), idx, ptr)
    if t.bf16:
        return t.store(ptr, idx, conv(val, a, "float", 1))
    return "%s[%s] = %s" % (ptr, idx, conv(val, a, t.ct, 1))

_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_CHEAP = frozenset(("isnan", "isinf", "fabs", "fmin", "fmax", "copysign"))

def straight(epi):
    """Whether an epilogue runs as straight-line code on each lane of a full tile row rather than in a loop over the
    row. Measured on PoCL (4096 x 64 @ 64 x 1024): selects and arithmetic, which the compiler packs into vectors,
    cost 2-4% of the GEMM straight vs ~20% in the loop; branches (|| &&) and math calls cost 2x more straight
    (tanh: GEMM + 80% in the loop, + 300% straight)."""
    src = " ".join(epi[0]) + epi[1]
    return "||" not in src and "&&" not in src and all(f in _CHEAP for f in _CALL.findall(src))

def tmasks(h):
    """shuffle2 masks of one stage of a 16 x 16 transpose in registers: rows i and i + h (bit h of i clear) swap
    their off-diagonal h-blocks (lanes 0-15 of x, 16-31 of y)."""
    mi, mj = [], []
    for L in range(16):
        b, o = L // (2 * h) * 2 * h, L % (2 * h)
        mi.append(b + o if o < h else 16 + b + o - h)
        mj.append(b + h + o if o < h else 16 + b + o)
    return ", ".join(map(str, mi)), ", ".join(map(str, mj))

def madd(acc, x, y, z):
    """z + x * y in the accumulator type (fma for floating point)."""
    if acc.isint:
        return "%s + %s * %s" % (z, x, y)
    return "fma(%s, %s, %s)" % (x, y, z)
%>

<%def name="_args(t, idx, acc, cin, ecdts)">
    __global const ${t.ct}* restrict A, const ${idx} a_off, const ${idx} a_bs, const ${idx} a_rs, const ${idx} a_cs,
    __global const ${t.ct}* restrict B, const ${idx} b_off, const ${idx} b_bs, const ${idx} b_rs, const ${idx} b_cs,
    __global ${t.ct}* restrict C, const ${idx} c_off, const ${idx} c_bs, const ${idx} c_rs, const ${idx} c_cs,
    const int M, const int N, const int K, const int NB, const int mt, const int nt, const int rpw,
    const ${acc_ct(acc)} alpha, const ${acc_ct(acc)} beta, const int beta_zero
% if cin:
    , __global const ${t.ct}* restrict Ci, const ${idx} ci_off, const ${idx} ci_bs, const ${idx} ci_rs,
    const ${idx} ci_cs
% endif
% for j in range(1, len(ecdts)):
    , const ${ecdts[j].cc} s${j}
% endfor
</%def>

## One output: r = alpha * val + beta * ip[io] (C's or Ci's element), the epilogue, the store to cp[co].
<%def name="_store(t, acc, epi, ecdts, val, cp, co, ip, io)">
{
    ${acc_ct(acc)} r = alpha * ${val};
    if (!beta_zero) r += beta * ${sload(t, acc, ip, io)};
    ${_epi_store(t, acc, epi, ecdts, "r", cp, co)}
}
</%def>

## Store the accumulator-typed value r to cp[co], through the epilogue if there is one.
<%def name="_epi_store(t, acc, epi, ecdts, r, cp, co)">
% if epi:
{
    ${t.cc} res_;
<% vals = [conv(r, acc_ct(acc), t.ct, 1)] + ["s%d" % j for j in range(1, len(ecdts))] %>
    ${ew._eval(t, ecdts, None, ecdts, t, epi, vals)}
    ${t.store(cp, co, "res_")};
}
% else:
${sstore(t, acc, cp, co, r)};
% endif
</%def>

## ------------------------------------------------------------------------------------------------ reg
## tm: rows per tile; vw: vector width; nv: vectors per row (tile width TN = vw * nv); ku: k unroll;
## a_unit: A has column stride 1; bmode: 'vec' (B column stride 1, vloadVW, row stride b_rs), 'panel' (B
## packed in column panels of TN: panel tn starts at tn * b_cs, rows b_rs = TN apart) or 'gather' (any B
## strides, each vector assembled from scalars); nfirst: dim 0 of the launch walks column tiles; direct: whole tiles
## store from the accumulators (False: every tile through the private tile, for comparisons).
## Each work-item computes the tiles (rows tg*rpw .. tg*rpw+rpw-1, column tn): rpw (an argument) sets the
## work per work-item without a recompile, so the local size can stay (1, 1) or tiny.
<%def name="reg(t, acc, idx, tm, vw, nv, ku, a_unit, bmode, nfirst, cin=False, epi=None, ecdts=(), direct=True)">
${c.preamble((t, acc) + ecdts + (epi[2] if epi else ()))}
% if epi and "sp_" in " ".join(epi[0]) + " " + epi[1]:
${sp.helpers((t, acc) + ecdts + epi[2], " ".join(epi[0]) + " " + epi[1])}
% endif
<%
    A_ = acc_ct(acc)
    V = vt(A_, vw)
    TN = vw * nv
    dn, dm = (0, 1) if nfirst else (1, 0)
%>
__kernel void k(${_args(t, idx, acc, cin, ecdts)})
{
    const int tn = get_global_id(${dn}), tg = get_global_id(${dm});
    const int mg = (mt + rpw - 1) / rpw;
    if (tn >= nt || tg >= mg) return;
    const ${idx} p = get_global_id(2);
    const int c0 = tn * ${TN};
    const int cs = min(c0, NB - ${TN});
    __global const ${t.ct}* Ap = A + a_off + p * a_bs;
    __global ${t.ct}* Cp = C + c_off + p * c_bs;
% if cin:
    __global const ${t.ct}* Cip = Ci + ci_off + p * ci_bs;
% endif
% if bmode == 'vec':
    __global const ${t.ct}* bp = B + b_off + p * b_bs + cs;
% elif bmode == 'panel':
    __global const ${t.ct}* bp = B + b_off + p * b_bs + (${idx})tn * b_cs;
% else:
    __global const ${t.ct}* bp = B + b_off + p * b_bs + (${idx})cs * b_cs;
% endif
    const int full = (cs == c0) && (c0 + ${TN} <= N) && (c_cs == 1)${" && (ci_cs == 1)" if cin else ""};
    const int tend = min(tg * rpw + rpw, mt);
    for (int tm_ = tg * rpw; tm_ < tend; tm_++) {
    const int r0 = tm_ * ${tm};
% for i in range(tm):
    __global const ${t.ct}* restrict a${i} = Ap + (${idx})min(r0 + ${i}, M - 1) * a_rs;
% endfor
% for i in range(tm):
% for v in range(nv):
    ${V} acc${i}_${v} = (${V})0;
% endfor
% endfor
<%def name="bload(v, koff)">\
% if bmode in ('vec', 'panel'):
${vload(t, acc, vw, "bp + %s%s" % (koff, " + %d" % (v * vw) if v else ""))}\
% elif vw == 1:
${sload(t, acc, "bp", "%s + (%s)%d * b_cs" % (koff, idx, v))}\
% else:
(${V})(${", ".join(sload(t, acc, "bp", "%s + (%s)%d * b_cs" % (koff, idx, v * vw + q)) for q in range(vw))})\
% endif
</%def>
<%def name="step(aval)">
      {
% for v in range(nv):
        const ${V} b${v} = ${bload(v, "bk")};
% endfor
% for i in range(tm):
        {
            const ${A_} ai = ${aval(i)};
% for v in range(nv):
            acc${i}_${v} = ${madd(acc, "(%s)ai" % V if vw > 1 else "ai", "b%d" % v, "acc%d_%d" % (i, v))};
% endfor
        }
% endfor
        bk += b_rs;
      }
</%def>
    ${idx} bk = 0;
    int kk = 0;
% if ku > 1:
    for (; kk + ${ku} <= K; kk += ${ku}) {
% for u in range(ku):
<% ak = "(%s)(kk + %d) * a_cs" % (idx, u) if not a_unit else "kk + %d" % u %>
        ${step(lambda i, ak=ak: sload(t, acc, "a%d" % i, ak))}
% endfor
    }
% endif
    for (; kk < K; kk++) {
<% ak = "(%s)kk * a_cs" % idx if not a_unit else "kk" %>
        ${step(lambda i: sload(t, acc, "a%d" % i, ak))}
    }
% if direct and (not epi or straight(epi)):
    // a whole tile inside C with unit column stride: accumulators straight to C (measured on PoCL, side by side:
    // 1024 x 16 @ 16 x 1024 221 vs 255 us and 378 vs 472 us through the private tile below; equal within noise
    // where K is large, as for 64 x 32x32x32 and n=256)
    if (full && r0 + ${tm} <= M) {
% for i in range(tm):
        {
            __global ${t.ct}* cr = Cp + (${idx})(r0 + ${i}) * c_rs;
% if cin:
            __global const ${t.ct}* ir = Cip + (${idx})(r0 + ${i}) * ci_rs;
% endif
% for v in range(nv):
            {
                ${V} r = alpha * acc${i}_${v};
                if (!beta_zero) r += beta * ${vload(t, acc, vw, "%s + c0 + %d" % ("ir" if cin else "cr", v * vw))};
% if not epi:
                ${vstore(t, acc, vw, "r", "cr + c0 + %d" % (v * vw))};
% else:
% for q in range(vw):
                ${_epi_store(t, acc, epi, ecdts, "r.s%x" % q if vw > 1 else "r", "cr", "c0 + %d" % (v * vw + q))}
% endfor
% endif
            }
% endfor
        }
% endfor
        continue;
    }
% endif
    ${A_} tile[${tm * TN}];
% for i in range(tm):
% for v in range(nv):
% if vw == 1:
    tile[${i * TN + v}] = acc${i}_${v};
% else:
    vstore${vw}(acc${i}_${v}, 0, tile + ${i * TN + v * vw});
% endif
% endfor
% endfor
    for (int i = 0; i < ${tm} && r0 + i < M; i++) {
        __global ${t.ct}* cr = Cp + (${idx})(r0 + i) * c_rs;
<% ir = "ir" if cin else "cr" %>
% if cin:
        __global const ${t.ct}* ir = Cip + (${idx})(r0 + i) * ci_rs;
% endif
        ${A_}* tr = tile + i * ${TN};
        if (full) {
% for v in range(nv):
            {
                ${V} r = alpha * ${vload(acc, acc, vw, "tr + %d" % (v * vw)) if vw > 1 else "tr[%d]" % v};
                if (!beta_zero) r += beta * ${vload(t, acc, vw, "%s + c0 + %d" % (ir, v * vw))};
% if not epi:
                ${vstore(t, acc, vw, "r", "cr + c0 + %d" % (v * vw))};
% elif straight(epi):
% for q in range(vw):
                ${_epi_store(t, acc, epi, ecdts, "r.s%x" % q if vw > 1 else "r", "cr", "c0 + %d" % (v * vw + q))}
% endfor
% elif vw > 1:
                vstore${vw}(r, 0, tr + ${v * vw});
% else:
                tr[${v}] = r;
% endif
            }
% endfor
% if epi and not straight(epi):
            for (int q = 0; q < ${TN}; q++)
                ${_epi_store(t, acc, epi, ecdts, "tr[q]", "cr", "c0 + q")}
% endif
        } else {
            for (int q = c0 - cs; q < ${TN} && cs + q < N; q++) {
                const ${idx} o = (${idx})(cs + q) * c_cs;
                ${_store(t, acc, epi, ecdts, "tr[q]", "cr", "o", ir, "(%s)(cs + q) * ci_cs" % idx if cin else "o")}
            }
        }
    }
    }
}
</%def>

## ------------------------------------------------------------------------------------------------ gemv
## C (M x 1) = A (M x K) @ B (K x 1) on CPU devices, A with column stride 1 and B with row stride 1: each
## work-item computes `rows` outputs (rows tg*rows .., clamped to M-1 and not stored past M) as dot products,
## reading A rows and B with vloadVW, ku vectors per row and step (rows * ku independent FMA chains), then one
## horizontal sum per row and a scalar tail for K % (VW * ku). The register kernel would read A one scalar at a
## time here (its tile is one column wide). Launch: (work-items over rows, 1, batch).
<%def name="gemv(t, acc, idx, rows, vw, ku, cin=False, epi=None, ecdts=())">
${c.preamble((t, acc) + ecdts + (epi[2] if epi else ()))}
% if epi and "sp_" in " ".join(epi[0]) + " " + epi[1]:
${sp.helpers((t, acc) + ecdts + epi[2], " ".join(epi[0]) + " " + epi[1])}
% endif
<%
    A_ = acc_ct(acc)
    V = vt(A_, vw)
    STEP = vw * ku
%>
__kernel void k(${_args(t, idx, acc, cin, ecdts)})
{
    const int tg = get_global_id(0);
    if (tg >= mt) return;
    const ${idx} p = get_global_id(2);
    const int r0 = tg * ${rows};
    __global const ${t.ct}* Ap = A + a_off + p * a_bs;
    __global const ${t.ct}* restrict bp = B + b_off + p * b_bs;
    __global ${t.ct}* Cp = C + c_off + p * c_bs;
% if cin:
    __global const ${t.ct}* Cip = Ci + ci_off + p * ci_bs;
% endif
% for i in range(rows):
    __global const ${t.ct}* restrict a${i} = Ap + (${idx})min(r0 + ${i}, M - 1) * a_rs;
% for u in range(ku):
    ${V} acc${i}_${u} = (${V})0;
% endfor
% endfor
    int kk = 0;
    for (; kk + ${STEP} <= K; kk += ${STEP}) {
% for u in range(ku):
        {
            const ${V} x = ${vload(t, acc, vw, "bp + kk + %d" % (u * vw))};
% for i in range(rows):
            acc${i}_${u} = ${madd(acc, vload(t, acc, vw, "a%d + kk + %d" % (i, u * vw)), "x", "acc%d_%d" % (i, u))};
% endfor
        }
% endfor
    }
% for i in range(rows):
    ${A_} dot${i};
    {
        ${V} v = acc${i}_0${"".join(" + acc%d_%d" % (i, u) for u in range(1, ku))};
<% n = vw %>
% while n > 1:
<% n //= 2 %>
        ${vt(A_, n)} v${n} = v${"" if n * 2 == vw else n * 2}.lo + v${"" if n * 2 == vw else n * 2}.hi;
% endwhile
        dot${i} = ${"v1" if vw > 1 else "v"};
    }
% endfor
    for (; kk < K; kk++) {
        const ${A_} x = ${sload(t, acc, "bp", "kk")};
% for i in range(rows):
        dot${i} = ${madd(acc, sload(t, acc, "a%d" % i, "kk"), "x", "dot%d" % i)};
% endfor
    }
% for i in range(rows):
    if (r0 + ${i} < M) {
        const ${idx} o = (${idx})(r0 + ${i}) * c_rs;
        ${_store(t, acc, epi, ecdts, "dot%d" % i, "Cp", "o", "Cip" if cin else "Cp", "(%s)(r0 + %d) * ci_rs" % (idx, i) if cin else "o")}
    }
% endfor
}
</%def>

## ------------------------------------------------------------------------------------------------ local
## GPU-style tiling: work-group (lx, ly) = (tsn / wn, tsm / wm); TK-deep slices of A (tsm x tk) and
## B (tk x tsn) go to __local; every work-item keeps wm x wn accumulators (rows ly + i*ly_n, columns
## lx + j*lx_n, so neighbouring work-items touch neighbouring local words).
<%def name="local(t, acc, idx, tsm, tsn, tk, wm, wn, cin=False, epi=None, ecdts=())">
${c.preamble((t, acc) + ecdts + (epi[2] if epi else ()))}
% if epi and "sp_" in " ".join(epi[0]) + " " + epi[1]:
${sp.helpers((t, acc) + ecdts + epi[2], " ".join(epi[0]) + " " + epi[1])}
% endif
<%
    A_ = acc_ct(acc)
    LX = tsn // wn
    LY = tsm // wm
    NT = LX * LY
    na = (tsm * tk + NT - 1) // NT
    nb = (tk * tsn + NT - 1) // NT
%>
__kernel __attribute__((reqd_work_group_size(${LX}, ${LY}, 1)))
void k(${_args(t, idx, acc, cin, ecdts)})
{
    __local ${A_} As[${tk}][${tsm}];
    __local ${A_} Bs[${tk}][${tsn}];
    const int lx = get_local_id(0), ly = get_local_id(1);
    const int tid = ly * ${LX} + lx;
    const int tn = get_group_id(0), tm_ = get_group_id(1);
    const ${idx} p = get_global_id(2);
    const int r0 = tm_ * ${tsm}, c0 = tn * ${tsn};
    __global const ${t.ct}* Ap = A + a_off + p * a_bs;
    __global const ${t.ct}* Bp = B + b_off + p * b_bs;
% for i in range(wm):
% for j in range(wn):
    ${A_} acc${i}_${j} = 0;
% endfor
% endfor
    for (int k0 = 0; k0 < K; k0 += ${tk}) {
% for e in range(na):
        {
            const int x = tid + ${e * NT};
% if (e + 1) * NT > tsm * tk:
            if (x < ${tsm * tk})
% endif
            {
                const int r = x / ${tk}, q = x % ${tk};
                const int gr = r0 + r, gk = k0 + q;
                As[q][r] = (gr < M && gk < K) ? ${sload(t, acc, "Ap", "(%s)gr * a_rs + (%s)gk * a_cs" % (idx, idx))} : (${A_})0;
            }
        }
% endfor
% for e in range(nb):
        {
            const int x = tid + ${e * NT};
% if (e + 1) * NT > tsn * tk:
            if (x < ${tsn * tk})
% endif
            {
                const int q = x / ${tsn}, col = x % ${tsn};
                const int gc = c0 + col, gk = k0 + q;
                Bs[q][col] = (gc < N && gk < K) ? ${sload(t, acc, "Bp", "(%s)gk * b_rs + (%s)gc * b_cs" % (idx, idx))} : (${A_})0;
            }
        }
% endfor
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int q = 0; q < ${tk}; q++) {
% for j in range(wn):
            const ${A_} b${j} = Bs[q][lx + ${j * LX}];
% endfor
% for i in range(wm):
            {
                const ${A_} a = As[q][ly + ${i * LY}];
% for j in range(wn):
                acc${i}_${j} = ${madd(acc, "a", "b%d" % j, "acc%d_%d" % (i, j))};
% endfor
            }
% endfor
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    __global ${t.ct}* Cp = C + c_off + p * c_bs;
% if cin:
    __global const ${t.ct}* Cip = Ci + ci_off + p * ci_bs;
% endif
% for i in range(wm):
% for j in range(wn):
    {
        const int gr = r0 + ly + ${i * LY}, gc = c0 + lx + ${j * LX};
        if (gr < M && gc < N) {
            const ${idx} o = (${idx})gr * c_rs + (${idx})gc * c_cs;
            ${_store(t, acc, epi, ecdts, "acc%d_%d" % (i, j), "Cp", "o", "Cip" if cin else "Cp",
                     "(%s)gr * ci_rs + (%s)gc * ci_cs" % (idx, idx) if cin else "o")}
        }
    }
% endfor
% endfor
}
</%def>

## ------------------------------------------------------------------------------------------------ pack
## B (K x N per batch, any strides) -> panels of tn columns: dst[p][j / tn][k][j % tn], zero padded to a
## multiple of tn columns, copied as raw bits of type ut (uchar/ushort/uint/ulong). Each panel of K x tn is
## contiguous, so the register kernel walks B with a small stride (no TLB or cache-set thrashing at large N)
## and strided/transposed B becomes vload-able. Work-item (panel, k block) copies bk rows of one panel.
<%def name="pack(ut, idx, bk, tn, trans=False)">
__kernel void k(__global const ${ut}* restrict src, const ${idx} s_off, const ${idx} s_bs, const ${idx} s_rs,
                const ${idx} s_cs, __global ${ut}* restrict dst, const int K, const int N, const int kt, const int nt)
{
    const int tp = get_global_id(0), tk = get_global_id(1);
    if (tp >= nt || tk >= kt) return;
    const ${idx} p = get_global_id(2);
    const int j0 = tp * ${tn}, k0 = tk * ${bk};
    const int jn = min(N - j0, ${tn}), k1 = min(k0 + ${bk}, K);
    __global const ${ut}* s = src + s_off + p * s_bs + (${idx})j0 * s_cs;
    __global ${ut}* d = dst + (p * nt + tp) * (${idx})K * ${tn};
% if trans:
    if (jn == ${tn} && k1 - k0 == 16) {
        // B stored transposed (row stride 1, 4-byte elements, bk = 16): 16 x 16 blocks read as columns (vload16
        // along k), transposed in registers (four shuffle2 stages) and stored as panel rows (measured on PoCL, the
        // 512 x 256 weight of x @ W.T, one thread: 62 -> 43 us against the element loop below)
% for qb in range(tn // 16):
        {
% for q in range(16):
            ${ut}16 m${q} = vload16(0, s + (${idx})${qb * 16 + q} * s_cs + k0);
% endfor
% for h in (8, 4, 2, 1):
% for i in range(16):
% if not (i & h):
            {
                const ${ut}16 x_ = m${i}, y_ = m${i + h};
                m${i} = shuffle2(x_, y_, (uint16)(${tmasks(h)[0]}));
                m${i + h} = shuffle2(x_, y_, (uint16)(${tmasks(h)[1]}));
            }
% endif
% endfor
% endfor
% for q in range(16):
            vstore16(m${q}, 0, d + (${idx})(k0 + ${q}) * ${tn} + ${qb * 16});
% endfor
        }
% endfor
        return;
    }
% endif
    for (int q = 0; q < jn; q++) {
        __global const ${ut}* sc = s + (${idx})q * s_cs;
        for (int k = k0; k < k1; k++)
            d[(${idx})k * ${tn} + q] = sc[(${idx})k * s_rs];
    }
    for (int q = jn; q < ${tn}; q++)
        for (int k = k0; k < k1; k++)
            d[(${idx})k * ${tn} + q] = (${ut})0;
}
</%def>
