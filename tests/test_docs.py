"""The README and docs/ as a reader of the repository meets them: every link opens a file
that is in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Markdown links and images, [text](target); targets with a scheme are web pages.
_LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_open_files_inside_the_repository(page: Path) -> None:
    for target in _LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        file = (page.parent / target.split("#", 1)[0]).resolve()
        assert file.is_relative_to(ROOT), f"{page.name} links outside the repository: {target}"
        assert file.exists(), f"{page.name} links to a missing file: {target}"
