"""Plain-Markdown copies of the executed chapters, readable in any Jupyter (Colab, VS Code, Lab).

The chapters are MyST notebooks: glued numbers (``{glue:text}``), exercises and solutions,
citations, cross-references and the book's LaTeX macros only render in the book (and,
partly, in JupyterLab with jupyterlab-myst, which cannot show glued numbers). This tool
turns the notebooks the book build executed into plain notebooks:

- glued values filled in, formatted as in the book;
- exercises as headings "Exercise 4.2: title", solutions in ``<details>`` (a gated solution
  with code cells gets a "Solution to Exercise 4.2" heading and an end marker);
- citations as author-year text, "(McAllester, 2022)", and a References cell at the end;
- ``{ref}``, ``{numref}``, ``{eq}`` resolved to the book's text and numbers ("Exercise 4.2",
  "Fig. 4.3", "(4.1)", chapter titles with links to the other notebooks);
- labelled equations numbered with ``\\tag{4.1}``, ``{math}`` blocks as ``$$``, macros expanded;
- admonitions (``{tip}``, ``{note}``, ...) as block quotes, figure captions as a line below the
  figure; cells the book hides have their input collapsed (they still run).

Two editions: ``teacher`` (everything) and ``student`` (solutions removed, with the same
rules as ``tools/student_edition.py``). The outputs of the book build are kept, so figures
show before anything runs; re-running works where ``lib`` is importable
(``pip install -r requirements.txt`` installs it).

Usage (after ``jupyter-book build .``, whose executed notebooks and numbering it reads)::

    python tools/plain_notebooks.py                   # _build/plain/{teacher,student}/*.ipynb
    python tools/plain_notebooks.py --build-dir /tmp/jb/_build --out /tmp/plain

It exits non-zero if a chapter has no executed copy in the build (build the book first) or if
any MyST markup survives the conversion; a reference, glued name or citation it cannot resolve
(the book's -W build fails on those too) is a warning and shows as "??" (``--strict``: an error).
"""

from __future__ import annotations

import argparse
import copy
import json
import pathlib
import pickle
import re
import sys

import nbformat
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

import student_edition  # noqa: E402

GLUE_MIME_PREFIX = "application/papermill.record/"
ADMONITIONS = {
    "tip": "Tip", "note": "Note", "important": "Important", "warning": "Warning", "hint": "Hint",
    "caution": "Caution", "attention": "Attention", "danger": "Danger", "error": "Error",
    "seealso": "See also", "admonition": "",
}
NUMFIG_FORMAT = {"figure": "Fig. %s", "table": "Table %s", "code-block": "Listing %s",
                 "section": "Section %s", "exercise": "Exercise %s", "displaymath": "(%s)"}


class ConversionError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------
# What the book build knows: numbers, titles, glued values, citations
# ---------------------------------------------------------------------------------------


class Book:
    """Numbering and titles from the build's Sphinx environment, plus the bibliography."""

    def __init__(self, build_dir: pathlib.Path):
        env_path = build_dir / ".doctrees" / "environment.pickle"
        if not env_path.exists():
            raise ConversionError(f"{env_path} not found: build the book first (jupyter-book build .)")
        with env_path.open("rb") as fh:
            env = pickle.load(fh)
        self.labels = env.domaindata["std"]["labels"]  # label -> (docname, id, title)
        self.anonlabels = env.domaindata["std"]["anonlabels"]  # label -> (docname, id)
        self.equations = env.domaindata["math"]["objects"]  # label -> (docname, eqno)
        self.fignumbers = env.toc_fignumbers  # docname -> figtype -> id -> (n, k)
        self.secnumbers = env.toc_secnumbers  # docname -> anchor -> (n, ...)
        self.titles = {doc: node.astext() for doc, node in env.titles.items()}
        config = yaml.safe_load((ROOT / "_config.yml").read_text())
        self.macros = config["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
        self.bib = _load_bib([ROOT / b for b in config.get("bibtex_bibfiles", [])])

    # -- numbers -------------------------------------------------------------------------
    def chapter_number(self, docname: str) -> str:
        nums = self.secnumbers.get(docname, {}).get("")
        return ".".join(map(str, nums)) if nums else ""

    def number(self, label: str) -> tuple[str, str, str]:
        """(figtype, number, docname) of a numbered target (figure, exercise, section...)."""
        docname, node_id = self.anonlabels.get(label, (None, None))
        if docname is None:
            raise ConversionError(f"unknown label {label!r}")
        for figtype, ids in self.fignumbers.get(docname, {}).items():
            if node_id in ids:
                return figtype, ".".join(map(str, ids[node_id])), docname
        anchor = "" if self.labels.get(label, (None, None, None))[1] is None else f"#{node_id}"
        nums = self.secnumbers.get(docname, {}).get(anchor) or self.secnumbers.get(docname, {}).get(f"#{node_id}")
        if nums:
            return "section", ".".join(map(str, nums)), docname
        raise ConversionError(f"label {label!r} has no number")

    def equation(self, label: str) -> str:
        if label not in self.equations:
            raise ConversionError(f"unknown equation label {label!r}")
        docname, _ = self.equations[label]
        node_id = f"equation-{label}"
        nums = self.fignumbers.get(docname, {}).get("displaymath", {}).get(node_id)
        if nums:
            return ".".join(map(str, nums))
        return str(self.equations[label][1])

    def ref_text(self, label: str) -> tuple[str, str]:
        """(title, docname) of a {ref} target."""
        if label in self.labels:
            docname, _, title = self.labels[label]
            return title, docname
        if label in self.anonlabels:
            docname, _ = self.anonlabels[label]
            return self.titles.get(docname, label), docname
        raise ConversionError(f"unknown label {label!r}")


def _load_bib(paths: list[pathlib.Path]) -> dict:
    from pybtex.database import parse_file

    entries = {}
    for path in paths:
        entries.update(parse_file(str(path)).entries)
    return entries


def author_year(entry) -> tuple[str, str]:
    """('Song et al.', '2021') as the book's bibliography labels them."""
    import bookext

    label = bookext.author_year_label(entry)
    who, year = label.rsplit(", ", 1)
    return who, year


def format_reference(entry) -> str:
    from pybtex.backends.markdown import Backend
    import bookext

    style = bookext.AuthorYearStyle()
    formatted = next(iter(style.format_entries([entry])))
    return " ".join(formatted.text.render(Backend()).split("\n"))


# ---------------------------------------------------------------------------------------
# Glued values
# ---------------------------------------------------------------------------------------


def glue_values(nb: dict) -> dict[str, dict]:
    """name -> mime bundle of every glue() call in the executed notebook."""
    values = {}
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook")
            if not meta:
                continue
            prefix = meta.get("mime_prefix", "")
            values[meta["name"]] = {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in out.get("data", {}).items()}
    return values


def _plain(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


# ---------------------------------------------------------------------------------------
# Markdown conversion
# ---------------------------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-zA-Z0-9:_-]+)\}(?P<arg>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$\n?",
                    re.M | re.S)
_ROLE = re.compile(r"\{(?P<role>[a-z]+(?::[a-z]*)?)\}`(?P<text>[^`]*)`")
_TARGET = re.compile(r"^\((?P<label>[^)\s]+)\)=[ \t]*\n", re.M)
_DOLLAR_LABEL = re.compile(r"\$\$(?P<body>.+?)\$\$[ \t]*\((?P<label>[^)\s]+)\)", re.S)
_CODE = re.compile(r"(^```(?!\{).*?^```[ \t]*$|`[^`\n]+`)", re.M | re.S)
# roles first (a role ends in a backtick span), then code fences and code spans
_TOKENS = re.compile(r"(?P<role>\{[a-z]+(?::[a-z]*)?\}`[^`]*`)|(?P<fence>^```.*?^```[ \t]*$)|(?P<code>`[^`\n]+`)",
                     re.M | re.S)


def _options(body: str) -> tuple[dict[str, str], str]:
    """Split a directive body into its ``:key: value`` options and the content."""
    options, lines = {}, body.split("\n")
    while lines and re.match(r"^:[a-zA-Z_-]+:", lines[0]):
        key, _, value = lines.pop(0)[1:].partition(":")
        options[key.strip()] = value.strip()
    if body.startswith("---\n"):  # YAML option block
        end = body.index("\n---", 4)
        options.update(yaml.safe_load(body[4:end]) or {})
        lines = body[end + 4 :].split("\n")
    return options, "\n".join(lines).strip("\n")


class Converter:
    def __init__(self, book: Book, docname: str, glue: dict[str, dict]):
        self.book = book
        self.docname = docname
        self.glue = glue
        self.cited: list[str] = []
        self.warnings: list[str] = []
        self.attachments: dict[str, dict] = {}  # of the markdown cell being converted

    # -- roles -----------------------------------------------------------------------------
    def role(self, match: re.Match) -> str:
        """A role's plain text; an unresolvable one (a missing label, glued name or citation,
        which also breaks the book's -W build) becomes a warning and a visible "??"."""
        try:
            return self._role(match)
        except ConversionError as exc:
            self.warnings.append(str(exc).removeprefix(f"{self.docname}: "))
            role, text = match.group("role"), match.group("text")
            titled = re.match(r"^(?P<title>.*?)\s*<[^>]+>$", text, re.S)
            if role == "ref" and titled:
                return titled.group("title")
            return "??"

    def _role(self, match: re.Match) -> str:
        role, text = match.group("role"), match.group("text")
        if role.startswith("glue"):
            return self.glue_role(role, text)
        if role in ("cite:p", "cite", "cite:ps", "cite:t", "cite:ts"):
            return self.cite(role, text)
        if role == "ref":
            return self.ref(text)
        if role == "numref":
            return self.numref(text)
        if role == "eq":
            return f"({self.book.equation(text.strip())})"
        if role in ("math",):
            return f"${text}$"
        if role in ("term", "doc", "abbr", "sub", "sup", "kbd"):
            return re.sub(r"\s*<[^>]+>$", "", text)
        raise ConversionError(f"{self.docname}: no plain form for the role {{{role}}}`{text}`")

    def glue_role(self, role: str, text: str) -> str:
        from myst_nb.core.variables import format_plain_text

        kind = role.split(":", 1)[1] if ":" in role else ""
        if kind == "text":
            key, _, fmt = text.rpartition(":") if ":" in text else (text, "", "s")
            key = key or text
        else:
            key, fmt = text, ""
        if "::" in key:
            raise ConversionError(f"{self.docname}: glue from another document ({key}) is not supported")
        if key not in self.glue:
            raise ConversionError(f"{self.docname}: glued name {key!r} not found in the executed notebook")
        data = self.glue[key]
        if kind == "md" and "text/markdown" in data:
            return _plain(data["text/markdown"])
        if kind == "math" and "text/latex" in data:
            return f"${_plain(data['text/latex']).strip('$')}$"
        plain = _plain(data.get("text/plain", ""))
        return format_plain_text(plain, fmt or "s") if kind == "text" else plain

    def glue_directive(self, name: str, key: str, options: dict) -> str:
        """``{glue}``, ``{glue:md}``, ``{glue:math}``, ``{glue:figure}``: the glued output itself."""
        if key not in self.glue:
            self.warnings.append(f"glued name {key!r} not found in the executed notebook")
            return "??"
        data = self.glue[key]
        kind = name.split(":", 1)[1] if ":" in name else ""
        if kind == "md" and "text/markdown" in data:
            return self.markdown(_plain(data["text/markdown"]))
        if kind == "math" and "text/latex" in data:
            return f"$$\n{_plain(data['text/latex']).strip('$')}\n$$"
        for mime in ("image/png", "image/jpeg", "image/svg+xml"):
            if mime in data:
                filename = f"{key}.{mime.split('/')[1].split('+')[0]}"
                self.attachments[filename] = {mime: _plain(data[mime])}
                caption = f"\n\n*{self.markdown(options['caption'])}*" if options.get("caption") else ""
                return f"![{key}](attachment:{filename}){caption}"
        if "text/markdown" in data:
            return self.markdown(_plain(data["text/markdown"]))
        return f"`{_plain(data.get('text/plain', ''))}`"

    def cite(self, role: str, text: str) -> str:
        keys = [k.strip() for k in text.split(",") if k.strip()]
        parts = []
        for key in keys:
            if key not in self.book.bib:
                raise ConversionError(f"{self.docname}: citation key {key!r} not in references.bib")
            if key not in self.cited:
                self.cited.append(key)
            who, year = author_year(self.book.bib[key])
            parts.append((who, year))
        if role.startswith("cite:t"):
            return "; ".join(f"{who} ({year})" for who, year in parts)
        return "(" + "; ".join(f"{who}, {year}" for who, year in parts) + ")"

    def _link(self, text: str, docname: str) -> str:
        if docname == self.docname:
            return text
        return f"[{text}]({pathlib.PurePosixPath(docname).name}.ipynb)"

    def ref(self, text: str) -> str:
        m = re.match(r"^(?P<title>.*?)\s*<(?P<label>[^>]+)>$", text, re.S)
        if m:
            _, docname = self.book.ref_text(m.group("label"))
            return self._link(m.group("title"), docname)
        title, docname = self.book.ref_text(text.strip())
        return self._link(title, docname)

    def numref(self, text: str) -> str:
        m = re.match(r"^(?P<title>.*?)\s*<(?P<label>[^>]+)>$", text, re.S)
        label = m.group("label") if m else text.strip()
        figtype, number, docname = self.book.number(label)
        template = m.group("title") if m else NUMFIG_FORMAT.get(figtype, "%s")
        shown = template.replace("%s", number).replace("{number}", number)
        return self._link(shown, docname)

    # -- math --------------------------------------------------------------------------------
    def expand_macros(self, tex: str) -> str:
        for name, value in self.book.macros.items():
            tex = re.sub(r"\\" + name + r"(?![A-Za-z])", lambda _m, v=value: v, tex)
        return tex

    def math_block(self, body: str, label: str | None) -> str:
        body = body.strip()
        if "\\\\" in body and not re.search(r"\\begin\{", body):
            body = "\\begin{aligned}\n" + body + "\n\\end{aligned}"
        if label:
            body += f" \\tag{{{self.book.equation(label)}}}"
        return f"$$\n{body}\n$$"

    # -- directives --------------------------------------------------------------------------
    def directive(self, match: re.Match) -> str:
        name, arg, body = match.group("name"), match.group("arg").strip(), match.group("body")
        options, content = _options(body)
        content = self.markdown(content) if name not in ("math", "code-cell", "code", "code-block") else content
        if name == "math":
            return self.math_block(content, options.get("label")) + "\n"
        if name.startswith("glue"):
            return self.glue_directive(name, arg, options) + "\n"
        if name in ("exercise", "exercise-start"):
            label = options.get("label")
            _, number, _ = self.book.number(label) if label else ("", "", "")
            head = f"#### Exercise {number}" + (f": {self.markdown(arg)}" if arg else "")
            return head + ("\n\n" + content if content else "") + "\n"
        if name == "exercise-end":
            return ""
        if name in ("solution", "solution-start"):
            number = self._exercise_number(arg)
            if name == "solution":
                return (f"<details>\n<summary><b>Solution to Exercise {number}</b> (click to open)</summary>\n\n"
                        f"{content}\n\n</details>\n")
            return f"#### Solution to Exercise {number}\n" + ("\n" + content + "\n" if content else "")
        if name == "solution-end":
            return "*End of the solution.*\n"
        if name in ADMONITIONS:
            title = self.markdown(arg) if arg else ADMONITIONS[name]
            quoted = "\n".join("> " + line if line else ">" for line in content.split("\n"))
            return (f"> **{title}**\n>\n" if title else "") + quoted + "\n"
        if name in ("dropdown",):
            return f"<details>\n<summary>{arg}</summary>\n\n{content}\n\n</details>\n"
        if name in ("code", "code-block"):
            return f"```{arg}\n{content}\n```\n"
        if name in ("figure", "image"):
            caption = f"\n\n*{content}*" if content else ""
            return f"![{options.get('alt', '')}]({arg}){caption}\n"
        raise ConversionError(f"{self.docname}: no plain form for the directive {{{name}}}")

    def _exercise_number(self, label: str) -> str:
        figtype, number, _ = self.book.number(label.strip())
        return number

    # -- a whole markdown text ---------------------------------------------------------------
    def markdown(self, text: str) -> str:
        text = _TARGET.sub("", text)
        text = _FENCE.sub(self.directive, text)
        stash: list[str] = []

        def token(m: re.Match) -> str:
            if m.group("role"):
                return self.role(_ROLE.match(m.group(0)))
            stash.append(m.group(0))  # code: left exactly as written
            return f"\x00{len(stash) - 1}\x00"

        text = _TOKENS.sub(token, text)
        text = _DOLLAR_LABEL.sub(lambda m: self.math_block(m.group("body"), m.group("label")), text)
        # macros: expanded anywhere outside code (math may span lines; prose has no macros)
        text = self.expand_macros(text)
        return re.sub("\x00(\\d+)\x00", lambda m: stash[int(m.group(1))], text)


# ---------------------------------------------------------------------------------------
# Notebooks
# ---------------------------------------------------------------------------------------


def executed_notebook(path: pathlib.Path, build_dir: pathlib.Path) -> tuple[dict, dict[str, dict]]:
    """The build's executed copy of a chapter and its glued values (name -> mime bundle).

    myst-nb writes both to ``<build>/jupyter_execute/``: the notebook with its outputs, and
    ``<name>.glue.json`` with every ``glue()`` value. Using the build's copy keeps the text
    consistent with the numbering read from the same build.
    """
    docname = path.resolve().relative_to(ROOT).with_suffix("")
    executed = build_dir / "jupyter_execute" / docname.with_suffix(".ipynb")
    if not executed.exists():
        raise ConversionError(f"{executed} not found: build the book first (jupyter-book build .)")
    nb = json.loads(executed.read_text())
    glue_file = executed.with_suffix(".glue.json")
    glue = {}
    if glue_file.exists():
        glue = {name: out.get("data", {}) for name, out in json.loads(glue_file.read_text()).items()}
    source = nbformat.read(path, as_version=4)
    if [c.source for c in source.cells] != ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                                            for c in nb["cells"]]:
        print(f"warning: {path.name} changed since the book was built; the plain copy follows the build",
              file=sys.stderr)
    return nb, glue


def convert(nb: dict, book: Book, docname: str, glue: dict[str, dict], *, report: bool = True) -> dict:
    nb = copy.deepcopy(nb)
    conv = Converter(book, docname, {**glue_values(nb), **glue})
    cells = []
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown":
            if src.lstrip().startswith("---\nmath:"):
                continue  # the macro cell: macros are expanded here
            if "remove-cell" in tags:
                continue
            conv.attachments = {}
            new = conv.markdown(src)
            if conv.attachments:
                cell["attachments"] = {**cell.get("attachments", {}), **conv.attachments}
            if re.match(r"^\s*$", new):
                continue
            if not cells and book.chapter_number(docname):  # the title: number it as the book does
                new = re.sub(r"^# ", f"# {book.chapter_number(docname)}. ", new, count=1, flags=re.M)
            cell["source"] = new
            cells.append(cell)
            continue
        if cell["cell_type"] != "code":
            cells.append(cell)
            continue
        # glue() outputs are for the book only
        cell["outputs"] = [
            o for o in cell.get("outputs", [])
            if not (o.get("metadata") or {}).get("scrapbook") and not (o.get("output_type") == "display_data" and not o.get("data"))
        ]
        jupyter = cell["metadata"].setdefault("jupyter", {})
        if {"remove-cell", "remove-input", "hide-input", "hide-cell"} & set(tags):
            jupyter["source_hidden"] = True
        if {"remove-output", "hide-output"} & set(tags):
            jupyter["outputs_hidden"] = True
        cells.append(cell)
        figure = cell["metadata"].get("mystnb", {}).get("figure", {})
        caption = figure.get("caption")
        if caption:
            label = figure.get("name")
            number = ""
            if label:
                try:
                    number = book.number(label)[1]
                except ConversionError:
                    number = ""
            head = f"**Fig. {number}.** " if number else ""
            cells.append({"cell_type": "markdown", "metadata": {}, "source": head + conv.markdown(caption)})
    if conv.cited:
        keys = sorted(conv.cited, key=lambda k: author_year(book.bib[k]))
        refs = "\n".join(f"- {format_reference(book.bib[key])}" for key in keys)
        cells.append({"cell_type": "markdown", "metadata": {}, "source": f"## References\n\n{refs}\n"})
    for i, cell in enumerate(cells):
        cell.setdefault("id", f"plain-{i}")
    nb["cells"] = cells
    nb["metadata"].pop("widgets", None)  # widget state of the build: "model not found" anyway
    for warning in dict.fromkeys(conv.warnings) if report else ():
        print(f"warning: {docname}: {warning} (shown as ??)", file=sys.stderr)
    nb["metadata"]["plain_notebooks_unresolved"] = len(set(conv.warnings))
    return nb


LEFTOVER = re.compile(r"\{(glue|cite|ref|numref|eq|math|exercise|solution|tip|note)[a-z:-]*\}[`\s]|^\s*:(label|class):|^\(\S+\)=\s*$",
                      re.M)


def leftovers(nb: dict) -> list[str]:
    found = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        scan = _CODE.sub("", src)
        for m in LEFTOVER.finditer(scan):
            found.append(scan[max(0, m.start() - 30) : m.end() + 30].replace("\n", " "))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Plain-Markdown notebooks (teacher and student editions).")
    parser.add_argument("--build-dir", type=pathlib.Path, default=ROOT / "_build",
                        help="the book build to read (default: _build)")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "_build" / "plain")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 if a reference, glued name or citation cannot be resolved")
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path, help="default: every chapter")
    args = parser.parse_args(argv)
    unresolved = 0
    try:
        book = Book(args.build_dir.resolve())
        paths = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
        problems = []
        for edition in ("teacher", "student"):
            (args.out / edition).mkdir(parents=True, exist_ok=True)
        for path in paths:
            path = path.resolve()
            docname = path.relative_to(ROOT).with_suffix("").as_posix()
            executed, glue = executed_notebook(path, args.build_dir.resolve())
            teacher = convert(executed, book, docname, glue)
            stripped, _ = student_edition.strip_notebook(executed)
            student = convert(stripped, book, docname, glue, report=False)
            unresolved += teacher["metadata"].pop("plain_notebooks_unresolved")
            student["metadata"].pop("plain_notebooks_unresolved")
            for edition, nb in (("teacher", teacher), ("student", student)):
                target = args.out / edition / path.name
                nbformat.write(nbformat.from_dict(nb), target)
                problems += [f"{target}: {p}" for p in leftovers(nb)]
            print(f"{path.name}: teacher and student copies written")
    except ConversionError as exc:
        print(f"plain_notebooks: {exc}", file=sys.stderr)
        return 1
    if problems:
        print("MyST markup left in the plain notebooks:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    if unresolved and args.strict:
        print(f"plain_notebooks: {unresolved} unresolved references (see the warnings)", file=sys.stderr)
        return 1
    print(f"plain notebooks: {args.out / 'teacher'} and {args.out / 'student'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
