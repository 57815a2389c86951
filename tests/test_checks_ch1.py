import math

import numpy as np
import sympy as sp

import lib
import lib.partition


def test_ch1_checkers_accept_right_and_reject_wrong_answers():
    check = lib.checks.check
    a, T = sp.symbols("a T", positive=True)
    assert check("ch1-ex1", 2 * sp.gamma(sp.Rational(5, 4)) * (T / a) ** sp.Rational(1, 4))
    assert check("ch1-ex1", "gamma(1/4)/2*(T/a)**(1/4)")
    wrong = check("ch1-ex1", 2 * sp.gamma(sp.Rational(5, 4)) * (T / a) ** sp.Rational(1, 2))
    assert not wrong and "wrong way" in wrong.message
    assert "factor" in check("ch1-ex1", sp.gamma(sp.Rational(5, 4)) * (T / a) ** sp.Rational(1, 4)).message

    assert check("ch1-ex2", math.pi**1.5 / 2)
    assert not check("ch1-ex2", math.pi**1.5)                    # forgot det A = 4
    assert not check("ch1-ex2", (2 * math.pi) ** 1.5 / 2)        # forgot T = 1/2

    assert check("ch1-ex3", lambda y: -(4 * y**3 - 4 * y + 0.3) / 0.5)
    assert not check("ch1-ex3", lambda y: -(4 * y**3 - 4 * y + 0.3))          # forgot T
    assert not check("ch1-ex3", lambda y: (4 * y**3 - 4 * y + 0.3) / 0.5)     # wrong sign

    assert check("ch1-ex4", 1.0)
    assert not check("ch1-ex4", math.sqrt(0.5))

    rho = lib.partition.gaussian_is_relative_variance(50, 1.5)
    assert check("ch1-ex5", rho / 1e-4)
    assert not check("ch1-ex5", rho / 1e-2)                      # 1% standard error means 0.01**2
    assert not check("ch1-ex5", np.sqrt(rho) / 1e-4)
    for label in ("ch1-ex1", "ch1-ex2", "ch1-ex3", "ch1-ex4", "ch1-ex5"):
        assert label in lib.checks.available()
