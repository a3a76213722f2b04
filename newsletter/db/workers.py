"""Send workers: several `newsletter send ISSUE --worker` runs, on any machines, sharing one
PostgreSQL ledger. The database is the only coordinator.

Each worker holds an advisory lock on its own random key for as long as it runs; the server
drops the lock when the worker's session ends, killed or not. Its send ids start with that key,
so a worker starting up can tell the rows a live worker is handing over (left alone) from the
rows of a worker that is gone (recovered: pending if never handed over, else `unknown`).
"""

from __future__ import annotations

import re
import secrets
import uuid

from .connection import Store, StoreError
from .dialect import WORKER_SPACE
from .ledger import Ledger

WORKER_SEND_ID = re.compile(r"^w(\d+)-")


class Worker:
    def __init__(self, connection: Store) -> None:
        """A worker on `connection`, whose dialect has send workers (PostgreSQL)."""
        self.connection = connection
        for _ in range(20):
            key = 1 + secrets.randbelow(2**31 - 2)
            if connection.db.execute("SELECT pg_try_advisory_lock(?, ?)", (WORKER_SPACE, key)).fetchone()[0]:
                self.key = key
                break
        else:  # twenty random keys all taken: something is wrong with the server's locks
            raise StoreError(f"{connection.path}: could not take a send worker's lock")

    def new_send_id(self) -> str:
        return f"w{self.key}-{uuid.uuid4().hex[:20]}"

    def recover(self, ledger: Ledger, issue: str, stamp: str) -> None:
        """Recover the rows `sending` under runs that are gone (see the module's note)."""
        gone = [send_id for send_id in ledger.sending_ids(issue) if not self._alive(send_id)]
        if gone:
            ledger.recover(issue, stamp, "send_id = ANY(?)", (gone,))

    def _alive(self, send_id: str) -> bool:
        owner = WORKER_SEND_ID.match(send_id)
        if owner is None:
            return False  # a plain `send` run: none can be running while workers hold the issue
        key = int(owner.group(1))
        if key == self.key:
            return True
        db = self.connection.db
        if not db.execute("SELECT pg_try_advisory_lock(?, ?)", (WORKER_SPACE, key)).fetchone()[0]:
            return True  # its worker still holds the lock
        db.execute("SELECT pg_advisory_unlock(?, ?)", (WORKER_SPACE, key))
        return False

    def close(self) -> None:
        self.connection.db.execute("SELECT pg_advisory_unlock(?, ?)", (WORKER_SPACE, self.key))
