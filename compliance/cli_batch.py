"""Commands: batch (registered on the main group)."""
from .cli import cli  # noqa: F401
