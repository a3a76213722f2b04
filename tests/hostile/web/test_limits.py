"""Limits a stranger tries to get around: a forwarded issue's preferences link used to mail-bomb its
reader, sub-addresses of one inbox, a whole IPv6 /64 of clients, someone else's typos, a proxy
named by range, and an old secret after its last day."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from pathlib import Path

import pytest
import time_machine

from newsletter.db import Database
from newsletter.mail.links import Purpose, make_token
from newsletter.models import Status, Subscriber
from tests.helpers.hostile import NEWSLETTER_SECRET
from tests.helpers.web import Client, outbox

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CONFIRM_LINK = r"https://fixture\.example\.org/confirm/\S+"


def add(workspace: Path, address: str, status: Status) -> str:
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber(address, None, {}, status)])
        found = db.subscribers.get(address)
    assert found is not None and found.public_id
    return found.public_id


def confirmations_to(workspace: Path) -> list[str]:
    return [m["To"].addresses[0].addr_spec for m in outbox(workspace) if str(m["Subject"]).startswith("Confirm your subscription")]


def csrf_of(body: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert found, body
    return found.group(1)


@pytest.mark.slow
def test_the_preferences_page_cannot_mail_bomb_its_reader(client: Client, workspace: Path) -> None:
    """Anyone holding a reader's link (a forwarded issue) presses "Subscribe again" 30 times."""
    public_id = add(workspace, "reader@example.com", Status.UNSUBSCRIBED)
    path = "/preferences?token=" + make_token(public_id, Purpose.PREFERENCES, NEWSLETTER_SECRET.encode())
    statuses = []
    for _ in range(30):
        token = csrf_of(client.get(path).body)
        statuses.append(client.post_form(path, {"csrf_token": token, "action": "resubscribe"}).status)
    assert statuses[:3] == [200, 200, 200] and set(statuses[3:]) == {429}
    assert confirmations_to(workspace) == ["reader@example.com"] * 3  # address_rate = 3/hour


def test_every_route_counts_against_one_limit_per_inbox(client: Client, workspace: Path) -> None:
    public_id = add(workspace, "reader@example.com", Status.UNSUBSCRIBED)
    assert Client(client.base).subscribe("reader@example.com").status == 200
    assert Client(client.base).subscribe("reader@example.com").status == 200
    path = "/preferences?token=" + make_token(public_id, Purpose.PREFERENCES, NEWSLETTER_SECRET.encode())
    token = csrf_of(client.get(path).body)
    assert client.post_form(path, {"csrf_token": token, "action": "resubscribe"}).status == 200
    token = csrf_of(client.get(path).body)
    refused = client.post_form(path, {"csrf_token": token, "action": "resubscribe"})
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
    [link] = {re.search(CONFIRM_LINK, m.get_body(("plain",)).get_content()).group(0) for m in outbox(workspace)[:1]}  # type: ignore[union-attr]
    resend = client.post_form(urllib.parse.urlsplit(link).path, {"resend": "1"})
    assert resend.status == 429
    assert confirmations_to(workspace) == ["reader@example.com"] * 3


@pytest.mark.slow
def test_sub_addresses_of_one_inbox_share_its_limit(client: Client, workspace: Path) -> None:
    answers = [Client(client.base).subscribe(f"Victim+{n}@Example.com").status for n in range(1, 7)]
    assert answers == [200, 200, 200, 429, 429, 429]
    assert len(confirmations_to(workspace)) == 3
    assert Client(client.base).subscribe("other@example.com").status == 200  # another inbox is not held back


def signups_from(client: Client, forwarded: str, address: str) -> int:
    token = csrf_of(client.get("/subscribe").body)
    body = urllib.parse.urlencode({"csrf_token": token, "email": address}).encode()
    return client.request("POST", "/subscribe", body, {**FORM, "X-Forwarded-For": forwarded}).status


@pytest.mark.slow
def test_ipv6_clients_are_limited_by_their_64(serve, workspace: Path) -> None:
    client = serve('[web]\nsubscribe_rate = "10/minute"\ntrusted_proxies = ["127.0.0.1"]')
    one_64 = [signups_from(client, f"2001:db8:1:2::{n:x}", f"reader{n}@example.com") for n in range(1, 41)]
    assert one_64.count(200) == 10 and one_64.count(429) == 30
    assert signups_from(client, "2001:db8:1:3::1", "elsewhere@example.com") == 200  # the next /64 is someone else
    assert signups_from(client, "::ffff:203.0.113.9", "mapped@example.com") == 200


@pytest.mark.slow
def test_a_trusted_proxy_may_be_named_by_its_range(serve) -> None:
    client = serve('[web]\nsubscribe_rate = "2/minute"\ntrusted_proxies = ["127.0.0.0/8"]')
    statuses = [signups_from(client, f"203.0.113.{n}", f"reader{n}@example.com") for n in range(1, 5)]
    assert statuses == [200, 200, 200, 200]  # each forwarded client has its own count


def test_a_trusted_proxy_that_is_not_an_address_is_refused(workspace: Path, serve) -> None:
    from newsletter.errors import ConfigError

    try:
        serve('[web]\ntrusted_proxies = ["localhost"]')
    except ConfigError as exc:
        assert "web.trusted_proxies" in str(exc) and "localhost" in str(exc)
    else:
        raise AssertionError("a proxy named 'localhost' was accepted, and would never match")


def test_one_clients_typos_do_not_hold_back_another_clients(serve) -> None:
    client = serve('[web]\ntrusted_proxies = ["127.0.0.1"]')
    typos = [signups_from(client, "203.0.113.1", "not an address") for _ in range(5)]
    assert typos[:3] == [400, 400, 400] and set(typos[3:]) == {429}
    assert signups_from(client, "203.0.113.2", "also not an address") == 400  # told what is wrong, not 429


def test_the_previous_secret_stops_working_after_its_last_day_while_the_app_runs(serve, workspace: Path, monkeypatch) -> None:
    old_secret = "previous-secret-Zk4Wq9Lm2Rv7Tx3Np8Hb5Jc6"
    today = dt.date.today()
    monkeypatch.setenv("NEWSLETTER_PREVIOUS_SECRET", old_secret)
    monkeypatch.setenv("NEWSLETTER_PREVIOUS_SECRET_UNTIL", today.isoformat())
    public_id = add(workspace, "reader@example.com", Status.ACTIVE)
    client = serve()
    old_link = "/unsubscribe?token=" + make_token(public_id, Purpose.UNSUBSCRIBE, old_secret.encode())
    new_link = "/unsubscribe?token=" + make_token(public_id, Purpose.UNSUBSCRIBE, NEWSLETTER_SECRET.encode())
    assert client.get(old_link).status == 200  # on its last day, the old secret still works
    with time_machine.travel(dt.datetime.combine(today + dt.timedelta(days=30), dt.time(12), tzinfo=dt.UTC)):
        assert client.get(old_link).status == 404
        assert client.request("POST", old_link, b"List-Unsubscribe=One-Click", FORM).status == 404
        assert client.get(new_link).status == 200
    with Database(workspace / "subscribers.db") as db:
        assert db.subscribers.get("reader@example.com").status == Status.ACTIVE
