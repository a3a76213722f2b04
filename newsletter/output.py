"""The one place that writes build outputs. Each file is written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import OutputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import, while no threads run (setting the umask is process-wide).
DEFAULT_MODE = 0o666 & ~_umask()


def write_files(folder: Path, files: dict[str, bytes]) -> list[Path]:
    """Write every file to a temporary name first, then move them all into place.

    A failure while writing (disk full, permissions) leaves the previous outputs untouched.
    A replaced file keeps its permissions; a new one gets the usual ones (mkstemp's are private).
    """
    staged: list[tuple[str, Path]] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            final = folder / name
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
            raise OutputError(f"cannot write to {folder}: {exc.strerror or exc}; the files that were there are unchanged") from None
        raise
    return [final for _, final in staged]
