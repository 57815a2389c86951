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
