import sympy as sp

import lib


def test_stationary_density_generic_L_is_gibbs_with_lecture_temperature():
    x = sp.Symbol("x", real=True)
    eta, sigma = sp.symbols("eta sigma", positive=True)
    L = sp.Function("L")(x)
    p = lib.symbolic.stationary_density(L, x, eta * sigma**2 / 2)
    Z = sp.Symbol("Z", positive=True)
    assert sp.simplify(p - sp.exp(-2 * L / (eta * sigma**2)) / Z) == 0
    # the current vanishes and the Fokker-Planck operator annihilates it
    assert sp.simplify(lib.symbolic.probability_current(p, L, x, eta * sigma**2 / 2)) == 0
    assert sp.simplify(lib.symbolic.fokker_planck_operator(p, L, x, eta * sigma**2 / 2)) == 0
    # negative control: the density without the factor 2 is not annihilated
    wrong = sp.exp(-L / (eta * sigma**2))
    assert sp.simplify(lib.symbolic.probability_current(wrong, L, x, eta * sigma**2 / 2)) != 0


def test_gaussian_normalizer():
    a, b, T = sp.symbols("a b T", positive=True)
    Z = lib.symbolic.gaussian_normalizer(sp.Matrix([[a, 0], [0, b]]), T)
    x, y = sp.symbols("x y", real=True)
    direct = sp.integrate(sp.exp(-(a * x**2 + b * y**2) / (2 * T)), (x, -sp.oo, sp.oo), (y, -sp.oo, sp.oo))
    assert sp.simplify(Z - direct) == 0


x = sp.Symbol("x", real=True)
T, kappa, a = sp.symbols("T kappa a", positive=True)


def test_ito_stationary_density_constant_noise_is_gibbs():
    L = sp.Function("L")(x)
    p = lib.symbolic.ito_stationary_density(-L.diff(x), 2 * T, x)
    assert sp.simplify(p - sp.exp(-L / T)) == 0
    Z = sp.Symbol("Z", positive=True)
    assert sp.simplify(lib.symbolic.ito_stationary_density(-a * x, 2 * T, x, normalizer=Z)
                       - sp.exp(-a * x**2 / (2 * T)) / Z) == 0


def test_ito_stationary_density_state_dependent_noise():
    b2 = 2 * T * (1 + kappa * x**2)
    p = lib.symbolic.ito_stationary_density(-x, b2, x)
    assert sp.simplify(p - (1 + kappa * x**2) ** (-1 - 1 / (2 * kappa * T))) == 0
    # stationary with zero current ...
    assert sp.simplify(lib.symbolic.ito_current(p, -x, b2, x)) == 0
    assert sp.simplify(lib.symbolic.ito_fokker_planck_operator(p, -x, b2, x)) == 0
    # ... and not the Gibbs density of L = x^2/2 (negative control)
    gibbs = sp.exp(-x**2 / (2 * T))
    assert sp.simplify(lib.symbolic.ito_fokker_planck_operator(gibbs, -x, b2, x)) != 0


def test_langevin_helpers_are_the_ito_helpers_with_drift_minus_grad_and_noise_2T():
    L = sp.Function("L")(x)
    p = sp.Function("p")(x)
    J = lib.symbolic.probability_current(p, L, x, T)
    assert sp.simplify(J - (-p * L.diff(x) - T * p.diff(x))) == 0
    f = sp.Function("f")(x)
    A = lib.symbolic.langevin_generator(f, L, x, T)
    assert sp.simplify(A - (-L.diff(x) * f.diff(x) + T * f.diff(x, 2))) == 0


def test_generator_gives_the_ou_moment_equations():
    m2 = lib.symbolic.ito_generator(x**2, -a * x, 2 * T, x)
    assert sp.expand(m2 - (-2 * a * x**2 + 2 * T)) == 0
    assert sp.expand(lib.symbolic.ito_generator(x, -a * x, 2 * T, x) + a * x) == 0


def test_ou_transition_density_solves_fokker_planck_and_is_normalised():
    y, t = sp.Symbol("y", real=True), sp.Symbol("t", positive=True)
    p = lib.symbolic.ou_transition_density(x, y, t, stiffness=a, temperature=T)
    # p is the Gaussian with mean m(t) = y e^{-at} and variance v(t) = T/a (1 - e^{-2at}) ...
    m, v = sp.Function("m")(t), sp.Function("v")(t)
    gauss = sp.exp(-(x - m) ** 2 / (2 * v)) / sp.sqrt(2 * sp.pi * v)
    m_t, v_t = y * sp.exp(-a * t), T / a * (1 - sp.exp(-2 * a * t))
    assert sp.simplify(p - gauss.subs({m: m_t, v: v_t})) == 0
    # ... and a Gaussian solves Fokker-Planck when dm/dt = -a m, dv/dt = 2T - 2a v, which they do
    residual = (gauss.diff(t) - lib.symbolic.fokker_planck_operator(gauss, a * x**2 / 2, x, T)) / gauss
    residual = residual.subs({m.diff(t): -a * m, v.diff(t): 2 * T - 2 * a * v})
    assert sp.simplify(residual) == 0
    assert sp.simplify(m_t.diff(t) + a * m_t) == 0 and sp.simplify(v_t.diff(t) - 2 * T + 2 * a * v_t) == 0
    values = {a: sp.Rational(3, 2), T: sp.Rational(2, 5), t: sp.Rational(1, 2), y: 2}
    assert sp.simplify(sp.integrate(p.subs(values), (x, -sp.oo, sp.oo))) == 1
