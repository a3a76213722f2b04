"""Key facts: the article's own list (under "Key facts", "Highlights", "What happened"...) item for item,
else its most informative sentences (numbers, dates, names, the main subject), each still a whole sentence
after it is shortened."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

from .clean import TextBlock
from .scoring import bag, cosine, vectors
from .sentences import AUXILIARIES, COMMON_VERBS, STOPWORDS, Sentence, has_verb, strip_dateline, terms

MIN_FACTS = 3
MAX_FACTS = 5
PICKED_FACTS = 4  # when choosing sentences: enough to be useful, few enough to scan
FACT_CHARS = 120  # drafted facts aim under this...
MAX_FACT_CHARS = 140  # ...and never pass it: check.KEY_FACT_MAX_CHARS, above which `newsletter check` warns
REDUNDANT = 0.45
REPEATED_SHARE = 0.7  # a fact with this share of its content words in one summary sentence repeats it...
SAME_FIGURES_SHARE = 0.6  # ...and with this share, when it gives no figure the sentence does not

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
DATE_WORDS = frozenset([
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "spring", "summer",
    "autumn", "winter", "quarter", "januar", "februar", "märz", "mai", "juni", "juli", "oktober", "dezember",
    "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag", "janvier", "février", "mars",
    "avril", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre", "lundi", "mardi",
    "mercredi", "jeudi", "vendredi", "samedi", "dimanche"
])
WORD_OR_NUMBER = re.compile(r"[^\W\d_]+|\d+")
CONTENT_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*|\d+(?:[.,]\d+)*")
FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
ELISION = re.compile(r"^(?:[cdjlmnst]|qu)['’]")
# German and French words that carry no content (English ones: sentences.STOPWORDS). Without them, two
# sentences would look alike for sharing "der", "und" and "de la".
FUNCTION_WORDS = frozenset([
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "eines", "und", "oder",
    "aber", "mit", "für", "von", "vom", "zu", "zum", "zur", "im", "am", "an", "auf", "aus", "bei", "nach", "vor",
    "über", "um", "als", "wie", "auch", "noch", "nicht", "sich", "sie", "er", "es", "ist", "sind", "war", "hat",
    "haben", "wird", "werden", "wurde", "soll", "kann", "dass", "sowie", "bis", "seit", "rund", "etwa",
    "le", "la", "les", "un", "une", "du", "de", "et", "ou", "mais", "pour", "avec", "dans", "en", "au", "aux",
    "sur", "par", "que", "qui", "dont", "où", "ne", "pas", "plus", "se", "ce", "cette", "ces", "son", "sa",
    "ses", "leur", "leurs", "il", "elle", "ils", "elles", "est", "sont", "été", "être", "avoir", "ont", "sera",
])
HEDGE = re.compile(
    r"\b(?:could|may|might|would|likely|perhaps|possibly|suggests?|seems?|appears?|arguably|considered|"
    r"will be (?:read|watched|seen))\b",
    re.IGNORECASE,
)
LEANS_BACK = re.compile(r"^(?:it|this|that|these|those|they|but|and|also|however|such|so)\b", re.IGNORECASE)
PROPER_NOUN = re.compile(r"(?<=[\w,;:] )[A-Z][\w’'-]+")
QUOTE_MARKS = re.compile(r"[“”\"„«»]")
# Four words or more in quotation marks: "…", “…”, German „…“ and French « … ».
QUOTED_SPEECH = re.compile(r"[“\"„«][^“”\"„«»]*\s[^“”\"„«»]*\s[^“”\"„«»]*\s[^“”\"„«»]*[”\"“»]")


def listed_facts(blocks: Sequence[TextBlock]) -> list[str]:
    """The items of the article's own key-facts list (at most five), as written; an item too long for a
    key fact is cut by clause as a drafted fact is, or left out when it cannot be cut cleanly."""
    for heading in (b.text for b in blocks if b.kind == "heading"):
        if not is_key_list_heading(heading):
            continue
        items = [b.text.rstrip() for b in blocks if b.kind == "item" and b.section == heading]
        if items:
            return [fact for item in items[:MAX_FACTS] if (fact := _listed_fact(item))]
    return []


def _listed_fact(item: str) -> str | None:
    """A list item as a key fact: as written when it fits (`newsletter check` warns above MAX_FACT_CHARS)."""
    return item if len(item) <= MAX_FACT_CHARS else as_fact(item)


def is_key_list_heading(text: str) -> bool:
    return bool(KEY_LIST_HEADING.fullmatch(text.strip(" :!.").strip()))


def key_facts(
    blocks: Sequence[TextBlock], sentences: Sequence[Sentence], subject: Sequence[str], summary: Sequence[Sentence]
) -> list[str]:
    """Up to five key facts: the article's list if it has one (topped up from its sentences to three if
    shorter), else its most informative sentences. Fewer when the article has fewer good sentences, none
    when the summary already says all it has: a weak or repeated fact is worse than none."""
    facts = listed_facts(blocks)
    if len(facts) >= MIN_FACTS:
        return facts
    wanted = (MIN_FACTS if facts else PICKED_FACTS) - len(facts)
    return facts + sentence_facts(sentences, subject, summary, wanted, exclude=facts)


def sentence_facts(
    sentences: Sequence[Sentence], subject: Sequence[str], summary: Sequence[Sentence], count: int, exclude: Sequence[str] = ()
) -> list[str]:
    """Up to `count` facts from the most informative sentences, in article order: each a whole sentence
    with a verb and its full stop, none repeating another, a fact in `exclude` or any summary sentence."""
    # Quoted speech goes in the quote field; a fact is the article's own statement.
    candidates = [
        s for s in sentences
        if s.words >= 5 and not s.text.rstrip("”“\"'»« ").endswith("?") and not QUOTED_SPEECH.search(s.text)
    ]
    if not candidates:
        return []
    # The reader has just read the summary: a fact tells them something else. When the summary opens a later
    # paragraph, the first one was passed over as a deck (or a caption): it rewords the lead, so it is no fact.
    not_facts = {s.index for s in summary}
    if summary and summary[0].paragraph > 0 and summary[0].position == 0:
        not_facts |= {s.index for s in sentences if s.paragraph == 0}
    said = [s.text for s in summary]
    vecs = vectors(candidates)
    subject_vec = bag(subject)
    excluded = [bag(terms(text)) for text in exclude]
    scores = {s.index: _informative(s, cosine(vecs[s.index], subject_vec)) for s in candidates if s.index not in not_facts}
    ranked = sorted((s for s in candidates if s.index in scores), key=lambda s: (-scores[s.index], s.index))
    chosen: list[tuple[Sentence, str]] = []

    def pick(upto: int, concrete: bool) -> None:
        for s in ranked:  # each step compares with at most `count` facts: linear in the sentences
            if len(chosen) >= upto:
                return
            if concrete and not _concrete(s.text):
                continue
            if not concrete and scores[s.index] <= 0:
                continue  # a plain statement that names no one and is not about the story is filler
            if any(cosine(vecs[s.index], vecs[c.index]) > REDUNDANT for c, _ in chosen):
                continue  # a sentence already chosen is its own repeat too
            if any(cosine(bag(s.terms), other) > REDUNDANT for other in excluded):
                continue
            fact = as_fact(s.text)
            if fact is None or any(repeats(fact, sentence) for sentence in said):
                continue
            if concrete and not _concrete(fact):
                continue  # its figures were in the clause the cut dropped
            chosen.append((s, fact))

    # Facts with a number or a date first; a plain statement of substance only to reach the minimum.
    pick(count, concrete=True)
    pick(min(count, MIN_FACTS), concrete=False)
    return [fact for _, fact in sorted(chosen, key=lambda pair: pair[0].index)]


def _concrete(text: str) -> bool:
    return bool(NUMBER.search(text) or _date_words(text))


def _date_words(text: str) -> int:
    """How many words name a month, a day, a season or a year ("March", "Dienstag", "août", "2026")."""
    return sum(word in DATE_WORDS or (len(word) == 4 and word[:2] in ("19", "20") and word.isdigit()) for word in WORD_OR_NUMBER.findall(text.lower()))


def repeats(fact: str, sentence: str) -> bool:
    """Whether `fact` says again what `sentence` says: most of its content words are the sentence's
    (REPEATED_SHARE of them; SAME_FIGURES_SHARE when every figure of the fact is the sentence's too, as in
    a reworded "State officials approved $18 million in tax credits"). A shortened copy of a sentence is a
    repeat; a fact that shares a name with it but says something else, or adds a figure, is not."""
    own = _content_terms(fact)
    if not own:
        return False
    share = len(own & _content_terms(sentence)) / len(own)
    same_figures = set(FIGURE.findall(fact)) <= set(FIGURE.findall(sentence))
    return share >= REPEATED_SHARE or (same_figures and share >= SAME_FIGURES_SHARE)


def _content_terms(text: str) -> frozenset[str]:
    """The words of `text` that carry its content, in any of the three languages: lower-cased, without
    function words or French elisions ("l'entreprise" is "entreprise"), "panels" counted as "panel"."""
    found = set()
    for word in CONTENT_WORD.findall(text.lower()):
        word = ELISION.sub("", word).removesuffix("'s").removesuffix("’s")
        if word in STOPWORDS or word in FUNCTION_WORDS or (len(word) < 2 and not word.isdigit()):
            continue
        if word[0].isalpha() and len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.add(word)
    return frozenset(found)


def _informative(s: Sentence, subject_similarity: float) -> float:
    text = s.text
    score = 1.0 * min(len(NUMBER.findall(text)), 3)
    score += 0.8 * min(_date_words(text), 2)
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
# "Ada Lee, one of the co-founders of X, to lead …": the one aside of a sentence (", who leads the team,",
# ", which opened in 2019,") with no other comma before or after it, and no list after it: in ", which grow
# almonds, tomatoes and grapes" or "Vance, 74, who visited …, stood" the commas are not the aside's alone. Nor
# is it one when an article follows: in "Riders pay part of each trip, which …, a scheme sold to 400 firms" the
# end is a phrase about the whole sentence, and without the aside it would run on from "trip".
ASIDE = re.compile(
    r"^(?P<head>[^,;]+),\s+(?:who|which|whose|where|one of|a|an|the|its|his|her|their|now|then|formerly|previously)"
    r"\s[^,;]{2,90},\s+(?=[a-z][^,;]*$)(?![\w'’-]+(?:\s[\w'’-]+)?\s(?:and|or)\s)(?!(?:a|an|the)\s)"
)
SENTENCE_END = (".", "!", "?", "…", ".”", ".\"", ".»", "!”", "?”")  # what a fact may already end with
PARENTHESES = re.compile(r"\s*\([^()]{1,80}\)")
# ", its operator reported on 14 April 2026" / ", the council announced on Thursday" at the end of a sentence
TRAILING_SOURCE = re.compile(
    r",\s+(?:the |its |a |an )?[\w'’ -]{2,50}?\s"
    r"(?:said|says|reported|reports|announced|announces|confirmed|told [\w ]{2,30}|wrote)"
    r"(?:\s+(?:on|in|last|this)\s+[\w ,]{2,30})?$"
)
# Where a long sentence can end early: before a comma-led clause (first choice) or a linking word.
# German and French relative and linking clauses too (", die …", ", während …", ", qui …", ", alors que …").
CLAUSE_BREAKS = re.compile(
    r";\s|\s(?:[—–]|--?)\s|,\s(?=(?:which|while|where|whereas|including|as|after|before|but|and|so|although|though|because|"
    r"with|without|leading|making|creating|bringing|giving|adding|meaning|according|mostly|mainly|largely|"
    r"especially|particularly|up from|down from|compared|"
    r"der|die|das|deren|dessen|wobei|während|nachdem|weil|da|sodass|sowie|und|aber|"
    r"qui|que|dont|où|alors que|tandis que|avant|après|mais|et|selon|soit)\b)"
)
PHRASE_BREAKS = re.compile(
    r",\s|\s(?=(?:after|while|when|because|although|despite|following|since|with|thanks to|before|until|"
    r"so that|in order to|to help)\s)"
)
# The day of the week a report gives ("announced Thursday that", "voted on Tuesday night", "a désigné mardi",
# "am Donnerstagabend"): it says little once the newsletter goes out days later. Not a weekday a phrase
# needs ("starting Thursday", "until Monday") nor one with its date ("lundi 18 août").
DAYS = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
WEEKDAY = re.compile(
    rf"\s+on\s+{DAYS}(?:\s+(?:morning|afternoon|evening|night))?\b(?!\s*,?\s*\d)"
    rf"|(?<=[a-z](?:ed|id|ys))\s+{DAYS}(?:\s+(?:morning|afternoon|evening|night))?\b(?!\s*,?\s*\d)"
    r"|\s+(?:this|last)\s+week\b|\s+(?:today|yesterday)\b(?!['’])"
    r"|\s+am\s+(?:Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag)(?:morgen|mittag|abend|nachmittag)?\b(?!\s*,?\s*\d)"
    r"|(?<=[a-zé])\s+(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\b(?!\s*\d)(?=\s+[a-zà-ÿ])"
)
# A cut must not end on a word that needs more after it ("the most", "along", "sowie", "et"), nor on an
# amount an article leads ("will build a $185 million" of "a $185 million, six-story tower"), nor inside
# an aside that opened after "and" ("restoring rigging and, in a few cases").
DANGLING = re.compile(
    r"(?:\b(?:the|a|an|of|to|and|or|but|nor|with|for|from|by|in|on|at|as|into|about|between|than|that|which|who|"
    r"whose|while|where|when|most|more|less|its|their|his|her|our|this|these|those|very|such|is|are|was|were|"
    r"be|been|has|have|had|will|would|not|along|across|around|after|before|without|within|through|toward|"
    r"towards|against|among|including|like|per|via|near|despite|since|until|upon|onto|rather|even|both|either|"
    r"neither|compared|"
    r"der|die|das|den|dem|des|ein|eine|einen|und|oder|sowie|mit|für|von|zu|im|am|auf|als|"
    r"le|la|les|de|du|un|une|et|ou|pour|avec|dans|en|à|au|aux|sur|par|que|qui)"
    r"|\b(?:a|an|ein|eine|einen|un|une)\s+[$€£]?\d[\d.,]*(?:\s+(?:million|billion|trillion|thousand|percent|"
    r"Millionen|Milliarden|millions?|milliards?))?"
    r"|\b(?:and|or|but|und|oder|aber|et|ou|mais),\s[^,]*"
    r"|,\s+[^\W\d_]+ing"  # "…that each provider must keep, starting" (of ", starting with the largest")
    r"|\bat (?:a|the) time"  # "…at a time" (of "at a time when …")
    r"|[-–—(,:;/&])\s*$",
    re.IGNORECASE,
)
# Words whose loss changes what the rest of a sentence says: a limit ("up to", "at least"), a choice
# ("whichever is higher"), a negation ("not") or a condition ("unless", "if"). A cut that would drop one
# is no cut: the fact is left out instead ("fined 3% or €15 million" is not "…, whichever is higher").
QUALIFIER = re.compile(
    r"\b(?:whichever|whatever|unless|if|provided|only|except|not|never|no longer|nor|without|until|pending|"
    r"subject to|as long as|up to|at least|at most|no more than|a maximum of|a minimum of|"
    r"nicht|kein\w*|nie|niemals|nur|außer|sofern|falls|wenn|bis zu|mindestens|höchstens|ohne|"
    r"ne|pas|jamais|seulement|sauf|si|jusqu['’]à|au moins|au plus|sans)\b|n['’]t\b",
    re.IGNORECASE,
)
# A clause these words open needs its own verb: "Officials have yet to say whether the Act's code of
# practice" is no sentence, whatever verb came before "whether".
SUBORDINATE = re.compile(  # small letters only: "Kestrel Falls" is a name ("falls" is English too, so not German's)
    r"\b(?:whether|if|because(?! of)|although|though|unless|whereas|ob|weil|sofern|obwohl|"
    r"parce que|bien que|lorsque|puisque)\s+(?!to\b|so\b|not\b)(?P<clause>[^,;]*)"
)
VERB_FIRST = frozenset().union(*AUXILIARIES.values(), COMMON_VERBS)
# A sentence that opens with its subject and an aside ("The atrium, designed by Corran & Webb, floods …"):
# a cut that ends in the aside left the subject without its verb. The subject is a phrase an article
# leads, or a name; the aside starts with a relative pronoun or an article, or follows right after it.
ARTICLE = re.compile(r"(?:the|a|an|its|their|his|her|der|die|das|ein|eine|le|la|les|l|un|une)\b", re.IGNORECASE)
ASIDE_START = re.compile(
    r"(?:which|who|whose|where|when|that|the|a|an|its|his|her|their|one|"
    r"der|die|das|dem|den|deren|dessen|wo|weil|dass|ob|wenn|als|ein|eine|"
    r"qui|que|dont|où|lorsque|quand|le|la|les|un|une)\b",
    re.IGNORECASE,
)
# ", and every component" at the end of a cut: a joined clause that opens with its subject.
JOINED_CLAUSE = re.compile(
    r"[,;]\s+(?P<clause>(?:and|but|or|so|yet|und|aber|oder|doch|et|mais|ou)\s+(?P<subject>[^,;]+))$", re.IGNORECASE
)
CLAUSE_SUBJECT = re.compile(
    r"(?:the|a|an|its|his|her|their|our|this|that|these|those|every|each|all|some|most|many|no|"
    r"der|die|das|ein|eine|jede|jeder|jedes|alle|le|la|les|l|un|une|chaque|tous|toutes)\b",
    re.IGNORECASE,
)
NOT_A_NAME_START = frozenset([
    "in", "on", "at", "after", "before", "since", "during", "for", "from", "by", "with", "under", "over", "last",
    "this", "next", "im", "am", "nach", "seit", "vor", "bei", "mit", "für", "à", "en", "dans", "après", "avant",
    "depuis", "pour", "par", "avec", "selon"
])

def as_fact(sentence: str) -> str | None:
    """A sentence as a key fact: without its dateline, cut at a clause boundary to about FACT_CHARS
    characters (never past MAX_FACT_CHARS), still a whole sentence with a verb, and ending as one (its
    full stop kept, or put back after a cut); None when it cannot be cut cleanly or has no verb."""
    text = _bare(sentence)
    for limit in (FACT_CHARS, MAX_FACT_CHARS):
        fact = _fit(text, limit - 1)  # room for the full stop
        if fact:
            return _closed(fact)
    return None


def shorten(text: str, limit: int = FACT_CHARS) -> str:
    """`text` cut to about `limit` characters at a clause boundary, as for a key fact; failing that, at the
    last whole word before the limit, marked "…" (a title cut from a first sentence needs some text)."""
    text = _bare(text)
    if len(text) <= limit:
        return text
    fact = _fit(text, limit)
    if fact:
        return fact
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit].rstrip(" ,;:—–-") + "…"


def clause_prefix(text: str, limit: int) -> str | None:
    """The longest start of `text`, at most `limit` characters, that ends at a clause boundary and is still
    a whole sentence (no verbless stub, no dangling "the most") that means what it meant; None if there is none."""
    for breaks in (CLAUSE_BREAKS, PHRASE_BREAKS):
        cuts = [m.start() for m in breaks.finditer(text) if m.start() <= limit and len(text[: m.start()].split()) >= 6]
        for cut in reversed(cuts):
            prefix = text[:cut].rstrip(" ,;:—–-")
            rest = text[cut:]
            if is_whole(prefix) and _cut_keeps_meaning(rest) and not _verb_cut_off(rest) and not _list_cut(prefix, rest):
                return prefix
    return None


def keeps_meaning(full: str, shorter: str) -> bool:
    """Whether `shorter`, a cut of `full`, still has every word of `full` that qualifies what it says
    ("whichever", "up to", "at least", "not", "unless"...)."""
    return _qualifiers(shorter) == _qualifiers(full)


def _cut_keeps_meaning(rest: str) -> bool:
    """Whether ending a sentence where `rest` starts leaves the meaning of what comes before as it was:
    the phrase that `rest` opens with (up to its next comma) qualifies nothing ("…or €15 million, whichever
    is higher", "…in May, unless the vote fails"). Later phrases, and a statement after a semicolon, are
    their own ("; not before 2027" still qualifies; "; the trams will run until 2027" does not)."""
    rest = rest.lstrip(" ,—–-")
    if rest.startswith(";"):
        return not QUALIFIER.match(rest.lstrip(" ;"))
    return not QUALIFIER.search(re.split(r"[,;]|\s[—–]\s", rest, maxsplit=1)[0])


def _qualifiers(text: str) -> Counter[str]:
    return Counter(" ".join(found.lower().split()) for found in QUALIFIER.findall(text))


def _list_cut(kept: str, rest: str) -> bool:
    """Whether the cut falls inside a list: before its last item, when the kept text ends in an item with no
    verb ("…how Claude handles reasoning, factual grounding" of "…, and performance on benchmarks"), or
    before its next items ("…lives or works in Canton" of "…, Marris or Upton counties")."""
    if re.match(r",\s+(?:[A-ZÀ-Þ\d]|[^\W\d_]+(?:\s[^\W\d_]+){0,2},?\s+(?:and|or|und|oder|et|ou)\s)", rest):
        return True
    if not re.match(r"[\s,]*(?:and|or|und|oder|et|ou)\s", rest):
        return False
    *before, last = kept.rsplit(", ", 1)
    return bool(before) and not has_verb(last)


def _verb_cut_off(rest: str) -> bool:
    """Whether the text a cut drops opens with a verb: then the cut parted a subject from its verb
    ("…whether the code of practice, signed by 26 companies last year" of "…, will count as proof")."""
    first = re.match(r"[\W\d_]*([^\W\d_]+)", rest)
    return bool(first and first[1] in VERB_FIRST)


def is_whole(text: str) -> bool:
    """Whether `text` reads as a complete sentence: a verb, nothing left hanging at its end, a subject that
    kept its verb (the sentence's, and the last joined clause's), and every bracket and quotation closed."""
    return (
        has_verb(text) and not DANGLING.search(text) and not _subject_left(text) and not _joined_subject_left(text)
        and not _clause_left_open(text)
        and text.count("(") == text.count(")") and text.count("“") == text.count("”")
        and text.count('"') % 2 == 0 and text.count("«") == text.count("»") and text.count("„") <= text.count("“")
    )


def _subject_left(text: str) -> bool:
    """Whether `text` opens with a subject and its aside and stops before the subject's verb: "The Halden
    Museum, shut since the storm" or "Marguerite Vance, 74, who first visited the museum" (but not "Lake
    Ardell, which supplies the valley, held 31,000 acre-feet", nor "In 2019, the plant opened")."""
    parts = text.split(", ")
    if len(parts) < 2 or not _subject(parts[0]) or has_verb(parts[0]):
        return False
    # Read each later part after the subject, so its verb stands where a verb stands: "Lake Ardell held".
    return not any(has_verb(f"{parts[0]} {part}") and not ASIDE_START.match(part) for part in parts[2:])


def _clause_left_open(text: str) -> bool:
    """Whether `text` ends in a clause opened by "whether", "if", "because"... that has no verb of its own
    up to its first comma ("Officials have yet to say whether the Act's code of practice, signed last year")."""
    opened = list(SUBORDINATE.finditer(text[:1].lower() + text[1:]))
    return bool(opened and opened[-1]["clause"].strip() and not has_verb(opened[-1]["clause"]))


def _joined_subject_left(text: str) -> bool:
    """Whether `text` ends in a joined clause cut before its verb: "…recycled plastics, and every component"
    (of "…, and every component, including the battery, can be replaced"). A list's last item ("apples,
    pears, and plums") opens with no article, so it is not taken for one."""
    joined = JOINED_CLAUSE.search(text)
    # Read with its "and": a lone "every component" could pass for German ("kommt", "zahlt").
    return bool(joined and CLAUSE_SUBJECT.match(joined["subject"]) and not has_verb(joined["clause"]))


def _subject(phrase: str) -> bool:
    """A phrase an article leads ("The atrium"), or a name ("Marlowe's Bakery"), as a sentence's opening."""
    words = phrase.split()
    if ARTICLE.match(phrase):
        return True
    return all(word[:1].isupper() for word in words) and words[0].lower() not in NOT_A_NAME_START


def condensed(sentence: str) -> str | None:
    """`sentence` without what it can lose from its middle and still say the same: the day of the week
    (stale once the newsletter goes out), brackets and an aside; a whole sentence, ending as one. None
    when it has none of them (the summary uses this so that it copies no more than one sentence)."""
    text = _bare(sentence)
    shorter = text
    for cut in (_without_weekday, _without_brackets, _without_aside):
        shorter = _drop(shorter, cut)
    return _closed(shorter) if shorter != text else None


def _closed(text: str) -> str:
    return text if text.endswith(SENTENCE_END) else text + "."


def _without_weekday(text: str) -> str:
    return WEEKDAY.sub("", text)


def _without_lead_in(text: str) -> str:
    return _capitalized(LEAD_IN.sub("", text))


def _without_brackets(text: str) -> str:
    return PARENTHESES.sub("", text)


def _without_aside(text: str) -> str:
    return ASIDE.sub(r"\g<head> ", text)


def _without_source(text: str) -> str:
    return TRAILING_SOURCE.sub("", text)


def _fit(text: str, limit: int) -> str | None:
    """`text` within `limit` characters, dropping what is least needed first (a lead-in, brackets, asides,
    who said so) and then the clauses at its end; None if that leaves no whole sentence."""
    for cut in (_without_lead_in, _without_brackets, _without_aside, _without_source):
        if len(text) > limit:
            text = _drop(text, cut)
    if len(text) > limit:
        return clause_prefix(text, limit)
    return text if is_whole(text) else None


def _drop(text: str, cut: Callable[[str], str]) -> str:
    """`cut(text)` if that is still a whole sentence, else `text`."""
    shorter = cut(text).strip()
    return shorter if shorter != text and is_whole(shorter) and keeps_meaning(text, shorter) else text


def _bare(text: str) -> str:
    """A sentence without its dateline and closing full stop."""
    return strip_dateline(text.strip()).rstrip(".").strip().rstrip(" ,;:").strip()


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]
