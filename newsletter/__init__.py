"""newsletter: render, preview and send a curated email newsletter from YAML issue files."""

# The one place the version is written: the build copies it into the package metadata
# (pyproject.toml, [tool.hatch.version]); a plain string costs start-up nothing.
__version__ = "0.1.0"

import os as _os

# We use no pydantic plugins; without this pydantic scans every installed package's entry
# points when the first model is defined, which costs ~15 ms of every command's start-up.
_os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
