"""Signing editors in and out. An editor asks for a link (any address may be typed: every one is
queued, and only [admin] editors are mailed, so the answer tells nothing); the link works once,
for 15 minutes, and opens a session whose secret lives in the editor's cookie and, hashed, here."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING

from ..models.addresses import normalize
from ..sending.sign_in import ADMIN_SIGN_IN, secret_hash

if TYPE_CHECKING:
    from ..db import Database

SESSION_IDLE = dt.timedelta(hours=12)  # a session not used for this long ends
SESSION_LONGEST = dt.timedelta(days=7)  # and none lasts longer, used or not
MAX_SECRET_CHARS = 200  # a link's or a session's secret is 43; anything far longer is not one


def ask_for_link(db: Database, typed: str) -> bool:
    """Queue a sign-in link for the address typed (the background sender mails editors only).
    False when it is not an email address at all (the page may say so: that reveals nothing)."""
    try:
        address = normalize(typed)
    except ValueError:
        return False
    db.notice_queue.add(ADMIN_SIGN_IN, address)
    return True


def sign_in(db: Database, token: str, editors: list[str]) -> tuple[str, str] | None:
    """Consume a sign-in link: (the new session's secret, the editor), or None for a link that is
    unknown, used, expired, or for an address no longer among `editors`."""
    if not token or len(token) > MAX_SECRET_CHARS:
        return None
    editor = db.admin.take_link(secret_hash(token))
    if editor is None or editor not in editors:
        return None
    session = secrets.token_urlsafe(32)
    with db.transaction():
        db.admin.open_session(secret_hash(session), editor, SESSION_IDLE)
        db.admin.record(editor, "sign in")
    return session, editor


def editor_of(db: Database, session: str, editors: list[str]) -> str | None:
    """The editor a session secret belongs to, if the session is live and they are still an editor."""
    if not session or len(session) > MAX_SECRET_CHARS:
        return None
    editor = db.admin.session(secret_hash(session), SESSION_IDLE, SESSION_LONGEST)
    return editor if editor in editors else None


def sign_out(db: Database, session: str, editor: str) -> None:
    with db.transaction():
        db.admin.close_session(secret_hash(session))
        db.admin.record(editor, "sign out")
