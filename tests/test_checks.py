"""The checker framework, and every registered checker's basic contract."""

import numpy as np
import sympy as sp

import lib
from lib import checks


def test_check_number_messages_do_not_reveal_the_answer():
    ok = checks.check_number(3.1416, np.pi, label="t", rtol=1e-4)
    assert ok.passed
    r = checks.check_number(2 * np.pi, np.pi, label="t")
    assert not r.passed and "factor of 2" in r.message and "3.14" not in r.message
    r = checks.check_number(3.0, np.pi, label="t")
    assert not r.passed and "too small" in r.message
    assert not checks.check_number("abc", 1.0, label="t").passed
    assert not checks.check_number(-np.pi, np.pi, label="t").passed


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


def test_check_function():
    ref = lambda x: np.exp(-x**2)  # noqa: E731
    pts = np.linspace(-2, 2, 9)
    assert checks.check_function(lambda x: np.exp(-x * x), ref, pts, label="t").passed
    assert not checks.check_function(lambda x: 2 * np.exp(-x * x), ref, pts, label="t").passed
    assert checks.check_function(lambda x: float(np.exp(-x * x)) if np.ndim(x) == 0 else 1 / 0, ref, pts,
                                 label="t").passed
    assert not checks.check_function(3.0, ref, pts, label="t").passed


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
