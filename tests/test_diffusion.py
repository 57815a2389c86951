"""lib.diffusion against closed forms, with negative controls.

Statistical checks use |z| <= 4 (false-alarm rate 6e-5 each) with fixed seeds;
deterministic checks use tolerances derived from the discretisation or rounding error.
"""

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats

import lib
from lib.diffusion import (VE, VP, DivergenceError, GaussianMixture, ScoreModel,
                           annealed_langevin, exact_score, fit_score, log_likelihood,
                           marginal, probability_flow, reverse_sde, tweedie_denoiser,
                           width_test, width_test_power)

MIX2 = GaussianMixture([1.0, 2.0, 3.0], [[0.0, 0.0], [2.0, 1.0], [-1.0, 2.0]], [0.5, 0.3, 0.4])
MIX1 = GaussianMixture([0.3, 0.7], [-1.0, 1.5], [0.4, 0.6])


def gaussian_logpdf(x, weights, means, stds):
    dens = sum(w * scipy.stats.multivariate_normal(m, s**2 * np.eye(len(m))).pdf(x)
               for w, m, s in zip(weights, means, stds))
    return np.log(dens)


# ---------------------------------------------------------------- GaussianMixture


def test_mixture_logpdf_matches_scipy_and_normalises_weights():
    x = np.random.default_rng(0).normal(size=(50, 2)) * 2
    want = gaussian_logpdf(x, np.array([1, 2, 3]) / 6, MIX2.means, MIX2.stds)
    assert np.allclose(MIX2.logpdf(x), want, rtol=0, atol=1e-12)
    assert np.isclose(MIX2.weights.sum(), 1.0) and MIX2.dim == 2
    # the density integrates to one (1-D, quadrature)
    total, _ = scipy.integrate.quad(lambda v: math.exp(MIX1.logpdf(np.array([v]))[0]), -20, 20)
    assert abs(total - 1) < 1e-9


def test_mixture_score_and_divergence_match_finite_differences():
    x = np.random.default_rng(1).normal(size=(40, 2)) * 2
    eps = 1e-5
    fd = np.column_stack([(MIX2.logpdf(x + eps * e) - MIX2.logpdf(x - eps * e)) / (2 * eps)
                          for e in np.eye(2)])
    assert np.max(np.abs(fd - MIX2.score(x))) < 1e-7 * max(1, np.max(np.abs(fd)))
    lap = sum((MIX2.score(x + eps * e)[:, i] - MIX2.score(x - eps * e)[:, i]) / (2 * eps)
              for i, e in enumerate(np.eye(2)))
    assert np.max(np.abs(lap - MIX2.score_divergence(x))) < 1e-5 * max(1, np.max(np.abs(lap)))
    # negative control: the score of a different mixture does not match
    other = GaussianMixture([1.0, 2.0, 3.0], MIX2.means, [0.6, 0.3, 0.4])
    assert np.max(np.abs(fd - other.score(x))) > 1e-2


def test_one_dimensional_states_may_be_flat():
    x = np.linspace(-2, 2, 7)
    assert MIX1.dim == 1
    assert MIX1.score(x).shape == (7,)
    assert np.allclose(MIX1.score(x), MIX1.score(x[:, None])[:, 0])
    assert MIX1.logpdf(x).shape == (7,)


def test_mixture_sample_moments():
    x = MIX2.sample(200_000, rng=3)
    mean = MIX2.weights @ MIX2.means
    second = MIX2.weights @ (MIX2.means**2 + MIX2.stds[:, None] ** 2)
    for j in range(2):
        est = lib.stats.mean_with_error(x[:, j])
        assert abs(est.z_score(mean[j])) <= 4
        assert abs(lib.stats.mean_with_error(x[:, j] ** 2).z_score(second[j])) <= 4
    # negative control: equal weights would be rejected
    assert abs(lib.stats.mean_with_error(x[:, 0]).z_score(MIX2.means[:, 0].mean())) > 4
    assert np.array_equal(MIX2.sample(5, rng=7), MIX2.sample(5, rng=7))


@pytest.mark.parametrize("args, word", [
    (([1.0, -1.0], [[0.0], [1.0]], [1.0, 1.0]), "weights"),
    (([1.0, 0.0], [[0.0], [1.0]], [1.0, 1.0]), "weights"),
    (([1.0, 1.0], [[0.0], [1.0], [2.0]], [1.0, 1.0]), "means"),
    (([1.0, 1.0], [[0.0], [1.0]], [1.0, 1.0, 1.0]), "stds"),
    (([1.0, 1.0], [[0.0], [1.0]], [1.0, 0.0]), "stds"),
])
def test_mixture_rejects_bad_parameters(args, word):
    with pytest.raises(ValueError, match=word):
        GaussianMixture(*args)


def test_mixture_rejects_states_of_the_wrong_dimension():
    with pytest.raises(ValueError, match="shape"):
        MIX2.logpdf(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="finite"):
        MIX2.score(np.array([[0.0, np.nan]]))


# ---------------------------------------------------------------- processes


def test_vp_closed_form():
    vp = VP()
    t = np.linspace(0, 1, 21)
    B = 0.1 * t + 0.5 * (20.0 - 0.1) * t**2
    assert np.allclose(vp.alpha(t), np.exp(-B / 2), rtol=1e-14)
    assert np.allclose(vp.alpha(t) ** 2 + vp.sigma(t) ** 2, 1, rtol=1e-14)
    assert vp.sigma(0.0) == 0 and vp.alpha(0.0) == 1
    assert np.isclose(vp.alpha(1.0), math.exp(-10.05 / 2))
    x = np.ones((3, 2))
    assert np.allclose(vp.drift(x, 0.5), -vp.beta(0.5) / 2 * x)
    assert np.isclose(vp.diffusion(0.5) ** 2, 0.1 + 0.5 * 19.9)
    # the variance obeys the moment ODE of the SDE, v' = -beta v + beta (finite differences)
    h = 1e-6
    for s in (0.1, 0.4, 0.8):
        dv = (vp.sigma(s + h) ** 2 - vp.sigma(s - h) ** 2) / (2 * h)
        assert abs(dv - vp.beta(s) * (1 - vp.sigma(s) ** 2)) < 1e-6
        assert abs(dv - vp.beta(s)) > 1e-2            # control: not pure diffusion


def test_ve_closed_form():
    ve = VE(sigma_min=0.01, sigma_max=10.0)
    t = np.linspace(0, 1, 11)
    assert np.allclose(ve.schedule(t), 0.01 * 1000.0**t, rtol=1e-13)
    assert np.allclose(ve.sigma(t) ** 2, ve.schedule(t) ** 2 - 1e-4, rtol=1e-12, atol=1e-16)
    assert np.all(ve.alpha(t) == 1) and np.all(ve.drift(np.ones((2, 2)), 0.3) == 0)
    h = 1e-7
    for s in (0.2, 0.7):
        dsig2 = (ve.schedule(s + h) ** 2 - ve.schedule(s - h) ** 2) / (2 * h)
        assert abs(ve.diffusion(s) ** 2 / dsig2 - 1) < 1e-6


@pytest.mark.parametrize("make", [lambda: VP(beta_min=-1.0), lambda: VP(beta_min=5, beta_max=1),
                                  lambda: VE(sigma_min=0.0), lambda: VE(sigma_min=2, sigma_max=1)])
def test_processes_reject_bad_parameters(make):
    with pytest.raises(ValueError, match="beta|sigma"):
        make()


@pytest.mark.parametrize("call", [lambda p: p.alpha(1.5), lambda p: p.sigma(-0.1),
                                  lambda p: p.sigma(np.nan), lambda p: p.diffusion(2.0)])
@pytest.mark.parametrize("process", [VP(), VE()])
def test_times_outside_the_unit_interval_are_rejected(call, process):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        call(process)


# ---------------------------------------------------------------- marginals and scores


@pytest.mark.parametrize("process", [VP(), VE(sigma_min=0.05, sigma_max=3.0)])
def test_marginal_is_the_convolution(process):
    """p_t(x) = int p_0(y) N(x; alpha y, s^2) dy, by quadrature, in 1-D."""
    t = 0.35
    a, s = float(process.alpha(t)), float(process.sigma(t))
    p_t = marginal(MIX1, process, t)
    for x in (-2.0, 0.3, 1.7):
        conv, _ = scipy.integrate.quad(
            lambda y: math.exp(MIX1.logpdf(np.array([y]))[0]) * scipy.stats.norm.pdf(x, a * y, s),
            -15, 15, epsabs=1e-13)
        assert abs(math.exp(p_t.logpdf(np.array([x]))[0]) / conv - 1) < 1e-8
    # negative control: the other process's blur is a different density
    other = VE() if isinstance(process, VP) else VP()
    assert abs(math.exp(marginal(MIX1, other, t).logpdf(np.array([0.3]))[0])
               - math.exp(p_t.logpdf(np.array([0.3]))[0])) > 1e-3


def test_exact_score_per_sample_times_and_flat_states():
    vp = VP()
    score = exact_score(MIX2, vp)
    x = np.random.default_rng(4).normal(size=(6, 2))
    ts = np.linspace(0.05, 0.9, 6)
    rows = np.array([marginal(MIX2, vp, s).score(x[i:i + 1])[0] for i, s in enumerate(ts)])
    assert np.allclose(score(x, ts), rows, rtol=1e-12, atol=1e-12)
    assert np.allclose(score(x, 0.3), marginal(MIX2, vp, 0.3).score(x))
    score1 = exact_score(MIX1, vp)
    assert score1(np.linspace(-1, 1, 5), 0.2).shape == (5,)
    with pytest.raises(ValueError, match="t must"):
        score(x, np.ones(3) * 0.5)


def test_tweedie_is_the_conjugate_posterior_mean():
    vp = VP()
    gauss = GaussianMixture([1.0], [[1.0, -0.5]], [0.7])
    t = 0.25
    a, s = float(vp.alpha(t)), float(vp.sigma(t))
    x = np.random.default_rng(5).normal(size=(20, 2))
    posterior = gauss.means[0] + a * 0.49 / (a**2 * 0.49 + s**2) * (x - a * gauss.means[0])
    assert np.allclose(tweedie_denoiser(exact_score(gauss, vp), vp)(x, t), posterior,
                       rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- samplers

VP_ = VP()
GAUSS = GaussianMixture([1.0], [1.5], [0.5])
SCORE_G = exact_score(GAUSS, VP_)


def _ode_law(n, method):
    ends = probability_flow(SCORE_G, VP_, np.array([0.0, 1.0]), n_steps=n, method=method)
    A, b = ends[1] - ends[0], ends[0]
    p1 = marginal(GAUSS, VP_, 1.0)
    return A * p1.means[0, 0] + b, abs(A) * p1.stds[0]


def _w2(n, method):
    target = marginal(GAUSS, VP_, 1e-3)
    m, sd = _ode_law(n, method)
    return math.hypot(m - target.means[0, 0], sd - target.stds[0])


def test_probability_flow_orders():
    """Gaussian data: the ODE map is affine, so its output law is exact; errors halve/quarter."""
    e = {m: [_w2(n, m) for n in (128, 256)] for m in ("euler", "heun")}
    assert 1.8 < e["euler"][0] / e["euler"][1] < 2.2
    assert 3.6 < e["heun"][0] / e["heun"][1] < 4.4
    assert e["heun"][1] < 1e-4


def test_reverse_sde_matches_the_target_law():
    x0 = reverse_sde(SCORE_G, VP_, marginal(GAUSS, VP_, 1.0).sample(40_000, rng=8),
                     n_steps=1000, rng=9)[:, 0]
    target = marginal(GAUSS, VP_, 1e-3)
    mean, sd = target.means[0, 0], target.stds[0]
    # bias of 1000 Euler-Maruyama steps: below 1e-3 (test_probability_flow_orders scale), far
    # below the standard errors (0.0025 and 0.0018)
    assert abs(lib.stats.mean_with_error(x0).z_score(mean)) <= 4
    assert abs(lib.stats.mean_with_error((x0 - x0.mean()) ** 2).z_score(sd**2)) <= 4
    # negative control: half the score does not reverse the process
    bad = reverse_sde(lambda x, t: 0.5 * SCORE_G(x, t), VP_, np.zeros(20_000), n_steps=200,
                      rng=10)
    assert abs(lib.stats.mean_with_error((bad - bad.mean()) ** 2).z_score(sd**2)) > 4


def test_samplers_are_reproducible_and_return_paths():
    xT = np.random.default_rng(11).normal(size=(5, 2))
    score = exact_score(MIX2, VP_)
    a = reverse_sde(score, VP_, xT, n_steps=10, rng=3)
    assert np.array_equal(a, reverse_sde(score, VP_, xT, n_steps=10, rng=3))
    path = probability_flow(score, VP_, xT, n_steps=10, return_path=True)
    assert path.shape == (11, 5, 2) and np.array_equal(path[0], xT)
    assert np.allclose(path[-1], probability_flow(score, VP_, xT, n_steps=10))
    assert reverse_sde(score, VP_, xT, n_steps=4, rng=1, return_path=True).shape == (5, 5, 2)


@pytest.mark.parametrize("sampler", ["sde", "ode", "annealed"])
def test_samplers_validate_their_input(sampler):
    score = exact_score(MIX2, VP_)

    def run(score_fn=score, x=np.zeros((4, 2)), **kw):
        if sampler == "sde":
            return reverse_sde(score_fn, VP_, x, **{"n_steps": 5, "rng": 0, **kw})
        if sampler == "ode":
            return probability_flow(score_fn, VP_, x, **{"n_steps": 5, **kw})
        kw = {k: v for k, v in kw.items() if k != "n_steps"}
        return annealed_langevin(score_fn, VP_, x, noise_levels=[0.5, 0.1], steps_per_level=3,
                                 rng=0, **kw)

    with pytest.raises(ValueError, match="score"):
        run(score_fn=lambda x, t: x[:, :1])
    if sampler != "annealed":
        with pytest.raises(ValueError, match="n_steps"):
            run(n_steps=0)
        with pytest.raises(ValueError, match="t_min"):
            run(t_min=1.5)
    with pytest.raises(ValueError, match="finite"):
        run(x=np.array([[0.0, np.inf]]))


def test_annealed_langevin_rejects_bad_levels():
    score = exact_score(MIX2, VP_)
    with pytest.raises(ValueError, match="noise_levels"):
        annealed_langevin(score, VP_, np.zeros((3, 2)), noise_levels=[0.5, 0.0],
                          steps_per_level=2, rng=0)
    with pytest.raises(ValueError, match="noise_levels"):
        annealed_langevin(score, VP_, np.zeros((3, 2)), noise_levels=[1.2], steps_per_level=2,
                          rng=0)
    with pytest.raises(ValueError, match="steps_per_level"):
        annealed_langevin(score, VP_, np.zeros((3, 2)), noise_levels=[0.5], steps_per_level=0,
                          rng=0)


@pytest.mark.parametrize("sampler", ["sde", "ode", "annealed"])
def test_divergence_raises(sampler):
    explode = lambda x, t: 1e3 * x**3  # noqa: E731 - grows faster than any step can follow
    x = np.full((3, 1), 5.0)
    with pytest.raises(DivergenceError, match="diverged"):
        if sampler == "sde":
            reverse_sde(explode, VP_, x, n_steps=20, rng=0)
        elif sampler == "ode":
            probability_flow(explode, VP_, x, n_steps=20)
        else:
            annealed_langevin(explode, VP_, x, noise_levels=[1.0], steps_per_level=50, rng=0)


def test_annealed_langevin_samples_one_level_with_the_ula_bias():
    """One level at t: ULA on the Gaussian p_t = N(m, V) with step h has stationary variance
    V / (1 - h / (2V)) (chapter 4); its mean is m."""
    t = 0.5
    p_t = marginal(GAUSS, VP_, t)
    m, V = p_t.means[0, 0], p_t.stds[0] ** 2
    h = 0.3 * float(VP_.sigma(t)) ** 2
    x = annealed_langevin(SCORE_G, VP_, np.zeros(20_000), noise_levels=[t], steps_per_level=300,
                          rng=12, step=0.3)
    var = lib.stats.mean_with_error((x - x.mean()) ** 2)
    assert abs(lib.stats.mean_with_error(x).z_score(m)) <= 4
    assert abs(var.z_score(V / (1 - h / (2 * V)))) <= 4
    assert abs(var.z_score(GAUSS.stds[0] ** 2)) > 4          # control: not the data's variance


# ---------------------------------------------------------------- learning the score


def test_fit_score_learns_a_gaussian_score():
    vp = VP()
    data = GaussianMixture([1.0], [[0.5, -0.5]], [0.6])
    train = data.sample(3000, rng=13)
    model = fit_score(train, vp, rng=14, n_centres=64, noise_draws=5)
    assert isinstance(model, ScoreModel) and model.n_train == 15_000 and model.seconds > 0
    rng = np.random.default_rng(15)
    x0 = data.sample(5000, rng)
    t = rng.uniform(0.05, 1.0, 5000)
    eps = rng.standard_normal((5000, 2))
    s = vp.sigma(t)[:, None]
    xt = vp.alpha(t)[:, None] * x0 + s * eps
    exact = exact_score(data, vp)(xt, t)
    learned = model(xt, t)
    fisher = np.mean(np.sum((s * (learned - exact)) ** 2, axis=1))
    scale = np.mean(np.sum((s * exact) ** 2, axis=1))
    assert fisher < 0.05 * scale
    # the DSM decomposition: excess loss = sigma^2-weighted Fisher divergence, in expectation
    diff = (np.sum((s * learned + eps) ** 2, 1) - np.sum((s * exact + eps) ** 2, 1)
            - np.sum((s * (learned - exact)) ** 2, 1))
    assert abs(lib.stats.mean_with_error(diff).z_score(0.0)) <= 4
    # negative control: the zero model is far worse
    assert np.mean(np.sum((s * exact) ** 2, 1)) > 10 * fisher
    assert model(xt[:3], 0.5).shape == (3, 2)
    # the model refuses times below its training range instead of returning NaN
    with pytest.raises(ValueError, match="t_min"):
        model(xt[:3], 0.0)


def test_fit_score_validates_input():
    vp = VP()
    with pytest.raises(ValueError, match="finite"):
        fit_score(np.array([[0.0, np.nan]]), vp, rng=0)
    with pytest.raises(ValueError, match="n_centres"):
        fit_score(np.zeros((10, 2)), vp, rng=0, n_centres=0)
    with pytest.raises(ValueError, match="n_centres"):
        fit_score(np.zeros((10, 2)), vp, rng=0, n_centres=11)
    with pytest.raises(ValueError, match="n_nodes"):
        fit_score(np.zeros((10, 2)), vp, rng=0, n_centres=5, n_nodes=1)
    with pytest.raises(ValueError, match="log_fraction"):
        fit_score(np.zeros((10, 2)), vp, rng=0, n_centres=5, log_fraction=1.5)
    with pytest.raises(ValueError, match="process"):
        fit_score(np.zeros((10, 2)), "vp", rng=0, n_centres=5)


# ---------------------------------------------------------------- the width test


def test_width_test_is_calibrated_and_its_power_is_exact():
    """False-alarm rate and power by simulation against the closed forms (binomial |z| <= 4)."""
    mix = GaussianMixture([1, 3], [[-3.0], [3.0]], [0.5, 0.3])
    rng = np.random.default_rng(31)
    reps, n, level = 2000, 40, 0.1
    for scale in (1.0, 1.15):
        rejected = 0
        for _ in range(reps):
            k = rng.choice(2, size=n, p=mix.weights)
            x = mix.means[k] + scale * mix.stds[k, None] * rng.standard_normal((n, 1))
            rejected += not width_test(x, mix, level=level).passed
        p = float(width_test_power(scale, n, 1, level=level))
        assert abs(rejected - reps * p) <= 4 * math.sqrt(reps * p * (1 - p))
    assert math.isclose(float(width_test_power(1.0, n, 1, level=level)), level, rel_tol=1e-9)


def test_width_test_statistic_and_validation():
    mix = GaussianMixture([1, 1], [[0.0, 0.0], [6.0, 0.0]], [0.5, 2.0])
    x = np.array([[0.5, 0.0], [6.0, 2.0]])
    res = width_test(x, mix)
    assert math.isclose(res.statistic, 1.0 + 1.0) and res.dof == 4
    assert math.isclose(res.scale, math.sqrt(0.5)) and math.isclose(res.z, (2 - 4) / math.sqrt(8))
    big = GaussianMixture([1.0], [[0.0, 0.0]], [1.0]).sample(20_000, rng=3)
    assert not width_test(1.05 * big, GaussianMixture([1.0], [[0.0, 0.0]], [1.0])).passed
    with pytest.raises(ValueError, match="level"):
        width_test(x, mix, level=1.5)
    with pytest.raises(ValueError, match="mix"):
        width_test(x, "mix")
    with pytest.raises(ValueError, match="scale"):
        width_test_power(0.0, 10, 2)


# ---------------------------------------------------------------- likelihood through the ODE


@pytest.mark.parametrize("process", [VP(), VE()])
def test_log_likelihood_matches_the_mixture_logpdf(process):
    mix = GaussianMixture([1, 2, 1], [[-2.0, 0.0], [1.0, 1.0], [2.0, -2.0]], [0.3, 0.5, 0.4])
    x = mix.sample(50, rng=21)
    exact = mix.logpdf(x)
    ll_50 = log_likelihood(mix, process, x, n_steps=50)
    ll_100 = log_likelihood(mix, process, x, n_steps=100)
    # RK4: the 100-step error is about (ll_100 - ll_50) / 15; allow twice that, plus rounding
    tol = 2 * np.max(np.abs(ll_100 - ll_50)) / 15 + 1e-9
    assert np.max(np.abs(ll_100 - exact)) <= tol < 1e-3
    # the practical prior differs from p_1 by a little, and only through log p_1(x_1)
    gauss = log_likelihood(mix, process, x, n_steps=100, prior="gaussian")
    assert 0 < np.max(np.abs(gauss - exact)) < 0.1
    # 1-D states may be flat
    one = GaussianMixture([1.0], [0.5], [0.7])
    assert np.allclose(log_likelihood(one, process, np.array([0.0, 1.0]), n_steps=100),
                       one.logpdf(np.array([0.0, 1.0])), atol=1e-5)


def test_log_likelihood_validates_input():
    mix = GaussianMixture([1.0], [[0.0, 0.0]], [1.0])
    with pytest.raises(ValueError, match="prior"):
        log_likelihood(mix, VP(), np.zeros((2, 2)), prior="uniform")
    with pytest.raises(ValueError, match="n_steps"):
        log_likelihood(mix, VP(), np.zeros((2, 2)), n_steps=0)
    with pytest.raises(ValueError, match="mix"):
        log_likelihood("ring", VP(), np.zeros((2, 2)))


def test_mixture_cdf_matches_quadrature_and_is_one_dimensional():
    mix = GaussianMixture([0.3, 0.5, 0.2], [-2.0, 0.5, 2.5], [0.4, 0.6, 0.3])
    for x in (-3.0, 0.2, 1.9):
        integral, _ = scipy.integrate.quad(lambda y: float(np.exp(mix.logpdf(np.array([y]))[0])),
                                           -np.inf, x)
        assert abs(mix.cdf(np.array([x]))[0] - integral) < 1e-9
    assert mix.cdf(np.zeros((4, 1))).shape == (4,)
    with pytest.raises(ValueError, match="d = 1"):
        GaussianMixture([1.0], [[0.0, 0.0]], [1.0]).cdf(np.zeros((2, 2)))


def test_dsm_constant_exact_for_gaussians_and_by_monte_carlo_for_a_mixture():
    vp = VP()
    gauss = GaussianMixture([1.0], [[0.5, -1.0]], [0.4])
    t = np.array([0.01, 0.2, 0.7])
    a, s = vp.alpha(t), vp.sigma(t)
    closed = 2 * a**2 * 0.16 / (a**2 * 0.16 + s**2)          # d alpha^2 s^2 / (alpha^2 s^2 + sigma^2)
    assert np.allclose(lib.diffusion.dsm_constant(gauss, vp, t, n_hermite=4), closed, rtol=1e-12)
    # a mixture: against the Monte Carlo mean of |sigma score + eps|^2 (|z| <= 4)
    rng = np.random.default_rng(51)
    mix = MIX2
    x0 = mix.sample(40_000, rng)
    eps = rng.standard_normal(x0.shape)
    tt = 0.15
    xt = vp.alpha(tt) * x0 + vp.sigma(tt) * eps
    loss = np.sum((vp.sigma(tt) * exact_score(mix, vp)(xt, tt) + eps) ** 2, axis=1)
    est = lib.stats.mean_with_error(loss)
    assert abs(est.z_score(float(lib.diffusion.dsm_constant(mix, vp, tt)))) <= 4
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        lib.diffusion.dsm_constant(mix, vp, 0.0)
