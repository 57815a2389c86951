"""Glue computed values into the book's prose, without importing Sphinx.

``myst_nb.glue`` imports ``myst_nb.ext.glue`` and through it Sphinx and docutils: about 4 s of
CPU at the first call in every chapter, for what is one ``display_data`` message. This module
writes the same message (the format myst-nb's glue reader expects: each MIME type prefixed by
``application/papermill.record/`` and ``metadata["scrapbook"] = {"name": ..., "mime_prefix":
...}``), so ``{glue:text}`` roles in the book and ``tools/plain_notebooks.py`` read it exactly as
they read myst-nb's own. ``tests/test_glue.py`` compares the two messages.
"""

from __future__ import annotations

from typing import Any

__all__ = ["glue", "GLUE_PREFIX"]

#: the MIME prefix of a glued, not displayed, value (myst_nb.ext.glue.GLUE_PREFIX)
GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, variable: Any, display: bool = True) -> None:
    """Store ``variable``'s display value under ``name`` for ``{glue:text}`` and friends.

    Parameters
    ----------
    name : str
        The key the book refers to (``{glue:text}`name:.3f```); must be a non-empty string.
    variable : object
        Anything IPython can display; numbers are best glued as plain floats.
    display : bool
        Also show the value in the cell's output (as myst-nb's ``glue``).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipy_display

    mimebundle, metadata = format_display_data(variable)
    mime_prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = dict(name=name, mime_prefix=mime_prefix)
    ipy_display({mime_prefix + k: v for k, v in mimebundle.items()}, raw=True, metadata=metadata)
