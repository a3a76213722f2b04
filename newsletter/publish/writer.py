"""Writing the archive: compare each file with what is on disk, then write only the changed ones,
all at once (newsletter.output.write_files stages every file, then renames them into place).

The renames go pages first, then the files that link to them (index.html, feed.xml, sitemap.xml):
a run that dies between two renames leaves a page nothing links to yet, never a link to a page
that is not there. The temporary files such a run leaves are deleted at the start of the next."""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OutputError
from ..output import output_folder, sweep_temporary_files, write_files
from ..reading import UnreadableFile, read_capped


@dataclass(frozen=True)
class Outcome:
    folder: Path
    written: list[Path] = field(default_factory=list)  # in name order
    unchanged: int = 0
    leftover: list[Path] = field(default_factory=list)  # issue pages on disk no longer in the archive (kept)


class SiteWriter:
    """Writes one archive into `folder`. A path can be added once only: two issues claiming the
    same page are a mistake to report, not to settle by whichever came last."""

    def __init__(self, folder: Path, parents: bool = True) -> None:
        self.folder = folder
        self.parents = parents  # False for a folder the user named: only it may be created, not its parents
        self.files: dict[str, bytes] = {}

    def add(self, name: str, data: bytes) -> None:
        if name in self.files:
            raise OutputError(f"{self.folder / name}: two files of the archive would be written there; nothing was written")
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise OutputError(f"{name!r}: not a file name the archive writes; nothing was written")
        self.files[name] = data

    def write(self, files: dict[str, bytes] | None = None) -> Outcome:
        """Add `files`, then write those whose bytes differ from the file on disk (or that are new)."""
        for name, data in (files or {}).items():
            self.add(name, data)
        if self.folder.exists() and not self.folder.is_dir():
            raise OutputError(f"{self.folder}: is not a folder; nothing was written")
        if not self.parents:
            output_folder(self.folder)
        sweep_temporary_files(self.folder)
        changed = {name: data for name, data in sorted(self.files.items()) if _on_disk(self.folder / name) != data}
        # New pages, then the pages that now link to them, then the index, feed and sitemap.
        order = sorted(changed, key=lambda name: (name in LINKING, (self.folder / name).exists(), name))
        written = sorted(write_files(self.folder, {name: changed[name] for name in order}, parents=self.parents)) if changed else []
        leftover = sorted(path for path in self.folder.glob("issue-*.html") if path.name not in self.files) if self.folder.is_dir() else []
        return Outcome(self.folder, written, len(self.files) - len(changed), leftover)


LINKING = ("index.html", "feed.xml", "sitemap.xml")  # the files that link to the issue pages, renamed last
MAX_COMPARED_BYTES = 100_000_000  # an archive's pages are KB; a larger file there is replaced, not read


def _on_disk(path: Path) -> bytes | None:
    """The file's bytes, or None when there is no regular file of a page's size to compare with
    (a FIFO there would block a plain read; write_files then refuses to replace it, naming it)."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_COMPARED_BYTES:
            return None
        return read_capped(path, MAX_COMPARED_BYTES, "archive file")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnreadableFile) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else None
        raise OutputError(f"{path}: cannot be read to compare with the new version: {reason or exc}; nothing was written") from None
