"""Small pictures inside canvas nodes, next to their status line.

A node class that overrides `Node.status_image` gets one (the target frame selection
shows the recorded frame in use). The live graph asks for them at most every STATUS_IMAGE_PERIOD_S
(live.py); here a picture is scaled into a fixed-size texture only when a new Image arrives.
"""
from __future__ import annotations

import dearpygui.dearpygui as dpg

from app.editor.live_status import LiveStatus
from app.editor.preview import TextureBuffer, fit_into
from app.runtime.gpu.image import Image

PICTURE_SIZE = (176, 99)  # width, height on the canvas: a 16:9 clip fills it, other shapes get bars


class NodePictures:
    """One texture and image item per node that draws a picture; drawn from the canvas, so `clear()`
    goes with every rebuild of it."""

    def __init__(self) -> None:
        self._registry = dpg.add_texture_registry()
        self._buffer = TextureBuffer()
        self._items: dict[str, tuple[int, int]] = {}  # node id -> (texture, image item)
        self._shown: dict[str, Image] = {}  # node id -> the Image on screen (uploads are by identity)

    def add(self, node_id: str) -> None:
        """The picture's place, inside the node's container being built; hidden until the first arrives."""
        width, height = PICTURE_SIZE
        texture = dpg.add_raw_texture(width, height, [0.0] * (width * height * 4), format=dpg.mvFormat_Float_rgba,
                                      parent=self._registry)
        self._items[node_id] = (texture, dpg.add_image(texture, show=False))

    def clear(self) -> None:
        for texture, _ in self._items.values():
            dpg.delete_item(texture)  # the image items went with the canvas
        self._items.clear()
        self._shown.clear()

    def show(self, status: LiveStatus) -> None:
        for node_id, (texture, image) in self._items.items():
            picture = status.pictures.get(node_id)
            if picture is self._shown.get(node_id):
                continue
            if picture is None:
                dpg.configure_item(image, show=False)
                self._shown.pop(node_id, None)
                continue
            dpg.set_value(texture, self._buffer.fill(fit_into(picture.rgb(), *PICTURE_SIZE)))
            dpg.configure_item(image, show=True)
            self._shown[node_id] = picture

    def shown(self, node_id: str) -> Image | None:
        """The picture on screen in that node, if any (for tests)."""
        return self._shown.get(node_id)

    def corner(self, node_id: str) -> tuple[int, int]:
        """Where that node's picture is drawn: its top-left pixel in the window (for tests)."""
        x, y = dpg.get_item_rect_min(self._items[node_id][1])
        return int(x), int(y)
