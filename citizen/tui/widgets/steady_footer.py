"""A footer that is rebuilt only when the keys it shows change."""

from __future__ import annotations

from typing import Any, Optional

from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

Key = tuple[Any, ...]  # what one key of the footer shows (see ``SteadyFooter.keys_shown``)


def one_per_action(keys: tuple[Key, ...]) -> list[Key]:
    """The keys the footer draws: the first binding of each action (Textual's footer does the same)."""
    first: dict[str, Key] = {}
    for key in keys:
        first.setdefault(key[3], key)
    return list(first.values())


class SteadyFooter(Footer):
    """Textual's footer, drawn the same, without rebuilding its keys when nothing it shows changed.

    Textual's footer removes and mounts all its keys again whenever the screen's bindings change:
    on every move of the focus, though the keys shown are nearly always the same. On a busy screen
    that is most of the time between a keypress and its result being drawn (each rebuild styles a
    dozen new widgets). Here the keys shown are compared first: the same keys, names, enabled state
    and hints mean the footer already shows them; some of the keys it was built with, in the same
    order (a list taking the focus hides Mark, whose key opens the list), are shown by hiding the
    others; anything else rebuilds it.
    """

    _shown: Optional[tuple[Any, ...]] = None
    _built: Optional[tuple[Any, ...]] = None  # (keys drawn, palette, combine) at the last rebuild
    _drawn: list[FooterKey] = []  # the key widgets of the last rebuild, in the order of its keys

    def keys_shown(self) -> tuple[Any, ...]:
        """What ``compose`` draws from: each shown binding's key, label, action, group, state and
        hint; the command palette's key; whether groups are combined."""
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
        drawn: list[FooterKey] = []
        self._drawn = drawn
        self._built = None
        if not self._bindings_ready and self.is_attached:
            # The keys are known as the screen is made (its own and the app's, as when the rows take
            # the focus): drawn with it, not rebuilt after its first frame, which would draw it all again.
            self.set_reactive(Footer._bindings_ready, True)
        if self._bindings_ready:
            self._shown = self.keys_shown()
            keys, palette, combine = self._shown
            self._built = (one_per_action(keys), palette, combine)
        for widget in super().compose():
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                drawn.append(widget)
            if self.compact and isinstance(widget, FooterKey):
                # born compact: binding ``compact`` then changes no class, and restyles nothing
                widget.add_class("-compact", update=False)
            yield widget

    def _show_only(self, now: tuple[Any, ...]) -> bool:
        """Show ``now`` by hiding keys of the last rebuild, if it is some of them in the same order."""
        if self._built is None:
            return False
        built, palette, combine = self._built
        keys, now_palette, now_combine = now
        wanted = one_per_action(keys)
        if (now_palette, now_combine) != (palette, combine) or len(self._drawn) != len(built):
            return False
        if any(key[4] is not None for key in built):  # grouped keys are drawn otherwise
            return False
        rest = iter(built)
        if not all(key in rest for key in wanted):  # not some of them, in their order
            return False
        for key, widget in zip(built, self._drawn, strict=True):
            widget.display = key in wanted
        return True

    def bindings_changed(self, screen: Screen) -> None:
        if self._shown is not None and screen.app.app_focus and self.is_attached and screen is self.screen:
            now = self.keys_shown()
            if now == self._shown:
                return  # already shows (or is about to show) exactly these keys
            if self._show_only(now):
                self._shown = now
                return
        super().bindings_changed(screen)
        if self._bindings_ready and screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = self.keys_shown()  # what the rebuild just asked for will show
