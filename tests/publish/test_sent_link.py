"""The whole loop of the web archive under archive_url's path (/archive in the fixture): send an
issue through the outbox, take the "View in browser" link from the letter a reader got, publish,
and open that link's path from `newsletter serve`'s server; crawlers find robots.txt at the root
and, through it, the sitemap."""

from __future__ import annotations

import email
import email.policy
import mailbox
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import pytest
from click.testing import CliRunner

from newsletter.cli.main import cli
from newsletter.db import Database
from newsletter.i18n.catalogue import LABELS
from newsletter.models import Subscriber
from newsletter.web import create_app
from newsletter.web.server import start
from newsletter.workspace.config import load_workspace

pytestmark = pytest.mark.slow  # send, publish and serve, end to end

SUBJECT = "Robots learn to fold laundry, and a quieter data centre"  # the fixture issue's
VIEW_LINKS = {LABELS["view_online"], LABELS["view_in_browser"]}


@pytest.fixture
def served(in_workspace: Path, monkeypatch):
    """After a send and a publish: the web app on a real server, as `newsletter serve` runs it."""
    monkeypatch.setenv("NEWSLETTER_SECRET", "sent-link-secret-Hq3Wm8Zr5Tn1Vx7Kp2")

    def serve() -> str:
        running = start(create_app(in_workspace), "127.0.0.1", 0)
        started.append(running)
        return running.url

    started: list = []
    yield serve
    for running in started:
        running.stop()


def send_to_one_reader(workspace: Path, issue_path: Path) -> email.message.EmailMessage:
    """Issue 7 sent through the outbox (the default provider); the letter the reader got."""
    with Database(load_workspace(workspace).database) as db:
        db.subscribers.upsert([Subscriber("reader@example.com", "Reader")])
    sent = CliRunner().invoke(cli, ["send", str(issue_path)])
    assert sent.exit_code == 0 and "Ledger: 1 sent" in sent.output, sent.output
    (letter,) = mailbox.Maildir(workspace / "outbox", factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default), create=False)
    return letter


def view_in_browser(letter: email.message.EmailMessage) -> str:
    html = letter.get_body(("html",)).get_content()
    links = [a.get("href") for a in lxml.html.fromstring(html).iter("a") if a.text_content().strip() in VIEW_LINKS]
    assert links and len(set(links)) == 1, links
    return links[0]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def test_the_view_in_browser_link_of_a_sent_letter_opens_the_page_from_serve(served, in_workspace: Path, issue_path: Path) -> None:
    link = view_in_browser(send_to_one_reader(in_workspace, issue_path))
    assert link == "https://fixture.example.org/archive/issue-7.html"
    published = CliRunner().invoke(cli, ["publish"])
    assert published.exit_code == 0, published.output
    base = served()

    status, page = get(base + urlsplit(link).path)
    assert status == 200
    assert lxml.html.fromstring(page).findtext(".//title").strip() == SUBJECT

    status, robots = get(base + "/robots.txt")
    assert status == 200
    (sitemap,) = [line.split(":", 1)[1].strip() for line in robots.decode().splitlines() if line.startswith("Sitemap:")]
    assert sitemap == "https://fixture.example.org/archive/sitemap.xml"
    status, listed = get(base + urlsplit(sitemap).path)
    assert status == 200 and f"<loc>{link}</loc>".encode() in listed
