"""Subscriber lists: CSV import, the single-address commands, and export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import Status
from tests.helpers.cli import run


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def stored(workspace: Path) -> dict[str, tuple]:
    with Database(workspace / "subscribers.db") as db:
        return {s.email: (s.name, s.status, s.attributes) for s in db.subscribers.all()}


def test_import_normalizes_merges_and_keeps_extra_columns(in_workspace: Path) -> None:
    source = write_csv(
        in_workspace / "list.csv",
        "Email,Name,Plan\n Ada@Example.COM ,Ada,paid\nbo@example.com,,free\n\nada@example.com,Ada Lovelace,\n",
    )
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 0, result.output
    assert "2 added, 0 updated, 1 repeated rows merged" in result.output
    assert stored(in_workspace) == {
        "ada@example.com": ("Ada Lovelace", Status.ACTIVE, {"Plan": "paid"}),
        "bo@example.com": (None, Status.ACTIVE, {"Plan": "free"}),
    }


def test_importing_the_same_file_again_reports_it_unchanged(in_workspace: Path) -> None:
    source = write_csv(in_workspace / "list.csv", "email,name,city\n" + "".join(f"reader{n}@example.com,Reader {n},Bergen\n" for n in range(20)))
    assert "20 added, 0 updated" in run("subscribers", "import", str(source)).output
    again = run("subscribers", "import", str(source))
    assert again.exit_code == 0, again.output
    assert "0 added, 0 updated, 20 unchanged" in again.output
    source.write_text(source.read_text().replace("Reader 3,Bergen", "Reader Three,Bergen"), encoding="utf-8")
    assert "0 added, 1 updated, 19 unchanged" in run("subscribers", "import", str(source)).output


def test_rejected_rows_are_listed_with_line_numbers_and_nothing_is_imported(in_workspace: Path) -> None:
    source = write_csv(in_workspace / "list.csv", "email,name\ngood@example.com,G\nnot-an-address,X\n,Empty\nbad@@example.com,Y\n")
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 1
    assert "line 3: 'not-an-address': An email address must have an @-sign." in result.output
    assert "line 4: '': the email field is empty" in result.output
    assert "line 5: 'bad@@example.com'" in result.output
    assert "3 row(s) rejected; nothing was imported" in result.output
    assert stored(in_workspace) == {}

    result = run("subscribers", "import", str(source), "--skip-invalid")
    assert result.exit_code == 0
    assert list(stored(in_workspace)) == ["good@example.com"]


def test_a_name_with_a_line_break_is_rejected(in_workspace: Path) -> None:
    source = write_csv(in_workspace / "list.csv", 'email,name\nx@example.com,"Evil\nBcc: victim@example.com"\n')
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 1
    assert "line 3" in result.output and "line break" in result.output


def test_a_file_without_an_email_column_is_refused(in_workspace: Path) -> None:
    source = write_csv(in_workspace / "list.csv", "mail,name\nx@example.com,X\n")
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 1
    assert "list.csv:1: no 'email' column" in result.output


def test_an_import_never_reactivates_someone_who_left(in_workspace: Path) -> None:
    source = write_csv(in_workspace / "list.csv", "email,name\nleft@example.com,Left\nstay@example.com,Stay\n")
    run("subscribers", "import", str(source))
    assert run("subscribers", "unsubscribe", "Left@example.com").exit_code == 0
    with Database(in_workspace / "subscribers.db") as db:
        db.subscribers.set_status(["stay@example.com"], Status.BOUNCED)

    write_csv(source, "email,name\nleft@example.com,Left Again\nstay@example.com,Stay\n")
    assert run("subscribers", "import", str(source)).exit_code == 0
    people = stored(in_workspace)
    assert people["left@example.com"][:2] == ("Left Again", Status.UNSUBSCRIBED)
    assert people["stay@example.com"][1] == Status.BOUNCED


def test_add_remove_unsubscribe_and_list(in_workspace: Path) -> None:
    assert run("subscribers", "add", "New@Example.com", "--name", "New", "--attr", "city=Porto").exit_code == 0
    assert stored(in_workspace)["new@example.com"] == ("New", Status.ACTIVE, {"city": "Porto"})
    run("subscribers", "unsubscribe", "new@example.com")

    again = run("subscribers", "add", "new@example.com")
    assert "status kept" in again.output
    assert stored(in_workspace)["new@example.com"][1] == Status.UNSUBSCRIBED
    back = run("subscribers", "add", "new@example.com", "--resubscribe")
    assert "active again" in back.output

    run("subscribers", "add", "other@example.com")
    listing = run("subscribers", "list", "--status", "active")
    assert "active  2" in listing.output and "total  2" in listing.output
    assert listing.output.rstrip().endswith("new@example.com\nother@example.com")

    assert run("subscribers", "remove", "other@example.com").exit_code == 0
    missing = run("subscribers", "remove", "other@example.com")
    assert missing.exit_code == 1 and "not a subscriber" in missing.output
    bad = run("subscribers", "add", "not an address")
    assert bad.exit_code == 1 and "not a usable email address" in bad.output


def test_export_writes_every_subscriber_as_csv_with_each_column_once(in_workspace: Path) -> None:
    run("subscribers", "add", "a@example.com", "--name", "A", "--attr", "plan=paid", "--attr", "status=vip")
    run("subscribers", "add", "b@example.com")
    run("subscribers", "unsubscribe", "b@example.com")
    result = run("subscribers", "export")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    header = result.output.splitlines()[0].split(",")
    assert header == ["email", "name", "status", "created_at", "subscriber_id", "status_changed_at", "plan", "attribute:status"]
    assert len(set(header)) == len(header)
    assert [(r["email"], r["name"], r["status"], r["plan"], r["attribute:status"]) for r in rows] == [
        ("a@example.com", "A", "active", "paid", "vip"),
        ("b@example.com", "", "unsubscribed", "", ""),
    ]


def table(workspace: Path) -> list[tuple]:
    """The subscribers table as stored, but for updated_at (the time of the import)."""
    import sqlite3

    with sqlite3.connect(workspace / "subscribers.db") as db:
        rows = db.execute("SELECT email, name, attributes, status, created_at, public_id, status_changed_at FROM subscribers ORDER BY email").fetchall()
    return [(email, name, json.loads(attributes), *rest) for email, name, attributes, *rest in rows]


@pytest.mark.slow
def test_export_then_import_into_a_fresh_workspace_gives_the_same_table(in_workspace: Path, tmp_path: Path, monkeypatch) -> None:
    source = write_csv(
        in_workspace / "list.csv",
        'email,name,plan,city\nada@example.com,"Okafor, Ada",paid,Leith\nbo@example.com,,free,\nhana@例え.jp,Hana 花,,Kyoto\n'
        "cy@example.com,Cy,,\ndee@example.com,Dee,,\nemm@example.com,Emm,,\n",
    )
    assert run("subscribers", "import", str(source)).exit_code == 0
    run("subscribers", "unsubscribe", "cy@example.com")
    with Database(in_workspace / "subscribers.db") as db:
        db.subscribers.set_status(["dee@example.com"], Status.BOUNCED)
        db.subscribers.set_status(["emm@example.com"], Status.COMPLAINED)
    exported = in_workspace / "export.csv"
    assert run("subscribers", "export", "--out", str(exported)).exit_code == 0

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "newsletter.toml").write_text((in_workspace / "newsletter.toml").read_text())
    monkeypatch.chdir(fresh)
    result = run("subscribers", "import", str(exported))
    assert result.exit_code == 0, result.output
    assert "6 added" in result.output
    assert table(fresh) == table(in_workspace)
    statuses = {row[0]: row[3] for row in table(fresh)}
    assert statuses["cy@example.com"] == "unsubscribed" and statuses["dee@example.com"] == "bounced" and statuses["emm@example.com"] == "complained"


def test_a_status_column_is_honoured_and_never_reactivates(in_workspace: Path) -> None:
    first = write_csv(in_workspace / "one.csv", "email,status\nstill@example.com,active\nleaving@example.com,active\n")
    run("subscribers", "import", str(first))
    second = write_csv(
        in_workspace / "two.csv",
        "email,status\nleaving@example.com,unsubscribed\nnew-gone@example.com,bounced\nstill@example.com,active\n",
    )
    result = run("subscribers", "import", str(second))
    assert result.exit_code == 0, result.output
    assert "1 marked unsubscribed, bounced or complained" in result.output
    third = write_csv(in_workspace / "three.csv", "email,status\nleaving@example.com,active\nnew-gone@example.com,active\n")
    run("subscribers", "import", str(third))
    people = stored(in_workspace)
    assert people["leaving@example.com"][1] == Status.UNSUBSCRIBED
    assert people["new-gone@example.com"][1] == Status.BOUNCED
    assert people["still@example.com"][1] == Status.ACTIVE


def test_an_unknown_status_is_rejected_with_its_line(in_workspace: Path) -> None:
    source = write_csv(in_workspace / "list.csv", "email,status\na@example.com,active\nb@example.com,maybe\n")
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 1
    assert "line 3: 'b@example.com': status 'maybe' is not one this tool knows" in result.output
    assert stored(in_workspace) == {}


def test_mailchimp_exports_import_as_they_are(in_workspace: Path) -> None:
    subscribed = write_csv(
        in_workspace / "subscribed_members_export.csv",
        "Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME,LEID,TAGS\n"
        'ada@example.com,Ada,Okafor,2,2024-03-01 09:30:00,123,"""vip"",""early reader"""\n',
    )
    unsubscribed = write_csv(
        in_workspace / "unsubscribed_members_export.csv",
        "Email Address,First Name,Last Name,OPTIN_TIME,UNSUB_TIME,UNSUB_REASON\nbo@example.com,Bo,,2023-01-01 00:00:00,2024-05-01 10:00:00,too many\n",
    )
    cleaned = write_csv(in_workspace / "cleaned_members_export.csv", "Email Address,First Name,CLEAN_TIME\ncy@example.com,Cy,2024-06-01 00:00:00\n")
    for path in (subscribed, unsubscribed, cleaned):
        assert run("subscribers", "import", str(path)).exit_code == 0
    people = stored(in_workspace)
    assert people["ada@example.com"][:2] == ("Ada Okafor", Status.ACTIVE)
    assert "TAGS" not in people["ada@example.com"][2]  # Mailchimp's tags are tags here: "vip","early reader"
    with Database(in_workspace / "subscribers.db") as db:
        assert db.audience.tags("ada@example.com") == ["early reader", "vip"]
    assert people["bo@example.com"][:2] == ("Bo", Status.UNSUBSCRIBED)
    assert people["cy@example.com"][1] == Status.BOUNCED
    assert table(in_workspace)[0][4] == "2024-03-01T09:30:00+00:00"  # OPTIN_TIME becomes created_at


def test_buttondown_exports_import_as_they_are(in_workspace: Path) -> None:
    source = write_csv(
        in_workspace / "buttondown.csv",
        "email,creation_date,notes,metadata,tags,subscriber_type\n"
        'ada@example.com,2024-01-02T03:04:05Z,,"{""plan"": ""paid"", ""seats"": 3}",,premium\n'
        "bo@example.com,2024-01-02T03:04:05Z,,{},,unsubscribed\n"
        "cy@example.com,2024-01-02T03:04:05Z,,{},,unactivated\n"
        "dee@example.com,2024-01-02T03:04:05Z,a note,{},,regular\n",
    )
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 0, result.output
    assert "1 row(s) not imported: status unactivated (never confirmed, or flagged as spam)" in result.output
    people = stored(in_workspace)
    assert sorted(people) == ["ada@example.com", "bo@example.com", "dee@example.com"]
    assert people["ada@example.com"] == (None, Status.ACTIVE, {"plan": "paid", "seats": "3"})
    assert people["bo@example.com"][1] == Status.UNSUBSCRIBED
    assert people["dee@example.com"][2] == {"notes": "a note"}


def test_listmonk_exports_import_as_they_are(in_workspace: Path) -> None:
    source = write_csv(
        in_workspace / "listmonk.csv",
        "uuid,email,name,attributes,status,created_at,updated_at\n"
        '5e2b6c1e-0000-4000-8000-000000000001,ada@example.com,Ada,"{""city"": ""Leith""}",enabled,2024-02-03T04:05:06.123+01:00,2024-02-03T04:05:06Z\n'
        '5e2b6c1e-0000-4000-8000-000000000002,bo@example.com,Bo,{},blocklisted,2024-02-03T04:05:06Z,2024-02-03T04:05:06Z\n',
    )
    assert run("subscribers", "import", str(source)).exit_code == 0
    people = stored(in_workspace)
    assert people["ada@example.com"][:2] == ("Ada", Status.ACTIVE) and people["ada@example.com"][2]["city"] == "Leith"
    assert people["bo@example.com"][1] == Status.UNSUBSCRIBED
    assert table(in_workspace)[0][4] == "2024-02-03T03:05:06+00:00"


def test_import_names_addresses_some_providers_cannot_reach(in_workspace: Path) -> None:
    source = write_csv(in_workspace / "list.csv", "email\nhana@例え.jp\n用户@例え.jp\n")
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 0, result.output
    assert "1 address(es) have non-ASCII characters before the @ (e.g. 用户@例え.jp)" in result.output
    assert "SendGrid cannot deliver to them" in result.output


def test_an_imported_subscriber_id_that_someone_else_has_imports_nothing(in_workspace: Path) -> None:
    run("subscribers", "add", "first@example.com")
    with Database(in_workspace / "subscribers.db") as db:
        taken = db.subscribers.get("first@example.com").public_id
    source = write_csv(in_workspace / "list.csv", f"email,subscriber_id\nnew@example.com,fresh-id-12345\nother@example.com,{taken}\n")
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 1 and "nothing was imported" in result.output and "Traceback" not in result.output
    assert sorted(stored(in_workspace)) == ["first@example.com"]


def test_a_big_import_is_staged_and_merged_the_same_way(in_workspace: Path, monkeypatch) -> None:
    """Above DIRECT_UP_TO rows an import goes through a temporary table: same result."""
    import newsletter.db.subscribers as table

    monkeypatch.setattr(table, "DIRECT_UP_TO", 3)
    run("subscribers", "add", "known@example.com", "--name", "Known")
    source = write_csv(
        in_workspace / "list.csv",
        "email,name,status,plan\nb@example.com,B,,\nknown@example.com,,unsubscribed,gold\na@example.com,A,,free\nb@example.com,Bee,,paid\nc@example.com,,bounced,\n",
    )
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 0, result.output
    assert "3 added, 1 updated, 1 repeated rows merged, 1 marked unsubscribed, bounced or complained" in result.output
    assert stored(in_workspace) == {
        "a@example.com": ("A", Status.ACTIVE, {"plan": "free"}),
        "b@example.com": ("Bee", Status.ACTIVE, {"plan": "paid"}),
        "c@example.com": (None, Status.BOUNCED, {}),
        "known@example.com": ("Known", Status.UNSUBSCRIBED, {"plan": "gold"}),
    }


# --- the rules, without the command -------------------------------------------------------------


def test_adding_someone_who_left_keeps_them_off_the_list_unless_they_asked(tmp_path: Path) -> None:
    from newsletter.models import Subscriber
    from newsletter.subscribers.rules import add_subscriber, unsubscribe

    with Database(tmp_path / "subscribers.db") as db:
        assert add_subscriber(db, Subscriber("ada@example.com", "Ada")).before is None
        assert unsubscribe(db, "ada@example.com") == Status.ACTIVE
        kept = add_subscriber(db, Subscriber("ada@example.com", "Ada Lovelace"))
        assert (kept.before, kept.reactivated, db.subscribers.get("ada@example.com").status) == (Status.UNSUBSCRIBED, False, Status.UNSUBSCRIBED)
        back = add_subscriber(db, Subscriber("ada@example.com", "Ada Lovelace"), resubscribe=True)
        assert (back.before, back.reactivated, db.subscribers.get("ada@example.com").status) == (Status.UNSUBSCRIBED, True, Status.ACTIVE)
        assert unsubscribe(db, "nobody@example.com") is None


def test_a_signup_waits_for_its_confirmation_and_a_confirmation_is_welcomed_once(tmp_path: Path) -> None:
    """The form's rules without the web app: a signup is pending with a confirmation queued; the
    link makes them active and queues one welcome (none when the workspace has no welcome email,
    none for a link older than a later unsubscribe)."""
    import datetime as dt

    from newsletter.subscribers.rules import confirm, sign_up, unsubscribe

    def queued(db: Database, email: str) -> list[str]:
        return [kind for kind, _ in db.notice_queue.states(email)]

    issued = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with Database(tmp_path / "subscribers.db") as db:
        sign_up(db, "ada@example.com", "Ada")
        ada = db.subscribers.get("ada@example.com")
        assert ada.status == Status.PENDING and queued(db, "ada@example.com") == ["confirm"]
        result, welcomed = confirm(db, ada, issued, None, welcome=True)
        assert (result.result, welcomed, db.subscribers.get("ada@example.com").status) == ("confirmed", True, Status.ACTIVE)
        assert sorted(queued(db, "ada@example.com")) == ["confirm", "welcome"]
        assert confirm(db, ada, issued, None, welcome=True)[1] is False  # the link again: already active, no second welcome

        sign_up(db, "bo@example.com", None)
        bo = db.subscribers.get("bo@example.com")
        assert confirm(db, bo, issued, None, welcome=False)[1] is False and queued(db, "bo@example.com") == ["confirm"]

        sign_up(db, "cy@example.com", None)
        cy = db.subscribers.get("cy@example.com")
        changes_before_the_link = 0
        unsubscribe(db, "cy@example.com")
        result, welcomed = confirm(db, cy, issued, changes_before_the_link, welcome=True)
        assert (result.result, welcomed, db.subscribers.get("cy@example.com").status) == ("stale", False, Status.UNSUBSCRIBED)


def test_suppression_lists_map_to_statuses_and_stored_addresses() -> None:
    from newsletter.providers.sendgrid.suppressions import suppressed

    found = suppressed({"bounces": ["Bo@Example.com", "", "not an address"], "group_unsubscribes": ["hana@xn--r8jz45g.jp"]})
    assert [(s.kind, s.status, s.addresses, s.listed, s.skipped) for s in found] == [
        ("bounces", Status.BOUNCED, {"bo@example.com"}, 3, 2),
        ("group_unsubscribes", Status.UNSUBSCRIBED, {"hana@例え.jp"}, 1, 0),
    ]
