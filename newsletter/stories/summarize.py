"""The extractive summary: the article's lead plus its most central sentences, up to 3 of them and at most
about 60 words, in the article's order, keeping the figures the lead gives. Sentences that state facts win
over those that praise; the praise a sentence can lose ("the acclaimed", ", one of the most respected …,")
is left out, and no more than one sentence is copied word for word: the others lose a weekday, brackets or
an aside from their middle, or stay out. Deterministic (no model); the editor rewrites it in review."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

from .facts import HEDGE, NUMBER, PROPER_NOUN, clause_prefix, condensed, is_whole, keeps_meaning
from .scoring import Vector, bag, centrality, cosine, vectors
from .sentences import Sentence, has_verb, terms

MAX_WORDS = 60
MAX_SENTENCES = 3
MIN_SENTENCES = 2  # wanted; one when no other sentence can be used without copying it
MAX_SENTENCE_WORDS = 40  # a longer sentence leaves no room for a second one
MIN_SENTENCE_WORDS = 5
MAX_DECK_WORDS = 30  # a deck under a headline is a line or two; a lead paragraph runs longer
REWORDED_SHARE = 0.5  # a deck's words that come back in one later sentence: it rewords the story
MIN_ADDED_WORDS = 8  # a short sentence after the lead ("Staff wear no tags.") rarely carries the story
REDUNDANT = 0.45  # cosine above which a sentence mostly repeats one already chosen
# A sentence that leans on the one before it reads badly without it.
LEANS_BACK = re.compile(
    r"^(?:it|its|this|that|these|those|they|their|them|he|she|his|her|but|and|also|however|still|yet|so|such|"
    r"there|then|instead|meanwhile|both|neither|another)\b",
    re.IGNORECASE,
)
QUOTE_MARKS = re.compile(r"[“”\"„«»]")
MONTH = (
    r"(?:jan(?:uary|uar|vier)?|feb(?:ruary|ruar)?|février|mar(?:ch|s)?|märz|apr(?:il)?|avril|may|mai|"
    r"june?|juni|juin|july?|juli|juillet|aug(?:ust)?|août|sept?(?:ember|embre)?|oct(?:ober|obre)?|oktober|"
    r"nov(?:ember|embre)?|dec(?:ember)?|dezember|décembre)"
)
# The figures a lead gives: dates ("1 December", "December 1", "14. Juni", "1er janvier"), and amounts,
# percentages and counts ("$349", "12 percent", "1.200 Euro", "340 000 utilisateurs"). A bare year or a
# number under ten says too little to count.
DATE_FIGURE = re.compile(
    rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th|er)?\.?\s+(?P<month>{MONTH})\b|\b(?P<month2>{MONTH})\.?\s+(?P<day2>\d{{1,2}})\b",
    re.IGNORECASE,
)
AMOUNT = re.compile(
    r"(?P<money>[$€£¥]\s?)?(?P<number>\d+(?:[.,\s\u202f\u00a0]\d{3})*(?:[.,]\d+)?)"
    r"(?P<unit>\s?(?:%|percent\b|per cent\b|prozent\b|pour cent\b))?",
    re.IGNORECASE,
)
# Praise the source gives its subject ("one of the field's most respected researchers", "the acclaimed",
# "renommierte", "prestigieux"): a newsletter's summary states the facts and leaves the praise out.
PRAISE = (
    r"renowned|celebrated|acclaimed|prestigious|legendary|iconic|beloved|famed|storied|visionary|ground-?breaking|"
    r"world-class|world-renowned|world-famous|esteemed|revered|revolutionary|game-changing|stunning|remarkable|"
    r"impressive|trailblazing|pioneering"
)
PUFFERY = re.compile(
    r"\bone of the (?:[\w'’-]+\s){0,2}?(?:most|best|biggest|greatest|top|leading|finest)\b"
    r"|\b(?:highly|widely|well|much|most)[-\s](?:respected|regarded|acclaimed|celebrated|known|loved|admired)\b"
    rf"|\b(?:{PRAISE}|cutting-edge|state-of-the-art|best-in-class|exciting|incredible|amazing|unparalleled|"
    r"unrivall?ed|popular|renommiert\w*|legendär\w*|preisgekrönt\w*|bahnbrechend\w*|herausragend\w*|"
    r"prestigieu\w+|renommée?s?|célèbres?|emblématiques?|incontournables?|exceptionnel\w*|remarquables?)\b",
    re.IGNORECASE,
)
# A word of praise between an article and its noun, which can go without changing what is said:
# "the popular tutorial series" keeps "popular" (it may be a fact), "the acclaimed series" loses "acclaimed".
PRAISE_WORD = re.compile(
    r"\b(?P<article>a|an|the|its|his|her|their|our)\s+(?:(?:highly|widely|well|much|most|truly|very)[-\s])?"
    rf"(?:{PRAISE}|respected|regarded|admired)\s+(?=(?P<next>[^\W\d_]))",
    re.IGNORECASE,
)
# The aside after a sentence's subject: "Maris Tern, one of the region's most celebrated architects, will …".
PRAISE_ASIDE = re.compile(
    r"^(?P<head>[^,;]+),\s+(?P<aside>(?:one of|a|an|the|who|which|widely|long)\s[^,;]{2,90}),\s+(?=[a-z])"
)
THOUSANDS = re.compile(r"\d{1,3}(?:[.,]\d{3})+")  # "5,000", "1.200": a count, however small its first part
SENTENCE_END = re.compile(r"[.!…][”’\"'»)]?$")


def summarize(sentences: Sequence[Sentence], subject: Sequence[str]) -> list[Sentence]:
    """Pick the summary sentences. `subject` holds the terms of what the article is about (its title)."""
    chosen = _summary(sentences, subject, _lead(sentences))
    body_lead = _lead_after_deck(sentences, chosen)
    if body_lead is not None:
        # The deck rewords the lead: the summary opens with the lead, as the story itself does.
        chosen = _summary(sentences, subject, body_lead)
    return chosen


def _summary(sentences: Sequence[Sentence], subject: Sequence[str], lead: Sentence | None) -> list[Sentence]:
    """The summary sentences of the story that starts at `lead` (its first sentence if None)."""
    # The story starts at its lead: a headline or a deck before it is no summary sentence.
    story = [s for s in _with_lead_cut(sentences, lead) if lead is None or s.index >= lead.index]
    candidates = [
        _without_praise(s) for s in story if MIN_SENTENCE_WORDS <= s.words <= MAX_SENTENCE_WORDS and _statement(s)
    ]
    if not candidates:
        shortest = sorted(story, key=lambda s: (s.words, s.index))[:1]
        return [s for s in shortest if s.words <= MAX_WORDS]
    vecs = vectors(candidates)
    scores = _scores(candidates, vecs, bag(subject), lead.paragraph if lead else 0)
    # The lead: news writing puts the essentials first.
    opening = next((s for s in candidates if lead and s.index == lead.index), None)
    chosen = [opening or next((s for s in candidates if has_verb(s.text)), candidates[0])]
    while len(chosen) < MAX_SENTENCES:
        # Two sentences at least: when every other one repeats the lead, take the best that fits anyway.
        picked = _next(candidates, chosen, scores, vecs, REDUNDANT) or (
            _next(candidates, chosen, scores, vecs, 0.99) if len(chosen) < MIN_SENTENCES else None
        )
        if picked is None:
            break
        chosen.append(picked)
    if lead is not None:
        chosen = _with_lead_figures(chosen, candidates, lead, scores)
    copies = _Copies({s.index: s.text for s in sentences})
    chosen = copies.at_most_one(chosen, lead, scores)
    while len(chosen) < MIN_SENTENCES:  # a sentence lost to the rule above: another one, condensed if need be
        picked = _next(candidates, chosen, scores, vecs, 0.99, copies.form_given(chosen))
        if picked is None:
            break
        chosen.append(picked)
    return sorted(chosen, key=lambda s: s.index)


class _Copies:
    """The summary copies at most one sentence word for word (a run of an article sentence's words, a cut
    one too); the others lose something from their middle (a weekday, brackets, an aside: `condensed`) or,
    when nothing can go, are left out of it."""

    def __init__(self, as_written: dict[int, str]) -> None:
        self.as_written = {index: words(text) for index, text in as_written.items()}
        self.short: dict[int, Sentence | None] = {}

    def copied(self, s: Sentence) -> bool:
        return words(s.text) in self.as_written.get(s.index, "")

    def shortened(self, s: Sentence) -> Sentence | None:
        if s.index not in self.short:
            text = condensed(s.text)
            fits = text is not None and len(text.split()) >= MIN_SENTENCE_WORDS and not self.copied_text(s.index, text)
            self.short[s.index] = dataclasses.replace(s, text=text, terms=terms(text)) if fits and text else None
        return self.short[s.index]

    def copied_text(self, index: int, text: str) -> bool:
        return words(text) in self.as_written.get(index, "")

    def at_most_one(self, chosen: list[Sentence], lead: Sentence | None, scores: dict[int, float]) -> list[Sentence]:
        """`chosen` with one copied sentence at most: the one that cannot be condensed (the one giving the
        lead's figures first, then the lead, then the best), else the lead or the first; the other copies
        condensed, or left out."""
        copies = [s for s in chosen if self.copied(s)]
        if len(copies) <= 1:
            return chosen
        lead_figures = figures(lead.text) if lead else set()
        kept = min(
            copies,
            key=lambda s: (
                self.shortened(s) is not None, not figures(s.text) & lead_figures, not (lead and s.index == lead.index),
                -scores.get(s.index, 0.0), s.index,
            ),
        )
        shown = [s if s is kept or not self.copied(s) else self.shortened(s) for s in chosen]
        return [s for s in shown if s is not None]

    def form_given(self, chosen: Sequence[Sentence]) -> Callable[[Sentence], Sentence | None]:
        """How a further sentence may join `chosen`: as written while none of them is a copy, else shortened."""
        if not any(self.copied(c) for c in chosen):
            return lambda s: s
        return lambda s: self.shortened(s) if self.copied(s) else s


def _without_praise(s: Sentence) -> Sentence:
    """`s` without the praise that can go and leave the same statement: an aside of praise (", one of the
    field's most respected researchers,") and a word of praise before a noun ("the acclaimed series")."""
    text = s.text
    aside = PRAISE_ASIDE.match(text)
    if aside and PUFFERY.search(aside["aside"]):
        text = f"{aside['head']} {text[aside.end():]}"
    text = PRAISE_WORD.sub(_article_for_next_word, text)
    body = text.rstrip(".")
    if text == s.text or not is_whole(body) or not keeps_meaning(s.text, text):
        return s
    return dataclasses.replace(s, text=text, terms=terms(text))


def _article_for_next_word(word: re.Match[str]) -> str:
    """The article left when the word of praise after it goes: "an iconic hall" becomes "a hall"."""
    article = word["article"]
    if article.lower() not in ("a", "an"):
        return article + " "
    chosen = "an" if word["next"].lower() in "aeiou" else "a"
    return (chosen.capitalize() if article[0].isupper() else chosen) + " "


def figures(text: str) -> set[str]:
    """The dates and amounts `text` gives, each as a key that reads the same wherever it is written
    ("1 December" and "December 1" give "1 dec"; "12 percent" and "12%" give "12")."""
    found = set()
    for date in DATE_FIGURE.finditer(text):
        found.add(f"{int(date['day'] or date['day2'])} {(date['month'] or date['month2']).lower()[:3]}")
    for amount in AMOUNT.finditer(DATE_FIGURE.sub(" ", text)):
        number = re.sub(r"[\s\u202f\u00a0]", "", amount["number"])
        if amount["money"] or amount["unit"] or _counts(number):
            found.add(number)
    return found


def _counts(number: str) -> bool:
    """Whether a number with no unit is worth keeping: ten or more, and not a year."""
    if THOUSANDS.fullmatch(number):
        return True
    whole = number.replace(",", ".").split(".")[0]
    return int(whole) >= 10 and not (len(number) == 4 and 1900 <= int(whole) <= 2099)


def _lead(sentences: Sequence[Sentence]) -> Sentence | None:
    """The article's opening statement: its first sentence that ends like one and has a verb. A headline,
    a deck or a caption that reached the running text has no full stop or no verb."""
    return next((s for s in sentences if _opens(s)), None)


def _lead_after_deck(sentences: Sequence[Sentence], chosen: Sequence[Sentence]) -> Sentence | None:
    """The story's real lead, when the summary opens with a deck (the line or two under a headline that
    rewords the story, copied into the running text) and the lead paragraph is in the summary too; else
    None. A deck is a short first paragraph, followed later by a longer paragraph-opening statement, and
    most of its words come back in a later sentence."""
    if not chosen or chosen[0].position != 0:
        return None
    deck = chosen[0]
    if sum(s.words for s in sentences if s.paragraph == deck.paragraph) > MAX_DECK_WORDS:
        return None
    later = [s for s in sentences if s.paragraph > deck.paragraph]
    body_lead = next((s for s in later if s.position == 0 and s.words > deck.words and _opens(s)), None)
    if body_lead is None or body_lead.index not in {s.index for s in chosen}:
        return None
    words = set(deck.terms)
    reworded = any(len(words & set(s.terms)) >= REWORDED_SHARE * len(words) for s in later)
    return body_lead if words and reworded else None


def _opens(s: Sentence) -> bool:
    """Whether `s` can open a story, as `_lead` takes it: a statement that ends like one and has a verb."""
    return s.words >= MIN_SENTENCE_WORDS and bool(SENTENCE_END.search(s.text)) and has_verb(s.text)


def _statement(s: Sentence) -> bool:
    return not s.text.rstrip("”“\"'»« ").endswith("?")


def _with_lead_cut(sentences: Sequence[Sentence], lead: Sentence | None) -> Sequence[Sentence]:
    """The sentences with an over-long lead cut at a clause boundary, so the lead can still open the summary."""
    if lead is None or lead.words <= MAX_SENTENCE_WORDS:
        return sentences
    limit = len(" ".join(lead.text.split()[:MAX_SENTENCE_WORDS]))
    cut = clause_prefix(lead.text.rstrip("."), limit)
    if cut is None:
        return sentences
    shortened = dataclasses.replace(lead, text=cut + ".", terms=terms(cut))
    return [shortened if s is lead else s for s in sentences]


def _with_lead_figures(
    chosen: list[Sentence], candidates: Sequence[Sentence], lead: Sentence, scores: dict[int, float]
) -> list[Sentence]:
    """`chosen`, with a sentence that gives the lead's figures in place of the weakest one, when the lead
    sentence was cut or passed over and its price, percentage or date went with it."""
    lead_figures = figures(lead.text)
    missing = lead_figures - figures(summary_text(chosen))
    if not missing:
        return chosen
    chosen_indexes = {s.index for s in chosen}
    numbers = {figure.split()[0] for figure in missing}  # a cheap look first: the figure's digits are there
    carriers = [
        s for s in candidates
        if s.index not in chosen_indexes and any(number in s.text for number in numbers)
        and figures(s.text) & missing and has_verb(s.text)
    ]
    if not carriers:
        return chosen
    carrier = max(
        carriers, key=lambda s: (len(figures(s.text) & missing), s.paragraph == lead.paragraph, scores[s.index], -s.index)
    )
    kept = list(chosen)
    while len(kept) >= MAX_SENTENCES or sum(s.words for s in kept) + carrier.words > MAX_WORDS:
        # The opening sentence stays, and so does any that gives a figure of the lead too.
        weaker = [s for s in kept[1:] if not figures(s.text) & lead_figures]
        if not weaker:
            return chosen
        kept.remove(min(weaker, key=lambda s: scores[s.index]))
    return kept + [carrier]


def _scores(
    candidates: Sequence[Sentence], vecs: dict[int, Vector], subject: Vector, lead_paragraph: int
) -> dict[int, float]:
    central = centrality(candidates, vecs)
    top = max(central.values()) or 1.0
    scores = {}
    for s in candidates:
        score = 0.6 * central[s.index] / top + 0.5 * cosine(vecs[s.index], subject)
        # News puts the essentials in the first paragraph; later, a paragraph's opening sentence leads it.
        score += 0.8 if s.paragraph == lead_paragraph else 0.1 if s.position == 0 else 0.0
        score -= 0.6 if QUOTE_MARKS.search(s.text) else 0.0  # quotes belong in the quote field
        score -= 1.0 * min(len(PUFFERY.findall(s.text)), 2)  # praise the summary could not leave out
        score -= 0.5 * min(len(HEDGE.findall(s.text)), 2)  # a guess ("will likely be read as") is no fact
        score += 0.1 * min(len(NUMBER.findall(s.text)) + len(PROPER_NOUN.findall(s.text)), 4)  # facts
        scores[s.index] = score
    return scores


def _next(
    candidates: Sequence[Sentence],
    chosen: list[Sentence],
    scores: dict[int, float],
    vecs: dict[int, Vector],
    redundant: float,
    shown: Callable[[Sentence], Sentence | None] = lambda s: s,
) -> Sentence | None:
    """The best-scoring sentence that still fits the word budget and does not repeat the chosen ones, in
    the form `shown` gives it (None: it may not stand in the summary)."""
    used = sum(s.words for s in chosen)
    chosen_indexes = {s.index for s in chosen}
    best: tuple[float, int, Sentence] | None = None
    for s in candidates:
        if s.index in chosen_indexes or s.words < MIN_ADDED_WORDS:
            continue
        if max(cosine(vecs[s.index], vecs[c.index]) for c in chosen) > redundant:
            continue
        if len(chosen) >= MIN_SENTENCES and QUOTE_MARKS.search(s.text):
            continue  # quoted speech belongs in the quote field: it only ever makes up the minimum
        score = scores[s.index]
        if LEANS_BACK.match(s.text) and s.index - 1 not in chosen_indexes:
            score -= 0.5
        if best is not None and (score, -s.index) <= (best[0], -best[1]):
            continue
        form = shown(s)
        if form is None or used + form.words > MAX_WORDS:
            continue
        if has_verb(form.text):  # a caption or a stub is no summary sentence (checked last: it is the slowest)
            best = (score, s.index, form)
    return best[2] if best else None


def words(text: str) -> str:
    """The words of `text`, lower-cased, one space apart: how a copy is recognised, whatever its punctuation."""
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "


def summary_text(chosen: Sequence[Sentence]) -> str:
    return " ".join(s.text for s in chosen)
