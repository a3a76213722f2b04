"""Item 16: a publish that dies between two files. The pages go in before the index, feed and
sitemap that link to them, so what is left links to no page that is missing; the temporary files
the dead run left are gone after the next run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers.hostile import SECRETS, run

# `newsletter publish`, whose process ends (as on a power cut) when it is about to make its
# LIMIT+1-th rename: the files renamed before stay, the ones staged after stay as temporary files.
CRASHING_PUBLISH = textwrap.dedent(
    """
    import os, sys
    limit, renamed, real = int(sys.argv[1]), [0], os.replace

    def replace(source, target):
        if renamed[0] == limit:
            os._exit(9)
        renamed[0] += 1
        real(source, target)

    os.replace = replace
    sys.argv = ["newsletter", "publish"]
    from newsletter.cli.main import main
    main()
    """
)
LINK = re.compile(r"issue-(\d+)\.html")


def add_issue(workspace: Path, number: int, date: str) -> None:
    source = (workspace / "issues" / "2026-12-01.yaml").read_text(encoding="utf-8")
    source = re.sub(r"(?m)^number: .*$", f"number: {number}", source)
    source = re.sub(r"(?m)^date: .*$", f"date: {date}", source)
    (workspace / "issues" / f"{date}.yaml").write_text(source, encoding="utf-8")


def missing_pages(site: Path) -> dict[str, set[str]]:
    """Per file of the archive, the issue pages it links to that are not there."""
    found = {}
    for path in sorted(site.iterdir()):
        if path.suffix in (".html", ".xml") and not path.name.startswith("."):
            missing = {f"issue-{n}.html" for n in LINK.findall(path.read_text(encoding="utf-8"))} - {p.name for p in site.iterdir()}
            if missing:
                found[path.name] = missing
    return found


def temporary_files(site: Path) -> list[str]:
    return sorted(p.name for p in site.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def archive(in_workspace: Path) -> Path:
    """Issue 7 published to site/, issue 8 written but not published yet; the archive's folder
    (site/archive/: the fixture's archive_url is https://fixture.example.org/archive)."""
    issue = in_workspace / "issues" / "2026-12-01.yaml"
    issue.write_text(issue.read_text(encoding="utf-8") + "publish: true\n", encoding="utf-8")
    assert run("publish").exit_code == 0
    add_issue(in_workspace, 8, "2026-12-08")
    return in_workspace / "site" / "archive"


@pytest.mark.slow
def test_a_publish_cut_short_never_links_a_missing_page_and_the_next_run_cleans_up(archive: Path) -> None:
    site, workspace = archive.parent, archive.parents[1]
    before = workspace / "site-before"
    shutil.copytree(site, before)
    for limit in (1, 2, 3):  # dies after the first, second and third of five renames
        shutil.rmtree(site)
        shutil.copytree(before, site)
        done = subprocess.run([sys.executable, "-c", CRASHING_PUBLISH, str(limit)], cwd=workspace, capture_output=True, text=True, timeout=120)
        assert done.returncode == 9, done.stdout + done.stderr
        assert "Traceback" not in done.stderr and not any(secret in done.stdout + done.stderr for secret in SECRETS)
        assert missing_pages(archive) == {}, f"after {limit} rename(s)"
        assert temporary_files(archive)  # the dead run's staged files, left for the next run
    result = run("publish")
    assert result.exit_code == 0, result.output
    assert temporary_files(archive) == [] and missing_pages(archive) == {}
    assert {"issue-7.html", "issue-8.html", "index.html", "feed.xml"} <= set(os.listdir(archive))
    assert 'href="issue-8.html"' in (archive / "index.html").read_text(encoding="utf-8")


def test_only_the_writers_own_temporary_files_are_swept(archive: Path) -> None:
    site = archive.parent
    for folder in (archive, site):
        (folder / ".index.html.ab12cd_9.tmp").write_text("left by a dead run")
        (folder / "notes.tmp").write_text("the editor's")
    (archive / ".well-known").mkdir()
    cache = archive.parents[1] / ".cache" / "publish"
    (cache / ".page-0a1b.x7y8z9_0.tmp").write_text("left by a run that died saving its cache")
    assert run("publish").exit_code == 0
    assert sorted(os.listdir(archive)) == sorted([".well-known", "feed.xml", "index.html", "issue-7.html", "issue-8.html", "notes.tmp", "sitemap.xml"])
    assert sorted(os.listdir(site)) == ["archive", "notes.tmp", "robots.txt"]
    assert temporary_files(cache) == []
