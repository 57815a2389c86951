"""Chapter 6 (SGD as Langevin dynamics): the exercise checkers accept right answers in several
forms, reject typical wrong ones with a helpful message, and their reference values are
recomputed here independently (closed forms, enumeration, quadrature, simulation)."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import sympy as sp

import lib
from lib import checks


def test_ex1_ten_percent():
    assert checks.check("ch6-ex1", 2 / 11).passed
    assert checks.check("ch6-ex1", sp.Rational(2, 11)).passed
    assert checks.check("ch6-ex1", "2/11").passed
    assert checks.check("ch6-ex1", 0.182).passed                    # three significant digits
    assert not checks.check("ch6-ex1", 0.18).passed                 # two are not enough
    assert not checks.check("ch6-ex1", 0.183).passed
    wrong = checks.check("ch6-ex1", 0.2)                  # the ratio taken the other way round
    assert not wrong.passed and "ratio" in wrong.message
    assert not checks.check("ch6-ex1", 0.1).passed
    assert "2/11" not in wrong.message and "0.18" not in wrong.message


def test_half_unit_of_the_last_digit():
    assert checks._ch6_half_unit(2 / 11, 3) == pytest.approx(5e-4)
    assert checks._ch6_half_unit(156.23, 3) == pytest.approx(0.5)
    assert checks._ch6_half_unit(1.5674e-4, 4) == pytest.approx(5e-8)


def test_ex2_exact_modified_equation():
    eta, a, sigma = sp.symbols("eta a sigma", positive=True)
    right = -sp.log(1 - eta * a) * sigma**2 / (a * (2 - eta * a))
    assert checks.check("ch6-ex2", right).passed
    assert checks.check("ch6-ex2", "log(1/(1 - eta*a))*sigma**2/(2*a - eta*a**2)").passed
    assert not checks.check("ch6-ex2", eta * sigma**2 / 2).passed            # the SME's noise
    slip = checks.check("ch6-ex2", -sp.log(1 - eta * a) * sigma**2 / (2 * a))
    assert not slip.passed and "Gibbs" in slip.message
    # independent check: the OU transition over time eta reproduces the SGD step's variance
    e, av, s = 0.3, 1.2, 0.7
    a_t = -math.log(1 - e * av) / e
    D_t = float(right.subs({eta: e, a: av, sigma: s}))
    assert math.isclose(D_t / a_t * (1 - math.exp(-2 * a_t * e)), e**2 * s**2, rel_tol=1e-12)


def test_ex3_one_dimensional_variance():
    eta, B, m2, m4, c = sp.symbols("eta B m2 m4 c", positive=True)
    right = eta * c / B / (2 * m2 - eta * (m2**2 + (m4 - m2**2) / B))
    assert checks.check("ch6-ex3", right).passed
    assert checks.check("ch6-ex3", "eta*c/(2*B*m2 - eta*(B*m2**2 + m4 - m2**2))").passed
    lyap = checks.check("ch6-ex3", eta * c / (2 * B * m2))
    assert not lyap.passed and "Lyapunov" in lyap.message
    additive = checks.check("ch6-ex3", eta * c / B / (m2 * (2 - eta * m2)))
    assert not additive.passed and "additive" in additive.message
    assert not checks.check("ch6-ex3", eta * c / B / (2 * m2 - eta * m4)).passed
    # independent check: the formula against brute-force enumeration of all batches
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 1.5, 4)
    prob = lib.sgd.LeastSquares(x, x + rng.standard_normal(4))
    lr, Bv = 0.4, 2
    A = np.array([np.mean(x[list(t)] ** 2) for t in itertools.product(range(4), repeat=Bv)])
    b = np.array([np.mean(x[list(t)] * prob.residuals[list(t)]) for t in itertools.product(range(4), repeat=Bv)])
    v_brute = lr**2 * np.mean(b**2) / (1 - np.mean((1 - lr * A) ** 2))
    subs = {eta: lr, B: Bv, m2: np.mean(x**2), m4: np.mean(x**4), c: np.mean(x**2 * prob.residuals**2)}
    assert math.isclose(float(right.subs(subs)), v_brute, rel_tol=1e-10)


def ex4_by_enumeration():
    """The exercise's value from scratch, in exact rational arithmetic (no lib.sgd): the fixed point
    S = 1/4 sum_i (I - eta M_i) S (I - eta M_i) + eta^2/4 sum_i r_i^2 M_i over the four batches."""
    X = [(Fraction(2), Fraction(1)), (Fraction(-1), Fraction(2)), (Fraction(2), Fraction(0)),
         (Fraction(0), Fraction(1))]
    r = [Fraction(1), Fraction(1), Fraction(-1, 2), Fraction(-3)]         # r = -y (theta* = 0)
    eta = Fraction(1, 10)
    # unknowns (s11, s12, s22); the map is linear in them: build its 3x3 matrix and constant
    def step(S):
        out = [[Fraction(0)] * 2 for _ in range(2)]
        for (a, b), ri in zip(X, r):
            M = [[a * a, a * b], [a * b, b * b]]
            A = [[(1 if i == j else 0) - eta * M[i][j] for j in range(2)] for i in range(2)]
            AS = [[sum(A[i][k] * S[k][j] for k in range(2)) for j in range(2)] for i in range(2)]
            for i in range(2):
                for j in range(2):
                    out[i][j] += (sum(AS[i][k] * A[j][k] for k in range(2))
                                  + eta**2 * ri**2 * M[i][j]) / 4
        return out
    basis = [[[1, 0], [0, 0]], [[0, 1], [1, 0]], [[0, 0], [0, 1]]]
    zero = step([[Fraction(0)] * 2 for _ in range(2)])
    cols = []
    for E in basis:
        img = step([[Fraction(v) for v in row] for row in E])
        cols.append([img[0][0] - zero[0][0], img[0][1] - zero[0][1], img[1][1] - zero[1][1]])
    # (I - T) s = c
    T = [[cols[j][i] for j in range(3)] for i in range(3)]
    A = sp.Matrix(3, 3, lambda i, j: (1 if i == j else 0) - T[i][j])
    c = sp.Matrix([zero[0][0], zero[0][1], zero[1][1]])
    s11, s12, s22 = A.LUsolve(c)
    H = [[Fraction(9, 4), Fraction(0)], [Fraction(0), Fraction(3, 2)]]
    # Gamma_1 = (I - eta H) S; H diagonal, so its (1, 2) and (2, 1) entries
    g12 = (1 - eta * H[0][0]) * s12
    g21 = (1 - eta * H[1][1]) * s12
    return sp.Rational(g12 - g21, 2)


def test_ex4_current_without_commutator():
    ref = ex4_by_enumeration()
    assert ref == sp.Rational(6219, 39676880) == checks._CH6_EX4     # the hard-coded reference
    assert checks.check("ch6-ex4", ref).passed                         # exact, SymPy
    assert checks.check("ch6-ex4", "6219/39676880").passed             # exact, string
    assert checks.check("ch6-ex4", 1.567e-4).passed                    # four significant digits
    assert not checks.check("ch6-ex4", 1.57e-4).passed                 # three are not enough
    zero = checks.check("ch6-ex4", 0.0)
    assert not zero.passed and "Lyapunov" in zero.message
    assert not checks.check("ch6-ex4", -float(ref)).passed
    assert "factor" in checks.check("ch6-ex4", 2 * ref).message
    # lib.sgd computes the same value (a test of the library, not of the checker)
    X = np.array([[2.0, 1.0], [-1.0, 2.0], [2.0, 0.0], [0.0, 1.0]])
    prob = lib.sgd.LeastSquares(X, np.array([-1.0, -1.0, 0.5, 3.0]))
    G = lib.sgd.lag_covariance(prob, lr=0.1, batch_size=1)
    assert math.isclose(0.5 * (G[0, 1] - G[1, 0]), float(ref), rel_tol=1e-9)


def test_ex6_kramers():
    kramers, exact, constant = checks._ch6_ex6_reference()
    assert checks.check("ch6-ex6", kramers).passed
    assert checks.check("ch6-ex6", round(kramers, 2)).passed
    assert checks.check("ch6-ex6", float(f"{kramers:.3g}")).passed       # three significant digits
    assert not checks.check("ch6-ex6", float(f"{kramers:.3g}") + 1).passed
    ex = checks.check("ch6-ex6", exact)
    assert not ex.passed and "exact first-passage" in ex.message
    assert not checks.check("ch6-ex6", constant).passed
    # independent: Laplace's formula from scratch
    a, b, _ = np.sort(np.roots([1, 0, -1, 0.05]).real)
    D = lambda t: 0.05 * (1 - 0.9 * t + t**2 / 4)        # noqa: E731
    dphi = scipy.integrate.quad(lambda t: (t**3 - t + 0.05) / D(t), a, b, epsabs=1e-13)[0]
    ref = 2 * math.pi / math.sqrt((3 * a**2 - 1) * abs(3 * b**2 - 1)) * math.sqrt(D(b) / D(a)) * math.exp(dphi)
    assert math.isclose(kramers, ref, rel_tol=1e-9)
    assert exact > kramers                                          # Laplace underestimates here
    assert 1.05 < exact / kramers < 1.3


def test_ex7_tail_index():
    ref = checks._ch6_ex7_reference()
    assert checks.check("ch6-ex7", ref).passed
    assert checks.check("ch6-ex7", round(ref, 4)).passed
    assert checks.check("ch6-ex7", float(f"{ref:.3g}")).passed           # three significant digits
    assert not checks.check("ch6-ex7", float(f"{ref:.3g}") + 0.01).passed
    assert not checks.check("ch6-ex7", 2.0).passed
    x = np.where(np.arange(50) < 45, 0.7, 2.6)
    prob = lib.sgd.LeastSquares(x, x + np.linspace(-1, 1, 50))
    assert math.isclose(lib.sgd.tail_index(prob, lr=0.45), ref, rel_tol=1e-9)
    assert 2 < ref < 4


def test_ex8_reshuffling():
    eta, s = sp.symbols("eta s", positive=True)
    right = eta**4 * s**2 / (1 - (1 - eta) ** 4)
    assert checks.check("ch6-ex8", right).passed
    assert checks.check("ch6-ex8", "eta**3*s**2/(4 - 6*eta + 4*eta**2 - eta**3)").passed
    rep = checks.check("ch6-ex8", eta * s**2 / (2 - eta))
    assert not rep.passed and "replacement" in rep.message
    assert not checks.check("ch6-ex8", eta**3 * s**2 / 4).passed    # only the leading term


def test_ex9_sgld():
    T, h, a, sigma, B = sp.symbols("T h a sigma B", positive=True)
    right = (2 * T * h + h**2 * sigma**2 / B) / (h * a * (2 - h * a))
    assert checks.check("ch6-ex9", right).passed
    assert checks.check("ch6-ex9", "T/a*(1 + h*sigma**2/(2*T*B))/(1 - h*a/2)").passed
    for wrong in (T / (a * (1 - h * a / 2)), T / a, (2 * T * h + h**2 * sigma**2) / (h * a * (2 - h * a))):
        res = checks.check("ch6-ex9", wrong)
        assert not res.passed and res.message
    # independent: lib's exact SGLD covariance in 1-D with constant x
    y = np.array([1.0, -1.0, 0.5, -0.5])
    prob = lib.sgd.LeastSquares(np.full(4, math.sqrt(1.3)), y)
    C = prob.noise_covariance()[0, 0]
    v = lib.sgd.stationary_covariance(prob, lr=0.2, batch_size=2, temperature=0.1)[0, 0]
    assert math.isclose(v, float(right.subs({T: 0.1, h: 0.2, a: 1.3, sigma: math.sqrt(C), B: 2})),
                        rel_tol=1e-12)


def test_all_chapter6_checkers_registered_and_silent():
    labels = [k for k in checks.available() if k.startswith("ch6-")]
    assert labels == sorted(["ch6-ex1", "ch6-ex2", "ch6-ex3", "ch6-ex4", "ch6-ex6", "ch6-ex7", "ch6-ex8",
                             "ch6-ex9"])
    assert not checks.check("ch6-ex3", "eta*zz").passed            # unknown symbol: a message, no crash
    assert not checks.check("ch6-ex1", [1, 2]).passed
