"""Sending through Resend with its official SDK: a batch of up to 100 emails per request
(POST /emails/batch, permissive validation, the claim's send id as Idempotency-Key), or, for a
scheduled edition, one request per reader (POST /emails with scheduled_at, since the batch endpoint
cannot schedule), each cancelled by its id. Resend's answers turned into outcomes.
"""

from __future__ import annotations

import time
import uuid
from functools import partial
from typing import Any

import resend

from ...models import Letter, Outcome, RecipientStatus
from ...workspace.config import Config
from ...workspace.credentials import RESEND_API_KEY, provider_api_key, refuse_clear_text
from ..base import Ambiguous, Batch, Edition, ProviderError, ProviderRefused, Report, RetryLater
from .client import Failure, ResendApi
from .payload import MAX_BATCH, Composer, build_batch, build_scheduled

NAME = "resend"
KEY_ERRORS = frozenset({"missing_api_key", "invalid_api_key", "restricted_api_key"})
QUOTA_ERRORS = frozenset({"daily_quota_exceeded", "monthly_quota_exceeded"})  # a 429 that waiting a second does not end
SENDING_ONLY = "restricted_api_key"  # a key that may send and do nothing else (401 on GET /domains)
CANCEL_TRIES = 3  # per scheduled email, when Resend asks us to wait (429, 5xx)
LONGEST_CANCEL_WAIT = 60.0  # seconds


class ResendProvider:
    name = NAME
    max_batch = MAX_BATCH
    cancel_scope = None  # each email is cancelled by its own id

    def __init__(self, config: Config) -> None:
        self.config = config
        settings = config.resend
        self.host = settings.host.rstrip("/")
        refuse_clear_text(self.host, "[resend] host")
        self.api = ResendApi(provider_api_key(RESEND_API_KEY, "Resend"), self.host, settings.timeout, settings.requests_per_second)
        self._composer: Composer | None = None

    def check(self) -> None:
        """GET /domains: Resend is reachable and takes the API key, and nothing is sent. A key
        restricted to sending is refused here by Resend (401 restricted_api_key) and accepted by
        us: it proves the key exists and may send, which is all a send needs."""
        try:
            self.api.call(lambda: resend.Domains.list())
        except Failure as failure:
            if failure.status == 401 and failure.name == SENDING_ONLY:
                return
            if failure.status is None and failure.reached:  # a GET sent nothing: no answer is simply no answer
                raise RetryLater(f"no answer from Resend at {self.host} ({failure})", NAME, None, failure.words) from None
            if failure.status in (400, 401, 403):  # Resend answers 400 "API key is invalid" outside the sending endpoints
                raise self._key_refused(failure) from None
            raise self._error(failure) from None

    def send(self, batch: Batch, report: Report) -> None:
        if not batch.letters:
            return  # Resend refuses an empty batch
        composer = self._composer_for(batch.edition)
        if batch.edition.send_at is not None:
            self._send_scheduled(batch, report, composer)
            return
        body: Any = build_batch(self.config, batch, composer)  # the SDK's TypedDicts, as plain JSON
        options: Any = {"batch_validation": "permissive", "idempotency_key": batch.send_id}
        try:
            response = self.api.call(lambda: resend.Batch.send(body, options))
        except Failure as failure:
            raise self._error(failure) from None
        for address, status in batch_outcomes(batch.letters, response).items():
            report(address, status)

    def new_schedule_id(self) -> str:
        """A local id for the scheduled send: Resend has no batch to cancel, it cancels each email."""
        return f"resend-{uuid.uuid4().hex}"

    def cancel(self, schedule_id: str, message_ids: list[str]) -> None:  # noqa: ARG002 (Resend cancels email by email)
        """POST /emails/{id}/cancel for each scheduled email. Raises ProviderRefused naming how many
        were not cancelled if any was not: they may still go out, and running it again retries them
        (an email Resend already shows as canceled counts as cancelled)."""
        missed: list[tuple[str, Failure]] = []
        for position, email_id in enumerate(message_ids):
            failure = self._cancel_one(email_id)
            if failure is None or self._shows_canceled(email_id):
                continue
            missed.append((email_id, failure))
            if failure.status in (401, 403):  # the key may not cancel (a sending-only key): the rest would meet the same answer
                missed += [(other, failure) for other in message_ids[position + 1 :]]
                break
        if missed:
            first_id, first = missed[0]
            done = len(message_ids) - len(missed)
            raise ProviderRefused(
                f"Resend cancelled {done} of {len(message_ids)} scheduled emails; {len(missed)} were not cancelled and may still go out "
                f"(the first, {first_id}: {_said(first)}). Run the same cancel again to retry them",
                NAME, first.status, first.words,
            )

    def close(self) -> None:
        self.api.close()

    # --- one email per reader, for a scheduled edition -----------------------------------------

    def _send_scheduled(self, batch: Batch, report: Report, composer: Composer) -> None:
        """POST /emails per letter, each with its own idempotency key. A letter Resend refuses fails
        alone; a 429 or 5xx stops the batch with the rest untouched; no answer makes that letter
        unknown and leaves the rest (never attempted) for a later batch."""
        for number, letter in enumerate(batch.letters):
            body: Any = build_scheduled(self.config, batch, letter, composer)
            options: Any = {"idempotency_key": f"{batch.send_id}-{number}"}
            try:
                response = self.api.call(partial(resend.Emails.send, body, options))
            except Failure as failure:
                if failure.status in (400, 422):  # this reader's email is refused: it alone fails
                    report(letter.email, RecipientStatus(Outcome.REJECTED, f"Resend: {failure.words}"))
                    continue
                error = self._error(failure)
                if isinstance(error, Ambiguous):
                    report(letter.email, RecipientStatus(Outcome.UNKNOWN, f"{error}; it may or may not have been scheduled"))
                    if number + 1 < len(batch.letters):
                        raise RetryLater(f"{error}; the rest of the batch was not sent", NAME, error.status, error.words) from None
                    return
                raise error from None
            report(letter.email, RecipientStatus(Outcome.ACCEPTED, message_id=_email_id(response)))

    def _cancel_one(self, email_id: str) -> Failure | None:
        """Cancel one scheduled email, waiting as Resend asks on a 429 or 5xx; the last failure, if any."""
        failure: Failure | None = None
        for _ in range(CANCEL_TRIES):
            try:
                self.api.call(lambda: resend.Emails.cancel(email_id))
                return None
            except Failure as met:
                failure = met
            error = self._error(failure)
            if not isinstance(error, RetryLater):
                return failure
            time.sleep(min(error.retry_after if error.retry_after is not None else 1.0, LONGEST_CANCEL_WAIT))
        return failure

    def _shows_canceled(self, email_id: str) -> bool:
        """Resend shows the email as canceled (a cancel run again after one that went part-way)."""
        try:
            email = self.api.call(lambda: resend.Emails.get(email_id))
        except Failure:
            return False
        return isinstance(email, dict) and email.get("last_event") == "canceled"

    # --- Resend's answers -----------------------------------------------------------------------

    def _composer_for(self, edition: Edition) -> Composer:
        """The edition's shared parts, made once for the run."""
        if self._composer is None or self._composer.edition is not edition:
            self._composer = Composer.of(self.config, edition)
        return self._composer

    def _error(self, failure: Failure) -> ProviderError:
        """What a failed call means for the letters it carried (see providers/base.py)."""
        status, words = failure.status, failure.words
        if status is None:
            if not failure.reached:
                return RetryLater(f"cannot reach Resend at {self.host}: {words}", NAME, None, words)
            return Ambiguous(f"no answer from Resend ({words})", NAME, None, words)
        if status == 429 and failure.name in QUOTA_ERRORS:
            return ProviderRefused(f"Resend refused to send more ({_said(failure)}); the rest waits for the quota to renew", NAME, status, words)
        if status == 429:
            wait = failure.header_seconds("retry-after")
            wait = wait if wait is not None else failure.header_seconds("ratelimit-reset")
            return RetryLater(f"429 rate limited by Resend: {words}", NAME, status, words, retry_after=wait)
        if status >= 500:
            return RetryLater(f"{status} server error at Resend: {words}", NAME, status, words, retry_after=failure.header_seconds("retry-after"))
        if status == 409:
            # Another request under the same idempotency key (a claim's own id) exists: it may have delivered these.
            return Ambiguous(f"Resend answered {_said(failure)}", NAME, status, words)
        if status == 401 or failure.name in KEY_ERRORS:
            return self._key_refused(failure)
        return ProviderRefused(f"Resend refused the request ({_said(failure)})", NAME, status, words)

    def _key_refused(self, failure: Failure) -> ProviderRefused:
        return ProviderRefused(f"Resend refused the API key in {RESEND_API_KEY} ({_said(failure)})", NAME, failure.status, failure.words)


def batch_outcomes(letters: list[Letter], response: Any) -> dict[str, RecipientStatus]:
    """Each letter's outcome from a permissive batch's 200: `errors` name the refused emails by
    their position in the request; `data` holds the ids of the others, in the request's order. If
    the counts do not tally, the others are accepted without an id rather than paired wrongly."""
    refused: dict[int, str] = {}
    for error in _list(response, "errors"):
        index = error.get("index") if isinstance(error, dict) else None
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(letters):
            refused[index] = str(error.get("message") or "refused")[:500]
    taken = [n for n in range(len(letters)) if n not in refused]
    ids = [item.get("id") if isinstance(item, dict) else None for item in _list(response, "data")]
    if len(ids) != len(taken):
        ids = [None] * len(taken)
    outcomes = {letters[n].email: RecipientStatus(Outcome.REJECTED, f"Resend: {message}") for n, message in refused.items()}
    for n, email_id in zip(taken, ids, strict=True):
        outcomes[letters[n].email] = RecipientStatus(Outcome.ACCEPTED, message_id=str(email_id) if email_id else None)
    return outcomes


def _list(response: Any, key: str) -> list[Any]:
    found = response.get(key) if isinstance(response, dict) else None
    return found if isinstance(found, list) else []


def _email_id(response: Any) -> str | None:
    found = response.get("id") if isinstance(response, dict) else None
    return str(found) if found else None


def _said(failure: Failure) -> str:
    """Resend's answer as a user reads it: `403 validation_error: The domain is not verified`."""
    name = f" {failure.name}" if failure.name else ""
    return f"{failure.status}{name}: {failure.words}"
