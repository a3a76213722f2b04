"""What a stranger can try against the reader's choices: the preference actions with a forged or
borrowed token, tags the form does not offer, another site's Origin (spoofed, lookalike or
missing), lists far longer than any form, and the data actions without their second step. Each
gets a 4xx and changes nothing."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.mail.links import Purpose, make_dated_token, make_token
from newsletter.models import Status, Subscriber
from newsletter.workspace.credentials import signing_keys
from tests.helpers.web import Client

READER = "reader@example.com"
SITE = "https://publication.example.net"
SETTINGS = f"""
[topics.weekly]
name = "The Weekly"

[topics.deep]
name = "Deep Dives"
default = false

[web]
address_rate = "100/hour"
subscribe_rate = "100/minute"
allowed_tags = ["podcast"]
allowed_origins = ["{SITE}"]
"""
DEFAULTS = {"weekly": True, "deep": False}
JSON_TYPE = {"Content-Type": "application/json"}
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def client(serve: Callable[..., Client]) -> Client:
    return serve(SETTINGS)


def reader(workspace: Path) -> str:
    """An active reader who chose both topics; their public id."""
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber(READER, "Ada")])
        db.audience.choose_topics(READER, {"weekly": True, "deep": True})
        found = db.subscribers.get(READER)
        assert found is not None and found.public_id
        return found.public_id


def standing(workspace: Path, email: str = READER) -> tuple[Subscriber | None, dict[str, bool], list[str]]:
    with Database(workspace / "subscribers.db") as db:
        return db.subscribers.get(email), db.audience.topics(email, DEFAULTS), db.audience.tags(email)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def form(fields: dict[str, str | list[str]]) -> bytes:
    return urllib.parse.urlencode(fields, doseq=True).encode()


# --- the preference actions with a token that is not the reader's preferences token -------------


def wrong_tokens(public_id: str) -> dict[str, str]:
    key = signing_keys("outbox").current
    genuine = make_token(public_id, Purpose.PREFERENCES, key)
    return {
        "a character changed": genuine[:-1] + ("A" if genuine[-1] != "A" else "B"),
        "another secret's": make_token(public_id, Purpose.PREFERENCES, b"some other secret"),
        "an unsubscribe token": make_token(public_id, Purpose.UNSUBSCRIBE, key),
        "a confirmation token": make_dated_token(public_id, Purpose.CONFIRM, key, 1_800_000_000),
        "another reader's id": make_token("AAAAAAAAAAAAAAAA", Purpose.PREFERENCES, key),
    }


@pytest.mark.parametrize("action", ["topics", "name", "address", "unsubscribe", "download", "erase"])
def test_a_preference_action_with_a_wrong_token_is_404_and_changes_nothing(client: Client, workspace: Path, action: str) -> None:
    public_id = reader(workspace)
    genuine = f"/preferences?token={make_token(public_id, Purpose.PREFERENCES, signing_keys('outbox').current)}"
    csrf = csrf_of(client.get(genuine).body)  # a real page's CSRF token: only the link's token is wrong
    fields = {"csrf_token": csrf, "action": action, "topics_offered": "1", "name": "Mallory", "confirm": "yes", "new_email": "mallory@example.net"}
    for what, token in wrong_tokens(public_id).items():
        answer = client.request("POST", f"/preferences?token={urllib.parse.quote(token)}", form(fields), FORM_TYPE)
        assert answer.status == 404, what
        assert "Ada" not in answer.body and "{" not in answer.body.lstrip()[:1], what  # no data of theirs in the answer
    subscriber, topics, _ = standing(workspace)
    assert subscriber is not None and subscriber.status == Status.ACTIVE and subscriber.name == "Ada"
    assert topics == {"weekly": True, "deep": True}


def test_a_preference_action_without_the_pages_token_changes_nothing(client: Client, workspace: Path) -> None:
    path = f"/preferences?token={make_token(reader(workspace), Purpose.PREFERENCES, signing_keys('outbox').current)}"
    for action in ("topics", "name", "address", "unsubscribe", "download", "erase"):
        answer = client.request(
            "POST", path, form({"action": action, "topics_offered": "1", "name": "Mallory", "confirm": "yes", "new_email": "mallory@example.net"}), FORM_TYPE
        )
        assert answer.status == 400, action
    subscriber, topics, _ = standing(workspace)
    assert subscriber is not None and subscriber.name == "Ada" and subscriber.status == Status.ACTIVE and topics == {"weekly": True, "deep": True}


# --- what the signup form may set -------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["vip", "Podcast", "podcast;vip", "podcast\nvip", "", " ", "pod\x00cast", "p" * 65])
def test_a_tag_outside_the_allow_list_refuses_the_signup(client: Client, workspace: Path, tag: str) -> None:
    assert client.subscribe("new@example.com", tags=tag).status == 400
    answer = client.request("POST", "/subscribe", json.dumps({"email": "new@example.com", "tags": ["podcast", tag]}).encode(), JSON_TYPE)
    assert answer.status == 400 and "error" in json.loads(answer.body)
    assert standing(workspace, "new@example.com")[0] is None


@pytest.mark.parametrize("value", [{"podcast": 1}, 7, [["podcast"]], [None], True])
def test_tags_or_topics_of_another_shape_refuse_the_signup(client: Client, workspace: Path, value: object) -> None:
    for field in ("tags", "topics"):
        answer = client.request("POST", "/subscribe", json.dumps({"email": "new@example.com", field: value}).encode(), JSON_TYPE)
        assert answer.status == 400, (field, value)
    assert standing(workspace, "new@example.com")[0] is None


def test_a_list_far_longer_than_any_form_is_refused_and_nothing_is_stored(client: Client, workspace: Path) -> None:
    for body in ({"topics": ["weekly"] * 10_000}, {"tags": ["podcast"] * 10_000}, {"topics": [f"t{i}" for i in range(5_000)]}):
        answer = client.request("POST", "/subscribe", json.dumps({"email": "new@example.com", **body}).encode(), JSON_TYPE)
        assert answer.status in (400, 413), answer.status
    page = client.get("/subscribe").body
    answer = client.request("POST", "/subscribe", form({"csrf_token": csrf_of(page), "email": "new@example.com", "topics": ["deep"] * 5_000}), FORM_TYPE)
    assert answer.status in (400, 413)
    assert standing(workspace, "new@example.com")[0] is None


def test_a_signup_for_someone_already_on_the_list_changes_none_of_their_choices(client: Client, workspace: Path) -> None:
    reader(workspace)
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.set_status([READER], Status.UNSUBSCRIBED)
    assert client.subscribe(READER, topics_offered="1", topics="weekly", tags="podcast").status == 200
    answer = client.request("POST", "/subscribe", json.dumps({"email": READER, "topics": ["weekly"], "tags": ["podcast"]}).encode(), {**JSON_TYPE, "Origin": SITE})
    assert answer.status == 202
    subscriber, topics, tags = standing(workspace)
    assert subscriber is not None and subscriber.status == Status.UNSUBSCRIBED and topics == {"weekly": True, "deep": True} and tags == []


# --- the Origin header ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [f"{SITE}.attacker.example", "https://attacker.example", "http://publication.example.net", f"{SITE}:444", "https://sub.publication.example.net", f"{SITE}/", " ,".join([SITE, "https://attacker.example"])],
)
def test_a_spoofed_or_lookalike_origin_is_forbidden(client: Client, workspace: Path, origin: str) -> None:
    answer = client.request("POST", "/subscribe", form({"email": "new@example.com"}), {**FORM_TYPE, "Origin": origin})
    assert answer.status == 403
    answer = client.request("POST", "/subscribe", json.dumps({"email": "new@example.com"}).encode(), {**JSON_TYPE, "Origin": origin})
    assert answer.status == 403
    preflight = client.request("OPTIONS", "/subscribe", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert preflight.headers.get("Access-Control-Allow-Origin") is None
    assert standing(workspace, "new@example.com")[0] is None


def test_a_form_with_no_origin_still_needs_the_csrf_token(client: Client, workspace: Path) -> None:
    for headers in (FORM_TYPE, {**FORM_TYPE, "Origin": "null"}):
        assert client.request("POST", "/subscribe", form({"email": "new@example.com"}), headers).status == 400
    assert standing(workspace, "new@example.com")[0] is None


def test_the_allowed_origin_opens_the_signup_and_nothing_else(client: Client, workspace: Path) -> None:
    path = f"/preferences?token={make_token(reader(workspace), Purpose.PREFERENCES, signing_keys('outbox').current)}"
    answer = client.request("POST", path, form({"action": "unsubscribe"}), {**FORM_TYPE, "Origin": SITE})
    assert answer.status == 400  # the preferences page still needs its own CSRF token
    assert standing(workspace)[0].status == Status.ACTIVE


# --- the data actions ---------------------------------------------------------------------------


@pytest.mark.parametrize("confirm", [None, "", "no", "YES", "yes "])
def test_erase_without_the_confirmation_step_erases_nothing(client: Client, workspace: Path, confirm: str | None) -> None:
    path = f"/preferences?token={make_token(reader(workspace), Purpose.PREFERENCES, signing_keys('outbox').current)}"
    fields = {"csrf_token": csrf_of(client.get(path).body), "action": "erase", **({"confirm": confirm} if confirm is not None else {})}
    answer = client.request("POST", path, form(fields), FORM_TYPE)
    assert answer.status == 200 and 'name="confirm" value="yes"' in answer.body  # the question, again
    assert standing(workspace)[0] is not None


def test_erase_from_a_get_or_a_link_scanner_erases_nothing(client: Client, workspace: Path) -> None:
    path = f"/preferences?token={make_token(reader(workspace), Purpose.PREFERENCES, signing_keys('outbox').current)}"
    for method in ("GET", "HEAD"):
        assert client.request(method, path + "&action=erase&confirm=yes").status == 200
    assert standing(workspace)[0] is not None


def test_a_download_with_a_forged_token_shows_no_data(client: Client, workspace: Path) -> None:
    public_id = reader(workspace)
    genuine = f"/preferences?token={make_token(public_id, Purpose.PREFERENCES, signing_keys('outbox').current)}"
    csrf = csrf_of(client.get(genuine).body)
    for what, token in wrong_tokens(public_id).items():
        answer = client.request("POST", f"/preferences?token={urllib.parse.quote(token)}", form({"csrf_token": csrf, "action": "download"}), FORM_TYPE)
        assert answer.status == 404 and READER not in answer.body and "Ada" not in answer.body, what
        assert "attachment" not in (answer.headers.get("Content-Disposition") or ""), what


@pytest.mark.slow
def test_a_readers_own_page_cannot_mail_strangers_in_bulk(serve: Callable[..., Client], workspace: Path) -> None:
    """Each new-address request mails the address typed in: one client gets subscribe_rate of them."""
    from tests.helpers.web import outbox

    client = serve(SETTINGS.replace('subscribe_rate = "100/minute"', 'subscribe_rate = "3/minute"'))
    path = f"/preferences?token={make_token(reader(workspace), Purpose.PREFERENCES, signing_keys('outbox').current)}"
    csrf = csrf_of(client.get(path).body)
    answers = [
        client.request("POST", path, form({"csrf_token": csrf, "action": "address", "new_email": f"victim{n}@example.net"}), FORM_TYPE).status for n in range(8)
    ]
    assert answers[:3] == [200, 200, 200] and set(answers[3:]) == {429}
    mailed = [m["To"] for m in outbox(workspace) if m["To"].startswith("victim")]
    # At most the three allowed; a request the next one replaced before its link went out gets none.
    assert len(mailed) <= 3 and "victim2@example.net" in mailed
    assert client.request("POST", path, form({"csrf_token": csrf, "action": "name", "name": "Ada L."}), FORM_TYPE).status == 200  # the page's other forms still work
