"""The web process's sender of queued confirmation and welcome emails: a thread, woken when a
request of this process queues one, and every few seconds for those other processes queued (the
other gunicorn workers). Several senders may run at once: each row is claimed by one.

The same thread removes, once a day, the signups never confirmed ([web] purge_pending_after_days)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from typing import TYPE_CHECKING

from ..db import Database, Location, NoDatabase, StoreError
from ..sending.notices import Notices
from ..subscribers.rules import purge_pending

POLL_SECONDS = 2.0
PURGE_EVERY_SECONDS = 86_400.0
log = logging.getLogger("newsletter.web")

if TYPE_CHECKING:
    from .periodic import Periodic


class NoticeSender:
    def __init__(self, notices: Notices, location: Location, jobs: tuple[Periodic, ...] = ()) -> None:
        self.notices = notices
        self.location = location
        self.jobs = jobs  # webhooks out and automations, started and stopped with this thread (web/periodic.py)
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._next_purge = 0.0  # time.monotonic() of the next purge of old signups: the first soon after start

    def wake(self) -> None:
        """Send what is queued now (a request just queued something)."""
        self.ensure_running()
        self._wake.set()

    def ensure_running(self) -> None:
        """Start the thread in this process if it is not running (gunicorn forks workers after the
        app is made, and a thread does not survive a fork)."""
        for job in self.jobs:
            job.ensure_running()
        with self._lock:
            if self._stopped.is_set():
                return
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="newsletter-notices", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Stop after the notice being sent, if any (a clean shutdown loses nothing: what is not
        claimed stays queued for the next start)."""
        for job in self.jobs:
            job.stop()
        self._stopped.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def _run(self) -> None:
        db: Database | None = None
        failing = False
        while not self._stopped.is_set():
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            try:
                if db is None:
                    db = Database(self.location, create=False)
                while not self._stopped.is_set() and self.notices.send_due(db, limit=1):
                    pass  # one at a time, so that stopping waits for one email at most
                self._purge_pending_if_due(db)
                if failing:
                    log.warning("the queued confirmation and welcome emails are being sent again")
                    failing = False
            except NoDatabase:
                pass  # nothing was ever queued here
            except Exception as exc:
                if isinstance(exc, StoreError) or (db is not None and isinstance(exc, db.connection.errors)):
                    # The database is down or busy: again at the next wake, on a fresh connection;
                    # said once, not every few seconds.
                    if not failing:
                        log.warning("cannot send the queued emails for now (tried again every few seconds): %s", exc if isinstance(exc, StoreError) else type(exc).__name__)
                    failing = True
                else:  # a bug: logged, and the thread goes on
                    log.exception("sending the queued notices failed")
                _close(db)
                db = None
        _close(db)


    def _purge_pending_if_due(self, db: Database) -> None:
        """Once a day: remove the signups never confirmed, never sooner than their link expires."""
        web = self.notices.workspace.config.web
        if not web.purge_pending_after_days or time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS  # a failure waits for tomorrow too, not for the next poll
        days = max(web.purge_pending_after_days, web.confirm_days)
        removed = purge_pending(db, dt.timedelta(days=days))
        if removed:
            log.info("removed %d signup(s) never confirmed in %d days", removed, days)


def _close(db: Database | None) -> None:
    if db is not None:
        try:
            db.close()
        except Exception:  # noqa: BLE001  # a connection that already failed: whatever closing it raises, the sender thread goes on
            pass
