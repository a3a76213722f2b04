"""The store contract: what the tool relies on from its database, asserted on SQLite and on
PostgreSQL alike (each test runs once per database, see conftest.py)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import sqlite3
import time
from pathlib import Path

import psycopg
import pytest

from newsletter.db import Bouncing, Database, Event, Location, Schedule, Server, Settlement, StoreError
from newsletter.db import subscribers as subscribers_table
from newsletter.db.dialect import POSTGRES, SQLITE
from newsletter.db.ledger import INTERRUPTED
from newsletter.db.migrations import SCHEMA_VERSION, TABLES
from newsletter.models import State, Status, Subscriber

ISSUE = "7"


def people(*emails: str, status: Status = Status.ACTIVE) -> list[Subscriber]:
    return [Subscriber(email, f"Name {n}", {"city": f"C{n}"}, status) for n, email in enumerate(emails)]


def test_a_new_database_has_every_table_at_the_current_schema(location: Location) -> None:
    with Database(location) as db:
        assert (db.connection.migrated_from, db.connection.version()) == (0, SCHEMA_VERSION)
        for table in TABLES:
            assert db.connection.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def test_reopening_keeps_everything_and_migrates_nothing(location: Location) -> None:
    with Database(location) as db:
        db.subscribers.upsert(people("ada@example.com"))
    with Database(location) as db:
        assert db.connection.migrated_from == SCHEMA_VERSION
        assert [s.email for s in db.subscribers.all()] == ["ada@example.com"]


def test_import_merges_repeats_keeps_the_first_id_and_never_reactivates(location: Location) -> None:
    with Database(location) as db:
        db.subscribers.upsert(people("ada@example.com", "bob@example.com"))
        first_id = db.subscribers.get("ada@example.com").public_id
        db.subscribers.set_status(["bob@example.com"], Status.UNSUBSCRIBED)
        counts = db.subscribers.upsert(
            [
                Subscriber("ada@example.com", None, {"plan": "paid"}, Status.ACTIVE),
                Subscriber("bob@example.com", "Bob", {}, Status.ACTIVE),  # left: stays left
                Subscriber("cy@example.com", "Cy", {"a": "1"}, Status.ACTIVE),
                Subscriber("cy@example.com", "Cy Later", {"b": "2"}, Status.ACTIVE),  # a repeat: later values win
                Subscriber("dee@example.com", "Dee", {}, Status.BOUNCED),
            ]
        )
        assert (counts.added, counts.updated, counts.unchanged) == (2, 2, 0)  # ada gains an attribute, bob a name; cy's repeat is no one known
        ada, bob, cy, dee = (db.subscribers.get(e) for e in ("ada@example.com", "bob@example.com", "cy@example.com", "dee@example.com"))
        assert ada.public_id == first_id and ada.name == "Name 0" and ada.attributes == {"city": "C0", "plan": "paid"}
        assert bob.status == Status.UNSUBSCRIBED and bob.name == "Bob"
        assert cy.name == "Cy Later" and cy.attributes == {"a": "1", "b": "2"}
        assert dee.status == Status.BOUNCED
        assert db.subscribers.attribute_names() == ["a", "b", "city", "plan"]
        assert [s.email for s in db.subscribers.all()] == sorted(["ada@example.com", "bob@example.com", "cy@example.com", "dee@example.com"])
        assert db.subscribers.counts_by_status()[Status.ACTIVE] == 2


@pytest.mark.parametrize("path", ["direct", "staged"])
def test_importing_what_is_already_there_counts_as_unchanged(location: Location, path: str, monkeypatch) -> None:
    """Re-importing the same file used to report every row as updated."""
    if path == "staged":
        if not isinstance(location, Path):
            pytest.skip("PostgreSQL merges every import the same way")
        monkeypatch.setattr(subscribers_table, "DIRECT_UP_TO", 2)  # SQLite's path for a big list
    same = [Subscriber("a@example.com", "Ann", {"city": "Oslo", "plan": "free"}), *people("b@example.com", "c@example.com", "d@example.com")]
    with Database(location) as db:
        db.subscribers.upsert(same)
        before = {s.email: s for s in db.subscribers.all()}
        counts = db.subscribers.upsert(same)
        assert (counts.added, counts.updated, counts.unchanged, counts.deactivated) == (0, 0, 4, 0)
        assert {s.email: s for s in db.subscribers.all()} == before

        again = [
            Subscriber("a@example.com", None, {"plan": "free"}),  # no name and a subset of the attributes: nothing to change
            Subscriber("b@example.com", "Bea", {"city": "C0"}),  # a new name
            *people("c@example.com", status=Status.UNSUBSCRIBED),  # left elsewhere
            Subscriber("d@example.com", "Name 2", {"city": "C2", "plan": "paid"}),  # a new attribute
            *people("e@example.com"),
        ]
        counts = db.subscribers.upsert(again)
        assert (counts.added, counts.updated, counts.unchanged, counts.deactivated) == (1, 3, 1, 1)


def test_an_import_that_marks_someone_unsubscribed_deactivates_them(location: Location, monkeypatch) -> None:
    monkeypatch.setattr(subscribers_table, "DIRECT_UP_TO", 2)  # SQLite's staged path, as for a big list
    with Database(location) as db:
        db.subscribers.upsert(people("a@example.com", "b@example.com", "c@example.com"))
        counts = db.subscribers.upsert([*people("b@example.com", status=Status.UNSUBSCRIBED), *people("d@example.com", "e@example.com")])
        assert (counts.added, counts.deactivated) == (2, 1)
        assert db.subscribers.get("b@example.com").status == Status.UNSUBSCRIBED


def ticking_clock(start: dt.datetime = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)):
    """A clock one second later at every read: two reads for one change would show."""
    reads = iter(range(1_000_000))
    return lambda: (start + dt.timedelta(seconds=next(reads))).isoformat(timespec="seconds")


@pytest.mark.parametrize("path", ["direct", "staged"])
def test_an_import_stamps_a_deactivation_with_one_time(location: Location, path: str, monkeypatch) -> None:
    """An import used to read the clock twice for one deactivation on PostgreSQL, so its
    updated_at and status_changed_at could name two different seconds."""
    if path == "staged":
        if not isinstance(location, Path):
            pytest.skip("PostgreSQL merges every import the same way")
        monkeypatch.setattr(subscribers_table, "DIRECT_UP_TO", 1)
    with Database(location) as db:
        db.subscribers.upsert(people("a@example.com", "b@example.com"))
        monkeypatch.setattr(subscribers_table, "now", ticking_clock())
        db.subscribers.upsert([*people("a@example.com", status=Status.UNSUBSCRIBED), *people("c@example.com")])
        updated, changed = db.connection.db.execute("SELECT updated_at, status_changed_at FROM subscribers WHERE email = ?", ("a@example.com",)).fetchone()
        assert updated == changed


@pytest.mark.parametrize("path", ["direct", "staged"])
def test_an_import_that_deactivates_someone_records_it_in_their_history(location: Location, path: str, monkeypatch) -> None:
    """An import took people off the list without a word in their history, so the report's
    unsubscribes by channel and the subscriber's history missed it."""
    if path == "staged":
        if not isinstance(location, Path):
            pytest.skip("PostgreSQL merges every import the same way")
        monkeypatch.setattr(subscribers_table, "DIRECT_UP_TO", 1)
    with Database(location) as db:
        db.subscribers.upsert(people("a@example.com", "b@example.com", "c@example.com"))
        db.ledger.prepare(ISSUE)
        db.ledger.settle(db.ledger.claim(ISSUE, 10, "send-7", 0), {}, Settlement(State.SENT))
        db.subscribers.set_status(["c@example.com"], Status.UNSUBSCRIBED)
        counts = db.subscribers.upsert(
            [
                *people("a@example.com", status=Status.UNSUBSCRIBED),
                *people("a@example.com", status=Status.UNSUBSCRIBED),  # a repeat: still one change
                *people("b@example.com"),  # stays
                *people("c@example.com", status=Status.BOUNCED),  # already off the list: no change
                *people("d@example.com", status=Status.BOUNCED),  # new, arrives gone: was never on the list
            ]
        )
        assert counts.deactivated == 1
        changed_at = db.connection.db.execute("SELECT status_changed_at FROM subscribers WHERE email = ?", ("a@example.com",)).fetchone()[0]
        assert db.subscribers.changes("a@example.com") == [("unsubscribed", "import", None, changed_at)]
        assert db.subscribers.changes("b@example.com") == []
        assert [change[:2] for change in db.subscribers.changes("c@example.com")] == [("unsubscribed", "command line")]
        assert db.subscribers.changes("d@example.com") == []
        assert db.reports.unsubscribes(ISSUE, "0000-01-01T00:00:00+00:00", None) == {"command line": 1, "import": 1}


def test_an_imported_id_that_someone_else_has_imports_nothing(location: Location) -> None:
    with Database(location) as db:
        db.subscribers.upsert(people("ada@example.com"))
        taken = db.subscribers.get("ada@example.com").public_id
        with pytest.raises(StoreError, match="nothing was imported"):
            db.subscribers.upsert([*people("new1@example.com"), Subscriber("new2@example.com", None, {}, Status.ACTIVE, taken)])
        assert [s.email for s in db.subscribers.all()] == ["ada@example.com"]


def test_sign_up_confirm_and_leave_are_recorded_with_their_channel(location: Location) -> None:
    with Database(location) as db:
        pending = db.subscribers.sign_up("new@example.com", "New")
        assert pending.status == Status.PENDING
        assert db.subscribers.sign_up("new@example.com", "Someone Else").name == "New"  # a stranger changes nothing
        assert db.subscribers.confirm(pending.public_id, "1970-01-01T00:00:00+00:00").result == "stale"
        assert db.subscribers.confirm(pending.public_id, "2999-01-01T00:00:00+00:00").result == "confirmed"
        assert db.subscribers.confirm(pending.public_id, "2999-01-01T00:00:00+00:00").result == "already"
        assert db.subscribers.leave(pending.public_id, "one-click").status == Status.UNSUBSCRIBED
        assert db.subscribers.leave("no-such-id", "one-click") is None
        assert [(status, channel) for status, channel, _, _ in db.subscribers.changes("new@example.com")] == [
            ("pending", "web"), ("active", "web"), ("unsubscribed", "one-click"),
        ]


def test_a_confirmation_is_ordered_against_changes_in_its_own_second(location: Location) -> None:
    """Times are kept to the second: a link made before an unsubscribe in the same second used
    to re-activate the address. The change number a link carries orders the two."""
    with Database(location) as db:
        pending = db.subscribers.sign_up("quick@example.com", None)
        before_leaving = db.subscribers.last_change("quick@example.com")  # the link in the confirmation email
        db.subscribers.leave(pending.public_id, "one-click")
        second = db.connection.db.execute("SELECT status_changed_at FROM subscribers WHERE email = ?", ("quick@example.com",)).fetchone()[0]
        assert db.subscribers.confirm(pending.public_id, second, before_leaving).result == "stale"
        assert db.subscribers.get("quick@example.com").status == Status.UNSUBSCRIBED
        after_leaving = db.subscribers.last_change("quick@example.com")  # they asked to come back, in that second
        assert after_leaving > before_leaving
        assert db.subscribers.confirm(pending.public_id, second, after_leaving).result == "confirmed"
        assert db.subscribers.get("quick@example.com").status == Status.ACTIVE
        assert db.subscribers.last_change("nobody@example.com") == 0


def test_provider_events_count_once_and_three_soft_bounces_bounce(location: Location) -> None:
    with Database(location) as db:
        db.subscribers.upsert(people("ada@example.com", "bob@example.com"))
        soft = [Event(f"s{n}", "deferred", "bob@example.com", ISSUE, None, None, soft_bounce=True) for n in range(3)]
        opened = Event("o1", "open", "ada@example.com", ISSUE, None, None, detail="machine")
        assert db.events.record([opened, opened, *soft[:2]], "sendgrid") == 3
        assert db.subscribers.get("bob@example.com").status == Status.ACTIVE
        assert db.events.record(soft, "sendgrid") == 1  # two seen before
        assert db.subscribers.get("bob@example.com").status == Status.BOUNCED
        complaint = Event("c1", "spamreport", "bob@example.com", ISSUE, None, None, status=Status.COMPLAINED)
        db.events.record([complaint], "sendgrid")
        assert db.subscribers.get("bob@example.com").status == Status.COMPLAINED
        assert db.events.counts(ISSUE) == {"deferred": 1, "open": 1, "spamreport": 1}
        assert db.reports.opens(ISSUE) == (0, 1, 1)
        db.notices.record("confirm", "ada@example.com", "outbox", "sent", None)
        assert [kind for kind, _, _ in db.notices.sent_to("ada@example.com")] == ["confirm"]


def test_each_row_is_claimed_once_and_a_crash_leaves_unknown_or_pending(location: Location) -> None:
    emails = [f"r{n:03d}@example.com" for n in range(25)]
    with Database(location) as db:
        db.subscribers.upsert(people(*emails))
        db.ledger.prepare(ISSUE)
        first = db.ledger.claim(ISSUE, 10, "send-1", time.time())
        db.ledger.mark_handed_over(first)
        second = db.ledger.claim(ISSUE, 10, "send-2", time.time())  # claimed, never handed over
        assert [r.email for r in first.recipients] == emails[:10]
        assert [r.email for r in second.recipients] == emails[10:20]
        db.ledger.prepare(ISSUE)  # idempotent for rows, and recovers the two batches
        counts = db.ledger.counts(ISSUE)
        assert (counts[State.UNKNOWN], counts[State.PENDING]) == (10, 15)
        assert {d.detail for d in db.ledger.deliveries(ISSUE, [State.UNKNOWN])} == {INTERRUPTED}
        assert db.ledger.retry_unknown(ISSUE) == 10
        batch = db.ledger.claim(ISSUE, 100, "send-3", time.time())
        db.ledger.settle(batch, {emails[0]: Settlement(State.FAILED, "refused")}, Settlement(State.SENT, message_id="m-1"))
        counts = db.ledger.counts(ISSUE)
        assert (counts[State.SENT], counts[State.FAILED], counts[State.PENDING]) == (24, 1, 0)
        assert db.ledger.claim(ISSUE, 10, "send-4", time.time()).recipients == []


def test_someone_who_leaves_mid_send_is_skipped(location: Location) -> None:
    with Database(location) as db:
        db.subscribers.upsert(people("a@example.com", "b@example.com"))
        db.ledger.prepare(ISSUE)
        db.subscribers.set_status(["a@example.com"], Status.UNSUBSCRIBED)
        claim = db.ledger.claim(ISSUE, 10, "s", time.time())
        assert [r.email for r in claim.recipients] == ["b@example.com"]
        assert db.ledger.counts(ISSUE)[State.SKIPPED] == 1


def test_a_deferred_row_waits_for_its_time(location: Location) -> None:
    with Database(location) as db:
        db.subscribers.upsert(people("a@example.com"))
        db.ledger.prepare(ISSUE)
        claim = db.ledger.claim(ISSUE, 10, "s", time.time())
        later = time.time() + 60
        db.ledger.settle(claim, {}, Settlement(State.PENDING, "deferred", not_before=later))
        assert db.ledger.claim(ISSUE, 10, "s2", time.time()).recipients == []
        assert db.ledger.next_due(ISSUE) == pytest.approx(later)
        assert len(db.ledger.claim(ISSUE, 10, "s3", later + 1).recipients) == 1


def test_schedules_are_saved_replaced_held_and_released(location: Location) -> None:
    at = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
    with Database(location) as db:
        db.subscribers.upsert(people("a@example.com", "b@example.com"))
        db.ledger.prepare(ISSUE)
        assert db.ledger.hold(ISSUE, Schedule(ISSUE, at, "outbox", "here", None, "issues/x.yaml")) == 2
        db.ledger.save_schedule(Schedule(ISSUE, at + dt.timedelta(hours=1), "outbox", "here", None, "issues/x.yaml"))
        assert [s.send_at for s in db.ledger.schedules()] == [at + dt.timedelta(hours=1)]
        assert db.ledger.handed_over(ISSUE) == 0
        assert db.ledger.settle_scheduled(ISSUE, State.PENDING, None, drop_schedule=True) == 2
        assert db.ledger.schedule(ISSUE) is None


def test_the_issue_record_notes_a_change_after_hand_over(location: Location) -> None:
    with Database(location) as db:
        db.subscribers.upsert(people("a@example.com"))
        db.ledger.record_issue(ISSUE, "issues/a.yaml", "Subject", "fp1")
        db.ledger.record_issue(ISSUE, "issues/a.yaml", "Subject", "fp2")  # nothing sent yet: simply replaced
        assert db.ledger.issue_record(ISSUE).first_fingerprint == "fp2"
        db.ledger.prepare(ISSUE)
        db.ledger.settle(db.ledger.claim(ISSUE, 10, "s", time.time()), {}, Settlement(State.SENT))
        db.ledger.record_issue(ISSUE, "issues/a.yaml", "Subject 2", "fp3")
        record = db.ledger.issue_record(ISSUE)
        assert (record.fingerprint, record.first_fingerprint, record.handed_over_before_change) == ("fp3", "fp2", 1)
        db.ledger.record_issue("12", "issues/b.yaml", "Twelve", "x")
        db.ledger.record_issue("draft-notes", "issues/c.yaml", "Not a number", "y")
        assert db.ledger.highest_issue() == 12
        assert [key for key, _ in db.reports.issues()][:2] == ["7", "12"]


def test_report_queries(location: Location) -> None:
    with Database(location) as db:
        db.subscribers.upsert(people("a@example.com", "b@example.com"))
        db.ledger.prepare(ISSUE)
        db.ledger.settle(db.ledger.claim(ISSUE, 10, "s", time.time()), {}, Settlement(State.SENT))
        db.events.record(
            [
                Event("b1", "bounce", "a@example.com", ISSUE, None, "2026-12-01T08:00:00+00:00", detail="hard: no such user"),
                Event("k1", "click", "b@example.com", ISSUE, None, "2026-12-01T08:05:00+00:00", detail="https://example.com/x"),
                Event("k2", "click", "b@example.com", ISSUE, None, "2026-12-01T08:06:00+00:00", detail="https://example.com/x"),
                Event("o1", "open", "b@example.com", ISSUE, None, None),
                Event("x1", "click", "b@example.com", "not-an-issue", None, "2026-12-02T08:00:00+00:00", detail="https://example.com/y"),
                Event("x2", "delivered", "b@example.com", "99", None, "2026-12-02T08:00:00+00:00"),
            ],
            "sendgrid",
        )
        reports = db.reports
        assert set(reports.first_sends()) == {ISSUE}  # events naming an issue the ledger does not know make none
        assert reports.events_of_no_known_issue() == 2
        assert reports.states(ISSUE) == {"sent": 2}
        assert reports.bounces(ISSUE) == {"hard": 1}
        assert reports.clicks(ISSUE) == [("https://example.com/x", 2, 1)]
        assert reports.opens(ISSUE) == (1, 0, 1)
        assert reports.addresses_per_event(ISSUE) == {"bounce": 1, "click": 1, "open": 1}
        assert ISSUE in reports.first_sends()
        db.subscribers.leave(db.subscribers.get("b@example.com").public_id, "one-click")
        assert reports.unsubscribes(ISSUE, "2000-01-01T00:00:00+00:00", None) == {"one-click": 1}
        assert reports.unsubscribes(ISSUE, "2000-01-01T00:00:00+00:00", "2000-01-02T00:00:00+00:00") == {}


def test_a_database_from_a_newer_version_is_refused_untouched(location: Location) -> None:
    with Database(location) as db:
        db.connection.dialect.record_version(db.connection.db, SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="newer version of newsletter"):
        Database(location)
    assert version_without_opening(location) == SCHEMA_VERSION + 1


def version_without_opening(location: Location) -> int:
    """The schema version as stored, read past Database (which would refuse, or migrate)."""
    if isinstance(location, Server):
        with psycopg.connect(location.url, autocommit=True) as raw:
            return POSTGRES.read_version(raw)
    with contextlib.closing(sqlite3.connect(location)) as raw:
        return SQLITE.read_version(raw)


def test_a_failed_upgrade_changes_nothing(location: Location, monkeypatch) -> None:
    """A schema step that fails half-way (a column added, then an error) is undone whole: the
    version, the tables and their rows stay as they were."""
    with Database(location) as db:
        db.subscribers.upsert(people("ada@example.com", "bob@example.com"))
        before = db.connection.db.execute("SELECT * FROM subscribers ORDER BY email").fetchall()
        opener = type(db.connection)
    broken = (*opener.dialect.migrations, "ALTER TABLE subscribers ADD COLUMN shoe_size INTEGER;\nTHIS IS NOT SQL;")
    monkeypatch.setattr(opener, "dialect", dataclasses.replace(opener.dialect, migrations=broken))
    with pytest.raises(StoreError, match="upgrading the database to schema .* failed, nothing was changed"):
        Database(location)
    monkeypatch.undo()
    assert version_without_opening(location) == SCHEMA_VERSION
    with Database(location) as db:
        assert "shoe_size" not in [c[0] for c in db.connection.db.execute("SELECT * FROM subscribers LIMIT 0").description]
        assert db.connection.db.execute("SELECT * FROM subscribers ORDER BY email").fetchall() == before


def test_a_run_lock_is_exclusive_or_shared(location: Location) -> None:
    from newsletter.db import Busy

    with Database(location) as one, Database(location) as two, Database(location) as three:
        with one.connection.lock("issue-7", "taken"), pytest.raises(Busy, match="taken"), two.connection.lock("issue-7", "taken"):
            pass
        with two.connection.lock("issue-7", "taken"):  # released by the first: free again
            pass
        shared = one.connection.lock("issue-7", "taken", shared=True), two.connection.lock("issue-7", "taken", shared=True)
        with shared[0], shared[1], pytest.raises(Busy), three.connection.lock("issue-7", "taken"):
            pass


def test_permanent_refusals_in_a_row_bounce_an_address_as_the_ledger_settles(location: Location) -> None:
    rule = Bouncing(2, "smtp")
    refused = "SMTP 550 5.1.1 No such user"
    with Database(location) as db:
        db.subscribers.upsert(people("a@example.com", "b@example.com", "c@example.com"))
        made = {}
        for number, refusing in (("1", {"b@example.com"}), ("2", {"b@example.com", "c@example.com"}), ("3", {"c@example.com"})):
            db.ledger.prepare(number)
            claim = db.ledger.claim(number, 10, f"send-{number}", 0)
            made[number] = db.ledger.settle(claim, {email: Settlement(State.FAILED, refused, bounced=True) for email in refusing}, Settlement(State.SENT), rule)
        assert made == {"1": {}, "2": {"b@example.com": refused}, "3": {"c@example.com": refused}}
        assert {s.email: s.status for s in db.subscribers.all()} == {"a@example.com": Status.ACTIVE, "b@example.com": Status.BOUNCED, "c@example.com": Status.BOUNCED}
        assert db.subscribers.changes("b@example.com")[0][:3] == ("bounced", "smtp", f"{refused} (issue 2: 2 permanent refusals in a row)")
        assert db.ledger.counts("3")[State.SENT] == 1  # b, bounced, was not claimed for issue 3


def test_a_letter_taken_ends_a_run_of_refusals(location: Location) -> None:
    rule = Bouncing(2, "smtp")
    refusal = Settlement(State.FAILED, "SMTP 550 5.1.1 No such user", bounced=True)
    with Database(location) as db:
        db.subscribers.upsert(people("a@example.com", "b@example.com"))
        for number, refusing in (("1", True), ("2", False), ("3", True)):
            db.ledger.prepare(number)
            claim = db.ledger.claim(number, 10, f"send-{number}", 0)
            db.ledger.settle(claim, {"b@example.com": refusal} if refusing else {}, Settlement(State.SENT), rule)
        assert db.subscribers.get("b@example.com").status == Status.ACTIVE  # refused twice, not in a row


def test_an_unsubscribe_is_credited_to_the_issue_its_link_names(location: Location) -> None:
    with Database(location) as db:
        db.subscribers.upsert(people("a@example.com", "b@example.com", "c@example.com"))
        for number in ("1", "2"):
            db.ledger.prepare(number)
            db.ledger.settle(db.ledger.claim(number, 10, f"send-{number}", 0), {}, Settlement(State.SENT))
        ids = {s.email: s.public_id for s in db.subscribers.all()}
        db.subscribers.leave(ids["a@example.com"], "one-click", "1")  # from issue 1's link, after issue 2 went out
        db.subscribers.leave(ids["b@example.com"], "one-click")  # an old link, naming no issue: the latest window
        first = "0000-01-01T00:00:00+00:00"
        assert db.reports.unsubscribes("1", first, first) == {"one-click": 1}  # a's, though outside issue 1's window
        assert db.reports.unsubscribes("2", first, None) == {"one-click": 1}  # b's only: a's link named issue 1
