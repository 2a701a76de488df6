## Recurrent-layer gate math: one kernel per time step for the forward of an LSTM / GRU step and one for its
## backward (the GEMMs run on gemm.mako). One work-item per row and chunk of `ch` hidden units of the step's
## bt x H block.
## Matrices are row-major with a row stride and an element offset as arguments (a step's rows are a block of the
## sequence's buffers), so no operand is assumed to start at 0 or to be densely packed.
## `t` is the tensor dtype helper (storage t.ct, loads/stores via t.load/t.store); arithmetic runs in `F`
## (float, or double for float64); `idx` is the index type.
<%namespace name="c" file="common.mako"/>

## work-item w: row b, hidden units [j0, j0 + ch) (a chunk per work-item amortises PoCL's per-item cost);
## opens the loop over j that each kernel closes
<%def name="head(idx, ch)">
    const ${idx} w = get_global_id(0);
    const int nch = (H + ${ch} - 1) / ${ch};
    if (w >= (${idx})bt * nch) return;
    const ${idx} b = w / nch;
    const int j0 = (int)(w - b * nch) * ${ch};
    const int je = min(j0 + ${ch}, H);
    for (int j = j0; j < je; j++) {
</%def>

<%!
def sig(F, x):
    """the logistic sigmoid of C expression x in type F"""
    return "((%s)1 / ((%s)1 + exp(-(%s))))" % (F, F, x)


def pre(F, t, k, hh):
    """the pre-activation of gate block k: input projection xp + hidden projection `hh`"""
    return "((%s)%s + (%s)%s)" % (F, t.load("xp", "x0 + %d * H" % k), F, t.load(hh, "g0 + %d * H" % k))
%>

## LSTM step forward. xp: the step's input projection (x W_ih^T + b_ih + b_hh, gates i, f, g, o in blocks of H);
## hh: h_prev W_hh^T (bt x 4H, contiguous; overwritten with the activated gates i, f, g, o for the backward);
## cp: c_prev; c: the new cell state; h: o * tanh(c) (the output rows, or the projection's input).
<%def name="lstm_fwd(t, idx, ch)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global const ${t.ct}* restrict xp, const ${idx} xo, const ${idx} xs,
                __global ${t.ct}* restrict hh, const ${idx} ho,
                __global const ${t.ct}* restrict cp, const ${idx} cpo, const ${idx} cps,
                __global ${t.ct}* restrict c, const ${idx} co,
                __global ${t.ct}* restrict h, const ${idx} hoo, const ${idx} hs,
                const int bt, const int H)
{
${head(idx, ch)}
    const ${idx} x0 = xo + b * xs + j, g0 = ho + b * 4 * H + j;
    const ${F} i = ${sig(F, pre(F, t, 0, "hh"))};
    const ${F} f = ${sig(F, pre(F, t, 1, "hh"))};
    const ${F} g = py_tanh(${pre(F, t, 2, "hh")});
    const ${F} o = ${sig(F, pre(F, t, 3, "hh"))};
    const ${F} cn = f * (${F})${t.load("cp", "cpo + b * cps + j")} + i * g;
    ${t.store("c", "co + b * H + j", "(" + t.cc + ")cn")};
    ${t.store("h", "hoo + b * hs + j", "(" + t.cc + ")(o * py_tanh(cn))")};
    ${t.store("hh", "g0", "(" + t.cc + ")i")};
    ${t.store("hh", "g0 + H", "(" + t.cc + ")f")};
    ${t.store("hh", "g0 + 2 * H", "(" + t.cc + ")g")};
    ${t.store("hh", "g0 + 3 * H", "(" + t.cc + ")o")};
    }
}
</%def>

## LSTM step backward. a: the activated gates (bt x 4H); cp, c: the cell states before/after the step;
## dh: the gradient reaching h (+ dout when has_dout: the output rows' gradient); dc: the cell state's gradient
## from the next step. Writes dG (the pre-activation gradient, row stride gs, into the sequence's buffer) and
## dcp (the gradient of c_prev, bt x H).
<%def name="lstm_bwd(t, idx, has_dout, ch)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global const ${t.ct}* restrict a, const ${idx} ao,
                __global const ${t.ct}* restrict cp, const ${idx} cpo, const ${idx} cps,
                __global const ${t.ct}* restrict c, const ${idx} co,
                __global const ${t.ct}* restrict dh, const ${idx} dho, const ${idx} dhs,
                __global const ${t.ct}* restrict dout, const ${idx} doo, const ${idx} dos,
                __global const ${t.ct}* restrict dc, const ${idx} dco, const ${idx} dcs,
                __global ${t.ct}* restrict dg, const ${idx} go, const ${idx} gs,
                __global ${t.ct}* restrict dcp, const ${idx} dcpo,
                const int bt, const int H)
{
${head(idx, ch)}
    const ${idx} a0 = ao + b * 4 * H + j;
    const ${F} i = ${t.load("a", "a0")}, f = ${t.load("a", "a0 + H")};
    const ${F} g = ${t.load("a", "a0 + 2 * H")}, o = ${t.load("a", "a0 + 3 * H")};
    const ${F} tc = py_tanh((${F})${t.load("c", "co + b * H + j")});
    ${F} d = ${t.load("dh", "dho + b * dhs + j")};
% if has_dout:
    d += (${F})${t.load("dout", "doo + b * dos + j")};
% endif
    const ${F} dct = (${F})${t.load("dc", "dco + b * dcs + j")} + d * o * ((${F})1 - tc * tc);
    const ${idx} g0 = go + b * gs + j;
    ${t.store("dg", "g0", "(" + t.cc + ")(dct * g * i * ((" + F + ")1 - i))")};
    const ${F} cpv = ${t.load("cp", "cpo + b * cps + j")};
    ${t.store("dg", "g0 + H", "(" + t.cc + ")(dct * cpv * f * ((" + F + ")1 - f))")};
    ${t.store("dg", "g0 + 2 * H", "(" + t.cc + ")(dct * i * ((" + F + ")1 - g * g))")};
    ${t.store("dg", "g0 + 3 * H", "(" + t.cc + ")(d * tc * o * ((" + F + ")1 - o))")};
    ${t.store("dcp", "dcpo + b * H + j", "(" + t.cc + ")(dct * f)")};
    }
}
</%def>

## GRU step forward. xp: x W_ih^T + b_ih (blocks r, z, n); gh: h_prev W_hh^T + b_hh (bt x 3H, contiguous);
## hp: h_prev; h: the new state (output rows); a: r, z, n and gh's n block, kept for the backward (bt x 4H).
<%def name="gru_fwd(t, idx, ch)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global const ${t.ct}* restrict xp, const ${idx} xo, const ${idx} xs,
                __global const ${t.ct}* restrict gh, const ${idx} gho,
                __global const ${t.ct}* restrict hp, const ${idx} hpo, const ${idx} hps,
                __global ${t.ct}* restrict h, const ${idx} hoo, const ${idx} hs,
                __global ${t.ct}* restrict a, const ${idx} ao,
                const int bt, const int H)
{
${head(idx, ch)}
    const ${idx} x0 = xo + b * xs + j, g0 = gho + b * 3 * H + j;
    const ${F} r = ${sig(F, pre(F, t, 0, "gh"))};
    const ${F} z = ${sig(F, pre(F, t, 1, "gh"))};
    const ${F} hn = ${t.load("gh", "g0 + 2 * H")};
    const ${F} n = py_tanh((${F})${t.load("xp", "x0 + 2 * H")} + r * hn);
    const ${F} hv = ${t.load("hp", "hpo + b * hps + j")};
    ${t.store("h", "hoo + b * hs + j", "(" + t.cc + ")(((" + F + ")1 - z) * n + z * hv)")};
    const ${idx} a0 = ao + b * 4 * H + j;
    ${t.store("a", "a0", "(" + t.cc + ")r")};
    ${t.store("a", "a0 + H", "(" + t.cc + ")z")};
    ${t.store("a", "a0 + 2 * H", "(" + t.cc + ")n")};
    ${t.store("a", "a0 + 3 * H", "(" + t.cc + ")hn")};
    }
}
</%def>

## GRU step backward. a: r, z, n, hn of the step; hp: h_prev; dh (+ dout): the gradient reaching h.
## Writes dgx (input-projection gradient: dr, dz, dn), dgh (hidden-projection gradient: dr, dz, dn * r), both into
## the sequence's buffers (row strides gxs, ghs), and dhz = dh * z (h_prev's direct gradient, bt x H).
<%def name="gru_bwd(t, idx, has_dout, ch)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global const ${t.ct}* restrict a, const ${idx} ao,
                __global const ${t.ct}* restrict hp, const ${idx} hpo, const ${idx} hps,
                __global const ${t.ct}* restrict dh, const ${idx} dho, const ${idx} dhs,
                __global const ${t.ct}* restrict dout, const ${idx} doo, const ${idx} dos,
                __global ${t.ct}* restrict dgx, const ${idx} gxo, const ${idx} gxs,
                __global ${t.ct}* restrict dgh, const ${idx} gho, const ${idx} ghs,
                __global ${t.ct}* restrict dhz, const ${idx} dzo,
                const int bt, const int H)
{
${head(idx, ch)}
    const ${idx} a0 = ao + b * 4 * H + j;
    const ${F} r = ${t.load("a", "a0")}, z = ${t.load("a", "a0 + H")};
    const ${F} n = ${t.load("a", "a0 + 2 * H")}, hn = ${t.load("a", "a0 + 3 * H")};
    ${F} d = ${t.load("dh", "dho + b * dhs + j")};
% if has_dout:
    d += (${F})${t.load("dout", "doo + b * dos + j")};
% endif
    const ${F} dn = d * ((${F})1 - z) * ((${F})1 - n * n);
    const ${F} dr = dn * hn * r * ((${F})1 - r);
    const ${F} dz = d * ((${F})${t.load("hp", "hpo + b * hps + j")} - n) * z * ((${F})1 - z);
    const ${idx} x0 = gxo + b * gxs + j, h0 = gho + b * ghs + j;
    ${t.store("dgx", "x0", "(" + t.cc + ")dr")};
    ${t.store("dgx", "x0 + H", "(" + t.cc + ")dz")};
    ${t.store("dgx", "x0 + 2 * H", "(" + t.cc + ")dn")};
    ${t.store("dgh", "h0", "(" + t.cc + ")dr")};
    ${t.store("dgh", "h0 + H", "(" + t.cc + ")dz")};
    ${t.store("dgh", "h0 + 2 * H", "(" + t.cc + ")(dn * r)")};
    ${t.store("dhz", "dzo + b * H + j", "(" + t.cc + ")(d * z)")};
    }
}
</%def>
