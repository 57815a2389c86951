"""Samplers against closed-form results, with tolerances from their own Monte Carlo error.

The variance checks use many independent chains started *in* the stationary
law, so the final states are i.i.d. draws and the standard error of the sample
variance of a Gaussian is exact: ``var * sqrt(2 / (n - 1))``. Each check at
|z| <= 4 has a false-alarm probability of 6e-5; each has a negative control
that the same test rejects.
"""

import math

import numpy as np
import pytest
import sympy as sp

import lib

Z_MAX = 4.0


def variance_z(samples, exact):
    samples = np.asarray(samples)
    n = samples.size
    var = samples.var(ddof=1)
    return (var - exact) / (exact * math.sqrt(2.0 / (n - 1)))


def ula_ou_variance(a, h, T):
    """Exact stationary variance of x <- x - h a x + sqrt(2 T h) xi."""
    return T / (a * (1 - a * h / 2))


@pytest.mark.parametrize("a,h,T", [(1.0, 0.1, 1.0), (2.0, 0.3, 0.5), (1.0, 1.0, 1.0)])
def test_langevin_ou_stationary_variance_matches_discrete_formula(a, h, T):
    n = 200_000
    exact = ula_ou_variance(a, h, T)
    x0 = np.random.default_rng(1).normal(0, math.sqrt(exact), n)  # start in the ULA's stationary law
    chain = lib.langevin(lib.potentials.quadratic(a), x0, step=h, n_steps=20, temperature=T, rng=2, burn_in=19)
    assert chain.samples.shape == (1, n)
    assert abs(variance_z(chain.final, exact)) < Z_MAX
    assert abs(chain.final.mean()) < Z_MAX * math.sqrt(exact / n)
    # negative control: the continuous-time answer T/a is rejected at these step sizes
    assert abs(variance_z(chain.final, T / a)) > Z_MAX


def test_mala_is_exact_where_langevin_is_biased():
    a, h, T, n = 1.0, 0.8, 0.7, 200_000
    exact = T / a
    x0 = np.random.default_rng(3).normal(0, math.sqrt(exact), n)
    U = lib.potentials.quadratic(a)
    chain = lib.mala(U, x0, step=h, n_steps=30, temperature=T, rng=4, burn_in=29)
    assert abs(variance_z(chain.final, exact)) < Z_MAX
    assert 0.3 < chain.acceptance_rate.mean() < 1.0
    assert chain.acceptance_rate.shape == (n,)
    # negative control: ULA with the same step is rejected against T/a
    ula = lib.langevin(U, x0, step=h, n_steps=30, temperature=T, rng=4)
    assert abs(variance_z(ula.final, exact)) > Z_MAX


@pytest.mark.parametrize("scale", [0.5, 2.0, 5.0])
def test_metropolis_acceptance_rate_closed_form(scale):
    """For a N(0, 1) target and N(0, s^2) proposals the acceptance rate is (2/pi) arctan(2/s)."""
    n, steps = 20_000, 25
    x0 = np.random.default_rng(5).standard_normal(n)
    chain = lib.metropolis(lib.potentials.quadratic(1.0), x0, scale=scale, n_steps=steps, temperature=1.0, rng=6)
    exact = 2 / math.pi * math.atan(2 / scale)
    # per-step accept indicators: across independent chains in stationarity, the mean
    # over chains and steps has variance at most p(1-p)/n per step (correlation over steps
    # only within a chain); bound with the conservative n chains (not n * steps)
    se = math.sqrt(exact * (1 - exact) / n)
    assert abs(chain.acceptance_rate.mean() - exact) < Z_MAX * se
    assert abs(variance_z(chain.final, 1.0)) < Z_MAX
    # negative control: the acceptance formula with the wrong scale is rejected
    assert abs(chain.acceptance_rate.mean() - 2 / math.pi * math.atan(2 / (1.5 * scale))) > Z_MAX * se


def test_two_dimensional_mala_covariance():
    A = np.array([[2.0, 0.6], [0.6, 1.0]])
    cov = np.linalg.inv(A)
    n = 100_000
    x0 = np.random.default_rng(7).multivariate_normal(np.zeros(2), cov, size=n)
    chain = lib.mala(lib.potentials.quadratic(A), x0, step=0.4, n_steps=10, temperature=1.0, rng=8, burn_in=9)
    assert chain.samples.shape == (1, n, 2) and chain.acceptance_rate.shape == (n,)
    for i in range(2):
        assert abs(variance_z(chain.final[:, i], cov[i, i])) < Z_MAX
    # off-diagonal: the sample covariance's standard error is sqrt((s11 s22 + s12^2) / n)
    c12 = np.cov(chain.final.T)[0, 1]
    se = math.sqrt((cov[0, 0] * cov[1, 1] + cov[0, 1] ** 2) / n)
    assert abs(c12 - cov[0, 1]) < Z_MAX * se
    assert abs(c12 - 0.0) > Z_MAX * se  # negative control: independence is rejected


def test_langevin_from_sympy_potential_matches_factory():
    x = sp.Symbol("x")
    U_sym = lib.Potential.from_sympy(x**4 / 4 - x**2 / 2 + sp.Rational(1, 4), x)
    U_fast = lib.potentials.double_well()
    x0 = np.linspace(-2, 2, 101)
    a = lib.langevin(U_sym, x0, step=0.01, n_steps=50, temperature=0.3, rng=9)
    b = lib.langevin(U_fast, x0, step=0.01, n_steps=50, temperature=0.3, rng=9)
    np.testing.assert_allclose(a.samples, b.samples, rtol=1e-10, atol=1e-12)


def test_euler_maruyama_reproduces_langevin():
    U = lib.potentials.double_well()
    x0 = np.linspace(-2, 2, 64)
    T, h = 0.4, 0.01
    a = lib.langevin(U, x0, step=h, n_steps=40, temperature=T, rng=11)
    b = lib.euler_maruyama(lambda x: -U.grad(x), math.sqrt(2 * T), x0, dt=h, n_steps=40, rng=11)
    np.testing.assert_allclose(a.samples, b, rtol=1e-10, atol=1e-12)


def test_euler_maruyama_geometric_brownian_motion_mean():
    """dx = mu x dt + s x dW has E[x_t] = x0 exp(mu t); Euler's mean is x0 (1 + mu dt)^n exactly."""
    mu, s, dt, n_steps, n = 0.5, 0.4, 0.01, 100, 100_000
    xs = lib.euler_maruyama(lambda x: mu * x, lambda x: s * x, np.ones(n), dt=dt, n_steps=n_steps, rng=12)
    final = xs[-1]
    exact_mean = (1 + mu * dt) ** n_steps
    se = final.std(ddof=1) / math.sqrt(n)
    assert abs(final.mean() - exact_mean) < Z_MAX * se
    assert xs.shape == (n_steps, n)


def test_same_seed_same_chain_and_generator_accepted():
    U = lib.potentials.double_well()
    a = lib.mala(U, np.zeros(10), step=0.1, n_steps=20, rng=3)
    b = lib.mala(U, np.zeros(10), step=0.1, n_steps=20, rng=3)
    c = lib.mala(U, np.zeros(10), step=0.1, n_steps=20, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(a.samples, c.samples)
    d = lib.mala(U, np.zeros(10), step=0.1, n_steps=20, rng=4)
    assert not np.array_equal(a.samples, d.samples)


def test_burn_in_thin_and_final():
    U = lib.potentials.quadratic(1.0)
    full = lib.langevin(U, np.zeros(3), step=0.1, n_steps=10, rng=0)
    part = lib.langevin(U, np.zeros(3), step=0.1, n_steps=10, rng=0, burn_in=2, thin=3)
    assert full.samples.shape == (10, 3)
    assert part.samples.shape == (len(range(2, 10, 3)), 3)
    np.testing.assert_array_equal(part.samples, full.samples[2::3])
    np.testing.assert_array_equal(full.final, full.samples[-1])
    none = lib.langevin(U, np.zeros(3), step=0.1, n_steps=0, rng=0)
    assert none.samples.shape == (0, 3)
    np.testing.assert_array_equal(none.final, np.zeros(3))


def test_fortran_ordered_x0_gives_the_same_chain():
    A = np.array([[2.0, 0.6], [0.6, 1.0]])
    x0 = np.random.default_rng(0).normal(size=(2, 500)).T  # (500, 2), Fortran order
    assert not x0.flags.c_contiguous
    for sampler, kw in (("mala", dict(step=0.3)), ("metropolis", dict(scale=0.5)), ("langevin", dict(step=0.1))):
        a = getattr(lib, sampler)(lib.potentials.quadratic(A), x0, n_steps=5, rng=1, **kw)
        b = getattr(lib, sampler)(lib.potentials.quadratic(A), np.ascontiguousarray(x0), n_steps=5, rng=1, **kw)
        np.testing.assert_array_equal(a.samples, b.samples)


def test_x0_is_not_modified_and_single_chain_works():
    x0 = np.array([0.5, -0.5])
    lib.mala(lib.potentials.double_well(), x0, step=0.1, n_steps=5, rng=0)
    np.testing.assert_array_equal(x0, [0.5, -0.5])
    single = lib.langevin(lib.potentials.double_well(), 0.3, step=0.1, n_steps=5, rng=0)
    assert single.samples.shape == (5,) and single.final.shape == ()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(step=0.0), "step"),
        (dict(step=-1.0), "step"),
        (dict(step=float("nan")), "step"),
        (dict(temperature=0.0), "temperature"),
        (dict(temperature=-2.0), "temperature"),
        (dict(n_steps=-1), "n_steps"),
        (dict(n_steps=2.5), "n_steps"),
        (dict(burn_in=11), "burn_in"),
        (dict(burn_in=-1), "burn_in"),
        (dict(thin=0), "thin"),
        (dict(rng="seed"), "rng"),
    ],
)
@pytest.mark.parametrize("sampler", ["langevin", "mala", "metropolis"])
def test_bad_arguments_raise_value_error_naming_the_parameter(sampler, kwargs, match):
    args = dict(n_steps=10, temperature=1.0, rng=0)
    args["scale" if sampler == "metropolis" else "step"] = 0.1
    if "step" in kwargs and sampler == "metropolis":
        kwargs = {"scale": kwargs["step"]}
        match = "scale"
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        getattr(lib, sampler)(lib.potentials.double_well(), np.zeros(4), **args)


def test_bad_x0_raises():
    U1 = lib.potentials.double_well()
    U2 = lib.potentials.quadratic(np.eye(2))
    with pytest.raises(ValueError, match="x0 must be finite"):
        lib.langevin(U1, np.array([0.0, np.nan]), step=0.1, n_steps=1)
    with pytest.raises(ValueError, match="1-D"):
        lib.langevin(U1, np.zeros((4, 2)), step=0.1, n_steps=1)
    with pytest.raises(ValueError, match="2-D"):
        lib.mala(U2, np.zeros((4, 3)), step=0.1, n_steps=1)
    with pytest.raises(ValueError, match="lib.Potential"):
        lib.langevin(lambda x: x, np.zeros(3), step=0.1, n_steps=1)


def test_divergence_says_step_too_large():
    U = lib.potentials.quadratic(1.0)  # ULA is stable iff h < 2/a
    with pytest.raises(lib.DivergenceError, match=r"step=2\.5 is too large") as info:
        lib.langevin(U, np.ones(5), step=2.5, n_steps=10_000, rng=0)
    assert "diverged at step" in str(info.value) and "chain" in str(info.value)
    assert isinstance(info.value, ValueError)
    # just below the limit it runs (and stays finite)
    chain = lib.langevin(U, np.ones(5), step=1.9, n_steps=2000, rng=0)
    assert np.all(np.isfinite(chain.samples))


def test_domain_errors_raise_divergence_not_silent_nan():
    """L = x - 2 log x (Gamma(3, 1) at T = 1) is undefined for x <= 0.

    ULA with a large step jumps below 0, where the gradient is NaN: it must raise
    DivergenceError, not return NaN. MALA rejects such proposals (their energy is
    NaN), so its chain stays finite and positive.
    """
    x = sp.Symbol("x")
    U = lib.Potential.from_sympy(x - 2 * sp.log(x), x)
    x0 = np.full(200, 0.5)
    with pytest.raises(lib.DivergenceError, match="step=1 is too large"):
        lib.langevin(U, x0, step=1.0, n_steps=200, rng=0)
    chain = lib.mala(U, x0, step=1.0, n_steps=200, rng=0)
    assert np.all(np.isfinite(chain.samples)) and np.all(chain.samples > 0)
    # division by zero: L = 1/x^2 + x^2 started at 0 is infinite there
    V = lib.Potential.from_sympy(1 / x**2 + x**2, x)
    with pytest.raises(ValueError, match="not finite at x0"):
        lib.mala(V, np.array([0.0, 1.0]), step=0.1, n_steps=3, rng=0)
    with pytest.raises(lib.DivergenceError):
        lib.langevin(V, np.array([0.0, 1.0]), step=0.1, n_steps=3, rng=0)


def test_euler_maruyama_validation_and_divergence():
    with pytest.raises(ValueError, match="dt"):
        lib.euler_maruyama(lambda x: -x, 1.0, np.zeros(3), dt=0.0, n_steps=3)
    with pytest.raises(ValueError, match="diffusion"):
        lib.euler_maruyama(lambda x: -x, -1.0, np.zeros(3), dt=0.1, n_steps=3)
    with pytest.raises(lib.DivergenceError, match="dt=0.5 is too large"):
        lib.euler_maruyama(lambda x: -x**3, 1.0, np.full(3, 10.0), dt=0.5, n_steps=100, rng=0)


# --------------------------------------------------------------------------
# property tests of the input validation
# --------------------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

bad_positive = st.one_of(
    st.floats(max_value=0.0, allow_nan=False), st.just(float("nan")), st.just(float("inf"))
)
samplers = st.sampled_from(["langevin", "mala", "metropolis"])


def call(sampler, x0, **overrides):
    args = dict(n_steps=3, temperature=1.0, rng=0)
    args["scale" if sampler == "metropolis" else "step"] = 0.1
    args.update(overrides)
    return getattr(lib, sampler)(lib.potentials.double_well(), x0, **args)


@settings(max_examples=60, deadline=None)
@given(sampler=samplers, value=bad_positive, which=st.sampled_from(["step", "temperature"]))
def test_property_non_positive_or_non_finite_parameters_rejected(sampler, value, which):
    name = "scale" if (which == "step" and sampler == "metropolis") else which
    with pytest.raises(ValueError, match=name):
        call(sampler, np.zeros(3), **{name: value})


@settings(max_examples=60, deadline=None)
@given(sampler=samplers, n_steps=st.integers(0, 20), data=st.data())
def test_property_burn_in_and_thin_ranges(sampler, n_steps, data):
    burn_in = data.draw(st.integers(-5, 30))
    thin = data.draw(st.integers(-2, 5))
    if 0 <= burn_in <= n_steps and thin >= 1:
        chain = call(sampler, np.zeros(2), n_steps=n_steps, burn_in=burn_in, thin=thin)
        assert chain.samples.shape == (len(range(burn_in, n_steps, thin)), 2)
    else:
        with pytest.raises(ValueError, match="burn_in|thin"):
            call(sampler, np.zeros(2), n_steps=n_steps, burn_in=burn_in, thin=thin)


@settings(max_examples=40, deadline=None)
@given(sampler=samplers, shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), dim=st.integers(1, 3))
def test_property_x0_shape_must_fit_dimension(sampler, shape, dim):
    U = lib.potentials.double_well() if dim == 1 else lib.potentials.quadratic(np.eye(dim))
    x0 = np.zeros(shape)
    fits = (dim == 1 and len(shape) == 1) or (dim > 1 and len(shape) in (1, 2) and shape[-1] == dim)
    args = dict(n_steps=2, rng=0)
    args["scale" if sampler == "metropolis" else "step"] = 0.1
    if fits:
        chain = getattr(lib, sampler)(U, x0, **args)
        assert chain.final.shape == x0.shape
    else:
        with pytest.raises(ValueError, match="x0"):
            getattr(lib, sampler)(U, x0, **args)


@settings(max_examples=30, deadline=None)
@given(sampler=samplers, position=st.integers(0, 3), bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_property_non_finite_x0_rejected(sampler, position, bad):
    x0 = np.zeros(4)
    x0[position] = bad
    with pytest.raises(ValueError, match="x0 must be finite"):
        call(sampler, x0)
