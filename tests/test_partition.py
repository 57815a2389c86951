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


# ---- error budget, annealed importance sampling and its summaries ---------------------------


def test_grid_error_budget_formula_and_it_bounds_the_grid_error():
    sd, R, h = 0.8, 3.0, 0.5
    expected = math.erfc(R / (sd * math.sqrt(2))) + 2 * math.exp(-2 * math.pi**2 * sd**2 / h**2)
    assert P.grid_error_budget([sd], half_width=R, spacing=h) == pytest.approx(expected, rel=1e-14)
    assert P.grid_error_budget([sd, sd], half_width=R, spacing=h) == pytest.approx(2 * expected)
    # the budget bounds the real error of the midpoint rule, and is not loose by orders of
    # magnitude when the truncation dominates
    for m in (6, 12, 24):
        est = P.grid_normalizer(lambda y: -0.5 * y[:, 0] ** 2 / sd**2, 1, m=m, half_width=R)
        budget = P.grid_error_budget([sd], half_width=R, spacing=est.spacing)
        error = est.relative_error(math.sqrt(2 * math.pi) * sd)
        assert error <= budget
    assert error > 0.1 * budget
    with pytest.raises(ValueError, match="marginal_sds"):
        P.grid_error_budget([1.0, -1.0], half_width=R, spacing=h)
    with pytest.raises(ValueError, match="spacing"):
        P.grid_error_budget([1.0], half_width=R, spacing=0.0)


def test_log_mean_exp_and_kish_ess():
    log_w = np.log(np.array([1.0, 2.0, 3.0, 10.0]))
    assert P.log_mean_exp(log_w) == pytest.approx(math.log(4.0), rel=1e-14)
    assert P.log_mean_exp(log_w + 2000.0) == pytest.approx(2000.0 + math.log(4.0), rel=1e-14)
    assert P.kish_ess(log_w) == pytest.approx(16.0**2 / 114.0, rel=1e-14)
    assert P.kish_ess(np.zeros(50)) == pytest.approx(50.0)
    assert P.kish_ess(np.array([0.0, -800.0, -800.0])) == pytest.approx(1.0)
    for f in (P.log_mean_exp, P.kish_ess):
        with pytest.raises(ValueError, match="log_w"):
            f([0.0, np.nan])


def gaussian_move(prec_q, prec_f):
    """Exact draw from pi_beta for q = N(0, 1/prec_q), f = exp(-prec_f y^2 / 2), any d."""

    def move(y, beta, gen):
        precision = (1 - beta) * prec_q + beta * prec_f
        return gen.standard_normal(y.shape) / math.sqrt(precision)

    return move


def test_annealed_importance_is_unbiased_and_beats_one_shot():
    d, s, n = 20, 1.5, 400
    log_f = lambda y: -0.5 * np.einsum("ij,ij->i", y, y)
    log_q = lambda y: -0.5 * np.einsum("ij,ij->i", y, y) / s**2 - d * math.log(s * math.sqrt(2 * math.pi))
    Z = (2 * math.pi) ** (d / 2)
    gen = np.random.default_rng(3)
    y0 = s * gen.standard_normal((n, d))
    run = P.annealed_importance(log_f, log_q, y0=y0, betas=np.linspace(0, 1, 101),
                                move=gaussian_move(1 / s**2, 1.0), rng=gen)
    assert run.log_weights.shape == (n,) and run.samples.shape == (n, d)
    assert not np.shares_memory(run.samples, y0)
    w = np.exp(run.log_weights - math.log(Z))
    z = (w.mean() - 1) / (w.std(ddof=1) / math.sqrt(n))
    assert abs(z) <= 4
    # negative control: a Z off by 10% is rejected; the final particles follow the target
    assert abs((w.mean() - 1.1) / (w.std(ddof=1) / math.sqrt(n))) > 4
    assert abs(run.samples.var() - 1.0) < 4 * math.sqrt(2 / run.samples.size)
    # the Kish ESS of AIS is near n; one-shot IS with the same proposal collapses
    assert P.kish_ess(run.log_weights) > 0.9 * n
    assert P.kish_ess(log_f(y0) - log_q(y0)) < 0.5 * n
    # two temperatures and no move: exactly one-shot importance sampling
    one = P.annealed_importance(log_f, log_q, y0=y0, betas=[0.0, 1.0], move=lambda y, b, g: y, rng=0)
    assert np.allclose(one.log_weights, log_f(y0) - log_q(y0), rtol=1e-14, atol=1e-12)
    # same seed, same result
    again, twice = (P.annealed_importance(log_f, log_q, y0=y0, betas=np.linspace(0, 1, 101),
                                          move=gaussian_move(1 / s**2, 1.0), rng=np.random.default_rng(3))
                    for _ in range(2))
    assert np.array_equal(again.log_weights, twice.log_weights)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(betas=[0.1, 1.0]), "betas"),
        (dict(betas=[0.0, 0.6, 0.5, 1.0]), "betas"),
        (dict(y0=np.zeros(5)), "y0"),
        (dict(move=lambda y, b, g: y[:2]), "move"),
        (dict(move="no"), "move"),
        (dict(log_target=lambda y: np.full(len(y), np.nan)), "NaN"),
    ],
)
def test_annealed_importance_bad_input(kwargs, name):
    args = dict(log_target=gauss_score, log_proposal=gauss_score, y0=np.zeros((5, 2)),
                betas=[0.0, 0.5, 1.0], move=lambda y, b, g: y)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        P.annealed_importance(args.pop("log_target"), args.pop("log_proposal"), rng=0, **args)
