"""The README fits on a page and every link in it and in docs/ leads somewhere (file and heading)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import ROOT

# Issue 15: the README is the front page (what it is, the two set-up commands, the command table, the exit
# codes, one sample, links); the rest lives in docs/. Raise this only with a reason in the commit.
README_MAX_LINES = 180
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def links(path: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", path.read_text()))


def test_readme_fits_on_a_page():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES}): move detail to docs/"


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):  # http(s)://, mailto: - not ours to check offline
            continue
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {dest.name})")
    return broken


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    broken = broken_links(page)
    assert not broken, f"{page.relative_to(ROOT)}: broken links: {broken}"


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in links(ROOT / "README.md") if not re.match(r"[a-z]+:", t)}
    orphans = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if p.resolve() not in linked]
    assert not orphans, f"docs pages the README does not link: {orphans}"


def test_the_link_check_catches_a_broken_link(tmp_path: Path):
    """The checker itself: a missing file and a missing heading are both found."""
    (tmp_path / "a.md").write_text("# Title\n## Real heading\n")
    assert "real-heading" in anchors(tmp_path / "a.md")
    assert slug("What the corpora prove, and what they do not") == "what-the-corpora-prove-and-what-they-do-not"
    (tmp_path / "b.md").write_text("[x](a.md#real-heading) [y](a.md#gone) [z](nope.md) [u](https://x.y/z)\n"
                                   "```\n[w](in-fence.md)\n```\n")
    assert links(tmp_path / "b.md") == ["a.md#real-heading", "a.md#gone", "nope.md", "https://x.y/z"]
    assert broken_links(tmp_path / "b.md") == ["a.md#gone (no heading #gone in a.md)", "nope.md (no such file)"]
