"""An issue's local pictures (`image: {src: images/chip.jpg}`): found inside the workspace only
(local.py), resized for the archive (rendition.py) and named by their content (published.py)."""
