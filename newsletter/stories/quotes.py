"""Find an article's quote and who said it: pull quotes (HTML blockquotes, Markdown "> " quotes, a quote
line glued to its attribution such as "...what you build there.AI researcher, speaking...") and, failing
those, a quote inside a paragraph ("...," said Name, role. / „…“, sagte Name, „…“ / « … », a déclaré Name.)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

OPEN_MARKS = "“\"‘'«„"
CLOSE_MARKS = "”\"’'»“"
DASHES = "—–―~-"
MIN_QUOTE_WORDS = 6
MAX_ATTRIBUTION_WORDS = 16
# Words that start a sentence, not a name: "The plant opened in May.It employs 40 people" is a typo, not a quote.
NOT_A_SPEAKER_START = {
    "it", "its", "this", "that", "these", "those", "they", "there", "then", "we", "he", "she", "his", "her",
    "our", "in", "on", "at", "and", "but", "so", "if", "when", "after", "before", "a", "an",
}

# "there.AI researcher": a sentence end glued to the next capitalised word. The letter before the stop must
# be lower case (so "U.S.Army" is not split) and not itself an abbreviation ("e.g.The").
GLUE = re.compile(r"(?<=[a-z0-9%)\]])([.!?])([”\"’']?)(?=[A-Z][\w’'-])")
ONE_DOT = "\u2024"  # stands in for an honorific's full stop while matching
HONORIFIC = re.compile(r"\b(?:Dr|Prof|Mr|Mrs|Ms|Mx|St|Jr|Sr|Gen|Sen|Rep|Gov|Rev|Capt|Col|Lt|Sgt)\.")
TIME_OF_DAY = re.compile(r"\b([ap])\.(?=m\.)")  # "11 p.m." does not end the speaker's clause

# A quotation in running text, by its marks: “…” and "…" in English, „…“ in German, « … » in French.
QUOTATION = re.compile(r'„(?P<de>[^„“”]+)[“”]|“(?P<en>[^“”]+)”|"(?P<plain>[^"]+)"|«(?P<fr>[^«»]+)»')
# The words that say who spoke, before or after the name: "said X" / "X said" / "according to X", and
# their German ("sagte X", "laut X") and French ("a déclaré X", "selon X") kin.
SAY = (
    r"(?:said|says|added|adds|explained|explains|noted|notes|wrote|writes|argued|argues|recalled|recalls|warned|"
    r"warns|told|tells|asked|asks|replied|insisted|admitted|acknowledged|stressed|emphasi[sz]ed|continued|"
    r"observed|remarked|cautioned|conceded|declared|announced|confirmed|"
    r"sagte|sagt|sagten|erklärte|erklärt|betonte|betont|meinte|meint|ergänzte|ergänzt|kritisierte|warnte|"
    r"räumte|fügte|berichtete|"
    r"a\s+(?:dit|déclaré|expliqué|ajouté|affirmé|précisé|confié|dénoncé|estimé|indiqué|souligné|assuré|reconnu|"
    r"résumé|insisté|répondu|lancé|martelé|prévenu|[a-zà-ÿ]+é)|"
    r"déclare|dit|explique|ajoute|affirme|précise|confie|dénonce|estime|indique|souligne|assure|reconnaît|"
    r"résume|insiste|répond|prévient)"
)
SOURCE = r"(?:according\s+to|selon|laut)"
SAY_THEN_SPEAKER = re.compile(rf"^(?:(?i:{SOURCE})|{SAY})\s+(?P<who>\S.*)$")
SPEAKER_THEN_SAY = re.compile(rf"^(?P<who>\S.*?)\s+{SAY}(?:\s+.*)?$")
# What may follow the name in "said Name on Tuesday" / "räumte Name ein": not part of who spoke.
SPEAKER_TAIL = re.compile(
    r"\s+(?:(?:on|am|le|this|last)\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|montag|dienstag|"
    r"mittwoch|donnerstag|freitag|samstag|sonntag|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\w*"
    r"|in\s+an?\s+(?:statement|interview|email|post)|ein|hinzu|an|fort)$",
    re.IGNORECASE,
)
PRONOUNS = {"he", "she", "they", "we", "i", "it", "er", "sie", "wir", "ich", "es", "il", "elle", "ils", "elles", "nous", "on", "je"}
SENTENCE_BREAK = re.compile(r"[.!?][”\"»“]?\s+")
LONG_ATTRIBUTION = 12  # words; a longer one drops its closing ", who …" clause
RELATIVE_TAIL = re.compile(r",\s+(?:who|which|whose|der|die|das|dessen|deren|qui|dont)\b[^,]*$")


@dataclass(frozen=True)
class PullQuote:
    text: str
    attribution: str
    fragment: bool = False  # words quoted inside the writer's own sentence: "…" marks what is left out


def normalized(text: str) -> str:
    """Lower-case words only: for matching the same quote seen through two extractors."""
    return " ".join(re.findall(r"\w+", text.lower()))


def split_glued_quote(line: str) -> tuple[str, str] | None:
    """Split "Quote text ends here.Name, role" into (quote, attribution), or None if the line is not that."""
    for match in reversed(list(GLUE.finditer(line))):
        start = match.start()
        if start >= 2 and line[start - 2] in ".":  # "e.g.The"
            continue
        quote, attribution = line[: match.end()].strip(), line[match.end() :].strip()
        if looks_like_attribution(attribution, strict=True) and len(quote.split()) >= MIN_QUOTE_WORDS:
            return strip_quote_marks(quote), clean_attribution(attribution)
        return None  # only the last glue point can start an attribution
    return None


def split_quote_lines(lines: list[str]) -> tuple[str, str | None]:
    """A block quote's lines -> (quote text, attribution or None)."""
    lines = [line.strip() for line in lines if line.strip()]
    if not lines:
        return "", None
    if len(lines) >= 2 and (lines[-1][0] in DASHES or looks_like_attribution(lines[-1])):
        return strip_quote_marks(" ".join(lines[:-1])), clean_attribution(lines[-1])
    joined = " ".join(lines)
    glued = split_glued_quote(joined)
    if glued:
        return glued
    dashed = re.fullmatch(rf"(?P<q>[{OPEN_MARKS}].+[{CLOSE_MARKS}])\s*[{DASHES}]{{1,2}}\s*(?P<who>\S.*)", joined)
    if dashed and looks_like_attribution(dashed["who"]):
        return strip_quote_marks(dashed["q"]), clean_attribution(dashed["who"])
    inline = inline_quote(joined)
    if inline:
        return inline.text, inline.attribution
    return strip_quote_marks(joined), None


def inline_quote(text: str) -> PullQuote | None:
    """A quote inside running text, with its speaker named before, after or between its parts:
    '"…," said Name, role.', 'Name said: "…"', '“…,” said Name, “…”', '„…“, sagte Name, „…“', '« … », a déclaré Name'.
    None if no quote there names who said it."""
    text = HONORIFIC.sub(lambda m: m.group(0)[:-1] + ONE_DOT, text)  # so "Dr." does not end the speaker
    text = TIME_OF_DAY.sub(rf"\1{ONE_DOT}", text)
    quotations = list(QUOTATION.finditer(text))
    fragment = None
    for at, quotation in enumerate(quotations):
        following = quotations[at + 1] if at + 1 < len(quotations) else None
        found = _split_quote(text, quotation, following) or _quote_with_speaker(text, quotation, quotations[at - 1] if at else None)
        if found and len(found.text.split()) >= MIN_QUOTE_WORDS:
            found = PullQuote(found.text.replace(ONE_DOT, "."), clean_attribution(found.attribution.replace(ONE_DOT, ".")), found.fragment)
            if not found.fragment:
                return found
            fragment = fragment or found
    return fragment  # words of the speaker's inside the writer's sentence, marked as such


def _split_quote(text: str, first: re.Match[str], second: re.Match[str] | None) -> PullQuote | None:
    """One quote in two parts around its speaker: '“We built this,” said Maria Lopez, “and it shows.”'.
    The second part may also be the next sentence: '“It is slow,” said Ada Lee. “This is the moment.”'."""
    if second is None or _inside_a_sentence(text[: first.start()]):
        return None
    between = text[first.end() : second.start()].strip()
    clause = between.strip(" ,.")
    continues = between.endswith(",")
    if re.search(r"[.!?;]", clause) or not (continues or (between.endswith(".") and not _speaker_after(text, second))):
        return None  # more than the speaker stands between the parts, or the second part has its own
    speaker = _speaker_in(clause)
    if speaker is None:
        return None
    head, tail = _said(first), _said(second)
    if continues and tail[:1].islower():
        return PullQuote(_sentence_case_quote(f"{head.rstrip(' ,;:')}, {tail}"), speaker)
    return PullQuote(_sentence_case_quote(f"{_sentence_case_quote(head)} {tail}"), speaker)


def _quote_with_speaker(text: str, quotation: re.Match[str], previous: re.Match[str] | None) -> PullQuote | None:
    """One quote with its speaker after it ('“…,” Santos said.') or before it ('Rui Santos said: “…”')."""
    opening = SENTENCE_BREAK.split(text[previous.end() if previous else 0 : quotation.start()])[-1]
    speaker = _speaker_after(text, quotation)
    if speaker is not None:
        whole = not _inside_a_sentence(opening)  # '“…,” Santos said.', not 'The tax is “…,” Santos said.'
    else:
        speaker = _speaker_in(opening)
        whole = opening.rstrip().endswith((":", ","))  # 'Santos said: “…”', not 'Santos said the tax was “…”'
    if speaker is None:
        return None
    said = _said(quotation)
    return PullQuote(_sentence_case_quote(said), speaker) if whole else PullQuote(_marked_fragment(said), speaker, fragment=True)


def _inside_a_sentence(before: str) -> bool:
    """Whether words of the writer's come before a quotation in its sentence (`before` is the text up to it)."""
    return bool(re.search(r"\w", SENTENCE_BREAK.split(before)[-1]))


def _marked_fragment(said: str) -> str:
    """'the price of a clean conscience,' -> '…the price of a clean conscience…': a quoted phrase is not a
    sentence of the speaker's, so the quote shows that words come before it (and after, unless it ends one)."""
    said = " ".join(said.split()).rstrip(",;: ")
    return f"…{said}" if said.endswith((".", "!", "?", "…")) else f"…{said}…"


def _speaker_after(text: str, quotation: re.Match[str]) -> str | None:
    """The speaker named in the clause after a quote, up to the end of its sentence."""
    after = re.match(r"\s*,?\s*(?P<clause>[^.;!?„“”\"«»]{2,200}?)\s*(?:[.;!?]|$)", text[quotation.end() :])
    return _speaker_in(after["clause"]) if after else None


def _speaker_in(clause: str) -> str | None:
    """Who a clause such as "said Rui Santos, the planner" or "Santos told Radio Sul" names, or None."""
    clause = " ".join(clause.split()).strip(" ,:")
    found = SAY_THEN_SPEAKER.match(clause) or SPEAKER_THEN_SAY.match(clause)
    if not found:
        return None
    who = _speaker(SPEAKER_TAIL.sub("", found["who"].strip(" ,")))
    if len(who.split()) > LONG_ATTRIBUTION:
        who = RELATIVE_TAIL.sub("", who)
    last = who.split(",")[-1].strip().lower()
    if not who or last in PRONOUNS or len(who.split()) > MAX_ATTRIBUTION_WORDS:
        return None
    named = any(word[:1].isupper() for word in who.split()) or who.split()[0].lower() in {"the", "a", "an", "one"}
    return who if named else None


def _speaker(text: str) -> str:
    """'Speaking on Tuesday, Rui Santos, the planner,' -> 'Rui Santos, the planner': start at the name."""
    parts = [part.strip() for part in text.strip(" ,").split(",")]
    for index, part in enumerate(parts):
        words = part.split()
        if words and all(word[:1].isupper() for word in words):
            return ", ".join(parts[index:])
    return text.strip(" ,")


def _said(quotation: re.Match[str]) -> str:
    """The words inside a quotation's marks."""
    return " ".join(next(part for part in quotation.groups() if part is not None).split())


def best_quote(quote_blocks: Iterable[tuple[str, str | None]], paragraphs: Iterable[str]) -> PullQuote | None:
    """The first pull quote that names its speaker, else the first quote inside a paragraph that is a
    whole sentence of the speaker's, else the first quoted phrase (marked "…" as a fragment)."""
    story = list(paragraphs)
    for text, attribution in quote_blocks:
        if attribution and len(text.split()) >= MIN_QUOTE_WORDS:
            return PullQuote(text, full_name(attribution, story))
    fragment = None
    for paragraph in story:
        found = inline_quote(paragraph)
        if found and not found.fragment:
            return PullQuote(found.text, full_name(found.attribution, story))
        fragment = fragment or found
    # A whole sentence of the speaker's is better; a quoted phrase, marked as one, is still a quote.
    return PullQuote(fragment.text, full_name(fragment.attribution, story), fragment=True) if fragment else None


def full_name(attribution: str, story: list[str]) -> str:
    """A speaker named by first name alone ("Tessa told me") gets the full name the article gives
    them elsewhere ("owner Tessa Marlowe"), so the quote stands on its own in the newsletter."""
    if not re.fullmatch(r"[A-ZÀ-Þ][\w'’-]+", attribution):
        return attribution
    for paragraph in story:
        named = re.search(rf"\b{re.escape(attribution)}((?:\s+[A-ZÀ-Þ][\w'’-]+){{1,2}})", paragraph)
        if named:
            return re.sub(r"['’]s$", "", attribution + named.group(1))  # "Tessa Marlowe's bakery"
    return attribution


def _sentence_case_quote(text: str) -> str:
    """'we expected the cold to cost us more,' -> 'We expected the cold to cost us more.': a quote taken out
    of its sentence reads as one of its own ("iPhone" keeps its small letter)."""
    text = " ".join(text.split()).rstrip(",;: ")
    first = text.split(" ", 1)[0]
    if first.isalpha() and first.islower():
        text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def strip_quote_marks(text: str) -> str:
    text = text.strip()
    if len(text) > 2 and text[0] in OPEN_MARKS and text[-1] in CLOSE_MARKS:
        inner = text[1:-1].strip()
        if not any(mark in inner for mark in "“”\""):  # one quotation, not two quoted phrases
            return inner
    return text


def clean_attribution(text: str) -> str:
    text = " ".join(text.split()).strip(DASHES + " ").rstrip(",.;:").strip()
    text = re.sub(r"^(?:by|from)\s+", "", text, flags=re.IGNORECASE) if len(text.split()) > 2 else text
    return text[:1].upper() + text[1:]


def looks_like_attribution(text: str, strict: bool = False) -> bool:
    """Short, no sentence of its own, and named like a person or role ("Ada Lee, chair", "AI researcher, ...")."""
    words = text.split()
    plain = HONORIFIC.sub("X", text)  # "Dr. Ada Lee" has no sentence end in it
    if not words or len(words) > MAX_ATTRIBUTION_WORDS or re.search(r"[.!?][”\"']?\s+\S", plain):
        return False
    if text.rstrip()[-1:] in ".!?":
        return False
    if words[0].lower().strip(DASHES) in NOT_A_SPEAKER_START or not text.lstrip(DASHES + " ")[:1].isupper():
        return False
    capitalised = sum(word[:1].isupper() for word in words[:3])
    return not strict or "," in text or capitalised >= 2


def html_pull_quotes(markup: str | bytes) -> list[PullQuote]:
    """Every <blockquote> (or figure quote) of an HTML page's content that
    names its speaker in <cite>, <footer>, <figcaption> or a last line starting with a dash. trafilatura
    drops those elements, so this small lookup puts the speaker back on the quote it kept (or adds the
    quote when it dropped the whole figure)."""
    import lxml.html

    try:
        tree = lxml.html.fromstring(markup)
    except (ValueError, lxml.etree.ParserError):
        return []
    found: list[PullQuote] = []
    for quote in tree.iter("blockquote"):
        if _outside_the_story(quote):
            continue
        speaker_nodes = [node for node in quote.iter("cite", "footer") if node is not quote]
        figure = quote.getparent()
        if figure is not None and figure.tag == "figure":
            speaker_nodes += list(figure.iter("figcaption"))
        speaker = " ".join(speaker_nodes[0].text_content().split()) if speaker_nodes else ""
        for node in speaker_nodes:  # so the speaker is not read as part of the quote
            node.drop_tree()
        paragraphs = [" ".join(p.text_content().split()) for p in quote.iter("p")]
        paragraphs = [p for p in paragraphs or [" ".join(quote.text_content().split())] if p]
        if not speaker and len(paragraphs) >= 2 and paragraphs[-1][0] in DASHES:
            speaker = paragraphs.pop()
        text = strip_quote_marks(" ".join(paragraphs))
        if speaker and text:
            found.append(PullQuote(text, clean_attribution(speaker)))
    for box in tree.xpath("//*[contains(translate(@class, 'PULQOTE-', 'pulqote'), 'pullquote')]"):
        # <aside class="pull-quote"><p>Quote</p><span>Name, role</span></aside>
        parts = [" ".join(node.text_content().split()) for node in box if node.text_content().strip()]
        if box.tag != "blockquote" and len(parts) >= 2 and looks_like_attribution(parts[-1]):
            found.append(PullQuote(strip_quote_marks(" ".join(parts[:-1])), clean_attribution(parts[-1])))
    return found


NOT_STORY_TAGS = {"nav", "aside", "header", "footer", "form"}
# A class or id word that starts like this marks an embed or page furniture ("twitter-tweet", "sidebar-left").
NOT_STORY_CLASS = re.compile(
    r"(?:twitter-|instagram-)?(?:tweet|instagram|tiktok|embed|sidebar|related|comments?|promo|advert)", re.IGNORECASE
)


def _outside_the_story(element: Any) -> bool:
    """Embedded posts, sidebars, comments and page furniture hold quotes that are not the article's."""
    node = element
    while node is not None:
        if node is not element and node.tag in NOT_STORY_TAGS:
            return True
        if any(NOT_STORY_CLASS.match(word) for word in f"{node.get('class', '')} {node.get('id', '')}".split()):
            return True
        node = node.getparent()
    return False
