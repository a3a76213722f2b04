"""Bounces of SMTP mail: the VERP token (mail/verp.py), the delivery reports of the common mail
servers (tests/fixtures/bounces/, read by bounces/dsn.py), and `newsletter bounces fetch` on a
Maildir: each report marks the reader its token names, unreadable ones are left and counted, applied
ones move to .processed, and a second run (or a crash between applying and moving) changes nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest

from newsletter.bounces import dsn
from newsletter.db import Database
from newsletter.mail.links import new_public_id
from newsletter.mail.verp import MAX_LOCAL_PART, make_token, read_token, return_paths, tokens_in
from newsletter.models import Recipient, Status
from newsletter.sending import letters_for
from newsletter.workspace.config import load_config
from newsletter.workspace.credentials import SigningKeys
from tests.helpers.cli import run
from tests.helpers.workspace import FIXTURES, SECRET, add_config, add_subscribers

BOUNCE_ADDRESS = "bounces@news.example.com"
KEY = SECRET.encode()
KEYS = SigningKeys(KEY)
REPORTS = FIXTURES / "bounces"


def filled(name: str, verp: str, recipient: str) -> bytes:
    """A fixture report for the message sent to `recipient` with the return path `verp`."""
    text = (REPORTS / name).read_text(encoding="utf-8")
    return text.replace("{{VERP}}", verp).replace("{{RECIPIENT}}", recipient).encode()


# --- the token ---------------------------------------------------------------------------------------


def test_a_return_path_names_the_issue_and_reader_and_survives_lower_casing() -> None:
    public_id = "Ab-_9zXyQrStUvWx"  # as links.new_public_id makes them: mixed case, - and _
    path = return_paths(BOUNCE_ADDRESS, "7", KEY)(public_id)
    local, _, domain = path.partition("@")
    assert domain == "news.example.com" and local.startswith("bounces+7.") and len(local) <= MAX_LOCAL_PART
    assert path == path.lower()  # nothing for a server's case-folding to break
    (token,) = tokens_in(f"Delivered-To: {path.upper()}", BOUNCE_ADDRESS)
    assert read_token(token, KEYS) == ("7", public_id)


def test_the_older_hex_public_ids_fit_too() -> None:
    public_id = "0123456789abcdef01234567"  # schema 2's migration made 24 hex characters
    path = return_paths(BOUNCE_ADDRESS, "1234", KEY)(public_id)
    assert len(path.partition("@")[0]) <= MAX_LOCAL_PART
    assert read_token(tokens_in(path, BOUNCE_ADDRESS)[0], KEYS) == ("1234", public_id)


def test_a_token_changed_anywhere_or_signed_with_another_key_is_refused() -> None:
    public_id = new_public_id()
    token = make_token("7", public_id, KEY)
    assert token is not None
    issue, reader, signature = token.split(".")
    assert read_token(f"8.{reader}.{signature}", KEYS) is None  # another issue
    other = make_token("7", new_public_id(), KEY)
    assert other is not None
    assert read_token(f"{issue}.{other.split('.')[1]}.{signature}", KEYS) is None  # another reader
    assert read_token(f"{issue}.{reader}.{'a' * len(signature)}", KEYS) is None
    assert read_token(token, SigningKeys(b"another secret of the same kind, 1234567890")) is None


def test_a_token_signed_with_the_previous_secret_still_reads_while_it_is_accepted() -> None:
    public_id = new_public_id()
    old = make_token("7", public_id, b"the previous secret, being rotated out now")
    assert old is not None
    rotating = SigningKeys(KEY, b"the previous secret, being rotated out now", dt.date(2026, 12, 31), today=lambda: dt.date(2026, 12, 1))
    assert read_token(old, rotating) == ("7", public_id)


def test_through_smtp_each_letter_gets_its_own_return_path_and_other_providers_none(workspace: Path) -> None:
    add_config(workspace, f'[smtp]\nbounce_address = "{BOUNCE_ADDRESS}"\n')
    config = load_config(workspace / "newsletter.toml")
    readers = [Recipient("a@example.com", None, new_public_id()), Recipient("b@example.com", None, new_public_id())]
    smtp = letters_for(readers, config, KEY, "7", "smtp")
    assert [read_token(tokens_in(letter.return_path, BOUNCE_ADDRESS)[0], KEYS) for letter in smtp] == [("7", r.public_id) for r in readers]
    assert all("example.com" not in letter.return_path.partition("@")[0] for letter in smtp)  # the address is not in it
    assert [letter.return_path for letter in letters_for(readers, config, KEY, "7", "sendgrid")] == ["", ""]


def with_bounce_address(workspace: Path, address: str = BOUNCE_ADDRESS) -> None:
    """Give the [smtp] table the smtp_server fixture wrote a bounce_address."""
    settings = workspace / "newsletter.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("[smtp]\n", f'[smtp]\nbounce_address = "{address}"\n'), encoding="utf-8")


@pytest.mark.slow
def test_a_bounce_address_too_long_for_the_token_is_refused_before_sending(smtp_server, in_workspace: Path, issue_path: Path) -> None:
    with_bounce_address(in_workspace, "newsletter-bounces-of-fixture@news.example.com")
    add_subscribers(in_workspace, 1)
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert "at most 17" in result.output and "+<token>" in result.output
    assert smtp_server.messages == []


@pytest.mark.slow
def test_smtp_sends_each_letter_from_its_return_path_and_keeps_the_from_header(smtp_server, in_workspace: Path, issue_path: Path) -> None:
    import email

    with_bounce_address(in_workspace)
    emails = add_subscribers(in_workspace, 3)
    run("send", str(issue_path), ok=True)
    with Database(in_workspace / "subscribers.db") as db:
        ids = {address: db.subscribers.get(address).public_id for address in emails}  # type: ignore[union-attr]
    for (tos, data), sender in zip(smtp_server.messages, smtp_server.senders, strict=True):
        assert read_token(tokens_in(sender, BOUNCE_ADDRESS)[0], KEYS) == ("7", ids[tos[0]])
        assert email.message_from_bytes(data)["From"] == "Fixture Editor <editor@fixture.example.org>"


# --- the reports ---------------------------------------------------------------------------------------

KINDS = {
    "postfix-hard.eml": ("hard", "5.1.1", "Recipient address rejected"),
    "postfix-delayed.eml": ("delayed", "4.4.1", "Connection timed out"),
    "exim-hard.eml": ("hard", "5.1.1", "550 5.1.1"),
    "exim-soft.eml": ("soft", "4.2.2", "over its quota"),
    "exchange-hard.eml": ("hard", "5.1.10", "RecipientNotFound"),
    "outlook-prose-hard.eml": ("hard", "5.1.1", "#5.1.1"),
    "gmail-hard.eml": ("hard", "5.1.1", "does not exist"),
    "gmail-blocked-soft.eml": ("soft", "5.7.1", "blocked"),  # a block is about the message, not the address
    "qmail-hard.eml": ("hard", "5.1.1", "no mailbox here"),
    "words-only-hard.eml": ("hard", None, "does not exist"),
}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_servers_report_reads_as_the_right_kind_with_its_words(name: str) -> None:
    public_id = new_public_id()
    verp = return_paths(BOUNCE_ADDRESS, "7", KEY)(public_id)
    report = dsn.parse(filled(name, verp, "reader@example.com"))
    kind, status, words = KINDS[name]
    (notice,) = report.notices
    assert (notice.kind, notice.status) == (kind, status)
    assert words in notice.reason
    tokens = [token for text in report.texts for token in tokens_in(text, BOUNCE_ADDRESS)]
    assert read_token(tokens[0], KEYS) == ("7", public_id)


def test_a_message_that_is_no_report_is_unreadable() -> None:
    with pytest.raises(dsn.Unreadable):
        dsn.parse(filled("garbage.eml", "bounces+x@news.example.com", "reader@example.com"))
    with pytest.raises(dsn.Unreadable):
        dsn.parse(b"\x00\x01\x02 not mail at all")


# --- `newsletter bounces fetch` on a Maildir --------------------------------------------------------------

FORMATS = sorted(KINDS)  # one reader each: reader00000 gets the first format, and so on


def maildir(root: Path) -> Path:
    for part in ("new", "cur", "tmp"):
        (root / part).mkdir(parents=True)
    return root


def deliver(folder: Path, name: str, data: bytes) -> None:
    (folder / "new" / name).write_bytes(data)


@pytest.fixture
def bounce_box(in_workspace: Path) -> tuple[Path, list[str], dict[str, str]]:
    """A workspace whose [bounces] maildir holds one report of each format (one reader each), a
    forged one, a reply, and a file that is no mail: (the Maildir, the readers, their public ids)."""
    add_config(in_workspace, f'[smtp]\nbounce_address = "{BOUNCE_ADDRESS}"\n\n[bounces]\nmaildir = "bounces"\n')
    emails = add_subscribers(in_workspace, len(FORMATS) + 1)
    with Database(in_workspace / "subscribers.db") as db:
        ids = {address: db.subscribers.get(address).public_id for address in emails}  # type: ignore[union-attr]
    folder = maildir(in_workspace / "bounces")
    for n, name in enumerate(FORMATS):
        reader = emails[n]
        deliver(folder, f"1764579{n:03d}.M1P1.mx", filled(name, return_paths(BOUNCE_ADDRESS, "7", KEY)(ids[reader]), reader))
    last = emails[-1]
    deliver(folder, "1764580001.M1P1.mx", filled("forged.eml", "", last))
    deliver(folder, "1764580002.M1P1.mx", filled("garbage.eml", return_paths(BOUNCE_ADDRESS, "7", KEY)(ids[last]), last))
    deliver(folder, "1764580003.M1P1.mx", b"\x00\xff binary, no headers")
    return folder, emails, ids


def fetch(*options: str):  # type: ignore[no-untyped-def]
    return run("bounces", "fetch", *options, env={"NEWSLETTER_SECRET": SECRET})


def states(workspace: Path, emails: list[str]) -> dict[str, tuple[Status, int]]:
    with Database(workspace / "subscribers.db") as db:
        rows = db.connection.db.execute("SELECT email, status, soft_bounces FROM subscribers").fetchall()
    return {email: (Status(status), soft) for email, status, soft in rows if email in emails}


def test_fetch_marks_each_reader_as_their_report_says_and_leaves_the_unreadable(bounce_box, in_workspace: Path) -> None:
    folder, emails, _ = bounce_box
    result = fetch("--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    hard = sum(kind == "hard" for kind, _, _ in KINDS.values())
    assert (summary["read"], summary["hard"], summary["soft"], summary["delayed"], summary["unreadable"]) == (len(FORMATS) + 3, hard, 2, 1, 3)
    assert any("forged" in problem for problem in summary["problems"])

    expected = {emails[n]: (Status.BOUNCED, 0) if KINDS[name][0] == "hard" else (Status.ACTIVE, int(KINDS[name][0] == "soft")) for n, name in enumerate(FORMATS)}
    expected[emails[-1]] = (Status.ACTIVE, 0)  # the forged report and the reply named them: nothing happened
    assert states(in_workspace, emails) == expected

    left = sorted(os.listdir(folder / "new"))
    assert left == ["1764580001.M1P1.mx", "1764580002.M1P1.mx", "1764580003.M1P1.mx"]  # never deleted
    assert len(os.listdir(folder / ".processed" / "cur")) == len(FORMATS) and (folder / ".processed" / "maildirfolder").exists()


def test_a_hard_bounce_shows_the_servers_code_and_words_in_the_readers_history(bounce_box, in_workspace: Path) -> None:
    _, emails, _ = bounce_box
    fetch()
    reader = emails[FORMATS.index("postfix-hard.eml")]
    shown = run("subscribers", "show", reader, ok=True).output
    assert "bounced" in shown and "smtp bounce" in shown
    assert "5.1.1 550 5.1.1" in shown and "User unknown in virtual mailbox table" in shown


def test_a_second_run_and_a_report_seen_again_change_nothing(bounce_box, in_workspace: Path) -> None:
    folder, emails, _ = bounce_box
    fetch()
    before = states(in_workspace, emails)
    again = fetch()
    assert "Read 3 message(s): applied 0 hard bounce(s), 0 soft, 0 delayed; 0 already applied before" in again.output
    # A crash after applying and before moving: the report is read again, and applied once only.
    soft = sorted((folder / ".processed" / "cur").iterdir())[FORMATS.index("exim-soft.eml")]
    shutil.copy(soft, folder / "new" / "1764579999.M9P9.mx")
    after = fetch("--json")
    assert json.loads(after.output)["already_seen"] == 1
    assert states(in_workspace, emails) == before  # the soft bounce was counted once
    with Database(in_workspace / "subscribers.db") as db:
        assert db.connection.db.execute("SELECT count(*) FROM events WHERE provider = 'smtp'").fetchone()[0] == len(FORMATS)


def test_a_run_while_another_holds_the_lock_reads_nothing(bounce_box, in_workspace: Path) -> None:
    folder, _, _ = bounce_box
    with Database(in_workspace / "subscribers.db") as db, db.connection.lock("bounces", "busy"):
        result = fetch()
    assert result.exit_code == 1 and "another `newsletter bounces fetch` is running" in result.output
    assert len(os.listdir(folder / "new")) == len(FORMATS) + 3 and not (folder / ".processed").exists()


def test_fetch_without_a_bounce_address_or_a_mailbox_says_what_to_set(in_workspace: Path) -> None:
    result = fetch()
    assert result.exit_code == 1 and "[smtp] bounce_address is not set" in result.output
    add_config(in_workspace, f'[smtp]\nbounce_address = "{BOUNCE_ADDRESS}"\n')
    result = fetch()
    assert result.exit_code == 1 and "[bounces] names no mailbox" in result.output


# --- `newsletter bounces fetch` on IMAP (a real Dovecot) ------------------------------------------------


def imap_settings(port: int, username: str) -> str:
    """newsletter.toml's tables for a bounce mailbox on the local Dovecot (no TLS: this machine only)."""
    bounces = f'[bounces]\nimap_host = "127.0.0.1"\nimap_port = {port}\nimap_security = "none"\nimap_username = "{username}"\ntimeout = 5\n'
    return f'[smtp]\nbounce_address = "{BOUNCE_ADDRESS}"\n\n{bounces}'


def imap_box(server):  # type: ignore[no-untyped-def]
    import imaplib

    from tests.helpers.dovecot_server import PASSWORD, USERNAME

    connection = imaplib.IMAP4("127.0.0.1", server.port, timeout=5)
    connection.login(USERNAME, PASSWORD)
    return connection


def folder_count(server, folder: str) -> int:  # type: ignore[no-untyped-def]
    connection = imap_box(server)
    try:
        typ, data = connection.select(folder, readonly=True)
        return int(data[0]) if typ == "OK" else -1
    finally:
        connection.logout()


@pytest.mark.slow
def test_fetch_over_imap_applies_moves_and_leaves_as_on_a_maildir(dovecot, in_workspace: Path) -> None:
    from tests.helpers.dovecot_server import PASSWORD, USERNAME

    add_config(in_workspace, imap_settings(dovecot.port, USERNAME))
    hard, soft = add_subscribers(in_workspace, 2)
    with Database(in_workspace / "subscribers.db") as db:
        ids = {address: db.subscribers.get(address).public_id for address in (hard, soft)}  # type: ignore[union-attr]
    connection = imap_box(dovecot)  # as a mail server delivers them
    for name, reader in (("postfix-hard.eml", hard), ("exim-soft.eml", soft), ("garbage.eml", soft)):
        connection.append("INBOX", None, None, filled(name, return_paths(BOUNCE_ADDRESS, "7", KEY)(ids[reader]), reader).replace(b"\n", b"\r\n"))
    connection.logout()

    env = {"NEWSLETTER_SECRET": SECRET, "BOUNCES_PASSWORD": PASSWORD}
    summary = json.loads(run("bounces", "fetch", "--json", env=env, ok=True).stdout)
    assert (summary["read"], summary["hard"], summary["soft"], summary["unreadable"]) == (3, 1, 1, 1)
    assert states(in_workspace, [hard, soft]) == {hard: (Status.BOUNCED, 0), soft: (Status.ACTIVE, 1)}
    assert (folder_count(dovecot, "INBOX"), folder_count(dovecot, "processed")) == (1, 2)  # the reply stays; the reports moved

    again = json.loads(run("bounces", "fetch", "--json", env=env, ok=True).stdout)
    assert (again["read"], again["unreadable"], again["hard"], again["soft"]) == (1, 1, 0, 0)


@pytest.mark.slow  # Dovecot answers a wrong password after a pause of its own
def test_a_refused_imap_login_is_one_sentence_without_the_password(dovecot, in_workspace: Path) -> None:
    add_config(in_workspace, imap_settings(dovecot.port, "bounces"))
    result = run("bounces", "fetch", env={"NEWSLETTER_SECRET": SECRET, "BOUNCES_PASSWORD": "not-the-password-at-all"}, never_shows=["not-the-password-at-all"])
    assert result.exit_code == 1
    assert f"IMAP server 127.0.0.1:{dovecot.port} refused us (bounces)" in result.output
