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


def _decode_frames(html):
    import base64
    import io
    import re

    from PIL import Image

    found = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=\n\\]+)", html)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(f.replace("\\", "").replace("\n", "")))))
            for f in found]


def _histogram_animation(autoscale=False, returns_artists=True):
    grid = np.linspace(-2, 2, 41)
    fig, ax = lib.plotting.new_axes(height=3.0, layout="none")
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.17, top=0.9)
    heights = [np.exp(-(grid[:-1] - 0.1 * k) ** 2) for k in range(5)]
    bars = ax.stairs(heights[0], grid, fill=True, alpha=0.45, label="samples")
    (line,) = ax.plot(grid, np.exp(-grid**2), label="moving")
    ax.plot(grid, 0.9 * np.exp(-grid**2), "--", label="static, drawn above the bars")
    ax.set(xlabel="$x$", ylabel="density")
    if not autoscale:
        ax.set(xlim=(-2, 2), ylim=(0, 1.2))
    ax.legend(loc="upper left")
    title = ax.set_title("")

    def frame(k):
        bars.set_data(heights[k])
        line.set_ydata(np.exp(-(grid - 0.05 * k) ** 2))
        title.set_text(f"frame {k}")
        return (bars, line, title) if returns_artists else None

    def reference(k):
        # the frame as a full draw of the figure shows it
        import io

        from PIL import Image

        frame(k)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        return np.asarray(Image.open(io.BytesIO(buffer.getvalue())))

    return FuncAnimation(fig, frame, frames=5, interval=100), reference


@pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")   # the references
def test_animation_frames_redraw_only_what_changes_and_match_a_full_draw():
    anim, _ = _histogram_animation()
    html = lib.plotting.animation_html(anim, dpi=100, close=False).data
    frames = _decode_frames(html)
    assert len(frames) == 5 and "blit" not in html
    for k, got in enumerate(frames):
        # pixel for pixel what savefig draws, with the static dashed line and the legend on
        # top (a fresh figure per frame: Agg's output for a figure depends on what it drew
        # before, by one level in a few percent of the pixels)
        assert np.array_equal(got[..., :3], _histogram_animation()[1](k)[..., :3]), k
    # control: consecutive frames do differ
    assert not np.array_equal(frames[0], frames[-1])
    plt.close("all")


@pytest.mark.parametrize("kind", ["autoscale", "no artists returned"])
def test_animation_falls_back_to_full_redraws(kind):
    anim, _ = _histogram_animation(autoscale=kind == "autoscale",
                                           returns_artists=kind != "no artists returned")
    assert lib.plotting._frames_by_blitting(anim, 100) is None
    frames = _decode_frames(lib.plotting.animation_html(anim, dpi=100).data)
    assert len(frames) == 5


def test_update_seconds_times_the_draw_and_its_png():
    calls = []

    def draw(scale, *, label="x"):
        calls.append((scale, label))
        fig, ax = lib.plotting.new_axes()
        ax.plot([0, 1], [0, scale])
        ax.set(xlabel=label, ylabel="y")
        return fig

    timing = lib.widgets.update_seconds(draw, 2.0, label="t", repeats=3)
    # one warm-up call and three timed ones, with the arguments passed through
    assert calls == [(2.0, "t")] * 4
    assert timing.repeats == 3 and 0 < timing.cpu and 0 < timing.wall
    assert not plt.get_fignums(), "the figures were left open"

    # control: a draw that sleeps 0.05 s costs at least that much wall time, not CPU time
    import time

    slow = lib.widgets.update_seconds(lambda: (time.sleep(0.05), draw(1.0))[1], repeats=1)
    assert slow.wall >= 0.05 and slow.cpu < slow.wall


@pytest.mark.parametrize("kwargs, match", [({"repeats": 0}, "repeats must be an integer >= 1")])
def test_update_seconds_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lib.widgets.update_seconds(lambda: None, **kwargs)
    with pytest.raises(ValueError, match="draw must be callable"):
        lib.widgets.update_seconds(3)
