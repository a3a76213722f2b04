"""newsletter: render, preview and send a curated email newsletter from YAML issue files."""

__version__ = "0.1.0"
