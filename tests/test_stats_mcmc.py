"""Multi-chain ESS, standard errors and R-hat (issue 10).

Closed forms: AR(1) chains x_k = rho x_{k-1} + sqrt(1 - rho^2) xi_k have
tau = (1 + rho)/(1 - rho). Reference implementation: ArviZ's arviz-stats
(test-only dependency), which must agree to rounding on the same arrays.
"""

import math

import numpy as np
import pytest
from scipy import stats as sps
from scipy.signal import lfilter
from scipy.special import ndtri

from lib import stats


def ar1(rho, n_steps, n_chains, seed):
    """Stationary AR(1) chains, shape (n_steps, n_chains), unit marginal variance."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n_steps, n_chains)) * math.sqrt(1 - rho**2)
    noise[0] = rng.standard_normal(n_chains)
    return lfilter([1.0], [1.0, -rho], noise, axis=0)


def two_modes(seed, n_steps=1000):
    """8 chains that never cross: 4 around +1, 4 around -1, within-mode sd 0.5."""
    x = 0.5 * ar1(0.5, n_steps, 8, seed)
    x[:, :4] += 1.0
    x[:, 4:] -= 1.0
    return x


@pytest.mark.parametrize("rho", [0.9, 0.5, -0.5])
def test_tau_of_ar1_matches_closed_form(rho):
    """Mean of tau-hat over 20 independent replicates (4 chains x 4000 steps each) against
    (1 + rho)/(1 - rho), with a t-test on the replicates. The replicates' spread is
    measured, not assumed; with t_19 at two-sided 1e-3 this check's false-alarm rate is
    1e-3 (up to the estimator's bias, measured at +0.6 %, +0.8 %, -2.5 % of tau for
    rho = 0.9, 0.5, -0.5 with 200 replicates: at most 1.5 sd of the mean here)."""
    tau_exact = (1 + rho) / (1 - rho)
    taus = np.array([stats.integrated_autocorrelation_time(ar1(rho, 4000, 4, 100 + s))
                     for s in range(20)])
    t = (taus.mean() - tau_exact) / (taus.std(ddof=1) / math.sqrt(taus.size))
    assert abs(t) <= sps.t.isf(5e-4, taus.size - 1)
    # the estimator is useful: its relative spread is small
    assert taus.std(ddof=1) < 0.15 * tau_exact


def test_ess_and_tau_are_consistent():
    x = ar1(0.9, 5000, 8, 1)
    tau = stats.integrated_autocorrelation_time(x)
    assert stats.effective_sample_size(x) == pytest.approx(x.size / tau, rel=1e-12)
    # negative control: ignoring the correlation (tau = 1) is far off (tau is about 19)
    assert tau > 10


def test_standard_error_is_calibrated_single_and_multi_chain():
    """Coverage of |mean| <= 2 SE over 200 replicates should be about 95.4 %.

    hits ~ Binomial(200, 0.954) if the SE is right (mean 191, sd 3); we accept
    hits >= 177: false-alarm rate P(Bin(200, 0.954) < 177) = 2e-5, plus the small
    downward bias of SE for short chains. An SE too small by sqrt(tau) (the iid formula)
    would give coverage 60 % (hits about 120): power 1.
    """
    for shape in [(1000, 1), (250, 4)]:
        hits = 0
        for seed in range(200):
            x = ar1(0.7, *shape, 1000 * shape[1] + seed)
            est = stats.mean_with_error(x if shape[1] > 1 else x[:, 0])
            hits += abs(est.mean) <= 2 * est.standard_error
        assert hits >= 177, (shape, hits)
    assert sps.binom.cdf(176, 200, 0.954) < 3e-5


def test_standard_error_against_iid_formula():
    """For AR(1), SE / (sd / sqrt(N)) = sqrt(tau) = sqrt(1.7 / 0.3) = 2.38; tau-hat has a
    relative sd of about 5 % at this length (so the ratio 2.5 %): 8 sd tolerance."""
    x = ar1(0.7, 20000, 1, 7)[:, 0]
    naive = x.std(ddof=1) / math.sqrt(x.size)
    assert stats.standard_error(x) / naive == pytest.approx(math.sqrt(1.7 / 0.3), rel=0.2)


def test_chains_stuck_in_two_modes_do_not_look_precise():
    """The issue's example: 8 chains in two modes (+-1, sd 0.5) that never cross.

    Measured over 100 seeds: ESS 10.0 +- 0.06 (of 8000 draws), the ESS of the same
    chains each re-centred on its own mean 2708 +- 154, rank R-hat 1.686 +- 0.002,
    split R-hat 2.305 +- 0.025. The thresholds below are many sd away (false-alarm rate
    negligible) and still far from the values of chains that mix (ESS about 2700,
    R-hat about 1.00).
    """
    x = two_modes(3)
    ess = stats.effective_sample_size(x)
    assert ess < 20
    assert stats.effective_sample_size(x - x.mean(axis=0)) > 2000  # per-chain centring hides it
    assert stats.effective_sample_size(x, method="bulk") < 20
    # SE of the mean: with each chain's mode a fair coin, the mean's sd is 1/sqrt(8)
    assert stats.standard_error(x) == pytest.approx(1 / math.sqrt(8), rel=0.1)
    assert stats.mean_with_error(x).ess == pytest.approx(ess)
    # classic split R-hat: sqrt((n-1)/n + (B/n)/W) with B/n = 16/15 (means +-1), W = 0.25
    n_half = x.shape[0] // 2
    closed = math.sqrt((n_half - 1) / n_half + (16 / 15) / 0.25)
    assert closed == pytest.approx(2.295, abs=1e-3)
    assert stats.rhat(x, method="split") == pytest.approx(closed, abs=0.1)   # 4 sd
    # rank-normalised R-hat saturates: ranks forget the distance between the modes.
    # Infinite-chain value: normal scores of the lower half have mean mu, variance v.
    s = x.size
    z = ndtri((np.arange(1, s // 2 + 1) - 0.375) / (s + 0.25))
    saturation = math.sqrt(1 + (16 / 15) * z.mean() ** 2 / z.var())
    assert saturation == pytest.approx(1.694, abs=1e-3)
    # finite-length bias measured -0.008, sd 0.0024: 0.02 covers bias + 5 sd
    assert stats.rhat(x) == pytest.approx(saturation, abs=0.02)
    # and the same chains once they mix are fine
    mixed = ar1(0.5, 1000, 8, 4)
    assert stats.rhat(mixed) < 1.01
    assert stats.rhat(mixed, method="split") < 1.01


def test_rhat_shapes_and_components():
    x = np.stack([ar1(0.5, 400, 4, 5), two_modes(6, 400)[:, [0, 1, 4, 5]]], axis=-1)
    r = stats.rhat(x)
    assert r.shape == (2,)
    assert r[0] < 1.02 and r[1] > 1.5
    assert r[1] == pytest.approx(stats.rhat(x[..., 1]))
    assert isinstance(stats.rhat(x[..., 0]), float)
    assert stats.rhat(x.reshape(400, 4, 1, 2)).shape == (1, 2)


def test_rhat_detects_a_trend_within_chains():
    """Split R-hat sees a chain that drifts (first half differs from the second half).

    A drift from 0 to 3 in unit-variance chains: half means differ by 1.5, so
    R-hat is about sqrt(1 + (8/7) 0.5625 / 1.19) = 1.24; stationary chains of this
    length give 1.00 +- 0.005."""
    x = ar1(0.5, 2000, 4, 8) + np.linspace(0, 3, 2000)[:, None]
    assert stats.rhat(x) > 1.1
    assert stats.rhat(x[:, :1]) > 1.1   # one chain, split in two


def test_shapes_accepted_by_the_error_functions():
    x = ar1(0.3, 401, 3, 9)           # odd length: the middle draw is dropped
    for arr in (x, x[:, 0], x[:, :1]):
        est = stats.mean_with_error(arr)
        assert est.standard_error == pytest.approx(stats.standard_error(arr))
        assert est.ess == pytest.approx(stats.effective_sample_size(arr))
    assert stats.mean_with_error(x[:, 0]).ess == pytest.approx(stats.mean_with_error(x[:, :1]).ess)
    # final states of independent chains: ESS about their number
    finals = np.random.default_rng(0).standard_normal(4000)
    assert stats.effective_sample_size(finals) == pytest.approx(4000, rel=0.15)


def test_validation():
    with pytest.raises(ValueError, match="shape"):
        stats.effective_sample_size(np.zeros((5, 3, 2)))
    with pytest.raises(ValueError, match="at least 4"):
        stats.standard_error(np.arange(3.0))
    with pytest.raises(ValueError, match="constant"):
        stats.effective_sample_size(np.ones((10, 2)))
    with pytest.raises(ValueError, match="inf or NaN"):
        stats.mean_with_error(np.array([0.0, 1.0, np.nan, 2.0, 3.0]))
    with pytest.raises(ValueError, match="method"):
        stats.effective_sample_size(np.arange(10.0), method="tail")
    with pytest.raises(ValueError, match="n_draws, n_chains"):
        stats.rhat(np.arange(10.0))
    with pytest.raises(ValueError, match="n_draws >= 4"):
        stats.rhat(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="method"):
        stats.rhat(np.random.default_rng(0).standard_normal((10, 2)), method="folded")


# ---------------------------------------------------------------- reference implementation

def _arviz():
    return pytest.importorskip(
        "arviz_stats.base",
        reason="arviz-stats (ArviZ's array diagnostics, test-only dependency, "
               "pin arviz-stats==0.8.0) is not installed",
    )


CASES = [
    ("ar1 0.9, 4 x 1000", lambda: ar1(0.9, 1000, 4, 11)),
    ("ar1 0.5, 8 x 999 (odd)", lambda: ar1(0.5, 999, 8, 12)),
    ("antithetic -0.5, 3 x 101", lambda: ar1(-0.5, 101, 3, 13)),
    ("short 2 x 4", lambda: ar1(0.0, 4, 2, 14)),
    ("slow 0.99, 3 x 20", lambda: ar1(0.99, 20, 3, 15)),
    ("one chain 0.95 x 2000", lambda: ar1(0.95, 2000, 1, 16)),
    ("two modes", lambda: two_modes(17)),
    ("heavy tails", lambda: np.random.default_rng(18).standard_t(2, size=(500, 4))),
    ("ties (integer states)", lambda: np.round(3 * ar1(0.7, 600, 4, 19))),
]


@pytest.mark.parametrize("name,make", CASES, ids=[c[0] for c in CASES])
def test_agrees_with_arviz(name, make):
    base = _arviz()
    az = base.array_stats
    x = make()                      # (n_steps, n_chains); ArviZ wants (chain, draw)
    xt = np.ascontiguousarray(x.T)
    assert stats.effective_sample_size(x) == pytest.approx(
        float(az.ess(xt, method="mean")), rel=1e-10)
    assert stats.effective_sample_size(x, method="bulk") == pytest.approx(
        float(az.ess(xt, method="bulk")), rel=1e-10)
    assert stats.standard_error(x) == pytest.approx(float(az.mcse(xt, method="mean")), rel=1e-10)
    if x.shape[1] >= 2:             # ArviZ returns nan for one chain; lib splits it in two
        assert stats.rhat(x) == pytest.approx(float(az.rhat(xt, method="rank")), rel=1e-10)
        assert stats.rhat(x, method="split") == pytest.approx(
            float(az.rhat(xt, method="split")), rel=1e-10)


def test_rhat_components_agree_with_arviz():
    base = _arviz()
    x = np.stack([ar1(0.6, 300, 4, 21), two_modes(22, 300)[:, ::2]], axis=-1)   # (300, 4, 2)
    ref = base.array_stats.rhat(np.moveaxis(x, -1, 0).transpose(0, 2, 1), method="rank")
    np.testing.assert_allclose(stats.rhat(x), ref, rtol=1e-10)


def test_indicator_of_chains_that_never_move(recwarn):
    """Each chain constant (2 at 0, 2 at 1): R-hat is infinite (or huge after ranking),
    the ESS is about one per chain, no warnings and no NaN."""
    x = np.zeros((100, 4))
    x[:, 2:] = 1.0
    assert stats.rhat(x) > 1e3
    assert stats.rhat(x, method="split") == np.inf
    est = stats.mean_with_error(x)
    assert est.ess < 8 and est.standard_error == pytest.approx(0.24, abs=0.02)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
