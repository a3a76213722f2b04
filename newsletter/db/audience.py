"""Tags, topic choices, consent records and suppressions: what the list knows of each reader
beyond their status. SQL only; the rules that decide when these change are in subscribers/."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ..models import Status
from .connection import Store, now
from .event_outbox import status_event, tagged_event

SUPPRESSION_KEY = "suppression_key"
TOPIC_LEFT = "left topic "  # the detail of a status change that left one topic, before its key


@dataclass(frozen=True)
class Consent:
    """How a reader came to be on the list."""

    at: str
    method: str  # form, import, api, editor
    source: str | None  # the form's page, the import file's name
    text_version: str | None  # a hash of the consent words the form showed


class Audience:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    # --- tags ------------------------------------------------------------------------------------

    def tags(self, email: str) -> list[str]:
        return [tag for (tag,) in self.db.execute("SELECT tag FROM tags WHERE email = ? ORDER BY tag", (email,))]

    def tag(self, emails: Iterable[str], add: Iterable[str] = (), remove: Iterable[str] = ()) -> int:
        """Add and remove tags of the known subscribers among `emails` (in the caller's transaction,
        or one of its own). How many subscribers' tags changed."""
        adding, removing = list(dict.fromkeys(add)), list(dict.fromkeys(remove))
        changed = 0
        with self.connection.transaction():
            for email in emails:
                touched = 0
                for tag in adding:
                    added = self.db.execute(
                        "INSERT INTO tags (email, tag) SELECT email, ? FROM subscribers WHERE email = ? ON CONFLICT DO NOTHING", (tag, email)
                    ).rowcount
                    if added:
                        tagged_event(self.db, email, tag, now())
                    touched += added
                for tag in removing:
                    touched += self.db.execute("DELETE FROM tags WHERE email = ? AND tag = ?", (email, tag)).rowcount
                changed += bool(touched)
        return changed

    def tag_counts(self) -> dict[str, int]:
        return {tag: int(count) for tag, count in self.db.execute("SELECT tag, count(*) FROM tags GROUP BY tag ORDER BY tag")}

    # --- topics ----------------------------------------------------------------------------------

    def topics(self, email: str, defaults: Mapping[str, bool]) -> dict[str, bool]:
        """Whether `email` gets each topic of `defaults` (the workspace's topics and their defaults):
        their recorded choice, else the topic's default."""
        chosen = {topic: bool(on) for topic, on in self.db.execute("SELECT topic, subscribed FROM subscriptions WHERE email = ?", (email,))}
        return {topic: chosen.get(topic, default) for topic, default in defaults.items()}

    def choose_topics(self, email: str, choices: Mapping[str, bool], stamp: str | None = None) -> list[str]:
        """Record `email`'s choice for each topic of `choices`; the topics whose membership changed."""
        stamp = stamp or now()
        changed = []
        with self.connection.transaction():
            before = {topic: bool(on) for topic, on in self.db.execute("SELECT topic, subscribed FROM subscriptions WHERE email = ?", (email,))}
            for topic, on in choices.items():
                if before.get(topic) == on:
                    continue
                self.db.execute(
                    """INSERT INTO subscriptions (email, topic, subscribed, changed_at) VALUES (?, ?, ?, ?)
                       ON CONFLICT (email, topic) DO UPDATE SET subscribed = excluded.subscribed, changed_at = excluded.changed_at""",
                    (email, topic, int(on), stamp),
                )
                changed.append(topic)
        return changed

    # --- consent ---------------------------------------------------------------------------------

    def record_consent(self, email: str, method: str, source: str | None = None, text_version: str | None = None, stamp: str | None = None) -> None:
        """How `email` consented; a later consent (a new double opt-in) replaces the earlier one."""
        self.db.execute(
            """INSERT INTO consents (email, at, method, source, text_version) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (email) DO UPDATE SET at = excluded.at, method = excluded.method, source = excluded.source, text_version = excluded.text_version""",
            (email, stamp or now(), method, source, text_version),
        )

    def consent(self, email: str) -> Consent | None:
        row = self.db.execute("SELECT at, method, source, text_version FROM consents WHERE email = ?", (email,)).fetchone()
        return Consent(*row) if row else None

    # --- suppressions (outlive erasure) ----------------------------------------------------------

    def address_hash(self, email: str) -> str:
        """A keyed hash of a normalised address. The key is random per database (made on first use,
        copied with it): a hash cannot be looked up in a table made elsewhere, and no secret
        rotation can make an erased reader's suppression stop matching."""
        return hmac.new(self._suppression_key(), email.encode(), hashlib.sha256).hexdigest()

    def address_hasher(self) -> Callable[[str], str]:
        """address_hash with the key read once: for hashing many addresses (each row of an import)."""
        key = self._suppression_key()
        return lambda email: hmac.new(key, email.encode(), hashlib.sha256).hexdigest()

    def _suppression_key(self) -> bytes:
        row = self.db.execute("SELECT value FROM audience_settings WHERE name = ?", (SUPPRESSION_KEY,)).fetchone()
        if row is None:
            self.db.execute(
                "INSERT INTO audience_settings (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING", (SUPPRESSION_KEY, secrets.token_hex(32))
            )
            row = self.db.execute("SELECT value FROM audience_settings WHERE name = ?", (SUPPRESSION_KEY,)).fetchone()
        return bytes.fromhex(row[0])

    def suppress(self, email: str, reason: str, stamp: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO suppressions (address_hash, reason, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (self.address_hash(email), reason, stamp or now()),
        )

    def suppression(self, email: str) -> str | None:
        """Why `email` is suppressed (erased at their request...), or None."""
        row = self.db.execute("SELECT reason FROM suppressions WHERE address_hash = ?", (self.address_hash(email),)).fetchone()
        return str(row[0]) if row else None

    def suppressed_hashes(self) -> set[str]:
        """Every suppressed address hash, for an import to check each row against in memory."""
        return {h for (h,) in self.db.execute("SELECT address_hash FROM suppressions")}

    def suppression_reasons(self) -> dict[str, str]:
        """Every suppressed address hash with its reason, for an import to count what it skipped."""
        return {h: str(reason) for h, reason in self.db.execute("SELECT address_hash, reason FROM suppressions")}

    def lift_suppression(self, email: str) -> bool:
        """The reader confirmed a new double opt-in themselves: the suppression ends."""
        return self.db.execute("DELETE FROM suppressions WHERE address_hash = ?", (self.address_hash(email),)).rowcount > 0

    # --- the reader's own changes (the preferences page, an issue's unsubscribe link) ------------

    def issue_topic(self, issue: str) -> str | None:
        """The topic `issue` went to (recorded when it was sent), or None: no topics, or not known."""
        row = self.db.execute("SELECT topic FROM issues WHERE issue = ?", (issue,)).fetchone()
        return str(row[0]) if row and row[0] is not None else None

    def leave_topic(self, email: str, topic: str, channel: str, issue: str | None = None, stamp: str | None = None) -> bool:
        """`email` stops getting `topic`, at their request through `channel`, from a link of `issue`
        when it says. Their history records it as an unsubscribe naming the topic and the issue, so
        the report credits the issue; their status stays. Whether anything changed."""
        stamp = stamp or now()
        with self.connection.transaction():
            if not self.choose_topics(email, {topic: False}, stamp):
                return False
            self.db.execute(
                "INSERT INTO status_changes (email, status, channel, detail, at, issue) VALUES (?, 'unsubscribed', ?, ?, ?, ?)",
                (email, channel, f"{TOPIC_LEFT}{topic}", stamp, issue),
            )
            status_event(self.db, email, Status.UNSUBSCRIBED, channel, stamp, issue=issue, topic=topic)
        return True

    # --- a new address the reader asked for (confirmed from that address) -------------------------

    def request_address(self, email: str, new_email: str, stamp: str | None = None) -> None:
        """`email`'s reader asked to move to `new_email`; a later request replaces an earlier one."""
        self.db.execute(
            """INSERT INTO address_changes (email, new_email, requested_at) VALUES (?, ?, ?)
               ON CONFLICT (email) DO UPDATE SET new_email = excluded.new_email, requested_at = excluded.requested_at""",
            (email, new_email, stamp or now()),
        )

    def requested_address(self, email: str) -> tuple[str, str] | None:
        """(new address, when asked) of `email`'s open request, if any."""
        row = self.db.execute("SELECT new_email, requested_at FROM address_changes WHERE email = ?", (email,)).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def requester_of(self, new_email: str) -> str | None:
        """The subscriber whose latest request moves them to `new_email` (the confirmation's recipient)."""
        row = self.db.execute("SELECT email FROM address_changes WHERE new_email = ? ORDER BY requested_at DESC LIMIT 1", (new_email,)).fetchone()
        return str(row[0]) if row else None

    def drop_address_request(self, email: str) -> None:
        self.db.execute("DELETE FROM address_changes WHERE email = ?", (email,))
