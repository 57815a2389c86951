"""The book builds with warnings as errors, and the student edition leaks no solution.

These run the real builds (`jupyter-book build`), which execute every notebook
(cached by jupyter-cache between local runs, so a second run is fast).
"""

import json
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import student_edition  # noqa: E402


def run(cmd):
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


@pytest.fixture(scope="module")
def main_build():
    result = run(["jupyter-book", "build", ".", "-W", "--keep-going"])
    return result


def test_book_builds_without_warnings(main_build):
    log = main_build.stdout + main_build.stderr
    assert main_build.returncode == 0, log[-6000:]
    assert "WARNING:" not in log, "\n".join(l for l in log.splitlines() if "WARNING:" in l)
    html = ROOT / "_build" / "html"
    for page in ["chapters/index.html", "chapters/bibliography.html", "chapters/00_verification_pattern.html"]:
        assert (html / page).exists(), page
    bib = (html / "chapters" / "bibliography.html").read_text()
    assert "McAllester" in bib and "Roberts" in bib


def test_glued_numbers_and_figures_render(main_build):
    page = (ROOT / "_build" / "html" / "chapters" / "00_verification_pattern.html").read_text()
    assert "<img" in page and "figcaption" in page
    # glue references that failed to resolve leave their raw role text behind
    assert "{glue:" not in page and "glue:text" not in page


def test_strip_notebook_removes_plain_and_gated_solutions():
    md = lambda s: {"cell_type": "markdown", "metadata": {}, "source": s}  # noqa: E731
    code = lambda s: {"cell_type": "code", "metadata": {}, "source": s, "outputs": [], "execution_count": None}  # noqa: E731
    nb = {
        "cells": [
            md("```{exercise} A\n:label: x-ex1\nQuestion one.\n```"),
            md("```{solution} x-ex1\n:class: dropdown\nThe secret answer is forty-two, derived at length here.\n```"),
            md("```{exercise} B\n:label: x-ex2\nQuestion two.\n```"),
            md("```{solution-start} x-ex2\n:class: dropdown\n```"),
            code("secret_code = 'the gated solution code cell that must disappear'"),
            md("```{solution-end}\n```"),
            code("print('kept')"),
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    stripped, removed = student_edition.strip_notebook(nb)
    text = json.dumps(stripped)
    assert "Question one" in text and "Question two" in text and "kept" in text
    assert "forty-two" not in text and "secret_code" not in text and "solution" not in text
    assert len(removed) == 4
    fps = student_edition.solution_fingerprints(removed)
    assert any("forty-two" in f for f in fps) and any("secret_code" in f for f in fps)


def test_strip_markdown():
    text = "Intro\n\n```{exercise} A\n:label: y-ex1\nQ?\n```\n\n```{solution} y-ex1\n:class: dropdown\nHidden.\n```\nAfter\n"
    out, removed = student_edition.strip_markdown(text)
    assert "Hidden" not in out and "Q?" in out and "After" in out and len(removed) == 1


def test_student_edition_has_no_solutions(main_build):
    assert main_build.returncode == 0
    result = run([sys.executable, "tools/student_edition.py"])
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    out = ROOT / "_build" / "student"
    html = out / "book" / "_build" / "html"
    # the student book and notebooks exist and still have the exercises (the scan looks at real files)
    nb = json.loads((out / "notebooks" / "00_verification_pattern.ipynb").read_text())
    nb_text = json.dumps(nb)
    assert "How many chains?" in nb_text
    page = (html / "chapters" / "00_verification_pattern.html").read_text()
    assert "How many chains?" in page and "<img" in page
    # the solution texts of the teacher's edition are absent everywhere (pages, _sources, downloads)
    fingerprints = []
    for path in (ROOT / "chapters").glob("*.ipynb"):
        _, removed = student_edition.strip_notebook(json.loads(path.read_text()))
        fingerprints += student_edition.solution_fingerprints(removed)
    assert fingerprints, "no solution text found in the chapters: the test would prove nothing"
    leaks = student_edition.scan([out / "notebooks", html], fingerprints)
    assert leaks == []
    # and the teacher's build does contain them (positive control for the scan)
    assert student_edition.scan([ROOT / "_build" / "html"], fingerprints)
