"""Subscriber lists in and out (issue 22, items 10, 11, 12 and 14): addresses in any spelling
become the one stored form, reserved link ids and control characters are refused with the file,
line and column named (nothing imported), and an export / remove / import keeps when each
status last changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from attack import run

from newsletter.addresses import normalize
from newsletter.db import Database
from newsletter.models import Status, Subscriber

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
    assert run("subscribers", "remove", "hana@xn--r8jz45g.jp").exit_code == 0
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
