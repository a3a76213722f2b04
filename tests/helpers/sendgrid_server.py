"""A SendGrid-compatible HTTP server on 127.0.0.1, for tests and benchmarks (no network needed).

It speaks the parts of SendGrid's v3 API the tool uses, checks what SendGrid checks (API key, body
shape, its published limits), records every accepted recipient, answers with SendGrid's status
codes and error bodies, and can inject faults: 5xx, 429 (with X-RateLimit-Reset), connections
dropped after the request was accepted, answers slower than the client's timeout, rejected addresses.
"""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import orjson

from tests.helpers.local_server import LocalServer, QuietServer

API_KEY = "SG.test-key-for-the-local-server"
MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
MAX_SUBSTITUTION_BYTES = 10_000
MAX_CATEGORIES = 10
MAX_BODY_BYTES = 30 * 1024 * 1024
MAX_SEND_AT_AHEAD = 72 * 3600
FAULTS = ("500", "503", "429", "drop_before", "drop_after", "slow_after")


@dataclass
class Behaviour:
    """What the server does besides answering correctly. Mutable between requests in a test."""

    fault_rate: float = 0.0  # share of mail-send requests that meet one of `faults`
    faults: tuple[str, ...] = FAULTS
    forced: list[str] = field(default_factory=list)  # faults for the next requests, in order
    reject: set[str] = field(default_factory=set)  # addresses answered with a 400 naming them
    latency: float = 0.0  # seconds before answering every mail-send request
    slow: float = 2.0  # seconds a "slow_after" answer takes (more than the client's timeout)
    rate_limit_reset: float = 0.5  # seconds until X-RateLimit-Reset on a 429
    seed: int = 1


class SendGridServer(LocalServer):
    """Run with `with SendGridServer() as server:`; point SENDGRID_API_HOST at server.url."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.lock = threading.Lock()
        self.random = random.Random(self.behaviour.seed)
        self.delivered: Counter[str] = Counter()  # address -> accepted copies
        self.requests = 0  # mail-send requests received
        self.accepted_requests = 0
        self.bodies: list[dict] = []  # accepted mail-send bodies
        self.batches: dict[str, str] = {}  # batch id -> "scheduled" | "cancel"
        self.suppressions: dict[str, list[str]] = {"unsubscribes": [], "bounces": [], "spam_reports": []}
        self.group_suppressions: dict[str, list[str]] = {}  # unsubscribe group id -> addresses
        self.scopes = ["mail.send", "mail.batch.create", "mail.batch.update", "suppression.read", "user.scheduled_sends.create"]
        self.times: list[tuple[float, int]] = []  # (arrival time, status answered) of each mail-send request
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.fake = self

    def __enter__(self) -> SendGridServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def accept(self, body: dict) -> None:
        with self.lock:
            self.accepted_requests += 1
            for personalization in body["personalizations"]:
                for recipient in personalization["to"]:
                    self.delivered[recipient["email"].lower()] += 1
            self.bodies.append(body)


class _Server(QuietServer):
    fake: SendGridServer



def validate(body: object) -> list[dict]:  # noqa: C901 (SendGrid's checks, one after another, as its API reference lists them)
    """SendGrid's checks on a mail-send body, as its error objects ({message, field, help})."""
    if not isinstance(body, dict):
        return [_error("The request body must be a JSON object.", None)]
    errors = []
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        return [_error("The personalizations field is required and must have at least one personalization.", "personalizations")]
    if len(personalizations) > MAX_PERSONALIZATIONS:
        errors.append(_error(f"The personalizations field must have {MAX_PERSONALIZATIONS} or fewer items.", "personalizations"))
    seen: set[str] = set()
    total = 0
    for index, item in enumerate(personalizations):
        recipients = [*(item.get("to") or []), *(item.get("cc") or []), *(item.get("bcc") or [])]
        if not item.get("to"):
            errors.append(_error("The to array is required for all personalization objects.", f"personalizations.{index}.to"))
        for number, recipient in enumerate(recipients):
            address = str(recipient.get("email", "")).lower()
            total += 1
            if "@" not in address or " " in address:
                errors.append(_error("Does not contain a valid address.", f"personalizations.{index}.to.{number}.email"))
            if address in seen:
                errors.append(_error("Each email address in the personalization block should be unique between to, cc, and bcc.", f"personalizations.{index}.to.{number}.email"))
            seen.add(address)
        substitutions = item.get("substitutions") or {}
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in substitutions.items()):
            errors.append(_error("Substitutions must be strings.", f"personalizations.{index}.substitutions"))
        # JSON writes a character as at most 12 (a surrogate pair as two \uXXXX): measure exactly only when that could matter.
        rough = sum(len(k) + len(v) + 6 for k, v in substitutions.items() if isinstance(k, str) and isinstance(v, str))
        if rough * 12 > MAX_SUBSTITUTION_BYTES and len(json.dumps(substitutions).encode()) > MAX_SUBSTITUTION_BYTES:
            errors.append(_error("The substitutions field must be 10000 bytes or smaller.", f"personalizations.{index}.substitutions"))
        for key, value in (item.get("headers") or {}).items():
            if not isinstance(value, str) or "\n" in value or "\r" in value:
                errors.append(_error("Header values must be strings without line breaks.", f"personalizations.{index}.headers.{key}"))
    if total > MAX_RECIPIENTS:
        errors.append(_error(f"The total number of recipients must be {MAX_RECIPIENTS} or fewer.", "personalizations"))
    if not isinstance(body.get("from"), dict) or "@" not in str(body["from"].get("email", "")):
        errors.append(_error("The from object must be provided for every email send.", "from.email"))
    if not body.get("subject") and not all(p.get("subject") for p in personalizations):
        errors.append(_error("The subject is required.", "subject"))
    content = body.get("content") or []
    types = [part.get("type") for part in content]
    if not content or any(not part.get("value") for part in content):
        errors.append(_error("Unless a valid template_id is provided, the content parameter is required.", "content"))
    elif "text/plain" in types and "text/html" in types and types.index("text/plain") > types.index("text/html"):
        errors.append(_error("If present, text/plain content must be first, followed by text/html.", "content"))
    categories = body.get("categories") or []
    if len(categories) > MAX_CATEGORIES:
        errors.append(_error("Too many categories: at most 10.", "categories"))
    custom_args = body.get("custom_args") or {}
    if not isinstance(custom_args, dict) or not all(isinstance(v, str) for v in custom_args.values()):
        errors.append(_error("Custom args values must be strings.", "custom_args"))
    for key, value in (body.get("headers") or {}).items():
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            errors.append(_error("Header values must be strings without line breaks.", f"headers.{key}"))
    errors += _tracking_errors(body.get("tracking_settings"))
    send_at = body.get("send_at")
    if send_at is not None and (not isinstance(send_at, int) or send_at > time.time() + MAX_SEND_AT_AHEAD):
        errors.append(_error("The send_at parameter must be a unix timestamp at most 72 hours in the future.", "send_at"))
    return errors


# tracking_settings as SendGrid's API describes it: each setting an object of these typed fields.
TRACKING_FIELDS = {
    "click_tracking": {"enable": bool, "enable_text": bool},
    "open_tracking": {"enable": bool, "substitution_tag": str},
    "subscription_tracking": {"enable": bool, "text": str, "html": str, "substitution_tag": str},
    "ganalytics": {"enable": bool, "utm_source": str, "utm_medium": str, "utm_term": str, "utm_content": str, "utm_campaign": str},
}


def _tracking_errors(settings: object) -> list[dict]:
    if settings is None:
        return []
    if not isinstance(settings, dict):
        return [_error("The tracking_settings field must be an object.", "tracking_settings")]
    errors = []
    for name, value in settings.items():
        fields = TRACKING_FIELDS.get(name)
        if fields is None or not isinstance(value, dict):
            errors.append(_error(f"Unknown or malformed tracking setting {name!r}.", f"tracking_settings.{name}"))
            continue
        for key, item in value.items():
            if key not in fields or not isinstance(item, fields[key]):
                errors.append(_error(f"The {key} field must be a {fields.get(key, object).__name__}.", f"tracking_settings.{name}.{key}"))
    return errors


def render(body: dict, index: int) -> dict[str, str]:
    """What SendGrid delivers to the recipient of personalization `index`: its substitutions filled
    in the subject and each content part (text and html), plus the headers it would carry."""
    personalization = body["personalizations"][index]
    substitutions = personalization.get("substitutions") or {}

    def fill(text: str) -> str:
        for tag, value in substitutions.items():
            text = text.replace(tag, value)
        return text

    parts = {part["type"]: fill(part["value"]) for part in body["content"]}
    headers = {**(body.get("headers") or {}), **(personalization.get("headers") or {})}
    return {"subject": fill(personalization.get("subject") or body["subject"]), "text": parts["text/plain"], "html": parts["text/html"], **headers}


def _error(message: str, field_name: str | None) -> dict:
    return {"message": message, "field": field_name, "help": None}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def fake(self) -> SendGridServer:
        return self.server.fake

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = self._read_json()
        if body is _UNAUTHORIZED:
            return
        if self.path == "/v3/mail/send":
            return self._mail_send(body)
        if self.path == "/v3/mail/batch":
            batch_id = uuid.uuid4().hex
            self.fake.batches[batch_id] = "created"
            return self._reply(201, {"batch_id": batch_id})
        if self.path == "/v3/user/scheduled_sends":
            if body.get("batch_id") not in self.fake.batches or body.get("status") not in ("pause", "cancel"):
                return self._reply(400, {"errors": [_error("invalid batch id or status", "batch_id")]})
            self.fake.batches[body["batch_id"]] = body["status"]
            return self._reply(201, body)
        self._reply(404, {"errors": [_error("not found", None)]})

    def do_GET(self) -> None:
        if not self._authorized():
            return
        path, _, query = self.path.partition("?")
        if path == "/v3/scopes":
            return self._reply(200, {"scopes": self.fake.scopes})
        group = re.fullmatch(r"/v3/asm/groups/(\d+)/suppressions", path)
        if group:  # a plain list of addresses, not paginated
            return self._reply(200, self.fake.group_suppressions.get(group.group(1), []))
        kind = path.removeprefix("/v3/suppression/")
        if kind in self.fake.suppressions:
            params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
            offset, limit = int(params.get("offset", 0)), int(params.get("limit", 500))
            page = self.fake.suppressions[kind][offset : offset + limit]
            return self._reply(200, [{"email": email, "created": 1700000000} for email in page])
        self._reply(404, {"errors": [_error("not found", None)]})

    def _mail_send(self, body: dict) -> None:
        self.arrived = time.time()
        with self.fake.lock:
            self.fake.requests += 1
        fault = self.fake.next_fault()
        if self.fake.behaviour.latency:
            time.sleep(self.fake.behaviour.latency)
        if fault in ("500", "503"):
            return self._reply(int(fault), {"errors": [_error("Internal server error", None)]})
        if fault == "429":
            reset = time.time() + self.fake.behaviour.rate_limit_reset
            return self._reply(429, {"errors": [_error("too many requests", None)]}, {"X-RateLimit-Reset": str(int(reset) + 1)})
        if fault == "drop_before":
            return self._drop()
        errors = validate(body)
        refuse = self.fake.behaviour.reject
        rejected = [
            _error("Does not contain a valid address.", f"personalizations.{i}.to.0.email")
            for i, p in enumerate(body.get("personalizations") or [])
            if refuse and p.get("to") and p["to"][0].get("email", "").lower() in refuse
        ]
        if errors or rejected:
            return self._reply(400, {"errors": errors + rejected})
        if body.get("batch_id") and self.fake.batches.get(body["batch_id"]) is None:
            return self._reply(400, {"errors": [_error("invalid batch id", "batch_id")]})
        self.fake.accept(body)
        if fault == "drop_after":
            return self._drop()
        if fault == "slow_after":
            time.sleep(self.fake.behaviour.slow)
        sandbox = ((body.get("mail_settings") or {}).get("sandbox_mode") or {}).get("enable")
        self._reply(200 if sandbox else 202, None, {"X-Message-Id": uuid.uuid4().hex})

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            body = {"errors": [_error("The provided authorization grant is invalid, expired, or revoked", None)]}
            self._reply(401, body)
            return False
        return True

    def _read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self._authorized():
            return _UNAUTHORIZED
        if raw and (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            self._reply(415, {"errors": [_error("Content-Type should be application/json.", None)]})
            return _UNAUTHORIZED
        if length > MAX_BODY_BYTES:
            self._reply(413, {"errors": [_error("The JSON payload you have included in your request is too large.", None)]})
            return _UNAUTHORIZED
        try:
            return orjson.loads(raw) if raw else {}  # orjson: the bench sends a million recipients through here
        except ValueError:
            self._reply(400, {"errors": [_error("Bad Request", None)]})
            return _UNAUTHORIZED

    def _reply(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        self._record(status)
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, status: int) -> None:
        if self.path == "/v3/mail/send" and hasattr(self, "arrived"):
            with self.fake.lock:
                self.fake.times.append((self.arrived, status))

    def _drop(self) -> None:
        self._record(0)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


_UNAUTHORIZED = object()  # the reply has been sent already


# --- for bench/providers_bench.py -------------------------------------------------------------


class _KeepNothing(list):
    """A list of request bodies that keeps none: at 100,000 recipients they would hold hundreds of
    MB in the bench's process and slow the server's answers with garbage collection."""

    def append(self, item: object) -> None:
        pass


def bench_environment(server: SendGridServer) -> dict[str, str]:
    """The variables a `newsletter send` needs to send through `server`."""
    return {"SENDGRID_API_HOST": server.url, "SENDGRID_API_KEY": API_KEY}


def bench_settings(server: SendGridServer) -> str:
    """newsletter.toml text that sends through SendGrid (this server, by SENDGRID_API_HOST)."""
    server.bodies = _KeepNothing()  # every request is still checked; only the bodies are not kept
    return '[send]\nprovider = "sendgrid"\n'
