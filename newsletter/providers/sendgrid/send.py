"""Sending through SendGrid's v3 Mail Send API with the official `sendgrid` library: one request
per batch (its body from payload.py), and SendGrid's answers turned into outcomes.

SendGrid cannot deliver to a non-ASCII local part, so such a recipient fails with that reason
and the rest of the batch goes on.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.error
from collections.abc import Callable
from typing import Any

import orjson
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from ...models import Outcome, RecipientStatus
from ...models.addresses import NEEDS_SMTPUTF8
from ...speedups import QuietBody
from ...workspace.config import Config
from ...workspace.credentials import SENDGRID_API_HOST, SENDGRID_API_KEY, mask_secrets, refuse_clear_text, sendgrid_api_key, sendgrid_host_override
from ..base import Ambiguous, Batch, ProviderRefused, Report, RetryLater
from .payload import build_payload, deliverable
from .suppressions import read_suppressions

NAME = "sendgrid"
MAX_RECIPIENTS = 1000
RECIPIENT_FIELD = re.compile(r"^personalizations\.(\d+)\b")
JSON_UTF8 = {"Content-Type": "application/json; charset=utf-8"}


class SendGridProvider:
    name = NAME
    max_batch = MAX_RECIPIENTS
    cancel_scope = None  # a batch id cancels this delivery alone

    def __init__(self, config: Config) -> None:
        self.config = config
        override = sendgrid_host_override()
        self.host = (override or config.sendgrid.host).rstrip("/")
        refuse_clear_text(self.host, SENDGRID_API_HOST if override else "[sendgrid] host")
        self.api = SendGridAPIClient(api_key=sendgrid_api_key(), host=self.host)
        self.api.client.timeout = config.sendgrid.timeout  # the library has no timeout of its own

    def check(self) -> None:
        """GET /v3/scopes: SendGrid is reachable, takes the API key, and the key may send mail."""
        response = self._setup_call("check the API key", lambda: self.api.client.scopes.get())
        scopes = json.loads(response.body or b"{}").get("scopes") or []
        if "mail.send" not in scopes:
            raise ProviderRefused(f"the API key in {SENDGRID_API_KEY} may not send mail (it lacks the mail.send permission at SendGrid)", NAME)

    def send(self, batch: Batch, report: Report) -> None:
        letters = []
        for letter in batch.letters:
            if deliverable(letter):
                letters.append(letter)
            else:
                report(letter.email, RecipientStatus(Outcome.REJECTED, f"SendGrid cannot deliver to this address: {NEEDS_SMTPUTF8}"))
        if not letters:
            return
        if len(letters) < len(batch.letters):
            batch = Batch(batch.edition, batch.send_id, letters)
        payload = build_payload(self.config, batch)
        # Encoded here (orjson, ~10x the standard library's speed on a 1,000-recipient body); the
        # client sends text as it is when the Content-Type is not exactly "application/json".
        body = QuietBody(orjson.dumps(payload).decode())
        try:
            response = self._call(lambda: self.api.client.mail.send.post(request_body=body, request_headers=JSON_UTF8), batch)
        except _RecipientsRejected as rejected:
            for address, status in rejected.statuses.items():
                report(address, status)
            return  # the others were not taken: they are tried again in a later batch
        message_id = response.headers.get("X-Message-Id")
        for letter in letters:
            report(letter.email, RecipientStatus(Outcome.ACCEPTED, message_id=message_id))

    def new_schedule_id(self) -> str:
        """A batch id from SendGrid (POST /v3/mail/batch), which lets scheduled requests be cancelled."""
        response = self._setup_call("create a batch id for the scheduled send", lambda: self.api.client.mail.batch.post())
        return str(json.loads(response.body)["batch_id"])

    def cancel(self, schedule_id: str, message_ids: list[str]) -> None:  # noqa: ARG002 (SendGrid cancels by batch id)
        """Cancel every request scheduled under this batch id (POST /v3/user/scheduled_sends)."""
        body = {"batch_id": schedule_id, "status": "cancel"}
        self._setup_call("cancel the scheduled send", lambda: self.api.client.user.scheduled_sends.post(request_body=body))

    def suppressions(self) -> dict[str, list[str]]:
        """Addresses SendGrid will not mail, by list, as SendGrid writes them (suppressions.py)."""
        return read_suppressions(self.api.client, self._setup_call, self.config.sendgrid.asm_group_id)

    def close(self) -> None:
        pass

    def _setup_call(self, purpose: str, request: Callable[[], Any]) -> Any:
        """A call outside the send loop: any failure is one error for the user, with SendGrid's words."""
        try:
            return self._call(request)
        except RetryLater as exc:
            raise ProviderRefused(f"could not {purpose} at SendGrid: {exc}; nothing was sent, try again later", NAME, exc.status, exc.words) from None
        except Ambiguous as exc:
            raise ProviderRefused(
                f"could not {purpose}: {exc}; it may or may not have happened, check the SendGrid dashboard", NAME, exc.status, exc.words
            ) from None

    def _call(self, request: Callable[[], Any], batch: Batch | None = None) -> Any:
        """Make one API call; translate failures into RetryLater, Ambiguous or ProviderRefused."""
        try:
            return request()
        except HTTPError as exc:
            return self._refused(exc, batch)
        except urllib.error.URLError as exc:
            # urllib raises URLError only while connecting or sending the request, before any
            # answer: SendGrid cannot have accepted a request it did not receive whole.
            raise RetryLater(f"cannot reach SendGrid at {self.host}: {exc.reason}", NAME, words=str(exc.reason)) from None
        except (TimeoutError, http.client.HTTPException, ConnectionError) as exc:
            # The request left and no (complete) answer came back.
            raise Ambiguous(f"no answer from SendGrid ({type(exc).__name__}: {exc})", NAME, words=str(exc)) from None

    def _refused(self, exc: HTTPError, batch: Batch | None) -> Any:
        words = _words(exc)
        status = exc.status_code
        if status == 429:
            reset = _header(exc, "X-RateLimit-Reset")
            wait = max(float(reset) - time.time(), 0.0) if reset and _is_number(reset) else None
            raise RetryLater(f"429 rate limited: {words}", NAME, status, words, retry_after=wait)
        if status >= 500:
            after = _header(exc, "Retry-After")
            raise RetryLater(f"{status} server error: {words}", NAME, status, words, retry_after=float(after) if after and _is_number(after) else None)
        if status == 400 and batch is not None:
            raise _RecipientsRejected(_rejected_recipients(exc, batch, words))
        if status in (401, 403):
            raise ProviderRefused(f"SendGrid refused the API key in {SENDGRID_API_KEY} ({status}): {words}", NAME, status, words)
        if status == 413:
            raise ProviderRefused(f"SendGrid says the request is too large (413): {words}; lower [send] batch_size", NAME, status, words)
        raise ProviderRefused(f"SendGrid rejected the request ({status}): {words}", NAME, status, words)


class _RecipientsRejected(Exception):
    def __init__(self, statuses: dict[str, RecipientStatus]) -> None:
        self.statuses = statuses


def _rejected_recipients(exc: HTTPError, batch: Batch, words: str) -> dict[str, RecipientStatus]:
    """A 400 naming recipients rejects those (with SendGrid's words); the others are left for a retry."""
    blamed: dict[int, str] = {}
    for error in _errors(exc):
        match = RECIPIENT_FIELD.match(str(error.get("field") or ""))
        if match and int(match.group(1)) < len(batch.letters):
            index = int(match.group(1))
            message = str(error.get("message") or words)
            blamed[index] = f"{blamed[index]}; {message}" if index in blamed else message
    if not blamed:
        raise ProviderRefused(f"SendGrid rejected the request (400): {words}", NAME, 400, words)
    return {batch.letters[index].email: RecipientStatus(Outcome.REJECTED, f"SendGrid: {message}") for index, message in blamed.items()}


def _body(exc: HTTPError) -> str:
    """SendGrid's answer, every secret in it masked (some servers echo a key back)."""
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body or "")
    return mask_secrets(body)


def _errors(exc: HTTPError) -> list[dict[str, Any]]:
    try:
        errors = json.loads(_body(exc)).get("errors") or []
    except (ValueError, AttributeError, TypeError):
        return []
    return [error for error in errors if isinstance(error, dict)]


def _words(exc: HTTPError) -> str:
    messages = [
        f"{e.get('message')}" + (f" (field {e['field']})" if e.get("field") else "") for e in _errors(exc) if e.get("message")
    ]
    if messages:
        return "; ".join(messages)
    return _body(exc).strip()[:300] or mask_secrets(str(exc.reason))  # masked before the cut, which could split a key


def _header(exc: HTTPError, name: str) -> str | None:
    headers = getattr(exc, "headers", None)
    return headers.get(name) if headers is not None else None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

