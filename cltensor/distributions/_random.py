"""Random draws the distributions need that the library has no op for: standard Gamma (Marsaglia-Tsang, with the
implicit reparameterised gradient), Dirichlet (normalised Gammas), Poisson and Binomial (inversion for small means,
Hormann's transformed rejection PTRS / BTRS for large ones). All draws come from the library's Philox stream
(rand / randn); rejection runs as a masked loop over whole device tensors, with one host read every few rounds
to learn whether every element was accepted (the number of rounds is data-dependent, as in PyTorch's samplers)."""
import math


from .. import _registry
from ._ns import lgamma as _lgamma, digamma as _digamma_fn

_ROUNDS = 4      # masked rounds between two checks "all accepted?"


def _t():
    return _registry.published("torch")


def _rejection(params, propose, rounds=1):
    """Rejection sampling over whole tensors: `params` are tensors of one shape, `propose(shape, *params)` returns
    (candidate, accepted) of that shape. Runs `rounds` masked rounds over every element, then (one host read) the
    elements still without an accepted candidate, gathered into a short vector, until none is left (the samplers
    here accept 70-98 % of proposals: one round over everything, then short vectors)."""
    T = _t()
    shape = tuple(params[0].shape)
    flat = [p.reshape(-1) for p in params]
    out = T["zeros"](flat[0].shape, dtype=flat[0].dtype, device=flat[0].device)
    done = T["zeros"](flat[0].shape, dtype=T["bool"], device=flat[0].device)
    for _ in range(rounds):
        cand, acc = propose((flat[0].shape[0],), *flat)
        out = T["where"](acc & ~done, cand, out)
        done = done | acc
    left = (~done).nonzero()       # host read: the number of rounds is data-dependent
    if left.shape[0]:
        idx = left.reshape(-1)
        out = out.index_put((idx,), _rejection([p[idx] for p in flat], propose, 2))
    return out.reshape(shape)


def _uniform(shape, like):
    return _t()["rand"](shape, dtype=like.dtype, device=like.device)


def _standard_gamma_raw(alpha):
    """Gamma(alpha, 1) draws (no gradient), alpha > 0."""
    T = _t()
    alpha = alpha.detach()
    shape = tuple(alpha.shape)
    boost = alpha < 1
    a = T["where"](boost, alpha + 1, alpha)
    d = a - 1.0 / 3.0
    c = (9.0 * d).rsqrt()

    def propose(shp, d, c):
        z = T["randn"](shp, dtype=d.dtype, device=d.device)
        u = _uniform(shp, d)
        v = 1 + c * z
        v3 = v * v * v
        ok = (v > 0) & (u.log() < 0.5 * z * z + d - d * v3 + d * v3.clamp_min(1e-30).log())
        return d * v3, ok

    x = _rejection([d, c], propose)
    u = _uniform(shape, alpha)
    # x * U^(1/alpha) for alpha < 1, computed in log space
    xb = (x.log() + u.log() / alpha).exp()
    x = T["where"](boost, xb, x)
    tiny = T["finfo"](alpha.dtype).tiny
    return x.clamp_min(tiny)


def _digamma(x):
    return _digamma_fn(x)


def standard_gamma_grad(alpha, x):
    """d x / d alpha for x ~ Gamma(alpha, 1) held at its CDF value: -(dCDF/dalpha) / pdf (PyTorch's approximation:
    a Taylor series for x < 0.8, Rice's saddle point expansion for alpha > 8, a bivariate rational fit else)."""
    T = _t()
    where = T["where"]
    # Taylor series for small x
    numer = T["ones_like"](x)
    denom = alpha.clone()
    s1 = numer / denom
    s2 = numer / (denom * denom)
    for i in range(1, 6):
        numer = numer * (-x / i)
        denom = denom + 1
        s1 = s1 + numer / denom
        s2 = s2 + numer / (denom * denom)
    xs = x.clamp_min(T["finfo"](x.dtype).tiny)
    logx = xs.log()
    pow_x_alpha = (alpha * logx).exp()
    pdf = ((alpha - 1) * logx - x).exp()
    cdf = pow_x_alpha * s1
    cdf_alpha = (logx - _digamma(alpha)) * cdf - pow_x_alpha * s2
    small = -cdf_alpha / pdf
    small = where(small.isnan(), T["zeros_like"](small), small)
    # saddle point for large alpha
    near = (0.9 * alpha <= x) & (x <= 1.1 * alpha)
    n1 = 1 + 24 * alpha * (1 + 12 * alpha)
    n2 = 1440 * (alpha * alpha) + 6 * x * (53 - 120 * x) - 65 * x * x / alpha + alpha * (107 + 3600 * x)
    near_v = n1 * n2 / (1244160 * (alpha * alpha) * (alpha * alpha))
    den = (8 * alpha).sqrt()
    amx = where(near, T["ones_like"](x), alpha - x)       # keep the unused branch finite
    term2 = den / amx
    lxa = (xs / alpha).log()
    base = (x - alpha - alpha * lxa).abs().clamp_min(1e-30)
    term3 = base.pow(-1.5)
    term23 = where(x < alpha, term2 - term3, term2 + term3)
    term1 = lxa * term23 - (2 / alpha).sqrt() * (alpha + x) / (amx * amx)
    stirling = 1 + 1 / (12 * alpha) * (1 + 1 / (24 * alpha))
    far_v = -stirling * x * term1 / den
    large = where(near, near_v, far_v)
    # rational approximation
    coef = ((0.16009398, -0.094634809, 0.025146376, -0.0030648343, 1, 0.32668115, 0.10406089, 0.0014179084),
            (0.53487893, 0.1298071, 0.065735949, -0.0015649758, 0.16639465, 0.020070113, -0.0035938915,
             -0.00058392623),
            (0.040121004, -0.0065914022, -0.0026286047, -0.0013441777, 0.017050642, -0.0021309326, 0.00085092367,
             -1.5247877e-07))
    u = lxa
    v = alpha.log()
    cv = [coef[0][i] + u * (coef[1][i] + u * coef[2][i]) for i in range(8)]
    p = cv[0] + v * (cv[1] + v * (cv[2] + v * cv[3]))
    q = cv[4] + v * (cv[5] + v * (cv[6] + v * cv[7]))
    mid = (p / q).exp()
    return where(x < 0.8, small, where(alpha > 8.0, large, mid))


def standard_gamma(alpha):
    """Gamma(alpha, 1) draws; differentiable in alpha through the implicit reparameterisation gradient."""
    x = _standard_gamma_raw(alpha)
    if not (alpha.requires_grad and _t()["is_grad_enabled"]()):
        return x
    g = standard_gamma_grad(alpha.detach(), x)
    return x + (alpha - alpha.detach()) * g      # value x, d/dalpha = g


def sample_dirichlet(concentration):
    """Dirichlet draws (no gradient): normalised Gamma draws."""
    g = _standard_gamma_raw(concentration)
    return g / g.sum(-1, keepdim=True)


def poisson(rate, generator=None):
    """Poisson(rate) draws (float, rate's dtype): inversion by sequential search for rate < 10, PTRS otherwise."""
    T = _t()
    where = T["where"]
    rate = rate.detach()
    small = rate < 10
    k_small = _poisson_inversion(where(small, rate, T["zeros_like"](rate)))
    if not bool((~small).any()):
        return where(rate == 0, T["zeros_like"](rate), k_small)
    lam = where(small, T["full_like"](rate, 10.0), rate)
    slam = lam.sqrt()
    loglam = lam.log()
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)

    def propose(shp, lam, loglam, a, b, invalpha, vr):
        U = _uniform(shp, lam) - 0.5
        V = _uniform(shp, lam)
        us = 0.5 - U.abs()
        k = ((2 * a / us + b) * U + lam + 0.43).floor()
        quick = (us >= 0.07) & (V <= vr)
        bad = (k < 0) | ((us < 0.013) & (V > us))
        lhs = V.log() + invalpha.log() - (a / (us * us) + b).log()
        rhs = -lam + k * loglam - _lgamma(k.clamp_min(0) + 1)
        return k, quick | (~bad & (lhs <= rhs))

    k_large = _rejection([lam, loglam, a, b, invalpha, vr], propose)
    return where(small, k_small, k_large)


def _poisson_inversion(lam):
    """Poisson draws by sequential search of the CDF (one uniform each): rounds over the elements still searching,
    which are gathered into shorter vectors every two rounds (one host read each)."""
    T = _t()
    where = T["where"]
    shape = tuple(lam.shape)
    lam = lam.reshape(-1)
    n = lam.shape[0]
    out = T["zeros_like"](lam)
    idx = T["arange"](n, device=lam.device)
    u = _uniform((n,), lam)
    p = (-lam).exp()
    F = p
    k = T["zeros_like"](lam)
    while idx.shape[0]:
        for _ in range(2):
            go = (u > F) & (p > 0)            # p underflows to 0 in the far tail: the search stops there
            k = k + go.to(lam.dtype)
            p = where(go, p * lam / k.clamp_min(1), p)
            F = where(go, F + p, F)
        fin = ~((u > F) & (p > 0))
        out = out.index_put((idx,), where(fin, k, out[idx]))
        keep = (~fin).nonzero().reshape(-1)   # host read: the search length is data-dependent
        idx, u, p, F, k, lam = idx[keep], u[keep], p[keep], F[keep], k[keep], lam[keep]
    return out.reshape(shape)


def binomial(count, prob, generator=None):
    """Binomial(count, prob) draws (float): inversion by geometric waiting times for count * min(p, 1-p) < 10,
    BTRS otherwise."""
    T = _t()
    where = T["where"]
    count, prob = T["broadcast_tensors"](count.detach().to(prob.dtype), prob.detach())
    shape = tuple(prob.shape)
    flip = prob > 0.5
    q = where(flip, 1 - prob, prob)
    small = count * q < 10
    # inversion: number of geometric(q) waiting times that fit into count trials
    logq = (-where(small, q, T["zeros_like"](q))).log1p()
    gsum = T["zeros_like"](q)
    k_small = T["zeros_like"](q)
    done = ~small | (q == 0) | (count == 0)
    while True:
        for _ in range(_ROUNDS):
            u = _uniform(shape, q)
            geom = (u.log() / logq).ceil()
            gsum = gsum + geom
            alive = (gsum <= count) & ~done
            k_small = k_small + alive.to(q.dtype)
            done = done | ~alive
        if bool(done.all()):      # host read: the loop length is data-dependent
            break
    k = k_small
    if bool((~small).any()):
        n = where(small, T["full_like"](q, 100.0), count)
        p = where(small, T["full_like"](q, 0.5), q)
        m = ((n + 1) * p).floor()
        r = p / (1 - p)
        npq = n * p * (1 - p)
        spq = npq.sqrt()
        b = 1.15 + 2.53 * spq
        a = -0.0873 + 0.0248 * b + 0.01 * p
        c = n * p + 0.5
        v_r = 0.92 - 4.2 / b
        alpha = (2.83 + 5.1 / b) * spq
        lg = _lgamma
        logfm = lg(m + 1) + lg(n - m + 1)

        def propose(shp, n, m, r, a, b, c, v_r, alpha, logfm):
            U = _uniform(shp, n) - 0.5
            V = _uniform(shp, n)
            us = 0.5 - U.abs()
            kk = ((2 * a / us + b) * U + c).floor()
            inside = (kk >= 0) & (kk <= n)
            quick = (us >= 0.07) & (V <= v_r)
            kc = kk.clamp(T["zeros_like"](n), n)
            lv = (V * alpha / (a / (us * us) + b)).log()
            bound = logfm - lg(kc + 1) - lg(n - kc + 1) + (kc - m) * r.log()
            return kk, inside & (quick | (lv <= bound))

        k = where(small, k, _rejection([n, m, r, a, b, c, v_r, alpha, logfm], propose))
    k = where(flip, count - k, k)
    return where(prob.isnan() | count.isnan(), T["full_like"](q, math.nan), k)


_DIR_C = (
    (((1.003668233, -0.01061107488, -0.0657888334, 0.01201642863),
      (0.6336835991, -0.3557432599, 0.05486251648, -0.001465281033),
      (-0.03276231906, 0.004474107445, 0.002429354597, -0.0001557569013)),
     ((0.221950385, -0.3187676331, 0.01799915743, 0.01074823814),
      (-0.2951249643, 0.06219954479, 0.01535556598, 0.001550077057),
      (0.02155310298, 0.004170831599, 0.001292462449, 6.976601077e-05)),
     ((-0.05980841433, 0.008441916499, 0.01085618172, 0.002319392565),
      (0.02911413504, 0.01400243777, -0.002721828457, 0.000751041181),
      (0.005900514878, -0.001936558688, -9.495446725e-06, 5.385558597e-05))),
    (((1, -0.02924021934, -0.04438342661, 0.007285809825),
      (0.6357567472, -0.3473456711, 0.05454656494, -0.002407477521),
      (-0.03301322327, 0.004845219414, 0.00231480583, -0.0002307248149)),
     ((0.5925320577, -0.1757678135, 0.01505928619, 0.000564515273),
      (0.1014815858, -0.06589186703, 0.01272886114, -0.0007316646956),
      (-0.007258481865, 0.001096195486, 0.0003934994223, -4.12701925e-05)),
     ((0.06469649321, -0.0236701437, 0.002902096474, -5.896963079e-05),
      (0.001925008108, -0.002869809258, 0.0008000589141, -6.063713228e-05),
      (-0.0003477407336, 6.959756487e-05, 1.097287507e-05, -1.650964693e-06))))


def _zero_nan(t):
    T = _t()
    return T["where"](t.isnan(), T["zeros_like"](t), t)


def _beta_grad_alpha_small(x, alpha, beta):
    factor = _digamma(alpha) - _digamma(alpha + beta) - x.log()
    numer = 1.0
    series = numer / alpha * (factor + 1 / alpha)
    for i in range(1, 11):
        numer = numer * ((i - beta) * x / i)
        den = alpha + i
        series = series + numer / den * (factor + 1 / den)
    return _zero_nan(x * (1 - x).pow(-beta) * series)


def _beta_grad_beta_small(x, alpha, beta):
    factor = _digamma(alpha + beta) - _digamma(beta)
    numer, betas, dbetas = 1.0, 1.0, 0.0
    series = factor / alpha
    for i in range(1, 9):
        numer = numer * (-x / i)
        dbetas = dbetas * (beta - i) + betas
        betas = betas * (beta - i)
        series = series + numer / (alpha + i) * (dbetas + factor * betas)
    return _zero_nan(-(1 - x).pow(1 - beta) * series)


def _beta_grad_alpha_mid(x, alpha, beta):
    T = _t()
    total = alpha + beta
    mean = alpha / total
    std = (alpha * beta / (total + 1)).sqrt() / total
    near = (mean - 0.1 * std <= x) & (x <= mean + 0.1 * std)
    b2 = beta * beta
    poly = 47 * x * b2 * b2 + alpha * ((43 + 20 * (16 + 27 * beta) * x) * b2 * beta + alpha * (
        3 * (59 + 180 * beta - 90 * x) * b2 + alpha * ((453 + 1620 * beta * (1 - x) - 455 * x) * beta + alpha * (
            8 * (1 - x) * (135 * beta - 11)))))
    pre_num = (1 + 12 * alpha) * (1 + 12 * beta) / (total * total)
    pre_den = 12960 * alpha * alpha * alpha * beta * beta * (1 + 12 * total)
    near_v = pre_num / (1 - x) * poly / pre_den
    prefactor = -x / (2 * alpha * beta / total).sqrt()
    stirling = ((1 + 1 / (12 * alpha) + 1 / (288 * alpha * alpha)) * (1 + 1 / (12 * beta) + 1 / (288 * b2))
                / (1 + 1 / (12 * total) + 1 / (288 * total * total)))
    t1n = 2 * (alpha * alpha) * (x - 1) + alpha * beta * (x - 1) - x * b2
    axbx = alpha * (x - 1) + beta * x
    t1d = (2 * alpha / beta).sqrt() * total.pow(1.5) * axbx * axbx
    term2 = 0.5 * (alpha / (total * x)).log()
    term3 = (8 * alpha * beta / total).sqrt() / axbx
    t4b = beta * (beta / (total * (1 - x))).log() + alpha * (alpha / (total * x)).log()
    term4 = t4b.abs().clamp_min(1e-30).pow(-1.5)
    far_v = stirling * prefactor * (t1n / t1d + term2 * (term3 + T["where"](x < mean, term4, -term4)))
    return T["where"](near, near_v, far_v)


def dirichlet_grad(x, alpha, total):
    """PyTorch's `_dirichlet_grad`: -(d/dalpha CDF(x; alpha, total - alpha)) / pdf / (1 - x) of the Beta marginal,
    by its asymptotic expansions and rational correction."""
    T = _t()
    where = T["where"]
    beta = total - alpha
    boundary = total * x * (1 - x)
    small_a = _beta_grad_alpha_small(x, alpha, beta)
    small_b = -_beta_grad_beta_small(1 - x, beta, alpha)
    mid = _beta_grad_alpha_mid(x, alpha, beta)
    u = x.log()
    a = alpha.log() - u
    b = total.log() - a
    pu = (1.0, u, u * u)
    pa = (1.0, a, a * a)
    p = 0.0
    q = 0.0
    c = _DIR_C
    for i in range(3):
        for j in range(3):
            ua = pu[i] * pa[j]
            p = p + ua * (c[0][i][j][0] + b * (c[0][i][j][1] + b * (c[0][i][j][2] + b * c[0][i][j][3])))
            q = q + ua * (c[1][i][j][0] + b * (c[1][i][j][1] + b * (c[1][i][j][2] + b * c[1][i][j][3])))
    approx = x * (_digamma(total) - _digamma(alpha)) / beta
    rational = p / q * approx
    return where((x <= 0.5) & (boundary < 2.5), small_a,
                 where((x >= 0.5) & (boundary < 0.75), small_b,
                       where((alpha > 6) & (beta > 6), mid, rational)))
