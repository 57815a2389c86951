"""Stochastic gradient descent on finite-sum losses, as a Markov chain (chapter 6).

Being written: see COURSE.md for the API.
"""

from __future__ import annotations

__all__: list[str] = []
