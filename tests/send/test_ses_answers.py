"""What each of SES's answers to one SendEmail means for that letter (providers/ses/answers.py), read
from botocore's own exceptions carrying SES's codes and words, as boto3 raises them."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, NoCredentialsError, ReadTimeoutError

from newsletter.models import Outcome, RecipientStatus
from newsletter.providers.base import ProviderRefused, RetryLater
from newsletter.providers.ses.answers import meaning

READER = "reader@example.com"
URL = "https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails"


def answered(status: int, code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "SendEmail")


@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        (answered(429, "TooManyRequestsException", "Maximum sending rate exceeded."), RetryLater, "is throttling (429 TooManyRequestsException): Maximum sending rate exceeded."),
        (answered(429, "TooManyRequestsException", "Daily message quota exceeded."), ProviderRefused, "daily sending quota is used up: Daily message quota exceeded."),
        (answered(503, "ServiceUnavailable", "Service is unavailable."), RetryLater, "answered 503 ServiceUnavailable: Service is unavailable."),
        (answered(400, "AccountSuspendedException", "Account is suspended."), ProviderRefused, "refuses to send (AccountSuspendedException): Account is suspended."),
        (answered(400, "SendingPausedException", "Sending is paused for this account."), ProviderRefused, "(SendingPausedException): Sending is paused"),
        (answered(400, "MailFromDomainNotVerifiedException", "MAIL FROM domain not verified."), ProviderRefused, "(MailFromDomainNotVerifiedException)"),
        (answered(403, "AccessDeniedException", "User is not authorized to perform ses:SendEmail"), ProviderRefused, "refused the AWS keys (AccessDeniedException)"),
        # A rejection that does not name the reader is about the message or the sender: every letter would meet it.
        (answered(400, "MessageRejected", "Email address is not verified: editor@fixture.example.org"), ProviderRefused, "refuses to send (MessageRejected)"),
        (EndpointConnectionError(endpoint_url=URL), RetryLater, "cannot reach Amazon SES"),
        (ConnectTimeoutError(endpoint_url=URL), RetryLater, "cannot reach Amazon SES"),
        (NoCredentialsError(), ProviderRefused, "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
    ],
)
def test_answers_that_end_the_batch(error: Exception, kind: type, words: str) -> None:
    found = meaning(error, READER)
    assert type(found) is kind and words in str(found)


@pytest.mark.parametrize(
    ("error", "outcome", "words"),
    [
        (answered(400, "MessageRejected", f"Email address is not verified. The following identities failed the check in region EU-WEST-1: {READER}"), Outcome.REJECTED,
         "Amazon SES: Email address is not verified."),
        (answered(400, "BadRequestException", "Missing final '@domain' in hana@xn--r8jz45g.jp"), Outcome.REJECTED, "Missing final"),  # the IDN reader, as SES writes it
        (ReadTimeoutError(endpoint_url=URL), Outcome.UNKNOWN, "no answer from Amazon SES (ReadTimeoutError"),
        (ConnectionClosedError(endpoint_url=URL), Outcome.UNKNOWN, "it may or may not have been delivered"),
        (RuntimeError("a bug"), Outcome.UNKNOWN, "RuntimeError: a bug"),
    ],
)
def test_answers_about_one_letter(error: Exception, outcome: Outcome, words: str) -> None:
    reader = "hana@例え.jp" if "xn--" in str(error) else READER
    found = meaning(error, reader)
    assert isinstance(found, RecipientStatus) and found.outcome == outcome and words in (found.detail or "")


def test_the_throttle_pause_is_given_and_secrets_never_shown(monkeypatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    throttled = meaning(answered(429, "TooManyRequestsException", "Maximum sending rate exceeded."), READER)
    assert isinstance(throttled, RetryLater) and throttled.retry_after == 1.0
    echoed = meaning(answered(403, "SignatureDoesNotMatch", "bad signature for wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), READER)
    assert "wJalrXUtnFEMI" not in str(echoed) and "***" in str(echoed)
