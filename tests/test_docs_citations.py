"""Section citations in the code resolve to anchors of the in-repository docs.

The code cites the condensed references ``docs/paper_vs_code.md`` (AherNet) and
``docs/sal_paper_vs_code.md`` (SAL baseline) in two forms:

* ``paper_vs_code §6.2``, ``sal_paper_vs_code §8.1 step 5``, ``paper_vs_code §11.1 item 11``,
  also lists/ranges after one prefix (``paper_vs_code §7.2, §7.3``, ``§5.1-§5.3``), and
  ``steps 1-4`` / ``items 2-3`` ranges;
* links ``docs/paper_vs_code.md#s6-2``, ``docs/sal_paper_vs_code.md#sal-s8-1-step5``.

Anchor scheme (an ``<a id="..."></a>`` line directly before each heading, inline at the start
of a numbered list item): ``§N`` -> ``sN``, ``§N.M`` -> ``sN-M``, ``item K`` / ``step K`` ->
``-itemK`` / ``-stepK``; the SAL document prefixes ``sal-`` (``sal-s8-5``).

Checks: both docs exist; their ``## N.`` / ``### N.M`` headings are exactly the section numbers
of the source references (listed below) and each has its anchor; numbered-list anchors agree
with the list number; every citation in aher/, evaluation/, bench/, tests/ and the top-level
scripts resolves.  This file is not scanned (its made-up examples cite missing sections on
purpose).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = {
    "paper_vs_code": ROOT / "docs" / "paper_vs_code.md",
    "sal_paper_vs_code": ROOT / "docs" / "sal_paper_vs_code.md",
}
PREFIX = {"paper_vs_code": "s", "sal_paper_vs_code": "sal-s"}
SCANNED_DIRS = ("aher", "evaluation", "bench", "tests")

# Heading numbers of the source references (ahernet-reference.md, sal-reference.md); the docs
# must keep exactly this numbering.
EXPECTED_SECTIONS = {
    "paper_vs_code": (
        ["0", "1", "1.1", "1.2", "1.3", "1.4", "1.5", "2", "2.1", "2.2", "2.3", "3", "3.1", "3.2",
         "3.3", "4", "4.1", "4.2", "4.3", "5", "5.1", "5.2", "5.3", "6", "6.1", "6.2", "6.3", "7",
         "7.1", "7.2", "7.3", "7.4", "7.5", "8", "8.1", "8.2", "8.3", "8.4", "8.5", "8.6", "9",
         "9.1", "9.2", "9.3", "9.4", "9.5", "10", "10.1", "10.2", "11", "11.1", "11.2", "12", "13"]
    ),
    "sal_paper_vs_code": (
        ["0", "1", "1.1", "1.2", "1.3", "2", "2.1", "2.2", "2.3", "2.4", "3", "4", "4.1", "4.2",
         "5", "5.1", "5.2", "5.3", "5.4", "6", "6.1", "6.2", "6.3", "6.4", "6.5", "6.6", "6.7",
         "6.8", "7", "8", "8.1", "8.2", "8.3", "8.4", "8.5", "8.6", "9", "10", "11", "12", "13",
         "14"]
    ),
}
# Numbered lists cited item by item: (doc, section anchor, kind, count).
EXPECTED_ITEMS = [
    ("paper_vs_code", "s11-1", "item", 16),
    ("paper_vs_code", "s5-2", "item", 10),
    ("sal_paper_vs_code", "sal-s3", "step", 11),
    ("sal_paper_vs_code", "sal-s8-1", "step", 6),
    ("sal_paper_vs_code", "sal-s12", "item", 8),
]

_SEP = r"(?:,|;|/|\band\b|\bto\b|-|–|\.\.)"
_ONE = r"§\s*\d+(?:\.\d+)?(?:\s+(?:item|step)s?\s+\d+(?:\s*(?:-|–|\.\.|to)\s*\d+)?)?"
CITATION_RE = re.compile(
    r"(?<![\w-])(?P<doc>sal_paper_vs_code|paper_vs_code)(?:\.md)?\s*"
    rf"(?P<refs>{_ONE}(?:\s*{_SEP}\s*{_ONE})*)"
)
REF_RE = re.compile(
    r"§\s*(?P<n>\d+)(?:\.(?P<m>\d+))?"
    r"(?:\s+(?P<kind>item|step)s?\s+(?P<k1>\d+)(?:\s*(?:-|–|\.\.|to)\s*(?P<k2>\d+))?)?"
)
LINK_RE = re.compile(r"(?<![\w-])(?P<doc>sal_paper_vs_code|paper_vs_code)\.md#(?P<anchor>[\w-]+)")
ANCHOR_RE = re.compile(r'<a id="([^"]+)"></a>')
HEADING_RE = re.compile(r"^(?P<hashes>#{2,3}) (?P<num>\d+(?:\.\d+)?)(?P<dot>\.?)(?:\s|$)")
LIST_ANCHOR_RE = re.compile(r'^\s*(?P<num>\d+)\. <a id="(?P<id>[^"]+-(?:item|step)(?P<k>\d+))"></a>')


def section_anchor(doc: str, number: str) -> str:
    """``"6.2"`` -> ``"s6-2"`` (``"sal-s6-2"`` for the SAL doc)."""
    return PREFIX[doc] + number.replace(".", "-")


def located_citations(text: str) -> list[tuple[int, str, str]]:
    """Every ``(offset, doc, anchor id)`` cited in ``text`` (a citation may wrap lines)."""
    found = []
    spans = []
    for match in CITATION_RE.finditer(text):
        doc = match.group("doc")
        spans.append((match.start(), match.end()))
        for ref in REF_RE.finditer(match.group("refs")):
            base = section_anchor(doc, ref.group("n") + (f".{ref.group('m')}" if ref.group("m") else ""))
            if ref.group("kind"):
                first = int(ref.group("k1"))
                last = int(ref.group("k2") or first)
                found.extend((match.start(), doc, f"{base}-{ref.group('kind')}{k}") for k in range(first, last + 1))
            else:
                found.append((match.start(), doc, base))
    for match in LINK_RE.finditer(text):
        if not any(a <= match.start() < b for a, b in spans):
            found.append((match.start(), match.group("doc"), match.group("anchor")))
    return sorted(found, key=lambda item: item[0])


def citations(text: str) -> list[tuple[str, str]]:
    """Every ``(doc, anchor id)`` cited in ``text``, in order."""
    return [(doc, anchor) for _, doc, anchor in located_citations(text)]


def anchors(doc: str) -> set[str]:
    return set(ANCHOR_RE.findall(DOCS[doc].read_text(encoding="utf-8")))


def scanned_files() -> list[Path]:
    files = sorted(ROOT.glob("*.py"))
    for d in SCANNED_DIRS:
        files += sorted(p for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)
    this = Path(__file__).resolve()
    return [p for p in files if p.resolve() != this]


def unresolved(text: str, known: dict[str, set[str]]) -> list[tuple[str, str]]:
    return [(doc, a) for doc, a in citations(text) if a not in known[doc]]


# --------------------------------------------------------------------------- the regex itself


@pytest.mark.parametrize(
    "text, expected",
    [
        ("see paper_vs_code §6.2 for the table", [("paper_vs_code", "s6-2")]),
        ("(paper_vs_code §11.1 item 11)", [("paper_vs_code", "s11-1-item11")]),
        ("sal_paper_vs_code §8.1 step 5.", [("sal_paper_vs_code", "sal-s8-1-step5")]),
        ("paper_vs_code §7.2, §7.3 and §8", [("paper_vs_code", "s7-2"), ("paper_vs_code", "s7-3"),
                                             ("paper_vs_code", "s8")]),
        ("paper_vs_code §5.1-§5.3.", [("paper_vs_code", "s5-1"), ("paper_vs_code", "s5-3")]),
        ("paper_vs_code §12. Next sentence", [("paper_vs_code", "s12")]),
        ("sal_paper_vs_code §8.1 steps 1-3", [("sal_paper_vs_code", f"sal-s8-1-step{k}") for k in (1, 2, 3)]),
        ("docs/paper_vs_code.md#s6-2", [("paper_vs_code", "s6-2")]),
        ("[x](../docs/sal_paper_vs_code.md#sal-s12-item1)", [("sal_paper_vs_code", "sal-s12-item1")]),
        ("paper_vs_code.md §4.3", [("paper_vs_code", "s4-3")]),
        ("# wraps: paper_vs_code\n    §6.1 and §6.3", [("paper_vs_code", "s6-1"), ("paper_vs_code", "s6-3")]),
        ("reference §6.2 and ref §7", []),
        ("my_paper_vs_code §1", []),
        ("paper_vs_code without a section", []),
    ],
)
def test_citation_regex(text, expected):
    assert citations(text) == expected


def test_unresolved_citations_are_reported():
    known = {doc: anchors(doc) for doc in DOCS}
    assert unresolved("paper_vs_code §6.2, sal_paper_vs_code §8.5", known) == []
    assert unresolved("paper_vs_code §99.9", known) == [("paper_vs_code", "s99-9")]
    assert unresolved("sal_paper_vs_code §12.1", known) == [("sal_paper_vs_code", "sal-s12-1")]
    assert unresolved("paper_vs_code §11.1 item 17", known) == [("paper_vs_code", "s11-1-item17")]
    assert unresolved("docs/paper_vs_code.md#sal-s3", known) == [("paper_vs_code", "sal-s3")]


# --------------------------------------------------------------------------- the documents


def heading_problems(doc: str, text: str) -> tuple[list[str], list[str]]:
    """(section numbers of the ``## N.`` / ``### N.M`` headings, problems found)."""
    lines = text.splitlines()
    numbers, problems = [], []
    for i, line in enumerate(lines):
        m = HEADING_RE.match(line)
        if not m:
            continue
        number, level = m.group("num"), len(m.group("hashes"))
        if (level == 2) != ("." not in number) or (level == 2 and not m.group("dot")):
            problems.append(f"line {i + 1}: heading {line!r} is not '## N.' or '### N.M'")
            continue
        numbers.append(number)
        expected = f'<a id="{section_anchor(doc, number)}"></a>'
        previous = lines[i - 1].strip() if i > 0 else ""
        if previous != expected:
            problems.append(f"line {i + 1}: {line!r} needs {expected} on the line before it")
    return numbers, problems


def test_heading_check_catches_missing_and_wrong_anchors():
    good = '<a id="s1"></a>\n## 1. A\n\n<a id="s1-1"></a>\n### 1.1 B\n'
    assert heading_problems("paper_vs_code", good) == (["1", "1.1"], [])
    numbers, problems = heading_problems("paper_vs_code", '<a id="s1"></a>\n## 1. A\n\n### 1.1 B\n')
    assert numbers == ["1", "1.1"] and len(problems) == 1 and "s1-1" in problems[0]
    _, problems = heading_problems("sal_paper_vs_code", '<a id="s2"></a>\n## 2. A\n')
    assert len(problems) == 1 and "sal-s2" in problems[0]
    _, problems = heading_problems("paper_vs_code", '<a id="s3"></a>\n## 3 no dot\n')
    assert len(problems) == 1


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_doc_headings_match_reference_numbering_and_have_anchors(doc):
    path = DOCS[doc]
    assert path.is_file(), f"{path} is missing"
    numbers, problems = heading_problems(doc, path.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)
    assert numbers == EXPECTED_SECTIONS[doc]


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_anchor_ids_unique_and_list_numbers_agree(doc):
    text = DOCS[doc].read_text(encoding="utf-8")
    ids = ANCHOR_RE.findall(text)
    duplicates = sorted({a for a in ids if ids.count(a) > 1})
    assert not duplicates, f"duplicate anchors in {doc}: {duplicates}"
    assert all(a.startswith(PREFIX[doc]) for a in ids), "anchor without the document's prefix"
    for line in text.splitlines():
        m = LIST_ANCHOR_RE.match(line)
        if m:
            assert m.group("num") == m.group("k"), f"list number and anchor differ: {line.strip()!r}"


@pytest.mark.parametrize("doc, section, kind, count", EXPECTED_ITEMS)
def test_numbered_items_have_anchors(doc, section, kind, count):
    known = anchors(doc)
    missing = [f"{section}-{kind}{k}" for k in range(1, count + 1) if f"{section}-{kind}{k}" not in known]
    assert not missing, f"{doc}: missing {missing}"


# --------------------------------------------------------------------------- the code


def test_code_citations_resolve():
    known = {doc: anchors(doc) for doc in DOCS}
    files = scanned_files()
    assert any(p.parts[-2:] == ("model", "losses.py") for p in files), "scan found no project files"
    problems = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for offset, doc, anchor in located_citations(text):
            if anchor not in known[doc]:
                lineno = text.count("\n", 0, offset) + 1
                problems.append(f"{path.relative_to(ROOT)}:{lineno}: {doc} -> #{anchor} not found")
    assert not problems, "unresolved citations:\n" + "\n".join(problems)
