"""Energies (losses) ``L(x)`` and their gradients, built from SymPy expressions.

A :class:`Potential` keeps the SymPy expression (``.expr``) for the symbolic
parts of the book and NumPy functions for the samplers. States are arrays:
for a 1-D potential a state array has shape ``(n_chains,)`` (or is a scalar),
for a ``d``-dimensional potential it has shape ``(n_chains, d)`` (or ``(d,)``).

:meth:`Potential.from_sympy` generates a fused in-place kernel for energy and
gradient from the expression (:mod:`lib._kernels`: one common-subexpression
pass over both, integer powers as products, scratch buffers reused), so the
samplers run as fast on a reader's own potential as on the factories
:func:`quadratic`, :func:`double_well` and :func:`gaussian_mixture`, which give
the potentials used across chapters (the first two keep their hand-written
kernels, which are as fast and use the exact float parameters).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import sympy as sp

from . import _kernels
from ._validate import _positive

__all__ = ["Potential", "quadratic", "double_well", "gaussian_mixture"]

# A kernel writes the gradient of L at x into ``grad_out`` and, when
# ``energy_out`` is given, the energy; ``work`` is scratch of x's shape. It
# allocates nothing, so the samplers' hot loops do not either.
Kernel = Callable[[np.ndarray, np.ndarray, "np.ndarray | None", np.ndarray], None]


@dataclass(frozen=True)
class Potential:
    """An energy ``L: R^d -> R`` with its gradient.

    Attributes
    ----------
    expr : sympy.Expr
        The energy as a SymPy expression of ``symbols``.
    symbols : tuple of sympy.Symbol
        The coordinates ``(x,)`` or ``(x1, ..., xd)``.
    energy_fn, grad_fn : callables
        Vectorized NumPy functions; use :meth:`energy` and :meth:`grad`, which
        check shapes.
    name : str
        A short description for titles and error messages.
    """

    expr: sp.Expr
    symbols: tuple
    energy_fn: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    grad_fn: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    name: str = ""
    kernel: Kernel | None = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------------ build
    @classmethod
    def from_sympy(cls, expr, x, *, name: str | None = None) -> "Potential":
        """Make a potential from a SymPy expression.

        Parameters
        ----------
        expr : sympy.Expr or str
            The energy ``L``; it may only depend on the coordinate symbols.
        x : sympy.Symbol or sequence of d symbols
            One symbol gives a 1-D potential (states of shape ``(n,)``);
            ``(x1, ..., xd)`` a d-dimensional one (states ``(n, d)``).

        Raises
        ------
        ValueError
            If ``expr`` depends on symbols other than the coordinates (substitute
            numbers for parameters first), or is not a finite real function of
            real coordinates (contains ``I``, ``oo``/``zoo``/``nan``, or a part that
            is never real, such as ``sqrt(-1 - x**2)``).

        Notes
        -----
        The samplers call a kernel generated from ``expr`` and its gradient
        (see :mod:`lib._kernels`; its source is ``U.kernel.source``), which agrees
        with the lambdified expression to a few units in the last place. Where
        ``L`` is undefined (``log`` of a negative number, ...) it returns NaN, and
        the gradient-only evaluation of the unadjusted Langevin sampler is NaN
        there too, so a chain that leaves the domain raises a ``DivergenceError``.
        Expressions with parts NumPy cannot evaluate in place (e.g. ``Piecewise``)
        fall back to lambdified functions.

        Examples
        --------
        >>> import sympy as sp, lib
        >>> x = sp.symbols("x")
        >>> U = lib.Potential.from_sympy(x**4 / 4 - x**2 / 2, x)
        >>> float(U.grad(np.array([2.0]))[0])
        6.0
        """
        symbols = (x,) if isinstance(x, sp.Symbol) else tuple(x)
        if not symbols or not all(isinstance(s, sp.Symbol) for s in symbols):
            raise ValueError("x must be a SymPy Symbol or a non-empty sequence of Symbols")
        expr = sp.sympify(expr, locals={s.name: s for s in symbols})
        if not isinstance(expr, sp.Expr) or expr.is_Matrix:
            raise ValueError(f"expr must be a scalar SymPy expression, got {type(expr).__name__}")
        extra = expr.free_symbols - set(symbols)
        if extra:
            names = ", ".join(sorted(str(s) for s in extra))
            raise ValueError(
                f"expr depends on {names}, which are not coordinates; substitute numbers for parameters first"
            )
        energy_fn, grad_fn, kernel = _numeric(expr, symbols)
        return cls(expr, symbols, energy_fn, grad_fn, name or str(expr), kernel)

    # ------------------------------------------------------------- evaluate
    @property
    def dim(self) -> int:
        """Dimension ``d`` of the state space."""
        return len(self.symbols)

    def batch_shape(self, x: np.ndarray, name: str = "x") -> tuple:
        """Shape of the batch of states in ``x``; raises ValueError if x does not fit ``dim``."""
        shape = np.shape(x)
        if self.dim == 1:
            if len(shape) > 1:
                raise ValueError(
                    f"{name} has shape {shape}, but this potential is 1-D: pass states of shape (n_chains,)"
                )
            return shape
        if len(shape) not in (1, 2) or shape[-1] != self.dim:
            raise ValueError(
                f"{name} has shape {shape}, but this potential is {self.dim}-D: "
                f"pass states of shape (n_chains, {self.dim}) or ({self.dim},)"
            )
        return shape[:-1]

    def energy(self, x: np.ndarray) -> np.ndarray:
        """``L(x)``: shape ``(n,)`` for states of shape ``(n,)`` or ``(n, d)``."""
        x = np.asarray(x, dtype=float)
        self.batch_shape(x)
        return self.energy_fn(x)

    def grad(self, x: np.ndarray) -> np.ndarray:
        """``grad L(x)``, the same shape as ``x``."""
        x = np.asarray(x, dtype=float)
        self.batch_shape(x)
        return self.grad_fn(x)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.energy(x)

    def energy_and_grad_into(self, x: np.ndarray, grad_out: np.ndarray, energy_out: np.ndarray | None,
                             work: np.ndarray) -> None:
        """Write ``grad L(x)`` (and ``L(x)`` if ``energy_out`` is given) in place.

        The samplers' hot loop, called block by block on views; potentials from
        :meth:`from_sympy` and the factories do it without allocating (after the
        first call with a given block shape).
        """
        if self.kernel is not None:
            self.kernel(x, grad_out, energy_out, work)
            return
        grad_out[...] = self.grad_fn(x)
        if energy_out is not None:
            energy_out[...] = self.energy_fn(x)

    def with_kernel(self, kernel: Kernel) -> "Potential":
        """A copy that uses ``kernel`` in the samplers' hot loop."""
        return Potential(self.expr, self.symbols, self.energy_fn, self.grad_fn, self.name, kernel)

    def _repr_latex_(self) -> str:
        return f"$L({', '.join(map(sp.latex, self.symbols))}) = {sp.latex(self.expr)}$"


# ---------------------------------------------------------------------------
# from SymPy to NumPy
# ---------------------------------------------------------------------------


def _real_form(expr: sp.Expr, symbols: tuple) -> tuple:
    """``expr`` in real coordinates; ValueError if it is not a finite real function.

    Coordinates not declared real are replaced by real ones, so that e.g. the
    derivative of ``Abs(x)`` is ``sign(x)`` (for complex x SymPy keeps re/im parts).
    """
    real = tuple(s if s.is_real else sp.Dummy(s.name, real=True) for s in symbols)
    expr = expr.xreplace(dict(zip(symbols, real)))
    if expr.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
        raise ValueError(f"expr must be finite: {expr} contains an infinite or undefined constant (oo, zoo, nan)")
    if expr.has(sp.I):
        expr = sp.expand_complex(expr)  # e.g. (x + I)(x - I) = x**2 + 1
        if expr.has(sp.I):
            raise ValueError(f"expr must be real for real coordinates, but {expr} contains the imaginary unit I")
    for node in sp.preorder_traversal(expr):
        if (isinstance(node, sp.Function) or (node.is_Pow and not node.exp.is_Integer)) \
                and node.is_extended_real is False:
            raise ValueError(
                f"expr must be real for real coordinates, but {node} is never real "
                "(e.g. the square root or logarithm of a negative number)"
            )
    return expr, real


@functools.lru_cache(maxsize=16)
def _numeric(expr: sp.Expr, symbols: tuple):
    """(energy_fn, grad_fn, kernel) for ``expr``: generated in-place code (see
    :mod:`lib._kernels`), or lambdified functions (kernel None) for the rare
    expressions the generator does not cover (e.g. Piecewise)."""
    expr, real = _real_form(expr, symbols)
    try:
        compiled = _kernels.compile_potential(expr, real)
    except _kernels.CompileError:
        return _lambdified(expr, real) + (None,)
    return compiled.energy, compiled.grad, compiled.kernel


def _lambdified(expr: sp.Expr, symbols: tuple):
    gradient = [sp.diff(expr, s) for s in symbols]
    energy_f = sp.lambdify(symbols, expr, modules="numpy")
    grad_fs = [sp.lambdify(symbols, g, modules="numpy") for g in gradient]
    d = len(symbols)
    if d == 1:

        def energy_fn(x):
            return np.broadcast_to(np.asarray(energy_f(x), dtype=float), np.shape(x)).copy()

        def grad_fn(x):
            return np.broadcast_to(np.asarray(grad_fs[0](x), dtype=float), np.shape(x)).copy()

    else:

        def energy_fn(x):
            cols = [x[..., i] for i in range(d)]
            return np.broadcast_to(np.asarray(energy_f(*cols), dtype=float), x.shape[:-1]).copy()

        def grad_fn(x):
            cols = [x[..., i] for i in range(d)]
            out = np.empty(x.shape, dtype=float)
            for i, g in enumerate(grad_fs):
                out[..., i] = g(*cols)
            return out

    return energy_fn, grad_fn


# ---------------------------------------------------------------------------
# factories
# ---------------------------------------------------------------------------


def quadratic(stiffness=1.0, *, center=0.0) -> Potential:
    """``L(x) = 1/2 (x - c)^T A (x - c)``: the Ornstein-Uhlenbeck potential.

    Parameters
    ----------
    stiffness : float or array (d, d)
        ``a > 0`` for the 1-D ``L = a (x - c)^2 / 2``, or a symmetric positive
        definite matrix ``A`` for a d-dimensional quadratic form.
    center : float or array (d,)
        The minimum ``c``.

    At temperature ``T`` the Gibbs density is ``N(c, T A^{-1})``.
    """
    A = np.asarray(stiffness, dtype=float)
    if A.ndim == 0:
        a = _positive(A, "stiffness")
        c = float(center)
        if not np.isfinite(c):
            raise ValueError(f"center must be finite, got {center}")
        x = sp.Symbol("x", real=True)
        expr = sp.nsimplify(a) * (x - sp.nsimplify(c)) ** 2 / 2

        def kernel(x, grad_out, energy_out, work):
            np.subtract(x, c, out=grad_out)
            if energy_out is not None:
                np.multiply(grad_out, grad_out, out=energy_out)
                energy_out *= 0.5 * a
            grad_out *= a

        return Potential.from_sympy(expr, x, name=f"quadratic (a={a:g})").with_kernel(kernel)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"stiffness must be a positive number or a square matrix, got shape {A.shape}")
    if not np.allclose(A, A.T) or np.linalg.eigvalsh(A).min() <= 0:
        raise ValueError("stiffness must be symmetric positive definite")
    d = A.shape[0]
    c = np.broadcast_to(np.asarray(center, dtype=float), (d,))
    xs = sp.symbols(f"x1:{d + 1}", real=True)
    dx = sp.Matrix([xs[i] - sp.nsimplify(c[i]) for i in range(d)])
    expr = sp.expand((dx.T * sp.Matrix(A).applyfunc(sp.nsimplify) * dx)[0] / 2)

    centred = bool(np.any(c))
    tiled: dict = {}  # c repeated to the block's shape: subtracting a broadcast (d,) vector allocates

    def kernel_d(x, grad_out, energy_out, work):
        if centred:
            ct = tiled.get(x.shape)
            if ct is None:
                if len(tiled) >= 8:
                    tiled.clear()
                ct = tiled[x.shape] = np.broadcast_to(c, x.shape).copy()
            np.subtract(x, ct, out=work)
            dx = work
        else:
            dx = x  # x - 0 is x, bit for bit
        np.matmul(dx, A, out=grad_out)
        if energy_out is not None:
            np.einsum("...i,...i->...", dx, grad_out, out=energy_out)
            energy_out *= 0.5

    return Potential.from_sympy(expr, xs, name=f"{d}-D quadratic").with_kernel(kernel_d)


def double_well(barrier: float = 0.25, minimum: float = 1.0, tilt: float = 0.0) -> Potential:
    """``L(x) = barrier ((x/m)^2 - 1)^2 + tilt x``, a 1-D double well.

    With ``tilt = 0`` the minima are at ``x = +-m``, the barrier at ``x = 0``
    has height ``barrier``, and the curvature at a minimum is
    ``8 barrier / m^2``. The defaults give ``x^4/4 - x^2/2 + 1/4``.
    A positive ``tilt`` lowers the left well.
    """
    b = _positive(barrier, "barrier")
    m = _positive(minimum, "minimum")
    t = float(tilt)
    if not np.isfinite(t):
        raise ValueError(f"tilt must be finite, got {tilt}")
    x = sp.Symbol("x", real=True)
    expr = sp.nsimplify(b) * ((x / sp.nsimplify(m)) ** 2 - 1) ** 2 + sp.nsimplify(t) * x
    m2 = m * m
    scale_e = b / (m2 * m2)
    scale_g = 4.0 * b / (m2 * m2)

    def kernel(x, grad_out, energy_out, work):
        # L' = 4 b / m^4 * x (x^2 - m^2) + t, with work = x^2 - m^2
        np.multiply(x, x, out=work)
        work -= m2
        if energy_out is not None:
            np.multiply(work, work, out=energy_out)
            energy_out *= scale_e
            if t != 0.0:
                energy_out += t * x
        np.multiply(work, x, out=grad_out)
        grad_out *= scale_g
        if t != 0.0:
            grad_out += t

    name = f"double well (barrier={b:g}, minimum={m:g}" + (f", tilt={t:g})" if t else ")")
    return Potential.from_sympy(expr, x, name=name).with_kernel(kernel)


def gaussian_mixture(means, stds, weights=None) -> Potential:
    """``L(x) = -log sum_k w_k N(x; mu_k, s_k^2 I)``: a Gaussian mixture's energy.

    At temperature 1 the Gibbs density is the mixture itself.

    Parameters
    ----------
    means : array (K,) for 1-D, or (K, d)
    stds : float or array (K,)
        Standard deviations (isotropic per component).
    weights : array (K,), optional
        Positive, normalised on input (default: equal).

    The NumPy energy and gradient use a log-sum-exp, so they stay finite far
    from all components, where the lambdified expression would underflow.
    """
    mu = np.asarray(means, dtype=float)
    one_d = mu.ndim == 1
    mu2 = mu[:, None] if one_d else mu
    if mu2.ndim != 2 or not np.all(np.isfinite(mu2)):
        raise ValueError(f"means must be a finite array of shape (K,) or (K, d), got shape {mu.shape}")
    K, d = mu2.shape
    s = np.broadcast_to(np.asarray(stds, dtype=float), (K,)).copy()
    if not np.all(np.isfinite(s) & (s > 0)):
        raise ValueError("stds must be positive and finite")
    w = np.full(K, 1.0 / K) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (K,) or not np.all(np.isfinite(w) & (w > 0)):
        raise ValueError(f"weights must be {K} positive finite numbers")
    w = w / w.sum()
    xs = (sp.Symbol("x", real=True),) if one_d else sp.symbols(f"x1:{d + 1}", real=True)
    terms = []
    for k in range(K):
        sq = sum((xs[i] - sp.nsimplify(mu2[k, i])) ** 2 for i in range(d))
        sk = sp.nsimplify(s[k])
        terms.append(sp.nsimplify(w[k]) * sp.exp(-sq / (2 * sk**2)) / (2 * sp.pi * sk**2) ** sp.Rational(d, 2))
    expr = -sp.log(sp.Add(*terms))
    log_norm = np.log(w) - 0.5 * d * np.log(2 * np.pi * s**2)

    def _logits(x2):  # x2: (n, d) -> (n, K) log w_k N_k(x)
        sq = ((x2[:, None, :] - mu2[None, :, :]) ** 2).sum(axis=-1)
        return log_norm - sq / (2 * s**2)

    def _flat(x):
        x = np.asarray(x, dtype=float)
        return (x.reshape(-1, 1) if one_d else x.reshape(-1, d)), x.shape

    def energy_fn(x):
        x2, shape = _flat(x)
        z = _logits(x2)
        zmax = z.max(axis=1, keepdims=True)
        lse = zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1))
        return (-lse).reshape(shape if one_d else shape[:-1])

    def grad_fn(x):
        x2, shape = _flat(x)
        z = _logits(x2)
        r = np.exp(z - z.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)  # responsibilities
        # grad L = sum_k r_k (x - mu_k) / s_k^2
        g = (r[:, :, None] * (x2[:, None, :] - mu2[None, :, :]) / (s**2)[None, :, None]).sum(axis=1)
        return g.reshape(shape)

    name = f"Gaussian mixture ({K} components, {d}-D)"
    return Potential(expr, tuple(xs), energy_fn, grad_fn, name)
