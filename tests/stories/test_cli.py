"""`story show` and `story add` from the command line, with articles fetched from a local web server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from newsletter.issue.loading import load_issue
from tests.helpers.articles import FIXTURES, ArticleServer, Page
from tests.helpers.cli import run


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


def shown_story(result) -> dict:
    assert result.exit_code == 0, result.output
    return YAML(typ="safe").load(result.stdout)[0]


def test_show_prints_the_draft_and_touches_no_file(workspace: Path) -> None:
    before = snapshot(workspace)
    result = run("story", "show", str(FIXTURES / "weather-glued-quote.txt"))
    story = shown_story(result)
    assert story["title"] == "Volunteer weather model beats the national forecast on heavy rain"
    assert story["quote"]["attribution"] == "Tomasz Wilk, Drizzle project coordinator"
    assert result.stdout.startswith("# DRAFT from ")
    assert snapshot(workspace) == before


def test_add_reports_where_the_story_went_and_what_to_fix(issue_path: Path) -> None:
    result = run("story", "add", str(issue_path), str(FIXTURES / "ferry-key-facts.txt"), "--section", "robotics")
    assert result.exit_code == 0, result.output
    assert "added a draft story to section 'Robotics' at " in result.stdout
    assert "to do: no URL found in the article" in result.stderr
    assert load_issue(issue_path).sections[0].stories[-1].author == "Lena Okafor"


def test_show_reads_an_html_page_from_a_url(article_server: ArticleServer) -> None:
    story = shown_story(run("story", "show", article_server.url("solar-coop.html"), "--allow-private"))
    assert story["url"] == "https://gazette.example.org/2026/06/village-solar-roof"  # the page's canonical URL
    assert story["source"] == "Greenfield Gazette"
    assert story["key_facts"][1] == "About 2,900 panels cover the old grain store"


@pytest.mark.slow
def test_a_page_without_canonical_url_keeps_the_address_it_was_fetched_from(article_server: ArticleServer) -> None:
    page = (FIXTURES / "solar-coop.html").read_text(encoding="utf-8")
    page = "\n".join(line for line in page.splitlines() if "canonical" not in line and "og:url" not in line and "og:site_name" not in line)
    article_server.pages["/news/solar"] = Page(body=page.encode("utf-8"))
    story = shown_story(run("story", "show", article_server.url("/news/solar"), "--allow-private"))
    assert story["url"] == article_server.url("/news/solar")
    assert story["source"] == "127.0.0.1"


def test_a_plain_text_url_is_read_as_text(article_server: ArticleServer, issue_path: Path) -> None:
    url = article_server.url("rail-what-happened.txt")
    result = run("story", "add", str(issue_path), url, "--site", "Rail Watch", "--allow-private")
    assert result.exit_code == 0, result.output
    story = load_issue(issue_path).sections[-1].stories[-1]
    assert (story.url, story.source) == (url, "Rail Watch")
    assert story.key_facts[0].startswith("On Saturday 7 February 2026")
    assert result.stderr == ""  # nothing left to fill in


def test_a_url_answering_404_is_a_clear_error(article_server: ArticleServer, issue_path: Path) -> None:
    before = issue_path.read_bytes()
    result = run("story", "add", str(issue_path), article_server.url("gone.html"), "--allow-private")
    assert result.exit_code == 1
    assert f"cannot fetch {article_server.url('gone.html')}: the server answered 404" in result.output
    assert "Traceback" not in result.output
    assert issue_path.read_bytes() == before


@pytest.mark.slow
def test_a_slow_url_times_out(article_server: ArticleServer) -> None:
    article_server.pages["/slow"] = Page(body=b"<p>late</p>", delay=60.0)  # answers only after the test
    started = time.monotonic()
    result = run("story", "show", article_server.url("/slow"), "--timeout", "0.3", "--allow-private")
    assert time.monotonic() - started < 20  # the 0.3-s timeout ended it, not the page (20 s: room for a loaded machine)
    assert result.exit_code == 1
    assert "answer within 0.3 seconds" in result.output


def test_a_url_nobody_answers_is_a_clear_error(refused_port: int) -> None:
    port = refused_port  # nothing listens on it
    result = run("story", "show", f"http://127.0.0.1:{port}/article", "--allow-private")
    assert result.exit_code == 1
    assert f"cannot fetch http://127.0.0.1:{port}/article: " in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_a_page_with_no_text_is_a_clear_error(article_server: ArticleServer) -> None:
    article_server.pages["/empty"] = Page(body=b"<html><body><nav><a href='/'>Home</a></nav></body></html>")
    result = run("story", "show", article_server.url("/empty"), "--allow-private")
    assert result.exit_code == 1
    assert "found no article text" in result.output


def test_a_bad_url_option_is_refused() -> None:
    result = run("story", "show", str(FIXTURES / "trees-brief.txt"), "--url", "ftp://files.example.org/trees")
    assert result.exit_code == 1
    assert "--url: expected an http(s) URL" in result.output


def test_every_option_is_documented_in_help() -> None:
    for command, options in {
        "add": ["--section", "--url", "--title", "--site", "--timeout", "--allow-private"],
        "show": ["--url", "--title", "--site", "--timeout", "--allow-private"],
    }.items():
        text = run("story", command, "--help").output
        for option in options:
            assert option in text


def test_a_missing_issue_file_stops_add_before_fetching(article_server: ArticleServer, tmp_path: Path) -> None:
    article_server.pages["/slow"] = Page(body=b"<p>late</p>", delay=1.0)
    result = run("story", "add", str(tmp_path / "nope.yaml"), article_server.url("/slow"), "--allow-private")
    assert article_server.requested == []  # stopped before fetching: the page was never asked for
    assert result.exit_code == 1
    assert "nope.yaml: no such issue file" in result.output


def test_a_binary_file_or_a_pdf_url_is_refused(article_server: ArticleServer, tmp_path: Path) -> None:
    picture = tmp_path / "photo.txt"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    result = run("story", "show", str(picture))
    assert result.exit_code == 1
    assert "photo.txt: is not a text, Markdown or HTML article" in result.output
    article_server.pages["/report.pdf"] = Page(content_type="application/pdf", body=b"%PDF-1.7\n")
    result = run("story", "show", article_server.url("/report.pdf"), "--allow-private")
    assert result.exit_code == 1
    assert "the server sent application/pdf, not an article page" in result.output
