"""The built book as a reader sees it: every page opened in headless Chromium (issues 12 and 17).

The book is built once per session (``built_book`` in conftest.py), served by
``http.server`` on 127.0.0.1, and each page of the table of contents is opened
in Debian's ``chromium`` (installed by ``.ci/run``), driven by Playwright
through the system browser: nothing downloads a browser. Without Chromium or
Playwright a local run skips and says why; under CI (``CI`` set) it fails
instead, so that CI never skips it silently.

On every page the test checks that

* the page loads, with no JavaScript console error and no failed request;
* the maths is typeset (every ``.math`` element holds MathJax output, no
  MathJax error, no raw ``$$`` in the text);
* every figure is an image that loaded, with a non-zero size;
* no cell shows an error or a traceback;
* the sidebar and the footer link to the previous and the next page;
* no output is a bare ``False``, an object repr (``at 0x...>``) or a
  matplotlib artist's repr;
* no maths, figure or output is wider than the text column, whether it sticks
  out of the column or scrolls inside its own box (code cells' inputs and
  ``show_source`` listings, ``<div class="course-source">``, are code and
  scroll by design: they are not checked);
* Chinese text renders with a CJK font: its ideographs are full-width, one em
  each, where a font without them would draw narrower empty boxes.

Screenshots of the intro and two chapters are saved to ``COURSE_SCREENSHOTS``
(default: a temporary folder, printed with ``-s``).
"""

from __future__ import annotations

import functools
import http.server
import os
import pathlib
import shutil
import threading

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}  # a laptop screen; the text column is then about 800 px wide
SCREENSHOT_PAGES = ("intro", "notebooks/03_policy_gradients", "notebooks/08_dqn")


def _pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


PAGES = _pages()


def _chromium() -> str | None:
    """Debian's chromium binary (its /usr/bin wrapper script, else the binary itself), or COURSE_CHROMIUM."""
    if os.environ.get("COURSE_CHROMIUM"):
        return os.environ["COURSE_CHROMIUM"]
    for candidate in ("/usr/lib/chromium/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and pathlib.Path(candidate).exists():
            return candidate
    return None


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the browser test: .ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    executable = _chromium()
    if executable is None:
        _missing("no Chromium found: apt-get install chromium fonts-noto-cjk (or set COURSE_CHROMIUM)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=FLAGS, headless=True)
        yield b
        b.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def site(built_book, browser):
    """The built book served on 127.0.0.1 (a free port); yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory) -> pathlib.Path:
    wanted = os.environ.get("COURSE_SCREENSHOTS")
    path = pathlib.Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


# One pass over the page in the browser: every check's findings, as lists of short strings.
INSPECT = r"""
async () => {
  const found = {};
  const add = (key, what) => { (found[key] = found[key] || []).push(what); };
  const short = (s) => s.replace(/\s+/g, ' ').trim().slice(0, 120);
  const article = document.querySelector('main article, article.bd-article, main') || document.body;

  // maths: wait for MathJax, then every .math element must hold its output
  const maths = [...article.querySelectorAll('.math')];
  if (maths.length) {
    if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
      add('maths', `MathJax did not load (${maths.length} maths on the page)`);
    } else {
      await MathJax.startup.promise;
      const raw = maths.filter(m => !m.querySelector('mjx-container'));
      if (raw.length) add('maths', `${raw.length} of ${maths.length} maths not typeset, e.g. ${short(raw[0].textContent)}`);
    }
  }
  for (const e of article.querySelectorAll('mjx-merror, .MathJax_Error')) add('maths', `MathJax error: ${short(e.textContent)}`);
  const prose = [...article.querySelectorAll('p, li, td, th, dd, h1, h2, h3, h4, .output')]
    .filter(e => !e.closest('pre, code, .cell_input, mjx-container'));
  for (const e of prose) {
    const own = [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join(' ');
    if (own.includes('$$')) add('maths', `raw $$ in the text: ${short(own)}`);
  }

  // figures: every image loaded, with a size
  const imgs = [...article.querySelectorAll('img')];
  imgs.forEach(img => { img.loading = 'eager'; });
  await Promise.all(imgs.map(img => img.decode().catch(() => null)));
  for (const img of imgs) {
    const r = img.getBoundingClientRect();
    if (!img.complete || img.naturalWidth === 0 || r.width === 0 || r.height === 0)
      add('figures', `image not shown (${img.naturalWidth}x${img.naturalHeight}, box ${Math.round(r.width)}x${Math.round(r.height)}): ${img.getAttribute('src')}`);
  }

  // errors and tracebacks in cell outputs
  for (const e of article.querySelectorAll('.output.traceback, .output.error, .traceback'))
    add('errors', `a cell shows an error: ${short(e.textContent)}`);
  const outputs = [...article.querySelectorAll('.cell_output .output, .cell_output > div')];
  for (const o of outputs) {
    if (/Traceback \(most recent call last\)/.test(o.textContent)) add('errors', `a traceback: ${short(o.textContent)}`);
  }

  // stray outputs: a bare False, object reprs, matplotlib artists' reprs
  const items = (window.MathJax && MathJax.startup && MathJax.startup.document) ? MathJax.startup.document : null;
  for (const o of article.querySelectorAll('.cell_output .output')) {
    const text = o.innerText.trim();
    if (text === 'False') add('bare False', 'an output is a bare False');
    if (items) {
      for (const item of items.getMathItemsWithin(o)) {
        const tex = String(item.math).replace(/\\displaystyle|\\text|\\mathtt|\\mathrm|[{}\s$]/g, '');
        if (tex === 'False') add('bare False', `an equation output is a bare False (${short(String(item.math))})`);
      }
    }
    const repr = text.match(/<?[\w.]+(\s[^<>]{0,80})?\sat 0x[0-9a-fA-F]+>/) ||
      text.match(/^\[?<?(Text|Line2D|matplotlib\.[\w.]+|Figure size [^>]*)[(\s>]/);
    if (repr) add('object repr', `an output shows ${short(repr.index ? text.slice(repr.index) : text)}`);
  }

  // nothing wider than the text column, sticking out or scrolling in its own box
  // (code cells' inputs and show_source listings, .course-source, are code: they scroll by design)
  const column = article.getBoundingClientRect();
  const outside = (e) => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && (r.right > column.right + 2 || r.left < column.left - 2);
  };
  const scrolls = (e) => e.getBoundingClientRect().width > 0 && e.scrollWidth > e.clientWidth + 2;
  const wide = (e) => outside(e) || scrolls(e);
  const candidates = [
    ...article.querySelectorAll('mjx-container[display="true"], mjx-container[jax="CHTML"][display="true"]'),
    ...article.querySelectorAll('img'),
    ...article.querySelectorAll('.cell_output .output, .cell_output pre, .cell_output table'),
  ].filter(e => !e.closest('.cell_input, .course-source') && !e.querySelector('.course-source'));
  const seen = new Set();
  for (const e of candidates) {
    if (seen.has(e) || !wide(e)) continue;
    seen.add(e);
    const r = e.getBoundingClientRect();
    const kind = e.tagName === 'IMG' ? 'a figure' : e.tagName === 'MJX-CONTAINER' ? 'an equation' : 'an output';
    add('too wide', `${kind} ${Math.round(Math.max(r.width, e.scrollWidth))} px wide in a ${Math.round(column.width)} px column: ${short(e.tagName === 'IMG' ? e.getAttribute('src') : e.textContent)}`);
  }

  // Chinese text: ideographs one em wide in the element's own font (empty boxes are narrower)
  const han = /[\u4e00-\u9fff]/;
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const ctx = document.createElement('canvas').getContext('2d');
  let cjk = 0;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!han.test(n.textContent)) continue;
    const el = n.parentElement;
    const cs = getComputedStyle(el);
    const chars = [...n.textContent].filter(c => han.test(c)).slice(0, 8).join('');
    ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    const em = parseFloat(cs.fontSize);
    const perChar = ctx.measureText(chars).width / [...chars].length / em;
    cjk += 1;
    if (perChar < 0.9) add('CJK font', `"${chars}" renders ${perChar.toFixed(2)} em per character in ${cs.fontFamily} (no CJK font?)`);
  }
  found.cjk_texts = [String(cjk)];

  // navigation: sidebar and footer links
  const hrefs = (sel) => [...document.querySelectorAll(sel)].map(a => new URL(a.getAttribute('href'), location.href).pathname);
  found.sidebar = hrefs('.bd-sidebar-primary nav a[href], nav.bd-links a[href]');
  found.prev = hrefs('.prev-next-area a.left-prev, a.prev-next-area.left-prev, .prev-next-area a.prev');
  found.next = hrefs('.prev-next-area a.right-next, .prev-next-area a.next');
  return found;
}
"""


def _path(site: str, page: str) -> str:
    from urllib.parse import urlparse

    return urlparse(site + page + ".html").path


@pytest.mark.slow
@pytest.mark.book
@pytest.mark.parametrize("page", PAGES)
def test_page_in_a_real_browser(page, browser, site, screenshot_dir):
    problems: list[str] = []
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    tab.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text[:200]}"))
    tab.on("pageerror", lambda e: problems.append(f"JavaScript error: {str(e)[:200]}"))
    tab.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    tab.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    try:
        response = tab.goto(site + page + ".html", wait_until="load", timeout=60_000)
        assert response is not None and response.ok, f"{page}: the page did not load ({response and response.status})"
        assert tab.locator("main").count() > 0, f"{page}: no main content"
        found = tab.evaluate(INSPECT)
        tab.wait_for_timeout(300)  # let late console messages (favicon, async scripts) arrive
        if page in SCREENSHOT_PAGES:
            shot = screenshot_dir / (page.replace("/", "_") + ".png")
            tab.screenshot(path=str(shot), full_page=False)
            print(f"screenshot: {shot}")
    finally:
        context.close()
    for key in ("maths", "figures", "errors", "bare False", "object repr", "too wide", "CJK font"):
        problems += [f"{key}: {what}" for what in found.get(key, [])]
    i = PAGES.index(page)
    neighbours = {"previous": PAGES[i - 1] if i > 0 else None, "next": PAGES[i + 1] if i + 1 < len(PAGES) else None}
    for side, other in neighbours.items():
        if other is None:
            continue
        want = _path(site, other)
        if want not in found["sidebar"]:
            problems.append(f"navigation: the sidebar does not link to the {side} page {other}")
        footer = found["prev"] if side == "previous" else found["next"]
        if want not in footer:
            problems.append(f"navigation: the footer's {side} link goes to {footer or 'nothing'}, not {other}")
    assert not problems, f"{page}: {len(problems)} problem(s):\n  " + "\n  ".join(problems)
