"""The subscriber's whole journey in a real Chromium: sign up, confirm (with and without
JavaScript), receive an issue, leave with the mail client's one-click unsubscribe (RFC 8058), and
receive nothing after that. Every request outside the app's own origin is refused: offline."""

from __future__ import annotations

import http.client
import re
import urllib.parse
from email.message import EmailMessage
from pathlib import Path

from click.testing import CliRunner

from newsletter.cli.main import cli
from newsletter.db import Database
from tests.helpers.browser import offline_context
from tests.helpers.web import link_in, outbox

READER = "reader@example.com"
SECOND = "second@example.com"
CONFIRM_LINK = r"https://fixture\.example\.org/confirm/\S+"

# The repository's templates/confirm.mjml.j2, with the words of a welcome and no button.
WELCOME_MJML = """\
<mjml lang="{{ newsletter.language }}">
<mj-head>
<mj-title>{{ subject }}</mj-title>
<mj-raw><meta name="color-scheme" content="light dark"><meta name="supported-color-schemes" content="light dark"></mj-raw>
<mj-attributes>
<mj-all font-family="-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif" />
<mj-section padding="0" />
<mj-column padding="0" />
<mj-text font-size="16px" line-height="1.6" color="{{ light.text }}" padding="0 32px" css-class="nl-pad" />
</mj-attributes>
<mj-style>{% include "email-head.css.j2" %}</mj-style>
</mj-head>
<mj-body width="600px" background-color="{{ light.page }}" css-class="nl-page">
<mj-raw><div class="nl-preheader" style="display:none;max-height:0;max-width:0;overflow:hidden;opacity:0;mso-hide:all">{{ preheader }}{{ preheader_spacer }}</div></mj-raw>
<mj-section padding="16px 0 0" />
<mj-section background-color="{{ light.card }}" css-class="nl-card" padding="28px 0 24px" border-radius="8px">
<mj-column>
<mj-text><h1>Welcome to {{ newsletter.name }}</h1>
<p>You are on the list: the next issue comes to this address.</p></mj-text>
</mj-column>
</mj-section>
<mj-section padding="20px 0 32px" css-class="nl-foot">
<mj-column>
<mj-text font-size="13px" line-height="1.6" align="center" color="{{ light.muted }}" css-class="nl-foot nl-pad"><p>{{ newsletter.postal_address }}</p></mj-text>
</mj-column>
</mj-section>
</mj-body>
</mjml>
"""


def assert_accessible(page) -> None:
    """One <h1>, a language on <html>, and a label for every input a person can reach."""
    assert page.locator("h1").count() == 1, page.url
    assert (page.locator("html").get_attribute("lang") or "").strip(), page.url
    inputs = page.locator("input:not([type=hidden]), select, textarea")
    for index in range(inputs.count()):
        field = inputs.nth(index)
        ident = field.get_attribute("id")
        labelled = bool(
            (ident and page.locator(f'label[for="{ident}"]').count())
            or field.get_attribute("aria-label")
            or field.get_attribute("aria-labelledby")
            or field.locator("xpath=ancestor::label").count()
        )
        assert labelled, f"unlabelled input {field.evaluate('e => e.outerHTML')} on {page.url}"


def status_of(workspace: Path, address: str) -> str:
    with Database(workspace / "subscribers.db") as db:
        subscriber = db.subscribers.get(address)
        assert subscriber is not None, address
        return str(subscriber.status)


def active_addresses(workspace: Path) -> set[str]:
    with Database(workspace / "subscribers.db") as db:
        return {address for address in (READER, SECOND) if str(db.subscribers.get(address).status) == "active"}


def recipient(message: EmailMessage) -> str:
    return message["To"].addresses[0].addr_spec


def confirmation_for(workspace: Path, address: str) -> EmailMessage:
    found = [m for m in outbox(workspace) if recipient(m) == address and str(m["Subject"]).startswith("Confirm your subscription")]
    assert len(found) == 1, [(recipient(m), str(m["Subject"])) for m in outbox(workspace)]
    return found[0]


def sign_up(page, base: str, address: str, name: str) -> None:
    page.goto(base + "/subscribe")
    assert_accessible(page)
    page.get_by_label("Email address").fill(address)
    page.get_by_label("Name (optional)").fill(name)
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    assert "confirmation email is on its way" in page.locator("main").inner_text()
    assert_accessible(page)


def one_click_unsubscribe(base: str, path_and_query: str) -> tuple[int, str]:
    """What a mail client does with List-Unsubscribe-Post: a bare form POST, no browser."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("POST", path_and_query, body=b"List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def send(issue: Path) -> None:
    result = CliRunner().invoke(cli, ["send", str(issue)])
    assert result.exit_code == 0, result.output + repr(result.exception)


def test_a_subscribers_whole_journey(browser, web, workspace: Path, in_workspace: Path, issue_path: Path) -> None:
    (workspace / "templates" / "welcome.mjml.j2").write_text(WELCOME_MJML, encoding="utf-8")

    # 1. Sign up and confirm with JavaScript on: the confirm page presses its own button as soon
    #    as the reader moves the pointer (a link scanner that runs the script moves nothing).
    context = offline_context(browser, web.url)
    try:
        page = context.new_page()
        sign_up(page, web.url, READER, "Ada Reader")
        assert status_of(workspace, READER) == "pending"
        page.goto(web.url + link_in(confirmation_for(workspace, READER), CONFIRM_LINK))
        page.mouse.move(40, 40)
        page.mouse.move(80, 60)
        page.get_by_role("heading", name="You are subscribed").wait_for()
        assert_accessible(page)
    finally:
        context.close()
    assert status_of(workspace, READER) == "active"
    welcome = [m for m in outbox(workspace) if recipient(m) == READER and str(m["Subject"]).startswith("Welcome to")]
    assert len(welcome) == 1, [(recipient(m), str(m["Subject"])) for m in outbox(workspace)]

    # 2. JavaScript off: opening the link (what a mail scanner does) confirms nothing; the button does.
    context = offline_context(browser, web.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_up(page, web.url, SECOND, "Bo Second")
        page.goto(web.url + link_in(confirmation_for(workspace, SECOND), CONFIRM_LINK))
        page.get_by_role("heading", name="Confirm your subscription").wait_for()
        assert_accessible(page)
        assert status_of(workspace, SECOND) == "pending"
        page.get_by_role("button", name="Confirm my subscription").click()
        page.get_by_role("heading", name="You are subscribed").wait_for()
        assert_accessible(page)
    finally:
        context.close()
    assert status_of(workspace, SECOND) == "active"

    # 3. An issue goes out to both; the reader leaves with the mail client's one-click unsubscribe.
    before = len(outbox(workspace))
    send(issue_path)
    issue_7 = outbox(workspace)[before:]
    assert sorted(recipient(m) for m in issue_7) == [READER, SECOND]
    to_reader = next(m for m in issue_7 if recipient(m) == READER)
    header = str(to_reader["List-Unsubscribe"])
    link = re.search(r"<(https://fixture\.example\.org/unsubscribe\?token=[^>]+)>", header)
    assert link, header
    parts = urllib.parse.urlsplit(link.group(1))
    status, body = one_click_unsubscribe(web.url, f"{parts.path}?{parts.query}")
    assert status == 200, body
    assert "You are unsubscribed" in body
    assert status_of(workspace, READER) == "unsubscribed"

    # 4. The next issue reaches every active subscriber and not the reader who left.
    next_issue = workspace / "issues" / "2026-12-08.yaml"
    text = issue_path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^number: 7$", "number: 8", text)
    text = re.sub(r"(?m)^date: 2026-12-01$", "date: 2026-12-08", text)
    assert "number: 8" in text and "date: 2026-12-08" in text
    next_issue.write_text(text, encoding="utf-8")
    before = len(outbox(workspace))
    send(next_issue)
    issue_8 = outbox(workspace)[before:]
    assert READER not in {recipient(m) for m in issue_8}
    assert sorted(recipient(m) for m in issue_8) == sorted(active_addresses(workspace)) == [SECOND]
