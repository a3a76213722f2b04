"""A Mailgun-compatible HTTP server on 127.0.0.1, for tests and benchmarks (no network needed).

It speaks the parts of Mailgun's API the tool uses (POST /v3/{domain}/messages, GET
/v3|v4/domains/{domain}, DELETE /v3/{domain}/envelopes), checks each message request against
Mailgun's published description (tests/vendor/providers/mailgun/openapi.yaml: the form fields'
schema, `from` and `to` required; then its documented rules: a subject, a text or html part, at
most 1,000 recipients, recipient-variables as JSON naming every `to`, send options within 16 KB,
o:deliverytime an RFC 2822 date at most 3 days ahead), and HTTP Basic auth `api:<key>`. It records
every accepted recipient, answers with Mailgun's status codes and bodies (200 {"id", "message":
"Queued. Thank you."}, 400 {"message"}, 401 "Forbidden", 404, 429 "... try again after N
seconds"), keeps scheduled messages until DELETE envelopes drops them all, and can inject faults.

Mailgun documents its 400 for a bad recipient as "to parameter is not a valid address. please check
documentation." (naming none); whether it ever names the address is not documented, so `reject`
answers in the documented words and `reject_naming` in words that name the address.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.parser
import email.policy
import email.utils
import io
import json
import random
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jsonschema
import yaml
from werkzeug.formparser import parse_form_data

from tests.helpers.local_server import LocalServer, QuietServer

API_KEY = "key-test-for-the-local-mailgun"
DOMAIN = "mg.fixture.example.org"
SPEC = Path(__file__).resolve().parents[1] / "vendor" / "providers" / "mailgun" / "openapi.yaml"
MESSAGES_SCHEMA = "POST-v3-domain_name-messages-multipart-form-data-RequestBody"
MAX_RECIPIENTS = 1000
MAX_OPTION_BYTES = 16 * 1024
MAX_SCHEDULE_AHEAD = dt.timedelta(days=3)
OPTION_PREFIXES = ("o:", "h:", "v:", "t:")
FAULTS = ("500", "503", "429", "drop_before", "drop_after", "slow_after")
NOT_AN_ADDRESS = "to parameter is not a valid address. please check documentation."


@dataclass
class Behaviour:
    """What the server does besides answering correctly. Mutable between requests in a test."""

    fault_rate: float = 0.0  # share of message requests that meet one of `faults`
    faults: tuple[str, ...] = FAULTS
    forced: list[str] = field(default_factory=list)  # faults for the next message requests, in order (and "drip_after")
    reject: set[str] = field(default_factory=set)  # addresses refused with Mailgun's documented 400 (naming none)
    reject_naming: set[str] = field(default_factory=set)  # addresses refused with a 400 that names the address
    latency: float = 0.0  # seconds before answering every message request
    slow: float = 2.0  # seconds a "slow_after" answer takes (more than the client's timeout)
    drip: float = 0.2  # seconds between the bytes of a "drip_after" answer
    rate_limit_reset: int = 0  # the N of a 429's "try again after N seconds"
    validate_every: int = 1  # check every Nth message request against the schema (the bench: fewer)
    seed: int = 1


@dataclass
class Message:
    """An accepted message request: its id, recipients and fields (values as lists, as the form had them)."""

    id: str
    recipients: list[str]
    fields: dict[str, list[str]]

    def one(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None


class MailgunServer(LocalServer):
    """Run with `with MailgunServer() as server:`; point [mailgun] host at server.url (bench_settings)."""

    def __init__(self, behaviour: Behaviour | None = None, domain: str = DOMAIN) -> None:
        self.behaviour = behaviour or Behaviour()
        self.domain = domain
        self.lock = threading.Lock()
        self.random = random.Random(self.behaviour.seed)
        self.delivered: Counter[str] = Counter()  # address -> accepted copies (scheduled ones included)
        self.requests = 0  # message requests received
        self.messages: list[Message] = []  # accepted message requests
        self.scheduled: dict[str, Message] = {}  # message id -> a message held for o:deliverytime
        self.dropped: list[Message] = []  # scheduled messages DELETE envelopes dropped
        self.calls: list[tuple[str, str]] = []  # (method, path) of every request
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.fake = self

    def __enter__(self) -> MailgunServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def accept(self, fields: dict[str, list[str]], recipients: list[str]) -> Message:
        message = Message(f"<{time.strftime('%Y%m%d%H%M%S')}.{uuid.uuid4().hex[:12]}@{self.domain}>", recipients, fields)
        with self.lock:
            for address in recipients:
                self.delivered[address.lower()] += 1
            self.messages.append(message)
            if fields.get("o:deliverytime"):
                self.scheduled[message.id] = message
        return message

    def drop_scheduled(self) -> None:
        with self.lock:
            self.dropped.extend(self.scheduled.values())
            self.scheduled.clear()


def bench_environment(server: MailgunServer) -> dict[str, str]:
    """The environment a `newsletter send` needs to send through `server`."""
    return {"MAILGUN_API_KEY": API_KEY}


def bench_settings(server: MailgunServer) -> str:
    """newsletter.toml text that sends through `server`."""
    return f'[send]\nprovider = "mailgun"\n\n[mailgun]\nhost = "{server.url}"\ndomain = "{server.domain}"\n'


@cache
def messages_schema() -> dict[str, Any]:
    """The form fields of POST /v3/{domain}/messages, as Mailgun's OpenAPI description gives them:
    that one schema's block, read out of the 680 KB file (parsing all of it takes a third of a second)."""
    lines = SPEC.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"    {MESSAGES_SCHEMA}:")
    end = next(n for n in range(start + 1, len(lines)) if lines[n].strip() and len(lines[n]) - len(lines[n].lstrip()) <= 4)
    schema: dict[str, Any] = yaml.safe_load("\n".join(lines[start:end]))[MESSAGES_SCHEMA]
    assert "$ref" not in json.dumps(schema), "the schema refers elsewhere: read the whole file"
    return schema


@cache
def schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(messages_schema())


def as_schema_object(fields: dict[str, list[str]]) -> tuple[dict[str, Any], list[str]]:
    """The form as the schema describes it: an array field as its list, any other field as its one
    value. Also the problems that shape cannot show (a single-valued field given twice)."""
    properties = messages_schema()["properties"]
    shaped: dict[str, Any] = {}
    problems = []
    for name, values in fields.items():
        if properties.get(name, {}).get("type") == "array":
            shaped[name] = values
        else:
            if len(values) > 1:
                problems.append(f"{name} parameter was given {len(values)} times")
            shaped[name] = values[-1]
    return shaped, problems


def validate(fields: dict[str, list[str]], check_schema: bool = True) -> list[str]:
    """What Mailgun would refuse in a message request, in its words where it documents them."""
    problems: list[str] = []
    if check_schema:
        shaped, problems = as_schema_object(fields)
        problems += [error.message for error in schema_validator().iter_errors(shaped)]
    if not fields.get("from"):
        problems.append("from parameter is missing.")
    if not fields.get("to"):
        problems.append("to parameter is missing.")
    if not fields.get("subject"):
        problems.append("subject parameter is missing.")
    if not (fields.get("text") or fields.get("html")):
        problems.append("Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified.")
    recipients = addresses(fields, "to") + addresses(fields, "cc") + addresses(fields, "bcc")
    if len(recipients) > MAX_RECIPIENTS:
        problems.append(f"Too many recipients: {len(recipients)}, at most {MAX_RECIPIENTS} per batch.")
    problems += _recipient_variable_problems(fields)
    size = sum(len(key.encode()) + len(value.encode()) for key, values in fields.items() if key.startswith(OPTION_PREFIXES) for value in values)
    if size > MAX_OPTION_BYTES:
        problems.append("Send options (parameters starting with o:, h:, or v:) are limited to 16KB total")
    when = (fields.get("o:deliverytime") or [None])[0]
    if when is not None:
        problems += _delivery_time_problems(when)
    return problems


def addresses(fields: dict[str, list[str]], name: str) -> list[str]:
    """The bare addresses of a recipient field (each value may hold several, comma-separated, with names)."""
    values = fields.get(name) or []
    if not any(mark in value for value in values for mark in ',<"('):  # bare addresses, as the tool sends them: no parsing
        return [value.strip() for value in values]
    return [address for _, address in email.utils.getaddresses(values)]


def _recipient_variable_problems(fields: dict[str, list[str]]) -> list[str]:
    raw = (fields.get("recipient-variables") or [None])[0]
    if raw is None:
        return ["recipient-variables parameter is missing: every recipient would see all the others in To"] if len(addresses(fields, "to")) > 1 else []
    try:
        variables = json.loads(raw)
    except ValueError:
        return ["recipient-variables parameter is not a valid JSON"]
    if not isinstance(variables, dict) or not all(isinstance(value, dict) for value in variables.values()):
        return ["recipient-variables parameter must be a JSON object of objects"]
    missing = [address for address in addresses(fields, "to") if address not in variables]
    return [f"recipient-variables names no variables for {missing[0]} ({len(missing)} recipient(s) in all)"] if missing else []


def _delivery_time_problems(when: str) -> list[str]:
    try:
        at = email.utils.parsedate_to_datetime(when)
    except (TypeError, ValueError):
        return [f"o:deliverytime {when!r} is not an RFC 2822 date"]
    if at.tzinfo is None or at - dt.datetime.now(dt.UTC) > MAX_SCHEDULE_AHEAD:
        return ["o:deliverytime must be a date with a time zone, at most 3 days ahead"]
    return []


def fill(message: Message, recipient: str) -> dict[str, str]:
    """What Mailgun delivers to `recipient` of an accepted message: %recipient.x% filled in the
    subject, each part and each h: header from their recipient-variables."""
    variables = json.loads(message.one("recipient-variables") or "{}").get(recipient, {})

    def filled(value: str) -> str:
        for name, content in variables.items():
            value = value.replace(f"%recipient.{name}%", str(content))
        return value

    parts = {name: filled(message.one(name) or "") for name in ("subject", "text", "html")}
    headers = {key[2:]: filled(values[0]) for key, values in message.fields.items() if key.startswith("h:")}
    return parts | headers


class _Server(QuietServer):
    fake: MailgunServer



class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    @property
    def fake(self) -> MailgunServer:
        return self.server.fake

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._record_call()
        if not self._authorized():
            return
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) == 3 and parts[0] in ("v3", "v4") and parts[1] == "domains":
            if parts[2] != self.fake.domain:
                return self._reply(404, {"message": "Domain not found"})
            return self._reply(200, {"domain": {"name": self.fake.domain, "state": "active"}, "receiving_dns_records": [], "sending_dns_records": []})
        self._reply(404, {"message": "Not Found"})

    def do_DELETE(self) -> None:
        self._record_call()
        if not self._authorized():
            return
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "v3" and parts[2] == "envelopes":
            if parts[1] != self.fake.domain:
                return self._reply(404, {"message": "domain not found"})
            self.fake.drop_scheduled()
            return self._reply(200, {"message": "done"})
        self._reply(404, {"message": "Not Found"})

    def do_POST(self) -> None:
        self._record_call()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self._authorized():
            return
        parts = self.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "v3" or parts[2] != "messages":
            return self._reply(404, {"message": "Not Found"})
        if parts[1] != self.fake.domain:
            return self._reply(404, {"message": f"Domain not found: {parts[1]}"})
        fields = self._form(body)
        if fields is None:
            return self._reply(400, {"message": "the body is not a form (multipart/form-data or application/x-www-form-urlencoded)"})
        self._messages(fields)

    def _messages(self, fields: dict[str, list[str]]) -> None:
        fake = self.fake
        with fake.lock:
            fake.requests += 1
            number = fake.requests
        fault = fake.next_fault()
        if fake.behaviour.latency:
            time.sleep(fake.behaviour.latency)
        if fault in ("500", "503"):
            return self._reply(int(fault), {"message": "Internal Server Error"})
        if fault == "429":
            reset = fake.behaviour.rate_limit_reset
            return self._reply(429, {"message": f"Domain {fake.domain} is not allowed to send: account-requests-per-sec limit exceeded, try again after {reset} seconds"})
        if fault == "drop_before":
            return self._drop()
        problems = validate(fields, check_schema=number % fake.behaviour.validate_every == 0 or number == 1)
        if problems:
            return self._reply(400, {"message": "; ".join(problems)})
        recipients = addresses(fields, "to")
        refused = [address for address in recipients if address.lower() in fake.behaviour.reject_naming]
        if refused:
            return self._reply(400, {"message": f"to parameter is not a valid address: {refused[0]}. please check documentation."})
        if any(address.lower() in fake.behaviour.reject for address in recipients):
            return self._reply(400, {"message": NOT_AN_ADDRESS})
        message = fake.accept(fields, recipients)
        if fault == "drop_after":
            return self._drop()
        if fault == "slow_after":
            time.sleep(fake.behaviour.slow)
        answer = {"id": message.id, "message": "Queued. Thank you."}
        if fault == "drip_after":
            return self._drip(answer)
        self._reply(200, answer)

    def _form(self, body: bytes) -> dict[str, list[str]] | None:
        """The form's fields, each with its values in order (a field may be repeated)."""
        kind = self.headers.get("Content-Type") or ""
        fields: dict[str, list[str]] = {}
        if kind.startswith("application/x-www-form-urlencoded"):
            for name, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=100_000):
                fields.setdefault(name, []).append(value)
            return fields
        if kind.startswith("multipart/form-data"):
            # werkzeug's parser (as a web server reads the form): the mail parser takes ~0.4 s for a
            # batch's 1,000 `to` parts, which would make the bench measure this server
            environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": kind, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
            _, form, _ = parse_form_data(environ, max_form_parts=100_000, max_form_memory_size=len(body) + 1)
            for name, values in form.lists():
                fields[name] = list(values)
            return fields
        return None

    def _authorized(self) -> bool:
        expected = "Basic " + base64.b64encode(f"api:{API_KEY}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self._reply(401, "Forbidden")
            return False
        return True

    def _record_call(self) -> None:
        with self.fake.lock:
            self.fake.calls.append((self.command, self.path))

    def _reply(self, status: int, body: object) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drip(self, body: object) -> None:
        """A complete, correct answer, one byte at a time: each read is quick, the whole is not."""
        data = json.dumps(body).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
        self.close_connection = True
        try:
            for byte in head + data:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(self.fake.behaviour.drip)
        except OSError:
            pass  # the client gave up, as it should

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
