"""Lines and sentences that are not part of the story: promotion, navigation, sharing, credits.

They must never reach a summary or a key fact, so the summarizer and the fact picker check every
sentence here too, not only whole lines.
"""

from __future__ import annotations

import re

_FLAGS = re.IGNORECASE

# Anywhere a sentence or line starts like this, it is the site talking, not the story.
JUNK_SENTENCES = [
    re.compile(pattern, _FLAGS)
    for pattern in (
        r"^want (?:this|these|it|more|stories like this|the \w+(?: \w+)?)\b.{0,60}\binbox",
        r"^(?:get|have) (?:this|these|it|our [\w ]{1,30}?) (?:delivered )?(?:in|to|straight to|into) your inbox",
        r"\bsign up (?:for|to) (?:our|the|my)\b",
        r"^(?:sign up|subscribe|register)\b",
        r"\bsubscribe (?:to|for) (?:our|the|my)\b.{0,60}\b(?:newsletter|briefing|email|updates|podcast|channel|digest)",
        r"^(?:read|watch|listen to) (?:more|next|also|the full|our|the rest)\b",
        r"^(?:continue|keep) reading\b",
        r"^more (?:from|on|in|stories|news|like this|coverage|about)\b",
        r"^(?:related|recommended|trending|most (?:read|popular|viewed)|editor'?s picks|you (?:may|might) also like"
        r"|further reading|see also|also read)\b",
        r"^the latest\b.{0,80}\b(?:news|updates|coverage)\b.{0,40}\bwill\b",
        r"^(?:stay|keep) (?:up to date|informed|tuned|in the loop)\b",
        r"^follow (?:us|the latest|our|along)\b",
        r"\bview (?:the )?(?:full )?(?:author )?profile\b",
        r"^(?:image|photo|photograph|picture|illustration|video|graphic|credit|caption)s?(?: credit)?\s*:",
        r"^(?:©|\(c\)\s|copyright\b)|\ball rights reserved\b",
        r"^listen to (?:this|the) (?:article|story|podcast|episode)\b",
        r"^(?:click|tap) here\b",
        r"^(?:download|get) (?:our|the) app\b",
        r"^this (?:article|story|post|piece) (?:was|is|has been) (?:originally |first )?"
        r"(?:published|updated|produced|amended|corrected)\b",
        r"^(?:join|get) (?:our|the) (?:free |daily |weekly )?(?:newsletter|briefing|community|mailing list)\b",
        r"\bwe (?:may )?earn (?:a )?(?:small )?(?:commission|affiliate)\b",
        r"\bcookies?\b.{0,80}\b(?:accept|consent|policy|settings|preferences)\b",
        r"^(?:updated|posted|published)\b.{0,30}\bago\.?$",
        r"^if you (?:enjoyed|liked|found) (?:this|value)\b",
        r"^(?:support|donate to) (?:our|independent|quality) journalism\b",
        r"^(?:share|like) (?:on|via|with)\b",
        r"^(?:advertisement|advertising|sponsored content|paid content|paid post)\b",
    )
]

# Whole lines that are navigation or furniture (too short and plain to match as sentences above).
JUNK_LINES = [
    re.compile(pattern, _FLAGS)
    for pattern in (
        r"^(?:share|tweet|email|print|save|copy link|bookmark)(?: this)?(?: article| story| page| link)?\s*[:!]?"
        r"(?:\s*(?:facebook|twitter|x|linkedin|email|whatsapp|reddit|copy link)\b[\s,|]*)*$",
        r"^(?:advertisement|advert|ad|sponsored|promoted|promotion)$",
        r"^\d+\s*(?:min|minute)s?\s*read$",
        r"^(?:leave|add|post|show) (?:a )?comments?\b|^\d+\s+comments?$|^comments?$",
        r"^(?:back to top|skip to (?:main )?content|home|menu|search|log ?in|sign in|sign out|register|close|next|previous|top)$",
        r"^tags?\s*:",
        r"^topics?\s*:",
        r"^(?:facebook|twitter|linkedin|instagram|whatsapp|reddit|youtube)(?:[\s,|·•]+(?:facebook|twitter|x|linkedin|instagram|whatsapp|reddit|youtube|email))*$",
    )
]

# A line like "More from Tech Desk" opens a block of links to other stories: what follows it (headlines,
# link lists) is skipped until the story's own text resumes.
NAVIGATION_HEADINGS = re.compile(
    r"^(?:more (?:from|on|in|stories|news|like this)|related(?: articles| stories| coverage| reading| content)?|read next|"
    r"recommended(?: for you| reading)?|you (?:may|might) also like|most (?:read|popular|viewed)|trending(?: now| stories)?|"
    r"editor'?s picks|further reading|see also|latest (?:news|stories|articles)|also in|elsewhere)\b",
    _FLAGS,
)


def is_junk(text: str) -> bool:
    """True if `text` (a line or a sentence) is promotion or navigation rather than the story."""
    text = " ".join(text.split()).strip("*_#>|· ")
    if not text:
        return True
    return any(p.search(text) for p in JUNK_SENTENCES) or any(p.search(text) for p in JUNK_LINES)


def opens_navigation(text: str) -> bool:
    """True for a heading-like line such as "More from Tech Desk" or "Related stories"."""
    text = " ".join(text.split()).strip("*_#:|· ")
    return bool(NAVIGATION_HEADINGS.match(text)) and len(text.split()) <= 8 and not text.endswith(".")
