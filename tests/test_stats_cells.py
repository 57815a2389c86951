"""Cell masses by integration, the mass outside the grid, and power helpers (issue 10)."""

import math

import numpy as np
import pytest
from scipy import stats as sps
from scipy.special import ndtr

from lib import stats


def gauss(x):
    return np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)


def binomial_bounds(n, p, alpha=1e-3):
    """Two-sided acceptance region of Binomial(n, p) with false-alarm rate <= alpha."""
    return sps.binom.ppf(alpha / 2, n, p), sps.binom.isf(alpha / 2, n, p)


# ------------------------------------------------------------------ cell masses

def test_cell_masses_of_a_callable_are_exact_integrals():
    grid = np.linspace(-2, 3, 21)
    edges = stats.cell_edges(grid)
    exact = np.diff(ndtr(edges))
    q = stats.cell_masses(gauss, grid)
    np.testing.assert_allclose(q, exact, rtol=1e-12, atol=1e-15)
    below, above = stats.outside_masses(gauss, grid)
    assert below == pytest.approx(ndtr(edges[0]), rel=1e-9)
    assert above == pytest.approx(ndtr(-edges[-1]), rel=1e-9)
    assert below + q.sum() + above == pytest.approx(1.0, abs=1e-14)
    # an unnormalised density gives the same masses
    np.testing.assert_allclose(stats.cell_masses(lambda x: 7.0 * gauss(x), grid), q, rtol=1e-12)


def test_old_grid_value_rule_has_the_documented_error():
    """Values on the grid: midpoint rule, relative error about w^2 p''/(24 p) per cell,
    renormalised over the grid (so the tails' mass is lost)."""
    grid = np.linspace(-4, 4, 33)             # w = 0.25
    w = 0.25
    exact = np.diff(ndtr(stats.cell_edges(grid)))
    old = stats.cell_masses(gauss(grid), grid)
    assert old.sum() == pytest.approx(1.0)
    assert stats.outside_masses(gauss(grid), grid) == (0.0, 0.0)
    # leading order: midpoint = exact (1 - w^2 (x^2 - 1) / 24) up to the normalisation
    predicted = exact * (1 - w**2 * (grid**2 - 1) / 24)
    predicted /= predicted.sum()
    rel_error = old / exact - 1
    assert np.max(np.abs(rel_error)) > 1e-2       # the old rule is visibly off in the tails
    np.testing.assert_allclose(old, predicted, rtol=3e-3)
    assert np.max(np.abs(stats.cell_masses(gauss, grid) / exact - 1)) < 1e-10


def test_quadrature_nodes_and_a_heavy_tail():
    """Cauchy density: 16 % of the mass lies outside [-6, 6]; tails by adaptive quadrature."""
    cauchy = lambda x: 1 / (math.pi * (1 + x**2))   # noqa: E731
    grid = np.linspace(-5.75, 5.75, 24)           # cells cover [-6, 6]
    below, above = stats.outside_masses(cauchy, grid)
    assert below == pytest.approx(0.5 - math.atan(6) / math.pi, rel=1e-8)
    assert above == pytest.approx(below, rel=1e-10)
    q1 = stats.cell_masses(cauchy, grid, nodes=1)     # midpoint rule, with tails
    q8 = stats.cell_masses(cauchy, grid)
    exact = np.diff(np.arctan(stats.cell_edges(grid))) / math.pi
    np.testing.assert_allclose(q8, exact, rtol=1e-10)
    assert np.max(np.abs(q1 / exact - 1)) > 1e-3


def test_tv_test_counts_the_mass_outside_the_grid():
    """A grid covering only [-2, 2] (4.6 % of N(0,1) outside). With the density as a
    callable the outside cells are part of the null, so exact draws pass (false-alarm rate
    1 %); with values on the grid the outside mass counts fully against the sampler
    (TV >= 0.023 against a null 99 % point near 0.01): rejected."""
    grid = np.linspace(-1.9, 1.9, 20)
    x = np.random.default_rng(1).standard_normal(20000)
    good = stats.tv_test(x, gauss, grid)
    assert good.passed and 0 < good.p_value <= 1
    assert not stats.tv_test(x, gauss(grid), grid).passed
    # the distance is over m + 2 cells
    q = np.concatenate([[stats.outside_masses(gauss, grid)[0]], stats.cell_masses(gauss, grid),
                        [stats.outside_masses(gauss, grid)[1]]])
    counts = np.array([np.sum(x < -2)] + list(np.histogram(x, stats.cell_edges(grid))[0])
                      + [np.sum(x > 2)])
    assert good.distance == pytest.approx(0.5 * np.abs(counts / x.size - q).sum())
    assert stats.tv_distance(x, gauss, grid) == pytest.approx(good.distance)


def test_tv_test_false_alarm_rate_with_a_callable_density():
    """Exact draws, 150 repeats at level 0.1. The threshold is itself a bootstrap quantile
    (1000 draws: its coverage has sd 0.0095), so rejections have mean 15 and variance
    150 * 0.09 + 150**2 * 0.0095**2 = 15.5 (sd 3.9); accepting 2..28 (3.3 sd) gives this
    check a false-alarm rate of about 1e-3. A test that ignored the outside mass
    (4 % here) would reject almost always."""
    grid = np.linspace(-1.9, 1.9, 20)

    def run(gen):
        return stats.tv_test(gen.standard_normal(1000), gauss, grid, level=0.1,
                             n_bootstrap=1000, rng=gen)

    rate = stats.rejection_rate(run, n_repeats=150, rng=2)
    assert 2 <= rate.n_rejected <= 28, rate


def test_tv_validation():
    grid = np.linspace(0, 1, 5)
    with pytest.raises(ValueError, match="NaN"):
        stats.tv_test(np.array([0.5, np.nan]), np.ones(5), grid)
    with pytest.raises(ValueError, match="same shape"):
        stats.cell_masses(lambda x: 1.0, grid)
    with pytest.raises(ValueError, match="non-negative"):
        stats.cell_masses(lambda x: -np.ones_like(x), grid)
    with pytest.raises(ValueError, match="nodes"):
        stats.cell_masses(gauss, grid, nodes=0)
    with pytest.raises(ValueError, match="integrable"):
        stats.outside_masses(lambda x: np.ones_like(x), grid)
    with pytest.raises(ValueError, match="grid's shape"):
        stats.cell_masses(np.ones(4), grid)


# ------------------------------------------------------------------ power


def test_z_test_power_closed_form_and_simulation():
    assert stats.z_test_level(4.0) == pytest.approx(6.334e-5, rel=1e-3)
    assert stats.z_test_power(0.0, z=4.0) == pytest.approx(stats.z_test_level(4.0))
    assert stats.z_test_power(4.0) == pytest.approx(0.5, abs=1e-4)
    np.testing.assert_allclose(stats.z_test_power(np.array([-6.0, 6.0])), 0.977, atol=1e-3)
    # simulation of normal estimates shifted by 1.5 SE, z = 2: power 0.3087; 4000 repeats
    # give SE 0.0073; 4 sd tolerance (false-alarm rate 6e-5).
    exact = stats.z_test_power(1.5, z=2.0)
    assert exact == pytest.approx(ndtr(-0.5) + ndtr(-3.5))
    rate = stats.rejection_rate(lambda g: bool(abs(g.normal(1.5)) > 2.0), n_repeats=4000, rng=3)
    assert rate.rate == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / 4000))
    with pytest.raises(ValueError, match="z must be positive"):
        stats.z_test_power(1.0, z=0)


def test_rejection_rate_semantics():
    class Result:
        def __init__(self, passed):
            self.passed = passed

    assert stats.rejection_rate(lambda g: Result(False), n_repeats=5).rate == 1.0
    assert stats.rejection_rate(lambda g: Result(True), n_repeats=5).rate == 0.0
    assert stats.rejection_rate(lambda g: True, n_repeats=5).n_rejected == 5   # bool = rejected
    r1 = stats.rejection_rate(lambda g: bool(g.random() < 0.3), n_repeats=50, rng=4)
    r2 = stats.rejection_rate(lambda g: bool(g.random() < 0.3), n_repeats=50, rng=4)
    assert r1 == r2 and r1.standard_error == pytest.approx(math.sqrt(r1.rate * (1 - r1.rate) / 50))
    lo, hi = r1.bounds()
    assert lo < r1.rate < hi
    assert stats.rejection_rate(lambda g: False, n_repeats=10).bounds() == (
        0.0, pytest.approx(1 - 0.025 ** 0.1))
    with pytest.raises(ValueError, match="passed"):
        stats.rejection_rate(lambda g: 0.5, n_repeats=2)
    with pytest.raises(ValueError, match="n_repeats"):
        stats.rejection_rate(lambda g: True, n_repeats=0)


def test_tv_power_is_the_level_under_the_null_and_matches_tv_test():
    """tv_power(density, density) is the false-alarm rate: Binomial(2000, ~0.05), with the
    bootstrap threshold's own spread (sd 0.005 in its coverage): 4 sd of the sum,
    +-0.028 (false-alarm rate 6e-5). Against N(0.1, 1) at n = 2000 it must agree with the
    rejection rate of tv_test itself on iid samples (difference within 4 sd)."""
    grid = np.linspace(-3, 3, 31)
    null = stats.tv_power(gauss, gauss, grid, n_eff=2000, level=0.05, n_repeats=2000, rng=5)
    assert null.rate == pytest.approx(0.05, abs=0.028)
    shifted = lambda x: gauss(x - 0.1)   # noqa: E731
    power = stats.tv_power(gauss, shifted, grid, n_eff=2000, level=0.05, n_repeats=1000, rng=6)
    direct = stats.rejection_rate(
        lambda g: stats.tv_test(g.standard_normal(2000) + 0.1, gauss, grid, level=0.05,
                                n_bootstrap=1000, rng=g),
        n_repeats=150, rng=7)
    sd = math.sqrt(power.standard_error**2 + direct.standard_error**2 + 2 * 0.005**2)
    assert abs(power.rate - direct.rate) <= 4 * sd, (power, direct)
    assert 0.2 < power.rate < 0.95   # a real power, neither the level nor 1
    with pytest.raises(ValueError, match="n_eff"):
        stats.tv_power(gauss, gauss, grid, n_eff=0)
