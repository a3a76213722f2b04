"""Call back when files change, using watchfiles (inotify on Linux, FSEvents on macOS)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

# watchfiles groups changes that arrive within `step` ms of each other. Editors often save in
# two steps (write a temp file, rename it), so a short step still yields one change per save.
STEP_MS = 30
DEBOUNCE_MS = 200
RESTART_SECONDS = 1.0  # after the watcher itself fails (a watched folder removed, say), try again this often


def watch_in_background(
    folders: list[Path],
    is_relevant: Callable[[Path], bool],
    on_change: Callable[[set[Path]], object],
    stop: threading.Event,
) -> threading.Thread:
    """Watch `folders` (not recursively) and call `on_change` with the changed paths after each save.

    The thread runs until `stop` is set, whatever happens: an exception from `on_change` or from the
    watcher is reported as one line on stderr (once, not at every save it repeats) and watching goes on.
    """
    from watchfiles import watch

    last_report: list[str] = []

    def report(message: str) -> None:
        line = " ".join(message.split())
        if last_report != [line]:
            last_report[:] = [line]
            print(f"preview: {line}", file=sys.stderr, flush=True)

    def relevant(_change: object, path: str) -> bool:
        try:
            return is_relevant(Path(path))
        except (OSError, RuntimeError):  # a path that cannot even be resolved (gone, unreadable, a symlink loop) is not one of ours
            return False

    def run() -> None:
        while not stop.is_set():
            existing = [folder for folder in folders if folder.is_dir()]
            try:
                if not existing:
                    raise FileNotFoundError(f"none of the watched folders exists: {', '.join(map(str, folders))}")
                changes = watch(
                    *existing,
                    watch_filter=relevant,
                    step=STEP_MS,
                    debounce=DEBOUNCE_MS,
                    stop_event=stop,
                    recursive=False,
                    raise_interrupt=False,
                )
                for batch in changes:
                    try:
                        on_change({Path(path) for _change, path in batch})
                        last_report.clear()  # working again: a later failure is worth a line
                    except Exception as exc:  # noqa: BLE001  # the thread outlives any failure of the callback: said in one line, then on watching
                        report(f"could not re-render after a change: {type(exc).__name__}: {exc}")
                if not stop.is_set():  # watch() should end only when `stop` is set
                    raise RuntimeError("the file watcher ended by itself")
            except Exception as exc:  # noqa: BLE001  # ...and of the watcher itself: said in one line, then started again
                report(f"watching files failed ({type(exc).__name__}: {exc}); retrying every {RESTART_SECONDS:g} s")
                stop.wait(RESTART_SECONDS)

    thread = threading.Thread(target=run, name="preview-watch", daemon=True)
    thread.start()
    return thread
