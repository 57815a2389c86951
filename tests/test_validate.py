"""lib._validate: every module's argument checks name the parameter, the allowed range and the value."""

import math

import numpy as np
import pytest

import lib
from lib._validate import _callable, _count, _nonnegative, _positive, _probability, _rng


@pytest.mark.parametrize("value", [0, -1.0, math.nan, math.inf, "a", None])
def test_positive_rejects_and_names_the_range(value):
    with pytest.raises(ValueError, match=r"^step must be a positive finite number \(> 0\), got"):
        _positive(value, "step")


def test_positive_and_nonnegative_return_floats():
    assert _positive(np.float32(0.5), "h") == 0.5 and type(_positive(2, "h")) is float
    assert _nonnegative(0, "T") == 0.0 and type(_nonnegative(np.int64(3), "T")) is float
    for value in (-0.1, math.nan, math.inf, "x"):
        with pytest.raises(ValueError, match=r"^temperature must be a finite number >= 0, got"):
            _nonnegative(value, "temperature")


def test_probability_is_open_interval():
    assert _probability(0.25, "p") == 0.25
    for value in (0.0, 1.0, -1, math.nan, "x"):
        with pytest.raises(ValueError, match=r"^p must be a number in \(0, 1\), got"):
            _probability(value, "p")


@pytest.mark.parametrize("value, low, high, allowed", [
    (2.5, 0, None, ">= 0"), (True, 1, None, ">= 1"), ("3", 1, None, ">= 1"), (-1, 0, None, ">= 0"),
    (11, 1, 10, r"in \[1, 10\]"), (0, 1, 10, r"in \[1, 10\]"), (np.float64(3.0), 1, 10, r"in \[1, 10\]"),
])
def test_count_rejects_and_names_the_range(value, low, high, allowed):
    with pytest.raises(ValueError, match=rf"^n_steps must be an integer {allowed}, got"):
        _count(value, "n_steps", low, high)


def test_count_accepts_numpy_integers():
    out = _count(np.int64(7), "n", 1, 10)
    assert out == 7 and type(out) is int


def test_rng():
    gen = np.random.default_rng(3)
    assert _rng(gen) is gen
    assert _rng(5).random() == _rng(np.int64(5)).random() == np.random.default_rng(5).random()
    assert isinstance(_rng(None), np.random.Generator)
    for bad in ("seed", True, 1.5, [1, 2]):
        with pytest.raises(ValueError, match="^rng must be an int seed, None or a numpy.random.Generator"):
            _rng(bad)


def test_callable():
    f = np.sin
    assert _callable(f, "grad", "x -> L'(x)") is f
    with pytest.raises(ValueError, match=r"^grad must be a callable x -> L'\(x\), got float"):
        _callable(1.0, "grad", "x -> L'(x)")


@pytest.mark.parametrize("call, message", [
    (lambda: lib.langevin(lib.potentials.double_well(), np.zeros(3), step=0.1, n_steps=-1),
     r"n_steps must be an integer >= 0, got -1"),
    (lambda: lib.langevin(lib.potentials.double_well(), np.zeros(3), step=0.1, n_steps=5, burn_in=6),
     r"burn_in must be an integer in \[0, 5\], got 6"),
    (lambda: lib.mala(lib.potentials.double_well(), np.zeros(3), step=-1.0, n_steps=5),
     r"step must be a positive finite number \(> 0\), got -1.0"),
    (lambda: lib.sgd.sgd(lib.sgd.LeastSquares(np.arange(1.0, 6.0), np.ones(5)), np.zeros(2), lr=0.1,
                         batch_size=6, n_steps=3, replace=False),
     r"batch_size must be an integer in \[1, 5\], got 6"),
    (lambda: lib.sgd.sgd(lib.sgd.LeastSquares(np.arange(1.0, 6.0), np.ones(5)), np.zeros(2), lr=0.1,
                         batch_size=2, n_steps=3, temperature=-1), r"temperature must be a finite number >= 0"),
    (lambda: lib.diffusion.VP(beta_min=0.0).alpha(0.5), r"beta_min must be a positive finite number \(> 0\)"),
    (lambda: lib.discrete.IsingChain(4).exact_samples(0), r"size must be an integer >= 1, got 0"),
    (lambda: lib.discrete.metropolis_hastings(lib.discrete.IsingChain(4), np.ones(4), n_sweeps=1,
                                              proposal_plus=1.0), r"proposal_plus must be a number in \(0, 1\)"),
    (lambda: lib.partition.grid_normalizer(lambda y: -y[:, 0] ** 2, 0, m=3, half_width=1.0),
     r"dim must be an integer >= 1, got 0"),
    (lambda: lib.gibbs_density(lib.potentials.double_well(), np.linspace(-1, 1, 5), temperature=0),
     r"temperature must be a positive finite number \(> 0\), got 0"),
    (lambda: lib.potentials.double_well(barrier="high"), r"barrier must be a positive finite number \(> 0\)"),
])
def test_every_module_uses_the_shared_messages(call, message):
    with pytest.raises(ValueError, match=message):
        call()
