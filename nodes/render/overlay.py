"""A debugging view: a face track's landmarks and mesh drawn over an image."""
from __future__ import annotations

import numpy as np

from app.runtime.context import FrameContext
from nodes.track.types import FaceTrack
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime import ports
from nodes.track.types import FACE_TRACK
from app.runtime.schema import NodeSchema, Param, ParamKind, Port
from nodes.track.face_model import topology


class RenderOverlay(Node):
    schema = NodeSchema(
        type_id="render.overlay", title="Landmark Overlay", category="render",
        help="Draws a face track's landmarks (and optionally the mesh edges) over an image, for debugging.",
        inputs=(Port("image", ports.IMAGE), Port("track", FACE_TRACK)),
        outputs=(Port("image", ports.IMAGE),),
        params=(Param("color", ParamKind.COLOR, [0.1, 1.0, 0.3, 1.0], "point colour"),
                Param("radius", ParamKind.INT, 1, "point radius in pixels", minimum=0, maximum=8),
                Param("mesh", ParamKind.BOOL, False, "also draw the mesh edges")),
    )

    def process(self, ctx: FrameContext, image: Image, track: FaceTrack) -> dict:
        if not track.valid:
            return {"image": image}
        pixels = image.rgb().copy()
        color = (np.array(self.params.color[:3]) * 255).astype(np.uint8)
        sx, sy = image.width / track.image_size[0], image.height / track.image_size[1]
        points = track.landmarks[:, :2] * (sx, sy)
        if self.params.mesh:
            tris = topology().triangles
            for a, b in ((0, 1), (1, 2), (2, 0)):
                _draw_segments(pixels, points[tris[:, a]], points[tris[:, b]], color // 2)
        r = self.params.radius
        for dx in range(-r, r + 1):
            for dy in range(-r, r + 1):
                _plot(pixels, points[:, 0] + dx, points[:, 1] + dy, color)
        return {"image": Image(pixels)}


def _plot(pixels: np.ndarray, xs: np.ndarray, ys: np.ndarray, color: np.ndarray) -> None:
    xi, yi = np.round(xs).astype(int), np.round(ys).astype(int)
    keep = (xi >= 0) & (yi >= 0) & (xi < pixels.shape[1]) & (yi < pixels.shape[0])
    pixels[yi[keep], xi[keep]] = color


def _draw_segments(pixels, start, end, color, steps: int = 12) -> None:
    for t in np.linspace(0.0, 1.0, steps):
        p = start + (end - start) * t
        _plot(pixels, p[:, 0], p[:, 1], color)


NODES = [RenderOverlay]
