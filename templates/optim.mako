## Fused optimizer steps (cltensor/optim/_kernels.py): SGD, Adam/AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam,
## RAdam, Rprop, ASGD; one launch per parameter. `t` is the parameter dtype helper, `idx` the index type ("int" or
## "long").
<%namespace name="c" file="common.mako"/>

## ---------------------------------------------------------------------------------------------- optimizers
## One launch per parameter, 8 elements per work-item; p, g and the state buffers are contiguous, with offsets.
<%def name="opt_head(t, idx)">
    const ${idx} base = (${idx})get_global_id(0) * 8;
    if (base >= n) return;
    const ${idx} e = min(base + 8, n);
    for (${idx} i = base; i < e; i++) {
</%def>

## SGD: g += wd*p; buf = first ? g : mom*buf + (1-damp)*g; g = nesterov ? g + mom*buf : buf; p -= lr*g
<%def name="sgd(t, idx, momentum, nesterov, maximize, wd)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global ${t.ct}* restrict p, const ${idx} po, __global const ${t.ct}* restrict gr, const ${idx} go,
                __global ${t.ct}* restrict buf, const ${idx} bo, const ${idx} n, const ${F} lr, const ${F} wdv,
                const ${F} mom, const ${F} damp, const int first)
{
${opt_head(t, idx)}
        const ${F} pv = ${t.load("p", "po + i")};
        ${F} gv = ${t.load("gr", "go + i")};
% if maximize:
        gv = -gv;
% endif
% if wd:
        gv += wdv * pv;
% endif
% if momentum:
        const ${F} bv = first ? gv : mom * (${F})${t.load("buf", "bo + i")} + (1 - damp) * gv;
        ${t.store("buf", "bo + i", "(" + t.cc + ")bv")};
% if nesterov:
        gv = gv + mom * bv;
% else:
        gv = bv;
% endif
% endif
        const ${F} np_ = pv - lr * gv;
        ${t.store("p", "po + i", "(" + t.cc + ")np_")};
    }
}
</%def>

## Adam / AdamW (decoupled) with optional amsgrad. step_size = lr / bc1, bc2s = sqrt(bc2).
<%def name="adam(t, idx, decoupled, amsgrad, maximize, wd)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global ${t.ct}* restrict p, const ${idx} po, __global const ${t.ct}* restrict gr, const ${idx} go,
                __global ${t.ct}* restrict m1, const ${idx} mo, __global ${t.ct}* restrict m2, const ${idx} vo,
                __global ${t.ct}* restrict vmax, const ${idx} xo, const ${idx} n, const ${F} lr,
                const ${F} beta1, const ${F} beta2, const ${F} eps, const ${F} wdv, const ${F} step_size,
                const ${F} bc2s)
{
${opt_head(t, idx)}
        ${F} pv = ${t.load("p", "po + i")};
        ${F} gv = ${t.load("gr", "go + i")};
% if maximize:
        gv = -gv;
% endif
% if wd and decoupled:
        pv *= 1 - lr * wdv;
% elif wd:
        gv += wdv * pv;
% endif
        const ${F} m0 = ${t.load("m1", "mo + i")};
        const ${F} mv = m0 + (1 - beta1) * (gv - m0);
        const ${F} vv = ${t.load("m2", "vo + i")} * beta2 + gv * gv * (1 - beta2);
        ${t.store("m1", "mo + i", "(" + t.cc + ")mv")};
        ${t.store("m2", "vo + i", "(" + t.cc + ")vv")};
% if amsgrad:
        const ${F} vm = fmax((${F})${t.load("vmax", "xo + i")}, vv);
        ${t.store("vmax", "xo + i", "(" + t.cc + ")vm")};
        const ${F} den = sqrt(vm) / bc2s + eps;
% else:
        const ${F} den = sqrt(vv) / bc2s + eps;
% endif
        pv -= step_size * mv / den;
        ${t.store("p", "po + i", "(" + t.cc + ")pv")};
    }
}
</%def>

## Several parameters in one launch (SGD and Adam/AdamW, the per-step hot path of small models): slot j updates
## parameter j over work-items [s_j, s_{j+1}); every buffer contiguous from offset 0; the same hyper-parameters for
## all slots. The per-element code is the single-parameter kernel's (sgd / adam above), with offsets 0.
<%def name="multi_head(t, idx, M, bufs)">
    const ${idx} gid = (${idx})get_global_id(0);
% for b in bufs:
    __global ${t.ct}* ${b};
% endfor
    ${idx} n, w;
% for j in range(M):
    ${"if" if j == 0 else "else if"} (gid < s${j + 1}) {
% for b in bufs:
        ${b} = ${b}${j};
% endfor
        n = n${j};
        w = gid - s${j};
    }
% endfor
    else return;
    const ${idx} base = w * 8;
    if (base >= n) return;
    const ${idx} e = min(base + 8, n);
    const ${idx} po = 0, go = 0, bo = 0, mo = 0, vo = 0, xo = 0;
    for (${idx} i = base; i < e; i++) {
</%def>

<%def name="multi_args(t, idx, M, bufs)">
% for j in range(M):
% for b in bufs:
__global ${t.ct}* ${b}${j}, \
% endfor
const ${idx} n${j}, const ${idx} s${j}, \
% endfor
const ${idx} s${M}\
</%def>

<%def name="sgd_multi(t, idx, M, momentum, nesterov, maximize, wd)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(${multi_args(t, idx, M, ("p", "gr", "buf"))}, const ${F} lr, const ${F} wdv, const ${F} mom,
                const ${F} damp, const int first)
{
${multi_head(t, idx, M, ("p", "gr", "buf"))}
        const ${F} pv = ${t.load("p", "po + i")};
        ${F} gv = ${t.load("gr", "go + i")};
% if maximize:
        gv = -gv;
% endif
% if wd:
        gv += wdv * pv;
% endif
% if momentum:
        const ${F} bv = first ? gv : mom * (${F})${t.load("buf", "bo + i")} + (1 - damp) * gv;
        ${t.store("buf", "bo + i", "(" + t.cc + ")bv")};
% if nesterov:
        gv = gv + mom * bv;
% else:
        gv = bv;
% endif
% endif
        const ${F} np_ = pv - lr * gv;
        ${t.store("p", "po + i", "(" + t.cc + ")np_")};
    }
}
</%def>

<%def name="adam_multi(t, idx, M, decoupled, amsgrad, maximize, wd)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(${multi_args(t, idx, M, ("p", "gr", "m1", "m2", "vmax"))}, const ${F} lr, const ${F} beta1,
                const ${F} beta2, const ${F} eps, const ${F} wdv, const ${F} step_size, const ${F} bc2s)
{
${multi_head(t, idx, M, ("p", "gr", "m1", "m2", "vmax"))}
        ${F} pv = ${t.load("p", "po + i")};
        ${F} gv = ${t.load("gr", "go + i")};
% if maximize:
        gv = -gv;
% endif
% if wd and decoupled:
        pv *= 1 - lr * wdv;
% elif wd:
        gv += wdv * pv;
% endif
        const ${F} m0 = ${t.load("m1", "mo + i")};
        const ${F} mv = m0 + (1 - beta1) * (gv - m0);
        const ${F} vv = ${t.load("m2", "vo + i")} * beta2 + gv * gv * (1 - beta2);
        ${t.store("m1", "mo + i", "(" + t.cc + ")mv")};
        ${t.store("m2", "vo + i", "(" + t.cc + ")vv")};
% if amsgrad:
        const ${F} vm = fmax((${F})${t.load("vmax", "xo + i")}, vv);
        ${t.store("vmax", "xo + i", "(" + t.cc + ")vm")};
        const ${F} den = sqrt(vm) / bc2s + eps;
% else:
        const ${F} den = sqrt(vv) / bc2s + eps;
% endif
        pv -= step_size * mv / den;
        ${t.store("p", "po + i", "(" + t.cc + ")pv")};
    }
}
</%def>

## RMSprop (optionally centered, with momentum)
<%def name="rmsprop(t, idx, centered, momentum, maximize, wd)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global ${t.ct}* restrict p, const ${idx} po, __global const ${t.ct}* restrict gr, const ${idx} go,
                __global ${t.ct}* restrict sq, const ${idx} so, __global ${t.ct}* restrict ga, const ${idx} ao,
                __global ${t.ct}* restrict buf, const ${idx} bo, const ${idx} n, const ${F} lr,
                const ${F} alpha, const ${F} eps, const ${F} wdv, const ${F} mom)
{
${opt_head(t, idx)}
        ${F} pv = ${t.load("p", "po + i")};
        ${F} gv = ${t.load("gr", "go + i")};
% if maximize:
        gv = -gv;
% endif
% if wd:
        gv += wdv * pv;
% endif
        const ${F} sv = ${t.load("sq", "so + i")} * alpha + gv * gv * (1 - alpha);
        ${t.store("sq", "so + i", "(" + t.cc + ")sv")};
% if centered:
        const ${F} a0 = ${t.load("ga", "ao + i")};
        const ${F} av = a0 + (1 - alpha) * (gv - a0);
        ${t.store("ga", "ao + i", "(" + t.cc + ")av")};
        const ${F} den = sqrt(sv - av * av) + eps;
% else:
        const ${F} den = sqrt(sv) + eps;
% endif
% if momentum:
        const ${F} bv = ${t.load("buf", "bo + i")} * mom + gv / den;
        ${t.store("buf", "bo + i", "(" + t.cc + ")bv")};
        pv -= lr * bv;
% else:
        pv -= lr * gv / den;
% endif
        ${t.store("p", "po + i", "(" + t.cc + ")pv")};
    }
}
</%def>

## Adagrad: sum += g*g; p -= clr * g / (sqrt(sum) + eps)
<%def name="adagrad(t, idx, maximize, wd)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global ${t.ct}* restrict p, const ${idx} po, __global const ${t.ct}* restrict gr, const ${idx} go,
                __global ${t.ct}* restrict sm, const ${idx} so, const ${idx} n, const ${F} clr, const ${F} eps,
                const ${F} wdv)
{
${opt_head(t, idx)}
        ${F} pv = ${t.load("p", "po + i")};
        ${F} gv = ${t.load("gr", "go + i")};
% if maximize:
        gv = -gv;
% endif
% if wd:
        gv += wdv * pv;
% endif
        const ${F} sv = ${t.load("sm", "so + i")} + gv * gv;
        ${t.store("sm", "so + i", "(" + t.cc + ")sv")};
        pv -= clr * gv / (sqrt(sv) + eps);
        ${t.store("p", "po + i", "(" + t.cc + ")pv")};
    }
}
</%def>


## Adadelta: sq = rho*sq + (1-rho)*g*g; d = sqrt(acc+eps)/sqrt(sq+eps)*g; acc = rho*acc + (1-rho)*d*d; p -= lr*d
<%def name="adadelta(t, idx, maximize, wd)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global ${t.ct}* restrict p, const ${idx} po, __global const ${t.ct}* restrict gr, const ${idx} go,
                __global ${t.ct}* restrict sq, const ${idx} so, __global ${t.ct}* restrict acc, const ${idx} ao,
                const ${idx} n, const ${F} lr, const ${F} rho, const ${F} eps, const ${F} wdv)
{
${opt_head(t, idx)}
        ${F} pv = ${t.load("p", "po + i")};
        ${F} gv = ${t.load("gr", "go + i")};
% if maximize:
        gv = -gv;
% endif
% if wd:
        gv += wdv * pv;
% endif
        const ${F} sv = ${t.load("sq", "so + i")} * rho + gv * gv * (1 - rho);
        ${t.store("sq", "so + i", "(" + t.cc + ")sv")};
        const ${F} a0 = ${t.load("acc", "ao + i")};
        const ${F} d = sqrt(a0 + eps) / sqrt(sv + eps) * gv;
        ${t.store("acc", "ao + i", "(" + t.cc + ")(a0 * rho + d * d * (1 - rho))")};
        pv -= lr * d;
        ${t.store("p", "po + i", "(" + t.cc + ")pv")};
    }
}
</%def>

## Adamax: m = lerp(m, g, 1-b1); u = max(u*b2, |g|+eps); p -= clr * m / u   (clr = lr / (1 - b1^step))
<%def name="adamax(t, idx, maximize, wd)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global ${t.ct}* restrict p, const ${idx} po, __global const ${t.ct}* restrict gr, const ${idx} go,
                __global ${t.ct}* restrict m1, const ${idx} mo, __global ${t.ct}* restrict u, const ${idx} uo,
                const ${idx} n, const ${F} clr, const ${F} beta1, const ${F} beta2, const ${F} eps, const ${F} wdv)
{
${opt_head(t, idx)}
        ${F} pv = ${t.load("p", "po + i")};
        ${F} gv = ${t.load("gr", "go + i")};
% if maximize:
        gv = -gv;
% endif
% if wd:
        gv += wdv * pv;
% endif
        const ${F} m0 = ${t.load("m1", "mo + i")};
        const ${F} mv = m0 + (1 - beta1) * (gv - m0);
        const ${F} uv = fmax((${F})${t.load("u", "uo + i")} * beta2, fabs(gv) + eps);
        ${t.store("m1", "mo + i", "(" + t.cc + ")mv")};
        ${t.store("u", "uo + i", "(" + t.cc + ")uv")};
        pv -= clr * mv / uv;
        ${t.store("p", "po + i", "(" + t.cc + ")pv")};
    }
}
</%def>

## NAdam / RAdam share the moment updates; the host passes the step-dependent factors.
## NAdam: den = sqrt(v / bc2) + eps; p -= (cg * g + cm * m) / den
## RAdam: rect: p -= lrb * m * rect_s / (sqrt(v) + eps)  else p -= lrb * m   (lrb = lr / bc1, rect_s = rect*sqrt(bc2))
<%def name="nadam_radam(t, idx, nadam, rect, decoupled, maximize, wd)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global ${t.ct}* restrict p, const ${idx} po, __global const ${t.ct}* restrict gr, const ${idx} go,
                __global ${t.ct}* restrict m1, const ${idx} mo, __global ${t.ct}* restrict m2, const ${idx} vo,
                const ${idx} n, const ${F} lr, const ${F} beta1, const ${F} beta2, const ${F} eps, const ${F} wdv,
                const ${F} a, const ${F} b, const ${F} c)
{
${opt_head(t, idx)}
        ${F} pv = ${t.load("p", "po + i")};
        ${F} gv = ${t.load("gr", "go + i")};
% if maximize:
        gv = -gv;
% endif
% if wd and decoupled:
        pv *= 1 - lr * wdv;
% elif wd:
        gv += wdv * pv;
% endif
        const ${F} m0 = ${t.load("m1", "mo + i")};
        const ${F} mv = m0 + (1 - beta1) * (gv - m0);
        const ${F} vv = ${t.load("m2", "vo + i")} * beta2 + gv * gv * (1 - beta2);
        ${t.store("m1", "mo + i", "(" + t.cc + ")mv")};
        ${t.store("m2", "vo + i", "(" + t.cc + ")vv")};
% if nadam:
        ## a = 1/bc2, b = lr*(1-mu)/(1-mu_prod), c = lr*mu_next/(1-mu_prod_next)
        const ${F} den = sqrt(vv * a) + eps;
        pv -= b * gv / den;
        pv -= c * mv / den;
% elif rect:
        ## a = lr/bc1, b = rect*sqrt(bc2)
        pv -= a * mv * (b / (sqrt(vv) + eps));
% else:
        pv -= a * mv;
% endif
        ${t.store("p", "po + i", "(" + t.cc + ")pv")};
    }
}
</%def>

## Rprop: s = sign(g*prev) -> etaplus / etaminus / 1; ss = clamp(ss*s, smin, smax); g = 0 where s == etaminus;
## p -= sign(g) * ss; prev = g
<%def name="rprop(t, idx, maximize)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global ${t.ct}* restrict p, const ${idx} po, __global const ${t.ct}* restrict gr, const ${idx} go,
                __global ${t.ct}* restrict prev, const ${idx} qo, __global ${t.ct}* restrict ss, const ${idx} so,
                const ${idx} n, const ${F} etaminus, const ${F} etaplus, const ${F} smin, const ${F} smax)
{
${opt_head(t, idx)}
        ${F} pv = ${t.load("p", "po + i")};
        ${F} gv = ${t.load("gr", "go + i")};
% if maximize:
        gv = -gv;
% endif
        const ${F} pr = ${t.load("prev", "qo + i")};
        const ${t.cc} prod = (${t.cc})(gv * pr);
        const ${F} sv = ${t.load("ss", "so + i")};
        const ${F} f = prod > 0 ? etaplus : (prod < 0 ? etaminus : (${F})1);
        const ${t.cc} ns = (${t.cc})(sv * f);
        const ${F} nsv = fmin(fmax((${F})ns, smin), smax);
        if (f == etaminus) gv = 0;
        ${t.store("ss", "so + i", "(" + t.cc + ")nsv")};
        ${t.store("prev", "qo + i", "(" + t.cc + ")gv")};
        pv -= (gv > 0 ? nsv : (gv < 0 ? -nsv : (${F})0));
        ${t.store("p", "po + i", "(" + t.cc + ")pv")};
    }
}
</%def>

## ASGD: p = p*(1 - lambd*eta) - eta*g; ax = mu == 1 ? p : ax + (p - ax)*mu
<%def name="asgd(t, idx, maximize, wd)">
${c.preamble((t,))}
<% F = "double" if t.cc == "double" else "float" %>
__kernel void k(__global ${t.ct}* restrict p, const ${idx} po, __global const ${t.ct}* restrict gr, const ${idx} go,
                __global ${t.ct}* restrict ax, const ${idx} xo, const ${idx} n, const ${F} eta, const ${F} lambd,
                const ${F} mu, const ${F} wdv)
{
${opt_head(t, idx)}
        ${F} pv = ${t.load("p", "po + i")};
        ${F} gv = ${t.load("gr", "go + i")};
% if maximize:
        gv = -gv;
% endif
% if wd:
        gv += wdv * pv;
% endif
        pv = (${F})(${t.cc})(pv * (1 - lambd * eta));
        pv -= eta * gv;
        const ${t.cc} pn = (${t.cc})pv;
        ${t.store("p", "po + i", "pn")};
        if (mu == 1) {
            ${t.store("ax", "xo + i", "pn")};
        } else {
            const ${F} a0 = ${t.load("ax", "xo + i")};
            ${t.store("ax", "xo + i", "(" + t.cc + ")(a0 + ((" + F + ")pn - a0) * mu)")};
        }
    }
}
</%def>
