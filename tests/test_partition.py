"""Unit tests of lib.partition: estimators of the normalizer Z and their error formulas."""

import math

import numpy as np
import pytest
import sympy as sp

import lib.partition as P


def gauss_score(y):
    return -0.5 * np.einsum("ij,ij->i", y, y)


def test_grid_normalizer_gaussian_and_quartic():
    for d in (1, 2, 3):
        est = P.grid_normalizer(gauss_score, d, m=12, half_width=6.0)
        assert est.n_points == 12**d
        assert est.spacing == pytest.approx(1.0)
        assert est.relative_error((2 * math.pi) ** (d / 2)) < 1e-6
    quartic = P.grid_normalizer(lambda y: -y[:, 0] ** 4, 1, m=400, half_width=4.0)
    assert quartic.value == pytest.approx(2 * math.gamma(1.25), rel=1e-10)


def test_grid_normalizer_chunking_and_large_scores():
    A = np.array([[1.0, 0.3], [0.3, 1.0]])
    score = lambda y: -0.5 * np.einsum("ij,jk,ik->i", y, A, y)
    whole = P.grid_normalizer(score, 2, m=40, half_width=8.0)
    chunked = P.grid_normalizer(score, 2, m=40, half_width=8.0, chunk=7)
    assert chunked.value == pytest.approx(whole.value, rel=1e-12)
    assert whole.value == pytest.approx(2 * math.pi / math.sqrt(np.linalg.det(A)), rel=1e-8)
    # a score shifted by +800 would overflow exp(); the log-sum-exp does not
    shifted = P.grid_normalizer(lambda y: gauss_score(y) + 800.0, 1, m=12, half_width=6.0)
    assert shifted.value == math.inf
    assert shifted.log_value == pytest.approx(800 + 0.5 * math.log(2 * math.pi), rel=1e-9)


def test_monte_carlo_estimators_agree_within_their_errors():
    for d in (1, 3, 5):
        Z = (2 * math.pi) ** (d / 2)
        Z_box = (math.sqrt(2 * math.pi) * math.erf(5 / math.sqrt(2))) ** d
        u = P.monte_carlo_normalizer(gauss_score, d, n=40_000, half_width=5.0, rng=d)
        i = P.importance_normalizer(gauss_score, d, n=40_000, scale=1.5, rng=d)
        assert abs(u.z_score(Z_box)) <= 4 and u.agrees_with(Z_box)
        assert abs(i.z_score(Z)) <= 4
        # negative control: a missing factor 2 pi per axis is rejected
        assert not i.agrees_with(Z / 2)
        assert u.relative_standard_error == pytest.approx(u.standard_error / u.value)


def test_sample_relative_variance_matches_theory_when_small():
    d, n = 3, 200_000
    i = P.importance_normalizer(gauss_score, d, n=n, scale=1.5, rng=7)
    u = P.monte_carlo_normalizer(gauss_score, d, n=n, half_width=5.0, rng=7)
    # these relative variances have finite fourth moments; 10% is many standard errors of the
    # sample variance at n = 2e5 (its relative error is about sqrt(kurtosis / n) < 2%)
    assert i.relative_variance == pytest.approx(P.gaussian_is_relative_variance(d, 1.5), rel=0.1)
    assert u.relative_variance == pytest.approx(P.uniform_mc_relative_variance(d, 5.0), rel=0.1)


def test_importance_sampling_with_shifted_mean():
    # target centred at 2: a proposal centred there is exact (zero variance at s = 1)
    score = lambda y: -0.5 * np.sum((y - 2.0) ** 2, axis=1)
    est = P.importance_normalizer(score, 2, n=100, scale=1.0, mean=2.0, rng=0)
    assert est.value == pytest.approx(2 * math.pi, rel=1e-12)
    assert est.relative_variance < 1e-20


def test_relative_variance_formulas():
    s = sp.Symbol("s", positive=True)
    y = sp.Symbol("y", real=True)
    # symbolic one-axis factor at s = 3/2, against the closed form
    p = sp.exp(-y**2 / 2) / sp.sqrt(2 * sp.pi)
    q = sp.exp(-y**2 / (2 * s**2)) / sp.sqrt(2 * sp.pi * s**2)
    factor = sp.integrate((p**2 / q).subs(s, sp.Rational(3, 2)), (y, -sp.oo, sp.oo))
    assert float(factor) ** 4 - 1 == pytest.approx(P.gaussian_is_relative_variance(4, 1.5), rel=1e-12)
    assert P.gaussian_is_relative_variance(3, 1.0) == 0.0
    assert P.gaussian_is_relative_variance(2, 0.7) == math.inf        # s^2 = 0.49 < 1/2
    R = 5.0
    approx = (R / math.sqrt(math.pi)) ** 2 - 1
    assert P.uniform_mc_relative_variance(2, R) == pytest.approx(approx, rel=1e-5)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: P.grid_normalizer(gauss_score, 0, m=3, half_width=1.0), "dim"),
        (lambda: P.grid_normalizer(gauss_score, 2, m=0, half_width=1.0), "m"),
        (lambda: P.grid_normalizer(gauss_score, 2, m=3, half_width=-1.0), "half_width"),
        (lambda: P.grid_normalizer("not callable", 2, m=3, half_width=1.0), "log_weight"),
        (lambda: P.monte_carlo_normalizer(gauss_score, 2, n=1, half_width=1.0), "n"),
        (lambda: P.importance_normalizer(gauss_score, 2, n=10, scale=0.0), "scale"),
        (lambda: P.importance_normalizer(gauss_score, 2, n=10, scale=1.0, mean=np.inf), "mean"),
        (lambda: P.gaussian_is_relative_variance(2.5, 1.0), "dim"),
        (lambda: P.uniform_mc_relative_variance(2, float("nan")), "half_width"),
        (lambda: P.grid_normalizer(lambda y: np.full(len(y), np.nan), 1, m=3, half_width=1.0), "log_weight"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
