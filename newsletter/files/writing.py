"""The one place that writes files. Each file is written whole or not at all (a temporary file,
then a rename), and only ever in place of a regular file or under a new name: a device, a FIFO, a
folder or a symbolic link is never replaced (a link is written through only when asked).

    write_files(folder, files)    build outputs, the archive, the cache: folders the tool owns,
                                  created as needed
    write_output(path, data)      a file the user named (--out, --html): its folder must exist,
                                  and `-` is standard output
    output_folder(path)           a folder the user named for outputs: it may be new, its parent
                                  must exist
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile
from pathlib import Path

from ..errors import OutputError
from ..speedups import file_mode_for_new_files

STDOUT = "-"
# What write_files leaves behind when the process dies between writing and renaming: mkstemp's
# ".<name>.<8 random characters>.tmp".
TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


# Read once at import, while no threads run (reading the umask sets it, process-wide).
DEFAULT_MODE = file_mode_for_new_files()


def output_target(path: Path, follow_symlinks: bool | None = None) -> Path:
    """Where writing `path` puts its bytes: `path` itself (an existing regular file, or a new name
    in a folder that exists), or with `follow_symlinks` the file a link at `path` points to.
    Anything else raises OutputError naming the path; nothing is written or created.
    `follow_symlinks` False: the command has --follow-symlinks, and the refusal says so; None: it has not."""
    try:
        mode: int | None = path.lstat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:  # a file where a folder should be, a folder we may not enter
        raise OutputError(f"{path}: cannot be written: {exc.strerror or exc}; nothing was written") from None
    if mode is not None and stat.S_ISLNK(mode):
        if not follow_symlinks:
            hint = "name the file it points to" + (", or pass --follow-symlinks to write there" if follow_symlinks is False else "")
            raise OutputError(f"{path}: is a symbolic link; nothing was written ({hint})")
        target = Path(os.path.realpath(path))
        if target.is_symlink():  # realpath stops at a loop
            raise OutputError(f"{path}: is a symbolic link that leads to itself; nothing was written")
        return output_target(target)
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"{path}: is a folder, not a file; nothing was written")
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(f"{path}: is not a regular file (it is a device, a FIFO or a socket); nothing was written")
    if mode is None and not path.parent.is_dir():
        if path.parent.exists():
            raise OutputError(f"{path}: {path.parent} is not a folder; nothing was written")
        raise OutputError(f"{path}: the folder {path.parent} does not exist; nothing was written (create the folder first)")
    return path


def output_folder(path: Path) -> Path:
    """A folder the user named for outputs (`build --out`, `publish --out`): an existing folder, or a
    new name in a folder that exists (only the last part is created, when writing). Raises
    OutputError naming the path otherwise."""
    if path.is_dir():
        return path
    if path.exists() or path.is_symlink():
        raise OutputError(f"{path}: is not a folder; nothing was written")
    if not path.parent.is_dir():
        raise OutputError(f"{path}: its folder {path.parent} does not exist; nothing was written (create it first)")
    return path


def write_output(path: Path, data: bytes, follow_symlinks: bool = False) -> Path | None:
    """Write `data` to the file the user named, or to standard output when `path` is `-` (then
    None is returned). See output_target for what may be written to."""
    if str(path) == STDOUT:
        out = sys.stdout
        binary = getattr(out, "buffer", None)
        if binary is not None:
            out.flush()
            binary.write(data)
            binary.flush()
        else:
            out.write(data.decode("utf-8"))
            out.flush()
        return None
    output_target(path, follow_symlinks)  # before write_files, which would create a missing folder
    write_files(path.parent, {path.name: data}, parents=False, follow_symlinks=follow_symlinks)
    return path


def write_files(folder: Path, files: dict[str, bytes], parents: bool = True, follow_symlinks: bool | None = None) -> list[Path]:
    """Write every file to a temporary name first, then move them all into place, in the order given.

    `folder` is created when missing, with its parents unless `parents` is false. Every name is
    checked first (output_target): one that is a link, a device or a folder stops the whole write.
    A failure while writing (disk full, permissions) leaves the previous outputs untouched.
    A replaced file keeps its permissions; a new one gets the usual ones (mkstemp's are private).
    """
    if not parents:
        output_folder(folder)
    exists = folder.is_dir()
    targets = [output_target(folder / name, follow_symlinks) if exists else folder / name for name in files]
    where = targets[0] if len(targets) == 1 else folder
    staged: list[tuple[str, Path]] = []
    try:
        folder.mkdir(parents=parents, exist_ok=True)
        for final, data in zip(targets, files.values(), strict=True):
            handle, temp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
            staged.append((temp, final))
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                os.fchmod(out.fileno(), final.stat().st_mode & 0o7777 if final.exists() else DEFAULT_MODE)
        for temp, final in staged:
            os.replace(temp, final)
    except BaseException as exc:
        for temp, _ in staged:
            Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # a full disk, a read-only folder, a file where a folder should be
            raise OutputError(f"cannot write to {where}: {exc.strerror or exc}; the files that were there are unchanged") from None
        raise
    return [folder / name for name in files]


def sweep_temporary_files(folder: Path) -> list[Path]:
    """Delete the temporary files a write to `folder` left when its process died before renaming
    them. Only for folders the tool owns (a user's folder may hold other programs' files)."""
    swept = []
    for path in folder.iterdir() if folder.is_dir() else []:
        try:
            if TEMPORARY.fullmatch(path.name) and stat.S_ISREG(path.lstat().st_mode):
                path.unlink()
                swept.append(path)
        except FileNotFoundError:  # gone meanwhile
            continue
        except OSError as exc:
            raise OutputError(f"{path}: a temporary file left by an earlier run cannot be deleted: {exc.strerror or exc}; nothing was written") from None
    return swept
