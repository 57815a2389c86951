r"""Numerical Fokker-Planck tools on a 1-D grid: densities, generators, grid chains.

For overdamped Langevin dynamics ``dx = -L'(x) dt + sqrt(2T) dW`` the density
obeys

.. math:: \partial_t p = \partial_x\big(p\,L'(x) + T\,\partial_x p\big) = -\partial_x J,
          \qquad J = -p\,L' - T\,\partial_x p ,

the continuity equation with the probability current ``J`` (the lecture's
gradient flow ``-p L'`` plus diffusion flow ``-T p'``). Its zero-current
solution is the Gibbs density ``exp(-L/T)/Z``.

Discretization: finite volumes on the cells centred on a uniform grid
(:func:`lib.stats.cell_edges`), zero flux through the two outer edges, and
Scharfetter-Gummel fluxes between neighbouring cells,

.. math:: J_{i+1/2} = \frac{T}{\Delta x}\big(B(-P_i)\,p_i - B(P_i)\,p_{i+1}\big),
          \quad P_i = -\frac{L(x_{i+1}) - L(x_i)}{T},\quad B(z) = \frac{z}{e^z - 1},

which vanish exactly when ``p_{i+1}/p_i = exp(-(L_{i+1} - L_i)/T)``: the
discrete Gibbs density is an exact steady state. The semi-discrete system
``dp/dt = Q p`` is a master equation (``Q`` has non-negative off-diagonal
entries and zero column sums), integrated exactly in time with the matrix
exponential, so mass is conserved, ``p`` stays non-negative and any time step
is stable.

The module has four parts.

* Langevin dynamics of a :class:`lib.Potential`: :func:`gibbs_density`,
  :func:`generator_matrix` (the Scharfetter-Gummel ``Q`` above), :func:`fokker_planck`,
  and for any generator :func:`evolve` (``exp(Q t) p0``) and :func:`steady_state`.
* General 1-D Ito SDEs ``dx = drift(x) dt + sqrt(diffusion_sq(x)) dW``, the convention of
  :mod:`lib.symbolic` (``diffusion_sq = b^2`` is the noise variance per unit time: ``2T``
  for Langevin, ``2D`` with chapter 5's diffusion coefficient ``D``):
  :func:`central_generator` (central differences, an independent check whose steady state
  is exact only as ``dx -> 0``), :func:`ito_generator_matrix` (detailed balance exact on
  the grid), :func:`ito_stationary_density` (the zero-current density by quadrature),
  :func:`ito_first_passage_time` (the exact mean first-passage integral) and
  :func:`spectral_gap` of any tridiagonal generator.
* Discrete-time chains on the grid's cells (one step of a sampler as a Markov matrix
  ``P``, rows summing to one): :func:`gaussian_transition_matrix` for a Gaussian step
  ``x -> N(mean(x), sd(x)^2)``, then :func:`kernel_stationary_density`,
  :func:`kernel_first_passage` and :func:`kernel_relaxation`;
  :func:`ula_invariant_density` is the invariant law of the ULA chain (its
  discretization bias). :func:`lib.sgd.transition_matrix` is SGD's step.
* :func:`ou_transition_density`, the Ornstein-Uhlenbeck transition density.
* Moments for the checks: :func:`gibbs_mean` (a Gibbs expectation by quadrature),
  :func:`grid_mean` (an expectation under a density on a grid, e.g. ULA's invariant law),
  :func:`virial` (``x L'(x)``, whose Gibbs mean is exactly ``T``) and :func:`decay_rates`
  (the slowest relaxation rates of a tridiagonal generator).

Grids are uniform and increasing; densities are values on the grid with
``sum(p) dx = 1``.

Reaching this module: ``lib.fokker_planck`` is the *function* :func:`fokker_planck`
(the course API), so import the other names from the module,
``from lib.fokker_planck import steady_state, ito_stationary_density``. (Also
``import lib.fokker_planck as fp`` binds the function, not the module;
``sys.modules["lib.fokker_planck"]`` is the module.)
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from ._validate import _count, _positive
from .potentials import Potential
from .stats import _check_grid, cell_widths

__all__ = [
    "gibbs_density",
    "fokker_planck",
    "generator_matrix",
    "evolve",
    "steady_state",
    "central_generator",
    "ito_generator_matrix",
    "ito_stationary_density",
    "ito_first_passage_time",
    "spectral_gap",
    "gaussian_transition_matrix",
    "kernel_stationary_density",
    "kernel_first_passage",
    "kernel_relaxation",
    "ula_invariant_density",
    "ou_transition_density",
    "decay_rates",
    "gibbs_mean",
    "grid_mean",
    "virial",
    "grid_cdf",
]


def _one_d(potential: Potential) -> None:
    if not isinstance(potential, Potential):
        raise ValueError(f"potential must be a lib.Potential, got {type(potential).__name__}")
    if potential.dim != 1:
        raise ValueError(f"this function needs a 1-D potential, got dim={potential.dim}")


def _uniform_grid(grid) -> tuple[np.ndarray, float]:
    """The grid as a float array, checked uniform, and its mean spacing."""
    grid = _check_grid(grid)
    spacing = np.diff(grid)
    dx = float(spacing.mean())
    if not np.allclose(spacing, dx, rtol=1e-8, atol=0):
        raise ValueError("grid must be uniform (equally spaced)")
    return grid, dx


def _birth_death_generator(right: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Tridiagonal ``Q`` (``dp/dt = Q p``) from the rates ``i -> i+1`` and ``i+1 -> i``."""
    m = right.size + 1
    Q = np.zeros((m, m))
    idx = np.arange(m - 1)
    Q[idx + 1, idx] = right
    Q[idx, idx + 1] = left
    Q[idx, idx] -= right
    Q[idx + 1, idx + 1] -= left
    return Q


# --------------------------------------------------------------------------
# Langevin dynamics of a potential; any generator in time
# --------------------------------------------------------------------------


def gibbs_density(potential: Potential, grid, *, temperature: float = 1.0) -> np.ndarray:
    r"""The Gibbs density ``exp(-L(x)/T) / Z`` on a 1-D grid.

    ``Z`` is the sum over the grid's cells, ``sum_i exp(-L(x_i)/T) w_i``, so
    the result integrates to one on the grid (it is the density of the
    distribution restricted to the grid's range).

    Parameters
    ----------
    potential : Potential (1-D)
    grid : array, shape (m,)
        Strictly increasing points (uniform or not).
    temperature : float
        ``T > 0``.

    Returns
    -------
    ndarray, shape (m,)
    """
    _one_d(potential)
    grid = _check_grid(grid)
    T = _positive(temperature, "temperature")
    energy = potential.energy(grid)
    if not np.all(np.isfinite(energy)):
        raise ValueError("the energy is not finite on the whole grid")
    weights = np.exp(-(energy - energy.min()) / T)  # shift by min L: no overflow
    return weights / np.sum(weights * cell_widths(grid))


def _bernoulli(z: np.ndarray) -> np.ndarray:
    """``B(z) = z / (e^z - 1)``, accurate near 0 and for large |z|."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    small = np.abs(z) < 1e-6
    out[small] = 1.0 - z[small] / 2.0 + z[small] ** 2 / 12.0
    zs = z[~small]
    out[~small] = zs / np.expm1(zs)
    return out


def generator_matrix(potential: Potential, grid, *, temperature: float = 1.0) -> np.ndarray:
    """The matrix ``Q`` of the semi-discrete Fokker-Planck equation ``dp/dt = Q p``.

    Scharfetter-Gummel fluxes on the uniform ``grid`` with zero-flux ends (see
    the module docstring). ``Q`` has zero column sums and non-negative
    off-diagonal entries; shape ``(m, m)``, tridiagonal.
    """
    _one_d(potential)
    grid, dx = _uniform_grid(grid)
    T = _positive(temperature, "temperature")
    energy = potential.energy(grid)
    if not np.all(np.isfinite(energy)):
        raise ValueError("the energy is not finite on the whole grid")
    peclet = -np.diff(energy) / T
    right = T / dx**2 * _bernoulli(-peclet)  # rate i -> i+1
    left = T / dx**2 * _bernoulli(peclet)    # rate i+1 -> i
    return _birth_death_generator(right, left)


def fokker_planck(
    potential: Potential,
    grid,
    p0,
    *,
    temperature: float = 1.0,
    times: Sequence[float],
) -> np.ndarray:
    r"""Solve ``dp/dt = d/dx (p L' + T dp/dx)`` on a uniform 1-D grid.

    Parameters
    ----------
    potential : Potential (1-D)
    grid : array, shape (m,)
        Uniform grid; the domain is the union of the cells centred on it, with
        zero flux (reflecting walls) at both ends.
    p0 : array, shape (m,)
        Initial density on the grid, finite and non-negative with positive
        mass; it is normalised so that ``sum(p0) * dx = 1``.
    temperature : float
        ``T > 0``.
    times : sequence of floats
        Times ``t >= 0`` (any order) at which to return the density.

    Returns
    -------
    ndarray, shape (len(times), m)
        ``p(t, x_i)`` for each requested time, each row with unit mass.

    Notes
    -----
    The time integration is exact for the semi-discrete system (matrix
    exponential), so the only error is the spatial one, ``O(dx^2)``; the
    cost is a dense ``m x m`` matrix exponential per distinct time interval
    (about 0.05 s for m = 400).
    """
    Q = generator_matrix(potential, grid, temperature=temperature)
    return evolve(Q, grid, p0, times=times)


def evolve(generator, grid, p0, *, times: Sequence[float]) -> np.ndarray:
    r"""Solve ``dp/dt = Q p`` exactly in time (matrix exponential) from ``p0``.

    Parameters
    ----------
    generator : array, shape (m, m)
        A generator matrix ``Q`` (zero column sums), e.g. from
        :func:`generator_matrix` or :func:`central_generator`.
    grid : array, shape (m,)
        Uniform grid of the cells.
    p0 : array, shape (m,)
        Initial density, finite and non-negative with positive mass; it is
        normalised so that ``sum(p0) * dx = 1``.
    times : sequence of floats
        Times ``t >= 0`` (any order).

    Returns
    -------
    ndarray, shape (len(times), m)
        ``p(t, x_i)`` at each requested time.
    """
    grid, dx = _uniform_grid(grid)
    Q = np.asarray(generator, dtype=float)
    if Q.shape != (grid.size, grid.size):
        raise ValueError(f"generator must have shape {(grid.size, grid.size)}, got {Q.shape}")
    p0 = np.array(p0, dtype=float)
    if p0.shape != grid.shape:
        raise ValueError(f"p0 must have the grid's shape {grid.shape}, got {p0.shape}")
    if not np.all(np.isfinite(p0)):
        raise ValueError("p0 must be finite (it contains inf or NaN)")
    if np.any(p0 < 0):
        raise ValueError("p0 must be non-negative")
    mass = p0.sum() * dx
    if not mass > 0:
        raise ValueError("p0 must have positive mass")
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if times.ndim != 1 or times.size == 0:
        raise ValueError("times must be a non-empty 1-D sequence")
    if not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ValueError("times must be finite and >= 0")
    order = np.argsort(times, kind="stable")
    out = np.empty((times.size, grid.size))
    p = p0 / mass
    now = 0.0
    propagators: dict[float, np.ndarray] = {}
    for i in order:
        interval = float(times[i] - now)
        if interval > 0:
            key = round(interval, 12)
            if key not in propagators:
                propagators[key] = scipy.linalg.expm(Q * interval)
            p = propagators[key] @ p
            # exp(Qt) is a non-negative matrix; rounding can leave -1e-17s
            np.maximum(p, 0.0, out=p)
            now = float(times[i])
        out[i] = p
    return out


def steady_state(generator, grid) -> np.ndarray:
    """Stationary density of ``dp/dt = Q p``: the solution of ``Q p = 0`` with unit mass.

    Solved as a sparse linear system in which one (redundant, since the columns
    of ``Q`` sum to zero) equation is replaced by ``sum(p) dx = 1``. Works for any
    generator with a one-dimensional kernel.

    Parameters
    ----------
    generator : array or scipy.sparse matrix, shape (m, m)
    grid : array, shape (m,), uniform

    Returns
    -------
    ndarray, shape (m,)
    """
    grid, dx = _uniform_grid(grid)
    if scipy.sparse.issparse(generator):
        Q = scipy.sparse.csr_matrix(generator, dtype=float)
    else:
        Q = scipy.sparse.csr_matrix(np.asarray(generator, dtype=float))
    if Q.shape != (grid.size, grid.size):
        raise ValueError(f"generator must have shape {(grid.size, grid.size)}, got {Q.shape}")
    mass_row = scipy.sparse.csr_matrix(np.full((1, grid.size), dx))
    system = scipy.sparse.vstack([Q[:-1], mass_row], format="csc")
    rhs = np.zeros(grid.size)
    rhs[-1] = 1.0
    p = scipy.sparse.linalg.spsolve(system, rhs)
    if not np.all(np.isfinite(p)):
        raise ValueError("the generator's kernel is not one-dimensional (singular system)")
    return p


# --------------------------------------------------------------------------
# general 1-D Ito SDEs  dx = drift dt + sqrt(diffusion_sq) dW
# --------------------------------------------------------------------------


def _on_grid(f, grid: np.ndarray, name: str) -> np.ndarray:
    values = f(grid) if callable(f) else f
    values = np.broadcast_to(np.asarray(values, dtype=float), grid.shape)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite on the grid")
    return values


def central_generator(drift: Callable | float, diffusion_sq: Callable | float, grid) -> np.ndarray:
    r"""Central-difference generator of the Ito Fokker-Planck equation on a uniform grid.

    Discretizes ``dp/dt = -(mu p)' + (1/2)(b^2 p)''`` (the SDE ``dx = mu(x) dt + b(x) dW``,
    the convention of :mod:`lib.symbolic`) by finite volumes with zero flux through the
    outer edges and the textbook central flux between cells ``i`` and ``i+1``,

    .. math:: J_{i+1/2} = \mu(x_{i+1/2})\,\frac{p_i + p_{i+1}}{2}
              - \frac{b^2(x_{i+1})\,p_{i+1} - b^2(x_i)\,p_i}{2\,\Delta x}.

    Unlike :func:`generator_matrix` (Scharfetter-Gummel) and :func:`ito_generator_matrix`,
    nothing in this flux knows the stationary density, so its steady state
    (:func:`steady_state`) approaches the exact one only as ``dx -> 0`` (at the rate
    ``O(dx^2)``): an independent check.

    Parameters
    ----------
    drift : callable ``mu(x)`` (vectorised) or float
        For Langevin dynamics ``mu = -L'`` (``lambda x: -U.grad(x)``).
    diffusion_sq : callable ``b(x)^2`` (vectorised) or float
        Noise variance per unit time, positive (``2T`` for Langevin).
    grid : array, shape (m,)
        Uniform grid.

    Returns
    -------
    ndarray, shape (m, m)
        Tridiagonal ``Q`` with zero column sums.

    Raises
    ------
    ValueError
        If the grid is too coarse for the scheme to be a valid master equation:
        a cell Peclet number ``|mu| dx / b^2`` above 1 makes an off-diagonal rate
        negative (and the density can turn negative).
    """
    grid, dx = _uniform_grid(grid)
    mu_edge = _on_grid(drift, 0.5 * (grid[1:] + grid[:-1]), "drift")
    b2 = _on_grid(diffusion_sq, grid, "diffusion_sq")
    if np.any(b2 <= 0):
        raise ValueError("diffusion_sq must be positive on the grid")
    right = (0.5 * mu_edge + 0.5 * b2[:-1] / dx) / dx   # rate i -> i+1
    left = (-0.5 * mu_edge + 0.5 * b2[1:] / dx) / dx    # rate i+1 -> i
    if np.any(right < 0) or np.any(left < 0):
        peclet = np.max(np.abs(mu_edge) * dx / np.minimum(b2[:-1], b2[1:]))
        raise ValueError(
            f"grid too coarse for the central scheme: the cell Peclet number |mu| dx / b^2 "
            f"reaches {peclet:.3g} (must be <= 1); use more grid points")
    return _birth_death_generator(right, left)


def _cumtrapz(f: np.ndarray, dx: float) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * dx)])


def _ito_on_grid(drift, diffusion_sq, grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(grid, drift values, diffusion_sq values)``, checked."""
    g, _ = _uniform_grid(grid)
    mu = _on_grid(drift, g, "drift")
    b2 = _on_grid(diffusion_sq, g, "diffusion_sq")
    if np.any(b2 <= 0):
        raise ValueError("diffusion_sq must be positive on the grid")
    return g, mu, b2


def _ito_log_density(g: np.ndarray, mu: np.ndarray, b2: np.ndarray):
    """``(dx, D, Phi, log p)``: ``D = b^2/2``, ``Phi = int^x (-mu/D)`` by the trapezoidal
    rule from ``g[0]``, and the unnormalised ``log p = -Phi - log D``."""
    # the spacing the callers' own sums use, grid[1] - grid[0]
    dx = float(g[1] - g[0])
    D = 0.5 * b2
    phi = _cumtrapz(-mu / D, dx)
    return dx, D, phi, -phi - np.log(D)


def ito_stationary_density(drift: Callable | float, diffusion_sq: Callable | float,
                           grid) -> np.ndarray:
    r"""Zero-current (stationary) density of ``dx = drift dt + sqrt(diffusion_sq) dW`` on a grid.

    With the diffusion coefficient ``D = diffusion_sq / 2``, the zero-current condition
    ``drift p - (D p)' = 0`` gives (chapter 5)

    .. math:: p(x) = \frac{1}{Z\,D(x)}\exp\Big(\int^x \frac{\mathrm{drift}(s)}{D(s)}\,ds\Big),

    the numerical twin of :func:`lib.symbolic.ito_stationary_density`. For Langevin
    dynamics (``drift = -L'``, ``diffusion_sq = 2T``) it is the Gibbs density.

    Parameters
    ----------
    drift : callable ``mu(x)`` (vectorised) or float
    diffusion_sq : callable ``b(x)^2`` (vectorised) or float
        Noise variance per unit time, positive on the grid.
    grid : array, shape (m,)
        Uniform grid.

    Returns
    -------
    ndarray, shape (m,)
        The integral is the trapezoidal rule on the grid; the values are normalised so
        that their trapezoidal integral is one.
    """
    g, mu, b2 = _ito_on_grid(drift, diffusion_sq, grid)
    dx, _, _, logp = _ito_log_density(g, mu, b2)
    p = np.exp(logp - logp.max())
    return p / (_cumtrapz(p, dx)[-1])


def ito_first_passage_time(drift: Callable | float, diffusion_sq: Callable | float, grid, *,
                           start: float, target: float) -> float:
    r"""Exact mean first-passage time of ``dx = drift dt + sqrt(diffusion_sq) dW`` to ``target``.

    With ``D = diffusion_sq / 2``, the scale density ``s(y) = exp(-int^y drift/D)`` and a
    reflecting end of the grid behind ``start``,

    .. math:: \tau = \int_{x_0}^{b} s(y)\int_{-\infty}^{y}\frac{dz}{D(z)\,s(z)}\,dy

    (for ``start < target``; mirrored otherwise), the solution of the backward equation
    ``A tau = -1``. For Langevin dynamics (``drift = -L'``, ``D = T``) this is the classical
    formula behind Kramers' law. Evaluated by the trapezoidal rule on ``grid``.

    Parameters
    ----------
    drift, diffusion_sq : as for :func:`ito_stationary_density`.
    grid : array, shape (m,)
        Uniform grid reaching from well behind ``start`` (the reflecting end) to ``target``.
    start, target : float
        Start ``x_0`` and target ``b`` (time units of the SDE).

    Returns
    -------
    float
    """
    g, mu, b2 = _ito_on_grid(drift, diffusion_sq, grid)
    if start > target:
        # mirror x -> -x (drift changes sign; the grid, reversed, is increasing again)
        g, mu, b2 = -g[::-1], -mu[::-1], b2[::-1]
        start, target = -start, -target
    dx, _, phi, lf = _ito_log_density(g, mu, b2)
    # log of the inner integral int_{-inf}^y e^{-phi}/D by a cumulative trapezoid in log space
    # (e^{phi} and e^{-phi} alone overflow for high barriers)
    steps = math.log(dx / 2) + np.logaddexp(lf[1:], lf[:-1])
    log_inner = np.concatenate([[-np.inf], np.logaddexp.accumulate(steps)])
    sel = (g >= start) & (g <= target)
    ys = g[sel]
    if ys.size < 3:
        raise ValueError("the grid must resolve [start, target] with at least 3 points")
    return float(np.trapezoid(np.exp(phi[sel] + log_inner[sel]), ys))


def ito_generator_matrix(drift: Callable | float, diffusion_sq: Callable | float,
                         grid) -> np.ndarray:
    r"""Generator ``Q`` of the Ito Fokker-Planck equation, with detailed balance exact on the grid.

    ``dp/dt = Q p`` for ``dx = drift dt + sqrt(diffusion_sq) dW`` with reflecting ends.
    With ``D = diffusion_sq / 2`` the current ``J = drift p - (D p)'`` is written as
    ``J = -D e^{-Phi} (e^{Phi} p)'`` (``Phi' = (D' - drift)/D``) and discretised with the
    geometric mean of ``D e^{-Phi}`` at cell faces, so that the grid's
    :func:`ito_stationary_density` is an exact null vector and ``Q`` satisfies detailed
    balance (for ``D = T`` constant it is close to, but not the same as,
    :func:`generator_matrix`'s Scharfetter-Gummel fluxes). Its spectral gap
    (:func:`spectral_gap`) is the relaxation rate.

    Parameters
    ----------
    drift, diffusion_sq : as for :func:`ito_stationary_density`.
    grid : array, shape (m,)
        Uniform grid.

    Returns
    -------
    ndarray, shape (m, m)
        Tridiagonal, zero column sums, positive off-diagonal rates.
    """
    g, mu, b2 = _ito_on_grid(drift, diffusion_sq, grid)
    dx, D, _, logp = _ito_log_density(g, mu, b2)
    # only ratios of neighbours of the (unnormalised) density enter, so the rates stay
    # finite even where the density itself underflows
    half = 0.5 * (logp[1:] - logp[:-1])
    base = np.sqrt(D[:-1] * D[1:]) / (dx * dx)
    up = base * np.exp(-half)           # rate i+1 -> i
    down = base * np.exp(half)          # rate i -> i+1
    return _birth_death_generator(down, up)


def spectral_gap(generator) -> float:
    """Spectral gap ``lambda_1`` of a tridiagonal generator: its relaxation rate.

    ``-Q`` has eigenvalues ``0 = lambda_0 < lambda_1 <= ...``; a density relaxes to the
    steady state like ``exp(-lambda_1 t)``. A tridiagonal generator with positive
    off-diagonal rates (:func:`generator_matrix`, :func:`central_generator`,
    :func:`ito_generator_matrix`) is a birth-death chain and satisfies detailed balance,
    so it is similar to the symmetric tridiagonal matrix with off-diagonal
    ``sqrt(Q[i, i+1] Q[i+1, i])``, whose two smallest eigenvalues are computed.

    Parameters
    ----------
    generator : array, shape (m, m), m >= 2

    Returns
    -------
    float
    """
    from scipy.linalg import eigvalsh_tridiagonal

    Q = np.asarray(generator, dtype=float)
    if Q.ndim != 2 or Q.shape[0] != Q.shape[1] or Q.shape[0] < 2:
        raise ValueError(f"generator must be a square matrix of size >= 2, got shape {Q.shape}")
    if np.any(np.triu(Q, 2)) or np.any(np.tril(Q, -2)):
        raise ValueError("generator must be tridiagonal (a 1-D nearest-neighbour generator)")
    rates = np.diag(Q, 1) * np.diag(Q, -1)
    if np.any(rates <= 0):
        raise ValueError("generator must have positive off-diagonal rates")
    off = np.sqrt(rates)
    lam = eigvalsh_tridiagonal(-np.diag(Q), -off, select="i", select_range=(0, 1))
    return float(lam[1])


# --------------------------------------------------------------------------
# discrete-time chains on the grid's cells
# --------------------------------------------------------------------------


def gaussian_transition_matrix(mean, sd, grid, *, quadrature: str = "cells"):
    r"""The Gaussian step ``x -> N(mean(x), sd(x)^2)`` as a Markov matrix on a grid's cells.

    ``P[i, j]`` is the probability that one step from the grid point ``x_i`` lands in the
    cell of ``x_j`` (rows sum to one). Two quadratures:

    ``"cells"``
        Exact cell probabilities, normal-CDF differences over the cell edges
        ``x_j -+ dx/2``; mass landing outside the grid is put in the end cells
        (reflection), harmless when the grid covers the region the chain visits. The only
        approximation is the start at the cell centre (error ``O(dx^2)``). Dense.
    ``"nystrom"``
        The Nystrom method: the Gaussian density at the grid points, within 10 standard
        deviations, each row renormalised to one (the chain conditioned to stay in the
        grid's range: for a transient chain, its quasi-stationary behaviour). Spectrally
        accurate when ``dx`` is well below ``sd``; requires ``dx <= min(sd) / 2``.
        Sparse (``scipy.sparse`` CSR).

    ULA's step is ``mean = x - h L'(x)``, ``sd = sqrt(2Th)`` (:func:`ula_invariant_density`);
    SGD's with Gaussian gradient noise is ``mean = theta - eta L'``, ``sd = eta sqrt(V)``
    (:func:`lib.sgd.transition_matrix`).

    Parameters
    ----------
    mean : array, shape (m,)
        Mean of the step from each grid point.
    sd : float or array, shape (m,)
        Its standard deviation, positive.
    grid : array, shape (m,)
        Uniform grid.
    quadrature : {"cells", "nystrom"}

    Returns
    -------
    ndarray or scipy.sparse.csr_matrix, shape (m, m)
    """
    g, dx = _uniform_grid(grid)
    mean = _on_grid(mean, g, "mean")
    sd = _on_grid(sd, g, "sd")
    if np.any(sd <= 0):
        raise ValueError("sd must be positive on the grid")
    m = g.size
    if quadrature == "cells":
        from scipy.special import ndtr

        # cell edges at -+ (g[1] - g[0]) / 2, the spacing the callers' sums use
        half_cell = (g[1] - g[0]) / 2
        edges = np.concatenate([[g[0] - half_cell], g + half_cell])
        cdf = ndtr((edges[None, :] - mean[:, None]) / sd[:, None])
        cdf[:, 0], cdf[:, -1] = 0.0, 1.0
        return np.diff(cdf, axis=1)
    if quadrature != "nystrom":
        raise ValueError(f'quadrature must be "cells" or "nystrom", got {quadrature!r}')
    if dx > sd.min() / 2:
        raise ValueError(f"grid spacing {dx:.3g} must be at most half the step's standard "
                         f"deviation, min(sd)/2 = {sd.min() / 2:.3g} (sqrt(2Th)/2 for ULA); "
                         "use more grid points")
    half = int(np.ceil(10 * sd.max() / dx)) + 1            # +-10 standard deviations
    offsets = np.arange(-half, half + 1)
    centre = np.rint((mean - g[0]) / dx).astype(int)
    cols = centre[:, None] + offsets[None, :]
    inside = (cols >= 0) & (cols < m)
    cols = np.clip(cols, 0, m - 1)
    weights = np.exp(-0.5 * ((g[cols] - mean[:, None]) / sd[:, None]) ** 2) * inside
    row_sums = weights.sum(axis=1, keepdims=True)
    if np.any(row_sums == 0):
        raise ValueError("from some grid points the step lands entirely outside the grid: "
                         "widen the grid or make the step smaller")
    weights /= row_sums
    rows = np.repeat(np.arange(m), offsets.size)
    return scipy.sparse.csr_matrix((weights.ravel(), (rows, cols.ravel())), shape=(m, m))


def _transition(P, m: int) -> np.ndarray:
    P = P.toarray() if scipy.sparse.issparse(P) else np.asarray(P, dtype=float)
    if P.shape != (m, m):
        raise ValueError(f"P must have shape ({m}, {m}) to match the grid, got {P.shape}")
    return P


def kernel_stationary_density(P, grid) -> np.ndarray:
    """Stationary density of a Markov matrix ``P`` on the grid's cells.

    Solves ``pi P = pi`` with ``sum pi = 1`` as the nonsingular dense system
    ``(P^T - I + 1 1^T) pi = 1`` (valid for an irreducible chain) and returns
    ``pi / dx`` (values on the grid, ``sum(p) dx = 1``, ``dx = grid[1] - grid[0]``).
    A sparse ``P`` (the ``"nystrom"`` quadrature) is solved sparsely instead, with the
    last balance equation replaced by the normalization: fine grids stay cheap.

    Parameters
    ----------
    P : array or scipy.sparse matrix, shape (m, m)
        E.g. from :func:`gaussian_transition_matrix`.
    grid : array, shape (m,), uniform

    Returns
    -------
    ndarray, shape (m,)
    """
    g, _ = _uniform_grid(grid)
    dx = float(g[1] - g[0])
    m = g.size
    if scipy.sparse.issparse(P):
        if P.shape != (m, m):
            raise ValueError(f"P must have shape ({m}, {m}) to match the grid, got {P.shape}")
        # the last balance equation replaced by the normalization; the natural ordering
        # keeps the LU factors inside the band of a 1-D kernel (the dense row fills only itself)
        A = (scipy.sparse.csr_matrix(P).T - scipy.sparse.identity(m, format="csr")).tocsr()
        A = scipy.sparse.vstack([A[:-1], scipy.sparse.csr_matrix(np.ones((1, m)))], format="csc")
        rhs = np.zeros(m)
        rhs[-1] = 1.0
        pi = scipy.sparse.linalg.splu(A, permc_spec="NATURAL").solve(rhs)
        return pi / dx
    P = _transition(P, m)
    pi = np.linalg.solve(P.T - np.eye(m) + 1.0, np.ones(m))
    return pi / dx


def kernel_first_passage(P, grid, *, start: float, target: float) -> float:
    """Exact mean number of steps of the grid chain ``P`` from ``start`` to first reach ``target``.

    Cells on or beyond ``target`` (on the far side from ``start``) are absorbing; solves
    ``(I - P_DD) tau = 1`` on the other cells and returns ``tau`` at the cell of ``start``.

    Parameters
    ----------
    P : array or scipy.sparse matrix, shape (m, m)
        Dense (solved densely) or sparse (solved sparsely).
    grid : array, shape (m,), uniform
    start, target : float

    Returns
    -------
    float
        In steps (multiply by the step size for time units).
    """
    g, _ = _uniform_grid(grid)
    inside = g < target if start < target else g > target
    if scipy.sparse.issparse(P):
        # sparse P (the "nystrom" quadrature): a banded solve, cheap on fine grids
        if P.shape != (g.size, g.size):
            raise ValueError(f"P must have shape ({g.size}, {g.size}) to match the grid, got {P.shape}")
        keep = np.flatnonzero(inside)
        Pd = scipy.sparse.csr_matrix(P)[keep][:, keep]
        A = (scipy.sparse.identity(keep.size, format="csr") - Pd).tocoo()
        # a 1-D kernel is banded: LAPACK's banded LU (no fill outside the band)
        lower, upper = int(max(0, (A.row - A.col).max())), int(max(0, (A.col - A.row).max()))
        band = np.zeros((lower + upper + 1, keep.size))
        band[upper + A.row - A.col, A.col] = A.data
        tau = scipy.linalg.solve_banded((lower, upper), band, np.ones(keep.size))
    else:
        P = _transition(P, g.size)
        Pd = P[np.ix_(inside, inside)]
        tau = np.linalg.solve(np.eye(Pd.shape[0]) - Pd, np.ones(Pd.shape[0]))
    i0 = int(np.argmin(np.abs(g[inside] - start)))
    return float(tau[i0])


def kernel_relaxation(P) -> float:
    """Second-largest eigenvalue modulus ``|mu_1|`` of a Markov matrix (ARPACK, three eigenvalues).

    The chain forgets its start like ``|mu_1|^k``: its relaxation time is ``1 / (1 - |mu_1|)``
    steps and its relaxation rate per unit time ``-log|mu_1| / h`` for a step of ``h`` time
    units (the learning rate ``eta`` for SGD).

    Parameters
    ----------
    P : array or scipy.sparse matrix, shape (m, m), m >= 4

    Returns
    -------
    float
    """
    from scipy.sparse.linalg import eigs

    if not scipy.sparse.issparse(P):
        P = np.asarray(P, dtype=float)
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] < 4:
        raise ValueError(f"P must be a square matrix of size >= 4, got shape {P.shape}")
    # a fixed start vector: ARPACK's own random one moves the last digits from call to call
    v0 = np.random.default_rng(0).random(P.shape[0])
    mu = np.sort(np.abs(eigs(P, k=3, which="LM", return_eigenvectors=False, tol=1e-12, v0=v0)))
    return float(mu[-2])


def ula_invariant_density(potential: Potential, grid, *, step: float,
                          temperature: float = 1.0) -> np.ndarray:
    r"""Invariant density of the ULA chain restricted to the grid's range.

    ULA moves ``x -> x - h L'(x) + sqrt(2Th) xi``: its transition density is the
    Gaussian ``k(x, y) = N(y; x - h L'(x), 2Th)``. The invariant density solves
    ``pi(y) = int pi(x) k(x, y) dx``; it is discretized by the Nystrom method
    (:func:`gaussian_transition_matrix` with ``quadrature="nystrom"``: the integral as a
    sum over the uniform grid, each row of the kernel renormalised to one, i.e. the chain
    conditioned to stay in the grid's range), which is spectrally accurate when ``dx`` is
    well below the kernel's width ``sqrt(2Th)``.

    On a potential with a superlinear gradient (the quartic double well) the
    unrestricted ULA chain is transient and has no invariant probability at all;
    this is then its *quasi-stationary* law, the one it keeps for the
    astronomically many steps before an escape (chapter 4).

    Parameters
    ----------
    potential : Potential (1-D)
    grid : array, shape (m,)
        Uniform grid with ``dx <= sqrt(2Th) / 2``.
    step : float
        ``h > 0``.
    temperature : float
        ``T > 0``.

    Returns
    -------
    ndarray, shape (m,)
        Density values with ``sum(p) dx = 1``.
    """
    _one_d(potential)
    grid, dx = _uniform_grid(grid)
    h = _positive(step, "step")
    T = _positive(temperature, "temperature")
    mean = grid - h * potential.grad(grid)
    if not np.all(np.isfinite(mean)):
        raise ValueError("the gradient is not finite on the whole grid")
    kernel = gaussian_transition_matrix(mean, np.sqrt(2.0 * T * h), grid, quadrature="nystrom")
    # pi K = pi  <=>  (K^T - I) pi = 0: a generator-like system for steady_state
    m = grid.size
    return steady_state((kernel.T - scipy.sparse.identity(m)) / dx, grid)


def ou_transition_density(x, x0, t, *, stiffness: float = 1.0,
                          temperature: float = 1.0) -> np.ndarray:
    r"""Transition density of the Ornstein-Uhlenbeck process ``dx = -a x dt + sqrt(2T) dW``.

    .. math:: p(t, x \mid x_0) = \mathcal N\big(x;\ x_0 e^{-at},\ \tfrac{T}{a}(1 - e^{-2at})\big)

    (the Langevin dynamics of ``L = a x^2/2``; chapter 3). Arguments broadcast.

    Parameters
    ----------
    x, x0 : arrays
        End and start points.
    t : float or array
        Elapsed time, ``t > 0``.
    stiffness : float
        ``a > 0``.
    temperature : float
        ``T > 0``.

    Returns
    -------
    ndarray, the broadcast shape of ``x``, ``x0`` and ``t``.
    """
    a = _positive(stiffness, "stiffness")
    T = _positive(temperature, "temperature")
    t = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError("t must be finite and > 0")
    decay = np.exp(-a * t)
    var = T / a * -np.expm1(-2 * a * t)
    z = np.asarray(x, dtype=float) - np.asarray(x0, dtype=float) * decay
    return np.exp(-0.5 * z * z / var) / np.sqrt(2 * np.pi * var)


# --------------------------------------------------------------------------
# moments and rates for the checks (chapters 3-5)
# --------------------------------------------------------------------------


def gibbs_mean(potential: Potential, f: Callable[[np.ndarray], np.ndarray], *,
               temperature: float, grid) -> float:
    r"""The Gibbs expectation ``E[f(x)]`` under ``exp(-L/T)/Z``, by a sum over a uniform grid.

    .. math:: \mathbb E_T[f] \approx \frac{\sum_i f(x_i)\,e^{-L(x_i)/T}}{\sum_i e^{-L(x_i)/T}}

    ``Z`` cancels and is never computed. For an integrand that is smooth and negligible at
    both ends of the grid the sum is the trapezoidal rule, which converges faster than any
    power of ``dx``: ``linspace(-4, 4, 4001)`` gives the double well's moments at
    ``T <= 0.55`` to machine precision.

    Parameters
    ----------
    potential : Potential (1-D)
    f : callable
        Vectorised, ``f(grid)`` has shape ``(m,)``; e.g. ``potential.energy`` or
        ``lambda x: virial(potential, x)``.
    temperature : float
        ``T > 0``.
    grid : array, shape (m,)
        Uniform grid covering the region where ``exp(-L/T)`` is not negligible.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For a bad potential, grid or temperature, or if the weights ``exp(-L/T)`` or the
        sum of ``f exp(-L/T)`` are not finite (over- or underflow on the grid).
    """
    _one_d(potential)
    grid, _ = _uniform_grid(grid)
    T = _positive(temperature, "temperature")
    weight = np.exp(-potential.energy(grid) / T)
    total = weight.sum()
    if not (np.isfinite(total) and total > 0):
        raise ValueError("exp(-L/T) over- or underflows on the grid: the sum of the weights "
                         f"is {total}")
    mean = (f(grid) * weight).sum() / total
    if not np.isfinite(mean):
        raise ValueError(f"f(x) exp(-L/T) is not finite on the grid (mean {mean})")
    return float(mean)


def grid_mean(f: Callable[[np.ndarray], np.ndarray], density, *, grid) -> float:
    r"""``E[f(x)] = sum_i f(x_i) p_i dx`` for a density given by its values on a uniform grid.

    The expectation under the densities this module returns (:func:`fokker_planck`,
    :func:`steady_state`, :func:`ula_invariant_density`, all with ``sum(p) dx = 1``), with
    ``dx = x_1 - x_0``. ``density`` may also be the difference of two densities: then the
    result is the difference of the two expectations (a bias, or a burn-in error).

    Parameters
    ----------
    f : callable
        Vectorised, ``f(grid)`` has shape ``(m,)``.
    density : array, shape (m,)
        Density values on the grid.
    grid : array, shape (m,)
        Uniform, increasing.

    Returns
    -------
    float
    """
    grid, _ = _uniform_grid(grid)
    density = np.asarray(density, dtype=float)
    if density.shape != grid.shape:
        raise ValueError(f"density must have the grid's shape {grid.shape}, got {density.shape}")
    mean = (f(grid) * density).sum() * (grid[1] - grid[0])
    if not np.isfinite(mean):
        raise ValueError(f"f(x) p(x) is not finite on the grid (mean {mean})")
    return float(mean)


def virial(potential: Potential, x) -> np.ndarray:
    r"""``x L'(x)`` for a 1-D potential and states of any shape.

    Integration by parts gives the exact identity ``E[x L'(x)] = T`` under the Gibbs
    density ``exp(-L/T)/Z`` (when ``x exp(-L/T) -> 0`` in both tails): a moment check of a
    sampler that needs neither ``Z`` nor quadrature (chapter 0's virial identity).

    Parameters
    ----------
    potential : Potential (1-D)
    x : array of any shape
        States, e.g. the ``(n_steps, n_chains)`` samples of a chain.

    Returns
    -------
    ndarray, the shape of ``x``
    """
    _one_d(potential)
    x = np.asarray(x, dtype=float)
    return x * potential.grad(x.ravel()).reshape(x.shape)


def decay_rates(generator, k: int = 3) -> np.ndarray:
    """The ``k`` slowest decay rates ``0 = lambda_0 < lambda_1 <= ...`` of a tridiagonal generator.

    ``-Q`` has eigenvalues ``0 = lambda_0 < lambda_1 <= lambda_2 <= ...``; a density
    relaxes like ``exp(-lambda_1 t)`` (``lambda_1`` is :func:`spectral_gap`), and
    ``lambda_2`` bounds how fast every other mode decays. A tridiagonal generator with
    positive off-diagonal rates is a birth-death chain with detailed balance, so it is
    similar to the symmetric tridiagonal matrix with the same diagonal and off-diagonal
    ``sqrt(Q[i+1, i] Q[i, i+1])``, whose top ``k`` eigenvalues are cheap to compute.

    Parameters
    ----------
    generator : array, shape (m, m), m >= 2
        :func:`generator_matrix`, :func:`central_generator` or :func:`ito_generator_matrix`.
    k : int
        How many rates, ``1 <= k <= m``.

    Returns
    -------
    ndarray, shape (k,)
        The rates in increasing order; the first is ``0`` up to rounding.
    """
    Q = np.asarray(generator, dtype=float)
    if Q.ndim != 2 or Q.shape[0] != Q.shape[1] or Q.shape[0] < 2:
        raise ValueError(f"generator must be a square matrix of size >= 2, got shape {Q.shape}")
    if np.any(np.triu(Q, 2)) or np.any(np.tril(Q, -2)):
        raise ValueError("generator must be tridiagonal (a 1-D nearest-neighbour generator)")
    if np.any(np.diag(Q, 1) * np.diag(Q, -1) <= 0):
        raise ValueError("generator must have positive off-diagonal rates")
    m = Q.shape[0]
    k = _count(k, "k", 1, m)
    diagonal = np.diag(Q)
    off = np.sqrt(np.diag(Q, -1) * np.diag(Q, 1))
    top = scipy.linalg.eigh_tridiagonal(diagonal, off, select="i",
                                        select_range=(m - k, m - 1))[0]
    return -top[::-1]


def grid_cdf(density, grid, x) -> float:
    r"""``P(X <= x)`` for a density given by its values on a uniform grid, to second order.

    The mass below a point that falls between grid points is *not* ``sum_{x_i < x} p_i dx``:
    that sum jumps by ``p_i dx`` whenever ``x`` crosses a grid point, a first-order error that
    wobbles with the grid. Here the cumulative trapezoidal integral of ``p`` (normalised to
    one) is interpolated linearly at ``x``: error ``O(dx^2)`` for a smooth density.

    Parameters
    ----------
    density : array, shape (m,)
        Density values on the grid (any normalisation).
    grid : array, shape (m,)
        Uniform, increasing.
    x : float

    Returns
    -------
    float in [0, 1]
    """
    g, dx = _uniform_grid(grid)
    p = np.asarray(density, dtype=float)
    # a linear solve leaves round-off of either sign where the density is ~0: tolerated, clipped
    if (p.shape != g.shape or not np.all(np.isfinite(p))
            or np.any(p < -1e-9 * np.abs(p).max())):
        raise ValueError(f"density must be finite, non-negative and of the grid's shape {g.shape}")
    p = np.maximum(p, 0.0)
    F = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]))])
    if F[-1] <= 0:
        raise ValueError("density must have positive mass on the grid")
    return float(np.interp(x, g, F / F[-1]))
