"""Diffusion models in NumPy: forward processes, exact scores, samplers (chapter 7).

Being written: see COURSE.md for the API.
"""

from __future__ import annotations

__all__: list[str] = []
