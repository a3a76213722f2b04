"""`check --links` fetches what an issue's links say, and an issue's links may come from a stranger
(a feed, a contributor's pull request): a link to the editor's own network is refused, never
fetched, and a redirect there is not followed, unless the editor passes --allow-private."""

from __future__ import annotations

from pathlib import Path

import pytest

import newsletter.stories.guarded_http as guarded_http
from newsletter.issue.loading import load_issue
from newsletter.links.check import LINK_UNCHECKED, check_links
from tests.helpers.hostile import run
from tests.helpers.link_server import LinkServer, Route, issue_with_links


def test_a_link_to_a_loopback_address_is_refused_not_fetched(workspace: Path, link_server: LinkServer) -> None:
    link_server.routes["/admin"] = Route()
    path = issue_with_links(workspace, link_server, "/admin")
    result = run("check", "--links", str(path))
    assert result.exit_code == 0, result.output  # not broken: not checked
    line = next(line for line in result.output.splitlines() if "/admin" in line)
    assert line.startswith("warning: ") and "127.0.0.1 is a private or loopback address (give --allow-private to fetch it anyway)" in line
    assert link_server.requests == []


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data", "http://10.0.0.1/", "http://[::1]/", "http://localhost/", "http://[::ffff:127.0.0.1]/"],
)
def test_private_targets_are_refused_before_any_connection(workspace: Path, link_server: LinkServer, url: str) -> None:
    path = issue_with_links(workspace, link_server, "/fine")
    path.write_text(path.read_text(encoding="utf-8").replace(link_server.url("/fine"), url), encoding="utf-8")
    findings = check_links(load_issue(path), path, timeout=3).findings
    refused = [str(f) for f in findings if f.code == LINK_UNCHECKED]
    assert len(refused) == 3 and all("private or loopback address" in message for message in refused)  # the story, the sponsor, the intro


def test_a_redirect_to_the_metadata_service_is_not_followed(workspace: Path, link_server: LinkServer, monkeypatch) -> None:
    # The test server is on loopback itself: count 127.0.0.1 (only) as public for this test, so the
    # redirect's hop to the metadata service is what is judged.
    real = guarded_http.is_public
    monkeypatch.setattr(guarded_http, "is_public", lambda address: address == "127.0.0.1" or real(address))
    link_server.routes["/to-metadata"] = Route(status=302, location="http://169.254.169.254/latest/meta-data")
    path = issue_with_links(workspace, link_server, "/to-metadata")
    findings = check_links(load_issue(path), path, timeout=3).findings
    message = next(str(f) for f in findings if "/to-metadata" in str(f))
    assert f"{link_server.url('/to-metadata')} was not checked: 169.254.169.254 is a private or loopback address" in message


def test_a_redirect_loop_ends_in_one_line(workspace: Path, link_server: LinkServer) -> None:
    link_server.routes["/loop"] = Route(status=302, location="/loop")
    path = issue_with_links(workspace, link_server, "/loop")
    result = run("check", "--links", "--allow-private", str(path))
    line = next(line for line in result.output.splitlines() if "/loop" in line)
    assert "was not checked: it redirects in a loop or more than 10 times" in line


def test_a_huge_page_is_read_no_further_than_its_first_kb(workspace: Path, link_server: LinkServer) -> None:
    link_server.routes["/huge"] = Route(body=b"<html>" + b"x" * 50_000_000)
    path = issue_with_links(workspace, link_server, "/huge")
    result = run("check", "--links", "--allow-private", "--timeout", "5", str(path))
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.output
