"""`newsletter build`: render an issue and write email.html, email.txt, email.eml and web.html."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..files.writing import output_folder, sweep_temporary_files, write_files
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
    prepared = prepare_issue(issue_path)
    workspace, email = prepared.workspace, prepared.email
    config = workspace.config
    proof = Letter(config.sender.address, None, config.unsubscribe_url_for(PROOF_TOKEN))
    files = {
        "email.html": email.html.encode("utf-8"),
        "email.txt": email.text.encode("utf-8"),
        "email.eml": MessageTemplate(email, config).render(proof, utf8=True),
        "web.html": email.web_html.encode("utf-8"),
    }
    if out_dir is None:
        sweep_temporary_files(default_out_dir(workspace, issue_path))  # left by a build that died while writing
        paths = write_files(default_out_dir(workspace, issue_path), files)
    else:
        paths = write_files(out_dir, files, parents=False)
    tracking = config.sendgrid.click_tracking
    return BuildResult(email=email, paths=paths, findings=prepared.findings, delivered_bytes=delivered_bytes(email, tracking, prepared.tracking_growth), click_tracking=tracking)
