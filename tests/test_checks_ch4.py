"""Chapter 4 (the stationary distribution): the exercise checkers accept the right answers,
reject typical wrong ones, and their hard-coded reference values are recomputed here."""

import math

import numpy as np
import scipy.integrate
import sympy as sp

import lib
from lib import checks

eta, sigma, B = sp.symbols("eta sigma B", positive=True)
a, h, T = sp.symbols("a h T", positive=True)


def test_ex1_batch_temperature():
    assert checks.check("ch4-ex1", eta * sigma**2 / (2 * B)).passed
    assert checks.check("ch4-ex1", "eta*sigma**2/(2*B)").passed
    wrong = checks.check("ch4-ex1", eta * sigma**2 / B)            # missing factor 1/2
    assert not wrong.passed and "factor" in wrong.message
    assert not checks.check("ch4-ex1", eta * sigma**2 / 2).passed   # forgot the batch
    assert not checks.check("ch4-ex1", eta**2 * sigma**2 / (2 * B)).passed  # per-step variance


def test_ex2_implicit_step_variance():
    assert checks.check("ch4-ex2", T / (a * (1 + a * h / 2))).passed
    assert checks.check("ch4-ex2", 2 * T / (a * (2 + a * h))).passed
    assert not checks.check("ch4-ex2", T / (a * (1 - a * h / 2))).passed  # the explicit step's answer
    assert not checks.check("ch4-ex2", T / a).passed


def _left_well_probability():
    U = lib.potentials.double_well(tilt=0.1)
    weight = lambda x: float(np.exp(-U.energy(np.array([x]))[0] / 0.25))  # noqa: E731
    left = scipy.integrate.quad(weight, -np.inf, 0)[0]
    return left / (left + scipy.integrate.quad(weight, 0, np.inf)[0])


def test_ex3_left_well():
    p = _left_well_probability()
    assert abs(p - checks._CH4_LEFT_WELL) < 1e-8
    assert checks.check("ch4-ex3", p).passed
    assert not checks.check("ch4-ex3", 0.5).passed
    assert not checks.check("ch4-ex3", 1 - p).passed                    # the right well


def test_ex4_quartic_density():
    Z = math.gamma(0.25) / 2
    assert checks.check("ch4-ex4", lambda x: np.exp(-x**4) / Z).passed
    assert not checks.check("ch4-ex4", lambda x: np.exp(-x**4)).passed  # unnormalized
    wrong_T = 2 * 0.25 ** 0.25 * math.gamma(1.25) * 2 ** 0.25           # density at temperature 1/2
    assert not checks.check("ch4-ex4", lambda x: np.exp(-x**4 / 2) / wrong_T).passed


def test_ex6_spectral_gap():
    m = 480
    grid = -3 + (np.arange(m) + 0.5) * 6 / m
    eig = np.sort(np.linalg.eigvals(lib.generator_matrix(lib.potentials.double_well(), grid,
                                                         temperature=0.25)).real)
    gap = -eig[-2]
    assert abs(gap / checks._CH4_GAP - 1) < 1e-4
    assert checks.check("ch4-ex6", gap).passed
    assert not checks.check("ch4-ex6", 2 * gap).passed
    assert not checks.check("ch4-ex6", -eig[-3]).passed                 # the next mode, not the gap


def test_garbage_answers_are_rejected():
    for label in ("ch4-ex1", "ch4-ex2", "ch4-ex3", "ch4-ex4", "ch4-ex6"):
        assert not checks.check(label, "not an answer").passed
