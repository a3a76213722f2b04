"""SMTP: one connection (STARTTLS, TLS or plain), reused for every message of the run.

The password comes from SMTP_PASSWORD in the environment, never from newsletter.toml.
"""

from __future__ import annotations

import os
import smtplib
import ssl

from ..config import Config
from ..errors import ConfigError
from ..store import State
from .base import Batch, BatchResult, ProviderSetupError, RetryLater, mime_message

PASSWORD_VARIABLE = "SMTP_PASSWORD"


class SmtpProvider:
    name = "smtp"
    max_batch = 50  # rows claimed at a time; a crash leaves at most this many `unknown`

    def __init__(self, config: Config) -> None:
        self.config = config
        self.settings = config.smtp
        self.password = os.environ.get(PASSWORD_VARIABLE)
        if self.settings.username and not self.password:
            raise ConfigError(f"[smtp] username is set but {PASSWORD_VARIABLE} is not: the password comes from the environment only")
        self.connection: smtplib.SMTP | None = None

    def send(self, batch: Batch) -> BatchResult:
        result = BatchResult()
        for index, letter in enumerate(batch.letters):
            address = letter.recipient.email
            if self.connection is None:
                try:
                    self.connection = self._connect()
                except RetryLater:
                    if index == 0:
                        raise  # nothing in this batch went out: retry it after a pause
                    _rest_pending(result, batch, index)
                    return result
            try:
                self.connection.send_message(mime_message(self.config, batch, letter), to_addrs=[address])
            except smtplib.SMTPRecipientsRefused as exc:
                code, words = exc.recipients.get(address, (550, b"refused"))
                result.states[address] = _answer(code, words)
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                result.states[address] = _answer(exc.smtp_code, exc.smtp_error)
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException, OSError) as exc:
                # The message may have been taken before the line dropped.
                result.states[address] = (State.UNKNOWN, f"connection lost while sending ({exc}); it may or may not have been delivered")
                self._drop()
                _rest_pending(result, batch, index + 1)
                return result
            else:
                result.states[address] = (State.SENT, None)
        return result

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.connection = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        try:
            if s.security == "tls":
                connection = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                connection = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    connection.starttls(context=context)
            if s.username:
                connection.login(s.username, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise ProviderSetupError(f"SMTP server {s.host} refused the login of {s.username}: {exc.smtp_code} {_text(exc.smtp_error)}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise ProviderSetupError(f"SMTP server {s.host}:{s.port} does not support {s.security.upper()}: {exc}; check [smtp] security") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise RetryLater(f"cannot connect to SMTP server {s.host}:{s.port}: {exc}") from None
        return connection

    def _drop(self) -> None:
        try:
            if self.connection is not None:
                self.connection.close()
        finally:
            self.connection = None


def _answer(code: int, words: bytes | str) -> tuple[State, str]:
    """A 5xx is final (failed, with the server's words); a 4xx means try again later."""
    text = f"SMTP {code} {_text(words)}"
    return (State.FAILED, text) if code >= 500 else (State.PENDING, text)


def _rest_pending(result: BatchResult, batch: Batch, start: int) -> None:
    for letter in batch.letters[start:]:
        result.states[letter.recipient.email] = (State.PENDING, None)


def _text(words: bytes | str) -> str:
    return words.decode("utf-8", "replace") if isinstance(words, bytes) else str(words)
