"""Answer checkers for the exercises.

Every exercise whose answer is a number, an expression or a function has a
checker registered under the exercise's label (the ``:label:`` of its
``exercise`` directive, e.g. ``"ch4-ex2"``). A student calls

>>> import lib
>>> lib.checks.check("ch0-ex1", 2.5066)          # doctest: +SKIP
CheckResult(label='ch0-ex1', passed=True, ...)

and reads whether the answer is right and, if not, *why* (too large, off by
a constant factor, wrong dependence on a parameter...) without the expected
value ever being printed.

Chapters add their checkers with the :func:`register` decorator, built from
the three building blocks :func:`check_number`, :func:`check_expression` and
:func:`check_function`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import sympy as sp

__all__ = [
    "CheckResult",
    "register",
    "check",
    "available",
    "check_number",
    "check_expression",
    "check_function",
]


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a checker.

    Attributes
    ----------
    label : str
        The exercise label, e.g. ``"ch4-ex2"``.
    passed : bool
        Whether the answer is accepted.
    message : str
        Why (never contains the expected answer).
    """

    label: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        mark = "correct" if self.passed else "not yet"
        return f"[{self.label}] {mark}: {self.message}"

    def _repr_markdown_(self) -> str:
        mark = "✅ **correct**" if self.passed else "❌ **not yet**"
        return f"`{self.label}` {mark}: {self.message}"


_REGISTRY: dict[str, tuple[Callable[[Any], CheckResult], str]] = {}


def register(label: str, description: str = "") -> Callable:
    """Decorator registering ``func(answer) -> CheckResult`` under ``label``."""

    def decorate(func: Callable[[Any], CheckResult]) -> Callable[[Any], CheckResult]:
        if label in _REGISTRY:
            raise ValueError(f"a checker for label {label!r} is already registered")
        _REGISTRY[label] = (func, description or (func.__doc__ or "").strip().split("\n")[0])
        return func

    return decorate


def available() -> dict[str, str]:
    """Labels of all registered checkers with a one-line description each."""
    return {label: desc for label, (_, desc) in sorted(_REGISTRY.items())}


def check(label: str, answer: Any) -> CheckResult:
    """Check ``answer`` for the exercise ``label``; see :func:`available`."""
    if label not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ValueError(f"no checker for exercise label {label!r}; known labels: {known}")
    func, _ = _REGISTRY[label]
    try:
        return func(answer)
    except (TypeError, ValueError, sp.SympifyError) as err:  # bad answer format
        return CheckResult(label, False, f"could not read the answer ({type(err).__name__}: {err})")


# ----------------------------------------------------------------------------
# building blocks
# ----------------------------------------------------------------------------


def check_number(
    answer: Any,
    expected: float,
    *,
    label: str,
    rtol: float = 1e-3,
    atol: float = 0.0,
    what: str = "the value",
) -> CheckResult:
    """Compare a number with ``expected`` within ``rtol``/``atol``.

    The message says whether the answer is too small or too large, and names a
    simple factor (2, 1/2, pi, ...) when the answer is off by one.
    """
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return CheckResult(label, False, f"{what} must be a single real number, got {answer!r}")
    if not math.isfinite(value):
        return CheckResult(label, False, f"{what} is not finite ({value})")
    if abs(value - expected) <= atol + rtol * abs(expected):
        return CheckResult(label, True, f"{what} agrees to the requested accuracy (rtol={rtol:g}).")
    if expected != 0 and value != 0:
        ratio = value / expected
        if ratio < 0:
            return CheckResult(label, False, f"{what} has the wrong sign.")
        for name, factor in _FACTORS:
            for f, word in ((factor, name), (1 / factor, f"1/{name}")):
                if abs(ratio - f) <= 10 * rtol * f:
                    return CheckResult(
                        label, False, f"{what} is off by a factor of {word}: look for a missing constant."
                    )
    side = "too large" if value > expected else "too small"
    return CheckResult(label, False, f"{what} is {side}.")


_FACTORS = [("2", 2.0), ("4", 4.0), ("pi", math.pi), ("sqrt(2)", math.sqrt(2)), ("sqrt(pi)", math.sqrt(math.pi)),
            ("sqrt(2 pi)", math.sqrt(2 * math.pi)), ("e", math.e)]


def _sample_points(symbols: Sequence[sp.Symbol], n: int, rng: np.random.Generator,
                   domains: dict | None) -> list[dict]:
    points = []
    for _ in range(n):
        point = {}
        for s in symbols:
            lo, hi = (domains or {}).get(s, (0.3, 2.5) if s.is_positive else (-2.0, 2.0))
            point[s] = sp.Float(rng.uniform(lo, hi))
        points.append(point)
    return points


def check_expression(
    answer: Any,
    expected: sp.Expr,
    symbols: Iterable[sp.Symbol],
    *,
    label: str,
    what: str = "the expression",
    domains: dict | None = None,
    n_points: int = 12,
    rtol: float = 1e-8,
) -> CheckResult:
    """Compare a SymPy expression (or a string) with ``expected``.

    The answer may only use ``symbols`` (looked up by name when it is a
    string). Equality is decided symbolically when ``simplify`` can, otherwise
    at ``n_points`` random points of ``domains`` (default: (0.3, 2.5) for
    positive symbols, (-2, 2) otherwise). The message distinguishes a constant
    factor, a constant offset and a wrong dependence on one of the symbols.
    """
    symbols = list(symbols)
    by_name = {s.name: s for s in symbols}
    if isinstance(answer, str):
        answer = sp.sympify(answer, locals=dict(by_name))
    answer = sp.sympify(answer)
    # Accept answers written with fresh Symbols of the same name (no assumptions).
    answer = answer.subs({s: by_name[s.name] for s in answer.free_symbols if s.name in by_name})
    extra = sorted(s.name for s in answer.free_symbols if s not in symbols)
    if extra:
        allowed = ", ".join(s.name for s in symbols)
        return CheckResult(label, False, f"{what} uses {', '.join(extra)}; it may only depend on {allowed}.")
    rng = np.random.default_rng(20261124)
    points = _sample_points(symbols, n_points, rng, domains)

    def values(expr: sp.Expr) -> np.ndarray:
        return np.array([complex(sp.N(expr.subs(p), 30)) for p in points])

    try:
        a, e = values(answer), values(expected)
    except (TypeError, ValueError):
        return CheckResult(label, False, f"{what} could not be evaluated to a number at test points.")
    if not np.all(np.isfinite(a)):
        return CheckResult(label, False, f"{what} is not finite at some admissible parameter values.")
    if np.allclose(a, e, rtol=rtol, atol=rtol * np.max(np.abs(e), initial=1.0)):
        return CheckResult(label, True, f"{what} is right.")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = a / e
    if np.all(np.isfinite(ratio)) and np.allclose(ratio, ratio[0], rtol=1e-6):
        return CheckResult(label, False, f"{what} is off by a constant factor.")
    diff = a - e
    if np.allclose(diff, diff[0], rtol=1e-6, atol=1e-9):
        return CheckResult(label, False, f"{what} is off by an additive constant.")
    # Which symbol carries the wrong dependence? Vary one symbol at a time.
    wrong = []
    for s in symbols:
        base = points[0]
        moved = [{**base, s: base[s] * f} for f in (1.05, 1.1)]
        ra = [complex(sp.N(answer.subs(m), 30)) / complex(sp.N(expected.subs(m), 30)) for m in moved]
        r0 = complex(sp.N(answer.subs(base), 30)) / complex(sp.N(expected.subs(base), 30))
        if not np.allclose(ra, r0, rtol=1e-6):
            wrong.append(s.name)
    if wrong:
        return CheckResult(label, False, f"{what} depends on {', '.join(wrong)} in the wrong way.")
    return CheckResult(label, False, f"{what} does not agree with the reference.")


def check_function(
    answer: Callable,
    reference: Callable,
    points: np.ndarray,
    *,
    label: str,
    what: str = "the function",
    rtol: float = 1e-6,
    atol: float = 1e-10,
) -> CheckResult:
    """Compare a Python function with ``reference`` at the given ``points``.

    ``answer`` is called once with the whole array of points (so a vectorized
    NumPy function is expected); a function that fails on arrays is retried
    point by point.
    """
    if not callable(answer):
        return CheckResult(label, False, f"{what} must be a callable, got {type(answer).__name__}.")
    points = np.asarray(points, dtype=float)
    try:
        got = np.asarray(answer(points), dtype=float)
        if got.shape != points.shape[: got.ndim] and got.size != points.shape[0]:
            raise ValueError
    except Exception:  # noqa: BLE001 - any failure on arrays: try point by point
        try:
            got = np.array([float(answer(p)) for p in points])
        except Exception as err:  # noqa: BLE001
            return CheckResult(label, False, f"{what} raised {type(err).__name__}: {err}")
    want = np.asarray(reference(points), dtype=float)
    got = np.broadcast_to(got.reshape(want.shape) if got.size == want.size else got, want.shape)
    if not np.all(np.isfinite(got)):
        return CheckResult(label, False, f"{what} returns non-finite values at some test points.")
    if np.allclose(got, want, rtol=rtol, atol=atol):
        return CheckResult(label, True, f"{what} agrees at all {want.size} test points.")
    bad = np.flatnonzero(~np.isclose(got, want, rtol=rtol, atol=atol).ravel())
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = got.ravel() / want.ravel()
    if np.all(np.isfinite(ratio)) and np.allclose(ratio, ratio[0], rtol=1e-6):
        return CheckResult(label, False, f"{what} is off by a constant factor everywhere.")
    return CheckResult(label, False, f"{what} disagrees at {bad.size} of {want.size} test points.")


# ----------------------------------------------------------------------------
# Registered checkers, one section per chapter. Each checker takes the
# student's answer and returns a CheckResult; it never prints the answer.
# ----------------------------------------------------------------------------


# --- Chapter 0: how every result is checked ----------------------------------
@register("ch0-ex1", "normalizer of L = 2x^2 at T = 1/2")
def _ch0_ex1(answer):
    return check_number(answer, math.sqrt(math.pi) / 2, label="ch0-ex1", rtol=1e-3, what="Z")


@register("ch0-ex2", "samples needed to resolve a 1% temperature error at |z| = 4")
def _ch0_ex2(answer):
    return check_number(answer, 2 * (4 / 0.01) ** 2, label="ch0-ex2", rtol=1e-2, what="the sample size")


@register("ch0-ex4", "largest step with bias below 0.3 standard errors")
def _ch0_ex4(answer):
    return check_number(answer, 0.006, label="ch0-ex4", rtol=1e-2, what="the step h")


# --- Chapter 4: the stationary distribution ---------------------------------
@register("ch4-ex1", "temperature of SGD with mini-batches of size B")
def _ch4_ex1(answer):
    eta, sigma, B = sp.symbols("eta sigma B", positive=True)
    return check_expression(answer, eta * sigma**2 / (2 * B), [eta, sigma, B], label="ch4-ex1",
                            what="the temperature", domains={B: (1.0, 64.0)})


@register("ch4-ex2", "stationary variance of the implicit (backward Euler) step for L = a x^2/2")
def _ch4_ex2(answer):
    a, h, T = sp.symbols("a h T", positive=True)
    return check_expression(answer, T / (a * (1 + a * h / 2)), [a, h, T], label="ch4-ex2",
                            what="the stationary variance", domains={h: (0.01, 3.0)})


# P(x < 0) under exp(-L/T)/Z for double_well(tilt=0.1) at T = 0.25 (scipy.integrate.quad;
# tests/test_checks_ch4.py recomputes it).
_CH4_LEFT_WELL = 0.6596254731463966


@register("ch4-ex3", "left-well probability of the tilted double well at T = 1/4")
def _ch4_ex3(answer):
    return check_number(answer, _CH4_LEFT_WELL, label="ch4-ex3", rtol=1e-3,
                        what="the left-well probability")


def _ch4_quartic_density(x):
    T = 0.25
    Z = 2.0 * (4.0 * T) ** 0.25 * math.gamma(1.25)
    return np.exp(-np.asarray(x, dtype=float) ** 4 / (4.0 * T)) / Z


@register("ch4-ex4", "normalized stationary density of SGD on L = x^4/4 with eta = 1/2, sigma = 1")
def _ch4_ex4(answer):
    return check_function(answer, _ch4_quartic_density, np.linspace(-2.5, 2.5, 41), label="ch4-ex4",
                          what="the stationary density", rtol=1e-6, atol=1e-12)


# Spectral gap of the Fokker-Planck generator, double_well() at T = 1/4, from
# lib.generator_matrix on [-3, 3] with 960 cells (converged to about 1e-5).
_CH4_GAP = 0.18717100926786054


@register("ch4-ex6", "relaxation rate (spectral gap) of the double well at T = 1/4")
def _ch4_ex6(answer):
    return check_number(answer, _CH4_GAP, label="ch4-ex6", rtol=2e-3, what="the relaxation rate")


# --- Chapter 5 (appendix: where the diffusion flow comes from) ---------------
@register("ch5-ex1", "diffusion coefficient of a coin-flip walk, in delta and tau")
def _ch5_ex1(answer):
    delta, tau = sp.symbols("delta tau", positive=True)
    return check_expression(answer, delta**2 / (2 * tau), [delta, tau], label="ch5-ex1",
                            what="the diffusion coefficient")


@register("ch5-ex2", "excess kurtosis of the uniform-step walk after n steps")
def _ch5_ex2(answer):
    n = sp.Symbol("n", positive=True)
    return check_expression(answer, -sp.Rational(6, 5) / n, [n], label="ch5-ex2",
                            what="the excess kurtosis", domains={n: (1.0, 50.0)})


@register("ch5-ex3", "first-order correction f(x) to log p for D(x) = T(1 + kappa x^2)")
def _ch5_ex3(answer):
    x = sp.Symbol("x", real=True)
    T = sp.Symbol("T", positive=True)
    return check_expression(answer, x**4 / (4 * T) - x**2, [x, T], label="ch5-ex3",
                            what="the correction f(x)", domains={x: (-3.0, 3.0)})


@register("ch5-ex4", "stationary variance of dx = -x dt + sqrt(2T(1 + kappa x^2)) dW")
def _ch5_ex4(answer):
    kappa, T = sp.symbols("kappa T", positive=True)
    return check_expression(answer, T / (1 - kappa * T), [kappa, T], label="ch5-ex4",
                            what="the stationary variance",
                            domains={kappa: (0.05, 0.35), T: (0.3, 2.5)})


@register("ch5-ex5", "Sigma_11 of the 2-D Ornstein-Uhlenbeck process with anisotropic noise")
def _ch5_ex5(answer):
    return check_number(answer, 29 / 24, label="ch5-ex5", rtol=1e-3, what="Sigma_11")


# --- Chapter 3: Langevin dynamics --------------------------------------------
@register("ch3-ex1", "long-time variance of SGD-as-Langevin on L = a x^2/2, in eta, sigma, a")
def _ch3_ex1(answer):
    eta, sigma, a = sp.symbols("eta sigma a", positive=True)
    return check_expression(answer, eta * sigma**2 / (2 * a), [eta, sigma, a], label="ch3-ex1",
                            what="the stationary variance")


@register("ch3-ex2", "leading coefficient D of the ULA weak error of the OU mean, in a, t, x0")
def _ch3_ex2(answer):
    a, t = sp.symbols("a t", positive=True)
    x0 = sp.Symbol("x0", real=True)
    return check_expression(answer, -a**2 * t * x0 * sp.exp(-a * t) / 2, [a, t, x0], label="ch3-ex2",
                            what="the coefficient D")


@register("ch3-ex3", "stationary variance with the noise scaled by h (T = 1, a = 1, h = 0.01)")
def _ch3_ex3(answer):
    return check_number(answer, 0.02 / 1.99, label="ch3-ex3", rtol=1e-3, what="the stationary variance")


def _ch3_ou_var_from_unit_start(t):
    return 0.25 + 0.75 * np.exp(-4.0 * np.asarray(t, dtype=float))


@register("ch3-ex4", "Var[x_t] of the OU process (a = 2, T = 1/2) started from N(0, 1)")
def _ch3_ex4(answer):
    return check_function(answer, _ch3_ou_var_from_unit_start, np.linspace(0.0, 3.0, 31), label="ch3-ex4",
                          what="the variance function", rtol=1e-6, atol=1e-10)


@register("ch3-ex6", "E|Delta W / Delta t| for Brownian motion, in Delta_t")
def _ch3_ex6(answer):
    dt = sp.Symbol("Delta_t", positive=True)
    return check_expression(answer, sp.sqrt(2 / (sp.pi * dt)), [dt], label="ch3-ex6",
                            domains={dt: (1e-3, 1.0)}, what="the expected difference quotient")


# --- Chapter 1: densities as a continuous softmax ----------------------------
@register("ch1-ex1", "normalizer of exp(-a y^4 / T) as an expression in a and T")
def _ch1_ex1(answer):
    a, T = sp.symbols("a T", positive=True)
    return check_expression(answer, 2 * sp.gamma(sp.Rational(5, 4)) * (T / a) ** sp.Rational(1, 4), [a, T],
                            label="ch1-ex1", what="Z(a, T)")


@register("ch1-ex2", "normalizer of a 3-D quadratic form at T = 1/2")
def _ch1_ex2(answer):
    return check_number(answer, math.pi ** 1.5 / 2, label="ch1-ex2", rtol=1e-3, what="Z")


@register("ch1-ex3", "score function d/dy log p for L = y^4 - 2y^2 + 0.3y at T = 0.5")
def _ch1_ex3(answer):
    return check_function(answer, lambda y: -(4 * y**3 - 4 * y + 0.3) / 0.5, np.linspace(-2.5, 2.5, 41),
                          label="ch1-ex3", what="the score function")


@register("ch1-ex4", "proposal scale s minimizing the importance-sampling variance")
def _ch1_ex4(answer):
    return check_number(answer, 1.0, label="ch1-ex4", rtol=1e-3, what="the scale s")


@register("ch1-ex5", "draws for a 1% relative standard error, IS with s = 1.5 in d = 50")
def _ch1_ex5(answer):
    rho = math.expm1(50 * math.log(2.25 / math.sqrt(3.5)))
    return check_number(answer, rho / 1e-4, label="ch1-ex5", rtol=1e-2, what="the number of draws")


# --- Chapter 2: MCMC on discrete spaces ---------------------------------------
@register("ch2-ex1", "Gibbs conditional P(s_i = +1 | rest) in the local field f and T")
def _ch2_ex1(answer):
    f = sp.Symbol("f", real=True)
    T = sp.Symbol("T", positive=True)
    return check_expression(answer, 1 / (1 + sp.exp(-2 * f / T)), [f, T], label="ch2-ex1",
                            what="the conditional probability")


@register("ch2-ex2", "partition function of the open zero-field Ising chain, in n, J, T")
def _ch2_ex2(answer):
    n, J, T = sp.symbols("n J T", positive=True)
    return check_expression(answer, 2 * (2 * sp.cosh(J / T)) ** (n - 1), [n, J, T], label="ch2-ex2",
                            what="Z", domains={n: (2.0, 16.0)})


def _ch2_ring_r(temperature: float, n: int = 12, coupling: float = 1.0) -> float:
    """Per-sweep autocorrelation of the magnetization, random-scan Gibbs on a zero-field ring."""
    gamma = math.tanh(2 * coupling / temperature)
    return (1 - (1 - gamma) / n) ** n


@register("ch2-ex3", "integrated autocorrelation time (sweeps) of Gibbs on the ring, n = 12, T = 1.5")
def _ch2_ex3(answer):
    r = _ch2_ring_r(1.5)
    return check_number(answer, (1 + r) / (1 - r), label="ch2-ex3", rtol=1e-3,
                        what="the autocorrelation time")


@register("ch2-ex4", "magnetization autocorrelation rho(k) at lag k sweeps, Gibbs on the ring, T = 1")
def _ch2_ex4(answer):
    r = _ch2_ring_r(1.0)
    return check_function(answer, lambda k: r ** np.asarray(k, dtype=float), np.arange(0.0, 61.0, 3.0),
                          label="ch2-ex4", what="the autocorrelation function", rtol=1e-6, atol=1e-10)
