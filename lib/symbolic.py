r"""SymPy helpers for the derivations.

The book's 1-D Fokker-Planck equation for ``dx = -L'(x) dt + sqrt(2T) dW`` is

.. math:: \partial_t p = -\partial_x J, \qquad J = -p L' - T p' ,

(gradient flow ``-p L'`` plus diffusion flow ``-T p'``; with the lecture's
noise variance ``eta sigma^2`` per unit time, ``T = eta sigma^2 / 2``).
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "probability_current",
    "fokker_planck_operator",
    "stationary_density",
    "gaussian_normalizer",
]


def probability_current(p: sp.Expr, L: sp.Expr, x: sp.Symbol, temperature: sp.Expr) -> sp.Expr:
    """``J = -p L'(x) - T p'(x)``: gradient flow plus diffusion flow."""
    return -p * sp.diff(L, x) - temperature * sp.diff(p, x)


def fokker_planck_operator(p: sp.Expr, L: sp.Expr, x: sp.Symbol, temperature: sp.Expr) -> sp.Expr:
    """The right-hand side ``d/dx (p L' + T p')`` of ``dp/dt`` (equals ``-dJ/dx``)."""
    return -sp.diff(probability_current(p, L, x, temperature), x)


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
    ode = sp.Eq(temperature * p(x).diff(x), -p(x) * sp.diff(L, x))
    solution = sp.dsolve(ode, p(x)).rhs
    constants = sorted(solution.free_symbols - ode.free_symbols - {x}, key=str)
    if len(constants) != 1:
        raise ValueError(f"expected one integration constant, got {constants}")
    Z = normalizer if normalizer is not None else sp.Symbol("Z", positive=True)
    return sp.simplify(solution.subs(constants[0], 1 / Z))


def gaussian_normalizer(precision: sp.Matrix, temperature: sp.Expr = 1) -> sp.Expr:
    """``Z = int exp(-x^T A x / (2T)) dx = sqrt((2 pi T)^d / det A)``."""
    A = sp.Matrix(precision)
    d = A.shape[0]
    return sp.sqrt((2 * sp.pi * temperature) ** d / A.det())
