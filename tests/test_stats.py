import math

import numpy as np
import pytest

import lib
from lib import stats


def ar1(rho, n_steps, n_chains, seed):
    rng = np.random.default_rng(seed)
    x = np.empty((n_steps, n_chains))
    x[0] = rng.standard_normal(n_chains)
    innovations = rng.standard_normal((n_steps, n_chains)) * math.sqrt(1 - rho**2)
    for k in range(1, n_steps):
        x[k] = rho * x[k - 1] + innovations[k]
    return x


def test_cells_and_histogram():
    grid = np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(stats.cell_edges(grid), [-0.5, 0.5, 1.5, 2.5])
    np.testing.assert_allclose(stats.histogram_density([0.1, 0.9, 1.2, 5.0], grid), [0.25, 0.5, 0.0])


def test_autocorrelation_of_ar1():
    x = ar1(0.8, 4000, 20, 0)
    rho = stats.autocorrelation(x, max_lag=5)
    np.testing.assert_allclose(rho, 0.8 ** np.arange(6), atol=0.02)


def test_ess_of_ar1_matches_theory():
    """For AR(1) with coefficient rho the integrated autocorrelation time is (1 + rho)/(1 - rho)."""
    rho = 0.9
    x = ar1(rho, 5000, 8, 1)
    tau_exact = (1 + rho) / (1 - rho)
    tau = stats.integrated_autocorrelation_time(x)
    assert tau == pytest.approx(tau_exact, rel=0.15)
    assert stats.effective_sample_size(x) == pytest.approx(x.size / tau)
    # negative control: ignoring the correlation (tau = 1) is far off
    assert abs(tau - 1) > 0.5 * tau_exact


def test_standard_error_is_calibrated():
    """Over many replicates, |mean| <= 2 SE should hold about 95% of the time for AR(1) data."""
    hits = 0
    reps = 200
    for seed in range(reps):
        x = ar1(0.7, 1000, 1, 100 + seed)[:, 0]
        est = stats.mean_with_error(x)
        hits += abs(est.mean) <= 2 * est.standard_error
    # binomial(200, 0.954): mean 191, sd 3; accept 177..200 (4.5 sd)
    assert hits >= 177
    # the naive iid standard error would be too small by sqrt(tau) = sqrt(17/3)
    x = ar1(0.7, 20000, 1, 7)[:, 0]
    naive = x.std(ddof=1) / math.sqrt(x.size)
    assert stats.standard_error(x) / naive == pytest.approx(math.sqrt(1.7 / 0.3), rel=0.2)


def test_tv_test_accepts_exact_draws_and_rejects_shift():
    grid = np.linspace(-5, 5, 101)
    p = np.exp(-grid**2 / 2) / math.sqrt(2 * math.pi)
    rng = np.random.default_rng(3)
    ok = stats.tv_test(rng.standard_normal(20_000), p, grid)
    assert ok.passed and ok.distance < ok.threshold
    assert ok.expected < ok.threshold
    bad = stats.tv_test(rng.standard_normal(20_000) + 0.1, p, grid)
    assert not bad.passed


def test_tv_test_false_rejection_rate_is_about_level():
    grid = np.linspace(-4, 4, 41)
    p = np.exp(-grid**2 / 2)
    rng = np.random.default_rng(4)
    rejections = sum(
        not stats.tv_test(rng.standard_normal(2000), p, grid, level=0.1, n_bootstrap=500, rng=i).passed
        for i in range(100)
    )
    # level 0.1 on 100 trials: mean 10, sd 3 (plus discretization at the grid's tails)
    assert 1 <= rejections <= 25


def test_tv_distance_counts_mass_outside_grid():
    grid = np.linspace(0, 1, 11)
    p = np.ones(11)
    assert stats.tv_distance(np.full(100, 5.0), p, grid) == pytest.approx(1.0)


def test_stats_validation():
    with pytest.raises(ValueError, match="increasing"):
        stats.histogram_density([0.0], np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="shape"):
        stats.effective_sample_size(np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="constant"):
        stats.autocorrelation(np.ones(10))
    with pytest.raises(ValueError, match="level"):
        stats.tv_test(np.zeros(10), np.ones(3), np.arange(3.0), level=2)
