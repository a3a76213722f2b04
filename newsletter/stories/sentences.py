"""Sentences and the words that carry their meaning, shared by the summarizer and the fact picker.

Sentence splitting uses pysbd, a rule-based segmenter (no model, no download) that knows abbreviations,
decimals and initials ("U.S.", "3.5", "J. R. R. Tolkien"); paragraphs that need none of its rules, and
plain ones whose quotations it would leave whole anyway, are split here, because pysbd takes about 3 ms a
paragraph."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from . import junk
from .clean import TextBlock
from .dates import MONTH

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
# The only letters that lower-case into one WORD looks for ("İ" to "i̇", the Kelvin sign to "k"): a text with
# one is lower-cased a word at a time, as WORD found the words.
CASE_TRAPS = re.compile("[\u0130\u212a]")


@dataclass(frozen=True)
class Sentence:
    """A sentence of the story's running text, with where it sits and its content words."""

    text: str
    index: int  # position among all sentences of the article
    paragraph: int  # which paragraph (0 = the lead)
    position: int  # position within its paragraph
    section: str | None
    terms: tuple[str, ...]

    @cached_property  # the summarizer and the fact picker ask for it many times
    def words(self) -> int:
        return len(self.text.split())


# --- splitting -------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _segmenter() -> Any:  # a pysbd.Segmenter (untyped); building it compiles its rules once
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


@lru_cache(maxsize=1)
def _abbreviations() -> frozenset[str]:
    """The words pysbd reads as abbreviations ("dr", "inc", "no", "jan"): a stop after one needs its rules."""
    from pysbd.lang.english import English

    return frozenset(English.Abbreviation.ABBREVIATIONS)


# Anything pysbd has a rule for: quotations and brackets (it never splits inside them), ellipses, bullets,
# slashes and addresses, and a quote mark or apostrophe that is not inside a word (each alternative starts
# with the character it finds, so the search skips the others quickly).
NEEDS_RULES = re.compile(r"[\"“”„‟«»‹›‘‚()\[\]{}<>…•*/@#]|\.\.|['’](?<![^\W\d_]['’])|['’](?![^\W\d_])")
STOP = re.compile(r"[.!?]")
NEXT_WORD = re.compile(r"\s+(\S)")
LAST_TOKEN = re.compile(r"\S+$")
PLAIN_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
PLAIN_NUMBER = re.compile(r"\d[\d,]*\d\d%?|\d{1,2}%")  # "2026", "40,000", "12%"; not "3" ("3. Main points")
ROMAN = re.compile(r"[ivxlcdm]{1,4}")  # "ii." may be a list number
DECADE = re.compile(r"\d+s")  # "1990s", "20s"
QUOTE_MARK = re.compile('"')
# German writes ordinals with a full stop ("am 14. Juni", "im 17. Jahrhundert"): not a sentence end.
ORDINAL_END = re.compile(r"(?<![\d.])\d{1,2}\.$")
ORDINAL_NOUN = re.compile(
    r"(?:Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember|"
    r"Jahrhunderts?|Jahrestag|Geburtstag|Platz|Stock|Etage|Mal)\b"
)


def split(text: str) -> list[str]:
    """The sentences of one paragraph, stripped."""
    text = text.strip()
    found = _plain_split(text)
    if found is None:
        found = _quoted_split(text)
    if found is None:
        found = [s.strip() for s in _segmenter().segment(text) if s.strip()]
    return _join_ordinals(found)


def _plain_split(text: str) -> list[str] | None:
    """Split a paragraph whose every stop plainly ends a sentence (or sits in a number such as "3.5"),
    or None when some stop needs pysbd's rules. Gives what pysbd gives for such paragraphs."""
    if NEEDS_RULES.search(text):
        return None

    def ends_here(at: int, start: int) -> bool:
        following = NEXT_WORD.match(text, at + 1)
        token = LAST_TOKEN.search(text, max(start, at - 40), at)
        return bool(following and following[1].isupper() and token and _ends_sentence(token[0]))

    return _split_at_stops(text, ends_here)


def _split_at_stops(text: str, ends_here: Callable[[int, int], bool]) -> list[str] | None:
    """`text` cut after every stop (decimal points aside), or None as soon as `ends_here(stop, start
    of the sentence)` says a stop may not end a sentence: then pysbd has to decide."""
    found: list[str] = []
    start = 0
    for stop in STOP.finditer(text):
        at = stop.start()
        if text[at] == "." and text[at - 1 : at].isdigit() and text[at + 1 : at + 2].isdigit():
            continue  # a decimal point
        if at + 1 == len(text):
            break  # the paragraph's own end
        if not ends_here(at, start):
            return None
        found.append(text[start : at + 1].strip())
        start = at + 1
    found.append(text[start:].strip())
    return [s for s in found if s]


def _quoted_split(text: str) -> list[str] | None:
    """Split a paragraph the plain rules refuse for its quotations ('"We are ready," she said.') or a decade
    ("since the 1990s."), or None. What pysbd gives, as it then has no rule that acts: the paragraph is ASCII
    with single spaces and no "!", "--" or backslash; each quotation stands between spaces, ends in a comma and
    holds no stop; and every stop comes after a word that no abbreviation of pysbd's matches as a pattern (it
    reads "u.s" as one) and before a capital, maybe the opening mark of a quotation."""
    if not text.isascii() or text != " ".join(text.split()) or "!" in text or "--" in text or "\\" in text:
        return None
    if NEEDS_RULES.search(text.replace('"', " ")):
        return None  # something other than the quotation marks needs pysbd
    marks = [mark.start() for mark in QUOTE_MARK.finditer(text)]
    if len(marks) % 2:
        return None
    for opening, closing in zip(marks[::2], marks[1::2], strict=True):
        if (
            (opening and text[opening - 1] != " ") or text[opening + 1] == " " or text[closing - 1] != ","
            or text[closing + 1 : closing + 2] not in ("", " ") or STOP.search(text, opening, closing)
        ):
            return None

    def ends_here(at: int, start: int) -> bool:
        following = text[at + 1 : at + 4]
        capital = following[1:2].isupper() or (following[1:2] == '"' and following[2:3].isupper())
        token = LAST_TOKEN.search(text, max(start, at - 40), at)
        return bool(following[:1] == " " and capital and token and _ends_quoted_sentence(token[0]))

    return _split_at_stops(text, ends_here)


def _ends_quoted_sentence(token: str) -> bool:
    """_ends_sentence, or a decade ("1990s"); and no abbreviation of pysbd's matches it as a pattern."""
    return (_ends_sentence(token) or bool(DECADE.fullmatch(token))) and not _abbreviation_patterns().fullmatch(token)


@lru_cache(maxsize=1)
def _abbreviation_patterns() -> re.Pattern[str]:
    """pysbd's abbreviations as it matches a word against them: as patterns, case ignored ("u.s" matches "ups")."""
    from pysbd.lang.english import English

    return re.compile("|".join(abbreviation.strip() for abbreviation in English.Abbreviation.ABBREVIATIONS), re.IGNORECASE)


def _ends_sentence(token: str) -> bool:
    """Whether a stop right after `token` ends a sentence for certain: after a plain word ending in a small
    letter that is no abbreviation ("Dr", "Inc", "Jan") and no list number, or after a long number."""
    if PLAIN_NUMBER.fullmatch(token):
        return True
    word = token.lower()
    return (
        len(token) >= 2 and token[-1].islower() and bool(PLAIN_WORD.fullmatch(token))
        and word not in _abbreviations() and not ROMAN.fullmatch(word)
    )


def _join_ordinals(found: list[str]) -> list[str]:
    """The sentences with "am 14." and "Juni wieder geöffnet." joined again."""
    joined: list[str] = []
    for sentence in found:
        if joined and ORDINAL_NOUN.match(sentence) and ORDINAL_END.search(joined[-1]):
            joined[-1] = f"{joined[-1]} {sentence}"
        else:
            joined.append(sentence)
    return joined


# --- datelines -------------------------------------------------------------------------------------

CAPS_WORD = r"[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ.'’-]{2,}"  # three letters at least: "AI — The …" is no place
# "PARIS — ", "SAN FRANCISCO - ", "FRANKFURT AM MAIN – ", "LONDON (Reuters) - ", "London (Reuters) — ",
# "PORTLAND, Ore., March 3 — ": where a report was filed from, not part of its first sentence.
DATELINE = re.compile(
    rf"^(?:{CAPS_WORD}(?:\s+{CAPS_WORD})*(?:,\s+[A-Z][\w.]*\.?(?:\s+[A-Z][\w.]*)?)?"
    r"|[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3}(?=\s*\())"
    rf"(?:,\s+(?i:{MONTH}\s+\d{{1,2}}|\d{{1,2}}\.?\s+{MONTH}))?"
    r"(?:\s*\([A-Z][\w .&/-]{1,30}\))?"
    r"\s*(?:[—–]|\s--?)\s*(?=[A-ZÀ-ÖØ-Þ0-9\"“„«‘])"
)


def strip_dateline(text: str) -> str:
    """A paragraph without the dateline in front of its first sentence."""
    return DATELINE.sub("", text, count=1)


# --- terms -----------------------------------------------------------------------------------------


def terms(text: str) -> tuple[str, ...]:
    """Lower-cased content words, lightly stemmed so 'panels' and 'panel' count as one."""
    if not text.isascii() and CASE_TRAPS.search(text):
        words = [word.lower() for word in WORD.findall(text)]
    else:
        words = WORD.findall(text.lower())  # one call for the text, not one a word
    found = []
    for word in words:
        if not word.isalpha():  # most words have no apostrophe or hyphen to trim
            word = word.strip("'’-").removesuffix("'s").removesuffix("’s")
        if len(word) < 2 or word in STOPWORDS:
            continue
        if word[-1] == "s" and len(word) > 3 and word[-2] != "s" and word[0].isalpha():
            word = word[:-1]
        found.append(word)
    return tuple(found)


def story_sentences(blocks: list[TextBlock]) -> list[Sentence]:
    """Every sentence of the story's paragraphs, junk sentences and datelines left out."""
    found: list[Sentence] = []
    paragraph = 0
    for block in blocks:
        if block.kind != "paragraph":
            continue
        position = 0
        for text in split(strip_dateline(block.text)):
            if junk.is_junk(text) or not any(ch.isalpha() for ch in text):
                continue
            found.append(Sentence(text, len(found), paragraph, position, block.section, terms(text)))
            position += 1
        paragraph += 1 if position else 0
    return found


# --- verbs -----------------------------------------------------------------------------------------
# Whether a sentence has a finite verb, told without a tagger. A heuristic, tuned on news prose. The
# language is guessed from its small words (all the likeliest are tried when they tie), and a word counts
# as a verb when
#  1. it is an auxiliary, a modal or a common verb of that language ("is", "has", "will"; "ist", "hat",
#     "wird", "gab"; "est", "ont", "sera", "coûte"), or French "a" before a participle ("a lancé");
#  2. a reflexive pronoun stands beside it ("lohnt sich", "s'annonce");
#  3. no article, preposition or number leads it (after those comes a noun or an adjective: "the trained
#     model", "a set of", "two injured people", "die letzte") and either
#     - a subject stands before it: a pronoun ("they plan", "il prévoit") or, in English, a plural noun
#       ("Riders pay", "robots now work");
#     - English: it is a common verb ("rose", "costs"), a past tense in "-ed" ("opened"), or it comes
#       before what usually follows only a verb: an article or a quantity ("cover the roof", "last up to"),
#       or a number after a word in "-s" or "-ed" ("costs 4 euros"; a noun may take one: "size 70");
#     - German: it is written small and ends in "-t", "-te", "-ten" or "-en" (German capitalises nouns,
#       so that is mostly a verb: "kostet", "eröffnete", "rechnen");
#     - French: it ends like an imperfect, a future or a third person plural ("-ait", "-era", "-ent" but
#       not the adverbs' "-ment"), or ends like a verb before an article or a number ("coûte 12").
# A fragment such as "Fine-tuning a 70-billion-parameter model on 10,000 examples" has none of these.

TOKEN = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*|\d(?:[\d,.]*\d)?%?|[,;:()—–]")  # words, numbers, phrase breaks
LANGUAGE_HINTS = {
    "en": frozenset([
        "the", "and", "of", "to", "is", "are", "was", "were", "for", "with", "on", "that", "by", "at", "from",
        "its", "has", "have", "will", "this", "it", "be", "as", "or", "but", "not", "they", "their", "which"
    ]),
    "de": frozenset([
        "der", "die", "das", "und", "ist", "nicht", "mit", "ein", "eine", "einen", "einer", "den", "dem", "des",
        "im", "für", "auf", "sich", "zu", "von", "wird", "wurde", "sind", "bei", "hat", "auch", "nach", "wie",
        "zum", "zur", "vom", "beim", "noch", "über", "aus", "vor"
    ]),
    "fr": frozenset([
        "le", "la", "les", "des", "du", "une", "et", "est", "dans", "pour", "sur", "avec", "qui", "que", "au",
        "aux", "ce", "cette", "ses", "sont", "pas", "par", "l", "d", "un", "en", "à", "s", "ne", "se", "son",
        "sa", "leur"
    ]),
}
AUXILIARIES = {
    "en": frozenset([
        "is", "are", "was", "were", "am", "has", "have", "had", "will", "would", "can", "could", "may", "might",
        "must", "shall", "should", "does", "did", "do", "isn", "aren", "wasn", "weren", "hasn", "haven", "hadn",
        "won", "wouldn", "couldn", "shouldn", "doesn", "didn", "don"
    ]),
    "de": frozenset([
        "ist", "sind", "war", "waren", "wird", "werden", "wurde", "wurden", "hat", "haben", "hatte", "hatten",
        "kann", "können", "konnte", "konnten", "muss", "müssen", "musste", "mussten", "soll", "sollen", "sollte",
        "sollten", "will", "wollen", "wollte", "wollten", "darf", "dürfen", "durfte", "mag", "möchte", "möchten",
        "sei", "seien", "wäre", "wären", "hätte", "hätten", "würde", "würden", "gibt", "gab", "geht", "ging",
        "kommt", "kam", "bleibt", "blieb", "liegt", "lag", "steht", "stand", "sagt", "sagte", "fällt", "fiel",
        "steigt", "stieg", "sinkt", "sank", "nimmt", "nahm", "findet", "fand", "hält", "hielt", "läuft", "lief",
        "zieht", "zog", "bringt", "brachte", "weiß", "wusste", "tut", "tat", "heißt", "hieß", "gilt", "galt",
        "trifft", "traf", "spricht", "sprach", "schreibt", "schrieb", "bietet", "bot", "wächst", "wuchs"
    ]),
    "fr": frozenset([
        "est", "sont", "était", "étaient", "sera", "seront", "serait", "seraient", "fut", "ont", "avait",
        "avaient", "aura", "auront", "aurait", "auraient", "peut", "peuvent", "pouvait", "pourra", "pourrait",
        "doit", "doivent", "devait", "devra", "devrait", "va", "vont", "allait", "ira", "fait", "font",
        "faisait", "dit", "disent", "prévoit", "prévoient", "permet", "permettent", "reste", "restent",
        "devient", "deviennent", "compte", "comptent", "coûte", "coûtent", "représente", "atteint", "vient",
        "viennent", "met", "mettent", "prend", "prennent", "voit", "voient", "sait", "reçoit", "semble", "lance",
        "lancent", "propose", "proposent", "ouvre", "ouvrent", "annonce", "annoncent", "confirme", "confirment",
        "explique", "expliquent", "indique", "indiquent", "souligne", "estime", "estiment", "précise", "ajoute",
        "affirme", "assure", "déclare", "demande", "demandent", "décide", "décident", "présente", "présentent",
        "signe", "signent", "touche", "touchent", "concerne", "concernent", "dépasse", "dépassent", "augmente",
        "augmentent", "baisse", "baissent", "recule", "reculent", "progresse", "progressent", "passe", "passent",
        "crée", "créent", "emploie", "emploient", "accueille", "accueillent", "rejoint", "quitte", "quittent"
    ]),
}
# English verbs that double as nouns or adjectives ("the cost", "a set", "on the left"): rule 2 applies.
COMMON_VERBS = frozenset([
    "said", "says", "goes", "went", "came", "comes", "got", "gets", "gave", "gives", "took", "takes", "made",
    "makes", "saw", "sees", "knew", "knows", "thought", "found", "finds", "told", "tells", "became", "becomes",
    "left", "leaves", "kept", "keeps", "began", "begins", "brought", "brings", "held", "holds", "wrote",
    "writes", "stood", "stands", "heard", "meant", "means", "met", "ran", "runs", "paid", "pays", "sent",
    "sends", "built", "builds", "spent", "spends", "lost", "loses", "fell", "falls", "rose", "rises", "grew",
    "grows", "sold", "sells", "bought", "buys", "won", "wins", "led", "leads", "felt", "cut", "put", "set",
    "hit", "shut", "cost", "costs", "sat", "spoke", "broke", "chose", "drove", "flew", "ate", "fought", "caught",
    "taught", "sought", "struck", "shook", "shot", "hung", "laid", "lay", "lies", "slid", "stuck", "swept",
    "wore", "woke", "bore", "dealt", "dug", "fed", "fled", "froze", "hid", "lit", "drew", "threw", "sank",
    "rang", "sang", "drank", "withdrew", "overtook", "needs", "wants", "plans", "uses", "includes", "offers",
    "serves", "covers", "sits", "stays", "looks", "turns", "tends", "depends", "belongs", "matters", "happens",
    "applies", "fades", "drops", "jumps", "climbs", "slips", "gains", "earns", "counts", "marks", "follows",
    "joins", "returns", "lands", "expects", "hopes", "aims", "remains", "seems", "helps", "adds", "calls",
    "shows", "works", "employs", "owns", "faces", "carries", "charges", "lasts", "reaches", "opens", "closes",
    "starts", "ends", "allows", "requires", "provides", "produces", "stores", "saves", "moves", "creates",
    "replaces", "reduces", "increases", "launches", "releases", "funds", "lets", "puts", "sets", "cuts", "hits"
])
LEADS_A_NOUN = {  # articles, possessives and prepositions
    "en": frozenset([
        "a", "an", "the", "its", "their", "his", "her", "our", "my", "your", "this", "these", "those", "every",
        "each", "no", "some", "any", "of", "for", "in", "on", "at", "by", "with", "from", "into", "onto", "to",
        "about", "over", "under", "after", "before", "between", "among", "across", "along", "around", "near",
        "per", "than", "as", "via"
    ]),
    "de": frozenset([
        "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "eines", "kein",
        "keine", "keinen", "keinem", "seine", "seinen", "ihre", "ihren", "ihrem", "unsere", "diese", "dieser",
        "diesen", "dieses", "jede", "jeder", "jeden", "alle", "im", "am", "zum", "zur", "vom", "beim", "in",
        "an", "auf", "aus", "bei", "mit", "nach", "von", "zu", "für", "gegen", "ohne", "um", "durch", "über",
        "unter", "vor", "zwischen", "seit", "bis"
    ]),
    "fr": frozenset([
        "le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "son", "sa", "ses", "leur", "leurs", "ce",
        "cet", "cette", "ces", "au", "aux", "à", "dans", "pour", "sur", "avec", "par", "sans", "sous", "vers",
        "entre", "chez", "selon", "depuis", "pendant", "avant", "après", "contre"
    ]),
}
FUNCTION_WORDS = {  # small words that are never the verb
    "en": STOPWORDS | LEADS_A_NOUN["en"] | frozenset([
        "amid", "behind", "beside", "beyond", "despite", "except", "inside", "outside", "past", "plus", "toward",
        "towards", "versus", "including", "excluding", "following", "regarding", "everywhere", "nowhere",
        "somewhere", "already", "often", "never", "always", "again", "also", "rather"
    ]),
    "de": LEADS_A_NOUN["de"] | frozenset([
        "und", "oder", "aber", "auch", "noch", "nur", "schon", "sehr", "mehr", "wie", "als", "wenn", "dass",
        "ob", "weil", "etwa", "rund", "fast"
    ]),
    "fr": LEADS_A_NOUN["fr"] | frozenset([
        "et", "ou", "mais", "donc", "car", "ni", "que", "qui", "dont", "où", "ne", "n", "pas", "plus", "très",
        "aussi", "déjà", "encore", "environ", "près"
    ]),
}
NOT_VERBS = {  # words that end like a verb but are none
    "en": frozenset([
        "hundred", "kindred", "sacred", "naked", "wicked", "beloved", "aged", "red", "bed", "shed", "need",
        "speed", "indeed", "seed", "feed"
    ]),
    "de": frozenset([
        "nicht", "jetzt", "erst", "seit", "mit", "gut", "heute", "letzte", "letzten", "erste", "ersten",
        "zweite", "zweiten", "dritte", "dritten", "vierte", "fünfte", "sechste", "siebte", "achte", "neunte",
        "zehnte", "meist", "meisten", "fast", "selbst", "weit", "weiter", "zuletzt", "zuerst", "insgesamt",
        "damit", "somit", "recht", "leicht", "oft", "sonst", "samt", "statt", "anstatt", "acht", "spät", "breit",
        "nachts", "bekannt", "gesamt", "bisher", "rechts", "mitte", "ende", "weltweit", "bundesweit", "konkret",
        "direkt", "zusammen", "unten", "oben", "hinten", "morgen", "vorhanden", "eigenen", "eigentlich"
    ]),
    "fr": frozenset([
        "souvent", "récent", "différent", "président", "client", "accident", "argent", "agent", "parent",
        "talent", "cent", "pourcent", "vent", "dent", "lent", "absent", "présent", "urgent", "précédent",
        "suivant", "comment", "surtout"
    ]),
}
SUBJECTS = {
    "en": frozenset([
        "i", "we", "you", "they", "he", "she", "it"
    ]),
    "de": frozenset([
        "ich", "wir", "ihr", "sie", "er", "es", "man"
    ]),
    "fr": frozenset([
        "je", "nous", "vous", "ils", "elles", "il", "elle", "on"
    ]),
}
ADVERBS = frozenset([
    "now", "also", "still", "already", "often", "never", "only", "just", "all", "both", "each", "usually",
    "rarely", "recently", "ne", "n"
])
REFLEXIVE = {"de": frozenset(["sich"]), "fr": frozenset(["se", "s"])}  # "lohnt sich", "s'annonce"
FRENCH_PARTICIPLE = re.compile(r"\w+(?:é|ée|és|ées|i|is|it|u|us)")  # "a lancé", "a dit", "a pris"
OBJECT_START = {  # what follows a verb far more often than a noun
    "en": frozenset([
        "the", "a", "an", "its", "their", "his", "her", "our", "my", "your", "this", "these", "those", "every",
        "each", "some", "any", "no", "more", "less", "fewer", "about", "around", "roughly", "nearly", "almost",
        "up", "down", "out", "off", "back", "only", "just", "all", "both", "several", "many", "much", "most",
        "half", "twice", "neither", "either", "another"
    ]),
    "fr": frozenset([
        "le", "la", "les", "l", "un", "une", "son", "sa", "ses", "leur", "leurs", "ce", "cet", "cette", "ces",
        "plus", "moins", "environ", "près", "presque"
    ]),
}


def has_verb(text: str) -> bool:
    """Whether `text` has a finite verb, in English, German or French (a heuristic: see the comment above)."""
    tokens = TOKEN.findall(text)
    words, small = [token.lower() for token in tokens], [token.islower() for token in tokens]
    return any(_is_verb(words, small, at, language) for language in _languages(words) for at in range(len(words)))


def _languages(words: list[str]) -> list[str]:
    """The language the words look most like (all the likeliest, when the hints tie)."""
    counts = {language: sum(word in hints for word in words) for language, hints in LANGUAGE_HINTS.items()}
    return [language for language, count in counts.items() if count == max(counts.values())]


def _is_verb(words: list[str], small: list[bool], at: int, language: str) -> bool:
    word = words[at]
    before, after = words[at - 1] if at else "", words[at + 1] if at + 1 < len(words) else ""
    if word in AUXILIARIES[language] or (language == "fr" and word == "a" and FRENCH_PARTICIPLE.fullmatch(after)):
        return True
    if at == 0 or not small[at] or word in FUNCTION_WORDS[language] or word in NOT_VERBS[language]:
        return False
    if after in REFLEXIVE.get(language, ()) or before in REFLEXIVE.get(language, ()):
        return True
    if before in LEADS_A_NOUN[language]:
        return False
    if _after_subject(words, at, language):
        return True
    if language == "de":
        return len(word) >= 3 and word.endswith(("t", "te", "ten", "en")) and not word.endswith(("ste", "sten"))
    if language == "fr":
        ending = word.endswith(("ait", "aient", "era", "eront", "ira", "iront")) or (
            word.endswith("ent") and not word.endswith("ment")
        )
        verb_like = word.endswith(("e", "es", "t"))  # "coûte 12", "prévoit 40"; not "mercredi 4", "juin 2025"
        return (len(word) >= 5 and ending) or (verb_like and (after[:1].isdigit() or after in OBJECT_START["fr"]))
    return _english_verb(word, before, after)


def _english_verb(word: str, before: str, after: str) -> bool:
    if word in COMMON_VERBS:
        return True
    if word.endswith(("ing", "ly")) or (before[:1].isdigit() and not before.endswith("%")):
        return False  # "rising costs", "two injured people"
    if len(word) >= 5 and word.endswith("ed"):
        return True
    if word.endswith("s") and (before.endswith("ly") or (after.endswith("ly") and len(after) > 4)):
        return True  # "rarely fades", "focuses mainly"
    return after in OBJECT_START["en"] or (after[:1].isdigit() and word.endswith(("s", "ed")))


def _after_subject(words: list[str], at: int, language: str) -> bool:
    """A pronoun, or in English a plural noun, right before the word (an adverb may stand between)."""
    back = at - 2 if at >= 2 and words[at - 1] in ADVERBS else at - 1
    subject, word = words[back], words[at]
    if subject in SUBJECTS[language]:
        return True
    plural_noun = (
        len(subject) >= 4 and subject.endswith("s") and not subject.endswith(("ss", "us", "is"))
        and subject not in FUNCTION_WORDS["en"] and subject[:1].isalpha()
    )
    return language == "en" and plural_noun and not word.endswith(("s", "ing", "ly"))
