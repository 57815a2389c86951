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

#: Names students commonly type that SymPy spells differently (``Gamma(1/4)``,
#: ``ln(x)``, ``Pi``); a string answer is parsed with these as well.
_ALIASES: dict[str, Any] = {
    "Gamma": sp.gamma, "ln": sp.log, "Log": sp.log, "Exp": sp.exp, "Sqrt": sp.sqrt,
    "Pi": sp.pi, "PI": sp.pi, "arctan": sp.atan, "arcsin": sp.asin, "arccos": sp.acos,
    "Abs": sp.Abs, "abs": sp.Abs, "Cosh": sp.cosh, "Sinh": sp.sinh, "Tanh": sp.tanh,
    "erf": sp.erf, "Erf": sp.erf,
    # NumPy's accurate forms, exact in SymPy: expm1(x) = exp(x) - 1, log1p(x) = log(1 + x)
    "expm1": lambda x: sp.exp(x) - 1, "log1p": lambda x: sp.log(1 + x),
}

#: Relative tolerance for answers that contain decimal numbers (``0.8862``,
#: ``1.8128*(T/a)**0.25``): about four significant digits.
DECIMAL_RTOL = 1e-4


def _parse(answer: Any, names: dict | None = None) -> sp.Basic:
    """A SymPy object from a string, a number, a NumPy scalar or a SymPy expression.

    Strings are parsed with the symbols in ``names`` and the :data:`_ALIASES`;
    an equation ``Eq(Z, rhs)`` (or a string ``"Z = rhs"``) gives its right-hand side.
    Raises ``TypeError`` for anything else.
    """
    if isinstance(answer, str):
        text = answer.strip()
        if text.count("=") == 1 and "==" not in text and not any(c in text for c in "<>!"):
            text = text.split("=")[1]
        local = {**_ALIASES, **(names or {})}
        expr = sp.sympify(text, locals=local, convert_xor=True)
    elif isinstance(answer, (bool, np.bool_)):
        raise TypeError("a truth value is not an answer")
    elif isinstance(answer, np.ndarray):
        if answer.size != 1:
            raise TypeError(f"expected one value, got an array of shape {answer.shape}")
        expr = sp.sympify(answer.reshape(-1)[0].item())
    elif isinstance(answer, (sp.Basic, int, float, complex, np.number)):
        expr = sp.sympify(answer.item() if isinstance(answer, np.number) else answer)
    else:
        raise TypeError(f"cannot read an answer of type {type(answer).__name__}")
    if isinstance(expr, sp.Equality):
        expr = expr.rhs
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"expected a number or an expression, got {type(expr).__name__}")
    return expr


def _unknown_functions(expr: sp.Expr) -> list[str]:
    return sorted({type(f).__name__ for f in expr.atoms(sp.core.function.AppliedUndef)})


def _has_decimals(expr: sp.Expr) -> bool:
    """Whether a decimal number other than a short binary fraction (0.5, 0.25, 3.0) appears."""
    return any(float(f) * 1024 != round(float(f) * 1024) for f in expr.atoms(sp.Float))


#: The constant factors a slip typically introduces (and their inverses).
_SLIP_FACTORS = (2.0, 4.0, 8.0, math.pi, 2 * math.pi, 4 * math.pi, math.sqrt(2), math.sqrt(math.pi),
                 math.sqrt(2 * math.pi), math.e)


def _simple_factor(ratio: float, rtol: float) -> bool:
    """Whether ``ratio`` is one of :data:`_SLIP_FACTORS` or an inverse, within ``min(rtol, 1e-3)``.

    The tolerance is tight so that a wrong answer is not called "off by a simple factor" by
    accident (the message must never name or suggest a factor that is not the actual one).
    """
    tol = min(rtol, 1e-3)
    return any(abs(ratio - f) <= tol * f for base in _SLIP_FACTORS for f in (base, 1 / base))


def check_number(
    answer: Any,
    expected: float,
    *,
    label: str,
    rtol: float = 1e-3,
    atol: float = 0.0,
    what: str = "the value",
    slips: Sequence[tuple[float, str]] = (),
    factor_hints: bool = True,
) -> CheckResult:
    """Compare a number with ``expected`` within ``rtol``/``atol``.

    The answer may be an int, a float, a NumPy scalar or 1-element array, a SymPy
    number (``sp.sqrt(sp.pi)/2``) or a string SymPy can read (``"sqrt(pi)/2"``,
    ``"Gamma(1/4)/2"``). The message never contains the expected value and never
    names the factor by which an answer is off (that would give the answer away):
    it says *too large*, *too small*, *wrong sign*, or *off by a simple constant
    factor* (one of the usual slips 2, 4, 8, pi, 2 pi, 4 pi, sqrt 2, sqrt pi,
    sqrt(2 pi), e or an inverse, matched tightly) when that is so.
    ``slips`` are known wrong values with a message each (say which idea was
    missed, not by how much); they are matched within ``rtol``. Set
    ``factor_hints=False`` where even "a simple factor" would reveal the answer
    (an expected value of 1, say).
    """
    try:
        expr = _parse(answer)
    except (TypeError, ValueError, sp.SympifyError):
        return CheckResult(label, False, f"{what} must be a single real number; could not read {answer!r}.")
    unknown = _unknown_functions(expr)
    if unknown:
        return CheckResult(label, False, f"{what} uses the unknown function(s) {', '.join(unknown)}; "
                                         "use SymPy's names (gamma, exp, log, sqrt, ...).")
    if expr.free_symbols:
        names = ", ".join(sorted(s.name for s in expr.free_symbols))
        return CheckResult(label, False, f"{what} must be a number, but it still contains {names}.")
    try:
        value = complex(sp.N(expr, 30))
    except (TypeError, ValueError):
        return CheckResult(label, False, f"{what} could not be evaluated to a number.")
    if abs(value.imag) > 1e-12 * max(abs(value.real), 1.0):
        return CheckResult(label, False, f"{what} must be real, got a complex number.")
    value = value.real
    if not math.isfinite(value):
        return CheckResult(label, False, f"{what} is not finite.")
    if abs(value - expected) <= atol + rtol * abs(expected):
        tolerance = (f"within {atol:.2g}" if atol > rtol * abs(expected)
                     else f"relative tolerance {rtol:g}")
        return CheckResult(label, True, f"{what} agrees to the requested accuracy ({tolerance}).")
    for wrong, message in slips:
        if abs(value - wrong) <= atol + rtol * abs(wrong):
            return CheckResult(label, False, f"{what} is not right: {message}")
    if expected != 0 and value != 0:
        ratio = value / expected
        if ratio < 0:
            return CheckResult(label, False, f"{what} has the wrong sign.")
        if factor_hints and _simple_factor(ratio, rtol):
            side = "too large" if value > expected else "too small"
            return CheckResult(label, False, f"{what} is {side} by a simple constant factor: "
                                             "look for a missing or extra constant.")
    side = "too large" if value > expected else "too small"
    return CheckResult(label, False, f"{what} is {side}.")


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


def _numeric(expr: sp.Expr, point: dict) -> complex:
    return complex(sp.N(expr.subs(point), 30))


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
    slips: Sequence[tuple[Any, str]] = (),
) -> CheckResult:
    """Compare a SymPy expression (or a string) with ``expected``.

    The answer may only use ``symbols`` (matched by name, whatever assumptions
    the student's symbols carry; strings are parsed with them and with common
    spellings such as ``Gamma``, ``ln``, ``Pi``). Any equivalent form is accepted:
    equality is decided at ``n_points`` random points of ``domains`` (default
    (0.3, 2.5) for positive symbols, (-2, 2) otherwise) to ``rtol``, or to
    :data:`DECIMAL_RTOL` when the answer contains decimal numbers such as 1.8128.
    The message distinguishes a constant factor, a constant offset and a wrong
    dependence on one of the symbols, without revealing the expected expression.
    ``slips`` are known wrong expressions with a message each (which idea was
    missed); they are recognised at the same test points.
    """
    symbols = list(symbols)
    by_name = {s.name: s for s in symbols}
    answer = _parse(answer, by_name)
    # Accept answers written with fresh Symbols of the same name (no assumptions).
    answer = answer.subs({s: by_name[s.name] for s in answer.free_symbols if s.name in by_name})
    unknown = _unknown_functions(answer)
    if unknown:
        return CheckResult(label, False, f"{what} uses the unknown function(s) {', '.join(unknown)}; "
                                         "use SymPy's names (gamma, exp, log, sqrt, ...).")
    extra = sorted(s.name for s in answer.free_symbols if s not in symbols)
    if extra:
        allowed = ", ".join(s.name for s in symbols)
        return CheckResult(label, False, f"{what} uses {', '.join(extra)}; it may only depend on {allowed}.")
    tol = max(rtol, DECIMAL_RTOL) if _has_decimals(answer) else rtol
    rng = np.random.default_rng(20261124)
    points = _sample_points(symbols, n_points, rng, domains)
    try:
        a = np.array([_numeric(answer, p) for p in points])
        e = np.array([_numeric(expected, p) for p in points])
    except (TypeError, ValueError):
        return CheckResult(label, False, f"{what} could not be evaluated to a number at test points.")
    if not np.all(np.isfinite(a)):
        return CheckResult(label, False, f"{what} is not finite at some admissible parameter values.")
    if np.allclose(a, e, rtol=tol, atol=tol * np.max(np.abs(e), initial=1.0)):
        digits = " (to the precision of its decimal numbers)" if tol > rtol else ""
        return CheckResult(label, True, f"{what} is right{digits}.")
    for wrong, message in slips:
        w = np.array([_numeric(sp.sympify(wrong), p) for p in points])
        if np.allclose(a, w, rtol=tol, atol=tol * np.max(np.abs(w), initial=1.0)):
            return CheckResult(label, False, f"{what} is not right: {message}")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = a / e
    if np.all(np.isfinite(ratio)) and np.allclose(ratio, ratio[0], rtol=max(tol, 1e-6)):
        return CheckResult(label, False, f"{what} has the right dependence on every symbol but is off "
                                         "by a constant factor.")
    diff = a - e
    if np.allclose(diff, diff[0], rtol=max(tol, 1e-6), atol=1e-9):
        return CheckResult(label, False, f"{what} is off by an additive constant.")
    # Which symbol carries the wrong dependence? Vary one symbol at a time.
    wrong = []
    base = points[0]
    try:
        r0 = _numeric(answer, base) / _numeric(expected, base)
        for s in symbols:
            moved = [{**base, s: base[s] * f} for f in (1.05, 1.1)]
            ra = [_numeric(answer, m) / _numeric(expected, m) for m in moved]
            if not np.allclose(ra, r0, rtol=max(tol, 1e-6)):
                wrong.append(s.name)
    except (TypeError, ValueError, ZeroDivisionError):
        wrong = []
    if wrong:
        return CheckResult(label, False, f"{what} depends on {', '.join(wrong)} in the wrong way.")
    return CheckResult(label, False, f"{what} does not agree with the reference.")


def _as_callable(answer: Any, variable: str | None) -> Callable | None:
    """A vectorized function from a callable, a SymPy expression or a string in one variable."""
    if callable(answer) and not isinstance(answer, sp.Basic):
        return answer
    if isinstance(answer, (str, sp.Expr)):
        names = {variable: sp.Symbol(variable)} if variable else {}
        expr = _parse(answer, names)
        free = sorted(expr.free_symbols, key=lambda s: s.name)
        if len(free) > 1 or (variable and free and free[0].name != variable):
            raise ValueError(f"the expression must depend on {variable or 'one variable'} only, "
                             f"found {', '.join(s.name for s in free)}")
        arg = free[0] if free else sp.Symbol(variable or "x")
        func = sp.lambdify(arg, expr, modules="numpy")
        return lambda v: np.broadcast_to(func(v), np.shape(v))
    return None


def check_function(
    answer: Callable,
    reference: Callable,
    points: np.ndarray,
    *,
    label: str,
    what: str = "the function",
    rtol: float = 1e-6,
    atol: float = 1e-10,
    variable: str | None = None,
) -> CheckResult:
    """Compare a Python function with ``reference`` at the given ``points``.

    ``answer`` is a callable (called once with the whole array of points, so a
    vectorized NumPy function is expected; one that fails on arrays is retried
    point by point), or a SymPy expression or string in the single ``variable``
    (for example ``"-(4*y**3 - 4*y + 0.3)/0.5"``).
    """
    try:
        func = _as_callable(answer, variable)
    except (TypeError, ValueError, sp.SympifyError) as err:
        return CheckResult(label, False, f"{what} could not be read: {err}")
    if func is None:
        return CheckResult(label, False, f"{what} must be a callable or an expression, "
                                         f"got {type(answer).__name__}.")
    points = np.asarray(points, dtype=float)
    try:
        got = np.asarray(func(points), dtype=float)
        if got.shape != points.shape[: got.ndim] and got.size != points.shape[0]:
            raise ValueError
    except Exception:  # noqa: BLE001 - any failure on arrays: try point by point
        try:
            got = np.array([float(func(p)) for p in points])
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
        return CheckResult(label, False, f"{what} has the right shape but is off by a constant factor "
                                         "everywhere.")
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
    return check_number(answer, 2 * (4 / 0.01) ** 2, label="ch0-ex2", rtol=1e-2, what="the sample size",
                        slips=[((4 / 0.01) ** 2, "the standard error of the mean of x^2 is not "
                                "sd(x)^2/sqrt(n): use the one given in the exercise."),
                               (2 * 4 / 0.01, "the standard error shrinks like 1/sqrt(n), not 1/n.")])


@register("ch0-ex4", "largest step with bias below 0.3 standard errors")
def _ch0_ex4(answer):
    return check_number(answer, 0.006, label="ch0-ex4", rtol=1e-2, what="the step h",
                        slips=[(0.003, "the relative bias is a h / 2, and a = 1 here."),
                               (0.3 * 2 / math.sqrt(20_000), "compare the bias with the standard "
                                "error of E[x^2] relative to T/a, which is sqrt(2/n).")])


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


@register("ch3-ex2", "leading coefficient gamma of the ULA weak error of the OU mean, in a, t, x0")
def _ch3_ex2(answer):
    a, t = sp.symbols("a t", positive=True)
    x0 = sp.Symbol("x0", real=True)
    return check_expression(answer, -a**2 * t * x0 * sp.exp(-a * t) / 2, [a, t, x0], label="ch3-ex2",
                            what="the coefficient gamma")


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
                          label="ch1-ex3", what="the score function", variable="y")


@register("ch1-ex4", "proposal scale s minimizing the importance-sampling variance")
def _ch1_ex4(answer):
    # no factor hints: with an expected value this simple they would give it away
    return check_number(answer, 1.0, label="ch1-ex4", rtol=1e-3, what="the scale s", factor_hints=False,
                        slips=[(math.sqrt(0.5), "at that scale the variance is infinite, not minimal."),
                               (-1.0, "a scale is positive.")])


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
                          label="ch2-ex4", what="the autocorrelation function", rtol=1e-6, atol=1e-10,
                          variable="k")


@register("ch2-ex7", "Metropolis-Hastings acceptance of a proposed -1 -> +1 flip, biased-coin proposal")
def _ch2_ex7(answer):
    dL = sp.Symbol("Delta_L", real=True)
    T = sp.Symbol("T", positive=True)
    theta = sp.Symbol("theta", positive=True)
    expected = sp.Min(1, sp.exp(-dL / T) * (1 - theta) / theta)
    ratio = sp.exp(-dL / T)
    slips = [(sp.Min(1, ratio), "it has no correction for the asymmetric proposal."),
             (sp.Min(1, ratio * theta / (1 - theta)), "the proposal ratio is upside down: which "
              "probability belongs to the forward move, which to the backward one?"),
             (ratio * (1 - theta) / theta, "an acceptance probability cannot exceed 1.")]
    return check_expression(answer, expected, [dL, T, theta], label="ch2-ex7",
                            what="the acceptance probability", slips=slips,
                            domains={dL: (-2.0, 2.0), T: (0.3, 2.5), theta: (0.05, 0.95)})


# ---- chapter 3 (added) ----
def _ch3_ex5_snr() -> float:
    """|C| h / SE for E[x_1^2] of the OU process (a = 1, T = 1/2, x0 = 2), h = 0.01, n = 1e4."""
    a, T, x0, t = 1.0, 0.5, 2.0, 1.0
    m, v = x0 * math.exp(-a * t), T / a * (1 - math.exp(-2 * a * t))
    C = T / 2 * (1 - math.exp(-2 * a * t)) + a * t * math.exp(-2 * a * t) * (T - a * x0**2)
    return abs(C) * 0.01 / math.sqrt((2 * v**2 + 4 * m**2 * v) / 1e4)


@register("ch3-ex5", "signal-to-noise ratio of a weak-error measurement with independent chains")
def _ch3_ex5(answer):
    # an estimate: 10% accuracy is enough to see that the signal drowns in the noise
    return check_number(answer, _ch3_ex5_snr(), label="ch3-ex5", rtol=0.1,
                        what="the signal-to-noise ratio")


# ---- chapter 6 ----
def _ch6_half_unit(expected: float, digits: int) -> float:
    """Half a unit in the last of ``digits`` significant digits of ``expected``: an answer
    correctly rounded to that many digits is within this of the exact value."""
    exponent = math.floor(math.log10(abs(expected))) - digits + 1
    return 0.5 * 10.0**exponent * (1 + 1e-9)


#: ch6-ex4: the exact antisymmetric lag-1 covariance for the exercise's four data points,
#: eta = 1/10, B = 1, from the fixed point over the four batches in exact rational arithmetic
#: (recomputed independently by tests/test_checks_ch6.py).
_CH6_EX4 = sp.Rational(6219, 39676880)


def _ch6_ex6_reference() -> tuple[float, float, float]:
    """(Kramers with state-dependent D, exact first-passage integral, Kramers with constant D(a))
    for the escape from the lower well of L' = t^3 - t + 0.05, D = 0.05 (1 - 0.9 t + t^2/4)."""
    import scipy.integrate

    from .fokker_planck import ito_first_passage_time

    def dL(t):
        return t**3 - t + 0.05

    def d2L(t):
        return 3 * t**2 - 1

    def D(t):
        return 0.1 * (1 - 0.9 * t + t**2 / 4) / 2

    a, b, right = np.sort(np.roots([1, 0, -1, 0.05]).real)
    prefactor = 2 * math.pi / math.sqrt(d2L(a) * abs(d2L(b)))
    dphi = scipy.integrate.quad(lambda t: dL(t) / D(t), a, b)[0]
    kramers = prefactor * math.sqrt(D(b) / D(a)) * math.exp(dphi)
    grid = np.linspace(-2.2, right + 0.2, 6001)
    exact = ito_first_passage_time(lambda t: -dL(t), lambda t: 2 * D(t), grid, start=a,
                                   target=right)
    L = lambda t: t**4 / 4 - t**2 / 2 + 0.05 * t          # noqa: E731
    constant = prefactor * math.exp((L(b) - L(a)) / D(a))
    return kramers, exact, constant


def _ch6_ex7_reference() -> float:
    """Tail index at lr = 0.45: root of 0.9 |1 - 0.45 * 0.49|^s + 0.1 |1 - 0.45 * 6.76|^s = 1."""
    import scipy.optimize

    m1, m2 = abs(1 - 0.45 * 0.49), abs(1 - 0.45 * 6.76)
    return scipy.optimize.brentq(lambda s: 0.9 * m1**s + 0.1 * m2**s - 1, 0.1, 10.0)


@register("ch6-ex1", "eta a at which SGD's variance is 10% above the Gibbs value T/a (3 digits)")
def _ch6_ex1(answer):
    slips = [(0.2, "with this value the Gibbs variance is 10% *below* the exact one, so the exact "
                   "variance is 11% above it: which ratio has to be 1.1?")]
    return check_number(answer, 2 / 11, label="ch6-ex1", what="eta a", slips=slips, rtol=1e-9,
                        atol=_ch6_half_unit(2 / 11, 3))


@register("ch6-ex2", "noise coefficient of the OU process whose time-eta transition is the SGD step")
def _ch6_ex2(answer):
    eta, a, sigma = sp.symbols("eta a sigma", positive=True)
    a_tilde = -sp.log(1 - eta * a) / eta
    expected = a_tilde * eta * sigma**2 / (a * (2 - eta * a))
    slips = [(eta * sigma**2 / 2, "that is the noise of the stochastic modified equations, right only "
                                  "to leading order in eta."),
             (a_tilde * eta * sigma**2 / (2 * a), "you matched the SDE's stationary variance to the Gibbs "
                                                  "value T/a instead of the exact discrete variance.")]
    return check_expression(answer, expected, [eta, a, sigma], label="ch6-ex2", what="D~",
                            domains={eta: (0.05, 0.4), a: (0.3, 2.0), sigma: (0.3, 2.5)}, slips=slips)


@register("ch6-ex3", "exact stationary variance of 1-D least-squares SGD with replacement")
def _ch6_ex3(answer):
    eta, B, m2, m4, c = sp.symbols("eta B m2 m4 c", positive=True)
    expected = eta * c / B / (2 * m2 - eta * (m2**2 + (m4 - m2**2) / B))
    slips = [(eta * c / (2 * B * m2), "this is the Lyapunov (continuous-time) approximation: it drops the "
                                      "O(eta) term of the exact equation."),
             (eta * c / B / (m2 * (2 - eta * m2)), "this treats the noise as additive: the minibatch "
                                                   "Hessian varies from batch to batch too."),
             (eta * c / B / (2 * m2 - eta * m4), "E[A_B^2] is not the fourth moment of x when B > 1: "
                                                 "split the double sum over batch slots.")]
    return check_expression(answer, expected, [eta, B, m2, m4, c], label="ch6-ex3",
                            what="the stationary variance", slips=slips,
                            domains={eta: (0.01, 0.2), B: (1.0, 8.0), m2: (0.5, 1.5), m4: (2.5, 4.0),
                                     c: (0.1, 1.0)})


@register("ch6-ex4", "exact antisymmetric lag-1 covariance, [H, C] = 0 (lr 1/10, B 1; exact or 4 digits)")
def _ch6_ex4(answer):
    expected = float(_CH6_EX4)
    slips = [(0.0, "zero is the Lyapunov prediction for commuting H and C; the exact equation has a "
                   "multiplicative term that does not commute with H.")]
    return check_number(answer, expected, label="ch6-ex4", what="the antisymmetric part", slips=slips,
                        rtol=1e-9, atol=_ch6_half_unit(expected, 4))


@register("ch6-ex6", "Kramers' escape time with state-dependent noise, lower well, lr 0.1 (3 digits)")
def _ch6_ex6(answer):
    kramers, exact, constant = _ch6_ex6_reference()
    slips = [(exact, "this is the exact first-passage time; the exercise asks for its Laplace "
                     "(Kramers) approximation."),
             (constant, "this uses the noise at the minimum everywhere: the barrier must be measured "
                        "with the effective potential int L'/D, and the prefactor has sqrt(D(b)/D(a)).")]
    return check_number(answer, kramers, label="ch6-ex6", what="the escape time", slips=slips,
                        rtol=1e-9, atol=_ch6_half_unit(kramers, 3))


@register("ch6-ex7", "tail index of 1-D SGD at lr 0.45 for the heavy-tail data of chapter 6 (3 digits)")
def _ch6_ex7(answer):
    alpha = _ch6_ex7_reference()
    return check_number(answer, alpha, label="ch6-ex7", what="the tail index", rtol=1e-9,
                        atol=_ch6_half_unit(alpha, 3))


@register("ch6-ex8", "epoch-end variance of reshuffled SGD on two data points")
def _ch6_ex8(answer):
    eta, s = sp.symbols("eta s", positive=True)
    expected = eta**4 * s**2 / (1 - (1 - eta) ** 4)
    slips = [(eta * s**2 / (2 - eta), "that is SGD sampling with replacement; within an epoch the two "
                                      "points are both used, in a random order.")]
    return check_expression(answer, expected, [eta, s], label="ch6-ex8", what="the epoch-end variance",
                            domains={eta: (0.05, 0.9), s: (0.3, 2.5)}, slips=slips)


@register("ch6-ex9", "exact stationary variance of 1-D SGLD with additive minibatch noise")
def _ch6_ex9(answer):
    T, h, a, sigma, B = sp.symbols("T h a sigma B", positive=True)
    expected = (2 * T * h + h**2 * sigma**2 / B) / (h * a * (2 - h * a))
    slips = [(T / (a * (1 - h * a / 2)), "this is the Langevin step without the minibatch noise."),
             (T / a, "this is the posterior variance, the h -> 0 limit."),
             ((2 * T * h + h**2 * sigma**2) / (h * a * (2 - h * a)), "the minibatch noise variance is "
                                                                      "sigma^2 / B.")]
    return check_expression(answer, expected, [T, h, a, sigma, B], label="ch6-ex9",
                            what="the SGLD variance", slips=slips,
                            domains={T: (0.05, 1.0), h: (0.01, 0.5), a: (0.3, 2.0), sigma: (0.3, 2.5),
                                     B: (1.0, 16.0)})


# ---- chapter 7 ----
def _ch7_symbols(*names, real=()):
    return [sp.Symbol(n, real=True) if n in real else sp.Symbol(n, positive=True) for n in names]


def _ch7_is_number(answer) -> bool:
    """True for a plain number (int, float, numeric string or SymPy number)."""
    try:
        return bool(sp.sympify(answer).is_number)
    except (sp.SympifyError, TypeError, SyntaxError, AttributeError):
        return False


def _ch7_ex1_threshold(value: float) -> CheckResult:
    """The second part of ch7-ex1: the smallest rate b with alpha(1) < 1e-3."""
    exact = 2 * math.log(1000)
    if abs(value - exact) <= 0.005 * exact:
        return CheckResult("ch7-ex1", True, "correct: that is the smallest rate b with "
                           "alpha(1) < 1e-3.")
    if abs(value - exact / 2) <= 0.005 * exact:
        return CheckResult("ch7-ex1", False, "alpha(1) = exp(-B(1)/2): mind the factor 1/2 in "
                           "the exponent.")
    hint = "too small: alpha(1) is still above 1e-3" if value < exact else \
        "larger than needed: a smaller b already gives alpha(1) < 1e-3"
    return CheckResult("ch7-ex1", False, f"the threshold for b is {hint}.")


@register("ch7-ex1", "variance sigma(t)^2 added by the VP SDE with a constant rate b")
def _ch7_ex1(answer):
    b, t = _ch7_symbols("b", "t")
    if _ch7_is_number(answer):
        return _ch7_ex1_threshold(float(sp.sympify(answer)))
    slips = [(sp.exp(-b * t), "that is the data's remaining share alpha(t)^2, not the added noise."),
             (1 - sp.exp(-b * t / 2), "alpha(t) = exp(-B/2), but the variance involves alpha squared."),
             (b * t, "that is only the short-time behaviour: the drift pulls the variance back.")]
    return check_expression(answer, 1 - sp.exp(-b * t), [b, t], label="ch7-ex1",
                            what="the variance sigma(t)^2", slips=slips,
                            domains={b: (0.3, 20.0), t: (0.01, 1.0)})


@register("ch7-ex2", "posterior variance Var[x_0 | x_t] for Gaussian data N(mu, s^2)")
def _ch7_ex2(answer):
    alpha, sigma, s = _ch7_symbols("alpha", "sigma", "s")
    expected = s**2 * sigma**2 / (alpha**2 * s**2 + sigma**2)
    slips = [(s**2 * sigma**2 / (s**2 + sigma**2), "the noisy point sees alpha x_0, not x_0."),
             (sigma**2 / alpha**2, "that ignores the prior: it is the variance of x_t / alpha given x_0."),
             (s**2, "that is the prior variance: the observation x_t carries information.")]
    return check_expression(answer, expected, [alpha, sigma, s], label="ch7-ex2",
                            what="the posterior variance", slips=slips,
                            domains={alpha: (0.05, 1.0), sigma: (0.05, 1.0), s: (0.2, 2.0)})


@register("ch7-ex3", "probability-flow map to t = 0 for Gaussian data N(mu, s^2)")
def _ch7_ex3(answer):
    alpha, sigma, s = _ch7_symbols("alpha", "sigma", "s")
    x, mu = sp.symbols("x mu", real=True)
    spread = alpha**2 * s**2 + sigma**2
    expected = mu + s * (x - alpha * mu) / sp.sqrt(spread)
    slips = [(mu + alpha * s**2 * (x - alpha * mu) / spread,
              "that is the posterior mean (the denoiser): it maps every x_t to a point that is too "
              "close to mu, so the outputs are not spread like the data."),
             (x / alpha, "dividing by alpha undoes the shrinking of the mean but not the added noise."),
             (mu + (x - alpha * mu) / sp.sqrt(spread), "the output must have the data's spread s.")]
    return check_expression(answer, expected, [x, mu, alpha, sigma, s], label="ch7-ex3",
                            what="the map", slips=slips,
                            domains={alpha: (0.05, 1.0), sigma: (0.05, 1.0), s: (0.2, 2.0)})


@register("ch7-ex4", "minimum of the unweighted DSM loss for Gaussian data N(mu, s^2)")
def _ch7_ex4(answer):
    alpha, sigma, s = _ch7_symbols("alpha", "sigma", "s")
    spread = alpha**2 * s**2 + sigma**2
    expected = alpha**2 * s**2 / (sigma**2 * spread)
    slips = [(alpha**2 * s**2 / spread, "that is the floor of the sigma^2-weighted loss; this loss has "
              "weight 1."),
             (1 / sigma**2, "that is the loss of the model s = 0, not its minimum.")]
    return check_expression(answer, expected, [alpha, sigma, s], label="ch7-ex4",
                            what="the minimum loss", slips=slips,
                            domains={alpha: (0.05, 1.0), sigma: (0.05, 1.0), s: (0.2, 2.0)})


@register("ch7-ex5", "ideal denoiser E[x_0 | x_t = x] of the two training points +-a")
def _ch7_ex5(answer):
    a, sigma = _ch7_symbols("a", "sigma")
    x = sp.Symbol("x", real=True)
    slips = [(a * sp.tanh(a * x / (2 * sigma**2)), "compare the exponents of the two Gaussians "
              "again: the cross term of (x - a)^2 - (x + a)^2."),
             (sp.tanh(a * x / sigma**2), "the denoised point must lie between -a and a."),
             (x, "that is no denoising at all.")]
    return check_expression(answer, a * sp.tanh(a * x / sigma**2), [a, x, sigma], label="ch7-ex5",
                            what="the denoiser", slips=slips,
                            domains={a: (0.3, 2.0), sigma: (0.3, 2.0), x: (-2.0, 2.0)})


@register("ch7-ex6", "constant c in log(alpha_bar_N) = -B(1) - c/N + O(1/N^2), linear schedule")
def _ch7_ex6(answer):
    bmin, bmax = _ch7_symbols("beta_min", "beta_max")
    second = (bmax**2 + bmax * bmin + bmin**2) / 6
    endpoint = (bmax - bmin) / 2
    slips = [(second, "the first-order sum of beta_k is not exactly B(1): a right-endpoint Riemann "
              "sum has an end correction."),
             (endpoint, "log(1 - beta_k) has a second-order term that adds up to order 1/N too."),
             (second - endpoint, "check the sign of the Riemann-sum correction for an increasing "
              "beta(t).")]
    if _ch7_is_number(answer):
        return CheckResult("ch7-ex6", False, "c is asked for as an expression in beta_min and "
                           "beta_max (the general linear schedule), not as a number for one "
                           "schedule.")
    return check_expression(answer, endpoint + second, [bmin, bmax], label="ch7-ex6",
                            what="the constant c", slips=slips,
                            domains={bmin: (0.05, 1.0), bmax: (5.0, 25.0)})
