"""lib.stats.covariance_wald_test: calibration and power by simulation, the delta-method error
of the Frobenius distance, and validation."""

import math

import numpy as np
import pytest
import scipy.stats

from lib import stats

S_TRUE = np.array([[1.0, 0.3], [0.3, 0.5]])


def draws(gen, n, S=S_TRUE, kind="normal"):
    L = np.linalg.cholesky(S)
    if kind == "normal":
        z = gen.standard_normal((n, S.shape[0]))
    else:                                   # uniform: light tails, not Gaussian, unit variance
        z = gen.uniform(-math.sqrt(3), math.sqrt(3), (n, S.shape[0]))
    return z @ L.T


def test_statistic_by_hand_and_estimate():
    gen = np.random.default_rng(0)
    u = draws(gen, 500)
    res = stats.covariance_wald_test(u, S_TRUE, level=0.01)
    w = np.stack([u[:, 0] ** 2, u[:, 0] * u[:, 1], u[:, 1] ** 2], axis=1)
    delta = w.mean(axis=0) - [1.0, 0.3, 0.5]
    V = np.cov(w, rowvar=False)
    assert math.isclose(res.statistic, 500 * delta @ np.linalg.solve(V, delta), rel_tol=1e-12)
    assert res.df == 3 and res.n == 500
    assert math.isclose(res.threshold, scipy.stats.chi2.isf(0.01, 3))
    assert np.allclose(res.estimate, u.T @ u / 500) and np.allclose(res.estimate, res.estimate.T)
    assert res.passed == (res.statistic <= res.threshold)
    one = stats.covariance_wald_test(u[:, 0], [[1.0]], level=0.01)            # d = 1: df = 1
    assert one.df == 1 and math.isclose(one.statistic, ((w[:, 0].mean() - 1) / w[:, 0].std(ddof=1)) ** 2 * 500)


@pytest.mark.parametrize("kind", ["normal", "uniform"])
def test_false_alarm_rate_is_the_level(kind):
    # 2000 repeats at level 0.05: the rejection count is Binomial(2000, 0.05) if calibrated;
    # accept within 4.5 binomial standard deviations (false-alarm rate of this test 7e-6)
    gen = np.random.default_rng(1 if kind == "normal" else 2)
    rejected = sum(not stats.covariance_wald_test(draws(gen, 2000, kind=kind), S_TRUE, level=0.05).passed
                   for _ in range(2000))
    assert abs(rejected - 100) <= 4.5 * math.sqrt(2000 * 0.05 * 0.95), rejected


def noncentrality(res, null, alt, n):
    d = (alt - null)[np.triu_indices(null.shape[0])]
    return n * d @ np.linalg.solve(res.moments_cov, d)


def test_power_formula_matches_simulation():
    # truth: a covariance 5% larger than the tested one; the predicted power at n draws (V from a
    # large sample of the truth) against the rejection rate over 1000 repeats
    gen = np.random.default_rng(3)
    alt = 1.05 * S_TRUE
    n, level, repeats = 3000, 0.01, 1000
    big = stats.covariance_wald_test(draws(gen, 200_000, alt), S_TRUE, level=level)
    power_n = scipy.stats.ncx2.sf(big.threshold, 3, noncentrality(big, S_TRUE, alt, n))
    assert 0.2 < power_n < 0.9                        # a middle power: the formula is really tested
    rejected = sum(not stats.covariance_wald_test(draws(gen, n, alt), S_TRUE, level=level).passed
                   for _ in range(repeats))
    assert abs(rejected / repeats - power_n) <= 4.5 * math.sqrt(power_n * (1 - power_n) / repeats)
    # the method is the same formula for the sample it holds; no shift: power = level
    assert math.isclose(big.power(S_TRUE, alt),
                        scipy.stats.ncx2.sf(big.threshold, 3, noncentrality(big, S_TRUE, alt, big.n)))
    assert big.power(S_TRUE, S_TRUE) == pytest.approx(level)


def test_frobenius_error_and_its_standard_error():
    gen = np.random.default_rng(4)
    ref = 1.2 * S_TRUE
    values, ses = [], []
    for _ in range(800):
        res = stats.covariance_wald_test(draws(gen, 1000), ref, level=0.01)
        v, se = res.frobenius_error(ref)
        values.append(v)
        ses.append(se)
    truth = np.linalg.norm(S_TRUE - ref) / np.linalg.norm(ref)
    assert abs(np.mean(values) - truth) < 4 * np.std(values) / math.sqrt(800)
    assert np.median(ses) == pytest.approx(np.std(values), rel=0.1)      # the delta method


@pytest.mark.parametrize("u, candidate, message", [
    (np.zeros((3, 2)), S_TRUE, "more than"),
    (np.full((50, 2), np.nan), S_TRUE, "finite"),
    (np.zeros((50, 2, 1)), S_TRUE, "shape"),
    (np.ones((50, 2)), np.eye(3), "candidate"),
    (np.ones((50, 2)), np.array([[1.0, 0.2], [0.0, 1.0]]), "symmetric"),
])
def test_validation(u, candidate, message):
    with pytest.raises(ValueError, match=message):
        stats.covariance_wald_test(u, candidate)
    with pytest.raises(ValueError, match="level"):
        stats.covariance_wald_test(np.random.default_rng(0).standard_normal((50, 2)), S_TRUE, level=1.5)


# ---------------------------------------------------------------------------- weighted_slope


def test_weighted_slope_by_hand_and_calibration():
    x = np.log([0.4, 0.2, 0.1, 0.05])
    se = np.array([0.05, 0.03, 0.02, 0.04])
    y = 0.3 + 2.0 * x
    slope, slope_se = stats.weighted_slope(x, y, se)
    assert slope == pytest.approx(2.0)
    w = se**-2.0
    xbar = np.sum(w * x) / np.sum(w)
    assert slope_se == pytest.approx(1 / math.sqrt(np.sum(w * (x - xbar) ** 2)))
    # calibration: the z-score of the fitted slope is standard normal
    gen = np.random.default_rng(5)
    z = [(stats.weighted_slope(x, y + se * gen.standard_normal(4), se)[0] - 2.0) / slope_se
         for _ in range(4000)]
    assert abs(np.mean(z)) < 4.5 / math.sqrt(4000)
    assert abs(np.std(z) - 1) < 4.5 * math.sqrt(0.5 / 4000)
    # equal weights: ordinary least squares
    assert stats.weighted_slope(x, y + [0.1, -0.1, 0.0, 0.05], np.ones(4))[0] == pytest.approx(
        np.polyfit(x, y + [0.1, -0.1, 0.0, 0.05], 1)[0])


@pytest.mark.parametrize("x, y, se", [
    ([1.0], [1.0], [1.0]), ([1.0, 2.0], [1.0], [1.0, 1.0]), ([1.0, 2.0], [1.0, 2.0], [1.0, 0.0]),
    ([1.0, 1.0], [1.0, 2.0], [1.0, 1.0]), ([1.0, np.nan], [1.0, 2.0], [1.0, 1.0]),
])
def test_weighted_slope_validation(x, y, se):
    with pytest.raises(ValueError):
        stats.weighted_slope(x, y, se)
