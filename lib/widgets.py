"""Thin helpers around ipywidgets for the chapters' interactive figures.

A widget's callback only runs with a live kernel; the static book shows the
figure drawn once at the default values (and every chapter makes the same
point with a static figure as well).
"""

from __future__ import annotations

from typing import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt

__all__ = ["interact", "float_slider", "float_log_slider", "int_slider", "dropdown"]


def float_slider(value: float, min: float, max: float, step: float, description: str) -> widgets.FloatSlider:
    """A float slider that updates on release (so each move runs one update)."""
    return widgets.FloatSlider(value=value, min=min, max=max, step=step, description=description,
                               continuous_update=False, readout_format=".3g",
                               style={"description_width": "initial"})


def float_log_slider(value: float, min_exp: float, max_exp: float, description: str) -> widgets.FloatLogSlider:
    """A log-scale slider over ``10**min_exp .. 10**max_exp``."""
    return widgets.FloatLogSlider(value=value, base=10, min=min_exp, max=max_exp, step=0.05,
                                  description=description, continuous_update=False,
                                  style={"description_width": "initial"})


def int_slider(value: int, min: int, max: int, step: int, description: str) -> widgets.IntSlider:
    return widgets.IntSlider(value=value, min=min, max=max, step=step, description=description,
                             continuous_update=False, style={"description_width": "initial"})


def dropdown(options, value, description: str) -> widgets.Dropdown:
    return widgets.Dropdown(options=options, value=value, description=description,
                            style={"description_width": "initial"})


def interact(draw: Callable[..., None], **controls) -> widgets.interactive:
    """Run ``draw(**values)`` whenever a control changes and show its figure.

    ``draw`` makes a matplotlib figure (it need not return it). The returned
    ``ipywidgets.interactive`` is displayed by the notebook when it is the
    last expression of a cell.
    """

    def update(**values):
        draw(**values)
        plt.show()

    return widgets.interactive(update, **controls)
