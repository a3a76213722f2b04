"""Draft a story (title, summary, key facts, quote) from an article, offline and deterministically.

The data flows one way: fetch (bytes) -> extract (raw blocks + page metadata) -> clean (typed blocks,
junk dropped) -> quotes / summarize / facts -> draft (a Story) -> block (YAML text) -> append (issue file).
"""
