"""`newsletter report`: what happened to each issue after it was sent (figures.py), as text
(text.py) or as a self-contained HTML page with charts (html.py)."""
