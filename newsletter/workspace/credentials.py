"""Every secret the tool uses, read from the environment here and nowhere else.

Secrets never come from newsletter.toml, never appear in output or logs, and never reach a file.
The few other variables the tool reads (NEWSLETTER_DEBUG, NEWSLETTER_WORKSPACE, DATABASE_URL) are
read here too, so that one module answers "what does the environment change?" (a lint rule,
TID251 in pyproject.toml, refuses os.environ anywhere else).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..errors import ConfigError, is_loopback, warn

SECRET = "NEWSLETTER_SECRET"
PREVIOUS_SECRET = "NEWSLETTER_PREVIOUS_SECRET"  # still accepted in links, while rotating
PREVIOUS_SECRET_UNTIL = "NEWSLETTER_PREVIOUS_SECRET_UNTIL"  # YYYY-MM-DD: last day it is accepted
SENDGRID_API_KEY = "SENDGRID_API_KEY"
SENDGRID_API_HOST = "SENDGRID_API_HOST"  # not a secret: points the client at a local test server
SMTP_PASSWORD = "SMTP_PASSWORD"
SENDGRID_WEBHOOK_PUBLIC_KEY = "SENDGRID_WEBHOOK_PUBLIC_KEY"  # not a secret: checks SendGrid's signatures
DATABASE_URL = "DATABASE_URL"  # may hold a password; shown only through workspace.database.redact_password
DEBUG = "NEWSLETTER_DEBUG"  # set: a bug shows its traceback instead of one sentence
WORKSPACE = "NEWSLETTER_WORKSPACE"  # the web app's workspace when create_app() is given none
# The providers beside SendGrid (names fixed by the provider issue, relied on by set-ups and scripts)
MAILGUN_API_KEY = "MAILGUN_API_KEY"
POSTMARK_SERVER_TOKEN = "POSTMARK_SERVER_TOKEN"
RESEND_API_KEY = "RESEND_API_KEY"
AWS_SECRETS = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")  # boto3 reads its chain itself; we only mask them
# Secrets that check the events each provider posts to the web app
MAILGUN_WEBHOOK_SIGNING_KEY = "MAILGUN_WEBHOOK_SIGNING_KEY"
RESEND_WEBHOOK_SECRET = "RESEND_WEBHOOK_SECRET"  # the whsec_... value Resend shows
POSTMARK_WEBHOOK_PASSWORD = "POSTMARK_WEBHOOK_PASSWORD"  # basic auth on the webhook URL, user "postmark"
NEWSLETTER_WEBHOOK_SECRET = "NEWSLETTER_WEBHOOK_SECRET"  # the generic endpoint (Standard Webhooks)
BOUNCES_PASSWORD = "BOUNCES_PASSWORD"  # the IMAP mailbox `bounces fetch` reads
SECRET_VARIABLES = (
    SECRET, PREVIOUS_SECRET, SENDGRID_API_KEY, SMTP_PASSWORD, MAILGUN_API_KEY, POSTMARK_SERVER_TOKEN, RESEND_API_KEY, *AWS_SECRETS,
    MAILGUN_WEBHOOK_SIGNING_KEY, RESEND_WEBHOOK_SECRET, POSTMARK_WEBHOOK_PASSWORD, NEWSLETTER_WEBHOOK_SECRET, BOUNCES_PASSWORD,
)  # and the LLM key's, once read
MASK = "***"
MIN_PIECE = 8  # characters: a piece of a secret this long or longer is masked wherever it appears

DEVELOPMENT_SECRET = b"newsletter development secret: outbox only, never for real mail"
MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 128  # by a simple estimate: length times the entropy of its characters
MAKE_ONE = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
API_KEY = re.compile(r"[A-Za-z0-9._-]{8,256}")  # SendGrid keys look like SG.xxxx.yyyy
MODEL_KEY = re.compile(r"[\x21-\x7e]{1,1024}")  # model APIs differ; no space, line break or non-ASCII (it goes in a header)

_read_variables: set[str] = set()  # the variables named in settings that a secret was read from


@dataclass(frozen=True)
class SigningKeys:
    """The secret that signs new links, and the earlier one still accepted when checking a link,
    until the last day NEWSLETTER_PREVIOUS_SECRET_UNTIL gives. That day is checked at each
    verification, not once: a web app that runs for months stops accepting the old secret on time."""

    current: bytes
    previous: bytes | None = None
    previous_until: dt.date | None = None  # None: accepted until it is unset
    development: bool = False  # the fixed secret of the local outbox
    today: Callable[[], dt.date] = field(default=lambda: dt.date.today(), repr=False)  # each call reads the clock

    @property
    def accepted(self) -> tuple[bytes, ...]:
        """The secrets a link may be signed with, today."""
        if self.previous is None or (self.previous_until is not None and self.today() > self.previous_until):
            return (self.current,)
        return (self.current, self.previous)


def signing_keys(provider: str, today: dt.date | None = None) -> SigningKeys:
    """The link-signing keys. Real providers refuse to run without a proper NEWSLETTER_SECRET; the
    local outbox, which sends nothing anywhere, falls back to a fixed development secret. `today`
    fixes the date the previous secret is checked against (tests); by default, each check's own."""
    value = os.environ.get(SECRET, "")
    clock = (lambda: today) if today is not None else (lambda: dt.date.today())
    if not value:
        if provider == "outbox":
            return SigningKeys(DEVELOPMENT_SECRET, development=True)
        raise ConfigError(
            f"{SECRET} is not set. It signs each recipient's links (unsubscribe, confirm); set it to a long random "
            f"string (e.g. `export {SECRET}=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')`) "
            "and give the same value to the web app that handles those links."
        )
    current = _checked(SECRET, value)
    previous = os.environ.get(PREVIOUS_SECRET, "")
    if not previous:
        return SigningKeys(current, today=clock)
    return SigningKeys(current, _checked(PREVIOUS_SECRET, previous), _previous_until(), today=clock)


def _checked(name: str, value: str) -> bytes:
    """A secret long and varied enough to resist guessing. The message never shows the value."""
    if len(value) < MIN_SECRET_LENGTH or estimated_bits(value) < MIN_SECRET_BITS:
        raise ConfigError(
            f"{name} is too weak: use at least {MIN_SECRET_LENGTH} random characters (about {MIN_SECRET_BITS} bits); "
            f"make one with: {MAKE_ONE}"
        )
    return value.encode()


def estimated_bits(value: str) -> float:
    """Length times the Shannon entropy of the characters used: "aaaa..." scores 0, a
    token_urlsafe(32) about 200."""
    counts = Counter(value)
    per_character = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return len(value) * per_character


def _previous_until() -> dt.date | None:
    until = os.environ.get(PREVIOUS_SECRET_UNTIL, "")
    if not until:
        return None
    try:
        return dt.date.fromisoformat(until)
    except ValueError:
        raise ConfigError(f"{PREVIOUS_SECRET_UNTIL}={until!r}: expected a date such as 2027-01-31") from None


def sendgrid_api_key() -> str:
    key = os.environ.get(SENDGRID_API_KEY, "").strip()
    if not key:
        raise ConfigError(f"{SENDGRID_API_KEY} is not set: the SendGrid API key comes from the environment only")
    if not API_KEY.fullmatch(key):  # a line break would reach an HTTP header (and its error message)
        raise ConfigError(f"{SENDGRID_API_KEY} does not look like an API key (letters, digits, '.', '_' and '-' only); check how it was set")
    return key


def sendgrid_host_override() -> str | None:
    """SENDGRID_API_HOST, which points the client at another server (a local test server)."""
    value = os.environ.get(SENDGRID_API_HOST, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{SENDGRID_API_HOST}={value!r} is not an http(s) URL such as https://api.sendgrid.com")
    return value


def provider_api_key(variable: str, provider: str) -> str:
    """A provider's API key or token from `variable` (MAILGUN_API_KEY, POSTMARK_SERVER_TOKEN, RESEND_API_KEY)."""
    key = os.environ.get(variable, "").strip()
    if not key:
        raise ConfigError(f"{variable} is not set: the {provider} key comes from the environment only")
    if not API_KEY.fullmatch(key):  # a line break would reach an HTTP header (and its error message)
        raise ConfigError(f"{variable} does not look like an API key (letters, digits, '.', '_' and '-' only); check how it was set")
    return key


def webhook_secret(variable: str) -> str:
    """The secret that checks a provider's event posts ("" when not set: every post is refused)."""
    return os.environ.get(variable, "").strip()


WHSEC = re.compile(r"whsec_[A-Za-z0-9+/]{16,}={0,2}")  # Standard Webhooks: whsec_ then base64, 24 bytes or more as Svix makes them


def outgoing_webhook_secret(variable: str, setting: str) -> str:
    """The whsec_... secret that signs the deliveries to one [[webhooks]] receiver, from the
    variable its `secret_env` names (`setting` says which). From then on `mask_secrets` hides it."""
    import base64
    import binascii

    value = os.environ.get(variable, "").strip()
    if not value:
        raise ConfigError(f"{setting}: the environment variable {variable} is not set; it holds the receiver's whsec_... signing secret")
    _read_variables.add(variable)
    try:
        key = base64.b64decode(value.removeprefix("whsec_"), validate=True) if WHSEC.fullmatch(value) else b""
    except binascii.Error:
        key = b""
    if len(key) < 16:
        raise ConfigError(
            f"{setting}: {variable} does not hold a Standard Webhooks secret (whsec_ followed by base64 of 16 bytes or more); "
            "make one with: python3 -c 'import base64, secrets; print(\"whsec_\" + base64.b64encode(secrets.token_bytes(32)).decode())'"
        )
    return value


def bounces_password() -> str | None:
    """BOUNCES_PASSWORD, for the IMAP mailbox of [bounces]."""
    return os.environ.get(BOUNCES_PASSWORD) or None


def smtp_password(username: str | None) -> str | None:
    """SMTP_PASSWORD, required when [smtp] username is set."""
    password = os.environ.get(SMTP_PASSWORD) or None
    if username and not password:
        raise ConfigError(f"[smtp] username is set but {SMTP_PASSWORD} is not: the password comes from the environment only")
    return password


def llm_api_key(variable: str) -> str:
    """The language model's API key, from the environment variable that [story] llm_key_env names.
    From then on it is one of the secrets `mask_secrets` hides."""
    key = os.environ.get(variable, "").strip()
    if not key:
        raise ConfigError(f"--llm needs the API key in the environment variable {variable} (named by [story] llm_key_env)")
    _read_variables.add(variable)
    if not MODEL_KEY.fullmatch(key):
        raise ConfigError(f"{variable} does not look like an API key (no spaces, line breaks or non-ASCII characters); check how it was set")
    return key


def refuse_clear_text(url: str, setting: str) -> None:
    """An API key goes with every request to `url`: over plain http only to this machine (a test
    server, a local model), with a warning. `setting` names where the URL came from."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        warn(f"{setting} = {url}: the API key travels without TLS (allowed because the server is on this machine)")
        return
    raise ConfigError(f"{setting} = {url}: the API key would travel without TLS; use an https:// address")


def mask_secrets(text: str) -> str:
    """`text` with every secret the tool knows (NEWSLETTER_SECRET, the previous secret, the SendGrid
    key, the SMTP password, the model's key), and every piece of MIN_PIECE or more characters of one,
    replaced by ***. Mask before cutting a text short: a cut can leave a piece of a secret that no
    longer matches it whole."""
    secrets = {value for name in (*SECRET_VARIABLES, *sorted(_read_variables)) if (value := os.environ.get(name, "").strip())}
    hidden = bytearray(len(text))  # 1 where a character belongs to a secret
    for secret in secrets:
        # A short secret is hidden where it appears whole; a long one wherever a piece of it does.
        length = min(len(secret), MIN_PIECE)
        for piece in {secret[start : start + length] for start in range(len(secret) - length + 1)}:
            found = text.find(piece)
            while found != -1:
                hidden[found : found + length] = b"\x01" * length
                found = text.find(piece, found + 1)
    parts, kept = [], 0
    for run in re.finditer(b"\x01+", hidden):
        parts += [text[kept : run.start()], MASK]
        kept = run.end()
    return "".join([*parts, text[kept:]])


def sendgrid_webhook_public_key() -> str:
    """SendGrid's event-webhook verification key, as SendGrid shows it ("" when not set)."""
    return os.environ.get(SENDGRID_WEBHOOK_PUBLIC_KEY, "").strip()


def database_url() -> str | None:
    """DATABASE_URL, which wins over [subscribers] database (a password stays out of newsletter.toml)."""
    return os.environ.get(DATABASE_URL) or None


def debugging() -> bool:
    """NEWSLETTER_DEBUG is set: an unexpected error shows its traceback."""
    return bool(os.environ.get(DEBUG))


def workspace_from_environment() -> str | None:
    """NEWSLETTER_WORKSPACE: the workspace of a web app started by gunicorn (`newsletter serve --production`)."""
    return os.environ.get(WORKSPACE) or None


def environment_with(**variables: str) -> dict[str, str]:
    """This process's environment plus `variables`, for a program the tool hands over to (gunicorn)."""
    return {**os.environ, **variables}
