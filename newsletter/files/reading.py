"""Read a file the user named: a regular file only, and never more than a cap.

A FIFO would block forever and /dev/zero would grow until memory runs out, so anything that is
not a regular file is refused before it is read. read_capped reads a whole (small) file;
CappedLines streams a big one (a subscriber list of a million rows) line by line, each line
capped, so a file without line breaks cannot fill memory either.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path


class UnreadableFile(Exception):
    """Why a file cannot be read, as a phrase to follow its path ("is a folder")."""


def _open_regular(path: Path) -> io.BufferedReader:
    """`path` opened for reading in binary, once it is known to be a regular file."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise wait here for one.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise UnreadableFile("is a folder, not a file") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read it: {exc.strerror or exc}") from None
    handle = os.fdopen(fd, "rb")
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise UnreadableFile("is a folder, not a file")
        if not stat.S_ISREG(mode):
            raise UnreadableFile("is not a regular file (it is a FIFO, a device or a socket)")
        os.set_blocking(fd, True)
    except BaseException:
        handle.close()
        raise
    return handle


def read_capped(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of `path`, a regular file of at most `limit` bytes. Raises FileNotFoundError or
    UnreadableFile with a phrase that names `what` the file should have been."""
    with _open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise UnreadableFile(f"is {_size(size)}; {what}s are at most {_size(limit)}")
        try:
            data = handle.read(limit + 1)  # +1: a file that grew since fstat is still caught
        except OSError as exc:
            raise UnreadableFile(f"cannot read it: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UnreadableFile(f"is larger than {_size(limit)}; {what}s are at most that")
    return data


class CappedLines:
    """The text lines of a regular file, read as they are iterated, line breaks kept as they are
    (newline="", as the csv module wants). A line longer than `max_line` characters raises
    UnreadableFile; `line` is the number of the line read last (or being read when that fails).
    Opening raises FileNotFoundError or UnreadableFile, as read_capped does."""

    def __init__(self, path: Path, max_line: int, what: str = "file", encoding: str = "utf-8") -> None:
        self.max_line = max_line
        self.what = what
        self.line = 0
        self.text = io.TextIOWrapper(_open_regular(path), encoding=encoding, newline="")

    def __iter__(self) -> Iterator[str]:
        readline, limit = self.text.readline, self.max_line + 1
        while line := readline(limit):
            self.line += 1
            if len(line) == limit:
                raise UnreadableFile(f"it is longer than {self.max_line:,} characters; lines of a {self.what} are at most that")
            yield line

    def close(self) -> None:
        self.text.close()


def _size(count: int) -> str:
    return f"{count / 1_000_000:.1f} MB" if count >= 1_000_000 else f"{count:,} bytes"
