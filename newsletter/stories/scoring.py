"""Similarity between sentences (TF-IDF cosine) and how central each sentence is to the article:
the core of the extractive summary, in plain Python (an article has at most a few hundred sentences)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from .sentences import Sentence

Vector = dict[str, float]


def vectors(sentences: Sequence[Sentence]) -> dict[int, Vector]:
    """One unit-length TF-IDF vector per sentence, keyed by sentence index."""
    document_frequency = Counter(term for s in sentences for term in set(s.terms))
    count = len(sentences)
    found: dict[int, Vector] = {}
    for s in sentences:
        idf = {term: math.log((1 + count) / (1 + document_frequency[term])) + 1 for term in set(s.terms)}
        found[s.index] = _unit({term: tf * idf[term] for term, tf in Counter(s.terms).items()})
    return found


def bag(terms: Iterable[str]) -> Vector:
    """A unit vector of plain term counts (for comparing a sentence with the article's subject)."""
    return _unit({term: float(n) for term, n in Counter(terms).items()})


def cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(weight * b.get(term, 0.0) for term, weight in a.items())


def centrality(sentences: Sequence[Sentence], vecs: dict[int, Vector]) -> dict[int, float]:
    """The mean similarity of each sentence to all the others (a one-step LexRank)."""
    if len(sentences) < 2:
        return {s.index: 0.0 for s in sentences}
    return {
        s.index: sum(cosine(vecs[s.index], vecs[o.index]) for o in sentences if o is not s) / (len(sentences) - 1)
        for s in sentences
    }


def _unit(weights: dict[str, float]) -> Vector:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {term: w / norm for term, w in weights.items()} if norm else {}
