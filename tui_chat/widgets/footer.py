"""The key footer, rebuilt only when the keys it shows change.

Textual's :class:`~textual.widgets.Footer` recomposes (a dozen or more new widgets,
each styled) whenever the screen says its bindings may have changed, and the screen
says so on every focus change. Walking through messages with k/j moves the focus from
one message to the next, whose keys are the same: rebuilding the footer each time cost
more than everything else a step does.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """A :class:`Footer` that skips the rebuild when the shown keys are what it shows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple[Any, ...] | None = None

    def _keys(self, screen: Screen[Any]) -> tuple[Any, ...]:
        """What the footer would show: every shown binding with its state."""
        return tuple(
            (key, binding.action, binding.description, binding.group, enabled, tooltip)
            for key, (_node, binding, enabled, tooltip) in screen.active_bindings.items()
            if binding.show or key == self.app.COMMAND_PALETTE_BINDING
        ) + (self.show_command_palette,)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            keys = self._keys(screen)
            if keys == self._shown:
                return
            self._shown = keys
        super().bindings_changed(screen)
