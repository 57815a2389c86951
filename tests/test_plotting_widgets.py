"""lib.plotting (the figure conventions) and lib.widgets (sliders that cannot stall an executor)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402

import lib  # noqa: E402


def test_new_axes_keeps_the_book_width():
    lib.plotting.use_style()
    fig, ax = lib.plotting.new_axes()
    assert tuple(fig.get_size_inches()) == (lib.plotting.FIG_WIDTH, 4.0)
    fig2, axes = lib.plotting.new_axes(2, nrows=2)
    assert axes.shape == (2, 2) and fig2.get_size_inches()[0] == lib.plotting.FIG_WIDTH
    assert fig2.get_size_inches()[1] == pytest.approx(5.6)
    with pytest.raises(ValueError, match="ncols"):
        lib.plotting.new_axes(0)
    plt.close("all")


def test_use_style_sets_display_resolution_and_no_tight_crop():
    lib.plotting.use_style()
    assert matplotlib.rcParams["figure.dpi"] == lib.plotting.FIGURE_DPI
    assert matplotlib.rcParams["savefig.bbox"] in (None, "standard")


def test_animation_html_is_figure_wide_and_offline():
    lib.plotting.use_style()
    fig, ax = lib.plotting.new_axes(layout="none")
    (line,) = ax.plot([0, 1], [0, 1], label="a")
    anim = FuncAnimation(fig, lambda k: line.set_ydata([0, k / 3]), frames=3)
    html = lib.plotting.animation_html(anim).data
    width = round(lib.plotting.FIG_WIDTH * lib.plotting.FIGURE_DPI)
    assert f'style="width: {width}px; max-width: 100%; height: auto;" id="_anim_img' in html
    assert "maxcdn" not in html and "font-awesome" not in html
    assert not plt.get_fignums(), "the animation's figure was left open"


def test_interact_draws_once_and_on_every_change():
    calls = []

    def draw(a, b):
        calls.append((a, b))
        fig, ax = lib.plotting.new_axes()
        ax.plot(np.arange(3) * a + b)

    w = lib.widgets.interact(
        draw, a=lib.widgets.float_slider(1.0, 0.0, 2.0, 0.1, "a"), b=lib.widgets.dropdown([0, 1], 0, "b")
    )
    assert calls == [(1.0, 0)] and w.values == {"a": 1.0, "b": 0}
    w.controls["a"].value = 1.5
    assert calls[-1] == (1.5, 0)
    assert w.children[-1] is w.out
    plt.close("all")
