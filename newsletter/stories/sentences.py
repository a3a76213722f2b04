"""Sentences and the words that carry their meaning, shared by the summarizer and the fact picker.

Sentence splitting uses pysbd, a rule-based segmenter (no model, no download) that knows abbreviations,
decimals and initials ("U.S.", "3.5", "J. R. R. Tolkien")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from . import junk
from .clean import Block

STOPWORDS = frozenset(
    [
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are",
        "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by",
        "can", "could", "did", "do", "does", "doing", "down", "during", "each", "even", "ever", "every",
        "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers",
        "herself", "him", "himself", "his", "how", "however", "i", "if", "in", "into", "is", "it", "its",
        "itself", "just", "last", "like", "made", "make", "many", "may", "me", "might", "more", "most",
        "much", "must", "my", "myself", "new", "no", "nor", "not", "now", "of", "off", "on", "once", "one",
        "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "per", "same", "she",
        "should", "since", "so", "some", "still", "such", "than", "that", "the", "their", "theirs", "them",
        "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under",
        "until", "up", "upon", "us", "very", "was", "we", "were", "what", "when", "where", "whether", "which",
        "while", "who", "whom", "whose", "why", "will", "with", "within", "without", "would", "yet", "you",
        "your", "yours", "yourself", "yourselves", "said", "says", "say", "according", "year", "years",
        "week", "weeks", "day", "days", "time"
    ]
)
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\d,.]*%?")


@dataclass(frozen=True)
class Sentence:
    """A sentence of the story's running text, with where it sits and its content words."""

    text: str
    index: int  # position among all sentences of the article
    paragraph: int  # which paragraph (0 = the lead)
    position: int  # position within its paragraph
    section: str | None
    terms: tuple[str, ...]

    @property
    def words(self) -> int:
        return len(self.text.split())


@lru_cache(maxsize=1)
def _segmenter():  # building the segmenter compiles its rules once
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def split(text: str) -> list[str]:
    """The sentences of one paragraph, stripped."""
    return [s.strip() for s in _segmenter().segment(text) if s.strip()]


def terms(text: str) -> tuple[str, ...]:
    """Lower-cased content words, lightly stemmed so 'panels' and 'panel' count as one."""
    found = []
    for word in WORD.findall(text):
        word = word.lower().strip("'’-").removesuffix("'s").removesuffix("’s")
        if not word or word in STOPWORDS or len(word) < 2:
            continue
        if word[0].isalpha() and len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.append(word)
    return tuple(found)


def story_sentences(blocks: list[Block]) -> list[Sentence]:
    """Every sentence of the story's paragraphs, junk sentences left out."""
    found: list[Sentence] = []
    paragraph = 0
    for block in blocks:
        if block.kind != "paragraph":
            continue
        position = 0
        for text in split(block.text):
            if junk.is_junk(text) or not any(ch.isalpha() for ch in text):
                continue
            found.append(Sentence(text, len(found), paragraph, position, block.section, terms(text)))
            position += 1
        paragraph += 1 if position else 0
    return found
