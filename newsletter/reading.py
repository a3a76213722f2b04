"""Read a file the user named: a regular file only, and never more than a cap.

A FIFO would block forever and /dev/zero would grow until memory runs out, so anything that is
not a regular file is refused before it is opened for reading.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class UnreadableFile(Exception):
    """Why a file cannot be read, as a phrase to follow its path ("is a folder")."""


def read_capped(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of `path`, a regular file of at most `limit` bytes. Raises FileNotFoundError or
    UnreadableFile with a phrase that names `what` the file should have been."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise wait here for one.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise UnreadableFile("is a folder, not a file") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read it: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UnreadableFile("is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile("is not a regular file (it is a FIFO, a device or a socket)")
        if info.st_size > limit:
            raise UnreadableFile(f"is {_size(info.st_size)}; {what}s are at most {_size(limit)}")
        os.set_blocking(fd, True)
        try:
            data = handle.read(limit + 1)  # +1: a file that grew since fstat is still caught
        except OSError as exc:
            raise UnreadableFile(f"cannot read it: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UnreadableFile(f"is larger than {_size(limit)}; {what}s are at most that")
    return data


def _size(count: int) -> str:
    return f"{count / 1_000_000:.1f} MB" if count >= 1_000_000 else f"{count:,} bytes"
