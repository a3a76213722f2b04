"""Sending through Amazon SES (API v2) with boto3: one SendEmail per reader carrying the whole MIME
message (Content.Raw, from mail/message.py, so every header is ours: List-Unsubscribe and its
one-click Post, List-Id, Message-ID, Feedback-ID), as many calls in flight as the account's sending
rate allows.

SendBulkEmail is not used: it takes stored templates only (no raw message, so no per-reader
List-Unsubscribe header unless through ReplacementHeaders), and SES counts its rate per recipient
all the same. boto3 never retries here: a SendEmail retried after a timeout could deliver twice.
"""

from __future__ import annotations

import math
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from ...errors import ConfigError, warn
from ...mail.message import AddressError
from ...models import Outcome, RecipientStatus
from ...models.addresses import ascii_form
from ...workspace.config import Config, SesSettings
from ...workspace.credentials import refuse_clear_text
from ..base import Batch, OneByOne, ProviderError, ProviderRefused, Report, RetryLater
from .answers import KEYS, LABEL, NAME, meaning

MAX_THREADS = 50  # calls in flight at most, whatever the rate
BATCH_SECONDS = 10  # a batch holds about this long a stretch of sending: Ctrl-C waits for no more
MAX_BATCH, MIN_BATCH = 300, 10  # a kill leaves at most one batch `unknown`
TAG_VALUE = re.compile(r"[^A-Za-z0-9_-]")  # SES tag values: ASCII letters, digits, _ and - only


class Pace:
    """Start times 1/rate apart, kept across the batches of a run: the average stays at or below
    the rate, and an idle spell earns no burst."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        start = max(self.next, now)
        self.next = start + self.interval
        if start > now:
            time.sleep(start - now)

    def slow_down(self) -> None:
        """SES throttled us at this pace (another sender on the account, a lower rate than it said)."""
        self.interval *= 1.25


def make_client(settings: SesSettings) -> Any:
    """boto3's sesv2 client with the keys from boto3's own chain, our timeouts and no retries.
    Raises ConfigError when the chain holds no keys."""
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config as ClientConfig  # type: ignore[import-untyped]
    from botocore.exceptions import BotoCoreError  # type: ignore[import-untyped]

    try:
        session = boto3.session.Session(region_name=settings.region)
        found = session.get_credentials()
    except BotoCoreError as exc:  # a profile named but missing, a malformed config file
        raise ConfigError(f"{LABEL}: boto3 cannot read the AWS keys: {exc}") from None
    if found is None:
        raise ConfigError(f"{LABEL} needs AWS keys: set {KEYS} (or AWS_PROFILE, or run with an IAM role); none were found")
    config = ClientConfig(
        connect_timeout=settings.timeout, read_timeout=settings.timeout, retries={"total_max_attempts": 1}, max_pool_connections=MAX_THREADS,
    )
    return session.client("sesv2", endpoint_url=settings.host, config=config)


def email_tags(batch: Batch) -> list[dict[str, str]]:
    """The tags SES echoes back in every event of the message, so that each event names its issue."""
    return [{"Name": "issue", "Value": tag_value(batch.edition.issue)}, {"Name": "send_id", "Value": tag_value(batch.send_id)}]


def tag_value(value: str) -> str:
    return TAG_VALUE.sub("_", value)[:256] or "_"


class SesProvider(OneByOne):
    name = NAME
    max_batch = MAX_BATCH  # lowered to BATCH_SECONDS of sending once the rate is known

    def __init__(self, config: Config) -> None:
        self.config = config
        self.settings = config.ses
        if self.settings.host:
            refuse_clear_text(self.settings.host, "[ses] host")
        self.client = make_client(self.settings)
        self.sender = ascii_form(config.sender.address) or config.sender.address
        self.pace: Pace | None = None
        self.pool: ThreadPoolExecutor | None = None

    def check(self) -> None:
        """GetAccount: SES takes the keys, the account may send, and at what rate."""
        self._start(self._sending_rate())

    def send(self, batch: Batch, report: Report) -> None:
        if self.pace is None or self.pool is None:
            self._start(self._sending_rate())  # test copies are sent without check()
        assert self.pace is not None and self.pool is not None
        template = self.template(batch.edition)
        fields = self._fields(batch)
        lock = threading.Lock()

        def reported(address: str, status: RecipientStatus) -> None:
            with lock:
                report(address, status)

        stopped: list[ProviderError] = []  # appended by the calls; ends the batch
        calls = []
        for letter in batch.letters:
            try:
                raw = template.render(letter)
            except AddressError as exc:
                reported(letter.email, RecipientStatus(Outcome.REJECTED, f"{LABEL} cannot deliver to this address: {exc}"))
                continue
            self.pace.wait()
            if stopped:
                break  # the letters not started were not taken: RetryLater or ProviderRefused says so
            calls.append(self.pool.submit(self._deliver, letter.email, raw, fields, reported, stopped))
        wait(calls)  # every letter started is reported (or ended the batch) before we answer
        if stopped:
            refused = [error for error in stopped if isinstance(error, ProviderRefused)]
            if not refused:
                self.pace.slow_down()
            raise (refused or stopped)[0]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        self.client.close()

    def _deliver(self, address: str, raw: bytes, fields: dict[str, Any], report: Report, stopped: list[ProviderError]) -> None:
        """One SendEmail, in a worker thread; its letter reported as soon as SES answers."""
        if stopped:
            return  # queued behind a call that ended the batch: not attempted, so not taken
        try:
            answer = self.client.send_email(Content={"Raw": {"Data": raw}}, **fields)
        except Exception as exc:  # noqa: BLE001 (answers.meaning reads each kind; an unknown one leaves the letter unknown, never resent)
            found = meaning(exc, address)
            if isinstance(found, ProviderError):
                stopped.append(found)
            else:
                report(address, found)
            return
        report(address, RecipientStatus(Outcome.ACCEPTED, message_id=str(answer.get("MessageId") or "") or None))

    def _fields(self, batch: Batch) -> dict[str, Any]:
        fields: dict[str, Any] = {"FromEmailAddress": self.sender, "EmailTags": email_tags(batch)}
        if self.settings.configuration_set:
            fields["ConfigurationSetName"] = self.settings.configuration_set
        return fields

    def _start(self, rate: float) -> None:
        """Pace the calls at `rate` per second, with enough threads for calls taking up to 2 s."""
        self.pace = Pace(rate)
        self.max_batch = max(MIN_BATCH, min(MAX_BATCH, int(rate * BATCH_SECONDS)))
        if self.pool is None:
            threads = max(1, min(MAX_THREADS, math.ceil(rate * 2)))
            self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ses")

    def _sending_rate(self) -> float:
        """Messages per second: GetAccount's MaxSendRate, or [ses] max_rate when that is lower.
        Raises ProviderRefused when the account may not send."""
        max_rate = self.settings.max_rate
        account = self._account()
        if account is None:
            assert max_rate is not None
            return max_rate
        if account.get("SendingEnabled") is False:
            raise ProviderRefused(f"{LABEL} says sending is paused for this account (GetAccount: SendingEnabled is false); see the SES console", NAME)
        if account.get("ProductionAccessEnabled") is False:
            warn(f"the {LABEL} account is in the sandbox: only verified addresses receive mail, at most 200 a day")
        quota = account.get("SendQuota") or {}
        ses_rate = float(quota.get("MaxSendRate") or 0) or 1.0  # the sandbox's rate when SES names none
        return min(ses_rate, max_rate) if max_rate else ses_rate

    def _account(self) -> dict[str, Any] | None:
        """GetAccount's answer; None when the endpoint does not offer it and [ses] max_rate is set."""
        from botocore.exceptions import ClientError

        try:
            account: dict[str, Any] = self.client.get_account()
            return account
        except ClientError as exc:
            # moto (and other stand-ins for SES) have no GetAccount: with [ses] max_rate set, that
            # rate is enough, and a call they do answer proves the keys instead.
            if _not_offered(exc):
                if not self.settings.max_rate:
                    where = self.settings.host or f"region {self.settings.region}"
                    raise ProviderRefused(f"{LABEL} at {where} does not answer GetAccount; set [ses] max_rate to the account's sending rate", NAME) from None
                self._setup_call("list the sending identities", lambda: self.client.list_email_identities(PageSize=1))
                return None
            raise self._setup_error("read the account's sending quota (GetAccount)", exc) from None
        except Exception as exc:  # noqa: BLE001 (meaning() reads every kind)
            raise self._setup_error("read the account's sending quota (GetAccount)", exc) from None

    def _setup_call(self, purpose: str, request: Any) -> Any:
        try:
            return request()
        except Exception as exc:  # noqa: BLE001 (meaning() reads every kind)
            raise self._setup_error(purpose, exc) from None

    def _setup_error(self, purpose: str, exc: BaseException) -> ProviderError:
        """A failed call outside the sending: RetryLater or ProviderRefused, with SES's words."""
        found = meaning(exc, "")
        if isinstance(found, RetryLater):
            return RetryLater(f"could not {purpose}: {found}", NAME, found.status, found.words, found.retry_after)
        if isinstance(found, ProviderError):
            return ProviderRefused(f"could not {purpose}: {found}", NAME, found.status, found.words)
        return ProviderRefused(f"could not {purpose}: {found.detail}", NAME)


def _not_offered(exc: Any) -> bool:
    """The endpoint does not know the operation (404, or an unknown operation)."""
    status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return status == 404 or (exc.response.get("Error") or {}).get("Code") == "UnknownOperationException"
