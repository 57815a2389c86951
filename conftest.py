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
# Kernels of this run (nbval and the book build) refuse a figure that breaks the book's
# figure conventions: lib.plotting.use_style() makes plt.show() raise (lib.plotting).
os.environ["LANGEVIN_CHECK_FIGURES"] = "1"

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


# ---------------------------------------------------------------------------------------
# The book build, shared by tests/test_book.py and the browser tests (one build per run).
# ---------------------------------------------------------------------------------------

import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from functools import partial  # noqa: E402
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

import pytest  # noqa: E402

#: Set to an existing build's html folder (e.g. /tmp/jb_me/_build/html) to test that build
#: instead of building the book again (the build-log test is then skipped).
BOOK_HTML_ENV = "LANGEVIN_BOOK_HTML"


@dataclass(frozen=True)
class BookBuild:
    html: pathlib.Path  # the built site, e.g. _build/html
    returncode: int | None  # None when an existing build was reused
    log: str


BUILD_COMMAND = ["jupyter-book", "build", ".", "-W", "--keep-going"]
_background_build: dict = {}


def pytest_collection_modifyitems(session, config, items):
    """Start the book build in the background and run the tests that need it last.

    The build executes every notebook in one kernel at a time, and so does nbval: on a
    2-core machine the two run side by side, which takes the whole `pytest` from the sum
    of the two to about the longer one.
    """
    needs_book = [item for item in items if "book_build" in getattr(item, "fixturenames", ())]
    if not needs_book:
        return
    others = [item for item in items if "book_build" not in getattr(item, "fixturenames", ())]
    items[:] = others + needs_book
    if os.environ.get(BOOK_HTML_ENV) or "process" in _background_build:
        return
    log_path = ROOT / "_build" / "pytest-book-build.log"
    log_path.parent.mkdir(exist_ok=True)
    log_file = open(log_path, "w+")
    _background_build.update(
        process=subprocess.Popen(BUILD_COMMAND, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, text=True),
        log_file=log_file,
    )


def pytest_unconfigure(config):
    process = _background_build.get("process")
    if process is not None and process.poll() is None:  # an interrupted run
        process.terminate()


@pytest.fixture(scope="session")
def book_build() -> BookBuild:
    """`jupyter-book build . -W --keep-going` into `_build`, once per pytest run."""
    reuse = os.environ.get(BOOK_HTML_ENV)
    if reuse:
        html = pathlib.Path(reuse).resolve()
        if not (html / "chapters" / "index.html").exists():
            pytest.fail(f"{BOOK_HTML_ENV}={reuse} holds no built book (chapters/index.html missing)")
        return BookBuild(html=html, returncode=None, log="")
    if "process" in _background_build:
        process, log_file = _background_build["process"], _background_build["log_file"]
        returncode = process.wait()
        log_file.seek(0)
        log = log_file.read()
    else:  # the fixture was requested outside collection (not expected)
        result = subprocess.run(BUILD_COMMAND, cwd=ROOT, capture_output=True, text=True)
        returncode, log = result.returncode, result.stdout + result.stderr
    return BookBuild(html=ROOT / "_build" / "html", returncode=returncode, log=log)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


def serve_directory(directory: pathlib.Path):
    """A static HTTP server on 127.0.0.1 (an ephemeral port) in a daemon thread."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="session")
def book_url(book_build):
    """The built book served over HTTP (file:// would block the theme's fonts by CORS)."""
    server, url = serve_directory(book_build.html)
    yield url
    server.shutdown()


# ---------------------------------------------------------------------------------------
# Headless Chromium (Debian's `chromium` + `chromium-driver`), driven by Selenium.
# ---------------------------------------------------------------------------------------

BROWSER_HELP = (
    "no browser for the browser tests: install Debian's chromium and its driver "
    "(`apt-get install chromium chromium-driver`) and selenium (in requirements.txt); "
    ".ci/run installs them"
)


def find_browser() -> tuple[str, str] | None:
    """Paths of (chromium, chromedriver), or None."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver") or (
        "/usr/lib/chromium/chromedriver" if pathlib.Path("/usr/lib/chromium/chromedriver").exists() else None
    )
    if not browser or not driver:
        return None
    return browser, driver


def new_chrome(width: int = 1280, height: int = 900):
    """A headless Chromium that cannot reach the network (only 127.0.0.1 resolves).

    Skips the calling test with instructions when no browser or selenium is installed.
    """
    found = find_browser()
    if found is None:
        pytest.skip(BROWSER_HELP)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip(BROWSER_HELP)
    browser, driver = found
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-extensions",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        # offline by construction: every host but the local servers fails to resolve, so a
        # page that needs a CDN fails here even on a machine with network access
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # an explicit driver path: Selenium Manager would try to download one
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    if width < 500:  # headless Chromium's windows are at least 500 px wide: emulate a phone
        chrome.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
        )
    return chrome


@pytest.fixture(scope="session")
def chrome():
    """One browser for the session's page checks (the window is resized by tests as needed)."""
    driver = new_chrome()
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
