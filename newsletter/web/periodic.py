"""The web process's periodic jobs, so a served workspace needs no cron: webhooks out (every few
seconds, when [[webhooks]] are configured) and automations (every minute, when automations/ has
any). Each is a thread per process, started with the notice sender and stopped with it. Several
processes and machines may run one at once: webhook deliveries are claimed one by one
(webhooks_out/delivery.py), and automations take a lock (a second run finds it taken and waits
for its next turn)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from ..db import Busy, Database, Location, NoDatabase, StoreError
from ..errors import NewsletterError
from ..workspace.config import Workspace

WEBHOOK_SECONDS = 3.0
AUTOMATION_SECONDS = 60.0
log = logging.getLogger("newsletter.web")

Job = Callable[[Database], None]


class Periodic:
    """Runs `job` every `every` seconds on a connection of its own, kept between runs. `make`
    builds the job in the thread, given the event that says stop (a missing secret is said once,
    and the job never runs); it returns the job and what closes it."""

    def __init__(self, name: str, every: float, location: Location, make: Callable[[threading.Event], tuple[Job, Callable[[], None]]]) -> None:
        self.name, self.every, self.location, self.make = name, every, location, make
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def ensure_running(self) -> None:
        """Start the thread in this process if it is not running (it does not survive gunicorn's fork)."""
        with self._lock:
            if self._stopped.is_set():
                return
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name=f"newsletter-{self.name}", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Stop after the run under way (what it has not settled is taken up by the next start)."""
        self._stopped.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=15)

    def _run(self) -> None:
        try:
            job, close = self.make(self._stopped)
        except NewsletterError as exc:
            log.error("%s: not run: %s", self.name, exc)
            return
        db: Database | None = None
        said = ""  # the last problem logged: a problem that lasts is said once, not every few seconds
        while not self._stopped.wait(self.every):
            try:
                if db is None:
                    db = Database(self.location, create=False)
                job(db)
                said = ""
            except (NoDatabase, Busy):
                pass  # nothing happened here yet; or another process is on it
            except Exception as exc:
                failed = isinstance(exc, StoreError | NewsletterError) or (db is not None and isinstance(exc, db.connection.errors))
                words = str(exc) if isinstance(exc, NewsletterError) else type(exc).__name__
                if not failed:
                    log.exception("%s failed", self.name)  # a bug: logged, and the thread goes on
                elif words != said:
                    log.warning("%s: cannot run for now (tried again every %d s): %s", self.name, self.every, words)
                said = words
                _close(db)
                db = None
        close()
        _close(db)


def webhook_sender(workspace: Workspace) -> Periodic | None:
    """Fans out new events and delivers what is due, when [[webhooks]] are configured."""
    if not workspace.config.webhooks:
        return None

    def make(stop: threading.Event) -> tuple[Job, Callable[[], None]]:
        from ..webhooks_out.delivery import Deliverer, receivers

        deliverer = Deliverer(receivers(workspace.config.webhooks))

        def deliver(db: Database) -> None:
            deliverer.fan_out(db)
            while not stop.is_set() and deliverer.deliver_batch(db):
                pass

        return deliver, deliverer.close

    return Periodic("webhooks", WEBHOOK_SECONDS, workspace.database, make)


def automation_runner(workspace: Workspace) -> Periodic | None:
    """`newsletter automations run`, every minute, when the workspace has automations."""
    from ..automations.loading import automation_files

    if not automation_files(workspace.root):
        return None

    def make(stop: threading.Event) -> tuple[Job, Callable[[], None]]:
        from ..automations.runner import run_automations

        def run(_db: Database) -> None:  # the run opens its own connection, under its lock
            for why in run_automations(workspace, stop=stop).stopped:
                log.warning("automations: a send stopped early: %s", why)

        return run, lambda: None

    return Periodic("automations", AUTOMATION_SECONDS, workspace.database, make)


def _close(db: Database | None) -> None:
    if db is not None:
        try:
            db.close()
        except Exception:  # noqa: BLE001  # a connection that already failed
            pass
