"""Similarity between sentences (TF-IDF cosine) and how central each sentence is to the article:
the core of the extractive summary, in plain Python.

A long page has thousands of sentences, so the loops here are written for speed; every sum still adds the
same numbers in the same order as the plain formula would, so the scores (and the ties between them) stay put."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import mul

from .sentences import Sentence

Vector = dict[str, float]


def vectors(sentences: Sequence[Sentence]) -> dict[int, Vector]:
    """One unit-length TF-IDF vector per sentence, keyed by sentence index."""
    document_frequency = Counter(chain.from_iterable(set(s.terms) for s in sentences))
    count = len(sentences)
    idf = {term: math.log((1 + count) / (1 + frequency)) + 1 for term, frequency in document_frequency.items()}
    found: dict[int, Vector] = {}
    for s in sentences:
        frequency = dict.fromkeys(s.terms, 0)  # term counts, in the order the terms first come
        for term in s.terms:
            frequency[term] += 1
        found[s.index] = _unit({term: tf * idf[term] for term, tf in frequency.items()})
    return found


def bag(terms: Iterable[str]) -> Vector:
    """A unit vector of plain term counts (for comparing a sentence with the article's subject)."""
    return _unit({term: float(n) for term, n in Counter(terms).items()})


def cosine(a: Vector, b: Vector) -> float:
    """The dot product; for unit vectors, their cosine similarity."""
    if len(a) > len(b):
        a, b = b, a
    # Only the shared terms: the others would add 0.0, which leaves the sum as it is.
    return sum([weight * b[term] for term, weight in a.items() if term in b])


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
    return {s.index: (cosine(vecs[s.index], total) - _square(vecs[s.index])) / others for s in sentences}


def _square(vector: Vector) -> float:
    """v·v, as cosine(v, v) adds it up."""
    weights = vector.values()
    return float(sum(map(mul, weights, weights)))  # operator.mul is untyped: say what it adds up to


def _unit(weights: dict[str, float]) -> Vector:
    norm = math.sqrt(_square(weights))
    return {term: w / norm for term, w in weights.items()} if norm else {}
