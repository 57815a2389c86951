"""Chapter 0 checkers: right answers in several forms pass, typical wrong ones fail with a
message that neither reveals the answer nor names a factor that is not the actual one."""

import math

import numpy as np
import sympy as sp

import lib

check = lib.checks.check


def test_ch0_ex1_normalizer():
    for right in (math.sqrt(math.pi) / 2, sp.sqrt(sp.pi) / 2, "sqrt(pi)/2", "gamma(1/2)/2",
                  "sqrt(2*pi*(1/2)/4)", np.float64(0.886227)):
        assert check("ch0-ex1", right), right
    wrong = check("ch0-ex1", math.sqrt(math.pi))                 # forgot a = 4 (a factor 2)
    assert not wrong and "factor" in wrong.message and "0.88" not in wrong.message
    assert not check("ch0-ex1", math.sqrt(2 * math.pi * 0.5))    # forgot the stiffness


def test_ch0_ex2_sample_size():
    assert check("ch0-ex2", 320_000) and check("ch0-ex2", "2*(4/0.01)**2")
    slip = check("ch0-ex2", 160_000)                             # forgot Var(x^2) = 2 (T/a)^2
    assert not slip and "standard error" in slip.message and "320" not in slip.message
    r = check("ch0-ex2", 1.3 * 320_000)                          # not a simple factor: no factor named
    assert not r and "factor" not in r.message and "sqrt" not in r.message and "too large" in r.message
    assert not check("ch0-ex2", 800)                             # 1/n instead of 1/sqrt(n)


def test_ch0_ex4_step():
    assert check("ch0-ex4", 0.006) and check("ch0-ex4", "3/500")
    assert not check("ch0-ex4", 0.012)
    slip = check("ch0-ex4", 0.003)
    assert not slip and "a h / 2" in slip.message and "0.006" not in slip.message
    assert "too large" in check("ch0-ex4", 0.05).message
