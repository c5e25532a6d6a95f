"""The preview: the watched port(s) of the running graph, A/B split, frame size and node name.
Frames come from the live graph's latest-frame slot and go to a raw texture only when they change;
they are drawn as large as the preview's area allows (the user resizes it), keeping their aspect."""
from __future__ import annotations

import time

import dearpygui.dearpygui as dpg

from app.editor.actions import Editor
from app.editor.live_status import LiveStatus
from app.editor.preview import TextureBuffer, compose_split
from app.editor.theme import NOTE_TEXT
from app.runtime.gpu.image import Image

CHROME = (16, 90)  # the area's room for padding, and for the title, the text and the split slider


class PreviewPanel:
    def __init__(self, editor: Editor, area: int | str):
        self._editor, self._area = editor, area
        self._buffer = TextureBuffer()
        self._registry = dpg.add_texture_registry()
        self._texture: int | None = None
        self._texture_size = (0, 0)
        self._image: int | None = None
        self._shown: tuple = ()  # identities of the frames on screen, to upload only new ones
        self.upload_ms = 0.0
        self.pixels = None  # the composed (H, W, 3) frame last uploaded, for tests and screenshots
        self._title = dpg.add_text("Preview", parent=area)
        self._image_group = dpg.add_group(parent=area)
        self._text = dpg.add_text("", parent=area, color=NOTE_TEXT, wrap=0)
        self._split = dpg.add_slider_float(label="A | B split", default_value=0.5, min_value=0.0, max_value=1.0,
                                           width=-90, parent=area, show=False,
                                           callback=lambda s, v: setattr(editor.preview, "split", v))

    def show(self, status: LiveStatus) -> None:
        choice = self._editor.preview
        a = status.outputs.get(choice.a) if choice.a else None
        b = status.outputs.get(choice.b) if choice.b else None
        dpg.configure_item(self._split, show=choice.b is not None)
        # the ports chosen too: another graph's choice with no frame yet kept the last graph's title
        key = (choice.a, choice.b, id(a), id(b), choice.split, tuple(dpg.get_item_rect_size(self._area)))
        if key == self._shown:
            return
        self._shown = key
        names = " | ".join(str(e) for e in (choice.a, choice.b) if e) or "nothing (click A on an output port)"
        if isinstance(a, Image):
            self._upload(compose_split(a, b if isinstance(b, Image) else None, choice.split))
            size = f"A {a.width}x{a.height}" + (f",  B {b.width}x{b.height}" if isinstance(b, Image) else "")
            dpg.set_value(self._title, f"Preview: {names}")
            dpg.set_value(self._text, size if b is None or isinstance(b, Image) else f"{size}\nB: {self._describe(choice.b, b)}")
        else:
            dpg.set_value(self._title, f"Preview: {names}")
            dpg.set_value(self._text, self._describe(choice.a, a) if choice.a else "")
            self._drop_image()

    def _describe(self, endpoint, value) -> str:
        """A non-image value in words, by its port type's registered summary."""
        port = self._editor.document.port(endpoint, output=True)
        return port.type.describe(value) if port else str(value)

    def _upload(self, rgb) -> None:
        started = time.perf_counter()
        h, w = rgb.shape[:2]
        data = self._buffer.fill(rgb)
        if self._texture is None or self._texture_size != (w, h):
            self._drop_image()
            self._texture = dpg.add_raw_texture(w, h, data, format=dpg.mvFormat_Float_rgba, parent=self._registry)
            self._texture_size = (w, h)
            self._image = dpg.add_image(self._texture, parent=self._image_group)
        else:
            dpg.set_value(self._texture, data)
        room_w, room_h = (max(1, r - c) for r, c in zip(dpg.get_item_rect_size(self._area), CHROME))
        scale = min(room_w / w, room_h / h)
        dpg.configure_item(self._image, width=max(1, int(w * scale)), height=max(1, int(h * scale)))
        self.pixels = rgb
        self.upload_ms = 1000 * (time.perf_counter() - started)

    def _drop_image(self) -> None:
        dpg.delete_item(self._image_group, children_only=True)
        if self._texture is not None:
            dpg.delete_item(self._texture)
            self._texture = None
        self.pixels = None
