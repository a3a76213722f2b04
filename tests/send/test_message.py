"""The fast message template: what it renders must be what the `email` package reads back as the
intended message (headers, both parts, each recipient's values), within the line limits of
RFC 5322 and quoted-printable, with no way for a name to add a header."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
from email.header import decode_header, make_header
from pathlib import Path

import pytest

from newsletter.errors import ConfigError
from newsletter.issue.prepare import prepare_issue
from newsletter.mail.message import AddressError, MessageTemplate, list_id, slug
from newsletter.models import Email, Letter
from newsletter.models.placeholders import personalize
from newsletter.workspace.config import Config, load_workspace

UNSUBSCRIBE = "https://fixture.example.org/unsubscribe?token=tok-123&list=weekly"
LONG_UNSUBSCRIBE = "https://fixture.example.org/unsubscribe?token="
LONG_UNSUBSCRIBE += "t" * (300 - len(LONG_UNSUBSCRIBE))

LETTERS = {
    "quotes-commas-brackets": Letter("ada@example.com", 'Okafor, "Ada" <b>', UNSUBSCRIBE),
    "accented": Letter("zoe@example.com", "Zoë Ångström", UNSUBSCRIBE),
    "cjk": Letter("hanako@example.jp", "花子", UNSUBSCRIBE),
    "no-name": Letter("someone@example.com", None, UNSUBSCRIBE),
    "300-char-url": Letter("long@example.com", "Long Url", LONG_UNSUBSCRIBE),
}

# Placeholders at the very start and end, next to spaces, `=` signs, tabs, non-ASCII text and
# inside 2,000-character lines without a space.
HAND_MADE = Email(
    subject="Für %%name%%: the = sign, ünïcode and 花",
    preheader="p",
    text=(
        "%%name%%\n"
        "Hello %%name%%, 1 + 1 = 2; a=b; =%%name%%= ; tab\there; é, 花子, おはよう.\n"
        "Before a line end: %%name%% \n"
        + "x" * 2000
        + "%%name%%"
        + "y" * 2000
        + "\n"
        + "=" * 2000
        + "\nUnsubscribe: %%unsubscribe_url%%"
    ),
    html=(
        '%%name%%<p style="margin:0">Hi %%name%% — ünïcode 花 = sign</p>\n<p>'
        + "w" * 2000
        + '%%name%%</p><a href="%%unsubscribe_url%%">Unsubscribe</a>'
        + "v" * 2000
        + "%%unsubscribe_url%%"
    ),
    web_html="",
)


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def as_sent(body: str, values: dict[str, str]) -> str:
    """A body with the recipient's values filled in, as a MIME part carries it (ending in a line break)."""
    return personalize(body if body.endswith("\n") else body + "\n", values)


@pytest.fixture
def config(workspace: Path):
    return load_workspace(workspace).config


@pytest.fixture(params=["issue", "hand-made"])
def rendered_email(request, issue_path: Path) -> Email:
    if request.param == "issue":
        return prepare_issue(issue_path).email
    return HAND_MADE


@pytest.mark.parametrize("letter", LETTERS.values(), ids=LETTERS.keys())
def test_the_email_package_reads_back_the_intended_message(rendered_email: Email, config, letter: Letter) -> None:
    message = parse(MessageTemplate(rendered_email, config).render(letter))

    assert message.defects == []
    assert message["Subject"] == personalize(rendered_email.subject, letter.values)
    (sender,) = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Fixture Editor", "editor@fixture.example.org")
    (to,) = message["To"].addresses
    assert (to.display_name, to.addr_spec) == (letter.name or "", letter.email)
    assert message["Reply-To"].addresses[0].addr_spec == "replies@fixture.example.org"
    assert message["List-Id"] == "Fixture Weekly <fixture-weekly.fixture.example.org>"
    assert message["List-Unsubscribe"] == f"<{letter.unsubscribe_url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert abs(message["Date"].datetime - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert re.fullmatch(r"<[^<>@\s]+@fixture\.example\.org>", message["Message-ID"])

    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert [part.get_content_type() for part in (text, html)] == ["text/plain", "text/html"]
    assert [part.get_content_charset() for part in (text, html)] == ["utf-8", "utf-8"]
    assert text.defects == [] and html.defects == []
    assert text.get_content() == as_sent(rendered_email.text, letter.values)
    assert html.get_content() == as_sent(rendered_email.html, letter.html_values)


def test_each_copy_has_its_own_message_id(config) -> None:
    template = MessageTemplate(HAND_MADE, config)
    letter = LETTERS["accented"]
    ids = {parse(template.render(letter))["Message-ID"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize("letter", LETTERS.values(), ids=LETTERS.keys())
def test_lines_stay_within_the_limits(config, letter: Letter) -> None:
    raw = MessageTemplate(HAND_MADE, config).render(letter)
    assert max(len(line) for line in raw.split(b"\n")) <= 998  # RFC 5322's hard limit
    _, body = raw.split(b"\n\n", 1)
    assert body.isascii()  # quoted-printable: 7-bit lines only
    too_long = [line for line in body.split(b"\n") if len(line) > 76]  # quoted-printable's limit
    assert too_long == []


@pytest.mark.parametrize("letter", LETTERS.values(), ids=LETTERS.keys())
def test_lines_of_a_real_issue_stay_within_the_limits(issue_path: Path, letter: Letter) -> None:
    prepared = prepare_issue(issue_path)
    raw = MessageTemplate(prepared.email, prepared.workspace.config).render(letter)
    assert max(len(line) for line in raw.split(b"\n")) <= 998
    _, body = raw.split(b"\n\n", 1)
    assert body.isascii()
    assert [line for line in body.split(b"\n") if len(line) > 76] == []


def test_the_subject_is_filled_per_recipient_and_encoded_when_not_ascii(config) -> None:
    template = MessageTemplate(Email(subject="News for %%name%%", preheader="p", html="h", text="t", web_html=""), config)
    assert parse(template.render(LETTERS["quotes-commas-brackets"]))["Subject"] == 'News for Okafor, "Ada" <b>'
    assert parse(template.render(LETTERS["no-name"]))["Subject"] == "News for "

    raw = template.render(LETTERS["cjk"], utf8=False)
    subject_lines = raw.split(b"\nFrom:", 1)[0]
    assert subject_lines.isascii() and b"=?utf-8?" in subject_lines  # RFC 2047
    assert parse(raw)["Subject"] == "News for 花子"

    long_subject = "Ünïcode " * 30 + "%%name%%"
    raw = MessageTemplate(Email(subject=long_subject, preheader="p", html="h", text="t", web_html=""), config).render(LETTERS["accented"])
    subject_lines = raw.split(b"\nFrom:", 1)[0]
    assert subject_lines.isascii() and all(len(line) <= 78 for line in subject_lines.split(b"\n"))
    assert parse(raw)["Subject"] == personalize(long_subject, LETTERS["accented"].values)


def test_a_non_ascii_local_part_needs_the_utf8_path(config) -> None:
    template = MessageTemplate(HAND_MADE, config)
    letter = Letter("用户@例え.jp", "Zoë \"Z\"", UNSUBSCRIBE)
    with pytest.raises(AddressError, match="SMTPUTF8"):
        template.render(letter, utf8=False)

    raw = template.render(letter, utf8=True)
    assert "To: \"Zoë \\\"Z\\\"\" <用户@例え.jp>\n".encode() in raw  # RFC 6532: UTF-8 as it is
    # The stdlib's bytes parser leaves UTF-8 header bytes undecoded, so read it as text.
    message = email.message_from_string(raw.decode("utf-8"), policy=email.policy.default)
    (to,) = message["To"].addresses
    assert (to.display_name, to.addr_spec) == ('Zoë "Z"', "用户@例え.jp")
    assert message.get_body(("plain",)).get_content() == as_sent(HAND_MADE.text, letter.values)


def test_an_idn_domain_goes_out_idna_encoded_without_utf8(config) -> None:
    template = MessageTemplate(HAND_MADE, config)
    raw = template.render(Letter("hana@例え.jp", "Hana", UNSUBSCRIBE), utf8=False)
    headers, _ = raw.split(b"\n\n", 1)
    assert headers.isascii()
    (to,) = parse(raw)["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Hana", "hana@xn--r8jz45g.jp")


@pytest.mark.parametrize("name", ["Evil\nBcc: victim@example.com", "Evil\r\nBcc: victim@example.com", "Evil\rBcc: x@example.com"])
@pytest.mark.parametrize("utf8", [False, True])
def test_a_name_with_a_line_break_cannot_add_a_header(config, name: str, utf8: bool) -> None:
    template = MessageTemplate(HAND_MADE, config)
    for address in ("victim-to-be@example.com", "用户@例え.jp") if utf8 else ("victim-to-be@example.com",):
        with pytest.raises(AddressError, match="line break"):
            template.render(Letter(address, name, UNSUBSCRIBE), utf8=utf8)


# --- List-Id, List-Unsubscribe and folding --------------------------------------------------------


def configured(workspace: Path, **newsletter: str) -> Config:
    """The fixture's settings with keys of [newsletter] replaced or added."""
    path = workspace / "newsletter.toml"
    text = path.read_text()
    for key, value in newsletter.items():
        text = re.sub(rf"^{key} = .*\n", "", text, count=1, flags=re.M).replace("[newsletter]\n", f"[newsletter]\n{key} = {json.dumps(value, ensure_ascii=False)}\n", 1)
    path.write_text(text, encoding="utf-8")
    return load_workspace(workspace).config


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Le modèle de la semaine", "le-modele-de-la-semaine"),
        ("Straße & Søn: Ärger im Œuvre", "strasse-son-arger-im-oeuvre"),
        ("Ñandú — ¿qué?", "nandu-que"),
        ("花子", "newsletter"),  # nothing to transliterate: the generic name
    ],
)
def test_the_list_id_slug_keeps_the_letters_of_accented_words(workspace: Path, name: str, slug: str) -> None:
    config = configured(workspace, name=name)
    assert list_id(config).endswith(f"<{slug}.fixture.example.org>")
    message = parse(MessageTemplate(HAND_MADE, config).render(LETTERS["accented"]))
    assert message["List-Id"] == f"{name} <{slug}.fixture.example.org>"


LONG_NAMES = {
    "ascii": "The Extraordinarily Long-Named Fixture Weekly Newsletter of Tests and Other Things",
    "accented": "Le modèle de la semaine, la lettre très longue des essais et des autres choses",
    "cjk": "花子の週刊ニュースレター、とても長い名前のテスト用のものです",
}


def decoded(message: email.message.EmailMessage, name: str) -> str:
    """A header's value as RFC 2047 reads it: unfolded, the space between two encoded words
    ignored. (Python's address parser keeps that space, a long-standing bug of its own.)"""
    raw = next(value for key, value in message.raw_items() if key == name)
    return str(make_header(decode_header(str(raw).replace("\n", ""))))


def unfolded_lines(head: str) -> list[str]:
    """The header lines over 78 characters that a fold could have shortened: all but a line of a
    single word, alone after its fold or after the header's name (a fold right after the name would
    put a space at the start of the value)."""
    found = []
    for line in head.split("\n"):
        words = line.strip().split(" ")
        named = line[:1] != " " and words[0].endswith(":")
        if len(line) > 78 and len(words) > 1 + named:
            found.append(line)
    return found


@pytest.mark.parametrize("kind", list(LONG_NAMES))
def test_header_lines_are_folded_at_78_characters(workspace: Path, kind: str) -> None:
    long_name = LONG_NAMES[kind]
    config = configured(workspace, name=long_name, unsubscribe_mailto="unsubscribe@fixture.example.org")
    config = config.model_copy(update={"sender": config.sender.model_copy(update={"name": long_name})})
    letter = Letter("reader@example.com", long_name, UNSUBSCRIBE)
    raw = MessageTemplate(HAND_MADE, config, subject_prefix="[TEST] ").render(letter)
    head = raw.split(b"\n\n", 1)[0].decode("ascii")
    assert unfolded_lines(head) == []
    message = parse(raw)
    assert message.defects == []
    assert decoded(message, "From") == f"{long_name} <editor@fixture.example.org>"
    assert decoded(message, "To") == f"{long_name} <reader@example.com>"
    if kind != "cjk":  # words between the encoded ones keep every space, even for Python's parser
        assert message["To"].addresses[0].display_name == long_name
    assert decoded(message, "List-Id") == f"{long_name} <{slug(long_name)}.fixture.example.org>"
    assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>, <mailto:unsubscribe@fixture.example.org?subject=unsubscribe>"


def test_a_url_longer_than_a_line_stays_whole(workspace: Path) -> None:
    config = configured(workspace, unsubscribe_mailto="unsubscribe@fixture.example.org")
    raw = MessageTemplate(HAND_MADE, config).render(LETTERS["300-char-url"])
    head = raw.split(b"\n\n", 1)[0].decode("ascii").split("\n")
    assert f"List-Unsubscribe: <{LONG_UNSUBSCRIBE}>," in head  # the only line over 78: a URL cannot be folded
    assert [line for line in head if len(line) > 78] == [f"List-Unsubscribe: <{LONG_UNSUBSCRIBE}>,"]
    assert parse(raw)["List-Unsubscribe"] == f"<{LONG_UNSUBSCRIBE}>, <mailto:unsubscribe@fixture.example.org?subject=unsubscribe>"


def test_the_mailto_unsubscribe_comes_second_and_only_when_set(workspace: Path) -> None:
    assert parse(MessageTemplate(HAND_MADE, load_workspace(workspace).config).render(LETTERS["no-name"]))["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    config = configured(workspace, unsubscribe_mailto="Leave@Fixture.Example.org")
    header = parse(MessageTemplate(HAND_MADE, config).render(LETTERS["no-name"]))["List-Unsubscribe"]
    assert header == f"<{UNSUBSCRIBE}>, <mailto:leave@fixture.example.org?subject=unsubscribe>"  # https first: one-click (RFC 8058)


def test_an_unsubscribe_mailto_that_is_no_address_is_a_settings_error(workspace: Path) -> None:
    with pytest.raises(ConfigError, match=r"newsletter.toml:\d+: newsletter.unsubscribe_mailto: expected an email address"):
        configured(workspace, unsubscribe_mailto="not an address")
