"""Command modules loaded lazily by newsletter.cli (one module per command family)."""
