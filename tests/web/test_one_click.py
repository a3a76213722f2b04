"""RFC 8058 one-click unsubscribe, as a mail client (and a link scanner) meets it on the real server:
a POST with the token in the URL unsubscribes, without cookies or redirects, exactly once; a GET or
HEAD never changes anything; a token that is not genuine, or not for unsubscribing, is a 404."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli.main import cli
from newsletter.db import Database
from newsletter.mail.links import Purpose, make_dated_token, make_token
from newsletter.models import Status, Subscriber
from newsletter.workspace.credentials import signing_keys
from tests.helpers.web import Client, outbox

ADDRESS = "ada.lovelace@example.com"
MASKED = "a***@example.com"
ONE_CLICK = "List-Unsubscribe=One-Click"


def add_subscriber(workspace: Path, address: str = ADDRESS, status: Status = Status.ACTIVE) -> str:
    """Put `address` on the list; its public id."""
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber(address, "Ada", {}, status)])
        found = db.subscribers.get(address)
    assert found is not None and found.public_id
    return found.public_id


def token_for(public_id: str, purpose: Purpose = Purpose.UNSUBSCRIBE) -> str:
    return make_token(public_id, purpose, signing_keys("outbox").current)


def path_for(token: str) -> str:
    return "/unsubscribe?" + urllib.parse.urlencode({"token": token})


def standing(workspace: Path, address: str = ADDRESS) -> tuple[Status, list[tuple[str, str]]]:
    """The subscriber's status, and each recorded change as (status, channel)."""
    with Database(workspace / "subscribers.db") as db:
        found = db.subscribers.get(address)
        assert found is not None
        return found.status, [(status, channel) for status, channel, _detail, _at in db.subscribers.changes(address)]


def fresh(web) -> Client:  # type: ignore[no-untyped-def]
    """A client with no cookies: a mail client's one-click POST carries none."""
    return Client(web.url)


def multipart(fields: dict[str, str], boundary: str = "----newsletterTestBoundary7MA4YWxk") -> tuple[bytes, str]:
    lines = []
    for name, value in fields.items():
        lines += [f"--{boundary}", f'Content-Disposition: form-data; name="{name}"', "", value]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode(), f"multipart/form-data; boundary={boundary}"


def assert_unsubscribed_page(answer, address: str = ADDRESS) -> None:  # type: ignore[no-untyped-def]
    assert answer.status == 200, answer.body
    assert answer.headers.get("Location") is None  # RFC 8058: no redirect
    assert "You are unsubscribed" in answer.body
    assert MASKED in answer.body
    assert address not in answer.body


# --- the three bodies a mail client may send --------------------------------------------------


def test_urlencoded_one_click_unsubscribes_without_a_cookie(workspace: Path, web) -> None:
    public_id = add_subscriber(workspace)
    answer = fresh(web).request(
        "POST", path_for(token_for(public_id)), ONE_CLICK.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_unsubscribed_page(answer)
    assert standing(workspace) == (Status.UNSUBSCRIBED, [(Status.UNSUBSCRIBED, "one-click")])


def test_multipart_one_click_unsubscribes(workspace: Path, web) -> None:
    public_id = add_subscriber(workspace)
    body, content_type = multipart({"List-Unsubscribe": "One-Click"})
    answer = fresh(web).request("POST", path_for(token_for(public_id)), body, {"Content-Type": content_type})
    assert_unsubscribed_page(answer)
    assert standing(workspace) == (Status.UNSUBSCRIBED, [(Status.UNSUBSCRIBED, "one-click")])


def test_empty_post_is_the_page_button_and_unsubscribes(workspace: Path, web) -> None:
    public_id = add_subscriber(workspace)
    answer = fresh(web).request("POST", path_for(token_for(public_id)), b"", {"Content-Length": "0"})
    assert_unsubscribed_page(answer)
    assert standing(workspace) == (Status.UNSUBSCRIBED, [(Status.UNSUBSCRIBED, "unsubscribe page")])


def test_a_pending_subscriber_can_leave_too(workspace: Path, web) -> None:
    public_id = add_subscriber(workspace, status=Status.PENDING)
    answer = fresh(web).request("POST", path_for(token_for(public_id)), ONE_CLICK.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    assert_unsubscribed_page(answer)
    assert standing(workspace)[0] == Status.UNSUBSCRIBED


# --- GET and HEAD change nothing ------------------------------------------------------------


def test_get_shows_a_button_and_the_masked_address_and_changes_nothing(workspace: Path, web) -> None:
    public_id = add_subscriber(workspace)
    path = path_for(token_for(public_id))
    answer = fresh(web).get(path)
    assert answer.status == 200
    assert answer.headers.get("Location") is None
    assert MASKED in answer.body
    assert ADDRESS not in answer.body
    assert 'method="post"' in answer.body
    assert "<button" in answer.body
    assert standing(workspace) == (Status.ACTIVE, [])


def test_a_link_scanner_get_before_the_click_changes_nothing(workspace: Path, web) -> None:
    public_id = add_subscriber(workspace)
    path = path_for(token_for(public_id))
    for _ in range(2):
        assert fresh(web).get(path, **{"User-Agent": "SafeLinks-Scanner/1.0"}).status == 200
    assert standing(workspace) == (Status.ACTIVE, [])

    # ... and the real click afterwards still works.
    answer = fresh(web).request("POST", path, ONE_CLICK.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    assert_unsubscribed_page(answer)
    assert standing(workspace) == (Status.UNSUBSCRIBED, [(Status.UNSUBSCRIBED, "one-click")])


@pytest.mark.slow
def test_a_link_scanner_head_before_the_click_changes_nothing(workspace: Path, web) -> None:
    public_id = add_subscriber(workspace)
    path = path_for(token_for(public_id))
    answer = fresh(web).request("HEAD", path, headers={"User-Agent": "SafeLinks-Scanner/1.0"})
    assert answer.status == 200
    assert standing(workspace) == (Status.ACTIVE, []), "a HEAD request unsubscribed the reader"

    answer = fresh(web).request("POST", path, ONE_CLICK.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    assert_unsubscribed_page(answer)
    assert standing(workspace) == (Status.UNSUBSCRIBED, [(Status.UNSUBSCRIBED, "one-click")])


# --- idempotent -------------------------------------------------------------------------------


@pytest.mark.slow
def test_replay_answers_200_and_records_no_second_change(workspace: Path, web) -> None:
    public_id = add_subscriber(workspace)
    path = path_for(token_for(public_id))
    for _ in range(3):
        answer = fresh(web).request("POST", path, ONE_CLICK.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
        assert_unsubscribed_page(answer)
    assert fresh(web).request("POST", path, b"", {"Content-Length": "0"}).status == 200
    assert standing(workspace) == (Status.UNSUBSCRIBED, [(Status.UNSUBSCRIBED, "one-click")])
    # Visiting the link afterwards says so, without offering to unsubscribe again.
    after = fresh(web).get(path)
    assert after.status == 200 and "You are unsubscribed" in after.body
    assert standing(workspace) == (Status.UNSUBSCRIBED, [(Status.UNSUBSCRIBED, "one-click")])


def test_one_click_leaves_a_bounced_subscriber_bounced(workspace: Path, web) -> None:
    public_id = add_subscriber(workspace, status=Status.BOUNCED)
    answer = fresh(web).request("POST", path_for(token_for(public_id)), ONE_CLICK.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 200 and answer.headers.get("Location") is None
    assert standing(workspace) == (Status.BOUNCED, [])


# --- tokens that are not genuine --------------------------------------------------------------


def bad_tokens(public_id: str) -> dict[str, str]:
    genuine = token_for(public_id)
    ident, _, signature = genuine.partition(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other_key = make_token(public_id, Purpose.UNSUBSCRIBE, b"some-other-secret-entirely-0123456789")
    return {
        "forged signature": f"{ident}.{'A' * len(signature)}",
        "damaged": f"{ident}.{flipped}",
        "truncated": genuine[:-3],
        "id only": ident,
        "id and dot": ident + ".",
        "empty": "",
        "other secret": other_key,
        "padded": genuine + "==",
        "preferences token": token_for(public_id, Purpose.PREFERENCES),
        "confirm token": token_for(public_id, Purpose.CONFIRM),
        "dated confirm token": make_dated_token(public_id, Purpose.CONFIRM, signing_keys("outbox").current, 1_800_000_000),
        "unknown subscriber": token_for("AAAAAAAAAAAAAAAA"),
        "another id with this signature": f"{'B' if ident[0] != 'B' else 'C'}{ident[1:]}.{signature}",
    }


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.slow
def test_tokens_that_are_not_genuine_are_404_and_change_nothing(workspace: Path, web, method: str) -> None:
    public_id = add_subscriber(workspace)
    client = fresh(web)
    for what, token in bad_tokens(public_id).items():
        answer = client.request(method, path_for(token), ONE_CLICK.encode() if method == "POST" else None, {"Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status == 404, what
        assert answer.headers.get("Location") is None, what
        assert MASKED not in answer.body and ADDRESS not in answer.body, what
    missing = client.request(method, "/unsubscribe", ONE_CLICK.encode() if method == "POST" else None, {"Content-Type": "application/x-www-form-urlencoded"})
    assert missing.status == 404
    assert standing(workspace) == (Status.ACTIVE, [])


# --- the List-Unsubscribe header of a message that was really sent ---------------------------


def send(issue: Path):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["send", str(issue)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.slow
def test_the_list_unsubscribe_url_of_a_sent_message_works(in_workspace: Path, issue_path: Path, web) -> None:
    workspace = in_workspace
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber(ADDRESS, "Ada", {}), Subscriber("grace.hopper@example.com", "Grace", {})])
    send(issue_path)
    sent = {message["To"].addresses[0].addr_spec: message for message in outbox(workspace)}
    assert set(sent) == {ADDRESS, "grace.hopper@example.com"}
    message = sent[ADDRESS]
    assert message["List-Unsubscribe-Post"] == ONE_CLICK
    url = str(message["List-Unsubscribe"]).strip().strip("<>")
    parts = urllib.parse.urlsplit(url)
    assert parts.netloc == "fixture.example.org"  # the workspace's unsubscribe_url; the path is ours
    path = parts.path + "?" + parts.query

    assert fresh(web).get(path).status == 200  # a scanner first
    assert standing(workspace)[0] == Status.ACTIVE
    answer = fresh(web).request("POST", path, ONE_CLICK.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    assert_unsubscribed_page(answer)
    assert standing(workspace) == (Status.UNSUBSCRIBED, [(Status.UNSUBSCRIBED, "one-click")])
    assert standing(workspace, "grace.hopper@example.com")[0] == Status.ACTIVE

    # The next issue goes to Grace only.
    (workspace / "outbox").rename(workspace / "outbox-first")
    next_issue = workspace / "issues" / "2026-12-08.yaml"
    text = issue_path.read_text(encoding="utf-8").replace("number: 7", "number: 8").replace("date: 2026-12-01", "date: 2026-12-08")
    next_issue.write_text(text, encoding="utf-8")
    send(next_issue)
    assert [message["To"].addresses[0].addr_spec for message in outbox(workspace)] == ["grace.hopper@example.com"]


@pytest.mark.slow
def test_the_manage_preferences_link_of_a_sent_message_opens_the_readers_own_page(in_workspace: Path, issue_path: Path, web) -> None:
    workspace = in_workspace
    add_subscriber(workspace)
    send(issue_path)
    (message,) = outbox(workspace)
    text, html = (part.get_content() for part in message.iter_parts())
    url = text.split("Manage preferences:\n", 1)[1].split("\n", 1)[0]
    assert f'href="{url}"' in html
    parts = urllib.parse.urlsplit(url)
    assert (parts.netloc, parts.path) == ("fixture.example.org", "/preferences")

    page = fresh(web).get(parts.path + "?" + parts.query)
    assert page.status == 200, page.body
    assert MASKED in page.body and "subscribed" in page.body and ADDRESS not in page.body
    assert standing(workspace)[0] == Status.ACTIVE  # opening it changes nothing


# --- which issue an unsubscribe came from ----------------------------------------------------------


def unsubscribe_paths(workspace: Path) -> dict[str, str]:
    """Each recipient's List-Unsubscribe link (path and query) in the outbox, by address."""
    found = {}
    for message in outbox(workspace):
        parts = urllib.parse.urlsplit(str(message["List-Unsubscribe"]).strip().strip("<>"))
        found[message["To"].addresses[0].addr_spec] = parts.path + "?" + parts.query
    return found


def report_json(issue: Path) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(cli, ["report", str(issue), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.slow
def test_an_unsubscribe_from_an_older_issue_is_credited_to_that_issue(in_workspace: Path, issue_path: Path, web) -> None:
    workspace = in_workspace
    readers = [ADDRESS, "grace.hopper@example.com", "alan.turing@example.com"]
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber(address, None, {}) for address in readers])
    send(issue_path)
    first_links = unsubscribe_paths(workspace)
    (workspace / "outbox").rename(workspace / "outbox-7")
    time.sleep(1.1)  # times are kept to the second: issue 8 goes out strictly after issue 7, as a week later would
    next_issue = workspace / "issues" / "2026-12-08.yaml"
    next_issue.write_text(issue_path.read_text(encoding="utf-8").replace("number: 7", "number: 8").replace("date: 2026-12-01", "date: 2026-12-08"), encoding="utf-8")
    send(next_issue)
    assert first_links[ADDRESS] != unsubscribe_paths(workspace)[ADDRESS]  # each issue's link says which issue it is

    # Issue 8 is out; Ada and Grace unsubscribe with the links in issue 7 (one-click, and the page's button).
    answer = fresh(web).request("POST", first_links[ADDRESS], ONE_CLICK.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    assert_unsubscribed_page(answer)
    answer = fresh(web).request("POST", first_links["grace.hopper@example.com"], b"", {"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 200 and "You are unsubscribed" in answer.body

    seven, eight = report_json(issue_path), report_json(next_issue)
    assert seven["unsubscribes"]["by_channel"] == {"one-click": 1, "page": 1, "preferences": 0, "provider": 0, "other": 0}
    assert seven["unsubscribes"]["total"] == 2 and seven["unsubscribes"]["rate"] == 2 / 3
    assert eight["unsubscribes"]["total"] == 0  # not the newest issue's


@pytest.mark.slow
def test_a_link_sent_before_links_named_their_issue_still_unsubscribes(in_workspace: Path, issue_path: Path, web) -> None:
    workspace = in_workspace
    public_id = add_subscriber(workspace)
    send(issue_path)
    old_link = path_for(token_for(public_id))  # `<public id>.<signature>`, as mail already sent carries it
    assert fresh(web).get(old_link).status == 200
    answer = fresh(web).request("POST", old_link, ONE_CLICK.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    assert_unsubscribed_page(answer)
    assert standing(workspace) == (Status.UNSUBSCRIBED, [(Status.UNSUBSCRIBED, "one-click")])
    assert report_json(issue_path)["unsubscribes"]["by_channel"]["one-click"] == 1  # credited as before: by time


@pytest.mark.slow
def test_an_issue_link_with_its_issue_changed_is_refused(in_workspace: Path, issue_path: Path, web) -> None:
    workspace = in_workspace
    add_subscriber(workspace)
    send(issue_path)
    (link,) = unsubscribe_paths(workspace).values()
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]
    public_id, issue, signature = token.split(".")
    assert issue == "7"
    for forged in (f"{public_id}.6.{signature}", f"{public_id}..{signature}", f"{public_id}.{signature}"):
        assert fresh(web).request("POST", path_for(forged), ONE_CLICK.encode(), {"Content-Type": "application/x-www-form-urlencoded"}).status == 404
    assert standing(workspace) == (Status.ACTIVE, [])
