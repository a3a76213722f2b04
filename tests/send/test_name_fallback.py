"""A template greets each reader by name, with a fallback for readers who gave none: "Hi Ada," or
"Hi there,", never "Hi ,"; the web page, which has no reader, says "Hi there,"."""

from __future__ import annotations

import email
import email.policy
import mailbox
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import Subscriber
from newsletter.models.placeholders import name_token
from tests.helpers.cli import run
from tests.helpers.sendgrid_server import render

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def greeting(workspace: Path) -> None:
    """Workspace templates that open with Hi {{ reader_name("there") }},"""
    intro = "{{ issue.intro | markdown }}"
    mjml = (TEMPLATES / "email.mjml.j2").read_text()
    assert intro in mjml
    (workspace / "templates" / "email.mjml.j2").write_text(mjml.replace(intro, '<p>Hi {{ reader_name("there") }},</p>' + intro, 1))
    text = (TEMPLATES / "email.txt.j2").read_text()
    (workspace / "templates" / "email.txt.j2").write_text(text.replace("{{ issue.intro | markdown_text }}", 'Hi {{ reader_name("there") }},\n{{ issue.intro | markdown_text }}', 1))


@pytest.fixture
def readers(workspace: Path) -> None:
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber("ada@example.com", "Ada <Lovelace> & Co"), Subscriber("nameless@example.com", None)])


@pytest.mark.slow
def test_the_outbox_copy_greets_by_name_or_the_fallback(workspace: Path, issue_path: Path, readers, monkeypatch) -> None:
    greeting(workspace)
    run("send", str(issue_path), cwd=workspace, ok=True)
    copies = {}
    for message in mailbox.Maildir(workspace / "outbox", factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default)):
        text, html = (part.get_content() for part in message.iter_parts())
        copies[message["To"].addresses[0].addr_spec] = (text, html)
    assert "Hi Ada <Lovelace> & Co," in copies["ada@example.com"][0] and "Hi Ada &lt;Lovelace&gt; &amp; Co," in copies["ada@example.com"][1]
    assert "Hi there," in copies["nameless@example.com"][0] and "Hi there," in copies["nameless@example.com"][1]
    assert all("%%" not in part for pair in copies.values() for part in pair)


def test_the_web_page_says_the_fallback(workspace: Path, issue_path: Path, monkeypatch) -> None:
    greeting(workspace)
    run("build", str(issue_path), cwd=workspace, ok=True)
    web = (workspace / "build" / "2026-12-01" / "web.html").read_text()
    assert "Hi there," in web and "%%" not in web
    assert "%%name|there%%" in (workspace / "build" / "2026-12-01" / "email.html").read_text()


@pytest.mark.slow
def test_sendgrid_fills_the_fallback_for_each_reader(workspace: Path, issue_path: Path, readers, sendgrid, monkeypatch) -> None:
    greeting(workspace)
    run("send", str(issue_path), cwd=workspace, ok=True)
    body = sendgrid.bodies[0]
    seen = {body["personalizations"][n]["to"][0]["email"]: render(body, n) for n in range(2)}
    assert "Hi Ada <Lovelace> & Co," in seen["ada@example.com"]["text"] and "Hi Ada &lt;Lovelace&gt; &amp; Co," in seen["ada@example.com"]["html"]
    assert "Hi there," in seen["nameless@example.com"]["text"] and "Hi there," in seen["nameless@example.com"]["html"]


@pytest.mark.parametrize("fallback", ["<b>", "50%", "a|b", 'say "hi"', "x" * 41, "two\nlines"])
def test_a_fallback_that_would_need_escaping_is_refused(fallback: str) -> None:
    with pytest.raises(ValueError, match="must be 1 to 40 characters"):
        name_token(fallback)


def test_a_fallback_token_in_issue_content_is_refused(workspace: Path, issue_path: Path, monkeypatch) -> None:
    issue_path.write_text(issue_path.read_text().replace("Hello again.", "Hello %%name|friend%%.", 1))
    monkeypatch.chdir(workspace)
    result = run("check", str(issue_path))
    assert result.exit_code == 1 and "%%name|friend%%" in result.output and "may only come from a template" in result.output
