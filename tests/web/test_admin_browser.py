"""The admin in a real Chromium: an editor signs in through the link the app emails, searches the
list, tags and unsubscribes a reader, schedules an issue and cancels it, with the app's Content
Security Policy enforced (no page needs an inline script or style), on both databases. Then axe-core finds no
violation on any admin page. Every request outside the app's own origin is refused: offline."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from newsletter.models import Status, Subscriber
from tests.helpers.both_databases import BOTH, database, database_env
from tests.helpers.browser import offline_context
from tests.helpers.web import Apps, link_in, outbox

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
EDITOR = "ana@example.com"
ADMIN = f'[admin]\neditors = ["{EDITOR}"]\n'


@pytest.fixture(params=BOTH)
def env(request, monkeypatch) -> dict[str, str]:
    """SQLite, then PostgreSQL (DATABASE_URL set for the app)."""
    found = dict(database_env(request))
    for name, value in found.items():
        monkeypatch.setenv(name, value)
    return found


@pytest.fixture
def base(workspace: Path, env: dict[str, str]):
    with database(workspace, env) as db:
        db.subscribers.upsert([Subscriber("cy@example.com", "Cy", {}, Status.ACTIVE), Subscriber("di@example.com", "Di", {}, Status.ACTIVE)])
    apps = Apps(workspace)
    yield apps.serve(ADMIN).base
    apps.stop()


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    return page.evaluate("options => axe.run(document, options)", options)["violations"]


def test_sign_in_search_act_schedule_and_cancel(browser, base: str, workspace: Path, env: dict[str, str]) -> None:
    context = offline_context(browser, base)
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None)

    page.goto(base + "/admin/issues")
    assert "/admin/login?next=%2Fadmin%2Fissues" in page.url
    page.get_by_label("Email address").fill(EDITOR)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_text("a sign-in link is on its way")).to_be_visible()
    [message] = outbox(workspace)
    page.goto(base + link_in(message, r"https?://\S+/admin/login\?token=\S+"))
    page.get_by_role("button", name="Sign in").click()
    assert page.url == base + "/admin/issues"  # where the editor was going
    expect(page.get_by_text(f"Signed in as {EDITOR}")).to_be_visible()

    page.get_by_role("link", name="Subscribers").click()
    page.get_by_label("Address (or part of it)").fill("cy@")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="1 found")).to_be_visible()
    page.get_by_role("link", name="cy@example.com").click()
    page.get_by_label("Add tags (comma-separated)").fill("vip")
    page.get_by_role("button", name="Change tags").click()
    expect(page.get_by_role("status")).to_have_text("Tags of cy@example.com: added vip.")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("status")).to_contain_text("cy@example.com is unsubscribed")

    page.get_by_role("link", name="Issues").click()
    page.get_by_role("link", name="Issue 7").click()
    page.get_by_label("Send at (UTC, or with an offset such as +01:00)").fill("2099-01-01T08:00")
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_role("status")).to_contain_text("Issue 7 is scheduled for 2099-01-01T08:00:00+00:00")
    page.get_by_role("button", name="Cancel the send of 2099-01-01T08:00:00+00:00").click()
    expect(page.get_by_role("status")).to_contain_text("is cancelled: 1 recipient(s) are pending again")

    page.get_by_role("link", name="Actions").click()
    page.wait_for_url("**/admin/actions")
    log = page.content()
    for action in ("sign in", "tag", "unsubscribe", "schedule", "cancel"):
        assert f"<td>{action}</td>" in log
    assert blocked == []  # the CSP held, and no page needed more
    with database(workspace, env) as db:
        assert db.audience.tags("cy@example.com") == ["vip"]
        assert db.subscribers.get("cy@example.com").status == Status.UNSUBSCRIBED

    # axe needs its own script in the page: a context that lets it in, with the editor's session.
    checking = offline_context(browser, base, bypass_csp=True, storage_state=context.storage_state())
    context.close()
    pages = [
        "/admin", "/admin/subscribers", "/admin/subscribers?address=example", "/admin/subscriber?email=cy%40example.com",
        "/admin/issues", "/admin/issues/2026-12-01.yaml", "/admin/actions", "/admin/subscribers?segment=tag%3A",
    ]
    anonymous = ["/admin/login", "/admin/login?token=anything"]
    found = {}
    signed_in_page = checking.new_page()
    for path in pages:
        signed_in_page.goto(base + path)
        found[path] = axe_violations(signed_in_page)
    stranger = offline_context(browser, base, bypass_csp=True).new_page()
    for path in anonymous:
        stranger.goto(base + path)
        found[path] = axe_violations(stranger)
    checking.close()
    problems = {path: [(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in violations] for path, violations in found.items() if violations}
    assert problems == {}
