"""Start and stop a live preview: a session, its file watcher and its HTTP server."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from .server import PreviewServer
from .session import PreviewSession
from .watch import watch_in_background


@dataclass
class Preview:
    session: PreviewSession
    server: PreviewServer
    stop_watching: threading.Event
    watcher: threading.Thread | None = None  # the thread calling session.refresh() on each save

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.stop_watching.set()
        self.server.stop()


def start_preview(issue_path: Path, host: str = "127.0.0.1", port: int = 0) -> Preview:
    """Render once, then serve and re-render on every relevant save. Raises OSError if the port is taken."""
    session = PreviewSession(issue_path)
    session.refresh()  # a first error is shown in the page, like any later one
    server = PreviewServer(session, host, port)
    stop = threading.Event()
    watcher = watch_in_background(session.watched_paths(), session.is_relevant, session.refresh, stop)
    server.watcher = watcher
    threading.Thread(target=server.serve_forever, name="preview-http", daemon=True).start()
    return Preview(session, server, stop, watcher)
