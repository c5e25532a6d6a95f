"""Retargeting: the source's motion applied to the target's face."""
from nodes.retarget import face

NODES = [*face.NODES]
