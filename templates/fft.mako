## Fast Fourier transform kernels, see cltensor/_fft.py.
## `stockham`: one radix-R pass of a Stockham autosort FFT over a batch of B transforms of length n
## (Bainville's formulation): work-item g = (b, i), i < m = n / R, k = i mod Ls (Ls: product of the radices of
## the passes before this one) reads x[b, i + r m] (r < R), multiplies by the twiddles w^(k r (n / (Ls R))) of
## the length-n table `tw` (w = exp(sign 2 pi i / n), computed on the host in float64), runs an R-point DFT and
## writes y[b, (i - k) R + k + r Ls]. Kernels are generated per (R, input dtype, complex dtype, direction): the
## length, the stage (Ls, twiddle step), the batch size and all strides and offsets are kernel arguments.
## `cmul`: out[b, j] = (j < nin ? in[b, j] * w[j] : 0) * scale over a B x nout grid (strided input and output):
## the chirp multiplications, zero padding and the spectral product of Bluestein's algorithm.
<%namespace name="c" file="common.mako"/>

<%!
import math

def _cst(v, R):
    s = repr(float(v))
    return s + ("f" if R == "float" else "")

class _Gen:
    """Emits the C lines of an R-point DFT of complex values u0..u{R-1} (pure straight-line code)."""
    def __init__(self, R, C, sign):
        self.R, self.C, self.sign, self.lines, self.n = C[:-1], C, sign, [], 0

    def tmp(self, expr):
        v = "t%d" % self.n
        self.n += 1
        self.lines.append("const %s %s = %s;" % (self.C, v, expr))
        return v

    def rot(self, x, k, N):
        """x * exp(sign 2 pi i k / N)."""
        R, s = self.R, self.sign
        k %= N
        if k == 0:
            return x
        if 4 * k == N:          # sign * i
            return self.tmp("(%s)(%s(%s).y, %s(%s).x)" % (self.C, "" if s < 0 else "-", x, "-" if s < 0 else "", x))
        if 2 * k == N:
            return self.tmp("-(%s)" % x)
        if 4 * k == 3 * N:      # -sign * i
            return self.tmp("(%s)(%s(%s).y, %s(%s).x)" % (self.C, "-" if s < 0 else "", x, "" if s < 0 else "-", x))
        a = s * 2 * math.pi * k / N
        cr, ci = _cst(math.cos(a), R), _cst(math.sin(a), R)
        return self.tmp("(%s)((%s).x * %s - (%s).y * %s, (%s).x * %s + (%s).y * %s)" % (self.C, x, cr, x, ci, x, ci, x, cr))

    def pow2(self, xs):
        N = len(xs)
        if N == 1:
            return list(xs)
        E, O = self.pow2(xs[0::2]), self.pow2(xs[1::2])
        out = [None] * N
        for k in range(N // 2):
            t = self.rot(O[k], k, N)
            out[k] = self.tmp("%s + %s" % (E[k], t))
            out[k + N // 2] = self.tmp("%s - %s" % (E[k], t))
        return out

    def odd(self, xs):
        """Prime R: v_q = u0 + sum_{r <= R/2} (u_r + u_{R-r}) cos(2 pi q r / R) + sign i (u_r - u_{R-r}) sin(...)."""
        N, s, R = len(xs), self.sign, self.R
        h = N // 2
        a = [self.tmp("%s + %s" % (xs[r], xs[N - r])) for r in range(1, h + 1)]
        b = [self.tmp("%s - %s" % (xs[r], xs[N - r])) for r in range(1, h + 1)]
        out = [self.tmp(" + ".join([xs[0]] + a))]
        res = [None] * N
        res[0] = out[0]
        for q in range(1, h + 1):
            re = " + ".join("%s * %s" % (a[r - 1], _cst(math.cos(2 * math.pi * q * r / N), R)) for r in range(1, h + 1))
            im = " + ".join("%s * %s" % (b[r - 1], _cst(math.sin(2 * math.pi * q * r / N), R)) for r in range(1, h + 1))
            p = self.tmp("%s + %s" % (xs[0], re))
            m = self.tmp(im)            # sum b_r sin(...): multiply by sign * i
            if s < 0:
                mi = self.tmp("(%s)(%s.y, -%s.x)" % (self.C, m, m))
            else:
                mi = self.tmp("(%s)(-%s.y, %s.x)" % (self.C, m, m))
            res[q] = self.tmp("%s + %s" % (p, mi))
            res[N - q] = self.tmp("%s - %s" % (p, mi))
        return res

    def dft(self, xs):
        if len(xs) & (len(xs) - 1) == 0:
            return self.pow2(xs)
        return self.odd(xs)
%>

<%def name="load_c(src, dt, ptr, off)">\
% if src.complex:
${ptr}[${off}]\
% else:
((${dt.cc})(${ptr}[${off}], (${dt.cc[:-1]})0))\
% endif
</%def>

<%def name="stockham(R, src, dt, sign, pad, idx)">
<%
    C = dt.cc
    RT = C[:-1]
    g = _Gen(R, C, sign)
    outs = g.dft(["u%d" % r for r in range(R)])
%>
${c.preamble((src, dt))}
__kernel void k(__global const ${src.ct}* restrict in, const ${idx} in_off, const ${idx} isb, const ${idx} ise,
                __global ${C}* restrict out, const ${idx} out_off, const ${idx} osb, const ${idx} ose,
                __global const ${C}* restrict tw, const ${idx} NW, const ${idx} m, const ${idx} Ls,
                const ${idx} twstep, const ${idx} nin, const ${RT} scale)
{
    const ${idx} i = get_global_id(0);
    const ${idx} b = get_global_id(1);
    if (i >= m) return;
    const ${idx} k = i % Ls;
    const ${idx} ib = in_off + b * isb + i * ise;
    const ${idx} ms = m * ise;
% for r in range(R):
% if pad:
    ${C} u${r} = (i + ${r} * m < nin) ? ${load_c(src, dt, "in", "ib + %d * ms" % r)} : (${C})(0, 0);
% else:
    ${C} u${r} = ${load_c(src, dt, "in", "ib + %d * ms" % r)};
% endif
% endfor
    if (Ls > 1) {
        const ${idx} ts = k * twstep;
% for r in range(1, R):
        u${r} = c_mul(u${r}, tw[${r} * ts]);
% endfor
    }
% for line in g.lines:
    ${line}
% endfor
    const ${idx} ob = out_off + b * osb + ((i - k) * ${R} + k) * ose;
    const ${idx} ls = Ls * ose;
% for r in range(R):
    out[ob + ${r} * ls] = ${outs[r]} * scale;
% endfor
}
</%def>

<%def name="cmul(src, dt, idx)">
<% C = dt.cc; RT = C[:-1] %>
${c.preamble((src, dt))}
__kernel void k(__global const ${src.ct}* restrict in, const ${idx} in_off, const ${idx} isb, const ${idx} ise,
                __global ${C}* restrict out, const ${idx} out_off, const ${idx} osb, const ${idx} ose,
                __global const ${C}* restrict w, const ${idx} NW, const ${idx} nout, const ${idx} nin,
                const ${RT} scale)
{
    const ${idx} j = get_global_id(0);
    const ${idx} b = get_global_id(1);
    if (j >= nout) return;
    ${C} v = (${C})(0, 0);
    if (j < nin) v = c_mul(${load_c(src, dt, "in", "in_off + b * isb + j * ise")}, w[j]) * scale;
    out[out_off + b * osb + j * ose] = v;
}
</%def>

<%def name="r2c_post(dt, idx)">
## Real FFT of even length n from the complex FFT Z of length h = n / 2 of z_j = x_2j + i x_2j+1 (contiguous rows
## of h): X_k = (Z_k + conj Z_(h-k)) / 2 - i w^k (Z_k - conj Z_(h-k)) / 2, w = exp(-2 pi i / n) (table tw),
## k = 0..h, written scaled with the output's strides.
<% C = dt.cc; RT = C[:-1] %>
${c.preamble((dt,))}
__kernel void k(__global const ${C}* restrict z, __global ${C}* restrict out, const ${idx} out_off,
                const ${idx} osb, const ${idx} ose, __global const ${C}* restrict tw, const ${idx} h,
                const ${RT} scale)
{
    const ${idx} k = get_global_id(0);
    const ${idx} b = get_global_id(1);
    if (k > h) return;
    const ${C} a = z[b * h + (k == h ? 0 : k)];
    const ${C} c = z[b * h + (k == 0 ? 0 : h - k)];
    const ${C} cc = (${C})(c.x, -c.y);
    const ${C} t = c_mul(tw[k], a - cc);
    const ${C} x = ((${RT})0.5) * ((a + cc) + (${C})(t.y, -t.x));
    out[out_off + b * osb + k * ose] = x * scale;
}
</%def>

<%def name="c2r_pre(dt, idx)">
## The inverse of r2c_post: Z_k = (X_k + conj X_(h-k)) + i conj(w^k) (X_k - conj X_(h-k)), k < h, from the half
## spectrum X (strided, bins >= nin are zero, the imaginary parts of X_0 and X_h ignored as PyTorch's irfft does);
## an inverse FFT of length h of Z gives z_j = x_2j + i x_2j+1. tw: the table of exp(+2 pi i j / n).
<% C = dt.cc; RT = C[:-1] %>
${c.preamble((dt,))}
__kernel void k(__global const ${C}* restrict in, const ${idx} in_off, const ${idx} isb, const ${idx} ise,
                __global ${C}* restrict z, __global const ${C}* restrict tw, const ${idx} h, const ${idx} nin)
{
    const ${idx} k = get_global_id(0);
    const ${idx} b = get_global_id(1);
    if (k >= h) return;
    const ${idx} ib = in_off + b * isb;
    ${C} a = k < nin ? in[ib + k * ise] : (${C})(0, 0);
    ${C} c = h - k < nin ? in[ib + (h - k) * ise] : (${C})(0, 0);
    if (k == 0) { a.y = 0; c.y = 0; }
    const ${C} cc = (${C})(c.x, -c.y);
    const ${C} t = c_mul(tw[k], a - cc);
    z[b * h + k] = (a + cc) + (${C})(-t.y, t.x);
}
</%def>
