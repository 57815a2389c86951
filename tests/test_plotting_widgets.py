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
        ax.set(xlabel="$i$", ylabel="$a i + b$")

    w = lib.widgets.interact(
        draw, a=lib.widgets.float_slider(1.0, 0.0, 2.0, 0.1, "a"), b=lib.widgets.dropdown([0, 1], 0, "b")
    )
    assert calls == [(1.0, 0)] and w.values == {"a": 1.0, "b": 0}
    w.controls["a"].value = 1.5
    assert calls[-1] == (1.5, 0)
    assert w.children[-1] is w.out
    plt.close("all")


def test_figure_problems_names_what_breaks_the_conventions():
    fig, axes = lib.plotting.new_axes(2, sharey=True)
    for ax in axes:
        ax.set_xlabel("$x$")
    axes[0].set_ylabel("density")
    assert lib.plotting.figure_problems(fig) == []  # shared y axis: one y label is enough
    plt.close(fig)
    fig, axes = lib.plotting.new_axes(2)
    axes[0].set_xlabel("$x$")
    axes[0].set_ylabel("density")
    assert any("panel 1" in p for p in lib.plotting.figure_problems(fig))
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 3))
    problems = lib.plotting.figure_problems(fig)
    assert any("width 5" in p for p in problems) and "no x-axis label" in problems
    plt.close(fig)


def test_show_raises_on_a_bad_figure_when_checking(monkeypatch):
    monkeypatch.setenv(lib.plotting.CHECK_FIGURES_ENV, "1")
    original = plt.show
    try:
        lib.plotting.use_style()
        lib.plotting.new_axes(1)  # no labels
        with pytest.raises(ValueError, match="no x-axis label"):
            plt.show()
        fig, ax = lib.plotting.new_axes(1)
        ax.set_xlabel("$t$")
        ax.set_ylabel("$x$")
        plt.show()  # a good figure passes
    finally:
        plt.show = original
        plt.close("all")
