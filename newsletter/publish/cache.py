"""What `newsletter publish` remembers between runs, so adding one issue to an archive of hundreds
takes a moment: each issue file's validated content and each rendered page, in
<workspace>/.cache/publish/. Entries are keyed by a hash of everything that went into them (the
file's bytes or the page's issue and links, the settings, the templates, the code), so an entry
is never stale, only unused; unused entries are dropped after a successful run."""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path

from .. import __version__
from ..errors import OutputError
from ..files.writing import sweep_temporary_files, write_files
from ..render.pipeline import default_template_dir
from ..workspace.config import Workspace

# The libraries whose output ends up in a page (a new version may render differently): the
# template engine, MJML, the inliner and its CSS parser, Markdown and its sanitizer, the issue
# file's parser and validator, and Babel's dates and plural rules.
RENDERING_LIBRARIES = ("mjml-python", "premailer", "cssutils", "markdown-it-py", "nh3", "jinja2", "pydantic", "ruamel.yaml", "lxml", "babel")

PACKAGE = Path(__file__).resolve().parent.parent


def digest(*parts: str | bytes) -> str:
    hashed = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        hashed.update(len(data).to_bytes(8, "big"))
        hashed.update(data)
    return hashed.hexdigest()


def code_fingerprint(package: Path = PACKAGE) -> str:
    """What a cached page or issue depends on in the tool itself: every module of the package, at
    any depth (rendering reaches across several packages, and a module that moves must not drop
    out of the hash), the label catalogues, and the rendering libraries' versions. Hashing more
    than the renderer needs costs a few milliseconds and an unused cache after an upgrade."""
    parts: list[str | bytes] = [__version__]
    for path in sorted([*package.rglob("*.py"), *package.rglob("*.po")]):
        if "__pycache__" not in path.parts:
            parts += [path.relative_to(package).as_posix(), path.read_bytes()]
    for name in RENDERING_LIBRARIES:
        try:
            parts += [name, importlib.metadata.version(name)]
        except importlib.metadata.PackageNotFoundError:
            parts += [name, "-"]
    return digest(*parts)


def render_fingerprint(workspace: Workspace, code: str) -> str:
    """Everything a page depends on besides its issue and links: code, settings and every template."""
    parts: list[str | bytes] = [code, workspace.config.model_dump_json()]
    for number, folder in enumerate([workspace.template_dir, default_template_dir()]):
        if folder is None:
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                parts += [f"{number}:{path.relative_to(folder).as_posix()}", path.read_bytes()]
    return digest(*parts)


class Cache:
    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.new: dict[str, bytes] = {}
        self.used: set[str] = set()

    def get(self, kind: str, key: str) -> bytes | None:
        name = f"{kind}-{key}"
        self.used.add(name)
        if name in self.new or self.folder is None:
            return self.new.get(name)
        try:
            return (self.folder / name).read_bytes()
        except OSError:
            return None

    def put(self, kind: str, key: str, data: bytes) -> None:
        name = f"{kind}-{key}"
        self.used.add(name)
        self.new[name] = data

    def save(self) -> None:
        """Store the new entries and drop the unused ones. Best effort: a cache that cannot be
        written only makes the next run slower."""
        if self.folder is None:
            return
        try:
            sweep_temporary_files(self.folder)  # a run that died while saving left them
            if self.new:
                write_files(self.folder, self.new)
            for path in self.folder.iterdir():
                if path.name not in self.used and not path.name.startswith("."):
                    path.unlink()
        except (OSError, OutputError):
            pass
        self.new = {}
