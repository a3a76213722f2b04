"""`check --links` against a local server: each link of the issue fetched (HEAD, then GET where
HEAD is refused or the page is HTML) and judged; without --links, nothing is fetched.

The server is on 127.0.0.1, which the guarded fetch refuses unless told: these tests pass
--allow-private, the documented option (tests/hostile/test_link_check.py checks the refusal)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from newsletter.issue.loading import load_issue
from newsletter.links.check import LINK_BROKEN, LINK_ELSEWHERE, LINK_ERROR_STATUS, LINK_PAYWALL, LINK_TO_HOME_PAGE, LINK_UNCHECKED, check_links
from tests.helpers.cli import run
from tests.helpers.link_server import LinkServer, Route, issue_with_links


def link_codes(issue_path: Path, **options) -> dict[str, list[str]]:
    """The messages of `check --links`'s findings, by code."""
    found: dict[str, list[str]] = {}
    for finding in check_links(load_issue(issue_path), issue_path, allow_private=True, **options).findings:
        found.setdefault(finding.code, []).append(str(finding))
    return found


def test_check_without_links_makes_no_request(workspace: Path, link_server: LinkServer) -> None:
    path = issue_with_links(workspace, link_server, "/gone", "/article")
    result = run("check", str(path))
    assert result.exit_code == 0, result.output
    assert link_server.requests == []
    assert "fetched" not in result.output


def test_good_links_give_no_finding_and_each_is_fetched(workspace: Path, link_server: LinkServer) -> None:
    link_server.routes["/article"] = Route()
    link_server.routes["/report.pdf"] = Route(content_type="application/pdf", body=b"%PDF-1.7")
    path = issue_with_links(workspace, link_server, "/article", "/report.pdf")
    result = run("check", "--links", "--allow-private", str(path))
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s), 4 link(s) fetched" in result.output
    # An HTML page is read (its first KB, for a paywall); a PDF answers HEAD and is left at that.
    assert sorted(link_server.requests) == sorted([
        ("HEAD", "/intro"), ("GET", "/intro"), ("HEAD", "/article"), ("GET", "/article"),
        ("HEAD", "/report.pdf"), ("HEAD", "/sponsor"), ("GET", "/sponsor"),
    ])


def test_404_and_410_are_broken_and_check_exits_1(workspace: Path, link_server: LinkServer) -> None:
    link_server.routes["/gone"] = Route(status=410, body=b"gone")
    path = issue_with_links(workspace, link_server, "/missing", "/gone")
    result = run("check", "--links", "--allow-private", str(path))
    assert result.exit_code == 1
    broken = [line for line in result.output.splitlines() if "is broken" in line]
    assert len(broken) == 2 and all(line.startswith("error: ") for line in broken)
    assert ":10: sections[0].stories[0].url:" in broken[0] and "answered 404 (not found)" in broken[0]
    assert "sections[0].stories[1].url" in broken[1] and "answered 410 (gone)" in broken[1]


def test_a_redirect_to_the_home_page_is_flagged(workspace: Path, link_server: LinkServer) -> None:
    link_server.routes["/2025/old-article"] = Route(status=301, location="/")
    link_server.routes["/"] = Route()
    path = issue_with_links(workspace, link_server, "/2025/old-article")
    found = link_codes(path)
    assert list(found) == [LINK_TO_HOME_PAGE]
    assert "redirects to its site's home page" in found[LINK_TO_HOME_PAGE][0]


def test_a_story_link_that_ends_on_another_page_is_flagged(workspace: Path, link_server: LinkServer) -> None:
    link_server.routes["/a"] = Route(status=302, location="/b")
    link_server.routes["/b"] = Route()
    link_server.routes["/c"] = Route(status=301, location="/c/?utm_source=site")  # the same page, canonically
    link_server.routes["/c/"] = Route()
    path = issue_with_links(workspace, link_server, "/a", "/c")
    found = link_codes(path)
    assert list(found) == [LINK_ELSEWHERE]
    assert "sections[0].stories[0].url" in found[LINK_ELSEWHERE][0] and link_server.url("/b") in found[LINK_ELSEWHERE][0]


def test_a_paywall_marker_is_flagged(workspace: Path, link_server: LinkServer) -> None:
    head = b'<html><head><script type="application/ld+json">{"@type": "NewsArticle", "isAccessibleForFree" :  false}</script>'
    link_server.routes["/locked"] = Route(body=head + b"</head><body>...</body></html>")
    link_server.routes["/asks"] = Route(body=b"<html><body><p>Subscribe to continue reading.</p></body></html>")
    link_server.routes["/late"] = Route(body=b"<html><body>" + b"x" * 2000 + b"Subscribe to continue</body></html>")  # past the first KB
    path = issue_with_links(workspace, link_server, "/locked", "/asks", "/late")
    found = link_codes(path)
    assert list(found) == [LINK_PAYWALL] and len(found[LINK_PAYWALL]) == 2
    assert '"isaccessibleforfree": false' in found[LINK_PAYWALL][0] and "subscribe to continue" in found[LINK_PAYWALL][1]


@pytest.mark.parametrize("refusal", [405, 501, 403])
def test_head_refused_then_get(workspace: Path, link_server: LinkServer, refusal: int) -> None:
    link_server.routes["/no-head"] = Route(head_status=refusal)
    link_server.routes["/no-head-gone"] = Route(head_status=refusal, status=404)
    path = issue_with_links(workspace, link_server, "/no-head", "/no-head-gone")
    found = link_codes(path)
    assert list(found) == [LINK_BROKEN] and "sections[0].stories[1].url" in found[LINK_BROKEN][0]
    assert [r for r in link_server.requests if r[1] == "/no-head"] == [("HEAD", "/no-head"), ("GET", "/no-head")]


def test_an_other_error_status_is_a_warning(workspace: Path, link_server: LinkServer) -> None:
    link_server.routes["/down"] = Route(status=503, body=b"down")
    path = issue_with_links(workspace, link_server, "/down")
    result = run("check", "--links", "--allow-private", str(path))
    assert result.exit_code == 0, result.output
    assert list(link_codes(path)) == [LINK_ERROR_STATUS]


@pytest.mark.slow
def test_a_slow_link_meets_its_deadline(workspace: Path, link_server: LinkServer) -> None:
    link_server.routes["/slow"] = Route(delay=10)
    path = issue_with_links(workspace, link_server, "/slow", "/fine")
    link_server.routes["/fine"] = Route()
    start = time.monotonic()
    result = run("check", "--links", "--allow-private", "--timeout", "0.5", str(path))
    assert time.monotonic() - start < 3
    assert result.exit_code == 0, result.output  # not broken: perhaps only slow today
    line = next(line for line in result.output.splitlines() if "/slow" in line)
    assert line.startswith("warning: ") and "was not checked: no complete answer within 0.5 seconds" in line


@pytest.mark.slow
def test_the_total_deadline_holds_however_many_links_are_slow(workspace: Path, link_server: LinkServer) -> None:
    paths = [f"/slow/{n}" for n in range(20)]
    for page in paths:
        link_server.routes[page] = Route(delay=10)
    path = issue_with_links(workspace, link_server, *paths)
    start = time.monotonic()
    found = link_codes(path, timeout=10, deadline=1)
    assert time.monotonic() - start < 3
    assert list(found) == [LINK_UNCHECKED]
    for page in paths:  # each slow one, whether it had started or was still waiting its turn
        message = next(message for message in found[LINK_UNCHECKED] if f"{page} was" in message)
        assert "was not checked: the 1 seconds for all links ran out" in message


def test_one_page_linked_twice_is_fetched_once(workspace: Path, link_server: LinkServer) -> None:
    link_server.routes["/article"] = Route()
    path = issue_with_links(workspace, link_server, "/article", "/article?utm_source=newsletter", intro="/article")
    assert link_codes(path) == {}
    assert link_server.requests.count(("HEAD", "/article")) == 1


def test_an_issue_with_invalid_fields_is_not_fetched(workspace: Path, link_server: LinkServer) -> None:
    path = issue_with_links(workspace, link_server, "/article")
    path.write_text(path.read_text(encoding="utf-8").replace("name: A Sponsor", "name: [A, Sponsor]"), encoding="utf-8")
    result = run("check", "--links", "--allow-private", str(path))
    assert result.exit_code == 1
    assert "links not fetched until every field validates" in result.output
    assert link_server.requests == []
