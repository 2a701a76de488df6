"""cltensor.distributions against torch.distributions: densities, cdf/icdf, entropies, moments, shapes,
validation messages, KL divergences, gradients of log_prob and of reparameterised draws, and moments of draws
from the library's Philox stream (fixed seeds; tolerances are 5 standard errors of the estimate)."""
import math

import numpy as np
import pytest
import torch

import cltensor as ct
from _host import host

from _distref import D, TD, c, r, close, build, _message  # noqa: F401


# name, parameters, values inside the support, methods compared
CASES = [
    ("Normal", {"loc": [0.3, -1.0, 2.0], "scale": [1.0, 0.5, 3.0]}, [0.1, -2.0, 7.0],
     "log_prob cdf icdf entropy mean mode variance stddev"),
    ("LogNormal", {"loc": [0.3, -1.0, 2.0], "scale": [1.0, 0.5, 0.3]}, [0.1, 0.5, 7.0],
     "log_prob cdf icdf entropy mean mode variance"),
    ("Uniform", {"low": [0.0, -1.0, 2.0], "high": [1.0, 0.5, 3.0]}, [0.1, 0.25, 2.5],
     "log_prob cdf icdf entropy mean variance stddev"),
    ("Exponential", {"rate": [0.5, 1.0, 3.0]}, [0.1, 2.0, 0.0], "log_prob cdf icdf entropy mean mode variance"),
    ("Laplace", {"loc": [0.3, -1.0, 2.0], "scale": [1.0, 0.5, 3.0]}, [0.1, -2.0, 7.0],
     "log_prob cdf icdf entropy mean mode variance stddev"),
    ("Cauchy", {"loc": [0.3, -1.0, 2.0], "scale": [1.0, 0.5, 3.0]}, [0.1, -2.0, 7.0],
     "log_prob cdf icdf entropy mean mode variance"),
    ("Gamma", {"concentration": [0.5, 1.0, 7.5], "rate": [1.0, 0.5, 3.0]}, [0.1, 2.0, 7.0],
     "log_prob cdf entropy mean mode variance"),
    ("Chi2", {"df": [0.5, 1.0, 7.5]}, [0.1, 2.0, 7.0], "log_prob cdf entropy mean mode variance"),
    ("Beta", {"concentration1": [0.5, 1.0, 7.5], "concentration0": [1.0, 0.5, 3.0]}, [0.1, 0.5, 0.9],
     "log_prob entropy mean variance"),
    ("StudentT", {"df": [0.5, 1.5, 7.5], "loc": [0.3, -1.0, 2.0], "scale": [1.0, 0.5, 3.0]}, [0.1, -2.0, 7.0],
     "log_prob entropy mean mode variance"),
    ("Dirichlet", {"concentration": [[0.5, 1.0, 7.5], [2.0, 2.0, 0.3]]}, [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]],
     "log_prob entropy mean mode variance"),
    ("Bernoulli", {"probs": [0.2, 0.5, 0.9]}, [0.0, 1.0, 1.0], "log_prob entropy mean mode variance"),
    ("Bernoulli", {"logits": [-2.0, 0.5, 30.0]}, [0.0, 1.0, 1.0], "log_prob entropy mean variance"),
    ("Geometric", {"probs": [0.2, 0.5, 1.0]}, [3.0, 1.0, 0.0], "log_prob mean mode variance"),
    ("Geometric", {"logits": [-2.0, 0.5, 3.0]}, [3.0, 1.0, 0.0], "log_prob entropy mean variance"),
    ("Categorical", {"probs": [[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]]}, [2, 1], "log_prob entropy mode"),
    ("Categorical", {"logits": [[-1.0, 0.3, 2.0], [0.0, 0.0, 0.0]]}, [0, 2], "log_prob entropy mode"),
    ("OneHotCategorical", {"probs": [[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]]}, [[0, 0, 1.0], [0, 1.0, 0]],
     "log_prob entropy mean mode variance"),
    ("Poisson", {"rate": [0.5, 3.0, 40.0]}, [0.0, 2.0, 37.0], "log_prob mean mode variance"),
    ("Binomial", {"total_count": 10, "probs": [0.2, 0.5, 0.9]}, [0.0, 5.0, 10.0], "log_prob mean mode variance"),
    ("Multinomial", {"total_count": 6, "probs": [[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]]},
     [[1.0, 2.0, 3.0], [3.0, 3.0, 0.0]], "log_prob mean variance"),
]


@pytest.mark.fp64
@pytest.mark.parametrize("case", CASES, ids=[f"{x[0]}-{i}" for i, x in enumerate(CASES)])
def test_values_against_torch(case):
    name, params, values, methods = case
    d, dt = build(name, params, "ct"), build(name, params, "torch")
    assert tuple(d.batch_shape) == tuple(dt.batch_shape) and tuple(d.event_shape) == tuple(dt.event_shape)
    assert repr(d) == repr(dt)
    is_cat = name == "Categorical"
    v = ct.tensor(values) if is_cat else c(values)
    vt = torch.tensor(values) if is_cat else r(values)
    for m in methods.split():
        if m in ("log_prob", "cdf"):
            close(getattr(d, m)(v), getattr(dt, m)(vt), 1e-9)
        elif m == "icdf":
            p = [0.05, 0.5, 0.93]
            close(d.icdf(c(p)), dt.icdf(r(p)), 1e-9)
        elif m == "entropy":
            close(d.entropy(), dt.entropy(), 1e-9)
        else:
            close(getattr(d, m), getattr(dt, m), 1e-9)


@pytest.mark.fp64
def test_special_functions_against_torch():
    from cltensor.distributions._ns import lgamma, digamma, erfinv
    x = np.array([1e-3, 0.3, 0.5, 1.0, 2.5, 7.0, 40.0, 300.0, -0.5, -2.7])
    close(lgamma(c(x)), torch.lgamma(r(x)), 1e-11)
    close(digamma(c(x)), torch.digamma(r(x)), 1e-11)
    y = np.array([-0.999, -0.7, -1e-4, 0.0, 0.3, 0.9, 0.999999])
    close(erfinv(c(y)), torch.erfinv(r(y)), 1e-10)      # erfinv near +-1: ~2e-11 relative (cltensor.erfinv)
    from cltensor.distributions._ns import gammainc
    a = np.array([0.1, 0.5, 1.0, 3.0, 7.5, 30.0, 200.0, 2.0, 0.7])
    x = np.array([0.05, 2.0, 1.0, 2.9, 12.0, 25.0, 210.0, 0.0, 40.0])
    import scipy.special
    close(gammainc(c(a), c(x)), scipy.special.gammainc(a, x), 1e-8)      # torch's own error here is ~1e-9
    close(gammainc(c(a), c(x)), torch.special.gammainc(r(a), r(x)), 1e-11)   # the same algorithm as torch's


@pytest.mark.fp64
@pytest.mark.parametrize("name,params,value", [
    ("Normal", {"loc": [0.3, -1.0], "scale": [1.0, 0.5]}, [0.1, -2.0]),
    ("Gamma", {"concentration": [0.5, 3.0], "rate": [1.0, 0.5]}, [0.1, 2.0]),
    ("Beta", {"concentration1": [0.5, 3.0], "concentration0": [1.5, 0.5]}, [0.1, 0.7]),
    ("StudentT", {"df": [1.5, 7.5], "loc": [0.3, -1.0], "scale": [1.0, 0.5]}, [0.1, -2.0]),
    ("Laplace", {"loc": [0.3, -1.0], "scale": [1.0, 0.5]}, [0.1, -2.0]),
    ("Dirichlet", {"concentration": [0.5, 1.0, 7.5]}, [0.2, 0.3, 0.5]),
])
def test_log_prob_and_entropy_gradients(name, params, value):
    ps = {k: c(v).requires_grad_() for k, v in params.items()}
    pt = {k: r(v).requires_grad_() for k, v in params.items()}
    d, dt = getattr(D, name)(**ps), getattr(TD, name)(**pt)
    (d.log_prob(c(value)).sum() + d.entropy().sum()).backward()
    (dt.log_prob(r(value)).sum() + dt.entropy().sum()).backward()
    for k in params:
        close(ps[k].grad, pt[k].grad, 1e-8)


@pytest.mark.fp64
def test_rsample_pathwise_gradients():
    ct.manual_seed(0)
    loc, scale = c([0.3, -1.0]).requires_grad_(), c([1.0, 0.5]).requires_grad_()
    x = D.Normal(loc, scale).rsample((5,))
    x.sum().backward()
    close(loc.grad, np.full(2, 5.0))
    close(scale.grad, ((host(x) - host(loc.detach())) / host(scale.detach())).sum(0))
    # Gamma: d x / d alpha held at the CDF value, compared with PyTorch's own function at the same draws
    alpha = c([0.3, 1.0, 2.5, 9.0, 40.0] * 4).requires_grad_()
    x = D.Gamma(alpha, c(1.0)).rsample()
    x.sum().backward()
    ref = torch._standard_gamma_grad(r(host(alpha.detach())), r(host(x.detach())))
    close(alpha.grad, ref, 2e-5)
    # every reparameterised family gives finite gradients to all its parameters
    for name, params in [("Beta", [c([0.5, 2.0]), c([1.5, 3.0])]), ("Dirichlet", [c([0.5, 2.0, 1.0])]),
                         ("StudentT", [c([2.5, 9.0]), c([0.0, 1.0]), c([1.0, 2.0])]),
                         ("Laplace", [c([0.0, 1.0]), c([1.0, 2.0])]), ("Cauchy", [c([0.0, 1.0]), c([1.0, 2.0])]),
                         ("Exponential", [c([0.5, 2.0])]), ("Uniform", [c([0.0, 1.0]), c([1.0, 3.0])])]:
        ps = [p.requires_grad_() for p in params]
        getattr(D, name)(*ps).rsample((3,)).sum().backward()
        for p in ps:
            assert np.isfinite(host(p.grad)).all(), name


def _moment_check(name, params, n=4000):
    d = build(name, params, "ct")
    x = host(d.sample((n,)))
    mean, var = host(d.mean), host(d.variance)
    # 5 standard errors: the sample mean's sd is sqrt(var / n); the sample variance's sd is about
    # var * sqrt(2 / n) (normal approximation; the kurtosis of these families is bounded for these parameters)
    np.testing.assert_array_less(np.abs(x.mean(0) - mean), 5 * np.sqrt(var / n) + 1e-12)
    np.testing.assert_array_less(np.abs(x.var(0) - var), 5 * var * np.sqrt(2.0 / n) * 3 + 1e-12)
    return x


@pytest.mark.parametrize("name,params", [
    ("Normal", {"loc": [0.3, -1.0], "scale": [1.0, 0.5]}),
    ("Exponential", {"rate": [0.5, 3.0]}),
    ("Laplace", {"loc": [0.3, -1.0], "scale": [1.0, 0.5]}),
    ("Gamma", {"concentration": [0.4, 6.0], "rate": [1.0, 0.5]}),
    ("Beta", {"concentration1": [0.5, 3.0], "concentration0": [1.5, 2.0]}),
    ("Dirichlet", {"concentration": [0.5, 2.0, 4.0]}),
    ("Poisson", {"rate": [0.5, 4.0, 60.0]}),
    ("Binomial", {"total_count": 20, "probs": [0.05, 0.5, 0.9]}),
    ("Bernoulli", {"probs": [0.1, 0.6]}),
    ("Geometric", {"probs": [0.2, 0.7]}),
    ("OneHotCategorical", {"probs": [0.2, 0.3, 0.5]}),
    ("Multinomial", {"total_count": 5, "probs": [0.2, 0.3, 0.5]}),
    ("Uniform", {"low": [0.0, -2.0], "high": [1.0, 5.0]}),
])
def test_sample_moments(name, params):
    ct.manual_seed(1234)
    params = {k: (np.asarray(v, np.float32).tolist() if isinstance(v, list) else v) for k, v in params.items()}
    mod = {k: (ct.tensor(v) if isinstance(v, list) else v) for k, v in params.items()}
    d = getattr(D, name)(**mod)
    x = host(d.sample((4000,)))
    assert x.shape == (4000,) + tuple(d.batch_shape) + tuple(d.event_shape)
    assert x.dtype == np.float32
    mean, var = host(d.mean), host(d.variance)
    np.testing.assert_array_less(np.abs(x.mean(0) - mean), 5 * np.sqrt(var / 4000) + 1e-6)
    if name in ("Poisson", "Binomial", "Bernoulli", "Geometric", "OneHotCategorical", "Multinomial"):
        assert np.all(x == np.round(x)) and np.all(x >= 0)
    assert bool(d.support.check(ct.tensor(x)).all())


def test_categorical_sampling_frequencies():
    ct.manual_seed(7)
    p = np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]])
    s = host(D.Categorical(ct.tensor(p.astype(np.float32))).sample((3000,)))
    assert s.shape == (3000, 2) and s.dtype == np.int64
    for b in range(2):
        f = np.bincount(s[:, b], minlength=3) / 3000
        np.testing.assert_array_less(np.abs(f - p[b]), 5 * np.sqrt(p[b] * (1 - p[b]) / 3000) + 1e-9)


def test_shapes_expand_and_scalars():
    d = D.Normal(0.0, 1.0)
    assert tuple(d.batch_shape) == () and repr(d) == repr(TD.Normal(0.0, 1.0))
    assert tuple(d.sample((2, 3)).shape) == (2, 3) and d.sample().dtype == ct.float32
    e = D.Normal(ct.zeros(3), ct.ones(3)).expand((4, 3))
    assert tuple(e.batch_shape) == (4, 3) and tuple(e.rsample((2,)).shape) == (2, 4, 3)
    m = D.Dirichlet(ct.ones(3)).expand((2,))
    assert tuple(m.batch_shape) == (2,) and tuple(m.sample().shape) == (2, 3)
    cat = D.Categorical(logits=ct.zeros(2, 4))
    assert tuple(cat.expand((5, 2)).sample().shape) == (5, 2)
    assert tuple(cat.enumerate_support().shape) == (4, 2)
    i = D.Independent(D.Normal(ct.zeros(2, 3), ct.ones(2, 3)), 1)
    it = TD.Independent(TD.Normal(torch.zeros(2, 3), torch.ones(2, 3)), 1)
    assert repr(i) == repr(it) and tuple(i.batch_shape) == (2,) and tuple(i.event_shape) == (3,)
    close(i.log_prob(ct.ones(2, 3)), it.log_prob(torch.ones(2, 3)), 1e-6)
    close(i.entropy(), it.entropy(), 1e-6)


def test_validation_messages_match_torch():
    assert _message(lambda: D.Normal(ct.tensor([0.0, 1.0]), ct.tensor([-1.0, 2.0]))) == _message(
        lambda: TD.Normal(torch.tensor([0.0, 1.0]), torch.tensor([-1.0, 2.0])))
    assert _message(lambda: D.Normal(ct.zeros(2), ct.ones(2)).log_prob(ct.ones(3))) == _message(
        lambda: TD.Normal(torch.zeros(2), torch.ones(2)).log_prob(torch.ones(3)))
    assert _message(lambda: D.Exponential(1.0).log_prob(ct.tensor(-1.0))) == _message(
        lambda: TD.Exponential(1.0).log_prob(torch.tensor(-1.0)))
    assert _message(lambda: D.Bernoulli(probs=ct.tensor([0.5]), logits=ct.tensor([0.0]))) == _message(
        lambda: TD.Bernoulli(probs=torch.tensor([0.5]), logits=torch.tensor([0.0])))
    assert _message(lambda: D.Dirichlet(ct.ones(3)).log_prob(ct.ones(2))) == _message(
        lambda: TD.Dirichlet(torch.ones(3)).log_prob(torch.ones(2)))
    assert _message(lambda: D.Categorical(ct.tensor([0.2, 0.8])).log_prob(ct.tensor(2))) == _message(
        lambda: TD.Categorical(torch.tensor([0.2, 0.8])).log_prob(torch.tensor(2)))
    assert _message(lambda: D.MultivariateNormal(ct.zeros(2))) == _message(
        lambda: TD.MultivariateNormal(torch.zeros(2)))
    assert _message(lambda: D.Uniform(ct.tensor([1.0, 0.0]), ct.tensor([0.0, 1.0]))) == _message(
        lambda: TD.Uniform(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])))
    assert _message(lambda: D.Uniform(1.0, 0.0)) == _message(lambda: TD.Uniform(1.0, 0.0))
    assert _message(lambda: D.Normal(0.0, -1.0)) == _message(lambda: TD.Normal(0.0, -1.0))
    # validate_args=False lets anything through
    D.Normal(ct.tensor([0.0]), ct.tensor([-1.0]), validate_args=False)


KL_PAIRS = [
    ("Normal", {"loc": [0.3, -1.0], "scale": [1.0, 0.5]}, {"loc": [1.0, 0.0], "scale": [2.0, 0.3]}),
    ("LogNormal", {"loc": [0.3, -1.0], "scale": [1.0, 0.5]}, {"loc": [1.0, 0.0], "scale": [2.0, 0.3]}),
    ("Laplace", {"loc": [0.3, -1.0], "scale": [1.0, 0.5]}, {"loc": [1.0, 0.0], "scale": [2.0, 0.3]}),
    ("Cauchy", {"loc": [0.3, -1.0], "scale": [1.0, 0.5]}, {"loc": [1.0, 0.0], "scale": [2.0, 0.3]}),
    ("Uniform", {"low": [0.0, 1.0], "high": [1.0, 2.0]}, {"low": [-1.0, 1.5], "high": [3.0, 4.0]}),
    ("Exponential", {"rate": [0.5, 2.0]}, {"rate": [1.5, 0.2]}),
    ("Gamma", {"concentration": [0.5, 2.0], "rate": [1.0, 3.0]}, {"concentration": [1.5, 0.2], "rate": [2.0, 0.5]}),
    ("Beta", {"concentration1": [0.5, 2.0], "concentration0": [1.0, 3.0]},
     {"concentration1": [1.5, 0.2], "concentration0": [2.0, 0.5]}),
    ("Dirichlet", {"concentration": [[0.5, 2.0, 1.0]]}, {"concentration": [[1.5, 0.2, 3.0]]}),
    ("Poisson", {"rate": [0.5, 2.0, 3.0]}, {"rate": [1.5, 0.2, 1.0]}),
    ("Bernoulli", {"probs": [0.3, 0.6]}, {"probs": [0.5, 0.1]}),
    ("Geometric", {"probs": [0.3, 0.6]}, {"probs": [0.5, 0.1]}),
    ("Categorical", {"probs": [[0.3, 0.6, 0.1]]}, {"probs": [[0.5, 0.1, 0.4]]}),
    ("OneHotCategorical", {"probs": [[0.3, 0.7, 0.0]]}, {"probs": [[0.5, 0.1, 0.4]]}),
]


@pytest.mark.fp64
@pytest.mark.parametrize("name,pp,qp", KL_PAIRS, ids=[x[0] for x in KL_PAIRS])
def test_kl_against_torch(name, pp, qp):
    got = D.kl_divergence(build(name, pp, "ct"), build(name, qp, "ct"))
    ref = TD.kl_divergence(build(name, pp, "torch"), build(name, qp, "torch"))
    close(got, ref, 1e-9)


@pytest.mark.fp64
def test_kl_across_families():
    for (pn, pp), (qn, qp) in [(("Exponential", {"rate": [0.5, 2.0]}),
                                ("Gamma", {"concentration": [1.5, 0.2], "rate": [2.0, 0.5]})),
                               (("Gamma", {"concentration": [1.5, 0.2], "rate": [2.0, 0.5]}),
                                ("Exponential", {"rate": [0.5, 2.0]})),
                               (("Uniform", {"low": [0.0, -1.0], "high": [1.0, 3.0]}),
                                ("Normal", {"loc": [0.3, 2.0], "scale": [1.0, 0.5]}))]:
        got = D.kl_divergence(build(pn, pp, "ct"), build(qn, qp, "ct"))
        ref = TD.kl_divergence(build(pn, pp, "torch"), build(qn, qp, "torch"))
        close(got, ref, 1e-9)


def test_kl_poisson_zero_rate():
    # KL(Poisson(0) || Poisson(q)) = q, the limit PyTorch's formula misses (it gives 0 * log 0 = nan there)
    close(D.kl_divergence(D.Poisson(ct.tensor([0.0])), D.Poisson(ct.tensor([1.5]))), np.float32([1.5]), 1e-6)


def test_kl_registry():
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Cauchy(0.0, 1.0))

    class MyNormal(D.Normal):
        pass

    got = D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(1.0, 1.0))
    close(got, np.float32(0.5), 1e-6)

    @D.register_kl(MyNormal, D.Normal)
    def _kl(p, q):
        return ct.tensor(42.0)

    assert float(D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(1.0, 1.0))) == 42.0


def _spd(k, seed):
    a = np.random.default_rng(seed).standard_normal((k, k))
    return a @ a.T + k * np.eye(k)


@pytest.mark.fp64
@pytest.mark.parametrize("kind", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_multivariate_normal(kind):
    A = _spd(3, 0)
    mat = np.linalg.cholesky(A) if kind == "scale_tril" else A
    loc = np.array([[0.1, -0.2, 0.3], [1.0, 0.0, -1.0]])
    d = D.MultivariateNormal(c(loc), **{kind: c(mat)})
    dt = TD.MultivariateNormal(r(loc), **{kind: r(mat)})
    assert tuple(d.batch_shape) == (2,) and tuple(d.event_shape) == (3,)
    x = np.random.default_rng(1).standard_normal((4, 2, 3))
    close(d.log_prob(c(x)), dt.log_prob(r(x)), 1e-10)
    close(d.entropy(), dt.entropy(), 1e-10)
    for m in ("mean", "variance", "covariance_matrix", "precision_matrix", "scale_tril"):
        close(getattr(d, m), getattr(dt, m), 1e-10)
    B = _spd(3, 5)
    q = D.MultivariateNormal(c([0.5, 0.5, 0.5]), covariance_matrix=c(B))
    qt = TD.MultivariateNormal(r([0.5, 0.5, 0.5]), covariance_matrix=r(B))
    close(D.kl_divergence(d, q), TD.kl_divergence(dt, qt), 1e-10)
    assert tuple(d.rsample((5,)).shape) == (5, 2, 3)


@pytest.mark.fp64
def test_multivariate_normal_gradients_and_moments():
    L = c(np.linalg.cholesky(_spd(2, 3))).requires_grad_()
    loc = c([0.5, -0.5]).requires_grad_()
    Lt = r(np.linalg.cholesky(_spd(2, 3))).requires_grad_()
    loct = r([0.5, -0.5]).requires_grad_()
    x = [[0.1, 0.2], [-1.0, 3.0]]
    D.MultivariateNormal(loc, scale_tril=L).log_prob(c(x)).sum().backward()
    TD.MultivariateNormal(loct, scale_tril=Lt).log_prob(r(x)).sum().backward()
    close(L.grad, Lt.grad, 1e-9)
    close(loc.grad, loct.grad, 1e-9)
    ct.manual_seed(3)
    s = host(D.MultivariateNormal(loc.detach(), scale_tril=L.detach()).sample((4000,)))
    cov = host(L.detach()) @ host(L.detach()).T
    np.testing.assert_array_less(np.abs(s.mean(0) - [0.5, -0.5]), 5 * np.sqrt(np.diag(cov) / 4000))
    np.testing.assert_allclose(np.cov(s.T), cov, rtol=0.15)


@pytest.mark.fp64
def test_transformed_and_relaxed():
    x = [0.2, 0.5, 0.9]
    for tr_ct, tr_t in [([D.AffineTransform(0.5, 2.0), D.SigmoidTransform()],
                         [TD.AffineTransform(0.5, 2.0), TD.SigmoidTransform()]),
                        ([D.TanhTransform()], [TD.TanhTransform()]),
                        ([D.AffineTransform(0.5, -2.0), D.ExpTransform().inv, D.ExpTransform()],
                         [TD.AffineTransform(0.5, -2.0), TD.ExpTransform().inv, TD.ExpTransform()])]:
        d = D.TransformedDistribution(D.Normal(c(0.3), c(1.2)), tr_ct)
        dt = TD.TransformedDistribution(TD.Normal(r(0.3), r(1.2)), tr_t)
        close(d.log_prob(c(x)), dt.log_prob(r(x)), 1e-10)
        close(d.cdf(c(x)), dt.cdf(r(x)), 1e-10)
        close(d.icdf(c(x)), dt.icdf(r(x)), 1e-10)
    comp = D.ComposeTransform([D.AffineTransform(0.5, 2.0), D.ExpTransform()])
    compt = TD.ComposeTransform([TD.AffineTransform(0.5, 2.0), TD.ExpTransform()])
    close(comp.log_abs_det_jacobian(c(x), comp(c(x))), compt.log_abs_det_jacobian(r(x), compt(r(x))), 1e-12)
    close(comp.inv(comp(c(x))), np.array(x), 1e-12)
    rb = D.RelaxedBernoulli(c(0.7), probs=c([0.3, 0.6]))
    rbt = TD.RelaxedBernoulli(r(0.7), probs=r([0.3, 0.6]))
    close(rb.log_prob(c([0.2, 0.7])), rbt.log_prob(r([0.2, 0.7])), 1e-10)
    ro = D.RelaxedOneHotCategorical(c(0.7), logits=c([0.3, 0.6, -1.0]))
    rot = TD.RelaxedOneHotCategorical(r(0.7), logits=r([0.3, 0.6, -1.0]))
    v = [0.2, 0.7, 0.1]
    close(ro.log_prob(c(v)), rot.log_prob(r(v)), 1e-10)
    lg = c([0.3, 0.6, -1.0]).requires_grad_()
    s = D.RelaxedOneHotCategorical(c(0.5), logits=lg).rsample((4,))
    assert np.allclose(host(s.detach()).sum(-1), 1.0)
    s[:, 0].sum().backward()
    assert np.isfinite(host(lg.grad)).all()


@pytest.mark.fp64
def test_mixture_same_family():
    w, loc, sc = [0.3, 0.7], [-1.0, 2.0], [1.0, 0.5]
    m = D.MixtureSameFamily(D.Categorical(c(w)), D.Normal(c(loc), c(sc)))
    mt = TD.MixtureSameFamily(TD.Categorical(r(w)), TD.Normal(r(loc), r(sc)))
    z = [0.0, 1.0, 3.0]
    close(m.log_prob(c(z)), mt.log_prob(r(z)), 1e-10)
    close(m.cdf(c(z)), mt.cdf(r(z)), 1e-10)
    close(m.mean, mt.mean, 1e-12)
    close(m.variance, mt.variance, 1e-12)
    mv = D.MixtureSameFamily(D.Categorical(c(w)), D.Independent(D.Normal(c([[0.0, 1.0], [2.0, 3.0]]),
                                                                         c([[1.0, 1.0], [0.5, 0.5]])), 1))
    mvt = TD.MixtureSameFamily(TD.Categorical(r(w)), TD.Independent(TD.Normal(r([[0.0, 1.0], [2.0, 3.0]]),
                                                                              r([[1.0, 1.0], [0.5, 0.5]])), 1))
    close(mv.log_prob(c([[0.5, 0.5]])), mvt.log_prob(r([[0.5, 0.5]])), 1e-10)
    ct.manual_seed(5)
    s = host(m.sample((4000,)))
    mean, var = float(host(m.mean)), float(host(m.variance))
    assert abs(s.mean() - mean) < 5 * math.sqrt(var / 4000)
    assert tuple(mv.sample((3,)).shape) == (3, 2)


@pytest.mark.fp64
def test_low_rank_multivariate_normal():
    rng = np.random.default_rng(0)
    W, dg, loc = rng.standard_normal((2, 3, 2)), rng.random(3) + 0.5, rng.standard_normal(3)
    x = rng.standard_normal((4, 2, 3))
    Wc, dc, lc = c(W).requires_grad_(), c(dg).requires_grad_(), c(loc)
    Wt, dt_, lt = r(W).requires_grad_(), r(dg).requires_grad_(), r(loc)
    d, dt = D.LowRankMultivariateNormal(lc, Wc, dc), TD.LowRankMultivariateNormal(lt, Wt, dt_)
    assert repr(d) == repr(dt)
    close(d.log_prob(c(x)), dt.log_prob(r(x)), 1e-10)
    close(d.entropy(), dt.entropy(), 1e-10)
    for m in ("variance", "covariance_matrix", "precision_matrix", "scale_tril"):
        close(getattr(d, m), getattr(dt, m), 1e-10)
    d.log_prob(c(x)).sum().backward()
    dt.log_prob(r(x)).sum().backward()
    close(Wc.grad, Wt.grad, 1e-9)
    close(dc.grad, dt_.grad, 1e-9)
    assert tuple(d.rsample((5,)).shape) == (5, 2, 3)


@pytest.mark.fp64     # (float64 cases inside)
def test_constraints_against_torch():
    C, TC = D.constraints, TD.constraints
    v = [[-1.0, 0.0, 0.5, 1.0, 2.0, float("nan")], [0.2, 0.3, 0.5, 0.0, 3.0, 1.0]]
    for name, args in [("real", None), ("positive", None), ("nonnegative", None), ("unit_interval", None),
                       ("boolean", None), ("nonnegative_integer", None), ("positive_integer", None),
                       ("interval", (0.0, 1.0)), ("half_open_interval", (0.0, 1.0)), ("greater_than", (0.5,)),
                       ("greater_than_eq", (0.5,)), ("less_than", (0.5,)), ("integer_interval", (0, 2))]:
        a, b = getattr(C, name), getattr(TC, name)
        if args is not None:
            a, b = a(*args), b(*args)
        assert repr(a) == repr(b)
        close(a.check(ct.tensor(v)), b.check(torch.tensor(v)))
        assert a.is_discrete == b.is_discrete and a.event_dim == b.event_dim
    s = [[0.2, 0.3, 0.5], [0.5, 0.6, -0.1], [0.1, 0.1, 0.1]]
    close(C.simplex.check(ct.tensor(s)), TC.simplex.check(torch.tensor(s)))
    oh = [[0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.5, 0.5]]
    close(C.one_hot.check(ct.tensor(oh)), TC.one_hot.check(torch.tensor(oh)))
    close(C.independent(C.positive, 1).check(ct.tensor(s)), TC.independent(TC.positive, 1).check(torch.tensor(s)))
    m = np.array([[[2.0, 0.0], [0.5, 1.0]], [[1.0, 0.3], [0.0, 1.0]], [[-1.0, 0.0], [0.2, 1.0]]])
    for name in ("lower_cholesky", "lower_triangular", "symmetric", "positive_definite"):
        close(getattr(C, name).check(ct.tensor(m)), getattr(TC, name).check(torch.tensor(m)))
    pd = np.array([[[2.0, 0.5], [0.5, 1.0]], [[1.0, 2.0], [2.0, 1.0]]])
    close(C.positive_definite.check(ct.tensor(pd)), TC.positive_definite.check(torch.tensor(pd)))
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    with pytest.raises(ValueError):
        C.dependent.check(ct.zeros(1))
