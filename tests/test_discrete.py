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
