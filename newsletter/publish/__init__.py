"""`newsletter publish`: the static web archive of the issues (index, one page per issue, Atom feed,
sitemap, robots.txt), built in memory first and then written in one go.

    site = build_site(workspace)             # read and validate every issue, render every file
    written = SiteWriter(folder).write(site)  # only the files whose bytes changed, all or none
"""

from __future__ import annotations

from pathlib import Path

from ..config import Workspace
from ..output import output_folder
from .site import Site, build_site, default_folder
from .writer import Outcome, SiteWriter

__all__ = ["Outcome", "Site", "SiteWriter", "build_site", "default_folder", "publish"]


def publish(workspace: Workspace, folder: Path | None = None) -> Outcome:
    """Build the archive of `workspace` and write what changed into `folder` (default: site/,
    created as needed; a folder the user named may be new, but its parent must exist)."""
    if folder is not None:
        output_folder(folder)  # before reading and rendering: a mistyped --out is said at once
    site = build_site(workspace)
    outcome = SiteWriter(folder or default_folder(workspace), parents=folder is None).write(site.files)
    site.cache.save()  # only once the archive is written: a failed run leaves no half-filled cache
    return outcome
