"""Key facts: the article's own list (under "Key facts", "Highlights", "What happened"...) item for item,
else its most informative sentences (numbers, dates, names, the main subject), shortened where long."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .clean import Block
from .scoring import bag, cosine, vectors
from .sentences import Sentence, terms

MIN_FACTS = 3
MAX_FACTS = 5
PICKED_FACTS = 4  # when choosing sentences: enough to be useful, few enough to scan
FACT_CHARS = 120  # the issue check warns above 140; drafted facts aim under it
REDUNDANT = 0.45

KEY_LIST_HEADING = re.compile(
    r"(?:the\s+)?(?:(?:key|main|quick|fast|top|important|\d+|three|four|five)\s+)?"
    r"(?:facts?|points?|takeaways?|highlights?|details|numbers|findings|things to know)"
    r"(?:\s+(?:at a glance|so far|to know|about .{1,40}|from .{1,40}|in brief))?"
    r"|what (?:happened|we know(?: so far)?|you need to know|to know|changed)"
    r"|at a glance|in brief|in short|in numbers|by the numbers|tl;?dr|the essentials|need to know"
    r"|the short version|the gist|summary|quick facts|the basics",
    re.IGNORECASE,
)
NUMBER = re.compile(
    r"\d|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"thousand|million|billion|trillion|percent|per cent|dozen|half|double|twice)\b",
    re.IGNORECASE,
)
DATE_WORD = re.compile(
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november|december|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|(?:19|20)\d\d|spring|summer|autumn|winter|quarter)\b",
    re.IGNORECASE,
)
HEDGE = re.compile(
    r"\b(?:could|may|might|would|likely|perhaps|possibly|suggests?|seems?|appears?|arguably|considered|"
    r"will be (?:read|watched|seen))\b",
    re.IGNORECASE,
)
LEANS_BACK = re.compile(r"^(?:it|this|that|these|those|they|but|and|also|however|such|so)\b", re.IGNORECASE)
PROPER_NOUN = re.compile(r"(?<=[\w,;:] )[A-Z][\w’'-]+")
QUOTE_MARKS = re.compile(r"[“”\"]")
QUOTED_SPEECH = re.compile(r"[“\"][^“”\"]*\s[^“”\"]*\s[^“”\"]*\s[^“”\"]*[”\"]")  # four words or more in quotes


def listed_facts(blocks: Sequence[Block]) -> list[str]:
    """The items of the article's own key-facts list, exactly as written (at most five)."""
    for heading in (b.text for b in blocks if b.kind == "heading"):
        if not is_key_list_heading(heading):
            continue
        items = [b.text.rstrip() for b in blocks if b.kind == "item" and b.section == heading]
        if items:
            return items[:MAX_FACTS]
    return []


def is_key_list_heading(text: str) -> bool:
    return bool(KEY_LIST_HEADING.fullmatch(text.strip(" :!.").strip()))


def key_facts(
    blocks: Sequence[Block], sentences: Sequence[Sentence], subject: Sequence[str], summary: Sequence[Sentence]
) -> list[str]:
    """Three to five key facts: the article's list if it has one, topped up from its sentences if short."""
    facts = listed_facts(blocks)
    if len(facts) >= MIN_FACTS:
        return facts
    wanted = (MIN_FACTS if facts else PICKED_FACTS) - len(facts)
    picked = informative_sentences(sentences, subject, summary, wanted, exclude=facts)
    return facts + [shorten(s.text) for s in picked]


def informative_sentences(
    sentences: Sequence[Sentence], subject: Sequence[str], summary: Sequence[Sentence], count: int, exclude: Sequence[str] = ()
) -> list[Sentence]:
    """The `count` most informative sentences, in article order, none repeating another."""
    # Quoted speech goes in the quote field; a fact is the article's own statement.
    candidates = [
        s for s in sentences
        if s.words >= 5 and not s.text.rstrip("”\"' ").endswith("?") and not QUOTED_SPEECH.search(s.text)
    ]
    if not candidates:
        return []
    in_summary = {s.index for s in summary}
    vecs = vectors(candidates)
    subject_vec = bag(subject)
    excluded = [bag(terms(text)) for text in exclude]

    def score(s: Sentence) -> float:
        # A sentence the summary already says still counts (a lead is often the richest in facts),
        # but a fact the reader has not seen yet is worth more.
        return _informative(s, cosine(vecs[s.index], subject_vec)) - (1.0 if s.index in in_summary else 0.0)

    ranked = sorted(candidates, key=lambda s: (-score(s), s.index))
    chosen: list[Sentence] = []
    for s in ranked:
        if len(chosen) == count:
            break
        if any(cosine(vecs[s.index], vecs[c.index]) > REDUNDANT for c in chosen):
            continue
        if any(cosine(bag(s.terms), other) > REDUNDANT for other in excluded):
            continue
        chosen.append(s)
    return sorted(chosen, key=lambda s: s.index)


def _informative(s: Sentence, subject_similarity: float) -> float:
    text = s.text
    score = 1.0 * min(len(NUMBER.findall(text)), 3)
    score += 0.8 * min(len(DATE_WORD.findall(text)), 2)
    score += 0.4 * min(len(PROPER_NOUN.findall(text)), 4)
    score += 3.0 * subject_similarity
    score += 0.5 if s.section and is_key_list_heading(s.section) else 0.0  # prose under "What happened"
    score -= 1.0 * min(len(HEDGE.findall(text)), 2)
    score -= 1.5 if QUOTE_MARKS.search(text) else 0.0
    score -= 0.8 if LEANS_BACK.match(text) else 0.0
    score -= 0.5 if s.words > 40 else 0.0
    return score


# --- shortening ------------------------------------------------------------------------------------

LEAD_IN = re.compile(
    r"^(?:according to [^,]{3,60}|however|meanwhile|in addition|additionally|by contrast|for example|for instance|"
    r"as a result|separately|in (?:a|an|its|his|her|their) (?:statement|interview|post|report|announcement)[^,]{0,40}|"
    r"in other words|at the same time),\s+",
    re.IGNORECASE,
)
# ", who leads the team," / ", which opened in 2019," / ", one of the co-founders of X," (followed by more sentence)
ASIDE = re.compile(
    r",\s+(?:who|which|whose|where|one of|a|an|the|its|his|her|their|now|then|formerly|previously)\s[^,;]{2,90},\s+(?=[a-z])"
)
PARENTHESES = re.compile(r"\s*\([^()]{1,80}\)")
# ", its operator reported on 14 April 2026" / ", the council announced on Thursday" at the end of a sentence
TRAILING_SOURCE = re.compile(
    r",\s+(?:the |its |a |an )?[\w'’ -]{2,50}?\s"
    r"(?:said|says|reported|reports|announced|announces|confirmed|told [\w ]{2,30}|wrote)"
    r"(?:\s+(?:on|in|last|this)\s+[\w ,]{2,30})?$"
)
# Where a long sentence can end early: before a comma-led clause (first choice) or a linking word.
CLAUSE_BREAKS = re.compile(
    r";\s|\s[—–]\s|,\s(?=(?:which|while|where|whereas|including|as|after|before|but|and|so|although|though|because|"
    r"with|without|leading|making|creating|bringing|giving|adding|meaning|according|mostly|mainly|largely|"
    r"especially|particularly|up from|down from|compared)\b)"
)
PHRASE_BREAKS = re.compile(
    r",\s|\s(?=(?:after|while|when|because|although|despite|following|since|with|thanks to|before|until|"
    r"so that|in order to|to help|which|who)\s)"
)


def shorten(text: str, limit: int = FACT_CHARS) -> str:
    """A sentence as a key fact: no closing full stop, and cut to about `limit` characters at a clause
    boundary (asides and lead-ins go first), so it reads as a short item rather than a paragraph."""
    text = text.strip().rstrip(".").strip()
    if len(text) > limit:
        text = _capitalized(LEAD_IN.sub("", text))
    if len(text) > limit:
        text = PARENTHESES.sub("", text)
    while len(text) > limit:
        shorter = ASIDE.sub(" ", text, count=1)
        if shorter == text:
            break
        text = shorter
    if len(text) > limit:
        text = TRAILING_SOURCE.sub("", text)
    for breaks in (CLAUSE_BREAKS, PHRASE_BREAKS):
        if len(text) > limit:
            cuts = [m.start() for m in breaks.finditer(text) if m.start() <= limit and len(text[: m.start()].split()) >= 6]
            if cuts:
                text = text[: cuts[-1]]
    if len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        text = text[: cut if cut > 0 else limit].rstrip(" ,;:—–-") + "…"
    return text.rstrip(" ,;:.").strip()


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]
