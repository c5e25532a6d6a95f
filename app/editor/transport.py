"""The transport bar above the canvas: play, step, restart, record, render to file, the frame-rate cap,
and the timeline (frame counter with the clip's total, a scrub slider, loop) when the graph has a clip."""
from __future__ import annotations

import dearpygui.dearpygui as dpg

from app.editor.actions import Editor
from app.editor.live_status import LiveStatus, Transport
from app.editor.theme import NOTE_TEXT

FPS_CHOICES = ["15", "30", "60", "unlimited"]
RECORD_HELP = ("Record: while on, output nodes (video and image files, the virtual camera) write as the graph "
               "plays. Off, they idle, so playing and scrubbing overwrite nothing; Render to file writes the "
               "whole clip.")
HOLD_HELP = ("Hold the rate: when frames take longer than the cap allows, switch nodes to the cheaper settings "
             "they declare (less multisampling, hands looked for less often, ...) one at a time, and back when "
             "there is room. Each change is said in the message log; the status line lists those in force.")
CANVAS_HELP = ("Drag from a pin to another to link them; Ctrl-click a link to remove it; drag with the middle "
               "mouse button to pan; right-click the canvas to add a node there, or a node to rename, duplicate or "
               "delete it. With the mouse over the canvas: "
               "Del deletes the selected nodes, F brings every node into view, Space plays or pauses.")


class TransportBar:
    def __init__(self, editor: Editor, render_dialog):
        e = self.editor = editor
        self._seen_clip = None
        with dpg.group(horizontal=True):
            self.play_button = dpg.add_button(label="Play", width=60, callback=e.toggle_play)
            dpg.add_button(label="Step", callback=e.step)
            dpg.add_button(label="Restart", callback=e.restart)
            self.record_box = dpg.add_checkbox(label="Record", callback=lambda s, on: e.record(on))
            with dpg.tooltip(self.record_box):
                dpg.add_text(RECORD_HELP, wrap=360)
            dpg.add_button(label="Render to file...", callback=render_dialog)
            dpg.add_text("  max fps", color=NOTE_TEXT)
            self.cap = dpg.add_combo(FPS_CHOICES, default_value="30", width=100,
                                     callback=lambda s, value: setattr(e.live, "max_fps",
                                                                       0 if value == "unlimited" else float(value)))
            hold = dpg.add_checkbox(label="hold", default_value=True, callback=lambda s, on: e.live.set_hold_rate(on))
            with dpg.tooltip(hold):
                dpg.add_text(HOLD_HELP, wrap=360)
            hint = dpg.add_text(" (?)", color=NOTE_TEXT)
            with dpg.tooltip(hint):
                dpg.add_text(CANVAS_HELP, wrap=360)
        with dpg.group(horizontal=True) as self.timeline:
            self.counter = dpg.add_text("frame 0")
            # The slider shows the frame on screen; a drag seeks when released (deactivation), not per pixel.
            self.scrub = dpg.add_slider_int(label="", min_value=1, max_value=2, width=-140)
            with dpg.item_handler_registry() as handlers:
                dpg.add_item_deactivated_after_edit_handler(callback=lambda: e.seek(dpg.get_value(self.scrub) - 1))
            dpg.bind_item_handler_registry(self.scrub, handlers)
            self.loop_box = dpg.add_checkbox(label="Loop", callback=lambda s, on: e.attempt(lambda: e.set_loop(on)))
        with dpg.group(horizontal=True):
            self.stats = dpg.add_text("", color=NOTE_TEXT)
            with dpg.tooltip(self.stats):
                self.stats_detail = dpg.add_text("", wrap=500)

    def show(self, status: LiveStatus) -> None:
        dpg.set_item_label(self.play_button, "Pause" if status.transport is Transport.PLAYING else "Play")
        dpg.set_value(self.record_box, status.recording)
        cap = "unlimited" if self.editor.live.max_fps <= 0 else f"{self.editor.live.max_fps:g}"
        if dpg.get_value(self.cap) != cap:  # a cap set from outside the field (`reenact edit --max-fps`)
            dpg.set_value(self.cap, cap)
        clip = status.clip
        total = clip.frames if clip else None
        shown = max(1, status.frame)  # frames run so far; the one on screen is the last of them
        if total:
            shown = (shown - 1) % total + 1  # a looping clip starts again
        note = f"  (seeking frame {status.seeking + 1})" if status.seeking is not None else ""
        if clip is not None and clip.node_id in status.failures:  # no total then: its path names no clip
            note += f"  (stopped: '{clip.node_id}' failed; it goes on from this frame once it opens again)"
        dpg.set_value(self.counter, f"frame {shown} / {total}{note}" if total else f"frame {shown}{note}")
        dpg.configure_item(self.scrub, show=bool(total))
        dpg.configure_item(self.loop_box, show=clip is not None and clip.loops is not None)
        if clip != self._seen_clip:
            self._seen_clip = clip
            if total:
                dpg.configure_item(self.scrub, max_value=total)
            if clip is not None and clip.loops is not None:
                dpg.set_value(self.loop_box, clip.loops)
        if total and not dpg.is_item_active(self.scrub):  # never fight the user's drag
            dpg.set_value(self.scrub, shown)
