"""Tracking: faces and bodies in frames, and the face model shared by the families that pose faces."""
from nodes.track import body, face

NODES = [*face.NODES, *body.NODES]
