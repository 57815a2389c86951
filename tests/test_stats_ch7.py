"""lib.stats.weight_test and weight_test_power, the mode-weight test of chapter 7.

Pearson's chi-square test of category counts against weights, with the inflation for
weights that a sampler learned from ``n_reference`` points, and its power in closed form
(noncentral chi-square). The checks compare the closed forms with simulation, with
binomial tolerances (|z| <= 4).
"""

import math

import numpy as np
import pytest
import scipy.stats

import lib

W = np.array([1, 2, 3, 2, 1, 2, 3, 2]) / 16


def rejection_count(draw_counts, reps, **kwargs):
    return sum(not lib.stats.weight_test(draw_counts(), W, **kwargs).passed for _ in range(reps))


def binomial_ok(count, reps, p):
    return abs(count - reps * p) <= 4 * math.sqrt(reps * p * (1 - p)) + 1


def test_statistic_matches_scipy_and_the_fields_are_consistent():
    counts = np.array([70, 120, 180, 130, 60, 120, 200, 120])
    res = lib.stats.weight_test(counts, W, level=0.01)
    n = counts.sum()
    ref = scipy.stats.chisquare(counts, n * W)
    assert math.isclose(res.statistic, ref.statistic) and math.isclose(res.p_value, ref.pvalue)
    assert math.isclose(res.threshold, scipy.stats.chi2.ppf(0.99, 7))
    assert res.passed == (res.statistic <= res.threshold) and res.n == n
    assert np.allclose(res.fractions, counts / n)
    assert np.allclose(res.z, (counts / n - W) / np.sqrt(W * (1 - W) / n))
    assert "chi2" in str(res)


def test_false_alarm_rate_and_power_by_simulation():
    rng = np.random.default_rng(41)
    reps, n, level = 2000, 400, 0.05
    false_alarms = rejection_count(lambda: rng.multinomial(n, W), reps, level=level)
    assert binomial_ok(false_alarms, reps, level)
    alt = W * (1 + 0.2 * np.tile([1, -1], 4))
    alt /= alt.sum()
    power = lib.stats.weight_test_power(alt, W, n, level=level)
    assert 0.2 < power < 0.95                          # an informative regime
    hits = rejection_count(lambda: rng.multinomial(n, alt), reps, level=level)
    assert binomial_ok(hits, reps, power)
    assert lib.stats.weight_test_power(W, W, n, level=level) == level


def test_reference_inflation_restores_the_level():
    """Counts of a sampler that reproduces weights estimated from n_reference points."""
    rng = np.random.default_rng(42)
    reps, n, n_ref, level = 2000, 400, 400, 0.05

    def learned_counts():
        w_hat = rng.multinomial(n_ref, W) / n_ref + 1e-12
        return rng.multinomial(n, w_hat / w_hat.sum())

    corrected = rejection_count(learned_counts, reps, level=level, n_reference=n_ref)
    assert binomial_ok(corrected, reps, level)
    naive = rejection_count(learned_counts, reps, level=level)
    assert naive > reps * level + 4 * math.sqrt(reps * level * (1 - level))   # control
    # the inflation divides the noncentrality by 1 + n / n_reference
    alt = W * (1 + 0.1 * np.tile([1, -1], 4))
    alt /= alt.sum()
    nc = n * np.sum((alt - W) ** 2 / W) / 2
    expected = scipy.stats.ncx2.sf(scipy.stats.chi2.ppf(1 - level, 7), 7, nc)
    assert math.isclose(lib.stats.weight_test_power(alt, W, n, level=level, n_reference=n_ref),
                        expected)


@pytest.mark.parametrize("kwargs, word", [
    (dict(counts=[1, 2], weights=[0.5, 0.6]), "sum to 1"),
    (dict(counts=[1, 2, 3], weights=[0.5, 0.5]), "same length"),
    (dict(counts=[1.5, 2], weights=[0.5, 0.5]), "integers"),
    (dict(counts=[0, 0], weights=[0.5, 0.5]), "at least one"),
    (dict(counts=[1, 2], weights=[0.5, 0.5], n_reference=0), "n_reference"),
])
def test_weight_test_rejects_bad_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        lib.stats.weight_test(**kwargs)


def test_weight_test_power_rejects_bad_input():
    with pytest.raises(ValueError, match="alternative"):
        lib.stats.weight_test_power([0.5, 0.5, 0.0], W, 100)
    with pytest.raises(ValueError, match="n must"):
        lib.stats.weight_test_power(W, W, 0)
