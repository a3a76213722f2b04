"""`newsletter publish`: the static web archive of the issues (index, one page per issue, Atom feed,
sitemap, robots.txt), built in memory first and then written in one go.

    site = build_site(workspace)                                # read and validate every issue, render every file
    written = SiteWriter(folder, archive=site.archive).write(site.files)  # only the files whose bytes changed, all or none
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from ..files.writing import output_folder
from ..models import Issue
from ..workspace.config import Workspace
from .site import Archive, archive_file, build_site, default_folder, not_gone_out
from .writer import Outcome, SiteWriter

__all__ = ["Outcome", "Archive", "SiteWriter", "build_site", "default_folder", "page_nobody_received", "publish"]


def publish(workspace: Workspace, folder: Path | None = None, now: dt.datetime | None = None) -> Outcome:
    """Build the archive of `workspace` and write what changed into `folder` (default: site/,
    created as needed; a folder the user named may be new, but its parent must exist). The page
    of an issue the ledger shows nobody received (its send failed or was cancelled) is deleted
    once the index, feed and sitemap no longer list it."""
    if folder is not None:
        output_folder(folder)  # before reading and rendering: a mistyped --out is said at once
    site = build_site(workspace, now=now)
    writer = SiteWriter(folder or default_folder(workspace), parents=folder is None, archive=site.archive)
    # Only a page the ledger proves nobody received goes: without a ledger (a machine without the
    # database), every sent issue would look unsent, and its page is kept and named instead.
    outcome = writer.write(site.files, withdraw={left.page: left.reason for left in site.withheld if left.known})
    site.cache.save()  # only once the archive is written: a failed run leaves no half-filled cache
    removed = {path.name for path, _ in outcome.removed}
    withheld = [(left.number, left.reason) for left in site.withheld if left.known and left.page not in removed]
    return dataclasses.replace(outcome, withheld=withheld)


def page_nobody_received(workspace: Workspace, issue: Issue) -> Path | None:
    """The issue's page in the workspace's site/, when it is there although the ledger shows no copy
    of the issue has gone out (and it is not marked `publish: true`): the next `newsletter publish` removes it."""
    page = default_folder(workspace) / archive_file(workspace.config.newsletter.archive_path, f"issue-{issue.number}.html")
    if issue.publish or not page.is_file():
        return None
    reason = not_gone_out(workspace, {issue.number}, dt.datetime.now(dt.UTC)).get(issue.number)
    return page if reason is not None else None
