"""Statistics for checking samplers honestly.

Conventions: a 1-D ``grid`` of points ``x_i`` defines cells centred on them
(edges at the midpoints, the outer edges half a spacing beyond the ends), the
same cells :func:`lib.fokker_planck` uses. A density on the grid is a vector of
values ``p_i`` whose cell masses ``p_i w_i`` sum to one.

Time series are arrays of shape ``(n_steps,)`` (one chain) or
``(n_steps, n_chains)`` (independent chains of the same sampler): axis 0 is
time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "cell_edges",
    "cell_widths",
    "histogram_density",
    "cell_masses",
    "tv_distance",
    "TVTest",
    "tv_test",
    "autocorrelation",
    "integrated_autocorrelation_time",
    "effective_sample_size",
    "standard_error",
    "MeanEstimate",
    "mean_with_error",
]


def _check_grid(grid: np.ndarray, name: str = "grid") -> np.ndarray:
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or grid.size < 2:
        raise ValueError(f"{name} must be a 1-D array of at least 2 points, got shape {grid.shape}")
    if not np.all(np.isfinite(grid)):
        raise ValueError(f"{name} must be finite")
    if not np.all(np.diff(grid) > 0):
        raise ValueError(f"{name} must be strictly increasing")
    return grid


def cell_edges(grid: np.ndarray) -> np.ndarray:
    """Edges of the cells centred on the grid points, shape ``(m + 1,)``."""
    grid = _check_grid(grid)
    mid = 0.5 * (grid[1:] + grid[:-1])
    return np.concatenate(([grid[0] - (mid[0] - grid[0])], mid, [grid[-1] + (grid[-1] - mid[-1])]))


def cell_widths(grid: np.ndarray) -> np.ndarray:
    """Widths ``w_i`` of the cells centred on the grid points, shape ``(m,)``."""
    return np.diff(cell_edges(grid))


def histogram_density(samples: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Histogram of ``samples`` as a density on the grid's cells.

    Returns ``count_i / (n w_i)``, shape ``(m,)``; ``n`` counts *all* samples,
    so mass falling outside the cells is missing from the result (its total is
    ``1 - sum(result * cell_widths(grid))``).
    """
    samples = np.asarray(samples, dtype=float).ravel()
    if samples.size == 0:
        raise ValueError("samples must not be empty")
    edges = cell_edges(grid)
    counts, _ = np.histogram(samples, bins=edges)
    return counts / (samples.size * np.diff(edges))


def cell_masses(density: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Cell masses ``p_i w_i`` of a density given on the grid, normalised to sum to one."""
    density = np.asarray(density, dtype=float)
    widths = cell_widths(grid)
    if density.shape != widths.shape:
        raise ValueError(f"density must have the grid's shape {widths.shape}, got {density.shape}")
    if np.any(density < 0) or not np.all(np.isfinite(density)):
        raise ValueError("density must be finite and non-negative")
    mass = density * widths
    return mass / mass.sum()


def tv_distance(samples: np.ndarray, density: np.ndarray, grid: np.ndarray) -> float:
    """Total variation distance between the samples' histogram and a density.

    ``TV = 1/2 sum_i |hat q_i - q_i| + 1/2 (mass of samples outside the cells)``
    where ``q_i`` are the density's cell masses and ``hat q_i`` the fractions of
    samples in each cell. It is 0 for a perfect match and at most 1. With ``n``
    independent samples its expected value is about
    ``sum_i sqrt(q_i (1 - q_i) / (2 pi n))`` even for a perfect sampler: use
    :func:`tv_test` for a calibrated decision.
    """
    samples = np.asarray(samples, dtype=float).ravel()
    q = cell_masses(density, grid)
    counts, _ = np.histogram(samples, bins=cell_edges(grid))
    q_hat = counts / samples.size
    outside = 1.0 - q_hat.sum()
    return float(0.5 * np.abs(q_hat - q).sum() + 0.5 * outside)


@dataclass(frozen=True)
class TVTest:
    """Result of :func:`tv_test`.

    Attributes
    ----------
    distance : float
        Observed TV distance between the samples' histogram and the density.
    threshold : float
        The ``1 - level`` quantile of the TV distance of ``n_eff`` independent
        draws from the density itself (parametric bootstrap).
    expected : float
        Mean TV distance of ``n_eff`` exact draws (the Monte Carlo floor).
    n_eff : float
        The sample size the test assumed.
    level : float
        The test's false-rejection probability.
    passed : bool
        ``distance <= threshold``.
    """

    distance: float
    threshold: float
    expected: float
    n_eff: float
    level: float
    passed: bool

    def __str__(self) -> str:
        verdict = "consistent" if self.passed else "REJECTED"
        return (f"TV distance {self.distance:.4f} vs threshold {self.threshold:.4f} "
                f"(level {self.level:g}, n_eff {self.n_eff:.0f}, exact-sampler mean {self.expected:.4f}): {verdict}")


def tv_test(
    samples: np.ndarray,
    density: np.ndarray,
    grid: np.ndarray,
    *,
    n_eff: float | None = None,
    level: float = 0.01,
    n_bootstrap: int = 2000,
    rng: int | np.random.Generator = 0,
) -> TVTest:
    """Test whether samples come from a density, using the TV distance.

    Under the null hypothesis the cell counts are multinomial with the
    density's cell masses and ``n_eff`` trials; the threshold is the
    ``1 - level`` quantile of the TV distance in ``n_bootstrap`` simulated
    multinomial histograms. For correlated samples pass their effective sample
    size as ``n_eff`` (default: the number of samples, right for independent
    draws such as the final states of independent chains).

    The histogram of ``n`` correlated samples is compared through its cell
    fractions, so the null distribution is simulated with ``n_eff`` trials.
    """
    samples = np.asarray(samples, dtype=float).ravel()
    n = samples.size if n_eff is None else float(n_eff)
    if not (0 < level < 1):
        raise ValueError(f"level must be in (0, 1), got {level}")
    if not (n >= 1):
        raise ValueError(f"n_eff must be at least 1, got {n_eff}")
    q = cell_masses(density, grid)
    distance = tv_distance(samples, density, grid)
    gen = np.random.default_rng(rng)
    n_draws = max(int(round(n)), 1)
    counts = gen.multinomial(n_draws, q, size=n_bootstrap)
    null = 0.5 * np.abs(counts / n_draws - q).sum(axis=1)
    threshold = float(np.quantile(null, 1 - level))
    return TVTest(distance, threshold, float(null.mean()), float(n), level, distance <= threshold)


def _as_chains(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(
            f"expected a series of shape (n_steps,) or (n_steps, n_chains), got {x.shape}; "
            "for vector states pass one component, e.g. samples[..., 0]"
        )
    if x.shape[0] < 4:
        raise ValueError(f"need at least 4 time steps, got {x.shape[0]}")
    if not np.all(np.isfinite(x)):
        raise ValueError("the series contains inf or NaN")
    return x


def autocorrelation(x: np.ndarray, *, max_lag: int | None = None) -> np.ndarray:
    """Normalised autocorrelation ``rho(k)``, k = 0..max_lag, averaged over chains.

    Parameters
    ----------
    x : array, shape (n_steps,) or (n_steps, n_chains)
    max_lag : int, optional
        Largest lag (default ``n_steps - 1``).

    Returns
    -------
    rho : array, shape (max_lag + 1,)
        ``rho[0] == 1``. Autocovariances are computed per chain with the
        FFT (biased estimator, divided by ``n``), averaged over chains, then
        divided by the lag-0 value.
    """
    x = _as_chains(x)
    n = x.shape[0]
    max_lag = n - 1 if max_lag is None else int(max_lag)
    if not (0 <= max_lag < n):
        raise ValueError(f"max_lag must be in [0, {n - 1}], got {max_lag}")
    centred = x - x.mean(axis=0)
    size = 1 << (2 * n - 1).bit_length()
    spectrum = np.fft.rfft(centred, n=size, axis=0)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=0)[: max_lag + 1] / n
    acov = acov.mean(axis=1)
    if acov[0] <= 0:
        raise ValueError("the series is constant: its autocorrelation is undefined")
    return acov / acov[0]


def integrated_autocorrelation_time(x: np.ndarray) -> float:
    """Integrated autocorrelation time ``tau = 1 + 2 sum_k rho(k)``.

    The sum is truncated with Geyer's initial monotone positive sequence
    (sums of adjacent pairs ``rho(2m) + rho(2m+1)`` are kept while positive,
    and made non-increasing), the estimator used by Stan and ArviZ.
    """
    rho = autocorrelation(x)
    n_pairs = rho.size // 2
    pairs = rho[: 2 * n_pairs].reshape(n_pairs, 2).sum(axis=1)
    positive = np.flatnonzero(pairs <= 0)
    pairs = pairs[: positive[0]] if positive.size else pairs
    pairs = np.minimum.accumulate(pairs)
    tau = -1.0 + 2.0 * pairs.sum()
    return float(max(tau, 1.0 / np.log10(max(rho.size, 10))))


def effective_sample_size(x: np.ndarray) -> float:
    """Effective sample size ``n_steps * n_chains / tau`` of a scalar series.

    Parameters
    ----------
    x : array, shape (n_steps,) or (n_steps, n_chains)
    """
    x = _as_chains(x)
    return float(x.size / integrated_autocorrelation_time(x))


def standard_error(x: np.ndarray) -> float:
    """Monte Carlo standard error of the mean of a correlated series.

    ``sqrt(var(x) / ESS)`` with the effective sample size of
    :func:`effective_sample_size` (shape ``(n_steps,)`` or
    ``(n_steps, n_chains)``).
    """
    x = _as_chains(x)
    return float(np.sqrt(x.var(ddof=1) / effective_sample_size(x)))


@dataclass(frozen=True)
class MeanEstimate:
    """A Monte Carlo mean with its standard error and effective sample size."""

    mean: float
    standard_error: float
    ess: float

    def z_score(self, exact: float) -> float:
        """``(mean - exact) / standard_error``: about N(0, 1) if ``exact`` is right."""
        return float((self.mean - exact) / self.standard_error)

    def agrees_with(self, exact: float, *, z: float = 4.0) -> bool:
        """``|mean - exact| <= z * standard_error`` (z = 4: false alarm rate 6e-5)."""
        return abs(self.mean - exact) <= z * self.standard_error


def mean_with_error(x: np.ndarray) -> MeanEstimate:
    """Mean of a (possibly correlated) series with its standard error and ESS."""
    x = _as_chains(x)
    ess = effective_sample_size(x)
    return MeanEstimate(float(x.mean()), float(np.sqrt(x.var(ddof=1) / ess)), ess)
