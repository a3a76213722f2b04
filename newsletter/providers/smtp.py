"""SMTP: one connection (STARTTLS, TLS or plain), reused for every message of the run.

The password comes from SMTP_PASSWORD in the environment (newsletter.credentials), never from
newsletter.toml.

Each message goes through the SMTP phases one by one (MAIL, RCPT, then DATA) rather than through
smtplib's sendmail(), because what a broken connection means depends on the phase: before DATA the
server has taken nothing (reconnect and go on), during DATA it may have taken the message (unknown).
"""

from __future__ import annotations

import smtplib
import ssl

from ..addresses import NEEDS_SMTPUTF8, ascii_form
from ..config import Config
from ..credentials import mask_secrets, smtp_password
from ..errors import ConfigError, is_loopback, warn
from ..message import AddressError
from ..models import Letter, Outcome, RecipientStatus
from .base import Batch, OneByOne, ProviderRefused, RetryLater

CLOSING = 421  # "service not available, closing transmission channel"


class _Closed(Exception):
    """The server closed the connection before the message was handed over."""


class SmtpProvider(OneByOne):
    name = "smtp"
    max_batch = 100  # rows claimed at a time; a crash leaves at most this many `unknown`

    def __init__(self, config: Config) -> None:
        self.config = config
        self.settings = config.smtp
        self.password = smtp_password(self.settings.username)
        if self.settings.username and self.settings.security == "none":  # the password would travel in clear
            if not is_loopback(self.settings.host):
                raise ConfigError(
                    f'[smtp] security = "none" with a username would send the password to {self.settings.host} without TLS; '
                    'use security = "starttls" or "tls"'
                )
            warn(f'[smtp] security = "none": the password travels without TLS (allowed because {self.settings.host} is this machine)')
        self.connection: smtplib.SMTP | None = None

    def check(self) -> None:
        """Connect (and log in) now: the connection is then reused for the first messages."""
        self._connection()

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.connection = None

    def deliver(self, batch: Batch, letter: Letter) -> RecipientStatus:
        ascii_recipient = ascii_form(letter.email)
        ascii_sender = ascii_form(self.config.sender.address)
        international = ascii_recipient is None or ascii_sender is None
        try:
            data = self.template(batch.edition).render(letter, utf8=international).replace(b"\n", b"\r\n")
        except AddressError as exc:
            return RecipientStatus(Outcome.REJECTED, f"cannot compose this message: {exc}")
        for attempt in (1, 2):  # an idle connection the server has closed is reopened once
            connection = self._connection()
            try:
                refused = self._envelope(connection, letter.email if international else ascii_recipient, international)
                break
            except _Closed as exc:
                self._drop()
                if attempt == 2:
                    raise RetryLater(f"SMTP server {self.settings.host} keeps closing the connection: {exc}", self.name) from None
        if refused:
            return refused
        try:
            code, words = connection.data(data)
        except smtplib.SMTPDataError as exc:  # DATA itself refused: nothing was taken
            return self._answer(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPException, OSError) as exc:
            # The line dropped while the message was being handed over: it may have been taken.
            self._drop()
            return RecipientStatus(Outcome.UNKNOWN, f"connection lost while sending ({_text(str(exc))}); it may or may not have been delivered")
        return RecipientStatus(Outcome.ACCEPTED) if code == 250 else self._answer(code, words)

    def _envelope(self, connection: smtplib.SMTP, address: str | None, international: bool) -> RecipientStatus | None:
        """MAIL FROM and RCPT TO. None when both were accepted, else the refusal for this recipient."""
        options = ["SMTPUTF8", "BODY=8BITMIME"] if international else []
        sender = self.config.sender.address if international else ascii_form(self.config.sender.address)
        try:
            connection.ehlo_or_helo_if_needed()
            if international and not connection.has_extn("smtputf8"):
                return RecipientStatus(Outcome.REJECTED, f"{NEEDS_SMTPUTF8}; SMTP server {self.settings.host} does not offer it")
            code, words = connection.mail(sender or "", options)
            if code == 250:
                code, words = connection.rcpt(address or "")
                if code in (250, 251):
                    return None
        except (smtplib.SMTPException, OSError) as exc:
            raise _Closed(_text(str(exc))) from None
        if code == CLOSING:
            raise _Closed(f"{code} {_text(words)}")
        self._reset(connection)
        return self._answer(code, words)

    def _reset(self, connection: smtplib.SMTP) -> None:
        try:
            connection.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _answer(self, code: int, words: bytes | str) -> RecipientStatus:
        """A 5xx is final (rejected, with the server's words); a 4xx means try again later."""
        if code == CLOSING:
            self._drop()
        text = f"SMTP {code} {_text(words)}"
        return RecipientStatus(Outcome.REJECTED if code >= 500 else Outcome.DEFERRED, text)

    def _connection(self) -> smtplib.SMTP:
        if self.connection is None:
            self.connection = self._connect()
        return self.connection

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        try:
            if s.security == "tls":
                connection: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                connection = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    connection.starttls(context=context)
            if s.username:
                connection.login(s.username, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            words = _text(exc.smtp_error)
            raise ProviderRefused(f"SMTP server {s.host} refused the login of {s.username}: {exc.smtp_code} {words}", self.name, exc.smtp_code, words) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise ProviderRefused(f"SMTP server {s.host}:{s.port} does not support {s.security.upper()}: {_text(str(exc))}; check [smtp] security", self.name) from None
        except ssl.SSLCertVerificationError as exc:
            raise ProviderRefused(f"SMTP server {s.host}:{s.port}: its TLS certificate is not trusted ({exc.verify_message})", self.name) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise RetryLater(f"cannot connect to SMTP server {s.host}:{s.port}: {_text(str(exc))}", self.name) from None
        return connection

    def _drop(self) -> None:
        try:
            if self.connection is not None:
                self.connection.close()
        finally:
            self.connection = None


def _text(words: bytes | str) -> str:
    """The server's words, as text, every secret in them masked (a server may echo the password)."""
    return mask_secrets(words.decode("utf-8", "replace") if isinstance(words, bytes) else str(words))
