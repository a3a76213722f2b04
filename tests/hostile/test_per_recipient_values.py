"""Items 1, 2, 13: per-recipient values escaped for where they land; placeholders only from templates."""

from __future__ import annotations

import email
import email.policy
import mailbox
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import Subscriber
from tests.helpers.hostile import run
from tests.helpers.workspace import add_config

HOSTILE_NAME = '<a href="https://evil.example/login">Your account is locked</a><img src="https://tracker.example/p.gif">'


TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def greeting(issue_path: Path) -> None:
    """The workspace's own templates greet each reader by name (only templates may place %%name%%)."""
    templates = issue_path.parent.parent / "templates"
    mjml = (TEMPLATES / "email.mjml.j2").read_text()
    intro = "{{ issue.intro | markdown }}"
    assert intro in mjml
    (templates / "email.mjml.j2").write_text(mjml.replace(intro, "<p>Hi %%name%%,</p>" + intro, 1))
    text = (TEMPLATES / "email.txt.j2").read_text()
    (templates / "email.txt.j2").write_text(text.replace("{{ issue.intro | markdown_text }}", "Hi %%name%%,\n{{ issue.intro | markdown_text }}", 1))


@pytest.mark.slow
def test_an_imported_name_with_markup_is_shown_not_obeyed(in_workspace: Path, issue_path: Path) -> None:
    greeting(issue_path)
    source = in_workspace / "list.csv"
    source.write_text('email,name\na@example.com,"' + HOSTILE_NAME.replace('"', '""') + '"\n')
    assert run("subscribers", "import", str(source)).exit_code == 0
    assert run("send", str(issue_path)).exit_code == 0
    (message,) = mailbox.Maildir(in_workspace / "outbox", factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default))
    text, html = (part.get_content() for part in message.iter_parts())
    assert "evil.example" not in html.replace("&lt;a href=&quot;https://evil.example/login&quot;&gt;", "")
    assert "&lt;img src=&quot;https://tracker.example/p.gif&quot;&gt;" in html and '<img src="https://tracker' not in html
    assert HOSTILE_NAME in text  # the text part shows it as it is
    assert message["To"].addresses[0].display_name == HOSTILE_NAME  # the header carries it encoded, whole


def test_a_name_with_markup_through_sendgrid_is_escaped_in_the_html_part(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    from tests.helpers.sendgrid_server import render

    greeting(issue_path)
    add_config(in_workspace, '[send]\nprovider = "sendgrid"\n')
    with Database(in_workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber("a@example.com", HOSTILE_NAME)])
    assert run("send", str(issue_path)).exit_code == 0
    seen = render(sendgrid.bodies[0], 0)
    assert '<img src="https://tracker' not in seen["html"] and "&lt;img" in seen["html"]
    assert HOSTILE_NAME in seen["text"]


def test_placeholders_in_issue_content_are_refused_where_they_are(in_workspace: Path, issue_path: Path) -> None:
    text = issue_path.read_text()
    first_url = next(line for line in text.splitlines() if line.strip().startswith("url:")).split("url:")[1].strip()
    issue_path.write_text(text.replace(first_url, "https://evil.example/steal?u=%%unsubscribe_url%%", 1).replace("title: Robotics", "title: For %%name%%", 1))
    result = run("check", str(issue_path))
    assert result.exit_code == 1
    assert "sections[0].stories[0].url" in result.output and "contains %%unsubscribe_url%%" in result.output
    assert "sections[0].title" in result.output and "contains %%name%%" in result.output
    sent = run("send", str(issue_path))
    assert sent.exit_code == 1 and not (in_workspace / "outbox").exists()


def test_a_hostile_page_cannot_plant_a_placeholder_through_story_add(in_workspace: Path, issue_path: Path) -> None:
    page = in_workspace / "article.html"
    page.write_text(
        "<html><head><title>Win %%name%% a prize %%unsubscribe_url:html%%</title></head><body><article>"
        "<h1>Win %%name%% a prize</h1>"
        + "".join(f"<p>Paragraph {n} says the council spent 4.2 million on %%unsubscribe_url%% roads in 2026 and more.</p>" for n in range(8))
        + "</article></body></html>"
    )
    result = run("story", "add", str(issue_path), str(page), "--url", "https://news.example.com/prize")
    assert result.exit_code == 0, result.output
    added = issue_path.read_text()
    assert "%%name%%" not in added and "%%unsubscribe_url%%" not in added and "%%unsubscribe_url:html%%" not in added


def test_a_very_long_name_is_refused_at_import_and_by_add(in_workspace: Path) -> None:
    source = in_workspace / "list.csv"
    source.write_text("email,name\nlong@example.com," + "N" * 10_000 + "\n")
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 1 and "the name is 10,000 characters long; at most 200" in result.output
    added = run("subscribers", "add", "long@example.com", "--name", "N" * 201)
    assert added.exit_code == 1 and "at most 200" in added.output
