"""Put the book's LaTeX macros into every chapter notebook, for JupyterLab.

The book's MathJax reads the macros (``\\R \\E \\Var \\grad \\dd``) from ``_config.yml``
(``sphinx.config.mathjax3_config.tex.macros``). JupyterLab does not read ``_config.yml``:
jupyterlab-myst reads macros from a YAML ``math:`` block at the top of a notebook's first
markdown cell. So this tool makes the first cell of each notebook a markdown cell holding
only that block (cell id ``math-macros``, tagged ``remove-cell`` so the book does not show
it), generated from ``_config.yml``: one source of truth.

Usage (from the repository root)::

    python tools/notebook_macros.py                 # insert/update in chapters/*.ipynb
    python tools/notebook_macros.py --check         # exit 1 if a notebook lacks the cell
    python tools/notebook_macros.py a.ipynb b.ipynb # only these notebooks

Idempotent: a notebook whose first cell already is the current macro cell is not rewritten;
an outdated macro cell is replaced in place. No other cell is touched.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import nbformat
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
CELL_ID = "math-macros"


def book_macros(config_path: pathlib.Path = ROOT / "_config.yml") -> dict[str, str]:
    """The macros of the book's MathJax configuration: ``{"R": "\\\\mathbb{R}", ...}``."""
    config = yaml.safe_load(config_path.read_text())
    macros = config["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    out = {}
    for name, value in macros.items():
        if isinstance(value, list):  # MathJax's [definition, n_args] form
            raise ValueError(f"macro {name!r} takes arguments; jupyterlab-myst's math: block cannot")
        out[name] = str(value)
    return out


def macro_source(macros: dict[str, str]) -> str:
    """The cell source: a YAML front-matter block with ``math:`` only."""
    lines = ["---", "math:"]
    for name, value in macros.items():
        lines.append(f"  '\\{name}': '{value}'")
    lines.append("---")
    return "\n".join(lines)


def macro_cell(macros: dict[str, str]) -> dict:
    return {
        "cell_type": "markdown",
        "id": CELL_ID,
        "metadata": {"tags": ["remove-cell"]},
        "source": macro_source(macros),
    }


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def is_macro_cell(cell: dict) -> bool:
    return cell.get("id") == CELL_ID or (
        cell.get("cell_type") == "markdown" and _source(cell).lstrip().startswith("---\nmath:")
    )


def apply(nb: dict, macros: dict[str, str]) -> bool:
    """Insert or update the macro cell; return whether the notebook changed."""
    want = nbformat.from_dict(macro_cell(macros))
    cells = nb["cells"]
    if cells and is_macro_cell(cells[0]):
        if _source(cells[0]) == want["source"] and "remove-cell" in cells[0].get("metadata", {}).get("tags", []):
            return False
        cells[0] = want
        return True
    # a macro cell elsewhere (should not happen) is moved to the top
    cells[:] = [c for c in cells if not is_macro_cell(c)]
    cells.insert(0, want)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path)
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if any notebook needs the cell")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    macros = book_macros()
    stale = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if apply(nb, macros):
            stale.append(path)
            if not args.check:
                nbformat.write(nbformat.from_dict(nb), path)  # nbformat's own layout: small diffs
    if args.check:
        for path in stale:
            print(f"{path}: first cell is not the current math-macros cell (run tools/notebook_macros.py)")
        return 1 if stale else 0
    for path in stale:
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
