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
    """rho(k) = 0.8^k. With 20 chains x 4000 steps Bartlett's formula gives sd(rho-hat(k))
    from 0.002 (k = 1) to 0.006 (k = 5), plus a bias of about -tau/n = -0.002 from
    centring each chain on its own mean: atol 0.02 is at least 3 sd (false-alarm rate
    below 1e-3 per lag). ESS, tau and standard errors are tested against closed forms
    and ArviZ in tests/test_stats_mcmc.py."""
    x = ar1(0.8, 4000, 20, 0)
    rho = stats.autocorrelation(x, max_lag=5)
    np.testing.assert_allclose(rho, 0.8 ** np.arange(6), atol=0.02)


def test_tv_test_accepts_exact_draws_and_rejects_shift():
    """Exact draws pass (false-alarm rate 1 %, the test's level). A shift of 0.1 sd with
    n = 20000 on these 101 cells is rejected with power 1.000 (tv_power, 2000 repeats:
    2000/2000; a shift of 0.05 has power 0.745)."""
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
    # level 0.1 on 100 trials with a 500-draw bootstrap threshold (coverage sd 0.013):
    # mean 10, sd 3.4; accepting 1..25 gives a false-alarm rate of about 1e-3
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
