"""The admin's tables (newsletter/admin/ decides what they mean): one-time sign-in links, editors'
sessions, and the log of what each editor did. A link and a session are stored by the SHA-256 of
their secret, never the secret itself, so a copy of the database signs nobody in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .connection import Store, now
from .segments import EVERYONE, Condition


@dataclass(frozen=True)
class AdminAction:
    at: str
    editor: str
    action: str  # tag, unsubscribe, erase, resend confirmation, schedule, cancel, test copy, sign in, sign out
    email: str | None  # the reader it was about, if one
    detail: str | None


@dataclass(frozen=True)
class Found:
    """A subscriber in the admin's search."""

    email: str
    name: str | None
    status: str
    created_at: str


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _later(after: dt.timedelta) -> str:
    return _iso(dt.datetime.now(dt.UTC) + after)


def _like(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its own % and _ taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Admin:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    # --- sign-in links ---------------------------------------------------------------------------

    def add_link(self, token_hash: str, email: str, lifetime: dt.timedelta) -> None:
        """Store a new sign-in link for `email`, valid for `lifetime`; expired ones go."""
        stamp = now()
        with self.connection.transaction():
            self.db.execute("DELETE FROM admin_links WHERE expires_at <= ?", (stamp,))
            self.db.execute("INSERT INTO admin_links (token_hash, email, created_at, expires_at) VALUES (?, ?, ?, ?)", (token_hash, email, stamp, _later(lifetime)))

    def link_sent_within(self, email: str, span: dt.timedelta) -> bool:
        """Whether a link for `email` made in the last `span` is still unused and unexpired."""
        since = _later(-span)
        row = self.db.execute("SELECT 1 FROM admin_links WHERE email = ? AND created_at > ? AND expires_at > ? LIMIT 1", (email, since, now())).fetchone()
        return row is not None

    def take_link(self, token_hash: str) -> str | None:
        """The editor a sign-in link is for, consumed by this one statement (two requests with the
        same link: one gets it); None when unknown, used or expired."""
        with self.connection.transaction():
            row = self.db.execute("DELETE FROM admin_links WHERE token_hash = ? RETURNING email, expires_at", (token_hash,)).fetchone()
        return str(row[0]) if row and str(row[1]) > now() else None

    # --- sessions --------------------------------------------------------------------------------

    def open_session(self, id_hash: str, email: str, idle: dt.timedelta) -> None:
        stamp = now()
        with self.connection.transaction():
            self.db.execute("DELETE FROM admin_sessions WHERE expires_at <= ?", (stamp,))
            self.db.execute(
                "INSERT INTO admin_sessions (id_hash, email, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)", (id_hash, email, stamp, stamp, _later(idle))
            )

    def session(self, id_hash: str, idle: dt.timedelta, longest: dt.timedelta) -> str | None:
        """The editor of a live session (seen within `idle`, opened within `longest`), its idle
        time started again; None for any other."""
        stamp = now()
        oldest = _iso(dt.datetime.now(dt.UTC) - longest)
        with self.connection.transaction():
            row = self.db.execute(
                "UPDATE admin_sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ? AND expires_at > ? AND created_at > ? RETURNING email",
                (stamp, _later(idle), id_hash, stamp, oldest),
            ).fetchone()
        return str(row[0]) if row else None

    def close_session(self, id_hash: str) -> None:
        with self.connection.transaction():
            self.db.execute("DELETE FROM admin_sessions WHERE id_hash = ?", (id_hash,))

    def close_sessions_of(self, keep: list[str]) -> int:
        """End the sessions of every address not in `keep` (editors taken off the list)."""
        marks = ", ".join("?" * len(keep)) or "NULL"
        with self.connection.transaction():
            return int(self.db.execute(f"DELETE FROM admin_sessions WHERE email NOT IN ({marks})", tuple(keep)).rowcount)

    # --- the action log --------------------------------------------------------------------------

    def record(self, editor: str, action: str, email: str | None = None, detail: str | None = None) -> None:
        """Log what `editor` did (in the caller's transaction, if any)."""
        self.db.execute("INSERT INTO admin_actions (at, editor, action, email, detail) VALUES (?, ?, ?, ?, ?)", (now(), editor, action, email, detail))

    def actions(self, limit: int = 200) -> list[AdminAction]:
        """The latest actions, newest first."""
        rows = self.db.execute("SELECT at, editor, action, email, detail FROM admin_actions ORDER BY id DESC LIMIT ?", (limit,))
        return [AdminAction(*row) for row in rows]

    # --- reading the list ------------------------------------------------------------------------

    def search(self, address: str = "", tag: str | None = None, segment: Condition = EVERYONE, limit: int = 100) -> list[Found]:
        """Subscribers whose address holds `address` (any case), with `tag`, in `segment` (SQL over
        `subscribers s`, db/segments.py), in address order, at most `limit`."""
        conditions = [segment]
        if address:
            conditions.append(Condition("lower(s.email) LIKE ? ESCAPE '\\'", (_like(address.lower()),)))
        if tag is not None:
            conditions.append(Condition("EXISTS (SELECT 1 FROM tags g WHERE g.email = s.email AND g.tag = ?)", (tag,)))
        where = conditions[0]
        for condition in conditions[1:]:
            where = where & condition
        rows = self.db.execute(f"SELECT s.email, s.name, s.status, s.created_at FROM subscribers s WHERE {where.sql} ORDER BY s.email LIMIT ?", (*where.params, limit))
        return [Found(*row) for row in rows]

    def joined_per_day(self, since: str) -> dict[str, int]:
        """Subscribers added per day (YYYY-MM-DD) since `since` (an ISO time), who are still on the list."""
        rows = self.db.execute("SELECT substr(created_at, 1, 10) AS day, count(*) FROM subscribers WHERE created_at >= ? GROUP BY day", (since,))
        return {str(day): int(count) for day, count in rows}

    def left_per_day(self, since: str) -> dict[str, int]:
        """Readers who left (unsubscribed, bounced, complained) per day since `since`."""
        rows = self.db.execute(
            """SELECT substr(at, 1, 10) AS day, count(*) FROM status_changes
               WHERE at >= ? AND status IN ('unsubscribed', 'bounced', 'complained') GROUP BY day""",
            (since,),
        )
        return {str(day): int(count) for day, count in rows}

    def joined_before(self, before: str) -> int:
        """Subscribers on the list now who were added before `before`."""
        return int(self.db.execute("SELECT count(*) FROM subscribers WHERE created_at < ?", (before,)).fetchone()[0])
