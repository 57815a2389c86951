"""Argument validators shared by every module of ``lib`` (private).

Each raises a ``ValueError`` that names the parameter, the allowed range and the
value it got, and returns the value converted (``float``, ``int`` or a
``numpy.random.Generator``), so a caller writes ``h = _positive(step, "step")``.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np


def _number(value, name: str, allowed: str, ok: Callable[[float], bool]) -> float:
    """``value`` as a float for which ``ok`` holds; ``allowed`` says which values those are."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {allowed}, got {value!r}") from None
    if not ok(value):
        raise ValueError(f"{name} must be {allowed}, got {value}")
    return value


def _positive(value, name: str) -> float:
    """``value`` as a float ``> 0`` and finite."""
    return _number(value, name, "a positive finite number (> 0)", lambda v: math.isfinite(v) and v > 0)


def _nonnegative(value, name: str) -> float:
    """``value`` as a float ``>= 0`` and finite."""
    return _number(value, name, "a finite number >= 0", lambda v: math.isfinite(v) and v >= 0)


def _probability(value, name: str) -> float:
    """``value`` as a float strictly between 0 and 1."""
    return _number(value, name, "a number in (0, 1)", lambda v: 0.0 < v < 1.0)


def _count(value, name: str, low: int, high: int | None = None) -> int:
    """``value`` as an int in ``[low, high]`` (``high=None``: no upper bound); bools are refused."""
    allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be an integer {allowed}, got {value}")
    return value


def _rng(rng) -> np.random.Generator:
    """An int seed, ``None`` or a Generator, as a Generator (a Generator is used as it is)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be an int seed, None or a numpy.random.Generator, got {type(rng).__name__}")


def _callable(f, name: str, signature: str) -> Callable:
    """``f`` if it is callable; ``signature`` says what it maps, e.g. ``"theta -> L'(theta)"``."""
    if not callable(f):
        raise ValueError(f"{name} must be a callable {signature}, got {type(f).__name__}")
    return f
