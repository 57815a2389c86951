"""The chapter 2 checkers accept the right answers and reject typical wrong ones."""

import math

import numpy as np
import sympy as sp

import lib
import lib.discrete as D


def ring_r(T, n=12, J=1.0):
    return (1 - (1 - math.tanh(2 * J / T)) / n) ** n


def test_ch2_ex1_gibbs_conditional():
    check = lib.checks.check
    f = sp.Symbol("f", real=True)
    T = sp.Symbol("T", positive=True)
    assert check("ch2-ex1", 1 / (1 + sp.exp(-2 * f / T)))
    assert check("ch2-ex1", "(1 + tanh(f/T))/2")
    assert check("ch2-ex1", "exp(f/T)/(exp(f/T) + exp(-f/T))")
    assert not check("ch2-ex1", "1/(1 + exp(-f/T))")          # samples at 2T
    assert not check("ch2-ex1", "1/(1 + exp(2*f/T))")         # probability of -1


def test_ch2_ex2_partition_function():
    check = lib.checks.check
    n, J, T = sp.symbols("n J T", positive=True)
    right = 2 * (2 * sp.cosh(J / T)) ** (n - 1)
    assert check("ch2-ex2", right)
    assert not check("ch2-ex2", (2 * sp.cosh(J / T)) ** n)            # the periodic-ring slip
    assert not check("ch2-ex2", (2 * sp.cosh(J / T)) ** (n - 1))      # forgot the sum over s_0
    assert "factor" in check("ch2-ex2", (2 * sp.cosh(J / T)) ** (n - 1)).message
    # the reference agrees with exact enumeration
    for nn, JJ, TT in [(4, 1.0, 1.0), (9, 0.5, 0.7)]:
        exact = D.IsingChain(nn, JJ).partition_function(temperature=TT)
        assert math.isclose(float(right.subs({n: nn, J: JJ, T: TT})), exact, rel_tol=1e-12)


def test_ch2_ex3_autocorrelation_time():
    check = lib.checks.check
    r = ring_r(1.5)
    assert check("ch2-ex3", (1 + r) / (1 - r))
    assert not check("ch2-ex3", 1 / (1 - r))                   # forgot the factor 2 / lag-0 term
    assert not check("ch2-ex3", (1 + r**(1 / 12)) / (1 - r**(1 / 12)))   # per update, not per sweep


def test_ch2_ex4_autocorrelation_function():
    check = lib.checks.check
    r = ring_r(1.0)
    assert check("ch2-ex4", lambda k: r ** np.asarray(k, dtype=float))
    assert not check("ch2-ex4", lambda k: np.exp(-np.asarray(k, dtype=float) * (1 - math.tanh(2.0))))
    assert not check("ch2-ex4", lambda k: r ** (12 * np.asarray(k, dtype=float)))


def test_ch2_glauber_formula_matches_the_exact_transition_matrix():
    """rho(1 update) = 1 - (1 - gamma)/n for random-scan Gibbs on a small zero-field ring."""
    n, T = 6, 0.9
    ring = D.IsingChain(n, 1.0, periodic=True)
    p = ring.probabilities(temperature=T)
    P = ring.transition_matrix(method="gibbs", temperature=T)
    M = ring.states().mean(axis=1)
    rho1 = (p * M) @ (P @ M) / ((p * M) @ M)
    assert math.isclose(rho1, 1 - (1 - math.tanh(2 / T)) / n, rel_tol=1e-12)


def test_ch2_ex7_metropolis_hastings_acceptance():
    check = lib.checks.check
    dL = sp.Symbol("Delta_L", real=True)
    T, theta = sp.symbols("T theta", positive=True)
    assert check("ch2-ex7", sp.Min(1, sp.exp(-dL / T) * (1 - theta) / theta))
    assert check("ch2-ex7", "Min(1, exp(-Delta_L/T)*(1/theta - 1))")
    assert check("ch2-ex7", "min(1, (1 - theta)*exp(-Delta_L/T)/theta)")
    r = check("ch2-ex7", "Min(1, exp(-Delta_L/T))")                   # no q-ratio
    assert not r and "asymmetric" in r.message and "theta" not in r.message
    assert not check("ch2-ex7", "Min(1, exp(-Delta_L/T)*theta/(1 - theta))")    # inverted
    assert not check("ch2-ex7", "exp(-Delta_L/T)*(1 - theta)/theta")            # no min
    # the acceptance reproduces the sampler's exact transition matrix
    model = D.IsingChain(4, 0.7, fields=[0.2, -0.1, 0.3, 0.0])
    th, TT = 0.7, 0.8
    P = model.transition_matrix(method="metropolis-hastings", temperature=TT, proposal_plus=th)
    S = model.states()
    k = 0                                       # all -1; flip site 2 to +1
    dE = 2 * S[k, 2] * model.local_field(S[k])[2]
    partner = k ^ (1 << (4 - 1 - 2))
    want = th * min(1.0, math.exp(-dE / TT) * (1 - th) / th) / 4
    assert math.isclose(P[k, partner], want, rel_tol=1e-12)


def test_ch2_string_forms():
    check = lib.checks.check
    assert check("ch2-ex2", "2*(2*cosh(J/T))^(n - 1)")
    assert check("ch2-ex2", "2**n*cosh(J/T)**(n-1)")
    assert check("ch2-ex3", str((1 + ring_r(1.5)) / (1 - ring_r(1.5))))
    assert check("ch2-ex4", "r**k".replace("r", repr(ring_r(1.0))))


def test_ch2_labels_registered():
    for label in ("ch2-ex1", "ch2-ex2", "ch2-ex3", "ch2-ex4", "ch2-ex7"):
        assert label in lib.checks.available()
