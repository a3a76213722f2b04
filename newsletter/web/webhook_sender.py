"""The web process's webhook sender: a thread, started with the notice sender when [[webhooks]]
are configured, that fans out the new events and delivers what is due every few seconds, so a
served workspace needs no cron. Several processes and machines may run it: each delivery is
claimed by one (newsletter/webhooks_out/delivery.py)."""

from __future__ import annotations

import logging
import os
import threading

from ..db import Database, Location, NoDatabase, StoreError
from ..errors import NewsletterError
from ..webhooks_out.delivery import Deliverer, receivers
from ..workspace.config import WebhookSettings

POLL_SECONDS = 3.0
log = logging.getLogger("newsletter.web")


class WebhookSender:
    def __init__(self, hooks: list[WebhookSettings], location: Location) -> None:
        self.hooks = hooks
        self.location = location
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
                self._thread = threading.Thread(target=self._run, name="newsletter-webhooks", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Stop after the delivery under way: a claimed row not settled is sent again once its lease passes."""
        self._stopped.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=15)

    def _run(self) -> None:
        try:
            deliverer = Deliverer(receivers(self.hooks))
        except NewsletterError as exc:  # a secret missing or invalid: said once, nothing sent
            log.error("webhooks are not delivered: %s", exc)
            return
        db: Database | None = None
        failing = False
        while not self._stopped.wait(POLL_SECONDS):
            try:
                if db is None:
                    db = Database(self.location, create=False)
                deliverer.fan_out(db)
                while not self._stopped.is_set() and deliverer.deliver_batch(db):
                    pass
                failing = False
            except NoDatabase:
                pass  # nothing happened here yet
            except Exception as exc:
                if isinstance(exc, StoreError) or (db is not None and isinstance(exc, db.connection.errors)):
                    if not failing:
                        log.warning("cannot deliver webhooks for now (tried again every few seconds): %s", exc if isinstance(exc, StoreError) else type(exc).__name__)
                    failing = True
                else:
                    log.exception("delivering webhooks failed")
                if db is not None:
                    try:
                        db.close()
                    except Exception:  # noqa: BLE001  # a connection that already failed
                        pass
                db = None
        deliverer.close()
        if db is not None:
            db.close()
