"""A debugging view: a face track's landmarks and mesh, and a body track's skeleton, over an image."""
from __future__ import annotations

import numpy as np

from app.runtime.context import FrameContext
from nodes.track.types import FaceTrack
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime import ports
from nodes.track.types import FACE_TRACK
from app.runtime.schema import NodeSchema, Param, ParamKind, Port
from nodes.track.body_types import (BODY_TRACK, LEFT_ELBOW, LEFT_HIP, LEFT_SHOULDER, NECK, RIGHT_ELBOW, RIGHT_HIP,
                                     RIGHT_SHOULDER, BodyTrack)
from nodes.track.face_model import topology


class RenderOverlay(Node):
    schema = NodeSchema(
        type_id="render.overlay", title="Landmark Overlay", category="render",
        help="Draws a face track's landmarks (and optionally the mesh edges) and a body track's skeleton "
             "(shoulders, elbows, hips; dimmed where the body is partial) over an image, for debugging.",
        inputs=(Port("image", ports.IMAGE), Port("track", FACE_TRACK, optional=True),
                Port("body", BODY_TRACK, optional=True)),
        outputs=(Port("image", ports.IMAGE),),
        params=(Param("color", ParamKind.COLOR, [0.1, 1.0, 0.3, 1.0], "point colour"),
                Param("radius", ParamKind.INT, 1, "point radius in pixels", minimum=0, maximum=8),
                Param("mesh", ParamKind.BOOL, False, "also draw the mesh edges"),
                Param("body_color", ParamKind.COLOR, [1.0, 0.6, 0.1, 1.0], "skeleton colour")),
    )

    def process(self, ctx: FrameContext, image: Image, track: FaceTrack | None = None,
                body: BodyTrack | None = None) -> dict:
        face_seen = track is not None and track.valid
        if not face_seen and (body is None or not body.valid):
            return {"image": image}
        pixels = image.rgb().copy()
        if face_seen:
            self._draw_face(pixels, image, track)
        if body is not None and body.valid:
            self._draw_body(pixels, image, body)
        return {"image": Image(pixels, image.timestamp)}

    def _draw_face(self, pixels: np.ndarray, image: Image, track: FaceTrack) -> None:
        color = (np.array(self.params.color[:3]) * 255).astype(np.uint8)
        points = _scaled(track.landmarks[:, :2], image, track.image_size)
        if self.params.mesh:
            tris = topology().triangles
            for a, b in ((0, 1), (1, 2), (2, 0)):
                _draw_segments(pixels, points[tris[:, a]], points[tris[:, b]], color // 2)
        _dots(pixels, points, self.params.radius, color)

    def _draw_body(self, pixels: np.ndarray, image: Image, body: BodyTrack) -> None:
        color = (np.array(self.params.body_color[:3]) * (0.5 if body.partial else 1.0) * 255).astype(np.uint8)
        points = _scaled(body.points, image, body.image_size)
        seen = body.confidence > SKELETON_CONFIDENCE
        bones = np.array([bone for bone in SKELETON if seen[list(bone)].all()], int).reshape(-1, 2)
        for dx, dy in ((0, 0), (1, 0), (0, 1)):  # three pixels thick: it has to show on a busy frame
            _draw_segments(pixels, points[bones[:, 0]] + (dx, dy), points[bones[:, 1]] + (dx, dy), color)
        _dots(pixels, points[seen], self.params.radius + 2, color)


SKELETON = ((NECK, LEFT_SHOULDER), (NECK, RIGHT_SHOULDER), (LEFT_SHOULDER, LEFT_ELBOW),
            (RIGHT_SHOULDER, RIGHT_ELBOW), (LEFT_SHOULDER, LEFT_HIP), (RIGHT_SHOULDER, RIGHT_HIP))
SKELETON_CONFIDENCE = 0.3


def _scaled(points: np.ndarray, image: Image, size: tuple[int, int]) -> np.ndarray:
    return points * (image.width / size[0], image.height / size[1])


def _dots(pixels: np.ndarray, points: np.ndarray, radius: int, color: np.ndarray) -> None:
    for dx in range(-radius, radius + 1):
        for dy in range(-radius, radius + 1):
            _plot(pixels, points[:, 0] + dx, points[:, 1] + dy, color)


def _plot(pixels: np.ndarray, xs: np.ndarray, ys: np.ndarray, color: np.ndarray) -> None:
    xi, yi = np.round(xs).astype(int), np.round(ys).astype(int)
    keep = (xi >= 0) & (yi >= 0) & (xi < pixels.shape[1]) & (yi < pixels.shape[0])
    pixels[yi[keep], xi[keep]] = color


def _draw_segments(pixels, start, end, color) -> None:
    """Straight lines start[i] -> end[i], a point per pixel of the longest."""
    longest = float(np.linalg.norm(end - start, axis=1).max()) if len(start) else 0.0
    for t in np.linspace(0.0, 1.0, int(longest) + 2):
        p = start + (end - start) * t
        _plot(pixels, p[:, 0], p[:, 1], color)


NODES = [RenderOverlay]
