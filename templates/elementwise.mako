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

<%def name="flat(out, ins, kinds, cdts, rdt, expr, idx)">
${c.preamble((out, rdt) + ins + cdts + (expr[2] if isinstance(expr, tuple) else ()))}
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
<%def name="strided(out, ins, kinds, cdts, rdt, expr, idx, rank, ch)">
${c.preamble((out, rdt) + ins + cdts + (expr[2] if isinstance(expr, tuple) else ()))}
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
}
</%def>
