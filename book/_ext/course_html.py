"""Two fixes to the HTML pages of the book, so that a reader's browser console stays clean.

* sphinx-thebe (which Jupyter Book 1 always loads) adds its configuration script
  once per reading of the sources, so a page can declare ``const THEBE_JS_URL``
  twice, and the second declaration is a JavaScript error. Each script is kept
  once, in its first position.
* pydata-sphinx-theme starts a first-time visitor (empty localStorage) in the
  mode ``""``, which it logs as an error ("Got invalid theme mode") before it
  resets to ``auto``. The book starts in the light mode; its figures have white
  backgrounds.

``tests/test_browser.py`` fails on any console error, so it checks both.
"""

from __future__ import annotations


def _script_key(script) -> tuple:
    filename = getattr(script, "filename", script) or ""  # an inline script has None or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _clean_page(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if scripts:
        seen, kept = set(), []
        for script in scripts:
            key = _script_key(script)
            if key not in seen:
                seen.add(key)
                kept.append(script)
        context["script_files"] = kept
    if not context.get("default_mode"):
        context["default_mode"] = "light"


def setup(app):
    app.connect("html-page-context", _clean_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
