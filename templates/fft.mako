## Fast Fourier transform kernels, see cltensor/_fft.py and docs/fft.md.
## `vrow` (at the end): whole-row FFTs, V rows per work-item in vector lanes, all stages in local memory, one
## launch (CPU devices). The kernels below it are the multi-launch path (GPUs, long lengths):
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

<%!
def _transpose(V, RT, names, pre):
    """C lines transposing the V x V matrix whose rows are the V-vectors `names` (block-recursive: round h swaps the
    off-diagonal h x h blocks of every 2h x 2h block with shuffle2); returns (lines, names of the columns)."""
    UT = ("uint" if RT == "float" else "ulong") + str(V)
    VT = RT + str(V)
    lines, cur, h, c = [], list(names), V // 2, 0
    while h >= 1:
        new = [None] * V
        ma = ", ".join(str(j if not j & h else V + j - h) for j in range(V))
        mb = ", ".join(str(j + h if not j & h else V + j) for j in range(V))
        for l in range(V):
            if l & h:
                continue
            a, b = cur[l], cur[l + h]
            new[l], new[l + h] = "%s%d" % (pre, c), "%s%d" % (pre, c + 1)
            c += 2
            lines.append("const %s %s = shuffle2(%s, %s, (%s)(%s)), %s = shuffle2(%s, %s, (%s)(%s));"
                         % (VT, new[l], a, b, UT, ma, new[l + h], a, b, UT, mb))
        cur = new
        h //= 2
    return lines, cur

class _SGen:
    """Emits the C lines of an R-point DFT on separate real / imaginary values of type VT (a scalar or an OpenCL
    vector: SIMD lanes are independent transforms): a complex value is a pair of C names."""
    def __init__(self, VT, RT, sign):
        self.VT, self.RT, self.sign, self.lines, self.n = VT, RT, sign, [], 0

    def tmp(self, re, im):
        a, b = "s%d" % self.n, "s%d" % (self.n + 1)
        self.n += 2
        self.lines.append("const %s %s = %s, %s = %s;" % (self.VT, a, re, b, im))
        return (a, b)

    def rot(self, x, k, N):
        s = self.sign
        k %= N
        if k == 0:
            return x
        if 2 * k == N:
            return self.tmp("-" + x[0], "-" + x[1])
        if 4 * k == N or 4 * k == 3 * N:     # multiply by +-i
            pos = (s > 0) == (4 * k == N)     # +i
            return self.tmp("-" + x[1], x[0]) if pos else self.tmp(x[1], "-" + x[0])
        a = s * 2 * math.pi * k / N
        c, si = _cst(math.cos(a), self.RT), _cst(math.sin(a), self.RT)
        return self.tmp("%s * %s - %s * %s" % (x[0], c, x[1], si), "%s * %s + %s * %s" % (x[0], si, x[1], c))

    def pow2(self, xs):
        N = len(xs)
        if N == 1:
            return list(xs)
        E, O = self.pow2(xs[0::2]), self.pow2(xs[1::2])
        out = [None] * N
        for k in range(N // 2):
            t = self.rot(O[k], k, N)
            out[k] = self.tmp("%s + %s" % (E[k][0], t[0]), "%s + %s" % (E[k][1], t[1]))
            out[k + N // 2] = self.tmp("%s - %s" % (E[k][0], t[0]), "%s - %s" % (E[k][1], t[1]))
        return out

    def odd(self, xs):
        """Prime N: v_q = u0 + sum_{r <= N/2} (u_r + u_{N-r}) cos(2 pi q r / N) + sign i (u_r - u_{N-r}) sin(...)."""
        N, s, RT = len(xs), self.sign, self.RT
        h = N // 2
        a = [self.tmp("%s + %s" % (xs[r][0], xs[N - r][0]), "%s + %s" % (xs[r][1], xs[N - r][1]))
             for r in range(1, h + 1)]
        b = [self.tmp("%s - %s" % (xs[r][0], xs[N - r][0]), "%s - %s" % (xs[r][1], xs[N - r][1]))
             for r in range(1, h + 1)]
        res = [None] * N
        res[0] = self.tmp(" + ".join([xs[0][0]] + [v[0] for v in a]), " + ".join([xs[0][1]] + [v[1] for v in a]))
        for q in range(1, h + 1):
            cs = [_cst(math.cos(2 * math.pi * q * r / N), RT) for r in range(1, h + 1)]
            sn = [_cst(math.sin(2 * math.pi * q * r / N), RT) for r in range(1, h + 1)]
            p = self.tmp(" + ".join([xs[0][0]] + ["%s * %s" % (v[0], c) for v, c in zip(a, cs)]),
                         " + ".join([xs[0][1]] + ["%s * %s" % (v[1], c) for v, c in zip(a, cs)]))
            m = self.tmp(" + ".join("%s * %s" % (v[0], c) for v, c in zip(b, sn)),
                         " + ".join("%s * %s" % (v[1], c) for v, c in zip(b, sn)))
            mi = self.tmp(m[1], "-" + m[0]) if s < 0 else self.tmp("-" + m[1], m[0])    # m * sign i
            res[q] = self.tmp("%s + %s" % (p[0], mi[0]), "%s + %s" % (p[1], mi[1]))
            res[N - q] = self.tmp("%s - %s" % (p[0], mi[0]), "%s - %s" % (p[1], mi[1]))
        return res

    def dft(self, xs):
        return self.pow2(xs) if len(xs) & (len(xs) - 1) == 0 else self.odd(xs)
%>

<%def name="vrow(V, src, dt, sign, pre, post, lmode, smode, idx)">
## Whole-row FFTs, V rows per work-item side by side in the lanes of OpenCL vectors (real and imaginary parts in
## separate vectors): every radix stage runs in the work-group's local memory (two buffers p, q of n + 1 complex
## vectors), so a transform reads its input once and writes its output once, in one launch. Written for CPU
## devices: explicit vectors, so the speed does not depend on the implicit vectorisation across work-items (PoCL's
## gives up on vector-typed values and makes the local accesses of a row-per-work-group kernel gathers). One
## work-item per work-group; work-item g transforms rows gV .. gV + V - 1 (rows >= B compute a copy of row B - 1
## and are not written).
## Length n, the stages (how many of radix 8, 4, 2, 3, 5, 7, in that order, 4 bits each in `plan`) and all strides
## are arguments: one kernel serves every 7-smooth length that fits local memory. A radix-R stage (Ls = product of
## the radices before it, m = n / R): butterfly i < m, k = i mod Ls, reads p[i + r m], multiplies by
## w^(r k n / (Ls R)) (table tw of exp(sign 2 pi i j / (twm n)), index times twm), writes q[(i - k) R + k + r Ls]
## (Stockham); then p and q swap.
## Input (row b, element j at in[in_off + b isb + j ise], complex or real; zero for j >= nin) and output
## (out[out_off + b osb + k ose]) move by lmode / smode: "lanes" (isb / osb == 1: the V rows of a vector are
## adjacent, one vector access per element), "rows" (ise / ose == 1: V x V blocks of V-element vector accesses of
## each row, transposed in registers with shuffle2, then an element-by-element tail) or "any" (V scalar accesses
## per element).
##   pre "ld": the row is the input. pre "c2r": the input is a half spectrum X (complex, bins 0..n, >= nin zero)
##     of a real signal of length 2n; the row is Z_k = (X_k + conj X_(n-k)) + i conj(w^k) (X_k - conj X_(n-k))
##     (w = exp(-2 pi i / 2n); the imaginary parts of X_0 and X_n ignored), whose inverse FFT of length n is the
##     signal read as complex pairs.
##   post "st": y_k scale, k < n. post "r2c": y is the FFT of a real signal of length 2n read as n complex pairs;
##     the output is bins 0..n of its real FFT: X_k = (Y_k + conj Y_(n-k)) / 2 - i w^k (Y_k - conj Y_(n-k)) / 2,
##     scaled. post "tw4": y_k w_N^(k b) scale (the twiddle of a four-step FFT of length N, b the row), read from
##     the table ft[k ftld + b] (N complex values, computed in float64 on the host: vector reads across the rows).
##   pre / post "blu": Bluestein's algorithm for a length ftld (any) as FFTs of the 7-smooth length n >=
##     2 ftld - 1: the input times the chirp ft (zero above ftld), FFT, times ft2 (the FFT of the conjugate chirp
##     over n), the inverse FFT as conj(FFT(conj)), times the chirp: elements 0..ftld - 1, scaled. One launch.
## twm = 2 for c2r / r2c (tables of length 2n), else 1. Offsets and strides count complex elements (real ones
## for a real input).
<%
    C = dt.cc
    RT = C[:-1]
    VT = RT if V == 1 else "%s%d" % (RT, V)
    twm = 2 if pre == "c2r" or post == "r2c" else 1
    L = range(V)
    def vec(parts):
        return parts[0] if V == 1 else "(%s)(%s)" % (VT, ", ".join(parts))
    def lane(v, l):
        return v if V == 1 else "%s.s%s" % (v, "0123456789abcdef"[l])
    stages = []
    for R in (8, 4, 2, 3, 5, 7):
        g = _SGen(VT, RT, sign)
        us = [("u%dr" % r, "u%di" % r) for r in range(R)]
        outs = g.dft(us)
        stages.append((R, g.lines, outs))
    cplx = src.complex
%>
${c.preamble((src, dt))}
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void k(__global const ${src.ct if not src.complex else RT}* restrict in, const ${idx} in_off, const ${idx} isb,
       const ${idx} ise, __global ${RT}* restrict out, const ${idx} out_off, const ${idx} osb, const ${idx} ose,
       __global const ${RT}* restrict tw, const ${idx} B, const int n, const ${idx} nin, const ${RT} scale,
       const uint plan,
       __global const ${RT}* restrict ft, const ${idx} ftld, __global const ${RT}* restrict ft2,
       __local ${VT}* restrict lr, __local ${VT}* restrict li)
{
    const ${idx} b0 = (${idx})get_global_id(0) * ${V};
% for l in L:
    const ${idx} rb${l} = min(b0 + ${l}, B - 1);
% endfor
    const int last = (int)min((${idx})${V}, B - b0);
    // buffers p and q: the halves of lr / li at offsets po and qo, swapped after every stage
    int po = 0, qo = n + 1;
    // ---- input -> p ("ld", "blu"), raw half spectrum -> q ("c2r")
    {
        __local ${VT}* restrict dr_ = lr + ${"po" if pre != "c2r" else "qo"};
        __local ${VT}* restrict di_ = li + ${"po" if pre != "c2r" else "qo"};
        const int cnt = ${"n" if pre != "c2r" else "n + 1"};
        const int nl = (int)min((${idx})cnt, nin);
% if lmode == "lanes":
        const ${idx} base = in_off + b0 * isb;
        if (last == ${V}) {
            for (int j = 0; j < nl; j++) {
% if cplx:
                const ${VT} lo = vload${V}(0, in + 2 * (base + j * ise)), hi = vload${V}(0, in + 2 * (base + j * ise) + ${V});
                dr_[j] = (${VT})(lo.even, hi.even); di_[j] = (${VT})(lo.odd, hi.odd);
% else:
                dr_[j] = vload${V}(0, in + base + j * ise); di_[j] = (${VT})0;
% endif
            }
        } else
% endif
% if lmode == "rows":
        int jb = 0;
        {                                       // V x V blocks: V-element vector reads of each row, transposed
% for l in L:
            const ${idx} ro${l} = in_off + rb${l} * isb;
% endfor
            for (int j0 = 0; j0 + ${V} <= nl; j0 += ${V}) {
% for l in L:
% if cplx:
                const ${VT} lo${l} = vload${V}(0, in + 2 * (ro${l} + j0)), hi${l} = vload${V}(0, in + 2 * (ro${l} + j0) + ${V});
                const ${VT} re${l} = (${VT})(lo${l}.even, hi${l}.even), im${l} = (${VT})(lo${l}.odd, hi${l}.odd);
% else:
                const ${VT} re${l} = vload${V}(0, in + ro${l} + j0);
% endif
% endfor
<%
    tl_r, tr_ = _transpose(V, RT, ["re%d" % l for l in L], "tr")
    tl_i, ti_ = _transpose(V, RT, ["im%d" % l for l in L], "ti") if cplx else ([], None)
%>
% for line in tl_r + tl_i:
                ${line}
% endfor
% for l in L:
                dr_[j0 + ${l}] = ${tr_[l]}; di_[j0 + ${l}] = ${ti_[l] if cplx else "(%s)0" % VT};
% endfor
            }
            jb = nl - nl % ${V};
        }
        {                                       // the rest of each row, element by element
            __local ${RT}* restrict fr = (__local ${RT}*)dr_;
            __local ${RT}* restrict fi = (__local ${RT}*)di_;
% for l in L:
            {
                const ${idx} rb = in_off + rb${l} * isb;
                for (int j = jb; j < nl; j++) {
% if cplx:
                    fr[j * ${V} + ${l}] = in[2 * (rb + j)]; fi[j * ${V} + ${l}] = in[2 * (rb + j) + 1];
% else:
                    fr[j * ${V} + ${l}] = in[rb + j]; fi[j * ${V} + ${l}] = 0;
% endif
                }
            }
% endfor
        }
% else:
        for (int j = 0; j < nl; j++) {
% if cplx:
            dr_[j] = ${vec(["in[2 * (in_off + rb%d * isb + j * ise)]" % l for l in L])};
            di_[j] = ${vec(["in[2 * (in_off + rb%d * isb + j * ise) + 1]" % l for l in L])};
% else:
            dr_[j] = ${vec(["in[in_off + rb%d * isb + j * ise]" % l for l in L])};
            di_[j] = (${VT})0;
% endif
        }
% endif
        for (int j = nl; j < cnt; j++) { dr_[j] = (${VT})0; di_[j] = (${VT})0; }
    }
% if pre == "c2r":
    li[qo + 0] = (${VT})0;
    li[qo + n] = (${VT})0;
    for (int j = 0; j < n; j++) {
        const ${VT} ar = lr[qo + j], ai = li[qo + j], cr = lr[qo + n - j], ci = li[qo + n - j];
        const ${VT} dr = ar - cr, di = ai + ci;
        const ${RT} wr = tw[2 * j], wi = tw[2 * j + 1];
        const ${VT} vr = dr * wr - di * wi, vi = dr * wi + di * wr;
        lr[po + j] = (ar + cr) - vi;
        li[po + j] = (ai - ci) + vr;
    }
% endif
% if pre == "blu":
    for (int j = 0; j < ftld; j++) {        // times the chirp (zero padding above)
        const ${RT} wr = ft[2 * j], wi = ft[2 * j + 1];
        const ${VT} ar = lr[po + j], ai = li[po + j];
        lr[po + j] = ar * wr - ai * wi; li[po + j] = ar * wi + ai * wr;
    }
% endif
    // ---- the stages, p -> q, then swapped: one loop per radix in a fixed order (a switch over a radix read
    // from the plan inside one stage loop computed wrong results on Oclgrind)
    for (int pass = 0; pass < ${2 if pre == "blu" else 1}; pass++) {
% if pre == "blu":
    if (pass == 1) {                        // conj(FFT * spectrum of the chirp): the inverse FFT as conj(FFT(conj))
        for (int j = 0; j < n; j++) {
            const ${RT} wr = ft2[2 * j], wi = ft2[2 * j + 1];
            const ${VT} ar = lr[po + j], ai = li[po + j];
            lr[po + j] = ar * wr - ai * wi; li[po + j] = -(ar * wi + ai * wr);
        }
    }
% endif
    int Ls = 1;
% for si, (R, lines, outs) in enumerate(stages):
    for (int c = (int)((plan >> ${4 * si}) & 15); c > 0; c--) {     // the radix-${R} stages
        const int m = n / ${R};
        const int step = ${twm} * (n / (Ls * ${R}));
        for (int i = 0; i < m; i++) {
            const int k = i % Ls;
% for r in range(R):
            ${VT} u${r}r = lr[po + i + ${r} * m], u${r}i = li[po + i + ${r} * m];
% endfor
            if (Ls > 1) {
% for r in range(1, R):
                { const int w = 2 * (${r} * k * step); const ${RT} wr = tw[w], wi = tw[w + 1];
                  const ${VT} x = u${r}r * wr - u${r}i * wi; u${r}i = u${r}r * wi + u${r}i * wr; u${r}r = x; }
% endfor
            }
% for line in lines:
            ${line}
% endfor
            const int o = (i - k) * ${R} + k;
% for r in range(R):
            lr[qo + o + ${r} * Ls] = ${outs[r][0]}; li[qo + o + ${r} * Ls] = ${outs[r][1]};
% endfor
        }
        { const int t = po; po = qo; qo = t; }
        Ls *= ${R};
    }
% endfor
    }
    // ---- p -> the result in q, cnt elements
% if post == "r2c":
    const int cnt = n + 1;
    for (int j = 0; j <= n; j++) {
        const int jj = j == n ? 0 : j;
        const int jc = j == 0 ? 0 : n - j;
        const ${VT} ar = lr[po + jj], ai = li[po + jj], cr = lr[po + jc], ci = -li[po + jc];
        const ${VT} dr = ar - cr, di = ai - ci;
        const ${RT} wr = tw[2 * j], wi = tw[2 * j + 1];
        const ${VT} vr = dr * wr - di * wi, vi = dr * wi + di * wr;
        lr[qo + j] = ((${RT})0.5 * scale) * ((ar + cr) + vi);
        li[qo + j] = ((${RT})0.5 * scale) * ((ai + ci) - vr);
    }
% elif post == "blu":
    const int cnt = (int)ftld;
    for (int j = 0; j < cnt; j++) {         // conj, times the chirp
        const ${RT} wr = ft[2 * j] * scale, wi = ft[2 * j + 1] * scale;
        const ${VT} ar = lr[po + j], ai = -li[po + j];
        lr[qo + j] = ar * wr - ai * wi; li[qo + j] = ar * wi + ai * wr;
    }
% elif post == "tw4":
    const int cnt = n;
    for (int j = 0; j < n; j++) {
        const ${idx} f = 2 * ((${idx})j * ftld + b0);
% if V > 1:
        ${VT} gr, gi;
        if (last == ${V}) {
            const ${VT} lo = vload${V}(0, ft + f), hi = vload${V}(0, ft + f + ${V});
            gr = (${VT})(lo.even, hi.even); gi = (${VT})(lo.odd, hi.odd);
        } else {
            gr = ${vec(["ft[f + 2 * min(%d, last - 1)]" % l for l in L])};
            gi = ${vec(["ft[f + 2 * min(%d, last - 1) + 1]" % l for l in L])};
        }
% else:
        const ${VT} gr = ft[f], gi = ft[f + 1];
% endif
        const ${VT} vr = lr[po + j], vi = li[po + j];
        lr[qo + j] = (vr * gr - vi * gi) * scale;
        li[qo + j] = (vr * gi + vi * gr) * scale;
    }
% else:
    const int cnt = n;
    { const int t = po; po = qo; qo = t; }    // stored scaled from q
% endif
    const ${RT} sc = ${"scale" if post == "st" else "1"};
    // ---- q -> output
% if smode == "lanes":
    if (last == ${V}) {
        for (int j = 0; j < cnt; j++) {
            const ${VT} vr = lr[qo + j] * sc, vi = li[qo + j] * sc;
            __global ${RT}* p = out + 2 * (out_off + b0 * osb + j * ose);
            vstore${V}((${VT})(${", ".join("%s, %s" % (lane("vr", l), lane("vi", l)) for l in range(V // 2))}), 0, p);
            vstore${V}((${VT})(${", ".join("%s, %s" % (lane("vr", l), lane("vi", l)) for l in range(V // 2, V))}), 0, p + ${V});
        }
        return;
    }
% endif
% if smode == "rows":
    int j1 = 0;
    if (last == ${V}) {     // V x V blocks, transposed to V-element vector writes of each row
% for l in L:
        const ${idx} ro${l} = out_off + (b0 + ${l}) * osb;
% endfor
        for (; j1 + ${V} <= cnt; j1 += ${V}) {
% for l in L:
            const ${VT} cr${l} = lr[qo + j1 + ${l}] * sc, ci${l} = li[qo + j1 + ${l}] * sc;
% endfor
<%
    sl_r, sr_ = _transpose(V, RT, ["cr%d" % l for l in L], "sr")
    sl_i, si_ = _transpose(V, RT, ["ci%d" % l for l in L], "si")
%>
% for line in sl_r + sl_i:
            ${line}
% endfor
% for l in L:
            vstore${V}((${VT})(${", ".join("%s, %s" % (lane(sr_[l], j), lane(si_[l], j)) for j in range(V // 2))}), 0, out + 2 * (ro${l} + j1));
            vstore${V}((${VT})(${", ".join("%s, %s" % (lane(sr_[l], j), lane(si_[l], j)) for j in range(V // 2, V))}), 0, out + 2 * (ro${l} + j1) + ${V});
% endfor
        }
    }
    {
        __local ${RT}* restrict fr = (__local ${RT}*)(lr + qo);
        __local ${RT}* restrict fi = (__local ${RT}*)(li + qo);
        for (int l = 0; l < last; l++) {
            const ${idx} ob = out_off + (b0 + l) * osb;
            for (int j = j1; j < cnt; j++) { out[2 * (ob + j)] = fr[j * ${V} + l] * sc; out[2 * (ob + j) + 1] = fi[j * ${V} + l] * sc; }
        }
    }
% else:
    for (int j = 0; j < cnt; j++) {
        const ${VT} vr = lr[qo + j] * sc, vi = li[qo + j] * sc;
% for l in L:
        if (${l} < last) { const ${idx} e = 2 * (out_off + (b0 + ${l}) * osb + j * ose); out[e] = ${lane("vr", l)}; out[e + 1] = ${lane("vi", l)}; }
% endfor
    }
% endif
}
</%def>

