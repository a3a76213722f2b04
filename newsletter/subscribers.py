"""Subscriber lists from CSV files: addresses checked (syntax only), normalized, duplicates merged."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from .errors import NewsletterError
from .store import Status, Store, Subscriber


PARALLEL_FROM = 5000  # below this, starting worker processes costs more than it saves


class SubscriberError(NewsletterError):
    """A subscriber list or address the user gave cannot be used."""


@dataclass(frozen=True)
class Rejected:
    line: int
    value: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.value!r}: {self.reason}"


@dataclass
class CsvList:
    subscribers: list[Subscriber] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    merged: int = 0  # rows that repeated an address already in the file


def normalize(address: str) -> str:
    """The form addresses are stored and compared in. Raises ValueError with the validator's words."""
    try:
        checked = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    # Mail systems treat the local part case-insensitively in practice; one person, one row.
    return checked.normalized.lower()


def is_one_line(text: str) -> bool:
    """Names go into the To: header, where a line break would start a new header."""
    return not any(ord(ch) < 32 or ch == "\x7f" for ch in text)


def read_csv(path: Path) -> CsvList:
    """Read a CSV with an `email` column, an optional `name` column; other columns become attributes."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")  # -sig: spreadsheets add a BOM
    except OSError as exc:
        raise SubscriberError(f"{path}: cannot read it: {exc.strerror}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [column.strip() for column in next(reader)]
        except StopIteration:
            raise SubscriberError(f"{path}: the file is empty; expected a header line with an 'email' column") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise SubscriberError(f"{path}:1: cannot read the header: {exc}") from None
        lowered = [column.lower() for column in header]
        if "email" not in lowered:
            raise SubscriberError(f"{path}:1: no 'email' column in the header (found: {', '.join(header) or 'nothing'})")
        email_at = lowered.index("email")
        name_at = lowered.index("name") if "name" in lowered else None
        extra = [(i, column) for i, column in enumerate(header) if i not in (email_at, name_at) and column]
        try:
            rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
        except (csv.Error, UnicodeDecodeError) as exc:
            raise SubscriberError(f"{path}:{reader.line_num}: cannot read this line: {exc}") from None
    raw_addresses = {row[email_at].strip() for _, row in rows if email_at < len(row)}
    checked = normalize_many(raw_addresses - {""})
    result = CsvList()
    by_email: dict[str, int] = {}
    for line, row in rows:
        _add_row(result, by_email, checked, row, line, email_at, name_at, extra, len(header))
    return result


def normalize_many(addresses: set[str]) -> dict[str, str | ValueError]:
    """normalize() for many addresses: each maps to its normal form or to the validator's error.

    Validation is the slow part of a big import (about 20 us an address), so large lists are
    checked on every core.
    """
    ordered = sorted(addresses)
    workers = os.cpu_count() or 1
    if len(ordered) < PARALLEL_FROM or workers < 2:
        return dict(zip(ordered, _normalize_chunk(ordered)))
    from concurrent.futures import ProcessPoolExecutor

    size = -(-len(ordered) // (workers * 4))
    chunks = [ordered[i : i + size] for i in range(0, len(ordered), size)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = [item for chunk in pool.map(_normalize_chunk, chunks) for item in chunk]
    return dict(zip(ordered, results))


def _normalize_chunk(addresses: list[str]) -> list[str | ValueError]:
    out: list[str | ValueError] = []
    for address in addresses:
        try:
            out.append(normalize(address))
        except ValueError as exc:
            out.append(exc)
    return out


def _add_row(result: CsvList, by_email: dict[str, int], checked: dict[str, str | ValueError], row: list[str], line: int, email_at: int, name_at: int | None, extra, width: int) -> None:
    if len(row) > width:
        result.rejected.append(Rejected(line, ",".join(row), f"{len(row)} fields but the header has {width}"))
        return
    raw = row[email_at].strip() if email_at < len(row) else ""
    if not raw:
        result.rejected.append(Rejected(line, raw, "the email field is empty"))
        return
    email = checked[raw]
    if isinstance(email, ValueError):
        result.rejected.append(Rejected(line, raw, str(email)))
        return
    name = row[name_at].strip() if name_at is not None and name_at < len(row) and row[name_at].strip() else None
    if name and not is_one_line(name):
        result.rejected.append(Rejected(line, raw, "the name contains a line break or a control character"))
        return
    attributes = {column: row[i].strip() for i, column in extra if i < len(row) and row[i].strip()}
    if email in by_email:  # a repeat: later non-empty values win
        index = by_email[email]
        earlier = result.subscribers[index]
        merged_attributes = {**(earlier.attributes or {}), **attributes}
        result.subscribers[index] = Subscriber(email, name or earlier.name, merged_attributes)
        result.merged += 1
        return
    by_email[email] = len(result.subscribers)
    result.subscribers.append(Subscriber(email, name, attributes))


# SendGrid's suppression lists and the status each gives a subscriber here.
SUPPRESSION_STATUS = {
    "unsubscribes": Status.UNSUBSCRIBED,
    "group_unsubscribes": Status.UNSUBSCRIBED,
    "bounces": Status.BOUNCED,
    "spam_reports": Status.COMPLAINED,
}


def apply_suppressions(store: Store, found: dict[str, set[str]]) -> list[tuple[str, int, int]]:
    """Mark active subscribers found on a provider's suppression lists, so they are never mailed
    again: (list, addresses on it, subscribers marked) for each list. Others keep their status."""
    report = []
    for kind, addresses in found.items():
        changed = store.set_status(sorted(addresses), SUPPRESSION_STATUS[kind], only_from=Status.ACTIVE)
        report.append((kind, len(addresses), changed))
    return report
