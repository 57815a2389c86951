"""Unit tests of lib.discrete: the Ising chain, its exact enumeration and transition matrices,
the single-site samplers and the state-space TV test."""

import itertools
import math

import numpy as np
import pytest

import lib
import lib.discrete as D


def brute_energy(s, J, h, periodic):
    n = len(s)
    pairs = range(n if periodic else n - 1)
    return -sum(J[i] * s[i] * s[(i + 1) % n] for i in pairs) - sum(h[i] * s[i] for i in range(n))


@pytest.mark.parametrize("periodic", [False, True])
def test_energy_matches_brute_force(periodic):
    rng = np.random.default_rng(0)
    n = 5
    J = rng.normal(size=n if periodic else n - 1)
    h = rng.normal(size=n)
    model = D.IsingChain(n, J, fields=h, periodic=periodic)
    for s in itertools.product([-1, 1], repeat=n):
        assert math.isclose(model.energy(np.array(s)), brute_energy(s, J, h, periodic), abs_tol=1e-12)
    S = model.states()
    assert model.energy(S).shape == (2**n,)
    # the flip identity Delta L = 2 s_i f_i
    f = model.local_field(S)
    for i in range(n):
        flipped = S.copy()
        flipped[:, i] *= -1
        assert np.allclose(model.energy(flipped) - model.energy(S), 2 * S[:, i] * f[:, i])


def test_scalars_broadcast_and_arrays_are_read_only():
    model = D.IsingChain(4, 0.5, fields=0.1)
    assert model.couplings.shape == (3,) and model.fields.shape == (4,)
    ring = D.IsingChain(4, 0.5, periodic=True)
    assert ring.couplings.shape == (4,)
    with pytest.raises(ValueError):
        model.fields[0] = 1.0


def test_encode_decode_round_trip_and_order():
    n = 6
    codes = np.arange(2**n)
    S = D.decode(codes, n)
    assert S.dtype == np.int8 and S.shape == (2**n, n)
    assert np.array_equal(D.encode(S), codes)
    assert np.array_equal(S[0], -np.ones(n)) and np.array_equal(S[-1], np.ones(n))
    assert D.encode(np.array([1, -1, -1])) == 4          # site 0 is the most significant bit


def test_exact_enumeration_and_zero_field_closed_form():
    n, J, T = 7, 0.8, 0.6
    model = D.IsingChain(n, J)
    Z = model.partition_function(temperature=T)
    assert math.isclose(Z, 2 * (2 * math.cosh(J / T)) ** (n - 1), rel_tol=1e-12)
    p = model.probabilities(temperature=T)
    assert math.isclose(p.sum(), 1.0, rel_tol=1e-12)
    assert np.allclose(model.marginals(temperature=T), 0.5)          # symmetric without fields
    biased = D.IsingChain(n, J, fields=0.3)
    assert np.all(biased.marginals(temperature=T) > 0.5)


@pytest.mark.parametrize("method", ["metropolis", "gibbs"])
def test_transition_matrices_stationary_and_reversible(method):
    rng = np.random.default_rng(1)
    model = D.IsingChain(5, rng.normal(size=4), fields=rng.normal(size=5))
    T = 0.7
    p = model.probabilities(temperature=T)
    for scan in ("random", "systematic"):
        P = model.transition_matrix(method=method, temperature=T, scan=scan)
        assert np.allclose(P.sum(axis=1), 1.0) and np.all(P >= 0)
        assert np.allclose(p @ P, p, atol=1e-14)
        flux = p[:, None] * P
        if scan == "random":
            assert np.allclose(flux, flux.T, atol=1e-15)
        else:
            assert np.abs(flux - flux.T).max() > 1e-4
    # the systematic sweep equals the product of the site kernels
    K = model.site_kernels(method=method, temperature=T)
    prod = K[0]
    for Ki in K[1:]:
        prod = prod @ Ki
    assert np.allclose(prod, model.transition_matrix(method=method, temperature=T, scan="systematic"))


def test_metropolis_dominates_gibbs_off_the_diagonal():
    model = D.IsingChain(4, 1.0, fields=0.2)
    Pm = model.transition_matrix(method="metropolis", temperature=0.8)
    Pg = model.transition_matrix(method="gibbs", temperature=0.8)
    off = ~np.eye(len(Pm), dtype=bool)
    assert np.all(Pm[off] >= Pg[off] - 1e-15)


@pytest.mark.parametrize("sampler", [D.metropolis_flips, D.gibbs_sampler])
@pytest.mark.parametrize("scan", ["random", "systematic"])
def test_samplers_match_exact_distribution(sampler, scan):
    model = D.IsingChain(6, 0.8, fields=np.linspace(-0.5, 0.5, 6))
    T = 0.9
    x0 = np.random.default_rng(2).choice([-1, 1], size=(6000, 6))
    chain = sampler(model, x0, n_sweeps=60, temperature=T, rng=3, burn_in=59, scan=scan)
    p = model.probabilities(temperature=T)
    assert D.tv_test_states(chain.final, p, rng=4).passed
    assert not D.tv_test_states(chain.final, model.probabilities(temperature=1.5 * T), rng=4).passed


def test_chain_conventions_shapes_seeds_and_thinning():
    model = D.IsingChain(5, 1.0)
    x0 = np.ones((3, 5), dtype=int)
    a = D.gibbs_sampler(model, x0, n_sweeps=10, rng=7, burn_in=2, thin=3)
    b = D.gibbs_sampler(model, x0, n_sweeps=10, rng=7, burn_in=2, thin=3)
    assert isinstance(a, lib.Chain)
    assert a.samples.shape == (len(range(2, 10, 3)), 3, 5) and a.samples.dtype == np.int8
    assert np.array_equal(a.samples, b.samples) and np.array_equal(a.final, b.final)
    full = D.gibbs_sampler(model, x0, n_sweeps=10, rng=7)
    assert np.array_equal(full.samples[2::3], a.samples)
    assert np.array_equal(full.samples[-1], full.final)
    assert a.acceptance_rate.shape == (3,) and np.all((0 <= a.acceptance_rate) & (a.acceptance_rate <= 1))
    single = D.metropolis_flips(model, np.ones(5, dtype=int), n_sweeps=4, rng=1)
    assert single.samples.shape == (4, 5) and single.final.shape == (5,)
    assert np.array_equal(x0, np.ones((3, 5)))            # x0 is not modified
    empty = D.metropolis_flips(model, x0, n_sweeps=0, rng=1)
    assert empty.samples.shape == (0, 3, 5) and np.array_equal(empty.final, x0)


def test_zero_temperature_limit_metropolis_never_goes_uphill():
    model = D.IsingChain(6, 1.0)
    x0 = np.ones((50, 6), dtype=int)
    chain = D.metropolis_flips(model, x0, n_sweeps=20, temperature=1e-3, rng=0)
    assert np.all(chain.samples == 1)                     # the ground state is never left


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda: D.IsingChain(1), "n"),
        (lambda: D.IsingChain(2, periodic=True), "n"),
        (lambda: D.IsingChain(4, [1.0, 2.0]), "couplings"),
        (lambda: D.IsingChain(4, fields=[0.0] * 3), "fields"),
        (lambda: D.IsingChain(4, np.nan), "couplings"),
        (lambda: D.IsingChain(21).states(), "n must be <= 20"),
        (lambda: D.IsingChain(11).transition_matrix(), "n must be <= 10"),
        (lambda: D.IsingChain(4).transition_matrix(method="heat"), "method"),
        (lambda: D.IsingChain(4).transition_matrix(scan="zigzag"), "scan"),
        (lambda: D.IsingChain(4).probabilities(temperature=0), "temperature"),
        (lambda: D.gibbs_sampler(D.IsingChain(4), np.ones((2, 4)), n_sweeps=3, temperature=-1), "temperature"),
        (lambda: D.gibbs_sampler(D.IsingChain(4), np.zeros((2, 4)), n_sweeps=3), "x0"),
        (lambda: D.gibbs_sampler(D.IsingChain(4), np.ones((2, 5)), n_sweeps=3), "x0"),
        (lambda: D.gibbs_sampler(D.IsingChain(4), np.ones((2, 4)), n_sweeps=-1), "n_sweeps"),
        (lambda: D.gibbs_sampler(D.IsingChain(4), np.ones((2, 4)), n_sweeps=3, burn_in=5), "burn_in"),
        (lambda: D.gibbs_sampler(D.IsingChain(4), np.ones((2, 4)), n_sweeps=3, thin=0), "thin"),
        (lambda: D.gibbs_sampler(D.IsingChain(4), np.ones((2, 4)), n_sweeps=3, scan="zigzag"), "scan"),
        (lambda: D.metropolis_flips("model", np.ones((2, 4)), n_sweeps=3), "model"),
        (lambda: D.tv_test_states(np.ones((5, 3)), np.ones(8) / 8, level=1.5), "level"),
        (lambda: D.tv_test_states(np.ones((5, 3)), np.ones(6) / 6), "probabilities"),
        (lambda: D.tv_test_states(np.ones((5, 3)), np.ones(8) / 8, n_eff=0.5), "n_eff"),
        (lambda: D.decode([9], 3), "codes"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_tv_test_states_calibration_and_n_eff():
    p = D.IsingChain(5, 0.5, fields=0.2).probabilities(temperature=1.0)
    rng = np.random.default_rng(5)
    rejections = 0
    for trial in range(40):
        draws = D.decode(rng.choice(32, size=2000, p=p), 5)
        rejections += not D.tv_test_states(draws, p, level=0.05, rng=100 + trial, n_bootstrap=400).passed
    assert rejections <= 8            # about 2 expected at the 5% level; 8 has probability < 1e-3
    draws = D.decode(rng.choice(32, size=2000, p=p), 5)
    res = D.tv_test_states(draws, p, n_eff=200)
    assert res.n_eff == 200 and res.threshold > D.tv_test_states(draws, p).threshold
    assert math.isclose(res.distance, D.tv_distance_states(draws, p))


# ---------------------------------------------------------------------------
# transfer matrices, the long-range model, Metropolis-Hastings, exact mixing
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("periodic", [False, True])
def test_transfer_matrices_match_enumeration(periodic):
    rng = np.random.default_rng(11)
    n, T = 9, 0.8
    model = D.IsingChain(n, rng.normal(size=n if periodic else n - 1), fields=rng.normal(size=n),
                         periodic=periodic)
    p, S = model.probabilities(temperature=T), model.states()
    mom = model.transfer_moments(temperature=T)
    assert math.isclose(mom.log_partition, model.log_partition(temperature=T), abs_tol=1e-12)
    assert math.isclose(model.transfer_log_partition(temperature=T), mom.log_partition, abs_tol=1e-12)
    assert np.allclose(mom.marginals, model.marginals(temperature=T), atol=1e-13)
    pair = S[:, :-1] * S[:, 1:]
    if periodic:
        pair = np.concatenate([pair, S[:, -1:] * S[:, :1]], axis=1)
    assert np.allclose(mom.bond_correlations, p @ pair, atol=1e-13)
    assert math.isclose(mom.mean_energy, p @ model.energy(S), abs_tol=1e-12)
    draws = model.exact_samples(20_000, temperature=T, rng=3)
    assert draws.shape == (20_000, n) and draws.dtype == np.int8
    assert D.tv_test_states(draws, p, rng=4).passed
    assert not D.tv_test_states(draws, model.probabilities(temperature=1.3 * T), rng=4).passed


def test_transfer_matrices_at_large_n_and_low_temperature():
    n = 2000
    model = D.IsingChain(n, 1.0)
    T = 0.05          # exp(J/T) = e^20: the rescaling must prevent overflow
    closed = math.log(2) + (n - 1) * math.log(2 * math.cosh(1.0 / T))
    assert math.isclose(model.transfer_log_partition(temperature=T), closed, rel_tol=1e-12)
    mom = D.IsingChain(n, 1.0, fields=0.3).transfer_moments(temperature=1.0)
    assert np.all(np.isfinite(mom.magnetizations)) and np.all(mom.magnetizations > 0)
    # ring without fields: E[x_i x_{i+1}] = tanh(J/T) up to exp(-n / xi)
    ring = D.IsingChain(200, 1.0, periodic=True).transfer_moments(temperature=2.0)
    assert np.allclose(ring.bond_correlations, math.tanh(0.5), atol=1e-12)


def test_pairwise_model_energy_fields_and_samplers():
    model = D.PairwiseModel.long_range(6, 0.8, exponent=1.5, fields=np.linspace(-0.5, 0.5, 6))
    J = model.couplings
    assert np.allclose(J, J.T) and np.all(np.diag(J) == 0) and math.isclose(J[0, 2], 0.8 / 2**1.5)
    S = model.states()
    f = model.local_field(S)
    for i in range(6):
        flipped = S.copy()
        flipped[:, i] *= -1
        assert np.allclose(model.energy(flipped) - model.energy(S), 2 * S[:, i] * f[:, i])
    # a chain written as a pairwise model has the chain's energy
    chain = D.IsingChain(5, [0.5, -0.2, 0.3, 0.9], fields=[0.1, 0.0, -0.4, 0.2, 0.3])
    Jc = np.zeros((5, 5))
    for i, c in enumerate(chain.couplings):
        Jc[i, i + 1] = Jc[i + 1, i] = c
    as_pairs = D.PairwiseModel(Jc, fields=chain.fields)
    assert np.allclose(as_pairs.energy(chain.states()), chain.energy(chain.states()))
    T = 0.9
    p = model.probabilities(temperature=T)
    x0 = np.random.default_rng(2).choice([-1, 1], size=(6000, 6))
    for sampler in (D.metropolis_flips, D.gibbs_sampler):
        run = sampler(model, x0, n_sweeps=60, temperature=T, rng=3, burn_in=59)
        assert D.tv_test_states(run.final, p, rng=4).passed
        assert not D.tv_test_states(run.final, model.probabilities(temperature=1.4 * T), rng=4).passed
    P = model.transition_matrix(method="gibbs", temperature=T)
    assert np.allclose(p @ P, p, atol=1e-14)


def test_metropolis_hastings_and_the_uncorrected_negative_control():
    model = D.IsingChain(6, 0.8, fields=np.linspace(-0.5, 0.5, 6))
    T, theta = 0.9, 0.75
    p = model.probabilities(temperature=T)
    shifted = D.IsingChain(6, 0.8, fields=model.fields + T / 2 * math.log(theta / (1 - theta)))
    p_shift = shifted.probabilities(temperature=T)
    P = model.transition_matrix(method="metropolis-hastings", temperature=T, proposal_plus=theta)
    flux = p[:, None] * P
    assert np.allclose(flux, flux.T, atol=1e-15) and np.allclose(p @ P, p, atol=1e-14)
    Pu = model.transition_matrix(method="uncorrected", temperature=T, proposal_plus=theta)
    assert np.allclose(p_shift @ Pu, p_shift, atol=1e-14) and np.abs(p @ Pu - p).max() > 1e-3
    # theta = 1/2: the biased coin is a fair coin, MH = Metropolis with half the flips proposed
    Ph = model.transition_matrix(method="metropolis-hastings", temperature=T, proposal_plus=0.5)
    Pm = model.transition_matrix(method="metropolis", temperature=T)
    off = ~np.eye(len(P), dtype=bool)
    assert np.allclose(Ph[off], 0.5 * Pm[off])
    x0 = np.random.default_rng(2).choice([-1, 1], size=(6000, 6))
    good = D.metropolis_hastings(model, x0, n_sweeps=80, proposal_plus=theta, temperature=T, rng=3,
                                 burn_in=79)
    bad = D.metropolis_hastings(model, x0, n_sweeps=80, proposal_plus=theta, temperature=T, rng=3,
                                burn_in=79, correct=False)
    assert D.tv_test_states(good.final, p, rng=4).passed
    assert not D.tv_test_states(bad.final, p, rng=4).passed
    assert D.tv_test_states(bad.final, p_shift, rng=4).passed
    with pytest.raises(ValueError, match="proposal_plus"):
        D.metropolis_hastings(model, x0, n_sweeps=1, proposal_plus=1.0)


def test_sparse_matrix_and_exact_mixing_quantities():
    model = D.IsingChain(6, 1.0, fields=np.linspace(-0.4, 0.4, 6))
    T = 0.8
    for method in ("metropolis", "gibbs"):
        dense = model.transition_matrix(method=method, temperature=T)
        sparse = D.sparse_transition_matrix(model, method=method, temperature=T)
        assert np.allclose(sparse.toarray(), dense, atol=1e-15)
        # tau from the eigen-decomposition of the dense one-sweep kernel
        p = model.probabilities(temperature=T)
        root = np.sqrt(p)
        S = root[:, None] * dense / root[None, :]
        lam, vec = np.linalg.eigh((S + S.T) / 2)
        f = model.states().mean(axis=1)
        g = root * (f - p @ f)
        c = (vec.T @ g) ** 2
        mu = lam**6
        keep = lam < 1 - 1e-12
        tau = 2 * np.sum(c[keep] / (1 - mu[keep])) / np.sum(c) - 1
        assert math.isclose(D.exact_autocorrelation_time(model, f, method=method, temperature=T),
                            tau, rel_tol=1e-8)
        second = np.sort(np.abs(lam))[-2]
        assert math.isclose(D.relaxation_time(model, method=method, temperature=T),
                            1 / (6 * -math.log(second)), rel_tol=1e-6)
        start = np.zeros(64)
        start[-1] = 1.0                                     # all +1
        K = np.linalg.matrix_power(dense, 6)
        mu_t = start @ np.linalg.matrix_power(K, 5)
        assert math.isclose(D.tv_after_sweeps(model, start, [5], method=method, temperature=T)[0],
                            0.5 * np.abs(mu_t - p).sum(), rel_tol=1e-9)
    # Glauber's closed form for the zero-field ring
    ring = D.IsingChain(8, 1.0, periodic=True)
    r = (1 - (1 - math.tanh(2 / 1.2)) / 8) ** 8
    tau = D.exact_autocorrelation_time(ring, ring.states().mean(axis=1), method="gibbs",
                                       temperature=1.2)
    assert math.isclose(tau, (1 + r) / (1 - r), rel_tol=1e-8)


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda: D.PairwiseModel(np.ones((3, 3))), "couplings"),
        (lambda: D.PairwiseModel(np.array([[0.0, 1.0], [2.0, 0.0]])), "couplings"),
        (lambda: D.PairwiseModel(np.zeros((3, 2))), "couplings"),
        (lambda: D.PairwiseModel(np.zeros((3, 3)), fields=[1.0, 2.0]), "fields"),
        (lambda: D.IsingChain(4).exact_samples(0), "size"),
        (lambda: D.IsingChain(4).transfer_moments(temperature=-1.0), "temperature"),
        (lambda: D.sparse_transition_matrix(D.IsingChain(17)), "n must be <= 16"),
        (lambda: D.sparse_transition_matrix(D.IsingChain(4), method="heat"), "method"),
        (lambda: D.exact_autocorrelation_time(D.IsingChain(4), np.ones(8)), "observable"),
        (lambda: D.exact_autocorrelation_time(D.IsingChain(4), np.ones(16)), "constant"),
        (lambda: D.tv_after_sweeps(D.IsingChain(4), np.ones(16), [1]), "initial"),
        (lambda: D.tv_after_sweeps(D.IsingChain(4), np.ones(16) / 16, [3, 1]), "sweeps"),
    ],
)
def test_new_bad_input_raises_value_error(call, word):
    with pytest.raises(ValueError, match=word):
        call()


# ---- exact checks of transition matrices, moment z-scores, TV power, SymPy acceptance -------


def test_stationary_distribution_and_detailed_balance_violation():
    model = D.IsingChain(5, 1.0, fields=np.linspace(-0.3, 0.3, 5))
    p = model.probabilities(temperature=0.9)
    for method in ("metropolis", "gibbs"):
        random = model.transition_matrix(method=method, temperature=0.9)
        sweep = model.transition_matrix(method=method, temperature=0.9, scan="systematic")
        assert np.abs(D.stationary_distribution(random) - p).max() < 1e-12
        assert np.abs(D.stationary_distribution(sweep) - p).max() < 1e-12
        assert D.detailed_balance_violation(random, p) < 1e-15
        # a systematic sweep is stationary but not reversible (the check can fail)
        assert D.detailed_balance_violation(sweep, p) > 1e-4
    # a 3-state cycle: uniform stationary law, maximal imbalance
    cycle = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert np.allclose(D.stationary_distribution(cycle), 1 / 3)
    assert D.detailed_balance_violation(cycle, np.full(3, 1 / 3)) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="P must be a square"):
        D.stationary_distribution(np.ones((2, 3)))
    with pytest.raises(ValueError, match="p must have shape"):
        D.detailed_balance_violation(cycle, np.ones(2) / 2)


def test_moment_z_scores_against_exact_samples_and_a_wrong_temperature():
    model = D.IsingChain(30, 1.0, fields=0.4 * np.cos(2 * np.pi * np.arange(30) / 12))
    exact = model.transfer_moments(temperature=1.0)
    warm = model.transfer_moments(temperature=1.1)
    draws = model.exact_samples(4000, temperature=1.0, rng=5)
    z = D.moment_z_scores(model, draws, exact=exact)
    energy = model.energy(draws)
    assert z.mean_energy == pytest.approx(energy.mean())
    assert z.se_energy == pytest.approx(energy.std(ddof=1) / math.sqrt(4000))
    assert z.z_marginals.shape == (30,)
    assert abs(z.z_energy) <= 4 and z.max_abs_z_marginal <= 4
    assert abs(z.z_energy_against(warm.mean_energy)) > 4          # a 10% temperature error
    hot = D.moment_z_scores(model, model.exact_samples(4000, temperature=1.5, rng=6), exact=exact)
    assert abs(hot.z_energy) > 4
    with pytest.raises(ValueError, match="constant"):
        D.moment_z_scores(model, np.ones((10, 30), dtype=int), exact=exact)
    with pytest.raises(ValueError, match="samples"):
        D.moment_z_scores(model, draws[0], exact=exact)


def test_tv_power_states_level_and_power():
    model = D.IsingChain(6, 1.0, fields=0.3)
    p = model.probabilities(temperature=1.0)
    level = D.tv_power_states(p, p, size=2000, n_repeats=200, rng=1, test_rng=0)
    assert level.n_repeats == 200 and level.rate <= 0.01 + 4 * math.sqrt(0.01 * 0.99 / 200)
    far = D.tv_power_states(model.probabilities(temperature=2.0), p, size=2000, n_repeats=50, rng=2)
    assert far.rate == 1.0
    # the same seeds give the same rate (the bootstrap threshold is cached, not redrawn)
    again = D.tv_power_states(model.probabilities(temperature=2.0), p, size=2000, n_repeats=50, rng=2)
    assert again.rate == far.rate
    with pytest.raises(ValueError, match="p_true"):
        D.tv_power_states(np.ones(6) / 6, np.ones(6) / 6, size=10)
    with pytest.raises(ValueError, match="p_test"):
        D.tv_power_states(p, p[:8], size=10)
    with pytest.raises(ValueError, match="size"):
        D.tv_power_states(p, p, size=0)


def test_min_one_exp_resolves_the_sign_sympy_can_prove():
    import sympy as sp

    E, T, delta = sp.symbols("E T delta", positive=True)
    x = sp.Symbol("x", real=True)
    assert D.min_one_exp(-delta / T) == sp.exp(-delta / T)
    assert D.min_one_exp(delta / T) == 1
    assert D.min_one_exp(sp.Integer(0)) == 1
    assert D.min_one_exp(x) == sp.Min(1, sp.exp(x))
    # detailed balance of the Metropolis rule, uphill and downhill
    pi = lambda e: sp.exp(-e / T)
    rule = lambda a, b: D.min_one_exp(-(b - a) / T)
    for a, b in [(E, E + delta), (E + delta, E)]:
        assert sp.simplify(pi(a) * rule(a, b) - pi(b) * rule(b, a)) == 0
