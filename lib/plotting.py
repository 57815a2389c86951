"""One matplotlib style for the whole book, and its standard figures.

Every figure is :data:`FIG_WIDTH` inches wide at ``figure.dpi = 100``, so every figure is
700 CSS pixels wide on the page and its text has the same size as in every other figure
(design multi-panel figures for the column with :func:`new_axes`: at most two panels side
by side, more in rows). :func:`use_style` also makes the inline backend send 2x PNGs with
their display size in the output metadata (sharp on HiDPI screens, displayed at 700 px)
and switches off ``bbox_inches="tight"`` (which would crop each figure to a different
width). Animations: :func:`animation_html`.
"""

from __future__ import annotations

import os
import re
from typing import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .stats import cell_edges, histogram_density

__all__ = [
    "COLORS",
    "CYCLE",
    "FIG_WIDTH",
    "FIGURE_DPI",
    "ANIMATION_DPI",
    "use_style",
    "figure_problems",
    "new_axes",
    "animation_html",
    "hist_vs_density",
]

#: Width of every figure, in inches (700 CSS px at ``FIGURE_DPI``): the book's column.
FIG_WIDTH: float = 7.0
#: Display resolution: one inch of figure is this many CSS pixels on the page.
FIGURE_DPI: int = 100
#: Resolution of animation frames (1.5x the display size: sharp enough on HiDPI screens
#: while a 30-frame animation stays around 1-2 MB and renders in a few seconds).
ANIMATION_DPI: int = 150

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
    "figure.figsize": (FIG_WIDTH, 4.0),
    "figure.dpi": FIGURE_DPI,
    "savefig.dpi": ANIMATION_DPI,
    "savefig.bbox": None,
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
    """Apply the book's matplotlib style (call once at the top of a notebook).

    Sets the rcParams (sizes, colours, constrained layout) and, in a Jupyter kernel with
    the inline backend, the inline backend's output: a 2x PNG ("retina": the image has
    twice the pixels, the output metadata its display size, so JupyterLab and the book
    show it 700 px wide and sharp on HiDPI screens) and no ``bbox_inches="tight"``
    cropping, so every figure keeps exactly :data:`FIG_WIDTH`.
    """
    mpl.rcParams.update(_STYLE)
    mpl.rcParams["axes.prop_cycle"] = mpl.cycler(color=CYCLE)
    _configure_inline_backend()
    if os.environ.get(CHECK_FIGURES_ENV) == "1":
        _check_figures_on_show()


#: When this environment variable is "1" (the test run and the book build set it),
#: :func:`use_style` makes ``plt.show()`` raise ValueError for a figure that breaks the
#: book's conventions (see :func:`figure_problems`), so a chapter cannot ship one.
CHECK_FIGURES_ENV = "LANGEVIN_CHECK_FIGURES"


def figure_problems(fig) -> list[str]:
    """What a figure gets wrong against the book's figure conventions (empty if nothing).

    Checked: the width is :data:`FIG_WIDTH` (so text has the same size in every figure);
    the figure has an x label and a y label; every panel that shares no axis with another
    panel has a label of its own. Colour bars and panels switched off are ignored.
    """
    problems = []
    width = fig.get_size_inches()[0]
    if abs(width - FIG_WIDTH) > 1e-6:
        problems.append(f"width {width:g} in, not FIG_WIDTH = {FIG_WIDTH:g} in")
    panels = [ax for ax in fig.axes if ax.axison and ax.get_label() != "<colorbar>"]
    if not panels:
        return problems
    if not any(ax.get_xlabel() for ax in panels):
        problems.append("no x-axis label")
    if not any(ax.get_ylabel() for ax in panels):
        problems.append("no y-axis label")
    for i, ax in enumerate(panels):
        shares = any(
            other is not ax and (ax.get_shared_x_axes().joined(ax, other) or ax.get_shared_y_axes().joined(ax, other))
            for other in panels
        )
        if len(panels) > 1 and not shares and not (ax.get_xlabel() or ax.get_ylabel()):
            problems.append(f"panel {i} ({ax.get_title()!r}) has no axis label and shares no axis")
    return problems


def _check_figures_on_show() -> None:
    if getattr(plt.show, "_checks_figures", False):
        return
    original_show = plt.show

    def show(*args, **kwargs):
        for number in plt.get_fignums():
            problems = figure_problems(plt.figure(number))
            if problems:
                plt.close("all")
                raise ValueError("this figure breaks the book's conventions: " + "; ".join(problems))
        return original_show(*args, **kwargs)

    show._checks_figures = True
    plt.show = show


def _configure_inline_backend() -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to configure
        return
    if get_ipython() is None or "inline" not in mpl.get_backend().lower():
        return
    from matplotlib_inline.backend_inline import InlineBackend, set_matplotlib_formats

    config = InlineBackend.instance()
    # the defaults would crop every figure to its own tight box (different widths)
    config.print_figure_kwargs = {"bbox_inches": None, "facecolor": "white"}
    config.figure_formats = {"retina"}
    set_matplotlib_formats("retina", bbox_inches=None, facecolor="white")


def new_axes(
    ncols: int = 1,
    *,
    nrows: int = 1,
    width: float = FIG_WIDTH,
    height: float | None = None,
    **kwargs,
):
    """``plt.subplots`` at the book's width; returns ``(fig, axes)``.

    Parameters
    ----------
    ncols, nrows : int
        Panels side by side (at most 2 read well at the column's width) and rows of panels.
        ``new_axes(2)`` is two panels side by side, ``new_axes(2, nrows=2)`` a 2x2 grid.
    width : float
        Figure width in inches; keep the default :data:`FIG_WIDTH` so that text has the same
        size in every figure.
    height : float, optional
        Figure height in inches; default 4.0 for one row, 2.8 per row for several.
    **kwargs
        Passed to ``plt.subplots`` (``sharex``, ``sharey``, ``gridspec_kw``, ...).
    """
    if ncols < 1 or nrows < 1:
        raise ValueError(f"ncols and nrows must be >= 1, got ncols={ncols}, nrows={nrows}")
    if height is None:
        height = 4.0 if nrows == 1 else 2.8 * nrows
    return plt.subplots(nrows, ncols, figsize=(width, height), **kwargs)


def _frames_by_blitting(anim, dpi: int) -> list[bytes] | None:
    """PNG frames of a FuncAnimation, drawing the static artists once.

    ``to_jshtml`` redraws the whole figure for every frame, and most of that time is text
    layout for tick labels that never change. Here the figure is drawn once without the
    artists that the frame function returns (marked animated), and each frame restores that
    background and draws only those artists, then every static artist of the same axes that
    lies above them in z-order (lines, spines, legend), so the frame looks exactly as a full
    draw would. Returns None (the caller falls back to ``to_jshtml``) when the frame function
    does not return the artists it changes, or the animation is not a FuncAnimation.
    """
    from io import BytesIO

    from matplotlib.animation import FuncAnimation
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    if not isinstance(anim, FuncAnimation):
        return None
    fig = anim._fig
    frames = list(anim.new_saved_frame_seq())
    func, args = anim._func, anim._args
    if anim._init_func is not None:
        anim._init_func()
    changed = func(frames[0], *args)
    if not changed or not all(isinstance(a, mpl.artist.Artist) for a in changed):
        return None
    changed, above = list(changed), []
    if any(a.axes is not None and (a.axes.get_autoscalex_on() or a.axes.get_autoscaley_on())
           for a in changed):
        return None          # limits that follow the data would change the background
    canvas = FigureCanvasAgg(fig)
    old_dpi = fig.dpi
    fig.set_dpi(dpi)
    try:
        # static artists that a full draw paints over the animated ones: left out of the
        # background too, and drawn after them in every frame
        above = []
        for ax in {a.axes for a in changed if a.axes is not None}:
            floor = min(a.get_zorder() for a in changed if a.axes is ax)
            above += [c for c in ax.get_children()
                      if c.get_visible() and c.get_zorder() > floor and c is not ax.patch
                      and all(c is not a for a in changed)]
        # one list in a full draw's order: by zorder, ties in the order the axes holds them
        order = {id(c): i for ax in fig.axes for i, c in enumerate(ax.get_children())}
        redraw = sorted(changed + above, key=lambda a: (a.axes is None, a.get_zorder(),
                                                        order.get(id(a), 0)))
        for a in redraw:
            a.set_animated(True)
        canvas.draw()
        background = canvas.copy_from_bbox(fig.bbox)
        pngs = []
        for k, frame in enumerate(frames):
            if k:
                changed_now = func(frame, *args)
                if set(map(id, changed_now)) != set(map(id, changed)):
                    return None       # the frame function changes different artists per frame
            canvas.restore_region(background)
            for a in redraw:
                fig.draw_artist(a)
            buffer = BytesIO()
            Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buffer, format="png")
            pngs.append(buffer.getvalue())
        return pngs
    finally:
        for a in changed + above:
            a.set_animated(False)
        fig.set_dpi(old_dpi)
        anim._draw_was_started = True     # rendered: no "deleted without rendering" warning


def _player_html(pngs: list[bytes], *, interval_ms: float, default_mode: str) -> str:
    """matplotlib's JavaScript player (``HTMLWriter``'s template) around PNG frames."""
    import base64
    import uuid

    from matplotlib._animation_data import DISPLAY_TEMPLATE, JS_INCLUDE, STYLE_INCLUDE

    frames = "\n".join(
        f'  frames[{i}] = "data:image/png;base64,{base64.b64encode(png).decode("ascii")}"'
        for i, png in enumerate(pngs))
    modes = dict(once_checked="", loop_checked="", reflect_checked="")
    modes[default_mode + "_checked"] = "checked"
    return JS_INCLUDE + STYLE_INCLUDE + DISPLAY_TEMPLATE.format(
        id=uuid.uuid4().hex, Nframes=len(pngs), fill_frames=frames,
        interval=int(interval_ms), **modes)


def animation_html(anim, *, dpi: int = ANIMATION_DPI, default_mode: str = "once", close: bool = True):
    """A matplotlib animation as HTML that plays in the static book and in JupyterLab.

    The frames are rendered at ``dpi`` and displayed at the figure's size at
    :data:`FIGURE_DPI` (700 px for a :data:`FIG_WIDTH` figure, shrinking with the column),
    so the animation is as wide as the figures and its text as large. Make the figure with
    :func:`new_axes` (``layout="none"`` and ``fig.subplots_adjust``: a layout engine would
    move the axes between frames), keep the legend outside the data, let the frame function
    return the artists it changes (then only those are redrawn per frame, several times
    faster than ``to_jshtml``'s full redraw), and give the animation a caption.

    Parameters
    ----------
    anim : matplotlib.animation.Animation
    dpi : int
        Resolution of the embedded PNG frames.
    default_mode : {"once", "loop", "reflect"}
        What the player does at the last frame.
    close : bool
        Close the figure (so the notebook does not also show its last frame as a figure).

    Returns
    -------
    IPython.display.HTML
    """
    from IPython.display import HTML

    if default_mode not in ("once", "loop", "reflect"):
        raise ValueError(f"default_mode must be 'once', 'loop' or 'reflect', got {default_mode!r}")
    fig = anim._fig
    width_px = round(fig.get_figwidth() * FIGURE_DPI)
    pngs = _frames_by_blitting(anim, dpi) if fig.get_layout_engine() is None else None
    if pngs is not None:
        html = _player_html(pngs, interval_ms=anim._interval, default_mode=default_mode)
    else:
        with mpl.rc_context({"savefig.dpi": dpi, "savefig.bbox": None}):
            html = anim.to_jshtml(default_mode=default_mode)
    if close:
        plt.close(fig)
    style = f'style="width: {width_px}px; max-width: 100%; height: auto;"'
    html = html.replace("<img id=", f"<img {style} id=", 1)
    # matplotlib links Font Awesome 4 from a CDN for the player's icons; the book (Font Awesome 6)
    # and JupyterLab (its own copy) have the icons already, and the page must work offline
    html = re.sub(r'<link rel="stylesheet"\s*href="https://[^"]*font-awesome[^"]*">', "", html)
    return HTML(html)


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
