"""The subscriber's pages: signup with double opt-in, confirm, one-click unsubscribe (RFC 8058),
preferences. A GET never changes anything: mail scanners follow links."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, abort, after_this_request, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from ..mail.links import TEST_COPY_ID, DatedToken, Purpose, make_token, verify_dated_token, verify_link, verify_token
from ..models import Status, Subscriber, name_problem
from ..models.addresses import normalize
from ..sending.notices import CONFIRMABLE
from ..subscribers import rules
from ..subscribers.story import subscriber_story
from . import inbox_limit
from .extensions import csrf, limiter
from .security import AUTOSUBMIT_SCRIPT
from .site import masked, page, site

pages = Blueprint("pages", __name__)


# A new address writes more than a known one (its row, history, consent and event), about 0.1 ms
# more: the signup's database step takes at least this long either way, so its time tells nothing.
SIGNUP_SECONDS = 0.004


@contextlib.contextmanager
def at_least(seconds: float) -> Iterator[None]:
    """The block, then a sleep for what is left of `seconds`."""
    started = time.perf_counter()
    yield
    left = seconds - (time.perf_counter() - started)
    if left > 0:
        time.sleep(left)


def wake_after_answer() -> None:
    """Wake the notice sender once this answer has gone out, not before: a new address's
    confirmation is rendered and sent by then, a known one's is not, and that work in the
    same process while the answer is written would tell them apart by its time."""
    sender = site().sender

    @after_this_request
    def wake(response: Response) -> Response:
        response.call_on_close(sender.wake)
        return response


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
    """The form; `?tags=...` (repeatable) carries tags of [web] allowed_tags into it, for a link
    from one page of the publication's site (any other tag in the link is left out)."""
    allowed = site().config.web.allowed_tags
    tags = [tag for tag in dict.fromkeys(request.args.getlist("tags")) if tag in allowed]
    return _subscribe_page(200, "", "", None, site().config.topic_defaults, tags)


def _subscribe_page(status: int, email: str, name: str, problem: str | None, chosen: dict[str, bool], tags: list[str]) -> ResponseReturnValue:
    here = site()
    return page(
        "subscribe.html.j2", here.words["subscribe_title"], status=status, email=email, name=name, problem=problem,
        topics=list(here.config.topics.items()), chosen=chosen, tags=tags,
    )


@pages.post("/subscribe")
@limiter.limit(_subscribe_rate)
def subscribe() -> ResponseReturnValue:
    """Every address takes the same steps here, new or known, so the answer's time tells nothing:
    the confirmation is queued (and its sender decides whether one is due), never sent inline."""
    words = site().words
    origin = _request_origin()
    if origin == "foreign":
        return _foreign_origin()
    if not request.is_json and origin != "allowed":
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
    try:
        topics, tags = _signup_choices(data)
    except rules.ChoiceRefused as refusal:
        return _refused(words[refusal.problem].format(value=refusal.value), email, name)
    if name and name_problem(name):
        name = None  # a name is a courtesy; a hostile one is dropped, not stored
    here = site()
    # Where the reader consented: the publication's page that posted the form, or ours.
    page_url = request.headers.get("Origin", "") if origin == "allowed" else here.config.base_url + request.path
    topic_words = {key: (topic.name, topic.description) for key, topic in here.config.topics.items()}
    version = rules.consent_text_version(words, here.config.newsletter.name, topic_words)
    with at_least(SIGNUP_SECONDS):
        here.run(lambda db: rules.sign_up(db, email, name, page=page_url, text_version=version, topics=topics, tags=tags))
    wake_after_answer()
    return _check_inbox(email)


def _request_origin() -> str:
    """Where a form or JSON post came from, by its Origin header: "ours" (this site, or no origin
    given, or "null", which browsers send under our Referrer-Policy: no-referrer: the CSRF token
    decides), "allowed" (one of [web] allowed_origins: the publication's own site, whose form
    has no token of ours), or "foreign"."""
    origin = request.headers.get("Origin", "").strip().lower()
    base = site().config.base_url.lower()
    if origin in ("", "null", base, request.host_url.rstrip("/").lower()):
        return "ours"
    if origin in {allowed.lower() for allowed in site().config.web.allowed_origins}:
        return "allowed"
    return "foreign"


def _foreign_origin() -> ResponseReturnValue:
    """403: a page of a site not in [web] allowed_origins posted to us."""
    words = site().words
    if request.is_json:
        return jsonify(error=words["bad_form"]), 403
    return page("message.html.j2", words["bad_form_title"], status=403, text=words["bad_form"])


def _listed(data: dict[str, Any], field: str) -> list[str] | None:
    """A repeatable field: a form's every value of it, or a JSON list of strings (or one string);
    None when the request has no such field. ChoiceRefused for a JSON value of any other shape."""
    if not request.is_json:
        return request.form.getlist(field) if field in request.form else None
    value = data.get(field)
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and len(value) <= rules.MAX_CHOICES and all(isinstance(item, str) for item in value):
        return value
    raise rules.ChoiceRefused("too_many_choices" if isinstance(value, list) and len(value) > rules.MAX_CHOICES else "bad_choices")


def _signup_choices(data: dict[str, Any]) -> tuple[dict[str, bool], list[str]]:
    """The topics (an on or off for each) and tags a signup asks for, checked (rules.signup_choices).
    A form that offered topics says so (topics_offered), so ticking none is a choice, not silence."""
    topics = _listed(data, "topics")
    if topics is None and data.get("topics_offered"):
        topics = []
    config = site().config
    return rules.signup_choices(topics, _listed(data, "tags") or [], config.topic_defaults, config.web.allowed_tags)


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
    config = site().config
    ticked = set(request.form.getlist("topics"))
    chosen = {key: key in ticked for key in config.topics} if "topics_offered" in request.form else config.topic_defaults
    tags = [tag for tag in dict.fromkeys(request.form.getlist("tags")) if tag in config.web.allowed_tags]
    return _subscribe_page(400, email, name or "", problem, chosen, tags)


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
    cookie, session or CSRF token: the signed token is the authority. Never a redirect.

    A link from an issue of one topic leaves that topic only; leaving everything is a second
    POST (`everything`) with the same link."""
    token = request.args.get("token", "")
    here, words = site(), site().words
    verified = verify_link(token, Purpose.UNSUBSCRIBE, here.keys)
    if verified is None:
        abort(404)
    public_id, issue = verified  # the issue the link came in (none in links sent before links named it)
    channel = "one-click" if request.form.get("List-Unsubscribe") == "One-Click" else "unsubscribe page"
    topic = _topic_of(issue)
    if topic is not None and not request.form.get("everything"):
        return _leave_topic(public_id, issue, topic, channel)
    if request.method != "POST":  # GET and HEAD (link scanners) change nothing
        subscriber = here.run(lambda db: db.subscribers.by_public_id(public_id))
    else:
        subscriber = here.run(lambda db: db.subscribers.leave(public_id, channel, issue))
    if subscriber is None:
        return _nobody(public_id)
    shown, name = masked(subscriber.email), here.config.newsletter.name
    if request.method != "POST" and subscriber.status in (Status.ACTIVE, Status.PENDING):
        return page(
            "action.html.j2", words["unsubscribe_title"], text=words["unsubscribe_intro"].format(name=name, email=shown),
            action=request.full_path, button=words["unsubscribe_button"], fields={}, csrf=False, autosubmit=False,
        )
    return page("message.html.j2", words["unsubscribed_title"], text=words["unsubscribed"].format(email=shown, name=name), link=_preferences_link(public_id))


def _nobody(public_id: str) -> ResponseReturnValue:
    """No subscriber behind an unsubscribe link: a `send --test` copy's (the page says so), else 404."""
    here, words = site(), site().words
    if public_id == TEST_COPY_ID:  # nobody to unsubscribe, and the page says so
        return page("message.html.j2", words["test_copy_title"], text=words["test_copy"].format(name=here.config.newsletter.name))
    abort(404)


def _preferences_link(public_id: str) -> dict[str, str]:
    here = site()
    return {"href": url_for("pages.preferences", token=make_token(public_id, Purpose.PREFERENCES, here.keys.current)), "text": here.words["preferences_link"]}


def _topic_of(issue: str | None) -> str | None:
    """The topic (of [topics]) `issue` went to; None without topics, an issue, or a known topic."""
    here = site()
    if issue is None or not here.config.topics:
        return None
    topic = here.run(lambda db: db.audience.issue_topic(issue))
    return topic if topic in here.config.topics else None


def _leave_topic(public_id: str, issue: str | None, topic: str, channel: str) -> ResponseReturnValue:
    """The first step of an unsubscribe link from an issue of `topic`: GET asks, POST leaves that
    topic, and the answer offers leaving everything."""
    here, words = site(), site().words
    if request.method != "POST":
        subscriber = here.run(lambda db: db.subscribers.by_public_id(public_id))
    else:
        subscriber = here.run(lambda db: rules.leave_topic(db, public_id, topic, channel, issue))
    if subscriber is None:
        return _nobody(public_id)
    shown, name, topic_name = masked(subscriber.email), here.config.newsletter.name, here.config.topics[topic].name
    if subscriber.status not in (Status.ACTIVE, Status.PENDING):  # they left everything already
        return page("message.html.j2", words["unsubscribed_title"], text=words["unsubscribed"].format(email=shown, name=name), link=_preferences_link(public_id))
    gets_it = request.method != "POST" and here.run(lambda db: db.audience.topics(subscriber.email, here.config.topic_defaults)).get(topic, False)
    if gets_it:
        return page(
            "action.html.j2", words["unsubscribe_title"], text=words["topic_unsubscribe_intro"].format(topic=topic_name, email=shown, name=name),
            action=request.full_path, button=words["topic_unsubscribe_button"], fields={}, csrf=False, autosubmit=False,
        )
    return page(
        "action.html.j2", words["topic_left_title"], text=words["topic_left"].format(topic=topic_name, email=shown, name=name),
        action=request.full_path, button=words["leave_all_button"], fields={"everything": "1"}, csrf=False, autosubmit=False,
        link=_preferences_link(public_id),
    )


# --- preferences -------------------------------------------------------------------------------


def _not_asking_for_an_address() -> bool:
    return request.form.get("action") != "address"


# A request for a new address mails that address: limited per client as signups are, so a
# reader's own page cannot be used to mail strangers in bulk.
@pages.route("/preferences", methods=["GET", "POST"])
@limiter.limit(_subscribe_rate, methods=["POST"], exempt_when=_not_asking_for_an_address)
def preferences() -> ResponseReturnValue:
    """The reader's own page, reached by the signed link in every email: their topics, their
    name, leaving (or coming back), their data to download, and erasing it. Every POST carries
    the page's CSRF token as well as the link's."""
    token = request.args.get("token", "")
    here, words = site(), site().words
    public_id = verify_token(token, Purpose.PREFERENCES, here.keys)
    if public_id is None:
        abort(404)
    subscriber = here.run(lambda db: db.subscribers.by_public_id(public_id))
    if subscriber is None:
        abort(404)
    if request.method != "POST":
        return _preferences_page(subscriber)
    csrf.protect()
    action = request.form.get("action")
    if action == "unsubscribe":
        subscriber = here.run(lambda db: db.subscribers.leave(public_id, "preferences")) or subscriber
    elif action == "resubscribe" and subscriber.status in CONFIRMABLE:
        refused = _queue_confirmation(subscriber.email)
        if refused is not None:
            return refused
        return page("message.html.j2", words["preferences_title"], text=words["resubscribe_sent"].format(email=masked(subscriber.email)))
    elif action == "topics":
        return _save_topics(subscriber)
    elif action == "name":
        return _save_name(subscriber)
    elif action == "address":
        return _ask_for_address(subscriber)
    elif action == "download":
        return _download(subscriber)
    elif action == "erase":
        return _erase(subscriber)
    return _preferences_page(subscriber)


def _download(subscriber: Subscriber) -> ResponseReturnValue:
    """Everything the list holds about the reader (their story), as a JSON file."""
    here = site()
    story = here.run(lambda db: subscriber_story(db, subscriber.email, here.config.topic_defaults))
    body = json.dumps(story.as_json(), ensure_ascii=False, indent=2) + "\n"
    return body, 200, {"Content-Type": "application/json; charset=utf-8", "Content-Disposition": 'attachment; filename="my-subscription.json"'}


def _erase(subscriber: Subscriber) -> ResponseReturnValue:
    """Erasing takes two steps: the first POST asks (nothing changes), the second, with `confirm`, erases."""
    here, words = site(), site().words
    shown, name = masked(subscriber.email), here.config.newsletter.name
    if request.form.get("confirm") != "yes":
        return page(
            "action.html.j2", words["erase_title"], text=words["erase_intro"].format(email=shown, name=name), action=request.full_path,
            button=words["erase_confirm_button"], fields={"action": "erase", "confirm": "yes"}, csrf=True, autosubmit=False,
            link={"href": request.full_path, "text": words["preferences_title"]},
        )
    here.run(lambda db: rules.erase(db, subscriber.email, "preferences"))
    return page("message.html.j2", words["erased_title"], text=words["erased"].format(email=shown, name=name))


def _save_topics(subscriber: Subscriber) -> ResponseReturnValue:
    here, words = site(), site().words
    defaults = here.config.topic_defaults
    try:
        choices = rules.preference_topics(request.form.getlist("topics"), defaults)
    except rules.ChoiceRefused as refusal:
        return _preferences_page(subscriber, problem=words[refusal.problem].format(value=refusal.value), status=400)
    here.run(lambda db: rules.change_topics(db, subscriber.email, choices, defaults, "preferences"))
    return _preferences_page(subscriber, notice=words["topics_saved"])


def _ask_for_address(subscriber: Subscriber) -> ResponseReturnValue:
    """A new address is only taken from a link sent to it. The answer is the same whether the
    address is on the list or not, and each address's inbox limit counts these links too."""
    here, words = site(), site().words
    raw = request.form.get("new_email", "").strip()
    try:
        new_email = normalize(raw)
    except ValueError:
        return _preferences_page(subscriber, problem=words["bad_address"], status=400)
    if new_email == subscriber.email:
        return _preferences_page(subscriber)
    wait = inbox_limit.take(new_email, here.config.web.address_rate)
    if wait is not None:
        return _too_many(wait)
    here.run(lambda db: rules.request_new_address(db, subscriber, new_email))
    here.sender.wake()
    text = words["address_check_inbox"].format(email=masked(new_email), name=here.config.newsletter.name)
    return page("message.html.j2", words["preferences_title"], text=text)


# --- a new address, confirmed from it ---------------------------------------------------------


def _address_link(token: str) -> DatedToken:
    parsed = verify_dated_token(token, Purpose.ADDRESS, site().keys)
    if parsed is None:
        abort(404)
    return parsed


@pages.get("/address/<token>")
def address_page(token: str) -> ResponseReturnValue:
    """A button, never a change: mail scanners follow links."""
    parsed = _address_link(token)
    here, words = site(), site().words
    subscriber = here.run(lambda db: db.subscribers.by_public_id(parsed.public_id))
    asked = here.run(lambda db: db.audience.requested_address(subscriber.email)) if subscriber else None
    if subscriber is None or asked is None:
        return page("message.html.j2", words["address_change_title"], text=words["address_change_stale"])
    text = words["address_change_intro"].format(email=masked(asked[0]), name=here.config.newsletter.name)
    return page(
        "action.html.j2", words["address_change_title"], text=text, action=request.path, button=words["address_change_button"],
        fields={}, csrf=False, autosubmit=False,
    )


@pages.post("/address/<token>")
def change_address(token: str) -> ResponseReturnValue:
    parsed = _address_link(token)
    here, words = site(), site().words
    name = here.config.newsletter.name
    if time.time() - parsed.issued > here.config.web.confirm_days * 86_400:
        return page("message.html.j2", words["address_change_title"], text=words["address_change_stale"])
    result, new_email = here.run(lambda db: rules.confirm_new_address(db, parsed.public_id, _iso(parsed.issued)))
    if result == "unknown":
        abort(404)
    if result == "changed":
        return page("message.html.j2", words["address_changed_title"], text=words["address_changed"].format(email=masked(new_email or ""), name=name))
    if result == "taken":
        return page("message.html.j2", words["address_change_title"], text=words["address_taken"].format(email=masked(new_email or ""), name=name))
    return page("message.html.j2", words["address_change_title"], text=words["address_change_stale"])


def _save_name(subscriber: Subscriber) -> ResponseReturnValue:
    here, words = site(), site().words
    name = " ".join(request.form.get("name", "").split()) or None
    if name and name_problem(name):
        return _preferences_page(subscriber, problem=words["bad_name"], status=400)
    here.run(lambda db: db.records.rename(subscriber.email, name))
    return _preferences_page(subscriber._replace(name=name), notice=words["name_saved"])


def _preferences_page(subscriber: Subscriber, notice: str | None = None, problem: str | None = None, status: int = 200) -> ResponseReturnValue:
    here, words = site(), site().words
    config = here.config
    text = words["preferences_intro"].format(email=masked(subscriber.email), status=words[f"status_{subscriber.status}"])
    leaving = subscriber.status in (Status.ACTIVE, Status.PENDING)
    chosen = here.run(lambda db: db.audience.topics(subscriber.email, config.topic_defaults)) if config.topics else {}
    return page(
        "preferences.html.j2", words["preferences_title"], status=status, text=text, action=request.full_path, notice=notice, problem=problem,
        topics=list(config.topics.items()), chosen=chosen, name=subscriber.name or "",
        leave_button=words["unsubscribe_button" if not config.topics else "leave_all_button"] if leaving else words["resubscribe_button"],
        leave_action="unsubscribe" if leaving else "resubscribe",
    )


@pages.get("/healthz")
def healthz() -> ResponseReturnValue:
    site().run(lambda db: db.subscribers.counts_by_status())  # the database answers
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
