"""Which modifier keys are held, as the keys came. A key's callback runs a frame after the key went down, or
more (a frame of the window takes 50-200 ms in software GL): by then a quick Ctrl-Z's Ctrl was up, so
`dpg.is_key_down` said no, and the Z went to the canvas as a plain key (no undo)."""
from __future__ import annotations

import dearpygui.dearpygui as dpg

CTRL = frozenset((dpg.mvKey_LControl, dpg.mvKey_RControl))
SHIFT = frozenset((dpg.mvKey_LShift, dpg.mvKey_RShift))


class Modifiers:
    """Ctrl and Shift as the key presses and releases came, in order (their callbacks are queued in order)."""

    def __init__(self) -> None:
        self._down: set[int] = set()
        with dpg.handler_registry():
            dpg.add_key_press_handler(callback=lambda _s, key: key in CTRL | SHIFT and self._down.add(key))
            dpg.add_key_release_handler(callback=lambda _s, key: self._down.discard(key))

    @property
    def ctrl(self) -> bool:
        return bool(self._down & CTRL) or dpg.is_key_down(dpg.mvKey_ModCtrl)

    @property
    def shift(self) -> bool:
        return bool(self._down & SHIFT) or dpg.is_key_down(dpg.mvKey_ModShift)
