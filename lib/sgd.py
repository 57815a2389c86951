r"""Stochastic gradient descent on finite-sum losses, as a Markov chain (chapter 6).

The problem is least squares with ``N`` data points ``(x_i, y_i)``, ``x_i`` in ``R^d``:

.. math:: L(\theta) = \frac{1}{2N}\sum_{i=1}^N (x_i\cdot\theta - y_i)^2,
          \qquad g_i(\theta) = x_i\,(x_i\cdot\theta - y_i),

with Hessian ``H = X^T X / N`` and minimizer ``theta*``. One SGD step with learning
rate ``eta`` and a minibatch ``I`` of ``B`` indices (uniform, with or without
replacement) is

.. math:: \theta \leftarrow \theta - \eta\,\frac1B\sum_{i\in I} g_i(\theta)
          \;(+\sqrt{2T\eta}\,\xi \text{ for SGLD}).

Writing ``u = theta - theta*``, ``g_i = M_i u + x_i r_i`` with ``M_i = x_i x_i^T``
and the residuals ``r_i = x_i . theta* - y_i``, so ``u' = (I - eta A_B) u - eta b_B``:
the minibatch Hessian ``A_B`` varies from step to step (multiplicative noise) and
``b_B`` is additive noise. ``C`` is the covariance of ONE per-sample gradient at the
minimizer (population covariance, divided by ``N``); the minibatch gradient's noise
covariance is ``C/B`` with replacement and ``C/B (N-B)/(N-1)`` without.

Public API (COURSE.md): :class:`LeastSquares`, :func:`sgd`,
:func:`stationary_covariance` (exact, discrete time), :func:`lyapunov_covariance`.
Further tools of chapter 6: :func:`lag_covariance`, :func:`second_moment_operator`,
:func:`moment_radius`, :func:`max_stable_lr`, :func:`tail_index`,
:func:`sgd_reshuffled`, and for 1-D losses with Gaussian, state-dependent gradient
noise :func:`noisy_gd`, :func:`first_passage_steps` and :func:`transition_matrix` (the
step as a Markov matrix on a grid). The grid tools that work on that matrix, and those
for the small-``eta`` Ito SDE ``d theta = -L' dt + sqrt(eta V) dW`` (stationary density,
mean first-passage time, spectral gap), are numerical Fokker-Planck tools and live in
:mod:`lib.fokker_planck`: ``from lib.fokker_planck import kernel_stationary_density,
kernel_first_passage, kernel_relaxation, ito_stationary_density, ito_first_passage_time,
ito_generator_matrix, spectral_gap``.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable

import numpy as np

from ._validate import _callable, _count, _nonnegative, _positive, _rng
from .fokker_planck import gaussian_transition_matrix
from .samplers import Chain, DivergenceError

__all__ = [
    "LeastSquares",
    "sgd",
    "stationary_covariance",
    "lyapunov_covariance",
    "lag_covariance",
    "second_moment_operator",
    "moment_radius",
    "max_stable_lr",
    "tail_index",
    "sgd_reshuffled",
    "noisy_gd",
    "first_passage_steps",
    "transition_matrix",
    "nystrom_grid",
    "burn_in_steps",
    "reshuffling_mean",
]


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


def _batch_size(problem: "LeastSquares", batch_size, replace: bool) -> int:
    """``B`` as an int: ``B >= 1`` with replacement (a batch may repeat points, so ``B > N``
    is allowed and meaningful), ``1 <= B <= N`` without."""
    if not isinstance(replace, (bool, np.bool_)):
        raise ValueError(f"replace must be True or False, got {replace!r}")
    if replace:
        return _count(batch_size, "batch_size", 1)
    try:
        return _count(batch_size, "batch_size", 1, problem.n)
    except ValueError as err:
        raise ValueError(f"{err} (minibatches of the N = {problem.n} data points drawn without "
                         "replacement must have 1 <= batch_size <= N)") from None


def _problem(problem) -> "LeastSquares":
    if not isinstance(problem, LeastSquares):
        raise ValueError(f"problem must be a lib.sgd.LeastSquares, got {type(problem).__name__}")
    return problem


# --------------------------------------------------------------------------
# the finite-sum problem
# --------------------------------------------------------------------------


class LeastSquares:
    r"""The finite-sum least-squares loss ``L(theta) = 1/(2N) sum_i (x_i . theta - y_i)^2``.

    Parameters
    ----------
    X : array, shape (N, d)
        Inputs, one row per data point; must have full column rank (so ``H`` is
        invertible and the minimizer unique). A 1-D array is read as ``d = 1``.
    y : array, shape (N,)
        Targets.

    Attributes
    ----------
    n : int
        ``N``, the number of data points.
    dim : int
        ``d``, the number of parameters.
    hessian : ndarray, shape (d, d)
        ``H = X^T X / N`` (the same at every ``theta``).
    minimizer : ndarray, shape (d,)
        ``theta* = H^{-1} X^T y / N``.
    residuals : ndarray, shape (N,)
        ``r_i = x_i . theta* - y_i``; ``sum_i x_i r_i = 0``.

    States ``theta`` are arrays of shape ``(d,)`` (one state) or ``(n_chains, d)``;
    when ``d == 1`` also ``(n_chains,)`` (a batch of scalar states) or a scalar.
    """

    def __init__(self, X, y):
        X = np.array(X, dtype=float)
        y = np.array(y, dtype=float)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2:
            raise ValueError(f"X must have shape (N, d), got {X.shape}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape (N,) = ({X.shape[0]},) to match X of shape {X.shape}, "
                             f"got {y.shape}")
        if X.shape[0] < 2:
            raise ValueError(f"need at least N = 2 data points, got {X.shape[0]}")
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            raise ValueError("X and y must be finite (they contain inf or NaN)")
        if np.linalg.matrix_rank(X) < X.shape[1]:
            raise ValueError(f"X must have full column rank {X.shape[1]} (the Hessian X^T X / N is "
                             "singular and the minimizer is not unique)")
        X.flags.writeable = False
        y.flags.writeable = False
        self._X, self._y = X, y
        N, d = X.shape
        self._H = X.T @ X / N
        self._theta_star = np.linalg.solve(self._H, X.T @ y / N)
        self._r = X @ self._theta_star - y
        for arr in (self._H, self._theta_star, self._r):
            arr.flags.writeable = False
        self._fourth = None
        self._tables: dict[int, np.ndarray] = {}

    # -- basic attributes ---------------------------------------------------
    @property
    def X(self) -> np.ndarray:
        return self._X

    @property
    def y(self) -> np.ndarray:
        return self._y

    @property
    def n(self) -> int:
        return self._X.shape[0]

    @property
    def dim(self) -> int:
        return self._X.shape[1]

    @property
    def hessian(self) -> np.ndarray:
        return self._H

    @property
    def minimizer(self) -> np.ndarray:
        return self._theta_star

    @property
    def residuals(self) -> np.ndarray:
        return self._r

    def __repr__(self) -> str:
        return f"LeastSquares(N={self.n}, d={self.dim})"

    # -- states ---------------------------------------------------------------
    def _states(self, theta, name: str = "theta") -> tuple[np.ndarray, tuple]:
        """Return ``(theta as (m, d), shape to give results)``."""
        t = np.asarray(theta, dtype=float)
        d = self.dim
        if d == 1 and t.ndim <= 1:
            return t.reshape(-1, 1), t.shape
        if t.shape == (d,):
            return t[None, :], ()
        if t.ndim == 2 and t.shape[1] == d:
            return t, (t.shape[0],)
        allowed = "(d,) or (n_chains, d)" + (", (n_chains,) or a scalar" if d == 1 else "")
        raise ValueError(f"{name} must have shape {allowed} with d = {d}, got {t.shape}")

    def loss(self, theta) -> np.ndarray:
        """``L(theta)``: a float for one state, shape ``(n_chains,)`` for a batch."""
        t, shape = self._states(theta)
        res = t @ self._X.T - self._y            # (m, N)
        out = 0.5 * np.mean(res**2, axis=1)
        return out.reshape(shape) if shape else float(out[0])

    def grad(self, theta) -> np.ndarray:
        """``grad L(theta) = H theta - X^T y / N``, the same shape as ``theta``."""
        t, shape = self._states(theta)
        g = (t - self._theta_star) @ self._H      # H symmetric
        return g.reshape(np.shape(theta)) if np.ndim(theta) else float(g[0, 0])

    def per_sample_grads(self, theta) -> np.ndarray:
        """``g_i(theta) = x_i (x_i . theta - y_i)``: shape ``(N, d)`` for one state,
        ``(n_chains, N, d)`` for a batch. Their mean is :meth:`grad`."""
        t, shape = self._states(theta)
        res = t @ self._X.T - self._y                       # (m, N)
        g = res[:, :, None] * self._X[None, :, :]           # (m, N, d)
        return g[0] if shape == () else g

    per_sample_gradients = per_sample_grads

    def noise_covariance(self, theta=None) -> np.ndarray:
        r"""Covariance of ONE per-sample gradient, ``C = 1/N sum_i (g_i - g)(g_i - g)^T``.

        At the minimizer (the default) the mean gradient is zero and
        ``C = 1/N sum_i r_i^2 x_i x_i^T``. A minibatch of ``B`` indices drawn with
        replacement has gradient-noise covariance ``C / B``; without replacement
        ``C / B (N - B) / (N - 1)``.

        Parameters
        ----------
        theta : array, shape (d,), optional
            Where to evaluate (default: ``minimizer``). Away from the minimizer ``C``
            grows quadratically in ``theta - theta*`` (state-dependent noise).

        Returns
        -------
        ndarray, shape (d, d)
        """
        if theta is None:
            theta = self._theta_star
        t = np.asarray(theta, dtype=float)
        if t.size != self.dim:
            raise ValueError(f"theta must be one state of shape ({self.dim},), got {t.shape}")
        res = self._X @ t.reshape(self.dim) - self._y
        g = res[:, None] * self._X                              # (N, d)
        dev = g - g.mean(axis=0)
        return dev.T @ dev / self.n

    # -- what the exact moment equations need ---------------------------------
    def _fourth_moment(self) -> np.ndarray:
        """``K[(a,b),(c,e)] = 1/N sum_i x_ia x_ib x_ic x_ie``, the operator ``S -> E[M S M]``."""
        if self._fourth is None:
            X = self._X
            d = self.dim
            outer = (X[:, :, None] * X[:, None, :]).reshape(self.n, d * d)
            self._fourth = outer.T @ outer / self.n
        return self._fourth

    def _table(self, k: int) -> np.ndarray:
        """Sufficient statistics of the gradient, summed over all ``N^k`` ordered ``k``-tuples.

        Row layout (``n_stats`` rows): the upper triangle of ``x x^T`` (row-major), then ``x y``.
        The gradient of a minibatch is ``A theta - c`` with ``A`` and ``c`` the means of
        these rows over the batch.
        """
        if k not in self._tables:
            X, y = self._X, self._y
            iu = np.triu_indices(self.dim)
            base = np.concatenate([(X[:, iu[0]] * X[:, iu[1]]).T, (X * y[:, None]).T])   # (s, N)
            table = base
            for _ in range(k - 1):
                table = (table[:, :, None] + base[:, None, :]).reshape(base.shape[0], -1)
            self._tables[k] = np.ascontiguousarray(table)
        return self._tables[k]


# --------------------------------------------------------------------------
# SGD, vectorised over chains
# --------------------------------------------------------------------------

# Chains are moved block by block so the block's temporaries stay in the CPU cache.
_BLOCK = 4096
# Tuples of k data points are pre-summed when the table of N^k tuples is this small:
# one random index then stands for k independent draws (fewer draws and gathers).
_TABLE_ENTRIES = 4096


def _distinct_rows(gen: np.random.Generator, N: int, B: int, m: int) -> np.ndarray:
    """``m`` uniformly random ordered ``B``-tuples of distinct indices in ``[0, N)``, shape (m, B)."""
    p_distinct = math.prod(1 - j / N for j in range(B))
    if p_distinct < 0.2:
        # random keys: the B smallest of N uniform keys form a uniform random subset
        # (in chunks of rows, so that the keys never need more than ~32 MB)
        rows = max(1, (1 << 22) // N)
        out = np.empty((m, B), dtype=np.intp)
        for lo in range(0, m, rows):
            keys = gen.random((min(rows, m - lo), N))
            out[lo:lo + rows] = np.argpartition(keys, B - 1, axis=1)[:, :B]
        return out
    # Conditioning iid draws on being distinct gives a uniform distinct tuple: redraw the
    # rows with a repeat (a geometric number of rounds, each on fewer rows).
    idx = gen.integers(0, N, size=(m, B))
    todo = np.arange(m)
    while todo.size:
        s = np.sort(idx[todo], axis=1)
        todo = todo[np.any(s[:, 1:] == s[:, :-1], axis=1)]
        if todo.size:
            idx[todo] = gen.integers(0, N, size=(todo.size, B))
    return idx


def _tuple_masks(N: int, k: int) -> np.ndarray:
    """Bit mask (``1 << i`` summed over the distinct members) of every ordered ``k``-tuple of
    ``[0, N)``, in the order of :meth:`LeastSquares._table`; needs ``N <= 64``."""
    bits = np.uint64(1) << np.arange(N, dtype=np.uint64)
    masks = bits
    for _ in range(k - 1):
        masks = (masks[:, None] | bits[None, :]).ravel()
    return masks


class _DistinctBatches:
    """Uniform random ordered ``B``-tuples of distinct points, one per chain, for one step.

    Independent uniform draws are kept when all ``B`` points are distinct (the OR of
    their bit masks has ``B`` bits): conditioned on that, a draw is uniform over the
    distinct tuples. Candidates are drawn in bulk and the first ``m`` accepted ones are
    used (they are independent and identically distributed, so which chain gets which
    does not matter); the rare shortfall is drawn again. Needs ``N <= 64``.

    When ``N`` is a power of two and the ``B`` indices fit in 64 bits, a candidate is one
    raw 64-bit word of the bit generator, ``b = log2 N`` bits per point: exactly uniform,
    several times cheaper than ``gen.integers``, and only one array to compress.
    Drawn block by block, so that the candidates stay in the CPU cache.
    """

    def __init__(self, N: int, B: int, k: int):
        self.N, self.B, self.k = N, B, k
        self.n_groups, self.rest = divmod(B, k)
        self.p_accept = math.prod(1 - j / N for j in range(B))
        self.masks_k, self.masks_1 = _tuple_masks(N, k), _tuple_masks(N, 1)
        b = N.bit_length() - 1
        self.bits = b if (N == 1 << b and b * B <= 64) else 0

    def draw(self, gen: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
        """``m`` tuples: indices into the ``k``-tuple table, shape (B // k, m), and into the
        single-point table, shape (B % k, m)."""
        N, B, k = self.N, self.B, self.k
        parts_k, parts_1, have = [], [], 0
        while have < m:
            size = int((m - have) / self.p_accept * 1.05) + 64
            if self.bits:
                ii, jj = self._fields(gen.bit_generator.random_raw(size).view(np.int64))
            else:
                ii = gen.integers(0, N**k, size=(self.n_groups, size))
                jj = gen.integers(0, N, size=(self.rest, size))
            acc = self.masks_k.take(ii[0])
            for g in range(1, self.n_groups):
                acc |= self.masks_k.take(ii[g])
            for r in range(self.rest):
                acc |= self.masks_1.take(jj[r])
            ok = np.flatnonzero(np.bitwise_count(acc) == B)[:m - have]
            parts_k.append(ii[:, ok])
            parts_1.append(jj[:, ok])
            have += ok.size
        if len(parts_k) == 1:
            return parts_k[0], parts_1[0]
        return np.concatenate(parts_k, axis=1), np.concatenate(parts_1, axis=1)

    def _fields(self, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b, k, size = self.bits, self.k, words.size
        ii = np.empty((self.n_groups, size), np.int64)
        jj = np.empty((self.rest, size), np.int64)
        for g in range(self.n_groups):
            np.bitwise_and(words >> (b * k * g), self.N**k - 1, out=ii[g])
        base = b * k * self.n_groups
        for r in range(self.rest):
            np.bitwise_and(words >> (base + b * r), self.N - 1, out=jj[r])
        return ii, jj


def _states0(problem: LeastSquares, theta0) -> tuple[np.ndarray, tuple]:
    t = np.array(theta0, dtype=float)
    d = problem.dim
    if d == 1 and t.ndim == 1:
        shape = t.shape
        t = t[:, None]
    elif t.ndim == 2 and t.shape[1] == d:
        shape = t.shape
    else:
        allowed = f"(n_chains, {d})" + (" or (n_chains,)" if d == 1 else "")
        raise ValueError(f"theta0 must have shape {allowed} for this problem with d = {d}, got {t.shape}")
    if t.shape[0] < 1:
        raise ValueError("theta0 must hold at least one chain")
    if not np.all(np.isfinite(t)):
        raise ValueError("theta0 must be finite (it contains inf or NaN)")
    return t, shape


def _slots(d: int) -> tuple[dict, int]:
    """Row of ``x_a x_b`` in :meth:`LeastSquares._table`, and the number of such rows."""
    iu = np.triu_indices(d)
    slot = {}
    for s, (a, b) in enumerate(zip(*iu)):
        slot[a, b] = slot[b, a] = s
    return slot, len(iu[0])


def _gradient_sum(stats: list, th: np.ndarray, slot: dict, n_quad: int) -> np.ndarray:
    """``A theta - c`` per chain from the batch sums of the table rows; ``th`` is (d, m)."""
    d, m = th.shape
    g = np.empty((d, m))
    for a in range(d):
        acc = stats[slot[a, 0]] * th[0]
        for b in range(1, d):
            acc += stats[slot[a, b]] * th[b]
        acc -= stats[n_quad + a]
        g[a] = acc
    return g


def _sgd_diverged(problem, theta, step, eta, B, replace) -> DivergenceError:
    size = np.abs(theta).max(axis=0)
    bad = ~np.isfinite(size)
    chain = int(np.argmax(bad)) if bad.any() else int(np.argmax(size))
    bound = max_stable_lr(problem, batch_size=B, replace=replace)
    return DivergenceError(
        f"sgd diverged at step {step} (chain {chain} ran off to inf/NaN): lr={eta:g} is too large for "
        f"this problem (stationary second moments need lr < {bound:.4g}); use a smaller lr")


def sgd(
    problem: LeastSquares,
    theta0,
    *,
    lr: float,
    batch_size: int,
    n_steps: int,
    rng: int | np.random.Generator | None = None,
    replace: bool = True,
    burn_in: int = 0,
    thin: int = 1,
    temperature: float = 0.0,
) -> Chain:
    r"""Minibatch SGD on a :class:`LeastSquares` problem, many independent chains at once.

    .. math:: \theta_{k+1} = \theta_k - \frac{\eta}{B}\sum_{i\in I_k} x_i(x_i\cdot\theta_k - y_i)
              + \sqrt{2T\eta}\,\xi_k ,

    with a fresh minibatch ``I_k`` of ``B`` indices per chain and step, drawn uniformly
    with replacement (``replace=True``) or as a uniform random subset (``replace=False``).
    ``temperature = T > 0`` adds the Gaussian noise of stochastic-gradient Langevin
    dynamics (SGLD); the default ``T = 0`` is plain SGD.

    Parameters
    ----------
    problem : LeastSquares
    theta0 : array, shape (n_chains, d), or (n_chains,) when d == 1
        Starting parameters of the independent chains.
    lr : float
        Learning rate ``eta > 0``.
    batch_size : int
        ``B >= 1`` with replacement (``B > N`` is allowed: a batch may repeat points);
        ``1 <= B <= N`` without.
    n_steps : int
        Number of steps ``>= 0``.
    rng : int, Generator or None
        Seed; the same seed and number of chains give the same chains.
    replace : bool
        Minibatches with (default) or without replacement.
    burn_in, thin : int
        Keep the states ``theta_k`` for ``k = burn_in + 1, burn_in + 1 + thin, ...``
        (as :func:`lib.langevin`).
    temperature : float
        Injected-noise temperature ``T >= 0`` (SGLD).

    Returns
    -------
    lib.Chain
        ``samples`` of shape ``(n_kept, *theta0.shape)``, ``final`` of shape
        ``theta0.shape``, ``acceptance_rate`` all ones.

    Raises
    ------
    ValueError
        For bad arguments; :class:`lib.DivergenceError` (a ValueError) when a chain runs
        off to inf/NaN (the learning rate is too large: see :func:`max_stable_lr`).
    """
    problem = _problem(problem)
    eta = _positive(lr, "lr")
    B = _batch_size(problem, batch_size, replace)
    n_steps = _count(n_steps, "n_steps", 0)
    burn_in = _count(burn_in, "burn_in", 0, n_steps)
    thin = _count(thin, "thin", 1)
    T = _nonnegative(temperature, "temperature")
    gen = _rng(rng)
    t, shape = _states0(problem, theta0)
    n_chains, d = t.shape
    N = problem.n
    # Work on (d, n_chains): each coordinate is a contiguous row.
    theta = np.ascontiguousarray(t.T)
    samples = np.empty((len(range(burn_in, n_steps, thin)), n_chains, d))
    noise_scale = math.sqrt(2.0 * T * eta)
    blocks = [slice(lo, min(lo + _BLOCK, n_chains)) for lo in range(0, n_chains, _BLOCK)]
    small = d <= 4
    # without replacement, few points and a fair chance that B draws are distinct: draw
    # pre-summed tuples as with replacement and reject the chains whose points repeat
    masked = (not replace and small and N <= 64
              and math.prod(1 - j / N for j in range(B)) >= 0.2)
    if small:
        k = 1
        if replace or masked:
            while k < B and N ** (k + 1) <= _TABLE_ENTRIES:
                k += 1
        n_groups, rest = divmod(B, k)
        table_k, table_1 = problem._table(k), problem._table(1)
        slot, n_quad = _slots(d)
        if masked:
            batches = _DistinctBatches(N, B, k)
    else:
        X, y = problem.X, problem.y
    scale = eta / B
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(n_steps):
            if not (replace or masked):
                distinct = np.ascontiguousarray(_distinct_rows(gen, N, B, n_chains).T)   # (B, n)
            for blk in blocks:
                th = theta[:, blk]
                m = th.shape[1]
                if small:
                    # per statistic: gather its pre-summed tuples and add them up (B/k terms)
                    if replace or masked:
                        if replace:
                            ii = gen.integers(0, N**k, size=(n_groups, m))
                            jj = gen.integers(0, N, size=(rest, m)) if rest else None
                        else:
                            ii, jj = batches.draw(gen, m)
                        stats = [row.take(ii).sum(axis=0) for row in table_k]
                        if rest:
                            for r, row in enumerate(table_1):
                                stats[r] += row.take(jj).sum(axis=0)
                    else:
                        idx = distinct[:, blk]                                      # (B, m)
                        stats = [row.take(idx).sum(axis=0) for row in table_1]
                    g = _gradient_sum(stats, th, slot, n_quad)
                else:
                    idx = gen.integers(0, N, size=(m, B)) if replace else distinct[:, blk].T
                    Xb = X[idx]                                                     # (m, B, d)
                    res = np.einsum("mbd,dm->mb", Xb, th) - y[idx]
                    g = np.einsum("mbd,mb->dm", Xb, res)
                g *= scale
                th -= g
                if T > 0:
                    th += noise_scale * gen.standard_normal(th.shape)
            if not math.isfinite(np.add.reduce(theta, axis=None)):
                raise _sgd_diverged(problem, theta, step + 1, eta, B, replace)
            if step >= burn_in and (step - burn_in) % thin == 0:
                samples[(step - burn_in) // thin] = theta.T
    final = theta.T.reshape(shape).copy()
    return Chain(samples.reshape((samples.shape[0],) + shape), np.ones(n_chains), final)


def _reshuffling_setup(problem, lr, batch_size) -> tuple["LeastSquares", float, int, int]:
    """Checked ``(problem, eta, B, N)`` for epoch-wise reshuffling: B must divide N."""
    problem = _problem(problem)
    eta = _positive(lr, "lr")
    B = _batch_size(problem, batch_size, False)
    N = problem.n
    if N % B:
        raise ValueError(f"batch_size must divide N = {N} for epoch-wise reshuffling, got {B}")
    return problem, eta, B, N


def sgd_reshuffled(
    problem: LeastSquares,
    theta0,
    *,
    lr: float,
    batch_size: int,
    n_epochs: int,
    rng: int | np.random.Generator | None = None,
    burn_in: int = 0,
    every_step: bool = False,
) -> Chain:
    r"""SGD with random reshuffling: each epoch visits every data point exactly once.

    At the start of every epoch each chain draws a fresh random permutation of the
    ``N`` data points and takes ``N / B`` steps on consecutive blocks of ``B`` of them
    (``B`` must divide ``N``). This is *not* the Markov chain of :func:`sgd`: within an
    epoch the minibatches are dependent, and the noise of a whole epoch sums to zero
    at first order in ``eta``.

    Parameters
    ----------
    problem, theta0, lr, batch_size, rng : as for :func:`sgd`.
    n_epochs : int
        Number of epochs ``>= 1``.
    burn_in : int
        Number of epochs to discard.
    every_step : bool
        Keep every step's state (``n_epochs - burn_in`` times ``N / B`` rows) instead
        of only the states at the ends of the epochs.

    Returns
    -------
    lib.Chain
    """
    problem, eta, B, N = _reshuffling_setup(problem, lr, batch_size)
    n_epochs = _count(n_epochs, "n_epochs", 1)
    burn_in = _count(burn_in, "burn_in", 0, n_epochs - 1)
    gen = _rng(rng)
    t, shape = _states0(problem, theta0)
    n_chains, d = t.shape
    steps = N // B
    theta = np.ascontiguousarray(t.T)                       # (d, n_chains)
    kept = (n_epochs - burn_in) * (steps if every_step else 1)
    samples = np.empty((kept, n_chains, d))
    row = 0
    small = d <= 4
    if small:
        table, (slot, n_quad) = problem._table(1), _slots(d)
    X, y = problem.X, problem.y
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(n_epochs):
            # a uniform random permutation per chain: the ranks of iid uniform keys
            perm = np.ascontiguousarray(np.argsort(gen.random((n_chains, N)), axis=1).T)  # (N, n)
            for s in range(steps):
                idx = perm[s * B:(s + 1) * B]                              # (B, n_chains)
                if small:
                    g = _gradient_sum([r.take(idx).sum(axis=0) for r in table], theta, slot, n_quad)
                else:
                    Xb = X[idx]                                            # (B, n, d)
                    res = np.einsum("bnd,dn->bn", Xb, theta) - y[idx]
                    g = np.einsum("bnd,bn->dn", Xb, res)
                theta -= (eta / B) * g
                if every_step and epoch >= burn_in:
                    samples[row] = theta.T
                    row += 1
            if not math.isfinite(np.add.reduce(theta, axis=None)):
                raise DivergenceError(
                    f"sgd_reshuffled diverged in epoch {epoch + 1}: lr={eta:g} is too large")
            if not every_step and epoch >= burn_in:
                samples[row] = theta.T
                row += 1
    theta = theta.T
    return Chain(samples.reshape((kept,) + shape), np.ones(n_chains), theta.reshape(shape).copy())


# --------------------------------------------------------------------------
# exact moments of the stationary chain
# --------------------------------------------------------------------------


def _fpc(problem: LeastSquares, B: int, replace: bool) -> float:
    """Finite-population factor: Var(batch mean) = f / B * population variance."""
    return 1.0 if replace else (problem.n - B) / (problem.n - 1)


def _second_moment_parts(problem: LeastSquares, B: int, replace: bool):
    """``(Lsum, K, Q)``: ``vec(HS + SH) = Lsum vec S``, ``vec E[A_B S A_B] = K vec S``,
    ``Q = Cov(b_B)`` (the additive minibatch noise covariance)."""
    d = problem.dim
    H = problem.hessian
    eye = np.eye(d)
    Lsum = np.kron(H, eye) + np.kron(eye, H)
    f = _fpc(problem, B, replace)
    K = (1 - f / B) * np.kron(H, H) + (f / B) * problem._fourth_moment()
    Q = f / B * problem.noise_covariance()
    return Lsum, K, Q


def second_moment_operator(problem: LeastSquares, *, lr: float, batch_size: int,
                           replace: bool = True) -> np.ndarray:
    r"""The exact second-moment map ``vec S -> vec E[(I - eta A_B) S (I - eta A_B)]``, shape (d^2, d^2).

    SGD started at ``theta*`` has covariance ``S_k = S - T^k S`` after ``k`` steps (``S`` the
    stationary one), so ``T^k S`` is the exact remaining transient; its spectral radius
    (:func:`moment_radius`) must be below one for ``S`` to exist.
    """
    problem = _problem(problem)
    eta = _positive(lr, "lr")
    B = _batch_size(problem, batch_size, replace)
    Lsum, K, _ = _second_moment_parts(problem, B, replace)
    return np.eye(problem.dim ** 2) - eta * Lsum + eta**2 * K


def burn_in_steps(problem: LeastSquares, *, lr: float, batch_size: int, tol: float,
                  replace: bool = True, temperature: float = 0.0, max_steps: int = 10**6) -> int:
    r"""Steps after which SGD started at ``theta*`` has its stationary covariance to within ``tol``.

    Started at the minimizer, the covariance after ``k`` steps is exactly ``S - T^k S``
    (:func:`second_moment_operator` ``T``, :func:`stationary_covariance` ``S``; the injected
    SGLD noise of ``temperature`` included). Returns the smallest ``k`` with
    ``max |T^k S| <= tol`` (entrywise), e.g. a small fraction of the standard error of the
    covariance estimate that follows.

    Raises
    ------
    ValueError
        If ``tol <= 0``, above the stability bound (no ``S``), or if ``max_steps`` is not enough.
    """
    tol = _positive(tol, "tol")
    S = stationary_covariance(problem, lr=lr, batch_size=batch_size, replace=replace,
                              temperature=temperature)
    op = second_moment_operator(problem, lr=lr, batch_size=batch_size, replace=replace)
    transient = S.reshape(-1)
    for k in range(max_steps + 1):
        if np.abs(transient).max() <= tol:
            return k
        transient = op @ transient
    raise ValueError(f"the transient is still above tol={tol:g} after max_steps={max_steps} steps")


def reshuffling_mean(problem: LeastSquares, *, lr: float, batch_size: int) -> np.ndarray:
    r"""Leading-order stationary mean of ``u = theta - theta*`` at the ends of reshuffled epochs.

    An epoch of :func:`sgd_reshuffled` (``n_s = N / B`` steps on disjoint batches) maps
    ``u -> Phi u + psi`` with ``E[psi] = eta^2 sum_{s < s'} E[A_{s'} b_s] + O(eta^3)``: the
    first-order noise ``sum_s b_s`` is exactly zero, and for two disjoint batches
    ``E[A_{s'} b_s] = -c / (N (N - 1))``, ``c = sum_a |x_a|^2 r_a x_a``. With
    ``I - E[Phi] = eta n_s H + O(eta^2)`` the stationary mean is

    .. math:: \mathbb E[u] = -\eta\,\frac{n_s - 1}{2N(N-1)}\,H^{-1}\sum_a \lvert x_a\rvert^2 r_a\,x_a
              + O(\eta^2),

    an ``O(eta)`` bias (zero when ``B = N`` or when ``c = 0``, e.g. for symmetric data),
    so ``E|u|^2`` at epoch ends is ``O(eta^2)`` even though the covariance is ``O(eta^3)``.

    Returns
    -------
    ndarray, shape (d,)
        The ``O(eta)`` term above.
    """
    problem, eta, B, N = _reshuffling_setup(problem, lr, batch_size)
    X, r = problem.X, problem.residuals
    c = X.T @ (np.sum(X**2, axis=1) * r)
    n_s = N // B
    return -eta * (n_s - 1) / (2 * N * (N - 1)) * np.linalg.solve(problem.hessian, c)


def max_stable_lr(problem: LeastSquares, *, batch_size: int, replace: bool = True, order: int = 2) -> float:
    r"""The largest learning rate for which SGD has finite stationary moments of ``order``.

    For ``order = 2``: the second moment ``S`` obeys ``S = T(S) + eta^2 Cov(b_B)`` with the
    positive operator ``T(S) = E[(I - eta A_B) S (I - eta A_B)]``; a stationary covariance
    exists iff its spectral radius is ``< 1``, i.e. iff

    .. math:: \eta < \eta_c = 1 / \rho\big((H\oplus H)^{-1}\,\mathbb E[A_B\otimes A_B]\big),

    computed exactly. In 1-D this is ``E(1 - eta A_B)^2 < 1``, ``eta < 2 H / E[A_B^2]``.
    For ``order = 4`` (with replacement only) the radius of
    ``E[(I - eta A_B)^{(x)4}]`` (see :func:`moment_radius`) is bisected.
    """
    problem = _problem(problem)
    B = _batch_size(problem, batch_size, replace)
    if order == 2:
        Lsum, K, _ = _second_moment_parts(problem, B, replace)
        lam = np.linalg.eigvals(np.linalg.solve(Lsum, K))
        return float(1.0 / np.max(lam.real))
    if order not in (4, 6):
        raise ValueError(f"order must be 2, 4 or 6, got {order}")
    hi = max_stable_lr(problem, batch_size=B, replace=replace, order=2)
    # the order-p bound lies below the order-2 one; scan, then bisect the first crossing
    grid = np.linspace(0, hi, 65)[1:]
    radii = [moment_radius(problem, lr=e, batch_size=B, replace=replace, order=order) for e in grid]
    above = [i for i, r in enumerate(radii) if r >= 1]
    if not above:
        return float(hi)
    lo_e, hi_e = (grid[above[0] - 1] if above[0] else 0.0), grid[above[0]]
    for _ in range(50):
        mid = 0.5 * (lo_e + hi_e)
        if moment_radius(problem, lr=mid, batch_size=B, replace=replace, order=order) >= 1:
            hi_e = mid
        else:
            lo_e = mid
    return float(0.5 * (lo_e + hi_e))


def moment_radius(problem: LeastSquares, *, lr: float, batch_size: int, replace: bool = True,
                  order: int = 2) -> float:
    r"""Spectral radius of the exact moment operator ``E[(I - eta A_B)^{(x) p}]``, ``p = order``.

    SGD's stationary moments of order ``p`` (``p`` even) are finite iff this radius is
    below one (the additive noise has all moments). In 1-D it is ``E(1 - eta A_B)^p``.
    ``order = 2`` works for both sampling schemes; ``order = 4`` and ``6`` are computed
    for sampling with replacement by summing over the set partitions of the ``p`` tensor
    factors (equal batch slots), exactly.
    """
    problem = _problem(problem)
    eta = _positive(lr, "lr")
    B = _batch_size(problem, batch_size, replace)
    d = problem.dim
    if order == 2:
        Lsum, K, _ = _second_moment_parts(problem, B, replace)
        op = np.eye(d * d) - eta * Lsum + eta**2 * K
        return float(np.max(np.abs(np.linalg.eigvals(op))))
    if order not in (4, 6):
        raise ValueError(f"order must be 2, 4 or 6, got {order}")
    if not replace:
        raise ValueError("moment_radius of order 4 or 6 is implemented for replace=True only")
    p = order
    X = problem.X
    Nmat = np.eye(d)[None] - eta * X[:, :, None] * X[:, None, :]          # (N, d, d): I - eta M_i
    letters = "abcdefghjklmnopq"           # tensor slots; "i" labels the data point
    out_idx, in_idx = letters[:p], letters[p:2 * p]
    total = np.zeros((d,) * (2 * p))
    for partition in _set_partitions(list(range(p))):
        n_blocks = len(partition)
        weight = math.prod(B - j for j in range(n_blocks)) / B**p
        if weight == 0:
            continue
        operands, subs = [], []
        for block in partition:
            # E_i prod_{k in block} N_i[a_k, b_k]
            spec = ",".join(f"i{out_idx[k]}{in_idx[k]}" for k in block)
            res = "".join(out_idx[k] + in_idx[k] for k in block)
            moment = np.einsum(f"{spec}->{res}", *([Nmat] * len(block))) / problem.n
            operands.append(moment)
            subs.append(res)
        term = np.einsum(",".join(subs) + "->" + out_idx + in_idx, *operands)
        total += weight * term
    op = total.reshape(d**p, d**p)
    return float(np.max(np.abs(np.linalg.eigvals(op))))


def _set_partitions(items: list) -> list:
    if not items:
        return [[]]
    first, rest = items[0], items[1:]
    out = []
    for part in _set_partitions(rest):
        out.append([[first]] + part)
        for j in range(len(part)):
            out.append(part[:j] + [[first] + part[j]] + part[j + 1:])
    return out


def stationary_covariance(problem: LeastSquares, *, lr: float, batch_size: int, replace: bool = True,
                          temperature: float = 0.0) -> np.ndarray:
    r"""Exact stationary covariance of the discrete SGD chain (minibatch noise included exactly).

    The stationary mean is the minimizer. With ``u = theta - theta*`` and
    ``u' = (I - eta A_B) u - eta b_B (+ sqrt(2 T eta) xi)``, the covariance ``S`` solves

    .. math:: H S + S H - \eta\,\mathbb E[A_B S A_B] = \eta\,\mathrm{Cov}(b_B) + 2T I,

    .. math:: \mathbb E[A_B S A_B] = (1 - f/B)\,H S H + (f/B)\,\tfrac1N\sum_i M_i S M_i,
              \qquad \mathrm{Cov}(b_B) = (f/B)\,C,

    with ``f = 1`` with replacement and ``f = (N - B)/(N - 1)`` without. The term
    ``E[A_B S A_B]`` is the state-dependent (multiplicative) part of the minibatch noise;
    dropping it and the ``eta H S H`` part gives :func:`lyapunov_covariance`.
    Solved as a linear system in ``vec S`` (size ``d^2``).

    Returns
    -------
    ndarray, shape (d, d)

    Raises
    ------
    ValueError
        If ``lr`` is at or above :func:`max_stable_lr`: then the second-moment operator
        has spectral radius ``>= 1`` and no stationary covariance exists (the chain
        diverges, or, if ``E log|1 - eta A_B| < 0``, has a heavy-tailed stationary law
        with infinite variance).
    """
    problem = _problem(problem)
    eta = _positive(lr, "lr")
    B = _batch_size(problem, batch_size, replace)
    T = _nonnegative(temperature, "temperature")
    d = problem.dim
    Lsum, K, Q = _second_moment_parts(problem, B, replace)
    op = np.eye(d * d) - eta * Lsum + eta**2 * K
    radius = float(np.max(np.abs(np.linalg.eigvals(op))))
    if radius >= 1 - 1e-12:
        bound = max_stable_lr(problem, batch_size=B, replace=replace)
        raise ValueError(
            f"lr={eta:g} is too large for SGD to have a stationary covariance: the exact second-moment "
            f"operator E[(I - lr A_B) . (I - lr A_B)] has spectral radius {radius:.4g} >= 1. A stationary "
            f"covariance exists only for lr < {bound:.6g} (batch_size={B}, replace={replace}).")
    rhs = eta * Q + 2 * T * np.eye(d)
    S = np.linalg.solve(Lsum - eta * K, rhs.reshape(-1)).reshape(d, d)
    return 0.5 * (S + S.T)


def lyapunov_covariance(problem: LeastSquares, *, lr: float, batch_size: int, replace: bool = True,
                        temperature: float = 0.0) -> np.ndarray:
    r"""The continuous-time (Lyapunov) approximation of SGD's stationary covariance.

    Solves ``H S + S H = eta Cov(b_B) + 2 T I`` with ``Cov(b_B) = C / B`` (with replacement)
    or ``C / B (N - B)/(N - 1)`` (without): the stationary covariance of the SDE
    ``d theta = -H (theta - theta*) dt + sqrt(eta Cov(b_B) + 2T I) dW`` (Mandt, Hoffman & Blei
    2017), which :func:`stationary_covariance` corrects at order ``eta``.

    The SDE has this stationary covariance at every ``lr``; the discrete SGD chain it
    approximates has one only below :func:`max_stable_lr`. At or above that bound the
    function still returns the SDE's covariance but warns (a ``RuntimeWarning``), since
    the approximation then describes no stationary state of SGD.

    Returns
    -------
    ndarray, shape (d, d)

    Warns
    -----
    RuntimeWarning
        If ``lr >= max_stable_lr(problem, batch_size=B, replace=replace)``.
    """
    problem = _problem(problem)
    eta = _positive(lr, "lr")
    B = _batch_size(problem, batch_size, replace)
    T = _nonnegative(temperature, "temperature")
    d = problem.dim
    bound = max_stable_lr(problem, batch_size=B, replace=replace)
    if eta >= bound:
        warnings.warn(
            f"lr={eta:g} is at or above max_stable_lr = {bound:.6g} (batch_size={B}, replace={replace}): "
            "SGD has no stationary covariance there, and the Lyapunov covariance returned is only the "
            "continuous-time SDE's", RuntimeWarning, stacklevel=2)
    Q = eta * _fpc(problem, B, replace) / B * problem.noise_covariance() + 2 * T * np.eye(d)
    h, V = np.linalg.eigh(problem.hessian)
    S = V @ ((V.T @ Q @ V) / (h[:, None] + h[None, :])) @ V.T
    return 0.5 * (S + S.T)


def lag_covariance(problem: LeastSquares, *, lr: float, batch_size: int, replace: bool = True,
                   temperature: float = 0.0) -> np.ndarray:
    r"""Exact stationary lag-1 covariance ``E[u_{k+1} u_k^T] = (I - eta H) S``.

    Its antisymmetric part, ``-(eta/2) [H, S]``, vanishes iff the stationary chain is
    reversible in this second-order sense; it measures the probability current.
    """
    S = stationary_covariance(problem, lr=lr, batch_size=batch_size, replace=replace,
                              temperature=temperature)
    return (np.eye(problem.dim) - lr * problem.hessian) @ S


def tail_index(problem: LeastSquares, *, lr: float, batch_size: int = 1) -> float:
    r"""Tail index ``alpha`` of 1-D SGD with replacement: the root of ``E|1 - eta A_B|^alpha = 1``.

    By Kesten's theorem the stationary law has ``P(|theta - theta*| > t) ~ c t^{-alpha}``,
    so moments of order ``p`` are finite iff ``p < alpha``. Requires ``d = 1``,
    ``E log|1 - eta A_B| < 0`` (else there is no stationary law) and ``N^B <= 2e6`` (the
    distribution of ``A_B`` is enumerated). Returns ``inf`` when ``|1 - eta A_B| <= 1``
    always (no heavy tail).
    """
    problem = _problem(problem)
    eta = _positive(lr, "lr")
    B = _batch_size(problem, batch_size, True)
    if problem.dim != 1:
        raise ValueError(f"tail_index needs a 1-D problem, got d = {problem.dim}")
    if problem.n**B > 2_000_000:
        raise ValueError(f"N^B = {problem.n}^{B} batches are too many to enumerate (max 2e6)")
    a = problem.X[:, 0] ** 2
    values = a
    for _ in range(B - 1):
        values = (values[:, None] + a[None, :]).ravel()
    m = np.abs(1 - eta * values / B)
    if np.any(m == 0):
        m = np.maximum(m, 1e-300)
    if np.mean(np.log(m)) >= 0:
        raise ValueError(f"E log|1 - lr A_B| = {np.mean(np.log(m)):.4g} >= 0: SGD has no stationary law at "
                         f"lr={eta:g}")
    if np.all(m <= 1):
        return math.inf
    f = lambda s: np.mean(m**s) - 1.0  # noqa: E731  convex, f(0) = 0, f'(0) < 0
    lo, hi = 1e-9, 1.0
    while f(hi) < 0:
        lo, hi = hi, 2 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return float(0.5 * (lo + hi))


# --------------------------------------------------------------------------
# 1-D losses with Gaussian, state-dependent gradient noise
# --------------------------------------------------------------------------


def noisy_gd(
    grad: Callable,
    noise_var: Callable,
    theta0,
    *,
    lr: float,
    n_steps: int,
    rng: int | np.random.Generator | None = None,
    burn_in: int = 0,
    thin: int = 1,
) -> Chain:
    r"""SGD with Gaussian gradient noise of state-dependent variance, in 1-D.

    .. math:: \theta_{k+1} = \theta_k - \eta\big(L'(\theta_k) + \sqrt{V(\theta_k)}\,\xi_k\big),

    the central-limit model of minibatch SGD (``V`` = per-sample gradient variance / ``B``).
    Its small-``eta`` limit is the Ito SDE ``d theta = -L' dt + sqrt(2 D) dW`` with
    ``D = eta V / 2``: in :mod:`lib.fokker_planck`'s convention ``drift = -L'`` and
    ``diffusion_sq = 2 D = eta V``.

    Parameters
    ----------
    grad, noise_var : callables, arrays -> arrays
        ``L'`` and ``V >= 0``, vectorised.
    theta0 : array, shape (n_chains,)
    lr : float or array of shape (n_steps,)
        The learning rate, or a schedule ``eta_k`` (annealing).
    n_steps, rng, burn_in, thin : as for :func:`sgd`.
    """
    _callable(grad, "grad", "theta -> L'(theta) (vectorised)")
    _callable(noise_var, "noise_var", "theta -> V(theta) (vectorised)")
    n_steps = _count(n_steps, "n_steps", 0)
    if np.ndim(lr) == 0:
        etas = np.full(n_steps, _positive(lr, "lr"))
    else:
        etas = np.asarray(lr, dtype=float)
        if etas.shape != (n_steps,) or not np.all(np.isfinite(etas) & (etas > 0)):
            raise ValueError(f"lr must be a positive number or a schedule of n_steps = {n_steps} positive "
                             f"numbers, got an array of shape {etas.shape}")
    burn_in = _count(burn_in, "burn_in", 0, n_steps)
    thin = _count(thin, "thin", 1)
    gen = _rng(rng)
    x = np.array(theta0, dtype=float)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ValueError(f"theta0 must be a finite array of shape (n_chains,), got shape {x.shape}")
    samples = np.empty((len(range(burn_in, n_steps, thin)),) + x.shape)
    xi = np.empty_like(x)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n_steps):
            gen.standard_normal(out=xi)
            xi *= np.sqrt(noise_var(x))
            xi += grad(x)
            xi *= etas[k]
            x -= xi
            if not math.isfinite(np.add.reduce(x)):
                raise DivergenceError(f"noisy_gd diverged at step {k + 1}: lr={etas[k]:g} is too large for "
                                      "this loss (a gradient that grows faster than linearly makes any "
                                      "fixed lr unstable far out)")
            if k >= burn_in and (k - burn_in) % thin == 0:
                samples[(k - burn_in) // thin] = x
    return Chain(samples, np.ones(x.shape), x)


def first_passage_steps(
    grad: Callable,
    noise_var: Callable,
    theta0,
    *,
    lr: float,
    target: float,
    rng: int | np.random.Generator | None = None,
    max_steps: int = 10**7,
) -> np.ndarray:
    r"""Number of :func:`noisy_gd` steps until each chain first crosses ``target``.

    Chains start at ``theta0`` (shape ``(n_chains,)``, all on the same side of ``target``);
    a chain stops at the first step ``k`` with ``theta_k`` on or beyond ``target``.
    Chains are simulated only while they have not crossed.

    Returns
    -------
    ndarray of int, shape (n_chains,)

    Raises
    ------
    ValueError
        If some chain has not crossed after ``max_steps`` steps.
    """
    _callable(grad, "grad", "theta -> L'(theta) (vectorised)")
    _callable(noise_var, "noise_var", "theta -> V(theta) (vectorised)")
    eta = _positive(lr, "lr")
    gen = _rng(rng)
    x = np.array(theta0, dtype=float)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ValueError(f"theta0 must be a finite array of shape (n_chains,), got shape {x.shape}")
    sign = 1.0 if np.all(x < target) else (-1.0 if np.all(x > target) else 0.0)
    if sign == 0.0:
        raise ValueError("all chains must start strictly on the same side of target")
    steps = np.zeros(x.size, dtype=np.int64)
    alive = np.arange(x.size)
    k = 0
    while alive.size:
        if k >= max_steps:
            raise ValueError(f"{alive.size} chains did not reach target={target} within "
                             f"max_steps={max_steps}")
        # run a stretch of steps on the chains still alive, then compact
        stretch = min(64, max_steps - k)
        xa = x[alive]
        done_at = np.zeros(alive.size, dtype=np.int64)
        for j in range(stretch):
            xi = gen.standard_normal(xa.size)
            xa = xa - eta * (grad(xa) + np.sqrt(noise_var(xa)) * xi)
            hit = (sign * (xa - target) >= 0) & (done_at == 0)
            done_at[hit] = k + j + 1
        k += stretch
        finished = done_at > 0
        steps[alive[finished]] = done_at[finished]
        x[alive] = xa
        alive = alive[~finished]
    return steps


def transition_matrix(grad: Callable, noise_var: Callable, grid, *, lr: float,
                      quadrature: str = "cells"):
    r"""The :func:`noisy_gd` step as a Markov matrix on the cells of a uniform grid.

    ``P[i, j]`` is the probability that one step from the cell centre ``grid[i]`` lands in
    cell ``j``: the step is Gaussian with mean ``theta - eta L'(theta)`` and variance
    ``eta^2 V(theta)``, so these are exact normal-CDF differences
    (:func:`lib.fokker_planck.gaussian_transition_matrix` with ``quadrature="cells"``; mass
    landing outside the grid is put in the end cells). Use it with
    :func:`lib.fokker_planck.kernel_stationary_density`,
    :func:`~lib.fokker_planck.kernel_first_passage` and
    :func:`~lib.fokker_planck.kernel_relaxation` (relaxation rate ``-log|mu_1| / eta``).

    Parameters
    ----------
    grad, noise_var : callables, arrays -> arrays
        ``L'`` and the gradient-noise variance ``V > 0`` on the grid, vectorised.
    grid : array, shape (m,)
        Uniform grid.
    lr : float
        The learning rate ``eta > 0``.
    quadrature : {"cells", "nystrom"}
        As for :func:`lib.fokker_planck.gaussian_transition_matrix`: ``"cells"`` (dense,
        error ``O(dx^2)``) or ``"nystrom"`` (sparse, spectrally accurate once ``dx`` is a
        few times below the smallest step standard deviation ``eta sqrt(V)``; needs
        ``dx <= min(sd) / 2``). :func:`nystrom_grid` builds such a grid.

    Returns
    -------
    ndarray (``"cells"``) or scipy.sparse.csr_matrix (``"nystrom"``), shape (m, m)
    """
    _callable(grad, "grad", "theta -> L'(theta) (vectorised)")
    _callable(noise_var, "noise_var", "theta -> V(theta) (vectorised)")
    g = np.asarray(grid, dtype=float)
    eta = _positive(lr, "lr")
    mean = g - eta * np.asarray(grad(g), dtype=float)
    sd = eta * np.sqrt(np.asarray(noise_var(g), dtype=float))
    if np.any(sd <= 0):
        raise ValueError("noise_var must be positive on the grid")
    return gaussian_transition_matrix(mean, sd, g, quadrature=quadrature)


def nystrom_grid(noise_var: Callable, lo: float, hi: float, *, lr: float,
                 cells_per_sd: float = 5.0) -> np.ndarray:
    r"""A uniform grid on ``[lo, hi]`` with ``cells_per_sd`` cells per smallest step deviation.

    The step of :func:`noisy_gd` has standard deviation ``eta sqrt(V(theta))``; its minimum
    over ``[lo, hi]`` (on a fine probe grid) divided by ``cells_per_sd`` is the spacing.
    With ``transition_matrix(..., quadrature="nystrom")`` five cells per deviation give
    stationary masses and escape times to about ``1e-3`` relative accuracy (halve the
    spacing to check).

    Returns
    -------
    ndarray, shape (m,)
    """
    _callable(noise_var, "noise_var", "theta -> V(theta) (vectorised)")
    eta = _positive(lr, "lr")
    per = _positive(cells_per_sd, "cells_per_sd")
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"need finite lo < hi, got lo={lo}, hi={hi}")
    probe = np.linspace(lo, hi, 2001)
    v = np.asarray(noise_var(probe), dtype=float)
    if np.any(~np.isfinite(v) | (v <= 0)):
        raise ValueError("noise_var must be positive and finite on [lo, hi]")
    dx = eta * math.sqrt(float(v.min())) / per
    return np.linspace(lo, hi, int(math.ceil((hi - lo) / dx)) + 1)
