"""Live preview: re-render the issue when its files change and show it in a browser page."""
