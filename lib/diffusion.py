"""Diffusion models in NumPy: forward processes, exact scores, samplers (chapter 7).

States are arrays of shape ``(n, d)`` (``n`` particles in ``d >= 1`` dimensions); a
1-D array of shape ``(n,)`` is accepted where it is unambiguous and means ``d = 1``
(the result then has the same shape as the input). Times run over ``[0, 1]``: data at
``t = 0``, (almost) pure noise at ``t = 1``.

The forward processes are linear SDEs ``dx = f(t) x dt + g(t) dW`` whose transition is
Gaussian, ``x_t | x_0 ~ N(alpha(t) x_0, sigma(t)^2 I)``: for both processes ``alpha(t)`` and
``sigma(t)`` are the mean scale and the standard deviation of this transition, so generic
code (Tweedie's formula, denoising score matching) works for either:

* :class:`VP`, the variance-preserving SDE ``dx = -beta(t)/2 x dt + sqrt(beta(t)) dW`` with
  ``beta(t) = beta_min + t (beta_max - beta_min)``: ``alpha = exp(-B/2)``,
  ``sigma = sqrt(1 - alpha^2)``, ``B(t) = int_0^t beta``;
* :class:`VE`, the variance-exploding SDE ``dx = sqrt(d schedule^2/dt) dW`` with the geometric
  schedule ``schedule(t) = sigma_min (sigma_max/sigma_min)^t`` of Song et al. (2021):
  ``alpha = 1`` and ``sigma(t)^2 = schedule(t)^2 - sigma_min^2`` (the noise *added* between
  0 and t).

For a Gaussian mixture the noised density ``p_t`` is again a Gaussian mixture
(:func:`marginal`), so its score ``grad log p_t`` is exact (:func:`exact_score`). The
samplers (:func:`reverse_sde`, :func:`probability_flow`, :func:`annealed_langevin`) take any
score ``score(x, t) -> (n, d)``, exact or learned (:func:`fit_score`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._validate import _count, _positive, _rng
from .samplers import DivergenceError

__all__ = [
    "GaussianMixture",
    "VP",
    "VE",
    "marginal",
    "exact_score",
    "tweedie_denoiser",
    "reverse_sde",
    "probability_flow",
    "annealed_langevin",
    "log_likelihood",
    "dsm_constant",
    "WidthTest",
    "width_test",
    "width_test_power",
    "fit_score",
    "ScoreModel",
    "DivergenceError",
]

Score = Callable[[np.ndarray, float], np.ndarray]


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


def _times(t, name: str = "t") -> np.ndarray:
    """``t`` as a float array, checked to lie in [0, 1]."""
    if type(t) in (float, np.float64) and 0.0 <= t <= 1.0:
        return np.float64(t)           # the samplers' one time per step: skip the array checks
    arr = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
        bad = arr[~(np.isfinite(arr) & (arr >= 0) & (arr <= 1))]
        raise ValueError(f"{name} must lie in [0, 1], got {bad.ravel()[:3]}")
    return arr


def _states(x, dim: int | None, name: str = "x") -> tuple[np.ndarray, bool]:
    """``x`` as a finite (n, d) array; also whether it came as (n,) (1-D states)."""
    arr = np.array(x, dtype=float)
    flat = arr.ndim == 1 and (dim is None or dim == 1)
    if flat:
        arr = arr[:, None]
    if arr.ndim != 2 or (dim is not None and arr.shape[1] != dim):
        want = f"(n, {dim})" if dim is not None else "(n, d)"
        if dim == 1:
            want += " or (n,)"
        raise ValueError(f"{name} must have shape {want}, got {np.shape(x)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (it contains inf or NaN)")
    return arr, flat


def _logsumexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(a - m), axis=axis))


# --------------------------------------------------------------------------
# Gaussian mixtures
# --------------------------------------------------------------------------


def _mixture_terms(x: np.ndarray, log_w: np.ndarray, means: np.ndarray, var: np.ndarray):
    """Log joint ``log w_k N(x; mu_k, v_k I)`` (n, K) and the offsets ``mu_k - x`` (n, K, d).

    ``means`` is (K, d) or (n, K, d) and ``var`` (K,) or (n, K), so that every particle
    may carry its own noise level (used for scores at per-sample times).
    """
    d = x.shape[1]
    diff = means - x[:, None, :]
    sq = np.einsum("nkd,nkd->nk", diff, diff)
    log_joint = log_w - 0.5 * sq / var - 0.5 * d * np.log(2 * np.pi * var)
    return log_joint, diff


def _mixture_score(x, log_w, means, var):
    if means.ndim == 2:
        return _shared_mixture_score(x, log_w, means, var)
    log_joint, diff = _mixture_terms(x, log_w, means, var)
    resp = np.exp(log_joint - _logsumexp(log_joint)[:, None])
    return np.einsum("nk,nkd->nd", resp / var, diff)


def _shared_mixture_score(x, log_w, means, var):
    """The score for components shared by all particles, without (n, K, d) temporaries.

    ``|x - mu_k|^2 = |x|^2 - 2 x.mu_k + |mu_k|^2`` and
    ``sum_k r_k (mu_k - x)/v_k = (r/v) @ mu - x sum_k r_k/v_k``: two small matrix products,
    several times faster than the broadcast form for the sample sizes of chapter 7.
    """
    d = x.shape[1]
    sq = np.sum(x * x, axis=1)[:, None] - 2.0 * (x @ means.T) + np.sum(means * means, axis=1)
    log_joint = log_w - 0.5 * sq / var - 0.5 * d * np.log(2 * np.pi * var)
    log_joint -= np.max(log_joint, axis=1, keepdims=True)
    resp = np.exp(log_joint)
    resp /= np.sum(resp, axis=1, keepdims=True)
    rv = resp / var
    return rv @ means - x * np.sum(rv, axis=1, keepdims=True)


class GaussianMixture:
    r"""A mixture of isotropic Gaussians on :math:`\mathbb{R}^d`.

    .. math:: p(x) = \sum_{k=1}^K w_k\, \mathcal{N}(x; \mu_k, s_k^2 I).

    Parameters
    ----------
    weights : array (K,)
        Positive mixture weights; normalised to sum to one.
    means : array (K, d)
        Component means (an array of shape (K,) means ``d = 1``).
    stds : array (K,) or float
        Positive component standard deviations (isotropic).

    Attributes
    ----------
    weights, means, stds : the normalised parameters, shapes (K,), (K, d), (K,)
    dim : int, the dimension d
    """

    def __init__(self, weights, means, stds):
        w = np.array(weights, dtype=float)
        if w.ndim != 1 or w.size == 0:
            raise ValueError(f"weights must be a non-empty array of shape (K,), got shape {w.shape}")
        if not np.all(np.isfinite(w) & (w > 0)):
            raise ValueError(f"weights must be positive and finite (> 0), got {w}")
        K = w.size
        mu = np.array(means, dtype=float)
        if mu.ndim == 1 and mu.size == K:
            mu = mu[:, None]
        if mu.ndim != 2 or mu.shape[0] != K or mu.shape[1] < 1:
            raise ValueError(f"means must have shape (K, d) = ({K}, d) to match weights, got {np.shape(means)}")
        if not np.all(np.isfinite(mu)):
            raise ValueError("means must be finite")
        s = np.array(stds, dtype=float)
        if s.ndim == 0:
            s = np.full(K, float(s))
        if s.shape != (K,):
            raise ValueError(f"stds must have shape (K,) = ({K},) to match weights, got {s.shape}")
        if not np.all(np.isfinite(s) & (s > 0)):
            raise ValueError(f"stds must be positive and finite (> 0), got {s}")
        self.weights = w / w.sum()
        self.means = mu
        self.stds = s
        for arr in (self.weights, self.means, self.stds):
            arr.setflags(write=False)
        self._log_w = np.log(self.weights)

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def n_components(self) -> int:
        return self.weights.size

    def __repr__(self) -> str:
        return f"GaussianMixture(K={self.n_components}, dim={self.dim})"

    def _terms(self, x):
        x2, flat = _states(x, self.dim)
        log_joint, diff = _mixture_terms(x2, self._log_w, self.means, self.stds**2)
        return x2, flat, log_joint, diff

    def logpdf(self, x) -> np.ndarray:
        """``log p(x)``, shape (n,), for states x of shape (n, d)."""
        _, _, log_joint, _ = self._terms(x)
        return _logsumexp(log_joint)

    def responsibilities(self, x) -> np.ndarray:
        """Posterior component probabilities ``P(k | x)``, shape (n, K)."""
        _, _, log_joint, _ = self._terms(x)
        return np.exp(log_joint - _logsumexp(log_joint)[:, None])

    def score(self, x) -> np.ndarray:
        r"""``grad log p(x) = sum_k r_k(x) (mu_k - x)/s_k^2``, shape (n, d) (or (n,) for (n,) input)."""
        x2, flat = _states(x, self.dim)
        out = _shared_mixture_score(x2, self._log_w, self.means, self.stds**2)
        return out[:, 0] if flat else out

    def cdf(self, x) -> np.ndarray:
        r"""Cumulative distribution function ``F(x) = sum_k w_k Phi((x - mu_k)/s_k)``, d = 1 only.

        ``x`` of shape (n,) or (n, 1); returns shape (n,).
        """
        if self.dim != 1:
            raise ValueError(f"cdf is defined for d = 1 only, this mixture has dim = {self.dim}")
        from scipy.special import ndtr

        x2, _ = _states(x, 1)
        return ndtr((x2 - self.means[:, 0]) / self.stds) @ self.weights

    def score_divergence(self, x) -> np.ndarray:
        r"""Laplacian of ``log p``: ``div grad log p``, shape (n,).

        With ``u_k = (mu_k - x)/s_k^2`` and the score ``s = sum_k r_k u_k``,
        ``div s = sum_k r_k (|u_k|^2 - d/s_k^2) - |s|^2``.
        """
        x2, _, log_joint, diff = self._terms(x)
        resp = np.exp(log_joint - _logsumexp(log_joint)[:, None])
        u = diff / self.stds[:, None] ** 2
        s = np.einsum("nk,nkd->nd", resp, u)
        uu = np.einsum("nkd,nkd->nk", u, u)
        return np.sum(resp * (uu - self.dim / self.stds**2), axis=1) - np.sum(s * s, axis=1)

    def sample(self, n: int, rng=None) -> np.ndarray:
        """``n`` independent draws, shape (n, d)."""
        n = _count(n, "n", 0)
        gen = _rng(rng)
        k = gen.choice(self.n_components, size=n, p=self.weights)
        return self.means[k] + self.stds[k, None] * gen.standard_normal((n, self.dim))

    def component_of(self, x) -> np.ndarray:
        """Index of the most probable component for each state, shape (n,)."""
        _, _, log_joint, _ = self._terms(x)
        return np.argmax(log_joint, axis=1)


# --------------------------------------------------------------------------
# forward processes
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class VP:
    r"""Variance-preserving SDE ``dx = -beta(t)/2 x dt + sqrt(beta(t)) dW``, t in [0, 1].

    ``beta(t) = beta_min + t (beta_max - beta_min)`` (Song et al. 2021; the continuous limit
    of DDPM). With ``B(t) = int_0^t beta = beta_min t + (beta_max - beta_min) t^2/2``:
    ``x_t | x_0 ~ N(alpha(t) x_0, sigma(t)^2 I)``, ``alpha = exp(-B/2)``,
    ``sigma = sqrt(1 - alpha^2)``. Its stationary law is N(0, I).
    """

    beta_min: float = 0.1
    beta_max: float = 20.0

    def __post_init__(self):
        bmin = _positive(self.beta_min, "beta_min")
        bmax = _positive(self.beta_max, "beta_max")
        if bmax < bmin:
            raise ValueError(f"beta_max must be >= beta_min = {bmin}, got {bmax}")
        object.__setattr__(self, "beta_min", bmin)
        object.__setattr__(self, "beta_max", bmax)

    def beta(self, t):
        """Noise rate ``beta(t)``."""
        t = _times(t)
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def integrated_beta(self, t):
        """``B(t) = int_0^t beta(u) du``."""
        t = _times(t)
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t**2

    def alpha(self, t):
        """Signal scale: ``E[x_t | x_0] = alpha(t) x_0``."""
        return np.exp(-0.5 * self.integrated_beta(t))

    def sigma(self, t):
        """Noise scale: ``Var[x_t | x_0] = sigma(t)^2 I``, with ``alpha^2 + sigma^2 = 1``."""
        return np.sqrt(-np.expm1(-self.integrated_beta(t)))

    def drift(self, x, t):
        """``f(x, t) = -beta(t) x / 2``."""
        return -0.5 * self.beta(t) * np.asarray(x, dtype=float)

    def diffusion(self, t):
        """``g(t) = sqrt(beta(t))``."""
        return np.sqrt(self.beta(t))

    @property
    def prior_std(self) -> float:
        """Standard deviation of the reference law N(0, prior_std^2 I) used for x_1."""
        return 1.0


@dataclass(frozen=True)
class VE:
    r"""Variance-exploding SDE ``dx = sqrt(d schedule(t)^2/dt) dW``, t in [0, 1].

    ``schedule(t) = sigma_min (sigma_max/sigma_min)^t`` is the geometric schedule of Song et
    al. (2021). Without drift the variance grows at exactly the rate ``d schedule^2/dt``, so
    the noise added between 0 and t has variance ``schedule(t)^2 - sigma_min^2``:

    ``x_t | x_0 ~ N(x_0, sigma(t)^2 I)``, ``alpha(t) = 1``,
    ``sigma(t) = sqrt(schedule(t)^2 - sigma_min^2)``,

    the same contract as :class:`VP` (``sigma(0) = 0``). Song et al. regard the data as already
    blurred by ``sigma_min`` and call ``schedule(t)`` the noise level; here nothing is assumed
    about the data, and ``sigma(t)`` is always the transition's standard deviation.
    """

    sigma_min: float = 0.01
    sigma_max: float = 10.0

    def __post_init__(self):
        smin = _positive(self.sigma_min, "sigma_min")
        smax = _positive(self.sigma_max, "sigma_max")
        if smax <= smin:
            raise ValueError(f"sigma_max must be > sigma_min = {smin}, got {smax}")
        object.__setattr__(self, "sigma_min", smin)
        object.__setattr__(self, "sigma_max", smax)

    @property
    def _log_ratio(self) -> float:
        return math.log(self.sigma_max / self.sigma_min)

    def alpha(self, t):
        """Signal scale: 1 at every t."""
        return np.ones_like(_times(t))

    def schedule(self, t):
        """The geometric schedule ``sigma_min (sigma_max/sigma_min)^t`` (Song et al.'s sigma(t))."""
        return self.sigma_min * np.exp(_times(t) * self._log_ratio)

    def sigma(self, t):
        """Noise scale: ``Var[x_t | x_0] = sigma(t)^2 I``, ``sigma^2 = schedule^2 - sigma_min^2``."""
        return self.sigma_min * np.sqrt(np.expm1(2 * _times(t) * self._log_ratio))

    def drift(self, x, t):
        """``f = 0``."""
        _times(t)
        return np.zeros_like(np.asarray(x, dtype=float))

    def diffusion(self, t):
        """``g(t) = sqrt(d sigma^2/dt) = schedule(t) sqrt(2 log(sigma_max/sigma_min))``."""
        return self.schedule(t) * math.sqrt(2 * self._log_ratio)

    @property
    def prior_std(self) -> float:
        """Standard deviation of the reference law N(0, prior_std^2 I) used for x_1."""
        return float(self.sigma(1.0))


def _check_process(process) -> None:
    if not isinstance(process, (VP, VE)):
        raise ValueError(f"process must be lib.diffusion.VP or lib.diffusion.VE, got {type(process).__name__}")


def marginal(mix: GaussianMixture, process, t: float) -> GaussianMixture:
    r"""The noised density ``p_t`` of mixture data: again a Gaussian mixture.

    Component k becomes ``N(alpha mu_k, (alpha^2 s_k^2 + sigma(t)^2) I)`` with the same weight.
    """
    if not isinstance(mix, GaussianMixture):
        raise ValueError(f"mix must be a lib.diffusion.GaussianMixture, got {type(mix).__name__}")
    _check_process(process)
    t = _times(t)
    if t.ndim != 0:
        raise ValueError(f"t must be a single time in [0, 1], got an array of shape {t.shape}")
    a, k = float(process.alpha(t)), float(process.sigma(t))
    return GaussianMixture(mix.weights, a * mix.means, np.sqrt(a**2 * mix.stds**2 + k**2))


def exact_score(mix: GaussianMixture, process) -> Score:
    """The exact score ``grad log p_t(x)`` of noised mixture data, as ``score(x, t) -> (n, d)``.

    ``t`` is one time in [0, 1] or an array of shape (n,), one time per state.
    """
    if not isinstance(mix, GaussianMixture):
        raise ValueError(f"mix must be a lib.diffusion.GaussianMixture, got {type(mix).__name__}")
    _check_process(process)
    log_w, mu, s2 = mix._log_w, mix.means, mix.stds**2

    def score(x, t):
        x2, flat = _states(x, mix.dim)
        tt = _times(t)
        if tt.ndim == 0:
            a, k = float(process.alpha(tt)), float(process.sigma(tt))
            out = _mixture_score(x2, log_w, a * mu, a**2 * s2 + k**2)
        else:
            if tt.shape != (x2.shape[0],):
                raise ValueError(f"t must be one time or an array of shape ({x2.shape[0]},), got {tt.shape}")
            a, k = process.alpha(tt)[:, None], process.sigma(tt)[:, None]
            out = _mixture_score(x2, log_w, a[:, :, None] * mu, a**2 * s2 + k**2)
        return out[:, 0] if flat else out

    return score


def tweedie_denoiser(score: Score, process) -> Callable[[np.ndarray, float], np.ndarray]:
    r"""Tweedie's posterior mean ``E[x_0 | x_t] = (x_t + sigma(t)^2 grad log p_t(x_t)) / alpha(t)``."""
    _check_process(process)

    def denoise(x, t):
        x = np.asarray(x, dtype=float)
        tt = _times(t)
        a, k = process.alpha(tt), process.sigma(tt)
        if tt.ndim == 1:
            a, k = a[:, None], k[:, None]
        return (x + k**2 * _call_score(score, x, t)) / a

    return denoise


# --------------------------------------------------------------------------
# samplers
# --------------------------------------------------------------------------


def _call_score(score: Score, x: np.ndarray, t) -> np.ndarray:
    out = np.asarray(score(x, t), dtype=float)
    if out.shape != x.shape:
        raise ValueError(f"score(x, t) must return an array of the states' shape {x.shape}, got {out.shape}")
    return out


def _sampler_setup(score, process, x, n_steps, t_min, name="xT"):
    if not callable(score):
        raise ValueError(f"score must be a callable score(x, t) -> (n, d), got {type(score).__name__}")
    _check_process(process)
    n_steps = _count(n_steps, "n_steps", 1)
    t_min = float(t_min)
    if not (0 < t_min < 1):
        raise ValueError(f"t_min must lie in (0, 1), got {t_min}")
    arr = np.array(x, dtype=float)
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise ValueError(f"{name} must have shape (n, d) (or (n,) for d = 1), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (it contains inf or NaN)")
    times = np.linspace(1.0, t_min, n_steps + 1)
    return arr, n_steps, times


def _check_finite(x: np.ndarray, sampler: str, k: int, n_steps: int) -> None:
    if not np.all(np.isfinite(x)):
        raise DivergenceError(
            f"{sampler} diverged at step {k} of {n_steps} (states reached inf/NaN): the score is too "
            f"large for this step; use more steps (n_steps) or check the score"
        )


def reverse_sde(score: Score, process, xT, *, n_steps: int, rng=None, t_min: float = 1e-3,
                return_path: bool = False) -> np.ndarray:
    r"""Sample the reverse-time SDE (Anderson 1982) with Euler-Maruyama, from t = 1 to t_min.

    ``dx = [f(x, t) - g(t)^2 score(x, t)] dt + g(t) dW``, run backward in time on the uniform
    grid ``t_k = 1 - k (1 - t_min)/n_steps``; one step with ``h = (1 - t_min)/n_steps`` is
    ``x <- x - h [f - g^2 score] + g sqrt(h) xi``. With the exact score and ``xT ~ p_1`` the
    output is distributed as ``p_{t_min}`` up to the O(h) weak error of the scheme.

    Parameters
    ----------
    score : callable ``score(x, t) -> (n, d)``
    process : VP or VE
    xT : array (n, d) (or (n,) for d = 1), states at t = 1
    n_steps : int >= 1
    rng : int seed or numpy Generator
    t_min : float in (0, 1)
    return_path : bool
        If true, return every state: shape ``(n_steps + 1, *xT.shape)``, row k at time ``t_k``.

    Returns
    -------
    array of the shape of ``xT``: the states at ``t_min`` (or the path, see ``return_path``).
    """
    x, n_steps, times = _sampler_setup(score, process, xT, n_steps, t_min)
    gen = _rng(rng)
    h = (1.0 - times[-1]) / n_steps
    path = [x] if return_path else None
    # overflow is reported as a DivergenceError below, not as a warning
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n_steps):
            t = times[k]
            g = float(process.diffusion(t))
            noise = g * math.sqrt(h) * gen.standard_normal(x.shape)
            x = x - h * (process.drift(x, t) - g**2 * _call_score(score, x, t)) + noise
            _check_finite(x, "reverse_sde", k + 1, n_steps)
            if return_path:
                path.append(x)
    return np.stack(path) if return_path else x


def probability_flow(score: Score, process, xT, *, n_steps: int, t_min: float = 1e-3,
                     method: str = "heun", return_path: bool = False) -> np.ndarray:
    r"""Integrate the probability-flow ODE from t = 1 down to t_min.

    ``dx/dt = f(x, t) - g(t)^2 score(x, t) / 2`` has the same marginals ``p_t`` as the
    forward SDE (Song et al. 2021). ``method="euler"`` (first order, one score evaluation per
    step) or ``"heun"`` (second order, two), on the uniform grid of :func:`reverse_sde`.

    Returns the states at ``t_min``, in the shape of ``xT`` (with ``return_path=True``, every
    state: shape ``(n_steps + 1, *xT.shape)``, row k at time ``t_k``).
    """
    if method not in ("heun", "euler"):
        raise ValueError(f"method must be 'heun' or 'euler', got {method!r}")
    x, n_steps, times = _sampler_setup(score, process, xT, n_steps, t_min)

    def velocity(y, t):
        return process.drift(y, t) - 0.5 * float(process.diffusion(t)) ** 2 * _call_score(score, y, t)

    h = (1.0 - times[-1]) / n_steps
    path = [x] if return_path else None
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n_steps):
            v = velocity(x, times[k])
            if method == "euler":
                x = x - h * v
            else:
                x_pred = x - h * v
                _check_finite(x_pred, "probability_flow", k + 1, n_steps)
                x = x - 0.5 * h * (v + velocity(x_pred, times[k + 1]))
            _check_finite(x, "probability_flow", k + 1, n_steps)
            if return_path:
                path.append(x)
    return np.stack(path) if return_path else x


def annealed_langevin(score: Score, process, x_init, *, noise_levels, steps_per_level: int, rng=None,
                      step: float = 0.1) -> np.ndarray:
    r"""Annealed Langevin dynamics (Song & Ermon 2019) over decreasing noise levels.

    For each entry ``t_i`` of ``noise_levels`` in the given order (normally decreasing),
    ``steps_per_level`` unadjusted Langevin steps on ``p_{t_i}`` at temperature 1,
    ``x <- x + h_i score(x, t_i) + sqrt(2 h_i) xi``, with the step proportional to the
    level's noise variance, ``h_i = step * sigma(t_i)^2``: Song & Ermon's rule
    ``alpha_i = eps sigma_i^2/sigma_L^2``.

    Parameters
    ----------
    score : callable ``score(x, t) -> (n, d)``
    process : VP or VE
    x_init : array (n, d) (or (n,) for d = 1), the starting states
    noise_levels : 1-D sequence of **times** ``t_i`` in (0, 1] (not noise scales: the noise
        scale of level i is ``process.sigma(t_i)``; Song & Ermon's ``sigma_i``). The name is
        the one fixed by the course's API.
    steps_per_level : int >= 1
    rng : int seed or numpy Generator
    step : float > 0, the constant ``eps`` of the step rule (in units of ``sigma(t_i)^2``)

    Returns the final states, in the shape of ``x_init``. Unlike the reverse SDE this is not a
    time reversal: at each level it samples ``p_{t_i}`` only approximately (finitely many
    ULA steps, with the ULA bias of the step), so its output is biased for any finite number
    of steps.
    """
    if not callable(score):
        raise ValueError(f"score must be a callable score(x, t) -> (n, d), got {type(score).__name__}")
    _check_process(process)
    levels = _times(noise_levels, "noise_levels")
    if levels.ndim != 1 or levels.size == 0:
        raise ValueError(f"noise_levels must be a non-empty 1-D sequence of times in (0, 1], got shape {levels.shape}")
    if np.any(levels <= 0):
        raise ValueError("noise_levels must be times in (0, 1] (at t = 0 there is no noise to set the step)")
    steps_per_level = _count(steps_per_level, "steps_per_level", 1)
    step = _positive(step, "step")
    x = np.array(x_init, dtype=float)
    if x.ndim not in (1, 2) or not np.all(np.isfinite(x)):
        raise ValueError(f"x_init must be a finite array of shape (n, d) (or (n,)), got shape {x.shape}")
    gen = _rng(rng)
    with np.errstate(over="ignore", invalid="ignore"):
        for i, t in enumerate(levels):
            h = step * float(process.sigma(t)) ** 2
            for k in range(steps_per_level):
                kick = math.sqrt(2 * h) * gen.standard_normal(x.shape)
                x = x + h * _call_score(score, x, float(t)) + kick
                if not np.all(np.isfinite(x)):
                    raise DivergenceError(
                        f"annealed_langevin diverged at level {i} (t = {t:g}), step {k + 1}: the step "
                        f"h = {h:g} is too large for this score; use a smaller step")
    return x


def _drift_rate(process, t) -> float:
    """``f(t)`` in the linear drift ``f(x, t) = f(t) x``: ``-beta(t)/2`` (VP) or 0 (VE)."""
    return -0.5 * float(process.beta(t)) if isinstance(process, VP) else 0.0


def log_likelihood(mix: GaussianMixture, process, x0, *, n_steps: int = 100,
                   prior: str = "exact") -> np.ndarray:
    r"""``log p_0(x0)`` for mixture data, computed through the probability-flow ODE.

    Along a solution of ``dx/dt = v_t(x) = f(t) x - g(t)^2/2 grad log p_t(x)`` the
    log-density obeys the instantaneous change of variables
    ``d log p_t(x_t)/dt = -div v_t(x_t)``, so

    .. math:: \log p_0(x_0) = \log p_1(x_1) + \int_0^1 \nabla\cdot v_t(x_t)\,dt,
       \qquad \nabla\cdot v_t = d\,f(t) - \tfrac12 g(t)^2\,\Delta\log p_t .

    The score and its Laplacian are exact for the mixture (:func:`marginal`,
    :meth:`GaussianMixture.score_divergence`); x and the accumulated divergence are
    integrated together from t = 0 to 1 with ``n_steps`` classical Runge-Kutta (RK4) steps,
    so the error is O(n_steps^-4).

    Parameters
    ----------
    mix : GaussianMixture, the data p_0
    process : VP or VE
    x0 : array (n, d) (or (n,) for d = 1), the points
    n_steps : int >= 1
    prior : "exact" uses ``log p_1`` of the noised mixture; "gaussian" the reference
        ``N(0, prior_std^2 I)`` that a sampler starts from (the practical choice).

    Returns
    -------
    array (n,), the log-likelihoods.
    """
    if not isinstance(mix, GaussianMixture):
        raise ValueError(f"mix must be a lib.diffusion.GaussianMixture, got {type(mix).__name__}")
    _check_process(process)
    if prior not in ("exact", "gaussian"):
        raise ValueError(f"prior must be 'exact' or 'gaussian', got {prior!r}")
    n_steps = _count(n_steps, "n_steps", 1)
    x, _ = _states(x0, mix.dim, "x0")
    d = mix.dim

    def rhs(y, t):
        p_t, g2, f = marginal(mix, process, t), float(process.diffusion(t)) ** 2, _drift_rate(process, t)
        return f * y - 0.5 * g2 * p_t.score(y), d * f - 0.5 * g2 * p_t.score_divergence(y)

    change, h = np.zeros(x.shape[0]), 1.0 / n_steps
    for k in range(n_steps):
        t = k * h
        k1 = rhs(x, t)
        k2 = rhs(x + 0.5 * h * k1[0], t + 0.5 * h)
        k3 = rhs(x + 0.5 * h * k2[0], t + 0.5 * h)
        k4 = rhs(x + h * k3[0], min(t + h, 1.0))
        x = x + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        change = change + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    if prior == "exact":
        log_p1 = marginal(mix, process, 1.0).logpdf(x)
    else:
        s = process.prior_std
        log_p1 = -0.5 * np.sum(x * x, axis=1) / s**2 - 0.5 * d * math.log(2 * math.pi * s**2)
    return log_p1 + change


def dsm_constant(mix: GaussianMixture, process, t, *, n_hermite: int = 32) -> np.ndarray:
    r"""The minimum of the denoising score-matching loss at time t, by quadrature.

    For ``x_t = alpha x_0 + sigma eps`` the loss
    ``J_t(s) = E|sigma s(x_t, t) + eps|^2`` is minimised by the true score, with minimum

    .. math:: C_t = d - \sigma(t)^2\, \mathbb{E}_{p_t} |\nabla\log p_t|^2

    (the cross term is Tweedie's formula). For mixture data ``p_t`` is a mixture
    (:func:`marginal`), and the expectation is a weighted sum over its components, each
    computed with the ``n_hermite``-point Gauss-Hermite rule in every coordinate (a product
    rule of ``n_hermite^d`` nodes: meant for d <= 3). Exact for Gaussian data.

    Parameters
    ----------
    mix : GaussianMixture, the data p_0
    process : VP or VE
    t : float or 1-D array of times in (0, 1]
    n_hermite : int >= 2

    Returns
    -------
    array of the shape of ``t``: ``C_t``.
    """
    if not isinstance(mix, GaussianMixture):
        raise ValueError(f"mix must be a lib.diffusion.GaussianMixture, got {type(mix).__name__}")
    _check_process(process)
    n_hermite = _count(n_hermite, "n_hermite", 2)
    times = _times(t)
    if np.any(times <= 0):
        raise ValueError(f"t must lie in (0, 1]: sigma(0) = 0 leaves no noise to predict, got {t}")
    d = mix.dim
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_hermite)        # for N(0, 1)
    grid = np.stack(np.meshgrid(*[nodes] * d, indexing="ij"), axis=-1).reshape(-1, d)
    w_grid = np.prod(np.stack(np.meshgrid(*[weights] * d, indexing="ij"), axis=-1).reshape(-1, d),
                     axis=1) / weights.sum() ** d
    score = exact_score(mix, process)
    out = []
    for tt in np.atleast_1d(times):
        p_t = marginal(mix, process, float(tt))
        pts = (p_t.means[:, None, :] + p_t.stds[:, None, None] * grid).reshape(-1, d)
        sq = np.sum(score(pts, float(tt)) ** 2, axis=1).reshape(p_t.n_components, -1)
        out.append(d - float(process.sigma(tt)) ** 2 * float(p_t.weights @ (sq @ w_grid)))
    return np.asarray(out).reshape(times.shape)


# --------------------------------------------------------------------------
# checking samples of a mixture: the width of its components
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class WidthTest:
    r"""Result of :func:`width_test`.

    Attributes
    ----------
    statistic : float, ``S = sum_i |x_i - mu_{k(i)}|^2 / s_{k(i)}^2``
    dof : int, ``n d``; under the null hypothesis ``S ~ chi^2_{n d}``
    scale : float, ``sqrt(S / (n d))``, the estimated ratio of the sample's component
        width to the mixture's (1 under the null hypothesis)
    z : float, ``(S - n d) / sqrt(2 n d)``
    p_value, level : float, two-sided; ``level`` is the false-alarm rate
    passed : bool
    """

    statistic: float
    dof: int
    scale: float
    z: float
    p_value: float
    level: float
    passed: bool

    def __str__(self) -> str:
        verdict = "consistent" if self.passed else "REJECTED"
        return (f"width ratio {self.scale:.4f} (z = {self.z:+.2f}, p = {self.p_value:.3g}, "
                f"level {self.level:g}): {verdict}")


def _width_bounds(dof: int, level: float) -> tuple[float, float]:
    from scipy.stats import chi2

    if not (0 < level < 1):
        raise ValueError(f"level must lie in (0, 1), got {level}")
    return float(chi2.ppf(level / 2, dof)), float(chi2.isf(level / 2, dof))


def width_test(x, mix: GaussianMixture, *, level: float = 0.001) -> WidthTest:
    r"""Are the components of a sample as wide as those of ``mix``? An exact chi-square test.

    Each point is assigned to its most probable component ``k(i)``
    (:meth:`GaussianMixture.component_of`). For a sample of ``mix`` whose components are
    well separated (so that assignments are right up to a negligible probability),
    ``|x_i - mu_k|^2 / s_k^2`` is :math:`\chi^2_d` for each point and the sum
    :math:`S` over ``n`` independent points is exactly :math:`\chi^2_{nd}`. The two-sided
    test rejects in either tail at total probability ``level``. It is a moment test
    of the second moment within a component: a sampler that blurs or sharpens the
    components changes ``S`` by the square of the width ratio (power:
    :func:`width_test_power`), while errors in the weights leave it unchanged.

    Parameters
    ----------
    x : array (n, d) (or (n,) for d = 1), independent draws
    mix : GaussianMixture, the hypothesised law
    level : float in (0, 1), the false-alarm rate

    Returns
    -------
    WidthTest
    """
    from scipy.stats import chi2

    if not isinstance(mix, GaussianMixture):
        raise ValueError(f"mix must be a lib.diffusion.GaussianMixture, got {type(mix).__name__}")
    x2, _ = _states(x, mix.dim)
    n, d = x2.shape
    if n < 1:
        raise ValueError("x must hold at least one state")
    lo, hi = _width_bounds(n * d, level)
    k = mix.component_of(x2)
    stat = float(np.sum((x2 - mix.means[k]) ** 2 / mix.stds[k, None] ** 2))
    dof = n * d
    p = 2 * min(float(chi2.cdf(stat, dof)), float(chi2.sf(stat, dof)))
    return WidthTest(stat, dof, math.sqrt(stat / dof), (stat - dof) / math.sqrt(2 * dof),
                     min(p, 1.0), level, bool(lo <= stat <= hi))


def width_test_power(scale, n: int, d: int, *, level: float = 0.001) -> np.ndarray:
    r"""Power of :func:`width_test` when every component is ``scale`` times as wide.

    Then ``S / scale^2 ~ chi^2_{n d}`` exactly, so the power is
    ``F(lo / scale^2) + 1 - F(hi / scale^2)`` with ``F`` the :math:`\chi^2_{nd}` CDF and
    ``lo, hi`` the test's bounds; ``scale = 1`` gives ``level``. ``scale`` may be an array.
    """
    from scipy.stats import chi2

    n, d = _count(n, "n", 1), _count(d, "d", 1)
    lo, hi = _width_bounds(n * d, level)
    c2 = np.asarray(scale, dtype=float) ** 2
    if np.any(~np.isfinite(c2) | (c2 <= 0)):
        raise ValueError(f"scale must be positive, got {scale}")
    return chi2.cdf(lo / c2, n * d) + chi2.sf(hi / c2, n * d)


# --------------------------------------------------------------------------
# learning the score: denoising score matching, linear in fixed features
# --------------------------------------------------------------------------


def _log_snr(process, t):
    """``lambda(t) = log(alpha^2 / sigma^2)``, the log signal-to-noise ratio."""
    return 2.0 * (np.log(process.alpha(t)) - np.log(process.sigma(t)))


@dataclass(frozen=True)
class ScoreModel:
    r"""A learned score ``model(x, t) = -eps_hat(x, t) / sigma(t)``, for t in ``[t_min, 1]``.

    The noise predictor is linear in fixed features, with coefficients that vary linearly
    in the log signal-to-noise ratio ``lambda(t) = log(alpha^2/sigma^2)``:

    .. math:: \hat\epsilon(x, t) = \sum_m h_m(\lambda(t))\, \phi(x, t)\, C_m ,

    where ``h_m`` are the hat functions (piecewise-linear interpolation) on the nodes
    ``lambda_1 < ... < lambda_B`` and ``phi(x, t) = (r_1, ..., r_M, x, (sigma/w) x)`` has
    ``M + 2 d`` entries. ``r_j`` is a soft assignment of x to M centres ``c_j`` (training
    points): ``r_j = softmax_j(-|x - alpha c_j|^2 / (2 w^2))`` with
    ``w(t)^2 = alpha^2 l_0^2 + sigma^2``, the posterior probability that ``x_t`` came from
    centre j if the data were the centres blurred by ``l_0`` (the same formula as the
    responsibilities of a noised Gaussian mixture, so the features sharpen as the noise
    falls). Call the model as ``model(x, t) -> (n, d)`` with one time or one time per state;
    a time outside ``[t_min, 1]`` raises ValueError (the model was not trained there).

    Attributes
    ----------
    process : VP or VE
    centres : (M, d); length_scale : float, l_0
    nodes : (B,), the log-SNR nodes, increasing; coef : (B, M + 2 d, d)
    t_min : float, smallest training time
    train_loss : float, the DSM loss ``mean |eps_hat - eps|^2`` on the training draws
    n_train : int, number of (x_0, t, eps) training triples
    seconds : float, wall time of the fit
    """

    process: object
    centres: np.ndarray
    length_scale: float
    nodes: np.ndarray
    coef: np.ndarray
    t_min: float
    train_loss: float
    n_train: int
    seconds: float

    @property
    def dim(self) -> int:
        return self.centres.shape[1]

    def _checked(self, x, t):
        x2, flat = _states(x, self.dim)
        tt = _times(t)
        if tt.ndim > 1 or (tt.ndim == 1 and tt.shape != (x2.shape[0],)):
            raise ValueError(f"t must be one time or an array of shape ({x2.shape[0]},), got {tt.shape}")
        if np.any(tt < self.t_min * (1 - 1e-12)):
            raise ValueError(f"t must lie in the model's training range [t_min, 1] = [{self.t_min:g}, 1], "
                             f"got {np.min(tt):g}")
        return x2, flat, tt

    def features(self, x, t) -> np.ndarray:
        """The feature matrix ``phi(x, t)``, shape (n, M + 2 d)."""
        x2, _, tt = self._checked(x, t)
        return _soft_features(x2, np.broadcast_to(tt, (x2.shape[0],)), self.process, self.centres,
                              self.length_scale)

    def predict_noise(self, x, t) -> np.ndarray:
        """``eps_hat(x, t)``, the predicted noise (shape of x)."""
        x2, flat, tt = self._checked(x, t)
        phi = _soft_features(x2, np.broadcast_to(tt, (x2.shape[0],)), self.process, self.centres,
                             self.length_scale)
        b, h = _hat_weights(self.nodes, _log_snr(self.process, tt))
        if tt.ndim == 0:
            out = (1 - h) * (phi @ self.coef[b]) + h * (phi @ self.coef[b + 1])
        else:
            out = (np.einsum("np,npd->nd", phi * (1 - h)[:, None], self.coef[b])
                   + np.einsum("np,npd->nd", phi * h[:, None], self.coef[b + 1]))
        return out[:, 0] if flat else out

    def __call__(self, x, t) -> np.ndarray:
        eps = self.predict_noise(x, t)
        tt = _times(t)
        k = self.process.sigma(tt)
        if tt.ndim == 1 and eps.ndim == 2:
            k = k[:, None]
        return -eps / k


def _soft_features(x, t, process, centres, length_scale):
    a, k = process.alpha(t), process.sigma(t)
    w2 = a**2 * length_scale**2 + k**2
    sq = (np.sum(x * x, axis=1)[:, None] - 2.0 * a[:, None] * (x @ centres.T)
          + a[:, None] ** 2 * np.sum(centres * centres, axis=1))
    logits = -0.5 * sq / w2[:, None]
    logits -= np.max(logits, axis=1, keepdims=True)
    r = np.exp(logits)
    r /= np.sum(r, axis=1, keepdims=True)
    return np.concatenate([r, x, (k / np.sqrt(w2))[:, None] * x], axis=1)


def _hat_weights(nodes, lam):
    """Interval index b and weight h of node b + 1 for linear interpolation at ``lam``."""
    b = np.clip(np.searchsorted(nodes, lam) - 1, 0, nodes.size - 2)
    h = np.clip((lam - nodes[b]) / (nodes[b + 1] - nodes[b]), 0.0, 1.0)
    return b, h


def fit_score(samples, process, *, rng=None, n_centres: int = 128, n_nodes: int = 5,
              noise_draws: int = 10, length_scale: float | None = None, ridge: float = 1e-5,
              log_fraction: float = 0.5, t_min: float = 1e-3) -> ScoreModel:
    r"""Learn ``grad log p_t`` from data by denoising score matching (Vincent 2011).

    Each training point gets ``noise_draws`` pairs ``(t, eps)``, ``eps ~ N(0, I)`` and
    ``x_t = alpha(t) x_0 + sigma(t) eps``; ``t`` is uniform on ``[t_min, 1]`` for a fraction
    ``1 - log_fraction`` of the draws and log-uniform for the rest (more draws at small noise,
    where the regression target is mostly noise). The loss

    .. math:: J = \mathbb{E}\, \| \sigma(t)\, \mathrm{model}(x_t, t) + \epsilon \|^2
       = \mathbb{E}\, \| \hat\epsilon(x_t, t) - \epsilon \|^2

    (weighting ``lambda(t) = sigma(t)^2``) is linear least squares in the coefficients of
    ``eps_hat`` (:class:`ScoreModel`), so the fit is one ridge-regularised solve of the normal
    equations: no iterations, no learning rate. Over all functions its minimiser is
    ``eps_hat = -sigma(t) grad log p_t``, the true score. Each draw involves only the two
    nodes around its ``lambda(t)``, so the Gram matrix is block-tridiagonal and costs
    ``N (2 P)^2`` for N draws and ``P = M + 2 d`` features per node.

    Parameters
    ----------
    samples : array (n, d) (or (n,)): the training data x_0
    process : VP or VE
    rng : seed or Generator (centres, times and noise)
    n_centres : number M of centres, drawn without replacement from the training points
    n_nodes : number B >= 2 of log-SNR nodes, evenly spaced from lambda(1) to lambda(t_min)
    noise_draws : (t, eps) draws per training point
    length_scale : l_0 (default: 0.1 times the RMS distance of the data from their mean)
    ridge : Tikhonov parameter, relative to the mean diagonal of the Gram matrix
    log_fraction : fraction of the times drawn log-uniformly, in [0, 1]
    t_min : smallest training time, in (0, 1); the model refuses smaller times
    """
    x0, _ = _states(samples, None, "samples")
    _check_process(process)
    gen = _rng(rng)
    n, d = x0.shape
    n_centres = _count(n_centres, "n_centres", 1)
    if n_centres > n:
        raise ValueError(f"n_centres must be <= the number of samples {n}, got {n_centres}")
    n_nodes = _count(n_nodes, "n_nodes", 2)
    noise_draws = _count(noise_draws, "noise_draws", 1)
    ridge = _positive(ridge, "ridge")
    log_fraction = float(log_fraction)
    if not (0 <= log_fraction <= 1):
        raise ValueError(f"log_fraction must lie in [0, 1], got {log_fraction}")
    t_min = float(t_min)
    if not (0 < t_min < 1):
        raise ValueError(f"t_min must lie in (0, 1), got {t_min}")
    if length_scale is None:
        length_scale = 0.1 * float(np.sqrt(np.mean(np.sum((x0 - x0.mean(0)) ** 2, axis=1))))
    length_scale = _positive(length_scale, "length_scale")
    start = time.perf_counter()
    centres = x0[gen.choice(n, size=n_centres, replace=False)]
    nodes = np.linspace(float(_log_snr(process, 1.0)), float(_log_snr(process, t_min)), n_nodes)
    x_rep = np.repeat(x0, noise_draws, axis=0)
    t = gen.uniform(t_min, 1.0, x_rep.shape[0])
    use_log = gen.random(t.size) < log_fraction
    t[use_log] = t_min ** (1.0 - gen.random(int(use_log.sum())))
    eps = gen.standard_normal(x_rep.shape)
    xt = process.alpha(t)[:, None] * x_rep + process.sigma(t)[:, None] * eps
    phi = _soft_features(xt, t, process, centres, length_scale)
    b, h = _hat_weights(nodes, _log_snr(process, t))
    p = phi.shape[1]
    gram = np.zeros((n_nodes * p, n_nodes * p))
    rhs = np.zeros((n_nodes * p, d))
    for i in range(n_nodes - 1):
        rows = b == i
        if not np.any(rows):
            continue
        both = np.concatenate([phi[rows] * (1 - h[rows])[:, None], phi[rows] * h[rows][:, None]], axis=1)
        block = slice(i * p, (i + 2) * p)
        gram[block, block] += both.T @ both
        rhs[block] += both.T @ eps[rows]
    lam = ridge * np.trace(gram) / gram.shape[0]
    coef = np.linalg.solve(gram + lam * np.eye(gram.shape[0]), rhs)
    if not np.all(np.isfinite(coef)):
        raise DivergenceError("fit_score: the ridge solve produced inf/NaN; increase ridge")
    coef = coef.reshape(n_nodes, p, d)
    fitted = (np.einsum("np,npd->nd", phi * (1 - h)[:, None], coef[b])
              + np.einsum("np,npd->nd", phi * h[:, None], coef[b + 1]))
    loss = float(np.mean(np.sum((fitted - eps) ** 2, axis=1)))
    return ScoreModel(process, centres, length_scale, nodes, coef, t_min, loss, x_rep.shape[0],
                      time.perf_counter() - start)
