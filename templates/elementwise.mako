## Elementwise map kernels: out = expr(x0, x1, ...), one kernel per (op expression, dtypes, layout).
## Operands are tensors ('t'), tensors broadcast to every element ('b', flat layout only) or scalar
## arguments ('s'). Each operand is loaded in its storage dtype, cast to its compute dtype cdts[j],
## the expression is evaluated in rdt and cast to the output dtype.
<%namespace name="c" file="common.mako"/>
<%namespace name="sp" file="special.mako"/>

<%def name="_args(ins, kinds, idx)">
% for j, (t, kd) in enumerate(zip(ins, kinds)):
% if kd == 's':
    , const ${t.cc} s${j}
% else:
    , __global const ${t.ct}* restrict in${j}, const ${idx} off${j}
% endif
% endfor
</%def>

<%def name="_pre(out, rdt, ins, cdts, expr)">
## the preamble for every dtype the kernel uses (a fused chain's statements may use more: expr[2])
${c.preamble((out, rdt) + ins + cdts + (expr[2] if isinstance(expr, tuple) else ()))}
## special functions (templates/special.mako) only for expressions that call one (sp_...)
<% sp_text = expr if isinstance(expr, str) else " ".join(expr[0]) + " " + expr[1] %>\
% if "sp_" in sp_text:
${sp.helpers((out, rdt) + ins + cdts + (expr[2] if isinstance(expr, tuple) else ()), sp_text)}
% endif
</%def>

<%def name="_eval(out, ins, kinds, cdts, rdt, expr, vals)">
<%doc> vals[j]: C expression of operand j in its storage-compute type </%doc>
{
% for j in range(len(ins)):
    const ${cdts[j].cc} x${j} = ${cdts[j].cast_from(vals[j], ins[j])};
% endfor
% if isinstance(expr, tuple):
## a fused chain (cltensor/_fusion.py): (statements, final value, dtypes the statements use)
% for s in expr[0]:
    ${s}
% endfor
    const ${rdt.cc} r_ = (${expr[1]});
% else:
    const ${rdt.cc} r_ = (${expr});
% endif
    res_ = ${out.cast_from("r_", rdt)};
}
</%def>

## vfn: the expression is vfn(x0) of one contiguous operand of the output's dtype: 8 elements go through the
## vector form of the builtin (PoCL vectorises log, sin, expm1 ... only for explicit vector types: 7-14x faster)
## vexpr: plain arithmetic on one non-half dtype: full blocks evaluate the expression itself on 8-wide vectors
## (PoCL's loop over 8 scalar loads/stores ran ~12% below memory bandwidth on a 16M add)
## nt (CPU devices, outputs far larger than the caches): full 8-element blocks are written with non-temporal
## stores, which skip the read-for-ownership of each output line (16M float32 add: 9.97 -> 7.25 ms on PoCL);
## x86 faults on a misaligned non-temporal vector store, so a block checks its address first
<%def name="_vstore(out, w, val, addr, nt)">\
<% VO = "%s%d" % (out.cc, w) %>\
% if nt:
{
            __global ${VO}* po_ = (__global ${VO}*)(${addr});
#if defined(__clang__)
            if ((((ulong)po_) & (sizeof(${VO}) - 1)) == 0) __builtin_nontemporal_store((${VO})(${val}), po_);
            else
#endif
            vstore${w}((${VO})(${val}), 0, ${addr});
        }\
% else:
vstore${w}((${VO})(${val}), 0, ${addr});\
% endif
</%def>

## ct_sin8 / ct_cos8 / ct_tan8: float sin, cos, tan on 8 lanes for CPU devices (PoCL's scalar forms run one lane
## at a time, ~20 ns each; its vector forms are wrong next to a huge lane). The argument is reduced by pi/2 in
## double precision (j = rint(x * 2/pi), r = x - j * pi/2 with pi/2 as two doubles and fma: exact to well below
## float rounding for |x| < 2^20), then Cephes' float minimax polynomials on [-pi/4, pi/4] and the quadrant
## j mod 4 pick the result. Lanes beyond 2^20 go through the scalar builtin (full Payne-Hanek reduction);
## |x| < 2^-12 returns x for sin and tan (exact in float, keeps -0.0). NaN and inf give NaN.
<%def name="_trig8(fn)">
inline float8 ct_trig_big8(float8 x, float8 r, int f)
{
    if (!any(fabs(x) > 1048576.0f)) return r;
    float xs[8], rs[8];
    vstore8(x, 0, xs);
    vstore8(r, 0, rs);
    for (int q = 0; q < 8; q++)
        if (fabs(xs[q]) > 1048576.0f && !isinf(xs[q]))
            rs[q] = f == 0 ? sin(xs[q]) : f == 1 ? cos(xs[q]) : tan(xs[q]);
    return vload8(0, rs);
}
inline float8 ct_${fn}8(float8 x)
{
    const double8 xd = convert_double8(x);
    const double8 j = rint(xd * 0.63661977236758134308);
    double8 rd = fma(-j, 1.57079632679489655800e+00, xd);
    rd = fma(-j, 6.12323399573676603587e-17, rd);
    const float8 r = convert_float8(rd);
    const int8 q = convert_int8(convert_long8(j) & 3L);
    const float8 z = r * r;
% if fn == "tan":
    float8 y = fma(fma(fma(fma(fma(fma(9.38540185543e-3f, z, 3.11992232697e-3f), z, 2.44301354525e-2f), z,
                                5.34112807005e-2f), z, 1.33387994085e-1f), z, 3.33331568548e-1f), z * r, r);
    y = select(y, -1.0f / y, (q & 1) != 0);
    const float8 res = select(y, x, fabs(x) < 0.000244140625f);
    return ct_trig_big8(x, res, 2);
% else:
    const float8 s = fma(fma(fma(-1.9515295891e-4f, z, 8.3321608736e-3f), z, -1.6666654611e-1f), z * r, r);
    const float8 c = fma(fma(fma(2.443315711809948e-5f, z, -1.388731625493765e-3f), z, 4.166664568298827e-2f),
                         z * z, fma(-0.5f, z, 1.0f));
% if fn == "sin":
    float8 y = select(s, c, (q & 1) != 0);
    y = select(y, -y, (q & 2) != 0);
    const float8 res = select(y, x, fabs(x) < 0.000244140625f);
    return ct_trig_big8(x, res, 0);
% else:
    float8 y = select(c, s, (q & 1) != 0);
    y = select(y, -y, ((q + 1) & 2) != 0);
    return ct_trig_big8(x, y, 1);
% endif
% endif
}
</%def>

<%def name="flat(out, ins, kinds, cdts, rdt, expr, idx, vfn='', vexpr=False, nt=False)">
${_pre(out, rdt, ins, cdts, expr)}
% if vfn in ("ct_sin8", "ct_cos8", "ct_tan8"):
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
${_trig8(vfn[3:6])}
% endif
__kernel void k(__global ${out.ct}* restrict out, const ${idx} out_off ${_args(ins, kinds, idx)}, const ${idx} n)
{
    const ${idx} base = (${idx})get_global_id(0) * 8;
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
<%
    hin = [j for j, kd in enumerate(kinds) if kd == 't' and ins[j].half]
    def vval(j, i):
        return ("hv%d[q]" % j) if j in hin else val(j, i)
%>
    if (base + 8 <= n) {
% if vfn:
<% src = ("vload_half8(0, in0 + off0 + base)" if ins[0].half else "vload8(0, in0 + off0 + base)") %>
% if out.half:
        vstore_half8_rte(${vfn}(${src}), 0, out + out_off + base);
% else:
        ${_vstore(out, 8, "%s(%s)" % (vfn, src), "out + out_off + base", nt)}
% endif
    } else if (0) {
% elif vexpr:
<% VO = "%s8" % out.cc %>
% for j, kd in enumerate(kinds):
% if kd == 't':
        const ${VO} x${j} = vload8(0, in${j} + off${j} + base);
% elif kd == 'b':
        const ${out.cc} x${j} = b${j};
% else:
        const ${out.cc} x${j} = s${j};
% endif
% endfor
        ${_vstore(out, 8, expr, "out + out_off + base", nt)}
    } else if (0) {
% endif
## half storage: 8 values per vload_half8 / vstore_half8 (the scalar forms are ~20x slower on PoCL)
% for j in hin:
        float hv${j}[8];
        vstore8(vload_half8(0, in${j} + off${j} + base), 0, hv${j});
% endfor
% if out.half:
        float ho_[8];
% endif
        /* no '#pragma unroll': unrolled, PoCL's vectoriser made math calls (exp) 5-9x slower */
        for (int q = 0; q < 8; q++) {
            ${out.cc} res_;
            ${_eval(out, ins, kinds, cdts, rdt, expr, [vval(j, "base + q") for j in range(len(ins))])}
% if out.half:
            ho_[q] = res_;
% else:
            ${out.store("out", "out_off + base + q", "res_")};
% endif
        }
% if out.half:
        vstore_half8_rte(vload8(0, ho_), 0, out + out_off + base);
% endif
    } else {
        for (${idx} i = base; i < n; i++) {
            ${out.cc} res_;
            ${_eval(out, ins, kinds, cdts, rdt, expr, [val(j, "i") for j in range(len(ins))])}
            ${out.store("out", "out_off + i", "res_")};
        }
    }
}
</%def>

## Strided layout of rank R (after collapsing dims): each work-item walks a chunk of CH elements of the
## innermost dim, so the index decomposition (divisions) is paid once per chunk, not per element.
## With ounit (output's innermost stride 1), operands of kind 'u' (innermost stride 1) and 'z' (innermost stride
## 0: one value per row, a broadcast) are addressed with compile-time strides, so full chunks vectorise.
<%def name="strided(out, ins, kinds, cdts, rdt, expr, idx, rank, ch, ounit)">
${_pre(out, rdt, ins, cdts, expr)}
<% tens = [j for j, kd in enumerate(kinds) if kd != 's'] %>
__kernel void k(__global ${out.ct}* restrict out, const ${idx} out_off ${_args(ins, kinds, idx)},
                const ${idx} nwork, const ${idx} nch
% for d in range(rank):
                , const ${idx} sh${d}, const ${idx} os${d}
% for j in tens:
                , const ${idx} st${j}_${d}
% endfor
% endfor
                )
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} row = g / nch;
    ${idx} c0 = (g - row * nch) * ${ch};
    const ${idx} e = min(c0 + ${ch}, sh${rank - 1});
    ${idx} po = out_off + c0 * os${rank - 1};
% for j in tens:
    ${idx} p${j} = off${j} + c0 * st${j}_${rank - 1};
% endfor
% for d in range(rank - 2, -1, -1):
    {
% if d > 0:
        const ${idx} cd = row % sh${d};
        row /= sh${d};
% else:
        const ${idx} cd = row;
% endif
        po += cd * os${d};
% for j in tens:
        p${j} += cd * st${j}_${d};
% endfor
    }
% endfor
% if ounit:
<%
    def uval(j, i):
        if kinds[j] == 's': return "s%d" % j
        if kinds[j] == 'z': return "z%d" % j
        if kinds[j] == 'u': return ins[j].load("in%d" % j, "p%d + %s" % (j, i))
        return ins[j].load("in%d" % j, "p%d + %s * st%d_%d" % (j, i, j, rank - 1))
%>
% for j in tens:
% if kinds[j] == 'z':
    const ${ins[j].cc} z${j} = ${ins[j].load("in%d" % j, "p%d" % j)};
% endif
% endfor
    if (e - c0 == ${ch}) {
        for (int q = 0; q < ${ch}; q++) {
            ${out.cc} res_;
            ${_eval(out, ins, kinds, cdts, rdt, expr, [uval(j, "q") for j in range(len(ins))])}
            ${out.store("out", "po + q", "res_")};
        }
    } else {
        const int m = (int)(e - c0);
        for (int q = 0; q < m; q++) {
            ${out.cc} res_;
            ${_eval(out, ins, kinds, cdts, rdt, expr, [uval(j, "q") for j in range(len(ins))])}
            ${out.store("out", "po + q", "res_")};
        }
    }
% else:
<% vals = ["s%d" % j if kinds[j] == 's' else ins[j].load("in%d" % j, "p%d" % j) for j in range(len(ins))] %>
    for (${idx} i = c0; i < e; i++) {
        ${out.cc} res_;
        ${_eval(out, ins, kinds, cdts, rdt, expr, vals)}
        ${out.store("out", "po", "res_")};
        po += os${rank - 1};
% for j in tens:
        p${j} += st${j}_${rank - 1};
% endfor
    }
% endif
}
</%def>

## Tiled layout of rank R (R >= 2), for operands whose fastest dim is not the output's (transposed/permuted
## views): each work-item computes a TB x TB tile of the two innermost dims (R-2: rows r, R-1: the output's fast
## dim c). Operands of kind 'T' are fastest along R-2, 't' operands are read in the output's order.
## Work-items walk super-tiles of (str x stc) tiles so that a work-group's tiles share pages and cache lines of
## both orders (walking whole tile rows first was 2-3x slower: every tile then touches TB fresh rows of a 'T'
## operand). Full tiles with unit inner strides take a vector path: TB vector loads per 'T' operand along its
## own fast dim, an in-register transpose (log2(TB) rounds of swizzles) and row-wise compute and stores;
## edge tiles and other strides take a scalar path. `vec` is False where a dtype has no vector type (complex).
<%def name="tiled(out, ins, kinds, cdts, rdt, expr, idx, rank, tb, vec, vexpr, nt=False)">
${_pre(out, rdt, ins, cdts, expr)}
<%
    tens = [j for j, kd in enumerate(kinds) if kd != 's']
    tl = [j for j, kd in enumerate(kinds) if kd == 'T']
    dl = [j for j, kd in enumerate(kinds) if kd == 't']
    R = rank
    hx = "0123456789abcdef"
%>
__kernel void k(__global ${out.ct}* restrict out, const ${idx} out_off ${_args(ins, kinds, idx)},
                const ${idx} nwork, const ${idx} ntr, const ${idx} ntc, const ${idx} nsr, const ${idx} nsc,
                const ${idx} str, const ${idx} stc
% for d in range(rank):
                , const ${idx} sh${d}, const ${idx} os${d}
% for j in tens:
                , const ${idx} st${j}_${d}
% endfor
% endfor
                )
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    const ${idx} sn = str * stc;
    ${idx} row = g / sn;
    const ${idx} w = g - row * sn;
    ${idx} sg = row;
    row = sg / nsc;
    const ${idx} sc = sg - row * nsc;
    sg = row;
    row = sg / nsr;
    const ${idx} sr = sg - row * nsr;
    const ${idx} wr = w / stc;
    const ${idx} tr = sr * str + wr, tc = sc * stc + (w - wr * stc);
    if (tr >= ntr || tc >= ntc) return;
    const ${idx} r0 = tr * ${tb}, c0 = tc * ${tb};
    const int re = (int)min((${idx})${tb}, sh${R - 2} - r0);
    const int ce = (int)min((${idx})${tb}, sh${R - 1} - c0);
    ${idx} po = out_off + r0 * os${R - 2} + c0 * os${R - 1};
% for j in tens:
    ${idx} p${j} = off${j} + r0 * st${j}_${R - 2} + c0 * st${j}_${R - 1};
% endfor
% for d in range(R - 3, -1, -1):
    {
% if d > 0:
        const ${idx} cd = row % sh${d};
        row /= sh${d};
% else:
        const ${idx} cd = row;
% endif
        po += cd * os${d};
% for j in tens:
        p${j} += cd * st${j}_${d};
% endfor
    }
% endfor
<%
    def sval(j):
        if kinds[j] == 's': return "s%d" % j
        return ins[j].load("in%d" % j, "p%d + r * st%d_%d + c * st%d_%d" % (j, j, R - 2, j, R - 1))
    conds = ["re == %d" % tb, "ce == %d" % tb, "os%d == 1" % (R - 1)]
    conds += ["st%d_%d == 1" % (j, R - 2) for j in tl] + ["st%d_%d == 1" % (j, R - 1) for j in dl]
%>
% if vec:
    if (${" && ".join(conds)}) {
% for j in tl:
<% V = "%s%d" % (ins[j].cc, tb) %>
        ${V} v${j}_0\
% for i in range(1, tb):
, v${j}_${i}\
% endfor
;
% for i in range(tb):
% if ins[j].half:
        v${j}_${i} = vload_half${tb}(0, in${j} + p${j} + ${i} * st${j}_${R - 1});
% else:
        v${j}_${i} = vload${tb}(0, in${j} + p${j} + ${i} * st${j}_${R - 1});
% endif
% endfor
<% h = tb // 2 %>
% while h >= 1:
% for i in range(tb):
% if not (i & h):
<%
    X, Y = "v%d_%d" % (j, i), "v%d_%d" % (j, i + h)
    e1 = ", ".join("%s.s%s" % (X if (q & h) == 0 else Y, hx[q if (q & h) == 0 else q - h]) for q in range(tb))
    e2 = ", ".join("%s.s%s" % (X if (q & h) == 0 else Y, hx[q + h if (q & h) == 0 else q]) for q in range(tb))
%>
        { const ${V} a_ = (${V})(${e1}), b_ = (${V})(${e2}); ${X} = a_; ${Y} = b_; }
% endif
% endfor
<% h //= 2 %>
% endwhile
% if not vexpr:
        ${ins[j].cc} w${j}[${tb}];
% endif
% endfor
% if vexpr:
## plain arithmetic on one dtype: the expression itself runs on TB-wide vectors, one output row per statement
<% VO = "%s%d" % (out.cc, tb) %>
% for r in range(tb):
        {
% for j in range(len(ins)):
% if kinds[j] == 'T':
            const ${VO} x${j} = v${j}_${r};
% elif kinds[j] == 't':
            const ${VO} x${j} = vload${tb}(0, in${j} + p${j} + ${r} * st${j}_${R - 2});
% else:
            const ${out.cc} x${j} = s${j};
% endif
% endfor
            ${_vstore(out, tb, expr, "out + po + %d * os%d" % (r, R - 2), nt)}
        }
% endfor
% else:
% for r in range(tb):
        {
% for j in tl:
            vstore${tb}(v${j}_${r}, 0, w${j});
% endfor
<%
    def fval(j):
        if kinds[j] == 's': return "s%d" % j
        if kinds[j] == 'T': return "w%d[c]" % j
        return ins[j].load("in%d" % j, "p%d + %d * st%d_%d + c" % (j, r, j, R - 2))
%>
            for (int c = 0; c < ${tb}; c++) {
                ${out.cc} res_;
                ${_eval(out, ins, kinds, cdts, rdt, expr, [fval(j) for j in range(len(ins))])}
                ${out.store("out", "po + %d * os%d + c" % (r, R - 2), "res_")};
            }
        }
% endfor
% endif
        return;
    }
% endif
    for (int r = 0; r < re; r++) {
        for (int c = 0; c < ce; c++) {
            ${out.cc} res_;
            ${_eval(out, ins, kinds, cdts, rdt, expr, [sval(j) for j in range(len(ins))])}
            ${out.store("out", "po + r * os%d + c * os%d" % (R - 2, R - 1), "res_")};
        }
    }
}
</%def>
