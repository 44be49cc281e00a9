"""The main chat screen and its controllers."""

from .screen import ChatScreen

__all__ = ["ChatScreen"]
