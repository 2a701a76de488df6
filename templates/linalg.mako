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
<%def name="lu(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
__kernel void k(__global S* A, const ${idx} off, const ${idx} bs, const ${idx} rs, const ${idx} cs,
                const int M, const int N, __global int* piv, const ${idx} poff, const ${idx} pbs,
                const int pbase,
                __global int* info)
{
    const ${idx} b = get_group_id(0);
    const int lid = get_local_id(0), L = get_local_size(0);
    __global S* a = A + off + b * bs;
    __global int* pv = piv + poff + b * pbs;
    __local int p_sh;
    const int K = min(M, N);
    for (int j = 0; j < K; ++j) {
        if (lid == 0) {
            int p = j;
            RT best = ABS1(a[j * rs + j * cs]);
            for (int i = j + 1; i < M; ++i) {
                const RT v = ABS1(a[i * rs + j * cs]);
                if (v > best || isnan(v)) { best = v; p = i; if (isnan(v)) break; }
            }
            p_sh = p;
            pv[j] = pbase + p + 1;
        }
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
        const int p = p_sh;
        if (p != j) {
            for (int q = lid; q < N; q += L) {
                const S x = a[j * rs + q * cs];
                a[j * rs + q * cs] = a[p * rs + q * cs];
                a[p * rs + q * cs] = x;
            }
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
        const S d = a[j * rs + j * cs];
        if (ISZERO(d)) {
            if (lid == 0 && info[b] == 0) info[b] = pbase + j + 1;
        } else {
            for (int i = j + 1 + lid; i < M; i += L) {
                const S l = DIV(a[i * rs + j * cs], d);
                a[i * rs + j * cs] = l;
                for (int q = j + 1; q < N; ++q) a[i * rs + q * cs] -= MUL(l, a[j * rs + q * cs]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    }
}
</%def>

## Row interchanges (LAPACK laswp): for j in [j0, j1) (descending with rev: the inverse permutation) swap rows j and piv[j] - 1 of every column outside
## [skip0, skip1) (pivots outside [0, M) are ignored: they may come from the caller). One work-item per column; global (round_up(N, L), batch).
<%def name="laswp(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
__kernel void k(__global S* A, const ${idx} off, const ${idx} bs, const ${idx} rs, const ${idx} cs, const int M,
                const int N, __global const int* piv, const ${idx} poff, const ${idx} pbs, const int j0, const int j1, const int skip0,
                const int skip1, const int rev)
{
    const int q = get_global_id(0);
    const ${idx} b = get_global_id(1);
    if (q >= N || (q >= skip0 && q < skip1)) return;
    __global S* a = A + off + b * bs + q * cs;
    __global const int* pv = piv + poff + b * pbs;
    for (int u = 0; u < j1 - j0; ++u) {
        const int j = rev ? j1 - 1 - u : j0 + u;
        const int p = pv[j] - 1;
        if (p != j && p >= 0 && p < M) { const S x = a[j * rs]; a[j * rs] = a[p * rs]; a[p * rs] = x; }
    }
}
</%def>

## Cholesky A = L L^H of each N x N Hermitian matrix, reading and writing the lower triangle only (LAPACK potf2,
## right-looking). info (in/out): the order of the first leading minor that is not positive-definite
## (ibase + j + 1); a matrix whose info is already set is left alone (the blocked driver's later panels).
<%def name="chol(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
__kernel void k(__global S* A, const ${idx} off, const ${idx} bs, const ${idx} rs, const ${idx} cs,
                const int N, const int ibase, __global int* info)
{
    const ${idx} b = get_group_id(0);
    const int lid = get_local_id(0), L = get_local_size(0);
    __global S* a = A + off + b * bs;
    __local int bad;
    if (info[b] != 0) return;          /* uniform across the work-group */
    for (int j = 0; j < N; ++j) {
        if (lid == 0) {
            const RT d = RE(a[j * rs + j * cs]);
            bad = !(d > 0);
            if (bad) info[b] = ibase + j + 1;
            else a[j * rs + j * cs] = MKS(sqrt(d));
        }
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
        if (bad) return;
        const RT r = RE(a[j * rs + j * cs]);
        for (int i = j + 1 + lid; i < N; i += L) a[i * rs + j * cs] /= r;
        barrier(CLK_GLOBAL_MEM_FENCE);
        for (int i = j + 1 + lid; i < N; i += L) {
            const S l = a[i * rs + j * cs];
            for (int q = j + 1; q <= i; ++q) a[i * rs + q * cs] -= MUL(l, CONJ(a[q * rs + j * cs]));
        }
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    }
}
</%def>

## Triangular solve with many right-hand sides, in place: B <- op(T)^-1 B, T (N x N) lower or upper, unit or
## not, conjugated or not (a transposed T is a view with its strides swapped). One work-item per column of B:
## global (round_up(K, L), batch); T's batch stride may be 0 (broadcast).
<%def name="trsm(t, idx)">
${c.preamble((t,))}
${scalar_ops(t)}
__kernel void k(__global const S* T, const ${idx} toff, const ${idx} tbs, const ${idx} trs, const ${idx} tcs,
                __global S* B, const ${idx} boff, const ${idx} bbs, const ${idx} brs, const ${idx} bcs,
                const int N, const int K, const int upper, const int unit, const int conj)
{
    const int q = get_global_id(0);
    const ${idx} b = get_global_id(1);
    if (q >= K) return;
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
