"""The book builds with warnings as errors, and the student edition leaks no solution.

These run the real builds (`jupyter-book build`), which execute every notebook
(cached by jupyter-cache between local runs, so a second run is fast). The book build is
the session fixture `book_build` (conftest.py), shared with the browser tests: one build
per pytest run.
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
def main_build(book_build):
    if book_build.returncode is None:
        pytest.skip("LANGEVIN_BOOK_HTML reuses an existing build: the build itself is not tested")
    return book_build


def test_book_builds_without_warnings(main_build):
    log = main_build.log
    assert main_build.returncode == 0, log[-6000:]
    assert "WARNING:" not in log, "\n".join(l for l in log.splitlines() if "WARNING:" in l)
    html = main_build.html
    for page in ["chapters/index.html", "chapters/bibliography.html", "chapters/00_verification_pattern.html"]:
        assert (html / page).exists(), page
    bib = (html / "chapters" / "bibliography.html").read_text()
    assert "McAllester" in bib and "Roberts" in bib


def test_glued_numbers_and_figures_render(book_build):
    page = (book_build.html / "chapters" / "00_verification_pattern.html").read_text()
    assert "<img" in page and "figcaption" in page
    # glue references that failed to resolve leave their raw role text behind
    assert "{glue:" not in page and "glue:text" not in page


def test_link_texts_are_filled_in(book_build):
    # a {numref} whose title mixes "%s" with "{name}" keeps the "%s" (Sphinx only formats
    # "{number}" then), and the build does not warn: look at the link texts themselves
    for page in sorted((book_build.html / "chapters").glob("*.html")):
        links = re.findall(r'<a class="reference internal"[^>]*>(.*?)</a>', page.read_text(), re.S)
        bad = [text for text in links if re.search(r"%s|\{number\}|\{name\}", text)]
        assert not bad, f"{page.name}: unfilled link texts {bad[:3]}"


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


def test_bibliography_is_author_year_and_lists_only_cited_works(book_build):
    page = (book_build.html / "chapters" / "bibliography.html").read_text()
    labels = re.findall(r'<span class="label"><span class="fn-bracket">\[</span>(.*?)<span class="fn-bracket">', page)
    labels = [re.sub(r"<[^>]+>", "", label) for label in labels]
    assert labels, "no bibliography entries"
    assert all(re.search(r", \d{4}[a-z]?$", label) for label in labels), labels
    assert not any(label.isdigit() for label in labels), labels
    # only cited works: every listed key is cited somewhere in the chapters or the index
    sources = " ".join(p.read_text() for p in (ROOT / "chapters").glob("*.*") if p.suffix in {".md", ".ipynb"})
    cited = set(re.findall(r"\{cite(?::[a-z]+)?\}`([^`]+)`", sources))
    cited = {key.strip() for group in cited for key in group.split(",")}
    assert len(labels) == len(cited), f"{len(labels)} entries listed, {len(cited)} works cited"


def test_bibliography_math_is_typeset():
    """`$\\widehat{R}$` in a bibliography entry becomes a math node (MathJax typesets it)."""
    from docutils import nodes
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    import bookext

    document = new_document("test", get_default_settings(Parser))
    citation = nodes.citation()
    citation += nodes.label("", "Vehtari et al., 2021")
    # pybtex-docutils splits the title into several Text nodes
    citation += nodes.paragraph("", "", nodes.Text("An improved $\\widehat "), nodes.Text("R"),
                                nodes.Text("$ for "), nodes.emphasis("", "MCMC"), nodes.Text("."))
    document += citation
    bookext.BibliographyMath(document).run()
    maths = list(document.findall(nodes.math))
    assert [m.astext() for m in maths] == ["\\widehat R"]
    assert document.astext().endswith("for MCMC.")
    assert "An improved " in document.astext() and "$" not in document.astext()


def test_author_year_labels():
    from pybtex.database import parse_string

    import bookext

    bib = parse_string(
        """
        @article{a, author={Hyv{\\"a}rinen, Aapo}, title={T}, year={2005}}
        @article{b, author={Song, Yang and Ermon, Stefano}, title={T}, year={2019}}
        @article{c, author={Ho, J. and Jain, A. and Abbeel, P.}, title={T}, year={2020}}
        @article{d, author={Ho, J. and Jain, A. and Abbeel, P.}, title={U}, year={2020}}
        """,
        "bibtex",
    )
    labels = list(bookext.AuthorYearLabelStyle().format_labels(bib.entries.values()))
    assert labels == ["Hyvärinen, 2005", "Song and Ermon, 2019", "Ho et al., 2020a", "Ho et al., 2020b"]


def test_plain_notebooks_build(book_build, tmp_path):
    """tools/plain_notebooks.py turns the executed chapters into plain Markdown (it fails on leftovers)."""
    result = run([sys.executable, "tools/plain_notebooks.py", "--build-dir", str(book_build.html.parent),
                  "--out", str(tmp_path), "--strict"])
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    student = json.loads((tmp_path / "student" / "00_verification_pattern.ipynb").read_text())
    teacher = json.loads((tmp_path / "teacher" / "00_verification_pattern.ipynb").read_text())
    text = lambda nb: "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")  # noqa: E731
    assert "#### Exercise 1" in text(student) and "Solution to Exercise 1" in text(teacher)
    assert "Solution to Exercise" not in text(student)
    assert "{glue" not in text(teacher) and "\\R" not in text(teacher)
