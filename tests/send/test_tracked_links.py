"""The tool's own tracked links, as a reader gets them: every outside link goes through the web app's
redirect under a signature that pins where it goes, each copy carries its reader's part, and the
newsletter's own links (unsubscribe, preferences, view in browser) stay as they are."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from newsletter.db import Database
from newsletter.mail.clicks import NO_READER, verify_link, verify_reader
from newsletter.models import Email, Recipient, Status
from newsletter.providers.base import Batch, Edition
from newsletter.sending import letters_for
from newsletter.workspace.config import load_workspace
from newsletter.workspace.credentials import SigningKeys
from tests.helpers.cli import run
from tests.helpers.workspace import SECRET, add_config, add_subscribers
from tests.send.test_send_outbox import outbox

KEYS = SigningKeys(SECRET.encode())
BASE = "https://fixture.example.org"
TRACKED = re.compile(re.escape(BASE) + r"/r/([^/]+)/([^/]+)/([^/]+)/([^/?]+)\?u=([^\s\"<>]+)")


def parts(message) -> tuple[str, str]:
    text, html = (part.get_content() for part in message.iter_parts())
    return text, html


def tracked_links(body: str) -> list[tuple[str, str, str, str, str]]:
    """(issue, slot, signature, reader, url) of every tracked link, the url decoded as the web app reads it."""
    found = []
    for issue, slot, sig, reader, query in TRACKED.findall(body.replace("&amp;", "&")):
        url = parse_qs(urlsplit(f"/?u={query}").query)["u"][0]
        found.append((issue, slot, sig, reader, url))
    return found


def message_to(workspace: Path, address: str):
    return next(m for m in outbox(workspace) if m["To"].addresses[0].addr_spec == address)


@pytest.mark.slow
def test_each_story_link_goes_through_a_signed_redirect_that_names_its_story_and_reader(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)

    result = run("send", str(issue_path))

    assert result.exit_code == 0, result.output
    text, html = parts(message_to(in_workspace, "reader00001@example.com"))
    links = tracked_links(html)
    with Database(in_workspace / "subscribers.db") as db:
        public_id = db.subscribers.get("reader00001@example.com").public_id
    by_url = {url: (issue, slot) for issue, slot, _, _, url in links}
    assert by_url["https://example.org/robots/towels"] == ("7", "1")
    assert by_url["https://example.org/robots/map-format"] == ("7", "2")
    assert by_url["https://example.org/infra/quiet-cooling"] == ("7", "3")
    assert by_url["https://example.org/chart"] == ("7", "0")  # the intro's link belongs to no story
    for issue, slot, sig, reader, url in links:
        assert verify_link(issue, slot, sig, url, KEYS) is not None
        assert verify_reader(reader, issue, KEYS) == public_id
        assert "reader00001" not in reader  # the link names no address
    # The text part's links are the same tracked links.
    assert {url for *_, url in tracked_links(text)} >= {"https://example.org/robots/towels", "https://example.org/infra/quiet-cooling"}
    assert "%%" not in text + html


@pytest.mark.slow
def test_the_newsletters_own_links_are_never_tracked(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 1)

    assert run("send", str(issue_path)).exit_code == 0

    message = message_to(in_workspace, "reader00000@example.com")
    _, html = parts(message)
    hrefs = re.findall(r'href="([^"]+)"', html)
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe.replace("&", "&amp;") in hrefs or unsubscribe in hrefs
    assert any(h.startswith(f"{BASE}/preferences?token=") for h in hrefs)
    assert f"{BASE}/archive/issue-7.html" in hrefs  # view in browser
    assert not any("/r/" in h and ("unsubscribe" in unquote(h) or "preferences" in unquote(h)) for h in hrefs)


def test_a_changed_destination_slot_or_issue_breaks_the_signature(in_workspace: Path, issue_path: Path) -> None:
    from newsletter.mail.clicks import link_signature

    sig = link_signature("7", "1", "https://example.org/robots/towels", SECRET.encode())

    assert verify_link("7", "1", sig, "https://example.org/robots/towels", KEYS) is not None
    assert verify_link("7", "1", sig, "https://evil.example/robots/towels", KEYS) is None
    assert verify_link("7", "2", sig, "https://example.org/robots/towels", KEYS) is None
    assert verify_link("8", "1", sig, "https://example.org/robots/towels", KEYS) is None
    assert verify_link("7", "1", sig, "https://example.org/robots/towels", SigningKeys(b"another-secret-that-is-long-enough!")) is None
    assert verify_link("7", "1", link_signature("7", "1", "javascript:alert(1)", SECRET.encode()), "javascript:alert(1)", KEYS) is None


@pytest.mark.slow
def test_with_clicks_off_every_link_goes_out_as_written(in_workspace: Path, issue_path: Path) -> None:
    add_config(in_workspace, '[tracking]\nclicks = "off"\n')
    add_subscribers(in_workspace, 1)

    assert run("send", str(issue_path)).exit_code == 0

    text, html = parts(message_to(in_workspace, "reader00000@example.com"))
    assert "/r/" not in html and "/r/" not in text
    assert 'href="https://example.org/robots/towels"' in html
    assert "%%" not in text + html


@pytest.mark.slow
def test_a_test_copy_has_working_links_that_count_for_no_one(in_workspace: Path, issue_path: Path) -> None:
    result = run("send", str(issue_path), "--test", "me@example.com")

    assert result.exit_code == 0, result.output
    messages = outbox(in_workspace, "test")
    _, html = parts(messages[0])
    links = tracked_links(html)
    assert links and all(reader == NO_READER for _, _, _, reader, _ in links)
    assert all(verify_link(issue, slot, sig, url, KEYS) for issue, slot, sig, _, url in links)


@pytest.mark.slow
def test_the_pixel_is_added_only_when_opens_are_on(in_workspace: Path, issue_path: Path) -> None:
    add_config(in_workspace, '[tracking]\nopens = true\n')
    add_subscribers(in_workspace, 1)
    add_subscribers(in_workspace, 1, Status.UNSUBSCRIBED, prefix="left")

    assert run("send", str(issue_path)).exit_code == 0

    _, html = parts(message_to(in_workspace, "reader00000@example.com"))
    pixel = re.findall(rf'<img src="{re.escape(BASE)}/o/7/([^"]+)"', html)
    assert len(pixel) == 1 and verify_reader(pixel[0], "7", KEYS) is not None


def test_check_counts_the_longer_links_against_gmails_clip(in_workspace: Path, issue_path: Path) -> None:
    tracked = run("build", str(issue_path))
    add_config(in_workspace, '[tracking]\nclicks = "off"\n')
    plain = run("build", str(issue_path))

    size = re.compile(r"HTML size: ([0-9.]+) KB")
    assert "with the newsletter's own tracked links" in tracked.output
    assert float(size.search(tracked.output).group(1)) > float(size.search(plain.output).group(1)) + 0.5
    assert "tracked links" not in plain.output


def test_the_stories_an_issue_went_out_with_are_kept_for_the_reports(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 1)

    assert run("send", str(issue_path)).exit_code == 0

    with Database(in_workspace / "subscribers.db") as db:
        stories = db.clicks.stories("7")
    assert [(s.slot, s.position, s.title, s.source, s.section) for s in stories[:2]] == [
        ("1", 1, "A home robot folds towels at human speed", "Robot Report", "Robotics"),
        ("2", 2, "Warehouse robots get a shared map format", "Logistics Daily", "Robotics"),
    ]
    first = stories[0]
    assert (first.has_image, first.has_quote, first.has_facts) == (True, True, True)
    assert (stories[1].has_image, stories[1].has_quote) == (False, False)


def tracked_email() -> Email:
    link = f"{BASE}/r/7/1/sig/%%click%%?u=https://example.org/a"
    return Email(subject="s", preheader="p", html=f'<a href="{link}">A</a>', text=f"A: {link}", web_html="")


def test_sendgrid_fills_each_readers_part_of_the_tracked_links(workspace: Path) -> None:
    from newsletter.providers.sendgrid import build_payload

    config = load_workspace(workspace).config
    letters = letters_for([Recipient("a@example.com", "Ada", "id-of-ada"), Recipient("b@example.com", None, "id-of-bo")], config, SECRET.encode(), "7")
    payload = build_payload(config, Batch(Edition("7", tracked_email()), "send-1", letters))

    values = [(p["substitutions"]["%%click%%"], p["substitutions"]["%%click:html%%"]) for p in payload["personalizations"]]
    assert [plain for plain, _ in values] == [html for _, html in values]
    assert [verify_reader(plain, "7", KEYS) for plain, _ in values] == ["id-of-ada", "id-of-bo"]


def test_mailgun_fills_each_readers_part_of_the_tracked_links(workspace: Path) -> None:
    from newsletter.providers.mailgun.payload import build_fields

    config = load_workspace(workspace).config
    letters = letters_for([Recipient("a@example.com", "Ada", "id-of-ada")], config, SECRET.encode(), "7")
    fields = build_fields(config, Batch(Edition("7", tracked_email()), "send-1", letters))

    assert "%recipient.click%" in str(fields["text"]) and "%recipient.click_html%" in str(fields["html"])
    variables = json.loads(str(fields["recipient-variables"]))["a@example.com"]
    assert verify_reader(variables["click"], "7", KEYS) == "id-of-ada" == verify_reader(variables["click_html"], "7", KEYS)


def test_check_warns_when_sendgrids_click_tracking_would_wrap_the_tools_own_links(in_workspace: Path, issue_path: Path) -> None:
    add_config(in_workspace, '[send]\nprovider = "sendgrid"\n\n[sendgrid]\nclick_tracking = true\n')

    result = run("check", str(issue_path))

    assert "warning: newsletter.toml: sendgrid.click_tracking: and [tracking] clicks are both on" in result.output
    add_config(in_workspace, '[tracking]\nclicks = "off"\n')
    assert "sendgrid.click_tracking" not in run("check", str(issue_path)).output
