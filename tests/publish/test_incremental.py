"""Publishing is deterministic, incremental and all-or-nothing; the command says what it wrote."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli.main import cli
from newsletter.errors import IssueFileError, OutputError
from newsletter.publish import SiteWriter
from tests.helpers.publishing import add_issue, names, publish_workspace, snapshot, workspace_of

EVERYTHING = {"archive/index.html", "archive/feed.xml", "archive/sitemap.xml", "robots.txt", "archive/issue-7.html", "archive/issue-8.html"}


def test_publishing_twice_gives_the_same_bytes_and_writes_nothing(published: Path) -> None:
    first = snapshot(published.parent)
    assert set(first) == EVERYTHING
    assert names(publish_workspace(workspace_of(published))) == set()
    assert snapshot(published.parent) == first


def test_same_bytes_without_the_cache(published: Path, tmp_path: Path) -> None:
    import shutil

    shutil.rmtree(workspace_of(published) / ".cache")
    outcome = publish_workspace(workspace_of(published), tmp_path / "elsewhere")
    assert names(outcome) == EVERYTHING
    assert snapshot(tmp_path / "elsewhere") == snapshot(published.parent)


def test_a_later_issue_rewrites_only_the_index_feed_sitemap_its_neighbour_and_its_own_page(published: Path) -> None:
    add_issue(workspace_of(published), 9, "2026-12-15")
    outcome = publish_workspace(workspace_of(published))
    assert names(outcome) == {"archive/index.html", "archive/feed.xml", "archive/sitemap.xml", "archive/issue-8.html", "archive/issue-9.html"}
    assert outcome.unchanged == 2  # robots.txt and issue-7.html
    assert 'href="issue-9.html"' in (published / "issue-8.html").read_text()


def test_an_invalid_issue_file_writes_nothing(published: Path) -> None:
    before = snapshot(published.parent)
    add_issue(workspace_of(published), 9, "2026-12-15")
    (workspace_of(published) / "issues" / "2026-12-22.yaml").write_text("number: 10\ndate: 2026-12-22\nsubject: [unclosed\n", encoding="utf-8")
    with pytest.raises(IssueFileError, match=r"2026-12-22\.yaml:\d+"):
        publish_workspace(workspace_of(published))
    assert snapshot(published.parent) == before


def test_an_invalid_issue_file_on_the_first_run_creates_no_folder(workspace: Path) -> None:
    (workspace / "issues" / "broken.yaml").write_text("number: -1\n", encoding="utf-8")
    with pytest.raises(IssueFileError):
        publish_workspace(workspace)
    assert not (workspace / "site").exists()


def test_two_files_with_one_number_are_refused(published: Path) -> None:
    add_issue(workspace_of(published), 8, "2026-12-09")
    with pytest.raises(IssueFileError, match="both issue 8"):
        publish_workspace(workspace_of(published))


def test_the_writer_refuses_a_path_twice(tmp_path: Path) -> None:
    writer = SiteWriter(tmp_path / "site")
    writer.add("index.html", b"one")
    with pytest.raises(OutputError, match="two files"):
        writer.add("index.html", b"two")
    assert not (tmp_path / "site").exists()


def test_the_command_prints_the_files_written_then_nothing_changed(in_workspace: Path, issue_path: Path) -> None:
    issue_path.write_text(issue_path.read_text(encoding="utf-8") + "publish: true\n", encoding="utf-8")
    first = CliRunner().invoke(cli, ["publish"])
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [f"wrote site/{name}" for name in ["archive/feed.xml", "archive/index.html", "archive/issue-7.html", "archive/sitemap.xml", "robots.txt"]]
    second = CliRunner().invoke(cli, ["publish", "--out", "site"])
    assert second.exit_code == 0 and second.output == "nothing changed\n"


def test_the_command_reports_an_invalid_issue_file_without_a_traceback(in_workspace: Path) -> None:
    (in_workspace / "issues" / "broken.yaml").write_text("number: 8\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["publish"])
    assert result.exit_code == 1
    assert "broken.yaml" in result.output and "Traceback" not in result.output
    assert not (in_workspace / "site").exists()


def test_pages_an_archive_left_outside_its_path_are_named_and_kept(in_workspace: Path, issue_path: Path) -> None:
    """An archive published before it moved under archive_url's path (/archive) left its pages in site/."""
    issue_path.write_text(issue_path.read_text(encoding="utf-8") + "publish: true\n", encoding="utf-8")
    (in_workspace / "site").mkdir()
    (in_workspace / "site" / "issue-7.html").write_text("the old page")
    result = CliRunner().invoke(cli, ["publish"])
    assert result.exit_code == 0, result.output
    assert "site/issue-7.html is no longer part of the archive; it was left in place" in result.output
    assert (in_workspace / "site" / "issue-7.html").read_text() == "the old page"
    assert (in_workspace / "site" / "archive" / "issue-7.html").is_file()
