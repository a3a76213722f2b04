"""Subscriber lists in and out (issue 22, items 10, 11, 12 and 14): addresses in any spelling
become the one stored form, reserved link ids and control characters are refused with the file,
line and column named (nothing imported), and an export / remove / import keeps when each
status last changed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.mail.links import TEST_COPY_ID, Purpose, make_dated_token
from newsletter.models import Status, Subscriber
from newsletter.models.addresses import normalize
from newsletter.web import create_app
from newsletter.workspace.credentials import signing_keys
from tests.helpers.hostile import run

HANA = "hana@例え.jp"


def stored(workspace: Path) -> dict[str, Subscriber]:
    with Database(workspace / "subscribers.db") as db:
        return {s.email: s for s in db.subscribers.all()}


def changed_at(workspace: Path, email: str) -> str | None:
    with Database(workspace / "subscribers.db") as db:
        return db.subscribers.db.execute("SELECT status_changed_at FROM subscribers WHERE email = ?", (email,)).fetchone()[0]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


# --- item 10: one address, one spelling ------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    ["hana@xn--r8jz45g.jp", "HANA@XN--R8JZ45G.JP", "Hana@例え.jp", " hana@xn--r8jz45g.jp "],
)
def test_the_ascii_form_of_an_idn_address_normalizes_to_the_stored_unicode_form(spelling: str) -> None:
    assert normalize(spelling) == HANA


@pytest.mark.parametrize("bad", ["hana@xn--zz.jp", "hana@xn--.jp", "hana@例え..jp", "hana\x00@例え.jp"])
def test_a_broken_ascii_form_is_refused_not_guessed(bad: str) -> None:
    with pytest.raises(ValueError):
        normalize(bad)


def test_an_import_merges_every_spelling_of_one_idn_address(in_workspace: Path) -> None:
    source = write(in_workspace / "list.csv", f"email,name\nhana@xn--r8jz45g.jp,Hana\n{HANA.upper()},\nHANA@XN--R8JZ45G.JP,\n")
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output and "2 repeated rows merged" in result.output
    assert list(stored(in_workspace)) == [HANA]


def test_the_command_line_finds_an_idn_subscriber_by_its_ascii_form(in_workspace: Path) -> None:
    assert run("subscribers", "add", HANA).exit_code == 0
    result = run("subscribers", "unsubscribe", "HANA@XN--R8JZ45G.JP")
    assert result.exit_code == 0, result.output
    assert stored(in_workspace)[HANA].status == Status.UNSUBSCRIBED
    assert run("subscribers", "remove", "hana@xn--r8jz45g.jp", "--forget").exit_code == 0  # she left: only --forget removes her row
    assert stored(in_workspace) == {}


def test_sync_marks_an_idn_address_and_counts_the_unusable_ones(sendgrid, in_workspace: Path) -> None:
    assert run("subscribers", "add", HANA).exit_code == 0
    assert run("subscribers", "add", "bo@example.com").exit_code == 0
    sendgrid.suppressions["spam_reports"] = ["HANA@XN--R8JZ45G.JP", "not an address", "x@xn--zz.example"]
    sendgrid.suppressions["bounces"] = ["bo@example.com"]
    result = run("subscribers", "sync")
    assert result.exit_code == 0, result.output
    assert "spam reports: 3 at SendGrid, 1 subscriber(s) marked, 2 skipped (not a usable email address)" in result.output
    assert "bounces: 1 at SendGrid, 1 subscriber(s) marked\n" in result.output
    assert stored(in_workspace)[HANA].status == Status.COMPLAINED


def test_sync_survives_entries_without_an_address(sendgrid, in_workspace: Path) -> None:
    assert run("subscribers", "add", "bo@example.com").exit_code == 0
    sendgrid.suppressions["bounces"] = ["bo@example.com", None, 42]  # type: ignore[list-item]
    result = run("subscribers", "sync")
    assert result.exit_code == 0, result.output
    assert "bounces: 3 at SendGrid, 1 subscriber(s) marked, 2 skipped" in result.output


# --- item 11: the test copies' id is nobody's --------------------------------------------------


@pytest.mark.parametrize("skip_invalid", [False, True])
def test_an_imported_test_copy_id_is_refused_with_file_line_and_column(in_workspace: Path, skip_invalid: bool) -> None:
    source = write(in_workspace / "list.csv", f"email,subscriber_id\nok@example.com,\nsneaky@example.com,{TEST_COPY_ID}\n")
    result = run("subscribers", "import", str(source), *(["--skip-invalid"] if skip_invalid else []))
    assert f"list.csv: line 3: 'sneaky@example.com': column 'subscriber_id': '{TEST_COPY_ID}' is reserved" in result.output
    people = stored(in_workspace)
    assert "sneaky@example.com" not in people
    assert all(s.public_id != TEST_COPY_ID for s in people.values())
    if skip_invalid:
        assert result.exit_code == 0 and list(people) == ["ok@example.com"]
    else:
        assert result.exit_code == 1 and "nothing was imported" in result.output and people == {}


# --- item 12: the change time travels with the list ---------------------------------------------


def test_export_and_import_carry_when_each_status_last_changed(in_workspace: Path, tmp_path: Path, monkeypatch) -> None:
    with Database(in_workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber("left@example.com", "Left"), Subscriber("here@example.com", "Here")])
        db.subscribers.set_status(["left@example.com"], Status.UNSUBSCRIBED)
        db.subscribers.db.execute("UPDATE subscribers SET status_changed_at = '2026-03-04T05:06:07+00:00' WHERE email = 'left@example.com'")
    exported = run("subscribers", "export").output
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(exported))}
    assert rows["left@example.com"]["status_changed_at"] == "2026-03-04T05:06:07+00:00"

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "newsletter.toml").write_text((in_workspace / "newsletter.toml").read_text())
    write(fresh / "list.csv", exported)
    monkeypatch.chdir(fresh)
    assert run("subscribers", "import", "list.csv").exit_code == 0
    assert changed_at(fresh, "left@example.com") == "2026-03-04T05:06:07+00:00"
    assert changed_at(fresh, "here@example.com") == changed_at(in_workspace, "here@example.com")


def test_an_old_confirmation_link_cannot_bring_back_someone_moved_by_export_remove_import(in_workspace: Path) -> None:
    """The README's move (export, remove, import back) must not forget that the reader left after
    their confirmation email was sent."""
    with Database(in_workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber("left@example.com", "Left")])
        public_id = db.subscribers.get("left@example.com").public_id
    issued = int(dt.datetime.now(dt.UTC).timestamp()) - 3600  # the confirmation email, an hour ago
    assert run("subscribers", "unsubscribe", "left@example.com").exit_code == 0
    exported = write(in_workspace / "export.csv", run("subscribers", "export").output)
    assert run("subscribers", "remove", "left@example.com", "--forget").exit_code == 0
    assert run("subscribers", "import", str(exported)).exit_code == 0

    link = make_dated_token(public_id, Purpose.CONFIRM, signing_keys("outbox").current, issued)
    app = create_app(in_workspace)
    try:
        answer = app.test_client().post(f"/confirm/{link}")
    finally:
        app.extensions["newsletter"].sender.stop()
    assert answer.status_code == 200
    assert stored(in_workspace)["left@example.com"].status == Status.UNSUBSCRIBED


def test_an_imported_departed_reader_without_a_change_time_left_at_the_import(in_workspace: Path) -> None:
    source = write(in_workspace / "list.csv", "email,status\ngone@example.com,unsubscribed\nbounced@example.com,cleaned\nhere@example.com,active\n")
    before = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    assert run("subscribers", "import", str(source)).exit_code == 0
    after = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    for email in ("gone@example.com", "bounced@example.com"):
        assert before <= (changed_at(in_workspace, email) or "") <= after
    assert changed_at(in_workspace, "here@example.com") is None  # active, and the file does not say since when


def test_mailchimps_unsubscribe_time_is_the_change_time_and_the_future_is_now(in_workspace: Path) -> None:
    source = write(
        in_workspace / "list.csv",
        "Email Address,UNSUB_TIME\nold@example.com,2024-05-06 07:08:09\n",
    )
    assert run("subscribers", "import", str(source)).exit_code == 0
    assert changed_at(in_workspace, "old@example.com") == "2024-05-06T07:08:09+00:00"
    future = write(in_workspace / "ours.csv", "email,status,status_changed_at\nlater@example.com,unsubscribed,2999-01-01T00:00:00+00:00\n")
    assert run("subscribers", "import", str(future)).exit_code == 0
    assert (changed_at(in_workspace, "later@example.com") or "") <= dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def test_a_change_time_that_is_not_a_time_is_refused_by_line_and_column(in_workspace: Path) -> None:
    source = write(in_workspace / "list.csv", "email,status,status_changed_at\ngone@example.com,unsubscribed,last tuesday\n")
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 1
    assert "list.csv: line 2: 'gone@example.com': column 'status_changed_at': 'last tuesday' is not a date and time" in result.output
    assert stored(in_workspace) == {}


# --- item 14: control characters in attributes and names --------------------------------------


CONTROL_ROWS = {
    "NUL in an attribute": ("email,plan\nnul@example.com,pa\x00id\n", "line 2: 'nul@example.com': column 'plan': the value contains the control character U+0000"),
    "ESC in an attribute": ("email,plan\nesc@example.com,\x1b[31mred\n", "column 'plan': the value contains the control character U+001B"),
    "NUL in a JSON value": (
        'email,attributes\njs@example.com,"{""plan"": ""pa\\u0000id""}"\n',
        "line 2: 'js@example.com': column 'attributes', key 'plan': the value contains the control character U+0000",
    ),
    "NUL in a JSON key": (
        'email,metadata\njk@example.com,"{""pl\\u0000an"": ""paid""}"\n',
        "column 'metadata', key 'pl\\x00an': the attribute name contains the control character U+0000",
    ),
    "NUL in the name": ("email,name\nnm@example.com,Ada\x00\n", "line 2: 'nm@example.com': column 'name': the name contains a line break or a control character"),
    "NUL in a first name": (
        "Email Address,First Name,Last Name\nfn@example.com,A\x00da,Lovelace\n",
        "columns 'First Name' and 'Last Name': the name contains a line break or a control character",
    ),
    "NUL in an unreadable creation time": ("email,created_at\nct@example.com,soon\x00\n", "column 'created_at': the value contains the control character U+0000"),
}


@pytest.mark.parametrize("text, message", list(CONTROL_ROWS.values()), ids=list(CONTROL_ROWS))
def test_a_control_character_in_a_row_is_refused_by_line_and_column(in_workspace: Path, text: str, message: str) -> None:
    source = write(in_workspace / "list.csv", text)
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 1, result.output
    assert message in result.output, result.output
    assert "nothing was imported" in result.output
    assert stored(in_workspace) == {}
    assert "\x00" not in run("subscribers", "export").output


def test_a_control_character_in_a_column_name_refuses_the_file(in_workspace: Path) -> None:
    source = write(in_workspace / "list.csv", "email,pl\x00an\nok@example.com,paid\n")
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 1
    assert "list.csv:1: column 2 ('pl\\x00an') has the control character U+0000 in its name; nothing was imported" in result.output
    assert stored(in_workspace) == {}


def test_tabs_and_line_breaks_in_a_value_are_text_and_travel_unchanged(in_workspace: Path, tmp_path: Path, monkeypatch) -> None:
    note = "first line\nsecond\tline\r\nthird"
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerow(["email", "notes", "metadata"])
    csv.writer(buffer).writerow(["tab@example.com", note, json.dumps({"bio": "a\tb\nc"})])
    source = write(in_workspace / "list.csv", buffer.getvalue())
    assert run("subscribers", "import", str(source)).exit_code == 0
    assert stored(in_workspace)["tab@example.com"].attributes == {"notes": note, "bio": "a\tb\nc"}
    exported = tmp_path / "export.csv"  # a file: the test runner's captured output turns \r\n into \n
    assert run("subscribers", "export", "--out", str(exported)).exit_code == 0
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "newsletter.toml").write_text((in_workspace / "newsletter.toml").read_text())
    monkeypatch.chdir(fresh)
    assert run("subscribers", "import", str(exported)).exit_code == 0
    assert stored(fresh)["tab@example.com"].attributes == {"notes": note, "bio": "a\tb\nc"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--attr", "plan=pa\x00id"], "--attr 'plan=pa\\x00id': the value contains the control character U+0000"),
        (["--attr", "pl\x1ban=paid"], "--attr 'pl\\x1ban=paid': the attribute name contains the control character U+001B"),
        (["--attr", "note=a\x07b"], "the value contains the control character U+0007"),
        (["--name", "Ada\x00"], "--name: the name contains a line break or a control character"),
    ],
    ids=["NUL value", "ESC key", "BEL value", "NUL name"],
)
def test_subscribers_add_refuses_control_characters_naming_the_option(in_workspace: Path, args: list[str], message: str) -> None:
    assert run("subscribers", "add", "ada@example.com", "--attr", "plan=free").exit_code == 0
    before = stored(in_workspace)
    result = run("subscribers", "add", "ada@example.com", *args)
    assert result.exit_code == 1
    assert message in result.output, result.output
    assert stored(in_workspace) == before
