"""The status bar's message line and the message log panel.

The status bar shows one line; a refusal (a warning) stays on it for WARNING_HOLD_S even when notes
from the running graph follow, so its reason is not pushed away before it can be read, and what the
user's action did (saved, opened) for DONE_HOLD_S against those notes. The log panel
lists every message with its time and the node that said it, as selectable text (copy any part) and
with a Copy all button.
"""
from __future__ import annotations

import textwrap
import time

import dearpygui.dearpygui as dpg

from app.editor.actions import Editor
from app.editor.notes import Message, Tone
from app.editor.live_status import LiveStatus
from app.editor.theme import ERROR_TEXT, NOTE_TEXT, OK_TEXT

WARNING_HOLD_S = 8.0
DONE_HOLD_S = 4.0  # "saved ..." gave way at once to a frame-budget note, before it could be read
TONE_COLOR = {Tone.OK: OK_TEXT, Tone.NOTE: NOTE_TEXT, Tone.WARNING: ERROR_TEXT}
LOG_SIZE = (760, 320)
LOG_WRAP = 100  # characters: the log's text field does not wrap by itself


def log_line(message: Message) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(message.at))
    return f"{stamp}  {f'[{message.node}] ' if message.node else ''}{' '.join(message.text.split())}"


def headline(messages: list[Message], now: float) -> Message | None:
    """The message for the status bar: the newest, unless a warning is still being held, or what the
    user's own action did (saved, opened) against the running graph's notes that followed it."""
    if not messages:
        return None
    newest = messages[-1]
    warning = next((m for m in reversed(messages) if m.tone is Tone.WARNING), None)
    if warning is not None and newest.tone is not Tone.WARNING and now - warning.at < WARNING_HOLD_S:
        return warning
    done = next((m for m in reversed(messages) if m.tone is Tone.OK), None)
    if done is not None and newest.tone is Tone.NOTE and now - done.at < DONE_HOLD_S:
        return done
    return newest


class MessageLog:
    def __init__(self, editor: Editor):
        self._editor = editor
        self._seen_said = 0  # the number of the last live message logged (LiveStatus.said)
        self._seen_failures: dict[str, str] = {}
        self._shown: tuple = ()
        with dpg.group(horizontal=True):  # the status bar
            self.line = dpg.add_button(label="", small=True, callback=self.open)
            with dpg.tooltip(self.line):
                self._full = dpg.add_text("", wrap=700)
            self.problems = dpg.add_text("", color=NOTE_TEXT)
        with dpg.theme() as self._line_theme, dpg.theme_component(dpg.mvButton):
            dpg.add_theme_color(dpg.mvThemeCol_Button, (0, 0, 0, 0))
            self._line_colour = dpg.add_theme_color(dpg.mvThemeCol_Text, OK_TEXT)
        dpg.bind_item_theme(self.line, self._line_theme)
        with dpg.window(label="Messages", show=False, width=LOG_SIZE[0], height=LOG_SIZE[1]) as self.panel:
            with dpg.group(horizontal=True):
                dpg.add_button(label="Copy all", callback=lambda: dpg.set_clipboard_text(dpg.get_value(self.text)))
                dpg.add_text("newest first; select text to copy a part", color=NOTE_TEXT)
            self.text = dpg.add_input_text(multiline=True, readonly=True, width=-1, height=-1)

    def open(self) -> None:
        width, height = dpg.get_viewport_client_width(), dpg.get_viewport_client_height()
        dpg.configure_item(self.panel, show=True, pos=[(width - LOG_SIZE[0]) // 2, (height - LOG_SIZE[1]) // 2])
        dpg.focus_item(self.panel)

    def show(self, status: LiveStatus) -> None:
        editor = self._editor
        for number, text in status.said:  # each once, also several said between two looks
            if number > self._seen_said:
                self._seen_said = number
                editor.say(text, Tone.NOTE)
        for node_id, failure in status.failures.items():  # each new failure once, with its node
            if self._seen_failures.get(node_id) != failure:
                editor.say(failure, Tone.WARNING, node=node_id)
        for node_id in self._seen_failures.keys() - status.failures.keys():  # else its error stayed the headline
            if node_id in editor.document.graph.nodes:
                editor.say("no longer failing", Tone.OK, node=node_id)
        self._seen_failures = dict(status.failures)
        messages = list(editor.messages)
        top = headline(messages, time.time())
        key = (top, messages[-1] if messages else None)
        if top is None or key == self._shown:
            return
        self._shown = key
        dpg.set_item_label(self.line, log_line(top)[10:])  # without the time: the bar is short
        dpg.set_value(self._line_colour, TONE_COLOR[top.tone])
        dpg.set_value(self._full, top.text)
        dpg.set_value(self.text, "\n".join(textwrap.fill(log_line(m), LOG_WRAP, subsequent_indent=" " * 10)
                                           for m in reversed(messages)))
