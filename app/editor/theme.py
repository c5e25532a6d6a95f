"""Themes: pins and links in their port type's registered colour, node states, badges."""
from __future__ import annotations

from enum import Enum

import dearpygui.dearpygui as dpg

from app.runtime.ports import PortType

UNKNOWN_PORT = (120, 120, 120)
ERROR_TEXT = (255, 110, 100)
IDLE_TEXT = (170, 170, 170)
NOTE_TEXT = (150, 150, 160)
OK_TEXT = (140, 220, 140)


class NodeLook(Enum):
    NORMAL = "normal"
    FAILED = "failed"
    IDLE = "idle"  # not running: an input is unconnected, or upstream idles
    BYPASSED = "bypassed"
    MISSING = "missing"  # its plugin is not installed


_TITLE_COLORS = {
    NodeLook.NORMAL: ((60, 60, 70), (75, 75, 90)),
    NodeLook.FAILED: ((150, 40, 40), (175, 50, 50)),
    NodeLook.IDLE: ((70, 70, 70), (85, 85, 85)),
    NodeLook.BYPASSED: ((110, 90, 30), (130, 105, 35)),
    NodeLook.MISSING: ((90, 50, 120), (105, 60, 140)),
}


class Themes:
    """Created once, after the dearpygui context exists."""

    def __init__(self) -> None:
        self._pins: dict[str, int] = {}
        self._links: dict[str, int] = {}
        self.unknown_pin = self._pin_theme(UNKNOWN_PORT)
        self.nodes = {look: self._node_theme(*colors) for look, colors in _TITLE_COLORS.items()}
        with dpg.theme() as self.preview_button, dpg.theme_component(dpg.mvButton):
            dpg.add_theme_color(dpg.mvThemeCol_Button, (40, 90, 130))
            dpg.add_theme_color(dpg.mvThemeCol_ButtonHovered, (60, 120, 170))

    def pin(self, port_type: PortType) -> int:
        """The pin theme in the port type's colour (made on first use: plugins bring new types)."""
        if port_type.tag not in self._pins:
            self._pins[port_type.tag] = self._pin_theme(port_type.colour)
        return self._pins[port_type.tag]

    def link(self, port_type: PortType) -> int:
        if port_type.tag not in self._links:
            self._links[port_type.tag] = self._link_theme(port_type.colour)
        return self._links[port_type.tag]

    @staticmethod
    def _pin_theme(color: tuple[int, int, int]) -> int:
        with dpg.theme() as theme, dpg.theme_component(dpg.mvAll):
            dpg.add_theme_color(dpg.mvNodeCol_Pin, color, category=dpg.mvThemeCat_Nodes)
            dpg.add_theme_color(dpg.mvNodeCol_PinHovered, tuple(min(255, v + 50) for v in color),
                                category=dpg.mvThemeCat_Nodes)
        return theme

    @staticmethod
    def _link_theme(color: tuple[int, int, int]) -> int:
        with dpg.theme() as theme, dpg.theme_component(dpg.mvAll):
            dpg.add_theme_color(dpg.mvNodeCol_Link, color, category=dpg.mvThemeCat_Nodes)
            dpg.add_theme_color(dpg.mvNodeCol_LinkHovered, (255, 255, 255), category=dpg.mvThemeCat_Nodes)
        return theme

    @staticmethod
    def _node_theme(title: tuple[int, int, int], hovered: tuple[int, int, int]) -> int:
        with dpg.theme() as theme, dpg.theme_component(dpg.mvAll):
            dpg.add_theme_color(dpg.mvNodeCol_TitleBar, title, category=dpg.mvThemeCat_Nodes)
            dpg.add_theme_color(dpg.mvNodeCol_TitleBarHovered, hovered, category=dpg.mvThemeCat_Nodes)
            dpg.add_theme_color(dpg.mvNodeCol_TitleBarSelected, hovered, category=dpg.mvThemeCat_Nodes)
        return theme
