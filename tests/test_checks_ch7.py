"""Chapter 7 (diffusion models): the exercise checkers accept right answers in several
forms, reject the typical wrong ones, and never print the answer."""

import math

import numpy as np
import pytest
import sympy as sp

import lib
from lib import checks
from lib.diffusion import VE, VP, GaussianMixture, exact_score, marginal, probability_flow

alpha, sigma, s, b, t, a = sp.symbols("alpha sigma s b t a", positive=True)
x, mu = sp.symbols("x mu", real=True)
bmin, bmax = sp.symbols("beta_min beta_max", positive=True)


def test_ex1_constant_rate_variance():
    assert checks.check("ch7-ex1", 1 - sp.exp(-b * t)).passed
    assert checks.check("ch7-ex1", "1 - exp(-t*b)").passed
    assert checks.check("ch7-ex1", (sp.exp(b * t) - 1) * sp.exp(-b * t)).passed
    assert not checks.check("ch7-ex1", sp.exp(-b * t)).passed             # alpha^2
    assert not checks.check("ch7-ex1", 1 - sp.exp(-b * t / 2)).passed      # alpha, not alpha^2
    assert not checks.check("ch7-ex1", b * t).passed


def test_ex1_agrees_with_lib():
    vp = VP(beta_min=3.0, beta_max=3.0)
    assert math.isclose(float(vp.sigma(0.4)) ** 2, 1 - math.exp(-1.2), rel_tol=1e-12)


def test_ex2_posterior_variance():
    right = s**2 * sigma**2 / (alpha**2 * s**2 + sigma**2)
    assert checks.check("ch7-ex2", right).passed
    assert checks.check("ch7-ex2", 1 / (1 / s**2 + alpha**2 / sigma**2)).passed
    assert checks.check("ch7-ex2", "1/(1/s**2 + alpha**2/sigma**2)").passed
    assert not checks.check("ch7-ex2", s**2 * sigma**2 / (s**2 + sigma**2)).passed
    assert not checks.check("ch7-ex2", sigma**2 / alpha**2).passed
    assert not checks.check("ch7-ex2", s**2).passed


def test_ex3_flow_map():
    right = mu + s * (x - alpha * mu) / sp.sqrt(alpha**2 * s**2 + sigma**2)
    assert checks.check("ch7-ex3", right).passed
    assert checks.check("ch7-ex3", "mu*(1 - alpha*s/sqrt(alpha**2*s**2+sigma**2))"
                                   " + s*x/sqrt(alpha**2*s**2+sigma**2)").passed
    posterior_mean = mu + alpha * s**2 * (x - alpha * mu) / (alpha**2 * s**2 + sigma**2)
    wrong = checks.check("ch7-ex3", posterior_mean)
    assert not wrong.passed and "posterior mean" in wrong.message
    assert not checks.check("ch7-ex3", x / alpha).passed


def test_ex3_agrees_with_the_sampler():
    """The registered map, composed to t_min, is what probability_flow computes."""
    vp = VP()
    gauss = GaussianMixture([1.0], [0.7], [0.4])
    p1, pm = marginal(gauss, vp, 1.0), marginal(gauss, vp, 1e-3)
    xs = np.linspace(-2, 2, 5)
    to_zero = 0.7 + 0.4 * (xs - p1.means[0, 0]) / p1.stds[0]
    to_tmin = pm.means[0, 0] + (to_zero - 0.7) * pm.stds[0] / 0.4
    got = probability_flow(exact_score(gauss, vp), vp, xs, n_steps=400)
    assert np.max(np.abs(got - to_tmin)) < 1e-4


def test_ex4_unweighted_floor():
    right = alpha**2 * s**2 / (sigma**2 * (alpha**2 * s**2 + sigma**2))
    assert checks.check("ch7-ex4", right).passed
    assert checks.check("ch7-ex4", 1 / sigma**2 - 1 / (alpha**2 * s**2 + sigma**2)).passed
    weighted = checks.check("ch7-ex4", alpha**2 * s**2 / (alpha**2 * s**2 + sigma**2))
    assert not weighted.passed and "weight" in weighted.message
    assert not checks.check("ch7-ex4", 1 / sigma**2).passed


def test_ex5_two_point_denoiser():
    assert checks.check("ch7-ex5", a * sp.tanh(a * x / sigma**2)).passed
    assert checks.check("ch7-ex5", "a*(exp(2*a*x/sigma**2) - 1)/(exp(2*a*x/sigma**2) + 1)").passed
    assert not checks.check("ch7-ex5", a * sp.tanh(a * x / (2 * sigma**2))).passed
    assert not checks.check("ch7-ex5", sp.tanh(a * x / sigma**2)).passed
    assert not checks.check("ch7-ex5", x).passed


def test_ex5_agrees_with_lib():
    ve = VE()
    two = GaussianMixture([1, 1], [-0.8, 0.8], [1e-7, 1e-7])
    xs = np.linspace(-1.5, 1.5, 7)
    k = float(ve.sigma(0.4))
    got = lib.diffusion.tweedie_denoiser(exact_score(two, ve), ve)(xs, 0.4)
    assert np.allclose(got, 0.8 * np.tanh(0.8 * xs / k**2), atol=1e-9)


def test_ex6_ddpm_constant():
    right = (bmax - bmin) / 2 + (bmax**2 + bmax * bmin + bmin**2) / 6
    assert checks.check("ch7-ex6", right).passed
    assert checks.check("ch7-ex6", "(bmax**3 - bmin**3)/(6*(bmax - bmin)) + (bmax - bmin)/2"
                        .replace("bmax", "beta_max").replace("bmin", "beta_min")).passed
    only_second = checks.check("ch7-ex6", (bmax**2 + bmax * bmin + bmin**2) / 6)
    assert not only_second.passed and "Riemann" in only_second.message
    assert not checks.check("ch7-ex6", (bmax - bmin) / 2).passed


def test_ex6_matches_the_product():
    """N (log alpha_bar_N + B(1)) -> -c, computed directly."""
    vp = VP()
    N = 200_000
    k = np.arange(1, N + 1)
    gap = np.sum(np.log1p(-vp.beta(k / N) / N)) + 10.05
    c = float(((bmax - bmin) / 2 + (bmax**2 + bmax * bmin + bmin**2) / 6).subs({bmin: 0.1,
                                                                              bmax: 20.0}))
    assert abs(N * gap + c) < 2e-3 * c


@pytest.mark.parametrize("label", [f"ch7-ex{k}" for k in range(1, 7)])
def test_garbage_is_rejected_without_revealing_the_answer(label):
    result = checks.check(label, "not an answer")
    assert not result.passed
    for secret in ("tanh", "sqrt", "exp(", "beta_max**2"):
        assert secret not in checks.check(label, sp.Integer(7)).message


def test_ex6_asks_for_an_expression_not_a_number():
    for plain in (76.95, "76.95", 77):
        result = checks.check("ch7-ex6", plain)
        assert not result.passed and "expression" in result.message
        assert "wrong way" not in result.message


def test_ex1_threshold_for_b():
    assert checks.check("ch7-ex1", 2 * np.log(1000)).passed
    assert checks.check("ch7-ex1", "13.82").passed
    half = checks.check("ch7-ex1", np.log(1000))
    assert not half.passed and "1/2" in half.message
    small, large = checks.check("ch7-ex1", 10.0), checks.check("ch7-ex1", 20.0)
    assert not small.passed and "too small" in small.message
    assert not large.passed and "larger than needed" in large.message
    for result in (half, small, large):
        assert "13.8" not in result.message
