"""Writing the archive: compare each file with what is on disk, then write only the changed ones,
all at once (newsletter.files.writing.write_files stages every file, then renames them into place).

The renames go pages first, then the files that link to them (index.html, feed.xml, sitemap.xml):
a run that dies between two renames leaves a page nothing links to yet, never a link to a page
that is not there. The temporary files such a run leaves are deleted at the start of the next.

Under a folder of its own (the archive's path, e.g. archive/), the archive is written first, then
robots.txt at the root (each folder all or none). A page withdrawn from the archive (an issue
nobody received) is deleted last, once nothing written links to it any more."""

from __future__ import annotations

import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OutputError
from ..files.reading import UnreadableFile, read_capped
from ..files.writing import output_folder, sweep_temporary_files, write_files
from ..images.published import FOLDER as IMAGES_FOLDER


@dataclass(frozen=True)
class Outcome:
    folder: Path
    written: list[Path] = field(default_factory=list)  # in name order
    unchanged: int = 0
    leftover: list[Path] = field(default_factory=list)  # issue pages on disk no longer in the archive (kept)
    removed: list[tuple[Path, str]] = field(default_factory=list)  # withdrawn pages deleted, with why
    withheld: list[tuple[int, str]] = field(default_factory=list)  # issues the ledger knows, not published, with why


class SiteWriter:
    """Writes one site into `folder`, the archive's files in its subfolder `archive` ("" for the
    folder itself). A path can be added once only: two issues claiming the same page are a mistake
    to report, not to settle by whichever came last."""

    def __init__(self, folder: Path, parents: bool = True, archive: str = "") -> None:
        self.folder = folder
        self.parents = parents  # False for a folder the user named: only it may be created, not its parents
        self.archive = archive
        self.files: dict[str, bytes] = {}  # by path in `folder`, "/"-separated

    @property
    def pages(self) -> Path:
        """The folder of the archive's pages."""
        return self.folder / self.archive if self.archive else self.folder

    def add(self, name: str, data: bytes) -> None:
        if name in self.files:
            raise OutputError(f"{self.folder / name}: two files of the archive would be written there; nothing was written")
        if not name or "\\" in name or any(not part or part.startswith(".") for part in name.split("/")):
            raise OutputError(f"{name!r}: not a file name the archive writes; nothing was written")
        self.files[name] = data

    def write(self, files: dict[str, bytes] | None = None, withdraw: Mapping[str, str] | None = None) -> Outcome:
        """Add `files`, then write those whose bytes differ from the file on disk (or that are new).
        `withdraw`: the archive's pages (names) to delete when they are there, with why."""
        for name, data in (files or {}).items():
            self.add(name, data)
        if self.folder.exists() and not self.folder.is_dir():
            raise OutputError(f"{self.folder}: is not a folder; nothing was written")
        if not self.parents:
            output_folder(self.folder)
        for folder in {self.folder, self.pages}:
            sweep_temporary_files(folder)
        changed = {name: data for name, data in sorted(self.files.items()) if _on_disk(self.folder / name) != data}
        written: list[Path] = []
        for sub, names in _by_folder(changed, self.archive):
            where = self.folder / sub if sub else self.folder
            # New pages, then the pages that now link to them, then the index, feed and sitemap.
            order = sorted(names, key=lambda name: (name in LINKING, (where / name).exists(), name))
            # Below the folder (checked above), the archive's own folders may be created.
            written += write_files(where, {name: changed[_joined(sub, name)] for name in order}, parents=self.parents or bool(sub))
        removed = self._remove(withdraw or {})
        gone = {path for path, _ in removed}
        leftover = [path for path in self._pages_on_disk() if path.relative_to(self.folder).as_posix() not in self.files and path not in gone]
        return Outcome(self.folder, sorted(written), len(self.files) - len(changed), sorted(leftover), removed)

    def _remove(self, withdraw: Mapping[str, str]) -> list[tuple[Path, str]]:
        removed = []
        for name, reason in sorted(withdraw.items()):
            path = self.pages / name
            try:
                if not (stat.S_ISREG(path.lstat().st_mode) or path.is_symlink()):
                    continue  # a folder of that name is not ours to delete
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise OutputError(f"{path}: cannot be deleted: {exc.strerror or exc}; the rest of the archive is written and no longer links to it") from None
            removed.append((path, reason))
        return removed

    def _pages_on_disk(self) -> list[Path]:
        """The issue pages in the archive's folder, and in the site folder's root those an archive
        published before it moved under its path left there."""
        folders = [self.pages, self.folder] if self.archive else [self.folder]
        return [path for folder in folders if folder.is_dir() for path in folder.glob("issue-*.html")]


def _by_folder(names: Mapping[str, bytes], archive: str) -> list[tuple[str, list[str]]]:
    """The names grouped by folder: the pictures first (the pages show them), then the archive's
    folder (robots.txt names its sitemap)."""
    groups: dict[str, list[str]] = {}
    for name in names:
        sub, _, base = name.rpartition("/")
        groups.setdefault(sub, []).append(base)
    pictures = _joined(archive, IMAGES_FOLDER) + "/"
    return sorted(groups.items(), key=lambda group: (not (group[0] + "/").startswith(pictures), group[0] != archive, group[0]))


def _joined(sub: str, name: str) -> str:
    return f"{sub}/{name}" if sub else name


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
