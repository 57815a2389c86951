r"""MCMC on exponentially large discrete spaces: binary "sentences" with pairwise scores.

A binary "sentence" of ``n`` tokens is a spin vector ``s = (s_0, ..., s_{n-1})``
with every ``s_i`` in ``{-1, +1}`` (this module uses spins, never ``{0, 1}``
bits). Two models with a pairwise energy are provided:

* :class:`IsingChain`, nearest-neighbour couplings on an open chain or a ring,

  .. math:: L(s) = -\sum_{i} J_i\, s_i s_{i+1} - \sum_{i=0}^{n-1} b_i\, s_i ;

  its normalizer, marginals and exact samples cost ``O(n)`` by transfer
  matrices (:meth:`IsingChain.transfer_log_partition`,
  :meth:`IsingChain.transfer_moments`, :meth:`IsingChain.exact_samples`);
* :class:`PairwiseModel`, any symmetric coupling matrix,
  ``L(s) = -1/2 s^T J s - b^T s`` (for example the long-range score
  :meth:`PairwiseModel.long_range`), for which no such shortcut exists.

The target is the Gibbs distribution ``p(s) = exp(-L(s)/T) / Z(T)`` on the
``2^n`` states; in the lecture's words ``score(s) = -L(s)/T``. ``J > 0`` makes
tokens agree (ferromagnetic). The per-token preferences ``b_i`` are called
``fields`` in the code.

Every site feels the *local field* of the other tokens and its own preference,
``f_i(s) = b_i + sum_j J_ij s_j`` (for the chain ``b_i + J_{i-1} s_{i-1} + J_i
s_{i+1}``, missing neighbours of an open chain contributing 0), so flipping
site ``i`` changes the energy by ``Delta L = 2 s_i f_i(s)`` and the conditional
law of ``s_i`` given the rest is ``P(s_i = +1 | rest) = 1 / (1 + exp(-2 f_i / T))``.

States are encoded as integers ``k = sum_i c_i 2^(n-1-i)`` with bits
``c_i = (s_i + 1) / 2``: site 0 is the most significant bit, so ``states()``
lists the states in lexicographic order and ``states()[k]`` is the state with
code ``k``.

The samplers follow :mod:`lib.samplers`: one *sweep* is ``n`` single-site
updates, and the chain keeps the states after sweeps ``burn_in + 1,
burn_in + 1 + thin, ...``; ``rng`` is an int seed or a Generator. Three update
rules exist: Metropolis flips, Gibbs (heat-bath) updates and
Metropolis-Hastings with the asymmetric "biased coin" proposal
(:func:`metropolis_hastings`). For small ``n`` the exact random-scan transition
matrix is available as a sparse matrix, with the exact integrated
autocorrelation time, relaxation time and distance to ``p`` after ``t`` sweeps
computed from it (:func:`exact_autocorrelation_time`,
:func:`relaxation_time`, :func:`tv_after_sweeps`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from ._validate import _count, _positive, _probability, _rng
from .samplers import Chain
from .stats import Rate, TVTest, rejection_rate

__all__ = [
    "IsingChain",
    "PairwiseModel",
    "TransferMoments",
    "encode",
    "decode",
    "metropolis_flips",
    "gibbs_sampler",
    "metropolis_hastings",
    "sparse_transition_matrix",
    "exact_autocorrelation_time",
    "relaxation_time",
    "tv_after_sweeps",
    "tv_distance_states",
    "tv_test_states",
    "tv_power_states",
    "stationary_distribution",
    "detailed_balance_violation",
    "MomentZScores",
    "moment_z_scores",
    "min_one_exp",
]

#: Largest ``n`` for exact enumeration (2^20 states), for dense transition matrices
#: and for sparse ones.
MAX_ENUMERATE = 20
MAX_MATRIX = 10
MAX_SPARSE = 16

_METHODS = ("metropolis", "gibbs", "metropolis-hastings", "uncorrected")


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


class _BinaryModel:
    """Exact enumeration and transition matrices shared by the binary models.

    Subclasses provide ``n``, ``fields``, ``energy(x)`` and ``local_field(x)``.
    """

    n: int
    fields: np.ndarray

    def _spins(self, x, name: str = "x") -> np.ndarray:
        x = np.asarray(x)
        if x.ndim == 0 or x.shape[-1] != self.n:
            raise ValueError(f"{name} must have shape (..., {self.n}) (one spin per site), got {x.shape}")
        if not np.all((x == 1) | (x == -1)):
            raise ValueError(f"{name} must contain spins in {{-1, +1}} only")
        return x

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
    def _flip_table(self, method: str, temperature: float, proposal_plus: float) -> np.ndarray:
        """Probability that an update of site i flips state k, shape (2^n, n)."""
        T = _positive(temperature, "temperature")
        if method not in _METHODS:
            raise ValueError(f"method must be one of {', '.join(map(repr, _METHODS))}, got {method!r}")
        S = self.states()
        delta = 2.0 * S * self.local_field(S)                # (2^n, n): Delta L of flipping site i
        return _flip_probability(delta, T, method, S, _probability(proposal_plus, "proposal_plus"))

    def site_kernels(self, *, method: str = "metropolis", temperature: float = 1.0,
                     proposal_plus: float = 0.5) -> np.ndarray:
        r"""The single-site kernels ``P_i``, shape (n, 2^n, 2^n) (n <= 10).

        ``P_i[k, l]`` is the probability that an update of site ``i`` moves
        state ``k`` to state ``l``: to the state with site ``i`` flipped with
        probability ``a_i(k)``, otherwise it stays. With ``Delta L = 2 s_i f_i(s)``:
        ``a_i = min(1, exp(-Delta L / T))`` for ``method="metropolis"``;
        ``a_i = 1 / (1 + exp(Delta L / T))`` (the conditional probability of the
        flipped value) for ``"gibbs"``; for ``"metropolis-hastings"`` the biased
        coin proposes the value ``+1`` with probability ``theta = proposal_plus``
        and ``a_i = q_flip min(1, exp(-Delta L / T) q_back / q_flip)``, and
        ``"uncorrected"`` drops the ratio ``q_back / q_flip`` (a negative control:
        it samples a different distribution, see :func:`metropolis_hastings`).
        """
        self._check_enumerable(MAX_MATRIX)
        flip = self._flip_table(method, temperature, proposal_plus)
        m = 2 ** self.n
        codes = np.arange(m)
        P = np.zeros((self.n, m, m))
        for i in range(self.n):
            partner = codes ^ (1 << (self.n - 1 - i))
            P[i, codes, partner] = flip[:, i]
            P[i, codes, codes] = 1.0 - flip[:, i]
        return P

    def transition_matrix(self, *, method: str = "metropolis", temperature: float = 1.0,
                          scan: str = "random", proposal_plus: float = 0.5) -> np.ndarray:
        r"""The transition matrix of one single-site update (random scan) or one sweep (systematic).

        ``scan="random"``: ``P = (1/n) sum_i P_i`` (pick a site uniformly, update it);
        ``scan="systematic"``: ``P = P_0 P_1 ... P_{n-1}`` (one sweep in site order).
        Rows sum to one; shape (2^n, 2^n) (n <= 10). The random-scan matrix is
        reversible with respect to ``p`` (except for ``method="uncorrected"``,
        which is reversible with respect to another distribution); the
        systematic-scan matrix leaves ``p`` stationary but is in general not
        reversible. See :func:`sparse_transition_matrix` for larger ``n``.
        """
        if scan not in ("random", "systematic"):
            raise ValueError(f"scan must be 'random' or 'systematic', got {scan!r}")
        kernels = self.site_kernels(method=method, temperature=temperature, proposal_plus=proposal_plus)
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


@dataclass(frozen=True)
class TransferMoments:
    """Exact moments of an :class:`IsingChain` from transfer matrices.

    Attributes
    ----------
    log_partition : float
        ``log Z(T)``.
    magnetizations : ndarray, shape (n,)
        ``E[s_i]``; the marginals are ``P(s_i = +1) = (1 + E[s_i]) / 2``.
    bond_correlations : ndarray, shape (n_pairs,)
        ``E[s_i s_{i+1}]`` for the chain's pairs (the last one is ``(n-1, 0)`` for a ring).
    mean_energy : float
        ``E[L] = -sum_i J_i E[s_i s_{i+1}] - sum_i b_i E[s_i]``.
    """

    log_partition: float
    magnetizations: np.ndarray
    bond_correlations: np.ndarray
    mean_energy: float

    @property
    def marginals(self) -> np.ndarray:
        """``P(s_i = +1)``, shape (n,)."""
        return 0.5 * (1.0 + self.magnetizations)


@dataclass(frozen=True, eq=False)
class IsingChain(_BinaryModel):
    r"""An Ising chain with couplings and fields: ``L(s) = -sum J_i s_i s_{i+1} - sum b_i s_i``.

    Parameters
    ----------
    n : int
        Number of sites (tokens), ``n >= 2``.
    couplings : float or array, shape (n - 1,) (open) or (n,) (periodic)
        ``J_i`` couples sites ``i`` and ``i + 1`` (for a ring, ``J_{n-1}``
        couples ``n - 1`` and ``0``). A scalar is used for every pair.
    fields : float or array, shape (n,)
        ``b_i``, the preference of site ``i`` for ``+1``. A scalar is used for
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
    def energy(self, x) -> np.ndarray:
        r"""``L(s) = -sum_i J_i s_i s_{i+1} - sum_i b_i s_i``.

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
        r"""``f_i(s) = b_i + J_{i-1} s_{i-1} + J_i s_{i+1}`` for every site, shape (..., n)."""
        s = self._spins(x).astype(float)
        left, right, J_left, J_right = self.neighbours()
        return self.fields + J_left * s[..., left] + J_right * s[..., right]

    # -- transfer matrices ----------------------------------------------------
    def _forward(self, T: float, start: int | None):
        """Normalized forward messages ``alpha_i(s)`` (n, 2) and ``log`` of their total.

        ``alpha_i(s)`` is proportional to the weight of all configurations of sites
        ``0..i`` with ``s_i = s`` (index 0 is ``s = -1``, index 1 is ``s = +1``);
        with ``start`` (+1 or -1) site 0 is clamped to that value.
        """
        spins = np.array([-1.0, 1.0])
        phi = np.exp(np.outer(self.fields, spins) / T - np.abs(self.fields)[:, None] / T)
        log_shift = np.abs(self.fields).sum() / T
        alpha = np.empty((self.n, 2))
        a = phi[0].copy()
        if start is not None:
            a[spins != start] = 0.0
        log_norm = log_shift
        total = a.sum()
        alpha[0] = a / total
        log_norm += math.log(total)
        for i in range(self.n - 1):
            J = self.couplings[i]
            psi = np.exp(J * np.outer(spins, spins) / T - abs(J) / T)
            a = (alpha[i] @ psi) * phi[i + 1]
            total = a.sum()
            alpha[i + 1] = a / total
            log_norm += math.log(total) + abs(J) / T
        return alpha, log_norm

    def _closing(self, T: float, start: int | None) -> tuple[np.ndarray, float]:
        """The factor of the last site: 1 for an open chain, ``psi(s_{n-1}, start)`` for a ring."""
        if not self.periodic:
            return np.ones(2), 0.0
        J = self.couplings[-1]
        return np.exp(J * np.array([-1.0, 1.0]) * start / T - abs(J) / T), abs(J) / T

    def _branches(self, T: float):
        """(weight of the branch, start, alpha, closing) for the open chain or both ring branches."""
        starts = (-1, 1) if self.periodic else (None,)
        out = []
        for start in starts:
            alpha, log_norm = self._forward(T, start)
            close, log_close = self._closing(T, start)
            out.append((log_norm + log_close + math.log(alpha[-1] @ close), start, alpha, close))
        return out

    def transfer_log_partition(self, *, temperature: float = 1.0) -> float:
        r"""``log Z(T)`` by transfer matrices, in ``O(n)`` for any ``n``.

        ``Z = 1^T D_0 M_0 D_1 M_1 \cdots D_{n-1} 1`` with the 2x2 matrices
        ``M_i[s, s'] = exp(J_i s s' / T)`` and ``D_i = diag(exp(b_i s / T))``
        (for a ring the trace closes the product), evaluated with a rescaling at
        every site so that no overflow occurs.
        """
        T = _positive(temperature, "temperature")
        logs = [b[0] for b in self._branches(T)]
        top = max(logs)
        return float(top + math.log(sum(math.exp(v - top) for v in logs)))

    def _backward(self, T: float, start: int | None, close: np.ndarray) -> np.ndarray:
        """Normalized backward messages ``beta_i(s)``, shape (n, 2)."""
        spins = np.array([-1.0, 1.0])
        phi = np.exp(np.outer(self.fields, spins) / T - np.abs(self.fields)[:, None] / T)
        beta = np.empty((self.n, 2))
        beta[-1] = close / close.sum()
        for i in range(self.n - 2, -1, -1):
            J = self.couplings[i]
            psi = np.exp(J * np.outer(spins, spins) / T - abs(J) / T)
            b = psi @ (phi[i + 1] * beta[i + 1])
            beta[i] = b / b.sum()
        return beta

    def transfer_moments(self, *, temperature: float = 1.0) -> TransferMoments:
        """Exact ``log Z``, ``E[s_i]``, ``E[s_i s_{i+1}]`` and ``E[L]`` in ``O(n)``.

        Forward and backward messages of the transfer matrices give every
        single-site and neighbour-pair marginal (for a ring, the two values of
        ``s_0`` are treated as two open chains closed by the last bond).
        """
        T = _positive(temperature, "temperature")
        spins = np.array([-1.0, 1.0])
        branches = self._branches(T)
        logs = np.array([b[0] for b in branches])
        weights = np.exp(logs - logs.max())
        weights /= weights.sum()
        n_pairs = len(self.couplings)
        mag = np.zeros(self.n)
        bonds = np.zeros(n_pairs)
        phi = np.exp(np.outer(self.fields, spins) / T - np.abs(self.fields)[:, None] / T)
        for w, (_, start, alpha, close) in zip(weights, branches):
            beta = self._backward(T, start, close)
            single = alpha * beta
            single /= single.sum(axis=1, keepdims=True)
            mag += w * (single @ spins)
            for i in range(self.n - 1):
                J = self.couplings[i]
                psi = np.exp(J * np.outer(spins, spins) / T - abs(J) / T)
                pair = alpha[i][:, None] * psi * (phi[i + 1] * beta[i + 1])[None, :]
                bonds[i] += w * (spins @ (pair / pair.sum()) @ spins)
            if self.periodic:
                # the closing bond (n-1, 0): s_0 = start in this branch
                bonds[-1] += w * (single[-1] @ spins) * start
        log_Z = float(logs.max() + math.log(np.exp(logs - logs.max()).sum()))
        energy = float(-(self.couplings @ bonds) - self.fields @ mag)
        return TransferMoments(log_Z, mag, bonds, energy)

    def exact_samples(self, size: int, *, temperature: float = 1.0,
                      rng: int | np.random.Generator | None = None) -> np.ndarray:
        """Independent exact draws from ``p`` by forward filtering, backward sampling.

        ``O(n)`` per draw for any ``n`` (vectorized over the draws): sample
        ``s_{n-1}`` from its marginal given the forward messages, then each
        ``s_i`` given ``s_{i+1}`` from ``alpha_i(s) exp(J_i s s_{i+1} / T)``
        (for a ring, first the value of ``s_0``).

        Returns
        -------
        ndarray of int8, shape (size, n)
        """
        T = _positive(temperature, "temperature")
        size = _count(size, "size", 1)
        gen = _rng(rng)
        branches = self._branches(T)
        logs = np.array([b[0] for b in branches])
        weights = np.exp(logs - logs.max())
        weights /= weights.sum()
        which = gen.choice(len(branches), size=size, p=weights)
        out = np.empty((size, self.n), dtype=np.int8)
        spins = np.array([-1, 1], dtype=np.int8)
        for k, (_, start, alpha, close) in enumerate(branches):
            rows = np.flatnonzero(which == k)
            if rows.size == 0:
                continue
            m = rows.size
            last = alpha[-1] * close
            idx = (gen.random(m) < last[1] / last.sum()).astype(int)      # 1 means s = +1
            block = np.empty((m, self.n), dtype=np.int8)
            block[:, -1] = spins[idx]
            for i in range(self.n - 2, -1, -1):
                J = self.couplings[i]
                s_next = block[:, i + 1].astype(float)
                w_minus = alpha[i, 0] * np.exp(-J * s_next / T)
                w_plus = alpha[i, 1] * np.exp(J * s_next / T)
                idx = (gen.random(m) * (w_minus + w_plus) < w_plus).astype(int)
                block[:, i] = spins[idx]
            out[rows] = block
        return out


@dataclass(frozen=True, eq=False)
class PairwiseModel(_BinaryModel):
    r"""Binary tokens with any symmetric couplings: ``L(s) = -1/2 s^T J s - b^T s``.

    Parameters
    ----------
    couplings : array, shape (n, n)
        Symmetric, finite, zero diagonal; ``J_ij`` couples sites ``i`` and ``j``
        (each pair counted once in ``L``).
    fields : float or array, shape (n,), keyword-only
        ``b_i``.

    The local field is ``f_i(s) = b_i + sum_j J_ij s_j``. Nothing like a
    transfer matrix makes ``Z`` cheap for a general coupling matrix: exact
    enumeration (``n <= 20``) and sampling are what is left.
    """

    couplings: np.ndarray
    fields: np.ndarray = field(default=0.0, kw_only=True)

    def __post_init__(self):
        J = np.array(self.couplings, dtype=float)
        if J.ndim != 2 or J.shape[0] != J.shape[1] or J.shape[0] < 2:
            raise ValueError(f"couplings must be a square (n, n) matrix with n >= 2, got shape {J.shape}")
        if not np.all(np.isfinite(J)) or not np.allclose(J, J.T) or np.any(np.diag(J) != 0):
            raise ValueError("couplings must be finite and symmetric with a zero diagonal")
        J.setflags(write=False)
        object.__setattr__(self, "couplings", J)
        object.__setattr__(self, "fields", _as_vector(self.fields, J.shape[0], "fields"))

    @property
    def n(self) -> int:
        """Number of sites."""
        return self.couplings.shape[0]

    @classmethod
    def long_range(cls, n: int, strength: float, *, exponent: float = 2.0, fields=0.0) -> "PairwiseModel":
        r"""Couplings decaying with distance along the sentence, ``J_ij = J / |i - j|^alpha``.

        Every token interacts with every other one, as words in a sentence do:
        conditioning on one token no longer splits the sentence in two, so
        transfer matrices would have to carry the whole past (``2^n`` states).
        """
        n = _count(n, "n", 2)
        gap = np.abs(np.subtract.outer(np.arange(n), np.arange(n))).astype(float)
        with np.errstate(divide="ignore"):
            J = np.where(gap > 0, float(strength) / np.where(gap > 0, gap, 1.0) ** float(exponent), 0.0)
        return cls(J, fields=fields)

    def energy(self, x) -> np.ndarray:
        """``L(s) = -1/2 s^T J s - b^T s``, shape (...)."""
        s = self._spins(x).astype(float)
        return -0.5 * np.einsum("...i,ij,...j->...", s, self.couplings, s) - s @ self.fields

    def local_field(self, x) -> np.ndarray:
        """``f_i(s) = b_i + sum_j J_ij s_j``, shape (..., n)."""
        s = self._spins(x).astype(float)
        return self.fields + s @ self.couplings


def _flip_probability(delta: np.ndarray, T: float, method: str, spins=None,
                      theta: float = 0.5) -> np.ndarray:
    """Probability that an update flips a site whose flip costs ``delta``.

    For the Metropolis-Hastings rules ``spins`` holds the current values: the biased
    coin proposes the flip with probability ``theta`` from -1 and ``1 - theta`` from +1.
    """
    with np.errstate(over="ignore"):
        if method == "metropolis":
            return np.exp(-np.maximum(delta, 0.0) / T)
        if method == "gibbs":
            return 0.5 * (1.0 - np.tanh(delta / (2.0 * T)))       # = 1 / (1 + exp(delta / T))
        q_flip = np.where(spins < 0, theta, 1.0 - theta)
        q_back = 1.0 - q_flip
        log_ratio = -delta / T
        if method == "metropolis-hastings":
            log_ratio = log_ratio + np.log(q_back / q_flip)
        return q_flip * np.exp(np.minimum(log_ratio, 0.0))


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
    if not isinstance(model, _BinaryModel):
        raise ValueError("model must be a lib.discrete.IsingChain or PairwiseModel, "
                         f"got {type(model).__name__}")
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


def _run(model, x0, n_sweeps, temperature, rng, burn_in, thin, scan, method,
         theta: float = 0.5) -> Chain:
    x, single, T, n_sweeps, burn_in, thin, samples = _setup(model, x0, n_sweeps, burn_in, thin,
                                                            temperature, scan)
    gen = _rng(rng)
    n_chains, n = x.shape
    dense = isinstance(model, PairwiseModel)
    if dense:
        Jmat = model.couplings
    else:
        left, right, J_left, J_right = model.neighbours()
    b = model.fields
    flat = x.reshape(-1)                       # a view: updating flat updates x
    rows = np.arange(n_chains) * n
    n_flips = np.zeros(n_chains)
    flips = np.empty((n, n_chains), dtype=bool)
    systematic = np.repeat(np.arange(n)[:, None], n_chains, axis=1)
    log_odds = math.log(theta / (1.0 - theta))
    with np.errstate(divide="ignore"):
        for k in range(n_sweeps):
            # One sweep's random numbers and site geometry, drawn at once. With random scan
            # every chain updates its own random site (so the chains stay independent);
            # with systematic scan all chains update site j at update j.
            u = gen.random((n, n_chains))
            sites = gen.integers(0, n, size=(n, n_chains)) if scan == "random" else systematic
            pos = rows + sites
            if method in ("metropolis-hastings", "uncorrected"):
                # the biased coin proposes +1 with probability theta; a proposal equal
                # to the current value changes nothing
                proposal = np.where(gen.random((n, n_chains)) < theta, 1.0, -1.0)
            if method == "gibbs":
                # s_i = +1 iff u < 1 / (1 + exp(-2 f / T)), i.e. f > (T/2) logit(u)
                cut = 0.5 * T * (np.log(u) - np.log1p(-u))
            else:
                # flip iff u < exp(-2 s f / T) * (q ratio), i.e. s f < -(T/2) (log u - log q ratio)
                cut = -0.5 * T * np.log(u)
                if method == "metropolis-hastings":
                    # q(back) / q(flip) = ((1 - theta) / theta)^(proposed value)
                    cut = cut - 0.5 * T * proposal * log_odds
            if not dense:
                pos_l, pos_r = rows + left[sites], rows + right[sites]
                JL, JR = J_left[sites], J_right[sites]
            for j in range(n):
                s = flat[pos[j]]
                if dense:
                    f = b[sites[j]] + np.einsum("cn,cn->c", Jmat[sites[j]], x)
                else:
                    f = JL[j] * flat[pos_l[j]]
                    f += JR[j] * flat[pos_r[j]]
                    f += b[sites[j]]
                if method == "gibbs":
                    new = np.where(f > cut[j], 1.0, -1.0)
                    np.not_equal(new, s, out=flips[j])
                else:
                    f *= s
                    flip = np.less(f, cut[j], out=flips[j])
                    if method != "metropolis":
                        flip &= proposal[j] != s
                    new = s - 2.0 * s * flip
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
    model: IsingChain | PairwiseModel,
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
    model : IsingChain or PairwiseModel
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
    model: IsingChain | PairwiseModel,
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


def metropolis_hastings(
    model: IsingChain | PairwiseModel,
    x0,
    *,
    n_sweeps: int,
    proposal_plus: float,
    temperature: float = 1.0,
    rng: int | np.random.Generator | None = None,
    burn_in: int = 0,
    thin: int = 1,
    scan: str = "random",
    correct: bool = True,
) -> Chain:
    r"""Metropolis-Hastings with an asymmetric single-site proposal (a biased coin).

    Each update picks a site ``i`` as in :func:`metropolis_flips` and proposes
    the value ``+1`` with probability ``theta = proposal_plus`` and ``-1``
    otherwise, whatever the current value, so ``q(+1) / q(-1) = theta / (1 -
    theta)``: the proposal is not symmetric. A proposal that differs from
    ``s_i`` is accepted with the Metropolis-Hastings probability

    .. math:: \min\Bigl(1, \frac{p(s')\, q(s_i)}{p(s)\, q(s_i')}\Bigr)
              = \min\Bigl(1, e^{-\Delta L/T}\, \frac{q(s_i)}{q(s_i')}\Bigr),

    which satisfies detailed balance with ``p``. With ``correct=False`` the
    ratio ``q(s_i)/q(s_i')`` is dropped (the classic mistake, a negative
    control): the chain is then reversible with respect to the Gibbs
    distribution with every field shifted by ``(T/2) log(theta / (1 - theta))``,
    not with respect to ``p``.

    Arguments and returns as in :func:`metropolis_flips`; ``acceptance_rate``
    is the fraction of updates that changed the site.
    """
    theta = _probability(proposal_plus, "proposal_plus")
    method = "metropolis-hastings" if correct else "uncorrected"
    return _run(model, x0, n_sweeps, temperature, rng, burn_in, thin, scan, method, theta)


# ----------------------------------------------------------------------------
# exact mixing from the sparse random-scan transition matrix
# ----------------------------------------------------------------------------


def sparse_transition_matrix(model: IsingChain | PairwiseModel, *, method: str = "metropolis",
                             temperature: float = 1.0, proposal_plus: float = 0.5) -> scipy.sparse.csr_matrix:
    """The random-scan single-update transition matrix as a sparse matrix (n <= 16).

    The same matrix as ``model.transition_matrix(scan="random")`` (``n + 1``
    non-zeros per row), in CSR format, for chains too long for a dense matrix.
    """
    if not isinstance(model, _BinaryModel):
        raise ValueError(f"model must be an IsingChain or PairwiseModel, got {type(model).__name__}")
    model._check_enumerable(MAX_SPARSE)
    flip = model._flip_table(method, temperature, proposal_plus) / model.n      # (2^n, n)
    m = 2 ** model.n
    codes = np.arange(m)
    rows = [codes]
    cols = [codes]
    vals = [1.0 - flip.sum(axis=1)]
    for i in range(model.n):
        rows.append(codes)
        cols.append(codes ^ (1 << (model.n - 1 - i)))
        vals.append(flip[:, i])
    return scipy.sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                   shape=(m, m))


def _symmetrized(model, method, temperature):
    P = sparse_transition_matrix(model, method=method, temperature=temperature)
    p = model.probabilities(temperature=temperature)
    root = np.sqrt(p)
    S = scipy.sparse.diags(root) @ P @ scipy.sparse.diags(1.0 / root)
    return (S + S.T) * 0.5, p, root             # symmetric up to round-off for reversible P


def exact_autocorrelation_time(model: IsingChain | PairwiseModel, observable, *, method: str = "gibbs",
                               temperature: float = 1.0, tol: float = 1e-10) -> float:
    r"""Exact integrated autocorrelation time, in sweeps, of a random-scan sampler (n <= 16).

    For a chain recorded once per sweep of ``n`` updates, ``K = P^n``, and a
    statistic ``f`` with ``E_p f = 0`` after centring,

    .. math:: \tau = 1 + 2 \sum_{k \ge 1} \rho(k)
              = \frac{2 \langle f, (I - K)^{-1} f \rangle_p}{\langle f, f \rangle_p} - 1 ,

    solved by conjugate gradients on the symmetrized matrix
    ``D^{1/2} K D^{-1/2}`` (``D = diag p``; the samplers here are reversible).

    Parameters
    ----------
    observable : array, shape (2^n,)
        ``f`` at every state, in code order (e.g. ``states().mean(axis=1)``).
    method : {"metropolis", "gibbs", "metropolis-hastings"}
    """
    if method == "uncorrected":
        raise ValueError("method must be a reversible sampler with respect to p, not 'uncorrected'")
    S, p, root = _symmetrized(model, method, temperature)
    f = np.asarray(observable, dtype=float)
    if f.shape != p.shape:
        raise ValueError(f"observable must have shape {p.shape} (one value per state), got {f.shape}")
    f = f - p @ f
    g = root * f
    norm = g @ g
    if norm <= 0:
        raise ValueError("observable is constant under p: its autocorrelation time is undefined")
    n = model.n

    def apply(v):
        out = v
        for _ in range(n):
            out = S @ out
        return v - out

    A = scipy.sparse.linalg.LinearOperator(S.shape, matvec=apply, dtype=float)
    x, info = scipy.sparse.linalg.cg(A, g, rtol=tol, atol=0.0, maxiter=20_000)
    if info != 0:
        raise ValueError(f"conjugate gradients did not converge (info={info}); the chain mixes too slowly")
    return float(2.0 * (g @ x) / norm - 1.0)


def relaxation_time(model: IsingChain | PairwiseModel, *, method: str = "gibbs",
                    temperature: float = 1.0) -> float:
    r"""Relaxation time ``1 / (n (-log lambda_*))`` in sweeps (n <= 16).

    ``lambda_* = max(lambda_2, |lambda_min|)`` is the second largest eigenvalue
    modulus of the random-scan matrix (Lanczos on its symmetrized form): the
    distance to ``p`` shrinks by a factor ``e`` every relaxation time, once the
    start-dependent constant is paid (see :func:`tv_after_sweeps`).
    """
    S, _, root = _symmetrized(model, method, temperature)
    v0 = np.linspace(1.0, 2.0, S.shape[0])
    # deflate the top eigenvector sqrt(p) (eigenvalue 1)
    top = root / np.linalg.norm(root)
    deflated = scipy.sparse.linalg.LinearOperator(
        S.shape, matvec=lambda v: S @ v - top * (top @ v), dtype=float)
    high = scipy.sparse.linalg.eigsh(deflated, k=1, which="LA", v0=v0, return_eigenvectors=False)[0]
    low = scipy.sparse.linalg.eigsh(deflated, k=1, which="SA", v0=v0, return_eigenvectors=False)[0]
    lam = max(high, -low)
    return float(1.0 / (model.n * -math.log(lam)))


def tv_after_sweeps(model: IsingChain | PairwiseModel, initial, sweeps, *, method: str = "gibbs",
                    temperature: float = 1.0) -> np.ndarray:
    r"""Exact total variation distance ``||mu_0 K^t - p||_TV`` after ``t`` sweeps (n <= 16).

    ``mu_0`` is the distribution of the starting state (``initial``, shape
    (2^n,); e.g. uniform for random starting sentences) and ``K = P^n`` one
    random-scan sweep; the law of the state is propagated by sparse products.

    Returns
    -------
    ndarray, shape (len(sweeps),)
    """
    P = sparse_transition_matrix(model, method=method, temperature=temperature)
    p = model.probabilities(temperature=temperature)
    mu = np.asarray(initial, dtype=float)
    if mu.shape != p.shape or np.any(mu < 0) or not math.isclose(mu.sum(), 1.0, rel_tol=1e-9):
        raise ValueError(f"initial must be a probability vector of shape {p.shape}")
    sweeps = np.asarray(sweeps)
    if sweeps.ndim != 1 or np.any(sweeps < 0) or np.any(np.diff(sweeps) < 0):
        raise ValueError("sweeps must be a non-decreasing 1-D sequence of non-negative integers")
    PT = P.T.tocsr()
    out = np.empty(len(sweeps))
    done = 0
    for j, t in enumerate(sweeps):
        for _ in range((int(t) - done) * model.n):
            mu = PT @ mu
        done = int(t)
        out[j] = 0.5 * np.abs(mu - p).sum()
    return out


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
    p_value = (1.0 + np.count_nonzero(null >= distance)) / (1.0 + null.size)
    return TVTest(distance, threshold, float(null.mean()), n, level, distance <= threshold,
                  float(p_value))


def tv_power_states(
    p_true,
    p_test,
    *,
    size: int,
    n_repeats: int = 200,
    level: float = 0.01,
    rng: int | np.random.Generator | None = 0,
    test_rng: int = 0,
) -> Rate:
    """Rejection rate of :func:`tv_test_states` against ``p_test`` for exact draws from ``p_true``.

    Each repeat draws ``size`` independent states from ``p_true`` (a
    multinomial count over the ``2^n`` states) and runs
    ``tv_test_states(draws, p_test, level=level, rng=test_rng)``. With
    ``p_true = p_test`` the rate is the test's false-alarm rate; otherwise it is
    its power against the alternative ``p_true`` (the discrete analogue of
    :func:`lib.stats.tv_power`).

    Parameters
    ----------
    p_true, p_test : array, shape (2^n,)
        Probabilities in code order (e.g. :meth:`IsingChain.probabilities`).
    size : int
        Draws per simulated run, >= 1.
    n_repeats : int
        Simulated runs, >= 1.
    level : float
        Level of the test, in (0, 1).
    rng : int, Generator or None
        Seed of the simulated runs (their generators are spawned from it).
    test_rng : int
        Seed of the test's bootstrap (fixed, as in the real test, so its
        threshold is computed once).

    Returns
    -------
    lib.stats.Rate
        The rejection rate with its binomial standard error.
    """
    p_true = np.asarray(p_true, dtype=float)
    n = int(round(math.log2(p_true.size))) if p_true.size >= 2 else 0
    if p_true.ndim != 1 or n < 1 or 2**n != p_true.size or np.any(p_true < 0):
        raise ValueError(f"p_true must be a probability vector with 2^n entries, got shape {p_true.shape}")
    if np.shape(p_test) != p_true.shape:
        raise ValueError(f"p_test must have the shape of p_true {p_true.shape}, got {np.shape(p_test)}")
    if not math.isclose(p_true.sum(), 1.0, rel_tol=1e-9):
        raise ValueError(f"p_true must sum to 1, got {p_true.sum()}")
    size = _count(size, "size", 1)

    def one(g):
        codes = np.repeat(np.arange(p_true.size), g.multinomial(size, p_true))
        return tv_test_states(decode(codes, n), p_test, level=level, rng=test_rng)

    return rejection_rate(one, n_repeats=n_repeats, rng=rng)


# ----------------------------------------------------------------------------
# exact checks of a transition matrix
# ----------------------------------------------------------------------------


def _square(P) -> np.ndarray:
    P = np.asarray(P, dtype=float)
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] < 1:
        raise ValueError(f"P must be a square matrix, got shape {P.shape}")
    return P


def stationary_distribution(P) -> np.ndarray:
    r"""The stationary vector ``pi`` of a transition matrix: ``pi P = pi``, ``sum(pi) = 1``.

    Solves ``(P^T - I) pi = 0`` with its last row replaced by the normalization
    ``sum(pi) = 1`` (a dense solve; the chain must be irreducible, so that
    ``pi`` is unique).

    Parameters
    ----------
    P : array, shape (m, m)
        Row-stochastic: ``P[x, y]`` is the probability of ``x -> y``.

    Returns
    -------
    ndarray, shape (m,)
    """
    P = _square(P)
    A = P.T - np.eye(len(P))
    A[-1] = 1.0
    return np.linalg.solve(A, np.eye(len(P))[-1])


def detailed_balance_violation(P, p) -> float:
    r"""``max_{x,y} |p(x) P(x -> y) - p(y) P(y -> x)|``: zero iff ``P`` is reversible for ``p``.

    Parameters
    ----------
    P : array, shape (m, m)
        Transition matrix.
    p : array, shape (m,)
        The distribution to test (e.g. the exact Gibbs probabilities).
    """
    P = _square(P)
    p = np.asarray(p, dtype=float)
    if p.shape != (len(P),):
        raise ValueError(f"p must have shape ({len(P)},), got {p.shape}")
    flux = p[:, None] * P
    return float(np.abs(flux - flux.T).max())


# ----------------------------------------------------------------------------
# z-tests of independent final states against transfer-matrix moments
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MomentZScores:
    """Result of :func:`moment_z_scores`.

    Attributes
    ----------
    z_energy : float
        ``(mean(L) - E[L]) / SE``, the z-score of the mean energy.
    z_marginals : ndarray, shape (n,)
        ``(hat q_i - P(s_i = +1)) / SE_i`` for every site.
    mean_energy : float
        The sample mean of ``L``.
    se_energy : float
        Its standard error ``std(L) / sqrt(N)`` (ddof=1).
    """

    z_energy: float
    z_marginals: np.ndarray
    mean_energy: float
    se_energy: float

    @property
    def max_abs_z_marginal(self) -> float:
        """The largest ``|z|`` over the sites."""
        return float(np.abs(self.z_marginals).max())

    def z_energy_against(self, mean_energy: float) -> float:
        """The z-score of the sample mean energy against another exact value (e.g. a wrong ``T``)."""
        return float((self.mean_energy - mean_energy) / self.se_energy)


def moment_z_scores(model: IsingChain | PairwiseModel, samples, *,
                    exact: TransferMoments) -> MomentZScores:
    r"""z-scores of the mean energy and of every marginal, for *independent* samples.

    With ``N`` independent states (e.g. the final states of independent
    chains), the sample mean of ``L`` has standard error ``std(L)/sqrt(N)`` and
    the fraction ``hat q_i`` of ``s_i = +1`` has ``sqrt(hat q_i (1 - hat q_i) / N)``;
    both are compared with the exact values (from
    :meth:`IsingChain.transfer_moments`). Under the hypothesis that the samples
    follow ``p``, every z-score is approximately standard normal.

    Parameters
    ----------
    model : IsingChain or PairwiseModel
    samples : array, shape (N, n), spins in {-1, +1}, N >= 2
    exact : TransferMoments
        Exact ``E[L]`` (``mean_energy``) and marginals.

    Returns
    -------
    MomentZScores
    """
    x = model._spins(samples, "samples")
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"samples must have shape (N, {model.n}) with N >= 2, got {x.shape}")
    energy = model.energy(x)
    se_energy = energy.std(ddof=1) / math.sqrt(len(energy))
    q_hat = (x > 0).mean(axis=0)
    se_q = np.sqrt(q_hat * (1 - q_hat) / len(x))
    with np.errstate(divide="ignore", invalid="ignore"):
        z_marg = (q_hat - exact.marginals) / se_q
    if se_energy == 0 or not np.all(np.isfinite(z_marg)):
        raise ValueError("samples are (nearly) constant: a site or the energy never changes, "
                         "so the standard errors are zero; use more samples")
    return MomentZScores(float((energy.mean() - exact.mean_energy) / se_energy), z_marg,
                         float(energy.mean()), float(se_energy))


# ----------------------------------------------------------------------------
# SymPy: the Metropolis acceptance min(1, e^z)
# ----------------------------------------------------------------------------


def min_one_exp(z):
    """SymPy's ``min(1, e^z)``, resolved by the sign of ``z`` when SymPy can prove it.

    ``exp(z)`` if ``z <= 0`` is provable from the symbols' assumptions, ``1`` if
    ``z >= 0`` is, else the unevaluated ``Min(1, exp(z))``. Detailed-balance
    proofs write the two orderings of the energies explicitly (``E`` and
    ``E + delta`` with ``delta > 0``) so that the sign is known.

    Parameters
    ----------
    z : sympy expression
        The log acceptance ratio, e.g. ``-(E_to - E_from) / T``.
    """
    import sympy as sp

    z = sp.sympify(z)
    if z.is_nonpositive:
        return sp.exp(z)
    if z.is_nonnegative:
        return sp.Integer(1)
    return sp.Min(1, sp.exp(z))
