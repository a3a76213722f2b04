"""The REST API against a stranger: tokens forged, revoked or of another scope; the time a wrong
token takes; floods; bodies huge, deep, odd or not JSON; control characters and odd Unicode in
addresses; path tricks in issue keys; SQL in segments. Every refusal is a problem-details answer,
never a 500 or a traceback, and never shows the token."""

from __future__ import annotations

import secrets
import statistics
import time
import urllib.parse
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.web import create_app
from newsletter.web.extensions import limiter
from tests.helpers.api import ApiClient, make_token


@pytest.fixture
def api(serve, workspace: Path) -> ApiClient:
    client = serve('[api]\nrate_limit = "100000/minute"\n')
    return ApiClient(client, make_token(workspace, "zapier"))


def test_forged_revoked_and_malformed_tokens_are_refused_alike(api: ApiClient, workspace: Path) -> None:
    forged = "nl_" + secrets.token_urlsafe(32)
    near = api.token[:-1] + ("A" if api.token[-1] != "A" else "B")
    for token in (forged, near, "nl_", "x" * 5000, api.token.upper(), api.token[3:], "nl_nl_" + api.token[3:]):
        status, found, answer = api.call("get", "/api/v1/subscribers", token=token)
        assert status == 401 and "invalid_token" in answer.headers["WWW-Authenticate"], token
        assert api.token not in answer.body
    for header in (f"Basic {api.token}", api.token, f"Bearer{api.token}", "Bearer", ""):
        status, _, answer = api.call("get", "/api/v1/issues", token="", headers={"Authorization": header})
        assert status == 401 and api.token not in answer.body
    from tests.helpers.cli import run

    run("api-token", "revoke", "zapier", cwd=workspace, ok=True)
    assert api.call("get", "/api/v1/issues")[0] == 401


def test_a_token_of_another_scope_changes_nothing(api: ApiClient, workspace: Path) -> None:
    api.call("put", "/api/v1/subscribers/ada@example.com", {"tags": ["vip"]})
    reader = make_token(workspace, "reader", "issues:read")
    for method, path, body in [
        ("put", "/api/v1/subscribers/ada@example.com", {"name": "Mallory"}),
        ("delete", "/api/v1/subscribers/ada@example.com", None),
        ("post", "/api/v1/subscribers/ada@example.com/tags", {"remove": ["vip"]}),
        ("get", "/api/v1/subscribers", None),
        ("post", "/api/v1/issues/7/schedule", {"at": "2031-01-01T00:00:00+00:00"}),
        ("post", "/api/v1/issues/7/test", {"addresses": ["x@example.com"]}),
    ]:
        assert api.call(method, path, body, token=reader)[0] == 403, path
    with Database(workspace / "subscribers.db") as db:
        ada = db.subscribers.get("ada@example.com")
        assert ada is not None and ada.name is None and db.audience.tags("ada@example.com") == ["vip"]
        assert db.ledger.schedule("7") is None
    assert not (workspace / "outbox").exists()


@pytest.mark.slow
def test_a_wrong_token_takes_as_long_as_any_other(workspace: Path) -> None:
    """Every presented token is hashed and looked up by its hash: one that shares all but its last
    character with the real one is refused no faster or slower than a short random one."""
    token = make_token(workspace, "zapier")
    app = create_app(workspace)
    limiter.reset()
    client = app.test_client()
    near, short = token[:-1] + ("A" if token[-1] != "A" else "B"), "nl_x"
    timings: dict[str, list[float]] = {near: [], short: []}
    for _ in range(150):
        for candidate in (near, short):  # interleaved: the machine's other load weighs on both alike
            start = time.perf_counter()
            assert client.get("/api/v1/issues", headers={"Authorization": f"Bearer {candidate}"}).status_code == 401
            timings[candidate].append(time.perf_counter() - start)
    app.extensions["newsletter"].sender.stop()
    ratio = statistics.median(timings[near]) / statistics.median(timings[short])
    assert 0.75 < ratio < 1.33, ratio


def test_a_flood_is_limited_per_token_and_per_client(serve, workspace: Path) -> None:
    client = serve('[api]\nrate_limit = "5/minute"\n')
    api = ApiClient(client, make_token(workspace, "flood"))  # its document GET counts for the client
    statuses = [api.call("get", "/api/v1/issues")[0] for _ in range(8)]
    assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}
    status, _, answer = api.call("get", "/api/v1/issues")
    assert status == 429 and int(answer.headers["Retry-After"]) >= 1
    forged = [api.call("get", "/api/v1/issues", token="nl_" + secrets.token_urlsafe(32))[0] for _ in range(8)]
    assert forged[-1] == 429  # random tokens do not each get a fresh allowance


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{" * 100_000, "application/json", 413),
        (b'{"name": "' + b"a" * 70_000 + b'"}', "application/json", 413),
        (b"[" * 5_000 + b"]" * 5_000, "application/json", 400),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "application/json", 400),
        (b"\xff\xfe{}", "application/json", 400),
        (b"not json", "application/json", 400),
        (b"[]", "application/json", 422),
        (b'"text"', "application/json", 422),
        (b"null", "application/json", 400),
        (b'{"name": "Ada", "admin": true}', "application/json", 422),
        (b'{"tags": "vip"}', "application/json", 422),
        (b'{"tags": [' + b'"t",' * 100 + b'"t"]}', "application/json", 422),
        (b'{"attributes": {"k": 1}}', "application/json", 422),
        (b'{"attributes": {"k\\u0000": "v"}}', "application/json", 422),
        (b'{"name": "Ada"}', "text/plain", 415),
        (b"name=Ada", "application/x-www-form-urlencoded", 415),
    ],
)
def test_odd_bodies_are_refused_with_a_problem(api: ApiClient, workspace: Path, body: bytes, content_type: str, status: int) -> None:
    found_status, found, _ = api.call("put", "/api/v1/subscribers/ada@example.com", raw=body, headers={"Content-Type": content_type})
    assert found_status == status, found
    with Database(workspace / "subscribers.db") as db:
        assert db.subscribers.get("ada@example.com") is None


def test_a_chunked_body_over_the_cap_is_refused(api: ApiClient) -> None:
    import http.client

    parts = urllib.parse.urlsplit(api.client.base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    chunks = (b'{"name": "' + b"a" * 10_000 for _ in range(10))
    headers = {"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"}
    connection.request("PUT", "/api/v1/subscribers/ada@example.com", body=chunks, headers=headers, encode_chunked=True)
    assert connection.getresponse().status == 413
    connection.close()


@pytest.mark.parametrize(
    "address",
    [
        "a%00b@example.com", "ada@example.com%0d%0aBcc:x@example.com", "%e2%80%aeada@example.com", "a" * 400 + "@example.com",
        "..@example.com", "ada@", "%ff@example.com", "ada@exa%09mple.com",
    ],  # fmt: skip
)
def test_odd_addresses_in_the_path_are_refused(api: ApiClient, workspace: Path, address: str) -> None:
    for method, body in (("put", {}), ("get", None), ("delete", None)):
        status, found, _ = api.call(method, f"/api/v1/subscribers/{address}", body)
        assert status in (404, 422), (method, status, found)
    with Database(workspace / "subscribers.db") as db:
        assert list(db.subscribers.all()) == []


def test_unicode_addresses_are_stored_normalized_or_refused(api: ApiClient) -> None:
    status, found, _ = api.call("post", "/api/v1/subscribers", {"email": "Zoë@Bücher.example"})
    assert status in (201, 422)
    for email in ("ada\u0000@example.com", "ada@exam\nple.com", "\u200bada@example.com", "ada@@example.com"):
        status, found, _ = api.call("post", "/api/v1/subscribers", {"email": email})
        assert status == 422 and found["errors"][0]["pointer"] == "/email", email
    status, found, _ = api.call("post", "/api/v1/subscribers", {"email": "ada@example.com", "name": "Ada\r\nBcc: x@example.com"})
    assert status == 201 and found["subscriber"]["name"] == "Ada Bcc: x@example.com"  # no line break reaches a To: header


@pytest.mark.parametrize("key", ["..%2F..%2Fnewsletter.toml", "..", "7%00", "7.yaml", "-7", "07x", "9" * 40, "%2e%2e", "7%2F..%2F..%2Fetc%2Fpasswd"])
def test_path_tricks_in_issue_keys_name_no_file(api: ApiClient, workspace: Path, key: str) -> None:
    attempts = [("get", "", None), ("post", "/schedule", {"at": "2031-01-01T00:00:00+00:00"}), ("delete", "/schedule", None), ("post", "/test", {"addresses": ["a@example.com"]})]
    for method, suffix, body in attempts:
        status, _, answer = api.call(method, f"/api/v1/issues/{key}{suffix}", body)
        assert status in (404, 405), (key, suffix, status, answer.body)
        assert "[newsletter]" not in answer.body
    assert not (workspace / "outbox").exists()


@pytest.mark.parametrize(
    "segment",
    [
        "tag:\"x' OR 1=1 --\"",
        'attr.country = "DE\'; DROP TABLE subscribers; --"',
        "attr.x'--.y = \"1\"",
        "tag:vip) OR (1=1",
        "received > 1; DELETE FROM subscribers",
        'attr.plan in ("a", "b\') OR 1=1 --")',
        "segment:../../etc",
        "not " * 2000 + "tag:vip",
        "(" * 500 + "tag:vip" + ")" * 500,
        "tag:\u0000",
    ],
)
def test_sql_in_a_segment_is_a_value_or_a_mistake_never_sql(api: ApiClient, workspace: Path, segment: str) -> None:
    api.call("put", "/api/v1/subscribers/ada@example.com", {"tags": ["vip"], "attributes": {"country": "DE"}})
    status, found, _ = api.call("get", "/api/v1/subscribers?" + urllib.parse.urlencode({"segment": segment}))
    assert status in (200, 422), found
    if status == 200:  # only the parenthesized tag:vip matches anyone: every quote is a value's
        assert [item["email"] for item in found["subscribers"]] == (["ada@example.com"] if segment.startswith("(") else [])
    with Database(workspace / "subscribers.db") as db:
        assert [s.email for s in db.subscribers.all()] == ["ada@example.com"]


def test_the_api_needs_no_csrf_token_and_sets_no_cookie(api: ApiClient) -> None:
    status, _, answer = api.call("put", "/api/v1/subscribers/ada@example.com", {}, headers={"Origin": "https://evil.example"})
    assert status == 201 and answer.headers.get("Set-Cookie") is None
