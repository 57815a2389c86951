"""Chapter 1 checkers accept every equivalent form (SymPy, strings with common spellings, plain
floats) and reject typical wrong answers without giving the answer away."""

import math

import numpy as np
import sympy as sp

import lib
import lib.partition

check = lib.checks.check
a, T = sp.symbols("a T", positive=True)


def test_ch1_ex1_quartic_normalizer_in_every_form():
    right = [2 * sp.gamma(sp.Rational(5, 4)) * (T / a) ** sp.Rational(1, 4),
             "gamma(1/4)/2*(T/a)**(1/4)", "Gamma(1/4)/2*(T/a)**(1/4)",          # issue 10
             "Gamma(5/4)*2*T**(1/4)/a**(1/4)", "1.8128*(T/a)^0.25",
             sp.gamma(0.25) / 2 * (T / a) ** 0.25,
             sp.gamma(sp.Rational(1, 4)) / 2 * (sp.Symbol("T") / sp.Symbol("a")) ** sp.Rational(1, 4)]
    for answer in right:
        assert check("ch1-ex1", answer), answer
    wrong = check("ch1-ex1", 2 * sp.gamma(sp.Rational(5, 4)) * (T / a) ** sp.Rational(1, 2))
    assert not wrong and "wrong way" in wrong.message
    r = check("ch1-ex1", sp.gamma(sp.Rational(5, 4)) * (T / a) ** sp.Rational(1, 4))
    assert not r and "constant factor" in r.message and "gamma" not in r.message.lower()
    assert "unknown function" in check("ch1-ex1", "G(1/4)*(T/a)**(1/4)").message
    assert not check("ch1-ex1", "Gamma(1/4)/2*(T/a)**(1/4)*y")            # extra symbol


def test_ch1_ex2_three_dimensional_form():
    for right in (math.pi**1.5 / 2, sp.pi ** sp.Rational(3, 2) / 2, "pi**(3/2)/2", "sqrt(pi**3/4)"):
        assert check("ch1-ex2", right), right
    assert not check("ch1-ex2", math.pi**1.5)                    # forgot det A = 4
    assert not check("ch1-ex2", (2 * math.pi) ** 1.5 / 2)        # forgot T = 1/2


def test_ch1_ex3_score_function_as_function_or_expression():
    assert check("ch1-ex3", lambda y: -(4 * y**3 - 4 * y + 0.3) / 0.5)
    assert check("ch1-ex3", "-(4*y**3 - 4*y + 0.3)/0.5")
    y = sp.Symbol("y")
    assert check("ch1-ex3", -2 * (4 * y**3 - 4 * y + sp.Rational(3, 10)))
    assert not check("ch1-ex3", lambda y: -(4 * y**3 - 4 * y + 0.3))          # forgot T
    assert not check("ch1-ex3", lambda y: (4 * y**3 - 4 * y + 0.3) / 0.5)     # wrong sign


def test_ch1_ex4_hints_do_not_reveal_the_scale():
    assert check("ch1-ex4", 1.0) and check("ch1-ex4", "1") and check("ch1-ex4", sp.Integer(1))
    for wrong in (math.sqrt(0.5), 0.5, 2.0, math.sqrt(2), 1.5):
        r = check("ch1-ex4", wrong)
        assert not r and "factor" not in r.message and "1" not in r.message.replace("1/", ""), wrong
    assert "infinite" in check("ch1-ex4", math.sqrt(0.5)).message


def test_ch1_ex5_draws_for_one_percent():
    rho = lib.partition.gaussian_is_relative_variance(50, 1.5)
    assert check("ch1-ex5", rho / 1e-4) and check("ch1-ex5", "((2.25/sqrt(3.5))**50 - 1)/1e-4")
    assert not check("ch1-ex5", rho / 1e-2)                      # 1% standard error means 0.01**2
    assert not check("ch1-ex5", np.sqrt(rho) / 1e-4)
    for label in ("ch1-ex1", "ch1-ex2", "ch1-ex3", "ch1-ex4", "ch1-ex5"):
        assert label in lib.checks.available()
