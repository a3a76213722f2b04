"""Sending through Mailgun's messages API with its official SDK (api.py): one request per batch of up
to 1,000 readers (its fields from payload.py), Mailgun's answers turned into outcomes, and
scheduling with o:deliverytime (up to 3 days ahead) and its cancellation.

Mailgun answers a batch as a whole: 200 with one message id for every recipient, or an error for
the request. A 400 naming an address fails that reader alone (the others are tried again); any
other 400 stops the run with Mailgun's words.
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections.abc import Mapping

from ...errors import ConfigError
from ...models import Outcome, RecipientStatus
from ...models.addresses import normalize
from ...workspace.config import Config, MailgunSettings
from ...workspace.credentials import MAILGUN_API_KEY, mask_secrets, provider_api_key, refuse_clear_text
from ..base import Ambiguous, Batch, ProviderRefused, Report, RetryLater
from .api import Answer, MailgunApi, NoAnswer, NotSent, Request
from .payload import MAX_OPTION_BYTES, build_fields, form_body, option_bytes

NAME = "mailgun"
MAX_RECIPIENTS = 1000
REGION_HOSTS = {"us": "https://api.mailgun.net", "eu": "https://api.eu.mailgun.net"}
# DELETE /v3/{domain}/envelopes must reach the storage host that holds the mail; Mailgun lists these.
STORAGE_HOSTS = {
    "us": ("https://storage-us-east4.api.mailgun.net", "https://storage-us-west1.api.mailgun.net"),
    "eu": ("https://storage-europe-west1.api.mailgun.net",),
}
DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
TRY_AGAIN = re.compile(r"try again after (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)
ADDRESS_IN_WORDS = re.compile(r"[^\s<>\"',;()\[\]]+@[^\s<>\"',;()\[\]]+")
DOMAIN_SETTING = "[mailgun] domain"


def sending_domain(settings: MailgunSettings) -> str:
    """[mailgun] domain, which every request names. Raises ConfigError when it is missing or not a domain."""
    domain = (settings.domain or "").strip()
    if not domain:
        raise ConfigError(f"{DOMAIN_SETTING} is not set in newsletter.toml: Mailgun sends from a domain you added there, e.g. domain = \"mg.example.org\"")
    if not DOMAIN.fullmatch(domain):
        raise ConfigError(f"{DOMAIN_SETTING} = {domain!r} is not a domain name, e.g. \"mg.example.org\"")
    return domain


def base_url(settings: MailgunSettings) -> str:
    """[mailgun] host, else Mailgun's API for [mailgun] region; over https (http to this machine only)."""
    url = (settings.host or REGION_HOSTS[settings.region]).rstrip("/")
    refuse_clear_text(url, "[mailgun] host")
    return url


class MailgunProvider:
    name = NAME
    max_batch = MAX_RECIPIENTS
    cancel_scope: str | None  # what `cancel` drops, as `newsletter cancel` says it: Mailgun cannot cancel one delivery alone

    def __init__(self, config: Config) -> None:
        settings = config.mailgun
        self.config = config
        self.domain = sending_domain(settings)
        self.host = base_url(settings)
        self.key = provider_api_key(MAILGUN_API_KEY, "Mailgun")
        self.timeout = settings.timeout
        self.storage_hosts = (self.host,) if settings.host else STORAGE_HOSTS[settings.region]
        self.cancel_scope = f"every message scheduled for {self.domain} at Mailgun, this issue's and any other's"
        self.api = _open(self.host, self.key, self.timeout)

    def check(self) -> None:
        """GET /v3/domains/{domain}: Mailgun is reachable, takes the API key and knows the domain."""
        answer = self._setup_call("check the API key and the domain", lambda client: client.domains.get(domain_name=self.domain))
        if answer.status != 200:
            self._refused(answer)

    def send(self, batch: Batch, report: Report) -> None:
        fields = build_fields(self.config, batch)
        size = option_bytes(fields)
        if size > MAX_OPTION_BYTES:  # settings far too long (the newsletter's name, the sender): Mailgun would refuse every batch
            raise ProviderRefused(f"the send options (o:, h:, v: fields) come to {size:,} bytes, over Mailgun's 16 KB; shorten [newsletter] name", NAME)
        body, content_type = form_body(fields)
        answer = self._call(lambda client: client.messages.create(data=body, headers={"Content-Type": content_type}, domain=self.domain))
        if answer.status != 200:
            for address, status in self._refused(answer, batch).items():
                report(address, status)
            return  # the others were not taken: they are tried again in a later batch
        message_id = _message_id(answer)
        for letter in batch.letters:
            report(letter.email, RecipientStatus(Outcome.ACCEPTED, message_id=message_id))

    def new_schedule_id(self) -> str:
        """A local id for a scheduled delivery (Mailgun has none): sent as v:schedule and as a tag."""
        return uuid.uuid4().hex

    def cancel(self, schedule_id: str, message_ids: list[str]) -> None:  # noqa: ARG002 (Mailgun cancels nothing by id)
        """DELETE /v3/{domain}/envelopes on each storage host: Mailgun has no cancellation of one
        message or one delivery (none in its API reference), only this, which drops EVERY scheduled
        and undelivered message of the domain (see cancel_scope). It must reach the storage host that
        holds the mail, which the send's answer does not name, so every host of the region is asked;
        one that holds nothing of the domain answers 404."""
        found = False
        for host in self.storage_hosts:
            api = self.api if host == self.host else _open(host, self.key, self.timeout)
            try:
                answer = self._setup_call("cancel the scheduled send", lambda client: client.envelopes.delete(domain=self.domain), api)
            finally:
                if api is not self.api:
                    api.close()
            if answer.status == 200:
                found = True
            elif answer.status != 404:
                self._refused(answer)
        if not found:
            raise ProviderRefused(f"Mailgun found no scheduled mail of {self.domain} to cancel ({DOMAIN_SETTING}, [mailgun] region)", NAME, 404)

    def close(self) -> None:
        self.api.close()

    def _setup_call(self, purpose: str, request: Request, api: MailgunApi | None = None) -> Answer:
        """A call outside the send loop: a failure to get an answer is one error for the user."""
        try:
            return self._call(request, api)
        except RetryLater as exc:
            raise ProviderRefused(f"could not {purpose} at Mailgun: {exc}; nothing was sent, try again later", NAME, exc.status, exc.words) from None
        except Ambiguous as exc:
            raise ProviderRefused(f"could not {purpose}: {exc}; it may or may not have happened, check Mailgun's dashboard", NAME, exc.status, exc.words) from None

    def _call(self, request: Request, api: MailgunApi | None = None) -> Answer:
        """One request; an answer that says "wait" (429, 5xx) or none at all becomes RetryLater or Ambiguous."""
        api = api or self.api
        try:
            answer = api.call(request)
        except NotSent as exc:
            raise RetryLater(f"cannot reach Mailgun at {api.base_url}: {exc}", NAME, words=str(exc)) from None
        except NoAnswer as exc:
            raise Ambiguous(f"no answer from Mailgun ({exc})", NAME, words=str(exc)) from None
        words = _words(answer)
        if answer.status == 429:
            raise RetryLater(f"429 rate limited: {words}", NAME, 429, words, retry_after=_wait(words, answer.headers))
        if answer.status >= 500:
            raise RetryLater(f"{answer.status} server error: {words}", NAME, answer.status, words, retry_after=_retry_after(answer.headers))
        return answer

    def _refused(self, answer: Answer, batch: Batch | None = None) -> dict[str, RecipientStatus]:
        """What a refusal means: the readers a 400 names (REJECTED); anything else stops the run."""
        status, words = answer.status, _words(answer)
        if status == 400 and batch is not None:
            named = _named_readers(_message(answer), batch)
            if named:
                return {address: RecipientStatus(Outcome.REJECTED, f"Mailgun: {words}") for address in named}
        if status in (401, 403):
            raise ProviderRefused(f"Mailgun refused the API key in {MAILGUN_API_KEY} ({status}): {words}", NAME, status, words)
        if status == 404:
            raise ProviderRefused(
                f"Mailgun does not know the domain {self.domain} (404: {words}); check {DOMAIN_SETTING} and [mailgun] region (EU domains need region = \"eu\")",
                NAME, status, words,
            )
        if status == 413:
            raise ProviderRefused(f"Mailgun says the request is too large (413): {words}; lower [send] batch_size", NAME, status, words)
        raise ProviderRefused(f"Mailgun refused the request ({status}): {words}", NAME, status, words)


def _open(host: str, key: str, timeout: float) -> MailgunApi:
    try:
        return MailgunApi(host, key, timeout)
    except ValueError as exc:  # the SDK's own checks of the URL (plain http only to localhost and 127.0.0.1)
        raise ConfigError(f"[mailgun] host = {host!r}: the Mailgun library refuses it: {exc}") from None


def _message_id(answer: Answer) -> str:
    """The id of a 200 answer. Mailgun answers 200 without one on a path that is no API endpoint
    ("Mailgun Magnificent API"): then nothing was sent, and nothing will be."""
    try:
        message_id = json.loads(answer.text).get("id")
    except (ValueError, AttributeError):
        message_id = None
    if not isinstance(message_id, str) or not message_id:
        raise ProviderRefused(f"Mailgun answered 200 without a message id ({_words(answer)}); check [mailgun] host and {DOMAIN_SETTING}", NAME, 200, _words(answer))
    return message_id


def _named_readers(words: str, batch: Batch) -> list[str]:
    """The batch's readers that Mailgun's words name (as it writes them, IDN domain in either form)."""
    mentioned = set()
    for found in ADDRESS_IN_WORDS.findall(words):
        try:
            mentioned.add(normalize(found.rstrip(".:")))
        except ValueError:
            continue
    return [letter.email for letter in batch.letters if letter.email in mentioned]


def _message(answer: Answer) -> str:
    """Mailgun's own message ({"message": ...}, or plain text such as "Forbidden"), secrets masked."""
    text = mask_secrets(answer.text)
    try:
        message = json.loads(text).get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message) if message else " ".join(text.split())


def _words(answer: Answer) -> str:
    """Mailgun's message, short enough for a sentence (masked before the cut, which could split a key)."""
    return _message(answer)[:300] or f"HTTP {answer.status}"


def _wait(words: str, headers: Mapping[str, str]) -> float | None:
    """How long a 429 asks us to wait: its words ("try again after 120 seconds"), else Retry-After,
    else X-RateLimit-Reset (a time, in seconds or milliseconds since 1970, or seconds from now)."""
    said = TRY_AGAIN.search(words)
    if said:
        return float(said.group(1))
    after = _retry_after(headers)
    if after is not None:
        return after
    reset = _number(headers.get("X-RateLimit-Reset"))
    if reset is None:
        return None
    if reset > 1e12:
        reset /= 1000
    return max(reset - time.time(), 0.0) if reset > 1e9 else reset


def _retry_after(headers: Mapping[str, str]) -> float | None:
    after = _number(headers.get("Retry-After"))
    return max(after, 0.0) if after is not None else None


def _number(text: str | None) -> float | None:
    try:
        number = float(text) if text else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None
