"""`check --links`: each link of an issue fetched (guarded, in parallel, with deadlines) and judged:
gone, sent to a home page, behind a paywall, or ending on another page than its story's.

collect.py finds the links and their fields, probe.py fetches one, check.py runs them and judges."""
