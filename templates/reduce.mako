## Reduction kernels (see cltensor/_reductions.py for the layout choice and the launch geometry).
##
## After the host collapses dims, an input is (kept dims ksh/kst, rank kr) x (reduced dims rsh/rst, rank rr),
## both padded to rank 4 with size-1 dims so that one kernel serves every rank. The reduced space is walked in
## its row-major linear order r = 0..RN-1; work-item g owns a contiguous chunk [cix*C, min(cix*C + C, RN)) of
## it (S chunks per output, S = 1 unless outputs are few).
##   layout 'inner': one output per work-item (m = g / S); runs of the innermost reduced dim are read with
##                   `w`-wide vector loads into `u` vector accumulators when contiguous (a runtime check), with
##                   `blk`-deep block sums for float accuracy; argmax/argmin keep per-lane (value, index).
##   layout 'outer': a work-item owns `w` consecutive outputs along the innermost kept dim (lanes) and walks
##                   the reduced dims: vector loads across the lanes when that kept dim is contiguous.
##   layout 'sweep': (CPU) a work-item streams whole row segments into its tile of the [S, M] partials.
## With S > 1 ('partial') the kernel writes raw accumulators to a [M, S] buffer that a second launch of the
## 'inner' kernel (src = acc, stage2) reduces; only the last stage applies FIN and casts to the output dtype.
## Each element is mapped by MAP(x, aux) (x cast to cdt; aux: a per-output value such as a mean), combined by
## `op` (sum, prod, max, min, argmax, argmin) and finished by FIN(a, aux) (p0, p1: scalar parameters).
## Float max/min propagate NaN (select on isnan); argmax/argmin take the first index of the extreme (or NaN).
<%namespace name="c" file="common.mako"/>
<%namespace name="sp" file="special.mako"/>
<%namespace name="ew" file="elementwise.mako"/>
<%!
HEX = "0123456789abcdef"
_IMIN = {"char": "CHAR_MIN", "uchar": "0", "short": "SHRT_MIN", "int": "INT_MIN", "long": "LONG_MIN"}
_IMAX = {"char": "CHAR_MAX", "uchar": "UCHAR_MAX", "short": "SHRT_MAX", "int": "INT_MAX", "long": "LONG_MAX"}


def ident(op, A):
    cc = A.cc
    if op == "sum":
        return "((%s)(0, 0))" % cc if A.complex else "((%s)0)" % cc
    if op == "prod":
        return "((%s)(1, 0))" % cc if A.complex else "((%s)1)" % cc
    if op in ("max", "argmax"):
        return "(-INFINITY)" if A.isfloat else _IMIN[cc]
    if op in ("min", "argmin"):
        return "(INFINITY)" if A.isfloat else _IMAX[cc]
    raise ValueError(op)


def comb(op, a, v, A, w):
    """C statement: a = a (op) v, for scalars (w == 1) or w-wide vectors."""
    if op == "sum":
        return "%s += %s;" % (a, v)
    if op == "prod":
        return ("%s = c_mul(%s, %s);" % (a, a, v)) if A.complex else ("%s *= %s;" % (a, v))
    if op in ("max", "min"):
        # the common-function max/min (NaNs are handled by the select): PoCL 3.1 / LLVM 15 crashes compiling
        # fmin/fmax of vectors converted from vload_halfN
        f = op
        if A.isfloat:
            if w > 1:
                return ("{ const %s%d v_ = %s; %s = select(%s(%s, v_), %s + v_, isnan(%s) | isnan(v_)); }"
                        % (A.cc, w, v, a, f, a, a, a))
            return ("{ const %s v_ = %s; %s = (isnan(%s) || isnan(v_)) ? %s + v_ : %s(%s, v_); }"
                    % (A.cc, v, a, a, a, f, a))
        return "%s = %s(%s, %s);" % (a, op, a, v)
    raise ValueError(op)


def better(op, v, a, A):
    """Condition for an arg-reduction to take v over the current a (first index wins ties; NaN wins)."""
    cmp = ">" if op == "argmax" else "<"
    if A.isfloat:
        return "((%s) %s (%s) || (isnan(%s) && !isnan(%s)))" % (v, cmp, a, v, a)
    return "((%s) %s (%s))" % (v, cmp, a)


def loadv(T, A, w, ptr, off):
    """w-wide vector load of T at ptr[off..off+w), converted to A's compute type."""
    if T.half:
        e = "vload_half%d(0, %s + %s)" % (w, ptr, off)
        src = "float"
    elif T.bf16:
        e = "as_float%d(convert_uint%d(vload%d(0, (__global const ushort*)(%s + %s))) << 16)" % (w, w, w, ptr, off)
        src = "float"
    else:
        e = "vload%d(0, %s + %s)" % (w, ptr, off)
        src = T.ct
    if src != A.cc:
        e = "convert_%s%d(%s)" % (A.cc, w, e)
    return e


def macro_args(expr, names):
    """Rename the free identifiers of expr (x, aux, a) to macro parameter names that no member access
    (such as the complex `.x`) can collide with."""
    import re
    for n in names:
        expr = re.sub(r"(?<![.\w])%s(?!\w)" % n, "_%s_" % n, expr)
    return expr


def lanes(v, w):
    return ["(%s).s%s" % (v, HEX[i]) for i in range(w)] if w > 1 else [v]
%>

<%def name="_kargs(kr, rr, idx)">
% for d in range(kr):
                , const ${idx} ksh${d}, const ${idx} kst${d}
% endfor
% for d in range(rr):
                , const ${idx} rsh${d}, const ${idx} rst${d}
% endfor
</%def>

## Walk the chunk [r0, r1) of the reduced space; the body sees p (offset of the run's first element),
## run (its length along the innermost reduced dim, stride rst<rr-1>) and r (its linear index).
<%def name="traverse(rr, idx)">
    {
        ${idx} r = r0;
% if rr == 1:
        if (r < r1) {
            const ${idx} p = base + r0 * rst0;
            const ${idx} run = r1 - r0;
            ${caller.body()}
        }
% else:
        ${idx} t_ = r0;
% for d in range(rr - 1, 0, -1):
        ${idx} c${d} = t_ % rsh${d}; t_ /= rsh${d};
% endfor
        ${idx} c0 = t_;
        while (r < r1) {
            const ${idx} p = base ${"".join(" + c%d * rst%d" % (d, d) for d in range(rr))};
            const ${idx} run = min(rsh${rr - 1} - c${rr - 1}, r1 - r);
            ${caller.body()}
            r += run;
            c${rr - 1} = 0;
            c${rr - 2}++;
% for d in range(rr - 2, 0, -1):
            if (c${d} == rsh${d}) { c${d} = 0; c${d - 1}++; }
% endfor
        }
% endif
    }
</%def>

<%def name="_head(src, cdt, acc, out, mapx, fin, arg, aux, stage2, idx, kr, rr)">
${c.preamble((src, cdt, acc, out))}
#define MAP(_x_, _aux_) (${macro_args(mapx, ("x", "aux"))})
#define FIN(_a_, _aux_) (${macro_args(fin, ("a", "aux"))})
<% P = "double" if acc.cc in ("double", "double2") else "float" %>
__kernel void k(__global const ${src.ct}* restrict in, const ${idx} in_off,
% if stage2 and arg:
                __global const long* restrict inidx,
% endif
                __global ${out.ct}* restrict out, const ${idx} out_off,
% if arg:
                __global long* restrict oidx, const ${idx} oidx_off,
% endif
% if aux:
                __global const ${acc.ct}* restrict auxb,
% else:
                __global const ${acc.ct}* restrict auxb_unused,
% endif
                const ${P} p0, const ${P} p1,
                const ${idx} NW, const ${idx} S, const ${idx} C, const ${idx} RN, const ${idx} NKG
                ${_kargs(kr, rr, idx)})
</%def>

## ------------------------------------------------------------------------------------------ inner layout
<%def name="inner(src, cdt, acc, out, op, mapx, fin, kr, rr, w, u, blk, aux, partial, stage2, idx)">
<%
    A = acc.cc
    arg = op in ("argmax", "argmin")
    vec = w > 1 and not arg
    varg = w > 1 and arg and not stage2
    IV = ("int" if acc.d.itemsize == 4 else "long") + str(w)
    RS = "rst%d" % (rr - 1)
    def load(off):
        return cdt.cast_from(src.load("in", off), src)
    def vbetter(v, a):
        cmp = ">" if op == "argmax" else "<"
        if acc.isfloat:
            return "((%s %s %s) | (isnan(%s) & !isnan(%s)))" % (v, cmp, a, v, a)
        return "(%s %s %s)" % (v, cmp, a)
%>
${_head(src, cdt, acc, out, mapx, fin, arg, aux, stage2, idx, kr, rr)}
{
    const ${idx} g = get_global_id(0);
    if (g >= NW) return;
    const ${idx} m = g / S;
    const ${idx} cix = g - m * S;
    ${idx} base = in_off;
    {
        ${idx} t_ = m;
% for d in range(kr - 1, 0, -1):
        base += (t_ % ksh${d}) * kst${d}; t_ /= ksh${d};
% endfor
% if kr > 0:
        base += t_ * kst0;
% endif
    }
% if aux:
    const ${A} aux = auxb[m];
% else:
    const ${A} aux = ${ident("sum", acc)};
% endif
    const ${idx} r0 = cix * C;
    const ${idx} r1 = min(r0 + C, RN);
    ${A} sacc = ${ident(op, acc)};
% if arg:
    long ai = ${"inidx[base]" if stage2 else "(long)r0"};
% endif
% if vec or varg:
% for j in range(u):
    ${A}${w} vacc${j} = (${A}${w})(${ident(op, acc)});
% endfor
% endif
% if varg:
% for j in range(u):
    ${IV} vi${j} = (${IV})(${"INT_MAX" if acc.d.itemsize == 4 else "LONG_MAX"});
% endfor
    const ${IV} lane_ = (${IV})(${", ".join(str(q) for q in range(w))});
% endif
    <%call expr="traverse(rr, idx)">
% if varg:
        ${idx} i = 0;
        if (${RS} == 1) {
            for (; i + ${w * u} <= run; i += ${w * u}) {
% for j in range(u):
                {
                    const ${A}${w} v_ = MAP(${loadv(src, acc, w, "in", "p + i + %d" % (j * w))}, aux);
                    const ${IV} m_ = ${vbetter("v_", "vacc%d" % j)};
                    vacc${j} = select(vacc${j}, v_, m_);
                    vi${j} = select(vi${j}, lane_ + (${IV})(r + i + ${j * w}), m_);
                }
% endfor
            }
        }
        for (; i < run; i++) {
            const ${A} v = MAP(${load("p + i * " + RS)}, aux);
            if (${better(op, "v", "sacc", acc)}) { sacc = v; ai = (long)(r + i); }
        }
% elif arg:
        for (${idx} i = 0; i < run; i++) {
            const ${A} v = MAP(${load("p + i * " + RS)}, aux);
            if (${better(op, "v", "sacc", acc)}) { sacc = v; ai = ${"inidx[p + i * %s]" % RS if stage2 else "(long)(r + i)"}; }
        }
% elif vec:
        ${idx} i = 0;
        if (${RS} != 1) {
            for (; i < run; i++) {
                ${comb(op, "sacc", "MAP(%s, aux)" % load("p + i * " + RS), acc, 1)}
            }
        }
% if blk > 1:
        for (; i + ${w * u * blk} <= run; ) {
% for j in range(u):
            ${A}${w} b${j} = (${A}${w})(${ident(op, acc)});
% endfor
            for (int bb = 0; bb < ${blk}; bb++, i += ${w * u}) {
% for j in range(u):
                ${comb(op, "b%d" % j, "MAP(%s, aux)" % loadv(src, acc, w, "in", "p + i + %d" % (j * w)), acc, w)}
% endfor
            }
% for j in range(u):
            ${comb(op, "vacc%d" % j, "b%d" % j, acc, w)}
% endfor
        }
% endif
        for (; i + ${w * u} <= run; i += ${w * u}) {
% for j in range(u):
            ${comb(op, "vacc%d" % j, "MAP(%s, aux)" % loadv(src, acc, w, "in", "p + i + %d" % (j * w)), acc, w)}
% endfor
        }
        for (; i < run; i++) {
            ${comb(op, "sacc", "MAP(%s, aux)" % load("p + i"), acc, 1)}
        }
% else:
        for (${idx} i = 0; i < run; i++) {
            ${comb(op, "sacc", "MAP(%s, aux)" % load("p + i * " + RS), acc, 1)}
        }
% endif
    </%call>
% if varg:
% for j in range(u):
% for l in range(w):
    {
        const ${A} cv = vacc${j}.s${HEX[l]};
        const long ci = (long)vi${j}.s${HEX[l]};
        if (${better(op, "cv", "sacc", acc)} || (ci < ai && (cv == sacc${" || (isnan(cv) && isnan(sacc))" if acc.isfloat else ""}))) { sacc = cv; ai = ci; }
    }
% endfor
% endfor
% endif
% if vec:
% for j in range(1, u):
    ${comb(op, "vacc0", "vacc%d" % j, acc, w)}
% endfor
% for l in lanes("vacc0", w):
    ${comb(op, "sacc", l, acc, 1)}
% endfor
% endif
% if partial:
    out[g] = sacc;
% if arg:
    oidx[g] = ai;
% endif
% else:
    ${out.store("out", "out_off + m", out.cast_from("FIN(sacc, aux)", acc))};
% if arg:
    oidx[oidx_off + m] = ai;
% endif
% endif
}
</%def>

## ------------------------------------------------------------------------------------------ outer layout
<%def name="outer(src, cdt, acc, out, op, mapx, fin, kr, rr, w, vw, aux, partial, idx)">
<%
    A = acc.cc
    arg = op in ("argmax", "argmin")
    vec = vw > 1 and not arg
    nv = w // vw if vec else 0
    RS = "rst%d" % (rr - 1)
    LS = "kst%d" % (kr - 1)
    def load(off):
        return cdt.cast_from(src.load("in", off), src)
%>
${_head(src, cdt, acc, out, mapx, fin, arg, aux, False, idx, kr, rr)}
{
    const ${idx} g = get_global_id(0);
    if (g >= NW) return;
    const ${idx} grp = g / S;
    const ${idx} cix = g - grp * S;
    const ${idx} mo = grp / NKG;
    const ${idx} k0 = (grp - mo * NKG) * ${w};
    const int nl = (int)min((${idx})${w}, ksh${kr - 1} - k0);
    ${idx} base = in_off + k0 * ${LS};
    {
        ${idx} t_ = mo;
% for d in range(kr - 2, 0, -1):
        base += (t_ % ksh${d}) * kst${d}; t_ /= ksh${d};
% endfor
% if kr > 1:
        base += t_ * kst0;
% endif
    }
    const ${idx} m0 = mo * ksh${kr - 1} + k0;
    const ${idx} r0 = cix * C;
    const ${idx} r1 = min(r0 + C, RN);
    ${A} la[${w}];
% if arg:
    long li[${w}];
% endif
% if aux:
    ${A} lx[${w}];
% endif
    for (int q = 0; q < ${w}; q++) {
        la[q] = ${ident(op, acc)};
% if arg:
        li[q] = (long)r0;
% endif
% if aux:
        lx[q] = (q < nl) ? auxb[m0 + q] : (${A})0;
% endif
    }
% if vec:
    if (nl == ${w} && ${LS} == 1) {
% for j in range(nv):
        ${A}${vw} va${j} = (${A}${vw})(${ident(op, acc)});
% if aux:
        const ${A}${vw} auxv${j} = vload${vw}(0, auxb + m0 + ${j * vw});
% else:
        const ${A} auxv${j} = ${ident("sum", acc)};
% endif
% endfor
        <%call expr="traverse(rr, idx)">
        for (${idx} i = 0; i < run; i++) {
            const ${idx} pp = p + i * ${RS};
% for j in range(nv):
            ${comb(op, "va%d" % j, "MAP(%s, auxv%d)" % (loadv(src, acc, vw, "in", "pp + %d" % (j * vw)), j), acc, vw)}
% endfor
        }
        </%call>
% for j in range(nv):
        vstore${vw}(va${j}, 0, la + ${j * vw});
% endfor
    } else
% endif
    {
        <%call expr="traverse(rr, idx)">
        for (${idx} i = 0; i < run; i++) {
            const ${idx} pp = p + i * ${RS};
            for (int q = 0; q < nl; q++) {
                {
% if arg:
                    const ${A} v = MAP(${load("pp + q * " + LS)}, ${"lx[q]" if aux else "0"});
                    if (${better(op, "v", "la[q]", acc)}) { la[q] = v; li[q] = (long)(r + i); }
% else:
                    ${comb(op, "la[q]", "MAP(%s, %s)" % (load("pp + q * " + LS), "lx[q]" if aux else "0"), acc, 1)}
% endif
                }
            }
        }
        </%call>
    }
    for (int q = 0; q < nl; q++) {
% if partial:
        out[(m0 + q) * S + cix] = la[q];
% if arg:
        oidx[(m0 + q) * S + cix] = li[q];
% endif
% else:
        ${out.store("out", "out_off + m0 + q", out.cast_from("FIN(la[q], %s)" % ("lx[q]" if aux else "0"), acc))};
% if arg:
        oidx[oidx_off + m0 + q] = li[q];
% endif
% endif
    }
}
</%def>

## ------------------------------------------------------------------------------------------ sweep layout
## CPU form of 'outer' for a contiguous innermost kept dim: a work-item owns a tile of up to TW consecutive
## outputs and a chunk of the reduced space, and streams whole contiguous row segments, accumulating into its
## tile of the [S, M] partial buffer (which stays in L1/L2). Rows are read sequentially, so prefetchers and
## the TLB see a plain stream instead of one page per row per work-item. A second launch ('outer' over the
## S partial rows) combines the chunks and applies FIN.
<%def name="sweep(src, cdt, acc, op, mapx, kr, rr, tw, vw, rb, aux, idx)">
<%
    A = acc.cc
    RS = "rst%d" % (rr - 1)
    def load(off):
        return cdt.cast_from(src.load("in", off), src)
%>
${c.preamble((src, cdt, acc))}
#define MAP(_x_, _aux_) (${macro_args(mapx, ("x", "aux"))})
__kernel void k(__global const ${src.ct}* restrict in, const ${idx} in_off,
                __global ${acc.ct}* restrict part, const ${idx} M,
                __global const ${acc.ct}* restrict auxb,
                const ${idx} NW, const ${idx} S, const ${idx} C, const ${idx} RN, const ${idx} NKG
                ${_kargs(kr, rr, idx)})
{
    const ${idx} g = get_global_id(0);
    if (g >= NW) return;
    const ${idx} grp = g / S;
    const ${idx} cix = g - grp * S;
    const ${idx} mo = grp / NKG;
    const ${idx} t0 = (grp - mo * NKG) * ${tw};
    const ${idx} tw = min((${idx})${tw}, ksh${kr - 1} - t0);
    ${idx} base = in_off + t0;
    {
        ${idx} t_ = mo;
% for d in range(kr - 2, 0, -1):
        base += (t_ % ksh${d}) * kst${d}; t_ /= ksh${d};
% endfor
% if kr > 1:
        base += t_ * kst0;
% endif
    }
    const ${idx} m0 = mo * ksh${kr - 1} + t0;
    __global ${A}* restrict ap = part + cix * M + m0;
% if aux:
    __global const ${A}* restrict xp = auxb + m0;
% endif
    for (${idx} j = 0; j < tw; j++) ap[j] = ${ident(op, acc)};
    const ${idx} r0 = cix * C;
    const ${idx} r1 = min(r0 + C, RN);
    <%call expr="traverse(rr, idx)">
    ${idx} i = 0;
    for (; i + ${rb} <= run; i += ${rb}) {
        /* ${rb} rows per read-modify-write of the partial tile */
        __global const ${src.ct}* restrict ip = in + (p + i * ${RS});
        ${idx} j = 0;
        for (; j + ${vw} <= tw; j += ${vw}) {
            ${A}${vw} a_ = vload${vw}(0, ap + j);
% if aux:
            const ${A}${vw} x_ = vload${vw}(0, xp + j);
% endif
% for q in range(rb):
            ${comb(op, "a_", "MAP(%s, %s)" % (loadv(src, acc, vw, "ip", "j + %d * %s" % (q, RS)), "x_" if aux else "0"), acc, vw)}
% endfor
            vstore${vw}(a_, 0, ap + j);
        }
        for (; j < tw; j++) {
            ${A} a_ = ap[j];
% for q in range(rb):
            ${comb(op, "a_", "MAP(%s, %s)" % (cdt.cast_from(src.load("ip", "j + %d * %s" % (q, RS)), src), "xp[j]" if aux else "0"), acc, 1)}
% endfor
            ap[j] = a_;
        }
    }
    for (; i < run; i++) {
        __global const ${src.ct}* restrict ip = in + (p + i * ${RS});
        ${idx} j = 0;
        for (; j + ${vw} <= tw; j += ${vw}) {
            ${A}${vw} a_ = vload${vw}(0, ap + j);
            ${comb(op, "a_", "MAP(%s, %s)" % (loadv(src, acc, vw, "ip", "j"), ("vload%d(0, xp + j)" % vw) if aux else "0"), acc, vw)}
            vstore${vw}(a_, 0, ap + j);
        }
        for (; j < tw; j++) {
            ${A} a_ = ap[j];
            ${comb(op, "a_", "MAP(%s, %s)" % (cdt.cast_from(src.load("ip", "j"), src), "xp[j]" if aux else "0"), acc, 1)}
            ap[j] = a_;
        }
    }
    </%call>
}
</%def>

## Sum of a fused elementwise expression over all its elements (cltensor/_fusion.py: `((a - b) ** 2).mean()`
## in one pass, no intermediate tensor). Operands use the flat elementwise layout ('t' contiguous, 'b' one
## broadcast element, 's' scalar argument); work-item g sums the chunk [g*chunk, min(g*chunk + chunk, n)) in 8
## lanes with 16-deep block sums (float accuracy) and writes one partial; the host sums the partials.
<%def name="fused_all(acc, ins, kinds, cdts, rdt, expr, idx)">
${c.preamble((acc, rdt) + ins + cdts + expr[2])}
% if "sp_" in " ".join(expr[0]) + " " + expr[1]:
${sp.helpers((acc, rdt) + ins + cdts + expr[2], " ".join(expr[0]) + " " + expr[1])}
% endif
__kernel void k(__global ${acc.ct}* restrict part ${ew._args(ins, kinds, idx)}, const ${idx} n, const ${idx} chunk)
{
    const ${idx} g = get_global_id(0);
    const ${idx} lo = g * chunk;
    if (lo >= n) return;
    const ${idx} hi = min(lo + chunk, n);
% for j, kd in enumerate(kinds):
% if kd == 'b':
    const ${ins[j].cc} b${j} = ${ins[j].load("in%d" % j, "off%d" % j)};
% endif
% endfor
<%
    def val(j, i):
        if kinds[j] == 's': return "s%d" % j
        if kinds[j] == 'b': return "b%d" % j
        return ins[j].load("in%d" % j, "off%d + %s" % (j, i))
%>
    ${acc.cc} s_[8];
    for (int q = 0; q < 8; q++) s_[q] = ${acc.zero()};
    ${idx} i0 = lo;
    while (i0 + 8 <= hi) {
        ${acc.cc} t_[8];
        for (int q = 0; q < 8; q++) t_[q] = ${acc.zero()};
        const ${idx} e0 = min(i0 + 128, hi - 7);
        for (; i0 < e0; i0 += 8) {
            for (int q = 0; q < 8; q++) {
                ${acc.cc} res_;
                ${ew._eval(acc, ins, kinds, cdts, rdt, expr, [val(j, "i0 + q") for j in range(len(ins))])}
                t_[q] += res_;
            }
        }
        for (int q = 0; q < 8; q++) s_[q] += t_[q];
    }
    for (; i0 < hi; i0++) {
        ${acc.cc} res_;
        ${ew._eval(acc, ins, kinds, cdts, rdt, expr, [val(j, "i0") for j in range(len(ins))])}
        s_[0] += res_;
    }
    part[g] = ((s_[0] + s_[1]) + (s_[2] + s_[3])) + ((s_[4] + s_[5]) + (s_[6] + s_[7]));
}
</%def>
