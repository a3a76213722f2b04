"""A subscriber's story, a new address, erasure, consent and old signups: the rules of
subscribers/rules.py and story.py on SQLite and on PostgreSQL alike (each test runs once per
database, see conftest.py)."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from newsletter.db import Database, Event, Location, Settlement
from newsletter.errors import ChangeRefused, NotASubscriber
from newsletter.mail.links import Purpose, make_token, verify_link
from newsletter.models import State, Status, Subscriber
from newsletter.subscribers.csv_formats import SubscriberCsv
from newsletter.subscribers.rules import (
    add_subscriber,
    confirm,
    edit_subscriber,
    erase,
    import_subscribers,
    purge_pending,
    remove_subscriber,
    sign_up,
)
from newsletter.subscribers.story import subscriber_story
from newsletter.workspace.credentials import SigningKeys

ADA = "ada@example.com"
SECRET = b"store-suite-secret-for-signing-links-0123456789"


def send_to_everyone(db: Database, issue: str, refused: dict[str, str] | None = None) -> None:
    """Issue `issue` through the ledger: every active subscriber's row sent, `refused` failed."""
    db.ledger.prepare(issue)
    claim = db.ledger.claim(issue, 100, f"send-{issue}", time.time())
    outcomes = {email: Settlement(State.FAILED, words) for email, words in (refused or {}).items()}
    db.ledger.settle(claim, outcomes, Settlement(State.SENT, message_id=f"m-{issue}"))


def signed_up_and_confirmed(db: Database, email: str, page: str = "https://example.org/join", text_version: str = "words-v1") -> Subscriber:
    sign_up(db, email, "Ada", page=page, text_version=text_version)
    pending = db.subscribers.get(email)
    assert pending is not None
    issued = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    result, _ = confirm(db, pending, issued, None, welcome=False)
    assert result.result == "confirmed"
    return pending


def write_list(tmp_path: Path, name: str, *emails: str) -> SubscriberCsv:
    path = tmp_path / name
    path.write_text("email,name\n" + "".join(f"{email},Reader\n" for email in emails), encoding="utf-8")
    return SubscriberCsv(path)


# --- the story ------------------------------------------------------------------------------------


def test_a_story_tells_status_consent_history_issues_events_and_notices(location: Location) -> None:
    with Database(location) as db:
        signed_up_and_confirmed(db, ADA)
        db.audience.tag([ADA], add=["early", "paid"])
        db.audience.choose_topics(ADA, {"deep-dives": False})
        send_to_everyone(db, "7")
        db.events.record([Event("e1", "open", ADA, "7", None, "2026-01-02T03:04:05+00:00")], "sendgrid")
        db.notices.record("confirm", ADA, "outbox", "sent", None)
        db.subscribers.leave(db.subscribers.get(ADA).public_id, "one-click", "7")

        story = subscriber_story(db, ADA, {"news": True, "deep-dives": True})

    assert (story.email, story.name, story.status, story.tags) == (ADA, "Ada", "unsubscribed", ["early", "paid"])
    assert story.topics == {"news": True, "deep-dives": False}
    assert story.consent is not None and (story.consent.method, story.consent.source, story.consent.text_version) == ("form", "https://example.org/join", "words-v1")
    assert [(c.status, c.channel, c.detail, c.issue) for c in story.history] == [
        ("pending", "web", "signed up", None),
        ("active", "web", "confirmed", None),
        ("unsubscribed", "one-click", None, "7"),
    ]
    assert [(r.issue, r.state, r.segment) for r in story.issues] == [("7", "sent", None)]
    assert [(e.event, e.issue) for e in story.events] == [("open", "7")]
    assert [(n.kind, n.outcome) for n in story.notices] == [("confirm", "sent")]
    as_json = json.loads(json.dumps(story.as_json()))  # plain JSON values, whole
    assert as_json["topics"] == {"news": True, "deep-dives": False} and as_json["history"][2]["channel"] == "one-click"
    assert "topics" not in subscriber_story_without_topics(location)


def subscriber_story_without_topics(location: Location) -> dict:
    with Database(location) as db:
        return subscriber_story(db, ADA, {}).as_json()


def test_a_story_of_someone_not_on_the_list_is_refused(location: Location) -> None:
    with Database(location) as db, pytest.raises(NotASubscriber):
        subscriber_story(db, "nobody@example.com", {})


# --- a new address --------------------------------------------------------------------------------


def test_a_new_address_keeps_the_link_id_history_ledger_and_choices(location: Location) -> None:
    with Database(location) as db:
        before = signed_up_and_confirmed(db, ADA)
        db.audience.tag([ADA], add=["early"])
        send_to_everyone(db, "7")
        db.events.record([Event("e1", "delivered", ADA, "7", None, "2026-01-02T03:04:05+00:00")], "sendgrid")
        token = make_token(before.public_id, Purpose.UNSUBSCRIBE, SECRET)  # in issue 7, sent to the old address

        assert edit_subscriber(db, ADA, "Ada L", "ada@new.example.org") == "ada@new.example.org"

        assert db.subscribers.get(ADA) is None
        story = subscriber_story(db, "ada@new.example.org", {})
        assert (story.name, story.tags, [r.issue for r in story.issues], [e.event for e in story.events]) == ("Ada L", ["early"], ["7"], ["delivered"])
        assert story.consent is not None and story.consent.method == "form"
        assert [(c.status, c.channel) for c in story.history][-1] == ("address changed", "command line")
        for table in ("tags", "consents", "status_changes", "deliveries", "events", "notice_queue"):
            assert db.connection.db.execute(f"SELECT count(*) FROM {table} WHERE email = ?", (ADA,)).fetchone()[0] == 0, table
        send_to_everyone(db, "7")  # the issue again: the reader has their row, nothing more is sent
        assert sum(db.ledger.counts("7").values()) == 1

        # The link in mail already sent still finds them, and unsubscribes the new address.
        verified = verify_link(token, Purpose.UNSUBSCRIBE, SigningKeys(SECRET))
        assert verified is not None
        public_id, _ = verified
        left = db.subscribers.leave(public_id, "one-click")
        assert left is not None and (left.email, left.status) == ("ada@new.example.org", Status.UNSUBSCRIBED)


def test_a_new_address_on_the_list_or_suppressed_is_refused_and_nothing_changes(location: Location) -> None:
    with Database(location) as db:
        add_subscriber(db, Subscriber(ADA, "Ada"))
        add_subscriber(db, Subscriber("bo@example.com", "Bo"))
        add_subscriber(db, Subscriber("gone@example.com", "Gone"))
        erase(db, "gone@example.com", "command line")
        with pytest.raises(ChangeRefused, match="already on the list"):
            edit_subscriber(db, ADA, "New Name", "bo@example.com")
        with pytest.raises(ChangeRefused, match="suppressed"):
            edit_subscriber(db, ADA, "New Name", "gone@example.com")
        assert db.subscribers.get(ADA).name == "Ada" and db.subscribers.get("gone@example.com") is None
        with pytest.raises(NotASubscriber):
            edit_subscriber(db, "nobody@example.com", "X")


# --- erasure --------------------------------------------------------------------------------------


def test_erasure_deletes_the_person_keeps_the_figures_and_a_suppression(location: Location) -> None:
    with Database(location) as db:
        signed_up_and_confirmed(db, ADA)
        add_subscriber(db, Subscriber("bo@example.com", "Bo"))
        db.audience.tag([ADA], add=["early"])
        db.audience.choose_topics(ADA, {"news": False})
        send_to_everyone(db, "7", refused={ADA: f"550 <{ADA}>: mailbox full"})
        db.events.record([Event("e1", "open", ADA, "7", None, "2026-01-02T03:04:05+00:00")], "sendgrid")
        db.notices.record("confirm", ADA, "outbox", "sent", None)
        db.notice_queue.add("welcome", ADA)
        counts_before = db.ledger.counts("7")

        assert erase(db, ADA, "command line") is True

        tables = ("subscribers", "tags", "subscriptions", "consents", "status_changes", "deliveries", "events", "notices", "notice_queue")
        for table in tables:
            assert db.connection.db.execute(f"SELECT count(*) FROM {table} WHERE email = ?", (ADA,)).fetchone()[0] == 0, table
        everything = json.dumps([list(db.connection.db.execute(f"SELECT * FROM {table}")) for table in tables])
        assert ADA not in everything  # nor in the provider's words
        assert db.ledger.counts("7") == counts_before  # each issue's figures stay
        placeholder = "erased:" + db.audience.address_hash(ADA)[:16]
        assert [r.detail for r in db.records.deliveries(placeholder)] == [f"550 <{placeholder}>: mailbox full"]
        assert db.audience.suppression(ADA) == "erased at their request"
        assert db.subscribers.get("bo@example.com") is not None
        assert erase(db, "nobody@example.com", "command line") is False
        assert db.audience.suppression("nobody@example.com") is None


def test_an_erased_address_is_skipped_by_an_import_and_counted(location: Location, tmp_path: Path) -> None:
    with Database(location) as db:
        add_subscriber(db, Subscriber(ADA, "Ada"))
        erase(db, ADA, "command line")
        imported = import_subscribers(db, write_list(tmp_path, "spring.csv", ADA, "bo@example.com", "cy@example.com"))
        assert imported is not None
        assert (imported.counts.added, imported.suppressed) == (2, {"erased at their request": 1})
        assert db.subscribers.get(ADA) is None
        consent = db.audience.consent("bo@example.com")
        assert consent is not None and (consent.method, consent.source) == ("import", "spring.csv")


def test_an_import_records_consent_only_for_those_new_to_the_list(location: Location, tmp_path: Path) -> None:
    with Database(location) as db:
        add_subscriber(db, Subscriber(ADA, "Ada"))
        import_subscribers(db, write_list(tmp_path, "more.csv", ADA, "bo@example.com"))
        assert db.audience.consent(ADA).method == "editor"
        assert db.audience.consent("bo@example.com").method == "import"


def test_an_erased_reader_who_signs_up_and_confirms_is_back_and_no_longer_suppressed(location: Location) -> None:
    with Database(location) as db:
        add_subscriber(db, Subscriber(ADA, "Ada"))
        erase(db, ADA, "command line")
        with pytest.raises(ChangeRefused, match="only their own signup"):
            add_subscriber(db, Subscriber(ADA, "Ada"), resubscribe=True)
        sign_up(db, ADA, "Ada", page="https://example.org/join", text_version="v2")
        assert db.subscribers.get(ADA).status == Status.PENDING
        assert db.audience.suppression(ADA) is not None  # a signup alone proves nothing
        signed_up_and_confirmed(db, ADA)
        assert db.subscribers.get(ADA).status == Status.ACTIVE
        assert db.audience.suppression(ADA) is None
        assert db.audience.consent(ADA).text_version == "v2"


def test_a_signup_of_a_known_address_keeps_its_consent(location: Location) -> None:
    with Database(location) as db:
        add_subscriber(db, Subscriber(ADA, "Ada"))
        sign_up(db, ADA, None, page="https://elsewhere.example/form", text_version="v9")
        assert db.audience.consent(ADA).method == "editor"


# --- removing and old signups ---------------------------------------------------------------------


def test_removing_someone_who_left_needs_forget(location: Location) -> None:
    with Database(location) as db:
        add_subscriber(db, Subscriber(ADA, "Ada"))
        db.audience.tag([ADA], add=["early"])
        db.subscribers.set_status([ADA], Status.UNSUBSCRIBED)
        refused = remove_subscriber(db, ADA)
        assert (refused.before, refused.removed) == (Status.UNSUBSCRIBED, False) and db.subscribers.get(ADA) is not None
        removed = remove_subscriber(db, ADA, forget=True)
        assert removed.removed and db.subscribers.get(ADA) is None
        assert (db.audience.tags(ADA), db.audience.consent(ADA), db.audience.suppression(ADA)) == ([], None, None)


def test_purging_old_signups_counts_them_and_keeps_the_confirmed(location: Location) -> None:
    with Database(location) as db:
        for email in ("old-1@example.com", "old-2@example.com", "fresh@example.com", "asked-again@example.com"):
            sign_up(db, email, None)
        signed_up_and_confirmed(db, "confirmed@example.com")
        long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=40)).isoformat(timespec="seconds")
        for email in ("old-1@example.com", "old-2@example.com", "asked-again@example.com", "confirmed@example.com"):
            db.connection.db.execute("UPDATE subscribers SET created_at = ?, status_changed_at = ? WHERE email = ?", (long_ago, long_ago, email))
            db.connection.db.execute("UPDATE notice_queue SET queued_at = ? WHERE email = ?", (long_ago, email))
        db.notice_queue.add("confirm", "asked-again@example.com")  # a fresh link, still to be used

        assert purge_pending(db, dt.timedelta(days=30), dry_run=True) == 2
        assert db.subscribers.get("old-1@example.com") is not None
        assert purge_pending(db, dt.timedelta(days=30)) == 2
        left = sorted(s.email for s in db.subscribers.all())
        assert left == ["asked-again@example.com", "confirmed@example.com", "fresh@example.com"]
        for table in ("consents", "status_changes", "notice_queue"):
            assert db.connection.db.execute(f"SELECT count(*) FROM {table} WHERE email = 'old-1@example.com'").fetchone()[0] == 0, table
        assert db.audience.suppression("old-1@example.com") is None  # they may sign up again


def test_someone_erased_twice_keeps_one_ledger_row_per_issue(location: Location) -> None:
    """Erased, back by their own signup, sent the same issue again (readers added since get it), erased again."""
    with Database(location) as db:
        signed_up_and_confirmed(db, ADA)
        send_to_everyone(db, "7")
        erase(db, ADA, "command line")
        signed_up_and_confirmed(db, ADA)
        send_to_everyone(db, "7")
        send_to_everyone(db, "8")
        assert erase(db, ADA, "web") is True
        placeholder = "erased:" + db.audience.address_hash(ADA)[:16]
        assert [(r.issue, r.state) for r in db.records.deliveries(placeholder)] == [("7", "sent"), ("8", "sent")]
        assert [c.channel for c in db.records.history(placeholder) if c.status == "erased"] == ["command line", "web"]


@pytest.mark.slow
def test_an_erased_reader_who_comes_back_is_not_sent_an_issue_they_had_again(location: Location) -> None:
    """Erasure keeps each issue's rows under a placeholder; their own new double opt-in takes the
    rows back, so a rerun of an issue they had skips them (exactly once per reader)."""
    with Database(location) as db:
        add_subscriber(db, Subscriber(ADA, "Ada"))
        send_to_everyone(db, "1")
        erase(db, ADA, "preferences")
        time.sleep(1.1)  # a confirmation link is dated to the second, after the erasure
        signed_up_and_confirmed(db, ADA)
        db.ledger.prepare("1")  # a rerun of issue 1 (say, to a wider segment)
        assert db.ledger.counts("1")[State.PENDING] == 0 and db.ledger.counts("1")[State.SENT] == 1
        db.ledger.prepare("2")
        assert db.ledger.counts("2")[State.PENDING] == 1  # a new issue reaches them
