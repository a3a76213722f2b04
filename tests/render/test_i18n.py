"""The email's labels and dates per language (newsletter/i18n/catalogue.py) and the [labels] table of newsletter.toml."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import lxml.html
import pytest
from babel.messages.pofile import read_po

from newsletter.errors import ConfigError
from newsletter.i18n import catalogue as i18n
from newsletter.i18n.catalogue import LABEL_KEYS, LABELS, LOCALE_DIR, labels, long_date, short_date
from newsletter.workspace.config import load_config
from tests.helpers.workspace import add_config

DAY = dt.date(2026, 12, 1)
CATALOGUES = ["de", "fr", "es", "pt"]

# For each language: some labels, the long and the short date of DAY.
EXPECTED = {
    "en": ({"key_facts": "Key facts", "issue_number": "Issue {number}", "unsubscribe": "Unsubscribe"}, "1 December 2026", "1 Dec 2026"),
    "de": ({"key_facts": "Das Wichtigste", "issue_number": "Ausgabe {number}", "unsubscribe": "Abmelden"}, "1. Dezember 2026", "1. Dez. 2026"),
    "fr": ({"key_facts": "Points clés", "issue_number": "Numéro {number}", "unsubscribe": "Se désabonner"}, "1 décembre 2026", "1 déc. 2026"),
    "es": ({"key_facts": "Datos clave", "issue_number": "Número {number}", "unsubscribe": "Cancelar suscripción"}, "1 de diciembre de 2026", "1 dic 2026"),
    "pt": ({"key_facts": "Pontos principais", "issue_number": "Edição {number}", "unsubscribe": "Cancelar inscrição"}, "1 de dezembro de 2026", "1 de dez. de 2026"),
}


@pytest.mark.parametrize("language", list(EXPECTED))
def test_each_language_has_its_labels_and_dates(language: str) -> None:
    words, long, short = EXPECTED[language]
    found = labels(language, {})
    assert set(found) == set(LABEL_KEYS)
    assert {key: found[key] for key in words} == words
    assert long_date(DAY, language) == long
    assert short_date(DAY, language) == short


def test_english_dates_keep_the_day_without_a_leading_zero() -> None:
    # The golden files depend on these exact forms.
    assert long_date(dt.date(2026, 3, 5), "en") == "5 March 2026"
    assert short_date(dt.date(2026, 3, 5), "en") == "5 Mar 2026"
    assert long_date(dt.date(2026, 3, 5), "en-GB") == "5 March 2026"


def test_english_labels_are_the_defaults() -> None:
    assert labels("en", {}) == LABELS
    assert labels("en", {})["sponsored_by"] == "Sponsored by {name}"


@pytest.mark.parametrize(("language", "base"), [("pt-BR", "pt"), ("pt_BR", "pt"), ("de_AT", "de"), ("de-CH", "de"), ("FR-ca", "fr"), ("es-419", "es")])
def test_a_region_falls_back_to_its_base_language(language: str, base: str) -> None:
    assert labels(language, {}) == labels(base, {})
    assert labels(language, {}) != LABELS


def test_a_region_keeps_its_own_date_words() -> None:
    assert long_date(dt.date(2026, 1, 5), "de_AT") == "5. Jänner 2026"
    assert long_date(dt.date(2026, 1, 5), "de") == "5. Januar 2026"
    assert long_date(DAY, "pt-BR") == "1 de dezembro de 2026"


@pytest.mark.parametrize("language", ["it", "ja", "xx", "", "../../etc"])
def test_a_language_without_a_catalogue_gets_english_labels(language: str) -> None:
    assert labels(language, {}) == LABELS


def test_a_language_babel_does_not_know_gets_english_dates() -> None:
    assert long_date(DAY, "xx") == "1 December 2026"
    assert short_date(DAY, "xx") == "1 Dec 2026"


def test_overrides_win_over_the_translation() -> None:
    found = labels("de", {"sponsor": "Partner der Woche", "key_facts": "Kurz gesagt"})
    assert found["sponsor"] == "Partner der Woche"
    assert found["key_facts"] == "Kurz gesagt"
    assert found["unsubscribe"] == "Abmelden"  # the rest stays translated
    assert labels("de", {})["sponsor"] == "Anzeige"  # the cached translation is not changed


def test_the_result_can_be_changed_without_changing_the_next_one() -> None:
    labels("fr", {})["image"] = "changed"
    assert labels("fr", {})["image"] == "Image"


@pytest.mark.parametrize("language", CATALOGUES)
def test_every_catalogue_translates_every_label_with_the_same_placeholders(language: str) -> None:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "newsletter.po"
    with path.open("rb") as file:
        catalogue = read_po(file, locale=language)
    messages = {message.id: message for message in catalogue if message.id}
    assert set(LABELS.values()) <= set(messages), f"{language}: not in the catalogue: {sorted(set(LABELS.values()) - set(messages))}"
    for key, english in LABELS.items():
        message = messages[english]
        assert isinstance(message.string, str) and message.string.strip(), f"{language}: {key} is not translated"
        assert not message.fuzzy, f"{language}: {key} is marked fuzzy"
        assert i18n.placeholders(message.string) == i18n.placeholders(english), f"{language}: {key}: {message.string!r} changes the placeholders of {english!r}"
    assert labels(language, {}) == {key: messages[english].string for key, english in LABELS.items()}


def line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


def test_the_labels_table_overrides_labels(workspace: Path) -> None:
    config = load_config(add_config(workspace, '[labels]\nsponsor = "Partner"\nissue_number = "Nr. {number}"\n', language="de-AT"))
    assert config.labels == {"sponsor": "Partner", "issue_number": "Nr. {number}"}
    found = labels(config.newsletter.language, config.labels)
    assert (found["sponsor"], found["issue_number"], found["image"]) == ("Partner", "Nr. {number}", "Bild")


def test_no_labels_table_is_no_overrides(workspace: Path) -> None:
    assert load_config(workspace / "newsletter.toml").labels == {}


def test_an_unknown_label_is_an_error_naming_it_and_the_labels(workspace: Path) -> None:
    path = add_config(workspace, '[labels]\nsponser = "Partner"\nfrobnicate = "x"\n', language="en")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert f"newsletter.toml:{line_of(path, 'sponser')}: labels.sponser: is not a known label (did you mean `sponsor`?); the labels are: view_in_browser, issue_number," in message
    assert f"newsletter.toml:{line_of(path, 'frobnicate')}: labels.frobnicate: is not a known label; the labels are: " + ", ".join(LABEL_KEYS) in message


def test_a_label_with_a_placeholder_it_does_not_fill_is_an_error(workspace: Path) -> None:
    path = add_config(workspace, '[labels]\nissue_number = "Nr. {num}"\n', language="en")
    with pytest.raises(ConfigError, match=re.escape("labels: issue_number: uses {num}, which this label does not fill (it fills: {number})")):
        load_config(path)


def test_a_label_with_an_unmatched_brace_is_an_error(workspace: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("labels: read_more: has an unmatched { or }")):
        load_config(add_config(workspace, '[labels]\nread_more = "More at {source"\n', language="en"))


@pytest.mark.parametrize("language", ["en", "de", "fr", "es", "pt", "pt-BR", "de_AT", "it"])
def test_a_language_babel_knows_is_accepted(workspace: Path, language: str) -> None:
    assert load_config(add_config(workspace, "", language=language)).newsletter.language == language


@pytest.mark.parametrize("language", ["klingon", "xx", "de-XX", "en US"])
def test_a_language_babel_does_not_know_is_an_error_naming_the_field(workspace: Path, language: str) -> None:
    path = add_config(workspace, "", language=language)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"newsletter.toml:{line_of(path, 'language =')}: newsletter.language: expected a language code such as" in str(caught.value)
    assert f"got {language!r} (not a language Babel knows)" in str(caught.value)


# --- one catalogue: the email, the web pages, the confirmation and welcome emails -----------------


def test_the_catalogue_holds_the_email_the_pages_and_the_notices_under_distinct_keys() -> None:
    parts = [i18n.EMAIL_LABELS, i18n.PAGE_LABELS, i18n.NOTICE_LABELS]
    assert sum(len(part) for part in parts) == len(LABELS)  # no key in two parts
    assert {"why_receiving", "subscribe_title", "not_found", "status_bounced", "confirm_subject", "welcome_subject"} <= set(LABEL_KEYS)


@pytest.mark.parametrize("language", CATALOGUES)
def test_no_catalogue_keeps_a_text_the_tool_no_longer_shows(language: str) -> None:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "newsletter.po").open("rb") as file:
        ids = {message.id for message in read_po(file, locale=language) if message.id}
    assert ids - set(LABELS.values()) == set()


# The newsletter's name inside a sentence, in each language's quotation marks (a name may begin
# with an article that a preposition or a case would otherwise have to bend: "à Le Modèle").
QUOTED_NAME = {"en": "“{name}”", "de": "„{name}“", "fr": "«\u202f{name}\u202f»", "es": "«{name}»", "pt": "“{name}”"}


@pytest.mark.parametrize("language", list(QUOTED_NAME))
def test_the_newsletters_name_is_quoted_wherever_a_sentence_holds_it(language: str) -> None:
    found = labels(language, {})
    # sponsored_by names the sponsor, not the newsletter
    holding = {key: found[key] for key, english in LABELS.items() if "{name}" in english and key != "sponsored_by"}
    assert {"why_receiving", "subscribe_intro", "confirm_intro", "unsubscribe_intro", "confirm_subject", "welcome_subject"} <= set(holding)
    assert {key: text for key, text in holding.items() if QUOTED_NAME[language] not in text} == {}


@pytest.mark.parametrize(
    ("language", "name", "sentence"),
    [
        ("fr", "Le Modèle", "Vous recevez cet e-mail car votre adresse est inscrite à la lettre d’information «\u202fLe Modèle\u202f»."),
        ("de", "Das Briefing", "Sie erhalten diese E-Mail, weil Sie den Newsletter „Das Briefing“ abonniert haben."),
        ("es", "El Boletín", "Recibes este correo porque te suscribiste al boletín «El Boletín»."),
        ("pt", "O Farol", "Você recebe este e-mail porque se inscreveu na newsletter “O Farol”."),
        ("en", "The Ledger", "You are receiving this because you subscribed to “The Ledger”."),
    ],
)
def test_the_footer_sentence_reads_correctly_with_a_name_that_begins_with_an_article(workspace: Path, issue_path: Path, language: str, name: str, sentence: str) -> None:
    from newsletter.issue.loading import load_issue
    from newsletter.render.pipeline import Renderer
    from newsletter.workspace.config import load_workspace

    path = add_config(workspace, "", language=language)
    path.write_text(path.read_text(encoding="utf-8").replace('name = "Fixture Weekly"', f'name = "{name}"', 1), encoding="utf-8")
    email = Renderer(load_workspace(workspace)).render(load_issue(issue_path))
    for shown in (email.text, lxml.html.document_fromstring(email.html).text_content()):
        flowing = re.sub(r"[ \n]+", " ", shown)  # the text part wraps lines; a no-break space stays
        assert sentence in flowing
        assert not re.search(rf"\b(?:à|de|von|zu|bei|a|em|to|of) {re.escape(name)}", flowing)


def test_a_labels_entry_may_replace_the_words_of_the_pages_and_notices(workspace: Path) -> None:
    config = load_config(add_config(workspace, '[labels]\nsubscribe_title = "Join"\nconfirm_subject = "One more click for {name}"\n', language="en"))
    found = labels(config.newsletter.language, config.labels)
    assert (found["subscribe_title"], found["confirm_subject"]) == ("Join", "One more click for {name}")


def test_a_mistyped_page_label_is_an_error_naming_the_right_one(workspace: Path) -> None:
    path = add_config(workspace, '[labels]\nsubscribe_titel = "Join"\n', language="en")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"newsletter.toml:{line_of(path, 'subscribe_titel')}: labels.subscribe_titel: is not a known label (did you mean `subscribe_title`?)" in str(caught.value)


def test_a_page_label_with_a_placeholder_the_page_does_not_fill_is_an_error(workspace: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("labels: confirm_intro: uses {days}, which this label does not fill (it fills: {email}, {name})")):
        load_config(add_config(workspace, '[labels]\nconfirm_intro = "{email} gets {name} for {days} days"\n', language="en"))
