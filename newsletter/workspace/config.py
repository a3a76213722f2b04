"""The workspace and its settings file, newsletter.toml."""

from __future__ import annotations

import datetime as dt
import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, ValidationError, model_validator

from ..errors import ConfigError
from ..i18n.catalogue import LABEL_KEYS, LABELS, check_placeholders
from ..models import Layout, Line, Strict, Url
from ..models.audience import normal_tag, topic_key_problem
from ..models.event_types import ALL_EVENTS, EVENT_TYPES
from .database import Location, locate

CONFIG_NAME = "newsletter.toml"
MAX_CONFIG_BYTES = 1_000_000  # the settings of a workspace are a few KB


def email_address(value: str) -> str:
    """Syntax check only (no DNS), normalized the way the subscriber list stores addresses. The
    part before the @ must be ASCII: mail from anything else needs SMTPUTF8 on every path."""
    from ..models.addresses import has_ascii_local_part, normalize

    try:
        address = normalize(value)
    except ValueError as exc:
        raise ValueError(f"expected an email address, got {value!r} ({exc})") from None
    if not has_ascii_local_part(address):
        raise ValueError(f"{value!r}: the part before the @ must be ASCII letters, digits and punctuation (mail from it cannot go through most servers)")
    return address


def hex_colour(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError(f"expected a colour as #rrggbb, got {value!r}")
    return value.lower()


def unsubscribe_template(value: str) -> str:
    if "{token}" not in value:
        raise ValueError("must contain {token}, where each recipient's signed token goes")
    bad = sorted(set(value) & set("<>\"'`\\"))
    if bad:  # it goes into HTML attributes and the List-Unsubscribe header as it is
        raise ValueError(f"must not contain {' '.join(bad)} (percent-encode them)")
    return value


def known_language(value: str) -> str:
    """A language Babel knows ("en", "de", "pt-BR", "de_AT"): the email's labels and dates follow it."""
    from ..i18n.catalogue import is_known_language

    if not is_known_language(value):
        raise ValueError(f'expected a language code such as "en", "de" or "pt-BR", got {value!r} (not a language Babel knows)')
    return value


ARCHIVE_SEGMENT = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*")


def archive_address(value: str) -> str:
    """The archive's address: its path becomes folders of the published site and the prefix
    `newsletter serve` answers under, so each part is a plain folder name."""
    parts = urlsplit(value)
    if parts.query or parts.fragment:
        raise ValueError(f"expected the archive's address with no ?query or #fragment (pages are added after it), got {value!r}")
    for segment in parts.path.strip("/").split("/") if parts.path.strip("/") else []:
        if not ARCHIVE_SEGMENT.fullmatch(segment):
            raise ValueError(f"{segment!r} in the path of {value!r}: each part of the path must be letters, digits, '-', '_', '.' or '~' (not starting with '.')")
    return value


def share_of_the_list(value: str) -> str:
    from ..models.spans import parse_share

    parse_share(value, 1, 50)
    return value.strip()


def canary_span(value: str) -> str:
    from ..models.spans import parse_span

    parse_span(value, dt.timedelta(minutes=5), dt.timedelta(hours=24))
    return value.strip()


def day_window(value: str) -> str:
    from ..models.windows import parse_window

    return str(parse_window(value))


def iana_zone(value: str) -> str:
    from ..models.windows import zone_named

    if zone_named(value) is None:
        raise ValueError(f'expected an IANA time zone such as "Europe/Berlin" or "UTC", got {value!r}')
    return value.strip()


def label_key(value: str) -> str:
    if value not in LABELS:
        close = difflib.get_close_matches(value, LABEL_KEYS, n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        raise ValueError(f"is not a known label{hint}; the labels are: {', '.join(LABEL_KEYS)}")
    return value


def label_placeholders(value: dict[str, str]) -> dict[str, str]:
    """Each label uses only the {placeholders} of its English text: the template fills those, and
    any other would fail when the email is rendered."""
    for key, text in value.items():
        try:
            check_placeholders(key, text)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None
    return value


Address = Annotated[str, AfterValidator(email_address)]
Colour = Annotated[str, AfterValidator(hex_colour)]
Language = Annotated[Line, AfterValidator(known_language)]
LabelKey = Annotated[str, AfterValidator(label_key)]
Labels = Annotated[dict[LabelKey, Line], AfterValidator(label_placeholders)]


class NewsletterSettings(Strict):
    name: Line
    postal_address: Line
    archive_url: Annotated[Url, AfterValidator(archive_address)]
    language: Language = "en"  # the email's labels and dates; a region ("pt-BR") uses its base language's labels
    layout: Layout = "standard"  # the built-in layouts: standard, or digest (compact); an issue can choose its own
    # Templates here override the defaults of the same name. Left unset, "templates" is used if it exists.
    template_dir: Line | None = None
    # A template folder outside the workspace must be an absolute path confirmed by this: templates
    # run with the tool's access, so a stray "../../" must not pick up someone else's.
    allow_outside: bool = False
    # Filled per recipient at send time; the build uses a sample token.
    unsubscribe_url: Annotated[Url, AfterValidator(unsubscribe_template)] | None = None
    # A mailbox for unsubscribe requests by mail, offered as a second List-Unsubscribe URI after the
    # one-click link. Off unless set: someone must read that mailbox and unsubscribe the senders.
    unsubscribe_mailto: Address | None = None

    @property
    def archive_path(self) -> str:
        """archive_url's path without its slashes ("archive", "news/archive"; "" at a host's root):
        where the pages sit in the published site and under `newsletter serve`."""
        return urlsplit(self.archive_url).path.strip("/")


class SenderSettings(Strict):
    """The From identity: who the mail comes from."""

    name: Line
    address: Address
    reply_to: Address | None = None


class Brand(Strict):
    accent_color: Colour = "#1d4ed8"
    logo_url: Url | None = None


def _no_password(value: str) -> str:
    if urlsplit(value).scheme in ("postgresql", "postgres") and (urlsplit(value).password is not None or "password=" in value.lower()):
        # A URL in newsletter.toml ends up in backups and commits: the password never belongs there.
        raise ValueError("holds a password; leave it out and set PGPASSWORD in the environment or use ~/.pgpass")
    return value


class SubscriberSettings(Strict):
    # A SQLite file relative to the workspace (or sqlite:///path), or postgresql://user@host/dbname.
    database: Annotated[Line, AfterValidator(_no_password)] = "subscribers.db"


class SendSettings(Strict):
    provider: Literal["outbox", "smtp", "sendgrid", "ses", "mailgun", "postmark", "resend"] = "outbox"
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 1000  # recipients per SendGrid request
    rate_per_second: Annotated[float, Field(gt=0)] | None = None  # messages per second; unset: no limit
    error_budget: Annotated[int, Field(ge=0)] = 100  # failed recipients that stop the run
    retries: Annotated[int, Field(ge=0, le=20)] = 6  # attempts after a 429, a 5xx or a refused connection
    bounce_after: Annotated[int, Field(ge=0, le=100)] = 2  # permanent refusals of an address in a row that make it bounced (0: never)
    outbox: Line = "outbox"  # Maildir folder for the outbox provider, relative to the workspace
    # The most engaged share of the readers gets each issue first; the rest waits `canary_wait` and
    # goes unless their hard bounces or complaints pass the limits (sending/canary.py).
    canary: Annotated[str, AfterValidator(share_of_the_list)] | None = None  # "5%": 1% to 50%
    canary_wait: Annotated[str, AfterValidator(canary_span)] = "30m"  # 5m to 24h
    require_committed: bool = False  # refuse an issue file git does not hold as it is (sending/core.py)


class SmtpSettings(Strict):
    host: Line = "localhost"
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: Line | None = None  # the password comes from SMTP_PASSWORD
    timeout: Annotated[float, Field(gt=0)] = 30
    # VERP return path: bounces+<token>@domain, whose token names the issue and the reader (not the
    # address); `newsletter bounces fetch` reads what comes back. Unset: the sender's address.
    bounce_address: Annotated[str, AfterValidator(email_address)] | None = None


class SendGridSettings(Strict):
    host: Url = "https://api.sendgrid.com"  # SENDGRID_API_HOST overrides it (tests use a local server)
    category: Line | None = None  # default: the newsletter's name
    asm_group_id: Annotated[int, Field(ge=1)] | None = None  # unsubscribe group
    sandbox: bool = False  # SendGrid validates but delivers nothing
    # SendGrid's click tracking, sent with every request (so an account-level setting cannot turn it
    # on unseen). On, every link goes through SendGrid's redirect (300 to 450 bytes more each, which
    # `check` counts against Gmail's clip) and the report counts clicks per link.
    click_tracking: bool = False
    timeout: Annotated[float, Field(gt=0)] = 30


class SesSettings(Strict):
    """Amazon SES (API v2). Keys come from boto3's usual chain: AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY, a profile or a role."""

    host: Url | None = None  # the endpoint URL; unset: AWS's own for the region
    region: Line = "us-east-1"
    configuration_set: Line | None = None  # the one whose SNS destination posts events to /webhooks/ses
    max_rate: Annotated[float, Field(gt=0)] | None = None  # messages per second; unset: GetAccount's MaxSendRate
    topic_arns: list[Line] = []  # the SNS topics whose posts are taken; empty: any topic (the signature is still checked)
    timeout: Annotated[float, Field(gt=0)] = 30


class MailgunSettings(Strict):
    host: Url | None = None  # the API's base URL; unset: Mailgun's for the region
    domain: Line | None = None  # the sending domain, as Mailgun lists it (required to send)
    region: Literal["us", "eu"] = "us"
    timeout: Annotated[float, Field(gt=0)] = 30


class PostmarkSettings(Strict):
    host: Url = "https://api.postmarkapp.com"
    message_stream: Line = "broadcast"  # a Broadcast stream: newsletters must not go out on the transactional one
    timeout: Annotated[float, Field(gt=0)] = 30


class ResendSettings(Strict):
    host: Url = "https://api.resend.com"
    timeout: Annotated[float, Field(gt=0)] = 30
    # Resend's default limit is 2 requests a second per team (raised on request): calls are spaced to
    # stay under it, so that a big send does not live on 429s
    requests_per_second: Annotated[float, Field(gt=0, le=1000)] = 2


class BouncesSettings(Strict):
    """Where `newsletter bounces fetch` reads the delivery reports SMTP mail comes back with: a
    Maildir folder, or an IMAP mailbox (password from BOUNCES_PASSWORD)."""

    maildir: Line | None = None  # relative to the workspace
    imap_host: Line | None = None
    imap_port: Annotated[int, Field(ge=1, le=65535)] = 993
    imap_security: Literal["tls", "starttls", "none"] = "tls"
    imap_username: Line | None = None
    imap_folder: Line = "INBOX"
    timeout: Annotated[float, Field(gt=0)] = 30


def origin(value: str) -> str:
    """An http(s) origin: scheme and host (and port), nothing after."""
    parts = urlsplit(value)
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise ValueError(f"expected an origin such as https://news.example.com, with no path, got {value!r}")
    return f"{parts.scheme}://{parts.netloc}"


def rate_limits(value: str) -> str:
    """Rate limits as the `limits` library reads them: "10/minute;60/hour"."""
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ValueError(f'expected limits such as "10/minute;60/hour", got {value!r}') from None
    return value


def proxy_address(value: str) -> str:
    """An address or a CIDR range of addresses, IPv4 or IPv6: "127.0.0.1", "10.0.0.0/8", "::1"."""
    import ipaddress

    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise ValueError(f'expected an IP address or a range such as "127.0.0.0/8", got {value!r}') from None


def topic_key(value: str) -> str:
    problem = topic_key_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Tag = Annotated[str, AfterValidator(normal_tag)]
TopicKey = Annotated[str, AfterValidator(topic_key)]


class TopicSettings(Strict):
    """One of several newsletters in the workspace (`[topics.<key>]`): readers choose which they get."""

    name: Line
    description: Line = ""
    default: bool = True  # what a new signup (and a reader from before topics existed) gets
    sender_name: Line | None = None  # the From name of this topic's issues; default: [sender] name


class WebSettings(Strict):
    """The subscriber-facing web app (`newsletter serve`)."""

    # The public origin where the app answers; default: the origin of newsletter.archive_url.
    base_url: Annotated[Url, AfterValidator(origin)] | None = None
    confirm_days: Annotated[int, Field(ge=1, le=60)] = 7  # how long a confirmation link works
    # Signups never confirmed are removed after this many days (never sooner than confirm_days); 0: never.
    purge_pending_after_days: Annotated[int, Field(ge=0, le=3650)] = 30
    # Proxies in front of the app whose X-Forwarded-For is believed (addresses), and how many
    # hops of it; anyone else's header is ignored, so a client cannot pick its rate-limit key.
    trusted_proxies: list[Annotated[Line, AfterValidator(proxy_address)]] = []
    proxy_hops: Annotated[int, Field(ge=1, le=5)] = 1
    # Where rate-limit counters live: memory:// is per process; with several workers, a shared
    # store such as redis://host:6379 makes the limits exact.
    rate_limit_storage: Line = "memory://"
    subscribe_rate: Annotated[Line, AfterValidator(rate_limits)] = "10/minute;60/hour"  # signups per client address
    address_rate: Annotated[Line, AfterValidator(rate_limits)] = "3/hour;10/day"  # confirmation emails per subscriber address
    # Tags the signup form may set (a hidden field or a checkbox named `tags`); any other is refused.
    allowed_tags: list[Tag] = []
    # Other sites (origins) whose pages may post the signup form or call it as JSON (CORS).
    allowed_origins: list[Annotated[Url, AfterValidator(origin)]] = []


class AdminSettings(Strict):
    """The small admin at /admin (web/admin.py): who may sign in. No editors: no admin (404)."""

    # Editors sign in with a one-time link emailed to one of these addresses; nothing else is a password.
    editors: list[Address] = []
    sign_in_rate: Annotated[Line, AfterValidator(rate_limits)] = "5/minute;30/hour"  # sign-in requests per client address
    address_rate: Annotated[Line, AfterValidator(rate_limits)] = "3/15 minutes;10/day"  # sign-in requests per address typed, per client


class ApiSettings(Strict):
    """The REST API (/api/v1/, tokens from `newsletter api-token create`)."""

    rate_limit: Annotated[Line, AfterValidator(rate_limits)] = "600/minute"  # requests per token


class LinkSettings(Strict):
    """UTM tagging of the links to stories (and the sponsor) in the email and on the web page."""

    utm: bool = False  # off: links go out exactly as written in the issue
    utm_source: Line | None = None  # default: the newsletter's name as a slug ("the-weekly-model")
    utm_medium: Line = "email"
    utm_campaign: Line | None = None  # default: "issue-{number}"; {number} becomes the issue's number
    utm_content: Line | None = None  # default: "story-{slot}"; {slot} is the story's 1-based position in the issue


class TrackingSettings(Strict):
    """What the tool measures itself, through its own redirect and pixel (see mail/clicks.py)."""

    # off: every link as written; aggregate: counts per link and per story, nothing per person;
    # reader: also who clicked (needed by sunsetting and a canary's "most engaged" readers).
    clicks: Literal["off", "aggregate", "reader"] = "aggregate"
    opens: bool = False  # a pixel; opens are never proof of reading (Apple's proxy opens everything)


def webhook_url(value: str) -> str:
    """https, or http to this machine only: the signed body and its signature travel in it."""
    from ..errors import is_loopback

    parts = urlsplit(value)
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or "")):
        return value
    raise ValueError(f"expected an https:// address (http:// only to this machine, 127.0.0.1 or localhost), got {value!r}")


def event_type(value: str) -> str:
    if value != ALL_EVENTS and value not in EVENT_TYPES:
        close = difflib.get_close_matches(value, EVENT_TYPES, n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        raise ValueError(f"{value!r} is not an event{hint}; the events are: {', '.join(EVENT_TYPES)}, or \"*\" for all")
    return value


def variable_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        # The value is not repeated: it may be the secret itself, pasted in the wrong place.
        raise ValueError("expected the NAME of an environment variable (letters, digits and _, such as WEBHOOK_SECRET); the secret itself never goes in newsletter.toml")
    return value


class WebhookSettings(Strict):
    """One `[[webhooks]]` receiver: the events it wants, signed with the secret in `secret_env`."""

    url: Annotated[Url, AfterValidator(webhook_url)]
    events: Annotated[list[Annotated[str, AfterValidator(event_type)]], Field(min_length=1)]
    secret_env: Annotated[Line, AfterValidator(variable_name)]  # the variable holding its whsec_... secret
    name: Line | None = None  # how logs refer to it; default: the url's host

    @property
    def label(self) -> str:
        return self.name or (urlsplit(self.url).hostname or self.url)

    def wants(self, kind: str) -> bool:
        return ALL_EVENTS in self.events or kind in self.events


def first_repeat(names: list[str]) -> str | None:
    """The first name that comes twice in `names`, if any."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def distinct_webhook_names(value: list[WebhookSettings]) -> list[WebhookSettings]:
    if (twice := first_repeat([hook.label for hook in value])) is not None:
        raise ValueError(f"two webhooks are called {twice!r}; give each a `name` of its own (deliveries are recorded by name)")
    return value


def feed_location(value: str) -> str:
    """An http(s) feed URL, or a path inside the workspace (checked against the folder in
    load_config: a relative path without "..")."""
    from ..models import is_http_url

    if urlsplit(value).scheme.lower() in ("http", "https"):
        if not is_http_url(value):
            raise ValueError(f"expected a feed's http(s) URL with a host and no spaces, got {value!r}")
        return value
    if "://" in value:
        raise ValueError(f"expected an http(s) feed URL or a file path in the workspace, got {value!r}")
    path = Path(value)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"a feed file must be a path inside the workspace (relative, without '..'), got {value!r}")
    return value


class SourceSettings(Strict):
    """One `[[sources]]` feed that `newsletter sources fetch` reads into the inbox (newsletter/sources/)."""

    url: Annotated[Line, AfterValidator(feed_location)]  # an RSS, Atom or JSON Feed: http(s), or a file in the workspace
    label: Line | None = None  # how the inbox names it; default: the url's host (or the file's name)
    section: Line | None = None  # the section `inbox pick` adds its stories to; default: the issue's last

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        return (urlsplit(self.url).hostname or "").removeprefix("www.") or Path(self.url).name


def distinct_source_names(value: list[SourceSettings]) -> list[SourceSettings]:
    if (twice := first_repeat([source.name for source in value])) is not None:
        raise ValueError(f"two sources are called {twice!r}; give each a `label` of its own (the inbox names items by it)")
    return value


# The chat APIs `[story] llm` names, all spoken to the OpenAI way, and what each one's other settings
# default to: (llm_base_url, llm_key_env, llm_model). A local Ollama asks for no key.
LLM_PROVIDERS: dict[str, tuple[str, str | None, str]] = {
    "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY", "gpt-4o-mini"),
    "mistral": ("https://api.mistral.ai/v1", "MISTRAL_API_KEY", "mistral-small-latest"),
    "groq": ("https://api.groq.com/openai/v1", "GROQ_API_KEY", "llama-3.1-8b-instant"),
    "ollama": ("http://localhost:11434/v1", None, "llama3.2"),
}


class AutomationSettings(Strict):
    """`newsletter automations run` (newsletter/automations/): when its emails may go out."""

    send_window: Annotated[str, AfterValidator(day_window)] | None = None  # "09:00-17:00" in the reader's zone; unset: any time
    time_zone: Annotated[str, AfterValidator(iana_zone)] | None = None  # the newsletter's zone for readers without one; unset: this machine's


class StorySettings(Strict):
    """`story add --llm`: a model writes the summary in the newsletter's voice. Off unless `llm` is
    set; the default drafting stays offline and deterministic."""

    llm: Literal["openai", "mistral", "groq", "ollama"] | None = None  # any OpenAI-compatible chat API
    llm_model: Line = "gpt-4o-mini"
    llm_base_url: Url = "https://api.openai.com/v1"
    llm_key_env: Line | None = "OPENAI_API_KEY"  # the variable that holds the key (never newsletter.toml); none for Ollama
    voice: Line = "clear, warm and plain; no hype, no exclamation marks"  # how the newsletter sounds

    @model_validator(mode="before")
    @classmethod
    def _provider_defaults(cls, data: Any) -> Any:
        """The settings left out take the defaults of the API `llm` names (Mistral's URL and key variable...)."""
        if isinstance(data, dict) and data.get("llm") in LLM_PROVIDERS:
            base_url, key_env, model = LLM_PROVIDERS[data["llm"]]
            return {"llm_base_url": base_url, "llm_key_env": key_env, "llm_model": model, **data}
        return data


class Config(Strict):
    newsletter: NewsletterSettings
    sender: SenderSettings
    brand: Brand = Brand()
    subscribers: SubscriberSettings = SubscriberSettings()
    send: SendSettings = SendSettings()
    smtp: SmtpSettings = SmtpSettings()
    sendgrid: SendGridSettings = SendGridSettings()
    ses: SesSettings = SesSettings()
    mailgun: MailgunSettings = MailgunSettings()
    postmark: PostmarkSettings = PostmarkSettings()
    resend: ResendSettings = ResendSettings()
    bounces: BouncesSettings = BouncesSettings()
    web: WebSettings = WebSettings()
    admin: AdminSettings = AdminSettings()
    api: ApiSettings = ApiSettings()
    links: LinkSettings = LinkSettings()
    tracking: TrackingSettings = TrackingSettings()
    story: StorySettings = StorySettings()
    automations: AutomationSettings = AutomationSettings()
    # Words a reader sees, by key (see newsletter/i18n/catalogue.py LABELS: the email, the web pages, the
    # confirmation and welcome emails): they replace the translation for [newsletter] language,
    # e.g. sponsor = "Partner of the week".
    labels: Labels = {}
    # Several newsletters in one workspace; none: one list, as before topics existed.
    topics: dict[TopicKey, TopicSettings] = {}
    # Named segments (`ai_readers = "tag:ai and not tag:paused"`), usable wherever an expression is.
    segments: dict[TopicKey, Line] = {}
    # Receivers of the tool's events, signed the Standard Webhooks way (newsletter/webhooks_out/).
    webhooks: Annotated[list[WebhookSettings], AfterValidator(distinct_webhook_names)] = []
    # Feeds read into the inbox by `newsletter sources fetch` (newsletter/sources/).
    sources: Annotated[list[SourceSettings], AfterValidator(distinct_source_names)] = []

    @property
    def default_topic(self) -> str | None:
        """The topic an issue without `topic:` goes to: the first default one (else the first)."""
        for key, topic in self.topics.items():
            if topic.default:
                return key
        return next(iter(self.topics), None)

    @property
    def topic_defaults(self) -> dict[str, bool]:
        """Each topic's key and whether a reader with no choice recorded for it gets it."""
        return {key: topic.default for key, topic in self.topics.items()}

    @property
    def unmeasured_reader_clicks(self) -> str | None:
        """Why nobody's own clicks are recorded (the segment term `clicked` and sunsetting need
        them), or None: [tracking] clicks = "reader", or SendGrid's click tracking, which reports each click with its address."""
        if self.tracking.clicks == "reader" or (self.send.provider == "sendgrid" and self.sendgrid.click_tracking):
            return None
        return (
            f'[tracking] clicks = "{self.tracking.clicks}" records no one\'s clicks, and [send] provider = "{self.send.provider}" reports none per reader; '
            'set [tracking] clicks = "reader" (see the README on privacy), or send through SendGrid with [sendgrid] click_tracking = true'
        )

    @property
    def base_url(self) -> str:
        """The web app's public origin, where every link a subscriber follows goes."""
        return self.web.base_url or origin_of(self.newsletter.archive_url)

    def unsubscribe_url_for(self, token: str) -> str:
        template = self.newsletter.unsubscribe_url or self.base_url + "/unsubscribe?token={token}"
        return template.replace("{token}", token)

    def confirm_url_for(self, token: str) -> str:
        return f"{self.base_url}/confirm/{token}"

    def preferences_url_for(self, token: str) -> str:
        return f"{self.base_url}/preferences?token={token}"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Workspace:
    """A folder holding newsletter.toml, issues/, templates/ and the subscriber database."""

    root: Path
    config: Config

    @property
    def template_dir(self) -> Path | None:
        """The workspace's own templates folder, if it has one."""
        folder = self.root / (self.config.newsletter.template_dir or "templates")
        return folder if folder.is_dir() else None

    @property
    def issues_dir(self) -> Path:
        return self.root / "issues"

    @property
    def database(self) -> Location:
        """The SQLite file, or the PostgreSQL server (DATABASE_URL overrides newsletter.toml)."""
        return locate(self.config.subscribers.database, self.root)

    @property
    def outbox(self) -> Path:
        return self.root / self.config.send.outbox


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` that holds newsletter.toml."""
    start = start.resolve()
    for folder in [start, *start.parents]:
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise ConfigError(f"no {CONFIG_NAME} found in {start} or any folder above it; run the command inside a workspace")


def load_workspace(start: Path) -> Workspace:
    root = find_root(start)
    return Workspace(root=root, config=load_config(root / CONFIG_NAME))


def load_config(path: Path) -> Config:
    from ..files.reading import UnreadableFile, read_capped

    try:
        source = read_capped(path, MAX_CONFIG_BYTES, "settings file").decode("utf-8-sig")  # -sig: a BOM some editors add is fine
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start + 1} is not UTF-8); save it as UTF-8") from None
    except UnreadableFile as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror}") from None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [{**err, "loc": _setting(err["loc"])} for err in exc.errors()]
        lines = [f"{path}:{_toml_line(source, err['loc'])}: {_dotted(err['loc'])}: {_config_message(err)}" for err in errors]
        raise ConfigError("\n".join(lines)) from None
    _check_template_dir(path, config.newsletter)
    return config


def _check_template_dir(path: Path, settings: NewsletterSettings) -> None:
    """The template folder exists and is inside the workspace (symlinks followed), or is an
    absolute path confirmed with allow_outside."""
    setting = settings.template_dir
    folder = path.parent / (setting or "templates")
    if setting and not folder.is_dir():
        raise ConfigError(f"{path}: newsletter.template_dir: folder {folder} does not exist")
    if not folder.is_dir() or folder.resolve().is_relative_to(path.parent.resolve()):
        return
    if setting and Path(setting).is_absolute() and settings.allow_outside:
        return
    how = "give its absolute path and add allow_outside = true under [newsletter]" if setting else "make templates/ a folder in the workspace"
    raise ConfigError(
        f"{path}: newsletter.template_dir: {folder.resolve()} is outside the workspace; templates run with this tool's access, so to use a folder elsewhere on purpose, {how}"
    )


ErrorPlace = tuple[int | str, ...]  # where pydantic says an error is: keys and list indexes


def _setting(loc: ErrorPlace) -> ErrorPlace:
    """The setting an error is about: pydantic puts "[key]" after a table key that is wrong
    (labels.sponser.[key]), which is the key itself here."""
    return loc[:-1] if loc and loc[-1] == "[key]" else loc


def _did_you_mean(loc: ErrorPlace) -> str:
    """ ", did you mean `postal_address`?" for a near miss of a known key; else a list of them."""
    model: Any = Config
    if len(loc) > 2 and loc[0] in ("webhooks", "sources") and isinstance(loc[1], int):
        model, loc = (WebhookSettings if loc[0] == "webhooks" else SourceSettings), loc[2:]  # a key of one [[webhooks]] or [[sources]] table
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None or not isinstance(field.annotation, type):
            return ""
        model = field.annotation
    known = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return f"; did you mean `{close[0]}`?" if close else f"; known here: {', '.join(known)}"


def _toml_line(source: str, loc: ErrorPlace) -> int:
    """The line of a setting (table, key) in newsletter.toml, or of its table, or 1."""
    if len(loc) > 1 and isinstance(loc[1], int):
        return _array_table_line(source, str(loc[0]), loc[1], str(loc[2]) if len(loc) > 2 else None)
    if len(loc) > 1 and isinstance(loc[-1], int):
        loc = loc[:-1]  # an item of a list: the line of the list's key
    table = ".".join(str(part) for part in loc[:-1])
    key = str(loc[-1]) if loc else ""
    current, table_line = "", None
    for number, line in enumerate(source.splitlines(), start=1):
        text = line.strip()
        header = re.fullmatch(r"\[\[?\s*([^\[\]]+?)\s*\]\]?", text)  # [table] or [[array of tables]]
        if header:
            current = header.group(1)
            if current in (table, key):
                table_line = number
            continue
        if current == table and re.match(rf"[\"']?{re.escape(key)}[\"']?\s*=", text):
            return number
    return table_line or 1


def _array_table_line(source: str, table: str, index: int, key: str | None) -> int:
    """The line of `key` in the index-th [[table]] (counted from 0), or of that [[table]] header, or 1."""
    seen, header_line = -1, None
    for number, line in enumerate(source.splitlines(), start=1):
        text = line.strip()
        if text.startswith("["):
            inside = re.fullmatch(rf"\[\[\s*{re.escape(table)}\s*\]\]", text) is not None
            seen += inside
            header_line = number if inside and seen == index else header_line
            if seen > index or (seen == index and not inside):
                break
            continue
        if seen == index and key and re.match(rf"[\"']?{re.escape(key)}[\"']?\s*=", text):
            return number
    return header_line or 1


def _dotted(loc: ErrorPlace) -> str:
    return ".".join(str(part) for part in loc)


def _config_message(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return f"is not a known setting{_did_you_mean(err['loc'])}"
    if kind == "literal_error":
        return f"expected {err.get('ctx', {}).get('expected', 'one of the listed values')}, got {err.get('input')!r}"
    message = str(err["msg"])
    return message.removeprefix("Value error, ")
