"""Citations, glossary terms and cross-links of the book resolve, without building it.

The book build (tests/test_book.py, with ``--warningiserror``) catches the same problems, but only after executing
every notebook; these checks take a second:

* every ``{cite}`` / ``{footcite}`` key used in a notebook or a book page is an entry of ``book/references.bib``,
  every entry there is cited somewhere, and has authors, a year and a venue;
* every ``{term}`` a chapter uses is an entry of the glossary (``book/B_glossary.md``), and every glossary entry
  links to where its term is taught;
* every link from a notebook or a book page to a notebook, and to a section of it, points to a file and a heading
  that exist;
* every notebook opens with links to its neighbours and a reading time, and ends with its references.
"""

import json
import pathlib
import re

import pytest
from myst_parser.mdit_to_docutils.base import default_slugify
from pybtex.database import parse_file

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PAGES = sorted(BOOK.glob("*.md"))

CITE = re.compile(r"\{(?:foot)?cite(?::[a-z]+)?\}`([^`]+)`")
TERM = re.compile(r"\{term\}`([^`]+)`")
LINK = re.compile(r"\]\(([^)\s]+?\.ipynb)(?:#([^)\s]+))?\)")
VENUE_FIELDS = ("journal", "booktitle", "publisher", "school", "institution", "howpublished")


def _markdown(path: pathlib.Path) -> str:
    if path.suffix == ".md":
        return path.read_text()
    nb = json.loads(path.read_text())
    return "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def _sources() -> dict[pathlib.Path, str]:
    return {p: _markdown(p) for p in [*NOTEBOOKS, *PAGES]}


def _cited_keys() -> dict[str, set[pathlib.Path]]:
    keys: dict[str, set[pathlib.Path]] = {}
    for path, text in _sources().items():
        for match in CITE.finditer(text):
            for key in match.group(1).split(","):
                keys.setdefault(key.strip(), set()).add(path)
    return keys


def _glossary() -> dict[str, str]:
    """Glossary term (lower case) -> the definition of its entry."""
    text = (BOOK / "B_glossary.md").read_text()
    block = text.split("```{glossary}", 1)[1].split("\n```", 1)[0]
    terms: dict[str, str] = {}
    pending: list[str] = []
    definition: list[str] = []

    def close():
        for t in pending:
            assert t.lower() not in terms, f"glossary term {t!r} appears twice"
            terms[t.lower()] = "\n".join(definition)

    for line in block.splitlines():
        if not line.strip() or line.startswith(":"):
            continue
        if line[0].isspace():
            definition.append(line.strip())
        else:
            if definition:
                close()
                pending, definition = [], []
            pending.append(line.strip())
    close()
    return terms


def _headings(path: pathlib.Path) -> set[str]:
    slugs = set()
    for line in _markdown(path).splitlines():
        m = re.match(r"#{1,3} (.+)", line)
        if m:
            # as MyST does (compute_unique_slug): only text and inline code count, so inline maths drops out
            slugs.add(default_slugify(re.sub(r"\$[^$]+\$", "", m.group(1)).replace("`", "").strip()))
    return slugs


def test_every_cited_key_is_in_the_bibliography():
    entries = parse_file(str(BOOK / "references.bib")).entries
    cited = _cited_keys()
    assert cited, "no citations found: has the citation syntax changed?"
    missing = {key: sorted(p.name for p in paths) for key, paths in cited.items() if key not in entries}
    assert not missing, f"cited but not in book/references.bib: {missing}"


def test_every_bibliography_entry_is_complete_and_cited():
    entries = parse_file(str(BOOK / "references.bib")).entries
    cited = _cited_keys()
    for key, entry in entries.items():
        assert entry.persons.get("author"), f"{key}: no author"
        assert re.fullmatch(r"\d{4}", entry.fields.get("year", "")), f"{key}: no four-digit year"
        assert entry.fields.get("title"), f"{key}: no title"
        assert any(entry.fields.get(f) for f in VENUE_FIELDS), f"{key}: no venue ({', '.join(VENUE_FIELDS)})"
        assert key in cited, f"{key} is in references.bib but cited nowhere"


def test_every_glossary_term_a_chapter_uses_exists():
    terms = _glossary()
    assert len(terms) > 50
    unknown = {}
    for path, text in _sources().items():
        for match in TERM.finditer(text):
            label = match.group(1)
            target = re.search(r"<([^>]+)>\s*$", label)
            term = (target.group(1) if target else label).strip().lower()
            if term not in terms:
                unknown.setdefault(path.name, []).append(term)
    assert not unknown, f"{{term}} roles without a glossary entry: {unknown}"
    # the chapters the glossary names as teaching a term link back to it
    teaching = {m for d in terms.values() for m in re.findall(r"\]\(notebooks/([^)#]+\.ipynb)", d)}
    silent = sorted(n for n in teaching if not TERM.search(_markdown(ROOT / "notebooks" / n)))
    assert not silent, f"chapters the glossary points to that link none of its terms: {silent}"


def test_every_glossary_entry_links_to_where_it_is_taught():
    for term, definition in _glossary().items():
        assert "](notebooks/" in definition, f"glossary entry {term!r} links to no chapter"


@pytest.mark.parametrize("path", [*NOTEBOOKS, *PAGES], ids=lambda p: p.name)
def test_links_to_notebooks_and_their_sections_exist(path):
    base = ROOT / "notebooks" if path.suffix == ".ipynb" else BOOK
    for match in LINK.finditer(_markdown(path)):
        target = (base / match.group(1)).resolve()
        assert target.exists(), f"{path.name} links to a missing notebook: {match.group(1)}"
        anchor = match.group(2)
        if anchor:
            assert anchor in _headings(target), f"{path.name} links to a missing section: {match.group(0)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_opens_with_navigation_and_ends_with_references(path):
    cells = json.loads(path.read_text())["cells"]
    first = "".join(cells[0]["source"])
    assert "reading time about" in first, f"{path.name}: no reading-time estimate in the first cell"
    assert "next:" in first or "previous:" in first, f"{path.name}: no link to a neighbouring notebook"
    markdown = [c for c in cells if c["cell_type"] == "markdown"]
    last = "".join(markdown[-1]["source"])
    assert "## References" in last and "{footbibliography}" in last, f"{path.name}: no References section at the end"


@pytest.mark.parametrize("path", [*NOTEBOOKS, *PAGES], ids=lambda p: p.name)
def test_no_page_calls_a_chapter_of_the_contents_unwritten(path):
    """A chapter in the contents exists: no page may still call it "being written" (as 10 and A did for 11 and 12)."""
    text = _markdown(path)
    assert "being written" not in text, f"{path.name} still says a chapter is being written"
