"""The Fokker-Planck solver: closed forms, conservation properties (hypothesis) and validation."""

import math

import numpy as np
import pytest
import scipy.integrate
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import lib


def gaussian(grid, mean, var):
    return np.exp(-((grid - mean) ** 2) / (2 * var)) / math.sqrt(2 * math.pi * var)


def test_gibbs_density_of_quadratic_is_gaussian():
    grid = np.linspace(-8, 8, 801)
    p = lib.gibbs_density(lib.potentials.quadratic(2.0, center=1.0), grid, temperature=0.5)
    assert np.sum(p) * (grid[1] - grid[0]) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(p, gaussian(grid, 1.0, 0.25), atol=1e-10)


def test_ou_transition_density_closed_form():
    """OU: N(m0, v0) at t=0 evolves to N(m0 e^{-at}, v0 e^{-2at} + T/a (1 - e^{-2at}))."""
    a, T, m0, v0 = 1.5, 0.4, 2.0, 0.05
    grid = np.linspace(-4, 5, 721)
    dx = grid[1] - grid[0]
    times = [0.1, 0.5, 2.0]
    ps = lib.fokker_planck(lib.potentials.quadratic(a), grid, gaussian(grid, m0, v0), temperature=T, times=times)
    for t, p in zip(times, ps):
        exact = gaussian(grid, m0 * math.exp(-a * t), v0 * math.exp(-2 * a * t) + T / a * (1 - math.exp(-2 * a * t)))
        l1 = np.abs(p - exact).sum() * dx
        assert l1 < 2e-3, (t, l1)  # the scheme is O(dx^2); dx = 0.0125
        # negative control: the same comparison at the wrong temperature fails
        wrong = gaussian(grid, m0 * math.exp(-a * t), v0 * math.exp(-2 * a * t) + 2 * T / a * (1 - math.exp(-2 * a * t)))
        assert np.abs(p - wrong).sum() * dx > 10 * l1


def test_second_order_in_space():
    a, T = 1.0, 1.0
    errors = []
    for m in (101, 201, 401):
        grid = np.linspace(-6, 6, m)
        p0 = gaussian(grid, 1.0, 0.3)
        p = lib.fokker_planck(lib.potentials.quadratic(a), grid, p0, temperature=T, times=[0.4])[0]
        exact = gaussian(grid, math.exp(-0.4), 0.3 * math.exp(-0.8) + (1 - math.exp(-0.8)))
        errors.append(np.abs(p - exact).sum() * (grid[1] - grid[0]))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(orders > 1.8), orders


def test_relaxes_to_gibbs_double_well():
    U = lib.potentials.double_well()
    grid = np.linspace(-2.5, 2.5, 201)
    p0 = gaussian(grid, 2.0, 0.01)
    p = lib.fokker_planck(U, grid, p0, temperature=0.3, times=[500.0])[0]
    np.testing.assert_allclose(p, lib.gibbs_density(U, grid, temperature=0.3), atol=1e-9)


def test_times_in_any_order():
    U = lib.potentials.double_well()
    grid = np.linspace(-2, 2, 81)
    p0 = gaussian(grid, 1.0, 0.1)
    a = lib.fokker_planck(U, grid, p0, temperature=0.5, times=[0.0, 0.3, 1.0])
    b = lib.fokker_planck(U, grid, p0, temperature=0.5, times=[1.0, 0.0, 0.3])
    np.testing.assert_allclose(a[[2, 0, 1]], b, atol=1e-13)
    np.testing.assert_allclose(a[0] * (grid[1] - grid[0]), p0 / p0.sum(), atol=1e-15)


coefficients = st.tuples(
    st.floats(0.1, 2.0), st.floats(-2.0, 2.0), st.floats(-1.0, 1.0), st.floats(-1.0, 1.0)
)


def polynomial_potential(c4, c2, c1, c3):
    x = sp.Symbol("x")
    return lib.Potential.from_sympy(
        sp.nsimplify(c4) * x**4 + sp.nsimplify(c3) * x**3 + sp.nsimplify(c2) * x**2 + sp.nsimplify(c1) * x, x
    )


@settings(max_examples=25, deadline=None)
@given(
    coefs=coefficients,
    temperature=st.floats(0.05, 3.0),
    seed=st.integers(0, 2**16),
    t=st.floats(0.0, 50.0),
)
def test_mass_positivity_and_gibbs_fixed_point(coefs, temperature, seed, t):
    U = polynomial_potential(*coefs)
    grid = np.linspace(-2.0, 2.0, 61)
    dx = grid[1] - grid[0]
    p0 = np.random.default_rng(seed).random(grid.size) ** 3
    p = lib.fokker_planck(U, grid, p0, temperature=temperature, times=[t])[0]
    assert np.all(p >= 0)
    assert p.sum() * dx == pytest.approx(1.0, abs=1e-10)
    gibbs = lib.gibbs_density(U, grid, temperature=temperature)
    stay = lib.fokker_planck(U, grid, gibbs, temperature=temperature, times=[t])[0]
    np.testing.assert_allclose(stay, gibbs, rtol=1e-8, atol=1e-12 * gibbs.max())
    Q = lib.generator_matrix(U, grid, temperature=temperature)
    np.testing.assert_allclose(Q.sum(axis=0), 0.0, atol=1e-9 * np.abs(Q).max())
    assert np.all(Q - np.diag(np.diag(Q)) >= 0)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(temperature=0.0), "temperature"),
        (dict(grid=np.array([0.0, 1.0, 0.5])), "increasing"),
        (dict(grid=np.array([0.0, 0.1, 0.3, 0.4])), "uniform"),
        (dict(p0=-np.ones(11)), "non-negative"),
        (dict(p0=np.full(11, np.nan)), "finite"),
        (dict(p0=np.zeros(11)), "positive mass"),
        (dict(p0=np.ones(5)), "shape"),
        (dict(times=[-1.0]), "times"),
    ],
)
def test_fokker_planck_validation(kwargs, match):
    args = dict(grid=np.linspace(-1, 1, 11), p0=np.ones(11), temperature=1.0, times=[1.0])
    args.update(kwargs)
    if args["grid"].size != 11 and "p0" not in kwargs:
        args["p0"] = np.ones(args["grid"].size)
    with pytest.raises(ValueError, match=match):
        lib.fokker_planck(lib.potentials.double_well(), args.pop("grid"), args.pop("p0"), **args)


def test_gibbs_density_validation():
    with pytest.raises(ValueError, match="temperature"):
        lib.gibbs_density(lib.potentials.double_well(), np.linspace(-1, 1, 5), temperature=-1)
    with pytest.raises(ValueError, match="1-D potential"):
        lib.gibbs_density(lib.potentials.quadratic(np.eye(2)), np.linspace(-1, 1, 5))


# ---- the independent central scheme, steady states, ULA's invariant law, OU kernel ----

import sys  # noqa: E402

# the module (the attribute lib.fokker_planck is the solver function)
fpm = sys.modules["lib.fokker_planck"]


def test_central_scheme_steady_state_converges_to_gibbs_at_second_order():
    """Nothing in the central flux knows exp(-L/T): its steady state is Gibbs only as dx -> 0."""
    import scipy.integrate

    U = lib.potentials.double_well()
    T = 0.25
    errors, spacings = [], []
    for m in (160, 320, 640):
        grid = np.linspace(-2, 2, m)
        dx = grid[1] - grid[0]
        Q = fpm.central_generator(lambda x: -U.grad(x), 2 * T, grid)
        np.testing.assert_allclose(Q.sum(axis=0), 0.0, atol=1e-10 * np.abs(Q).max())
        p = fpm.steady_state(Q, grid)
        Z = scipy.integrate.quad(lambda y: math.exp(-float(U.energy(np.array([y]))[0]) / T),
                                 grid[0] - dx / 2, grid[-1] + dx / 2, points=[-1, 0, 1])[0]
        errors.append(np.abs(p - np.exp(-U.energy(grid) / T) / Z).sum() * dx)
        spacings.append(dx)
    slope = np.polyfit(np.log(spacings), np.log(errors), 1)[0]
    assert abs(slope - 2) < 0.05, slope
    assert errors[-1] < 3e-5
    # negative control: the steady state is far from the Gibbs density at 1.1 T
    wrong = np.exp(-U.energy(grid) / (1.1 * T))
    wrong /= wrong.sum() * dx
    assert np.abs(p - wrong).sum() * dx > 1000 * errors[-1]


def test_central_scheme_rejects_coarse_grids_and_matches_sg_in_time():
    U = lib.potentials.double_well()
    with pytest.raises(ValueError, match="Peclet"):
        fpm.central_generator(lambda x: -U.grad(x), 0.2, np.linspace(-2, 2, 60))
    with pytest.raises(ValueError, match="positive"):
        fpm.central_generator(0.0, -1.0, np.linspace(-2, 2, 60))
    grid = np.linspace(-2.5, 2.5, 301)
    p0 = gaussian(grid, 1.5, 0.05)
    Qc = fpm.central_generator(lambda x: -U.grad(x), 1.0, grid)
    pc = fpm.evolve(Qc, grid, p0, times=[0.7])[0]
    ps = lib.fokker_planck(U, grid, p0, temperature=0.5, times=[0.7])[0]
    assert np.abs(pc - ps).sum() * (grid[1] - grid[0]) < 2e-3


def test_steady_state_of_state_dependent_noise_matches_ito_density():
    """dx = -x dt + sqrt(2T(1 + k x^2)) dW: the numerical steady state is the Ito density."""
    T, k = 0.5, 0.5
    x = sp.Symbol("x", real=True)
    expr = lib.symbolic.ito_stationary_density(-x, 2 * T * (1 + k * x**2), x)
    density = sp.lambdify(x, expr, "numpy")
    grid = np.linspace(-8, 8, 801)
    dx = grid[1] - grid[0]
    Q = fpm.central_generator(lambda y: -y, lambda y: 2 * T * (1 + k * y**2), grid)
    p = fpm.steady_state(Q, grid)
    exact = density(grid) / (density(grid).sum() * dx)
    assert np.abs(p - exact).sum() * dx < 1e-3
    gibbs = np.exp(-grid**2 / (2 * T))
    gibbs /= gibbs.sum() * dx
    assert np.abs(p - gibbs).sum() * dx > 0.05          # 50x the accuracy above


def test_ula_invariant_density_quadratic_is_the_exact_ula_variance():
    """For L = a x^2/2 the ULA chain's invariant law is N(0, T / (a (1 - a h / 2)))."""
    a, T, h = 2.0, 0.5, 0.2
    grid = np.linspace(-4, 4, 801)
    dx = grid[1] - grid[0]
    p = fpm.ula_invariant_density(lib.potentials.quadratic(a), grid, step=h,
                                                temperature=T)
    assert p.sum() * dx == pytest.approx(1.0, abs=1e-12)
    var = (grid**2 * p).sum() * dx
    assert var == pytest.approx(T / (a * (1 - a * h / 2)), rel=1e-8)
    assert abs(var - T / a) > 0.05                      # not the Gibbs variance T/a
    with pytest.raises(ValueError, match="spacing"):
        fpm.ula_invariant_density(lib.potentials.quadratic(a),
                                                np.linspace(-4, 4, 20), step=h, temperature=T)


def test_ula_invariant_density_double_well_bias_is_first_order():
    U = lib.potentials.double_well()
    grid = np.linspace(-2.5, 2.5, 1001)
    dx = grid[1] - grid[0]
    bias = []
    for h in (0.01, 0.005):
        p = fpm.ula_invariant_density(U, grid, step=h, temperature=0.25)
        bias.append((grid * U.grad(grid) * p).sum() * dx - 0.25)   # E[x L'] - T
    assert bias[1] > 0 and bias[0] / bias[1] == pytest.approx(2.0, rel=0.05)


def test_ou_transition_density_matches_fokker_planck_and_sympy():
    a, T, x0 = 1.5, 0.4, 2.0
    grid = np.linspace(-3, 4, 561)
    dx = grid[1] - grid[0]
    v0 = 1e-3                                            # a narrow start approximates x0
    p = lib.fokker_planck(lib.potentials.quadratic(a), grid, gaussian(grid, x0, v0),
                          temperature=T, times=[0.5])[0]
    kernel = fpm.ou_transition_density(grid, x0, 0.5, stiffness=a, temperature=T)
    widened = gaussian(grid, x0 * math.exp(-a * 0.5),
                       v0 * math.exp(-a) + T / a * (1 - math.exp(-a)))
    assert np.abs(p - widened).sum() * dx < 2e-3
    assert np.abs(kernel - widened).sum() * dx < 2e-3
    xs, ys, ts = sp.symbols("x y t", real=True)
    expr = lib.symbolic.ou_transition_density(xs, ys, ts, stiffness=sp.Rational(3, 2),
                                              temperature=sp.Rational(2, 5))
    f = sp.lambdify((xs, ys, ts), expr, "numpy")
    np.testing.assert_allclose(f(grid, x0, 0.5), kernel, rtol=1e-12)
    with pytest.raises(ValueError, match="t must be"):
        fpm.ou_transition_density(grid, x0, 0.0)


# ---- general Ito SDEs dx = drift dt + sqrt(diffusion_sq) dW (moved from lib.sgd) ----


def test_ito_stationary_density_generator_and_first_passage():
    T, kappa = 0.5, 0.5
    grid = np.linspace(-8, 8, 3201)
    dx = grid[1] - grid[0]
    drift = lambda t: -t                                                 # noqa: E731
    b2 = lambda t: 2 * T * (1 + kappa * t**2)                            # noqa: E731
    p = fpm.ito_stationary_density(drift, b2, grid)
    exact = (1 + kappa * grid**2) ** (-1 - 1 / (2 * kappa * T))
    exact /= np.sum(exact) * dx
    assert np.allclose(p, exact, atol=2e-4)
    # negative control: the Gibbs density at the temperature of x = 0 is far off
    gibbs = np.exp(-grid**2 / (2 * T))
    gibbs /= gibbs.sum() * dx
    assert np.abs(p - gibbs).max() > 100 * 2e-4
    # generator: the Ito density is its null vector, columns conserve mass, rates positive
    Q = fpm.ito_generator_matrix(drift, b2, grid[::4])
    assert np.allclose(Q.sum(axis=0), 0, atol=1e-9)
    assert np.all(np.diag(Q, 1) > 0) and np.all(np.diag(Q, -1) > 0)
    p4 = fpm.ito_stationary_density(drift, b2, grid[::4])
    assert np.abs(Q @ p4).max() < 1e-10 * np.abs(Q).max()
    # Ornstein-Uhlenbeck dx = -2x dt + dW: gap = 2 (constants are accepted for both coefficients)
    assert np.isclose(fpm.spectral_gap(fpm.ito_generator_matrix(lambda t: -2 * t, 1.0,
                                                               np.linspace(-4, 4, 801))),
                      2.0, rtol=1e-3)
    # first-passage integral against a direct double quadrature (constant D = 0.3)
    L = lambda t: (t**2 - 1) ** 2 / 4                                    # noqa: E731
    g = np.linspace(-3, 1.2, 8001)
    tau = fpm.ito_first_passage_time(lambda t: t - t**3, 0.6, g, start=-1.0, target=1.0)
    inner = lambda y: scipy.integrate.quad(lambda z: np.exp(-L(z) / 0.3), -np.inf, y)[0]  # noqa: E731
    ref = scipy.integrate.quad(lambda y: np.exp(L(y) / 0.3) * inner(y), -1, 1)[0] / 0.3
    assert np.isclose(tau, ref, rtol=1e-4)
    mirrored = fpm.ito_first_passage_time(lambda t: t - t**3, lambda t: np.full_like(t, 0.6),
                                          -g[::-1], start=1.0, target=-1.0)
    assert np.isclose(mirrored, tau, rtol=1e-9)
    with pytest.raises(ValueError, match="diffusion_sq must be positive"):
        fpm.ito_stationary_density(drift, 0.0, grid)
    with pytest.raises(ValueError, match="at least 3 points"):
        fpm.ito_first_passage_time(drift, 1.0, grid, start=0.0, target=0.001)


def test_spectral_gap_of_every_generator_of_the_ou_process():
    """L = a x^2/2 at temperature T: the Fokker-Planck operator's gap is a, for all three schemes."""
    a, T = 1.5, 0.5
    grid = np.linspace(-4, 4, 401)
    U = lib.potentials.quadratic(a)
    for Q in (lib.generator_matrix(U, grid, temperature=T),
              fpm.central_generator(lambda x: -a * x, 2 * T, grid),
              fpm.ito_generator_matrix(lambda x: -a * x, 2 * T, grid)):
        gap = fpm.spectral_gap(Q)
        assert abs(gap - a) < 1e-3 * a, gap
        assert abs(gap - 1.1 * a) > 0.05 * a                             # a 10% error is seen
    with pytest.raises(ValueError, match="tridiagonal"):
        fpm.spectral_gap(np.ones((4, 4)))
    with pytest.raises(ValueError, match="square"):
        fpm.spectral_gap(np.ones((3, 4)))


# ---- Markov chains on the grid's cells ----


@pytest.mark.parametrize("quadrature, rtol", [("cells", 2e-3), ("nystrom", 1e-8)])
def test_gaussian_transition_matrix_of_an_ar1_chain(quadrature, rtol):
    """x' = c x + s xi: stationary variance s^2/(1 - c^2), second eigenvalue c."""
    c, s = 0.5, 0.5
    grid = np.linspace(-4, 4, 801)
    dx = grid[1] - grid[0]
    P = fpm.gaussian_transition_matrix(c * grid, s, grid, quadrature=quadrature)
    assert np.allclose(np.asarray(P.sum(axis=1)).ravel(), 1.0)
    p = fpm.kernel_stationary_density(P, grid)
    var = np.sum(grid**2 * p) * dx
    assert np.isclose(var, s**2 / (1 - c**2), rtol=rtol)
    assert not np.isclose(var, 1.1 * s**2 / (1 - c**2), rtol=0.05)      # a 10% error is seen
    assert np.isclose(fpm.kernel_relaxation(P), c, rtol=1e-3)
    # (kernel_first_passage is checked against simulated SGD chains in tests/test_sgd.py)


def test_ula_invariant_density_is_the_stationary_law_of_the_nystrom_kernel():
    """Consistency check (the same matrix, two linear solvers): ULA on L = a x^2/2."""
    a, T, h = 2.0, 0.5, 0.2
    grid = np.linspace(-4, 4, 801)
    P = fpm.gaussian_transition_matrix(grid - h * a * grid, math.sqrt(2 * T * h), grid,
                                       quadrature="nystrom")
    p = fpm.ula_invariant_density(lib.potentials.quadratic(a), grid, step=h, temperature=T)
    np.testing.assert_allclose(fpm.kernel_stationary_density(P, grid), p, rtol=1e-6,
                               atol=1e-12)


def test_chain_tools_validation():
    grid = np.linspace(-2, 2, 41)
    with pytest.raises(ValueError, match="quadrature"):
        fpm.gaussian_transition_matrix(grid, 0.5, grid, quadrature="midpoint")
    with pytest.raises(ValueError, match="sd must be positive"):
        fpm.gaussian_transition_matrix(grid, 0.0, grid)
    with pytest.raises(ValueError, match="spacing"):
        fpm.gaussian_transition_matrix(grid, 0.1, grid, quadrature="nystrom")
    with pytest.raises(ValueError, match="outside the grid"):
        fpm.gaussian_transition_matrix(grid + 100, 0.5, grid, quadrature="nystrom")
    with pytest.raises(ValueError, match="P must have shape"):
        fpm.kernel_stationary_density(np.eye(5), grid)
    with pytest.raises(ValueError, match="P must be a square"):
        fpm.kernel_relaxation(np.eye(3))


# ---- moments and rates for the checks of chapters 3-5 ----


def test_gibbs_mean_quadratic_moments_and_the_virial_identity():
    """L = a x^2/2: E[x^2] = T/a and E[L] = T/2; on the double well E[x L'] = T exactly."""
    a, T = 2.0, 0.3
    U = lib.potentials.quadratic(a)
    grid = np.linspace(-4.0, 4.0, 4001)
    assert fpm.gibbs_mean(U, np.square, temperature=T, grid=grid) == pytest.approx(T / a, rel=1e-12)
    assert fpm.gibbs_mean(U, U.energy, temperature=T, grid=grid) == pytest.approx(T / 2, rel=1e-12)
    # negative control: a 10% temperature error is visible in the energy
    hot = fpm.gibbs_mean(U, U.energy, temperature=1.1 * T, grid=grid)
    assert abs(hot - T / 2) > 0.05 * T / 2
    W = lib.potentials.double_well()
    for T_w in (0.1, 0.25, 0.5):
        vir = fpm.gibbs_mean(W, lambda y: fpm.virial(W, y), temperature=T_w, grid=grid)
        assert vir == pytest.approx(T_w, rel=1e-10)
    # independent quadrature of E[L] on the double well
    weight = lambda s: math.exp(-float(W.energy(np.array([s]))[0]) / 0.25)  # noqa: E731
    num = scipy.integrate.quad(lambda s: float(W.energy(np.array([s]))[0]) * weight(s), -6, 6)[0]
    den = scipy.integrate.quad(weight, -6, 6)[0]
    assert fpm.gibbs_mean(W, W.energy, temperature=0.25, grid=grid) == pytest.approx(num / den, rel=1e-9)


def test_gibbs_mean_validation():
    U = lib.potentials.quadratic(1.0)
    grid = np.linspace(-4.0, 4.0, 401)
    with pytest.raises(ValueError, match="temperature"):
        fpm.gibbs_mean(U, np.square, temperature=0.0, grid=grid)
    with pytest.raises(ValueError, match="uniform"):
        fpm.gibbs_mean(U, np.square, temperature=1.0, grid=grid**3)
    with pytest.raises(ValueError, match="underflows"):
        fpm.gibbs_mean(lib.potentials.quadratic(1.0, center=1e3), np.square, temperature=1e-3, grid=grid)
    with pytest.raises(ValueError, match="1-D"):
        fpm.gibbs_mean(lib.potentials.gaussian_mixture([[0.0, 0.0]], [1.0]), np.square,
                       temperature=1.0, grid=grid)


def test_grid_mean_of_grid_densities():
    """E[x^2] under the grid Gibbs density and under ULA's invariant law (T / (a (1 - a h/2)))."""
    a, T, h = 1.0, 0.5, 0.4
    U = lib.potentials.quadratic(a)
    grid = np.linspace(-5.0, 5.0, 1001)
    p = lib.gibbs_density(U, grid, temperature=T)
    assert fpm.grid_mean(np.square, p, grid=grid) == pytest.approx(T / a, rel=1e-6)
    p_ula = fpm.ula_invariant_density(U, grid, step=h, temperature=T)
    v_ula = fpm.grid_mean(np.square, p_ula, grid=grid)
    assert v_ula == pytest.approx(T / (a * (1 - a * h / 2)), rel=1e-6)
    # a difference of densities gives the difference of the means (the bias of ULA)
    bias = fpm.grid_mean(np.square, p_ula - p, grid=grid)
    assert bias == pytest.approx(v_ula - T / a, rel=1e-9, abs=1e-12)
    assert fpm.grid_mean(np.ones_like, p, grid=grid) == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="shape"):
        fpm.grid_mean(np.square, p[:-1], grid=grid)
    with pytest.raises(ValueError, match="uniform"):
        fpm.grid_mean(np.square, p, grid=grid**3)


def test_virial_keeps_the_shape_of_the_states():
    W = lib.potentials.double_well()
    x = np.linspace(-2.0, 2.0, 12).reshape(3, 4)
    v = fpm.virial(W, x)
    assert v.shape == (3, 4)
    np.testing.assert_array_equal(v.ravel(), x.ravel() * W.grad(x.ravel()))
    np.testing.assert_allclose(v, x * (x**3 - x), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="1-D"):
        fpm.virial(lib.potentials.gaussian_mixture([[0.0, 0.0]], [1.0]), np.zeros((2, 2)))


def test_decay_rates_of_the_ou_generator():
    """L = a x^2/2: the Fokker-Planck operator's rates are 0, a, 2a, ... (Hermite modes)."""
    a, T = 1.5, 0.5
    grid = np.linspace(-4.0, 4.0, 401)
    for Q in (lib.generator_matrix(lib.potentials.quadratic(a), grid, temperature=T),
              fpm.central_generator(lambda x: -a * x, 2 * T, grid)):
        rates = fpm.decay_rates(Q, 4)
        assert rates.shape == (4,)
        np.testing.assert_allclose(rates, [0.0, a, 2 * a, 3 * a], rtol=2e-3, atol=1e-9)
        assert rates[1] == pytest.approx(fpm.spectral_gap(Q), rel=1e-9)
        # the same rates as the dense eigenvalues of -Q
        dense = np.sort(-np.linalg.eigvals(Q).real)[:4]
        np.testing.assert_allclose(rates, dense, rtol=1e-8, atol=1e-9)
        assert abs(rates[1] - 1.1 * a) > 0.05 * a                      # a 10% error is seen
    assert fpm.decay_rates(Q).shape == (3,)
    with pytest.raises(ValueError, match="k must be"):
        fpm.decay_rates(Q, 0)
    with pytest.raises(ValueError, match="tridiagonal"):
        fpm.decay_rates(np.ones((4, 4)))
    with pytest.raises(ValueError, match="square"):
        fpm.decay_rates(np.ones((3, 4)))
