"""Checkers of chapter 5 (appendix: where the diffusion flow comes from).

For each exercise: the right answer passes (in several equivalent forms) and a
typical wrong answer fails, with a message that does not reveal the answer.
"""

import sympy as sp

from lib import checks

delta, tau = sp.symbols("delta tau", positive=True)
n = sp.Symbol("n", positive=True)
x = sp.Symbol("x", real=True)
T, kappa = sp.symbols("T kappa", positive=True)


def _fails(label, answer):
    result = checks.check(label, answer)
    assert not result.passed
    return result


def test_all_ch5_labels_registered():
    labels = checks.available()
    for k in range(1, 6):
        assert f"ch5-ex{k}" in labels


def test_ch5_ex1_diffusion_coefficient_of_coin_flips():
    assert checks.check("ch5-ex1", delta**2 / (2 * tau)).passed
    assert checks.check("ch5-ex1", "delta**2/(2*tau)").passed
    # forgetting the Taylor factor 1/2 (variance per unit time instead of D)
    r = _fails("ch5-ex1", delta**2 / tau)
    assert "constant factor" in r.message and "2*tau" not in r.message
    _fails("ch5-ex1", delta / (2 * tau))


def test_ch5_ex2_excess_kurtosis_of_uniform_walk():
    assert checks.check("ch5-ex2", -sp.Rational(6, 5) / n).passed
    assert checks.check("ch5-ex2", "-1.2/n").passed
    _fails("ch5-ex2", -sp.Rational(6, 5))  # a single step's kurtosis
    _fails("ch5-ex2", sp.Rational(6, 5) / n)  # wrong sign
    _fails("ch5-ex2", -sp.Rational(6, 5) / sp.sqrt(n))  # the skewness rate


def test_ch5_ex3_first_order_correction():
    assert checks.check("ch5-ex3", x**4 / (4 * T) - x**2).passed
    assert checks.check("ch5-ex3", "x**2*(x**2 - 4*T)/(4*T)").passed
    _fails("ch5-ex3", x**4 / (4 * T))  # missing the prefactor 1/D term
    _fails("ch5-ex3", -x**2)
    _fails("ch5-ex3", x**4 / (4 * T) - x**2 + 1)  # violates f(0) = 0


def test_ch5_ex4_stationary_variance():
    assert checks.check("ch5-ex4", T / (1 - kappa * T)).passed
    assert checks.check("ch5-ex4", "1/(1/T - kappa)").passed
    _fails("ch5-ex4", T)  # the Gibbs answer
    _fails("ch5-ex4", T / (1 - 2 * kappa * T))
    _fails("ch5-ex4", T * (1 + kappa * T))  # first order only


def test_ch5_ex5_anisotropic_covariance():
    assert checks.check("ch5-ex5", 29 / 24).passed
    assert checks.check("ch5-ex5", sp.Rational(29, 24)).passed
    r = _fails("ch5-ex5", 5 / 6)  # the Gibbs guess (T1 + T2)/2 * (A^-1)_11
    assert "1.208" not in r.message and "29" not in r.message
    _fails("ch5-ex5", -5 / 12)  # the off-diagonal entry
    _fails("ch5-ex5", "not a number")
