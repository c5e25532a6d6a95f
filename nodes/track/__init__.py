"""Tracking: faces in frames, and the face model shared by the families that pose faces."""
from nodes.track import face

NODES = [*face.NODES]
