"""Thin helpers around ipywidgets for the chapters' interactive figures.

A widget's callback only runs with a live kernel; in the book the widget cell is
removed and a static figure plus a callout make the same point.

Why :func:`interact` is not ``ipywidgets.interact``: ``interactive`` draws its first
figure inside ``with output_widget:`` while the cell executes. A headless executor
(nbclient: ``jupyter nbconvert --execute``, the book build) then mimics a frontend's
Output widget and, for every captured output, sends a ``comm_msg`` back on the shell
channel while it waits on that same channel for the cell's ``execute_reply``. About one
widget cell in thirteen (measured under load) lost that wake-up and waited for the full
cell timeout although the kernel was idle (the 1200 s stalls). Here the first figure is
rendered by IPython's formatter and *set* as the Output widget's state, so nothing is
captured during execution and the executor never writes to the shell channel; the
figure shows at once in JupyterLab, and later slider moves (which only happen with a
live frontend) draw into the widget as usual.
"""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt

__all__ = ["Interactive", "interact", "float_slider", "float_log_slider", "int_slider", "dropdown",
           "UpdateTime", "update_seconds"]


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


class Interactive(widgets.VBox):
    """The controls above an Output widget holding the figure; see :func:`interact`."""

    def __init__(self, draw: Callable[..., None], controls: dict[str, widgets.ValueWidget]):
        self.draw = draw
        self.controls = dict(controls)
        self.out = widgets.Output()
        # the first figure is the Output widget's initial state (no capture while the cell runs)
        self.out.outputs = tuple(_render_outputs(draw, self.values))
        super().__init__(children=[*self.controls.values(), self.out])
        self.add_class("widget-interact")
        for control in self.controls.values():
            control.observe(self.update, names="value")

    @property
    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def update(self, change=None) -> None:
        """Redraw for the current control values (called on every control change)."""
        with self.out:  # exceptions are shown in the widget by Output.__exit__
            self.out.clear_output(wait=True)
            self.draw(**self.values)
            plt.show()


def _render_outputs(draw: Callable[..., None], values: dict) -> list[dict]:
    """Run ``draw(**values)`` and return its figures as notebook display_data outputs."""
    before = set(plt.get_fignums())
    draw(**values)
    new = [num for num in plt.get_fignums() if num not in before]
    outputs = []
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # no IPython: nothing can display the figure anyway
        shell = None
    for num in new:
        fig = plt.figure(num)
        if shell is not None:
            # the inline backend's own formatter: 2x PNG + display size (lib.plotting.use_style)
            data, metadata = shell.display_formatter.format(fig)
            data = {k: v for k, v in data.items() if k != "text/plain"} or data
            outputs.append({"output_type": "display_data", "data": data, "metadata": metadata})
        plt.close(fig)
    return outputs


def interact(draw: Callable[..., None], **controls) -> Interactive:
    """Controls that redraw ``draw(**values)``'s figure whenever one of them changes.

    ``draw`` makes a matplotlib figure (it need not return it). It runs once here, for
    the initial values (so an error in it fails the cell, and nbval tests it), and again
    on every change of a control in a live notebook. Display the returned widget by
    making it the last expression of the cell.
    """
    return Interactive(draw, controls)


@dataclass(frozen=True)
class UpdateTime:
    """Median seconds of one slider move (:func:`update_seconds`)."""

    wall: float
    cpu: float
    repeats: int


def update_seconds(draw: Callable[..., None], *args, repeats: int = 3, **kwargs) -> UpdateTime:
    """What one slider move costs: ``draw(*args, **kwargs)`` and its figure as the PNG the
    notebook shows (the inline backend's 2x PNG), exactly what :func:`interact` runs on a change
    (:func:`_render_outputs`; outside an IPython kernel nothing is rendered, so only the draw).

    One untimed call first fills the font and mathtext caches; then the median of ``repeats``
    timed calls, each after a garbage collection (matplotlib figures are reference cycles, and
    a collection that happens to fall inside a timed call would add 0.1-0.2 s to it).

    Returns
    -------
    UpdateTime
        ``wall`` and ``cpu`` seconds (medians). ``cpu`` is the time on an idle machine (an
        update is single-threaded); ``wall`` also counts waiting for a busy one. The course's
        budget is 0.2 s.
    """
    if not callable(draw):
        raise ValueError(f"draw must be callable, got {type(draw).__name__}")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")

    def move():
        # exactly what a slider move runs (outside a kernel: only the draw, no PNG)
        _render_outputs(lambda: draw(*args, **kwargs), {})

    move()
    wall, cpu = [], []
    for _ in range(repeats):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        move()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return UpdateTime(statistics.median(wall), statistics.median(cpu), repeats)
