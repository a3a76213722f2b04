"""newsletter: render, preview and send a curated email newsletter from YAML issue files."""

# The one place the version is written: the build copies it into the package metadata
# (pyproject.toml, [tool.hatch.version]); a plain string costs start-up nothing.
__version__ = "0.1.0"
