"""A file of addresses for a command to act on (`subscribers tag --from-file`): one address a
line, or a CSV file with an email column (a list exported here or elsewhere). Every address is
checked before anything changes; a bad one is named with its file and line."""

from __future__ import annotations

import csv
from pathlib import Path

from ..files.reading import CappedLines, UnreadableFile
from ..models.addresses import normalize
from .csv_formats import EMAIL_COLUMNS, MAX_LINE, SubscriberFileError, _key


def read_addresses(path: Path) -> list[str]:
    """The normalized addresses of `path`, in order, each once. Raises SubscriberFileError naming
    the file, and the line for a bad address."""
    try:
        lines = CappedLines(path, MAX_LINE, "list of addresses", encoding="utf-8-sig")
    except OSError as exc:
        raise SubscriberFileError(f"{path}: cannot read it: {exc.strerror}") from None
    except UnreadableFile as exc:
        raise SubscriberFileError(f"{path}: {exc}") from None
    try:
        return _addresses(path, lines)
    except (csv.Error, UnicodeDecodeError, UnreadableFile) as exc:
        raise SubscriberFileError(f"{path}:{lines.line}: cannot read this line: {exc}") from None
    finally:
        lines.close()


def _addresses(path: Path, lines: CappedLines) -> list[str]:
    reader = csv.reader(lines)
    found: dict[str, None] = {}
    column = 0
    for number, row in enumerate(reader, 1):
        if number == 1:
            keys = [_key(cell) for cell in row]
            headed = next((i for i, key in enumerate(keys) if key in EMAIL_COLUMNS), None)
            if headed is not None:  # a CSV file's header
                column = headed
                continue
        cell = row[column].strip() if len(row) > column else ""
        if not cell:
            continue
        try:
            found.setdefault(normalize(cell), None)
        except ValueError as exc:
            raise SubscriberFileError(f"{path}:{reader.line_num}: {cell!r} is not a usable email address: {exc}; nothing was changed") from None
    return list(found)
