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
