"""A private mount namespace for tests that need a small or read-only disk: no set-up, and
nothing left mounted behind."""

from __future__ import annotations

import shutil
import subprocess


def mount_namespace() -> list[str] | None:
    """How to get a private mount namespace here: as root, or through a user namespace."""
    if not shutil.which("unshare"):
        return None
    for command in (["unshare", "--mount"], ["unshare", "--user", "--map-root-user", "--mount"]):
        probe = subprocess.run([*command, "true"], capture_output=True)
        if probe.returncode == 0:
            return command
    return None
