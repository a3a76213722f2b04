"""Every page of the web app and the confirmation and welcome emails, in each built-in language: no
English word left, the newsletter's name read correctly inside a sentence, and [labels] reaching
them. The pages are driven through Flask's test client, as a reader's browser would."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import lxml.html
import pytest
from flask import Flask

from newsletter.db import Database
from newsletter.i18n.catalogue import LABELS, labels
from newsletter.mail.links import TEST_COPY_ID, Purpose, make_dated_token, make_token, signer
from newsletter.models import Status
from newsletter.workspace.credentials import signing_keys
from tests.helpers.web import link_in, outbox, text_of
from tests.helpers.workspace import add_config

pytestmark = pytest.mark.slow  # every page and email, in each built-in language

# Each language with a newsletter name that begins with its own article (the names a sentence
# must not bend: "à Le Modèle", "von Das Briefing") and a postal address in the reader's words.
NEWSLETTERS = {
    "de": ("Das Briefing", "Das Briefing, Lindenweg 4, 04109 Leipzig"),
    "fr": ("Le Modèle", "Le Modèle, 12 rue des Tanneurs, 69001 Lyon"),
    "es": ("El Boletín", "El Boletín, Calle Mayor 8, 28013 Madrid"),
    "pt": ("O Farol", "O Farol, Rua Augusta 21, 1100-048 Lisboa"),
}
ENGLISH = ("The Ledger", "The Ledger, 9 Mill Lane, Leeds LS1 4AB")
READER = "reader@example.com"
CONFIRM_LINK = r"https://fixture\.example\.org/confirm/\S+"
ADDRESS_LINK = r"https://fixture\.example\.org/address/\S+"
MOVED = "moved@example.com"  # the new address the reader moves to
# A welcome email is the workspace's own (there is no default): this one is made of the catalogue's words.
WELCOME = """<mjml lang="{{ newsletter.language }}"><mj-body><mj-section><mj-column><mj-text>
<h1>{{ labels.welcome_subject.format(name=newsletter.name) }}</h1>
<p>{{ labels.welcome_text }}</p>
<p>{{ labels.welcome_leave }} <a href="{{ unsubscribe_url }}">{{ unsubscribe_url }}</a></p>
<p>{{ newsletter.postal_address }}</p>
</mj-text></mj-column></mj-section></mj-body></mjml>
"""

# Two topics, named in no language (a topic's name and description are the workspace's own words).
TOPICS = '\n[topics.alpha]\nname = "Alpha"\n\n[topics.omega]\nname = "Omega"\ndefault = false\n'

WORD = re.compile(r"[^\W\d_]+")  # a run of letters, in any script
FORMAT_FIELD = re.compile(r"\{\w+\}")
NOT_WORDS = re.compile(r"\S+@\S+|https?://\S+")  # addresses and links: not the catalogue's words


def words(text: str) -> set[str]:
    return {word.casefold() for word in WORD.findall(FORMAT_FIELD.sub(" ", NOT_WORDS.sub(" ", text)))}


def english_words(language: str) -> set[str]:
    """Every word of the English catalogue that `language`'s own catalogue does not use too: a word
    both share ("Name", "Feed", "spam", "Image") tells nothing, any other one is English left over."""
    english = set().union(*(words(text) for text in LABELS.values()))
    return english - set().union(*(words(text) for text in labels(language).values()))


def visible_text(html: str) -> str:
    """What a reader sees or hears of a page or an email: its text (the title included, styles,
    scripts and comments left out) and the words of its alt, title and aria-label attributes."""
    document = lxml.html.document_fromstring(html)
    for element in document.xpath("//style|//script"):
        element.drop_tree()
    return " ".join([document.text_content(), *document.xpath("//@alt|//@title|//@aria-label|//@placeholder")])


def english_left(text: str, language: str, newsletter: tuple[str, str]) -> set[str]:
    """The English words in `text`, the newsletter's own name and address aside."""
    name, address = newsletter
    return words(text.replace(address, " ").replace(name, " ")) & english_words(language)


def unquoted_names(text: str, name: str) -> list[str]:
    """Where the newsletter's name follows a word directly ("subscribed to Das Briefing"), the
    place a preposition or a case of the sentence would bend a name beginning with an article."""
    return re.findall(rf"[^\W\d_]+[ \u00a0]+{re.escape(name)}", text)


@dataclass
class Reader:
    """A reader's browser on the app of one workspace, keeping what each page and email showed."""

    workspace: Path
    app: Flask
    seen: dict[str, str] = field(default_factory=dict)  # what it was -> its visible text

    def __post_init__(self) -> None:
        self.client = self.app.test_client()
        self.key = signing_keys("outbox").current

    def page(self, what: str, method: str, path: str, status: int = 200, **options) -> str:
        answer = self.client.open(path, method=method, **options)
        assert answer.status_code == status, (what, answer.status_code, answer.get_data(as_text=True)[:500])
        html = answer.get_data(as_text=True)
        self.seen[what] = visible_text(html)
        return html

    def email(self, what: str, message: EmailMessage) -> None:
        html = message.get_body(preferencelist=("html",))
        assert html is not None
        self.seen[f"{what} email"] = "\n".join([str(message["Subject"]), text_of(message), visible_text(html.get_content())])
        # A screen reader announces the email by its subject, in the subject's own characters.
        named = lxml.html.document_fromstring(html.get_content()).xpath("//*[@aria-roledescription='email']/@aria-label")
        assert named in ([], [str(message["Subject"])]), (named, str(message["Subject"]))

    def csrf(self, html: str) -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert found, html
        return found.group(1)

    def public_id(self) -> str:
        with Database(self.workspace / "subscribers.db") as db:
            found = db.subscribers.get(READER)
            assert found is not None and found.public_id
            return found.public_id

    def set_status(self, status: Status) -> None:
        with Database(self.workspace / "subscribers.db") as db:
            db.subscribers.set_status([READER], status)


def mails_to(workspace: Path, address: str) -> list[EmailMessage]:
    return [message for message in outbox(workspace) if message["To"] == address]


def localized(workspace: Path, language: str, extra: str = "") -> Path:
    name, address = NEWSLETTERS.get(language, ENGLISH)
    config = workspace / "newsletter.toml"
    source = config.read_text(encoding="utf-8")
    source = source.replace('name = "Fixture Weekly"', f'name = "{name}"\nlanguage = "{language}"', 1)
    source = source.replace('postal_address = "Fixture Weekly, 1 Test Street, Testville 12345"', f'postal_address = "{address}"', 1)
    # The reader's inbox gets four notices here (a confirmation, a resent one, the welcome, one more).
    config.write_text(source + TOPICS + '\n[web]\naddress_rate = "20/hour"\nallowed_tags = ["podcast"]\n' + extra, encoding="utf-8")
    (workspace / "templates" / "welcome.mjml.j2").write_text(WELCOME, encoding="utf-8")
    return workspace


def visit_every_page(reader: Reader) -> None:
    """Each page and notice a reader can meet, in the order a reader meets them."""
    form = reader.page("signup", "GET", "/subscribe")
    token = reader.csrf(form)
    reader.page("bad form", "POST", "/subscribe", 400, data={"email": READER})  # no CSRF token: an old form
    reader.page("bad address", "POST", "/subscribe", 400, data={"csrf_token": token, "email": "not an address"})
    reader.page("check inbox", "POST", "/subscribe", data={"csrf_token": token, "email": READER})
    (confirmation,) = mails_to(reader.workspace, READER)
    reader.email("confirmation", confirmation)
    link = link_in(confirmation, CONFIRM_LINK)
    reader.page("confirm", "GET", link)

    old = make_dated_token(reader.public_id(), Purpose.CONFIRM, reader.key, int(time.time()) - 30 * 86_400)
    reader.page("expired", "POST", f"/confirm/{old}")
    reader.page("resent", "POST", f"/confirm/{old}", data={"resend": "1"})
    assert len(mails_to(reader.workspace, READER)) == 2  # sent before the reader confirms, else it is skipped

    reader.page("confirmed", "POST", link)
    first, again, welcome = mails_to(reader.workspace, READER)
    reader.email("welcome", welcome)

    unsubscribe = make_token(reader.public_id(), Purpose.UNSUBSCRIBE, reader.key)
    reader.page("unsubscribe", "GET", f"/unsubscribe?token={unsubscribe}")
    reader.page("unsubscribed", "POST", f"/unsubscribe?token={unsubscribe}")
    reader.page("stale", "POST", link)
    test_copy = make_token(TEST_COPY_ID, Purpose.UNSUBSCRIBE, reader.key)
    reader.page("test copy", "GET", f"/unsubscribe?token={test_copy}")

    preferences = f"/preferences?token={make_token(reader.public_id(), Purpose.PREFERENCES, reader.key)}"
    for status in (Status.ACTIVE, Status.PENDING, Status.BOUNCED, Status.COMPLAINED, Status.UNSUBSCRIBED):
        reader.set_status(status)
        html = reader.page(f"preferences, {status}", "GET", preferences)
    reader.page("resubscribe sent", "POST", preferences, data={"csrf_token": reader.csrf(html), "action": "resubscribe"})
    visit_audience_pages(reader, token, preferences)

    reader.page("not found", "GET", "/confirm/not-a-token", 404)
    reader.page("error", "DELETE", "/subscribe", 405)
    reader.page("too large", "POST", "/subscribe", 413, data={"email": "x" * 70_000})
    for _ in range(12):  # the inbox's and the client's limits: one of them answers 429 by then
        answer = reader.client.post("/subscribe", data={"csrf_token": token, "email": "busy@example.com"})
        if answer.status_code == 429:
            reader.seen["too many"] = visible_text(answer.get_data(as_text=True))
            break
    assert "too many" in reader.seen


def visit_audience_pages(reader: Reader, form_token: str, preferences: str) -> None:
    """The pages of topics and tags: the signup's refusals, the preferences page's forms and
    answers, an issue's unsubscribe from one topic, a form from a site not allowed, and erasing."""
    someone = {"csrf_token": form_token, "email": "someone@example.com"}
    reader.page("tag refused", "POST", "/subscribe", 400, data={**someone, "tags": "vip"})
    reader.page("topic refused", "POST", "/subscribe", 400, data={**someone, "topics": "gossip"})
    reader.page("no topic", "POST", "/subscribe", 400, data={**someone, "topics_offered": "1"})
    reader.page("too many choices", "POST", "/subscribe", 400, data={**someone, "tags": ["podcast"] * 70})
    reader.page("other site", "POST", "/subscribe", 403, data=someone, headers={"Origin": "https://elsewhere.example.com"})

    reader.set_status(Status.ACTIVE)
    html = reader.page("preferences, topics", "GET", preferences)
    token = reader.csrf(html)
    reader.page("topics saved", "POST", preferences, data={"csrf_token": token, "action": "topics", "topics": ["alpha", "omega"]})
    reader.page("name saved", "POST", preferences, data={"csrf_token": token, "action": "name", "name": "Ada"})
    reader.page("bad name", "POST", preferences, 400, data={"csrf_token": token, "action": "name", "name": "x" * 300})

    with Database(reader.workspace / "subscribers.db") as db, db.transaction():
        db.ledger.record_issue("9", "issues/9.yaml", "Nine", "fingerprint")
        db.connection.db.execute("UPDATE issues SET topic = 'omega' WHERE issue = '9'")
    leave_omega = f"/unsubscribe?token={signer(Purpose.UNSUBSCRIBE, reader.key, '9')(reader.public_id())}"
    reader.page("unsubscribe, topic", "GET", leave_omega)
    reader.page("topic left", "POST", leave_omega, data={"List-Unsubscribe": "One-Click"})

    reader.page("address asked", "POST", preferences, data={"csrf_token": token, "action": "address", "new_email": MOVED})
    (moving,) = mails_to(reader.workspace, MOVED)
    reader.email("address", moving)
    link = link_in(moving, ADDRESS_LINK)
    reader.page("address confirm", "GET", link)
    reader.page("address changed", "POST", link)
    reader.page("address stale", "POST", link)

    erase = {"csrf_token": token, "action": "erase"}
    reader.page("erase, asked", "POST", preferences, data=erase)
    reader.page("erased", "POST", preferences, data={**erase, "confirm": "yes"})  # the last step: the reader is gone


@pytest.mark.parametrize("language", list(NEWSLETTERS))
def test_every_page_and_notice_is_in_the_newsletters_language(workspace: Path, flask_app, language: str) -> None:
    localized(workspace, language)
    reader = Reader(workspace, flask_app(workspace))
    visit_every_page(reader)
    seen = reader.seen
    newsletter = NEWSLETTERS[language]
    left = {what: sorted(english_left(text, language, newsletter)) for what, text in seen.items()}
    assert {what: found for what, found in left.items() if found} == {}
    bent = {what: unquoted_names(text.replace(newsletter[1], " "), newsletter[0]) for what, text in seen.items()}
    assert {what: found for what, found in bent.items() if found} == {}
    # The pages say so too, and show the language's own words.
    words_of = labels(language)
    assert words_of["confirmed_title"] in seen["confirmed"] and words_of[f"status_{Status.BOUNCED}"] in seen[f"preferences, {Status.BOUNCED}"]
    assert words_of["confirm_subject"].format(name=newsletter[0]) in seen["confirmation email"]
    assert words_of["topics_saved"] in seen["topics saved"] and words_of["topic_left_title"] in seen["topic left"]
    assert words_of["tag_not_allowed"].format(value="vip") in seen["tag refused"] and words_of["topics_legend"] in seen["signup"]
    assert words_of["download_button"] in seen["preferences, topics"] and words_of["erased_title"] in seen["erased"]
    assert words_of["address_subject"].format(name=newsletter[0]) in seen["address email"] and words_of["address_changed_title"] in seen["address changed"]
    assert words_of["stale_title"] in seen["stale"]  # the confirmation link, followed after the unsubscribe, changes nothing


def test_the_check_finds_english_where_it_is(workspace: Path, flask_app) -> None:
    """The English pages and emails, checked as each other language's: English words are found on
    every one of them, so the check is not blind (a workspace in another language got these before)."""
    localized(workspace, "en")
    reader = Reader(workspace, flask_app(workspace))
    visit_every_page(reader)
    for language in NEWSLETTERS:
        assert {what for what, text in reader.seen.items() if not english_left(text, language, ENGLISH)} == set(), language
    assert {"name", "optional", "feed", "spam"}.isdisjoint(english_words("de"))  # German words too: not counted


def test_a_labels_entry_reaches_the_pages_and_a_notice_subject(workspace: Path, flask_app) -> None:
    localized(workspace, "de")
    add_config(workspace, '[labels]\nsubscribe_title = "Jetzt anmelden"\nconfirm_subject = "Nur noch ein Klick: {name}"\nnot_found = "Diesen Link kennen wir nicht."\n')
    reader = Reader(workspace, flask_app(workspace))
    html = reader.page("signup", "GET", "/subscribe")
    assert re.search(r"<h1>Jetzt anmelden</h1>", html) and "<title>Jetzt anmelden · Das Briefing</title>" in html
    assert "Diesen Link kennen wir nicht." in reader.page("not found", "GET", "/confirm/not-a-token", 404)
    reader.page("check inbox", "POST", "/subscribe", data={"csrf_token": reader.csrf(html), "email": READER})
    (confirmation,) = mails_to(workspace, READER)
    assert confirmation["Subject"] == "Nur noch ein Klick: Das Briefing"
    assert labels("de")["confirm_request"].format(name="Das Briefing") in text_of(confirmation).replace("\n", " ")  # the rest stays German
