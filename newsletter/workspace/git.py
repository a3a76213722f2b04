"""The workspace's git repository, asked through git itself: an issue file's text at a revision
(`newsletter diff HEAD~1:issues/2026-12-07.yaml ...`), and the commit an issue file is sent from
(`send` records it; `[send] require_committed` refuses a file with changes git has not got).

Every call has a deadline, and git's own words end up in the error, after the tool's sentence."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import GitError

GIT_TIMEOUT = 15.0  # seconds: a local repository answers in milliseconds; a hung one must not hang a send
# Characters git's stdin protocol or its option parser would read as something else.
UNSAFE = frozenset("\n\r\0")


@dataclass(frozen=True)
class FileState:
    """Where an issue file stands in git: the commit checked out (None: a repository without one),
    and whether the file is exactly as committed (tracked, unchanged, not ignored)."""

    commit: str | None
    clean: bool
    tracked: bool

    @property
    def short(self) -> str:
        return self.commit[:12] if self.commit else "no commit yet"


def _git(args: list[str], cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, timeout=GIT_TIMEOUT, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH), so the git repository cannot be read") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git did not answer within {GIT_TIMEOUT:.0f} s in {cwd}") from None
    except OSError as exc:
        raise GitError(f"git cannot be run in {cwd}: {exc.strerror or exc}") from None


def _said(result: subprocess.CompletedProcess[bytes]) -> str:
    """git's first line of complaint, to follow the tool's own sentence."""
    lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
    return f" (git says: {lines[0]})" if lines else ""


def repository_root(folder: Path) -> Path | None:
    """The top of the git repository `folder` is in; None when it is in none."""
    result = _git(["rev-parse", "--show-toplevel"], folder)
    if result.returncode != 0:
        return None
    return Path(result.stdout.decode("utf-8", "surrogateescape").strip())


def read_at_revision(revision: str, path: str, folder: Path, limit: int) -> bytes:
    """The bytes of `path` (relative to `folder`, as a file argument is) at `revision`, as
    `git show REVISION:PATH` prints them. Raises GitError for a folder outside any repository, a
    revision that does not exist, a path the revision does not hold, or a blob over `limit` bytes."""
    shown = f"{revision}:{path}"
    if not revision or revision.startswith("-") or UNSAFE & set(revision + path):
        raise GitError(f"{shown!r} is not a revision and path git can read (write it as REV:PATH, e.g. HEAD~1:issues/2026-12-07.yaml)")
    if repository_root(folder) is None:
        raise GitError(f"{shown}: {folder} is not in a git repository, so no revision of it can be read; give issue files instead")
    relative = path if path.startswith(("./", "../")) else f"./{path}"
    # Through stdin, neither can be taken for an option of git's.
    asked = f"{revision}^{{commit}}\n{revision}:{relative}\n".encode()
    result = _git(["cat-file", "--batch-check"], folder, asked)
    if result.returncode != 0:
        raise GitError(f"{shown}: git cannot look it up{_said(result)}")
    commit, blob = (line.decode("utf-8", "replace").split() for line in result.stdout.splitlines()[:2])
    if commit[-1] == "missing":
        raise GitError(f"{shown}: there is no revision {revision!r} in the git repository (see `git log --oneline`)")
    if blob[-1] == "missing" or blob[1] != "blob":
        raise GitError(f"{shown}: revision {revision} holds no file {path} (paths are relative to the current folder, as an issue file's is)")
    if int(blob[2]) > limit:
        raise GitError(f"{shown}: is {int(blob[2]):,} bytes; issue files are at most {limit:,}")
    found = _git(["show", blob[0]], folder)  # by its object id: no option, no text conversion
    if found.returncode != 0:
        raise GitError(f"{shown}: git cannot show it{_said(found)}")
    return found.stdout


def file_state(path: Path) -> FileState | None:
    """Where `path` stands in git (see FileState); None when it is in no repository."""
    folder = path.resolve().parent
    if repository_root(folder) is None:
        return None
    head = _git(["rev-parse", "--verify", "--quiet", "HEAD"], folder)
    commit = head.stdout.decode("ascii", "replace").strip() if head.returncode == 0 else None
    name = path.name
    tracked = _git(["ls-files", "--error-unmatch", "--", name], folder).returncode == 0
    status = _git(["status", "--porcelain", "--ignored=matching", "--", name], folder)
    if status.returncode != 0:
        raise GitError(f"{path}: git cannot tell whether it has changes{_said(status)}")
    return FileState(commit, tracked and commit is not None and not status.stdout.strip(), tracked)
