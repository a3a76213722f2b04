"""`newsletter report --html FILE`: one self-contained page, its charts drawn by matplotlib as
inline SVG.

Why matplotlib: it draws offline, in the process, with no browser and no JavaScript, and the page
it goes into makes no external request (a report is often opened from a mail attachment or a
laptop on a train, and subscriber figures should not leak to a chart CDN). It writes SVG directly,
with text as paths in its bundled DejaVu font, so the page looks the same everywhere and needs no
web font. With `svg.hashsalt` fixed and the date left out of the metadata, the same figures give
the same bytes, so a report can be committed or compared. And it is the best kept plotting library
in Python, with wheels for every platform. It is imported here only, when a page is asked for:
`newsletter report` without --html, and every other command, never load it.

No pyplot: figures are made with matplotlib.figure.Figure and saved with the SVG backend, so no
GUI backend is ever chosen and nothing global is changed (settings apply in an rc_context).
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .figures import CHANNELS, GMAIL_LIMIT, GMAIL_TARGET, NEVER_SENT, OPENS_NOTE, SENDING, IssueReport, Trend, complaint_level, not_measured, standing
from .stories import READER, Archive, Engagement
from .text import count_text, percent, story_label

SETTINGS: dict[Any, Any] = {
    # Labels are text, never math: a clicked link holding `$...$` would be parsed as mathtext
    # (and crash the page when it does not parse), and usetex would hand it to LaTeX.
    "text.parse_math": False,
    "text.usetex": False,
    "svg.hashsalt": "newsletter-report",  # clip-path ids from a fixed salt, not a random one
    "svg.fonttype": "path",  # text drawn as paths: no font needed to show it
    "font.family": "DejaVu Sans",  # bundled with matplotlib
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#9ca3af",
    "axes.labelcolor": "#374151",
    "xtick.color": "#4b5563",
    "ytick.color": "#4b5563",
}
METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}  # no timestamp, no version
BLUE, GREEN, AMBER, RED, GREY = "#2563eb", "#16a34a", "#d97706", "#dc2626", "#9ca3af"
WIDTH = 7.2  # inches; the page scales the SVG down on a narrow screen
MAX_LINKS = 15

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
.note { color: #4b5563; font-size: .9rem; } .warn { color: #b45309; font-weight: 600; }
table { border-collapse: collapse; margin: .5rem 0; } th, td { padding: .2rem .75rem; text-align: right; border-bottom: 1px solid #e5e7eb; }
th:first-child, td:first-child { text-align: left; } td.link { text-align: left; word-break: break-all; }
figure { margin: .5rem 0; } svg { width: 100%; height: auto; }
td { white-space: nowrap; } td.link { white-space: normal; }
ol.bars { list-style: none; padding: 0; } ol.bars li { margin: .4rem 0; }
.bar { display: block; height: .6rem; background: #2563eb; border-radius: 2px; min-width: 1px; margin-top: .15rem; }
.level-low { color: #15803d; } .level-mid { color: #b45309; } .level-high { color: #b91c1c; font-weight: 600; }
"""


# --- charts ---------------------------------------------------------------------------------------


def _figure(height: float) -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, height), layout="constrained")
    return figure, figure.add_subplot()


def _svg(figure: Any, name: str) -> str:
    """The figure as an <svg> element for inline use: no XML prolog, DOCTYPE, namespaces, metadata or comments, and
    every id prefixed with `name` so that several charts on one page never share one."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata=METADATA)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*|<!--.*?-->\s*", "", svg, flags=re.DOTALL)  # comments: the texts drawn, again
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg, count=2)  # HTML's parser knows <svg> and xlink:href without them
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{name}-\1"', svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{name}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{name}-\1)", svg)
    return f'<figure role="img" aria-label="{html.escape(name)}">{svg.strip()}</figure>'


def can_draw() -> None:
    """Load matplotlib (the [report] part) now: where it is missing, the ModuleNotFoundError comes
    before any work or output, and the command line names the part to install."""
    import matplotlib  # noqa: F401


def _rc() -> Any:
    import matplotlib

    return matplotlib.rc_context(SETTINGS)


def _bars(name: str, labels: Sequence[str], values: Sequence[float], colours: Sequence[str] | str = BLUE, unit: str = "") -> str:
    """Horizontal bars, the first label on top, each labelled with its value."""
    with _rc():
        figure, axes = _figure(0.45 + 0.32 * max(len(labels), 1))
        positions = list(range(len(labels)))
        bars = axes.barh(positions, values, color=colours, height=0.6)
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.bar_label(bars, labels=[f"{value:,.0f}{unit}" for value in values], padding=3, fontsize=8)
        axes.set_xlim(0, max([*values, 1]) * 1.15)
        axes.xaxis.set_visible(False)
        axes.spines["bottom"].set_visible(False)
        return _svg(figure, name)


def _gmail_lines(axes: Any, horizontal: bool) -> None:
    for rate, colour, label in ((GMAIL_TARGET, AMBER, "Gmail 0.1%"), (GMAIL_LIMIT, RED, "Gmail 0.3%")):
        if horizontal:
            axes.axhline(rate * 100, color=colour, linestyle="--", linewidth=1, label=label)
        else:
            axes.axvline(rate * 100, color=colour, linestyle="--", linewidth=1, label=label)


def _complaint_chart(name: str, rate: float | None) -> str:
    from matplotlib.ticker import PercentFormatter

    shown = (rate or 0) * 100
    with _rc():
        figure, axes = _figure(1.3)
        axes.barh([0], [shown], color=RED if (rate or 0) >= GMAIL_LIMIT else AMBER if (rate or 0) >= GMAIL_TARGET else GREEN, height=0.5)
        _gmail_lines(axes, horizontal=False)
        axes.set_xlim(0, max(0.4, shown * 1.15))
        axes.set_yticks([0], ["complaints"])
        axes.xaxis.set_major_formatter(PercentFormatter(decimals=2))
        axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False, ncols=2)  # above the chart, clear of the lines
        axes.set_ylim(-0.6, 0.6)
        return _svg(figure, name)


def _trend_lines(name: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None], str]], rate: bool = False) -> str:
    from matplotlib.ticker import PercentFormatter

    with _rc():
        figure, axes = _figure(2.6)
        positions = list(range(len(labels)))
        highest = 0.0
        for label, values, colour in series:
            shown = [float("nan") if value is None else value * (100 if rate else 1) for value in values]
            axes.plot(positions, shown, marker="o", markersize=4, color=colour, label=label)
            highest = max([highest, *(value for value in shown if value == value)])
        if rate:
            _gmail_lines(axes, horizontal=True)
            axes.yaxis.set_major_formatter(PercentFormatter(decimals=2))
            axes.set_ylim(0, max(0.4, highest * 1.15))
        else:
            axes.set_ylim(0, max(highest * 1.15, 1))
        axes.set_xticks(positions, labels)
        axes.grid(axis="y", color="#e5e7eb", linewidth=0.6)
        axes.legend(loc="upper left", fontsize=8, frameon=False, ncols=4)
        return _svg(figure, name)


def _trend_bars(name: str, labels: Sequence[str], values: Sequence[float | None], colour: str, rate: bool = False) -> str:
    """One bar per issue; an issue whose provider does not measure the figure (None) gets no bar, labelled n/a."""
    from matplotlib.ticker import PercentFormatter

    with _rc():
        figure, axes = _figure(2.2)
        positions = list(range(len(labels)))
        shown = [0.0 if value is None else value * 100 if rate else value for value in values]
        bars = axes.bar(positions, shown, color=colour, width=0.6)
        texts = ["n/a" if value is None else f"{bar:.2f}%" if rate else f"{bar:,.0f}" for value, bar in zip(values, shown, strict=True)]
        axes.bar_label(bars, labels=texts, padding=2, fontsize=8)
        axes.set_xticks(positions, labels)
        axes.set_ylim(0, max([*shown, 0.01 if rate else 1]) * 1.2)
        if rate:
            axes.yaxis.set_major_formatter(PercentFormatter(decimals=2))
        return _svg(figure, name)


# --- pages -----------------------------------------------------------------------------------------


def _page(title: str, body: list[str]) -> str:
    # default-src 'none': the page cannot fetch anything, even if a link or subject tried to
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _level(rate: float | None) -> str:
    level = complaint_level(rate)
    if level is None:
        return ""
    css = {"below 0.1%": "level-low", "above 0.1%": "level-mid", "above 0.3%": "level-high"}[level]
    return f'<span class="{css}">{html.escape(level)}</span>'


def _link(url: str) -> str:
    """A clicked link, as text, and as a link only when it is a web address."""
    text = html.escape(url)
    if re.match(r"https?://", url, re.IGNORECASE):
        return f'<a href="{html.escape(url, quote=True)}" rel="noreferrer noopener">{text}</a>'
    return text


def issue_html(report: IssueReport) -> str:
    title = f"Issue {report.issue}" + (f": {report.subject}" if report.subject else "")
    body = [f"<h1>{html.escape(title)}</h1>"]
    body += [f'<p class="{tone}">{html.escape(sentence)}</p>' for tone, sentence in standing(report)]
    if report.state == NEVER_SENT:
        return _page(title, body)

    body.append("<h2>Where the messages went</h2>")
    body += _deliveries(report)

    body.append("<h2>Complaints</h2>")
    if report.measured:
        body.append(
            f"<p>{report.complaints:,} complaint(s): {percent(report.complaint_rate)} of {report.rate_base}, {_level(report.complaint_rate)}. "
            "Gmail wants bulk senders below 0.1%, and never at 0.3% or above.</p>"
        )
        body.append(_complaint_chart("complaints", report.complaint_rate))
    else:
        body.append(f'<p class="note">Complaints: {html.escape(not_measured(report.provider))}.</p>')

    body.append("<h2>Unsubscribes by channel</h2>")
    body.append(f"<p>{report.unsubscribed:,} unsubscribe(s): {percent(report.unsubscribe_rate)} of {report.rate_base}.</p>")
    body.append(_bars("unsubscribes", list(CHANNELS), [report.unsubscribes[channel] for channel in CHANNELS], AMBER))
    until = f"the next issue's first send ({report.next_sent})" if report.next_sent else "now (no later issue yet)"
    since = html.escape(report.first_sent or "")
    body.append(
        f'<p class="note">Recipients of this issue who unsubscribed through its links, or otherwise (an older link, the command line) '
        f"from its first send ({since}) until {html.escape(until)}.</p>"
    )

    if not report.measured:
        unmeasured = html.escape(not_measured(report.provider))
        if report.engagement is not None:
            body += engagement_html(report.engagement)
        else:
            body.append("<h2>Clicks</h2>")
            body.append(f'<p class="note">Clicks: {unmeasured}.</p>')
        if report.opens is not None and not report.opens_measured:
            body.append(f'<p class="note">Opens: {unmeasured}.</p>')
        if report.opens is None or not report.opens_measured:
            return _page(title, body)
        body += _opens_html(report)
        return _page(title, body)
    if report.engagement is not None:
        body += engagement_html(report.engagement)
    if report.links:
        body.append("<h2>Clicks per link" + (", as the provider reported them" if report.engagement is not None else "") + "</h2>")
        body.append(f"<p>{report.clicks:,} click(s) by {report.clickers:,} address(es).</p>")
        shown = report.links[:MAX_LINKS]
        body.append(_bars("clicks", [_short(link.url) for link in shown], [link.clicks for link in shown], BLUE))
        rows = "".join(f'<tr><td class="link">{_link(link.url)}</td><td>{link.clicks:,}</td><td>{link.clickers:,}</td></tr>' for link in report.links)
        body.append(f"<table><thead><tr><th>link</th><th>clicks</th><th>people</th></tr></thead><tbody>{rows}</tbody></table>")

    body += _opens_html(report)
    return _page(title, body)


def _opens_html(report: IssueReport) -> list[str]:
    body: list[str] = []
    if report.opens is not None:
        opens = report.opens
        body.append(f"<h2>Opens ({html.escape(OPENS_NOTE)})</h2>")
        body.append(_bars("opens", ["readers", "machine opens"], [opens.readers, opens.machine], [BLUE, GREY]))
        body.append(
            f'<p class="note">{opens.readers:,} address(es) opened it other than by a machine open; {opens.machine:,} had a machine open '
            f"(Apple Mail fetched the images), counted apart; {opens.events:,} open event(s) in all.</p>"
        )
    return body


def _deliveries(report: IssueReport) -> list[str]:
    """The chart and tables of where the messages went: the ledger's states, and the provider's
    events only where it reports them (otherwise a sentence, never bars of zero)."""
    ledger_rows = [[state, f"{count:,}"] for state, count in report.ledger.items() if count or state in ("sent", "failed", "unknown")]
    ledger = _table(["ledger", "recipients"], [["all", f"{report.recipients:,}"], *ledger_rows])
    if not report.measured and report.bounces_measured:  # SMTP's bounces, come back by mail
        values = [report.sent, report.bounces["hard"], report.bounces["soft"], report.deferred, report.ledger["failed"], report.ledger["unknown"]]
        labels = ["sent", "bounced (hard)", "bounced (soft)", "deferred", "failed", "unknown"]
        returned = [["bounced, hard", f"{report.bounces['hard']:,}"], ["bounced, soft", f"{report.bounces['soft']:,}"], ["deferred", f"{report.deferred:,}"]]
        sentence = f"Delivered and dropped: {not_measured(report.provider)}; bounces and delays are the delivery reports `newsletter bounces fetch` read."
        chart = _bars("delivery", labels, values, [BLUE, RED, AMBER, AMBER, RED, GREY])
        return [chart, ledger, _table(["returned by mail", "addresses"], returned), f'<p class="note">{html.escape(sentence)}</p>']
    if not report.measured:
        values = [report.sent, report.ledger["failed"], report.ledger["unknown"]]
        sentence = f"Delivered, deferred, bounced and dropped: {not_measured(report.provider)} (it reports no delivery events)."
        return [_bars("delivery", ["sent", "failed", "unknown"], values, [BLUE, RED, GREY]), ledger, f'<p class="note">{html.escape(sentence)}</p>']
    labels = ["sent", "delivered", "deferred", "bounced (hard)", "bounced (soft)", "dropped", "failed", "unknown"]
    values = [report.sent, report.delivered, report.deferred, report.bounces["hard"], report.bounces["soft"], report.dropped, report.ledger["failed"], report.ledger["unknown"]]
    colours = [BLUE, GREEN, AMBER, RED, AMBER, RED, RED, GREY]
    provider = [["delivered", f"{report.delivered:,}"], ["deferred", f"{report.deferred:,}"], ["bounced, hard", f"{report.bounces['hard']:,}"],
                ["bounced, soft", f"{report.bounces['soft']:,}"], ["dropped", f"{report.dropped:,}"]]  # fmt: skip
    if report.bounces["unclassified"]:
        provider.append(["bounced, unclassified", f"{report.bounces['unclassified']:,}"])
    return [_bars("delivery", labels, values, colours), ledger, _table(["reported by the provider", "addresses"], provider)]


def _short(url: str, width: int = 60) -> str:
    url = re.sub(r"^https?://(www\.)?", "", url, flags=re.IGNORECASE)
    return url if len(url) <= width else url[: width - 1] + "…"


def trend_html(trend: Trend) -> str:
    title = "Newsletter report: all issues"
    body = [f"<h1>{html.escape(title)}</h1>"]
    points = trend.points
    if trend.unknown_issue_events:
        body.append(f'<p class="note">{trend.unknown_issue_events:,} provider event(s) named no issue the ledger knows; they are left out of the trend.</p>')
    if not points:
        body.append("<p>No issue has been sent yet.</p>")
        return _page(title, body)
    labels = [f"#{point.issue}" for point in points]
    body.append("<h2>List size and deliveries</h2>")
    sizes: list[tuple[str, Sequence[float | None], str]] = [
        ("list size", [p.list_size for p in points], BLUE), ("sent", [p.sent for p in points], GREY), ("delivered", [p.delivered for p in points], GREEN),
    ]  # fmt: skip
    body.append(_trend_lines("size", labels, sizes))
    body.append('<p class="note">List size: the addresses each issue was prepared for (the active subscribers when it was sent).</p>')
    body.append("<h2>Complaint rate</h2>")
    body.append(_trend_lines("complaint-rate", labels, [("complaint rate", [p.complaint_rate for p in points], RED)], rate=True))
    body.append('<p class="note">Complaints of delivered (or of sent when the provider reported no deliveries), against Gmail\'s 0.1% and 0.3% lines.</p>')
    body.append("<h2>Unsubscribe rate</h2>")
    body.append(_trend_bars("unsubscribe-rate", labels, [p.unsubscribe_rate or 0 for p in points], AMBER, rate=True))
    body.append("<h2>Clicks per issue</h2>")
    body.append(_trend_bars("clicks", labels, [p.clicks for p in points], BLUE))
    if not all(p.measured for p in points):
        unmeasured = ", ".join(f"#{p.issue} ({not_measured(p.provider)})" for p in points if not p.measured)
        body.append(f'<p class="note">Deliveries, complaints and clicks are not measured for {html.escape(unmeasured)}: no line point, no bar, n/a.</p>')
    opens = any(p.opens is not None for p in points)
    if opens:
        body.append(f"<h2>Opens ({html.escape(OPENS_NOTE)})</h2>")
        readers = [p.opens.readers if p.opens else None for p in points]
        machine = [p.opens.machine if p.opens else None for p in points]
        body.append(_trend_lines("opens", labels, [("readers", readers, BLUE), ("machine opens", machine, GREY)]))
    header = ["issue", "first sent", "list", "sent", "delivered", "complaints", "complaint rate", "unsubscribes", "unsubscribe rate", "clicks", "clickers"]
    if opens:
        header += ["readers", "machine opens"]
    rows = []
    for p in points:
        row = [
            p.issue + (" (sending)" if p.state == SENDING else ""), p.first_sent[:10], f"{p.list_size:,}", f"{p.sent:,}", count_text(p.delivered), count_text(p.complaints),
            percent(p.complaint_rate) if p.measured else "n/a", f"{p.unsubscribes:,}", percent(p.unsubscribe_rate), count_text(p.clicks), count_text(p.clickers),
        ]  # fmt: skip
        if opens:
            row += [f"{p.opens.readers:,}", f"{p.opens.machine:,}"] if p.opens else ["n/a", "n/a"] if not p.measured else ["-", "-"]
        rows.append(row)
    body.append("<h2>Figures</h2>")
    body.append(_table(header, rows))
    return _page(title, body)


# --- by story --------------------------------------------------------------------------------------


def bar_list(name: str, items: Sequence[tuple[str, str, float]]) -> str:
    """An accessible bar list: each item's label and figure as text, its bar (width relative to the
    largest value) hidden from screen readers, which read the text."""
    top = max([value for _, _, value in items] + [0.0])
    rows = []
    for label, figure, value in items:
        width = 0.0 if top <= 0 else round(value / top * 100, 1)
        rows.append(f'<li><span>{html.escape(label)}</span>: <strong>{html.escape(figure)}</strong><span class="bar" aria-hidden="true" style="width: {width}%"></span></li>')
    return f'<ol class="bars" aria-label="{html.escape(name)}">' + "".join(rows) + "</ol>"


def engagement_html(engagement: Engagement) -> list[str]:
    """Clicks per story as a bar list, per link as a table, and the readers who clicked."""
    body = ["<h2>Clicks per story</h2>"]
    if not engagement.measured:
        return [*body, f'<p class="note">Clicks: {html.escape(engagement.unmeasured)}.</p>']
    reader = engagement.mode == READER
    counted = "reader(s) clicked" if reader else "click(s)"
    items = []
    for story in engagement.stories:
        place = f"{story.position}. " if story.position is not None else "Sponsor: "
        value = story.clickers if reader and story.clickers is not None else story.clicks
        items.append((place + story_label(story), f"{value:,} {counted}, {percent(story.rate)}", float(value)))
    body.append(bar_list("Clicks per story", items))
    notes = [f"Measured by {' and '.join(engagement.measured_by)}; people only. Rate: {engagement.counted} / {engagement.rate_base}."]
    if engagement.other_clicks:
        notes.append(f"Other links (outside any story): {engagement.other_clicks:,} click(s).")
    notes.append(f"Machine clicks (mail scanners), counted apart: {engagement.machine:,}.")
    body += [f'<p class="note">{html.escape(note)}</p>' for note in notes]
    if engagement.links:
        header = ["clicks", "machine", *(["readers"] if reader else []), "link"]
        rows = "".join(
            f"<tr><td>{link.clicks:,}</td><td>{link.machine:,}</td>" + (f"<td>{link.clickers or 0:,}</td>" if reader else "") + f'<td class="link">{_link(link.url)}</td></tr>'
            for link in engagement.links
        )
        head = "".join(f"<th>{cell}</th>" for cell in header)
        body += ["<h2>Clicks per link, through the tool's redirect</h2>", f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"]
    if engagement.readers is not None:
        body.append(f"<h2>Readers who clicked: {len(engagement.readers):,}</h2>")
        if engagement.readers:
            body.append("<ul>" + "".join(f"<li>{html.escape(address)}</li>" for address in engagement.readers) + "</ul>")
    return body


def archive_html(archive: Archive) -> str:
    title = "Newsletter report: click-through by story"
    body = [f"<h1>{html.escape(title)}</h1>"]
    if not archive.stories:
        body.append("<p>No issue with measured clicks has stories recorded yet.</p>")
        return _page(title, body)
    body.append(
        f'<p class="note">Over {archive.stories:,} stories of the issues whose clicks were measured. '
        "Click-through: clicks by people / copies delivered (or sent, where the provider reported no delivery).</p>"
    )
    titles = {"source": "By source", "section": "By section", "position": "By position in the issue", "format": "By format"}
    for dimension, figures in archive.by.items():
        body.append(f"<h2>{titles[dimension]}</h2>")
        items = [(f.key, f"{percent(f.click_through)} ({f.stories:,} stories, {f.clicks:,} clicks)", f.click_through or 0.0) for f in figures]
        body.append(bar_list(titles[dimension], items))
    return _page(title, body)


def write_page(path: Path, page: str, follow_symlinks: bool = False) -> None:
    """Write the page through the one writer (newsletter.files.writing.write_output): a new or regular
    file in a folder that exists, written whole; `-` is standard output."""
    from ..files.writing import write_output

    write_output(path, page.encode("utf-8"), follow_symlinks)
