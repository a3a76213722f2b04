"""Lines and sentences that are not part of the story: promotion, navigation, sharing, credits, in English,
German and French.

They must never reach a summary or a key fact, so the summarizer and the fact picker check every
sentence here too, not only whole lines. clean.py uses the line rules below to take whole boxes of the page
(menus, teaser lists, sign-up boxes, cookie banners, comments) out around the story.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_FLAGS = re.IGNORECASE

# A "read more" link's label, in any of the three languages; also the heading of an inline teaser box.
LINK_LABEL = (
    r"(?:read|see|view) (?:more|also|next|on|the (?:full |whole |original )?(?:post|story|article|release|report|piece)"
    r"|(?:the )?full (?:story|article|release|post)|(?:the )?press release|the rest)"
    r"|(?:continue|keep) reading|full (?:story|article|coverage)|also read|related"
    r"|weiterlesen|mehr lesen|zum artikel|(?:den )?artikel lesen|mehr zum thema|auch interessant|lesen sie (?:auch|mehr)"
    r"|das könnte sie (?:auch )?interessieren"
    r"|lire la suite|(?:à |a )?lire aussi|(?:à |a )?lire également|lire l['’]article|voir aussi|en savoir plus"
    r"|sur le même sujet"
)
# Labels a digest or aggregator puts above (or in front of) a part of the story: not the story's words.
DIGEST_LABEL = (
    r"(?:quick|our|hot|the|short) take|key developments?|top development|the big picture|(?:the )?bottom line"
    r"|driving the news|between the lines|zoom (?:in|out)|catch up quick"
    r"|unsere einschätzung|kurz gesagt|notre avis|notre analyse"
)


class Anywhere(NamedTuple):
    """A junk pattern that may match past the start of a text, with the words (lower case) one of which is in
    every text it matches: is_junk searches only the texts that hold one (a substring test costs a hundredth
    of a search). The plain patterns in the lists below start every alternative with ^: all of them are tried
    at once, at the start of the text."""

    pattern: str
    words: tuple[str, ...]


# Anywhere a sentence or line starts like this, it is the site talking, not the story.
JUNK_SENTENCES: list[str | Anywhere] = [
    r"^want (?:this|these|it|more|stories like this|the \w+(?: \w+)?)\b.{0,60}\binbox",
    r"^(?:get|have) (?:this|these|it|our [\w ]{1,30}?) (?:delivered )?(?:in|to|straight to|into) your inbox",
    # "Get Eastside Eats in your inbox every Friday", "delivered to your inbox", "lands in your inbox"
    Anywhere(r"\b(?:in|into|to) your inbox (?:every|each|before|daily|weekly|twice|once|on \w+days?)\b", ("inbox",)),
    Anywhere(r"\b(?:delivered|sent|straight|lands?|arrives?) (?:in|into|to) your inbox\b", ("inbox",)),
    # the same promise in German and French: "... in Ihr Postfach", "... dans votre boîte mail"
    Anywhere(
        r"\bin (?:ihr(?:em)?|dein(?:em)?) (?:e-mail-)?postfach\b|\bdans votre boîte (?:mail|e-mail|aux lettres|de réception)\b",
        ("postfach", "boîte"),
    ),
    Anywhere(r"\bsign up (?:for|to) (?:our|the|my)\b", ("sign up",)),
    r"^(?:sign (?:me )?up|subscribe|register)\b",
    Anywhere(
        r"\bsubscribe (?:to|for) (?:our|the|my)\b.{0,60}\b(?:newsletter|briefing|email|updates|podcast|channel|digest)",
        ("subscribe",),
    ),
    # German and French sign-up calls: "Newsletter abonnieren", "Jetzt anmelden", "Inscrivez-vous", "Je m'inscris"
    Anywhere(
        r"\bnewsletter (?:abonnieren|bestellen)\b|^(?:jetzt |kostenlos |gratis )?(?:abonnieren|anmelden|registrieren)$",
        ("newsletter", "abonnieren", "anmelden", "registrieren"),
    ),
    Anywhere(
        r"\b(?:inscrivez-vous|abonnez-vous)\b|^(?:je m['’]inscris|je m['’]abonne|s['’]inscrire|s['’]abonner)$",
        ("inscri", "abonn"),
    ),
    # the small print of a sign-up box
    Anywhere(
        r"\b(?:unsubscribe|opt out) (?:at )?any ?time\b|\babmeld(?:ung|en) (?:ist )?jederzeit\b|\bdésinscrire à tout moment\b",
        ("unsubscribe", "opt out", "abmeld", "désinscrire"),
    ),
    r"^we (?:never|won['’]t|will never|do not|don['’]t) (?:share|sell|spam)\b|^no spam\b",  # "We never share your address."
    r"^(?:by (?:signing up|subscribing|clicking)|mit (?:der|ihrer) anmeldung|en vous inscrivant)\b",  # consent small print
    r"^(?:read|watch|listen to) (?:more|next|also|the full|our|the rest)\b",
    r"^(?:continue|keep) reading\b",
    rf"^(?:{LINK_LABEL})\s*:",  # an inline teaser: "Auch interessant: <another story's headline>", "À lire aussi : ..."
    r"^more (?:from|on|in|stories|news|like this|coverage|about)\b",
    r"^(?:related|recommended|trending|most (?:read|popular|viewed)|editor'?s picks|you (?:may|might) also like"
    r"|further reading|see also|also read)\b",
    r"^the latest\b.{0,80}\b(?:news|updates|coverage)\b.{0,40}\bwill\b",
    r"^(?:stay|keep) (?:up to date|informed|tuned|in the loop)\b",
    r"^follow (?:us|the latest|our|along)\b",
    Anywhere(r"\bview (?:the )?(?:full )?(?:author )?profile\b", ("profile",)),
    r"^(?:image|photo|photograph|picture|illustration|video|graphic|credit|caption)s?(?: credit)?\s*:",
    # a photo caption's credit: "(Courier photo / Ray Donnelly)", "... Photo by Dana Kittredge", "... Ana Ruiz / Agency"
    Anywhere(
        r"\([^()]*\b(?:photo|photograph|image|foto|bild|crédit|credit)s?\b[^()]*\)$",
        ("photo", "image", "foto", "bild", "crédit", "credit"),
    ),
    Anywhere(
        r"(?:^|[.!?]\s+)(?-i:(?:Photo|Photograph|Image|Foto|Bild)s? (?:by|von|de|par) [A-Z]|Credit: [A-Z])",
        ("photo", "image", "foto", "bild", "credit"),
    ),
    Anywhere(r"[.!?]\s+(?-i:(?:[A-Z][\w'’-]+ ){1,3}/ (?:[A-Z][\w'’-]+ ?){1,4})$", (" / ",)),
    Anywhere(
        r"^(?:©|\(c\)\s|copyright\b)|\ball rights reserved\b|\b(?:alle rechte vorbehalten|tous droits réservés)\b",
        ("©", "(c)", "copyright", "rights reserved", "rechte vorbehalten", "droits réservés"),
    ),
    r"^listen to (?:this|the) (?:article|story|podcast|episode)\b",
    r"^(?:click|tap) here\b",
    r"^(?:download|get) (?:our|the) app\b",
    r"^this (?:article|story|post|piece) (?:was|is|has been) (?:originally |first )?"
    r"(?:published|updated|produced|amended|corrected)\b",
    # a syndicated copy's credit line: "The article X appeared first on Y", "Der Beitrag X erschien zuerst auf Y"
    Anywhere(
        r"\b(?:appeared first (?:on|in|at)|first appeared (?:on|in|at)|erschien zuerst (?:auf|bei|in)"
        r"|est apparu en premier sur|(?:a été publié|est paru)e? (?:initialement|d['’]abord|en premier) (?:sur|dans))\b",
        ("appeared", "erschien", "paru", "publié"),
    ),
    r"^(?:join|get) (?:our|the) (?:free |daily |weekly )?(?:newsletter|briefing|community|mailing list)\b",
    r"^join (?:the )?[\w' ]{1,40} newsletter\b|^join [\d,.]+ \w+",  # "Join the Clacky Bits newsletter", "Join 48,000 readers"
    # affiliate and advice disclaimers: "we may earn a commission", "Some links ... are affiliate links"
    Anywhere(
        r"\bwe (?:may )?(?:earn|receive) (?:a )?(?:small )?(?:commission|affiliate|compensation)\b"
        r"|\b(?:are|is|contains?|uses?|include) affiliate links\b",
        ("commission", "affiliate", "compensation"),
    ),
    Anywhere(
        r"\bis not (?:financial|investment|legal|medical) advice\b|^(?:advertiser |affiliate )?disclosure\s*:|^disclaimer\s*:",
        ("advice", "disclosure", "disclaimer"),
    ),
    # a newswire's or aggregator's disclaimer
    Anywhere(r"\bis not responsible for (?:the|their|its) content\b", ("responsible",)),
    Anywhere(r"\bcookies?\b.{0,80}\b(?:accept|consent|policy|settings|preferences)\b", ("cookie",)),
    # cookie banners: "We use cookies", "Diese Website verwendet Cookies", "Nous utilisons des cookies"
    Anywhere(
        r"\b(?:we|this (?:site|website)|our (?:site|website)|partners) uses? cookies\b|\b(?:use|storing) of cookies\b"
        r"|\bcookies help us\b|\bcookies?\b.{0,80}\b(?:analytics|experience|personali[sz]\w*|advertis\w*|ads|traffic|usability)\b",
        ("cookie",),
    ),
    Anywhere(  # German
        r"\b(?:verwend|nutz|setz|speicher)\w* (?:\w+ ){0,3}cookies\b|\bcookies?\b.{0,100}\b(?:akzeptier|einwillig|zustimm)",
        ("cookie",),
    ),
    Anywhere(  # French
        r"\b(?:utilis|dépos)\w* (?:des |les )?cookies\b|\bcookies?\b.{0,100}\b(?:accept|consentement|paramétr|audience|publicit)",
        ("cookie",),
    ),
    r"^(?:updated|posted|published)\b.{0,30}\bago\.?$",
    r"^(?:(?:last )?updated|posted|published)\b[^!?]{0,40}\b(?:19|20)\d\d\b[^.!?]{0,20}$",  # "Published 10:05 p.m. ET June 26, 2024"
    r"^if you (?:enjoyed|liked|found) (?:this|value)\b",
    r"^(?:support|donate to) (?:our|independent|quality) journalism\b",
    r"^(?:share|like) (?:on|via|with|by)\b",
    r"^(?:advertisement|advertising|sponsored content|paid content|paid post)\b",
    r"^your email address will not be published\b|^required fields are marked\b",  # a comment form
    # a press release's furniture: its opening flag and the wire's credit line
    r"^for immediate release\b|^(?:news|content|release) (?:provided|distributed|issued) by\b",
]

# Whole lines that are navigation or furniture (too short and plain to match as sentences above).
JUNK_LINES: list[str | Anywhere] = [
    r"^(?:share|tweet|email|e-mail|print|save|copy link|bookmark|pin)(?: this| it)?"
    r"(?: article| story| page| link| post| release| (?:to )?a friend)?\s*[:!]?"
    r"(?:\s*(?:facebook|twitter|x|linkedin|email|whatsapp|reddit|copy link)\b[\s,|]*)*$",
    r"^(?:spread the word|email this story)$",  # share-bar headings
    # German and French share bars: "Artikel teilen", "Auf Facebook teilen", "Partager sur LinkedIn", "Copier le lien"
    r"^(?:(?:artikel|beitrag) )?(?:teilen|drucken|merken|versenden)\s*:?$|^(?:auf|via) \w+ teilen$|^per e-mail \w+$"
    r"|^link kopieren$",
    r"^(?:partager|imprimer)(?: cet article| sur \w+| par e-mail)?\s*:?$|^copier le lien$",
    r"^(?:advertisement|advert|ad|sponsored|promoted|promotion|anzeige|werbung|publicité)$",  # an ad slot's label
    r"^\d+\s*(?:min|minute)s?\s*read$",
    r"^(?:leave|add|post|show|submit) (?:a )?(?:comments?|reply)\b|^\d+\s+comments?$|^comments?$",
    r"^(?:back to top|skip to (?:main )?content|home|menu|search|log ?in|sign in|sign out|register|close|next|previous|top)$",
    # links to the neighbouring posts of a blog
    r"^(?:previous|next|older|newer) (?:post|article|story|entry)\b|^(?:vorheriger|nächster) (?:artikel|beitrag)\b"
    r"|^article (?:précédent|suivant)\b",
    r"^tags?\s*:|^tagged\s",  # the post's tags: "Tagged bakeries, closings"
    r"^topics?\s*:|^(?:themen|schlagworte|sujets|mots-clés)\s*:",
    r"^(?:facebook|twitter|linkedin|instagram|whatsapp|reddit|youtube)(?:[\s,|·•]+(?:facebook|twitter|x|linkedin|instagram|whatsapp|reddit|youtube|email))*$",
    r"^(?:\S+ ){0,2}cookies?(?:[- ]\S+){0,2}$",  # "Accept Cookies", "Cookie-Einstellungen", "Gestion des cookies"
    r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$|^\+?[\d(][\d ()./-]{6,}\d$",  # a contact's bare e-mail address or phone number
    r"^(?:news|press|media) release$|^pressemitteilung$|^communiqué de presse$",  # a press release's kicker
    # a breadcrumb trail: "Home › City Hall", "Startseite › Wirtschaft › Energie" (words: its searches backtrack)
    Anywhere(
        r"^[^.!?›»]{1,40}(?:\s[›»]\s[^.!?›»]{1,40})+$|^[^.!?>/]{1,30}(?:\s[>/]\s[^.!?>/]{1,30}){2,}$",
        ("›", "»", ">", "/"),
    ),
]
# A link label alone on its line, maybe naming the site and pointing on: "Full story at Harbourlight Gazette →"
LINK_LABEL_LINE = re.compile(rf"^(?:{LINK_LABEL})(?:\s+(?:at|on|in|auf|bei|sur|chez)\s.{{1,60}})?\s*[:»›→>…]?$", _FLAGS)
# A digest label alone on its line: "Quick Take", "Key Development:"
LABEL_LINE = re.compile(rf"^(?:{DIGEST_LABEL})\s*:?$", _FLAGS)
JUNK_LINES += [LINK_LABEL_LINE.pattern, LABEL_LINE.pattern]


def _at_start(pattern: str) -> bool:
    """Whether every top-level alternative of `pattern` starts with ^ (False when unsure: such a pattern is
    searched everywhere)."""
    depth, escaped, class_start = 0, False, -1  # class_start: where the [...] being read opened
    for at, char in enumerate(pattern):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif class_start >= 0:
            first = at == class_start + 1 or (at == class_start + 2 and pattern[class_start + 1] == "^")
            if char == "]" and not first:  # a "]" first in the class is one of its characters
                class_start = -1
        elif char == "[":
            class_start = at
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0 and not pattern.startswith("^", at + 1):
            return False
    return pattern.startswith("^")


def _by_word(rules: list[str | Anywhere]) -> tuple[tuple[str, list[re.Pattern[str]]], ...]:
    """The patterns not anchored at the start, under each of their words ("" for those without words: searched
    in every text)."""
    found: dict[str, list[re.Pattern[str]]] = {}
    for rule in rules:
        if isinstance(rule, Anywhere):
            pattern = re.compile(rule.pattern, _FLAGS)
            for word in rule.words:
                found.setdefault(word, []).append(pattern)
        elif not _at_start(rule):
            found.setdefault("", []).append(re.compile(rule, _FLAGS))
    return tuple(found.items())


# The patterns anchored at the start, as one: a single match at position 0 instead of one search each.
_JUNK_START = re.compile(
    "|".join(f"(?:{rule})" for rule in (*JUNK_SENTENCES, *JUNK_LINES) if isinstance(rule, str) and _at_start(rule)), _FLAGS
)
_JUNK_BY_WORD = _by_word([*JUNK_SENTENCES, *JUNK_LINES])
# The letters that match a letter of the words above under re.IGNORECASE but do not lower-case to it ("ſ"
# matches "s"): a text holding one is searched with every pattern, as its lower case could miss a word.
_FOLD_TRAPS = re.compile("[İıſ]")

# A line like "More from Tech Desk" opens a block of links to other stories: what follows it (headlines,
# teasers, link lists) is skipped until the story's own text resumes.
NAVIGATION_HEADINGS = re.compile(
    r"^(?:more (?:from|on|in|stories|news|like this)|related(?: articles| stories| coverage| reading| content| posts)?|read next|"
    r"recommended(?: for you| reading)?|you (?:may|might) (?:also like|have missed)|don'?t miss|most (?:read|popular|viewed)|"
    r"trending(?: now| stories)?|editor'?s picks|further reading|see also|latest (?:news|stories|articles)|also in|elsewhere|"
    # "More neighborhood news", "Other releases in Transportation", "Recent posts", "More Tech Headlines"
    r"(?:more|other|recent|latest|related|similar|popular|top) (?:[\w'&-]+ ){0,2}(?:news|stories|headlines|articles|posts|"
    r"releases|reads|coverage)|"
    r"mehr zum thema|auch interessant|das könnte sie (?:auch )?interessieren|lesen sie auch|meistgelesen|"
    r"weitere (?:artikel|nachrichten|meldungen|beiträge)|"
    r"sur le même sujet|(?:à |a )?lire (?:aussi|également)|dans la même rubrique|les plus lus|voir aussi|"
    r"(?:nos )?(?:derniers )?articles (?:similaires|récents)|vous aimerez aussi)\b",
    _FLAGS,
)
# Headings of a reader-comment section or a press contact box: what follows is not the story.
SECTION_OF_OTHERS = re.compile(
    # plural or counted only: a lone "Comment" or "Kommentar" above a headline marks an opinion piece
    r"^(?:\d+ )?(?:comments|responses|replies|kommentare|commentaires|réactions)$"
    r"|^\d+ (?:comment|response|reply|kommentar|commentaire|réaction)$|^leave a (?:reply|comment)\b"
    r"|^(?:media|press) (?:contacts?|inquiries|enquiries)$|^(?:pressekontakt|contact presse)$",
    _FLAGS,
)
# A commenter's name line ("Marjorie W. says:", "Paul schreibt:", "Julie a écrit :"), and the button under a comment
COMMENTER = re.compile(r"^\S.{0,40}\s(?:says|wrote|sagt|schreibt|schrieb|a écrit)\s?:$", _FLAGS)
REPLY_BUTTON = re.compile(r"^(?:reply|antworten|répondre)$", _FLAGS)
# The end mark of a press release ("###", "-30-", "- ENDS -"): after it come boilerplate and contacts.
END_OF_STORY = re.compile(r"^(?:#\s*#\s*#|-\s*30\s*-|-+\s*ends?\s*-+|(?-i:ENDS))$", _FLAGS)
# A digest label in front of the story's own sentence: "Key Development: The company said ..."
LABEL_PREFIX = re.compile(rf"^(?:{DIGEST_LABEL}|why it matters|what it means)\s*:\s+(?=\S)", _FLAGS)
# A German or French date stamp ("Aktualisiert: 28.01.2025, 16:40", "Publié le 7 octobre 2025 à 09h10").
DATE_STAMP = re.compile(
    r"^(?:(?:aktualisiert|veröffentlicht|stand|publié|mis à jour|actualisé)(?: (?:am|le|:))?\s*:?\s*)?"
    r"(?:(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|lundi|mardi|mercredi|jeudi|vendredi|samedi"
    r"|dimanche),?\s+)?(?:le\s+)?\d{1,2}(?:\.\s*|/|\s+)(?:\d{1,2}\.|\d{1,2}/|[a-zäéû]+\.?)\s*(?:\d{2,4})"
    r"(?:[\s,·|–-]+(?:um |à )?\d{1,2}[:.h]\d{2}(?: uhr)?|[\s,·|–-]+(?:lesezeit|mis à jour|aktualisiert).*)*\s*(?:uhr)?$",
    _FLAGS,
)
MENU_ITEM_WORDS = 4  # a menu entry, a button or a share link is at most this many words


def _squeezed(text: str) -> str:
    return " ".join(text.split()).strip("*_#>|· ")


def is_junk(text: str) -> bool:
    """True if `text` (a line or a sentence) is promotion or navigation rather than the story."""
    text = _squeezed(text)
    if not text:
        return True
    if _JUNK_START.match(text):
        return True
    if not text.isascii() and _FOLD_TRAPS.search(text):
        return any(pattern.search(text) for _, patterns in _JUNK_BY_WORD for pattern in patterns)
    lowered = text.lower()  # each other pattern only where one of its words is
    return any(pattern.search(text) for word, patterns in _JUNK_BY_WORD if word in lowered for pattern in patterns)


def opens_navigation(text: str) -> bool:
    """True for a heading-like line such as "More from Tech Desk" or "Related stories"."""
    text = " ".join(text.split()).strip("*_#:|· ")
    topic, _, rest = text.rpartition(": ")
    if topic and len(topic.split()) <= 4:
        text = rest  # "Election 2024: More coverage"
    return len(text.split()) <= 8 and not text.endswith(".") and bool(NAVIGATION_HEADINGS.match(text))


def opens_others_section(text: str) -> bool:
    """True for the heading of reader comments ("12 comments", "Leave a Reply") or a press contact box."""
    return bool(SECTION_OF_OTHERS.match(_squeezed(text).rstrip(":").strip()))


def is_comment(lines: list[str]) -> bool:
    """A reader's comment: a "Name says:" line with a "Reply" button below it (not "The mayor says:" and a quote)."""
    return bool(lines) and bool(COMMENTER.match(_squeezed(lines[0]))) and any(REPLY_BUTTON.match(_squeezed(x)) for x in lines)


def is_link_label(text: str) -> bool:
    """A line that is only a link to another page: "Read more", "Weiterlesen", "Full story at X →"."""
    return bool(LINK_LABEL_LINE.match(_squeezed(text)))


def is_label(text: str) -> bool:
    """A digest label alone on its line ("Quick Take", "Key Development:"): it names no part of the story."""
    return bool(LABEL_LINE.match(_squeezed(text)))


def ends_story(text: str) -> bool:
    return bool(END_OF_STORY.match(text.strip()))


def is_date_stamp(text: str) -> bool:
    return bool(DATE_STAMP.match(_squeezed(text)))


def strip_label(text: str) -> str:
    """The story's sentence without a digest label in front ("Key Development: The plant..." -> "The plant...")."""
    return LABEL_PREFIX.sub("", text, count=1)


def is_menu_item(text: str) -> bool:
    """A menu entry, button or share link: a few words, no sentence, no figure ("Home", "Copy link", "Sign up")."""
    text = _squeezed(text)
    words = text.split()
    if not words or len(words) > MENU_ITEM_WORDS or any(ch.isdigit() for ch in text) or ": " in text:
        return False
    return not text.endswith((".", ",", ";", "?")) and not text.startswith(("-", "•", "*", "“", '"', "„", "«"))
