"""The later torch.distributions families, transforms, constraint registries and KL pairs against PyTorch:
densities, cdf/icdf, entropies and moments on the same parameters, reprs, shapes and expand, validation messages,
gradients, and moments of draws from the library's Philox stream (fixed seeds, 5 standard errors)."""
import math
import warnings

import numpy as np
import pytest
import torch

import cltensor as ct
from _host import host

from _distref import D, TD, c, r, close, build, _message  # noqa: F401


# name, parameters, values inside the support, methods compared with torch on the same parameters
CASES = [
    ("Gumbel", {"loc": [0.3, -1.0, 2.0], "scale": [1.0, 0.5, 3.0]}, [0.1, -2.0, 7.0],
     "log_prob cdf icdf entropy mean mode variance stddev"),
    ("HalfNormal", {"scale": [1.0, 0.5, 3.0]}, [0.1, 2.0, 0.0], "log_prob cdf icdf entropy mean mode variance"),
    ("HalfCauchy", {"scale": [1.0, 0.5, 3.0]}, [0.1, 2.0, 0.0], "log_prob cdf icdf entropy mean mode variance"),
    ("Pareto", {"scale": [1.0, 0.5, 3.0], "alpha": [0.5, 2.5, 4.0]}, [1.5, 0.5, 7.0],
     "log_prob cdf icdf entropy mean mode variance"),
    ("Weibull", {"scale": [1.0, 0.5, 3.0], "concentration": [0.7, 2.5, 4.0]}, [1.5, 0.5, 7.0],
     "log_prob cdf icdf entropy mean mode variance"),
    ("Kumaraswamy", {"concentration1": [0.7, 2.5, 4.0], "concentration0": [1.0, 0.5, 3.0]}, [0.2, 0.5, 0.9],
     "log_prob cdf icdf entropy mean variance"),
    ("InverseGamma", {"concentration": [0.7, 2.5, 4.0], "rate": [1.0, 0.5, 3.0]}, [0.2, 0.5, 3.9],
     "log_prob cdf entropy mean mode variance"),
    ("FisherSnedecor", {"df1": [0.7, 2.5, 4.0], "df2": [1.0, 4.5, 7.0]}, [0.2, 0.5, 3.9],
     "log_prob mean mode variance"),
    ("VonMises", {"loc": [0.3, -1.0, 2.0], "concentration": [0.5, 2.0, 30.0]}, [0.1, -2.0, 2.5],
     "log_prob mean mode variance"),
    ("ContinuousBernoulli", {"probs": [0.2, 0.4995, 0.5, 0.9]}, [0.1, 0.5, 0.0, 0.9],
     "log_prob cdf icdf entropy mean variance stddev"),
    ("ContinuousBernoulli", {"logits": [-2.0, 0.001, 3.0]}, [0.1, 0.5, 1.0], "log_prob cdf icdf entropy mean variance"),
    ("NegativeBinomial", {"total_count": [3.0, 0.5, 10.0], "probs": [0.2, 0.5, 0.9]}, [0.0, 2.0, 40.0],
     "log_prob mean mode variance"),
    ("NegativeBinomial", {"total_count": [3.0, 0.0], "logits": [-1.0, 2.0]}, [4.0, 0.0], "log_prob mean variance"),
    ("Binomial", {"total_count": 6, "probs": [0.2, 0.5, 0.9]}, [0.0, 5.0, 6.0], "entropy"),
    ("Multinomial", {"total_count": 5, "probs": [[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]]},
     [[1.0, 1.0, 3.0], [3.0, 2.0, 0.0]], "entropy"),
    ("OneHotCategoricalStraightThrough", {"probs": [[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]]},
     [[0, 0, 1.0], [0, 1.0, 0]], "log_prob entropy mean mode variance"),
    ("LogisticNormal", {"loc": [0.3, -1.0], "scale": [1.0, 0.5]}, [0.2, 0.5, 0.3], "log_prob"),
    ("LKJCholesky", {"dim": 3, "concentration": [0.5, 1.0, 2.5]}, None, "log_prob"),
]


def _values(name, values, d):
    if name == "LKJCholesky":                 # Cholesky factors of correlation matrices
        a = np.random.default_rng(0).standard_normal((3, 3, 3))
        cov = a @ a.transpose(0, 2, 1) + np.eye(3)
        corr = cov / np.sqrt(np.einsum("bii,bjj->bij", cov, cov))
        return np.linalg.cholesky(corr)
    return values


@pytest.mark.fp64
@pytest.mark.parametrize("case", CASES, ids=[f"{x[0]}-{i}" for i, x in enumerate(CASES)])
def test_values_against_torch(case):
    name, params, values, methods = case
    d, dt = build(name, params, "ct"), build(name, params, "torch")
    assert tuple(d.batch_shape) == tuple(dt.batch_shape) and tuple(d.event_shape) == tuple(dt.event_shape)
    assert repr(d) == repr(dt)
    assert repr(d.support).replace("cltensor.", "torch.") == repr(dt.support)
    assert list(d.arg_constraints) == list(dt.arg_constraints)
    assert d.has_rsample == dt.has_rsample
    v = _values(name, values, d)
    for m in methods.split():
        if m in ("log_prob", "cdf"):
            tol = 1e-6 if name == "VonMises" else 1e-9       # torch's Bessel I0 is a 1e-7 polynomial fit
            close(getattr(d, m)(c(v)), getattr(dt, m)(r(v)), tol)
        elif m == "icdf":
            p = [0.05, 0.5, 0.93, 0.3][:len(values)]
            close(d.icdf(c(p)), dt.icdf(r(p)), 1e-9)
        elif m == "entropy":
            # torch's Multinomial entropy takes lgamma(n + 1) of an integer tensor (float32): ~1e-8 off
            close(d.entropy(), dt.entropy(), 1e-7 if name == "Multinomial" else 1e-9)
        else:
            close(getattr(d, m), getattr(dt, m), 1e-6 if name == "VonMises" else 1e-9)


@pytest.mark.parametrize("case", CASES, ids=[f"{x[0]}-{i}" for i, x in enumerate(CASES)])
def test_values_float32(case):
    # the same families in float32 (devices without fp64 run these): torch's float32 values within 1e-4 relative
    name, params, values, methods = case
    f32 = {k: (np.asarray(v, np.float32) if isinstance(v, list) else v) for k, v in params.items()}
    d = getattr(D, name)(**{k: (ct.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in f32.items()})
    dt = getattr(TD, name)(**{k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in f32.items()})
    assert repr(d) == repr(dt)
    v = np.asarray(_values(name, values, d), np.float32)
    close(d.log_prob(ct.tensor(v)), dt.log_prob(torch.tensor(v)), 1e-4)
    if "entropy" in methods:
        close(d.entropy(), dt.entropy(), 1e-4)
    if "mean" in methods:
        close(d.mean, dt.mean, 1e-4)


@pytest.mark.fp64
def test_multinomial_entropy_by_enumeration():
    import itertools
    probs = np.array([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]])
    n = 5
    ref = []
    for p in probs:
        h = 0.0
        for k in itertools.product(range(n + 1), repeat=3):
            if sum(k) != n:
                continue
            if any(x and q == 0 for x, q in zip(k, p)):
                continue
            lp = math.lgamma(n + 1) - sum(math.lgamma(x + 1) for x in k) + sum(
                x * math.log(q) for x, q in zip(k, p) if x)
            h -= math.exp(lp) * lp
        ref.append(h)
    close(D.Multinomial(n, c(probs)).entropy(), np.array(ref), 1e-12)


@pytest.mark.fp64
def test_generalized_pareto_against_scipy():
    # torch's GeneralizedPareto fails on float64 parameters (it compares them with a float32 zero): scipy's
    # genpareto is the reference here, torch's in float32
    import scipy.stats
    loc, scale, xi = np.array([0.0, 1.0, -1.0, 0.5]), np.array([1.0, 2.0, 0.5, 1.5]), np.array([0.2, -0.3, 0.0, 0.7])
    x = np.array([0.5, 2.0, 0.1, 3.0])
    ref = scipy.stats.genpareto(xi, loc, scale)
    d = D.GeneralizedPareto(c(loc), c(scale), c(xi))
    close(d.log_prob(c(x)), ref.logpdf(x), 1e-12)
    close(d.cdf(c(x)), ref.cdf(x), 1e-12)
    close(d.icdf(c([0.05, 0.5, 0.93, 0.3])), ref.ppf([0.05, 0.5, 0.93, 0.3]), 1e-12)
    close(d.entropy(), ref.entropy(), 1e-12)
    close(d.mean, np.where(xi < 1, ref.mean(), np.nan), 1e-12)
    close(d.variance, np.where(xi < 0.5, ref.var(), np.nan), 1e-12)
    close(d.mode, loc, 0)
    dt = TD.GeneralizedPareto(torch.tensor(loc, dtype=torch.float32), torch.tensor(scale, dtype=torch.float32),
                              torch.tensor(xi, dtype=torch.float32))
    d32 = D.GeneralizedPareto(c(loc, ct.float32), c(scale, ct.float32), c(xi, ct.float32))
    assert repr(d32) == repr(dt) and repr(d32.support) == repr(dt.support)
    close(d32.log_prob(c(x, ct.float32)), dt.log_prob(torch.tensor(x, dtype=torch.float32)), 1e-5)
    close(d32.cdf(c(x, ct.float32)), dt.cdf(torch.tensor(x, dtype=torch.float32)), 1e-5)


@pytest.mark.fp64
def test_kumaraswamy_mode_and_lkj_normaliser():
    # PyTorch's Kumaraswamy.mode is nan (or -inf) for every parameter; the mode is ((a-1)/(ab-1))^(1/a)
    a, b = np.array([2.0, 3.0, 0.5, 1.0]), np.array([1.5, 2.0, 2.0, 1.0])
    m = np.array([((x - 1) / (x * y - 1)) ** (1 / x) for x, y in zip(a[:2], b[:2])] + [np.nan, np.nan])
    close(D.Kumaraswamy(c(a), c(b)).mode, m, 1e-12)
    # the LKJ density of a 2 x 2 Cholesky factor integrates to 1 over its one free entry L_10 (the correlation)
    t = np.linspace(-1, 1, 4001)[1:-1]
    L = np.zeros((t.size, 2, 2))
    L[:, 0, 0], L[:, 1, 0], L[:, 1, 1] = 1, t, np.sqrt(1 - t ** 2)
    for eta in (0.7, 1.7):
        dens = np.exp(host(D.LKJCholesky(2, c(eta)).log_prob(c(L))))
        assert abs(np.trapezoid(dens, t) - 1) < 5e-3


@pytest.mark.fp64
def test_wishart_against_torch():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 3, 3))
    cov = a @ a.transpose(0, 2, 1) + 3 * np.eye(3)
    X = rng.standard_normal((2, 3, 3))
    X = X @ X.transpose(0, 2, 1) + np.eye(3)
    for kind, mat in [("covariance_matrix", cov), ("precision_matrix", np.linalg.inv(cov)),
                      ("scale_tril", np.linalg.cholesky(cov))]:
        d = D.Wishart(c([4.0, 6.5]), **{kind: c(mat)})
        dt = TD.Wishart(r([4.0, 6.5]), **{kind: r(mat)})
        assert repr(d) == repr(dt)
        close(d.log_prob(c(X)), dt.log_prob(r(X)), 1e-9)
        close(d.entropy(), dt.entropy(), 1e-9)
        for m in ("mean", "mode", "variance", "covariance_matrix", "precision_matrix", "scale_tril"):
            close(getattr(d, m), getattr(dt, m), 1e-9)
    d = D.Wishart(5.0, covariance_matrix=c(cov[0]))
    dt = TD.Wishart(5.0, covariance_matrix=r(cov[0]))
    assert repr(d) == repr(dt) and tuple(d.batch_shape) == ()
    # the Bregman-divergence KL within the family (ExponentialFamily) against torch's
    q, qt = D.Wishart(7.0, covariance_matrix=c(cov[1])), TD.Wishart(7.0, covariance_matrix=r(cov[1]))
    close(D.kl_divergence(d, q), TD.kl_divergence(dt, qt), 1e-8)
    with pytest.raises(ValueError) as e1:
        D.Wishart(c(1.5), covariance_matrix=c(cov[0]))
    with pytest.raises(ValueError) as e2:
        TD.Wishart(r(1.5), covariance_matrix=r(cov[0]))
    assert str(e1.value) == str(e2.value)
    with pytest.raises(AssertionError):
        D.Wishart(4.0)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        D.Wishart(2.5, covariance_matrix=c(cov[0]))
    assert any("Low df" in str(x.message) for x in w)


@pytest.mark.fp64
def test_exponential_family_entropy_and_kl():
    # the Bregman forms (autograd of the log-normaliser) against the closed forms of the same families
    fams = [("Normal", {"loc": [0.3, -1.0], "scale": [1.0, 0.5]}, {"loc": [1.0, 0.0], "scale": [2.0, 0.3]}),
            ("Gamma", {"concentration": [0.5, 2.0], "rate": [1.0, 3.0]},
             {"concentration": [1.5, 0.2], "rate": [2.0, 0.5]}),
            ("Beta", {"concentration1": [0.5, 2.0], "concentration0": [1.0, 3.0]},
             {"concentration1": [1.5, 0.2], "concentration0": [2.0, 0.5]}),
            ("Dirichlet", {"concentration": [[0.5, 2.0, 1.0]]}, {"concentration": [[1.5, 0.2, 3.0]]}),
            ("Exponential", {"rate": [0.5, 2.0]}, {"rate": [1.5, 0.2]}),
            ("Poisson", {"rate": [0.5, 2.0]}, {"rate": [1.5, 0.2]}),
            ("Bernoulli", {"probs": [0.3, 0.6]}, {"probs": [0.5, 0.1]}),
            ("ContinuousBernoulli", {"probs": [0.3, 0.8]}, {"probs": [0.6, 0.1]})]
    from cltensor.distributions.kl_more import _kl_expfamily_expfamily
    for name, pp, qp in fams:
        p, q = build(name, pp, "ct"), build(name, qp, "ct")
        assert isinstance(p, D.ExponentialFamily)
        close(_kl_expfamily_expfamily(p, q), TD.kl_divergence(build(name, pp, "torch"), build(name, qp, "torch")),
              1e-8)
        if name not in ("Poisson", "Beta", "Dirichlet"):     # no closed carrier measure (as in PyTorch)
            close(D.ExponentialFamily.entropy(p), build(name, pp, "torch").entropy(), 1e-8)
    with pytest.raises(NotImplementedError):
        _kl_expfamily_expfamily(D.Normal(0.0, 1.0), D.Exponential(1.0))


# (p family, p parameters, q family, q parameters): every pair torch registers for the new families and the
# cross-family pairs; the infinite ones included
_P = {"Normal": {"loc": [0.3, -1.0], "scale": [1.0, 0.5]},
      "Laplace": {"loc": [0.3, -1.0], "scale": [1.0, 0.5]},
      "Gumbel": {"loc": [0.3, -1.0], "scale": [1.0, 0.5]},
      "Exponential": {"rate": [0.5, 2.0]},
      "Gamma": {"concentration": [0.5, 2.0], "rate": [1.0, 3.0]},
      "Beta": {"concentration1": [0.5, 2.0], "concentration0": [1.0, 3.0]},
      "ContinuousBernoulli": {"probs": [0.3, 0.8]},
      "Pareto": {"scale": [1.0, 2.0], "alpha": [2.5, 3.5]},
      "Uniform": {"low": [0.1, 0.3], "high": [0.7, 0.9]},
      "HalfNormal": {"scale": [1.0, 0.5]},
      "Bernoulli": {"probs": [0.3, 0.6]},
      "Poisson": {"rate": [0.5, 2.0]},
      "Binomial": {"total_count": 8, "probs": [0.3, 0.6]}}
_Q = {"Normal": {"loc": [1.0, 0.0], "scale": [2.0, 0.3]},
      "Laplace": {"loc": [1.0, 0.0], "scale": [2.0, 0.3]},
      "Gumbel": {"loc": [1.0, 0.0], "scale": [2.0, 0.7]},
      "Exponential": {"rate": [1.5, 0.2]},
      "Gamma": {"concentration": [1.5, 0.2], "rate": [2.0, 0.5]},
      "Beta": {"concentration1": [1.5, 0.2], "concentration0": [2.0, 0.5]},
      "ContinuousBernoulli": {"probs": [0.6, 0.1]},
      "Pareto": {"scale": [0.5, 3.0], "alpha": [1.5, 0.5]},
      "Uniform": {"low": [-1.0, 0.2], "high": [3.0, 4.0]},
      "HalfNormal": {"scale": [2.0, 0.3]},
      "Bernoulli": {"probs": [0.5, 0.1]},
      "Poisson": {"rate": [1.5, 0.2]},
      "Binomial": {"total_count": 8, "probs": [0.5, 0.1]}}
KL_NEW = sorted((p.__name__, q.__name__) for (p, q) in TD.kl._KL_REGISTRY
                if p.__name__ in _P and q.__name__ in _Q)


@pytest.mark.fp64
def test_kl_pairs_against_torch():
    assert len(KL_NEW) >= 70
    for pn, qn in KL_NEW:
        p, q = build(pn, _P[pn], "ct"), build(qn, _Q[qn], "ct")
        pt, qt = build(pn, _P[pn], "torch"), build(qn, _Q[qn], "torch")
        try:
            close(D.kl_divergence(p, q), TD.kl_divergence(pt, qt), 1e-8)
        except AssertionError as e:
            raise AssertionError(f"KL({pn} || {qn}): {e}") from None
    # Transformed pairs go to the base distributions when the transforms agree
    p = D.TransformedDistribution(D.Normal(c([0.0, 1.0]), c([1.0, 2.0])), [D.ExpTransform()])
    q = D.TransformedDistribution(D.Normal(c([0.5, 0.0]), c([1.5, 1.0])), [D.ExpTransform()])
    close(D.kl_divergence(p, q), D.kl_divergence(p.base_dist, q.base_dist), 0)
    with pytest.raises(NotImplementedError):
        D.kl_divergence(p, D.TransformedDistribution(q.base_dist, [D.SigmoidTransform()]))
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.Binomial(3, c([0.5])), D.Binomial(5, c([0.5])))


@pytest.mark.fp64
def test_kl_gaussian_pairs():
    rng = np.random.default_rng(4)
    W1, W2 = rng.standard_normal((2, 4, 2)), rng.standard_normal((4, 3))
    D1, D2 = rng.uniform(0.5, 2, (2, 4)), rng.uniform(0.5, 2, 4)
    m1, m2 = rng.standard_normal((2, 4)), rng.standard_normal(4)
    A = rng.standard_normal((4, 4))
    S = A @ A.T + np.eye(4)
    ours = {"lr1": D.LowRankMultivariateNormal(c(m1), c(W1), c(D1)),
            "lr2": D.LowRankMultivariateNormal(c(m2), c(W2), c(D2)),
            "mvn": D.MultivariateNormal(c(m2), covariance_matrix=c(S))}
    ref = {"lr1": TD.LowRankMultivariateNormal(r(m1), r(W1), r(D1)),
           "lr2": TD.LowRankMultivariateNormal(r(m2), r(W2), r(D2)),
           "mvn": TD.MultivariateNormal(r(m2), covariance_matrix=r(S))}
    for a, b in [("lr1", "lr2"), ("lr2", "lr1"), ("mvn", "lr1"), ("lr1", "mvn"), ("mvn", "mvn")]:
        close(D.kl_divergence(ours[a], ours[b]), TD.kl_divergence(ref[a], ref[b]), 1e-9)
    small = (D.LowRankMultivariateNormal(c([0.0, 0.0]), c([[1.0], [1.0]]), c([1.0, 1.0])),
             TD.LowRankMultivariateNormal(r([0.0, 0.0]), r([[1.0], [1.0]]), r([1.0, 1.0])))
    for a, b in [("lr2", small), ("mvn", small)]:
        assert _message(lambda: D.kl_divergence(ours[a], b[0])) == _message(lambda: TD.kl_divergence(ref[a], b[1]))
        assert _message(lambda: D.kl_divergence(b[0], ours[a])) == _message(lambda: TD.kl_divergence(b[1], ref[a]))


@pytest.mark.parametrize("name,params,n", [
    ("Gumbel", {"loc": [0.3, -1.0], "scale": [1.0, 0.5]}, 4000),
    ("HalfNormal", {"scale": [1.0, 0.5]}, 4000),
    ("Pareto", {"scale": [1.0, 0.5], "alpha": [4.5, 6.0]}, 4000),
    ("Weibull", {"scale": [1.0, 0.5], "concentration": [0.8, 3.0]}, 4000),
    ("Kumaraswamy", {"concentration1": [0.7, 2.5], "concentration0": [1.0, 3.0]}, 4000),
    ("InverseGamma", {"concentration": [5.5, 7.0], "rate": [1.0, 3.0]}, 4000),
    ("FisherSnedecor", {"df1": [3.0, 10.0], "df2": [12.0, 20.0]}, 4000),
    ("GeneralizedPareto", {"loc": [0.0, 1.0, -1.0], "scale": [1.0, 2.0, 0.5], "concentration": [0.2, -0.3, 0.0]},
     4000),
    ("ContinuousBernoulli", {"probs": [0.2, 0.5, 0.9]}, 4000),
    ("NegativeBinomial", {"total_count": [3.0, 0.5, 10.0], "probs": [0.2, 0.5, 0.7]}, 4000),
])
def test_sample_moments(name, params, n):
    ct.manual_seed(1234)
    mod = {k: ct.tensor(np.asarray(v, np.float32)) for k, v in params.items()}
    d = getattr(D, name)(**mod)
    x = host(d.sample((n,)))
    assert x.shape == (n,) + tuple(d.batch_shape) and x.dtype == np.float32
    mean, var = host(d.mean), host(d.variance)
    np.testing.assert_array_less(np.abs(x.mean(0) - mean), 5 * np.sqrt(var / n) + 1e-6)
    assert bool(d.support.check(ct.tensor(x)).all())
    if name == "NegativeBinomial":
        assert np.all(x == np.round(x))


def test_von_mises_and_lkj_draws():
    ct.manual_seed(5)
    loc, k = np.float32([0.3, 3.0, -2.0]), np.float32([0.01, 2.0, 20.0])
    x = host(D.VonMises(ct.tensor(loc), ct.tensor(k)).sample((4000,)))
    assert np.all(np.abs(x) <= math.pi + 1e-6)
    # circular mean direction and mean resultant length I1(k) / I0(k)
    import scipy.special
    R = np.abs(np.exp(1j * x).mean(0))
    np.testing.assert_allclose(R, scipy.special.i1e(k) / scipy.special.i0e(k), atol=0.04)
    ang = np.angle(np.exp(1j * (x - loc)).mean(0))
    assert np.all(np.abs(ang[1:]) < 0.05)
    # LKJ: each correlation is 2 Beta(b, b) - 1 with b = eta - 1 + dim / 2 (variance 1 / (2 b + 1))
    for dim, eta in [(3, 1.0), (4, 2.0)]:
        L = host(D.LKJCholesky(dim, ct.tensor(eta)).sample((6000,)))
        C = L @ L.transpose(0, 2, 1)
        np.testing.assert_allclose(np.diagonal(C, axis1=1, axis2=2), 1, atol=1e-5)
        b = eta - 1 + dim / 2
        v = np.array([C[:, i, j].var() for i in range(dim) for j in range(i)])
        np.testing.assert_allclose(v, 1 / (2 * b + 1), rtol=0.1)


@pytest.mark.fp64
def test_wishart_draws():
    ct.manual_seed(11)
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    d = D.Wishart(c(5.0), covariance_matrix=c(cov))
    X = host(d.sample((4000,)))
    np.testing.assert_allclose(X.mean(0), 5 * cov, rtol=0.08, atol=0.08)
    assert np.all(np.linalg.eigvalsh(X) > 0)


@pytest.mark.fp64
def test_gradients():
    # log_prob / entropy gradients against torch's
    for name, params, value in [
        ("Gumbel", {"loc": [0.3, -1.0], "scale": [1.0, 0.5]}, [0.1, -2.0]),
        ("Weibull", {"scale": [1.0, 0.5], "concentration": [0.7, 2.5]}, [1.5, 0.5]),
        ("Kumaraswamy", {"concentration1": [0.7, 2.5], "concentration0": [1.0, 3.0]}, [0.2, 0.5]),
        ("InverseGamma", {"concentration": [0.7, 2.5], "rate": [1.0, 0.5]}, [0.2, 0.5]),
        ("ContinuousBernoulli", {"probs": [0.2, 0.9]}, [0.1, 0.5]),
        ("Pareto", {"scale": [1.0, 0.5], "alpha": [0.5, 2.5]}, [1.5, 0.7]),
    ]:
        ps = {k: c(v).requires_grad_() for k, v in params.items()}
        pt = {k: r(v).requires_grad_() for k, v in params.items()}
        d, dt = getattr(D, name)(**ps), getattr(TD, name)(**pt)
        (d.log_prob(c(value)).sum() + d.entropy().sum()).backward()
        (dt.log_prob(r(value)).sum() + dt.entropy().sum()).backward()
        for k in params:
            close(ps[k].grad, pt[k].grad, 1e-8)
    for name, params, value in [
        ("NegativeBinomial", {"total_count": [3.0, 0.5], "probs": [0.2, 0.5]}, [0.0, 2.0]),
        ("FisherSnedecor", {"df1": [0.7, 2.5], "df2": [1.0, 4.5]}, [0.2, 0.5]),
        ("VonMises", {"loc": [0.3, -1.0], "concentration": [0.5, 2.0]}, [0.1, -2.0]),
    ]:
        ps = {k: c(v).requires_grad_() for k, v in params.items()}
        pt = {k: r(v).requires_grad_() for k, v in params.items()}
        getattr(D, name)(**ps).log_prob(c(value)).sum().backward()
        getattr(TD, name)(**pt).log_prob(r(value)).sum().backward()
        for k in params:
            close(ps[k].grad, pt[k].grad, 1e-6 if name == "VonMises" else 1e-8)
    # Wishart (df and covariance) and LKJCholesky (concentration)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    S = a @ a.T + 3 * np.eye(3)
    X = rng.standard_normal((3, 3))
    X = X @ X.T + np.eye(3)
    L = np.linalg.cholesky(np.corrcoef(rng.standard_normal((3, 10))))
    ours, ref = [c(5.0).requires_grad_(), c(S).requires_grad_(), c(1.7).requires_grad_()], \
        [r(5.0).requires_grad_(), r(S).requires_grad_(), r(1.7).requires_grad_()]
    d = D.Wishart(ours[0], covariance_matrix=ours[1])
    (d.log_prob(c(X)) + d.entropy() + D.LKJCholesky(3, ours[2]).log_prob(c(L))).backward()
    dt = TD.Wishart(ref[0], covariance_matrix=ref[1])
    (dt.log_prob(r(X)) + dt.entropy() + TD.LKJCholesky(3, ref[2]).log_prob(r(L))).backward()
    for o, t in zip(ours, ref):
        close(o.grad, t.grad, 1e-9)
    # pathwise gradients of rsample are finite; straight-through passes the gradient to the probabilities
    ct.manual_seed(0)
    for name, params in [("Gumbel", [c([0.0, 1.0]), c([1.0, 2.0])]), ("HalfNormal", [c([1.0, 2.0])]),
                         ("Pareto", [c([1.0, 2.0]), c([2.0, 3.0])]), ("Weibull", [c([1.0, 2.0]), c([2.0, 3.0])]),
                         ("Kumaraswamy", [c([1.0, 2.0]), c([2.0, 3.0])]),
                         ("InverseGamma", [c([1.0, 2.0]), c([2.0, 3.0])]),
                         ("FisherSnedecor", [c([3.0, 5.0]), c([4.0, 6.0])]),
                         ("ContinuousBernoulli", [c([0.2, 0.7])]), ("LogisticNormal", [c([0.0, 1.0]), c([1.0, 2.0])]),
                         ("GeneralizedPareto", [c([0.0, 1.0]), c([1.0, 2.0]), c([0.2, -0.3])]),
                         ("Wishart", [c(4.0), c([[2.0, 0.5], [0.5, 1.0]])])]:
        ps = [p.requires_grad_() for p in params]
        getattr(D, name)(*ps).rsample((3,)).sum().backward()
        for p in ps:
            assert p.grad is not None and np.isfinite(host(p.grad)).all(), name
    probs = c([0.2, 0.3, 0.5]).requires_grad_()
    s = D.OneHotCategoricalStraightThrough(probs=probs).rsample((4,))
    (s * c([1.0, 2.0, 3.0])).sum().backward()
    w = np.array([1.0, 2.0, 3.0])      # through the normalisation probs / probs.sum(): 4 (w - <w, p>)
    close(probs.grad, 4 * (w - w @ np.array([0.2, 0.3, 0.5])), 1e-12)


def test_shapes_expand_and_scalars():
    for name, args in [("Gumbel", (0.0, 1.0)), ("HalfNormal", (1.0,)), ("HalfCauchy", (1.0,)),
                       ("Pareto", (1.0, 2.0)), ("Weibull", (1.0, 2.0)), ("Kumaraswamy", (1.0, 2.0)),
                       ("InverseGamma", (2.0, 1.0)), ("FisherSnedecor", (3.0, 4.0)),
                       ("GeneralizedPareto", (0.0, 1.0, 0.2)), ("ContinuousBernoulli", (0.3,))]:
        d, dt = getattr(D, name)(*args), getattr(TD, name)(*args)
        assert repr(d) == repr(dt) and tuple(d.batch_shape) == tuple(dt.batch_shape) == ()
        x = d.sample((2, 3))
        assert tuple(x.shape) == (2, 3) and x.dtype == ct.float32
        e = getattr(D, name)(*[ct.full((3,), float(a)) for a in args]).expand((4, 3))
        assert type(e) is getattr(D, name) and tuple(e.batch_shape) == (4, 3)
        assert tuple(e.sample((2,)).shape) == (2, 4, 3)
        assert tuple(e.log_prob(e.sample()).shape) == (4, 3)
    for d, shape in [(D.VonMises(ct.zeros(3), ct.ones(3)), (3,)),
                     (D.NegativeBinomial(ct.full((3,), 2.0), ct.full((3,), 0.5)), (3,)),
                     (D.LKJCholesky(3, ct.ones(3)), (3, 3, 3)),
                     (D.LogisticNormal(ct.zeros(3), ct.ones(3)), (4,)),
                     (D.Wishart(ct.full((3,), 4.0), covariance_matrix=ct.eye(2)), (3, 2, 2))]:
        e = d.expand((2,) + tuple(d.batch_shape))
        assert tuple(e.batch_shape) == (2,) + tuple(d.batch_shape)
        assert tuple(e.sample().shape) == (2,) + shape
    assert tuple(D.LogisticNormal(0.0, 1.0).sample((5,)).shape) == (5, 2)
    b = D.Binomial(ct.tensor([4.0, 4.0]), ct.tensor([0.2, 0.5]))
    assert tuple(b.enumerate_support().shape) == (5, 2)
    with pytest.raises(NotImplementedError):
        D.Binomial(ct.tensor([3.0, 4.0]), ct.tensor([0.2, 0.5])).entropy()


def test_validation_messages_match_torch():
    pairs = [
        (lambda M, t: M.Gumbel(t([0.0]), t([-1.0]))),
        (lambda M, t: M.HalfNormal(t([-1.0]))),
        (lambda M, t: M.HalfNormal(t([1.0])).log_prob(t([-1.0]))),
        (lambda M, t: M.Pareto(t([1.0]), t([2.0])).log_prob(t([0.5]))),
        (lambda M, t: M.Weibull(t([1.0]), t([0.0]))),
        (lambda M, t: M.Kumaraswamy(t([1.0]), t([1.0])).log_prob(t([1.5]))),
        (lambda M, t: M.InverseGamma(t([-1.0]), t([1.0]))),
        (lambda M, t: M.VonMises(t([0.0]), t([-1.0]))),
        (lambda M, t: M.NegativeBinomial(t([2.0]), t([1.0]))),
        (lambda M, t: M.NegativeBinomial(t([2.0]), t([0.5])).log_prob(t([0.5]))),
        (lambda M, t: M.NegativeBinomial(t([2.0]), probs=t([0.5]), logits=t([0.0]))),
        (lambda M, t: M.ContinuousBernoulli(t([1.5]), validate_args=True)),
        (lambda M, t: M.LKJCholesky(1, t(1.0))),
        (lambda M, t: M.GeneralizedPareto(t([0.0]), t([1.0]), t([-0.5])).log_prob(t([3.0]))),
        (lambda M, t: M.LogisticNormal(t([0.0]), t([-1.0]))),
    ]
    for fn in pairs:
        assert _message(lambda: fn(D, ct.tensor)) == _message(lambda: fn(TD, torch.tensor))


@pytest.mark.fp64
def test_transforms_against_torch():
    rng = np.random.default_rng(1)
    x6 = rng.standard_normal((2, 6))
    cases = [("StickBreakingTransform", (), x6), ("CorrCholeskyTransform", (), x6),
             ("SoftplusTransform", (), x6), ("SoftmaxTransform", (), x6), ("AbsTransform", (), x6),
             ("LowerCholeskyTransform", (), rng.standard_normal((2, 3, 3))),
             ("PositiveDefiniteTransform", (), rng.standard_normal((2, 3, 3))),
             ("ReshapeTransform", ((6,), (2, 3)), x6)]
    for name, args, x in cases:
        a, b = getattr(D.transforms, name)(*args), getattr(TD.transforms, name)(*args)
        assert repr(a) == repr(b) and a.bijective == b.bijective
        assert repr(a.domain) == repr(b.domain) and repr(a.codomain) == repr(b.codomain)
        assert (a.domain.event_dim, a.codomain.event_dim) == (b.domain.event_dim, b.codomain.event_dim)
        assert tuple(a.forward_shape(x.shape)) == tuple(b.forward_shape(x.shape))
        cx, tx = c(x), r(x)
        cy, ty = a(cx), b(tx)
        close(cy, ty, 1e-10)
        close(a.inv(cy), b.inv(ty), 1e-8)
        assert tuple(a.inverse_shape(tuple(cy.shape))) == tuple(x.shape)
        if a.bijective:
            close(a.log_abs_det_jacobian(cx, cy), b.log_abs_det_jacobian(tx, ty), 1e-9)
        assert (a == getattr(D.transforms, name)(*args)) == (b == getattr(TD.transforms, name)(*args))
    # combinators
    t1 = D.transforms.CatTransform([D.ExpTransform(), D.identity_transform, D.SigmoidTransform()], 1, [2, 3, 1])
    t2 = TD.transforms.CatTransform([TD.ExpTransform(), TD.transforms.identity_transform, TD.SigmoidTransform()],
                                    1, [2, 3, 1])
    close(t1(c(x6)), t2(r(x6)), 1e-12)
    close(t1.log_abs_det_jacobian(c(x6), t1(c(x6))), t2.log_abs_det_jacobian(r(x6), t2(r(x6))), 1e-12)
    close(t1.inv(t1(c(x6))), x6, 1e-10)
    s1 = D.transforms.StackTransform([D.ExpTransform(), D.SoftplusTransform()], 0)
    s2 = TD.transforms.StackTransform([TD.ExpTransform(), TD.transforms.SoftplusTransform()], 0)
    close(s1(c(x6)), s2(r(x6)), 1e-12)
    close(s1.log_abs_det_jacobian(c(x6), s1(c(x6))), s2.log_abs_det_jacobian(r(x6), s2(r(x6))), 1e-12)
    i1 = D.transforms.IndependentTransform(D.ExpTransform(), 1)
    i2 = TD.transforms.IndependentTransform(TD.ExpTransform(), 1)
    assert repr(i1) == repr(i2) and repr(i1.codomain) == repr(i2.codomain)
    close(i1.log_abs_det_jacobian(c(x6), i1(c(x6))), i2.log_abs_det_jacobian(r(x6), i2(r(x6))), 1e-12)
    nd = D.Normal(c([0.5]), c([2.0]))
    cd = D.transforms.CumulativeDistributionTransform(nd)
    cdt = TD.transforms.CumulativeDistributionTransform(TD.Normal(r([0.5]), r([2.0])))
    z = c([[0.1], [-1.0]])
    close(cd(z), cdt(r(host(z))), 1e-12)
    close(cd.log_abs_det_jacobian(z, cd(z)), cdt.log_abs_det_jacobian(r(host(z)), cdt(r(host(z)))), 1e-12)
    # caching: the inverse of the latest output is the input itself
    t = D.ExpTransform().with_cache(1)
    xx = c([1.0, 2.0])
    assert t.inv(t(xx)) is xx
    for fn in [lambda M: M.transforms.ReshapeTransform((2, 3), (5,)),
               lambda M: M.transforms.CorrCholeskyTransform().forward_shape((4,))]:
        assert _message(lambda: fn(D)) == _message(lambda: fn(TD))
    # the log|det J| of the bijective vector transforms against autograd's Jacobian
    x = c(rng.standard_normal(3))
    J = ct.autograd.functional.jacobian(lambda v: D.transforms.StickBreakingTransform()(v)[:-1], x)
    close(D.transforms.StickBreakingTransform().log_abs_det_jacobian(x, D.transforms.StickBreakingTransform()(x)),
          np.log(abs(np.linalg.det(host(J)))), 1e-10)


@pytest.mark.fp64
def test_biject_to_and_transform_to():
    C, TC = D.constraints, TD.constraints
    cases = [(C.real, TC.real), (C.positive, TC.positive), (C.nonnegative, TC.nonnegative),
             (C.greater_than(2.0), TC.greater_than(2.0)), (C.greater_than_eq(2.0), TC.greater_than_eq(2.0)),
             (C.less_than(1.0), TC.less_than(1.0)), (C.unit_interval, TC.unit_interval),
             (C.interval(-1.0, 3.0), TC.interval(-1.0, 3.0)),
             (C.half_open_interval(-1.0, 3.0), TC.half_open_interval(-1.0, 3.0)),
             (C.simplex, TC.simplex), (C.real_vector, TC.real_vector), (C.lower_cholesky, TC.lower_cholesky),
             (C.positive_definite, TC.positive_definite), (C.corr_cholesky, TC.corr_cholesky),
             (C.independent(C.positive, 1), TC.independent(TC.positive, 1))]
    rng = np.random.default_rng(2)
    for cc, tc in cases:
        for reg, treg in [(D.biject_to, TD.biject_to), (D.transform_to, TD.transform_to)]:
            if reg is D.biject_to and cc in (C.lower_cholesky, C.positive_definite):
                with pytest.raises(NotImplementedError):
                    reg(cc)
                continue
            a, b = reg(cc), treg(tc)
            assert type(a).__name__ == type(b).__name__, (cc, type(a), type(b))
            shape = (2, 3, 3) if cc in (C.lower_cholesky, C.positive_definite) else (2, 6)
            x = rng.standard_normal(shape)
            y = a(c(x))
            close(y, b(r(x)), 1e-9)
            assert bool(cc.check(y).all())
    cat = D.biject_to(C.cat([C.positive, C.real], 0, [1, 2]))
    assert isinstance(cat, D.CatTransform)
    assert isinstance(D.transform_to(C.stack([C.positive, C.unit_interval], 1)), D.StackTransform)
    with pytest.raises(NotImplementedError):
        D.biject_to(C.boolean)

    class MyPositive(type(C.positive)):
        pass
    D.biject_to.register(MyPositive, lambda con: D.SoftplusTransform())
    assert isinstance(D.biject_to(MyPositive(0.0)), D.SoftplusTransform)


def test_utils_against_torch():
    from torch.distributions import utils as tu
    for n, diag in [(6, 0), (3, -1), (8, 1), (0, 0)]:
        v = np.arange(1.0, n + 1, dtype=np.float32).reshape(1, n).repeat(2, 0)
        m = D.utils.vec_to_tril_matrix(ct.tensor(v), diag)
        close(m, tu.vec_to_tril_matrix(torch.tensor(v), diag), 0)
        close(D.utils.tril_matrix_to_vec(m, diag), v, 0)
    with pytest.raises(ValueError):
        D.utils.vec_to_tril_matrix(ct.ones(3), 1)
    p = np.float32([0.0, 0.3, 1.0])
    close(D.utils.clamp_probs(ct.tensor(p)), tu.clamp_probs(torch.tensor(p)), 0)
    close(D.utils.probs_to_logits(ct.tensor(p), True), tu.probs_to_logits(torch.tensor(p), True), 1e-6)


@pytest.mark.fp64
def test_transformed_shapes_against_torch():
    # event shapes through shape-changing transforms, and log_prob through their Jacobians
    cases = [lambda M, t: M.TransformedDistribution(M.Normal(t(np.zeros(3)), t(np.ones(3))),
                                                    [M.StickBreakingTransform()]),
             lambda M, t: M.TransformedDistribution(M.Normal(t(np.zeros(3)), t(np.ones(3))),
                                                    [M.CorrCholeskyTransform()]),
             lambda M, t: M.TransformedDistribution(M.Normal(t(np.zeros((2, 6))), t(np.ones((2, 6)))),
                                                    [M.ReshapeTransform((6,), (2, 3)), M.ExpTransform()]),
             lambda M, t: M.TransformedDistribution(M.Normal(t(np.zeros(3)), t(np.ones(3))), M.ComposeTransform(
                 [M.StickBreakingTransform(), M.AffineTransform(0.0, 2.0)]))]
    for mk in cases:
        a, b = mk(D, c), mk(TD, r)
        assert (tuple(a.batch_shape), tuple(a.event_shape)) == (tuple(b.batch_shape), tuple(b.event_shape))
        assert repr(a.support) == repr(b.support)
        x = b.sample((2,))
        close(a.log_prob(c(x.numpy())), b.log_prob(x), 1e-12)
        e = a.expand((3,) + tuple(a.batch_shape))
        assert tuple(e.sample().shape) == (3,) + tuple(a.batch_shape) + tuple(a.event_shape)


def test_logistic_normal_on_the_simplex():
    ct.manual_seed(3)
    d = D.LogisticNormal(ct.tensor([0.3, -1.0]), ct.tensor([1.0, 0.5]))
    x = d.rsample((100,))
    assert tuple(x.shape) == (100, 3) and bool(D.constraints.simplex.check(x).all())
    dt = TD.LogisticNormal(torch.tensor([0.3, -1.0]), torch.tensor([1.0, 0.5]))
    close(d.log_prob(x), dt.log_prob(torch.tensor(host(x))), 2e-4)
