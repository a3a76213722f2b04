"""The issue file: loading and validating its YAML with located errors, the checks on it and its
rendered email, numbering and `new`, and what build writes."""
