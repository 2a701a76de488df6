## Dense linear algebra kernels (cltensor/_lapack/_core.py launches them).
## Every matrix is addressed by (offset, batch stride, row stride, column stride) kernel arguments, so views
## (transposes, panels of a larger matrix, broadcast batches with stride 0) need no copy, and sizes never compile
## a new kernel. Factorizations run one work-group per matrix (get_group_id(0) = batch index) and work in place.
<%namespace name="c" file="common.mako"/>

## scalar helpers for dtype t (real or complex): MUL, DIV, CONJ, ABS1 (|re| + |im|, LAPACK's pivot measure), RE
<%def name="scalar_ops(t)">
<% R = "double" if t.name in ("float64", "complex128") else "float" %>
typedef ${t.cc} S;
typedef ${R} RT;
% if t.complex:
#define MUL(a, b) c_mul(a, b)
#define DIV(a, b) c_div(a, b)
#define CONJ(a) c_conj(a)
#define ABS1(a) (fabs((a).x) + fabs((a).y))
#define RE(a) ((a).x)
#define MKS(r) ((S)((r), (RT)0))
#define ISZERO(a) ((a).x == 0 && (a).y == 0)
% else:
#define MUL(a, b) ((a) * (b))
#define DIV(a, b) ((a) / (b))
#define CONJ(a) (a)
#define ABS1(a) fabs(a)
#define RE(a) (a)
#define MKS(r) ((S)(r))
#define ISZERO(a) ((a) == 0)
% endif
</%def>

## LU with partial pivoting of each M x N matrix (LAPACK getf2, right-looking): rows of the trailing update are
## spread over the work-items. piv[j] = pbase + (row chosen at step j) + 1 (1-based, as LAPACK/PyTorch), rows
## counted from the matrix origin; info (in/out, one per matrix): the first zero pivot pbase + j + 1 when still 0.
## Row indices of the matrix start at `rbase` (a panel of a larger matrix: pivots then are absolute).
<%def name="lu(t, idx, lm)">
${c.preamble((t,))}
${scalar_ops(t)}
__kernel void k(__global S* A, const ${idx} off, const ${idx} bs, const ${idx} rs, const ${idx} cs,
                const int M, const int N, __global int* piv, const ${idx} poff, const ${idx} pbs,
                const int pbase, __global int* info${", __local S* lmem" if lm else ""})
{
    const ${idx} b = get_group_id(0);
    const int lid = get_local_id(0), L = get_local_size(0);
    __global S* ga = A + off + b * bs;
    __global int* pv = piv + poff + b * pbs;
    __local int p_sh;
    const int K = min(M, N);
% if lm:
    /* the matrix in local memory (it fits: the launcher checked), the same algorithm on the copy */
    __local S* a = lmem;
    const ${idx} RS = N, CS = 1;
    for (int e = lid; e < M * N; e += L) a[e] = ga[(e / N) * rs + (e % N) * cs];
    barrier(CLK_LOCAL_MEM_FENCE);
% else:
    __global S* a = ga;
    const ${idx} RS = rs, CS = cs;
% endif
    for (int j = 0; j < K; ++j) {
        if (lid == 0) {
            int p = j;
            RT best = ABS1(a[j * RS + j * CS]);
            for (int i = j + 1; i < M; ++i) {
                const RT v = ABS1(a[i * RS + j * CS]);
                if (v > best || isnan(v)) { best = v; p = i; if (isnan(v)) break; }
            }
            p_sh = p;
            pv[j] = pbase + p + 1;
        }
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
        const int p = p_sh;
        if (p != j) {
            for (int q = lid; q < N; q += L) {
                const S x = a[j * RS + q * CS];
                a[j * RS + q * CS] = a[p * RS + q * CS];
                a[p * RS + q * CS] = x;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
        const S d = a[j * RS + j * CS];
        if (ISZERO(d)) {
            if (lid == 0 && info[b] == 0) info[b] = pbase + j + 1;
        } else {
            for (int i = j + 1 + lid; i < M; i += L) {
                const S l = DIV(a[i * RS + j * CS], d);
                a[i * RS + j * CS] = l;
                for (int q = j + 1; q < N; ++q) a[i * RS + q * CS] -= MUL(l, a[j * RS + q * CS]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    }
% if lm:
    for (int e = lid; e < M * N; e += L) ga[(e / N) * rs + (e % N) * cs] = a[e];
% endif
}
</%def>

## Row interchanges (LAPACK laswp): for j in [j0, j1) (descending with rev: the inverse permutation) swap rows j and piv[j] - 1 of every column outside
## [skip0, skip1) (pivots outside [0, M) are ignored: they may come from the caller). One work-item per column; global (round_up(N, L), batch).
<%def name="laswp(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
__kernel void k(__global S* A, const ${idx} off, const ${idx} bs, const ${idx} rs, const ${idx} cs, const int M,
                const int N, __global const int* piv, const ${idx} poff, const ${idx} pbs, const int j0, const int j1, const int skip0,
                const int skip1, const int rev, const ${idx} nb)
{
    const int q = get_global_id(0);
    const ${idx} b = get_global_id(1);
    if (q >= N || b >= nb || (q >= skip0 && q < skip1)) return;
    __global S* a = A + off + b * bs + q * cs;
    __global const int* pv = piv + poff + b * pbs;
    for (int u = 0; u < j1 - j0; ++u) {
        const int j = rev ? j1 - 1 - u : j0 + u;
        const int p = pv[j] - 1;
        if (p != j && p >= 0 && p < M) { const S x = a[j * rs]; a[j * rs] = a[p * rs]; a[p * rs] = x; }
    }
}
</%def>

## Row interchanges of matrices with contiguous rows, as `laswp` but on 32-bit words (any dtype: a row of N
## elements of w words is N * w words): one work-item per chunk of 64 words of a row and matrix, doing all the
## interchanges on its chunk with 16-word vectors (words in [skip0, skip1) are left alone). The CPU device's form:
## a work-item per column walks a new cache line at every row.
<%def name="laswp_rows(idx)">
${c.preamble(())}
__kernel void k(__global uint* A, const ${idx} off, const ${idx} bs, const ${idx} rs, const int M, const int W,
                __global const int* piv, const ${idx} poff, const ${idx} pbs, const int j0, const int j1,
                const int skip0, const int skip1, const int rev, const ${idx} nb)
{
    const int q0 = get_global_id(0) * 64;
    const ${idx} b = get_global_id(1);
    if (q0 >= W || b >= nb) return;
    __global uint* a = A + off + b * bs + q0;
    __global const int* pv = piv + poff + b * pbs;
    const int w = min(64, W - q0);
    const int fast = w == 64 && (q0 + 64 <= skip0 || q0 >= skip1);
    for (int u = 0; u < j1 - j0; ++u) {
        const int j = rev ? j1 - 1 - u : j0 + u;
        const int p = pv[j] - 1;
        if (p == j || p < 0 || p >= M) continue;
        __global uint* x = a + j * rs;
        __global uint* y = a + p * rs;
        if (fast) {
            for (int e = 0; e < 64; e += 16) {
                const uint16 t = vload16(0, x + e);
                vstore16(vload16(0, y + e), 0, x + e);
                vstore16(t, 0, y + e);
            }
        } else {
            for (int e = 0; e < w; ++e) {
                if (q0 + e >= skip0 && q0 + e < skip1) continue;
                const uint t = x[e]; x[e] = y[e]; y[e] = t;
            }
        }
    }
}
</%def>

## Cholesky A = L L^H of each N x N Hermitian matrix, reading and writing the lower triangle only (LAPACK potf2,
## right-looking). info (in/out): the order of the first leading minor that is not positive-definite
## (ibase + j + 1); a matrix whose info is already set is left alone (the blocked driver's later panels).
<%def name="chol(t, idx, lm)">
${c.preamble((t,))}
${scalar_ops(t)}
__kernel void k(__global S* A, const ${idx} off, const ${idx} bs, const ${idx} rs, const ${idx} cs,
                const int N, const int ibase, __global int* info${", __local S* lmem" if lm else ""})
{
    const ${idx} b = get_group_id(0);
    const int lid = get_local_id(0), L = get_local_size(0);
    __global S* ga = A + off + b * bs;
    __local int bad;
    if (info[b] != 0) return;          /* uniform across the work-group */
% if lm:
    __local S* a = lmem;
    const ${idx} RS = N, CS = 1;
    for (int e = lid; e < N * N; e += L) { const int i = e / N, q = e % N; if (q <= i) a[e] = ga[i * rs + q * cs]; }
    barrier(CLK_LOCAL_MEM_FENCE);
% else:
    __global S* a = ga;
    const ${idx} RS = rs, CS = cs;
% endif
    int j = 0;
    for (; j < N; ++j) {
        if (lid == 0) {
            const RT d = RE(a[j * RS + j * CS]);
            bad = !(d > 0);
            if (bad) info[b] = ibase + j + 1;
            else a[j * RS + j * CS] = MKS(sqrt(d));
        }
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
        if (bad) break;
        const RT r = RE(a[j * RS + j * CS]);
        for (int i = j + 1 + lid; i < N; i += L) a[i * RS + j * CS] /= r;
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
        for (int i = j + 1 + lid; i < N; i += L) {
            const S l = a[i * RS + j * CS];
            for (int q = j + 1; q <= i; ++q) a[i * RS + q * CS] -= MUL(l, CONJ(a[q * RS + j * CS]));
        }
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    }
% if lm:
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int e = lid; e < N * N; e += L) { const int i = e / N, q = e % N; if (q <= i) ga[i * rs + q * cs] = a[e]; }
% endif
}
</%def>

## Triangular solve with many right-hand sides, in place: B <- op(T)^-1 B, T (N x N) lower or upper, unit or
## not, conjugated or not (a transposed T is a view with its strides swapped). One work-item per column of B:
## global (columns, batch) rounded up to the local size; T's batch stride may be 0 (broadcast).
<%def name="trsm(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
__kernel void k(__global const S* T, const ${idx} toff, const ${idx} tbs, const ${idx} trs, const ${idx} tcs,
                __global S* B, const ${idx} boff, const ${idx} bbs, const ${idx} brs, const ${idx} bcs,
                const int N, const int K, const int upper, const int unit, const int conj, const ${idx} nb)
{
    const int q = get_global_id(0);
    const ${idx} b = get_global_id(1);
    if (q >= K || b >= nb) return;
    __global const S* tm = T + toff + b * tbs;
    __global S* x = B + boff + b * bbs + q * bcs;
    if (!upper) {
        for (int i = 0; i < N; ++i) {
            S s = x[i * brs];
            for (int j = 0; j < i; ++j) {
                const S v = tm[i * trs + j * tcs];
                s -= MUL(conj ? CONJ(v) : v, x[j * brs]);
            }
            if (!unit) { const S d = tm[i * trs + i * tcs]; s = DIV(s, conj ? CONJ(d) : d); }
            x[i * brs] = s;
        }
    } else {
        for (int i = N - 1; i >= 0; --i) {
            S s = x[i * brs];
            for (int j = i + 1; j < N; ++j) {
                const S v = tm[i * trs + j * tcs];
                s -= MUL(conj ? CONJ(v) : v, x[j * brs]);
            }
            if (!unit) { const S d = tm[i * trs + i * tcs]; s = DIV(s, conj ? CONJ(d) : d); }
            x[i * brs] = s;
        }
    }
}
</%def>

## Permutation matrix of LAPACK row interchanges: P (m x m, fresh zeros) with A = P L U, i.e. P[perm[i], i] = 1
## where perm starts as the identity and swaps perm[j] and perm[piv[j] - 1] for j < k. One work-item per matrix;
## `perm` is scratch (m ints per matrix).
<%def name="perm(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
__kernel void k(__global S* P, const ${idx} pbs, __global const int* piv, const ${idx} vbs, __global int* perm,
                const int m, const int kk, const ${idx} nb)
{
    const ${idx} b = get_global_id(0);
    if (b >= nb) return;
    __global int* pr = perm + b * m;
    __global const int* pv = piv + b * vbs;
    for (int i = 0; i < m; ++i) pr[i] = i;
    for (int j = 0; j < kk; ++j) {
        const int p = pv[j] - 1;
        if (p >= 0 && p < m && p != j) { const int x = pr[j]; pr[j] = pr[p]; pr[p] = x; }
    }
    for (int i = 0; i < m; ++i) P[b * pbs + (${idx})pr[i] * m + i] = MKS(1);
}
</%def>

## Small real matrices, one work-item per matrix (global round_up(nb, L), local L): the whole factorisation runs
## without barriers, row-oriented so that every inner loop is a contiguous dot product or axpy on 8-wide vectors
## (rows of a contiguous copy: row stride n, batch stride n * n). The fast path of the CPU device, where a
## work-group per matrix pays a barrier per column.
<%def name="rowvec_helpers(t)">
<% V = "double8" if t.name == "float64" else "float8" %>
typedef ${V} V8;
static inline S dot_r(__global const S* x, __global const S* y, const int n) {
    V8 acc = (V8)(0);
    int k = 0;
    for (; k + 8 <= n; k += 8) acc = fma(vload8(0, x + k), vload8(0, y + k), acc);
    S s = ((acc.s0 + acc.s1) + (acc.s2 + acc.s3)) + ((acc.s4 + acc.s5) + (acc.s6 + acc.s7));
    for (; k < n; ++k) s = fma(x[k], y[k], s);
    return s;
}
/* y -= f * x over n elements */
static inline void axpy_r(__global S* y, __global const S* x, const S f, const int n) {
    const V8 fv = (V8)(f);
    int k = 0;
    for (; k + 8 <= n; k += 8) vstore8(fma(-fv, vload8(0, x + k), vload8(0, y + k)), 0, y + k);
    for (; k < n; ++k) y[k] = fma(-f, x[k], y[k]);
}
</%def>

## Cholesky (Cholesky-Banachiewicz, row by row: L[i, j] = (A[i, j] - L[i, :j] . L[j, :j]) / L[j, j]) of each n x n
## real matrix, read through strides from A (batch stride abs_, 0: broadcast) and written to the contiguous L with
## zeros above the diagonal (L may be A itself: row i reads A[i, :i + 1] before writing it). info: the order of the
## first leading minor that is not positive-definite (the row whose diagonal is not > 0).
<%def name="chol_item(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
${rowvec_helpers(t)}
__kernel void k(__global const S* A, const ${idx} aoff, const ${idx} abs_, const ${idx} ars, const ${idx} acs,
                __global S* Lm, const ${idx} loff, const int n, __global int* info, const ${idx} nb)
{
    const ${idx} b = get_global_id(0);
    if (b >= nb) return;
    __global const S* a = A + aoff + b * abs_;
    __global S* l = Lm + loff + b * ((${idx})n * n);
    for (int i = 0; i < n; ++i) {
        __global S* ri = l + (${idx})i * n;
        for (int j = 0; j < i; ++j) {
            __global const S* rj = l + (${idx})j * n;
            ri[j] = (a[i * ars + j * acs] - dot_r(ri, rj, j)) / rj[j];
        }
        const S d = a[i * ars + i * acs] - dot_r(ri, ri, i);
        if (!(d > 0)) {              /* rows from i on: A's lower triangle, as left by the failure */
            info[b] = i + 1;
            for (int r = i; r < n; ++r) for (int q = 0; q < n; ++q)
                l[(${idx})r * n + q] = q <= r ? a[r * ars + q * acs] : (S)0;
            return;
        }
        ri[i] = sqrt(d);
        for (int q = i + 1; q < n; ++q) ri[q] = 0;
    }
}
</%def>

## The same Cholesky for n <= nmax, W matrices per work-item at once (W = 16 float / 8 double): element (i, j) of
## the W matrices is one W-wide vector, the packed lower triangle of all W lives in private memory, so every
## multiply-add is a full vector across matrices (no horizontal sums, no short-row tails). Row i of the W matrices
## is gathered from A through its strides; L (contiguous, zeros above the diagonal) and info are written as
## chol_item writes them (rows from the failing one on: A's lower triangle). Lanes past nb are never written.
<%def name="chol_vec(t, idx, nmax)">
${c.preamble((t,))}
${scalar_ops(t)}
<% W = 8 if t.name == "float64" else 16 %>
typedef ${"double" if t.name == "float64" else "float"}${W} VW;
#define W ${W}
#define NMAX ${nmax}
__kernel void k(__global const S* A, const ${idx} aoff, const ${idx} abs_, const ${idx} ars, const ${idx} acs,
                __global S* Lm, const ${idx} loff, const int n, __global int* info, const ${idx} nb)
{
    const ${idx} b0 = (${idx})get_global_id(0) * W;
    if (b0 >= nb || n > NMAX) return;
    const int nl = (int)min((${idx})W, nb - b0);
    VW Lp[NMAX * (NMAX + 1) / 2];
    S buf[NMAX * W];
    int bad[W];
    for (int l = 0; l < W; ++l) bad[l] = 0;
    int anybad = 0;
    __global const S* a = A + aoff + b0 * abs_;
    for (int i = 0; i < n; ++i) {
        VW* ri = Lp + i * (i + 1) / 2;
        for (int l = 0; l < W; ++l) {
            __global const S* ar = a + (${idx})(l < nl ? l : 0) * abs_ + (${idx})i * ars;
            for (int j = 0; j <= i; ++j) buf[j * W + l] = ar[(${idx})j * acs];
        }
        for (int j = 0; j <= i; ++j) ri[j] = vload${W}(j, buf);
        for (int j = 0; j < i; ++j) {
            const VW* rj = Lp + j * (j + 1) / 2;
            VW s0 = ri[j], s1 = (VW)(0);
            int k = 0;
            for (; k + 2 <= j; k += 2) { s0 = fma(-ri[k], rj[k], s0); s1 = fma(-ri[k + 1], rj[k + 1], s1); }
            if (k < j) s0 = fma(-ri[k], rj[k], s0);
            ri[j] = (s0 + s1) / rj[j];
        }
        VW d0 = ri[i], d1 = (VW)(0);
        int k = 0;
        for (; k + 2 <= i; k += 2) { d0 = fma(-ri[k], ri[k], d0); d1 = fma(-ri[k + 1], ri[k + 1], d1); }
        if (k < i) d0 = fma(-ri[k], ri[k], d0);
        const VW d = d0 + d1;
        if (!all(isgreater(d, (VW)(0)))) {
            vstore${W}(d, 0, buf);
            for (int l = 0; l < nl; ++l)
                if (!(buf[l] > 0) && !bad[l]) { bad[l] = i + 1; anybad = 1; }
        }
        ri[i] = sqrt(d);
    }
    for (int i = 0; i < n; ++i) {
        const VW* ri = Lp + i * (i + 1) / 2;
        for (int j = 0; j <= i; ++j) vstore${W}(ri[j], j, buf);
        for (int l = 0; l < nl; ++l) {
            __global S* lr = Lm + loff + (b0 + l) * ((${idx})n * n) + (${idx})i * n;
            for (int q = 0; q <= i; ++q) lr[q] = buf[q * W + l];
            for (int q = i + 1; q < n; ++q) lr[q] = (S)0;
        }
    }
    for (int l = 0; l < nl; ++l) info[b0 + l] = bad[l];
    if (anybad) {
        for (int l = 0; l < nl; ++l) {
            if (!bad[l]) continue;
            __global const S* al = a + (${idx})l * abs_;
            __global S* ll = Lm + loff + (b0 + l) * ((${idx})n * n);
            for (int r = bad[l] - 1; r < n; ++r) for (int q = 0; q <= r; ++q)
                ll[(${idx})r * n + q] = al[(${idx})r * ars + (${idx})q * acs];
        }
    }
}
</%def>

## LU with partial pivoting (LAPACK getf2, right-looking by rows: each row below the pivot gets its multiplier
## and one 8-wide axpy) of each M x N real matrix of a contiguous batch, in place; piv (min(M, N) per matrix,
## 1-based) and info (the first zero pivot j + 1) as the `lu` kernel.
<%def name="lu_item(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
${rowvec_helpers(t)}
__kernel void k(__global S* A, const ${idx} off, const int M, const int N, __global int* piv, __global int* info,
                const ${idx} nb)
{
    const ${idx} b = get_global_id(0);
    if (b >= nb) return;
    __global S* a = A + off + b * ((${idx})M * N);
    const int K = min(M, N);
    __global int* pv = piv + b * (${idx})K;
    int bad = 0;
    for (int j = 0; j < K; ++j) {
        int p = j;
        S best = fabs(a[(${idx})j * N + j]);
        for (int i = j + 1; i < M; ++i) {
            const S v = fabs(a[(${idx})i * N + j]);
            if (v > best || isnan(v)) { best = v; p = i; if (isnan(v)) break; }
        }
        pv[j] = p + 1;
        __global S* rj = a + (${idx})j * N;
        if (p != j) {
            __global S* rp = a + (${idx})p * N;
            for (int q = 0; q < N; ++q) { const S u = rj[q]; rj[q] = rp[q]; rp[q] = u; }
        }
        const S d = rj[j];
        if (d == 0) { if (!bad) { bad = j + 1; info[b] = bad; } continue; }
        for (int i = j + 1; i < M; ++i) {
            __global S* ri = a + (${idx})i * N;
            const S l = ri[j] / d;
            ri[j] = l;
            if (l != 0) axpy_r(ri + j + 1, rj + j + 1, l, N - j - 1);
        }
    }
}
</%def>

## Inverse by Gauss-Jordan elimination with partial pivoting (the pivot rows of LU with partial pivoting, so info
## is LU's: the first zero pivot j + 1) of each n x n real matrix of a contiguous batch A (destroyed), X <- A^-1
## (contiguous, same layout). A zero pivot leaves its column uneliminated (the result is then not an inverse,
## as LAPACK's getri is not called for singular input).
<%def name="inv_item(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
${rowvec_helpers(t)}
__kernel void k(__global S* A, __global S* X, const int n, __global int* info, const ${idx} nb)
{
    const ${idx} b = get_global_id(0);
    if (b >= nb) return;
    __global S* a = A + b * ((${idx})n * n);
    __global S* x = X + b * ((${idx})n * n);
    for (int i = 0; i < n; ++i) for (int j = 0; j < n; ++j) x[(${idx})i * n + j] = (S)(i == j);
    int bad = 0;
    for (int j = 0; j < n; ++j) {
        int p = j;
        S best = fabs(a[(${idx})j * n + j]);
        for (int i = j + 1; i < n; ++i) {
            const S v = fabs(a[(${idx})i * n + j]);
            if (v > best || isnan(v)) { best = v; p = i; if (isnan(v)) break; }
        }
        __global S* rj = a + (${idx})j * n;
        __global S* xj = x + (${idx})j * n;
        if (p != j) {
            __global S* rp = a + (${idx})p * n;
            __global S* xp = x + (${idx})p * n;
            for (int q = 0; q < n; ++q) {
                const S u = rj[q]; rj[q] = rp[q]; rp[q] = u;
                const S w = xj[q]; xj[q] = xp[q]; xp[q] = w;
            }
        }
        const S d = rj[j];
        if (d == 0) { if (!bad) { bad = j + 1; info[b] = bad; } continue; }
        const S r = 1 / d;
        for (int q = j; q < n; ++q) rj[q] *= r;
        for (int q = 0; q < n; ++q) xj[q] *= r;
        for (int i = 0; i < n; ++i) {
            if (i == j) continue;
            __global S* ri = a + (${idx})i * n;
            const S f = ri[j];
            if (f == 0) continue;
            axpy_r(ri + j + 1, rj + j + 1, f, n - j - 1);
            ri[j] = 0;
            axpy_r(x + (${idx})i * n, xj, f, n);
        }
    }
}
</%def>

## Jacobi rotations. For the Hermitian 2 x 2 block [[a, b], [conj(b), d]] (a, d real) the rotation
## G = [[c, s], [-conj(e) s, conj(e) c]], e = b / |b|, makes G^H M G diagonal (Golub & Van Loan, sym.schur2, after
## the phase diag(1, conj(e)) has made b real). Round r of a sweep pairs the m (= n rounded up to even) indices
## into m / 2 disjoint pairs (round-robin), so the rotations of one round commute and run in parallel.
<%def name="jacobi_helpers(t)">
% if t.complex:
#define CABS(a) hypot((a).x, (a).y)
#define SCALE(a, r) ((a) * (r))
% else:
#define CABS(a) fabs(a)
#define SCALE(a, r) ((a) * (r))
% endif
#define EPS_ ${"DBL_EPSILON" if t.name in ("float64", "complex128") else "FLT_EPSILON"}
#define TINY_ ${"DBL_MIN" if t.name in ("float64", "complex128") else "FLT_MIN"}
static inline void pair_of(int k, int r, int m, int* p, int* q) {
    int i, j;
    if (k == 0) { i = 0; j = 1 + r % (m - 1); }
    else { i = 1 + (r + k) % (m - 1); j = 1 + (r - k + m - 1) % (m - 1); }
    *p = min(i, j); *q = max(i, j);
}
static inline void jrot(RT a, RT d, S b, RT* c, RT* s, S* e) {
    const RT ab = CABS(b);
    *e = DIV(b, MKS(ab));
    const RT tau = (d - a) / (2 * ab);
    const RT at = fabs(tau);       /* hypot(1, tau) without PoCL's slow hypot: 1 is negligible past 1e18 */
    const RT t = (tau >= 0 ? (RT)1 : (RT)-1) / (at + (at < (RT)1e18 ? sqrt(1 + tau * tau) : at));
    *c = (RT)1 / sqrt(1 + t * t);
    *s = t * *c;
}
</%def>

## Hermitian eigendecomposition by parallel two-sided Jacobi, one work-group per n x n matrix. A: a fresh
## contiguous copy (its lower triangle is the input, as LAPACK's UPLO='L'); V (n x n per matrix, written when
## wantv), W (n real eigenvalues per matrix, ascending), rot: scratch of 4 reals per pair.
<%def name="eigh(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
${jacobi_helpers(t)}
__kernel void k(__global S* A, __global S* V, __global RT* W, __global RT* rot, const int n, const int maxsweeps,
                const int wantv)
{
    const ${idx} b = get_group_id(0);
    const int lid = get_local_id(0), L = get_local_size(0);
    const int m = n + (n & 1), h = m / 2;
    __global S* a = A + b * (${idx})n * n;
    __global S* v = V + b * (${idx})n * n;
    __global RT* w = W + b * (${idx})n;
    __global RT* ro = rot + b * (${idx})h * 4;
    __local int changed;
    __local RT scale;
    for (int i = lid; i < n; i += L) {
        for (int j = 0; j < n; ++j) {
            if (j > i) a[i * n + j] = CONJ(a[j * n + i]);
            if (wantv) v[i * n + j] = MKS(i == j ? 1 : 0);
        }
        a[i * n + i] = MKS(RE(a[i * n + i]));
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    if (lid == 0) {
        RT sc = 0;
        for (int i = 0; i < n * n; ++i) sc = fmax(sc, ABS1(a[i]));
        scale = sc;
    }
    for (int sweep = 0; sweep < maxsweeps && n > 1; ++sweep) {
        if (lid == 0) changed = 0;
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
        for (int r = 0; r < m - 1; ++r) {
            for (int k = lid; k < h; k += L) {
                int p, q;
                pair_of(k, r, m, &p, &q);
                RT cs = 1, sn = 0;
                S e = MKS(1);
                if (q < n) {
                    const RT ad = RE(a[p * n + p]), dd = RE(a[q * n + q]);
                    const S bb = a[p * n + q];
                    const RT ab = CABS(bb);
                    if (ab > EPS_ * sqrt(fabs(ad)) * sqrt(fabs(dd)) && ab > EPS_ * EPS_ * scale && ab > TINY_ / EPS_) {
                        jrot(ad, dd, bb, &cs, &sn, &e);
                        changed = 1;
                    }
                }
                ro[4 * k] = cs; ro[4 * k + 1] = sn;
% if t.complex:
                ro[4 * k + 2] = e.x; ro[4 * k + 3] = e.y;
% else:
                ro[4 * k + 2] = e;
% endif
            }
            barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
            for (int k = lid; k < h; k += L) {           /* rows: G^H A */
                int p, q;
                pair_of(k, r, m, &p, &q);
                const RT cs = ro[4 * k], sn = ro[4 * k + 1];
                if (q >= n || sn == 0) continue;
% if t.complex:
                const S e = (S)(ro[4 * k + 2], ro[4 * k + 3]);
% else:
                const S e = ro[4 * k + 2];
% endif
                for (int j = 0; j < n; ++j) {
                    const S ap = a[p * n + j], aq = MUL(e, a[q * n + j]);
                    a[p * n + j] = ap * cs - aq * sn;
                    a[q * n + j] = ap * sn + aq * cs;
                }
            }
            barrier(CLK_GLOBAL_MEM_FENCE);
            for (int k = lid; k < h; k += L) {           /* columns: (G^H A) G, and V G */
                int p, q;
                pair_of(k, r, m, &p, &q);
                const RT cs = ro[4 * k], sn = ro[4 * k + 1];
                if (q >= n || sn == 0) continue;
% if t.complex:
                const S ec = (S)(ro[4 * k + 2], -ro[4 * k + 3]);
% else:
                const S ec = ro[4 * k + 2];
% endif
                for (int i = 0; i < n; ++i) {
                    const S ap = a[i * n + p], aq = MUL(ec, a[i * n + q]);
                    a[i * n + p] = ap * cs - aq * sn;
                    a[i * n + q] = ap * sn + aq * cs;
                }
                if (wantv) {
                    for (int i = 0; i < n; ++i) {
                        const S vp = v[i * n + p], vq = MUL(ec, v[i * n + q]);
                        v[i * n + p] = vp * cs - vq * sn;
                        v[i * n + q] = vp * sn + vq * cs;
                    }
                }
            }
            barrier(CLK_GLOBAL_MEM_FENCE);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const int ch = changed;
        barrier(CLK_LOCAL_MEM_FENCE);
        if (!ch) break;
    }
    if (lid == 0) {                 /* eigenvalues ascending (selection sort), V's columns with them */
        for (int i = 0; i < n; ++i) w[i] = RE(a[i * n + i]);
        for (int i = 0; i < n; ++i) {
            int mi = i;
            for (int j = i + 1; j < n; ++j) if (w[j] < w[mi]) mi = j;
            if (mi != i) {
                const RT x = w[i]; w[i] = w[mi]; w[mi] = x;
                if (wantv) for (int r = 0; r < n; ++r) { const S y = v[r * n + i]; v[r * n + i] = v[r * n + mi]; v[r * n + mi] = y; }
            }
        }
    }
}
</%def>

## Singular value decomposition by one-sided (Hestenes) Jacobi, one work-group per M x N matrix (M >= N): the
## columns of U (a fresh contiguous copy of A) are orthogonalised by rotations of column pairs (the Jacobi
## rotation of their 2 x 2 Gram matrix), accumulated in V (N x N, written when wantv). Then S = column norms
## (descending), U's columns normalised (left as zeros for zero singular values).
<%def name="svd(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
${jacobi_helpers(t)}
__kernel void k(__global S* A, __global S* V, __global RT* SV, const int M, const int n, const int maxsweeps,
                const int wantv)
{
    const ${idx} b = get_group_id(0);
    const int lid = get_local_id(0), L = get_local_size(0);
    const int m2 = n + (n & 1), h = m2 / 2;
    __global S* u = A + b * (${idx})M * n;
    __global S* v = V + b * (${idx})n * n;
    __global RT* sv = SV + b * (${idx})n;
    __local int changed;
    if (wantv) for (int i = lid; i < n; i += L) for (int j = 0; j < n; ++j) v[i * n + j] = MKS(i == j ? 1 : 0);
    for (int sweep = 0; sweep < maxsweeps && n > 1; ++sweep) {
        if (lid == 0) changed = 0;
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
        for (int r = 0; r < m2 - 1; ++r) {
            for (int k = lid; k < h; k += L) {
                int p, q;
                pair_of(k, r, m2, &p, &q);
                if (q >= n) continue;
                RT al = 0, be = 0;
                S ga = MKS(0);
                for (int i = 0; i < M; ++i) {
                    const S x = u[i * n + p], y = u[i * n + q];
                    al += RE(MUL(CONJ(x), x)); be += RE(MUL(CONJ(y), y)); ga += MUL(CONJ(x), y);
                }
                const RT ag = CABS(ga);
                if (!(ag > EPS_ * sqrt(al) * sqrt(be)) || !(ag > TINY_ / EPS_)) continue;
                changed = 1;
                RT cs, sn;
                S e;
                jrot(al, be, ga, &cs, &sn, &e);
                const S ec = CONJ(e);
                for (int i = 0; i < M; ++i) {
                    const S x = u[i * n + p], y = MUL(ec, u[i * n + q]);
                    u[i * n + p] = x * cs - y * sn;
                    u[i * n + q] = x * sn + y * cs;
                }
                if (wantv) {
                    for (int i = 0; i < n; ++i) {
                        const S x = v[i * n + p], y = MUL(ec, v[i * n + q]);
                        v[i * n + p] = x * cs - y * sn;
                        v[i * n + q] = x * sn + y * cs;
                    }
                }
            }
            barrier(CLK_GLOBAL_MEM_FENCE);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const int ch = changed;
        barrier(CLK_LOCAL_MEM_FENCE);
        if (!ch) break;
    }
    for (int j = lid; j < n; j += L) {
        RT s2 = 0;
        for (int i = 0; i < M; ++i) s2 += RE(MUL(CONJ(u[i * n + j]), u[i * n + j]));
        const RT s = sqrt(s2);
        sv[j] = s;
        if (s > 0) for (int i = 0; i < M; ++i) u[i * n + j] = u[i * n + j] * ((RT)1 / s);
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    if (lid == 0) {                 /* descending, with the columns of U and V */
        for (int i = 0; i < n; ++i) {
            int mi = i;
            for (int j = i + 1; j < n; ++j) if (sv[j] > sv[mi]) mi = j;
            if (mi != i) {
                const RT x = sv[i]; sv[i] = sv[mi]; sv[mi] = x;
                for (int r = 0; r < M; ++r) { const S y = u[r * n + i]; u[r * n + i] = u[r * n + mi]; u[r * n + mi] = y; }
                if (wantv) for (int r = 0; r < n; ++r) { const S y = v[r * n + i]; v[r * n + i] = v[r * n + mi]; v[r * n + mi] = y; }
            }
        }
    }
}
</%def>

## Householder QR (LAPACK geqr2) of each M x N matrix in place, one work-group per matrix: reflector j by the
## first work-item (larfg: beta = -sign(re alpha) |(alpha, x)|, tau = (beta - alpha) / beta, v = x / (alpha -
## beta)), then H_j^H applied to the trailing columns, one column per work-item. tau: K = min(M, N) per matrix.
<%def name="geqrf(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
__kernel void k(__global S* A, __global S* TAU, const int M, const int N)
{
    const ${idx} b = get_group_id(0);
    const int lid = get_local_id(0), L = get_local_size(0);
    const int K = min(M, N);
    __global S* a = A + b * (${idx})M * N;
    __global S* tau = TAU + b * (${idx})K;
    for (int j = 0; j < K; ++j) {
        if (lid == 0) {
            const S alpha = a[j * N + j];
            RT mx = 0, xn = 0;          /* |x| scaled by max |re|, |im| (no hypot per element: slow here) */
            for (int i = j + 1; i < M; ++i) {
% if t.complex:
                mx = fmax(mx, fmax(fabs(a[i * N + j].x), fabs(a[i * N + j].y)));
% else:
                mx = fmax(mx, fabs(a[i * N + j]));
% endif
            }
            if (mx > 0) {
                const RT inv = 1 / mx;
                RT ss = 0;
                for (int i = j + 1; i < M; ++i) {
% if t.complex:
                    const RT u = a[i * N + j].x * inv, v = a[i * N + j].y * inv;
                    ss += u * u + v * v;
% else:
                    const RT u = a[i * N + j] * inv;
                    ss += u * u;
% endif
                }
                xn = mx * sqrt(ss);
            }
% if t.complex:
            const int trivial = xn == 0 && alpha.y == 0;
% else:
            const int trivial = xn == 0;
% endif
            if (trivial) {
                tau[j] = MKS(0);
            } else {
% if t.complex:
                const RT beta = -copysign(hypot(hypot(alpha.x, alpha.y), xn), alpha.x);
                tau[j] = (S)((beta - alpha.x) / beta, -alpha.y / beta);
% else:
                const RT beta = -copysign(hypot(alpha, xn), alpha);
                tau[j] = (beta - alpha) / beta;
% endif
                const S sc = DIV(MKS(1), alpha - MKS(beta));
                for (int i = j + 1; i < M; ++i) a[i * N + j] = MUL(a[i * N + j], sc);
                a[j * N + j] = MKS(beta);
            }
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
        const S tc = CONJ(tau[j]);
        for (int q = j + 1 + lid; q < N; q += L) {
            S w = a[j * N + q];
            for (int i = j + 1; i < M; ++i) w += MUL(CONJ(a[i * N + j]), a[i * N + q]);
            w = MUL(tc, w);
            a[j * N + q] -= w;
            for (int i = j + 1; i < M; ++i) a[i * N + q] -= MUL(a[i * N + j], w);
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
}
</%def>

## Triangular factor of a block of K reflectors (LAPACK larft, forward, columnwise): H_0 ... H_{K-1} =
## I - V T V^H with T upper triangular, from G = V^H V (K x K, contiguous per matrix) and tau (K per matrix):
## T[i, i] = tau_i, T[:i, i] = -tau_i T[:i, :i] G[:i, i] (a zero tau gives a zero column: H_i = I).
## T: fresh zeros (K x K per matrix); tau contiguous from toff. One work-item per matrix.
<%def name="larft(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
__kernel void k(__global const S* G, __global const S* TAU, const ${idx} toff, __global S* T, const int K,
                const ${idx} nb)
{
    const ${idx} b = get_global_id(0);
    if (b >= nb) return;
    __global const S* g = G + b * (${idx})K * K;
    __global const S* tau = TAU + toff + b * (${idx})K;
    __global S* tm = T + b * (${idx})K * K;
    for (int i = 0; i < K; ++i) {
        const S ti = tau[i];
        tm[i * K + i] = ti;
        for (int r = 0; r < i; ++r) {
            S s = MKS(0);
            for (int c = r; c < i; ++c) s += MUL(tm[r * K + c], g[c * K + i]);
            tm[r * K + i] = -MUL(ti, s);
        }
    }
}
</%def>

## Q = H_0 H_1 ... H_{K-1} applied to the first NQ columns of the M x M identity (LAPACK orgqr / ungqr):
## reflectors below the diagonal of V (M x NV, unit diagonal implied, batch stride vbs), tau (K per matrix).
## One work-group per matrix, one column of Q per work-item.
<%def name="orgqr(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
__kernel void k(__global const S* V, const ${idx} voff, const ${idx} vbs, const ${idx} vrs, const ${idx} vcs,
                __global const S* TAU, const ${idx} toff, const ${idx} tbs, __global S* Q, const int M,
                const int NQ, const int K)
{
    const ${idx} b = get_group_id(0);
    const int lid = get_local_id(0), L = get_local_size(0);
    __global const S* v = V + voff + b * vbs;
    __global const S* tau = TAU + toff + b * tbs;
    __global S* q = Q + b * (${idx})M * NQ;
    for (int c = lid; c < NQ; c += L) {
        for (int i = 0; i < M; ++i) q[i * NQ + c] = MKS(i == c ? 1 : 0);
        for (int j = K - 1; j >= 0; --j) {
            S w = q[j * NQ + c];
            for (int i = j + 1; i < M; ++i) w += MUL(CONJ(v[i * vrs + j * vcs]), q[i * NQ + c]);
            w = MUL(tau[j], w);
            q[j * NQ + c] -= w;
            for (int i = j + 1; i < M; ++i) q[i * NQ + c] -= MUL(v[i * vrs + j * vcs], w);
        }
    }
}
</%def>

## General (non-Hermitian) eigendecomposition, complex arithmetic (t complex), one work-item per matrix:
## Householder reduction to Hessenberg form, complex single-shift QR iteration (Wilkinson shift, Givens
## rotations, deflation on small subdiagonals) to the Schur form T = Z^H A Z, then the eigenvectors of T by back
## substitution, V = Z Y with unit columns whose largest component is real (as LAPACK geev).
## H: fresh contiguous copy (destroyed), W: eigenvalues, V: eigenvectors (wantv), Z: scratch n x n, y: scratch n,
## info: 1 where the iteration did not converge.
<%def name="geev(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
#define EPS_ ${"DBL_EPSILON" if t.name == "complex128" else "FLT_EPSILON"}
#define CABS(a) hypot((a).x, (a).y)
__kernel void k(__global S* Hb, __global S* Wb, __global S* Vb, __global S* Zb, __global S* yb,
                __global int* info, const int n, const int wantv, const ${idx} nb)
{
    const ${idx} b = get_global_id(0);
    if (b >= nb) return;
    __global S* h = Hb + b * (${idx})n * n;
    __global S* z = Zb + b * (${idx})n * n;
    __global S* v = Vb + b * (${idx})n * n;
    __global S* y = yb + b * (${idx})n;
    __global S* w = Wb + b * (${idx})n;
#define H(i, j) h[(i) * n + (j)]
#define Z(i, j) z[(i) * n + (j)]
    for (int i = 0; i < n; ++i) for (int j = 0; j < n; ++j) Z(i, j) = MKS(i == j ? 1 : 0);
    /* Hessenberg: reflector k zeroes H[k+2:, k]; v kept in y[k+1:] (v[k+1] = 1) */
    for (int k = 0; k + 2 < n; ++k) {
        const S alpha = H(k + 1, k);
        RT xn = 0;
        for (int i = k + 2; i < n; ++i) xn = hypot(xn, CABS(H(i, k)));
        if (xn == 0 && alpha.y == 0) continue;
        const RT beta = -copysign(hypot(CABS(alpha), xn), alpha.x);
        const S tau = (S)((beta - alpha.x) / beta, -alpha.y / beta);
        const S sc = DIV(MKS(1), alpha - MKS(beta));
        y[k + 1] = MKS(1);
        for (int i = k + 2; i < n; ++i) y[i] = MUL(H(i, k), sc);
        for (int j = 0; j < n; ++j) {          /* H <- P^H H, P = I - tau v v^H */
            S s = MKS(0);
            for (int i = k + 1; i < n; ++i) s += MUL(CONJ(y[i]), H(i, j));
            s = MUL(CONJ(tau), s);
            for (int i = k + 1; i < n; ++i) H(i, j) -= MUL(y[i], s);
        }
        for (int i = 0; i < n; ++i) {          /* H <- H P, Z <- Z P */
            S s = MKS(0), s2 = MKS(0);
            for (int j = k + 1; j < n; ++j) { s += MUL(H(i, j), y[j]); s2 += MUL(Z(i, j), y[j]); }
            s = MUL(s, tau); s2 = MUL(s2, tau);
            for (int j = k + 1; j < n; ++j) { H(i, j) -= MUL(s, CONJ(y[j])); Z(i, j) -= MUL(s2, CONJ(y[j])); }
        }
        for (int i = k + 2; i < n; ++i) H(i, k) = MKS(0);
    }
    /* shifted QR */
    int hi = n - 1, it = 0, total = 0, bad = 0;
    while (hi > 0) {
        int l = hi;
        while (l > 0 && CABS(H(l, l - 1)) > EPS_ * (CABS(H(l, l)) + CABS(H(l - 1, l - 1)))) --l;
        if (l > 0) H(l, l - 1) = MKS(0);
        if (l == hi) { --hi; it = 0; continue; }
        if (++total > 60 * n) { bad = 1; break; }
        ++it;
        S mu;
        const S a = H(hi - 1, hi - 1), bb = H(hi - 1, hi), cc = H(hi, hi - 1), d = H(hi, hi);
        if (it % 11 == 10) {                    /* exceptional shift */
            mu = d + MKS((RT)0.75 * CABS(cc));
        } else {
            const S hm = (a - d) * (RT)0.5;
            const S disc = c_sqrt(MUL(hm, hm) + MUL(bb, cc));
            const S m1 = d + hm + disc, m2 = d + hm - disc;   /* (a + d) / 2 +- disc */
            mu = CABS(m1 - d) < CABS(m2 - d) ? m1 : m2;
        }
        S x = H(l, l) - mu, yy = H(l + 1, l);
        for (int k = l; k < hi; ++k) {
            if (k > l) { x = H(k, k - 1); yy = H(k + 1, k - 1); }
            const RT ax = CABS(x), nr = hypot(ax, CABS(yy));
            RT cs; S sn;
            if (nr == 0) continue;
            if (ax == 0) { cs = 0; sn = MKS(1); }
            else { cs = ax / nr; sn = MUL(x * ((RT)1 / ax), CONJ(yy)) * ((RT)1 / nr); }
            for (int j = max(k - 1, 0); j < n; ++j) {
                const S p = H(k, j), q = H(k + 1, j);
                H(k, j) = p * cs + MUL(sn, q);
                H(k + 1, j) = q * cs - MUL(CONJ(sn), p);
            }
            const int top = min(k + 2, n - 1);
            for (int i = 0; i <= top; ++i) {
                const S p = H(i, k), q = H(i, k + 1);
                H(i, k) = p * cs + MUL(CONJ(sn), q);
                H(i, k + 1) = q * cs - MUL(sn, p);
            }
            for (int i = 0; i < n; ++i) {
                const S p = Z(i, k), q = Z(i, k + 1);
                Z(i, k) = p * cs + MUL(CONJ(sn), q);
                Z(i, k + 1) = q * cs - MUL(sn, p);
            }
            if (k > l) H(k + 1, k - 1) = MKS(0);
        }
    }
    info[b] = bad;
    RT tn = 0;
    for (int i = 0; i < n; ++i) { w[i] = H(i, i); for (int j = i; j < n; ++j) tn = fmax(tn, CABS(H(i, j))); }
    if (!wantv) return;
    const RT small = EPS_ * fmax(tn, (RT)${"DBL_MIN" if t.name == "complex128" else "FLT_MIN"});
    for (int k = 0; k < n; ++k) {
        y[k] = MKS(1);
        for (int i = k - 1; i >= 0; --i) {
            S s = MKS(0);
            for (int j = i + 1; j <= k; ++j) s += MUL(H(i, j), y[j]);
            S den = H(i, i) - H(k, k);
            if (CABS(den) < small) den = MKS(small);
            y[i] = -DIV(s, den);
        }
        RT nrm = 0, big = -1;
        int ib = 0;
        for (int i = 0; i < n; ++i) {
            S s = MKS(0);
            for (int j = 0; j <= k; ++j) s += MUL(Z(i, j), y[j]);
            v[i * n + k] = s;
            const RT as = CABS(s);
            nrm = hypot(nrm, as);
            if (as > big) { big = as; ib = i; }
        }
        const S ph = DIV(CONJ(v[ib * n + k]), MKS(big * nrm));   /* unit norm, largest component real */
        for (int i = 0; i < n; ++i) v[i * n + k] = MUL(v[i * n + k], ph);
    }
#undef H
#undef Z
}
</%def>

## LDL^T (or LDL^H with herm) of symmetric / Hermitian matrices with Bunch-Kaufman pivoting (LAPACK sytf2 /
## hetf2, lower), one work-item per matrix, in place on a fresh contiguous copy. piv and info as LAPACK's.
<%def name="sytrf(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
% if t.complex:
#define CJ(a) (herm ? CONJ(a) : (a))
% else:
#define CJ(a) (a)
% endif
__kernel void k(__global S* Ab, __global int* pivb, __global int* info, const int n, const int herm, const ${idx} nb)
{
    const ${idx} b = get_global_id(0);
    if (b >= nb) return;
    __global S* a = Ab + b * (${idx})n * n;
    __global int* ipiv = pivb + b * (${idx})n;
#define A(i, j) a[(i) * n + (j)]
    const RT alpha = (1 + sqrt((RT)17)) / 8;
    int inf = 0;
    if (herm) for (int i = 0; i < n; ++i) A(i, i) = MKS(RE(A(i, i)));
    int k = 0;
    while (k < n) {
        int kstep = 1, kp = k;
        const RT absakk = herm ? fabs(RE(A(k, k))) : ABS1(A(k, k));
        int imax = k;
        RT colmax = 0;
        for (int i = k + 1; i < n; ++i) { const RT x = ABS1(A(i, k)); if (x > colmax) { colmax = x; imax = i; } }
        if (fmax(absakk, colmax) == 0 || isnan(absakk)) {
            if (inf == 0) inf = k + 1;
            kp = k;
        } else {
            if (absakk >= alpha * colmax) {
                kp = k;
            } else {
                RT rowmax = 0;
                for (int j = k; j < imax; ++j) rowmax = fmax(rowmax, ABS1(A(imax, j)));
                for (int j = imax + 1; j < n; ++j) rowmax = fmax(rowmax, ABS1(A(j, imax)));
                const RT aii = herm ? fabs(RE(A(imax, imax))) : ABS1(A(imax, imax));
                if (absakk >= alpha * colmax * (colmax / rowmax)) kp = k;
                else if (aii >= alpha * rowmax) kp = imax;
                else { kp = imax; kstep = 2; }
            }
            const int kk = k + kstep - 1;
            if (kp != kk) {
                for (int i = kp + 1; i < n; ++i) { const S x = A(i, kk); A(i, kk) = A(i, kp); A(i, kp) = x; }
                for (int j = kk + 1; j < kp; ++j) { const S x = CJ(A(j, kk)); A(j, kk) = CJ(A(kp, j)); A(kp, j) = x; }
                if (herm) A(kp, kk) = CJ(A(kp, kk));
                const S x = A(kk, kk); A(kk, kk) = A(kp, kp); A(kp, kp) = x;
                if (kstep == 2) { const S y = A(k + 1, k); A(k + 1, k) = A(kp, k); A(kp, k) = y; }
            }
            if (kstep == 1) {
                const S d11 = DIV(MKS(1), A(k, k));
                for (int j = k + 1; j < n; ++j) {
                    const S f = MUL(d11, CJ(A(j, k)));
                    for (int i = j; i < n; ++i) A(i, j) -= MUL(A(i, k), f);
                    if (herm) A(j, j) = MKS(RE(A(j, j)));
                }
                for (int i = k + 1; i < n; ++i) A(i, k) = MUL(A(i, k), d11);
            } else {
                if (herm) {
% if t.complex:
                    const RT dd = hypot(A(k + 1, k).x, A(k + 1, k).y);
% else:
                    const RT dd = fabs(A(k + 1, k));
% endif
                    const RT d11 = RE(A(k + 1, k + 1)) / dd, d22 = RE(A(k, k)) / dd;
                    const RT tt = 1 / (d11 * d22 - 1);
                    const S d21 = A(k + 1, k) * ((RT)1 / dd);
                    const RT d = tt / dd;
                    for (int j = k + 2; j < n; ++j) {
                        const S wk = (A(j, k) * d11 - MUL(d21, A(j, k + 1))) * d;
                        const S wkp1 = (A(j, k + 1) * d22 - MUL(CONJ(d21), A(j, k))) * d;
                        for (int i = j; i < n; ++i) A(i, j) -= MUL(A(i, k), CONJ(wk)) + MUL(A(i, k + 1), CONJ(wkp1));
                        A(j, k) = wk; A(j, k + 1) = wkp1;
                        A(j, j) = MKS(RE(A(j, j)));
                    }
                } else {
                    S d21 = A(k + 1, k);
                    const S d11 = DIV(A(k + 1, k + 1), d21), d22 = DIV(A(k, k), d21);
                    const S tt = DIV(MKS(1), MUL(d11, d22) - MKS(1));
                    d21 = DIV(tt, d21);
                    for (int j = k + 2; j < n; ++j) {
                        const S wk = MUL(d21, MUL(d11, A(j, k)) - A(j, k + 1));
                        const S wkp1 = MUL(d21, MUL(d22, A(j, k + 1)) - A(j, k));
                        for (int i = j; i < n; ++i) A(i, j) -= MUL(A(i, k), wk) + MUL(A(i, k + 1), wkp1);
                        A(j, k) = wk; A(j, k + 1) = wkp1;
                    }
                }
            }
        }
        if (kstep == 1) ipiv[k] = kp + 1;
        else { ipiv[k] = -(kp + 1); ipiv[k + 1] = -(kp + 1); }
        k += kstep;
    }
    info[b] = inf;
#undef A
}
</%def>

## Solve A X = B from sytrf's factors (LAPACK sytrs / hetrs, lower), in place on B; one work-item per column of
## B: global (round_up(K, 16), batch). Pivots outside [1, n] are ignored (they may come from the caller).
<%def name="sytrs(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
% if t.complex:
#define CJ(a) (herm ? CONJ(a) : (a))
% else:
#define CJ(a) (a)
% endif
__kernel void k(__global const S* LD, const ${idx} lbs, __global const int* pivb, const ${idx} pbs,
                __global S* Bb, const ${idx} bbs, const int n, const int K, const int herm)
{
    const int col = get_global_id(0);
    const ${idx} b = get_global_id(1);
    if (col >= K) return;
    __global const S* a = LD + b * lbs;
    __global const int* ipiv = pivb + b * pbs;
    __global S* x = Bb + b * bbs + col;
#define A(i, j) a[(i) * n + (j)]
#define X(i) x[(i) * K]
#define SWAP(i, j) if ((j) >= 0 && (j) < n && (i) != (j)) { const S s_ = X(i); X(i) = X(j); X(j) = s_; }
    int k = 0;
    while (k < n) {
        if (ipiv[k] > 0) {
            const int kp = ipiv[k] - 1;
            SWAP(k, kp);
            for (int i = k + 1; i < n; ++i) X(i) -= MUL(A(i, k), X(k));
            X(k) = herm ? X(k) * ((RT)1 / RE(A(k, k))) : DIV(X(k), A(k, k));
            k += 1;
        } else {
            if (k + 1 >= n) break;
            const int kp = -ipiv[k] - 1;
            SWAP(k + 1, kp);
            for (int i = k + 2; i < n; ++i) X(i) -= MUL(A(i, k), X(k)) + MUL(A(i, k + 1), X(k + 1));
            const S akm1k = A(k + 1, k);
            const S akm1 = DIV(A(k, k), CJ(akm1k)), ak = DIV(A(k + 1, k + 1), akm1k);
            const S denom = MUL(akm1, ak) - MKS(1);
            const S bkm1 = DIV(X(k), CJ(akm1k)), bk = DIV(X(k + 1), akm1k);
            X(k) = DIV(MUL(ak, bkm1) - bk, denom);
            X(k + 1) = DIV(MUL(akm1, bk) - bkm1, denom);
            k += 2;
        }
    }
    k = n - 1;
    while (k >= 0) {
        if (ipiv[k] > 0) {
            S s = MKS(0);
            for (int i = k + 1; i < n; ++i) s += MUL(CJ(A(i, k)), X(i));
            X(k) -= s;
            const int kp = ipiv[k] - 1;
            SWAP(k, kp);
            k -= 1;
        } else {
            if (k < 1) break;
            S s = MKS(0), s1 = MKS(0);
            for (int i = k + 1; i < n; ++i) { s += MUL(CJ(A(i, k)), X(i)); s1 += MUL(CJ(A(i, k - 1)), X(i)); }
            X(k) -= s; X(k - 1) -= s1;
            const int kp = -ipiv[k] - 1;
            SWAP(k, kp);
            k -= 2;
        }
    }
#undef A
#undef X
#undef SWAP
}
</%def>

## Householder tridiagonalisation of a real symmetric matrix (LAPACK sytd2, lower), one column per pair of
## launches. `sytrd_col` (one work-group per matrix): finishes w of the previous column (w = tau p - tau^2/2
## (p.v) v, p = A v from `sytrd_upd`), applies that column's rank-2 update to column i, writes d[i], and builds
## the reflector of column i (always a reflection: tau = 2 / |v|^2, v[i+1] = 1, so the blocked back-transformation
## can form T^-1 = striu(V^T V) + diag(V^T V) / 2) into row i of V (n x n, V[i, r] = v_i[r], zero for r <= i:
## the reflectors are stored transposed so that every loop walks memory contiguously).
## Matrices are contiguous n x n (row-major), batch b at b * n * n; vectors at b * n.
## Shared steps of the tridiagonalisation kernels (a, v: matrix b's A and reflector rows; p, w: its vectors).
<%def name="sytrd_steps(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
<%
VW = 8 if t.name == "float64" else 16
%>
typedef ${t.cc}${VW} SV;
inline S hsum(SV x)
{
% if VW == 16:
    ${t.cc}8 h8 = x.lo + x.hi;
% else:
    ${t.cc}8 h8 = x;
% endif
    ${t.cc}4 h4 = h8.lo + h8.hi;
    ${t.cc}2 h2 = h4.lo + h4.hi;
    return h2.x + h2.y;
}
// column step i: finish w of column i - 1, update column i (stored as row i), build reflector i (all work-items)
void trd_col(__global S* a, __global S* v, __global const S* p, __global S* w, __global S* D, __global S* E,
             __global S* TAU, const ${idx} b, const int n, const int i, const int lid, const int L,
             __local S* red, __local S* sh)
{
    if (i > 0) {
        S acc = 0;
        for (int r = i + lid; r < n; r += L) acc += p[r] * v[(${idx})(i - 1) * n + r];
        red[lid] = acc;
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid == 0) {
            S s = 0;
            for (int q = 0; q < L; ++q) s += red[q];
            sh[0] = s;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const S t = TAU[b * (${idx})n + i - 1], c2 = (S)0.5 * t * t * sh[0];
        for (int r = i + lid; r < n; r += L) w[r] = t * p[r] - c2 * v[(${idx})(i - 1) * n + r];
        barrier(CLK_GLOBAL_MEM_FENCE);
        const S wi = w[i], vi = v[(${idx})(i - 1) * n + i];
        for (int r = i + lid; r < n; r += L) a[(${idx})i * n + r] -= v[(${idx})(i - 1) * n + r] * wi + w[r] * vi;
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
    if (i == n - 2) {
        if (lid == 0) {
            D[b * (${idx})n + i] = a[(${idx})i * n + i];
            E[b * (${idx})n + i] = a[(${idx})i * n + i + 1];
            S x = a[(${idx})(n - 1) * n + n - 1];
            if (i > 0) x -= 2 * v[(${idx})(i - 1) * n + (n - 1)] * w[n - 1];
            D[b * (${idx})n + n - 1] = x;
            TAU[b * (${idx})n + i] = 0;
        }
        return;
    }
    S mx = 0;
    for (int r = i + 2 + lid; r < n; r += L) mx = fmax(mx, fabs(a[(${idx})i * n + r]));
    red[lid] = mx;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {
        S s = 0;
        for (int q = 0; q < L; ++q) s = fmax(s, red[q]);
        sh[0] = s;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const S amax = sh[0], inv = amax > 0 ? 1 / amax : 0;
    S ss = 0;
    for (int r = i + 2 + lid; r < n; r += L) {
        const S x = a[(${idx})i * n + r] * inv;
        ss += x * x;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    red[lid] = ss;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {
        S s = 0;
        for (int q = 0; q < L; ++q) s += red[q];
        const S alpha = a[(${idx})i * n + i + 1], xn = amax * sqrt(s);
        const S beta = -copysign(hypot(alpha, xn), alpha);
        S t = 2, scal = 0, e = 0;
        if (beta != 0) {
            t = (beta - alpha) / beta;
            scal = 1 / (alpha - beta);
            e = beta;
        }
        D[b * (${idx})n + i] = a[(${idx})i * n + i];
        E[b * (${idx})n + i] = e;
        TAU[b * (${idx})n + i] = t;
        sh[1] = scal;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const S scal = sh[1];
    for (int r = lid; r < n; r += L)
        v[(${idx})(i) * n + r] = r <= i ? (S)0 : r == i + 1 ? (S)1 : a[(${idx})i * n + r] * scal;
}

// row r > i of the trailing step: the previous column's rank-2 update fused with p[r] = (A v_i)[r]
S trd_row(__global S* a, __global const S* vc, __global const S* w, const int n, const int i, const int r)
{
    SV accv = (SV)0;
    S acc = 0;
    int c = i + 1;
    if (i > 0) {
        __global const S* vp = vc - n;
        const S vr = vp[r], wr = w[r];
        for (; c + ${VW} <= n; c += ${VW}) {
            const SV x = vload${VW}(0, a + c) - vr * vload${VW}(0, w + c) - wr * vload${VW}(0, vp + c);
            vstore${VW}(x, 0, a + c);
            accv += x * vload${VW}(0, vc + c);
        }
        for (; c < n; ++c) {
            const S x = a[c] - vr * w[c] - wr * vp[c];
            a[c] = x;
            acc += x * vc[c];
        }
    } else {
        for (; c + ${VW} <= n; c += ${VW}) accv += vload${VW}(0, a + c) * vload${VW}(0, vc + c);
        for (; c < n; ++c) acc += a[c] * vc[c];
    }
    return acc + hsum(accv);
}
</%def>

<%def name="sytrd_col(t, idx)">
${sytrd_steps(t, idx)}
__kernel void k(__global S* A, __global S* V, __global const S* P, __global S* Wv, __global S* D, __global S* E,
                __global S* TAU, const int n, const int i)
{
    const ${idx} b = get_group_id(0);
    __local S red[64];
    __local S sh[2];
    trd_col(A + b * (${idx})n * n, V + b * (${idx})n * n, P + b * (${idx})n, Wv + b * (${idx})n, D, E, TAU, b, n, i,
            get_local_id(0), get_local_size(0), red, sh);
}
</%def>

## The trailing part of one tridiagonalisation step, one work-item per row r > i: the rank-2 update of the
## previous column, A -= v w^T + w v^T (rows and columns > i), fused with p = A v of column i's reflector.
<%def name="sytrd_upd(t, idx)">
${sytrd_steps(t, idx)}
__kernel void k(__global S* A, __global const S* V, __global const S* Wv, __global S* P, const int n, const int i)
{
    const ${idx} b = get_global_id(1);
    const int r = i + 1 + get_global_id(0);
    if (r >= n) return;
    P[b * (${idx})n + r] = trd_row(A + b * (${idx})n * n + (${idx})r * n, V + b * (${idx})n * n + (${idx})i * n,
                                   Wv + b * (${idx})n, n, i, r);
}
</%def>

## The whole tridiagonalisation of each matrix in one work-group (one launch: small and batched matrices).
<%def name="sytrd_wg(t, idx)">
${sytrd_steps(t, idx)}
__kernel void k(__global S* A, __global S* V, __global S* P, __global S* Wv, __global S* D, __global S* E,
                __global S* TAU, const int n)
{
    const ${idx} b = get_group_id(0);
    const int lid = get_local_id(0), L = get_local_size(0);
    __global S* a = A + b * (${idx})n * n;
    __global S* v = V + b * (${idx})n * n;
    __global S* p = P + b * (${idx})n;
    __global S* w = Wv + b * (${idx})n;
    __local S red[64];
    __local S sh[2];
    for (int i = 0; i < n - 1; ++i) {
        trd_col(a, v, p, w, D, E, TAU, b, n, i, lid, L, red, sh);
        barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
        if (i < n - 2)
            for (int r = i + 1 + lid; r < n; r += L) p[r] = trd_row(a + (${idx})r * n, v + (${idx})i * n, w, n, i, r);
        barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
    }
}
</%def>

## Eigenvalues (and eigenvectors) of real symmetric tridiagonal matrices (diagonal D, subdiagonal E) by implicit
## QL with shifts (EISPACK tql2 / LAPACK steqr). Each of G work-groups per matrix runs the same scalar iteration on
## its own copy of d, e (work-item 0; identical arithmetic, so identical rotations) and applies each sweep's
## rotations to its own blocks of VW rows of Z, one block per work-item with VW-wide vectors. Z is stored in blocks
## of VW rows, each block by columns (row blk * VW + q, column col at (blk * n + col) * VW + q; ldz = VW * blocks),
## so that a work-item's rotations stream through one contiguous slab. work: 4 n per group. Eigenvalues (unsorted) go to Wout (group 0).
<%def name="steqr(t, idx)">
${c.preamble((t,))}
<%
R = "double" if t.name == "float64" else "float"
VW = 8 if R == "double" else 16
EPSN = "DBL_EPSILON" if R == "double" else "FLT_EPSILON"
TINY = "DBL_MIN" if R == "double" else "FLT_MIN"
%>
typedef ${R} RT;
typedef ${R}${VW} RV;
static inline RT fhypot(const RT a, const RT b) {    /* hypot only where the squares could under/overflow */
    const RT r2 = a * a + b * b;
    return (r2 > ${TINY} / ${EPSN} && r2 < 1 / (${TINY} / ${EPSN})) ? sqrt(r2) : hypot(a, b);
}
__kernel void k(__global const RT* D, __global const RT* E, __global RT* Wout, __global RT* Z, __global RT* work,
                const int n, const int ldz, const int wantz, const int maxit)
{
    const int g = get_group_id(0), G = get_num_groups(0);
    const ${idx} b = get_group_id(1);
    const int lid = get_local_id(0), L = get_local_size(0);
    __global RT* d = work + (b * G + g) * (${idx})(4 * n);
    __global RT* e = d + n;
    __global RT* cs = d + 2 * n;
    __global RT* sn = d + 3 * n;
    __global RT* z = Z + b * (${idx})n * ldz;
    // block blk of VW rows: z[(blk * n + col) * VW + q], row blk * VW + q
    const int nblk = ldz / ${VW}, Rb = (nblk + G - 1) / G, b0 = g * Rb, b1 = min(nblk, b0 + Rb);
    for (int q = lid; q < n; q += L) {
        d[q] = D[b * (${idx})n + q];
        e[q] = q < n - 1 ? E[b * (${idx})n + q] : 0;
    }
    if (wantz)
        for (int blk = b0 + lid; blk < b1; blk += L)
            for (int col = 0; col < n; ++col)
                for (int q = 0; q < ${VW}; ++q) z[((${idx})blk * n + col) * ${VW} + q] = blk * ${VW} + q == col ? 1 : 0;
    __local int st[3];
    int l = 0, iter = 0;
    barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {     // a non-finite input gives NaN eigenvalues at once (the iteration could not converge)
        int bad = 0;
        for (int q = 0; q < n; ++q) bad |= !isfinite(d[q]) || !isfinite(e[q]);
        if (bad) {
            for (int q = 0; q < n; ++q) d[q] = NAN;
            l = n;
        }
    }
    for (;;) {
        if (lid == 0) {
            int done = 0, lo = 0, hi = -1;
            for (;;) {
                if (l >= n) { done = 1; break; }
                int m = l;
                for (; m < n - 1; ++m) {
                    const RT dd = fabs(d[m]) + fabs(d[m + 1]);
                    if (fabs(e[m]) <= ${EPSN} * dd || fabs(e[m]) < ${TINY}) break;
                }
                if (m == l || iter >= maxit) { ++l; iter = 0; continue; }
                ++iter;
                RT gg = (d[l + 1] - d[l]) / (2 * e[l]);
                RT r = fhypot(gg, (RT)1);
                gg = d[m] - d[l] + e[l] / (gg + copysign(r, gg));
                RT s = 1, c = 1, p = 0;
                int i = m - 1;
                for (; i >= l; --i) {
                    const RT f = s * e[i], bb = c * e[i];
                    r = fhypot(f, gg);
                    e[i + 1] = r;
                    if (r == 0) { d[i + 1] -= p; e[m] = 0; break; }
                    s = f / r;
                    c = gg / r;
                    gg = d[i + 1] - p;
                    r = (d[i] - gg) * s + 2 * c * bb;
                    p = s * r;
                    d[i + 1] = gg + p;
                    gg = c * r - bb;
                    cs[i] = c;
                    sn[i] = s;
                }
                hi = m - 1;
                lo = i + 1;
                if (!(r == 0 && i >= l)) { d[l] -= p; e[l] = gg; e[m] = 0; }
                break;
            }
            st[0] = done; st[1] = lo; st[2] = hi;
        }
        barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
        if (st[0]) break;
        if (wantz) {
            const int lo = st[1], hi = st[2];
            // two blocks per work-item: two independent dependency chains through the sweep
            for (int blk = b0 + 2 * lid; blk < b1 && hi >= lo; blk += 2 * L) {
                __global RT* zb = z + (${idx})blk * n * ${VW};
                __global RT* zb2 = blk + 1 < b1 ? zb + n * ${VW} : zb;
                RV f = vload${VW}(0, zb + (hi + 1) * ${VW}), f2 = vload${VW}(0, zb2 + (hi + 1) * ${VW});
                for (int i = hi; i >= lo; --i) {
                    const RT c = cs[i], s = sn[i];
                    const RV zi = vload${VW}(0, zb + i * ${VW}), zi2 = vload${VW}(0, zb2 + i * ${VW});
                    vstore${VW}(s * zi + c * f, 0, zb + (i + 1) * ${VW});
                    vstore${VW}(s * zi2 + c * f2, 0, zb2 + (i + 1) * ${VW});
                    f = c * zi - s * f;
                    f2 = c * zi2 - s * f2;
                }
                vstore${VW}(f, 0, zb + lo * ${VW});
                vstore${VW}(f2, 0, zb2 + lo * ${VW});
            }
        }
        barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
    }
    if (g == 0)
        for (int q = lid; q < n; q += L) Wout[b * (${idx})n + q] = d[q];
}
</%def>

## Singular values (and vectors) of the upper bidiagonal B (diagonal E[2k], superdiagonal E[2k + 1]: the
## off-diagonal of the Golub-Kahan tridiagonal form, stride 2n per matrix) by implicit-shift QR sweeps (LAPACK
## bdsqr, chasing top to bottom: the shift is the smaller singular value of the trailing 2 x 2 block, zero when
## it is negligible against |d_lo| or a diagonal entry in the block is negligible, so that a zero singular value
## deflates in one sweep; e_i is set to zero when |e_i| <= eps (|d_i| + |d_i+1|) or |e_i| <= eps max |B|).
## B = X diag(S) Y^T: the right rotations of each sweep go to the columns of Y, the left ones to those of X, both
## stored as steqr stores Z (blocks of VW rows). Like steqr, each of G work-groups runs the same scalar iteration on
## its own copy (work: 6 n per group) and rotates its own blocks (of X and Y together). S = |d| (unsorted), the
## column of Y negated where d < 0. Non-finite input gives NaN singular values.
<%def name="bdsqr(t, idx)">
${c.preamble((t,))}
<%
R = "double" if t.name == "float64" else "float"
VW = 8 if R == "double" else 16
EPSN = "DBL_EPSILON" if R == "double" else "FLT_EPSILON"
TINY = "DBL_MIN" if R == "double" else "FLT_MIN"
%>
typedef ${R} RT;
typedef ${R}${VW} RV;
static inline RT sv2min(const RT f, const RT g, const RT h) {     /* LAPACK las2: smaller singular value */
    const RT fa = fabs(f), ga = fabs(g), ha = fabs(h);
    const RT mn = min(fa, ha), mx = max(fa, ha);
    if (mn == 0) return 0;
    if (ga < mx) {
        const RT as = 1 + mn / mx, at = (mx - mn) / mx, au = (ga / mx) * (ga / mx);
        return mn * (2 / (sqrt(as * as + au) + sqrt(at * at + au)));
    }
    const RT au = mx / ga;
    if (au == 0) return (mn * mx) / ga;
    const RT as = 1 + mn / mx, at = (mx - mn) / mx;
    const RT cc = 1 / (sqrt(1 + (as * au) * (as * au)) + sqrt(1 + (at * au) * (at * au)));
    return 2 * ((mn * cc) * au);
}
static inline RT rotg(const RT f, const RT g, RT* c, RT* s) {
    const RT r2 = f * f + g * g;        /* hypot only where the squares could under/overflow */
    const RT r = (r2 > ${TINY} / ${EPSN} && r2 < 1 / (${TINY} / ${EPSN})) ? sqrt(r2) : hypot(f, g);
    if (r == 0) { *c = 1; *s = 0; return 0; }
    *c = f / r; *s = g / r;
    return r;
}
__kernel void k(__global const RT* E, const int ldE, __global RT* Sout, __global RT* X, __global RT* Y,
                __global RT* work, const int n, const int ldz, const int wantz, const int maxit)
{
    const int g = get_group_id(0), G = get_num_groups(0);
    const ${idx} b = get_group_id(1);
    const int lid = get_local_id(0), L = get_local_size(0);
    __global RT* d = work + (b * G + g) * (${idx})(6 * n);
    __global RT* e = d + n;
    __global RT* cr = d + 2 * n;
    __global RT* sr = d + 3 * n;
    __global RT* cl = d + 4 * n;
    __global RT* sl = d + 5 * n;
    __global RT* xm = X + b * (${idx})n * ldz;
    __global RT* ym = Y + b * (${idx})n * ldz;
    const int nblk = ldz / ${VW}, tot = 2 * nblk, Rb = (tot + G - 1) / G, b0 = g * Rb, b1 = min(tot, b0 + Rb);
    for (int q = lid; q < n; q += L) {
        d[q] = E[b * (${idx})ldE + 2 * q];
        e[q] = q < n - 1 ? E[b * (${idx})ldE + 2 * q + 1] : 0;
    }
    if (wantz)
        for (int blk = b0 + lid; blk < b1; blk += L) {
            __global RT* z = (blk < nblk ? ym : xm) + (${idx})(blk % nblk) * n * ${VW};
            const int r0 = (blk % nblk) * ${VW};
            for (int col = 0; col < n; ++col)
                for (int q = 0; q < ${VW}; ++q) z[col * ${VW} + q] = r0 + q == col ? 1 : 0;
        }
    __local int st[3];
    __local RT thr[1];
    int hi = n - 1, iter = 0;
    barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {
        int bad = 0;
        RT bm = 0;
        for (int q = 0; q < n; ++q) {
            bad |= !isfinite(d[q]) || !isfinite(e[q]);
            bm = max(bm, max(fabs(d[q]), fabs(e[q])));
        }
        if (bad) {
            for (int q = 0; q < n; ++q) d[q] = NAN;
            hi = 0;
        }
        thr[0] = ${EPSN} * bm;
    }
    for (;;) {
        if (lid == 0) {
            const RT th = thr[0];
            int done = 0, lo = 0;
            for (;;) {
                if (hi <= 0) { done = 1; break; }
                const RT x = fabs(e[hi - 1]);
                if (x <= th || x <= ${EPSN} * (fabs(d[hi - 1]) + fabs(d[hi])) || iter >= maxit) {
                    e[hi - 1] = 0; --hi; iter = 0; continue;
                }
                lo = hi - 1;
                while (lo > 0) {
                    const RT y = fabs(e[lo - 1]);
                    if (y <= th || y <= ${EPSN} * (fabs(d[lo - 1]) + fabs(d[lo]))) { e[lo - 1] = 0; break; }
                    --lo;
                }
                ++iter;
                RT shift = sv2min(d[hi - 1], e[hi - 1], d[hi]);
                const RT dl = d[lo];
                for (int q = lo; q <= hi; ++q) if (fabs(d[q]) <= th) shift = 0;
                if (shift != 0 && (shift / fabs(dl)) * (shift / fabs(dl)) < ${EPSN}) shift = 0;
                RT f, gg, c, s, r;
                if (shift == 0) f = dl;
                else f = (fabs(dl) - shift) * (copysign((RT)1, dl) + shift / dl);
                gg = e[lo];
                for (int i = lo; i < hi; ++i) {
                    r = rotg(f, gg, &c, &s);
                    if (i > lo) e[i - 1] = r;
                    f = c * d[i] + s * e[i];
                    e[i] = c * e[i] - s * d[i];
                    gg = s * d[i + 1];
                    d[i + 1] = c * d[i + 1];
                    cr[i] = c; sr[i] = s;
                    r = rotg(f, gg, &c, &s);
                    d[i] = r;
                    f = c * e[i] + s * d[i + 1];
                    d[i + 1] = c * d[i + 1] - s * e[i];
                    if (i < hi - 1) { gg = s * e[i + 1]; e[i + 1] = c * e[i + 1]; }
                    cl[i] = c; sl[i] = s;
                }
                e[hi - 1] = f;
                break;
            }
            st[0] = done; st[1] = lo; st[2] = hi;
        }
        barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
        if (st[0]) break;
        if (wantz) {
            const int lo = st[1], h = st[2];
            for (int blk = b0 + lid; blk < b1; blk += L) {
                const int isy = blk < nblk;
                __global RT* z = (isy ? ym : xm) + (${idx})(blk % nblk) * n * ${VW};
                __global const RT* cs = isy ? cr : cl;
                __global const RT* sn = isy ? sr : sl;
                RV f = vload${VW}(0, z + lo * ${VW});
                for (int i = lo; i < h; ++i) {
                    const RT c = cs[i], s = sn[i];
                    const RV z1 = vload${VW}(0, z + (i + 1) * ${VW});
                    vstore${VW}(c * f + s * z1, 0, z + i * ${VW});
                    f = c * z1 - s * f;
                }
                vstore${VW}(f, 0, z + h * ${VW});
            }
        }
        barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
    }
    if (wantz)
        for (int blk = b0 + lid; blk < b1 && blk < nblk; blk += L) {
            __global RT* z = ym + (${idx})blk * n * ${VW};
            for (int col = 0; col < n; ++col)
                if (d[col] < 0) vstore${VW}(-vload${VW}(0, z + col * ${VW}), 0, z + col * ${VW});
        }
    if (g == 0)
        for (int q = lid; q < n; q += L) Sout[b * (${idx})n + q] = fabs(d[q]);
}
</%def>
