"""Subscriber lists as CSV: read (streamed, checked, with other tools' column names) and written.

Exports from Mailchimp, Buttondown and listmonk import as they are (README, "Importing from
another tool"); our own export imports back unchanged, status and link ids included.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..errors import NewsletterError
from ..files.reading import CappedLines, UnreadableFile
from ..mail.links import PUBLIC_ID, RESERVED_IDS
from ..models import CONTROL_CHARACTER, Status, Subscriber, attribute_problem, name_problem
from ..models.addresses import has_ascii_local_part, normalize
from ..models.audience import TAG_SEPARATOR, normal_tag

REJECTIONS_KEPT = 1000  # rejected rows listed in full; beyond that only counted
MAX_LINE = 64 * 1024  # characters; a file without line breaks is refused rather than read whole

# Header names (compared lower-cased, spaces and dashes as underscores) -> the field they fill.
EMAIL_COLUMNS = ("email", "email_address", "e_mail", "e_mail_address")  # ours, listmonk; Mailchimp; Buttondown
NAME_COLUMNS = ("name", "full_name")
FIRST_NAME_COLUMNS = ("first_name", "firstname", "fname")  # Mailchimp: First Name
LAST_NAME_COLUMNS = ("last_name", "lastname", "lname")  # Mailchimp: Last Name
STATUS_COLUMNS = ("status", "subscriber_type", "type")  # ours, listmonk; Buttondown
CREATED_COLUMNS = ("created_at", "creation_date", "optin_time", "subscribed_at")  # ours, listmonk; Buttondown; Mailchimp
ID_COLUMNS = ("subscriber_id",)  # ours: the random id in each subscriber's links
CHANGED_COLUMNS = ("status_changed_at",)  # ours: when the status last changed (an old link must not undo it)
JSON_COLUMNS = ("attributes", "metadata")  # listmonk; Buttondown: a JSON object of attributes
UNSUBSCRIBED_AT = ("unsub_time",)  # Mailchimp's unsubscribed export
CLEANED_AT = ("clean_time",)  # Mailchimp's cleaned (bounced) export
TAGS_COLUMNS = ("tags",)  # ours (a;b), Mailchimp's TAGS ("a","b"), Buttondown's (a,b)
TOPICS_COLUMNS = ("topics",)  # ours: the workspace's topics the subscriber gets (a;b)
NO_TOPICS = "(none)"  # a topics cell for a reader who gets none (an empty cell leaves them the defaults)
RESERVED = {"email", "name", "status", "created_at", "subscriber_id", "status_changed_at", "attributes", "tags", "topics"}
TAG_CELLS_KEPT = 10_000  # distinct tag cells whose reading is remembered (a list repeats a few combinations)
ATTRIBUTE_PREFIX = "attribute:"  # our export's column for an attribute whose name is a reserved one

# Status words of each tool -> our status; None: not imported (they never confirmed, or are spam).
STATUS_WORDS: dict[str, Status | None] = {
    **{status.value: status for status in Status},
    # listmonk
    "enabled": Status.ACTIVE,
    "disabled": Status.UNSUBSCRIBED,
    "blocklisted": Status.UNSUBSCRIBED,
    # Buttondown
    "regular": Status.ACTIVE,
    "premium": Status.ACTIVE,
    "trialed": Status.ACTIVE,
    "unpaid": Status.ACTIVE,
    "gifted": Status.ACTIVE,
    "churning": Status.ACTIVE,
    "paused": Status.ACTIVE,
    "past_due": Status.ACTIVE,
    "removed": Status.UNSUBSCRIBED,
    "unactivated": None,
    "spammy": None,
    # Mailchimp's words, where a file carries them
    "subscribed": Status.ACTIVE,
    "cleaned": Status.BOUNCED,
    "pending": None,
}


class SubscriberFileError(NewsletterError):
    """A subscriber list the user gave cannot be read."""


@dataclass(frozen=True)
class Rejected:
    line: int
    value: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.value!r}: {self.reason}"


@dataclass
class Tally:
    """What reading the file found besides the subscribers themselves."""

    rejected: list[Rejected] = field(default_factory=list)  # the first REJECTIONS_KEPT
    rejected_count: int = 0
    merged: int = 0  # rows that repeated an address already in the file
    left_out: Counter[str] = field(default_factory=Counter)  # reason -> rows not imported on purpose
    smtputf8_only: list[str] = field(default_factory=list)  # addresses only SMTPUTF8 paths reach
    smtputf8_count: int = 0


def _key(header: str) -> str:
    return header.strip().lower().replace(" ", "_").replace("-", "_")


class SubscriberCsv:
    """A subscriber CSV, read row by row as it is iterated (a million rows never sit in memory).
    Raises SubscriberFileError for a file that cannot be read at all; rows that cannot be used are
    counted in `tally` with their line number and reason."""

    def __init__(self, path: Path, topics: Collection[str] = (), tags: Iterable[str] = ()) -> None:
        """`topics`: the workspace's topic keys (a `topics` column may name only these); `tags`:
        added to every row's (already checked with normal_tag)."""
        self.path = path
        self.tally = Tally()
        self.topic_keys = tuple(topics)
        self.every_row_tags = tuple(tags)
        self.tag_cells: dict[str, tuple[str, ...] | str] = {}  # a cell -> its tags, or why not
        try:  # a regular file only (a FIFO or /dev/zero is refused), read line by line, lines capped
            self.handle = CappedLines(path, MAX_LINE, "subscriber file", encoding="utf-8-sig")  # -sig: spreadsheets add a BOM
        except OSError as exc:
            raise SubscriberFileError(f"{path}: cannot read it: {exc.strerror}") from None
        except UnreadableFile as exc:
            raise SubscriberFileError(f"{path}: {exc}") from None
        self.reader = csv.reader(self.handle)
        try:
            self.header = [_unguarded(column.strip()) for column in next(self.reader)]
        except StopIteration:
            self.handle.close()
            raise SubscriberFileError(f"{path}: the file is empty; expected a header line with an 'email' column") from None
        except (csv.Error, UnicodeDecodeError, UnreadableFile) as exc:
            self.handle.close()
            raise SubscriberFileError(f"{path}:1: cannot read the header: {exc}") from None
        problem = _header_problem(self.header)
        if problem:
            self.handle.close()
            raise SubscriberFileError(f"{path}:1: {problem}; nothing was imported")
        keys = [_key(column) for column in self.header]
        email = _first(keys, EMAIL_COLUMNS)
        if email is None:
            self.handle.close()
            raise SubscriberFileError(f"{path}:1: no 'email' column in the header (found: {', '.join(self.header) or 'nothing'})")
        # Each row is read as its cells plus one empty cell at the end, which an absent column
        # points at: no "is this column there?" on a million rows.
        self.width = len(self.header)
        absent = self.width

        def column(names: tuple[str, ...]) -> int:
            found = _first(keys, names)
            return absent if found is None else found

        self.email_at = email
        self.name_at = column(NAME_COLUMNS)
        self.first_at = column(FIRST_NAME_COLUMNS)
        self.last_at = column(LAST_NAME_COLUMNS)
        self.status_at = column(STATUS_COLUMNS)
        self.created_at = column(CREATED_COLUMNS)
        self.id_at = column(ID_COLUMNS)
        self.changed_at = column(CHANGED_COLUMNS)
        self.json_at = column(JSON_COLUMNS)
        self.unsub_at = column(UNSUBSCRIBED_AT)
        self.clean_at = column(CLEANED_AT)
        self.tags_at = column(TAGS_COLUMNS)
        self.topics_at = column(TOPICS_COLUMNS)
        self.has_topics = self.topics_at != absent
        used = {
            self.email_at, self.name_at, self.first_at, self.last_at, self.status_at, self.created_at, self.id_at, self.changed_at, self.json_at,
            self.tags_at, self.topics_at,
        }  # fmt: skip
        self.extra = [(i, column.removeprefix(ATTRIBUTE_PREFIX)) for i, column in enumerate(self.header) if i not in used and column]
        self.seen: set[int] = set()  # hashes of the addresses read so far (merged repeats)

    def __iter__(self) -> Iterator[Subscriber]:
        try:
            width = self.width
            for row in self.reader:
                if len(row) > width:
                    self._reject(self.reader.line_num, ",".join(row), f"{len(row)} fields but the header has {width}")
                    continue
                cells = [_unguarded(cell.strip()) for cell in row]
                if any(cells):
                    cells += [""] * (width + 1 - len(cells))
                    subscriber = self._subscriber(self.reader.line_num, cells)
                    if subscriber is not None:
                        yield subscriber
        except (csv.Error, UnicodeDecodeError, UnreadableFile) as exc:
            raise SubscriberFileError(f"{self.path}:{self.handle.line}: cannot read this line: {exc}") from None
        finally:
            self.handle.close()

    def _reject(self, line: int, value: str, reason: str) -> None:
        self.tally.rejected_count += 1
        if len(self.tally.rejected) < REJECTIONS_KEPT:
            self.tally.rejected.append(Rejected(line, value, reason))

    def _subscriber(self, line: int, cells: list[str]) -> Subscriber | None:
        """One row's subscriber (its cells stripped, one empty cell added), or None if not imported."""
        raw = cells[self.email_at]
        if not raw:
            self._reject(line, raw, "the email field is empty")
            return None
        try:
            email = normalize(raw)
        except ValueError as exc:
            self._reject(line, raw, str(exc))
            return None
        name = cells[self.name_at] or " ".join(part for part in (cells[self.first_at], cells[self.last_at]) if part) or None
        problem = name_problem(name) if name else None
        if problem:
            self._reject(line, raw, f"{self._name_columns(cells)}: {problem}")
            return None
        imported, status = self._status(line, raw, cells)
        if not imported:
            return None
        usable, public_id = self._public_id(line, raw, cells)
        if not usable:
            return None
        usable, changed = self._changed_at(line, raw, cells, status)
        if not usable:
            return None
        attributes = self._attributes(line, raw, cells)
        if attributes is None:
            return None
        usable, created = self._created(line, raw, cells, attributes)
        if not usable:
            return None
        tags = self._tags(line, raw, cells)
        if tags is None:
            return None
        usable, topics = self._topics(line, raw, cells)
        if not usable:
            return None
        self._count(email)
        return Subscriber(email, name, attributes, status, public_id, created, changed, tags, topics)

    def _tags(self, line: int, raw: str, cells: list[str]) -> tuple[str, ...] | None:
        """The row's tags (its cell's and every row's), or None (the row rejected) for a bad one."""
        cell = cells[self.tags_at]
        if not cell:
            return self.every_row_tags
        found = self.tag_cells.get(cell)
        if found is None:
            found = _tags_of_cell(cell)
            if len(self.tag_cells) < TAG_CELLS_KEPT:
                self.tag_cells[cell] = found
        if isinstance(found, str):
            self._reject(line, raw, f"column {self.header[self.tags_at]!r}: {found}")
            return None
        return tuple(dict.fromkeys(found + self.every_row_tags)) if self.every_row_tags else found

    def _topics(self, line: int, raw: str, cells: list[str]) -> tuple[bool, tuple[str, ...] | None]:
        """Whether the row is usable, and the topics it gets (None: the file does not say). A
        `topics` cell gives every topic of the workspace: those listed on, the others off. An
        empty cell says nothing (the topics' defaults, as for a file without the column: other
        tools' exports leave cells empty); `(none)` is no topic at all, as our export writes it."""
        if not self.has_topics:
            return True, None
        cell = cells[self.topics_at].strip()
        if cell == NO_TOPICS:
            return True, ()
        if not cell:
            return True, None
        if not self.topic_keys:
            if cell:
                self._reject(line, raw, f"column {self.header[self.topics_at]!r}: this workspace has no [topics] in newsletter.toml")
                return False, None
            return True, None
        listed = _items(cell)
        unknown = [key for key in listed if key not in self.topic_keys]
        if unknown:
            known = ", ".join(self.topic_keys)
            self._reject(line, raw, f"column {self.header[self.topics_at]!r}: {unknown[0]!r} is not one of this workspace's topics ({known})")
            return False, None
        return True, tuple(listed)

    def _public_id(self, line: int, raw: str, cells: list[str]) -> tuple[bool, str | None]:
        """Whether the row may be imported as far as its subscriber_id goes, and the id (None: none given)."""
        public_id = cells[self.id_at] or None
        if public_id and not PUBLIC_ID.fullmatch(public_id):
            self._reject(line, raw, f"subscriber_id {public_id!r} is not one this tool made (8 to 64 letters, digits, - or _)")
            return False, None
        if public_id in RESERVED_IDS:  # `send --test` copies' links carry it: its owner could never unsubscribe
            self._reject(line, raw, f"column {self.header[self.id_at]!r}: {public_id!r} is reserved for test copies' links, never a subscriber's")
            return False, None
        return True, public_id

    def _created(self, line: int, raw: str, cells: list[str], attributes: dict[str, str]) -> tuple[bool, str | None]:
        """Whether the row may be imported as far as its creation date goes, and the date (None: none,
        or one that is not a date, which is then kept among the attributes as written)."""
        if not cells[self.created_at]:
            return True, None
        created = _timestamp(cells[self.created_at])
        if created is None:
            column = self.header[self.created_at]
            problem = attribute_problem(column, cells[self.created_at])
            if problem:
                self._reject(line, raw, f"column {column!r}: {problem}")
                return False, None
            attributes[column] = cells[self.created_at]  # kept, as written
        return True, created

    def _count(self, email: str) -> None:
        """Tally a row that will be imported: a repeat of an earlier address, or one needing SMTPUTF8."""
        fingerprint = hash(email)
        if fingerprint in self.seen:
            self.tally.merged += 1
            return
        self.seen.add(fingerprint)
        if not has_ascii_local_part(email):
            self.tally.smtputf8_count += 1
            if len(self.tally.smtputf8_only) < 5:
                self.tally.smtputf8_only.append(email)

    def _name_columns(self, cells: list[str]) -> str:
        """The column(s) the row's name came from, for a message."""
        if cells[self.name_at]:
            return f"column {self.header[self.name_at]!r}"
        return "columns " + " and ".join(repr(self.header[i]) for i in (self.first_at, self.last_at) if cells[i])

    def _changed_at(self, line: int, raw: str, cells: list[str], status: Status) -> tuple[bool, str | None]:
        """Whether the row is usable, and when its status last changed: our export's column, else
        Mailchimp's unsubscribe or clean time for those statuses; None when the file does not say.
        A time after now is taken as now: a change time in the future would make every later
        event and link look older than it, for years."""
        if cells[self.changed_at]:
            given = cells[self.changed_at]
            when = _timestamp(given)
            if when is None:
                self._reject(line, raw, f"column {self.header[self.changed_at]!r}: {given!r} is not a date and time (ISO 8601, e.g. 2026-12-01T09:00:00+00:00)")
                return False, None
        elif status == Status.UNSUBSCRIBED and cells[self.unsub_at]:
            when = _timestamp(cells[self.unsub_at])
        elif status == Status.BOUNCED and cells[self.clean_at]:
            when = _timestamp(cells[self.clean_at])
        else:
            return True, None
        return True, None if when is None else min(when, _now())

    def _status(self, line: int, raw: str, cells: list[str]) -> tuple[bool, Status]:
        """Whether to import the row, and its status (active unless the file says otherwise)."""
        if cells[self.clean_at]:
            return True, Status.BOUNCED
        if cells[self.unsub_at]:
            return True, Status.UNSUBSCRIBED
        word = cells[self.status_at]
        if not word:
            return True, Status.ACTIVE
        key = _key(word)
        if key not in STATUS_WORDS:
            known = ", ".join(sorted(STATUS_WORDS))
            self._reject(line, raw, f"status {word!r} is not one this tool knows ({known})")
            return False, Status.ACTIVE
        status = STATUS_WORDS[key]
        if status is None:
            self.tally.left_out[f"status {key} (never confirmed, or flagged as spam)"] += 1
            return False, Status.ACTIVE
        return True, status

    def _attributes(self, line: int, raw: str, cells: list[str]) -> dict[str, str] | None:
        """The row's attributes, or None (the row rejected) when one holds a control character."""
        attributes: dict[str, str] = {}
        packed = cells[self.json_at]
        if packed:
            try:
                data = json.loads(packed)
            except ValueError:
                data = None
            if not isinstance(data, dict):
                self._reject(line, raw, f"the {self.header[self.json_at]} column holds no JSON object")
                return None
            attributes.update((str(k), v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)) for k, v in data.items() if v not in ("", None))
            for key, value in attributes.items():
                problem = attribute_problem(key, value)
                if problem:
                    self._reject(line, raw, f"column {self.header[self.json_at]!r}, key {key!r}: {problem}")
                    return None
        for i, column in self.extra:
            if cells[i]:
                problem = attribute_problem(column, cells[i])
                if problem:
                    self._reject(line, raw, f"column {self.header[i]!r}: {problem}")
                    return None
                attributes[column] = cells[i]
        return attributes


def _header_problem(header: list[str]) -> str | None:
    """A column name with a control character (it would become an attribute's name, and break the
    next export's header line), or None."""
    for number, heading in enumerate(header, 1):
        control = CONTROL_CHARACTER.search(heading)
        if control:
            return f"column {number} ({heading!r}) has the control character U+{ord(control.group(0)):04X} in its name"
    return None


def _items(cell: str) -> list[str]:
    """The items of a cell of several: `a;b` (ours), `a,b`, or Mailchimp's `"a","b"`. Neither
    separator nor a quote can be part of a tag or a topic key, so the forms never mix up."""
    if not cell:
        return []
    try:
        fields = next(csv.reader([cell], skipinitialspace=True))
    except (csv.Error, StopIteration):
        fields = [cell]
    seen: dict[str, None] = {}
    for text in fields:
        for part in text.split(TAG_SEPARATOR):
            item = " ".join(part.split())
            if item:
                seen.setdefault(item, None)
    return list(seen)


def _tags_of_cell(cell: str) -> tuple[str, ...] | str:
    """The tags a tags cell holds, as stored, or why one cannot be a tag."""
    tags: dict[str, None] = {}
    for item in _items(cell):
        try:
            tags.setdefault(normal_tag(item), None)
        except ValueError as exc:
            return str(exc)
    return tuple(tags)


def _first(keys: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in keys:
            return keys.index(name)
    return None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _timestamp(text: str) -> str | None:
    """An ISO 8601 time (or `2026-01-31 09:00:00`, as Mailchimp writes), in our stored form."""
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


# A cell a spreadsheet would run as a formula starts with one of these (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def guarded(cell: str) -> str:
    """A cell made safe to open in a spreadsheet: a leading ' keeps =HYPERLINK(...) as text."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def _unguarded(cell: str) -> str:
    """The cell as it was before guarded() (so an export imports back unchanged)."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] and cell[1:2] in FORMULA_START else cell


def write_csv(subscribers: Iterable[Subscriber], attribute_names: list[str], out: IO[str], tags: bool = False, topics: bool = False) -> int:
    """Every subscriber as CSV: email, name, status, created_at, subscriber_id, status_changed_at,
    with `tags` a tags column and with `topics` a topics column (the topics each gets; both `;`
    separated), then one column per attribute (an attribute named like one of those gets the
    `attribute:` prefix). A cell that a spreadsheet would run as a formula starts with ' (the
    importer takes it off). Returns the count."""
    columns = [f"{ATTRIBUTE_PREFIX}{key}" if key.lower() in RESERVED else key for key in attribute_names]
    audience = ["tags"] * tags + ["topics"] * topics
    writer = csv.writer(out)
    writer.writerow([guarded(cell) for cell in ["email", "name", "status", "created_at", "subscriber_id", "status_changed_at", *audience, *columns]])
    count = 0
    for person in subscribers:
        attributes = person.attributes or {}
        cells = [
            person.email, person.name or "", person.status, person.created_at or "", person.public_id or "", person.status_changed_at or "",
            *([TAG_SEPARATOR.join(person.tags)] if tags else []), *([TAG_SEPARATOR.join(person.topics or ()) or NO_TOPICS] if topics else []),
            *(attributes.get(k, "") for k in attribute_names),
        ]
        writer.writerow([guarded(cell) for cell in cells])
        count += 1
    return count
