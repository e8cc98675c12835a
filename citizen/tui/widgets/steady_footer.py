"""A footer that is rebuilt only when the keys it shows change."""

from __future__ import annotations

from typing import Any, Optional

from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class SteadyFooter(Footer):
    """Textual's footer, drawn the same, without rebuilding its keys when nothing it shows changed.

    Textual's footer removes and mounts all its keys again whenever the screen's bindings change:
    on every move of the focus, though the keys shown are nearly always the same. On a busy screen
    that is most of the time between a keypress and its result being drawn (several rebuilds,
    each styling a dozen new widgets). Here the keys shown are compared first: the same keys, the
    same names, the same enabled state and hints mean the footer already shows them.
    """

    _shown: Optional[tuple[Any, ...]] = None

    def keys_shown(self) -> tuple[Any, ...]:
        """What ``compose`` draws from: each shown binding's key, label, action, group, state and hint."""
        active = self.screen.active_bindings
        shown = tuple(
            (binding.key, self.app.get_key_display(binding), binding.description, binding.action, binding.group, enabled, tip)
            for _node, binding, enabled, tip in active.values()
            if binding.show
        )
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            found = active.get(self.app.COMMAND_PALETTE_BINDING)
            if found is not None:
                _node, binding, enabled, tip = found
                palette = (binding.key, self.app.get_key_display(binding), binding.description, enabled, tip, binding.tooltip)
        return shown, palette, self.combine_groups

    def compose(self):
        if self._bindings_ready:
            self._shown = self.keys_shown()
        for widget in super().compose():
            if self.compact and isinstance(widget, FooterKey):
                # born compact: binding ``compact`` then changes no class, and restyles nothing
                widget.add_class("-compact", update=False)
            yield widget

    def bindings_changed(self, screen: Screen) -> None:
        if (
            self._shown is not None
            and screen.app.app_focus
            and self.is_attached
            and screen is self.screen
            and self.keys_shown() == self._shown
        ):
            return  # already shows (or is about to show) exactly these keys
        super().bindings_changed(screen)
        if self._bindings_ready and screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = self.keys_shown()  # what the rebuild just asked for will show
