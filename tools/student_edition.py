"""Build the student edition: the book and the notebooks with every solution removed.

Usage (from the repository root)::

    python tools/student_edition.py            # book + notebooks
    python tools/student_edition.py --no-book  # only the stripped notebooks

Output:

- ``_build/student/notebooks/*.ipynb``: the chapters without solutions, to hand out;
- ``_build/student/book/_build/html/``: the rendered student book.

Why a stripped copy rather than sphinx-exercise's ``hide_solutions``: that option
crashes on gated ``solution-start``/``solution-end`` blocks (sphinx-exercise issue
89), and a hidden solution still ships in the page's ``_sources/`` and in the
downloadable notebook. So the script copies the book's sources to
``_build/student/src/``, deletes the solutions there, builds that copy, and finally
scans every file of the output for solution text (it fails if any survives).
Notebooks that the teacher's build (``jupyter-book build .``) already executed keep
their outputs (solution cells are self-contained, so removing them changes no other
output) and are not run again.

Conventions the chapters follow (enforced by tests/test_notebook_format.py): a
solution is a markdown cell of its own that starts with a ``{solution}``
directive, or a gated block from a ``{solution-start}`` cell to a
``{solution-end}`` cell (code cells in between are removed too).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import shutil
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "student"

_OPEN = re.compile(r"^\s*(`{3,}|:{3,})\{solution(-start)?\}")
_END = re.compile(r"^\s*(`{3,}|:{3,})\{solution-end\}")
_MD_BLOCK = re.compile(r"^(?P<fence>`{3,}|:{3,})\{solution\}.*?^(?P=fence)\s*$\n?", re.M | re.S)
_MD_GATED = re.compile(r"^(`{3,}|:{3,})\{solution-start\}.*?^(`{3,}|:{3,})\{solution-end\}.*?^\2\s*$\n?", re.M | re.S)


def _text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def strip_notebook(nb: dict) -> tuple[dict, list[str]]:
    """Remove solution cells; return the new notebook and the removed cells' texts."""
    kept, removed, in_gated = [], [], False
    for cell in nb["cells"]:
        text = _text(cell)
        tags = cell.get("metadata", {}).get("tags", [])
        if in_gated:
            removed.append(text)
            if cell["cell_type"] == "markdown" and _END.match(text):
                in_gated = False
            continue
        match = _OPEN.match(text) if cell["cell_type"] == "markdown" else None
        if match:
            removed.append(text)
            in_gated = bool(match.group(2))
            continue
        if "solution" in tags:
            removed.append(text)
            continue
        kept.append(cell)
    if in_gated:
        raise ValueError("a solution-start block has no solution-end")
    stripped = dict(nb, cells=kept)
    return stripped, removed


def strip_markdown(text: str) -> tuple[str, list[str]]:
    removed = [m.group(0) for m in _MD_GATED.finditer(text)] + [m.group(0) for m in _MD_BLOCK.finditer(text)]
    text = _MD_GATED.sub("", text)
    text = _MD_BLOCK.sub("", text)
    return text, removed


def solution_fingerprints(removed: list[str]) -> list[str]:
    """Distinctive lines of the removed solutions, to look for in the output."""
    prints = []
    for block in removed:
        for line in block.splitlines():
            line = line.strip()
            if len(line) >= 40 and not _OPEN.match(line) and not line.startswith((":class:", ":label:")):
                prints.append(line[:60])
    return prints


def _executed_copy(path: pathlib.Path) -> dict | None:
    """The notebook with the outputs of the teacher's build, if its cache has them."""
    cache_dir = ROOT / "_build" / ".jupyter_cache"
    if not cache_dir.exists():
        return None
    import nbformat
    from jupyter_cache import get_cache

    try:
        _, merged = get_cache(cache_dir).merge_match_into_notebook(nbformat.read(path, as_version=4))
    except KeyError:  # no cached execution of this exact code
        return None
    return json.loads(nbformat.writes(merged))


def make_sources() -> list[str]:
    """Write the stripped copy of the book to OUT/src and the notebooks to OUT/notebooks."""
    src = OUT / "src"
    if src.exists():
        shutil.rmtree(src)
    (src / "chapters").mkdir(parents=True)
    notebooks = OUT / "notebooks"
    if notebooks.exists():
        shutil.rmtree(notebooks)
    notebooks.mkdir(parents=True)
    removed_all: list[str] = []
    pre_executed: list[str] = []
    for path in sorted((ROOT / "chapters").iterdir()):
        target = src / "chapters" / path.name
        if path.suffix == ".ipynb":
            nb, removed = strip_notebook(json.loads(path.read_text()))
            text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
            (notebooks / path.name).write_text(text)  # the hand-out: no outputs
            executed = _executed_copy(path)
            if executed is not None:
                # the teacher's build already ran this notebook: reuse its outputs
                nb, _ = strip_notebook(executed)
                text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
                pre_executed.append(f"chapters/{path.name}")
            target.write_text(text)
            removed_all += removed
        elif path.suffix == ".md":
            text, removed = strip_markdown(path.read_text())
            target.write_text(text)
            removed_all += removed
        elif path.is_file():
            shutil.copy2(path, target)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["title"] = f"{config['title']} (student edition)"
    # Notebooks the teacher's build executed keep its outputs and are not run again;
    # any other notebook is executed (sharing the teacher's cache).
    execute = config.setdefault("execute", {})
    execute["cache"] = str(ROOT / "_build" / ".jupyter_cache")
    execute["exclude_patterns"] = list(execute.get("exclude_patterns") or []) + pre_executed
    # the book's own Sphinx extension and CSS live outside chapters/
    local = config.get("sphinx", {}).get("local_extensions") or {}
    config["sphinx"]["local_extensions"] = {name: str((ROOT / path).resolve()) for name, path in local.items()}
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    shutil.copy2(ROOT / "_toc.yml", src / "_toc.yml")
    if (ROOT / "_static").is_dir():
        shutil.copytree(ROOT / "_static", src / "_static")
    return solution_fingerprints(removed_all)


def scan(paths: list[pathlib.Path], fingerprints: list[str]) -> list[str]:
    """Files under ``paths`` that still contain a solution directive or solution text."""
    leaks = []
    for base in paths:
        for path in base.rglob("*"):
            if not path.is_file() or path.suffix not in {".html", ".ipynb", ".md", ".txt", ".py", ".json"}:
                continue
            text = path.read_text(errors="ignore")
            if re.search(r"\{solution(-start|-end)?\}", text) or 'class="solution' in text:
                leaks.append(f"{path}: solution directive or solution element")
                continue
            unescaped = text.replace("\\n", "\n").replace('\\"', '"')
            for fp in fingerprints:
                if fp in text or fp in unescaped:
                    leaks.append(f"{path}: contains solution text {fp!r}")
                    break
    return leaks


def main() -> int:
    parser = argparse.ArgumentParser(description="Build the student edition (solutions removed).")
    parser.add_argument("--no-book", action="store_true", help="only write the stripped notebooks")
    args = parser.parse_args()
    fingerprints = make_sources()
    print(f"stripped notebooks: {OUT / 'notebooks'}  ({len(fingerprints)} solution lines removed)")
    scanned = [OUT / "notebooks", OUT / "src"]
    if not args.no_book:
        book = OUT / "book"
        cmd = ["jupyter-book", "build", str(OUT / "src"), "--path-output", str(book), "-W", "--keep-going"]
        print("building:", " ".join(cmd), flush=True)
        result = subprocess.run(cmd, cwd=ROOT)
        if result.returncode != 0:
            print("student edition: the book build failed", file=sys.stderr)
            return result.returncode
        scanned.append(book / "_build" / "html")
        print(f"student book: {book / '_build' / 'html' / 'index.html'}")
    leaks = scan(scanned, fingerprints)
    if leaks:
        print("solution text survived in the student edition:", *leaks, sep="\n  ", file=sys.stderr)
        return 1
    print("checked: no solution text in", ", ".join(str(p.relative_to(ROOT)) for p in scanned))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
