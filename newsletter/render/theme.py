"""The email's colours, light and dark, with WCAG contrast guaranteed for every text colour.

Templates take every colour from here, so the contrast promise (at least 4.5:1 for text on its
background, in both schemes) is checked in one place rather than in each template.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_CONTRAST = 4.5


@dataclass(frozen=True)
class Palette:
    page: str  # behind the cards
    card: str  # behind the content
    text: str
    muted: str  # meta lines, footer
    accent: str  # links, labels, the quote's rule
    rule: str  # thin dividers (decorative, not text)
    quote: str  # pull-quote background

    def text_pairs(self) -> dict[str, tuple[str, str]]:
        """Every (foreground, background) pair the template puts text in."""
        return {
            "text on card": (self.text, self.card),
            "muted on card": (self.muted, self.card),
            "accent on card": (self.accent, self.card),
            "text on quote": (self.text, self.quote),
            "muted on quote": (self.muted, self.quote),
            "muted on page": (self.muted, self.page),
            "accent on page": (self.accent, self.page),
        }


LIGHT = Palette(page="#eef1f5", card="#ffffff", text="#1f2933", muted="#52606d", accent="#1d4ed8", rule="#e4e7eb", quote="#f5f7fa")
DARK = Palette(page="#0d1117", card="#161b22", text="#e6edf3", muted="#9aa5b1", accent="#7aa7ff", rule="#30363d", quote="#1f2630")


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def mix(colour: str, other: str, amount: float) -> str:
    channels = [round(int(colour[i : i + 2], 16) * (1 - amount) + int(other[i : i + 2], 16) * amount) for i in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in channels)


def readable(colour: str, backgrounds: list[str]) -> str:
    """`colour`, darkened or lightened just enough to reach MIN_CONTRAST on all `backgrounds`."""
    towards = "#000000" if luminance(backgrounds[0]) > 0.5 else "#ffffff"
    for step in range(0, 21):
        candidate = mix(colour, towards, step / 20)
        if all(contrast(candidate, bg) >= MIN_CONTRAST for bg in backgrounds):
            return candidate
    return towards


def palettes(accent: str) -> tuple[Palette, Palette]:
    """The light and dark palettes for a brand accent colour."""
    light = Palette(**{**LIGHT.__dict__, "accent": readable(accent, [LIGHT.card, LIGHT.page, LIGHT.quote])})
    dark = Palette(**{**DARK.__dict__, "accent": readable(accent, [DARK.card, DARK.page, DARK.quote])})
    return light, dark
