"""Every code block of docs/ and of the README runs, and what it shows is what it prints: the
convention and the runner are in ``tests/support/docs.py`` (docs/contributing.md says the same for
writers); ``python tests/support/docs.py --show docs/page.md`` runs one page for a writer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.docs import (BIN, DOCS, NO_RUN_EXPECTED, README, ROOT, check_page, count_no_run, doc_pages,
                          output_matches, parse_blocks)

@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_page_snippets(page: Path, tmp_path: Path) -> None:
    report = check_page(page, tmp_path)
    assert not report.failures, "\n\n".join(report.failures)


def test_pages_run_something() -> None:
    """A page with no executed block at all is probably marked wrong (reference tables aside)."""
    idle = []
    for page in doc_pages():
        blocks = parse_blocks(page)
        if blocks and all(b.marker and b.marker[0] == "no-run" for b in blocks):
            idle.append(str(page.relative_to(ROOT)))
    assert not idle, f"pages whose every block is no-run: {idle}"


def test_readme_snippets(tmp_path: Path) -> None:
    report = check_page(README, tmp_path)
    assert not report.failures, "\n\n".join(report.failures)
    assert report.commands >= 5  # the CLI block runs; a marker added by mistake would show here
    assert report.no_run == NO_RUN_EXPECTED["readme"]


def test_no_run_blocks_are_counted() -> None:
    assert count_no_run(doc_pages()) == NO_RUN_EXPECTED["docs"], (
        "the number of <!-- no-run --> blocks in docs/ changed; if on purpose, update NO_RUN_EXPECTED"
    )


def test_matcher() -> None:
    assert output_matches("a\n...\nd\n", "a\nb\nc\nd\n")
    assert output_matches("a\n...\nd\n", "a\nd\n")
    assert output_matches("path: .../x\n", "path: /tmp/abc/x\n")
    assert not output_matches("a\nd\n", "a\nb\nd\n")
    assert not output_matches("path: .../x\n", "path: /tmp/abc/y\n")
    assert not output_matches("", "something\n")
    assert output_matches("", "\n")


def test_parser_flags_unmarked_blocks(tmp_path: Path) -> None:
    page = tmp_path / "probe.md"
    page.write_text("```yaml\na: 1\n```\n\n<!-- no-run: demo -->\n```bash\nrm -rf /\n```\n")
    report = check_page(page, tmp_path / "work")
    assert report.no_run == 1
    assert len(report.failures) == 1 and "neither run nor marked" in report.failures[0]


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    """The docs build as CI builds them: strict, so a broken link or anchor fails."""
    proc = subprocess.run(
        [str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout
    assert (tmp_path / "site" / "index.html").is_file()
