"""The subscriber's pages: signup with double opt-in, confirm, one-click unsubscribe (RFC 8058),
preferences. A GET never changes anything: mail scanners follow links."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from flask import Blueprint, abort, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from ..mail.links import TEST_COPY_ID, DatedToken, Purpose, make_token, verify_dated_token, verify_link, verify_token
from ..models import Status, Subscriber, name_problem
from ..models.addresses import normalize
from ..sending.notices import CONFIRMABLE
from ..subscribers import rules
from . import inbox_limit
from .extensions import csrf, limiter
from .security import AUTOSUBMIT_SCRIPT
from .site import masked, page, site

pages = Blueprint("pages", __name__)


def _form() -> dict[str, Any]:
    """The posted fields, from a form or a JSON object (anything else: no fields)."""
    if request.is_json:
        try:
            data = request.get_json(silent=True)
        except RecursionError:  # nested deeper than the parser goes, under the size cap
            return {}
        return data if isinstance(data, dict) else {}
    return request.form.to_dict()


def _subscribe_rate() -> str:
    return site().config.web.subscribe_rate


def _too_many(seconds: int) -> ResponseReturnValue:
    """429, with Retry-After, as Flask-Limiter answers its own limits."""
    words = site().words
    if request.is_json:
        body: Any = jsonify(error=words["too_many"])
        return body, 429, {"Retry-After": str(seconds)}
    html, status = page("message.html.j2", words["too_many_title"], status=429, text=words["too_many"])
    return html, status, {"Retry-After": str(seconds)}


def _queue_confirmation(email: str) -> ResponseReturnValue | None:
    """Queue a confirmation to `email` for the background sender, if its inbox may get one more;
    else the 429 to answer."""
    here = site()
    wait = inbox_limit.take(email, here.config.web.address_rate)
    if wait is not None:
        return _too_many(wait)
    here.run(lambda db: rules.queue_confirmation(db, email))
    here.sender.wake()
    return None


@pages.get("/subscribe")
def subscribe_form() -> ResponseReturnValue:
    return page("subscribe.html.j2", site().words["subscribe_title"], email="", name="", problem=None)


@pages.post("/subscribe")
@limiter.limit(_subscribe_rate)
def subscribe() -> ResponseReturnValue:
    """Every address takes the same steps here, new or known, so the answer's time tells nothing:
    the confirmation is queued (and its sender decides whether one is due), never sent inline."""
    words = site().words
    if not request.is_json:
        csrf.protect()  # form posts carry the token; JSON needs a CORS preflight a forged form cannot make
    data = _form()
    raw_email, name = str(data.get("email", "")).strip(), " ".join(str(data.get("name", "")).split()) or None
    if data.get("website"):  # the honeypot: only bots fill a field nobody can see
        return _check_inbox(raw_email)
    wait = inbox_limit.take(raw_email, site().config.web.address_rate)  # every request counts: known addresses too
    if wait is not None:
        return _too_many(wait)
    try:
        email = normalize(raw_email)
    except ValueError:
        return _refused(words["bad_address"], raw_email, name)
    if name and name_problem(name):
        name = None  # a name is a courtesy; a hostile one is dropped, not stored
    here = site()
    here.run(lambda db: rules.sign_up(db, email, name))
    here.sender.wake()
    return _check_inbox(email)


def _check_inbox(email: str) -> ResponseReturnValue:
    """The same answer for a new, pending, active or departed address: the form reveals nothing."""
    words = site().words
    if request.is_json:
        return jsonify(status="check your inbox"), 202
    text = words["check_inbox"].format(email=email, name=site().config.newsletter.name)
    return page("message.html.j2", words["check_inbox_title"], text=text)


def _refused(problem: str, email: str, name: str | None) -> ResponseReturnValue:
    if request.is_json:
        return jsonify(error=problem), 400
    return page("subscribe.html.j2", site().words["subscribe_title"], status=400, email=email, name=name or "", problem=problem)


# --- confirm ------------------------------------------------------------------------------------


def _confirmation(token: str) -> tuple[Subscriber, DatedToken]:
    """The subscriber and the contents of a genuine confirmation token, or a 404."""
    parsed = verify_dated_token(token, Purpose.CONFIRM, site().keys)
    if parsed is None:
        abort(404)
    subscriber = site().run(lambda db: db.subscribers.by_public_id(parsed.public_id))
    if subscriber is None:
        abort(404)
    return subscriber, parsed


@pages.get("/confirm/<token>")
def confirm_page(token: str) -> ResponseReturnValue:
    subscriber, _ = _confirmation(token)
    words = site().words
    text = words["confirm_intro"].format(email=masked(subscriber.email), name=site().config.newsletter.name)
    return page(
        "action.html.j2", words["confirm_title"], text=text, action=request.path, button=words["confirm_button"],
        fields={}, csrf=False, autosubmit=True, autosubmit_script=Markup(AUTOSUBMIT_SCRIPT),
    )


@pages.post("/confirm/<token>")
def confirm(token: str) -> ResponseReturnValue:
    subscriber, dated = _confirmation(token)
    here, words = site(), site().words
    shown = masked(subscriber.email)
    if request.form.get("resend"):
        return _resend(subscriber)
    if time.time() - dated.issued > here.config.web.confirm_days * 86_400:
        text = words["expired"].format(days=here.config.web.confirm_days, email=shown)
        return page(
            "action.html.j2", words["expired_title"], text=text, action=request.path, button=words["resend_button"],
            fields={"resend": "1"}, csrf=False, autosubmit=False,
        )
    result, welcome = here.run(lambda db: rules.confirm(db, subscriber, _iso(dated.issued), dated.after_change, here.notices.has_welcome))
    if welcome:
        inbox_limit.count(subscriber.email, here.config.web.address_rate)  # owed, but it counts
        here.sender.wake()
    if result.result == "stale":
        link = {"href": url_for("pages.subscribe_form"), "text": words["subscribe_title"]}
        return page("message.html.j2", words["stale_title"], text=words["stale"].format(email=shown), link=link)
    return page("message.html.j2", words["confirmed_title"], text=words["confirmed"].format(email=shown, name=here.config.newsletter.name))


def _resend(subscriber: Subscriber) -> ResponseReturnValue:
    words = site().words
    if subscriber.status in CONFIRMABLE:
        refused = _queue_confirmation(subscriber.email)
        if refused is not None:
            return refused
    return page("message.html.j2", words["resent_title"], text=words["resent"].format(email=masked(subscriber.email)))


def _iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")


# --- unsubscribe (RFC 8058) ----------------------------------------------------------------------


@pages.route("/unsubscribe", methods=["GET", "POST"])
def unsubscribe() -> ResponseReturnValue:
    """GET shows a button; POST (the mail client's one-click, or that button) unsubscribes. No
    cookie, session or CSRF token: the signed token is the authority. Never a redirect."""
    token = request.args.get("token", "")
    here, words = site(), site().words
    verified = verify_link(token, Purpose.UNSUBSCRIBE, here.keys)
    if verified is None:
        abort(404)
    public_id, issue = verified  # the issue the link came in (none in links sent before links named it)
    if request.method != "POST":  # GET and HEAD (link scanners) change nothing
        subscriber = here.run(lambda db: db.subscribers.by_public_id(public_id))
    else:
        channel = "one-click" if request.form.get("List-Unsubscribe") == "One-Click" else "unsubscribe page"
        subscriber = here.run(lambda db: db.subscribers.leave(public_id, channel, issue))
    if subscriber is None:
        if public_id == TEST_COPY_ID:  # a `send --test` copy's link: nobody to unsubscribe, and the page says so
            return page("message.html.j2", words["test_copy_title"], text=words["test_copy"].format(name=here.config.newsletter.name))
        abort(404)
    shown, name = masked(subscriber.email), here.config.newsletter.name
    if request.method != "POST" and subscriber.status in (Status.ACTIVE, Status.PENDING):
        return page(
            "action.html.j2", words["unsubscribe_title"], text=words["unsubscribe_intro"].format(name=name, email=shown),
            action=request.full_path, button=words["unsubscribe_button"], fields={}, csrf=False, autosubmit=False,
        )
    link = {"href": url_for("pages.preferences", token=make_token(public_id, Purpose.PREFERENCES, here.keys.current)), "text": words["preferences_link"]}
    return page("message.html.j2", words["unsubscribed_title"], text=words["unsubscribed"].format(email=shown, name=name), link=link)


# --- preferences -------------------------------------------------------------------------------


@pages.route("/preferences", methods=["GET", "POST"])
def preferences() -> ResponseReturnValue:
    token = request.args.get("token", "")
    here, words = site(), site().words
    public_id = verify_token(token, Purpose.PREFERENCES, here.keys)
    if public_id is None:
        abort(404)
    subscriber = here.run(lambda db: db.subscribers.by_public_id(public_id))
    if subscriber is None:
        abort(404)
    if request.method == "POST":
        csrf.protect()
        action = request.form.get("action")
        if action == "unsubscribe":
            subscriber = here.run(lambda db: db.subscribers.leave(public_id, "preferences")) or subscriber
        elif action == "resubscribe" and subscriber.status in CONFIRMABLE:
            refused = _queue_confirmation(subscriber.email)
            if refused is not None:
                return refused
            return page("message.html.j2", words["preferences_title"], text=words["resubscribe_sent"].format(email=masked(subscriber.email)))
    status = words[f"status_{subscriber.status}"]
    text = words["preferences_intro"].format(email=masked(subscriber.email), status=status)
    leaving = subscriber.status in (Status.ACTIVE, Status.PENDING)
    return page(
        "action.html.j2", words["preferences_title"], text=text, action=request.full_path,
        button=words["unsubscribe_button"] if leaving else words["resubscribe_button"],
        fields={"action": "unsubscribe" if leaving else "resubscribe"}, csrf=True, autosubmit=False,
    )


@pages.get("/healthz")
def healthz() -> ResponseReturnValue:
    site().run(lambda db: db.subscribers.counts_by_status())  # the database answers
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
