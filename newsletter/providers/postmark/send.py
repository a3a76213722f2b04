"""Sending through Postmark's batch API (POST /email/batch, up to 500 whole messages each, the
body from payload.py), and Postmark's answers turned into outcomes.

No SDK: the official postmark-python pins httpx < 0.29 and tenacity < 9, which conflict with the
versions this tool runs with, and it retries 429s, 5xx and timeouts by itself (a POST retried after a
timeout can deliver twice). So this speaks HTTPS directly, through one pooled urllib3.PoolManager
per provider, with a total deadline on each request ([postmark] timeout) and no automatic retry:
the send loop decides what is retried, from what Postmark said.

A 200 from /email/batch holds one entry per message, in the request's order, and each is read:
ErrorCode 0 is taken; 406 means Postmark holds the address inactive (a hard bounce, a spam
complaint or an unsubscribe there) and counts as a bounce; any other code about the message
refuses that letter with Postmark's words. Codes about the account or the sender stop the run.
"""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from ...errors import warn
from ...models import Outcome, RecipientStatus
from ...models.addresses import NEEDS_SMTPUTF8, ascii_form
from ...workspace.config import Config
from ...workspace.credentials import POSTMARK_SERVER_TOKEN, mask_secrets, provider_api_key, refuse_clear_text
from ..base import Ambiguous, Batch, Edition, ProviderRefused, Report, RetryLater
from .payload import MAX_BATCH_BYTES, MAX_MESSAGES, Messages, deliverable

if TYPE_CHECKING:
    import urllib3

NAME = "postmark"
BROADCASTS = "Broadcasts"  # the MessageStreamType of a Broadcast stream
ACCEPTED, INVALID_REQUEST, INACTIVE_RECIPIENT = 0, 300, 406
# Per-message ErrorCodes that are about the account or the sender, not the letter (Postmark's API
# overview, "Error codes"): bad token, sender signature not found / not confirmed, not allowed to
# send, account pending, account may not send. Refusing each letter for them would fail the list.
ABOUT_THE_ACCOUNT = {10: "bad or missing server token", 400: "sender signature not found", 401: "sender signature not confirmed",
                     405: "not allowed to send", 412: "account is pending", 413: "account may not send"}
TRY_AGAIN = {100: "maintenance", 429: "rate limit exceeded"}  # per-message codes that say: later
ADDRESS = re.compile(r"[^\s,;:'\"<>()\[\]]+@[^\s,;:'\"<>()\[\]]+")
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class PostmarkProvider:
    name = NAME
    max_batch = MAX_MESSAGES

    def __init__(self, config: Config) -> None:
        import urllib3  # here, not at the top: the web app reads Postmark's events without it

        self.config = config
        self.host = config.postmark.host.rstrip("/")
        refuse_clear_text(self.host, "[postmark] host")
        token = provider_api_key(POSTMARK_SERVER_TOKEN, "Postmark")
        self.http = urllib3.PoolManager(
            num_pools=1, maxsize=1, retries=False, timeout=urllib3.Timeout(total=config.postmark.timeout),
            headers={"X-Postmark-Server-Token": token, "Accept": "application/json", "User-Agent": "newsletter"},
        )
        self._messages: Messages | None = None

    def check(self) -> None:
        """GET /message-streams/{stream}: Postmark takes the token, and [postmark] message_stream is
        a Broadcast stream of this server (newsletters must not go out on the transactional one)."""
        stream = self.config.postmark.message_stream
        response = self._request("GET", f"/message-streams/{quote(stream, safe='')}", purpose="check the server token")
        if response.status == 401:
            raise self._bad_token(response)
        if response.status != 200:
            words = _words(response)
            raise ProviderRefused(
                f"Postmark has no message stream {stream!r} on this server ({response.status}: {words}); set [postmark] message_stream "
                f"to the ID of a Broadcast stream", NAME, response.status, words,
            )
        found = _json(response)
        found = found if isinstance(found, dict) else {}
        kind = found.get("MessageStreamType")
        if kind != BROADCASTS:
            raise ProviderRefused(
                f"[postmark] message_stream {stream!r} is a {kind or 'unknown'} stream at Postmark; newsletters must go out on a "
                f"Broadcast stream (create one under the server's Message Streams and name its ID here)", NAME, 200, str(kind),
            )
        if found.get("ArchivedAt"):
            raise ProviderRefused(f"[postmark] message_stream {stream!r} is archived at Postmark; unarchive it or name another", NAME, 200)
        handling = (found.get("SubscriptionManagementConfiguration") or {}).get("UnsubscribeHandlingType")
        if handling == "Postmark":
            warn(
                f"Postmark manages unsubscribes on stream {stream!r}: it puts its own List-Unsubscribe header and link in every message "
                f"instead of each reader's own; those who use them reach us through its SubscriptionChange webhook (see README, Postmark)"
            )

    def send(self, batch: Batch, report: Report) -> None:
        letters = []
        for letter in batch.letters:
            if deliverable(letter):
                letters.append(letter)
            else:
                report(letter.email, RecipientStatus(Outcome.REJECTED, f"Postmark cannot deliver to this address: {NEEDS_SMTPUTF8}"))
        messages = self._messages_for(batch.edition)
        for part in _parts(letters):
            self._send_part(Batch(batch.edition, batch.send_id, part), messages, report)

    def close(self) -> None:
        self.http.clear()

    def _messages_for(self, edition: Edition) -> Messages:
        """The edition's messages, split at their placeholders once for the whole run."""
        if self._messages is None or self._messages.edition is not edition:
            self._messages = Messages(self.config, edition)
        return self._messages

    def _send_part(self, batch: Batch, messages: Messages, report: Report) -> None:
        """One POST /email/batch, each of its messages' outcomes reported."""
        body = messages.encode(batch.letters, batch.send_id)
        if len(body) > MAX_BATCH_BYTES and len(batch.letters) > 1:
            half = len(batch.letters) // 2  # above Postmark's 50 MB: two requests instead (a rare, very large issue)
            for letters in (batch.letters[:half], batch.letters[half:]):
                self._send_part(Batch(batch.edition, batch.send_id, letters), messages, report)
            return
        response = self._request("POST", "/email/batch", body, purpose="hand the batch over")
        if response.status == 200:
            return self._read_results(response, batch, report)
        self._refused(response, batch, report)

    def _read_results(self, response: urllib3.BaseHTTPResponse, batch: Batch, report: Report) -> None:
        """Each entry of a 200's array, in request order, as that letter's outcome."""
        results = _json(response)
        if not isinstance(results, list):
            raise Ambiguous(f"Postmark answered 200 with a body that is not its list of results: {_words(response)}", NAME, 200)
        stop: tuple[int, str] | None = None
        for letter, result in zip(batch.letters, results, strict=False):
            code, words = _code(result), mask_secrets(str(result.get("Message") or "") if isinstance(result, dict) else "")[:500]
            if code == ACCEPTED:
                report(letter.email, RecipientStatus(Outcome.ACCEPTED, message_id=str(result.get("MessageID") or "") or None))
            elif code in ABOUT_THE_ACCOUNT or code in TRY_AGAIN:
                stop = stop or (code, words)  # not taken: left for later, or for the editor
            elif code == INACTIVE_RECIPIENT:
                report(letter.email, RecipientStatus(Outcome.BOUNCED, f"Postmark (inactive recipient): {words}"))
            else:
                report(letter.email, RecipientStatus(Outcome.REJECTED, f"Postmark (ErrorCode {code}): {words}"))
        if stop is not None:
            code, words = stop
            if code in TRY_AGAIN:
                raise RetryLater(f"Postmark asked to try again later (ErrorCode {code}, {TRY_AGAIN[code]}): {words}", NAME, 200, words)
            raise ProviderRefused(f"Postmark refused to send (ErrorCode {code}, {ABOUT_THE_ACCOUNT[code]}): {words}", NAME, 200, words)
        if len(results) < len(batch.letters):
            missing = len(batch.letters) - len(results)
            raise Ambiguous(f"Postmark's answer has no result for the last {missing} message(s); they may or may not have been taken", NAME, 200)

    def _refused(self, response: urllib3.BaseHTTPResponse, batch: Batch, report: Report) -> None:
        """Any answer but a 200: nothing of the batch was taken (Postmark sends all or none)."""
        status, words = response.status, _words(response)
        if status == 401:
            raise self._bad_token(response)
        if status == 429:
            raise RetryLater(f"429 rate limited: {words}", NAME, status, words, retry_after=_retry_after(response))
        if status >= 500:
            raise RetryLater(f"{status} server error: {words}", NAME, status, words, retry_after=_retry_after(response))
        if status == 422 and _blame(response, batch, words, report):
            return  # the letters it named are settled; the others were not taken and go in a later batch
        if status == 413:
            raise ProviderRefused(f"Postmark says the request is too large (413): {words}; lower [send] batch_size", NAME, status, words)
        if status == 422:
            raise ProviderRefused(f"Postmark refused the batch (422, ErrorCode {_code(_json(response))}): {words}", NAME, status, words)
        raise ProviderRefused(f"Postmark refused the batch ({status}): {words}", NAME, status, words)

    def _bad_token(self, response: urllib3.BaseHTTPResponse) -> ProviderRefused:
        words = _words(response)
        return ProviderRefused(f"Postmark refused the server token in {POSTMARK_SERVER_TOKEN} (401): {words}", NAME, 401, words)

    def _request(self, method: str, path: str, body: bytes | None = None, *, purpose: str) -> urllib3.BaseHTTPResponse:
        """One request, its failures told apart: refused before it left (RetryLater) or left with no
        whole answer back (Ambiguous: it may have been taken)."""
        from urllib3.exceptions import ConnectTimeoutError, HTTPError

        try:
            return self.http.request(method, self.host + path, body=body, headers={**self.http.headers, **JSON_HEADERS} if body else None)
        except ConnectTimeoutError as exc:  # also a refused connection or an unknown host: nothing left
            raise RetryLater(f"cannot reach Postmark at {self.host} to {purpose}: {_reason(exc)}", NAME, words=_reason(exc)) from None
        except HTTPError as exc:  # a read timeout, a connection dropped mid-answer, a TLS failure
            raise Ambiguous(f"no answer from Postmark ({type(exc).__name__}: {_reason(exc)})", NAME, words=_reason(exc)) from None


def _parts(letters: list[Any]) -> list[list[Any]]:
    """The letters in requests of at most 500 (the loop claims [send] batch_size, up to 1000)."""
    return [letters[start : start + MAX_MESSAGES] for start in range(0, len(letters), MAX_MESSAGES)]


def _blame(response: urllib3.BaseHTTPResponse, batch: Batch, words: str, report: Report) -> bool:
    """A 422 for the whole batch that names some of its addresses (an inactive recipient, an invalid
    one) refuses those letters; False when it names none."""
    named = {found.rstrip(".").lower() for found in ADDRESS.findall(words)}
    if not named:
        return False
    code = _code(_json(response))
    blamed = [letter for letter in batch.letters if letter.email.lower() in named or (ascii_form(letter.email) or "").lower() in named]
    for letter in blamed:
        outcome = Outcome.BOUNCED if code == INACTIVE_RECIPIENT else Outcome.REJECTED
        report(letter.email, RecipientStatus(outcome, f"Postmark (ErrorCode {code}): {words}"))
    return bool(blamed)


def _json(response: urllib3.BaseHTTPResponse) -> Any:
    try:
        return orjson.loads(response.data)
    except orjson.JSONDecodeError:
        return None


def _code(result: Any) -> int | None:
    code = result.get("ErrorCode") if isinstance(result, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _words(response: urllib3.BaseHTTPResponse) -> str:
    """Postmark's own words (its Message), every secret masked before the cut."""
    found = _json(response)
    if isinstance(found, dict) and isinstance(found.get("Message"), str):
        return mask_secrets(found["Message"])[:500]
    return mask_secrets(response.data.decode("utf-8", "replace")).strip()[:300] or f"HTTP {response.status}"


def _reason(exc: Exception) -> str:
    return mask_secrets(str(getattr(exc, "reason", None) or exc))


def _retry_after(response: urllib3.BaseHTTPResponse) -> float | None:
    """Seconds to wait, from Retry-After (seconds or a date) or X-RateLimit-Reset (seconds, or a
    Unix time): Postmark documents neither, so whichever comes is honoured and none is required."""
    after = response.headers.get("Retry-After")
    if after:
        try:
            return max(float(after), 0.0)
        except ValueError:
            try:
                return max(parsedate_to_datetime(after).timestamp() - time.time(), 0.0)
            except (TypeError, ValueError):
                pass
    reset = response.headers.get("X-RateLimit-Reset")
    try:
        value = float(reset) if reset else None
    except ValueError:
        return None
    if value is None:
        return None
    return max(value - time.time(), 0.0) if value > 1e9 else max(value, 0.0)
