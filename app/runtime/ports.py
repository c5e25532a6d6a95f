"""Port type tags. Each tag is bound to one documented representation; links need equal tags."""
from __future__ import annotations

from enum import Enum


class PortType(Enum):
    """The type of a node port. The value is the tag shown in the editor and the catalog."""

    IMAGE = "Image"  # app.runtime.image.Image: RGB(A) frame, top row first
    FACE_TRACK = "FaceTrack"  # app.runtime.face.FaceTrack: landmarks, head pose, expression, gaze
    MOTION = "Motion"  # app.runtime.face.Motion: what the rasterizer needs to pose the target
    FLOAT = "Float"
    INT = "Int"
    BOOL = "Bool"
    STRING = "String"

    @property
    def tag(self) -> str:
        return self.value


_SCALARS = {PortType.FLOAT: (int, float), PortType.INT: (int,), PortType.BOOL: (bool,),
            PortType.STRING: (str,)}


def representation(port_type: PortType) -> tuple[type, ...]:
    """The Python classes a value on a port of this type may be (checked at node boundaries)."""
    if port_type in _SCALARS:
        return _SCALARS[port_type]
    if port_type is PortType.IMAGE:
        from app.runtime.image import Image

        return (Image,)
    from app.runtime import face

    return {PortType.FACE_TRACK: (face.FaceTrack,), PortType.MOTION: (face.Motion,)}[port_type]
