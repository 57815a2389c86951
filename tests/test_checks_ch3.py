"""Chapter 3 (Langevin dynamics): the exercise checkers accept the right answer
and reject typical wrong ones, without revealing the answer."""

import numpy as np
import sympy as sp

import lib

eta, sigma, a, t = sp.symbols("eta sigma a t", positive=True)
x0 = sp.Symbol("x0", real=True)
dt = sp.Symbol("Delta_t", positive=True)


def test_ch3_ex1_stationary_variance_in_lecture_units():
    assert lib.checks.check("ch3-ex1", eta * sigma**2 / (2 * a)).passed
    assert lib.checks.check("ch3-ex1", "eta*sigma**2/(2*a)").passed
    wrong = lib.checks.check("ch3-ex1", eta * sigma**2 / a)        # forgot T = eta sigma^2 / 2
    assert not wrong.passed and "constant factor" in wrong.message
    assert not lib.checks.check("ch3-ex1", eta**2 * sigma**2 / (2 * a)).passed


def test_ch3_ex2_weak_error_of_the_mean():
    right = -a**2 * t * x0 * sp.exp(-a * t) / 2
    assert lib.checks.check("ch3-ex2", right).passed
    # a positive symbol x0 from the student's own sympy.symbols call is accepted too
    x0_pos = sp.Symbol("x0", positive=True)
    assert lib.checks.check("ch3-ex2", -a**2 * t * x0_pos * sp.exp(-a * t) / 2).passed
    assert not lib.checks.check("ch3-ex2", -a * t * x0 * sp.exp(-a * t) / 2).passed
    assert not lib.checks.check("ch3-ex2", a**2 * t * x0 * sp.exp(-a * t) / 2).passed
    # the exact (1 - a h)^{t/h} expansion agrees with the registered answer
    h = sp.Symbol("h", positive=True)
    ap, tp, xp = sp.symbols("a t x0", positive=True)
    gamma = sp.limit(((1 - ap * h) ** (tp / h) * xp - xp * sp.exp(-ap * tp)) / h, h, 0)
    assert lib.checks.check("ch3-ex2", gamma).passed
    assert "gamma" in lib.checks.check("ch3-ex2", a * t).message


def test_ch3_ex3_forgotten_square_root():
    T, h = 1.0, 0.01
    # fixed point of v -> (1 - h)^2 v + 2 T h^2
    v = 2 * T * h**2 / (1 - (1 - h) ** 2)
    assert lib.checks.check("ch3-ex3", v).passed
    r = lib.checks.check("ch3-ex3", 1.0)                      # the Gibbs variance T/a
    assert not r.passed and "too large" in r.message
    assert not lib.checks.check("ch3-ex3", T * h).passed     # 0.01: close but wrong
    assert "0.01" not in lib.checks.check("ch3-ex3", 0.5).message


def test_ch3_ex4_variance_from_a_spread_start():
    assert lib.checks.check("ch3-ex4", lambda s: 0.25 + 0.75 * np.exp(-4.0 * s)).passed
    # point start (v(0) = 0) is wrong
    assert not lib.checks.check("ch3-ex4", lambda s: 0.25 * (1 - np.exp(-4.0 * s))).passed
    # relaxation rate a instead of 2a is wrong
    assert not lib.checks.check("ch3-ex4", lambda s: 0.25 + 0.75 * np.exp(-2.0 * s)).passed
    assert not lib.checks.check("ch3-ex4", 0.25).passed      # not a function


def test_ch3_ex5_signal_to_noise_ratio():
    # |C| h / sqrt(Var[x_1^2] / n) with the OU moments at t = 1 (a = 1, T = 1/2, x0 = 2)
    m, v = 2 * np.exp(-1.0), 0.5 * (1 - np.exp(-2.0))
    C = 0.25 * (1 - np.exp(-2.0)) + np.exp(-2.0) * (0.5 - 4.0)
    snr = abs(C) * 0.01 / np.sqrt((2 * v**2 + 4 * m**2 * v) / 1e4)
    assert lib.checks.check("ch3-ex5", snr).passed
    assert lib.checks.check("ch3-ex5", 0.23).passed                  # a rounded estimate
    assert not lib.checks.check("ch3-ex5", 1 / snr).passed           # noise over signal
    assert not lib.checks.check("ch3-ex5", snr * 10).passed          # bias at h = 0.1
    assert not lib.checks.check("ch3-ex5", snr / np.sqrt(2)).passed  # SE of a difference
    assert "0.22" not in lib.checks.check("ch3-ex5", 0.5).message


def test_ch3_ex6_brownian_difference_quotient():
    assert lib.checks.check("ch3-ex6", sp.sqrt(2 / (sp.pi * dt))).passed
    assert lib.checks.check("ch3-ex6", "sqrt(2)/sqrt(pi*Delta_t)").passed
    r = lib.checks.check("ch3-ex6", 1 / sp.sqrt(dt))           # forgot E|Z| = sqrt(2/pi)
    assert not r.passed and "constant factor" in r.message
    assert not lib.checks.check("ch3-ex6", sp.sqrt(2 / sp.pi)).passed   # no dt dependence


def test_ch3_ex6_matches_simulation():
    rng = np.random.default_rng(3)
    d = 0.01
    q = np.abs(rng.standard_normal(200_000) * np.sqrt(d) / d)
    est = lib.stats.mean_with_error(q)
    assert est.agrees_with(float(sp.sqrt(2 / (sp.pi * d))))
