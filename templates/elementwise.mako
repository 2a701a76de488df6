## Elementwise map kernels: out = expr(x0, x1, ...), one kernel per (op expression, dtypes, layout).
## Operands are tensors ('t'), tensors broadcast to every element ('b', flat layout only) or scalar
## arguments ('s'). Each operand is loaded in its storage dtype, cast to its compute dtype cdts[j],
## the expression is evaluated in rdt and cast to the output dtype.
<%namespace name="c" file="common.mako"/>

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
<%def name="flat(out, ins, kinds, cdts, rdt, expr, idx, vfn='')">
${_pre(out, rdt, ins, cdts, expr)}
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
        vstore8(${vfn}(${src}), 0, out + out_off + base);
% endif
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
<%def name="tiled(out, ins, kinds, cdts, rdt, expr, idx, rank, tb, vec, vexpr)">
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
            vstore${tb}((${VO})(${expr}), 0, out + po + ${r} * os${R - 2});
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
