"""Servers the tests start (Redis, nginx) run as an unprivileged user, as they would in production.
Run as root (as CI does), their scratch folder is handed to `nobody` and they run as `nobody`; run
as anyone else, they simply run as that user."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path
from typing import Any

USER = "nobody"


def scratch(prefix: str) -> Path:
    """A new temporary folder the server's user owns."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        account = pwd.getpwnam(USER)
        os.chmod(root, 0o755)
        os.chown(root, account.pw_uid, account.pw_gid)
    return root


def hand_over(path: Path) -> None:
    """Give a file made by the tests to the server's user (a no-op unless run as root)."""
    if os.geteuid() == 0:
        shutil.chown(path, user=USER)


def as_user() -> dict[str, Any]:
    """subprocess.Popen's arguments that start the server as the unprivileged user (none unless
    run as root). Popen switches user itself, so the server is its child and gets its signals."""
    if os.geteuid() != 0:
        return {}
    account = pwd.getpwnam(USER)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
