"""Subscriber lists: CSV import, the single-address commands, and export."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from conftest import run

from newsletter.store import Status, Store


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def stored(workspace: Path) -> dict[str, tuple]:
    with Store(workspace / "subscribers.db") as store:
        return {s.email: (s.name, s.status, s.attributes) for s in store.subscribers()}


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
    with Store(in_workspace / "subscribers.db") as store:
        store.set_status(["stay@example.com"], Status.BOUNCED)

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


def test_export_writes_every_subscriber_as_csv(in_workspace: Path) -> None:
    run("subscribers", "add", "a@example.com", "--name", "A", "--attr", "plan=paid")
    run("subscribers", "add", "b@example.com")
    run("subscribers", "unsubscribe", "b@example.com")
    result = run("subscribers", "export")
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows == [["email", "name", "status", "plan"], ["a@example.com", "A", "active", "paid"], ["b@example.com", "", "unsubscribed", ""]]
