"""What the outbox provider delivered: each reader's copies, counted from its Maildir (new/)."""

from __future__ import annotations

from collections import Counter
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from pathlib import Path


def delivered(workspace: Path) -> Counter[str]:
    """Copies per address in the workspace's outbox; the headers alone are read (a kill test polls this)."""
    folder = workspace / "outbox" / "new"
    copies: Counter[str] = Counter()
    if not folder.is_dir():
        return copies
    parser = BytesHeaderParser()
    for path in folder.iterdir():
        try:
            with path.open("rb") as handle:
                copies[parseaddr(str(parser.parse(handle)["To"]))[1].lower()] += 1
        except FileNotFoundError:  # a file moved while listing (none is, once written)
            continue
    return copies
