"""pytest configuration shared by the unit tests and the nbval run of the chapters.

`pytest` collects `tests/` and every notebook in `chapters/` (with `--nbval-lax`, so
each notebook's own asserts are the checks); notebooks that are not pages of the
book (not listed in `_toc.yml`) are skipped here and flagged by
`tests/test_notebook_format.py`.
"""

from __future__ import annotations

import os
import pathlib

import yaml

# One BLAS thread per process: the notebooks' small dense linear algebra (matrix
# exponentials, eigenvalues) is fastest single-threaded, and on a 2-core machine
# threads of concurrent kernels only fight. Kernels started by nbval and by the
# book build inherit this.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
# A non-inline backend (e.g. MPLBACKEND=Agg from the shell) would drop every figure
# from the executed notebooks; the kernels must use the inline backend.
if os.environ.get("MPLBACKEND", "").lower() == "agg":
    del os.environ["MPLBACKEND"]

ROOT = pathlib.Path(__file__).resolve().parent


def toc_files(toc_path: pathlib.Path = ROOT / "_toc.yml") -> list[str]:
    """Every page listed in `_toc.yml` (paths without suffix, relative to the book root)."""
    toc = yaml.safe_load(toc_path.read_text())
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [str(pathlib.PurePosixPath(f).with_suffix("")) if f.endswith((".md", ".ipynb")) else f for f in found]


def pytest_ignore_collect(collection_path: pathlib.Path, config) -> bool | None:
    if collection_path.suffix == ".ipynb":
        try:
            rel = collection_path.resolve().relative_to(ROOT).with_suffix("")
        except ValueError:
            return None
        return rel.as_posix() not in toc_files()
    return None
