"""The words and dates the tool shows a reader, in the newsletter's language ([newsletter] language):
the email, the web app's pages, and the confirmation and welcome emails.

English is the source: LABELS below. Other languages are gettext catalogues,
newsletter/i18n/locale/<language>/LC_MESSAGES/newsletter.po, whose msgid is the English text; they are
read as they are (no compile step) with Babel. A region ("pt-BR", "de_AT") falls back to its base
language for the labels; a language without a catalogue gets English. A workspace's [labels] table
in newsletter.toml overrides any label on top, wherever it is shown.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel import Locale

DOMAIN = "newsletter"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

# The one catalogue of every word the tool shows a reader, by key, with its English text (the
# msgid of the .po catalogues). {placeholders} are filled where the text is used. A workspace's
# [labels] table may replace any of them. Keys are unique across the three parts.

# The email and web page (templates/email.mjml.j2, email.txt.j2, story*.mjml.j2, sponsor.mjml.j2).
EMAIL_LABELS: dict[str, str] = {
    "view_in_browser": "View this issue in your browser",
    "issue_number": "Issue {number}",
    "in_this_issue": "In this issue",
    "read_more": "Read more at {source}",
    "min_read": "{minutes} min read",
    "key_facts": "Key facts",
    "sponsor": "Sponsor",
    "unsubscribe": "Unsubscribe",
    "view_online": "View in browser",
    "manage_preferences": "Manage preferences",
    "forwarded": "Forwarded this email?",
    "subscribe": "Subscribe",
    "subscribe_prompt": "Subscribe at {url}",
    # The newsletter's name is quoted wherever it stands inside a sentence: a name may begin with an
    # article ("Le Modèle", "Das Briefing") that no preposition or case of the sentence may touch.
    "why_receiving": "You are receiving this because you subscribed to “{name}”.",
    "web_edition": "You are reading the web edition.",
    "subscribe_by_email": "Get each issue by email",
    "all_issues": "All issues",
    "feed": "Feed",
    "image": "Image",
    "sponsored_by": "Sponsored by {name}",
    "sponsor_cta": "Learn more",
}

# The web app's pages (newsletter/web/templates, pages.py): titles, texts, buttons and errors.
PAGE_LABELS: dict[str, str] = {
    "subscribe_title": "Subscribe",
    "subscribe_intro": "Get each issue of “{name}” by email.",
    "email_field": "Email address",
    "name_field": "Name (optional)",
    "subscribe_button": "Subscribe",
    "honeypot": "Leave this field empty",
    "check_inbox_title": "Check your inbox",
    "check_inbox": "If {email} can be subscribed, a confirmation email is on its way. Open it and confirm to start receiving “{name}”.",
    "bad_address": "That does not look like an email address. Please check it and try again.",
    "confirm_title": "Confirm your subscription",
    "confirm_intro": "Confirm that {email} should receive “{name}”.",
    "confirm_button": "Confirm my subscription",
    "confirmed_title": "You are subscribed",
    "confirmed": "Thank you: {email} will receive the next issue of “{name}”.",
    "stale_title": "This link is out of date",
    "stale": "The subscription of {email} changed after this link was sent, so it no longer confirms anything. Subscribe again to get a new link.",
    "expired_title": "This link has expired",
    "expired": "Confirmation links work for {days} days. We can send a new one to {email}.",
    "resend_button": "Send a new confirmation email",
    "resent_title": "A new link is on its way",
    "resent": "Check the inbox of {email} for a new confirmation email.",
    "unsubscribe_title": "Unsubscribe",
    "unsubscribe_intro": "Stop sending “{name}” to {email}?",
    "unsubscribe_button": "Unsubscribe",
    "unsubscribed_title": "You are unsubscribed",
    "unsubscribed": "{email} will not receive “{name}” any more.",
    "test_copy_title": "This was a test copy",
    "test_copy": "This link came in a test copy of “{name}”, sent to check the issue. It is not a subscription, so there is nothing to unsubscribe.",
    "preferences_link": "Changed your mind? Manage your subscription",
    "preferences_title": "Your subscription",
    "preferences_intro": "{email} is {status}.",
    "status_active": "subscribed",
    "status_pending": "waiting for confirmation",
    "status_unsubscribed": "unsubscribed",
    "status_bounced": "not receiving mail (messages to it bounced)",
    "status_complained": "unsubscribed (it reported a message as spam)",
    "resubscribe_button": "Subscribe again",
    "resubscribe_sent": "A confirmation email is on its way to {email}: confirm it to subscribe again.",
    "not_found_title": "Link not recognised",
    "not_found": "This link is not valid. It may have been copied incompletely; try the link in the email again.",
    "too_many_title": "Too many requests",
    "too_many": "Please wait a little and try again.",
    "too_large_title": "Request too large",
    "too_large": "That request was too large.",
    "error_title": "Something went wrong",
    "error": "Sorry, this did not work. Please try again in a few minutes.",
    "bad_form_title": "Please try again",
    "bad_form": "The form expired or came from another page. Please reload it and submit again.",
    "no_script": "Press the button to continue.",
    "unavailable_title": "Please try again",
    "unavailable": "We could not record that just now. Please try again in a minute.",
    # Topics and tags on the form, the rest of the preferences page, the unsubscribe from one topic.
    "topics_legend": "Choose what you receive",
    "topic_unknown": "“{value}” is not one of the topics offered here.",
    "tag_not_allowed": "The tag “{value}” cannot be set from this form.",
    "choose_a_topic": "Choose at least one topic.",
    "too_many_choices": "That is more topics or tags than this form offers.",
    "bad_choices": "The topics and tags must be given as lists of names.",
    "topics_save_button": "Save my topics",
    "topics_saved": "Your choice of topics is saved.",
    "name_save_button": "Save my name",
    "name_saved": "Your name is saved.",
    "bad_name": "That name cannot be used: it is too long or holds a line break.",
    "leave_all_button": "Unsubscribe from everything",
    "topic_unsubscribe_intro": "Stop sending “{topic}” to {email}? The other newsletters of “{name}” keep coming.",
    "topic_unsubscribe_button": "Unsubscribe from this newsletter",
    "topic_left_title": "You left this newsletter",
    "topic_left": "{email} will not receive “{topic}” any more. To stop everything from “{name}” as well, press the button below.",
    "your_data_title": "Your data",
    "your_data_intro": "Download what is kept about you, or erase it for good.",
    "download_button": "Download my data",
    "erase_button": "Erase my data",
    "erase_title": "Erase your data?",
    "erase_intro": "This removes {email} from “{name}” with everything kept about it, and cannot be undone. No further email is sent to it.",
    "erase_confirm_button": "Yes, erase my data",
    "erased_title": "Your data is erased",
    "erased": "{email} is no longer on the list of “{name}”, and what was kept about it is deleted.",
    # A new address, asked for on the preferences page and confirmed from that address.
    "address_field": "New email address",
    "address_save_button": "Change my address",
    "address_check_inbox": "We sent a link to {email}. Open it there to receive “{name}” at that address.",
    "address_change_title": "Confirm your new address",
    "address_change_intro": "Receive “{name}” at {email} from now on?",
    "address_change_button": "Use this address",
    "address_changed_title": "Your address is changed",
    "address_changed": "“{name}” now comes to {email}.",
    "address_change_stale": "This link is no longer valid: a newer link was sent, or the address was already changed. Ask again from your preferences page.",
    "address_taken": "{email} is already on the list of “{name}”, so the subscription cannot move there.",
}

# The confirmation and welcome emails of a signup (templates/confirm.*, welcome.*, and the
# subjects and preheaders newsletter/sending/notices.py gives them; their button is the
# confirm page's confirm_button), and sunsetting's last-chance email.
NOTICE_LABELS: dict[str, str] = {
    "confirm_subject": "Confirm your subscription to “{name}”",
    "confirm_preheader": "One click and you are on the list.",
    "confirm_request": "Please confirm that you want to receive “{name}” at this address.",
    "confirm_by_button": "One click and you are on the list:",
    "confirm_by_link": "Open this link to confirm:",
    "confirm_expiry": "The link works for {days} days. If you did not ask for this, ignore this email: nothing happens unless you confirm.",
    "welcome_subject": "Welcome to “{name}”",
    "welcome_preheader": "You are on the list.",
    "welcome_text": "You are on the list: the next issue comes to this address.",
    "welcome_leave": "You can unsubscribe at any time with this link:",
    "address_subject": "Confirm your new address for “{name}”",
    "address_preheader": "One click and the newsletter comes here.",
    "address_request": "Please confirm that “{name}” should come to this address from now on.",
    "address_by_button": "One click and it is done:",
    # Sunsetting's last-chance email (templates/sunset.*, `newsletter subscribers sunset`).
    "sunset_subject": "Do you still want “{name}”?",
    "sunset_preheader": "One click keeps it coming.",
    "sunset_text": "You have not clicked a link in your last {issues} issues of “{name}”. We would rather not fill your inbox with mail you no longer read.",
    "sunset_keep_button": "Keep me subscribed",
    "sunset_keep_by_link": "To keep receiving it, open this link:",
    "sunset_leave": "If you do nothing, we will stop sending it in {days} days. You can subscribe again at any time.",
}

LABELS: dict[str, str] = {**EMAIL_LABELS, **PAGE_LABELS, **NOTICE_LABELS}
LABEL_KEYS: tuple[str, ...] = tuple(LABELS)

_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*")


def base_language(language: str) -> str:
    """The part a catalogue is named after, lower-cased: "pt" for "pt-BR", "de" for "de_AT"."""
    return re.split(r"[-_]", language.strip(), maxsplit=1)[0].lower()


def placeholders(text: str) -> set[str]:
    """The {names} in a label ("Issue {number}" -> {"number"}). ValueError for a stray brace."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def check_placeholders(key: str, text: str) -> str:
    """`text` for the label `key` uses only the {placeholders} of its English text (a template
    fills those; any other would fail when the email is rendered). ValueError saying why not."""
    try:
        found = placeholders(text)
    except ValueError:
        raise ValueError(f"has an unmatched {{ or }} (write {{{{ or }}}} for a brace itself), got {text!r}") from None
    allowed = placeholders(LABELS[key])
    unknown = sorted(found - allowed)
    if unknown:
        filled = ", ".join(f"{{{name}}}" for name in sorted(allowed)) or "none"
        raise ValueError(f"uses {', '.join(f'{{{name}}}' for name in unknown)}, which this label does not fill (it fills: {filled}), got {text!r}")
    return text


@lru_cache(maxsize=32)
def catalogue(language: str) -> dict[str, str]:
    """The translations of the English texts for `language`'s base language, read from its .po
    file; empty for English and for a language without a catalogue. Fuzzy and empty entries are
    left out (the English text stays)."""
    base = base_language(language)  # callers pass the base already; a region gives the same result
    path = LOCALE_DIR / base / "LC_MESSAGES" / f"{DOMAIN}.po"
    if base == "en" or not re.fullmatch(r"[a-z]{2,3}", base) or not path.is_file():
        return {}
    from babel.messages.pofile import read_po

    with path.open("rb") as file:
        messages = read_po(file, locale=base, domain=DOMAIN)
    return {
        message.id: message.string
        for message in messages
        if isinstance(message.id, str) and message.id and isinstance(message.string, str) and message.string and not message.fuzzy
    }


@lru_cache(maxsize=32)
def _translated(language: str) -> dict[str, str]:
    translations = catalogue(language)
    return {key: translations.get(english, english) for key, english in LABELS.items()}


def labels(language: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Every label (LABEL_KEYS) in `language`, with the workspace's overrides ([labels] in
    newsletter.toml) on top. A new dict each call: the caller may change it."""
    return {**_translated(base_language(language)), **(overrides or {})}


@lru_cache(maxsize=32)
def _locale(language: str) -> Locale | None:
    """Babel's locale for `language` (its region kept: de_AT says "Jänner"), else its base
    language's, else None (English dates)."""
    if base_language(language) == "en" or not _LANGUAGE.fullmatch(language.strip()):
        return None
    from babel import Locale, UnknownLocaleError

    for identifier in (language.strip().replace("-", "_"), base_language(language)):
        try:
            return Locale.parse(identifier)
        except (ValueError, UnknownLocaleError):
            continue
    return None


def long_date(day: dt.date, language: str) -> str:
    """ "1 December 2026" in English (every en-*), "1. Dezember 2026", "1 décembre 2026"..."""
    locale = _locale(language)
    if locale is None:
        return f"{day.day} {day:%B %Y}"
    from babel.dates import format_date

    return format_date(day, format="long", locale=locale)


def short_date(day: dt.date, language: str) -> str:
    """ "1 Dec 2026" in English (every en-*), "1. Dez. 2026", "1 déc. 2026"... (the locale's own
    order for day, short month and year: its "medium" format is all figures in some languages)."""
    locale = _locale(language)
    if locale is None:
        return f"{day.day} {day:%b %Y}"
    from babel.dates import format_skeleton

    return format_skeleton("yMMMd", day, locale=locale)


def is_known_language(language: str) -> bool:
    """Whether Babel knows `language` ("en", "pt-BR", "de_AT")."""
    from babel import Locale, UnknownLocaleError

    if not _LANGUAGE.fullmatch(language.strip()):
        return False
    try:
        Locale.parse(language.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return False
    return True


# Quotation marks per language: outer opening, outer closing, inner opening, inner closing, as
# CLDR has them. French sets them off with a narrow no-break space (U+202F) inside, so a line
# never breaks between the mark and the word. "pt" alone is Brazilian Portuguese, as in Babel's
# dates and the catalogue's words ("Gerenciar"); Portugal and the other regions use «…».
NARROW_NBSP = "\u202f"
NBSP = "\u00a0"
ENGLISH_QUOTES = ("“", "”", "‘", "’")
QUOTES: dict[str, tuple[str, str, str, str]] = {
    "de": ("„", "“", "‚", "‘"),
    "de-ch": ("«", "»", "‹", "›"),  # Switzerland and Liechtenstein use guillemets, without spaces
    "de-li": ("«", "»", "‹", "›"),
    "fr": (f"«{NARROW_NBSP}", f"{NARROW_NBSP}»", "“", "”"),
    "es": ("«", "»", "“", "”"),
    "pt": ENGLISH_QUOTES,
    "pt-br": ENGLISH_QUOTES,
    "pt-*": ("«", "»", "“", "”"),  # pt-PT, pt-AO, pt-MZ...
}


def _region_key(language: str) -> str:
    """ "pt-br" for "pt_BR", "pt-BR" or " PT-br "."""
    return language.strip().replace("_", "-").lower()


def quote_marks(language: str) -> tuple[str, str, str, str]:
    """The quotation marks of `language`: (open, close, inner open, inner close); English's for a
    language not listed in QUOTES."""
    key, base = _region_key(language), base_language(language)
    region = key.split("-")[1] if "-" in key else ""
    return QUOTES.get(f"{base}-{region}") or (QUOTES.get(f"{base}-*") if region else None) or QUOTES.get(base) or ENGLISH_QUOTES


def quoted(text: str, language: str) -> str:
    """`text` between the outer quotation marks of `language`: “text”, „text“, « text »."""
    opening, closing, _, _ = quote_marks(language)
    return f"{opening}{text}{closing}"


def spaces_before_punctuation(language: str) -> bool:
    """Whether `language` puts a no-break space before : ; ! ? (French, in every region)."""
    return base_language(language) == "fr"
