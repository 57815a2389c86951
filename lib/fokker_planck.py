r"""The 1-D Fokker-Planck equation and its steady state, the Gibbs density.

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

A second, generic discretization serves as an independent check
(:func:`central_generator`): central differences for the Ito equation
``dp/dt = -(mu p)' + (1/2)(b^2 p)''`` with any drift and noise, whose steady state
is the Gibbs density only up to ``O(dx^2)``. :func:`ula_invariant_density` gives the
invariant law of the *discrete* ULA chain (its discretization bias), and
:func:`ou_transition_density` the Ornstein-Uhlenbeck transition density.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from .potentials import Potential
from .stats import _check_grid, cell_widths

__all__ = [
    "gibbs_density",
    "fokker_planck",
    "generator_matrix",
    "central_generator",
    "evolve",
    "steady_state",
    "ula_invariant_density",
    "ou_transition_density",
]


def _temperature(temperature) -> float:
    T = float(temperature)
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"temperature must be a positive finite number (> 0), got {temperature}")
    return T


def _one_d(potential: Potential) -> None:
    if not isinstance(potential, Potential):
        raise ValueError(f"potential must be a lib.Potential, got {type(potential).__name__}")
    if potential.dim != 1:
        raise ValueError(f"this function needs a 1-D potential, got dim={potential.dim}")


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
    T = _temperature(temperature)
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


def _uniform_grid(grid) -> tuple[np.ndarray, float]:
    grid = _check_grid(grid)
    spacing = np.diff(grid)
    dx = float(spacing.mean())
    if not np.allclose(spacing, dx, rtol=1e-8, atol=0):
        raise ValueError("grid must be uniform (equally spaced) for the Fokker-Planck solver")
    return grid, dx


def generator_matrix(potential: Potential, grid, *, temperature: float = 1.0) -> np.ndarray:
    """The matrix ``Q`` of the semi-discrete Fokker-Planck equation ``dp/dt = Q p``.

    Scharfetter-Gummel fluxes on the uniform ``grid`` with zero-flux ends (see
    the module docstring). ``Q`` has zero column sums and non-negative
    off-diagonal entries; shape ``(m, m)``, tridiagonal.
    """
    _one_d(potential)
    grid, dx = _uniform_grid(grid)
    T = _temperature(temperature)
    energy = potential.energy(grid)
    if not np.all(np.isfinite(energy)):
        raise ValueError("the energy is not finite on the whole grid")
    peclet = -np.diff(energy) / T
    right = T / dx**2 * _bernoulli(-peclet)  # rate i -> i+1
    left = T / dx**2 * _bernoulli(peclet)    # rate i+1 -> i
    m = grid.size
    Q = np.zeros((m, m))
    idx = np.arange(m - 1)
    Q[idx + 1, idx] = right
    Q[idx, idx + 1] = left
    Q[idx, idx] -= right
    Q[idx + 1, idx + 1] -= left
    return Q


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


def _on_grid(f, grid: np.ndarray, name: str) -> np.ndarray:
    values = f(grid) if callable(f) else f
    values = np.broadcast_to(np.asarray(values, dtype=float), grid.shape)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite on the grid")
    return values


def central_generator(drift: Callable | float, diffusion_sq: Callable | float, grid) -> np.ndarray:
    r"""Central-difference generator of the Ito Fokker-Planck equation on a uniform grid.

    Discretizes ``dp/dt = -(mu p)' + (1/2)(b^2 p)''`` (the SDE
    ``dx = mu(x) dt + b(x) dW``) by finite volumes with zero flux through the outer
    edges and the textbook central flux between cells ``i`` and ``i+1``,

    .. math:: J_{i+1/2} = \mu(x_{i+1/2})\,rac{p_i + p_{i+1}}{2}
              - rac{b^2(x_{i+1})\,p_{i+1} - b^2(x_i)\,p_i}{2\,\Delta x}.

    Unlike :func:`generator_matrix` (Scharfetter-Gummel), nothing in this flux knows
    the stationary density, so its steady state (:func:`steady_state`) approaches
    the exact one only as ``dx -> 0`` (at the rate ``O(dx^2)``): an independent check.

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
    m = grid.size
    Q = np.zeros((m, m))
    idx = np.arange(m - 1)
    Q[idx + 1, idx] = right
    Q[idx, idx + 1] = left
    Q[idx, idx] -= right
    Q[idx + 1, idx + 1] -= left
    return Q


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


def ula_invariant_density(potential: Potential, grid, *, step: float,
                          temperature: float = 1.0) -> np.ndarray:
    r"""Invariant density of the ULA chain restricted to the grid's range.

    ULA moves ``x -> x - h L'(x) + sqrt(2Th) xi``: its transition density is the
    Gaussian ``k(x, y) = N(y; x - h L'(x), 2Th)``. The invariant density solves
    ``pi(y) = int pi(x) k(x, y) dx``; it is discretized by the Nystrom method (the
    integral as a sum over the uniform grid, each row of the kernel renormalised
    to one, i.e. the chain conditioned to stay in the grid's range), which is
    spectrally accurate when ``dx`` is well below the kernel's width ``sqrt(2Th)``.

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
    h = float(step)
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"step must be a positive finite number (> 0), got {step}")
    T = _temperature(temperature)
    s = np.sqrt(2.0 * T * h)
    if dx > s / 2:
        raise ValueError(f"grid spacing {dx:.3g} must be at most half the kernel width "
                         f"sqrt(2Th)/2 = {s / 2:.3g}; use more grid points")
    m = grid.size
    mean = grid - h * potential.grad(grid)
    if not np.all(np.isfinite(mean)):
        raise ValueError("the gradient is not finite on the whole grid")
    half = int(np.ceil(10 * s / dx)) + 1            # +-10 kernel widths
    offsets = np.arange(-half, half + 1)
    centre = np.rint((mean - grid[0]) / dx).astype(int)
    cols = centre[:, None] + offsets[None, :]
    inside = (cols >= 0) & (cols < m)
    cols = np.clip(cols, 0, m - 1)
    weights = np.exp(-0.5 * ((grid[cols] - mean[:, None]) / s) ** 2) * inside
    row_sums = weights.sum(axis=1, keepdims=True)
    if np.any(row_sums == 0):
        raise ValueError("ULA jumps from some grid points entirely out of the grid: "
                         "widen the grid or decrease the step")
    weights /= row_sums
    rows = np.repeat(np.arange(m), offsets.size)
    kernel = scipy.sparse.csr_matrix((weights.ravel(), (rows, cols.ravel())), shape=(m, m))
    # pi K = pi  <=>  (K^T - I) pi = 0: a generator-like system for steady_state
    return steady_state((kernel.T - scipy.sparse.identity(m)) / dx, grid)


def ou_transition_density(x, x0, t, *, stiffness: float = 1.0,
                          temperature: float = 1.0) -> np.ndarray:
    r"""Transition density of the Ornstein-Uhlenbeck process ``dx = -a x dt + sqrt(2T) dW``.

    .. math:: p(t, x \mid x_0) = \mathcal Nig(x;\ x_0 e^{-at},              	frac{T}{a}(1 - e^{-2at})ig)

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
    a = float(stiffness)
    if not (np.isfinite(a) and a > 0):
        raise ValueError(f"stiffness must be a positive finite number (> 0), got {stiffness}")
    T = _temperature(temperature)
    t = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError("t must be finite and > 0")
    decay = np.exp(-a * t)
    var = T / a * -np.expm1(-2 * a * t)
    z = np.asarray(x, dtype=float) - np.asarray(x0, dtype=float) * decay
    return np.exp(-0.5 * z * z / var) / np.sqrt(2 * np.pi * var)
