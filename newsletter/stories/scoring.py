"""Similarity between sentences (TF-IDF cosine) and how central each sentence is to the article:
the core of the extractive summary, in plain Python."""

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
    """The dot product; for unit vectors, their cosine similarity."""
    if len(a) > len(b):
        a, b = b, a
    return sum(weight * b.get(term, 0.0) for term, weight in a.items())


def centrality(sentences: Sequence[Sentence], vecs: dict[int, Vector]) -> dict[int, float]:
    """The mean similarity of each sentence to all the others (a one-step LexRank).

    Linear rather than pairwise: the similarities of v to every vector sum to v·S, where S is the sum of
    all the vectors, so its similarities to the others sum to v·S − v·v (v·v is 1 for a unit vector, 0 for
    a sentence with no terms). A long page has thousands of sentences; comparing every pair took seconds."""
    if len(sentences) < 2:
        return {s.index: 0.0 for s in sentences}
    total: Vector = {}
    for s in sentences:
        for term, weight in vecs[s.index].items():
            total[term] = total.get(term, 0.0) + weight
    others = len(sentences) - 1
    return {s.index: (cosine(vecs[s.index], total) - cosine(vecs[s.index], vecs[s.index])) / others for s in sentences}


def _unit(weights: dict[str, float]) -> Vector:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {term: w / norm for term, w in weights.items()} if norm else {}
