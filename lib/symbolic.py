r"""SymPy helpers for the derivations.

One-dimensional Ito diffusions ``dx = mu(x) dt + b(x) dW`` and their density.
The book writes the noise through ``diffusion_sq = b(x)^2``, the noise variance
per unit time (``2 D(x)`` with the diffusion coefficient ``D`` of chapter 5,
``2 T`` for Langevin dynamics, ``eta sigma^2`` in the lecture's notation). The
density obeys the Fokker-Planck equation (derived in chapter 5)

.. math:: \partial_t p = -\partial_x J, \qquad
          J = \mu\,p - \tfrac12\,\partial_x\big(b^2 p\big),

and expectations obey ``d E f(x_t) / dt = E[(A f)(x_t)]`` with the generator
``A f = mu f' + (1/2) b^2 f''`` (Ito's formula, chapter 3).

For Langevin dynamics ``dx = -L'(x) dt + sqrt(2T) dW`` the current is the
lecture's gradient flow plus diffusion flow, ``J = -p L' - T p'``
(:func:`probability_current`), and its zero-current density is the Gibbs
density ``exp(-L/T)/Z`` (:func:`stationary_density`).
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "ito_current",
    "ito_fokker_planck_operator",
    "ito_generator",
    "ito_stationary_density",
    "probability_current",
    "fokker_planck_operator",
    "langevin_generator",
    "stationary_density",
    "ou_transition_density",
    "gaussian_normalizer",
]


def ito_current(p: sp.Expr, drift: sp.Expr, diffusion_sq: sp.Expr, x: sp.Symbol) -> sp.Expr:
    r"""Probability current ``J = mu p - (1/2) d/dx (b^2 p)`` of ``dx = mu dt + b dW``.

    Parameters
    ----------
    p : sympy.Expr
        The density (may be an undefined function such as ``sp.Function("p")(x)``).
    drift : sympy.Expr
        ``mu(x)``.
    diffusion_sq : sympy.Expr
        ``b(x)^2``, the noise variance per unit time (``2 D(x)``; ``2T`` for Langevin).
    x : sympy.Symbol

    Returns
    -------
    sympy.Expr
        Drift flow ``mu p`` plus the diffusion flow ``-(1/2)(b^2 p)'``; for constant
        ``b^2 = 2D`` the latter is Fick's law ``-D p'``.
    """
    return drift * p - sp.diff(diffusion_sq * p, x) / 2


def ito_fokker_planck_operator(p: sp.Expr, drift: sp.Expr, diffusion_sq: sp.Expr,
                               x: sp.Symbol) -> sp.Expr:
    """Right-hand side ``-(mu p)' + (1/2)(b^2 p)''`` of ``dp/dt`` (equals ``-dJ/dx``)."""
    return -sp.diff(ito_current(p, drift, diffusion_sq, x), x)


def ito_generator(f: sp.Expr, drift: sp.Expr, diffusion_sq: sp.Expr, x: sp.Symbol) -> sp.Expr:
    r"""Generator ``A f = mu f' + (1/2) b^2 f''`` of ``dx = mu dt + b dW``.

    Ito's formula ``df = f' dx + (1/2) f'' (dx)^2`` with ``(dx)^2 = b^2 dt`` gives
    ``d E[f(x_t)] / dt = E[(A f)(x_t)]``; e.g. ``f = x^2`` yields the equation of
    the second moment.
    """
    return drift * sp.diff(f, x) + diffusion_sq * sp.diff(f, x, 2) / 2


def ito_stationary_density(drift: sp.Expr, diffusion_sq: sp.Expr, x: sp.Symbol, *,
                           normalizer: sp.Expr | None = None) -> sp.Expr:
    r"""Zero-current stationary density of the Ito SDE ``dx = mu(x) dt + b(x) dW``.

    Setting ``J = mu p - (1/2)(b^2 p)' = 0`` and writing ``q = b^2 p`` gives
    ``q' = (2 mu / b^2) q``, so

    .. math:: p(x) = \frac{1}{Z\,b^2(x)}\exp\Big(\int^x \frac{2\mu(y)}{b^2(y)}\,dy\Big).

    With ``mu = -L'`` and constant ``b^2 = 2T`` this is the Gibbs density
    ``exp(-L/T)``; with ``x``-dependent noise it is not (chapter 5). In one
    dimension on the whole line (or with reflecting ends) every normalizable
    stationary density has zero current, so this is *the* stationary density
    whenever it is integrable.

    Parameters
    ----------
    drift : sympy.Expr
        ``mu(x)``.
    diffusion_sq : sympy.Expr
        ``b(x)^2 > 0``, the noise variance per unit time (``2 D(x)``).
    x : sympy.Symbol
    normalizer : sympy.Expr, optional
        If given, the result is divided by it (e.g. a symbol ``Z``); by default
        the density is returned unnormalized.

    Returns
    -------
    sympy.Expr
        ``exp(int 2 mu / b^2 dx) / b^2``; constant factors of ``b^2`` are dropped
        (so constant noise returns exactly ``exp(-L/T)`` for ``mu = -L'``). The
        integral is left unevaluated if SymPy cannot do it.
    """
    drift, diffusion_sq = sp.sympify(drift), sp.sympify(diffusion_sq)
    exponent = sp.integrate(sp.simplify(2 * drift / diffusion_sq), x)
    density = sp.exp(exponent)
    if diffusion_sq.has(x):
        # constant factors of b^2 only change Z
        _, varying = diffusion_sq.as_independent(x, as_Add=False)
        density = density / varying
    # exp(c log u) -> u^c (b^2 > 0, so forcing is safe)
    density = sp.powsimp(sp.powdenest(density, force=True), force=True)
    return density if normalizer is None else density / normalizer


def probability_current(p: sp.Expr, L: sp.Expr, x: sp.Symbol, temperature: sp.Expr) -> sp.Expr:
    """``J = -p L'(x) - T p'(x)``: gradient flow plus diffusion flow.

    The Langevin case of :func:`ito_current` (drift ``-L'``, noise variance ``2T``).
    """
    return sp.expand(ito_current(p, -sp.diff(L, x), 2 * temperature, x))


def fokker_planck_operator(p: sp.Expr, L: sp.Expr, x: sp.Symbol, temperature: sp.Expr) -> sp.Expr:
    """The right-hand side ``d/dx (p L' + T p')`` of ``dp/dt`` (equals ``-dJ/dx``)."""
    return -sp.diff(probability_current(p, L, x, temperature), x)


def langevin_generator(f: sp.Expr, L: sp.Expr, x: sp.Symbol, temperature: sp.Expr) -> sp.Expr:
    """Generator ``A f = -L' f' + T f''`` of Langevin dynamics (:func:`ito_generator`)."""
    return ito_generator(f, -sp.diff(L, x), 2 * temperature, x)


def stationary_density(L: sp.Expr, x: sp.Symbol, temperature: sp.Expr, *,
                       normalizer: sp.Symbol | None = None) -> sp.Expr:
    """Solve the zero-current condition ``T p' = -p L'`` with ``dsolve``.

    Parameters
    ----------
    L : sympy.Expr
        The energy; may be an undefined function such as ``sp.Function("L")(x)``.
    x : sympy.Symbol
    temperature : sympy.Expr
        ``T``, e.g. ``eta * sigma**2 / 2``.
    normalizer : sympy.Symbol, optional
        The symbol used for ``Z`` (default ``Z``, positive).

    Returns
    -------
    sympy.Expr
        ``exp(-L/T) / Z``: the integration constant of ``dsolve`` is
        renamed ``1/Z``.
    """
    p = sp.Function("p")
    ode = sp.Eq(probability_current(p(x), L, x, temperature), 0)
    solution = sp.dsolve(ode, p(x)).rhs
    constants = sorted(solution.free_symbols - ode.free_symbols - {x}, key=str)
    if len(constants) != 1:
        raise ValueError(f"expected one integration constant, got {constants}")
    Z = normalizer if normalizer is not None else sp.Symbol("Z", positive=True)
    return sp.simplify(solution.subs(constants[0], 1 / Z))


def ou_transition_density(x: sp.Expr, x0: sp.Expr, t: sp.Expr, *, stiffness: sp.Expr,
                          temperature: sp.Expr) -> sp.Expr:
    r"""Transition density of the Ornstein-Uhlenbeck process ``dx = -a x dt + sqrt(2T) dW``.

    .. math:: p(t, x \mid x_0) = \mathcal N\big(x;\ x_0 e^{-at},\ v(t)\big),\qquad
              v(t) = \frac{T}{a}\big(1 - e^{-2at}\big)

    (``L = a x^2 / 2``; chapter 3). NumPy version:
    :func:`lib.fokker_planck.ou_transition_density`.
    """
    a, T = stiffness, temperature
    mean = x0 * sp.exp(-a * t)
    var = T / a * (1 - sp.exp(-2 * a * t))
    return sp.exp(-(x - mean) ** 2 / (2 * var)) / sp.sqrt(2 * sp.pi * var)


def gaussian_normalizer(precision: sp.Matrix, temperature: sp.Expr = 1) -> sp.Expr:
    """``Z = int exp(-x^T A x / (2T)) dx = sqrt((2 pi T)^d / det A)``."""
    A = sp.Matrix(precision)
    d = A.shape[0]
    return sp.sqrt((2 * sp.pi * temperature) ** d / A.det())
