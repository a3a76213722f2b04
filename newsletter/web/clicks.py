"""The tool's own click redirect and open pixel (mail/clicks.py makes their links).

    GET|HEAD /r/<issue>/<slot>/<signature>/<reader>?u=<link>   302 to the link, when genuine
    GET|HEAD /o/<issue>/<reader>                                a 1x1 GIF

A link that is not genuine (forged, damaged, changed, another issue's) gets a plain 404 page and
goes nowhere: the redirect only ever sends a reader where an issue linked. The answer does no
database work: the click is handed to the process's recorder (engagement/recorder.py), which
writes it within a second. A genuine link with a forged reader part still redirects, and counts
as a click of nobody's; a proof's (NO_READER) counts for nothing."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, g, request
from flask.typing import ResponseReturnValue

from ..mail.clicks import NO_READER, verify_link, verify_reader
from .site import site

clicks = Blueprint("clicks", __name__)

# A transparent 1x1 GIF (the smallest image every mail client shows).
PIXEL_GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
IN_LOCATION = "!#$%&'()*+,/:;=?@[]~"  # a link's own delimiters stay as they are in Location; only the rest is encoded
MAX_AGENT = 512  # characters of User-Agent kept: enough for any scanner's name


@clicks.route("/r/<issue>/<slot>/<sig>/<reader>", methods=["GET", "HEAD"])
def redirect_click(issue: str, slot: str, sig: str, reader: str) -> ResponseReturnValue:
    here = site()
    found = request.args.getlist("u")
    link = verify_link(issue, slot, sig, found[0], here.keys) if len(found) == 1 else None
    if link is None:
        abort(404)  # never a redirect: to a stranger's link, or anywhere
    if here.config.tracking.clicks != "off" and reader != NO_READER:
        public_id = verify_reader(reader, issue, here.keys)  # None: forged, so the click is nobody's
        here.recorder.click(link.issue, link.slot, link.url, public_id, request.method == "HEAD", _agent())
    location = quote(link.url, safe=IN_LOCATION)
    g.click_target = location  # the app's check that Location stays on base_url lets this one pass
    return Response(status=302, headers={"Location": location})


@clicks.route("/o/<issue>/<reader>", methods=["GET", "HEAD"])
def open_pixel(issue: str, reader: str) -> ResponseReturnValue:
    here = site()
    if here.config.tracking.opens and reader != NO_READER:
        public_id = verify_reader(reader, issue, here.keys)
        if public_id is not None:  # nothing signs an open but the reader part: a forged one counts for nothing
            here.recorder.open(issue, public_id, request.method == "HEAD", _agent())
    return Response(PIXEL_GIF, status=200, mimetype="image/gif")


def click_target() -> str | None:
    """The Location of this request's genuine click redirect, if it is one."""
    found: str | None = g.get("click_target")
    return found


def _agent() -> str:
    return (request.headers.get("User-Agent") or "")[:MAX_AGENT]
