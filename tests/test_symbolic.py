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
