"""Feeds that fill an inbox of candidate stories: `newsletter sources fetch`, `newsletter inbox`.

feeds.py reads one feed (guarded HTTP or a workspace file) into items; archive.py knows which
links earlier issues ran; inbox.py is the inbox file; polling.py reads every feed in parallel into
it; picking.py drafts picked items into the next issue file through the story drafter."""
