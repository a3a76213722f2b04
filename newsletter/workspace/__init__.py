"""The workspace: its settings (newsletter.toml), where it and its database are, and every value read
from the environment (credentials: secrets and the few settings that come from there)."""
