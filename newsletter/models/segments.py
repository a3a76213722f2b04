"""Segments: which readers an issue goes to, written as an expression.

    tag:vip and not tag:"on leave"
    topic:ai or segment:ai_readers
    attr.country = "DE" and attr.plan in ("pro", "team")
    joined < 30d
    clicked > 90d and received >= 6

The grammar is lark's (LALR); this module turns an expression into a small tree of frozen
dataclasses, resolving named segments ([segments] in newsletter.toml) into their trees, and checks
every tag and topic it names. A mistake is a SegmentError that shows the expression with a caret
under the mistake. Pure: no I/O, and db/segments.py turns a tree into SQL.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .audience import normal_tag

if TYPE_CHECKING:
    from lark import Lark, Token

GRAMMAR = r"""
?start: expr
?expr: disjunction
?disjunction: conjunction (OR conjunction)*
?conjunction: negation (AND negation)*
?negation: NOT negation -> negated
         | atom
?atom: LPAR expr RPAR
     | TAG COLON (TAG_WORD | STRING)       -> tag
     | TOPIC COLON NAME                    -> topic
     | SEGMENT COLON NAME                  -> segment
     | ATTR DOT NAME COMPARISON value      -> compare
     | ATTR DOT NAME IN LPAR value (COMMA value)* RPAR -> within
     | JOINED AGE_COMPARISON DURATION      -> joined
     | CLICKED AGE_COMPARISON DURATION     -> clicked
     | RECEIVED (AGE_COMPARISON | COMPARISON) NUMBER -> received
?value: STRING | NUMBER

OR: /or\b/i
AND: /and\b/i
NOT: /not\b/i
IN: /in\b/i
TAG: "tag"
TOPIC: "topic"
SEGMENT: "segment"
ATTR: "attr"
JOINED: "joined"
CLICKED: "clicked"
RECEIVED: "received"
COLON: ":"
DOT: "."
LPAR: "("
RPAR: ")"
COMMA: ","
COMPARISON: "!=" | "="
AGE_COMPARISON: "<=" | ">=" | "<" | ">"
DURATION: /[0-9]{1,5}[hdw]\b/
NUMBER: /-?[0-9]+(\.[0-9]+)?/
NAME: /[A-Za-z0-9_][A-Za-z0-9_-]*/
TAG_WORD: /\w[\w.:\/+&#@-]*/
STRING: /"[^"\n]*"/ | /'[^'\n]*'/

%ignore /[ \t]+/
"""

# What each of the grammar's words is called in a message.
SHOWN = {
    "OR": "'or'", "AND": "'and'", "NOT": "'not'", "IN": "'in'", "TAG": "tag:", "TOPIC": "topic:", "SEGMENT": "segment:",
    "ATTR": "attr.NAME", "JOINED": "joined", "CLICKED": "clicked", "RECEIVED": "received", "COLON": "':'", "DOT": "'.'", "LPAR": "'('",
    "RPAR": "')'", "COMMA": "','", "COMPARISON": "= or !=", "AGE_COMPARISON": "<, <=, > or >=", "DURATION": "an age such as 30d, 4w or 12h",
    "NUMBER": "a number", "NAME": "a name", "TAG_WORD": "a tag", "STRING": 'a quoted value such as "DE"', "$END": "the end",
}
CONDITIONS = ("TAG", "TOPIC", "SEGMENT", "ATTR", "JOINED", "CLICKED", "RECEIVED", "NOT", "LPAR")  # what may start a condition
BARE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")  # a named segment given alone
KEYWORDS = {"and", "or", "not", "in", "tag", "topic", "segment", "attr", "joined", "clicked", "received"}
UNITS = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1), "w": dt.timedelta(weeks=1)}


class SegmentError(ValueError):
    """An expression that cannot select anyone: the message shows it, with a caret under the mistake."""


# --- the tree ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HasTag:
    tag: str


@dataclass(frozen=True)
class InTopic:
    topic: str


@dataclass(frozen=True)
class Attribute:
    """attr.NAME = value, != value, or in (values). A reader without the attribute matches only !=."""

    name: str
    operator: Literal["=", "!=", "in"]
    values: tuple[str, ...]


@dataclass(frozen=True)
class Joined:
    """joined < AGE: signed up within AGE; joined > AGE: longer ago than AGE."""

    within: bool
    age: dt.timedelta


@dataclass(frozen=True)
class Clicked:
    """clicked < AGE (or <=): the reader clicked a link within AGE; clicked > AGE (or >=): they did
    not (never clicking included), the exact opposite. A click is a person's: a click the redirect
    judged a mail scanner's, or one the provider reported for a scanner, is not one."""

    within: bool
    age: dt.timedelta


@dataclass(frozen=True)
class Received:
    """received OP N: how many issues the reader was sent (the ledger's `sent` rows), compared with N."""

    operator: Literal["<", "<=", "=", "!=", ">", ">="]
    count: int


@dataclass(frozen=True)
class Not:
    part: Expression


@dataclass(frozen=True)
class All:
    parts: tuple[Expression, ...]


@dataclass(frozen=True)
class Any:
    parts: tuple[Expression, ...]


Expression = HasTag | InTopic | Attribute | Joined | Clicked | Received | Not | All | Any


@dataclass(frozen=True)
class Segment:
    """A parsed segment: its tree and the label deliveries are recorded under (the expression as
    written, or the named segment's name)."""

    label: str
    expression: Expression


# --- parsing -------------------------------------------------------------------------------------


def parse_segment(text: str, named: Mapping[str, str], topics: Collection[str], unmeasured_clicks: str | None = None) -> Segment:
    """`text` (an expression, or the name of one of `named`) as a Segment, every named segment it
    uses resolved, every tag and topic checked against `topics` (the workspace's). With
    `unmeasured_clicks` (why the workspace knows nobody's clicks), `clicked` is refused with that
    reason. Raises SegmentError."""
    text = " ".join(text.split())
    if not text:
        raise SegmentError("a segment cannot be empty: give an expression such as tag:vip, or the name of one of [segments]")
    resolver = _Resolver(named, topics, unmeasured_clicks)
    if BARE_NAME.fullmatch(text) and text not in KEYWORDS:
        return Segment(text, resolver.named(text, None))
    return Segment(text, resolver.parse(text, None))


def segment_problem(text: str, named: Mapping[str, str], topics: Collection[str], unmeasured_clicks: str | None = None) -> str | None:
    """Why `text` is not a usable segment, or None."""
    try:
        parse_segment(text, named, topics, unmeasured_clicks)
    except SegmentError as exc:
        return str(exc)
    return None


@functools.cache
def _parser() -> Lark:
    from lark import Lark  # here: only a segmented send pays for loading it

    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


class _Resolver:
    """Parses expressions, following named segments (each at most once on the way down: a cycle is refused)."""

    def __init__(self, named: Mapping[str, str], topics: Collection[str], unmeasured_clicks: str | None = None) -> None:
        self.named_segments = named
        self.topics = topics
        self.unmeasured_clicks = unmeasured_clicks
        self.following: list[str] = []

    def parse(self, text: str, within: str | None) -> Expression:
        from lark.exceptions import UnexpectedInput

        try:
            tree = _parser().parse(text)
        except UnexpectedInput as exc:
            message = _syntax_message(text, exc, within)
            word = re.match(r"[a-z0-9_-]+", text[exc.pos_in_stream or 0 :] if exc.pos_in_stream is not None else "")
            if word and word.group() in self.named_segments:  # a named segment inside an expression
                message = message.replace(":\n", f" (inside an expression, a named segment is written segment:{word.group()}):\n", 1)
            raise SegmentError(message) from None
        return self._build(tree, text, within)

    def named(self, name: str, at: tuple[str, int] | None) -> Expression:
        """The tree of the named segment `name`; `at` is (the expression, the offset) that names it."""
        if name not in self.named_segments:
            known = sorted(self.named_segments)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else (f"; the named segments are {', '.join(known)}" if known else "; newsletter.toml has no [segments]")
            raise SegmentError(_pointed(f"no segment named {name!r} in [segments]{hint}", at))
        if name in self.following:
            path = " -> ".join([*self.following[self.following.index(name):], name])
            raise SegmentError(_pointed(f"the named segments refer to each other in a circle ({path}), so {name!r} selects nobody", at))
        self.following.append(name)
        try:
            return self.parse(" ".join(self.named_segments[name].split()), name)
        finally:
            self.following.pop()

    def _build(self, tree: object, text: str, within: str | None) -> Expression:
        from lark import Token, Tree

        if isinstance(tree, Token):  # a lone token never reaches here: every rule has a name
            raise SegmentError(_pointed("expected a condition", (text, tree.start_pos or 0), within))
        assert isinstance(tree, Tree)
        kind = str(tree.data)
        tokens = [child for child in tree.children if isinstance(child, Token)]
        at = (text, tree.meta.start_pos if not tree.meta.empty else 0)
        if kind == "disjunction":
            return Any(tuple(self._build(child, text, within) for child in tree.children if isinstance(child, Tree)))
        if kind == "conjunction":
            return All(tuple(self._build(child, text, within) for child in tree.children if isinstance(child, Tree)))
        if kind == "negated":
            return Not(self._build(tree.children[-1], text, within))
        if kind == "atom":  # ( expr )
            return self._build(tree.children[1], text, within)
        return self._condition(kind, tokens, at, within)

    def _condition(self, kind: str, tokens: list[Token], at: tuple[str, int], within: str | None) -> Expression:
        """One condition of the expression (a rule of GRAMMAR whose children are all tokens)."""
        if kind == "tag":
            return self._tag(_unquoted(tokens[-1]), at, within)
        if kind == "topic":
            return self._topic(str(tokens[-1]), at, within)
        if kind == "segment":
            return self.named(str(tokens[-1]), _at(at, within))
        if kind in ("compare", "within"):
            name = str(tokens[2])
            values = tuple(_unquoted(token) for token in tokens if token.type in ("STRING", "NUMBER"))
            operator = "in" if kind == "within" else str(tokens[3])
            return Attribute(name, operator, values)  # type: ignore[arg-type]  # the grammar allows only these three
        if kind == "joined":  # ages are measured to the second: < and <= select the same readers, as > and >= do
            return Joined(within=str(tokens[1]).startswith("<"), age=_age(tokens[2]))
        if kind == "clicked":
            if self.unmeasured_clicks:
                raise SegmentError(_pointed(f"clicked cannot select anyone here: {self.unmeasured_clicks}", at, within))
            return Clicked(within=str(tokens[1]).startswith("<"), age=_age(tokens[2]))
        if kind == "received":
            return Received(str(tokens[1]), _count(tokens[2], at[0], within))  # type: ignore[arg-type]  # the grammar allows only the six
        raise SegmentError(_pointed(f"expected a condition, not {kind}", at, within))  # a rule added to GRAMMAR but not here

    def _tag(self, value: str, at: tuple[str, int], within: str | None) -> HasTag:
        try:
            return HasTag(normal_tag(value))
        except ValueError as exc:
            raise SegmentError(_pointed(str(exc), at, within)) from None

    def _topic(self, key: str, at: tuple[str, int], within: str | None) -> InTopic:
        if key in self.topics:
            return InTopic(key)
        if not self.topics:
            raise SegmentError(_pointed(f"topic:{key}: newsletter.toml has no [topics]", at, within))
        close = difflib.get_close_matches(key, list(self.topics), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise SegmentError(_pointed(f"no topic {key!r} in [topics]; {hint}the topics are {', '.join(self.topics)}", at, within))


def _at(at: tuple[str, int], within: str | None) -> tuple[str, int] | None:
    return at if within is None else (f"{at[0]}\x00{within}", at[1])


def _age(token: Token) -> dt.timedelta:
    value = str(token)
    return int(value[:-1]) * UNITS[value[-1]]


def _count(token: Token, text: str, within: str | None) -> int:
    """A number of issues: a whole number, 0 or more."""
    value = str(token)
    if not value.isdigit():
        raise SegmentError(_pointed(f"received counts whole issues: give a whole number such as 6, not {value}", (text, token.start_pos or 0), within))
    return int(value)


def _unquoted(token: Token) -> str:
    value = str(token)
    return value[1:-1] if token.type == "STRING" else value


def _pointed(message: str, at: tuple[str, int] | None, within: str | None = None) -> str:
    """`message`, then the expression with a caret under offset `at`."""
    if at is None:
        return message
    text, offset = at
    if "\x00" in text:  # an offset inside a named segment's expression (see _at)
        text, within = text.split("\x00", 1)
    where = f" (in [segments] {within})" if within else ""
    return f"{message}{where}:\n  {text}\n  {' ' * offset}^"


def _syntax_message(text: str, error: Exception, within: str | None) -> str:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    offset = len(text)
    expected: set[str] = set()
    found = "the end"
    if isinstance(error, UnexpectedToken):
        at_end = error.token.type == "$END"  # lark places the end at the last token: the caret goes after it
        offset = error.token.start_pos if isinstance(error.token.start_pos, int) and not at_end else len(text)
        expected = set(error.expected)
        found = "the end" if at_end else repr(str(error.token))
        if _open_parentheses(text[:offset]) == 0:  # LALR's states are shared: ')' may be listed where nothing is open
            expected.discard("RPAR")
    elif isinstance(error, UnexpectedCharacters):
        offset = error.pos_in_stream if error.pos_in_stream is not None else len(text)
        expected = set(error.allowed or ())
        found = repr(text[offset]) if offset < len(text) else "the end"
    elif isinstance(error, UnexpectedEOF):
        expected = set(error.expected)
    return _pointed(f"segment {text!r}: expected {_expected(expected)}, found {found}", (text, offset), within)


def _open_parentheses(text: str) -> int:
    """How many '(' are open at the end of `text` (quoted values aside)."""
    unquoted = re.sub(r"\"[^\"]*\"|'[^']*'", "", text)
    return unquoted.count("(") - unquoted.count(")")


def _expected(names: set[str]) -> str:
    if names & set(CONDITIONS) and names <= set(CONDITIONS) | {"NOT"}:
        return "a condition (tag:, topic:, segment:, attr.NAME, joined, clicked, received, not or '(')"
    if names == {"AGE_COMPARISON", "COMPARISON"}:  # after `received`
        return "a comparison (<, <=, =, !=, > or >=)"
    shown = sorted({SHOWN.get(name, name.lower()) for name in names})
    if not shown:
        return "something else"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
