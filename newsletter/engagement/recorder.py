"""The web process's recorder of clicks and opens: the redirect and the pixel hand each one over
and answer at once; a thread writes them in batches, one transaction each, every FLUSH_SECONDS.

- No database work in a request: a click is appended to a list in memory, nothing more.
- Nothing lost on a clean shutdown: `stop()` (gunicorn's worker_exit, `serve` stopping, atexit)
  writes what is queued. A crash loses at most the last FLUSH_SECONDS and the batch being written.
- The database down or busy: the batch stays queued and is tried again each FLUSH_SECONDS; at
  most `keep` (KEPT) wait in memory, and what comes beyond that is counted as dropped and logged.
- A batch is judged when it is written (engagement/scanners.py): the reader part's public id
  becomes the reader's copy (their address, stored only with [tracking] clicks = "reader"; the
  subject variant, stored in both modes; when it was sent), and a scanner's clicks are marked.

gunicorn forks its workers after the app is made, and a thread does not survive a fork: each
process starts its own thread on its first hit (as background.py's NoticeSender does)."""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from ..db import Database, Event, Location, StoreError
from ..db.click_batches import ClickBatches, Copy
from ..db.clicks import Click
from .scanners import BURST_SECONDS, in_bursts, machine_open, request_reason, too_soon

FLUSH_SECONDS = 0.5  # the most a crash can lose, plus the batch being written
KEPT = 100_000  # clicks and opens kept in memory while the database cannot take them (about 30 MB)
STOP_RETRY_SECONDS = 5.0  # a shutdown with the database down tries this long before giving up
log = logging.getLogger("newsletter.web")


@dataclass(frozen=True)
class Hit:
    """A click (slot and url set) or an open, as the request showed it."""

    issue: str
    public_id: str | None  # the genuine reader part's; None: a forged one (counted for nobody)
    at: float  # time.time()
    head: bool
    agent: str
    slot: str | None = None
    url: str | None = None

    @property
    def is_click(self) -> bool:
        return self.url is not None


class Recorder:
    def __init__(self, location: Location, clicks: str = "aggregate", keep: int = KEPT, every: float = FLUSH_SECONDS) -> None:
        """`clicks` is [tracking] clicks: with "reader", the clicker's address is stored."""
        self.location = location
        self.with_address = clicks == "reader"
        self.keep = keep
        self.every = every
        self.dropped = 0  # hits refused because `keep` were already waiting
        self._queue: list[Hit] = []
        self._waiting = 0  # queued plus being written: what `keep` bounds
        self._lock = threading.Lock()  # the queue: held for an append or a swap, never for a write
        self._drain_lock = threading.Lock()  # one batch written at a time
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._recent: dict[tuple[str, str], list[tuple[float, str, int]]] = {}  # a copy's last clicks: (time, url, row id)
        self._failing = False
        self._dropped_said = 0
        self._closed = False
        # The thread's own connection, kept between batches: one per batch (and SQLite's checkpoint
        # at each close) took 6 ms a batch and showed in the redirect's p99.
        self._db: Database | None = None
        atexit.register(self.stop)

    # The request's side: never waits for the database.

    def click(self, issue: str, slot: str, url: str, public_id: str | None, head: bool, agent: str) -> None:
        self._submit(Hit(issue, public_id, time.time(), head, agent, slot, url))

    def open(self, issue: str, public_id: str, head: bool, agent: str) -> None:
        self._submit(Hit(issue, public_id, time.time(), head, agent))

    def _submit(self, hit: Hit) -> None:
        self.ensure_running()
        with self._lock:
            if self._waiting >= self.keep:
                self.dropped += 1
                return
            self._queue.append(hit)
            self._waiting += 1

    @property
    def waiting(self) -> int:
        """Hits queued or being written."""
        return self._waiting

    # The thread.

    def ensure_running(self) -> None:
        """Start the thread in this process if it is not running (after a fork, or at first use)."""
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._stopped.is_set():
                return
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="newsletter-clicks", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self.every)
            self.flush()
        self._forget_connection()

    def flush(self) -> bool:
        """Write what is queued now, in one transaction; False when the database could not take
        it (it stays queued, and is tried again)."""
        with self._drain_lock:
            with self._lock:
                batch, self._queue = self._queue, []
            if not batch:
                self._say_dropped()
                return True
            try:
                self._write(batch)
            except Exception as exc:  # noqa: BLE001  # whatever the database raised, the hits are kept and the thread goes on
                with self._lock:
                    self._queue[:0] = batch
                self._forget_connection()  # a fresh one next time: this one may be what broke
                self._say_failing(exc, len(batch))
                return False
            with self._lock:
                self._waiting -= len(batch)
            if self._failing:
                log.warning("recording clicks again: %d that waited in memory are written", len(batch))
                self._failing = False
            self._say_dropped()
            return True

    def stop(self) -> None:
        """Write what is queued and stop the thread (a clean shutdown loses nothing). With the
        database down, tries for STOP_RETRY_SECONDS, then says how many were not written. Once
        only: atexit calls it again after gunicorn's worker_exit or the server's stop did."""
        if self._closed:
            return
        self._closed = True
        self._stopped.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and self._pid == os.getpid():
            thread.join(timeout=30)
        deadline = time.monotonic() + STOP_RETRY_SECONDS
        while not self.flush() and time.monotonic() < deadline:
            time.sleep(min(self.every, 0.5))
        if self._waiting:
            log.error("%d click(s) and open(s) were not recorded: the database could not be reached at shutdown", self._waiting)

    # Writing a batch.

    def _write(self, batch: list[Hit]) -> None:
        own = threading.current_thread() is self._thread
        if own and self._db is None:
            self._db = Database(self.location)  # created if missing, as every request of the app does
        db = self._db if own and self._db is not None else Database(self.location)
        try:
            store = ClickBatches(db.connection)
            copies = self._copies(store, batch)
            hits = [hit for hit in batch if hit.is_click]
            clicks, bursts, keys = self._judged_clicks(hits, copies)
            opens = [self._open_event(hit, copies) for hit in batch if not hit.is_click]
            ids = store.store(clicks, opens, bursts)
        finally:
            if db is not self._db:
                db.close()  # another thread's (a flush at shutdown): SQLite's connections stay in their thread
        self._remember(keys, hits, ids)

    def _forget_connection(self) -> None:
        """Close the thread's connection (from the thread only: SQLite's connections stay in theirs)."""
        if self._db is not None and threading.current_thread() is self._thread:
            db, self._db = self._db, None
            try:
                db.close()
            except Exception:  # noqa: BLE001  # a connection that already failed: whatever closing it raises, nothing is lost
                pass

    @staticmethod
    def _copies(store: ClickBatches, batch: list[Hit]) -> dict[tuple[str, str], Copy]:
        """The copy behind each (issue, public id) of the batch."""
        wanted: dict[str, set[str]] = {}
        for hit in batch:
            if hit.public_id is not None:
                wanted.setdefault(hit.issue, set()).add(hit.public_id)
        return {(issue, public_id): copy for issue, ids in wanted.items() for public_id, copy in store.copies(issue, ids).items()}

    def _judged_clicks(self, hits: list[Hit], copies: dict[tuple[str, str], Copy]) -> tuple[list[Click], set[int], list[tuple[str, str] | None]]:
        """The batch's clicks as rows (each machine's marked), the row ids of earlier clicks that a
        burst in this batch reveals as a scanner's, and each click's copy key (None: anonymous)."""
        reasons: list[str | None] = []
        keys: list[tuple[str, str] | None] = []
        for hit in hits:
            key = (hit.issue, hit.public_id) if hit.public_id is not None else None
            copy = copies.get(key) if key is not None else None
            reason = request_reason(hit.head, hit.agent) or ("early" if copy is not None and too_soon(hit.at, copy.sent_at) else None)
            reasons.append(reason)
            keys.append(key)
        earlier_bursts: set[int] = set()
        by_copy: dict[tuple[str, str], list[int]] = {}
        for n, key in enumerate(keys):
            if key is not None:
                by_copy.setdefault(key, []).append(n)
        for key, members in by_copy.items():
            earlier = self._recent.get(key, [])
            timeline = [(at, url) for at, url, _ in earlier] + [(hits[n].at, hits[n].url or "") for n in members]
            for index in in_bursts(timeline):
                if index < len(earlier):
                    earlier_bursts.add(earlier[index][2])
                else:
                    n = members[index - len(earlier)]
                    reasons[n] = reasons[n] or "burst"
        rows = []
        for hit, key, reason in zip(hits, keys, reasons, strict=True):
            copy = copies.get(key) if key is not None else None
            email = copy.email if copy is not None and self.with_address else None
            rows.append(Click(hit.issue, hit.slot or "0", hit.url or "", _iso(hit.at), email, copy.variant if copy else None, reason))
        return rows, earlier_bursts, keys

    def _open_event(self, hit: Hit, copies: dict[tuple[str, str], Copy]) -> Event:
        copy = copies.get((hit.issue, hit.public_id)) if hit.public_id is not None else None
        email = copy.email if copy is not None and self.with_address else None
        detail = "machine" if machine_open(hit.agent, hit.head) else None  # the label the report already shows
        return Event(f"newsletter-open-{uuid.uuid4().hex}", "open", email, hit.issue, None, _iso(hit.at), detail)

    def _remember(self, keys: Iterable[tuple[str, str] | None], hits: list[Hit], ids: list[int]) -> None:
        """Keep each copy's clicks of the last BURST_SECONDS, so a burst split across batches is
        still seen (and every click of it marked)."""
        horizon = time.time() - 2 * BURST_SECONDS
        for key, hit, row_id in zip(keys, hits, ids, strict=True):
            if key is not None:
                self._recent.setdefault(key, []).append((hit.at, hit.url or "", row_id))
        self._recent = {key: kept for key, found in self._recent.items() if (kept := [entry for entry in found if entry[0] >= horizon])}

    def _say_failing(self, exc: Exception, count: int) -> None:
        if not self._failing:
            reason = exc if isinstance(exc, StoreError) else type(exc).__name__
            log.warning("cannot record clicks for now (kept in memory, tried again every %g s; %d waiting): %s", self.every, count, reason)
            self._failing = True

    def _say_dropped(self) -> None:
        if self.dropped > self._dropped_said:
            log.warning("%d click(s) and open(s) dropped: %d were already waiting for the database", self.dropped - self._dropped_said, self.keep)
            self._dropped_said = self.dropped


def _iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds")
