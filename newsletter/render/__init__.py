"""Issue -> Email: the pipeline (Jinja, MJML, inlining), story blocks, Markdown and typography, the
theme's colours and tagged links. The default templates are the repository's top-level templates/
(shipped in the wheel as newsletter/templates)."""
