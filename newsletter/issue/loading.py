"""Read an issue file (YAML) into an Issue, reporting every problem with its file, line and field."""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, ScalarEvent

from ..errors import MAX_PROBLEMS_SHOWN, IssueFileError, NewsletterError, Problem
from ..files.reading import UnreadableFile, read_capped
from ..models import NONCHARACTER, Issue

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

Field = tuple[str | int, ...]  # a field's path in an issue, as pydantic gives it: ("sections", 0, "title")

MAX_FILE_BYTES = 2_000_000  # a 25-story issue is about 30 KB; megabytes are a mistake or an attack
MAX_DEPTH = 12  # an issue nests 6 deep (sections, stories, quote); deeper is not an issue file
MAX_DIGITS = 100  # Python refuses to read integers over 4,300 digits; no field needs 100
# What YAML 1.2 refuses to read in a file (its "printable" set, inverted): C0 and C1 controls other
# than tab, line breaks and NEL, and U+FFFE / U+FFFF. Escaped in double quotes ("\uffff"), the models refuse them.
NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# What each required field is for, so "missing" reads as advice rather than jargon.
REQUIRED_HINTS = {
    "title": "every story and section needs a title",
    "url": "a story needs a link to the article (an http(s) URL)",
    "summary": "a story needs a summary (Markdown)",
    "source": "name the site or publication the story comes from",
    "alt": "an image needs alt text describing it for people who cannot see it",
    "src": "an image needs the http(s) URL of the picture, or its path in the workspace (images/chip.jpg)",
    "text": "the text is required",
    "attribution": "say who said it",
    "number": "the issue number (a whole number, e.g. 42)",
    "date": "the issue date as YYYY-MM-DD",
    "subject": "the email subject line",
    "preheader": "the preview text shown after the subject in the inbox",
    "sections": "a list of sections, each with a title and stories",
    "stories": "a list of stories",
}

MESSAGES = {
    "string_type": "expected text; put it in quotes if it looks like a number or a date",
    "string_too_short": "must not be empty",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "date_type": "expected a date as YYYY-MM-DD",
    "date_parsing": "expected a date as YYYY-MM-DD",
    "date_from_datetime_parsing": "expected a date as YYYY-MM-DD",
    "date_from_datetime_inexact": "expected a date as YYYY-MM-DD (without a time)",
    "list_type": "expected a list (one item per line, each starting with '- ')",
    "model_type": "expected a mapping of keys and values",
    "model_attributes_type": "expected a mapping of keys and values",
}

# Messages that need the rule's own numbers (pydantic passes them in the error's ctx).
BOUNDS = {
    "too_short": "needs at least {min_length} item(s)",
    "too_long": "has {actual_length} items; at most {max_length}",
    "greater_than": "must be more than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
}


def new_yaml() -> YAML:
    """The round-trip parser: it keeps line numbers (for errors) and comments (for editing)."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    return yaml


def load_issue(path: Path) -> Issue:
    """Parse and validate `path`. Raises IssueFileError listing every problem found."""
    return parse_issue(read_source(path), path)


def read_source(path: Path, what: str = "issue file", error: type[NewsletterError] = IssueFileError) -> str:
    """The text of an issue file (or another YAML file of the workspace, `what`, whose problems
    raise `error`): a regular UTF-8 file of at most MAX_FILE_BYTES."""
    try:
        data = read_capped(path, MAX_FILE_BYTES, what)
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except UnreadableFile as exc:
        raise error(f"{path}: {exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"{path}:{line}: is not UTF-8 text (byte {exc.start + 1}); save it as UTF-8") from None


class _SafeDatesAsText(SafeConstructor):
    """Dates stay text for pydantic to check: YAML's own date constructor raises a bare
    ValueError, with no line, for an impossible date such as 2026-02-30."""


class _RoundTripDatesAsText(RoundTripConstructor):
    """The same, for the parser that knows line numbers."""


_SafeDatesAsText.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)
_RoundTripDatesAsText.add_constructor("tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str)


def _checking_yaml(typ: str) -> YAML:
    yaml = YAML(typ=typ)
    yaml.Constructor = _SafeDatesAsText if typ == "safe" else _RoundTripDatesAsText
    return yaml


def parse_issue(source: str, path: Path) -> Issue:
    # The C (libyaml) parser is ~5x faster; the round-trip parser, which knows line numbers,
    # runs only when there are errors to locate.
    screen_yaml(source, path)
    data = _parse_yaml(_checking_yaml("safe"), source, path)
    folded = folded_items(source, path)
    if folded:
        raise IssueFileError(f"{path}: list items run together:", folded)
    if not isinstance(data, dict):
        problem = Problem(path, 1, None, "expected the issue's fields (number:, date:, subject:, ...), found something else")
        raise IssueFileError(f"{path} is not an issue file:", [problem])
    try:
        return Issue.model_validate(data)
    except ValidationError as exc:
        located = _parse_yaml(_checking_yaml("rt"), source, path)
        problems = sorted((_problem(path, located, err) for err in exc.errors()), key=lambda p: p.line or 0)
        count = f"{len(problems):,} problem" + ("s" if len(problems) > 1 else "")
        # Past what is shown, the file is broken through and through: checking the rest would only add to the list.
        rest = rest_of(data, exc.errors()) if len(problems) <= MAX_PROBLEMS_SHOWN else None
        raise InvalidIssue(f"{path}: {count}:", problems, rest) from None


@dataclass(frozen=True)
class RestOfIssue:
    """An issue file's issue without the parts whose fields do not validate, so the checks can
    still look at everything else. Its lists may be shorter than the file's: `kept` maps them back."""

    issue: Issue
    kept: dict[Field, list[int]]  # for each list, by its path in the file: the file's indices of the items left

    def in_file(self, loc: Field) -> Field:
        """The path in the file of a field of `issue`."""
        return _in_file(self.kept, loc)


def _in_file(kept: dict[Field, list[int]], loc: Field) -> Field:
    """A path in the shortened lists as a path in the file: ('sections', 0, 'stories', 1) is the
    file's stories[2] when its stories[0] was left out."""
    found: list[str | int] = []
    for part in loc:
        indices = kept.get(tuple(found)) if isinstance(part, int) else None
        found.append(indices[part] if isinstance(part, int) and indices is not None and 0 <= part < len(indices) else part)
    return tuple(found)


class InvalidIssue(IssueFileError):
    """An issue file that parses but has fields that do not validate. `rest` is the issue without
    the parts holding them, or None when a field every issue needs (subject, number...) is broken."""

    def __init__(self, message: str, problems: list[Problem], rest: RestOfIssue | None) -> None:
        super().__init__(message, problems)
        self.rest = rest


# Leaving out a part can break the part around it (a section whose only story was left out has
# none): each round leaves out one level more, and an issue nests 6 deep.
MAX_ROUNDS = 8


def rest_of(data: dict[str, Any], errors: Sequence[ErrorDetails]) -> RestOfIssue | None:
    """The issue in `data` without the smallest parts around each error that it can do without (an
    optional field, a list item, an unknown key), or None when an error is in a field it needs."""
    cuts: set[Field] = set()
    kept: dict[Field, list[int]] = {}
    for _ in range(MAX_ROUNDS):
        found = {_cut_for(_in_file(kept, tuple(err["loc"]))) for err in errors}
        if None in found or found <= cuts:
            return None
        cuts |= {cut for cut in found if cut is not None}
        pruned, kept = _without(data, cuts)
        try:
            return RestOfIssue(Issue.model_validate(pruned), kept)
        except ValidationError as exc:
            errors = exc.errors()
    return None


def _cut_for(loc: Field) -> Field | None:
    """The innermost part around the field at `loc` that an issue can do without, or None."""
    model: type[BaseModel] | None = Issue
    cut = None
    for depth, part in enumerate(loc):
        here = loc[: depth + 1]
        if isinstance(part, int):
            cut = here  # a list item: the list goes on without it
            continue
        field = model.model_fields.get(str(part)) if model else None
        if field is None:
            return here if model else cut  # an unknown key goes; inside a plain value, its item
        if not field.is_required():
            cut = here
        model = _model_in(field.annotation)
    return cut


def _without(data: Any, cuts: set[Field]) -> tuple[Any, dict[Field, list[int]]]:
    """`data` less the parts at `cuts`, and for each list the indices of the items kept."""
    kept: dict[Field, list[int]] = {}

    def walk(node: Any, path: Field) -> Any:
        if isinstance(node, dict):
            return {key: walk(value, (*path, key)) for key, value in node.items() if (*path, key) not in cuts}
        if isinstance(node, list):
            kept[path] = [i for i in range(len(node)) if (*path, i) not in cuts]
            return [walk(node[i], (*path, i)) for i in kept[path]]
        return node

    return walk(data, ()), kept


def screen_yaml(source: str, path: Path) -> None:
    """Refuse what YAML allows but an issue file never needs, before anything is built from it:
    aliases (a 10 KB file of them expands to millions of stories), deep nesting (the parser
    recurses, and crashes at some depth) and integers too long for Python to read. libyaml's
    event stream is flat and lazy, so this stops at the first sign, in well under a millisecond
    for a normal issue."""
    refused = not_printable(source, path)
    if refused:
        raise IssueFileError(f"{path}: cannot be read:", refused)
    depth = 0
    try:
        for event in _checking_yaml("safe").parse(source):
            line = event.start_mark.line + 1
            if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                problem = "YAML anchors and aliases (&name, *name) are not supported in issue files; write each value out"
                raise IssueFileError(f"{path}: cannot be read:", [Problem(path, line, None, problem)])
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    problem = f"nested more than {MAX_DEPTH} levels deep; an issue file needs at most 6 (check the brackets and indentation)"
                    raise IssueFileError(f"{path}: cannot be read:", [Problem(path, line, None, problem)])
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
            elif isinstance(event, ScalarEvent) and not event.style and _too_many_digits(event.value):
                problem = f"a number with {len(event.value):,} digits; put it in quotes if it is text"
                raise IssueFileError(f"{path}: cannot be read:", [Problem(path, line, None, problem)])
    except MarkedYAMLError:
        return  # a syntax error: the loader reports it with its line


def not_printable(source: str, path: Path) -> list[Problem]:
    """Each character the YAML reader would refuse, with its line and field (the reader itself
    names neither: it stops with a position in the text)."""
    found = list(NOT_PRINTABLE.finditer(source))
    if not found:
        return []
    try:  # the same text with each refused character made readable, to find the fields around them
        data = _checking_yaml("rt").load(NOT_PRINTABLE.sub("\ufffd", source))
    except (YAMLError, ValueError, RecursionError):
        data = None
    problems = []
    for match in found:
        line = source.count("\n", 0, match.start())
        column = match.start() - (source.rfind("\n", 0, match.start()) + 1) + 1
        code = ord(match.group(0))
        kind = "a Unicode noncharacter" if NONCHARACTER.match(match.group(0)) else "a control character"
        problems.append(Problem(path, line + 1, _field_at(data, line), f"contains U+{code:04X}, {kind}, at column {column}; delete it"))
    return problems


def _field_at(data: Any, line: int) -> str | None:
    """The path of the deepest field whose value runs over `line` (0-based) of the parsed YAML."""
    loc: list[Any] = []
    node = data
    while isinstance(node, (dict, list)):
        starts = [(_positions(node).key(k)[0], k) for k in node] if isinstance(node, dict) else [(_positions(node).item(i)[0], i) for i in range(len(node))]
        before = [part for start, part in starts if start <= line]
        if not before:
            break
        loc.append(before[-1])
        node = node[before[-1]]
    return field_path(tuple(loc)) if loc else None


# A list item's plain text: not quoted, not a block (| or >), not a mapping (key: value).
_PLAIN_ITEM = re.compile(r"-\s+(?![\"'|>\[{&*!#])(?![^\s:]+:(?:\s|$))\S")


def folded_items(source: str, path: Path) -> list[Problem]:
    """`- ` lines that YAML reads as more text of the item above, because they are indented more
    than it: four key facts then become one long one, silently."""
    problems = []
    item: tuple[int, int] | None = None  # (indent, line) of the plain-text item that may run on
    for number, line in enumerate(source.splitlines(), start=1):
        text = line.lstrip(" ")
        if not text or text.startswith("#"):
            continue
        indent = len(line) - len(text)
        if item and indent > item[0] and (text.startswith("- ") or text == "-"):
            problems.append(Problem(path, number, None, (
                f"this '- ' line is indented more than the item on line {item[1]}, so YAML reads it as more text of that item;"
                f" line up its dash with the one on line {item[1]} to make it an item of its own"
            )))
            continue
        if item and indent <= item[0]:
            item = None
        if _PLAIN_ITEM.match(text):
            item = (indent, number)
    return problems


def _too_many_digits(value: str) -> bool:
    return len(value) > MAX_DIGITS and value.lstrip("+-").isdigit()


def _parse_yaml(yaml: YAML, source: str, path: Path) -> Any:
    try:
        return yaml.load(source)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or exc.context or "cannot be parsed"
        if exc.problem and exc.context and exc.context_mark and exc.context_mark.line + 1 != line:
            # The parser notices late; the context says where the broken construct began.
            what += f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
        line, hint = _hint(exc, line, source)
        problem = Problem(path, line, None, f"YAML syntax error: {what}" + (f"; {hint}" if hint else ""))
        raise IssueFileError(f"{path} is not valid YAML:", [problem]) from None
    except (ValueError, RecursionError) as exc:  # screen_yaml stops the known ways; this is the net
        raise IssueFileError(f"{path}: cannot be read: {exc}") from None


def _hint(exc: MarkedYAMLError, line: int | None, source: str) -> tuple[int | None, str | None]:
    """The likely fix for the YAML mistakes editors make, and the line where it is to be made."""
    problem, context = exc.problem or "", exc.context or ""
    if "quoted scalar" in context and exc.context_mark:
        start = exc.context_mark.line + 1  # the parser only notices at the end of the file
        return start, f"the quote opened on line {start} is never closed: close it (and put any quote inside the text as \\\" or use the other kind of quote)"
    if "mapping values are not allowed" in problem and line:
        text = source.splitlines()[line - 1] if line <= len(source.splitlines()) else ""
        key = text.split(":", 1)[0].strip().lstrip("- ").strip() or "value"
        return line, f"the {key} holds a colon followed by a space: put the {key} in quotes, e.g. {key}: \"Apple: the new phone\""
    if "\t" in problem or "cannot start any token" in problem:
        return line, "YAML indents with spaces, not tabs: replace the tab with spaces"
    if "expected key" in problem or "block end" in problem:
        opened = _unclosed_quote(source, line or 0)
        if opened:  # a quote left open swallows the lines after it; the parser trips over later
            return opened, f"the quote opened on line {opened} is not closed on that line: close it"
        return line, "this line is indented differently from the lines it belongs with: line it up with them"
    return line, None


def _unclosed_quote(source: str, upto: int) -> int | None:
    """The first line before `upto` whose value opens a double or single quote it does not close."""
    for number, line in enumerate(source.splitlines()[:upto], start=1):
        value = re.sub(r"^\s*(?:-\s+)?(?:[^\s\"'#:][^:]*:\s+)?", "", line, count=1)
        if value[:1] == '"' and len(re.findall(r'(?<!\\)"', value)) % 2 == 1:
            return number
        if value[:1] == "'" and value.replace("''", "").count("'") % 2 == 1:
            return number
    return None


def field_path(loc: Field) -> str:
    """('sections', 1, 'stories', 2, 'url') -> 'sections[1].stories[2].url'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def field_lines(path: Path, fields: list[Field]) -> dict[Field, int]:
    """The line of each field path (a tuple like ("sections", 0, "title")) in the issue file at
    `path`, for findings about a valid issue. Empty when the file cannot be read again."""
    if not fields:
        return {}
    try:
        data = _checking_yaml("rt").load(read_source(path))
    except (IssueFileError, YAMLError, ValueError, RecursionError):
        return {}
    return {loc: _line_of(data, tuple(loc)) for loc in fields}


def _problem(path: Path, data: Any, err: ErrorDetails) -> Problem:
    loc = tuple(err["loc"])
    return Problem(path, _line_of(data, loc), field_path(loc), _message(loc, err))


def _positions(node: Any) -> Any:
    """ruamel's line and column record of a parsed mapping or sequence."""
    return node.lc


def _line_of(data: Any, loc: Field) -> int:
    """The 1-based line of the deepest part of `loc` that exists in the parsed YAML."""
    node: Any = data
    line: int = data.lc.line
    for part in loc:
        if isinstance(node, dict) and part in node:
            line = _positions(node).key(part)[0]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            line = _positions(node).item(part)[0]
        else:
            break  # a missing key: point at the mapping that should hold it
        node = node[part]
    return line + 1


def _message(loc: Field, err: ErrorDetails) -> str:
    kind, name = err["type"], loc[-1] if loc else ""
    if kind == "missing":
        hint = REQUIRED_HINTS.get(str(name))
        return f"is required: {hint}" if hint else "is required but missing"
    if kind == "extra_forbidden":
        known = _known_keys(loc[:-1])
        close = difflib.get_close_matches(str(name), known, n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown key ({guess}expected one of: {', '.join(known)})"
    if kind in BOUNDS:
        return BOUNDS[kind].format(**err.get("ctx", {}))
    reason = str(err.get("ctx", {}).get("error", ""))
    if kind.startswith("date_") and "range" in reason:  # 2026-02-30, or a swapped 2026-25-11
        return f"{_shown(err.get('input'))} is not a date in the calendar ({reason}); expected YYYY-MM-DD"
    if kind in MESSAGES:
        return f"{MESSAGES[kind]}, got {_shown(err.get('input'))}" if "input" in err else MESSAGES[kind]
    return err["msg"].removeprefix("Value error, ")


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else type(value).__name__ if isinstance(value, (dict, list)) else str(value)
    return text if len(text) < 60 else text[:57] + "..."


def _known_keys(loc: Field) -> list[str]:
    """The keys allowed at `loc`, found by walking the model classes alongside the path."""
    model: type[BaseModel] = Issue
    for part in loc:
        if isinstance(part, int):
            continue
        inner = _model_in(model.model_fields[part].annotation)
        if inner is None:
            return []
        model = inner
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """Find the model class inside list[Model], Model | None, Annotated[...]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) in (typing.Union, list, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found:
                return found
    return None


_numbers_cache: dict[Path, tuple[tuple[int, int], int | None]] = {}


def issue_numbers(issues_dir: Path, strict: bool = False) -> dict[Path, int]:
    """The `number:` of every issue file in the folder. Files that cannot be read are left out,
    or with `strict` raise IssueFileError. Remembered per file until it changes, so the preview
    can ask on every save."""
    yaml = _checking_yaml("safe")
    found: dict[Path, int] = {}
    for path in sorted(issues_dir.glob("*.yaml")) if issues_dir.is_dir() else []:
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            cached = _numbers_cache.get(path)
            if cached is None or cached[0] != stamp:
                source = read_source(path)
                screen_yaml(source, path)
                data = yaml.load(source)
                number = data.get("number") if isinstance(data, dict) else None
                cached = (stamp, number if isinstance(number, int) and not isinstance(number, bool) else None)
                _numbers_cache[path] = cached
        except (OSError, YAMLError, ValueError, RecursionError, IssueFileError) as exc:
            if strict:
                raise IssueFileError(f"{path}: cannot read its issue number: {exc}") from None
            continue
        if cached[1] is not None:
            found[path] = cached[1]
    return found
