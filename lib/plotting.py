"""One matplotlib style for the whole book, and its standard figures."""

from __future__ import annotations

from typing import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .stats import cell_edges, histogram_density

__all__ = ["COLORS", "use_style", "hist_vs_density", "new_axes"]

#: The book's colours, by role. Samples are blue, exact results orange,
#: numerical PDE solutions green, wrong answers (negative controls) red.
COLORS: dict[str, str] = {
    "samples": "#4C72B0",
    "exact": "#DD8452",
    "pde": "#55A868",
    "wrong": "#C44E52",
    "neutral": "#8C8C8C",
    "accent": "#8172B3",
}

#: A sequence for several curves of the same kind (e.g. three temperatures).
CYCLE: list[str] = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860"]

_STYLE = {
    "figure.figsize": (7.0, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "image.cmap": "viridis",
    "animation.embed_limit": 40.0,
}


def use_style() -> None:
    """Apply the book's matplotlib style (call once at the top of a notebook)."""
    mpl.rcParams.update(_STYLE)
    mpl.rcParams["axes.prop_cycle"] = mpl.cycler(color=CYCLE)


def new_axes(ncols: int = 1, *, width: float = 7.0, height: float = 4.0, **kwargs):
    """``plt.subplots`` with the book's figure width; returns ``(fig, axes)``."""
    return plt.subplots(1, ncols, figsize=(width, height), **kwargs)


def hist_vs_density(
    samples: np.ndarray,
    grid: np.ndarray,
    density: np.ndarray | Sequence[np.ndarray],
    *,
    ax=None,
    sample_label: str = "samples",
    density_label: str | Sequence[str] = "exact density",
    density_color: str | Sequence[str] | None = None,
    xlabel: str = "$x$",
    ylabel: str = "density $p(x)$",
    title: str | None = None,
):
    """The standard figure: a histogram of samples against one or more densities.

    Parameters
    ----------
    samples : array, any shape
        Samples of a scalar quantity (flattened).
    grid : array, shape (m,)
        Uniform grid; the histogram uses the cells centred on its points, the
        same cells as :func:`lib.stats.histogram_density`.
    density : array, shape (m,), or a list of them
        Density values on ``grid``; a list draws several curves (e.g. the
        right answer and a negative control).
    """
    if ax is None:
        _, ax = plt.subplots()
    grid = np.asarray(grid, dtype=float)
    hist = histogram_density(samples, grid)
    # one filled step patch, much faster to draw than a bar per cell (matters in widgets)
    ax.stairs(hist, cell_edges(grid), fill=True, color=COLORS["samples"], alpha=0.45, label=sample_label)
    densities = [density] if isinstance(density, np.ndarray) and np.ndim(density) == 1 else list(density)
    labels = [density_label] if isinstance(density_label, str) else list(density_label)
    if density_color is None:
        colors = [COLORS["exact"], COLORS["wrong"], COLORS["pde"], COLORS["accent"]]
    else:
        colors = [density_color] if isinstance(density_color, str) else list(density_color)
    for i, dens in enumerate(densities):
        style = "-" if i == 0 else "--"
        ax.plot(grid, dens, style, color=colors[i % len(colors)], label=labels[i] if i < len(labels) else None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax
