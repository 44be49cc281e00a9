"""tui-chat: a terminal chat application for large language models."""

__version__ = "0.1.0"
