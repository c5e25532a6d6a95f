"""Where the portrait moved part of a pixel, render.portrait reads it with a cubic: in the face's layers
(resampling=face) or everywhere (cubic); by default (auto) everywhere on a GPU, the face alone in software GL. Read bilinearly, neighbouring texels were averaged:
a head moved half a pixel lost 43% of its skin's fine detail, and sharpened again as it settled, so a
moving face looked smoothed beside the still room."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.conftest import REPO
from tests.test_render_layers import render, rolled, tracked


@pytest.fixture(scope="module")
def astronaut(detector):
    return tracked(detector, REPO / "assets" / "portraits" / "astronaut.png")


def _inner_face(landmarks: np.ndarray) -> tuple[slice, slice]:
    """The middle third of the face each way: cheeks, nose, eyes; no outline, hair or room."""
    low, high = landmarks[:468, :2].min(axis=0), landmarks[:468, :2].max(axis=0)
    (x0, y0), (x1, y1) = (low + (high - low) / 3).astype(int), (high - (high - low) / 3).astype(int)
    return slice(y0, y1), slice(x0, x1)


def _detail(image: np.ndarray, box: tuple[slice, slice]) -> float:
    """Fine detail: the mean absolute Laplacian of the grey image within the box."""
    grey = cv2.cvtColor(np.ascontiguousarray(image[box]).astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())


@pytest.mark.parametrize("degrees, shift, least", [(0.0, (0.5, 0.5), 0.68), (4.0, (3.3, 2.7), 0.78)],
                         ids=["half a pixel", "rolled and moved"])
def test_a_head_moved_part_of_a_pixel_keeps_its_skins_fine_detail(studio_registry, astronaut, degrees, shift,
                                                                   least):
    """Measured here: 0.73 and 0.84 of the photo's detail (read bilinearly, 0.57 and 0.70); OpenCV's cubic
    warp of the photo keeps 0.80 and 0.88. The middle of the face is the face's layers: the default reads
    it as `cubic` does."""
    image, track = astronaut
    box = _inner_face(track.landmarks)
    dst = rolled(track.landmarks, degrees, shift)
    # the box moves with the face by a few pixels at most: the middle of a face has the same detail there
    cubic = _detail(render(studio_registry, image, track, dst, resampling="cubic"), box)
    face = _detail(render(studio_registry, image, track, dst), box)
    bilinear = _detail(render(studio_registry, image, track, dst, resampling="bilinear"), box)
    photo = _detail(image, box)
    assert cubic > least * photo and cubic > 1.15 * bilinear, (cubic / photo, bilinear / photo)
    assert abs(face - cubic) < 0.02 * cubic


def test_a_head_at_rest_is_read_texel_for_texel(studio_registry, astronaut):
    """The cubic returns a texel exactly where a pixel lands on one: no sharpening halo at rest."""
    image, track = astronaut
    box = _inner_face(track.landmarks)
    out = render(studio_registry, image, track, track.landmarks, resampling="cubic")
    assert np.abs(out[box] - image[box]).mean() < 0.5


def test_enlarged_a_portrait_is_read_by_the_cubic_also_where_it_has_not_moved(studio_registry, astronaut,
                                                                               monkeypatch):
    """Enlarged, pixels land between texels even where the mesh has not moved: read there by the plain
    fetch, the torso sharpened as it began to move (a seam across the neck where half of it had)."""
    from nodes.render import warp_mesh

    image, track = astronaut
    dst = rolled(track.landmarks, 3.0, (2.0, 1.0))
    split = render(studio_registry, image, track, dst, size=1024, resampling="cubic")
    monkeypatch.setattr(warp_mesh, "UNMOVED_PIXELS", -1.0)  # no triangle counts as unmoved
    whole = render(studio_registry, image, track, dst, size=1024, resampling="cubic")
    assert np.abs(split - whole).max() <= 1


@pytest.mark.parametrize("software, reads_as", [(True, "face"), (False, "cubic")], ids=["software GL", "a GPU"])
def test_auto_reads_everything_by_the_cubic_on_a_gpu_and_the_face_alone_in_software(studio_registry, astronaut,
                                                                                     monkeypatch, software, reads_as):
    """Off the face the cubic costs a software rasterizer about 3 ms a frame at 512², a GPU nothing measurable."""
    from app.runtime.gpu.context import GpuContext

    image, track = astronaut
    dst = rolled(track.landmarks, 3.0, (2.0, 1.0))
    monkeypatch.setattr(GpuContext, "software", property(lambda self: software))
    auto = render(studio_registry, image, track, dst)
    assert np.array_equal(auto, render(studio_registry, image, track, dst, resampling=reads_as))
    other = "cubic" if reads_as == "face" else "face"
    assert not np.array_equal(auto, render(studio_registry, image, track, dst, resampling=other))
