"""Samplers for ``p(x) ∝ exp(-L(x)/T)``, vectorized over independent chains.

All samplers share one convention. The chain starts at ``x0`` (one state, or
a batch of independent chains) and takes ``n_steps`` steps, giving the states
``x_1, ..., x_{n_steps}``; the returned :class:`Chain` keeps
``x_k`` for ``k = burn_in + 1, burn_in + 1 + thin, ...`` (that is,
``states[burn_in::thin]``), so ``samples`` has ``len(range(burn_in, n_steps,
thin))`` rows. Only the kept states are stored.

``rng`` is an int seed or a :class:`numpy.random.Generator`; the same seed
gives the same chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._validate import _count, _positive, _rng
from .potentials import Potential

__all__ = ["Chain", "langevin", "mala", "metropolis", "euler_maruyama", "DivergenceError"]


class DivergenceError(ValueError):
    """A chain reached inf or NaN: the step is too large for the potential."""


@dataclass(frozen=True)
class Chain:
    """The output of a sampler.

    Attributes
    ----------
    samples : ndarray, shape (n_kept, *x0.shape)
        The kept states, in order.
    acceptance_rate : ndarray, shape (n_chains,) (or () for a single chain)
        Fraction of accepted proposals per chain over all ``n_steps``; ones
        for the unadjusted Langevin algorithm.
    final : ndarray, shape x0.shape
        The state after the last step (kept or not).
    """

    samples: np.ndarray
    acceptance_rate: np.ndarray
    final: np.ndarray


# --------------------------------------------------------------------------
# validation shared by the samplers (the argument checks are in lib._validate)
# --------------------------------------------------------------------------


def _setup(potential, x0, n_steps, burn_in, thin):
    if not isinstance(potential, Potential):
        raise ValueError(f"potential must be a lib.Potential, got {type(potential).__name__}")
    n_steps = _count(n_steps, "n_steps", 0)
    burn_in = _count(burn_in, "burn_in", 0, n_steps)
    thin = _count(thin, "thin", 1)
    x = np.array(x0, dtype=float, order="C")  # a private copy, moved in place
    batch = potential.batch_shape(x, "x0")
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 must be finite (it contains inf or NaN)")
    n_kept = len(range(burn_in, n_steps, thin))
    samples = np.empty((n_kept,) + x.shape)
    return x, batch, n_steps, burn_in, thin, samples


def _diverged(x: np.ndarray, step_index: int, sampler: str, step_name: str, step_value: float,
              potential: Potential) -> DivergenceError:
    flat = np.atleast_1d(x)
    bad = np.argwhere(~np.isfinite(flat))
    # The check fires when the sum over chains overflows, possibly before any one
    # chain is infinite: then name the chain that is furthest out.
    chain = int(bad[0][0]) if bad.size else int(np.unravel_index(np.argmax(np.abs(flat)), flat.shape)[0])
    return DivergenceError(
        f"{sampler} diverged at step {step_index} (chain {chain} ran off to inf/NaN): "
        f"{step_name}={step_value:g} is too large for the potential {potential.name!r}; use a smaller {step_name}"
        + (" (if L is undefined somewhere, e.g. log(x) for x <= 0, the chain may have left its domain:"
           " mala rejects such moves)" if sampler == "langevin" else "")
    )


# Chains are updated block by block: a block's working set (about ten arrays of
# _BLOCK_ELEMENTS doubles) stays in the CPU cache for the ~25 array operations of a
# step, which makes a MALA step on 10^6 chains about twice as fast as whole-array
# operations. The random numbers are drawn block by block too, so a chain depends
# on the seed and on the number of chains, as before.
_BLOCK_ELEMENTS = 16384


def _blocks(x: np.ndarray, batch: tuple) -> list:
    """Index objects cutting the batch of chains into cache-sized blocks."""
    if not batch:
        return [...]
    per_row = max(1, x.size // max(batch[0], 1))
    rows = max(1, _BLOCK_ELEMENTS // per_row)
    return [slice(lo, lo + rows) for lo in range(0, batch[0], rows)]


def _records(a: np.ndarray) -> np.ndarray:
    """A C-contiguous (n, d) array seen as n opaque d-double records (same memory)."""
    return a.view(np.dtype((np.void, a.itemsize * a.shape[-1]))).reshape(a.shape[:-1])


def _keep(samples, x, k, burn_in, thin):
    # state x_{k+1} is states[k]; keep it if k >= burn_in and (k - burn_in) % thin == 0
    if k >= burn_in and (k - burn_in) % thin == 0:
        samples[(k - burn_in) // thin] = x


# --------------------------------------------------------------------------
# samplers
# --------------------------------------------------------------------------


def langevin(
    potential: Potential,
    x0,
    *,
    step: float,
    n_steps: int,
    temperature: float = 1.0,
    rng: int | np.random.Generator | None = None,
    burn_in: int = 0,
    thin: int = 1,
) -> Chain:
    r"""Unadjusted Langevin algorithm (Euler-Maruyama for overdamped Langevin).

    .. math:: x_{k+1} = x_k - h \nabla L(x_k) + \sqrt{2 T h}\, \xi_k,
              \quad \xi_k \sim \mathcal N(0, I),

    the discretization of ``dx = -grad L dt + sqrt(2T) dW`` with step ``h``.
    Its stationary law approaches ``exp(-L/T)/Z`` as ``h -> 0``; at finite
    ``h`` it is biased (see :func:`mala` for the exact correction).

    Parameters
    ----------
    potential : Potential
    x0 : array, shape (n_chains,) for 1-D potentials or (n_chains, d)
        Starting states of the independent chains (a single state also works).
    step : float
        ``h > 0`` (time units).
    n_steps : int
        Number of steps ``>= 0``.
    temperature : float
        ``T > 0``.
    rng, burn_in, thin : see the module docstring.

    Returns
    -------
    Chain
        ``acceptance_rate`` is all ones.

    Raises
    ------
    ValueError
        For bad arguments, and :class:`DivergenceError` (a ValueError) when a
        chain reaches inf/NaN, naming the step and the chain.
    """
    h = _positive(step, "step")
    T = _positive(temperature, "temperature")
    x, batch, n_steps, burn_in, thin, samples = _setup(potential, x0, n_steps, burn_in, thin)
    gen = _rng(rng)
    noise_scale = math.sqrt(2.0 * T * h)
    blocks = _blocks(x, batch)
    block_shape = x[blocks[0]].shape
    grad, work, noise = (np.empty(block_shape) for _ in range(3))
    views = [(x[b],) + tuple(buf[: x[b].shape[0]] if batch else buf for buf in (grad, work, noise))
             for b in blocks]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for k in range(n_steps):
            for xb, grad_b, work_b, noise_b in views:
                potential.energy_and_grad_into(xb, grad_b, None, work_b)
                grad_b *= -h
                xb += grad_b                           # x - h grad L(x)
                gen.standard_normal(out=noise_b)
                noise_b *= noise_scale
                xb += noise_b                          # + sqrt(2 T h) xi
            if not math.isfinite(np.add.reduce(x, axis=None)):
                raise _diverged(x, k + 1, "langevin", "step", h, potential)
            _keep(samples, x, k, burn_in, thin)
    return Chain(samples, np.ones(batch), x)


def mala(
    potential: Potential,
    x0,
    *,
    step: float,
    n_steps: int,
    temperature: float = 1.0,
    rng: int | np.random.Generator | None = None,
    burn_in: int = 0,
    thin: int = 1,
) -> Chain:
    r"""Metropolis-adjusted Langevin algorithm.

    Proposes the Langevin step ``y = x - h grad L(x) + sqrt(2 T h) xi`` and
    accepts it with probability ``min(1, exp(log_alpha))``,

    .. math:: \log\alpha = -\frac{L(y) - L(x)}{T}
              - \frac{|x - y + h\nabla L(y)|^2 - |y - x + h\nabla L(x)|^2}{4 T h},

    which makes ``exp(-L/T)/Z`` exactly stationary for every ``h``.
    Arguments, returns and errors as in :func:`langevin`; ``acceptance_rate``
    is the per-chain fraction of accepted proposals.
    """
    h = _positive(step, "step")
    T = _positive(temperature, "temperature")
    x, batch, n_steps, burn_in, thin, samples = _setup(potential, x0, n_steps, burn_in, thin)
    gen = _rng(rng)
    noise_scale = math.sqrt(2.0 * T * h)
    vector = potential.dim > 1
    # Per chain: the state and its energy and gradient (kept, so each step evaluates
    # the potential once, at the proposal), and the acceptance count.
    energy_x, grad_x = np.empty(batch), np.empty_like(x)
    n_accepted = np.zeros(batch)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        potential.energy_and_grad_into(x, grad_x, energy_x, np.empty_like(x))
    if not np.all(np.isfinite(energy_x)):
        raise ValueError("the energy is not finite at x0")
    # Per block: scratch reused by every block and every step.
    blocks = _blocks(x, batch)
    state_shape, scalar_shape = x[blocks[0]].shape, energy_x[blocks[0]].shape
    y, grad_y, xi, work = (np.empty(state_shape) for _ in range(4))
    energy_y, log_ratio, threshold = (np.empty(scalar_shape) for _ in range(3))
    accepted = np.empty(scalar_shape, dtype=bool)

    def cut(buf, rows):
        return buf[:rows] if batch else buf

    views = []
    for b in blocks:
        rows = x[b].shape[0] if batch else 0
        views.append((x[b], grad_x[b], energy_x[b], n_accepted[b])
                     + tuple(cut(buf, rows) for buf in (y, grad_y, xi, work, energy_y, log_ratio,
                                                        threshold, accepted)))
    # The accepted moves are copied with a per-chain mask: on rows viewed as opaque
    # records when d > 1 (a mask broadcast over the d columns is 3-6x slower).
    moves = [(_records(v[0]), _records(v[4]), _records(v[1]), _records(v[5])) if vector and batch
             else (v[0], v[4], v[1], v[5]) for v in views]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for k in range(n_steps):
            for block, (xm, ym, gxm, gym) in zip(views, moves):
                xb, gx, ex, count, yb, gy, noise, w, ey, nla, thr, acc = block
                gen.standard_normal(out=noise)
                noise *= noise_scale                       # s xi, s = sqrt(2 T h)
                np.multiply(gx, -h, out=yb)
                yb += xb
                yb += noise                                # y = x - h grad L(x) + s xi
                potential.energy_and_grad_into(yb, gy, ey, w)
                # Since y - x + h grad L(x) = s xi, the reverse-move residual is
                # x - y + h grad L(y) = h (gx + gy) - s xi, and
                # -log alpha = (|h(gx + gy) - s xi|^2 - |s xi|^2) / (4 T h) + (L(y) - L(x)) / T.
                np.add(gx, gy, out=w)
                w *= h
                w -= noise
                if vector:
                    np.einsum("...i,...i->...", w, w, out=nla)
                    np.einsum("...i,...i->...", noise, noise, out=thr)
                else:
                    np.multiply(w, w, out=nla)
                    np.multiply(noise, noise, out=thr)
                nla -= thr
                nla *= 1.0 / (4.0 * T * h)
                np.subtract(ey, ex, out=thr)
                thr *= 1.0 / T
                nla += thr
                # accept iff u < alpha, u ~ U(0,1), i.e. E > -log alpha with E ~ Exp(1);
                # a NaN -log alpha (overflow) compares False: rejected
                gen.standard_exponential(out=thr)
                np.greater(thr, nla, out=acc)
                count += acc
                mask = acc[..., None] if vector and not batch else acc
                np.copyto(xm, ym, where=mask)
                np.copyto(gxm, gym, where=mask)
                np.copyto(ex, ey, where=acc)
            if not math.isfinite(np.add.reduce(x, axis=None)):
                raise _diverged(x, k + 1, "mala", "step", h, potential)
            _keep(samples, x, k, burn_in, thin)
    rate = n_accepted / n_steps if n_steps else np.zeros(batch)
    return Chain(samples, rate, x)


def metropolis(
    potential: Potential,
    x0,
    *,
    scale: float,
    n_steps: int,
    temperature: float = 1.0,
    rng: int | np.random.Generator | None = None,
    burn_in: int = 0,
    thin: int = 1,
) -> Chain:
    r"""Random-walk Metropolis with Gaussian proposals.

    Proposes ``y = x + scale * xi`` with ``xi ~ N(0, I)`` and accepts with
    probability ``min(1, exp(-(L(y) - L(x)) / T))``; the proposal is
    symmetric, so no correction term is needed. Arguments as in
    :func:`langevin` with ``scale > 0`` (the proposal's standard deviation)
    in place of ``step``.
    """
    s = _positive(scale, "scale")
    T = _positive(temperature, "temperature")
    x, batch, n_steps, burn_in, thin, samples = _setup(potential, x0, n_steps, burn_in, thin)
    gen = _rng(rng)
    vector = potential.dim > 1
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        energy_x = np.asarray(potential.energy_fn(x), dtype=float).reshape(batch)
    if not np.all(np.isfinite(energy_x)):
        raise ValueError("the energy is not finite at x0")
    y = np.empty_like(x)
    if vector and batch:
        x_rows, y_rows = _records(x), _records(y)
    log_alpha, threshold = np.empty(batch), np.empty(batch)
    accepted = np.zeros(batch, dtype=bool)
    n_accepted = np.zeros(batch)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for k in range(n_steps):
            gen.standard_normal(out=y)
            y *= s
            y += x
            energy_y = potential.energy_fn(y)
            np.subtract(energy_x, energy_y, out=log_alpha)
            log_alpha *= 1.0 / T
            gen.standard_exponential(out=threshold)
            np.negative(threshold, out=threshold)
            np.less(threshold, log_alpha, out=accepted)
            n_accepted += accepted
            if vector and batch:
                np.copyto(x_rows, y_rows, where=accepted)
            else:
                np.copyto(x, y, where=accepted[..., None] if vector else accepted)
            np.copyto(energy_x, energy_y, where=accepted)
            _keep(samples, x, k, burn_in, thin)
    rate = n_accepted / n_steps if n_steps else np.zeros(batch)
    return Chain(samples, rate, x)


def euler_maruyama(
    drift: Callable[[np.ndarray], np.ndarray],
    diffusion: Callable[[np.ndarray], np.ndarray] | float,
    x0,
    *,
    dt: float,
    n_steps: int,
    rng: int | np.random.Generator | None = None,
    burn_in: int = 0,
    thin: int = 1,
) -> np.ndarray:
    r"""Euler-Maruyama for a general Itô SDE with diagonal noise.

    .. math:: dx = a(x)\,dt + b(x)\,dW, \qquad
              x_{k+1} = x_k + a(x_k)\,\Delta t + b(x_k) \sqrt{\Delta t}\, \xi_k .

    Note that ``diffusion`` is the noise *amplitude* ``b`` (the coefficient
    of ``dW``), not the diffusion coefficient ``D = b^2 / 2``; overdamped
    Langevin at temperature ``T`` has ``b = sqrt(2 T)``. (:mod:`lib.symbolic` and
    :mod:`lib.fokker_planck` take ``diffusion_sq = b^2`` instead.)

    Parameters
    ----------
    drift : callable
        ``a(x)``, returns an array of x's shape.
    diffusion : callable or float
        ``b(x)`` elementwise (same shape as x, or broadcastable), or a constant.
    x0 : array, any shape (each entry an independent coordinate or chain)
    dt : float
        Time step ``> 0``.
    n_steps, rng, burn_in, thin : as for :func:`langevin`.

    Returns
    -------
    ndarray, shape (n_kept, *x0.shape)
        States ``x_k`` at times ``k dt`` for the kept ``k`` (``states[burn_in::thin]``
        of ``x_1..x_{n_steps}``); the last row is the state at time
        ``n_steps * dt`` when ``(n_steps - 1 - burn_in) % thin == 0``.
    """
    h = _positive(dt, "dt")
    if not callable(drift):
        raise ValueError("drift must be a callable a(x)")
    constant_noise = not callable(diffusion)
    if constant_noise:
        b_const = float(diffusion)
        if not (math.isfinite(b_const) and b_const >= 0):
            raise ValueError(f"diffusion must be a callable b(x) or a non-negative number, got {diffusion}")
    n_steps = _count(n_steps, "n_steps", 0)
    burn_in = _count(burn_in, "burn_in", 0, n_steps)
    thin = _count(thin, "thin", 1)
    x = np.array(x0, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 must be finite (it contains inf or NaN)")
    gen = _rng(rng)
    samples = np.empty((len(range(burn_in, n_steps, thin)),) + x.shape)
    sqrt_dt = math.sqrt(h)
    noise = np.empty_like(x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for k in range(n_steps):
            a = drift(x)
            gen.standard_normal(out=noise)
            if constant_noise:
                noise *= b_const * sqrt_dt
            else:
                noise *= diffusion(x)
                noise *= sqrt_dt
            x += a * h
            x += noise
            if not math.isfinite(np.add.reduce(x, axis=None)):
                flat = np.atleast_1d(x)
                bad = np.argwhere(~np.isfinite(flat))
                entry = bad[0] if bad.size else np.unravel_index(np.argmax(np.abs(flat)), flat.shape)
                raise DivergenceError(
                    f"euler_maruyama diverged at step {k + 1} (entry {tuple(int(i) for i in entry)} "
                    f"ran off to inf/NaN): dt={h:g} is too large for this drift/diffusion; use a smaller dt"
                )
            _keep(samples, x, k, burn_in, thin)
    return samples
