## Scan kernels (cumsum, cumprod, cummax/cummin with indices, logcumsumexp), see cltensor/_scans.py.
## Layout: the scanned dim (length L, input stride isd, output stride osd) x batch dims (rank R, collapsed,
## input strides bis, output strides bos). Work-item g owns batch row b = g / S and the chunk
## t in [cix*C, min(cix*C + C, L)) of it (t counts in scan order; rev != 0 walks j = L-1-t).
## With S > 1: 'totals' computes each chunk's total, 'carries' turns a row's totals into exclusive prefixes
## (in place), then 'scan' runs every chunk from its carry. With S == 1 'scan' alone does the work.
<%namespace name="c" file="common.mako"/>
<%!
_IMIN = {"char": "CHAR_MIN", "uchar": "0", "short": "SHRT_MIN", "int": "INT_MIN", "long": "LONG_MIN"}
_IMAX = {"char": "CHAR_MAX", "uchar": "UCHAR_MAX", "short": "SHRT_MAX", "int": "INT_MAX", "long": "LONG_MAX"}


def ident(op, A):
    cc = A.cc
    if op == "sum":
        return "((%s)(0, 0))" % cc if A.complex else "((%s)0)" % cc
    if op == "prod":
        return "((%s)(1, 0))" % cc if A.complex else "((%s)1)" % cc
    if op == "max":
        return "(-INFINITY)" if A.isfloat else _IMIN[cc]
    if op == "min":
        return "(INFINITY)" if A.isfloat else _IMAX[cc]
    if op == "lae":
        return "((%s)(-INFINITY, 0))" % cc if A.complex else "(-INFINITY)"
    raise ValueError(op)


def comb(op, a, v, A):
    if op == "sum":
        return "%s += %s;" % (a, v)
    if op == "prod":
        return ("%s = c_mul(%s, %s);" % (a, a, v)) if A.complex else ("%s *= %s;" % (a, v))
    if op == "lae":
        return "%s = lae_(%s, %s);" % (a, a, v)
    raise ValueError(op)


def take(op, v, a, A):
    """cummax/cummin: take v (and its index) over the running a; later equal values win, the first NaN sticks."""
    cmp = ">=" if op == "max" else "<="
    if A.isfloat:
        return "(!isnan(%s) && (isnan(%s) || (%s) %s (%s)))" % (a, v, v, cmp, a)
    return "((%s) %s (%s))" % (v, cmp, a)
%>

<%def name="_lae(A)">
% if A.isfloat:
static inline ${A.cc} lae_(${A.cc} a, ${A.cc} b) {
    if (isnan(a) || isnan(b)) return a + b;
    const ${A.cc} mx = fmax(a, b), mn = fmin(a, b);
    if (mn == -INFINITY || mx == INFINITY) return mx;
    return mx + log1p(exp(mn - mx));
}
% elif A.complex:
## complex: the operand with the larger real part shifts the other (ties keep the running value as the smaller)
static inline ${A.cc} lae_(${A.cc} a, ${A.cc} b) {
    const int swap = b.x < a.x;
    const ${A.cc} lo = swap ? b : a, hi = swap ? a : b;
    if (isnan(lo.x) || isnan(lo.y)) return (${A.cc})(NAN, NAN);
    if (isinf(lo.x) && lo.x == hi.x) return lo.x < 0 ? lo : c_log(c_exp(lo) + c_exp(hi));
    return hi + c_log1p(c_exp(lo - hi));
}
% endif
</%def>

<%def name="_batch(R, idx)">
    ${idx} ib = in_off, ob = out_off;
    {
        ${idx} t_ = b;
% for d in range(R - 1, 0, -1):
        { const ${idx} cd = t_ % bsh${d}; t_ /= bsh${d}; ib += cd * bis${d}; ob += cd * bos${d}; }
% endfor
% if R > 0:
        ib += t_ * bis0; ob += t_ * bos0;
% endif
    }
</%def>

<%def name="_bargs(R, idx)">
% for d in range(R):
                , const ${idx} bsh${d}, const ${idx} bis${d}, const ${idx} bos${d}
% endfor
</%def>

<%def name="scan(src, acc, out, op, arg, R, carry, idx)">
<% A = acc.cc %>
${c.preamble((src, acc, out))}
${_lae(acc)}
__kernel void k(__global const ${src.ct}* restrict in, const ${idx} in_off,
                __global ${out.ct}* restrict out, const ${idx} out_off,
                __global long* restrict oidx, const ${idx} oidx_off,
                __global const ${acc.ct}* restrict carry, __global const long* restrict carryi,
                const ${idx} NW, const ${idx} S, const ${idx} C, const ${idx} L, const int rev,
                const ${idx} isd, const ${idx} osd ${_bargs(R, idx)})
{
    const ${idx} g = get_global_id(0);
    if (g >= NW) return;
    const ${idx} b = g / S;
    const ${idx} cix = g - b * S;
    ${_batch(R, idx)}
    const ${idx} t0 = cix * C;
    const ${idx} t1 = min(t0 + C, L);
% if carry:
    ${A} a = carry[g];
% else:
    ${A} a = ${ident(op, acc)};
% endif
% if arg:
% if carry:
    long ai = carryi[g];
% else:
    long ai = 0;
% endif
    const ${idx} oi = ob - out_off + oidx_off;
% endif
    for (${idx} t = t0; t < t1; t++) {
        const ${idx} j = rev ? L - 1 - t : t;
        const ${A} v = ${acc.cast_from(src.load("in", "ib + j * isd"), src)};
% if arg:
        if (${take(op, "v", "a", acc)}) { a = v; ai = (long)j; }
        oidx[oi + j * osd] = ai;
% else:
        ${comb(op, "a", "v", acc)}
% endif
        ${out.store("out", "ob + j * osd", out.cast_from("a", acc))};
    }
}
</%def>

<%def name="totals(src, acc, op, arg, R, idx)">
<% A = acc.cc %>
${c.preamble((src, acc))}
${_lae(acc)}
__kernel void k(__global const ${src.ct}* restrict in, const ${idx} in_off,
                __global ${acc.ct}* restrict tot, __global long* restrict toti,
                const ${idx} NW, const ${idx} S, const ${idx} C, const ${idx} L, const int rev,
                const ${idx} isd ${_bargs(R, idx)})
{
    const ${idx} g = get_global_id(0);
    if (g >= NW) return;
    const ${idx} b = g / S;
    const ${idx} cix = g - b * S;
    const ${idx} out_off = 0;
    ${_batch(R, idx)}
    const ${idx} t0 = cix * C;
    const ${idx} t1 = min(t0 + C, L);
    ${A} a = ${ident(op, acc)};
% if arg:
    long ai = 0;
% endif
    for (${idx} t = t0; t < t1; t++) {
        const ${idx} j = rev ? L - 1 - t : t;
        const ${A} v = ${acc.cast_from(src.load("in", "ib + j * isd"), src)};
% if arg:
        if (${take(op, "v", "a", acc)}) { a = v; ai = (long)j; }
% else:
        ${comb(op, "a", "v", acc)}
% endif
    }
    tot[g] = a;
% if arg:
    toti[g] = ai;
% endif
}
</%def>

<%def name="carries(acc, op, arg, idx)">
<% A = acc.cc %>
${c.preamble((acc,))}
${_lae(acc)}
__kernel void k(__global ${acc.ct}* restrict tot, __global long* restrict toti, const ${idx} NB, const ${idx} S)
{
    const ${idx} b = get_global_id(0);
    if (b >= NB) return;
    ${A} a = ${ident(op, acc)};
% if arg:
    long ai = 0;
% endif
    for (${idx} c = 0; c < S; c++) {
        const ${A} v = tot[b * S + c];
        tot[b * S + c] = a;
% if arg:
        const long vi = toti[b * S + c];
        toti[b * S + c] = ai;
        if (c == 0 || ${take(op, "v", "a", acc)}) { a = v; ai = vi; }
% else:
        ${comb(op, "a", "v", acc)}
% endif
    }
}
</%def>
