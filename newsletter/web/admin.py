"""/admin: the small admin for the editors listed in [admin] editors (none: every /admin page is a
404). Sign-in by a one-time link emailed through the notice queue, then a session cookie of its
own; every form carries a CSRF token, every action is logged (newsletter/admin/ holds the rules).

The session cookie is HttpOnly, SameSite=Strict and, over https (directly or through a trusted
proxy), Secure with the __Host- prefix. Over plain http the admin answers a loopback client only
(`newsletter serve --dev` on this machine), so a session never crosses a network in clear."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from ..admin import access, actions, overview
from ..admin.actions import AdminRefused
from ..db import Database
from ..errors import NewsletterError
from ..report.text import issue_text
from ..sending.sign_in import LINK_LIFETIME
from ..subscribers.story import subscriber_story
from .extensions import client_key, csrf, limiter
from .inbox_limit import inbox_key
from .site import site

admin = Blueprint("admin", __name__, url_prefix="/admin")

SECURE_COOKIE = "__Host-newsletter-admin"  # the prefix makes browsers refuse it unless Secure, Path=/, no Domain
PLAIN_COOKIE = "newsletter-admin"  # http://127.0.0.1 only
CONFIRM_RATE = "20/minute;100/hour"  # sign-in link uses per client
MAX_NEXT_CHARS = 500
OPEN_PAGES = {"admin.login_form", "admin.login", "admin.login_confirm"}


def _editors() -> list[str]:
    return site().config.admin.editors


def _cookie_name() -> str:
    return SECURE_COOKIE if request.is_secure else PLAIN_COOKIE


def _loopback() -> bool:
    try:
        return ipaddress.ip_address((request.remote_addr or "").split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this site under /admin, else /admin. Never a
    scheme, a host, `//` or a backslash (browsers read `/\\evil` as `//evil`)."""
    if not value or len(value) > MAX_NEXT_CHARS or any(ord(char) < 0x21 or char in "\\\x7f" for char in value):
        return "/admin"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//") or "//" in parts.path or "/." in parts.path:
        return "/admin"
    if parts.path != "/admin" and not parts.path.startswith("/admin/"):
        return "/admin"
    return value


def _page(template: str, title: str, status: int = 200, **context: Any) -> tuple[str, int]:
    here = site()
    html = render_template(f"admin/{template}", title=title, newsletter=here.config.newsletter, editor=g.get("editor"), **context)
    return html, status


def _run(work: Callable[[Database], Any]) -> Any:
    return site().run(work)


@admin.before_request
def signed_in_only() -> ResponseReturnValue | None:
    if not _editors():
        abort(404)
    if not request.is_secure and not _loopback():
        return _page("message.html.j2", "The admin needs https", 403, text="Open the admin over https: its session must not cross a network in clear.")
    if request.endpoint in OPEN_PAGES:
        return None
    secret = request.cookies.get(_cookie_name(), "")
    editor = _run(lambda db: access.editor_of(db, secret, _editors())) if secret else None
    if editor is None:
        target = request.full_path.rstrip("?") if request.method == "GET" else "/admin"
        return redirect(url_for("admin.login_form") + "?" + urlencode({"next": target}))
    g.editor, g.session = editor, secret
    if request.method == "POST":
        csrf.protect()
    return None


# --- signing in and out ----------------------------------------------------------------------------


@admin.get("/login")
def login_form() -> ResponseReturnValue:
    """The form for an address; with ?token= (the emailed link), a button that signs in. Opening
    the link changes nothing: mail scanners open links too."""
    token = request.args.get("token", "")
    if token:  # the link carries no next: the page kept it from the request for the link (see login)
        wanted = safe_next(request.args["next"]) if "next" in request.args else ""
        return _page("confirm.html.j2", "Sign in", token=token[: access.MAX_SECRET_CHARS + 1], next=wanted)
    return _page("login.html.j2", "Sign in", next=safe_next(request.args.get("next")), minutes=_minutes())


def _typed_address() -> str:
    """Counted per client and address typed: a stranger flooding an editor's address uses up their
    own allowance, never the editor's (the sender mails one link per few minutes at most)."""
    return f"admin-sign-in:{client_key()}:" + inbox_key(request.form.get("email", ""))


@admin.post("/login")
@limiter.limit(lambda: site().config.admin.sign_in_rate)
@limiter.limit(lambda: site().config.admin.address_rate, key_func=_typed_address)
def login() -> ResponseReturnValue:
    """Every address takes the same steps (queued; the sender mails editors only), so neither
    the page nor its time says whether an address is an editor's."""
    csrf.protect()
    typed = request.form.get("email", "")[:320]
    session["admin_next"] = safe_next(request.form.get("next"))
    if not _run(lambda db: access.ask_for_link(db, typed)):
        return _page("login.html.j2", "Sign in", 400, next=session["admin_next"], minutes=_minutes(), problem="That is not an email address.", email=typed)
    site().sender.wake()
    text = f"If {typed.strip()} is the address of an editor of this admin, a sign-in link is on its way to it. It works once, for {_minutes()} minutes."
    return _page("message.html.j2", "Check your inbox", text=text)


@admin.post("/login/confirm")
@limiter.limit(CONFIRM_RATE)
def login_confirm() -> ResponseReturnValue:
    csrf.protect()
    opened = _run(lambda db: access.sign_in(db, request.form.get("token", ""), _editors()))
    if opened is None:
        text = f"This sign-in link does not work: it was used already, it expired (links work for {_minutes()} minutes), or it is not one we sent."
        return _page("message.html.j2", "Sign-in link not valid", 400, text=text, link={"href": url_for("admin.login_form"), "text": "Ask for a new link"})
    secret, _ = opened
    target = safe_next(request.form.get("next") or session.pop("admin_next", None))
    response = redirect(target)
    _set_cookie(response, secret)
    return response


def _set_cookie(response: Response, secret: str) -> None:
    secure = request.is_secure
    response.set_cookie(
        _cookie_name(), secret, httponly=True, samesite="Strict", secure=secure,
        path="/" if secure else "/admin",  # __Host- requires Path=/; the plain one stays under /admin
        max_age=int(access.SESSION_LONGEST.total_seconds()),
    )


@admin.post("/logout")
def logout() -> ResponseReturnValue:
    _run(lambda db: access.sign_out(db, g.session, g.editor))
    response = redirect(url_for("admin.login_form"))
    response.delete_cookie(_cookie_name(), path="/" if request.is_secure else "/admin", secure=request.is_secure, httponly=True, samesite="Strict")
    return response


def _minutes() -> int:
    return int(LINK_LIFETIME.total_seconds() // 60)


# --- the pages ---------------------------------------------------------------------------------------


@admin.get("")
def dashboard() -> ResponseReturnValue:
    weeks, issues = _run(lambda db: (overview.weeks(db), overview.last_issues(db)))
    return _page("dashboard.html.j2", "Dashboard", weeks=weeks, issues=issues, most=max([week.total for week in weeks] + [1]))


@admin.get("/subscribers")
def subscribers() -> ResponseReturnValue:
    asked = {field: request.args.get(field, "")[:1000] for field in ("address", "tag", "segment")}
    found, problem = None, None
    if any(value.strip() for value in asked.values()):
        here = site()
        try:
            found = _run(lambda db: overview.search(here.workspace, db, **asked))
        except AdminRefused as exc:
            problem = str(exc)
    return _page("subscribers.html.j2", "Subscribers", 400 if problem else 200, asked=asked, found=found, problem=problem, limit=overview.SEARCH_LIMIT)


def _story_page(email: str, notice: str | None = None, problem: str | None = None, status: int = 200) -> ResponseReturnValue:
    here = site()
    try:
        story = _run(lambda db: subscriber_story(db, email, here.config.topic_defaults))
    except NewsletterError:
        return _page("message.html.j2", "Not a subscriber", 404 if status == 200 else status, text=problem or f"{email} is not a subscriber.", notice=notice)
    return _page("subscriber.html.j2", email, status, story=story, notice=notice, problem=problem)


@admin.get("/subscriber")
def subscriber() -> ResponseReturnValue:
    try:
        email = actions.address(request.args.get("email", "")[:320])
    except AdminRefused as exc:
        return _page("message.html.j2", "Not a subscriber", 404, text=str(exc))
    return _story_page(email)


@admin.post("/subscriber")
def subscriber_action() -> ResponseReturnValue:
    editor, action = g.editor, request.form.get("action", "")
    try:
        email = actions.address(request.form.get("email", "")[:320])
    except AdminRefused as exc:
        return _page("message.html.j2", "Not a subscriber", 400, text=str(exc))
    try:
        if action == "tag":
            add, remove = actions.tags(request.form.get("add", "")), actions.tags(request.form.get("remove", ""))
            done = _run(lambda db: actions.tag(db, editor, email, add, remove))
        elif action == "unsubscribe":
            done = _run(lambda db: actions.unsubscribe(db, editor, email))
        elif action == "erase":
            if request.form.get("confirm") != "yes":
                raise AdminRefused(f"Tick the box to confirm that {email} is to be erased for good; nothing was changed.")
            done = _run(lambda db: actions.erase(db, editor, email))
            return _page("message.html.j2", "Erased", text=done, link={"href": url_for("admin.subscribers"), "text": "Back to the search"})
        elif action == "resend":
            if _inbox_full(email):
                raise AdminRefused(f"{email} has had as many confirmation emails as [web] address_rate allows for now; nothing was sent.")
            done = _run(lambda db: actions.resend_confirmation(db, editor, email))
            site().sender.wake()
        else:
            raise AdminRefused("That is not an action of this page; nothing was changed.")
    except NewsletterError as exc:
        return _story_page(email, problem=str(exc), status=400)
    return _story_page(email, notice=done)


def _inbox_full(email: str) -> bool:
    from . import inbox_limit

    return inbox_limit.take(email, site().config.web.address_rate) is not None


@admin.get("/issues")
def issues() -> ResponseReturnValue:
    here = site()
    try:
        rows = _run(lambda db: overview.issues(here.workspace, db))
    except NewsletterError as exc:
        return _page("message.html.j2", "Issues", text=str(exc))
    return _page("issues.html.j2", "Issues", rows=rows)


def _issue_page(name: str, notice: str | None = None, problem: str | None = None, status: int = 200) -> ResponseReturnValue:
    here = site()
    try:
        issue = actions.issue_file(here.workspace, name)
    except AdminRefused as exc:
        return _page("message.html.j2", "No such issue", 404, text=str(exc))
    row = _run(lambda db: overview.issue_row(db, issue))
    return _page("issue.html.j2", f"Issue {issue.key}", status, row=row, report=issue_text(row.report), notice=notice, problem=problem)


@admin.get("/issues/<name>")
def issue(name: str) -> ResponseReturnValue:
    return _issue_page(name)


@admin.post("/issues/<name>")
def issue_action(name: str) -> ResponseReturnValue:
    here, editor, action = site(), g.editor, request.form.get("action", "")
    try:
        if action == "schedule":
            done = actions.schedule(here.workspace, editor, name, request.form.get("at", "")[:100])
        elif action == "cancel":
            done = actions.cancel(here.workspace, editor, name)
        elif action == "test":
            done = actions.test_copy(here.workspace, editor, name, request.form.get("addresses", "")[:2000])
        else:
            raise AdminRefused("That is not an action of this page; nothing was changed.")
    except NewsletterError as exc:
        return _issue_page(name, problem=str(exc), status=400)
    return _issue_page(name, notice=done)


@admin.get("/actions")
def action_log() -> ResponseReturnValue:
    return _page("actions.html.j2", "Actions", entries=_run(lambda db: db.admin.actions()))
