"""The admin's routes, attacked: no page and no action without a session, no action without its
CSRF token, sign-in links forged, expired, reused or raced, a session from another workspace,
redirects off the site after signing in, floods of /admin/login, huge and odd bodies, and the
sign-in's answer time for an editor's address and anyone else's."""

from __future__ import annotations

import datetime as dt
import http.client
import re
import secrets
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import Status, Subscriber
from newsletter.sending.sign_in import secret_hash
from tests.helpers.hostile import NEWSLETTER_SECRET
from tests.helpers.probes import Probe, classifier_accuracy
from tests.helpers.web import Client, link_in, outbox
from tests.helpers.workspace import make_workspace

pytestmark = pytest.mark.slow

EDITOR = "ana@example.com"
ADMIN = f'[admin]\neditors = ["{EDITOR}"]\n'
GENEROUS = ADMIN + 'sign_in_rate = "100000/minute"\naddress_rate = "100000/minute"\n'
SIGN_IN_LINK = r"https?://\S+/admin/login\?token=\S+"
PAGES = ["/admin", "/admin/subscribers?address=a", "/admin/subscriber?email=cy%40example.com", "/admin/issues", "/admin/issues/2026-12-01.yaml", "/admin/actions"]
ACTIONS = [
    ("/admin/subscriber", {"action": "unsubscribe", "email": "cy@example.com"}),
    ("/admin/subscriber", {"action": "erase", "email": "cy@example.com", "confirm": "yes"}),
    ("/admin/issues/2026-12-01.yaml", {"action": "schedule", "at": "2099-01-01T08:00"}),
    ("/admin/logout", {}),
]


def csrf_of(body: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert found, body
    return found.group(1)


def ask(client: Client, address: str, next_path: str = "", headers: dict[str, str] | None = None) -> int:
    form = client.get("/admin/login")
    body = urllib.parse.urlencode({"csrf_token": csrf_of(form.body), "email": address, "next": next_path}).encode()
    return client.request("POST", "/admin/login", body, {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}).status


def press(client: Client, token: str, next_path: str = "") -> tuple[int, str]:
    page = client.get("/admin/login?" + urllib.parse.urlencode({"token": token}))
    answer = client.post_form("/admin/login/confirm", {"csrf_token": csrf_of(page.body), "token": token, "next": next_path})
    return answer.status, answer.headers.get("Location", "")


def emailed_token(workspace: Path) -> str:
    link = link_in(outbox(workspace)[-1], SIGN_IN_LINK)
    return urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]


def signed_in(client: Client, workspace: Path) -> Client:
    assert ask(client, EDITOR) == 200
    assert press(client, emailed_token(workspace)) == (302, "/admin")
    return client


def with_reader(workspace: Path) -> None:
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber("cy@example.com", "Cy", {}, Status.ACTIVE)])


def test_no_page_and_no_action_without_a_session(serve, workspace: Path) -> None:
    with_reader(workspace)
    client = serve(ADMIN)
    for path in PAGES:
        answer = client.get(path)
        assert answer.status == 302 and answer.headers["Location"].startswith("/admin/login?next="), path
    for path, fields in ACTIONS:
        form = client.get("/admin/login")
        answer = client.post_form(path, {"csrf_token": csrf_of(form.body), **fields})
        assert answer.status == 302, path
    for cookie in ("newsletter-admin", "__Host-newsletter-admin"):
        stranger = Client(client.base, {cookie: secrets.token_urlsafe(32)})
        assert stranger.get("/admin").status == 302
    with Database(workspace / "subscribers.db") as db:
        assert db.subscribers.get("cy@example.com").status == Status.ACTIVE
        assert db.admin.actions() == []


def test_no_action_without_its_csrf_token(serve, workspace: Path) -> None:
    with_reader(workspace)
    client = signed_in(serve(ADMIN), workspace)
    for path, fields in ACTIONS:
        for token in ({}, {"csrf_token": "forged"}):
            answer = client.post_form(path, {**token, **fields})
            assert answer.status == 400, (path, answer.status)
    assert client.get("/admin").status == 200  # still signed in: logout needs its token too
    with Database(workspace / "subscribers.db") as db:
        assert db.subscribers.get("cy@example.com").status == Status.ACTIVE
        assert [action.action for action in db.admin.actions()] == ["sign in"]


def test_forged_expired_and_reused_links_sign_nobody_in(serve, workspace: Path) -> None:
    client = serve(ADMIN)
    for forged in (secrets.token_urlsafe(32), "", "x" * 5000, "../../admin", "%00"):
        assert press(client, forged)[0] == 400
    with Database(workspace / "subscribers.db") as db:
        expired = secrets.token_urlsafe(32)
        db.admin.add_link(secret_hash(expired), EDITOR, dt.timedelta(seconds=-1))
    assert press(client, expired)[0] == 400
    assert ask(client, EDITOR) == 200
    token = emailed_token(workspace)
    assert press(client, token) == (302, "/admin")
    assert press(Client(client.base), token)[0] == 400  # used once: never again, from anywhere
    with Database(workspace / "subscribers.db") as db:  # nothing of the link's secret is stored
        stored = db.connection.db.execute("SELECT token_hash FROM admin_links UNION ALL SELECT id_hash FROM admin_sessions").fetchall()
    assert all(token not in row[0] for row in stored)


def test_a_link_pressed_twice_at_once_opens_one_session(serve, workspace: Path) -> None:
    client = serve(ADMIN)
    assert ask(client, EDITOR) == 200
    token = emailed_token(workspace)
    browsers = [Client(client.base) for _ in range(8)]
    pages = [browser.get("/admin/login?" + urllib.parse.urlencode({"token": token})) for browser in browsers]
    results: list[int] = []
    start = threading.Barrier(len(browsers))

    def go(browser: Client, page: str) -> None:
        start.wait()
        results.append(browser.post_form("/admin/login/confirm", {"csrf_token": csrf_of(page), "token": token}).status)

    threads = [threading.Thread(target=go, args=(browser, page.body)) for browser, page in zip(browsers, pages, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [302] + [400] * 7


def test_a_session_of_another_workspace_is_nobody_here(serve, workspace: Path, tmp_path: Path, monkeypatch) -> None:
    from tests.helpers.web import Apps

    other = make_workspace(tmp_path / "other")
    apps = Apps(other)
    try:
        monkeypatch.setenv("NEWSLETTER_SECRET", "another-workspace-secret-Pq4Wn8Zr2Kd6Lm9Bx3Ty")
        there = signed_in(apps.serve(ADMIN), other)
        assert there.get("/admin").status == 200
    finally:
        apps.stop()
    monkeypatch.setenv("NEWSLETTER_SECRET", NEWSLETTER_SECRET)
    here = Client(serve(ADMIN).base, dict(there.cookies))
    assert here.get("/admin").status == 302


OFF_SITE = ["//evil.example", "/\\evil.example", "https://evil.example/admin", "/admin//evil.example", "/admin/../../x", "javascript:alert(1)", "/adminx"]


@pytest.mark.parametrize("wanted", [*OFF_SITE, "/admin\r\nLocation: https://evil"])
def test_no_redirect_off_the_admin_after_signing_in(serve, workspace: Path, wanted: str) -> None:
    client = serve(ADMIN)
    assert ask(client, EDITOR, wanted) == 200
    assert press(client, emailed_token(workspace), wanted) == (302, "/admin")
    login = client.get("/admin/login?" + urllib.parse.urlencode({"next": wanted}))
    assert 'name="next" value="/admin"' in login.body


def test_a_path_under_the_admin_is_where_signing_in_goes(serve, workspace: Path) -> None:
    client = serve(ADMIN)
    first = client.get("/admin/issues")
    assert first.headers["Location"] == "/admin/login?next=%2Fadmin%2Fissues"
    assert ask(client, EDITOR, "/admin/issues") == 200
    assert press(client, emailed_token(workspace), "/admin/issues") == (302, "/admin/issues")


def test_floods_of_the_sign_in_form_are_limited_per_client_and_never_lock_an_editor_out(serve, workspace: Path) -> None:
    client = serve(ADMIN + '[web]\ntrusted_proxies = ["127.0.0.1"]\n')  # its clients, as a proxy names them (over https)
    per_client = [ask(client, f"eve{n}@example.com", headers={"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}) for n in range(7)]
    assert per_client[:5] == [200] * 5 and per_client[5:] == [429, 429]
    over_https = {"X-Forwarded-Proto": "https"}
    # One client asking for one address again and again runs out of its own allowance...
    same = [ask(client, EDITOR, headers={"X-Forwarded-For": "203.0.113.9", **over_https}) for _ in range(5)]
    assert same[:3] == [200] * 3 and same[3:] == [429, 429]
    # ...and many clients flooding an editor's address neither lock the editor out nor bury them in
    # mail: every request is answered alike, and one link goes out, which still works.
    many = [ask(client, EDITOR, headers={"X-Forwarded-For": f"203.0.113.{n}", **over_https}) for n in range(10, 20)]
    assert many == [200] * 10
    assert [m["To"] for m in outbox(workspace)] == [EDITOR]
    assert press(client, emailed_token(workspace)) == (302, "/admin")
    plain = client.request("GET", "/admin/login", headers={"X-Forwarded-For": "198.51.100.8"})
    assert plain.status == 403 and "needs https" in plain.body  # a client out there over plain http: no admin


def test_huge_and_odd_bodies(serve, workspace: Path) -> None:
    client = serve(GENEROUS)
    form = client.get("/admin/login")
    token = csrf_of(form.body)
    huge = client.request("POST", "/admin/login", b"email=" + b"a" * 2_000_000, {"Content-Type": "application/x-www-form-urlencoded"})
    assert huge.status == 413
    for typed in ["", "not an address", "a" * 400 + "@example.com", "\x00@example.com", "ana@example.com\r\nBcc: eve@example.com", "ànä@exämple.com", "<script>@x.y"]:
        answer = client.post_form("/admin/login", {"csrf_token": token, "email": typed})
        assert answer.status in (200, 400), (typed, answer.status)
        assert "<script>@" not in answer.body
    odd_bodies = [(b'{"email": "ana@example.com"}', "application/json"), (b"\xff\xfe\x00", "application/x-www-form-urlencoded"), (b"email=%", "multipart/form-data; boundary=x")]
    for body, kind in odd_bodies:
        assert client.request("POST", "/admin/login", body, {"Content-Type": kind}).status in (400, 413)
    signed_in(client, workspace)
    odd_actions = [
        ("/admin/subscriber", {"action": "tag", "email": "x" * 5000, "add": "a"}),
        ("/admin/subscriber", {"action": "nonsense", "email": EDITOR}),
        ("/admin/issues/2026-12-01.yaml", {"action": "test", "addresses": "a@b.c " * 300}),
        ("/admin/issues/2026-12-01.yaml", {"action": "schedule", "at": "\x00" * 90}),
    ]
    for path, fields in odd_actions:
        page = client.get("/admin")
        answer = client.post_form(path, {"csrf_token": csrf_of(page.body), **fields})
        assert answer.status in (400, 404), (fields, answer.status)
    odd = client.get("/admin/subscribers?segment=" + urllib.parse.quote("(" * 500))
    assert odd.status == 400
    assert [m["To"] for m in outbox(workspace)] == [EDITOR]  # the editor's own link, and nothing else went out


def test_sign_in_time_does_not_tell_an_editor_from_anyone_else(serve, workspace: Path) -> None:
    """Alternating probes on one kept-alive connection; a threshold trained on half may guess the
    other half no better than 60%."""
    client = serve(GENEROUS)
    form = client.get("/admin/login")
    token = csrf_of(form.body)
    parts = urllib.parse.urlsplit(client.base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    probes = []
    try:
        for n in range(250):
            for address, is_editor in ((f"nobody{n}@example.com", False), (EDITOR, True)):
                body = urllib.parse.urlencode({"csrf_token": token, "email": address})
                started = time.perf_counter()
                connection.request("POST", "/admin/login", body, {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies})
                response = connection.getresponse()
                response.read()
                probes.append(Probe(is_editor, time.perf_counter() - started))
                assert response.status == 200
    finally:
        connection.close()
    assert classifier_accuracy(probes) <= 0.60


def test_over_https_the_session_cookie_is_secure_host_only_and_strict(serve, workspace: Path) -> None:
    client = serve(ADMIN + '[web]\ntrusted_proxies = ["127.0.0.1"]\n')  # behind a proxy that speaks https
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.20"}
    assert ask(client, EDITOR, headers=https) == 200
    token = emailed_token(workspace)
    page = client.request("GET", "/admin/login?" + urllib.parse.urlencode({"token": token}), headers=https)
    form = urllib.parse.urlencode({"csrf_token": csrf_of(page.body), "token": token, "next": ""}).encode()
    answer = client.request("POST", "/admin/login/confirm", form, {"Content-Type": "application/x-www-form-urlencoded", **https})
    assert answer.status == 302
    [cookie] = [value for value in answer.headers.get_all("Set-Cookie") or [] if value.startswith("__Host-newsletter-admin=")]
    attributes = {part.strip().split("=", 1)[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite", "path"} <= attributes and "domain" not in attributes
    assert "SameSite=Strict" in cookie and "Path=/;" in cookie + ";"
    assert client.request("GET", "/admin", headers=https).status == 200
