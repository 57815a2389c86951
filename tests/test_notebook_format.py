"""Conventions every chapter notebook follows (so the book, nbval and the student edition work)."""

import json
import pathlib
import re

import pytest

from conftest import ROOT, toc_files

NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
TOC = toc_files()


def load(path):
    return json.loads(path.read_text())


def source(cell):
    return "".join(cell["source"])


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_and_with_python3_kernel(path):
    nb = load(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: a code cell has outputs; strip them"
            assert cell["execution_count"] is None, f"{path.name}: execution counts are committed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_is_a_page_of_the_book(path):
    assert path.relative_to(ROOT).with_suffix("").as_posix() in TOC, f"{path.name} is not in _toc.yml"


def test_every_toc_entry_exists():
    for entry in TOC:
        assert any((ROOT / f"{entry}{suffix}").exists() for suffix in (".ipynb", ".md")), entry


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_shape(path):
    """One H1 title, at least one assert, and every exercise followed by its solution."""
    cells = load(path)["cells"]
    titles = [c for c in cells if c["cell_type"] == "markdown" and re.search(r"^# ", source(c), re.M)]
    assert len(titles) == 1, f"{path.name}: expected one '# Title', found {len(titles)}"
    assert any("assert" in source(c) for c in cells if c["cell_type"] == "code")
    for i, cell in enumerate(cells):
        match = re.search(r"^```+\{exercise(?:-start)?\}.*\n:label: (\S+)", source(cell), re.M)
        if match:
            label = match.group(1)
            following = cells[i + 1 :] if "exercise-start" not in source(cell) else cells[i + 1 :]
            nxt = next(
                (c for c in following if c["cell_type"] == "markdown" and re.search(r"\{solution", source(c))), None
            )
            assert nxt is not None and label in source(nxt), f"{path.name}: exercise {label} has no solution"


# ---- conventions of TEAM.md / COURSE.md that a script can check ----------------------------

import sys  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
import notebook_macros  # noqa: E402


def markdown_cells(path):
    return [source(c) for c in load(path)["cells"] if c["cell_type"] == "markdown"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_holds_the_book_macros(path):
    """JupyterLab (jupyterlab-myst) reads the macros from a first cell; run tools/notebook_macros.py."""
    cells = load(path)["cells"]
    want = notebook_macros.macro_source(notebook_macros.book_macros())
    assert cells and source(cells[0]) == want and "remove-cell" in cells[0]["metadata"].get("tags", []), (
        f"{path.name}: the first cell is not the current math-macros cell: run `python tools/notebook_macros.py`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_only_defined_macros(path):
    r"""`\N` is not a book macro (KaTeX reads it as the naturals): write `\mathcal{N}`."""
    bad = [m for m in markdown_cells(path) if re.search(r"\\N(?![A-Za-z])", m)]
    assert not bad, f"{path.name}: {len(bad)} markdown cells use \\N, e.g. {bad[0][:120]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_lines_fit_the_column(path):
    """No code line wider than 88 characters (the book's column at 1280 px, see _static/book.css)."""
    long = [
        line
        for c in load(path)["cells"]
        if c["cell_type"] == "code"
        for line in source(c).splitlines()
        if len(line) > 88
    ]
    assert not long, f"{path.name}: {len(long)} code lines over 88 characters, e.g. {long[0]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercise_labels_are_consecutive(path):
    """Labels chN-ex1, chN-ex2, ... in order of appearance, so "Exercise N.K" matches the label."""
    chapter = int(path.name[:2])
    labels = [
        m.group(1)
        for text in markdown_cells(path)
        for m in re.finditer(r"^```+\{exercise(?:-start)?\}.*\n:label: (\S+)", text, re.M)
    ]
    assert labels == [f"ch{chapter}-ex{k}" for k in range(1, len(labels) + 1)], f"{path.name}: {labels}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_widgets_come_from_lib_widgets(path):
    """Widget cells use lib.widgets.interact (never ipywidgets' interact/interactive directly: their
    first draw is captured by an Output widget, which stalls headless executors) and are tagged
    remove-cell (the book shows a static figure and a callout instead)."""
    for cell in load(path)["cells"]:
        text = source(cell)
        if cell["cell_type"] != "code":
            continue
        assert not re.search(r"\b(widgets\.interact(ive)?|interact_manual|interactive_output)\(", text.replace(
            "lib.widgets.interact(", "")), f"{path.name}: use lib.widgets.interact: {text[:120]!r}"
        if "lib.widgets.interact(" in text:
            assert "remove-cell" in cell["metadata"].get("tags", []), (
                f"{path.name}: the widget cell is not tagged remove-cell: {text[:80]!r}"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_bare_chapter_words(path):
    """Cross-references are MyST links ({ref}`chapter 4 <ch4>`), never the bare words "chapter 4"."""
    bad = []
    for text in markdown_cells(path):
        plain = re.sub(r"\{(ref|numref)\}`[^`]*`", "", text)
        bad += re.findall(r"\b[Cc]hapters? \d\b", plain)
    assert not bad, f"{path.name}: bare chapter references {bad[:5]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_figure_captions_typeset_their_math(path):
    """Captions are MyST: math goes in $...$, never plain exp(-L/T) or x^2 in the text."""
    bad = []
    for cell in load(path)["cells"]:
        caption = cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("caption", "")
        outside = re.sub(r"\$[^$]*\$", "", caption)
        if re.search(r"exp\(|\^|_\{|\\[A-Za-z]+", outside):
            bad.append(caption[:100])
    assert not bad, f"{path.name}: captions with untypeset math: {bad}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_animations_use_the_book_helper(path):
    """lib.plotting.animation_html gives animations the figures' width, sharp frames and no CDN."""
    bad = [source(c)[:80] for c in load(path)["cells"] if c["cell_type"] == "code" and "to_jshtml(" in source(c)]
    assert not bad, f"{path.name}: use lib.plotting.animation_html(anim) instead of to_jshtml: {bad}"
