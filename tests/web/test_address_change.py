"""A reader moves their subscription to a new address from the preferences page: a link goes to
the new address, and only following it there changes anything. Served on loopback; the app's
emails land in the outbox."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.mail.links import Purpose, make_dated_token, make_token
from newsletter.models import Status, Subscriber
from newsletter.workspace.credentials import signing_keys
from tests.helpers.web import link_in, outbox

OLD, NEW = "old@example.com", "new@example.org"
ADDRESS_LINK = r"https://fixture\.example\.org/address/\S+"


def heading(body: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", body, re.S)
    assert found, body
    return found.group(1).strip()


def reader(workspace: Path, email: str = OLD) -> Subscriber:
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber(email, "Ada")])
        found = db.subscribers.get(email)
    assert found is not None and found.public_id
    return found


def preferences_path(public_id: str) -> str:
    return "/preferences?token=" + make_token(public_id, Purpose.PREFERENCES, signing_keys("outbox").current)


def ask_for(client, public_id: str, new_email: str):
    path = preferences_path(public_id)
    page = client.get(path)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.body)
    assert page.status == 200 and token and 'name="new_email"' in page.body
    return client.post_form(path, {"csrf_token": token.group(1), "action": "address", "new_email": new_email})


def emails_of(workspace: Path) -> list[str]:
    with Database(workspace / "subscribers.db") as db:
        return [s.email for s in db.subscribers.all()]


def test_a_new_address_is_taken_only_from_the_link_sent_to_it(client, workspace: Path) -> None:
    ada = reader(workspace)
    unsubscribe_before = "/unsubscribe?token=" + make_token(ada.public_id, Purpose.UNSUBSCRIBE, signing_keys("outbox").current)
    answer = ask_for(client, ada.public_id, "New@Example.org")
    assert answer.status == 200 and "We sent a link to" in answer.body
    assert emails_of(workspace) == [OLD]  # nothing changes until the new inbox answers
    sent = [m for m in outbox(workspace) if m["To"] == NEW]
    assert len(sent) == 1 and sent[0]["Subject"] == "Confirm your new address for “Fixture Weekly”"
    link = link_in(sent[0], ADDRESS_LINK)
    looked = client.get(link)  # a mail scanner's GET changes nothing
    assert looked.status == 200 and heading(looked.body) == "Confirm your new address" and emails_of(workspace) == [OLD]
    done = client.request("POST", link)
    assert done.status == 200 and heading(done.body) == "Your address is changed"
    assert emails_of(workspace) == [NEW]
    with Database(workspace / "subscribers.db") as db:
        moved = db.subscribers.get(NEW)
        history = db.subscribers.changes(NEW)
    assert moved is not None and moved.public_id == ada.public_id and moved.name == "Ada"
    assert history[-1][:2] == ("address changed", "web")
    assert client.request("POST", link).status == 200 and emails_of(workspace) == [NEW]  # the link is spent: stale, nothing more
    assert client.post_form(unsubscribe_before, {}).status == 200  # a link in mail sent to the old address still works
    with Database(workspace / "subscribers.db") as db:
        assert db.subscribers.get(NEW).status == Status.UNSUBSCRIBED


@pytest.mark.slow
def test_a_newer_request_makes_the_earlier_link_stale(client, workspace: Path) -> None:
    ada = reader(workspace)
    ask_for(client, ada.public_id, NEW)
    first = link_in([m for m in outbox(workspace) if m["To"] == NEW][-1], ADDRESS_LINK)
    time.sleep(1.1)  # requests are timed to the second
    ask_for(client, ada.public_id, "third@example.net")
    stale = client.request("POST", first)
    assert "no longer valid" in stale.body and emails_of(workspace) == [OLD]
    second = link_in([m for m in outbox(workspace) if m["To"] == "third@example.net"][-1], ADDRESS_LINK)
    assert heading(client.request("POST", second).body) == "Your address is changed"
    assert emails_of(workspace) == ["third@example.net"]


def test_an_address_already_on_the_list_gets_the_same_answer_and_never_takes_the_subscription(client, workspace: Path) -> None:
    ada = reader(workspace)
    reader(workspace, NEW)
    free = ask_for(client, ada.public_id, "free@example.net")
    taken = ask_for(client, ada.public_id, NEW)
    assert taken.status == free.status == 200
    def without_address(body: str) -> str:
        return re.sub(r"[^\s>]*@[^\s<.]*(\.[a-z]+)*", "ADDRESS", body)

    assert "We sent a link to" in taken.body and without_address(taken.body) == without_address(free.body)
    link = link_in([m for m in outbox(workspace) if m["To"] == NEW][-1], ADDRESS_LINK)
    refused = client.request("POST", link)
    assert "already on the list" in refused.body
    assert sorted(emails_of(workspace)) == [NEW, OLD]


def test_forged_borrowed_and_expired_address_links_change_nothing(client, workspace: Path) -> None:
    ada = reader(workspace)
    ask_for(client, ada.public_id, NEW)
    key = signing_keys("outbox").current
    now = int(time.time())
    for token in (
        make_dated_token(ada.public_id, Purpose.CONFIRM, key, now),  # another purpose's link
        make_dated_token(ada.public_id, Purpose.ADDRESS, b"another secret of thirty-two bytes!!", now),
        make_token(ada.public_id, Purpose.PREFERENCES, key),
        "not-a-token",
    ):
        assert client.request("POST", f"/address/{token}").status == 404
    expired = make_dated_token(ada.public_id, Purpose.ADDRESS, key, now - 8 * 86_400)
    assert "no longer valid" in client.request("POST", f"/address/{expired}").body
    assert emails_of(workspace) == [OLD]


def test_a_bad_new_address_is_refused_on_the_page(client, workspace: Path) -> None:
    ada = reader(workspace)
    answer = ask_for(client, ada.public_id, "not an address")
    assert answer.status == 400 and emails_of(workspace) == [OLD]
    assert not [m for m in outbox(workspace) if m["Subject"].startswith("Confirm your new address")]
