"""`newsletter build`: render an issue and write email.html, email.txt, email.eml and web.html."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import IssueFileError
from ..files.reading import UnreadableFile, read_capped
from ..files.writing import output_folder, sweep_temporary_files, write_files
from ..images.local import MAX_SOURCE_BYTES
from ..mail.message import MessageTemplate
from ..models import Email, Letter
from ..workspace.config import Workspace
from .checks import Finding, delivered_bytes
from .prepare import prepare_issue

# The .eml is addressed to the sender, as a proof copy, with a placeholder unsubscribe token.
PROOF_TOKEN = "proof-copy"


@dataclass(frozen=True)
class BuildResult:
    email: Email
    paths: list[Path]
    findings: list[Finding]  # what `check` finds, in the same order
    delivered_bytes: int  # the HTML's size as Gmail gets it (the tool's and SendGrid's click tracking included)
    click_tracking: bool


def default_out_dir(workspace: Workspace, issue_path: Path) -> Path:
    return workspace.root / "build" / issue_path.stem


def build_issue(issue_path: Path, out_dir: Path | None = None) -> BuildResult:
    """Validate, render and check everything in memory first (prepare_issue, as `check`, `send`
    and the preview do); write only when all of it succeeded. The files are written even when
    the checks find errors: the editor looks at them to fix those. `out_dir`, a folder the user
    named, may be new but its parent must exist; build/ is created."""
    if out_dir is not None:
        output_folder(out_dir)  # before rendering: a mistyped --out is said at once
    prepared = prepare_issue(issue_path, images="local")
    workspace, email = prepared.workspace, prepared.email
    config = workspace.config
    proof = Letter(config.sender.address, None, config.unsubscribe_url_for(PROOF_TOKEN))
    files = {
        "email.html": email.html.encode("utf-8"),
        "email.txt": email.text.encode("utf-8"),
        "email.eml": MessageTemplate(email, config).render(proof, utf8=True),
        "web.html": email.web_html.encode("utf-8"),
    }
    copies = image_copies(prepared.images)
    target = out_dir if out_dir is not None else default_out_dir(workspace, issue_path)
    if out_dir is None:
        sweep_temporary_files(target)  # left by a build that died while writing
    # The local pictures first, at the paths the email names them by (images/chip.jpg beside
    # email.html), so the built email opens in a browser with its pictures.
    paths = [path for sub, named in copies.items() for path in write_files(target / sub, named)]
    paths += write_files(target, files, parents=out_dir is None)
    tracking = config.sendgrid.click_tracking
    return BuildResult(email=email, paths=paths, findings=prepared.findings, delivered_bytes=delivered_bytes(email, tracking, prepared.tracking_growth), click_tracking=tracking)


def image_copies(images: dict[str, Path]) -> dict[str, dict[str, bytes]]:
    """The issue's local pictures by folder ("images" -> {"chip.jpg": bytes}), read again (the
    capped reader) from the files the checks resolved inside the workspace."""
    copies: dict[str, dict[str, bytes]] = {}
    for src, path in images.items():
        sub, _, name = src.rpartition("/")
        try:
            copies.setdefault(sub, {})[name] = read_capped(path, MAX_SOURCE_BYTES, "local image")
        except (OSError, UnreadableFile) as exc:  # changed since the checks read it
            raise IssueFileError(f"{path}: cannot be copied into the build: {exc}; nothing was written") from None
    return copies
