"""SendGrid's v3 Mail Send API through the official `sendgrid` library.

One request carries up to 1000 recipients (one personalization each) and one rendered body; the
per-recipient values travel as `substitutions`, and each recipient's own one-click unsubscribe
URL as a personalization header. build_payload() is pure, so it is tested by comparing JSON.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import time
import urllib.error
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from ..config import Config
from ..errors import ConfigError
from ..message import list_id
from ..store import State, Status
from .base import Ambiguous, Batch, BatchResult, ProviderSetupError, RetryLater

API_KEY_VARIABLE = "SENDGRID_API_KEY"
HOST_VARIABLE = "SENDGRID_API_HOST"  # overrides [sendgrid] host, e.g. a local test server
MAX_RECIPIENTS = 1000
RECIPIENT_FIELD = re.compile(r"^personalizations\.(\d+)\b")
SUPPRESSIONS = {"unsubscribes": Status.UNSUBSCRIBED, "bounces": Status.BOUNCED, "spam_reports": Status.COMPLAINED}


def build_payload(config: Config, batch: Batch, send_at: int | None = None, batch_id: str | None = None) -> dict[str, Any]:
    """The JSON body of POST /v3/mail/send for one batch (recipients in the batch's order)."""
    sender = config.sender
    email = batch.email
    personalizations = []
    for letter in batch.letters:
        to = {"email": letter.recipient.email}
        if letter.recipient.name:
            to["name"] = letter.recipient.name
        personalizations.append(
            {
                "to": [to],
                "substitutions": letter.values,
                "headers": {"List-Unsubscribe": f"<{letter.unsubscribe_url}>"},
            }
        )
    payload: dict[str, Any] = {
        "personalizations": personalizations,
        "from": {"email": sender.address, "name": sender.name},
        "subject": f"[TEST] {email.subject}" if batch.test else email.subject,
        "content": [{"type": "text/plain", "value": email.text}, {"type": "text/html", "value": email.html}],
        "headers": {"List-Id": list_id(config), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        "categories": [config.sendgrid.category or config.newsletter.name],
        "custom_args": {"issue": batch.issue, "send_id": batch.send_id},  # values must be strings
    }
    if sender.reply_to:
        payload["reply_to"] = {"email": sender.reply_to}
    if config.sendgrid.asm_group_id:
        payload["asm"] = {"group_id": config.sendgrid.asm_group_id}
    if config.sendgrid.sandbox:
        payload["mail_settings"] = {"sandbox_mode": {"enable": True}}
    if send_at is not None:
        payload["send_at"] = send_at
        payload["batch_id"] = batch_id
    return payload


class SendGridProvider:
    name = "sendgrid"
    max_batch = MAX_RECIPIENTS

    def __init__(self, config: Config) -> None:
        key = os.environ.get(API_KEY_VARIABLE, "").strip()
        if not key:
            raise ConfigError(f"{API_KEY_VARIABLE} is not set: the SendGrid API key comes from the environment only")
        self.config = config
        host = os.environ.get(HOST_VARIABLE) or config.sendgrid.host
        self.api = SendGridAPIClient(api_key=key, host=host.rstrip("/"))
        self.api.client.timeout = config.sendgrid.timeout  # the library has no timeout of its own
        self.send_at: int | None = None
        self.batch_id: str | None = None

    def send(self, batch: Batch) -> BatchResult:
        payload = build_payload(self.config, batch, self.send_at, self.batch_id)
        try:
            response = self._call(lambda: self.api.client.mail.send.post(request_body=payload), batch)
        except _RecipientsRejected as rejected:
            return rejected.result
        detail = f"scheduled (batch {self.batch_id})" if self.batch_id else None
        states = {letter.recipient.email: (State.SENT, detail) for letter in batch.letters}
        return BatchResult(states, response.headers.get("X-Message-Id"))

    def schedule(self, store, issue: str, when) -> None:
        """Send later: every request of this run carries send_at and one batch id (for cancel)."""
        response = self._call(lambda: self.api.client.mail.batch.post())
        self.batch_id = json.loads(response.body)["batch_id"]
        self.send_at = int(when.timestamp())
        store.save_schedule(issue, self.batch_id, when)

    def cancel(self, batch_id: str) -> None:
        body = {"batch_id": batch_id, "status": "cancel"}
        self._call(lambda: self.api.client.user.scheduled_sends.post(request_body=body))

    def suppressions(self) -> dict[Status, set[str]]:
        """Addresses SendGrid will not mail: unsubscribes, bounces and spam reports."""
        found: dict[Status, set[str]] = {}
        for kind, status in SUPPRESSIONS.items():
            found[status] = set()
            offset = 0
            while True:
                endpoint = self.api.client.suppression._(kind)
                page = json.loads(self._call(lambda: endpoint.get(query_params={"limit": 500, "offset": offset})).body or b"[]")
                found[status].update(entry["email"].lower() for entry in page)
                if len(page) < 500:
                    break
                offset += 500
        return found

    def close(self) -> None:
        pass

    def _call(self, request, batch: Batch | None = None):
        """Make one API call; translate failures into RetryLater, Ambiguous or a setup error."""
        try:
            return request()
        except HTTPError as exc:
            return self._refused(exc, batch)
        except urllib.error.URLError as exc:
            # Raised while connecting or sending the request: SendGrid has not accepted anything.
            raise RetryLater(f"cannot reach SendGrid: {exc.reason}") from None
        except (TimeoutError, socket.timeout, http.client.HTTPException, ConnectionError) as exc:
            # The request left and no (complete) answer came back.
            raise Ambiguous(f"no answer from SendGrid ({type(exc).__name__}: {exc})") from None

    def _refused(self, exc: HTTPError, batch: Batch | None):
        words = _words(exc)
        status = exc.status_code
        if status == 429:
            reset = _header(exc, "X-RateLimit-Reset")
            wait = max(float(reset) - time.time(), 0.0) if reset else None
            raise RetryLater(f"429 rate limited: {words}", retry_after=wait)
        if status >= 500:
            after = _header(exc, "Retry-After")
            raise RetryLater(f"{status} server error: {words}", retry_after=float(after) if after and after.isdigit() else None)
        if status == 400 and batch is not None:
            raise _RecipientsRejected(_rejected_recipients(exc, batch, words))
        if status in (401, 403):
            raise ProviderSetupError(f"SendGrid refused the API key in {API_KEY_VARIABLE} ({status}): {words}")
        if status == 413:
            raise ProviderSetupError(f"SendGrid says the request is too large (413): {words}; lower [send] batch_size")
        raise ProviderSetupError(f"SendGrid rejected the request ({status}): {words}")


class _RecipientsRejected(Exception):
    def __init__(self, result: BatchResult) -> None:
        self.result = result


def _rejected_recipients(exc: HTTPError, batch: Batch, words: str) -> BatchResult:
    """A 400 naming recipients fails those (with SendGrid's words); the others go back to pending."""
    blamed: dict[int, str] = {}
    for error in _errors(exc):
        match = RECIPIENT_FIELD.match(str(error.get("field") or ""))
        if match and int(match.group(1)) < len(batch.letters):
            blamed[int(match.group(1))] = str(error.get("message") or words)
    if not blamed:
        raise ProviderSetupError(f"SendGrid rejected the request (400): {words}")
    states = {}
    for index, letter in enumerate(batch.letters):
        address = letter.recipient.email
        states[address] = (State.FAILED, f"SendGrid: {blamed[index]}") if index in blamed else (State.PENDING, None)
    return BatchResult(states)


def _errors(exc: HTTPError) -> list[dict]:
    try:
        return list(json.loads(exc.body).get("errors") or [])
    except (ValueError, AttributeError, TypeError):
        return []


def _words(exc: HTTPError) -> str:
    messages = [
        f"{e.get('message')}" + (f" (field {e['field']})" if e.get("field") else "") for e in _errors(exc) if e.get("message")
    ]
    if messages:
        return "; ".join(messages)
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body or "")
    return body.strip()[:300] or str(exc.reason)


def _header(exc: HTTPError, name: str) -> str | None:
    headers = getattr(exc, "headers", None)
    return headers.get(name) if headers is not None else None
