"""The REST API (/api/v1/) as an integration uses it, on both databases: tokens from the command
line, upserts that never re-activate a reader who left, pages of a segment, tags, erasure, the
issues' ledger, scheduling and cancelling, test copies. Every answer is checked against the OpenAPI
document the app serves, and one walk reaches every documented route."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from newsletter.models import Status
from newsletter.web import create_app
from newsletter.web.extensions import limiter
from newsletter.web.server import start
from tests.helpers.api import ApiClient, make_token
from tests.helpers.both_databases import BOTH, database, database_env
from tests.helpers.cli import run
from tests.helpers.web import Client, link_in, outbox
from tests.helpers.workspace import add_config

CONFIRM_LINK = r"https://fixture\.example\.org/confirm/\S+"
ISSUE = "7"  # the fixture issue's number


@pytest.fixture(params=BOTH)
def env(request, monkeypatch) -> Mapping[str, str]:
    found = database_env(request)
    for name, value in found.items():
        monkeypatch.setenv(name, value)
    return found


@pytest.fixture
def served(workspace: Path, env: Mapping[str, str]) -> Iterator[Client]:
    """The app on loopback (on the database `env` names), rate-limit counters at zero."""
    add_config(workspace, '[api]\nrate_limit = "1000/minute"\n')
    app = create_app(workspace)
    limiter.reset()
    running = start(app, "127.0.0.1", 0)
    yield Client(running.url)
    running.stop()
    app.extensions["newsletter"].sender.stop()


@pytest.fixture
def api(served: Client, workspace: Path, env: Mapping[str, str]) -> ApiClient:
    return ApiClient(served, make_token(workspace, "zapier", env=env))


def path_of(email: str) -> str:
    return "/api/v1/subscribers/" + urllib.parse.quote(email, safe="@")


def test_the_document_is_valid_openapi_and_every_route_answers_as_it_says(api: ApiClient, workspace: Path, env) -> None:
    validate(api.document)
    assert api.document["openapi"].startswith("3.1")
    walk_every_route(api, workspace, env)
    missing = api.documented() - api.reached
    assert not missing, f"documented routes no test reached: {sorted(missing)}"


def walk_every_route(api: ApiClient, workspace: Path, env) -> None:
    assert api.call("get", "/api/v1/openapi.json")[0] == 200
    assert api.call("post", "/api/v1/subscribers", {"email": "Ada@Example.com", "name": "Ada", "tags": ["vip"]})[0] == 201
    assert api.call("put", path_of("bob@example.com"), {"attributes": {"country": "DE"}})[0] == 201
    assert api.call("get", path_of("ada@example.com"))[0] == 200
    assert api.call("get", "/api/v1/subscribers?segment=tag:vip")[0] == 200
    assert api.call("post", path_of("ada@example.com") + "/tags", {"add": ["paid"], "remove": ["vip"]})[0] == 200
    assert api.call("delete", path_of("bob@example.com"))[0] == 200
    assert api.call("get", "/api/v1/issues")[0] == 200
    assert api.call("get", f"/api/v1/issues/{ISSUE}")[0] == 200
    assert api.call("post", f"/api/v1/issues/{ISSUE}/schedule", {"at": "2031-05-01T08:00:00+00:00"})[0] == 201
    assert api.call("delete", f"/api/v1/issues/{ISSUE}/schedule")[0] == 200
    assert api.call("post", f"/api/v1/issues/{ISSUE}/test", {"addresses": ["proof@example.com"]})[0] == 200
    # and the refusals each documents
    assert api.call("get", path_of("nobody@example.com"))[0] == 404
    assert api.call("get", "/api/v1/issues", token="")[0] == 401
    assert api.call("get", "/api/v1/subscribers?limit=0")[0] == 422
    assert api.call("put", path_of("x@example.com"), raw=b"name=x", headers={"Content-Type": "application/x-www-form-urlencoded"})[0] == 415
    reader = make_token(workspace, "reader", "subscribers:read", env=env)
    assert api.call("delete", path_of("ada@example.com"), token=reader)[0] == 403


def test_a_new_address_is_active_at_once_with_its_consent_recorded_as_the_apis(api: ApiClient, workspace: Path, env) -> None:
    status, found, _ = api.call("put", path_of("New@Example.com"), {"name": "New Reader", "tags": ["vip"], "attributes": {"plan": "pro"}})
    assert status == 201 and found["created"] and not found["confirmation_queued"]
    assert found["subscriber"]["status"] == "active" and found["subscriber"]["email"] == "new@example.com"
    with database(workspace, env) as db:
        consent = db.audience.consent("new@example.com")
        assert consent is not None and (consent.method, consent.source) == ("api", "zapier")
        assert db.audience.tags("new@example.com") == ["vip"]
        events = [(event.type, event.data.get("channel")) for event in db.event_outbox.recent(10)]
        assert ("subscriber.created", "api") in events and ("subscriber.tagged", None) in events  # webhooks and automations hear of it
    status, found, _ = api.call("put", path_of("new@example.com"), {"attributes": {"country": "FR"}, "tags": ["paid"]})
    assert status == 200 and not found["created"]
    assert found["subscriber"]["attributes"] == {"plan": "pro", "country": "FR"} and found["subscriber"]["tags"] == ["paid", "vip"]
    assert found["subscriber"]["name"] == "New Reader"  # a name left out is kept


@pytest.mark.slow
@pytest.mark.parametrize("left", [Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED])
def test_an_upsert_never_reactivates_someone_who_left_it_sends_the_confirmation(api: ApiClient, workspace: Path, env, left: Status) -> None:
    assert api.call("put", path_of("gone@example.com"), {})[0] == 201
    with database(workspace, env) as db:
        db.subscribers.set_status(["gone@example.com"], left)
    status, found, _ = api.call("put", path_of("gone@example.com"), {"name": "Back Again"})
    assert status == 200
    assert found["subscriber"]["status"] == left.value and found["confirmation_queued"] is True
    assert "never makes them active again" in found["note"]
    confirmations = [m for m in outbox(workspace) if m["To"].addresses[0].addr_spec == "gone@example.com"]
    assert len(confirmations) == 1 and confirmations[0]["Subject"].startswith("Confirm")
    with database(workspace, env) as db:
        assert db.subscribers.get("gone@example.com").status == left  # still, until they confirm
    link = link_in(confirmations[0], CONFIRM_LINK)
    assert api.client.request("POST", link).status == 200
    with database(workspace, env) as db:
        assert db.subscribers.get("gone@example.com").status == Status.ACTIVE


def test_double_opt_in_keeps_a_new_address_pending_until_it_confirms(api: ApiClient, workspace: Path, env) -> None:
    status, found, _ = api.call("post", "/api/v1/subscribers", {"email": "careful@example.com", "double_opt_in": True})
    assert status == 201 and found["subscriber"]["status"] == "pending" and found["confirmation_queued"]
    assert [m["To"].addresses[0].addr_spec for m in outbox(workspace)] == ["careful@example.com"]


def test_a_segment_is_read_page_by_page_with_an_opaque_cursor(api: ApiClient, workspace: Path, env) -> None:
    for n in range(5):
        api.call("put", path_of(f"reader{n}@example.com"), {"tags": ["vip"] if n % 2 == 0 else [], "attributes": {"country": "DE" if n < 3 else "FR"}})
    seen, cursor = [], None
    while True:
        query = urllib.parse.urlencode({"segment": 'tag:vip or attr.country = "FR"', "limit": 2, **({"cursor": cursor} if cursor else {})})
        status, found, _ = api.call("get", f"/api/v1/subscribers?{query}")
        assert status == 200 and len(found["subscribers"]) <= 2
        seen += [item["email"] for item in found["subscribers"]]
        cursor = found["next_cursor"]
        if cursor is None:
            break
        assert "reader" not in cursor  # opaque
    assert seen == ["reader0@example.com", "reader2@example.com", "reader3@example.com", "reader4@example.com"]
    assert api.call("get", "/api/v1/subscribers?segment=tag:vip&status=active")[1]["subscribers"][0]["tags"] == ["vip"]
    status, found, _ = api.call("get", "/api/v1/subscribers?segment=" + urllib.parse.quote("tag:vip and"))
    assert status == 422 and found["errors"][0]["parameter"] == "segment" and "^" in found["detail"]
    assert api.call("get", "/api/v1/subscribers?cursor=bm90LWEtY3Vyc29y")[1]["errors"][0]["parameter"] == "cursor"


def test_tags_are_added_and_removed_and_erasure_is_the_commands(api: ApiClient, workspace: Path, env) -> None:
    api.call("put", path_of("ada@example.com"), {"tags": ["vip", "beta"]})
    status, found, _ = api.call("post", path_of("ada@example.com") + "/tags", {"add": ["paid"], "remove": ["beta"]})
    assert status == 200 and found["tags"] == ["paid", "vip"]
    status, found, _ = api.call("post", path_of("ada@example.com") + "/tags", {"add": ["x"], "remove": ["x"]})
    assert status == 422 and "both added and removed" in found["detail"]
    assert api.call("post", path_of("nobody@example.com") + "/tags", {"add": ["x"]})[0] == 404
    assert api.call("delete", path_of("ada@example.com"))[0] == 200
    with database(workspace, env) as db:
        assert db.subscribers.get("ada@example.com") is None
        assert db.audience.suppression("ada@example.com") is not None
    status, found, _ = api.call("put", path_of("ada@example.com"), {"name": "Ada"})
    assert status == 409 and "suppressed" in found["detail"]  # an erasure is not undone by an integration
    assert api.call("delete", path_of("ada@example.com"))[0] == 404


def test_a_topic_the_workspace_lacks_is_named(api: ApiClient) -> None:
    status, found, _ = api.call("put", path_of("ada@example.com"), {"topics": {"weekly": True}})
    assert status == 422 and found["errors"][0]["pointer"] == "/topics/weekly"


@pytest.mark.slow
def test_an_issue_is_scheduled_listed_cancelled_and_test_sent(api: ApiClient, workspace: Path, env) -> None:
    api.call("put", path_of("reader@example.com"), {})
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(microsecond=0)
    status, found, _ = api.call("post", f"/api/v1/issues/{ISSUE}/schedule", {"at": at.isoformat()})
    assert status == 201 and found == {"issue": ISSUE, "send_at": at.isoformat(), "provider": "outbox", "held_by": "here"}
    listed = api.call("get", "/api/v1/issues")[1]["issues"]
    assert [(i["key"], i["file"], i["ledger"]["scheduled"], i["schedule"]["send_at"]) for i in listed] == [(ISSUE, "issues/2026-12-01.yaml", 1, at.isoformat())]
    result = run("status", workspace / "issues" / "2026-12-01.yaml", cwd=workspace, env=env, ok=True)
    assert "held here" in result.output  # the command line sees the same schedule
    status, found, _ = api.call("post", f"/api/v1/issues/{ISSUE}/schedule", {"at": (at + dt.timedelta(hours=1)).isoformat()})
    assert status == 409 and "already scheduled" in found["detail"]
    status, found, _ = api.call("get", f"/api/v1/issues/{ISSUE}")
    assert status == 200 and found["ledger"]["scheduled"] == 1 and found["report"]["issue"] == ISSUE and found["schedule"]["held_by"] == "here"
    status, found, _ = api.call("delete", f"/api/v1/issues/{ISSUE}/schedule")
    assert status == 200 and (found["recipients"], found["state"]) == (1, "pending")
    assert api.call("delete", f"/api/v1/issues/{ISSUE}/schedule")[0] == 404
    status, found, _ = api.call("post", f"/api/v1/issues/{ISSUE}/schedule", {"at": "2020-01-01T00:00:00+00:00"})
    assert status == 422 and found["errors"][0]["pointer"] == "/at"
    status, found, _ = api.call("post", f"/api/v1/issues/{ISSUE}/schedule", {"at": "2031-01-01T08:00:00"})
    assert status == 422 and found["errors"][0]["pointer"] == "/at"  # a time without its offset is ambiguous
    status, found, _ = api.call("post", f"/api/v1/issues/{ISSUE}/test", {"addresses": ["proof@example.com", "PROOF@example.com"]})
    assert status == 200 and found["copies"] == [{"address": "proof@example.com", "sent": True, "problem": None}]
    assert len(list((workspace / "outbox" / "test" / "new").iterdir())) == 1
    assert api.call("get", "/api/v1/issues/8")[0] == 404


def test_a_token_does_only_what_its_scopes_allow(served: Client, workspace: Path, env) -> None:
    reader = ApiClient(served, make_token(workspace, "reader", "subscribers:read,issues:read", env=env))
    status, found, answer = reader.call("put", path_of("ada@example.com"), {})
    assert status == 403 and "subscribers:write" in found["detail"] and "insufficient_scope" in answer.headers["WWW-Authenticate"]
    assert reader.call("post", f"/api/v1/issues/{ISSUE}/test", {"addresses": ["a@example.com"]})[0] == 403
    assert reader.call("get", "/api/v1/issues")[0] == 200


def test_api_tokens_are_shown_once_listed_without_themselves_and_revoked(served: Client, workspace: Path, env) -> None:
    token = make_token(workspace, "crm", "subscribers:read", env=env)
    assert token.startswith("nl_") and len(token) > 40
    listed = run("api-token", "list", cwd=workspace, env=env, ok=True).output
    assert "crm" in listed and "subscribers:read" in listed and "last used never" in listed and token not in listed
    client = ApiClient(served, token)
    assert client.call("get", "/api/v1/subscribers")[0] == 200
    assert "last used never" not in run("api-token", "list", cwd=workspace, env=env, ok=True).output
    assert run("api-token", "revoke", "crm", cwd=workspace, env=env, ok=True).exit_code == 0
    status, _, answer = client.call("get", "/api/v1/subscribers")
    assert status == 401 and 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    refused = run("api-token", "create", "bad", "--scopes", "subscribers:read,subscribers:delete", cwd=workspace, env=env)
    assert refused.exit_code != 0 and "'subscribers:delete' is not a scope" in refused.output and "nl_" not in refused.output
    assert run("api-token", "revoke", "crm", cwd=workspace, env=env).exit_code != 0
    assert run("api-token", "create", "twice", "--scopes", "issues:read", cwd=workspace, env=env, ok=True)
    again = run("api-token", "create", "twice", "--scopes", "issues:read", cwd=workspace, env=env)
    assert again.exit_code != 0 and "exists" in again.output


def test_the_rate_limit_counts_each_token_alone(workspace: Path, env) -> None:
    add_config(workspace, '[api]\nrate_limit = "3/minute"\n')
    app = create_app(workspace)
    limiter.reset()
    running = start(app, "127.0.0.1", 0)
    try:
        one = ApiClient(Client(running.url), make_token(workspace, "one", env=env))
        two = ApiClient(Client(running.url), make_token(workspace, "two", env=env), document=one.document)
        statuses = [one.call("get", "/api/v1/issues")[0] for _ in range(4)]
        assert statuses[:2] == [200, 200] and statuses[-1] == 429  # the document's own GET counted against this client, not the token
        status, found, answer = one.call("get", "/api/v1/issues")
        assert status == 429 and int(answer.headers["Retry-After"]) > 0 and found["type"] == "about:blank"
        assert two.call("get", "/api/v1/issues")[0] == 200
    finally:
        running.stop()
        app.extensions["newsletter"].sender.stop()


def test_the_settings_check_the_rate_limit(workspace: Path) -> None:
    add_config(workspace, '[api]\nrate_limit = "lots"\n')
    result = run("api-token", "list", cwd=workspace)
    assert result.exit_code != 0 and "rate_limit" in result.output


def test_the_readme_examples_have_the_shapes_the_api_takes(api: ApiClient) -> None:
    """Each curl example of the README's "The REST API" names a documented route, and its JSON body validates."""
    from tests.helpers.workspace import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The REST API", 1)[1].split("\n## ", 1)[0]
    examples = [block for block in section.split("```") if "curl" in block]
    assert examples
    for block in examples:
        for command in block.replace("\\\n", " ").splitlines():
            if "curl" not in command or "/api/v1/" not in command:
                continue
            method = "get"
            for word in ("-X PUT", "-X POST", "-X DELETE"):
                if word in command:
                    method = word.split()[1].lower()
            if " -d " in command and method == "get":
                method = "post"
            url = command.split('"$NEWSLETTER_URL', 1)[1].split('"', 1)[0]
            assert api.route(method, url.replace("$EMAIL", "a@example.com")) is not None, command
            if " -d '" in command:
                json.loads(command.split(" -d '", 1)[1].rsplit("'", 1)[0])
