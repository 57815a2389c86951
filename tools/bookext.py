"""Sphinx extension of this book (loaded by `_config.yml` as a local extension).

What it does, and why each piece exists:

- **Author-year bibliography.** The text cites author-year ("McAllester, 2022"), so the
  bibliography's labels must be author-year too, not [1]-[43] (clicking a citation lands on
  its entry). It registers a pybtex label style and a formatting style ``authoryear``
  (labels "Langevin, 1908", "Song and Ermon, 2019", "Ho et al., 2020", with a/b suffixes
  for collisions, which the in-text citations carry too; entries sorted by author, year,
  title), selected by ``bibtex_default_style: authoryear``.
- **Math in bibliography entries.** pybtex renders ``$\\widehat{R}$`` in a title as plain
  text; a transform turns every ``$...$`` inside a citation entry into a math node, so
  MathJax typesets it.
- **MathJax on every page.** The bibliography's math appears only after the pages were read,
  so Sphinx would not know that page needs MathJax: load it everywhere (the chapters all
  have math anyway; the copy is local, see `sphinx-mathjax-offline` in `_config.yml`).
- **Theme default mode** "auto" (pydata-sphinx-theme logs a console error without one).
- **No thebe.** Launch buttons use Binder/Colab, not thebe (``launch_buttons.thebe: false``),
  yet sphinx-thebe 0.3 still injects its configuration (twice) and a thebe config block that
  points at a CDN. With thebe off, its hooks are removed.
"""

from __future__ import annotations

import re

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle as AuthorYearTitleSorting
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform


def latex_to_text(text: str) -> str:
    """BibTeX name text as a reader sees it: ``Hyv{\\"a}rinen`` -> ``Hyvärinen``."""
    import codecs

    import latexcodec  # noqa: F401  (registers the "ulatex" codec; a pybtex dependency)

    return re.sub(r"[{}]", "", codecs.decode(text, "ulatex"))


def _last_names(person) -> str:
    return latex_to_text(" ".join(person.prelast_names + person.last_names))


def author_year_label(entry) -> str:
    """'Langevin, 1908', 'Song and Ermon, 2019', 'Ho et al., 2020'."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_names(p) for p in persons]
    if not names:
        who = entry.fields.get("organization") or entry.fields.get("title", "Anon.")
        who = latex_to_text(str(who))
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    year = entry.fields.get("year", "n.d.")
    return f"{who}, {year}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Author-year labels, made unique with a, b, ... suffixes on the year."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year_label(e) for e in entries]
        counts: dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        seen: dict[str, int] = {}
        for label in labels:
            if counts[label] == 1:
                yield label
            else:
                k = seen.get(label, 0)
                seen[label] = k + 1
                yield f"{label}{'abcdefghijklmnopqrstuvwxyz'[k]}"


class AuthorYearStyle(PlainStyle):
    default_label_style = AuthorYearLabelStyle
    default_sorting_style = AuthorYearTitleSorting


register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabelStyle)
register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)


def _use_label_years() -> None:
    """In-text citations take their year from the entry's label, so that two works by the same
    authors in one year read "Song et al., 2021a" / "2021b" in the text as in the list."""
    from pybtex.richtext import Text
    from sphinxcontrib.bibtex.style import template
    from sphinxcontrib.bibtex.style.referencing import basic_author_year, extra_year

    @template.node
    def label_year(children, data):
        assert not children
        label = getattr(data.get("formatted_entry"), "label", "") or ""
        if re.search(r", \d{4}[a-z]?$", label):
            return Text(label.rsplit(", ", 1)[1])
        return template.first_of[template.optional[template.field("year")], "n.d."].format_data(data)

    basic_author_year.year = label_year
    extra_year.year = label_year


_use_label_years()

_DOLLAR_MATH = re.compile(r"\$([^$]+)\$")


class BibliographyMath(SphinxPostTransform):
    """Typeset ``$...$`` inside bibliography entries (runs after sphinxcontrib-bibtex).

    pybtex-docutils splits a title into several Text nodes (``"an improved $\\widehat "``,
    ``"R"``, ``"$ for..."``), so runs of adjacent Text nodes are joined before splitting
    them at the dollar signs.
    """

    default_priority = 50  # after sphinxcontrib-bibtex's BibliographyTransform (priority 5)

    def run(self, **kwargs) -> None:
        for citation in list(self.document.findall(nodes.citation)):
            for element in list(citation.findall(nodes.Element)):
                if isinstance(element, (nodes.math, nodes.label)):
                    continue
                self._split(element)

    @staticmethod
    def _split(element: nodes.Element) -> None:
        children, run = [], []

        def flush():
            if not run:
                return
            value = "".join(str(t) for t in run)
            if value.count("$") >= 2:
                pos = 0
                for match in _DOLLAR_MATH.finditer(value):
                    if match.start() > pos:
                        children.append(nodes.Text(value[pos : match.start()]))
                    children.append(nodes.math(match.group(1), match.group(1)))
                    pos = match.end()
                if pos < len(value):
                    children.append(nodes.Text(value[pos:]))
            else:
                children.extend(run)
            run.clear()

        for child in element.children:
            if isinstance(child, nodes.Text):
                run.append(child)
            else:
                flush()
                children.append(child)
        flush()
        if len(children) != len(element.children) or any(a is not b for a, b in zip(children, element.children)):
            element.children = []
            element.extend(children)


def _theme_defaults(app: Sphinx, config) -> None:
    """pydata-sphinx-theme 0.15 logs a console error ("Got invalid theme mode") on a first
    visit unless ``default_mode`` is set; "auto" follows the reader's system setting."""
    config.html_context = dict(config.html_context or {})
    config.html_context.setdefault("default_mode", "auto")


def _drop_thebe(app: Sphinx, config) -> None:
    """Remove sphinx-thebe's script injection when thebe is switched off."""
    launch = (config.html_theme_options or {}).get("launch_buttons", {})
    if launch.get("thebe"):
        return
    for event in ("env-before-read-docs", "doctree-resolved"):
        listeners = app.events.listeners.get(event, [])
        app.events.listeners[event] = [
            listener
            for listener in listeners
            if getattr(listener.handler, "__module__", "") != "sphinx_thebe"
        ]


def setup(app: Sphinx) -> dict:
    app.add_post_transform(BibliographyMath)
    app.set_html_assets_policy("always")
    app.connect("config-inited", _drop_thebe, priority=900)
    app.connect("config-inited", _theme_defaults, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
