r"""MCMC on an exponentially large discrete space: the Ising chain with fields.

The model of a binary "sentence" of ``n`` tokens is a spin vector
``s = (s_0, ..., s_{n-1})`` with every ``s_i`` in ``{-1, +1}`` (this module
uses spins, never ``{0, 1}`` bits), with the energy

.. math:: L(s) = -\sum_{i} J_i\, s_i s_{i+1} - \sum_{i=0}^{n-1} h_i\, s_i ,

where the first sum runs over the ``n - 1`` neighbouring pairs of an open chain
(``i = 0..n-2``) or the ``n`` pairs of a ring (``periodic=True``, the last pair
being ``(n-1, 0)``). The target is the Gibbs distribution
``p(s) = exp(-L(s)/T) / Z(T)`` on the ``2^n`` states; in the lecture's words
``score(s) = -L(s)/T``. ``J_i > 0`` makes neighbours agree (ferromagnetic).

Every site feels the *local field* of its neighbours and its own field,

.. math:: f_i(s) = h_i + J_{i-1} s_{i-1} + J_i s_{i+1}

(missing neighbours of an open chain contribute 0), so that flipping site ``i``
changes the energy by ``Delta L = 2 s_i f_i(s)`` and the conditional law of
``s_i`` given the rest is ``P(s_i = +1 | rest) = 1 / (1 + exp(-2 f_i / T))``.

States are encoded as integers ``k = sum_i b_i 2^(n-1-i)`` with bits
``b_i = (s_i + 1) / 2``: site 0 is the most significant bit, so
``IsingChain.states()`` lists the states in lexicographic order and
``states()[k]`` is the state with code ``k``.

The samplers follow :mod:`lib.samplers`: one *sweep* is ``n`` single-site
updates, and the chain keeps the states after sweeps ``burn_in + 1,
burn_in + 1 + thin, ...``; ``rng`` is an int seed or a Generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .samplers import Chain, _count, _positive, _rng
from .stats import TVTest

__all__ = [
    "IsingChain",
    "encode",
    "decode",
    "metropolis_flips",
    "gibbs_sampler",
    "tv_distance_states",
    "tv_test_states",
]

#: Largest ``n`` for exact enumeration (2^20 states) and for dense transition matrices.
MAX_ENUMERATE = 20
MAX_MATRIX = 10


def _as_vector(value, length: int, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(length, float(arr))
    if arr.shape != (length,):
        raise ValueError(f"{name} must be a scalar or an array of shape ({length},), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    arr = arr.copy()
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class IsingChain:
    r"""An Ising chain with couplings and fields: ``L(s) = -sum J_i s_i s_{i+1} - sum h_i s_i``.

    Parameters
    ----------
    n : int
        Number of sites (tokens), ``n >= 2``.
    couplings : float or array, shape (n - 1,) (open) or (n,) (periodic)
        ``J_i`` couples sites ``i`` and ``i + 1`` (for a ring, ``J_{n-1}``
        couples ``n - 1`` and ``0``). A scalar is used for every pair.
    fields : float or array, shape (n,)
        ``h_i``, the preference of site ``i`` for ``+1``. A scalar is used for
        every site.
    periodic : bool, keyword-only
        A ring instead of an open chain (needs ``n >= 3``).

    After construction ``couplings`` and ``fields`` are read-only float arrays of
    the shapes above.
    """

    n: int
    couplings: np.ndarray = 1.0
    fields: np.ndarray = field(default=0.0, kw_only=True)
    periodic: bool = field(default=False, kw_only=True)

    def __post_init__(self):
        n = _count(self.n, "n", 2)
        if self.periodic and n < 3:
            raise ValueError(f"n must be >= 3 for a periodic chain, got {n}")
        n_pairs = n if self.periodic else n - 1
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "periodic", bool(self.periodic))
        object.__setattr__(self, "couplings", _as_vector(self.couplings, n_pairs, "couplings"))
        object.__setattr__(self, "fields", _as_vector(self.fields, n, "fields"))

    # -- neighbours ---------------------------------------------------------
    def neighbours(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(left, right, J_left, J_right)``, each shape (n,).

        Site ``i`` has left neighbour ``left[i]`` with coupling ``J_left[i]`` and
        right neighbour ``right[i]`` with coupling ``J_right[i]``; a missing
        neighbour (ends of an open chain) has coupling 0 (and index 0).
        """
        n = self.n
        idx = np.arange(n)
        left, right = (idx - 1) % n, (idx + 1) % n
        J = self.couplings
        J_right = np.zeros(n)
        J_left = np.zeros(n)
        J_right[: len(J)] = J                  # pair (i, i+1) has J_i
        J_left[1:] = J[: n - 1]
        if self.periodic:
            J_left[0] = J[n - 1]
        return left, right, J_left, J_right

    # -- energies -----------------------------------------------------------
    def _spins(self, x, name: str = "x") -> np.ndarray:
        x = np.asarray(x)
        if x.ndim == 0 or x.shape[-1] != self.n:
            raise ValueError(f"{name} must have shape (..., {self.n}) (one spin per site), got {x.shape}")
        if not np.all((x == 1) | (x == -1)):
            raise ValueError(f"{name} must contain spins in {{-1, +1}} only")
        return x

    def energy(self, x) -> np.ndarray:
        r"""``L(s) = -sum_i J_i s_i s_{i+1} - sum_i h_i s_i``.

        Parameters
        ----------
        x : array, shape (..., n), entries in {-1, +1}

        Returns
        -------
        ndarray, shape (...)
        """
        s = self._spins(x).astype(float)
        pair = s[..., :-1] * s[..., 1:]
        if self.periodic:
            pair = np.concatenate([pair, s[..., -1:] * s[..., :1]], axis=-1)
        return -(pair @ self.couplings) - s @ self.fields

    def local_field(self, x) -> np.ndarray:
        r"""``f_i(s) = h_i + J_{i-1} s_{i-1} + J_i s_{i+1}`` for every site, shape (..., n)."""
        s = self._spins(x).astype(float)
        left, right, J_left, J_right = self.neighbours()
        return self.fields + J_left * s[..., left] + J_right * s[..., right]

    # -- exact enumeration --------------------------------------------------
    def _check_enumerable(self, limit: int = MAX_ENUMERATE) -> None:
        if self.n > limit:
            raise ValueError(f"n must be <= {limit} for exact enumeration (2^n states), got {self.n}")

    def states(self) -> np.ndarray:
        """All ``2^n`` states in code order, shape (2^n, n), dtype int8 (n <= 20)."""
        self._check_enumerable()
        return decode(np.arange(2 ** self.n), self.n)

    def log_partition(self, *, temperature: float = 1.0) -> float:
        """``log Z(T) = log sum_s exp(-L(s)/T)`` by enumeration (n <= 20)."""
        T = _positive(temperature, "temperature")
        a = -self.energy(self.states()) / T
        top = a.max()
        return float(top + np.log(np.exp(a - top).sum()))

    def partition_function(self, *, temperature: float = 1.0) -> float:
        """``Z(T) = sum_s exp(-L(s)/T)`` by enumeration (n <= 20)."""
        return float(math.exp(self.log_partition(temperature=temperature)))

    def probabilities(self, *, temperature: float = 1.0) -> np.ndarray:
        """``p(s_k) = exp(-L(s_k)/T) / Z`` for every code ``k``, shape (2^n,) (n <= 20)."""
        T = _positive(temperature, "temperature")
        a = -self.energy(self.states()) / T
        w = np.exp(a - a.max())
        return w / w.sum()

    def marginals(self, *, temperature: float = 1.0) -> np.ndarray:
        """Exact ``P(s_i = +1)`` for every site, shape (n,), by enumeration (n <= 20)."""
        p = self.probabilities(temperature=temperature)
        return p @ (self.states() > 0)

    # -- exact transition matrices ------------------------------------------
    def site_kernels(self, *, method: str = "metropolis", temperature: float = 1.0) -> np.ndarray:
        r"""The single-site kernels ``P_i``, shape (n, 2^n, 2^n) (n <= 10).

        ``P_i[k, l]`` is the probability that an update of site ``i`` moves
        state ``k`` to state ``l``: to the state with site ``i`` flipped with
        probability ``a_i(k)``, otherwise it stays. ``a_i = min(1, exp(-Delta L /
        T))`` for ``method="metropolis"`` and ``a_i = 1 / (1 + exp(Delta L / T))``
        (the conditional probability of the flipped value) for ``"gibbs"``,
        with ``Delta L = 2 s_i f_i(s)``.
        """
        self._check_enumerable(MAX_MATRIX)
        T = _positive(temperature, "temperature")
        if method not in ("metropolis", "gibbs"):
            raise ValueError(f"method must be 'metropolis' or 'gibbs', got {method!r}")
        S = self.states()
        delta = 2.0 * S * self.local_field(S)                # (2^n, n): Delta L of flipping site i
        flip = _flip_probability(delta, T, method)
        m = 2 ** self.n
        codes = np.arange(m)
        P = np.zeros((self.n, m, m))
        for i in range(self.n):
            partner = codes ^ (1 << (self.n - 1 - i))
            P[i, codes, partner] = flip[:, i]
            P[i, codes, codes] = 1.0 - flip[:, i]
        return P

    def transition_matrix(self, *, method: str = "metropolis", temperature: float = 1.0,
                          scan: str = "random") -> np.ndarray:
        r"""The transition matrix of one single-site update (random scan) or one sweep (systematic).

        ``scan="random"``: ``P = (1/n) sum_i P_i`` (pick a site uniformly, update it);
        ``scan="systematic"``: ``P = P_0 P_1 ... P_{n-1}`` (one sweep in site order).
        Rows sum to one; shape (2^n, 2^n) (n <= 10). The random-scan matrix is
        reversible with respect to ``p``; the systematic-scan matrix leaves ``p``
        stationary but is in general not reversible.
        """
        if scan not in ("random", "systematic"):
            raise ValueError(f"scan must be 'random' or 'systematic', got {scan!r}")
        kernels = self.site_kernels(method=method, temperature=temperature)
        if scan == "random":
            return kernels.mean(axis=0)
        # P_0 P_1 ... P_{n-1}; right-multiplying by the sparse P_i mixes column l with
        # column partner_i(l): (A P_i)[:, l] = A[:, l] P_i[l, l] + A[:, l'] P_i[l', l].
        m = 2 ** self.n
        codes = np.arange(m)
        P = kernels[0]
        for i in range(1, self.n):
            partner = codes ^ (1 << (self.n - 1 - i))
            stay = kernels[i, codes, codes]
            move = kernels[i, partner, codes]
            P = P * stay + P[:, partner] * move
        return P


def _flip_probability(delta: np.ndarray, T: float, method: str) -> np.ndarray:
    """Probability of flipping a site whose flip costs ``delta`` (Metropolis or Gibbs)."""
    with np.errstate(over="ignore"):
        if method == "metropolis":
            return np.exp(-np.maximum(delta, 0.0) / T)
        return 0.5 * (1.0 - np.tanh(delta / (2.0 * T)))       # = 1 / (1 + exp(delta / T))


# ----------------------------------------------------------------------------
# integer codes of states
# ----------------------------------------------------------------------------


def encode(x, n: int | None = None) -> np.ndarray:
    """Integer codes of spin states: ``k = sum_i b_i 2^(n-1-i)``, ``b_i = (s_i + 1)/2``.

    Parameters
    ----------
    x : array, shape (..., n), entries in {-1, +1}
    n : int, optional
        Checked against ``x.shape[-1]`` when given.

    Returns
    -------
    ndarray of int64, shape (...)
    """
    x = np.asarray(x)
    if x.ndim == 0 or (n is not None and x.shape[-1] != n):
        raise ValueError(f"x must have shape (..., {n if n is not None else 'n'}), got {x.shape}")
    n = x.shape[-1]
    if not (1 <= n <= 62):
        raise ValueError(f"the number of sites must be in [1, 62] to fit an int64 code, got {n}")
    bits = (x > 0).astype(np.int64)
    return bits @ (np.int64(1) << np.arange(n - 1, -1, -1, dtype=np.int64))


def decode(codes, n: int) -> np.ndarray:
    """Spin states of integer codes (inverse of :func:`encode`), shape (*codes.shape, n), int8."""
    n = _count(n, "n", 1, 62)
    codes = np.asarray(codes, dtype=np.int64)
    if np.any(codes < 0) or np.any(codes >= 2**n):
        raise ValueError(f"codes must be in [0, 2^{n} - 1]")
    bits = (codes[..., None] >> np.arange(n - 1, -1, -1, dtype=np.int64)) & 1
    return (2 * bits - 1).astype(np.int8)


# ----------------------------------------------------------------------------
# samplers
# ----------------------------------------------------------------------------


def _setup(model, x0, n_sweeps, burn_in, thin, temperature, scan):
    if not isinstance(model, IsingChain):
        raise ValueError(f"model must be a lib.discrete.IsingChain, got {type(model).__name__}")
    T = _positive(temperature, "temperature")
    n_sweeps = _count(n_sweeps, "n_sweeps", 0)
    burn_in = _count(burn_in, "burn_in", 0, n_sweeps)
    thin = _count(thin, "thin", 1)
    if scan not in ("random", "systematic"):
        raise ValueError(f"scan must be 'random' or 'systematic', got {scan!r}")
    x0 = np.asarray(x0)
    single = x0.ndim == 1
    x = np.array(model._spins(np.atleast_2d(x0), "x0"), dtype=float)  # private float copy
    if x.ndim != 2:
        raise ValueError(f"x0 must have shape (n,) or (n_chains, n), got {x0.shape}")
    n_kept = len(range(burn_in, n_sweeps, thin))
    samples = np.empty((n_kept,) + x.shape, dtype=np.int8)
    return x, single, T, n_sweeps, burn_in, thin, samples


def _run(model, x0, n_sweeps, temperature, rng, burn_in, thin, scan, method) -> Chain:
    x, single, T, n_sweeps, burn_in, thin, samples = _setup(model, x0, n_sweeps, burn_in, thin,
                                                            temperature, scan)
    gen = _rng(rng)
    n_chains, n = x.shape
    left, right, J_left, J_right = model.neighbours()
    h = model.fields
    flat = x.reshape(-1)                       # a view: updating flat updates x
    rows = np.arange(n_chains) * n
    n_flips = np.zeros(n_chains)
    flips = np.empty((n, n_chains), dtype=bool)
    systematic = np.repeat(np.arange(n)[:, None], n_chains, axis=1)
    with np.errstate(divide="ignore"):
        for k in range(n_sweeps):
            # One sweep's random numbers and site geometry, drawn at once. With random scan
            # every chain updates its own random site (so the chains stay independent);
            # with systematic scan all chains update site j at update j.
            u = gen.random((n, n_chains))
            sites = gen.integers(0, n, size=(n, n_chains)) if scan == "random" else systematic
            pos = rows + sites
            pos_l, pos_r = rows + left[sites], rows + right[sites]
            JL, JR = J_left[sites], J_right[sites]
            if method == "metropolis":
                # flip iff u < exp(-Delta L / T) with Delta L = 2 s f, i.e. s f < -(T/2) log u
                cut = -0.5 * T * np.log(u)
                hs = h[sites]
            else:
                # s_i = +1 iff u < 1 / (1 + exp(-2 f / T)), i.e. f > (T/2) logit(u);
                # the site's own field moves to the right-hand side
                cut = 0.5 * T * (np.log(u) - np.log1p(-u)) - h[sites]
            for j in range(n):
                s = flat[pos[j]]
                f = JL[j] * flat[pos_l[j]]
                f += JR[j] * flat[pos_r[j]]
                if method == "metropolis":
                    f += hs[j]
                    f *= s
                    flip = np.less(f, cut[j], out=flips[j])
                    new = s - 2.0 * s * flip
                else:
                    new = np.where(f > cut[j], 1.0, -1.0)
                    np.not_equal(new, s, out=flips[j])
                flat[pos[j]] = new
            n_flips += flips.sum(axis=0)
            if k >= burn_in and (k - burn_in) % thin == 0:
                samples[(k - burn_in) // thin] = x
    rate = n_flips / (n_sweeps * n) if n_sweeps else np.zeros(n_chains)
    final = x.astype(np.int8)
    if single:
        return Chain(samples[:, 0], rate[0], final[0])
    return Chain(samples, rate, final)


def metropolis_flips(
    model: IsingChain,
    x0,
    *,
    n_sweeps: int,
    temperature: float = 1.0,
    rng: int | np.random.Generator | None = None,
    burn_in: int = 0,
    thin: int = 1,
    scan: str = "random",
) -> Chain:
    r"""Metropolis sampling with single-site flips.

    Each update picks a site ``i`` (uniformly at random, independently in each
    chain, for ``scan="random"``; sites ``0..n-1`` in order for
    ``"systematic"``), proposes to flip it, and accepts with probability

    .. math:: \min\bigl(1, e^{-\Delta L / T}\bigr), \qquad \Delta L = 2 s_i f_i(s).

    The flip proposal is symmetric, so this satisfies detailed balance with
    ``p(s) ∝ exp(-L(s)/T)``. One sweep is ``n`` updates; every NumPy operation
    updates all chains at once.

    Parameters
    ----------
    model : IsingChain
    x0 : array, shape (n_chains, n) or (n,), entries in {-1, +1}
        Starting states of independent chains.
    n_sweeps : int
        Number of sweeps ``>= 0``.
    temperature : float
        ``T > 0``.
    rng, burn_in, thin : as in :mod:`lib.samplers`, counted in sweeps.
    scan : {"random", "systematic"}

    Returns
    -------
    Chain
        ``samples`` shape (n_kept, n_chains, n) (or (n_kept, n)), int8 spins;
        ``acceptance_rate`` shape (n_chains,): accepted flips per update;
        ``final`` the state after the last sweep, int8.
    """
    return _run(model, x0, n_sweeps, temperature, rng, burn_in, thin, scan, "metropolis")


def gibbs_sampler(
    model: IsingChain,
    x0,
    *,
    n_sweeps: int,
    temperature: float = 1.0,
    rng: int | np.random.Generator | None = None,
    burn_in: int = 0,
    thin: int = 1,
    scan: str = "random",
) -> Chain:
    r"""Gibbs sampling (heat bath): redraw one site from its conditional.

    Each update picks a site ``i`` as in :func:`metropolis_flips` and sets

    .. math:: s_i = +1 \text{ with probability } \frac{1}{1 + e^{-2 f_i(s)/T}},
              \text{ else } -1 .

    Arguments and returns as in :func:`metropolis_flips`; ``acceptance_rate``
    is the fraction of updates that changed the site (every Gibbs draw is
    "accepted", but a draw equal to the old value does not move the chain).
    """
    return _run(model, x0, n_sweeps, temperature, rng, burn_in, thin, scan, "gibbs")


# ----------------------------------------------------------------------------
# testing samples against exact probabilities
# ----------------------------------------------------------------------------


def _state_frequencies(samples, probabilities) -> tuple[np.ndarray, np.ndarray, int]:
    p = np.asarray(probabilities, dtype=float)
    if p.ndim != 1 or p.size < 2 or np.any(p < 0) or not np.all(np.isfinite(p)):
        raise ValueError("probabilities must be a 1-D array of non-negative finite numbers")
    n = int(round(math.log2(p.size)))
    if 2**n != p.size:
        raise ValueError(f"probabilities must have 2^n entries, got {p.size}")
    p = p / p.sum()
    codes = encode(samples, n).ravel()
    if codes.size == 0:
        raise ValueError("samples must not be empty")
    freq = np.bincount(codes, minlength=p.size) / codes.size
    return freq, p, codes.size


_NULL_CACHE: dict = {}


def _tv_null(p: np.ndarray, n_draws: int, n_bootstrap: int, rng) -> np.ndarray:
    """TV distances of ``n_bootstrap`` multinomial(n_draws, p) samples from ``p``.

    With an int seed the result is a deterministic function of the arguments, so it is
    cached (testing several samplers against one target costs one bootstrap).
    """
    key = None
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        key = (p.tobytes(), n_draws, n_bootstrap, int(rng))
        if key in _NULL_CACHE:
            return _NULL_CACHE[key]
    gen = _rng(rng)
    null = np.empty(n_bootstrap)
    for start in range(0, n_bootstrap, 250):       # blocks keep the count matrix small
        counts = gen.multinomial(n_draws, p, size=min(250, n_bootstrap - start))
        null[start:start + len(counts)] = 0.5 * np.abs(counts / n_draws - p).sum(axis=1)
    if key is not None:
        if len(_NULL_CACHE) >= 16:
            _NULL_CACHE.clear()
        null.setflags(write=False)
        _NULL_CACHE[key] = null
    return null


def tv_distance_states(samples, probabilities) -> float:
    r"""TV distance ``1/2 sum_k |hat p_k - p_k|`` between sample frequencies and exact probabilities.

    Parameters
    ----------
    samples : array, shape (..., n), spins in {-1, +1}
    probabilities : array, shape (2^n,)
        Exact probabilities in code order (e.g. :meth:`IsingChain.probabilities`).
    """
    freq, p, _ = _state_frequencies(samples, probabilities)
    return float(0.5 * np.abs(freq - p).sum())


def tv_test_states(
    samples,
    probabilities,
    *,
    n_eff: float | None = None,
    level: float = 0.01,
    n_bootstrap: int = 2000,
    rng: int | np.random.Generator = 0,
) -> TVTest:
    """Multinomial bootstrap TV test of samples against exact state probabilities.

    The discrete analogue of :func:`lib.stats.tv_test` over the ``2^n``
    states: under the null hypothesis the state counts of ``n_eff`` independent
    samples are multinomial with the exact probabilities; the threshold is the
    ``1 - level`` quantile of the TV distance of ``n_bootstrap`` simulated
    multinomial samples of that size.

    Parameters
    ----------
    samples : array, shape (..., n), spins in {-1, +1}
    probabilities : array, shape (2^n,)
    n_eff : float, optional
        Effective sample size (default: the number of samples, right for the
        final states of independent chains).
    level : float
        False-rejection probability, in (0, 1).
    n_bootstrap : int
        Number of simulated samples, >= 100.
    rng : int or Generator
        Seed of the bootstrap.
    """
    if not (0 < level < 1):
        raise ValueError(f"level must be in (0, 1), got {level}")
    n_bootstrap = _count(n_bootstrap, "n_bootstrap", 100)
    freq, p, size = _state_frequencies(samples, probabilities)
    n = float(size if n_eff is None else n_eff)
    if not (n >= 1 and math.isfinite(n)):
        raise ValueError(f"n_eff must be a finite number >= 1, got {n_eff}")
    distance = float(0.5 * np.abs(freq - p).sum())
    n_draws = max(int(round(n)), 1)
    null = _tv_null(p, n_draws, n_bootstrap, rng)
    threshold = float(np.quantile(null, 1 - level))
    return TVTest(distance, threshold, float(null.mean()), n, level, distance <= threshold)
