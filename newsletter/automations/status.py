"""`newsletter automations status`: for each automation, how many readers are at each step, done and left."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..db import Database
from ..models import State
from ..workspace.config import Workspace
from .loading import automation_files, load_automation
from .steps import Automation


@dataclass(frozen=True)
class StepCount:
    step: str  # its id
    what: str  # "send emails/welcome-1.yaml", "wait 2d" ...
    readers: int  # readers at it now
    unknown: int = 0  # a send step's copies whose outcome is unknown (their readers wait for the editor's word)


@dataclass(frozen=True)
class AutomationStatus:
    name: str
    trigger: str  # what enrolls readers; "" when the file is gone or broken
    steps: list[StepCount] = field(default_factory=list)
    done: int = 0
    left: dict[str, int] = field(default_factory=dict)  # by why (unsubscribed, bounced ...)
    problem: str | None = None  # why the file cannot be read

    @property
    def active(self) -> int:
        return sum(step.readers for step in self.steps)


def automation_status(workspace: Workspace) -> list[AutomationStatus]:
    root = workspace.root
    loaded: dict[str, Automation | str] = {}
    for path in automation_files(root):
        try:
            loaded[path.stem] = load_automation(path, path.relative_to(root))
        except Exception as exc:  # noqa: BLE001 (status shows every automation; `check` says what is wrong)
            loaded[path.stem] = str(exc).splitlines()[0]
    if not workspace.database.exists():
        return [_status(name, found, {}, {}, {}) for name, found in loaded.items()]
    with Database(workspace.database, read_only=True) as db:
        names = sorted({*loaded, *db.automations.automations()})
        found = []
        for name in names:
            automation = loaded.get(name, f"automations/{name}.yaml is gone; its readers stay where they are")
            unknown = {key: db.ledger.counts(key)[State.UNKNOWN] for key in automation.send_keys} if isinstance(automation, Automation) else {}
            found.append(_status(name, automation, db.automations.counts(name), db.automations.left_by_status(name), unknown))
        return found


def _status(name: str, automation: Automation | str, counts: dict[tuple[str, str], int], left: dict[str, int], unknown: dict[str, int]) -> AutomationStatus:
    done = sum(count for (state, _), count in counts.items() if state == "done")
    if isinstance(automation, str):
        steps = [StepCount(step, "(not in the file)", count) for (state, step), count in sorted(counts.items()) if state == "active"]
        return AutomationStatus(name, "", steps, done, left, automation)
    steps = [
        StepCount(step.id, step.describe(), counts.get(("active", step.id), 0), unknown.get(automation.key(step), 0) if step.kind == "send" else 0)
        for step in automation.all_steps()
    ]
    return AutomationStatus(name, str(automation.trigger), steps, done, left)
