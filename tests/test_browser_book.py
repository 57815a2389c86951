"""The built book as a reader meets it: every page in headless Chromium, with no network.

For every page of the book: the math is typeset by the bundled MathJax with no error (no
undefined macro, no parse error) and no raw ``$$``/``\\[``/``\\(`` left in the text, every image
has loaded, the book's scripts log no console error, no code line overflows its block at a
desktop width, no display equation is wider than the column, and no MyST markup is left raw. Then: at 400 px the menu button opens the
chapter list, a solution dropdown opens, an animation advances when played. A negative
control shows the page checks fail on a deliberately broken page (an undefined macro, a
math parse error, raw display math, a missing image, a console error).

The book comes from the session's `book_build` fixture (conftest.py): one build per pytest
run, shared with tests/test_book.py. To check an existing build without rebuilding:
``LANGEVIN_BOOK_HTML=/path/to/_build/html pytest tests/test_browser_book.py``. Skipped,
with instructions, when no browser is installed. Screenshots land in ``_build/browser/``.
"""

from __future__ import annotations

import pathlib
import shutil
import time

import pytest

from conftest import ROOT, new_chrome, serve_directory, toc_files

PAGES = [f"{entry}.html" for entry in toc_files()]
DESKTOP = (1280, 900)
SHOTS = ROOT / "_build" / "browser"

# One script gathers every problem of a page (after MathJax has finished).
PAGE_PROBLEMS_JS = r"""
const done = arguments[arguments.length - 1];
let article = null;
async function waitImages() {
  const imgs = [...document.images];
  imgs.forEach(img => { img.loading = 'eager'; });
  const t0 = Date.now();
  while (Date.now() - t0 < 8000 && imgs.some(img => !img.complete)) {
    await new Promise(r => setTimeout(r, 100));
  }
}
async function run() {
  const problems = [];
  const t0 = Date.now();
  while (!(document.readyState === 'complete' && document.querySelector('.bd-article')) && Date.now() - t0 < 30000) {
    await new Promise(r => setTimeout(r, 100));
  }
  article = document.querySelector('.bd-article') || document.body;  // the deferred MathJax script can still be starting on a busy machine
  while (!(window.MathJax && MathJax.startup && MathJax.startup.promise) && Date.now() - t0 < 30000) {
    await new Promise(r => setTimeout(r, 100));
  }
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
    if (article.querySelector('.math')) problems.push('MathJax did not load (the page has math)');
  } else {
    await MathJax.startup.promise;
  }
  // MathJax marks parse errors with mjx-merror and undefined macros (noundefined) in red
  for (const el of document.querySelectorAll('mjx-merror, mjx-container [style*="color: red"]')) {
    const box = el.closest('mjx-container');
    const tex = box && box.querySelector('mjx-assistive-mml') ? box.querySelector('mjx-assistive-mml').textContent : '';
    problems.push('math error: ' + (el.getAttribute('data-mjx-error') || el.textContent || tex).slice(0, 120));
  }
  // text the reader sees (outside code and typeset math) must hold no raw TeX or MyST
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      return node.parentElement.closest('pre, code, script, style, mjx-container, .highlight, textarea, .output')
        ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
    }
  });
  let text = '';
  while (walker.nextNode()) text += walker.currentNode.textContent + ' ';
  const raw = [
    [/\$\$/, 'raw $$'], [/\\\[/, 'raw \\['], [/\\\(/, 'raw \\('], [/\\begin\{/, 'raw \\begin{'],
    [/\$[^$\n]{0,80}\\[A-Za-z]+[^$\n]{0,80}\$/, 'raw $...\\macro...$'],
    [/\{(glue|cite|ref|numref|eq|math)(:[a-z]+)?\}`/, 'raw MyST role'],
    [/```\{|:::\{/, 'raw MyST directive'], [/^\s*:(label|class):/m, 'raw directive option'],
  ];
  for (const [re, what] of raw) {
    const m = text.match(re);
    if (m) problems.push(what + ': ...' + text.slice(Math.max(0, m.index - 40), m.index + 60).replace(/\s+/g, ' ') + '...');
  }
  await waitImages();
  for (const img of document.images) {
    if (!(img.complete && img.naturalWidth > 0)) problems.push('image not loaded: ' + img.src.slice(0, 120));
  }
  // code blocks must not scroll sideways at this width
  for (const pre of article.querySelectorAll('div.highlight pre')) {
    if (pre.scrollWidth > pre.clientWidth + 1) {
      const longest = pre.textContent.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');
      problems.push(`code overflows (${pre.scrollWidth} > ${pre.clientWidth} px, longest line ${longest.length} characters): ` + longest.trim().slice(0, 90));
    }
  }
  // display equations must fit the column at this width (narrow screens scroll them)
  const right = article.getBoundingClientRect().right;
  for (const box of article.querySelectorAll('mjx-container[display="true"]')) {
    const eq = box.firstElementChild ? box.firstElementChild.getBoundingClientRect() : box.getBoundingClientRect();
    if (eq.right > right + 1) {
      const tex = box.querySelector('mjx-assistive-mml') ? box.querySelector('mjx-assistive-mml').textContent : '';
      problems.push(`display math wider than the column (${Math.round(eq.right - right)} px too wide): ` + tex.slice(0, 80));
    }
  }
  return problems;
}
run().then(done, e => done(['page check crashed: ' + e]));
"""


def console_errors(driver, origin: str) -> list[str]:
    """SEVERE console entries of the page's own files, and any request that needed the network
    (the browser resolves no host but 127.0.0.1, so a CDN request fails here)."""
    errors = []
    for entry in driver.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        message = entry["message"]
        if "favicon.ico" in message:
            continue
        if "ERR_NAME_NOT_RESOLVED" in message:
            errors.append("needs the network: " + message.split(" ")[0][:150])
        elif origin in message or entry.get("source") == "javascript":
            errors.append(message[:200])
    return errors


def page_problems(driver, url: str, origin: str) -> list[str]:
    driver.get_log("browser")  # drop entries of the previous page
    driver.get(url)
    deadline = time.time() + 30  # a fresh headless window can report the load a moment early
    while driver.current_url != url and time.time() < deadline:
        time.sleep(0.1)
    problems = driver.execute_async_script(PAGE_PROBLEMS_JS)
    problems += ["console error: " + e for e in console_errors(driver, origin)]
    return problems


@pytest.fixture(scope="module")
def desktop(chrome):
    chrome.set_window_size(*DESKTOP)
    return chrome


@pytest.mark.parametrize("page", PAGES)
def test_page_reads_offline(desktop, book_url, page):
    problems = page_problems(desktop, f"{book_url}/{page}", book_url)
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


def test_page_checks_catch_a_broken_page(desktop, book_build, tmp_path):
    """Negative control: the same checks on a page with known defects report each of them."""
    html = book_build.html
    (tmp_path / "_static").symlink_to(html / "_static")
    (tmp_path / "chapters").mkdir()
    page = (html / "chapters" / "index.html").read_text()
    broken = (
        '<p>undefined macro <span class="math notranslate nohighlight">\\(\\undefinedmacro x\\)</span>, '
        'parse error <span class="math notranslate nohighlight">\\(\\frac{1}{2\\)</span>, '
        "raw role {glue:text}`ch0_x:.3f`, "
        '<img src="missing.png" alt="a missing figure"></p>'
        '<link rel="stylesheet" href="https://cdn.example.org/needs-network.css">'
        "<script>undefinedFunctionOfTheBook();</script>"
        '<div class="highlight"><pre>' + "x" * 400 + "</pre></div>"
        '<div class="math notranslate nohighlight">\\[' + "x_1 + " * 120 + "x \\]</div>"
    )
    start = page.index(">", page.index('<article class="bd-article"')) + 1
    page = page[:start] + broken + page[start:]
    (tmp_path / "chapters" / "broken.html").write_text(page)
    server, url = serve_directory(tmp_path)
    try:
        problems = page_problems(desktop, f"{url}/chapters/broken.html", url)
    finally:
        server.shutdown()
    text = "\n".join(problems)
    # (the unbalanced \\frac is left raw by MathJax's delimiter search: "raw \\(")
    for expected in ("math error: \\undefinedmacro", "raw \\(", "raw MyST role", "image not loaded",
                     "console error: " + url, "Uncaught ReferenceError", "code overflows (",
                     "needs the network: https://cdn.example.org", "display math wider than the column"):
        assert expected in text, f"the checks missed {expected!r}; they reported:\n{text}"


def _visible(driver, css: str):
    return [e for e in driver.find_elements("css selector", css) if e.is_displayed()]


def test_menu_opens_at_400px(book_url):
    driver = new_chrome(400, 800)
    try:
        driver.get(f"{book_url}/chapters/index.html")
        assert driver.execute_script("return window.innerWidth") == 400
        sidebar = driver.find_element("css selector", ".bd-sidebar-primary")
        assert not sidebar.is_displayed() or sidebar.rect["x"] + sidebar.rect["width"] <= 1, "menu open before a click"
        buttons = _visible(driver, ".primary-toggle")
        assert buttons, "no visible menu button at 400 px"
        SHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SHOTS / "index_400px_closed.png"))
        buttons[0].click()
        deadline = time.time() + 5
        while time.time() < deadline:
            rect = sidebar.rect
            if sidebar.is_displayed() and rect["x"] >= -1 and rect["width"] > 200:
                break
            time.sleep(0.1)
        driver.save_screenshot(str(SHOTS / "index_400px_menu.png"))
        assert sidebar.is_displayed() and sidebar.rect["x"] >= -1, f"menu did not open: {sidebar.rect}"
        links = [a.text for a in sidebar.find_elements("css selector", "a") if a.is_displayed() and a.text]
        assert any(t.startswith("4.") for t in links), f"numbered chapters not in the menu: {links}"
    finally:
        driver.quit()


def test_solution_dropdown_opens(desktop, book_url, book_build):
    page = next(
        (p for p in PAGES if 'class="solution' in (book_build.html / p).read_text() and "dropdown" in (book_build.html / p).read_text()),
        None,
    )
    if page is None:
        pytest.fail("no page has a dropdown solution")
    desktop.get(f"{book_url}/{page}")
    solution = desktop.find_element("css selector", ".solution.dropdown")
    desktop.execute_script("arguments[0].scrollIntoView({block: 'center'})", solution)
    body = solution.find_element("css selector", ".section, .solution-content, section")
    assert not body.is_displayed(), "the solution is open before a click"
    button = solution.find_element("css selector", ".toggle-button, button, summary")
    desktop.execute_script("arguments[0].click()", button)
    time.sleep(0.5)
    assert body.is_displayed(), "clicking the dropdown did not show the solution"


def test_animation_plays(desktop, book_url, book_build):
    page = next((p for p in PAGES if "_anim_img" in (book_build.html / p).read_text()), None)
    if page is None:
        pytest.skip("no page has an animation")
    desktop.get(f"{book_url}/{page}")
    img = desktop.find_element("css selector", "img[id^='_anim_img']")
    desktop.execute_script("arguments[0].scrollIntoView({block: 'center'})", img)
    width = img.rect["width"]
    figure_widths = [e.rect["width"] for e in desktop.find_elements("css selector", ".cell_output img:not([id^='_anim_img'])")]
    first = img.get_attribute("src")
    anim_id = img.get_attribute("id")[len("_anim_img"):]
    play = desktop.find_element("css selector", f"#_anim_buttons{anim_id} button[title='Play'], button[title='Play']")
    desktop.execute_script("arguments[0].click()", play)
    time.sleep(1.5)
    assert img.get_attribute("src") != first, "the animation did not advance after Play"
    if figure_widths:
        assert abs(width - max(figure_widths)) <= 2, f"animation {width:.0f} px wide, figures {max(figure_widths):.0f} px"


def test_screenshots_desktop_and_phone(desktop, book_url):
    """Screenshots for a human look (not judged): a chapter at desktop width and at 400 px."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    wait_math = (
        "const d = arguments[arguments.length-1];"
        " (window.MathJax && MathJax.startup ? MathJax.startup.promise : Promise.resolve()).then(() => d())"
    )
    page = f"{book_url}/chapters/04_stationary_distribution.html"
    desktop.set_window_size(1280, 2400)
    try:
        desktop.get(page)
        desktop.execute_async_script(wait_math)
        desktop.save_screenshot(str(SHOTS / "ch4_1280px.png"))
    finally:
        desktop.set_window_size(*DESKTOP)
    phone = new_chrome(400, 2400)
    try:
        phone.get(page)
        phone.execute_async_script(wait_math)
        phone.save_screenshot(str(SHOTS / "ch4_400px.png"))
    finally:
        phone.quit()
    assert (SHOTS / "ch4_400px.png").exists()
