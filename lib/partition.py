r"""Estimators of the normalizer ``Z = int exp(score(y)) dy`` on ``R^d``.

The chapter on the continuous softmax compares three ways to compute

.. math:: Z = \int_{\mathbb R^d} e^{\mathrm{score}(y)}\,\mathrm dy ,
          \qquad \mathrm{score}(y) = -L(y)/T ,

* :func:`grid_normalizer`: the tensor-product midpoint rule with ``m`` nodes
  per axis on the box ``[-R, R]^d``; it costs ``m**d`` evaluations of the
  score (the curse of dimension).
* :func:`monte_carlo_normalizer`: naive Monte Carlo with uniform draws on the
  same box, ``Z ~ (2R)^d mean(exp(score(U)))``.
* :func:`importance_normalizer`: importance sampling with a Gaussian proposal
  ``q = N(mu, s^2 I)``, ``Z ~ mean(exp(score(Y)) / q(Y))``.
* :func:`annealed_importance`: annealed importance sampling (Neal 2001) along
  the geometric path ``q^(1-beta) f^beta``, with any MCMC move supplied by the
  caller; :func:`log_mean_exp` and :func:`kish_ess` summarize its log-weights.

:func:`grid_error_budget` is the a-priori error budget of the midpoint rule for a
Gaussian integrand (truncation of the box plus aliasing).

The Monte Carlo estimators return a :class:`NormalizerEstimate` with the
standard error of the run, ``std(w) / sqrt(n)`` of the weights ``w``. For the
standard Gaussian target ``exp(-|y|^2 / 2)`` the exact relative variances of
the weights are given by :func:`gaussian_is_relative_variance` and
:func:`uniform_mc_relative_variance`; both grow exponentially with ``d``.

A score is a callable ``log_weight(y)`` taking states of shape ``(n, d)`` and
returning shape ``(n,)`` (for ``d = 1`` it also receives ``(n, 1)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._validate import _callable, _count, _positive, _rng

__all__ = [
    "GridEstimate",
    "NormalizerEstimate",
    "grid_normalizer",
    "monte_carlo_normalizer",
    "importance_normalizer",
    "gaussian_is_relative_variance",
    "uniform_mc_relative_variance",
    "grid_error_budget",
    "AISRun",
    "annealed_importance",
    "log_mean_exp",
    "kish_ess",
]

LogWeight = Callable[[np.ndarray], np.ndarray]


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


def _evaluate(log_weight: LogWeight, y: np.ndarray) -> np.ndarray:
    values = np.asarray(log_weight(y), dtype=float)
    if values.shape != (y.shape[0],):
        values = np.broadcast_to(values, (y.shape[0],))
    if np.any(np.isnan(values)) or np.any(values == np.inf):
        raise ValueError("log_weight returned NaN or +inf: the score must be finite (or -inf)")
    return values


def _logsumexp(values: np.ndarray) -> float:
    top = float(values.max())
    if top == -np.inf:
        return -np.inf
    return top + math.log(float(np.exp(values - top).sum()))


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class GridEstimate:
    """Result of :func:`grid_normalizer`.

    Attributes
    ----------
    value : float
        The midpoint-rule estimate of ``Z`` (``inf`` if it overflows a float).
    n_points : int
        Number of score evaluations, ``m**d``.
    spacing : float
        Node spacing ``2R/m`` per axis.
    log_value : float
        ``log`` of the estimate, finite even when ``value`` overflows.
    """

    value: float
    n_points: int
    spacing: float
    log_value: float

    def relative_error(self, exact: float) -> float:
        """``|value - exact| / exact``."""
        return abs(self.value - exact) / abs(exact)


@dataclass(frozen=True)
class NormalizerEstimate:
    """A Monte Carlo estimate of ``Z`` with the run's own standard error.

    Attributes
    ----------
    value : float
        ``mean(w)``, the estimate of ``Z`` (unbiased).
    standard_error : float
        ``std(w) / sqrt(n)`` (sample standard deviation, ddof=1).
    n_samples : int
        ``n``.
    relative_variance : float
        Sample estimate of ``Var(w) / Z^2``; the relative standard error is
        ``sqrt(relative_variance / n)``. When the true variance is huge or
        infinite this sample value underestimates it badly.
    max_weight_fraction : float
        ``max(w) / sum(w)``: close to 1 means one draw carries the estimate.
    """

    value: float
    standard_error: float
    n_samples: int
    relative_variance: float
    max_weight_fraction: float

    @property
    def relative_standard_error(self) -> float:
        """``standard_error / value``."""
        return self.standard_error / self.value if self.value > 0 else math.inf

    def z_score(self, exact: float) -> float:
        """``(value - exact) / standard_error``: about N(0, 1) if the variance is finite."""
        return float((self.value - exact) / self.standard_error)

    def agrees_with(self, exact: float, *, z: float = 4.0) -> bool:
        """``|value - exact| <= z * standard_error``."""
        return abs(self.value - exact) <= z * self.standard_error


def _estimate(log_w: np.ndarray) -> NormalizerEstimate:
    n = log_w.size
    top = float(log_w.max())
    if top == -np.inf:
        return NormalizerEstimate(0.0, 0.0, n, math.inf, math.nan)
    scaled = np.exp(log_w - top)                 # weights / exp(top), in (0, 1]
    mean = float(scaled.mean())
    std = float(scaled.std(ddof=1)) if n > 1 else math.inf
    scale = math.exp(top)
    value = mean * scale
    return NormalizerEstimate(
        value=value,
        standard_error=std * scale / math.sqrt(n),
        n_samples=n,
        relative_variance=(std / mean) ** 2,
        max_weight_fraction=float(1.0 / scaled.sum()),
    )


# --------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------


def grid_normalizer(
    log_weight: LogWeight,
    dim: int,
    *,
    m: int,
    half_width: float,
    chunk: int = 1 << 18,
) -> GridEstimate:
    r"""Tensor-product midpoint rule for ``Z`` on the box ``[-R, R]^d``.

    .. math:: Z \approx h^d \sum_{i_1, \dots, i_d = 1}^{m}
              e^{\mathrm{score}(y_{i_1}, \dots, y_{i_d})},
              \qquad y_i = -R + (i - \tfrac12) h,\quad h = 2R/m .

    The ``m**d`` nodes are visited in chunks of ``chunk`` points, so the
    memory use is ``O(chunk * d)`` whatever the dimension; the sum is a
    running log-sum-exp, so large scores do not overflow.

    Parameters
    ----------
    log_weight : callable
        ``score(y)`` for states of shape ``(n, d)``, returning shape ``(n,)``.
    dim : int
        ``d >= 1``.
    m : int
        Nodes per axis, ``>= 1``.
    half_width : float
        ``R > 0``; the mass outside the box is lost (truncation error).
    chunk : int
        Points per evaluation batch, ``>= 1``.

    Returns
    -------
    GridEstimate
    """
    log_weight = _callable(log_weight, "log_weight", "y -> score(y)")
    d = _count(dim, "dim", 1)
    m = _count(m, "m", 1)
    R = _positive(half_width, "half_width")
    chunk = _count(chunk, "chunk", 1)
    h = 2.0 * R / m
    nodes = -R + (np.arange(m) + 0.5) * h
    n_points = m**d
    strides = [m ** (d - 1 - k) for k in range(d)]
    total = -np.inf
    for start in range(0, n_points, chunk):
        index = np.arange(start, min(start + chunk, n_points))
        y = np.empty((index.size, d))
        for k in range(d):
            y[:, k] = nodes[(index // strides[k]) % m]
        total = np.logaddexp(total, _logsumexp(_evaluate(log_weight, y)))
    log_value = float(total + d * math.log(h))
    value = math.exp(log_value) if log_value < 709.0 else math.inf
    return GridEstimate(value, n_points, h, log_value)


def monte_carlo_normalizer(
    log_weight: LogWeight,
    dim: int,
    *,
    n: int,
    half_width: float,
    rng: int | np.random.Generator | None = None,
) -> NormalizerEstimate:
    r"""Naive Monte Carlo: uniform draws on ``[-R, R]^d``.

    .. math:: \hat Z = \frac1n \sum_{k=1}^n w_k, \qquad
              w_k = (2R)^d\, e^{\mathrm{score}(U_k)},\quad U_k \sim \mathrm{Unif}[-R, R]^d .

    It is unbiased for the mass inside the box; its relative variance is
    ``(2R)^d int_box p^2 - 1`` for the normalized target ``p`` on the box
    (see :func:`uniform_mc_relative_variance`), exponential in ``d``.

    Parameters
    ----------
    log_weight : callable
        ``score(y)``, states of shape ``(n, d)`` to shape ``(n,)``.
    dim : int
        ``d >= 1``.
    n : int
        Number of draws, ``>= 2``.
    half_width : float
        ``R > 0``.
    rng : int, Generator or None
        Seed or generator.

    Returns
    -------
    NormalizerEstimate
    """
    log_weight = _callable(log_weight, "log_weight", "y -> score(y)")
    d = _count(dim, "dim", 1)
    n = _count(n, "n", 2)
    R = _positive(half_width, "half_width")
    gen = np.random.default_rng(rng)
    y = gen.uniform(-R, R, size=(n, d))
    log_w = _evaluate(log_weight, y) + d * math.log(2.0 * R)
    return _estimate(log_w)


def importance_normalizer(
    log_weight: LogWeight,
    dim: int,
    *,
    n: int,
    scale: float,
    mean: float | np.ndarray = 0.0,
    rng: int | np.random.Generator | None = None,
) -> NormalizerEstimate:
    r"""Importance sampling with the Gaussian proposal ``q = N(mu, s^2 I)``.

    .. math:: \hat Z = \frac1n \sum_{k=1}^n \frac{e^{\mathrm{score}(Y_k)}}{q(Y_k)},
              \qquad Y_k \sim q .

    Unbiased whenever ``q > 0`` where the target is; its variance is finite
    only if ``int p^2 / q < inf`` (for the standard Gaussian target: ``s^2 >
    1/2``, see :func:`gaussian_is_relative_variance`).

    Parameters
    ----------
    log_weight : callable
        ``score(y)``, states of shape ``(n, d)`` to shape ``(n,)``.
    dim : int
        ``d >= 1``.
    n : int
        Number of draws, ``>= 2``.
    scale : float
        Proposal standard deviation ``s > 0`` per axis.
    mean : float or array (d,)
        Proposal mean ``mu``.
    rng : int, Generator or None

    Returns
    -------
    NormalizerEstimate
    """
    log_weight = _callable(log_weight, "log_weight", "y -> score(y)")
    d = _count(dim, "dim", 1)
    n = _count(n, "n", 2)
    s = _positive(scale, "scale")
    mu = np.broadcast_to(np.asarray(mean, dtype=float), (d,))
    if not np.all(np.isfinite(mu)):
        raise ValueError("mean must be finite")
    gen = np.random.default_rng(rng)
    xi = gen.standard_normal((n, d))
    y = mu + s * xi
    log_q = -0.5 * np.einsum("ij,ij->i", xi, xi) - d * math.log(s * math.sqrt(2.0 * math.pi))
    return _estimate(_evaluate(log_weight, y) - log_q)


# --------------------------------------------------------------------------
# exact relative variances for the standard Gaussian target exp(-|y|^2/2)
# --------------------------------------------------------------------------


def gaussian_is_relative_variance(dim: int, scale: float) -> float:
    r"""``Var(w)/Z^2`` of :func:`importance_normalizer` for the target ``exp(-|y|^2/2)``.

    With the proposal ``N(0, s^2 I)`` the weights' second moment factorizes
    over the axes:

    .. math:: \frac{\mathbb E_q[w^2]}{Z^2} = \Big(\frac{s^2}{\sqrt{2 s^2 - 1}}\Big)^d
              \quad (s^2 > 1/2), \qquad \text{else } \infty .

    Returns ``(s^2 / sqrt(2 s^2 - 1))**d - 1`` (``inf`` when ``s^2 <= 1/2``).
    """
    d = _count(dim, "dim", 1)
    s = _positive(scale, "scale")
    if 2 * s * s <= 1:
        return math.inf
    return math.expm1(d * math.log(s * s / math.sqrt(2 * s * s - 1)))


def uniform_mc_relative_variance(dim: int, half_width: float) -> float:
    r"""``Var(w)/Z_R^2`` of :func:`monte_carlo_normalizer` for the target ``exp(-|y|^2/2)``.

    ``Z_R = (sqrt(2 pi) erf(R/sqrt 2))^d`` is the mass in the box and
    ``int_box exp(-|y|^2) = (sqrt(pi) erf(R))^d``, so

    .. math:: \frac{\mathbb E[w^2]}{Z_R^2} - 1 = \Big(\frac{2R\,\sqrt\pi\,\mathrm{erf}(R)}
              {2\pi\,\mathrm{erf}(R/\sqrt2)^2}\Big)^d - 1 .
    """
    d = _count(dim, "dim", 1)
    R = _positive(half_width, "half_width")
    factor = 2 * R * math.sqrt(math.pi) * math.erf(R) / (2 * math.pi * math.erf(R / math.sqrt(2)) ** 2)
    return math.expm1(d * math.log(factor))


def grid_error_budget(marginal_sds, *, half_width: float, spacing: float) -> float:
    r"""A-priori relative error budget of :func:`grid_normalizer` for a Gaussian integrand.

    For a Gaussian whose marginals have standard deviations ``sigma_i``, the
    relative error of the midpoint rule on ``[-R, R]^d`` with node spacing ``h``
    is at most about

    .. math:: \sum_{i=1}^d \Big[\operatorname{erfc}\Big(\frac{R}{\sigma_i\sqrt2}\Big)
              + 2\,e^{-2\pi^2\sigma_i^2/h^2}\Big] :

    the mass outside the box (a union bound over the coordinates) plus the
    aliasing error of the midpoint rule (the leading term of its Poisson
    summation for a Gaussian of width ``sigma_i``).

    Parameters
    ----------
    marginal_sds : array, shape (d,)
        ``sigma_i > 0``, e.g. ``sqrt(diag(A^{-1}))`` for ``exp(-y^T A y / 2)``.
    half_width : float
        ``R > 0``.
    spacing : float
        ``h > 0`` (``2R/m`` for ``m`` nodes per axis).

    Returns
    -------
    float
    """
    R = _positive(half_width, "half_width")
    h = _positive(spacing, "spacing")
    sds = np.atleast_1d(np.asarray(marginal_sds, dtype=float))
    if sds.ndim != 1 or sds.size == 0 or not np.all(np.isfinite(sds) & (sds > 0)):
        raise ValueError(f"marginal_sds must be a non-empty 1-D array of positive numbers, got {marginal_sds!r}")
    return float(np.sum([math.erfc(R / (sig * math.sqrt(2)))
                         + 2 * math.exp(-2 * math.pi**2 * sig**2 / h**2)
                         for sig in sds]))


# --------------------------------------------------------------------------
# annealed importance sampling
# --------------------------------------------------------------------------


def log_mean_exp(log_w) -> float:
    """``log(mean(exp(log_w)))`` without overflow: the log of an importance estimate of ``Z``."""
    log_w = np.asarray(log_w, dtype=float)
    if log_w.size == 0 or np.any(np.isnan(log_w)):
        raise ValueError("log_w must be a non-empty array without NaN")
    top = log_w.max()
    return float(top + math.log(np.mean(np.exp(log_w - top))))


def kish_ess(log_w) -> float:
    r"""Kish effective sample size ``(sum w)^2 / sum w^2`` of weights given by their logs.

    Between 1 (one weight carries everything) and ``n`` (equal weights): the
    number of equally weighted draws that would give the same variance of a
    weighted mean.
    """
    log_w = np.asarray(log_w, dtype=float)
    if log_w.size == 0 or np.any(np.isnan(log_w)):
        raise ValueError("log_w must be a non-empty array without NaN")
    w = np.exp(log_w - log_w.max())
    return float(w.sum() ** 2 / (w**2).sum())


@dataclass(frozen=True)
class AISRun:
    """Result of :func:`annealed_importance`.

    Attributes
    ----------
    log_weights : ndarray, shape (n,)
        ``log w_k`` of every particle; ``mean(w)`` is an unbiased estimate of
        ``Z / Z_q`` (of ``Z`` when ``log_proposal`` is normalized).
    samples : ndarray, shape (n, d)
        The particles after the last move (approximately distributed as the target).
    """

    log_weights: np.ndarray
    samples: np.ndarray


def annealed_importance(
    log_target: LogWeight,
    log_proposal: LogWeight,
    *,
    y0,
    betas,
    move: Callable[[np.ndarray, float, np.random.Generator], np.ndarray],
    rng: int | np.random.Generator | None = None,
) -> AISRun:
    r"""Annealed importance sampling along the geometric path ``pi_beta`` proportional to ``q^(1-beta) f^beta``.

    Every particle starts as a draw from ``q``; at step ``k`` its log-weight gains

    .. math:: (\beta_k - \beta_{k-1})\,\big(\log f(y) - \log q(y)\big)

    at its current position ``y``, and then it makes one move
    ``y <- move(y, beta_k, gen)`` that must leave ``pi_{beta_k}`` invariant. The
    mean of ``exp(log_weights)`` is unbiased for ``int f / int q`` whatever the
    mixing of the moves (Neal 2001); good moves only reduce its variance.

    Parameters
    ----------
    log_target : callable
        ``log f(y)`` (the score), states of shape ``(n, d)`` to shape ``(n,)``.
    log_proposal : callable
        ``log q(y)``; normalized, so that the weights estimate ``Z`` itself.
    y0 : array, shape (n, d)
        Independent draws from ``q`` (copied, not modified).
    betas : array, shape (K + 1,)
        Non-decreasing, from ``beta_0 = 0`` to ``beta_K = 1``.
    move : callable ``move(y, beta, gen) -> y``
        An MCMC move that leaves ``pi_beta`` invariant; it may update ``y`` in place.
    rng : int, Generator or None
        Seed or generator passed to ``move``.

    Returns
    -------
    AISRun
    """
    log_target = _callable(log_target, "log_target", "y -> log f(y)")
    log_proposal = _callable(log_proposal, "log_proposal", "y -> log q(y)")
    move = _callable(move, "move", "(y, beta, gen) -> y")
    y = np.array(y0, dtype=float)
    if y.ndim != 2 or y.shape[0] < 1:
        raise ValueError(f"y0 must have shape (n, d) with n >= 1, got {np.shape(y0)}")
    betas = np.asarray(betas, dtype=float)
    if (betas.ndim != 1 or betas.size < 2 or betas[0] != 0.0 or betas[-1] != 1.0
            or np.any(np.diff(betas) < 0)):
        raise ValueError("betas must be a non-decreasing 1-D sequence from 0 to 1 (at least two values)")
    gen = _rng(rng)
    shape = y.shape
    log_w = np.zeros(shape[0])
    for b_prev, b in zip(betas[:-1], betas[1:]):
        log_w += (b - b_prev) * (log_target(y) - log_proposal(y))
        y = move(y, b, gen)
        if np.shape(y) != shape:
            raise ValueError(f"move must return states of shape {shape}, got {np.shape(y)}")
    if np.any(np.isnan(log_w)) or np.any(log_w == np.inf):
        raise ValueError("annealed_importance: a log-weight is NaN or +inf (the scores diverged)")
    return AISRun(log_w, y)
