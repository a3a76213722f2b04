"""The one place that writes build outputs. Each file is written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_files(folder: Path, files: dict[str, bytes]) -> list[Path]:
    """Write every file to a temporary name first, then move them all into place.

    A failure while writing (disk full, permissions) leaves the previous outputs untouched.
    """
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    try:
        for name, data in files.items():
            handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            staged.append((temp, folder / name))
            with os.fdopen(handle, "wb") as out:
                out.write(data)
    except BaseException:
        for temp, _ in staged:
            Path(temp).unlink(missing_ok=True)
        raise
    for temp, final in staged:
        os.replace(temp, final)
    return [final for _, final in staged]
