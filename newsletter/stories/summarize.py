"""The extractive summary: the article's lead plus its most central sentences, 2 or 3 of them and at most
about 60 words, in the article's order. Deterministic (no model); the editor rewrites it in review."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .scoring import Vector, bag, centrality, cosine, vectors
from .sentences import Sentence

MAX_WORDS = 60
MAX_SENTENCES = 3
MIN_SENTENCES = 2
MAX_SENTENCE_WORDS = 40  # a longer sentence leaves no room for a second one
MIN_SENTENCE_WORDS = 5
MIN_ADDED_WORDS = 8  # a short sentence after the lead ("Staff wear no tags.") rarely carries the story
REDUNDANT = 0.45  # cosine above which a sentence mostly repeats one already chosen
# A sentence that leans on the one before it reads badly without it.
LEANS_BACK = re.compile(
    r"^(?:it|its|this|that|these|those|they|their|them|he|she|his|her|but|and|also|however|still|yet|so|such|"
    r"there|then|instead|meanwhile|both|neither|another)\b",
    re.IGNORECASE,
)
QUOTE_MARKS = re.compile(r"[“”\"]")


def summarize(sentences: Sequence[Sentence], subject: Sequence[str]) -> list[Sentence]:
    """Pick the summary sentences. `subject` holds the terms of what the article is about (its title)."""
    candidates = [
        s for s in sentences
        if MIN_SENTENCE_WORDS <= s.words <= MAX_SENTENCE_WORDS and not s.text.rstrip("”\"' ").endswith("?")
    ]
    if not candidates:
        shortest = sorted(sentences, key=lambda s: (s.words, s.index))[:1]
        return [s for s in shortest if s.words <= MAX_WORDS]
    vecs = vectors(candidates)
    scores = _scores(candidates, vecs, bag(subject))
    chosen = [candidates[0]]  # the lead: news writing puts the essentials first
    while len(chosen) < MAX_SENTENCES:
        # Two sentences at least: when every other one repeats the lead, take the best that fits anyway.
        picked = _next(candidates, chosen, scores, vecs, REDUNDANT) or (
            _next(candidates, chosen, scores, vecs, 0.99) if len(chosen) < MIN_SENTENCES else None
        )
        if picked is None:
            break
        chosen.append(picked)
    return sorted(chosen, key=lambda s: s.index)


def _scores(candidates: Sequence[Sentence], vecs: dict[int, Vector], subject: Vector) -> dict[int, float]:
    central = centrality(candidates, vecs)
    top = max(central.values()) or 1.0
    scores = {}
    for s in candidates:
        score = 0.6 * central[s.index] / top + 0.5 * cosine(vecs[s.index], subject)
        # News puts the essentials in the first paragraph; later, a paragraph's opening sentence leads it.
        score += 0.8 if s.paragraph == 0 else 0.1 if s.position == 0 else 0.0
        score -= 0.6 if QUOTE_MARKS.search(s.text) else 0.0  # quotes belong in the quote field
        scores[s.index] = score
    return scores


def _next(
    candidates: Sequence[Sentence], chosen: list[Sentence], scores: dict[int, float], vecs: dict[int, Vector], redundant: float
) -> Sentence | None:
    """The best-scoring sentence that still fits the word budget and does not repeat the chosen ones."""
    used = sum(s.words for s in chosen)
    chosen_indexes = {s.index for s in chosen}
    best: tuple[float, int] | None = None
    for s in candidates:
        if s.index in chosen_indexes or used + s.words > MAX_WORDS or s.words < MIN_ADDED_WORDS:
            continue
        if max(cosine(vecs[s.index], vecs[c.index]) for c in chosen) > redundant:
            continue
        score = scores[s.index]
        if LEANS_BACK.match(s.text) and s.index - 1 not in chosen_indexes:
            score -= 0.5
        if best is None or (score, -s.index) > (best[0], -best[1]):
            best = (score, s.index)
    return next((s for s in candidates if best and s.index == best[1]), None)


def summary_text(chosen: Sequence[Sentence]) -> str:
    return " ".join(s.text for s in chosen)
