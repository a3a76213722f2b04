"""The admin's sign-in email: a one-time link to /admin/login, made when the background sender
sends it (so the link's secret is never stored anywhere but the email: the database keeps its
SHA-256) and valid for LINK_LIFETIME. Editors read it, so it is in English and plain."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import secrets
from typing import TYPE_CHECKING

from ..models import Email

if TYPE_CHECKING:
    from ..db import Database

ADMIN_SIGN_IN = "admin-sign-in"  # the notice queue's kind
LINK_LIFETIME = dt.timedelta(minutes=15)
# At most one email per editor this often, however many ask: each link still has 10 minutes or
# more when the next may go, so a flood of requests can neither bury an editor in mail nor lock them out.
LINK_SPACING = dt.timedelta(minutes=5)
SIGN_IN_PATH = "/admin/login"


def secret_hash(secret: str) -> str:
    """What the database keeps of a link's or a session's secret."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def new_link(db: Database, editor: str, base_url: str) -> str:
    """A new sign-in link for `editor`, stored (hashed) and committed before it is sent."""
    token = secrets.token_urlsafe(32)
    db.admin.add_link(secret_hash(token), editor, LINK_LIFETIME)
    return f"{base_url}{SIGN_IN_PATH}?token={token}"


def sign_in_email(newsletter: str, url: str) -> Email:
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    subject = f"Sign in to the admin of {newsletter}"
    lines = [
        f"Someone (you, we hope) asked to sign in to the admin of {newsletter}.",
        f"This link signs you in. It works once, for {minutes} minutes:",
    ]
    ignore = "If you did not ask for it, ignore this email: nobody can sign in without the link."
    text = f"{lines[0]}\n\n{lines[1]}\n\n{url}\n\n{ignore}\n"
    page = (
        f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(subject)}</title></head><body>"
        f"<p>{html.escape(lines[0])}</p><p>{html.escape(lines[1])}</p>"
        f"<p><a href=\"{html.escape(url)}\">Sign in</a></p><p>{html.escape(ignore)}</p></body></html>"
    )
    return Email(subject=subject, preheader=lines[1], html=page, text=text, web_html="")
