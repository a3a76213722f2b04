"""The admin at /admin: an editor signs in with the link emailed to them, then searches the list,
acts on one subscriber, schedules and cancels a send, sends a test copy, and every action is logged.
Run on both databases: the admin's tables are new SQL (db/admin.py)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from newsletter.models import Status
from tests.helpers.both_databases import BOTH, database, database_env
from tests.helpers.web import Apps, Client, link_in, outbox

EDITOR = "ana@example.com"
ADMIN = f'[admin]\neditors = ["{EDITOR}", "bo@example.com"]\n'
SIGN_IN_LINK = r"https?://\S+/admin/login\?token=\S+"

pytestmark = pytest.mark.slow


@pytest.fixture(params=BOTH)
def env(request, monkeypatch):
    found = database_env(request)
    for name, value in found.items():
        monkeypatch.setenv(name, value)
    return found


@pytest.fixture
def apps(workspace: Path, env):
    served = Apps(workspace)
    yield served
    served.stop()


def csrf_of(body: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert found, body
    return found.group(1)


def ask_for_link(client: Client, address: str, next_path: str = "") -> str:
    form = client.get("/admin/login" + (f"?next={next_path}" if next_path else ""))
    answer = client.post_form("/admin/login", {"csrf_token": csrf_of(form.body), "email": address, "next": next_path})
    assert answer.status == 200, answer.body
    return answer.body


def links_to(workspace: Path, address: str) -> list[str]:
    return [link_in(message, SIGN_IN_LINK) for message in outbox(workspace) if message["To"] == address]


def use_link(client: Client, link: str, next_path: str = "") -> tuple[int, str]:
    """Open the emailed link (a button, nothing changes) and press it: the answer's status and Location."""
    page = client.get(link)
    assert page.status == 200 and "Sign in" in page.body
    token = re.search(r'name="token" value="([^"]+)"', page.body)
    assert token
    answer = client.post_form("/admin/login/confirm", {"csrf_token": csrf_of(page.body), "token": token.group(1), "next": next_path})
    return answer.status, answer.headers.get("Location", "")


def signed_in(client: Client, workspace: Path, address: str = EDITOR) -> Client:
    ask_for_link(client, address)
    status, location = use_link(client, links_to(workspace, address)[-1])
    assert (status, location) == (302, "/admin")
    return client


def post(client: Client, path: str, fields: dict[str, str]) -> str:
    """Post a form of the page at `path` (its CSRF token) to `path`; the answer's body."""
    page = client.get(path)
    answer = client.post_form(path, {"csrf_token": csrf_of(page.body), **fields})
    assert answer.status in (200, 400), (answer.status, answer.body)
    return answer.body


def test_no_editors_no_admin(apps: Apps) -> None:
    client = apps.serve()
    for path in ("/admin", "/admin/login", "/admin/subscribers", "/admin/actions"):
        assert client.get(path).status == 404


def test_an_editor_signs_in_with_the_emailed_link_and_out_again(apps: Apps, workspace: Path) -> None:
    client = apps.serve(ADMIN)
    answer = client.get("/admin")
    assert answer.status == 302 and answer.headers["Location"].startswith("/admin/login?next=")
    said = ask_for_link(client, EDITOR)
    assert "a sign-in link is on its way" in said
    [message] = outbox(workspace)
    assert message["To"] == EDITOR and "Sign in to the admin of Fixture Weekly" in message["Subject"]
    link = link_in(message, SIGN_IN_LINK)
    status, location = use_link(client, link)
    assert (status, location) == (302, "/admin")
    cookie = next(name for name in client.cookies if "newsletter-admin" in name)
    dashboard = client.get("/admin")
    assert dashboard.status == 200 and f"Signed in as {EDITOR}" in dashboard.body
    assert "Subscribers over the last 12 weeks" in dashboard.body
    out = client.post_form("/admin/logout", {"csrf_token": csrf_of(dashboard.body)})
    assert (out.status, out.headers["Location"]) == (302, "/admin/login")
    assert client.get("/admin").status == 302
    assert client.cookies[cookie] == ""  # the browser forgets it; the server already ended it
    log = signed_in(client, workspace).get("/admin/actions").body
    assert "sign in" in log and "sign out" in log and EDITOR in log


def test_the_answer_is_the_same_for_an_address_that_is_no_editors(apps: Apps, workspace: Path) -> None:
    client = apps.serve(ADMIN)
    editor = ask_for_link(client, EDITOR).replace(EDITOR, "ADDRESS")
    stranger = ask_for_link(client, "eve@example.com").replace("eve@example.com", "ADDRESS")
    assert editor == stranger
    assert [message["To"] for message in outbox(workspace)] == [EDITOR]


def test_the_session_cookie_is_httponly_and_strict(apps: Apps, workspace: Path) -> None:
    import http.client
    import urllib.parse

    client = apps.serve(ADMIN)
    ask_for_link(client, EDITOR)
    page = client.get(links_to(workspace, EDITOR)[-1])
    token = re.search(r'name="token" value="([^"]+)"', page.body)
    assert token
    parts = urllib.parse.urlsplit(client.base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    body = urllib.parse.urlencode({"csrf_token": csrf_of(page.body), "token": token.group(1)})
    cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    connection.request("POST", "/admin/login/confirm", body, {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies})
    response = connection.getresponse()
    [cookie] = [value for value in response.headers.get_all("Set-Cookie") or [] if value.startswith("newsletter-admin=")]
    # Plain http on loopback (`serve --dev`): not Secure, but kept to /admin; over https it is __Host- and Secure.
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
    connection.close()


def test_search_the_story_and_the_actions(apps: Apps, workspace: Path, env) -> None:
    from newsletter.models import Subscriber

    with database(workspace, env) as db:
        db.subscribers.upsert([Subscriber("cy@example.com", "Cy", {"country": "DE"}, Status.ACTIVE), Subscriber("di@example.com", "Di", {}, Status.ACTIVE)])
        db.subscribers.upsert([Subscriber("pending@example.com", None, {}, Status.PENDING)])
    client = signed_in(apps.serve(ADMIN), workspace)
    found = client.get("/admin/subscribers?address=CY%40")
    assert "cy@example.com" in found.body and "di@example.com" not in found.body
    by_segment = client.get("/admin/subscribers?segment=attr.country+%3D+%22DE%22")
    assert "cy@example.com" in by_segment.body and "di@example.com" not in by_segment.body
    bad = client.get("/admin/subscribers?segment=tag%3A")
    assert bad.status == 400 and "The segment:" in bad.body
    story = "/admin/subscriber?email=cy%40example.com"
    assert "Cy" in client.get(story).body

    said = post(client, story, {"action": "tag", "email": "cy@example.com", "add": "vip, early", "remove": ""})
    assert "added vip, early" in said
    assert "cy@example.com" in client.get("/admin/subscribers?tag=vip").body
    said = post(client, story, {"action": "tag", "email": "cy@example.com", "add": "<b>", "remove": ""})
    assert "a tag is letters" in said and "&lt;b&gt;" in said
    said = post(client, story, {"action": "unsubscribe", "email": "cy@example.com"})
    assert "is unsubscribed" in said
    said = post(client, "/admin/subscriber?email=pending%40example.com", {"action": "resend", "email": "pending@example.com"})
    assert "confirmation email to pending@example.com is on its way" in said
    said = post(client, "/admin/subscriber?email=di%40example.com", {"action": "erase", "email": "di@example.com"})
    assert "Tick the box" in said
    said = post(client, "/admin/subscriber?email=di%40example.com", {"action": "erase", "email": "di@example.com", "confirm": "yes"})
    assert "di@example.com is erased" in said

    with database(workspace, env) as db:
        assert db.audience.tags("cy@example.com") == ["early", "vip"]
        assert db.subscribers.get("cy@example.com").status == Status.UNSUBSCRIBED
        assert db.records.history("cy@example.com")[-1].channel == "admin"
        assert db.subscribers.get("di@example.com") is None and not db.records.holds("di@example.com")
        logged = [(action.editor, action.action, action.email) for action in db.admin.actions()]
    assert (EDITOR, "tag", "cy@example.com") in logged and (EDITOR, "unsubscribe", "cy@example.com") in logged
    assert (EDITOR, "resend confirmation", "pending@example.com") in logged
    assert (EDITOR, "erase", None) in logged
    assert "di@example.com" not in client.get("/admin/actions").body  # the erased address is nowhere, the log neither
    assert [m["To"] for m in outbox(workspace)].count("pending@example.com") == 1


def test_schedule_cancel_and_a_test_copy(apps: Apps, workspace: Path, env) -> None:
    from newsletter.models import Subscriber

    with database(workspace, env) as db:
        db.subscribers.upsert([Subscriber("cy@example.com", "Cy", {}, Status.ACTIVE)])
    client = signed_in(apps.serve(ADMIN), workspace)
    listed = client.get("/admin/issues")
    assert "2026-12-01.yaml" in listed.body and "never sent" in listed.body
    page = "/admin/issues/2026-12-01.yaml"
    said = post(client, page, {"action": "schedule", "at": "2020-01-01T08:00"})
    assert "has passed" in said
    said = post(client, page, {"action": "schedule", "at": "tomorrow"})
    assert "is not a date and time" in said
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(microsecond=0, second=0)
    said = post(client, page, {"action": "schedule", "at": when.strftime("%Y-%m-%dT%H:%M")})
    assert f"is scheduled for {when.isoformat()}" in said and "Cancel the send of" in said
    with database(workspace, env) as db:
        assert db.ledger.schedule("7") is not None
    said = post(client, page, {"action": "cancel"})
    assert "is cancelled: 1 recipient(s) are pending again" in said
    said = post(client, page, {"action": "test", "addresses": "proof@example.com"})
    assert "proof@example.com: sent" in said
    assert (workspace / "outbox" / "test" / "new").is_dir() and len(list((workspace / "outbox" / "test" / "new").iterdir())) == 1
    assert client.get("/admin/issues/..%2Fnewsletter.toml").status == 404
    assert client.get("/admin/issues/nothing.yaml").status == 404
    log = client.get("/admin/actions").body
    assert "schedule" in log and "cancel" in log and "test copy" in log and "proof@example.com" in log
    assert (workspace / "issues" / "2026-12-01.yaml").read_bytes() == (Path(__file__).parents[1] / "fixtures" / "small-issue.yaml").read_bytes()


def test_the_dashboard_counts_weeks_and_the_last_issues(apps: Apps, workspace: Path, env) -> None:
    from newsletter.models import Subscriber

    with database(workspace, env) as db:
        db.subscribers.upsert([Subscriber(f"r{n}@example.com", None, {}, Status.ACTIVE) for n in range(3)])
        db.subscribers.set_status(["r0@example.com"], Status.UNSUBSCRIBED)
    client = signed_in(apps.serve(ADMIN), workspace)
    body = client.get("/admin").body
    this_week = (dt.date.today() - dt.timedelta(days=dt.date.today().weekday())).isoformat()
    row = re.search(rf"<tr><th scope=\"row\">{this_week}</th><td>(\d+)</td><td>(\d+)</td>", body)
    assert row and row.groups() == ("3", "1")
    assert "No issue has gone out yet." in body


def test_an_editor_taken_off_the_list_is_signed_out(apps: Apps, workspace: Path) -> None:
    client = signed_in(apps.serve(ADMIN), workspace, "bo@example.com")
    assert client.get("/admin").status == 200
    text = (workspace / "newsletter.toml").read_text().replace(', "bo@example.com"', "")
    (workspace / "newsletter.toml").write_text(text)
    again = Client(apps.serve().base, dict(client.cookies))
    assert again.get("/admin").status == 302
