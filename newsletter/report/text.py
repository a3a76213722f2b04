"""`newsletter report` as text: one issue's figures, or the trend over all issues.

Links, subjects and issue keys come from the database, and a provider's events are anyone's to
write: every value is printed without control characters (an ESC would drive the terminal), and
the lines are ours alone (a value holds no line break)."""

from __future__ import annotations

import re

from ..providers import EVENT_SOURCES, SHOWN
from .figures import CHANNELS, GMAIL_LIMIT, GMAIL_TARGET, NEVER_SENT, OPENS_NOTE, SENDING, IssueReport, Trend, complaint_level, not_measured, standing
from .stories import READER, Archive, Engagement, StoryClicks

BAR_CELLS = 20  # the complaint bar spans 0 to 0.4%, 0.02% a cell
BAR_TOP = 0.004
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1 (U+009B is a CSI of its own)
C1 = re.compile(r"[\x7f-\x9f]")


def plain(value: str) -> str:
    """A value from the database as it may be printed: no control character, line break or tab."""
    return CONTROL.sub("", value)


def terminal_safe(text: str) -> str:
    """Text for a terminal: control characters out, except the line breaks and tabs of its layout."""
    return CONTROL.sub(lambda found: found.group(0) if found.group(0) in "\n\t" else "", text)


def terminal_safe_json(text: str) -> str:
    """JSON for a terminal: json.dumps escapes C0 already; C1 and DEL become \\u escapes (the same data)."""
    return C1.sub(lambda found: f"\\u{ord(found.group(0)):04x}", text)


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.2f}%"


def complaint_bar(rate: float | None) -> str:
    """`[###..|.........|....]`: the rate filled in, Gmail's 0.1% and 0.3% lines as `|`."""
    filled = 0 if rate is None else min(BAR_CELLS, round(rate / BAR_TOP * BAR_CELLS))
    cells = ["#" if i < filled else "." for i in range(BAR_CELLS)]
    for line in sorted((GMAIL_LIMIT, GMAIL_TARGET), reverse=True):
        cells.insert(round(line / BAR_TOP * BAR_CELLS), "|")
    return "[" + "".join(cells) + "]"


def _row(label: str, value: int | str, note: str = "") -> str:
    shown = f"{value:,}" if isinstance(value, int) else value
    return f"  {label:<14}{shown:>9}{'  ' + note if note else ''}"


def issue_text(report: IssueReport) -> str:
    title = f"Issue {plain(report.issue)}" + (f": {plain(report.subject)}" if report.subject else "")
    lines = [title] + ([f"Topic: {plain(report.topic)}"] if report.topic else [])
    if report.commit is not None:
        commit, clean = report.commit
        lines.append(f"Git commit: {commit or '(none yet)'}" + ("" if clean else " (the issue file had changes that were not committed)"))
    lines += [plain(sentence) for _, sentence in standing(report)]
    if report.state == NEVER_SENT:
        return terminal_safe("\n".join(lines) + "\n")
    lines += ["", "Ledger", _row("recipients", report.recipients)]
    for state in ("sent", "failed", "unknown", "skipped", "pending", "sending", "scheduled"):
        if report.ledger[state] or state in ("sent", "failed", "unknown"):
            lines.append(_row(state, report.ledger[state]))
    lines += ["", "Reported by the provider (addresses)", *_provider_lines(report), ""]
    base = report.rate_base
    level = complaint_level(report.complaint_rate)
    if report.measured:
        lines += [
            _row("complaints", report.complaints, f"{percent(report.complaint_rate)} of {base}  {complaint_bar(report.complaint_rate)}  {level or 'no rate: nothing sent'}"),
            "    Gmail wants bulk senders below 0.1%, and never at 0.3% or above (the two | in the bar).",
        ]
    else:
        lines.append(_row("complaints", "n/a", not_measured(report.provider)))
    lines += ["", _row("unsubscribes", report.unsubscribed, f"{percent(report.unsubscribe_rate)} of {base}")]
    lines += [_row(channel, report.unsubscribes[channel]) for channel in CHANNELS]
    next_issue = "the next issue of this topic" if report.topic else "the next issue"
    until = f"{next_issue}'s first send ({report.next_sent})" if report.next_sent else "now (no later issue yet)"
    lines.append(f"    recipients of this issue who unsubscribed through its links, or otherwise from its first send ({report.first_sent}) until {until}")
    if report.engagement is not None:
        lines += story_lines(report.engagement)
    if report.measured and report.links:
        by = f"by {report.clickers:,} address(es)" + (", as the provider reported them" if report.engagement is not None else "")
        lines += ["", _row("clicks", report.clicks, by), "     clicks  people  link"]
        lines += [f"  {link.clicks:>9,} {link.clickers:>7,}  {plain(link.url)}" for link in report.links]
    elif not report.measured and report.engagement is None:
        lines += ["", _row("clicks", "n/a", not_measured(report.provider))]
    if report.opens is not None and not report.opens_measured:
        lines.append(_row("opens", "n/a", not_measured(report.provider)))
    elif report.opens is not None:
        opens = report.opens
        lines += [
            "",
            f"Opens ({OPENS_NOTE})",
            _row("readers", opens.readers, "addresses with an open that was not a machine open"),
            _row("machine", opens.machine, "addresses with a machine open (Apple Mail fetched the images), counted apart"),
            _row("events", opens.events),
        ]
    return terminal_safe("\n".join(lines) + "\n")


def _provider_lines(report: IssueReport) -> list[str]:
    """Deliveries, deferrals, bounces and drops as the provider reported them, or that it does not."""
    bounces = report.bounces
    split = f"hard {bounces['hard']:,}, soft {bounces['soft']:,}" + (f", unclassified {bounces['unclassified']:,}" if bounces["unclassified"] else "")
    if not report.measured and report.bounces_measured:  # SMTP's bounces, come back by mail
        return [
            _row("delivered", "n/a", not_measured(report.provider)),
            _row("deferred", report.deferred),
            _row("bounced", report.bounced, split),
            "  (bounces: the delivery reports `newsletter bounces fetch` read)",
        ]
    if not report.measured:
        return [f"  {not_measured(report.provider)}: it reports no deliveries, bounces, complaints, clicks or opens"]
    lines = [_row("delivered", report.delivered), _row("deferred", report.deferred), _row("bounced", report.bounced, split), _row("dropped", report.dropped)]
    if not (report.delivered or report.deferred or report.bounced or report.dropped):
        lines.append(f"  (no delivery events yet: {events_route(report.provider)})")
    return lines


def events_route(provider: str | None) -> str:
    """Where the issue's provider's events come in, for the line that says none has yet."""
    if provider in EVENT_SOURCES and provider in SHOWN:
        return f"{SHOWN[provider]}'s come through `newsletter serve`'s webhook, /webhooks/{provider}"
    # It posts none itself (or is not recorded): a relay may post them to the generic endpoint
    return "they come through `newsletter serve`'s webhooks, /webhooks/<provider> or /webhooks/generic"


def count_text(value: int | None) -> str:
    """A trend figure, or n/a where the issue's provider does not measure it."""
    return "n/a" if value is None else f"{value:,}"


def trend_text(trend: Trend) -> str:
    apart = [f"{trend.unknown_issue_events:,} provider event(s) named no issue the ledger knows; they are left out of the trend."] if trend.unknown_issue_events else []
    if not trend.points:
        return "\n".join(["No issue has been sent yet.", *apart]) + "\n"
    opens = any(point.opens is not None for point in trend.points)
    topics = any(point.topic for point in trend.points)
    header = (f"{'topic':<12}  " if topics else "") + f"{'issue':>6}  {'first sent':<10}  {'list':>7}  {'sent':>7}  {'delivered':>9}  {'complaint rate':>14}  {'':<10}  "
    header += f"{'unsubscribe rate':>16}  {'clicks':>7}  {'clickers':>8}"
    if opens:
        header += f"  {'readers':>7}  {'machine':>7}"
    lines = [header]
    for p in trend.points:
        complaint_rate = percent(p.complaint_rate) if p.measured else "n/a"
        line = (f"{plain(p.topic or '-'):<12}  " if topics else "") + (
            f"{plain(p.issue):>6}  {plain(p.first_sent[:10]):<10}  {p.list_size:>7,}  {p.sent:>7,}  {count_text(p.delivered):>9}  {complaint_rate:>14}  "
            f"{complaint_level(p.complaint_rate) or '':<10}  {percent(p.unsubscribe_rate):>16}  {count_text(p.clicks):>7}  {count_text(p.clickers):>8}"
        )
        if opens:
            line += f"  {count_text(p.opens.readers if p.opens else None):>7}  {count_text(p.opens.machine if p.opens else None):>7}"
        if p.state == SENDING:
            line += "  (still sending)"
        lines.append(line)
    lines += [
        "",
        "list: addresses the issue was prepared for (active subscribers then); rates are of delivered, or of sent when the provider reported no deliveries.",
        "Gmail wants complaints below 0.1%, and never at 0.3% or above.",
    ]
    if opens:
        lines.append(f"Opens are {OPENS_NOTE}; machine opens are counted apart.")
    if not all(p.measured for p in trend.points):
        lines.append("n/a: not measured with the provider that issue went out through (the outbox and SMTP report no deliveries, complaints or clicks).")
    return terminal_safe("\n".join([*lines, *apart]) + "\n")


# --- by story --------------------------------------------------------------------------------------

READERS_SHOWN = 5  # addresses listed in the text; --json has them all


def story_label(story: StoryClicks) -> str:
    """A story as a line names it: its title, then source and section where known."""
    where = " · ".join(plain(part) for part in (story.source, story.section) if part)
    return plain(story.title) + (f" ({where})" if where else "")


def story_lines(engagement: Engagement) -> list[str]:
    """Clicks per story and per link, the machine clicks apart, and the readers who clicked."""
    if not engagement.measured:
        return ["", _row("clicks", "n/a", engagement.unmeasured)]
    reader = engagement.mode == READER
    lines = ["", f"Clicks per story (measured by {' and '.join(engagement.measured_by)}; people only)"]
    lines.append(f"  {'story':>7}  {'clicks':>7}  " + (f"{'readers':>7}  " if reader else "") + f"{'rate':>7}  title")
    for story in engagement.stories:
        slot = str(story.position) if story.position is not None else "sponsor"
        lines.append(f"  {slot:>7}  {story.clicks:>7,}  " + (f"{story.clickers or 0:>7,}  " if reader else "") + f"{percent(story.rate):>7}  {story_label(story)}")
    lines.append(f"    rate: {engagement.counted} / {engagement.rate_base}")
    if engagement.other_clicks:
        lines.append(f"    other links (outside any story): {engagement.other_clicks:,} click(s)")
    lines.append(f"    machine clicks: {engagement.machine:,} (mail scanners: counted apart, in none of the figures above)")
    if engagement.links:
        lines += ["", "Clicks per link (through the tool's redirect)", f"  {'clicks':>7}  {'machine':>7}  " + (f"{'readers':>7}  " if reader else "") + "link"]
        lines += [
            f"  {link.clicks:>7,}  {link.machine:>7,}  " + (f"{link.clickers or 0:>7,}  " if reader else "") + plain(link.url) for link in engagement.links
        ]  # fmt: skip
    if engagement.readers is not None:
        shown = ", ".join(plain(address) for address in engagement.readers[:READERS_SHOWN])
        more = len(engagement.readers) - READERS_SHOWN
        lines += ["", _row("readers", len(engagement.readers), "clicked a link" + (f": {shown}" if shown else ""))]
        if more > 0:
            lines.append(f"    ... and {more:,} more (--json lists them all)")
    return lines


def archive_text(archive: Archive) -> str:
    """Click-through across the archive, a table per dimension."""
    if not archive.stories:
        return "No issue with measured clicks has stories recorded yet (issues sent with [tracking] clicks on, or a provider tracking clicks).\n"
    lines = [
        f"Click-through by story, over {archive.stories:,} stories of the issues whose clicks were measured",
        "(clicks by people / copies delivered, or sent where the provider reported no delivery)",
    ]
    titles = {"source": "By source", "section": "By section", "position": "By position in the issue", "format": "By format"}
    for dimension, figures in archive.by.items():
        lines += ["", titles[dimension], f"  {'click-through':>13}  {'stories':>7}  {'clicks':>9}  {dimension}"]
        lines += [f"  {percent(f.click_through):>13}  {f.stories:>7,}  {f.clicks:>9,}  {plain(f.key)}" for f in figures]
    return terminal_safe("\n".join(lines) + "\n")
