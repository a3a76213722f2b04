"""Story corpus benchmark: how well drafting separates the article from the page, on tests/stories/corpus/.

Run with `.venv/bin/python bench/story_corpus.py` (add `--verbose` to list every misfiled block). Each corpus
article comes as a full page (NAME.html), the same page copied as text (NAME.txt) and NAME.expected.yaml.
Every page is drafted and scored on:

  leaks     any `must_not` string (page chrome) found in the summary, a key fact or the quote
  recall    of the junk filter: chrome blocks removed / all chrome blocks
  precision of the junk filter: chrome blocks removed / (chrome + article blocks removed)
  facts     share of drafted key facts that read as full sentences (closing punctuation, a verb in the page's
            language, at most 140 chars): facts the drafter wrote from the article's sentences; the items of
            an article's own key-facts list are copied as written, so they are left out of the share (a page
            with a short list counts only the facts drafted to top it up)
  figure    share of summaries holding the lead figure (pages that have one)
  title     drafted titles equal to the expected one

Blocks are what a reader sees as separate pieces of the page: each non-blank line of a .txt, each
block-level element's own text in an .html. A block is *chrome* if it holds a `must_not` string and
*article* if it is a block of the story's body (the HTML element holding most of the page's paragraphs, less
its asides, figures, ad slots and link-only paragraphs; a .txt line is matched to its HTML twin). Blocks that
are neither (menus, bylines, comments, teasers no `must_not` names) are *other*: the share removed is shown,
but they count neither for nor against precision, since the expected files do not say which of them are
chrome. (Counting every non-chrome block as article, as "prec.all" does, makes a filter that removes more of
the menus and comments score worse.) A chrome block is removed when its chrome string is left in none of the
cleaned blocks the drafter works from; an article block is removed when less than half of it is left.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml import YAML

from newsletter.stories.clean import Cleaned, clean
from newsletter.stories.draft import Draft, draft_from
from newsletter.stories.extract import extract
from newsletter.stories.facts import listed_facts
from newsletter.stories.fetch import Fetched, fetch
from newsletter.stories.quotes import normalized

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "stories" / "corpus"
MAX_FACT_CHARS = 140  # what `newsletter check` accepts for a key fact
KEPT_SHARE = 0.5  # a block with half its word triples in the cleaned text was kept (trimmed, or split into quote and speaker)
MIN_TRIMMED_WORDS = 12

Label = Literal["chrome", "article", "other"]


@dataclass(frozen=True)
class Expected:
    """One corpus article's NAME.expected.yaml."""

    name: str
    language: str
    title: str
    lead_figure: str | None
    quote: dict[str, str] | None
    must_not: tuple[str, ...]


def load_expected(path: Path) -> Expected:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return Expected(
        name=path.name.removesuffix(".expected.yaml"),
        language=data["language"],
        title=data["title"],
        lead_figure=data.get("lead_figure"),
        quote=data.get("quote"),
        must_not=tuple(data["must_not"]),
    )


def corpus_pages(corpus: Path = CORPUS) -> list[tuple[Path, Expected]]:
    """Every corpus page (.html and .txt) with its expectations, in a stable order."""
    pages = []
    for expected_path in sorted(corpus.glob("*.expected.yaml")):
        expected = load_expected(expected_path)
        pages += [(corpus / f"{expected.name}{suffix}", expected) for suffix in (".html", ".txt")]
    return pages


# --- text matching -----------------------------------------------------------------------------------


def plain(text: str) -> str:
    """Whitespace (non-breaking spaces too) collapsed, case folded: for finding a string in drafted text."""
    return " ".join(text.split()).casefold()


def contains_chrome(text: str, must_not: Iterable[str]) -> list[str]:
    haystack = plain(text)
    return [needle for needle in must_not if plain(needle) in haystack]


# --- page blocks -------------------------------------------------------------------------------------

# Elements a browser lays out as their own box: text inside one never runs on into its neighbours.
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "button", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "label", "li",
    "main", "nav", "ol", "option", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
})
INVISIBLE_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title", "meta", "link", "svg", "select"})
# Parts of the body element that are not the story (a teaser box, a picture and its caption, a form).
NOT_BODY_TAGS = frozenset({"aside", "figure", "form", "nav", "footer", "header"})
AD_CLASS = re.compile(r"^(?:ad|ads|advert\w*|ad-\w+)$")  # an advertisement's slot inside the body


def text_blocks(text: str) -> list[str]:
    """A plain-text page as blocks: its non-blank lines."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def html_blocks(root: Any, skip: frozenset[str] = frozenset()) -> list[str]:
    """The own text of every block-level element under `root`, in reading order (tags in `skip` left out)."""
    blocks: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = " ".join("".join(current).split())
        if text:
            blocks.append(text)
        current.clear()

    def walk(element: Any) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in INVISIBLE_TAGS or tag in skip or not tag:
            return
        is_block = tag in BLOCK_TAGS
        if is_block:
            flush()
        current.append(element.text or "")
        for child in element:
            walk(child)
            current.append(child.tail or "")
        if is_block:
            flush()

    walk(root)
    flush()
    return blocks


def page_blocks(fetched: Fetched) -> list[str]:
    """The page as a reader sees it, before any filtering."""
    text = fetched.data.decode("utf-8")
    if fetched.kind != "html":
        return text_blocks(text)
    import lxml.html

    return html_blocks(lxml.html.document_fromstring(text).body)


def body_blocks(html: str) -> set[str]:
    """The normalized blocks of the story's body: the element with the most <p> children, without its asides,
    its ad slots and its link-only paragraphs ("Read the original article")."""
    import lxml.html

    root = lxml.html.document_fromstring(html)
    body = max(root.iter("div", "section", "article", "main"), key=lambda e: len(e.findall("p")))
    for element in list(body.iter()):
        classes = str(element.get("class") or "").lower().split()
        only_a_link = element.tag == "p" and len(element) == 1 and element[0].tag == "a" and not (element.text or "").strip()
        if element is not body and (only_a_link or any(AD_CLASS.match(c) for c in classes)):
            element.drop_tree()
    return {normalized(block) for block in html_blocks(body, skip=NOT_BODY_TAGS)}


def label(block: str, expected: Expected, body: set[str]) -> Label:
    if contains_chrome(block, expected.must_not):
        return "chrome"
    return "article" if normalized(block) in body else "other"


def kept_texts(cleaned: Cleaned) -> list[str]:
    """Everything the drafter works from, normalized: each block, and each quote with its attribution."""
    texts = []
    for block in cleaned.blocks:
        texts.append(normalized(block.text))
        if block.attribution:
            texts.append(normalized(f"{block.text} {block.attribution}"))
    return texts


def trigrams(words: list[str]) -> set[tuple[str, ...]]:
    return set(zip(words, words[1:], words[2:], strict=False))


def is_kept(block: str, kept: list[str], kept_trigrams: set[tuple[str, ...]]) -> bool:
    """Whether a page block survives cleaning. A short block ("Home", "Key Development:") must be a kept block by
    itself; a longer one may sit inside one, or be mostly kept (a dateline or a "said X" cut out of it)."""
    words = normalized(block)
    if len(words.split()) <= 3:
        return words in kept
    if any(f" {words} " in f" {text} " for text in kept):
        return True
    if len(words.split()) < MIN_TRIMMED_WORDS:
        return False  # too few word triples to tell a trimmed block from one that shares a name with the story
    own = trigrams(words.split())
    return len(own & kept_trigrams) >= KEPT_SHARE * len(own)


def chrome_survives(block: str, expected: Expected, kept: list[str]) -> bool:
    """A chrome block is removed when none of its chrome strings is left in what the drafter works from."""
    needles = [normalized(needle) for needle in contains_chrome(block, expected.must_not)]
    return any(f" {needle} " in f" {text} " for needle in needles for text in kept)


# --- one page ----------------------------------------------------------------------------------------

SENTENCE_END = tuple(".!?”\"»’'")
# A word that is (or looks like) a verb in English, German or French: auxiliaries and common verbs, English
# past forms, German participles, French past participles. A heuristic, enough to tell a clause from a noun phrase.
VERB_LIKE = re.compile(
    r"\b(?:is|are|was|were|be|been|has|have|had|will|would|can|could|should|might|must|does|did|do|"
    r"says?|said|told|rose|fell|grew|won|lost|cut|set|hit|led|held|made|took|gave|paid|spent|sold|bought|built|"
    r"ist|sind|war|waren|hat|haben|hatte|hatten|wird|werden|wurde|wurden|soll|sollen|kann|können|muss|müssen|"
    r"sagte|sagt|liegt|lag|gilt|bleibt|bleiben|steigt|sinkt|"
    r"est|sont|était|ont|avait|sera|seront|va|vont|doit|doivent|peut|peuvent|fait|font|reste|passe|compte|"
    r"\w{3,}ed|ge\w{3,}(?:t|en)|\w{3,}(?:é|ée|és|ées))\b",
    re.IGNORECASE,
)


# Present tenses the list above misses, read from a word's neighbours so a plural noun or an adjective is not
# taken for a verb. English: "-s" after a word that is no article or preposition, before what follows a verb
# ("the pilot runs for", "Tollund rates the"), and "there's". German (nouns are capitalised): a small word in
# "-t"/"-te" right after a capitalised word or a comma ("Das Museum zeigt", "Danach kostet", ", wollte").
# French: third-person endings of the present plural, future, conditional and imperfect ("financent",
# "prendra", "devraient"), not "-ment" nor the nouns and adverbs that end alike.
EN_PRESENT = re.compile(
    r"\b(?i:there|it|that|here|what|who|he|she)['’]s\b|\b(?:spoke|went|came|began|ran|met|wrote|saw|found|brought|"
    r"kept|left|got|stood|became|chose|drove|fought|cost(?=\s+[$€£\d]))\b"
    r"|(?<!\bthe )(?<!\ba )(?<!\ban )(?<!\bof )(?<!\bfor )(?<!\bwith )(?<!\bin )(?<!\bon )(?<!\bto )"
    r"\b[a-z]{2,}(?<!ss)(?<!us)(?<!is)s\s+(?:the|a|an|to|for|through|at|on|in|with|from|by|about|its|their|his|"
    r"her|our|whoever|what|that|no|up|out|off|more|less|[\d$€£]|[A-Z])"
)
DE_PRESENT = re.compile(
    r"(?:\b(?!(?:Der|Die|Das|Den|Dem|Des|Ein|Eine|Einen|Einem|Einer|Eines|Jede|Jeder|Jedes|Diese|Dieser|Dieses|Alle|"
    r"Keine|Ihre|Seine|Unsere)\b)[A-ZÄÖÜ][\wäöüß-]*|,)\s+"  # a noun or a name, not an article before an adjective
    r"(?!(?:nicht|jetzt|zuletzt|bereits|insgesamt|erst|meist|seit|bisher|recht|weit|statt|acht)\b)[a-zäöüß]{3,}te?\b(?<!ste)"
)
FR_PRESENT = re.compile(
    r"\b(?!(?:souvent|président|présent|client|parent|agent|récent|différent|argent|accident|excellent|urgent|"
    r"patient|talent|continent|comment|évident|lent|vent|cent|dent)\b)"
    r"[a-zàâçéèêëîïôûùüÿœ]{2,}(?<!m)(?:ent|ront|rait|raient|ait|aient|ra)\b"
)
PRESENT = {"en": EN_PRESENT, "de": DE_PRESENT, "fr": FR_PRESENT}


def is_full_sentence(fact: str, language: str = "en") -> bool:
    """Whether a key fact reads as a full sentence: closing punctuation, at most MAX_FACT_CHARS characters and a
    word that is, or looks like, a verb in the article's language."""
    fact = fact.strip()
    verb = VERB_LIKE.search(fact) or (language in PRESENT and PRESENT[language].search(fact))
    return fact.endswith(SENTENCE_END) and len(fact) <= MAX_FACT_CHARS and bool(verb)


@dataclass
class PageResult:
    path: Path
    expected: Expected
    leaks: list[str] = field(default_factory=list)  # "field: must_not string"
    removed: dict[Label, int] = field(default_factory=lambda: {"chrome": 0, "article": 0, "other": 0})
    total: dict[Label, int] = field(default_factory=lambda: {"chrome": 0, "article": 0, "other": 0})
    misfiled: list[str] = field(default_factory=list)  # chrome kept, article removed
    facts: int = 0  # drafted from the article's sentences (its own list's items are not counted)
    full_sentence_facts: int = 0
    not_sentences: list[str] = field(default_factory=list)  # drafted facts that are no full sentence
    figure_expected: bool = False
    figure_found: bool = False
    title_ok: bool = False
    draft_title: str = ""
    error: str | None = None

    @property
    def fmt(self) -> str:
        return self.path.suffix.lstrip(".")


def leaks(draft: Draft, must_not: Iterable[str]) -> list[str]:
    story = draft.story
    fields = [("summary", story.summary), *((f"fact {i + 1}", fact) for i, fact in enumerate(story.key_facts))]
    if story.quote:
        fields.append(("quote", f"{story.quote.text} {story.quote.attribution}"))
    return [f"{name}: {needle!r}" for name, text in fields for needle in contains_chrome(text, must_not)]


def measure(path: Path, expected: Expected, body: set[str]) -> PageResult:
    """Draft one page and score it. `body` is the story's body blocks, from the HTML twin."""
    result = PageResult(path, expected)
    fetched = fetch(str(path))
    extracted = extract(fetched)
    cleaned = clean(extracted.blocks, extracted.meta.title)
    kept = kept_texts(cleaned)
    kept_trigrams = set().union(*(trigrams(text.split()) for text in kept))
    for block in page_blocks(fetched):
        kind = label(block, expected, body)
        if kind == "chrome":
            removed = not chrome_survives(block, expected, kept)
        else:
            removed = not is_kept(block, kept, kept_trigrams)
        result.total[kind] += 1
        result.removed[kind] += removed
        if (kind == "chrome" and not removed) or (kind == "article" and removed):
            result.misfiled.append(f"{kind} {'removed' if removed else 'kept'}: {block[:110]}")
    try:
        draft = draft_from(fetched)
    except Exception as exc:  # noqa: BLE001 (a page that cannot be drafted is a finding, not the end of the run)
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    story = draft.story
    result.leaks = leaks(draft, expected.must_not)
    # The article's own list comes first, item for item, and drafted facts only top it up.
    drafted = story.key_facts[len(listed_facts(cleaned.blocks)):]
    result.facts = len(drafted)
    result.not_sentences = [fact for fact in drafted if not is_full_sentence(fact, expected.language)]
    result.full_sentence_facts = len(drafted) - len(result.not_sentences)
    result.figure_expected = expected.lead_figure is not None
    result.figure_found = result.figure_expected and plain(expected.lead_figure or "") in plain(story.summary)
    result.draft_title = story.title
    result.title_ok = " ".join(story.title.split()) == " ".join(expected.title.split())
    return result


def measure_corpus(corpus: Path = CORPUS) -> list[PageResult]:
    results = []
    bodies: dict[str, set[str]] = {}
    for path, expected in corpus_pages(corpus):
        if expected.name not in bodies:
            bodies[expected.name] = body_blocks((corpus / f"{expected.name}.html").read_text(encoding="utf-8"))
        results.append(measure(path, expected, bodies[expected.name]))
    return results


# --- the table ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    pages: int
    leaks: int
    recall: float
    precision: float
    precision_all: float  # counting every non-chrome block as article (the stricter, cruder reading)
    other_removed: float
    full_sentences: float
    figure: float
    titles: float
    errors: int


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def figures(results: list[PageResult]) -> Figures:
    def total(attr: str, kind: Label) -> int:
        return sum(getattr(r, attr)[kind] for r in results)

    chrome_removed, chrome = total("removed", "chrome"), total("total", "chrome")
    article_removed, other_removed = total("removed", "article"), total("removed", "other")
    with_figure = [r for r in results if r.figure_expected]
    return Figures(
        pages=len(results),
        leaks=sum(len(r.leaks) for r in results),
        recall=ratio(chrome_removed, chrome),
        precision=ratio(chrome_removed, chrome_removed + article_removed),
        precision_all=ratio(chrome_removed, chrome_removed + article_removed + other_removed),
        other_removed=ratio(other_removed, total("total", "other")),
        full_sentences=ratio(sum(r.full_sentence_facts for r in results), sum(r.facts for r in results)),
        figure=ratio(sum(r.figure_found for r in with_figure), len(with_figure)),
        titles=ratio(sum(r.title_ok for r in results), len(results)),
        errors=sum(r.error is not None for r in results),
    )


def groups(results: list[PageResult]) -> Iterator[tuple[str, list[PageResult]]]:
    languages = sorted({r.expected.language for r in results})
    for language in languages:
        for fmt in ("html", "txt"):
            yield f"{language} {fmt}", [r for r in results if r.expected.language == language and r.fmt == fmt]
    for fmt in ("html", "txt"):
        yield f"all {fmt}", [r for r in results if r.fmt == fmt]
    yield "overall", results


HEADER = f"{'pages':10} {'n':>3} {'leaks':>5} {'recall':>7} {'precis.':>7} {'prec.all':>8} {'other rm':>8} {'facts ok':>8} {'figure':>7} {'title':>6}"


def row(name: str, f: Figures) -> str:
    return (
        f"{name:10} {f.pages:3d} {f.leaks:5d} {f.recall:7.1%} {f.precision:7.1%} {f.precision_all:8.1%} "
        f"{f.other_removed:8.1%} {f.full_sentences:8.1%} {f.figure:7.1%} {f.titles:6.1%}"
    )


def report(results: list[PageResult], verbose: bool) -> str:
    lines = [HEADER, "-" * len(HEADER)]
    for name, members in groups(results):
        if name == "all html":
            lines.append("")  # the totals under the languages
        if members:
            lines.append(row(name, figures(members)))
    for r in results:
        problems = [f"leak in {leak}" for leak in r.leaks]
        if r.error:
            problems.append(r.error)
        problems += [f"fact not a full sentence: {fact!r}" for fact in r.not_sentences]
        if not r.title_ok and not r.error:
            problems.append(f"title: {r.draft_title!r}")
        if verbose:
            problems += r.misfiled
        if problems:
            lines.append(f"\n{r.path.name}")
            lines += [f"  {problem}" for problem in problems]
    lines.append(
        "\nrecall: chrome blocks removed / chrome blocks; precis.: chrome removed / (chrome + article removed); "
        "prec.all: every non-chrome block counted as article; other rm: share of other blocks removed; "
        "facts ok: drafted key facts that are full sentences (pages that list their own key facts count only the "
        "facts drafted to top the list up; the list's items are copied as written)."
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list every chrome block kept and article block removed")
    args = parser.parse_args()
    results = measure_corpus()
    print(report(results, args.verbose))
    return 1 if any(r.leaks or r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
