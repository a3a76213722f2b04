"""SMTP: one connection (STARTTLS, TLS or plain), reused for every message of the run.

The password comes from SMTP_PASSWORD in the environment (newsletter.workspace.credentials), never from
newsletter.toml.

Each message goes through the SMTP phases one by one (MAIL, RCPT, then DATA) rather than through
smtplib's sendmail(), because what a broken connection means depends on the phase: before DATA the
server has taken nothing (reconnect and go on), during DATA it may have taken the message (unknown).
"""

from __future__ import annotations

import re
import smtplib
import ssl
from typing import Literal

from ..errors import ConfigError, is_loopback, warn
from ..mail.message import AddressError
from ..mail.verp import bounce_local_part_problem
from ..models import Letter, Outcome, RecipientStatus
from ..models.addresses import NEEDS_SMTPUTF8, ascii_form
from ..workspace.config import Config
from ..workspace.credentials import mask_secrets, smtp_password
from .base import Batch, OneByOne, ProviderRefused, RetryLater

Phase = Literal["mail", "rcpt", "data"]  # the SMTP command a refusal answered
CLOSING = 421  # "service not available, closing transmission channel"
# RFC 3463 enhanced status codes that refuse the address itself, for good: bad mailbox (5.1.1),
# bad or null-MX domain (5.1.2, 5.1.10), bad address syntax (5.1.3), moved (5.1.6), mailbox
# disabled (5.2.1) or full (5.2.2). Others refuse us or this message (5.7.1 relaying denied,
# 5.1.8 bad sender domain, 5.2.3 message too big): they never count against the address.
ENHANCED = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
ADDRESS_REFUSED = {("1", "1"), ("1", "2"), ("1", "3"), ("1", "6"), ("1", "10"), ("2", "1"), ("2", "2")}
PLAIN_ADDRESS_CODES = (550, 551, 553)  # without an enhanced code: "mailbox unavailable", "not local", "name not allowed"


def refuses_the_address(code: int, words: str, phase: Phase) -> bool:
    """Whether an SMTP refusal is a hard bounce of the address: permanent (5xx), in answer to RCPT
    TO or DATA (a refused MAIL FROM is about us), and about the mailbox by its enhanced status
    code; without one, a 550/551/553 answer to RCPT TO (unless it says relaying is denied, which
    is about us)."""
    if code < 500 or phase == "mail":
        return False
    enhanced = ENHANCED.match(words)
    if enhanced:
        return enhanced.group(1) == "5" and (enhanced.group(2), enhanced.group(3)) in ADDRESS_REFUSED
    return phase == "rcpt" and code in PLAIN_ADDRESS_CODES and "relay" not in words.lower()


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
        if self.settings.bounce_address and (problem := bounce_local_part_problem(self.settings.bounce_address)):
            raise ConfigError(f"[smtp] bounce_address = {self.settings.bounce_address}: {problem}")
        self.connection: smtplib.SMTP | None = None

    def check(self) -> None:
        """Connect (EHLO, STARTTLS or TLS, and log in) now: the connection is then reused for the
        first messages (a dry run closes it with QUIT)."""
        connection = self._connection()
        try:
            connection.ehlo_or_helo_if_needed()
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise RetryLater(f"SMTP server {self.settings.host}:{self.settings.port} did not answer EHLO: {_text(str(exc))}", self.name) from None

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.connection = None

    def deliver(self, batch: Batch, letter: Letter) -> RecipientStatus:
        ascii_recipient = ascii_form(letter.email)
        envelope_sender = self.envelope_sender(letter)
        ascii_sender = ascii_form(envelope_sender)
        international = ascii_recipient is None or ascii_sender is None
        try:
            data = self.template(batch.edition).render(letter, utf8=international).replace(b"\n", b"\r\n")
        except AddressError as exc:
            return RecipientStatus(Outcome.REJECTED, f"cannot compose this message: {exc}")
        for attempt in (1, 2):  # an idle connection the server has closed is reopened once
            connection = self._connection()
            try:
                refused = self._envelope(connection, envelope_sender if international else ascii_sender, letter.email if international else ascii_recipient, international)
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
            return self._answer(exc.smtp_code, exc.smtp_error, "data")
        except (smtplib.SMTPException, OSError) as exc:
            # The line dropped while the message was being handed over: it may have been taken.
            self._drop()
            return RecipientStatus(Outcome.UNKNOWN, f"connection lost while sending ({_text(str(exc))}); it may or may not have been delivered")
        return RecipientStatus(Outcome.ACCEPTED) if code == 250 else self._answer(code, words, "data")

    def envelope_sender(self, letter: Letter) -> str:
        """MAIL FROM: the letter's own VERP return path (an issue's letter, with [smtp]
        bounce_address), else the plain bounce address (notices, test copies), else the sender's
        address. The From header is the sender's in every case."""
        return letter.return_path or self.settings.bounce_address or self.config.sender.address

    def _envelope(self, connection: smtplib.SMTP, sender: str | None, address: str | None, international: bool) -> RecipientStatus | None:
        """MAIL FROM and RCPT TO. None when both were accepted, else the refusal for this recipient."""
        options = ["SMTPUTF8", "BODY=8BITMIME"] if international else []
        try:
            connection.ehlo_or_helo_if_needed()
            if international and not connection.has_extn("smtputf8"):
                return RecipientStatus(Outcome.REJECTED, f"{NEEDS_SMTPUTF8}; SMTP server {self.settings.host} does not offer it")
            code, words = connection.mail(sender or "", options)
            phase: Phase = "mail"
            if code == 250:
                phase = "rcpt"
                code, words = connection.rcpt(address or "")
                if code in (250, 251):
                    return None
        except (smtplib.SMTPException, OSError) as exc:
            raise _Closed(_text(str(exc))) from None
        if code == CLOSING:
            raise _Closed(f"{code} {_text(words)}")
        self._reset(connection)
        return self._answer(code, words, phase)

    def _reset(self, connection: smtplib.SMTP) -> None:
        try:
            connection.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _answer(self, code: int, words: bytes | str, phase: Phase) -> RecipientStatus:
        """A 5xx is final (rejected, with the server's words; bounced when it refuses the address
        itself); a 4xx means try again later."""
        if code == CLOSING:
            self._drop()
        said = _text(words)
        text = f"SMTP {code} {said}"
        if code < 500:
            return RecipientStatus(Outcome.DEFERRED, text)
        return RecipientStatus(Outcome.BOUNCED if refuses_the_address(code, said, phase) else Outcome.REJECTED, text)

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
