"""The audience on the reader's side: topics and tags on the signup form (and its JSON), the
preferences page (topics, name, leaving), the unsubscribe link of an issue of one topic, and the
form posted from the publication's own site ([web] allowed_origins). Driven through Flask's test
client, as a reader's browser (or the publication's page) would."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest
from flask import Flask

from newsletter.db import Database
from newsletter.mail.links import Purpose, make_dated_token, make_token
from newsletter.models import Status, Subscriber
from newsletter.web import create_app
from newsletter.web.extensions import limiter
from newsletter.workspace.credentials import signing_keys
from tests.helpers.cli import run
from tests.helpers.web import TWO_TOPICS
from tests.helpers.workspace import add_config

READER = "reader@example.com"
SITE = "https://publication.example.net"
TOPICS = TWO_TOPICS
WEB = f"""
[web]
address_rate = "50/hour"
allowed_tags = ["podcast", "spring fair"]
allowed_origins = ["{SITE}"]
"""
DEFAULTS = {"weekly": True, "deep": False}


@pytest.fixture
def app_for(flask_app):
    def make(workspace: Path, settings: str = TOPICS + WEB) -> Flask:
        add_config(workspace, settings)
        return flask_app(workspace)

    return make


def database(workspace: Path) -> Database:
    return Database(workspace / "subscribers.db")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def signup_form(client) -> str:
    answer = client.get("/subscribe")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def post_signup(client, **fields) -> tuple[int, str]:
    token = csrf_of(signup_form(client))
    answer = client.post("/subscribe", data={"csrf_token": token, **fields})
    return answer.status_code, answer.get_data(as_text=True)


def stored(workspace: Path, email: str = READER) -> tuple[Subscriber | None, dict[str, bool], list[str]]:
    """The subscriber, the topics they get and their tags."""
    with database(workspace) as db:
        return db.subscribers.get(email), db.audience.topics(email, DEFAULTS), db.audience.tags(email)


# --- the signup form ------------------------------------------------------------------------------


def test_the_form_lists_each_topic_with_its_description_and_ticks_the_defaults(workspace: Path, app_for) -> None:
    html = signup_form(app_for(workspace).test_client())
    assert re.search(r'<input type="checkbox" id="topic-weekly" name="topics" value="weekly" checked', html)
    assert re.search(r'<input type="checkbox" id="topic-deep" name="topics" value="deep"(?! checked)', html)
    assert "The Weekly" in html and "Every Friday, the week in five stories." in html and "One long read a month." in html


def test_a_workspace_without_topics_shows_the_form_as_before(workspace: Path, app_for) -> None:
    html = signup_form(app_for(workspace, "").test_client())
    assert "checkbox" not in html and "topics_offered" not in html


def test_a_link_with_an_allowed_tag_carries_it_into_the_form_and_leaves_any_other_out(workspace: Path, app_for) -> None:
    html = app_for(workspace).test_client().get("/subscribe?tags=podcast&tags=vip").get_data(as_text=True)
    assert '<input type="hidden" name="tags" value="podcast">' in html and "vip" not in html


def test_a_new_signup_keeps_the_topics_ticked_and_the_allowed_tags(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    status, _ = post_signup(client, email=READER, topics_offered="1", topics="deep", tags="podcast")
    assert status == 200
    subscriber, topics, tags = stored(workspace)
    assert subscriber is not None and subscriber.status == Status.PENDING
    assert topics == {"weekly": False, "deep": True} and tags == ["podcast"]
    with database(workspace) as db:  # an explicit choice for every topic: a later default change does not move them
        assert db.audience.topics(READER, {"weekly": True, "deep": True}) == {"weekly": False, "deep": True}


def test_a_json_signup_takes_lists_of_topics_and_tags(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    answer = client.post("/subscribe", json={"email": READER, "topics": ["weekly", "deep"], "tags": ["spring fair", "podcast"]})
    assert answer.status_code == 202
    _, topics, tags = stored(workspace)
    assert topics == {"weekly": True, "deep": True} and tags == ["podcast", "spring fair"]


def test_a_signup_that_names_no_topic_gets_each_topics_default(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    assert client.post("/subscribe", json={"email": READER}).status_code == 202
    with database(workspace) as db:
        assert db.audience.topics(READER, {"weekly": False, "deep": True}) == DEFAULTS  # recorded, not left to the defaults


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"tags": "vip"}, "The tag “vip” cannot be set from this form."),
        ({"topics": "gossip"}, "“gossip” is not one of the topics offered here."),
        ({"topics_offered": "1"}, "Choose at least one topic."),
    ],
)
def test_a_choice_the_form_does_not_offer_is_refused_and_nothing_is_stored(workspace: Path, app_for, fields: dict[str, str], words: str) -> None:
    client = app_for(workspace).test_client()
    status, html = post_signup(client, email=READER, **fields)
    assert status == 400 and words in html
    assert 'role="alert"' in html and f'value="{READER}"' in html  # the form again, with what was typed
    assert stored(workspace)[0] is None
    as_json = {key: [value] for key, value in fields.items() if key != "topics_offered"} or {"topics": []}  # ticking none: an empty list
    answer = client.post("/subscribe", json={"email": READER, **as_json})
    assert answer.status_code == 400 and answer.get_json() == {"error": words}
    assert stored(workspace)[0] is None


def test_a_json_list_of_anything_but_names_is_refused(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    answer = client.post("/subscribe", json={"email": READER, "tags": [{"podcast": True}]})
    assert answer.status_code == 400 and "lists of names" in answer.get_json()["error"]
    assert stored(workspace)[0] is None


def test_a_known_address_keeps_its_topics_and_tags_and_gets_the_same_answer(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    first = post_signup(client, email=READER, topics_offered="1", topics="weekly")
    with database(workspace) as db:
        db.subscribers.set_status([READER], Status.ACTIVE)
    again = post_signup(client, email=READER, topics_offered="1", topics="deep", tags="podcast", name="Someone Else")
    assert again == first  # the same page, word for word
    subscriber, topics, tags = stored(workspace)
    assert subscriber is not None and subscriber.status == Status.ACTIVE and subscriber.name is None
    assert topics == {"weekly": True, "deep": False} and tags == []


# --- the preferences page ----------------------------------------------------------------------


def active_reader(workspace: Path, topics: dict[str, bool] | None = None) -> str:
    """An active reader (with `topics` chosen); their preferences page."""
    with database(workspace) as db:
        db.subscribers.upsert([Subscriber(READER, "Ada")])
        if topics:
            db.audience.choose_topics(READER, topics)
        public_id = db.subscribers.get(READER).public_id
    return f"/preferences?token={make_token(public_id, Purpose.PREFERENCES, signing_keys('outbox').current)}"


def test_the_preferences_page_shows_the_readers_topics_and_switches_one_off(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    path = active_reader(workspace, {"weekly": True, "deep": True})
    html = client.get(path).get_data(as_text=True)
    assert re.search(r'id="topic-weekly" name="topics" value="weekly" checked', html) and re.search(r'id="topic-deep" name="topics" value="deep" checked', html)
    answer = client.post(path, data={"csrf_token": csrf_of(html), "action": "topics", "topics_offered": "1", "topics": "deep"})
    assert answer.status_code == 200 and "Your choice of topics is saved." in answer.get_data(as_text=True)
    subscriber, topics, _ = stored(workspace)
    assert topics == {"weekly": False, "deep": True} and subscriber is not None and subscriber.status == Status.ACTIVE
    with database(workspace) as db:  # the history says which topic they left, and where
        assert (Status.UNSUBSCRIBED, "preferences", "left topic weekly") in [change[:3] for change in db.subscribers.changes(READER)]


def test_a_reader_may_switch_every_topic_off_but_not_choose_one_that_does_not_exist(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    path = active_reader(workspace)
    token = csrf_of(client.get(path).get_data(as_text=True))
    assert client.post(path, data={"csrf_token": token, "action": "topics", "topics_offered": "1"}).status_code == 200
    assert stored(workspace)[1] == {"weekly": False, "deep": False}
    answer = client.post(path, data={"csrf_token": token, "action": "topics", "topics": ["deep", "gossip"]})
    assert answer.status_code == 400 and "“gossip” is not one of the topics offered here." in answer.get_data(as_text=True)
    assert stored(workspace)[1] == {"weekly": False, "deep": False}


def test_a_reader_changes_their_name(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    path = active_reader(workspace)
    token = csrf_of(client.get(path).get_data(as_text=True))
    answer = client.post(path, data={"csrf_token": token, "action": "name", "name": "  Ada   King "})
    assert "Your name is saved." in answer.get_data(as_text=True) and 'value="Ada King"' in answer.get_data(as_text=True)
    assert stored(workspace)[0].name == "Ada King"
    refused = client.post(path, data={"csrf_token": token, "action": "name", "name": "x" * 300})
    assert refused.status_code == 400 and stored(workspace)[0].name == "Ada King"
    client.post(path, data={"csrf_token": token, "action": "name", "name": ""})
    assert stored(workspace)[0].name is None


def test_leaving_everything_from_the_preferences_page_unsubscribes(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    path = active_reader(workspace)
    html = client.get(path).get_data(as_text=True)
    assert "Unsubscribe from everything" in html
    client.post(path, data={"csrf_token": csrf_of(html), "action": "unsubscribe"})
    assert stored(workspace)[0].status == Status.UNSUBSCRIBED


def test_a_preferences_post_without_the_pages_token_changes_nothing(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    path = active_reader(workspace)
    assert client.post(path, data={"action": "topics", "topics_offered": "1"}).status_code == 400
    assert stored(workspace)[1] == DEFAULTS


# --- the unsubscribe link of an issue of one topic ----------------------------------------------


def issue_of(workspace: Path, issue: str, topic: str | None) -> None:
    with database(workspace) as db, db.transaction():
        db.ledger.record_issue(issue, f"issues/{issue}.yaml", "A subject", "fingerprint")
        db.connection.db.execute("UPDATE issues SET topic = ? WHERE issue = ?", (topic, issue))  # what a send of a topic's issue records


def unsubscribe_path(workspace: Path, issue: str | None) -> str:
    from newsletter.mail.links import signer

    with database(workspace) as db:
        public_id = db.subscribers.get(READER).public_id
    return f"/unsubscribe?token={signer(Purpose.UNSUBSCRIBE, signing_keys('outbox').current, issue)(public_id)}"


def test_one_click_from_an_issue_of_a_topic_leaves_that_topic_only_then_offers_everything(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    active_reader(workspace, {"weekly": True, "deep": True})
    issue_of(workspace, "12", "deep")
    path = unsubscribe_path(workspace, "12")

    asked = client.get(path).get_data(as_text=True)
    assert "Stop sending “Deep Dives” to r***@example.com?" in asked and stored(workspace)[1] == {"weekly": True, "deep": True}
    answer = client.post(path, data={"List-Unsubscribe": "One-Click"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "will not receive “Deep Dives” any more" in html
    subscriber, topics, _ = stored(workspace)
    assert subscriber.status == Status.ACTIVE and topics == {"weekly": True, "deep": False}
    with database(workspace) as db:  # the report credits the issue: an unsubscribe naming it
        rows = db.connection.db.execute("SELECT status, channel, detail, issue FROM status_changes WHERE email = ? AND issue IS NOT NULL", (READER,)).fetchall()
    assert [tuple(row) for row in rows] == [("unsubscribed", "one-click", "left topic deep", "12")]

    # The second step: the page's button, the same link.
    assert re.search(r'<input type="hidden" name="everything" value="1">', html) and "Unsubscribe from everything" in html
    client.post(path, data={"everything": "1"})
    assert stored(workspace)[0].status == Status.UNSUBSCRIBED


def test_a_link_from_an_issue_without_a_topic_unsubscribes_from_everything_as_before(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    active_reader(workspace)
    issue_of(workspace, "11", None)
    for path in (unsubscribe_path(workspace, "11"), unsubscribe_path(workspace, None)):
        assert "Stop sending “Fixture Weekly”" in client.get(path).get_data(as_text=True)
    client.post(unsubscribe_path(workspace, "11"), data={"List-Unsubscribe": "One-Click"})
    assert stored(workspace)[0].status == Status.UNSUBSCRIBED


def test_without_topics_an_issue_link_unsubscribes_from_everything(workspace: Path, app_for) -> None:
    client = app_for(workspace, "").test_client()
    active_reader(workspace)
    issue_of(workspace, "12", "deep")  # a topic the workspace no longer has
    client.post(unsubscribe_path(workspace, "12"), data={"List-Unsubscribe": "One-Click"})
    assert stored(workspace)[0].status == Status.UNSUBSCRIBED


# --- the form on the publication's own site ([web] allowed_origins) ------------------------------


def test_a_form_posted_from_an_allowed_origin_needs_no_token_of_ours(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    answer = client.post("/subscribe", data={"email": READER, "topics_offered": "1", "topics": "deep", "tags": "podcast"}, headers={"Origin": SITE})
    assert answer.status_code == 200 and "Check your inbox" in answer.get_data(as_text=True)
    assert stored(workspace)[1:] == ({"weekly": False, "deep": True}, ["podcast"])


@pytest.mark.parametrize("origin", ["https://elsewhere.example.com", f"{SITE}.evil.example", "http://publication.example.net", f"{SITE}:8443"])
def test_a_form_posted_from_any_other_origin_is_forbidden(workspace: Path, app_for, origin: str) -> None:
    client = app_for(workspace).test_client()
    token = csrf_of(signup_form(client))
    answer = client.post("/subscribe", data={"csrf_token": token, "email": READER}, headers={"Origin": origin})
    assert answer.status_code == 403
    assert client.post("/subscribe", json={"email": READER}, headers={"Origin": origin}).status_code == 403
    assert stored(workspace)[0] is None


def test_our_own_pages_still_need_the_token(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    for headers in ({}, {"Origin": "null"}, {"Origin": "https://fixture.example.org"}):
        assert client.post("/subscribe", data={"email": READER}, headers=headers).status_code == 400
    assert stored(workspace)[0] is None


def test_the_json_signup_answers_the_publications_preflight_and_no_one_elses(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = client.options("/subscribe", headers={"Origin": SITE, **ask})
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == SITE
    assert "content-type" in allowed.headers["Access-Control-Allow-Headers"].lower()
    other = client.options("/subscribe", headers={"Origin": "https://elsewhere.example.com", **ask})
    assert "Access-Control-Allow-Origin" not in other.headers
    answer = client.post("/subscribe", json={"email": READER, "topics": ["weekly"]}, headers={"Origin": SITE})
    assert answer.status_code == 202 and answer.headers["Access-Control-Allow-Origin"] == SITE
    assert "Access-Control-Allow-Credentials" not in answer.headers  # no cookie of ours crosses
    assert "Access-Control-Allow-Origin" not in client.options("/preferences", headers={"Origin": SITE, **ask}).headers


def test_without_allowed_origins_no_page_elsewhere_may_call_the_signup(workspace: Path, app_for) -> None:
    client = app_for(workspace, TOPICS).test_client()
    preflight = client.options("/subscribe", headers={"Origin": SITE, "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert client.post("/subscribe", data={"email": READER}, headers={"Origin": SITE}).status_code == 403


def test_a_confirmation_token_does_not_open_the_preferences(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    active_reader(workspace)
    with database(workspace) as db:
        public_id = db.subscribers.get(READER).public_id
    confirm = make_dated_token(public_id, Purpose.CONFIRM, signing_keys("outbox").current, 1_700_000_000)
    assert client.get(f"/preferences?token={confirm}").status_code == 404


# --- `newsletter form`: the form for the publication's site ------------------------------------


def submitted(html: str, email: str) -> dict[str, list[str]]:
    """What a browser posts from the printed form with `email` typed and the boxes as they come."""
    document = lxml.html.fragment_fromstring(html, create_parent="div")
    (form,) = document.xpath("//form")
    fields: dict[str, list[str]] = {}
    for field in form.xpath(".//input"):
        if field.get("type") == "checkbox" and field.get("checked") is None:
            continue
        fields.setdefault(field.get("name"), []).append(email if field.get("name") == "email" else field.get("value", ""))
    return fields


def test_the_printed_form_posted_from_the_publications_site_signs_a_reader_up(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    printed = run("form", "--no-script", "--tag", "spring fair", cwd=workspace, ok=True).stdout
    assert "<script" not in printed and 'action="https://fixture.example.org/subscribe"' in printed
    assert 'value="weekly" checked> The Weekly' in printed and 'value="deep"> Deep Dives' in printed and "One long read a month." in printed
    answer = client.post("/subscribe", data=submitted(printed, READER), headers={"Origin": SITE})
    assert answer.status_code == 200 and "Check your inbox" in answer.get_data(as_text=True)
    assert stored(workspace)[1:] == (DEFAULTS, ["spring fair"])


def test_the_printed_forms_script_sends_what_the_json_signup_reads(workspace: Path, app_for) -> None:
    app_for(workspace)
    printed = run("form", cwd=workspace, ok=True).stdout
    assert 'fetch(form.action, {method: "POST", headers: {"Content-Type": "application/json"}' in printed
    assert "body.topics = data.getAll(\"topics\")" in printed and "tags: data.getAll(\"tags\")" in printed
    assert '"If {email} can be subscribed' in printed  # the app's own words, filled in the page
    assert "Tags it may set (add a hidden field named tags for each): podcast, spring fair" in printed


def test_the_form_refuses_a_tag_the_app_would_refuse(workspace: Path, app_for) -> None:
    app_for(workspace)
    result = run("form", "--tag", "vip", cwd=workspace)
    assert result.exit_code == 2 and "vip: not in [web] allowed_tags" in result.output and "<form" not in result.output


def test_the_form_says_when_no_site_may_post_it(workspace: Path, app_for) -> None:
    app_for(workspace, TOPICS)
    result = run("form", cwd=workspace, ok=True)
    assert "[web] allowed_origins is empty" in result.stderr and "<form" in result.stdout


# --- the reader's data: download and erase ---------------------------------------------------------


def test_a_reader_downloads_everything_the_list_holds_about_them(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    path = active_reader(workspace, {"weekly": False, "deep": True})
    with database(workspace) as db:
        db.audience.tag([READER], add=["podcast"])
    answer = client.post(path, data={"csrf_token": csrf_of(client.get(path).get_data(as_text=True)), "action": "download"})
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json; charset=utf-8"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    story = answer.get_json(force=True)
    assert story["email"] == READER and story["name"] == "Ada" and story["status"] == "active"
    assert story["topics"] == {"weekly": False, "deep": True} and story["tags"] == ["podcast"]


def test_erasing_asks_first_and_erases_only_on_the_second_post(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    path = active_reader(workspace)
    token = csrf_of(client.get(path).get_data(as_text=True))
    asked = client.post(path, data={"csrf_token": token, "action": "erase"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Erase your data?" in html and "cannot be undone" in html
    assert '<input type="hidden" name="confirm" value="yes">' in html
    assert stored(workspace)[0] is not None  # asked, not erased
    erased = client.post(path, data={"csrf_token": csrf_of(html), "action": "erase", "confirm": "yes"})
    assert erased.status_code == 200 and "Your data is erased" in erased.get_data(as_text=True)
    assert stored(workspace)[0] is None
    with database(workspace) as db:
        assert db.audience.suppression(READER) is not None  # no import brings them back
    assert client.get(path).status_code == 404  # the link leads nowhere now


# --- consent ---------------------------------------------------------------------------------------


def consent_of(workspace: Path, email: str = READER):
    with database(workspace) as db:
        return db.audience.consent(email)


def test_a_signup_records_where_the_reader_consented_and_the_version_of_the_forms_words(workspace: Path, app_for) -> None:
    client = app_for(workspace).test_client()
    assert post_signup(client, email=READER, topics_offered="1", topics="weekly")[0] == 200
    ours = consent_of(workspace)
    assert ours is not None and ours.method == "form" and ours.source == "https://fixture.example.org/subscribe"
    assert ours.text_version is not None and re.fullmatch(r"[0-9a-f]{16}", ours.text_version)
    answer = client.post("/subscribe", data={"email": "other@example.com", "topics_offered": "1", "topics": "deep"}, headers={"Origin": SITE})
    assert answer.status_code == 200
    theirs = consent_of(workspace, "other@example.com")
    assert theirs is not None and theirs.source == SITE and theirs.text_version == ours.text_version  # the same words, on their site


def test_new_words_on_the_form_are_a_new_version_of_the_consent(workspace: Path, app_for) -> None:
    from newsletter.subscribers.rules import consent_text_version

    client = app_for(workspace).test_client()
    post_signup(client, email=READER, topics_offered="1", topics="weekly")
    before = consent_of(workspace)
    assert before is not None
    words = {"subscribe_intro": "Get {name} by email."}
    topics = {"weekly": ("The Weekly", "Every Friday, the week in five stories.")}
    assert consent_text_version(words, "Fixture Weekly", topics) != consent_text_version({"subscribe_intro": "Get {name} every week."}, "Fixture Weekly", topics)
    assert consent_text_version(words, "Fixture Weekly", topics) != consent_text_version(words, "Fixture Weekly", {"weekly": ("The Weekly", "Every Monday.")})
    add_config(workspace, '[labels]\nsubscribe_intro = "Sign up for {name}, sent each Friday."\n')
    other = create_app(workspace)
    try:
        limiter.reset()
        post_signup(other.test_client(), email="later@example.com", topics_offered="1", topics="weekly")
    finally:
        other.extensions["newsletter"].sender.stop()
    later = consent_of(workspace, "later@example.com")
    assert later is not None and later.text_version != before.text_version
