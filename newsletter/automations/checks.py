"""`newsletter automations check`, and the gate every run passes first: each automation file loads,
each email it sends is an issue file that renders and passes `newsletter check`, and each `if:
clicked` can be measured. Problems are lines naming file:line: field, as issue files' are."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AutomationFileError, NewsletterError
from ..issue.prepare import PreparedIssue, prepare_issue
from ..render.pipeline import Renderer
from ..workspace.config import Workspace
from .loading import automation_files, load_automation
from .steps import Automation


@dataclass
class Checked:
    automations: list[Automation] = field(default_factory=list)  # the ones that load
    emails: dict[str, PreparedIssue] = field(default_factory=dict)  # by their path in the workspace
    problems: list[str] = field(default_factory=list)  # file:line: field: what is wrong
    warnings: list[str] = field(default_factory=list)  # what works, but likely not as meant
    files: int = 0


def check_automations(workspace: Workspace) -> Checked:
    """Every automation of the workspace and every email they send, checked; nothing is changed."""
    root = workspace.root
    checked = Checked()
    renderer: Renderer | None = None
    for path in automation_files(root):
        checked.files += 1
        shown = path.relative_to(root)
        try:
            automation = load_automation(path, shown)
        except AutomationFileError as exc:
            checked.problems += [str(problem) for problem in exc.problems] or [str(exc)]
            continue
        checked.automations.append(automation)
        unmeasured = workspace.config.unmeasured_reader_clicks
        for step in automation.all_steps():
            if step.kind == "if" and step.condition is not None and step.condition.test == "clicked" and unmeasured:
                branch = "then" if step.condition.negated else "else"
                checked.warnings.append(f"{shown}:{step.line}: if: is never `clicked` here, so every reader takes the `{branch}` branch: {unmeasured}")
            if step.kind != "send" or step.email is None or step.email in checked.emails:
                continue
            email_path = root / step.email
            if not email_path.is_file():
                checked.problems.append(f"{shown}:{step.line}: send: no such email file {step.email} (write it like an issue file: newsletter new, then move it there)")
                continue
            renderer = renderer or Renderer(workspace)
            try:
                prepared = prepare_issue(email_path, renderer, partial=True)
            except NewsletterError as exc:
                checked.problems += [_relative(str(problem), root) for problem in exc.problems] or [_relative(str(exc), root)]
                continue
            checked.emails[step.email] = prepared
            checked.problems += [_relative(f"{finding.where}: {finding.message}", root) for finding in prepared.errors]
    return checked


def _relative(text: str, root: Path) -> str:
    """Messages name files inside the workspace by their path in it."""
    return text.replace(f"{root}/", "")


def refuse_problems(checked: Checked) -> None:
    """A run goes ahead only when every automation and email passes: nothing is sent, and no event taken, otherwise."""
    if checked.problems:
        listed = "\n".join(f"  {problem}" for problem in checked.problems)
        raise AutomationFileError(f"`newsletter automations check` reports {len(checked.problems)} problem(s); nothing was sent:\n{listed}")
