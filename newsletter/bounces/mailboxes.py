"""Where delivery reports wait: a Maildir folder on this machine, or an IMAP mailbox.

Both hand out each message with a key, and move a message they are told is done to a `processed`
folder beside it: in a Maildir, the Maildir++ sub-folder `.processed` (what Dovecot and Courier
show as a folder named "processed"); over IMAP, a mailbox named `processed` (created if missing),
by MOVE where the server offers it, else COPY, then flag \\Deleted and expunge that message alone
(UID EXPUNGE) where the server offers UIDPLUS. A message is never deleted otherwise: one that
cannot be read is left where it is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..errors import ConfigError, NewsletterError, is_loopback, warn
from ..files.reading import UnreadableFile, read_capped
from ..files.writing import write_files
from ..workspace.credentials import mask_secrets

if TYPE_CHECKING:
    import imaplib

    from ..workspace.config import BouncesSettings

MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # a report with the returned message attached; far above any real one
PROCESSED = "processed"


class MailboxError(NewsletterError):
    """The mailbox cannot be read or changed (unreachable, login refused, a folder missing)."""


@dataclass(frozen=True)
class Stored:
    """One message: its key in the mailbox, a name for messages, and its bytes (None when it cannot
    be read, with the reason)."""

    key: str
    name: str
    raw: bytes | None
    problem: str | None = None


class Mailbox(Protocol):
    def messages(self) -> Iterator[Stored]: ...

    def processed(self, message: Stored) -> None:
        """Move the message to the processed folder."""
        ...

    def close(self) -> None: ...


def open_mailbox(settings: BouncesSettings, workspace_root: Path, password: str | None) -> Mailbox:
    """The mailbox [bounces] names: a Maildir (`maildir`, relative to the workspace) or an IMAP
    mailbox (`imap_host`). Raises ConfigError when it names neither, or both."""
    if settings.maildir and settings.imap_host:
        raise ConfigError("[bounces] names both a maildir and an imap_host; set one of them")
    if settings.maildir:
        return MaildirBox(workspace_root / settings.maildir)
    if settings.imap_host:
        return ImapBox(settings, password)
    raise ConfigError("[bounces] names no mailbox: set maildir (a Maildir folder, relative to the workspace) or imap_host (with imap_username and BOUNCES_PASSWORD)")


class MaildirBox:
    """A Maildir (new/, cur/, tmp/): messages in new/ and cur/ are read; done ones are renamed into
    the sub-folder `.processed/cur/` (a rename in one file system: each message is in exactly one
    place at any moment)."""

    def __init__(self, folder: Path) -> None:
        if not all((folder / part).is_dir() for part in ("new", "cur", "tmp")):
            raise ConfigError(f"[bounces] maildir = {folder}: not a Maildir (it needs the folders new, cur and tmp); point it at the folder your mail server delivers bounces to")
        self.folder = folder
        self.done = folder / f".{PROCESSED}"

    def messages(self) -> Iterator[Stored]:
        for part in ("new", "cur"):
            for name in sorted(os.listdir(self.folder / part)):
                if name.startswith("."):
                    continue  # not a message (Maildir names never start with a dot)
                path = self.folder / part / name
                try:
                    raw = read_capped(path, MAX_MESSAGE_BYTES, "bounce message")
                except FileNotFoundError:
                    continue  # taken by someone else (a mail client) since the listing
                except UnreadableFile as exc:
                    yield Stored(f"{part}/{name}", f"{part}/{name}", None, str(exc))
                    continue
                yield Stored(f"{part}/{name}", f"{part}/{name}", raw)

    def processed(self, message: Stored) -> None:
        self._make_processed_folder()
        part, _, name = message.key.partition("/")
        done = name if part == "cur" else f"{name.split(':', 1)[0]}:2,S"  # a message moved to cur/ carries its flags: seen
        try:
            os.rename(self.folder / message.key, self.done / "cur" / done)
        except OSError as exc:
            raise MailboxError(f"cannot move {self.folder / message.key} to {self.done / 'cur'}: {exc.strerror or exc}") from None

    def close(self) -> None:
        pass

    def _make_processed_folder(self) -> None:
        if (self.done / "cur").is_dir():
            return
        for part in ("new", "cur", "tmp"):
            (self.done / part).mkdir(parents=True, exist_ok=True)
        write_files(self.done, {"maildirfolder": b""})  # Maildir++: marks a sub-folder


class ImapBox:
    """An IMAP mailbox, over TLS (or STARTTLS; in clear only to this machine), each command with
    the [bounces] timeout."""

    def __init__(self, settings: BouncesSettings, password: str | None) -> None:
        if not settings.imap_username or not password:
            raise ConfigError("[bounces] imap_host needs imap_username in newsletter.toml and the password in BOUNCES_PASSWORD")
        if settings.imap_security == "none":
            if not is_loopback(settings.imap_host or ""):
                raise ConfigError(f'[bounces] imap_security = "none" would send the password to {settings.imap_host} without TLS; use "tls" or "starttls"')
            warn(f'[bounces] imap_security = "none": the password travels without TLS (allowed because {settings.imap_host} is this machine)')
        self.settings = settings
        self.where = f"IMAP server {settings.imap_host}:{settings.imap_port}"
        self.connection = self._connect(password)
        self.uids: dict[str, bytes] = {}

    def _connect(self, password: str) -> imaplib.IMAP4:
        import imaplib
        import ssl

        s = self.settings
        host = s.imap_host or ""
        context = ssl.create_default_context()
        try:
            if s.imap_security == "tls":
                connection: imaplib.IMAP4 = imaplib.IMAP4_SSL(host, s.imap_port, ssl_context=context, timeout=s.timeout)
            else:
                connection = imaplib.IMAP4(host, s.imap_port, timeout=s.timeout)
                if s.imap_security == "starttls":
                    connection.starttls(ssl_context=context)
        except ssl.SSLCertVerificationError as exc:
            raise MailboxError(f"{self.where}: its TLS certificate is not trusted ({exc.verify_message})") from None
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(f"cannot connect to {self.where}: {_words(exc)}") from None
        try:
            connection.login(s.imap_username or "", password)
            # What the server offers once logged in (MOVE, UIDPLUS) can differ from its greeting's list.
            found = self._ok(connection.capability(), "say what it offers")
            connection.capabilities = tuple(found[-1].decode("ascii", "replace").upper().split()) if found and isinstance(found[-1], bytes) else connection.capabilities
            self._ok(connection.select(_quoted(s.imap_folder)), f"select the folder {s.imap_folder}")
        except imaplib.IMAP4.error as exc:
            _logout(connection)
            raise MailboxError(f"{self.where} refused us ({s.imap_username}): {_words(exc)}") from None
        except MailboxError:
            _logout(connection)
            raise
        except OSError as exc:
            raise MailboxError(f"{self.where}: the connection failed: {_words(exc)}") from None
        return connection

    def messages(self) -> Iterator[Stored]:
        import imaplib

        try:
            found = self._ok(self.connection.uid("SEARCH", "ALL"), "list the messages")
            for uid in (found[0] or b"").split():
                yield self._fetch(uid.decode())
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"{self.where}: {_words(exc)}") from None
        except OSError as exc:
            raise MailboxError(f"{self.where}: the connection failed: {_words(exc)}") from None

    def _fetch(self, uid: str) -> Stored:
        name = f"{self.settings.imap_folder} UID {uid}"
        sized = self._ok(self.connection.uid("FETCH", uid, "(RFC822.SIZE)"), f"read the size of message {uid}")
        size = _size(sized)
        if size is None or size > MAX_MESSAGE_BYTES:
            return Stored(uid, name, None, f"is {size if size is not None else 'of unknown size'} bytes; bounce messages are at most {MAX_MESSAGE_BYTES:,}")
        fetched = self._ok(self.connection.uid("FETCH", uid, "(BODY.PEEK[])"), f"read message {uid}")  # PEEK: one left unread stays unread
        raw = next((item[1] for item in fetched if isinstance(item, tuple) and len(item) == 2), None)
        if not isinstance(raw, bytes):
            return Stored(uid, name, None, "the server sent no body for it")
        return Stored(uid, name, raw)

    def processed(self, message: Stored) -> None:
        import imaplib

        try:
            self._make_processed_folder()
            if "MOVE" in self.connection.capabilities:
                self._ok(self.connection.uid("MOVE", message.key, PROCESSED), f"move message {message.key} to {PROCESSED}")
                return
            self._ok(self.connection.uid("COPY", message.key, PROCESSED), f"copy message {message.key} to {PROCESSED}")
            self._ok(self.connection.uid("STORE", message.key, "+FLAGS.SILENT", r"(\Deleted)"), f"flag message {message.key} deleted")
            if "UIDPLUS" in self.connection.capabilities:
                self._ok(self.connection.uid("EXPUNGE", message.key), f"expunge message {message.key}")
            else:
                self._ok(self.connection.expunge(), "expunge")
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"{self.where}: {_words(exc)}") from None
        except OSError as exc:
            raise MailboxError(f"{self.where}: the connection failed: {_words(exc)}") from None

    def close(self) -> None:
        _logout(self.connection)

    _made = False

    def _make_processed_folder(self) -> None:
        if self._made:
            return
        typ, listed = self.connection.list('""', PROCESSED)
        if typ != "OK" or not any(listed):
            self._ok(self.connection.create(PROCESSED), f"create the folder {PROCESSED}")
        self._made = True

    def _ok(self, answer: tuple[str, list], doing: str) -> list:  # type: ignore[type-arg]
        typ, data = answer
        if typ != "OK":
            said = b" ".join(item for item in data if isinstance(item, bytes)).decode("utf-8", "replace")
            raise MailboxError(f"{self.where} would not {doing}: {typ} {mask_secrets(said)}")
        return data


def _size(answer: list) -> int | None:  # type: ignore[type-arg]
    import re

    for item in answer:
        text = item[0] if isinstance(item, tuple) else item
        if isinstance(text, bytes) and (found := re.search(rb"RFC822\.SIZE (\d+)", text)):
            return int(found.group(1))
    return None


def _quoted(folder: str) -> str:
    """A folder name as an IMAP string (names may hold spaces)."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _words(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else exc
    return mask_secrets(text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text))


def _logout(connection: imaplib.IMAP4) -> None:
    import imaplib

    try:
        connection.logout()
    except (imaplib.IMAP4.error, OSError):
        pass
