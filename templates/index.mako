## Advanced indexing kernels: gather / put through index tensors, grouped writes for duplicate indices,
## and nonzero (count, scan, write).
##
## Every kernel walks an iteration shape S (already collapsed by the host) in chunks of `ch` elements of the
## innermost dim, like the strided elementwise kernel. Each operand `o` has an offset `o_off` and one stride per
## dim `o_s<d>` (elements; 0 = broadcast). Index operands `i<k>` also carry the size `n<k>` of the dim they index
## and the stride `m<k>` of that dim in the indexed tensor; a value v is wrapped (v < 0 -> v + n) and checked:
## an out-of-range value is never dereferenced and sets err[0] = 1 (the host reads the flag and raises).
## Negative values wrap only when the runtime flag `wrapneg` is set (indexing, take/put, index_fill; PyTorch's
## gather, scatter, index_select, index_add and index_copy reject them).
<%namespace name="c" file="common.mako"/>

<%def name="walk_args(rank, ops, idx)">
% for d in range(rank):
    , const ${idx} sh${d}
% for o in ops:
    , const ${idx} ${o}_s${d}
% endfor
% endfor
</%def>

<%def name="walk_setup(rank, ops, idx, ch)">
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
% if rank == 0:
    const ${idx} c0 = 0, e = 1;
% for o in ops:
    ${idx} p_${o} = ${o}_off;
% endfor
% else:
    ${idx} row = g / nch;
    const ${idx} c0 = (g - row * nch) * ${ch};
    const ${idx} e = min(c0 + ${ch}, sh${rank - 1});
% for o in ops:
    ${idx} p_${o} = ${o}_off + c0 * ${o}_s${rank - 1};
% endfor
% for d in range(rank - 2, -1, -1):
    {
% if d > 0:
        const ${idx} cd = row % sh${d};
        row /= sh${d};
% else:
        const ${idx} cd = row;
% endif
% for o in ops:
        p_${o} += cd * ${o}_s${d};
% endfor
    }
% endfor
% endif
</%def>

<%def name="walk_step(rank, ops)">
% if rank > 0:
% for o in ops:
        p_${o} += ${o}_s${rank - 1};
% endfor
% endif
</%def>

<%def name="idx_args(ixs, idx)">
% for k, ix in enumerate(ixs):
    __global const ${ix.ct}* restrict i${k}, const ${idx} i${k}_off, const long n${k}, const ${idx} m${k},
% endfor
</%def>

## accumulate `b` into `a` (compute types) for a reduce mode
<%def name="combine(mode, t, a, b)">\
% if mode in ("sum", "mean"):
${a} = ${"(%s | %s)" % (a, b) if t.isbool else "%s + %s" % (a, b)}\
% elif mode == "prod":
${a} = ${"(%s & %s)" % (a, b) if t.isbool else ("c_mul(%s, %s)" % (a, b) if t.complex else "%s * %s" % (a, b))}\
% elif mode == "amax":
${a} = ${("py_max(%s, %s)" if t.isfloat else "max(%s, %s)") % (a, b)}\
% elif mode == "amin":
${a} = ${("py_min(%s, %s)" if t.isfloat else "min(%s, %s)") % (a, b)}\
% endif
</%def>

## Gather (put=False): o[S] = b[base offset + sum_k wrap(i_k) * m_k].
## Direct put (put=True): b[...] = o[S] (mode "set"), b[...] += o[S] (mode "sum": destinations must be unique)
## or an atomic add (mode "atomic": duplicates allowed; float32/float64 through a compare-and-swap loop, int32 and
## int64 through atomic_add / atom_add). The value is a tensor (vkind 't') or a kernel argument (vkind 's').
## hoist[k]: index k does not move along the innermost dim, so it is loaded and checked once per chunk.
<%def name="imap(put, mode, base, val, vkind, ixs, hoist, rank, idx, ch)">
${c.preamble((base, val))}
% if mode == "atomic" and base.name in ("float64", "int64"):
#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable
% endif
% if mode == "atomic" and base.name == "float32":
// compare-and-swap loop; every read of *p is atomic (a cmpxchg that changes nothing), so no plain load races
// with other work-items' updates
static inline void atomic_add_T(volatile __global float* p, const float v) {
    volatile __global uint* q = (volatile __global uint*)p;
    union { uint u; float f; } o, n;
    o.u = atomic_cmpxchg(q, 0u, 0u);
    for (;;) {
        n.f = o.f + v;
        const uint prev = atomic_cmpxchg(q, o.u, n.u);
        if (prev == o.u) break;
        o.u = prev;
    }
}
% elif mode == "atomic" and base.name == "float64":
static inline void atomic_add_T(volatile __global double* p, const double v) {
    volatile __global ulong* q = (volatile __global ulong*)p;
    union { ulong u; double f; } o, n;
    o.u = atom_cmpxchg(q, (ulong)0, (ulong)0);
    for (;;) {
        n.f = o.f + v;
        const ulong prev = atom_cmpxchg(q, o.u, n.u);
        if (prev == o.u) break;
        o.u = prev;
    }
}
% elif mode == "atomic" and base.name == "int32":
#define atomic_add_T(p, v) atomic_add((volatile __global int*)(p), (v))
% elif mode == "atomic" and base.name == "int64":
#define atomic_add_T(p, v) atom_add((volatile __global long*)(p), (v))
% endif
<% ops = (["o"] if vkind == "t" else []) + ["b"] + ["i%d" % k for k in range(len(ixs))] %>
__kernel void k(__global ${base.ct}* restrict b, const ${idx} b_off,
% if vkind == "t":
                __global ${val.ct}* restrict o, const ${idx} o_off,
% else:
                const ${val.cc} o_s,
% endif
                ${idx_args(ixs, idx)}
                __global int* err, const int wrapneg, const ${idx} nwork, const ${idx} nch
                ${walk_args(rank, ops, idx)})
{
${walk_setup(rank, ops, idx, ch)}
    ${idx} hoff = 0;
    int hok = 1;
% for k in range(len(ixs)):
% if hoist[k]:
    {
        long v = (long)i${k}[p_i${k}];
        if (v < 0 && wrapneg) v += n${k};
        if (v < 0 || v >= n${k}) hok = 0; else hoff += (${idx})v * m${k};
    }
% endif
% endfor
    int bad = !hok;
    for (${idx} q = c0; q < e; q++) {
        ${idx} pb = p_b + hoff;
        int ok = hok;
% for k in range(len(ixs)):
% if not hoist[k]:
        {
            long v = (long)i${k}[p_i${k}];
            if (v < 0 && wrapneg) v += n${k};
            if (v < 0 || v >= n${k}) ok = 0; else pb += (${idx})v * m${k};
        }
% endif
% endfor
        bad |= !ok;
% if not put:
        ${val.cc} r = ${val.zero()};
        if (ok) r = ${val.cast_from(base.load("b", "pb"), base)};
        ${val.store("o", "p_o", "r")};
% else:
        if (ok) {
            const ${base.cc} x = ${base.cast_from(val.load("o", "p_o") if vkind == "t" else "o_s", val)};
% if mode == "set":
            ${base.store("b", "pb", "x")};
% elif mode == "atomic":
            atomic_add_T(b + pb, x);
% else:
            ${base.cc} a = ${base.load("b", "pb")};
            ${combine(mode, base, "a", "x")};
            ${base.store("b", "pb", "a")};
% endif
        }
% endif
${walk_step(rank, ops)}
    }
    if (bad) err[0] = 1;
}
</%def>

## Grouped writes, pass 1 and 2 over the keyed iteration shape KS (one work-item per element i):
## key(i) = sum_d c_d * kc_d + sum_k wrap(i_k) * kk_k identifies the destination; clear=True sets head[key] = -1
## (and reports bad indices); clear=False links i into the destination's list (nxt[i] = old head) and stores
## key, destination offset (dks) and value offset (vks) of i.
<%def name="glink(clear, ixs, rank, idx)">
<% ops = ["i%d" % k for k in range(len(ixs))] + ["kc", "dc", "vc"] %>
__kernel void k(${idx_args(ixs, idx)}
% for k in range(len(ixs)):
                const long kk${k},
% endfor
                __global int* head, __global int* nxt, __global long* keys, __global ${idx}* dks,
                __global ${idx}* vks, __global int* err, const int wrapneg, const ${idx} nwork
% for d in range(rank):
                , const ${idx} sh${d}
% for o in ops:
                , const ${idx} ${o}_s${d}
% endfor
% endfor
                )
{
    const ${idx} g = get_global_id(0);
    if (g >= nwork) return;
    ${idx} r = g;
    long key = 0;
    ${idx} dk = 0, vk = 0;
% for k in range(len(ixs)):
    ${idx} p_i${k} = i${k}_off;
% endfor
% for d in range(rank - 1, -1, -1):
    {
% if d > 0:
        const ${idx} cd = r % sh${d};
        r /= sh${d};
% else:
        const ${idx} cd = r;
% endif
% for k in range(len(ixs)):
        p_i${k} += cd * i${k}_s${d};
% endfor
        key += (long)cd * kc_s${d};
        dk += cd * dc_s${d};
        vk += cd * vc_s${d};
    }
% endfor
    int ok = 1;
% for k in range(len(ixs)):
    {
        long v = (long)i${k}[p_i${k}];
        if (v < 0 && wrapneg) v += n${k};
        if (v < 0 || v >= n${k}) ok = 0; else { key += v * kk${k}; dk += (${idx})v * m${k}; }
    }
% endfor
% if clear:
    if (!ok) { err[0] = 1; return; }
    head[key] = -1;
% else:
    if (!ok) { keys[g] = -1; return; }
    keys[g] = key;
    dks[g] = dk;
    vks[g] = vk;
    nxt[g] = atomic_xchg(head + key, (int)g);
% endif
}
</%def>

## Grouped writes, pass 3 over the full iteration shape S: the element whose i heads its destination's list
## walks the list and writes the combined value once (mode "last": the largest i wins, as a sequential loop
## would; "sum"/"prod"/"amax"/"amin"/"mean": reduce, starting from the destination's value when incl).
<%def name="gapply(mode, incl, base, val, rank, idx, ch)">
${c.preamble((base, val))}
<% ops = ["ki", "d", "v"] %>
__kernel void k(__global ${base.ct}* restrict b, const ${idx} d_off, __global const ${val.ct}* restrict o,
                const ${idx} v_off, const ${idx} ki_off,
                __global const int* restrict head, __global const int* restrict nxt,
                __global const long* restrict keys, __global const ${idx}* restrict dks,
                __global const ${idx}* restrict vks, const ${idx} nwork, const ${idx} nch
                ${walk_args(rank, ops, idx)})
{
${walk_setup(rank, ops, idx, ch)}
    for (${idx} q = c0; q < e; q++) {
        const ${idx} i = p_ki;
        const long key = keys[i];
        if (key >= 0 && head[key] == (int)i) {
            const ${idx} pd = p_d + dks[i];
% if mode == "last":
            int best = (int)i;
            for (int j = nxt[i]; j >= 0; j = nxt[j]) best = max(best, j);
            const ${base.cc} x = ${base.cast_from(val.load("o", "p_v + vks[best]"), val)};
            ${base.store("b", "pd", "x")};
% else:
<% first = "a" if incl else "" %>
% if incl:
            ${base.cc} a = ${base.load("b", "pd")};
            int cnt = 1;
            int j = (int)i;
% else:
            ${base.cc} a = ${base.cast_from(val.load("o", "p_v + vks[i]"), val)};
            int cnt = 1;
            int j = nxt[i];
% endif
            for (; j >= 0; j = nxt[j]) {
                const ${base.cc} x = ${base.cast_from(val.load("o", "p_v + vks[j]"), val)};
                ${combine(mode, base, "a", "x")};
                cnt++;
            }
% if mode == "mean":
% if base.isint:
            a = PY_IFLOORDIV(a, (${base.cc})cnt);
% elif base.isbool:
% else:
            a = a / (${base.cc})cnt;
% endif
% endif
            ${base.store("b", "pd", "a")};
% endif
        }
${walk_step(rank, ops)}
    }
}
</%def>

## nonzero, pass 1: number of nonzero bytes in each chunk of `chunk` elements of a contiguous uchar array.
<%def name="nz_count(idx)">
__kernel void k(__global const uchar* restrict x, const ${idx} n, const ${idx} chunk, const ${idx} nw,
                __global int* restrict counts)
{
    const ${idx} w = get_global_id(0);
    if (w >= nw) return;
    const ${idx} s = w * chunk;
    const ${idx} e = min(s + chunk, n);
    int cnt = 0;
    for (${idx} l = s; l < e; l++) cnt += x[l] != 0;
    counts[w] = cnt;
}
</%def>

## nonzero, pass 2 (one work-item; at most a few thousand chunks): exclusive scan of the counts and the total.
<%def name="nz_scan()">
__kernel void k(__global const int* restrict counts, const long nw, __global long* restrict offs)
{
    if (get_global_id(0) != 0) return;
    long acc = 0;
    for (long w = 0; w < nw; w++) { offs[w] = acc; acc += counts[w]; }
    offs[nw] = acc;
}
</%def>

## nonzero, pass 3: coordinates (row-major over the shape sh0..) of each nonzero element into out[pos, :]
## (or out[:, pos] when tr).
<%def name="nz_write(rank, idx, tr)">
__kernel void k(__global const uchar* restrict x, const ${idx} n, const ${idx} chunk, const ${idx} nw,
                __global const long* restrict offs, __global long* restrict out, const long total
% for d in range(rank):
                , const ${idx} sh${d}
% endfor
                )
{
    const ${idx} w = get_global_id(0);
    if (w >= nw) return;
    const ${idx} s = w * chunk;
    const ${idx} e = min(s + chunk, n);
    long pos = offs[w];
    for (${idx} l = s; l < e; l++) {
        if (x[l]) {
% if rank > 0:
            ${idx} r = l;
<% at = (lambda d: "out[%d * total + pos]" % d) if tr else (lambda d: "out[pos * %d + %d]" % (rank, d)) %>
% for d in range(rank - 1, -1, -1):
% if d > 0:
            ${at(d)} = r % sh${d};
            r /= sh${d};
% else:
            ${at(0)} = r;
% endif
% endfor
% endif
            pos++;
        }
    }
}
</%def>
