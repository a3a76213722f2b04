"""Double opt-in: what a confirmation link may and may not do, how long it works, and what a
pending subscriber gets (nothing, until they confirm)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli.main import cli
from newsletter.db import Database
from newsletter.mail.links import Purpose, make_dated_token, make_token
from newsletter.models import Status
from newsletter.workspace.credentials import signing_keys
from tests.helpers.web import link_in, outbox, text_of
from tests.helpers.workspace import add_config

CONFIRM_LINK = r"https://fixture\.example\.org/confirm/\S+"


def status_of(workspace: Path, address: str) -> Status | None:
    with Database(workspace / "subscribers.db") as db:
        found = db.subscribers.get(address)
        return found.status if found else None


def heading(body: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", body)
    assert found, body
    return found.group(1)


def test_a_signup_is_pending_until_confirmed_and_is_not_mailed_meanwhile(client, workspace: Path, issue_path: Path, monkeypatch) -> None:
    assert client.subscribe("new@example.com").status == 200
    assert status_of(workspace, "new@example.com") == Status.PENDING
    monkeypatch.chdir(workspace)
    result = CliRunner().invoke(cli, ["send", str(issue_path)])
    assert result.exit_code == 0, result.output
    issue_copies = [m for m in outbox(workspace) if not m["Subject"].startswith("Confirm")]
    assert all(m["To"] != "new@example.com" for m in issue_copies)


def test_an_expired_link_offers_a_new_one_that_works(client, workspace: Path) -> None:
    client.subscribe("late@example.com")
    with Database(workspace / "subscribers.db") as db:
        public_id = db.subscribers.get("late@example.com").public_id
    eight_days_ago = int(time.time()) - 8 * 86_400
    old = make_dated_token(public_id, Purpose.CONFIRM, signing_keys("outbox").current, eight_days_ago)
    answer = client.request("POST", f"/confirm/{old}")
    assert answer.status == 200 and heading(answer.body) == "This link has expired"
    assert status_of(workspace, "late@example.com") == Status.PENDING
    assert client.post_form(f"/confirm/{old}", {"resend": "1"}).status == 200
    confirmations = [m for m in outbox(workspace) if m["To"] == "late@example.com"]
    assert len(confirmations) == 2
    fresh = link_in(confirmations[-1], CONFIRM_LINK)
    assert heading(client.request("POST", fresh).body) == "You are subscribed"
    assert status_of(workspace, "late@example.com") == Status.ACTIVE


@pytest.mark.slow
def test_an_old_link_cannot_undo_a_later_unsubscribe(client, workspace: Path) -> None:
    client.subscribe("changed@example.com")
    link = link_in(outbox(workspace)[-1], CONFIRM_LINK)
    assert heading(client.request("POST", link).body) == "You are subscribed"
    with Database(workspace / "subscribers.db") as db:
        public_id = db.subscribers.get("changed@example.com").public_id
    unsubscribe = make_token(public_id, Purpose.UNSUBSCRIBE, signing_keys("outbox").current)
    assert client.request("POST", f"/unsubscribe?token={unsubscribe}").status == 200
    answer = client.request("POST", link)  # the confirmation email is still in their inbox
    assert heading(answer.body) == "This link is out of date"
    assert status_of(workspace, "changed@example.com") == Status.UNSUBSCRIBED


def confirmation_link(workspace: Path, address: str) -> str:
    return link_in([m for m in outbox(workspace) if m["To"] == address][-1], CONFIRM_LINK)


def unsubscribe(client, workspace: Path, address: str) -> None:
    with Database(workspace / "subscribers.db") as db:
        public_id = db.subscribers.get(address).public_id
    token = make_token(public_id, Purpose.UNSUBSCRIBE, signing_keys("outbox").current)
    assert client.request("POST", f"/unsubscribe?token={token}").status == 200


def test_a_link_made_in_the_second_of_a_later_unsubscribe_cannot_undo_it(client, workspace: Path) -> None:
    """Status times are kept to the second, and a link made in the same second as the unsubscribe
    used to count as made after it: following it re-activated the address."""
    for attempt in range(4):  # until the link and the unsubscribe fall in one second
        address = f"quick{attempt}@example.com"
        started = int(time.time())
        client.subscribe(address)
        link = confirmation_link(workspace, address)
        unsubscribe(client, workspace, address)
        same_second = int(time.time()) == started
        answer = client.request("POST", link)  # the confirmation email is still in their inbox
        assert heading(answer.body) == "This link is out of date"
        assert status_of(workspace, address) == Status.UNSUBSCRIBED
        if same_second:
            break
    assert same_second, "never made the link and the unsubscribe within one second"


def test_someone_who_leaves_and_signs_up_again_in_one_second_can_confirm(client, workspace: Path) -> None:
    for attempt in range(3):
        address = f"back{attempt}@example.com"
        client.subscribe(address)
        unsubscribe(client, workspace, address)  # from pending: they left before confirming
        started = int(time.time())
        client.subscribe(address)  # ...and changed their mind at once
        link = confirmation_link(workspace, address)
        same_second = int(time.time()) == started
        assert heading(client.request("POST", link).body) == "You are subscribed"
        assert status_of(workspace, address) == Status.ACTIVE
        if same_second:
            break
    assert same_second, "never made the new link within the second of the unsubscribe"


def test_a_link_from_before_links_carried_a_change_number_still_confirms(client, workspace: Path) -> None:
    client.subscribe("older@example.com")
    new_link = confirmation_link(workspace, "older@example.com")
    public_id, issued, counter, signature = new_link.rsplit("/", 1)[1].split(".")
    raised = f"/confirm/{public_id}.{issued}.{int(counter, 16) + 1:x}.{signature}"
    assert client.request("POST", raised).status == 404  # the change number is signed
    old = make_dated_token(public_id, Purpose.CONFIRM, signing_keys("outbox").current, int(time.time()))  # as mail sent before carries
    assert heading(client.request("POST", f"/confirm/{old}").body) == "You are subscribed"
    assert status_of(workspace, "older@example.com") == Status.ACTIVE


def test_tokens_only_work_for_their_own_purpose(client, workspace: Path) -> None:
    client.subscribe("scoped@example.com")
    with Database(workspace / "subscribers.db") as db:
        public_id = db.subscribers.get("scoped@example.com").public_id
    key = signing_keys("outbox").current
    unsubscribe = make_token(public_id, Purpose.UNSUBSCRIBE, key)
    confirm = make_dated_token(public_id, Purpose.CONFIRM, key, int(time.time()))
    assert client.request("POST", f"/confirm/{unsubscribe}").status == 404
    assert client.request("POST", f"/unsubscribe?token={confirm}").status == 404
    assert client.get(f"/preferences?token={unsubscribe}").status == 404
    assert status_of(workspace, "scoped@example.com") == Status.PENDING


def test_someone_who_left_comes_back_only_by_confirming(client, workspace: Path) -> None:
    with Database(workspace / "subscribers.db") as db:
        from newsletter.models import Subscriber

        db.subscribers.upsert([Subscriber("gone@example.com", "Gone", {}, Status.UNSUBSCRIBED)])
    client.subscribe("gone@example.com")
    assert status_of(workspace, "gone@example.com") == Status.UNSUBSCRIBED
    link = link_in([m for m in outbox(workspace) if m["To"] == "gone@example.com"][-1], CONFIRM_LINK)
    client.request("POST", link)
    assert status_of(workspace, "gone@example.com") == Status.ACTIVE


def test_check_warns_when_links_would_not_use_https(workspace: Path, issue_path: Path, monkeypatch) -> None:
    add_config(workspace, '[web]\nbase_url = "http://news.example.org"')
    monkeypatch.chdir(workspace)
    result = CliRunner().invoke(cli, ["check", str(issue_path)])
    assert "web.base_url: http://news.example.org is not https" in result.output


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('base_url = "https://news.example.org/app"', "web.base_url: expected an origin"),
        ('subscribe_rate = "lots"', "web.subscribe_rate: expected limits such as"),
        ('confirm_days = 0', "web.confirm_days"),
    ],
)
def test_web_settings_are_checked(setting: str, message: str, workspace: Path, issue_path: Path, monkeypatch) -> None:
    add_config(workspace, f"[web]\n{setting}")
    monkeypatch.chdir(workspace)
    result = CliRunner().invoke(cli, ["check", str(issue_path)])
    assert result.exit_code != 0 and message in result.output


@pytest.mark.parametrize("copied", [["welcome.mjml.j2", "welcome.txt.j2"], ["welcome.txt.j2"]], ids=["the pair", "only the text half"])
def test_a_workspace_with_a_welcome_template_welcomes_each_confirmed_reader(client, workspace: Path, copied: list[str]) -> None:
    """`init --templates` copies the welcome pair; workspaces it made before hold only welcome.txt.j2,
    which promises a welcome too: the defaults' HTML half completes it."""
    from newsletter.render.pipeline import default_template_dir

    for name in copied:
        (workspace / "templates" / name).write_bytes((default_template_dir() / name).read_bytes())
    client.subscribe("glad@example.com")
    link = link_in(outbox(workspace)[-1], CONFIRM_LINK)
    assert heading(client.request("POST", link).body) == "You are subscribed"
    welcome = [m for m in outbox(workspace) if m["To"] == "glad@example.com" and m["Subject"].startswith("Welcome to")]
    assert len(welcome) == 1, [m["Subject"] for m in outbox(workspace)]
    html = welcome[0].get_body(preferencelist=("html",)).get_content()
    assert "Welcome to Fixture Weekly" in html and "Unsubscribe" in html
    assert "You are on the list" in text_of(welcome[0])
