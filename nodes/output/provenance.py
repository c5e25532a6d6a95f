"""Marks on everything the studio writes: an invisible watermark (nodes/output/watermark.py), a small
visible label, and a metadata tag; content credentials are added by nodes/output/credentials.py.
`reenact detect` reads them back.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image as PILImage, ImageDraw, ImageFont

from app.runtime.schema import Param, ParamKind
from nodes.output.watermark import SCHEME, embed_watermark

POSITIONS = ("bottom-right", "bottom-left", "top-right", "top-left")

MARK_PARAMS = (
    Param("synthetic_label", ParamKind.BOOL, True, "draw a small visible 'SYNTHETIC' label; turning it off is "
          "recorded in the file's metadata (the invisible watermark is always on)"),
    Param("label_position", ParamKind.ENUM, "bottom-right", "corner of the visible label", choices=POSITIONS),
    Param("label_opacity", ParamKind.FLOAT, 0.7, "opacity of the visible label", minimum=0.2, maximum=1.0),
)


@dataclass(frozen=True)
class Marks:
    label: bool = True
    position: str = "bottom-right"
    opacity: float = 0.7

    @staticmethod
    def from_params(params) -> Marks:
        return Marks(params.synthetic_label, params.label_position, params.label_opacity)

    def metadata(self) -> str:
        label = "on" if self.label else "off (turned off explicitly)"
        return f"Reenact Studio synthetic output; watermark {SCHEME}; visible label {label}"

    def assertion(self) -> dict:
        """The same facts for the content credentials' manifest."""
        return {"synthetic": True, "watermark": SCHEME, "visible_label": self.label}


def mark_frame(rgb: np.ndarray, marks: Marks) -> np.ndarray:
    """(H, W, 3) uint8 -> a new (H, W, 3) uint8 with the label (if on) and the watermark."""
    out = draw_label(rgb, marks.position, marks.opacity) if marks.label else rgb
    return embed_watermark(out)


def draw_label(rgb: np.ndarray, position: str, opacity: float) -> np.ndarray:
    """A copy of (H, W, 3) uint8 `rgb` with the label blended into its corner."""
    height, width = rgb.shape[:2]
    top, left, colour, alpha = _label_patch(width, height, position, round(opacity, 3))
    out = np.array(rgb[..., :3])
    region = out[top:top + alpha.shape[0], left:left + alpha.shape[1]]
    region[...] = np.round(region * (1.0 - alpha) + colour * alpha).astype(np.uint8)
    return out


@lru_cache(maxsize=16)
def _label_patch(width: int, height: int, position: str, opacity: float):
    """The label drawn once per frame size: (top, left, colour (h, w, 3), alpha (h, w, 1)) as floats."""
    size = max(9, min(width, height) // 32)
    font = _font(size)
    text = "SYNTHETIC"
    left, top, right, bottom = font.getbbox(text)
    pad = max(2, size // 3)
    box_w, box_h = min(width, right - left + 2 * pad), min(height, bottom - top + 2 * pad)
    margin = max(0, min(max(2, size // 2), width - box_w, height - box_h))
    x = margin if "left" in position else width - box_w - margin
    y = margin if position.startswith("top") else height - box_h - margin
    patch = PILImage.new("RGBA", (box_w, box_h), (0, 0, 0, int(round(127 * opacity))))
    ImageDraw.Draw(patch).text((pad - left, pad - top), text, font=font, fill=(255, 255, 255, int(round(255 * opacity))))
    rgba = np.asarray(patch, np.float32)
    return y, x, rgba[..., :3], rgba[..., 3:] / 255.0


@lru_cache(maxsize=4)
def _font(size: int):
    return ImageFont.load_default(size=size)
