"""A Postmark-compatible HTTP server on 127.0.0.1, for tests and benchmarks (no network needed).

Postmark publishes no machine-readable description we may ship (its Swagger files are not
redistributable; the copy in APIs-guru is stale), so the checks are written from its documentation
(/work/shared/providers/FACTS.md, section 3, and the pages it cites):
- every request carries X-Postmark-Server-Token (401 otherwise, ErrorCode 10);
- POST /email/batch: Accept and Content-Type application/json (ErrorCode 409), a JSON array
  (402 invalid JSON, 403 incompatible JSON: a field of the wrong type) of at most 500 messages
  (410), at most 50 MB (413); each message has a From and a To, at most 50 recipients
  (To + Cc + Bcc), a TextBody or an HtmlBody, at most 10 MB, addresses Postmark's own rules
  accept (support article 1180), Headers as a list of {Name, Value}, Metadata string -> string,
  a MessageStream this server has;
- a 200 answers each message in request order, and a message can fail inside it: an address
  set as inactive (`Behaviour.inactive`: a hard bounce, a complaint or an unsubscribe at
  Postmark) gets ErrorCode 406, an invalid message 300;
- GET /message-streams/{id} answers the stream and its MessageStreamType.
Where the documentation gives an answer's code but not its words, the words here are ours.

Faults: 5xx, 429 (Postmark documents no reset header; `Behaviour.retry_after` adds a Retry-After),
connections dropped before or after the batch was taken, answers slower than the client's timeout.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler
from typing import Any

import orjson

from tests.helpers.local_server import LocalServer, QuietServer

TOKEN = "postmark-test-server-token"
MAX_MESSAGES = 500
MAX_RECIPIENTS = 50
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
MAX_BATCH_BYTES = 50 * 1024 * 1024
FAULTS = ("500", "503", "429", "drop_before", "drop_after", "slow_after")
# Forced only: a 422 for the whole batch naming its first address as inactive, as POST /email answers
# for one message. The batch API is documented to answer per message instead; a client that meets
# this anyway must fail only the address it names.
WHOLE_BATCH_INACTIVE = "422_inactive"
TRACK_LINKS = ("None", "HtmlAndText", "HtmlOnly", "TextOnly")
# Postmark's rules for an address (support article 1180, "What does Error Code 300 mean?")
MAILBOX = re.compile(r"^[a-z0-9\.!#\$%&'`\*\+\-\/=\^_\{\}\|~]+$")
DOMAIN = re.compile(r"^((\.)?[a-zA-Z0-9\-])+$")
INACTIVE_WORDS = (
    "You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: {}. "
    "Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression."
)
TO_KEY = b'"To":"'  # in a compact JSON body, only ever a message's To key (a quote inside a string is escaped)


@dataclass
class Behaviour:
    """What the server does besides answering correctly. Mutable between requests in a test."""

    fault_rate: float = 0.0  # share of batch requests that meet one of `faults`
    faults: tuple[str, ...] = FAULTS
    forced: list[str] = field(default_factory=list)  # faults for the next batch requests, in order
    inactive: set[str] = field(default_factory=set)  # addresses answered with ErrorCode 406 inside a 200
    latency: float = 0.0  # seconds before answering every batch request
    slow: float = 2.0  # seconds a "slow_after" answer takes (more than the client's timeout)
    retry_after: float | None = None  # a Retry-After header on a 429 (Postmark documents none)
    validate_every: int = 1  # check every Nth batch fully; the others are only counted (the bench)
    seed: int = 1


class PostmarkServer(LocalServer):
    """Run with `with PostmarkServer() as server:`; set [postmark] host to server.url."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.lock = threading.Lock()
        self.random = random.Random(self.behaviour.seed)
        self.streams: dict[str, dict[str, Any]] = {
            "outbound": stream("outbound", "Transactional"),
            "broadcast": stream("broadcast", "Broadcasts"),
        }
        self.delivered: Counter[str] = Counter()  # address -> accepted copies
        self.requests = 0  # batch requests received
        self.accepted_requests = 0
        self.bodies: list[list[dict[str, Any]]] = []  # the accepted messages of each fully checked batch
        self.times: list[tuple[float, int]] = []  # (arrival time, status answered) of each batch request
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.fake = self

    def __enter__(self) -> PostmarkServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def full_check(self) -> bool:
        with self.lock:
            self.requests += 1
            return (self.requests - 1) % max(self.behaviour.validate_every, 1) == 0

    def accept(self, recipients: list[list[str]], messages: list[dict[str, Any]] | None) -> None:
        with self.lock:
            self.accepted_requests += 1
            for addresses in recipients:
                for found in addresses:
                    self.delivered[found] += 1
            if messages is not None:
                self.bodies.append(messages)


def stream(identity: str, kind: str, unsubscribes: str = "None") -> dict[str, Any]:
    """A message stream as GET /message-streams/{id} shows it."""
    return {
        "ID": identity, "ServerID": 1, "Name": identity.title(), "Description": None, "MessageStreamType": kind,
        "CreatedAt": "2026-01-01T00:00:00-05:00", "UpdatedAt": None, "ArchivedAt": None,
        "SubscriptionManagementConfiguration": {"UnsubscribeHandlingType": unsubscribes},
    }


def bench_environment(server: PostmarkServer) -> dict[str, str]:
    """The environment a `newsletter send` needs to send through `server`."""
    return {"POSTMARK_SERVER_TOKEN": TOKEN}


def bench_settings(server: PostmarkServer) -> str:
    """newsletter.toml text that sends through `server` (appended to a workspace's settings)."""
    server.behaviour.validate_every = 50  # a 500-message batch of a real issue is ~20 MB of JSON
    return f'[send]\nprovider = "postmark"\n\n[postmark]\nhost = "{server.url}"\nmessage_stream = "broadcast"\n'


class _Server(QuietServer):
    fake: PostmarkServer



class BatchRefused(Exception):
    """The whole batch is refused: 422 with Postmark's ErrorCode."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message


def check_types(messages: object, streams: dict[str, Any]) -> list[dict[str, Any]]:
    """The batch's shape, as Postmark reads it before looking at any message. Raises BatchRefused."""
    if not isinstance(messages, list):
        raise BatchRefused(403, "Incompatible JSON: the batch must be an array of messages.")
    if len(messages) > MAX_MESSAGES:
        raise BatchRefused(410, f"Too many batch messages: at most {MAX_MESSAGES} per request.")
    strings = ("From", "To", "Cc", "Bcc", "ReplyTo", "Subject", "HtmlBody", "TextBody", "Tag", "MessageStream", "TrackLinks")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise BatchRefused(403, f"Incompatible JSON: message {index} is not an object.")
        for name in strings:
            if message.get(name) is not None and not isinstance(message[name], str):
                raise BatchRefused(403, f"Incompatible JSON: '{name}' of message {index} must be a string.")
        headers = message.get("Headers")
        if headers is not None and not (
            isinstance(headers, list) and all(isinstance(h, dict) and set(h) == {"Name", "Value"} and all(isinstance(v, str) for v in h.values()) for h in headers)
        ):
            raise BatchRefused(403, f"Incompatible JSON: 'Headers' of message {index} must be a list of {{Name, Value}}.")
        metadata = message.get("Metadata")
        if metadata is not None and not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
            raise BatchRefused(403, f"Incompatible JSON: 'Metadata' of message {index} must map strings to strings.")
        if message.get("TrackOpens") is not None and not isinstance(message["TrackOpens"], bool):
            raise BatchRefused(403, f"Incompatible JSON: 'TrackOpens' of message {index} must be true or false.")
        if message.get("TrackLinks") is not None and message["TrackLinks"] not in TRACK_LINKS:
            raise BatchRefused(403, f"Incompatible JSON: 'TrackLinks' of message {index} must be one of {', '.join(TRACK_LINKS)}.")
        if message.get("MessageStream", "outbound") not in streams:
            raise BatchRefused(1235, f"The message stream '{message['MessageStream']}' does not exist on this server.")
    return messages


def valid_address(found: str) -> bool:
    local, at, domain = found.rpartition("@")
    if not at or not local or not domain or local.startswith(".") or local.endswith(".") or ".." in local:
        return False
    return MAILBOX.match(local.lower()) is not None and DOMAIN.match(domain) is not None


def addresses_in(field_value: str | None) -> list[str]:
    return [found for _, found in getaddresses([field_value])] if field_value else []


def check_message(message: dict[str, Any]) -> tuple[int, str] | None:
    """A message's own problem as (ErrorCode, words), or None when Postmark would take it."""
    sender = addresses_in(message.get("From"))
    if len(sender) != 1 or not valid_address(sender[0]):
        return 300, f"Invalid 'From' address: '{message.get('From')}'."
    if not message.get("To"):
        return 300, "Zero recipients specified."
    recipients = [found for name in ("To", "Cc", "Bcc") for found in addresses_in(message.get(name))]
    if len(recipients) > MAX_RECIPIENTS:
        return 300, f"Maximum of {MAX_RECIPIENTS} recipients allowed per email message."
    for found in recipients:
        if not valid_address(found):
            return 300, f"Error parsing 'To': Illegal email address '{found}'."
    if not message.get("HtmlBody") and not message.get("TextBody"):
        return 300, "Provide either email TextBody or HtmlBody or both."
    if len(orjson.dumps(message)) > MAX_MESSAGE_BYTES:
        return 300, "The message exceeds Postmark's limit of 10 MB."
    return None


def quick_recipients(raw: bytes) -> list[list[str]]:
    """Each message's To addresses, read straight from a compact JSON body without parsing it all
    (the bench's fast path: a 500-message batch is ~20 MB)."""
    found, start = [], raw.find(TO_KEY)
    while start != -1:
        begin = end = start + len(TO_KEY)
        while True:
            end = raw.index(b'"', end)
            escapes = len(raw[begin:end]) - len(raw[begin:end].rstrip(b"\\"))
            if escapes % 2 == 0:  # this quote ends the string
                break
            end += 1
        to = orjson.loads(b'"' + raw[begin:end] + b'"')
        one = to.rpartition("<")[2].rstrip(">") if "," not in to else None  # one recipient, as the tool sends
        found.append([one.lower()] if one else [a.lower() for a in addresses_in(to)])
        start = raw.find(TO_KEY, end)
    return found


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def fake(self) -> PostmarkServer:
        return self.server.fake  # type: ignore[attr-defined,no-any-return]

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if not self._authorized():
            return
        found = re.fullmatch(r"/message-streams/([^/?]+)", self.path)
        if found and found.group(1) in self.fake.streams:
            return self._reply(200, self.fake.streams[found.group(1)])
        if found:
            return self._reply(404, {"ErrorCode": 1226, "Message": "The message stream for the provided 'ID' was not found."})
        self._reply(404, {"ErrorCode": 404, "Message": "Not found."})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self._authorized():
            return
        if self.path != "/email/batch":
            return self._reply(404, {"ErrorCode": 404, "Message": "Not found."})
        self.arrived = time.time()
        full = self.fake.full_check()
        fault = self.fake.next_fault()
        if self.fake.behaviour.latency:
            time.sleep(self.fake.behaviour.latency)
        if fault and self._answered_before_taking(fault, raw):
            return None
        if any(self._json_type(name) != "application/json" for name in ("Content-Type", "Accept")):
            return self._reply(422, {"ErrorCode": 409, "Message": "JSON required: set the Accept and Content-Type headers to application/json."})
        if length > MAX_BATCH_BYTES:
            return self._reply(413, {"ErrorCode": 413, "Message": "The request exceeded Postmark's size limit of 50 MB for the batch API."})
        try:
            results, recipients, messages = self._batch(raw) if full else self._counted(raw)
        except BatchRefused as refused:
            return self._reply(422, {"ErrorCode": refused.code, "Message": refused.message})
        self.fake.accept(recipients, messages)
        if fault == "drop_after":
            return self._drop()
        if fault == "slow_after":
            time.sleep(self.fake.behaviour.slow)
        self._reply(200, results)

    def _answered_before_taking(self, fault: str, raw: bytes) -> bool:
        """The faults that answer (or drop) before the batch is taken; False for the others."""
        if fault in ("500", "503"):
            self._reply(int(fault), {"ErrorCode": 0, "Message": "Internal server error."} if fault == "500" else None)
        elif fault == "429":
            after = self.fake.behaviour.retry_after
            self._reply(429, {"ErrorCode": 429, "Message": "Rate limit exceeded."}, {"Retry-After": str(after)} if after is not None else None)
        elif fault == "drop_before":
            self._drop()
        elif fault == WHOLE_BATCH_INACTIVE:
            (first, *_), *_ = quick_recipients(raw)
            self._reply(422, {"ErrorCode": 406, "Message": INACTIVE_WORDS.format(first)})
        else:
            return False
        return True

    def _batch(self, raw: bytes) -> tuple[list[dict[str, Any]], list[list[str]], list[dict[str, Any]]]:
        """Every check; the answer's entries, the accepted messages' recipients and the messages."""
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BatchRefused(402, "Invalid JSON.") from None
        messages = check_types(parsed, self.fake.streams)
        results, recipients, accepted = [], [], []
        for message in messages:
            problem = check_message(message)
            addresses = [found.lower() for name in ("To", "Cc", "Bcc") for found in addresses_in(message.get(name))]
            inactive = [found for found in addresses if found in self.fake.behaviour.inactive]
            if problem is None and inactive:
                problem = 406, INACTIVE_WORDS.format(", ".join(inactive))
            if problem is not None:
                results.append({"ErrorCode": problem[0], "Message": problem[1]})
                continue
            results.append(taken(message["To"]))
            recipients.append(addresses)
            accepted.append(message)
        return results, recipients, accepted

    def _counted(self, raw: bytes) -> tuple[list[dict[str, Any]], list[list[str]], None]:
        """The bench's fast path: each message's recipients, inactive ones answered 406, no other check."""
        results, recipients = [], []
        for addresses in quick_recipients(raw):
            inactive = [found for found in addresses if found in self.fake.behaviour.inactive]
            if inactive:
                results.append({"ErrorCode": 406, "Message": INACTIVE_WORDS.format(", ".join(inactive))})
                continue
            results.append(taken(", ".join(addresses)))
            recipients.append(addresses)
        return results, recipients, None

    def _json_type(self, header: str) -> str:
        return (self.headers.get(header) or "").split(";")[0].strip().lower()

    def _authorized(self) -> bool:
        token = self.headers.get("X-Postmark-Server-Token")
        if token == TOKEN:
            return True
        if token:
            words = "The Server Token you provided in the X-Postmark-Server-Token request header was invalid. Please verify that you are using a valid token."
        else:
            words = "No Account or Server API tokens were supplied in the HTTP headers. Please add a header for either X-Postmark-Server-Token or X-Postmark-Account-Token."
        self._reply(401, {"ErrorCode": 10, "Message": words})
        return False

    def _reply(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        self._record(status)
        data = b"" if body is None else orjson.dumps(body)
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, status: int) -> None:
        if self.path == "/email/batch" and hasattr(self, "arrived"):
            with self.fake.lock:
                self.fake.times.append((self.arrived, status))

    def _drop(self) -> None:
        self._record(0)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def taken(to: str) -> dict[str, Any]:
    """The entry of a message Postmark took."""
    return {"ErrorCode": 0, "Message": "OK", "MessageID": str(uuid.uuid4()), "SubmittedAt": dt.datetime.now(dt.UTC).isoformat(), "To": to}
