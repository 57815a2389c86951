"""The checker framework, and every registered checker's basic contract."""

import math

import numpy as np
import sympy as sp

import lib
from lib import checks


def test_check_number_messages_do_not_reveal_the_answer():
    ok = checks.check_number(3.1416, np.pi, label="t", rtol=1e-4)
    assert ok.passed
    r = checks.check_number(2 * np.pi, np.pi, label="t")
    assert not r.passed and "constant factor" in r.message
    assert "3.14" not in r.message and "2" not in r.message     # the factor is not named
    r = checks.check_number(3.0, np.pi, label="t")
    assert not r.passed and "too small" in r.message and "factor" not in r.message
    assert not checks.check_number("abc", 1.0, label="t").passed
    assert not checks.check_number(-np.pi, np.pi, label="t").passed
    assert "sign" in checks.check_number(-np.pi, np.pi, label="t").message


def test_check_number_never_claims_a_factor_that_is_not_the_actual_one():
    # 1.3 times the truth is not sqrt(2) (nor any other simple factor) times it
    for ratio in (1.3, 1.2, 1.5, 0.6, 2.2, 3.3):
        r = checks.check_number(ratio * 320_000, 320_000, label="t", rtol=1e-2)
        assert not r.passed and "factor" not in r.message, (ratio, r.message)
    for ratio in (2.0, 0.5, math.sqrt(2), 1 / math.pi, 2 * math.pi):
        r = checks.check_number(ratio * 320_000, 320_000, label="t", rtol=1e-2)
        assert "constant factor" in r.message, ratio


def test_check_number_accepts_every_numeric_form():
    z = math.sqrt(math.pi) / 2
    for answer in (z, np.float32(z), np.float64(z), np.array(z), np.array([z]), sp.sqrt(sp.pi) / 2,
                   "sqrt(pi)/2", "Sqrt(Pi)/2", "pi**0.5/2", "Gamma(1/2)/2", "gamma(3/2)",
                   "Z = sqrt(pi)/2", sp.Eq(sp.Symbol("Z"), sp.sqrt(sp.pi) / 2), 0.8862):
        assert checks.check_number(answer, z, label="t").passed, answer
    assert checks.check_number(320_000, 320_000.0, label="t").passed
    assert checks.check_number(np.int64(7), 7.0, label="t").passed


def test_check_number_rejects_non_numbers_with_a_reason():
    r = checks.check_number("sqrt(pi*T)", 1.0, label="t")
    assert not r.passed and "T" in r.message
    r = checks.check_number("Foo(2)", 1.0, label="t")
    assert not r.passed and "Foo" in r.message
    assert not checks.check_number(np.ones(3), 1.0, label="t").passed
    assert not checks.check_number(True, 1.0, label="t").passed
    assert not checks.check_number(1j, 1.0, label="t").passed
    assert not checks.check_number(float("nan"), 1.0, label="t").passed


def test_check_number_slips():
    r = checks.check_number(0.5, 1.0, label="t", slips=[(0.5, "did you use the variance?")])
    assert not r.passed and "variance" in r.message and "0.5" not in r.message


def test_check_expression():
    a, h, T = sp.symbols("a h T", positive=True)
    right = T / (a * (1 - a * h / 2))
    assert checks.check_expression(2 * T / (a * (2 - a * h)), right, [a, h, T], label="t",
                                   domains={h: (0.01, 0.5)}).passed
    assert checks.check_expression("2*T/(a*(2 - a*h))", right, [a, h, T], label="t",
                                   domains={h: (0.01, 0.5)}).passed
    r = checks.check_expression(2 * right, right, [a, h, T], label="t", domains={h: (0.01, 0.5)})
    assert not r.passed and "constant factor" in r.message
    r = checks.check_expression(T / a, right, [a, h, T], label="t", domains={h: (0.01, 0.5)})
    assert not r.passed and "h" in r.message
    r = checks.check_expression(sp.Symbol("q") * T, right, [a, h, T], label="t")
    assert not r.passed and "q" in r.message


def test_check_expression_accepts_equivalent_forms_and_decimals():
    a, T = sp.symbols("a T", positive=True)
    right = 2 * sp.gamma(sp.Rational(5, 4)) * (T / a) ** sp.Rational(1, 4)
    forms = [right, "Gamma(1/4)/2*(T/a)**(1/4)", "gamma(1/4)/2*(T/a)^(1/4)",
             sp.gamma(0.25) / 2 * (T / a) ** 0.25, "1.8128*(T/a)**0.25",
             "Z = 2*Gamma(5/4)*T**(1/4)/a**(1/4)", "exp(log(gamma(1/4)/2) + log(T/a)/4)",
             sp.gamma(sp.Rational(1, 4)) / 2 * (sp.Symbol("T") / sp.Symbol("a")) ** sp.Rational(1, 4)]
    for answer in forms:
        assert checks.check_expression(answer, right, [a, T], label="t").passed, answer
    # decimals are accepted only to about four significant digits
    assert not checks.check_expression("1.80*(T/a)**0.25", right, [a, T], label="t").passed
    r = checks.check_expression("Foo(1/4)*(T/a)**(1/4)", right, [a, T], label="t")
    assert not r.passed and "Foo" in r.message


def test_check_function():
    ref = lambda x: np.exp(-x**2)  # noqa: E731
    pts = np.linspace(-2, 2, 9)
    assert checks.check_function(lambda x: np.exp(-x * x), ref, pts, label="t").passed
    assert not checks.check_function(lambda x: 2 * np.exp(-x * x), ref, pts, label="t").passed
    assert checks.check_function(lambda x: float(np.exp(-x * x)) if np.ndim(x) == 0 else 1 / 0, ref, pts,
                                 label="t").passed
    assert checks.check_function(math.exp, np.exp, pts, label="t").passed     # scalar-only function
    assert not checks.check_function(3.0, ref, pts, label="t").passed
    # a SymPy expression or a string in the variable is accepted too
    x = sp.Symbol("x")
    assert checks.check_function(sp.exp(-x**2), ref, pts, label="t", variable="x").passed
    assert checks.check_function("exp(-x^2)", ref, pts, label="t", variable="x").passed
    assert not checks.check_function("exp(-x*y)", ref, pts, label="t", variable="x").passed


def test_unknown_label():
    try:
        checks.check("no-such-exercise", 1.0)
    except ValueError as err:
        assert "no-such-exercise" in str(err)
    else:
        raise AssertionError("expected ValueError")


def test_every_registered_checker_rejects_garbage_without_crashing():
    for label in checks.available():
        result = checks.check(label, object())
        assert isinstance(result, checks.CheckResult) and not result.passed, label


def test_numpy_spellings_expm1_and_log1p_are_understood():
    assert checks.check("ch7-ex1", "-expm1(-b*t)").passed
    assert checks._parse("log1p(x)") == sp.log(1 + sp.Symbol("x"))
    # control: the same spelling of a wrong answer is still wrong
    assert not checks.check("ch7-ex1", "expm1(-b*t)").passed
