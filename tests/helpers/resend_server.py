"""A Resend-compatible HTTP server on 127.0.0.1, for tests and benchmarks (no network needed).

It speaks the parts of Resend's API the tool uses (POST /emails/batch, POST /emails, POST
/emails/{id}/cancel, GET /emails/{id}, GET /domains), checks each email against Resend's published
description (tests/vendor/providers/resend/resend.yaml, SendEmailRequest, its $refs resolved) and its
documented limits (100 emails per batch, 50 addresses in `to`, no scheduled_at or attachments in a
batch, tags of ASCII letters, digits, _ and -, scheduled_at at most 30 days ahead), answers with
Resend's status codes and error bodies ({statusCode, message, name}), honours Idempotency-Key (the
same key and body: the same answer, nothing sent again; another body: 409) and the two batch
validation modes (strict: one bad email fails the batch; permissive: `errors: [{index, message}]`).

It records every email it accepted for now in `delivered` (address -> copies); scheduled ones wait
in `scheduled` until deliver_due() passes their time, and a cancelled one never counts. Faults can
be injected: 5xx, 429 (with ratelimit-reset and retry-after), a daily quota, connections dropped
before or after the request was accepted, answers slower than the client's timeout, refused
addresses, and a rate limit of its own (requests per second, as Resend counts them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import re
import socket
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import orjson

from tests.helpers.local_server import LocalServer, QuietServer

SPEC = Path(__file__).resolve().parents[1] / "vendor" / "providers" / "resend" / "resend.yaml"
API_KEY = "re_test_key_for_the_local_server"
SENDING_KEY = "re_sending_only_key_for_the_local_server"  # a key "restricted to only send emails"
MAX_BATCH = 100
MAX_SCHEDULE_AHEAD = dt.timedelta(days=30)
TAG = re.compile(r"[A-Za-z0-9_-]{1,256}")
FAULTS = ("500", "503", "429", "drop_before", "drop_after", "slow_after")
SENDS = ("/emails", "/emails/batch")


@dataclass
class Behaviour:
    """What the server does besides answering correctly. Mutable between requests in a test."""

    fault_rate: float = 0.0  # share of send requests that meet one of `faults`
    faults: tuple[str, ...] = FAULTS
    forced: list[str] = field(default_factory=list)  # faults for the next send requests, in order ("quota": a daily quota 429)
    forced_cancel: list[str] = field(default_factory=list)  # faults ("429", "500") for the next cancel requests
    reject: set[str] = field(default_factory=set)  # addresses Resend refuses (a validation error naming the email)
    latency: float = 0.0  # seconds before answering every send request
    slow: float = 2.0  # seconds a "slow_after" answer takes (more than the client's timeout)
    rate_limit_reset: float = 1.0  # seconds in ratelimit-reset and retry-after on a 429
    requests_per_second: float | None = None  # Resend's own limit: more requests than this in a second get a 429
    rate_window: float = 1.0  # seconds over which that limit is counted (Resend: 1; a test: less, to be quick)
    validate_every: int = 1  # check every Nth send request against the schema (the bench: less often)
    seed: int = 1


@dataclass
class Scheduled:
    id: str
    address: str
    send_at: dt.datetime
    state: str = "scheduled"  # then "canceled" or "delivered"


class ResendServer(LocalServer):
    """Run with `with ResendServer() as server:`; point [resend] host at server.url."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.lock = threading.Lock()
        self.random = random.Random(self.behaviour.seed)
        self.delivered: Counter[str] = Counter()  # address -> accepted copies (for now)
        self.scheduled: dict[str, Scheduled] = {}  # email id -> a scheduled email
        self.emails: dict[str, dict[str, Any]] = {}  # email id -> the accepted email (its body)
        self.requests = 0  # send requests received (POST /emails and /emails/batch)
        self.accepted_requests = 0
        self.bodies: list[Any] = []  # accepted send bodies (a batch's list, or one email)
        self.headers: list[dict[str, str]] = []  # the headers of each accepted send request
        self.cancels: list[str] = []  # ids of POST /emails/{id}/cancel that were authorized, in order
        self.calls: list[str] = []  # "METHOD /path" of every request, in order
        self.times: list[tuple[float, int]] = []  # (arrival, status) of each send request
        self.idempotent: dict[str, tuple[str, int, Any] | None] = {}  # key -> (body digest, status, answer); None: in progress
        self.arrivals: deque[float] = deque()  # of every request, for requests_per_second
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.fake = self

    def __enter__(self) -> ResendServer:
        email_validator()  # compiled before the first request, whose answer would otherwise outlast a short timeout
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def deliver_due(self, now: dt.datetime) -> int:
        """Scheduled emails whose time has come go out (cancelled ones never do); how many went."""
        with self.lock:
            due = [email for email in self.scheduled.values() if email.state == "scheduled" and email.send_at <= now]
            for email in due:
                email.state = "delivered"
                self.delivered[email.address] += 1
        return len(due)

    def over_limit(self) -> bool:
        """One more request than Resend's limit allows in the last second (rate_window)."""
        rate, window = self.behaviour.requests_per_second, self.behaviour.rate_window
        now = time.monotonic()
        with self.lock:
            self.arrivals.append(now)
            while self.arrivals and self.arrivals[0] <= now - window:
                self.arrivals.popleft()
            return rate is not None and len(self.arrivals) > rate * window

    def should_validate(self) -> bool:
        return self.requests % max(self.behaviour.validate_every, 1) == 1 or self.behaviour.validate_every <= 1

    def accept(self, emails: list[dict[str, Any]], headers: dict[str, str]) -> list[str]:
        """Record accepted emails; their new ids, in order."""
        ids = []
        with self.lock:
            self.accepted_requests += 1
            self.headers.append(headers)
            for email in emails:
                email_id = str(uuid.uuid4())
                ids.append(email_id)
                address = recipients(email)[0].lower()
                self.emails[email_id] = email
                if email.get("scheduled_at"):
                    self.scheduled[email_id] = Scheduled(email_id, address, parse_time(email["scheduled_at"]))
                else:
                    self.delivered[address] += 1
        return ids


class _Server(QuietServer):
    fake: ResendServer



# --- Resend's checks ------------------------------------------------------------------------


@cache
def email_validator() -> Any:
    """jsonschema's validator for one SendEmailRequest, its $refs resolved in the whole description
    (compiled once: loading the 7,000-line YAML takes a moment)."""
    import yaml
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=loader)
    registry = Registry().with_resource("urn:resend", Resource.from_contents(spec, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": "urn:resend#/components/schemas/SendEmailRequest"}, registry=registry)


def check_email(email: Any, in_batch: bool, validate: bool = True) -> str | None:
    """What Resend says of one email it will not take, or None."""
    if not isinstance(email, dict):
        return "The email must be an object."
    if validate:
        error = next(iter(email_validator().iter_errors(email)), None)
        if error is not None:
            where = ".".join(str(part) for part in error.absolute_path) or "body"
            return f"Invalid `{where}` field: {error.message[:200]}"
    if in_batch and ("scheduled_at" in email or "attachments" in email):
        return "The `attachments` and `scheduled_at` fields are not supported yet in batch emails."
    if not email.get("html") and not email.get("text"):
        return "Missing `html` or `text` field."
    return _recipients_problem(email) or _tags_or_headers_problem(email) or _schedule_problem(email.get("scheduled_at"))


def _recipients_problem(email: dict[str, Any]) -> str | None:
    to = recipients(email)
    if not to or len(to) > 50:
        return "The `to` field must have between 1 and 50 addresses."
    for address in to:
        if "@" not in address or " " in address:
            return f"Invalid `to` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format. ({address})"
    return None


def _tags_or_headers_problem(email: dict[str, Any]) -> str | None:
    for tag in email.get("tags") or []:
        if not isinstance(tag, dict) or not TAG.fullmatch(str(tag.get("name", ""))) or not TAG.fullmatch(str(tag.get("value", ""))):
            return "Tags should only contain ASCII letters (a–z, A–Z), numbers (0–9), underscores (_), or dashes (-), and at most 256 characters."
    for name, value in (email.get("headers") or {}).items():
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            return f"Invalid header {name!r}: values must be strings without line breaks."
    return None


def _schedule_problem(when: object) -> str | None:
    if when is None:
        return None
    try:
        at = parse_time(when)
    except ValueError:
        return "The `scheduled_at` field must be a date in ISO 8601 format."
    if at > dt.datetime.now(dt.UTC) + MAX_SCHEDULE_AHEAD:
        return "The `scheduled_at` field must be at most 30 days in the future."
    return None


def recipients(email: dict[str, Any]) -> list[str]:
    """The addresses in `to` (a string or a list), each without its display name."""
    to = email.get("to")
    found = to if isinstance(to, list) else [to] if isinstance(to, str) else []
    return [_address(str(item)) for item in found]


def _address(mailbox: str) -> str:
    inside = re.search(r"<([^<>]*)>\s*$", mailbox)
    return (inside.group(1) if inside else mailbox).strip()


def parse_time(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError("not a string")
    when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def error_body(status: int, name: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "message": message, "name": name}


# --- the HTTP side ----------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # The headers and the body go out as two writes: without this, Nagle's algorithm holds the
        # body until the client's delayed ACK (40 ms a request on Linux).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def fake(self) -> ResendServer:
        return self.server.fake  # type: ignore[attr-defined, no-any-return]

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._read_body()
        self.fake.calls.append(f"GET {self.path}")
        if not self._authorized(sending=False):
            return
        if self.fake.over_limit():
            self._rate_limited()
            return
        path = self.path.partition("?")[0]
        if path == "/domains":
            return self._reply(200, {"object": "list", "has_more": False, "data": [{"object": "domain", "id": "d-1", "name": "fixture.example.org", "status": "verified"}]})
        found = re.fullmatch(r"/emails/([0-9a-f-]+)", path)
        if found and found.group(1) in self.fake.emails:
            email_id = found.group(1)
            scheduled = self.fake.scheduled.get(email_id)
            event = scheduled.state if scheduled else "delivered"
            email = self.fake.emails[email_id]
            shown = {"object": "email", "id": email_id, "to": recipients(email), "subject": email.get("subject"), "scheduled_at": email.get("scheduled_at")}
            return self._reply(200, {**shown, "last_event": event})
        self._reply(404, error_body(404, "not_found", "The requested endpoint does not exist." if not found else "Email not found"))

    def do_POST(self) -> None:
        raw = self._read_body()
        self.fake.calls.append(f"POST {self.path}")
        cancel = re.fullmatch(r"/emails/([0-9a-f-]+)/cancel", self.path)
        if not self._authorized(sending=cancel is None):  # cancelling is not sending: a sending-only key may not
            return
        if self.fake.over_limit():
            return self._rate_limited()
        if cancel:
            return self._cancel(cancel.group(1))
        if self.path not in SENDS:
            return self._reply(404, error_body(404, "not_found", "The requested endpoint does not exist."))
        self.arrived = time.time()
        self.created: dict[str, Any] | None = None  # the answer of a request that created emails
        with self.fake.lock:
            self.fake.requests += 1
        try:
            body = orjson.loads(raw) if raw else None  # orjson: the bench sends 100,000 emails through here
        except ValueError:
            return self._reply(400, error_body(400, "validation_error", "Invalid JSON body."))
        key = self.headers.get("Idempotency-Key")
        if key is not None:
            return self._idempotent(key, raw, body)
        self._send(body)

    # --- sending ---

    def _idempotent(self, key: str, raw: bytes, body: Any) -> None:
        """The same key and body within 24 hours: the first answer again, nothing sent."""
        if not 1 <= len(key) <= 256:
            return self._reply(400, error_body(400, "invalid_idempotency_key", "The key must be between 1-256 chars."))
        digest = hashlib.sha256(self.path.encode() + b"\0" + raw).hexdigest()
        with self.fake.lock:
            seen = key in self.fake.idempotent
            earlier = self.fake.idempotent.get(key)
            if not seen:
                self.fake.idempotent[key] = None  # in progress
        if seen and earlier is None:
            return self._reply(409, error_body(409, "concurrent_idempotent_requests", "Same idempotency key used while original request is still in progress."))
        if earlier is not None:
            if earlier[0] != digest:
                return self._reply(409, error_body(409, "invalid_idempotent_request", "Same idempotency key used with a different request payload."))
            return self._reply(earlier[1], earlier[2])
        self._send(body)
        with self.fake.lock:
            if self.created is not None:  # answered or not (a dropped connection), the emails exist
                self.fake.idempotent[key] = (digest, 200, self.created)
            else:  # only created emails are remembered: a refused request may be tried again with its key
                self.fake.idempotent.pop(key, None)

    def _send(self, body: Any) -> tuple[int, Any]:
        """Answer a send request (faults first); the status and body answered."""
        behaviour = self.fake.behaviour
        fault = self.fake.next_fault()
        if behaviour.latency:
            time.sleep(behaviour.latency)
        if fault in ("500", "503"):
            return self._reply(int(fault), error_body(int(fault), "application_error", "Something went wrong."))
        if fault == "429":
            return self._rate_limited()
        if fault == "quota":
            return self._reply(429, error_body(429, "daily_quota_exceeded", "You have reached your daily email sending quota."))
        if fault == "drop_before":
            return self._drop()
        validate = self.fake.should_validate()
        if self.path == "/emails/batch":
            return self._batch(body, validate, fault)
        problem = check_email(body, in_batch=False, validate=validate) or self._refused(body)
        if problem:
            return self._reply(422, error_body(422, "validation_error", problem))
        (email_id,) = self.fake.accept([body], dict(self.headers.items()))
        with self.fake.lock:
            self.fake.bodies.append(body)
        return self._answer(fault, {"id": email_id})

    def _batch(self, body: Any, validate: bool, fault: str | None) -> tuple[int, Any]:
        if not isinstance(body, list) or not body:
            return self._reply(422, error_body(422, "validation_error", "The batch must be a non-empty array of emails."))
        if len(body) > MAX_BATCH:
            return self._reply(422, error_body(422, "validation_error", f"Too many emails in the batch: at most {MAX_BATCH}."))
        problems = {index: problem for index, email in enumerate(body) if (problem := check_email(email, True, validate) or self._refused(email))}
        permissive = (self.headers.get("x-batch-validation") or "strict").lower() == "permissive"
        if problems and not permissive:
            index, problem = next(iter(problems.items()))
            return self._reply(422, error_body(422, "validation_error", f"emails[{index}]: {problem}"))
        taken = [email for index, email in enumerate(body) if index not in problems]
        ids = self.fake.accept(taken, dict(self.headers.items())) if taken else []
        answer: dict[str, Any] = {"data": [{"id": email_id} for email_id in ids]}
        if permissive:
            answer["errors"] = [{"index": index, "message": problem} for index, problem in problems.items()]
        with self.fake.lock:
            self.fake.bodies.append(body)
        return self._answer(fault, answer)

    def _refused(self, email: Any) -> str | None:
        refuse = self.fake.behaviour.reject
        if refuse and isinstance(email, dict) and any(address.lower() in refuse for address in recipients(email)):
            return "Invalid `to` field. The email address is not valid."
        return None

    def _answer(self, fault: str | None, answer: dict[str, Any]) -> tuple[int, Any]:
        self.created = answer
        if fault == "drop_after":
            return self._drop()
        if fault == "slow_after":
            time.sleep(self.fake.behaviour.slow)
        return self._reply(200, answer)

    def _cancel(self, email_id: str) -> None:
        with self.fake.lock:
            self.fake.cancels.append(email_id)
            fault = self.fake.behaviour.forced_cancel.pop(0) if self.fake.behaviour.forced_cancel else None
        if fault == "429":
            self._rate_limited()
            return
        if fault is not None:
            self._reply(int(fault), error_body(int(fault), "application_error", "Something went wrong."))
            return
        with self.fake.lock:
            scheduled = self.fake.scheduled.get(email_id)
            if scheduled is not None and scheduled.state == "scheduled":
                scheduled.state = "canceled"
        if scheduled is None:
            return self._reply(404, error_body(404, "not_found", "Email not found"))
        if scheduled.state != "canceled":
            return self._reply(422, error_body(422, "validation_error", f"This email cannot be canceled: it is {scheduled.state}."))
        self._reply(200, {"object": "email", "id": email_id})

    # --- plumbing ---

    def _authorized(self, sending: bool) -> bool:
        given = self.headers.get("Authorization") or ""
        if not given.startswith("Bearer ") or not given[7:]:
            self._reply(401, error_body(401, "missing_api_key", "Missing API key in the authorization header."))
            return False
        key = given[7:]
        if key == SENDING_KEY and not sending:
            self._reply(401, error_body(401, "restricted_api_key", "This API key is restricted to only send emails."))
            return False
        if key not in (API_KEY, SENDING_KEY):
            self._reply(403, error_body(403, "invalid_api_key", "API key is invalid."))
            return False
        return True

    def _rate_limited(self) -> tuple[int, Any]:
        reset = str(max(round(self.fake.behaviour.rate_limit_reset), 0))
        headers = {"ratelimit-limit": "2", "ratelimit-remaining": "0", "ratelimit-reset": reset, "retry-after": reset}
        return self._reply(429, error_body(429, "rate_limit_exceeded", "Too many requests. You can only make 2 requests per second."), headers)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        if self.path in SENDS and hasattr(self, "arrived"):
            with self.fake.lock:
                self.fake.times.append((self.arrived, status))
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return status, body

    def _drop(self) -> tuple[int, Any]:
        if hasattr(self, "arrived"):
            with self.fake.lock:
                self.fake.times.append((self.arrived, 0))
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return 0, None


# --- for bench/providers_bench.py -------------------------------------------------------------


def bench_environment(server: ResendServer) -> dict[str, str]:
    """What a `newsletter send` needs in its environment to send through `server`."""
    return {"RESEND_API_KEY": API_KEY}


def bench_settings(server: ResendServer) -> str:
    """newsletter.toml text sending through `server`, not held back by the 2 requests a second
    that the provider keeps to against the real Resend. The server then checks every 50th request
    against the schema (each email's checks still run on every request)."""
    server.behaviour.validate_every = 50
    return f'[send]\nprovider = "resend"\n\n[resend]\nhost = "{server.url}"\ntimeout = 30\nrequests_per_second = 1000\n'


def bench_rate_bound(server: ResendServer) -> str:  # the bench's interface: the server is not needed
    """Resend's own bound: 2 requests a second per team by default, at most 100 emails each."""
    del server
    return "Resend's default 2 requests/s per team x 100 emails (200 emails/s; 100,000 readers take about 8.5 minutes at Resend)"
