"""Call back when files change, using watchfiles (inotify on Linux, FSEvents on macOS)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

# watchfiles groups changes that arrive within `step` ms of each other. Editors often save in
# two steps (write a temp file, rename it), so a short step still yields one change per save.
STEP_MS = 30
DEBOUNCE_MS = 200


def watch_in_background(
    folders: list[Path],
    is_relevant: Callable[[Path], bool],
    on_change: Callable[[set[Path]], object],
    stop: threading.Event,
) -> threading.Thread:
    """Watch `folders` (not recursively) and call `on_change` with the changed paths after each save."""
    from watchfiles import watch

    def run() -> None:
        changes = watch(
            *folders,
            watch_filter=lambda _change, path: is_relevant(Path(path)),
            step=STEP_MS,
            debounce=DEBOUNCE_MS,
            stop_event=stop,
            recursive=False,
            raise_interrupt=False,
        )
        for batch in changes:
            on_change({Path(path) for _change, path in batch})

    thread = threading.Thread(target=run, name="preview-watch", daemon=True)
    thread.start()
    return thread
