"""What each of boto3's exceptions for one SendEmail call means for that letter: taken, refused for
good, not taken (try again later), or maybe taken (unknown). Kept apart from the sending so that
the reading of SES's answers is one list, in one place."""

from __future__ import annotations

from typing import Any

from ...models import Outcome, RecipientStatus
from ...models.addresses import ascii_form
from ...workspace.credentials import mask_secrets
from ..base import ProviderError, ProviderRefused, RetryLater

NAME = "ses"
LABEL = "Amazon SES"
KEYS = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
THROTTLE_PAUSE = 1.0  # seconds: SES names no reset time for its per-second rate; its own advice is to back off and retry
# Refusals of who we are: the keys, their signature, their permissions.
KEY_REFUSALS = frozenset({
    "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "SignatureDoesNotMatch",
    "IncompleteSignature", "MissingAuthenticationTokenException", "ExpiredTokenException", "AccessDeniedException",
})
# Refusals that name one message and its recipient; any other (the sender, the account, the
# configuration set) would refuse every letter alike.
LETTER_REFUSALS = frozenset({"MessageRejected", "BadRequestException"})


def meaning(exc: BaseException, recipient: str) -> RecipientStatus | ProviderError:
    """What `exc`, raised by SendEmail for `recipient`, says about that letter: a status to report,
    or a ProviderError that ends the batch (RetryLater: not taken; ProviderRefused: stop the run)."""
    # Imported here: the web app reads SES's events (events.py, in this package) without botocore.
    from botocore.exceptions import (  # type: ignore[import-untyped]
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ProxyConnectionError,
    )

    if isinstance(exc, ClientError):
        return _answered(exc, recipient)
    # Connections that failed before a byte of the request was written: SES cannot have taken it.
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError)):
        words = mask_secrets(str(exc))
        return RetryLater(f"cannot reach {LABEL}: {words}", NAME, words=words)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return ProviderRefused(f"{LABEL} needs AWS keys and boto3 found none usable ({exc}): set {KEYS}, AWS_PROFILE, or an IAM role", NAME)
    # A read timeout, a dropped connection, anything else: the request may have been taken whole.
    return RecipientStatus(Outcome.UNKNOWN, f"no answer from {LABEL} ({type(exc).__name__}: {mask_secrets(str(exc))}); it may or may not have been delivered")


def _answered(exc: Any, recipient: str) -> RecipientStatus | ProviderError:
    """SES answered in full: by its code (and, where SES has one code for two things, its words)."""
    error = exc.response.get("Error") or {}
    code = str(error.get("Code") or "")
    status = int((exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
    words = mask_secrets(str(error.get("Message") or code or exc))[:500]
    if code == "TooManyRequestsException" or status == 429:
        # One code for the rate and the daily quota; only the words tell them apart. The rate
        # passes in a second; the quota not before SES's 24-hour window moves on.
        if "daily" in words.lower():
            return ProviderRefused(f"{LABEL} says the account's daily sending quota is used up: {words}; run the same command again once SES allows more", NAME, status, words)
        return RetryLater(f"{LABEL} is throttling ({status} {code}): {words}", NAME, status, words, retry_after=THROTTLE_PAUSE)
    if status >= 500:
        return RetryLater(f"{LABEL} answered {status} {code}: {words}", NAME, status, words)
    if code in LETTER_REFUSALS and names(words, recipient):
        return RecipientStatus(Outcome.REJECTED, f"{LABEL}: {words}")
    if code in KEY_REFUSALS or status in (401, 403):
        return ProviderRefused(f"{LABEL} refused the AWS keys ({code}): {words}; check {KEYS} (or the profile or role boto3 uses)", NAME, status, words)
    return ProviderRefused(f"{LABEL} refuses to send ({code}): {words}", NAME, status, words)


def names(words: str, recipient: str) -> bool:
    """SES's words name this recipient (as we wrote it, or with its domain IDNA-encoded)."""
    said = words.lower()
    return any(form and form.lower() in said for form in (recipient, ascii_form(recipient)))
