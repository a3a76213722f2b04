"""Read automations/<name>.yaml into an Automation, every problem named with its file, line and field.

    trigger: subscriber.confirmed          # or:  trigger: {subscriber.tagged: vip}
    send_window: "09:00-17:00"             # optional; else [automations] send_window
    steps:
      - send: emails/welcome-1.yaml
      - wait: 2d
      - if: not clicked                    # clicked, not clicked, tagged <tag>, not tagged <tag>
        then:
          - send: emails/welcome-2.yaml
        else:
          - tag: engaged
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path, PurePosixPath
from typing import Any

from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..errors import AutomationFileError, IssueFileError, Problem
from ..issue.loading import field_path, new_yaml, read_source, screen_yaml
from ..models.audience import normal_tag
from ..models.spans import parse_span
from ..models.windows import parse_window
from .steps import CONFIRMED, KEY_MAX, KEY_PREFIX, TAGGED, Automation, Condition, Step, Trigger

MAX_STEPS = 200
NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
SHORTEST_WAIT, LONGEST_WAIT = dt.timedelta(minutes=1), dt.timedelta(days=365)
TRIGGERS = f"{CONFIRMED}, or {TAGGED}: <tag>"
STEP_KINDS = ("wait", "send", "tag", "if")
_CONDITION = re.compile(r"(not\s+)?(?:(clicked)|tagged\s+(.+))", re.IGNORECASE)


def automation_files(root: Path) -> list[Path]:
    """The automation files of the workspace at `root`, by name."""
    folder = root / "automations"
    return sorted(path for path in folder.glob("*.yaml") if not path.name.startswith(".")) if folder.is_dir() else []


def load_automation(path: Path, shown: Path | None = None) -> Automation:
    """Parse and validate `path` (named `shown` in messages, e.g. relative to the workspace).
    Raises AutomationFileError listing every problem found."""
    source = _read(path)
    path = shown or path
    try:
        screen_yaml(source, path)
    except IssueFileError as exc:
        raise AutomationFileError(str(exc.args[0]), exc.problems) from None
    try:
        data = new_yaml().load(source)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = Problem(path, mark.line + 1 if mark else None, None, f"YAML syntax error: {exc.problem or exc.context or 'cannot be parsed'}")
        raise AutomationFileError(f"{path} is not valid YAML:", [problem]) from None
    except (YAMLError, ValueError, RecursionError) as exc:
        raise AutomationFileError(f"{path}: cannot be read: {exc}") from None
    reader = _Reader(path)
    automation = reader.automation(data)
    if reader.problems or automation is None:
        problems = sorted(reader.problems, key=lambda p: p.line or 0)
        raise AutomationFileError(f"{path}: {len(problems)} problem" + ("s:" if len(problems) > 1 else ":"), problems)
    return automation


def _read(path: Path) -> str:
    return read_source(path, "automation file", AutomationFileError)


class _Reader:
    """Walks the parsed YAML (ruamel keeps each key's line), collecting problems rather than stopping at the first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.stem
        self.problems: list[Problem] = []
        self.count = 0

    def problem(self, line: int | None, field: tuple[str | int, ...] | None, message: str) -> None:
        self.problems.append(Problem(self.path, line, field_path(field) if field else None, message))

    def automation(self, data: Any) -> Automation | None:
        if not NAME.fullmatch(self.name):
            self.problem(1, None, f"the file's name {self.name!r} is not an automation name: lower-case letters, digits, '-' and '_' (e.g. welcome.yaml)")
        if not isinstance(data, dict):
            self.problem(1, None, "expected an automation (trigger: and steps:), found something else")
            return None
        known = ("trigger", "send_window", "steps")
        for key in data:
            if key not in known:
                self.problem(_key_line(data, key), (str(key),), f"unknown key (expected one of: {', '.join(known)})")
        trigger = self.trigger(data)
        window = None
        if data.get("send_window") is not None:
            try:
                window = parse_window(str(data["send_window"]))
            except ValueError as exc:
                self.problem(_key_line(data, "send_window"), ("send_window",), str(exc))
        if "steps" not in data:
            self.problem(_line(data), ("steps",), "is required: the list of steps (wait:, send:, if:, tag:)")
            return None
        steps = self.steps(data["steps"], ("steps",), "", _key_line(data, "steps"))
        if not steps and isinstance(data["steps"], list):
            self.problem(_key_line(data, "steps"), ("steps",), "needs at least one step")
        if trigger is None:
            return None
        return Automation(self.name, self.path, trigger, tuple(steps), window)

    def trigger(self, data: dict[str, Any]) -> Trigger | None:
        if "trigger" not in data:
            self.problem(_line(data), ("trigger",), f"is required: {TRIGGERS}")
            return None
        value, line = data["trigger"], _key_line(data, "trigger")
        if isinstance(value, str) and value.strip() == CONFIRMED:
            return Trigger(CONFIRMED)
        if isinstance(value, dict) and len(value) == 1 and TAGGED in value:
            tag = self.tag(value[TAGGED], line, ("trigger", TAGGED))
            return Trigger(TAGGED, tag) if tag else None
        if isinstance(value, str) and value.strip().startswith(TAGGED):
            self.problem(line, ("trigger",), f"write the tag after a colon and a space: `trigger: {{{TAGGED}: vip}}`, or on its own line below")
            return None
        self.problem(line, ("trigger",), f"expected {TRIGGERS}; got {_shown(value)}")
        return None

    def tag(self, value: Any, line: int, field: tuple[str | int, ...]) -> str | None:
        try:
            return normal_tag(str(value)) if isinstance(value, (str, int)) and not isinstance(value, bool) else normal_tag("")
        except ValueError as exc:
            self.problem(line, field, str(exc))
            return None

    def steps(self, value: Any, field: tuple[str | int, ...], prefix: str, line: int) -> list[Step]:
        if not isinstance(value, list):
            self.problem(line, field, "expected a list of steps (one per line, each starting with '- ')")
            return []
        found = []
        for position, item in enumerate(value, start=1):
            step = self.step(item, (*field, position - 1), f"{prefix}{position}", _item_line(value, position - 1))
            if step is not None:
                found.append(step)
        return found

    def step(self, item: Any, field: tuple[str | int, ...], step_id: str, line: int) -> Step | None:
        self.count += 1
        if self.count > MAX_STEPS:
            if self.count == MAX_STEPS + 1:
                self.problem(line, field, f"more than {MAX_STEPS} steps; split the automation")
            return None
        kinds = [kind for kind in STEP_KINDS if isinstance(item, dict) and kind in item]
        if not isinstance(item, dict) or len(kinds) != 1:
            self.problem(line, field, f"each step is one of wait: 2d, send: emails/<file>.yaml, tag: <tag>, if: <condition>; got {_shown(item)}")
            return None
        kind = kinds[0]
        allowed = ("if", "then", "else") if kind == "if" else (kind,)
        for key in item:
            if key not in allowed:
                self.problem(_key_line(item, key), (*field, str(key)), f"unknown key in a {kind} step (expected {', '.join(allowed)})")
        value, here = item[kind], (*field, kind)
        if kind == "wait":
            try:
                return Step(step_id, "wait", line, span=parse_span(str(value), SHORTEST_WAIT, LONGEST_WAIT))
            except ValueError as exc:
                self.problem(line, here, str(exc))
                return None
        if kind == "send":
            email = self.email(value, line, here, step_id)
            return Step(step_id, "send", line, email=email) if email else None
        if kind == "tag":
            tag = self.tag(value, line, here)
            return Step(step_id, "tag", line, tag=tag) if tag else None
        condition = self.condition(value, line, here)
        then = self.steps(item.get("then", []), (*field, "then"), f"{step_id}t", _key_line(item, "then") if "then" in item else line)
        otherwise = self.steps(item.get("else", []), (*field, "else"), f"{step_id}e", _key_line(item, "else") if "else" in item else line)
        if "then" not in item and "else" not in item:
            self.problem(line, here, "an if step needs a then: list, an else: list, or both")
        return Step(step_id, "if", line, condition=condition, then=tuple(then), otherwise=tuple(otherwise)) if condition else None

    def email(self, value: Any, line: int, field: tuple[str | int, ...], step_id: str) -> str | None:
        text = value.strip() if isinstance(value, str) else ""
        relative = PurePosixPath(text)
        if not text or relative.is_absolute() or ".." in relative.parts or relative.suffix != ".yaml" or "\\" in text:
            self.problem(line, field, f"expected an email file in the workspace, such as emails/welcome-1.yaml; got {_shown(value)}")
            return None
        key = f"{KEY_PREFIX}{self.name}-{step_id}"
        if len(key) > KEY_MAX:
            self.problem(line, field, f"this email's ledger key {key!r} is longer than {KEY_MAX} characters; give the automation file a shorter name")
        return relative.as_posix()

    def condition(self, value: Any, line: int, field: tuple[str | int, ...]) -> Condition | None:
        found = _CONDITION.fullmatch(value.strip()) if isinstance(value, str) else None
        if not found:
            self.problem(line, field, f"expected clicked, not clicked, tagged <tag> or not tagged <tag>; got {_shown(value)}")
            return None
        negated, clicked, tag = found.groups()
        if clicked:
            return Condition("clicked", None, bool(negated))
        checked = self.tag(tag, line, field)
        return Condition("tagged", checked, bool(negated)) if checked else None


def _line(node: Any) -> int:
    return int(node.lc.line) + 1 if hasattr(node, "lc") else 1


def _key_line(node: Any, key: Any) -> int:
    try:
        return int(node.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return _line(node)


def _item_line(node: Any, index: int) -> int:
    try:
        return int(node.lc.item(index)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return _line(node)


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else repr(value)
    return text if len(text) < 60 else text[:57] + "..."
